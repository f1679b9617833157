"""实例迁移: process owners move running instances of a process to another version (docs/migration.md).

Pages (every one: logged in, role ``process_owner``; anyone else 403):

- ``/modeler/<key>/migrate?from=N&to=M&map=OLD=NEW…``: pick the versions, see the plan (what
  changed between them, the forms that changed), map removed elements, and the dry-run: every
  running instance on N, grouped by where it stands, with whether it can move and why not; then
  pick the instances (all, by position, by number) and start the migration.
- ``POST /modeler/<key>/migrations``: store the job (the worker runs it) and go to its page.
- ``/modeler/<key>/migrations``: the process's jobs; ``?job=N``: one job's progress and per-instance
  results (the page reloads itself while the job runs); ``POST …/migrations/cancel`` (form ``job``)
  stops it before its next instance.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from engine import text
from engine.errors import EngineError, InvalidInput
from engine.migration import dryrun, jobs
from engine.migration.models import ITEM_STATUSES
from web.blueprints.auth import require_role
from web.extensions import engine
from web.i18n import pick
from web.modeler import catalog

bp = Blueprint("migrations", __name__, url_prefix="/modeler")
OWNER_ROLES = ("process_owner",)
MAX_NUMBER = 2**31 - 1
MAX_NOTE = 500
PER_PAGE = 50
MAX_IDS_TEXT = 100_000

CHANGE_LABELS = {"changed": "修改", "added": "新增", "removed": "删除", "renamed": "对应到新元素", "unchanged": "未变"}
KIND_LABELS = {"UserTask": "用户任务", "ManualTask": "人工任务", "ServiceTask": "服务任务", "ScriptTask": "脚本任务",
               "CallActivity": "子流程", "SubWorkflowTask": "内嵌子流程", "ExclusiveGateway": "排他网关",
               "ParallelGateway": "并行网关", "InclusiveGateway": "包容网关", "EventBasedGateway": "事件网关",
               "StartEvent": "开始事件", "EndEvent": "结束事件", "IntermediateCatchEvent": "中间事件",
               "IntermediateThrowEvent": "中间事件", "BoundaryEvent": "边界事件", "process": "流程"}
ATTRIBUTE_LABELS = {"extensions": "属性（角色、表单、期限等）", "outputs": "后续连线", "inputs": "前序连线",
                    "event_definition": "事件定义（定时、消息）", "bpmn_name": "名称", "lane": "泳道",
                    "prescript": "前置脚本", "postscript": "后置脚本", "script": "脚本", "cond_task_specs": "条件",
                    "typename": "类型", "spec": "调用的流程", "documentation": "说明", "cancel_activity": "是否中断"}
ITEM_LABELS = {"pending": "等待中", "migrated": "已迁移", "refused": "不能迁移", "failed": "出错", "skipped": "已跳过",
               "cancelled": "已取消"}
JOB_LABELS = {"pending": "等待执行", "running": "执行中", "completed": "已完成", "cancelled": "已取消"}
STATE_LABELS = {"READY": "待办", "WAITING": "等待", "STARTED": "进行中"}
# Elements an instance can stand at (a removed boundary event is dropped, never mapped).
WAITING_KINDS = ("UserTask", "ManualTask", "IntermediateCatchEvent", "EventBasedGateway", "ReceiveTask", "CallActivity",
                 "SubWorkflowTask", "ParallelGateway", "InclusiveGateway")


@bp.before_request
def _owners_only():
    """Log in first; then only process owners (403 for everyone else)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    require_role(*OWNER_ROLES)
    return None


@bp.errorhandler(EngineError)
def _engine_error(err: EngineError):
    body = text.safe(err.to_dict())
    return render_template("error.html", status=err.http_status, message=body["message"],
                           fields=body["fields"]), err.http_status


@bp.app_template_global("migration_label")
def migration_label(table: str, key: str) -> str:
    """The words for a code of the migration pages (a change, a kind, a status…), in the page's language."""
    labels = {"change": CHANGE_LABELS, "kind": KIND_LABELS, "attribute": ATTRIBUTE_LABELS, "item": ITEM_LABELS,
              "job": JOB_LABELS, "state": STATE_LABELS}[table]
    return _(labels[key]) if key in labels else key


