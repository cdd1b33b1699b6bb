"""Fill a fresh instance with clearly labelled synthetic data (`flask --app wsgi demo`).

Demo witnesses send reports through the real submission service (encrypted testimony blobs,
custody events), every testimony starting with "[DEMO]"; a demo reviewer builds incidents from
them through the real incidents service, spread over 2-20 January 2022 across real towns of
the gazetteer and every category, and publishes most of them. A demo researcher account is
printed at the end so that a newcomer can sign in and see the timeline and the map at once.

It refuses to run on an instance that already holds submissions or incidents (real data, or
an earlier demo) unless `--force` is given.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incidents.core.clock import utcnow
from incidents.core.errors import N_, Conflict
from incidents.core.settings import Settings
from incidents.models import Incident, Role, Submission, User
from incidents.services import accounts, invitations, submission_input, submissions
from incidents.services import incidents as incident_service
from incidents.services.gazetteer import Gazetteer, Place, load_gazetteer
from incidents.services.taxonomy import Taxonomy, load_taxonomy
from storage.blobstore import BlobStore

DEMO_PREFIX = "[DEMO]"
DEMO_PSEUDONYM = "demo-"
FIRST_DAY = datetime(2022, 1, 2, tzinfo=ZoneInfo("Asia/Almaty"))
DAYS = 19  # 2-20 January 2022
WITNESSES = 8
# What the synthetic testimony says; the category's label fills the gap. Never real events.
TEMPLATES = (
    "{demo} Synthetic testimony for the demo, not a real account. Witness {w} describes "
    "{what} near {where} on {day}.",
    "{demo} This is made-up demo data. Witness {w} reports {what} in {where} ({day}).",
)


@dataclass(frozen=True)
class DemoReport:
    """What one synthetic submission says (then sent through the real service)."""

    witness: int
    place: Place
    when: datetime
    categories: list[str]
    tags: list[str]
    counts: dict[str, int | None]
    publication: bool
    precision_hint: str


def plan(count: int, gazetteer: Gazetteer, taxonomy: Taxonomy,
         seed: int = 2022) -> list[DemoReport]:
    """`count` reports over 2-20 January 2022: every category, real towns, varied consent."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible on purpose
    towns = [p for p in gazetteer.places if p.kind != "region"]
    # Weighted towards where most was reported in January 2022.
    busy = [p for p in towns if p.id in {"almaty_city", "zhanaozen", "aktau", "shymkent_city",
                                          "taldykorgan", "taraz", "aktobe", "kyzylorda"}]
    categories = list(taxonomy.categories)
    reports = []
    for i in range(count):
        category = categories[i % len(categories)]
        tags = [t.id for t in rng.sample(list(category.tags), k=min(len(category.tags),
                                                                    rng.randint(0, 2)))]
        place = rng.choice(busy if busy and rng.random() < 0.7 else towns)
        day = rng.randint(0, DAYS - 1) if i >= DAYS else i  # each day has at least one
        when = FIRST_DAY + timedelta(days=day, hours=rng.randint(7, 22),
                                     minutes=rng.choice((0, 15, 30, 45)))
        reports.append(DemoReport(
            witness=i % WITNESSES, place=place, when=when.astimezone(UTC),
            categories=[category.id], tags=tags,
            counts={"injured": rng.randint(0, 30), "detained": rng.randint(0, 60),
                    "killed": rng.choice((0, 0, 0, 1, 2, None))},
            publication=rng.random() < 0.6,
            precision_hint=rng.choice(("town", "town", "region")),
        ))
    return reports


def _metadata(report: DemoReport, taxonomy: Taxonomy) -> dict[str, object]:
    label = taxonomy.label(report.categories[0], "en").lower()
    testimony = TEMPLATES[report.witness % len(TEMPLATES)].format(
        demo=DEMO_PREFIX, w=report.witness + 1, what=label, where=report.place.names["en"],
        day=report.when.astimezone(ZoneInfo("Asia/Almaty")).strftime("%d %B %Y"))
    return {
        "testimony": testimony,
        "occurred_at": report.when.isoformat(),
        "time_precision": "approximate",
        "place": report.place.id,
        "point": None,
        "categories": report.categories,
        "tags": report.tags,
        "counts": report.counts,
        "forces": f"{DEMO_PREFIX} synthetic",
        "consent": {"legal": True, "research": True, "publication": report.publication,
                    "contact": False},
    }


def refuse_unless_fresh(session: Session, force: bool) -> None:
    """Real data (or an earlier demo) present: refuse, unless forced."""
    if force:
        return
    held = (session.scalar(select(func.count()).select_from(Submission)) or 0) + (
        session.scalar(select(func.count()).select_from(Incident)) or 0)
    demo_users = session.scalar(select(func.count()).select_from(User)
                                .where(User.pseudonym.startswith(DEMO_PSEUDONYM))) or 0
    if held or demo_users:
        raise Conflict(N_("This instance already holds submissions, incidents or demo "
                          "accounts; the demo fills only a fresh instance (--force to add "
                          "anyway)."))


def _user(session: Session, policy: accounts.AccountPolicy, role: Role, name: str,
          passphrase: str) -> User:
    _inv, token = invitations.create(session, role=role, expires_in=timedelta(hours=1),
                                     note="demo")
    user = accounts.register(session, policy, invitation_token=token, pseudonym=name,
                             passphrase=passphrase)
    session.commit()
    return user


