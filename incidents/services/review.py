"""Reviewers' work on submissions: the queue, assignment, status, assessments, notes,
requests for more information, the submission page, previews, originals, integrity checks.

Every read of evidence goes through `blobs.open_for_reading`, which commits a custody event
naming the reviewer before any plaintext is produced (fail closed). Status changes,
assessments, notes and requests are custody events in the same transaction as the change;
their details never carry the reviewer's free text (a reason or a note may name people), only
what kind of change it was.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from math import asin, cos, radians, sin, sqrt
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import unit_of_work
from incidents.core.errors import N_, Forbidden, InvalidInput, NotFound
from incidents.models import (
    Assessment,
    BlobRecord,
    CustodyEvent,
    DerivativeKind,
    EvidenceItem,
    EvidenceKind,
    InfoRequest,
    MediaDerivative,
    MediaFlagRecord,
    MediaPhash,
    MediaProcessing,
    ReviewAssignment,
    ReviewerNote,
    Role,
    SourceReliability,
    Submission,
    SubmissionStatus,
    User,
)
from incidents.models.review import CREDIBILITY_VALUES
from incidents.services import custody
from incidents.services.access import STAFF
from incidents.services.evidence import blobs
from incidents.services.media import phash as phashes
from incidents.services.media.duplicates import NearDuplicate, near_duplicates, unseal_phash
from incidents.services.submissions import new_public_id
from storage.blob_reader import BlobReader
from storage.blobstore import BlobStore
from storage.crypto.keys import KeyProvider
from storage.errors import BlobNotFound, KeyStoreError, StorageError

Loaded = TypeVar("Loaded", Submission, EvidenceItem)

# Queue names (what reviewers see) -> the Submission status values they cover.
QUEUE_STATES: dict[str, tuple[SubmissionStatus, ...]] = {
    "new": (SubmissionStatus.RECEIVED,),
    "in_review": (SubmissionStatus.IN_REVIEW,),
    "needs_info": (SubmissionStatus.NEEDS_INFO,),
    "accepted": (SubmissionStatus.ACCEPTED, SubmissionStatus.USED_IN_INCIDENT),
    "rejected": (SubmissionStatus.REJECTED,),
}
# What a reviewer may set directly (needs_info is set by a request for information).
SETTABLE = {"new": SubmissionStatus.RECEIVED, "in_review": SubmissionStatus.IN_REVIEW,
            "accepted": SubmissionStatus.ACCEPTED, "rejected": SubmissionStatus.REJECTED,
            "needs_info": SubmissionStatus.NEEDS_INFO}
TEXT_MAX = 10_000
QUEUE_LIMIT = 200
METADATA_MAX_BYTES = 4 * 1024 * 1024
TESTIMONY_MAX_BYTES = 4 * 1024 * 1024
# A capture time further than this from the witness's stated time is highlighted.
TIME_TOLERANCE = timedelta(hours=12)
APPROXIMATE_TOLERANCE = timedelta(days=2)
# A GPS position further than this from the stated place is highlighted.
DISTANCE_TOLERANCE_KM = 30.0


def require_reviewer(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden()


def queue_name(status: SubmissionStatus) -> str:
    return next(name for name, values in QUEUE_STATES.items() if status in values)


# --- the queue --------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    place: str | None = None  # a place id or a region id
    category: str | None = None
    has_media: bool | None = None
    near_duplicate: bool | None = None
    mine: bool = False


def _flag(value: str | None, name: str) -> bool | None:
    if value in (None, ""):
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name) from e


def _short_id(value: str | None, name: str) -> str | None:
    if not value:
        return None
    if len(value) > 64 or not value.replace("_", "").isalnum() or not value.isascii():
        raise InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)
    return value


def parse_queue_filters(params: Mapping[str, Any]) -> QueueFilters:
    state = params.get("status") or None
    if state is not None and state not in QUEUE_STATES:
        raise InvalidInput(N_("The field %(name)s is not valid."), field="status", name="status")
    return QueueFilters(
        state=state, date_from=_day(params.get("from"), "from"),
        date_to=_day(params.get("to"), "to"), place=_short_id(params.get("place"), "place"),
        category=_short_id(params.get("category"), "category"),
        has_media=_flag(params.get("has_media"), "has_media"),
        near_duplicate=_flag(params.get("near_duplicate"), "near_duplicate"),
        mine=params.get("mine") in ("1", "true", "on"))


@dataclass(frozen=True)
class QueueRow:
    submission: Submission
    queue: str
    assignee: str | None
    items: int
    has_media: bool
    near_duplicate: bool


def submissions_with_near_duplicates(session: Session, keys: KeyProvider,
                                     max_distance: int = phashes.DEFAULT_NEAR_DISTANCE
                                     ) -> set[int]:
    """Ids of submissions holding a picture within `max_distance` bits of one in another.

    Unseals every stored hash once and compares pairs: fine for thousands of pictures.
    """
    hashes: list[tuple[int, int]] = []
    rows = session.execute(select(MediaPhash, EvidenceItem.submission_id)
                           .join(EvidenceItem, EvidenceItem.id == MediaPhash.item_id))
    for row, submission_id in rows:
        try:
            hashes.append((submission_id, unseal_phash(keys, row)))
        except KeyStoreError:
            continue
    found: set[int] = set()
    for i, (sub_a, hash_a) in enumerate(hashes):
        for sub_b, hash_b in hashes[i + 1:]:
            if sub_a != sub_b and phashes.hamming(hash_a, hash_b) <= max_distance:
                found.update((sub_a, sub_b))
    return found


def queue(session: Session, keys: KeyProvider, user: User, filters: QueueFilters, *,
          zone: str = "Asia/Almaty", limit: int = QUEUE_LIMIT) -> list[QueueRow]:
    """Submissions for review, newest first, with the filters applied."""
    require_reviewer(user)
    media = exists().where(EvidenceItem.submission_id == Submission.id,
                           EvidenceItem.kind == EvidenceKind.FILE)
    query = select(Submission).order_by(Submission.created_at.desc(), Submission.id.desc())
    if filters.state:
        query = query.where(Submission.status.in_(QUEUE_STATES[filters.state]))
    tz = ZoneInfo(zone)
    if filters.date_from:
        query = query.where(Submission.occurred_at
                            >= datetime.combine(filters.date_from, time(0), tz).astimezone(UTC))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time(0), tz)
        query = query.where(Submission.occurred_at < end.astimezone(UTC))
    if filters.place:
        query = query.where((Submission.place_id == filters.place)
                            | (Submission.region == filters.place))
    if filters.has_media is not None:
        query = query.where(media if filters.has_media else ~media)
    if filters.mine:
        query = query.where(exists().where(ReviewAssignment.submission_id == Submission.id,
                                           ReviewAssignment.reviewer_id == user.id))
    duplicates = (submissions_with_near_duplicates(session, keys)
                  if filters.near_duplicate is not None else set())
    rows: list[QueueRow] = []
    for submission in session.scalars(query):
        if filters.category and filters.category not in submission.categories:
            continue
        is_duplicate = submission.id in duplicates
        if filters.near_duplicate is not None and is_duplicate != filters.near_duplicate:
            continue
        assignment = session.get(ReviewAssignment, submission.id)
        rows.append(QueueRow(
            submission, queue_name(submission.status),
            assignment.reviewer.pseudonym if assignment else None, len(submission.items),
            any(i.kind is EvidenceKind.FILE for i in submission.items), is_duplicate))
        if len(rows) >= limit:
            break
    return rows


# --- loading ------------------------------------------------------------------------------


def load_submission(session: Session, user: User, public_id: str) -> Submission:
    return _load(session, user, Submission, public_id)


def assessments_of(session: Session, submission: Submission) -> list[Assessment]:
    """Every assessment of the submission's items, item by item."""
    return [a for i in submission.items
            for a in session.scalars(select(Assessment).where(Assessment.item_id == i.id))]


