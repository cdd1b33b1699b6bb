"""The evidence store: stream bytes in, hashed and encrypted; read them back authenticated.

Every blob gets a random id (its storage name, never derived from content), a fresh data
key sealed to the active vault key, and is written as STREAM-encrypted chunks
(storage.crypto.stream; byte format in docs/formats.md). Plaintext never touches the disk.
The plaintext and ciphertext SHA-256 are computed on worker threads while the data streams,
into two alternating buffer sets, so memory stays constant whatever the blob size
(``storage.blob_writer.BlobWriter``; reading back: ``storage.blob_reader.BlobReader``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from storage.appendable import AppendableBlobWriter, Checkpoint
from storage.backends.base import BlobBackend, check_name
from storage.blob_reader import BlobReader
from storage.blob_writer import BlobWriter, StoredBlob
from storage.crypto.keys import KeyProvider
from storage.errors import BlobIntegrityError

# 1 MiB: at and above this size throughput is flat (docs/performance.md, "Evidence store"),
# and four such buffers per open writer keep memory small.
DEFAULT_CHUNK_SIZE = 1024 * 1024


class SealedBlob(Protocol):
    """Anything that names a blob and carries its sealed data key (e.g. a database row)."""

    @property
    def blob_id(self) -> str: ...

    @property
    def key_id(self) -> str: ...

    @property
    def sealed_key(self) -> bytes: ...


class RecordedBlob(SealedBlob, Protocol):
    """A ``SealedBlob`` that also carries the size and hashes recorded at ``put`` time."""

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str: ...

    @property
    def ciphertext_sha256(self) -> str: ...


@dataclass(frozen=True)
class BlobRef:
    """The minimum needed to open a blob: its id and sealed data key."""

    blob_id: str
    key_id: str
    sealed_key: bytes


class BlobStore:
    """Encrypted, hashed, atomically written evidence blobs on a backend."""

    def __init__(
        self, backend: BlobBackend, keys: KeyProvider, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        self.backend = backend
        self.keys = keys
        self.chunk_size = chunk_size

    def writer(self, *, blob_id: str | None = None, max_size: int | None = None) -> BlobWriter:
        """Start a push-style write (for streaming multipart parsers and tus uploads)."""
        return BlobWriter(
            self.backend, self.keys, chunk_size=self.chunk_size, blob_id=blob_id, max_size=max_size
        )

    def create_appendable(
        self, *, length: int, capability: str
    ) -> tuple[AppendableBlobWriter, str, bytes, Checkpoint]:
        """Start an appendable blob (a tus upload): writer, key id, sealed key, checkpoint."""
        return AppendableBlobWriter.create(self.backend, self.keys, length=length,
                                           chunk_size=self.chunk_size, capability=capability)

    def resume_appendable(
        self, blob_id: str, *, length: int, capability: str, sealed_state: bytes,
        backend_state: str,
    ) -> AppendableBlobWriter:
        """Continue an appendable blob from its last checkpoint, in any process."""
        return AppendableBlobWriter.resume(self.backend, blob_id=blob_id, length=length,
                                           capability=capability, sealed_state=sealed_state,
                                           backend_state=backend_state)

    def discard_appendable(self, blob_id: str, backend_state: str) -> None:
        """Remove the bytes of an appendable blob that will never finish."""
        self.backend.discard_append(check_name(blob_id), backend_state)

    def put(
        self,
        stream: BinaryIO | Iterable[bytes],
        *,
        blob_id: str | None = None,
        max_size: int | None = None,
    ) -> StoredBlob:
        """Store a file-like object or an iterable of byte strings; raise BlobTooLarge early."""
        with self.writer(blob_id=blob_id, max_size=max_size) as w:
            if isinstance(stream, bytes | bytearray | memoryview):
                w.write(stream)
            elif hasattr(stream, "readinto"):
                w.write_from(stream)
            elif hasattr(stream, "read"):
                while piece := stream.read(self.chunk_size):
                    w.write(piece)
            else:
                for piece in stream:
                    w.write(piece)
            return w.commit()

    def open(self, blob: SealedBlob) -> BlobReader:
        """Open a blob for authenticated reading (raises SealedKeyError, BlobNotFound…)."""
        data_key = self.keys.unseal_data_key(blob.key_id, blob.sealed_key, blob.blob_id)
        src = self.backend.open(check_name(blob.blob_id))
        return BlobReader(src, data_key, blob.blob_id, expected_size=getattr(blob, "size", None))

    def verify(self, blob: RecordedBlob) -> None:
        """Decrypt the whole blob and compare size, plaintext and ciphertext SHA-256."""
        data_key = self.keys.unseal_data_key(blob.key_id, blob.sealed_key, blob.blob_id)
        src = self.backend.open(check_name(blob.blob_id))
        with BlobReader(src, data_key, blob.blob_id, digests=True) as reader:
            size, sha256, ciphertext_sha256 = reader.drain()
        if ciphertext_sha256 != blob.ciphertext_sha256:
            raise BlobIntegrityError(blob.blob_id, "ciphertext SHA-256 differs from the record")
        if size != blob.size:
            raise BlobIntegrityError(blob.blob_id, f"size is {size}, {blob.size} were recorded")
        if sha256 != blob.sha256:
            raise BlobIntegrityError(blob.blob_id, "plaintext SHA-256 differs from the record")

    def verify_ciphertext(self, blob: RecordedBlob) -> None:
        """Keyless scrub: compare the stored bytes' SHA-256 with the recorded one."""
        digest = hashlib.sha256()
        buf = bytearray(self.chunk_size)
        src = self.backend.open(check_name(blob.blob_id))
        try:
            while n := src.readinto(buf):
                digest.update(memoryview(buf)[:n])
        finally:
            src.close()
        if digest.hexdigest() != blob.ciphertext_sha256:
            raise BlobIntegrityError(blob.blob_id, "ciphertext SHA-256 differs from the record")

    def delete(self, blob_id: str) -> None:
        """Remove a blob. Only for abandoned uploads: evidence originals are never deleted."""
        self.backend.delete(check_name(blob_id))

    def exists(self, blob_id: str) -> bool:
        return self.backend.exists(check_name(blob_id))

    def sweep_temporary(self, older_than: float = 0, keep: Collection[str] = ()) -> list[str]:
        """Remove leftovers of interrupted writes (see the backend's ``sweep_temporary``),
        sparing the appendable blobs named in ``keep`` (uploads in flight)."""
        return self.backend.sweep_temporary(older_than, keep)
