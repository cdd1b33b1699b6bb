"""Commitments of state in custody events: the witness's statement, an incident's members.

What `custody verify`'s state replay (incidents.services.custody_state) compares the
tables against, and what the services put in the events when they set that state. Both
forms are documented for outside verifiers in docs/formats.md "State in the ledger".
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from incidents.models import Submission
from incidents.models.incidents import Incident
from incidents.services import custody


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


STATEMENT_COLUMNS = (Submission.occurred_at, Submission.time_precision, Submission.date_only,
                     Submission.place_id, Submission.region, Submission.place_withheld,
                     Submission.categories, Submission.tags, Submission.injured,
                     Submission.detained, Submission.killed, Submission.consent_legal,
                     Submission.consent_research, Submission.consent_publication,
                     Submission.consent_contact, Submission.has_point,
                     Submission.sealed_metadata_blob_id)


def statement_from_columns(occurred_at: datetime | None, time_precision: Any, date_only: bool,
               place_id: str | None, region: str | None, place_withheld: bool,
               categories: list[str] | None, tags: list[str] | None, injured: int | None,
               detained: int | None, killed: int | None, legal: bool, research: bool,
               publication: bool, contact: bool, has_point: bool,
               metadata_blob: str | None) -> dict[str, Any]:
    return {
        "occurred_at": _iso(occurred_at),
        "time_precision": getattr(time_precision, "value", time_precision),
        "date_only": bool(date_only),
        "place": place_id,
        "region": region,
        "place_withheld": bool(place_withheld),
        "categories": sorted(categories or []),
        "tags": sorted(tags or []),
        "counts": {"injured": injured, "detained": detained, "killed": killed},
        "consent": {"legal": bool(legal), "research": bool(research),
                    "publication": bool(publication), "contact": bool(contact)},
        "has_point": bool(has_point),
        "metadata_blob": metadata_blob,
    }


def statement_of(submission: Submission) -> dict[str, Any]:
    """The witness's statement in canonical form: every fact a court or researcher uses.

    The exact point and the description of forces live in the sealed metadata blob, named
    here by id; that blob's own `stored` commitment (and `custody verify --blobs`) covers
    its bytes.
    """
    return statement_from_columns(*(getattr(submission, c.key) for c in STATEMENT_COLUMNS))


def statement_commitment(statement: dict[str, Any], salt_hex: str, *,
                         checked: bool = True) -> str:
    """SHA-256(statement tag ‖ 32-byte salt ‖ canonical JSON of the statement), hex.

    `checked=False` skips the value checks of `canonical_details` (same text for valid
    values): for recomputing many stored statements, where a value that would not pass
    simply gives another commitment.
    """
    salt = bytes.fromhex(salt_hex)
    if len(salt) != custody.SALT_LEN:
        raise ValueError("a statement commitment needs a 32-byte salt")
    text = (custody.canonical_details(statement) if checked else
            json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
    return hashlib.sha256(custody.STATEMENT_TAG + salt + text.encode("utf-8")).hexdigest()


def commit_statement(submission: Submission) -> str:
    """Give the submission a fresh salt (if it has none) and return its commitment."""
    if not submission.statement_salt:
        submission.statement_salt = secrets.token_hex(custody.SALT_LEN)
    return statement_commitment(statement_of(submission), submission.statement_salt)


MEMBERS_TAG = b"incidents/incident-members/v1"


def members_digest(submissions: list[str], items: list[str]) -> str:
    """SHA-256(tag ‖ canonical JSON {"items": sorted ids, "submissions": sorted ids}), hex:
    which submissions and items an incident holds, as each membership event commits it."""
    text = json.dumps({"items": sorted(items), "submissions": sorted(submissions)},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(MEMBERS_TAG + text.encode("utf-8")).hexdigest()


def members_of(incident: Incident) -> str:
    """The membership digest of an incident as the session has it now."""
    return members_digest([s.public_id for s in incident.submissions],
                          [i.public_id for i in incident.items])
