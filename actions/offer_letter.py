"""Offer letters: the salary to offer, a chat preview for HR, and the letter as PDF or DOCX.

HR drafts an offer in chat from the candidate's stated monthly salary expectation and the position's
grade band (:func:`advise_salary`), checks the key terms (:func:`preview_text`) and sends the letter
(:func:`render`). The wording is data, in ``content/templates/offer_letter.yml`` (zh and en; loaded
once per process, or pass an :class:`OfferTemplate`); the layout is code.

* PDF (reportlab): A4, always one page (the content shrinks to fit when a very long name or address
  needs more lines). Chinese uses WenQuanYi Zen Hei, embedded as a subset, when
  ``/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc`` is installed (``apt-get install fonts-wqy-zenhei``),
  so every viewer shows it and the text can be extracted; otherwise the built-in CID font
  STSong-Light (not embedded: the viewer supplies the glyphs). English uses Helvetica; characters
  Helvetica cannot show (a Chinese name in an English letter) switch to the Chinese font.
* DOCX (python-docx): A4, the East-Asian font (SimSun) set on every run, so Word does not fall back
  to a Latin font for Chinese characters.

Both are deterministic: the same terms give the same bytes (the PDF is written with reportlab's
``invariant`` mode; the DOCX's zip entries carry a fixed time and the document no creation time),
so a stored letter can be checked against a re-render.
"""

from __future__ import annotations

import functools
import io
import itertools
import re
import threading
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from string import Formatter
from typing import Any
from xml.sax.saxutils import escape

import yaml

from actions.plain_text import MONTHS_EN, visible_text

__all__ = [
    "FORMATS",
    "LANGUAGES",
    "SALARY_STATUSES",
    "TEMPLATE_PATH",
    "ZH_TTC",
    "Letter",
    "OfferTemplate",
    "OfferTerms",
    "SalaryAdvice",
    "advise_salary",
    "compose",
    "load_offer_template",
    "preview_text",
    "render",
    "render_docx",
    "render_pdf",
]

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = ROOT / "content" / "templates" / "offer_letter.yml"
LANGUAGES = ("zh", "en")
SALARY_STATUSES = ("within", "above_band", "below_band", "missing", "no_band")
FORMATS: Mapping[str, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
ZH_TTC = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
ZH_CID_FONT = "STSong-Light"
_ZH_TTF_NAME = "TalentbotWQYZenHei"
_DOCX_EAST_ASIA_FONT = "SimSun"
_DOCX_LATIN_FONT = {"zh": "Times New Roman", "en": "Arial"}
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FONT_LOCK = threading.Lock()


# --------------------------------------------------------------------------- salary
@dataclass(frozen=True, slots=True)
class SalaryAdvice:
    """What the letter should carry. ``status``: "within" | "above_band" | "below_band" (the amount
    against the grade band) | "missing" (no expectation and no HR figure: HR must give one) |
    "no_band" (the position has no band to check against). ``proposed``: monthly CNY, or None when
    missing."""

    status: str
    proposed: int | None


def _check_amount(label: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label} must be an int (monthly CNY), not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{label} must be positive, not {value}")


def advise_salary(
    expectation: int | None,
    band_min: int | None,
    band_max: int | None,
    *,
    hr_salary: int | None = None,
) -> SalaryAdvice:
    """The monthly salary for the letter: the candidate's expectation clamped to the grade band.

    ``hr_salary`` (a figure HR typed) wins and is never clamped, but its status still says where it
    falls against the band, so HR sees an offer outside it. A band with one bound checks that side
    only; no bound at all is "no_band". Amounts must be positive ints and ``band_min ≤ band_max``
    (ValueError otherwise)."""
    for label, value in (
        ("expectation", expectation),
        ("band_min", band_min),
        ("band_max", band_max),
        ("hr_salary", hr_salary),
    ):
        _check_amount(label, value)
    if band_min is not None and band_max is not None and band_min > band_max:
        raise ValueError(f"band_min {band_min} is above band_max {band_max}")
    amount = hr_salary if hr_salary is not None else expectation
    if amount is None:
        return SalaryAdvice("missing", None)
    if band_min is None and band_max is None:
        return SalaryAdvice("no_band", amount)
    clamp = hr_salary is None
    if band_max is not None and amount > band_max:
        return SalaryAdvice("above_band", band_max if clamp else amount)
    if band_min is not None and amount < band_min:
        return SalaryAdvice("below_band", band_min if clamp else amount)
    return SalaryAdvice("within", amount)


# --------------------------------------------------------------------------- terms


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """Everything one letter says. ``salary``: monthly CNY; ``language``: "zh" | "en" (the letter's
    and the preview's); text fields are given in that language and are cleaned of control characters
    when rendered; ``reference`` (e.g. "OFFER-2026-000123") also names the file."""

    candidate_name: str
    position_title: str
    department: str
    grade: str | None
    salary: int
    start_date: date | None
    reply_by: date
    bank_name: str
    location: str
    hr_contact: str
    language: str
    reference: str

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {self.language!r}")
        _check_amount("salary", self.salary)
        if not visible_text(self.candidate_name):
            raise ValueError("candidate_name is empty")
        if not visible_text(self.reference):
            raise ValueError("reference is empty")
        if not isinstance(self.reply_by, date):
            raise TypeError("reply_by must be a date")


# --------------------------------------------------------------------------- template
_PLACEHOLDERS = frozenset(
    {
        "name",
        "position",
        "department",
        "grade",
        "salary",
        "start_date",
        "reply_by",
        "bank",
        "location",
        "contact",
        "reference",
    }
)
_TERM_ROWS = ("position", "department", "grade", "salary", "start_date", "location", "probation")
_STRINGS = ("title", "reference", "salutation", "salary", "start_date_tbd", "probation")
_STRINGS += ("documents_intro", "contact", "closing")
_LISTS = ("body", "after", "documents", "signature", "preview")


@dataclass(frozen=True, slots=True)
class OfferTemplate:
    """The letter's wording per language: the keys of ``content/templates/offer_letter.yml``."""

    languages: Mapping[str, Mapping[str, Any]]

    def get(self, language: str) -> Mapping[str, Any]:
        return self.languages[language]


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in Formatter().parse(text) if f is not None}