def _number(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 0 < int(raw) <= MAX_NUMBER:
        abort(404, description=_("版本号无效：%(n)s", n=text.safe(raw)[:20]))
    return int(raw)


def _mapping(values: list[str]) -> dict[str, str] | str:
    """``OLD=NEW`` values (empty ones ignored) as a dict, or the message for the first bad one."""
    mapping = {}
    for value in values:
        if not value:
            continue
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip() or text.text_problem(value) or len(value) > 250:
            return _("映射须写作 旧元素=新元素：%(v)s", v=text.safe(value)[:80])
        mapping[old.strip()] = new.strip()
    return mapping


def _latest(key: str):
    latest = catalog.latest(engine(), key)
    if latest is None:
        abort(404, description=_("流程 %(key)s 不存在（尚未部署）", key=key))
    return latest


def _default_from(key: str, versions: list[dict], latest: int) -> int | None:
    """The newest older version that still has running instances, else the one before the latest."""
    running = [v["version"] for v in versions if v["version"] < latest and v["instances"]["running"]]
    if running:
        return max(running)
    return latest - 1 if latest > 1 else None


def _reason(reason) -> dict:
    data = reason if isinstance(reason, dict) else reason.to_dict()
    return {"code": data["code"], "element": data.get("element"), "message": pick(data["message_zh"], data["message_en"])}


# --- the plan and the dry-run ------------------------------------------------------------------------

@bp.get("/<key>/migrate")
def plan_page(key: str):
    return _render_plan(key, request.args)


def _render_plan(key: str, args, *, status: int = 200, error: str | None = None, note: str = ""):
    latest = _latest(key).number
    versions = catalog.version_list(engine(), key)
    to_number = _number(args.get("to"), "to") or latest
    from_number = _number(args.get("from"), "from") or _default_from(key, versions, to_number)
    mapping = _mapping(args.getlist("map"))
    page_data = {"key": key, "name": engine().process_names().get(key, key), "versions": versions,
                 "from_number": from_number, "to_number": to_number, "latest": latest, "plan": None, "dry": None,
                 "error": error, "note": note, "max_note": MAX_NOTE, "mapping": {}}
    if isinstance(mapping, str):
        page_data["error"] = mapping
        return render_template("migrations/plan.html", **page_data), 422
    page_data["mapping"] = mapping
    if from_number is None or from_number == to_number:
        return render_template("migrations/plan.html", **page_data), status
    try:
        result = dryrun.dry_run(engine(), key, from_number, to_number, mapping)
    except InvalidInput as err:  # a bad mapping; an unknown version is 404 (the error page)
        page_data["error"] = text.safe(err.message)
        return render_template("migrations/plan.html", **page_data), 422
    page_data["plan"] = _plan_view(result.plan)
    page_data["dry"] = _dry_view(result, args)
    return render_template("migrations/plan.html", **page_data), status


def _plan_view(plan) -> dict:
    """The plan for the page; ``removed``: the removed (or mapped) elements an instance can stand at,
    with what they may be mapped to."""
    body = plan.to_dict()
    removed = [e for e in body["elements"] if e["element"] and e["kind"] in WAITING_KINDS
               and (e["change"] == "removed" or e["element"] in plan.mapping)]
    for element in removed:
        element["candidates"] = plan.diff.candidates(element["process_id"], element["kind"])
    return {**body, "removed": removed}


def _dry_view(result: dryrun.DryRun, args) -> dict:
    wanted = args.get("show")  # "can", "cannot" or everything
    at = args.get("at")
    items = [i for i in result.items if (wanted != "can" or i.can_migrate) and (wanted != "cannot" or not i.can_migrate)
             and (not at or i.position_key() == at)]
    page = max(1, min(_number(args.get("page"), "page") or 1, max(1, -(-len(items) // PER_PAGE))))
    shown = items[(page - 1) * PER_PAGE:page * PER_PAGE]
    elements: dict[str, dict] = {}
    for item in result.items:
        for element in item.position:
            entry = elements.setdefault(element["element"], {"element": element["element"], "name": element["name"],
                                                             "total": 0, "can": 0})
            entry["total"] += 1
            entry["can"] += item.can_migrate
    return {"summary": result.summary(), "seconds": result.seconds, "elements": sorted(elements.values(),
                                                                                       key=lambda e: -e["total"]),
            "positions": [{**p, "reasons": [_reason(r) for r in p["reasons"]]} for p in result.positions()],
            "items": [{"id": i.instance_id, "title": i.title, "status": i.status, "created_at": i.created_at,
                       "position": i.position, "can": i.can_migrate, "reasons": [_reason(r) for r in i.reasons]}
                      for i in shown],
            "page": page, "pages": max(1, -(-len(items) // PER_PAGE)), "count": len(items), "show": wanted or "",
            "at": at or ""}


# --- jobs ------------------------------------------------------------------------------------------

@bp.post("/<key>/migrations")
def create(key: str):
    """Store a migration job for the picked instances; the worker runs it."""
    form = request.form
    note = form.get("note", "").strip()
    if not 0 < len(note) <= MAX_NOTE or text.text_problem(note):
        return _render_plan(key, form, status=422, error=_("请填写迁移说明（1–%(n)d 字）", n=MAX_NOTE), note=note)
    mapping = _mapping(form.getlist("map"))
    if isinstance(mapping, str):
        return _render_plan(key, form, status=422, error=mapping, note=note)
    selection = _selection(form)
    if isinstance(selection, str):
        return _render_plan(key, form, status=422, error=selection, note=note)
    from_number, to_number = _number(form.get("from"), "from"), _number(form.get("to"), "to")
    if from_number is None or to_number is None:
        return _render_plan(key, form, status=422, error=_("请选择源版本和目标版本"), note=note)
    try:
        job = jobs.create_job(engine(), process_id=key, from_number=from_number, to_number=to_number, mapping=mapping,
                              selection=selection, created_by=current_user.actor.username, note=note)
    except EngineError as err:
        if err.http_status == 404:
            raise
        return _render_plan(key, form, status=err.http_status, error=text.safe(err.message), note=note)
    return redirect(url_for(".jobs_page", key=key, job=job["id"]), code=303)


def _selection(form) -> dryrun.Selection | str:
    scope = form.get("scope", "")
    if scope == "all":
        return dryrun.Selection()
    if scope == "positions":
        positions = tuple(p for p in form.getlist("position") if p and len(p) <= 120 and not text.text_problem(p))
        return dryrun.Selection(positions=positions) if positions else _("请至少勾选一个位置")
    if scope == "ids":
        raw = form.get("ids", "")[:MAX_IDS_TEXT]
        parts = [p for p in re.split(r"[\s,，、]+", raw) if p]
        if not parts or not all(p.isascii() and p.isdigit() and len(p) <= 10 and 0 < int(p) <= MAX_NUMBER
                                for p in parts):
            return _("请填写实例编号，以逗号或空格分隔")
        return dryrun.Selection(instance_ids=tuple(sorted({int(p) for p in parts})))
    return _("请选择要迁移的实例：全部、按位置或按编号")


@bp.get("/<key>/migrations")
def jobs_page(key: str):
    """The process's migration jobs; with ``?job=N``, that job's progress and per-instance results."""
    _latest(key)
    if request.args.get("job") is not None:
        return _job_page(key, _job_id(request.args.get("job")))
    return render_template("migrations/jobs.html", key=key, name=engine().process_names().get(key, key),
                           jobs=jobs.jobs_of(engine(), key))


def _job_id(raw: str | None) -> int:
    """A job number from a query or form field; 404 when it is not one."""
    if not raw or not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 0 < int(raw) <= MAX_NUMBER:
        abort(404, description=_("迁移任务编号无效：%(n)s", n=text.safe(raw or "")[:20]))
    return int(raw)


def _job_of(key: str, job_id: int, **options) -> dict:
    view = jobs.job_view(engine(), job_id, **options)
    if view["process_id"] != key:
        abort(404, description=_("流程 %(key)s 没有迁移任务 %(id)d", key=key, id=job_id))
    return view


def _job_page(key: str, job_id: int):
    status = request.args.get("status") or None
    if status is not None and status not in ITEM_STATUSES:
        abort(404, description=_("没有这种结果：%(s)s", s=text.safe(status)[:20]))
    page = _number(request.args.get("page"), "page") or 1
    view = _job_of(key, job_id, status=status, page=page, per_page=PER_PAGE)
    for item in view["items"]:
        item["reasons"] = [_reason(r) for r in item["reasons"]]
    return render_template("migrations/job.html", key=key, name=engine().process_names().get(key, key), job=view,
                           status=status or "", statuses=ITEM_STATUSES,
                           running=view["status"] in ("pending", "running"))


@bp.post("/<key>/migrations/cancel")
def cancel(key: str):
    """Stop the job named by the form's ``job`` before its next instance."""
    _latest(key)
    raw = request.form.get("job", "")
    if not raw:
        return render_template("error.html", status=422, message=_("请指明要取消的迁移任务"),
                               fields={"job": _("必填")}), 422
    job_id = _job_id(raw)
    _job_of(key, job_id, per_page=1)
    jobs.cancel_job(engine(), job_id, by=current_user.actor.username)
    return redirect(url_for(".jobs_page", key=key, job=job_id), code=303)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    return render_template("error.html", status=err.code, message=text.safe(err.description or ""), fields={}), err.code