def load_item(session: Session, user: User, public_id: str) -> EvidenceItem:
    return _load(session, user, EvidenceItem, public_id)


def _load(session: Session, user: User, model: type[Loaded], public_id: str) -> Loaded:
    require_reviewer(user)
    if not isinstance(public_id, str) or len(public_id) > 32:
        raise NotFound()
    found = session.scalar(select(model).where(model.public_id == public_id))
    if found is None:
        raise NotFound()
    return found


def _text(value: Any, name: str, *, required: bool = True, max_length: int = TEXT_MAX) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(N_("The field %(name)s is not valid."), field=name, name=name)
    value = value.strip()
    if required and not value:
        raise InvalidInput(N_("The field %(name)s must be a non-empty string."), field=name,
                           name=name)
    if len(value) > max_length or "\x00" in value:
        raise InvalidInput(N_("The field %(name)s is too long or has a NUL byte."), field=name,
                           name=name)
    return value


# --- status, assignment -------------------------------------------------------------------


def _change_status(session: Session, user: User, submission: Submission,
                   status: SubmissionStatus) -> None:
    old = submission.status
    if old is status:
        return
    submission.status = status
    custody.append(session, actor=user.public_id, action="status_changed",
                   subject=f"submission:{submission.public_id}",
                   details={"from": old.value, "to": status.value})


