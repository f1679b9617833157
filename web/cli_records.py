"""``greenflow records``: the officials' record files from the command line (issue 16 items 2 and 8).

    greenflow records credit-import FILE --by USER [--dry-run] [--json]
    greenflow records national-list FILE --year Y --notice-ref REF --published-on DATE [--complete]
                                         --by USER [--dry-run] [--json]
    greenflow records export --format json|xlsx --out FILE [--level L] [--year Y] [--status S]

The same checks as the pages (``/records/credit``, ``/records/interchange``; docs/credit-records.md
and docs/interchange.md): a file is checked whole and imported whole or not at all; ``--dry-run``
prints the preview (row errors, what would be recorded) and writes nothing. ``--by`` names the
official on whose grant the records are made (a city official records for the city, the province
for all; the national list is the province's): the command line acts for a person, never as
nobody. An imported file is kept in the upload store as the records' source, as on the page.

Exit status: 0 done (or a clean dry run), 1 a dry run that found row errors, 2 refused.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from engine.errors import InvalidInput
from handlers import credit_records, interchange
from handlers.interchange.export import STATUSES
from handlers.records import TARGET_LEVELS
from web.cli import _EngineErrors, _emit, _engine, _settings, json_option
from web.uploads import FileStore

TABLE_FILES = (".csv", ".xlsx")
MAX_TABLE_BYTES = 5 * 1024 * 1024


@click.group("records", cls=_EngineErrors)
def records_group() -> None:
    """Credit records and the national platform's lists, from files."""


by_user = click.option("--by", "by", required=True, metavar="USER",
                       help="The official whose grant records it (e.g. province, city-520300).")
dry_run = click.option("--dry-run", is_flag=True, help="Check the file and print the preview; write nothing.")
table_file = click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))


def _read(path: str) -> tuple[bytes, str]:
    """The file's bytes and name, refused like an upload: CSV or XLSX, at most 5 MiB."""
    file = Path(path)
    if file.suffix.lower() not in TABLE_FILES:
        raise InvalidInput(f"{file.name}: 请使用 CSV 或 XLSX 文件 / a CSV or XLSX file, please", field="FILE")
    if file.stat().st_size > MAX_TABLE_BYTES:
        raise InvalidInput(f"{file.name}: 文件超过 5 MiB / larger than 5 MiB", field="FILE")
    return file.read_bytes(), file.name


def _keep(path: str) -> str:
    """Store the imported file as the records' source; its reference (``sha256:…``)."""
    with open(path, "rb") as stream:
        stored = FileStore(Path(_settings().upload_dir)).save(stream, Path(path).name, None,
                                                              max_bytes=MAX_TABLE_BYTES, allowed=TABLE_FILES)
    return f"sha256:{stored.sha256}"


def _print_preview(preview: dict) -> None:
    counts = ", ".join(f"{key} {value}" for key, value in sorted((preview.get("counts") or {}).items()))
    click.echo(f"{'ok' if preview.get('ok') else 'errors'}: {len(preview.get('rows') or [])} rows"
               + (f" ({counts})" if counts else ""))
    for error in preview.get("errors") or []:
        where = " ".join(str(part) for part in (f"row {error.get('row')}" if error.get("row") else "",
                                                  error.get("column") or "") if part)
        click.echo(f"  {where or 'file'}: {error.get('message')}", err=True)


def _finish_preview(preview: dict, as_json: bool) -> None:
    _emit(preview, as_json, _print_preview)
    if not preview.get("ok"):
        sys.exit(1)


@records_group.command("credit-import")
@with_appcontext
@table_file
@by_user
@dry_run
@json_option
def credit_import(path: str, by: str, dry_run: bool, as_json: bool) -> None:
    """Import credit records (第二十七条 items 2–6) from a CSV/XLSX file in the documented layout."""
    data, filename = _read(path)
    engine = _engine()
    if dry_run:
        _finish_preview(credit_records.preview_file(engine, data, filename, actor=by), as_json)
        return
    result = credit_records.import_file(engine, data, filename, actor=by, file_ref=_keep(path))
    summary = {"import_id": result["import_id"], "records": len(result["records"]),
               "duplicates": result["preview"]["counts"].get("duplicate", 0), "removals": result["removals"]}
    _emit(summary, as_json, lambda s: click.echo(
        f"import {s['import_id']}: {s['records']} records, {s['duplicates']} duplicates skipped, "
        f"removal started for {len(s['removals'])} listed unit(s)"
        + (f" (instances {', '.join(map(str, s['removals']))})" if s["removals"] else "")))


@records_group.command("national-list")
@with_appcontext
@table_file
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The year of the national list.")
@click.option("--notice-ref", required=True, help="MIIT's notice number (文号).")
@click.option("--published-on", required=True, metavar="YYYY-MM-DD", help="The day MIIT published the list.")
@click.option("--complete", is_flag=True, help="The file is the whole list: recommended units not in it were not listed.")
@by_user
@dry_run
@json_option
def national_list(path: str, year: int, notice_ref: str, published_on: str, complete: bool, by: str, dry_run: bool,
                  as_json: bool) -> None:
    """Import MIIT's published national list (第八条, 第二十一条): national listings and waiting applications."""
    data, filename = _read(path)
    fields = {"year": str(year), "notice_ref": notice_ref, "published_on": published_on, "complete": complete}
    engine = _engine()
    if dry_run:
        _finish_preview(interchange.preview_national_list(engine, data, filename, fields, actor=by), as_json)
        return
    result = interchange.import_national_list(engine, data, filename, fields, actor=by, file_ref=_keep(path))
    _emit(result, as_json, lambda r: click.echo(
        f"import {r['import_id']}: {len(r.get('rows') or [])} rows applied, {len(r.get('settled') or [])} waiting "
        "application(s) settled"))


@records_group.command("export")
@with_appcontext
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx"]), required=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Write the file here.")
@click.option("--level", type=click.Choice(TARGET_LEVELS), default=None, help="Only listings of this level.")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Only listings of this year.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only listed, or only removed.")
def export(fmt: str, out: str, level: str | None, year: int | None, status: str | None) -> None:
    """Units and listings in the documented interchange format (docs/interchange.md) for MIIT's platform."""
    engine = _engine()
    with engine.db.session() as session:
        document = interchange.export_document(session, now=engine.clock.now(), level=level, year=year, status=status)
    body = (json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") if fmt == "json"
            else interchange.export_xlsx(document))
    Path(out).write_bytes(body)
    click.echo(f"{out}: {len(document['units'])} units, {len(document['listings'])} listings ({fmt})")
