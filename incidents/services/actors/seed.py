"""Reference units and facilities from config/actors.json, stored as actors like any other.

Seeding runs once per entry (`Actor.seed_id`); each seeded actor is sealed and has its
custody events (actor "created" by the operator, posts for the hierarchy), and each keeps
its public sources in its details, as the taxonomy keeps its HURIDOCS references.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.database import begin_write, unit_of_work
from incidents.models import Actor, ActorKind, ForceKind, PostKind
from incidents.services.actors import registry
from incidents.services.actors.registry import ActorInput, PostInput
from storage.blobstore import BlobStore

SEED_FILE = Path(__file__).resolve().parents[3] / "config" / "actors.json"


@lru_cache(maxsize=4)
def load_seed(path: Path = SEED_FILE) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


@dataclass(frozen=True)
class Seeded:
    created: int
    existing: int


def _details(entry: dict[str, Any], sources: dict[str, str]) -> dict[str, Any]:
    names = entry["names"]
    cited = [sources[s] for s in entry.get("sources", [])]
    return {"name_latin": names["en"], "name_cyrillic": names["ru"],
            "aliases": [names["kk"], *entry.get("aliases", [])], "transliterations": [],
            "details": "Reference data (config/actors.json). Sources: " + "; ".join(cited)}


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def seed(session: Session, store: BlobStore, path: Path = SEED_FILE) -> Seeded:
    """Create the seeded units (parents first) and facilities that do not exist yet."""
    data = load_seed(path)
    sources: dict[str, str] = data["sources"]
    have = {a.seed_id: a for a in session.scalars(select(Actor).where(
        Actor.seed_id.is_not(None)))}
    session.rollback()
    created = existing = 0
    pending = [(ActorKind.UNIT, u) for u in data["units"]] + [
        (ActorKind.FACILITY, f) for f in data["facilities"]]
    for kind, entry in pending:
        if entry["id"] in have:
            existing += 1
            continue
        posts = []
        if kind is ActorKind.UNIT and entry.get("parent"):
            posts.append(PostInput(kind=PostKind.PART_OF,
                                   target=have[entry["parent"]].public_id,
                                   start=_day(entry.get("from")), end=_day(entry.get("to")),
                                   rank="", position=""))
        actor = registry.create(session, store, None, ActorInput(
            kind=kind, details=_details(entry, sources),
            force=ForceKind(entry["force"]) if entry.get("force") else None,
            place_id=entry.get("place"), posts=posts), seed_id=entry["id"])
        have[entry["id"]] = actor
        created += 1
        if kind is ActorKind.FACILITY and entry.get("unit"):
            with unit_of_work(session):
                begin_write(session)
                registry.add_post_to(session, store, None, have[entry["unit"]], PostInput(
                    kind=PostKind.OPERATES, target=actor.public_id, start=None, end=None,
                    rank="", position=""))
    return Seeded(created=created, existing=existing)
