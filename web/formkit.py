"""Task forms from JSON Schema: field descriptors for the templates, and typed data back from a post.

A user task names a JSON Schema (``bpmn/forms/*.schema.json``, draft 2020-12) and optionally a
dict of UI hints (``formUiSchemaFilename``): field path -> ``x-`` keys merged over the inline
``x-`` keys of that property. The web pages work without JavaScript, so the server does all of it:

* ``build_fields(schema, ui, values, errors)`` turns the schema, the current values and the
  errors (dotted paths, as ``engine.errors.InvalidInput.fields`` has them) into ``Field``
  descriptors; ``templates/_form.html`` renders them with ``render_fields(fields)``.
* ``parse_submission(schema, ui, request.form, request.files, store)`` turns the post back into
  typed JSON (ints, floats, booleans, lists, nested dicts), stages uploads in the ``FileStore``,
  and reports the "add a row" / "remove a row" buttons of repeated groups, so the route re-renders
  instead of validating.
* ``validation_errors(schema, submission)`` merges what the parser and jsonschema found.
* ``summarize(schema, data)`` describes a completed form read-only; ``render_data(entries)``.

HTML names join the path with ``-`` (``main_emissions-so2_t``, ``members-0-name``); the dotted
path (``main_emissions.so2_t``, ``members.0.name``) is the key of errors and the ``data-field``
attribute of each field's wrapper. Widgets (``Field.kind``) follow the schema: string -> text
(``format`` date/email, ``maxLength`` > 200 -> textarea), integer/number -> number, enumerations
(``oneOf`` of ``const`` or ``enum``) -> radios up to 3 options else a select, boolean -> radios,
array of enumerated strings -> checkboxes, array of strings -> textarea one per line, array of
objects -> repeated groups, object -> fieldset, ``x-widget: file`` -> file input (a string whose
``pattern`` accepts ``sha256:`` references is a file field too), ``readOnly`` or
``x-widget: hidden`` -> read-only text, never taken from the post.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from flask_babel import gettext as _

from engine.errors import InvalidInput
from web.form_messages import friendly_errors
from web.i18n import localized, pick
from web.uploads import (CONTENT_TYPES, DEFAULT_ALLOWED, DEFAULT_MAX_BYTES, FileStore, StoredFile, extension_of,
                         safe_filename, sha_of_ref)

TEXTAREA_OVER = 200  # a string allowed more characters than this gets a textarea
RADIO_UP_TO = 3  # an enumeration with this many options or fewer gets radios
ADD = "_add"  # submit button: value = HTML name of the repeated group
REMOVE = "_remove"  # submit button: value = HTML name of the row, "<group>-<index>"
FILENAME_SUFFIX = "--filename"  # hidden input beside a kept upload: its original file name
WIDGETS = ("textarea", "radio", "select", "file", "hidden", "checkboxes")

FileUrl = Callable[[str], str]


@dataclass
class Option:
    """One choice of a select, radio group or checkbox group; ``value`` is the HTML value."""

    value: str
    label: str
    selected: bool = False


@dataclass
class Field:
    """What the template needs to render one property: no schema, no ORM objects.

    ``kind`` is one of text, date, email, number, textarea, lines, select, radio, checkboxes,
    file, readonly, object, array (repeated groups) and item (one row of a group).
    """

    path: str  # dotted, the key of errors: "members.0.name"
    name: str  # the HTML name: "members-0-name"
    kind: str
    label: str
    required: bool = False
    hint: str = ""
    unit: str = ""
    placeholder: str = ""
    value: str = ""  # the text shown in an input (the submitted text when it did not parse)
    error: str = ""
    input_type: str = "text"  # the <input type> of text, date, email and number fields
    attrs: dict[str, str] = field(default_factory=dict)  # maxlength, min, max, step, accept
    options: list[Option] = field(default_factory=list)
    blank_option: bool = True  # a select starts with "请选择"
    display: str = ""  # read-only text; for a file field, a value that is not an upload
    file_sha: str = ""  # the upload a file field already holds
    file_name: str = ""
    file_url: str = ""
    limits: str = ""  # what a file field accepts, for the hint
    children: list["Field"] = field(default_factory=list)
    index: int | None = None  # the row number of an item
    blank: bool = False  # the spare empty row of a group
    can_add: bool = False  # a group below maxItems shows "添加一项"
    has_rows: bool = False  # this field or one inside it is a repeated group

    @property
    def id(self) -> str:
        return f"f-{self.name}"

    @property
    def described_by(self) -> str:
        """The ids of the hint and error texts, for ``aria-describedby``."""
        ids = []
        if self.hint or self.limits:
            ids.append(f"{self.id}-hint")
        if self.error:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


@dataclass(frozen=True)
class UploadedFile:
    """A file a submission holds: freshly uploaded (``new``) or kept from an earlier post.

    A fresh upload is ``stored`` staged (``FileStore.stage``) until the route commits it, once its
    record is written (``web.attachments.PendingUploads``).
    """

    field: str  # dotted path of the form field
    sha256: str
    filename: str
    content_type: str
    size: int
    new: bool = True
    stored: StoredFile | None = None  # the staged upload (``StoredFile.staged``)


@dataclass(frozen=True)
class RowAction:
    """A press on "添加一项" or "删除此项": re-render, do not validate or complete."""

    kind: str  # "add" | "remove"
    path: str  # dotted path of the repeated group
    index: int | None = None  # the submitted row removed


@dataclass
class Submission:
    """The parsed post.

    ``data`` is typed and has no empty inputs: give it to ``engine.forms.validate``. ``values``
    is what to show when re-rendering (text that did not parse is kept, rows added or removed),
    ``errors`` what the parser refused (dotted paths), ``files`` every upload the data refers to.
    """

    data: dict
    values: dict
    errors: dict[str, str]
    files: list[UploadedFile]
    action: RowAction | None = None


@dataclass
class Entry:
    """One line of a completed form shown read-only: label and text, a link for a file."""

    path: str
    label: str
    text: str = ""
    unit: str = ""
    url: str = ""
    multiline: bool = False
    children: list["Entry"] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Reading the schema

def _types(prop: Mapping) -> list[str]:
    declared = prop.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def main_type(prop: Mapping) -> str:
    """The type a widget is chosen for: the first non-null declared type, else inferred."""
    for t in _types(prop):
        if t != "null":
            return t
    if "properties" in prop:
        return "object"
    if "items" in prop:
        return "array"
    consts = [c for c, _o in choices(prop)]
    if consts and all(isinstance(c, bool) for c in consts):
        return "boolean"
    if consts and all(isinstance(c, int) and not isinstance(c, bool) for c in consts):
        return "integer"
    if consts and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in consts):
        return "number"
    return "string"


def choices(prop: Mapping) -> list[tuple[Any, Mapping]]:
    """The enumeration of a property as (const, option): ``oneOf``/``anyOf`` of ``const``, or ``enum``.

    ``option`` carries ``title`` and ``x-title-en``; a plain ``enum`` value is its own title.
    ``null`` is never an option: an empty input means no value.
    """
    for key in ("oneOf", "anyOf"):
        alternatives = prop.get(key)
        if isinstance(alternatives, list) and alternatives and all(
                isinstance(o, Mapping) and "const" in o for o in alternatives):
            return [(o["const"], o) for o in alternatives if o["const"] is not None]
    if isinstance(prop.get("enum"), list):
        return [(v, {"title": _html_value(v)}) for v in prop["enum"] if v is not None]
    return []


def _boolean_choices() -> list[tuple[Any, Mapping]]:
    return [(True, {"title": _("是")}), (False, {"title": _("否")})]


def _choices_of(prop: Mapping) -> list[tuple[Any, Mapping]]:
    found = choices(prop)
    if not found and main_type(prop) == "boolean":
        return _boolean_choices()
    return found


def hints_for(prop: Mapping, ui: Mapping | None, hint_path: str) -> dict:
    """The inline ``x-`` keys of ``prop`` with the UI hints for ``hint_path`` merged over them.

    UI hints address a property by its dotted path without row numbers (``members.name``).
    """
    merged = {k: v for k, v in prop.items() if k.startswith("x-")}
    extra = (ui or {}).get(hint_path)
    if isinstance(extra, Mapping):
        merged.update(extra)
    return merged


def _is_file_prop(prop: Mapping, hints: Mapping) -> bool:
    if hints.get("x-widget") == "file":
        return True
    return main_type(prop) == "string" and "sha256:" in str(prop.get("pattern", "")) and not hints.get("x-widget")


def widget_kind(prop: Mapping, hints: Mapping) -> str:
    """The ``Field.kind`` for a property (see the module docstring for the rules)."""
    widget = hints.get("x-widget")
    if prop.get("readOnly") or widget == "hidden":
        return "readonly"
    kind = main_type(prop)
    if kind == "object":
        return "object"
    if kind == "array":
        items = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
        if main_type(items) == "object":
            return "array"
        return "checkboxes" if choices(items) else "lines"
    if _is_file_prop(prop, hints):
        return "file"
    options = _choices_of(prop)
    if options:
        if widget in ("radio", "select"):
            return widget
        return "radio" if len(options) <= RADIO_UP_TO else "select"
    if kind in ("integer", "number"):
        return "number"
    if widget == "textarea" or (prop.get("maxLength") or 0) > TEXTAREA_OVER:
        return "textarea"
    return {"date": "date", "email": "email"}.get(prop.get("format", ""), "text")


def _ordered_keys(properties: Mapping, order: Any) -> list[str]:
    """``x-order`` first (unknown names skipped), then the rest in the schema's order."""
    first = [k for k in order if k in properties] if isinstance(order, list) else []
    return first + [k for k in properties if k not in first]


