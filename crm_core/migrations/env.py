"""Alembic environment: the URL and connection come from crm_core.migrate."""
from alembic import context

from crm_core.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through crm_core.migrate.upgrade(url)")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
