"""Blob backends and the registry that config chooses from (``make_backend("local", root=…)``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storage.backends.base import BLOB_NAME_RE, BlobBackend, BlobSink, BlobSource, check_name
from storage.backends.local import LocalBackend
from storage.backends.s3 import S3Backend

BACKENDS: dict[str, Callable[..., BlobBackend]] = {"local": LocalBackend, "s3": S3Backend}


def make_backend(kind: str, **options: Any) -> BlobBackend:
    """Build the backend named ``kind`` from its options (``root`` for local; bucket… for s3)."""
    try:
        factory = BACKENDS[kind]
    except KeyError as e:
        raise ValueError(f"unknown blob backend {kind!r}; choose one of {sorted(BACKENDS)}") from e
    return factory(**options)


__all__ = [
    "BACKENDS",
    "BLOB_NAME_RE",
    "BlobBackend",
    "BlobSink",
    "BlobSource",
    "LocalBackend",
    "S3Backend",
    "check_name",
    "make_backend",
]
