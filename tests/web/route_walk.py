"""Walk every rule of the app's URL map with generic arguments (ints -> 1, strings -> "x")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from flask import Flask
from werkzeug.routing import Rule
from werkzeug.routing.converters import (
    AnyConverter,
    FloatConverter,
    IntegerConverter,
    UUIDConverter,
)

# HEAD mirrors GET (when there is one); an automatic OPTIONS answer never reaches a view.
SKIPPED_METHODS = {"HEAD"}


def sample_value(converter: object) -> object:
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, FloatConverter):
        return 1.0
    if isinstance(converter, UUIDConverter):
        return uuid.UUID(int=1)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "x"


def rule_path(rule: Rule) -> str:
    values = {name: sample_value(conv) for name, conv in rule._converters.items()}
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build a URL for {rule.rule}"
    return built[1]


def rule_methods(rule: Rule) -> list[str]:
    methods = set(rule.methods or ())
    if "GET" in methods:
        methods -= SKIPPED_METHODS
    if getattr(rule, "provide_automatic_options", True) is not False:
        methods.discard("OPTIONS")
    return sorted(methods)


def walk_routes(app: Flask, methods: set[str] | None = None) -> Iterator[tuple[Rule, str, str]]:
    """(rule, method, path) for every rule and method of the app, in a stable order."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in rule_methods(rule):
            if methods is None or method in methods:
                yield rule, method, rule_path(rule)
