"""The boundary: a request carrying text that is not valid Unicode text is refused with 400 first.

One check for every request, before any view (``init_app``, called by ``web.errors.register``):

- the URL path, percent-decoded: valid UTF-8, no control character (``engine.text``, names);
- the query string: every parameter name and value, percent-decoded, valid UTF-8 text;
- a JSON body (``application/json``, ``…+json``): UTF-8, well-formed, no ``NaN`` or number
  beyond a float (else 400 ``bad_request``), and every key and value at any depth valid text —
  JSON escapes such as ``"\\ud800"`` decode to lone surrogates, which are refused;
- a form body (pages only: the API reads JSON and refuses forms with 415 unread): every
  url-encoded or multipart field valid UTF-8 text, and every uploaded file name a valid name
  (no control character, no U+FFFD). Werkzeug would silently replace bytes that are not UTF-8,
  keep bad percent-escapes as text, or drop the whole form; ``StrictFormDataParser`` refuses.

"Valid text" is ``engine.text.text_problem``: no lone surrogate, no C0 control character but
tab, line feed and carriage return. The refusal is ``InvalidText`` (400, ``invalid_text``),
naming the field or parameter with its refused characters escaped, so the answer itself can
always be encoded. Nothing behind the boundary sees such a request.
"""
from __future__ import annotations

import io
import json
import math
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from werkzeug.datastructures import Headers, MultiDict
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.http import parse_options_header

from engine import text
from engine.errors import EngineError, InvalidText

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
API_PREFIX = "/api/"


class MalformedJson(EngineError):
    """The body says it is JSON but is not (same code as the API's own check)."""

    code = "bad_request"
    http_status = 400


def _decode(raw: bytes, what: str, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidText(f"{what} {name} is not valid UTF-8 text", field=name) from None


def check_pairs(raw: bytes, what: str) -> None:
    """Url-encoded ``name=value&…`` (a query string or a form body): each part valid UTF-8 text."""
    for piece in raw.split(b"&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition(b"=")
        name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
        shown = text.printable(name_bytes.decode("utf-8", "backslashreplace"))
        name = _decode(name_bytes, what, shown)
        value = _decode(unquote_to_bytes(raw_value.replace(b"+", b" ")), what, shown)
        for part, suffix in ((name, " (its name)"), (value, "")):
            problem = text.text_problem(part)
            if problem:
                raise InvalidText(f"{what} {shown}{suffix} {problem}", field=shown)


class StrictMultiPartParser(MultiPartParser):
    """Werkzeug's parser, but a field that is not valid text in its charset is refused, not replaced.

    Werkzeug decodes each field with ``errors="replace"``; here it decodes them as Latin-1
    (lossless) and ``parse`` decodes the bytes again, strictly, in the charset the part declared.
    """

    def get_part_charset(self, headers: Headers) -> str:
        name = parse_options_header(headers.get("content-disposition"))[1].get("name", "")
        self._declared.setdefault(name, []).append(super().get_part_charset(headers))
        return "latin-1"

    def parse(self, stream: IO[bytes], boundary: bytes, content_length: int | None
              ) -> tuple[MultiDict[str, str], MultiDict[str, Any]]:
        self._declared: dict[str, list[str]] = {}
        fields, files = super().parse(stream, boundary, content_length)
        decoded: list[tuple[str, str]] = []
        for name in fields.keys():
            for value, charset in zip(fields.getlist(name), self._declared.get(name, [])):
                try:
                    decoded.append((name, value.encode("latin-1").decode(charset)))
                except UnicodeDecodeError:
                    shown = text.printable(name)
                    raise InvalidText(f"form field {shown} is not valid UTF-8 text", field=shown) from None
        return self.cls(decoded), files


class StrictFormDataParser(FormDataParser):
    """Form parsing that refuses bytes that are not UTF-8 instead of replacing or dropping them."""

    def _parse_multipart(self, stream: IO[bytes], mimetype: str, content_length: int | None,
                         options: dict[str, str]):
        parser = StrictMultiPartParser(stream_factory=self.stream_factory, max_form_parts=self.max_form_parts,
                                       max_form_memory_size=self.max_form_memory_size, cls=self.cls)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        try:
            form, files = parser.parse(stream, boundary, content_length)
        except UnicodeDecodeError:  # a part's headers: its field name or file name
            raise InvalidText("a form part's name or file name is not valid UTF-8 text", field="body") from None
        return stream, form, files

    def _parse_urlencoded(self, stream: IO[bytes], mimetype: str, content_length: int | None,
                          options: dict[str, str]):
        raw = stream.read()
        check_pairs(raw, "form field")
        return super()._parse_urlencoded(io.BytesIO(raw), mimetype, content_length, options)


def check_path() -> None:
    raw = request.environ.get("PATH_INFO", "").encode("latin-1", "replace")
    path = _decode(raw, "the URL", "path")
    problem = text.text_problem(path, name=True)
    if problem:
        raise InvalidText(f"the URL path {problem}", field="path")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    """A JSON number as a float; numbers too large for one (1e400) are refused, not turned into inf."""
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"{literal} is out of range")
    return value


def strict_json(raw: bytes) -> Any:
    """UTF-8 JSON without NaN/Infinity or numbers beyond a float; ValueError or RecursionError otherwise."""
    return json.loads(raw.decode("utf-8-sig"), parse_constant=_reject_constant, parse_float=_finite_float)


def check_json_body() -> None:
    """UTF-8 (RFC 8259), well-formed JSON (no NaN, no number beyond a float), every string valid text."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return
    try:
        value = strict_json(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedJson(f"the body is not valid JSON: {text.safe(str(exc))[:200]}",
                            fields={"body": "not valid JSON"}) from None
    text.check(value)  # names the first bad key or value by its path, e.g. data.opinion


def check_form_body() -> None:
    for name, values in request.form.lists():  # parsing refuses what is not UTF-8 (StrictFormDataParser)
        for value in (name, *values):
            problem = text.text_problem(value)
            if problem:
                shown = text.printable(name)
                raise InvalidText(f"form field {shown} {problem}", field=shown)
    for name, upload in request.files.items(multi=True):
        shown = text.printable(name)
        problem = text.text_problem(name) or text.text_problem(upload.filename or "", name=True)
        if problem:
            raise InvalidText(f"the file name in {shown} {problem}", field=shown)


def guard() -> None:
    """The before-request check (see the module docstring)."""
    check_path()
    check_pairs(request.query_string, "query parameter")
    if request.is_json:
        check_json_body()
    elif request.mimetype in FORM_TYPES and not request.path.startswith(API_PREFIX):
        check_form_body()  # the API reads JSON only: a form body there is never parsed (415)


def init_app(app: Flask) -> None:
    """Parse forms strictly and check every request before its view."""
    app.request_class = type("GuardedRequest", (app.request_class,), {"form_data_parser_class": StrictFormDataParser})
    app.before_request(guard)
