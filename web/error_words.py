"""The engine's refusals in people's words, for the pages (issue 15: nothing internal shows).

The engine's messages are written for API clients and the command line: English, naming task ids,
statuses and account names ("task 12 (县级审核) is already claimed by county-520302").  A page shows
the same refusal as a sentence a county official understands, in Chinese (English under
``?lang=en``), with people by name and unit (``web.timeline.person_name``).  The API keeps the engine's message: clients match on ``error`` and ``fields``.

Each entry is a pattern over the engine's message and the two sentences it becomes; a message no
pattern knows is shown as the engine wrote it (it is still a clear 4xx, only not translated).
"""
from __future__ import annotations

import re

from web.i18n import pick, term
from web.timeline import person_name

_TASK = r"task (?P<task>\d+) \((?P<name>[^)]*)\)"
_PHRASES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(rf"^{_TASK} is (?:already )?claimed by (?P<user>\S+)$"),
     "“{name}”已由 {user} 认领；如需办理，请联系其释放或由上级转办",
     "{user} has claimed “{name}”; ask them to release it or ask a supervisor to transfer it"),
    (re.compile(rf"^{_TASK} is (?:already )?delegated to (?P<user>\S+)(?:; wait for the answer)?$"),
     "“{name}”已委派给 {user}，请等待其答复", "“{name}” is delegated to {user}; wait for their answer"),
    (re.compile(rf"^{_TASK} was already completed by (?P<user>\S+)$"),
     "“{name}”已由 {user} 办理，无需再办", "{user} has already completed “{name}”"),
    (re.compile(rf"^{_TASK} was already \w+$"),
     "“{name}”已结束，无需再办", "“{name}” is closed"),
    (re.compile(rf"^{_TASK} is for (?P<user>\S+) alone and cannot be \w+$"),
     "“{name}”只能由 {user} 本人办理，不能释放、转办或委派", "“{name}” is for {user} alone: it cannot be released, "
     "transferred or delegated"),
    (re.compile(rf"^{_TASK} is not claimed by (?P<user>\S+)$"),
     "“{name}”不是您认领的事项", "“{name}” is not claimed by you"),
    (re.compile(rf"^(?P<user>\S+) may not \w+ {_TASK}: .*$"),
     "您没有办理“{name}”的权限：它属于其他岗位或单位", "You may not act on “{name}”: it belongs to another role or unit"),
    (re.compile(rf"^(?P<user>\S+) is not the delegate of {_TASK}$"),
     "“{name}”不是委派给您的事项", "“{name}” was not delegated to you"),
    (re.compile(rf"^(?P<user>\S+) may not (?:CC|comment on) {_TASK}$"),
     "您不能对“{name}”进行此操作", "You may not do this on “{name}”"),
    (re.compile(r"^every colleague named is already CC'd$"),
     "所选同事均已抄送", "Every colleague you named already has a copy"),
    (re.compile(r"^task \S+ not found$|^task \S+ is not part of this instance$"),
     "该事项不存在或已不在办理中", "This task does not exist or is no longer open"),
    (re.compile(r"^process instance \S+ not found$"),
     "该办件不存在", "This case does not exist"),
    (re.compile(r"^the instance changed since the form was opened .*$"),
     "打开表单后该办件已有新的办理，请刷新页面后重试", "The case changed since you opened the form; reload the page and try again"),
]


def for_people(message: str) -> str:
    """``message`` as the page shows it: the first pattern that matches, filled in; else unchanged."""
    for pattern, zh, en in _PHRASES:
        match = pattern.match(message)
        if match:
            groups = match.groupdict()
            return pick(zh, en).format(name=term(groups.get("name") or ""), user=person_name(groups.get("user")))
    return message
