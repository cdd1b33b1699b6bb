"""RFC 3161 timestamps against a local timestamp authority run by stock openssl."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from storage.crypto.tsa import TimestampError, request_timestamp

CHECKPOINT = b"evidence.example/custody\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, input=stdin, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


@dataclass
class LocalTSA:
    """A timestamp authority on 127.0.0.1 answering with ``openssl ts -reply``."""

    directory: Path
    url: str = ""
    # "honest", "other-data" (imprint of other data), "other-nonce", "http-error", "garbage"
    mode: str = "honest"
    requests: list[bytes] = field(default_factory=list)

    def reply(self, query: bytes) -> bytes:
        with tempfile.TemporaryDirectory(dir=self.directory) as work:
            work_dir = Path(work)
            if self.mode == "other-data":
                (work_dir / "other.txt").write_bytes(b"not the checkpoint")
                query = _openssl("ts", "-query", "-data", "other.txt", "-sha256", "-cert",
                                 cwd=work_dir)
            elif self.mode == "other-nonce":
                # The TSA re-issues the query for the same data with its own random nonce.
                (work_dir / "data.bin").write_bytes(CHECKPOINT)
                query = _openssl("ts", "-query", "-data", "data.bin", "-sha256", "-cert",
                                 cwd=work_dir)
            (work_dir / "query.tsq").write_bytes(query)
            _openssl("ts", "-reply", "-config", str(self.directory / "tsa.cnf"),
                     "-queryfile", "query.tsq", "-out", "reply.tsr", cwd=work_dir)
            return (work_dir / "reply.tsr").read_bytes()


def _make_pki(d: Path) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Test Timestamp CA", "-days",
             "2", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Test Timestamp Authority",
             cwd=d)
    (d / "tsa-ext.cnf").write_text(
        "basicConstraints = CA:FALSE\n"
        "keyUsage = critical, digitalSignature\n"
        "extendedKeyUsage = critical, timeStamping\n"
    )
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "tsa.pem", "-days", "2", "-extfile", "tsa-ext.cnf",
             cwd=d)
    (d / "tsaserial").write_text("01\n")
    (d / "tsa.cnf").write_text(TSA_CONFIG.format(dir=d))


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[LocalTSA]:
    _make_pki(tmp_path)
    authority = LocalTSA(directory=tmp_path)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            query = self.rfile.read(int(self.headers["Content-Length"]))
            authority.requests.append(query)
            if authority.mode == "http-error":
                self.send_error(500)
                return
            if self.headers["Content-Type"] != "application/timestamp-query":
                self.send_error(415)
                return
            if authority.mode == "garbage":
                body = b"\x30\x03\x02\x01\x00"
            elif authority.mode == "rejection":
                body = b"\x30\x05\x30\x03\x02\x01\x02"  # PKIStatusInfo{status rejection}
            else:
                body = authority.reply(query)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    authority.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    yield authority
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _openssl_verify(directory: Path, data: bytes, token: bytes) -> subprocess.CompletedProcess:
    (directory / "data.txt").write_bytes(data)
    (directory / "token.tst").write_bytes(token)
    return subprocess.run(
        ["openssl", "ts", "-verify", "-data", "data.txt", "-in", "token.tst", "-token_in",
         "-CAfile", "ca.pem", "-untrusted", "tsa.pem"],
        cwd=directory, capture_output=True, text=True, check=False,
    )


def test_token_verifies_with_stock_openssl(tsa: LocalTSA) -> None:
    token = request_timestamp(CHECKPOINT, tsa.url, timeout=10)
    result = _openssl_verify(tsa.directory, CHECKPOINT, token)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout


def test_request_carries_a_sha256_imprint_and_a_nonce(tsa: LocalTSA) -> None:
    request_timestamp(CHECKPOINT, tsa.url, timeout=10)
    (tsa.directory / "sent.tsq").write_bytes(tsa.requests[0])
    text = _openssl("ts", "-query", "-in", "sent.tsq", "-text", cwd=tsa.directory).decode()
    assert "Hash Algorithm: sha256" in text
    assert "Nonce: 0x" in text
    assert "Certificate required: yes" in text
    assert b"\x04\x20" + hashlib.sha256(CHECKPOINT).digest() in tsa.requests[0]


def test_token_does_not_verify_for_other_data(tsa: LocalTSA) -> None:
    token = request_timestamp(CHECKPOINT, tsa.url, timeout=10)
    result = _openssl_verify(tsa.directory, CHECKPOINT + b"edited", token)
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
