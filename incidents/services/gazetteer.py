"""The gazetteer of Kazakh regions and towns (`config/gazetteer.json`), in three languages."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
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


# The Kazakh alphabet's order (Cyrillic, 2018 standard usage): the extra letters sit after
# their base letters, not after я as code points would put them.
KAZAKH_ORDER = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
_KAZAKH_RANK = {letter: index for index, letter in enumerate(KAZAKH_ORDER)}


def collation_key(text: str, language: str) -> tuple[tuple[int, str], ...]:
    """A sort key by the language's alphabet (Kazakh letters in Kazakh order)."""
    folded = normalise(text)
    if language != "kk":
        return tuple((0, ch) for ch in folded)
    return tuple((_KAZAKH_RANK[ch], "") if ch in _KAZAKH_RANK else (len(_KAZAKH_RANK), ch)
                 for ch in folded)


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

        # Almaty, Astana and Shymkent are cities with the status of a region (kind "city") and
        # also towns: one place with two ids. Lists and the map show it once, as the town.
        self._town_of_city = {
            town.region: town for town in places
            if town.kind == "town" and (city := self._by_id.get(town.region)) is not None
            and city.kind == "city" and (town.lat, town.lon) == (city.lat, city.lon)}

    def same_place(self, place: Place) -> Place:
        """The one entry shown for ``place``: a region-status city is shown as its town."""
        return self._town_of_city.get(place.id, place) if place.kind == "city" else place

    def same_place_ids(self, ids: Iterable[str]) -> tuple[str, ...]:
        """`ids` with every other id of the same place (Almaty's town and its region-status
        city): what a filter on one must match, since reports may carry either."""
        wanted = {self.same_place(p).id for i in ids if (p := self._by_id.get(i)) is not None}
        found = [p.id for p in self.places if self.same_place(p).id in wanted]
        return tuple(dict.fromkeys([*ids, *found]))

    def listed(self) -> list[Place]:
        """Every place once (no city twice): what pickers and filters offer."""
        return [p for p in self.places if self.same_place(p) is p]

    def get(self, place_id: str | None) -> Place | None:
        return self._by_id.get(place_id) if place_id else None

    def resolve(self, text: str) -> Place | None:
        """A place by id, or by its name in any of the three languages."""
        return self._by_id.get(text) or self._by_name.get(normalise(text))

    def choices(self, language: str) -> list[Place]:
        """Every place once, towns and cities before regions, sorted by name in `language`."""
        return sorted(self.listed(), key=lambda p: (KIND_ORDER.get(p.kind, 9) > 1,
                                                    collation_key(p.name(language), language)))


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
