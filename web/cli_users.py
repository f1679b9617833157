"""``greenflow users``: disable, enable, set a password, unlock, and read the login log.

Each command wraps a plain function of ``web.accounts`` or ``web.login_guard``; disabling and
setting a password end every web session of the user at once.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from web import accounts, login_guard
from web.cli import _EngineErrors, _emit, _engine, _settings, json_option


@click.group("users", cls=_EngineErrors)
def users_group() -> None:
    """Accounts: disable / enable, passwords, lockouts and the login log."""


@users_group.command("disable")
@click.argument("username")
@with_appcontext
def users_disable(username: str) -> None:
    """Disable USERNAME: no login, every session ends, API tokens are refused."""
    accounts.set_active(_engine(), username, False)
    click.echo(f"user {username} disabled; their sessions have ended and their API tokens are refused")


@users_group.command("enable")
@click.argument("username")
@with_appcontext
def users_enable(username: str) -> None:
    """Enable USERNAME again (they log in anew)."""
    accounts.set_active(_engine(), username, True)
    click.echo(f"user {username} enabled")


@users_group.command("set-password")
@click.argument("username")
@click.password_option("--password", prompt="New password", help="The new password (prompted twice if omitted).")
@with_appcontext
def users_set_password(username: str, password: str) -> None:
    """Set USERNAME's password (the password policy applies); every session of the user ends."""
    accounts.set_password(_engine(), username, password, min_length=_settings().password_min_length)
    click.echo(f"password of {username} set; their sessions have ended")


@users_group.command("set-email")
@click.argument("username")
@click.argument("email", required=False, default="")
@with_appcontext
def users_set_email(username: str, email: str) -> None:
    """Mail USERNAME's notifications to EMAIL (when mail is on); without EMAIL, stop mailing them."""
    result = accounts.set_email(_engine(), username, email)
    click.echo(f"notifications of {username} are mailed to {result['email']}" if result["email"]
               else f"notifications of {username} are no longer mailed")


@users_group.command("unlock")
@click.argument("username")
@with_appcontext
def users_unlock(username: str) -> None:
    """Forget USERNAME's failed logins, ending a lockout (recorded in the login log)."""
    login_guard.unlock(_engine(), username)
    click.echo(f"failed logins of {username} forgotten")


@users_group.command("login-log")
@click.option("--user", "username", default=None, help="Only attempts with this username.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="How many rows.")
@json_option
@with_appcontext
def users_login_log(username: str | None, limit: int, as_json: bool) -> None:
    """The newest login attempts: time (UTC), username as typed, address, result, user agent."""
    rows = login_guard.login_log(_engine(), username=username, limit=limit)

    def human(items):
        if not items:
            click.echo("no login attempts")
        for r in items:
            click.echo(f"{r['at']}  {r['username']:<20} {r['address']:<16} {r['result']:<13} {r['user_agent']}")

    _emit(rows, as_json, human)
