"""What a file is, from its bytes: magic numbers against an allow-list (DESIGN §7).

The declared type and file name come from the client and are only compared with what the
bytes say; a disagreement is recorded as a flag, never trusted. Types off the allow-list
(SVG, HTML, scripts, archives, executables…) are still kept as evidence, flagged
``unsupported`` and never rendered.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# How many leading bytes `sniff` needs; callers read this much (or the whole file if smaller).
HEAD_BYTES = 4096
# How far into a file (head and, where cheap, tail) to look for markup that makes a polyglot.
POLYGLOT_SCAN_BYTES = 1024 * 1024


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"
    OTHER = "other"  # off the allow-list: kept, flagged, never rendered


@dataclass(frozen=True)
class Sniffed:
    """The type the bytes say a file has; ``allowed`` is False for anything off the list."""

    mime: str
    kind: MediaKind
    allowed: bool
    extensions: tuple[str, ...]


def _t(mime: str, kind: MediaKind, *extensions: str, allowed: bool = True) -> Sniffed:
    return Sniffed(mime, kind, allowed, extensions)


# The allow-list of issue 4: photos, video, audio, PDF.
JPEG = _t("image/jpeg", MediaKind.IMAGE, "jpg", "jpeg", "jpe", "jfif")
PNG = _t("image/png", MediaKind.IMAGE, "png")
WEBP = _t("image/webp", MediaKind.IMAGE, "webp")
HEIC = _t("image/heic", MediaKind.IMAGE, "heic", "heif", "hif")
TIFF = _t("image/tiff", MediaKind.IMAGE, "tif", "tiff")
MP4 = _t("video/mp4", MediaKind.VIDEO, "mp4", "m4v")
MOV = _t("video/quicktime", MediaKind.VIDEO, "mov", "qt")
WEBM = _t("video/webm", MediaKind.VIDEO, "webm")
THREE_GP = _t("video/3gpp", MediaKind.VIDEO, "3gp", "3gpp", "3g2")
MKV = _t("video/x-matroska", MediaKind.VIDEO, "mkv")
M4A = _t("audio/mp4", MediaKind.AUDIO, "m4a", "mp4", "aac")
MP3 = _t("audio/mpeg", MediaKind.AUDIO, "mp3")
OGG = _t("audio/ogg", MediaKind.AUDIO, "ogg", "oga", "opus")
WAV = _t("audio/wav", MediaKind.AUDIO, "wav")
AMR = _t("audio/amr", MediaKind.AUDIO, "amr")
PDF = _t("application/pdf", MediaKind.DOCUMENT, "pdf")

ALLOWED_TYPES = (JPEG, PNG, WEBP, HEIC, TIFF, MP4, MOV, WEBM, THREE_GP, MKV,
                 M4A, MP3, OGG, WAV, AMR, PDF)

# Recognised but refused: named so reviewers see what arrived.
SVG = _t("image/svg+xml", MediaKind.OTHER, "svg", allowed=False)
HTML = _t("text/html", MediaKind.OTHER, "html", "htm", allowed=False)
XML = _t("application/xml", MediaKind.OTHER, "xml", allowed=False)
SCRIPT = _t("text/x-script", MediaKind.OTHER, "sh", "py", "pl", "php", allowed=False)
ZIP = _t("application/zip", MediaKind.OTHER, "zip", allowed=False)
RAR = _t("application/vnd.rar", MediaKind.OTHER, "rar", allowed=False)
SEVEN_Z = _t("application/x-7z-compressed", MediaKind.OTHER, "7z", allowed=False)
GZIP = _t("application/gzip", MediaKind.OTHER, "gz", allowed=False)
EXECUTABLE = _t("application/x-executable", MediaKind.OTHER, "exe", allowed=False)
GIF = _t("image/gif", MediaKind.OTHER, "gif", allowed=False)
AVI = _t("video/x-msvideo", MediaKind.OTHER, "avi", allowed=False)
EMPTY = _t("application/x-empty", MediaKind.OTHER, allowed=False)
UNKNOWN = _t("application/octet-stream", MediaKind.OTHER, allowed=False)

# ISO base media file format (ISO/IEC 14496-12) brands, major or compatible, by type.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_3GP_PREFIXES = (b"3gp", b"3g2", b"3ge", b"3gg", b"3gs")
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_MOV_BRANDS = {b"qt  "}

_MARKUP = re.compile(rb"<(?:\?php|script\b|svg\b|html\b|!doctype\s+html|iframe\b|body\b|"
                     rb"object\b|embed\b)", re.IGNORECASE)


def sniff(head: bytes) -> Sniffed:
    """Identify a file from its first bytes (at least ``HEAD_BYTES`` of them when available)."""
    if not head:
        return EMPTY
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return AVI
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head[4:8] == b"ftyp":
        return _sniff_isobmff(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _sniff_ebml(head)
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith((b"#!AMR\n", b"#!AMR-WB\n")):
        return AMR
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return MP3
    if head.startswith(b"%PDF-"):
        return PDF
    return _sniff_refused(head)


def _sniff_isobmff(head: bytes) -> Sniffed:
    size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    end = min(len(head), size if 16 <= size <= 4096 else 64)
    brands = {major} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _HEIF_BRANDS or (brands & _HEIF_BRANDS and major not in _MOV_BRANDS
                                 and major[:3] not in {b"iso", b"mp4", b"avc"}):
        return HEIC
    if major in _MOV_BRANDS:
        return MOV
    if major.startswith(_3GP_PREFIXES):
        return THREE_GP
    if major in _M4A_BRANDS:
        return M4A
    if major.startswith((b"avif", b"avis")):
        return _t("image/avif", MediaKind.OTHER, "avif", allowed=False)
    # isom, iso2…, mp41, mp42, avc1, dash, MSNV, … : MP4. Audio-only MP4 with such a brand is
    # still "video/mp4" by its bytes; the container probe later tells it has no video stream.
    return MP4


def _sniff_ebml(head: bytes) -> Sniffed:
    """Matroska and WebM share EBML (RFC 8794); the DocType element (0x4282) tells them apart."""
    at = head.find(b"\x42\x82", 4, 64)
    if at != -1 and at + 3 <= len(head):
        length = head[at + 2] & 0x7F  # one-byte EBML size (0x8N), as every muxer writes it
        doc_type = head[at + 3 : at + 3 + length]
        if doc_type == b"webm":
            return WEBM
        if doc_type == b"matroska":
            return MKV
    return MKV


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a valid version, layer and bitrate index."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0x03
    layer = (head[1] >> 1) & 0x03
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0x03
    return version != 1 and layer != 0 and bitrate not in (0, 15) and sample_rate != 3


def _sniff_refused(head: bytes) -> Sniffed:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return ZIP
    if head.startswith(b"Rar!\x1a\x07"):
        return RAR
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return SEVEN_Z
    if head.startswith(b"\x1f\x8b"):
        return GZIP
    if head.startswith((b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")):
        return EXECUTABLE
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"#!"):
        return SCRIPT
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text[:2048]:
        return SVG
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return HTML
    if text.startswith(b"<?php"):
        return SCRIPT
    if text.startswith(b"<?xml"):
        return XML
    return UNKNOWN


def has_markup(data: bytes) -> bool:
    """True if HTML/SVG/PHP markup appears in the bytes: an allowed type that is a polyglot."""
    return _MARKUP.search(data) is not None


# Declared types clients send for the same thing under other names.
_MIME_ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/heif": "image/heic",
    "image/heic-sequence": "image/heic", "image/heif-sequence": "image/heic",
    "video/3gpp2": "video/3gpp", "audio/3gpp": "video/3gpp", "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4", "audio/aac": "audio/mp4", "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
    "audio/opus": "audio/ogg", "application/ogg": "audio/ogg", "video/ogg": "audio/ogg",
    "audio/amr-wb": "audio/amr", "video/x-m4v": "video/mp4", "audio/webm": "video/webm",
    "application/x-pdf": "application/pdf",
}
# A container the bytes call one thing is often declared as a sibling; not a mismatch.
_COMPATIBLE = {
    "video/mp4": {"audio/mp4", "video/quicktime", "video/3gpp"},
    "audio/mp4": {"video/mp4"},
    "video/quicktime": {"video/mp4"},
    "video/3gpp": {"video/mp4"},
    "video/webm": {"video/x-matroska"},
    "video/x-matroska": {"video/webm"},
}
_GENERIC_DECLARED = {"", "application/octet-stream", "binary/octet-stream"}


def declared_mismatch(sniffed: Sniffed, declared_type: str | None,
                      declared_name: str | None) -> bool:
    """True if the client's type or file extension disagrees with what the bytes are."""
    declared = (declared_type or "").split(";")[0].strip().lower()
    declared = _MIME_ALIASES.get(declared, declared)
    if declared not in _GENERIC_DECLARED and declared != sniffed.mime and (
        declared not in _COMPATIBLE.get(sniffed.mime, set())
    ):
        return True
    name = (declared_name or "").strip().lower()
    if "." in name:
        extension = name.rsplit(".", 1)[1]
        if extension in _KNOWN_EXTENSIONS and extension not in _accepted_extensions(sniffed):
            return True
    return False


_BY_MIME = {t.mime: t for t in ALLOWED_TYPES}
_KNOWN_EXTENSIONS = {
    ext
    for t in (*ALLOWED_TYPES, SVG, HTML, SCRIPT, ZIP, RAR, SEVEN_Z, GIF, AVI)
    for ext in t.extensions
}


def _accepted_extensions(sniffed: Sniffed) -> set[str]:
    accepted = set(sniffed.extensions)
    for mime in _COMPATIBLE.get(sniffed.mime, set()):
        accepted.update(_BY_MIME[mime].extensions)
    return accepted
