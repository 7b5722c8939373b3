"""What a flow sees (a read-only context) and what it returns (state, replies, a command, effects).

Flows are pure: they read the context, never write. A write whose outcome decides the reply — linking
a code, taking the last seat of a slot — is returned as a ``Command``; the engine runs it inside the
message's transaction and feeds the result back to the flow as a ``Done`` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from flows.texts import Catalog
from flows.values import Effect, Reply


@dataclass(frozen=True, slots=True)
class SlotView:
    id: int
    starts_at: datetime  # in the bank's timezone
    ends_at: datetime
    free: int


@dataclass(frozen=True, slots=True)
class ApplicationView:
    id: int
    name: str
    stage: str
    position_id: int
    position_code: str
    position_title: Mapping[str, str]
    location: Mapping[str, str]
    minutes: int
    consents: Mapping[str, bool]


@dataclass(frozen=True, slots=True)
class BookingView:
    id: int
    slot: SlotView
    ics_url: str


class ReadView(Protocol):
    def open_slots(self, position_id: int, *, after: datetime, limit: int) -> Sequence[SlotView]: ...


@dataclass(frozen=True, slots=True)
class Ctx:
    now: datetime  # aware, bank timezone
    tz: ZoneInfo
    lang: str
    catalog: Catalog
    contact: Mapping[str, str]
    privacy_url: str
    view: ReadView
    app: ApplicationView | None = None
    booking: BookingView | None = None

    def t(self, key: str, **kw: Any) -> str:
        return self.catalog.t(self.lang, key, **kw)

    @property
    def hr_contact(self) -> str:
        return self.contact.get(self.lang) or self.contact.get("zh", "")


@dataclass(frozen=True, slots=True)
class State:
    step: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # link | consent | book | move | cancel | human
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Said:
    """A user message as the flow sees it: the parse, and a button payload if one was chosen."""

    text: str
    intent: str
    entities: Mapping[str, Any]  # entity name -> first entity's dict (value, grain, …)
    payload: str | None = None
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Done:
    command: Command
    result: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StepResult:
    state: State
    replies: tuple[Reply, ...] = ()
    command: Command | None = None
    effects: tuple[Effect, ...] = ()
