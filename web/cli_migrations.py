"""``greenflow migrate`` and ``greenflow migrations``: move running instances between versions."""
from __future__ import annotations

import click

from web.cli import _EngineErrors


@click.group("migrate", cls=_EngineErrors)
def migrate_group() -> None:
    """Plan, dry-run and run a migration of running instances to another version."""


@click.group("migrations", cls=_EngineErrors)
def migrations_group() -> None:
    """Migration jobs and their per-instance results."""
