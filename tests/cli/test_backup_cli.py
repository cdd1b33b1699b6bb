"""`backup create|verify|restore` with the S3 backend (a moto server), on SQLite and PostgreSQL.

The suite's PostgreSQL run (scripts/with-services.sh) runs the same tests against pg_dump and
pg_restore.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from incidents.app import create_app
from incidents.core.settings import Settings
from incidents.web.db import get_db
from tests.conftest import POSTGRES_URL, _truncate
from tests.custody.conftest import add_events, ingest_bytes
from tests.storage.conftest import s3_endpoint  # noqa: F401 (the moto server fixture)


@pytest.fixture
def s3_app(settings: Settings, s3_endpoint: str) -> Iterator[Flask]:  # noqa: F811
    bucket = f"backup-{settings.instance_path.parent.name[-20:].lower().replace('_', '-')}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                 aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    s3 = dataclasses.replace(settings, storage_backend="s3", s3_endpoint_url=s3_endpoint,
                             s3_bucket=bucket, s3_access_key="testing", s3_secret_key="testing")
    app = create_app(s3)
    with app.app_context():
        yield app
        database = get_db()
        database.session.remove()
        if POSTGRES_URL:
            _truncate(database.engine)
        database.engine.dispose()


@pytest.fixture
def cli(s3_app: Flask) -> FlaskCliRunner:
    return s3_app.test_cli_runner()


def _evidence(app: Flask, n: int) -> None:
    session = app.extensions["database"].session()
    for i in range(n):
        ingest_bytes(session, app.extensions["blobstore"], f"photo {i} ".encode() * 500)
    session.commit()


def _checkpoint(cli: FlaskCliRunner) -> str:
    result = cli.invoke(args=["custody", "checkpoint"])
    assert result.exit_code == 0, result.output
    return result.output


def _count(app: Flask, table: str) -> int:
    session = app.extensions["database"].session()
    value = session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
    session.commit()
    return int(value or 0)


def test_a_backup_is_created_and_verifies(s3_app, cli, tmp_path):
    _evidence(s3_app, 3)
    _checkpoint(cli)
    folder = tmp_path / "backup"
    result = cli.invoke(args=["backup", "create", str(folder)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"] == ("postgresql" if POSTGRES_URL else "sqlite")
    assert manifest["blobs"] == 3
    assert (folder / "blobs.tsv").read_text().count("\n") == 3
    assert (folder.stat().st_mode & 0o777) == 0o700
    result = cli.invoke(args=["backup", "verify", "--scrub", str(folder)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_a_damaged_backup_is_refused(s3_app, cli, tmp_path):
    _evidence(s3_app, 1)
    folder = tmp_path / "backup"
    assert cli.invoke(args=["backup", "create", str(folder)]).exit_code == 0
    ledger = folder / "ledger.tsv"
    ledger.chmod(0o600)
    ledger.write_text(ledger.read_text().replace("\t", "\t0", 1)[:-1])
    result = cli.invoke(args=["backup", "verify", str(folder)])
    assert result.exit_code != 0
    assert "ledger.tsv differs from the manifest" in result.output


def test_a_backup_older_than_the_newest_signed_checkpoint_is_refused(s3_app, cli, tmp_path):
    _evidence(s3_app, 1)
    _checkpoint(cli)
    folder = tmp_path / "old"
    assert cli.invoke(args=["backup", "create", str(folder)]).exit_code == 0
    add_events(s3_app.extensions["database"].session(), 2)
    _checkpoint(cli)  # the signer's state file now knows a larger tree
    for command in ("verify", "restore"):
        result = cli.invoke(args=["backup", command, "--yes", str(folder)]
                            if command == "restore" else ["backup", command, str(folder)])
        assert result.exit_code != 0
        assert "would rewrite history" in result.output


def test_a_checkpoint_held_by_a_partner_refuses_an_older_backup(s3_app, cli, tmp_path):
    _evidence(s3_app, 1)
    folder = tmp_path / "old"
    assert cli.invoke(args=["backup", "create", str(folder)]).exit_code == 0
    add_events(s3_app.extensions["database"].session(), 1)
    note = tmp_path / "partner.note"
    note.write_text(_checkpoint(cli))
    s3_app.extensions["settings"].checkpoint_state_file.unlink()  # the state file is lost too
    result = cli.invoke(args=["backup", "verify", "--checkpoint", str(note), str(folder)])
    assert result.exit_code != 0
    assert "checkpoint note 1" in result.output


def test_a_forged_partner_checkpoint_is_not_believed(s3_app, cli, tmp_path):
    _evidence(s3_app, 1)
    folder = tmp_path / "backup"
    assert cli.invoke(args=["backup", "create", str(folder)]).exit_code == 0
    note = tmp_path / "forged.note"
    note.write_text(_checkpoint(cli).replace("\n1\n", "\n2\n", 1))
    result = cli.invoke(args=["backup", "verify", "--checkpoint", str(note), str(folder)])
    assert result.exit_code != 0
    assert "not signed by this instance's key" in result.output


def test_restore_brings_back_the_backup_and_verifies_every_blob(s3_app, cli, tmp_path):
    _evidence(s3_app, 2)
    _checkpoint(cli)
    folder = tmp_path / "backup"
    assert cli.invoke(args=["backup", "create", str(folder)]).exit_code == 0
    events, blobs = _count(s3_app, "custody_events"), _count(s3_app, "blobs")
    _evidence(s3_app, 1)  # after the backup, never checkpointed: lost by the restore
    assert _count(s3_app, "blobs") == blobs + 1
    result = cli.invoke(args=["backup", "restore", "--yes", str(folder)])
    assert result.exit_code == 0, result.output
    assert "blobs verified" in result.output
    assert _count(s3_app, "custody_events") == events
    assert _count(s3_app, "blobs") == blobs


def test_restore_fails_loudly_when_a_blob_is_gone_from_the_store(s3_app, cli, tmp_path):
    _evidence(s3_app, 2)
    folder = tmp_path / "backup"
    assert cli.invoke(args=["backup", "create", str(folder)]).exit_code == 0
    blob_id = (folder / "blobs.tsv").read_text().split("\t", 1)[0]
    s3_app.extensions["blobstore"].delete(blob_id)
    result = cli.invoke(args=["backup", "restore", "--yes", str(folder)])
    assert result.exit_code != 0
    assert f"blob {blob_id} is not in the store" in result.output


def test_create_refuses_a_folder_that_is_not_empty(s3_app, cli, tmp_path: Path):
    (tmp_path / "x").write_text("")
    result = cli.invoke(args=["backup", "create", str(tmp_path)])
    assert result.exit_code != 0
    assert "is not empty" in result.output
