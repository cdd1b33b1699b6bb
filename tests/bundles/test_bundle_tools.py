"""A bundle passes the checks a third party runs: bagit.py, sha256sum, openssl, verify.py."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.bundles.conftest import Exported, run_verify

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def _shell_blocks(markdown: str, heading: str) -> list[str]:
    """The ```sh blocks of one section of VERIFY.md (the English half)."""
    english = markdown.split("## Русский")[0]
    section = english.split(heading, 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def test_bagit_validates_the_bag(bundle: Exported) -> None:
    result = subprocess.run([str(VENV_BIN / "bagit.py"), "--validate", str(bundle.bag)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stderr


def test_sha256sum_checks_the_payload_and_tag_manifests(bundle: Exported) -> None:
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        result = subprocess.run(["sha256sum", "--strict", "-c", manifest], cwd=bundle.bag,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    payload = (bundle.bag / "manifest-sha256.txt").read_text()
    assert "data/originals/ev-photo01.jpg" in payload
    assert "custody/" not in payload


def test_the_verify_md_openssl_commands_verify_the_checkpoint(bundle: Exported) -> None:
    blocks = _shell_blocks((bundle.bag / "VERIFY.md").read_text(), "### 4.")
    assert len(blocks) == 2
    for block in blocks:
        script = block.replace("<the server key you obtained independently>",
                               bundle.verifier_key)
        result = subprocess.run(["bash", "-e", "-c", script], cwd=bundle.bag,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Signature Verified Successfully" in result.stdout


def test_openssl_rejects_a_checkpoint_whose_text_was_changed(bundle: Exported) -> None:
    checkpoint = bundle.bag / "custody" / "checkpoint.txt"
    lines = checkpoint.read_text().split("\n")
    lines[1] = str(int(lines[1]) + 1)  # claim a bigger tree
    checkpoint.write_text("\n".join(lines))
    script = _shell_blocks((bundle.bag / "VERIFY.md").read_text(), "### 4.")[0]
    result = subprocess.run(["bash", "-c", script], cwd=bundle.bag, capture_output=True,
                            text=True)
    assert "Signature Verified Successfully" not in result.stdout


def test_verify_py_passes_on_the_unzipped_bag_with_the_server_key(bundle: Exported) -> None:
    result = run_verify(bundle.bag, "--key", bundle.verifier_key)
    assert result.returncode == 0, result.stdout
    assert "RESULT: all checks passed" in result.stdout
    assert result.stdout.count("\nOK    ") == 9


def test_verify_py_passes_on_the_zip_without_unzipping(bundle: Exported) -> None:
    result = run_verify(bundle.zip_path, "--key", bundle.verifier_key)
    assert result.returncode == 0, result.stdout


def test_verify_py_run_from_inside_the_bag_checks_its_own_folder(bundle: Exported) -> None:
    result = subprocess.run(["python3", "-I", "verify.py"], cwd=bundle.bag,
                            capture_output=True, text=True)
    if "needs the 'cryptography' package" in result.stderr:
        return  # this machine's python3 lacks cryptography; run_verify covers the checks
    assert result.returncode == 3, result.stdout
    assert "SIGNER NOT CHECKED" in result.stdout


def test_verify_py_accepts_the_servers_pem_file_as_key(bundle: Exported, tmp_path) -> None:
    pem = tmp_path / "custody-key.pem"
    pem.write_bytes(bundle.server_pem)
    result = run_verify(bundle.bag, "--key", str(pem))
    assert result.returncode == 0, result.stdout


def test_verify_md_prints_the_server_key_in_english_and_russian(bundle: Exported) -> None:
    text = (bundle.bag / "VERIFY.md").read_text()
    assert bundle.verifier_key in text
    assert "## English" in text
    assert "## Русский" in text
    assert "bagit.py --validate ." in text
    assert "python3 verify.py --key" in text


def test_bag_info_names_the_bundle_and_counts_the_payload(bundle: Exported) -> None:
    info = (bundle.bag / "bag-info.txt").read_text()
    assert "External-Identifier: bundle-1\n" in info
    assert "Bagging-Date: 2026-01-05\n" in info
    assert "Source-Organization: Test Organisation\n" in info
    assert f"Payload-Oxum: {bundle.manifest.payload_bytes}.6\n" in info


def test_withheld_items_are_listed_with_the_reason(bundle: Exported) -> None:
    withheld = (bundle.bag / "withheld.json").read_text()
    assert "ev-nocons04" in withheld
    assert "no consent to legal use" in withheld
    assert not list((bundle.bag / "data" / "originals").glob("ev-nocons04*"))
