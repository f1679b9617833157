"""The content-addressed file store: dedupe, limits, magic bytes, names, no path traversal."""
from __future__ import annotations

import hashlib
import io

import pytest
from werkzeug.datastructures import FileStorage

from engine.errors import InvalidInput, NotFound
from web.uploads import CHUNK_BYTES, FileStore, safe_filename, sha_of_ref

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
ZIP = b"PK\x03\x04" + b"\x00" * 32
EMPTY_ZIP = b"PK\x05\x06" + b"\x00" * 18


@pytest.fixture
def store(tmp_path) -> FileStore:
    return FileStore(tmp_path / "uploads")


def leftovers(store: FileStore) -> list[str]:
    return [p.name for p in store.root.rglob(".upload-*")]


def test_saved_file_lives_under_its_hash(store):
    stored = store.save(io.BytesIO(PDF), "评价报告.pdf", "application/octet-stream")
    sha = hashlib.sha256(PDF).hexdigest()
    assert (stored.sha256, stored.size, stored.filename) == (sha, len(PDF), "评价报告.pdf")
    assert stored.content_type == "application/pdf"  # by extension, checked by magic, not the client's claim
    assert stored.ref == f"sha256:{sha}"
    path = store.path_of(sha)
    assert path == store.root / sha[:2] / sha[2:4] / sha and path.read_bytes() == PDF
    assert store.path_of(stored.ref) == path and store.exists(sha) and store.size_of(sha) == len(PDF)
    assert leftovers(store) == []


def test_identical_uploads_share_one_file(store):
    first = store.save(io.BytesIO(PDF), "a.pdf")
    mtime = store.path_of(first.sha256).stat().st_mtime_ns
    second = store.save(io.BytesIO(PDF), "b.PDF")
    assert second.sha256 == first.sha256 and second.filename == "b.PDF"
    assert store.path_of(first.sha256).stat().st_mtime_ns == mtime
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 1


def test_werkzeug_file_storage_is_a_stream(store):
    upload = FileStorage(io.BytesIO(PNG), filename="照片.png", content_type="image/png")
    assert store.save(upload, upload.filename, upload.mimetype).content_type == "image/png"


@pytest.mark.parametrize("content, filename", [
    (PDF, "a.pdf"), (PNG, "a.png"), (JPEG, "a.jpg"), (JPEG, "a.JPEG"), (ZIP, "a.docx"), (ZIP, "a.xlsx"),
    (ZIP, "a.ofd"), (ZIP, "a.zip"), (EMPTY_ZIP, "a.zip"),
])
def test_allowed_types_with_matching_content_are_stored(store, content, filename):
    assert store.save(io.BytesIO(content), filename).size == len(content)


@pytest.mark.parametrize("content, filename, message", [
    (b"", "a.pdf", "文件为空"),
    (PDF, "a.exe", "不支持的文件类型"),
    (PDF, "a.pdf.sh", "不支持的文件类型"),
    (PDF, "pdf", "不支持的文件类型"),
    (PDF, "", "缺少文件名"),
    (PDF, "../..", "缺少文件名"),
    (b"MZ\x90\x00" + PDF, "a.pdf", "文件内容与扩展名不符"),
    (PDF, "a.png", "文件内容与扩展名不符"),
    (PNG, "a.jpg", "文件内容与扩展名不符"),
    (PDF, "a.docx", "文件内容与扩展名不符"),
    (EMPTY_ZIP, "a.docx", "文件内容与扩展名不符"),
    (b"%PD", "a.pdf", "文件内容与扩展名不符"),
])
def test_refused_uploads_name_the_field_and_leave_nothing(store, content, filename, message):
    with pytest.raises(InvalidInput) as err:
        store.save(io.BytesIO(content), filename, field="report_file")
    assert err.value.message.startswith(message) and " / " in err.value.message
    assert err.value.fields == {"report_file": err.value.message}
    assert leftovers(store) == [] and not [p for p in store.root.rglob("*") if p.is_file()]


def test_allowed_list_can_be_narrowed(store):
    with pytest.raises(InvalidInput, match="allowed: .pdf"):
        store.save(io.BytesIO(PNG), "a.png", allowed=[".pdf"])
    assert store.save(io.BytesIO(PNG), "a.png", allowed=["PNG"]).size == len(PNG)


def test_too_large_file_reports_its_size_and_the_limit(store):
    content = b"%PDF" + b"0" * (3 * 1024 * 1024)
    with pytest.raises(InvalidInput) as err:
        store.save(io.BytesIO(content), "big.pdf", max_bytes=2 * 1024 * 1024, field="f")
    assert err.value.message == "文件过大 / file too large: 3 MiB, the limit is 2 MiB"
    assert leftovers(store) == []


