"""Create or upgrade the schema with Alembic (migrations in ``migrations/``)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.autogenerate import compare_metadata

from engine.db import Base, Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> None:
    """Bring the database to the newest schema revision."""
    cfg = alembic_config(db.url)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def differences(db: Database) -> list:
    """What the models have that the database has not (empty when migrations are complete).

    Compares against every table registered on ``Base`` so far: import the domain first.
    """
    import engine.models  # noqa: F401

    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)
