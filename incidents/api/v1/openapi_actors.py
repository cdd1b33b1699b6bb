"""The OpenAPI paths of actors, involvement links, command chains and dossiers, made from
the pydantic models in `schemas.actors` (the same models that parse the requests)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from incidents.api.v1.schemas import actors as shapes

COMPONENTS: dict[str, Any] = {}
ERROR = {"$ref": "#/components/schemas/Error"}


def ref(model: type[BaseModel]) -> dict[str, str]:
    """A $ref to the model's schema, registered (with its nested models) in COMPONENTS."""
    schema = shapes.schema(model)
    COMPONENTS.update(schema.pop("$defs", {}))
    COMPONENTS[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _op(summary: str, *, body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None, status: str = "200",
        content: dict[str, Any] | None = None, errors: tuple[int, ...] = (400, 401, 403, 404),
        params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {
        str(code): {"description": "Error", "content": {"application/json": {
            "schema": ERROR}}} for code in errors}}
    op["responses"][status] = content or {"description": summary, "content": {
        "application/json": {"schema": ref(response) if response else {"type": "object"}}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": ref(body)}}}
    path_params = [{"name": "public_id", "in": "path", "required": True,
                    "schema": {"type": "string"}}]
    op["parameters"] = path_params if params is None else params
    return op


_ZIP = {"description": "The dossier: dossier.pdf beside the evidence bundle (a BagIt bag), "
                       "in a ZIP, streamed",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}
_KIND = [{"name": "kind", "in": "query", "required": False,
          "schema": {"type": "string", "enum": ["person", "unit", "facility"]}}]

PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/actors": {
        "get": _op("Actors (persons, units, facilities): reviewers only", params=_KIND,
                   response=shapes.ActorList),
        "post": _op("Record an actor (sealed; a custody event)", body=shapes.ActorIn,
                    response=shapes.ActorOut, status="201", params=[]),
    },
    "/api/v1/actors/{public_id}": {
        "get": _op("One actor with its posts", response=shapes.ActorOut),
        "put": _op("A new version of the names and details (the previous one is kept; a "
                   "custody event)", body=shapes.ActorEditIn, response=shapes.ActorOut)},
    "/api/v1/actors/{public_id}/posts": {
        "post": _op("Add a post (membership, command, parent unit) over a date range",
                    body=shapes.PostIn, response=shapes.ActorOut, status="201")},
    "/api/v1/incidents/{public_id}/involvements": {
        "get": _op("The incident's involvement links", response=shapes.InvolvementList),
        "post": _op("Link an actor to the incident with a role, a status and citations "
                    "(uncited links only as alleged)", body=shapes.InvolvementIn,
                    response=shapes.InvolvementOut, status="201", errors=(400, 401, 403, 404,
                                                                         409)),
    },
    "/api/v1/involvements/{public_id}/status": {
        "post": _op("Move a link's status, with a reason (and more citations)",
                    body=shapes.StatusIn, response=shapes.InvolvementOut)},
    "/api/v1/citations/{public_id}/translations": {
        "post": _op("Translate a cited excerpt or page (the original is never altered)",
                    body=shapes.TranslationIn, response=shapes.TranslationOut,
                    status="201")},
    "/api/v1/incidents/{public_id}/command-chain": {
        "get": _op("The derived command chain at the incident's time", response=shapes.ChainOut),
        "post": _op("Confirm or reject one derived link", body=shapes.ChainReviewIn,
                    response=shapes.ChainOut),
    },
    "/api/v1/dossiers": {
        "post": _op("A sanctions dossier for one person or unit: dossier.pdf and the "
                    "evidence bundle of every cited item (items without consent to legal "
                    "use withheld); its hash recorded in the ledger", body=shapes.DossierIn,
                    content=_ZIP, params=[])},
}
