"""Deploy: read a directory of diagrams and forms, check everything, store a version.

Nothing here runs a workflow. A bundle is refused as a whole with every problem found
(file, element id, line); a bundle identical to the newest stored one is a no-op.

Checks, in order: safe XML (size, no DOCTYPE/ENTITY, no XInclude), forms are valid JSON
Schemas, the SpiffWorkflow parser with XSD validation, every executable process builds,
every script/condition/timer/parameter/scope expression compiles in the sandbox, every
service operator is registered, every user task has a known role, a scope and an existing
form file, and a timer start event has a ``schedule`` (with an optional ``scheduleCatchUpDays``:
a whole number of days, 0–366, only beside ``schedule``).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine import deadlines, services
from engine.errors import DeployError, DeployProblem
from engine.models import DefinitionFile, DefinitionVersion
from engine.sandbox import ScriptRefused, compile_source

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_BUNDLE_FILES = 500
BUNDLE_SUFFIXES = (".bpmn", ".dmn", ".json")

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiffworkflow": SPIFF}
_FORBIDDEN_MARKUP = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XINCLUDE = "http://www.w3.org/2001/XInclude"


@dataclass
class Bundle:
    """The files of one deployment and what deploy learnt from them."""

    files: dict[str, bytes]
    meta: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + hashlib.sha256(self.files[path]).hexdigest().encode() + b"\n")
        return digest.hexdigest()


def read_directory(directory: str | Path) -> dict[str, bytes]:
    """The bundle files under ``directory`` (diagrams, DMN tables, JSON forms)."""
    root = Path(directory)
    if not root.is_dir():
        raise DeployError([DeployProblem(str(directory), "not a directory")])
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in BUNDLE_SUFFIXES and not any(p.startswith(".") for p in path.parts):
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    if len(files) > MAX_BUNDLE_FILES:
        raise DeployError([DeployProblem(str(directory), f"more than {MAX_BUNDLE_FILES} files")])
    return files


def parse_xml_safely(name: str, content: bytes) -> etree._Element:
    """Parse untrusted XML: no DTDs or entities (XXE, billion laughs), no network, bounded size."""
    if len(content) > MAX_FILE_BYTES:
        raise DeployError([DeployProblem(name, f"file is {len(content)} bytes; the limit is {MAX_FILE_BYTES}")])
    if _FORBIDDEN_MARKUP.search(content):
        raise DeployError([DeployProblem(name, "DOCTYPE and ENTITY declarations are not allowed")])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        remove_comments=False,
    )
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as err:
        raise DeployError([DeployProblem(name, f"malformed XML: {err.msg}", line=err.lineno)]) from None
    for node in root.iter(f"{{{_XINCLUDE}}}*"):
        raise DeployError([DeployProblem(name, "XInclude is not allowed", line=node.sourceline)])
    return root


def analyse(files: dict[str, bytes], *, known_roles: set[str]) -> Bundle:
    """Check a bundle and describe it; raises DeployError listing every problem found."""
    problems: list[DeployProblem] = []
    trees: dict[str, etree._Element] = {}
    forms: dict[str, dict] = {}

    for name, content in files.items():
        if name.endswith(".json"):
            forms_problem = _check_form(name, content, forms)
            if forms_problem:
                problems.append(forms_problem)
            continue
        try:
            trees[name] = parse_xml_safely(name, content)
        except DeployError as err:
            problems.extend(err.problems)
    if problems:
        raise DeployError(problems)
    if not any(n.endswith(".bpmn") for n in trees):
        raise DeployError([DeployProblem("(bundle)", "no .bpmn file found")])

    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name, root in trees.items():
        try:
            if name.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=name)
            else:
                parser.add_bpmn_xml(root, filename=name)
        except ValidationException as err:
            problems.append(_from_validation(err, name, root))
    if problems:
        raise DeployError(problems)

    meta: dict = {"processes": {}}
    for name, root in trees.items():
        if name.endswith(".bpmn"):
            for process in root.iter(f"{{{BPMN}}}process"):
                meta["processes"][process.get("id")] = _describe_process(name, root, process)

    for pid in parser.get_process_ids():
        try:
            parser.get_spec(pid)
            parser.get_subprocess_specs(pid)
        except (ValidationException, SpiffWorkflowException, KeyError) as err:
            file = getattr(err, "file_name", "") or meta["processes"].get(pid, {}).get("file", "(bundle)")
            problems.append(DeployProblem(file, f"process {pid!r} does not build: {err}",
                                          element=getattr(err, "id", None) or pid))

    for pid, process_meta in meta["processes"].items():
        problems.extend(_lint_process(pid, process_meta, trees[process_meta["file"]], forms, known_roles))
    if problems:
        raise DeployError(problems)
    # The parser also lists embedded subprocesses; only top-level processes may be started.
    meta["executable"] = sorted(pid for pid in parser.get_process_ids() if pid in meta["processes"])
    meta["forms"] = sorted(forms)
    return Bundle(files=dict(files), meta=meta)


def store(session: Session, bundle: Bundle, *, deployed_by: str, now) -> tuple[DefinitionVersion, bool]:
    """Store ``bundle`` as a new version; returns (version, created).

    Content identical to the newest version is a no-op. Content identical to an older version
    (a revert) is stored again as the newest: new instances must start on it.
    """
    sha = bundle.sha256
    newest = session.scalar(select(DefinitionVersion).order_by(DefinitionVersion.id.desc()).limit(1))
    if newest is not None and newest.sha256 == sha:
        return newest, False
    version = DefinitionVersion(sha256=sha, deployed_by=deployed_by, deployed_at=now, meta=bundle.meta)
    session.add(version)
    for path, content in sorted(bundle.files.items()):
        version.files.append(DefinitionFile(path=path, sha256=hashlib.sha256(content).hexdigest(), content=content))
    session.flush()
    return version, True


def latest_version_for(session: Session, process_id: str) -> DefinitionVersion | None:
    """The newest deployed version that contains ``process_id`` as an executable process."""
    for version in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.id.desc())):
        if process_id in version.meta.get("executable", []):
            return version
    return None


# --- describing a process -------------------------------------------------------------

def _properties(element: etree._Element) -> dict[str, str]:
    props = {}
    for prop in element.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS):
        props[prop.get("name")] = prop.get("value", "")
    return props


def _lane_map(root: etree._Element, process: etree._Element) -> dict[str, dict]:
    """flow node id -> lane description (name, role, roleExpression, scope, line)."""
    lanes = {}
    for lane in process.iter(f"{{{BPMN}}}lane"):
        desc = {"lane": lane.get("name") or lane.get("id"), "lane_id": lane.get("id"), **_properties(lane)}
        for ref in lane.findall("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = desc
    return lanes


def _describe_process(file: str, root: etree._Element, process: etree._Element) -> dict:
    lanes = _lane_map(root, process)
    tasks: dict[str, dict] = {}
    for node in process.iter():
        if not isinstance(node.tag, str) or node.get("id") is None:
            continue
        tag = etree.QName(node).localname
        if tag not in ("userTask", "manualTask", "startEvent", "serviceTask", "scriptTask", "callActivity"):
            continue
        lane = lanes.get(node.get("id"), {})
        props = _properties(node)
        entry = {
            "type": tag,
            "name": node.get("name") or node.get("id"),
            "line": node.sourceline,
            "lane": lane.get("lane"),
            "role": props.get("role", lane.get("role")),
            "role_expression": props.get("roleExpression", lane.get("roleExpression")),
            "scope": props.get("scope", lane.get("scope")),
            "form": props.get("formJsonSchemaFilename"),
            "ui": props.get("formUiSchemaFilename"),
            "due_in_days": props.get("dueInDays"),
            "due_in_working_days": props.get("dueInWorkingDays"),
            "deadline": props.get("deadline"),  # a name of config/deadlines.toml (engine.deadlines)
            "assignee": props.get("assignee"),  # an expression giving the username the task is assigned to
            "schedule": props.get("schedule"),
            "schedule_catch_up_days": props.get("scheduleCatchUpDays"),
            "timer_start": tag == "startEvent" and node.find("bpmn:timerEventDefinition", NS) is not None,
        }
        if tag == "serviceTask":
            op = node.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
            entry["operator"] = op.get("id") if op is not None else None
        if tag == "callActivity":
            entry["called"] = node.get("calledElement")
        tasks[node.get("id")] = {k: v for k, v in entry.items() if v is not None}
    return {"file": file, "name": process.get("name") or process.get("id"), "line": process.sourceline,
            "executable": process.get("isExecutable") == "true", "tasks": tasks}


# --- linting -----------------------------------------------------------------------------

def _expressions(process: etree._Element):
    """(element id, line, source, mode) for every piece of Python in a process."""
    def owner(node):
        while node is not None and node.get("id") is None:
            node = node.getparent()
        return node

    for node in process.iter(f"{{{BPMN}}}script"):
        el = owner(node)
        yield el.get("id"), node.sourceline, node.text or "", "exec"
    for tag in ("preScript", "postScript"):
        for node in process.iter(f"{{{SPIFF}}}{tag}"):
            el = owner(node)
            yield el.get("id"), node.sourceline, node.text or "", "exec"
    for tag in ("conditionExpression", "timeDate", "timeDuration", "timeCycle"):
        for node in process.iter(f"{{{BPMN}}}{tag}"):
            el = owner(node)
            yield el.get("id"), node.sourceline, node.text or "", "eval"
    for node in process.iter(f"{{{SPIFF}}}parameter"):
        el = owner(node)
        yield el.get("id"), node.sourceline, node.get("value") or "", "eval"
    for tag in ("messagePayload",):
        for node in process.iter(f"{{{SPIFF}}}{tag}"):
            el = owner(node)
            yield el.get("id"), node.sourceline, node.text or "", "eval"
    for node in process.iter(f"{{{SPIFF}}}property"):
        if node.get("name") in ("scope", "roleExpression", "schedule", "assignee"):
            el = owner(node)
            yield el.get("id"), node.sourceline, node.get("value") or "", "eval"


MAX_CATCH_UP_DAYS = 366  # a scheduled process here recurs at least yearly


def _lint_catch_up(file: str, task: dict, where: dict):
    """``scheduleCatchUpDays``: a whole number of days 0..MAX_CATCH_UP_DAYS, only beside ``schedule``."""
    value = task.get("schedule_catch_up_days")
    if value is None:
        return
    if not task.get("schedule"):
        yield DeployProblem(file, "'scheduleCatchUpDays' is only allowed on a timer start event with a 'schedule' "
                                  "property", **where)
    elif not (value.isascii() and value.isdigit()) or int(value) > MAX_CATCH_UP_DAYS:
        yield DeployProblem(file, f"scheduleCatchUpDays must be a whole number of calendar days from 0 to "
                                  f"{MAX_CATCH_UP_DAYS}, not {value!r}", **where)


def _lint_process(pid: str, meta: dict, root: etree._Element, forms: dict, known_roles: set[str]):
    file = meta["file"]
    process = root.find(f".//bpmn:process[@id='{pid}']", NS)
    for element, line, source, mode in _expressions(process):
        if not source.strip():
            yield DeployProblem(file, "empty expression", element=element, line=line)
            continue
        try:
            compile_source(source.strip() if mode == "eval" else source, mode)
        except ScriptRefused as err:
            yield DeployProblem(file, f"script refused: {err.msg}", element=element,
                                line=(line or 0) + max((err.lineno or 1) - 1, 0))
    known_services = services.service_names()
    for task_id, task in meta["tasks"].items():
        where = {"element": task_id, "line": task.get("line")}
        if task["type"] == "startEvent" and task.get("timer_start") != bool(task.get("schedule")):
            yield DeployProblem(file, "a timer start event needs a 'schedule' property (an expression giving the next "
                                      "occurrence), and only a timer start event may have one", **where)
        yield from _lint_catch_up(file, task, where)
        if task["type"] == "serviceTask" and task.get("operator") not in known_services:
            yield DeployProblem(file, f"unknown service operator {task.get('operator')!r}; registered: "
                                      f"{', '.join(sorted(known_services)) or 'none'}", **where)
        if task["type"] not in ("userTask", "manualTask"):
            continue
        if not task.get("role") and not task.get("role_expression"):
            yield DeployProblem(file, "user task has no role: put it in a lane with a 'role' property", **where)
        elif task.get("role") and task["role"] not in known_roles:
            yield DeployProblem(file, f"unknown role {task['role']!r} (lane {task.get('lane')!r}); known: "
                                      f"{', '.join(sorted(known_roles))}", **where)
        if not task.get("scope"):
            yield DeployProblem(file, "user task has no scope expression (lane or task property 'scope')", **where)
        for key in ("form", "ui"):
            if task.get(key) and form_path(task[key], forms) is None:
                yield DeployProblem(file, f"form file {task[key]!r} not found in the bundle", **where)
        if task["type"] == "userTask" and not task.get("form"):
            yield DeployProblem(file, "user task has no formJsonSchemaFilename property", **where)
        for key, prop in (("due_in_days", "dueInDays"), ("due_in_working_days", "dueInWorkingDays")):
            if task.get(key) is not None and not str(task[key]).isdigit():
                yield DeployProblem(file, f"{prop} must be a whole number, not {task[key]!r}", **where)
        yield from _lint_deadline(file, task, where)


def _lint_deadline(file: str, task: dict, where: dict):
    """``deadline``: a name of config/deadlines.toml, and then no other due date on the same task."""
    name = task.get("deadline")
    if name is None:
        return
    known = deadlines.policies()
    if name not in known:
        yield DeployProblem(file, f"unknown deadline {name!r}; config/deadlines.toml has: "
                                  f"{', '.join(sorted(known)) or 'none'}", **where)
    if task.get("due_in_days") is not None or task.get("due_in_working_days") is not None:
        yield DeployProblem(file, "a task with a 'deadline' takes its due date from config/deadlines.toml: "
                                  "remove dueInWorkingDays / dueInDays", **where)


def form_path(name: str, forms: dict) -> str | None:
    for candidate in (name, f"forms/{name}"):
        if candidate in forms:
            return candidate
    return None


def _check_form(name: str, content: bytes, forms: dict) -> DeployProblem | None:
    if len(content) > MAX_FILE_BYTES:
        return DeployProblem(name, f"file is {len(content)} bytes; the limit is {MAX_FILE_BYTES}")
    try:
        schema = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return DeployProblem(name, f"not valid JSON: {err}", line=getattr(err, "lineno", None))
    if not isinstance(schema, dict):
        return DeployProblem(name, "a form must be a JSON object")
    if not name.endswith(".ui.json"):
        digest = hashlib.sha256(content).digest()
        if digest not in _VALID_SCHEMAS:  # checking a schema is the slowest part of deploy: once per content
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as err:
                return DeployProblem(name, f"not a valid JSON Schema: {err.message}")
            if len(_VALID_SCHEMAS) > 4096:
                _VALID_SCHEMAS.clear()
            _VALID_SCHEMAS.add(digest)
    forms[name] = schema
    return None


# SHA-256 of form files already found to be valid JSON Schemas (in this process).
_VALID_SCHEMAS: set[bytes] = set()


def _from_validation(err: ValidationException, name: str, root: etree._Element) -> DeployProblem:
    line = err.line_number or None
    element = getattr(err, "id", None) or None
    if element and not line:
        found = root.xpath("//*[@id=$id]", id=element)
        if found:
            line = found[0].sourceline
    return DeployProblem(err.file_name or name, str(err).split("\n")[0], element=element, line=line)


def version_meta(session: Session, version_id: int) -> dict:
    version = session.get(DefinitionVersion, version_id)
    return version.meta if version is not None else {"processes": {}}
