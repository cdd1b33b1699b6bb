#!/usr/bin/env python3
"""Check an evidence bundle offline: files, hashes, custody events, proofs, signature.

    python3 verify.py [BAG_DIR_OR_ZIP] [--key "<name>+<key id>+<base64 key>"]

Needs Python 3.9 or later and the `cryptography` package (pip install cryptography);
nothing else, and no network. Run without arguments from inside an unzipped bundle, or
give the folder or the .zip file. Exit status 0 means every check below held; 1 means a
check failed (the first problem is named); 2 means the bundle could not be read at all.

What it checks (formats: docs/formats.md of the platform, repeated in VERIFY.md):

1. The bag (RFC 8493): `bagit.txt`, a SHA-256 payload manifest, and every file under
   `data/` listed in every payload manifest, with no listed file missing.
2. Every payload file's SHA-256 (and SHA-512) equals its manifest entry.
3. Every other file is listed in the tag manifest with the right hash.
4. Each original's SHA-256 equals the value in its metadata file, and the salted
   commitment SHA-256(tag || salt || SHA-256) equals the one the server recorded in a
   custody event when it received the file. Someone who changes an original and then
   rebuilds the manifests passes steps 1-3 but fails here.
5. Each custody event's hash recomputes from its fields and the previous event's hash.
6. Each event's inclusion proof (RFC 6962) leads to the root of the signed checkpoint.
7. The checkpoint's Ed25519 signature verifies with the public key in the bundle and,
   with --key, with the server's key as published elsewhere. Only --key proves the
   bundle was not re-signed by someone else: give it whenever you can.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import stat
import sys
import zipfile
from typing import IO, Any, Union

try:
    from cryptography.exceptions import InvalidSignature  # noqa: TID251 - standalone script
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: TID251
        Ed25519PublicKey,
    )
    from cryptography.hazmat.primitives.serialization import (  # noqa: TID251
        Encoding,
        PublicFormat,
        load_pem_public_key,
    )
except ImportError:  # pragma: no cover - depends on the user's machine
    sys.stderr.write("verify.py needs the 'cryptography' package: "
                     "python3 -m pip install cryptography\n")
    sys.exit(2)

EVENT_FORMAT = "incidents-custody-event/v1"
COMMITMENT_TAG = b"incidents/evidence-commitment/v1"
ITEM_FORMAT = "incidents-bundle-item/v1"
PROOFS_FORMAT = "incidents-bundle-proofs/v1"
EM_DASH = "\u2014"
CHUNK = 1024 * 1024
HEX64 = re.compile(r"[0-9a-f]{64}")
HEX128 = re.compile(r"[0-9a-f]{128}")
PAYLOAD_MANIFESTS = {"sha256": "manifest-sha256.txt", "sha512": "manifest-sha512.txt"}
TAG_MANIFESTS = {"sha256": "tagmanifest-sha256.txt", "sha512": "tagmanifest-sha512.txt"}
REQUIRED_TAG_FILES = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt",
                      "custody/events.jsonl", "custody/proofs.json",
                      "custody/checkpoint.txt", "custody/public-key.pem")


Note = tuple[str, int, bytes, str, list[str]]  # origin, size, root, text, signature lines


class Unreadable(Exception):
    """The bundle cannot be opened or a required file is unusable."""


class Problem(Exception):
    """One check failed; the message names the file, event or line."""


# --- reading a bag from a folder or a ZIP ----------------------------------------------------


class DirBag:
    """An unzipped bag: files are paths relative to its top folder, with '/'."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.name = root
        self.odd: list[str] = []  # symlinks, devices: never followed, always a problem

    def files(self) -> list[str]:
        found = []
        for top, dirs, names in os.walk(self.root):
            for name in sorted(dirs):
                if os.path.islink(os.path.join(top, name)):
                    self.odd.append(self._rel(os.path.join(top, name)))
            for name in names:
                full = os.path.join(top, name)
                mode = os.lstat(full).st_mode
                if stat.S_ISREG(mode):
                    found.append(self._rel(full))
                else:
                    self.odd.append(self._rel(full))
        return sorted(found)

    def _rel(self, full: str) -> str:
        return os.path.relpath(full, self.root).replace(os.sep, "/")

    def open(self, path: str) -> IO[bytes]:
        return open(os.path.join(self.root, *path.split("/")), "rb")


