"""Every diagram script, condition and expression runs within a CPU-time and memory budget.

The sandbox-level tests show each kind of runaway stopped (including single operations such
as a huge power that no tick could interrupt); the engine-level tests, on both databases,
show the command failing as an incident that names the process, the element and the
budget, the instance left exactly as it was, and other instances served meanwhile.
"""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import deploy as _deploy
from engine.errors import EngineError
from engine.identity import Actor, upsert_user
from engine.incidents import IncidentRaised
from engine.models import HumanTask, ProcessInstance
from engine.sandbox import SandboxEnvironment, ScriptRefused, compile_source
from engine.script_budget import ScriptBudgetExceeded, ScriptLimits, script_limits
from tests.conftest import FIXTURES

SMALL = ScriptLimits(cpu_seconds=0.3, memory_bytes=64 * 1024 * 1024, max_items=200_000)

RUNAWAYS = {
    "huge power": "x = 10**10**8",
    "huge power of a variable": "n = 10\nx = n ** (n ** 8)",
    "endless loop": "while True: pass",
    "huge string": "x = 'x' * 10**10",
    "huge list": "x = [0] * 10**9",
    "huge shift": "x = 1 << 10**9",
    "sum over a huge range": "x = sum(range(10**12))",
    "list of a huge range": "x = list(range(10**9))",
    "self-extending list": "l = [1]\nwhile True: l.extend(l)",
    "self-unpacking list": "l = [1]\nwhile True: l = [*l, *l]",
    "growing dict": "d = {}\nwhile True: d[len(d)] = 'x' * 1000",
    "quadratic replace": "s = 'a' * 100000\nx = s.replace('a', s)",
    "huge join": "x = ('x' * 100000).join(['a'] * 100000)",
    "huge ljust": "x = 'x'.ljust(10**10)",
    "huge f-string width": "x = f'{1:>10000000000}'",
    "huge % width": "x = '%10000000000d' % 1",
    "text of shared references": "big = list(range(100000))\nx = [big] * 1000\ny = str(x)",
    "exponential recursion": "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(200)",
    "quadratic membership": "l = list(range(100000))\nfor i in range(100000):\n    y = i in l",
    "budget swallowed by except": "while True:\n    try:\n        while True: pass\n    except:\n        pass",
    "nested comprehension": "x = [i for i in range(100000) for j in range(100000)]",
    "in-place repetition": "s = 'x'\nwhile True: s *= 2",
}


@pytest.fixture
def env():
    return SandboxEnvironment()


@pytest.mark.parametrize("script", RUNAWAYS.values(), ids=RUNAWAYS.keys())
def test_a_runaway_script_is_stopped_by_its_budget(env, script):
    data = {"keep": 1}
    with script_limits(SMALL), pytest.raises(ScriptBudgetExceeded) as err:
        env.execute(script, data)
    assert "budget" in str(err.value) and "CPU 0.3 s, memory 64 MiB" in str(err.value)


@pytest.mark.parametrize("expression", [
    "10**10**8", "len('x' * 10**10) > 0", "[i for i in range(10**9)]", "sum(x for x in range(10**9))",
    "any(True for x in range(10**9) if False)",
])
def test_a_runaway_expression_is_stopped_by_its_budget(env, expression):
    with script_limits(SMALL), pytest.raises(ScriptBudgetExceeded):
        env.evaluate(expression, {})


