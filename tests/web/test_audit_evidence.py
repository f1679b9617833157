"""The auditors' evidence pages, API and commands (issue 14), on both databases: verify everything,
checkpoints and their signed statements, exports with masking, and the access log."""
from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import delete, select, update

from engine.evidence import statement
from engine.evidence.models import AccessLogEntry, CheckpointLeaf, HistoryCheckpoint
from engine.identity import upsert_user
from engine.models import Event
from handlers import demo
from tests.engine.test_evidence import rechain
from tests.web.conftest import Site
from tests.web.test_api import Api
from web.api import auth
from web.app import create_app

PAGES = ["/audit/verify", "/audit/checkpoints", "/audit/export", "/audit/access-log"]


@pytest.fixture
def site(green, tmp_path):
    """The app with its signing key in the test's directory; two applications, one with an objection."""
    statement.ensure_key(tmp_path / "keys" / "audit.pem")  # as greenflow init does
    app = create_app({"database_url": green.engine.db.url, "secret_key": "test", "upload_dir": str(tmp_path / "up"),
                      "audit_signing_key": str(tmp_path / "keys" / "audit.pem")})
    app.config.update(WTF_CSRF_ENABLED=False)
    app.extensions["greenflow"].db.dispose()
    app.extensions["greenflow"] = green.engine
    site = Site(app, green)
    site.ids = [green.to_notice(demo.UNITS[0]), green.apply(demo.UNITS[1])]
    green.object(site.ids[0])
    return site


def access_entries(site, **where) -> list[AccessLogEntry]:
    with site.engine.db.session() as s:
        query = select(AccessLogEntry).order_by(AccessLogEntry.seq)
        for key, value in where.items():
            query = query.where(getattr(AccessLogEntry, key) == value)
        return list(s.scalars(query))


def tamper(site, instance_id: int, seq: int, *, recompute: bool = False) -> None:
    with site.engine.db.unit_of_work() as s:
        s.execute(update(Event).where(Event.instance_id == instance_id, Event.seq == seq).values(actor="nobody"))
    if recompute:
        rechain(site.engine.db, instance_id)


def grant_personal_data(site, username: str = "auditor") -> None:
    with site.engine.db.unit_of_work() as s:
        upsert_user(s, username, display_name="审计人员", grants=[("auditor", "520000"), ("personal_data", "520000")])


# --- pages ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_only_auditors_open_the_evidence_pages_and_refusals_are_logged(site, path):
    assert site.client("auditor").get(path).status_code == 200
    assert site.client("province").get(path).status_code == 403
    denied = access_entries(site, result="denied")
    assert [(e.username, e.object_ref) for e in denied] == [("province", path)]


def test_an_auditor_verifies_every_history_and_sees_the_broken_one_named(site):
    client = site.client("auditor")
    page = client.post("/audit/verify").get_data(as_text=True)
    assert "全部完好" in page and "尚无检查点" in page
    tamper(site, site.ids[1], 2)
    response = client.post("/audit/verify")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "发现 1 处问题" in page and "哈希链断裂" in page
    assert f'/instances/{site.ids[1]}"' in page and "#2" in page
    [entry] = access_entries(site, action="audit.verify", result="ok")[-1:]
    assert json.loads(entry.detail)["problems"] == 1


