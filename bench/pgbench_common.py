"""What the PostgreSQL benchmarks share (``bench/hr.py``, ``bench/selfservice.py``).

* the bench database: its name checked (never the tests'), created from the ``postgres`` maintenance
  database (AUTOCOMMIT) when missing, its schema brought to head on every run, emptied for a new
  dataset;
* loading: ``COPY`` (psycopg ``cursor.copy``) with foreign-key triggers off, the sequences set after
  it, ``VACUUM ANALYZE``, and the timings of a generation;
* measuring: an operation called on its arguments after two warm-up calls, its percentiles (by kind
  of argument, and the tally of its outcomes), printed and as JSON;
* explaining: an operation's statements captured (engine events) on its slowest argument, and
  ``EXPLAIN (ANALYZE, BUFFERS)``; trial indexes created by hand, measured, dropped;
* the command line's common options and the last lines: the verdict and one JSON line.

The scripts put the repository root first on ``sys.path`` and import this as ``bench.pgbench_common``
(this folder stays off the path: bench/nlu.py would shadow the nlu package).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import psycopg
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url

from storage.db import make_engine, upgrade
from storage.models import Base

# An index to try by hand (--try-indexes): (name, CREATE INDEX statement, why).
TrialIndex = tuple[str, str, str]
# A statement an operation sent: (SQL, parameters, ms).
Statement = tuple[str, Any, float]


def words(spec: str) -> tuple[str, ...]:
    return tuple(spec.split())


# =========================================================================== the bench database
def check_url(url: str, script: str, never: Sequence[str] = ("test",)) -> str:
    """The database's name, once it is safe to empty: PostgreSQL, "bench" in the name, not in ``never``
    (the tests' database, other benchmarks'). Exits with the reason otherwise."""
    u = make_url(url)
    name = u.database or ""
    if u.get_backend_name() != "postgresql":
        raise SystemExit(f"{script} needs PostgreSQL (--database-url postgresql://…)")
    if name in never or "bench" not in name:
        rule = "the bench database's name must contain 'bench'"
        if len(never) > 1:
            rule += f" and not be one of {', '.join(never)}"
        raise SystemExit(f"refusing to use database {name!r}: {rule}")
    return name


def ensure_database(url: str) -> None:
    """Create the bench database from the ``postgres`` maintenance database when it is missing."""
    u = make_url(url)
    name = u.database
    admin = make_engine(u.set(database="postgres").render_as_string(hide_password=False))
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            there = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not there:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                print(f"created database {name}")
    finally:
        admin.dispose()


@contextmanager
def bench_database(url: str) -> Iterator[Engine]:
    """The bench database (created when missing), its schema at head — every run: a reused dataset
    follows the schema (migrations only add) — and an engine on it, disposed of at the end."""
    ensure_database(url)
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


def conninfo(url: str) -> str:
    """The URL as psycopg takes it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def table_counts(engine: Engine) -> dict[str, int]:
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for t in Base.metadata.sorted_tables:
            if conn.dialect.has_table(conn, t.name):
                out[t.name] = int(conn.scalar(text(f'SELECT count(*) FROM "{t.name}"')) or 0)
    return out


def truncate_all(engine: Engine) -> None:
    """Every domain table emptied (ids from 1 again); the schema is at head."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


# =========================================================================== loading
def copy_statement(table: str, columns: Sequence[str]) -> str:
    cols = ", ".join(f'"{c}"' for c in columns)
    return f'COPY "{table}" ({cols}) FROM STDIN'


def copy_rows(
    cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """``rows`` into ``table`` (its ``columns`` in that order) with ``COPY``; how many."""
    n = 0
    with cur.copy(copy_statement(table, columns)) as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def triggers_off(cur: psycopg.Cursor[Any]) -> None:
    """Foreign-key triggers off for this connection's load (the rows are consistent by construction)."""
    try:
        cur.execute("SET session_replication_role = replica")
    except psycopg.Error:  # not a superuser: load with the triggers on (slower, same result)
        cur.connection.rollback()