@pytest.mark.parametrize("script, expected", [
    ("x = 'ab' * 3 + 'c'", "abababc"),
    ("x = 2 ** 64 * 3 << 2", (2 ** 64 * 3) << 2),
    ("x = [1, *[2, 3], *range(4, 6)]", [1, 2, 3, 4, 5]),
    ("x = {'a': 1, **{'b': 2}}", {"a": 1, "b": 2}),
    ("x = f'{[1, 2]!r}|{3:>4}|{0.5:.1%}'", "[1, 2]|   3|50.0%"),
    ("x = '%s-%05.1f' % ('a', 2.25)", "a-002.2"),
    ("x = 'a' in 'abc' and 2 not in [1] and 'k' in {'k': 1}", True),
    ("l = [3, 1, 2]\nl.sort()\nl.extend(range(2))\nx = l", [1, 2, 3, 0, 1]),
    ("x = ','.join(sorted(str(i) for i in range(3))).replace(',', ';').rjust(6, '.')", ".0;1;2"),
    ("def f(n):\n    return 1 if n < 2 else n * f(n - 1)\nx = f(10)", 3628800),
    ("x = sorted(['b', 'a'], key=lambda s: s)", ["a", "b"]),
    ("x = dict(zip(['a', 'b'], [1, 2]))", {"a": 1, "b": 2}),
    ("n = 0\nwhile n < 5000:\n    n += 1\nx = n", 5000),
    ("x = isinstance('a', str) and isinstance([], list)", True),
])
def test_ordinary_scripts_keep_their_meaning(env, script, expected):
    data = {}
    env.execute(script, data)
    assert data["x"] == expected


def test_plain_conditions_are_not_metered():
    assert not compile_source("decision == 'pass' and score >= 60", "eval").metered
    assert compile_source("'x' * n", "eval").metered


@pytest.mark.parametrize("script, message", [
    ("l = [1, 2]\nl[0:1] = [5]", "Slice assignment"),
    ("sum = 1", "'sum' is a builtin"),
    ("def list(x):\n    return x", "'list' is a builtin"),
    ("x = a < b in c", "Chained comparisons"),
])
def test_code_that_could_slip_past_the_meter_is_refused_at_compile_time(script, message):
    with pytest.raises(ScriptRefused) as err:
        compile_source(script, "exec")
    assert message in str(err.value)


def test_deploy_names_the_element_and_line_of_a_refused_script(tmp_path):
    bundle = _bundle(tmp_path, "x = 1\ny = [1, 2]\ny[0:1] = [3]")
    with pytest.raises(EngineError) as err:
        _deploy.analyse(_deploy.read_directory(bundle), known_roles={"applicant", "county_official"})
    text = str(err.value.to_dict())
    assert "calc" in text and "Slice assignment" in text


# --- the engine: incidents, nothing changed, the rest keeps serving (both databases) ------------

APPLICANT = Actor(username="ent", grants=frozenset({("applicant", "unit:X1")}))
COUNTY = Actor(username="county", grants=frozenset({("county_official", "520302")}))

BUDGET_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_budget"
  targetNamespace="http://greenflow.test/budget">
  <bpmn:collaboration id="Collab_budget">
    <bpmn:participant id="P_budget" name="预算" processRef="budget" />
  </bpmn:collaboration>
  <bpmn:process id="budget" name="预算" isExecutable="true">
    <bpmn:laneSet id="LS">
      <bpmn:lane id="Lane_app" name="申报单位">
        <bpmn:extensionElements><spiffworkflow:properties>
          <spiffworkflow:property name="role" value="applicant" />
          <spiffworkflow:property name="scope" value="'unit:' + code" />
        </spiffworkflow:properties></bpmn:extensionElements>
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_county" name="县级工信部门">
        <bpmn:extensionElements><spiffworkflow:properties>
          <spiffworkflow:property name="role" value="county_official" />
          <spiffworkflow:property name="scope" value="county" />
        </spiffworkflow:properties></bpmn:extensionElements>
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>calc</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>after</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="开始" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="审核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="calc" />
    <bpmn:scriptTask id="calc" name="计算">
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="calc" targetRef="after" />
    <bpmn:userTask id="after" name="复核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end" />
    <bpmn:endEvent id="end" name="结束" />
  </bpmn:process>
