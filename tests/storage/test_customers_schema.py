"""The ORM models and the Alembic migrations describe the same schema, on both
databases: a migrated database compared with the models shows no difference."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crm_core.models import Base


def test_models_match_the_migrations(sessions):
    with sessions() as s:
        context = MigrationContext.configure(s.connection(), opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
