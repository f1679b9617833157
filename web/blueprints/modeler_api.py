"""The JSON the browser modeler talks to, under ``/modeler/api/`` (docs/modeler.md).

meta (what the properties panel offers), the owner's draft (GET/PUT/DELETE), validate (every check
deploy runs, and bpmnlint), diff (the two diagrams and the forms that changed), deploy (the draft as
the next immutable version) and form preview. Errors are JSON ``{"error", "message", …}``; CSRF
comes in the ``X-CSRFToken`` header. Part of the ``modeler`` blueprint (``web.blueprints.modeler``),
whose ``before_request`` lets process owners only.
"""
from __future__ import annotations

import inspect
import json

from flask import abort, jsonify, render_template, request
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from sqlalchemy import select

import config
from engine import drafts, services, text, versions
from engine.deploy import MAX_FILE_BYTES
from engine.models import DefinitionFile, DefinitionVersion
from web import formkit
from web.api.inputs import MAX_ID
from web.blueprints.modeler import (_body, _content, _iso, _json_error, _me, _note, _note_message, _number,
                                    _number_arg, _others, _process, bp)
from web.extensions import engine
from web.i18n import china_time
from web.modeler import bundles, catalog, deploys


def _params(fn) -> list[dict]:
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    named = [p for p in parameters[1:] if p.kind in kinds]  # the first is the ServiceContext
    return [{"name": p.name, "required": p.default is inspect.Parameter.empty} for p in named]


@bp.get("/api/meta")
def api_meta():
    """What the properties panel offers: roles, service tasks with their parameters, forms, functions."""
    roles = [{"key": key, "zh": role.get("zh"), "en": role.get("en"), "scope_kind": role.get("scope_kind")}
             for key, role in config.roles().items()]
    service_list = [{"name": name, "params": _params(services.get_service(name))}
                    for name in sorted(services.service_names())]
    with engine().db.session() as session:
        newest = session.scalar(select(DefinitionVersion.id).order_by(DefinitionVersion.id.desc()).limit(1))
        paths = session.scalars(select(DefinitionFile.path).where(DefinitionFile.version_id == newest)).all() \
            if newest else []
    forms = sorted(p.removeprefix("forms/") for p in paths if p.endswith(".json"))
    return jsonify({"roles": roles, "services": service_list, "forms": forms,
                    "script_functions": sorted(services.script_functions())})


def _draft_state(key: str) -> dict:
    eng = engine()
    latest = _process(key)
    draft, base, others = catalog.draft_of(eng, key, _me())
    if draft is None:
        found = _content(key, None)
        return {"xml": found.xml, "bpmn_path": found.bpmn_path, "forms": found.forms, "base_version": latest.number,
                "latest_version": latest.number, "row_version": None, "others": _others(others)}
    base_content = catalog.content(eng, key, base) if base else None
    forms = {**(base_content.forms if base_content else {}), **draft.forms}
    return {"xml": draft.xml, "bpmn_path": draft.bpmn_path, "forms": forms, "base_version": base,
            "latest_version": latest.number, "row_version": draft.row_version, "others": _others(others),
            "updated_at": _iso(draft.updated_at)}


def _read_forms(body: dict):
    """The ``forms`` of a body: {name: JSON Schema object}; a (status, response) error otherwise."""
    forms = body.get("forms") or {}
    if not isinstance(forms, dict):
        return None, _json_error(422, "invalid_input", _("forms 须为 {文件名: 表单} 对象"), fields={"forms": "object"})
    for name, schema in forms.items():
        if not bundles.valid_form_name(name):
            return None, _json_error(422, "invalid_input", _("表单文件名无效：%(name)s", name=text.safe(name)[:200]),
                                     fields={"forms": name})
        if not isinstance(schema, dict) or len(bundles.form_bytes(schema)) > MAX_FILE_BYTES:
            return None, _json_error(422, "invalid_input", _("表单 %(name)s 须为 JSON 对象（不超过 2 MiB）", name=name),
                                     fields={f"forms.{name}": "object"})
    return forms, None