def load_offer_template(path: Path = TEMPLATE_PATH) -> OfferTemplate:
    """Read and check the letter's wording; one ValueError lists every problem."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    errors: list[str] = []

    def check(where: str, text: object, allowed: frozenset[str] = _PLACEHOLDERS) -> None:
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{where}: missing or empty")
            return
        try:
            unknown = _fields(text) - allowed
        except ValueError as e:
            errors.append(f"{where}: {e}")
            return
        if unknown:
            errors.append(f"{where}: unknown placeholder(s) {sorted(unknown)}")

    for lang in LANGUAGES:
        t = data.get(lang)
        if not isinstance(t, dict):
            errors.append(f"{lang}: missing")
            continue
        for key in _STRINGS:
            check(f"{lang}.{key}", t.get(key), frozenset({"amount"}) if key == "salary" else _PLACEHOLDERS)
        for key in _LISTS:
            items = t.get(key)
            if not isinstance(items, list) or not items:
                errors.append(f"{lang}.{key}: must be a non-empty list")
                continue
            for i, item in enumerate(items):
                check(f"{lang}.{key}[{i}]", item)
        terms = t.get("terms")
        for key in _TERM_ROWS:
            check(f"{lang}.terms.{key}", (terms or {}).get(key), frozenset())
    if errors:
        raise ValueError(f"invalid offer letter template {path}:\n  " + "\n  ".join(errors))
    return OfferTemplate({lang: data[lang] for lang in LANGUAGES})


@functools.cache
def _default_template() -> OfferTemplate:
    return load_offer_template()


# --------------------------------------------------------------------------- the letter's text
def _fmt_date(d: date, language: str) -> str:
    if language == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


@dataclass(frozen=True, slots=True)
class Letter:
    """The letter as text, before layout: what both the PDF and the DOCX show, in order."""

    language: str
    title: str
    reference: str
    salutation: str
    body: tuple[str, ...]
    terms: tuple[tuple[str, str], ...]  # (label, value) rows of the terms table
    after: tuple[str, ...]
    documents_intro: str
    documents: tuple[str, ...]
    contact: str
    closing: str
    signature: tuple[str, ...]
    meta_title: str  # the file's document title
    author: str


def _values(terms: OfferTerms, wording: Mapping[str, Any]) -> dict[str, str | None]:
    lang = terms.language
    grade = visible_text(terms.grade) if terms.grade is not None else ""
    return {
        "name": visible_text(terms.candidate_name),
        "position": visible_text(terms.position_title),
        "department": visible_text(terms.department),
        "grade": grade or None,
        "salary": str(wording["salary"]).format(amount=f"{terms.salary:,}"),
        "start_date": _fmt_date(terms.start_date, lang)
        if terms.start_date is not None
        else str(wording["start_date_tbd"]),
        "reply_by": _fmt_date(terms.reply_by, lang),
        "bank": visible_text(terms.bank_name),
        "location": visible_text(terms.location),
        "contact": visible_text(terms.hr_contact),
        "reference": visible_text(terms.reference),
    }


def _fill(texts: Sequence[str], values: Mapping[str, str | None]) -> tuple[str, ...]:
    """Each text with the values in; a text that needs a value the terms lack (no grade) is left out."""
    out = []
    for text in texts:
        if any(values.get(f) is None for f in _fields(text)):
            continue
        out.append(text.format(**{k: v for k, v in values.items() if v is not None}))
    return tuple(out)


def _short(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (document properties: DOCX allows 255)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compose(terms: OfferTerms, template: OfferTemplate | None = None) -> Letter:
    """The letter's text for ``terms`` (pure). Rows and lines for a missing grade are left out."""
    wording = (template or _default_template()).get(terms.language)
    v = _values(terms, wording)
    labels = wording["terms"]
    rows = [
        (labels["position"], v["position"]),
        (labels["department"], v["department"]),
        (labels["grade"], v["grade"]),
        (labels["salary"], v["salary"]),
        (labels["start_date"], v["start_date"]),
        (labels["location"], v["location"]),
        (labels["probation"], wording["probation"]),
    ]

    def one(text: str) -> str:
        return _fill([text], v)[0]

    return Letter(
        language=terms.language,
        title=str(wording["title"]),
        reference=one(wording["reference"]),
        salutation=one(wording["salutation"]),
        body=_fill(wording["body"], v),
        terms=tuple((str(label), str(value)) for label, value in rows if value),
        after=_fill(wording["after"], v),
        documents_intro=one(wording["documents_intro"]),
        documents=_fill(wording["documents"], v),
        contact=one(wording["contact"]),
        closing=one(wording["closing"]),
        signature=_fill(wording["signature"], v),
        meta_title=_short(f"{wording['title']} · {_short(str(v['name']), 80)} · {v['reference']}", 200),
        author=_short(str(v["bank"]), 200),
    )


