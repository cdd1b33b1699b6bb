"""Publishing from a preview: what researchers will see, and a version that the confirmed
publication must still match."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.errors import N_, Conflict, DomainError, InvalidInput
from incidents.models import User
from incidents.services.actors.public import forces as public_forces
from incidents.services.gazetteer import Gazetteer, load_gazetteer
from incidents.services.incidents.changes import check_publishable, load, publish
from incidents.services.research import queries as research
from incidents.services.research.exports import record
from incidents.services.research.public import PublicIncident

UNPUBLISHED_FIELDS = ("published_at_utc", "published_at_local")


@dataclass(frozen=True)
class PublishPreview:
    incident_id: str
    title: str
    published: bool
    public: PublicIncident | None  # None when it cannot be shown (no start time yet)
    forces: list[str]
    problems: list[DomainError]  # why it cannot be published now; empty when it can
    version: str  # what the confirmation sends back: the preview's content, hashed


def version_of(public: PublicIncident | None) -> str:
    """SHA-256 of the researchers' record of the incident, publication time left out."""
    if public is None:
        return ""
    shown = {k: v for k, v in record(public, ZoneInfo("UTC")).items()
             if k not in UNPUBLISHED_FIELDS}
    text = json.dumps(shown, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def preview(session: Session, user: User, public_id: str, *,
            gazetteer: Gazetteer | None = None) -> PublishPreview:
    """The incident exactly as the research pages will show it, and what stops publishing."""
    gazetteer = gazetteer or load_gazetteer()
    incident = load(session, user, public_id)
    problems: list[DomainError] = []
    try:
        check_publishable(incident, gazetteer)
    except DomainError as e:
        problems.append(e)
    public = None
    if incident.start_utc is not None and incident.merged_into_id is None:
        public = research.preview_incident(session, public_id, utcnow(), gazetteer=gazetteer)
    return PublishPreview(incident.public_id, incident.title, incident.published, public,
                          public_forces(session, public_id, include_unpublished=True),
                          problems, version_of(public))


def publish_previewed(session: Session, user: User, public_id: str, version: str, *,
                      gazetteer: Gazetteer | None = None) -> None:
    """Publish, if the incident is still what the preview showed (else 409: look again)."""
    gazetteer = gazetteer or load_gazetteer()
    incident = load(session, user, public_id)
    if not isinstance(version, str) or not version:
        raise InvalidInput(N_("Publish from the preview page."), field="version")
    current = (research.preview_incident(session, public_id, utcnow(), gazetteer=gazetteer)
               if incident.start_utc is not None and incident.merged_into_id is None else None)
    if version_of(current) != version:
        raise Conflict(N_("The incident changed after the preview was made. Look at the "
                          "preview again before publishing."))
    publish(session, user, public_id, True, gazetteer=gazetteer)
