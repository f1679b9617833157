"""完整性校验、检查点与导出 (issue 14)"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit_evidence", __name__, url_prefix="/audit")
