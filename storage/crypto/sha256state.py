"""SHA-256 whose running state can be saved and restored (for uploads that span requests).

``hashlib`` cannot export its internal state, and an upload's plaintext SHA-256 must be the
ordinary SHA-256 of the whole file (``sha256sum`` of the exported original prints it), so
no hash "that composes" will do. OpenSSL's low-level ``SHA256_Init/Update/Final`` work on a
public struct (``SHA256_CTX`` in ``openssl/sha.h``: eight state words, a 64-bit bit count,
the partial block and its length); we drive them through ``ctypes`` from the same libcrypto
``hashlib`` uses, so the speed is the same (SHA-NI / AVX2), and ``ctypes`` releases the GIL
during each call, so hashing overlaps encryption on another thread.

``export()`` writes that struct in a portable byte form (words big-endian, the partial block
as raw bytes); the caller must keep it secret (it is derived from the plaintext), and the
upload service seals it (``storage.appendable``). docs/formats.md, "Appendable blobs".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
from functools import cache

STATE_LEN = 8 * 4 + 2 * 4 + 1 + 64  # words, bit count, partial length, partial block
_PORTABLE = struct.Struct(">8I2IB64s")
assert _PORTABLE.size == STATE_LEN


class _Ctx(ctypes.Structure):
    # typedef struct SHA256state_st { SHA_LONG h[8]; SHA_LONG Nl, Nh;
    #   SHA_LONG data[SHA_LBLOCK]; unsigned int num, md_len; } SHA256_CTX;
    _fields_ = (
        ("h", ctypes.c_uint32 * 8),
        ("nl", ctypes.c_uint32),
        ("nh", ctypes.c_uint32),
        ("data", ctypes.c_uint8 * 64),
        ("num", ctypes.c_uint),
        ("md_len", ctypes.c_uint),
    )


@cache
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("crypto") or "libcrypto.so.3"
    lib = ctypes.CDLL(name)
    for fn in ("SHA256_Init", "SHA256_Update", "SHA256_Final"):
        getattr(lib, fn).restype = ctypes.c_int
    lib.SHA256_Init.argtypes = (ctypes.POINTER(_Ctx),)
    lib.SHA256_Update.argtypes = (ctypes.POINTER(_Ctx), ctypes.c_void_p, ctypes.c_size_t)
    lib.SHA256_Final.argtypes = (ctypes.c_char_p, ctypes.POINTER(_Ctx))
    return lib


class ResumableSha256:
    """An incremental SHA-256 with ``export()`` / ``ResumableSha256(state)``."""

    name = "sha256"
    digest_size = 32

    def __init__(self, state: bytes | None = None) -> None:
        self._ctx = _Ctx()
        if state is None:
            if _lib().SHA256_Init(ctypes.byref(self._ctx)) != 1:
                raise RuntimeError("SHA256_Init failed")
            return
        if len(state) != STATE_LEN:
            raise ValueError("not a saved SHA-256 state")
        *words, nl, nh, num, block = _PORTABLE.unpack(state)
        if num >= 64:
            raise ValueError("not a saved SHA-256 state")
        self._ctx.h[:] = words
        self._ctx.nl, self._ctx.nh, self._ctx.num, self._ctx.md_len = nl, nh, num, 32
        ctypes.memmove(self._ctx.data, block, 64)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        n = len(view)
        if not n:
            return
        if view.readonly:
            buf = ctypes.c_char_p(view.tobytes())
            ptr = ctypes.cast(buf, ctypes.c_void_p)
        else:
            ptr = ctypes.cast((ctypes.c_char * n).from_buffer(view), ctypes.c_void_p)
        if _lib().SHA256_Update(ctypes.byref(self._ctx), ptr, n) != 1:
            raise RuntimeError("SHA256_Update failed")

    def export(self) -> bytes:
        """The running state in portable form (secret: derived from what was hashed)."""
        c = self._ctx
        return _PORTABLE.pack(*c.h, c.nl, c.nh, c.num, bytes(c.data))

    def digest(self) -> bytes:
        """The digest of everything so far (the running state is left as it was)."""
        copy = _Ctx()
        ctypes.pointer(copy)[0] = self._ctx
        out = ctypes.create_string_buffer(32)
        if _lib().SHA256_Final(out, ctypes.byref(copy)) != 1:
            raise RuntimeError("SHA256_Final failed")
        ctypes.memset(ctypes.byref(copy), 0, ctypes.sizeof(copy))
        return out.raw

    def hexdigest(self) -> str:
        return self.digest().hex()