def _unit(hints: Mapping) -> str:
    unit = hints.get("x-unit")
    if not unit:
        return ""
    english = hints.get("x-unit-en")
    return pick(unit, english) if english else _(str(unit))


def _html_value(value: Any) -> str:
    """How a JSON value travels in HTML: ``true``/``false``, numbers without a needless ``.0``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return _number_text(value)
    return str(value)


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _limits_text(allowed: Iterable[str], max_bytes: int) -> str:
    size = f"{max_bytes / (1024 * 1024):.1f}".removesuffix(".0") + " MiB"
    return _("格式 %(types)s，不超过 %(size)s", types=" ".join(allowed), size=size)


# ---------------------------------------------------------------------------------------------
# Building field descriptors

@dataclass
class _Build:
    ui: Mapping
    errors: Mapping[str, str]
    filenames: Mapping[str, str]
    file_url: FileUrl | None
    allowed: tuple[str, ...]
    max_bytes: int


def build_fields(schema: Mapping, ui: Mapping | None = None, values: Mapping | None = None,
                 errors: Mapping[str, str] | None = None, *, filenames: Mapping[str, str] | None = None,
                 file_url: FileUrl | None = None, allowed: Iterable[str] = DEFAULT_ALLOWED,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> list[Field]:
    """The fields of a form, in order, filled with ``values`` and ``errors``.

    ``values`` is the task's current data, or ``Submission.values`` when re-rendering a post;
    ``errors`` maps dotted paths to messages (``validation_errors`` or ``InvalidInput.fields``).
    ``filenames`` (sha256 -> file name) and ``file_url`` (sha256 -> URL) describe uploads a file
    field already holds. Call it inside a request: labels follow the request's language.
    """
    ctx = _Build(ui=ui or {}, errors=errors or {}, filenames=filenames or {}, file_url=file_url,
                 allowed=tuple(allowed), max_bytes=max_bytes)
    order = (ui or {}).get("x-order", schema.get("x-order"))
    return _object_fields(ctx, schema, values or {}, [], [], order)


def _object_fields(ctx: _Build, schema: Mapping, values: Any, segs: list[str], hint_segs: list[str],
                   order: Any) -> list[Field]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    values = values if isinstance(values, Mapping) else {}
    out = []
    for key in _ordered_keys(properties, order):
        prop = properties[key]
        value = values[key] if key in values else prop.get("default")
        out.append(_field(ctx, prop, value, [*segs, key], [*hint_segs, key], required=key in required))
    return out


def _field(ctx: _Build, prop: Mapping, value: Any, segs: list[str], hint_segs: list[str], *,
           required: bool) -> Field:
    hints = hints_for(prop, ctx.ui, ".".join(hint_segs))
    path = ".".join(segs)
    f = Field(path=path, name="-".join(segs), kind=widget_kind(prop, hints),
              label=localized(prop) or segs[-1], required=required,
              hint=localized(prop, "description"), unit=_unit(hints),
              placeholder=pick(hints.get("x-placeholder"), hints.get("x-placeholder-en")),
              error=ctx.errors.get(path, ""))
    FILLERS[f.kind](ctx, f, prop, hints, value, hint_segs)
    return f


def _fill_text(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any, hint_segs: list[str]) -> None:
    f.input_type = "email" if f.kind == "email" else "text"
    f.value = _html_value(value)
    if isinstance(prop.get("maxLength"), int):
        f.attrs["maxlength"] = str(prop["maxLength"])
    if f.kind == "date":  # ISO in every language: a browser's date picker shows mm/dd/yyyy in English
        f.attrs.update(pattern=r"\d{4}-\d{2}-\d{2}", inputmode="numeric", maxlength="10")
        f.placeholder = f.placeholder or "YYYY-MM-DD"


def _fill_number(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any, hint_segs: list[str]) -> None:
    f.value = _html_value(value)
    # Text that did not parse is shown as typed: a number input would blank it out.
    f.input_type = "number" if f.value == "" or _parse_number(f.value, False) is not None else "text"
    f.attrs["step"] = "1" if main_type(prop) == "integer" else "any"
    for key, attr in (("minimum", "min"), ("maximum", "max")):
        if isinstance(prop.get(key), (int, float)) and not isinstance(prop.get(key), bool):
            f.attrs[attr] = _number_text(prop[key])


def _fill_choice(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any, hint_segs: list[str]) -> None:
    current = _html_value(value)
    f.options = [Option(_html_value(c), localized(o) or _html_value(c), _html_value(c) == current)
                 for c, o in _choices_of(prop)]
    f.blank_option = not (f.required and "default" in prop)


def _fill_checkboxes(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any,
                     hint_segs: list[str]) -> None:
    chosen = {_html_value(v) for v in value} if isinstance(value, list) else set()
    f.options = [Option(_html_value(c), localized(o) or _html_value(c), _html_value(c) in chosen)
                 for c, o in choices(prop.get("items") or {})]


def _fill_lines(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any, hint_segs: list[str]) -> None:
    f.value = "\n".join(_html_value(v) for v in value) if isinstance(value, list) else _html_value(value)
    if not f.hint:
        f.hint = _("每行一项")


def _fill_file(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any, hint_segs: list[str]) -> None:
    allowed = tuple(hints.get("x-accept") or ctx.allowed)
    max_bytes = int(hints.get("x-max-bytes") or ctx.max_bytes)
    if hints.get("x-accept"):
        f.attrs["accept"] = ",".join(allowed)
    f.limits = _limits_text(allowed, max_bytes)
    sha = sha_of_ref(value)
    if sha:
        f.file_sha = sha
        f.file_name = ctx.filenames.get(sha, "")
        f.file_url = ctx.file_url(sha) if ctx.file_url else ""
    elif value not in (None, ""):
        f.display = _html_value(value)


def _fill_readonly(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any,
                   hint_segs: list[str]) -> None:
    f.display = display_text(prop, value) if value not in (None, "") else "—"


def _fill_object(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any, hint_segs: list[str]) -> None:
    f.children = _object_fields(ctx, prop, value, f.path.split("."), hint_segs, hints.get("x-order"))
    f.has_rows = any(c.has_rows for c in f.children)


def _fill_array(ctx: _Build, f: Field, prop: Mapping, hints: Mapping, value: Any, hint_segs: list[str]) -> None:
    items_schema = prop.get("items") or {}
    rows = [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []
    limit = prop.get("maxItems") if isinstance(prop.get("maxItems"), int) else math.inf
    segs = f.path.split(".")
    shown = [*rows, {}] if len(rows) < limit else rows
    for i, row in enumerate(shown):
        item = Field(path=f"{f.path}.{i}", name=f"{f.name}-{i}", kind="item", label=_("第 %(n)s 项", n=i + 1),
                     error=ctx.errors.get(f"{f.path}.{i}", ""), index=i, blank=i >= len(rows))
        item.children = _object_fields(ctx, items_schema, row, [*segs, str(i)], hint_segs,
                                       items_schema.get("x-order"))
        f.children.append(item)
    f.can_add = len(rows) + 1 < limit
    f.has_rows = True


FILLERS: dict[str, Callable[..., None]] = {
    "text": _fill_text, "date": _fill_text, "email": _fill_text, "textarea": _fill_text,
    "number": _fill_number, "select": _fill_choice, "radio": _fill_choice, "checkboxes": _fill_checkboxes,
    "lines": _fill_lines, "file": _fill_file, "readonly": _fill_readonly, "object": _fill_object,
    "array": _fill_array,
}


def field_paths(fields: Iterable[Field]) -> set[str]:
    """Every dotted path that has a place to show an error, nested fields and rows included."""
    paths: set[str] = set()
    for f in fields:
        paths.add(f.path)
        paths |= field_paths(f.children)
    return paths


def unplaced_errors(fields: Iterable[Field], errors: Mapping[str, str]) -> dict[str, str]:
    """The errors no field shows (``data``, a property the form does not have): show them on top."""
    known = field_paths(fields)
    return {path: message for path, message in errors.items() if path not in known}


# ---------------------------------------------------------------------------------------------
# Parsing a submission

@dataclass
class _Parse:
    form: Any  # a MultiDict: get(), getlist(), keys()
    files: Any
    store: FileStore | None
    ui: Mapping
    max_bytes: int
    allowed: tuple[str, ...]
    add: str
    remove: str
    errors: dict[str, str] = field(default_factory=dict)
    uploads: list[UploadedFile] = field(default_factory=list)
    action: RowAction | None = None


def parse_submission(schema: Mapping, ui: Mapping | None, form: Any, files: Any = None,
                     store: FileStore | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES,
                     allowed: Iterable[str] = DEFAULT_ALLOWED, current: Mapping | None = None) -> Submission:
    """Turn a post (``request.form``, ``request.files``) into typed data for ``schema``.

    Empty inputs are left out, so jsonschema reports what is required. Text that is not a number
    becomes an error ("请输入数字") instead of an exception, collected with the other problems.
    Uploads are staged in ``store`` (limits: ``x-max-bytes``/``x-accept`` hints, else ``max_bytes``
    and ``allowed``; the caller commits or discards them, see ``UploadedFile``) and the value
    becomes ``"sha256:<hex>"``; a refused upload is an error on its field. A file field posted without a new file keeps the upload named by its hidden input
    if the store has it. Read-only and hidden properties take their value from ``current`` (the
    task's data), never from the post. ``csrf_token``, ``_add`` and ``_remove`` are not data; a
    press on ``_add``/``_remove`` is reported as ``Submission.action``.
    """
    state = _Parse(form=form, files=files, store=store, ui=ui or {}, max_bytes=max_bytes,
                   allowed=tuple(allowed), add=(form.get(ADD) or "").strip(), remove=(form.get(REMOVE) or "").strip())
    order = (ui or {}).get("x-order", schema.get("x-order"))
    data, values = _parse_object(state, schema, [], [], [], current or {}, order)
    return Submission(data=data, values=values, errors=state.errors, files=state.uploads, action=state.action)


def _parse_object(state: _Parse, schema: Mapping, segs: list[str], names: list[str], hint_segs: list[str],
                  current: Any, order: Any) -> tuple[dict, dict]:
    """(typed data, values to re-render) of one object; ``segs`` is the data path, ``names`` the HTML one."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    current = current if isinstance(current, Mapping) else {}
    data: dict = {}
    values: dict = {}
    for key in _ordered_keys(properties, order):
        prop = properties[key]
        hints = hints_for(prop, state.ui, ".".join([*hint_segs, key]))
        kind = widget_kind(prop, hints)
        where = _Where(path=".".join([*segs, key]), name="-".join([*names, key]), segs=[*segs, key],
                       names=[*names, key], hint_segs=[*hint_segs, key])
        if kind == "readonly":
            if current.get(key) is not None:
                data[key] = values[key] = current[key]
            continue
        typed, shown = PARSERS[kind](state, prop, hints, where, current.get(key))
        if typed is not _EMPTY:
            data[key] = typed
        elif kind == "object" and key in required:
            data[key] = {}  # so jsonschema names each missing member, next to its input
        if shown is not _EMPTY:
            values[key] = shown
    return data, values


@dataclass(frozen=True)
class _Where:
    path: str
    name: str
    segs: list[str]
    names: list[str]
    hint_segs: list[str]


class _Empty:
    def __repr__(self) -> str:
        return "EMPTY"


_EMPTY: Any = _Empty()


def _text_of(state: _Parse, name: str) -> str:
    raw = state.form.get(name)
    return raw.replace("\r\n", "\n").strip() if isinstance(raw, str) else ""


def _parse_text(state: _Parse, prop: Mapping, hints: Mapping, where: _Where, current: Any) -> tuple[Any, Any]:
    text = _text_of(state, where.name)
    return (text, text) if text else (_EMPTY, _EMPTY)


def _parse_number_field(state: _Parse, prop: Mapping, hints: Mapping, where: _Where,
                        current: Any) -> tuple[Any, Any]:
    text = _text_of(state, where.name)
    if not text:
        return _EMPTY, _EMPTY
    integer = main_type(prop) == "integer"
    number = _parse_number(text, integer)
    if number is None:
        wrong_kind = integer and _parse_number(text, False) is not None
        state.errors[where.path] = _("请输入整数") if wrong_kind else _("请输入数字")
        return _EMPTY, text
    return number, number


def _parse_number(text: str, integer: bool) -> int | float | None:
    """An int when the text is a whole number, else a finite float; None if it is neither
    (or not whole while ``integer``). Thousands separators are allowed."""
    cleaned = text.strip().replace(",", "").replace("，", "").replace(" ", "")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        number = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if integer:
        return int(number) if number.is_integer() else None
    return number


def _match_choice(prop: Mapping, text: str) -> Any:
    """The ``const`` whose HTML value is ``text``; unknown text stays text for jsonschema to refuse."""
    for const, _option in _choices_of(prop):
        if _html_value(const) == text:
            return const
    return text


def _parse_choice(state: _Parse, prop: Mapping, hints: Mapping, where: _Where, current: Any) -> tuple[Any, Any]:
    text = _text_of(state, where.name)
    if not text:
        return _EMPTY, _EMPTY
    value = _match_choice(prop, text)
    return value, value


def _parse_checkboxes(state: _Parse, prop: Mapping, hints: Mapping, where: _Where,
                      current: Any) -> tuple[Any, Any]:
    items = prop.get("items") or {}
    chosen = [_match_choice(items, t.strip()) for t in state.form.getlist(where.name) if t.strip()]
    return (chosen, chosen) if chosen else (_EMPTY, _EMPTY)


def _parse_lines(state: _Parse, prop: Mapping, hints: Mapping, where: _Where, current: Any) -> tuple[Any, Any]:
    lines = [line.strip() for line in _text_of(state, where.name).split("\n") if line.strip()]
    return (lines, lines) if lines else (_EMPTY, _EMPTY)


def _parse_file(state: _Parse, prop: Mapping, hints: Mapping, where: _Where, current: Any) -> tuple[Any, Any]:
    upload = state.files.get(where.name) if state.files is not None else None
    if upload is not None and getattr(upload, "filename", None):
        if state.store is None:
            raise RuntimeError("parse_submission needs a FileStore for a form with file fields")
        try:
            stored = state.store.stage(upload, upload.filename, getattr(upload, "mimetype", None),
                                       max_bytes=int(hints.get("x-max-bytes") or state.max_bytes),
                                       allowed=tuple(hints.get("x-accept") or state.allowed), field=where.path)
        except InvalidInput as err:
            state.errors[where.path] = err.message  # and keep the earlier upload, if any
        else:
            state.uploads.append(UploadedFile(field=where.path, sha256=stored.sha256, filename=stored.filename,
                                              content_type=stored.content_type, size=stored.size, new=True,
                                              stored=stored))
            return stored.ref, stored.ref
    kept = _text_of(state, where.name)
    sha = sha_of_ref(kept)
    if sha and state.store is not None and state.store.exists(sha):
        name = safe_filename(_text_of(state, where.name + FILENAME_SUFFIX)) or f"sha256-{sha[:12]}"
        kind = CONTENT_TYPES.get(extension_of(name), "application/octet-stream")
        state.uploads.append(UploadedFile(field=where.path, sha256=sha, filename=name, content_type=kind,
                                          size=state.store.size_of(sha), new=False))
        return kept, kept
    return _EMPTY, _EMPTY


def _parse_nested(state: _Parse, prop: Mapping, hints: Mapping, where: _Where, current: Any) -> tuple[Any, Any]:
    data, values = _parse_object(state, prop, where.segs, where.names, where.hint_segs, current,
                                 hints.get("x-order"))
    return (data or _EMPTY), (values or _EMPTY)


def _row_indices(state: _Parse, name: str) -> list[int]:
    """The row numbers posted for a group, from every input named ``<name>-<i>-…``."""
    pattern = re.compile(re.escape(name) + r"-(\d{1,6})-")
    keys = list(state.form.keys()) + (list(state.files.keys()) if state.files is not None else [])
    return sorted({int(m.group(1)) for k in keys if (m := pattern.match(k))})


def _row_is_empty(state: _Parse, prefix: str) -> bool:
    for key in state.form.keys():
        if key.startswith(prefix) and any(v.strip() for v in state.form.getlist(key) if isinstance(v, str)):
            return False
    if state.files is not None:
        for key in state.files.keys():
            if key.startswith(prefix) and any(getattr(f, "filename", None) for f in state.files.getlist(key)):
                return False
    return True


def _parse_rows(state: _Parse, prop: Mapping, hints: Mapping, where: _Where, current: Any) -> tuple[Any, Any]:
    """Rows of a repeated group. Empty rows are dropped (the spare row is always posted empty);
    when "添加一项" was pressed for this group they stay in ``values``, so one more empty row shows."""
    items_schema = prop.get("items") or {}
    indices = _row_indices(state, where.name)
    removed = re.fullmatch(re.escape(where.name) + r"-(\d{1,6})", state.remove) if state.remove else None
    if removed:
        index = int(removed.group(1))
        indices = [i for i in indices if i != index]
        state.action = RowAction("remove", where.path, index)
    keep_empty = state.add == where.name and not state.remove
    if keep_empty:
        state.action = RowAction("add", where.path)
    current_rows = current if isinstance(current, list) else []
    data_rows: list = []
    value_rows: list = []
    for i in indices:
        empty = _row_is_empty(state, f"{where.name}-{i}-")
        if empty and not keep_empty:
            continue
        position = len(value_rows)
        row_current = current_rows[position] if position < len(current_rows) else {}
        data, values = _parse_object(state, items_schema, [*where.segs, str(position)], [*where.names, str(i)],
                                     where.hint_segs, row_current, items_schema.get("x-order"))
        value_rows.append(values)
        if not empty:
            data_rows.append(data)
    return (data_rows or _EMPTY), (value_rows or _EMPTY)


PARSERS: dict[str, Callable[..., tuple[Any, Any]]] = {
    "text": _parse_text, "date": _parse_text, "email": _parse_text, "textarea": _parse_text,
    "number": _parse_number_field, "select": _parse_choice, "radio": _parse_choice,
    "checkboxes": _parse_checkboxes, "lines": _parse_lines, "file": _parse_file, "object": _parse_nested,
    "array": _parse_rows,
}


def validation_errors(schema: Mapping, submission: Submission, *, form_name: str = "form") -> dict[str, str]:
    """Every problem of a submission: the schema's (the checks of ``engine.forms.validate``, said
    with the field's title by ``web.form_messages``: “请填写申报年度”) and the parser's.

    The parser's message wins on the same field ("请输入数字" rather than "请填写…").
    Empty when the data may be submitted.
    """
    errors: dict[str, str] = dict(friendly_errors(schema, submission.data))
    errors.update(submission.errors)
    return errors


# ---------------------------------------------------------------------------------------------
# Showing a completed form

def display_text(prop: Mapping, value: Any) -> str:
    """A value as a reader sees it: enumeration titles, 是/否, numbers without ``.0``."""
    if isinstance(value, list):
        items = prop.get("items") if isinstance(prop.get("items"), Mapping) else {}
        return pick("、", ", ").join(display_text(items, v) for v in value)
    for const, option in _choices_of(prop):
        if _html_value(const) == _html_value(value):
            return localized(option) or _html_value(const)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_html_value(v)}" for k, v in value.items())
    return _html_value(value)


