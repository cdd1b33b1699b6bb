"""Evidence bundles: a BagIt (RFC 8493) bag inside a ZIP, streamed while it is built.

Layout of the ZIP (every entry under one top folder named after the bundle id)::

    bagit.txt, bag-info.txt                  bag declaration and bag metadata
    data/metadata/<item>.json                per item: file, size, SHA-256, salt, commitment,
                                             the caller's (consent-filtered) metadata
    data/originals/<file>                    the original bytes, exactly as received
    manifest-sha256.txt, manifest-sha512.txt payload manifests
    custody/events.jsonl, proofs.json,       custody events with RFC 6962 inclusion proofs
      checkpoint.txt, public-key.pem         (the bundle statement among them), the signed
      [checkpoint.tsr]                       checkpoint, the server's key, the checkpoint's
                                             RFC 3161 timestamp token when there is one
    withheld.json, VERIFY.md, verify.py      what was left out and why; how to check
    tagmanifest-sha256.txt, -sha512.txt      tag manifests, last

The payload is the evidence only (originals and their metadata), so exporting the same
content twice gives the same payload manifest even when the custody files (which grow
with every access) differ; the custody files are tag files, covered by the tag manifests.
Memory stays constant: originals are read in chunks, hashed with SHA-512 on a worker thread
while the calling thread hashes SHA-256 and writes them into the ZIP, and no plaintext
ever touches the disk. The ZIP
is written for a sink that cannot seek (ZIP64 data descriptors), and every entry gets a
fixed time, so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import queue
import re
import threading
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any, BinaryIO, Protocol

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
CHUNK_SIZE = 1024 * 1024
# Chunks a hashing thread may lag behind the writer: bounds memory at about
# QUEUE_DEPTH x CHUNK_SIZE per algorithm.
QUEUE_DEPTH = 4
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
_FILE_MODE = (0o100644 << 16)
_DIR_MODE = (0o040755 << 16) | 0x10


class BundleError(Exception):
    """The inputs cannot make a valid bundle, or an original does not match its record."""


class Writable(Protocol):
    def write(self, data: bytes, /) -> Any: ...


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


@dataclass
class _Entry:
    path: str  # inside the bag
    size: int
    digests: dict[str, str] = field(default_factory=dict)


# --- hashing beside the writer -------------------------------------------------------------


class _Hasher:
    """One hash algorithm on its own thread, fed whole chunks through a bounded queue.

    hashlib releases the GIL for large buffers, so SHA-512 (the costliest step) runs on
    this thread while the calling thread decrypts, computes SHA-256 and writes the ZIP
    (CRC-32, I/O): on two cores that split measured fastest (docs/performance.md).
    """

    _NEW, _END, _STOP = object(), object(), object()

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._results: queue.SimpleQueue[str | BaseException] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"bundle-{algorithm}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        digest: Any = None
        failed: BaseException | None = None
        while True:
            item = self._queue.get()
            if item is self._STOP:
                return
            if item is self._NEW:
                digest, failed = hashlib.new(self.algorithm), None
            elif item is self._END:
                self._results.put(failed if failed is not None else digest.hexdigest())
            elif failed is None:
                try:
                    digest.update(item)
                except BaseException as e:  # handed to the caller by end()
                    failed = e

    def begin(self) -> None:
        self._queue.put(self._NEW)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def end(self) -> str:
        self._queue.put(self._END)
        result = self._results.get()
        if isinstance(result, BaseException):
            raise result
        return result

    def close(self) -> None:
        self._queue.put(self._STOP)
        self._thread.join()


# --- the ZIP sink ------------------------------------------------------------------------


class _Spool:
    """A write-only, unseekable sink that keeps bytes until the generator hands them on."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.total = 0

    def write(self, data: bytes) -> int:
        if data:
            self._parts.append(bytes(data))
            self.total += len(data)
        return len(data)

    def flush(self) -> None:
        return None

    def drain(self) -> Iterator[bytes]:
        parts, self._parts = self._parts, []
        yield from parts


# --- file contents -----------------------------------------------------------------------


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


# --- building --------------------------------------------------------------------------------


