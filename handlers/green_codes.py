"""Enterprise green codes (企业绿码, 第二十五条): A+ / A / B for the green factories of a year.

Every green factory (a current Listing of type ``factory``) whose table of the year was filed
and accepted (``handlers.filing_review``) gets a score from its indicators, as configured in
``config/green_code.toml``: each indicator is min-max normalised over the year's cohort
(1 = best, direction per indicator), the score is 100 × the weighted mean. Factories are then
ranked overall and within their industry (GB/T 4754 division, the first two digits of
``Unit.industry_code``), and the overall rank gives the code:

- with n ranked factories, ``A+`` goes to ranks ≤ round_half_up(5 % · n) and ``A`` to ranks
  ≤ round_half_up(40 % · n); the rest are ``B`` (100 factories: exactly 5 / 35 / 60);
- equal scores (compared at 6 decimals) share a rank (1, 2, 2, 4 …) and therefore a tier: a tie
  across a cut widens the better tier;
- no code (第二十五条: 不填报或者填报不规范、数据异常，不对其赋码) for a factory without a table
  (``not_filed``), with a returned and uncorrected table (``irregular``), a table flagged
  abnormal (``abnormal``), a table not reviewed yet (``under_review``, only before the filing
  period ends) or a table lacking a scored value (``incomplete``);
- no code either for a factory whose materials or data were found falsified (``falsified``:
  a standing ground of 第二十七条第8项 “所提交材料或数据存在造假等问题” dated in the year or
  earlier, ``handlers.removals.standing_grounds``), whatever its table: data confirmed false is
  数据异常 at the least (第二十五条). This reason comes first. Every factory without a code is
  left out of the ranked cohort, so the tiers are computed over the others.

``compute_green_codes`` (service task, run by ``annual_table_campaign`` when it closes) first
settles the year's open reviews, then replaces the year's codes: recomputing is idempotent.
``code_of`` tells a factory its code and position. See docs/green-codes.md.
"""
from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base, UTCDateTime
from engine.errors import InvalidInput
from engine.services import ServiceContext, service_task
from handlers._config import CONFIG_DIR
from handlers.filing_review import ELIGIBLE_STATUSES, FilingReview, current_indicators, settle_reviews
from handlers.records import AnnualFiling, Listing, Unit
from handlers.removals import standing_grounds

__all__ = [
    "CODES",
    "DIRECTIONS",
    "FALSIFIED_ITEM",
    "NO_CODE_REASONS",
    "GreenCode",
    "GreenCodeConfig",
    "IndicatorRule",
    "code_of",
    "codes_of_year",
    "compute_codes",
    "compute_green_codes",
    "load_config",
    "parse_config",
    "rank",
    "scores_of",
    "tier_sizes",
]

CODES = ("A+", "A", "B")
SHARES_PERCENT = {"A+": 5, "A": 40}  # cumulative: top 5 %, top 40 % (第二十五条: 5 % / 35 % / 60 %)
DIRECTIONS = ("higher_is_better", "lower_is_better")
NORMALISATIONS = ("min-max",)
SCORE_DIGITS = 6  # scores are compared (ties) and stored at this precision
NO_CODE_REASONS = {
    "not_filed": "未填报动态管理表（第二十五条：不填报的不赋码）",
    "irregular": "动态管理表退回修改后未按时改正，填报不规范（第二十五条）",
    "abnormal": "动态管理表数据异常（第二十五条）",
    "under_review": "动态管理表尚在审核中（第二十四条）",
    "incomplete": "动态管理表缺少赋码所需指标，填报不规范（第二十五条）",
    "falsified": "所提交材料或数据存在造假（第二十七条第8项），不予赋码（第二十五条）",
}
FALSIFIED_ITEM = 8  # 第二十七条第8项: 所提交材料或数据存在造假等问题
ARTICLE = "第二十五条"
DEFAULT_CONFIG = CONFIG_DIR / "green_code.toml"


# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class IndicatorRule:
    """One scored indicator: a table value (or a sum of them), optionally per another value."""

    key: str
    title: str
    paths: tuple[str, ...]
    weight: float
    direction: str
    per: str | None = None

    def value(self, table: Mapping[str, Any]) -> float | None:
        """The indicator of ``table``; None when a value is missing, not a number, negative, or per zero."""
        parts = [_number(table, path) for path in self.paths]
        if any(p is None for p in parts):
            return None
        total = math.fsum(parts)  # type: ignore[arg-type]
        if self.per is None:
            return total
        denominator = _number(table, self.per)
        if not denominator:
            return None
        return total / denominator


