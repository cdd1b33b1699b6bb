"""Benchmark evidence-bundle export against `openssl dgst -sha256` on the same files.

    .venv/bin/python bench/bench_bundle.py --size 2G

Writes --files random plaintext files totalling --size, stores each in a BlobStore on the
local backend (encrypted, as in production), then exports them all as one bundle: every
original is decrypted, hashed (SHA-256 and SHA-512) and written into the ZIP, to a file
under --dir (or, with --sink null, discarded). The export runs in a fresh child process
that also reports its peak RSS growth (VmHWM after minus VmRSS before). Prints the export
throughput, `openssl dgst -sha256` over the same plaintext files in the same run, and the
ratios against the targets (>= 0.33x openssl; < 100 MiB RSS growth). Files go under --dir
(default /tmp/bench-bundle) and are removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MiB, parse_size, vm_kib, write_random  # noqa: E402
from incidents.services.bundles.builder import BundleCustody, BundleItem, build_bundle
from storage.backends.local import LocalBackend  # noqa: E402
from storage.blobstore import BlobRef, BlobStore  # noqa: E402
from storage.crypto.key_directory import init_key_directory, load_key_ring  # noqa: E402


def prepare(work: Path, size: int, files: int) -> list[Path]:
    """Random plaintext files, stored as blobs; writes blobs.json for the child."""
    init_key_directory(work / "keys")
    store = BlobStore(LocalBackend(work / "blobs", fsync=False), load_key_ring(work / "keys"))
    plain = work / "plain"
    plain.mkdir()
    paths, records = [], []
    for n in range(files):
        path = plain / f"ev-{n:04d}.mp4"
        left = size // files + (size % files if n == files - 1 else 0)
        write_random(path, left)
        with path.open("rb", buffering=0) as f:
            stored = store.put(f)
        records.append({"item": path.stem, "file": path.name, "blob": stored.blob_id,
                        "key_id": stored.key_id, "sealed_key": stored.sealed_key.hex(),
                        "size": stored.size, "sha256": stored.sha256})
        paths.append(path)
    (work / "blobs.json").write_text(json.dumps(records))
    return paths


def export_child(work: Path, sink: str) -> None:
    """Child-process mode: export the stored blobs once; print seconds and RSS growth."""
    store = BlobStore(LocalBackend(work / "blobs", fsync=False), load_key_ring(work / "keys"))
    records = json.loads((work / "blobs.json").read_text())
    items, events = [], []
    for n, r in enumerate(records):
        ref = BlobRef(blob_id=r["blob"], key_id=r["key_id"],
                      sealed_key=bytes.fromhex(r["sealed_key"]))

        def opener(ref: BlobRef = ref) -> BinaryIO:
            return store.open(ref)  # type: ignore[return-value]

        item = BundleItem(item_id=r["item"], filename=r["file"], size=r["size"],
                          sha256=r["sha256"], salt=f"{n % 256:02x}" * 32,
                          metadata={"bench": True}, open=opener)
        items.append(item)
        events.append({"seq": n, "time": "t", "actor": None, "action": "stored",
                       "subject": f"blob:{r['blob']}", "commitment": item.commitment,
                       "details": "{}", "prev_hash": "00" * 32, "hash": "00" * 32})
    # The custody part is a few KiB whatever the payload size; its content does not
    # matter for throughput, so it is not signed here (tests/bundles checks real ones).
    custody = BundleCustody(events=events, proofs={n: [] for n in range(len(events))},
                            checkpoint_note="bench\n1\nAAAA\n\n\u2014 bench AAAA\n",
                            public_key_pem=b"", verifier_key="bench+00000000+AA==",
                            origin="bench")
    out_path = work / "bundle.zip"
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    idle = vm_kib("VmRSS")
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    with (open(out_path, "wb") if sink == "file" else open(os.devnull, "wb")) as out:
        manifest = build_bundle(out, items=items, custody=custody, bundle_id="bench",
                                created_at=datetime(2026, 1, 1, tzinfo=UTC))
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_kib": vm_kib("VmHWM") - idle,
                      "zip_bytes": manifest.zip_bytes}))


def run_child(work: Path, sink: str) -> dict[str, float]:
    os.sync()
    out = subprocess.run([sys.executable, __file__, "--child", "--dir", str(work),
                          "--sink", sink], check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.splitlines()[-1])
    (work / "bundle.zip").unlink(missing_ok=True)
    return result


def openssl_seconds(paths: list[Path]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of `openssl dgst -sha256` over the files."""
    os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(["openssl", "dgst", "-sha256", *map(str, paths)], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256M", help="total plaintext, e.g. 256M or 2G")
    parser.add_argument("--files", type=int, default=8, help="number of evidence files")
    parser.add_argument("--dir", default="/tmp/bench-bundle", type=Path)
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs")
    parser.add_argument("--sink", choices=["file", "null"], default="file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work: Path = args.dir
    if args.child:
        export_child(work, args.sink)
        return
    size = parse_size(args.size)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        paths = prepare(work, size, args.files)
        mib = size / MiB
        print(f"{args.files} files, {mib:.0f} MiB plaintext under {work}; {os.cpu_count()} "
              f"CPUs; best of {args.repeat}; bundle written to {args.sink}")
        subprocess.run(["cat", *map(str, paths)], stdout=subprocess.DEVNULL, check=True)
        t_ssl, cpu_ssl = min(openssl_seconds(paths) for _ in range(args.repeat))
        runs = [run_child(work, args.sink) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        rss = max(r["rss_kib"] for r in runs) / 1024
        ssl_rate, export_rate = mib / t_ssl, mib / best["seconds"]
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        print(f"openssl dgst -sha256: {ssl_rate:7.0f} MiB/s ({t_ssl:.2f} s, "
              f"{cpu_ssl:.2f} CPU-s)")
        print(f"bundle export:        {export_rate:7.0f} MiB/s ({best['seconds']:.2f} s, "
              f"{best['cpu']:.2f} CPU-s, ZIP {best['zip_bytes'] / MiB:.0f} MiB)")
        print(f"ratio export/openssl: {export_rate / ssl_rate:.2f}x (target >= 0.33x)")
        print(f"peak RSS growth of the export: {rss:.1f} MiB (target < 100)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
