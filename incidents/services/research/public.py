"""`PublicIncident`: the only shape of an incident that reaches researchers.

It holds nothing a researcher may not see: no submission, evidence or contributor id, no
pseudonym, no testimony (only a reviewer-chosen excerpt, and only when every witness agreed
to publication), no file name or metadata, and a location already coarsened to what consent
allows (`locate`). Pages, the API and every export are built from these values alone, so a
field that is not here cannot leak through them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from incidents.core.errors import N_, InvalidInput
from incidents.core.vocabulary import LocationPrecision, Verification
from incidents.services.gazetteer import Gazetteer

# The same values as incidents.models.submissions.TimePrecision (a test holds them equal);
# not imported, so that this package stays free of SQLAlchemy.
TIME_PRECISIONS = ("exact", "approximate", "unknown")
COUNT_FIELDS = ("injured", "detained", "killed")
# An exact point is published to 4 decimals (about 11 m): finer digits are noise, not evidence.
POINT_DECIMALS = 4


_ORDER = list(LocationPrecision)


def coarsest(precisions: Iterable[LocationPrecision]) -> LocationPrecision:
    """The coarsest of several precisions (an incident built from several witnesses' reports
    may be shown only as precisely as the most cautious of them allows); NONE if empty."""
    return max(precisions, key=_ORDER.index, default=LocationPrecision.NONE)


@dataclass(frozen=True, slots=True)
class PublicPlace:
    """A location as researchers see it: ids, names and a point at the allowed precision."""

    precision: LocationPrecision
    place_id: str | None = None
    region_id: str | None = None
    name_en: str = ""
    name_ru: str = ""
    name_kk: str = ""
    lat: float | None = None
    lon: float | None = None

    def __post_init__(self) -> None:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if self.precision is LocationPrecision.NONE and (
                self.place_id or self.region_id or self.lat is not None or self.name_en):
            raise ValueError("a location that may not be shown carries nothing")
        if self.precision is LocationPrecision.REGION and self.place_id != self.region_id:
            raise ValueError("a region-precision location names only its region")

    def name(self, language: str) -> str:
        return {"en": self.name_en, "ru": self.name_ru, "kk": self.name_kk}.get(
            language) or self.name_en


NOWHERE = PublicPlace(LocationPrecision.NONE)


def locate(gazetteer: Gazetteer, place_id: str | None, precision: LocationPrecision,
           point: tuple[float, float] | None = None) -> PublicPlace:
    """Coarsen a place (and optional exact `(lat, lon)` point) to `precision`.

    What is not known is not invented: exact without a point falls back to the place's own
    precision, a town-precision region is shown as the region. A region-precision location
    names only the region (never the town), at the region's own coordinates.
    """
    if precision is LocationPrecision.NONE:
        return NOWHERE
    place = gazetteer.get(place_id)
    if place_id and place is None:
        raise InvalidInput(N_("This place is not in our list."), field="place")
    if place is None:
        if precision is LocationPrecision.EXACT and point is not None:
            return PublicPlace(LocationPrecision.EXACT, lat=round(point[0], POINT_DECIMALS),
                               lon=round(point[1], POINT_DECIMALS))
        return NOWHERE
    if place.kind == "region" or precision is LocationPrecision.REGION:
        region = gazetteer.get(place.region) or place
        return PublicPlace(LocationPrecision.REGION, region.id, region.id, region.names["en"],
                           region.names["ru"], region.names["kk"], region.lat, region.lon)
    lat, lon = place.lat, place.lon
    shown = LocationPrecision.TOWN
    if precision is LocationPrecision.EXACT and point is not None:
        lat, lon = round(point[0], POINT_DECIMALS), round(point[1], POINT_DECIMALS)
        shown = LocationPrecision.EXACT
    return PublicPlace(shown, place.id, place.region, place.names["en"], place.names["ru"],
                       place.names["kk"], lat, lon)


def public_summary(excerpt: str | None, *, witnesses_consented: bool) -> str | None:
    """The reviewer's excerpt, only if every witness behind it consented to publication."""
    if not witnesses_consented or not excerpt or not excerpt.strip():
        return None
    return excerpt.strip()


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class PublicIncident:
    """A published incident, holding only what researchers may see."""

    id: str  # the stable public id, never a database row id of anything else
    title: str
    summary: str | None
    start_utc: datetime
    end_utc: datetime | None
    time_precision: str
    place: PublicPlace
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    injured: int | None
    detained: int | None
    killed: int | None
    verification: Verification
    has_photo: bool
    has_video: bool
    published_at: datetime

    def __post_init__(self) -> None:
        # Frozen: normalise through object.__setattr__, once, here.
        object.__setattr__(self, "start_utc", _utc(self.start_utc, "start_utc"))
        if self.end_utc is not None:
            end = _utc(self.end_utc, "end_utc")
            if end < self.start_utc:
                raise ValueError("end_utc is before start_utc")
            object.__setattr__(self, "end_utc", end)
        object.__setattr__(self, "published_at", _utc(self.published_at, "published_at"))
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "verification", Verification(self.verification))
        if self.time_precision not in TIME_PRECISIONS:
            raise ValueError("unknown time precision")
        for name in COUNT_FIELDS:
            count = getattr(self, name)
            if count is not None and (isinstance(count, bool) or count < 0):
                raise ValueError(f"{name} must be a count")

    def counts(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in COUNT_FIELDS}
