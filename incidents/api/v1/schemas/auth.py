"""Enrolment and tokens: POST /auth/register, POST /auth/token, GET /me."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import Field

from incidents.api.v1.schemas.base import Body, Name, Out, Text
from incidents.core.errors import N_


class RegisterIn(Body):
    """An invitation, a pseudonym and a passphrase; `language` one of the site's languages."""

    messages: ClassVar[Mapping[str, str]] = {"language": N_("This language is not available.")}

    language: Text | None = Field(None, examples=["en", "ru", "kk"])
    invitation: Name
    pseudonym: Name = Field(max_length=200)
    passphrase: Name


class RegisteredOut(Out):
    pseudonym: str
    role: str = Field(description="witness accounts are `contributor`")


class TokenIn(Body):
    """Credentials; staff also send their current TOTP code. `name` labels the token."""

    pseudonym: Name = Field(max_length=200)
    passphrase: Name
    totp: Text = Field("", max_length=20)
    name: Text = Field("", max_length=80)


class TokenOut(Out):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown once")
    expires_at: str | None = Field(None, description="when the token stops working (UTC)")


class MeOut(Out):
    pseudonym: str
    role: str
    totp_enabled: bool
