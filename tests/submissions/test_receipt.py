"""A receipt checks out without the server: only its JSON, the public key, hashlib, cryptography.

Everything below uses the receipt as the witness downloaded it and the PEM from
/custody/public-key; nothing from the application's code.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask.testing import FlaskClient

from tests.submissions.helpers import api_get, fresh_g, gen_metadata, post_submission

PHOTO = bytes(range(256)) * 4096 + b"tail"  # a few chunks plus a bit
TESTIMONY = "Они стреляли в толпу у акимата. Мен оны көрдім."


def _canonical(event: dict[str, object], event_format: str) -> bytes:
    assert event["format"] == event_format == "incidents-custody-event/v2"
    return "\n".join([event_format, str(event["seq"]), str(event["time"]),
                      str(event["actor_commitment"]), str(event["action"]),
                      str(event["subject"]), str(event["commitment"] or ""),
                      str(event["subject_prev"]), str(event["details"])]).encode("utf-8")


def _root_from_proof(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 inclusion verification, written out."""
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise AssertionError("proof too long")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    assert sn == 0
    return r


def _verify_note(note: str, public_key: Ed25519PublicKey, origin: str) -> tuple[int, bytes]:
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    raw = public_key.public_bytes_raw()
    key_id = hashlib.sha256(origin.encode() + b"\n\x01" + raw).digest()[:4]
    for line in signatures.splitlines():
        name, blob = line.removeprefix("\u2014 ").rsplit(" ", 1)
        data = base64.b64decode(blob)
        if name == origin and data[:4] == key_id:
            public_key.verify(data[4:], text.encode("utf-8"))  # raises if forged
            lines = text.splitlines()
            assert lines[0] == origin
            return int(lines[1]), base64.b64decode(lines[2])
    raise AssertionError("no signature by this server's key")


@pytest.fixture
def receipt_and_key(client: FlaskClient, witness_token: str) -> tuple[dict, Ed25519PublicKey]:
    response = post_submission(client, witness_token, gen_metadata(testimony=TESTIMONY),
                               [(PHOTO, "photo.jpg", "image/jpeg")])
    assert response.status_code == 201
    public_id = response.get_json()["id"]
    downloaded = api_get(client, f"/api/v1/submissions/{public_id}/receipt", witness_token)
    assert downloaded.status_code == 200
    fresh_g()
    pem = client.get("/custody/public-key").data
    key = load_pem_public_key(pem)
    assert isinstance(key, Ed25519PublicKey)
    return json.loads(downloaded.data), key


def test_the_sha256_of_what_was_sent_matches_the_receipt(receipt_and_key) -> None:
    receipt, _key = receipt_and_key
    by_kind = {item["kind"]: item for item in receipt["items"]}
    assert by_kind["file"]["sha256"] == hashlib.sha256(PHOTO).hexdigest()
    assert by_kind["file"]["size"] == len(PHOTO)
    assert by_kind["file"]["name"] == "photo.jpg"
    assert by_kind["testimony"]["sha256"] == hashlib.sha256(TESTIMONY.encode()).hexdigest()


def test_each_commitment_recomputes_from_the_salt_and_hash(receipt_and_key) -> None:
    receipt, _key = receipt_and_key
    tag = receipt["commitment_tag"].encode()
    received = {e["details"]: e for e in receipt["events"] if e["action"] == "received"}
    for item in receipt["items"]:
        value = hashlib.sha256(tag + bytes.fromhex(item["salt"])
                               + bytes.fromhex(item["sha256"])).hexdigest()
        assert value == item["commitment"]
        events = [e for e in received.values() if e["subject"] == f"evidence:{item['id']}"]
        assert [e["commitment"] for e in events] == [value]


def test_every_event_hash_recomputes(receipt_and_key) -> None:
    receipt, _key = receipt_and_key
    assert {"stored", "received", "submitted"} <= {e["action"] for e in receipt["events"]}
    for event in receipt["events"]:
        digest = hashlib.sha256(_canonical(event, receipt["event_format"])
                                + bytes.fromhex(event["prev_hash"])).hexdigest()
        assert digest == event["hash"]


def test_every_inclusion_proof_leads_to_the_signed_root(receipt_and_key) -> None:
    receipt, key = receipt_and_key
    size, root = _verify_note(receipt["checkpoint"]["note"], key,
                              receipt["checkpoint"]["origin"])
    assert size == receipt["checkpoint"]["size"]
    for event in receipt["events"]:
        leaf = hashlib.sha256(b"\x00" + bytes.fromhex(event["hash"])).digest()
        proof = [bytes.fromhex(h) for h in event["inclusion_proof"]]
        assert _root_from_proof(event["seq"], size, leaf, proof) == root


def test_the_checkpoint_signature_verifies_and_a_forged_one_does_not(receipt_and_key) -> None:
    receipt, key = receipt_and_key
    note = receipt["checkpoint"]["note"]
    _verify_note(note, key, receipt["checkpoint"]["origin"])
    lines = note.split("\n")
    lines[1] = str(int(lines[1]) + 1)  # claim a bigger tree
    with pytest.raises(InvalidSignature):
        _verify_note("\n".join(lines), key, receipt["checkpoint"]["origin"])


def test_a_tampered_file_no_longer_matches(receipt_and_key) -> None:
    receipt, _key = receipt_and_key
    item = next(i for i in receipt["items"] if i["kind"] == "file")
    assert hashlib.sha256(PHOTO[:-1] + b"X").hexdigest() != item["sha256"]


def test_the_receipt_explains_in_plain_words_how_to_check_it(receipt_and_key) -> None:
    receipt, _key = receipt_and_key
    text = " ".join(receipt["how_to_check"])
    assert "sha256sum" in text
    assert "/custody/public-key" in text
