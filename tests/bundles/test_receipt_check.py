"""`verify.py --receipt`: a witness receipt's checkpoint against the bundle's, offline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from incidents.services import checkpoints
from storage.crypto.note import sign_checkpoint
from tests.bundles.conftest import Exported, receipt_at, run_verify
from tests.helpers import fresh_g


def test_a_receipt_from_an_earlier_checkpoint_checks_with_a_consistency_proof(
        client, session, keys, settings, tmp_path, export: Callable[[str], Exported]) -> None:
    older = checkpoints.checkpoint(session, keys, settings)
    receipt = receipt_at(session, settings, keys, older, tmp_path)
    bundle = export("bundle-later")
    newer = checkpoints.latest_checkpoint(session)
    assert newer.size > older.size
    without = run_verify(bundle.bag, "--key", bundle.verifier_key, "--receipt", str(receipt))
    assert without.returncode == 1
    assert f"GET /custody/proof/consistency?first={older.size}&second={newer.size}" \
        in without.stdout
    fresh_g()
    proof = client.get(f"/custody/proof/consistency?first={older.size}&second={newer.size}")
    proof_file = tmp_path / "proof.json"
    proof_file.write_bytes(proof.data)
    result = run_verify(bundle.bag, "--key", bundle.verifier_key, "--receipt", str(receipt),
                        "--consistency", str(proof_file))
    assert result.returncode == 0, result.stdout
    assert "OK    witness receipt: the receipt's checkpoint" in result.stdout


def test_a_receipt_from_a_forked_history_is_not_consistent(
        client, session, keys, settings, tmp_path, export: Callable[[str], Exported]) -> None:
    genuine = checkpoints.checkpoint(session, keys, settings)
    # Signed with the server's own key, but over another history of the same size.
    forked_note = sign_checkpoint(settings.custody_origin, genuine.size, b"\x07" * 32,
                                  datetime.now(UTC), keys.signing_key(),
                                  settings.custody_origin)
    receipt = receipt_at(session, settings, keys, genuine, tmp_path, note=forked_note,
                          with_events=False)
    bundle = export("bundle-later")
    newer = checkpoints.latest_checkpoint(session)
    fresh_g()
    proof = client.get(f"/custody/proof/consistency?first={genuine.size}&second={newer.size}")
    proof_file = tmp_path / "proof.json"
    proof_file.write_bytes(proof.data)
    result = run_verify(bundle.bag, "--key", bundle.verifier_key, "--receipt", str(receipt),
                        "--consistency", str(proof_file))
    assert result.returncode == 1
    assert "is NOT consistent with the bundle's" in result.stdout
    assert "the log forked" in result.stdout