class Trickle:
    """A stream that cannot seek and fails if asked for everything at once."""

    def __init__(self, content: bytes):
        self.buffer = io.BytesIO(content)
        self.reads = 0

    def read(self, n: int = -1) -> bytes:
        assert 0 < n <= CHUNK_BYTES, "read without a bound"
        self.reads += 1
        return self.buffer.read(min(n, 1000))  # short reads, as a socket gives


def test_upload_is_streamed_in_bounded_chunks_and_stops_at_the_limit(store):
    stream = Trickle(b"%PDF" + b"0" * 50_000)
    stored = store.save(stream, "a.pdf")
    assert stored.size == 50_004 and stream.reads > 10
    big = Trickle(b"%PDF" + b"0" * 200_000)
    with pytest.raises(InvalidInput, match=r"file too large: > 0\.1 MiB, the limit is 0\.1 MiB"):
        store.save(big, "a.pdf", max_bytes=100_000)
    assert big.buffer.tell() < 110_000  # stopped reading soon after the limit


@pytest.mark.parametrize("given, kept", [
    ("C:\\Users\\张三\\Desktop\\报告.pdf", "报告.pdf"),
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("/tmp/x/a.pdf", "a.pdf"),
    ("报\x00告\r\n\u202e.pdf", "报告.pdf"),
    ("  spaced name.pdf  ", "spaced name.pdf"),
    ("..", ""),
    (None, ""),
])
def test_only_a_clean_basename_is_kept(given, kept):
    assert safe_filename(given) == kept


def test_long_names_are_cut_to_255_keeping_the_extension():
    name = safe_filename("名" * 300 + ".pdf")
    assert len(name) == 255 and name.endswith(".pdf")


@pytest.mark.parametrize("ref", [
    "../../../etc/passwd", "ab/cd/" + "a" * 60, "A" * 64, "a" * 63, "a" * 65, "g" * 64, "", "sha256:",
    "sha256:" + "a" * 63, "a" * 64 + "\n", "/" + "a" * 63,
])
def test_path_of_refuses_anything_but_a_hex_digest(store, ref):
    with pytest.raises(InvalidInput):
        store.path_of(ref)
    assert not store.exists(ref)


def test_path_of_a_missing_file_is_not_found(store):
    with pytest.raises(NotFound):
        store.path_of("a" * 64)


def test_sha_of_ref():
    assert sha_of_ref("sha256:" + "a" * 64) == "a" * 64
    assert sha_of_ref("a" * 64) is None and sha_of_ref("report.pdf") is None and sha_of_ref(None) is None


# --- staging: nothing is stored under its hash before its record exists -------------------------

def test_a_staged_upload_is_stored_only_when_committed(store):
    staged = store.stage(io.BytesIO(PDF), "a.pdf", field="report_file")
    assert staged.staged is not None and staged.staged.name.startswith(".upload-")
    assert not store.exists(staged.sha256)
    committed = store.commit(staged)
    assert committed.staged is None and store.path_of(staged.sha256).read_bytes() == PDF
    assert leftovers(store) == [] and store.commit(committed) == committed


def test_a_discarded_upload_leaves_nothing_and_never_touches_a_stored_copy(store):
    kept = store.save(io.BytesIO(PDF), "a.pdf")
    again = store.stage(io.BytesIO(PDF), "b.pdf")
    store.discard(again)
    assert leftovers(store) == [] and store.exists(kept.sha256)
    twin = store.commit(store.stage(io.BytesIO(PDF), "c.pdf"))  # an identical file already in place
    assert twin.sha256 == kept.sha256 and leftovers(store) == []
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 1


def test_sweep_candidates_are_old_temporaries_and_old_stored_files(store):
    import os
    import time

    old, fresh = store.save(io.BytesIO(PDF), "a.pdf"), store.save(io.BytesIO(PNG), "b.png")
    temp = store.stage(io.BytesIO(JPEG), "c.jpg").staged
    past = time.time() - 7200
    for path in (store.path_of(old.sha256), temp):
        os.utime(path, (past, past))
    assert store.sweep_candidates(3600) == ([temp], [old.sha256])
    assert fresh.sha256 not in store.sweep_candidates(3600)[1]


def test_a_file_hidden_by_an_interrupted_sweep_is_put_back(store):
    stored = store.save(io.BytesIO(PDF), "a.pdf")
    hidden = store.root / f".sweep-{stored.sha256}-0000"
    store.path_of(stored.sha256).rename(hidden)
    assert not store.exists(stored.sha256)
    store.sweep_candidates(3600)
    assert store.exists(stored.sha256) and not hidden.exists()
