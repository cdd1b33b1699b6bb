"""A forger holding a genuine bundle drops what they want gone and rebuilds the manifests;
verify.py must fail and say what is missing (THREATS.md, issue 10)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from incidents.core.database import begin_write
from incidents.services import custody
from tests.bundles.conftest import (
    Exported,
    read_events,
    rewrite_manifests,
    rewrite_tag_manifests,
    run_verify,
)


def _failure(bundle: Exported) -> str:
    result = run_verify(bundle.bag, "--key", bundle.verifier_key)
    assert result.returncode == 1, result.stdout
    return result.stdout.split("RESULT: FAILED. First problem: ", 1)[1]


def _write_events(bag: Path, events: list[dict]) -> None:
    (bag / "custody" / "events.jsonl").write_text(
        "".join(json.dumps(e, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                + "\n" for e in events))


def _drop_events(bag: Path, seqs: set[int]) -> None:
    _write_events(bag, [e for e in read_events(bag) if e["seq"] not in seqs])
    proofs_file = bag / "custody" / "proofs.json"
    proofs = json.loads(proofs_file.read_text())
    for seq in seqs:
        proofs["proofs"].pop(str(seq), None)
    proofs_file.write_text(json.dumps(proofs, indent=2, sort_keys=True) + "\n")


def test_a_genuine_bundle_is_complete(bundle: Exported) -> None:
    result = run_verify(bundle.bag, "--key", bundle.verifier_key)
    assert result.returncode == 0, result.stdout
    assert "OK    completeness (bundle statement and subject chains): 3 items" in result.stdout


def test_an_items_dropped_event_is_named(bundle: Exported) -> None:
    received = next(e for e in read_events(bundle.bag)
                    if e["action"] == "received" and e["subject"] == "evidence:ev-photo01")
    _drop_events(bundle.bag, {received["seq"]})
    rewrite_manifests(bundle.bag)
    problem = _failure(bundle)
    assert "item ev-photo01: an event of evidence:ev-photo01 before seq" in problem
    assert "missing from custody/events.jsonl (dropped" in problem


def test_an_items_dropped_last_event_is_named(bundle: Exported) -> None:
    annotated = next(e for e in read_events(bundle.bag) if e["action"] == "annotated")
    _drop_events(bundle.bag, {annotated["seq"]})
    rewrite_manifests(bundle.bag)
    problem = _failure(bundle)
    assert f"item ev-photo01: the last event of evidence:ev-photo01 (seq {annotated['seq']})" \
        in problem


def test_an_item_dropped_with_its_events_and_manifests_rebuilt_is_named(
        bundle: Exported) -> None:
    bag = bundle.bag
    (bag / "data" / "originals" / "ev-text02.txt").unlink()
    (bag / "data" / "metadata" / "ev-text02.json").unlink()
    blob = next(e["subject"] for e in read_events(bag) if e["subject"].startswith("blob:")
                and e["action"] == "stored" and "ev-text02" not in e["subject"]
                and any(r["subject"] == "evidence:ev-text02" and e["commitment"]
                        == r["commitment"] for r in read_events(bag)))
    _drop_events(bag, {e["seq"] for e in read_events(bag)
                       if e["subject"] in ("evidence:ev-text02", blob)})
    info = (bag / "bag-info.txt").read_text().splitlines()
    (bag / "bag-info.txt").write_text("".join(line + "\n" for line in info
                                              if not line.startswith("Payload-Oxum")))
    rewrite_manifests(bag)
    problem = _failure(bundle)
    assert "item ev-text02: named by the bundle statement" in problem
    assert "missing from the bundle (dropped)" in problem


def test_an_older_checkpoint_swapped_in_with_its_proofs_is_named(
        session, export: Callable[[str], Exported]) -> None:
    older = export("bundle-old")
    begin_write(session)  # the ledger moves on between the two exports
    custody.append(session, actor="l" * 32, action="annotated", subject="evidence:ev-text02",
                   details={"note": "later"})
    session.commit()
    newer = export("bundle-new")
    for name in ("checkpoint.txt", "proofs.json"):
        shutil.copy(older.bag / "custody" / name, newer.bag / "custody" / name)
    rewrite_tag_manifests(newer.bag)
    problem = _failure(newer)
    assert "not in the checkpoint's tree of size" in problem
    assert "an older checkpoint was swapped in" in problem


def test_an_older_checkpoint_with_the_newer_events_dropped_has_no_statement(
        session, export: Callable[[str], Exported]) -> None:
    older = export("bundle-old")
    newer = export("bundle-new")
    for name in ("checkpoint.txt", "proofs.json"):
        shutil.copy(older.bag / "custody" / name, newer.bag / "custody" / name)
    size = int((older.bag / "custody" / "checkpoint.txt").read_text().split("\n")[1])
    _drop_events(newer.bag, {e["seq"] for e in read_events(newer.bag) if e["seq"] >= size})
    proofs = json.loads((older.bag / "custody" / "proofs.json").read_text())
    kept = {str(e["seq"]) for e in read_events(newer.bag)}
    proofs["proofs"] = {k: v for k, v in proofs["proofs"].items() if k in kept}
    (newer.bag / "custody" / "proofs.json").write_text(json.dumps(proofs))
    _write_events(newer.bag, [e for e in read_events(newer.bag) if str(e["seq"]) in
                              proofs["proofs"]])
    rewrite_tag_manifests(newer.bag)
    problem = _failure(newer)
    assert "no bundle statement for 'bundle-new'" in problem


def test_a_relabelled_actor_pseudonym_is_named(bundle: Exported) -> None:
    events = read_events(bundle.bag)
    target = next(e for e in events if e.get("actor_commitment") and e["action"] == "annotated")
    target["actor"] = "W1"  # the lawyer's annotation shown as the witness's
    _write_events(bundle.bag, events)
    rewrite_tag_manifests(bundle.bag)
    problem = _failure(bundle)
    assert f"custody event seq {target['seq']}: its actor label 'W1'" in problem


def test_bundle_events_carry_pseudonyms_never_account_ids(bundle: Exported) -> None:
    text = (bundle.bag / "custody" / "events.jsonl").read_text()
    assert "w" * 32 not in text
    assert "l" * 32 not in text
    assert {e["actor"] for e in read_events(bundle.bag)} <= {None, "U1", "U2"}
