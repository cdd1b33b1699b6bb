"""The reviewer's submission page as one read: what each file's metadata says against the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import asin, cos, radians, sin, sqrt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.models import (
    Assessment,
    CustodyEvent,
    EvidenceItem,
    EvidenceKind,
    InfoRequest,
    MediaDerivative,
    MediaFlagRecord,
    MediaProcessing,
    ReviewAssignment,
    ReviewerNote,
    SourceReliability,
    Submission,
    User,
)
from incidents.services import custody
from incidents.services.evidence import sealed
from incidents.services.media.duplicates import NearDuplicate, near_duplicates
from incidents.services.review.actions import load_submission
from incidents.services.review.requests import _read_text, read_json_blob
from storage.blobstore import BlobStore
from storage.crypto.keys import KeyProvider

# A capture time further than this from the witness's stated time is highlighted.
TIME_TOLERANCE = timedelta(hours=12)


APPROXIMATE_TOLERANCE = timedelta(days=2)


# A GPS position further than this from the stated place is highlighted.
DISTANCE_TOLERANCE_KM = 30.0


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


@dataclass(frozen=True)
class AssessmentView:
    grade: str
    reliability: SourceReliability
    credibility: int
    reviewer: str  # pseudonym
    created_at: datetime
    reason: str


@dataclass(frozen=True)
class NoteView:
    created_at: datetime
    author: str  # pseudonym
    body: str


@dataclass(frozen=True)
class RequestView:
    id: str
    created_at: datetime
    question: str
    answered_at: datetime | None


@dataclass
class ItemView:
    item: EvidenceItem
    processing: MediaProcessing | None
    flags: list[MediaFlagRecord]
    derivatives: dict[str, MediaDerivative]
    facts: FileFacts | None
    assessments: list[AssessmentView]
    near: list[NearDuplicate]
    history: list[CustodyEvent]


@dataclass
class SubmissionView:
    submission: Submission
    testimony: list[tuple[EvidenceItem, str]]
    items: list[ItemView]
    notes: list[NoteView]
    requests: list[RequestView]
    assignee: User | None
    history: list[CustodyEvent]
    stated_point: tuple[float, float] | None


def submission_view(session: Session, store: BlobStore, keys: KeyProvider, user: User,
                    public_id: str, *, place_point: tuple[float, float] | None = None
                    ) -> SubmissionView:
    """Everything the reviewer's submission page shows. Reading the testimony and the
    sealed metadata commits a "viewed" event for each blob, naming the reviewer."""
    submission = load_submission(session, user, public_id)
    hidden = read_json_blob(session, store, user, submission.sealed_metadata_blob_id)
    point = hidden.get("point")
    stated = (float(point[0]), float(point[1])) if isinstance(point, list) and len(
        point) == 2 else None
    testimony: list[tuple[EvidenceItem, str]] = []
    views: list[ItemView] = []
    graded = {item.id: list(session.scalars(select(Assessment).where(
        Assessment.item_id == item.id).order_by(Assessment.created_at.desc(),
                                                Assessment.id.desc())))
        for item in submission.items}
    notes = list(session.scalars(select(ReviewerNote).where(
        ReviewerNote.submission_id == submission.id).order_by(ReviewerNote.created_at)))
    requests = list(session.scalars(select(InfoRequest).where(
        InfoRequest.submission_id == submission.id).order_by(InfoRequest.created_at)))
    # What reviewers wrote, sealed: one batch of "viewed" events for the whole page.
    texts = sealed.Texts(sealed.read_many(
        session, store,
        [a.reason_blob_id for rows in graded.values() for a in rows]
        + [n.body_blob_id for n in notes] + [r.question_blob_id for r in requests],
        actor=user.public_id))
    for item in submission.items:
        history = custody.events_for(session, f"evidence:{item.public_id}")
        history += custody.events_for(session, f"blob:{item.blob_id}")
        history.sort(key=lambda e: e.seq)
        assessments = [AssessmentView(a.grade, a.reliability, a.credibility,
                                      a.reviewer.pseudonym, a.created_at,
                                      texts.get(a.reason_blob_id) or "")
                       for a in graded[item.id]]
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
    assignment = session.get(ReviewAssignment, submission.id)
    return SubmissionView(submission, testimony, views,
                          [NoteView(n.created_at, n.author.pseudonym,
                                    texts.get(n.body_blob_id) or "") for n in notes],
                          [RequestView(r.public_id, r.created_at,
                                       texts.get(r.question_blob_id) or "", r.answered_at)
                           for r in requests],
                          assignment.reviewer if assignment else None,
                          custody.events_for(session, f"submission:{submission.public_id}"),
                          stated)
