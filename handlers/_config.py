"""Reading the reference tables shipped in ``config/``.

The tables (divisions, industries) are versioned with the code, so they are read from the
repository's ``config/`` folder next to this package, not from a working directory.
"""
from __future__ import annotations

import csv
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


def read_config_csv(name: str) -> list[dict[str, str]]:
    """The rows of ``config/<name>`` as dicts keyed by its header (UTF-8)."""
    with (CONFIG_DIR / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