class ZipBag:
    """A bag read straight from its ZIP file, never extracted."""

    def __init__(self, path: str) -> None:
        self.name = path
        self.odd: list[str] = []
        try:
            self.zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as e:
            raise Unreadable(f"{path}: not a readable ZIP file ({e})") from e
        names = [i.filename for i in self.zip.infolist() if not i.is_dir()]
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) == 1 and all("/" in n for n in names):
            self.prefix = tops.pop() + "/"
        else:
            self.prefix = ""
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.infolist():
            if info.is_dir():
                continue
            rel = info.filename[len(self.prefix):]
            if (not info.filename.startswith(self.prefix) or rel.startswith("/")
                    or ".." in rel.split("/") or "\\" in rel):
                self.odd.append(info.filename)
            elif rel in self.members:
                self.odd.append(info.filename + " (twice)")
            else:
                self.members[rel] = info

    def files(self) -> list[str]:
        return sorted(self.members)

    def open(self, path: str) -> IO[bytes]:
        return self.zip.open(self.members[path])


Bag = Union["DirBag", "ZipBag"]


def read_bytes(bag: Bag, path: str, limit: int = 256 * 1024 * 1024) -> bytes:
    try:
        with bag.open(path) as f:
            data = f.read(limit + 1)
    except (OSError, KeyError) as e:
        raise Problem(f"{path}: cannot be read ({e})") from e
    if len(data) > limit:
        raise Problem(f"{path}: larger than {limit} bytes")
    return data


def read_text(bag: Bag, path: str) -> str:
    try:
        return read_bytes(bag, path).decode("utf-8")
    except UnicodeDecodeError as e:
        raise Problem(f"{path}: not UTF-8 text") from e


def digests(bag: Bag, path: str) -> dict[str, Any]:
    """SHA-256 and SHA-512 (hex) and size of one file, read in chunks."""
    h256, h512, size = hashlib.sha256(), hashlib.sha512(), 0
    try:
        with bag.open(path) as f:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                h256.update(chunk)
                h512.update(chunk)
                size += len(chunk)
    except (OSError, zipfile.BadZipFile) as e:
        raise Problem(f"{path}: cannot be read ({e})") from e
    return {"sha256": h256.hexdigest(), "sha512": h512.hexdigest(), "size": size}


def parse_manifest(bag: Bag, name: str, algorithm: str) -> dict[str, str]:
    """{path: hex digest} from a BagIt manifest; paths percent-decoded (RFC 8493 §2.1.3)."""
    pattern = HEX64 if algorithm == "sha256" else HEX128
    entries = {}
    for number, line in enumerate(read_text(bag, name).splitlines(), 1):
        if not line.strip():
            continue
        digest, sep, path = line.partition(" ")
        path = path.lstrip(" ")
        if not sep or not pattern.fullmatch(digest.lower()) or not path:
            raise Problem(f"{name} line {number}: not '<{algorithm}> <path>'")
        path = path.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
        if path.startswith("./"):
            path = path[2:]
        if path.startswith("/") or ".." in path.split("/"):
            raise Problem(f"{name} line {number}: path leaves the bag: {path!r}")
        if path in entries:
            raise Problem(f"{name} line {number}: {path} listed twice")
        entries[path] = digest.lower()
    return entries


# --- the checks ------------------------------------------------------------------------------


