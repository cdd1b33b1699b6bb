"""A reviewer opens a submission whose photo was also sent by another witness (issue 9).

The page once answered 500 here: the template called a service with the wrong arguments
to build the link to the other submission. Now the view hands it the other submission's
public id and the page shows the near-duplicate with a working link.
"""

from __future__ import annotations

import pytest
from flask import Flask

from incidents.core.vocabulary import Role
from incidents.services.media.process import process_item
from incidents.web.context import get_blobstore
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, gen_token, gen_user, next_code
from tests.review.fixtures import PHOTO
from tests.submissions.helpers import fresh_g, gen_metadata, post_submission

pytestmark = pytest.mark.browser


def _submit_photo(live_app: Flask, token: str, queued: list[str]) -> str:
    client = live_app.test_client()
    response = post_submission(client, token, gen_metadata(),
                               [(PHOTO.read_bytes(), PHOTO.name, "image/jpeg")])
    assert response.status_code == 201, response.get_data(as_text=True)
    for item_id in list(queued):  # real processing: EXIF, previews, the sealed pHash
        process_item(get_session(), get_blobstore(), item_id)
    queued.clear()
    fresh_g()
    return str(response.get_json()["id"])


def test_the_review_page_shows_a_near_duplicate_of_one_real_photo(chromium, live_app,
                                                                  live_server):
    queued: list[str] = []
    live_app.extensions["media_queue"] = queued.extend
    first = _submit_photo(live_app, gen_token(gen_user(Role.CONTRIBUTOR)), queued)
    second = _submit_photo(live_app, gen_token(gen_user(Role.CONTRIBUTOR)), queued)
    reviewer = gen_user(Role.REVIEWER)

    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 500 else None)
    try:
        page.goto(f"{live_server}/login")
        page.fill("#pseudonym", reviewer.pseudonym)
        page.fill("#passphrase", PASSPHRASE)
        page.click("main button[type=submit]")
        page.fill("#totp", next_code(reviewer))
        page.click("main button[type=submit]")
        response = page.goto(f"{live_server}/review/submissions/{second}")
        assert response is not None
        assert response.status == 200
        near = page.locator("p", has_text="Near-duplicates in other submissions")
        assert near.count() == 1
        link = near.locator(f"a[href^='/review/submissions/{first}#item-']")
        assert link.count() == 1
        link.click()
        assert page.url.startswith(f"{live_server}/review/submissions/{first}#item-")
        assert page.locator("p", has_text="Near-duplicates in other submissions").count() == 1
    finally:
        context.close()
    assert errors == []
