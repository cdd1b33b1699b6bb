"""Resumable uploads (tus 1.0.0 core, creation, termination, expiration, checksum).

How the bytes are kept (never in plaintext, safe with many processes and restarts):

- each PATCH body streams into its own encrypted segment blob; if the client goes away
  mid-body, what arrived is committed and the offset advances by exactly that much;
- the offset moves with a conditional UPDATE (``WHERE offset = <offset the PATCH started
  at>``), so of two racing PATCHes at most one is recorded; the loser's blob is deleted;
- when the last byte arrives the segments are decrypted in order into one final blob
  (the plaintext SHA-256 computed once, by the blob writer), recorded through the blobs
  service, and the segments are deleted. A body that carries the whole file in one PATCH
  is its own final blob: nothing is copied.

No database transaction is held open while bytes stream in. The submission service claims
the finished blob with ``claim_finished_upload``; that deletes the upload row in the same
transaction as the submission, so a failed submission leaves the upload claimable.

Split by concern into the modules below; this module names the package's public surface,
so callers keep writing `package.function(...)` as they did when it was one module.
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
