"""A migrated CRM database on each backend the tests run on: a fresh SQLite file,
and PostgreSQL (127.0.0.1:5432) in a schema of its own, where it is reachable."""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from crm_core import db, migrate

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def pg_reachable() -> bool:
    try:
        with db.make_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


@contextmanager
def migrated_sessions(backend: str, tmp_path, what: str = "storage"):
    """A sessionmaker on a migrated database; skips PostgreSQL (saying so) when unreachable."""
    if backend == "sqlite":
        engine = db.make_engine(db.sqlite_url(tmp_path / "crm.db"))
        migrate.upgrade(engine)
        try:
            yield db.session_factory(engine)
        finally:
            engine.dispose()
        return
    if not pg_reachable():
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}: {what} tested on SQLite only")
    schema = f"t_{uuid.uuid4().hex[:10]}"  # each test its own schema: no cross-talk
    admin = db.make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = db.make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate.upgrade(engine)
        yield db.session_factory(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
