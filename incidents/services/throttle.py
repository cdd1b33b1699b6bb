"""One throttle per account for every credential step, shared by all workers and processes.

Every passphrase, second-factor, recovery-code and API-token attempt for an account name
spends from the same counter, whichever form, endpoint, worker or process it reaches. The
counter is keyed by the account name as the sign-in compares it (NFKC, case-folded),
hashed; never by anything the client can vary freely (an extra form field, an address).

Delays grow, they are not a wall: the first `free_attempts` cost nothing, then each
attempt must wait `base_delay * 2**n` after the one before, up to `max_delay`. A stranger
hammering a witness's name therefore slows the witness down by at most `max_delay` once
they stop, never locks them out for a quarter of an hour. A right answer clears the count.

An attempt is *reserved* before the credentials are checked, so that a hundred concurrent
guesses count as a hundred, not as the one that was in flight when the others looked.

Storage: Redis when configured (one Lua script per reservation, atomic), otherwise the
database (`credential_throttles`, one short writer transaction per reservation).
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import begin_write, in_unit_of_work
from incidents.core.errors import N_, DomainError
from incidents.models import CredentialThrottle


class TooManyAttempts(DomainError):
    """This account name was tried too often just now; wait `retry_after` seconds."""

    status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(N_("Too many attempts. Please wait a while and try again."))
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottlePolicy:
    free_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 300.0
    forget_after: float = 24 * 3600.0  # a quiet day resets the count

    def delay_after(self, attempts: int) -> float:
        """How long the next attempt must wait after the `attempts`-th one."""
        over = attempts - self.free_attempts
        if over < 0:
            return 0.0
        return min(self.max_delay, self.base_delay * math.pow(2, min(over, 60)))


def account_key(pseudonym: str) -> str:
    """The counter's key for an account name, as sign-in compares names; exists or not."""
    folded = unicodedata.normalize("NFKC", pseudonym or "").strip().casefold()
    return hashlib.sha256(("account:" + folded).encode("utf-8", "surrogatepass")).hexdigest()


class Throttle(Protocol):
    def reserve(self, key: str) -> None:
        """Count one attempt for `key`, or raise TooManyAttempts without counting it."""

    def clear(self, key: str) -> None:
        """The right credentials were given: start the count over."""

    def clear_all(self) -> None:
        """Forget every counter."""


class DatabaseThrottle:
    """Counters in the database, for deployments without Redis (SQLite included).

    Each reservation is a writer transaction of its own on the caller's session, committed
    at once: the count must stay whatever the request does afterwards. So it must come
    before the caller's unit of work writes anything (it is the first step of every
    credential check); a read-only transaction already open is ended first, which also
    spares SQLite's "database is locked" on a read snapshot another writer made stale.
    """

    def __init__(self, session: Callable[[], Session], policy: ThrottlePolicy) -> None:
        self._session = session
        self.policy = policy

    def reserve(self, key: str) -> None:
        session = self._session()
        if in_unit_of_work(session):  # it would commit the caller's change half-done
            raise RuntimeError("reserve a credential attempt before the unit of work")
        for _ in range(3):
            try:
                self._reserve(session, key)
                session.commit()
                return
            except IntegrityError:  # two first attempts raced to insert the row: again
                session.rollback()
        raise TooManyAttempts(1)  # pragma: no cover - three races in a row

    def _reserve(self, session: Session, key: str) -> None:
        begin_write(session)  # SQLite: BEGIN IMMEDIATE, so reservations are serialised
        row = session.scalar(
            select(CredentialThrottle).where(CredentialThrottle.key == key).with_for_update()
        )
        # The time is read once the row is ours: read before the lock, it could be earlier
        # than the attempt that held it, whose free slot would then look like a wait.
        now = utcnow()
        if row is None:
            row = CredentialThrottle(key=key, attempts=0, blocked_until=now,
                                     last_attempt_at=now)
            session.add(row)
        elif (now - row.last_attempt_at).total_seconds() > self.policy.forget_after:
            row.attempts = 0
            row.blocked_until = now
        if row.blocked_until > now:
            wait = math.ceil((row.blocked_until - now).total_seconds())
            session.rollback()
            raise TooManyAttempts(max(1, wait))
        row.attempts += 1
        row.last_attempt_at = now
        row.blocked_until = now + timedelta(seconds=self.policy.delay_after(row.attempts))
        session.flush()

    def clear_all(self) -> None:
        """Forget every counter (tests; an operator after an incident)."""
        session = self._session()
        begin_write(session)
        session.execute(delete(CredentialThrottle))
        session.commit()

    def clear(self, key: str) -> None:
        session = self._session()
        begin_write(session)
        session.execute(delete(CredentialThrottle).where(CredentialThrottle.key == key))
        # Rows of names nobody tried for a day carry no information: drop them here.
        cutoff = utcnow() - timedelta(seconds=self.policy.forget_after)
        session.execute(delete(CredentialThrottle)
                        .where(CredentialThrottle.last_attempt_at < cutoff))
        session.commit()


# KEYS[1] the counter; ARGV free, base, max, forget. Returns 0 (allowed) or the wait.
# The time is Redis's own, read inside the script: a time each client read before its call
# could be earlier than that of a concurrent attempt that ran first (a spurious wait), and
# the web hosts of a cluster need not agree on the time at all.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local until_ = tonumber(redis.call('HGET', KEYS[1], 'u') or '0')
if until_ > now then return math.ceil(until_ - now) end
n = n + 1
local over = n - tonumber(ARGV[1])
local delay = 0
if over >= 0 then
  delay = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) * 2 ^ math.min(over, 60))
end
redis.call('HSET', KEYS[1], 'n', n, 'u', now + delay)
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4])))
return 0
"""


class RedisThrottle:
    """Counters in Redis: one atomic script per reservation, expiring after a quiet day."""

    def __init__(self, client: Any, policy: ThrottlePolicy) -> None:
        self._client = client
        self.policy = policy
        self._script = client.register_script(_RESERVE)

    def reserve(self, key: str) -> None:
        p = self.policy
        wait = int(self._script(keys=[f"throttle:{key}"],
                                args=[p.free_attempts, p.base_delay, p.max_delay,
                                      p.forget_after]))
        if wait > 0:
            raise TooManyAttempts(wait)

    def clear(self, key: str) -> None:
        self._client.delete(f"throttle:{key}")

    def clear_all(self) -> None:
        """Forget every counter (tests; an operator after an incident)."""
        for name in self._client.scan_iter(match="throttle:*", count=1000):
            self._client.delete(name)
