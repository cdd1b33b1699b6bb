"""Reviewers' work on submissions: the queue, assignment, status, assessments, notes,
requests for more information, the submission page, previews, originals, integrity checks.

Every read of evidence goes through `blobs.open_for_reading`, which commits a custody event
naming the reviewer before any plaintext is produced (fail closed). Status changes,
assessments, notes and requests are custody events in the same transaction as the change;
their details never carry the reviewer's free text (a reason or a note may name people), only
what kind of change it was.

Split by concern into the modules below; this module names the package's public surface,
so callers keep writing `package.function(...)` as they did when it was one module.
"""

from __future__ import annotations

from incidents.services.review.actions import (  # noqa: F401
    CREDIBILITY_GRADES,
    RELIABILITY_GRADES,
    SETTABLE,
    TEXT_MAX,
    Loaded,
    add_note,
    assess,
    assessments_of,
    assign,
    grades,
    load_item,
    load_submission,
    reasons,
    request_info,
    reviewers,
    set_status,
)
from incidents.services.review.evidence_access import (  # noqa: F401
    IntegrityResult,
    Original,
    Preview,
    byte_range,
    check_integrity,
    chunks,
    download_name,
    open_original,
    open_preview,
)
from incidents.services.review.page import (  # noqa: F401
    APPROXIMATE_TOLERANCE,
    DISTANCE_TOLERANCE_KM,
    TIME_TOLERANCE,
    FileFacts,
    ItemView,
    SubmissionView,
    file_facts,
    submission_view,
)
from incidents.services.review.queue import (  # noqa: F401
    QUEUE_LIMIT,
    QUEUE_STATES,
    QueueFilters,
    QueueRow,
    parse_queue_filters,
    queue,
    queue_name,
    require_reviewer,
    submissions_with_near_duplicates,
)
from incidents.services.review.requests import (  # noqa: F401
    METADATA_MAX_BYTES,
    TESTIMONY_MAX_BYTES,
    answer_info,
    read_json_blob,
    read_own_answer,
    requests_for_witness,
    witness_view,
)
