"""How precisely an incident may be located: never finer than its most cautious witness allows."""

from __future__ import annotations

from collections.abc import Sequence

from incidents.models import (
    Submission,
)
from incidents.services.gazetteer import Gazetteer, load_gazetteer
from incidents.services.research.public import (
    LocationPrecision,
    coarsest,
)

_PRECISION_ORDER = list(LocationPrecision)


def allowed_precision(submission: Submission, gazetteer: Gazetteer | None = None
                      ) -> LocationPrecision:
    """The finest location one witness's report allows to be shown.

    No place ("I prefer not to say"): none. A point, and consent to publication: exact. A
    town: town. A region: region.
    """
    if submission.place_withheld or not submission.place_id:
        return LocationPrecision.NONE
    if submission.has_point and submission.consent_publication:
        return LocationPrecision.EXACT
    place = (gazetteer or load_gazetteer()).get(submission.place_id)
    if place is not None and place.kind == "region":
        return LocationPrecision.REGION
    return LocationPrecision.TOWN


def precision_cap(submissions: Sequence[Submission], gazetteer: Gazetteer | None = None
                  ) -> LocationPrecision:
    if not submissions:
        return LocationPrecision.EXACT  # nothing linked yet: no witness restricts it
    return coarsest(allowed_precision(s, gazetteer) for s in submissions)


def is_finer(a: LocationPrecision, b: LocationPrecision) -> bool:
    return _PRECISION_ORDER.index(a) < _PRECISION_ORDER.index(b)
