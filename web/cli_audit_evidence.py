"""``greenflow audit checkpoint | checkpoints | public-key | export | access-log``: tamper evidence and
exports from the shell (docs/audit-evidence.md). ``greenflow history verify --all [--against FILE]``
lives with the ``history`` group in ``web.cli``.

Every command here is recorded in the access log as done by ``--by`` (default: the shell account).
"""
from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine.errors import EngineError, InvalidInput
from engine.evidence import checkpoints
from engine.exports import FORMATS
from engine.models import INSTANCE_STATUSES
from web import evidence
from web.access_log import AccessQuery, access_page, record_cli_access
from web.cli import _emit, json_option
from web.cli_audit import audit_group


def _engine():
    return current_app.extensions["greenflow"]


def shell_user() -> str:
    return f"shell:{getpass.getuser()}"


by_option = click.option("--by", "by", default=None, help="Who does this (recorded; default shell:<account>).")


def _write(out: str, data: bytes | str) -> None:
    path = Path(out)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


@audit_group.command("checkpoint")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the signed statement to this file (keep it outside the system).")
@click.option("--id", "checkpoint_id", type=int, default=None, help="A stored checkpoint instead of a new one.")
@by_option
@json_option
@with_appcontext
def audit_checkpoint(out: str | None, checkpoint_id: int | None, by: str | None, as_json: bool) -> None:
    """Take a checkpoint of every chain head and the logs now (or take stored checkpoint --id), and
    write it as a signed statement to --out (or print it)."""
    eng, by = _engine(), by or shell_user()
    evidence.require_signing_key()  # before taking one: the statement needs it
    if checkpoint_id is None:
        point = evidence.take_checkpoint(eng, by=by)
        record_cli_access(eng, by, "audit.checkpoint.create", f"checkpoint:{point.id}",
                          detail={"instances": point.instances, "events": point.events})
    else:
        with eng.db.session() as session:
            point = checkpoints.get(session, checkpoint_id)
    text = evidence.statement_of(eng, point.id)
    record_cli_access(eng, by, "audit.checkpoint.download", f"checkpoint:{point.id}", detail={"out": out or "-"})
    if out:
        _write(out, text)
    if as_json:
        _emit({**point.to_dict(), "statement": text, "out": out}, True)
    elif out:
        broken = f"; already broken then: {', '.join(map(str, point.broken))}" if point.broken else ""
        click.echo(f"checkpoint {point.id}: {point.instances} instances, {point.events} events, "
                   f"merkle root {point.merkle_root[:16]}…{broken}; signed statement written to {out}")
    else:
        click.echo(text, nl=False)


@audit_group.command("checkpoints")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@json_option
@with_appcontext
def audit_checkpoints(limit: int, as_json: bool) -> None:
    """The stored checkpoints, newest first."""
    with _engine().db.session() as session:
        items, total = checkpoints.page(session, page=1, per_page=limit)

    def human(rows):
        for row in rows:
            broken = f"  broken then: {row['broken']}" if row["broken"] else ""
            click.echo(f"#{row['id']}  {row['created_at']}  {row['created_by']}  {row['instances']} instances  "
                       f"{row['events']} events  root {row['merkle_root'][:16]}…{broken}")
        click.echo(f"{total} checkpoint(s)")

    _emit([item.to_dict() for item in items], as_json, human)


@audit_group.command("public-key")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None)
@with_appcontext
def audit_public_key(out: str | None) -> None:
    """The public key that checks the signed statements (PEM), and its fingerprint on stderr."""
    key = evidence.require_signing_key()
    if out:
        _write(out, key.public_pem())
    else:
        click.echo(key.public_pem(), nl=False)
    click.echo(f"fingerprint {key.fingerprint}", err=True)


@audit_group.command("export")
@click.option("--format", "fmt", required=True, type=click.Choice(list(FORMATS)))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The file to write.")
@click.option("--process", "process_id", default=None, help="Only this process (e.g. green_application).")
@click.option("--status", default=None, type=click.Choice(list(INSTANCE_STATUSES)))
@click.option("--since", default=None, help="Cases started on or after this China date (YYYY-MM-DD).")
@click.option("--until", default=None, help="Cases started on or before this China date (YYYY-MM-DD).")
@click.option("--personal-data", "personal_data", is_flag=True,
              help="Unmasked personal data: --by must name an account holding the personal_data right.")
