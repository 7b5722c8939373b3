"""Text messages per second through the real pipeline, on a durable SQLite file, from 1,000 rotating users.

Run as ``.venv/bin/python bench/pipeline.py [--messages N] [--users 1000] [--seconds S]``.

Two measurements, each on a fresh seeded SQLite file in a temporary directory (WAL, as the app sets it):

1. in-process: ``bots.runtime.build`` + ``flows.engine.handle`` (the async entry point the server uses),
   driven with ``--concurrency`` messages in flight;
2. over HTTP: ``talentbot serve`` in a separate process (one uvicorn process, the embedded production
   mode) on 127.0.0.1, loaded with wrk (a Lua script rotates users and message ids) or, without wrk,
   with a small keep-alive asyncio client from this process.

Users are prepared the way real ones get there: HR creates applications and invitation codes
(``storage.repo.create_application``), then each candidate sends the code, consents (two button presses)
and some book a slot, all through the pipeline. Most users are linked and consented, some are halfway
through consent, a few never linked. The measured messages are a weighted mix of status, help, greeting,
interview-time questions, unknown text and time expressions (which book or offer alternatives).

Each phase reports a saturation figure (closed loop, ``--concurrency`` in flight: msg/s, and the latency
under that queue, which by Little's law is at least concurrency / throughput) and a paced figure (open
loop at the target rate, or half the measured capacity if that is lower: the latency a user sees at
that load, counted from the scheduled arrival). A sequential pass then splits the service time of one
message (NLU, SQL statements, commit); ``--profile N`` adds a cProfile table over N messages. The server's
RSS is sampled every 50 ms (psutil); client and server CPU are reported beside the HTTP figures.

wrk (``apt-get install -y wrk``) is used for the saturation run when installed (a few % of a core); the
paced run needs arrivals at fixed times, which wrk cannot do, so it uses the asyncio client (httpx would
need ~3 ms of CPU per request here, more than the server's share of the machine at 600 msg/s). ``--http-prep copy`` starts the server on a copy of the in-process phase's prepared
database instead of walking the users through it again over HTTP (about half the run time).

Prints plain lines and a final ``RESULT {json}`` line; exit status 1 when a target is missed.
Requests go only to 127.0.0.1; every loop is bounded in count and time; the server is always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import io
import itertools
import json
import os
import pstats
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench/nlu.py would shadow the nlu package: the repository root goes first, this folder not at all.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (ROOT, ROOT / "bench")]

import psutil  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bots.runtime import Runtime, build  # noqa: E402
from bots.settings import Settings  # noqa: E402
from flows.engine import handle, handle_sync  # noqa: E402
from flows.values import Inbound  # noqa: E402
from storage import repo  # noqa: E402
from storage.db import make_engine, session_factory, upgrade  # noqa: E402
from storage.seed import seed  # noqa: E402

TARGET_INPROCESS = 1000.0  # msg/s
TARGET_HTTP = 600.0  # msg/s
TARGET_P99_MS = 30.0
TARGET_RSS_MB = 300.0
PLATFORM = "webchat"
PATH = "/webchat/api/messages"

# (text, weight): what candidates write once linked. Time expressions book a slot when one is free at
# that time, else offer the nearest; booking changes state (and runs the outbox) as in production.
MIX: tuple[tuple[str, int], ...] = (
    ("我的进度", 4),
    ("what's my status", 3),
    ("帮助", 2),
    ("help", 2),
    ("我的面试是几点", 3),
    ("when is my interview", 1),
    ("你好", 2),
    ("hello", 1),
    ("今天天气怎么样", 1),
    ("blue banana keyboard", 1),
    ("下周三下午两点", 1),
    ("next Thursday at 10:30", 1),
)
SEQUENCE_LEN = 997  # prime: with any user count that is not a multiple, each user sees the whole mix
POSITIONS = (("TELLER", 6), ("RM", 2), ("RISK", 2))


# ------------------------------------------------------------------ users and messages


@dataclass(frozen=True, slots=True)
class BenchUser:
    id: str
    kind: str  # stranger | consenting | linked | booked
    lang: str  # zh | en
    position: str


@dataclass
class PrepStats:
    messages: int = 0
    links: int = 0
    consents: int = 0
    bookings: int = 0
    errors: int = 0
    seconds: float = 0.0


def make_users(n: int, rng: random.Random) -> list[BenchUser]:
    """5 % never linked, 10 % halfway through consent, 12 % booked, the rest linked and consented."""
    users: list[BenchUser] = []
    positions = [p for p, w in POSITIONS for _ in range(w)]
    for i in range(n):
        r = rng.random()
        kind = "stranger" if r < 0.05 else "consenting" if r < 0.15 else "booked" if r < 0.27 else "linked"
        users.append(
            BenchUser(f"bench-u{i:05d}", kind, "zh" if rng.random() < 0.7 else "en", rng.choice(positions))
        )
    return users


def message_sequence(rng: random.Random) -> list[str]:
    texts = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    return rng.choices(texts, weights=weights, k=SEQUENCE_LEN)


def create_applications(s: Any, users: Sequence[BenchUser], now: datetime) -> dict[str, str]:
    """HR's side: one application and invitation code per user who will link. Returns user → code."""
    positions = {code: repo.position_by_code(s, code) for code, _ in POSITIONS}
    codes: dict[str, str] = {}
    for u in users:
        if u.kind == "stranger":
            continue
        pos = positions[u.position]
        assert pos is not None
        name = "张三" if u.lang == "zh" else "Alex Chen"
        _, code = repo.create_application(s, position=pos, name=name, now=now, actor="bench")
        codes[u.id] = repo.format_code(code)
    return codes


