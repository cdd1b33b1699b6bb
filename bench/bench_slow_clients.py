"""Slow clients against the real server: `GET /` latency while N connections drip.

    .venv/bin/python bench/bench_slow_clients.py [--drippers 50] [--seconds 12]

Starts gunicorn twice on a fresh instance: the baseline is the old `make run` command
(`--workers 2 --threads 4`, no gunicorn.conf.py), then the current one (`--config
gunicorn.conf.py`). For each, N connections send request headers one byte every 2 s (half
of them) or announce a 10 MB body and drip it (the other half), and `GET /` is timed every
half second meanwhile. Prints the median and worst latency, and how many `GET /` timed out
(10 s), beside the baseline's.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(env: dict[str, str], port: int, current: bool, cwd: Path) -> subprocess.Popen[bytes]:
    if current:
        args = ["--config", str(ROOT / "gunicorn.conf.py")]
    else:  # the old `make run`, from a folder with no gunicorn.conf.py
        args = ["--workers", "2", "--threads", "4", "--timeout", "300",
                "--access-logfile", "/dev/null"]
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), *args, "--chdir", str(ROOT),
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=5)
            return server
        except requests.RequestException:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def drip(port: int, head: bytes, body: bytes, stop: threading.Event) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(head)
            for byte in body:
                if stop.wait(2.0):
                    return
                sock.sendall(bytes([byte]))
    except OSError:
        return


def measure(port: int, drippers: int, seconds: float) -> tuple[list[float], int]:
    stop = threading.Event()
    header_drip = (b"GET / HTTP/1.1\r\nHost: x\r\n", b"X-Slow: " + b"a" * 100)
    body_drip = (b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 b"application/json\r\nContent-Length: 10000000\r\n\r\n", b'{"p": "' + b"a" * 100)
    threads = [threading.Thread(target=drip, args=(port, *(header_drip if i % 2 else body_drip),
                                                   stop), daemon=True)
               for i in range(drippers)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    latencies, timeouts = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=10).raise_for_status()
            latencies.append(time.perf_counter() - started)
        except requests.RequestException:
            timeouts += 1
        time.sleep(0.5)
    stop.set()
    return latencies, timeouts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drippers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=12.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        env = {**os.environ, "INCIDENTS_INSTANCE": str(instance), "PYTHONPATH": str(ROOT),
               "INCIDENTS_SECURE_COOKIES": "false"}
        subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "init"], env=env,
                       cwd=ROOT, check=True, capture_output=True)
        for label, current in (("baseline (old make run, 2x4 threads)", False),
                               ("gunicorn.conf.py (2x64 threads, deadlines)", True)):
            port = free_port()
            server = start(env, port, current, Path(tmp))
            try:
                latencies, timeouts = measure(port, options.drippers, options.seconds)
            finally:
                server.terminate()
                server.wait(timeout=30)
            median = statistics.median(latencies) if latencies else float("nan")
            worst = max(latencies) if latencies else float("nan")
            print(f"{label:45s} GET / with {options.drippers} drippers: median "
                  f"{median * 1000:7.1f} ms, worst {worst * 1000:7.1f} ms, "
                  f"timed out {timeouts} of {len(latencies) + timeouts}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
