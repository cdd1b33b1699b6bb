"""A witness withdraws consent they gave: for legal use, research, publication or contact.

Withdrawal only ever narrows what the platform may do with a report, so it needs no
reviewer and takes effect at once, in one unit of work:

- the submission's flags change and its statement is committed again in a
  `consent_withdrawn` event (subject `submission:<id>`, the new statement commitment,
  details naming the uses withdrawn): `custody verify` then expects the new flags;
- every published incident built on the report that could no longer be published
  (research use withdrawn, or a place now finer than the witness allows) is withdrawn
  from researchers with an `unpublished` event naming the reason;
- everything else follows the flags where they are read: bundles leave out the items of
  a report without legal consent, public excerpts need every witness's publication
  consent, reviewers see that contact was withdrawn.

Giving consent again is not offered here: it is a new decision a witness makes with a
reviewer, never one click away from a withdrawal.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from incidents.core.database import unit_of_work
from incidents.core.errors import N_, InvalidInput, NotFound
from incidents.models import Incident, IncidentSubmission, Submission, User
from incidents.services import custody, state_commitments
from incidents.services.incidents import changes as incident_changes

USES = ("legal", "research", "publication", "contact")
NOT_YOURS = N_("No such report.")


def withdraw(session: Session, user: User, public_id: str, uses: Sequence[str]) -> Submission:
    """Withdraw the witness's consent for `uses` on their own report; the report.

    InvalidInput (field "withdraw") for an unknown use, or when none of the uses named
    was given; NotFound for anyone's report but the witness's own (staff included: a
    withdrawal is the witness's decision, made in their own session).
    """
    wanted = list(dict.fromkeys(uses))
    unknown = [u for u in wanted if u not in USES]
    if unknown or not wanted:
        raise InvalidInput(N_("Choose what you no longer agree to."), field="withdraw")
    submission = session.scalar(select(Submission).where(Submission.public_id == public_id))
    if submission is None or submission.owner_id != user.id:
        raise NotFound(NOT_YOURS)
    given = [u for u in wanted if submission.consent[u]]
    if not given:
        raise InvalidInput(N_("You had not given this consent."), field="withdraw")
    with unit_of_work(session):
        for use in given:
            setattr(submission, f"consent_{use}", False)
        custody.append(session, actor=user.public_id, action="consent_withdrawn",
                       subject=f"submission:{submission.public_id}",
                       commitment=state_commitments.commit_statement(submission),
                       details={"withdrawn": given})
        for incident in _published_with(session, submission):
            incident_changes.withdraw_if_unpublishable(session, incident,
                                                       reason="consent_withdrawn")
    return submission


def _published_with(session: Session, submission: Submission) -> list[Incident]:
    return list(session.scalars(
        select(Incident).join(IncidentSubmission, IncidentSubmission.incident_id == Incident.id)
        .where(IncidentSubmission.submission_id == submission.id, Incident.published.is_(True))
        .order_by(Incident.id)))
