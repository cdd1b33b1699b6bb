"""A real bundle: blobs stored through the evidence store, events in the real ledger, a
checkpoint signed with the instance's key; then unzipped, to be checked by real tools."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from incidents.core.database import begin_write
from incidents.core.settings import Settings
from incidents.models import BlobRecord
from incidents.services import checkpoints, custody
from incidents.services.bundles.builder import (
    BundleCustody,
    BundleItem,
    BundleManifest,
    build_bundle,
    payload_manifest,
)
from incidents.services.bundles.sources import custody_for
from incidents.services.evidence import blobs
from storage.agent.client import AgentProvider
from storage.blobstore import BlobStore
from storage.crypto.keys import KeyProvider
from storage.crypto.note import public_key_from_pem, verifier_key

CREATED = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
WITNESS = "w" * 32
LAWYER = "l" * 32
# A JPEG-ish photo of a few chunks, a short text, an empty file: edge sizes included.
CONTENT = {
    "ev-photo01": (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 5000, ".jpg"),
    "ev-text02": ("Они стреляли в толпу у акимата.\n".encode(), ".txt"),
    "ev-empty03": (b"", ".bin"),
}


def _python_for_verify() -> str:
    """The system python3 if it has `cryptography` (proves verify.py needs nothing else)."""
    system = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    for candidate in (system, shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-I", "-c", "import cryptography"],
                                        capture_output=True).returncode == 0:
            return candidate
    return sys.executable


PYTHON = _python_for_verify()


@dataclass
class Exported:
    zip_path: Path
    bag: Path
    manifest: BundleManifest
    verifier_key: str
    server_pem: bytes = b""


@pytest.fixture
def evidence(session: Session, store: BlobStore) -> dict[str, blobs.Ingested]:
    """Each item stored as a blob ("stored" event) and received ("received" event)."""
    stored = {}
    for item_id, (data, _ext) in CONTENT.items():
        with blobs.unit_of_work(session):
            ingested = blobs.ingest(session, store, io.BytesIO(data), actor=WITNESS,
                                    subject="submission:sub-1", max_size=10 * 1024 * 1024)
            custody.append(session, actor=WITNESS, action="received",
                           subject=f"evidence:{item_id}", commitment=ingested.commitment,
                           details={"submission": "sub-1", "blob": ingested.record.id})
        stored[item_id] = ingested
    begin_write(session)
    custody.append(session, actor=LAWYER, action="annotated", subject="evidence:ev-photo01",
                   details={"note": "тест"})
    session.commit()
    return stored


@pytest.fixture
def make_items(session: Session, store: BlobStore, evidence: dict[str, blobs.Ingested]
               ) -> Callable[[], list[BundleItem]]:
    def make() -> list[BundleItem]:
        items = []
        for item_id, ingested in evidence.items():
            record = session.get(BlobRecord, ingested.record.id)

            def opener(record: BlobRecord | None = record):  # type: ignore[no-untyped-def]
                return blobs.open_for_reading(session, store, record, actor=LAWYER,
                                              action="downloaded")

            items.append(BundleItem(
                item_id=item_id, filename=f"{item_id}{CONTENT[item_id][1]}",
                size=ingested.size, sha256=ingested.sha256, salt=ingested.salt.hex(),
                metadata={"kind": "file", "witness": "witness-1", "category": "violence",
                          "place": "Алматы"},
                open=opener))
        return items
    return make


def subjects_for(evidence: dict[str, blobs.Ingested]) -> dict[str, list[str]]:
    return {item_id: [f"evidence:{item_id}", f"blob:{ing.record.id}"]
            for item_id, ing in evidence.items()}


def bundle_custody_for(session: Session, keys: KeyProvider, settings: Settings,
                       evidence: dict[str, blobs.Ingested], items: list[BundleItem],
                       name: str) -> BundleCustody:
    """The custody part with its statement, as services.bundles.prepare makes it."""
    manifest = hashlib.sha256(payload_manifest(items).encode()).hexdigest()
    return custody_for(session, keys, settings, subjects_for(evidence), bundle_id=name,
                       payload_manifest_sha256=manifest, actor=LAWYER,
                       withheld=["ev-nocons04"])


@pytest.fixture
def export(settings: Settings, session: Session, keys: AgentProvider, tmp_path: Path,
           evidence: dict[str, blobs.Ingested], make_items: Callable[[], list[BundleItem]]
           ) -> Callable[[str], Exported]:
    def run(name: str = "bundle-1") -> Exported:
        items = make_items()
        bundle_custody = bundle_custody_for(session, keys, settings, evidence, items, name)
        zip_path = tmp_path / f"{name}.zip"
        with zip_path.open("wb") as out:
            manifest = build_bundle(out, items=items, custody=bundle_custody,
                                    bundle_id=name, created_at=CREATED,
                                    withheld=[{"item": "ev-nocons04",
                                               "reason": "no consent to legal use"}],
                                    organization="Test Organisation")
        target = tmp_path / f"{name}-unzipped"
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(target)
        return Exported(zip_path, target / name, manifest, bundle_custody.verifier_key,
                        bundle_custody.public_key_pem)
    return run


@pytest.fixture
def bundle(export: Callable[[str], Exported]) -> Exported:
    return export("bundle-1")


def run_verify(target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python3 verify.py` as a recipient runs it: the bag's own copy, isolated mode."""
    script = target / "verify.py" if target.is_dir() else None
    if script is None:
        with zipfile.ZipFile(target) as zf:
            name = next(n for n in zf.namelist() if n.endswith("/verify.py"))
            script = target.with_suffix(".verify.py")
            script.write_bytes(zf.read(name))
    return subprocess.run([PYTHON, "-I", str(script), str(target), *args],
                          capture_output=True, text=True, cwd=target.parent, timeout=120)


