"""Benchmark: the process owners' modeler, server time (docs/modeler.md).

Through the Flask test client (no network), on a fresh SQLite file (default) or a PostgreSQL
database, with the shipped bundle deployed and the demo process owner:

- opening the modeler for the largest shipped diagram: ``GET /modeler/<key>`` (the page) and
  ``GET /modeler/api/<key>/draft`` (its XML and forms), without and with a saved draft;
- validate + deploy from the modeler: ``POST /modeler/api/<key>/validate`` then ``…/deploy`` of a
  changed draft (the whole bundle is analysed; bpmnlint lints the changed diagram);
- validate + deploy of the whole bundle: ``POST /api/v1/deployments`` with every file of ``bpmn/``
  (``mode=replace``), every diagram changed, so deploy analyses and bpmnlint lints all of them.

bpmnlint runs when it is installed (``scripts/setup_assets.sh``); ``--no-lint`` measures without it.
Targets (2-core machine): opening < 1 s; validate + deploy of the whole bundle < 2 s.

Usage: python bench/modeler.py [--repeat 5] [--db URL | --pg] [--no-lint]
"""
from __future__ import annotations

import argparse
import io
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import deploy, schema  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.identity import hash_password, upsert_user  # noqa: E402
from web.api.auth import issue_token  # noqa: E402
from web.app import create_app  # noqa: E402
from web.modeler.lint import Linter  # noqa: E402

OPEN_TARGET_S = 1.0
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "bench_modeler"
DEPLOY_TARGET_S = 2.0


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def report(label: str, seconds: list[float], target: float | None = None) -> None:
    median, worst = statistics.median(seconds), max(seconds)
    verdict = "" if target is None else ("  ok" if median < target else f"  MISSES the {target:g} s target")
    print(f"{label:<62} median {median * 1000:7.0f} ms   max {worst * 1000:7.0f} ms{verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="a database URL (default: a new SQLite file); its tables are created")
    parser.add_argument("--pg", action="store_true",
                        help=f"on PostgreSQL: drop and create the database {PG_DB} at {PG_ADMIN.rsplit('/', 1)[0]}")
    parser.add_argument("--no-lint", action="store_true", help="turn bpmnlint off")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="greenflow-bench-modeler-")
    url = args.db or f"sqlite:///{tmp}/bench.db"
    if args.pg:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}"
    db = Database(url)
    schema.upgrade(db)
    db.dispose()
    app = create_app({"database_url": url, "secret_key": "bench", "upload_dir": f"{tmp}/uploads"})
    app.config["WTF_CSRF_ENABLED"] = False
    if args.no_lint:
        app.config["BPMNLINT_BIN"] = ""
    eng = app.extensions["greenflow"]
    linter = Linter.from_config(app.config)
    print(f"database {eng.db.dialect}; bpmnlint: {linter.binary or 'off (' + linter.reason + ')'}")

    files = deploy.read_directory(ROOT / "bpmn")
    largest = max((p for p in files if p.endswith(".bpmn")), key=lambda p: len(files[p]))
    password = secrets.token_urlsafe(12)
    with eng.db.unit_of_work() as session:
        upsert_user(session, "owner", display_name="流程管理员", grants=[("process_owner", "520000")],
                    password_hash=hash_password(password))
    token = issue_token(eng, "owner", name="bench")[1]
    api_headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    logged_in = client.post("/auth/login", data={"username": "owner", "password": password})
    assert logged_in.status_code in (302, 303), logged_in.status_code

    def whole_bundle(round_: int):
        changed = {p: (c + f"\n<!-- bench {round_} -->\n".encode() if p.endswith(".bpmn") else c)
                   for p, c in files.items()}
        data = {"files": [(io.BytesIO(c), p) for p, c in sorted(changed.items())], "mode": "replace",
                "note": f"bench {round_}"}
        response = client.post("/api/v1/deployments", data=data, headers=api_headers,
                               content_type="multipart/form-data")
        assert response.status_code == 201, response.get_data(as_text=True)[:2000]
        return response

    seconds, _ = timed(lambda: whole_bundle(0))
    key = next(pid for pid, path in _processes(eng).items() if path == largest)
    print(f"largest diagram: {largest} ({len(files[largest]) // 1024} KiB, process {key}); "
          f"first deploy of {len(files)} files {seconds * 1000:.0f} ms")

    opening, draft_json = [], []
    for _ in range(args.repeat):
        opening.append(timed(lambda: _ok(client.get(f"/modeler/{key}")))[0])
        draft_json.append(timed(lambda: _ok(client.get(f"/modeler/api/{key}/draft")))[0])
    report(f"GET /modeler/{key} (page)", opening, OPEN_TARGET_S)
    report(f"GET /modeler/api/{key}/draft (no draft yet)", draft_json, OPEN_TARGET_S)

    xml = files[largest].decode()
    state = _ok(client.get(f"/modeler/api/{key}/draft")).json
    _ok(client.put(f"/modeler/api/{key}/draft", json={"xml": xml, "forms": state["forms"], "row_version": None}))
    with_draft = [timed(lambda: _ok(client.get(f"/modeler/api/{key}/draft")))[0] for _ in range(args.repeat)]
    report(f"GET /modeler/api/{key}/draft (with a draft)", with_draft, OPEN_TARGET_S)
    client.delete(f"/modeler/api/{key}/draft")

    validate, deploy_s, both = [], [], []
    for round_ in range(1, args.repeat + 1):
        changed = xml.replace("</bpmn:definitions>", f"<!-- modeler {round_} --></bpmn:definitions>")
        row = _ok(client.put(f"/modeler/api/{key}/draft", json={"xml": changed, "forms": {}, "row_version": None}))
        assert row.status_code == 200
        v, response = timed(lambda: _ok(client.post(f"/modeler/api/{key}/validate",
                                                    json={"xml": changed, "forms": {}})))
        errors = [p for p in response.json["problems"] if p["severity"] == "error"]
        assert not errors, errors
        d, response = timed(lambda: client.post(f"/modeler/api/{key}/deploy", json={"note": f"bench {round_}"}))
        assert response.status_code == 201, response.get_data(as_text=True)[:1000]
        validate.append(v)
        deploy_s.append(d)
        both.append(v + d)
    report(f"POST /modeler/api/{key}/validate", validate)
    report(f"POST /modeler/api/{key}/deploy", deploy_s)
    report("validate + deploy from the modeler (one diagram changed)", both, DEPLOY_TARGET_S)

    whole = [timed(lambda: whole_bundle(round_))[0] for round_ in range(1, args.repeat + 1)]
    report(f"POST /api/v1/deployments, whole bundle ({len(files)} files, all diagrams)", whole, DEPLOY_TARGET_S)
    eng.db.dispose()
    if args.pg:
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
        admin.dispose()
    return 0


def _processes(eng) -> dict[str, str]:
    """process id -> its file, in the newest bundle."""
    from sqlalchemy import select

    from engine.models import DefinitionVersion

    with eng.db.session() as session:
        meta = session.scalar(select(DefinitionVersion.meta).order_by(DefinitionVersion.id.desc()).limit(1))
    return {pid: p["file"] for pid, p in meta["processes"].items()}


def _ok(response):
    assert response.status_code < 300, (response.status_code, response.get_data(as_text=True)[:1000])
    return response


if __name__ == "__main__":
    sys.exit(main())
