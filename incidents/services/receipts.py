"""The witness receipt (DESIGN §4): enough to prove later, without us, what we received.

For each evidence item it gives the SHA-256 and size of the bytes, the commitment salt and
the custody events that recorded it, each with an RFC 6962 inclusion proof into one signed
checkpoint (C2SP tlog-checkpoint note). Formats: docs/formats.md, "Custody events" and
"Custody checkpoints"; `tests/submissions/test_receipt.py` checks a receipt with nothing
but hashlib, `cryptography` and the public key from /custody/public-key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from incidents.core.errors import N_, Conflict, InvalidInput, NotFound
from incidents.core.settings import Settings
from incidents.models import BlobRecord, CustodyEvent, Submission, User
from incidents.services import checkpoints, custody, submissions
from incidents.services.evidence import blobs
from storage.blobstore import BlobStore
from storage.crypto.merkle import ConsistencyProofError, verify_consistency
from storage.crypto.note import NoteError, verifier_key, verify_note
from storage.errors import VaultSealed

RECEIPT_FORMAT = "incidents-receipt/v1"

HOW_TO_CHECK_INTRO = N_(
    "Keep this receipt and your original files. It proves what we received and when, "
    "without needing to trust us later.")
# The steps, in order; the page numbers them, the JSON receipt numbers them in the text.
HOW_TO_CHECK_STEPS = (
    N_("For each file, compute its SHA-256 (for example `sha256sum photo.jpg`, or "
       "`shasum -a 256` on a Mac). It must equal the `sha256` given for that file. The "
       "testimony's SHA-256 is that of its text encoded as UTF-8."),
    N_("The commitment is SHA-256 of the tag `commitment_tag`, then the 32-byte salt, then "
       "the 32-byte SHA-256 of the file. It must equal the `commitment` of the file's "
       "`received` event. The salt is known only to you and to us: keep it private."),
    N_("Each event's hash is SHA-256 of its canonical text (the lines `event_format`, seq, "
       "time, actor_commitment, action, subject, commitment, subject_prev, details, joined "
       "by newlines) followed by `prev_hash`. `subject_prev` is the hash of the previous "
       "event about the same subject, so no event about your files can be left out."),
    N_("Each event's inclusion proof (RFC 6962) leads from SHA-256(0x00 ‖ event hash) to "
       "the root hash in the checkpoint."),
    N_("The checkpoint is a signed note (c2sp.org/tlog-checkpoint). Its Ed25519 signature "
       "verifies with the server's public key, published at /custody/public-key and in every "
       "evidence bundle. Any later checkpoint must be consistent with this one: if it is not, "
       "history was rewritten."),
)
HASHES_PENDING = N_(
    "The evidence vault is sealed just now, so this receipt does not show each file's SHA-256 "
    "and salt yet. Everything else is final: open this receipt again later to get them; the "
    "commitments shown here will not change.")
HOW_TO_CHECK = [HOW_TO_CHECK_INTRO] + [
    f"{number}. {step}" for number, step in enumerate(HOW_TO_CHECK_STEPS, start=1)]


def _event_json(event: CustodyEvent, proof: checkpoints.InclusionProof) -> dict[str, Any]:
    return {**custody.event_json(event), "inclusion_proof": [h.hex() for h in proof.hashes]}


def build(session: Session, store: BlobStore, keys: checkpoints.CustodyKeys, settings: Settings,
          user: User, public_id: str) -> dict[str, Any]:
    """The receipt of one submission (owner or staff), signing a checkpoint if needed."""
    submission = submissions.get(session, user, public_id)
    names = submissions.read_names(session, store, user, [submission])  # commits its events
    events = _events(session, submission)
    latest = checkpoints.latest_checkpoint(session)
    if events and (latest is None or latest.size <= max(e.seq for e in events)):
        latest = checkpoints.checkpoint(session, keys, settings)
    items = []
    sealed = False
    for item in submission.items:
        record = session.get(BlobRecord, item.blob_id)
        assert record is not None
        try:
            sha256, salt = blobs.unseal_digest(store.keys, record)
        except VaultSealed:
            # The vault is sealed: the hash and salt wait for the unseal; the commitment
            # (in the signed ledger) and everything else stand now.
            sealed = True
            commitment = next((e.commitment for e in events if e.action == "stored"
                               and e.subject == f"blob:{record.id}"), None)
            sha256_text: str | None = None
            salt_text: str | None = None
        else:
            commitment = custody.commitment(sha256, salt)
            sha256_text, salt_text = sha256, salt.hex()
        items.append({
            "id": item.public_id,
            "kind": item.kind.value,
            "name": submissions.item_name(item, names),
            "size": item.size,
            "sha256": sha256_text,
            "salt": salt_text,
            "commitment": commitment,
            "received_at": submissions.iso(item.received_at),
        })
    proofs = {e.seq: checkpoints.inclusion_proof(session, e.seq, latest) for e in events}
    assert latest is not None or not events
    session.rollback()  # reads only; end the snapshot
    return {
        "format": RECEIPT_FORMAT,
        # True while the vault is sealed: fetch the receipt again after the unseal for each
        # item's SHA-256 and salt (the commitments below do not change).
        "hashes_pending": sealed or names.sealed,
        "submission": submission.public_id,
        "received_at": submissions.iso(submission.created_at),
        "items": items,
        "event_format": custody.EVENT_FORMAT,
        "commitment_tag": custody.COMMITMENT_TAG.decode("ascii"),
        "events": [_event_json(e, proofs[e.seq]) for e in events],
        "checkpoint": {
            "origin": settings.custody_origin,
            "size": latest.size if latest else 0,
            "root": latest.root.hex() if latest else None,
            "note": latest.note if latest else None,
            "public_key": "/custody/public-key",
            # The C2SP verifier key: the receipt checks without fetching anything
            # (`verify.py --receipt`); compare it with the key the server publishes.
            "verifier_key": verifier_key(settings.custody_origin,
                                         checkpoints.signing_public_key(keys)),
        },
        "how_to_check": HOW_TO_CHECK,
    }


def _events(session: Session, submission: Submission) -> list[CustodyEvent]:
    """The submission's events and, per item, its "received" and its blob's "stored" events."""
    events = list(custody.events_for(session, f"submission:{submission.public_id}"))
    for item in submission.items:
        events += custody.events_for(session, f"evidence:{item.public_id}")
        events += [e for e in custody.events_for(session, f"blob:{item.blob_id}")
                   if e.action == "stored"]
    return sorted({e.seq: e for e in events}.values(), key=lambda e: e.seq)


@dataclass(frozen=True)
class ReceiptCheck:
    """What `check_receipt` found: the receipt's tree and the server's latest."""

    receipt_size: int
    server_size: int


def check_receipt(session: Session, keys: checkpoints.CustodyKeys, settings: Settings,
                  receipt: Any) -> ReceiptCheck:
    """That a witness receipt's checkpoint is signed by this server's key and that the
    server's latest checkpoint is consistent with it (RFC 6962 §2.1.2): the log was not
    rewritten since. Raises InvalidInput (not a receipt) or Conflict (a fork) naming why."""
    try:
        if receipt.get("format") != RECEIPT_FORMAT:
            raise ValueError("format")
        note_text = receipt["checkpoint"]["note"]
        if not isinstance(note_text, str):
            raise TypeError("note")
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise InvalidInput(N_("This is not a witness receipt."), field="receipt") from e
    origin = settings.custody_origin
    try:
        signed = verify_note(note_text, checkpoints.signing_public_key(keys), origin)
    except NoteError as e:
        raise Conflict(N_("The receipt's checkpoint is not signed by this server's key.")) from e
    latest = checkpoints.public_checkpoint(session)
    if signed.size > latest.size:
        raise Conflict(N_("The receipt covers %(size)s events but the server's latest "
                          "checkpoint only %(latest)s: signed history was lost or rolled back."),
                       size=signed.size, latest=latest.size)
    try:
        proof = checkpoints.consistency_proof(session, signed.size, latest.size)
        verify_consistency(signed.size, latest.size, signed.root, latest.root, proof)
    except (ConsistencyProofError, NotFound) as e:
        raise Conflict(N_("The server's checkpoint of size %(latest)s is NOT consistent with "
                          "the receipt's of size %(size)s: the log was rewritten (forked)."),
                       size=signed.size, latest=latest.size) from e
    finally:
        session.rollback()
    return ReceiptCheck(receipt_size=signed.size, server_size=latest.size)
