"""Optional RFC 3161 trusted timestamps of signed checkpoints.

``request_timestamp`` sends a TimeStampReq (RFC 3161 §2.4.1) with a SHA-256 message
imprint, a random 64-bit nonce and certReq set to a configured timestamp authority
over HTTP (``application/timestamp-query``, RFC 3161 §3.4), checks the TimeStampResp
status, imprint and nonce, and returns the DER TimeStampToken (a CMS SignedData,
RFC 3161 §2.4.2). The token's signature is not checked here: whoever relies on it
checks it against the TSA's CA, e.g. with stock OpenSSL::

    openssl ts -verify -data checkpoint.txt -in token.tst -token_in \\
        -CAfile tsa-ca.pem -untrusted tsa.pem

The few ASN.1 structures involved are encoded and walked directly (definite-length
DER/BER, X.690): ``rfc3161-client`` refuses the SET OF certificates that
``openssl ts -reply`` emits in chain order rather than DER order.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.parse
import urllib.request
from typing import NamedTuple

from storage.crypto.merkle import CheckpointError

MAX_RESPONSE_BYTES = 1 << 20
# DER of the AlgorithmIdentifier OID id-sha256 (2.16.840.1.101.3.4.2.1).
_SHA256_OID = bytes.fromhex("0609608648016503040201")
_ID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")  # 1.2.840.113549.1.7.2
_ID_CT_TSTINFO = bytes.fromhex("060b2a864886f70d0109100104")  # 1.2.840.113549.1.9.16.1.4
_SEQUENCE, _INTEGER, _BOOLEAN, _OCTET_STRING, _EXPLICIT_0 = 0x30, 0x02, 0x01, 0x04, 0xA0
_GRANTED, _GRANTED_WITH_MODS = 0, 1


class TimestampError(CheckpointError):
    """The timestamp authority was unreachable, refused, or answered wrongly."""


def request_timestamp(data: bytes, url: str, timeout: float = 10.0) -> bytes:
    """Return a DER RFC 3161 TimeStampToken over SHA-256(data) from the TSA at ``url``."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise TimestampError("timestamp authority URL must be http or https")
    digest = hashlib.sha256(data).digest()
    nonce = secrets.randbits(63) | 1 << 62  # positive, and a fixed length on the wire
    body = _post(url, build_request(digest, nonce), timeout)
    return check_response(body, digest, nonce)


def build_request(digest: bytes, nonce: int) -> bytes:
    """Return the DER TimeStampReq for a SHA-256 digest (RFC 3161 §2.4.1)."""
    algorithm = _tlv(_SEQUENCE, _SHA256_OID + b"\x05\x00")
    imprint = _tlv(_SEQUENCE, algorithm + _tlv(_OCTET_STRING, digest))
    return _tlv(
        _SEQUENCE,
        _tlv(_INTEGER, b"\x01") + imprint + _der_int(nonce) + _tlv(_BOOLEAN, b"\xff"),
    )


def check_response(body: bytes, digest: bytes, nonce: int) -> bytes:
    """Check a TimeStampResp (RFC 3161 §2.4.2) and return its DER TimeStampToken."""
    try:
        der = _Der(body)
        resp = der.children(der.top(_SEQUENCE))
        status = der.integer(der.children(der.check(resp[0], _SEQUENCE))[0])
        if status not in (_GRANTED, _GRANTED_WITH_MODS):
            raise TimestampError(f"timestamp authority refused the request (status {status})")
        if len(resp) < 2:
            raise _Malformed("no token")
        token = body[resp[1].start : resp[1].end]
        imprint_alg, imprint, token_nonce = _tst_info(token)
    except _Malformed as e:
        raise TimestampError(f"timestamp response is malformed: {e}") from e
    if imprint_alg != _SHA256_OID:
        raise TimestampError("timestamp token does not use a SHA-256 message imprint")
    if imprint != digest:
        raise TimestampError("timestamp token imprint does not match the data")
    if token_nonce != nonce:
        raise TimestampError("timestamp token nonce does not match the request")
    return token


