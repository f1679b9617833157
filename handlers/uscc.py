"""The unified social credit code (统一社会信用代码), GB 32100-2015.

A unit is keyed by its credit code everywhere (units, listings, negative records), so a
mistyped code would silently split one unit into two; the check character catches nearly
every single typo.  Layout: 1 registration authority, 2 organisation kind, 3–8 the
administrative division code (digits), 9–17 the organisation code, 18 the check character.
"""
from __future__ import annotations

from engine.errors import InvalidInput

__all__ = ["CHARSET", "check_char", "validate_uscc", "make_uscc"]

# The 31 characters of GB 32100: digits and capitals without I, O, Z, S, V.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_char(prefix17: str) -> str:
    """The 18th character for the first 17 (all from ``CHARSET``)."""
    total = sum(_VALUE[c] * w for c, w in zip(prefix17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def _invalid(zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"统一社会信用代码{zh} / Unified social credit code {en} (GB 32100-2015)", field="credit_code")


def validate_uscc(code: object) -> str:
    """The code, trimmed and upper-cased, once its structure and check character are right.

    Raises InvalidInput(field="credit_code") naming what is wrong.  The expected check
    character is deliberately not shown: a typo anywhere changes it, so showing it would
    invite "fixing" the last character instead of the real mistake.
    """
    if not isinstance(code, str) or not code.strip():
        raise _invalid("必填", "is required")
    text = code.strip().upper()
    if len(text) != 18:
        raise _invalid(f"应为18位，实为{len(text)}位", f"must have 18 characters, not {len(text)}")
    bad = sorted({c for c in text if c not in _VALUE})
    if bad:
        shown = "".join(bad)
        raise _invalid(
            f"含有不允许的字符 {shown}（不使用 I、O、Z、S、V）",
            f"contains characters not allowed: {shown} (I, O, Z, S, V are never used)",
        )
    if not text[2:8].isdigit():
        raise _invalid("第3–8位应为行政区划代码（数字）", "characters 3–8 must be a division code (digits)")
    if check_char(text[:17]) != text[17]:
        raise _invalid("校验位不正确，请核对", "has a wrong check character; please check it")
    return text


def make_uscc(prefix17: str) -> str:
    """``prefix17`` completed with its check character (demo data and tests).

    Raises ValueError when the prefix cannot start a valid code.
    """
    if len(prefix17) != 17 or any(c not in _VALUE for c in prefix17) or not prefix17[2:8].isdigit():
        raise ValueError(f"not a GB 32100 prefix of 17 characters: {prefix17!r}")
    return prefix17 + check_char(prefix17)
