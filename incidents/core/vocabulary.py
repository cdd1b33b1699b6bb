"""Closed value sets that several layers share: roles, case kinds, public verification, precision.

They live below the models (which store them as columns) so that the faces can parse and
show them without importing the models, and the research package stays free of SQLAlchemy.
`incidents.models` re-exports them, so `from incidents.models import Role` keeps working.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    CONTRIBUTOR = "contributor"
    REVIEWER = "reviewer"
    RESEARCHER = "researcher"
    ADMIN = "admin"

    @property
    def needs_totp(self) -> bool:
        """Staff who can see evidence or manage accounts must have a second factor."""
        return self in {Role.REVIEWER, Role.ADMIN}


class CaseKind(enum.StrEnum):
    PROSECUTION = "prosecution"
    UN_COMMUNICATION = "un_communication"
    SANCTIONS_DOSSIER = "sanctions_dossier"
    OTHER = "other"


class Verification(enum.StrEnum):
    REPORTED = "reported"
    CORROBORATED = "corroborated"
    VERIFIED = "verified"


class LocationPrecision(enum.StrEnum):
    """How precisely a location may be shown, finest first."""

    EXACT = "exact"
    TOWN = "town"
    REGION = "region"
    NONE = "none"
