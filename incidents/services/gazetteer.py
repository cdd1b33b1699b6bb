"""The gazetteer of Kazakh regions and towns (`config/gazetteer.json`), in three languages."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from incidents.core.settings import CONFIG_DIR

GAZETTEER_FILE = CONFIG_DIR / "gazetteer.json"
PREFER_NOT_TO_SAY = "prefer_not_to_say"
# When one name fits several entries (the town and the city district of Almaty), prefer the
# most precise.
KIND_ORDER = {"town": 0, "city": 1, "region": 2}


@dataclass(frozen=True)
class Place:
    id: str
    kind: str
    region: str
    names: dict[str, str]
    lat: float
    lon: float

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names.get("en") or self.id


def normalise(text: str) -> str:
    """Case- and form-insensitive key for matching typed names (NFKC, casefolded, spaces)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _keys(place: Place) -> set[str]:
    keys = {normalise(place.id)}
    for name in place.names.values():
        keys.add(normalise(name))
        # "Astana (Nur-Sultan)": each part alone is a name too.
        for part in re.split(r"[()]", name):
            if part.strip():
                keys.add(normalise(part))
    return keys


class Gazetteer:
    def __init__(self, places: list[Place]) -> None:
        self.places = tuple(places)
        self._by_id = {p.id: p for p in places}
        self._by_name: dict[str, Place] = {}
        for place in sorted(places, key=lambda p: KIND_ORDER.get(p.kind, 9)):
            for key in _keys(place):
                self._by_name.setdefault(key, place)

    def get(self, place_id: str | None) -> Place | None:
        return self._by_id.get(place_id) if place_id else None

    def resolve(self, text: str) -> Place | None:
        """A place by id, or by its name in any of the three languages."""
        return self._by_id.get(text) or self._by_name.get(normalise(text))

    def choices(self, language: str) -> list[Place]:
        """Every place, towns and cities before regions, sorted by name in `language`."""
        return sorted(self.places, key=lambda p: (KIND_ORDER.get(p.kind, 9) > 1,
                                                  normalise(p.name(language))))


def parse_gazetteer(data: dict[str, Any]) -> Gazetteer:
    return Gazetteer([
        Place(p["id"], p["kind"], p["region"], dict(p["names"]), float(p["lat"]), float(p["lon"]))
        for p in data["places"]
    ])


@lru_cache(maxsize=4)
def load_gazetteer(path: Path = GAZETTEER_FILE) -> Gazetteer:
    """The gazetteer file, read once per process."""
    with path.open(encoding="utf-8") as handle:
        return parse_gazetteer(json.load(handle))