def set_status(session: Session, user: User, public_id: str, state: str) -> Submission:
    """Move a submission to a queue state; a custody event "status_changed"."""
    submission = load_submission(session, user, public_id)
    if state not in SETTABLE:
        raise InvalidInput(N_("The field %(name)s is not valid."), field="status", name="status")
    with unit_of_work(session):
        _change_status(session, user, submission, SETTABLE[state])
    return submission


def assign(session: Session, user: User, public_id: str, reviewer: str | None) -> Submission:
    """Assign a submission to a reviewer (by pseudonym; "" or None: to oneself)."""
    submission = load_submission(session, user, public_id)
    target = user
    if reviewer:
        found = session.scalar(select(User).where(User.pseudonym == reviewer))
        if found is None or found.role not in STAFF:
            raise InvalidInput(N_("No reviewer has this name."), field="reviewer")
        target = found
    with unit_of_work(session):
        row = session.get(ReviewAssignment, submission.id)
        if row is None:
            session.add(ReviewAssignment(submission_id=submission.id, reviewer_id=target.id,
                                         assigned_by_id=user.id))
        else:
            row.reviewer_id, row.assigned_by_id, row.assigned_at = target.id, user.id, utcnow()
        if submission.status is SubmissionStatus.RECEIVED:
            _change_status(session, user, submission, SubmissionStatus.IN_REVIEW)
        custody.append(session, actor=user.public_id, action="assigned",
                       subject=f"submission:{submission.public_id}",
                       details={"reviewer": target.public_id})
    return submission


# --- assessments, notes, requests ------------------------------------------------------


def assess(session: Session, user: User, item_public_id: str, reliability: Any,
           credibility: Any, reason: Any) -> Assessment:
    """Grade an item on the A-F / 1-6 scale, with a reason; a custody event "annotated"."""
    item = load_item(session, user, item_public_id)
    try:
        grade = SourceReliability(str(reliability).upper())
    except ValueError as e:
        raise InvalidInput(N_("Source reliability is a letter from A to F."),
                           field="reliability") from e
    try:
        level = int(credibility)
    except (TypeError, ValueError):
        level = 0
    if isinstance(credibility, bool) or level not in CREDIBILITY_VALUES:
        raise InvalidInput(N_("Information credibility is a number from 1 to 6."),
                           field="credibility")
    text = _text(reason, "reason")
    with unit_of_work(session):
        row = Assessment(item_id=item.id, reviewer_id=user.id, reliability=grade,
                         credibility=level, reason=text)
        session.add(row)
        custody.append(session, actor=user.public_id, action="annotated",
                       subject=f"evidence:{item.public_id}",
                       details={"kind": "assessment", "grade": f"{grade.value}{level}"})
    return row


def add_note(session: Session, user: User, public_id: str, body: Any,
             item_public_id: str | None = None) -> ReviewerNote:
    submission = load_submission(session, user, public_id)
    item = None
    if item_public_id:
        item = load_item(session, user, item_public_id)
        if item.submission_id != submission.id:
            raise NotFound()
    text = _text(body, "body")
    with unit_of_work(session):
        note = ReviewerNote(submission_id=submission.id, item_id=item.id if item else None,
                            author_id=user.id, body=text)
        session.add(note)
        subject = f"evidence:{item.public_id}" if item else f"submission:{submission.public_id}"
        custody.append(session, actor=user.public_id, action="annotated", subject=subject,
                       details={"kind": "note"})
    return note


def request_info(session: Session, user: User, public_id: str, question: Any) -> InfoRequest:
    """Ask the witness for more: shown on their submission page; status "needs_info"."""
    submission = load_submission(session, user, public_id)
    text = _text(question, "question", max_length=4000)
    with unit_of_work(session):
        request = InfoRequest(public_id=new_public_id(), submission_id=submission.id,
                              requested_by_id=user.id, question=text)
        session.add(request)
        session.flush()
        custody.append(session, actor=user.public_id, action="info_requested",
                       subject=f"submission:{submission.public_id}",
                       details={"request": request.public_id})
        _change_status(session, user, submission, SubmissionStatus.NEEDS_INFO)
    return request


