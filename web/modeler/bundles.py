"""Files of bundles as owners handle them: uploads (loose files or a zip) placed in the bundle, the
download of one process (its .bpmn and its forms), a process's forms and the diff of two sets.
"""
from __future__ import annotations

import io
import json
import posixpath
import re
import zipfile
from typing import Iterable

from engine import versions
from engine.deploy import BUNDLE_SUFFIXES, MAX_BUNDLE_FILES, MAX_FILE_BYTES, parse_xml_safely
from engine.errors import DeployError, DeployProblem

MAX_ZIP_BYTES = 20 * 1024 * 1024  # uncompressed, all entries together
FORM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,150}\.json$")
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")


def refuse(file: str, message: str):
    raise DeployError([DeployProblem(file, message)])


def _clean_path(name: str) -> str | None:
    """A relative POSIX path inside the bundle, or None when it would leave it (absolute, ``..``)."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    path = posixpath.normpath(name)
    if path in (".", "") or path.startswith("../") or path == "..":
        return None
    return path


def place(name: str, existing: Iterable[str]) -> str:
    """Where an uploaded file goes in the bundle: the path it names if it has a directory, else the
    existing file of that name (``review.schema.json`` → ``forms/review.schema.json``), else the root
    for a diagram and ``forms/`` for a JSON form."""
    existing = set(existing)
    path = _clean_path(name)
    if path is None:
        refuse(name, "a file name must be a relative path inside the bundle")
    if "/" in path:
        return path
    if path in existing:
        return path
    if path.endswith(".json") and f"forms/{path}" in existing:
        return f"forms/{path}"
    same = [p for p in existing if p.endswith("/" + path)]
    if len(same) == 1:
        return same[0]
    return f"forms/{path}" if path.endswith(".json") else path


def read_zip(name: str, content: bytes) -> dict[str, bytes]:
    """The bundle files of an uploaded zip (diagrams, DMN tables, JSON forms; other entries are
    ignored), by their paths in it; one top folder they all share (not ``forms``) is dropped."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        refuse(name, "not a valid zip file")
    entries = []
    total = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        path = _clean_path(info.filename)
        if path is None:
            refuse(name, f"{info.filename!r}: a path in the zip must stay inside it")
        parts = path.split("/")
        if any(p.startswith(".") or p == "__MACOSX" for p in parts) or not path.endswith(BUNDLE_SUFFIXES):
            continue
        if info.file_size > MAX_FILE_BYTES:
            refuse(f"{name}:{path}", f"file is {info.file_size} bytes; the limit is {MAX_FILE_BYTES}")
        total += info.file_size
        if total > MAX_ZIP_BYTES or len(entries) >= MAX_BUNDLE_FILES:
            refuse(name, f"the zip holds more than {MAX_ZIP_BYTES // (1024 * 1024)} MiB or {MAX_BUNDLE_FILES} files")
        entries.append((path, info))
    files: dict[str, bytes] = {}
    tops = {path.split("/", 1)[0] for path, _ in entries}
    strip = len(tops) == 1 and all("/" in p for p, _ in entries) and tops != {"forms"}
    for path, info in entries:
        with archive.open(info) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            refuse(f"{name}:{path}", f"file is larger than the limit of {MAX_FILE_BYTES} bytes")
        files[path.split("/", 1)[1] if strip else path] = data
    if not files:
        refuse(name, "the zip holds no .bpmn, .dmn or .json file")
    return files


