"""Reading through the key agent against reading with the private key in-process.

    .venv/bin/python bench/bench_vault_agent.py --size 1G --keys 2000

In one run, on the same key directory and blobs:

1. the cost of opening one data key: --keys HPKE opens in this process (the ring in memory,
   as every web worker held it before the sealed vault), then the same opens through a real
   agent process over its UNIX socket (`python -m storage.agent`);
2. streaming one --size original (decrypt and read every byte) with each provider;
3. exporting a bundle of --files originals (decrypt, SHA-256/SHA-512, ZIP to /dev/null) with
   each provider;
4. taking a --intake-size file in while the vault is sealed, against the in-process ring.

Prints each figure and the ratio agent / in-process (target for 2 and 3: within 5%).
Files go under --dir (default /tmp/bench-vault-agent) and are removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MiB, bench_keys, parse_size, write_random  # noqa: E402
from incidents.services.bundles.builder import (  # noqa: E402
    BundleCustody,
    BundleItem,
    build_bundle,
)
from storage.agent.client import AgentProvider, SocketTransport  # noqa: E402
from storage.backends.local import LocalBackend  # noqa: E402
from storage.blobstore import BlobStore, StoredBlob  # noqa: E402
from storage.crypto.keys import KeyProvider  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def start_agent(keys: Path, sock: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "storage.agent", "--key-dir", str(keys),
                                "--socket", str(sock)], cwd=ROOT, stderr=subprocess.DEVNULL)
    while not sock.exists():
        if process.poll() is not None:
            raise SystemExit("the agent did not start")
        time.sleep(0.05)
    return process


def open_keys(provider: KeyProvider, blobs: list[StoredBlob], count: int) -> float:
    """Seconds per opened data key, over `count` opens cycling through `blobs`."""
    start = time.perf_counter()
    for n in range(count):
        blob = blobs[n % len(blobs)]
        provider.unseal_data_key(blob.key_id, blob.sealed_key, blob.blob_id)
    return (time.perf_counter() - start) / count


def stream(store: BlobStore, blob: StoredBlob) -> float:
    """Seconds to open and read every plaintext byte of one blob."""
    buf = bytearray(4 * MiB)
    start = time.perf_counter()
    with store.open(blob) as reader:
        while reader.readinto(buf):
            pass
    return time.perf_counter() - start


def intake(store: BlobStore, source: Path) -> float:
    """Seconds to take one file in (encrypt, hash, seal its data key), as a submission does."""
    start = time.perf_counter()
    with source.open("rb", buffering=0) as f:
        blob = store.put(f)
    seconds = time.perf_counter() - start
    store.delete(blob.blob_id)
    return seconds


def export(store: BlobStore, blobs: list[StoredBlob]) -> float:
    items, events = [], []
    for n, blob in enumerate(blobs):

        def opener(blob: StoredBlob = blob) -> BinaryIO:
            return store.open(blob)  # type: ignore[return-value]

        item = BundleItem(item_id=f"item{n}", filename=f"ev-{n}.mp4", size=blob.size,
                          sha256=blob.sha256, salt=f"{n % 256:02x}" * 32,
                          metadata={"bench": True}, open=opener)
        items.append(item)
        events.append({"seq": n, "time": "t", "actor": None, "action": "stored",
                       "subject": f"blob:{blob.blob_id}", "commitment": item.commitment,
                       "details": "{}", "prev_hash": "00" * 32, "hash": "00" * 32})
    custody = BundleCustody(events=events, proofs={n: [] for n in range(len(events))},
                            checkpoint_note="bench\n1\nAAAA\n\n\u2014 bench AAAA\n",
                            public_key_pem=b"", verifier_key="bench+00000000+AA==",
                            origin="bench")
    start = time.perf_counter()
    with open(os.devnull, "wb") as out:
        build_bundle(out, items=items, custody=custody, bundle_id="bench",
                     created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return time.perf_counter() - start


def best_pair(runs: int, local: Callable[[], float],
              agent: Callable[[], float]) -> tuple[float, float]:
    """Best of `runs` for each, interleaved so that load from other processes hits both."""
    a, b = [], []
    for n in range(runs):  # ABBA order: neither side always runs first
        if n % 2:
            b.append(agent())
            a.append(local())
        else:
            a.append(local())
            b.append(agent())
    return min(a), min(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="the streamed original (default 1G)")
    parser.add_argument("--files", type=int, default=8, help="bundle items (default 8)")
    parser.add_argument("--bundle-size", default="256M", help="bundle total (default 256M)")
    parser.add_argument("--keys", type=int, default=2000, help="data keys to open")
    parser.add_argument("--intake-size", default="256M", help="file taken in (default 256M)")
    parser.add_argument("--runs", type=int, default=3, help="best of N for each figure")
    parser.add_argument("--dir", default="/tmp/bench-vault-agent")
    args = parser.parse_args()
    work = Path(args.dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    agent = None
    try:
        ring = bench_keys(work / "keys")
        share = (work / "keys.share").read_text().strip()
        backend = LocalBackend(work / "blobs", fsync=False)
        local = BlobStore(backend, ring)
        size, bundle_size = parse_size(args.size), parse_size(args.bundle_size)
        write_random(work / "original", size)
        with (work / "original").open("rb", buffering=0) as f:
            original = local.put(f)
        (work / "original").unlink()
        parts = []
        for _ in range(args.files):
            write_random(work / "part", bundle_size // args.files)
            with (work / "part").open("rb", buffering=0) as f:
                parts.append(local.put(f))
        (work / "part").unlink()
        agent = start_agent(work / "keys", work / "agent.sock")
        provider = AgentProvider(work / "keys", SocketTransport(work / "agent.sock"))
        remote = BlobStore(backend, provider)
        # Intake while the vault is sealed (the agent holds nothing yet) against the old
        # in-process ring: sealing needs only the public key, so these should be equal.
        write_random(work / "intake", parse_size(args.intake_size))
        i_local, i_sealed = best_pair(args.runs, lambda: intake(local, work / "intake"),
                                      lambda: intake(remote, work / "intake"))
        (work / "intake").unlink()
        mb = parse_size(args.intake_size) / MiB
        print(f"intake {mb:.0f} MiB while sealed: in-process ring {mb / i_local:7.1f} MiB/s, "
              f"sealed agent {mb / i_sealed:7.1f} MiB/s (time ratio {i_sealed / i_local:.3f})")
        provider.add_share(share)

        key_local = open_keys(ring, parts, args.keys)
        key_agent = open_keys(provider, parts, args.keys)
        print(f"open one data key: in-process {key_local * 1e6:8.1f} µs, "
              f"agent {key_agent * 1e6:8.1f} µs (+{(key_agent - key_local) * 1e6:.1f} µs, "
              f"{key_agent / key_local:.2f}x)")
        s_local, s_agent = best_pair(args.runs, lambda: stream(local, original),
                                     lambda: stream(remote, original))
        mb = size / MiB
        print(f"stream {mb:.0f} MiB original: in-process {mb / s_local:7.1f} MiB/s, "
              f"agent {mb / s_agent:7.1f} MiB/s (agent/in-process time {s_agent / s_local:.3f}; "
              "target <= 1.05)")
        e_local, e_agent = best_pair(args.runs, lambda: export(local, parts),
                                     lambda: export(remote, parts))
        mb = bundle_size / MiB
        print(f"export {args.files}-item bundle ({mb:.0f} MiB): in-process "
              f"{mb / e_local:7.1f} MiB/s, agent {mb / e_agent:7.1f} MiB/s "
              f"(agent/in-process time {e_agent / e_local:.3f}; target <= 1.05)")
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
