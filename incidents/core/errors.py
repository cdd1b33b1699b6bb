"""Domain exceptions. Each carries its HTTP status; `incidents.web.errors` renders them.

Messages are English source strings marked with `N_` and translated when rendered,
so services stay free of Flask and of the request's language.
"""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark a string for translation without translating it (Babel extracts `N_`)."""
    return message


class ByteCount(int):
    """A size in bytes as a message parameter: shown in the reader's language and units."""


class DomainError(Exception):
    """Base of every error a service raises on purpose; `status` is its HTTP mapping."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", *, field: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params


class InvalidInput(DomainError):
    """A request field is missing, malformed or out of range."""


class InvalidFields(InvalidInput):
    """Several fields are invalid at once: the first one is the message and field (what the
    API answers with); a form shows every one of `errors` next to its field."""

    def __init__(self, errors: list[InvalidInput]) -> None:
        first = errors[0]
        super().__init__(first.message, field=first.field, **first.params)
        self.errors = errors


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does."""

    status = 404
    code = "not_found"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"


class AuthenticationFailed(DomainError):
    """Credentials were wrong; deliberately says nothing about which part."""

    status = 401
    code = "authentication_failed"


class Conflict(DomainError):
    """The request conflicts with the current state (for example a taken pseudonym)."""

    status = 409
    code = "conflict"


class Busy(DomainError):
    """Another request is working on this object right now; try again shortly."""

    status = 423
    code = "busy"


class PayloadTooLarge(DomainError):
    """The request body or one of its parts is over the configured limit."""

    status = 413
    code = "payload_too_large"


class ServiceUnavailable(DomainError):
    """A dependency (disk, database, key) is not available; nothing was stored."""

    status = 503
    code = "service_unavailable"


class ChecksumMismatch(DomainError):
    """The bytes received do not match the checksum the client sent (tus checksum, 460)."""

    status = 460
    code = "checksum_mismatch"


class UnsupportedMediaType(DomainError):
    """A body was sent with a content type this endpoint does not take (tus PATCH)."""

    status = 415
    code = "unsupported_media_type"


class TusVersionRequired(DomainError):
    """The client did not say it speaks tus 1.0.0 (the Tus-Resumable header)."""

    status = 412
    code = "precondition_failed"


class LedgerUnavailable(ServiceUnavailable):
    """The custody ledger could not be written, so nothing was stored or served (fail closed)."""

    code = "ledger_unavailable"


class CheckpointRefused(Conflict):
    """The signer refused a checkpoint: smaller than, or inconsistent with, one already signed."""

    code = "checkpoint_refused"


VAULT_SEALED_MESSAGE = N_("The evidence vault is sealed. Evidence can be opened again once it "
                          "is unsealed; witnesses can still submit.")


class VaultIsSealed(ServiceUnavailable):
    """The evidence vault is sealed (or its key agent is down): evidence cannot be opened."""

    code = "vault_sealed"

    def __init__(self, message: str = VAULT_SEALED_MESSAGE, **params: Any) -> None:
        super().__init__(message, **params)
