"""`flask --app wsgi custody ...` and `keys ...`: verify, checkpoint, sweep, rotate, status."""

from __future__ import annotations

import json
import time
from functools import partial
from typing import BinaryIO

import click
from tqdm import tqdm

from incidents.cli.errors import domain_errors
from incidents.core.errors import DomainError
from incidents.core.settings import Settings
from incidents.services import checkpoints, custody_state, ledger_verify, receipts, uploads
from incidents.services.evidence import blobs, integrity
from incidents.services.evidence import keys as key_rotation
from incidents.services.evidence import orphans as orphan_blobs
from incidents.services.signer import CheckpointSigner
from incidents.web import context
from incidents.web.context import get_blobstore, get_keys
from incidents.web.db import get_db
from storage.errors import StorageError


def _settings() -> Settings:
    return context.settings()


class _Bars:
    """One tqdm bar per verification phase, on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, tqdm] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(phase)
        if bar is None:
            bar = self.bars[phase] = tqdm(total=total, desc=phase, unit=phase[:-1] or phase,
                                          leave=False, mininterval=0.5)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


@click.group("custody")
def custody_group() -> None:
    """The chain-of-custody ledger."""


@custody_group.command("verify")
@click.option("--blobs", "with_blobs", is_flag=True, help="also decrypt and re-hash every blob")
@click.option("--progress/--no-progress", default=True, help="show a progress bar on stderr")
@click.option("--state/--no-state", default=True,
              help="replay the ledger and compare it with the database (default: on)")
@domain_errors
def verify_command(with_blobs: bool, progress: bool, state: bool) -> None:
    """Recompute the hash chain, checkpoints, the state the ledger records against the
    database and (with --blobs) every blob; exit 1 on any fault."""
    settings, keys = _settings(), get_keys()
    store = get_blobstore() if with_blobs else None
    # Sealed: everything that needs no key still runs; the rest is named, not skipped silently.
    sealed = with_blobs and bool(keys.status()["sealed"])
    bars = _Bars(progress)
    with get_db().new_session() as session:
        check = None
        if store is not None:
            check = partial(integrity.verify_blobs_keyless if sealed else integrity.verify_blobs,
                            session, store)
        try:
            report = ledger_verify.verify(session, keys, settings, blobs=check, progress=bars,
                                          state=state)
        finally:
            bars.close()
    if with_blobs:
        _record_check(report)
    summary = f"{report.events} events, {report.checkpoints} checkpoints"
    if state:
        summary += f", {report.rows} rows against the ledger"
    if with_blobs:
        summary += f", {report.blobs} blobs" + (" (ciphertext only)" if sealed else "")
    if sealed:
        click.echo("The vault is sealed: the blobs were checked without the key (present, "
                   "ciphertext SHA-256, a custody event for each). Waiting for the key:",
                   err=True)
        for waiting in integrity.KEYLESS_WAITING:
            click.echo(f"  - {waiting}", err=True)
        click.echo("Unseal the vault and run `custody verify --blobs` again for those.",
                   err=True)
    if report.ok:
        click.echo(f"OK: {summary} verified.")
        return
    click.echo(f"FAILED ({summary} checked):", err=True)
    if report.first_bad_event is not None:
        click.echo(f"first bad event: {report.first_bad_event}", err=True)
    if report.first_bad_row is not None:
        click.echo(f"first row that disagrees with the ledger: {report.first_bad_row}",
                   err=True)
    if report.first_bad_blob is not None:
        click.echo(f"first bad blob: {report.first_bad_blob}", err=True)
    for problem in report.problems[:20]:
        click.echo(f"  {problem}", err=True)
    if len(report.problems) > 20:
        click.echo(f"  ... and {len(report.problems) - 20} more", err=True)
    raise SystemExit(1)


def _record_check(report: ledger_verify.VerifyReport) -> None:
    """An "integrity_checked" custody event; a read-only copy just skips it."""
    try:
        with get_db().new_session() as s:
            ledger_verify.record_check(s, report)
    except Exception as e:  # the verdict matters more than recording it
        click.echo(f"note: the check could not be recorded ({type(e).__name__})", err=True)


@custody_group.command("baseline")
@domain_errors
def baseline_command() -> None:
    """Commit the current state of existing submissions and items to the ledger, once."""
    with get_db().new_session() as session:
        written = custody_state.baseline(session)
    click.echo(f"{written} baseline event(s) written." if written else
               "every submission and item is already in the ledger.")


@custody_group.command("checkpoint")
@domain_errors
def checkpoint_command() -> None:
    """Sign a checkpoint over every event now in the ledger and print the signed note."""
    with get_db().new_session() as session:
        row = checkpoints.checkpoint(session, get_keys(), _settings())
    click.echo(row.note, nl=False)


@custody_group.command("check-receipt")
@click.argument("receipt_file", type=click.File("rb"))
@domain_errors
def check_receipt_command(receipt_file: BinaryIO) -> None:
    """Check that a witness receipt's checkpoint is consistent with the server's current
    one (exit 1 if the log was rewritten since)."""
    try:
        receipt = json.loads(receipt_file.read(16 * 1024 * 1024))
    except ValueError as e:
        raise click.ClickException("the receipt is not JSON") from e
    with get_db().new_session() as session:
        found = receipts.check_receipt(session, get_keys(), _settings(), receipt)
    click.echo(f"OK: the receipt's checkpoint (size {found.receipt_size}) is consistent with "
               f"the server's latest (size {found.server_size}).")


@custody_group.command("signer")
@click.option("--interval", default=None, type=float,
              help="seconds between rounds [default: the checkpoint_signer_seconds setting]")
@click.option("--once", is_flag=True, help="sign what is pending once and exit")
@domain_errors
def signer_command(interval: float | None, once: bool) -> None:
    """Sign unsigned custody events continuously (a signer process of its own; web and
    job workers run one in the background already). Safe beside other signers."""
    settings = _settings()
    period = interval if interval is not None else settings.checkpoint_signer_seconds
    runner = CheckpointSigner(get_db(), get_keys(), settings, period or 2.0)
    if once:
        row = runner.tick()
        click.echo(f"signed checkpoint of size {row.size}" if row else "nothing to sign")
        return
    click.echo(f"signing unsigned custody events every {runner.interval:g} s (Ctrl-C stops)")
    runner.ensure_running()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        runner.stop()


@custody_group.command("sweep")
@click.option("--older-than", default=3600.0, show_default=True, type=float,
              help="seconds; 0 also removes writes in progress in a running server")
@click.option("--orphan-grace", default=None, type=float,
              help="seconds a blob with no database row is left alone before it is moved to "
                   "quarantine [default: the orphan_grace_seconds setting]; 0 also moves "
                   "blobs of transactions still running in a server")
@domain_errors
def sweep_command(older_than: float, orphan_grace: float | None) -> None:
    """Remove temporary objects of interrupted blob writes; quarantine orphaned blobs."""
    store = get_blobstore()
    grace = float(_settings().orphan_grace_seconds) if orphan_grace is None else orphan_grace
    try:
        with get_db().new_session() as session:
            # Uploads in flight are appendable blobs whose temporary objects must stay.
            swept = store.sweep_temporary(older_than=older_than,
                                          keep=uploads.in_flight_blob_ids(session))
            orphans = orphan_blobs.quarantine_orphans(session, store, older_than=grace)
    except StorageError as e:
        raise click.ClickException(f"sweep failed: {e}") from e
    for name in swept:
        click.echo(f"removed {name}")
    click.echo(f"{len(swept)} temporary object(s) removed.")
    for blob_id in orphans:
        click.echo(f"quarantined {blob_id}")
    click.echo(f"{len(orphans)} orphaned blob(s) moved to quarantine.")


@click.group("keys")
def keys_group() -> None:
    """Vault keys."""


@keys_group.command("rotate")
@domain_errors
def rotate_command() -> None:
    """New active vault key; every data key re-sealed in one transaction; unused keys retired."""
    settings, keys = _settings(), get_keys()
    with get_db().new_session() as session:
        try:
            result = key_rotation.rotate_keys(session, keys, settings.key_dir)
        except StorageError as e:
            raise click.ClickException(f"rotation failed: {e}") from e
        try:
            checkpoints.maybe_checkpoint(session, keys, settings)
        except DomainError as e:
            click.echo(f"note: no checkpoint signed ({type(e).__name__})", err=True)
    click.echo(f"active vault key: {result.new_key_id}")
    click.echo(f"data keys re-sealed: {result.resealed}")
    if result.retired:
        click.echo(f"retired: {', '.join(result.retired)}")
    if result.kept:
        click.echo(f"still in use, kept: {', '.join(result.kept)}")


@keys_group.command("status")
@domain_errors
def status_command() -> None:
    """The active vault key, every key on the ring and how many blobs each seals."""
    settings, keys = _settings(), get_keys()
    active = keys.active_key_id()
    with get_db().new_session() as session:
        counts = blobs.count_by_key(session)
    click.echo(f"key directory: {settings.key_dir}")
    for key_id in keys.key_ids():
        mark = " (active)" if key_id == active else ""
        click.echo(f"vault key {key_id}{mark}: {counts.get(key_id, 0)} blob(s)")
    for key_id in sorted(set(counts) - set(keys.key_ids())):
        click.echo(f"vault key {key_id} MISSING: {counts[key_id]} blob(s) cannot be opened")
    click.echo("checkpoint verifier key: "
               f"{checkpoints.verifier_key(keys, settings.custody_origin)}")