def fresh_database(tmp: Path, name: str, users: Sequence[BenchUser]) -> tuple[str, dict[str, str]]:
    """A migrated, seeded SQLite file with the users' applications (as `talentbot seed` + `invite`)."""
    url = f"sqlite:///{tmp / name}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as s:
            now = datetime.now(UTC)
            seed(s, content_dir=ROOT / "content", now=now, tz=Settings.from_env({}).tz)
            codes = create_applications(s, users, now)
    finally:
        engine.dispose()
    return url, codes


# A send function: (user, text, payload, message_id) → reply dicts ({"text", "choices": [...]}).
Send = Callable[[str, str | None, str | None, str], Awaitable[list[dict[str, Any]]]]


async def prepare_users(
    send: Send, users: Sequence[BenchUser], codes: dict[str, str], *, concurrency: int, tag: str
) -> PrepStats:
    """Walk each user to their starting state through the pipeline itself, ``concurrency`` at a time."""
    stats = PrepStats()
    ids = itertools.count()
    sem = asyncio.Semaphore(concurrency)

    async def say(u: BenchUser, text: str, payload: str | None = None) -> list[dict[str, Any]]:
        stats.messages += 1
        try:
            return await send(u.id, text, payload, f"{tag}-prep-{next(ids)}")
        except Exception:  # noqa: BLE001 — counted and reported; preparation goes on
            stats.errors += 1
            return []

    async def one(u: BenchUser) -> None:
        async with sem:
            zh = u.lang == "zh"
            if u.kind == "stranger":
                await say(u, "你好" if zh else "hi")
                return
            code = codes[u.id]
            await say(u, f"我的邀请码是 {code}" if zh else f"my code is {code}")
            stats.links += 1
            if u.kind == "consenting":
                return
            await say(u, "同意" if zh else "I agree", "yes")
            replies = await say(u, "同意" if zh else "I agree", "yes")
            stats.consents += 2
            if u.kind != "booked":
                return
            slot = next(
                (c for r in replies for c in r.get("choices", []) if str(c["payload"]).startswith("slot:")),
                None,
            )
            if slot is not None:
                replies = await say(u, slot["title"], slot["payload"])
                stats.bookings += any(c["payload"] == "ics" for r in replies for c in r.get("choices", []))

    t0 = time.perf_counter()
    await asyncio.gather(*(one(u) for u in users))
    stats.seconds = time.perf_counter() - t0
    return stats


# ------------------------------------------------------------------ load loops


@dataclass
class LoadResult:
    label: str
    messages: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    rate: float | None = None  # the offered rate of a paced run
    dropped: int = 0  # arrivals not sent because max in flight was reached (paced)
    client_cpu: float | None = None  # cores used by the load generator
    server_cpu: float | None = None  # cores used by the server process
    in_flight: int | None = None  # the closed loop's concurrency
    histogram: dict[int, float] | None = None  # percentile → ms, when the generator keeps no samples (wrk)
    max_lag_ms: float = 0.0  # how late the paced generator sent its worst arrival (its own CPU starvation)
    first_error: str | None = None

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if self.histogram is not None:
            return self.histogram[round(q * 100)]
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def _pick(users: Sequence[BenchUser], texts: Sequence[str], i: int) -> tuple[str, str]:
    return users[i % len(users)].id, texts[i % len(texts)]