def requests_for_witness(session: Session, user: User, submission: Submission
                         ) -> list[InfoRequest]:
    """The requests a submission's owner (or staff) sees: questions and answers only."""
    if submission.owner_id != user.id and user.role not in STAFF:
        raise NotFound()
    return list(session.scalars(select(InfoRequest)
                                .where(InfoRequest.submission_id == submission.id)
                                .order_by(InfoRequest.created_at, InfoRequest.id)))


def answer_info(session: Session, store: BlobStore, user: User, request_public_id: str,
                text: Any, *, max_bytes: int = TESTIMONY_MAX_BYTES) -> InfoRequest:
    """The witness answers a request: the text becomes a testimony item of the submission
    (an encrypted blob with "stored" and "received" events); status goes back to review."""
    request = session.scalar(select(InfoRequest).where(
        InfoRequest.public_id == request_public_id)) if isinstance(
        request_public_id, str) else None
    if request is None or request.submission.owner_id != user.id:
        raise NotFound()
    answer = _text(text, "answer", max_length=max_bytes)
    submission = request.submission
    subject = f"submission:{submission.public_id}"
    with unit_of_work(session):
        ingested = blobs.ingest(session, store, [answer.encode("utf-8")], actor=user.public_id,
                                subject=subject, max_size=max_bytes)
        item = EvidenceItem(public_id=new_public_id(), submission_id=submission.id,
                            kind=EvidenceKind.TESTIMONY, blob_id=ingested.record.id,
                            declared_name="answer.txt", declared_type="text/plain",
                            size=ingested.size, received_at=utcnow())
        session.add(item)
        session.flush()
        custody.append(session, actor=user.public_id, action="received",
                       subject=f"evidence:{item.public_id}", commitment=ingested.commitment,
                       details={"submission": submission.public_id,
                                "blob": ingested.record.id, "kind": "testimony",
                                "size": ingested.size, "answers": request.public_id})
        request.answered_at = utcnow()
        request.answer_item_id = item.id
        if submission.status is SubmissionStatus.NEEDS_INFO:
            _change_status(session, user, submission, SubmissionStatus.IN_REVIEW)
    return request


def read_own_answer(session: Session, store: BlobStore, user: User, request: InfoRequest
                    ) -> str | None:
    """The text of a witness's answer, for their own page (a "viewed" event by them)."""
    if request.answer_item is None:
        return None
    if request.submission.owner_id != user.id and user.role not in STAFF:
        raise NotFound()
    return _read_text(session, store, user, request.answer_item.blob_id)


# --- reading evidence ---------------------------------------------------------------------


def _read_all(reader: BlobReader, limit: int) -> bytes:
    with reader:
        data = reader.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(N_("This evidence is too large to show here."))
    return data


def _read_text(session: Session, store: BlobStore, user: User, blob_id: str,
               limit: int = TESTIMONY_MAX_BYTES) -> str:
    record = session.get(BlobRecord, blob_id)
    reader = blobs.open_for_reading(session, store, record, actor=user.public_id)
    return _read_all(reader, limit).decode("utf-8", errors="replace")


def read_json_blob(session: Session, store: BlobStore, user: User, blob_id: str | None
                   ) -> dict[str, Any]:
    if blob_id is None:
        return {}
    record = session.get(BlobRecord, blob_id)
    reader = blobs.open_for_reading(session, store, record, actor=user.public_id)
    value = json.loads(_read_all(reader, METADATA_MAX_BYTES).decode("utf-8"))
    return value if isinstance(value, dict) else {}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    for candidate in (text, text.replace(":", "-", 2)):
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo("Asia/Almaty"))
    return None


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(radians, (a[0], a[1], b[0], b[1]))
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * asin(sqrt(h))


@dataclass
class FileFacts:
    """What a reviewer's metadata table shows of one file, with the mismatches found."""

    capture_time: str | None = None
    gps: tuple[float, float] | None = None
    device: str | None = None
    codec: str | None = None
    size_px: str | None = None
    mismatches: list[str] = field(default_factory=list)


