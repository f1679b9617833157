"""Tables officials exchange as files: CSV or XLSX in, XLSX out, with a documented column layout.

Used by the credit-record import (``handlers.credit_records``, 第二十七条) and the national
platform interchange (``handlers.interchange``, 第八条).  A layout is a tuple of ``Column``s; a
file's first non-empty row names its columns, by the Chinese label or the English key.  Reading
never raises for the file's content: every problem is a ``RowError`` (``row`` None for the
file itself), so an import can show them all at once and write nothing.

CSV: UTF-8 (with or without BOM) or GB18030, the encoding Excel uses for 中文 CSV.  XLSX: the
first worksheet; date cells become dates.  A file is bounded (``MAX_BYTES``, rows, and the
unpacked size of an XLSX) before anything is parsed.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "RowError", "Table", "FORMATS", "MAX_BYTES", "file_format", "read_table", "write_xlsx"]

FORMATS = ("csv", "xlsx")
MAX_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
Cell = str | dt.date | None


@dataclass(frozen=True)
class Column:
    key: str  # English key, also accepted as a header
    zh: str  # the Chinese header officials use
    required: bool = True
    help_zh: str = ""
    help_en: str = ""


@dataclass(frozen=True)
class RowError:
    row: int | None  # the spreadsheet row (header = 1); None: the whole file
    column: str | None  # a Column.key
    message: str  # Chinese / English

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Table:
    rows: list[tuple[int, dict[str, Cell]]]  # (row number, {column key: value}), empty rows left out
    errors: list[RowError]


def file_format(filename: str) -> str | None:
    """``csv`` / ``xlsx`` from the file name, or None."""
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    return ext if ext in FORMATS else None


def _cell(value: Any) -> Cell:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        yield from csv.reader(io.StringIO(text, newline=""))
        return
    raise ValueError("文件不是 UTF-8 或 GB18030 编码的 CSV / the CSV is neither UTF-8 nor GB18030")


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise ValueError("XLSX 解压后过大 / the XLSX unpacks too large")
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"无法读取 XLSX 文件 / not a readable XLSX file ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def _header_map(header: Sequence[Cell], columns: Sequence[Column]) -> tuple[dict[int, str], list[RowError]]:
    names = {c.zh: c.key for c in columns} | {c.key.lower(): c.key for c in columns}
    found: dict[int, str] = {}
    errors = []
    for index, cell in enumerate(header):
        if cell is None:
            continue
        text = str(cell).strip()
        key = names.get(text) or names.get(text.lower())
        if key is None:
            errors.append(RowError(1, None, f"未知的列“{text}” / unknown column {text!r}"))
        elif key in found.values():
            errors.append(RowError(1, key, f"列“{text}”重复 / column {text!r} appears twice"))
        else:
            found[index] = key
    for column in columns:
        if column.required and column.key not in found.values():
            errors.append(RowError(1, column.key, f"缺少必填列“{column.zh}”（{column.key}）/ missing column {column.key}"))
    return found, errors


def read_table(data: bytes, filename: str, columns: Sequence[Column], *, max_rows: int) -> Table:
    """The rows of a CSV or XLSX file in the layout ``columns``, and every problem found.

    The header is the first non-empty row (row numbers count it as in a spreadsheet); data rows
    without any value are left out.  Never raises for the file's content.
    """
    fmt = file_format(filename)
    if fmt is None:
        return Table([], [RowError(None, None, "文件应为 .csv 或 .xlsx / the file must be .csv or .xlsx")])
    if len(data) > MAX_BYTES:
        return Table([], [RowError(None, None, f"文件超过 {MAX_BYTES // (1024 * 1024)} MiB / the file is too large")])
    rows: list[tuple[int, dict[str, Cell]]] = []
    header: dict[int, str] | None = None
    try:
        source = _csv_rows(data) if fmt == "csv" else _xlsx_rows(data)
        for number, raw in enumerate(source, start=1):
            cells = [_cell(value) for value in raw]
            if header is None:
                if not any(cell is not None for cell in cells):
                    continue
                header, errors = _header_map(cells, columns)
                if errors:
                    return Table([], errors)
                continue
            if not any(cell is not None for cell in cells):
                continue
            if len(rows) >= max_rows:
                return Table([], [RowError(None, None, f"超过 {max_rows} 行，请分文件导入 / more than {max_rows} rows")])
            extra = [c for i, c in enumerate(cells) if c is not None and i not in header]
            if extra:
                return Table([], [RowError(number, None, "该行有表头之外的值 / values outside the named columns")])
            rows.append((number, {key: cells[i] if i < len(cells) else None for i, key in header.items()}))
    except (ValueError, csv.Error) as exc:
        return Table([], [RowError(None, None, str(exc))])
    if header is None:
        return Table([], [RowError(None, None, "文件没有表头行 / the file has no header row")])
    if not rows:
        return Table([], [RowError(None, None, "文件没有数据行 / the file has no data rows")])
    return Table(rows, [])


def write_xlsx(sheets: Iterable[tuple[str, Sequence[Column], Iterable[Sequence[Any]]]]) -> bytes:
    """An XLSX workbook: one sheet per ``(title, columns, rows)``, the Chinese labels as its header row."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        sheet.append([c.zh for c in columns])
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
