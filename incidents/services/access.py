"""Who may see an object: the role groups and the object-level check every service makes.

The route x role table (who may reach an endpoint at all) is `incidents.web.permissions`;
this module is the half of the rule that services need, free of Flask.
"""

from __future__ import annotations

from typing import Any, Protocol

from incidents.core.errors import NotFound
from incidents.models import Role

ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.REVIEWER, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})
READERS = frozenset({Role.RESEARCHER, Role.REVIEWER, Role.ADMIN})  # published incidents


class Owned(Protocol):
    owner_id: int


def require_access(obj: Owned | None, user: Any, action: str = "view") -> None:
    """Staff roles see all; anyone else only their own objects. Others' look nonexistent."""
    if obj is None:
        raise NotFound()
    if user.role in STAFF and action in {"view", "review"}:
        return
    if obj.owner_id != user.id:
        raise NotFound()
