"""How every `flask --app wsgi` command reports a domain error."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from incidents.core.errors import DomainError


def domain_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """A domain error becomes a one-line message and exit status 1 (every CLI module uses it)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as error:
            message = error.message % error.params if error.params else error.message
            raise click.ClickException(message or type(error).__name__) from error

    return wrapper
