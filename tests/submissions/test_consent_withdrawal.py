"""A witness withdraws consent they gave (issue 10: consent withdrawal in the ledger).

Through the witness's own page (JavaScript off: a plain form) and the API, as the witness
and as others would send it; what everyone then sees: the witness's page, the research
pages, a bundle, and `custody verify`.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.models import CustodyEvent, Role, Submission, User
from incidents.services import incidents
from incidents.web.context import get_blobstore
from incidents.web.db import get_session
from tests.helpers import gen_token, gen_user, login
from tests.submissions.helpers import auth, fresh_g, gen_metadata, post_submission

PHOTO = b"\xff\xd8\xff\xe0 a photo"


def _report(client: FlaskClient, **consent: bool) -> tuple[str, str]:
    """A witness's report with a photo; (the witness's API token, the report's id)."""
    witness = gen_user(Role.CONTRIBUTOR)
    token = gen_token(witness)
    agreed = {"legal": True, "research": True, "publication": True, "contact": True, **consent}
    response = post_submission(client, token, gen_metadata(consent=agreed),
                               files=[(PHOTO, "street.jpg", "image/jpeg")])
    assert response.status_code == 201, response.get_data(as_text=True)
    return token, response.get_json()["id"]


def _withdraw(client: FlaskClient, token: str, report: str, *uses: object) -> object:
    fresh_g()
    return client.post(f"/api/v1/submissions/{report}/consent/withdraw",
                       json={"withdraw": list(uses)}, headers=auth(token))


def _published_incident(report: str) -> str:
    reviewer = gen_user(Role.REVIEWER)
    session = get_session()
    incident = incidents.create(session, get_blobstore(), reviewer, incidents.parse_input(
        {"title": "Shots at the akimat", "start_utc": "2022-01-05T06:00:00Z"}),
        submission_ids=[report])
    incidents.publish(session, reviewer, incident.public_id)
    return incident.public_id


def _owner(report: str) -> User:
    return get_session().scalars(sa.select(User).join(Submission, Submission.owner_id == User.id)
                                 .where(Submission.public_id == report)).one()


def _report_page(app: Flask, report: str) -> tuple[FlaskClient, str, str]:
    """The witness signed in on their report's page: (browser, page, its CSRF token)."""
    browser = app.test_client()
    login(browser, _owner(report))
    page = browser.get(f"/submissions/{report}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    return browser, page, csrf.group(1)


def _verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["custody", "verify", "--no-progress"])
    return result.exit_code, result.output


def test_a_witness_withdraws_research_use_on_the_page_and_the_incident_leaves_research(
        app: Flask, client: FlaskClient) -> None:
    _token, report = _report(client)
    incident = _published_incident(report)
    browser, page, csrf = _report_page(app, report)
    assert 'name="withdraw" value="research"' in page
    answer = browser.post(f"/submissions/{report}/consent",
                          data={"csrf_token": csrf, "withdraw": "research"})
    assert answer.status_code == 302
    page = browser.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Your consent was withdrawn" in page
    assert re.search(r"Anonymous use in research: <strong>you did not agree", page)
    assert 'name="withdraw" value="research"' not in page  # nothing to take back twice
    # The researchers' pages no longer show the incident the witness's report built.
    researcher = app.test_client()
    login(researcher, gen_user(Role.RESEARCHER))
    assert researcher.get(f"/research/incidents/{incident}").status_code == 404
    # The ledger says what changed and why, and still matches the tables.
    events = get_session().scalars(sa.select(CustodyEvent.action).where(
        CustodyEvent.subject.in_([f"submission:{report}", f"incident:{incident}"]))
        .order_by(CustodyEvent.seq)).all()
    assert events[-2:] == ["consent_withdrawn", "unpublished"]
    code, output = _verify(app)
    assert code == 0, output


