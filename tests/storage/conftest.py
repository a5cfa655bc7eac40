"""Storage tests run on SQLite and, where it is reachable, PostgreSQL."""
import uuid

import pytest
from sqlalchemy import text

from crm_core import db, migrate

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_reachable() -> bool:
    try:
        with db.make_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request, tmp_path):
    if request.param == "sqlite":
        engine = db.make_engine(db.sqlite_url(tmp_path / "crm.db"))
        migrate.upgrade(engine)
        yield db.session_factory(engine)
        engine.dispose()
        return
    if not _pg_reachable():
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL}: storage tested on SQLite only")
    schema = f"t_{uuid.uuid4().hex[:10]}"  # each test its own schema: no cross-talk
    admin = db.make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = db.make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrate.upgrade(engine)
    yield db.session_factory(engine)
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
