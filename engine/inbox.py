"""The officials' inbox: six tabs over ``human_task``, with counts, filters, sorting and pages.

Every query reads only indexed columns of ``human_task``, ``process_instance``,
``instance_facet`` and ``task_cc``; none reads workflow state. The engine knows nothing of
the domain: filters name the instance's facets (the scalar values a start hook put in its
summary, e.g. ``target_level`` or ``county_code``) and the web layer decides which to offer.

Tabs (DESIGN.md names them after the officials' words):
    all        全部待办   open, mine or claimable by me: everything I can work on (the web's default)
    todo       我的待办   open, assigned to me (claimed, transferred or delegated to me)
    claimable  可认领     open, unassigned, and my role and scope
    done       已办       completed by me
    cc         抄送我的   tasks someone CC'd to me
    overdue    逾期       open, past due, mine or claimable by me

How it stays fast (bench/inbox.py, 1 M historic / 100 k open tasks): the open tabs are unions
of *branches* — "assigned to me" and one "unassigned at (role, scope)" per grant — and each
branch is one range of an index (``ix_human_task_assignee``, ``ix_human_task_claimable``)
already ordered by due date. A page reads, per branch, only the first ``offset + per_page``
entries in index order and merges them; the counts of every tab are one statement of
index-only scalar counts.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, literal, select, text, union_all
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.identity import Actor
from engine.models import HumanTask, InstanceFacet, ProcessInstance, TaskCc

TABS = ("all", "todo", "claimable", "done", "cc", "overdue")
OPEN_TABS = ("all", "todo", "claimable", "overdue")
SORTS = ("due", "age")
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class InboxQuery:
    tab: str = "todo"
    process_id: str | None = None
    facets: dict[str, str] = field(default_factory=dict)
    due_by: dt.datetime | None = None  # due at or before this moment
    search: str | None = None  # in the instance title (the applicant's name)
    sort: str = "due"
    page: int = 1
    per_page: int = 20

    def __post_init__(self):
        if self.tab not in TABS:
            raise InvalidInput(f"unknown tab {self.tab!r}; one of {', '.join(TABS)}", field="tab")
        if self.sort not in SORTS:
            raise InvalidInput(f"unknown sort {self.sort!r}; one of {', '.join(SORTS)}", field="sort")
        if not isinstance(self.page, int) or self.page < 1:
            raise InvalidInput("page must be a positive whole number", field="page")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}", field="per_page")
        if self.search is not None and len(self.search) > 100:
            raise InvalidInput("search is longer than 100 characters", field="q")


@dataclass(frozen=True)
class InboxRow:
    task_id: int
    instance_id: int
    name: str
    role: str
    scope: str
    status: str
    assignee: str | None
    owner: str | None
    created_at: dt.datetime
    due_at: dt.datetime | None
    completed_at: dt.datetime | None
    outcome: str | None
    urge_count: int
    form: str | None
    version_id: int
    process_id: str
    title: str
    summary: dict
    completed_by: str | None = None


@dataclass(frozen=True)
class InboxPage:
    query: InboxQuery
    rows: list[InboxRow]
    counts: dict[str, int]  # the current tab with the filters, the others without
    total: int  # rows of the current tab with the filters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


# --- which tasks a tab holds ---------------------------------------------------------------

def _mine(actor: Actor):
    return and_(HumanTask.status == "open", HumanTask.assignee == actor.username)


def _claimable_at(role: str, scope: str):
    return and_(HumanTask.status == "open", HumanTask.assignee.is_(None), HumanTask.role == role,
                HumanTask.scope == scope)


def _branches(tab: str, actor: Actor, now: dt.datetime) -> list:
    """The conditions whose union is an open tab; each is one ordered range of an index."""
    claimable = [_claimable_at(role, scope) for role, scope in sorted(actor.grants)]
    if tab == "todo":
        return [_mine(actor)]
    if tab == "claimable":
        return claimable
    branches = [_mine(actor), *claimable]
    if tab == "overdue":
        return [and_(b, HumanTask.due_at < now) for b in branches]
    return branches  # all


def _closed_condition(tab: str, actor: Actor):
    if tab == "done":
        return and_(HumanTask.completed_by == actor.username, HumanTask.status == "completed")
    return HumanTask.id.in_(select(TaskCc.task_id).where(TaskCc.username == actor.username))  # cc


def _filtered(stmt, query: InboxQuery | None, dialect: str, tasks=HumanTask):
    """``stmt`` over ``tasks`` (the table, or a subquery with ``instance_id`` and ``due_at``)
    narrowed by the query's filters.

    A facet filter is ``EXISTS`` a facet row of the task's instance (``_has_facet``).
    """
    if query is None:
        return stmt
    for key, value in sorted(query.facets.items()):
        if value:
            stmt = stmt.where(_has_facet(tasks.instance_id, key, str(value), dialect))
    if query.process_id or query.search:
        stmt = stmt.join(ProcessInstance, ProcessInstance.id == tasks.instance_id)
    if query.process_id:
        stmt = stmt.where(ProcessInstance.process_id == query.process_id)
    if query.search:
        stmt = stmt.where(ProcessInstance.title.contains(query.search.strip(), autoescape=True))
    if query.due_by is not None:
        stmt = stmt.where(tasks.due_at <= query.due_by)
    return stmt


_SQLITE_FACET_LOOKUP = text("SELECT key, value, instance_id FROM instance_facet INDEXED BY ix_instance_facet_lookup") \
    .columns(InstanceFacet.key, InstanceFacet.value, InstanceFacet.instance_id)


def _has_facet(instance_id, key: str, value: str, dialect: str):
    """The instance has the facet ``key = value``.

    PostgreSQL makes this a semi-join (hashing the smaller side). SQLite runs it per candidate
    task, told to use ``ix_instance_facet_lookup`` (key, value, instance_id): one covering probe
    each, instead of building the list of every instance with the value (50 k for a level) or
    reading the facet rows through the primary key (bench/inbox.py).
    """
    if dialect != "sqlite":
        return exists(select(literal(1)).select_from(InstanceFacet).where(
            InstanceFacet.key == key, InstanceFacet.value == value, InstanceFacet.instance_id == instance_id))
    facets = _SQLITE_FACET_LOOKUP.subquery("facet")  # SQLite flattens it, keeping the hint
    return exists(select(literal(1)).select_from(facets).where(
        facets.c.key == key, facets.c.value == value, facets.c.instance_id == instance_id))


def _ids(condition, query: InboxQuery | None, dialect: str):
    """``SELECT id, due_at, created_at, completed_at FROM human_task WHERE condition [and the query's filters]``."""
    return _filtered(select(HumanTask.id, HumanTask.due_at, HumanTask.created_at, HumanTask.completed_at)
                     .where(condition), query, dialect)


def _count(condition, query: InboxQuery | None, dialect: str):
    return _filtered(select(func.count()).select_from(HumanTask).where(condition), query, dialect).scalar_subquery()


def _tab_count(tab: str, actor: Actor, now: dt.datetime, query: InboxQuery | None, dialect: str):
    """A scalar expression counting ``tab`` (with ``query``'s filters unless None).

    An open tab of several branches is the sum of their index-only counts; filtered, it is one
    count over their union, so that a facet filter reads its facet once, not once per branch.
    """
    if tab not in OPEN_TABS:
        return _count(_closed_condition(tab, actor), query, dialect)
    branches = _branches(tab, actor, now)
    if not branches:
        return literal(0)
    if query is None or len(branches) == 1:
        parts = [_count(b, query, dialect) for b in branches]
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total
    tasks = union_all(*[select(HumanTask.instance_id, HumanTask.due_at).where(b) for b in branches]).subquery()
    return _filtered(select(func.count()).select_from(tasks), query, dialect, tasks.c).scalar_subquery()


def count_tabs(session: Session, actor: Actor, query: InboxQuery, now: dt.datetime) -> dict[str, int]:
    """How many tasks each tab holds: the query's tab with its filters, the other tabs without.

    The other tabs say how much work waits there; the filters narrow only what is being looked
    at. One statement of index-only counts (bench/inbox.py). 全部待办 is 我的待办 + 可认领 (the
    two never overlap), so it costs nothing unless it is the filtered tab.
    """
    filtered, dialect = _narrows(query), session.get_bind().dialect.name
    names = [t for t in TABS if t != "all"] + (["all"] if query.tab == "all" and filtered else [])
    exprs = [_tab_count(t, actor, now, query if t == query.tab and filtered else None, dialect).label(t)
             for t in names]
    row = session.execute(select(*exprs)).one()
    counts = {t: int(getattr(row, t) or 0) for t in names}
    if "all" not in counts:
        counts["all"] = counts["todo"] + counts["claimable"]
    return {t: counts[t] for t in TABS}


def _narrows(query: InboxQuery) -> bool:
    """Does the query filter (a facet, the process, a search, a due date), beyond choosing a tab?"""
    return bool(any(query.facets.values()) or query.process_id or query.search or query.due_by is not None)


def _order(tab: str, sort: str, columns):
    """Newest completion first for 已办; else by due date (no due date last) or by age; ties by id."""
    if tab == "done":
        return [columns.completed_at.desc(), columns.id.desc()]
    if sort == "age":
        return [columns.created_at, columns.id]
    return [columns.due_at.asc().nulls_last(), columns.id]


def page_ids(session: Session, actor: Actor, query: InboxQuery, now: dt.datetime) -> list[int]:
    """The task ids of one page of the query's tab, in order."""
    offset, limit = (query.page - 1) * query.per_page, query.per_page
    dialect = session.get_bind().dialect.name
    if query.tab in OPEN_TABS:
        branches = _branches(query.tab, actor, now)
        if not branches:
            return []
        if len(branches) == 1:
            stmt = _ids(branches[0], query, dialect).subquery()
            return list(session.scalars(select(stmt.c.id).order_by(*_order(query.tab, query.sort, stmt.c))
                                        .offset(offset).limit(limit)))
        # Each branch reads its first offset + limit entries in index order; the union is merged.
        parts = []
        for branch in branches:
            one = _ids(branch, query, dialect).subquery()
            inner = (select(one.c.id, one.c.due_at, one.c.created_at, one.c.completed_at)
                     .order_by(*_order(query.tab, query.sort, one.c)).limit(offset + limit).subquery())
            parts.append(select(inner.c.id, inner.c.due_at, inner.c.created_at, inner.c.completed_at))
        merged = union_all(*parts).subquery()
        return list(session.scalars(select(merged.c.id).order_by(*_order(query.tab, query.sort, merged.c))
                                    .offset(offset).limit(limit)))
    stmt = _ids(_closed_condition(query.tab, actor), query, dialect).subquery()
    return list(session.scalars(select(stmt.c.id).order_by(*_order(query.tab, query.sort, stmt.c))
                                .offset(offset).limit(limit)))


def inbox_page(session: Session, actor: Actor, query: InboxQuery, now: dt.datetime) -> InboxPage:
    """One page of a tab, with the counts of every tab."""
    if session.get_bind().dialect.name == "postgresql":
        # Short ordered reads: on a small server a parallel plan's worker start-up, and workers
        # reading on past the page's LIMIT, cost more than they save (bench/inbox.py).
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    counts = count_tabs(session, actor, query, now)
    ids = page_ids(session, actor, query, now)
    if not ids:
        return InboxPage(query=query, rows=[], counts=counts, total=counts[query.tab])
    stmt = (select(HumanTask, ProcessInstance.version_id, ProcessInstance.process_id, ProcessInstance.title,
                   ProcessInstance.summary)
            .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.id.in_(ids)))
    position = {task_id: i for i, task_id in enumerate(ids)}
    rows = [InboxRow(task_id=t.id, instance_id=t.instance_id, name=t.name, role=t.role, scope=t.scope,
                     status=t.status, assignee=t.assignee, owner=t.owner, created_at=t.created_at, due_at=t.due_at,
                     completed_at=t.completed_at, outcome=t.outcome, urge_count=t.urge_count or 0, form=t.form,
                     version_id=version_id, process_id=process_id, title=title, summary=summary or {},
                     completed_by=t.completed_by)
            for t, version_id, process_id, title, summary in session.execute(stmt)]
    rows.sort(key=lambda row: position[row.task_id])
    return InboxPage(query=query, rows=rows, counts=counts, total=counts[query.tab])
