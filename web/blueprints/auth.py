"""Log in and out. Passwords are Argon2 hashes; failed attempts are rate-limited per client."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine.errors import EngineError
from engine.identity import Actor, verify_password
from engine.models import UserAccount
from web.extensions import engine, limiter, login_manager

bp = Blueprint("auth", __name__, url_prefix="/auth")


@dataclass(frozen=True)
class SessionUser(UserMixin):
    """The logged-in user as Flask-Login sees it: a thin wrapper around the engine's Actor."""

    actor: Actor

    def get_id(self) -> str:
        return self.actor.username

    @property
    def display_name(self) -> str:
        return self.actor.display_name or self.actor.username


@login_manager.user_loader
def load_user(username: str) -> SessionUser | None:
    try:
        return SessionUser(engine().actor(username))
    except EngineError:  # deleted or deactivated since the session began
        return None


class LoginForm(FlaskForm):
    username = StringField("用户名 Username", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("密码 Password", validators=[DataRequired(), Length(max=200)])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        with engine().db.session() as session:
            user = session.scalar(select(UserAccount).where(UserAccount.username == form.username.data))
            ok = user is not None and user.active and verify_password(user.password_hash, form.password.data)
        if ok:
            login_user(SessionUser(engine().actor(form.username.data)))
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("home.index"))
        flash("用户名或密码错误 / Wrong username or password")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))


def require_role(*roles: str):
    """Abort with 403 unless the logged-in user holds one of ``roles`` (at any scope)."""
    if not current_user.is_authenticated:
        abort(401)
    if not any(current_user.actor.has_role(r) for r in roles):
        abort(403, description=f"需要角色 / requires role: {' / '.join(roles)}")
