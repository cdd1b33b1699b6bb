"""Benchmark the evidence store against cp and openssl on the same disk, in the same run.

    .venv/bin/python bench/bench_blobstore.py --size 1G

Prints throughput of BlobStore.put / open+read / verify to the local backend, the same file
copied with ``cp`` and hashed with ``openssl dgst -sha256``, the ratios against the targets,
peak RSS growth of put and open+read (measured in fresh child processes), and a chunk-size
table. Files go under --dir (default /tmp/bench-blobstore), removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import MiB, bench_keys, parse_size, vm_kib, write_random  # noqa: E402
from storage.backends.local import LocalBackend  # noqa: E402
from storage.blob_writer import StoredBlob  # noqa: E402
from storage.blobstore import DEFAULT_CHUNK_SIZE, BlobStore  # noqa: E402
from storage.crypto import hashing  # noqa: E402
from storage.crypto.capability import new_capability  # noqa: E402

CHUNK_TABLE = [64 * 1024, 256 * 1024, 1 * MiB, 4 * MiB]


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Best of ``repeat`` wall-clock runs, in seconds, each after a sync.

    Without the sync, writeback of the previous run's dirty pages competes with this one.
    """
    best = float("inf")
    for _ in range(repeat):
        os.sync()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def store_for(work: Path, chunk_size: int, *, fsync: bool) -> BlobStore:
    ring = bench_keys(work / "keys")
    return BlobStore(LocalBackend(work / "blobs", fsync=fsync), ring, chunk_size=chunk_size)


def put(store: BlobStore, src: Path) -> StoredBlob:
    with open(src, "rb", buffering=0) as f:
        return store.put(f)


def append(store: BlobStore, src: Path) -> StoredBlob:
    """The tus path's storage work: an appendable blob written from the file, checkpointed
    every 8 MiB (records flushed, hash states exported and sealed; the database UPDATE the
    service adds is not here), then finished."""
    size = src.stat().st_size
    writer, key_id, sealed_key, _first = store.create_appendable(
        length=size, capability=new_capability())
    with open(src, "rb", buffering=0) as f:
        writer.write_from(f, lambda _checkpoint: None)
    return writer.finish(key_id=key_id, sealed_key=sealed_key)


def read_all(store: BlobStore, blob: StoredBlob) -> int:
    buf = bytearray(store.chunk_size)
    total = 0
    with store.open(blob) as r:
        while n := r.readinto(buf):
            total += n
    return total


def rss_child(work: Path, src: Path, op: str) -> None:
    """Child-process mode: print peak RSS growth (KiB) of one put or open+read."""
    store = store_for(work, DEFAULT_CHUNK_SIZE, fsync=False)
    blob = put(store, src) if op == "read" else None
    with open(src, "rb") as f:  # warm the page cache and the code paths alike
        f.read(1)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    idle = vm_kib("VmRSS")
    if op == "put":
        put(store, src)
    else:
        assert blob is not None
        read_all(store, blob)
    print(vm_kib("VmHWM") - idle)


