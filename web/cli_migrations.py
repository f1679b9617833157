"""``greenflow migrate`` and ``greenflow migrations``: move running instances between versions.

    greenflow migrate plan KEY --from N --to M [--map OLD=NEW …] [--dry-run] [--position ID …] [--instance ID …]
    greenflow migrate run KEY --from N --to M [--map OLD=NEW …] (--all | --position ID … | --instance ID …)
                          [--note TEXT] [--by USER] [--wait]
    greenflow migrations show [JOB_ID] [--status S]
    greenflow migrations cancel JOB_ID [--by USER]

``plan`` prints what changes between the versions; with ``--dry-run`` every running instance on N
(or the selected ones) with ``can_migrate`` and the reasons (``--json`` returns them). ``run`` stores
a job for the worker (``greenflow worker`` or ``serve``); ``--wait`` runs it here instead and prints
the results. See docs/migration.md.
"""
from __future__ import annotations

import os

import click
from flask.cli import with_appcontext

from engine.migration import dryrun, jobs, plan as plans
from engine.migration.models import ITEM_STATUSES
from web.cli import _EngineErrors, _emit, _engine, json_option


@click.group("migrate", cls=_EngineErrors)
def migrate_group() -> None:
    """Plan, dry-run and run a migration of running instances to another version."""


@click.group("migrations", cls=_EngineErrors)
def migrations_group() -> None:
    """Migration jobs and their per-instance results."""


def _mapping(values: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"{value!r} is not OLD=NEW", param_hint="--map")
        mapping[old.strip()] = new.strip()
    return mapping


def _selection(positions: tuple[str, ...], instances: tuple[int, ...]) -> dryrun.Selection:
    return dryrun.Selection(instance_ids=tuple(instances) or None, positions=tuple(positions) or None)


versions_options = [
    click.argument("key"),
    click.option("--from", "from_number", type=click.IntRange(1, 2**31 - 1), required=True,
                 help="The process version the instances are on."),
    click.option("--to", "to_number", type=click.IntRange(1, 2**31 - 1), required=True,
                 help="The process version to move them to."),
    click.option("--map", "mapping", multiple=True, metavar="OLD=NEW",
                 help="Map an element of the source version to one of the target (repeatable)."),
    click.option("--position", "positions", multiple=True, metavar="BPMN_ID",
                 help="Only instances waiting at this element (repeatable)."),
    click.option("--instance", "instances", multiple=True, type=click.IntRange(1, 2**31 - 1),
                 help="Only this instance (repeatable)."),
]


def _with_versions(fn):
    for option in reversed(versions_options):
        fn = option(fn)
    return fn


@migrate_group.command("plan")
@_with_versions
@click.option("--dry-run", "dry", is_flag=True, help="Also check every selected running instance.")
@json_option
@with_appcontext
def plan_command(key, from_number, to_number, mapping, positions, instances, dry, as_json) -> None:
    """What changes from version N to M of process KEY; with --dry-run, which instances can move."""
    eng = _engine()
    if dry:
        result = dryrun.dry_run(eng, key, from_number, to_number, _mapping(mapping), _selection(positions, instances))
        _emit(result.to_dict(), as_json, lambda _: _print_dry_run(result))
        return
    with eng.db.session() as session:
        found = plans.build(session, eng.specs, key, from_number, to_number, _mapping(mapping))
    _emit(found.to_dict(), as_json, lambda body: _print_plan(body))


def _print_plan(body: dict) -> None:
    click.echo(f"{body['name']} ({body['process_id']}): v{body['from']['number']} → v{body['to']['number']} "
               f"(definition version {body['from']['definition_version']} → {body['to']['definition_version']})")
    for mapped_from, mapped_to in body["mapping"].items():
        click.echo(f"  map      {mapped_from} → {mapped_to}")
    for element in body["elements"]:
        target = f" → {element['target']}" if element["target"] else ""
        changed = f" [{', '.join(element['attributes'])}]" if element["attributes"] else ""
        click.echo(f"  {element['change']:<8} {element['process_id']}/{element['element'] or '*'}{target} "
                   f"{element['name']} ({element['kind']}){changed}")
    click.echo(f"  unchanged elements: {body['unchanged']}")
    for form in body["forms"]:
        click.echo(f"  form {form['change']:<8} {form['name']}")


