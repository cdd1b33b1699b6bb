"""The reference units and facilities of config/actors.json, loaded by the operator."""

from __future__ import annotations

from sqlalchemy import select

from incidents.models import Actor, ActorPost, PostKind
from incidents.services import custody
from incidents.services.actors.seed import load_seed


def test_seeding_loads_the_hierarchy_and_facilities_once_with_their_sources(
        runner, session, client):
    data = load_seed()
    assert all(entry["sources"] for entry in data["units"] + data["facilities"])
    assert all(s in data["sources"] for e in data["units"] + data["facilities"]
               for s in e["sources"])
    first = runner.invoke(args=["actors", "seed"])
    assert first.exit_code == 0, first.output
    total = len(data["units"]) + len(data["facilities"])
    assert f"{total} created" in first.output
    again = runner.invoke(args=["actors", "seed"])
    assert f"0 created, {total} already present" in again.output
    by_seed = {a.seed_id: a for a in session.scalars(select(Actor))}
    guard = by_seed["national_guard"]
    (parent,) = session.scalars(select(ActorPost).where(
        ActorPost.actor_id == guard.id, ActorPost.kind == PostKind.PART_OF))
    assert parent.target.seed_id == "mvd"
    assert guard.force is not None
    assert guard.force.value == "national_guard"
    ivs = by_seed["ivs_almaty"]
    assert ivs.place_id == "almaty"
    assert [e.action for e in custody.events_for(session, ivs.subject)][0] == "actor_created"