async def closed_loop(
    send: Send,
    users: Sequence[BenchUser],
    texts: Sequence[str],
    *,
    concurrency: int,
    max_messages: int,
    seconds: float,
    tag: str,
) -> LoadResult:
    """``concurrency`` workers, each sending its next message when the last one is answered."""
    res = LoadResult(f"saturation, {concurrency} in flight", in_flight=concurrency)
    counter = itertools.count()
    t0 = time.perf_counter()
    deadline = t0 + seconds

    async def worker() -> None:
        while True:
            i = next(counter)
            if i >= max_messages or time.perf_counter() >= deadline:
                return
            user, text = _pick(users, texts, i)
            await _timed(send, res, user, text, f"{tag}-{i}", since=time.perf_counter())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    res.seconds = time.perf_counter() - t0
    return res


async def _timed(
    send: Send, res: LoadResult, user: BenchUser, text: str, message_id: str, *, since: float
) -> None:
    """Send one message; count it with its latency from ``since``, or count the error."""
    try:
        await send(user, text, None, message_id)
    except Exception as exc:  # noqa: BLE001
        res.errors += 1
        res.first_error = res.first_error or repr(exc)[:300]
        return
    res.latencies_ms.append((time.perf_counter() - since) * 1000)
    res.messages += 1


async def open_loop(
    send: Send,
    users: Sequence[BenchUser],
    texts: Sequence[str],
    *,
    rate: float,
    seconds: float,
    max_in_flight: int,
    tag: str,
    offset: int,
) -> LoadResult:
    """Arrivals at a fixed rate whatever the answers do; latency counts from the scheduled arrival
    (so a stall is not hidden by the load generator waiting for it)."""
    res = LoadResult(f"paced at {rate:.0f} msg/s", rate=rate)
    total = max(1, int(rate * seconds))
    in_flight: set[asyncio.Task[None]] = set()
    t0 = time.perf_counter()

    async def one(i: int, scheduled: float) -> None:
        user, text = _pick(users, texts, offset + i)
        await _timed(send, res, user, text, f"{tag}-{i}", since=scheduled)

    for i in range(total):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        res.max_lag_ms = max(res.max_lag_ms, (time.perf_counter() - scheduled) * 1000)
        if len(in_flight) >= max_in_flight:
            res.dropped += 1
            continue
        task = asyncio.create_task(one(i, scheduled))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight, timeout=30)
    res.seconds = time.perf_counter() - t0
    return res


def _paced_label(res: LoadResult, target: float) -> None:
    if res.rate is not None and res.rate < target:
        res.label += " (half the saturation rate, as the target rate is out of reach)"


def paced_rate(target: float, capacity: float) -> float:
    """The target rate when there is headroom for it, else half the measured capacity (a server's CPU per
    message is higher at partial load than at saturation, where wake-ups and relay passes coalesce)."""
    return target if capacity >= target * 1.1 else max(10.0, round(capacity * 0.5))


# ------------------------------------------------------------------ service-time breakdown


@dataclass
class Breakdown:
    messages: int
    total_us: float
    nlu_us: float
    statements: float
    sql_us: float
    commit_us: float
    begins: float

    def line(self) -> str:
        return (
            f"service time per message (handle_sync, one at a time, {self.messages} msgs): "
            f"{self.total_us:.0f} µs = NLU parse {self.nlu_us:.0f} µs + "
            f"{self.statements:.1f} SQL statements {self.sql_us:.0f} µs (in sqlite) + "
            f"commit {self.commit_us:.0f} µs + the rest (ORM, flow, engine) "
            f"{self.total_us - self.nlu_us - self.sql_us - self.commit_us:.0f} µs; "
            f"{self.begins:.1f} transactions/msg"
        )


class _TimedParser:
    def __init__(self, inner: Any) -> None:
        self.inner, self.ns, self.calls = inner, 0, 0

    def parse(self, text: str, *, now: datetime | None = None) -> Any:
        t = time.perf_counter_ns()
        try:
            return self.inner.parse(text, now=now)
        finally:
            self.ns += time.perf_counter_ns() - t
            self.calls += 1


