"""What a rule returns: a Violation that cites its article, in Chinese and in English.

A ``refuse`` violation makes the application inadmissible (不予受理).  A ``flag`` is for
the rules the regulation softens with 原则上 ("in principle"): the system must not pass
them silently, but only the official may decide, so a flag goes to every reviewer.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

from sqlalchemy.orm import Session

from engine.errors import RuleViolation

Severity = Literal["refuse", "flag"]
Application = Mapping[str, Any]
Rule = Callable[[Session, Application, dt.date], list["Violation"]]

_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def article_number(article: str) -> int:
    """27 for "第二十七条" (articles 1–99)."""
    match = re.fullmatch(r"第([一二三四五六七八九十]+)条", article)
    if match is None:
        raise ValueError(f"not an article: {article!r}")
    text = match.group(1)
    if "十" not in text:
        return _DIGITS[text]
    tens, _, ones = text.partition("十")
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``rule`` is its id (``art5_…``), ``article`` the 第N条 it enforces."""

    rule: str
    article: str
    field: str
    message_zh: str
    message_en: str
    severity: Severity = "refuse"

    def to_dict(self) -> dict[str, str]:
        """The JSON shape of ``eligibility.violations[]`` / ``flags[]`` (docs/application-process.md)."""
        return {
            "rule": self.rule,
            "article": self.article,
            "field": self.field,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }

    def to_error(self) -> RuleViolation:
        """The same violation as a typed error, for callers that must stop on it."""
        return RuleViolation(f"{self.message_zh} / {self.message_en}", article=self.article, field=self.field)


def _violation(
    severity: Severity, rule: str, article: str, field: str, zh: str, en: str, item: int | None
) -> Violation:
    number = article_number(article)
    if not rule.startswith(f"art{number}_"):
        raise ValueError(f"rule id {rule!r} must carry its article number {number}")
    cite_zh = f"{article}第{item}项" if item else article
    cite_en = f"Article {number}, item {item}" if item else f"Article {number}"
    return Violation(rule, article, field, f"{zh}（{cite_zh}）", f"{en} ({cite_en})", severity)


def refuse(rule: str, article: str, field: str, zh: str, en: str, *, item: int | None = None) -> Violation:
    """A violation that refuses the application; the citation is appended to both messages."""
    return _violation("refuse", rule, article, field, zh, en, item)


def flag(rule: str, article: str, field: str, zh: str, en: str, *, item: int | None = None) -> Violation:
    """A 原则上 finding for the reviewers; the citation is appended to both messages."""
    return _violation("flag", rule, article, field, zh, en, item)


@dataclass(frozen=True)
class EligibilityResult:
    eligible: bool
    violations: tuple[Violation, ...]
    flags: tuple[Violation, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "violations": [v.to_dict() for v in self.violations],
            "flags": [f.to_dict() for f in self.flags],
        }