@by_option
@json_option
@with_appcontext
def audit_export(fmt: str, out: str, process_id: str | None, status: str | None, since: str | None,
                 until: str | None, personal_data: bool, by: str | None, as_json: bool) -> None:
    """Export the histories for process mining (XES, OCEL 2.0) or spreadsheets (CSV with BOM)."""
    eng, by = _engine(), by or shell_user()
    flt = evidence.parse_filter({"process_id": process_id or "", "status": status or "", "since": since or "",
                                 "until": until or ""})
    if personal_data:
        try:
            allowed = evidence.may_unmask(eng.actor(by))
        except EngineError:  # not an account (or deactivated): no right
            allowed = False
        if not allowed:
            record_cli_access(eng, by, "audit.export", f"export:{fmt}", result="denied",
                              detail={"personal_data": True})
            raise InvalidInput(f"{by} does not hold the personal_data right: personal data stays masked",
                               field="--personal-data")
    spool, summary = evidence.export_to_file(eng, fmt, flt, unmasked=personal_data)
    with spool, open(out, "wb") as target:
        while chunk := spool.read(1 << 20):
            target.write(chunk)
    record_cli_access(eng, by, "audit.export", f"export:{fmt}",
                      detail={**evidence.export_detail(fmt, flt, summary), "out": out})

    def human(s):
        click.echo(f"{fmt}: {s['cases']} cases, {s['events']} events"
                   f"{', %d objects' % s['objects'] if fmt == 'ocel' else ''}, {s['bytes']} bytes, "
                   f"sha256 {s['sha256']}{'' if not s['masked'] else ' (personal data masked)'} → {out}")

    _emit(summary.to_dict(), as_json, human)


@audit_group.command("personal-data-right")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take the right away.")
@by_option
@with_appcontext
def audit_personal_data_right(username: str, revoke: bool, by: str | None) -> None:
    """Grant (or --revoke) USER the right to export personal data unmasked (recorded in the access log)."""
    from sqlalchemy import select

    from engine.errors import NotFound
    from engine.models import RoleGrant, UserAccount

    eng = _engine()
    right = (evidence.PERSONAL_DATA_RIGHT, "520000")
    with eng.db.unit_of_work() as session:
        user = session.scalar(select(UserAccount).where(UserAccount.username == username))
        if user is None:
            raise NotFound(f"no user named {username!r}")
        held = [g for g in user.grants if (g.role, g.scope) == right]
        if revoke:
            for grant in held:
                user.grants.remove(grant)
        elif not held:
            user.grants.append(RoleGrant(role=right[0], scope=right[1]))
    record_cli_access(eng, by or shell_user(), "audit.personal_data_right", f"user:{username}",
                      detail={"revoked" if revoke else "granted": right[0]})
    click.echo(f"{username} {'no longer holds' if revoke else 'holds'} the personal_data right")


@audit_group.command("access-log")
@click.option("--user", "username", default=None)
@click.option("--action", default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@json_option
@with_appcontext
def audit_access_log(username: str | None, action: str | None, limit: int, as_json: bool) -> None:
    """The access log, newest first."""
    items, total = access_page(_engine(), AccessQuery(username=username, action=action, per_page=limit))

    def human(rows):
        for row in rows:
            click.echo(f"#{row['seq']}  {row['at'].isoformat()}  {row['username']}  {row['action']}  "
                       f"{row['object']}  {row['result']}  {row['address']}")
        click.echo(f"{total} entr{'y' if total == 1 else 'ies'}")

    _emit(items, as_json, human)


def echo_report(report) -> None:
    """The summary of ``history verify --all`` and each broken thing, with its first bad event."""
    anchor = report.anchor
    click.echo(f"{report.instances} instances, {report.events} events: {report.intact} intact; "
               f"{report.checkpoints} checkpoint(s) in the chain; access log {report.access_log.get('entries', 0)} "
               f"entries")
    if anchor is None:
        click.echo("no checkpoint yet: only the chains themselves were checked")
    elif anchor["source"] == "statement":
        signature = "valid" if anchor["signature_valid"] else "NOT VALID"
        key = "" if anchor["key_matches"] else f", signed with another key ({anchor['key']})"
        click.echo(f"compared with checkpoint {anchor['id']} of {anchor['created_at']} from the file: "
                   f"signature {signature}{key}")
    else:
        click.echo(f"compared with the newest stored checkpoint, {anchor['id']} of {anchor['created_at']} "
                   f"(only a statement kept outside holds against a database administrator)")
    for problem in report.problems:
        where = f" at event {problem.seq}" if problem.seq else ""
        if problem.seq_to and problem.seq_to != problem.seq:
            where = f" in events {problem.seq}–{problem.seq_to}"
        click.echo(f"BROKEN {problem.subject}{where}: {problem.reason}", err=True)
    if report.problem_count > len(report.problems):
        click.echo(f"… and {report.problem_count - len(report.problems)} more", err=True)
    click.echo("all intact" if report.ok else f"{report.problem_count} problem(s)")
