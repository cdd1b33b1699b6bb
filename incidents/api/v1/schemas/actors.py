"""Actors, involvement links, citations, translations, command chains and dossiers.

One declaration per shape: these models parse the request bodies (extra fields are ignored,
never turned into structure) and give the OpenAPI document its schemas. Semantic checks
(known ids, date order, which roles fit which actors) are the services' and answer 400
naming the field, like a shape error here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incidents.core.errors import N_, InvalidInput

ActorKindName = Literal["person", "unit", "facility"]
ForceName = Literal["police", "national_guard", "knb", "army", "special_forces", "csto",
                    "other"]
PostKindName = Literal["member", "commander", "part_of", "operates"]
RoleName = Literal["direct_perpetrator", "present_unit", "commander", "gave_order",
                   "detention_facility", "official_responsible"]
StatusName = Literal["alleged", "corroborated", "established", "disputed", "rejected"]
Name = Field(default="", max_length=200)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


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


class PostOut(BaseModel):
    id: str
    kind: PostKindName
    actor: str
    target: str
    start: str | None
    end: str | None
    rank: str
    position: str
    citations: list[str]


class ActorOut(BaseModel):
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


class ActorSummary(BaseModel):
    id: str
    kind: ActorKindName
    force: ForceName | None
    name: str


class ActorList(BaseModel):
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


class TranslationOut(BaseModel):
    id: str
    language: str
    translator: str
    date: str
    text: str


class CitationOut(BaseModel):
    id: str
    item: str
    time_start: float | None
    time_end: float | None
    page: int | None
    excerpt: str
    translations: list[TranslationOut]


class ChangeOut(BaseModel):
    old: StatusName | None
    new: StatusName
    by: str
    at: str
    reason: str


class InvolvementOut(BaseModel):
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


class InvolvementList(BaseModel):
    involvements: list[InvolvementOut]


class TranslationIn(_In):
    language: str = Field(max_length=16, description="BCP 47, e.g. en, ru, kk")
    text: str = Field(max_length=20000)


class ChainLinkOut(BaseModel):
    unit: str
    level: int
    commander: str
    post: str
    start: str | None
    end: str | None
    decision: Literal["confirmed", "rejected"] | None
    evidence: list[str] = Field(description="Evidence item ids cited for the post")


class ChainOut(BaseModel):
    incident: str
    links: list[ChainLinkOut]


class ChainReviewIn(_In):
    post: str = Field(max_length=32)
    decision: Literal["confirmed", "rejected"]
    reason: str = Field(default="", max_length=5000)


class DossierIn(_In):
    actor: str = Field(max_length=32)


def parse(model: type[_In], data: Any) -> dict[str, Any]:
    """Validate `data` against `model`; a shape error is InvalidInput naming the field."""
    try:
        return model.model_validate(data).model_dump()
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) if isinstance(p, str) else f"[{p}]"
                         for p in first["loc"]).replace(".[", "[")
        raise InvalidInput(N_("The field %(name)s is not valid."), field=where or None,
                           name=where) from e


def schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema for OpenAPI 3.1 (definitions under components/schemas)."""
    return model.model_json_schema(ref_template="#/components/schemas/{model}")
