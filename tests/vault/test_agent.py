"""The key agent's state and protocol: sealed until k shares, shares forgotten, seal at once."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest

from storage.agent import protocol
from storage.agent.client import AgentProvider, LocalTransport
from storage.agent.core import Vault
from storage.backends import LocalBackend
from storage.blobstore import BlobStore
from storage.errors import ForeignShare, VaultSealed, WrongShares
from tests.keys import init_keys, shares_of


def _call(vault: Vault, op: str, **fields: object) -> dict:
    return protocol.dispatch(vault, {"v": 1, "op": op, **fields})


@pytest.fixture
def store(key_dir: Path, tmp_path: Path) -> tuple[BlobStore, Vault]:
    vault = Vault(key_dir)
    provider = AgentProvider(key_dir, LocalTransport(vault))
    return BlobStore(LocalBackend(tmp_path / "blobs"), provider), vault


def test_a_sealed_vault_takes_evidence_in_but_opens_none(store) -> None:
    blobs, vault = store
    blob = blobs.put(io.BytesIO(b"testimony written while sealed"))
    with pytest.raises(VaultSealed):
        blobs.open(blob)
    assert vault.status()["sealed"] is True


def test_k_minus_one_shares_leave_it_sealed_and_k_open_it(store, shares) -> None:
    blobs, vault = store
    blob = blobs.put(io.BytesIO(b"evidence"))
    first = vault.add_share(shares[0])
    assert first == {"sealed": True, "pending": 1, "threshold": 2}
    with pytest.raises(VaultSealed):
        blobs.open(blob)
    assert vault.add_share(shares[2])["sealed"] is False
    with blobs.open(blob) as reader:
        assert reader.read() == b"evidence"


def test_a_share_from_another_instance_is_refused_and_named(key_dir, tmp_path) -> None:
    init_keys(tmp_path / "other", shares=3, threshold=2)
    vault = Vault(key_dir)
    with pytest.raises(ForeignShare):
        vault.add_share(shares_of(tmp_path / "other")[0])
    reply = _call(vault, "share", share=shares_of(tmp_path / "other")[0])
    assert reply["error"] == "foreign_share"
    assert vault.status()["pending"] == 0


def test_the_same_share_twice_does_not_count_twice(key_dir, shares) -> None:
    vault = Vault(key_dir)
    vault.add_share(shares[1])
    with pytest.raises(WrongShares, match="already"):
        vault.add_share("  " + shares[1].upper() + "\n")
    assert vault.status()["sealed"] is True


def test_pending_shares_are_forgotten_after_the_time_limit(key_dir, shares) -> None:
    now = [1000.0]
    vault = Vault(key_dir, share_ttl=600, clock=lambda: now[0])
    vault.add_share(shares[0])
    assert vault.status()["pending"] == 1
    assert vault.status()["pending_expires_in"] == 600
    now[0] += 601
    assert vault.status()["pending"] == 0
    assert vault.add_share(shares[1])["sealed"] is True  # the first one no longer counts


def test_seal_drops_the_keys_and_every_pending_share(store, shares) -> None:
    blobs, vault = store
    blob = blobs.put(io.BytesIO(b"x"))
    vault.add_share(shares[0])
    vault.add_share(shares[1])
    blobs.open(blob).close()
    assert _call(vault, "seal") == {"ok": True, "sealed": True, "was_sealed": False}
    with pytest.raises(VaultSealed):
        blobs.open(blob)
    assert vault._unseal_key is None  # noqa: SLF001
    assert vault.status()["key_ids"] == []


def test_a_data_key_for_another_blob_id_is_refused(store, shares) -> None:
    blobs, vault = store
    a, b = blobs.put(io.BytesIO(b"a")), blobs.put(io.BytesIO(b"b"))
    vault.add_share(shares[0])
    vault.add_share(shares[1])
    reply = _call(vault, "open", key_id=a.key_id, sealed=base64.b64encode(a.sealed_key).decode(),
                  blob_id=b.blob_id)
    assert reply["ok"] is False
    assert reply["error"] == "sealed_key"


@pytest.mark.parametrize("request_", [
    {"op": "open"}, {"v": 2, "op": "status"}, {"v": 1, "op": "dump_keys"},
    {"v": 1, "op": "open", "key_id": "k" * 33, "sealed": "", "blob_id": "b"},
    {"v": 1, "op": "open", "key_id": "abcd", "sealed": "not base64!", "blob_id": "b"},
])
def test_malformed_requests_get_a_refusal_not_an_exception(key_dir, request_) -> None:
    reply = protocol.dispatch(Vault(key_dir), request_)
    assert reply["ok"] is False
    assert reply["error"] in {"refused", "sealed"}


def test_the_answer_to_open_is_one_data_key_and_nothing_else(store, shares) -> None:
    blobs, vault = store
    blob = blobs.put(io.BytesIO(os.urandom(100)))
    vault.add_share(shares[0])
    vault.add_share(shares[1])
    reply = _call(vault, "open", key_id=blob.key_id,
                  sealed=base64.b64encode(blob.sealed_key).decode(), blob_id=blob.blob_id)
    assert set(reply) == {"ok", "data_key"}
    assert len(base64.b64decode(reply["data_key"])) == 32
