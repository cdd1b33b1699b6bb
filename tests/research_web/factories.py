"""Published incidents straight into the tables (the reviewers' service is tested elsewhere)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from incidents.models import (
    Incident,
    IncidentSubmission,
    IncidentTerm,
    Role,
    Submission,
    TermKind,
    User,
)
from incidents.models.submissions import TimePrecision
from incidents.services.research.public import LocationPrecision, Verification
from tests.helpers import gen_user

JAN5 = datetime(2022, 1, 5, 8, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def reviewer(session: Session) -> User:
    found = session.query(User).filter(User.role == Role.REVIEWER).first()
    return found or gen_user(Role.REVIEWER)


def gen_incident_row(session: Session, *, categories: tuple[str, ...] = ("excessive_force",),
                     tags: tuple[str, ...] = (), submissions: tuple[int, ...] = (),
                     commit: bool = True, **overrides: Any) -> Incident:
    """An incident, published unless `published=False`; returns it (committed)."""
    n = next(_numbers)
    values: dict[str, Any] = {
        "public_id": f"INC-T{n:09d}", "title": f"Incident {n}",
        "summary": None, "start_utc": JAN5 + timedelta(hours=n % 48), "end_utc": None,
        "time_precision": TimePrecision.EXACT, "place_id": "almaty_city",
        "region_id": "almaty_city", "location_precision": LocationPrecision.TOWN,
        "injured": 1, "detained": 2, "killed": 0, "verification": Verification.REPORTED,
        "has_photo": False, "has_video": False, "published": True,
        "published_at": datetime(2022, 3, 1, tzinfo=UTC),
        "created_by_id": reviewer(session).id,
    }
    values.update(overrides)
    incident = Incident(**values)
    incident.terms = [IncidentTerm(kind=TermKind.CATEGORY, term=c) for c in categories] + [
        IncidentTerm(kind=TermKind.TAG, term=t) for t in tags]
    session.add(incident)
    session.flush()
    for submission_id in submissions:
        session.add(IncidentSubmission(incident_id=incident.id, submission_id=submission_id))
    if commit:
        session.commit()
    return incident


def gen_witness_submission(session: Session, *, publication: bool) -> int:
    """A witness's submission row with the given publication consent; its primary key."""
    owner = gen_user(Role.CONTRIBUTOR)
    submission = Submission(
        public_id=f"{owner.id:032d}", owner_id=owner.id, time_precision="unknown",
        categories=[], tags=[], consent_legal=True, consent_research=True,
        consent_publication=publication, consent_contact=False)
    session.add(submission)
    session.commit()
    return submission.id
