"""The application's shared objects, and the only module that reads `app.extensions`.

Everything `create_app` builds once per application (settings, database, key ring, blob
store, job runner, caches) is registered here under one name and read back through the
functions below, so that no other module reaches into Flask's extension dict (ruff's
banned-API rule on `flask.current_app` enforces it; this file is the exemption).
A missing key ring or blob store (an instance before `flask --app wsgi init`) is a 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app

from incidents.core.errors import N_, ServiceUnavailable
from incidents.core.settings import Settings
from incidents.services.accounts import AccountPolicy

if TYPE_CHECKING:
    from incidents.core.database import Database
    from incidents.services.jobs import Jobs
    from incidents.services.research.aggregates import AggregateCache
    from incidents.services.signer import CheckpointSigner
    from incidents.services.submissions import AfterCommit
    from incidents.services.throttle import Throttle
    from storage.agent.client import AgentProvider
    from storage.blobstore import BlobStore

T = TypeVar("T")


def register(app: Flask, name: str, value: object) -> None:
    """Make `value` the application's `name` (called from the `init_app` functions)."""
    app.extensions[name] = value


def application() -> Flask:
    """The running application, for code that walks its routes (the OpenAPI document)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _get(name: str) -> Any:
    return current_app.extensions.get(name)


def settings() -> Settings:
    value: Settings = current_app.extensions["settings"]
    return value


def account_policy() -> AccountPolicy:
    return AccountPolicy.from_settings(settings())


def credential_throttle() -> Throttle:
    """The one credential throttle of every sign-in step (incidents.web.ratelimits)."""
    value: Throttle = current_app.extensions["credential_throttle"]
    return value


def database() -> Database:
    value: Database = current_app.extensions["database"]
    return value


def get_keys() -> AgentProvider:
    keys: AgentProvider | None = _get("keys")
    if keys is None:
        if _get("keys_outdated"):
            raise ServiceUnavailable(N_("The vault keys must be migrated before evidence can "
                                        "be stored or read."))
        raise ServiceUnavailable(N_("Evidence storage is not set up yet."))
    return keys


def keys_or_none() -> AgentProvider | None:
    """The key provider, or None before `flask --app wsgi init` (for CLI messages)."""
    keys: AgentProvider | None = _get("keys")
    return keys


def get_blobstore() -> BlobStore:
    store: BlobStore | None = _get("blobstore")
    if store is None:
        get_keys()
        raise ServiceUnavailable(N_("Evidence storage is not set up yet."))
    return store


def blobstore_of(app: Flask) -> BlobStore:
    """`app`'s blob store, outside any application context (job threads)."""
    store: BlobStore = app.extensions["blobstore"]
    return store


def blobstore_or_none() -> BlobStore | None:
    """The blob store, or None before `flask --app wsgi init` (for CLI messages)."""
    store: BlobStore | None = _get("blobstore")
    return store


def checkpoint_signer() -> CheckpointSigner | None:
    """This process's background checkpoint signer (None when switched off)."""
    value: CheckpointSigner | None = _get("checkpoint_signer")
    return value


def jobs() -> Jobs:
    value: Jobs = current_app.extensions["jobs"]
    return value


def jobs_of(app: Flask) -> Jobs:
    value: Jobs = app.extensions["jobs"]
    return value


def media_queue() -> AfterCommit | None:
    """Media processing for new files (`incidents.web.jobs` registers it)."""
    hook: AfterCommit | None = _get("media_queue")
    return hook


def cached(name: str, make: Callable[[], T]) -> T:
    """The application's `name`, made on first use (caches shared by all requests)."""
    value: T = current_app.extensions.setdefault(name, make())
    return value


def aggregate_cache() -> AggregateCache:
    """The application's cache of chart and map counts (made on first use)."""
    from incidents.services.research.aggregates import AggregateCache

    return cached("research_cache", AggregateCache)
