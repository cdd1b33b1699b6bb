"""Resumable uploads (tus 1.0.0 core, creation, termination, expiration, checksum).

`transfer` keeps the bytes (encrypted segments, the offset, the final blob; how, in its
docstring), `protocol` checks what a client declares, `claim` hands a finished upload to
the submission that names it. This module names the package's public surface, so callers
keep writing `uploads.append(...)` as they did when it was one module.
"""

from __future__ import annotations

from incidents.services.uploads.claim import (  # noqa: F401
    claim_finished_upload,
)
from incidents.services.uploads.protocol import (  # noqa: F401
    CHECKSUM_ALGORITHMS,
    METADATA_KEYS,
    METADATA_MAX,
    TUS_EXTENSIONS,
    TUS_VERSION,
    clean_filename,
    clean_filetype,
    parse_checksum,
    parse_metadata,
)
from incidents.services.uploads.transfer import (  # noqa: F401
    OPPORTUNISTIC_SWEEP,
    Body,
    Progress,
    UploadPolicy,
    append,
    create_upload,
    get_progress,
    log,
    sweep,
    terminate,
)
