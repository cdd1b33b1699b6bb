"""Benchmark a sanctions dossier against a plain evidence bundle of the same items.

    .venv/bin/python bench/bench_dossier.py --witnesses 40

Makes a fresh instance (SQLite, local blob store, real keys), has --witnesses witnesses each
submit a testimony and a real photo through the API, builds one incident, a person and a
unit, links both with a citation of every item (excerpts included), then, in the same run:
exports the bundle of all cited items (`POST /api/v1/bundles`, the baseline) and the dossier
of the person (`POST /api/v1/dossiers`: gather, sealed reads, the PDF, the same bundle
beside it), each response read to the end. Prints both times, the ratio and the PDF's size
and page count (pdfinfo, when installed). The instance goes under --dir and is removed.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incidents.app import create_app  # noqa: E402
from incidents.core.settings import Settings  # noqa: E402
from incidents.models import Role  # noqa: E402
from incidents.services.instance import migrate  # noqa: E402
from storage.crypto.key_directory import init_key_directory  # noqa: E402
from tests.helpers import CHEAP_ARGON2, BrowserLikeClient, gen_token, gen_user  # noqa: E402

PHOTO = Path("/work/shared/samples/photos/jpg_gps_DSCN0010.jpg")
if not PHOTO.is_file():
    PHOTO = Path(__file__).resolve().parent.parent / "static" / "favicon.png"


def call(client: Any, method: str, path: str, token: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if body is None:
        return client.open(path, method=method, headers=headers)
    return client.open(path, method=method, headers=headers, data=json.dumps(body),
                       content_type="application/json")


def timed_zip(client: Any, path: str, token: str, body: Any) -> tuple[float, bytes]:
    start = time.perf_counter()
    response = call(client, "POST", path, token, body)
    data = b"".join(response.response)  # the streamed body, read to the end
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, data[:300]
    return elapsed, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--witnesses", type=int, default=40)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile the dossier")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-dossier-", dir=args.dir))
    try:
        init_key_directory(root / "keys")
        migrate(f"sqlite:///{root / 'incidents.sqlite3'}")
        (root / "secret_key").write_text("bench-secret-" + "0" * 40)
        settings = Settings.load(instance_path=root, environ={}, testing=True,
                                 secure_cookies=False, **CHEAP_ARGON2)
        app = create_app(settings)
        app.test_client_class = BrowserLikeClient  # a fresh `g` per request, as in production
        with app.app_context():
            app.extensions["media_queue"] = lambda ids: None  # no previews: not measured
            client = app.test_client()
            reviewer = gen_token(gen_user(Role.REVIEWER))
            submissions, items = [], []
            for n in range(args.witnesses):
                witness = gen_token(gen_user(Role.CONTRIBUTOR))
                meta = {"testimony": f"Свидетель {n}: полковник стрелял в толпу у акимата.",
                        "occurred_at": "2022-01-05", "time_precision": "approximate",
                        "place": "almaty", "categories": ["excessive_force"],
                        "consent": {"legal": True, "research": True, "publication": False,
                                    "contact": False}}
                response = client.post("/api/v1/submissions", data={
                    "metadata": json.dumps(meta),
                    "files": [(io.BytesIO(PHOTO.read_bytes()), PHOTO.name, "image/jpeg")]},
                    content_type="multipart/form-data",
                    headers={"Authorization": f"Bearer {witness}"})
                assert response.status_code == 201, response.get_data(as_text=True)
                sid = response.get_json()["id"]
                submissions.append(sid)
                got = call(client, "GET", f"/api/v1/review/submissions/{sid}", reviewer)
                items += [i["id"] for i in got.get_json()["items"]]
            incident = call(client, "POST", "/api/v1/review/incidents", reviewer, {
                "title": "Shooting at the akimat", "start_utc": "2022-01-05T06:00:00Z",
                "place": "almaty", "location_precision": "town",
                "categories": ["excessive_force"], "submissions": submissions}).get_json()["id"]
            unit = call(client, "POST", "/api/v1/actors", reviewer, {
                "kind": "unit", "name_latin": "Rapid response unit",
                "force": "police"}).get_json()["id"]
            person = call(client, "POST", "/api/v1/actors", reviewer, {
                "kind": "person", "name_latin": "Serik Zhaksylykov",
                "name_cyrillic": "Серік Жақсылықов", "posts": [
                    {"kind": "commander", "target": unit, "start": "2021-06-01"}]}).get_json()
            for chunk, (actor, role) in zip(
                    [items[i:i + 50] for i in range(0, len(items), 50)],
                    [(person["id"], "direct_perpetrator"), (unit, "present_unit")] * 50,
                    strict=False):
                answer = call(client, "POST", f"/api/v1/incidents/{incident}/involvements",
                              reviewer, {"actor": actor, "role": role, "citations": [
                                  {"item": i, "excerpt": "полковник стрелял в толпу"}
                                  for i in chunk]})
                assert answer.status_code == 201, answer.get_data(as_text=True)
            cited = items if len(items) <= 50 else items[:50]
            bundle_s, bundle_zip = timed_zip(client, "/api/v1/bundles", reviewer,
                                             {"evidence_ids": cited})
            if args.profile:
                import cProfile
                import pstats
                profiler = cProfile.Profile()
                profiler.enable()
            dossier_s, dossier_zip = timed_zip(client, "/api/v1/dossiers", reviewer,
                                               {"actor": person["id"]})
            if args.profile:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            with zipfile.ZipFile(io.BytesIO(dossier_zip)) as zf:
                pdf = zf.read("dossier.pdf")
            (root / "dossier.pdf").write_bytes(pdf)
            pages = "?"
            if shutil.which("pdfinfo"):
                info = subprocess.run(["pdfinfo", str(root / "dossier.pdf")],
                                      capture_output=True, text=True).stdout
                pages = next((line.split()[-1] for line in info.splitlines()
                              if line.startswith("Pages:")), "?")
        print(f"cited items: {len(cited)} ({len(bundle_zip) / 1e6:.2f} MB bundle ZIP)")
        print(f"bundle export (baseline): {bundle_s:.2f} s")
        print(f"dossier (PDF + the same bundle): {dossier_s:.2f} s "
              f"= {dossier_s / bundle_s:.2f}x the bundle; PDF {len(pdf) / 1e3:.0f} kB, "
              f"{pages} pages; ZIP {len(dossier_zip) / 1e6:.2f} MB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
