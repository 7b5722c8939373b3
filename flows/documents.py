"""Documents in the candidate's conversation, as pure functions of (state, event, ctx).

The candidate sends photos or files (``Said.media`` of kind image or file, already in the file store by
sha256). This module decides which document a file is — from a caption, the file name, a document the
candidate said they would send, or by asking with buttons — and asks ``documents_io`` to check the
content and file it (``doc_receive``, ``doc_classify``). The checklist is derived from the position's
required kinds (content/positions.yml) and the rows, never kept in the state.

Documents need the documents consent: without it nothing is filed (the reply explains and offers a
person). Replies name a document only by its kind and the file name the candidate gave — never by
anything read from its content.

Steps (``State.step``):
  doc_kind    asked which document file ``data.doc_id`` is (buttons ``doc_kind:<id>:<kind>``)
  doc_expect  the candidate said which document comes next (``data.kind``; it replaces the current one)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from actions.doccheck import MIMES
from flows import hr_sync
from flows.context import Command, Ctx, DocumentView, Done, Said, State, StepResult
from flows.values import Choice, Effect, Reply

MEDIA_KINDS = frozenset({"image", "file"})
COMMANDS = frozenset({"doc_receive", "doc_classify"})
INTENTS = frozenset({"submit_material", "ask_required_materials"})
STEP_KIND = "doc_kind"
STEP_EXPECT = "doc_expect"
PAYLOAD = "doc_kind:"
OTHER = "other"
MAX_MB = 20
SHORT = 40  # a longer message is not a request to replace a document, whatever words it holds
TYPE_OF_MIME = {mime: t for t, mime in MIMES.items()}
_SEPARATORS = re.compile(r"[_\-.+()\[\]]+")  # in file names: "my_CV-2024.pdf" names a CV
_REPLACE = re.compile(
    r"重新|重传|再传|再发|更换|替换|换一[份张个]|换成|补一?[份张]|更新"
    r"|\b(?:replace|re-?upload|re-?send|re-?submit|send again|upload again|new version|updated|another copy)\b",
    re.IGNORECASE,
)


# ------------------------------------------------------------------ the rules (content/documents.yml)


@dataclass(frozen=True, slots=True)
class Kind:
    id: str
    names: Mapping[str, str]
    types: tuple[str, ...]
    hints: Mapping[str, str] = field(default_factory=dict)
    words: tuple[str, ...] = ()
    repeatable: bool = False
    latin: re.Pattern[str] | None = field(default=None, repr=False, compare=False)  # the English words

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["zh"]

    def named_in(self, lowered: str) -> bool:
        """Whether one of the kind's words is in ``lowered`` (a Chinese word anywhere, an English one as
        whole words)."""
        if self.latin is not None and self.latin.search(lowered):
            return True
        return any(w in lowered for w in self.words if not w.isascii())


@dataclass(frozen=True, slots=True)
class DocumentRules:
    """Document kinds (content/documents.yml) and what each position requires (positions.yml)."""

    kinds: Mapping[str, Kind]
    required: Mapping[str, tuple[str, ...]]  # position code -> kind ids
    type_names: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, content_dir: Path) -> DocumentRules:
        with open(content_dir / "documents.yml", encoding="utf-8") as f:
            data = yaml.safe_load(f)
        with open(content_dir / "positions.yml", encoding="utf-8") as f:
            positions = yaml.safe_load(f)
        kinds: dict[str, Kind] = {}
        for kid, k in data["kinds"].items():
            unknown = set(k["types"]) - set(MIMES)
            if unknown:
                raise ValueError(f"document kind {kid!r}: unknown types {sorted(unknown)}")
            words = sorted(
                {w.lower() for lang in ("zh", "en") for w in (k.get("words") or {}).get(lang, [])},
                key=len,
                reverse=True,
            )
            latin = [re.escape(w) for w in words if w.isascii()]
            kinds[kid] = Kind(
                id=kid,
                names={"zh": k["zh"], "en": k["en"]},
                types=tuple(k["types"]),
                hints={lang: k[f"hint_{lang}"] for lang in ("zh", "en") if f"hint_{lang}" in k},
                words=tuple(words),
                repeatable=bool(k.get("repeatable", False)),
                latin=re.compile(rf"(?<![a-z])(?:{'|'.join(latin)})(?![a-z])") if latin else None,
            )
        required: dict[str, tuple[str, ...]] = {}
        for p in positions["positions"]:
            listed = tuple(p.get("documents") or ())
            missing = [k for k in listed if k not in kinds or kinds[k].repeatable]
            if missing:
                raise ValueError(f"position {p['code']}: unknown document kinds {missing}")
            required[str(p["code"]).upper()] = listed
        return cls(kinds, required, data.get("types") or {})

    def required_for(self, position_code: str) -> tuple[Kind, ...]:
        return tuple(self.kinds[k] for k in self.required.get(position_code.upper(), ()))

    def type_name(self, t: str, lang: str) -> str:
        names = self.type_names.get(t) or {}
        return names.get(lang) or names.get("zh") or t.upper()

    def named(self, text: str | None, *, other: bool = False) -> list[str]:
        """The kinds a caption, a message or a file name names ("成绩单.pdf", "my_CV.docx", "ID front")."""
        if not text:
            return []
        lowered = _SEPARATORS.sub(" ", text.lower())
        return [k.id for k in self.kinds.values() if (other or k.id != OTHER) and k.named_in(lowered)]


@lru_cache(maxsize=1)
def default_rules() -> DocumentRules:
    """The rules of TALENTBOT_CONTENT_DIR (else ./content of the checkout), read once: for a ``Deps``
    built without ``documents``."""
    root = Path(__file__).resolve().parent.parent / "content"
    return DocumentRules.load(Path(os.environ.get("TALENTBOT_CONTENT_DIR") or root))


# ------------------------------------------------------------------ helpers


def _same(state: State, replies: Sequence[Reply], **kw: Any) -> StepResult:
    """Replies without a step change; the buttons shown become what "1", "2"… pick."""
    choices = [c.payload for r in replies for c in r.choices]
    return StepResult(State(state.step, {**state.data, "choices": choices}), tuple(replies), **kw)


def _to(step: str, replies: Sequence[Reply], **data: Any) -> StepResult:
    choices = [c.payload for r in replies for c in r.choices]
    return StepResult(State(step, {**data, "choices": choices}), tuple(replies))


def _rules(ctx: Ctx) -> DocumentRules:
    return ctx.docs if ctx.docs is not None else default_rules()


def _human(ctx: Ctx) -> tuple[Choice, ...]:
    return (Choice(ctx.t("human_btn"), "human"),)


def _title(ctx: Ctx) -> str:
    assert ctx.app is not None
    return ctx.app.position_title.get(ctx.lang) or ctx.app.position_title["zh"]


def _join(ctx: Ctx, names: Sequence[str]) -> str:
    return ctx.t("doc_kinds_sep").join(names)


def _file_label(ctx: Ctx, name: str | None) -> str:
    """The file name the candidate gave, shortened — the only thing about a file ever said back."""
    if not name:
        return ""
    clean = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(clean) > 40:
        clean = clean[:28] + "…" + clean[-10:]
    return ctx.t("doc_file_label", name=clean) if clean else ""


def _types(ctx: Ctx, kind: Kind) -> str:
    return ctx.t("doc_types_sep").join(_rules(ctx).type_name(t, ctx.lang) for t in kind.types)


def _documents(ctx: Ctx) -> Sequence[DocumentView]:
    assert ctx.app is not None
    return ctx.view.documents(ctx.app.id)


def _current(ctx: Ctx) -> dict[str, DocumentView]:
    return {d.kind: d for d in _documents(ctx) if d.status == "current" and d.kind}


def _hr(ctx: Ctx, event: str, **extra: Any) -> Effect:
    assert ctx.app is not None
    return Effect(
        "notify_hr",
        {
            "event": event,
            "application_id": ctx.app.id,
            "candidate": ctx.app.name,
            "position": ctx.app.position_code,
            **extra,
        },
    )


def checklist(ctx: Ctx) -> str | None:
    """ "已收到：身份证、简历；还差：成绩单" — None when the position requires no documents."""
    if ctx.app is None:
        return None
    required = _rules(ctx).required_for(ctx.app.position_code)
    if not required:
        return None
    have = _current(ctx)
    received = [k.name(ctx.lang) for k in required if k.id in have]
    missing = [k.name(ctx.lang) for k in required if k.id not in have]
    parts = []
    if received:
        parts.append(ctx.t("doc_list_received", kinds=_join(ctx, received)))
    if missing:
        parts.append(ctx.t("doc_list_missing", kinds=_join(ctx, missing)))
    else:
        parts.append(ctx.t("doc_list_complete"))
    waiting = sum(1 for d in _documents(ctx) if d.status == "unclassified")
    if waiting:
        parts.append(ctx.t("doc_list_unclassified", n=waiting))
    return ctx.t("doc_list_sep").join(parts)


def progress_line(ctx: Ctx) -> str | None:
    """The documents line of "my progress"."""
    if ctx.app is None or not _rules(ctx).required_for(ctx.app.position_code):
        return None
    if ctx.app.consents.get("documents") is False:
        return ctx.t("doc_progress", checklist=ctx.t("doc_progress_offline"))
    text = checklist(ctx)
    return ctx.t("doc_progress", checklist=text) if text else None


# ------------------------------------------------------------------ messages


Reprompt = Callable[[State, Ctx], tuple[Reply, ...]]


def on_media(state: State, event: Said, ctx: Ctx, reprompt: Reprompt) -> StepResult | None:
    """A photo or a file: file it as a document (``doc_receive``), or say why not."""
    media = event.media
    if media is None or media.kind not in MEDIA_KINDS:
        return None
    if ctx.app is None:
        return _same(state, [Reply(ctx.t("doc_unlinked"))])
    refused = _no_consent(state, ctx, reprompt)
    if refused is not None:
        return refused
    rules = _rules(ctx)
    caption = rules.named(event.text)
    from_name = rules.named(media.name)
    expected = state.data.get("kind") if state.step == STEP_EXPECT else None
    kind: str | None = None
    candidates: list[str] = []
    if len(caption) == 1:
        kind = caption[0]
    elif caption:
        candidates = caption
    elif expected in rules.kinds:
        if from_name and expected not in from_name:
            candidates = [expected, *from_name]
        else:
            kind = expected
    elif len(from_name) == 1:
        kind = from_name[0]
    else:
        candidates = from_name
    state = State("", {}) if state.step == STEP_EXPECT else state
    return StepResult(state, command=Command("doc_receive", {"kind": kind, "candidates": candidates}))


def on_said(state: State, event: Said, intent: str, ctx: Ctx, reprompt: Reprompt) -> StepResult | None:
    """Text about documents: a kind chosen or named, "重新上传身份证", "我要提交材料", "需要哪些材料"."""
    payload = event.payload or ""
    if payload.startswith(PAYLOAD):
        _, doc_id, kind = payload.split(":", 2)
        if ctx.app is None or not doc_id.isdigit():
            return None
        return StepResult(state, command=Command("doc_classify", {"document_id": int(doc_id), "kind": kind}))
    if ctx.app is None or event.media is not None:
        return None
    rules = _rules(ctx)
    text = (event.text or "").strip()
    short = len(text) <= SHORT
    if state.step == STEP_KIND and short and payload == "":
        named = rules.named(text, other=True)
        if len(named) == 1:
            doc_id = int(state.data["doc_id"])
            return StepResult(
                state, command=Command("doc_classify", {"document_id": doc_id, "kind": named[0]})
            )
    if short and (intent == "submit_material" or _REPLACE.search(text)):
        named = rules.named(text)
        if len(named) == 1:
            return _expect(state, rules.kinds[named[0]], ctx, reprompt)
    if intent == "submit_material":
        return _how_to(state, ctx, reprompt)
    if intent == "ask_required_materials":
        return _required(state, ctx, reprompt)
    return None


def reprompt(state: State, ctx: Ctx) -> tuple[Reply, ...]:
    """The pending "which document is this?" again, after an interruption."""
    if state.step != STEP_KIND or ctx.app is None:
        return ()
    doc = next((d for d in _documents(ctx) if d.id == state.data.get("doc_id")), None)
    if doc is None or doc.status != "unclassified":
        return ()
    return (_ask_kind_reply(ctx, doc, ()),)


def _no_consent(state: State, ctx: Ctx, reprompt: Reprompt) -> StepResult | None:
    assert ctx.app is not None
    granted = ctx.app.consents.get("documents")
    if granted is None:
        return _same(state, [Reply(ctx.t("doc_needs_consent"), _human(ctx)), *reprompt(state, ctx)])
    if granted is False:
        return _same(state, [Reply(ctx.t("doc_consent_declined", contact=ctx.hr_contact), _human(ctx))])
    return None


def _expect(state: State, kind: Kind, ctx: Ctx, reprompt: Reprompt) -> StepResult:
    refused = _no_consent(state, ctx, reprompt)
    if refused is not None:
        return refused
    key = "doc_expect_replace" if kind.id in _current(ctx) and not kind.repeatable else "doc_expect"
    text = ctx.t(key, kind=kind.name(ctx.lang), types=_types(ctx, kind))
    return _to(STEP_EXPECT, [Reply(text)], kind=kind.id)


def _how_to(state: State, ctx: Ctx, reprompt: Reprompt) -> StepResult:
    refused = _no_consent(state, ctx, reprompt)
    if refused is not None:
        return refused
    lines = [ctx.t("doc_how", mb=MAX_MB)]
    listed = checklist(ctx)
    if listed:
        lines.append(listed)
    replies = [Reply("\n".join(lines))]
    return _same(state, [*replies, *_next_unclassified(ctx, exclude=None), *reprompt(state, ctx)])


def _required(state: State, ctx: Ctx, reprompt: Reprompt) -> StepResult:
    assert ctx.app is not None
    required = _rules(ctx).required_for(ctx.app.position_code)
    if not required:
        return _same(state, [Reply(ctx.t("doc_none_required", position=_title(ctx))), *reprompt(state, ctx)])
    lines = [ctx.t("doc_required", position=_title(ctx))]
    for k in required:
        hint = k.hints.get(ctx.lang) or k.hints.get("zh")
        hint = ctx.t("doc_hint", hint=hint) if hint else ""
        lines.append(ctx.t("doc_required_line", kind=k.name(ctx.lang), types=_types(ctx, k), hint=hint))
    listed = checklist(ctx)
    if listed:
        lines.append(listed)
    consent = ctx.app.consents.get("documents")
    if consent is None:
        lines.append(ctx.t("doc_required_consent_first"))
    elif consent is False:
        lines.append(ctx.t("doc_required_offline", contact=ctx.hr_contact))
    else:
        lines.append(ctx.t("doc_how", mb=MAX_MB))
    return _same(state, [Reply("\n".join(lines)), *reprompt(state, ctx)])


# ------------------------------------------------------------------ asking which document a file is


def _kind_choices(ctx: Ctx, doc: DocumentView, first: Sequence[str]) -> tuple[Choice, ...]:
    assert ctx.app is not None
    rules = _rules(ctx)
    t = TYPE_OF_MIME.get(doc.mime, "")
    required = [k.id for k in rules.required_for(ctx.app.position_code)]
    have = _current(ctx)
    order = [*first, *(k for k in required if k not in have), *(k for k in required if k in have), OTHER]
    out: list[Choice] = []
    seen: set[str] = set()
    for kid in order:
        k = rules.kinds.get(kid)
        if k is None or kid in seen or t not in k.types:
            continue
        seen.add(kid)
        title = k.name(ctx.lang)
        if kid in have and not k.repeatable:
            title = ctx.t("doc_btn_replace", kind=title)
        out.append(Choice(title, f"{PAYLOAD}{doc.id}:{kid}"))
    return tuple(out)


def _ask_kind_reply(ctx: Ctx, doc: DocumentView, first: Sequence[str]) -> Reply:
    return Reply(ctx.t("doc_ask_kind", file=_file_label(ctx, doc.filename)), _kind_choices(ctx, doc, first))


def _ask_kind(ctx: Ctx, doc: DocumentView, head: Sequence[Reply], first: Sequence[str] = ()) -> StepResult:
    return _to(STEP_KIND, [*head, _ask_kind_reply(ctx, doc, first)], doc_id=doc.id)


def _next_unclassified(ctx: Ctx, *, exclude: int | None) -> tuple[Reply, ...]:
    doc = next((d for d in _documents(ctx) if d.status == "unclassified" and d.id != exclude), None)
    return () if doc is None else (_ask_kind_reply(ctx, doc, ()),)


# ------------------------------------------------------------------ results of commands


def on_done(state: State, event: Done, ctx: Ctx) -> StepResult:
    r, args = event.result, event.command.args
    status = r.get("status")
    rules = _rules(ctx)
    if ctx.app is None or status == "missing":
        return _same(state, [Reply(ctx.t("doc_gone"))])
    if status == "no_consent":
        return _same(state, [Reply(ctx.t("doc_needs_consent"), _human(ctx))])
    if status == "no_file":
        return _same(state, [Reply(ctx.t("media_failed"))])
    if status == "rejected":
        problem = r.get("problem") or "unsupported"
        key = "media_too_large" if problem == "too_large" else f"doc_problem_{problem}"
        return _same(state, [Reply(ctx.t(key, mb=MAX_MB))])
    if status == "duplicate":
        kind = rules.kinds.get(r.get("kind") or "")
        if kind is None:
            doc = _find(ctx, r.get("document_id"))
            if doc is not None:
                return _ask_kind(ctx, doc, [Reply(ctx.t("doc_duplicate_unclassified"))])
            return _same(state, [Reply(ctx.t("doc_duplicate_unclassified"))])
        return _same(state, [Reply(ctx.t("doc_duplicate", kind=kind.name(ctx.lang)))])
    if status == "already":
        kind = rules.kinds.get(r.get("kind") or "")
        name = kind.name(ctx.lang) if kind else ""
        return _to("", [Reply(ctx.t("doc_already_filed", kind=name)), *_next_unclassified(ctx, exclude=None)])
    if status == "wrong_type":
        kind = rules.kinds[r["kind"]]
        got = rules.type_name(r.get("type") or "", ctx.lang)
        text = ctx.t("doc_wrong_type", kind=kind.name(ctx.lang), types=_types(ctx, kind), got=got)
        doc = _find(ctx, r.get("document_id"))
        if doc is not None and doc.status == "unclassified":
            return _ask_kind(ctx, doc, [Reply(text)])
        return _to("", [Reply(text)])
    if status == "unclassified":
        doc = _find(ctx, r.get("document_id"))
        if doc is None:
            return _same(state, [Reply(ctx.t("doc_gone"))])
        return _ask_kind(ctx, doc, [], first=args.get("candidates") or ())
    return _filed(ctx, r)


def _find(ctx: Ctx, doc_id: Any) -> DocumentView | None:
    return next((d for d in _documents(ctx) if d.id == doc_id), None)


def _filed(ctx: Ctx, r: Mapping[str, Any]) -> StepResult:
    rules = _rules(ctx)
    kind = rules.kinds[r["kind"]]
    doc = _find(ctx, r.get("document_id"))
    label = _file_label(ctx, doc.filename if doc else None)
    key = "doc_replaced" if r.get("replaced") else "doc_received"
    lines = [ctx.t(key, kind=kind.name(ctx.lang), file=label)]
    effects: tuple[Effect, ...] = ()
    listed = checklist(ctx)
    if listed:
        lines.append(listed)
    if r.get("complete"):
        lines.append(ctx.t("doc_complete"))
        assert ctx.app is not None
        kinds = [k.id for k in rules.required_for(ctx.app.position_code)]
        effects = (_hr(ctx, "documents_complete", kinds=kinds), hr_sync.documents_complete(ctx, kinds))
    replies = [Reply("\n".join(lines))]
    nxt = _next_unclassified(ctx, exclude=None)
    if nxt:
        doc_id = int(next(d.id for d in _documents(ctx) if d.status == "unclassified"))
        result = _to(STEP_KIND, [*replies, *nxt], doc_id=doc_id)
        return StepResult(result.state, result.replies, effects=effects)
    result = _to("", replies)
    return StepResult(result.state, result.replies, effects=effects)


__all__ = [
    "COMMANDS",
    "DocumentRules",
    "INTENTS",
    "Kind",
    "MEDIA_KINDS",
    "checklist",
    "default_rules",
    "on_done",
    "on_media",
    "on_said",
    "progress_line",
    "reprompt",
]
