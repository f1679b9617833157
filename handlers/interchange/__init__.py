"""Interchange with MIIT's 工业节能与绿色发展管理平台 (第八条): exports of units and listings, and
MIIT's published national list imported to update the national listings (docs/interchange.md)."""
from __future__ import annotations

from handlers.interchange.export import (
    FORMAT, FORMAT_VERSION, LISTING_COLUMNS, UNIT_COLUMNS, export_document, export_xlsx,
)
from handlers.interchange.national_list import (
    COLUMNS as NATIONAL_LIST_COLUMNS, NationalListImport, import_national_list, national_imports,
    plan_national_list, preview_national_list,
)

__all__ = [
    "FORMAT", "FORMAT_VERSION", "UNIT_COLUMNS", "LISTING_COLUMNS", "export_document", "export_xlsx",
    "NATIONAL_LIST_COLUMNS", "NationalListImport", "plan_national_list", "preview_national_list",
    "import_national_list", "national_imports",
]
