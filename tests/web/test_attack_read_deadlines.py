"""A dripping client is cut off at its read deadline (issue 11, item 2; incidents.serving).

The server here is gunicorn as `make run` starts it, with the deadlines shortened through
its environment (headers 2 s, a silent body 2 s, a body slower than 50 kB/s after 1 s) so
that each attack is seen to end within seconds. Each test is the attack as raw bytes from
the attacker's address; it measures when the server hangs up and what it answered.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.web.live_server import LiveServer, running_server

pytestmark = pytest.mark.slow

HEADER_SECONDS = 2.0
IDLE_SECONDS = 2.0
GRACE_SECONDS = 1.0
MIN_RATE = 50_000
# The worker's main loop looks at deadlines about once a second; a loaded machine is late.
SLACK = 6.0


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory,
                  template_instance: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory, template_instance,
                        GUNICORN_HEADER_SECONDS=str(HEADER_SECONDS),
                        GUNICORN_BODY_IDLE_SECONDS=str(IDLE_SECONDS),
                        GUNICORN_BODY_GRACE_SECONDS=str(GRACE_SECONDS),
                        GUNICORN_MIN_BODY_RATE=str(MIN_RATE)) as server:
        yield server


def drip_until_cut(sock: socket.socket, head: bytes, drip: bytes, every: float,
                   give_up: float = 60.0) -> tuple[float, bytes]:
    """Send `head`, then `drip` a piece at a time; (seconds until the server hung up, what
    it answered). Never stops on its own before `give_up`: the server must end it."""
    sock.sendall(head)
    start = time.monotonic()
    answer = b""
    while time.monotonic() - start < give_up:
        try:
            sock.send(drip)
        except OSError:
            return time.monotonic() - start, answer
        readable, _, _ = select.select([sock], [], [], every)
        if readable:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return time.monotonic() - start, answer
            if not chunk:
                return time.monotonic() - start, answer
            answer += chunk
    pytest.fail(f"the server was still reading after {give_up} s; it answered {answer[:80]!r}")


def silent_until_cut(sock: socket.socket, head: bytes, give_up: float = 60.0
                     ) -> tuple[float, bytes]:
    """Send `head` and then nothing; (seconds until the server hung up, its answer)."""
    sock.sendall(head)
    start = time.monotonic()
    sock.settimeout(give_up)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except TimeoutError:
        pytest.fail(f"the server waited {give_up} s for a silent client")
    except OSError:
        pass
    return time.monotonic() - start, answer


def test_a_client_dripping_its_headers_is_cut_off_at_the_header_deadline(
        strict_server: LiveServer) -> None:
    sock = strict_server.connect()
    elapsed, answer = drip_until_cut(sock, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a",
                                     every=0.25)
    sock.close()
    assert HEADER_SECONDS - 0.5 <= elapsed <= HEADER_SECONDS + SLACK, elapsed
    assert answer == b""  # never served: its request was never complete
    assert requests.get(strict_server.url + "/", timeout=10).status_code == 200
    strict_server.assert_log_clean("X-Slow")


def test_a_body_that_stops_arriving_is_cut_off_at_the_idle_deadline(
        strict_server: LiveServer) -> None:
    # Announced long enough that its budget (grace + length at the minimum rate: 11 s) ends
    # after the latest cut this test accepts, so only the idle limit can pass it: with 100
    # bytes the budget (1.002 s) came first, and a run whose deadline sweep fell right on it
    # cut the body at 1.0 s.
    length = 500_000
    assert GRACE_SECONDS + length / MIN_RATE > IDLE_SECONDS + SLACK
    sock = strict_server.connect()
    head = (b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(length).encode()
            + b"\r\n\r\n" + b'{"pseudonym": "stalled')
    elapsed, answer = silent_until_cut(sock, head)
    sock.close()
    assert IDLE_SECONDS - 0.5 <= elapsed <= IDLE_SECONDS + SLACK, elapsed
    assert not answer.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")), answer[:80]
    strict_server.assert_log_clean("stalled")


def test_a_body_dripped_below_the_minimum_rate_is_cut_off_at_its_budget(
        strict_server: LiveServer) -> None:
    # Never silent long enough for the idle limit, but 80 bytes a second of an announced
    # 200 kB: the budget is the grace plus the length at the minimum rate (5 s here).
    length = 200_000
    budget = GRACE_SECONDS + length / MIN_RATE
    sock = strict_server.connect()
    head = (b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(length).encode() + b"\r\n\r\n" + b'{"pseudonym": "')
    elapsed, answer = drip_until_cut(sock, head, b"slowslowslowslowslow", every=0.25)
    sock.close()
    assert budget - 0.5 <= elapsed <= budget + SLACK, elapsed
    assert not answer.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")), answer[:80]
    assert requests.get(strict_server.url + "/", timeout=10).status_code == 200
    strict_server.assert_log_clean("slowslow")
