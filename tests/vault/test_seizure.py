"""Proven against the seizure: a copy of the whole instance folder and database, with the
code, opens no evidence, preview, metadata document, perceptual hash or sealed digest."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from incidents.app import create_app
from incidents.models import BlobRecord, MediaDerivative, MediaPhash
from incidents.services.evidence import blobs
from incidents.web.db import get_db, get_session
from storage.crypto import key_directory as kd
from tests.conftest import POSTGRES_URL
from tests.helpers import fresh_g
from tests.keys import unseal_key_of
from tests.review.fixtures import PHOTO, Actor, call, items_of

TESTIMONY = "Soldiers fired on the crowd near the akimat at noon."


def _secrets(app: Flask, settings, recovery_share: str) -> dict[str, bytes]:
    """Everything that would open evidence, learnt from the live (unsealed) instance."""
    keys = app.extensions["keys"]
    found: dict[str, bytes] = {}
    unseal_key = unseal_key_of(settings.key_dir, shares=[recovery_share])
    found["unseal key"] = unseal_key
    for key_id in kd.read_manifest(settings.key_dir)["vault_keys"]:
        file = kd.vault_file(settings.key_dir, key_id)
        secret = kd.unwrap(unseal_key, kd.VAULT_WRAP_AAD, key_id,
                           json.loads(file.read_text())["wrapped_private_key"], file)
        found[f"ML-KEM seed of {key_id}"] = secret[:64]
        found[f"X25519 key of {key_id}"] = secret[64:]
    session = get_session()
    for record in session.scalars(sa.select(BlobRecord)):
        found[f"data key of {record.id}"] = keys.unseal_data_key(
            record.key_id, record.sealed_key, record.id)
        sha256, salt = blobs.unseal_digest(keys, record)
        found[f"sha256 of {record.id}"] = bytes.fromhex(sha256)
        found[f"sha256 hex of {record.id}"] = sha256.encode()
        found[f"salt of {record.id}"] = salt
    found["testimony"] = TESTIMONY.encode()
    assert b"NIKON" in PHOTO.read_bytes()  # the needle is really in the original
    found["camera make (EXIF)"] = b"NIKON"
    found["original's first 64 KiB"] = PHOTO.read_bytes()[4096:4096 + 65536]
    return found


@pytest.mark.skipif(bool(POSTGRES_URL), reason="the copy is of the SQLite instance folder; "
                    "the PostgreSQL run covers the same code on the other database")
def test_a_copy_of_the_instance_and_database_opens_nothing(app, client, settings, submit,
                                                          reviewer: Actor, recovery_share,
                                                          tmp_path: Path) -> None:
    submission = submit()
    session = get_session()
    assert session.scalar(sa.select(sa.func.count()).select_from(MediaDerivative)) >= 1
    assert session.scalar(sa.select(sa.func.count()).select_from(MediaPhash)) == 1
    secrets = _secrets(app, settings, recovery_share)
    session.rollback()
    get_db().engine.dispose()  # everything on disk, as a seizure of a stopped server finds it
    copy = tmp_path / "seized"
    shutil.copytree(settings.instance_path, copy)
    everything = b"".join(p.read_bytes() for p in copy.rglob("*") if p.is_file())
    assert len(everything) > 100_000
    for name, value in secrets.items():
        assert value not in everything, f"{name} is on disk"
    # With the code: the copy starts, takes nothing out.
    seized = create_app(dataclasses.replace(settings, instance_path=copy))
    with seized.app_context():
        assert seized.extensions["vault"].status()["sealed"] is True
        seized_client = seized.test_client()
        fresh_g()
        item = next(i for i in items_of(seized_client, reviewer.token, submission)
                    if i["kind"] == "file")
        response = call(seized_client, "GET", f"/api/v1/evidence/{item['id']}/original",
                        reviewer.token)
        assert response.status_code == 503
        assert response.get_json()["error"] == "vault_sealed"
        runner = seized.test_cli_runner()
        result = runner.invoke(args=["bundle", "export", "--item", item["id"], "--out",
                                     str(tmp_path / "bundle.zip")])
        assert result.exit_code != 0
        assert "sealed" in result.output
        get_db().session.remove()
        get_db().engine.dispose()
