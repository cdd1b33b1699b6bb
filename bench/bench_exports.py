"""Benchmark the researchers' export generators: time and peak memory for N incidents.

    .venv/bin/python bench/bench_exports.py --count 100000

For each format (CSV, JSON, GeoJSON) prints the wall-clock time of streaming N synthetic
`PublicIncident`s to a file (best of --repeat), rows per second, output size, and the peak
of Python allocations while streaming (tracemalloc, in a separate run because tracing slows
it down). Incidents are made lazily, one at a time, as rows from a database cursor would be,
so a flat peak shows the export never holds its output. The time to make the incidents
alone is printed too, so it can be subtracted.

Later (issue 6) this is to read 100,000 incidents from PostgreSQL and compare with
`psql \\copy` of the same columns; for now it measures the generator side.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidents.services.gazetteer import load_gazetteer  # noqa: E402
from incidents.services.research.exports import EXPORTS  # noqa: E402
from incidents.services.research.public import (
    LocationPrecision,
    PublicIncident,
    Verification,
    locate,
)
from incidents.services.taxonomy import load_taxonomy  # noqa: E402

MiB = 1024 * 1024
START = datetime(2022, 1, 2, tzinfo=UTC)
ZONE = "Asia/Almaty"


def synthetic(count: int) -> Iterator[PublicIncident]:
    """`count` varied incidents over 2-20 January 2022, made one at a time."""
    gazetteer = load_gazetteer()
    towns = [p for p in gazetteer.places if p.kind != "region"]
    precisions = list(LocationPrecision)
    taxonomy = load_taxonomy()
    categories = [c.id for c in taxonomy.categories]
    tags = {c.id: [t.id for t in c.tags] for c in taxonomy.categories}
    levels = list(Verification)
    for i in range(count):
        town = towns[i % len(towns)]
        precision = precisions[i % len(precisions)]
        category = categories[i % len(categories)]
        start = START + timedelta(seconds=(i * 1613) % (19 * 86400))
        yield PublicIncident(
            id=f"KZ22-{i:07d}",
            title=f"Synthetic incident {i} in {town.names['en']} (benchmark data)",
            summary=("A reviewer's excerpt, \"quoted\", with a comma and, rarely, =1+1."
                     if i % 5 == 0 else None),
            start_utc=start,
            end_utc=start + timedelta(hours=2) if i % 3 == 0 else None,
            time_precision=("exact", "approximate", "unknown")[i % 3],
            place=locate(gazetteer, town.id, precision,
                         (town.lat + 0.01234, town.lon - 0.0321)),
            categories=(category,),
            tags=tuple(tags[category][: i % 3]),
            injured=i % 9, detained=i % 23, killed=None if i % 4 else i % 3,
            verification=levels[i % len(levels)],
            has_photo=i % 2 == 0, has_video=i % 3 == 0,
            published_at=START + timedelta(days=60, seconds=i),
        )


def stream_to(path: Path, kind: str, count: int) -> tuple[float, int]:
    """Seconds to stream `count` incidents as `kind` into `path`, and bytes written."""
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as out:
        for chunk in EXPORTS[kind](synthetic(count), ZONE):
            out.write(chunk)
    return time.perf_counter() - started, path.stat().st_size


def peak_while_streaming(kind: str, count: int) -> int:
    """Peak bytes of Python allocations while streaming (output counted, not kept)."""
    tracemalloc.start()
    try:
        size = 0
        for chunk in EXPORTS[kind](synthetic(count), ZONE):
            size += len(chunk)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--format", choices=sorted(EXPORTS), action="append")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="skip the (slow) allocation-peak runs")
    args = parser.parse_args()
    kinds = args.format or ["csv", "json", "geojson"]

    started = time.perf_counter()
    made = sum(1 for _ in synthetic(args.count))
    making = time.perf_counter() - started
    print(f"{made} incidents, made alone in {making:.2f} s "
          f"({made / making:,.0f}/s; included in the times below)")
    print(f"{'format':8} {'best s':>8} {'rows/s':>10} {'MiB out':>8} {'peak MiB':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp:
        for kind in kinds:
            path = Path(tmp) / f"out.{kind}"
            runs = [stream_to(path, kind, args.count) for _ in range(args.repeat)]
            best = min(seconds for seconds, _ in runs)
            size = runs[0][1]
            os.unlink(path)
            peak = ("-" if args.no_tracemalloc
                    else f"{peak_while_streaming(kind, args.count) / MiB:.2f}")
            print(f"{kind:8} {best:8.2f} {args.count / best:10,.0f} {size / MiB:8.1f} {peak:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
