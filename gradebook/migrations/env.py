"""Alembic environment for the gradebook: `gradebook.models.Base.metadata`, URL from the caller.

`gradebook.migrate` passes the database URL in `config.attributes["url"]` (no alembic.ini,
no environment variables); a caller may instead pass an open SQLAlchemy connection in
`config.attributes["connection"]`. SQLite runs in batch mode so that later revisions can
alter tables (SQLite has no ALTER COLUMN).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from gradebook.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("gradebook migrations need a database URL: use gradebook.migrate")
    return str(url)


def _configure(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade --sql`) instead of running it."""
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"),
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a fresh engine for the URL."""
    given: Connection | None = config.attributes.get("connection")
    if given is not None:
        _configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
