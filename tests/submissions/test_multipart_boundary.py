"""The multipart boundary: what real clients send is accepted, nonsense is refused."""

from __future__ import annotations

import pytest

from incidents.core.errors import InvalidInput
from incidents.web.http.multipart import boundary_of


def test_a_boundary_longer_than_rfc_2046s_70_characters_is_accepted() -> None:
    # Werkzeug's own test client sometimes makes boundaries of 71-80 characters.
    long = "-" * 15 + "WerkzeugFormPart_1764201234.5678901" + "0.12345678901234567" + "x" * 10
    assert len(long) > 70
    assert boundary_of(f"multipart/form-data; boundary={long}") == long.encode()


@pytest.mark.parametrize("header", [
    None,
    "application/json",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=" + "x" * 201,
])
def test_a_missing_or_absurd_boundary_is_a_clear_400(header: str | None) -> None:
    with pytest.raises(InvalidInput):
        boundary_of(header)
