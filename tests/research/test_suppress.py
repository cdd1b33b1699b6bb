"""Small counts in aggregate tables are hidden so that rare combinations single no one out."""

from __future__ import annotations

import pytest

from incidents.services.research.suppress import suppress, suppress_table


@pytest.mark.parametrize("count", [1, 2])
def test_counts_below_three_are_shown_as_less_than_three(count: int) -> None:
    cell = suppress(count)
    assert (cell.count, cell.text, cell.suppressed) == (None, "<3", True)


@pytest.mark.parametrize("count", [3, 4, 250])
def test_counts_of_three_or_more_are_shown(count: int) -> None:
    assert suppress(count).text == str(count)


def test_zero_is_shown_because_it_describes_no_one() -> None:
    assert suppress(0).text == "0"


def test_the_threshold_is_configurable() -> None:
    assert suppress(4, threshold=5).text == "<5"
    assert suppress(5, threshold=5).text == "5"


def test_a_table_hides_each_small_cell() -> None:
    table = suppress_table([[5, 1], [0, 7]])
    assert [[c.text for c in row] for row in table.rows] == [["5", "<3"], ["0", "7"]]


def test_with_totals_a_lone_hidden_cell_takes_another_cell_with_it() -> None:
    # Row total 9 and 5 and 3 shown would give the 1 back: the smallest other goes too.
    table = suppress_table([[5, 1, 3]], totals=True)
    assert [c.text for c in table.rows[0]] == ["5", "<3", "<3"]
    assert table.row_totals is not None
    assert table.row_totals[0].text == "9"


def test_with_totals_a_lone_hidden_cell_among_zeros_hides_the_total() -> None:
    table = suppress_table([[0, 2, 0], [4, 4, 4]], totals=True)
    assert table.row_totals is not None
    assert table.row_totals[0].suppressed


def test_no_hidden_cell_can_be_recomputed_from_a_line_and_its_total() -> None:
    table = suppress_table([[1, 4, 6], [3, 2, 8], [9, 9, 1]], totals=True)
    assert table.row_totals is not None
    assert table.column_totals is not None
    lines = [(list(row), total) for row, total in zip(table.rows, table.row_totals,
                                                       strict=True)]
    lines += [([row[j] for row in table.rows], table.column_totals[j]) for j in range(3)]
    for cells, total in lines:
        if not total.suppressed:
            assert sum(c.suppressed for c in cells) != 1
