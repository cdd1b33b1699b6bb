"""What the media parsers hand back: derivatives, and the verdict on a file they refuse."""

from __future__ import annotations

from dataclasses import dataclass, field


class MediaFlagged(Exception):  # noqa: N818 - a verdict on the file, not a program error
    """The file cannot be processed; ``flag`` says why (bomb, corrupt, unsupported…)."""

    def __init__(self, flag: str, reason: str) -> None:
        super().__init__(reason)
        self.flag = flag
        self.reason = reason  # a fixed, content-free description: safe to log


@dataclass(frozen=True)
class Derivative:
    """One working copy: its bytes, type, and how it was made (for the custody event)."""

    kind: str  # preview, thumbnail, poster, video_preview
    data: bytes = field(repr=False)
    mime: str
    method: str
    width: int
    height: int
