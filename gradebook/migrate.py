"""The gradebook's schema versions: Alembic migrations in `gradebook/migrations/`.

`upgrade(url)` brings a database (new or old) to the newest revision, `check(url)` says
whether it is there. A gradebook made before migrations existed (by `create_all`: every
table of the initial revision, no `alembic_version`) is adopted: stamped as revision 0001,
then upgraded. Neither needs an alembic.ini: the script folder and the URL are
passed in programmatically. For the `alembic` command line (e.g. to write a new revision
with `--autogenerate`), `alembic_config(url)` gives the same configuration.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool
from sqlalchemy.engine import make_url

from autograder.core.errors import UserError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
INITIAL = "0001"
INITIAL_TABLES = frozenset({"audit_log", "blobs", "modules", "students", "extensions",
                            "grading_runs", "manual_scores", "overrides", "releases",
                            "submissions"})


def alembic_config(url: str) -> Config:
    """An Alembic Config for the gradebook's migrations on the database at `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # The URL travels as an attribute, not an ini option: ini values interpolate '%'
    # (percent-encoded passwords) and would need escaping.
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (default: the newest); idempotent.

    UserError if the database holds some, but not all, of the initial tables and no
    revision (neither a gradebook from before migrations nor an empty database).
    """
    cfg = alembic_config(url)
    if not current(url):
        tables = _tables(url) & INITIAL_TABLES
        if tables == INITIAL_TABLES:
            command.stamp(cfg, INITIAL)  # made by create_all before migrations existed
        elif tables:
            raise UserError(f"{_safe(url)}: has gradebook tables ({', '.join(sorted(tables))}) "
                            f"but not all of them and no alembic_version; restore a backup "
                            f"or point database_url at an empty database")
    command.upgrade(cfg, revision)


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def head() -> str:
    """The newest revision id of the migration scripts."""
    heads = ScriptDirectory.from_config(alembic_config("")).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"gradebook migrations have {len(heads)} heads {heads}; merge them")
    return heads[0]


def current(url: str) -> tuple[str, ...]:
    """The revision(s) the database at `url` is at (empty for a database never migrated)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return tuple(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def check(url: str) -> bool:
    """True when the database at `url` is at the newest revision."""
    return current(url) == (head(),)
