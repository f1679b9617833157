"""Log in, log out, change the password.

Passwords are Argon2id hashes. Logins are limited per client address (Flask-Limiter) and per
account (``web.login_guard``: back-off in the database), and every attempt is in the login log.
Sessions end on logout, on a password change and when an administrator disables the account,
everywhere at once (``web.sessions``).
"""
from __future__ import annotations

import datetime as dt
import functools

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.identity import hash_password, verify_password
from engine.models import UserAccount
from web import login_guard, sessions
from web.blueprints.home import landing_url
from web.extensions import engine, limiter, login_manager
from web.passwords import MAX_LENGTH, policy_problems
from web.sessions import SessionUser

__all__ = ["SessionUser", "bp", "require_role"]

bp = Blueprint("auth", __name__, url_prefix="/auth")
login_manager.user_loader(sessions.load_user)


class LoginForm(FlaskForm):
    username = StringField("用户名 Username", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("密码 Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])


class PasswordForm(FlaskForm):
    """Only for the CSRF token: the fields are checked by the ``password`` view with messages of its own."""

    current_password = PasswordField()
    new_password = PasswordField()
    repeat_password = PasswordField()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both cases take the same time."""
    return hash_password("greenflow: no such account")


def _settings():
    return current_app.config["GREENFLOW"]


def _locked_response(template: str, until: dt.datetime, form: FlaskForm, **context):
    """429 with the minutes to wait; the same for every username, known or not."""
    now = engine().clock.now()
    flash(_("该账户登录失败次数过多，请 %(n)d 分钟后再试", n=login_guard.minutes_left(until, now)), "error")
    retry_after = str(max(1, int((until - now).total_seconds())))
    return render_template(template, form=form, **context), 429, {"Retry-After": retry_after}


def _log(username: str, result: str) -> None:
    login_guard.record(engine(), username, result, address=request.remote_addr,
                       user_agent=request.headers.get("User-Agent"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        flash(_("请填写用户名（最多 120 个字符）和密码"), "error")
        return render_template("auth/login.html", form=form), 400
    username, password = form.username.data, form.password.data
    eng = engine()
    with eng.db.session() as db:
        until = login_guard.locked_until(db, username, eng.clock.now(), _settings())
        user = None if until else db.scalar(select(UserAccount).where(UserAccount.username == username))
    if until:
        _log(username, "locked")
        return _locked_response("auth/login.html", until, form)
    if user is None:
        verify_password(_dummy_hash(), password)
        result = "unknown_user"
    elif not verify_password(user.password_hash, password):
        result = "bad_password"
    else:
        result = "success" if user.active else "disabled"
    _log(username, result)
    if result != "success":
        flash("用户名或密码错误 / Wrong username or password", "error")
        return render_template("auth/login.html", form=form), 401
    sessions.begin(user)
    target = request.args.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(landing_url(current_user.actor))  # each role lands on its work


@bp.post("/logout")
@login_required
def logout():
    """Log out: ends every session of this user (on every device), not only this one."""
    with engine().db.unit_of_work() as db:
        sessions.end_all_sessions(db, current_user.actor.username)
    sessions.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def password():
    """Change one's own password: ends every other session of the user, keeps this one."""
    form = PasswordForm()
    if request.method == "GET":
        return render_template("auth/password.html", form=form, errors={})
    if not form.validate_on_submit():  # only the CSRF token can fail here
        abort(400, description=_("表单已过期，请重新打开页面"))
    username = current_user.actor.username
    current, new, repeat = (form.current_password.data or "", form.new_password.data or "",
                            form.repeat_password.data or "")
    errors: dict[str, list[str]] = {}
    if not current:
        errors["current_password"] = [_("请填写当前密码")]
    if not new:
        errors["new_password"] = [_("请填写新密码")]
    elif new != repeat:
        errors["repeat_password"] = [_("两次输入的新密码不一致")]
    if errors:
        return render_template("auth/password.html", form=form, errors=errors), 422
    eng = engine()
    with eng.db.session() as db:
        until = login_guard.locked_until(db, username, eng.clock.now(), _settings())
        user = db.scalar(select(UserAccount).where(UserAccount.username == username))
    if until:
        _log(username, "locked")
        return _locked_response("auth/password.html", until, form, errors={})
    if user is None or not verify_password(user.password_hash, current):
        _log(username, "bad_password")  # a guess at the password through a session counts too
        errors["current_password"] = [_("当前密码不正确")]
        return render_template("auth/password.html", form=form, errors=errors), 422
    problems = [p.text() for p in policy_problems(new, username=username, min_length=_settings().password_min_length)]
    if new == current:
        problems.append(_("新密码不能与当前密码相同"))
    if problems:
        errors["new_password"] = problems
        return render_template("auth/password.html", form=form, errors=errors), 422
    new_hash = hash_password(new)
    with eng.db.unit_of_work() as db:
        account = db.scalar(select(UserAccount).where(UserAccount.username == username))
        account.password_hash = new_hash
        sessions.end_all_sessions(db, username)
    with eng.db.session() as db:
        sessions.begin(db.scalar(select(UserAccount).where(UserAccount.username == username)))
    flash(_("密码已修改；您在其他设备上的登录已结束。"))
    return redirect(url_for("home.index"))


def require_role(*roles: str):
    """Abort with 403 unless the logged-in user holds one of ``roles`` (at any scope)."""
    if not current_user.is_authenticated:
        abort(401)
    if not any(current_user.actor.has_role(r) for r in roles):
        from web.vocab import role_label

        abort(403, description=_("此页面仅供%(roles)s使用", roles="、".join(role_label(r) for r in roles)))
