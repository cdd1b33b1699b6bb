"""Researcher filters: validated, allow-listed, bound; bad values are a 400 naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from incidents.core.errors import InvalidInput
from incidents.services.gazetteer import load_gazetteer
from incidents.services.research.filters import (
    FILTER_FIELDS,
    SEARCH_MAX_CHARS,
    SORT_FIELDS,
    SORTS,
    Filters,
    parse_filters,
)
from incidents.services.research.public import LocationPrecision, Verification
from incidents.services.taxonomy import load_taxonomy
from tests.research.factories import gen_incident, gen_place


def parse(params: Any) -> Filters:
    return parse_filters(params, taxonomy=load_taxonomy(), gazetteer=load_gazetteer())


def field_of_error(params: Any) -> str | None:
    with pytest.raises(InvalidInput) as caught:
        parse(params)
    assert caught.value.status == 400
    return caught.value.field


def test_no_parameters_select_everything_on_the_first_page() -> None:
    filters = parse({})
    assert filters == Filters()
    assert filters.conditions() == ()
    assert (filters.offset, filters.limit) == (0, 50)


@pytest.mark.parametrize("sort", ["id;DROP TABLE incidents", "start_utc", "-", "title desc"])
def test_a_sort_outside_the_allow_list_is_refused(sort: str) -> None:
    assert field_of_error({"sort": sort}) == "sort"


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "5 January"}, "from"),
    ({"from": "2022-02-30"}, "from"),
    ({"to": "20220105"}, "to"),
    ({"from": "1066-10-14"}, "from"),
    ({"from": "2022-01-10", "to": "2022-01-02"}, "to"),
])
def test_a_bad_date_names_its_field(params: dict[str, str], field: str) -> None:
    assert field_of_error(params) == field


@pytest.mark.parametrize(("params", "field"), [
    ({"category": "looting"}, "category"),
    ({"category": "excessive_force,looting"}, "category"),
    ({"tag": "torture' OR 1=1"}, "tag"),
    ({"tag": "no_such_tag"}, "tag"),
    ({"region": "almaty_oblast"}, "region"),
    ({"town": "mangystau"}, "town"),  # a region is not a town
    ({"verification": "certain"}, "verification"),
    ({"has_photo": "maybe"}, "has_photo"),
    ({"page": "0"}, "page"),
    ({"page": "-1"}, "page"),
    ({"page": "1e3"}, "page"),
    ({"per_page": "1000000"}, "per_page"),
    ({"per_page": "33"}, "per_page"),
    ({"category": ",".join(["dispersal"] * 51)}, "category"),
])
def test_an_unknown_or_malformed_value_names_its_field(params: dict[str, str],
                                                        field: str) -> None:
    assert field_of_error(params) == field


def test_a_single_valued_parameter_given_twice_is_refused() -> None:
    assert field_of_error(MultiDict([("sort", "start"), ("sort", "-start")])) == "sort"


def test_repeated_and_comma_separated_values_are_both_read() -> None:
    filters = parse(MultiDict([("category", "excessive_force,detainee_treatment"),
                               ("category", "excessive_force"), ("tag", "beating"),
                               ("verification", "verified"), ("region", "mangystau"),
                               ("town", "zhanaozen"), ("has_video", "yes")]))
    assert filters.categories == ("excessive_force", "detainee_treatment")
    assert filters.verification == (Verification.VERIFIED,)
    assert filters.has_video is True
    assert filters.has_photo is None


def test_empty_form_fields_mean_any() -> None:
    assert parse({"from": "", "to": " ", "category": "", "has_photo": "", "q": ""}) == Filters()


def test_search_wildcards_are_escaped_and_the_text_capped() -> None:
    assert parse({"q": "%_%_%"}).like_pattern() == r"%\%\_\%\_\%%"
    assert parse({"q": "a\\b"}).like_pattern() == r"%a\\b%"
    assert len(parse({"q": "x" * 10_000}).search) == SEARCH_MAX_CHARS


def test_search_text_loses_control_and_invisible_characters() -> None:
    assert parse({"q": "Zhana\u202eozen\x00 \n square"}).search == "Zhanaozen square"


def test_conditions_use_only_allow_listed_fields_and_bound_values() -> None:
    filters = parse({"from": "2022-01-02", "to": "2022-01-20", "region": "mangystau",
                     "town": "zhanaozen", "category": "excessive_force", "tag": "beating",
                     "verification": "verified", "has_photo": "1", "has_video": "0",
                     "q": "square", "sort": "-killed"})
    conditions = filters.conditions()
    assert {c.field for c in conditions} <= set(FILTER_FIELDS)
    assert len(conditions) == 10
    assert {f for f, _ in filters.order_by()} <= set(SORT_FIELDS)
    assert all({f for f, _ in order} <= set(SORT_FIELDS) for order in SORTS.values())


def test_date_bounds_are_local_days_in_almaty() -> None:
    filters = parse({"from": "2022-01-05", "to": "2022-01-05"})
    assert filters.start_bound() == datetime(2022, 1, 4, 18, 0, tzinfo=UTC)
    assert filters.end_bound() == datetime(2022, 1, 5, 18, 0, tzinfo=UTC)
    assert filters.matches(gen_incident(start_utc=datetime(2022, 1, 4, 19, 0, tzinfo=UTC)))
    assert not filters.matches(gen_incident(start_utc=datetime(2022, 1, 5, 18, 0, tzinfo=UTC)))


def test_a_town_filter_does_not_match_an_incident_known_only_by_region() -> None:
    filters = parse({"town": "zhanaozen"})
    assert filters.matches(gen_incident(place=gen_place("zhanaozen")))
    assert not filters.matches(gen_incident(place=gen_place("zhanaozen",
                                                            LocationPrecision.REGION)))
    assert parse({"region": "mangystau"}).matches(
        gen_incident(place=gen_place("zhanaozen", LocationPrecision.REGION)))


def test_values_within_a_field_are_ored_and_fields_are_anded() -> None:
    filters = parse(MultiDict([("category", "excessive_force"),
                               ("category", "protest_suppression"), ("has_photo", "1")]))
    assert filters.matches(gen_incident(categories=("protest_suppression",), has_photo=True))
    assert not filters.matches(gen_incident(categories=("protest_suppression",),
                                            has_photo=False))
    assert not filters.matches(gen_incident(categories=("detainee_treatment",)))


def test_the_search_matches_title_or_summary_literally() -> None:
    incident = gen_incident(title="Shots at the 100% square", summary="Near the akimat")
    assert parse({"q": "100%"}).matches(incident)
    assert parse({"q": "AKIMAT"}).matches(incident)
    assert not parse({"q": "1_0"}).matches(incident)


def test_query_items_parse_back_to_the_same_filters() -> None:
    filters = parse(MultiDict([("from", "2022-01-02"), ("category", "excessive_force"),
                               ("tag", "beating"), ("has_video", "false"), ("q", "a&b=c"),
                               ("sort", "-published"), ("page", "3"), ("per_page", "100")]))
    assert parse(MultiDict(filters.query_items())) == filters
    assert ("page", "4") in filters.query_items(page=4)
    assert filters.with_page(2).page == 2
    assert filters.date_from == date(2022, 1, 2)
