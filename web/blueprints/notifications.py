"""通知中心: every signed-in user's notifications — the bell with its count, the list, mark read.

The rows are written by the worker from the outbox (``engine.notifications.fanout``); here a user
reads and marks only their own. Opening one marks it read and goes to what it is about: the task
page for officials, the application in the portal for applicants, else the instance.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from engine.clock import CHINA
from engine.errors import InvalidInput
from engine.notifications import centre, messages
from web import access
from web.extensions import engine
from web.i18n import lang
from web.navigation import OFFICIAL_ROLES

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
MAX_PAGE = 100_000


def unread_count() -> int:
    """The bell's number for the signed-in user (0 when signed out)."""
    if not current_user.is_authenticated:
        return 0
    with engine().db.session() as session:
        return centre.unread_count(session, current_user.actor.username)


@bp.app_context_processor
def _bell() -> dict:
    return {"notification_count": unread_count}


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidInput(_("页码应为 1 到 %(max)s 的整数", max=MAX_PAGE), field="page")
    return int(raw)


def _show_arg() -> str:
    show = request.args.get("show", "all")
    if show not in ("all", "unread"):
        raise InvalidInput(_("show 应为 all 或 unread"), field="show")
    return show


def _target(item: centre.NotificationView) -> str | None:
    """Where a notification leads: the task, the application (applicants) or the instance."""
    actor = current_user.actor
    official = any(actor.has_role(role) for role in OFFICIAL_ROLES + ("province_official",))
    if item.task_id is not None and official:
        return url_for("tasks.show", task_id=item.task_id)
    if item.instance_id is not None:
        if actor.has_role("applicant") and not official:
            return url_for("portal.application", instance_id=item.instance_id)
        return url_for("instances.show", instance_id=item.instance_id)
    return None


def _row(item: centre.NotificationView) -> dict:
    english = lang() == "en"
    local = item.created_at.astimezone(CHINA)
    return {"id": item.id, "kind": item.kind, "label": messages.label(item.kind, lang="en" if english else "zh"),
            "text": item.message_en if english else item.message_zh, "unread": item.read_at is None,
            "at": f"{local:%Y-%m-%d %H:%M}", "target": _target(item)}


@bp.get("/")
@login_required
def index():
    show, page_no = _show_arg(), _page_arg()
    with engine().db.session() as session:
        items, total = centre.page(session, current_user.actor.username, unread_only=show == "unread", page_no=page_no)
        unread = centre.unread_count(session, current_user.actor.username)
    pages = max((total + centre.PAGE_SIZE - 1) // centre.PAGE_SIZE, 1)
    return render_template("notifications/index.html", rows=[_row(i) for i in items], total=total, unread=unread,
                           show=show, page=page_no, pages=pages)


def _mark(notification_id: int) -> centre.NotificationView:
    """Mark the user's notification read; 404 when it is not theirs (or does not exist)."""
    eng = engine()
    with eng.db.unit_of_work() as session:
        if not centre.mark_read(session, current_user.actor.username, notification_id, now=eng.clock.now()):
            access.not_found(_("通知不存在"))
        item = centre.get(session, current_user.actor.username, notification_id)
    return item


@bp.post("/<int:notification_id>/open")
@login_required
def open_one(notification_id: int):
    """Mark it read and go to what it is about (the list when it is about nothing one can open)."""
    target = _target(_mark(notification_id))
    return redirect(target or url_for(".index"))


@bp.post("/<int:notification_id>/read")
@login_required
def read_one(notification_id: int):
    _mark(notification_id)
    return redirect(url_for(".index", show=_show_arg()))


@bp.post("/read-all")
@login_required
def read_all():
    eng = engine()
    with eng.db.unit_of_work() as session:
        count = centre.mark_all_read(session, current_user.actor.username, now=eng.clock.now())
    flash(_("已将 %(n)s 条通知标为已读", n=count) if count else _("没有未读通知"), "success")
    return redirect(url_for(".index"))
