"""Deploy refuses broken or hostile bundles with file, element and line, and stores nothing."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from engine.errors import DeployError
from engine.models import DefinitionVersion
from tests.conftest import FIXTURES

# register the fixture's service
from tests.engine import test_commands  # noqa: F401


def bundle_with(tmp_path, old: str, new: str):
    target = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "mini", target)
    path = target / "mini.bpmn"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return target


def refused(wf_engine, directory) -> DeployError:
    with pytest.raises(DeployError) as err:
        wf_engine.deploy(directory, deployed_by="owner")
    with wf_engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DefinitionVersion)) == 0
    return err.value


CASES = [
    ("import in a script", "<bpmn:script>total =", "<bpmn:script>import os\ntotal =", "calc", "import is not allowed"),
    ("dunder access", "<bpmn:script>total =", "<bpmn:script>x = code.__class__\ntotal =", "calc", "starts with"),
    ("syntax error", "<bpmn:script>total =", "<bpmn:script>total = = 1\ntotal =", "calc", "syntax error"),
    ("unknown role", 'value="county_official"', 'value="mayor"', "review", "unknown role 'mayor'"),
    ("missing form", 'value="review.schema.json"', 'value="nope.schema.json"', "review", "not found in the bundle"),
    ("unknown service", 'id="test_echo"', 'id="send_rocket"', "svc", "unknown service operator 'send_rocket'"),
    ("unknown BPMN element", '<bpmn:endEvent id="end" name="结束" />', '<bpmn:fooTask id="end" />', None,
     "fooTask"),
    ("bad scope expression", "value=\"'unit:' + code\"", 'value="unit:: code"', "Lane_app", "syntax error"),
]


@pytest.mark.parametrize("label,old,new,element,message", CASES, ids=[c[0] for c in CASES])
def test_broken_diagram_is_refused_with_location(wf_engine, tmp_path, label, old, new, element, message):
    error = refused(wf_engine, bundle_with(tmp_path, old, new))
    problem = error.problems[0]
    assert problem.file == "mini.bpmn"
    assert message in problem.message
    if element:
        assert problem.element == element
    assert problem.line and problem.line > 1


XXE = """<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&xxe;</bpmn:definitions>"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&lol2;</bpmn:definitions>"""
XINCLUDE = """<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xi="http://www.w3.org/2001/XInclude"
 id="d"><xi:include href="file:///etc/passwd" parse="text"/></bpmn:definitions>"""


@pytest.mark.parametrize("content,message", [
    (XXE, "DOCTYPE"), (LAUGHS, "DOCTYPE"), (XINCLUDE, "XInclude"), ("<bpmn:definitions", "malformed XML"),
], ids=["xxe", "billion-laughs", "xinclude", "malformed"])
def test_hostile_xml_is_refused(wf_engine, tmp_path, content, message):
    target = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "mini", target)
    (target / "evil.bpmn").write_text(content)
    error = refused(wf_engine, target)
    assert any(p.file == "evil.bpmn" and message in p.message for p in error.problems)


def test_oversized_file_is_refused(wf_engine, tmp_path):
    target = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "mini", target)
    (target / "huge.bpmn").write_bytes(b"<a>" + b" " * (3 * 1024 * 1024) + b"</a>")
    error = refused(wf_engine, target)
    assert "limit" in error.problems[0].message


def test_invalid_form_schema_is_refused(wf_engine, tmp_path):
    target = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "mini", target)
    (target / "forms" / "review.schema.json").write_text('{"type": "object", "required": "decision"}')
    error = refused(wf_engine, target)
    assert error.problems[0].file == "forms/review.schema.json"


def test_running_instances_keep_their_version(wf_engine, tmp_path):
    from tests.engine.test_commands import APPLICANT

    first = wf_engine.deploy(FIXTURES / "mini", deployed_by="owner")
    old = wf_engine.start("mini", {"code": "X1", "county": "520302", "divisor": 1}, actor=APPLICANT)
    changed = bundle_with(tmp_path, 'name="审核"', 'name="复核"')
    second = wf_engine.deploy(changed, deployed_by="owner")
    assert second.created and second.version_id == first.version_id + 1
    new = wf_engine.start("mini", {"code": "X1", "county": "520302", "divisor": 1}, actor=APPLICANT)
    assert wf_engine.instance(old.instance_id)["version"] == first.version_id
    assert wf_engine.instance(new.instance_id)["version"] == second.version_id