class Verifier:
    def __init__(self, bag: Bag, key: str | None) -> None:
        self.bag = bag
        self.key = key
        self.all_files = bag.files()
        self.present = set(self.all_files)
        self.payload: dict[str, dict[str, Any]] = {}  # path -> digests
        self.events: dict[int, dict[str, Any]] = {}  # seq -> event dict
        self.commitments: dict[str, list[int]] = {}  # commitment hex -> seqs of events recording it
        self.checkpoint: Note = ("", 0, b"", "", [])  # (origin, size, root, text, signature lines)

    def check_bag(self) -> str:
        """bagit.txt, payload manifests, no unlisted and no missing payload file."""
        if self.bag.odd:
            raise Problem(f"{self.bag.odd[0]}: not a regular file inside the bag "
                          "(symlink, device or unsafe ZIP entry)")
        if "bagit.txt" not in self.present:
            raise Problem("bagit.txt: missing (not a BagIt bag)")
        declaration = read_text(self.bag, "bagit.txt").splitlines()
        if len(declaration) < 2 or not declaration[0].startswith("BagIt-Version: ") \
                or declaration[1] != "Tag-File-Character-Encoding: UTF-8":
            raise Problem("bagit.txt: not a BagIt declaration")
        if PAYLOAD_MANIFESTS["sha256"] not in self.present:
            raise Problem("manifest-sha256.txt: missing")
        on_disk = {p for p in self.all_files if p.startswith("data/")}
        self.manifests = {}
        for algorithm, name in PAYLOAD_MANIFESTS.items():
            if name not in self.present:
                continue
            entries = parse_manifest(self.bag, name, algorithm)
            for path in sorted(on_disk - entries.keys()):
                raise Problem(f"{path}: not listed in {name} (a file was added)")
            for path in sorted(entries.keys() - on_disk):
                raise Problem(f"{path}: listed in {name} but missing")
            self.manifests[algorithm] = entries
        return f"{len(on_disk)} payload files, each listed in " + \
            " and ".join(PAYLOAD_MANIFESTS[a] for a in self.manifests)

    def check_payload(self) -> str:
        """Every payload file's SHA-256 (and SHA-512) equals its manifest entry."""
        total = 0
        for path in sorted(self.manifests["sha256"]):
            found = digests(self.bag, path)
            for algorithm, entries in self.manifests.items():
                if found[algorithm] != entries[path]:
                    raise Problem(f"{path}: {algorithm.upper()} is {found[algorithm]}, "
                                  f"the manifest says {entries[path]} (the file was changed)")
            self.payload[path] = found
            total += found["size"]
        oxum = self._bag_info().get("Payload-Oxum")
        expected = f"{total}.{len(self.payload)}"
        if oxum is not None and oxum != expected:
            raise Problem(f"bag-info.txt: Payload-Oxum is {oxum}, the payload is {expected}")
        return f"{len(self.payload)} files, {total} bytes, hashes match the manifests"

    def _bag_info(self) -> dict[str, str]:
        if "bag-info.txt" not in self.present:
            return {}
        info = {}
        for line in read_text(self.bag, "bag-info.txt").splitlines():
            label, sep, value = line.partition(":")
            if sep and not line[:1].isspace():
                info[label.strip()] = value.strip()
        return info

    def check_tags(self) -> str:
        """Every file outside data/ is listed in the tag manifest and its hash matches."""
        if TAG_MANIFESTS["sha256"] not in self.present:
            raise Problem("tagmanifest-sha256.txt: missing")
        tag_files = {p for p in self.all_files if not p.startswith("data/")}
        tag_files -= set(TAG_MANIFESTS.values())
        for path in REQUIRED_TAG_FILES:
            if path not in self.present:
                raise Problem(f"{path}: missing")
        checked = 0
        for algorithm, name in TAG_MANIFESTS.items():
            if name not in self.present:
                continue
            entries = parse_manifest(self.bag, name, algorithm)
            for path in sorted(tag_files - entries.keys()):
                raise Problem(f"{path}: not listed in {name} (a file was added)")
            for path, digest in sorted(entries.items()):
                if path not in self.present:
                    raise Problem(f"{path}: listed in {name} but missing")
                if path.startswith("data/") or path in TAG_MANIFESTS.values():
                    raise Problem(f"{name}: lists {path}, which is not a tag file")
                found = digests(self.bag, path)[algorithm]
                if found != digest:
                    raise Problem(f"{path}: {algorithm.upper()} does not match {name} "
                                  "(the file was changed)")
                checked += 1
        return f"{len(tag_files)} tag files, hashes match the tag manifests"

    def check_events(self) -> str:
        """Each custody event's hash recomputes from its fields and its previous hash."""
        previous = None
        text = read_text(self.bag, "custody/events.jsonl")
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                seq = event["seq"]
                fields = [EVENT_FORMAT, str(seq), event["time"], event["actor"] or "",
                          event["action"], event["subject"], event["commitment"] or "",
                          event["details"]]
                if not isinstance(seq, int) or not all(isinstance(f, str) for f in fields):
                    raise TypeError("a field has the wrong type")
                prev_hash = bytes.fromhex(event["prev_hash"])
                stored = bytes.fromhex(event["hash"])
            except (ValueError, KeyError, TypeError) as e:
                raise Problem(f"custody/events.jsonl line {number}: not a custody event "
                              f"({e})") from e
            where = f"custody event seq {seq}"
            if previous is not None and seq <= previous["seq"]:
                raise Problem(f"{where}: out of order or repeated")
            canonical = "\n".join(fields).encode("utf-8")
            if hashlib.sha256(canonical + prev_hash).digest() != stored:
                raise Problem(f"{where}: its hash does not recompute from its fields "
                              "(the event was edited)")
            if previous is not None and seq == previous["seq"] + 1 \
                    and prev_hash.hex() != previous["hash"]:
                raise Problem(f"{where}: prev_hash is not the hash of event {seq - 1}")
            self.events[seq] = event
            if event["commitment"]:
                self.commitments.setdefault(event["commitment"], []).append(seq)
            previous = event
        if not self.events:
            raise Problem("custody/events.jsonl: holds no events")
        return f"{len(self.events)} events, every hash recomputes"

    def check_items(self) -> str:
        """Each original matches its metadata file and the commitment in a custody event."""
        originals = {p for p in self.payload if p.startswith("data/originals/")}
        claimed = set()
        items = 0
        for path in sorted(self.payload):
            if path in originals:
                continue
            if not (path.startswith("data/metadata/") and path.endswith(".json")):
                raise Problem(f"{path}: neither an original nor a metadata file")
            try:
                meta = json.loads(read_text(self.bag, path))
                item, original = meta["item"], meta["file"]
                size, sha256 = meta["size"], meta["sha256"]
                salt = bytes.fromhex(meta["commitment"]["salt"])
                recorded = meta["commitment"]["value"]
                if meta.get("format") != ITEM_FORMAT:
                    raise ValueError(f"format is not {ITEM_FORMAT}")
            except (ValueError, KeyError, TypeError) as e:
                raise Problem(f"{path}: not an item metadata file ({e})") from e
            if original not in originals:
                raise Problem(f"{path}: names {original}, which is not an original here")
            if original in claimed:
                raise Problem(f"{original}: claimed by two metadata files")
            claimed.add(original)
            found = self.payload[original]
            if found["sha256"] != sha256 or found["size"] != size:
                raise Problem(f"{original}: SHA-256 {found['sha256']} / {found['size']} bytes "
                              f"differ from {path} ({sha256} / {size} bytes)")
            if len(salt) != 32:
                raise Problem(f"{path}: the commitment salt is not 32 bytes")
            commitment = hashlib.sha256(COMMITMENT_TAG + salt + bytes.fromhex(sha256))
            if commitment.hexdigest() != recorded:
                raise Problem(f"{path}: the commitment does not recompute from its SHA-256 "
                              "and salt")
            if recorded not in self.commitments:
                raise Problem(f"{original} (item {item}): no custody event records its "
                              "commitment: these are not the bytes the server received")
            items += 1
        for path in sorted(originals - claimed):
            raise Problem(f"{path}: has no metadata file")
        return f"{items} items: SHA-256 matches metadata and the custody commitment"

    def check_checkpoint(self) -> str:
        """Parse the signed note; verify the signature with the bundled key."""
        note = read_text(self.bag, "custody/checkpoint.txt")
        sep = note.rfind("\n\n")
        if sep < 0 or not note.endswith("\n"):
            raise Problem("custody/checkpoint.txt: not a signed note")
        text, signatures = note[: sep + 1], note[sep + 2:-1].split("\n")
        lines = text[:-1].split("\n")
        try:
            origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2],
                                                                          validate=True)
            if len(root) != 32 or str(size) != lines[1]:
                raise ValueError("bad size or root")
        except (IndexError, ValueError, binascii.Error) as e:
            raise Problem("custody/checkpoint.txt: not a checkpoint (origin, size, root)") from e
        self.checkpoint = (origin, size, root, text, signatures)
        try:
            public = load_pem_public_key(read_bytes(self.bag, "custody/public-key.pem"))
        except ValueError as e:
            raise Problem("custody/public-key.pem: not a PEM public key") from e
        if not isinstance(public, Ed25519PublicKey):
            raise Problem("custody/public-key.pem: not an Ed25519 key")
        verify_signature(self.checkpoint, origin, public, "the bundled public key")
        return f"signed by {origin} (bundled key {key_id(origin, public).hex()}), " \
            f"tree size {size}"

    def check_proofs(self) -> str:
        """Each event's RFC 6962 inclusion proof leads to the checkpoint's root."""
        _origin, size, root, _text, _sigs = self.checkpoint
        try:
            doc = json.loads(read_text(self.bag, "custody/proofs.json"))
            tree_size, proofs = doc["tree_size"], doc["proofs"]
            if doc.get("format") != PROOFS_FORMAT or not isinstance(proofs, dict):
                raise ValueError("unknown format")
        except (ValueError, KeyError, TypeError) as e:
            raise Problem(f"custody/proofs.json: not a proofs file ({e})") from e
        if tree_size != size:
            raise Problem(f"custody/proofs.json: tree size {tree_size}, the checkpoint has "
                          f"{size}")
        for seq in sorted(self.events):
            path = proofs.get(str(seq))
            if path is None:
                raise Problem(f"custody event seq {seq}: no inclusion proof")
            try:
                hashes = [bytes.fromhex(h) for h in path]
            except (ValueError, TypeError) as e:
                raise Problem(f"custody event seq {seq}: the proof is not hex") from e
            leaf = hashlib.sha256(b"\x00" + bytes.fromhex(self.events[seq]["hash"])).digest()
            if root_from_proof(leaf, seq, size, hashes) != root:
                raise Problem(f"custody event seq {seq}: the inclusion proof does not lead "
                              "to the checkpoint root")
        extra = sorted(set(proofs) - {str(s) for s in self.events})
        if extra:
            raise Problem(f"custody/proofs.json: proof for event {extra[0]}, which is not in "
                          "custody/events.jsonl")
        return f"{len(self.events)} events are in the signed tree of size {size}"

    def check_key(self) -> str:
        """The checkpoint also verifies with the key the user gave (--key)."""
        origin = self.checkpoint[0]
        name, public = parse_verifier_key(self.key or "")
        if name != origin:
            raise Problem(f"--key: names {name}, the checkpoint was signed as {origin}")
        verify_signature(self.checkpoint, name, public, "the key you gave (--key)")
        return f"signed by the key you gave: {self.key}"


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + raw).digest()[:4]


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    parts = vkey.strip().split("+", 2)  # the base64 key may itself hold '+'
    try:
        if len(parts) != 3:
            raise ValueError("expected <name>+<key id>+<base64 key>")
        raw = base64.b64decode(parts[2], validate=True)
        if len(raw) != 33 or raw[0] != 1:
            raise ValueError("not an Ed25519 verifier key")
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
        if key_id(parts[0], public).hex() != parts[1].lower():
            raise ValueError("its key id does not match the key")
    except (ValueError, binascii.Error) as e:
        raise Problem(f"--key: not a valid verifier key ({e})") from e
    return parts[0], public


