"""Researcher visibility has one rule, written once in SQL and once over loaded rows.

The incident summary is public only when witnesses stand behind the incident and every one
of them consented to publication. A second SQL copy of the rule (deleted in issue 9) let an
incident with no linked witness count as consented, so searching found words of a summary
that no page showed. Both forms must agree on every case, including that one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from incidents.models import Incident
from incidents.services import incidents
from incidents.services.research import queries as research
from incidents.services.research.filters import Filters
from incidents.web.db import get_session
from tests.research_web.factories import gen_incident_row, gen_witness_submission


def _witness(publication: bool) -> int:
    return gen_witness_submission(get_session(), publication=publication)


CASES = {  # summary word -> the witnesses' publication consent, and whether it is public
    "nowitness": ((), False),
    "refused": ((False,), False),
    "mixed": ((True, False), False),
    "single": ((True,), True),
    "every": ((True, True), True),
}


@pytest.fixture
def published(app: object) -> dict[str, str]:
    session = get_session()
    ids = {}
    for word, (consents, _public) in CASES.items():
        witnesses = tuple(_witness(c) for c in consents)
        row = gen_incident_row(session, summary=f"The {word} summary.", submissions=witnesses)
        ids[word] = row.public_id
    return ids


@pytest.mark.parametrize("word", list(CASES))
def test_a_summary_is_shown_and_searchable_exactly_when_every_witness_consented(
        published: dict[str, str], word: str) -> None:
    session = get_session()
    public = CASES[word][1]
    shown = research.get_incident(session, published[word])
    assert (shown.summary == f"The {word} summary.") is public
    found = [p.id for p in research.page(session, Filters(search=word))]
    assert found == ([published[word]] if public else [])


def test_the_sql_rule_and_the_rule_over_rows_agree(published: dict[str, str]) -> None:
    session = get_session()
    in_sql = set(session.scalars(select(Incident.public_id).where(research.consented())))
    rows = session.scalars(select(Incident)).all()
    over_rows = {i.public_id for i in rows if incidents.witnesses_consented(i)}
    assert in_sql == over_rows == {published["single"], published["every"]}
