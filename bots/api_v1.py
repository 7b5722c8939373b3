"""The read API for the bank's HR system, under /api/v1, behind bearer API tokens with scopes.

GET /api/v1/openapi.json                  the OpenAPI 3.1 document (no token needed)
GET /api/v1/profiles                      talent profiles, keyset-paginated        profiles:read
GET /api/v1/profiles/{application_id}     one profile and its decision history     profiles:read
GET /api/v1/reports/{application_id}      the interview report                     reports:read
GET /api/v1/funnels/{position_code}       the position's funnel (actions.funnel)   funnel:read

``Authorization: Bearer tb_…`` (a token from ``talentbot user add``) of an HR user. Errors are JSON
``{"error": {"code", "message"}}`` (the message in Chinese when ``Accept-Language`` prefers it):
401 for a missing, unknown, expired or revoked token (with ``WWW-Authenticate: Bearer``), 403 when the
token lacks the endpoint's scope, 400 for a bad parameter, 404 for anything missing — and for anything
outside the user's scope, which answers exactly as missing does, so a token cannot tell what exists.

What leaves: stages, milestones, scores and their versions, decisions, document *kinds* — never a
candidate's name, self-declared demographics, a transcript (nor the evidence passages quoted from
one), a recording or a document's content. Every read of candidate data writes an audit row (actor
``token:<id>``) before the response is sent; a list read is one row with the ids it returned.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from actions import funnel as funnels
from actions.interview_report import load_report
from bots.hr_web import report_versions
from bots.runtime import Runtime
from flows.documents import DocumentRules, default_rules
from scoring.questions import INDICATORS, Bank
from scoring.report import to_json as report_json
from storage import accounts, repo
from storage.models import Application, Decision, Document, Interview, OutboxItem, Position, User, UTCDateTime

PREFIX = "/api/v1"
READ_PROFILES = "profiles:read"
READ_REPORTS = accounts.READ_REPORTS
READ_FUNNEL = "funnel:read"
WRITE_HIRES = "hires:write"
SCOPES = (READ_PROFILES, READ_REPORTS, READ_FUNNEL, WRITE_HIRES)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
LANGUAGES = ("zh", "en")
STAGES = (
    "invited",
    "linked",
    "consented",
    "booked",
    "interviewing",
    "interviewed",
    "shortlisted",
    "next_round",
    "offer",
    "hired",
    "rejected",
    "withdrawn",
)
MILESTONES = (
    "booked_at",
    "interviewed_at",
    "shortlisted_at",
    "next_round_at",
    "offer_at",
    "hired_at",
    "rejected_at",
)
SECURITY_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

_MESSAGES: Mapping[str, tuple[str, str]] = {
    "unauthorized": (
        "需要访问令牌：Authorization: Bearer <令牌>。",
        "A token is needed: Authorization: Bearer <token>.",
    ),
    "invalid_token": ("令牌无效、已过期或已撤销。", "The token is invalid, expired or revoked."),
    "insufficient_scope": ("此令牌没有访问该接口的权限（{scope}）。", "This token lacks the scope {scope}."),
    "forbidden": ("此令牌不属于招聘专员账号。", "This token does not belong to an HR user."),
    "not_found": ("未找到。", "Not found."),
    "method_not_allowed": ("不支持该请求方法。", "Method not allowed."),
    "invalid_parameter": ("参数 {parameter} 有误：{detail_zh}", "Invalid parameter {parameter}: {detail_en}"),
    "unavailable": ("服务暂不可用。", "The service is unavailable right now."),
    "conflict": (
        "该申请已婉拒或撤回，不能记为入职。",
        "The application is rejected or withdrawn; it cannot be hired.",
    ),
}
ERROR_CODES = tuple(sorted(_MESSAGES))  # the "code" of an error answer


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        *,
        scope: str | None = None,
        parameter: str | None = None,
        detail: tuple[str, str] = ("", ""),
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.scope = scope
        self.parameter = parameter
        self.detail = detail

    def message(self, lang: str) -> str:
        zh, en = _MESSAGES[self.code]
        return (zh if lang == "zh" else en).format(
            scope=self.scope or "",
            parameter=self.parameter or "",
            detail_zh=self.detail[0],
            detail_en=self.detail[1],
        )


def _bad(parameter: str, zh: str, en: str) -> ApiError:
    return ApiError(400, "invalid_parameter", parameter=parameter, detail=(zh, en))


def _not_found() -> ApiError:
    return ApiError(404, "not_found")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the token's HR user (attached to the read session) and the token."""

    user: User
    token_id: int
    token_name: str

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}"

    def details(self, **more: Any) -> dict[str, Any]:
        return {"user_id": self.user.id, "token": self.token_name, **more}


