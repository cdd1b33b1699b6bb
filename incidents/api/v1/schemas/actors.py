"""Actors, involvement links, citations, translations, command chains and dossiers.

One declaration per shape: these models parse the request bodies (extra fields are ignored,
never turned into structure) and give the OpenAPI document its schemas. Semantic checks
(known ids, date order, which roles fit which actors) are the services' and answer 400
naming the field, like a shape error here.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from incidents.api.v1.schemas.base import Body, Out

ActorKindName = Literal["person", "unit", "facility"]
ForceName = Literal["police", "national_guard", "knb", "army", "special_forces", "csto",
                    "other"]
PostKindName = Literal["member", "commander", "part_of", "operates"]
RoleName = Literal["direct_perpetrator", "present_unit", "commander", "gave_order",
                   "detention_facility", "official_responsible"]
StatusName = Literal["alleged", "corroborated", "established", "disputed", "rejected"]
Name = Field(default="", max_length=200)


class _In(Body):
    """A request body of this family: surrounding spaces trimmed, errors named by their
    whole path (`posts[0].end`), since these bodies nest lists of objects."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_max_length=1024,
                              str_strip_whitespace=True)
    nested_fields: ClassVar[bool] = True


class CitationIn(_In):
    item: str = Field(max_length=32, description="An evidence item of the incident")
    time_start: float | None = Field(default=None, ge=0, description="Seconds into a video")
    time_end: float | None = Field(default=None, ge=0)
    page: int | None = Field(default=None, ge=1, description="A page of a document")
    excerpt: str = Field(default="", max_length=5000,
                         description="The testimony excerpt that supports the link")


class PostIn(_In):
    kind: PostKindName
    target: str = Field(max_length=32, description="The unit (or facility) id")
    start: str | None = Field(default=None, description="YYYY-MM-DD", max_length=10)
    end: str | None = Field(default=None, description="YYYY-MM-DD", max_length=10)
    rank: str = Name
    position: str = Name
    citations: list[CitationIn] = Field(default_factory=list, max_length=50)


class ActorIn(_In):
    kind: ActorKindName
    name_latin: str = Name
    name_cyrillic: str = Name
    aliases: list[str] = Field(default_factory=list, max_length=50)
    transliterations: list[str] = Field(default_factory=list, max_length=50)
    details: str = Field(default="", max_length=5000,
                         description="Identifying details a lawyer records")
    force: ForceName | None = None
    place: str | None = Field(default=None, max_length=64, description="Gazetteer id")
    photos: list[str] = Field(default_factory=list, max_length=50,
                              description="Evidence item ids of photos of the person")
    posts: list[PostIn] = Field(default_factory=list, max_length=50)


class ActorEditIn(_In):
    """A new version of a person's or unit's names and details (the old one is kept)."""

    name_latin: str = Name
    name_cyrillic: str = Name
    aliases: list[str] = Field(default_factory=list, max_length=50)
    transliterations: list[str] = Field(default_factory=list, max_length=50)
    details: str = Field(default="", max_length=5000)
    photos: list[str] = Field(default_factory=list, max_length=50,
                              description="More photos (evidence item ids) to link")


class PostOut(Out):
    id: str
    kind: PostKindName
    actor: str
    target: str
    start: str | None
    end: str | None
    rank: str
    position: str
    citations: list[str]


class ActorOut(Out):
    id: str
    kind: ActorKindName
    force: ForceName | None
    place: str | None
    name_latin: str
    name_cyrillic: str
    aliases: list[str]
    transliterations: list[str]
    details: str
    photos: list[str]
    posts: list[PostOut]


class ActorSummary(Out):
    id: str
    kind: ActorKindName
    force: ForceName | None
    name: str


class ActorList(Out):
    actors: list[ActorSummary]


class InvolvementIn(_In):
    actor: str = Field(max_length=32)
    role: RoleName
    status: StatusName = "alleged"
    reason: str = Field(default="", max_length=5000,
                        description="Why the link has this status (needed beyond alleged)")
    citations: list[CitationIn] = Field(default_factory=list, max_length=50)


class StatusIn(_In):
    status: StatusName
    reason: str = Field(max_length=5000)
    citations: list[CitationIn] = Field(default_factory=list, max_length=50)


class TranslationOut(Out):
    id: str
    language: str
    translator: str
    date: str
    text: str


class CitationOut(Out):
    id: str
    item: str
    time_start: float | None
    time_end: float | None
    page: int | None
    excerpt: str
    translations: list[TranslationOut]


class ChangeOut(Out):
    old: StatusName | None
    new: StatusName
    by: str
    at: str
    reason: str


class InvolvementOut(Out):
    id: str
    incident: str
    actor: str
    actor_name: str
    actor_kind: ActorKindName
    role: RoleName
    status: StatusName
    uncited: bool = Field(description="No citation: shown as alleged (uncited) everywhere")
    citations: list[CitationOut]
    changes: list[ChangeOut]


class InvolvementList(Out):
    involvements: list[InvolvementOut]


class TranslationIn(_In):
    language: str = Field(max_length=16, description="BCP 47, e.g. en, ru, kk")
    text: str = Field(max_length=20000)


class ChainLinkOut(Out):
    unit: str
    level: int
    commander: str
    post: str
    start: str | None
    end: str | None
    decision: Literal["confirmed", "rejected"] | None
    evidence: list[str] = Field(description="Evidence item ids cited for the post")


class ChainOut(Out):
    incident: str
    links: list[ChainLinkOut]


class ChainReviewIn(_In):
    post: str = Field(max_length=32)
    decision: Literal["confirmed", "rejected"]
    reason: str = Field(default="", max_length=5000)


class DossierIn(_In):
    actor: str = Field(max_length=32)
