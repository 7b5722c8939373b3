"""HR-system sync: deliveries per second from the outbox to a local fake HR system.

Run as ``.venv/bin/python bench/hr_sync.py [--n 2000] [--database-url postgresql://…]``.

``--n`` ``hr_sync`` rows (a realistic mix: stage changes, scored interviews, complete document sets)
are written to a fresh store (SQLite under a temporary directory unless ``--database-url`` names
another, which is then emptied of outbox rows first), then the relay of a ``talentbot serve``-like
runtime (``bots.runtime.build``, started on an event loop exactly as ``serve`` starts it: inline on
SQLite, with the HTTP calls in a thread) is woken once and timed until every row is ``done``. The HR
system is the tests' fake (``tests/actions/hrsync_fake.py``: Starlette under uvicorn, in a thread of
this process, checking each signature and idempotency key), so the figure includes its share of
this process's CPU.

Prints the figure and, last, one JSON line. Exit status 1 below the target (200 deliveries/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATE = 200.0
SECRET = "bench-hr-secret"


def payload(i: int) -> dict[str, Any]:
    at = datetime.now(UTC).isoformat()
    if i % 10 == 0:
        return {
            "event": "interview_scored",
            "application_id": i,
            "position": "RISK",
            "stage": "interviewed",
            "overall": 71.5,
            "scores": {"communication": 70.0, "logic": 68.0, "numeracy": None, "risk": 80.0, "finance": 66.0},
            "versions": {"rubric": "2026.11-1", "scorer": "1.4.0", "speech": "1.1.0"},
            "answered": 6,
            "at": at,
        }
    if i % 10 == 1:
        kinds = ["id_card", "degree", "cv", "qualification"]
        return {
            "event": "documents_complete",
            "application_id": i,
            "position": "RM",
            "stage": "booked",
            "kinds": kinds,
            "at": at,
        }
    return {"event": "stage_changed", "application_id": i, "position": "TELLER", "stage": "booked", "at": at}


async def run_relay(rt: Any, n: int, timeout: float) -> float:
    from sqlalchemy import func, select

    from storage.models import OutboxItem

    def left() -> int:
        with rt.sessions() as s:
            q = select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "pending")
            return int(s.scalar(q) or 0)

    rt.relay.start()
    try:
        started = time.perf_counter()
        rt.relay.wake()
        while await asyncio.to_thread(left):
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"{left()} of {n} rows still pending after {timeout:g} s")
            await asyncio.sleep(0.02)
        return time.perf_counter() - started
    finally:
        await rt.relay.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()

    from sqlalchemy import delete, func, select

    from bots.runtime import build
    from bots.settings import Settings
    from storage.models import OutboxItem
    from tests.actions.hrsync_fake import FakeHR

    fake = FakeHR(SECRET).start()
    tmp = tempfile.TemporaryDirectory(prefix="talentbot-bench-hrsync-")
    var = Path(tmp.name)
    env = {"TALENTBOT_HRSYNC_URL": fake.url, "TALENTBOT_HRSYNC_SECRET": SECRET}
    settings = Settings.from_env(
        env,
        database_url=args.database_url or f"sqlite:///{var / 'talentbot.db'}",
        var_dir=var,
        secret_key="bench",
    )
    rt = build(settings, nlu=object(), name="bench-hrsync")
    try:
        now = datetime.now(UTC)
        with rt.sessions.begin() as s:
            s.execute(delete(OutboxItem))
            s.add_all(
                OutboxItem(kind="hr_sync", payload=payload(i), status="pending", attempts=0, created_at=now)
                for i in range(args.n)
            )
        took = asyncio.run(run_relay(rt, args.n, args.timeout))
        with rt.sessions() as s:
            done = s.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.status == "done"))
        assert done == args.n, (done, args.n)
        assert len(fake.accepted) == args.n and all(r.signature_ok for r in fake.requests)
        rate = args.n / took
        backend = rt.engine.dialect.name
        print(
            f"hr_sync: {args.n} deliveries in {took:.2f} s = {rate:.0f} deliveries/s ({backend}; target ≥ {TARGET_RATE:.0f})"
        )
        print(
            json.dumps(
                {
                    "bench": "hr_sync",
                    "backend": backend,
                    "n": args.n,
                    "seconds": round(took, 3),
                    "per_second": round(rate, 1),
                }
            )
        )
        return 0 if rate >= TARGET_RATE else 1
    finally:
        rt.reminders.shutdown()
        if rt.hrsync is not None:
            rt.hrsync.close()
        rt.engine.dispose()
        if rt.reader is not None:
            rt.reader.dispose()
        fake.stop()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
