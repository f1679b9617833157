"""The dependency direction of DESIGN.md, and the one-clock rule of STYLE.md, checked on the source."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "engine": ("flask", "web", "handlers", "werkzeug"),
    "handlers": ("web", "flask"),
}
SPIFF_MODULES = {"engine/deploy.py", "engine/specs.py", "engine/runtime.py", "engine/state.py", "engine/sandbox.py",
                 "engine/migration/diff.py", "engine/migration/workflow.py",
                 "engine/migration/positions.py"}  # instance migration


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def sources(package: str):
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_downwards(package):
    offenders = []
    for path in sources(package):
        for name in imports_of(path):
            if name.split(".")[0] in FORBIDDEN[package]:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_only_the_four_seams_import_spiffworkflow():
    offenders = []
    for path in sources("engine"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("engine/commands/runner") or rel in SPIFF_MODULES:
            continue
        if any(n.startswith("SpiffWorkflow") for n in imports_of(path)):
            offenders.append(rel)
    assert offenders == []


CLOCK_CALLS = re.compile(r"\b(datetime\.now|datetime\.utcnow|dt\.datetime\.now|time\.time|uuid4|random\.)\s*\(")


@pytest.mark.parametrize("package", ["engine", "handlers"])
def test_time_and_randomness_come_from_the_clock(package):
    offenders = []
    for path in sources(package):
        if path.name == "clock.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if CLOCK_CALLS.search(line) and "def now" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
