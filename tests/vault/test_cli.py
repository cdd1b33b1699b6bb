"""The vault commands: `init --shares --threshold`, `vault unseal` from stdin, `seal`,
`status`, `migrate` (a v1 `master.key` directory), each as an operator would run them."""

from __future__ import annotations

import io
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskCliRunner

from incidents.app import create_app
from incidents.core.settings import Settings
from incidents.models import AuditEvent, CustodyEvent
from incidents.web.db import get_db
from storage.backends import LocalBackend
from storage.blobstore import BlobStore
from storage.crypto import key_directory as kd
from storage.crypto.keys import PublicKeyRing
from tests.helpers import CHEAP_ARGON2
from tests.keys import init_keys, ring_of, shares_of, unseal_key_of

SHARE = "recovery share:"


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Flask, FlaskCliRunner]]:
    """A brand-new instance folder (SQLite), as on a fresh machine; the vault in-process."""
    settings = Settings.load(instance_path=tmp_path / "fresh", environ={}, testing=True,
                             vault_agent="inprocess", **CHEAP_ARGON2)
    app = create_app(settings)
    with app.app_context():
        yield app, app.test_cli_runner()
        get_db().session.remove()
        get_db().engine.dispose()


def _shares(output: str) -> list[str]:
    return [line.removeprefix(SHARE).strip() for line in output.splitlines()
            if line.startswith(SHARE)]


def test_init_prints_k_of_n_shares_once_and_starts_unsealed(fresh) -> None:
    app, runner = fresh
    result = runner.invoke(args=["init", "--shares", "3", "--threshold", "2"])
    assert result.exit_code == 0, result.output
    shares = _shares(result.output)
    assert len(shares) == 3
    assert all(len(s.split()) == 33 for s in shares)
    assert "The vault is unsealed" in result.output
    keys_dir = app.extensions["settings"].key_dir
    on_disk = b"".join(p.read_bytes() for p in keys_dir.parent.rglob("*") if p.is_file())
    assert not any(s.encode() in on_disk for s in shares)
    again = runner.invoke(args=["init"])
    assert SHARE not in again.output  # shown only once


def test_init_refuses_a_threshold_above_the_share_count(fresh) -> None:
    _, runner = fresh
    result = runner.invoke(args=["init", "--shares", "2", "--threshold", "3"])
    assert result.exit_code != 0
    assert "threshold" in result.output


def test_unseal_from_stdin_k_minus_one_fails_k_succeeds_foreign_fails(fresh, tmp_path) -> None:
    app, runner = fresh
    shares = _shares(runner.invoke(args=["init", "--shares", "3", "--threshold", "2"]).output)
    assert runner.invoke(args=["vault", "seal"]).output.strip() == "vault sealed"
    one = runner.invoke(args=["vault", "unseal"], input=shares[2] + "\n")
    assert one.exit_code == 1
    assert "still sealed: 1 of 2" in one.output
    status = runner.invoke(args=["vault", "status"]).output
    assert "sealed" in status.splitlines()[0]
    assert "pending shares: 1" in status
    init_keys(tmp_path / "other", shares=3, threshold=2)
    foreign = runner.invoke(args=["vault", "unseal"], input=shares_of(tmp_path / "other")[0])
    assert foreign.exit_code == 1
    assert "belongs to another vault" in foreign.output
    both = runner.invoke(args=["vault", "unseal"],
                         input=f"{SHARE} {shares[0]}\n\n  {shares[1].upper()}  \n")
    assert both.exit_code == 0, both.output
    assert "vault unsealed" in both.output
    assert runner.invoke(args=["vault", "status"]).output.startswith("unsealed")
    with get_db().new_session() as session:
        actions = [e.action for e in session.scalars(
            sa.select(CustodyEvent).where(CustodyEvent.subject == "vault")
            .order_by(CustodyEvent.seq))]
        audited = session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["vault_unsealed", "vault_sealed", "vault_unsealed"]
    assert "vault_share_refused" in audited
    assert "vault_share_given" in audited


def test_a_wrong_set_of_shares_is_forgotten_and_named(fresh) -> None:
    _, runner = fresh
    shares = _shares(runner.invoke(args=["init", "--shares", "3", "--threshold", "2"]).output)
    runner.invoke(args=["vault", "seal"])
    words = shares[1].split()
    # A valid share of the same set is hard to forge; a damaged one is refused outright.
    # One word replaced by another of the list (a swap of two words is no damage when the
    # two happen to be the same word, 1 in 1,024).
    words[3] = "academic" if words[3] != "academic" else "acid"
    result = runner.invoke(args=["vault", "unseal"], input=shares[0] + "\n" + " ".join(words))
    assert result.exit_code == 1
    assert "sealed" in result.output or "share" in result.output


