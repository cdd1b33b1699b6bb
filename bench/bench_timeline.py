"""Benchmark the researchers' timeline and CSV export with 100,000 published incidents.

    .venv/bin/python bench/bench_timeline.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/bench_timeline

Makes the database afresh (drop, create, migrate), bulk-inserts --count published incidents
with SQLAlchemy Core (spread over 2-20 January 2022, real towns, every category, tags, some
with a public excerpt), starts gunicorn on 127.0.0.1, then:

1. timeline: --clients threads, each signed in as a researcher with its own `requests`
   session, fetch timeline pages (no filter, page 2, a category, a region, a date range, a
   search) --requests times each; prints p50/p95/p99 latency (the target: p95 < 150 ms);
2. export: streams GET /api/v1/timeline.csv of every incident to /dev/null while sampling
   the RSS of the gunicorn workers every 20 ms, and times `psql \\copy` of the same query (the
   same columns, rows and order) in the same run (the target: at most 3x psql).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidents.models import Incident, IncidentSubmission, IncidentTerm, Submission  # noqa: E402
from incidents.services.gazetteer import load_gazetteer  # noqa: E402
from incidents.services.instance import migrate  # noqa: E402
from incidents.services.research import queries as research  # noqa: E402
from incidents.services.research.filters import Filters  # noqa: E402
from incidents.services.research.public import LocationPrecision, Verification  # noqa: E402
from incidents.services.taxonomy import load_taxonomy  # noqa: E402
from storage.crypto.key_directory import init_key_directory  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2022, 1, 1, 18, 0, tzinfo=UTC)  # 2 January 2022, 00:00 in Almaty
PASSPHRASE = "benchmark researcher passphrase 2022"
PAGES = ("/research/", "/research/?page=2", "/research/?category=excessive_force",
         "/research/?region=mangystau", "/research/?from=2022-01-04&to=2022-01-08",
         "/research/?tag=live_ammunition&sort=-start", "/research/?q=Zhanaozen")


def fresh_database(url: str) -> None:
    target = sa.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    migrate(url)


def bulk_insert(url: str, count: int, owner_id: int) -> float:
    """`count` published incidents, their terms and (for one in five) a consenting witness."""
    gazetteer, taxonomy = load_gazetteer(), load_taxonomy()
    towns = [p for p in gazetteer.places if p.kind != "region"]
    categories = list(taxonomy.categories)
    precisions = [LocationPrecision.TOWN, LocationPrecision.TOWN, LocationPrecision.EXACT,
                  LocationPrecision.REGION, LocationPrecision.NONE]
    rng = random.Random(6)  # noqa: S311 - synthetic benchmark data
    engine = sa.create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        submission_id = connection.execute(sa.insert(Submission.__table__).values(
            public_id=secrets.token_hex(16), owner_id=owner_id, status="accepted",
            time_precision="approximate", date_only=False, place_withheld=False,
            categories=[], tags=[], consent_legal=True, consent_research=True,
            consent_publication=True, consent_contact=False, has_point=False,
            created_at=datetime.now(UTC)).returning(Submission.__table__.c.id)).scalar_one()
        batch = 5000
        for first in range(1, count + 1, batch):
            rows, terms, links = [], [], []
            for n in range(first, min(first + batch, count + 1)):
                town = towns[n % len(towns)]
                category = categories[n % len(categories)]
                start = START + timedelta(seconds=rng.randrange(19 * 86400))
                rows.append({
                    "id": n, "public_id": f"INC-B{n:09d}",
                    "title": f"Synthetic incident {n} in {town.names['en']} (benchmark)",
                    "description": "benchmark", "summary": (
                        "A reviewer's excerpt, \"quoted\", with a comma." if n % 5 == 0
                        else None),
                    "start_utc": start,
                    "end_utc": start + timedelta(hours=2) if n % 3 == 0 else None,
                    "time_precision": ("exact", "approximate", "unknown")[n % 3],
                    "place_id": town.id, "region_id": town.region,
                    "location_precision": precisions[n % len(precisions)].value,
                    "injured": n % 9, "detained": n % 23, "killed": None if n % 4 else n % 3,
                    "verification": list(Verification)[n % 3].value,
                    "has_photo": n % 2 == 0, "has_video": n % 3 == 0, "published": True,
                    "published_at": START + timedelta(days=60, seconds=n),
                    "created_by_id": owner_id, "created_at": START, "updated_at": START,
                })
                terms.append({"incident_id": n, "kind": "category", "term": category.id})
                if n % 7 == 0:
                    other = categories[(n + 1) % len(categories)]
                    terms.append({"incident_id": n, "kind": "category", "term": other.id})
                for tag in category.tags[: n % 3]:
                    terms.append({"incident_id": n, "kind": "tag", "term": tag.id})
                if n % 5 == 0:
                    links.append({"incident_id": n, "submission_id": submission_id})
            connection.execute(sa.insert(Incident.__table__), rows)
            connection.execute(sa.insert(IncidentTerm.__table__), terms)
            if links:
                connection.execute(sa.insert(IncidentSubmission.__table__), links)
        connection.execute(sa.text("SELECT setval('incidents_id_seq', :n)"), {"n": count})
        connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def make_instance(url: str) -> tuple[Path, dict[str, str]]:
    instance = Path(tempfile.mkdtemp(prefix="bench-timeline-"))
    init_key_directory(instance / "keys")
    (instance / "secret_key").write_text(secrets.token_hex(32))
    env = dict(os.environ, INCIDENTS_INSTANCE=str(instance), DATABASE_URL=url,
               INCIDENTS_SECURE_COOKIES="false",
               INCIDENTS_DEFAULT_RATE_LIMIT="1000000 per minute",
               INCIDENTS_LOGIN_RATE_LIMIT="1000 per minute")
    return instance, env


def researcher(env: dict[str, str]) -> int:
    """Create the researcher the clients sign in as; returns the user id."""
    script = (
        "from datetime import timedelta\n"
        "from incidents.app import create_app\nfrom incidents.web.db import get_db\n"
        "from incidents.models import Role\n"
        "from incidents.services import accounts, invitations\n"
        "from incidents.web.context import account_policy\n"
        "app = create_app()\n"
        "with app.test_request_context(), get_db().new_session() as s:\n"
        "    _i, token = invitations.create(s, role=Role.RESEARCHER,"
        " expires_in=timedelta(hours=1))\n"
        f"    u = accounts.register(s, account_policy(), invitation_token=token,"
        f" pseudonym='bench-researcher', passphrase={PASSPHRASE!r})\n"
        "    s.commit()\n    print(u.id)\n")
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def start_server(env: dict[str, str], port: int, workers: int, threads: int
                 ) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--threads", str(threads), "--timeout", "300",
         "--access-logfile", "/dev/null", "wsgi:app"], env=env, cwd=ROOT)
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=10)
            return server
        except requests.RequestException:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def signed_in(base: str) -> requests.Session:
    client = requests.Session()
    page = client.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = client.post(f"{base}/login", data={
        "csrf_token": token.group(1), "pseudonym": "bench-researcher",
        "passphrase": PASSPHRASE}, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.status_code
    return client


def timeline_latencies(base: str, clients: int, per_client: int) -> list[float]:
    sessions = [signed_in(base) for _ in range(clients)]
    for client in sessions:  # warm every worker's caches and connections
        for path in PAGES:
            client.get(base + path, timeout=30).raise_for_status()
    latencies: list[float] = []
    lock = threading.Lock()

    def run(client: requests.Session, offset: int) -> None:
        mine = []
        for i in range(per_client):
            path = PAGES[(i + offset) % len(PAGES)]
            started = time.perf_counter()
            response = client.get(base + path, timeout=30)
            mine.append(time.perf_counter() - started)
            response.raise_for_status()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def export_run(base: str, server_pid: int) -> tuple[float, int, list[int]]:
    client = signed_in(base)
    token = client  # the session cookie also works under /api/
    pids = children(server_pid)
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_kib(pids))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    size = 0
    with token.get(f"{base}/api/v1/timeline.csv", stream=True, timeout=300) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return elapsed, size, samples


def psql_copy(url: str) -> tuple[float, int]:
    """`psql \\copy` of the export's own query: the same columns, rows and order."""
    engine = sa.create_engine(url)
    query = research.rows_query(Filters(), load_gazetteer(), "postgresql")
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    engine.dispose()
    target = sa.make_url(url)
    out = Path(tempfile.mkdtemp()) / "copy.csv"
    command = ["psql", "-X", "-q", "-h", target.host or "127.0.0.1", "-U",
               target.username or "postgres", "-d", target.database or "",
               "-c", f"\\copy ({' '.join(sql.split())}) to '{out}' with csv header"]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - started
    size = out.stat().st_size
    shutil.rmtree(out.parent)
    return elapsed, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True,
                        help="a PostgreSQL database to DROP and make afresh")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=60, help="per client")
    parser.add_argument("--port", type=int, default=5061)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--exports", type=int, default=3, help="export runs (best is kept)")
    args = parser.parse_args()

    fresh_database(args.database_url)
    instance, env = make_instance(args.database_url)
    owner = researcher(env)
    seconds = bulk_insert(args.database_url, args.count, owner)
    print(f"inserted {args.count} published incidents in {seconds:.1f} s")
    server = start_server(env, args.port, args.workers, args.threads)
    base = f"http://127.0.0.1:{args.port}"
    try:
        latencies = sorted(timeline_latencies(base, args.clients, args.requests))
        q = statistics.quantiles(latencies, n=100)
        print(f"timeline: {len(latencies)} requests by {args.clients} clients "
              f"(gunicorn {args.workers} workers x {args.threads} threads): "
              f"p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, "
              f"p99 {q[98] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
        runs = []
        for _ in range(args.exports):
            copy_s, copy_size = psql_copy(args.database_url)
            export_s, export_size, samples = export_run(base, server.pid)
            runs.append((export_s / copy_s, export_s, copy_s, export_size, copy_size, samples))
        ratio, export_s, copy_s, export_size, copy_size, samples = min(runs)
        print(f"export CSV: {export_s:.2f} s, {export_size / 2**20:.1f} MiB; "
              f"psql \\copy: {copy_s:.2f} s, {copy_size / 2**20:.1f} MiB; "
              f"ratio {ratio:.2f} (best of {args.exports})")
        if samples:
            print(f"server RSS during export ({len(samples)} samples, all workers): "
                  f"start {samples[0] / 1024:.1f} MiB, min {min(samples) / 1024:.1f} MiB, "
                  f"max {max(samples) / 1024:.1f} MiB, growth "
                  f"{(max(samples) - samples[0]) / 1024:.1f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
