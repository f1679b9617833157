"""Enterprise green codes (第二十五条) and the review of filed tables (第二十四条), on both databases.

Scores are made known by scoring one indicator at a time (tests pass their own config), so
that the order of the factories is the order of that indicator.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.clock import CHINA, FrozenClock
from engine.errors import Conflict, InvalidInput, RuleViolation
from engine.services import ServiceContext
from handlers.filing_review import (
    ANNUAL_TABLE_FORMAT,
    FilingCorrection,
    FilingReview,
    amend_filing,
    current_indicators,
    open_filing_review,
    record_filing_review,
    reviewer_of,
)
from handlers.green_codes import (
    NO_CODE_REASONS,
    GreenCode,
    code_of,
    compute_codes,
    compute_green_codes,
    load_config,
    parse_config,
    rank,
    tier_sizes,
)
from handlers.records import AnnualFiling, Listing, NegativeRecord, Unit
from handlers.removals import PendingRemoval, standing_grounds
from handlers.uscc import make_uscc

ROOT = Path(__file__).resolve().parents[2]
BEFORE_DEADLINE = dt.datetime(2026, 4, 10, 10, 0, tzinfo=CHINA)
AFTER_DEADLINE = dt.datetime(2026, 4, 16, 0, 0, 1, tzinfo=CHINA)
TABLE = {
    "output_value": 50000.0, "energy_tce": 1500.0, "energy_intensity": 0.03, "water_m3": 100000.0,
    "main_emissions": {"so2_t": 1.0, "nox_t": 2.0, "particulate_t": 0.5, "cod_t": 1.5, "ammonia_nitrogen_t": 0.1},
    "co2_t": 9000.0, "solid_waste_use_rate": 90.0, "renewable_share": 10.0, "land_output": 800.0,
    "major_change": False, "change_note": "",
}


def only(key: str, direction: str = "higher_is_better", *, version: int = 1):
    """A config scoring one indicator of the table."""
    return parse_config({"version": version, "normalisation": "min-max", "indicators": [
        {"key": key, "path": key, "weight": 1, "direction": direction}]})


def code(n: int) -> str:
    return make_uscc(f"91520302MA{n:07d}")


def add_factory(s, n: int, *, industry: str = "39", county: str = "520302", unit_type: str = "factory",
                filed: dict | None = None, review: str | None = "accepted", year: int = 2026,
                listed_at: dt.datetime | None = None) -> str:
    """A listed unit numbered ``n``; with ``filed``, its table of ``year`` and the review status."""
    credit = code(n)
    now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
    s.add(Unit(credit_code=credit, name=f"工厂{n}", unit_type=unit_type, county_code=county, industry_code=industry,
               created_at=now))
    s.add(Listing(credit_code=credit, unit_type=unit_type, level="city", scope="520300", year=2025, status="listed",
                  listed_at=listed_at or now))
    if filed is not None:
        filing = AnnualFiling(year=year, credit_code=credit, instance_id=1, indicators=filed, filed_at=now,
                              schema_version=1)
        s.add(filing)
        s.flush()
        if review is not None:
            s.add(FilingReview(filing_id=filing.id, year=year, credit_code=credit, reviewer_role="county_official",
                               reviewer_scope=county, status=review, round=1, opened_at=now))
    s.flush()
    return credit


def rows(db, year: int = 2026) -> dict[str, GreenCode]:
    with db.session() as s:
        return {r.credit_code: r for r in s.scalars(select(GreenCode).where(GreenCode.year == year))}


# --------------------------------------------------------------------------- tier sizes and ties

@pytest.mark.parametrize("n,expected", [
    (100, (5, 35, 60)), (200, (10, 70, 120)), (20, (1, 7, 12)), (10, (1, 3, 6)),  # 0.5 rounds up
    (9, (0, 4, 5)), (2, (0, 1, 1)), (1, (0, 0, 1)), (0, (0, 0, 0)), (30, (2, 10, 18)),
])
def test_tier_sizes_round_half_up_on_the_cumulative_shares(n, expected):
    sizes = tier_sizes(n)
    assert (sizes["A+"], sizes["A"], sizes["B"]) == expected and sum(expected) == n


def test_one_hundred_distinct_scores_give_exactly_5_35_60():
    ranked = rank({f"F{i:03d}": float(i) for i in range(100)})
    tiers = [ranked[f"F{i:03d}"] for i in range(99, -1, -1)]  # best first
    assert [r for r, _ in tiers] == list(range(1, 101))
    assert [t for _, t in tiers] == ["A+"] * 5 + ["A"] * 35 + ["B"] * 60


def test_equal_scores_share_a_rank_and_a_tie_across_a_cut_widens_the_better_tier():
    scores = {f"F{i:03d}": float(i) for i in range(100)}
    scores["F094"] = scores["F095"] = 95.0  # ranks 5 and 6 tie on the A+ cut
    scores["F059"] = scores["F060"] = scores["F061"] = 60.0  # ranks 39–41 tie across the A cut
    ranked = rank(scores)
    assert ranked["F095"] == ranked["F094"] == (5, "A+")
    assert ranked["F093"] == (7, "A")  # competition ranking: 1, 2, 3, 4, 5, 5, 7
    assert {ranked[k] for k in ("F059", "F060", "F061")} == {(39, "A")}
    assert ranked["F058"] == (42, "B")
    counts = {t: sum(1 for _, x in ranked.values() if x == t) for t in ("A+", "A", "B")}
    assert counts == {"A+": 6, "A": 35, "B": 59}


def test_scores_equal_at_six_decimals_are_a_tie():
    assert rank({"a": 1 / 3, "b": 0.3333333000001, "c": 0.1})["b"][0] == 1


# --------------------------------------------------------------------------- computing a year

def test_one_hundred_factories_with_known_scores_get_exactly_5_35_60_and_industry_positions(db):
    with db.unit_of_work() as s:
        for i in range(100):
            add_factory(s, i + 1, industry="39" if i % 2 else "34", filed={**TABLE, "renewable_share": float(i)})
        summary = compute_codes(s, 2026, now=AFTER_DEADLINE, config=only("renewable_share"))
    assert summary["cohort"] == 100 and summary["tiers"] == {"A+": 5, "A": 35, "B": 60}
    assert summary["not_coded"] == {} and summary["config_version"] == 1
    stored = rows(db)
    best = stored[code(100)]  # renewable_share 99, industry 39
    assert (best.code, best.rank, best.cohort_size, best.score) == ("A+", 1, 100, 100.0)
    assert (best.industry_code, best.industry_rank, best.industry_size, best.industry_tier) == ("39", 1, 50, "A+")
    sixth = stored[code(95)]  # renewable_share 94: rank 6 overall, rank 3 in industry 34
    assert (sixth.code, sixth.rank, sixth.industry_code, sixth.industry_rank, sixth.industry_tier) == \
        ("A", 6, "34", 3, "A+")  # 50 in the industry: round_half_up(2.5) = 3 A+
    assert stored[code(1)].score == 0.0 and stored[code(1)].code == "B"
    assert stored[code(100)].indicator_values == {"renewable_share": 99.0}
    with db.session() as s:
        view = code_of(s, code(95), 2026)
    assert view == {"year": 2026, "credit_code": code(95), "code": "A", "score": sixth.score, "rank": 6, "of": 100,
                    "industry_code": "34", "industry_rank": 3, "industry_of": 50, "industry_tier": "A+",
                    "reason": None, "reason_zh": None, "config_version": 1,
                    "computed_at": AFTER_DEADLINE.astimezone(dt.timezone.utc).isoformat()}


def test_missing_irregular_and_abnormal_tables_get_no_code(db):
    with db.unit_of_work() as s:
        coded = add_factory(s, 1, filed=TABLE)
        not_filed = add_factory(s, 2)
        abnormal = add_factory(s, 3, filed=TABLE, review="abnormal")
        returned = add_factory(s, 4, filed=TABLE, review="returned")
        unreviewed = add_factory(s, 5, filed=TABLE, review="pending")
        incomplete = add_factory(s, 6, filed={**TABLE, "output_value": 0.0})  # intensity per zero output
        no_row = add_factory(s, 7, filed=TABLE, review=None)
        park = add_factory(s, 8, unit_type="park", filed=TABLE)  # not a green factory: not in the cohort
        before = compute_codes(s, 2026, now=BEFORE_DEADLINE)  # the shipped config
    assert before["cohort"] == 1
    assert before["not_coded"] == {"abnormal": [abnormal], "incomplete": [incomplete], "irregular": [returned],
                                   "not_filed": [not_filed], "under_review": sorted([unreviewed, no_row])}
    stored = rows(db)
    assert park not in stored and stored[coded].code == "B"  # one factory: round_half_up(0.05) = 0 A+
    assert {c: r.reason for c, r in stored.items() if r.code is None} == {
        not_filed: "not_filed", abnormal: "abnormal", returned: "irregular", unreviewed: "under_review",
        incomplete: "incomplete", no_row: "under_review"}
    with db.session() as s:
        view = code_of(s, abnormal, 2026)
        assert (view["code"], view["rank"], view["of"], view["reason"]) == (None, None, 1, "abnormal")
        assert "第二十五条" in view["reason_zh"]
        assert code_of(s, park, 2026) is None and code_of(s, coded, 2025) is None

    with db.unit_of_work() as s:  # the filing period is over: open reviews are settled
        after = compute_codes(s, 2026, now=AFTER_DEADLINE)
        statuses = dict(s.execute(select(FilingReview.credit_code, FilingReview.status)).all())
    assert after["settled"] == {"lapsed": sorted([unreviewed, no_row]), "irregular": [returned]}
    assert statuses[unreviewed] == statuses[no_row] == "lapsed" and statuses[returned] == "irregular"
    assert after["cohort"] == 3 and set(after["not_coded"]) == {"abnormal", "incomplete", "irregular", "not_filed"}


def test_weights_and_directions_decide_the_order(db):
    with db.unit_of_work() as s:
        green_power = add_factory(s, 1, filed={**TABLE, "renewable_share": 60.0, "energy_intensity": 0.09})
        frugal = add_factory(s, 2, filed={**TABLE, "renewable_share": 5.0, "energy_intensity": 0.01})

    def order(config) -> list[str]:
        with db.unit_of_work() as s:
            compute_codes(s, 2026, now=AFTER_DEADLINE, config=config)
        return [c for c, _ in sorted(((c, r.rank) for c, r in rows(db).items()), key=lambda kv: kv[1])]

    assert order(only("renewable_share")) == [green_power, frugal]
    assert order(only("energy_intensity", "lower_is_better")) == [frugal, green_power]
    assert order(only("energy_intensity", "higher_is_better")) == [green_power, frugal]
    both = lambda w_share, w_energy: parse_config({"version": 2, "normalisation": "min-max", "indicators": [  # noqa: E731
        {"key": "share", "path": "renewable_share", "weight": w_share, "direction": "higher_is_better"},
        {"key": "energy", "path": "energy_intensity", "weight": w_energy, "direction": "lower_is_better"}]})
    assert order(both(3, 1)) == [green_power, frugal]
    assert order(both(1, 3)) == [frugal, green_power]
    assert {r.config_version for r in rows(db).values()} == {2}


def test_recomputing_a_year_replaces_its_codes(db):
    with db.unit_of_work() as s:
        for i in range(20):
            add_factory(s, i + 1, filed={**TABLE, "land_output": 100.0 + i})
        first = compute_codes(s, 2026, now=AFTER_DEADLINE)
    before = {c: (r.code, r.rank, r.score) for c, r in rows(db).items()}
    with db.unit_of_work() as s:
        again = compute_codes(s, 2026, now=AFTER_DEADLINE + dt.timedelta(days=1))
        assert s.scalar(select(func.count()).select_from(GreenCode)) == 20
    assert again["tiers"] == first["tiers"] == {"A+": 1, "A": 7, "B": 12}
    assert {c: (r.code, r.rank, r.score) for c, r in rows(db).items()} == before
    assert {r.computed_at for r in rows(db).values()} == {AFTER_DEADLINE + dt.timedelta(days=1)}


def test_the_service_records_its_result_in_the_history(db):
    clock = FrozenClock(AFTER_DEADLINE)
    with db.unit_of_work() as s:
        coded = add_factory(s, 1, filed=TABLE)
        returned = add_factory(s, 2, filed=TABLE, review="returned")
        ctx = ServiceContext(session=s, clock=clock, instance_id=1, actor="system:scheduler",
                             process_id="annual_table_campaign")
        result = compute_green_codes(ctx, year=2026)
        with pytest.raises(InvalidInput) as err:
            compute_green_codes(ctx, year=1999)
        assert "year" in err.value.fields
    assert result["not_coded"] == {"irregular": [returned]} and result["cohort"] == 1
    assert [e[0] for e in ctx.events] == ["annual_table_reviews_settled", "green_codes_computed"]
    assert ctx.events[0][1] == {"year": 2026, "lapsed": [], "irregular": [returned]}
    assert ctx.events[1][1]["tiers"] == {"A+": 0, "A": 0, "B": 1} and rows(db)[coded].code == "B"


# --------------------------------------------------------------------------- falsified data (第二十七条第8项)

LISTED_2022 = dt.datetime(2022, 12, 20, 10, 0, tzinfo=CHINA)


def add_ground(s, credit: str, item: int, on: dt.date, *, pending: bool = False, negative: bool = True) -> None:
    """A 第二十七条 ground of ``item`` against ``credit`` dated ``on`` (China): a NegativeRecord and/or an
    unpublished PendingRemoval of its city listing, as a confirmed complaint or an incident leaves them."""
    when = dt.datetime.combine(on, dt.time(10, 0), tzinfo=CHINA)
    if negative:
        s.add(NegativeRecord(credit_code=credit, item=item, occurred_on=on, note=f"第二十七条第{item}项",
                             source="test"))
    if pending:
        listing = s.scalar(select(Listing).where(Listing.credit_code == credit, Listing.status == "listed"))
        s.add(PendingRemoval(credit_code=credit, listing_id=listing.id, level=listing.level, scope=listing.scope,
                             ground_item=item, article="第二十七条", reason=f"第二十七条第{item}项",
                             source_process="complaint", source_instance_id=900 + item, recorded_at=when))
    s.flush()


def test_a_factory_with_falsified_data_gets_no_code_and_the_others_keep_exact_tiers(db):
    with db.unit_of_work() as s:
        factories = {n: add_factory(s, n, filed={**TABLE, "renewable_share": float(n)}, listed_at=LISTED_2022)
                     for n in range(1, 23)}
        add_ground(s, factories[22], 8, dt.date(2026, 3, 20))  # the best table: a confirmed complaint, item 8
        add_ground(s, factories[10], 8, dt.date(2025, 11, 3), pending=True, negative=False)  # only a PendingRemoval
        add_ground(s, factories[21], 7, dt.date(2025, 4, 16))  # another ground: its table is fine, it is coded
        add_ground(s, factories[20], 3, dt.date(2026, 2, 1), pending=True)
        unfiled = add_factory(s, 30, listed_at=LISTED_2022)  # falsified and not filed: falsified comes first
        add_ground(s, unfiled, 8, dt.date(2026, 1, 5), pending=True)
        summary = compute_codes(s, 2026, now=AFTER_DEADLINE, config=only("renewable_share"))
    # 20 ranked factories (22 listed with tables, minus 2 falsified): round_half_up → exactly 1 / 7 / 12
    assert summary["cohort"] == 20 and summary["tiers"] == {"A+": 1, "A": 7, "B": 12}
    assert summary["not_coded"] == {"falsified": sorted([factories[22], factories[10], unfiled])}
    stored = rows(db)
    for credit in (factories[22], factories[10], unfiled):
        row = stored[credit]
        assert (row.code, row.reason, row.rank, row.score, row.cohort_size) == (None, "falsified", None, None, 20)
    ranked = sorted((r for r in stored.values() if r.code), key=lambda r: r.rank)
    assert [r.credit_code for r in ranked] == [factories[n] for n in (21, 20, *range(19, 10, -1), *range(9, 0, -1))]
    assert [r.code for r in ranked] == ["A+"] + ["A"] * 7 + ["B"] * 12
    assert (stored[factories[21]].rank, stored[factories[21]].score) == (1, 100.0)  # the best left sets the scale
    assert stored[factories[1]].score == 0.0
    with db.session() as s:
        view = code_of(s, factories[22], 2026)
    assert (view["code"], view["reason"], view["of"]) == (None, "falsified", 20)
    assert view["reason_zh"] == NO_CODE_REASONS["falsified"]
    assert "第二十七条第8项" in view["reason_zh"] and "第二十五条" in view["reason_zh"]


def test_only_an_item_8_ground_of_the_year_or_earlier_that_still_stands_withholds_the_code(db):
    later = dt.datetime(2027, 1, 20, 10, 0, tzinfo=CHINA)
    with db.unit_of_work() as s:
        old = add_factory(s, 1, filed=TABLE, listed_at=LISTED_2022)
        add_ground(s, old, 8, dt.date(2023, 6, 1))  # long ago, and the listing still stands: still falsified
        next_year = add_factory(s, 2, filed=TABLE)
        add_ground(s, next_year, 8, dt.date(2027, 1, 10), pending=True)  # after 2026: not for the 2026 code
        relisted = add_factory(s, 3, filed=TABLE)
        s.add(Listing(credit_code=relisted, unit_type="factory", level="city", scope="520300", year=2019,
                      status="removed", listed_at=dt.datetime(2019, 3, 1, tzinfo=CHINA),
                      removed_at=dt.datetime(2021, 3, 1, tzinfo=CHINA), removal_ground="第二十七条第8项"))
        add_ground(s, relisted, 8, dt.date(2020, 5, 1))  # before its current listing (2026-03-02): spent
        national = add_factory(s, 4, filed=TABLE)
        s.execute(Listing.__table__.update().where(Listing.credit_code == national)
                  .values(level="national", scope="national"))
        add_ground(s, national, 8, dt.date(2026, 3, 10))  # national: a NegativeRecord only (no PendingRemoval)
        published = add_factory(s, 5, filed=TABLE)
        add_ground(s, published, 8, dt.date(2026, 3, 10), pending=True, negative=False)
        s.execute(PendingRemoval.__table__.update().where(PendingRemoval.credit_code == published)
                  .values(published_at=dt.datetime(2026, 3, 20, tzinfo=dt.timezone.utc)))
        assert set(standing_grounds(s, 8, until=dt.date(2026, 12, 31))) == {old, national}
        assert standing_grounds(s, 8, until=dt.date(2026, 12, 31), credit_codes=[national, next_year]) == {
            national: [{"source": "negative_record", "id": s.scalar(select(NegativeRecord.id).where(
                NegativeRecord.credit_code == national)), "on": "2026-03-10"}]}
        assert set(standing_grounds(s, 8, until=dt.date(2027, 12, 31))) == {old, national, next_year}
        assert standing_grounds(s, 8, until=dt.date(2026, 12, 31), credit_codes=[]) == {}
        summary = compute_codes(s, 2026, now=later, config=only("renewable_share"))
    assert summary["not_coded"] == {"falsified": sorted([old, national])}
    stored = rows(db)
    assert {c: (r.code, r.reason) for c, r in stored.items()} == {
        old: (None, "falsified"), national: (None, "falsified"),
        next_year: ("A", None), relisted: ("A", None), published: ("A", None)}  # 3 tied at rank 1; 3 → 0/1/2, widened


def test_the_service_reports_falsified_factories_in_the_history(db):
    clock = FrozenClock(AFTER_DEADLINE)
    with db.unit_of_work() as s:
        coded = add_factory(s, 1, filed=TABLE)
        falsified = add_factory(s, 2, filed=TABLE)
        add_ground(s, falsified, 8, dt.date(2026, 4, 2), pending=True)
        ctx = ServiceContext(session=s, clock=clock, instance_id=1, actor="system:scheduler",
                             process_id="annual_table_campaign")
        result = compute_green_codes(ctx, year=2026)
    assert result["cohort"] == 1 and result["not_coded"] == {"falsified": [falsified]}
    [computed] = [payload for kind, payload in ctx.events if kind == "green_codes_computed"]
    assert computed["not_coded"] == {"falsified": [falsified]} and computed["tiers"] == {"A+": 0, "A": 0, "B": 1}
    assert rows(db)[coded].code == "B"


# --------------------------------------------------------------------------- configuration and formats

@pytest.mark.parametrize("change,field", [
    ({"version": 0}, "version"),
    ({"normalisation": "z-score"}, "normalisation"),
    ({"indicators": []}, "indicators"),
    ({"indicators": [{"key": "x", "path": "co2_t", "weight": 0, "direction": "lower_is_better"}]},
     "indicators[0].weight"),
    ({"indicators": [{"key": "x", "path": "co2_t", "weight": 1, "direction": "smaller"}]}, "indicators[0].direction"),
    ({"indicators": [{"key": "x", "weight": 1, "direction": "lower_is_better"}]}, "indicators[0].path"),
    ({"indicators": [{"key": "x", "path": "a", "sum": ["b"], "weight": 1, "direction": "lower_is_better"}]},
     "indicators[0].path"),
])
def test_a_bad_config_is_refused_naming_the_key(change, field):
    raw = {"version": 1, "normalisation": "min-max",
           "indicators": [{"key": "x", "path": "co2_t", "weight": 1, "direction": "lower_is_better"}], **change}
    with pytest.raises(InvalidInput) as err:
        parse_config(raw)
    assert field in err.value.fields


def _schema_paths(schema: dict, prefix: str = "") -> set[str]:
    paths = set()
    for name, prop in schema.get("properties", {}).items():
        paths.add(prefix + name)
        if prop.get("type") == "object":
            paths |= _schema_paths(prop, f"{prefix}{name}.")
    return paths


def test_the_shipped_config_scores_fields_of_the_table_form():
    config = load_config()
    schema = json.loads((ROOT / "bpmn/forms/annual_table.schema.json").read_text(encoding="utf-8"))
    known = _schema_paths(schema)
    used = {p for rule in config.indicators for p in (*rule.paths, *([rule.per] if rule.per else []))}
    assert used <= known
    assert sum(rule.weight for rule in config.indicators) == pytest.approx(1.0)
    # the key indicators of 第二十四条's table are all in the form
    assert {"output_value", "energy_tce", "energy_intensity", "water_m3", "main_emissions.so2_t", "co2_t",
            "solid_waste_use_rate", "renewable_share", "land_output"} <= known


def test_the_table_format_is_the_same_in_code_form_and_diagram():
    schema = json.loads((ROOT / "bpmn/forms/annual_table.schema.json").read_text(encoding="utf-8"))
    diagram = (ROOT / "bpmn/annual_table_filing.bpmn").read_text(encoding="utf-8")
    literals = re.findall(r'parameter id="schema_version" type="integer" value="(\d+)"', diagram)
    assert schema["x-format"] == ANNUAL_TABLE_FORMAT and literals == [str(ANNUAL_TABLE_FORMAT)] * 2


def test_an_unknown_table_format_is_refused():
    assert current_indicators(TABLE, 1) == TABLE
    with pytest.raises(InvalidInput) as err:
        current_indicators(TABLE, ANNUAL_TABLE_FORMAT + 1)
    assert "schema_version" in err.value.fields


# --------------------------------------------------------------------------- the review services

@pytest.mark.parametrize("county,expected", [
    ("520302", ("county_official", "520302")),   # 红花岗区
    ("GA0000", ("city_official", "GA0000")),     # 贵安新区 has no county level
    ("520300", ("city_official", "520300")),     # registered at city level
])
def test_the_county_reviews_else_the_city(db, county, expected):
    with db.unit_of_work() as s:
        credit = add_factory(s, 1, county=county)
        assert reviewer_of(s, credit) == expected


def test_a_unit_known_only_from_an_imported_list_is_reviewed_by_the_list_s_department(db):
    with db.unit_of_work() as s:
        now = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
        s.add(Listing(credit_code=code(1), unit_type="factory", level="city", scope="520300", year=2025,
                      status="listed", listed_at=now))
        s.add(Listing(credit_code=code(2), unit_type="factory", level="province", scope="520000", year=2025,
                      status="listed", listed_at=now))
        s.flush()
        assert reviewer_of(s, code(1)) == ("city_official", "520300")
        assert reviewer_of(s, code(2)) == ("province_official", "520000")


@pytest.mark.parametrize("decision,reason,field,article", [
    ("pass", "x", "decision", None),
    ("return", "", "reason", "第二十四条"),
    ("abnormal", "   ", "reason", "第二十五条"),
])
def test_a_bad_review_is_refused_naming_the_field_and_nothing_changes(db, decision, reason, field, article):
    clock = FrozenClock(BEFORE_DEADLINE)
    with db.unit_of_work() as s:
        credit = add_factory(s, 1, filed=TABLE, review=None)
        filing_id = s.scalar(select(AnnualFiling.id).where(AnnualFiling.credit_code == credit))
        ctx = ServiceContext(session=s, clock=clock, instance_id=1, actor="county-520302",
                             process_id="annual_table_filing")
        opened = open_filing_review(ctx, filing={"id": filing_id})
        assert opened["status"] == "pending" and open_filing_review(ctx, filing={"id": filing_id}) == opened
        with pytest.raises(InvalidInput) as err:
            record_filing_review(ctx, filing={"id": filing_id}, decision=decision, reason=reason)
        assert field in err.value.fields and getattr(err.value, "article", None) == article
        assert s.get(FilingReview, opened["review_id"]).status == "pending"
        assert [e[0] for e in ctx.events] == ["annual_table_review_opened"]


def test_only_a_returned_table_can_be_corrected_and_only_until_april_15(db):
    clock = FrozenClock(BEFORE_DEADLINE)
    with db.unit_of_work() as s:
        credit = add_factory(s, 1, filed=TABLE, review=None)
        filing = {"id": s.scalar(select(AnnualFiling.id).where(AnnualFiling.credit_code == credit))}
        ctx = ServiceContext(session=s, clock=clock, instance_id=1, actor="county-520302",
                             process_id="annual_table_filing")
        open_filing_review(ctx, filing=filing)
        with pytest.raises(Conflict):
            amend_filing(ctx, filing=filing, indicators=TABLE, schema_version=1)
        record_filing_review(ctx, filing=filing, decision="return", reason="产值与能耗不匹配")
        with pytest.raises(InvalidInput) as err:
            amend_filing(ctx, filing=filing, indicators=TABLE, schema_version=9)
        assert "schema_version" in err.value.fields
        clock.set(AFTER_DEADLINE)
        with pytest.raises(RuleViolation) as late:
            amend_filing(ctx, filing=filing, indicators=TABLE, schema_version=1)
        assert late.value.article == "第二十四条"
        clock.set(BEFORE_DEADLINE)
        review = amend_filing(ctx, filing=filing, indicators={**TABLE, "output_value": 60000.0}, schema_version=1)
        assert (review["status"], review["round"]) == ("pending", 2)
        [correction] = s.scalars(select(FilingCorrection)).all()
        assert (correction.round, correction.return_reason, correction.previous_indicators["output_value"]) == \
            (1, "产值与能耗不匹配", 50000.0)
        assert s.get(AnnualFiling, filing["id"]).indicators["output_value"] == 60000.0
        assert record_filing_review(ctx, filing=filing, decision="accept")["status"] == "accepted"
        with pytest.raises(Conflict):  # decided already
            record_filing_review(ctx, filing=filing, decision="abnormal", reason="再次审核")
    assert [e[0] for e in ctx.events] == ["annual_table_review_opened", "annual_table_reviewed",
                                          "annual_table_corrected", "annual_table_reviewed"]
