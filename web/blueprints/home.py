"""The front door: everyone lands on their own work.

After login (and on ``/``) each role goes where its work is: officials to the inbox, enterprises
to the portal, process owners to the modeler, auditors to the audit search, and an operator (who
handles incidents and nothing else) to the incidents; the public, who need no account, to the
notices. Nothing internal (platform counts, deployments) is shown on the way.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, jsonify, redirect, send_file, url_for
from flask_login import current_user

from engine.identity import Actor
from web.access import INCIDENT_ROLES
from web.extensions import engine
from web.navigation import OFFICIAL_ROLES

bp = Blueprint("home", __name__)
FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"

# (role, endpoint) in order: the first role the user holds decides where they land.
LANDINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (OFFICIAL_ROLES, "inbox.index"),
    (("applicant",), "portal.index"),
    (("process_owner",), "modeler.index"),
    (("auditor",), "audit.search"),
    (INCIDENT_ROLES, "admin.incidents_page"),
)


def landing_url(actor: Actor) -> str:
    """Where ``actor`` starts: the page of the first of their roles in ``LANDINGS``; else the notices."""
    for roles, endpoint in LANDINGS:
        if any(actor.has_role(role) for role in roles):
            return url_for(endpoint)
    return url_for("public.notices")


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user.actor))
    return redirect(url_for("public.notices"))


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on every page; the emblem of the platform, cached for a day."""
    return send_file(FAVICON, mimetype="image/x-icon", max_age=86400)


@bp.get("/healthz")
def health():
    eng = engine()
    return jsonify({"status": "ok", "database": eng.db.dialect, "versions": len(eng.versions())})
