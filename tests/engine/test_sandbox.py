"""Diagram scripts run restricted: no imports, no dunder access, a short list of builtins."""
from __future__ import annotations

import pytest

from engine.sandbox import ScriptRefused, SandboxEnvironment


@pytest.fixture
def env():
    return SandboxEnvironment()


@pytest.mark.parametrize("script", [
    "import os",
    "from os import path",
    "x = ().__class__.__bases__",
    "x = getattr(application, '__class__')",
    "_secret = 1",
    "x = __import__('os')",
])
def test_dangerous_scripts_are_refused(env, script):
    with pytest.raises((ScriptRefused, NameError)):
        env.execute(script, {"application": {}})


@pytest.mark.parametrize("expression", ["open('/etc/passwd')", "eval('1')", "exec('x=1')", "globals()", "vars()"])
def test_dangerous_builtins_are_missing(env, expression):
    with pytest.raises((NameError, ScriptRefused)):
        env.evaluate(expression, {})


def test_str_format_cannot_reach_attributes(env):
    with pytest.raises(NotImplementedError):
        env.evaluate("'{0.__class__}'.format(1)", {})


def test_scripts_can_read_and_write_task_data(env):
    data = {"application": {"energy_tce": 3500}, "items": [1, 2, 3]}
    env.execute("needs_cert = application['energy_tce'] >= 3000\n"
                "application['checked'] = True\n"
                "total = sum(items)\n"
                "total += 1\n"
                "names = sorted(k for k in application)", data)
    assert data["needs_cert"] is True and data["application"]["checked"] is True
    assert data["total"] == 7 and data["names"] == ["checked", "energy_tce"]


def test_deleting_a_variable_removes_it_from_task_data(env):
    data = {"temp": 1, "keep": 2}
    env.execute("del temp", data)
    assert data == {"keep": 2}
