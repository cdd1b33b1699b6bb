"""Blob backends and the registry that config chooses from (``make_backend("local", root=…)``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from storage.backends.base import BLOB_NAME_RE, BlobBackend, BlobSink, BlobSource, check_name
from storage.backends.local import LocalBackend

# name -> "module:class". A backend's module is imported only when it is chosen: the S3
# backend pulls in boto3 (~9 MiB per process), which a server on local disk never needs.
BACKENDS: dict[str, str] = {
    "local": "storage.backends.local:LocalBackend",
    "s3": "storage.backends.s3:S3Backend",
}


def backend_class(kind: str) -> Callable[..., BlobBackend]:
    """The backend class registered as ``kind``, its module imported now if need be."""
    try:
        target = BACKENDS[kind]
    except KeyError as e:
        raise ValueError(f"unknown blob backend {kind!r}; choose one of {sorted(BACKENDS)}") from e
    module, _, name = target.partition(":")
    factory: Callable[..., BlobBackend] = getattr(importlib.import_module(module), name)
    return factory


def make_backend(kind: str, **options: Any) -> BlobBackend:
    """Build the backend named ``kind`` from its options (``root`` for local; bucket… for s3)."""
    return backend_class(kind)(**options)


def __getattr__(name: str) -> Any:
    """``from storage.backends import S3Backend`` still works, importing boto3 only then."""
    if name == "S3Backend":
        return backend_class("s3")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "BLOB_NAME_RE",
    "BlobBackend",
    "BlobSink",
    "BlobSource",
    "LocalBackend",
    "S3Backend",
    "backend_class",
    "check_name",
    "make_backend",
]
