"""`flask --app wsgi bundle export --case ID --out FILE`: an evidence bundle to a file.

Run by the server operator: without `--as`, the export's custody events name no user
(actor null, like other operator commands); with `--as PSEUDONYM`, membership of the case is
checked for that reviewer and the events name them. A progress bar counts payload bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from incidents.cli.errors import domain_errors
from incidents.core.settings import Settings
from incidents.services import accounts
from incidents.services.bundles import export as bundles
from incidents.web import context
from incidents.web.context import get_blobstore, get_keys
from incidents.web.db import get_db

if TYPE_CHECKING:  # annotations only: faces reach data through services (import-linter)
    from sqlalchemy.orm import Session


@click.group("bundle")
def bundle_group() -> None:
    """Evidence bundles (BagIt ZIP)."""


@bundle_group.command("export")
@click.option("--case", "case_id", default=None, help="A case id (CASE-...).")
@click.option("--incident", "incident_id", default=None, help="An incident id (INC-...).")
@click.option("--item", "item_ids", multiple=True, help="An evidence item id (repeatable).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as", "pseudonym", default=None, help="Export as this reviewer.")
@domain_errors
def export_command(case_id: str | None, incident_id: str | None, item_ids: tuple[str, ...],
                   out: Path, pseudonym: str | None) -> None:
    """Write a bundle for a case, an incident or some items to OUT."""
    settings = context.settings()
    with get_db().new_session() as session:
        _export(session, settings, case_id, incident_id, item_ids, out, pseudonym)


def _export(session: Session, settings: Settings, case_id: str | None,
            incident_id: str | None, item_ids: tuple[str, ...], out: Path,
            pseudonym: str | None) -> None:
    user = None
    if pseudonym:
        user = accounts.find_by_pseudonym(session, pseudonym)
    plan = bundles.plan(session, user, case_id=case_id, incident_id=incident_id,
                        evidence_ids=list(item_ids) if item_ids else None)
    click.echo(f"{plan.count} items, {plan.total_bytes} bytes; {len(plan.withheld)} withheld")
    with tqdm(total=plan.total_bytes, unit="B", unit_scale=True, unit_divisor=1024,
              disable=None) as bar:
        seen = [0]

        def progress(done: int) -> None:
            bar.update(done - seen[0])
            seen[0] = done

        export = bundles.prepare(session, get_blobstore(), get_keys(), settings, user, plan,
                                 progress=progress)
        partial = out.with_name(out.name + ".part")
        with partial.open("wb") as sink:
            for chunk in export.chunks():
                sink.write(chunk)
        partial.replace(out)
    assert export.manifest is not None
    click.echo(f"Bundle {export.bundle_id} written to {out}")
    click.echo(f"Payload manifest SHA-256: {export.manifest.manifest_sha256}")
