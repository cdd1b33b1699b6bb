"""Key directory (v2): unsafe or damaged key material refused, shares and passphrases, rotation."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from storage.backends import LocalBackend
from storage.blobstore import BlobRef, BlobStore
from storage.crypto.key_directory import (
    MANIFEST,
    MASTER_KEY,
    VAULT_WRAP_AAD,
    init_key_directory,
    load_public_ring,
    retire_vault_key,
    rotate_vault_key,
    unseal_key_from_passphrase,
    unseal_key_from_shares,
    unwrap,
    vault_file,
)
from storage.crypto.keys import VaultKeyRing, reseal
from storage.errors import (
    KeyFileCorrupt,
    KeyFileMissing,
    KeyFilePermissions,
    KeyMismatch,
    KeyRetireRefused,
    KeyStoreError,
    KeyUnavailable,
    WrongShares,
)
from tests.keys import init_keys, ring_of, shares_of, unseal_key_of
from tests.storage.conftest import CHEAP_ARGON2, CHUNK


def load_key_ring(path: Path, passphrase: str | None = None) -> VaultKeyRing:
    return ring_of(path, passphrase)

PASSPHRASE = "correct horse battery staple"


def _manifest(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_text())


def _rewrite_json(file: Path, **changes: object) -> None:
    doc = json.loads(file.read_text())
    doc.update(changes)
    file.write_text(json.dumps(doc))
    os.chmod(file, 0o600)


@pytest.fixture
def pass_dir(tmp_path: Path) -> Path:
    path = tmp_path / "pass-keys"
    init_keys(path, passphrase=PASSPHRASE, argon2=CHEAP_ARGON2)
    return path


def test_init_creates_private_files_and_a_private_directory(key_dir: Path) -> None:
    assert (key_dir.stat().st_mode & 0o777) == 0o700
    files = list(key_dir.iterdir())
    assert MANIFEST in {f.name for f in files}
    assert MASTER_KEY not in {f.name for f in files}
    assert all((f.stat().st_mode & 0o777) == 0o600 for f in files)
    assert not any(f.name.startswith(".tmp-") for f in files)


def test_init_leaves_an_existing_directory_alone(key_dir: Path) -> None:
    before = {f.name: f.read_bytes() for f in key_dir.iterdir()}
    assert init_key_directory(key_dir) is None
    assert {f.name: f.read_bytes() for f in key_dir.iterdir()} == before


def test_the_public_ring_loads_with_nothing_but_the_directory(key_dir: Path) -> None:
    public = load_public_ring(key_dir)
    assert public.active_key_id() == _manifest(key_dir)["active"]
    with pytest.raises(KeyStoreError):
        public.unseal_data_key(public.active_key_id(), b"x" * 1168, "blob")


def test_k_of_n_shares_open_the_vault_and_fewer_do_not(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    created = init_keys(path, shares=5, threshold=3)
    assert created is not None
    assert len(created.shares) == 5
    assert all(len(share.split()) == 33 for share in created.shares)
    key = unseal_key_from_shares(path, created.shares[1:4])
    assert key == unseal_key_from_shares(path, [created.shares[0], *created.shares[3:]])
    with pytest.raises(WrongShares):
        unseal_key_from_shares(path, created.shares[:2])


def test_a_share_of_another_vault_is_named_as_such(key_dir: Path, tmp_path: Path) -> None:
    init_keys(tmp_path / "other")
    with pytest.raises(WrongShares, match="another vault"):
        unseal_key_from_shares(key_dir, shares_of(tmp_path / "other"))


def test_a_mistyped_share_is_refused(key_dir: Path) -> None:
    words = shares_of(key_dir)[0].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    with pytest.raises(WrongShares):
        unseal_key_from_shares(key_dir, [" ".join(words)])


def test_an_old_master_key_directory_is_refused_until_migrated(key_dir: Path) -> None:
    (key_dir / MASTER_KEY).write_bytes(os.urandom(32))
    os.chmod(key_dir / MASTER_KEY, 0o600)
    with pytest.raises(KeyStoreError, match="vault migrate"):
        load_public_ring(key_dir)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_readable_by_others_is_refused(key_dir: Path, mode: int) -> None:
    os.chmod(key_dir / MANIFEST, mode)
    with pytest.raises(KeyFilePermissions, match="chmod 600"):
        load_key_ring(key_dir)


def test_a_vault_key_file_readable_by_others_is_refused(key_dir: Path) -> None:
    vault = key_dir / f"vault-{_manifest(key_dir)['active']}.json"
    os.chmod(vault, 0o644)
    with pytest.raises(KeyFilePermissions):
        load_key_ring(key_dir)


def test_a_missing_vault_key_file_is_refused(key_dir: Path) -> None:
    (key_dir / f"vault-{_manifest(key_dir)['active']}.json").unlink()
    with pytest.raises(KeyFileMissing):
        load_key_ring(key_dir)


def test_a_group_writable_key_directory_is_refused(key_dir: Path) -> None:
    os.chmod(key_dir, 0o770)
    with pytest.raises(KeyFilePermissions):
        load_key_ring(key_dir)


def test_a_tampered_wrapped_key_does_not_open(key_dir: Path) -> None:
    vault = key_dir / f"vault-{_manifest(key_dir)['active']}.json"
    doc = json.loads(vault.read_text())
    doc["wrapped_private_key"]["nonce"] = base64.b64encode(os.urandom(12)).decode()
    _rewrite_json(vault, **doc)
    with pytest.raises(WrongShares):
        load_key_ring(key_dir)


def test_a_stored_public_key_that_does_not_match_is_refused(key_dir: Path, tmp_path: Path) -> None:
    init_keys(tmp_path / "other")
    other_vault = next((tmp_path / "other").glob("vault-*.json"))
    other_public = json.loads(other_vault.read_text())["public_key"]
    _rewrite_json(key_dir / f"vault-{_manifest(key_dir)['active']}.json", public_key=other_public)
    with pytest.raises(KeyMismatch):
        load_key_ring(key_dir)


def test_a_signing_public_key_that_does_not_match_is_refused(key_dir: Path) -> None:
    signing = key_dir / f"signing-{_manifest(key_dir)['signing_key']}.json"
    _rewrite_json(signing, public_key=base64.b64encode(os.urandom(32)).decode())
    with pytest.raises(KeyMismatch):
        load_key_ring(key_dir)


def test_a_damaged_manifest_is_refused(key_dir: Path) -> None:
    (key_dir / MANIFEST).write_text("{not json")
    with pytest.raises(KeyFileCorrupt):
        load_key_ring(key_dir)


def test_a_key_id_that_could_be_a_path_is_refused(key_dir: Path) -> None:
    _rewrite_json(key_dir / MANIFEST, active="../x", vault_keys=["../x"])
    with pytest.raises(KeyFileCorrupt):
        load_key_ring(key_dir)


def test_a_passphrase_directory_opens_with_its_passphrase_only(pass_dir: Path) -> None:
    assert not (pass_dir / MASTER_KEY).exists()
    ring = load_key_ring(pass_dir, passphrase=PASSPHRASE)
    assert ring.active_key_id() == _manifest(pass_dir)["active"]
    with pytest.raises(WrongShares):
        unseal_key_from_passphrase(pass_dir, "wrong horse")
    with pytest.raises(WrongShares, match="passphrase"):
        unseal_key_from_shares(pass_dir, ["any words"])


def test_the_manifest_records_argon2_parameters_and_no_secret(pass_dir: Path) -> None:
    unseal = _manifest(pass_dir)["unseal"]
    assert unseal["method"] == "argon2id"
    assert (unseal["memory_cost"], unseal["iterations"], unseal["lanes"]) == (8, 1, 1)
    assert PASSPHRASE.encode() not in b"".join(f.read_bytes() for f in pass_dir.iterdir())


def test_key_files_hold_no_vault_private_key_in_the_clear(key_dir: Path) -> None:
    key_id = _manifest(key_dir)["active"]
    file = vault_file(key_dir, key_id)
    key = unseal_key_of(key_dir)
    secret = unwrap(key, VAULT_WRAP_AAD, key_id, json.loads(file.read_text())[
        "wrapped_private_key"], file)
    blob = b"".join(f.read_bytes() for f in key_dir.iterdir())
    for needle in (key, secret[:64], secret[64:]):
        assert needle not in blob
        assert base64.b64encode(needle) not in blob


def test_signing_key_public_pem_verifies_its_signatures(ring: VaultKeyRing) -> None:
    public = load_pem_public_key(ring.signing_public_key_pem())
    signature = ring.signing_key().sign(b"checkpoint")
    public.verify(signature, b"checkpoint")  # type: ignore[union-attr]


def test_rotation_keeps_old_and_new_blobs_readable(key_dir: Path, tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "blobs")
    old_ring = load_key_ring(key_dir)
    old = BlobStore(backend, old_ring, chunk_size=CHUNK).put(io.BytesIO(b"before rotation"))
    in_flight = BlobStore(backend, old_ring, chunk_size=CHUNK).writer()
    in_flight.write(b"started before rotation, ")

    new_id = rotate_vault_key(key_dir, unseal_key_of(key_dir))
    assert new_id != old.key_id
    ring = load_key_ring(key_dir)
    assert ring.active_key_id() == new_id
    store = BlobStore(backend, ring, chunk_size=CHUNK)
    in_flight.write(b"finished after it")
    during = in_flight.commit()
    new = store.put(io.BytesIO(b"after rotation"))
    assert new.key_id == new_id
    for blob, text in [
        (old, b"before rotation"),
        (during, b"started before rotation, finished after it"),
        (new, b"after rotation"),
    ]:
        with store.open(blob) as r:
            assert r.read() == text


def test_reseal_moves_a_data_key_to_the_active_key_and_retire_drops_the_old_one(
    key_dir: Path, tmp_path: Path
) -> None:
    backend = LocalBackend(tmp_path / "blobs")
    old = BlobStore(backend, load_key_ring(key_dir), chunk_size=CHUNK).put(io.BytesIO(b"kept"))
    forgotten = BlobStore(backend, load_key_ring(key_dir)).put(io.BytesIO(b"not resealed"))
    new_id = rotate_vault_key(key_dir, unseal_key_of(key_dir))
    ring = load_key_ring(key_dir)
    key_id, sealed = reseal(ring, old.key_id, old.sealed_key, old.blob_id)
    assert key_id == new_id
    assert sealed != old.sealed_key

    retire_vault_key(key_dir, old.key_id)
    assert old.key_id not in _manifest(key_dir)["vault_keys"]
    assert not (key_dir / f"vault-{old.key_id}.json").exists()
    store = BlobStore(backend, load_key_ring(key_dir))
    with store.open(BlobRef(old.blob_id, key_id, sealed)) as r:
        assert r.read() == b"kept"
    with pytest.raises(KeyUnavailable, match=forgotten.blob_id):
        store.open(forgotten)


def test_the_active_key_cannot_be_retired(key_dir: Path) -> None:
    with pytest.raises(KeyRetireRefused):
        retire_vault_key(key_dir, _manifest(key_dir)["active"])
    with pytest.raises(KeyUnavailable):
        retire_vault_key(key_dir, "unknownid")


def test_rotation_with_the_wrong_unseal_key_changes_nothing(pass_dir: Path) -> None:
    before = {f.name for f in pass_dir.iterdir()}
    with pytest.raises(WrongShares):
        rotate_vault_key(pass_dir, os.urandom(32))
    assert {f.name for f in pass_dir.iterdir()} == before
    new_id = rotate_vault_key(pass_dir, unseal_key_of(pass_dir, PASSPHRASE))
    assert load_key_ring(pass_dir, passphrase=PASSPHRASE).active_key_id() == new_id
