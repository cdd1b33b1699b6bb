"""Chunked AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015).

The byte format is specified in docs/formats.md, "Blob format". In short::

    blob   = header ‖ chunk_0 ‖ … ‖ chunk_n          (chunk_n is the only "final" chunk)
    header = "EVBLOB" ‖ version (1) ‖ suite (1) ‖ chunk_size (u32 BE) ‖ nonce_prefix (7 bytes)
    nonce  = nonce_prefix ‖ counter (u32 BE) ‖ final flag (0x00 / 0x01)
    aad    = header ‖ blob_id (ASCII)
    chunk  = AES-256-GCM(data_key, nonce, plaintext_i, aad) = ciphertext_i ‖ tag (16)

Every chunk but the last holds exactly ``chunk_size`` plaintext bytes; the last holds 1 to
``chunk_size`` bytes, or 0 when (and only when) the blob is empty. The counter stops
reordering, dropping and duplicating chunks; the final flag stops truncation at a chunk
boundary and appended chunks; the blob id in the associated data stops swapping blobs.

Version 2 (appendable blobs, written across many requests and processes; docs/formats.md,
"Appendable blobs") frames each chunk as a record::

    record = salt (7 random bytes) ‖ n (u32 BE, plaintext length) ‖ AES-GCM(…) (n + 16)
    nonce  = salt ‖ counter (u32 BE) ‖ final flag

so a chunk may be shorter than ``chunk_size`` (an upload is made durable wherever a request
ends), and a chunk rewritten after a crash (same counter) never reuses a nonce: every
record draws a fresh salt. The header's nonce prefix is random and unused in version 2.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import BlobIntegrityError

MAGIC = b"EVBLOB"
VERSION = 1
VERSION_APPENDABLE = 2
RECORD_PREFIX_LEN = 7 + 4  # salt ‖ plaintext length
SALT_LEN = 7
SUITE_AES256GCM_STREAM = 1
HEADER_LEN = 19
TAG_LEN = 16
NONCE_PREFIX_LEN = 7
DATA_KEY_LEN = 32
MAX_CHUNK_SIZE = 1 << 26  # refuse absurd sizes in a header before allocating buffers
MAX_CHUNKS = 1 << 32

_HEADER = struct.Struct(">6sBBI7s")
assert _HEADER.size == HEADER_LEN


def new_data_key() -> bytes:
    """A fresh random 256-bit data key (one per blob, never reused)."""
    return secrets.token_bytes(DATA_KEY_LEN)


@dataclass(frozen=True)
class StreamHeader:
    """The fixed-size header at the start of every blob."""

    chunk_size: int
    nonce_prefix: bytes
    version: int = VERSION

    def to_bytes(self) -> bytes:
        return _HEADER.pack(
            MAGIC, self.version, SUITE_AES256GCM_STREAM, self.chunk_size, self.nonce_prefix
        )

    @classmethod
    def parse(cls, data: bytes, blob_id: str) -> StreamHeader:
        """Parse and sanity-check a header; raise BlobIntegrityError naming the blob."""
        if len(data) != HEADER_LEN:
            raise BlobIntegrityError(blob_id, "shorter than a blob header")
        magic, version, suite, chunk_size, prefix = _HEADER.unpack(data)
        if magic != MAGIC:
            raise BlobIntegrityError(blob_id, "not an encrypted blob (bad magic)")
        if version not in (VERSION, VERSION_APPENDABLE) or suite != SUITE_AES256GCM_STREAM:
            raise BlobIntegrityError(blob_id, f"unsupported version {version} / suite {suite}")
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise BlobIntegrityError(blob_id, f"implausible chunk size {chunk_size}")
        return cls(chunk_size=chunk_size, nonce_prefix=prefix, version=version)


def _nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _check_key(data_key: bytes) -> AESGCM:
    if len(data_key) != DATA_KEY_LEN:
        raise ValueError("data key must be 32 bytes")
    return AESGCM(data_key)


class StreamEncryptor:
    """Encrypts one blob chunk by chunk into caller-owned buffers."""

    def __init__(self, data_key: bytes, blob_id: str, chunk_size: int) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be within 1..{MAX_CHUNK_SIZE}")
        self._aead = _check_key(data_key)
        self._blob_id = blob_id
        self.chunk_size = chunk_size
        header = StreamHeader(chunk_size, secrets.token_bytes(NONCE_PREFIX_LEN))
        self.header = header.to_bytes()
        self._prefix = header.nonce_prefix
        self._aad = self.header + blob_id.encode("ascii")
        self._counter = 0
        self._finished = False

    def encrypt_chunk(self, plaintext: memoryview, out: memoryview, *, final: bool) -> int:
        """Encrypt the next chunk into ``out`` (at least len+16 bytes); return bytes written."""
        n = len(plaintext)
        if self._finished:
            raise ValueError("the final chunk was already written")
        if n > self.chunk_size or (not final and n != self.chunk_size):
            raise ValueError("only the final chunk may be shorter than the chunk size")
        if n == 0 and self._counter != 0:
            raise ValueError("only an empty blob has an empty final chunk")
        if self._counter >= MAX_CHUNKS:
            raise ValueError("blob has too many chunks for a 32-bit counter")
        nonce = _nonce(self._prefix, self._counter, final)
        written = self._aead.encrypt_into(nonce, plaintext, self._aad, out[: n + TAG_LEN])
        self._counter += 1
        self._finished = final
        return written


class AppendableEncryptor:
    """Encrypts version-2 records; resumable from (header, counter) in another process."""

    def __init__(
        self, data_key: bytes, blob_id: str, chunk_size: int, *,
        header: bytes | None = None, counter: int = 0,
    ) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk size must be within 1..{MAX_CHUNK_SIZE}")
        self._aead = _check_key(data_key)
        if header is None:
            header = StreamHeader(chunk_size, secrets.token_bytes(NONCE_PREFIX_LEN),
                                  VERSION_APPENDABLE).to_bytes()
        parsed = StreamHeader.parse(header, blob_id)
        if parsed.version != VERSION_APPENDABLE or parsed.chunk_size != chunk_size:
            raise ValueError("not the header of this appendable blob")
        self.header = header
        self.chunk_size = chunk_size
        self._aad = header + blob_id.encode("ascii")
        self.counter = counter
        self.finished = False

    @property
    def record_max(self) -> int:
        return RECORD_PREFIX_LEN + self.chunk_size + TAG_LEN

    def encrypt_record(self, plaintext: memoryview, out: memoryview, *, final: bool) -> int:
        """Encrypt the next chunk (1..chunk_size bytes; 0 only if final) as a whole record."""
        n = len(plaintext)
        if self.finished:
            raise ValueError("the final chunk was already written")
        if n > self.chunk_size or (n == 0 and not final):
            raise ValueError("a record holds 1..chunk_size bytes (0 only in the final one)")
        if self.counter >= MAX_CHUNKS:
            raise ValueError("blob has too many chunks for a 32-bit counter")
        salt = secrets.token_bytes(SALT_LEN)
        out[:SALT_LEN] = salt
        out[SALT_LEN:RECORD_PREFIX_LEN] = n.to_bytes(4, "big")
        nonce = _nonce(salt, self.counter, final)
        written = self._aead.encrypt_into(
            nonce, plaintext, self._aad, out[RECORD_PREFIX_LEN : RECORD_PREFIX_LEN + n + TAG_LEN])
        self.counter += 1
        self.finished = final
        return RECORD_PREFIX_LEN + written


class StreamDecryptor:
    """Decrypts and authenticates one blob chunk by chunk, in order."""

    def __init__(self, data_key: bytes, blob_id: str, header: bytes) -> None:
        self._blob_id = blob_id
        parsed = StreamHeader.parse(header, blob_id)
        self._aead = _check_key(data_key)
        self.chunk_size = parsed.chunk_size
        self.version = parsed.version
        self._prefix = parsed.nonce_prefix
        self._aad = header + blob_id.encode("ascii")
        self._counter = 0
        self._finished = False

    def record_length(self, prefix: bytes | bytearray | memoryview) -> int:
        """Version 2: the whole length of the record whose first 11 bytes are ``prefix``."""
        n = int.from_bytes(prefix[SALT_LEN:RECORD_PREFIX_LEN], "big")
        if n > self.chunk_size:
            raise BlobIntegrityError(self._blob_id, f"chunk {self._counter} has a bad length")
        return RECORD_PREFIX_LEN + n + TAG_LEN

    def decrypt_record(self, record: memoryview, out: memoryview, *, final: bool) -> int:
        """Version 2: authenticate and decrypt the next whole record into ``out``."""
        if self._finished:
            raise BlobIntegrityError(self._blob_id, "data after the final chunk")
        if len(record) < RECORD_PREFIX_LEN + TAG_LEN or len(record) != self.record_length(
                record[:RECORD_PREFIX_LEN]):
            raise BlobIntegrityError(self._blob_id, f"chunk {self._counter} is truncated")
        n = len(record) - RECORD_PREFIX_LEN - TAG_LEN
        if n == 0 and not final:
            raise BlobIntegrityError(self._blob_id, f"chunk {self._counter} is empty")
        nonce = _nonce(bytes(record[:SALT_LEN]), self._counter, final)
        try:
            got = self._aead.decrypt_into(nonce, record[RECORD_PREFIX_LEN:], self._aad, out[:n])
        except InvalidTag as e:
            raise BlobIntegrityError(
                self._blob_id,
                f"chunk {self._counter} failed authentication "
                "(altered, truncated, reordered, appended to, or another blob's data)",
            ) from e
        self._counter += 1
        self._finished = final
        return got

    @property
    def record_size(self) -> int:
        """Size on disk of a full (non-final) chunk: plaintext plus tag."""
        return self.chunk_size + TAG_LEN

    def decrypt_chunk(self, record: memoryview, out: memoryview, *, final: bool) -> int:
        """Authenticate and decrypt the next chunk into ``out``; return plaintext length."""
        n = len(record) - TAG_LEN
        if self._finished:
            raise BlobIntegrityError(self._blob_id, "data after the final chunk")
        if n < 0 or n > self.chunk_size:
            raise BlobIntegrityError(self._blob_id, f"chunk {self._counter} is truncated")
        if not final and n != self.chunk_size:
            raise BlobIntegrityError(self._blob_id, f"chunk {self._counter} is short")
        if final and n == 0 and self._counter != 0:
            raise BlobIntegrityError(self._blob_id, "truncated after the last full chunk")
        nonce = _nonce(self._prefix, self._counter, final)
        try:
            got = self._aead.decrypt_into(nonce, record, self._aad, out[:n])
        except InvalidTag as e:
            raise BlobIntegrityError(
                self._blob_id,
                f"chunk {self._counter} failed authentication "
                "(altered, truncated, reordered, appended to, or another blob's data)",
            ) from e
        self._counter += 1
        self._finished = final
        return got

    @property
    def finished(self) -> bool:
        """True once the final chunk has been authenticated."""
        return self._finished