def test_withdrawn_legal_consent_keeps_the_report_out_of_bundles(
        app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    token, report = _report(client)
    _other, kept = _report(client)  # another witness's, still consenting
    items = {i["id"] for i in client.get(f"/api/v1/submissions/{report}",
                                         headers=auth(token)).get_json()["items"]}
    lawyer = gen_token(gen_user(Role.REVIEWER))

    def export(tag: str) -> Path:
        fresh_g()
        other = [i["id"] for i in client.get(f"/api/v1/review/submissions/{kept}",
                                             headers=auth(lawyer)).get_json()["items"]]
        fresh_g()
        bundle = client.post("/api/v1/bundles", json={"evidence_ids": sorted(items) + other},
                             headers=auth(lawyer))
        assert bundle.status_code == 200, bundle.get_data(as_text=True)[:300]
        with zipfile.ZipFile(io.BytesIO(bundle.get_data())) as zf:
            zf.extractall(tmp_path / tag)
        (bag,) = [p for p in (tmp_path / tag).iterdir() if p.is_dir()]
        return bag

    def withheld(bag: Path) -> set[str]:
        return {w["item"] for w in json.loads((bag / "withheld.json").read_text())["withheld"]}

    assert withheld(export("before")) == set()
    assert _withdraw(client, token, report, "legal").status_code == 200
    assert withheld(export("after")) == items


def test_the_api_withdraws_and_answers_the_new_consent(app: Flask, client: FlaskClient
                                                       ) -> None:
    token, report = _report(client)
    answer = _withdraw(client, token, report, "publication", "contact")
    assert answer.status_code == 200
    assert answer.get_json()["consent"] == {"legal": True, "research": True,
                                            "publication": False, "contact": False}
    code, output = _verify(app)
    assert code == 0, output


def test_consent_set_back_in_sql_after_a_withdrawal_is_named(app: Flask,
                                                              client: FlaskClient) -> None:
    token, report = _report(client)
    assert _withdraw(client, token, report, "research").status_code == 200
    with app.extensions["database"].new_session() as s:
        s.execute(sa.update(Submission).where(Submission.public_id == report)
                  .values(consent_research=True))
        s.commit()
    code, output = _verify(app)
    assert code == 1
    assert f"submissions row {report}: its statement" in output


def test_only_the_witness_can_withdraw_and_others_learn_nothing(
        app: Flask, client: FlaskClient) -> None:
    _token, report = _report(client)
    for role in (Role.CONTRIBUTOR, Role.REVIEWER, Role.ADMIN):
        answer = _withdraw(client, gen_token(gen_user(role)), report, "research")
        assert answer.status_code == 404, role
        assert _withdraw(client, gen_token(gen_user(role)), "no-such-report",
                         "research").get_json() == answer.get_json()
    consent = get_session().scalars(sa.select(Submission.consent_research)
                                    .where(Submission.public_id == report)).one()
    assert consent is True


def test_bad_withdrawals_are_400_naming_the_field_and_change_nothing(
        app: Flask, client: FlaskClient) -> None:
    token, report = _report(client, contact=False)
    before = get_session().scalar(sa.select(sa.func.count()).select_from(CustodyEvent))
    for body in (["everything"], [], [{"use": "research"}], "research"):
        fresh_g()
        answer = client.post(f"/api/v1/submissions/{report}/consent/withdraw",
                             json={"withdraw": body}, headers=auth(token))
        assert answer.status_code == 400, body
        assert "withdraw" in answer.get_data(as_text=True), body
    answer = _withdraw(client, token, report, "contact")  # never given
    assert answer.status_code == 400
    assert answer.get_json()["field"] == "withdraw"
    get_session().expire_all()
    after = get_session().scalar(sa.select(sa.func.count()).select_from(CustodyEvent))
    assert after == before


def test_the_page_keeps_the_witness_on_it_with_the_error_next_to_the_choices(
        app: Flask, client: FlaskClient) -> None:
    _token, report = _report(client)
    browser, _page, csrf = _report_page(app, report)
    answer = browser.post(f"/submissions/{report}/consent", data={"csrf_token": csrf})
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert 'id="withdraw-error"' in text
    assert "Choose what you no longer agree to." in text