def summarize(schema: Mapping, data: Mapping | None, *, ui: Mapping | None = None,
              file_url: FileUrl | None = None, filenames: Mapping[str, str] | None = None) -> list[Entry]:
    """The filled-in properties of a completed form, in form order, for ``render_data(entries)``.

    A file value (``sha256:<hex>``) links to ``file_url(sha256)`` and shows its name from
    ``filenames`` (sha256 -> name) when known. Empty and absent values are left out.
    """
    order = (ui or {}).get("x-order", schema.get("x-order"))
    return _summarize_object(schema, data, ui or {}, [], [], order, file_url, filenames or {})


def _summarize_object(schema: Mapping, data: Any, ui: Mapping, segs: list[str], hint_segs: list[str], order: Any,
                      file_url: FileUrl | None, filenames: Mapping[str, str]) -> list[Entry]:
    if not isinstance(data, Mapping):
        return []
    properties = schema.get("properties") or {}
    entries = []
    for key in _ordered_keys(properties, order):
        value = data.get(key)
        if value is None or value == "" or value == [] or value == {}:
            continue
        prop = properties[key]
        hints = hints_for(prop, ui, ".".join([*hint_segs, key]))
        kind = widget_kind(prop, hints)
        entry = Entry(path=".".join([*segs, key]), label=localized(prop) or key, unit=_unit(hints))
        if kind == "object":
            entry.children = _summarize_object(prop, value, ui, [*segs, key], [*hint_segs, key],
                                               hints.get("x-order"), file_url, filenames)
        elif kind == "array" and isinstance(value, list):
            items_schema = prop.get("items") or {}
            for i, row in enumerate(value):
                entry.children.append(Entry(
                    path=f"{entry.path}.{i}", label=_("第 %(n)s 项", n=i + 1),
                    children=_summarize_object(items_schema, row, ui, [*segs, key, str(i)], [*hint_segs, key],
                                               items_schema.get("x-order"), file_url, filenames)))
        elif sha_of_ref(value):
            sha = sha_of_ref(value) or ""
            entry.text = filenames.get(sha) or f"sha256:{sha[:12]}…"
            entry.url = file_url(sha) if file_url else ""
        else:
            entry.text = display_text(prop, value)
            entry.multiline = kind in ("textarea", "lines") or "\n" in entry.text
        entries.append(entry)
    return entries
