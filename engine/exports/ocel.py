"""OCEL 2.0 (JSON): the business objects (units, applications, notices, objections, complaints,
annual tables, evaluators — the domain says which) and every event linked to each object it
touches, written piece by piece.

Every event also touches its process instance, an object of type ``instance`` (流程实例) that
the engine adds to the domain's types, so that no event is left without an object (OCEL readers
drop those). An event touches the objects of its instance (an application's events touch the application
and its unit) and the objects its payload names (a notice, an objection, a filing); so the events
of an application and those of a complaint about its unit meet on the unit. Relationships only
name objects that exist, as OCEL asks. The JSON is written as it goes: object types, objects,
events, then the event types met on the way (JSON does not order an object's keys).
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any, BinaryIO, Callable, Iterable, Iterator

from engine.exports.domain import BusinessObject, Link, ObjectType
from engine.exports.source import Case, ExportEvent, china_time

EPOCH = "1970-01-01T00:00:00Z"
INSTANCE_TYPE = ObjectType("instance", "流程实例", (("process", "string"), ("process_name", "string"),
                                                 ("title", "string"), ("status", "string")))
EVENT_ATTRIBUTES = (("lifecycle", "string"), ("actor", "string"), ("role", "string"), ("scope", "string"),
                    ("instance", "integer"), ("seq", "integer"), ("hash", "string"), ("event_type", "string"),
                    ("payload", "string"))


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return china_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _instance_objects(cases: Iterable[Case]) -> Iterator[BusinessObject]:
    for case in cases:
        yield BusinessObject(f"instance:{case.instance_id}", "instance", {
            "process": case.process_id, "process_name": case.process_name, "title": case.title,
            "status": case.status}, since=case.created_at)


def write_ocel(out: BinaryIO, *, cases: list[Case], object_types: list[ObjectType], objects: Iterable[BusinessObject],
               events: Iterator[ExportEvent], instance_links: dict[int, list[Link]],
               event_links: Callable[[str, dict], list[Link]]) -> dict[str, int]:
    """Write the OCEL 2.0 JSON log; returns counts: {"objects", "events", "relationships"}."""
    counts = {"objects": 0, "events": 0, "relationships": 0}
    object_types = [INSTANCE_TYPE, *object_types]

    def write(text: str) -> None:
        out.write(text.encode("utf-8"))

    write('{"objectTypes":')
    write(_dump([{"name": t.name, "attributes": [{"name": n, "type": k} for n, k in t.attributes]}
                 for t in object_types]))
    write(',\n"objects":[')
    known: set[str] = set()
    for obj in itertools.chain(_instance_objects(cases), objects):
        write(",\n" if known else "\n")
        known.add(obj.id)
        time = china_time(obj.since) if obj.since else EPOCH
        write(_dump({"id": obj.id, "type": obj.type,
                     "attributes": [{"name": name, "time": time, "value": _value(value)}
                                    for name, value in obj.attributes.items() if value is not None],
                     "relationships": [{"objectId": oid, "qualifier": q} for oid, q in obj.relationships]}))
    counts["objects"] = len(known)
    write('],\n"events":[')
    event_types: list[str] = []
    seen_types: set[str] = set()
    for event in events:
        write(",\n" if counts["events"] else "\n")
        counts["events"] += 1
        if event.activity not in seen_types:
            seen_types.add(event.activity)
            event_types.append(event.activity)
        links: dict[str, str] = {}
        for oid, qualifier in ((f"instance:{event.instance_id}", "case"), *instance_links.get(event.instance_id, ()),
                               *event_links(event.type, event.raw_payload)):
            if oid in known and oid not in links:
                links[oid] = qualifier
        counts["relationships"] += len(links)
        attributes = {"lifecycle": event.lifecycle, "actor": event.actor, "role": event.role_label,
                      "scope": event.scope, "instance": event.instance_id, "seq": event.seq, "hash": event.hash,
                      "event_type": event.type, "payload": _dump(event.payload)}
        write(_dump({"id": f"e{event.id}", "type": event.activity, "time": china_time(event.at),
                     "attributes": [{"name": n, "value": v} for n, v in attributes.items() if v is not None],
                     "relationships": [{"objectId": oid, "qualifier": q} for oid, q in links.items()]}))
    write('],\n"eventTypes":')
    write(_dump([{"name": name, "attributes": [{"name": n, "type": k} for n, k in EVENT_ATTRIBUTES]}
                 for name in event_types]))
    write("}\n")
    return counts
