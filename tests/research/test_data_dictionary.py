"""docs/data-dictionary.md explains every export column and every category and tag id."""

from __future__ import annotations

import pytest

from incidents.core.settings import PROJECT_ROOT
from incidents.services.research.exports import COLUMNS
from incidents.services.taxonomy import load_taxonomy

DICTIONARY = (PROJECT_ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
TAXONOMY_IDS = [c.id for c in load_taxonomy().categories] + [
    t.id for c in load_taxonomy().categories for t in c.tags]


@pytest.mark.parametrize("column", COLUMNS)
def test_every_export_column_has_a_row_in_the_dictionary(column: str) -> None:
    assert f"| `{column}` |" in DICTIONARY


@pytest.mark.parametrize("some_id", TAXONOMY_IDS)
def test_every_category_and_tag_is_explained(some_id: str) -> None:
    assert f"`{some_id}`" in DICTIONARY
