"""The ``hr_sync`` effects: what the bank's HR system is told when a talent profile changes.

Written in the transaction of the change (as an outbox row) and delivered by ``actions/hrsync.py``.
Only what the HR system needs: the event, the application, its stage and position code, and the
changed facts (scores with their versions, document kinds) — never a name, a transcript or a
document's contents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flows.context import Ctx
from flows.values import Effect

KIND = "hr_sync"
EVENTS = ("stage_changed", "interview_scored", "documents_complete")


def _effect(ctx: Ctx, event: str, **facts: Any) -> Effect:
    assert ctx.app is not None
    return Effect(
        KIND,
        {
            "event": event,
            "application_id": ctx.app.id,
            "position": ctx.app.position_code,
            "stage": ctx.app.stage,
            **facts,
        },
    )


def stage_changed(ctx: Ctx) -> Effect:
    """The application's stage is now ``ctx.app.stage`` (``ctx`` is read after the change)."""
    return _effect(ctx, "stage_changed")


def interview_scored(
    ctx: Ctx,
    *,
    overall: float | None,
    scores: Mapping[str, float | None],
    versions: Mapping[str, Any],
    answered: int,
) -> Effect:
    return _effect(
        ctx,
        "interview_scored",
        overall=overall,
        scores=dict(scores),
        versions=dict(versions),
        answered=answered,
    )


def documents_complete(ctx: Ctx, kinds: Iterable[str]) -> Effect:
    return _effect(ctx, "documents_complete", kinds=list(kinds))
