"""The ``talentbot`` command."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

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
    with _sessions(s).begin() as sess:
        pos = repo.position_by_code(sess, args.position)
        if pos is None:
            codes = ", ".join(p.code for p in repo.positions(sess)) or "(none: run `talentbot seed`)"
            print(f"unknown position {args.position!r}; known: {codes}", file=sys.stderr)
            return 2
        app, code = repo.create_application(
            sess, position=pos, name=name, now=datetime.now(UTC), valid_days=args.days or s.invite_days
        )
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
    with _sessions(s).begin() as sess:
        pos = repo.position_by_code(sess, "TELLER")
        assert pos is not None
        _, code = repo.create_application(sess, position=pos, name="李明", now=datetime.now(UTC))
        _, code_en = repo.create_application(
            sess, position=repo.position_by_code(sess, "RM") or pos, name="Alex Chen", now=datetime.now(UTC)
        )
    print(
        f"\nOpen http://{args.host}:{args.port}/ and send the invitation code {repo.format_code(code)}"
        f" (综合柜员, 李明) — or {repo.format_code(code_en)} (Relationship Manager, Alex Chen).\n",
        flush=True,
    )
    if args.no_serve:
        return 0
    return cmd_serve(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="talentbot", description="A bank's recruiting assistant in chat.")
    sub = p.add_subparsers(dest="command", required=True)

    def server_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=8000)
        sp.add_argument("--log-level", default="info")

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
    sp = sub.add_parser("invite", help="create an application and print its one-time invitation code")
    sp.add_argument("--position", required=True)
    sp.add_argument("--name", required=True)
    sp.add_argument("--days", type=int, default=None, help="days the code stays valid")
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
