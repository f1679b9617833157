"""Uploaded files, stored content-addressed by SHA-256 outside the web root.

A file lives at ``<root>/ab/cd/<sha256>``: identical uploads share one copy, a stored file never
changes, and a form value ``"sha256:<hex>"`` names it for good. It refuses empty files, files over
the size limit, extensions not on the list and files whose first bytes say they are something else
than their extension claims (a renamed executable is not a PDF).

A file is kept only once a database record points to it. ``FileStore.stage`` streams an upload in
chunks (memory stays bounded whatever the client sends) into a temporary file ``<root>/.upload-…``
and leaves it there; the caller writes its record (an attachment), then calls ``commit``, which
renames the file into place (a reader never sees half a file), or calls ``discard`` when the form
was refused or anything failed. ``save`` is both at once, for callers whose record already exists.

``sweep_candidates`` and ``remove_unless`` let ``web.upload_sweep`` remove what no record points to:
temporaries left by a crash and stored files nobody references, both only once older than a grace
period. A stored file is first hidden (renamed), then the database is asked again, then it is
deleted or put back: a record committed before its file was committed is always seen, so a file
that several records share is never deleted under one of them.

The store knows nothing about instances or permissions: the caller records who uploaded what
(``engine.models.Attachment``) and checks access before serving ``path_of(sha256)``.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from engine.errors import InvalidInput, NotFound

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MiB
DEFAULT_ALLOWED = (".pdf", ".jpg", ".jpeg", ".png", ".docx", ".xlsx", ".ofd", ".zip")
CHUNK_BYTES = 64 * 1024
MAX_FILENAME = 255
TEMP_PREFIX = ".upload-"  # an upload being received, or staged until its record is committed
HIDDEN_PREFIX = ".sweep-"  # a stored file the sweep is about to delete: ".sweep-<sha256>-<random>"

_SHA256 = re.compile(r"[0-9a-f]{64}")
FILE_REF = re.compile(r"sha256:([0-9a-f]{64})")

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with entries, an empty zip
# Extension -> accepted leading bytes. OFD (GB/T 33190) and the Office formats are zip containers.
MAGIC: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
    ".ofd": (b"PK\x03\x04",),
    ".zip": _ZIP,
}
# Extension -> the content type we serve it with; the client's claim is only a fallback.
CONTENT_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".ofd": "application/ofd",
    ".zip": "application/zip",
}
_HEAD_BYTES = max(len(m) for magics in MAGIC.values() for m in magics)


@dataclass(frozen=True)
class StoredFile:
    """A file now in the store: its hash names it, the rest describes this upload of it."""

    sha256: str
    size: int
    filename: str
    content_type: str
    # Where the bytes wait until ``commit`` (None once committed, or for a file already in place).
    staged: Path | None = field(default=None, compare=False)

    @property
    def ref(self) -> str:
        """The form value naming this file: ``sha256:<hex>``."""
        return f"sha256:{self.sha256}"


def sha_of_ref(value: object) -> str | None:
    """The hex digest in a form value ``"sha256:<hex>"``, or None if ``value`` is not one."""
    if isinstance(value, str):
        match = FILE_REF.fullmatch(value)
        if match:
            return match.group(1)
    return None


def safe_filename(filename: str | None) -> str:
    """The basename of a client-supplied name without control characters, at most 255 characters.

    Browsers on Windows used to send full paths (``C:\\Users\\…\\报告.pdf``), so both separators
    count. Returns ``""`` when nothing usable is left.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    name = name.strip()
    if set(name) <= {"."}:  # "", ".", ".."
        return ""
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = stem[: MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME]
    return name


def extension_of(filename: str) -> str:
    """The lower-case extension with its dot (``".pdf"``), or ``""``."""
    _, dot, ext = filename.rpartition(".")
    return f".{ext.lower()}" if dot and ext else ""


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.is_file() and path.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _mib(size: int) -> str:
    return f"{size / MiB:.1f}".removesuffix(".0") + " MiB"


