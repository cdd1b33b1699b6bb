"""One engine and session factory per application, and how a writer begins (no Flask)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker


class Database:
    """The engine and scoped session of one application."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.session = scoped_session(self.session_factory)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def new_session(self) -> Iterator[Session]:
        """A session outside the request scope (CLI, workers); rolled back unless committed."""
        session = self.session_factory()
        try:
            yield session
        finally:
            session.close()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and explicit BEGIN for locking."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself, so `BEGIN IMMEDIATE` is possible
            # (see custody appends); pysqlite's own transaction handling is off.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")
            # Remembered for `begin_write`: how this transaction began, and whether it wrote.
            conn.info["sqlite_begin"] = mode
            conn.info["sqlite_changes"] = conn.connection.dbapi_connection.total_changes

        return engine
    return create_engine(url, pool_pre_ping=True)


def begin_write(session: Session) -> None:
    """Start the session's unit of work as a writer (call before its first statement).

    SQLite: `BEGIN IMMEDIATE`, so the write lock is taken (waiting up to busy_timeout)
    before anything is read; a deferred transaction that read first would instead fail
    when another writer committed in between. If the session already holds a transaction
    that has written nothing (a request that loaded the user, say), that read-only
    transaction is ended first. PostgreSQL needs nothing here: writers lock rows
    (`SELECT ... FOR UPDATE`, see incidents.services.custody).
    """
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        return
    connection = session.connection()
    if connection.dialect.name != "sqlite" or connection.info.get("sqlite_begin") == "IMMEDIATE":
        return
    changes = connection.connection.dbapi_connection.total_changes  # type: ignore[union-attr]
    wrote = changes != connection.info.get("sqlite_changes", changes)
    if wrote or session.new or session.dirty or session.deleted:
        return  # already a writer in all but name: SQLite refuses a stale write, never forks
    session.commit()  # ends a read-only transaction; loaded objects stay (expire_on_commit off)
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


_DEPTH = "unit_of_work_depth"


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """One use case's transaction: begun as a writer, committed on a clean exit, rolled back
    otherwise, so that a failed request leaves nothing half-saved.

        with unit_of_work(session):
            ingested = blobs.ingest(session, store, stream, ...)
            ...  # the rest of the change

    Inside another unit of work it joins that one (the outermost commits or rolls back),
    so a use case may call another, and building blocks (ledger append, blob ingest) never
    commit. Blobs written inside go with a rollback (incidents.services.evidence.blobs).
    Changes made just before it (a TOTP step marked used) are committed with it.
    """
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        if depth == 0:
            begin_write(session)
        yield session
    except BaseException:
        session.info[_DEPTH] = depth
        if depth == 0:
            session.rollback()
        raise
    else:
        session.info[_DEPTH] = depth
        if depth == 0:
            session.commit()
    finally:
        session.info[_DEPTH] = depth


def in_unit_of_work(session: Session) -> bool:
    """Whether a caller's unit of work is open (building blocks assert they are inside one)."""
    return bool(session.info.get(_DEPTH, 0))


def release_connection(session: Session) -> None:
    """End a read-only transaction, so its connection returns to the pool; loaded objects
    stay usable (expire_on_commit is off). A session with pending writes is left alone."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()