@dataclass(frozen=True, slots=True)
class Read:
    body: Any
    audit: dict[str, Any] | None  # repo.audit's keywords (all but ``now``); None: nothing to audit


# ------------------------------------------------------------------ parameters


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= MAX_LIMIT:
        raise _bad("limit", f"应为 1–{MAX_LIMIT} 的整数", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def encode_cursor(updated_at: datetime, application_id: int) -> str:
    raw = f"{updated_at.isoformat()}|{application_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    if raw is None:
        return None
    bad = _bad("cursor", "请使用上一页返回的 next_cursor", "use the next_cursor of the previous page")
    if not raw or len(raw) > 200:
        raise bad
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
        stamp, _, ident = text.partition("|")
        at = datetime.fromisoformat(stamp)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if at.tzinfo is None or not (ident.isdigit() and len(ident) <= 12):
        raise bad
    return at, int(ident)


def _timestamp(name: str, raw: str | None, tz: tzinfo) -> datetime | None:
    """An ISO 8601 time with its UTC offset, or a date (its midnight in the bank's time zone)."""
    if raw is None:
        return None
    bad = _bad(
        name,
        "应为带时区的 ISO 8601 时间（如 2026-11-25T08:00:00Z）或日期（YYYY-MM-DD）",
        "must be an ISO 8601 time with its UTC offset (e.g. 2026-11-25T08:00:00Z) or a date (YYYY-MM-DD)",
    )
    text = raw.strip()
    if len(text) > 40:
        raise bad
    candidates = [text]
    if " " in text:  # an unencoded "+08:00" arrives as " 08:00"
        i = text.rfind(" ")
        candidates.append(f"{text[:i]}+{text[i + 1 :]}")
    for candidate in candidates:
        try:
            if len(candidate) == 10:
                return datetime.combine(date.fromisoformat(candidate), time.min, tzinfo=tz)
            value = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if value.tzinfo is None:
            raise bad
        return value
    raise bad


def _date(name: str, raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad(name, "应为日期 YYYY-MM-DD", "must be a date, YYYY-MM-DD") from None


def _stage(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw not in STAGES:
        raise _bad("stage", "应为以下之一：" + "、".join(STAGES), "must be one of " + ", ".join(STAGES))
    return raw


def _app_id(raw: str) -> int | None:
    """A path id: 1–9 digits (fits every backend's integer); anything else names nothing (404)."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


def _lang(request: Request) -> str:
    first = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# ------------------------------------------------------------------ profiles


def _latest_interviews(s: Session, ids: Sequence[int]) -> dict[int, Interview]:
    """Each application's latest completed interview (the one its overall score comes from)."""
    out: dict[int, Interview] = {}
    if not ids:
        return out
    rows = s.scalars(
        select(Interview)
        .where(Interview.application_id.in_(ids), Interview.status == "completed")
        .order_by(Interview.application_id, Interview.round)
    )
    for iv in rows:
        out[iv.application_id] = iv  # the highest round wins
    return out


def _current_kinds(s: Session, ids: Sequence[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    if not ids:
        return out
    rows = s.execute(
        select(Document.application_id, Document.kind).where(
            Document.application_id.in_(ids), Document.status == "current"
        )
    )
    for app_id, kind in rows:
        if kind:
            out.setdefault(app_id, set()).add(kind)
    return out


def profile_dict(
    app: Application, code: str, iv: Interview | None, submitted: set[str], required: Sequence[str]
) -> dict[str, Any]:
    """One talent profile: what the HR system may hold (no name, no demographics, no content)."""
    overall = iv.overall if iv is not None else None
    effective = app.score_override if app.score_override is not None else overall
    indicators = None
    if iv is not None and iv.scores is not None:
        indicators = {k: iv.scores.get(k) for k in INDICATORS}
    missing = [k for k in required if k not in submitted]
    return {
        "id": app.id,
        "position": code,
        "stage": app.stage,
        "priority": bool(app.priority),
        "round": app.round,
        "effective_score": effective,
        "overall": overall,
        "score_override": app.score_override,
        "indicators": indicators,
        "interview": None
        if iv is None
        else {"round": iv.round, "completed_at": _iso(iv.completed_at), "versions": dict(iv.versions or {})},
        "documents_complete": not missing,
        "documents_missing": missing,
        "milestones": {m.removesuffix("_at"): _iso(getattr(app, m)) for m in MILESTONES},
        "review_requested_at": _iso(app.review_requested_at),
        "created_at": _iso(app.created_at),
        "updated_at": _iso(app.updated_at),
    }


def scrub_report(data: dict[str, Any]) -> dict[str, Any]:
    """The report JSON without the candidate's name, the transcripts (and their recordings) and the
    transcript passages quoted as evidence."""
    out = dict(data)
    out.pop("candidate", None)
    out.pop("transcripts", None)
    out["indicators"] = [
        {
            **ind,
            "evidence": [{k: v for k, v in ev.items() if k != "passage"} for ev in ind.get("evidence", [])],
        }
        for ind in data.get("indicators", [])
    ]
    out["withheld"] = ["candidate", "transcripts", "indicators.evidence.passage"]
    return out


# ------------------------------------------------------------------ the API


class ApiV1:
    """The /api/v1 handlers over explicit dependencies (``routes(rt)`` wires them from a runtime)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        readers: sessionmaker[Session] | None = None,
        clock: Callable[[], datetime],
        tz: tzinfo,
        bank: Bank | None,
        documents: DocumentRules | None = None,
        default_language: str = "zh",
        executor: Executor | None = None,
        growth: Any = None,
        post_event: Callable[[Any], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.readers = readers or sessions
        self.clock = clock
        self.tz = tz
        self.bank = bank
        self.documents = documents
        self.default_language = default_language
        self.executor = executor
        self.growth = growth  # flows.growth_content.GrowthContent: onboarding when a hire is recorded
        self.post_event = post_event  # flows.engine.SystemEvent → the person's chat

    def routes(self) -> list[BaseRoute]:
        api: list[Route] = [
            Route(f"{PREFIX}/openapi.json", self.openapi, methods=["GET"]),
            Route(f"{PREFIX}/profiles", self.profiles, methods=["GET"]),
            Route(f"{PREFIX}/profiles/{{application_id}}", self.profile, methods=["GET"]),
            Route(f"{PREFIX}/reports/{{application_id}}", self.report, methods=["GET"]),
            Route(f"{PREFIX}/funnels/{{position_code}}", self.funnel, methods=["GET"]),
            Route(f"{PREFIX}/applications/{{application_id}}/hire", self.hire, methods=["POST"]),
        ]
        known = [r.path_regex for r in api]

        async def fallback(request: Request) -> Response:
            """A JSON 404 for any other path under /api/v1; 405 for a known one with another method."""
            if any(rx.match(request.url.path) for rx in known):
                allow = "POST" if request.url.path.endswith("/hire") else "GET, HEAD"
                return _error(request, ApiError(405, "method_not_allowed"), allow=allow)
            return _error(request, _not_found())

        return [*api, Route(f"{PREFIX}/{{rest:path}}", fallback, methods=_METHODS)]

    # ---- plumbing

    async def _write(self, fn: Callable[[], Any]) -> Any:
        """A short write: on the loop's thread for embedded SQLite (one writer, as the engine does),
        on the runtime's pool otherwise."""
        if self.executor is None:
            return fn()
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    async def _serve(
        self, request: Request, scope: str, work: Callable[[Session, Caller, datetime], Read]
    ) -> Response:
        """Authenticate, authorise, read (off the loop), audit, answer — in that order: nothing is
        sent before its audit row is committed."""
        token = _bearer(request)
        if token is None:
            return _error(request, ApiError(401, "unauthorized"))
        now = self.clock()

        def run() -> Read | ApiError:
            with self.readers() as s:
                caller = _caller(s, token, scope, now)
                if isinstance(caller, ApiError):
                    return caller
                try:
                    return work(s, caller, now)
                except ApiError as e:
                    return e

        result = await asyncio.to_thread(run)
        if isinstance(result, ApiError):
            return _error(request, result)
        if result.audit is not None:
            entry = result.audit

            def write() -> None:
                with self.sessions.begin() as s:
                    repo.audit(s, now=self.clock(), **entry)

            await self._write(write)
        return _json(result.body)

    def _visible(self, s: Session, caller: Caller) -> dict[int, Position]:
        return {p.id: p for p in s.scalars(select(Position)) if accounts.in_scope(caller.user, p)}

    def _rules(self) -> DocumentRules:
        return self.documents if self.documents is not None else default_rules()

    def _required(self, code: str) -> list[str]:
        return [k.id for k in self._rules().required_for(code)]

    def _app_in_scope(self, s: Session, caller: Caller, raw: str) -> tuple[Application, Position]:
        app_id = _app_id(raw)
        app = s.get(Application, app_id) if app_id is not None else None
        pos = s.get(Position, app.position_id) if app is not None else None
        # out of scope answers exactly as missing does
        if app is None or pos is None or not accounts.in_scope(caller.user, pos):
            raise _not_found()
        return app, pos

    # ---- endpoints

    async def openapi(self, request: Request) -> Response:
        from bots.api_v1_openapi import openapi_document

        return _json(openapi_document())

    async def profiles(self, request: Request) -> Response:
        q = request.query_params

        def work(s: Session, caller: Caller, now: datetime) -> Read:
            limit = _limit(q.get("limit"))
            cursor = _cursor(q.get("cursor"))
            stage = _stage(q.get("stage"))
            since = _timestamp("updated_since", q.get("updated_since"), self.tz)
            visible = self._visible(s, caller)
            code = q.get("position")
            ids = list(visible)
            if code is not None:
                ids = [p.id for p in visible.values() if p.code.casefold() == code.strip().casefold()]
                if not ids:
                    raise _not_found()
            stmt = select(Application).where(Application.position_id.in_(ids))
            if stage is not None:
                stmt = stmt.where(Application.stage == stage)
            if since is not None:
                stmt = stmt.where(Application.updated_at >= since)
            if cursor is not None:
                stmt = stmt.where(
                    tuple_(Application.updated_at, Application.id)
                    > tuple_(bindparam("cu", cursor[0], type_=UTCDateTime()), bindparam("ci", cursor[1]))
                )
            rows = list(s.scalars(stmt.order_by(Application.updated_at, Application.id).limit(limit + 1)))
            page, more = rows[:limit], len(rows) > limit
            page_ids = [a.id for a in page]
            interviews = _latest_interviews(s, page_ids)
            kinds = _current_kinds(s, page_ids)
            data = [
                profile_dict(
                    a,
                    visible[a.position_id].code,
                    interviews.get(a.id),
                    kinds.get(a.id, set()),
                    self._required(visible[a.position_id].code),
                )
                for a in page
            ]
            body = {
                "data": data,
                "next_cursor": encode_cursor(page[-1].updated_at, page[-1].id) if more else None,
                "limit": limit,
            }
            filters = {
                "position": code,
                "stage": stage,
                "updated_since": _iso(since),
                "cursor": q.get("cursor"),
                "limit": limit,
            }
            audit = {
                "actor": caller.actor,
                "action": "api.profile.list",
                "subject": f"position:{visible[ids[0]].code}" if code is not None else "applications",
                "details": caller.details(ids=page_ids, count=len(page_ids), filters=filters),
            }
            return Read(body, audit)

        return await self._serve(request, READ_PROFILES, work)

    async def profile(self, request: Request) -> Response:
        raw = request.path_params["application_id"]

        def work(s: Session, caller: Caller, now: datetime) -> Read:
            app, pos = self._app_in_scope(s, caller, raw)
            iv = _latest_interviews(s, [app.id]).get(app.id)
            body = profile_dict(
                app, pos.code, iv, _current_kinds(s, [app.id]).get(app.id, set()), self._required(pos.code)
            )
            decisions = s.scalars(
                select(Decision).where(Decision.application_id == app.id).order_by(Decision.at, Decision.id)
            )
            body["decisions"] = [
                {
                    "id": d.id,
                    "kind": d.kind,
                    "actor": d.actor,
                    "reason": d.reason,
                    "data": d.data,
                    "at": _iso(d.at),
                }
                for d in decisions
            ]
            audit = {
                "actor": caller.actor,
                "action": "api.profile.read",
                "subject": f"application:{app.id}",
                "details": caller.details(decisions=len(body["decisions"])),
                "input_versions": dict(iv.versions or {}) if iv is not None else {},
            }
            return Read(body, audit)

        return await self._serve(request, READ_PROFILES, work)

    async def report(self, request: Request) -> Response:
        raw = request.path_params["application_id"]
        lang_raw = request.query_params.get("lang")

        def work(s: Session, caller: Caller, now: datetime) -> Read:
            if lang_raw is not None and lang_raw not in LANGUAGES:
                raise _bad("lang", "只能是 zh 或 en", "must be zh or en")
            app, _ = self._app_in_scope(s, caller, raw)
            if self.bank is None:
                raise ApiError(503, "unavailable")
            language = lang_raw or caller.user.language or self.default_language
            loaded = load_report(s, app.id, language=language, bank=self.bank, now=now)
            if loaded is None:
                raise _not_found()
            body = scrub_report(report_json(loaded.report))
            body["interview"] = {"status": loaded.status, "mismatches": list(loaded.mismatches)}
            audit = {
                "actor": caller.actor,
                "action": "api.report.read",
                "subject": f"application:{app.id}",
                "details": caller.details(language=language),
                "input_versions": report_versions(loaded),
            }
            return Read(body, audit)

        return await self._serve(request, READ_REPORTS, work)

    async def hire(self, request: Request) -> Response:
        return await _hire(self, request)

    async def funnel(self, request: Request) -> Response:
        code = request.path_params["position_code"]
        q = request.query_params

        def work(s: Session, caller: Caller, now: datetime) -> Read:
            since = _date("since", q.get("since"))
            until = _date("until", q.get("until"))
            if since is not None and until is not None and since > until:
                raise _bad("since", "不能晚于 until", "must not be after until")
            pos = repo.position_by_code(s, code) if len(code) <= 40 else None
            if pos is None or not accounts.in_scope(caller.user, pos):
                raise _not_found()
            result = funnels.funnel(s, positions=[pos], since=since, until=until, tz=self.tz)
            audit = {
                "actor": caller.actor,
                "action": "api.funnel.read",
                "subject": f"position:{pos.code}",
                "details": caller.details(since=_iso_date(since), until=_iso_date(until), **result.counts()),
                "input_versions": {"method": funnels.METHOD, "params": result.params.to_dict()},
            }
            return Read(funnels.to_json(result), audit)

        return await self._serve(request, READ_FUNNEL, work)


def _caller(s: Session, token: str, scope: str, now: datetime) -> Caller | ApiError:
    """Who calls with ``token``: a live token of an HR user that carries ``scope``."""
    found = accounts.verify_token(s, token, now=now)
    if found is None:
        return ApiError(401, "invalid_token")
    user, row = found
    if user.role != "hr":
        return ApiError(403, "forbidden")
    if scope not in (row.scopes or []):
        return ApiError(403, "insufficient_scope", scope=scope)
    return Caller(user, row.id, row.name)


async def _hire(api: ApiV1, request: Request) -> Response:
    """POST /api/v1/applications/{id}/hire {"start_date": "YYYY-MM-DD"?, "employee_ref": "…"?}: the HR
    system records a hire. The application becomes an employee (onboarding starts in their chat, a
    mentor is matched), a decisions row and an audit row are written, the candidate is told. Repeating
    it is harmless (200 with ``"status": "unchanged"``)."""
    token = _bearer(request)
    if token is None:
        return _error(request, ApiError(401, "unauthorized"))
    try:
        body = await request.json() if (await request.body()) else {}
    except ValueError:
        return _error(request, _bad("body", "不是 JSON", "is not JSON"))
    if not isinstance(body, dict):
        return _error(request, _bad("body", "应为 JSON 对象", "must be a JSON object"))
    try:
        start = _date("start_date", body.get("start_date"))
    except ApiError as e:
        return _error(request, e)
    ref = body.get("employee_ref")
    if ref is not None and (not isinstance(ref, str) or not 0 < len(ref) <= 100):
        return _error(request, _bad("employee_ref", "应为 1–100 个字符", "must be 1–100 characters"))
    now = api.clock()

    def run() -> dict[str, Any] | ApiError:
        from storage import employees, hr_actions
        from storage.models import Employee

        with api.sessions.begin() as s:
            caller = _caller(s, token, WRITE_HIRES, now)
            if isinstance(caller, ApiError):
                return caller
            try:
                app, pos = api._app_in_scope(s, caller, request.path_params["application_id"])
            except ApiError as e:
                return e
            user = caller.user
            actor = caller.actor
            r = hr_actions.mark_hired(s, app, user_id=user.id, now=now, start_date=_iso_date(start))
            if r.status == "conflict":
                return ApiError(409, "conflict")
            out: dict[str, Any] = {"application_id": app.id, "status": r.status, "stage": app.stage}
            if r.status == "ok":
                s.add(
                    OutboxItem(
                        kind="hr_sync",
                        payload={
                            "event": "stage_changed",
                            "application_id": app.id,
                            "position": pos.code,
                            "stage": "hired",
                            "at": now.isoformat(),
                        },
                        status="pending",
                        attempts=0,
                        created_at=now,
                    )
                )
            if api.growth is not None:
                hired = employees.hire(
                    s, app, content=api.growth, now=now, tz=api.tz, start=start, actor=actor
                )
                emp: Employee = hired.employee
                if ref and emp.external_ref is None:
                    emp.external_ref = ref
                out["employee"] = {
                    "id": emp.id,
                    "start_date": emp.start_date.isoformat(),
                    "department": emp.department,
                    "mentor_id": emp.mentor_id,
                }
            return out

        return {}

    result = await asyncio.to_thread(run) if api.executor is not None else run()
    if isinstance(result, ApiError):
        return _error(request, result)
    if result.get("status") == "ok" and api.post_event is not None:
        from flows.engine import SystemEvent

        api.post_event(
            SystemEvent("hired", f"hired:{result['application_id']}", int(result["application_id"]), {})
        )
    return _json(result)


def _iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})


def _error(request: Request, err: ApiError, *, allow: str | None = None) -> Response:
    headers: dict[str, str] = {}
    if err.status == 401:
        headers["www-authenticate"] = 'Bearer realm="talentbot"' + (
            ', error="invalid_token"' if err.code == "invalid_token" else ""
        )
    elif err.code == "insufficient_scope":
        headers["www-authenticate"] = (
            f'Bearer realm="talentbot", error="insufficient_scope", scope="{err.scope}"'
        )
    if allow is not None:
        headers["allow"] = allow
    body: dict[str, Any] = {"code": err.code, "message": err.message(_lang(request))}
    if err.parameter is not None:
        body["parameter"] = err.parameter
    return _json({"error": body}, err.status, headers)


def routes(rt: Runtime) -> list[BaseRoute]:
    """The /api/v1 routes over the runtime's sessions (one line in ``bots.app``)."""
    return ApiV1(
        sessions=rt.sessions,
        readers=rt.deps.readers,
        clock=rt.deps.clock,
        tz=rt.settings.tz,
        bank=rt.deps.bank,
        documents=rt.deps.documents,
        default_language=rt.settings.default_language,
        executor=rt.deps.executor,
        growth=rt.deps.hr_env.growth if rt.deps.hr_env is not None else None,
        post_event=rt.post_event,
    ).routes()
