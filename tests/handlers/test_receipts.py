"""The access code (查询码) of a public receipt: derived, stable across the database round trip."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from engine.clock import CHINA
from handlers.complaints import Complaint
from handlers.receipts import access_code, codes_match, normalise_code

UTC = dt.timezone.utc
RECEIVED = dt.datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=CHINA)  # 01:15:30.123456 UTC


def test_the_code_is_eight_upper_case_hex_digits_in_two_groups_and_depends_on_every_input():
    code = access_code("complaint", 42, RECEIVED, "13900000000")
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", code)
    assert code == access_code("complaint", 42, RECEIVED, "13900000000")  # no randomness, no secret
    assert code == access_code("complaint", 42, RECEIVED.astimezone(UTC), "13900000000")  # the same moment
    others = {
        access_code("objection", 42, RECEIVED, "13900000000"),
        access_code("complaint", 43, RECEIVED, "13900000000"),
        access_code("complaint", 42, RECEIVED + dt.timedelta(microseconds=1), "13900000000"),
        access_code("complaint", 42, RECEIVED, "13900000001"),
        access_code("complaint", 42, RECEIVED, None),
    }
    assert code not in others and len(others) == 5


def test_a_naive_time_or_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        access_code("complaint", 1, RECEIVED.replace(tzinfo=None), "x")
    with pytest.raises(ValueError):
        access_code("notice", 1, RECEIVED, "x")


def test_codes_match_ignores_case_spaces_and_dashes_and_nothing_else():
    code = access_code("objection", 7, RECEIVED, "wang@example.cn")
    bare = code.replace("-", "")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)  # typed with a Chinese input method
    for typed in (code, code.lower(), bare, f" {bare[:4]} {bare[4:]} ", f"{bare[:4]}—{bare[4:]}", full_width,
                  f"{code[:2]} - {code[2:]}".lower()):
        assert codes_match(typed, code), typed
        assert normalise_code(typed) == bare
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    for typed in (wrong, bare[:-1], bare + "0", "", None, "   ", "-", "码" * 8, 12345678):
        assert not codes_match(typed, code), typed
    assert not codes_match("", "")  # nothing never matches


def test_the_stored_received_time_reads_back_to_the_same_code(db):
    """On SQLite and PostgreSQL: written in China time with microseconds, read back in UTC, same code."""
    with db.unit_of_work() as s:
        row = Complaint(instance_id=1, subject_kind="evaluator", evaluator_id="EV001",
                        authority_role="province_official", authority_scope="520000", reporter_name="李某", id_number="520102198805051234",
                        contact="13900000000", matter="评价报告数据不实", status="received", received_at=RECEIVED)
        s.add(row)
        s.flush()
        key, written = row.id, access_code("complaint", row.id, RECEIVED, "13900000000")
    with db.session() as s:
        back = s.scalar(select(Complaint).where(Complaint.id == key))
        assert back.received_at == RECEIVED and back.received_at.tzinfo is not None
        assert back.received_at.isoformat(timespec="microseconds") == "2026-03-02T01:15:30.123456+00:00"
        assert back.access_code == written
