"""Cases: members only; admins manage membership."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from incidents.api.v1.schemas.base import Body, Ids, LongText, Out, Text
from incidents.core.clock import iso
from incidents.core.errors import N_


class CaseIn(Body):
    messages: ClassVar[Mapping[str, str]] = {
        "name": N_("Give the case a name (at most 200 characters)."),
    }

    name: Text = ""
    kind: Text = Field("", description="prosecution, un_communication, sanctions_dossier, "
                                       "other")
    description: LongText = ""


class MembersIn(Body):
    add: Ids = Field([], description="pseudonyms")
    remove: Ids = Field([], description="pseudonyms")


class CaseIncidentsIn(Body):
    incidents: Ids = []


class CaseItemsIn(Body):
    items: Ids = []


class CaseSummaryOut(Out):
    """A case's name and members (what the list and the membership answer show)."""

    id: str
    name: str
    kind: str
    created_at: str | None
    members: list[str]

    @staticmethod
    def fields(case: Any) -> dict[str, Any]:
        return {"id": case.public_id, "name": case.name, "kind": case.kind.value,
                "created_at": iso(case.created_at),
                "members": [m.pseudonym for m in case.members]}

    @classmethod
    def of(cls, case: Any) -> CaseSummaryOut:
        return cls.model_validate(cls.fields(case))


class CaseOut(CaseSummaryOut):
    """A case with its contents (members only)."""

    description: str | None = Field(description="stored sealed; null while the vault is "
                                                "sealed")
    incidents: list[str]
    items: list[str]

    @classmethod
    def of(cls, case: Any, description: str | None) -> CaseOut:  # type: ignore[override]
        return cls.model_validate({
            **CaseSummaryOut.fields(case), "description": description,
            "incidents": [i.public_id for i in case.incidents],
            "items": [i.public_id for i in case.items]})


class CaseListOut(Out):
    cases: list[CaseSummaryOut]
