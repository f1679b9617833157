"""Exports of the histories for process mining and for the record (docs/audit-evidence.md).

``export(db, format, out, …)`` writes XES (``xes``), OCEL 2.0 JSON (``ocel``) or CSV with a BOM
(``csv``) of the filtered cases to a binary stream, in one streamed read, and says what it wrote:
counts, bytes and the SHA-256 of the file (which the access log keeps). Personal data is masked
unless ``unmasked``; the domain (``engine.exports.domain.Domain``) says what is personal, names
its events and lists the business objects.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from engine.db import Database
from engine.errors import InvalidInput
from engine.exports.csv_export import write_csv
from engine.exports.domain import Domain, PlainDomain
from engine.exports.masking import Masker, unmasked as _identity
from engine.exports.ocel import write_ocel
from engine.exports.source import ExportFilter, iter_events, load_cases
from engine.exports.xes import write_xes

FORMATS = {"xes": ("application/xml", ".xes"), "ocel": ("application/json", ".jsonocel"), "csv": ("text/csv", ".csv")}

__all__ = ["FORMATS", "ExportFilter", "ExportSummary", "Domain", "PlainDomain", "export"]


@dataclass(frozen=True)
class ExportSummary:
    format: str
    cases: int
    events: int
    objects: int
    bytes: int
    sha256: str
    masked: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class _Counting:
    """A binary stream that hashes and counts what goes through it."""

    def __init__(self, out: BinaryIO):
        self.out, self.sha256, self.bytes = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def export(db: Database, fmt: str, out: BinaryIO, *, flt: ExportFilter | None = None, domain: Domain | None = None,
           unmasked: bool = False, process_names: dict[str, str] | None = None,
           now: dt.datetime | None = None) -> ExportSummary:
    """Write the export of ``flt``'s cases in ``fmt`` to ``out``; InvalidInput for an unknown format."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", field="format")
    flt, domain = flt or ExportFilter(), domain or PlainDomain()
    mask = _identity if unmasked else Masker(domain.personal_keys)
    counted = _Counting(out)
    with db.session() as session:
        cases = load_cases(session, flt, domain, process_names or {})
        events = iter_events(session, flt, domain, mask)
        if fmt == "xes":
            counts = write_xes(counted, cases, events, log_name="greenflow 流程历史 / process histories",
                               log_attributes={"greenflow:exported_at": now, "greenflow:masked": not unmasked,
                                               "greenflow:filter": flt.to_dict()})
        elif fmt == "csv":
            counts = write_csv(counted, cases, events, case_columns=domain.case_columns)
        else:
            counts = write_ocel(counted, cases=cases, object_types=domain.object_types(), objects=domain.objects(session),
                                events=events, instance_links=domain.instance_links(session, [c.instance_id
                                                                                         for c in cases]),
                                event_links=domain.event_links)
    return ExportSummary(fmt, counts.get("cases", len(cases)), counts["events"], counts.get("objects", 0),
                         counted.bytes, counted.sha256.hexdigest(), not unmasked)
