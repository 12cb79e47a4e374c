"""Alembic environment: runs on the connection `api.db.migrer` hands over, or on COTATION_DATABASE_URL."""

from alembic import context

from api.db import moteur
from api.models import Base
from api.settings import Reglages

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = moteur(Reglages.depuis_environnement().database_url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
