"""Uploads are kept only once a record points to them; the sweep removes what was left behind (both backends)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import time
from pathlib import Path

from sqlalchemy import select

from engine.models import Attachment
from handlers import demo
from handlers.records import Objection
from tests.scenarios.driver import form_post
from web.upload_sweep import UploadSweeper, referenced_hashes, sweep_uploads
from web.uploads import FileStore

U1 = demo.UNITS[0]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BIG_PDF = b"%PDF-1.4\n" + b"0" * (19 * 1024 * 1024)  # the 19 MiB file of the report
DAY = 24 * 3600


def upload_dir(site) -> Path:
    return Path(site.app.config["GREENFLOW"].upload_dir)


def files_in(root: Path) -> list[Path]:
    """Every file under the upload directory: stored ones and temporaries."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def application_form(unit=U1, **overrides) -> dict:
    return form_post(demo.application_data(unit, **overrides))


def age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


def test_a_refused_form_leaves_no_file_and_asks_for_it_again(site):
    client = site.client("ent-u1")
    form = application_form()
    del form["contact_name"]  # required: the form is refused (422)
    form["report_file"] = (io.BytesIO(BIG_PDF), "评价报告.pdf", "application/pdf")
    response = client.post("/portal/apply", data=form, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-field="contact_name"' in html
    assert files_in(upload_dir(site)) == []  # neither the staged temporary nor a stored file
    assert "请重新上传该文件" in html and hashlib.sha256(BIG_PDF).hexdigest() not in html  # no claim to a gone file


def test_an_accepted_form_keeps_exactly_one_file(site):
    client = site.client("ent-u1")
    form = application_form()
    form["report_file"] = (io.BytesIO(PDF), "评价报告.pdf", "application/pdf")
    response = client.post("/portal/apply", data=form, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    sha = hashlib.sha256(PDF).hexdigest()
    root = upload_dir(site)
    assert files_in(root) == [root / sha[:2] / sha[2:4] / sha]
    iid = int(response.headers["Location"].rsplit("/", 1)[1])
    with site.engine.db.session() as s:
        assert s.scalars(select(Attachment.sha256).where(Attachment.instance_id == iid)).all() == [sha]


def test_a_command_failing_after_the_upload_leaves_no_file(site):
    """The amend form with a new report but a stale row_version: 409 from the engine, nothing kept."""
    green = site.scenario
    iid = green.apply(U1)
    green.step(iid, "review", {"decision": "return", "opinion": "需补充", "reason": "请补充能源审计报告"})
    amend = green.task(iid, "amend")
    stale = site.engine.instance(iid)["row_version"] - 1
    response = site.client("ent-u1").post(f"/tasks/{amend.id}", content_type="multipart/form-data", data={
        "amend_note": "已补充", "row_version": str(stale),
        "report_file": (io.BytesIO(PDF), "新报告.pdf", "application/pdf")})
    assert response.status_code == 409
    assert files_in(upload_dir(site)) == []
    assert green.task(iid, "amend").status == "open"


def test_the_same_file_twice_is_stored_once_and_a_refusal_never_removes_a_kept_copy(site):
    client = site.client("ent-u1")
    form = application_form()
    form["report_file"] = (io.BytesIO(PDF), "评价报告.pdf", "application/pdf")
    assert client.post("/portal/apply", data=form, content_type="multipart/form-data").status_code == 303
    refused = application_form(demo.UNITS[1])
    del refused["contact_name"]
    refused["report_file"] = (io.BytesIO(PDF), "同一份.pdf", "application/pdf")
    other = site.client("ent-u2")
    assert other.post("/portal/apply", data=refused, content_type="multipart/form-data").status_code == 422
    sha = hashlib.sha256(PDF).hexdigest()
    assert [p.name for p in files_in(upload_dir(site))] == [sha]  # the first applicant's file is still there


def test_sweep_removes_old_orphans_and_temporaries_but_not_referenced_or_fresh_files(site):
    root = upload_dir(site)
    store = FileStore(root)
    referenced = store.save(io.BytesIO(PDF), "a.pdf")
    orphan = store.save(io.BytesIO(PDF + b"orphan"), "b.pdf")
    evidence = store.save(io.BytesIO(PDF + b"evidence"), "c.pdf")
    fresh_orphan = store.save(io.BytesIO(PDF + b"fresh"), "d.pdf")
    stale_temp = store.stage(io.BytesIO(PDF + b"crashed"), "e.pdf").staged
    fresh_temp = store.stage(io.BytesIO(PDF + b"uploading"), "f.pdf").staged
    iid = site.scenario.apply(U1)
    with site.engine.db.unit_of_work() as s:
        s.add(Attachment(instance_id=iid, sha256=referenced.sha256, field="report_file", filename="a.pdf",
                         content_type="application/pdf", size=referenced.size, uploaded_by="ent-u1",
                         uploaded_at=site.engine.clock.now()))
    noticed = site.scenario.to_notice(demo.UNITS[1])
    site.scenario.object(noticed, evidence=f"附件：证明.pdf（sha256:{evidence.sha256}，10 字节）")
    with site.engine.db.session() as s:  # an objection's evidence names the file; it is no attachment
        assert s.scalar(select(Objection.id)) is not None
        assert referenced_hashes(s) == {referenced.sha256, evidence.sha256}
    for path in (store.path_of(referenced.sha256), store.path_of(orphan.sha256), store.path_of(evidence.sha256),
                 stale_temp):
        age(path, 2 * DAY)

    report = sweep_uploads(site.engine, store, older_than=dt.timedelta(hours=24))

    assert (report.temporaries, report.orphans, report.kept) == (1, 1, 2)
    assert report.freed_bytes == orphan.size + len(PDF + b"crashed")
    assert not store.exists(orphan.sha256) and not stale_temp.exists()
    assert store.exists(referenced.sha256) and store.exists(evidence.sha256)
    assert store.exists(fresh_orphan.sha256) and fresh_temp.exists()  # younger than the grace period
    assert not list(root.glob(".sweep-*"))


def test_a_file_referenced_while_it_was_hidden_is_put_back(site):
    store = FileStore(upload_dir(site))
    stored = store.save(io.BytesIO(PDF), "a.pdf")
    assert store.remove_unless(stored.sha256, lambda sha: True) is None  # a record appeared meanwhile
    assert store.exists(stored.sha256) and not list(store.root.glob(".sweep-*"))
    assert store.remove_unless(stored.sha256, lambda sha: False) == len(PDF)
    assert not store.exists(stored.sha256)


def test_the_cli_sweeps_and_the_worker_job_runs_at_most_hourly(site):
    store = FileStore(upload_dir(site))
    orphan = store.save(io.BytesIO(PDF), "a.pdf")
    age(store.path_of(orphan.sha256), 3 * 3600)
    runner = site.app.test_cli_runner()
    kept = runner.invoke(args=["uploads", "sweep", "--older-than-hours", "4", "--json"])
    assert kept.exit_code == 0, kept.output
    assert '"orphans": 0' in kept.output and store.exists(orphan.sha256)
    swept = runner.invoke(args=["uploads", "sweep", "--older-than-hours", "2"])
    assert swept.exit_code == 0 and "removed 0 temporaries and 1 unreferenced files" in swept.output
    sweeper = UploadSweeper(site.engine, store.root)
    assert sweeper() is not None and sweeper() is None  # the second tick within the hour does nothing


def test_serve_and_the_worker_sweep_on_the_leaders_tick(site):
    from engine.worker import TimerWorker
    from web.cli import _worker_with_web_jobs

    store = FileStore(upload_dir(site))
    orphan = store.save(io.BytesIO(PDF), "a.pdf")
    age(store.path_of(orphan.sha256), 2 * DAY)
    with site.app.app_context():
        worker = _worker_with_web_jobs(TimerWorker(site.engine, name="test-worker"))
    assert any(isinstance(job, UploadSweeper) for job in worker.jobs)
    try:
        worker.tick()
    finally:
        worker.close()
    assert not store.exists(orphan.sha256)
