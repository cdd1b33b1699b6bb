"""Typed factories for public incidents, with keyword overrides."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from incidents.services.gazetteer import load_gazetteer
from incidents.services.research.public import (
    LocationPrecision,
    PublicIncident,
    PublicPlace,
    Verification,
    locate,
)

JAN5 = datetime(2022, 1, 5, 8, 0, tzinfo=UTC)


def gen_place(place_id: str = "almaty",
              precision: LocationPrecision = LocationPrecision.TOWN,
              point: tuple[float, float] | None = None) -> PublicPlace:
    return locate(load_gazetteer(), place_id, precision, point)


def gen_incident(**overrides: Any) -> PublicIncident:
    values: dict[str, Any] = {
        "id": "INC-000001",
        "title": "Dispersal of a rally",
        "summary": None,
        "start_utc": JAN5,
        "end_utc": None,
        "time_precision": "exact",
        "place": gen_place(),
        "categories": ("protest_suppression",),
        "tags": ("dispersal",),
        "injured": 4,
        "detained": 10,
        "killed": 0,
        "verification": Verification.CORROBORATED,
        "has_photo": True,
        "has_video": False,
        "published_at": datetime(2022, 3, 1, 12, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return PublicIncident(**values)


def many_incidents(n: int) -> Iterator[PublicIncident]:
    """`n` incidents made one at a time (never a list), over 2-20 January 2022."""
    places = [gen_place("almaty"), gen_place("zhanaozen"),
              gen_place("taraz", LocationPrecision.REGION), gen_place(None,
                                                                      LocationPrecision.NONE)]
    categories = ["detainee_treatment", "excessive_force", "protest_suppression"]
    for i in range(n):
        yield gen_incident(
            id=f"INC-{i:06d}", title=f"Incident number {i} in the synthetic set",
            start_utc=JAN5 + timedelta(minutes=17 * (i % 1500)),
            place=places[i % len(places)], categories=(categories[i % 3],),
            tags=(), injured=i % 7, detained=i % 11, killed=i % 2,
        )
