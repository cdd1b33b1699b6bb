"""CSV, JSON and GeoJSON exports: round-trip, stable columns, neutralised formulas, streaming."""

from __future__ import annotations

import csv
import io
import itertools
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from incidents.services.research.exports import (
    COLUMNS,
    EXPORTS,
    csv_chunks,
    export_filename,
    geojson_chunks,
    json_chunks,
)
from incidents.services.research.public import LocationPrecision, PublicIncident
from tests.research.factories import gen_incident, gen_place, many_incidents

MiB = 1024 * 1024
DANGEROUS = ["=", "+", "-", "@", "\t", "\r"]


def sample() -> list[PublicIncident]:
    return [
        gen_incident(id="INC-1", title='Shots, "warning" fired\nat the square',
                     summary="Reviewer's excerpt", tags=("dispersal", "intimidation")),
        gen_incident(id="INC-2", place=gen_place("zhanaozen", LocationPrecision.EXACT,
                                                 (43.30012, 52.80019)), killed=None),
        gen_incident(id="INC-3", place=gen_place(None, LocationPrecision.NONE)),
    ]


def csv_rows(incidents: list[PublicIncident]) -> list[dict[str, str]]:
    text = "".join(csv_chunks(incidents))
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_round_trips_with_the_columns_in_their_fixed_order() -> None:
    text = "".join(csv_chunks(sample()))
    reader = csv.reader(io.StringIO(text, newline=""))
    assert tuple(next(reader)) == COLUMNS
    rows = csv_rows(sample())
    assert [r["id"] for r in rows] == ["INC-1", "INC-2", "INC-3"]
    assert rows[0]["title"] == 'Shots, "warning" fired\nat the square'
    assert rows[0]["tags"] == "dispersal;intimidation"
    assert (rows[1]["latitude"], rows[1]["longitude"]) == ("43.3001", "52.8002")
    assert rows[1]["killed"] == ""
    assert rows[2]["place_id"] == ""
    assert rows[2]["latitude"] == ""


def test_times_are_given_in_utc_and_in_almaty_time() -> None:
    row = csv_rows(sample())[0]
    assert row["start_utc"] == "2022-01-05T08:00:00Z"
    assert row["start_local"] == "2022-01-05T14:00:00+06:00"
    assert row["published_at_utc"] == "2022-03-01T12:00:00Z"


@pytest.mark.parametrize("prefix", DANGEROUS)
def test_a_cell_a_spreadsheet_would_run_is_neutralised(prefix: str) -> None:
    formula = prefix + 'HYPERLINK("http://evil.example","click")'
    incident = gen_incident(title=formula, summary=formula)
    row = csv_rows([incident])[0]
    assert row["title"] == "'" + formula
    assert row["summary"] == "'" + formula


def test_ordinary_text_and_numbers_are_left_alone() -> None:
    row = csv_rows([gen_incident(title="Almaty, 5 January", injured=12)])[0]
    assert (row["title"], row["injured"], row["has_photo"]) == ("Almaty, 5 January", "12",
                                                                "true")


def test_json_is_an_array_of_objects_with_the_columns_as_keys() -> None:
    data = json.loads("".join(json_chunks(sample())))
    assert [tuple(obj) for obj in data] == [COLUMNS] * 3
    assert data[0]["tags"] == ["dispersal", "intimidation"]
    assert data[0]["has_photo"] is True
    assert data[1]["killed"] is None
    assert data[0]["place_name_ru"] == "Алматы"


def test_an_empty_json_export_is_an_empty_array() -> None:
    assert json.loads("".join(json_chunks([]))) == []


def test_geojson_is_a_feature_collection_with_lon_lat_points() -> None:
    data = json.loads("".join(geojson_chunks(sample())))
    assert data["type"] == "FeatureCollection"
    features = data["features"]
    assert [f["type"] for f in features] == ["Feature"] * 3
    assert [f["id"] for f in features] == ["INC-1", "INC-2", "INC-3"]
    assert features[1]["geometry"] == {"type": "Point", "coordinates": [52.8002, 43.3001]}
    assert features[2]["geometry"] is None
    assert "latitude" not in features[0]["properties"]
    assert tuple(features[0]["properties"]) == tuple(
        c for c in COLUMNS if c not in ("latitude", "longitude"))


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_exports_yield_output_before_reading_all_their_input(kind: str) -> None:
    def endless() -> Iterator[PublicIncident]:
        yield from many_incidents(1000)
        raise AssertionError("the export read past what it needed")

    chunks = EXPORTS[kind](endless(), "Asia/Almaty")
    text = "".join(itertools.islice(chunks, 3))
    assert "INC-000000" in text


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_exporting_many_incidents_keeps_memory_flat(kind: str) -> None:
    # CSV over the 100,000 of the brief; JSON is slower under tracemalloc, and 20,000 already
    # make 13 MiB of output.
    n = 100_000 if kind == "csv" else 20_000
    # A lazy stream of n incidents; reusing 500 objects keeps the test fast.
    incidents = itertools.islice(itertools.cycle(list(many_incidents(500))), n)
    tracemalloc.start()
    try:
        size = sum(len(chunk) for chunk in EXPORTS[kind](incidents, "Asia/Almaty"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > n * 200  # the output is tens of MiB ...
    assert peak < 2 * MiB  # ... but never held at once


def test_the_download_name_is_made_by_the_server() -> None:
    now = datetime(2022, 1, 20, 12, 0, tzinfo=UTC)
    assert export_filename("geojson", now) == "incidents-20220120T120000Z.geojson"
    with pytest.raises(ValueError, match="format"):
        export_filename("../x", now)


def test_csv_and_json_carry_the_same_values() -> None:
    def as_csv(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ";".join(value)
        return str(value)

    for row, obj in zip(csv_rows(sample()), json.loads("".join(json_chunks(sample()))),
                        strict=True):
        assert row == {key: as_csv(value) for key, value in obj.items()}
