"""Small typed factories for tests (`gen_*`), with keyword overrides."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pyotp
import sqlalchemy as sa
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient

from incidents.models import BlobRecord, Role, User
from incidents.services import accounts, invitations, tokens, totp
from incidents.services.passwords import PasswordHasher
from incidents.web.db import get_session

CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}
PASSPHRASE = "purple elephant tramway 1986"


def policy() -> accounts.AccountPolicy:
    return accounts.AccountPolicy(hasher=PasswordHasher(1, 8, 1), passphrase_min_length=12)


def gen_invitation(role: Role = Role.CONTRIBUTOR, *, days: int = 7, note: str = "") -> str:
    session = get_session()
    _inv, token = invitations.create(session, role=role, expires_in=timedelta(days=days),
                                     note=note)
    session.commit()
    return token


def gen_user(
    role: Role = Role.CONTRIBUTOR,
    *,
    pseudonym: str | None = None,
    passphrase: str = PASSPHRASE,
    with_totp: bool = True,
) -> User:
    """A registered user; staff get an enrolled TOTP factor unless `with_totp` is False."""
    session = get_session()
    name = pseudonym or f"{role.value}-{session.query(User).count() + 1}"
    user = accounts.register(session, policy(), invitation_token=gen_invitation(role),
                             pseudonym=name, passphrase=passphrase)
    if with_totp and role.needs_totp:
        totp.begin_enrolment(user)
        totp.confirm_enrolment(session, user, current_code(user))
    session.commit()
    return user


def current_code(user: User) -> str:
    assert user.totp_secret
    return pyotp.TOTP(user.totp_secret).now()


def next_code(user: User) -> str:
    """A valid code from the next time step (the current one may already be used)."""
    assert user.totp_secret
    totp_ = pyotp.TOTP(user.totp_secret)
    # Never an older step than now: a user enrolled minutes ago has a stale last step.
    now_step = int(time.time()) // 30
    return totp_.at(max(now_step, (user.totp_last_step or 0) + 1) * 30)


def gen_token(user: User) -> str:
    session = get_session()
    _row, token = tokens.create_api_token(session, user, "test")
    session.commit()
    return token


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, user: User, passphrase: str = PASSPHRASE) -> None:
    """Sign in through the real form, second factor included."""
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "pseudonym": user.pseudonym,
                                           "passphrase": passphrase})
    if user.needs_totp and user.totp_enabled:
        assert response.status_code == 200, response.status_code
        session = get_session()
        session.refresh(user)
        response = client.post("/login", data={"csrf_token": token, "totp": next_code(user)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def app_settings(app: Flask) -> object:
    return app.extensions["settings"]


def fresh_g() -> None:
    """Forget `g`: the `app` fixture keeps one app context, so `g` outlives each request.

    Flask-Login caches the current user and Flask-WTF the CSRF token in `g`; a browser
    never shares either between requests, so tests must not either.
    """
    if has_app_context():
        for name in list(g):
            g.pop(name)


class BrowserLikeClient(FlaskClient):
    """A test client whose every request starts with an empty `g`, as in production."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        fresh_g()
        return super().open(*args, **kwargs)



def read_sealed(app: Flask, blob_id: str | None) -> Any:
    """The JSON value of a sealed blob (services.evidence.sealed), read straight from the
    store with the vault key, as a test's check of what was stored (no custody event)."""
    if blob_id is None:
        return None
    record = get_session().get(BlobRecord, blob_id)
    assert record is not None, blob_id
    with app.extensions["blobstore"].open(record) as reader:
        return json.loads(reader.read().decode("utf-8"))


def sealed_text(app: Flask, blob_id: str | None) -> str | None:
    """The text of a `seal_text` blob; None for no blob."""
    value = read_sealed(app, blob_id)
    return None if value is None else value["text"]


def database_bytes(app: Flask) -> bytes:
    """Everything the database holds, as bytes to search for plaintext: the SQLite file
    (and its WAL), or every row of every table in PostgreSQL."""
    engine = get_session().get_bind()
    get_session().commit()
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path
        data = b""
        for suffix in ("", "-wal", "-journal"):
            try:
                with open(path + suffix, "rb") as f:
                    data += f.read()
            except FileNotFoundError:
                pass
        return data
    out = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):  # noqa: S608
                out.append(repr(tuple(row)).encode("utf-8"))
                out.extend(v if isinstance(v, bytes) else str(v).encode("utf-8")
                           for v in row if v is not None)
    return b"\n".join(out)
