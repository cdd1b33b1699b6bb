"""Process entry points for the concurrency tests (kept free of test-fixture imports: a
spawned process imports this module, and tests.conftest would re-create the database)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from incidents.core.database import begin_write, make_engine
from incidents.services import custody


def append_many(url: str, worker: int, count: int) -> None:
    engine = make_engine(url)  # each process its own engine and connections
    try:
        for n in range(count):
            with Session(engine) as session:
                begin_write(session)
                custody.append(session, actor=f"worker{worker}", action="annotated",
                               subject=f"submission:{worker}", details={"n": n})
                session.commit()
    finally:
        engine.dispose()
