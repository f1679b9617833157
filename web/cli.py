"""``greenflow``: the command line. Each command wraps a plain function of engine/ or handlers/."""
from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from engine.errors import EngineError


def _engine():
    return current_app.extensions["greenflow"]


def _settings():
    return current_app.config["GREENFLOW"]


def _emit(value: Any, as_json: bool, human=None) -> None:
    if as_json:
        click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
    elif human is not None:
        human(value)
    else:
        click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _parse_json(text: str, name: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise click.BadParameter(f"not valid JSON: {err}", param_hint=name) from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=name)
    return value


class _EngineErrors(click.Group):
    """Turns engine errors into a clear message and exit code 2 instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EngineError as err:
            click.echo(f"error ({err.code}): {err.message}", err=True)
            for field, message in err.fields.items():
                click.echo(f"  {field}: {message}", err=True)
            ctx.exit(2)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
as_option = click.option("--as", "username", required=True, help="Act as this user.")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the schema and load the reference data (divisions)."""
    from handlers import setup

    settings = _settings()
    settings.ensure_instance_dir()
    setup.init_database(_engine())
    click.echo(f"schema is up to date on {_engine().db.engine.url.render_as_string(hide_password=True)}")
    _ensure_signing_key(settings)


def _ensure_signing_key(settings) -> None:
    """The key that signs history checkpoints: made when absent (docs/audit-evidence.md)."""
    from engine.evidence.statement import ensure_key
    from web.evidence import key_path

    path = key_path(settings)
    key, made = ensure_key(path)
    if made:
        click.echo(f"made the audit signing key {path} ({key.fingerprint}); keep it private")


