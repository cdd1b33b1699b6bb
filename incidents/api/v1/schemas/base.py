"""The one declaration per shape of /api/v1: models that validate, serialise and document.

How a resource declares its endpoints (copy this pattern for a new `schemas/<resource>.py`):

1. In `schemas/<resource>.py`, an input body subclasses `Body` (unknown fields are ignored,
   as the API always did) and an answer subclasses `Out` (no field that is not declared
   can leave the server). Build answers with a classmethod `of(domain_object)`.
2. In `api/v1/<resource>.py`, decorate the view::

       @blueprint.post("/cases")
       @documented("Create a case", body=CaseIn, response=CaseOut, status=201)
       def create_case(body: CaseIn) -> Response:
           return reply(CaseOut.of(cases.create(...)), 201)

   `documented` reads the JSON body, validates it into `body` (a 400 naming the field on
   any mismatch: `invalid_input` below is the only place a `ValidationError` becomes an
   `InvalidInput`) and records the operation for `openapi.json`. Errors the permission
   gate answers (401, 403) and 400 for a body are added to the document by themselves.
3. Only what no model can describe keeps a hand-written `fragment` (tus headers, multipart
   uploads, CSV/ZIP/binary downloads); it is merged into the generated operation.

`incidents.api.v1.openapi` walks the blueprint's routes and asks each view for its
`Operation`; a route without one fails `tests/api/test_openapi.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, TypeVar

from flask import Response, jsonify, request
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from incidents.core.errors import N_, InvalidInput
from incidents.web.http.body_limits import read_body, too_deep_field

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__api_operation__"

MUST_BE_STRING = N_("The field %(name)s must be a non-empty string.")
TOO_LONG = N_("The field %(name)s is too long or has a NUL byte.")
NOT_VALID = N_("The field %(name)s is not valid.")


def _no_nul(value: str) -> str:
    # A NUL byte ends C strings in PostgreSQL and in the tools reviewers use: refuse it.
    if "\x00" in value:
        raise ValueError("NUL byte")
    return value


# Strings a client sends, without NUL; `Text` may be empty, `Name` may not. Every string is
# at most 1,024 characters (`Body.model_config`) unless its field says otherwise.
Text = Annotated[str, AfterValidator(_no_nul)]
LongText = Annotated[str, Field(max_length=100_000), AfterValidator(_no_nul)]
Name = Annotated[str, StringConstraints(min_length=1), AfterValidator(_no_nul)]
Identifier = Annotated[str, Field(max_length=256), AfterValidator(_no_nul)]
# Up to 1,000 ids per list: more is no real request, and the services look each one up.
Ids = Annotated[list[Identifier], Field(max_length=1000)]


class Body(BaseModel):
    """A JSON request body: declared fields only, anything else is ignored (never stored).

    `messages` gives a field its own (translated) message instead of the generic ones.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, str_max_length=1024)
    messages: ClassVar[Mapping[str, str]] = {}
    # True: a shape error names its whole path (`posts[0].end`), for bodies that nest.
    nested_fields: ClassVar[bool] = False


class Out(BaseModel):
    """A JSON answer: what is not declared here cannot be sent, and is not in openapi.json."""

    model_config = ConfigDict(extra="forbid")


class Error(Out):
    """The error envelope every failure under /api/ answers with (incidents.web.errors)."""

    error: str
    message: str
    field: str | None = None


def invalid_input(error: ValidationError, model: type[Body]) -> InvalidInput:
    """The first problem of a validation error as the API's 400 naming the field."""
    problem = error.errors()[0]
    location = problem.get("loc") or ()
    name = str(location[0]) if location else ""
    if name and model.nested_fields:
        name = ".".join(str(p) if isinstance(p, str) else f"[{p}]"
                        for p in location).replace(".[", "[")
    if not name:
        return InvalidInput(N_("The request body must be a JSON object."))
    kind = problem.get("type", "")
    if name in model.messages:
        message = model.messages[name]
    elif kind == "string_too_long" or (kind == "value_error" and "NUL" in str(problem)):
        message = TOO_LONG
    elif kind in {"missing", "string_type", "string_too_short"} and len(location) == 1:
        message = MUST_BE_STRING
    else:
        message = NOT_VALID
    return InvalidInput(message, field=name, name=name)


def json_object() -> dict[str, Any]:
    """The request's JSON object ({} for an empty body); 400 for anything else."""
    raw = read_body()  # 413 past the route's cap (incidents.web.http.body_limits)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(N_("The request body is not valid UTF-8.")) from e
    deep = too_deep_field(raw)  # before parsing: the parser recurses
    if deep is not None:
        raise InvalidInput(N_("The request body is nested too deeply."), field=deep or None)
    try:
        data = request.get_json(silent=True) if text.strip() else {}
    except RecursionError as e:  # nested deeper than the parser's stack: no real request
        raise InvalidInput(N_("The request body must be a JSON object.")) from e
    if not isinstance(data, dict):
        raise InvalidInput(N_("The request body must be a JSON object."))
    return data


B = TypeVar("B", bound=Body)


def parse(model: type[B], data: Mapping[str, Any]) -> B:
    """`data` validated into `model`; the one place a ValidationError becomes a 400."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise invalid_input(e, model) from None
    except RecursionError as e:  # a list nested past the validator's stack
        raise InvalidInput(N_("The request body must be a JSON object.")) from e


def reply(model: Out, status: int = 200) -> Response:
    """Serialise an answer model (by its declared fields only) as the JSON response."""
    response = jsonify(model.model_dump(mode="json", by_alias=True))
    response.status_code = status
    return response


Fragment = Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True)
class Operation:
    """What `documented` records of one view, for the generated OpenAPI document."""

    summary: str
    body: type[Body] | None = None
    response: type[Out] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    public: bool = False
    parameters: tuple[Mapping[str, Any], ...] = ()
    # Hand-written parts (tus headers, streamed bodies), given the route's defaults.
    fragment: Fragment = field(default_factory=dict)
    description: str = ""

    def fragment_for(self, defaults: Mapping[str, Any]) -> Mapping[str, Any]:
        return self.fragment(defaults) if callable(self.fragment) else self.fragment


def documented(summary: str, *, body: type[Body] | None = None,
               response: type[Out] | None = None, status: int = 200,
               errors: tuple[int, ...] = (), public: bool = False,
               parameters: tuple[Mapping[str, Any], ...] = (),
               fragment: Fragment | None = None) -> Callable[[F], F]:
    """Declare a view's shapes; with `body`, the validated body arrives as `body=`."""

    def decorate(view: F) -> F:
        operation = Operation(summary=summary, body=body, response=response, status=status,
                              errors=errors, public=public, parameters=parameters,
                              fragment=fragment or {},
                              description=(view.__doc__ or "").strip())
        if body is None:
            setattr(view, ATTRIBUTE, operation)
            return view

        @functools.wraps(view)
        def with_body(*args: Any, **kwargs: Any) -> Any:
            return view(*args, body=parse(body, json_object()), **kwargs)

        setattr(with_body, ATTRIBUTE, operation)
        return with_body  # type: ignore[return-value]

    return decorate
