"""Structural checks that find damage decoders silently paper over.

libjpeg recovers from damaged entropy-coded data without telling Pillow, so a JPEG with a
sector of garbage still "decodes". Walking the marker structure (ITU-T T.81, Annex B) finds
it: after a scan only fill bytes, restart markers in sequence, or a valid next marker may
follow; and a complete file ends with EOI.
"""

from __future__ import annotations

# Markers that may follow the end of a scan (T.81 Table B.1): frame headers, tables, another
# scan, application and comment segments, DNL, EOI.
_SEGMENT_MARKERS = (
    set(range(0xC0, 0xD0)) - {0xC8}  # SOFn, DHT (C4), DAC (CC)
    | {0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFE}
    | set(range(0xE0, 0xF0))
)
_EOI = 0xD9


def jpeg_damage(data: bytes) -> str | None:
    """A content-free description of the first structural fault, or None if the file is sound."""
    if not data.startswith(b"\xff\xd8"):
        return "no start-of-image marker"
    i = 2
    n = len(data)
    while i < n:
        if data[i] != 0xFF:
            return "bytes between segments"
        while i < n and data[i] == 0xFF:  # fill bytes before a marker are allowed
            i += 1
        if i >= n:
            return "truncated"
        marker = data[i]
        i += 1
        if marker == _EOI:
            return None
        if marker not in _SEGMENT_MARKERS:
            return "invalid marker"
        if i + 2 > n:
            return "truncated"
        length = int.from_bytes(data[i : i + 2], "big")
        if length < 2 or i + length > n:
            return "truncated" if i + length > n else "invalid segment length"
        i += length
        if marker == 0xDA:
            fault, i = _skip_scan(data, i)
            if fault:
                return fault
    return "truncated"


def _skip_scan(data: bytes, i: int) -> tuple[str | None, int]:
    """Skip entropy-coded data; return (fault, index of the marker that ends the scan)."""
    expected_rst = 0
    n = len(data)
    while True:
        j = data.find(b"\xff", i)
        if j == -1 or j + 1 >= n:
            return "truncated", n
        following = data[j + 1]
        if following == 0x00:  # a stuffed 0xFF data byte
            i = j + 2
        elif 0xD0 <= following <= 0xD7:
            if following - 0xD0 != expected_rst:
                return "restart markers out of sequence", j
            expected_rst = (expected_rst + 1) % 8
            i = j + 2
        else:
            k = j
            while k < n and data[k] == 0xFF:
                k += 1
            if k >= n:
                return "truncated", n
            if data[k] != _EOI and data[k] not in _SEGMENT_MARKERS:
                return "invalid marker in scan data", j
            return None, j