</bpmn:definitions>
"""


def _bundle(tmp_path: Path, script: str) -> Path:
    from xml.sax.saxutils import escape

    folder = tmp_path / "bundle"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "forms").mkdir(parents=True)
    shutil.copy(FIXTURES / "mini" / "forms" / "review.schema.json", folder / "forms")
    (folder / "budget.bpmn").write_text(BUDGET_DIAGRAM.replace("SCRIPT", escape(script)), encoding="utf-8")
    return folder


@pytest.fixture
def budget_engine(wf_engine, tmp_path):
    wf_engine.script_limits = SMALL
    with wf_engine.db.unit_of_work() as s:
        for a in (APPLICANT, COUNTY):
            upsert_user(s, a.username, display_name=a.username, grants=list(a.grants))

    def deploy(script: str):
        wf_engine.deploy(_bundle(tmp_path, script), deployed_by="owner")
        return wf_engine

    return deploy


def _start(engine) -> tuple[int, int]:
    iid = engine.start("budget", {"code": "X1", "county": "520302"}, actor=APPLICANT).instance_id
    with engine.db.session() as s:
        task = s.scalar(select(HumanTask).where(HumanTask.instance_id == iid, HumanTask.bpmn_id == "review"))
        return iid, task.id


def _snapshot(engine, iid: int) -> tuple:
    with engine.db.session() as s:
        row = s.get(ProcessInstance, iid)
        tasks = s.execute(select(HumanTask.bpmn_id, HumanTask.status).where(HumanTask.instance_id == iid)).all()
        return row.row_version, bytes(row.state), sorted(tuple(t) for t in tasks)


@pytest.mark.parametrize("script", [RUNAWAYS["huge power"], RUNAWAYS["endless loop"], RUNAWAYS["huge string"],
                                    RUNAWAYS["growing dict"]],
                         ids=["huge power", "endless loop", "huge string", "growing dict"])
def test_a_runaway_script_becomes_an_incident_naming_process_element_and_budget(budget_engine, script):
    engine = budget_engine(script)
    iid, review = _start(engine)
    before = _snapshot(engine, iid)
    with pytest.raises(IncidentRaised):
        engine.complete(review, {"decision": "pass"}, actor=COUNTY)
    [incident] = engine.incidents()
    assert incident["instance_id"] == iid and incident["task"] == "calc"
    assert "script budget exceeded" in incident["error"]
    assert "'budget'" in incident["error"] and "'calc'" in incident["error"]
    assert "CPU 0.3 s, memory 64 MiB" in incident["error"]
    row_version, state, tasks = _snapshot(engine, iid)
    assert (row_version, state) == before[:2]  # the instance is left as it was
    assert ("review", "open") in tasks and not any(bpmn_id == "after" for bpmn_id, _ in tasks)


def test_other_instances_are_served_while_a_script_runs_away(budget_engine):
    engine = budget_engine("n = 0\nwhile True:\n    n += 1")
    runaway, runaway_review = _start(engine)
    other, other_review = _start(engine)
    outcome: dict = {}

    def run_away():
        try:
            engine.complete(runaway_review, {"decision": "pass"}, actor=COUNTY)
        except IncidentRaised as err:
            outcome["incident"] = err.incident_id

    thread = threading.Thread(target=run_away)
    thread.start()
    # A read and a command on another instance, while the runaway holds its budget.
    assert engine.instance(other)["status"] == "running"  # a user task is open
    engine.claim(other_review, actor=COUNTY)
    thread.join(timeout=60)
    assert not thread.is_alive() and "incident" in outcome
    with engine.db.session() as s:
        assert s.get(HumanTask, other_review).assignee == "county"
        assert s.get(ProcessInstance, other).status == "running"
        assert s.get(ProcessInstance, runaway).status == "incident"


def test_an_ordinary_script_runs_through_the_engine(budget_engine):
    engine = budget_engine("total = sum(len(str(i)) for i in range(100))\nlabel = 'n=%d' % total")
    iid, review = _start(engine)
    engine.complete(review, {"decision": "pass"}, actor=COUNTY)
    view = engine.instance(iid)
    assert view["status"] == "running" and view["data"]["total"] == 190 and view["data"]["label"] == "n=190"
