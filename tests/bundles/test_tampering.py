"""verify.py fails, naming the problem, whenever a bundle was changed after export."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from incidents.services.bundles.verify import parse_verifier_key
from storage.crypto.note import sign_note, split_note, verifier_key
from tests.bundles.conftest import (
    Exported,
    read_events,
    rewrite_manifests,
    rewrite_tag_manifests,
    run_verify,
)

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def _failure(bundle: Exported, *args: str) -> str:
    result = run_verify(bundle.bag, "--key", bundle.verifier_key, *args)
    assert result.returncode == 1, result.stdout
    assert "RESULT: FAILED" in result.stdout
    return result.stdout.split("First problem: ", 1)[1]


def _bagit_valid(bag: Path) -> bool:
    result = subprocess.run([str(VENV_BIN / "bagit.py"), "--validate", str(bag)],
                            capture_output=True, text=True)
    return result.returncode == 0


def test_one_changed_payload_byte_is_named(bundle: Exported) -> None:
    photo = bundle.bag / "data" / "originals" / "ev-photo01.jpg"
    data = bytearray(photo.read_bytes())
    data[1000] ^= 0x01
    photo.write_bytes(bytes(data))
    problem = _failure(bundle)
    assert "data/originals/ev-photo01.jpg" in problem
    assert "changed" in problem


def test_an_edited_custody_event_is_named_by_seq(bundle: Exported) -> None:
    events = read_events(bundle.bag)
    events[1]["actor_commitment"] = "0" * 64  # what a v2 event's hash covers
    (bundle.bag / "custody" / "events.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in events))
    rewrite_tag_manifests(bundle.bag)  # so only the event's own hash gives it away
    problem = _failure(bundle)
    assert f"custody event seq {events[1]['seq']}" in problem
    assert "edited" in problem


def test_an_edited_event_with_its_hash_recomputed_fails_the_proof(bundle: Exported) -> None:
    events = read_events(bundle.bag)
    event = events[-1]
    event["details"] = '{"note":"forged"}'
    canonical = "\n".join(["incidents-custody-event/v2", str(event["seq"]), event["time"],
                           event["actor_commitment"], event["action"], event["subject"],
                           event["commitment"] or "", event["subject_prev"],
                           event["details"]]).encode()
    event["hash"] = hashlib.sha256(canonical + bytes.fromhex(event["prev_hash"])).hexdigest()
    (bundle.bag / "custody" / "events.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in events))
    rewrite_tag_manifests(bundle.bag)
    problem = _failure(bundle)
    assert f"custody event seq {event['seq']}" in problem
    assert "does not lead to the checkpoint root" in problem


def test_a_dropped_proof_is_named(bundle: Exported) -> None:
    proofs_file = bundle.bag / "custody" / "proofs.json"
    proofs = json.loads(proofs_file.read_text())
    seq = sorted(proofs["proofs"], key=int)[0]
    del proofs["proofs"][seq]
    proofs_file.write_text(json.dumps(proofs))
    rewrite_tag_manifests(bundle.bag)
    problem = _failure(bundle)
    assert f"custody event seq {seq}: no inclusion proof" in problem


def _resign_with_another_key(bag: Path) -> str:
    """Re-sign the checkpoint and replace the bundled key, as a forger with their own key."""
    checkpoint = bag / "custody" / "checkpoint.txt"
    text, _signatures = split_note(checkpoint.read_text())
    origin = text.split("\n", 1)[0]
    forger = Ed25519PrivateKey.generate()
    checkpoint.write_text(sign_note(text, forger, origin))
    (bag / "custody" / "public-key.pem").write_bytes(
        forger.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    rewrite_tag_manifests(bag)
    return verifier_key(origin, forger.public_key())


def test_a_checkpoint_resigned_with_another_key_fails_against_the_server_key(
        bundle: Exported) -> None:
    _resign_with_another_key(bundle.bag)
    problem = _failure(bundle)
    assert "custody/checkpoint.txt: no signature by the key you gave (--key)" in problem


def test_a_resigned_bundle_without_key_is_not_reported_valid(bundle: Exported) -> None:
    _resign_with_another_key(bundle.bag)
    result = run_verify(bundle.bag)
    assert result.returncode == 3, result.stdout  # consistent with itself, signer unchecked
    assert "SKIP  checkpoint signature (your key)" in result.stdout
    assert "RESULT: SIGNER NOT CHECKED" in result.stdout
    assert "all checks passed" not in result.stdout


def test_a_resigned_bundle_with_the_forgers_key_as_pem_passes_only_that_key(
        bundle: Exported, tmp_path: Path) -> None:
    forger_vkey = _resign_with_another_key(bundle.bag)
    pem = tmp_path / "server.pem"
    pem.write_bytes(bundle.server_pem)
    result = run_verify(bundle.bag, "--key", str(pem))
    assert result.returncode == 1
    assert "no signature by the key you gave (--key)" in result.stdout
    assert run_verify(bundle.bag, "--key", forger_vkey).returncode == 0


def test_an_unlisted_payload_file_is_named(bundle: Exported) -> None:
    (bundle.bag / "data" / "originals" / "extra.jpg").write_bytes(b"planted")
    problem = _failure(bundle)
    assert "data/originals/extra.jpg: not listed in manifest-sha256.txt" in problem


def test_an_unlisted_tag_file_is_named(bundle: Exported) -> None:
    (bundle.bag / "custody" / "extra-events.jsonl").write_text("{}\n")
    problem = _failure(bundle)
    assert "custody/extra-events.jsonl: not listed in tagmanifest-sha256.txt" in problem


def test_a_missing_payload_file_is_named(bundle: Exported) -> None:
    (bundle.bag / "data" / "originals" / "ev-text02.txt").unlink()
    problem = _failure(bundle)
    assert "data/originals/ev-text02.txt: listed in manifest-sha256.txt but missing" in problem


def test_manifests_regenerated_after_tampering_pass_bagit_but_not_verify(
        bundle: Exported) -> None:
    photo = bundle.bag / "data" / "originals" / "ev-photo01.jpg"
    photo.write_bytes(photo.read_bytes()[:-1] + b"X")
    rewrite_manifests(bundle.bag)
    assert _bagit_valid(bundle.bag)
    problem = _failure(bundle)
    assert "data/originals/ev-photo01.jpg" in problem
    assert "differ from data/metadata/ev-photo01.json" in problem


def test_metadata_rewritten_to_match_a_changed_original_fails_the_commitment(
        bundle: Exported) -> None:
    photo = bundle.bag / "data" / "originals" / "ev-photo01.jpg"
    photo.write_bytes(b"a different photo")
    meta_file = bundle.bag / "data" / "metadata" / "ev-photo01.json"
    meta = json.loads(meta_file.read_text())
    meta["sha256"] = hashlib.sha256(b"a different photo").hexdigest()
    meta["size"] = len(b"a different photo")
    salt = bytes.fromhex(meta["commitment"]["salt"])
    meta["commitment"]["value"] = hashlib.sha256(
        b"incidents/evidence-commitment/v1" + salt + bytes.fromhex(meta["sha256"])).hexdigest()
    meta_file.write_text(json.dumps(meta))
    rewrite_manifests(bundle.bag)
    (bundle.bag / "bag-info.txt").write_text("\n".join(
        line for line in (bundle.bag / "bag-info.txt").read_text().splitlines()
        if not line.startswith("Payload-Oxum")) + "\n")
    rewrite_tag_manifests(bundle.bag)
    assert _bagit_valid(bundle.bag)
    problem = _failure(bundle)
    assert "ev-photo01" in problem
    assert "no custody event records its commitment" in problem


def test_a_changed_zip_is_caught_without_unzipping(bundle: Exported) -> None:
    data = bytearray(bundle.zip_path.read_bytes())
    marker = data.find(b"\xff\xd8\xff\xe0")  # the photo's first bytes, stored uncompressed
    data[marker + 5000] ^= 0x01
    tampered = bundle.zip_path.with_name("tampered.zip")
    tampered.write_bytes(bytes(data))
    result = run_verify(tampered)
    assert result.returncode == 1
    assert "ev-photo01.jpg" in result.stdout


def test_a_verifier_key_whose_base64_holds_a_plus_sign_is_read() -> None:
    for _ in range(200):
        key = Ed25519PrivateKey.generate().public_key()
        vkey = verifier_key("example.org/custody", key)
        if "+" in base64.b64encode(b"\x01" + key.public_bytes_raw()).decode():
            break
    name, parsed = parse_verifier_key(vkey)
    assert name == "example.org/custody"
    assert parsed.public_bytes_raw() == key.public_bytes_raw()
