"""Custody ledger benchmarks: appends per second, and `verify` against bare hashing.

    PYTHONPATH=. .venv/bin/python bench/bench_ledger.py [--pg postgresql+psycopg://…] \
        [--events 1000000] [--appends 5000] [--only appends|verify]

Appends go through the real service on the real engine (`incidents.core.database.make_engine`, the
database's default durability: SQLite WAL with synchronous=FULL, PostgreSQL with
synchronous_commit=on), measured three ways:

- one `custody.append` per transaction (each commit waits for its fsync);
- 100 `custody.append` calls per transaction (one unit of work recording many changes);
- `custody.append_many` of 100 events per transaction (one executemany INSERT).

For verify, N events are generated with the real encoding and bulk-inserted, a checkpoint
is signed, then `ledger_verify.verify` runs (chain + RFC 6962 leaves and nodes + checkpoint roots
+ head + state file). The baseline is what issue 3 names: hashing the same canonical bytes
with hashlib in a tight loop, one SHA-256 per event over bytes already in memory; the
chained variant SHA-256(canonical ‖ prev) is printed too.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from incidents.core.database import begin_write, make_engine
from incidents.core.settings import Settings
from incidents.models import CustodyEvent, LedgerHead
from incidents.models.base import Base
from incidents.services import checkpoints, custody, ledger_verify
from storage.crypto.key_directory import init_key_directory, load_key_ring

ACTOR = "a" * 32
SUBJECT = "blob:" + "0" * 32


def fresh(url: str) -> sa.Engine:
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return engine


def appends(url: str, count: int, per_tx: int, *, many: bool = False) -> float:
    """Appends per second; `per_tx` events per transaction (append_many if `many`)."""
    engine = fresh(url)
    with Session(engine) as session:  # create the head outside the timing
        begin_write(session)
        custody.append(session, actor=ACTOR, action="viewed", subject=SUBJECT)
        session.commit()
    start = time.perf_counter()
    done = 0
    with Session(engine) as session:
        while done < count:
            begin_write(session)
            if many:
                custody.append_many(session, [
                    custody.NewEvent(ACTOR, "viewed", SUBJECT, details={"n": done + i})
                    for i in range(per_tx)])
                done += per_tx
            else:
                for _ in range(per_tx):
                    custody.append(session, actor=ACTOR, action="viewed", subject=SUBJECT,
                                   details={"n": done})
                    done += 1
            session.commit()
    rate = done / (time.perf_counter() - start)
    with Session(engine) as session:
        size = session.scalar(sa.select(LedgerHead.size))
        assert size == done + 1, (size, done)
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
            c = custody.canonical_event(seq, time_, ACTOR, "viewed", SUBJECT, None, details)
            h = hashlib.sha256(c + prev).digest()
            canon.append(c)
            rows.append({"seq": seq, "time": time_, "actor": ACTOR, "action": "viewed",
                         "subject": SUBJECT, "commitment": None,
                         "details": details, "prev_hash": prev, "hash": h})
            prev = h
            if len(rows) == 50_000:
                conn.execute(sa.insert(CustodyEvent), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(CustodyEvent), rows)
        conn.execute(sa.insert(LedgerHead).values(id=1, size=n, hash=prev))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE custody_events")
    return canon


def hashlib_baselines(canon: list[bytes]) -> tuple[float, float]:
    """(one SHA-256 per canonical encoding, the chain SHA-256(canonical ‖ prev)), seconds."""
    sha = hashlib.sha256
    start = time.perf_counter()
    for c in canon:
        sha(c).digest()
    plain = time.perf_counter() - start
    start = time.perf_counter()
    prev = custody.GENESIS_HASH
    for c in canon:
        prev = sha(c + prev).digest()
    chained = time.perf_counter() - start
    return plain, chained


def verify_vs_hashlib(url: str, n: int) -> tuple[float, float, float]:
    engine = fresh(url)
    canon = generate(engine, n)
    plain, chained = hashlib_baselines(canon)
    del canon
    instance = Path(tempfile.mkdtemp())
    init_key_directory(instance / "keys")
    ring = load_key_ring(instance / "keys")
    settings = Settings.load(instance_path=instance, environ={}, database_url=url)
    with Session(engine) as session:
        checkpoints.checkpoint(session, ring, settings)
        start = time.perf_counter()
        report = ledger_verify.verify(session, ring, settings)
        took = time.perf_counter() - start
    assert report.ok, report.problems
    assert report.events == n
    engine.dispose()
    return plain, chained, took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="", help="PostgreSQL URL of a scratch database")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=5000)
    parser.add_argument("--only", choices=("appends", "verify"), default=None)
    args = parser.parse_args()
    targets = [("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")]
    if args.pg:
        targets.append(("PostgreSQL", args.pg))
    if args.only != "verify":
        for name, url in targets:
            single = appends(url, args.appends // 5, 1)
            loop = appends(url, args.appends, 100)
            many = appends(url, args.appends, 100, many=True)
            print(f"{name}: {single:,.0f} appends/s one per transaction; "
                  f"{loop:,.0f} appends/s with 100 append() per transaction; "
                  f"{many:,.0f} appends/s with append_many(100) per transaction", flush=True)
    if args.only != "appends":
        for name, url in targets:
            plain, chained, took = verify_vs_hashlib(url, args.events)
            print(f"{name}: verify {args.events:,} events {took:.2f} s; hashlib over the "
                  f"canonical bytes {plain:.2f} s (ratio {took / plain:.2f}x); chained "
                  f"SHA-256(canonical ‖ prev) {chained:.2f} s (ratio {took / chained:.2f}x)",
                  flush=True)


if __name__ == "__main__":
    main()
