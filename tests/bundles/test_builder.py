"""The builder: deterministic, streaming in constant memory, refusing what does not match."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from incidents.core.settings import Settings
from incidents.services import custody
from incidents.services.bundles import builder
from incidents.services.bundles.builder import (
    BundleCustody,
    BundleError,
    BundleItem,
    build_bundle,
    payload_manifest,
    stream_bundle,
)
from incidents.services.bundles.sources import custody_for
from incidents.services.evidence import blobs
from storage.agent.client import AgentProvider
from tests.bundles.conftest import CREATED, Exported, subjects_for

MiB = 1024 * 1024


def test_the_formats_repeated_in_the_builder_match_the_ledger() -> None:
    assert builder.EVENT_FORMAT == custody.EVENT_FORMAT
    assert builder.COMMITMENT_TAG == custody.COMMITMENT_TAG


def test_the_same_content_exported_twice_gives_the_same_payload_manifest(
        export: Callable[[str], Exported]) -> None:
    first = export("bundle-a")
    second = export("bundle-b")  # after "downloaded" events and a newer checkpoint
    assert first.manifest.manifest_sha256 == second.manifest.manifest_sha256
    assert (first.bag / "manifest-sha256.txt").read_bytes() == \
        (second.bag / "manifest-sha256.txt").read_bytes()
    assert (first.bag / "custody/checkpoint.txt").read_bytes() != \
        (second.bag / "custody/checkpoint.txt").read_bytes()


def test_the_payload_manifest_is_known_before_any_original_is_read(
        bundle: Exported, make_items: Callable[[], list[BundleItem]]) -> None:
    text = payload_manifest(make_items())
    assert text == (bundle.bag / "manifest-sha256.txt").read_text()
    assert hashlib.sha256(text.encode()).hexdigest() == bundle.manifest.manifest_sha256


def _fixed_custody(session: Session, keys: AgentProvider, settings: Settings,
                   evidence: dict[str, blobs.Ingested]) -> BundleCustody:
    return custody_for(session, keys, settings, subjects_for(evidence), bundle_id="same",
                       payload_manifest_sha256="0" * 64)


def test_the_same_inputs_give_byte_identical_zips(
        session: Session, keys: AgentProvider, settings: Settings,
        evidence: dict[str, blobs.Ingested], make_items: Callable[[], list[BundleItem]]
) -> None:
    fixed = _fixed_custody(session, keys, settings, evidence)
    outputs = []
    for _ in range(2):
        out = io.BytesIO()
        build_bundle(out, items=make_items(), custody=fixed, bundle_id="same",
                     created_at=CREATED)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    with zipfile.ZipFile(io.BytesIO(outputs[0])) as zf:
        assert zf.testzip() is None
        assert {i.date_time for i in zf.infolist()} == {(2026, 1, 5, 7, 30, 0)}


def test_an_original_that_does_not_match_its_record_stops_the_bundle(
        session: Session, keys: AgentProvider, settings: Settings,
        evidence: dict[str, blobs.Ingested], make_items: Callable[[], list[BundleItem]]
) -> None:
    items = make_items()
    wrong = BundleItem(item_id=items[0].item_id, filename=items[0].filename,
                       size=items[0].size, sha256=items[0].sha256, salt=items[0].salt,
                       metadata={}, open=lambda: io.BytesIO(b"x" * items[0].size))
    with pytest.raises(BundleError, match="does not match its recorded size and SHA-256"):
        build_bundle(io.BytesIO(), items=[wrong, *items[1:]],
                     custody=_fixed_custody(session, keys, settings, evidence),
                     bundle_id="bad", created_at=CREATED)


def test_an_item_without_a_custody_commitment_is_refused_before_any_byte(
        session: Session, keys: AgentProvider, settings: Settings,
        evidence: dict[str, blobs.Ingested], make_items: Callable[[], list[BundleItem]]
) -> None:
    stray = BundleItem(item_id="ev-stray", filename="ev-stray.bin", size=1,
                       sha256=hashlib.sha256(b"s").hexdigest(), salt="00" * 32, metadata={},
                       open=lambda: io.BytesIO(b"s"))
    out = io.BytesIO()
    with pytest.raises(BundleError, match="no custody event records its commitment"):
        build_bundle(out, items=[*make_items(), stray],
                     custody=_fixed_custody(session, keys, settings, evidence),
                     bundle_id="stray", created_at=CREATED)
    assert out.getvalue() == b""


@pytest.mark.parametrize("name", ["../x", "/abs", "a b", "x\ny", "", "a" * 200, "..hidden"])
def test_unsafe_file_names_are_refused(name: str) -> None:
    item = BundleItem(item_id="ev-1", filename=name, size=0, sha256="0" * 64, salt="0" * 64,
                      metadata={}, open=lambda: io.BytesIO())
    with pytest.raises(BundleError, match="not a safe name"):
        payload_manifest([item])


# --- memory -----------------------------------------------------------------------------


class _Pattern(io.RawIOBase):
    """`size` bytes of a repeating random block, produced on demand (no big buffer)."""

    def __init__(self, size: int, block: bytes) -> None:
        self.left, self.block, self.pos = size, block, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        out = bytearray()
        while len(out) < n:
            start = self.pos % len(self.block)
            take = min(n - len(out), len(self.block) - start)
            out += self.block[start:start + take]
            self.pos += take
        self.left -= n
        return bytes(out)


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class _CountingSink:
    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_a_50_mib_bundle_streams_in_small_constant_memory() -> None:
    block = os.urandom(MiB + 7)
    sizes = [30 * MiB, 20 * MiB - 3, 5]
    items, events = [], []
    for n, size in enumerate(sizes):
        h = hashlib.sha256()
        source = _Pattern(size, block)
        while chunk := source.read(4 * MiB):
            h.update(chunk)
        item = BundleItem(item_id=f"ev-{n}", filename=f"ev-{n}.mp4", size=size,
                          sha256=h.hexdigest(), salt=f"{n:02x}" * 32, metadata={"n": n},
                          open=lambda size=size: _Pattern(size, block))
        items.append(item)
        events.append({"seq": n, "time": "t", "actor": None, "action": "stored",
                       "subject": f"blob:{n}", "commitment": item.commitment, "details": "{}",
                       "prev_hash": "00" * 32, "hash": "00" * 32})
    fake = BundleCustody(events=events, proofs={n: [] for n in range(3)},
                         checkpoint_note="o\n3\nAAAA\n\n\u2014 o AAAA\n", public_key_pem=b"",
                         verifier_key="o+00000000+AA==", origin="o")
    baseline = _rss()
    peak = [baseline]
    progress: list[int] = []

    def on_progress(done: int) -> None:
        progress.append(done)
        peak[0] = max(peak[0], _rss())

    sink = _CountingSink()
    stream = stream_bundle(items=items, custody=fake, bundle_id="big",
                           created_at=datetime(2026, 1, 1, tzinfo=UTC), progress=on_progress)
    for chunk in stream:
        sink.write(chunk)
    assert stream.manifest is not None
    assert sink.count == stream.manifest.zip_bytes
    assert sink.count > sum(sizes)
    assert progress[-1] == sum(sizes)
    assert peak[0] - baseline < 24 * MiB
