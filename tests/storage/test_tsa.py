"""RFC 3161 timestamps against a local timestamp authority run by stock openssl."""

from __future__ import annotations

import hashlib

import pytest

from storage.crypto.tsa import TimestampError, request_timestamp
from tests.fixtures.tsa import CHECKPOINT, LocalTSA, openssl, openssl_verify


def test_token_verifies_with_stock_openssl(tsa: LocalTSA) -> None:
    token = request_timestamp(CHECKPOINT, tsa.url, timeout=10)
    result = openssl_verify(tsa.directory, CHECKPOINT, token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout


def test_request_carries_a_sha256_imprint_and_a_nonce(tsa: LocalTSA) -> None:
    request_timestamp(CHECKPOINT, tsa.url, timeout=10)
    (tsa.directory / "sent.tsq").write_bytes(tsa.requests[0])
    text = openssl("ts", "-query", "-in", "sent.tsq", "-text", cwd=tsa.directory).decode()
    assert "Hash Algorithm: sha256" in text
    assert "Nonce: 0x" in text
    assert "Certificate required: yes" in text
    assert b"\x04\x20" + hashlib.sha256(CHECKPOINT).digest() in tsa.requests[0]


def test_token_does_not_verify_for_other_data(tsa: LocalTSA) -> None:
    token = request_timestamp(CHECKPOINT, tsa.url, timeout=10)
    result = openssl_verify(tsa.directory, CHECKPOINT + b"edited", token)
    assert result.returncode != 0


def test_token_for_other_data_is_refused(tsa: LocalTSA) -> None:
    tsa.mode = "other-data"
    with pytest.raises(TimestampError, match="imprint"):
        request_timestamp(CHECKPOINT, tsa.url, timeout=10)


def test_token_with_another_nonce_is_refused(tsa: LocalTSA) -> None:
    tsa.mode = "other-nonce"
    with pytest.raises(TimestampError, match="nonce"):
        request_timestamp(CHECKPOINT, tsa.url, timeout=10)


def test_http_error_is_a_timestamp_error(tsa: LocalTSA) -> None:
    tsa.mode = "http-error"
    with pytest.raises(TimestampError, match="HTTPError"):
        request_timestamp(CHECKPOINT, tsa.url, timeout=10)


def test_malformed_response_is_a_timestamp_error(tsa: LocalTSA) -> None:
    tsa.mode = "garbage"
    with pytest.raises(TimestampError):
        request_timestamp(CHECKPOINT, tsa.url, timeout=10)


def test_rejection_status_is_a_timestamp_error(tsa: LocalTSA) -> None:
    tsa.mode = "rejection"
    with pytest.raises(TimestampError, match="status 2"):
        request_timestamp(CHECKPOINT, tsa.url, timeout=10)


def test_non_http_url_is_refused() -> None:
    with pytest.raises(TimestampError, match="http"):
        request_timestamp(CHECKPOINT, "file:///etc/passwd", timeout=1)
