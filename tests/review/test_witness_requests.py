"""A request for more information: the witness sees it and answers; never reviewers' notes."""

from __future__ import annotations

from incidents.models import EvidenceKind, Submission
from incidents.web.db import get_session
from tests.helpers import login
from tests.review.fixtures import call
from tests.web.conftest import form_token, fresh_g


def test_the_witness_sees_the_request_but_not_the_reviewers_note(client, witness, reviewer,
                                                                 submit):
    sid = submit()
    call(client, "POST", f"/api/v1/review/submissions/{sid}/requests", reviewer.token,
         {"question": "Which street were you on?"})
    call(client, "POST", f"/api/v1/review/submissions/{sid}/notes", reviewer.token,
         {"body": "Probably the same crowd as case 12"})
    fresh_g()
    login(client, witness.user)
    fresh_g()
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "Which street were you on?" in page
    assert "same crowd" not in page


def test_the_witness_answer_is_new_testimony_and_goes_back_to_review(client, witness,
                                                                     reviewer, submit):
    sid = submit()
    call(client, "POST", f"/api/v1/review/submissions/{sid}/requests", reviewer.token,
         {"question": "Which street?"})
    fresh_g()
    login(client, witness.user)
    fresh_g()
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    action = next(part.split('"')[0] for part in page.split('action="') if "/answer" in part)
    token = form_token(client, f"/submissions/{sid}")
    response = client.post(action, data={"csrf_token": token, "answer": "Zheltoksan street"})
    assert response.status_code == 302
    submission = get_session().query(Submission).filter_by(public_id=sid).one()
    get_session().refresh(submission)
    assert submission.status.value == "in_review"
    assert [i.kind for i in submission.items].count(EvidenceKind.TESTIMONY) == 2
    fresh_g()
    assert "Zheltoksan street" in client.get(f"/submissions/{sid}").get_data(as_text=True)
