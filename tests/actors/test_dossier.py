"""A dossier as its recipient checks it: pdftotext reads the PDF; bagit.py and the bundled
verify.py check the bag beside it; the ledger holds the PDF's hash."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from incidents.services import custody
from tests.actors.conftest import ok, submit_files
from tests.bundles.conftest import run_verify, server_key
from tests.fixtures.media import video
from tests.review.fixtures import PHOTO, call, items_of
from tests.review.test_pages import sign_in
from tests.web.conftest import form_token

NO_LEGAL = {"legal": False, "research": True, "publication": False, "contact": False}
# pdftotext comes from Debian's poppler-utils (`make pdftools`); these tests fail, never
# skip, without it: they are what proves the dossier readable.


def export(client, token, actor: str, tmp_path: Path) -> tuple[Path, str, object]:
    response = call(client, "POST", "/api/v1/dossiers", token, {"actor": actor})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    data = response.get_data()
    out = tmp_path / "dossier"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(out)
    text = subprocess.run(["pdftotext", str(out / "dossier.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    return out, " ".join(text.split()), response  # lines wrap where the page is full


def test_a_dossier_names_the_person_the_incident_and_every_exhibit_hash_and_its_bundle_verifies(
        app, client, world, session, tmp_path):
    ok(call(client, "POST", f"/api/v1/review/items/{world.video_item}/assessments",
            world.reviewer.token, {"reliability": "B", "credibility": 2,
                                   "reason": "Filmed by the witness on the day."}), 201)
    out, text, response = export(client, world.reviewer.token, world.person, tmp_path)
    for expected in ("Serik Zhaksylykov", "Серік Жақсылықов", "Полковник С.", world.incident,
                     "Shooting at the akimat", "direct perpetrator", "alleged",
                     "engaging in the violation", "Полковник стрелял в толпу", "grade B2",
                     "Command chain", "Exculpatory", "W1"):
        assert expected in text, expected
    (bag,) = [p for p in out.iterdir() if p.is_dir()]
    originals = sorted((bag / "data/originals").iterdir())
    assert len(originals) == 3  # the video, the photo, the testimony
    for original in originals:
        digest = hashlib.sha256(original.read_bytes()).hexdigest()
        assert digest in text
        assert f"{bag.name}/data/originals/{original.name}" in text
    assert hashlib.sha256(PHOTO.read_bytes()).hexdigest() in text
    bagit = shutil.which("bagit.py") or str(Path(sys.executable).parent / "bagit.py")
    checked = subprocess.run([bagit, "--validate", str(bag)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    verified = run_verify(bag, "--key", server_key(app))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    pdf_sha256 = hashlib.sha256((out / "dossier.pdf").read_bytes()).hexdigest()
    assert response.headers["X-Dossier-Pdf-Sha256"] == pdf_sha256
    events = custody.events_for(session, f"actor:{world.person}")
    made = next(e for e in events if e.action == "dossier_created")
    assert made.details["pdf_sha256"] == pdf_sha256
    exported = next(e for e in events if e.action == "dossier_exported")
    assert exported.details["zip_sha256"] == hashlib.sha256(response.get_data()).hexdigest()
    assert world.witness.user.pseudonym not in text


def test_a_translation_rides_in_the_dossier_and_the_bundle_beside_the_original(
        app, client, world, tmp_path):
    links = ok(call(client, "GET", f"/api/v1/incidents/{world.incident}/involvements",
                    world.reviewer.token))["involvements"]
    citation = next(lk for lk in links if lk["role"] == "direct_perpetrator")["citations"][0]
    ok(call(client, "POST", f"/api/v1/citations/{citation['id']}/translations",
            world.reviewer.token, {"language": "en", "text": "The colonel fired into the crowd"}),
       201)
    out, text, _ = export(client, world.reviewer.token, world.person, tmp_path)
    assert "Полковник стрелял в толпу" in text
    assert "The colonel fired into the crowd" in text
    (bag,) = [p for p in out.iterdir() if p.is_dir()]
    meta = (bag / "data/metadata" / f"{world.video_item}.json").read_text()
    assert "The colonel fired into the crowd" in meta
    assert "Полковник стрелял в толпу" in meta
    assert run_verify(bag, "--key", server_key(app)).returncode == 0


def test_rejected_links_and_their_reasons_are_in_the_exculpatory_section(client, world,
                                                                        tmp_path):
    ok(call(client, "POST", f"/api/v1/incidents/{world.incident}/command-chain",
            world.reviewer.token, {"post": world.post, "decision": "rejected",
                                   "reason": "He was on leave that week."}))
    ok(call(client, "POST", f"/api/v1/involvements/{world.perpetrator_link}/status",
            world.reviewer.token, {"status": "disputed",
                                   "reason": "A second video shows another officer."}))
    _, text, _ = export(client, world.reviewer.token, world.person, tmp_path)
    exculpatory = text[text.index("5. Exculpatory"):text.index("6. Exhibits")]
    assert "He was on leave that week." in exculpatory
    assert "A second video shows another officer." in exculpatory


def test_items_without_consent_to_legal_use_are_listed_as_withheld(
        app, client, world, queued, tmp_path):
    refused = submit_files(app, client, world.witness, queued,
                           [(video(seconds=1.0), "other.mp4", "video/mp4")], consent=NO_LEGAL,
                           testimony="Тайное свидетельство")
    items = [i["id"] for i in items_of(client, world.reviewer.token, refused)]
    # Linked through the incident page's form (the API has no link route).
    browser = app.test_client()
    sign_in(browser, world.reviewer)
    linked = browser.post(f"/incidents/{world.incident}/link",
                          data={"csrf_token": form_token(browser), "submissions": refused})
    assert linked.status_code == 302
    ok(call(client, "POST", f"/api/v1/involvements/{world.perpetrator_link}/status",
            world.reviewer.token, {"status": "corroborated", "reason": "Second witness.",
                                   "citations": [{"item": items[0],
                                                  "excerpt": "Тайное свидетельство"}]}))
    out, text, response = export(client, world.reviewer.token, world.person, tmp_path)
    assert response.headers["X-Dossier-Withheld"] == "1"
    assert items[0] in text
    assert "withheld" in text
    assert "Тайное свидетельство" not in text
    (bag,) = [p for p in out.iterdir() if p.is_dir()]
    assert items[0] in (bag / "withheld.json").read_text()
    assert run_verify(bag, "--key", server_key(app)).returncode == 0


def test_a_superior_named_only_by_the_command_chain_has_the_incident_in_their_dossier(
        app, client, world, tmp_path):
    token = world.reviewer.token
    parent = ok(call(client, "POST", "/api/v1/actors", token, {
        "kind": "unit", "name_latin": "Police Department of Almaty", "force": "police"}), 201)
    ok(call(client, "POST", f"/api/v1/actors/{world.unit}/posts", token,
            {"kind": "part_of", "target": parent["id"], "start": "2020-01-01"}), 201)
    chief = ok(call(client, "POST", "/api/v1/actors", token, {
        "kind": "person", "name_latin": "Kanat Chief", "name_cyrillic": "Қанат Бастық",
        "posts": [{"kind": "commander", "target": parent["id"], "start": "2021-01-01",
                   "citations": [{"item": world.testimony_item,
                                  "excerpt": "Начальник департамента отдавал приказы"}]}]}),
        201)
    ok(call(client, "POST", f"/api/v1/incidents/{world.incident}/command-chain", token,
            {"post": chief["posts"][0]["id"], "decision": "confirmed",
             "reason": "Appointment decree of 2021."}))
    out, text, _ = export(client, token, chief["id"], tmp_path)
    assert "Қанат Бастық" in text
    assert world.incident in text
    assert "Linked through the derived command chain only" in text
    assert "confirmed by a lawyer" in text
    (bag,) = [p for p in out.iterdir() if p.is_dir()]
    assert run_verify(bag, "--key", server_key(app)).returncode == 0
