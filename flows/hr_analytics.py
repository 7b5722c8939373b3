"""The funnel and the bias audit of a position, in chat: the text, a chart and (for the audit) a CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from flows.hr import HrCtx
from flows.hr_common import (
    HrEnv,
    bounds,
    known_positions,
    log,
    named_position,
    period_of,
    store_file,
    unknown_position,
)
from storage import hr_actions as act


def funnel(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    """The funnel of the position named, or of every position in scope when none is."""
    pos, every = named_position(s, ctx, a.get("position"))
    if a.get("position") and pos is None:
        return unknown_position(a["position"], every, ctx)
    chosen = [pos] if pos is not None else every
    if not chosen:
        return {"status": "no_position", "position": "", "known": ""}
    from actions import funnel as fn

    since, until = period_of(a.get("period"))
    result = fn.funnel(s, positions=chosen, since=since, until=until, tz=ctx.tz)
    act.audit_read(s, user_id=ctx.user_id, what="funnel", ids=[], now=now)
    files = []
    try:
        name = f"funnel-{pos.code if pos else 'all'}.png"
        files.append(store_file(env, fn.render_png(result, ctx.lang), name, "image/png"))
    except Exception as exc:  # the text is the answer; the chart is a courtesy
        log.warning("funnel chart failed: %s", exc)
    return {"status": "ok", "text": fn.render_text(result, ctx.lang), "files": files}


def bias_audit(s: Session, a: dict[str, Any], ctx: HrCtx, env: HrEnv, now: datetime) -> dict[str, Any]:
    pos, every = named_position(s, ctx, a.get("position"))
    if a.get("position") and pos is None:
        return unknown_position(a["position"], every, ctx)
    if pos is None and len(every) != 1:  # an audit is of one position: ask which
        return {"status": "no_position", "position": "", "known": known_positions(every, ctx.lang)}
    pos = pos or every[0]
    from actions import bias

    since, until = period_of(a.get("period"))
    start, end = bounds(since, until, ctx)
    rows = bias.load_rows(s, position_id=pos.id, start=start, end=end)
    result = bias.compute(rows, position=pos.code, since=since, until=until)
    full = bias.to_text(result, language=ctx.lang)
    # in chat: the summary and the flags; every table is in the attached CSV (and the chart)
    text = full.split("\n== ", 1)[0].rstrip() + "\n" + ctx.t("hr_bias_attached")
    files = [store_file(env, bias.to_csv(result), f"bias-{pos.code}.csv", "text/csv")]
    try:
        files.append(
            store_file(env, bias.to_png(result, language=ctx.lang), f"bias-{pos.code}.png", "image/png")
        )

    except Exception as exc:  # the text is the audit; the chart is a courtesy
        log.warning("bias chart failed: %s", exc)
    from storage.repo import audit

    audit(
        s,
        now=now,
        actor=f"user:{ctx.user_id}",
        action="bias_audit.run",
        subject=f"position:{pos.code}",
        details={"candidates": result.candidates, "since": str(since), "until": str(until), "via": "chat"},
    )
    return {"status": "ok", "text": text, "files": files}