def verify_signature(checkpoint: Note, name: str, public: Ed25519PublicKey,
                     which: str) -> None:
    _origin, _size, _root, text, signatures = checkpoint
    kid = key_id(name, public)
    matching = []
    for line in signatures:
        prefix, _, rest = line.partition(" ")
        signer, _, encoded = rest.partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if prefix == EM_DASH and signer == name and blob[:4] == kid:
            matching.append(blob[4:])
    if not matching:
        raise Problem(f"custody/checkpoint.txt: no signature by {which} "
                      f"({name}+{kid.hex()}); the checkpoint was signed by another key")
    for signature in matching:
        try:
            public.verify(signature, text.encode("utf-8"))
        except InvalidSignature as e:
            raise Problem(f"custody/checkpoint.txt: the signature does not verify with "
                          f"{which} (the checkpoint was changed)") from e


def root_from_proof(leaf: bytes, index: int, size: int,
                    proof: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an inclusion proof implies, or None if malformed."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0 or len(p) != 32:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


CHECKS = [
    ("bag structure and manifests", "check_bag"),
    ("payload hashes", "check_payload"),
    ("tag files", "check_tags"),
    ("custody event hashes", "check_events"),
    ("originals against metadata and custody commitments", "check_items"),
    ("checkpoint signature (bundled key)", "check_checkpoint"),
    ("inclusion proofs", "check_proofs"),
    ("checkpoint signature (your key)", "check_key"),
]


def open_bag(path: str) -> Bag:
    if os.path.isdir(path):
        return DirBag(path)
    if os.path.isfile(path):
        return ZipBag(path)
    raise Unreadable(f"{path}: no such folder or file")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check an evidence bundle offline.")
    parser.add_argument("bag", nargs="?", default=os.path.dirname(os.path.abspath(__file__)),
                        help="the unzipped bundle folder or the .zip (default: this folder)")
    parser.add_argument("--key", help="the server's verifier key, from a source you trust: "
                        "<name>+<key id>+<base64 key>")
    args = parser.parse_args(argv)
    try:
        verifier = Verifier(open_bag(args.bag), args.key)
    except Unreadable as e:
        print(f"ERROR {e}")
        return 2
    print(f"Checking {args.bag}")
    for title, method in CHECKS:
        if method == "check_key" and not args.key:
            print(f"SKIP  {title}: no --key given. The bundled key only shows the bundle is "
                  "consistent with itself; compare the server's published key (--key).")
            continue
        try:
            detail = getattr(verifier, method)()
        except Problem as e:
            print(f"FAIL  {title}: {e}")
            print(f"RESULT: FAILED. First problem: {e}")
            return 1
        print(f"OK    {title}: {detail}")
    print("RESULT: all checks passed" + ("" if args.key else
                                         " (signer not checked against --key)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
