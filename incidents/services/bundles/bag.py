"""What a bundle holds, byte for byte: its formats and limits, the item and custody types, and
the bag's text files (item metadata, payload manifest, custody events and proofs, bag-info,
VERIFY.md, withheld items), each deterministic for the same input."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any, BinaryIO

ITEM_FORMAT = "incidents-bundle-item/v1"


PROOFS_FORMAT = "incidents-bundle-proofs/v1"


# These two must stay equal to incidents.services.custody's (a test holds that line); they
# are repeated here and in verify.py so that neither needs the server's code.
EVENT_FORMAT = "incidents-custody-event/v2"
EVENT_FORMAT_V1 = "incidents-custody-event/v1"


COMMITMENT_TAG = b"incidents/evidence-commitment/v1"
ACTOR_TAG = b"incidents/actor-commitment/v1"


STATEMENT_FORMAT = "incidents-bundle-statement/v1"


ALGORITHMS = ("sha256", "sha512")


SAFE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


HEX64_RE = re.compile(r"[0-9a-f]{64}")


HERE = Path(__file__).resolve().parent


VERIFY_SCRIPT = HERE / "verify.py"


VERIFY_TEMPLATE = HERE / "VERIFY.md.in"


EVENT_FIELDS = ("seq", "time", "actor", "action", "subject", "commitment", "details",
                "prev_hash", "hash")


# Written for v2 events only: what their hash covers instead of the (pseudonymous) actor,
# and the per-subject link.
EVENT_FIELDS_V2 = ("format", "actor_commitment", "subject_prev")


class BundleError(Exception):
    """The inputs cannot make a valid bundle, or an original does not match its record."""


@dataclass(frozen=True)
class BundleItem:
    """One evidence item to export. `metadata` is already filtered by the caller.

    `open` returns a reader of the plaintext original; in production it is
    `blobs.open_for_reading`, which commits a custody event first. It is called once,
    when the item's turn comes, and the reader is closed afterwards.
    """

    item_id: str
    filename: str
    size: int
    sha256: str
    salt: str
    metadata: Mapping[str, Any]
    open: Callable[[], BinaryIO]

    @property
    def commitment(self) -> str:
        """SHA-256(tag ‖ salt ‖ SHA-256 of the original), hex (docs/formats.md)."""
        return hashlib.sha256(COMMITMENT_TAG + bytes.fromhex(self.salt)
                              + bytes.fromhex(self.sha256)).hexdigest()


@dataclass(frozen=True)
class BundleCustody:
    """The custody evidence for the items: events, proofs into one checkpoint, the key.

    `events` are dicts with EVENT_FIELDS (hashes in hex, `details` as the canonical text
    the hash covers); `proofs` maps each event's seq to its audit path (hex, bottom-up)
    in the tree of `checkpoint_note`.
    """

    events: Sequence[Mapping[str, Any]]
    proofs: Mapping[int, Sequence[str]]
    checkpoint_note: str
    public_key_pem: bytes
    verifier_key: str
    origin: str
    tsa_token: bytes | None = None  # the checkpoint's RFC 3161 token, when there is one


@dataclass(frozen=True)
class BundleManifest:
    """What a finished bundle commits to: record it in the "exported" custody event."""

    bundle_id: str
    manifest_sha256: str  # SHA-256 of manifest-sha256.txt: the same for the same content
    manifest_sha512_sha256: str  # SHA-256 of manifest-sha512.txt
    tagmanifest_sha256: str  # SHA-256 of tagmanifest-sha256.txt
    payload_bytes: int
    payload_files: int
    items: int
    zip_bytes: int


def _check_name(value: str, what: str) -> None:
    if not isinstance(value, str) or not SAFE_NAME_RE.fullmatch(value) or ".." in value:
        raise BundleError(f"{what} is not a safe name")


def _check_items(items: Sequence[BundleItem]) -> list[BundleItem]:
    seen_ids: set[str] = set()
    seen_files: set[str] = set()
    for item in items:
        _check_name(item.item_id, "an item id")
        _check_name(item.filename, "a file name")
        if item.item_id in seen_ids or item.filename in seen_files:
            raise BundleError("two items share an id or a file name")
        seen_ids.add(item.item_id)
        seen_files.add(item.filename)
        if not HEX64_RE.fullmatch(item.sha256) or not HEX64_RE.fullmatch(item.salt):
            raise BundleError("an item's SHA-256 or salt is not 64 lowercase hex digits")
        if item.size < 0:
            raise BundleError("an item has a negative size")
    return sorted(items, key=lambda i: i.item_id)


def _json_bytes(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def item_metadata(item: BundleItem) -> bytes:
    """The item's `data/metadata/<item>.json`: deterministic for the same content."""
    return _json_bytes({
        "format": ITEM_FORMAT,
        "item": item.item_id,
        "file": f"data/originals/{item.filename}",
        "size": item.size,
        "sha256": item.sha256,
        "commitment": {"tag": COMMITMENT_TAG.decode("ascii"), "salt": item.salt,
                       "value": item.commitment},
        "metadata": dict(item.metadata),
    })


