#!/usr/bin/env python3
"""Check an evidence bundle offline: files, hashes, custody events, proofs, signature.

    python3 verify.py [BAG_DIR_OR_ZIP] [--key "<name>+<key id>+<base64 key>" | --key FILE.pem]
                      [--tsa-cert TSA-CA.pem] [--receipt RECEIPT.json [--consistency PROOF.json]]

Needs Python 3.9 or later and the `cryptography` package (pip install cryptography);
nothing else, and no network. Run without arguments from inside an unzipped bundle, or
give the folder or the .zip file.

Exit status:
  0  every check held AND the checkpoint was signed by the key you gave with --key;
  1  a check failed (the first problem is named);
  2  the bundle (or a file you named) could not be read at all, or the arguments are wrong;
  3  every check held, but no --key was given: the signer was NOT checked, so a bundle
     whose whole history was rewritten and re-signed with another key would look the
     same. Give --key (from the server's published key, not from the bundle).

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
7. The bundle is complete: the bundle statement (a custody event under the checkpoint)
   names every item and the last event of each of the item's subject chains; every
   event on those chains (each v2 event names the previous event of its subject) is in
   the bundle, every item is present, and the statement's payload manifest hash matches.
8. The checkpoint's Ed25519 signature verifies with the public key in the bundle and,
   with --key, with the server's key as published elsewhere. Only --key proves the
   bundle was not re-signed by someone else: give it whenever you can.
9. With --tsa-cert, the checkpoint's RFC 3161 timestamp token (custody/checkpoint.tsr)
   verifies against that authority certificate (with `openssl ts -verify`).
10. With --receipt, a witness receipt's events recompute, its proofs lead to its signed
   checkpoint, and that checkpoint is the bundle's, or consistent with it (RFC 6962
   consistency proof, from the receipt's size to the bundle's, given with --consistency
   as served by GET /custody/proof/consistency).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess  # noqa: S404 - openssl ts, for --tsa-cert only
import sys
import tempfile
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

EVENT_FORMAT_V1 = "incidents-custody-event/v1"
EVENT_FORMAT = "incidents-custody-event/v2"
COMMITMENT_TAG = b"incidents/evidence-commitment/v1"
ACTOR_TAG = b"incidents/actor-commitment/v1"
STATEMENT_FORMAT = "incidents-bundle-statement/v1"
RECEIPT_FORMAT = "incidents-receipt/v1"
ZERO_HASH = "0" * 64
EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE, EXIT_SIGNER_UNCHECKED = 0, 1, 2, 3
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


# --- custody events ----------------------------------------------------------------------------


def event_canonical(event: dict[str, Any]) -> bytes:
    """The bytes an event's hash covers (docs/formats.md "Custody events"), v1 or v2."""
    seq = event["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError("seq is not an integer")
    fmt = event.get("format", EVENT_FORMAT_V1)
    if fmt == EVENT_FORMAT_V1:
        fields = [EVENT_FORMAT_V1, str(seq), event["time"], event["actor"] or "",
                  event["action"], event["subject"], event["commitment"] or "",
                  event["details"]]
    elif fmt == EVENT_FORMAT:
        if not HEX64.fullmatch(event["subject_prev"]):
            raise ValueError("subject_prev is not 64 hex digits")
        fields = [EVENT_FORMAT, str(seq), event["time"], event["actor_commitment"],
                  event["action"], event["subject"], event["commitment"] or "",
                  event["subject_prev"], event["details"]]
    else:
        raise ValueError(f"unknown event format {fmt!r}")
    if not all(isinstance(f, str) for f in fields):
        raise TypeError("a field has the wrong type")
    return "\n".join(fields).encode("utf-8")


def event_hash_ok(event: dict[str, Any]) -> bool:
    canonical = event_canonical(event)
    return hashlib.sha256(canonical + bytes.fromhex(event["prev_hash"])).hexdigest() \
        == event["hash"]


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
                canonical = event_canonical(event)
                prev_hash = bytes.fromhex(event["prev_hash"])
                stored = bytes.fromhex(event["hash"])
            except (ValueError, KeyError, TypeError) as e:
                raise Problem(f"custody/events.jsonl line {number}: not a custody event "
                              f"({e})") from e
            where = f"custody event seq {seq}"
            if previous is not None and seq <= previous["seq"]:
                raise Problem(f"{where}: out of order or repeated")
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

    def check_complete(self) -> str:
        """The bundle statement names every item and the end of each subject chain; every
        event on those chains, and every item, is here; the payload manifest matches."""
        bundle_id = self._bag_info().get("External-Identifier", "")
        found = [e for e in self.events.values() if e["action"] == "bundle_statement"
                 and e["subject"] == f"bundle:{bundle_id}"]
        if not found:
            raise Problem(f"custody/events.jsonl: no bundle statement for {bundle_id!r}: "
                          "nothing shows which events and items this bundle must hold")
        statement = found[-1]
        try:
            doc = json.loads(statement["details"])
            if doc.get("format") != STATEMENT_FORMAT or doc.get("bundle") != bundle_id:
                raise ValueError("not a statement of this bundle")
            chains = doc["items"]
            manifest_hash = doc["payload_manifest_sha256"]
            if not isinstance(chains, dict):
                raise TypeError("items is not an object")
        except (ValueError, KeyError, TypeError) as e:
            raise Problem(f"custody event seq {statement['seq']}: not a bundle statement "
                          f"({e})") from e
        here = {p[len("data/metadata/"):-len(".json")] for p in self.payload
                if p.startswith("data/metadata/") and p.endswith(".json")}
        for item in sorted(set(chains) - here):
            raise Problem(f"item {item}: named by the bundle statement (event "
                          f"{statement['seq']}) but missing from the bundle (dropped)")
        for item in sorted(here - set(chains)):
            raise Problem(f"item {item}: in the bundle but not in its statement")
        actual = hashlib.sha256(read_bytes(self.bag, "manifest-sha256.txt")).hexdigest()
        if actual != manifest_hash:
            raise Problem(f"manifest-sha256.txt: its SHA-256 is {actual}, the bundle statement "
                          f"(event {statement['seq']}) says {manifest_hash}: the payload was "
                          "changed after export")
        actors = doc.get("actors", {})
        label_of = {c: label for label, cs in actors.items() for c in cs}
        for shown in self.events.values():
            if shown is statement or shown.get("format", EVENT_FORMAT_V1) == EVENT_FORMAT_V1:
                continue
            if shown["actor_commitment"] and label_of.get(shown["actor_commitment"]) \
                    != shown["actor"]:
                raise Problem(f"custody event seq {shown['seq']}: its actor label "
                              f"{shown['actor']!r} is not the one the bundle statement gives "
                              "its actor commitment")
        by_hash = {e["hash"]: e for e in self.events.values()}
        walked = legacy = 0
        for item in sorted(chains):
            for end in chains[item]:
                subject = end["subject"]
                last = self.events.get(end["seq"])
                if last is None or last["hash"] != end["hash"] or last["subject"] != subject:
                    raise Problem(f"item {item}: the last event of {subject} (seq {end['seq']}"
                                  ") is missing from custody/events.jsonl (dropped)")
                event = last
                while True:
                    walked += 1
                    if event.get("format", EVENT_FORMAT_V1) == EVENT_FORMAT_V1:
                        # Written before per-subject chains: the rest of this subject's
                        # history cannot be proven complete (docs/formats.md).
                        legacy += 1
                        break
                    link = event["subject_prev"]
                    if link == ZERO_HASH:
                        break
                    earlier = by_hash.get(link)
                    if earlier is None:
                        raise Problem(f"item {item}: an event of {subject} before seq "
                                      f"{event['seq']} is missing from custody/events.jsonl "
                                      f"(dropped; it has hash {link})")
                    if earlier["subject"] != subject:
                        raise Problem(f"custody event seq {event['seq']}: its subject_prev "
                                      f"names event {earlier['seq']}, about another subject")
                    event = earlier
        detail = f"{len(chains)} items, {walked} events on their subject chains, all present"
        if legacy:
            detail += (f" ({legacy} chain(s) reach events written before per-subject chains; "
                       "those earlier events cannot be proven complete)")
        return detail

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
        self.checkpoint = parse_note(read_text(self.bag, "custody/checkpoint.txt"),
                                     "custody/checkpoint.txt")
        origin, size = self.checkpoint[0], self.checkpoint[1]
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
            if seq >= size:
                raise Problem(f"custody event seq {seq}: not in the checkpoint's tree of size "
                              f"{size} (an older checkpoint was swapped in?)")
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
        name, public = load_user_key(self.key or "", origin)
        if name != origin:
            raise Problem(f"--key: names {name}, the checkpoint was signed as {origin}")
        verify_signature(self.checkpoint, name, public, "the key you gave (--key)")
        return f"signed by the key you gave: {self.key}"


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + raw).digest()[:4]