def _free_name(session: Session, base: str) -> str:
    name, n = base, 1
    while accounts.lookup(session, name) is not None:
        n += 1
        name = f"{base}-{n}"
    return name


def group_reports(sent: list[tuple[DemoReport, Submission]]
                  ) -> list[list[tuple[DemoReport, Submission]]]:
    """Reports of the same town, day and category make one incident (at most three each)."""
    groups: dict[tuple[str, object, str], list[tuple[DemoReport, Submission]]] = {}
    for report, submission in sent:
        day = report.when.astimezone(ZoneInfo("Asia/Almaty")).date()
        key = (report.place.id, day, report.categories[0])
        bucket = groups.setdefault(key, [])
        if len(bucket) >= 3:
            key = (report.place.id, day, f"{report.categories[0]}-{len(groups)}")
            bucket = groups.setdefault(key, [])
        bucket.append((report, submission))
    return list(groups.values())


def make_incident(session: Session, store: BlobStore, reviewer: User,
                  group: list[tuple[DemoReport, Submission]], *, index: int, publish: bool,
                  gazetteer: Gazetteer, taxonomy: Taxonomy) -> Incident:
    """One incident from a group of reports, through the reviewers' service."""
    first = group[0][0]
    label = taxonomy.label(first.categories[0], "en")
    subs = [s for _, s in group]
    data = incident_service.input_from_submissions(
        subs, f"{DEMO_PREFIX} {label} in {first.place.names['en']}")
    allowed = incident_service.precision_cap(subs, gazetteer)
    wanted = first.precision_hint if first.precision_hint == "region" else allowed.value
    consented = all(r.publication for r, _ in group)
    data.update({
        "description": f"{DEMO_PREFIX} Synthetic incident built from {len(group)} demo reports.",
        "summary": (f"{DEMO_PREFIX} A synthetic excerpt: witnesses describe {label.lower()}."
                    if consented else None),
        "location_precision": wanted,
        "injured": max(r.counts["injured"] or 0 for r, _ in group),
        "detained": max(r.counts["detained"] or 0 for r, _ in group),
        "killed": first.counts["killed"],
        "verification": ("reported", "corroborated", "verified")[
            min(len(group) - 1, 2) if index % 3 else 0],
    })
    incident = incident_service.create(
        session, store, reviewer, incident_service.parse_input(data, taxonomy=taxonomy,
                                                        gazetteer=gazetteer),
        submission_ids=[s.public_id for s in subs], gazetteer=gazetteer)
    if publish:
        incident = incident_service.publish(session, reviewer, incident.public_id,
                                            gazetteer=gazetteer)
    return incident


@dataclass(frozen=True)
class DemoResult:
    submissions: int
    incidents: int
    published: int
    researcher: str  # the demo researcher's pseudonym
    researcher_passphrase: str


# `progress(items, label)`: a context manager yielding the items (click.progressbar fits).
Progress = Callable[[Sequence[Any], str], AbstractContextManager[Iterable[Any]]]


def _quiet(items: Sequence[Any], _label: str) -> AbstractContextManager[Iterable[Any]]:
    return nullcontext(items)


def fill(session: Session, store: BlobStore, settings: Settings, count: int, *,
         force: bool = False, progress: Progress = _quiet) -> DemoResult:
    """Make `count` synthetic submissions, group them into incidents, publish most.

    Conflict unless the instance is fresh (or `force`)."""
    gazetteer, taxonomy = load_gazetteer(), load_taxonomy()
    policy = accounts.AccountPolicy.from_settings(settings)
    refuse_unless_fresh(session, force)
    witnesses = [_user(session, policy, Role.CONTRIBUTOR,
                       _free_name(session, f"{DEMO_PSEUDONYM}witness-{i + 1}"),
                       secrets.token_urlsafe(18)) for i in range(WITNESSES)]
    reviewer = _user(session, policy, Role.REVIEWER, _free_name(session,
                                                                f"{DEMO_PSEUDONYM}reviewer"),
                     secrets.token_urlsafe(18))
    researcher_pass = secrets.token_urlsafe(12)
    researcher = _user(session, policy, Role.RESEARCHER,
                       _free_name(session, f"{DEMO_PSEUDONYM}researcher"), researcher_pass)
    reports = plan(count, gazetteer, taxonomy)
    sent: list[tuple[DemoReport, Submission]] = []
    with progress(reports, "Demo submissions") as bar:
        for report in bar:
            data = submission_input.validate(
                _metadata(report, taxonomy), taxonomy=taxonomy, gazetteer=gazetteer,
                display_zone=settings.display_timezone,
                max_testimony_bytes=settings.max_form_field_bytes, now=utcnow())
            submission = submissions.create(session, store, witnesses[report.witness], data,
                                            max_blob_bytes=settings.max_upload_bytes)
            sent.append((report, submission))
    made = published = 0
    groups = group_reports(sent)
    with progress(groups, "Demo incidents") as bar:
        for index, group in enumerate(bar):
            publish = index % 5 != 4  # four in five published, the rest left in review
            make_incident(session, store, reviewer, group, index=index, publish=publish,
                          gazetteer=gazetteer, taxonomy=taxonomy)
            made += 1
            published += publish
    return DemoResult(submissions=len(sent), incidents=made, published=published,
                      researcher=researcher.pseudonym, researcher_passphrase=researcher_pass)
