"""The incident taxonomy (`config/taxonomy.json`): categories and their sub-tags, data not code."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from incidents.core.errors import N_, InvalidInput
from incidents.core.settings import CONFIG_DIR

TAXONOMY_FILE = CONFIG_DIR / "taxonomy.json"


@dataclass(frozen=True)
class Tag:
    id: str
    category: str
    labels: dict[str, str]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or self.id


@dataclass(frozen=True)
class Category:
    id: str
    labels: dict[str, str]
    tags: tuple[Tag, ...]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("en") or self.id


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def tag(self, tag_id: str) -> Tag | None:
        return next((t for c in self.categories for t in c.tags if t.id == tag_id), None)

    def label(self, some_id: str, language: str) -> str:
        """The label of a category or tag id in `language` (the id itself if unknown)."""
        found: Category | Tag | None = self.category(some_id) or self.tag(some_id)
        return found.label(language) if found else some_id

    def check(self, categories: Any, tags: Any) -> tuple[list[str], list[str]]:
        """Validate chosen ids; a tag brings its category along. Unknown ids are a 400."""
        cats = _id_list(categories, "categories")
        tag_ids = _id_list(tags, "tags")
        for cid in cats:
            if self.category(cid) is None:
                raise InvalidInput(N_("Unknown category."), field="categories")
        for tid in tag_ids:
            tag = self.tag(tid)
            if tag is None:
                raise InvalidInput(N_("Unknown tag."), field="tags")
            if tag.category not in cats:
                cats.append(tag.category)
        order = [c.id for c in self.categories]
        return sorted(cats, key=order.index), tag_ids


def _id_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(N_("The field %(name)s must be a list of strings."), field=name,
                           name=name)
    if len(value) > 100:
        raise InvalidInput(N_("The field %(name)s has too many entries."), field=name,
                           name=name)
    return list(dict.fromkeys(value))


def parse_taxonomy(data: dict[str, Any]) -> Taxonomy:
    categories = []
    for raw in data["categories"]:
        tags = tuple(Tag(t["id"], raw["id"], dict(t["labels"])) for t in raw.get("tags", ()))
        categories.append(Category(raw["id"], dict(raw["labels"]), tags))
    return Taxonomy(tuple(categories))


@lru_cache(maxsize=4)
def load_taxonomy(path: Path = TAXONOMY_FILE) -> Taxonomy:
    """The taxonomy file, read once per process."""
    with path.open(encoding="utf-8") as handle:
        return parse_taxonomy(json.load(handle))


def labels(ids: Iterable[str], language: str, taxonomy: Taxonomy | None = None) -> list[str]:
    tax = taxonomy or load_taxonomy()
    return [tax.label(i, language) for i in ids]
