"""``greenflow tokens``: issue, list and revoke REST API tokens.

Each command wraps a plain function of ``web.api.auth``. ``create`` prints the token once:
only its SHA-256 is stored, so a lost token is revoked and a new one issued. Engine errors
(an unknown user or token) print their message and exit with code 2.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from web.api import auth
from web.cli import _EngineErrors, _emit, _engine, json_option


@click.group("tokens", cls=_EngineErrors)
def tokens_group() -> None:
    """API tokens for /api/v1 (Authorization: Bearer gf_…)."""


@tokens_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (e.g. the client's name).")
@json_option
@with_appcontext
def tokens_create(username: str, name: str, as_json: bool) -> None:
    """Issue a token for USERNAME and print it (it is shown only this once)."""
    view, token = auth.issue_token(_engine(), username, name=name)

    def human(v):
        click.echo(f"token {v['id']} ({v['name']}) for {v['username']}; it is shown only once:")
        click.echo(v["token"])

    _emit({**view, "token": token}, as_json, human)


@tokens_group.command("list")
@click.option("--user", "username", default=None, help="Only this user's tokens.")
@json_option
@with_appcontext
def tokens_list(username: str | None, as_json: bool) -> None:
    """List tokens (never the secrets): id, user, name, created, last used, revoked."""
    rows = auth.list_tokens(_engine(), username=username)

    def human(items):
        if not items:
            click.echo("no tokens")
        for t in items:
            state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "active"
            click.echo(f"{t['id']:>4}  {t['username']:<20} {t['name']:<24} created {t['created_at']}  "
                       f"last used {t['last_used_at'] or '-'}  {state}")

    _emit(rows, as_json, human)


@tokens_group.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
@json_option
@with_appcontext
def tokens_revoke(token_id: int, as_json: bool) -> None:
    """Revoke token TOKEN_ID: requests with it are refused from now on."""
    view = auth.revoke_token(_engine(), token_id)
    _emit(view, as_json, lambda v: click.echo(f"token {v['id']} ({v['name']}) of {v['username']} revoked "
                                               f"at {v['revoked_at']}"))
