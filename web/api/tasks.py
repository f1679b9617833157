"""``/api/v1/tasks``: the inbox, one task, and every command on a task.

The engine checks role, scope, assignment and state for each command (403 / 409 / 422);
this module only parses the request and shapes the answer.
"""
from __future__ import annotations

from engine.inbox import MAX_PER_PAGE, SORTS, TABS, InboxQuery
from web.access import deny, may_read_task
from web.api import ID, bp
from web.api.auth import current_actor, writes
from web.api.inputs import (integer, json_body, obj, query_choice, query_day_end, query_int, query_text, text,
                            text_list)
from web.api.outputs import inbox_view, outcome_view, task_for
from web.extensions import engine

# Inbox filters on the instance's facets (the values its start hook put in its summary).
FACETS = ("target_level", "unit_type", "county_code", "city_code")
MAX_NOTE = 2000


def inbox_query() -> InboxQuery:
    """An InboxQuery from the query string; 422 names a bad parameter."""
    facets = {name: value for name in FACETS if (value := query_text(name, max_length=80))}
    return InboxQuery(tab=query_choice("tab", TABS, default="todo"),
                      process_id=query_text("process_id", max_length=120), facets=facets,
                      due_by=query_day_end("due_by"), search=query_text("q", max_length=100),
                      sort=query_choice("sort", SORTS, default="due"), page=query_int("page", default=1),
                      per_page=query_int("per_page", default=20, high=MAX_PER_PAGE))


@bp.get("/tasks")
def tasks_index():
    """One page of the caller's inbox tab, with the counts of every tab."""
    return inbox_view(engine().inbox(current_actor(), inbox_query()))


@bp.get(f"/tasks/<{ID}:task_id>")
def task_show(task_id: int):
    """The task and its CCs; 404 if missing, 403 unless ``web.access.may_read_task`` (as the task page)."""
    actor = current_actor()
    eng = engine()
    task = eng.task(task_id)
    with eng.db.session() as session:
        if not may_read_task(session, actor, task):
            deny(f"无权查看任务 {task_id} / you may not see task {task_id}")
    return task_for(actor, task)


@bp.post(f"/tasks/<{ID}:task_id>/claim")
@writes
def task_claim(task_id: int):
    """认领: take an unassigned task of the caller's role and scope."""
    json_body(allowed=set())
    return outcome_view(engine().claim(task_id, actor=current_actor()))


@bp.post(f"/tasks/<{ID}:task_id>/release")
@writes
def task_release(task_id: int):
    """Give a claimed task back to the pool."""
    json_body(allowed=set())
    return outcome_view(engine().release(task_id, actor=current_actor()))


@bp.post(f"/tasks/<{ID}:task_id>/complete")
@writes
def task_complete(task_id: int):
    """Complete the task with its form's data ``{data, expected_row_version?}``."""
    body = json_body(allowed={"data", "expected_row_version"})
    data = obj(body, "data")
    expected = integer(body, "expected_row_version")
    return outcome_view(engine().complete(task_id, data, actor=current_actor(), expected_row_version=expected))


@bp.post(f"/tasks/<{ID}:task_id>/transfer")
@writes
def task_transfer(task_id: int):
    """转办 ``{to_user, note}``: hand the task to a colleague with the same role and scope."""
    body = json_body(allowed={"to_user", "note"})
    to_user = text(body, "to_user", required=True, max_length=120)
    note = text(body, "note", max_length=MAX_NOTE)
    return outcome_view(engine().transfer(task_id, to_user, actor=current_actor(), note=note))


@bp.post(f"/tasks/<{ID}:task_id>/delegate")
@writes
def task_delegate(task_id: int):
    """委派 ``{to_user, note}``: a colleague of the same unit prepares the answer for sign-off."""
    body = json_body(allowed={"to_user", "note"})
    to_user = text(body, "to_user", required=True, max_length=120)
    note = text(body, "note", max_length=MAX_NOTE)
    return outcome_view(engine().delegate(task_id, to_user, actor=current_actor(), note=note))


@bp.post(f"/tasks/<{ID}:task_id>/resolve")
@writes
def task_resolve(task_id: int):
    """The delegate's answer ``{data, note}``: a proposed form, returned to the delegator."""
    body = json_body(allowed={"data", "note"})
    data = obj(body, "data", required=True)
    note = text(body, "note", max_length=MAX_NOTE)
    return outcome_view(engine().resolve_delegation(task_id, data, actor=current_actor(), note=note))


@bp.post(f"/tasks/<{ID}:task_id>/cc")
@writes
def task_cc(task_id: int):
    """抄送 ``{to_users, note}``: let colleagues read the task and its instance."""
    body = json_body(allowed={"to_users", "note"})
    to_users = text_list(body, "to_users")
    note = text(body, "note", max_length=MAX_NOTE)
    return outcome_view(engine().cc(task_id, to_users, actor=current_actor(), note=note))


@bp.post(f"/tasks/<{ID}:task_id>/urge")
@writes
def task_urge(task_id: int):
    """催办 ``{note}``: a supervisor urges whoever holds the task."""
    body = json_body(allowed={"note"})
    note = text(body, "note", max_length=MAX_NOTE)
    return outcome_view(engine().urge(task_id, actor=current_actor(), note=note))


@bp.post(f"/tasks/<{ID}:task_id>/comments")
@writes
def task_comment(task_id: int):
    """Comment on a task ``{text}`` (anyone who may read the task; the engine checks that first)."""
    body = json_body(allowed={"text"})
    comment = text(body, "text", max_length=MAX_NOTE)
    return outcome_view(engine().comment(task_id, comment, actor=current_actor()))
