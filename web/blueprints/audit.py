"""审计查询与回放 (issue 13): find instances, step through a history, re-execute it against the record.

- ``/audit/``: the search (``web.audit_search``), auditors only, in their scope;
- ``/audit/instances/<id>?step=N``: the step-through page. Every step is folded from the stored
  history (``engine.replay.steps``): moving to another step re-reads the history, it never runs the
  workflow. The diagram of a step comes from ``…/diagram.json?step=N``;
- ``POST /audit/instances/<id>/replay``: re-run the recorded commands on a scratch database and
  compare every step (``engine.replay``); the run is kept (``replay_run``) and shown on the page.

Opening an instance's steps and running a replay are written to the access log (issue 14).

The blueprint also tells the engine where each request's commands come from (``before_app_request``):
every command's step records the channel (web page or API) and the client's address, which the
step-through page shows (``engine.replay.recording.Origin``).
"""
from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from engine.errors import InvalidInput, NotPermitted
from engine.replay import recording
from engine.replay.models import ReplayRun
from engine.replay.replayer import record_run, replay
from web import access_log, audit_search, audit_steps, formkit, status, vocab
from web.extensions import engine
from web.timeline import people_of

bp = Blueprint("audit", __name__, url_prefix="/audit")


# --- where commands come from ----------------------------------------------------------------

@bp.before_app_request
def _origin() -> None:
    channel = "api" if request.path.startswith("/api/") else "web"
    g.greenflow_origin = recording.set_origin(recording.Origin(channel, request.remote_addr or None))


@bp.teardown_app_request
def _origin_done(_exc=None) -> None:
    token = g.pop("greenflow_origin", None)
    if token is not None:
        recording.reset_origin(token)


# --- pages -------------------------------------------------------------------------------------------

def _actor():
    """The auditor; a refusal (403) is written to the access log too."""
    actor = current_user.actor
    try:
        audit_search.require_auditor(actor)
    except NotPermitted:
        access_log.record_access("audit.page", request.path[:120], result="denied")
        raise
    return actor


def _require(instance_id: int):
    """The instance if the auditor audits it (404 / 403, the refusal logged)."""
    actor = _actor()
    eng = engine()
    with eng.db.session() as session:
        try:
            audit_search.require_audited(session, actor, instance_id)
        except NotPermitted:
            access_log.record_access("audit.view_instance", f"instance:{instance_id}", result="denied")
            raise
    return actor


@bp.get("/")
@login_required
def search():
    """Instances the auditor may audit, filtered; newest first."""
    actor = _actor()
    eng = engine()
    query = audit_search.SearchQuery.parse(request.args)
    with eng.db.session() as session:
        rows, total = audit_search.search(session, actor, query, eng.clock.now())
    statuses = status.status_labels((r.id, r.status) for r in rows)  # 公示中（至…） during a notice
    return render_template("audit/search.html", rows=rows, total=total, query=query, args=request.args,
                           statuses=statuses, pages=max(1, -(-total // query.per_page)), processes=eng.process_names(),
                           happened=audit_search.HAPPENED, outcomes=audit_search.OUTCOMES, vocab=vocab)


def _trail(instance_id: int) -> audit_steps.AuditTrail:
    _require(instance_id)
    return audit_steps.trail(engine(), instance_id)


def _step_number(count: int) -> int:
    raw = request.args.get("step", "")
    if raw == "":
        return count
    if not raw.isdigit() or not 1 <= int(raw) <= max(count, 1):
        raise InvalidInput(_("step 应为 1 到 %(n)d 的整数", n=count), field="step")
    return int(raw)


@bp.get("/instances/<int(max=2147483647):instance_id>")
@login_required
def instance(instance_id: int):
    """One instance, one step at a time (``?step=N``, the last by default)."""
    trail = _trail(instance_id)
    if not trail.steps:
        access_log.record_access("audit.view_instance", f"instance:{instance_id}", detail={"steps": 0})
        return render_template("audit/instance.html", trail=trail, step=None, vocab=vocab, audit=audit_steps,
                               instance_status=status.status_label_of(instance_id, trail.instance.status),
                               runs=_runs(trail))
    number = _step_number(len(trail.steps))
    step = trail.steps[number - 1]
    schema, ui, values = audit_steps.form_of(trail, step)
    fields = formkit.build_fields(schema, ui, values) if schema else None
    access_log.record_access("audit.view_instance", f"instance:{instance_id}", detail={"step": number})
    return render_template("audit/instance.html", trail=trail, step=step, fields=fields, form_schema=schema,
                           instance_status=status.status_label_of(instance_id, trail.instance.status),
                           vocab=vocab, audit=audit_steps, runs=_runs(trail),
                           version=trail.version(step))


@bp.get("/instances/<int(max=2147483647):instance_id>/diagram.json")
@login_required
def diagram(instance_id: int):
    """The diagrams at ``?step=N``: completed, active and waiting elements then (for js/diagram.js)."""
    trail = _trail(instance_id)
    if not trail.steps:
        return jsonify({"diagrams": []})
    step = trail.steps[_step_number(len(trail.steps)) - 1]
    return jsonify({"diagrams": audit_steps.diagrams_at(trail, step)})


@bp.post("/instances/<int(max=2147483647):instance_id>/replay")
@login_required
def replay_instance(instance_id: int):
    """Re-execute the instance against its record; the result is kept and shown on the page."""
    actor = _require(instance_id)
    eng = engine()
    result = replay(eng, instance_id)
    run = record_run(eng, [result], by=actor.username, scope=f"instance:{instance_id}")
    access_log.record_access("audit.replay", f"instance:{instance_id}",
                             result="ok" if result.matched else "failed",
                             detail={"replay_run": run, "commands": result.commands, "matched": result.matched})
    if result.matched:
        flash(_("重新执行完成：1 个实例，0 个不一致（%(n)d 个命令逐步比对一致）", n=result.commands))
    else:
        flash(_("重新执行发现不一致：事件 %(seq)s，%(where)s", seq=result.first_divergence.seq or "—",
                where=result.first_divergence.where), "error")
    target = {"instance_id": instance_id}
    if request.form.get("step", "").isdigit():
        target["step"] = int(request.form["step"])
    return redirect(url_for("audit.instance", **target) + "#replay", code=303)


def _runs(trail: audit_steps.AuditTrail) -> list[ReplayRun]:
    """The instance's last replay runs; who ran them joins the names the page shows."""
    with engine().db.session() as session:
        runs = list(session.scalars(select(ReplayRun).where(ReplayRun.scope == f"instance:{trail.instance.id}")
                                    .order_by(ReplayRun.id.desc()).limit(5)))
    trail.people.update(people_of({run.started_by for run in runs} - set(trail.people)))
    return runs