def load_user_key(value: str, origin: str) -> tuple[str, Ed25519PublicKey]:
    """--key: a C2SP verifier key string, or a PEM file holding the Ed25519 public key
    (whose signer name is then the checkpoint's origin)."""
    if "+" not in value and os.path.isfile(value):
        try:
            with open(value, "rb") as f:
                public = load_pem_public_key(f.read())
        except (OSError, ValueError) as e:
            raise Problem(f"--key: {value} is not a PEM public key ({e})") from e
        if not isinstance(public, Ed25519PublicKey):
            raise Problem(f"--key: {value} is not an Ed25519 key")
        return origin, public
    return parse_verifier_key(value)


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
    ("completeness (bundle statement and subject chains)", "check_complete"),
    ("checkpoint signature (your key)", "check_key"),
]


def consistent(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
               proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether tree (old_size, old_root) is a prefix of the new one."""
    if not 0 <= old_size <= new_size or any(len(p) != 32 for p in proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = hashlib.sha256(b"\x01" + c + fr).digest()
            sr = hashlib.sha256(b"\x01" + c + sr).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hashlib.sha256(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def parse_note(note: str, where: str) -> Note:
    sep = note.rfind("\n\n")
    if sep < 0 or not note.endswith("\n"):
        raise Problem(f"{where}: not a signed note")
    text, signatures = note[: sep + 1], note[sep + 2:-1].split("\n")
    lines = text[:-1].split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
        if len(root) != 32 or str(size) != lines[1]:
            raise ValueError("bad size or root")
    except (IndexError, ValueError, binascii.Error) as e:
        raise Problem(f"{where}: not a checkpoint (origin, size, root)") from e
    return (origin, size, root, text, signatures)


def check_tsa(verifier: Verifier, ca_file: str) -> str:
    """The checkpoint's RFC 3161 token verifies against the TSA certificate you gave."""
    if "custody/checkpoint.tsr" not in verifier.present:
        raise Problem("custody/checkpoint.tsr: missing: this bundle's checkpoint has no "
                      "RFC 3161 timestamp")
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Problem("--tsa-cert: the `openssl` command is needed to check the timestamp")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "checkpoint.txt")
        token = os.path.join(tmp, "checkpoint.tsr")
        with open(data, "wb") as f:
            f.write(read_bytes(verifier.bag, "custody/checkpoint.txt"))
        with open(token, "wb") as f:
            f.write(read_bytes(verifier.bag, "custody/checkpoint.tsr"))
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [openssl, "ts", "-verify", "-data", data, "-in", token, "-token_in",
             "-CAfile", ca_file], capture_output=True, text=True)
    if result.returncode != 0 or "Verification: OK" not in result.stdout:
        raise Problem("custody/checkpoint.tsr: the timestamp token does not verify against "
                      f"{ca_file} over custody/checkpoint.txt")
    return f"custody/checkpoint.tsr verifies against {ca_file}"


