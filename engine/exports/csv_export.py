"""CSV for spreadsheets: one row per event, UTF-8 with a byte-order mark so that Excel opens the
Chinese as Chinese, with the case's columns repeated on each of its rows."""
from __future__ import annotations

import codecs
import csv
import io
import json
from typing import BinaryIO, Iterable, Iterator

from engine.exports.source import Case, ExportEvent, china_time

COLUMNS = ("instance", "process", "process_name", "title", "status", "started_at", "seq", "time", "activity",
           "lifecycle", "event_type", "actor", "role", "scope", "bpmn_id", "hash", "payload")
HEADINGS_ZH = ("实例", "流程", "流程名称", "标题", "状态", "发起时间", "序号", "时间", "活动", "生命周期", "事件类型",
               "办理人", "角色", "范围", "BPMN 元素", "哈希", "数据")


def write_csv(out: BinaryIO, cases: Iterable[Case], events: Iterator[ExportEvent],
              case_columns: tuple[tuple[str, str], ...] = ()) -> dict[str, int]:
    """Write one header row (``中文 (key)``) and one row per event; ``case_columns`` are the
    domain's case attributes as (key, Chinese heading)."""
    out.write(codecs.BOM_UTF8)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    counts = {"cases": 0, "events": 0}

    def flush() -> None:
        out.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()

    writer.writerow([f"{zh} ({key})" for zh, key in (*zip(HEADINGS_ZH, COLUMNS),
                                                       *((zh, key) for key, zh in case_columns))])
    pending = next(events, None)
    for case in cases:
        counts["cases"] += 1
        head = (case.instance_id, case.process_id, case.process_name, case.title, case.status,
                china_time(case.created_at))
        tail = tuple(case.attributes.get(key, "") for key, _ in case_columns)
        while pending is not None and pending.instance_id < case.instance_id:
            pending = next(events, None)
        while pending is not None and pending.instance_id == case.instance_id:
            e = pending
            writer.writerow((*head, e.seq, china_time(e.at), e.activity, e.lifecycle, e.type, e.actor,
                             e.role_label or "", e.scope or "", e.bpmn_id or "", e.hash,
                             json.dumps(e.payload, ensure_ascii=False, sort_keys=True), *tail))
            counts["events"] += 1
            pending = next(events, None)
            if counts["events"] % 500 == 0:
                flush()
    flush()
    return counts
