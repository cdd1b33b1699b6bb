from __future__ import annotations

import hashlib
import io
import os
import secrets
import subprocess
import threading

import pytest
import sqlalchemy as sa

from incidents.core.database import make_engine
from incidents.core.errors import Forbidden, LedgerUnavailable
from incidents.models import BlobRecord, BlobStatus, CustodyEvent, Role
from incidents.services import custody, ledger_verify
from incidents.services.evidence import blobs, integrity
from incidents.services.evidence import keys as key_rotation
from incidents.web.db import get_db
from tests.conftest import POSTGRES_URL
from tests.custody.conftest import ingest_bytes
from tests.helpers import gen_user

DATA = b"testimony: the crowd in Almaty was fired upon at 22:10 " * 50


def _visible_blobs(store):
    return list(store.backend.names())


def test_ingest_stores_an_encrypted_blob_with_a_row_and_a_stored_event(session, store):
    ingested = ingest_bytes(session, store, DATA)
    assert ingested.sha256 == hashlib.sha256(DATA).hexdigest()
    assert ingested.size == len(DATA)
    record = session.get(BlobRecord, ingested.record.id)
    assert record.status == BlobStatus.ACTIVE
    (event,) = custody.events_for(session, f"blob:{record.id}")
    assert event.action == "stored"
    assert event.commitment == custody.commitment(ingested.sha256, ingested.salt)
    assert event.details == {"part_of": "submission:1", "size": len(DATA)}
    assert _visible_blobs(store) == [record.id]


def test_the_database_never_holds_the_bare_plaintext_hash(session, store):
    ingested = ingest_bytes(session, store, DATA)
    assert blobs.unseal_digest(store.keys, ingested.record) == (ingested.sha256, ingested.salt)
    assert ingested.sha256 not in repr(ingested)


def test_reading_commits_a_viewed_event_before_returning_plaintext(app, session, store):
    ingested = ingest_bytes(session, store, DATA)
    reader = blobs.open_for_reading(session, store, ingested.record, actor="r" * 32,
                                    action="downloaded")
    with get_db().new_session() as other:  # committed: visible to another connection
        actions = [e.action for e in custody.events_for(other, f"blob:{ingested.record.id}")]
    assert actions == ["stored", "downloaded"]
    with reader:
        assert reader.read() == DATA


def _read_only_session(settings):
    if POSTGRES_URL:
        engine = sa.create_engine(POSTGRES_URL)

        @sa.event.listens_for(engine, "connect")
        def _ro(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET default_transaction_read_only = on")
            dbapi_connection.commit()
    else:
        path = settings.instance_path / "incidents.sqlite3"
        engine = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return engine, sa.orm.Session(engine, expire_on_commit=False)


def test_nothing_is_served_when_the_ledger_cannot_be_written(session, store, settings):
    ingested = ingest_bytes(session, store, DATA)
    engine, ro = _read_only_session(settings)
    try:
        record = ro.get(BlobRecord, ingested.record.id)
        with pytest.raises(LedgerUnavailable):
            blobs.open_for_reading(ro, store, record, actor="r" * 32)
    finally:
        ro.close()
        engine.dispose()
    session.expire_all()
    blob_id = ingested.record.id
    assert [e.action for e in custody.events_for(session, f"blob:{blob_id}")] == ["stored"]


def _failing_request(session, store) -> None:
    with blobs.unit_of_work(session):
        blobs.ingest(session, store, io.BytesIO(DATA), actor=None, subject="submission:1",
                     max_size=1 << 20)
        assert len(_visible_blobs(store)) == 1
        raise RuntimeError("the rest of the request failed")


def test_an_exception_after_the_blob_write_leaves_no_row_and_no_blob(session, store):
    with pytest.raises(RuntimeError):
        _failing_request(session, store)
    assert _visible_blobs(store) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(BlobRecord)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(CustodyEvent)) == 0


def test_a_session_closed_without_commit_leaves_no_blob(app, store):
    with get_db().new_session() as s:
        blobs.ingest(s, store, io.BytesIO(DATA), actor=None, subject="submission:1",
                     max_size=1 << 20)
    assert _visible_blobs(store) == []


def test_only_admins_remove_evidence_and_the_removal_is_recorded(app, session, store):
    ingested = ingest_bytes(session, store, DATA)
    reviewer, admin = gen_user(Role.REVIEWER), gen_user(Role.ADMIN)
    with pytest.raises(Forbidden):
        blobs.remove(session, store, ingested.record, actor=reviewer, reason="duplicate")
    session.rollback()
    blobs.remove(session, store, ingested.record, actor=admin, reason="consent withdrawn")
    session.commit()
    events = custody.events_for(session, f"blob:{ingested.record.id}")
    assert [e.action for e in events] == ["stored", "removed"]
    assert events[1].actor == admin.public_id
    assert events[1].details == {"reason": "consent withdrawn"}
    assert _visible_blobs(store) == []


def _verify_blobs(session, keys, settings, store):
    def check(report, commitments, progress):
        integrity.verify_blobs(session, store, report, commitments, progress)
    return ledger_verify.verify(session, keys, settings, blobs=check)


