"""Appendable blobs: one encrypted blob written across many requests and processes.

A tus upload is such a blob from its first byte. Its data key is made and sealed to the
vault's public key once, when the upload is created; each request appends STREAM records
(format version 2, ``storage.crypto.stream``) and makes them durable at checkpoints (every
``checkpoint_bytes`` within a request, and wherever a request ends); the last record is
marked final when the declared length is reached, and the backend then makes the blob
visible. Nothing is decrypted or re-encrypted at the end: the finished upload *is* the blob.

Between requests the writer's state lives in two pieces the caller stores (the upload row):
the backend's resume state (file length, or S3 upload id and parts: no secrets) and the
secret state (data key, STREAM header and counter, the running plaintext and ciphertext
SHA-256 states) sealed under the upload's capability, which only the client holds
(``storage.crypto.capability``). docs/formats.md, "Appendable blobs".
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from storage import buffers
from storage.backends.base import AppendSink, BlobBackend, check_name
from storage.blob_writer import StoredBlob, new_blob_id
from storage.crypto import capability as caps
from storage.crypto.hashing import BackgroundHasher
from storage.crypto.keys import KeyProvider
from storage.crypto.sha256state import STATE_LEN, ResumableSha256
from storage.crypto.stream import HEADER_LEN, AppendableEncryptor, StreamHeader, new_data_key
from storage.errors import BlobIntegrityError, BlobTooLarge, BlobWriterClosed, StorageError

# Durable at least this often within one request (the bound: a crash loses at
# most this much of what was received).
CHECKPOINT_BYTES = 8 * 1024 * 1024
# ...and at least this often on a slow line, so a throttled witness loses seconds, not MiB.
CHECKPOINT_SECONDS = 10.0

_STATE = struct.Struct(f">32s{HEADER_LEN}sIQQ?{STATE_LEN}s{STATE_LEN}s")
_AAD = b"appendable-blob/v1:"


@dataclass(frozen=True)
class Checkpoint:
    """What to store after a checkpoint: durable plaintext size and the two states."""

    size: int
    sealed_state: bytes
    backend_state: str
    final: bool  # the final record is written; only ``finish`` is left
    last: bool = False  # ``write_from`` returns after this one: the stream ended, or final


@dataclass(frozen=True)
class _Secret:
    data_key: bytes
    header: bytes
    counter: int
    size: int
    stored: int  # ciphertext bytes in the backend
    final: bool
    pt_state: bytes
    ct_state: bytes


def _aad(blob_id: str, backend_state: str) -> bytes:
    # The backend state is bound in: a secret state never pairs with another checkpoint's.
    return _AAD + blob_id.encode("ascii") + b":" + backend_state.encode("utf-8")


class AppendableBlobWriter:
    """Append to one blob within one request; ``create`` or ``resume``, then ``close``."""

    def __init__(
        self,
        sink: AppendSink,
        backend: BlobBackend,
        *,
        blob_id: str,
        length: int,
        chunk_size: int,
        capability: str,
        secret: _Secret,
    ) -> None:
        self.blob_id = blob_id
        self.length = length
        self._backend = backend
        self._sink = sink
        self._capability = capability
        self._enc = AppendableEncryptor(secret.data_key, blob_id, chunk_size,
                                        header=secret.header, counter=secret.counter)
        self._data_key = secret.data_key
        self._size = secret.size
        self._stored = secret.stored
        self._final = secret.final
        self._pt_hash = BackgroundHasher(ResumableSha256(secret.pt_state))
        self._ct_hash = BackgroundHasher(ResumableSha256(secret.ct_state))
        self.chunk_size = chunk_size
        # Two buffer sets: one is encrypted and written while the other is hashed.
        self._pt = [buffers.take(chunk_size) for _ in range(2)]
        self._ct = [buffers.take(self._enc.record_max) for _ in range(2)]
        self._pt_ticket = [0, 0]
        self._ct_ticket = [0, 0]
        self._cur = 0
        self._fill = 0
        self._open = True

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        backend: BlobBackend,
        keys: KeyProvider,
        *,
        length: int,
        chunk_size: int,
        capability: str,
        blob_id: str | None = None,
    ) -> tuple[AppendableBlobWriter, str, bytes, Checkpoint]:
        """A new appendable blob: (writer, key id, sealed data key, first checkpoint)."""
        blob_id = check_name(blob_id) if blob_id is not None else new_blob_id()
        data_key = new_data_key()
        # Sealed once, now, with the public key only; every later request gets the data
        # key from the capability-sealed state.
        key_id, sealed_key = keys.seal_data_key(data_key, blob_id)
        header = AppendableEncryptor(data_key, blob_id, chunk_size).header
        ct = ResumableSha256()
        ct.update(header)
        secret = _Secret(data_key, header, 0, 0, 0, False, ResumableSha256().export(),
                         ct.export())
        sink = backend.append(blob_id, None)
        writer = cls(sink, backend, blob_id=blob_id, length=length, chunk_size=chunk_size,
                     capability=capability, secret=secret)
        try:
            writer._sink.write(header)
            writer._stored = len(header)
            if length == 0:  # nothing will ever be appended: the empty final record now
                writer._emit(0, 0, final=True)
            checkpoint = writer.checkpoint()
        except BaseException:
            writer.close()
            backend.discard_append(blob_id, "{}")
            raise
        return writer, key_id, sealed_key, checkpoint

    @classmethod
    def resume(
        cls,
        backend: BlobBackend,
        *,
        blob_id: str,
        length: int,
        capability: str,
        sealed_state: bytes,
        backend_state: str,
    ) -> AppendableBlobWriter:
        """Continue from the last stored checkpoint (in this or any other process)."""
        check_name(blob_id)
        raw = caps.unseal(capability, sealed_state, _aad(blob_id, backend_state))
        data_key, header, counter, size, stored, final, pt, ct = _STATE.unpack(raw)
        # The chunk size is the one the blob was created with, whatever the settings now.
        chunk_size = StreamHeader.parse(header, blob_id).chunk_size
        secret = _Secret(data_key, header, counter, size, stored, final, pt, ct)
        if final and backend.exists(blob_id):
            sink: AppendSink = _Completed()  # a finish that died after the blob became visible
        else:
            sink = backend.append(blob_id, backend_state)
        return cls(sink, backend, blob_id=blob_id, length=length, chunk_size=chunk_size,
                   capability=capability, secret=secret)

    # --- writing --------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Plaintext bytes accepted so far (durable only up to the last checkpoint)."""
        return self._size + self._fill

    @property
    def final(self) -> bool:
        return self._final

    def write_from(
        self,
        stream: Any,
        on_checkpoint: Callable[[Checkpoint], None],
        *,
        checkpoint_bytes: int = CHECKPOINT_BYTES,
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
        expect: int | None = None,
    ) -> None:
        """Read ``stream`` (``readinto``) to its end, checkpointing on the way and at the end.

        ``on_checkpoint`` must store the checkpoint before returning (and may raise to stop,
        e.g. when another request took the upload over); the one after which this returns
        has ``last`` set. ``expect``, when the stream's length is known (a Content-Length),
        ends the stream after that many bytes without waiting for a read to return 0.
        Raises BlobTooLarge, before storing any of it, when the stream runs past the
        declared length.
        """
        self._check_open()
        begin = since = self.size
        last = time.monotonic()
        while True:
            if self._fill == self.chunk_size:
                self._emit(self._cur, self._fill, final=self.size == self.length)
            remaining = self.length - self.size
            space = memoryview(self._pt[self._cur])[self._fill:]
            # One byte past the declared length is enough to know the client overran it.
            space = space[: max(1, min(len(space), remaining + 1))]
            n = stream.readinto(space)
            if n is None:
                raise StorageError("non-blocking streams are not supported")
            if n > remaining:
                raise BlobTooLarge("more bytes than the upload declared")
            if n:
                self._fill += n
                if self.size == self.length:  # the last byte: the final record, at once
                    self._emit(self._cur, self._fill, final=True)
            now = time.monotonic()
            ended = n == 0 or self._final or (expect is not None and self.size - begin >= expect)
            due = self.size - since >= checkpoint_bytes or now - last >= checkpoint_seconds
            if (ended or due) and (self.size > since or self._fill):
                if self._fill:
                    self._emit(self._cur, self._fill, final=False)
                cp = self.checkpoint()
                on_checkpoint(replace(cp, last=True) if ended else cp)
                since, last = self.size, now
            if ended:
                return

    def checkpoint(self) -> Checkpoint:
        """Make everything emitted durable; return the states to store."""
        self._check_open()
        backend_state = self._sink.checkpoint()
        pt = self._pt_hash.sync()
        ct = self._ct_hash.sync()
        assert isinstance(pt, ResumableSha256)
        assert isinstance(ct, ResumableSha256)
        raw = _STATE.pack(self._data_key, self._enc.header, self._enc.counter, self._size,
                          self._stored, self._final, pt.export(), ct.export())
        sealed = caps.seal(self._capability, raw, _aad(self.blob_id, backend_state))
        return Checkpoint(self._size, sealed, backend_state, self._final)

    def finish(self, *, key_id: str, sealed_key: bytes) -> StoredBlob:
        """After the final record: make the blob visible and return its record."""
        self._check_open()
        if not self._final or self._size != self.length:
            raise BlobIntegrityError(self.blob_id, "the upload is not complete")
        pt = self._pt_hash.sync()
        ct = self._ct_hash.sync()
        self._sink.complete()
        stored = StoredBlob(blob_id=self.blob_id, size=self._size, sha256=pt.hexdigest(),
                            ciphertext_sha256=ct.hexdigest(), key_id=key_id,
                            sealed_key=sealed_key)
        self.close()
        return stored

    def close(self) -> None:
        """Release buffers and threads; what was checkpointed stays (idempotent)."""
        if not self._open:
            return
        self._open = False
        self._pt_hash.close()
        self._ct_hash.close()
        self._sink.close()
        for buf in self._pt:  # wiped: no plaintext lies in a kept buffer
            buffers.give(buf, wipe=True)
        for buf in self._ct:
            buffers.give(buf, wipe=False)
        self._pt = []
        self._ct = []

    def _check_open(self) -> None:
        if not self._open:
            raise BlobWriterClosed(f"writer for blob {self.blob_id} is closed")

    def _emit(self, idx: int, n: int, *, final: bool) -> None:
        """Encrypt buffer ``idx`` (n bytes) as the next record and hand it to the sink."""
        self._ct_hash.wait(self._ct_ticket[idx])
        plain = memoryview(self._pt[idx])[:n]
        m = self._enc.encrypt_record(plain, memoryview(self._ct[idx]), final=final)
        cipher = memoryview(self._ct[idx])[:m]
        self._pt_ticket[idx] = self._pt_hash.update(plain)
        self._ct_ticket[idx] = self._ct_hash.update(cipher)
        self._sink.write(cipher)
        self._size += n
        self._stored += m
        self._final = final
        # Switch buffers; the next one is refilled only once its plaintext is hashed.
        self._cur ^= 1
        self._pt_hash.wait(self._pt_ticket[self._cur])
        self._fill = 0


class _Completed:
    """Stands in for the sink of a blob that is already visible."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        raise BlobWriterClosed("the blob is already complete")

    def checkpoint(self) -> str:
        raise BlobWriterClosed("the blob is already complete")

    def complete(self) -> None:
        return

    def close(self) -> None:
        return
