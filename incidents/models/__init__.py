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
from incidents.models.actors import (
    Actor,
    ActorKind,
    ActorPhoto,
    ActorPost,
    ChainDecision,
    ChainReview,
    Citation,
    ForceKind,
    Involvement,
    LinkStatus,
    PostKind,
    StatusChange,
    Translation,
)
from incidents.models.actors import Role as InvolvementRole
from incidents.models.cases import Case, CaseIncident, CaseItem, CaseKind, CaseMember
from incidents.models.custody import Checkpoint, CustodyEvent, LedgerHead
from incidents.models.evidence import BlobRecord, BlobStatus
from incidents.models.incidents import (
    Incident,
    IncidentItem,
    IncidentSubmission,
    IncidentTerm,
    TermKind,
)
from incidents.models.media import (
    DerivativeKind,
    MediaDerivative,
    MediaFlag,
    MediaFlagRecord,
    MediaPhash,
    MediaProcessing,
    ProcessingStatus,
)
from incidents.models.research import RESEARCH_INDEXES
from incidents.models.review import (
    Assessment,
    InfoRequest,
    ReviewAssignment,
    ReviewerNote,
    SourceReliability,
)
from incidents.models.submissions import (
    EvidenceItem,
    EvidenceKind,
    Submission,
    SubmissionStatus,
    TimePrecision,
)
from incidents.models.throttle import CredentialThrottle
from incidents.models.uploads import Upload, UploadSegment, UploadState

__all__ = [
    "Actor",
    "ActorKind",
    "ActorPhoto",
    "ActorPost",
    "ChainDecision",
    "ChainReview",
    "Citation",
    "ForceKind",
    "Involvement",
    "InvolvementRole",
    "LinkStatus",
    "PostKind",
    "StatusChange",
    "Translation",
    "ApiToken",
    "Assessment",
    "AuditEvent",
    "BlobRecord",
    "BlobStatus",
    "Case",
    "CaseIncident",
    "CaseItem",
    "CaseKind",
    "CaseMember",
    "Checkpoint",
    "CredentialThrottle",
    "CustodyEvent",
    "DerivativeKind",
    "EvidenceItem",
    "EvidenceKind",
    "Incident",
    "IncidentItem",
    "IncidentSubmission",
    "IncidentTerm",
    "InfoRequest",
    "Invitation",
    "LedgerHead",
    "MediaDerivative",
    "MediaFlag",
    "MediaFlagRecord",
    "MediaPhash",
    "MediaProcessing",
    "ProcessingStatus",
    "RESEARCH_INDEXES",
    "RecoveryCode",
    "ReviewAssignment",
    "ReviewerNote",
    "Role",
    "SourceReliability",
    "Submission",
    "SubmissionStatus",
    "TermKind",
    "TimePrecision",
    "Upload",
    "UploadSegment",
    "UploadState",
    "User",
    "UserSession",
]
