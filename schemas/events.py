"""Event contracts, version 1: one pydantic model per message, and the codec for them.

This module is the single source of truth for what travels on Churnwatch's topics. The
JSON Schema files in ``schemas/json/`` are generated from these models
(``python -m schemas.generate``). Output contracts (:class:`ChurnWarning`,
:class:`DeadLetter`, :class:`ClockTick`) are defined in :mod:`schemas.outputs` and
re-exported here.

On the wire, types are strict: ``"5"`` is not a number and ``1`` is not ``true``. Times are
RFC 3339 with an offset and are held as UTC. Unknown fields are ignored. Every way a
message can be refused raises :class:`~schemas.errors.InvalidEvent` with a ``reason`` from
:data:`~schemas.errors.DEAD_LETTER_REASONS`.

Example:
    >>> order = parse_event(Order, b'{"event_id": "e-1", "customer_id": "c-1", '
    ...     b'"occurred_at": "2024-05-01T14:00:00+02:00", "order_id": "o-1", "amount": 25, "currency": "EUR"}')
    >>> order.occurred_at.isoformat(), order.amount, order.status, order.items
    ('2024-05-01T12:00:00+00:00', 25.0, 'placed', 1)
    >>> to_json_bytes(order)[:60]
    b'{"schema_version":1,"event_id":"e-1","customer_id":"c-1","oc'
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from schemas._explain import explain, show
from schemas.base import Contract, Currency, Id, NonNegativeFinite, UnitInterval, UtcDatetime
from schemas.errors import InvalidEvent
from schemas.outputs import (
    SEGMENTS,
    SIGNAL_KINDS,
    SUGGESTED_ACTIONS,
    WARNING_LEVELS,
    WARNING_STATES,
    ChurnWarning,
    ClockTick,
    DeadLetter,
    Signal,
    SuggestedAction,
)

__all__ = [
    "CHANNELS",
    "COMPLAINT_CATEGORIES",
    "COMPLAINT_SEVERITIES",
    "COMPLAINT_STATUSES",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TOPIC",
    "EVENT_TYPES",
    "MARKET_EVENT_KINDS",
    "ORDER_STATUSES",
    "SEGMENTS",
    "SIGNAL_KINDS",
    "SUGGESTED_ACTIONS",
    "TYPE_OF_MODEL",
    "WARNING_LEVELS",
    "WARNING_STATES",
    "ChurnWarning",
    "ClockTick",
    "Complaint",
    "CustomerEvent",
    "DeadLetter",
    "Login",
    "MarketEvent",
    "Order",
    "PageView",
    "Signal",
    "SuggestedAction",
    "make_dead_letter",
    "parse_event",
    "parse_replay_line",
    "to_json_bytes",
    "to_replay_line",
]

#: Default size limit of one message, in bytes (64 KiB).
DEFAULT_MAX_BYTES = 65536

#: Largest order amount accepted, in the order's currency. Above any real order in any
#: currency (10^15 rupiah is some 60 billion US dollars), and small enough that sums and
#: squares over a customer's orders stay finite; a larger figure is an export error.
MAX_AMOUNT = 1e15
#: Most items in one order (the state keeps them as 64-bit integers).
MAX_ITEMS = 10**9

Channel = Literal["web", "app", "other"]
OrderStatus = Literal["placed", "cancelled", "returned"]
ComplaintStatus = Literal["opened", "escalated", "resolved", "reopened"]
ComplaintCategory = Literal["product", "logistics", "service", "billing", "other"]
Severity = Literal["low", "medium", "high"]
MarketEventKind = Literal["competitor_promotion", "competitor_price_cut", "competitor_launch"]

CHANNELS: tuple[str, ...] = get_args(Channel)
ORDER_STATUSES: tuple[str, ...] = get_args(OrderStatus)
COMPLAINT_STATUSES: tuple[str, ...] = get_args(ComplaintStatus)
COMPLAINT_CATEGORIES: tuple[str, ...] = get_args(ComplaintCategory)
COMPLAINT_SEVERITIES: tuple[str, ...] = get_args(Severity)
MARKET_EVENT_KINDS: tuple[str, ...] = get_args(MarketEventKind)


def _optional_category() -> Any:
    return Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Product category, when known; matched against market events' `category`.",
    )


class CustomerEvent(Contract):
    """Fields every customer event carries. Customer topics are keyed by `customer_id`."""

    key_field = "customer_id"

    event_id: Id = Field(description="Unique id of this event; the idempotency key (a repeat is ignored).")
    customer_id: Id = Field(description="Customer the event belongs to; must equal the Kafka key.")
    occurred_at: UtcDatetime = Field(description="When it happened (event time), RFC 3339 with offset; held as UTC.")


class Login(CustomerEvent):
    """A customer signed in (or tried to). Topic `logins`, key = `customer_id`."""

    default_topic = "logins"

    channel: Channel = Field(description="Where the customer signed in.")
    success: bool = Field(default=True, description="False for a failed attempt.")


class PageView(CustomerEvent):
    """A customer viewed a page. Topic `page-views`, key = `customer_id`."""

    default_topic = "page-views"

    page: str = Field(min_length=1, max_length=2048, description="Page path or URL.")
    category: str | None = _optional_category()
    dwell_seconds: float = Field(
        ge=0.0,
        le=86400.0,
        allow_inf_nan=False,
        description="Time spent on the page, in seconds (0 to 86400).",
    )
    session_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Browsing session, when known.",
    )


class Order(CustomerEvent):
    """An order was placed, cancelled or returned. Topic `orders`, key = `customer_id`."""

    default_topic = "orders"

    order_id: Id = Field(description="Order this event is about; a cancel or return repeats the order's id.")
    amount: NonNegativeFinite = Field(le=MAX_AMOUNT, description="Order value in `currency`, from 0 to 10^15 (NaN and Infinity refused).")
    currency: Currency = Field(description="ISO 4217 code of `amount`, three uppercase letters, e.g. EUR.")
    status: OrderStatus = Field(default="placed", description="What happened to the order.")
    items: int = Field(default=1, ge=1, le=MAX_ITEMS, description="Number of items in the order (1 to 10^9).")
    category: str | None = _optional_category()


class Complaint(CustomerEvent):
    """A complaint was opened or changed state. Topic `complaints`, key = `customer_id`."""

    default_topic = "complaints"

    complaint_id: Id = Field(description="Complaint this event is about; later state changes repeat it.")
    status: ComplaintStatus = Field(description="State the complaint moved to.")
    category: ComplaintCategory = Field(description="What the complaint is about.")
    severity: Severity = Field(description="How serious the customer says it is.")


class MarketEvent(Contract):
    """Something a competitor did in a product category. Topic `market-events`, key = `category`.

    Not a customer event: every worker reads all of it and applies it to the customers who
    buy in `category`.
    """

    default_topic = "market-events"
    key_field = "category"

    event_id: Id = Field(description="Unique id of this event; the idempotency key.")
    occurred_at: UtcDatetime = Field(description="When it started (event time), RFC 3339 with offset; held as UTC.")
    kind: MarketEventKind = Field(description="What the competitor did.")
    category: Id = Field(description="Product category affected; must equal the Kafka key.")
    strength: UnitInterval = Field(description="How strong the pressure is, 0 (none) to 1 (strongest).")
    ends_at: UtcDatetime | None = Field(
        default=None,
        description="When it ends, after `occurred_at`; null when open-ended.",
    )

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, ends_at: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("occurred_at")  # absent when occurred_at itself was invalid
        if ends_at is not None and start is not None and ends_at <= start:
            raise PydanticCustomError(
                "ends_before_start",
                "expected {expected}",
                {"expected": f"a time after occurred_at ({start.isoformat().replace('+00:00', 'Z')})"},
            )
        return ends_at


#: Replay record ``type`` -> model.
EVENT_TYPES: dict[str, type[Contract]] = {
    "login": Login,
    "page_view": PageView,
    "order": Order,
    "complaint": Complaint,
    "market_event": MarketEvent,
}
#: Model -> replay record ``type``.
TYPE_OF_MODEL: dict[type[Contract], str] = {model: name for name, model in EVENT_TYPES.items()}
#: Replay record ``type`` -> default topic name.
DEFAULT_TOPIC: dict[str, str] = {name: model.default_topic for name, model in EVENT_TYPES.items()}

M = TypeVar("M", bound=BaseModel)


def parse_event(
    model: type[M],
    payload: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    key: bytes | str | None = None,
) -> M:
    """Decode and validate one message; raise :class:`InvalidEvent` on anything wrong.

    Checks run cheapest first: size (``oversize``, nothing is parsed), then UTF-8 and JSON
    object (``malformed_json``), then the contract (``schema_violation``, with ``field`` the
    dotted path of the first problem), then, when ``key`` is given and the model has a key
    field (``customer_id``; ``category`` for :class:`MarketEvent`), that the Kafka key equals
    it (``key_mismatch``). Contracts without a key field ignore ``key``.

    Parameters:
        model: the contract class, e.g. :class:`Order`.
        payload: the raw message value.
        max_bytes: largest accepted payload, in bytes.
        key: the message's Kafka key, to check against the event's key field.

    Example:
        >>> parse_event(Login, b'{"event_id":"e1","customer_id":"c1","occurred_at":"2024-05-01T12:00:00Z","channel":"app"}').success
        True
        >>> parse_event(Order, b'{"event_id":"e1","customer_id":"c1","occurred_at":"2024-05-01T12:00:00Z",'
        ...             b'"order_id":"o1","amount":-5,"currency":"EUR"}')
        Traceback (most recent call last):
        ...
        schemas.errors.InvalidEvent: amount: expected a finite number from 0 to 10^15, got -5
        >>> parse_event(Login, b'{"event_id":"e1","customer_id":"c1","occurred_at":"2024-05-01T12:00:00Z","channel":"app"}',
        ...             key=b"c2")
        Traceback (most recent call last):
        ...
        schemas.errors.InvalidEvent: customer_id: expected "c2" (the Kafka key), got "c1"
    """
    size = len(payload)
    if size > max_bytes:
        raise InvalidEvent("oversize", None, f"payload is {size} bytes, expected at most {max_bytes}")
    try:
        event = model.model_validate_json(payload, strict=True)
    except ValidationError as e:
        raise explain(model, e) from None
    key_field = getattr(model, "key_field", None)
    if key is not None and key_field is not None:
        _check_key(event, key_field, key)
    return event


def _check_key(event: BaseModel, key_field: str, key: bytes | str) -> None:
    actual = getattr(event, key_field)
    if isinstance(key, str):
        expected = key
    else:
        try:
            expected = bytes(key).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEvent(
                "key_mismatch", key_field, f"{key_field}: expected a UTF-8 Kafka key, got {bytes(key)[:40]!r}"
            ) from None
    if expected != actual:
        raise InvalidEvent(
            "key_mismatch", key_field, f"{key_field}: expected {show(expected)} (the Kafka key), got {show(actual)}"
        )


class _ReplayEnvelope(BaseModel):
    # Reads only `type`; the contract fields are validated by the model it names. The
    # Literal repeats EVENT_TYPES' keys so the error lists them; a test keeps both equal.
    type: Literal["login", "page_view", "order", "complaint", "market_event"] = Field(
        description="Record type, a key of EVENT_TYPES."
    )



def parse_replay_line(line: bytes | str, *, max_bytes: int | None = None) -> tuple[str, Contract]:
    """Decode one JSON Lines replay record: ``{"type": ..., <contract fields>}``.

    Returns ``(type, event)``. Raises :class:`InvalidEvent` like :func:`parse_event`; an
    unknown or missing ``type`` is a ``schema_violation`` of field ``type``. Skipping blank
    lines is the caller's business. ``max_bytes`` (default: no limit) applies the size check.

    Example:
        >>> parse_replay_line('{"type":"complaint","event_id":"e9","customer_id":"c1",'
        ...     '"occurred_at":"2024-05-01T12:00:00Z","complaint_id":"k1","status":"opened",'
        ...     '"category":"logistics","severity":"high"}\\n')[1].severity
        'high'
        >>> parse_replay_line('{"type":"refund"}')
        Traceback (most recent call last):
        ...
        schemas.errors.InvalidEvent: type: expected one of 'login', 'page_view', 'order', 'complaint', 'market_event', got "refund"
        >>> parse_replay_line(b'{"type":"order","customer_id":"x"\\n')
        Traceback (most recent call last):
        ...
        schemas.errors.InvalidEvent: expected a JSON object, got text that is not JSON (EOF while parsing an object at line 1 column 33)
    """
    data = line.encode("utf-8") if isinstance(line, str) else line
    if data.endswith(b"\n"):
        # the line's own end is not part of the event: a parse error then says "line 1 column
        # N", as the worker's dead letter for the same payload does, not "line 2 column 0"
        data = data.rstrip(b"\r\n")
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidEvent("oversize", None, f"payload is {len(data)} bytes, expected at most {max_bytes}")
    try:
        kind = _ReplayEnvelope.model_validate_json(data, strict=True).type
    except ValidationError as e:
        raise explain(_ReplayEnvelope, e) from None
    return kind, parse_event(EVENT_TYPES[kind], data, max_bytes=len(data))


def to_json_bytes(model: BaseModel) -> bytes:
    """Encode a contract as compact JSON: every field (defaults included), times as UTC ``Z``.

    Example:
        >>> from datetime import datetime, timezone
        >>> to_json_bytes(ClockTick(partition=3, occurred_at=datetime(2024, 5, 1, tzinfo=timezone.utc)))
        b'{"schema_version":1,"partition":3,"occurred_at":"2024-05-01T00:00:00Z"}'
    """
    return model.__pydantic_serializer__.to_json(model)


def to_replay_line(model: Contract) -> bytes:
    """Encode an input event as one JSON Lines replay record, ``type`` first, newline included.

    Example:
        >>> from datetime import datetime, timezone
        >>> to_replay_line(Login(event_id="e1", customer_id="c1", channel="web",
        ...                      occurred_at=datetime(2024, 5, 1, tzinfo=timezone.utc)))
        b'{"type":"login","schema_version":1,"event_id":"e1","customer_id":"c1","occurred_at":"2024-05-01T00:00:00Z","channel":"web","success":true}\\n'
    """
    kind = TYPE_OF_MODEL.get(type(model))
    if kind is None:
        raise TypeError(f"expected one of {', '.join(m.__name__ for m in TYPE_OF_MODEL)}, got {type(model).__name__}")
    return b'{"type":"' + kind.encode("ascii") + b'",' + to_json_bytes(model)[1:] + b"\n"


def make_dead_letter(
    *,
    source_topic: str,
    partition: int,
    offset: int,
    key: bytes | str | None,
    payload: bytes,
    error: InvalidEvent,
    max_payload_bytes: int,
    now: datetime,
) -> DeadLetter:
    """Build the dead letter for a refused message.

    The original bytes are kept (base64) when they fit in ``max_payload_bytes``; the SHA-256
    and size are always kept, so an oversize message can still be matched to its source.
    A key that is not UTF-8 is kept with its bad bytes escaped (``\\xff``).

    Example:
        >>> from datetime import datetime, timezone
        >>> err = InvalidEvent("malformed_json", None, "expected a JSON object, got an array")
        >>> dl = make_dead_letter(source_topic="orders", partition=1, offset=42, key=b"c1", payload=b"[]",
        ...                       error=err, max_payload_bytes=1024, now=datetime(2024, 5, 1, tzinfo=timezone.utc))
        >>> dl.reason, dl.payload_base64, dl.payload_size, dl.key
        ('malformed_json', 'W10=', 2, 'c1')
    """
    if isinstance(key, (bytes, bytearray, memoryview)):
        key = bytes(key).decode("utf-8", errors="backslashreplace")
    return DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        key=key,
        reason=error.reason,
        error=error.message,
        field=error.field,
        payload_base64=base64.b64encode(payload).decode("ascii") if len(payload) <= max_payload_bytes else None,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        payload_size=len(payload),
        dead_lettered_at=now,
    )