def reset_sequences(cur: psycopg.Cursor[Any]) -> None:
    """Every table's id sequence past the largest id loaded."""
    for t in Base.metadata.sorted_tables:
        if "id" in t.c and t.c.id.primary_key and t.c.id.autoincrement:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), coalesce(max(id), 0) + 1, false)"
                f' FROM "{t.name}"'
            )


def vacuum_analyze(url: str) -> None:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def load_timed(url: str, t0: float, load: Callable[[], dict[str, int]]) -> dict[str, Any]:
    """After the walk that began at ``t0``: ``load()`` (the COPY, rows by table) and ``VACUUM ANALYZE``.
    The figures of a generation, in order: seconds in all, of the walk, the COPY, VACUUM ANALYZE; rows."""
    t_walk = time.perf_counter() - t0
    counts = load()
    t_load = time.perf_counter() - t0 - t_walk
    t1 = time.perf_counter()
    vacuum_analyze(url)
    t_vacuum = time.perf_counter() - t1
    return {
        "seconds": round(time.perf_counter() - t0, 1),
        "walk_seconds": round(t_walk, 1),
        "copy_seconds": round(t_load, 1),
        "vacuum_analyze_seconds": round(t_vacuum, 1),
        "rows": counts,
    }


def print_generation(generation: Mapping[str, Any]) -> None:
    """The timings and the rows of :func:`load_timed`'s figures."""
    print(
        f"generated in {generation['seconds']:.1f} s (walk {generation['walk_seconds']:.1f} s, COPY"
        f" {generation['copy_seconds']:.1f} s, VACUUM ANALYZE {generation['vacuum_analyze_seconds']:.1f} s)"
    )
    print("  rows: " + ", ".join(f"{t} {n:,}" for t, n in generation["rows"].items()))


# =========================================================================== measuring
@dataclass
class Stats:
    """The times of one operation (ms), by kind of argument, and the tally of its outcomes.

    The layout of the figures is a benchmark's own: a subclass sets the class variables."""

    name: str
    ms: list[float]
    target_ms: float | None
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    worst_arg: Any = None
    error: str | None = None

    NAME_WIDTH: ClassVar[int] = 14  # the operation's name, printed
    KIND_WIDTH: ClassVar[int] = 10  # a kind of argument, printed
    SORT_KINDS: ClassVar[bool] = False  # the kinds printed in order of name (else as they came)
    FINE: ClassVar[bool] = False  # below 1 ms: three decimals printed, four in the JSON (else one, two)
    CHANGE_DIGITS: ClassVar[int] = 1  # decimals of the trial indexes' before → after

    def pct(self, p: float, values: Sequence[float] | None = None) -> float:
        v = sorted(self.ms if values is None else values)
        return v[max(0, math.ceil(p * len(v)) - 1)] if v else float("nan")

    @property
    def p50(self) -> float:
        return self.pct(0.50)

    @property
    def p95(self) -> float:
        return self.pct(0.95)

    @property
    def max(self) -> float:
        return max(self.ms) if self.ms else float("nan")

    @property
    def ok(self) -> bool | None:
        if self.error:
            return False
        return None if self.target_ms is None else self.p95 <= self.target_ms

    def fmt(self, ms: float) -> str:
        return f"{ms:8.1f}" if ms >= 1 or not self.FINE else f"{ms:8.3f}"

    def line(self) -> str:
        if self.error:
            return f"  {self.name:<{self.NAME_WIDTH}} FAILED: {self.error}"
        target = "for information" if self.target_ms is None else f"target p95 ≤ {self.target_ms:g} ms"
        verdict = "" if self.ok is None else ("  ok" if self.ok else "  MISSED")
        return (
            f"  {self.name:<{self.NAME_WIDTH}} n={len(self.ms):<4} p50 {self.fmt(self.p50)} ms"
            f"  p95 {self.fmt(self.p95)} ms  max {self.fmt(self.max)} ms   ({target}){verdict}"
        )

    def details(self) -> list[str]:
        """The figures by kind of argument, and the outcomes (most frequent first), a line each."""
        kinds = sorted(self.by_kind.items()) if self.SORT_KINDS else self.by_kind.items()
        out = [
            f"      {k:<{self.KIND_WIDTH}} n={len(v):<4} p50 {self.fmt(self.pct(0.5, v))} ms"
            f"  p95 {self.fmt(self.pct(0.95, v))} ms"
            for k, v in kinds
        ]
        if self.outcomes:
            tally = sorted(self.outcomes.items(), key=lambda kv: -kv[1])
            out.append("      answers: " + ", ".join(f"{k} {v}" for k, v in tally))
        return out

    def to_dict(self) -> dict[str, Any]:
        if self.error:
            return {"error": self.error, "target_p95_ms": self.target_ms, "ok": False}
        digits = 2 if not self.FINE or self.p95 >= 1 else 4
        out: dict[str, Any] = {
            "n": len(self.ms),
            "p50_ms": round(self.p50, digits),
            "p95_ms": round(self.p95, digits),
            "max_ms": round(self.max, digits),
            "target_p95_ms": self.target_ms,
            "ok": self.ok,
        }
        if self.by_kind:
            out["by_kind"] = {
                k: {
                    "n": len(v),
                    "p50_ms": round(self.pct(0.5, v), digits),
                    "p95_ms": round(self.pct(0.95, v), digits),
                }
                for k, v in self.by_kind.items()
            }
        if self.outcomes:
            out["outcomes"] = self.outcomes
        return out


