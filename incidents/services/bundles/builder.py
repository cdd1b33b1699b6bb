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
import queue
import threading
import zipfile
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from incidents.services.bundles.bag import (
    ALGORITHMS,
    VERIFY_SCRIPT,
    BundleCustody,
    BundleError,
    BundleItem,
    BundleManifest,
    _bag_info,
    _check_items,
    _check_name,
    _events_jsonl,
    _proofs_json,
    _withheld_json,
    item_metadata,
    verify_md,
)

# Re-exported: callers (the export service, tests, docs) name the bag's format here.
from incidents.services.bundles.bag import COMMITMENT_TAG as COMMITMENT_TAG
from incidents.services.bundles.bag import EVENT_FORMAT as EVENT_FORMAT
from incidents.services.bundles.bag import payload_manifest as payload_manifest

CHUNK_SIZE = 1024 * 1024
# Chunks a hashing thread may lag behind the writer: bounds memory at about
# QUEUE_DEPTH x CHUNK_SIZE per algorithm.
QUEUE_DEPTH = 4


_FILE_MODE = (0o100644 << 16)
_DIR_MODE = (0o040755 << 16) | 0x10


class Writable(Protocol):
    def write(self, data: bytes, /) -> Any: ...


@dataclass
class _Entry:
    path: str  # inside the bag
    size: int
    digests: dict[str, str] = field(default_factory=dict)


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
