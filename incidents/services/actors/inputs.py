"""What a reviewer sends about actors, posts and citations, checked into typed inputs.

Each failure names its field (400, nothing stored); the checks of single values are
`fields`'. Used by the registry (actors and posts) and involvement links (citations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from incidents.core.errors import N_, InvalidInput
from incidents.models import ActorKind, ForceKind, PostKind
from incidents.services.actors import fields
from incidents.services.gazetteer import load_gazetteer

T = TypeVar("T")


@dataclass(frozen=True)
class ActorInput:
    kind: ActorKind
    details: dict[str, Any]  # what is sealed
    force: ForceKind | None
    place_id: str | None
    photos: list[str] = field(default_factory=list)
    posts: list[PostInput] = field(default_factory=list)


@dataclass(frozen=True)
class CitationInput:
    item: str
    time_start_ms: int | None
    time_end_ms: int | None
    page: int | None
    excerpt: str


@dataclass(frozen=True)
class PostInput:
    kind: PostKind
    target: str
    start: date | None
    end: date | None
    rank: str
    position: str
    citations: list[CitationInput] = field(default_factory=list)


def parse_details(data: Mapping[str, Any]) -> dict[str, Any]:
    details = {
        "name_latin": fields.text(data, "name_latin"),
        "name_cyrillic": fields.text(data, "name_cyrillic"),
        "aliases": fields.texts(data, "aliases"),
        "transliterations": fields.texts(data, "transliterations"),
        "details": fields.text(data, "details", fields.TEXT_MAX, multiline=True),
    }
    if not details["name_latin"] and not details["name_cyrillic"]:
        raise InvalidInput(N_("Give a name in Latin or Cyrillic letters."), field="name_latin")
    return details


def parse_citation(data: Mapping[str, Any]) -> CitationInput:
    start, end = fields.seconds_ms(data, "time_start"), fields.seconds_ms(data, "time_end")
    if start is not None and end is not None and end < start:
        raise InvalidInput(N_("The end of a time range is before its start."),
                           field="time_end")
    return CitationInput(item=fields.public_id(data, "item") or "", time_start_ms=start,
                         time_end_ms=end, page=fields.whole(data, "page", low=1, high=100_000),
                         excerpt=fields.text(data, "excerpt", fields.TEXT_MAX, multiline=True))


def _each(data: Mapping[str, Any], key: str, parse: Callable[[Mapping[str, Any]], T]
          ) -> list[T]:
    """Every object of the list `key`, parsed; an error names its place (`posts[2].end`)."""
    found = []
    for n, each in enumerate(fields.objects(data, key)):
        try:
            found.append(parse(each))
        except InvalidInput as e:
            raise fields.prefixed(e, f"{key}[{n}]") from e
    return found


def parse_citations(data: Mapping[str, Any]) -> list[CitationInput]:
    return _each(data, "citations", parse_citation)


def parse_post(data: Mapping[str, Any]) -> PostInput:
    start, end = fields.date_range(data)
    return PostInput(kind=fields.choice(data, "kind", PostKind),
                     target=fields.public_id(data, "target") or "", start=start, end=end,
                     rank=fields.text(data, "rank"), position=fields.text(data, "position"),
                     citations=parse_citations(data))


def parse_photos(data: Mapping[str, Any]) -> list[str]:
    photos = data.get("photos") or []
    if not isinstance(photos, list) or not all(isinstance(p, str) for p in photos):
        raise fields.bad("photos")
    return list(dict.fromkeys(photos))


def parse_actor(data: Mapping[str, Any]) -> ActorInput:
    kind = fields.choice(data, "kind", ActorKind)
    place = fields.text(data, "place", 64) or None
    if place is not None and load_gazetteer().get(place) is None:
        raise InvalidInput(N_("This place is not in our list."), field="place")
    photos = parse_photos(data)
    posts = _each(data, "posts", parse_post)
    return ActorInput(kind=kind, details=parse_details(data),
                      force=fields.optional_choice(data, "force", ForceKind), place_id=place,
                      photos=photos, posts=posts)
