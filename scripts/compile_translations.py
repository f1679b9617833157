"""Merge web/translations/<lang>/*.po into one catalog and compile it to LC_MESSAGES/messages.mo.

Each area of the UI keeps its own .po file so that changes to one area never conflict with
another; a message id defined twice with different translations is an error.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent / "web" / "translations"


def compile_language(folder: Path) -> int:
    merged = Catalog(locale=folder.name, domain="messages")
    origin: dict[str, str] = {}
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale=folder.name):
                if not message.id or not message.string:
                    continue
                existing = merged.get(message.id)
                if existing is not None and existing.string != message.string:
                    raise SystemExit(f"{po.name}: {message.id!r} is translated differently in {origin[message.id]}")
                merged.add(message.id, message.string)
                origin.setdefault(message.id, po.name)
    target = folder / "LC_MESSAGES" / "messages.mo"
    target.parent.mkdir(exist_ok=True)
    with target.open("wb") as fh:
        write_mo(fh, merged)
    return len(merged)


def main() -> None:
    for folder in sorted(p for p in ROOT.iterdir() if p.is_dir()):
        count = compile_language(folder)
        print(f"translations: {folder.name} {count} messages", file=sys.stderr)


if __name__ == "__main__":
    main()
