"""The tus protocol's surface (1.0.0 core, creation, termination, expiration, checksum):
its constants, the upload policy and progress, the client's metadata and checksum headers."""

from __future__ import annotations

import base64
import binascii
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from incidents.core.errors import (
    N_,
    InvalidInput,
)
from incidents.models.uploads import FILENAME_MAX, FILETYPE_MAX

log = logging.getLogger(__name__)


TUS_VERSION = "1.0.0"


TUS_EXTENSIONS = ("creation", "creation-with-upload", "termination", "expiration", "checksum")


CHECKSUM_ALGORITHMS = ("sha256",)


OPPORTUNISTIC_SWEEP = 5  # expired uploads removed whenever a new one is created


METADATA_MAX = 4096  # bytes of the Upload-Metadata header


METADATA_KEYS = {"filename": "filename", "name": "filename", "filetype": "filetype",
                 "type": "filetype"}


PUBLIC_ID_LEN = 32  # hex; an upload token is the public id, then (stream) the capability


@dataclass(frozen=True)
class UploadPolicy:
    """Limits from settings: the largest file and how long an unfinished upload lives."""

    max_bytes: int
    lifetime: timedelta
    lease: timedelta = timedelta(seconds=30)  # see LEASE


@dataclass(frozen=True)
class Progress:
    """Where an upload stands, for the tus response headers."""

    upload_id: str
    offset: int
    length: int
    expires_at: datetime
    finished: bool


class Body(Protocol):
    """A request body being received: ``readinto`` returns 0 at its end or when the client
    went away (then ``disconnected`` is true)."""

    disconnected: bool

    def readinto(self, buffer: memoryview) -> int: ...


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated ``key base64(value)`` pairs; keep the known keys."""
    if len(header) > METADATA_MAX:
        raise InvalidInput(N_("The upload metadata is too long."), field="Upload-Metadata")
    found: dict[str, str] = {}
    for pair in header.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        name = METADATA_KEYS.get(key.strip())
        if name is None:
            continue
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError) as e:
            raise InvalidInput(N_("The upload metadata is not valid."),
                               field="Upload-Metadata") from e
        text = raw.decode("utf-8", errors="replace")
        found[name] = clean_filename(text) if name == "filename" else clean_filetype(text)
    return found


def clean_filename(name: str) -> str:
    """A declared file name as display-only text: no path, no control or bidi characters."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control (NUL, CR/LF...); Cf: format (RTL override, zero-width); Cs: lone surrogates.
    name = "".join(c for c in name if unicodedata.category(c) not in {"Cc", "Cf", "Cs"})
    name = name.strip().strip(".")
    return name[:FILENAME_MAX]


def clean_filetype(value: str) -> str:
    """A declared media type as ``type/subtype`` in lower case, or empty; never trusted."""
    value = value.strip().lower().split(";", 1)[0].strip()
    kind, _, sub = value.partition("/")
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-")
    if not kind or not sub or not set(kind + sub) <= allowed:
        return ""
    return value[:FILETYPE_MAX]


def parse_checksum(header: str) -> bytes:
    """Upload-Checksum: ``sha256 <base64 digest>``; the digest bytes."""
    algorithm, _, value = header.strip().partition(" ")
    if algorithm.lower() not in CHECKSUM_ALGORITHMS:
        raise InvalidInput(N_("This checksum algorithm is not supported."),
                           field="Upload-Checksum")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise InvalidInput(N_("The checksum is not valid."), field="Upload-Checksum") from e
    if len(digest) != 32:
        raise InvalidInput(N_("The checksum is not valid."), field="Upload-Checksum")
    return digest
