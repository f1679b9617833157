"""``/api/v1/definitions`` (deployed versions and their forms) and ``/api/v1/me``."""
from __future__ import annotations

from engine.errors import NotFound
from web.api import ID, bp
from web.api.auth import current_caller
from web.extensions import engine


@bp.get("/definitions")
def definitions_index():
    """Every deployed version, oldest first, with its executable processes."""
    return {"items": engine().versions()}


@bp.get(f"/definitions/<{ID}:version>/forms/<name>")
def definition_form(version: int, name: str):
    """A form (JSON Schema) of a deployed version, by the name a task gives (e.g. ``review.schema.json``)."""
    form = engine().form(version, name)
    if form is None:
        raise NotFound(f"version {version} has no form {name!r}")
    return {"version": version, "name": name, "schema": form}


@bp.get("/me")
def me():
    """The caller: username, display name, (role, scope) grants and the token in use."""
    caller = current_caller()
    actor = caller.actor
    return {"username": actor.username, "display_name": actor.display_name,
            "grants": [{"role": role, "scope": scope} for role, scope in sorted(actor.grants)],
            "token_id": caller.token_id}
