"""Evidence bundles for an evidence set, an incident or a case (DESIGN §5), around
`incidents.services.bundles.export.build_bundle`.

`plan` gathers the items (consent honoured: an item whose witness did not consent to legal
use is left out and listed as withheld) and `prepare` reads everything small before the
first byte: the sealed digests, the custody events of the items with inclusion proofs
against a fresh checkpoint, the signed checkpoint and the public key. `Export.chunks()` then
streams the ZIP; each original is opened through `blobs.open_for_reading`, which commits a
"downloaded" event naming the exporter before its bytes leave.

The "exported" event, carrying the payload manifest's hash, is appended when the stream has
finished, in its own transaction: the manifest the builder actually wrote is then known, and
an export that was interrupted (the recipient hung up) is not recorded as an export; what
left the server is still in the ledger, one "downloaded" event per original sent.
Witness pseudonyms never enter a bundle: each witness is "W1", "W2"... in that bundle.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.clock import iso, utcnow
from incidents.core.database import begin_write
from incidents.core.errors import N_, Forbidden, InvalidInput, NotFound
from incidents.core.settings import Settings
from incidents.models import (
    BlobRecord,
    BlobStatus,
    Case,
    EvidenceItem,
    Incident,
    MediaFlagRecord,
    MediaProcessing,
    User,
)
from incidents.services import cases, custody, incidents, review
from incidents.services.access import STAFF
from incidents.services.actors import involvements
from incidents.services.bundles.builder import (
    BundleItem,
    BundleManifest,
    payload_manifest,
    stream_bundle,
)
from incidents.services.bundles.sources import BundleKeys, custody_for
from incidents.services.evidence import blobs
from storage.blobstore import BlobStore

MAX_ITEMS = 10_000
NO_LEGAL_CONSENT = "no consent to legal use"
REMOVED = "removed from the evidence store"


@dataclass
class BundlePlan:
    """What an export will hold: chosen before anything is read."""

    subject: str  # what the "exported" event is about
    items: list[EvidenceItem]
    withheld: list[dict[str, str]] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(i.size for i in self.items)

    @property
    def count(self) -> int:
        return len(self.items)


def _item_rows(session: Session, public_ids: Sequence[str]) -> list[EvidenceItem]:
    if not isinstance(public_ids, list | tuple) or not public_ids or len(public_ids) > MAX_ITEMS:
        raise InvalidInput(N_("Choose between 1 and 10000 evidence items."), field="evidence_ids")
    if not all(isinstance(public_id, str) for public_id in public_ids):
        raise InvalidInput(N_("The field %(name)s is not valid."), field="evidence_ids",
                           name="evidence_ids")
    found: list[EvidenceItem] = []
    for public_id in dict.fromkeys(public_ids):
        row = session.scalar(select(EvidenceItem).where(EvidenceItem.public_id == public_id)) if (
            isinstance(public_id, str)) else None
        if row is None:
            raise NotFound()
        found.append(row)
    return found


def plan(session: Session, user: User | None, *, evidence_ids: Sequence[str] | None = None,
         incident_id: str | None = None, case_id: str | None = None,
         for_export: bool = True) -> BundlePlan:
    """The items of exactly one of: an evidence set, an incident, a case (members only).

    Every path obeys the one export rule (`cases.require_export`): an item or incident that
    belongs to a case leaves only with a member of that case. `for_export=False` is a
    preview (the incident page's summary) that exports nothing. `user` None is the server
    operator on the command line (no membership check).
    """
    if sum(x is not None for x in (evidence_ids, incident_id, case_id)) != 1:
        raise InvalidInput(N_("Give exactly one of evidence_ids, incident_id, case_id."))
    if user is not None and user.role not in STAFF:
        raise Forbidden()
    if case_id is not None:
        if user is None:
            case = session.scalar(select(Case).where(Case.public_id == case_id))
            if case is None:
                raise NotFound()
        else:
            case = cases.get(session, user, case_id)
        rows, subject = cases.items_of(case), case.subject
    elif incident_id is not None:
        incident = (incidents.load(session, user, incident_id) if user is not None else
                    session.scalar(select(Incident).where(Incident.public_id == incident_id)))
        if incident is None:
            raise NotFound()
        rows, subject = list(incident.items), incident.subject
    else:
        rows = _item_rows(session, list(evidence_ids or ()))
        subject = ""
    if user is not None and for_export:
        cases.require_export(session, user, rows,
                             incident=incident if incident_id is not None else None)
    result = BundlePlan(subject=subject, items=[])
    for item in sorted(rows, key=lambda i: i.public_id):
        record = session.get(BlobRecord, item.blob_id)
        if not item.submission.consent_legal:
            result.withheld.append({"item": item.public_id, "reason": NO_LEGAL_CONSENT})
        elif record is None or record.status is not BlobStatus.ACTIVE:
            result.withheld.append({"item": item.public_id, "reason": REMOVED})
        else:
            result.items.append(item)
    return result


def item_metadata(session: Session, item: EvidenceItem, witness: str,
                  translations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The per-item metadata of a bundle: deterministic for the same content, no pseudonym,
    no declared file name (it may name the witness), no exact point. Reviewers'
    translations of cited excerpts or pages ride beside the original (which is unchanged)."""
    submission = item.submission
    extra = {"translations": translations} if translations else {}
    processing = session.get(MediaProcessing, item.id)
    flags = sorted(f.value for f in session.scalars(select(MediaFlagRecord.flag).where(
        MediaFlagRecord.item_id == item.id)))
    return {
        "kind": item.kind.value,
        "witness": witness,
        "submission": submission.public_id,
        "received_at": iso(item.received_at),
        "declared_type": item.declared_type,
        "detected_type": processing.sniffed_type if processing else None,
        "flags": flags,
        "occurred_at": iso(submission.occurred_at),
        "time_precision": submission.time_precision.value,
        "place": submission.place_id,
        "region": submission.region,
        "categories": list(submission.categories),
        "tags": list(submission.tags),
        "counts": submission.counts,
        "consent": submission.consent,
        **extra,
    }


@dataclass
class Export:
    """A prepared export: stream it with `chunks()`; `manifest` is set at the end."""

    bundle_id: str
    plan: BundlePlan
    stream: Any
    on_done: Callable[[BundleManifest], None]
    manifest: BundleManifest | None = None

    def chunks(self) -> Iterator[bytes]:
        try:
            yield from self.stream
        except GeneratorExit:
            self.stream.close()
            raise
        self.manifest = self.stream.manifest
        assert self.manifest is not None
        self.on_done(self.manifest)


def _pseudonyms(session: Session, witnesses: dict[str, str]) -> Callable[[str], str]:
    """Per-bundle labels: the witnesses as in the metadata (W1, W2...), staff by role (R1
    reviewers, A1 admins...), anyone else U1...; never an account id (THREATS.md)."""
    labels = dict(witnesses)
    counters: dict[str, int] = {}

    def label(actor: str) -> str:
        if actor not in labels:
            role = session.scalar(select(User.role).where(User.public_id == actor))
            prefix = {"reviewer": "R", "admin": "A", "researcher": "S"}.get(
                role.value if role is not None else "", "U")
            counters[prefix] = counters.get(prefix, 0) + 1
            labels[actor] = f"{prefix}{counters[prefix]}"
        return labels[actor]
    return label


def new_bundle_id(now: datetime) -> str:
    return f"bundle-{now:%Y%m%d}-{secrets.token_hex(4)}"


def prepare(session: Session, store: BlobStore, keys: BundleKeys, settings: Settings,
            user: User | None, bundle_plan: BundlePlan, *,
            progress: Callable[[int], None] | None = None,
            organization: str = "", bundle_id: str | None = None,
            beside: Mapping[str, bytes] | None = None) -> Export:
    """Read everything small (digests, custody, checkpoint) and make the streaming export.

    `bundle_id` and `beside` are for a dossier: its PDF names the bundle's paths before the
    bundle is built, and rides at the top of the same ZIP (outside the bag).
    """
    if not bundle_plan.items:
        raise InvalidInput(N_("Nothing to export: every item was withheld or none chosen."))
    actor = user.public_id if user is not None else None
    translated = involvements.translations_for_items(
        session, store, [i.id for i in bundle_plan.items], actor=actor)
    witnesses: dict[int, str] = {}
    items: list[BundleItem] = []
    subjects: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for item in bundle_plan.items:
        owner = item.submission.owner_id
        witness = witnesses.setdefault(owner, f"W{len(witnesses) + 1}")
        owner_row = session.get(User, owner)
        if owner_row is not None:
            labels.setdefault(owner_row.public_id, witness)
        record = session.get(BlobRecord, item.blob_id)
        assert record is not None
        sha256, salt = blobs.unseal_digest(store.keys, record)

        def opener(record: BlobRecord = record) -> BinaryIO:
            # A BlobReader is a readable, closable binary stream (what the builder reads).
            return cast(BinaryIO, blobs.open_for_reading(session, store, record, actor=actor,
                                                         action="downloaded"))

        items.append(BundleItem(
            item_id=item.public_id, filename=review.download_name(session, item),
            size=record.size, sha256=sha256, salt=salt.hex(),
            metadata=item_metadata(session, item, witness, translated.get(item.id)),
            open=opener))
        subjects[item.public_id] = [f"evidence:{item.public_id}", f"blob:{item.blob_id}"]
    now = utcnow()
    bundle_id = bundle_id or new_bundle_id(now)
    bundle_custody = custody_for(
        session, keys, settings, subjects, bundle_id=bundle_id,
        payload_manifest_sha256=hashlib.sha256(
            payload_manifest(items).encode("utf-8")).hexdigest(),
        about=bundle_plan.subject, withheld=[w["item"] for w in bundle_plan.withheld],
        actor=actor, pseudonyms=_pseudonyms(session, labels))
    stream = stream_bundle(items=items, custody=bundle_custody, bundle_id=bundle_id,
                           created_at=now, withheld=bundle_plan.withheld,
                           organization=organization, progress=progress, beside=beside)
    subject = bundle_plan.subject or f"bundle:{bundle_id}"

    def record_export(manifest: BundleManifest) -> None:
        begin_write(session)
        custody.append(session, actor=actor, action="exported", subject=subject, details={
            "bundle": manifest.bundle_id,
            "manifest_sha256": manifest.manifest_sha256,
            "tagmanifest_sha256": manifest.tagmanifest_sha256,
            "items": [i.public_id for i in bundle_plan.items],
            "withheld": [w["item"] for w in bundle_plan.withheld],
            "payload_bytes": manifest.payload_bytes,
            "zip_bytes": manifest.zip_bytes,
        })
        session.commit()

    session.commit()  # end the read transaction: each original's event is its own write
    return Export(bundle_id, bundle_plan, stream, record_export)