class SqlLog:
    """The statements an operation sends, with their parameters and times (engine events)."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.entries: list[Statement] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if self.on:
            conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if self.on and "bench_t0" in conn.info:
            self.entries.append((statement, params, (time.perf_counter() - conn.info.pop("bench_t0")) * 1000))

    def capture(self, fn: Callable[[], Any]) -> list[Statement]:
        self.entries = []
        self.on = True
        try:
            fn()
        finally:
            self.on = False
        return list(self.entries)


@dataclass
class Op:
    name: str
    target_ms: float | None
    args: list[tuple[str, Any]]  # (kind, argument)
    call: Callable[[Any], str | None]  # returns the outcome, for the tally (None: not tallied)
    show: Callable[[Any], str] | None = None  # the answer's text, for a sample


def run_op(op: Op, stats: type[Stats] = Stats, warmup: int = 2) -> Stats:
    st = stats(op.name, [], op.target_ms)
    try:
        for _, arg in op.args[:warmup]:
            op.call(arg)
    except Exception as exc:  # the function as it stands fails: reported, counted as missed
        st.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        return st
    worst = -1.0
    for kind, arg in op.args:
        t = time.perf_counter()
        outcome = op.call(arg)
        ms = (time.perf_counter() - t) * 1000
        st.ms.append(ms)
        st.by_kind.setdefault(kind, []).append(ms)
        if outcome is not None:
            st.outcomes[outcome] = st.outcomes.get(outcome, 0) + 1
        if ms > worst:
            worst, st.worst_arg = ms, (kind, arg)
    if len(st.by_kind) == 1:
        st.by_kind = {}
    return st


def measure(ops: Sequence[Op], stats: type[Stats] = Stats) -> dict[str, Stats]:
    """Every operation run and its figures printed as they come."""
    out = {}
    for op in ops:
        out[op.name] = st = run_op(op, stats)
        print(st.line(), flush=True)
        for line in st.details():
            print(line)
    return out


def results(stats: Mapping[str, Stats]) -> dict[str, Any]:
    return {k: v.to_dict() for k, v in stats.items()}


# =========================================================================== explaining
Explain = Callable[[Op, Stats], list[str]]  # an operation's statements and plans, as lines


def rerun_worst(log: SqlLog, op: Op, st: Stats) -> tuple[str, Any, list[Statement]] | None:
    """``op`` once more on its slowest argument, its statements captured: (kind, argument, statements);
    None when it never ran."""
    if st.worst_arg is None:
        return None
    kind, arg = st.worst_arg
    return kind, arg, log.capture(lambda: op.call(arg))


def statement_line(stmt: str, ms: float, digits: int) -> str:
    return f"    {ms:8.{digits}f} ms  {one_line(stmt)}"


def one_line(stmt: str, width: int = 150) -> str:
    return " ".join(stmt.split())[:width]


def explain_plan(conn: Connection, stmt: str, params: Any) -> list[str]:
    """The plan of ``EXPLAIN (ANALYZE, BUFFERS)`` of one statement, its lines indented."""
    plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + stmt, params).scalars().all()
    return [f"      {line}" for line in plan]


def explain_misses(
    ops: Sequence[Op], figures: Mapping[str, Stats], explain: Explain, every: bool
) -> list[Op]:
    """The operations that missed their target, each explained (or ``every`` operation)."""
    missed = [op for op in ops if figures[op.name].ok is False]
    for op in ops:
        if op in missed or every:
            print("\n".join(explain(op, figures[op.name])))
    return missed


def try_indexes(url: str, indexes: Sequence[TrialIndex], *, create: bool, analyze: str = "ANALYZE") -> None:
    """The trial indexes created (then ``analyze`` run, for the planner) or dropped."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        for name, sql, _ in indexes:
            if create:
                conn.execute(sql)
            else:
                conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        if create:
            conn.execute(analyze)


