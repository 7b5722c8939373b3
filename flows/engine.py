"""The engine: one inbound message in, replies out — the whole path in ``handle()``.

Per message: validate, parse (outside the transaction), then in ONE transaction: record the message
id (a redelivery gets the stored replies), load the conversation and what the flow may read, run the
flow, execute the command it asks for and feed the result back, save the versioned state, write the
effects to the outbox. Messages of one conversation are handled one at a time (an asyncio lock in
the process; a transaction-scoped advisory lock on PostgreSQL for several processes).
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, literal, select, text
from sqlalchemy.orm import Session, sessionmaker

from flows import (
    candidate,
    documents,
    documents_io,
    employee,
    employee_io,
    hr,
    hr_io,
    interview_io,
    linking,
)
from flows.context import (
    ApplicationView,
    BookingView,
    Command,
    Ctx,
    DocumentView,
    Done,
    Event,
    InterviewView,
    Said,
    SlotView,
    State,
    StepResult,
)
from flows.texts import Catalog
from flows.values import Effect, Inbound, Outcome, Reply
from scoring.questions import Bank
from storage import documents as storage_documents
from storage import hotpath as hot
from storage import hr_actions, repo
from storage.files import FileStore
from storage.models import Answer, Application, Identity, Interview

log = logging.getLogger("talentbot.engine")

MAX_TEXT = 2000
TOUCH_EVERY = timedelta(minutes=5)  # last-seen precision for "the platform they used last"
_PG_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:k))")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SLASH = re.compile(r"^\s*[/／][A-Za-z_]+(?:@\w+)?")


class Parser(Protocol):
    def parse(self, text: str, *, now: datetime | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything ``handle()`` needs, passed in (no module-level singletons)."""

    sessions: sessionmaker[Session]
    nlu: Parser
    catalog: Catalog
    tz: ZoneInfo
    default_language: str
    contact: Mapping[str, str]
    privacy_url: str
    ics_url: Callable[[int], str]
    executor: Executor | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    after_commit: Callable[[], None] = field(default=lambda: None)
    locks: ConversationLocks = field(default_factory=lambda: ConversationLocks())
    readers: sessionmaker[Session] | None = None  # for read-only work; falls back to ``sessions``
    files: FileStore | None = None  # raw audio and documents (content-addressed)
    bank: Bank | None = None  # the interview question bank
    # document kinds and each position's required documents; None: read from the content directory
    documents: documents.DocumentRules | None = None
    # platforms that answer through their API: replies become deliveries in the message's transaction
    push_platforms: frozenset[str] = frozenset()
    on_delivery: Callable[[], None] = field(default=lambda: None)  # proactive messages were written
    # HR users in chat: their own intent model and what their commands need (None: HR chat is off)
    hr_nlu: Parser | None = None
    hr_env: hr_io.HrEnv | None = None
    # employees: their intent model and what their commands need (None: employee chat is off)
    employee_nlu: Parser | None = None
    employee_env: employee_io.EmpEnv | None = None


