"""Named exceptions of the evidence store; all derive from ``StorageError``.

Messages name blobs and keys by id only, never by content, so they are safe to log.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by ``storage``."""


class InvalidBlobName(StorageError):
    """A blob name is not a server-made random id (refused before touching any path)."""


class BlobNotFound(StorageError):
    """No committed blob has this name."""


class BlobExists(StorageError):
    """A blob with this name is already committed; blobs are never overwritten."""


class BlobBusy(StorageError):
    """Another live writer is appending to this blob."""


class BlobTooLarge(StorageError):
    """A blob crossed its size limit while streaming in; nothing was kept."""


class BlobWriterClosed(StorageError):
    """A blob writer was used after it was committed or aborted."""


class BackendError(StorageError):
    """The blob backend (disk, object store) failed."""


class StorageFull(BackendError):
    """The disk or quota is full; the write was abandoned and nothing kept."""


class BlobIntegrityError(StorageError):
    """A blob failed authentication or does not match its recorded hashes."""

    def __init__(self, blob_id: str, reason: str) -> None:
        super().__init__(f"blob {blob_id}: {reason}")
        self.blob_id = blob_id
        self.reason = reason


class KeyStoreError(StorageError):
    """Base class of key directory and key ring errors."""


class KeyFileMissing(KeyStoreError):
    """A key file the key directory needs is absent."""


class KeyFilePermissions(KeyStoreError):
    """A key file is readable or writable by group or others."""


class KeyFileCorrupt(KeyStoreError):
    """A key file or the key manifest cannot be parsed."""


class WrongPassphrase(KeyStoreError):
    """The wrapping key (passphrase or master.key) does not open the private keys."""


class KeyMismatch(KeyStoreError):
    """A stored public key does not match its private half."""


class KeyUnavailable(KeyStoreError):
    """The key ring has no private key with this id (unknown or retired)."""


class KeyRetireRefused(KeyStoreError):
    """The active vault key cannot be retired; rotate first."""


class SealedKeyError(KeyStoreError):
    """A sealed data key does not open for this blob with this vault key."""
