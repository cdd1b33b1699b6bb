"""SQLAlchemy models. Import every module here so Alembic sees the whole metadata."""

from incidents.models.accounts import (
    ApiToken,
    AuditEvent,
    Invitation,
    RecoveryCode,
    Role,
    User,
    UserSession,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Invitation",
    "RecoveryCode",
    "Role",
    "User",
    "UserSession",
]