def _read_xml(body: dict):
    xml = body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        return None, _json_error(422, "invalid_input", _("xml 须为流程图的 BPMN XML 文本"), fields={"xml": "required"})
    if len(xml.encode("utf-8")) > MAX_FILE_BYTES:
        return None, _json_error(422, "invalid_input", _("流程图超过 2 MiB"), fields={"xml": "too large"})
    return xml, None


def _read_diagram(body: dict):
    """(xml, forms, None) from a draft or validate body, or (None, None, error response)."""
    xml, error = _read_xml(body)
    if error:
        return None, None, error
    forms, error = _read_forms(body)
    return xml, forms, error


@bp.route("/api/<key>/draft", methods=["GET", "PUT", "DELETE"])
def api_draft(key: str):
    if request.method == "GET":
        return jsonify(_draft_state(key))
    eng = engine()
    latest = _process(key)
    if request.method == "DELETE":
        with eng.db.unit_of_work() as session:
            drafts.discard(session, key, _me())
        return "", 204
    body = _body()
    xml, forms, error = _read_diagram(body)
    if error:
        return error
    row_version = body.get("row_version")
    if row_version is not None and (not isinstance(row_version, int) or isinstance(row_version, bool)
                                    or not 0 <= row_version <= MAX_ID):
        return _json_error(422, "invalid_input", _("row_version 须为整数或 null"), fields={"row_version": "integer"})
    draft, base, others = catalog.draft_of(eng, key, _me())
    base_content = catalog.content(eng, key, base) if draft is not None and base else None
    if base_content is None:
        base_content = _content(key, None)
    changed = {name: schema for name, schema in forms.items() if base_content.forms.get(name) != schema}
    try:
        with eng.db.unit_of_work() as session:
            saved = drafts.save(session, process_id=key, owner=_me(),
                                bpmn_path=draft.bpmn_path if draft is not None else base_content.bpmn_path,
                                xml=xml, forms=changed, row_version=row_version,
                                base_version_id=latest.id if draft is None else None, now=eng.clock.now())
            row, updated = saved.row_version, saved.updated_at
    except drafts.DraftConflict as err:
        messages = {"exists": _("此流程的草稿已在另一个标签页中保存，请重新加载草稿后再编辑"),
                    "stale": _("草稿已在另一个标签页中保存过，请重新加载草稿后再编辑"),
                    "gone": _("草稿已被放弃或已部署，请重新打开此流程")}
        return _json_error(409, "conflict", messages[err.reason], reason=err.reason)
    return jsonify({"row_version": row, "updated_at": _iso(updated), "others": _others(others)})


def _overlay_of(xml: str, forms: dict, bpmn_path: str) -> dict[str, bytes]:
    _, newest = engine().latest_bundle()
    return bundles.draft_overlay(bpmn_path=bpmn_path, xml=xml, forms=forms, base=newest)


@bp.post("/api/<key>/validate")
def api_validate(key: str):
    """Every check deploy runs (and bpmnlint) on the diagram and forms sent, laid over the newest bundle."""
    _process(key)
    body = _body()
    xml, forms, error = _read_diagram(body)
    if error:
        return error
    draft, _base, _others = catalog.draft_of(engine(), key, _me())
    bpmn_path = draft.bpmn_path if draft is not None else _content(key, None).bpmn_path
    problems = deploys.validate(engine(), _overlay_of(xml, forms, bpmn_path), overlay=True)
    return jsonify({"problems": problems})


def _draft_forms(key: str, draft, base: int | None) -> dict[str, dict]:
    """The forms of a draft's process: those its diagram names, as the draft has them, else as its
    base version, else as the newest bundle has them."""
    eng = engine()
    base_content = catalog.content(eng, key, base) if base else None
    merged = {**(base_content.forms if base_content else {}), **draft.forms}
    named = bundles.forms_named_in(draft.xml)
    if named is None:
        return merged
    missing = [n for n in named if n not in merged]
    if missing:
        _, newest = eng.latest_bundle()
        for name in missing:
            path = versions.form_file(name, newest)
            if path:
                merged[name] = json.loads(newest[path])
    return {name: schema for name, schema in merged.items() if name in named}


