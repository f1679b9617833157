"""The modeler's moddle extension for our spiffworkflow namespace loses nothing.

web/assets/src/spiff-properties/spiffworkflow.json describes the extension elements our diagrams
use (docs/bpmn-conventions.md); the browser modeler reads and writes diagrams with bpmn-moddle and
that descriptor. web/assets/test/roundtrip.mjs imports every shipped diagram the way the modeler
does (including its fix for loopDataInputRef / loopDataOutputRef, which SpiffWorkflow reads as
variable names) and exports it again; here the exported XML must say exactly what the file says:
same elements, attributes and texts (whitespace, namespace prefixes and attribute order aside),
every spiffworkflow element typed by the descriptor (none left as an unknown generic element).

Needs node and web/assets/node_modules (scripts/setup_assets.sh); without them the tests skip,
except under CI=true, where they fail.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
BPMN_DIR = PROJECT_DIR / "bpmn"
ASSETS = PROJECT_DIR / "web" / "assets"
SCRIPT = ASSETS / "test" / "roundtrip.mjs"
DESCRIPTOR = ASSETS / "src" / "spiff-properties" / "spiffworkflow.json"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
IN_CI = os.environ.get("CI", "").lower() == "true"
FILES = sorted(BPMN_DIR.glob("*.bpmn"))


def _unavailable(problem: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true requires the modeler round trip to run: {problem}")
    pytest.skip(problem)


def roundtrip(*files: Path) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        _unavailable("node not found (run scripts/setup_assets.sh; Debian: apt-get install nodejs npm)")
    if not (ASSETS / "node_modules" / "bpmn-moddle" / "package.json").is_file():
        _unavailable("bpmn-moddle is not installed in web/assets/node_modules (run scripts/setup_assets.sh)")
    result = subprocess.run([node, str(SCRIPT), *map(str, files)], cwd=PROJECT_DIR, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def exported() -> dict[str, dict]:
    return {Path(r["file"]).name: r for r in roundtrip(*FILES)}


def canonical(element: ET.Element) -> tuple:
    return (element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(),
            tuple(canonical(child) for child in element))


def first_difference(a: ET.Element, b: ET.Element, path: str = "") -> str | None:
    here = f"{path}/{a.get('id') or a.tag.split('}')[-1]}"
    if a.tag != b.tag or a.attrib != b.attrib or (a.text or "").strip() != (b.text or "").strip():
        return f"{here}: {a.tag} {a.attrib} {(a.text or '').strip()[:80]!r} became " \
               f"{b.tag} {b.attrib} {(b.text or '').strip()[:80]!r}"
    if len(a) != len(b):
        return f"{here}: children {[c.tag for c in a]} became {[c.tag for c in b]}"
    for x, y in zip(a, b):
        found = first_difference(x, y, here)
        if found:
            return found
    return None


def spiff_elements(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if e.tag.startswith("{%s}" % SPIFF)]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_shipped_diagram_survives_import_and_export(exported, path):
    result = exported[path.name]
    assert result["warnings"] == [], f"{path.name}: import warnings {result['warnings']}"
    before = ET.parse(path).getroot()
    after = ET.fromstring(result["xml"].encode("utf-8"))
    assert canonical(before) == canonical(after), first_difference(before, after)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_spiffworkflow_element_is_typed_by_the_descriptor(exported, path):
    result = exported[path.name]
    assert result["generic"] == [], f"{path.name}: not in spiffworkflow.json: {sorted(set(result['generic']))}"
    counted: dict[str, int] = {}
    for element in spiff_elements(ET.parse(path).getroot()):
        local = element.tag.split("}")[1]
        name = "spiffworkflow:" + local[0].upper() + local[1:]
        counted[name] = counted.get(name, 0) + 1
    assert result["types"] == counted


def test_the_descriptor_covers_what_the_conventions_document():
    descriptor = json.loads(DESCRIPTOR.read_text(encoding="utf-8"))
    assert descriptor["uri"] == SPIFF and descriptor["prefix"] == "spiffworkflow"
    types = {t["name"] for t in descriptor["types"]}
    assert {"Properties", "Property", "ServiceTaskOperator", "Parameters", "Parameter", "MessageVariable"} <= types
    conventions = (PROJECT_DIR / "docs" / "bpmn-conventions.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"<spiffworkflow:(\w+)", conventions)) | set(re.findall(r"spiffworkflow:(\w+)`",
                                                                                          conventions))
    missing = {name for name in documented if name[0].upper() + name[1:] not in types}
    assert missing == set(), f"docs/bpmn-conventions.md names spiffworkflow elements the modeler does not know: {missing}"


def test_an_edited_parameter_round_trips(tmp_path):
    source = (BPMN_DIR / "unit_change.bpmn").read_text(encoding="utf-8")
    edited = source.replace('value="change_decision"', 'value="change_decision if change_decision else None"')
    assert edited != source
    path = tmp_path / "unit_change.bpmn"
    path.write_text(edited, encoding="utf-8")
    [result] = roundtrip(path)
    after = ET.fromstring(result["xml"].encode("utf-8"))
    assert canonical(ET.parse(path).getroot()) == canonical(after)
    assert any(e.get("value") == "change_decision if change_decision else None" for e in spiff_elements(after))


UNDECLARED_COLLECTION = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_mi"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="mi" isExecutable="true">
    <bpmn:task id="each" name="逐个">
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>units</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>filings</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="unit" name="unit"/>
        <bpmn:outputDataItem id="filing" name="filing"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:task>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_loop_collection_named_by_variable_is_kept_even_when_undeclared(tmp_path):
    """SpiffWorkflow reads loopDataInputRef as a variable name; bpmn-moddle alone would drop it."""
    path = tmp_path / "mi.bpmn"
    path.write_text(UNDECLARED_COLLECTION, encoding="utf-8")
    [result] = roundtrip(path)
    assert result["warnings"] == []  # answered by the modeler's import hook
    after = ET.fromstring(result["xml"].encode("utf-8"))
    assert canonical(ET.parse(path).getroot()) == canonical(after)
