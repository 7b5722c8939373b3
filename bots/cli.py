"""The ``talentbot`` command."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bots.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import upgrade

    s = _settings(args)
    upgrade(s.database_url)
    print(f"database is at the latest revision: {s.database_url}")
    return 0


def _sessions(s: Settings):  # type: ignore[no-untyped-def]
    from storage.db import make_engine, session_factory, upgrade

    upgrade(s.database_url)
    return session_factory(make_engine(s.database_url))


def cmd_seed(args: argparse.Namespace) -> int:
    from storage.seed import seed

    s = _settings(args)
    with _sessions(s).begin() as sess:
        added = seed(sess, content_dir=s.content_dir, now=datetime.now(UTC), tz=s.tz)
    print(f"seeded {added['positions']} positions and {added['slots']} slots")
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    """Messages to platforms that finally failed (``failed``), and putting one back in the queue."""
    from sqlalchemy import select

    from storage import repo
    from storage.models import Delivery

    s = _settings(args)
    now = datetime.now(UTC)
    with _sessions(s).begin() as sess:
        if args.retry is not None:
            d = sess.get(Delivery, args.retry)
            if d is None or d.status != "failed":
                print(f"no failed delivery {args.retry}", file=sys.stderr)
                return 2
            d.status, d.attempts, d.next_attempt_at = "pending", 0, None
            repo.audit(sess, now=now, actor=_operator(), action="delivery.retry", subject=f"delivery:{d.id}")
            print(f"delivery {d.id} queued again for {d.platform}:{d.conversation_id}")
            return 0
        rows = sess.scalars(select(Delivery).where(Delivery.status == "failed").order_by(Delivery.id))
        n = 0
        for d in rows:
            n += 1
            text = str(d.body.get("text", "")).replace("\n", " ")[:60]
            print(
                f"{d.id}\t{d.platform}:{d.conversation_id}\t{d.created_at:%Y-%m-%d %H:%M}\t"
                f"{d.attempts} tries\t{d.last_error or ''}\t{text}"
            )
        if not n:
            print("no failed deliveries")
    return 0


def cmd_hrsync(args: argparse.Namespace) -> int:
    """HR-system updates that were given up (``dead``), and queueing them again."""
    from sqlalchemy import select

    from storage import repo
    from storage.models import OutboxItem

    s = _settings(args)
    now = datetime.now(UTC)
    with _sessions(s).begin() as sess:
        dead = select(OutboxItem).where(OutboxItem.kind == "hr_sync", OutboxItem.status == "dead")
        if args.retry is not None or args.retry_dead:
            rows = list(
                sess.scalars(dead.where(OutboxItem.id == args.retry) if args.retry is not None else dead)
            )
            if not rows:
                print(
                    f"no dead HR-system update {args.retry}" if args.retry else "no dead HR-system updates",
                    file=sys.stderr,
                )
                return 2
            for item in rows:
                item.status, item.attempts = "pending", 0
                repo.audit(
                    sess,
                    now=now,
                    actor=_operator(),
                    action="hr_sync.retry",
                    subject=f"outbox:{item.id}",
                    details={
                        "event": item.payload.get("event"),
                        "application_id": item.payload.get("application_id"),
                    },
                )
            print(
                f"{len(rows)} HR-system update(s) queued again; a running server sends them within a minute"
            )
            return 0
        n = 0
        for item in sess.scalars(dead.order_by(OutboxItem.id)):
            n += 1
            p = item.payload
            print(
                f"{item.id}\t{p.get('event')}\tapplication {p.get('application_id')}\t{item.created_at:%Y-%m-%d %H:%M}"
                f"\t{item.attempts} tries\t{(item.last_error or '')[:80]}"
            )
        if not n:
            print("no dead HR-system updates")
    return 0


def cmd_positions(args: argparse.Namespace) -> int:
    from storage import repo

    s = _settings(args)
    with _sessions(s)() as sess:
        rows = repo.positions(sess)
        if not rows:
            print("no positions yet: run `talentbot seed` first", file=sys.stderr)
            return 1
        for p in rows:
            print(f"{p.code}\t{p.title_zh}\t{p.title_en}\t{p.department}")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    from storage import repo

    s = _settings(args)
    name = args.name.strip()
    if not name or len(name) > 200:
        print("--name must be 1–200 characters", file=sys.stderr)
        return 2
    salary = getattr(args, "salary", None)
    if salary is not None and not 0 < salary <= 10_000_000:
        print("--salary is a monthly amount in CNY (a positive number)", file=sys.stderr)
        return 2
    with _sessions(s).begin() as sess:
        pos = repo.position_by_code(sess, args.position)
        if pos is None:
            codes = ", ".join(p.code for p in repo.positions(sess)) or "(none: run `talentbot seed`)"
            print(f"unknown position {args.position!r}; known: {codes}", file=sys.stderr)
            return 2
        app, code = repo.create_application(
            sess,
            position=pos,
            name=name,
            now=datetime.now(UTC),
            valid_days=args.days or s.invite_days,
            salary_expectation=salary,
        )
        profile = {
            k: v.strip()[:200]
            for k in ("school", "major", "degree", "experience")
            if isinstance(v := getattr(args, k, None), str) and v.strip()
        }
        app.profile = profile or None  # prefills the onboarding form if they are hired
        print(
            f"application {app.id} for {name} ({pos.code} {pos.title_zh}); valid {args.days or s.invite_days} days"
        )
    print(repo.format_code(code))
    return 0


def cmd_nlu_parse(args: argparse.Namespace) -> int:
    from nlu import NLU
    from nlu.cli import parse_command

    s = _settings(args)
    nlu = NLU.load(s.content_dir / "nlu", tz=s.tz)
    return parse_command(nlu, " ".join(args.text) if args.text else None, stdin=sys.stdin, stdout=sys.stdout)


def cmd_transcribe(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scoring.cli import transcribe_command

    s = _settings(args)
    return transcribe_command(
        Path(args.file), language=args.language, var_dir=s.var_dir, stdout=sys.stdout, stderr=sys.stderr
    )


def cmd_score(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scoring.cli import score_command

    s = _settings(args)
    return score_command(
        args.question,
        text=args.text,
        audio_path=Path(args.audio) if args.audio else None,
        language=args.language,
        content_dir=s.content_dir,
        var_dir=s.var_dir,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )


def cmd_chat(args: argparse.Namespace) -> int:
    from bots.console import main_console
    from bots.runtime import build

    return main_console(build(_settings(args)), args.user)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bots.app import create_app
    from bots.runtime import build

    s = _settings(args)
    if not os.environ.get("TALENTBOT_PUBLIC_URL"):
        from dataclasses import replace

        host = args.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
            print(
                "listening on all interfaces: set TALENTBOT_PUBLIC_URL so links in messages point at this"
                " server's public address",
                file=sys.stderr,
            )
        s = replace(s, public_url=f"http://{host}:{args.port}")
    app = create_app(build(s))
    print(f"talentbot web chat: http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    s = _settings(args)
    if not s.broker_url:
        print(
            "TALENTBOT_BROKER_URL is not set: without a broker, jobs run in-process inside `talentbot serve`."
            " Set TALENTBOT_BROKER_URL=redis://HOST:6379/0 (for serve and worker) to run separate workers.",
            file=sys.stderr,
        )
        return 2
    if args.concurrency < 1:
        print("--concurrency must be at least 1", file=sys.stderr)
        return 2
    from bots.worker import run_worker, visibility_timeout

    try:
        visibility_timeout()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return run_worker(s, concurrency=args.concurrency)


def _operator() -> str:
    """The audit actor for an operator at this terminal: ``cli:<os user>``."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{name}"