class ConversationLocks:
    """One asyncio lock per conversation key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def get(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock


async def handle(inbound: Inbound, deps: Deps) -> Outcome:
    """The whole path from a translated platform message to the replies."""
    lock = deps.locks.get(inbound.conversation_key)
    async with lock:
        if deps.executor is None:
            # Embedded SQLite: a message is ~1 ms of work on one writer; a thread hop would cost a
            # third of that in GIL hand-offs, so it runs here (see bench/pipeline.py).
            outcome = handle_sync(inbound, deps)
        else:
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(deps.executor, handle_sync, inbound, deps)
    if outcome.queued:
        deps.after_commit()
    return outcome


def handle_sync(inbound: Inbound, deps: Deps) -> Outcome:
    now = deps.clock().astimezone(deps.tz)
    text_in = (inbound.text or "").strip()
    payload = _payload(inbound.payload)
    parse = None
    if text_in and len(text_in) <= MAX_TEXT and payload is None:
        parse = deps.nlu.parse(text_in, now=now)
    key = inbound.conversation_key
    engine = deps.sessions.kw["bind"]
    with engine.connect() as c:
        tx = c.begin()
        if c.dialect.name == "postgresql":
            c.execute(_PG_LOCK, {"k": key})
        conv = hot.load_conversation(c, key)
        row = hot.load_candidate(c, platform=inbound.platform, external_id=inbound.user_ref)
        if row is not None and (
            row.conversation_id != inbound.conversation_id or now - row.last_seen_at > TOUCH_EVERY
        ):
            hot.touch_identity(
                c, identity_id=row.identity_id, conversation_id=inbound.conversation_id, at=now
            )
        fallback = (conv.language if conv else None) or (row.user_language if row else None)
        spoken = _language(text_in, parse, "")
        lang = spoken or fallback or deps.default_language
        state = State(conv.step, conv.slots) if conv else State()
        result, replies, effects = _run(c, deps, inbound, row, state, text_in, payload, parse, lang, now)
        if row is None and not spoken:  # a bare code linked this new chat: it keeps the person's language
            lang = _linked_language(c, inbound) or lang
        hot.save_conversation(
            c, key=key, old=conv, step=result.step, slots=dict(result.data), language=lang, at=now
        )
        hot.enqueue(c, [(e.kind, {**e.data, "at": now.isoformat()}) for e in effects], at=now)
        pushed = inbound.platform in deps.push_platforms and bool(replies)
        if pushed:
            hot.deliver(
                c,
                platform=inbound.platform,
                conversation_id=inbound.conversation_id,
                bodies=[r.to_json() for r in replies],
                at=now,
            )
        # Recording the message id last, in the same transaction, makes a redelivery a no-op: when the
        # id is there already (processed before, or by a concurrent delivery that committed first),
        # everything this delivery did is rolled back and the first answer is repeated.
        if not hot.record(
            c,
            platform=inbound.platform,
            message_id=inbound.message_id,
            key=key,
            replies=[r.to_json() for r in replies],
            at=now,
        ):
            tx.rollback()
            with c.begin():
                stored = hot.stored_replies(c, platform=inbound.platform, message_id=inbound.message_id)
            return Outcome(tuple(reply_from_json(r) for r in stored), duplicate=True)
        tx.commit()
    if pushed:
        deps.on_delivery()
    return Outcome(tuple(replies), queued=len(effects))


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """Something outside the chat the conversation must react to (an answer scored, a slot opened).

    ``key`` makes it idempotent: an event with a key already handled is a no-op, like a redelivered
    message. The person is found by ``application_id`` (or the answer's interview) on the platform
    they used last, and the replies become proactive messages there.
    """

    kind: str
    key: str
    application_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


async def handle_event(event: SystemEvent, deps: Deps) -> Outcome:
    if deps.executor is None:
        return handle_event_sync(event, deps)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(deps.executor, handle_event_sync, event, deps)


def handle_event_sync(event: SystemEvent, deps: Deps) -> Outcome:
    now = deps.clock().astimezone(deps.tz)
    engine = deps.sessions.kw["bind"]
    data = dict(event.data)
    with engine.connect() as c, c.begin():
        app_id = event.application_id
        if event.kind == "answer_processed":
            ans = c.execute(
                select(Answer.status, Answer.problem, Answer.turn, Answer.is_probe, Interview.application_id)
                .join(Interview, Interview.id == Answer.interview_id)
                .where(Answer.id == int(data["answer_id"]))
            ).first()
            if ans is None:
                return Outcome(())
            data |= {"status": ans.status, "problem": ans.problem, "turn": ans.turn, "is_probe": ans.is_probe}
            app_id = ans.application_id
        q = select(Identity.platform, Identity.external_id, Identity.conversation_id)
        if data.get("user_id") is not None:  # someone without an application (an employee, a mentor)
            q = q.where(Identity.user_id == int(data["user_id"]))
        else:
            q = q.join(Application, Application.user_id == Identity.user_id).where(Application.id == app_id)
        ident = c.execute(q.order_by(Identity.last_seen_at.desc(), Identity.id.desc()).limit(1)).first()
    if ident is None:
        log.info("event %s: nobody to tell (application %s has no chat identity)", event.key, app_id)
        return Outcome(())
    key = f"{ident.platform}:{ident.conversation_id}"
    inbound = Inbound(
        platform=ident.platform,
        conversation_id=ident.conversation_id,
        user_ref=ident.external_id,
        message_id=event.key,
        text=None,
    )
    with engine.connect() as c:
        tx = c.begin()
        if c.dialect.name == "postgresql":
            c.execute(_PG_LOCK, {"k": key})
        conv = hot.load_conversation(c, key)
        row = hot.load_candidate(c, platform=ident.platform, external_id=ident.external_id)
        by_user = data.get("user_id") is not None
        if row is None or (not by_user and row.application_id != app_id):
            tx.rollback()
            return Outcome(())
        lang = (conv.language if conv else None) or row.user_language or deps.default_language
        state = State(conv.step, conv.slots) if conv else State()
        if row.user_role == "employee" and deps.employee_env is not None:
            ectx = _employee_context(deps, row, lang, now)
            first = employee.step(state, Event(event.kind, data), ectx)
            result_state, replies, effects = _drive_employee(c, deps, first, ectx, now)
            result = result_state
        else:
            ctx = _context(c, deps, row, lang, now)
            result, replies, effects = _drive(
                c, deps, inbound, state, Event(event.kind, data), ctx, lang, now
            )
        hot.save_conversation(
            c, key=key, old=conv, step=result.step, slots=dict(result.data), language=lang, at=now
        )
        hot.enqueue(c, [(e.kind, {**e.data, "at": now.isoformat()}) for e in effects], at=now)
        with Session(bind=c) as s:
            for r in replies:
                repo.deliver(
                    s,
                    platform=ident.platform,
                    conversation_id=ident.conversation_id,
                    body=r.to_json(),
                    now=now,
                )
            s.flush()
        if not hot.record(
            c,
            platform="system",
            message_id=event.key,
            key=key,
            replies=[r.to_json() for r in replies],
            at=now,
        ):
            tx.rollback()
            return Outcome((), duplicate=True)
        tx.commit()
    if replies:
        deps.on_delivery()
    if effects:
        deps.after_commit()
    return Outcome(tuple(replies), queued=len(effects))


def _run(
    c: Connection,
    deps: Deps,
    inbound: Inbound,
    row: Any,
    state: State,
    text_in: str,
    payload: str | None,
    parse: Any,
    lang: str,
    now: datetime,
) -> tuple[State, list[Reply], list[Effect]]:
    if row is not None and row.user_role == "hr" and deps.hr_env is not None:
        return _run_hr(c, deps, row, state, text_in, payload, parse, lang, now)
    if row is not None and row.user_role == "employee" and deps.employee_env is not None:
        return _run_employee(c, deps, row, state, text_in, payload, lang, now)
    ctx = _context(c, deps, row, lang, now)
    if _employee_question(deps, parse, text_in, payload, now):
        return state, [Reply(ctx.t("employee_only"))], []
    if payload is None and not text_in and inbound.media is None:
        return state, [Reply(ctx.t("empty_message"))], []
    if len(text_in) > MAX_TEXT and payload is None:
        return state, [Reply(ctx.t("too_long", n=len(text_in), limit=MAX_TEXT))], []
    if payload is None:
        payload, err = _numbered_choice(parse, state, ctx)
        if err is not None:
            return state, [err], []
    said = _said(text_in, parse, payload, inbound.media)
    return _drive(c, deps, inbound, state, said, ctx, lang, now)


def _drive(
    c: Connection,
    deps: Deps,
    inbound: Inbound,
    state: State,
    event: Said | Event,
    ctx: Ctx,
    lang: str,
    now: datetime,
) -> tuple[State, list[Reply], list[Effect]]:
    """Step the flow, run the command it asks for, feed the result back — a few times at most."""
    result = candidate.step(state, event, ctx)
    replies = list(result.replies)
    effects = list(result.effects)
    for _ in range(6):  # a command's result may lead to one more command, never a loop
        if result.command is None:
            break
        with Session(bind=c) as s:  # joins the message's transaction
            outcome = _execute(s, result.command, inbound, ctx, now, deps)
            s.flush()
        row = hot.load_candidate(c, platform=inbound.platform, external_id=inbound.user_ref)
        if result.command.name == "link_app" and outcome.get("status") == "ok" and _is_hr(row, deps):
            hctx = _hr_context(deps, row, outcome.get("language") or lang, now)
            return State(), [Reply(hctx.t("hr_linked", name=row.user_name))], effects
        if (
            result.command.name == "link_app"
            and outcome.get("status") == "ok"
            and row is not None
            and row.user_role == "employee"
            and deps.employee_env is not None
        ):
            ectx = _employee_context(deps, row, outcome.get("language") or lang, now)
            hello = Reply(ectx.t("emp_linked", name=row.user_name))
            # a new hire carries on with onboarding; everyone else sees what they can ask
            st, more, fx = _drive_employee(c, deps, employee.step(State(), Event("linked"), ectx), ectx, now)
            return st, [hello, *(more or [Reply(ectx.t("emp_help"))])], [*effects, *fx]
        ctx = _context(c, deps, row, lang, now)
        result = candidate.step(result.state, Done(result.command, outcome), ctx)
        replies += result.replies
        effects += result.effects
    return result.state, replies, effects


def _is_hr(row: Any, deps: Deps) -> bool:
    return row is not None and row.user_role == "hr" and deps.hr_env is not None


def _hr_context(deps: Deps, row: Any, lang: str, now: datetime) -> hr.HrCtx:
    return hr.HrCtx(
        now=now,
        tz=deps.tz,
        lang=lang,
        catalog=deps.catalog,
        user_id=row.user_id,
        user_name=row.user_name,
        scope=tuple(row.user_scope or ()),
    )


def _run_hr(
    c: Connection,
    deps: Deps,
    row: Any,
    state: State,
    text_in: str,
    payload: str | None,
    parse: Any,
    lang: str,
    now: datetime,
) -> tuple[State, list[Reply], list[Effect]]:
    """An HR user's message: their own intent model, the HR flow, its commands (each audited)."""
    ctx = _hr_context(deps, row, lang, now)
    refused = _unreadable(ctx, text_in, payload, "hr_text_only")
    if refused is not None:
        return state, [refused], []
    if payload is None:  # "2": a pick from the buttons last shown (the parse made before the transaction)
        picked, err = _numbered_choice(parse, state, ctx)  # type: ignore[arg-type]
        if err is not None:
            return state, [err], []
        payload = picked
    env = deps.hr_env
    assert env is not None
    return _commands(
        c,
        hr.step(state, _hr_said(deps, text_in, payload, now), ctx),
        lambda st, done: hr.step(st, done, ctx),
        lambda s, cmd: hr_io.execute(s, cmd, ctx=ctx, env=env, now=now),
    )


def _unreadable(ctx: Any, text_in: str, payload: str | None, empty_key: str) -> Reply | None:
    """HR's and employees' messages without words (a photo, a voice note) or over ``MAX_TEXT``."""
    if payload is not None:
        return None
    if not text_in:
        return Reply(ctx.t(empty_key))
    if len(text_in) > MAX_TEXT:
        return Reply(ctx.t("too_long", n=len(text_in), limit=MAX_TEXT))
    return None


def _commands(
    c: Connection,
    result: StepResult,
    step: Callable[[State, Done], StepResult],
    execute: Callable[[Session, Command], dict[str, Any]],
) -> tuple[State, list[Reply], list[Effect]]:
    """Run the commands a flow asks for in the message's transaction, feeding each result back (a few
    at most): HR's and employees' flows, whose context does not change with their commands."""
    replies, effects = list(result.replies), list(result.effects)
    for _ in range(6):
        if result.command is None:
            break
        with Session(bind=c) as s:
            outcome = execute(s, result.command)
            s.flush()
        result = step(result.state, Done(result.command, outcome))
        replies += result.replies
        effects += result.effects
    return result.state, replies, effects


_COLLEAGUE = re.compile(
    r"同事|别人|他的|她的|其他人|colleague|co-?worker|someone else|other people|his |her ", re.I
)
_PERSONAL = frozenset(
    {
        "ask_my_growth",
        "ask_payslip",
        "ask_leave_balance",
        "ask_course_progress",
        "onboarding_status",
        "ask_promotion_requirements",
        "ask_eligible_positions",
    }
)


def _employee_question(deps: Deps, parse: Any, text_in: str, payload: str | None, now: datetime) -> bool:
    """A candidate asking what only employees can ask ("我的工资条", "我还有几天年假")."""
    if deps.employee_nlu is None or payload is not None or not text_in:
        return False
    if parse is not None and getattr(parse, "intent", "") != "nlu_fallback":
        return False
    p = deps.employee_nlu.parse(text_in, now=now)
    return p.intent in _PERSONAL | {"request_training", "ask_mentor"} and float(p.confidence) >= 0.85


def _employee_context(deps: Deps, row: Any, lang: str, now: datetime) -> employee.EmpCtx:
    return employee.EmpCtx(
        now=now, tz=deps.tz, lang=lang, catalog=deps.catalog, user_id=row.user_id, name=row.user_name
    )


def _about_someone_else(c: Connection, row: Any, text_in: str) -> bool:
    """An employee asking for a colleague's data: a colleague word, or another employee's name."""
    if _COLLEAGUE.search(text_in):
        return True
    from storage.models import Employee as EmployeeRow

    names = c.execute(
        select(EmployeeRow.name)
        .where(
            EmployeeRow.user_id != row.user_id,
            func.length(EmployeeRow.name) >= 2,
            literal(text_in[:200]).contains(EmployeeRow.name),
        )
        .limit(1)
    ).first()
    return names is not None


def _run_employee(
    c: Connection,
    deps: Deps,
    row: Any,
    state: State,
    text_in: str,
    payload: str | None,
    lang: str,
    now: datetime,
) -> tuple[State, list[Reply], list[Effect]]:
    """An employee's message: their own intent model, the employee flow, its commands (own data only)."""
    ctx = _employee_context(deps, row, lang, now)
    refused = _unreadable(ctx, text_in, payload, "emp_text_only")
    if refused is not None:
        return state, [refused], []
    said: Said
    if payload is not None:
        said = Said(text_in, "nlu_fallback", {}, payload)
    else:
        assert deps.employee_nlu is not None
        p = deps.employee_nlu.parse(text_in, now=now)
        if p.number is not None and state.data.get("choices"):
            picked, err = _pick(p.number, state, ctx)  # type: ignore[arg-type]
            if err is not None:
                return state, [err], []
            said = Said(text_in, "nlu_fallback", {}, picked)
        else:
            if p.intent in _PERSONAL and _about_someone_else(c, row, text_in):
                return state, [Reply(ctx.t("emp_someone_else"))], []
            entities = {
                k: getattr(p, k)
                for k in (
                    "indicator",
                    "course",
                    "position",
                    "chapter",
                    "percent",
                    "completed",
                    "field",
                    "value",
                    "number",
                )
            }
            entities["month"] = list(p.month) if p.month else None
            said = Said(text_in, p.intent, entities, None, float(p.confidence))
    result = employee.step(state, said, ctx)
    return _drive_employee(c, deps, result, ctx, now)


def _drive_employee(
    c: Connection, deps: Deps, result: StepResult, ctx: employee.EmpCtx, now: datetime
) -> tuple[State, list[Reply], list[Effect]]:
    env = deps.employee_env
    assert env is not None
    return _commands(
        c,
        result,
        lambda st, done: employee.step(st, done, ctx),
        lambda s, cmd: employee_io.execute(s, cmd, ctx=ctx, env=env, now=now),
    )


def _hr_said(deps: Deps, text_in: str, payload: str | None, now: datetime) -> Said:
    if payload is not None or deps.hr_nlu is None:
        return Said(text_in, "nlu_fallback", {}, payload)
    p = deps.hr_nlu.parse(text_in, now=now)
    entities: dict[str, Any] = {
        "ids": list(p.candidate_ids),
        "names": list(p.names),
        "position": p.position,
        "states": list(p.states),
        "period": [p.period[0].isoformat(), p.period[1].isoformat()] if p.period else None,
        "all": p.all,
        "negate": p.negate,
        "score": p.score,
        "decision": p.decision,
        "reason": p.reason,
        "salary": p.salary,
        "times": [t.isoformat() for t in p.times],
    }
    return Said(text_in, p.intent, entities, None, float(p.confidence))


def _execute(
    s: Session, cmd: Command, inbound: Inbound, ctx: Ctx, now: datetime, deps: Deps
) -> dict[str, Any]:
    """Run a flow's command with the ORM, inside the message's transaction."""
    if cmd.name.startswith("iv_") or cmd.name == "accommodation":
        return interview_io.execute(
            s, cmd, platform=inbound.platform, message_id=inbound.message_id, ctx=ctx, now=now
        )
    if cmd.name in documents_io.COMMANDS:
        return documents_io.execute(s, cmd, inbound=inbound, ctx=ctx, files=deps.files, now=now)
    if cmd.name == "link":
        code = str(cmd.args["code"])
        r = repo.link_invitation(
            s,
            code=code,
            platform=inbound.platform,
            external_id=inbound.user_ref,
            conversation_id=inbound.conversation_id,
            display_name=None,
            language=ctx.lang,
            now=now,
        )
        return {"status": r.status, "code": repo.format_code(repo.normalise_code(code))}
    app = s.get(Application, ctx.app.id) if ctx.app is not None else None
    if cmd.name in ("demographics", "demographics_withdraw", "demographics_decline"):
        if app is None:
            return {"status": "missing"}
        from storage import demographics as demo

        if cmd.name == "demographics":
            a = cmd.args
            demo.record_demographics(
                s, app=app, sex=a.get("sex"), age_band=a.get("age_band"), region=a.get("region"), now=now
            )
            return {"status": "ok"}
        if cmd.name == "demographics_decline":
            repo.record_consent(s, app=app, kind=demo.CONSENT_KIND, granted=False, now=now)
            return {"status": "ok"}
        return {"status": "ok" if demo.withdraw_demographics(s, app=app, now=now) else "nothing"}
    if cmd.name == "review":
        if app is None:
            return {"status": "missing"}
        return {"status": hr_actions.request_review(s, app, now=now).status}
    if cmd.name == "human":
        if app is not None:
            app.needs_human = True
            repo.audit(
                s,
                now=now,
                actor=f"user:{app.user_id}",
                action="human.requested",
                subject=f"application:{app.id}",
            )
        return {"status": "ok"}
    if app is None:
        return {"status": "missing"}
    if cmd.name == "consent":
        repo.record_consent(s, app=app, kind=cmd.args["kind"], granted=bool(cmd.args["granted"]), now=now)
        if not cmd.args["granted"]:
            app.needs_human = True
        if app.stage == "linked" and {"voice", "documents"} <= set(repo.latest_consents(s, app.id)):
            app.stage = "consented"
            app.updated_at = now
        return {"status": "ok"}
    if cmd.name == "book":
        r = repo.book(s, app=app, slot_id=int(cmd.args["slot_id"]), now=now)
    elif cmd.name == "move":
        r = repo.move_booking(s, app=app, slot_id=int(cmd.args["slot_id"]), now=now)
    elif cmd.name == "cancel":
        r = repo.cancel_booking(s, app=app, now=now)
    else:
        raise ValueError(f"unknown command {cmd.name}")
    return {
        "status": r.status,
        "booking_id": r.booking_id,
        "old_booking_id": r.old_booking_id,
        "starts_at": r.starts_at.isoformat() if r.starts_at else None,
    }


# ------------------------------------------------------------------ reading what the flow needs


class _ConnectionView:
    def __init__(self, c: Connection, tz: ZoneInfo, bank: Bank | None = None) -> None:
        self._c, self._tz, self._bank = c, tz, bank
        self._history: dict[tuple[int, int, str], Any] = {}
        self._documents: tuple[int, list[DocumentView]] | None = None

    def interview_history(self, interview: InterviewView, position_code: str) -> Any:
        key = (interview.id, interview.turn, interview.awaiting)
        if key not in self._history:
            assert self._bank is not None, "Deps.bank is needed for interviews"
            self._history[key] = interview_io.load_history(self._c, self._bank, interview, position_code)
        return self._history[key]

    def documents(self, application_id: int) -> Sequence[DocumentView]:
        if self._documents is None or self._documents[0] != application_id:
            rows = storage_documents.listing(self._c, application_id)
            self._documents = (
                application_id,
                [DocumentView(r.id, r.kind, r.status, r.mime, r.filename) for r in rows],
            )
        return self._documents[1]

    def open_slots(
        self, position_id: int, *, after: datetime, limit: int, application_id: int | None = None
    ) -> Sequence[SlotView]:
        rows = hot.open_slots(
            self._c, position_id=position_id, after=after, limit=limit, application_id=application_id
        )
        return [
            SlotView(
                r.id, r.starts_at.astimezone(self._tz), r.ends_at.astimezone(self._tz), r.capacity - r.booked
            )
            for r in rows
        ]


def _context(c: Connection, deps: Deps, row: Any, lang: str, now: datetime) -> Ctx:
    app_view = booking_view = None
    if row is not None and row.application_id is not None:
        consents = {"voice": row.consent_voice, "documents": row.consent_documents}
        app_view = ApplicationView(
            id=row.application_id,
            name=row.candidate_name,
            stage=row.stage,
            position_id=row.position_id,
            position_code=row.position_code,
            position_title={"zh": row.title_zh, "en": row.title_en},
            location={"zh": row.location_zh, "en": row.location_en},
            minutes=row.interview_minutes,
            consents={k: bool(v) for k, v in consents.items() if v is not None},
            interview_mode=row.interview_mode,
            window_days=row.interview_window_days,
            window_hours=row.interview_window_hours,
            question_count=row.question_count,
            text_answers=bool(row.text_answers),
            round=row.app_round or 1,
        )
        if row.booking_id is not None:
            slot = SlotView(
                row.slot_id,
                row.starts_at.astimezone(deps.tz),
                row.ends_at.astimezone(deps.tz),
                row.capacity - row.booked,
            )
            booking_view = BookingView(row.booking_id, slot, deps.ics_url(row.booking_id))
    return Ctx(
        now=now,
        tz=deps.tz,
        lang=lang,
        catalog=deps.catalog,
        contact=deps.contact,
        privacy_url=deps.privacy_url,
        view=_ConnectionView(c, deps.tz, deps.bank),
        app=app_view,
        booking=booking_view,
        interview=interview_io.interview_view(row),
        bank=deps.bank,
        docs=deps.documents or documents.default_rules(),
    )


# ------------------------------------------------------------------ small translations


def _payload(p: Any) -> str | None:
    if p is None or p == "":
        return None
    if isinstance(p, str):
        return p
    if isinstance(p, Mapping) and "payload" in p:
        return str(p["payload"])
    return None


def _language(text_in: str, parse: Any, fallback: str) -> str:
    """The reply follows the user's language; messages without words keep the conversation's."""
    if _SLASH.match(text_in):  # "/list completed TELLER": command words are no language
        return "zh" if _CJK.search(text_in) else fallback
    probe = text_in
    if parse is not None:
        for e in getattr(parse, "entities", ()):
            if e.entity == "invite_code":
                probe = probe[: e.start] + probe[e.end :]
    if _CJK.search(probe):
        return "zh"
    if _LATIN_WORD.search(probe) and _LATIN_WORD.search(linking.strip_codes(probe)):
        return "en"  # a link code ("K7M2QX") is not English
    return fallback


def _linked_language(c: Connection, inbound: Inbound) -> str | None:
    row = hot.load_candidate(c, platform=inbound.platform, external_id=inbound.user_ref)
    return row.user_language if row is not None else None


def _numbered_choice(parse: Any, state: State, ctx: Ctx) -> tuple[str | None, Reply | None]:
    """ "2", "第二个", "option 3": a pick from the buttons last shown (channels without buttons)."""
    number = next((e for e in getattr(parse, "entities", ()) if e.entity == "number"), None)
    if not state.data.get("choices") or number is None:
        return None, None
    return _pick(int(number.value), state, ctx)


def _pick(n: int, state: State, ctx: Ctx) -> tuple[str | None, Reply | None]:
    """The payload of the ``n``-th button last shown, or a polite "there is no option n"."""
    choices = state.data.get("choices") or []
    if not 1 <= n <= len(choices):
        return None, Reply(ctx.t("choice_out_of_range", n=n, max=len(choices)))
    return str(choices[n - 1]), None


def _said(text_in: str, parse: Any, payload: str | None, media: Any = None) -> Said:
    if parse is None:
        return Said(text_in, "nlu_fallback", {}, payload, media=media)
    entities: dict[str, Any] = {}
    for e in parse.entities:
        entities.setdefault(e.entity, {"value": e.value, "start": e.start, "end": e.end, **dict(e.extra)})
    return Said(text_in, parse.intent, entities, payload, float(parse.confidence), media)


def reply_from_json(r: Mapping[str, Any]) -> Reply:
    from flows.values import Choice, FileRef

    return Reply(
        r["text"],
        tuple(Choice(c["title"], c["payload"]) for c in r.get("choices", [])),
        tuple(FileRef(f["name"], f["mime"], f["url"]) for f in r.get("files", [])),
    )


__all__ = [
    "Deps",
    "ConversationLocks",
    "SystemEvent",
    "handle",
    "handle_event",
    "handle_event_sync",
    "handle_sync",
    "reply_from_json",
    "StepResult",
]
