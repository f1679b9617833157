"""The access code (查询码) of a public receipt: what the status pages ask for besides the number.

Receipt numbers (``YY2026-000042`` for an objection, ``JB2026-000123`` for a complaint) are
the row id and the year, so anyone could count through them and read other people's answers
on the public status pages.  Each submission therefore also has a short access code, shown
once on the receipt page next to the number; the status pages answer only for the number
*and* its code, and a wrong or missing code looks exactly like an unknown number.

The code is the first 8 hex digits (upper case, shown ``XXXX-XXXX``) of SHA-256 over a fixed
prefix, the kind (``objection`` / ``complaint``), the row id, the exact received time as stored
(UTC, ISO 8601 with microseconds; the column is ``UTCDateTime``, read back identically on SQLite
and PostgreSQL) and the contact the person gave.

**Decision**: derived, not stored and not keyed by the application's secret key.

- Derived: no new column, so no migration.  A submission filed before the change has a code
  too, but its filer never saw it: they are answered at the contact they gave (the outbox).
- Not keyed by the secret: rotating ``secret_key`` (sessions, CSRF) must not invalidate every
  code a member of the public has written down.
- Strength: the public sees the received *date* at most, never the microseconds or the contact,
  so the code cannot be computed from what the portal shows; 32 bits behind the lookup's rate
  limit leave nothing to guess.  An official who can read the contact and the received time
  could compute the code, but an official reads the answer itself anyway.
- The code is never written to the history, the process data or the officials' messages:
  the receipt number stays what identifies a submission there.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata

__all__ = ["KINDS", "access_code", "codes_match", "normalise_code", "receipt_number", "parse_receipt_number"]

KINDS = ("objection", "complaint")
_PREFIX = "greenflow-access-code-v1"
_LENGTH = 8  # hex digits: 32 bits
_IGNORED = re.compile(r"[\s\-‐‑‒–—―−]+")  # spaces and dashes people type


def access_code(kind: str, id: int, received_at: dt.datetime, contact: str | None) -> str:
    """The access code of a submission, e.g. ``3F9A-0C1E``.

    ``received_at`` is the stored, aware time (any zone: it is taken in UTC); a naive time
    raises ValueError, as ``engine.db.UTCDateTime`` does.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown receipt kind {kind!r}")
    if received_at.tzinfo is None:
        raise ValueError(f"naive datetime {received_at!r}; pass the stored (aware) received time")
    moment = received_at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    text = "\n".join([_PREFIX, kind, str(int(id)), moment, contact or ""])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_LENGTH].upper()
    return f"{digest[:4]}-{digest[4:]}"


def normalise_code(given: object) -> str:
    """A code as typed, reduced to its upper-case digits: full-width forms, case, spaces and dashes ignored."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", str(given or ""))).upper()


def codes_match(given: object, expected: str) -> bool:
    """Whether ``given`` (as typed) is the code ``expected``, compared in constant time."""
    typed, wanted = normalise_code(given), normalise_code(expected)
    if not typed or not wanted:
        return False
    return hmac.compare_digest(typed.encode("utf-8"), wanted.encode("utf-8"))


def receipt_number(prefix: str, year: int, id: int) -> str:
    """The receipt number of a submission: ``prefix`` (``YY`` 异议, ``JB`` 举报), year and id, e.g. ``JB2026-000123``."""
    return f"{prefix}{year}-{id:06d}"


def parse_receipt_number(prefix: str, receipt: object) -> tuple[int, int] | None:
    """(year, id) of a receipt number with ``prefix`` (case and surrounding spaces ignored); None if it is not one."""
    found = re.fullmatch(re.escape(prefix) + r"(\d{4})-(\d{6,})", str(receipt or "").strip().upper())
    return (int(found.group(1)), int(found.group(2))) if found else None