def _print_token(token_id: int, token: str, expires_at: datetime | None) -> None:
    until = expires_at.date().isoformat() if expires_at is not None else "revoked"
    print(f"token {token_id} (valid until {until}):")
    print(token)
    print("this token is shown once and cannot be shown again: hand it over now, by a safe channel")


def cmd_user_add(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from storage import accounts, repo
    from storage.models import ApiToken

    s = _settings(args)
    scope = [x.strip() for x in args.scope.split(",") if x.strip()]
    if not scope:
        print("--scope needs position codes and/or departments (comma-separated), or *", file=sys.stderr)
        return 2
    if not 0 < len(args.name.strip()) <= 200:
        print("--name must be 1–200 characters", file=sys.stderr)
        return 2
    if args.days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    with _sessions(s).begin() as sess:
        known = {p.code.casefold() for p in repo.positions(sess, active_only=False)}
        known |= {p.department.casefold() for p in repo.positions(sess, active_only=False)}
        unknown = [x for x in scope if x != "*" and x.casefold() not in known]
        if unknown:
            listing = "; ".join(f"{p.code} ({p.department})" for p in repo.positions(sess, active_only=False))
            print(
                f"unknown scope {', '.join(unknown)}; known positions (departments): {listing or '(none)'}",
                file=sys.stderr,
            )
            return 2
        user = accounts.create_hr_user(
            sess, name=args.name, scope=scope, language=args.language, now=now, actor=_operator()
        )
        token = accounts.issue_token(
            sess, user=user, name=args.token_name, days=args.days, now=now, actor=_operator()
        )
        row = sess.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        from storage.documents import issue_link_code

        code, until = issue_link_code(sess, user_id=user.id, now=now, ttl=HR_LINK_TTL)
        print(f"user {user.id}: {user.display_name} (hr; scope {', '.join(user.scope)}; {user.language})")
        _print_token(row.id, token, row.expires_at)
    print(f"sign in at {s.public_url}/hr/login")
    print(f"to use HR in chat, send this code to the bot from your chat app (valid until {until.date()}):")
    print(code)
    return 0


HR_LINK_TTL = timedelta(days=7)


def cmd_user_link_code(args: argparse.Namespace) -> int:
    """A new chat link code for an HR user or an employee (the earlier ones stop working)."""
    from storage import repo
    from storage.models import User

    s = _settings(args)
    now = datetime.now(UTC)
    with _sessions(s).begin() as sess:
        user = sess.get(User, args.user_id)
        if user is None or user.role not in ("hr", "employee"):
            print(f"no HR user or employee {args.user_id}", file=sys.stderr)
            return 1
        from storage.documents import issue_link_code

        code, until = issue_link_code(sess, user_id=user.id, now=now, ttl=HR_LINK_TTL)
        repo.audit(sess, now=now, actor=_operator(), action="user.link_code", subject=f"user:{user.id}")
    print(f"send this code to the bot from your chat app (valid until {until.date()}):")
    print(code)
    return 0


def cmd_positions_threshold(args: argparse.Namespace) -> int:
    """Set (or clear with "off") a position's threshold for the next-round pool."""
    from storage import repo

    s = _settings(args)
    value = args.value.strip().lower()
    threshold: float | None
    if value in ("off", "none", "-"):
        threshold = None
    else:
        try:
            threshold = float(value)
        except ValueError:
            print("the threshold is a number from 0 to 100, or off", file=sys.stderr)
            return 2
        if not 0 <= threshold <= 100:
            print("the threshold is a number from 0 to 100, or off", file=sys.stderr)
            return 2
    now = datetime.now(UTC)
    with _sessions(s).begin() as sess:
        pos = repo.position_by_code(sess, args.code)
        if pos is None:
            known = ", ".join(p.code for p in repo.positions(sess, active_only=False))
            print(f"unknown position {args.code}; known: {known or '(none)'}", file=sys.stderr)
            return 2
        before = pos.threshold
        pos.threshold = threshold
        repo.audit(
            sess,
            now=now,
            actor=_operator(),
            action="position.threshold",
            subject=f"position:{pos.code}",
            details={"before": before, "after": threshold},
        )
        print(f"{pos.code}: threshold {'off' if threshold is None else f'{threshold:g}'} (was {before})")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from storage import accounts
    from storage.models import ApiToken, User

    s = _settings(args)
    now = datetime.now(UTC)
    if args.days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2
    name = (args.name or f"issued {now.date().isoformat()}").strip()
    if not 0 < len(name) <= 100:
        print("--name must be 1–100 characters", file=sys.stderr)
        return 2
    from bots.api_v1 import SCOPES

    scopes = [x.strip() for x in (args.scopes or accounts.READ_REPORTS).split(",") if x.strip()]
    unknown = [x for x in scopes if x not in SCOPES]
    if unknown or not scopes:
        print(f"unknown scope {', '.join(unknown) or '(none)'}; known: {', '.join(SCOPES)}", file=sys.stderr)
        return 2
    with _sessions(s).begin() as sess:
        user = sess.get(User, args.user)
        if user is None or user.role != "hr":
            print(f"no HR user {args.user}", file=sys.stderr)
            return 2
        token = accounts.issue_token(
            sess, user=user, name=name, scopes=scopes, days=args.days, now=now, actor=_operator()
        )
        row = sess.scalars(select(ApiToken).where(ApiToken.token_sha256 == accounts.token_hash(token))).one()
        print(f"user {user.id}: {user.display_name} (scopes {', '.join(scopes)})")
        _print_token(row.id, token, row.expires_at)
    print(f"sign in at {s.public_url}/hr/login")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from storage import accounts

    s = _settings(args)
    with _sessions(s).begin() as sess:
        row = accounts.revoke_token(sess, token_id=args.id, now=datetime.now(UTC), actor=_operator())
        if row is None:
            print(f"no token {args.id}", file=sys.stderr)
            return 2
        assert row.revoked_at is not None
        print(f"token {row.id} ({row.name}) of user {row.user_id} revoked at {row.revoked_at.isoformat()}")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from storage import accounts

    s = _settings(args)
    now = datetime.now(UTC)
    with _sessions(s)() as sess:
        for t in accounts.tokens_of(sess, args.user):
            if t.revoked_at is not None:
                state = f"revoked {t.revoked_at.date().isoformat()}"
            elif t.expires_at is not None and t.expires_at <= now:
                state = f"expired {t.expires_at.date().isoformat()}"
            else:
                state = "valid until " + (t.expires_at.date().isoformat() if t.expires_at else "revoked")
            print(
                f"{t.id}\t{t.name}\t{','.join(t.scopes)}\tcreated {t.created_at.date().isoformat()}\t{state}"
            )
    return 0


def _write_private(path: str, data: bytes) -> None:
    """A report holds personal data: a new file is readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def cmd_report(args: argparse.Namespace) -> int:
    from actions.interview_report import load_report
    from bots.hr_web import render_report
    from scoring.questions import load_bank
    from scoring.report import FontMissing
    from storage import repo
    from storage.models import Application

    s = _settings(args)
    if args.format == "png" and args.output is None and sys.stdout.isatty():
        print("a PNG is not for the terminal: give --output FILE (or redirect stdout)", file=sys.stderr)
        return 2
    language = args.language or s.default_language
    bank = load_bank(s.content_dir / "questions")
    now = datetime.now(UTC)
    sessions = _sessions(s)
    with sessions() as sess:
        if sess.get(Application, args.application_id) is None:
            print(f"no application {args.application_id}", file=sys.stderr)
            return 2
        loaded = load_report(
            sess,
            args.application_id,
            language=language,
            bank=bank,
            now=now,
            audio_url=lambda answer_id: f"{s.public_url}/hr/audio/{answer_id}",
        )
    if loaded is None:
        print(f"application {args.application_id} has no interview yet", file=sys.stderr)
        return 2
    try:
        rendered = render_report(loaded, args.format)
    except FontMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    with sessions.begin() as sess:
        repo.audit(
            sess,
            now=now,
            actor=_operator(),
            action="report.read",
            subject=f"application:{args.application_id}",
            details={"format": args.format, "language": language, "output": args.output or "stdout"},
            input_versions=rendered.versions,
        )
    if args.output:
        _write_private(args.output, rendered.body)
        print(
            f"{args.format} report of application {args.application_id} written to {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(rendered.body)
        if args.format != "png":
            sys.stdout.buffer.write(b"\n")
        sys.stdout.buffer.flush()
    if loaded.status != "completed":
        print(f"note: the interview is not finished (status {loaded.status})", file=sys.stderr)
    return 0


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _period(args: argparse.Namespace, s: Settings) -> tuple[datetime | None, datetime | None] | None:
    """``--since``/``--until`` (whole days, both included, in the configured time zone) as a
    half-open ``[start, end)`` of aware datetimes; None (with a message) when they are reversed."""
    if args.since is not None and args.until is not None and args.since > args.until:
        print("--since must not be after --until", file=sys.stderr)
        return None
    start = end = None
    if args.since is not None:
        start = datetime.combine(args.since, time.min, tzinfo=s.tz)
    if args.until is not None:
        end = datetime.combine(args.until + timedelta(days=1), time.min, tzinfo=s.tz)
    return start, end


def _emit(body: bytes, output: str | None, what: str) -> None:
    if output:
        _write_private(output, body)
        print(f"{what} written to {output}", file=sys.stderr)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()


_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    """A cell Excel will not run as a formula (OWASP's advice for CSV injection)."""
    return "'" + value if value.startswith(_CSV_FORMULA) else value


AUDIT_COLUMNS = ("id", "at", "actor", "action", "subject", "details", "input_versions")


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Every audit row matching the filters, oldest first: CSV (UTF-8 with a BOM, header row, columns
    ``AUDIT_COLUMNS``, details and input versions as compact JSON) or JSON Lines (one object a line).
    The export is itself audited — before any row leaves — and does not include its own row."""
    import csv
    import io
    import json

    from sqlalchemy import func, select

    from storage.db import make_engine, session_factory
    from storage.models import AuditEntry

    s = _settings(args)
    if args.subject is not None and not 0 < len(args.subject) <= 100:
        print("--subject must be 1–100 characters, e.g. application:12", file=sys.stderr)
        return 2
    period = _period(args, s)
    if period is None:
        return 2
    start, end = period
    filters = []
    if start is not None:
        filters.append(AuditEntry.at >= start)
    if end is not None:
        filters.append(AuditEntry.at < end)
    if args.subject is not None:
        filters.append(AuditEntry.subject == args.subject)
    details = {
        "format": args.format,
        "since": args.since.isoformat() if args.since else None,
        "until": args.until.isoformat() if args.until else None,
        "subject": args.subject,
        "output": args.output or "stdout",
    }
    with _sessions(s).begin() as sess:
        entry = AuditEntry(
            at=datetime.now(UTC),
            actor=_operator(),
            action="audit.export",
            subject="audit_log",
            details=details,
            input_versions={},
        )
        sess.add(entry)
        sess.flush()
        count = sess.scalar(
            select(func.count()).select_from(AuditEntry).where(*filters, AuditEntry.id < entry.id)
        )
        entry.details = {**details, "rows": count}
        export_id = entry.id

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if args.format == "csv":
        buf.write("\ufeff")
        writer.writerow(AUDIT_COLUMNS)
    # a long read must not hold SQLite's write lock: a reader engine without BEGIN IMMEDIATE
    engine = make_engine(s.database_url, immediate=False)
    try:
        with session_factory(engine)() as sess:
            q = select(AuditEntry).where(*filters, AuditEntry.id < export_id).order_by(AuditEntry.id)
            for e in sess.scalars(q.execution_options(yield_per=1000)):
                at = e.at.isoformat()
                if args.format == "csv":
                    cells = (
                        str(e.id),
                        at,
                        e.actor,
                        e.action,
                        e.subject,
                        dump(e.details),
                        dump(e.input_versions),
                    )
                    writer.writerow([_csv_cell(c) for c in cells])
                else:
                    values = (e.id, at, e.actor, e.action, e.subject, e.details, e.input_versions)
                    pairs = zip(AUDIT_COLUMNS, values, strict=True)
                    buf.write("{" + ",".join(f"{dump(k)}:{dump(v)}" for k, v in pairs) + "}\n")
    finally:
        engine.dispose()
    _emit(buf.getvalue().encode("utf-8"), args.output, f"{count} audit rows ({args.format})")
    return 0


def _png_to_terminal(args: argparse.Namespace) -> bool:
    if args.format == "png" and args.output is None and sys.stdout.isatty():
        print("a PNG is not for the terminal: give --output FILE (or redirect stdout)", file=sys.stderr)
        return True
    return False


def _position(sess: Any, code: str) -> Any:
    """The position with ``code`` (any case), or None after saying which codes exist."""
    from storage import repo

    pos = repo.position_by_code(sess, code)
    if pos is None:
        codes = ", ".join(p.code for p in repo.positions(sess, active_only=False)) or "(none)"
        print(f"unknown position {code!r}; known: {codes}", file=sys.stderr)
    return pos


def _render(fmt: str, renderers: Mapping[str, Callable[[], bytes]]) -> bytes | None:
    """The report in ``fmt``; None (said on stderr) when the chart's font is missing."""
    from scoring.report import FontMissing

    try:
        return renderers[fmt]()
    except FontMissing as exc:
        print(exc, file=sys.stderr)
        return None


def _audit_and_emit(
    args: argparse.Namespace,
    sessions: Any,
    *,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    versions: Mapping[str, Any],
    body: bytes,
    what: str,
) -> int:
    """The run's audit row (with the period, format and output), then the report."""
    from storage import repo

    with sessions.begin() as sess:
        repo.audit(
            sess,
            now=datetime.now(UTC),
            actor=_operator(),
            action=action,
            subject=subject[:100],
            details={
                **details,
                "since": args.since.isoformat() if args.since else None,
                "until": args.until.isoformat() if args.until else None,
                "format": args.format,
                "output": args.output or "stdout",
            },
            input_versions=dict(versions),
        )
    _emit(body, args.output, what)
    return 0


def cmd_bias_audit(args: argparse.Namespace) -> int:
    """The four-fifths audit of one position (:mod:`actions.bias`), audited with its inputs' counts."""
    from actions import bias

    s = _settings(args)
    period = None if _png_to_terminal(args) else _period(args, s)
    if period is None:
        return 2
    start, end = period
    language = args.language or s.default_language
    sessions = _sessions(s)
    with sessions() as sess:
        pos = _position(sess, args.position)
        if pos is None:
            return 2
        code = pos.code
        rows = bias.load_rows(sess, position_id=pos.id, start=start, end=end)
    result = bias.compute(rows, position=code, since=args.since, until=args.until)
    body = _render(
        args.format,
        {
            "text": lambda: bias.to_text(result, language=language).encode("utf-8"),
            "csv": lambda: bias.to_csv(result),
            "json": lambda: bias.to_json_bytes(result) + b"\n",
            "png": lambda: bias.to_png(result, language=language),
        },
    )
    if body is None:
        return 1
    return _audit_and_emit(
        args,
        sessions,
        action="bias_audit.run",
        subject=f"position:{code}",
        details={**result.counts(), "language": language},
        versions={"method": bias.METHOD, "params": result.params.to_dict()},
        body=body,
        what=f"bias audit of {code} ({args.format})",
    )


def cmd_funnel(args: argparse.Namespace) -> int:
    """The recruiting funnel of one position, or of every position (:mod:`actions.funnel`), audited."""
    from actions import funnel
    from storage import repo

    s = _settings(args)
    if _png_to_terminal(args) or _period(args, s) is None:
        return 2
    language = args.language or s.default_language
    sessions = _sessions(s)
    with sessions() as sess:
        if args.position:
            pos = _position(sess, args.position)
            if pos is None:
                return 2
            chosen = [pos]
        else:
            chosen = repo.positions(sess, active_only=False)
        result = funnel.funnel(sess, positions=chosen, since=args.since, until=args.until, tz=s.tz)
        label = ",".join(p.code for p in chosen)
    body = _render(
        args.format,
        {
            "text": lambda: funnel.render_text(result, language).encode("utf-8"),
            "csv": lambda: funnel.to_csv(result),
            "json": lambda: funnel.to_json_bytes(result) + b"\n",
            "png": lambda: funnel.render_png(result, language),
        },
    )
    if body is None:
        return 1
    return _audit_and_emit(
        args,
        sessions,
        action="funnel.run",
        subject=f"positions:{label}",
        details={"language": language},
        versions={"method": funnel.METHOD},
        body=body,
        what=f"funnel of {label} ({args.format})",
    )


def cmd_interview_allow_text(args: argparse.Namespace) -> int:
    """HR's accommodation: typed answers instead of voice, for one application; the candidate is told."""
    from sqlalchemy import select

    from bots.runtime import build
    from flows.engine import SystemEvent, handle_event_sync
    from storage.models import Application, AuditEntry, Interview

    app_id = args.application_id
    rt = build(_settings(args))
    try:
        with rt.sessions.begin() as sess:
            app = sess.get(Application, app_id)
            if app is None:
                print(f"no application {app_id}", file=sys.stderr)
                return 2
            iv = sess.scalar(
                select(Interview).where(Interview.application_id == app_id, Interview.round == 1)
            )
            if app.text_answers and (iv is None or iv.text_answers):
                print(f"application {app_id} ({app.candidate_name}) may already type its answers")
                return 0
            now = rt.deps.clock()
            app.text_answers = True
            app.updated_at = now
            if iv is not None:
                iv.text_answers = True
                iv.updated_at = now
            entry = AuditEntry(
                at=now,
                actor=_operator(),
                action="accommodation.granted",
                subject=f"application:{app_id}",
                details={"text_answers": True, "interview_id": iv.id if iv is not None else None},
                input_versions={},
            )
            sess.add(entry)
            sess.flush()
            grant, name = entry.id, app.candidate_name
        print(f"application {app_id} ({name}) may now type its interview answers")
        outcome = handle_event_sync(
            SystemEvent("text_allowed", key=f"text_allowed:{app_id}:{grant}", application_id=app_id), rt.deps
        )
        if outcome.replies:
            print("the candidate has been told in chat")
        else:
            print("the candidate has no chat linked yet: nothing was sent; typed answers will be accepted")
    finally:
        if rt.deps.executor is not None:
            rt.deps.executor.shutdown(wait=True)  # type: ignore[attr-defined]
        rt.engine.dispose()
        if rt.reader is not None:
            rt.reader.dispose()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """A fresh SQLite database with the demo bank, a sample invitation, and the server."""

    base = Settings.from_env()
    demo_dir = base.var_dir / "demo"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    os.environ["TALENTBOT_DATABASE_URL"] = f"sqlite:///{demo_dir / 'demo.db'}"
    cmd_seed(args)
    from storage import repo

    s = _settings(args)
    from storage import accounts

    now = datetime.now(UTC)
    with _sessions(s).begin() as sess:
        from storage.demo_history import seed_history
        from storage.documents import issue_link_code

        history = seed_history(sess, now=now)  # past candidates, so HR has a funnel and an audit to see
        teller, rm, risk = (repo.position_by_code(sess, c) for c in ("TELLER", "RM", "RISK"))
        assert teller is not None and rm is not None and risk is not None
        _, code = repo.create_application(
            sess, position=teller, name="李明", now=now, salary_expectation=10000
        )
        _, code_en = repo.create_application(sess, position=rm, name="Alex Chen", now=now)
        voice_app, code_voice = repo.create_application(
            sess, position=risk, name="王芳", now=now, salary_expectation=20000
        )
        voice_id = voice_app.id
        hr = accounts.create_hr_user(sess, name="演示招聘专员", scope=["*"], now=now)
        token = accounts.issue_token(sess, user=hr, name="demo", days=7, now=now)
        hr_code, _ = issue_link_code(sess, user_id=hr.id, now=now, ttl=HR_LINK_TTL)
        new_hire_code, staff_code = _demo_employees(sess, s, now)
    base = f"http://{args.host}:{args.port}"
    print(
        f"\nOpen {base}/ and send an invitation code:\n"
        f"  {repo.format_code(code)}  综合柜员 (李明): consent, then book an interview time\n"
        f"  {repo.format_code(code_en)}  Relationship Manager (Alex Chen): the same in English\n"
        f"  {repo.format_code(code_voice)}  风险管理岗 (王芳): the voice interview starts right after consent —"
        " answer with the 🎤 button (or by typing: this position allows it)\n"
        f"HR: log in at {base}/hr/login with the token below, then open {base}/hr/reports/{voice_id} after 王芳's"
        f" interview\n  {token}\n"
        f"HR in chat: open {base}/ in a private window (a separate chat) and send {hr_code}, then ask"
        f" “柜员岗的招聘漏斗”, “王芳现在什么状态” or /help ({history} past candidates are in the demo)\n"
        f"Employees (each in its own private window):\n"
        f"  {new_hire_code}  a new hire (综合柜员): onboarding form, checklist, mentor, then “有什么课推荐给我”\n"
        f"  {staff_code}  李娜, a teller since 2021: “晋升高级柜员需要什么条件”, “我能申请哪些岗位”, “我的成长”\n",
        flush=True,
    )
    if args.no_serve:
        return 0
    return cmd_serve(args)


def _demo_employees(sess: Any, s: Settings, now: datetime) -> tuple[str, str]:
    """The demo's staff (content/employees.yml), a just-hired teller from the past candidates, and a
    chat link code for each of the two."""
    from sqlalchemy import select

    from flows.growth_content import load_growth
    from storage import employees
    from storage.documents import issue_link_code
    from storage.models import Application, Employee, Interview, Position

    growth = load_growth(s.content_dir)
    employees.seed_employees(sess, growth, now=now)
    app = sess.scalar(
        select(Application)
        .join(Position, Position.id == Application.position_id)
        .join(Interview, Interview.application_id == Application.id)
        .where(Position.code == "TELLER", Application.stage == "hired", Interview.status == "completed")
        .order_by(Application.id.desc())
        .limit(1)
    )
    assert app is not None, "the demo history has a hired teller"
    app.profile = {
        "school": "上海财经大学",
        "major": "会计学",
        "degree": "本科",
        "experience": "银行柜面实习 6 个月",
    }
    hired = employees.hire(sess, app, content=growth, now=now, tz=s.tz, actor="cli:demo")
    new_code, _ = issue_link_code(sess, user_id=hired.employee.user_id, now=now, ttl=HR_LINK_TTL)
    li = sess.scalar(select(Employee).where(Employee.external_ref == "E001"))
    staff_code, _ = issue_link_code(sess, user_id=li.user_id, now=now, ttl=HR_LINK_TTL)
    return new_code, staff_code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="talentbot", description="A bank's recruiting assistant in chat.")
    sub = p.add_subparsers(dest="command", required=True)

    def server_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=8000)
        sp.add_argument("--log-level", default="info")

    def report_args(sp: argparse.ArgumentParser) -> None:
        """The period, format, language and output of a report (bias audit, funnel)."""
        sp.add_argument("--since", type=_iso_date, help="applications created from this day (YYYY-MM-DD)")
        sp.add_argument("--until", type=_iso_date, help="… up to and including this day")
        sp.add_argument("--format", choices=["text", "csv", "json", "png"], default="text")
        sp.add_argument("--language", choices=["zh", "en"], default=None)
        sp.add_argument(
            "--output", default=None, help="file to write (stdout by default; needed for png on a terminal)"
        )

    sp = sub.add_parser("serve", help="run the web server (web chat, webhooks)")
    server_args(sp)
    sp.set_defaults(func=cmd_serve)
    sp = sub.add_parser("demo", help="fresh demo database, sample invitation, then serve")
    server_args(sp)
    sp.add_argument("--no-serve", action="store_true", help="prepare and print, do not serve")
    sp.set_defaults(func=cmd_demo)
    sp = sub.add_parser("chat", help="chat in the terminal (reads stdin)")
    sp.add_argument("--user", required=True)
    sp.set_defaults(func=cmd_chat)
    sp = sub.add_parser("worker", help="run a job worker on TALENTBOT_BROKER_URL (transcription, scoring)")
    sp.add_argument("--concurrency", type=int, default=1, help="jobs at a time (threads)")
    sp.set_defaults(func=cmd_worker)
    sub.add_parser("seed", help="load the demo bank: positions and slots").set_defaults(func=cmd_seed)
    sub.add_parser("positions", help="list position codes").set_defaults(func=cmd_positions)
    sp = sub.add_parser(
        "threshold", help="set a position's threshold for the next-round pool (0–100, or off)"
    )
    sp.add_argument("code")
    sp.add_argument("value")
    sp.set_defaults(func=cmd_positions_threshold)
    sp = sub.add_parser("deliveries", help="messages to chat platforms that failed for good; --retry ID")
    sp.add_argument("--retry", type=int, help="queue failed delivery ID again")
    sp.set_defaults(func=cmd_deliveries)
    sp = sub.add_parser("hrsync", help="HR-system updates given up (dead); --retry ID or --retry-dead")
    sp.add_argument("--retry", type=int, help="queue dead update ID again")
    sp.add_argument("--retry-dead", action="store_true", help="queue every dead update again")
    sp.set_defaults(func=cmd_hrsync)
    sp = sub.add_parser("invite", help="create an application and print its one-time invitation code")
    sp.add_argument("--position", required=True)
    sp.add_argument("--name", required=True)
    sp.add_argument("--days", type=int, default=None, help="days the code stays valid")
    sp.add_argument(
        "--salary", type=int, default=None, help="the candidate's monthly salary expectation (CNY)"
    )
    for field in ("school", "major", "degree", "experience"):
        sp.add_argument(f"--{field}", default=None, help=f"the application's {field} (prefills onboarding)")
    sp.set_defaults(func=cmd_invite)
    nlu = sub.add_parser("nlu", help="natural-language understanding").add_subparsers(
        dest="nlu_cmd", required=True
    )
    sp = nlu.add_parser("parse", help="parse TEXT, or stdin one message per line")
    sp.add_argument("text", nargs="*")
    sp.set_defaults(func=cmd_nlu_parse)
    sp = sub.add_parser("transcribe", help="transcribe a voice recording (prints JSON)")
    sp.add_argument("file")
    sp.add_argument("--language", choices=["zh", "en"], default="zh")
    sp.set_defaults(func=cmd_transcribe)
    sp = sub.add_parser("score", help="score one interview answer on the eight indicators (prints JSON)")
    sp.add_argument("--question", required=True, help="question id, e.g. from content/questions/")
    answer = sp.add_mutually_exclusive_group(required=True)
    answer.add_argument("--text")
    answer.add_argument("--audio")
    sp.add_argument("--language", choices=["zh", "en"], default="zh")
    sp.set_defaults(func=cmd_score)
    db = sub.add_parser("db", help="database").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    user = sub.add_parser("user", help="staff accounts").add_subparsers(dest="user_cmd", required=True)
    sp = user.add_parser("add", help="add an HR user and print a token for them (shown once)")
    sp.add_argument("--role", required=True, choices=["hr"])
    sp.add_argument("--name", required=True)
    sp.add_argument(
        "--scope", required=True, help="position codes and/or departments, comma-separated; * for all"
    )
    sp.add_argument("--language", choices=["zh", "en"], default="zh", help="reports' default language")
    sp.add_argument("--days", type=int, default=90, help="days the token stays valid")
    sp.add_argument("--token-name", default="initial", help="a label for the token (seen in the audit log)")
    sp.set_defaults(func=cmd_user_add)
    sp = user.add_parser("link-code", help="a new code to link an HR user's or employee's chat app (7 days)")
    sp.add_argument("user_id", type=int)
    sp.set_defaults(func=cmd_user_link_code)
    token = sub.add_parser("token", help="HR access tokens").add_subparsers(dest="token_cmd", required=True)
    sp = token.add_parser("create", help="a new token for an HR user (shown once)")
    sp.add_argument("--user", type=int, required=True, help="the user id")
    sp.add_argument("--days", type=int, default=90, help="days the token stays valid")
    sp.add_argument("--name", default=None, help="a label for the token (seen in the audit log)")
    sp.add_argument(
        "--scopes",
        default=None,
        help="comma-separated: reports:read (default; the /hr pages), profiles:read, funnel:read (/api/v1)",
    )
    sp.set_defaults(func=cmd_token_create)
    sp = token.add_parser("revoke", help="revoke a token at once")
    sp.add_argument("--id", type=int, required=True, help="the token id")
    sp.set_defaults(func=cmd_token_revoke)
    sp = token.add_parser("list", help="a user's tokens (never the tokens themselves)")
    sp.add_argument("--user", type=int, required=True)
    sp.set_defaults(func=cmd_token_list)
    sp = sub.add_parser("report", help="an application's interview report (HTML, JSON or the radar PNG)")
    sp.add_argument("application_id", type=int)
    sp.add_argument("--format", choices=["html", "json", "png"], default="html")
    sp.add_argument("--language", choices=["zh", "en"], default=None)
    sp.add_argument(
        "--output", default=None, help="file to write (stdout by default; needed for png on a terminal)"
    )
    sp.set_defaults(func=cmd_report)
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(dest="audit_cmd", required=True)
    sp = audit.add_parser("export", help="export audit rows as CSV or JSON Lines (the export is audited)")
    sp.add_argument(
        "--format", choices=["csv", "json"], required=True, help="json: JSON Lines, one row a line"
    )
    sp.add_argument("--since", type=_iso_date, help="first day (YYYY-MM-DD, included)")
    sp.add_argument("--until", type=_iso_date, help="last day (YYYY-MM-DD, included)")
    sp.add_argument("--subject", default=None, help="only this subject, e.g. application:12")
    sp.add_argument("--output", default=None, help="file to write (stdout by default)")
    sp.set_defaults(func=cmd_audit_export)
    sp = sub.add_parser(
        "bias-audit", help="selection and scoring rates and impact ratios (NYC LL 144 method)"
    )
    sp.add_argument("--position", required=True)
    report_args(sp)
    sp.set_defaults(func=cmd_bias_audit)
    sp = sub.add_parser("funnel", help="the recruiting funnel, pass rates and a threshold suggestion")
    sp.add_argument("--position", default=None, help="a position code (default: every position)")
    report_args(sp)
    sp.set_defaults(func=cmd_funnel)
    iv = sub.add_parser("interview", help="interviews").add_subparsers(dest="interview_cmd", required=True)
    sp = iv.add_parser("allow-text", help="let a candidate type their answers (an accommodation)")
    sp.add_argument("application_id", type=int)
    sp.set_defaults(func=cmd_interview_allow_text)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
