"""``greenflow audit replay ID|--all [--since DATE]``: re-execute histories against the record (issue 13).

Each instance's recorded commands run again on an empty scratch database (the recorded clock,
definition versions, users and outside world) and are compared with the record at every step
(``engine.replay``). The last line is ``N replayed, M diverged``; the exit status is 1 when M > 0,
so CI and cron can use it. Every run is kept in ``replay_run`` and written to the access log.
"""
from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.clock import start_of_china_day
from engine.replay.replayer import instance_ids, record_run, replay_many
from web.access_log import record_cli_access
from web.cli import _emit, json_option
from web.cli_audit import audit_group


def _since(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("a date is YYYY-MM-DD (China date)", param_hint="--since") from None
    return start_of_china_day(day)


@audit_group.command("replay")
@click.argument("instance_id", required=False, type=int)
@click.option("--all", "every", is_flag=True, help="Every instance (or those started since --since).")
@click.option("--since", default=None, help="With --all: instances started on or after this China date (YYYY-MM-DD).")
@click.option("--stop-on-first", is_flag=True, help="Stop at the first instance that diverges.")
@click.option("--by", "by", default=None, help="Who runs it (recorded; default shell:<account>).")
@json_option
@with_appcontext
def audit_replay(instance_id: int | None, every: bool, since: str | None, stop_on_first: bool, by: str | None,
                 as_json: bool) -> None:
    """Re-execute INSTANCE_ID (or --all) and compare it with its record at every step."""
    from web.cli_audit_evidence import shell_user

    if (instance_id is None) == (not every):
        raise click.UsageError("give an INSTANCE_ID or --all (not both)")
    if since is not None and not every:
        raise click.UsageError("--since goes with --all")
    eng = current_app.extensions["greenflow"]
    by = by or shell_user()
    ids = [instance_id] if instance_id is not None else instance_ids(eng, since=_since(since))
    scope = f"instance:{instance_id}" if instance_id is not None else (f"since:{since}" if since else "all")
    report = replay_many(eng, ids, stop_on_first=stop_on_first)
    run_id = record_run(eng, report, by=by, scope=scope, seconds=report.seconds)
    record_cli_access(eng, by, "audit.replay", scope, result="ok" if not report.diverged else "failed",
                      detail={"replay_run": run_id, "replayed": report.replayed, "diverged": report.diverged})
    if as_json:
        _emit({**report.to_dict(), "replay_run": run_id}, True)
    else:
        for result in report.results:
            if result.first_divergence is None:
                continue
            found = result.first_divergence
            click.echo(f"#{result.instance_id} {result.process_id}: diverged at event {found.seq or '-'} "
                       f"({found.event_type or 'stored instance'}), {found.where}: "
                       f"recorded {found.recorded!r}, replayed {found.replayed!r} — {found.message}")
        click.echo(f"replay run {run_id} by {by}, {report.seconds:.2f} s")
        click.echo(report.summary())
    if report.diverged:
        raise SystemExit(1)