def test_a_passphrase_vault_unseals_with_its_passphrase_only(fresh) -> None:
    _, runner = fresh
    result = runner.invoke(args=["init", "--passphrase"], input="a long operator phrase 42\n")
    assert result.exit_code == 0, result.output
    assert SHARE not in result.output
    runner.invoke(args=["vault", "seal"])
    wrong = runner.invoke(args=["vault", "unseal"], input="not the phrase at all\n")
    assert wrong.exit_code == 1
    assert "does not open" in wrong.output
    right = runner.invoke(args=["vault", "unseal"], input="a long operator phrase 42\n")
    assert right.exit_code == 0, right.output


def _make_v1(path: Path) -> tuple[str, bytes]:
    """A key directory as the old `init` left it: keys wrapped under master.key beside them."""
    path.mkdir(mode=0o700)
    master = secrets.token_bytes(32)
    kd.write_private(path / kd.MASTER_KEY, master)
    fresh = path.parent / "v2-source"
    init_keys(fresh)
    ring = ring_of(fresh)
    key_id = ring.active_key_id()
    doc = json.loads(kd.vault_file(fresh, key_id).read_text())
    secret = kd.unwrap(unseal_key_of(fresh), kd.VAULT_WRAP_AAD, key_id,
                       doc["wrapped_private_key"], fresh)
    doc["wrapped_private_key"] = kd.wrap(master, kd.VAULT_WRAP_AAD, key_id, secret)
    kd.write_private(kd.vault_file(path, key_id), kd.dump_json(doc))
    signing = Ed25519PrivateKey.generate()
    kd.write_private(kd.signing_file(path, "sign01"), kd.dump_json({
        "format": kd.SIGNING_FORMAT_V1, "key_id": "sign01", "algorithm": "Ed25519",
        "public_key": kd.b64(signing.public_key().public_bytes_raw()),
        "wrapped_private_key": kd.wrap(master, kd.SIGNING_WRAP_AAD, "sign01",
                                       signing.private_bytes_raw())}))
    kd.write_private(path / kd.MANIFEST, kd.dump_json({
        "format": kd.MANIFEST_FORMAT_V1, "active": key_id, "vault_keys": [key_id],
        "signing_key": "sign01", "wrapping": {"method": "key-file", "file": "master.key"}}))
    return key_id, master


def test_migrate_moves_a_master_key_directory_and_removes_master_key(tmp_path) -> None:
    settings = Settings.load(instance_path=tmp_path / "old", environ={}, testing=True,
                             vault_agent="inprocess", **CHEAP_ARGON2)
    settings.instance_path.mkdir(mode=0o700)
    key_id, master = _make_v1(settings.key_dir)
    # Evidence sealed before the migration (to the same public key).
    public = kd.public_key_from_bytes(kd.unb64(json.loads(
        kd.vault_file(settings.key_dir, key_id).read_text())["public_key"], "public"))
    ring = PublicKeyRing(active=key_id, public_keys={key_id: public},
                         signing_key=Ed25519PrivateKey.generate())
    blob = BlobStore(LocalBackend(tmp_path / "blobs"), ring).put(io.BytesIO(b"old evidence"))
    app = create_app(settings)
    with app.app_context():
        runner = app.test_cli_runner()
        assert "migrated" not in runner.invoke(args=["vault", "status"]).output
        result = runner.invoke(args=["vault", "migrate", "--shares", "3", "--threshold", "2"])
        assert result.exit_code == 0, result.output
        get_db().engine.dispose()
    assert not (settings.key_dir / kd.MASTER_KEY).exists()
    shares = _shares(result.output)
    assert len(shares) == 3
    on_disk = b"".join(p.read_bytes() for p in settings.key_dir.iterdir())
    assert master not in on_disk
    assert kd.read_manifest(settings.key_dir)["active"] == key_id
    opened = ring_of(settings.key_dir, shares=shares[:2])
    store = BlobStore(LocalBackend(tmp_path / "blobs"), opened)
    with store.open(blob) as reader:
        assert reader.read() == b"old evidence"
    again = create_app(settings)
    with again.app_context():
        refused = again.test_cli_runner().invoke(args=["vault", "migrate"])
        get_db().engine.dispose()
    assert refused.exit_code != 0
    assert "nothing to migrate" in refused.output


def test_an_old_directory_starts_but_serves_no_evidence_until_migrated(tmp_path) -> None:
    settings = Settings.load(instance_path=tmp_path / "old", environ={}, testing=True,
                             vault_agent="inprocess", **CHEAP_ARGON2)
    settings.instance_path.mkdir(mode=0o700)
    _make_v1(settings.key_dir)
    app = create_app(settings)
    assert "keys" not in app.extensions
    assert os.path.exists(settings.key_dir / kd.MASTER_KEY)
