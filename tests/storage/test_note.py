"""C2SP signed notes and tlog checkpoints: known answers, tampering, and stock openssl."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from storage.crypto import merkle, note
from storage.crypto.note import NoteError, NoteSignatureError

VECTOR = json.loads(
    (Path(__file__).parent / "vectors" / "c2sp_signed_note.json").read_text("utf-8")
)
ORIGIN = "evidence.example/custody"
ROOT = merkle.root([b"a", b"b", b"c"])
WHEN = datetime(2026, 1, 5, 7, 30, 0, tzinfo=UTC)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _go_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(VECTOR["signer_key"].split("+", 4)[4])
    assert raw[0] == note.ALG_ED25519
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_signing_reproduces_the_reference_note_byte_for_byte() -> None:
    signed = note.sign_note(VECTOR["text"], _go_key(), VECTOR["key_name"])
    assert signed == VECTOR["signed_note"]


def test_verifier_key_and_key_id_match_the_reference() -> None:
    public = _go_key().public_key()
    assert note.key_id(VECTOR["key_name"], public).hex() == VECTOR["key_id_hex"]
    assert note.verifier_key(VECTOR["key_name"], public) == VECTOR["verifier_key"]
    name, parsed = note.parse_verifier_key(VECTOR["verifier_key"])
    assert name == VECTOR["key_name"]
    assert parsed.public_bytes_raw() == public.public_bytes_raw()


def test_reference_note_opens_with_the_reference_verifier_key() -> None:
    name, public = note.parse_verifier_key(VECTOR["verifier_key"])
    assert note.open_note(VECTOR["signed_note"], public, name) == VECTOR["text"]


def test_checkpoint_round_trips(key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN)
    cp = note.verify_note(signed, key.public_key(), ORIGIN)
    assert (cp.origin, cp.size, cp.root, cp.time) == (ORIGIN, 3, ROOT, WHEN)
    assert cp.extensions == ("time 2026-01-05T07:30:00Z",)
    assert [s.key_name for s in cp.signatures] == [ORIGIN]
    assert cp.signatures[0].key_id == note.key_id(ORIGIN, key.public_key())


def test_checkpoint_text_follows_the_tlog_checkpoint_layout(key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN)
    body, sig_line = signed.split("\n\n")
    assert body.split("\n") == [
        ORIGIN, "3", base64.b64encode(ROOT).decode(), "time 2026-01-05T07:30:00Z",
    ]
    assert sig_line.startswith(f"\u2014 {ORIGIN} ")
    assert sig_line.endswith("\n")
    assert len(base64.b64decode(sig_line.split(" ")[2])) == 4 + 64


def test_parse_reads_size_and_root_without_a_key(key: Ed25519PrivateKey) -> None:
    root = merkle.root([b"x"] * 1000)
    cp = note.parse_checkpoint(note.sign_checkpoint(ORIGIN, 1000, root, None, key, ORIGIN))
    assert (cp.size, cp.root, cp.time, cp.extensions) == (1000, root, None, ())


def test_microsecond_times_round_trip(key: Ed25519PrivateKey) -> None:
    when = datetime(2026, 1, 5, 7, 30, 0, 123456, tzinfo=UTC)
    signed = note.sign_checkpoint(ORIGIN, 0, merkle.EMPTY_ROOT, when, key, ORIGIN)
    assert note.verify_note(signed, key.public_key(), ORIGIN).time == when


def test_note_signed_by_another_key_fails(key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate()
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, other, ORIGIN)
    with pytest.raises(NoteSignatureError, match="no signature by key"):
        note.verify_note(signed, key.public_key(), ORIGIN)


def test_note_signed_under_another_name_fails(key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, "someone.else/log")
    with pytest.raises(NoteSignatureError):
        note.verify_note(signed, key.public_key(), ORIGIN)


@pytest.mark.parametrize(
    ("old", "new"), [("\n3\n", "\n4\n"), ("time 2026", "time 2027"), (ORIGIN + "\n", "x\n")]
)
def test_edited_body_fails(key: Ed25519PrivateKey, old: str, new: str) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN)
    edited = signed.replace(old, new, 1)
    assert edited != signed
    with pytest.raises(NoteSignatureError, match="does not verify"):
        note.verify_note(edited, key.public_key(), ORIGIN)


def test_signatures_from_unknown_keys_are_ignored(key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN)
    witness = Ed25519PrivateKey.generate()
    body = note.split_note(signed)[0]
    cosig = note.sign_note(body, witness, "witness.example").split("\n\n")[1]
    cp = note.verify_note(signed + cosig, key.public_key(), ORIGIN)
    assert [s.key_name for s in cp.signatures] == [ORIGIN, "witness.example"]


@pytest.mark.parametrize(
    "text",
    [
        "origin\n3\n",  # no root
        "origin\n03\nAAAA\n",  # leading zero
        "origin\n3\nnot base64!\n",
        "origin\n3\n" + base64.b64encode(b"short").decode() + "\n",
        "origin\n3\n" + base64.b64encode(ROOT).decode(),  # no final newline
        "origin\n3\n" + base64.b64encode(ROOT).decode() + "\ntime yesterday\n",
    ],
)
def test_malformed_checkpoint_text_is_refused(text: str) -> None:
    with pytest.raises(NoteError):
        note.parse_checkpoint(text)


def test_malformed_signature_line_is_refused(key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN)
    with pytest.raises(NoteError):
        note.split_note(signed.replace("\u2014", "-"))
    with pytest.raises(NoteError):
        note.split_note(signed.replace("\n\n", "\n"))


def test_naive_time_is_refused(key: Ed25519PrivateKey) -> None:
    with pytest.raises(NoteError):
        note.sign_checkpoint(ORIGIN, 3, ROOT, datetime(2026, 1, 5), key, ORIGIN)


def _run_openssl_doc_commands(
    tmp_path: Path, signed: str, vkey: str
) -> subprocess.CompletedProcess[str]:
    """The exact shell commands documented in docs/formats.md, "Custody checkpoints"."""
    (tmp_path / "checkpoint.txt").write_text(signed, encoding="utf-8")
    script = f"""