def file_facts(metadata: Mapping[str, Any], submission: Submission,
               stated_point: tuple[float, float] | None,
               place_point: tuple[float, float] | None) -> FileFacts:
    """Capture time, GPS, device, codec from the media metadata, checked against the
    witness's stated time and place."""
    facts = FileFacts()
    exif = metadata.get("exif") or {}
    container = metadata.get("container") or {}
    captured = exif.get("captured_at") or container.get("created_at")
    facts.capture_time = str(captured) if captured else None
    gps = exif.get("gps") or container.get("location")
    if isinstance(gps, dict) and isinstance(gps.get("lat"), int | float) and isinstance(
            gps.get("lon"), int | float):
        facts.gps = (float(gps["lat"]), float(gps["lon"]))
    device = " ".join(str(v) for v in (exif.get("make") or container.get("make"),
                                       exif.get("model") or container.get("model")) if v)
    facts.device = device or None
    streams = container.get("streams") or []
    codecs = [str(s.get("codec")) for s in streams if isinstance(s, dict) and s.get("codec")]
    facts.codec = ", ".join(codecs) or None
    image = metadata.get("image") or {}
    if image.get("width") and image.get("height"):
        facts.size_px = f"{image['width']}×{image['height']}"
    when = _parse_time(facts.capture_time)
    if when is not None and submission.occurred_at is not None:
        slack = TIME_TOLERANCE if submission.time_precision.value == "exact" else (
            APPROXIMATE_TOLERANCE)
        if submission.date_only:
            slack += timedelta(days=1)
        if abs(when - submission.occurred_at) > slack:
            facts.mismatches.append("time")
    reference = stated_point or place_point
    if (facts.gps is not None and reference is not None
            and _distance_km(facts.gps, reference) > DISTANCE_TOLERANCE_KM):
        facts.mismatches.append("place")
    return facts


@dataclass
class ItemView:
    item: EvidenceItem
    processing: MediaProcessing | None
    flags: list[MediaFlagRecord]
    derivatives: dict[str, MediaDerivative]
    facts: FileFacts | None
    assessments: list[Assessment]
    near: list[NearDuplicate]
    history: list[CustodyEvent]


@dataclass
class SubmissionView:
    submission: Submission
    testimony: list[tuple[EvidenceItem, str]]
    items: list[ItemView]
    notes: list[ReviewerNote]
    requests: list[InfoRequest]
    assignee: User | None
    history: list[CustodyEvent]
    stated_point: tuple[float, float] | None


def submission_view(session: Session, store: BlobStore, keys: KeyProvider, user: User,
                    public_id: str, *, place_point: tuple[float, float] | None = None
                    ) -> SubmissionView:
    """Everything the reviewer's submission page shows. Reading the testimony and the
    sealed metadata commits a "viewed" event for each blob, naming the reviewer."""
    submission = load_submission(session, user, public_id)
    sealed = read_json_blob(session, store, user, submission.sealed_metadata_blob_id)
    point = sealed.get("point")
    stated = (float(point[0]), float(point[1])) if isinstance(point, list) and len(
        point) == 2 else None
    testimony: list[tuple[EvidenceItem, str]] = []
    views: list[ItemView] = []
    for item in submission.items:
        history = custody.events_for(session, f"evidence:{item.public_id}")
        history += custody.events_for(session, f"blob:{item.blob_id}")
        history.sort(key=lambda e: e.seq)
        assessments = list(session.scalars(select(Assessment).where(
            Assessment.item_id == item.id).order_by(Assessment.created_at.desc(),
                                                    Assessment.id.desc())))
        if item.kind is EvidenceKind.TESTIMONY:
            testimony.append((item, _read_text(session, store, user, item.blob_id)))
            views.append(ItemView(item, None, [], {}, None, assessments, [], history))
            continue
        processing = session.get(MediaProcessing, item.id)
        facts = None
        if processing is not None and processing.metadata_blob_id:
            metadata = read_json_blob(session, store, user, processing.metadata_blob_id)
            facts = file_facts(metadata, submission, stated, place_point)
        derivatives = {d.kind.value: d for d in session.scalars(
            select(MediaDerivative).where(MediaDerivative.item_id == item.id))}
        flags = list(session.scalars(select(MediaFlagRecord).where(
            MediaFlagRecord.item_id == item.id)))
        near = near_duplicates(session, keys, item.id)
        views.append(ItemView(item, processing, flags, derivatives, facts, assessments, near,
                              history))
    notes = list(session.scalars(select(ReviewerNote).where(
        ReviewerNote.submission_id == submission.id).order_by(ReviewerNote.created_at)))
    requests = list(session.scalars(select(InfoRequest).where(
        InfoRequest.submission_id == submission.id).order_by(InfoRequest.created_at)))
    assignment = session.get(ReviewAssignment, submission.id)
    return SubmissionView(submission, testimony, views, notes, requests,
                          assignment.reviewer if assignment else None,
                          custody.events_for(session, f"submission:{submission.public_id}"),
                          stated)