@bp.get("/api/<key>/diff")
def api_diff(key: str):
    """The two diagrams (the browser diffs them with bpmn-js-differ) and the forms that changed."""
    latest = _process(key)
    draft, base, _others = catalog.draft_of(engine(), key, _me())
    to = request.args.get("to") or ("draft" if draft is not None else str(latest.number))
    if to == "draft":
        if draft is None:
            abort(404, description=_("您没有此流程的草稿"))
        to_side = {"draft": True, "version": None, "base_version": base, "xml": draft.xml}
        to_forms = _draft_forms(key, draft, base)
        default_from = base or latest.number
    else:
        number = _number(to)
        found = _content(key, number)
        to_side = {"version": number, "xml": found.xml}
        to_forms = found.forms
        default_from = max(1, number - 1)
    from_number = _number_arg("from", default_from)
    before = _content(key, from_number)
    return jsonify({"from": {"version": from_number, "xml": before.xml}, "to": to_side,
                    "forms": bundles.forms_diff(before.forms, to_forms)})


@bp.post("/api/<key>/deploy")
def api_deploy(key: str):
    """Deploy the owner's saved draft as the process's next version (over the newest bundle)."""
    eng = engine()
    latest = _process(key)
    body = _body()
    note = _note(body.get("note"))
    if note is None:
        return _json_error(422, "invalid_input", _note_message(), fields={"note": "required"}, problems=[])
    confirm = body.get("confirm_base")
    if confirm is not None and (not isinstance(confirm, int) or isinstance(confirm, bool) or not 0 <= confirm <= MAX_ID):
        return _json_error(422, "invalid_input", _("confirm_base 须为版本号"), fields={"confirm_base": "integer"},
                           problems=[])
    draft, base, _others = catalog.draft_of(eng, key, _me())
    if draft is None:
        return _json_error(409, "no_draft", _("没有可部署的草稿：请先保存草稿"))
    if base != latest.number and confirm != latest.number:
        return _json_error(409, "base_changed", _(
            "在您开始编辑之后，版本 %(n)d 已由 %(who)s 于 %(when)s 部署；请先查看差异",
            n=latest.number, who=latest.deployed_by, when=china_time(latest.deployed_at)),
            base_version=base, latest_version=latest.number, deployed_by=latest.deployed_by,
            deployed_at=_iso(latest.deployed_at))
    files = _overlay_of(draft.xml, draft.forms, draft.bpmn_path)
    try:
        deployed = deploys.deploy(eng, files, deployed_by=_me(), note=note, source="modeler", overlay=True)
    except deploys.Refused as refused:
        return _json_error(422, "deploy_refused", _("部署被拒绝：%(n)d 个问题", n=len(refused.problems)),
                           problems=refused.problems)
    with eng.db.unit_of_work() as session:
        drafts.discard(session, key, _me())
    result = deployed.result
    return jsonify({"version": result.versions.get(key), "definition_version": result.version_id,
                    "created": result.created, "deployment_id": result.deployment_id,
                    "processes": deploys.process_rows(eng, result), "warnings": deployed.warnings}), \
        201 if result.created else 200


@bp.post("/api/form-preview")
def api_form_preview():
    """A form rendered by web/formkit.py exactly as officials see it on their task page."""
    body = _body()
    schema, ui = body.get("schema"), body.get("ui")
    if not isinstance(schema, dict):
        return _json_error(422, "invalid_schema", _("schema 须为 JSON Schema 对象"))
    if ui is not None and not isinstance(ui, dict):
        return _json_error(422, "invalid_schema", _("ui 须为对象"))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        return _json_error(422, "invalid_schema", _("不是有效的 JSON Schema：%(error)s", error=err.message))
    try:
        fields = formkit.build_fields(schema, ui, {}, {})
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        return _json_error(422, "invalid_schema", _("该表单无法显示：%(error)s", error=text.safe(str(err))[:300]))
    return jsonify({"html": render_template("modeler/_form_preview.html", schema=schema, fields=fields)})
