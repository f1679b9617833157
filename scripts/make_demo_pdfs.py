"""Write the demo's PDF files (handlers/demo_files/*.pdf): small, real, Chinese PDFs.

The demo applications name an evaluation report (评价报告) and the national recommendation a
recommendation document; ``greenflow demo`` stores these files and attaches them, so officials
can open what they review. Run again only to change them:

    .venv/bin/python scripts/make_demo_pdfs.py

The PDFs are written by hand here (PDF 1.4, one object per line, a correct cross-reference
table): A4 pages of text in the standard Chinese font STSong-Light (Adobe-GB1, not embedded;
every PDF reader maps it to a Song typeface), so no PDF library is needed.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.demo import LISTED_UNITS, UNITS, demo_file_name  # noqa: E402

OUT = ROOT / "handlers" / "demo_files"
PAGE_W, PAGE_H = 595, 842  # A4 in points


def _hex(text: str) -> str:
    """A PDF hex string in UCS-2 big-endian (the UniGB-UCS2-H encoding)."""
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def _wrap(size: int, text: str, width: float = PAGE_W - 128) -> list[tuple[int, str]]:
    """Break ``text`` into lines that fit ``width`` (Chinese characters are square, ASCII half as wide)."""
    lines, line, used = [], "", 0.0
    for char in text:
        advance = size / 2 if char.isascii() else size
        if used + advance > width and line:
            lines.append((size, line))
            line, used = "", 0.0
        line += char
        used += advance
    return lines + [(size, line)]


def _content(lines: list[tuple[int, str]]) -> bytes:
    """Page content: each line at its size, top to bottom, left margin 64 pt."""
    ops = ["BT", "/F1 12 Tf", f"64 {PAGE_H - 90} Td"]
    previous = 12
    lines = [piece for size, text in lines for piece in _wrap(size, text)]
    for size, text in lines:
        ops.append(f"0 -{round(max(size, previous) * 1.7)} Td")
        ops.append(f"/F1 {size} Tf")
        ops.append(f"{_hex(text)} Tj")
        previous = size
    ops.append("ET")
    return "\n".join(ops).encode("ascii")


def pdf(title: str, lines: list[tuple[int, str]]) -> bytes:
    """A one-page PDF showing ``lines`` ((font size, text), Chinese allowed), with ``title`` as its title."""
    content = _content(lines)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] "
         f"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>").encode("ascii"),
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
        b"/FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
        f"<< /Title <FEFF{_hex(title)[1:]} /Producer (greenflow demo) >>".encode("ascii"),  # text string: BOM
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, len(objects), xref))
    return bytes(out)


def report(unit) -> bytes:
    return pdf(f"{unit.name}绿色工厂自评价报告", [
        (20, "绿色工厂自评价报告"),
        (12, "（演示数据，内容为虚构）"),
        (13, f"申报单位：{unit.name}"),
        (13, f"统一社会信用代码：{unit.credit_code}"),
        (13, "评价依据：GB/T 36132-2018《绿色工厂评价通则》、《贵州省绿色制造梯度培育及管理实施细则》"),
        (13, "一、基本要求：依法设立，近三年无较大及以上安全、环保、质量事故。"),
        (13, "二、基础设施：建筑、照明、计量设备满足节能要求，计量器具配备率100%。"),
        (13, "三、管理体系：已建立质量、环境、职业健康安全管理体系。"),
        (13, "四、能源资源投入：单位产品综合能耗低于行业平均水平。"),
        (13, "五、产品：开展产品生态设计，有害物质使用符合要求。"),
        (13, "六、环境排放：污染物排放满足国家及地方排放标准。"),
        (13, "七、绩效：用地集约化、原料无害化、生产洁净化、废物资源化、能源低碳化。"),
        (13, "自评价结论：综合得分86分，达到绿色工厂评价要求。"),
        (12, "Green factory self-evaluation report (demo data, fictitious)."),
    ])


def recommendation() -> bytes:
    return pdf("关于推荐国家级绿色工厂的函", [
        (20, "关于推荐国家级绿色工厂的函"),
        (12, "（演示数据，内容为虚构）"),
        (13, "工业和信息化部节能与综合利用司："),
        (13, "根据绿色制造梯度培育工作安排，经组织评审、公示，现推荐以下单位为国家级绿色工厂："),
        (13, f"{LISTED_UNITS[4].name}（统一社会信用代码 {LISTED_UNITS[4].credit_code}）"),
        (13, "贵州省工业和信息化厅"),
        (12, "Recommendation to the national list (demo data, fictitious)."),
    ])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for unit in UNITS:
        (OUT / demo_file_name(unit)).write_bytes(report(unit))
    (OUT / "推荐文件.pdf").write_bytes(recommendation())
    print(f"wrote {len(UNITS) + 1} PDF files to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