def submission_public_id(session: Session, submission_pk: int) -> str:
    found = session.get(Submission, submission_pk)
    return found.public_id if found else ""


def open_preview(session: Session, store: BlobStore, user: User, item_public_id: str,
                 kind: str) -> tuple[BlobReader, str]:
    """A derivative (preview, thumbnail, poster, video preview), decrypted; "viewed" event."""
    item = load_item(session, user, item_public_id)
    try:
        wanted = DerivativeKind(kind)
    except ValueError as e:
        raise NotFound() from e
    derivative = session.scalar(select(MediaDerivative).where(
        MediaDerivative.item_id == item.id, MediaDerivative.kind == wanted))
    if derivative is None:
        raise NotFound()
    record = session.get(BlobRecord, derivative.blob_id)
    mime = derivative.mime
    return blobs.open_for_reading(session, store, record, actor=user.public_id), mime


def download_name(session: Session, item: EvidenceItem) -> str:
    """A server-made file name: the item id and an extension from the sniffed type."""
    processing = session.get(MediaProcessing, item.id)
    extension = None
    if item.kind is EvidenceKind.TESTIMONY:
        extension = ".txt"
    elif processing is not None and processing.sniffed_type:
        extension = mimetypes.guess_extension(processing.sniffed_type, strict=False)
    return f"evidence-{item.public_id}{extension or '.bin'}"


@dataclass(frozen=True)
class Original:
    reader: BlobReader
    filename: str
    size: int


def open_original(session: Session, store: BlobStore, user: User, item_public_id: str
                  ) -> Original:
    """The original bytes; a "downloaded" event naming the reviewer commits first."""
    item = load_item(session, user, item_public_id)
    name, size = download_name(session, item), item.size
    record = session.get(BlobRecord, item.blob_id)
    reader = blobs.open_for_reading(session, store, record, actor=user.public_id,
                                    action="downloaded")
    return Original(reader, name, size)


@dataclass(frozen=True)
class IntegrityResult:
    ok: bool
    problem: str | None
    event_seq: int


def check_integrity(session: Session, store: BlobStore, user: User, item_public_id: str
                    ) -> IntegrityResult:
    """Decrypt, re-hash, compare with the sealed digest and the "stored" commitment; the
    result is a custody event "integrity_checked"."""
    item = load_item(session, user, item_public_id)
    record = session.get(BlobRecord, item.blob_id)
    if record is None:
        raise NotFound()
    stored = [e for e in custody.events_for(session, record.subject) if e.action == "stored"]
    problem: str | None = None
    try:
        sha256, salt = blobs.unseal_digest(store.keys, record)
        store.verify(blobs.RecordedView(
            blob_id=record.id, key_id=record.key_id, sealed_key=record.sealed_key,
            size=record.size, sha256=sha256, ciphertext_sha256=record.ciphertext_sha256))
        if not stored or custody.commitment(sha256, salt) != stored[0].commitment:
            problem = "commitment_mismatch"
    except BlobNotFound:
        problem = "missing"
    except StorageError as e:
        problem = type(e).__name__
    with unit_of_work(session):
        event = custody.append(session, actor=user.public_id, action="integrity_checked",
                               subject=f"evidence:{item.public_id}",
                               details={"blob": record.id, "ok": problem is None,
                                        "problem": problem})
        seq = event.seq
    return IntegrityResult(problem is None, problem, seq)


def reviewers(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role.in_(
        [Role.REVIEWER, Role.ADMIN])).order_by(User.pseudonym)))


def chunks(reader: BlobReader, size: int = 256 * 1024) -> Iterator[bytes]:
    """Read a blob reader to the end in chunks, closing it afterwards."""
    with reader:
        while chunk := reader.read(size):
            yield chunk


def grades(assessments: Sequence[Assessment]) -> list[str]:
    return [a.grade for a in assessments]
