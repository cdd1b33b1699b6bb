"""The bundle carries its checkpoint's RFC 3161 token; `verify.py --tsa-cert` checks it."""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Callable
from pathlib import Path

from incidents.services.bundles.builder import BundleItem, build_bundle
from tests.bundles.conftest import CREATED, Exported, bundle_custody_for, run_verify
from tests.fixtures.tsa import LocalTSA, _make_pki


def _timestamped_bundle(session, keys, settings, evidence, make_items, tsa: LocalTSA,
                        tmp_path: Path) -> tuple[Path, str]:
    stamped = dataclasses.replace(settings, tsa_url=tsa.url)
    items = make_items()
    bundle_custody = bundle_custody_for(session, keys, stamped, evidence, items, "bundle-ts")
    assert bundle_custody.tsa_token
    zip_path = tmp_path / "bundle-ts.zip"
    with zip_path.open("wb") as out:
        build_bundle(out, items=items, custody=bundle_custody, bundle_id="bundle-ts",
                     created_at=CREATED)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(tmp_path / "unzipped")
    return tmp_path / "unzipped" / "bundle-ts", bundle_custody.verifier_key


def test_the_timestamp_verifies_against_the_authoritys_certificate(
        session, keys, settings, evidence, make_items: Callable[[], list[BundleItem]],
        tsa: LocalTSA, tmp_path: Path) -> None:
    bag, vkey = _timestamped_bundle(session, keys, settings, evidence, make_items, tsa,
                                    tmp_path)
    assert (bag / "custody" / "checkpoint.tsr").is_file()
    result = run_verify(bag, "--key", vkey, "--tsa-cert", str(tsa.directory / "ca.pem"))
    assert result.returncode == 0, result.stdout
    assert "OK    checkpoint timestamp (RFC 3161)" in result.stdout


def test_the_timestamp_fails_against_another_authority(
        session, keys, settings, evidence, make_items: Callable[[], list[BundleItem]],
        tsa: LocalTSA, tmp_path: Path) -> None:
    bag, vkey = _timestamped_bundle(session, keys, settings, evidence, make_items, tsa,
                                    tmp_path)
    other = tmp_path / "other-pki"
    other.mkdir()
    _make_pki(other)
    result = run_verify(bag, "--key", vkey, "--tsa-cert", str(other / "ca.pem"))
    assert result.returncode == 1
    assert "custody/checkpoint.tsr: the timestamp token does not verify" in result.stdout


def test_a_bundle_without_a_timestamp_fails_when_one_is_asked_for(
        bundle: Exported, tsa: LocalTSA) -> None:
    result = run_verify(bundle.bag, "--key", bundle.verifier_key, "--tsa-cert",
                        str(tsa.directory / "ca.pem"))
    assert result.returncode == 1
    assert "custody/checkpoint.tsr: missing" in result.stdout