def preview_text(terms: OfferTerms, *, template: OfferTemplate | None = None) -> str:
    """The short chat preview HR checks before sending: the key terms, in ``terms.language``."""
    wording = (template or _default_template()).get(terms.language)
    return "\n".join(_fill(wording["preview"], _values(terms, wording)))


# --------------------------------------------------------------------------- PDF
@functools.cache
def _pdf_zh_font() -> str:
    """The Chinese font's registered name: the embedded TTC when installed, else the CID font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    with _FONT_LOCK:
        if ZH_TTC.is_file():
            pdfmetrics.registerFont(TTFont(_ZH_TTF_NAME, str(ZH_TTC), subfontIndex=0))
            return _ZH_TTF_NAME
        pdfmetrics.registerFont(UnicodeCIDFont(ZH_CID_FONT))
        return ZH_CID_FONT


def _latin1_safe(c: str) -> bool:
    try:
        c.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _markup(text: str, language: str, zh_font: str) -> str:
    """``text`` as reportlab paragraph markup: XML-escaped; in an English letter, runs Helvetica cannot
    show are set in the Chinese font."""
    if language == "zh":
        return escape(text)
    out = []
    for safe, group in itertools.groupby(text, key=_latin1_safe):
        chunk = escape("".join(group))
        out.append(chunk if safe else f'<font name="{zh_font}">{chunk}</font>')
    return "".join(out)


def render_pdf(terms: OfferTerms, *, template: OfferTemplate | None = None) -> bytes:
    """The letter as a one-page A4 PDF (deterministic for the same terms)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    letter = compose(terms, template)
    lang = letter.language
    zh_font = _pdf_zh_font()
    base_font = zh_font if lang == "zh" else "Helvetica"
    bold_font = zh_font if lang == "zh" else "Helvetica-Bold"
    wrap = "CJK" if lang == "zh" else None
    body = ParagraphStyle(
        "body", fontName=base_font, fontSize=10.5, leading=16, spaceAfter=6, wordWrap=wrap, splitLongWords=1
    )
    title = ParagraphStyle(
        "title", parent=body, fontName=bold_font, fontSize=18, leading=24, alignment=TA_CENTER
    )
    ref = ParagraphStyle(
        "ref", parent=body, fontSize=9, leading=12, alignment=TA_RIGHT, textColor=colors.grey
    )
    cell = ParagraphStyle("cell", parent=body, spaceAfter=0)
    label = ParagraphStyle("label", parent=cell, fontName=bold_font)
    item = ParagraphStyle(
        "item", parent=body, leftIndent=14, bulletIndent=2, spaceAfter=2, bulletFontName=base_font
    )
    sign = ParagraphStyle("sign", parent=body, alignment=TA_RIGHT, spaceAfter=0)

    def p(text: str, style: ParagraphStyle, **kw: Any) -> Paragraph:
        return Paragraph(_markup(text, lang, zh_font), style, **kw)

    margin = 22 * mm
    pad = 6  # the frame's own padding on each side (reportlab's default)
    width, height = A4[0] - 2 * margin - 2 * pad, A4[1] - 2 * margin - 2 * pad
    table = Table(
        [[p(k, label), p(v, cell)] for k, v in letter.terms],
        colWidths=[38 * mm, width - 38 * mm],
        style=TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#c9d1dc")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f5f9")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )
    story: list[Any] = [
        p(letter.reference, ref),
        p(letter.title, title),
        Spacer(1, 4 * mm),
        p(letter.salutation, body),
        *(p(text, body) for text in letter.body),
        table,
        Spacer(1, 3 * mm),
        *(p(text, body) for text in letter.after),
        p(letter.documents_intro, body),
        *(p(text, item, bulletText=f"{i}.") for i, text in enumerate(letter.documents, start=1)),
        Spacer(1, 2 * mm),
        p(letter.contact, body),
        p(letter.closing, body),
        Spacer(1, 6 * mm),
        *(p(line, sign) for line in letter.signature),
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=letter.meta_title,
        author=letter.author,
        subject=letter.title,
        creator="talentbot",
        lang="zh-CN" if lang == "zh" else "en",
        invariant=1,
    )
    # one page whatever the terms: a very long name or address shrinks the whole letter to fit
    doc.build([KeepInFrame(width, height, story, mode="shrink")])
    return out.getvalue()


# --------------------------------------------------------------------------- DOCX
def _docx_fonts(target: Any, language: str) -> None:
    """Set the Latin and East-Asian fonts of a run or a style's run properties."""
    from docx.oxml.ns import qn

    target.font.name = _DOCX_LATIN_FONT[language]
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), _DOCX_EAST_ASIA_FONT)


