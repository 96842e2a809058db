"""Contracts Churnwatch writes: churn warnings, dead letters, and internal clock ticks.

Input events (logins, orders, ...) live in :mod:`schemas.events`, which re-exports
everything here, so ``from schemas.events import ChurnWarning`` works.

Example:
    >>> from datetime import datetime, timezone
    >>> t = datetime(2024, 5, 1, tzinfo=timezone.utc)
    >>> s = Signal(kind="silence", current=21, baseline=3.5, unit="days_since_last_event",
    ...            window_days=56, detail="no activity for 21 days; usual gap 3.5 days")
    >>> w = ChurnWarning(warning_id="w-1", customer_id="c-1", state="raised", level="watch",
    ...                  risk_score=0.4, occurred_at=t, emitted_at=t, segment="core",
    ...                  signals=[s], suggested_actions=[{"action": "personal_call", "reason": "silent core customer"}],
    ...                  model_version="rules-1")
    >>> w.signals[0].kind, w.suggested_actions[0].action
    ('silence', 'personal_call')
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from schemas.base import Contract, Finite, Id, UnitInterval, UtcDatetime
from schemas.errors import DeadLetterReason

#: Signal kinds a warning can carry. Detectors name their signal with one of these; a new
#: detector adds its kind here (readers of warnings must tolerate kinds they do not know).
SIGNAL_KINDS: tuple[str, ...] = (
    "purchase_frequency_drop",
    "order_value_drop",
    "activity_drop",
    "complaint_increase",
    "competitor_pressure",
    "silence",
    "model_risk",
    "behaviour_drift",
)

WarningState = Literal["raised", "escalated", "cleared"]
WarningLevel = Literal["watch", "warning", "critical"]
Segment = Literal["core", "growth", "regular", "new", "lapsed"]
ActionName = Literal["service_recovery", "personal_call", "targeted_offer", "win_back", "loyalty_points", "monitor"]

#: Lifecycle states of a warning, in the order a warning can go through them.
WARNING_STATES: tuple[str, ...] = get_args(WarningState)
#: Warning levels, least to most urgent.
WARNING_LEVELS: tuple[str, ...] = get_args(WarningLevel)
#: Customer value segments (RFM).
SEGMENTS: tuple[str, ...] = get_args(Segment)
#: Actions a warning can suggest.
SUGGESTED_ACTIONS: tuple[str, ...] = get_args(ActionName)


def _known_signal_kind(value: str) -> str:
    if value not in SIGNAL_KINDS:
        raise PydanticCustomError(
            "signal_kind",
            "expected {expected}",
            {"expected": "one of " + ", ".join(repr(k) for k in SIGNAL_KINDS)},
        )
    return value


SignalKind = Annotated[
    str,
    AfterValidator(_known_signal_kind),
    Field(json_schema_extra={"enum": list(SIGNAL_KINDS)}),
]


class Signal(BaseModel):
    """One piece of evidence behind a warning: a measure now against the customer's own baseline."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: SignalKind = Field(description="What changed. Readers must tolerate kinds added later within version 1.")
    current: Finite = Field(description="The measure over the recent window, in `unit`.")
    baseline: Finite = Field(description="The customer's usual value of the same measure, in `unit`.")
    unit: str = Field(
        min_length=1,
        max_length=64,
        description="Unit of `current` and `baseline`, e.g. orders_per_30_days, EUR, days.",
    )
    window_days: Finite = Field(ge=0, description="Length of the recent window, in days (fractional when the window is a span of quiet).")
    detail: str = Field(max_length=1024, description="One sentence a retention agent can read.")
    strength: UnitInterval | None = Field(
        default=None,
        description="How strong the evidence is, 0 (none) to 1 (certain); null when the detector does not grade it.",
    )


class SuggestedAction(BaseModel):
    """An action a retention team could take, and why it fits this customer."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: ActionName = Field(description="What to do.")
    reason: str = Field(max_length=1024, description="Why this action, in one sentence.")


class ChurnWarning(Contract):
    """A customer shows evidence of leaving (or a previous warning has cleared).

    Topic `churn-warnings`, key = `customer_id`. `occurred_at` is event time: the moment the
    evidence held, so replays produce the same warnings. `emitted_at` is wall time.
    """

    default_topic = "churn-warnings"
    key_field = "customer_id"

    warning_id: Id = Field(
        description="Stable id of this warning: the same evidence replayed gives the same id.",
    )
    customer_id: Id = Field(description="Customer the warning is about (also the Kafka key).")
    state: WarningState = Field(description=(
        "Lifecycle: raised, escalated (level went up) or cleared. An episode is published from the step that "
        "reaches the workers' CHURNWATCH_PUBLISH_MIN_LEVEL (default warning), as its raised."))
    level: WarningLevel = Field(description=(
        "Urgency: watch < warning < critical. watch appears only where the workers publish it "
        "(CHURNWATCH_PUBLISH_MIN_LEVEL=watch). On a cleared warning, the level the episode had reached."))
    risk_score: UnitInterval = Field(description="Estimated risk of leaving, 0 to 1.")
    occurred_at: UtcDatetime = Field(description="Event time at which the evidence held (UTC).")
    emitted_at: UtcDatetime = Field(description="Wall-clock time the warning was written (UTC).")
    segment: Segment = Field(description=(
        "Customer value segment at `occurred_at`: core (the shop's top share of repeat buyers by yearly value), "
        "growth, regular, new or lapsed."))
    signals: tuple[Signal, ...] = Field(description=(
        "Evidence, strongest first: the firing signals. On a cleared warning, where the signals it "
        "carried stand now (none of them firing any more)."))
    suggested_actions: tuple[SuggestedAction, ...] = Field(description="Actions to consider, best first.")
    model_version: str = Field(
        min_length=1,
        max_length=128,
        description="Version of the rules/model that produced the warning.",
    )


class DeadLetter(Contract):
    """A message Churnwatch could not process, kept with its original bytes for diagnosis and replay.

    Topic `churn-dead-letters`, key = the source message's key.
    """

    default_topic = "churn-dead-letters"

    source_topic: str = Field(min_length=1, max_length=249, description="Topic the message was read from.")
    partition: int = Field(ge=0, description="Partition the message was read from.")
    offset: int = Field(ge=0, description="Offset of the message in that partition.")
    key: str | None = Field(
        description="Kafka key of the message as text (undecodable bytes escaped), null when it had none.",
    )
    reason: DeadLetterReason = Field(description="Why it was dead-lettered (fixed list; also a metric label).")
    error: str = Field(min_length=1, description="What was expected and what arrived.")
    field: str | None = Field(description="Dotted path of the offending field, null when the message as a whole was at fault.")
    payload_base64: str | None = Field(
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="Original message bytes, base64; null when larger than the dead-letter payload limit.",
    )
    payload_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the original bytes, lowercase hex.")
    payload_size: int = Field(ge=0, description="Size of the original message in bytes.")
    dead_lettered_at: UtcDatetime = Field(description="Wall-clock time the message was dead-lettered (UTC).")


class ClockTick(Contract):
    """Internal message that moves one partition's event-time clock forward.

    Topic `clock-ticks`, sent to partition `partition`. Lets silence be detected when no
    events arrive: the partition's stream time becomes at least `occurred_at`.
    """

    default_topic = "clock-ticks"

    partition: int = Field(ge=0, description="Partition whose clock moves; the tick must be sent to this partition.")
    occurred_at: UtcDatetime = Field(description="Event time the partition's clock moves to (UTC).")