def rewrite_manifests(bag: Path) -> None:
    """What a careful forger does after changing a file: recompute every manifest."""
    for algorithm in ("sha256", "sha512"):
        lines = []
        for path in sorted(p for p in (bag / "data").rglob("*") if p.is_file()):
            digest = hashlib.new(algorithm, path.read_bytes()).hexdigest()
            lines.append(f"{digest}  {path.relative_to(bag).as_posix()}\n")
        (bag / f"manifest-{algorithm}.txt").write_text("".join(lines))
    rewrite_tag_manifests(bag)


def rewrite_tag_manifests(bag: Path) -> None:
    for algorithm in ("sha256", "sha512"):
        lines = []
        for path in sorted(p for p in bag.rglob("*") if p.is_file()):
            rel = path.relative_to(bag).as_posix()
            if rel.startswith("data/") or rel.startswith("tagmanifest-"):
                continue
            lines.append(f"{hashlib.new(algorithm, path.read_bytes()).hexdigest()}  {rel}\n")
        (bag / f"tagmanifest-{algorithm}.txt").write_text("".join(lines))


def read_events(bag: Path) -> list[dict]:
    return [json.loads(line) for line in (bag / "custody/events.jsonl").read_text().splitlines()]


def receipt_at(session, settings, keys, checkpoint, tmp_path: Path,
                note: str | None = None, with_events: bool = True) -> Path:
    """A receipt as the server gives it: one event, its proof, the checkpoint, the key."""
    event = custody.events_for(session, "evidence:ev-photo01")[0]
    proof = checkpoints.inclusion_proof(session, event.seq, checkpoint)
    session.rollback()
    receipt = {
        "format": "incidents-receipt/v1",
        "events": [{**custody.event_json(event),
                    "inclusion_proof": [h.hex() for h in proof.hashes]}] if with_events else [],
        "checkpoint": {"size": checkpoint.size, "root": checkpoint.root.hex(),
                       "note": note or checkpoint.note,
                       "verifier_key": verifier_key(settings.custody_origin,
                                                    keys.signing_key().public_key())},
    }
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    return path


def server_key(app) -> str:  # type: ignore[no-untyped-def]
    """The verifier key a recipient obtains from the server (not from the bundle)."""
    keys, settings = app.extensions["keys"], app.extensions["settings"]
    return verifier_key(settings.custody_origin,
                        public_key_from_pem(keys.signing_public_key_pem()))
