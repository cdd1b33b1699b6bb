"""The database side of the exports: the fast CSV equals the reference, rows stream in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from incidents.services.gazetteer import load_gazetteer
from incidents.services.research import queries as research
from incidents.services.research import stream
from incidents.services.research.exports import csv_chunks
from incidents.services.research.filters import Filters
from incidents.services.research.public import LocationPrecision, Verification
from incidents.web.db import get_db, get_session
from tests.research_web.factories import gen_incident_row, gen_witness_submission


def _witness_submission(publication: bool) -> int:
    return gen_witness_submission(get_session(), publication=publication)


def _varied() -> None:
    session = get_session()
    agreed, refused = _witness_submission(True), _witness_submission(False)
    precisions = list(LocationPrecision)
    for n in range(12):
        gen_incident_row(
            session, commit=False, title=("=1+1 formula" if n == 3 else f"Title, \"{n}\""),
            summary="-an excerpt" if n % 2 else "An excerpt",
            submissions=(agreed,) if n % 3 else (refused,),
            start_utc=datetime(2022, 1, 4, 17, 30, tzinfo=UTC) + timedelta(hours=7 * n),
            end_utc=datetime(2022, 1, 9, tzinfo=UTC) if n % 4 == 0 else None,
            place_id=("zhanaozen", "almaty_city", "mangystau", None)[n % 4],
            region_id=("mangystau", "almaty_city", "mangystau", None)[n % 4],
            location_precision=precisions[n % len(precisions)],
            categories=("protest_suppression", "detainee_treatment")[: 1 + n % 2],
            tags=("dispersal",) if n % 5 == 0 else (),
            injured=None if n % 3 == 0 else n, killed=n % 2,
            verification=list(Verification)[n % 3], has_photo=n % 2 == 0,
            has_video=n % 3 == 0)
    session.commit()


def test_the_fast_csv_is_byte_for_byte_the_reference_csv(app: Flask) -> None:
    _varied()
    database = get_db()
    for filters in (Filters(), Filters(sort="-killed"), Filters(search="excerpt")):
        reference = "".join(csv_chunks(stream.stream(database, filters)))
        fast = "".join(stream.csv_export(database, filters))
        assert fast == reference
        assert fast.count("\r\n") > 1


def test_streamed_rows_come_in_the_order_of_the_page_query(app: Flask) -> None:
    _varied()
    streamed = [i.id for i in stream.stream(get_db(), Filters(sort="-start"))]
    paged = [i.id for i in research.page(get_session(), Filters(sort="-start", per_page=100))]
    assert streamed == paged
    assert len(streamed) == 12


def test_an_abandoned_export_leaves_no_reader_behind(app: Flask) -> None:
    _varied()
    rows = stream.stream(get_db(), Filters())
    next(rows)
    rows.close()  # a client gone mid-download
    assert sum(1 for _ in stream.stream(get_db(), Filters())) == 12


def test_the_sql_filters_agree_with_the_reference_filter(app: Flask) -> None:
    _varied()
    everything = list(stream.stream(get_db(), Filters()))
    gazetteer = load_gazetteer()
    cases = [Filters(regions=("mangystau",)), Filters(towns=("zhanaozen",)),
             Filters(categories=("detainee_treatment",)), Filters(tags=("dispersal",)),
             Filters(has_photo=True, verification=(Verification.VERIFIED,)),
             Filters(search="excerpt"), Filters(search="formula"),
             Filters(date_from=datetime(2022, 1, 6).date(), date_to=datetime(2022, 1, 7).date())]
    for filters in cases:
        expected = sorted(i.id for i in everything if filters.matches(i))
        got = sorted(i.id for i in stream.stream(get_db(), filters))
        assert got == expected, filters
    assert gazetteer.get("zhanaozen") is not None
