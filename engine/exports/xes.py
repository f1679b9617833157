"""XES (IEEE 1849-2023): one trace per instance, written element by element with lxml's
incremental ``xmlfile``, so the log is never held in memory.

Each event carries ``concept:name`` (the Chinese activity: the task's name, or the event's),
``lifecycle:transition`` (schedule / assign / reassign / complete / withdraw), ``org:resource``
(the actor), ``org:role`` (the role's Chinese name), ``org:group`` (the org scope),
``time:timestamp`` (China time with its offset), and, so that every exported event can be tied
back to the tamper-evident history, its sequence number and hash (``greenflow:seq``,
``greenflow:hash``) with the event type and its (masked) payload. A trace carries the case:
instance id, process, status, and the domain's attributes (unit type, level, county, outcome).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, BinaryIO, Iterable, Iterator

from lxml import etree

from engine.exports.source import Case, ExportEvent, china_time

NS = "http://www.xes-standard.org/"
EXTENSIONS = (("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
              ("Time", "time", "http://www.xes-standard.org/time.xesext"),
              ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
              ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"))
# Characters XML 1.0 cannot carry (the input boundary refuses them; old data is cleaned, not refused).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _tag(name: str) -> str:
    return f"{{{NS}}}{name}"


def _clean(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _attribute(key: str, value: Any) -> etree._Element:
    """One typed XES attribute element, e.g. ``<date key="time:timestamp" value="…"/>``."""
    if isinstance(value, bool):
        kind, text = "boolean", "true" if value else "false"
    elif isinstance(value, int):
        kind, text = "int", str(value)
    elif isinstance(value, float):
        kind, text = "float", repr(value)
    elif isinstance(value, dt.datetime):
        kind, text = "date", china_time(value)
    elif isinstance(value, (dict, list)):
        kind, text = "string", json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        kind, text = "string", value
    return etree.Element(kind, key=key, value=_clean(text))


class _Writer:
    """Writes one small element at a time. Elements are built without a namespace and written
    inside ``<log xmlns="http://www.xes-standard.org/">``, so they are in the XES namespace as read."""

    def __init__(self, xf):
        self.xf = xf

    def element(self, tag: str, attributes: dict[str, str] | None = None,
                children: Iterable[tuple[str, Any]] = (), indent: int = 1) -> None:
        node = etree.Element(tag, attributes or {})
        node.extend(_attribute(key, value) for key, value in children if value is not None)
        self.newline(indent)
        self.xf.write(node)

    def attributes(self, pairs: Iterable[tuple[str, Any]], indent: int) -> None:
        for key, value in pairs:
            if value is not None:
                self.newline(indent)
                self.xf.write(_attribute(key, value))

    def newline(self, indent: int = 0) -> None:
        self.xf.write("\n" + "  " * indent)


def write_xes(out: BinaryIO, cases: Iterable[Case], events: Iterator[ExportEvent], *, log_name: str,
              log_attributes: dict[str, Any] | None = None) -> dict[str, int]:
    """Write the log to ``out``; ``cases`` in instance order, ``events`` in (instance, seq) order.

    Returns the counts written: {"cases", "events"}. Cases without events are written as empty traces.
    """
    counts = {"cases": 0, "events": 0}
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        w = _Writer(xf)
        with xf.element(_tag("log"), {"xes.version": "2.0", "xes.features": ""}, nsmap={None: NS}):
            for name, prefix, uri in EXTENSIONS:
                w.element("extension", {"name": name, "prefix": prefix, "uri": uri})
            w.element("global", {"scope": "trace"}, [("concept:name", "__INVALID__")])
            w.element("global", {"scope": "event"}, [
                ("concept:name", "__INVALID__"), ("lifecycle:transition", "complete"),
                ("time:timestamp", dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)), ("org:resource", "__INVALID__")])
            for name, keys in (("Activity", "concept:name"),
                               ("Activity and transition", "concept:name lifecycle:transition")):
                w.element("classifier", {"name": name, "keys": keys})
            w.attributes([("concept:name", log_name), *(log_attributes or {}).items()], 1)
            pending = next(events, None)
            for case in cases:
                counts["cases"] += 1
                w.newline(1)
                with xf.element(_tag("trace")):
                    w.attributes(_trace_attributes(case), 2)
                    while pending is not None and pending.instance_id < case.instance_id:
                        pending = next(events, None)  # an event of a case not listed: skipped
                    while pending is not None and pending.instance_id == case.instance_id:
                        w.element("event", children=_event_attributes(pending), indent=2)
                        counts["events"] += 1
                        pending = next(events, None)
                    w.newline(1)
            w.newline()
    return counts


def _trace_attributes(case: Case) -> list[tuple[str, Any]]:
    return [("concept:name", str(case.instance_id)), ("greenflow:instance", case.instance_id),
            ("greenflow:process", case.process_id), ("greenflow:process_name", case.process_name),
            ("greenflow:title", case.title), ("greenflow:status", case.status),
            ("greenflow:started_by", case.started_by), ("greenflow:started_at", case.created_at),
            ("greenflow:completed_at", case.completed_at), *case.attributes.items()]


def _event_attributes(event: ExportEvent) -> list[tuple[str, Any]]:
    return [("concept:name", event.activity), ("lifecycle:transition", event.lifecycle),
            ("time:timestamp", event.at), ("org:resource", event.actor), ("org:role", event.role_label),
            ("org:group", event.scope), ("greenflow:type", event.type), ("greenflow:activity_en", event.activity_en),
            ("greenflow:bpmn_id", event.bpmn_id), ("greenflow:seq", event.seq), ("greenflow:hash", event.hash),
            ("greenflow:payload", event.payload)]
