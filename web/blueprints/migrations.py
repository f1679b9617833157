"""实例迁移 (issue 12)"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("migrations", __name__, url_prefix="/modeler")