def read_uploads(uploads: Iterable[tuple[str, bytes]], existing: Iterable[str]) -> dict[str, bytes]:
    """(file name, bytes) of uploaded files → bundle path → bytes. A zip adds its entries; other
    files must be .bpmn, .dmn or .json; a path given twice is refused."""
    existing = set(existing)
    files: dict[str, bytes] = {}

    def add(path: str, data: bytes, origin: str) -> None:
        if path in files:
            refuse(origin, f"{path} is uploaded twice")
        files[path] = data

    for name, data in uploads:
        if not name:
            refuse("(upload)", "a file part has no file name")
        if name.lower().endswith(".zip"):
            for path, content in read_zip(name, data).items():
                add(place(path, existing) if "/" not in path else path, content, name)
            continue
        if not name.endswith(BUNDLE_SUFFIXES):
            refuse(name, "only .bpmn, .dmn and .json files (or a .zip of them) can be deployed")
        if len(data) > MAX_FILE_BYTES:
            refuse(name, f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
        add(place(name, existing), data, name)
    if not files:
        refuse("(upload)", "no file was uploaded")
    if len(files) > MAX_BUNDLE_FILES:
        refuse("(upload)", f"more than {MAX_BUNDLE_FILES} files")
    return files


def write_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0))  # the same bytes for the same files
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()


# --- one process's files -----------------------------------------------------------------

def process_files(meta: dict, files: dict[str, bytes], process_id: str) -> dict[str, bytes]:
    """The process's .bpmn file and the form files its tasks name, by bundle path."""
    process = meta["processes"][process_id]
    result = {process["file"]: files[process["file"]]}
    for name in versions.form_names(meta, process_id):
        path = versions.form_file(name, files)
        if path:
            result[path] = files[path]
    return result


def process_forms(meta: dict, files: dict[str, bytes], process_id: str) -> dict[str, dict]:
    """form name (as tasks give it) -> its JSON, for the forms of one process."""
    forms = {}
    for name in sorted(versions.form_names(meta, process_id)):
        path = versions.form_file(name, files)
        if path:
            forms[name] = json.loads(files[path])
    return forms


def forms_named_in(xml: str | bytes) -> set[str] | None:
    """The form names a diagram's tasks give; None if the XML cannot be read."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        root = parse_xml_safely("draft.bpmn", data)
    except DeployError:
        return None
    return {p.get("value") for p in root.iter("{http://spiffworkflow.org/bpmn/schema/1.0/core}property")
            if p.get("name") in FORM_PROPERTIES and p.get("value")}


def form_bytes(schema: dict) -> bytes:
    return (json.dumps(schema, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def draft_overlay(*, bpmn_path: str, xml: str, forms: dict[str, dict], base: dict[str, bytes]) -> dict[str, bytes]:
    """The files a draft lays over the newest bundle: its diagram, and each form whose JSON differs
    from the bundle's (an unchanged form keeps its bytes, so processes sharing it keep their version)."""
    overlay = {bpmn_path: xml.encode("utf-8")}
    for name, schema in forms.items():
        path = versions.form_file(name, base) or f"forms/{name}"
        if path in base:
            try:
                if json.loads(base[path]) == schema:
                    continue
            except ValueError:
                pass
        overlay[path] = form_bytes(schema)
    return overlay


def forms_diff(before: dict[str, dict], after: dict[str, dict]) -> list[dict]:
    """[{name, change: added|removed|changed, before, after}] for the forms that differ, by name."""
    result = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        result.append({"name": name, "change": change, "before": old, "after": new,
                       "fields": fields_diff(old or {}, new or {})})
    return result


def fields_diff(old: dict, new: dict) -> list[dict]:
    """The top-level fields of two schemas that were added, removed or changed: [{field, change}]."""
    before = old.get("properties") if isinstance(old.get("properties"), dict) else {}
    after = new.get("properties") if isinstance(new.get("properties"), dict) else {}
    required_before = set(old.get("required") or []) if isinstance(old.get("required"), list) else set()
    required_after = set(new.get("required") or []) if isinstance(new.get("required"), list) else set()
    changes = []
    for key in list(before) + [k for k in after if k not in before]:
        if key not in after:
            changes.append({"field": key, "change": "removed"})
        elif key not in before:
            changes.append({"field": key, "change": "added"})
        elif before[key] != after[key] or ((key in required_before) != (key in required_after)):
            changes.append({"field": key, "change": "changed"})
    return changes


def valid_form_name(name: str) -> bool:
    return bool(FORM_NAME.match(name)) and ".." not in name
