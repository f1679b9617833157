"""The words of a notification: Chinese first (what is mailed), English for the centre under ?lang=en.

Most outbox notifications carry their Chinese text (``message_zh``, written by the service that
queued them, citing the article). The 转办 / 委派 / 抄送 / 催办 notifications of the inbox
(``engine.commands.collab``) carry only facts; their sentences are made here.
"""
from __future__ import annotations

from typing import Any

# kind -> (Chinese label, English label): the subject of a mail, the tag in the centre.
KINDS: dict[str, tuple[str, str]] = {
    "reminder": ("催办提醒", "Reminder"),
    "escalation": ("逾期督办", "Overdue"),
    "report": ("上报告知", "Report"),
    "transferred": ("任务转办", "Task transferred"),
    "delegated": ("任务委派", "Task delegated"),
    "delegation_resolved": ("委派办理完毕", "Delegation answered"),
    "cc": ("抄送", "Copied to you"),
    "urged": ("催办", "Urged"),
    "start_refused": ("流程未能发起", "Process not started"),
    "rectification_order": ("限期整改", "Rectification order"),
    "objection_reply": ("异议答复", "Reply to an objection"),
    "complaint_reply": ("举报答复", "Reply to a complaint"),
}
GENERIC = ("通知", "Notice")


def label(kind: str, *, lang: str = "zh") -> str:
    zh, en = KINDS.get(kind, GENERIC)
    return en if lang == "en" else zh


def compose(payload: dict[str, Any], *, by_name: str | None = None) -> tuple[str, str]:
    """(Chinese, English) text of an outbox notification's ``payload``.

    ``by_name`` is the display name of the official who acted (转办, 催办, …), else their username.
    """
    kind = str(payload.get("kind") or "")
    task = payload.get("task") or payload.get("task_name") or ""
    title = payload.get("title") or payload.get("instance_title") or ""
    who = by_name or payload.get("by") or ""
    note = (payload.get("note") or "").strip()
    note_zh = f"附言：{note}" if note else ""
    note_en = f" Note: {note}" if note else ""
    where_zh = f"（{title}）" if title else ""
    where_en = f" ({title})" if title else ""
    facts = {
        "transferred": (f"{who}将任务「{task}」{where_zh}转给您办理。{note_zh}",
                        f"{who} transferred the task \"{task}\"{where_en} to you.{note_en}"),
        "delegated": (f"{who}委派您办理任务「{task}」{where_zh}，办理意见将交回其签发。{note_zh}",
                      f"{who} delegated the task \"{task}\"{where_en} to you; your answer returns to them.{note_en}"),
        "delegation_resolved": (f"{who}已办理您委派的任务「{task}」{where_zh}，请审核签发。{note_zh}",
                                f"{who} answered the task \"{task}\"{where_en} you delegated; please sign it off."
                                f"{note_en}"),
        "cc": (f"{who}将任务「{task}」{where_zh}抄送给您阅知。{note_zh}",
               f"{who} copied the task \"{task}\"{where_en} to you for information.{note_en}"),
        "urged": (f"{who}催办任务「{task}」{where_zh}，请尽快办理。{note_zh}",
                  f"{who} urges you to complete the task \"{task}\"{where_en}.{note_en}"),
    }
    if kind in facts:
        zh, en = facts[kind]
        return zh.strip(), en.strip()
    zh = str(payload.get("message_zh") or "").strip() or f"{label(kind)}{where_zh}"
    en = str(payload.get("message_en") or "").strip()
    if not en:
        subject = f"\"{task}\"" if task else title
        en = f"{label(kind, lang='en')}: {subject}".rstrip(": ") + " (see the Chinese text)"
    return zh, en


def subject(payload: dict[str, Any]) -> str:
    """The subject of the mail: 【贵州省绿色制造】催办提醒：审核."""
    kind = str(payload.get("kind") or "")
    about = payload.get("task") or payload.get("task_name") or payload.get("title") or payload.get("instance_title")
    text = f"【贵州省绿色制造】{label(kind)}"
    return f"{text}：{about}"[:300] if about else text
