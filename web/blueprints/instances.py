"""Process instances: a list for those who oversee them, one instance's record, its diagram and files."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from engine.models import ProcessInstance
from web import access, process_menu, vocab
from web.attachments import attachment, attachments_of, send_stored
from web.access_log import record_access
from web.extensions import engine
from web.submission import start_form_entries
from web.status import status_label_of, status_labels
from web.timeline import form_lookup, people_of, timeline_for

bp = Blueprint("instances", __name__, url_prefix="/instances")
PER_PAGE = 50


@bp.get("/")
@login_required
def index():
    """Instances the user may read, newest first; filter by process and status, search the title."""
    actor = current_user.actor
    eng = engine()
    page = max(1, request.args.get("page", 1, type=int) or 1)
    conditions = [access.visible_instances(actor)]
    if request.args.get("process"):
        conditions.append(ProcessInstance.process_id == request.args["process"])
    if request.args.get("status"):
        conditions.append(ProcessInstance.status == request.args["status"])
    if request.args.get("q"):
        conditions.append(ProcessInstance.title.contains(request.args["q"][:100], autoescape=True))
    with eng.db.session() as session:
        total = session.scalar(select(func.count()).select_from(ProcessInstance).where(*conditions))
        rows = session.execute(select(ProcessInstance.id, ProcessInstance.process_id, ProcessInstance.title,
                                      ProcessInstance.status, ProcessInstance.created_at)
                               .where(*conditions).order_by(ProcessInstance.id.desc())
                               .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return render_template("instances/index.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), processes=eng.process_names(), vocab=vocab,
                           args=request.args, statuses=status_labels((r.id, r.status) for r in rows),
                           process_choices=process_menu.choices())


@bp.get("/<int:instance_id>")
@login_required
def show(instance_id: int):
    eng = engine()
    with eng.db.session() as session:
        access.require_instance(session, current_user.actor, instance_id)
        documents = attachments_of(session, instance_id)
    record_access("instance.view", f"instance:{instance_id}")  # 等保 access log (web/access_log.py)
    instance = eng.instance(instance_id)
    forms = form_lookup(instance)
    tasks = [{**t, "outcome_text": vocab.outcome_label(t["outcome"], forms(t["id"]))} for t in instance["tasks"]]
    names = people_of([t["completed_by"] or t["assignee"] for t in tasks] + [d.uploaded_by for d in documents])
    return render_template("instances/show.html", instance=instance, summary=instance["summary"], tasks=tasks,
                           timeline=timeline_for(instance), documents=documents, vocab=vocab, names=names,
                           instance_status=status_label_of(instance_id, instance["status"]),
                           submitted=start_form_entries(instance, {d.sha256: d.filename for d in documents}))


@bp.get("/<int:instance_id>/diagram.json")
@login_required
def diagram(instance_id: int):
    """The diagrams with finished and current elements, for static/js/diagram.js."""
    eng = engine()
    with eng.db.session() as session:
        access.require_instance(session, current_user.actor, instance_id)
    return jsonify({"diagrams": eng.diagrams(instance_id)})


@bp.get("/<int:instance_id>/files/<sha256>")
@login_required
def download(instance_id: int, sha256: str):
    """A file attached to the instance, for those who may read the instance (never by hash alone)."""
    eng = engine()
    with eng.db.session() as session:
        access.require_instance(session, current_user.actor, instance_id)
        record = attachment(session, instance_id, sha256)
    if record is None:
        access.not_found(_("附件不存在"))
    record_access("instance.file", f"instance:{instance_id}", detail={"file": sha256, "name": record.filename})
    return send_stored(sha256, filename=record.filename, content_type=record.content_type, missing=_("附件不存在"))