def test_verify_blobs_passes_on_untouched_evidence(session, keys, settings, store):
    for n in range(3):
        ingest_bytes(session, store, DATA * (n + 1))
    report = _verify_blobs(session, keys, settings, store)
    assert report.ok, report.problems
    assert report.blobs == 3


def _blob_path(store, blob_id):
    return store.backend.root / blob_id[:2] / blob_id


def test_a_flipped_byte_in_a_blob_file_is_named(session, keys, settings, store):
    ingest_bytes(session, store, DATA)
    bad = ingest_bytes(session, store, DATA + b"2").record.id
    path = _blob_path(store, bad)
    raw = bytearray(path.read_bytes())
    raw[-40] ^= 1
    os.chmod(path, 0o600)
    path.write_bytes(bytes(raw))
    report = _verify_blobs(session, keys, settings, store)
    assert report.first_bad_blob == bad
    assert [p.kind for p in report.problems] == ["blob"]


def test_two_swapped_blob_files_are_named(session, keys, settings, store):
    a = ingest_bytes(session, store, DATA).record.id
    b = ingest_bytes(session, store, DATA[::-1]).record.id
    pa, pb = _blob_path(store, a), _blob_path(store, b)
    da, db = pa.read_bytes(), pb.read_bytes()
    for path, data in ((pa, db), (pb, da)):
        os.chmod(path, 0o600)
        path.write_bytes(data)
    report = _verify_blobs(session, keys, settings, store)
    assert {p.where for p in report.problems} == {f"blob {a}", f"blob {b}"}


def test_a_sealed_data_key_moved_to_another_rows_blob_is_named(session, keys, settings, store):
    a = ingest_bytes(session, store, DATA).record
    b = ingest_bytes(session, store, DATA[::-1]).record
    b.sealed_key = a.sealed_key
    session.commit()
    report = _verify_blobs(session, keys, settings, store)
    assert report.first_bad_blob == b.id
    assert "SealedKeyError" in report.problems[0].message


def test_a_copy_of_database_and_blobs_without_keys_reveals_no_plaintext(session, store, settings,
                                                                       tmp_path):
    secret = b"Witness-7 saw officer " + secrets.token_hex(8).encode() + b" at the akimat"
    ingested = ingest_bytes(session, store, secret * 20)
    digest = ingested.sha256.encode()
    data_key = store.keys.unseal_data_key(ingested.record.key_id, ingested.record.sealed_key,
                                          ingested.record.id)
    if POSTGRES_URL:
        url = sa.make_url(POSTGRES_URL)
        dump = subprocess.run(  # noqa: S603
            ["pg_dump", "-h", url.host or "127.0.0.1", "-U", url.username or "postgres",
             url.database], capture_output=True, check=True).stdout
        database = dump + dump.lower()
    else:
        session.commit()
        get_db().engine.dispose()
        database = b"".join(p.read_bytes() for p in settings.instance_path.glob("incidents*"))
    files = b"".join(p.read_bytes() for p in store.backend.root.rglob("*") if p.is_file())
    for copy in (database, files):
        assert secret[:30] not in copy
        assert digest not in copy
        assert digest.upper() not in copy
        assert bytes.fromhex(ingested.sha256) not in copy
        assert data_key not in copy
        assert data_key.hex().encode() not in copy


def test_key_rotation_reseals_every_blob_and_retires_the_old_key(session, keys, settings, store):
    records = [ingest_bytes(session, store, DATA + bytes([n])).record for n in range(3)]
    old = keys.active_key_id()
    rotation = key_rotation.rotate_keys(session, settings.key_dir, None)
    assert rotation.resealed == 3
    assert rotation.retired == [old]
    assert keys.active_key_id() == rotation.new_key_id  # the app's ring follows
    assert not (settings.key_dir / f"vault-{old}.json").exists()
    for record in records:
        session.refresh(record)
        assert record.key_id == rotation.new_key_id
    assert _verify_blobs(session, keys, settings, store).ok
    assert [e.action for e in session.scalars(sa.select(CustodyEvent)
            .where(CustodyEvent.action.like("key_%")))] == ["key_rotated", "key_retired"]


def test_key_rotation_during_concurrent_ingests_leaves_every_blob_decryptable(
        app, session, keys, settings, store):
    errors = []
    stop = threading.Event()

    def upload(n: int) -> None:
        with app.app_context():
            count = 0
            while not stop.is_set() or count < 3:
                try:
                    with get_db().new_session() as s, blobs.unit_of_work(s):
                        blobs.ingest(s, store, io.BytesIO(DATA + bytes([n, count % 256])),
                                     actor=None, subject=f"submission:{n}", max_size=1 << 20)
                    count += 1
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
                    return

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(2):
            with get_db().new_session() as s:
                key_rotation.rotate_keys(s, settings.key_dir, None)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    session.expire_all()
    report = _verify_blobs(session, keys, settings, store)
    assert report.ok, report.problems
    assert report.blobs >= 9
    # A fresh process (only the key files on disk) can read everything too.
    from incidents.services.evidence.store import KeyRingHolder
    fresh = KeyRingHolder(settings.key_dir, None)
    for record in session.scalars(sa.select(BlobRecord)):
        fresh.unseal_data_key(record.key_id, record.sealed_key, record.id)
