"""Document checks by content: real files of every accepted type, executables renamed, archives, broken
files and zip bombs posing as DOCX. The ``make_*`` builders are shared with tests/flows/test_documents.py.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile
import zlib
from pathlib import Path

import pytest

from actions.doccheck import MIMES, Verdict, ZipLimits, check_bytes, check_path

# ------------------------------------------------------------------ real files


def make_pdf(text: str = "Degree certificate") -> bytes:
    """A one-page PDF with a text line: header, objects, a correct xref table, trailer, %%EOF."""
    content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_image(fmt: str = "JPEG", label: str = "ID", size: tuple[int, int] = (640, 400)) -> bytes:
    """A photo-like image drawn with Pillow (the venv's image library), saved as JPEG or PNG."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, (235, 240, 250))
    draw = ImageDraw.Draw(img)
    seed = sum(label.encode())
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=(seed % 255, 40, 90), width=6)
    draw.text((60, 60), label, fill=(10, 10, 10))
    for i in range(0, size[0], 37):
        draw.line((i, 0, (i * seed) % size[0], size[1]), fill=(i % 255, seed % 255, 120))
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=90) if fmt == "JPEG" else img.save(buf, format=fmt)
    return buf.getvalue()


def make_heic() -> bytes:
    """The start of an iPhone HEIC: an ``ftyp`` box (heic, compatible mif1) and a meta box, then data."""
    ftyp = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    meta = struct.pack(">I", 12) + b"meta" + b"\x00\x00\x00\x00"
    payload = os.urandom(4096)
    mdat = struct.pack(">I", 8 + len(payload)) + b"mdat" + payload
    return ftyp + meta + mdat


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="png" ContentType="image/png"/>'
    '<Override PartName="/word/document.xml" ContentType="{main}"/>'
    "</Types>"
)
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)


def make_docx(
    text: str = "Curriculum Vitae", *, extra: dict[str, bytes] | None = None, main: str = WORD_MAIN
) -> bytes:
    """A minimal Word document built with zipfile, as Word writes one (deflated XML parts)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES.replace("{main}", main))
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("word/document.xml", body)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_zip_bomb_docx(mb: int = 100) -> bytes:
    """A DOCX (right parts, right content types) with a member of ``mb`` MB of zeros: ~1000:1."""
    buf = io.BytesIO(make_docx())
    with (
        zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("word/media/image1.png", "w", force_zip64=True) as m,
    ):
        chunk = bytes(2**20)
        for _ in range(mb):
            m.write(chunk)
    return buf.getvalue()


def make_elf() -> bytes:
    return Path("/bin/true").read_bytes()  # a real ELF executable


def make_pe() -> bytes:
    """A Windows PE header: DOS stub ("MZ", e_lfanew) and the PE signature with a COFF header."""
    dos = bytearray(b"MZ" + bytes(0x3A) + struct.pack("<I", 0x80))
    dos += b"This program cannot be run in DOS mode.\r\n$".ljust(0x80 - len(dos), b"\x00")
    coff = b"PE\x00\x00" + struct.pack("<HHIIIHH", 0x8664, 1, 0, 0, 0, 0xF0, 0x22)
    return bytes(dos) + coff + bytes(512)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _patch_central(data: bytes, name: str, offset: int, value: bytes) -> bytes:
    """Overwrite a field of ``name``'s central directory entry (and the same field of its local
    header, when ``offset`` is a size field the two share)."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        n = struct.unpack("<H", out[pos + 28 : pos + 30])[0]
        if out[pos + 46 : pos + 46 + n] == name.encode():
            out[pos + offset : pos + offset + len(value)] = value
            if offset == 24:  # uncompressed size: also in the local header (offset 22)
                local = struct.unpack("<I", out[pos + 42 : pos + 46])[0]
                out[local + 22 : local + 26] = value
            return bytes(out)
        pos = out.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)


# ------------------------------------------------------------------ accepted


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (make_pdf, "pdf"),
        (lambda: make_image("JPEG"), "jpeg"),
        (lambda: make_image("PNG"), "png"),
        (make_heic, "heic"),
        (make_docx, "docx"),
        (lambda: make_docx(extra={"word/media/image1.png": make_image("PNG")}), "docx"),
    ],
)
def test_accepted_types_by_content(build, kind: str) -> None:  # type: ignore[no-untyped-def]
    v = check_bytes(build())
    assert v == Verdict(kind) and v.ok and v.mime == MIMES[kind]


def test_check_path_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "anything.bin"  # the name says nothing
    path.write_bytes(make_pdf())
    assert check_path(path).type == "pdf"


# ------------------------------------------------------------------ refused


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (make_elf(), "executable"),
        (make_pe(), "executable"),
        (b"#!/bin/sh\necho pwned\n" + bytes(100), "executable"),
        (b"\xcf\xfa\xed\xfe" + bytes(200), "executable"),
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000), "unsupported"),  # old .doc
        (b"GIF89a" + bytes(100), "unsupported"),
        (struct.pack(">I", 28) + b"ftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(100), "unsupported"),
        (struct.pack(">I", 24) + b"ftypisom\x00\x00\x02\x00isomiso2" + bytes(100), "unsupported"),
        (b"Name,Score\nAlex,90\n", "unsupported"),
        (b"Rar!\x1a\x07\x00" + bytes(100), "archive"),
        (b"7z\xbc\xaf\x27\x1c" + bytes(100), "archive"),
        (b"\x1f\x8b\x08" + bytes(100), "archive"),
    ],
    ids=[
        "elf",
        "pe",
        "script",
        "macho",
        "empty",
        "old-doc",
        "gif",
        "avif",
        "mp4",
        "csv",
        "rar",
        "7z",
        "gzip",
    ],
)
def test_refused_by_content(data: bytes, problem: str) -> None:
    v = check_bytes(data)
    assert v.problem == problem and not v.ok and v.type is None, v


