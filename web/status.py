"""What state an instance is in, as people say it: 办理中, 公示中（至 2026-12-11）, 已办结…

``engine`` knows “waiting” (for a timer or a message); during a public notice (第二十条) people
want to read 公示中 with the notice's last day, which only the domain's notice records know.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select

from handlers.records import Notice
from web import vocab
from web.extensions import engine


def open_notices(instance_ids: Iterable[int]) -> dict[int, dt.date]:
    """instance id -> the last day of its public notice, for the instances whose notice is open."""
    ids = sorted({i for i in instance_ids if i})
    if not ids:
        return {}
    with engine().db.session() as session:
        rows = session.execute(select(Notice.instance_id, Notice.last_day, Notice.ends_at)
                               .where(Notice.instance_id.in_(ids), Notice.closed_at.is_(None))).all()
    found: dict[int, dt.date] = {}
    for instance_id, last_day, ends_at in rows:
        found[instance_id] = last_day or ends_at.date()
    return found


def status_labels(instances: Iterable[tuple[int, str]]) -> dict[int, str]:
    """instance id -> its status label, for (id, status) pairs (one query for the notices)."""
    pairs = list(instances)
    notices = open_notices(i for i, _ in pairs)
    return {i: vocab.status_label(s, notice_until=notices.get(i)) for i, s in pairs}


def status_label_of(instance_id: int, status: str) -> str:
    return status_labels([(instance_id, status)])[instance_id]