def breakdown(
    rt: Runtime, users: Sequence[BenchUser], texts: Sequence[str], *, n: int, offset: int
) -> Breakdown:
    """Run ``n`` messages one after another through ``handle_sync``, timing NLU, SQL and commits.

    The listeners go on a private engine on the same file: adding them to the runtime's engine while the
    relay thread uses it would race with SQLAlchemy's listener lists."""
    timed = _TimedParser(rt.deps.nlu)
    engine = make_engine(rt.settings.database_url)
    deps = dataclasses.replace(rt.deps, nlu=timed, sessions=session_factory(engine))
    counts = {"stmt": 0, "sql_ns": 0, "commit_ns": 0, "begin": 0}
    marks: dict[str, int] = {}
    by_statement: dict[str, list[int]] = {}

    def before(*_: Any) -> None:
        marks["stmt"] = time.perf_counter_ns()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        ns = time.perf_counter_ns() - marks["stmt"]
        counts["stmt"] += 1
        counts["sql_ns"] += ns
        tally = by_statement.setdefault(" ".join(statement.split())[:70], [0, 0])
        tally[0] += 1
        tally[1] += ns

    def on_commit(*_: Any) -> None:
        marks["commit"] = time.perf_counter_ns()

    def on_checkin(*_: Any) -> None:  # commit → connection back in the pool
        if "commit" in marks:
            counts["commit_ns"] += time.perf_counter_ns() - marks.pop("commit")

    def on_begin(*_: Any) -> None:
        counts["begin"] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "begin", on_begin)
    event.listen(engine.pool, "checkin", on_checkin)
    try:
        for i in range(min(50, n)):  # this engine's statement cache and connection
            user, text = _pick(users, texts, offset + n + i)
            handle_sync(Inbound(PLATFORM, user, user, f"bd-warm-{i}", text), deps)
        timed.ns = 0
        counts.update(stmt=0, sql_ns=0, commit_ns=0, begin=0)
        by_statement.clear()
        t0 = time.perf_counter_ns()
        for i in range(n):
            user, text = _pick(users, texts, offset + i)
            handle_sync(Inbound(PLATFORM, user, user, f"bd-{i}", text), deps)
        total = time.perf_counter_ns() - t0
        if os.environ.get("TALENTBOT_BENCH_STATEMENTS"):
            for stmt, (k, ns) in sorted(by_statement.items(), key=lambda kv: -kv[1][1]):
                print(f"    {ns / n / 1000:7.1f} µs/msg  {k / n:4.2f}×  {stmt}")
    finally:
        engine.dispose()
    return Breakdown(
        messages=n,
        total_us=total / n / 1000,
        nlu_us=timed.ns / n / 1000,
        statements=counts["stmt"] / n,
        sql_us=counts["sql_ns"] / n / 1000,
        commit_us=counts["commit_ns"] / n / 1000,
        begins=counts["begin"] / n,
    )


def profile(rt: Runtime, users: Sequence[BenchUser], texts: Sequence[str], *, n: int, offset: int) -> str:
    """cProfile over ``n`` sequential messages: exclusive time by area, then the top functions."""
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        user, text = _pick(users, texts, offset + i)
        handle_sync(Inbound(PLATFORM, user, user, f"pf-{i}", text), rt.deps)
    prof.disable()
    st = pstats.Stats(prof)
    areas: dict[str, float] = {}
    raw: dict[Any, Any] = st.stats  # type: ignore[attr-defined]
    for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        areas[_area(filename, func)] = areas.get(_area(filename, func), 0.0) + tt
    total = sum(areas.values())
    out = io.StringIO()
    out.write(f"profile over {n} messages (cProfile inflates Python-heavy code): exclusive time by area\n")
    for name, tt in sorted(areas.items(), key=lambda kv: -kv[1]):
        if tt / total >= 0.005:
            out.write(f"  {name:<34} {tt / n * 1e6:8.0f} µs/msg  {tt / total:6.1%}\n")
    st.stream = out  # type: ignore[attr-defined]
    st.sort_stats("tottime").print_stats(25)
    st.sort_stats("cumulative").print_stats(35)
    return out.getvalue()


def _area(filename: str, func: str) -> str:
    f = filename.replace("\\", "/")
    if filename == "~":
        if "sqlite3" in func and "commit" in func:
            return "sqlite3 commit"
        if "sqlite3" in func and ("execute" in func or "fetch" in func):
            return "sqlite3 execute/fetch"
        return "builtins (" + func.split(" of ")[0].strip("<>{} ") + ")"
    for marker in (
        "sqlalchemy/orm",
        "sqlalchemy/engine",
        "sqlalchemy/sql",
        "sqlalchemy",
        "sklearn",
        "numpy",
        "scipy",
        "json",
        "/re/",
        "zoneinfo",
        "datetime",
        "threading",
        "asyncio",
        "logging",
        "/nlu/",
        "/flows/",
        "/storage/",
        "/bots/",
    ):
        if marker in f:
            return marker.strip("/")
    return "other: " + Path(f).name


# ------------------------------------------------------------------ 1. in-process


