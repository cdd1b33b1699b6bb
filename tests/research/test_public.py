"""PublicIncident holds only what researchers may see; locations are coarsened by consent."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from incidents.models.submissions import TimePrecision
from incidents.services.gazetteer import load_gazetteer
from incidents.services.research.public import (
    TIME_PRECISIONS,
    LocationPrecision,
    PublicIncident,
    PublicPlace,
    coarsest,
    locate,
    public_summary,
)
from tests.research.factories import gen_incident

POINT = (43.123456, 52.987654)  # a witness's exact point near Zhanaozen


def test_public_incident_has_only_the_researcher_fields() -> None:
    names = {f.name for f in dataclasses.fields(PublicIncident)}
    assert names == {
        "id", "title", "summary", "start_utc", "end_utc", "time_precision", "place",
        "categories", "tags", "injured", "detained", "killed", "verification", "has_photo",
        "has_video", "published_at",
    }


def test_time_precisions_are_the_submission_model_values() -> None:
    assert set(TIME_PRECISIONS) == {p.value for p in TimePrecision}


def test_a_region_precision_location_names_the_region_not_the_town() -> None:
    place = locate(load_gazetteer(), "zhanaozen", LocationPrecision.REGION, POINT)
    region = load_gazetteer().get("mangystau")
    assert region is not None
    assert (place.place_id, place.region_id, place.name_en) == ("mangystau", "mangystau",
                                                                region.names["en"])
    assert (place.lat, place.lon) == (region.lat, region.lon)


def test_a_town_precision_location_is_at_the_town_whatever_the_point() -> None:
    place = locate(load_gazetteer(), "zhanaozen", LocationPrecision.TOWN, POINT)
    town = load_gazetteer().get("zhanaozen")
    assert town is not None
    assert (place.lat, place.lon) == (town.lat, town.lon)
    assert place.precision is LocationPrecision.TOWN


def test_an_exact_location_keeps_the_point_to_four_decimals() -> None:
    place = locate(load_gazetteer(), "zhanaozen", LocationPrecision.EXACT, POINT)
    assert (place.lat, place.lon) == (43.1235, 52.9877)
    assert place.precision is LocationPrecision.EXACT


def test_exact_without_a_point_falls_back_to_the_town() -> None:
    place = locate(load_gazetteer(), "taraz", LocationPrecision.EXACT)
    assert place.precision is LocationPrecision.TOWN


def test_a_location_that_may_not_be_shown_carries_nothing() -> None:
    place = locate(load_gazetteer(), "zhanaozen", LocationPrecision.NONE, POINT)
    assert place == PublicPlace(LocationPrecision.NONE)


def test_a_region_precision_location_naming_a_town_is_refused() -> None:
    with pytest.raises(ValueError, match="region"):
        PublicPlace(LocationPrecision.REGION, "zhanaozen", "mangystau")


def test_the_coarsest_consent_wins_when_witnesses_differ() -> None:
    assert coarsest([LocationPrecision.EXACT, LocationPrecision.REGION,
                     LocationPrecision.TOWN]) is LocationPrecision.REGION
    assert coarsest([]) is LocationPrecision.NONE


def test_the_summary_is_dropped_without_publication_consent() -> None:
    assert public_summary("What I saw", witnesses_consented=False) is None
    assert public_summary("  What I saw ", witnesses_consented=True) == "What I saw"


def test_times_are_normalised_to_utc() -> None:
    almaty = timezone(timedelta(hours=6))
    incident = gen_incident(start_utc=datetime(2022, 1, 5, 14, 0, tzinfo=almaty))
    assert incident.start_utc == datetime(2022, 1, 5, 8, 0, tzinfo=UTC)
    assert incident.start_utc.tzinfo is UTC


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        gen_incident(start_utc=datetime(2022, 1, 5, 8, 0))  # noqa: DTZ001


def test_an_end_before_the_start_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        gen_incident(end_utc=datetime(2022, 1, 4, tzinfo=UTC))
