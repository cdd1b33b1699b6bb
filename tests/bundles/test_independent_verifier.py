"""An independent check: a Go verifier written from docs/formats.md alone
(tests/independent/verify_bundle.go: Go's standard library and golang.org/x/mod/sumdb/note
from Debian's golang-golang-x-mod-dev) accepts a genuine bundle and receipt and rejects
tampered ones. Skipped, with a notice, where Go or that package is absent."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from incidents.services import checkpoints
from storage.crypto.note import sign_checkpoint
from tests.bundles.conftest import Exported, read_events, receipt_at, rewrite_manifests
from tests.helpers import fresh_g

GOCODE = Path("/usr/share/gocode")
SOURCE = Path(__file__).resolve().parent.parent / "independent" / "verify_bundle.go"
GO = shutil.which("go")

pytestmark = pytest.mark.skipif(
    GO is None or not (GOCODE / "src/golang.org/x/mod/sumdb/note").is_dir(),
    reason="NOTICE: the independent Go verifier needs golang-go and "
           "golang-golang-x-mod-dev (apt); not installed here")


@pytest.fixture(scope="module")
def go_verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The verifier built once, offline, against Debian's Go packages (GOPATH mode)."""
    out = tmp_path_factory.mktemp("go") / "verify_bundle"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOCODE), "GOPROXY": "off",
           "GOFLAGS": "", "GOCACHE": str(out.parent / "cache")}
    subprocess.run([GO, "build", "-o", str(out), str(SOURCE)], env=env, check=True,
                   capture_output=True, timeout=600)
    return out


def _run(verifier: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(verifier), *args], capture_output=True, text=True, timeout=120)


def test_go_accepts_a_genuine_bundle_and_receipt(
        go_verifier, client, session, keys, settings, tmp_path, export) -> None:
    older = checkpoints.checkpoint(session, keys, settings)
    receipt = receipt_at(session, settings, keys, older, tmp_path)
    bundle: Exported = export("bundle-go")
    newer = checkpoints.latest_checkpoint(session)
    fresh_g()
    proof = tmp_path / "proof.json"
    proof.write_bytes(client.get(f"/custody/proof/consistency?first={older.size}"
                                 f"&second={newer.size}").data)
    result = _run(go_verifier, str(bundle.bag), bundle.verifier_key, str(receipt), str(proof))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK ")
    assert "3 items, complete" in result.stdout


def test_go_rejects_a_dropped_event_with_manifests_rebuilt(go_verifier, bundle) -> None:
    events = read_events(bundle.bag)
    received = next(e for e in events if e["action"] == "received")
    (bundle.bag / "custody" / "events.jsonl").write_text("".join(
        line + "\n" for line in (bundle.bag / "custody" / "events.jsonl").read_text()
        .splitlines() if f'"seq":{received["seq"]},' not in line))
    rewrite_manifests(bundle.bag)
    result = _run(go_verifier, str(bundle.bag), bundle.verifier_key)
    assert result.returncode == 1
    assert "is missing" in result.stdout


def test_go_rejects_a_forked_receipt(go_verifier, client, session, keys, settings, tmp_path,
                                     export) -> None:
    genuine = checkpoints.checkpoint(session, keys, settings)
    forged = sign_checkpoint(settings.custody_origin, genuine.size, b"\x07" * 32,
                             datetime.now(UTC), keys.signing_key(), settings.custody_origin)
    receipt = receipt_at(session, settings, keys, genuine, tmp_path, note=forged,
                         with_events=False)
    bundle: Exported = export("bundle-go")
    newer = checkpoints.latest_checkpoint(session)
    fresh_g()
    proof = tmp_path / "proof.json"
    proof.write_bytes(client.get(f"/custody/proof/consistency?first={genuine.size}"
                                 f"&second={newer.size}").data)
    result = _run(go_verifier, str(bundle.bag), bundle.verifier_key, str(receipt), str(proof))
    assert result.returncode == 1
    assert "not consistent" in result.stdout
