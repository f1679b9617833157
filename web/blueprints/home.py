"""The front page: what is deployed and how many instances are in each state."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from web import vocab
from web.extensions import engine

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    eng = engine()
    return render_template("home/index.html", versions=eng.versions(), counts=eng.count_instances(),
                           incidents=len(eng.incidents()), vocab=vocab)


@bp.get("/healthz")
def health():
    eng = engine()
    return jsonify({"status": "ok", "database": eng.db.dialect, "versions": len(eng.versions())})
