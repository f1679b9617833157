"""公告 (no login): the published annual lists with their removals (第二十、二十七条), and the
evaluators named for fraud (第三十条)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _

from handlers.evaluators import published_findings
from handlers.list_publication import publication_view, publications
from web import vocab
from web.extensions import engine

bp = Blueprint("announcements", __name__, url_prefix="/public/announcements")


@bp.get("/")
def index():
    with engine().db.session() as session:
        return render_template("public/announcements.html", publications=publications(session),
                               findings=published_findings(session), vocab=vocab, active="announcements")


@bp.get("/<level>/<scope>/<int:year>")
def publication(level: str, scope: str, year: int):
    """One published list: the units listed, those counted under 第七条, and those removed with the ground."""
    if level not in vocab.LEVELS:
        abort(404, description=_("没有这一层级的名单"))
    with engine().db.session() as session:
        view = publication_view(session, level, scope[:20], year)
    if view is None or view["status"] != "published":
        abort(404, description=_("该名单尚未发布"))
    return render_template("public/publication.html", pub=view, vocab=vocab, active="announcements")
