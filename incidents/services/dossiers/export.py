"""A dossier for one person or unit: a ZIP holding dossier.pdf and, beside it, the evidence
bundle of every cited item (a BagIt bag, valid for its own verify.py).

The PDF's SHA-256 is recorded in a "dossier_created" custody event on the actor, committed
before the first byte leaves; when the ZIP has been sent whole, "dossier_exported" records
the ZIP's own SHA-256 (and the bundle's "exported" event its manifests, as for any bundle).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.database import begin_write
from incidents.core.settings import Settings
from incidents.models import User
from incidents.services import custody
from incidents.services.actors import fields
from incidents.services.bundles import export as bundles
from incidents.services.bundles.sources import BundleKeys
from incidents.services.dossiers import content as dossier_content
from incidents.services.dossiers import pdf
from storage.blobstore import BlobStore

PDF_NAME = "dossier.pdf"


@dataclass
class DossierExport:
    """Stream it with `chunks()`; the ledger gets the ZIP's hash once it has all gone."""

    dossier_id: str
    actor: str
    pdf_sha256: str
    exhibits: int
    withheld: int
    _chunks: Callable[[], Iterator[bytes]]
    _done: Callable[[str, int], None]

    @property
    def filename(self) -> str:
        return f"{self.dossier_id}.zip"

    def chunks(self) -> Iterator[bytes]:
        digest, size = hashlib.sha256(), 0
        for chunk in self._chunks():
            digest.update(chunk)
            size += len(chunk)
            yield chunk
        self._done(digest.hexdigest(), size)


def _pdf_only_zip(pdf_bytes: bytes) -> Iterator[bytes]:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo(PDF_NAME, date_time=utcnow().timetuple()[:6]), pdf_bytes)
    yield out.getvalue()


def prepare(session: Session, store: BlobStore, keys: BundleKeys, settings: Settings,
            user: User, data: dict[str, Any]) -> DossierExport:
    """Gather, render and record the dossier; return the export ready to stream."""
    actor_id = fields.public_id(data, "actor") or ""
    now = utcnow()
    dossier_id = fields.new_id("DOS")
    bundle_id = bundles.new_bundle_id(now)
    gathered = dossier_content.gather(session, store, user, actor_id, dossier_id=dossier_id,
                                      bundle_id=bundle_id)
    pdf_bytes = pdf.render(gathered, created=now.strftime("%Y-%m-%d %H:%M UTC"))
    pdf_sha256 = hashlib.sha256(pdf_bytes).hexdigest()
    subject = f"actor:{gathered.actor.id}"
    plan = gathered.plan
    shipped = [e.item for e in gathered.exhibits if not e.withheld]
    held = [e.item for e in gathered.exhibits if e.withheld]
    begin_write(session)
    custody.append(session, actor=user.public_id, action="dossier_created", subject=subject,
                   details={"dossier": dossier_id, "pdf_sha256": pdf_sha256,
                            "bundle": bundle_id if shipped else None, "items": shipped,
                            "withheld": held})
    session.commit()
    if plan is not None and plan.items:
        export = bundles.prepare(session, store, keys, settings, user, plan,
                                 bundle_id=bundle_id, beside={PDF_NAME: pdf_bytes})
        produce: Callable[[], Iterator[bytes]] = export.chunks
    else:
        def produce() -> Iterator[bytes]:
            return _pdf_only_zip(pdf_bytes)

    def done(zip_sha256: str, size: int) -> None:
        begin_write(session)
        custody.append(session, actor=user.public_id, action="dossier_exported",
                       subject=subject, details={"dossier": dossier_id,
                                                 "pdf_sha256": pdf_sha256,
                                                 "zip_sha256": zip_sha256, "zip_bytes": size})
        session.commit()

    return DossierExport(dossier_id=dossier_id, actor=gathered.actor.id, pdf_sha256=pdf_sha256,
                         exhibits=len(shipped), withheld=len(held), _chunks=produce, _done=done)