def check_receipt(verifier: Verifier, path: str, consistency: str | None) -> str:
    """A witness receipt: its events and proofs hold, its checkpoint is signed by the
    receipt's verifier key (or --key), and it is consistent with the bundle's checkpoint."""
    try:
        with open(path, encoding="utf-8") as f:
            receipt = json.load(f)
        if receipt.get("format") != RECEIPT_FORMAT:
            raise ValueError(f"format is not {RECEIPT_FORMAT}")
        cp = receipt["checkpoint"]
        events = receipt["events"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise Problem(f"{path}: not a witness receipt ({e})") from e
    note = parse_note(cp["note"], f"{path} checkpoint")
    origin, size, root = note[0], note[1], note[2]
    if verifier.key:
        name, public = load_user_key(verifier.key, origin)
        which = "the key you gave (--key)"
    else:
        name, public = parse_verifier_key(cp.get("verifier_key") or "")
        which = "the receipt's verifier key"
    verify_signature(note, name, public, which)
    bundle_name = verifier.checkpoint[0]
    for event in events:
        try:
            ok = event_hash_ok(event)
            hashes = [bytes.fromhex(h) for h in event["inclusion_proof"]]
        except (ValueError, KeyError, TypeError) as e:
            raise Problem(f"{path}: event {event.get('seq')!r} is malformed ({e})") from e
        if not ok:
            raise Problem(f"{path}: event seq {event['seq']}: its hash does not recompute")
        leaf = hashlib.sha256(b"\x00" + bytes.fromhex(event["hash"])).digest()
        if root_from_proof(leaf, event["seq"], size, hashes) != root:
            raise Problem(f"{path}: event seq {event['seq']}: the inclusion proof does not "
                          "lead to the receipt's checkpoint")
    _b_origin, b_size, b_root, _text, _sigs = verifier.checkpoint
    if origin != bundle_name:
        raise Problem(f"{path}: the receipt's log is {origin}, the bundle's {bundle_name}")
    try:
        verify_signature(verifier.checkpoint, name, public, which)
    except Problem as e:
        raise Problem(f"{path}: the bundle's checkpoint is not signed by {which}: the "
                      "bundle and the receipt come from different keys") from e
    if size == b_size:
        if root != b_root:
            raise Problem(f"{path}: the receipt and the bundle have different roots for tree "
                          f"size {size}: the log forked (history was rewritten)")
        return f"the receipt's checkpoint (size {size}) is the bundle's"
    if consistency is None:
        first, second = sorted((size, b_size))
        raise Problem(f"{path}: tree sizes {size} (receipt) and {b_size} (bundle) differ: get "
                      f"GET /custody/proof/consistency?first={first}&second={second} from "
                      "the server or a mirror and pass it with --consistency")
    try:
        with open(consistency, encoding="utf-8") as f:
            doc = json.load(f)
        proof = [bytes.fromhex(h) for h in doc["proof"]]
        first, second = doc["first"], doc["second"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise Problem(f"{consistency}: not a consistency proof ({e})") from e
    small, large = sorted(((size, root), (b_size, b_root)))
    if (first, second) != (small[0], large[0]):
        raise Problem(f"{consistency}: a proof from {first} to {second}, not from "
                      f"{small[0]} to {large[0]}")
    if not consistent(small[0], large[0], small[1], large[1], proof):
        raise Problem(f"{path}: the receipt's checkpoint (size {size}) is NOT consistent with "
                      f"the bundle's (size {b_size}): the log forked (history was rewritten)")
    return f"the receipt's checkpoint (size {size}) is consistent with the bundle's ({b_size})"


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
    parser.add_argument("--key", help="the server's key, from a source you trust: its "
                        "verifier key <name>+<key id>+<base64 key>, or a PEM file")
    parser.add_argument("--tsa-cert", help="the timestamp authority's CA certificate (PEM): "
                        "check the checkpoint's RFC 3161 timestamp")
    parser.add_argument("--receipt", help="a witness receipt (JSON) to check against the bundle")
    parser.add_argument("--consistency", help="a consistency proof (JSON, from GET "
                        "/custody/proof/consistency) between the receipt and the bundle")
    args = parser.parse_args(argv)
    try:
        verifier = Verifier(open_bag(args.bag), args.key)
        for named in (args.tsa_cert, args.receipt, args.consistency):
            if named is not None and not os.path.isfile(named):
                raise Unreadable(f"{named}: no such file")
    except Unreadable as e:
        print(f"ERROR {e}")
        return EXIT_UNREADABLE
    print(f"Checking {args.bag}")
    checks: list[tuple[str, Any]] = [(t, getattr(verifier, m)) for t, m in CHECKS]
    if args.tsa_cert:
        checks.append(("checkpoint timestamp (RFC 3161)",
                       lambda: check_tsa(verifier, args.tsa_cert)))
    if args.receipt:
        checks.append(("witness receipt", lambda: check_receipt(verifier, args.receipt,
                                                                args.consistency)))
    for title, check in checks:
        if check == verifier.check_key and not args.key:
            print(f"SKIP  {title}: no --key given. The bundled key only shows the bundle is "
                  "consistent with itself; compare the server's published key (--key).")
            continue
        try:
            detail = check()
        except Problem as e:
            print(f"FAIL  {title}: {e}")
            print(f"RESULT: FAILED. First problem: {e}")
            return EXIT_FAILED
        print(f"OK    {title}: {detail}")
    if not args.key:
        print("RESULT: SIGNER NOT CHECKED. Every other check passed, but without --key a "
              "bundle re-signed by someone else looks the same (exit status 3).")
        return EXIT_SIGNER_UNCHECKED
    print("RESULT: all checks passed, signed by the key you gave")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
