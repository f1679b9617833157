"""handlers/ reads time only through the clock and uses no randomness (STYLE habit 8)."""
from __future__ import annotations

import re
from pathlib import Path

import handlers

FORBIDDEN = re.compile(r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(|uuid4\(|\brandom\b")


def test_handlers_never_read_the_wall_clock_or_randomness():
    root = Path(handlers.__file__).parent
    offenders = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offenders == []
