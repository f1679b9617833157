"""The REST API ``/api/v1``: JSON in and out, bearer tokens, the same permission checks as the pages.

Every request but ``GET /api/v1/openapi.json`` needs ``Authorization: Bearer gf_…`` (see
``web.api.auth``). Reads ask ``web.access`` what the caller may see; commands go to the
engine, which refuses what the caller may not do. Errors are always
``{"error", "message", "fields"}`` (``web.errors`` renders them for paths under ``/api/``).
The blueprint is exempt from CSRF: it takes no cookies, only tokens.

Wiring: ``init_app(app)`` registers the blueprint and the ``greenflow tokens`` commands.
"""
from __future__ import annotations

from flask import Blueprint, Flask, g, jsonify, request

from engine.errors import NotAuthenticated
from web.api.auth import authenticate
from web.extensions import csrf, engine

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# The URL converter for row ids: whole numbers that fit PostgreSQL's integer (others are 404).
ID = "int(max=2147483647)"
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})


@bp.before_request
def _authenticate() -> None:
    """Resolve the bearer token to the caller (401 if it fails), except on public endpoints."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    g.api_caller = authenticate(engine(), request.headers.get("Authorization"))


@bp.errorhandler(NotAuthenticated)
def _not_authenticated(err: NotAuthenticated):
    """401 with the ``WWW-Authenticate`` challenge RFC 6750 asks for."""
    response = jsonify(err.to_dict())
    response.status_code = err.http_status
    response.headers["WWW-Authenticate"] = 'Bearer realm="greenflow"'
    return response


def init_app(app: Flask) -> None:
    """Register the API blueprint (CSRF-exempt) and the ``greenflow tokens`` command group."""
    from web.cli_tokens import tokens_group  # here: web.cli_tokens imports this package

    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.cli.add_command(tokens_group)


# The route modules add their views to ``bp``.
from web.api import definitions, deployments, incidents, instances, openapi, tasks  # noqa: E402,F401
from web.api import audit_evidence, audit_replay, migrations  # noqa: E402,F401
