"""Backends move a blob to quarantine/ (never delete it) and say when a blob was written."""

from __future__ import annotations

import time

import pytest

from storage.backends.base import BlobBackend
from storage.errors import BlobNotFound

NAME = "0f" * 16


def _put(backend: BlobBackend, name: str, data: bytes) -> None:
    with backend.writer(name) as sink:
        sink.write(data)


def test_a_quarantined_blob_leaves_names_and_keeps_its_bytes(backend: BlobBackend) -> None:
    _put(backend, NAME, b"ciphertext")
    backend.quarantine(NAME)
    assert list(backend.names()) == []
    assert not backend.exists(NAME)
    assert list(backend.quarantined()) == [NAME]


def test_quarantining_a_missing_blob_is_blob_not_found(backend: BlobBackend) -> None:
    with pytest.raises(BlobNotFound):
        backend.quarantine(NAME)


def test_modified_is_when_the_blob_was_written(backend: BlobBackend) -> None:
    before = time.time()
    _put(backend, NAME, b"ciphertext")
    assert before - 2 <= backend.modified(NAME) <= time.time() + 2
    with pytest.raises(BlobNotFound):
        backend.modified("1e" * 16)
