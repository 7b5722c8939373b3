"""What a flow sees (a read-only context) and what it returns (state, replies, a command, effects).

Flows are pure: they read the context, never write. A write whose outcome decides the reply — linking
a code, taking the last seat of a slot — is returned as a ``Command``; the engine runs it inside the
message's transaction and feeds the result back to the flow as a ``Done`` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from flows.texts import Catalog
from flows.values import Effect, MediaRef, Reply
from scoring.questions import Bank
from scoring.replay import History

if TYPE_CHECKING:
    from flows.documents import DocumentRules


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
    interview_mode: str = "slot"  # slot | anytime
    window_days: int = 3
    window_hours: int = 24
    question_count: int = 6
    text_answers: bool = False  # the position allows typed answers, or HR granted it
    round: int = 1  # 2+: HR invited the candidate to a later (in-person) round


@dataclass(frozen=True, slots=True)
class InterviewView:
    """The application's voice interview as the flow sees it (the row is the source of truth)."""

    id: int
    status: str  # open | active | paused | completed | expired | cancelled
    language: str
    turn: int
    question_id: str | None
    is_probe: bool
    awaiting: str  # answer | scoring | ""
    asked_at: datetime | None
    attempts: int
    opens_at: datetime
    expires_at: datetime
    max_questions: int
    text_answers: bool
    seed: int

    @property
    def live(self) -> bool:
        return self.status in ("open", "active", "paused")


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A submitted document as the flow sees it: what it is, never what it says."""

    id: int
    kind: str | None  # None while the bot asks which document it is
    status: str  # unclassified | current (replaced ones are not shown)
    mime: str  # by content
    filename: str | None


@dataclass(frozen=True, slots=True)
class BookingView:
    id: int
    slot: SlotView
    ics_url: str


class ReadView(Protocol):
    def open_slots(
        self, position_id: int, *, after: datetime, limit: int, application_id: int | None = None
    ) -> Sequence[SlotView]: ...

    def interview_history(
        self, interview: InterviewView, position_code: str
    ) -> tuple[History, Sequence[Mapping[str, Any]]]: ...

    def documents(self, application_id: int) -> Sequence[DocumentView]: ...


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
    interview: InterviewView | None = None
    bank: Bank | None = None
    docs: DocumentRules | None = None  # document kinds and what each position requires

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
    name: str  # link | consent | book | move | cancel | human | iv_* | doc_* | link_code | link_app
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Said:
    """A user message as the flow sees it: the parse, and a button payload if one was chosen."""

    text: str
    intent: str
    entities: Mapping[str, Any]  # entity name -> first entity's dict (value, grain, …)
    payload: str | None = None
    confidence: float = 1.0
    media: MediaRef | None = None  # a voice message, image or file


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened outside the chat: an answer was scored, the interview slot opened."""

    kind: str  # answer_processed | interview_due | text_allowed
    data: Mapping[str, Any] = field(default_factory=dict)


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