class FileStore:
    """Content-addressed files under ``root`` (``config.Settings.upload_dir``)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def save(self, stream: BinaryIO, filename: str | None, content_type: str | None = None, *,
             max_bytes: int = DEFAULT_MAX_BYTES, allowed: Iterable[str] = DEFAULT_ALLOWED,
             field: str | None = None) -> StoredFile:
        """Stage and commit at once: for a file whose record already exists (raises like ``stage``)."""
        return self.commit(self.stage(stream, filename, content_type, max_bytes=max_bytes, allowed=allowed,
                                      field=field))

    def stage(self, stream: BinaryIO, filename: str | None, content_type: str | None = None, *,
              max_bytes: int = DEFAULT_MAX_BYTES, allowed: Iterable[str] = DEFAULT_ALLOWED,
              field: str | None = None) -> StoredFile:
        """Receive the bytes of ``stream`` into a temporary file and describe them (``staged``).

        Nothing is stored under its hash until ``commit``; ``discard`` removes the temporary.
        ``stream`` is anything with ``read(n)`` (a Werkzeug ``FileStorage`` works). ``field`` names
        the form field in the errors. Raises InvalidInput for an empty or unnamed file, a file over
        ``max_bytes``, an extension not in ``allowed`` and content that contradicts the extension,
        and then leaves nothing behind.
        """
        name = safe_filename(filename)
        if not name:
            raise InvalidInput("缺少文件名 / the file has no name", field=field)
        ext = extension_of(name)
        allowed_exts = tuple(a.lower() if a.startswith(".") else f".{a.lower()}" for a in allowed)
        if ext not in allowed_exts:
            raise InvalidInput(f"不支持的文件类型 / file type not allowed: {ext or name}, "
                               f"allowed: {' '.join(allowed_exts)}", field=field)
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_BYTES):
                    size += len(chunk)
                    if size > max_bytes:
                        raise InvalidInput(f"文件过大 / file too large: {self._size_text(stream, size)}, "
                                           f"the limit is {_mib(max_bytes)}", field=field)
                    if len(head) < _HEAD_BYTES:
                        head += chunk[: _HEAD_BYTES - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise InvalidInput(f"文件为空 / empty file: {name}", field=field)
            magics = MAGIC.get(ext)
            if magics and not head.startswith(magics):
                raise InvalidInput(f"文件内容与扩展名不符 / the content of {name} is not a {ext} file",
                                   field=field)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        kind = CONTENT_TYPES.get(ext) or (content_type or "").strip()[:120] or "application/octet-stream"
        return StoredFile(sha256=digest.hexdigest(), size=size, filename=name, content_type=kind, staged=tmp)

    def commit(self, stored: StoredFile) -> StoredFile:
        """Put a staged file in place under its hash (call it once its record is committed).

        An identical file already in place is kept as it is (a sweep that hid it meanwhile sees the
        record and puts it back); the temporary is removed.
        """
        if stored.staged is None:
            return stored
        target = self._path(stored.sha256)
        if target.exists():
            stored.staged.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(stored.staged, target)  # atomic; a concurrent identical upload writes the same bytes
        return replace(stored, staged=None)

    def discard(self, stored: StoredFile) -> None:
        """Remove a staged file that no record will point to (its form was refused, or failed)."""
        if stored.staged is not None:
            stored.staged.unlink(missing_ok=True)

    def path_of(self, sha256: str) -> Path:
        """The path of a stored file, given its hex digest or a ``sha256:<hex>`` reference.

        Raises InvalidInput for anything but 64 lower-case hex characters (so no path can be
        smuggled in) and NotFound when no such file is stored.
        """
        sha = sha256.removeprefix("sha256:") if isinstance(sha256, str) else ""
        if not _SHA256.fullmatch(sha):
            raise InvalidInput("文件标识无效 / not a sha256 file reference", field="sha256")
        path = self._path(sha)
        if not path.is_file():
            raise NotFound(f"文件不存在 / no such file: sha256:{sha}")
        return path

    def exists(self, sha256: str) -> bool:
        """True if a file with this hex digest (or ``sha256:<hex>`` reference) is stored."""
        sha = sha256.removeprefix("sha256:") if isinstance(sha256, str) else ""
        return bool(_SHA256.fullmatch(sha)) and self._path(sha).is_file()

    def size_of(self, sha256: str) -> int:
        """The size in bytes of a stored file; raises like ``path_of``."""
        return self.path_of(sha256).stat().st_size

    def _path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha[2:4] / sha

    # --- the sweep (``web.upload_sweep``) ----------------------------------------------------

    def sweep_candidates(self, older_than_seconds: float, *, now: float | None = None
                         ) -> tuple[list[Path], list[str]]:
        """Temporaries and stored files (by hash) not modified for ``older_than_seconds``.

        Files a sweep hid and did not finish with count as stored files again.
        """
        if not self.root.is_dir():
            return [], []
        cutoff = (time.time() if now is None else now) - older_than_seconds
        temporaries = [path for path in self.root.glob(TEMP_PREFIX + "*") if _older(path, cutoff)]
        for hidden in self.root.glob(HIDDEN_PREFIX + "*"):  # an interrupted sweep: put it back first
            sha = hidden.name.removeprefix(HIDDEN_PREFIX)[:64]
            if _SHA256.fullmatch(sha):
                self._restore(hidden, sha)
        stored = [path.name for path in self.root.glob("??/??/*")
                  if _SHA256.fullmatch(path.name) and path.parent.parent.name == path.name[:2]
                  and path.parent.name == path.name[2:4] and _older(path, cutoff)]
        return temporaries, sorted(stored)

    def remove_unless(self, sha256: str, referenced: Callable[[str], bool]) -> int | None:
        """Delete a stored file unless ``referenced(sha256)`` says a record points to it; bytes freed or None.

        The file is hidden first and ``referenced`` asked afterwards: a record committed before the
        file was (re)committed is seen, and then the file is put back.
        """
        target = self._path(sha256)
        hidden = self.root / f"{HIDDEN_PREFIX}{sha256}-{os.urandom(4).hex()}"
        try:
            size = target.stat().st_size
            os.replace(target, hidden)
        except FileNotFoundError:
            return None
        try:
            keep = referenced(sha256)
        except BaseException:
            self._restore(hidden, sha256)
            raise
        if keep:
            self._restore(hidden, sha256)
            return None
        hidden.unlink(missing_ok=True)
        return size

    def _restore(self, hidden: Path, sha: str) -> None:
        target = self._path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(hidden, target)  # the same bytes as any copy committed meanwhile
        except FileNotFoundError:  # a concurrent sweep put it back already
            pass

    @staticmethod
    def _size_text(stream: BinaryIO, seen: int) -> str:
        """The full size if the stream can tell it without reading on, else "more than" what was read."""
        try:
            here = stream.tell()
            stream.seek(0, os.SEEK_END)
            end = stream.tell()
            stream.seek(here)
            return _mib(max(end, seen))
        except (AttributeError, OSError, ValueError):
            return f"> {_mib(seen)}"
