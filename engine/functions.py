"""Script functions every diagram may call (domain-agnostic); ``handlers/`` registers more."""
from __future__ import annotations

import datetime as dt

from engine import clock
from engine.services import script_function


@script_function("now_iso")
def now_iso() -> str:
    """The command's current time as an aware ISO-8601 string (UTC)."""
    return clock.now().astimezone(clock.UTC).isoformat()


@script_function("add_duration")
def add_duration(iso_time: str, iso_duration: str) -> str:
    """``iso_time`` plus an ISO-8601 duration of days/hours/minutes (e.g. ``P7D``, ``PT4H``)."""
    start = dt.datetime.fromisoformat(iso_time)
    if start.tzinfo is None:
        raise ValueError(f"add_duration needs an aware time, not {iso_time!r}")
    return (start + _parse_duration(iso_duration)).isoformat()


def _parse_duration(text: str) -> dt.timedelta:
    import re

    match = re.fullmatch(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text or "")
    if not match or text in ("P", "PT"):
        raise ValueError(f"not an ISO-8601 duration of weeks/days/hours/minutes/seconds: {text!r}")
    weeks, days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
