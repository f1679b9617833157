"""(being written)"""
from __future__ import annotations

from web.cli_audit import audit_group  # noqa: F401