@dataclass(frozen=True)
class GreenCodeConfig:
    version: int
    normalisation: str
    indicators: tuple[IndicatorRule, ...]


def _number(table: Mapping[str, Any], path: str) -> float | None:
    value: Any = table
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def parse_config(raw: Mapping[str, Any]) -> GreenCodeConfig:
    """A GreenCodeConfig from the TOML mapping; InvalidInput names the bad key."""
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput("green_code.toml: version 应为正整数 / version must be a positive integer", field="version")
    normalisation = raw.get("normalisation")
    if normalisation not in NORMALISATIONS:
        raise InvalidInput(f"green_code.toml: normalisation 应为 {NORMALISATIONS} / unsupported normalisation "
                           f"{normalisation!r}", field="normalisation")
    entries = raw.get("indicators")
    if not isinstance(entries, list) or not entries:
        raise InvalidInput("green_code.toml: 至少需要一个指标 / no indicators", field="indicators")
    rules: list[IndicatorRule] = []
    for i, entry in enumerate(entries):
        where = f"indicators[{i}]"
        if not isinstance(entry, Mapping):
            raise InvalidInput(f"green_code.toml: {where} 应为表 / must be a table", field=where)
        key = entry.get("key")
        if not isinstance(key, str) or not key or key in {r.key for r in rules}:
            raise InvalidInput(f"green_code.toml: {where}.key 缺失或重复 / missing or repeated key", field=f"{where}.key")
        if ("path" in entry) == ("sum" in entry):
            raise InvalidInput(f"green_code.toml: {where} 须有 path 或 sum 之一 / needs exactly one of path, sum",
                               field=f"{where}.path")
        paths = (entry["path"],) if "path" in entry else entry["sum"]
        if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise InvalidInput(f"green_code.toml: {where} 的 path/sum 无效 / bad path or sum", field=f"{where}.path")
        weight = entry.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
            raise InvalidInput(f"green_code.toml: {where}.weight 应大于 0 / weight must be > 0", field=f"{where}.weight")
        direction = entry.get("direction")
        if direction not in DIRECTIONS:
            raise InvalidInput(f"green_code.toml: {where}.direction 应为 {DIRECTIONS} / bad direction {direction!r}",
                               field=f"{where}.direction")
        per = entry.get("per")
        if per is not None and (not isinstance(per, str) or not per):
            raise InvalidInput(f"green_code.toml: {where}.per 无效 / bad per", field=f"{where}.per")
        rules.append(IndicatorRule(key=key, title=str(entry.get("title") or key), paths=tuple(paths),
                                   weight=float(weight), direction=direction, per=per))
    return GreenCodeConfig(version=version, normalisation=normalisation, indicators=tuple(rules))


def load_config(path: str | Path | None = None) -> GreenCodeConfig:
    """The green-code configuration of ``path`` (default ``config/green_code.toml``)."""
    with open(path or DEFAULT_CONFIG, "rb") as fh:
        return parse_config(tomllib.load(fh))


# --------------------------------------------------------------------------- the stored codes

