"""What an uploaded document really is, judged by its content — never by its name or declared type.

Accepted: PDF, JPEG, PNG, HEIC photos and Word DOCX. Anything else gets a reason the bot can explain
politely: an executable (ELF, PE, Mach-O, a script) renamed ``.pdf`` is ``executable``; a ZIP, RAR, 7z
or gzip archive is ``archive``; another known or unknown format is ``unsupported``; a broken file is
``damaged``; a DOCX that could hurt whoever opens it (a zip bomb, a nested archive or program, macros,
encryption) is ``unsafe``.

A DOCX is a ZIP holding ``[Content_Types].xml`` (declaring the WordprocessingML main part) and
``word/document.xml``. Its central directory is checked first (member count, sizes, compression ratio,
names), then every member is read through once as a stream — never extracted — so a directory that
lies about sizes fails its CRC (``zipfile`` stops at the declared size), and a member that is itself an
archive or a program is caught by its first bytes. The work is bounded by ``ZipLimits.max_total``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_BYTES = 20 * 2**20  # bots.channels.gateway.MAX_MEDIA_BYTES
MAX_PIXELS = 200_000_000  # a photo larger than this is an image bomb, not a scan

MIMES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "heic": "image/heic",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
PROBLEMS = ("empty", "too_large", "executable", "archive", "unsupported", "damaged", "unsafe")

_EXECUTABLES = (
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows (PE/DOS) executable"),
    (b"\xfe\xed\xfa\xce", "Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
    (b"#!", "script"),
    (b"\x00asm", "WebAssembly module"),
)
_ARCHIVES = (
    (b"PK\x03\x04", "ZIP archive"),
    (b"PK\x05\x06", "ZIP archive"),
    (b"PK\x07\x08", "ZIP archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"MSCF", "cabinet archive"),
    (b"\x28\xb5\x2f\xfd", "zstd archive"),
)
_OTHER = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Office document (.doc/.xls) or encrypted Office file"),
    (b"GIF8", "GIF image"),
    (b"BM", "BMP image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"{\\rtf", "RTF document"),
)
_ARCHIVE_NAMES = (
    ".zip", ".rar", ".7z", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".cab", ".jar",
    ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".pptm", ".odt", ".ods",
)  # fmt: skip
_PROGRAM_NAMES = (
    ".exe",
    ".dll",
    ".scr",
    ".com",
    ".bat",
    ".cmd",
    ".ps1",
    ".vbs",
    ".js",
    ".msi",
    ".sh",
    ".elf",
)
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_GENERIC = {b"mif1", b"msf1"}
_WORD_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_MACRO_MAIN = b"application/vnd.ms-word.document.macroEnabled.main+xml"


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_members: int = 1000
    max_total: int = 64 * 2**20  # uncompressed bytes of all members together
    max_ratio: float = 100.0  # uncompressed / compressed, per large member and for the whole file
    ratio_floor: int = 256 * 2**10  # members smaller than this may compress as well as they like


@dataclass(frozen=True, slots=True)
class Verdict:
    """``type`` is set when the file is one we accept; ``problem`` (one of PROBLEMS) when it is not.
    ``detail`` is for logs and the audit trail, not for the candidate."""

    type: str | None
    problem: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def mime(self) -> str | None:
        return MIMES.get(self.type or "")


def check_path(path: Path, *, max_bytes: int = MAX_BYTES, limits: ZipLimits | None = None) -> Verdict:
    with open(path, "rb") as f:
        return check(f, path.stat().st_size, max_bytes=max_bytes, limits=limits)


def check_bytes(data: bytes, *, max_bytes: int = MAX_BYTES, limits: ZipLimits | None = None) -> Verdict:
    return check(io.BytesIO(data), len(data), max_bytes=max_bytes, limits=limits)


def check(f: BinaryIO, size: int, *, max_bytes: int = MAX_BYTES, limits: ZipLimits | None = None) -> Verdict:
    """Classify a seekable binary file of ``size`` bytes."""
    if size <= 0:
        return Verdict(None, "empty")
    if size > max_bytes:
        return Verdict(None, "too_large", f"{size} bytes")
    f.seek(0)
    head = f.read(64)
    for magic, what in _EXECUTABLES:
        if head.startswith(magic):
            return Verdict(None, "executable", what)
    if head.startswith(b"%PDF-"):
        return _pdf(f, size, head)
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg(f, size)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(f, size, head)
    if head[4:8] == b"ftyp":
        return _isobmff(head, f)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip(f, size, limits or ZipLimits())
    for magic, what in _ARCHIVES:
        if head.startswith(magic):
            return Verdict(None, "archive", what)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Verdict(None, "unsupported", "WebP image")
    for magic, what in _OTHER:
        if head.startswith(magic):
            return Verdict(None, "unsupported", what)
    return Verdict(None, "unsupported", "unknown format")


# ------------------------------------------------------------------ PDF and images


def _tail(f: BinaryIO, size: int, n: int) -> bytes:
    f.seek(max(0, size - n))
    return f.read(n)


def _pdf(f: BinaryIO, size: int, head: bytes) -> Verdict:
    if not (len(head) >= 8 and head[5:6].isdigit() and head[6:7] == b"." and head[7:8].isdigit()):
        return Verdict(None, "damaged", "PDF header without a version")
    tail = _tail(f, size, 2048)
    if b"%%EOF" not in tail or b"startxref" not in tail:
        return Verdict(None, "damaged", "PDF without a trailer (truncated?)")
    return Verdict("pdf")


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(f: BinaryIO, size: int) -> Verdict:
    """Walk the marker segments to the frame header: a real JPEG has one, with sane dimensions."""
    pos = 2
    for _ in range(1000):
        f.seek(pos)
        hdr = f.read(4)
        if len(hdr) < 4 or hdr[0] != 0xFF:
            return Verdict(None, "damaged", "JPEG marker structure broken")
        marker = hdr[1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            return Verdict(None, "damaged", "JPEG without a frame header")
        length = struct.unpack(">H", hdr[2:4])[0]
        if length < 2 or pos + 2 + length > size:
            return Verdict(None, "damaged", "JPEG segment overruns the file")
        if marker in _SOF:
            frame = f.read(5)
            if len(frame) < 5:
                return Verdict(None, "damaged", "JPEG frame header cut short")
            height, width = struct.unpack(">HH", frame[1:5])
            return _pixels("jpeg", width, height)
        pos += 2 + length
    return Verdict(None, "damaged", "JPEG with too many segments")


def _png(f: BinaryIO, size: int, head: bytes) -> Verdict:
    if head[12:16] != b"IHDR" or struct.unpack(">I", head[8:12])[0] != 13:
        return Verdict(None, "damaged", "PNG without IHDR")
    if b"IEND" not in _tail(f, size, 64):
        return Verdict(None, "damaged", "PNG without IEND (truncated?)")
    width, height = struct.unpack(">II", head[16:24])
    return _pixels("png", width, height)


def _pixels(kind: str, width: int, height: int) -> Verdict:
    if width == 0 or height == 0:
        return Verdict(None, "damaged", f"{kind} of {width}x{height} pixels")
    if width * height > MAX_PIXELS:
        return Verdict(None, "unsafe", f"{kind} of {width}x{height} pixels")
    return Verdict(kind)


def _isobmff(head: bytes, f: BinaryIO) -> Verdict:
    """HEIC (HEIF with HEVC images), by the brands of its ``ftyp`` box; AVIF, MP4, MOV are not."""
    box = struct.unpack(">I", head[:4])[0]
    if box < 16 or box > 4096:
        return Verdict(None, "damaged", "ISO media file with a bad ftyp box")
    f.seek(0)
    ftyp = f.read(box)
    major = ftyp[8:12]
    compatible = {ftyp[i : i + 4] for i in range(16, len(ftyp) - 3, 4)}
    if major in _HEIC_BRANDS or (major in _HEIF_GENERIC and compatible & _HEIC_BRANDS):
        return Verdict("heic")
    what = major.decode("ascii", "replace").strip()
    return Verdict(None, "unsupported", f"ISO media file ({what})")


# ------------------------------------------------------------------ DOCX


def _zip(f: BinaryIO, size: int, limits: ZipLimits) -> Verdict:
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return Verdict(None, "damaged", f"ZIP unreadable: {exc}")
    with zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        if "word/document.xml" not in names or "[Content_Types].xml" not in names:
            if any(n.startswith(("xl/", "ppt/")) for n in names):
                return Verdict(None, "unsupported", "an Office file that is not a Word document")
            return Verdict(None, "archive", "ZIP archive")
        problem = _zip_directory(infos, size, limits)
        if problem is not None:
            return Verdict(None, "unsafe", problem)
        try:
            types = _read_bounded(zf, "[Content_Types].xml", 2**20)
            if _MACRO_MAIN in types or "word/vbaProject.bin" in names:
                return Verdict(None, "unsafe", "DOCX with macros")
            if _WORD_MAIN not in types:
                return Verdict(None, "unsupported", "Office ZIP without a Word main part")
            body = _read_bounded(zf, "word/document.xml", 512).lstrip(b"\xef\xbb\xbf \t\r\n")
            if not body.startswith(b"<"):
                return Verdict(None, "damaged", "word/document.xml is not XML")
            problem = _zip_members(zf, infos)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            return Verdict(None, "damaged", f"ZIP member unreadable: {exc}")
        if problem is not None:
            return Verdict(None, "unsafe", problem)
    return Verdict("docx")


def _zip_directory(infos: list[zipfile.ZipInfo], size: int, limits: ZipLimits) -> str | None:
    """What the central directory says: too many members, too big, compressed too well, odd names."""
    if len(infos) > limits.max_members:
        return f"{len(infos)} members (at most {limits.max_members})"
    total = 0
    for i in infos:
        name = i.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
            return f"member name {name!r} escapes the archive"
        if i.flag_bits & 0x1:
            return "encrypted members"
        lowered = name.lower()
        if lowered.endswith(_ARCHIVE_NAMES):
            return f"nested archive {name!r}"
        if lowered.endswith(_PROGRAM_NAMES):
            return f"embedded program {name!r}"
        total += i.file_size
        if total > limits.max_total:
            return f"more than {limits.max_total} bytes uncompressed"
        if i.file_size > limits.ratio_floor and i.file_size > limits.max_ratio * max(i.compress_size, 1):
            return f"member {name!r} compressed {i.file_size / max(i.compress_size, 1):.0f}:1"
    if total > limits.ratio_floor and total > limits.max_ratio * size:
        return f"archive compressed {total / size:.0f}:1"
    return None


def _read_bounded(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with zf.open(name) as m:
        return m.read(limit)


def _zip_members(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str | None:
    """Stream every member once (CRC-checked, bounded by the declared sizes); look at its first bytes."""
    for i in infos:
        if i.is_dir():
            continue
        with zf.open(i) as m:
            first = m.read(8)
            for magic, what in (*_ARCHIVES, *_EXECUTABLES[:7]):
                if first.startswith(magic):
                    return f"member {i.filename!r} is a {what}"
            while m.read(2**20):
                pass
    return None


__all__ = ["MAX_BYTES", "MIMES", "PROBLEMS", "Verdict", "ZipLimits", "check", "check_bytes", "check_path"]
