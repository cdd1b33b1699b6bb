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

# Actors, posts, involvement roles and statuses, chain decisions (issue 15): keyed by the
# stored value, which is the same text wherever two of these enums share one.
ACTOR_LABELS: dict[str, str] = {
    "person": N_("person"),
    "unit": N_("unit or organisation"),
    "facility": N_("facility"),
    "police": N_("police"),
    "national_guard": N_("National Guard"),
    "knb": N_("National Security Committee (KNB)"),
    "army": N_("army"),
    "special_forces": N_("special forces"),
    "csto": N_("CSTO contingent"),
    "other": N_("other"),
    "member": N_("member of"),
    "commander": N_("commander"),
    "part_of": N_("part of"),
    "operates": N_("operates"),
    "direct_perpetrator": N_("direct perpetrator"),
    "present_unit": N_("unit present"),
    "gave_order": N_("gave the order"),
    "detention_facility": N_("place of detention"),
    "official_responsible": N_("official responsible"),
    "alleged": N_("alleged"),
    "corroborated": N_("corroborated"),
    "established": N_("established"),
    "disputed": N_("disputed"),
    "rejected": N_("rejected"),
    "confirmed": N_("confirmed"),
}
