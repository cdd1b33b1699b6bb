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
from incidents.models.custody import Checkpoint, CustodyEvent, LedgerHead
from incidents.models.evidence import BlobRecord, BlobStatus
from incidents.models.media import (
    DerivativeKind,
    MediaDerivative,
    MediaFlag,
    MediaFlagRecord,
    MediaPhash,
    MediaProcessing,
    ProcessingStatus,
)
from incidents.models.submissions import (
    EvidenceItem,
    EvidenceKind,
    Submission,
    SubmissionStatus,
    TimePrecision,
)
from incidents.models.uploads import Upload, UploadSegment, UploadState

__all__ = [
    "ApiToken",
    "AuditEvent",
    "BlobRecord",
    "BlobStatus",
    "Checkpoint",
    "CustodyEvent",
    "DerivativeKind",
    "EvidenceItem",
    "EvidenceKind",
    "Invitation",
    "LedgerHead",
    "MediaDerivative",
    "MediaFlag",
    "MediaFlagRecord",
    "MediaPhash",
    "MediaProcessing",
    "ProcessingStatus",
    "RecoveryCode",
    "Role",
    "Submission",
    "SubmissionStatus",
    "TimePrecision",
    "Upload",
    "UploadSegment",
    "UploadState",
    "User",
    "UserSession",
]
