"""Custody ledger benchmarks: appends per second, and `verify` against bare hashing.

    .venv/bin/python bench/bench_ledger.py [--pg postgresql+psycopg://…] [--events 1000000]

Appends go through `custody.append` (single-event transactions, and 100 per transaction).
For verify, N events are generated with the real encoding and bulk-inserted, then
`custody.verify` runs; the baseline hashes the same canonical bytes with hashlib in a
tight loop (SHA-256(canonical ‖ prev), the chain alone).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.db import Base, begin_write, make_engine
from incidents.models import CustodyEvent, LedgerHead
from incidents.services import custody
from incidents.settings import Settings
from storage.crypto.keys import init_key_directory, load_key_ring


def fresh(url: str) -> sa.Engine:
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return engine


def appends(url: str, count: int, per_tx: int) -> float:
    engine = fresh(url)
    start = time.perf_counter()
    done = 0
    with Session(engine) as session:
        while done < count:
            begin_write(session)
            for _ in range(per_tx):
                custody.append(session, actor="a" * 32, action="viewed",
                               subject="blob:" + "0" * 32, details={"n": done})
                done += 1
            session.commit()
    rate = count / (time.perf_counter() - start)
    engine.dispose()
    return rate


def generate(engine: sa.Engine, n: int) -> list[bytes]:
    prev = custody.GENESIS_HASH
    canon: list[bytes] = []
    rows = []
    time_ = "2026-01-05T07:30:00.123456Z"
    with engine.begin() as conn:
        for seq in range(n):
            details = f'{{"n":{seq},"part_of":"submission:{seq // 7}"}}'
            c = custody.canonical_event(seq, time_, "a" * 32, "viewed", "blob:" + "0" * 32,
                                        None, details)
            h = hashlib.sha256(c + prev).digest()
            canon.append(c)
            rows.append({"seq": seq, "time": time_, "actor": "a" * 32, "action": "viewed",
                         "subject": "blob:" + "0" * 32, "commitment": None,
                         "details": details, "prev_hash": prev, "hash": h})
            prev = h
            if len(rows) == 50_000:
                conn.execute(sa.insert(CustodyEvent), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(CustodyEvent), rows)
        conn.execute(sa.insert(LedgerHead).values(id=1, size=n, hash=prev))
    return canon


def verify_vs_hashlib(url: str, n: int) -> tuple[float, float]:
    engine = fresh(url)
    canon = generate(engine, n)
    start = time.perf_counter()
    prev = custody.GENESIS_HASH
    sha = hashlib.sha256
    for c in canon:
        prev = sha(c + prev).digest()
    baseline = time.perf_counter() - start
    instance = Path(tempfile.mkdtemp())
    init_key_directory(instance / "keys")
    ring = load_key_ring(instance / "keys")
    settings = Settings.load(instance_path=instance, environ={}, database_url=url)
    with Session(engine) as session:
        custody.checkpoint(session, ring, settings)
        start = time.perf_counter()
        report = custody.verify(session, ring, settings)
        took = time.perf_counter() - start
    assert report.ok, report.problems
    engine.dispose()
    return baseline, took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="", help="PostgreSQL URL of a scratch database")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=5000)
    args = parser.parse_args()
    targets = [("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")]
    if args.pg:
        targets.append(("PostgreSQL", args.pg))
    for name, url in targets:
        single = appends(url, args.appends // 5, 1)
        batched = appends(url, args.appends, 100)
        print(f"{name}: {single:,.0f} appends/s one per transaction, "
              f"{batched:,.0f} appends/s 100 per transaction")
    for name, url in targets:
        baseline, took = verify_vs_hashlib(url, args.events)
        print(f"{name}: verify {args.events:,} events {took:.2f} s; hashlib chain alone "
              f"{baseline:.2f} s; ratio {took / baseline:.2f}x")


if __name__ == "__main__":
    main()
