"""Attacks on the real server (issue 11, items 1-4): gunicorn as `make run` starts it.

Slow clients, oversized and deeply nested bodies, malformed requests, a body refused
mid-way; after each attack, everything the server wrote is searched for the attacker's
address and for what they sent.
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from incidents.models import Role
from incidents.web.db import get_session
from tests.helpers import PASSPHRASE, gen_invitation, gen_user
from tests.web.live_server import LiveServer, live_server

__all__ = ["live_server"]

pytestmark = pytest.mark.slow


def read_answer(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection (or the timeout)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def closed_by_server(sock: socket.socket, timeout: float = 5.0) -> bool:
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def keeps_reading(sock: socket.socket, data: bytes, times: int) -> bool:
    """Whether the server goes on accepting `data` `times` over (False: it hung up)."""
    try:
        for _ in range(times):
            sock.sendall(data)
            time.sleep(0.005)
    except OSError:
        return False
    return True


def timed_get(url: str) -> float:
    start = time.monotonic()
    assert requests.get(url, timeout=30).status_code == 200
    return time.monotonic() - start


class Drippers:
    """`count` connections, each sending `head` and then one byte of `drip` every 2 s."""

    def __init__(self, server: LiveServer, head: bytes, drip: bytes, count: int) -> None:
        self.stop = threading.Event()
        self.socks = [server.connect() for _ in range(count)]
        self.threads = [threading.Thread(target=self._run, args=(s, head, drip), daemon=True)
                        for s in self.socks]

    def _run(self, sock: socket.socket, head: bytes, drip: bytes) -> None:
        try:
            sock.sendall(head)
            for byte in drip:
                if self.stop.wait(2.0):
                    return
                sock.sendall(bytes([byte]))
        except OSError:
            return  # the server cut us off: what it should do, eventually

    def __enter__(self) -> Drippers:
        for thread in self.threads:
            thread.start()
        time.sleep(1.5)  # all connected and mid-request
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for sock in self.socks:
            sock.close()


@pytest.fixture
def witness(live_server: LiveServer) -> Iterator[tuple[str, requests.Session]]:
    user = gen_user(Role.CONTRIBUTOR, pseudonym=f"witness-{secrets.token_hex(3)}")
    get_session().commit()
    return user.pseudonym, live_server.sign_in(user.pseudonym)


def submit_form(server: LiveServer, browser: requests.Session, testimony: str) -> int:
    page = browser.get(f"{server.url}/submit", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    fields = {"csrf_token": token.group(1), "testimony": testimony, "date": "2022-01-06",
              "time_precision": "approximate", "place": "aktau",
              "categories": "excessive_force", "consent_legal": "yes",
              "consent_research": "no", "consent_publication": "no", "consent_contact": "no"}
    files = {"files": ("photo.bin", io.BytesIO(b"\x00" * 64), "application/octet-stream")}
    answer = browser.post(f"{server.url}/submit", data=fields, files=files, timeout=10,
                          allow_redirects=False)
    return answer.status_code


def test_fifty_clients_dripping_headers_leave_the_home_page_answering_in_two_seconds(
        live_server: LiveServer, witness: tuple[str, requests.Session]) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\n"
    with Drippers(live_server, head, b"X-Slow: " + b"a" * 200, 50):
        times = [timed_get(live_server.url + "/") for _ in range(5)]
        start = time.monotonic()
        status = submit_form(live_server, witness[1], "header drip " + secrets.token_hex(4))
        form_time = time.monotonic() - start
    assert max(times) < 2.0, times
    assert status == 302
    assert form_time < 2.0
    live_server.assert_log_clean()


def test_fifty_clients_dripping_bodies_leave_a_witness_answered_in_two_seconds(
        live_server: LiveServer, witness: tuple[str, requests.Session]) -> None:
    # Twenty-five anonymous token requests announcing 10 MB (refused at once, closed), and
    # twenty-five signed-in uploads dripping a form body under the evidence route's limits.
    marker = "DRIPPED-" + secrets.token_hex(4)
    cookie = "; ".join(f"{c.name}={c.value}" for c in witness[1].cookies)
    token_head = (b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n")
    upload_head = (b"POST /submit HTTP/1.1\r\nHost: x\r\nCookie: " + cookie.encode()
                   + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                   b"Content-Length: 10000000\r\n\r\n")
    drip = (b'--b\r\nContent-Disposition: form-data; name="testimony"\r\n\r\n'
            + marker.encode())
    with Drippers(live_server, token_head, b'{"pseudonym": "' + marker.encode(), 25), \
            Drippers(live_server, upload_head, drip, 25):
        times = [timed_get(live_server.url + "/") for _ in range(5)]
        start = time.monotonic()
        status = submit_form(live_server, witness[1], "body drip " + secrets.token_hex(4))
        form_time = time.monotonic() - start
    assert max(times) < 2.0, times
    assert status == 302
    assert form_time < 2.0
    live_server.assert_log_clean(marker)


def test_a_300_mb_json_body_is_refused_with_413_before_it_is_read_and_closed(
        live_server: LiveServer) -> None:
    sock = live_server.connect()
    sock.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n"
                 b'{"pseudonym": "' + b"A" * 65536)
    answer = read_answer(sock, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"connection: close" in answer.lower()
    # The server closed without reading on: the rest cannot be sent, or goes nowhere.
    assert not keeps_reading(sock, b"A" * 65536, times=400)
    sock.close()
    live_server.assert_log_clean("AAAAAAAA")


def test_a_100000_deep_json_body_is_refused_with_400_and_the_connection_closed(
        live_server: LiveServer) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    sock = live_server.connect()
    sock.sendall(b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"nested too deeply" in answer
    assert b"connection: close" in answer.lower()


def test_the_rest_of_a_refused_multipart_body_is_never_read_as_a_request(
        live_server: LiveServer, witness: tuple[str, requests.Session]) -> None:
    marker = "TESTIMONY-" + secrets.token_hex(4)
    cookie = "; ".join(f"{c.name}={c.value}" for c in witness[1].cookies)
    smuggled = (f"GET /{marker} HTTP/1.1\r\nHost: x\r\nX-Testimony: {marker}\r\n\r\n").encode()
    field = b"x" * (2 * 1024 * 1024)  # over the 1 MiB cap of one text field
    body = (b'--b\r\nContent-Disposition: form-data; name="testimony"\r\n\r\n' + field
            + b"\r\n" + smuggled * 50 + b"\r\n--b--\r\n")
    sock = live_server.connect()
    sock.sendall(b"POST /submit HTTP/1.1\r\nHost: x\r\nCookie: " + cookie.encode()
                 + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                 + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    with contextlib.suppress(OSError):  # cut off mid-body: the point
        sock.sendall(body)
    answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1  # no second answer: nothing parsed as a request
    live_server.assert_log_clean(marker)


MALFORMED = [
    b"GET /\x00SECRET-NUL HTTP/1.1\r\nHost: x\r\n\r\n",
    b"BREW /SECRET-METHOD HTTP/1.1\r\n\r\n",
    b"GET /SECRET-VERSION HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: SECRET-HEADER\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n X-Folded: SECRET-FOLD\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ;SECRET-CHUNK\r\n",
    b"GET /" + b"SECRET-LONG" * 1000 + b" HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: SECRET-LENGTH\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfcSECRET-TLS\r\n\r\n",
]


def test_malformed_requests_leave_no_address_or_content_in_any_log(
        live_server: LiveServer) -> None:
    for raw in MALFORMED:
        sock = live_server.connect()
        sock.sendall(raw)
        answer = read_answer(sock, timeout=3)
        assert not answer or answer.startswith(b"HTTP/1.1 4") or answer.startswith(b"HTTP/1.1 5")
        sock.close()
    time.sleep(0.5)
    live_server.assert_log_clean("SECRET")
    assert "withheld" in live_server.log_text()  # gunicorn did report them, in general terms


def test_token_guesses_spread_over_both_worker_processes_share_one_counter(
        live_server: LiveServer) -> None:
    user = gen_user(Role.CONTRIBUTOR, pseudonym=f"target-{secrets.token_hex(3)}")
    get_session().commit()
    statuses = []
    for _ in range(20):
        # A new connection each time: the two workers take turns accepting them.
        answer = requests.post(f"{live_server.url}/api/v1/auth/token", timeout=10,
                               headers={"Connection": "close"},
                               json={"pseudonym": user.pseudonym, "passphrase": "guess" * 4})
        statuses.append(answer.status_code)
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    live_server.assert_log_clean(user.pseudonym, "guessguess")


def test_concurrent_anonymous_sign_ins_and_registrations_never_answer_500(
        live_server: LiveServer) -> None:
    """Two worker processes, many threads, one SQLite file: no 'database is locked'."""
    known = [gen_user(Role.CONTRIBUTOR, pseudonym=f"busy-{secrets.token_hex(3)}")
             for _ in range(4)]
    invitations = [gen_invitation() for _ in range(16)]
    get_session().commit()
    statuses: list[int] = []
    lock = threading.Lock()

    def sign_in(user_index: int) -> None:
        user = known[user_index % len(known)]
        passphrase = PASSPHRASE if user_index % 3 == 0 else "not the passphrase 1"
        answer = requests.post(f"{live_server.url}/api/v1/auth/token", timeout=60,
                               json={"pseudonym": user.pseudonym, "passphrase": passphrase})
        with lock:
            statuses.append(answer.status_code)

    def register(index: int) -> None:
        answer = requests.post(f"{live_server.url}/api/v1/auth/register", timeout=60, json={
            "invitation": invitations[index], "pseudonym": f"newcomer {secrets.token_hex(4)}",
            "passphrase": PASSPHRASE})
        with lock:
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(16)]
    threads += [threading.Thread(target=register, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 32
    assert [s for s in statuses if s >= 500] == []
    assert statuses.count(201) >= 16  # every registration, and the right sign-ins
    live_server.assert_log_clean(*(u.pseudonym for u in known))
