"""bpmnlint on the server: the rules of the project's ``.bpmnlintrc``, the same the browser and CI use.

The engine knows nothing of Node, so the lint lives here and joins deploy as an extra check
(``engine.api.BundleChecks``). It runs the project-local bpmnlint CLI
(``web/assets/node_modules/.bin/bpmnlint``, installed by ``scripts/setup_assets.sh``) in a
subprocess with a timeout, on temporary copies of the .bpmn files that differ from the newest
deployed bundle (every .bpmn file on a first deploy), and turns its report into problems naming
the file, the element id and its line (looked up in the XML). It starts before deploy's own
analysis and is collected after it, so the two overlap.

A lint error refuses the bundle like any deploy problem; a lint warning is reported and does not.
When Node, the CLI or ``.bpmnlintrc`` is missing, or the CLI fails or times out, the result is one
warning-level problem starting with "bpmnlint unavailable" (or "bpmnlint failed"): the deploy is
not refused for lack of the linter.

Settings (app config): ``BPMNLINT_BIN`` (path of the CLI; "" turns the lint off, which reports the
warning), ``BPMNLINT_CONFIG`` (path of the configuration), ``BPMNLINT_TIMEOUT`` (seconds, default 30).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from config import PROJECT_DIR
from engine.deploy import parse_xml_safely
from engine.errors import DeployError, DeployProblem

BINARY_CANDIDATES = (PROJECT_DIR / "web" / "assets" / "node_modules" / ".bin" / "bpmnlint",
                     PROJECT_DIR / "node_modules" / ".bin" / "bpmnlint")
CONFIG_CANDIDATES = (PROJECT_DIR / ".bpmnlintrc", PROJECT_DIR / "bpmn" / ".bpmnlintrc",
                     PROJECT_DIR / "web" / "assets" / ".bpmnlintrc")
DEFAULT_TIMEOUT = 30.0
UNAVAILABLE = "bpmnlint unavailable"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELLS = re.compile(r"\s{2,}|\t")
SEVERITIES = {"error": "error", "warning": "warning", "warn": "warning", "info": "warning"}


@dataclass(frozen=True)
class LintProblem:
    file: str
    element_id: str | None
    line: int | None
    message: str
    severity: str  # "error" | "warning"

    def as_dict(self) -> dict:
        return {"file": self.file, "element_id": self.element_id, "line": self.line, "message": self.message,
                "severity": self.severity}


@dataclass(frozen=True)
class Linter:
    """Where the CLI and its configuration are; ``binary`` None means unavailable (``reason`` says why)."""

    binary: str | None
    config: str | None
    timeout: float = DEFAULT_TIMEOUT
    reason: str = ""

    @classmethod
    def from_config(cls, app_config: dict) -> "Linter":
        timeout = float(app_config.get("BPMNLINT_TIMEOUT", DEFAULT_TIMEOUT))
        binary = app_config.get("BPMNLINT_BIN")
        if binary is None:
            binary = next((str(p) for p in BINARY_CANDIDATES if p.is_file()), None)
            if binary is None:
                return cls(None, None, timeout, "the bpmnlint CLI is not installed (run scripts/setup_assets.sh)")
        elif not binary:
            return cls(None, None, timeout, "bpmnlint is turned off (BPMNLINT_BIN)")
        elif not Path(binary).is_file():
            return cls(None, None, timeout, f"{binary} not found")
        config = app_config.get("BPMNLINT_CONFIG") or next((str(p) for p in CONFIG_CANDIDATES if p.is_file()), None)
        if not config or not Path(config).is_file():
            return cls(None, None, timeout, "no .bpmnlintrc found")
        if shutil.which("node") is None and _needs_node(binary):
            return cls(None, None, timeout, "node is not installed")
        return cls(binary, config, timeout)

    def start(self, files: dict[str, bytes], paths) -> "LintRun":
        """Start linting ``paths`` (the .bpmn ones that are well-formed XML) of ``files``."""
        return LintRun(self, files, paths)


def _needs_node(binary: str) -> bool:
    try:
        with open(binary, "rb") as fh:
            return b"node" in fh.readline()
    except OSError:
        return False


# Lint results by SHA-256 of (CLI, configuration, file): a validate and the deploy that follows it
# lint the same diagram once. Only complete runs are kept.
_CACHE: dict[bytes, list[tuple[str | None, str, str]]] = {}
_CACHE_SIZE = 512


class LintRun:
    """One bpmnlint process over temporary copies; ``result()`` waits for it and parses its report."""

    def __init__(self, linter: Linter, files: dict[str, bytes], paths):
        self.linter = linter
        self.trees = {}
        for path in sorted(paths):
            if path.endswith(".bpmn") and path in files:
                try:
                    self.trees[path] = parse_xml_safely(path, files[path])
                except DeployError:  # deploy reports it; bpmnlint has nothing to add
                    continue
        self.process: subprocess.Popen | None = None
        self.problems: list[LintProblem] | None = None
        self.tmp: str | None = None
        self.names: dict[str, str] = {}
        self.keys: dict[str, bytes] = {}
        self.cached: list[LintProblem] = []
        if not self.trees:
            self.problems = []
            return
        if linter.binary is None:
            self.problems = [self._warning(f"{UNAVAILABLE}: {linter.reason}; the diagrams were not linted")]
            return
        try:
            tool = Path(linter.binary).read_bytes() + b"\0" + Path(linter.config).read_bytes()
        except OSError:
            tool = None
        for path in list(self.trees):
            key = hashlib.sha256(tool + b"\0" + files[path]).digest() if tool is not None else b""
            hit = _CACHE.get(key) if key else None
            if hit is None:
                self.keys[path] = key
                continue
            self.cached.extend(LintProblem(path, element, _line_of(self.trees[path], element), message, severity)
                               for element, message, severity in hit)
        if not self.keys:
            self.problems = self.cached
            return
        self.tmp = tempfile.mkdtemp(prefix="greenflow-bpmnlint-")
        targets = []
        for index, path in enumerate(self.keys):
            target = os.path.join(self.tmp, f"{index:03d}-{os.path.basename(path)}")
            with open(target, "wb") as fh:
                fh.write(files[path])
            targets.append(target)
            self.names[os.path.realpath(target)] = path
            self.names[os.path.abspath(target)] = path
        binary = Path(linter.binary)
        # Plugins and configs named in .bpmnlintrc resolve from the node_modules the CLI lives in.
        cwd = binary.parent.parent.parent if binary.parent.name == ".bin" else Path(linter.config).parent
        env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
        self.started = time.monotonic()
        try:
            self.process = subprocess.Popen([str(binary), "--config", str(Path(linter.config).resolve()), *targets],
                                            cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as err:
            self._cleanup()
            self.problems = [self._warning(f"{UNAVAILABLE}: {err.strerror or err}; the diagrams were not linted")]

    def _warning(self, message: str) -> LintProblem:
        return LintProblem(next(iter(self.trees), "(bundle)"), None, None, message, "warning")

    def _cleanup(self) -> None:
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def result(self) -> list[LintProblem]:
        if self.problems is not None:
            return self.problems
        assert self.process is not None
        try:
            remaining = max(0.1, self.linter.timeout - (time.monotonic() - self.started))
            out, err = self.process.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            self.problems = [self._warning(f"bpmnlint failed: no answer within {self.linter.timeout:g} s; "
                                           f"the diagrams were not linted")]
            return self.problems
        finally:
            self._cleanup()
        stdout = _ANSI.sub("", out.decode("utf-8", "replace"))
        problems = parse_report(stdout, self.names, self.trees)
        if not problems and self.process.returncode != 0:
            detail = _ANSI.sub("", err.decode("utf-8", "replace")).strip().splitlines() or [f"exit status "
                                                                                           f"{self.process.returncode}"]
            problems = [self._warning(f"bpmnlint failed: {detail[0][:300]}; the diagrams were not linted")]
        elif self.process.returncode in (0, 1):
            if len(_CACHE) + len(self.keys) > _CACHE_SIZE:
                _CACHE.clear()
            for path, key in self.keys.items():
                if key:
                    _CACHE[key] = [(p.element_id, p.message, p.severity) for p in problems if p.file == path]
        self.problems = self.cached + problems
        return self.problems


def parse_report(stdout: str, names: dict[str, str], trees: dict) -> list[LintProblem]:
    """The CLI's report: a file's resolved path, then a table row per problem —
    ``  <element id>[#<path>]  <error|warning>  <message>  <rule>`` (cells two spaces apart)."""
    problems: list[LintProblem] = []
    current: str | None = None
    for raw in stdout.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        if not line[0].isspace():
            current = names.get(line.strip()) or names.get(os.path.realpath(line.strip()))
            continue  # a file header, or the summary line (✖ N problems), which names no file
        if current is None:
            continue
        cells = [c for c in _CELLS.split(line.strip()) if c]
        index = next((i for i, c in enumerate(cells) if c in SEVERITIES), None)
        if index is None or index > 1:
            continue  # the continuation of a multi-line message
        element = cells[0].split("#", 1)[0] if index == 1 else None
        rest = cells[index + 1:]
        rule = rest[-1] if len(rest) >= 2 else None
        message = " ".join(rest[:-1] if rule else rest) or "problem"
        problems.append(LintProblem(current, element or None, _line_of(trees.get(current), element),
                                    f"bpmnlint{' ' + rule if rule else ''}: {message}", SEVERITIES[cells[index]]))
    return problems


def _line_of(root, element: str | None) -> int | None:
    if root is None or not element:
        return None
    found = root.xpath("//*[@id=$id]", id=element)
    return found[0].sourceline if found else None


def as_checks(linter: Linter, sink: list[LintProblem]) -> Callable:
    """``engine.api.BundleChecks`` running bpmnlint; every lint problem (errors and warnings) also
    lands in ``sink``, and the errors refuse the bundle."""
    def checks(files: dict[str, bytes], changed: set[str]):
        run = linter.start(files, changed)

        def finish() -> list[DeployProblem]:
            problems = run.result()
            sink[:] = problems
            return [DeployProblem(p.file, p.message, element=p.element_id, line=p.line)
                    for p in problems if p.severity == "error"]
        return finish
    return checks
