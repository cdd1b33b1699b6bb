"""End to end: submit a real photo, review, incident and case, export through the API, then
check the bag as a recipient would (bagit.py --validate, python3 verify.py)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from incidents.models import CustodyEvent
from incidents.web.db import get_session
from storage.crypto.note import verifier_key
from tests.bundles.conftest import run_verify
from tests.review.fixtures import PHOTO, call, items_of
from tests.review.test_incidents import BASE
from tests.review.test_pages import sign_in
from tests.web.conftest import form_token

NO_LEGAL = {"legal": False, "research": True, "publication": False, "contact": False}


@pytest.fixture
def server_key(keys, settings) -> str:
    """The key a recipient obtains from the server, not from the bundle."""
    return verifier_key(settings.custody_origin, keys.signing_key().public_key())


def unzip(data: bytes, target: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(target)
    (bag,) = [p for p in target.iterdir() if p.is_dir()]
    return bag


@pytest.fixture
def case_with_evidence(client, reviewer, witness, submit):
    """A case holding an incident of two submissions, one without consent to legal use."""
    consented, refused = submit(), submit(photo=None, consent=NO_LEGAL)
    call(client, "POST", f"/api/v1/review/submissions/{consented}/status", reviewer.token,
         {"status": "accepted"})
    incident = call(client, "POST", "/api/v1/review/incidents", reviewer.token,
                    {**BASE, "submissions": [consented, refused]}).get_json()["id"]
    case = call(client, "POST", "/api/v1/cases", reviewer.token,
                {"name": "Prosecution of X", "kind": "prosecution"}).get_json()["id"]
    call(client, "POST", f"/api/v1/cases/{case}/incidents", reviewer.token,
         {"incidents": [incident]})
    return {"case": case, "incident": incident, "consented": consented, "refused": refused}


def test_a_case_bundle_validates_with_bagit_and_its_own_verifier(
        client, reviewer, witness, case_with_evidence, tmp_path, server_key):
    response = call(client, "POST", "/api/v1/bundles", reviewer.token,
                    {"case_id": case_with_evidence["case"]})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/zip"
    bag = unzip(response.get_data(), tmp_path / "out")
    bagit = shutil.which("bagit.py") or str(Path(sys.executable).parent / "bagit.py")
    checked = subprocess.run([bagit, "--validate", str(bag)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    verified = run_verify(bag, "--key", server_key)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK    completeness" in verified.stdout
    originals = list((bag / "data/originals").iterdir())
    photo = next(p for p in originals if p.suffix == ".jpg")
    assert hashlib.sha256(photo.read_bytes()).digest() == hashlib.sha256(
        PHOTO.read_bytes()).digest()


def test_items_without_legal_consent_are_withheld_and_pseudonyms_never_appear(
        client, reviewer, witness, case_with_evidence, tmp_path):
    refused_items = {i["id"] for i in items_of(client, reviewer.token,
                                               case_with_evidence["refused"])}
    response = call(client, "POST", "/api/v1/bundles", reviewer.token,
                    {"case_id": case_with_evidence["case"]})
    bag = unzip(response.get_data(), tmp_path / "out")
    withheld = json.loads((bag / "withheld.json").read_text())
    listed = {w["item"] for w in withheld["withheld"]}
    assert listed == refused_items
    names = {p.name for p in (bag / "data/metadata").iterdir()}
    assert not any(item in name for item in refused_items for name in names)
    everything = b"".join(p.read_bytes() for p in bag.rglob("*") if p.is_file())
    assert witness.user.pseudonym.encode() not in everything
    metadata = [json.loads(p.read_text()) for p in (bag / "data/metadata").iterdir()]
    assert {m["metadata"]["witness"] for m in metadata} == {"W1"}


def test_exporting_twice_gives_the_same_payload_manifest_and_records_each_export(
        client, reviewer, case_with_evidence, tmp_path):
    first = unzip(call(client, "POST", "/api/v1/bundles", reviewer.token,
                       {"incident_id": case_with_evidence["incident"]}).get_data(),
                  tmp_path / "one")
    second = unzip(call(client, "POST", "/api/v1/bundles", reviewer.token,
                        {"incident_id": case_with_evidence["incident"]}).get_data(),
                   tmp_path / "two")
    manifest = (first / "manifest-sha256.txt").read_bytes()
    assert manifest == (second / "manifest-sha256.txt").read_bytes()
    exports = get_session().query(CustodyEvent).filter_by(action="exported").all()
    assert len(exports) == 2
    assert {e.details["manifest_sha256"] for e in exports} == {
        hashlib.sha256(manifest).hexdigest()}
    assert exports[0].subject == f"incident:{case_with_evidence['incident']}"
    assert exports[0].actor == reviewer.user.public_id


def test_an_evidence_set_exports_only_the_items_chosen(client, reviewer, submit, tmp_path):
    sid = submit()
    chosen = next(i for i in items_of(client, reviewer.token, sid) if i["kind"] == "file")["id"]
    bag = unzip(call(client, "POST", "/api/v1/bundles", reviewer.token,
                     {"evidence_ids": [chosen]}).get_data(), tmp_path / "out")
    assert [p.name for p in (bag / "data/originals").iterdir()] == [f"evidence-{chosen}.jpg"]


def test_an_unknown_item_or_two_scopes_at_once_are_refused(client, reviewer, submit):
    sid = submit()
    assert call(client, "POST", "/api/v1/bundles", reviewer.token,
                {"evidence_ids": ["nope"]}).status_code == 404
    assert call(client, "POST", "/api/v1/bundles", reviewer.token,
                {"incident_id": "INC-X", "case_id": "CASE-Y"}).status_code == 400
    assert sid


def test_the_cli_writes_a_case_bundle_that_verifies(runner, case_with_evidence, tmp_path,
                                                     server_key):
    out = tmp_path / "case.zip"
    result = runner.invoke(args=["bundle", "export", "--case", case_with_evidence["case"],
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 withheld" in result.output
    bag = unzip(out.read_bytes(), tmp_path / "cli")
    assert run_verify(bag, "--key", server_key).returncode == 0


def test_the_case_page_shows_the_size_and_streams_the_bundle(client, reviewer,
                                                             case_with_evidence, tmp_path,
                                                             server_key):


    case = case_with_evidence["case"]
    sign_in(client, reviewer)
    page = client.get(f"/cases/{case}").get_data(as_text=True)
    assert "withheld: 1" in page
    token = form_token(client, f"/cases/{case}")
    response = client.post(f"/cases/{case}/export", data={"csrf_token": token})
    assert response.status_code == 200
    assert response.headers["X-Bundle-Withheld"] == "1"
    bag = unzip(response.get_data(), tmp_path / "web")
    assert run_verify(bag, "--key", server_key).returncode == 0


def test_two_bundles_never_link_a_witness_through_custody_actors(
        client, reviewer, witness, case_with_evidence, tmp_path, server_key):
    bags = [unzip(call(client, "POST", "/api/v1/bundles", reviewer.token, scope).get_data(),
                  tmp_path / name)
            for name, scope in (("case", {"case_id": case_with_evidence["case"]}),
                                ("incident", {"incident_id": case_with_evidence["incident"]}))]
    for bag in bags:
        text = (bag / "custody" / "events.jsonl").read_bytes()
        assert witness.user.public_id.encode() not in text
        assert reviewer.user.public_id.encode() not in text
        events = [json.loads(line) for line in text.decode().splitlines()]
        labels = {e["actor"] for e in events if e["actor"] is not None}
        assert labels <= {"W1", "R1"}
        assert "W1" in labels
        assert run_verify(bag, "--key", server_key).returncode == 0
