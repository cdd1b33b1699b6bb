"""`custody verify` with the state replay against the event-chain-only verify (issue 10).

    PYTHONPATH=. .venv/bin/python bench/bench_state_replay.py \
        [--events 1000000] [--items 100000] [--repeat 3]

A ledger of N events over M items is generated with the real encodings and bulk-inserted
with the rows it describes (one submission, one evidence item and one blob per item):
per item a `stored`, a `received` and a `submitted` event (statement commitment), the
rest `viewed`/`downloaded` events spread over the blobs. A checkpoint is signed, then
`ledger_verify.verify` runs three ways, interleaved, best of `--repeat` rounds:

- today's: the same N events written in format v1 (before this issue), chain only;
- v2 chain only (`state=False`): per-subject links and actor commitments checked too;
- v2 with the state replay (`state=True`, the default of `custody verify`): the replay
  fed during the scan, then every item, blob, submission (statement commitment
  recomputed) and incident row streamed and compared.

The target: the state replay under 2x today's.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.common import bench_keys
from incidents.core.database import make_engine
from incidents.core.settings import Settings
from incidents.models import (
    BlobRecord,
    CustodyEvent,
    EvidenceItem,
    LedgerHead,
    Role,
    Submission,
    User,
)
from incidents.models.base import Base
from incidents.models.submissions import EvidenceKind, SubmissionStatus, TimePrecision
from incidents.services import checkpoints, custody, ledger_verify, state_commitments

TIME = "2026-01-05T07:30:00.123456Z"
WITNESS = "w" * 32
REVIEWER = "r" * 32


def fresh(url: str) -> sa.Engine:
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    return engine


def generate(engine: sa.Engine, events: int, items: int, *, v2: bool) -> None:
    """The rows and the ledger describing them, inserted in batches."""
    when = datetime(2022, 1, 5, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(User).values(id=1, pseudonym="w", pseudonym_key="w",
                                            public_id=WITNESS, role=Role.CONTRIBUTOR,
                                            password_hash="x"))
    prev = custody.GENESIS_HASH
    heads: dict[str, bytes] = {}
    rows: list[dict[str, object]] = []
    seq = 0
    sha = hashlib.sha256

    def add(conn: sa.Connection, actor: str | None, action: str, subject: str,
            commitment: str | None, details: str) -> None:
        nonlocal prev, seq, rows
        if v2:
            link = heads.get(subject, custody.GENESIS_HASH)
            salt = secrets.token_bytes(custody.ACTOR_SALT_LEN) if actor else None
            text = custody.canonical_event(seq, TIME, actor, action, subject, commitment,
                                           details, subject_prev=link, actor_salt=salt)
        else:
            link = salt = None
            text = custody.canonical_event(seq, TIME, actor, action, subject, commitment,
                                           details)
        digest = sha(text + prev).digest()
        rows.append({"seq": seq, "time": TIME, "actor": actor, "action": action,
                     "subject": subject, "commitment": commitment, "details": details,
                     "prev_hash": prev, "hash": digest, "subject_prev": link,
                     "actor_salt": salt})
        heads[subject] = prev = digest
        seq += 1
        if len(rows) == 20_000:
            conn.execute(sa.insert(CustodyEvent), rows)
            rows = []

    blob_ids = [f"{i:032x}" for i in range(items)]
    with engine.begin() as conn:
        for start in range(0, items, 5_000):
            subs, blobs, evs = [], [], []
            for i in range(start, min(items, start + 5_000)):
                pid, item_pid, blob = f"s{i:031d}", f"e{i:031d}", blob_ids[i]
                sub = Submission(public_id=pid, owner_id=1, status=SubmissionStatus.RECEIVED,
                                 occurred_at=when, time_precision=TimePrecision.APPROXIMATE,
                                 date_only=True, place_id="almaty", region="almaty",
                                 place_withheld=False, categories=["excessive_force"],
                                 tags=["live_ammunition"], injured=i % 5, detained=0,
                                 killed=None, consent_legal=True, consent_research=True,
                                 consent_publication=False, consent_contact=True,
                                 has_point=False, sealed_metadata_blob_id=None)
                commitment = state_commitments.commit_statement(sub)
                subs.append({c.key: getattr(sub, c.key) for c in Submission.__table__.columns
                             if c.key != "id"} | {"id": i + 1, "created_at": when})
                blobs.append({"id": blob, "size": 1000, "ciphertext_sha256": "0" * 64,
                              "key_id": "k", "sealed_key": b"k", "digest_key_id": "k",
                              "sealed_digest": b"d", "created_at": when, "status": "active"})
                evs.append({"id": i + 1, "public_id": item_pid, "submission_id": i + 1,
                            "kind": EvidenceKind.FILE, "blob_id": blob, "declared_name": "",
                            "declared_type": "image/jpeg", "size": 1000, "received_at": when})
                add(conn, WITNESS, "stored", f"blob:{blob}", sha(blob.encode()).hexdigest(),
                    f'{{"part_of":"submission:{pid}","size":1000}}')
                add(conn, WITNESS, "received", f"evidence:{item_pid}", None,
                    f'{{"blob":"{blob}","kind":"file","size":1000,"submission":"{pid}"}}')
                add(conn, WITNESS, "submitted", f"submission:{pid}", commitment,
                    f'{{"items":["{item_pid}"]}}')
            conn.execute(sa.insert(BlobRecord), blobs)
            conn.execute(sa.insert(Submission), subs)
            conn.execute(sa.insert(EvidenceItem), evs)
        n = 0
        while seq < events:
            add(conn, REVIEWER, "viewed" if n % 3 else "downloaded",
                f"blob:{blob_ids[(n * 7919) % items]}", None, "{}")
            n += 1
        if rows:
            conn.execute(sa.insert(CustodyEvent), rows)
        conn.execute(sa.insert(LedgerHead).values(id=1, size=seq, hash=prev))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE")


def _signed(url: str, engine: sa.Engine) -> tuple[Session, Any, Settings]:
    """A session, key ring and settings for `engine`, with a checkpoint signed."""
    instance = Path(tempfile.mkdtemp())
    ring = bench_keys(instance / "keys")
    settings = Settings.load(instance_path=instance, environ={}, database_url=url)
    session = Session(engine)
    checkpoints.checkpoint(session, ring, settings)
    return session, ring, settings


def run(name: str, url: str, events: int, items: int, repeat: int) -> None:
    """Both ledgers generated first, then the three verifies interleaved, `repeat` rounds,
    the best time of each kept: on a shared machine a neighbour's burst then hits every
    variant alike instead of one."""
    engines = {}
    for version, path in (("v1", url.replace(".sqlite3", "-v1.sqlite3")), ("v2", url)):
        engines[version] = (path, fresh(path))
        generate(engines[version][1], events, items, v2=version == "v2")
    v1 = _signed(*engines["v1"])
    v2 = _signed(*engines["v2"])
    best = {"today": float("inf"), "chain": float("inf"), "replay": float("inf")}
    rows = 0
    for _round in range(repeat):
        for key, (session, ring, settings), state in (("today", v1, False),
                                                      ("chain", v2, False),
                                                      ("replay", v2, True)):
            start = time.perf_counter()
            report = ledger_verify.verify(session, ring, settings, state=state)
            took = time.perf_counter() - start
            assert report.ok, report.problems[:5]
            best[key] = min(best[key], took)
            rows = max(rows, report.rows)
        print(f"  round {_round + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()),
              flush=True)
    for session, _ring, _settings in (v1, v2):
        session.close()
    print(f"{name}: {events:,} events, {items:,} items, best of {repeat}: today's verify "
          f"(v1 events, chain only) {best['today']:.2f} s; v2 chain only {best['chain']:.2f} s; "
          f"v2 with state replay ({rows:,} rows) {best['replay']:.2f} s = "
          f"x{best['replay'] / best['today']:.2f} of today's, "
          f"x{best['replay'] / best['chain']:.2f} of v2 chain only", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is kept")
    args = parser.parse_args()
    run("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3", args.events, args.items,
        args.repeat)


if __name__ == "__main__":
    main()