def payload_manifest(items: Sequence[BundleItem]) -> str:
    """manifest-sha256.txt, known before any original is read (from the recorded hashes).

    The export's custody event can carry its hash before the first byte is sent; the
    builder then checks that every original it streams has exactly the recorded hash.
    """
    lines = []
    for item in _check_items(items):
        meta = item_metadata(item)
        lines.append((f"data/metadata/{item.item_id}.json", hashlib.sha256(meta).hexdigest()))
        lines.append((f"data/originals/{item.filename}", item.sha256))
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(lines))


def _events_jsonl(custody: BundleCustody) -> bytes:
    lines = []
    for event in sorted(custody.events, key=lambda e: int(e["seq"])):
        missing = [name for name in EVENT_FIELDS if name not in event]
        if missing:
            raise BundleError(f"a custody event lacks {missing[0]}")
        record = {name: event[name] for name in EVENT_FIELDS}
        if event.get("format", EVENT_FORMAT_V1) != EVENT_FORMAT_V1:
            missing = [name for name in EVENT_FIELDS_V2 if name not in event]
            if missing:
                raise BundleError(f"a v2 custody event lacks {missing[0]}")
            record.update({name: event[name] for name in EVENT_FIELDS_V2})
        lines.append(json.dumps(record, sort_keys=True, ensure_ascii=False,
                                separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


def _tree_size(note: str) -> int:
    lines = note.split("\n")
    if len(lines) < 3 or not lines[1].isdigit():
        raise BundleError("the checkpoint note has no tree size")
    return int(lines[1])


def _proofs_json(custody: BundleCustody) -> bytes:
    seqs = {int(e["seq"]) for e in custody.events}
    if not seqs <= set(custody.proofs):
        raise BundleError("a custody event has no inclusion proof")
    return _json_bytes({
        "format": PROOFS_FORMAT,
        "tree_size": _tree_size(custody.checkpoint_note),
        "proofs": {str(seq): list(custody.proofs[seq]) for seq in sorted(seqs)},
    })


def _bag_info(*, bundle_id: str, created_at: datetime, organization: str, oxum: str,
              custody: BundleCustody, items: int, withheld: int) -> bytes:
    fields = [
        ("Source-Organization", organization),
        ("External-Identifier", bundle_id),
        ("External-Description", f"Evidence bundle: {items} items, {withheld} withheld. "
                                 "Read VERIFY.md; run python3 verify.py."),
        ("Bagging-Date", created_at.astimezone(UTC).date().isoformat()),
        ("Bundle-Created", created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("Payload-Oxum", oxum),
        ("Custody-Origin", custody.origin),
        ("Custody-Verifier-Key", custody.verifier_key),
        ("Bag-Software-Agent", "incidents evidence bundle builder"),
    ]
    lines = []
    for label, value in fields:
        value = " ".join(str(value).split())  # one line, no control characters
        if value:
            lines.append(f"{label}: {value}\n")
    return "".join(lines).encode("utf-8")


def verify_md(*, bundle_id: str, custody: BundleCustody, created_at: datetime) -> bytes:
    """VERIFY.md, from the English and Russian template beside this module."""
    template = Template(VERIFY_TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(
        bundle_id=bundle_id, origin=custody.origin, verifier_key=custody.verifier_key,
        created=created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    ).encode("utf-8")


def _withheld_json(withheld: Iterable[Mapping[str, Any]]) -> bytes:
    rows = sorted((dict(w) for w in withheld), key=lambda w: json.dumps(w, sort_keys=True))
    return _json_bytes({"withheld": rows})