async def run_inprocess(
    args: argparse.Namespace,
    tmp: Path,
    users: list[BenchUser],
    texts: list[str],
    snapshot: Path | None = None,
) -> dict[str, Any]:
    print(
        f"[in-process] building the runtime (migrations, NLU training) on {tmp / 'inprocess.db'}", flush=True
    )
    t0 = time.perf_counter()
    url, codes = fresh_database(tmp, "inprocess.db", users)
    settings = Settings.from_env(
        {},
        database_url=url,
        var_dir=tmp / "var-inprocess",
        secret_key="bench-secret",
        public_url="http://127.0.0.1:8000",
    )
    rt = build(settings, migrate=False, name="bench-inprocess")
    print(f"[in-process] ready in {time.perf_counter() - t0:.1f} s", flush=True)
    await rt.start()  # the reminder scheduler and the outbox relay run, as in the server
    try:

        async def send(user: str, text: str | None, payload: str | None, mid: str) -> list[dict[str, Any]]:
            out = await handle(Inbound(PLATFORM, user, user, mid, text, payload=payload), rt.deps)
            return [r.to_json() for r in out.replies]

        prep = await prepare_users(send, users, codes, concurrency=args.concurrency, tag="ip")
        print(_prep_line("in-process", prep), flush=True)
        if snapshot is not None:
            await asyncio.get_running_loop().run_in_executor(rt.deps.executor, _backup, url, snapshot)
        await closed_loop(
            send, users, texts, concurrency=args.concurrency, max_messages=200, seconds=1, tag="ip-warm"
        )
        sat = await closed_loop(
            send,
            users,
            texts,
            concurrency=args.concurrency,
            max_messages=args.messages,
            seconds=args.seconds,
            tag="ip-sat",
        )
        print(_load_line("in-process", sat, TARGET_INPROCESS), flush=True)
        rate = paced_rate(TARGET_INPROCESS, sat.per_second)
        paced = await open_loop(
            send,
            users,
            texts,
            rate=rate,
            seconds=args.paced_seconds,
            max_in_flight=1000,
            tag="ip-paced",
            offset=sat.messages,
        )
        _paced_label(paced, TARGET_INPROCESS)
        print(_load_line("in-process", paced, TARGET_INPROCESS), flush=True)
        bd = await asyncio.get_running_loop().run_in_executor(
            rt.deps.executor, lambda: breakdown(rt, users, texts, n=args.breakdown, offset=7)
        )
        print(f"[in-process] {bd.line()}", flush=True)
        if args.profile:
            print(
                await asyncio.get_running_loop().run_in_executor(
                    rt.deps.executor, lambda: profile(rt, users, texts, n=args.profile, offset=11)
                ),
                flush=True,
            )
    finally:
        await rt.stop()
    return {
        "prep": dataclasses.asdict(prep),
        "saturation": _load_json(sat),
        "paced": _load_json(paced),
        "breakdown": dataclasses.asdict(bd),
    }


def _backup(url: str, dest: Path) -> None:
    """An online copy of the prepared database (sqlite3's backup API: consistent while in use)."""
    import sqlite3

    src_path = url.removeprefix("sqlite:///")
    with (
        contextlib.closing(sqlite3.connect(src_path)) as src,
        contextlib.closing(sqlite3.connect(dest)) as dst,
    ):
        src.backup(dst)