class GreenCode(Base):
    """A green factory's enterprise green code for one year (第二十五条), or why it has none.

    ``code`` is A+ / A / B from the overall rank, or None with ``reason`` (NO_CODE_REASONS).
    ``rank``/``cohort_size`` place it among every coded green factory, ``industry_rank``/
    ``industry_size``/``industry_tier`` within its GB/T 4754 division. ``indicator_values`` holds each
    scored indicator's value as computed from the table.
    """

    __tablename__ = "green_codes"
    __table_args__ = (
        UniqueConstraint("year", "credit_code", name="uq_green_codes_year_unit"),
        CheckConstraint("code IS NULL OR code IN ('A+', 'A', 'B')", name="code"),
        CheckConstraint("(code IS NULL) <> (reason IS NULL)", name="code_or_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    code: Mapped[str | None] = mapped_column(String(2))
    reason: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    cohort_size: Mapped[int] = mapped_column(Integer)
    industry_code: Mapped[str | None] = mapped_column(String(4))
    industry_rank: Mapped[int | None] = mapped_column(Integer)
    industry_size: Mapped[int | None] = mapped_column(Integer)
    industry_tier: Mapped[str | None] = mapped_column(String(2))
    indicator_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    filing_id: Mapped[int | None] = mapped_column(Integer)
    config_version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# --------------------------------------------------------------------------- ranking

def tier_sizes(n: int) -> dict[str, int]:
    """How many of ``n`` ranked factories get A+, A and B when no scores tie.

    A+ = round_half_up(5 % · n), A+ and A together = round_half_up(40 % · n), B the rest, in
    integer arithmetic (no float rounding): 100 → 5/35/60, 10 → 1/3/6, 1 → 0/0/1.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    top = {tier: (n * pct + 50) // 100 for tier, pct in SHARES_PERCENT.items()}
    return {"A+": top["A+"], "A": top["A"] - top["A+"], "B": n - top["A"]}


def rank(scores: Mapping[str, float]) -> dict[str, tuple[int, str]]:
    """Competition ranks (1, 2, 2, 4 …, higher score first) and tiers of ``scores``.

    A factory ranked r gets A+ if r ≤ round_half_up(5 % · n), else A if r ≤ round_half_up(40 % · n),
    else B: factories with equal scores share a rank and so a tier (a tie across a cut widens the
    better tier). Scores are compared at SCORE_DIGITS decimals.
    """
    n = len(scores)
    sizes = tier_sizes(n)
    cut_aplus, cut_a = sizes["A+"], sizes["A+"] + sizes["A"]
    ordered = sorted(scores.items(), key=lambda kv: (-round(kv[1], SCORE_DIGITS), kv[0]))
    result: dict[str, tuple[int, str]] = {}
    previous: float | None = None
    current_rank = 0
    for position, (code, score) in enumerate(ordered, start=1):
        value = round(score, SCORE_DIGITS)
        if value != previous:
            current_rank, previous = position, value
        tier = "A+" if current_rank <= cut_aplus else "A" if current_rank <= cut_a else "B"
        result[code] = (current_rank, tier)
    return result


def _normalise(values: Mapping[str, float], direction: str) -> dict[str, float]:
    """Min-max over the cohort: 1 for the best, 0 for the worst; 1 for everybody when all are equal."""
    low, high = min(values.values()), max(values.values())
    if high == low:
        return {code: 1.0 for code in values}
    span = high - low
    if direction == "higher_is_better":
        return {code: (v - low) / span for code, v in values.items()}
    return {code: (high - v) / span for code, v in values.items()}


def scores_of(tables: Mapping[str, Mapping[str, float]], config: GreenCodeConfig) -> dict[str, float]:
    """Score 0..100 of each factory from its indicator values (``{code: {key: value}}``)."""
    if not tables:
        return {}
    total_weight = math.fsum(rule.weight for rule in config.indicators)
    shares = {rule.key: _normalise({code: t[rule.key] for code, t in tables.items()}, rule.direction)
              for rule in config.indicators}
    return {code: round(100 * math.fsum(rule.weight * shares[rule.key][code] for rule in config.indicators)
                        / total_weight, SCORE_DIGITS)
            for code in tables}


# --------------------------------------------------------------------------- computing a year

def _green_factories(session: Session) -> list[str]:
    return sorted(set(session.scalars(select(Listing.credit_code).where(Listing.unit_type == "factory",
                                                                        Listing.status == "listed"))))


def _industry(code: str | None) -> str | None:
    code = (code or "").strip()
    return code[:2] if len(code) >= 2 and code[:2].isdigit() else None


def compute_codes(session: Session, year: int, *, now: dt.datetime,
                  config: GreenCodeConfig | None = None) -> dict[str, Any]:
    """Settle ``year``'s reviews and (re)compute its green codes; replaces earlier results.

    Returns ``{"year", "cohort", "tiers": {"A+", "A", "B"}, "not_coded": {reason: [codes]},
    "settled": {"lapsed", "irregular"}, "config_version"}``.
    """
    config = config or load_config()
    settled = settle_reviews(session, year, now=now)
    factories = _green_factories(session)
    filings = {f.credit_code: f for f in session.scalars(
        select(AnnualFiling).where(AnnualFiling.year == year, AnnualFiling.credit_code.in_(factories)))} \
        if factories else {}
    reviews = {r.filing_id: r.status for r in session.scalars(
        select(FilingReview).where(FilingReview.year == year))}
    industries = dict(session.execute(select(Unit.credit_code, Unit.industry_code)
                                      .where(Unit.credit_code.in_(factories))).all()) if factories else {}
    falsified = standing_grounds(session, FALSIFIED_ITEM, until=dt.date(year, 12, 31),
                                 credit_codes=factories) if factories else {}
    not_coded: dict[str, str] = {}
    tables: dict[str, dict[str, float]] = {}
    for code in factories:
        filing = filings.get(code)
        if code in falsified:  # 第二十七条第8项 first: whatever the table says, its data cannot be trusted
            not_coded[code] = "falsified"
            continue
        if filing is None:
            not_coded[code] = "not_filed"
            continue
        status = reviews.get(filing.id, "pending")
        if status == "abnormal":
            not_coded[code] = "abnormal"
        elif status in ("returned", "irregular"):
            not_coded[code] = "irregular"
        elif status not in ELIGIBLE_STATUSES:
            not_coded[code] = "under_review"
        else:
            try:
                table = current_indicators(filing.indicators or {}, filing.schema_version)
            except InvalidInput:
                not_coded[code] = "incomplete"
                continue
            values = {rule.key: rule.value(table) for rule in config.indicators}
            if any(v is None for v in values.values()):
                not_coded[code] = "incomplete"
            else:
                tables[code] = values  # type: ignore[assignment]
    scores = scores_of(tables, config)
    overall = rank(scores)
    by_industry: dict[str | None, dict[str, float]] = defaultdict(dict)
    for code, score in scores.items():
        by_industry[_industry(industries.get(code))][code] = score
    in_industry: dict[str, tuple[int, str, int]] = {}
    for industry, group in by_industry.items():
        if industry is None:
            continue
        for code, (r, tier) in rank(group).items():
            in_industry[code] = (r, tier, len(group))

    session.execute(delete(GreenCode).where(GreenCode.year == year))
    for code in factories:
        filing = filings.get(code)
        row = GreenCode(year=year, credit_code=code, cohort_size=len(scores), config_version=config.version,
                        computed_at=now, filing_id=filing.id if filing is not None else None,
                        industry_code=_industry(industries.get(code)))
        if code in scores:
            row.score = scores[code]
            row.rank, row.code = overall[code]
            if code in in_industry:
                row.industry_rank, row.industry_tier, row.industry_size = in_industry[code]
            row.indicator_values = {rule.key: tables[code][rule.key] for rule in config.indicators}
        else:
            row.reason = not_coded[code]
        session.add(row)
    session.flush()
    tiers = {tier: sum(1 for _, t in overall.values() if t == tier) for tier in CODES}
    grouped: dict[str, list[str]] = defaultdict(list)
    for code, reason in not_coded.items():
        grouped[reason].append(code)
    return {"year": year, "cohort": len(scores), "tiers": tiers, "not_coded": dict(sorted(grouped.items())),
            "settled": settled, "config_version": config.version}


@service_task("compute_green_codes")
def compute_green_codes(ctx: ServiceContext, *, year: int) -> dict[str, Any]:
    """Compute ``year``'s enterprise green codes when the campaign closes (第二十五条).

    Settles the year's open reviews (第二十四条) and replaces every code of the year, so a
    retried or repeated run gives the same codes. Raises InvalidInput for an implausible year
    or a bad config/green_code.toml. Returns the summary of ``compute_codes``.
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2200:
        raise InvalidInput(f"年度无效：{year!r} / invalid year {year!r}", field="year")
    summary = compute_codes(ctx.session, year, now=ctx.clock.now())
    if summary["settled"]["lapsed"] or summary["settled"]["irregular"]:
        ctx.record("annual_table_reviews_settled", year=year, **summary["settled"])
    ctx.record("green_codes_computed", year=year, cohort=summary["cohort"], tiers=summary["tiers"],
               not_coded=summary["not_coded"], config_version=summary["config_version"])
    return summary


# --------------------------------------------------------------------------- what a factory sees

def code_of(session: Session, credit_code: str, year: int) -> dict[str, Any] | None:
    """``credit_code``'s green code of ``year`` and its position, for the portal; None if never computed.

    ``{"year", "credit_code", "code", "score", "rank", "of", "industry_code", "industry_rank",
    "industry_of", "industry_tier", "reason", "reason_zh", "config_version", "computed_at"}``;
    without a code, ``code``/``rank``/``score`` are None and ``reason`` says why (第二十五条).
    """
    row = session.scalar(select(GreenCode).where(GreenCode.year == year, GreenCode.credit_code == credit_code))
    if row is None:
        return None
    return {"year": row.year, "credit_code": row.credit_code, "code": row.code, "score": row.score,
            "rank": row.rank, "of": row.cohort_size, "industry_code": row.industry_code,
            "industry_rank": row.industry_rank, "industry_of": row.industry_size, "industry_tier": row.industry_tier,
            "reason": row.reason, "reason_zh": NO_CODE_REASONS.get(row.reason) if row.reason else None,
            "config_version": row.config_version, "computed_at": row.computed_at.isoformat()}


def codes_of_year(session: Session, year: int) -> Iterable[GreenCode]:
    """Every stored row of ``year``, best first (coded by rank, then the rest by credit code)."""
    return session.scalars(select(GreenCode).where(GreenCode.year == year)
                           .order_by(GreenCode.rank.is_(None), GreenCode.rank, GreenCode.credit_code)).all()