def rss_growth(work: Path, src: Path, op: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", op, "--dir", str(work), "--src", str(src)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="file size, e.g. 100M or 1G")
    parser.add_argument("--dir", default="/tmp/bench-blobstore", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--no-table", action="store_true", help="skip the chunk-size table")
    parser.add_argument("--rss-child", choices=["put", "read"], help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work: Path = args.dir
    if args.rss_child:
        rss_child(work, args.src, args.rss_child)
        return

    size = parse_size(args.size)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        run(work, size, args.repeat, table=not args.no_table)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, size: int, repeat: int, *, table: bool) -> None:
    src = work / "source.bin"
    write_random(src, size)
    bench_keys(work / "keys")
    mib = size / MiB
    print(
        f"file: {mib:.0f} MiB random bytes under {work}; best of {repeat}; "
        f"{os.cpu_count()} CPUs; chunk {DEFAULT_CHUNK_SIZE // 1024} KiB"
    )

    def rate(seconds: float) -> float:
        return mib / seconds

    subprocess.run(["cat", str(src)], stdout=subprocess.DEVNULL, check=True)  # warm cache
    dst = work / "copy.bin"
    t_cp = timed(
        lambda: (subprocess.run(["cp", str(src), str(dst)], check=True), dst.unlink()), repeat
    )
    t_ssl = timed(
        lambda: subprocess.run(
            ["openssl", "dgst", "-sha256", str(src)], check=True, stdout=subprocess.DEVNULL
        ),
        repeat,
    )

    store = store_for(work, DEFAULT_CHUNK_SIZE, fsync=False)
    blobs: list[StoredBlob] = []

    def put_once() -> None:
        blobs.append(put(store, src))
        if len(blobs) > 1:
            store.delete(blobs.pop(0).blob_id)

    t_put = timed(put_once, repeat)
    synced = store_for(work, DEFAULT_CHUNK_SIZE, fsync=True)
    t_put_sync = timed(lambda: synced.delete(put(synced, src).blob_id), 1)
    t_append = timed(lambda: store.delete(append(store, src).blob_id), repeat)
    t_append_sync = timed(lambda: synced.delete(append(synced, src).blob_id), 1)
    blob = blobs[-1]
    t_read = timed(lambda: read_all(store, blob), repeat)
    t_verify = timed(lambda: store.verify(blob), repeat)

    hashing.INLINE_LIMIT = 1 << 62  # hash on the calling thread: the serial baseline
    t_put_serial = timed(lambda: store.delete(put(store, src).blob_id), repeat)
    hashing.INLINE_LIMIT = 64 * 1024

    print(f"{'operation':44} {'MiB/s':>8} {'ratio':>7}  target")
    print(f"{'cp (same disk)':44} {rate(t_cp):8.0f}")
    print(f"{'openssl dgst -sha256':44} {rate(t_ssl):8.0f}")
    print(f"{'put (hash threads), vs cp':44} {rate(t_put):8.0f} {t_cp / t_put:7.2f}  >= 0.6")
    print(f"{'put (hash threads), vs openssl':44} {rate(t_put):8.0f} {t_ssl / t_put:7.2f}  >= 0.3")
    print(
        f"{'put (hashing inline, serial), vs cp':44} {rate(t_put_serial):8.0f} "
        f"{t_cp / t_put_serial:7.2f}"
    )
    print(f"{'put with fsync (1 run), vs cp':44} {rate(t_put_sync):8.0f} {t_cp / t_put_sync:7.2f}")
    print(f"{'append (tus, 8 MiB checkpoints), vs openssl':44} {rate(t_append):8.0f} "
          f"{t_ssl / t_append:7.2f}  >= 0.33")
    print(f"{'append, vs cp':44} {rate(t_append):8.0f} {t_cp / t_append:7.2f}")
    print(f"{'append with fsync (1 run), vs cp':44} {rate(t_append_sync):8.0f} "
          f"{t_cp / t_append_sync:7.2f}")
    print(f"{'open + full read, vs openssl':44} {rate(t_read):8.0f} {t_ssl / t_read:7.2f}  >= 0.5")
    print(
        f"{'verify (decrypt, 2x sha256), vs openssl':44} {rate(t_verify):8.0f} "
        f"{t_ssl / t_verify:7.2f}"
    )
    print(
        f"peak RSS growth: put {rss_growth(work, src, 'put'):.1f} MiB, "
        f"open+read {rss_growth(work, src, 'read'):.1f} MiB (target < 16)"
    )

    if table:
        print(f"\nchunk size table ({mib:.0f} MiB, best of {repeat}, no fsync)")
        print(f"{'chunk':>8} {'put MiB/s':>10} {'read MiB/s':>11} {'overhead':>9}")
        for cs in CHUNK_TABLE:
            s = store_for(work, cs, fsync=False)
            kept: list[StoredBlob] = []

            def put_keep_one(s: BlobStore = s, kept: list[StoredBlob] = kept) -> None:
                kept.append(put(s, src))
                if len(kept) > 1:
                    s.delete(kept.pop(0).blob_id)

            tp = timed(put_keep_one, repeat)
            tr = timed(lambda s=s, b=kept[-1]: read_all(s, b), repeat)
            s.delete(kept[-1].blob_id)
            overhead = 100 * 16 / cs
            print(f"{cs // 1024:>6}Ki {rate(tp):10.0f} {rate(tr):11.0f} {overhead:8.3f}%")


if __name__ == "__main__":
    main()
