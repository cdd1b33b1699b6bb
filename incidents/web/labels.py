"""Every display label: what stored values, custody actions and form fields are called on a page.

Each value keeps its id in the database, the API, exports and custody data; these are
English source strings (`N_`), translated when a template shows them (`incidents.web.i18n`).
"""

from __future__ import annotations

from enum import StrEnum

from incidents.core.errors import N_
from incidents.models.cases import CaseKind
from incidents.models.media import MediaFlag
from incidents.models.review import SourceReliability
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
    # The Admiralty (NATO) grading that reviewers use: source A-F, information 1-6.
    SourceReliability: {
        SourceReliability.A: N_("A — completely reliable"),
        SourceReliability.B: N_("B — usually reliable"),
        SourceReliability.C: N_("C — fairly reliable"),
        SourceReliability.D: N_("D — not usually reliable"),
        SourceReliability.E: N_("E — unreliable"),
        SourceReliability.F: N_("F — reliability cannot be judged"),
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

CREDIBILITY_LABELS: dict[int, str] = {
    1: N_("1 — confirmed by other sources"),
    2: N_("2 — probably true"),
    3: N_("3 — possibly true"),
    4: N_("4 — doubtful"),
    5: N_("5 — improbable"),
    6: N_("6 — truth cannot be judged"),
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

# What each action is called on a page (`incidents.web.i18n` translates it). The ledger, the
# JSON receipt and the API keep the action id itself; an id missing here is shown as is.
ACTION_LABELS: dict[str, str] = {
    "submitted": N_("report sent"),
    "files_added": N_("files added"),
    "received": N_("received"),
    "stored": N_("stored"),
    "viewed": N_("viewed"),
    "downloaded": N_("downloaded"),
    "removed": N_("removed"),
    "processed": N_("processed"),
    "metadata_extracted": N_("metadata extracted"),
    "derivative_made": N_("preview made"),
    "integrity_checked": N_("integrity checked"),
    "status_changed": N_("status changed"),
    "assigned": N_("assigned"),
    "annotated": N_("annotated"),
    "info_requested": N_("more information requested"),
    "incident_created": N_("incident created"),
    "incident_edited": N_("incident edited"),
    "incident_linked": N_("linked to an incident"),
    "merged": N_("merged"),
    "split": N_("split"),
    "published": N_("published"),
    "unpublished": N_("withdrawn from publication"),
    "exported": N_("exported"),
    "case_created": N_("case created"),
    "case_member_added": N_("case member added"),
    "case_member_removed": N_("case member removed"),
    "case_linked": N_("added to a case"),
    "key_rotated": N_("vault key rotated"),
    "key_retired": N_("vault key retired"),
    "vault_unsealed": N_("vault unsealed"),
    "vault_sealed": N_("vault sealed"),
    "baseline": N_("state recorded"),
    "bundle_statement": N_("bundle statement"),
    "actor_created": N_("actor recorded"),
    "actor_edited": N_("actor edited"),
    "post_added": N_("post added"),
    "cited": N_("cited as evidence"),
    "involvement_created": N_("involvement linked"),
    "involvement_linked": N_("involvement linked"),
    "involvement_status": N_("involvement status changed"),
    "translated": N_("translation added"),
    "chain_reviewed": N_("command link reviewed"),
    "dossier_created": N_("dossier made"),
    "dossier_exported": N_("dossier exported"),
}

# What a witness calls each field an error can name (`incidents.web.i18n` translates it);
# the API answers with the field id itself.
FIELD_LABELS: dict[str, str] = {
    "metadata": N_("report details"),
    "testimony": N_("what happened"),
    "time_precision": N_("how sure you are of the time"),
    "occurred_at": N_("date and time"),
    "place": N_("town or region"),
    "point": N_("exact point"),
    "counts": N_("how many people"),
    "counts.injured": N_("injured"),
    "counts.detained": N_("detained"),
    "counts.killed": N_("killed"),
    "forces": N_("forces involved"),
    "consent": N_("consent"),
    "consent.legal": N_("consent to use in legal proceedings"),
    "consent.research": N_("consent to use in research"),
    "consent.publication": N_("consent to publication"),
    "consent.contact": N_("consent to contact"),
    "uploads": N_("files"),
    "files": N_("files"),
    "categories": N_("kind of events"),
    "tags": N_("kind of events"),
}

# What the staff forms (incidents, cases, their pickers) call each field: the form's label
# and the name an error message gives it are this one text.
FORM_FIELD_LABELS: dict[str, str] = {
    "title": N_("Title"),
    "description": N_("Description (reviewers only)"),
    "summary": N_("Public summary"),
    "start_date": N_("Start date"),
    "start_time": N_("Start time"),
    "end_date": N_("End date"),
    "end_time": N_("End time"),
    "start_utc": N_("Start"),
    "end_utc": N_("End"),
    "time_precision": N_("How exact the time is"),
    "place": N_("Place"),
    "location_precision": N_("How precisely the place is shown"),
    "categories": N_("Categories"),
    "tags": N_("Sub-tags"),
    "injured": N_("Injured"),
    "detained": N_("Detained"),
    "killed": N_("Killed"),
    "verification": N_("Verification"),
    "submissions": N_("Reports"),
    "items": N_("Evidence items"),
    "incidents": N_("Incidents"),
    "sources": N_("Incidents to merge into this one"),
    "version": N_("Preview"),
    "pick_status": N_("Status"),
    "pick_from": N_("From"),
    "pick_to": N_("To"),
    "pick_place": N_("Place"),
    "pick_category": N_("Category"),
    "pick_q": N_("Words of the title"),
    "name": N_("Name"),
    "kind": N_("Kind"),
}

# The kinds of evidence item a picker lists (`incidents.services.incidents.page`).
ITEM_KIND_LABELS: dict[str, str] = {
    "testimony": N_("written testimony"),
    "image": N_("photo"),
    "video": N_("video"),
    "audio": N_("audio recording"),
    "file": N_("file"),
}

# Role names as shown to people (templates translate `role.value`); listed for extraction.
ROLE_LABELS = (N_("contributor"), N_("reviewer"), N_("researcher"), N_("admin"))