# ------------------------------------------------------------------ 2. over HTTP


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RssSampler:
    """Peak RSS of one process, sampled every ``interval`` seconds in a thread; ``mark()`` starts a window."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.window_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                rss = self.proc.memory_info().rss
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.window_peak = max(self.window_peak, rss)

    def start(self) -> None:
        self._thread.start()

    def mark(self) -> None:
        self.window_peak = 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


WRK_SCRIPT = r"""
local users = {%(users)s}
local texts = {%(texts)s}
local n = 0
local prefix = "%(prefix)s"
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function request()
  n = n + 1
  local i = n * %(nthreads)d + tid
  local u = users[(i %% #users) + 1]
  local t = texts[(i %% #texts) + 1]
  local body = '{"user":"' .. u .. '","text":' .. t .. ',"message_id":"' .. prefix .. tid .. '-' .. n .. '"}'
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,' ..
    '"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


class RawHttp:
    """A small HTTP/1.1 keep-alive client on asyncio streams, for 127.0.0.1 only.

    httpx needs ~3 ms of CPU per request on this kind of machine, which would make the load generator,
    not the server, the bottleneck; this needs a tenth of that. Responses are framed by Content-Length
    (Starlette always sends it). A request that finds its kept-alive connection closed by the server is
    sent once more on a new one: messages are deduplicated by message id, so that is safe.
    """

    def __init__(self, port: int, *, size: int, timeout: float = 30.0) -> None:
        self.port, self.size, self.timeout = port, size, timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._sem = asyncio.Semaphore(size)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        async with self._sem:
            for attempt in (1, 2):
                reused = attempt == 1 and bool(self._idle)
                reader, writer = (
                    self._idle.pop() if reused else await asyncio.open_connection("127.0.0.1", self.port)
                )
                try:
                    head = (
                        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                    )
                    writer.write(head.encode() + body)
                    status, data = await asyncio.wait_for(self._response(reader), self.timeout)
                except (ConnectionError, asyncio.IncompleteReadError):
                    writer.close()
                    if reused:  # the server closed idle connections (keep-alive timeout): all are stale
                        self.close()
                        continue
                    raise
                except BaseException:
                    writer.close()
                    raise
                self._idle.append((reader, writer))
                return status, data
        raise AssertionError("unreachable")

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next(
            (
                int(v)
                for k, _, v in (ln.partition(":") for ln in lines[1:])
                if k.strip().lower() == "content-length"
            ),
            None,
        )
        if length is None:
            raise ConnectionError("response without Content-Length")
        return status, await reader.readexactly(length)

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


def _lua_string(s: str) -> str:
    return "[==[" + s + "]==]"


def run_wrk(
    base: str,
    users: Sequence[BenchUser],
    texts: Sequence[str],
    *,
    concurrency: int,
    seconds: float,
    tmp: Path,
    server: psutil.Process,
) -> LoadResult:
    """A closed loop of ``concurrency`` connections from wrk (one thread: it needs a few % of a core)."""
    script = tmp / "pipeline.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "users": ",".join(_lua_string(json.dumps(u.id)[1:-1]) for u in users),
            "texts": ",".join(
                _lua_string(json.dumps(t)) for t in texts
            ),  # JSON string literals, quotes included
            "prefix": f"wrk{int(time.time())}-",
            "nthreads": 1,
            "path": PATH,
        },
        encoding="utf-8",
    )
    cmd = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
    ]
    cpu0, scpu0, t0 = _children_cpu(), _cpu(server), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
    wall = time.perf_counter() - t0
    res = LoadResult(f"saturation, {concurrency} connections (wrk)", in_flight=concurrency)
    res.client_cpu = (_children_cpu() - cpu0) / wall
    res.server_cpu = (_cpu(server) - scpu0) / wall
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    d = json.loads(line[len("WRK_JSON ") :])
    errors = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    res.messages = d["requests"] - d["status"]
    res.errors = errors
    res.seconds = d["duration_us"] / 1e6
    res.histogram = {
        50: d["p50_us"] / 1000,
        90: d["p90_us"] / 1000,
        99: d["p99_us"] / 1000,
        100: d["max_us"] / 1000,
    }
    return res


async def run_http(
    args: argparse.Namespace,
    tmp: Path,
    users: list[BenchUser],
    texts: list[str],
    prepared: Path | None = None,
) -> dict[str, Any]:
    if prepared is None:
        url, codes = fresh_database(tmp, "http.db", users)
    else:  # --http-prep copy: the users were walked through the pipeline in-process, on this file's original
        url, codes = f"sqlite:///{prepared}", {}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTBOT_")}
    env.update(
        {
            "TALENTBOT_DATABASE_URL": url,
            "TALENTBOT_VAR_DIR": str(tmp / "var-http"),
            "TALENTBOT_SECRET_KEY": "bench-secret",
            "TALENTBOT_PUBLIC_URL": base,
        }
    )
    log_path = tmp / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "bots.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    print(
        f"[http] starting `talentbot serve` on {base} (database {url.removeprefix('sqlite:///')})", flush=True
    )
    with open(log_path, "wb") as log:
        server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    sampler: RssSampler | None = None
    client = RawHttp(port, size=args.concurrency)
    try:
        t0 = time.perf_counter()
        while True:  # bounded: 60 s to start
            if server.poll() is not None:
                raise RuntimeError(f"server exited ({server.returncode}):\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, TimeoutError):
                if (await client.request("GET", "/healthz"))[0] == 200:
                    break
            if time.perf_counter() - t0 > 60:
                raise RuntimeError("server did not answer /healthz within 60 s")
            await asyncio.sleep(0.1)
        sproc = psutil.Process(server.pid)
        rss_idle = sproc.memory_info().rss
        print(
            f"[http] server pid {server.pid} up in {time.perf_counter() - t0:.1f} s, "
            f"RSS {rss_idle / 2**20:.0f} MB",
            flush=True,
        )
        sampler = RssSampler(server.pid)
        sampler.start()

        async def send(user: str, text: str | None, payload: str | None, mid: str) -> list[dict[str, Any]]:
            body = json.dumps({"user": user, "text": text, "payload": payload, "message_id": mid}).encode()
            status, data = await client.request("POST", PATH, body)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {data[:200]!r}")
            return list(json.loads(data)["replies"])

        if prepared is None:
            prep = await prepare_users(send, users, codes, concurrency=args.concurrency, tag="http")
            print(_prep_line("http", prep), flush=True)
        else:
            prep = PrepStats()
            print(
                "[http] users prepared in-process (--http-prep copy): the server runs on a copy", flush=True
            )
        await closed_loop(
            send, users, texts, concurrency=args.concurrency, max_messages=200, seconds=1, tag="http-warm"
        )
        sampler.mark()
        use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
        if use_wrk:
            sat = await asyncio.to_thread(
                run_wrk,
                base,
                users,
                texts,
                concurrency=args.concurrency,
                seconds=args.seconds,
                tmp=tmp,
                server=sproc,
            )
            # wrk leaves its last requests in flight; the server still answers them, so let that queue drain
            await asyncio.sleep(min(3.0, 1.5 * args.concurrency / max(sat.per_second, 1.0) + 0.2))
        else:
            me = psutil.Process()
            c0, s0, w0 = _cpu(me), _cpu(sproc), time.perf_counter()
            sat = await closed_loop(
                send,
                users,
                texts,
                concurrency=args.concurrency,
                max_messages=args.messages,
                seconds=args.seconds,
                tag="http-sat",
            )
            wall = time.perf_counter() - w0
            sat.label += " (asyncio client)"
            sat.client_cpu, sat.server_cpu = (_cpu(me) - c0) / wall, (_cpu(sproc) - s0) / wall
        print(_load_line("http", sat, TARGET_HTTP), flush=True)
        rss_sat = sampler.window_peak
        rate = paced_rate(TARGET_HTTP, sat.per_second)
        me = psutil.Process()
        c0, s0, w0 = _cpu(me), _cpu(sproc), time.perf_counter()
        paced = await open_loop(
            send,
            users,
            texts,
            rate=rate,
            seconds=args.paced_seconds,
            max_in_flight=args.concurrency,
            tag="http-paced",
            offset=123_457,
        )
        wall = time.perf_counter() - w0
        paced.label += " (asyncio client)"
        _paced_label(paced, TARGET_HTTP)
        paced.client_cpu, paced.server_cpu = (_cpu(me) - c0) / wall, (_cpu(sproc) - s0) / wall
        print(_load_line("http", paced, TARGET_HTTP), flush=True)
        sampler.stop()
        rss_peak = sampler.peak
        ok_rss = rss_peak / 2**20 <= TARGET_RSS_MB
        print(
            f"[http] server RSS: {rss_idle / 2**20:.0f} MB idle, peak {rss_sat / 2**20:.0f} MB under "
            f"saturation, peak {rss_peak / 2**20:.0f} MB over the whole run "
            f"(target ≤ {TARGET_RSS_MB:.0f} MB: {'ok' if ok_rss else 'MISSED'})",
            flush=True,
        )
    finally:
        client.close()
        if sampler is not None:
            sampler.stop()
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
    return {
        "prep": dataclasses.asdict(prep),
        "saturation": _load_json(sat),
        "paced": _load_json(paced),
        "rss_mb": {"idle": rss_idle / 2**20, "saturation_peak": rss_sat / 2**20, "peak": rss_peak / 2**20},
    }


# ------------------------------------------------------------------ printing


def _prep_line(phase: str, p: PrepStats) -> str:
    return (
        f"[{phase}] prepared users in {p.seconds:.1f} s: {p.messages} messages ({p.links} codes linked, "
        f"{p.consents} consents, {p.bookings} bookings), {p.errors} errors"
    )


def _load_line(phase: str, r: LoadResult, target: float) -> str:
    p50, p99 = r.pct(0.5), r.pct(0.99)
    line = f"[{phase}] {r.label}: {r.messages} messages in {r.seconds:.1f} s → {r.per_second:.0f} msg/s"
    if r.rate is None:
        line += f" (target ≥ {target:.0f}: {'ok' if r.per_second >= target else 'MISSED'})"
    line += (
        f"; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        f"(target p99 ≤ {TARGET_P99_MS:.0f} ms: {'ok' if p99 <= TARGET_P99_MS else 'MISSED'})"
    )
    if r.in_flight and r.per_second:  # Little's law: a closed loop's latency is mostly its own queue
        line += f" [Little: {r.in_flight} in flight / throughput = {1000 * r.in_flight / r.per_second:.0f} ms mean]"
    line += f"; errors {r.errors}" + (f" (first: {r.first_error})" if r.first_error else "")
    if r.dropped:
        line += f", dropped {r.dropped}"
    if r.rate is not None:
        line += f"; generator's worst lag {r.max_lag_ms:.1f} ms"
    if r.client_cpu is not None:
        line += f"; client CPU {r.client_cpu:.2f} cores, server CPU {r.server_cpu:.2f} cores"
    return line


def _load_json(r: LoadResult) -> dict[str, Any]:
    return {
        "label": r.label,
        "messages": r.messages,
        "seconds": round(r.seconds, 3),
        "msg_per_s": round(r.per_second, 1),
        "p50_ms": round(r.pct(0.5), 2),
        "p99_ms": round(r.pct(0.99), 2),
        "errors": r.errors,
        "first_error": r.first_error,
        "dropped": r.dropped,
        "rate": r.rate,
        "max_lag_ms": round(r.max_lag_ms, 2),
        "client_cpu": None if r.client_cpu is None else round(r.client_cpu, 3),
        "server_cpu": None if r.server_cpu is None else round(r.server_cpu, 3),
    }


# ------------------------------------------------------------------ main


async def amain(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    users = make_users(args.users, rng)
    texts = message_sequence(rng)
    kinds = {k: sum(u.kind == k for u in users) for k in ("linked", "booked", "consenting", "stranger")}
    print(
        f"talentbot pipeline benchmark: {args.users} users {kinds}, {args.concurrency} in flight, "
        f"durable SQLite (WAL), {psutil.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        flush=True,
    )
    t_start = time.perf_counter()
    load0 = os.getloadavg()[0]
    result: dict[str, Any] = {"users": args.users, "concurrency": args.concurrency, "load_before": load0}
    ok = True
    with tempfile.TemporaryDirectory(prefix="talentbot-bench-") as d:
        tmp = Path(d)
        snapshot = tmp / "http.db" if args.http_prep == "copy" and not args.skip_inprocess else None
        if not args.skip_inprocess:
            ip = await run_inprocess(args, tmp, users, texts, snapshot=None if args.skip_http else snapshot)
            result["inprocess"] = ip
            ok &= ip["saturation"]["msg_per_s"] >= TARGET_INPROCESS and ip["paced"]["p99_ms"] <= TARGET_P99_MS
        if not args.skip_http:
            hp = await run_http(args, tmp, users, texts, prepared=snapshot)
            result["http"] = hp
            ok &= (
                hp["saturation"]["msg_per_s"] >= TARGET_HTTP
                and hp["paced"]["p99_ms"] <= TARGET_P99_MS
                and hp["rss_mb"]["peak"] <= TARGET_RSS_MB
            )
    result["targets"] = {
        "inprocess_msg_per_s": TARGET_INPROCESS,
        "http_msg_per_s": TARGET_HTTP,
        "p99_ms": TARGET_P99_MS,
        "rss_mb": TARGET_RSS_MB,
        "met": ok,
    }
    elapsed = time.perf_counter() - t_start
    load1 = os.getloadavg()[0]
    result.update(elapsed_s=round(elapsed, 1), load_after=load1)
    print(
        f"ran in {elapsed:.0f} s; 1-minute load average {load0:.2f} before, {load1:.2f} after"
        + (" (other processes were busy: figures are noisy)" if max(load0, load1) > 1.5 else "")
    )
    print("targets met" if ok else "TARGETS MISSED")
    print("RESULT " + json.dumps(result, ensure_ascii=False))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--messages",
        type=int,
        default=1_000_000,
        help="at most N messages per Python-driven saturation run (wrk runs for --seconds)",
    )
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each saturation run")
    ap.add_argument("--paced-seconds", type=float, default=3.0, help="length of each paced run")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="HTTP load generator for the saturation run (auto: wrk when installed); the paced run "
        "and the preparation always use the small asyncio client",
    )
    ap.add_argument(
        "--http-prep",
        choices=("http", "copy"),
        default="http",
        help="walk the users through the server (http), or start it on a copy of the in-process "
        "phase's prepared database (copy: about half the run time)",
    )
    ap.add_argument("--breakdown", type=int, default=200, help="messages in the sequential service-time pass")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N in-process messages")
    ap.add_argument("--skip-inprocess", action="store_true")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    if args.users < 1 or args.concurrency < 1 or args.messages < 1:
        ap.error("--users, --concurrency and --messages must be positive")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