@click.command("deploy")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--by", "deployed_by", default="process_owner", help="Who deploys (recorded).")
@click.option("--note", default=None, help="The change note, kept with the new process versions and the deployment log.")
@json_option
@with_appcontext
def deploy_command(directory: str | None, deployed_by: str, note: str | None, as_json: bool) -> None:
    """Check (deploy's checks and bpmnlint) and deploy exactly the diagrams and forms in DIRECTORY
    (default: bpmn/); the deploy is recorded in the deployment log (docs/modeler.md)."""
    from web.modeler.lint import Linter, as_checks

    note = (note or "").strip() or None
    if note is not None and len(note) > 500:
        raise click.BadParameter("at most 500 characters", param_hint="--note")
    lint_problems: list = []
    try:
        result = _engine().deploy(directory or _settings().bpmn_dir, deployed_by=deployed_by, note=note, source="cli",
                                  checks=as_checks(Linter.from_config(current_app.config), lint_problems))
    finally:
        for problem in lint_problems:
            if problem.severity != "error":  # errors are in the refusal's message
                where = f"{problem.file}:{problem.line}" if problem.line else problem.file
                click.echo(f"warning: {where}{f' [{problem.element_id}]' if problem.element_id else ''}: "
                           f"{problem.message}", err=True)
    verb = "deployed" if result.created else "unchanged (identical content already deployed)"

    def human(r):
        click.echo(f"version {r['version_id']} {verb}: {', '.join(r['processes'])} (sha256 {r['sha256'][:12]})")
        if r["changed"]:
            click.echo("new process versions: " + ", ".join(f"{pid} v{r['versions'][pid]}" for pid in r["changed"]))

    _emit(result.__dict__, as_json, human)


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete the SQLite demo database first.")
@with_appcontext
def demo_command(reset: bool) -> None:
    """Set up a demo database: schema, divisions, accounts for every role, sample applications."""
    from handlers import demo, setup

    settings = _settings()
    if reset and settings.database_url.startswith("sqlite:///"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        _engine().db.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    settings.ensure_instance_dir()
    setup.init_database(_engine())
    _ensure_signing_key(settings)
    _engine().deploy(settings.bpmn_dir, deployed_by="demo")
    # One made-up password for every demo account, kept beside the demo database and printed.
    credentials = Path(current_app.instance_path) / "demo-credentials.txt"
    if reset or not credentials.exists():
        credentials.parent.mkdir(parents=True, exist_ok=True)
        credentials.write_text(secrets.token_urlsafe(9) + "\n")
    click.echo(demo.seed(_engine(), password=credentials.read_text().strip(),
                         store_file=demo_file_store(settings.upload_dir)))


def demo_file_store(upload_dir: str):
    """``store_file`` for ``handlers.demo.seed``: the demo's PDFs go into the upload store like any upload."""
    import io

    from web.uploads import FileStore

    store = FileStore(upload_dir)
    return lambda name, content: store.save(io.BytesIO(content), name)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-timers", is_flag=True, help="Do not fire due timers in this process.")
@with_appcontext
def serve_command(host: str, port: int, threads: int, no_timers: bool) -> None:
    """Run the web application (waitress) and, unless --no-timers, the timer worker."""
    import threading

    from waitress import serve

    from engine.worker import TimerWorker

    stop = threading.Event()
    worker = None if no_timers else _worker_with_web_jobs(TimerWorker(_engine(), name="serve"))
    if worker is not None:  # the embedded default: web and worker in one process
        threading.Thread(target=worker.run, args=(stop,), name="greenflow-worker", daemon=True).start()
    click.echo(f"greenflow serving on http://{host}:{port}/  (Ctrl+C to stop)")
    try:
        serve(current_app._get_current_object(), host=host, port=port, threads=threads)
    finally:
        stop.set()
        if worker is not None:
            worker.close()


def _worker_with_web_jobs(worker):
    """The worker plus the web side's leader jobs: the hourly upload sweep (``web.upload_sweep``),
    notifications and mail (``engine.notifications.jobs``)."""
    from web.upload_sweep import UploadSweeper

    worker.jobs.append(UploadSweeper(_engine(), _settings().upload_dir))
    # Deadline watch, outbox → notification centre, and mail (engine.notifications.jobs; docs/notifications.md).
    from engine.notifications.jobs import NotificationJob
    from engine.notifications.mail import MailSettings

    worker.jobs.append(NotificationJob(_engine(), MailSettings.from_settings(_settings())))
    return worker


@click.command("worker")
@click.option("--poll", "poll_seconds", default=2.0, show_default=True, type=float,
              help="Seconds between polls for timers created elsewhere.")
@click.option("--name", default=None, help="Worker name (default worker-<pid>).")
@with_appcontext
def worker_command(poll_seconds: float, name: str | None) -> None:
    """Run the timer worker (APScheduler): fires due timers; several may run against PostgreSQL."""
    import logging

    from engine.worker import TimerWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    worker = _worker_with_web_jobs(TimerWorker(_engine(), name=name, poll_seconds=poll_seconds))
    click.echo(f"{worker.name} firing due timers (poll every {poll_seconds} s; Ctrl+C to stop)")
    try:
        worker.run()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        worker.close()


@click.group("instances", cls=_EngineErrors)
def instances_group() -> None:
    """Start and inspect process instances."""


@instances_group.command("start")
@click.argument("process_id")
@click.option("--data", "data_json", default="{}", help="Start data as a JSON object.")
@as_option
@json_option
@with_appcontext
def instances_start(process_id: str, data_json: str, username: str, as_json: bool) -> None:
    eng = _engine()
    outcome = eng.start(process_id, _parse_json(data_json, "--data"), actor=eng.actor(username))
    _emit(outcome.__dict__, as_json, lambda o: click.echo(f"instance {o['instance_id']} started: {o['status']}"))


@instances_group.command("show")
@click.argument("instance_id", type=int)
@json_option
@with_appcontext
def instances_show(instance_id: int, as_json: bool) -> None:
    view = _engine().instance(instance_id)

    def human(v):
        click.echo(f"#{v['id']} {v['title']} [{v['process_id']} v{v['version']}] status={v['status']}")
        for t in v["tasks"]:
            click.echo(f"  task {t['id']:>5} {t['status']:<9} {t['name']} ({t['role']} @ {t['scope']})"
                       f"{' by ' + t['completed_by'] if t['completed_by'] else ''}")
        for e in v["events"]:
            click.echo(f"  {e['seq']:>3} {e['at']} {e['actor']:<20} {e['type']}")

    _emit(view, as_json, human)


@click.group("tasks", cls=_EngineErrors)
def tasks_group() -> None:
    """List and complete human tasks."""


@tasks_group.command("list")
@as_option
@click.option("--done", is_flag=True, help="Tasks this user completed instead of open ones.")
@json_option
@with_appcontext
def tasks_list(username: str, done: bool, as_json: bool) -> None:
    eng = _engine()
    rows = eng.tasks_for(eng.actor(username), status="done" if done else "open")

    def human(items):
        if not items:
            click.echo("no tasks")
        for t in items:
            click.echo(f"{t['id']:>6}  #{t['instance_id']:<6} {t['name']:<16} {t['role']} @ {t['scope']}"
                       f"  due {t['due_at'] or '-'}")

    _emit(rows, as_json, human)


@tasks_group.command("complete")
@click.argument("task_id", type=int)
@click.option("--data", "data_json", default="{}", help="Form data as a JSON object.")
@as_option
@json_option
@with_appcontext
def tasks_complete(task_id: int, data_json: str, username: str, as_json: bool) -> None:
    eng = _engine()
    outcome = eng.complete(task_id, _parse_json(data_json, "--data"), actor=eng.actor(username))
    _emit(outcome.__dict__, as_json, lambda o: click.echo(
        f"task {task_id} completed; instance {o['instance_id']} is {o['status']}"))


@click.group("incidents", cls=_EngineErrors, invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Include resolved and dismissed incidents.")
@json_option
@click.pass_context
@with_appcontext
def incidents_group(ctx, show_all: bool, as_json: bool) -> None:
    """List incidents (commands that failed inside the engine)."""
    if ctx.invoked_subcommand is not None:
        return
    rows = _engine().incidents(status=None if show_all else "open")

    def human(items):
        if not items:
            click.echo("no incidents")
        for i in items:
            click.echo(f"#{i['id']} instance {i['instance_id']} ({i['process_id']}) task {i['task']} "
                       f"[{i['status']}, {i['attempts']} attempt(s)] {i['command']}: {i['error']}")
            if i["note"]:
                click.echo(f"    {i['status']} by {i['resolved_by']}: {i['note']}")

    _emit([{k: v for k, v in i.items() if k != "traceback" or as_json} for i in rows], as_json, human)


operator_option = click.option("--by", "operator", default="operator", show_default=True,
                               help="The operator (recorded in the history).")


@incidents_group.command("retry")
@click.argument("incident_id", type=int)
@operator_option
@with_appcontext
def incidents_retry(incident_id: int, operator: str) -> None:
    """Run the failed command again; resolves the incident if it succeeds, or if it can no longer run."""
    outcome = _engine().retry_incident(incident_id, operator=operator)
    if outcome.result.get("ran") is False:
        where = f"; instance {outcome.instance_id} is {outcome.status}" if outcome.instance_id else ""
        click.echo(f"incident {incident_id} resolved without running{where}: {outcome.result['note']}")
        return
    click.echo(f"incident {incident_id} resolved; instance {outcome.instance_id} is {outcome.status}")


def _close_incident(incident_id: int, note: str, operator: str, how: str) -> None:
    eng = _engine()
    close = eng.resolve_incident if how == "resolve" else eng.dismiss_incident
    view = close(incident_id, note=note, operator=operator)
    where = f"; instance {view['instance_id']} is {view['instance_status']}" if view["instance_id"] else ""
    click.echo(f"incident {incident_id} {view['status']} by {operator}{where}")


@incidents_group.command("resolve")
@click.argument("incident_id", type=int)
@click.option("--note", required=True, help="What was done (recorded in the instance's history).")
@operator_option
@with_appcontext
def incidents_resolve(incident_id: int, note: str, operator: str) -> None:
    """Close an open incident as resolved: its cause is fixed, or its command is not needed."""
    _close_incident(incident_id, note, operator, "resolve")


@incidents_group.command("dismiss")
@click.argument("incident_id", type=int)
@click.option("--note", required=True, help="Why nothing needs to be done (recorded in the history).")
@operator_option
@with_appcontext
def incidents_dismiss(incident_id: int, note: str, operator: str) -> None:
    """Close an open incident as dismissed: nothing needs to be done about it."""
    _close_incident(incident_id, note, operator, "dismiss")


@click.group("history", cls=_EngineErrors)
def history_group() -> None:
    """The append-only history."""


@history_group.command("verify")
@click.argument("instance_id", type=int, required=False)
@click.option("--all", "all_", is_flag=True, help="Every instance, the checkpoint chain and the logs (issue 14).")
@click.option("--against", "against", type=click.File("rb"), default=None,
              help="A signed checkpoint statement kept outside the system (greenflow audit checkpoint --out).")
@click.option("--by", "by", default=None, help="Who verifies (recorded in the access log; default shell:<account>).")
@json_option
@with_appcontext
def history_verify(instance_id: int | None, all_: bool, against, by: str | None, as_json: bool) -> None:
    """Recompute the hash chain of an instance's events, or with --all of every instance (and compare
    with the newest checkpoint, or with the statement given by --against). Exit status 1 on any break;
    an instance that does not exist is an error (status 2)."""
    if (instance_id is None) == (not all_ and against is None):
        raise click.UsageError("give an INSTANCE_ID, or --all (optionally with --against FILE)")
    if instance_id is None:
        from web import evidence
        from web.cli_audit_evidence import echo_report, shell_user
        from web.access_log import record_cli_access

        from engine.evidence.statement import MAX_BYTES

        report = evidence.verify(_engine(), statement_bytes=against.read(MAX_BYTES + 1) if against else None)
        anchor = report.anchor or {}
        record_cli_access(_engine(), by or shell_user(), "audit.verify",
                          f"checkpoint:{anchor['id']}" if anchor else "histories:all",
                          detail={"ok": report.ok, "instances": report.instances, "problems": report.problem_count,
                                  "against": anchor.get("source")})
        _emit(report.to_dict(), as_json, lambda _: echo_report(report))
        if not report.ok:
            sys.exit(1)
        return
    check = _engine().verify_history(instance_id)
    if as_json:
        _emit({"instance_id": instance_id, **check.__dict__}, True)
    elif check.ok:
        click.echo(f"instance {instance_id}: {check.events} events, hash chain intact")
    else:
        click.echo(f"instance {instance_id}: BROKEN at event {check.first_bad_seq}: {check.reason}", err=True)
    if not check.ok:
        sys.exit(1)


COMMANDS = [init_command, deploy_command, demo_command, serve_command, worker_command, instances_group, tasks_group,
            incidents_group, history_group]


def register(app: Flask) -> None:
    from web import cli_audit_evidence, cli_audit_replay  # noqa: F401  (they add commands to audit_group)
    from web.cli_audit import audit_group
    from web.cli_calendar import calendar_group
    from web.cli_migrations import migrate_group, migrations_group
    from web.cli_uploads import uploads_group
    from web.cli_users import users_group
    from web.cli_notifications import notifications_group
    from web.cli_records import records_group

    for command in [*COMMANDS, calendar_group, uploads_group, users_group, audit_group, migrate_group,
                    migrations_group, notifications_group, records_group]:
        app.cli.add_command(command)


def _create_app():
    from web.app import create_app

    return create_app()


def _json_everywhere(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``greenflow --json COMMAND …``: as if every command below had been given ``--json``."""
    if value:
        ctx.default_map = _json_defaults(ctx.command, ctx)


def _json_defaults(group: click.Group, ctx: click.Context) -> dict:
    """The ``default_map`` turning on ``--json`` (the ``as_json`` parameter) in every command of ``group``."""
    found: dict = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        entry = _json_defaults(command, ctx) if isinstance(command, click.Group) else {}
        if any(p.name == "as_json" for p in command.params):
            entry["as_json"] = True
        if entry:
            found[name] = entry
    return found


class _Main(FlaskGroup, _EngineErrors):
    """The ``greenflow`` command: our commands only (not Flask's ``--app``/``--env-file``/``--debug``,
    nor the ``limiter`` command Flask-Limiter plugs into every Flask CLI), and ``--json`` before the
    command as well as after it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.params = [p for p in self.params if p.name not in ("env_file", "app", "debug")]
        self.params.append(click.Option(["--json", "as_json"], is_flag=True, expose_value=False,
                                        callback=_json_everywhere,
                                        help="Print JSON (the same as --json after the command)."))
        self._loaded_plugin_commands = True  # no ``flask.commands`` entry points (Flask-Limiter's ``limiter``)


main = _Main(create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False, help="贵州省绿色制造梯度培育管理平台 / greenflow")


if __name__ == "__main__":  # python -m web.cli (used by tests that spawn workers)
    main()