def _docx_language(style: Any, language: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = style.element.get_or_add_rPr()
    for old in rpr.findall(qn("w:lang")):
        rpr.remove(old)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "zh-CN" if language == "zh" else "en-GB")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)


def _fixed_zip(data: bytes) -> bytes:
    """The same archive with fixed entry times (python-docx stamps the current time)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0
            entry.external_attr = 0
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def render_docx(terms: OfferTerms, *, template: OfferTemplate | None = None) -> bytes:
    """The letter as a DOCX (A4; deterministic for the same terms)."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    letter = compose(terms, template)
    lang = letter.language
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(22))
    normal = document.styles["Normal"]
    _docx_fonts(normal, lang)
    normal.font.size = Pt(10.5)
    _docx_language(normal, lang)

    def para(text: str, *, size: float | None = None, bold: bool = False, align: Any = None) -> Any:
        paragraph = document.add_paragraph()
        run = paragraph.add_run(text)
        _docx_fonts(run, lang)
        run.bold = bold or None
        if size is not None:
            run.font.size = Pt(size)
        if align is not None:
            paragraph.alignment = align
        return paragraph

    ref = para(letter.reference, size=9, align=WD_ALIGN_PARAGRAPH.RIGHT)
    ref.runs[0].font.color.rgb = RGBColor(0x80, 0x80, 0x80)
    para(letter.title, size=18, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    para(letter.salutation)
    for text in letter.body:
        para(text)
    table = document.add_table(rows=0, cols=2)
    table.style = document.styles["Table Grid"]
    for key, value in letter.terms:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = Mm(38), Mm(128)
        for c, text, bold in ((cells[0], key, True), (cells[1], value, False)):
            run = c.paragraphs[0].add_run(text)
            _docx_fonts(run, lang)
            run.bold = bold or None
    for text in letter.after:
        para(text)
    para(letter.documents_intro)
    for text in letter.documents:
        paragraph = document.add_paragraph(style="List Number")
        _docx_fonts(paragraph.add_run(text), lang)
    para(letter.contact)
    para(letter.closing)
    for line in letter.signature:
        para(line, align=WD_ALIGN_PARAGRAPH.RIGHT)

    props = document.core_properties
    props.title = letter.meta_title
    props.subject = letter.title
    props.author = letter.author
    props.last_modified_by = letter.author
    props.keywords = _short(visible_text(terms.reference), 200)
    props.language = "zh-CN" if lang == "zh" else "en"
    props.revision = 1
    props.comments = ""  # the template says "generated by python-docx"
    core = props._element  # no creation/modification time: they would only be invented
    for tag in ("created", "modified"):
        for el in core.findall(f"{{http://purl.org/dc/terms/}}{tag}"):
            core.remove(el)
    out = io.BytesIO()
    document.save(out)
    return _fixed_zip(out.getvalue())


# --------------------------------------------------------------------------- the file
def _file_stem(reference: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", visible_text(reference)).strip("-") or "offer-letter"


def render(terms: OfferTerms, fmt: str, *, template: OfferTemplate | None = None) -> tuple[bytes, str, str]:
    """``(content, mime type, file name)`` of the letter in ``fmt`` ("pdf" | "docx"); the file is
    named after the reference (``OFFER-2026-000123.pdf``). Any other format raises ValueError."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    content = render_pdf(terms, template=template) if fmt == "pdf" else render_docx(terms, template=template)
    return content, FORMATS[fmt], f"{_file_stem(terms.reference)}.{fmt}"