def test_a_kept_statement_exposes_a_recomputed_chain(site):
    client = site.client("auditor")
    assert client.post("/audit/checkpoints").status_code == 303
    statement = client.get("/audit/checkpoints/1.txt")
    assert statement.status_code == 200 and "attachment" in statement.headers["Content-Disposition"]
    assert statement.get_data(as_text=True).startswith("# greenflow 历史检查点")
    tamper(site, site.ids[0], 3, recompute=True)
    assert "与检查点不符：历史被改写" in client.post("/audit/verify").get_data(as_text=True)  # the stored one sees it
    with site.engine.db.unit_of_work() as s:  # … until the administrator removes the stored checkpoints too
        s.execute(delete(CheckpointLeaf))
        s.execute(delete(HistoryCheckpoint))
    assert "全部完好" in client.post("/audit/verify").get_data(as_text=True)
    page = client.post("/audit/verify", data={"statement": (io.BytesIO(statement.data), "kept.txt")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "数据库中已没有该检查点" in page and "来自上传的文件" in page and "签名有效" in page
    assert "发现 2 处问题" in page  # the checkpoint is gone, and its chain heads no longer give the file's root


def test_a_file_that_is_not_a_statement_is_refused_naming_why(site):
    response = site.client("auditor").post("/audit/verify", data={"statement": (io.BytesIO(b"hello"), "x.txt")},
                                           content_type="multipart/form-data")
    assert response.status_code == 422 and "signature:" in response.get_data(as_text=True)


def test_without_a_signing_key_statements_are_refused_with_the_fix(site, tmp_path):
    (tmp_path / "keys" / "audit.pem").unlink()
    client = site.client("auditor")
    client.post("/audit/checkpoints")  # a checkpoint needs no key; its statement does
    assert "greenflow init" in client.get("/audit/checkpoints").get_data(as_text=True)
    response = client.get("/audit/checkpoints/1.txt")
    assert response.status_code == 409 and "greenflow init" in response.get_data(as_text=True)
    assert not (tmp_path / "keys" / "audit.pem").exists()  # never made by a web request
    assert "全部完好" in client.post("/audit/verify").get_data(as_text=True)


def test_the_checkpoints_page_lists_them_with_the_key(site):
    client = site.client("auditor")
    client.post("/audit/checkpoints")
    page = client.get("/audit/checkpoints").get_data(as_text=True)
    assert "ed25519:" in page and "/audit/checkpoints/1.txt" in page
    assert "BEGIN PUBLIC KEY" in client.get("/audit/checkpoints/public-key.pem").get_data(as_text=True)
    assert client.get("/audit/checkpoints/99.txt").status_code == 404


@pytest.mark.parametrize("fmt, media, start", [("xes", "application/xml", b"<?xml"),
                                               ("ocel", "application/json", b'{"objectTypes"'),
                                               ("csv", "text/csv", b"\xef\xbb\xbf")])
def test_exports_download_and_are_logged_with_their_hash(site, fmt, media, start):
    response = site.client("auditor").get(f"/audit/export/download?format={fmt}&process_id=green_application")
    assert response.status_code == 200 and response.mimetype == media and response.data.startswith(start)
    assert response.headers["Content-Disposition"].startswith("attachment")
    body = response.data.decode("utf-8-sig")
    assert "13800000000" not in body and "138****0000" in body  # the objector's phone, masked
    [entry] = access_entries(site, action="audit.export")
    detail = json.loads(entry.detail)
    assert detail["sha256"] == hashlib.sha256(response.data).hexdigest() and detail["masked"] is True
    assert detail["filter"] == {"process_id": "green_application"} and detail["cases"] == 2


def test_personal_data_is_unmasked_only_with_the_right(site):
    client = site.client("auditor")
    assert client.get("/audit/export/download?format=csv&personal_data=1").status_code == 403
    assert access_entries(site, action="audit.export")[-1].result == "denied"
    assert "包含未遮盖的个人信息" not in client.get("/audit/export").get_data(as_text=True)
    grant_personal_data(site)
    client = site.client("auditor")
    assert "包含未遮盖的个人信息" in client.get("/audit/export").get_data(as_text=True)
    body = client.get("/audit/export/download?format=csv&personal_data=1").data.decode("utf-8-sig")
    assert "13800000000" in body and "王某" in body


@pytest.mark.parametrize("query, field", [("format=pdf", "format"), ("format=xes&since=2026-13-01", "since"),
                                          ("format=xes&status=lost", "status"),
                                          ("format=xes&since=2026-05-01&until=2026-04-01", "until")])
def test_bad_export_filters_are_refused_naming_the_field(site, query, field):
    response = site.client("auditor").get(f"/audit/export/download?{query}")
    assert response.status_code == 422
    assert not access_entries(site, action="audit.export")


def test_reading_an_instance_page_is_in_the_access_log(site):
    assert site.client("county-520302").get(f"/instances/{site.ids[0]}").status_code == 200
    [entry] = access_entries(site, action="instance.view")
    assert (entry.username, entry.object_ref, entry.result) == ("county-520302", f"instance:{site.ids[0]}", "ok")
    assert "county_official@520302" in entry.roles and entry.address == "127.0.0.1"
    page = site.client("auditor").get("/audit/access-log?action=instance.view").get_data(as_text=True)
    assert "查看流程实例" in page and "county-520302" in page


def test_the_access_log_page_filters_and_refuses_bad_dates(site):
    client = site.client("auditor")
    assert client.get("/audit/access-log?since=yesterday").status_code == 422
    assert client.get("/audit/access-log?result=denied").status_code == 200


def test_pages_speak_english_too(site):
    page = site.client("auditor").get("/audit/verify?lang=en").get_data(as_text=True)
    assert "Verify all histories" in page


# --- the API ----------------------------------------------------------------------------------------

@pytest.fixture
def api(site):
    def make(username: str) -> Api:
        _, token = auth.issue_token(site.engine, username, name="tests")
        return Api(site.app, token)
    return make


@pytest.mark.parametrize("path", ["/audit/verify", "/audit/checkpoints", "/audit/checkpoints/1",
                                  "/audit/checkpoints/1/statement", "/audit/public-key", "/audit/export?format=xes",
                                  "/audit/access-log"])
def test_the_audit_api_is_for_auditors_only(api, path):
    response = api("province").get(path)
    assert response.status_code == 403 and response.json["error"] == "forbidden"


def test_verify_checkpoints_and_export_through_the_api(site, api):
    auditor = api("auditor")
    report = auditor.get("/audit/verify").json
    assert report["ok"] and report["instances"] == 2 and report["anchor"] is None
    created = auditor.post("/audit/checkpoints")
    assert created.status_code == 201 and created.headers["Location"].endswith("/audit/checkpoints/1")
    assert auditor.get("/audit/checkpoints/1").json["hash"] == created.json["hash"]
    listing = auditor.get("/audit/checkpoints").json
    assert listing["total"] == 1 and listing["key"].startswith("ed25519:")
    statement = auditor.get("/audit/checkpoints/1/statement").get_data(as_text=True)
    tamper(site, site.ids[1], 2, recompute=True)
    against = auditor.post("/audit/verify", {"statement": statement}).json
    assert not against["ok"] and against["broken_instances"] == [site.ids[1]]
    assert against["problems"][0]["kind"] == "rewritten" and against["anchor"]["signature_valid"]
    export = auditor.get("/audit/export?format=ocel")
    assert export.status_code == 200 and json.loads(export.data)["events"]
    assert export.headers["X-Content-SHA256"]
    assert auditor.get("/audit/access-log?action=audit.export").json["total"] == 1


@pytest.mark.parametrize("path, field", [("/audit/export", "format"), ("/audit/export?format=xes&since=2026-1-1", "since"),
                                         ("/audit/access-log?result=maybe", "result"),
                                         ("/audit/export?format=xes&personal_data=yes", "personal_data")])
def test_bad_api_queries_are_422_naming_the_field(api, path, field):
    response = api("auditor").get(path)
    assert response.status_code == 422 and field in response.json["fields"], response.json


def test_a_bad_statement_is_422(api):
    response = api("auditor").post("/audit/verify", {"statement": "not one"})
    assert response.status_code == 422 and "file" in response.json["fields"]
    assert api("auditor").post("/audit/verify", {"statement": ""}).status_code == 422


def test_unmasked_api_export_needs_the_right(site, api):
    assert api("auditor").get("/audit/export?format=csv&personal_data=true").status_code == 403
    grant_personal_data(site)
    body = api("auditor").get("/audit/export?format=csv&personal_data=true").data.decode("utf-8-sig")
    assert "13800000000" in body


# --- the command line -------------------------------------------------------------------------------

def test_the_commands(site, tmp_path):
    runner = site.app.test_cli_runner()
    missing = runner.invoke(args=["history", "verify", "99999"])
    assert missing.exit_code == 2 and "not found" in missing.output
    assert runner.invoke(args=["history", "verify"]).exit_code == 2  # neither an id nor --all
    intact = runner.invoke(args=["history", "verify", "--all"])
    assert intact.exit_code == 0 and "2 instances" in intact.output and "all intact" in intact.output
    kept = tmp_path / "kept.txt"
    made = runner.invoke(args=["audit", "checkpoint", "--out", str(kept), "--by", "auditor"])
    assert made.exit_code == 0 and "checkpoint 1" in made.output and kept.read_text().startswith("#")
    tamper(site, site.ids[0], 4, recompute=True)
    assert runner.invoke(args=["history", "verify", str(site.ids[0])]).exit_code == 0  # the chain alone: intact
    broken = runner.invoke(args=["history", "verify", "--all", "--against", str(kept)])
    assert broken.exit_code == 1 and f"BROKEN instance {site.ids[0]} in events 1–" in broken.output
    listed = runner.invoke(args=["audit", "checkpoints", "--json"])
    assert json.loads(listed.output)[0]["id"] == 1
    out = tmp_path / "log.xes"
    exported = runner.invoke(args=["audit", "export", "--format", "xes", "--out", str(out)])
    assert exported.exit_code == 0 and "personal data masked" in exported.output and out.stat().st_size > 1000
    refused = runner.invoke(args=["audit", "export", "--format", "csv", "--out", str(out), "--personal-data"])
    assert refused.exit_code == 2 and "personal_data" in refused.output
    granted = runner.invoke(args=["audit", "personal-data-right", "auditor", "--by", "admin"])
    assert granted.exit_code == 0 and "holds the personal_data right" in granted.output
    plain = runner.invoke(args=["audit", "export", "--format", "csv", "--out", str(out), "--personal-data",
                                "--by", "auditor"])
    assert plain.exit_code == 0 and "13800000000" in out.read_text("utf-8-sig")
    log = runner.invoke(args=["audit", "access-log", "--json"])
    actions = [(entry["action"], entry["result"]) for entry in json.loads(log.output)]
    assert actions[:5] == [("audit.export", "ok"), ("audit.personal_data_right", "ok"), ("audit.export", "denied"),
                           ("audit.export", "ok"), ("audit.verify", "ok")]


def test_init_makes_the_signing_key_once_in_the_instance_folder(tmp_path):
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'init.db'}", "secret_key": "t",
                      "upload_dir": str(tmp_path / "up")})
    app.instance_path = str(tmp_path / "instance")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init"])
    key = tmp_path / "instance" / "audit-signing-key.pem"
    assert first.exit_code == 0 and "made the audit signing key" in first.output
    assert key.stat().st_mode & 0o777 == 0o600
    again = runner.invoke(args=["init"])
    assert again.exit_code == 0 and "made the audit signing key" not in again.output
    public = runner.invoke(args=["audit", "public-key"])
    assert "BEGIN PUBLIC KEY" in public.output and "fingerprint ed25519:" in public.output
    app.extensions["greenflow"].db.dispose()
