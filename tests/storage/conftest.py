"""Storage tests run on SQLite and, where it is reachable, PostgreSQL."""
import pytest

from tests.backends import BACKENDS, migrated_sessions


@pytest.fixture(params=BACKENDS)
def sessions(request, tmp_path):
    with migrated_sessions(request.param, tmp_path, "storage") as factory:
        yield factory
