"""``greenflow uploads sweep``: remove uploaded files no record points to (``web.upload_sweep``)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import with_appcontext

from web.cli import _EngineErrors, _emit, _engine, _settings, json_option
from web.upload_sweep import DEFAULT_GRACE, sweep_uploads
from web.uploads import FileStore


@click.group("uploads", cls=_EngineErrors)
def uploads_group() -> None:
    """The upload store (GREENFLOW_UPLOAD_DIR)."""


@uploads_group.command("sweep")
@click.option("--older-than-hours", type=click.FloatRange(min=0), default=DEFAULT_GRACE.total_seconds() / 3600,
              show_default=True, help="Grace period: only files not modified for this long are removed.")
@json_option
@with_appcontext
def uploads_sweep(older_than_hours: float, as_json: bool) -> None:
    """Remove stale temporaries and stored files that no attachment or evidence record points to."""
    report = sweep_uploads(_engine(), FileStore(Path(_settings().upload_dir)),
                           older_than=dt.timedelta(hours=older_than_hours))
    _emit(report.__dict__, as_json, lambda r: click.echo(
        f"removed {r['temporaries']} temporaries and {r['orphans']} unreferenced files "
        f"({r['freed_bytes']} bytes); kept {r['kept']} referenced files"))