def trial(
    args: argparse.Namespace,
    indexes: Sequence[TrialIndex],
    ops: Sequence[Op],
    before: Mapping[str, Stats],
    explain: Explain,
    *,
    analyze: str = "ANALYZE",
    stats: type[Stats] = Stats,
) -> dict[str, Any] | None:
    """With --try-indexes (and indexes to try): the indexes created by hand in the bench database,
    ``ops`` measured again (and explained where they miss, or all with --explain), the indexes dropped
    (unless --keep-indexes); prints before → after. Returns the indexes and the figures with them, for
    the JSON line; None when not asked."""
    if not (args.try_indexes and indexes):
        return None
    url = args.database_url
    print("trial indexes, created by hand in the bench database (not in storage/ or the migrations):")
    for _, sql, why in indexes:
        print(f"  {sql};  -- {why}")
    try_indexes(url, indexes, create=True, analyze=analyze)
    try:
        after = measure(ops, stats)
        explain_misses(ops, after, explain, args.explain)
    finally:
        if not args.keep_indexes:
            try_indexes(url, indexes, create=False)
    print("before → after (p95 ms):")
    d = stats.CHANGE_DIGITS
    for op in ops:
        b, a = before[op.name], after[op.name]
        print(f"  {op.name:<14} {b.p95:8.{d}f} → {a.p95:8.{d}f}   (p50 {b.p50:.{d}f} → {a.p50:.{d}f})")
    return {"indexes": [sql for _, sql, _ in indexes], "results": results(after)}


# =========================================================================== command line, last lines
def parser(doc: str | None, default_url: str) -> argparse.ArgumentParser:
    """The parser with the options every benchmark has first: --database-url, --reuse."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=default_url)
    ap.add_argument("--reuse", action="store_true", help="keep a dataset of the asked size if there is one")
    return ap


def add_explain_options(ap: argparse.ArgumentParser) -> None:
    """The options every benchmark has last: --explain, --try-indexes, --keep-indexes."""
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every operation, not only misses")
    ap.add_argument(
        "--try-indexes", action="store_true", help="measure again with TRIAL_INDEXES created by hand"
    )
    ap.add_argument("--keep-indexes", action="store_true", help="with --try-indexes: leave them in place")


def report(bench: str, database: str, figures: Mapping[str, Any], missed: Sequence[Op]) -> int:
    """The verdict and, last, one JSON line: the benchmark, the database, ``figures`` in their order,
    whether every target was met. Returns the exit status: 1 when a target is missed."""
    ok = not missed
    print("all targets met" if ok else "MISSED: " + ", ".join(op.name for op in missed))
    print(
        json.dumps(
            {"bench": bench, "backend": "postgresql", "database": database, **figures, "ok": ok},
            ensure_ascii=False,
        )
    )
    return 0 if ok else 1
