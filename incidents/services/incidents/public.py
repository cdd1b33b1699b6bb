"""What researchers get of an incident: `to_public`, the only shape that leaves."""

from __future__ import annotations

from incidents.core.errors import NotFound
from incidents.models import (
    Incident,
)
from incidents.services.gazetteer import Gazetteer, load_gazetteer
from incidents.services.research.public import (
    PublicIncident,
    locate,
    public_summary,
)


def witnesses_consented(incident: Incident) -> bool:
    return bool(incident.submissions) and all(s.consent_publication
                                              for s in incident.submissions)


def to_public(incident: Incident, gazetteer: Gazetteer | None = None) -> PublicIncident:
    """The only shape of an incident that leaves for researchers."""
    if incident.start_utc is None or incident.published_at is None:
        raise NotFound()
    place = locate(gazetteer or load_gazetteer(), incident.place_id,
                   incident.location_precision)
    return PublicIncident(
        id=incident.public_id, title=incident.title,
        summary=public_summary(incident.summary,
                               witnesses_consented=witnesses_consented(incident)),
        start_utc=incident.start_utc, end_utc=incident.end_utc,
        time_precision=incident.time_precision.value, place=place,
        categories=tuple(incident.categories), tags=tuple(incident.tags),
        injured=incident.injured, detained=incident.detained, killed=incident.killed,
        verification=incident.verification, has_photo=incident.has_photo,
        has_video=incident.has_video, published_at=incident.published_at)
