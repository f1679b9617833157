"""Benchmark: exports (XES, OCEL 2.0, CSV) and verification of every history, at scale.

Seeds copies of one real instance (a real-name complaint run through the engine: accepted and
verified, its reporter's personal data in the payloads), each copy with its own instance id and its
own correctly chained events, until there are EVENTS events. Then, each in a fresh child process
so that its memory is its own:

- ``verify``: ``greenflow history verify --all`` (every chain, the logs), instances/s and events/s;
- ``checkpoint``: taking a checkpoint (a verifying pass, the Merkle root, the changed heads stored);
- ``export xes|ocel|csv``: events/s, the file's size, and the process's peak RSS over its RSS
  before exporting — with a tenth of the events too, to show that memory does not grow with them.

Usage: python bench/export.py [--events 100000] [--db URL] [--keep]
(default: a temporary SQLite file; e.g. --db postgresql+psycopg://postgres@127.0.0.1/bench_export,
a database that exists and may be emptied). Figures from the 2-core machine are in
docs/audit-evidence.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
import handlers  # noqa: E402,F401
from engine import history  # noqa: E402
from engine.api import WorkflowEngine  # noqa: E402
from engine.clock import FrozenClock  # noqa: E402
from engine.db import Base, Database  # noqa: E402

BATCH = 2000


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- seeding ---------------------------------------------------------------------------------

def template(engine: WorkflowEngine) -> int:
    """A real complaint (accepted, verified unfounded) as the template instance."""
    from engine.identity import public_actor, upsert_user
    from handlers import demo
    from handlers.records import Listing, Unit

    engine.deploy(ROOT / "bpmn", deployed_by="bench")
    with engine.db.unit_of_work() as s:
        for username, name, grants in demo.accounts():
            upsert_user(s, username, display_name=name, grants=grants)
        unit = demo.UNITS[0]
        s.add(Unit(credit_code=unit.credit_code, name=unit.name, unit_type="factory", county_code=unit.county,
                   industry_code=unit.industry, created_at=engine.clock.now()))
        s.add(Listing(credit_code=unit.credit_code, unit_type="factory", level="city", scope="520300", year=2025,
                      status="listed", listed_at=engine.clock.now()))  # a complaint concerns a listed unit
    data = {"subject_kind": "unit", "unit": demo.UNITS[0].credit_code, "matter": "该企业夜间偷排废水",
            "reporter_name": "李某", "id_number": "520102198805051234", "contact": "13900000000", "evidence": "照片"}
    iid = engine.start("complaint", data, actor=public_actor("complaint")).instance_id
    for bpmn_id, answer in (("complaint_intake", {"intake_decision": "accept", "intake_reason": "属于受理范围"}),
                            ("verify_complaint", {"verification_outcome": "unfounded", "verification_findings": "无"})):
        task = next(t for t in engine.instance(iid)["tasks"] if t["bpmn_id"] == bpmn_id and t["status"] == "open")
        engine.complete(task["id"], answer, actor=engine.actor(demo.user_for(task["role"], task["scope"])))
    return iid


def seed(engine: WorkflowEngine, events: int) -> tuple[int, int]:
    """Copies of the template until there are ``events`` events; returns (instances, events)."""
    from sqlalchemy import insert, select

    from engine.models import Event, ProcessInstance

    first = template(engine)
    with engine.db.session() as s:
        row = s.get(ProcessInstance, first)
        columns = {c.key: getattr(row, c.key) for c in ProcessInstance.__table__.columns if c.key != "id"}
        columns["state"] = row.state
        rows = s.scalars(select(Event).where(Event.instance_id == first).order_by(Event.seq)).all()
        model = [(e.at, e.actor, e.type, e.task_guid, e.bpmn_id, json.loads(e.payload)) for e in rows]
    per = len(model)
    copies = max(0, -(-events // per) - 1)
    instances, chained = [], []

    class Head:  # what history.chain needs of an instance
        def __init__(self, iid):
            self.id, self.event_seq, self.last_hash = iid, 0, ""

    for n in range(1, copies + 1):
        head = Head(first + n)
        for at, actor, type_, guid, bpmn_id, payload in model:
            chained.append(history.chain(head, at=at, actor=actor, type=type_, payload=payload, task_guid=guid,
                                         bpmn_id=bpmn_id))
        instances.append({**columns, "id": head.id, "event_seq": head.event_seq, "last_hash": head.last_hash})
        if len(instances) >= BATCH // per + 1:
            _flush(engine, instances, chained)
    _flush(engine, instances, chained)
    return copies + 1, (copies + 1) * per


def _flush(engine, instances, events) -> None:
    from sqlalchemy import insert

    from engine.models import Event, ProcessInstance

    if instances:
        with engine.db.engine.begin() as conn:
            conn.execute(insert(ProcessInstance.__table__), instances)
            conn.execute(insert(Event.__table__), events)
    instances.clear()
    events.clear()


# --- the measured steps, each in a child process ---------------------------------------------

def child(step: str, url: str, fmt: str | None, limit: int | None) -> dict:
    from handlers.audit_objects import DOMAIN
    from engine.evidence import checkpoints
    from engine.evidence.verify import verify_all
    from engine.exports import ExportFilter, export

    db = Database(url)
    now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
    before = rss_kib()
    started = time.perf_counter()
    out: dict = {}
    if step == "verify":
        report = verify_all(db, now=now)
        out = {"instances": report.instances, "events": report.events, "ok": report.ok}
    elif step == "checkpoint":
        point = checkpoints.create(db, by="bench", now=now)
        out = {"instances": point.instances, "events": point.events}
    else:
        flt = ExportFilter(instance_ids=tuple(range(1, limit + 1))) if limit else ExportFilter()
        with tempfile.TemporaryFile() as fh:
            summary = export(db, fmt, fh, flt=flt, domain=DOMAIN, now=now)
        out = {"instances": summary.cases, "events": summary.events, "bytes": summary.bytes}
    seconds = time.perf_counter() - started
    db.dispose()
    return {**out, "seconds": seconds, "rss_before_mib": before / 1024, "peak_mib": peak_rss_kib() / 1024,
            "growth_mib": (peak_rss_kib() - before) / 1024}


def run_child(step: str, url: str, fmt: str | None = None, limit: int | None = None) -> dict:
    args = [sys.executable, __file__, "--child", step, "--db", url]
    if fmt:
        args += ["--format", fmt]
    if limit:
        args += ["--limit", str(limit)]
    done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--keep", action="store_true", help="Keep the seeded database (SQLite file).")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--format", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.db, args.format, args.limit)))
        return

    folder = tempfile.mkdtemp(prefix="greenflow-bench-export-")
    url = args.db or f"sqlite:///{folder}/bench.db"
    db = Database(url)
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    clock = FrozenClock(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc))
    engine = WorkflowEngine(db, roles=config.role_keys(), clock=clock)
    from engine import calendar

    with db.unit_of_work() as s:
        calendar.seed_from_config(s, by="bench", now=clock.now())
    started = time.perf_counter()
    instances, events = seed(engine, args.events)
    db.dispose()
    print(f"{db.dialect}: seeded {instances} instances, {events} events in {time.perf_counter() - started:.1f} s")

    def line(name: str, r: dict) -> None:
        size = f", {r['bytes'] / 1e6:.1f} MB" if "bytes" in r else ""
        print(f"  {name:<22} {r['events']:>7} events in {r['seconds']:6.2f} s = {r['events'] / r['seconds']:>8,.0f} "
              f"events/s, {r['instances'] / r['seconds']:>7,.0f} instances/s{size}; peak RSS {r['peak_mib']:.0f} MiB "
              f"(+{r['growth_mib']:.0f} MiB while working)")

    line("verify --all", run_child("verify", url))
    line("checkpoint", run_child("checkpoint", url))
    tenth = max(1, instances // 10)
    for fmt in ("xes", "ocel", "csv"):
        line(f"export {fmt} (1/10)", run_child("export", url, fmt, tenth))
        line(f"export {fmt}", run_child("export", url, fmt))
    if not args.keep and args.db is None:
        Path(folder, "bench.db").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