class BundleStream:
    """The bundle as an iterator of ZIP bytes (for a streamed HTTP response).

    `manifest` is set once the iteration has finished; `progress(n)` is called with the
    number of payload bytes written so far.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._gen = _generate(**kwargs)
        self.manifest: BundleManifest | None = None

    def __iter__(self) -> Iterator[bytes]:
        self.manifest = yield from self._gen

    def close(self) -> None:
        self._gen.close()


def stream_bundle(
    *,
    items: Sequence[BundleItem],
    custody: BundleCustody,
    bundle_id: str,
    created_at: datetime,
    withheld: Sequence[Mapping[str, Any]] = (),
    organization: str = "",
    progress: Callable[[int], None] | None = None,
    beside: Mapping[str, bytes] | None = None,
) -> BundleStream:
    """Prepare a bundle to be streamed; nothing is read until it is iterated.

    `beside` holds files written at the top of the ZIP, outside the bag folder (a dossier's
    PDF): not part of the bag, so neither BagIt nor verify.py sees them.
    """
    return BundleStream(items=items, custody=custody, bundle_id=bundle_id,
                        created_at=created_at, withheld=withheld, organization=organization,
                        progress=progress, beside=dict(beside or {}))


def build_bundle(
    out: Writable,
    *,
    items: Sequence[BundleItem],
    custody: BundleCustody,
    bundle_id: str,
    created_at: datetime,
    withheld: Sequence[Mapping[str, Any]] = (),
    organization: str = "",
    progress: Callable[[int], None] | None = None,
) -> BundleManifest:
    """Write the bundle ZIP to `out` (only `write` is used) and return its manifest."""
    stream = stream_bundle(items=items, custody=custody, bundle_id=bundle_id,
                           created_at=created_at, withheld=withheld,
                           organization=organization, progress=progress)
    for chunk in stream:
        out.write(chunk)
    assert stream.manifest is not None
    return stream.manifest


def _generate(
    *,
    items: Sequence[BundleItem],
    custody: BundleCustody,
    bundle_id: str,
    created_at: datetime,
    withheld: Sequence[Mapping[str, Any]],
    organization: str,
    progress: Callable[[int], None] | None,
    beside: Mapping[str, bytes] | None = None,
) -> Generator[bytes, None, BundleManifest]:
    _check_name(bundle_id, "the bundle id")
    for name in beside or {}:
        _check_name(name, "a file beside the bag")
        if name == bundle_id:
            raise BundleError("a file beside the bag has the bag's name")
    if created_at.tzinfo is None:
        raise BundleError("created_at must be timezone-aware")
    ordered = _check_items(items)
    committed = {e.get("commitment") for e in custody.events}
    for item in ordered:
        if item.commitment not in committed:
            raise BundleError(f"item {item.item_id}: no custody event records its commitment")
    # Everything small is prepared before the first byte, so a bad input fails early.
    metadata = {item.item_id: item_metadata(item) for item in ordered}
    tags = {
        "custody/events.jsonl": _events_jsonl(custody),
        "custody/proofs.json": _proofs_json(custody),
        "custody/checkpoint.txt": custody.checkpoint_note.encode("utf-8"),
        "custody/public-key.pem": custody.public_key_pem,
        "withheld.json": _withheld_json(withheld),
        "VERIFY.md": verify_md(bundle_id=bundle_id, custody=custody, created_at=created_at),
        "verify.py": VERIFY_SCRIPT.read_bytes(),
    }
    if custody.tsa_token:
        tags["custody/checkpoint.tsr"] = custody.tsa_token
    payload_size = sum(i.size for i in ordered) + sum(len(m) for m in metadata.values())
    oxum = f"{payload_size}.{2 * len(ordered)}"
    bag_info = _bag_info(bundle_id=bundle_id, created_at=created_at, organization=organization,
                         oxum=oxum, custody=custody, items=len(ordered),
                         withheld=len(withheld))

    when = max(created_at.astimezone(UTC), datetime(1980, 1, 1, tzinfo=UTC))
    stamp = when.timetuple()[:6]
    spool = _Spool()
    zf = zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED,  # type: ignore[call-overload]
                         allowZip64=True)
    hashers = [_Hasher(a) for a in ALGORITHMS if a != "sha256"]
    payload: list[_Entry] = []
    tag_entries: list[_Entry] = []
    done = 0

    def info(path: str, size: int, *, top: bool = False) -> zipfile.ZipInfo:
        zi = zipfile.ZipInfo(path if top else f"{bundle_id}/{path}", date_time=stamp)
        zi.compress_type = zipfile.ZIP_STORED
        zi.create_system = 3
        zi.external_attr = _DIR_MODE if path.endswith("/") else _FILE_MODE
        zi.file_size = size
        return zi

    def small(path: str, data: bytes, into: list[_Entry] | None) -> Iterator[bytes]:
        zf.writestr(info(path, len(data)), data)
        if into is not None:
            into.append(_Entry(path, len(data),
                               {a: hashlib.new(a, data).hexdigest() for a in ALGORITHMS}))
        yield from spool.drain()

    try:
        for name, data in sorted((beside or {}).items()):
            zf.writestr(info(name, len(data), top=True), data)
            yield from spool.drain()
        yield from small("bagit.txt", b"BagIt-Version: 1.0\nTag-File-Character-Encoding: "
                                      b"UTF-8\n", tag_entries)
        yield from small("bag-info.txt", bag_info, tag_entries)
        zf.writestr(info("data/", 0), b"")
        for item in ordered:
            yield from small(f"data/metadata/{item.item_id}.json", metadata[item.item_id],
                             payload)
        for item in sorted(ordered, key=lambda i: i.filename):
            path = f"data/originals/{item.filename}"
            entry = _Entry(path, item.size)
            for h in hashers:
                h.begin()
            sha256 = hashlib.sha256()  # on this thread: it balances the two cores best
            written = 0
            with item.open() as reader, zf.open(info(path, item.size), "w") as dest:
                while True:
                    chunk = reader.read(CHUNK_SIZE)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > item.size:
                        raise BundleError(f"item {item.item_id}: longer than recorded")
                    for h in hashers:
                        h.update(chunk)
                    dest.write(chunk)
                    sha256.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done)
                    yield from spool.drain()
                entry.digests = {h.algorithm: h.end() for h in hashers}
                entry.digests["sha256"] = sha256.hexdigest()
                if written != item.size or entry.digests["sha256"] != item.sha256:
                    raise BundleError(f"item {item.item_id}: the original does not match "
                                      "its recorded size and SHA-256")
            payload.append(entry)
            yield from spool.drain()

        manifests: dict[str, bytes] = {}
        for algorithm in ALGORITHMS:
            text = "".join(f"{e.digests[algorithm]}  {e.path}\n"
                           for e in sorted(payload, key=lambda e: e.path))
            manifests[algorithm] = text.encode("utf-8")
            yield from small(f"manifest-{algorithm}.txt", manifests[algorithm], tag_entries)
        for path in sorted(tags):
            yield from small(path, tags[path], tag_entries)
        tagmanifests: dict[str, bytes] = {}
        for algorithm in ALGORITHMS:
            text = "".join(f"{e.digests[algorithm]}  {e.path}\n"
                           for e in sorted(tag_entries, key=lambda e: e.path))
            tagmanifests[algorithm] = text.encode("utf-8")
            yield from small(f"tagmanifest-{algorithm}.txt", tagmanifests[algorithm], None)
        zf.close()
        yield from spool.drain()
    finally:
        for h in hashers:
            h.close()
        zf.fp = None  # never write a central directory for a failed bundle

    return BundleManifest(
        bundle_id=bundle_id,
        manifest_sha256=hashlib.sha256(manifests["sha256"]).hexdigest(),
        manifest_sha512_sha256=hashlib.sha256(manifests["sha512"]).hexdigest(),
        tagmanifest_sha256=hashlib.sha256(tagmanifests["sha256"]).hexdigest(),
        payload_bytes=payload_size,
        payload_files=len(payload),
        items=len(ordered),
        zip_bytes=spool.total,
    )