def _print_dry_run(result: dryrun.DryRun) -> None:
    _print_plan(result.plan.to_dict())
    summary = result.summary()
    click.echo(f"dry-run: {summary['total']} running instance(s), {summary['can']} can move, "
               f"{summary['cannot']} cannot ({result.seconds:.2f} s)")
    for item in result.items:
        where = ", ".join(p["name"] for p in item.position) or "—"
        click.echo(f"  #{item.instance_id} {'yes' if item.can_migrate else 'NO '} at {where}")
        for reason in item.reasons:
            click.echo(f"      {reason.code}: {reason.message_en}")


@migrate_group.command("run")
@_with_versions
@click.option("--all", "everything", is_flag=True, help="Every running instance on the source version.")
@click.option("--note", default=None, help="Why (kept with the job).")
@click.option("--by", "created_by", default="process_owner", help="Who migrates (recorded in each history).")
@click.option("--wait", is_flag=True, help="Run the job here and now instead of leaving it to the worker.")
@json_option
@with_appcontext
def run_command(key, from_number, to_number, mapping, positions, instances, everything, note, created_by, wait,
                as_json) -> None:
    """Migrate the selected running instances of KEY from version N to M, as a job (each instance in its
    own command; refused ones are left as they were)."""
    if not (everything or positions or instances):
        raise click.UsageError("say which instances: --all, --position BPMN_ID or --instance ID")
    note = (note or "").strip() or None
    if note is not None and len(note) > 500:
        raise click.BadParameter("at most 500 characters", param_hint="--note")
    eng = _engine()
    job = jobs.create_job(eng, process_id=key, from_number=from_number, to_number=to_number,
                          mapping=_mapping(mapping), selection=_selection(positions, instances),
                          created_by=created_by, note=note)
    if wait:
        job = jobs.run_job(eng, job["id"], runner=f"cli-{os.getpid()}")
    _emit(job, as_json, lambda view: _print_job(view, wait, queued=not wait))


def _print_job(view: dict, items: bool = True, *, queued: bool = False) -> None:
    counts = ", ".join(f"{status} {n}" for status, n in view["counts"].items() if n)
    click.echo(f"migration job {view['id']}: {view['process_id']} v{view['from_number']} → v{view['to_number']} "
               f"{view['status']} — {view['total']} instance(s): {counts or 'none'}")
    if view.get("note"):
        click.echo(f"  note: {view['note']}")
    if queued:
        click.echo(f"  the worker runs it (greenflow worker or serve); see: greenflow migrations show {view['id']}")
    if not items:
        return
    for item in view.get("items", []):
        click.echo(f"  #{item['instance_id']} {item['status']}" + (f": {item['message']}" if item["message"] else ""))
        for reason in item["reasons"]:
            click.echo(f"      {reason['code']}: {reason['message_en']}")


@migrations_group.command("show")
@click.argument("job_id", type=click.IntRange(1, 2**31 - 1), required=False)
@click.option("--status", type=click.Choice(ITEM_STATUSES), default=None, help="Only items of this status.")
@click.option("--process", "process_id", default=None, help="Only jobs of this process.")
@json_option
@with_appcontext
def show_command(job_id, status, process_id, as_json) -> None:
    """The migration jobs, newest first; or one job with its per-instance results."""
    eng = _engine()
    if job_id is None:
        listed = jobs.jobs_of(eng, process_id)

        def human(rows):
            for view in rows:
                click.echo(f"{view['id']:>5} {view['process_id']} v{view['from_number']} → v{view['to_number']} "
                           f"{view['status']:<9} {view['counts']['migrated']}/{view['total']} migrated "
                           f"(by {view['created_by']}, {view['created_at']})")
            if not rows:
                click.echo("no migration jobs")

        _emit(listed, as_json, human)
        return
    view = jobs.job_view(eng, job_id, status=status, per_page=10_000)
    _emit(view, as_json, _print_job)


@migrations_group.command("cancel")
@click.argument("job_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--by", "by", default="process_owner", help="Who cancels (recorded).")
@json_option
@with_appcontext
def cancel_command(job_id, by, as_json) -> None:
    """Stop a job before its next instance; instances already migrated stay migrated."""
    view = jobs.cancel_job(_engine(), job_id, by=by)
    _emit(view, as_json, lambda v: _print_job(v, items=False))
