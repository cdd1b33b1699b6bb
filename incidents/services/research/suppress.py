"""Small-count suppression for aggregate tables, so that rare combinations single no one out.

A cell counting fewer than `threshold` incidents (default 3) but more than none is shown as
"<3", never as its number. Zero is shown: an empty combination describes no one. When a
table also shows totals, hiding one cell of a line is not enough (total minus the others
gives it back), so `suppress_table` also hides the smallest other cell of that line, or the
total if there is none (secondary suppression, as statistical offices do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_THRESHOLD = 3


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell as shown: `count` is None when hidden, `text` is what to print."""

    count: int | None
    text: str

    @property
    def suppressed(self) -> bool:
        return self.count is None


def hidden_text(threshold: int = DEFAULT_THRESHOLD) -> str:
    return f"<{threshold}"


def is_small(count: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """True when `count` must not be shown (0 < count < threshold)."""
    return 0 < count < threshold


def suppress(count: int, threshold: int = DEFAULT_THRESHOLD) -> Cell:
    """One cell on its own (no totals to protect)."""
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    if is_small(count, threshold):
        return Cell(None, hidden_text(threshold))
    return Cell(count, str(count))


@dataclass(frozen=True, slots=True)
class Table:
    """A suppressed table: `rows[i][j]`, and when asked for, row and column totals."""

    rows: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Cell, ...] | None = None
    column_totals: tuple[Cell, ...] | None = None


def _protect_line(values: list[int], hidden: list[bool], total_hidden: bool) -> tuple[bool, bool]:
    """Hide one more cell (or the total) if exactly one non-zero cell of a line is hidden.

    Returns (changed, total_hidden)."""
    if total_hidden or sum(hidden) != 1:
        return False, total_hidden
    candidates = [i for i, v in enumerate(values) if v > 0 and not hidden[i]]
    if not candidates:
        return False, True
    hidden[min(candidates, key=lambda i: values[i])] = True
    return True, total_hidden


def suppress_table(counts: Sequence[Sequence[int]], threshold: int = DEFAULT_THRESHOLD, *,
                   totals: bool = False) -> Table:
    """Suppress a matrix of counts; with `totals`, also protect cells from subtraction."""
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    values = [list(row) for row in counts]
    width = len(values[0]) if values else 0
    if any(len(row) != width for row in values):
        raise ValueError("rows of unequal length")
    hidden = [[is_small(v, threshold) for v in row] for row in values]
    row_sums = [sum(row) for row in values]
    col_sums = [sum(row[j] for row in values) for j in range(width)]
    row_total_hidden = [is_small(s, threshold) for s in row_sums]
    col_total_hidden = [is_small(s, threshold) for s in col_sums]
    changed = totals
    while changed:  # each pass hides at least one more cell or total, so this ends
        changed = False
        for i, row in enumerate(values):
            more, row_total_hidden[i] = _protect_line(row, hidden[i], row_total_hidden[i])
            changed |= more
        for j in range(width):
            column = [row[j] for row in values]
            column_hidden = [h[j] for h in hidden]
            more, col_total_hidden[j] = _protect_line(column, column_hidden, col_total_hidden[j])
            for i, h in enumerate(column_hidden):
                hidden[i][j] = h
            changed |= more

    def cell(value: int, is_hidden: bool) -> Cell:
        return Cell(None, hidden_text(threshold)) if is_hidden else Cell(value, str(value))

    rows = tuple(tuple(cell(v, h) for v, h in zip(row, hid, strict=True))
                 for row, hid in zip(values, hidden, strict=True))
    if not totals:
        return Table(rows)
    return Table(
        rows,
        tuple(cell(s, h) for s, h in zip(row_sums, row_total_hidden, strict=True)),
        tuple(cell(s, h) for s, h in zip(col_sums, col_total_hidden, strict=True)),
    )
