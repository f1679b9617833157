"""GB 32100-2015 unified social credit codes: structure and check character."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from handlers.uscc import CHARSET, make_uscc, validate_uscc

REAL = "91350100M000100Y43"  # a published, valid code


@pytest.mark.parametrize("code, normalised", [
    (REAL, REAL),
    ("  91350100m000100y43 ", REAL),  # trimmed and upper-cased
    (make_uscc("91520302MA6H00001"), make_uscc("91520302MA6H00001")),
    (make_uscc("11520000000000000"), make_uscc("11520000000000000")),
])
def test_valid_codes_are_accepted_and_normalised(code, normalised):
    assert validate_uscc(code) == normalised


@pytest.mark.parametrize("code, says", [
    ("91350100M000100Y44", "校验位"),  # wrong check character
    ("91350100M000100Y4", "18位"),  # 17 characters
    ("91350100M000100Y430", "18位"),  # 19 characters
    ("91350100I000100Y43", "I"),  # I is never used
    ("91350100O000100Y43", "O"),
    ("91350100S000100Y43", "S"),
    ("91350100V000100Y43", "V"),
    ("91350100Z000100Y43", "Z"),
    ("9135A100M000100Y43", "行政区划"),  # characters 3–8 are digits
    ("", "必填"),
    (None, "必填"),
    (91350100, "必填"),
])
def test_invalid_codes_are_refused_naming_credit_code(code, says):
    with pytest.raises(InvalidInput) as caught:
        validate_uscc(code)
    assert caught.value.field == "credit_code"
    assert says in caught.value.message
    assert "GB 32100" in caught.value.message


def test_every_single_character_typo_is_detected():
    for position in range(18):
        for char in CHARSET:
            if char == REAL[position]:
                continue
            typo = REAL[:position] + char + REAL[position + 1:]
            with pytest.raises(InvalidInput):
                validate_uscc(typo)


def test_make_uscc_reproduces_a_real_check_character():
    assert make_uscc(REAL[:17]) == REAL


@pytest.mark.parametrize("prefix", ["9135010", "91350100M000100Y4X", "91350100I000100Y4", "91AB0100M000100Y4"])
def test_make_uscc_refuses_a_bad_prefix(prefix):
    with pytest.raises(ValueError):
        make_uscc(prefix)
