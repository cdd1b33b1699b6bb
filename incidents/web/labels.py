"""What the enum-like values stored in the database are called on a page.

Each value keeps its id in the database, the API, exports and custody data; these are
English source strings (`N_`), translated when a template shows them (`incidents.web.i18n`).
"""

from __future__ import annotations

from enum import StrEnum

from incidents.core.errors import N_
from incidents.models.cases import CaseKind
from incidents.models.media import MediaFlag
from incidents.models.submissions import SubmissionStatus, TimePrecision
from incidents.services.research.public import LocationPrecision, Verification

# Keyed by enum class: StrEnum members of different enums with the same value are equal.
ENUM_LABELS: dict[type[StrEnum], dict[str, str]] = {
    SubmissionStatus: {
        SubmissionStatus.RECEIVED: N_("Received"),
        SubmissionStatus.IN_REVIEW: N_("In review"),
        SubmissionStatus.NEEDS_INFO: N_("Needs more information"),
        SubmissionStatus.USED_IN_INCIDENT: N_("Used in an incident"),
        SubmissionStatus.ACCEPTED: N_("Accepted"),
        SubmissionStatus.REJECTED: N_("Rejected"),
    },
    TimePrecision: {
        TimePrecision.EXACT: N_("exact"),
        TimePrecision.APPROXIMATE: N_("approximate"),
        TimePrecision.UNKNOWN: N_("time not known"),
    },
    LocationPrecision: {
        LocationPrecision.EXACT: N_("exact point"),
        LocationPrecision.TOWN: N_("town or city"),
        LocationPrecision.REGION: N_("region only"),
        LocationPrecision.NONE: N_("not shown"),
    },
    Verification: {
        Verification.REPORTED: N_("reported"),
        Verification.CORROBORATED: N_("corroborated"),
        Verification.VERIFIED: N_("verified"),
    },
    CaseKind: {
        CaseKind.PROSECUTION: N_("prosecution"),
        CaseKind.UN_COMMUNICATION: N_("communication to the United Nations"),
        CaseKind.SANCTIONS_DOSSIER: N_("sanctions dossier"),
        CaseKind.OTHER: N_("other"),
    },
    MediaFlag: {
        MediaFlag.TYPE_MISMATCH: N_("type does not match the name"),
        MediaFlag.UNSUPPORTED: N_("unsupported format"),
        MediaFlag.CORRUPT: N_("damaged file"),
        MediaFlag.BOMB: N_("too many pixels to open"),
        MediaFlag.PARSE_TIMEOUT: N_("metadata could not be read in time"),
        MediaFlag.POLYGLOT: N_("contains markup or script"),
        MediaFlag.EMPTY: N_("empty file"),
    },
}

CONSENT_LABELS: dict[str, str] = {
    "legal": N_("legal proceedings"),
    "research": N_("research"),
    "publication": N_("publication"),
    "contact": N_("contact"),
}
