"""Reviewers' incidents under /review/incidents: the editable fields and the full answer."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictInt

from incidents.api.v1.schemas.base import Body, Ids, LongText, Out, Text
from incidents.core.clock import iso
from incidents.services import incidents

# Lists may also come as one comma- or space-separated string, as the HTML form sends them.
IdsOrText = Ids | Text
Count = StrictInt | Text  # a number, or its digits


class IncidentFieldsIn(Body):
    """The incident's fields; the service checks them against the taxonomy and gazetteer."""

    title: Text | None = None
    description: LongText | None = None
    summary: Text | None = Field(None, max_length=2000)
    start_utc: Text | None = Field(None, description="RFC 3339, in UTC (ending in Z)")
    end_utc: Text | None = Field(None, description="RFC 3339, in UTC (ending in Z)")
    time_precision: Text | None = Field(None, description="exact, approximate, unknown")
    place: Text | None = Field(None, description="a gazetteer id")
    location_precision: Text | None = None
    categories: IdsOrText | None = None
    tags: IdsOrText | None = None
    injured: Count | None = None
    detained: Count | None = None
    killed: Count | None = None
    verification: Text | None = Field(None, description="reported, corroborated, verified")

    def data(self) -> dict[str, Any]:
        """The fields as the service's parser reads them (those the client sent)."""
        return self.model_dump(include=set(IncidentFieldsIn.model_fields), exclude_unset=True)


class IncidentCreateIn(IncidentFieldsIn):
    submissions: Ids = []
    items: Ids = []


class PublishIn(Body):
    published: bool = Field(True, description="false withdraws the incident")


class MergeIn(Body):
    sources: Ids = Field([], description="incidents merged into this one")


class SplitIn(Body):
    submissions: Ids = Field([], description="moved into the new incident")
    title: Text = ""


class IncidentOut(Out):
    id: str
    title: str
    description: str | None = Field(description="reviewers only, stored sealed; null while "
                                                "the vault is sealed")
    summary: str | None
    start_utc: str | None
    end_utc: str | None
    time_precision: str
    place: str | None
    region: str | None
    location_precision: str
    location_precision_cap: str = Field(description="the finest precision its sources allow")
    categories: list[str]
    tags: list[str]
    injured: int | None
    detained: int | None
    killed: int | None
    verification: str
    has_photo: bool
    has_video: bool
    published: bool
    published_at: str | None
    merged_into: bool
    submissions: list[str]
    items: list[str]

    @classmethod
    def of(cls, incident: Any, description: str | None) -> IncidentOut:
        return cls(
            id=incident.public_id, title=incident.title,
            description=description, summary=incident.summary,
            start_utc=iso(incident.start_utc), end_utc=iso(incident.end_utc),
            time_precision=incident.time_precision.value, place=incident.place_id,
            region=incident.region_id,
            location_precision=incident.location_precision.value,
            location_precision_cap=incidents.precision_cap(incident.submissions).value,
            categories=incident.categories, tags=incident.tags, **incident.counts,
            verification=incident.verification.value, has_photo=incident.has_photo,
            has_video=incident.has_video, published=incident.published,
            published_at=iso(incident.published_at),
            merged_into=incident.merged_into_id is not None,
            submissions=[s.public_id for s in incident.submissions],
            items=[i.public_id for i in incident.items])


class IncidentListOut(Out):
    incidents: list[IncidentOut]
