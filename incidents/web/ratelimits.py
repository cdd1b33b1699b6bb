"""Rate limits that never involve an IP address (DESIGN §7: none stored by default).

Two kinds: the coarse default limit of Flask-Limiter for every request (per account when
signed in), and the credential throttle (incidents.services.throttle), one counter per
account for every credential step, kept in Redis or the database so that every worker and
process shares it.
"""

from __future__ import annotations

from flask import Flask
from flask_login import current_user
from redis import Redis

from incidents.core.database import Database
from incidents.core.settings import Settings
from incidents.services.throttle import (
    DatabaseThrottle,
    RedisThrottle,
    Throttle,
    ThrottlePolicy,
    account_key,
)
from incidents.web import context


def limiter_key() -> str:
    """Per account when signed in; otherwise one shared bucket per endpoint."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "anonymous"


def throttle_policy(settings: Settings) -> ThrottlePolicy:
    return ThrottlePolicy(
        free_attempts=settings.login_free_attempts,
        base_delay=float(settings.login_delay_base_seconds),
        max_delay=float(settings.login_delay_max_seconds),
    )


def credential_throttle() -> Throttle:
    throttle: Throttle = context.credential_throttle()
    return throttle


def reserve_attempt(pseudonym: str) -> str:
    """Count one credential attempt for this account name (raises TooManyAttempts)."""
    key = account_key(pseudonym)
    credential_throttle().reserve(key)
    return key


def init_app(app: Flask, settings: Settings, database: Database) -> None:
    policy = throttle_policy(settings)
    throttle: Throttle
    if settings.redis_url:
        throttle = RedisThrottle(Redis.from_url(settings.redis_url), policy)
    else:
        throttle = DatabaseThrottle(database.session, policy)
    context.register(app, "credential_throttle", throttle)