set -eu
VKEY='{vkey}'
ORIGIN=$(head -n 1 checkpoint.txt)
sed '/^$/,$d' checkpoint.txt > body.txt
sed '1,/^$/d' checkpoint.txt | grep -F -m 1 "— $ORIGIN " \\
  | cut -d ' ' -f 3 | base64 -d | tail -c 64 > sig.bin
{{ printf '\\060\\052\\060\\005\\006\\003\\053\\145\\160\\003\\041\\000'
  printf '%s' "$VKEY" | cut -d + -f 3- | base64 -d | tail -c 32; }} > pub.der
openssl pkeyutl -verify -pubin -keyform DER -inkey pub.der -rawin -in body.txt -sigfile sig.bin
"""
    return subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )


def test_signature_verifies_with_stock_openssl(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN)
    vkey = note.verifier_key(ORIGIN, key.public_key())
    result = _run_openssl_doc_commands(tmp_path, signed, vkey)
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout
    assert (tmp_path / "body.txt").read_bytes() == note.split_note(signed)[0].encode()


def test_the_openssl_recipe_picks_the_servers_line_after_a_witness_cosignature(
        tmp_path: Path, key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN)
    witness = Ed25519PrivateKey.generate()
    text, _sigs = note.split_note(signed)
    cosigned = note.sign_note(text, witness, "witness.example/w1")
    both = signed + cosigned.split("\n\n", 1)[1]  # the witness's line last
    assert both.rstrip("\n").rsplit("\n", 1)[1].startswith("\u2014 witness.example/w1 ")
    result = _run_openssl_doc_commands(tmp_path, both, note.verifier_key(ORIGIN,
                                                                         key.public_key()))
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout


def test_openssl_rejects_an_edited_body(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN).replace("\n3\n", "\n4\n")
    vkey = note.verifier_key(ORIGIN, key.public_key())
    result = _run_openssl_doc_commands(tmp_path, signed, vkey)
    assert result.returncode != 0


def test_openssl_verifies_with_a_pem_public_key(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    signed = note.sign_checkpoint(ORIGIN, 3, ROOT, WHEN, key, ORIGIN)
    text, sigs = note.split_note(signed)
    (tmp_path / "body.txt").write_bytes(text.encode())
    (tmp_path / "sig.bin").write_bytes(sigs[0].signature)
    (tmp_path / "pub.pem").write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
         "-in", "body.txt", "-sigfile", "sig.bin"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_verifier_key_whose_base64_contains_plus_signs_parses() -> None:
    # Standard base64 uses "+", so about half of all keys have one in their encoding.
    for _ in range(200):
        key = Ed25519PrivateKey.generate()
        vkey = note.verifier_key("example.org/log", key.public_key())
        if vkey.count("+") > 2:
            break
    else:
        pytest.fail("no key with '+' in its base64 form in 200 tries")
    name, parsed = note.parse_verifier_key(vkey)
    assert name == "example.org/log"
    assert parsed.public_bytes_raw() == key.public_key().public_bytes_raw()
