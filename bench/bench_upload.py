"""Benchmark uploads through the running app under gunicorn, against openssl on the same file.

    .venv/bin/python bench/bench_upload.py --sizes 100M,1G

For each size: a fresh instance under --dir (default /tmp/bench-upload) and a fresh gunicorn
(2 workers x 4 threads on 127.0.0.1), then in the same run:
  - `openssl dgst -sha256` on the file (best of 2),
  - tus uploads (our own streaming client: POST, then PATCHes, each body streamed from the
    file in 1 MiB reads) until the server has the final blob: PATCHes of 8 MiB ("tus8"),
    of 64 MiB ("tus64"), and the whole file in one PATCH as the browser script sends it
    ("tus1"); "tus" uses --chunk MiB,
  - a plain multipart POST /api/v1/submissions with the file streamed from a generator
    (never loaded into memory), until the 201 answer,
and prints throughput and the ratio to openssl (target >= 0.33 for each, issue 14), and
the growth of the gunicorn workers' peak RSS (VmHWM) over their RSS after a warm-up of
24 MiB uploads of each kind, twice per worker (target <= 8 MiB). With --repeat N every
size runs N rounds against the same server (openssl again in each round) and the best
round is printed with the spread. Everything is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import MiB, parse_size, write_random  # noqa: E402

READ = MiB
TARGETS = {"tus": 0.33, "tus8": 0.33, "tus64": 0.33, "tus1": 0.33, "form": 0.33}
PATCH_MIB = {"tus8": 8, "tus64": 64}
RSS_GROWTH_TARGET_MIB = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def instance_env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update({"INCIDENTS_INSTANCE": str(instance), "INCIDENTS_SECURE_COOKIES": "0",
                "INCIDENTS_ARGON2_TIME_COST": "1", "INCIDENTS_ARGON2_MEMORY_KIB": "8",
                "INCIDENTS_ARGON2_PARALLELISM": "1",
                "INCIDENTS_DEFAULT_RATE_LIMIT": "100000 per minute"})
    return env


def setup_instance(instance: Path) -> str:
    """`flask init`, a contributor and its API token (printed on the last line)."""
    env = instance_env(instance)
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
    subprocess.run([*flask, "init"], env=env, cwd=ROOT, check=True, capture_output=True)
    invite = subprocess.run([*flask, "invite", "--role", "contributor"], env=env, cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.split()[-1]
    script = (
        "from incidents.app import create_app\n"
        "from incidents.web.db import get_session\n"
        "from incidents.services import accounts\n"
        "from incidents.web.context import account_policy\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    s = get_session()\n"
        f"    accounts.register(s, account_policy(), invitation_token={invite!r},\n"
        "    pseudonym='bench', passphrase='purple elephant tramway 1986 quartz')\n"
        "    s.commit()\n")
    subprocess.run([str(ROOT / ".venv/bin/python"), "-c", script], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    return subprocess.run([*flask, "token", "create", "bench"], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.split()[-1]


class Gunicorn:
    def __init__(self, instance: Path, workers: int, threads: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(workers), "--threads", str(threads), "--timeout", "600",
             "--access-logfile", "/dev/null", "wsgi:app"],
            env=instance_env(instance), cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.options(self.url + "/api/v1/uploads/", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def peak_rss_mib(self) -> float:
        peaks = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


class Streamed:
    """An iterable body of known length: requests sends Content-Length, not chunked."""

    def __init__(self, pieces: Iterator[bytes], length: int) -> None:
        self.pieces = pieces
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        return self.pieces


def file_pieces(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while left:
            piece = f.read(min(READ, left))
            if not piece:
                raise RuntimeError("file shorter than expected")
            left -= len(piece)
            yield piece


def tus_upload(url: str, token: str, path: Path, chunk: int) -> float:
    size = path.stat().st_size
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    session = requests.Session()
    t = time.perf_counter()
    created = session.post(url + "/api/v1/uploads/", timeout=600,
                           headers={**headers, "Upload-Length": str(size)})
    created.raise_for_status()
    location = url + created.headers["Location"]
    offset = 0
    while offset < size:
        n = min(chunk, size - offset)
        response = session.patch(location, data=Streamed(file_pieces(path, offset, n), n),
                                 timeout=600,
                                 headers={**headers, "Upload-Offset": str(offset),
                                          "Content-Type": "application/offset+octet-stream"})
        if response.status_code != 204:
            raise RuntimeError(f"PATCH answered {response.status_code}: {response.text[:200]}")
        offset = int(response.headers["Upload-Offset"])
    return time.perf_counter() - t


METADATA = {"testimony": "", "occurred_at": "2022-01-05", "time_precision": "approximate",
            "place": "almaty", "categories": ["excessive_force"], "tags": [], "counts": {},
            "consent": {"legal": True, "research": True, "publication": False,
                        "contact": False}}


def form_post(url: str, token: str, path: Path) -> float:
    """multipart/form-data streamed from a generator with a known Content-Length."""
    size = path.stat().st_size
    boundary = "bench" + secrets.token_hex(12)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
            f"Content-Type: application/json\r\n\r\n{json.dumps(METADATA)}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"video.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from file_pieces(path, 0, size)
        yield tail

    t = time.perf_counter()
    response = requests.post(
        url + "/api/v1/submissions", data=Streamed(body(), len(head) + size + len(tail)),
        timeout=600, headers={"Authorization": f"Bearer {token}",
                              "Content-Type": f"multipart/form-data; boundary={boundary}"})
    elapsed = time.perf_counter() - t
    if response.status_code != 201:
        raise RuntimeError(f"form POST answered {response.status_code}: {response.text[:200]}")
    return elapsed


def openssl_seconds(path: Path) -> float:
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        subprocess.run(["openssl", "dgst", "-sha256", str(path)], check=True,
                       capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def run_size(base: Path, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """`args.repeat` rounds against one server; each round measures openssl again, so a
    ratio compares two measurements taken seconds apart on a machine that may be busy."""
    instance = base / f"instance-{size}"
    shutil.rmtree(instance, ignore_errors=True)
    token = setup_instance(instance)
    data = base / f"file-{size}.bin"
    write_random(data, size)
    results: dict[str, Any] = {"size_mib": size / MiB, "openssl_s": []}
    for kind in args.kinds:
        results[f"{kind}_s"], results[f"{kind}_ratio"] = [], []
    server = Gunicorn(instance, args.workers, args.threads)
    try:
        # Warm up every worker on every code path an upload takes (lazy imports, first
        # buffers, the statement caches of a checkpoint every 8 MiB and of a PATCH that
        # resumes), so the growth measured is the 1 GiB upload's own, not first use.
        warm = base / "warm.bin"
        write_random(warm, 24 * MiB)
        for _ in range(2 * args.workers):
            tus_upload(server.url, token, warm, 8 * MiB)
            tus_upload(server.url, token, warm, 24 * MiB)
            form_post(server.url, token, warm)
        warm.unlink()
        results["rss_idle_mib"] = server.peak_rss_mib()
        for _ in range(args.repeat):
            ossl = openssl_seconds(data)
            results["openssl_s"].append(ossl)
            for kind in args.kinds:
                try:
                    os.sync()
                    if kind == "tus":
                        seconds = tus_upload(server.url, token, data, args.chunk * MiB)
                    elif kind == "tus1":  # one PATCH for the whole file, as static/js/upload.js
                        seconds = tus_upload(server.url, token, data, size)
                    elif kind in PATCH_MIB:
                        seconds = tus_upload(server.url, token, data, PATCH_MIB[kind] * MiB)
                    else:
                        seconds = form_post(server.url, token, data)
                except Exception as e:  # report and carry on with the other kind
                    results[f"{kind}_error"] = f"{type(e).__name__}: {e}"[:200]
                    continue
                results[f"{kind}_s"].append(seconds)
                results[f"{kind}_ratio"].append(ossl / seconds)
                print(f"    round {len(results['openssl_s'])} {kind:6} {size / MiB / seconds:7.1f} "
                      f"MiB/s = {ossl / seconds:.2f}x", file=sys.stderr, flush=True)
                results[f"{kind}_rss_mib"] = server.peak_rss_mib()
        results["rss_peak_mib"] = server.peak_rss_mib()
    finally:
        server.stop()
        data.unlink(missing_ok=True)
        shutil.rmtree(instance, ignore_errors=True)
    return results


def report(r: dict[str, Any], kinds: list[str]) -> str:
    """Best round (and the spread over rounds) of each kind, as MiB/s and ratio to openssl."""
    mib = r["size_mib"]
    ossl = [mib / s for s in r["openssl_s"]]
    lines = [f"{mib:>6.0f} MiB  openssl {max(ossl):7.1f} MiB/s (rounds {min(ossl):.0f}-"
             f"{max(ossl):.0f})"]
    for kind in kinds:
        ratios = r[f"{kind}_ratio"]
        if not ratios:
            lines.append(f"{kind} failed: {r.get(f'{kind}_error')}")
            continue
        speeds = [mib / s for s in r[f"{kind}_s"]]
        # Best against best: a round where openssl itself was slowed would flatter a ratio.
        best = max(speeds) / max(ossl)
        ok = "ok" if best >= TARGETS[kind] else "BELOW"
        lines.append(f"{kind:5} {max(speeds):7.1f} MiB/s = {best:.2f}x best/best (per round "
                     f"{min(ratios):.2f}-{max(ratios):.2f}x; target {TARGETS[kind]}x {ok})"
                     + f"; peak RSS so far {r[f'{kind}_rss_mib']:.1f} MiB"
                     + (f"  error in a round: {r[f'{kind}_error']}" if f"{kind}_error" in r
                        else ""))
    rss = r["rss_peak_mib"]
    growth = rss - r["rss_idle_mib"]
    ok = "ok" if growth <= RSS_GROWTH_TARGET_MIB else "ABOVE"
    lines.append(f"worker peak RSS {rss:.1f} MiB (after warm-up {r['rss_idle_mib']:.1f}, growth "
                 f"{growth:.1f}; target <= {RSS_GROWTH_TARGET_MIB} {ok})")
    return lines[0] + "\n    " + "\n    ".join(lines[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100M,1G")
    parser.add_argument("--chunk", type=int, default=64, help="tus PATCH size in MiB")
    parser.add_argument("--kinds", default="tus8,tus64,tus1,form")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds per size (openssl measured again in each round)")
    parser.add_argument("--dir", default="/tmp/bench-upload")
    args = parser.parse_args()
    args.kinds = [k for k in args.kinds.split(",") if k]
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    print(f"gunicorn {args.workers} workers x {args.threads} threads, tus chunk {args.chunk} MiB,"
          f" {os.cpu_count()} CPUs, {args.repeat} round(s), load average "
          f"{os.getloadavg()[0]:.2f}")
    try:
        for size in (parse_size(s) for s in args.sizes.split(",")):
            print(report(run_size(base, size, args), args.kinds), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