def _post(url: str, query: bytes, timeout: float) -> bytes:
    request = urllib.request.Request(  # noqa: S310 - scheme checked by the caller
        url,
        data=query,
        method="POST",
        headers={
            "Content-Type": "application/timestamp-query",
            "Accept": "application/timestamp-reply",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            content_type = response.headers.get_content_type()
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise TimestampError(f"timestamp authority request failed: {type(e).__name__}") from e
    if len(body) > MAX_RESPONSE_BYTES:
        raise TimestampError("timestamp response is too large")
    if content_type != "application/timestamp-reply":
        raise TimestampError(f"unexpected timestamp response type {content_type!r}")
    return body


def _tst_info(token: bytes) -> tuple[bytes, bytes, int | None]:
    """Return (imprint algorithm OID TLV, imprint, nonce) from a TimeStampToken.

    TimeStampToken = ContentInfo{id-signedData, [0] SignedData{version, digestAlgorithms,
    encapContentInfo{id-ct-TSTInfo, [0] OCTET STRING TSTInfo}, ...}} (RFC 5652, RFC 3161).
    """
    der = _Der(token)
    content_info = der.children(der.top(_SEQUENCE))
    if len(content_info) < 2 or der.raw(content_info[0]) != _ID_SIGNED_DATA:
        raise _Malformed("token is not CMS SignedData")
    signed_data = der.children(der.unwrap(content_info[1], _EXPLICIT_0, _SEQUENCE))
    if len(signed_data) < 3:
        raise _Malformed("SignedData is too short")
    encap = der.children(der.check(signed_data[2], _SEQUENCE))
    if len(encap) < 2 or der.raw(encap[0]) != _ID_CT_TSTINFO:
        raise _Malformed("token does not hold a TSTInfo")
    octets = der.unwrap(encap[1], _EXPLICIT_0, _OCTET_STRING)
    info = _Der(token[octets.content : octets.end])
    fields = info.children(info.top(_SEQUENCE))
    if len(fields) < 5:
        raise _Malformed("TSTInfo is too short")
    imprint = info.children(info.check(fields[2], _SEQUENCE))
    if len(imprint) != 2:
        raise _Malformed("bad messageImprint")
    algorithm = info.children(info.check(imprint[0], _SEQUENCE))
    hashed = info.check(imprint[1], _OCTET_STRING)
    # After version, policy, messageImprint, serialNumber and genTime come the optional
    # accuracy (SEQUENCE), ordering (BOOLEAN) and nonce (the only INTEGER).
    nonce = next((info.integer(f) for f in fields[5:] if f.tag == _INTEGER), None)
    return info.raw(algorithm[0]), info.buf[hashed.content : hashed.end], nonce


class _Malformed(Exception):
    """Internal: a structure does not parse; reported as ``TimestampError``."""


class _Tlv(NamedTuple):
    tag: int
    start: int
    content: int
    end: int


class _Der:
    """A minimal reader of definite-length DER/BER (X.690 §8.1) over one buffer."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf

    def read(self, pos: int, limit: int) -> _Tlv:
        buf = self.buf
        if pos + 2 > limit:
            raise _Malformed("truncated")
        tag, length, content = buf[pos], buf[pos + 1], pos + 2
        if tag & 0x1F == 0x1F:
            raise _Malformed("unexpected high tag number")
        if length & 0x80:
            n = length & 0x7F
            if not 1 <= n <= 4 or content + n > limit:
                raise _Malformed("unsupported length")
            length = int.from_bytes(buf[content : content + n], "big")
            content += n
        if content + length > limit:
            raise _Malformed("truncated")
        return _Tlv(tag, pos, content, content + length)

    def top(self, tag: int) -> _Tlv:
        tlv = self.check(self.read(0, len(self.buf)), tag)
        if tlv.end != len(self.buf):
            raise _Malformed("trailing data")
        return tlv

    def check(self, tlv: _Tlv, tag: int) -> _Tlv:
        if tlv.tag != tag:
            raise _Malformed(f"expected tag {tag:#04x}, found {tlv.tag:#04x}")
        return tlv

    def children(self, tlv: _Tlv) -> list[_Tlv]:
        out, pos = [], tlv.content
        while pos < tlv.end:
            child = self.read(pos, tlv.end)
            out.append(child)
            pos = child.end
        return out

    def unwrap(self, tlv: _Tlv, outer: int, inner: int) -> _Tlv:
        """Return the single element inside an EXPLICIT tag."""
        kids = self.children(self.check(tlv, outer))
        if len(kids) != 1:
            raise _Malformed("explicit tag must hold one element")
        return self.check(kids[0], inner)

    def integer(self, tlv: _Tlv) -> int:
        self.check(tlv, _INTEGER)
        return int.from_bytes(self.buf[tlv.content : tlv.end], "big", signed=True)

    def raw(self, tlv: _Tlv) -> bytes:
        return self.buf[tlv.start : tlv.end]


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _der_int(value: int) -> bytes:
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))
