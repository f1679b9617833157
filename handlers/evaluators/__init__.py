"""Third-party evaluators (第三方评价机构, 第十五、三十、三十一条): registry, findings, annual work report.

Three pieces of work live here; the eligibility rules that read them stay in
``handlers/rules/evaluators.py``.

- **Registry** (``evaluator_registry``): the province registers an evaluator or updates it
  (name, legal representative, national qualification). Every legal representative an
  evaluator has had is kept in ``EvaluatorRepresentative`` with the China dates it held the
  office (``valid_from`` inclusive, ``valid_to`` exclusive, None = open). 第三十一条 caps the
  national evaluations of *one legal representative's* evaluators at 15 a year, so an
  application counts for the representative in office on the day it was submitted
  (``representative_on``), not for whoever holds the office today: a change of
  representative neither frees the old one's quota nor charges his evaluations to the new
  one. An evaluator without history rows (imported before the registry existed) counts for
  its current ``Evaluator.legal_representative``; its first change records that one as
  "since ever" (``valid_from`` None).
- **Findings** (``evaluator_finding``, 第三十条): outside a complaint, the province records
  that an evaluator falsified (弄虚作假) or deliberately concealed problems of the evaluated
  unit (故意隐瞒评价对象问题); once a second look confirms it, the finding is published
  (``EvaluatorFinding``: 通报, a public record) and an ``EvaluatorBan`` of 第三十条 runs three
  years (the same period as a confirmed complaint, ``handlers.complaints.ban_period``), which
  ``art30_evaluator_not_banned`` enforces on every application naming the evaluator.
- **Annual work report** (``evaluator_work_report``, 第三十一条第三款): every evaluator
  qualified for national evaluations files its “第三方机构年度工作情况” by April 30; the
  province reviews each report (accept / return for correction); reminders on April 16 and
  April 27; an evaluator that has not filed (or not corrected a returned report) when April 30
  ends gets an ``EvaluatorNote`` — a supervision note on the *evaluator* (第三十条: 监督管理),
  not a 第二十七条 ground, which only concerns units.

Services never commit: the command runner does, so a failing service leaves nothing behind.
"""
from __future__ import annotations

from handlers.evaluators._common import national_projects_of, representative_on
from handlers.evaluators._models import (
    ARTICLE_30,
    ARTICLE_31,
    FINDING_KINDS,
    NOTE_KINDS,
    REPORT_DEADLINE,
    EvaluatorFinding,
    EvaluatorNote,
    EvaluatorRepresentative,
    EvaluatorWorkReport,
    WorkReportCampaign,
)
from handlers.evaluators.findings import decide_evaluator_finding, published_findings, record_evaluator_finding
from handlers.evaluators.registry import register_evaluator
from handlers.evaluators.work_report import (
    close_work_report_campaign,
    open_work_report_campaign,
    record_work_report,
    record_work_report_missing,
    remind_work_reports,
    report_deadline_end,
    review_work_report,
)

__all__ = [
    "ARTICLE_30", "ARTICLE_31", "FINDING_KINDS", "REPORT_DEADLINE", "NOTE_KINDS",
    "EvaluatorRepresentative", "EvaluatorFinding", "WorkReportCampaign", "EvaluatorWorkReport", "EvaluatorNote",
    "representative_on", "national_projects_of", "published_findings", "report_deadline_end",
    "register_evaluator", "record_evaluator_finding", "decide_evaluator_finding",
    "open_work_report_campaign", "record_work_report", "review_work_report", "record_work_report_missing",
    "remind_work_reports", "close_work_report_campaign",
]
