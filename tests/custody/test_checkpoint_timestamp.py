"""Checkpoints get an RFC 3161 timestamp when TSA_URL is set; stock openssl accepts it."""

from __future__ import annotations

import dataclasses

from flask import Flask

from incidents.models.custody import Checkpoint
from incidents.services import checkpoints, custody
from incidents.web.context import get_keys
from incidents.web.db import get_session
from tests.fixtures.tsa import LocalTSA, openssl_verify


def _checkpoint_with(app: Flask, tsa_url: str) -> Checkpoint:
    settings = dataclasses.replace(app.extensions["settings"], tsa_url=tsa_url)
    session = get_session()
    custody.append(session, actor=None, action="test", subject="timestamp", commitment=None,
                   details={})
    session.commit()
    return checkpoints.checkpoint(session, get_keys(), settings)


def test_a_checkpoint_carries_a_timestamp_token_that_openssl_verifies(
        app: Flask, tsa: LocalTSA) -> None:
    row = _checkpoint_with(app, tsa.url)
    assert row.tsa_token, "no timestamp token was stored"
    result = openssl_verify(tsa.directory, row.note.encode("utf-8"), row.tsa_token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout


def test_an_unreachable_authority_still_signs_the_checkpoint_without_a_token(
        app: Flask, tsa: LocalTSA) -> None:
    tsa.mode = "http-error"
    row = _checkpoint_with(app, tsa.url)
    assert row.size >= 1
    assert row.note
    assert row.tsa_token is None