def test_an_executable_renamed_pdf_is_an_executable(tmp_path: Path) -> None:
    path = tmp_path / "学历证书.pdf"
    path.write_bytes(make_elf())
    v = check_path(path)
    assert v.problem == "executable" and "ELF" in v.detail


def test_too_large() -> None:
    assert check_bytes(make_pdf(), max_bytes=100).problem == "too_large"


def test_broken_pdf_and_images_are_damaged() -> None:
    pdf = make_pdf()
    assert check_bytes(pdf[: len(pdf) // 2]).problem == "damaged"  # cut off: no trailer
    assert check_bytes(b"%PDF-\n" + pdf[9:]).problem == "damaged"  # no version
    png = make_image("PNG")
    assert check_bytes(png[: len(png) - 200]).problem == "damaged"  # no IEND
    jpeg = make_image("JPEG")
    assert check_bytes(jpeg[:2] + b"\xff\xda\x00\x08" + jpeg[6:]).problem == "damaged"  # scan, no frame
    assert check_bytes(jpeg[:4] + b"\xff\xff" + jpeg[6:]).problem == "damaged"  # segment overruns


def test_an_image_bomb_is_unsafe() -> None:
    ihdr = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(bytes(1000))
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
    png += _png_chunk(b"IEND", b"")
    v = check_bytes(png)
    assert v.problem == "unsafe" and "60000x60000" in v.detail


# ------------------------------------------------------------------ DOCX and zip bombs


def test_a_zip_bomb_posing_as_docx_is_refused_quickly() -> None:
    bomb = make_zip_bomb_docx(100)
    assert len(bomb) < 1_000_000  # 100 MB of zeros in well under a megabyte
    t0 = time.perf_counter()
    v = check_bytes(bomb)
    elapsed = time.perf_counter() - t0
    assert v.problem == "unsafe", v
    assert elapsed < 0.5  # decided from the central directory, nothing inflated


def test_a_small_ratio_bomb_is_refused() -> None:
    v = check_bytes(make_zip_bomb_docx(4))  # under the total limit, 1000:1
    assert v.problem == "unsafe" and "compressed" in v.detail


def test_many_small_members_add_up() -> None:
    extra = {f"word/media/pad{i}.png": bytes(200 * 2**10) for i in range(400)}  # 80 MB in total
    v = check_bytes(make_docx(extra=extra))
    assert v.problem == "unsafe" and "uncompressed" in v.detail, v
    extra = {f"word/media/pad{i}.png": bytes(200 * 2**10) for i in range(150)}  # 30 MB, each small
    v = check_bytes(make_docx(extra=extra))
    assert v.problem == "unsafe" and "archive compressed" in v.detail, v


def test_member_count_limit() -> None:
    extra = {f"customXml/item{i}.xml": b"<a/>" for i in range(40)}
    assert check_bytes(make_docx(extra=extra)).ok
    v = check_bytes(make_docx(extra=extra), limits=ZipLimits(max_members=30))
    assert v.problem == "unsafe" and "members" in v.detail


def test_nested_archives_are_refused() -> None:
    inner = make_docx("inner")
    by_name = check_bytes(make_docx(extra={"word/embeddings/Sheet1.xlsx": inner}))
    assert by_name.problem == "unsafe" and "nested" in by_name.detail
    by_content = check_bytes(make_docx(extra={"word/media/image2.png": inner}))
    assert by_content.problem == "unsafe" and "ZIP" in by_content.detail
    program = check_bytes(make_docx(extra={"word/media/image3.png": make_pe()}))
    assert program.problem == "unsafe"


def test_macros_and_odd_names_are_refused() -> None:
    macro = "application/vnd.ms-word.document.macroEnabled.main+xml"
    assert check_bytes(make_docx(main=macro)).problem == "unsafe"
    assert check_bytes(make_docx(extra={"word/vbaProject.bin": b"\x00" * 10})).problem == "unsafe"
    assert check_bytes(make_docx(extra={"../../evil.xml": b"<a/>"})).problem == "unsafe"


def test_an_encrypted_member_is_refused() -> None:
    data = _patch_central(make_docx(), "word/document.xml", 8, struct.pack("<H", 0x1))
    v = check_bytes(data)
    assert v.problem == "unsafe" and "encrypted" in v.detail


def test_a_directory_that_lies_about_sizes_fails_its_crc() -> None:
    """Declared sizes pass the limits; reading stops at the declared size and the CRC gives it away."""
    data = _patch_central(make_docx("x" * 5000), "word/document.xml", 24, struct.pack("<I", 40))
    v = check_bytes(data)
    assert v.problem == "damaged", v


def test_other_zips_are_archives_or_not_word() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("photos/id.jpg", make_image("JPEG"))
    assert check_bytes(buf.getvalue()).problem == "archive"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert check_bytes(buf.getvalue()).problem == "unsupported"
    assert check_bytes(make_docx(main="application/xml")).problem == "unsupported"
    assert check_bytes(b"PK\x03\x04" + bytes(100)).problem == "damaged"


def test_a_realistic_docx_is_checked_fast() -> None:
    photo = os.urandom(6 * 2**20)  # an incompressible embedded photo
    data = make_docx("CV " * 2000, extra={"word/media/image1.jpeg": b"\xff\xd8\xff" + photo})
    t0 = time.perf_counter()
    assert check_bytes(data).type == "docx"
    assert time.perf_counter() - t0 < 0.5
