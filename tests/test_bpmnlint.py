"""The shipped diagrams are clean in the modeler.

bpmnlint with the project's ``.bpmnlintrc`` (the configuration the browser modeler compiles too) and
bpmn-moddle's import (the parser bpmn-js uses; ``scripts/check_bpmn_import.mjs``) must report nothing
for any diagram in bpmn/. Both run on Node.js with the packages pinned in web/assets/package-lock.json
and installed by scripts/setup_assets.sh. Without them the tests skip with the reason, except under
CI=true, where they fail (the policy of the PostgreSQL and browser tests).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
BPMN_DIR = PROJECT_DIR / "bpmn"
NODE_MODULES = PROJECT_DIR / "web" / "assets" / "node_modules"
BPMNLINT = NODE_MODULES / "bpmnlint" / "bin" / "bpmnlint.js"
CONFIG = PROJECT_DIR / ".bpmnlintrc"
IMPORT_CHECK = PROJECT_DIR / "scripts" / "check_bpmn_import.mjs"
CONVENTIONS = PROJECT_DIR / "docs" / "bpmn-conventions.md"
IN_CI = os.environ.get("CI", "").lower() == "true"
FILES = sorted(BPMN_DIR.glob("*.bpmn"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# A task joining two parallel branches without a gateway, and a loop over a collection that is not declared.
BAD_DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_bad"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="bad" isExecutable="true">
    <bpmn:startEvent id="start" name="开始"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="fork" name="分支">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:task id="a" name="甲"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:task>
    <bpmn:task id="b" name="乙"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:task>
    <bpmn:task id="joined" name="丙">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>undeclared_items</bpmn:loopDataInputRef>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:task>
    <bpmn:endEvent id="end" name="结束"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="a"/>
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="b"/>
    <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="joined"/>
    <bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="joined"/>
    <bpmn:sequenceFlow id="f6" sourceRef="joined" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _unavailable(problem: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true requires the diagram lint to run: {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def node() -> str:
    """The node executable, with bpmnlint and bpmn-moddle installed in web/assets/node_modules."""
    path = shutil.which("node")
    if path is None:
        _unavailable("node not found (run scripts/setup_assets.sh; Debian: apt-get install nodejs npm)")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major.group(1)) < 16:
        _unavailable(f"node {version or '?'} at {path} is too old; bpmnlint needs 16 or newer")
    for package in ("bpmnlint", "bpmn-moddle"):
        if not (NODE_MODULES / package / "package.json").is_file():
            _unavailable(f"{package} is not installed in web/assets/node_modules (run scripts/setup_assets.sh)")
    return path


def _run(node: str, *args) -> tuple[int, str]:
    result = subprocess.run([node, *map(str, args)], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "FORCE_COLOR": "0", "NO_COLOR": "1"})
    return result.returncode, ANSI.sub("", result.stdout + result.stderr)


def _lint(node: str, *files) -> tuple[int, str]:
    return _run(node, BPMNLINT, "--config", CONFIG, "--max-warnings", "0", *files)


def test_bpmnlint_reports_nothing_for_any_diagram(node):
    assert FILES
    status, output = _lint(node, *(p.relative_to(PROJECT_DIR) for p in FILES))
    assert status == 0, f"bpmnlint (config {CONFIG.name}) found problems:\n{output}"


def test_bpmn_moddle_imports_every_diagram_without_warnings(node):
    # The check must parse with the modeler's own parser: the bpmn-moddle bpmn-js was installed with.
    assert not (NODE_MODULES / "bpmn-js" / "node_modules" / "bpmn-moddle").exists()
    status, output = _run(node, IMPORT_CHECK, *(p.relative_to(PROJECT_DIR) for p in FILES))
    assert status == 0, f"bpmn-moddle import warnings (bpmn-js shows these on import):\n{output}"


def test_both_checks_catch_a_bad_diagram(node, tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text(BAD_DIAGRAM, encoding="utf-8")
    status, output = _lint(node, bad)
    assert status == 1, output
    assert re.search(r"joined\s+error\s+.*fake-join", output), output
    status, output = _run(node, IMPORT_CHECK, bad)
    assert status == 1, output
    assert "joined bpmn:loopDataInputRef: unresolved reference <undeclared_items>" in output, output


def test_the_lint_config_extends_recommended_and_explains_every_weakened_rule():
    config = json.loads(CONFIG.read_text(encoding="utf-8"))
    assert config["extends"] == "bpmnlint:recommended"
    conventions = CONVENTIONS.read_text(encoding="utf-8")
    weakened = [name for name, level in config.get("rules", {}).items() if level in ("off", "warn", 0, 1)]
    unexplained = [name for name in weakened if f"`{name}`" not in conventions]
    assert unexplained == [], f"explain these rule changes in {CONVENTIONS.name}"
