"""Resumable uploads (tus 1.0.0 core, creation, termination, expiration, checksum).

How the bytes are kept (never in plaintext, safe with many processes and restarts).
An upload made now is one appendable blob (``storage.appendable``, "stream" format):

- POST makes the blob: a data key sealed to the vault's public key, the STREAM header,
  and a random capability that seals the resume state; the upload URL is
  ``/api/v1/uploads/<public id><capability>``: the capability is never stored, so neither
  the database nor the instance folder can continue (or read) an upload in flight;
- a PATCH takes a short lease on the upload (two requests never append at once: the
  second is answered 423 until the first ends or has been quiet for ``LEASE``), then
  appends records and stores a checkpoint (offset and resume state, conditional on the
  lease) every ``CHECKPOINT_BYTES`` and wherever the body ends or the client goes away,
  so a SIGKILL loses at most that much of what arrived;
- the last byte writes the final record; the blob is made visible (a link, or S3's
  CompleteMultipartUpload) and its sealed digest recorded: nothing is decrypted or copied.
  A PATCH with ``Upload-Checksum`` is checkpointed only at its end, after the check.

Uploads created before migration 0011 ("segments") finish the old way:

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

The package: `protocol` (tus constants, policy, metadata and checksum headers), `common`
(lookup by token, progress, the sealed declared name, removal), `receive` (PATCH and HEAD
of stream uploads), `segments` (the pre-0011 format), `lifecycle` (create, terminate,
sweep, claim). This module names the public surface.
"""

from incidents.services.uploads.common import PendingName, seal_pending_name
from incidents.services.uploads.lifecycle import (
    Claimed,
    claim_finished_upload,
    create_upload,
    sweep,
    terminate,
)
from incidents.services.uploads.protocol import (
    CHECKSUM_ALGORITHMS,
    PUBLIC_ID_LEN,
    TUS_EXTENSIONS,
    TUS_VERSION,
    Body,
    Progress,
    UploadPolicy,
    clean_filename,
    clean_filetype,
    parse_checksum,
    parse_metadata,
)
from incidents.services.uploads.receive import append, get_progress, in_flight_blob_ids

__all__ = [
    "CHECKSUM_ALGORITHMS", "PUBLIC_ID_LEN", "TUS_EXTENSIONS", "TUS_VERSION", "Body", "Claimed",
    "PendingName", "Progress", "UploadPolicy", "append", "claim_finished_upload",
    "clean_filename", "clean_filetype", "create_upload", "get_progress", "in_flight_blob_ids",
    "parse_checksum", "parse_metadata", "seal_pending_name", "sweep", "terminate",
]
