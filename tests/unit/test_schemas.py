"""Event contracts: what a producer sending bytes to Churnwatch gets accepted or dead-lettered for."""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from schemas import (
    DEAD_LETTER_REASONS,
    DEFAULT_TOPIC,
    EVENT_TYPES,
    SIGNAL_KINDS,
    TYPE_OF_MODEL,
    ChurnwatchError,
    ChurnWarning,
    ClockTick,
    Complaint,
    DeadLetter,
    InvalidEvent,
    Login,
    MarketEvent,
    Order,
    PageView,
    Signal,
    make_dead_letter,
    parse_event,
    parse_replay_line,
    to_json_bytes,
    to_replay_line,
)
from schemas.events import _ReplayEnvelope

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
DELETE = object()  # marks a field to remove from a valid payload

VALID: dict[type, dict[str, Any]] = {
    Login: {"event_id": "e-1", "customer_id": "c-1", "occurred_at": "2024-05-01T08:00:00Z", "channel": "web"},
    PageView: {
        "event_id": "e-2",
        "customer_id": "c-1",
        "occurred_at": "2024-05-01T08:00:00Z",
        "page": "/shop/shoes",
        "dwell_seconds": 12.5,
    },
    Order: {
        "event_id": "e-3",
        "customer_id": "c-1",
        "occurred_at": "2024-05-01T08:00:00Z",
        "order_id": "o-1",
        "amount": 59.9,
        "currency": "EUR",
    },
    Complaint: {
        "event_id": "e-4",
        "customer_id": "c-1",
        "occurred_at": "2024-05-01T08:00:00Z",
        "complaint_id": "k-1",
        "status": "opened",
        "category": "logistics",
        "severity": "high",
    },
    MarketEvent: {
        "event_id": "e-5",
        "occurred_at": "2024-05-01T08:00:00Z",
        "kind": "competitor_promotion",
        "category": "shoes",
        "strength": 0.5,
    },
    ChurnWarning: {
        "warning_id": "w-1",
        "customer_id": "c-1",
        "state": "raised",
        "level": "warning",
        "risk_score": 0.7,
        "occurred_at": "2024-05-01T08:00:00Z",
        "emitted_at": "2024-05-01T08:00:01Z",
        "segment": "core",
        "signals": [
            {
                "kind": "silence",
                "current": 17,
                "baseline": 3.5,
                "unit": "days",
                "window_days": 56,
                "detail": "silent for 17 days",
            }
        ],
        "suggested_actions": [{"action": "personal_call", "reason": "silent core customer"}],
        "model_version": "rules-1",
    },
    DeadLetter: {
        "source_topic": "orders",
        "partition": 0,
        "offset": 7,
        "key": None,
        "reason": "malformed_json",
        "error": "expected a JSON object, got an array",
        "field": None,
        "payload_base64": "W10=",
        "payload_sha256": hashlib.sha256(b"[]").hexdigest(),
        "payload_size": 2,
        "dead_lettered_at": "2024-05-01T08:00:00Z",
    },
    ClockTick: {"partition": 3, "occurred_at": "2024-05-01T08:00:00Z"},
}


def payload(model: type, **changes: Any) -> bytes:
    """A valid payload of `model` with `changes` applied (DELETE removes a field). NaN stays NaN."""
    data = dict(VALID[model])
    for name, value in changes.items():
        if value is DELETE:
            data.pop(name, None)
        else:
            data[name] = value
    return json.dumps(data).encode()


def rejection(model: type, raw: bytes, **kwargs: Any) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(model, raw, **kwargs)
    return caught.value


# --- what is accepted -------------------------------------------------------------------


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
def test_a_valid_payload_of_every_contract_is_accepted(model: type) -> None:
    event = parse_event(model, payload(model))
    assert isinstance(event, model)
    assert event.schema_version == 1


def test_parsed_order_holds_typed_values() -> None:
    order = parse_event(Order, payload(Order, amount=25))
    assert order.amount == 25.0 and isinstance(order.amount, float)
    assert order.occurred_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_defaults_are_applied_to_omitted_optional_fields() -> None:
    login = parse_event(Login, payload(Login))
    order = parse_event(Order, payload(Order))
    view = parse_event(PageView, payload(PageView))
    market = parse_event(MarketEvent, payload(MarketEvent))
    warning = parse_event(ChurnWarning, payload(ChurnWarning))
    assert login.success is True
    assert (order.status, order.items, order.category) == ("placed", 1, None)
    assert (view.category, view.session_id) == (None, None)
    assert market.ends_at is None
    assert warning.signals[0].strength is None
    assert {login.schema_version, order.schema_version, market.schema_version} == {1}


def test_unknown_extra_fields_are_ignored_for_forward_compatibility() -> None:
    raw = payload(Order, loyalty_tier="gold", __faust={"ns": "x"}, type="order", nested={"a": [1, 2]})
    order = parse_event(Order, raw)
    assert order == parse_event(Order, payload(Order))
    assert b"loyalty_tier" not in to_json_bytes(order)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-01T10:00:00+02:00", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
        ("2024-05-01T03:30:00-04:30", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
        ("2024-05-01T08:00:00Z", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
        ("2024-05-01t08:00:00z", datetime(2024, 5, 1, 8, 0, tzinfo=UTC)),
        ("2024-05-01T08:00:00.250+00:00", datetime(2024, 5, 1, 8, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01T08:00:00.123456789Z", datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)),
        # a leap second, which RFC 3339 and the schema's pattern allow: the second before it
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("2017-01-01T08:59:60.5+09:00", datetime(2016, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)),
    ],
)
def test_timestamps_with_an_offset_are_normalised_to_utc(text: str, expected: datetime) -> None:
    login = parse_event(Login, payload(Login, occurred_at=text))
    assert login.occurred_at == expected
    assert login.occurred_at.tzinfo is timezone.utc
    assert login.occurred_at.utcoffset() == timedelta(0)


def test_offset_timestamp_is_written_back_as_utc_with_z() -> None:
    login = parse_event(Login, payload(Login, occurred_at="2024-05-01T10:00:00+02:00"))
    assert json.loads(to_json_bytes(login))["occurred_at"] == "2024-05-01T08:00:00Z"


@pytest.mark.parametrize(
    "model, changes",
    [
        (Order, {"amount": 0}),
        (Order, {"items": 1}),
        (Order, {"event_id": "e" * 128, "customer_id": "c" * 128, "order_id": "o" * 128}),
        (PageView, {"dwell_seconds": 0}),
        (PageView, {"dwell_seconds": 86400}),
        (PageView, {"page": "/" * 2048}),
        (MarketEvent, {"strength": 0}),
        (MarketEvent, {"strength": 1}),
        (MarketEvent, {"ends_at": None}),
        (MarketEvent, {"ends_at": "2024-05-01T08:00:00.000001Z"}),
        (ChurnWarning, {"risk_score": 1, "signals": [], "suggested_actions": []}),
        (ClockTick, {"partition": 0}),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else ",".join(v),
)
def test_values_on_the_boundary_are_accepted(model: type, changes: dict[str, Any]) -> None:
    parse_event(model, payload(model, **changes))


@pytest.mark.parametrize("kind", SIGNAL_KINDS)
def test_every_known_signal_kind_is_accepted(kind: str) -> None:
    signal = dict(VALID[ChurnWarning]["signals"][0], kind=kind, strength=0.5)
    warning = parse_event(ChurnWarning, payload(ChurnWarning, signals=[signal]))
    assert warning.signals[0].kind == kind


def test_signal_kinds_include_the_rule_and_model_derived_kinds() -> None:
    assert set(SIGNAL_KINDS) >= {
        "purchase_frequency_drop",
        "order_value_drop",
        "activity_drop",
        "complaint_increase",
        "competitor_pressure",
        "silence",
        "model_risk",
        "behaviour_drift",
    }


# --- what is refused, and why -------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, message_part",
    [
        (b"hello", "not JSON"),
        (b'{"event_id": "e-1",', "not JSON"),
        (b'{"event_id": "e-1"} trailing', "not JSON"),
        (b"", "empty message"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"event_id": "caf\xe9"}', "not UTF-8 at position 17"),
        (b"[]", "got an array"),
        (b'[{"event_id": "e-1"}]', "got an array"),
        (b"null", "got null"),
        (b'"order"', "got a string"),
        (b"42", "got a number"),
        (b"true", "got a boolean"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_anything_but_a_utf8_json_object_is_malformed_json(raw: bytes, message_part: str) -> None:
    err = rejection(Order, raw)
    assert err.reason == "malformed_json"
    assert err.field is None
    assert message_part in err.message


LONG = "x" * 129

SCHEMA_VIOLATIONS: list[tuple[str, type, dict[str, Any], str, str]] = [
    # (case, model, changes, field, message)
    ("missing customer_id", Order, {"customer_id": DELETE}, "customer_id", "customer_id: required field is missing"),
    ("missing occurred_at", Login, {"occurred_at": DELETE}, "occurred_at", "occurred_at: required field is missing"),
    ("missing page", PageView, {"page": DELETE}, "page", "page: required field is missing"),
    ("amount as string", Order, {"amount": "59.90"}, "amount", 'amount: expected a finite number from 0 to 10^15, got "59.90"'),
    ("amount negative", Order, {"amount": -5}, "amount", "amount: expected a finite number from 0 to 10^15, got -5"),
    ("amount NaN", Order, {"amount": float("nan")}, "amount", "amount: expected a finite number from 0 to 10^15, got NaN"),
    ("amount Infinity", Order, {"amount": float("inf")}, "amount", "amount: expected a finite number from 0 to 10^15, got Infinity"),
    ("amount above 10^15", Order, {"amount": 1.7e308}, "amount",
     "amount: expected a finite number from 0 to 10^15, got 1.7e+308"),
    ("items above 10^9", Order, {"items": 2**65}, "items",
     "items: expected a whole number from 1 to 10^9, got 36893488147419103232"),
    ("before year 1 in UTC", Login, {"occurred_at": "0001-01-01T00:30:00+01:00"}, "occurred_at",
     "(in UTC it is outside years 1-9999)"),
    ("after year 9999 in UTC", Login, {"occurred_at": "9999-12-31T23:30:00-01:00"}, "occurred_at",
     "(in UTC it is outside years 1-9999)"),
    ("amount -Infinity", Order, {"amount": float("-inf")}, "amount", "got -Infinity"),
    ("amount as bool", Order, {"amount": True}, "amount", "got true"),
    ("amount as null", Order, {"amount": None}, "amount", "got null"),
    ("success as string", Login, {"success": "true"}, "success", 'success: expected true or false, got "true"'),
    ("success as 1", Login, {"success": 1}, "success", "success: expected true or false, got 1"),
    ("success as 0", Login, {"success": 0}, "success", "got 0"),
    ("currency lowercase", Order, {"currency": "eur"}, "currency", 'currency: expected an ISO 4217 currency code'),
    ("currency 4 letters", Order, {"currency": "EURO"}, "currency", 'got "EURO"'),
    ("currency 2 letters", Order, {"currency": "EU"}, "currency", 'got "EU"'),
    ("currency numeric", Order, {"currency": 978}, "currency", "got 978"),
    ("naive timestamp", Login, {"occurred_at": "2024-05-01T08:00:00"}, "occurred_at", "(this one has no offset)"),
    ("unparsable timestamp", Login, {"occurred_at": "yesterday"}, "occurred_at",
     'occurred_at: expected an RFC 3339 timestamp with a UTC offset, e.g. 2024-05-01T12:00:00Z, got "yesterday"'),
    ("impossible date", Login, {"occurred_at": "2024-02-30T08:00:00Z"}, "occurred_at", "day is out of range"),
    ("hour 24", Login, {"occurred_at": "2024-05-01T24:00:00Z"}, "occurred_at", "hour must be in 0..23"),
    ("unix time as text", Login, {"occurred_at": "1714550400"}, "occurred_at", 'got "1714550400"'),
    ("unix time as number", Login, {"occurred_at": 1714550400}, "occurred_at", "got 1714550400"),
    ("no seconds", Login, {"occurred_at": "2024-05-01T08:00Z"}, "occurred_at", "RFC 3339"),
    ("offset without colon", Login, {"occurred_at": "2024-05-01T08:00:00+0200"}, "occurred_at", "RFC 3339"),
    ("date only", Login, {"occurred_at": "2024-05-01"}, "occurred_at", "RFC 3339"),
    ("event_id too long", Order, {"event_id": LONG}, "event_id",
     f'event_id: expected a string of 1 to 128 characters, got "{"x" * 80}..." (129 characters)'),
    ("customer_id too long", Login, {"customer_id": LONG}, "customer_id", "(129 characters)"),
    ("order_id too long", Order, {"order_id": LONG}, "order_id", "(129 characters)"),
    ("market category too long", MarketEvent, {"category": LONG}, "category", "(129 characters)"),
    ("event_id empty", Order, {"event_id": ""}, "event_id", 'event_id: expected a string of 1 to 128 characters, got ""'),
    ("customer_id empty", Login, {"customer_id": ""}, "customer_id", 'got ""'),
    ("complaint_id empty", Complaint, {"complaint_id": ""}, "complaint_id", 'got ""'),
    ("customer_id as number", Login, {"customer_id": 42}, "customer_id", "got 42"),
    ("customer_id as object", Login, {"customer_id": {"id": "c-1"}}, "customer_id", "got an object"),
    ("channel unknown", Login, {"channel": "email"}, "channel", "channel: expected one of 'web', 'app', 'other', got \"email\""),
    ("order status unknown", Order, {"status": "refunded"}, "status", "one of 'placed', 'cancelled', 'returned'"),
    ("items zero", Order, {"items": 0}, "items", "items: expected a whole number from 1 to 10^9, got 0"),
    ("items fractional", Order, {"items": 1.5}, "items", "got 1.5"),
    ("items as float", Order, {"items": 2.0}, "items", "got 2.0"),
    ("items as string", Order, {"items": "2"}, "items", 'got "2"'),
    ("order category empty", Order, {"category": ""}, "category", "a string of 1 to 128 characters or null"),
    ("dwell negative", PageView, {"dwell_seconds": -1}, "dwell_seconds", "expected a finite number from 0 to 86400, got -1"),
    ("dwell above a day", PageView, {"dwell_seconds": 86400.5}, "dwell_seconds", "got 86400.5"),
    ("page empty", PageView, {"page": ""}, "page", "a string of 1 to 2048 characters"),
    ("page too long", PageView, {"page": "/" * 2049}, "page", "(2049 characters)"),
    ("complaint status unknown", Complaint, {"status": "closed"}, "status", "'opened', 'escalated', 'resolved', 'reopened'"),
    ("complaint category unknown", Complaint, {"category": "weather"}, "category", "'product', 'logistics'"),
    ("complaint severity unknown", Complaint, {"severity": "urgent"}, "severity", "one of 'low', 'medium', 'high'"),
    ("schema_version 2", Order, {"schema_version": 2}, "schema_version",
     "schema_version: expected 1 (the only schema_version this release reads), got 2"),
    ("schema_version true", Order, {"schema_version": True}, "schema_version", "got true"),
    ("schema_version as string", Order, {"schema_version": "1"}, "schema_version", 'got "1"'),
    ("market strength above 1", MarketEvent, {"strength": 1.5}, "strength", "strength: expected a finite number from 0 to 1, got 1.5"),
    ("market strength negative", MarketEvent, {"strength": -0.1}, "strength", "got -0.1"),
    ("market kind unknown", MarketEvent, {"kind": "competitor_merger"}, "kind", "'competitor_promotion', 'competitor_price_cut', 'competitor_launch'"),
    ("market ends before start", MarketEvent, {"ends_at": "2024-05-01T07:00:00Z"}, "ends_at",
     'ends_at: expected a time after occurred_at (2024-05-01T08:00:00Z), got "2024-05-01T07:00:00Z"'),
    ("market ends at start", MarketEvent, {"ends_at": "2024-05-01T10:00:00+02:00"}, "ends_at", "a time after occurred_at"),
    ("market ends_at naive", MarketEvent, {"ends_at": "2024-05-09T00:00:00"}, "ends_at", "no offset"),
    ("warning signal kind unknown", ChurnWarning,
     {"signals": [dict(VALID[ChurnWarning]["signals"][0], kind="bad_vibes")]}, "signals.0.kind",
     "signals.0.kind: expected one of 'purchase_frequency_drop'"),
    ("warning signal strength above 1", ChurnWarning,
     {"signals": [dict(VALID[ChurnWarning]["signals"][0], strength=2)]}, "signals.0.strength",
     "expected a finite number from 0 to 1 or null, got 2"),
    ("warning second action unknown", ChurnWarning,
     {"suggested_actions": [{"action": "monitor", "reason": "r"}, {"action": "discount", "reason": "r"}]},
     "suggested_actions.1.action", "'service_recovery', 'personal_call'"),
    ("warning signals not a list", ChurnWarning, {"signals": "silence"}, "signals", "signals: expected an array"),
    ("warning risk above 1", ChurnWarning, {"risk_score": 1.2}, "risk_score", "got 1.2"),
    ("warning level unknown", ChurnWarning, {"level": "panic"}, "level", "'watch', 'warning', 'critical'"),
    ("warning state unknown", ChurnWarning, {"state": "open"}, "state", "'raised', 'escalated', 'cleared'"),
    ("warning segment unknown", ChurnWarning, {"segment": "vip"}, "segment", "'core', 'growth', 'regular', 'new', 'lapsed'"),
    ("dead letter reason unknown", DeadLetter, {"reason": "bad_luck"}, "reason", "'malformed_json', 'schema_violation'"),
    ("dead letter sha not hex", DeadLetter, {"payload_sha256": "XYZ"}, "payload_sha256", "a string matching"),
    ("dead letter key missing", DeadLetter, {"key": DELETE}, "key", "key: required field is missing"),
    ("clock partition negative", ClockTick, {"partition": -1}, "partition", "partition: expected a whole number >= 0, got -1"),
]


@pytest.mark.parametrize(
    "model, changes, field, message",
    [case[1:] for case in SCHEMA_VIOLATIONS],
    ids=[case[0] for case in SCHEMA_VIOLATIONS],
)
def test_contract_breaches_are_schema_violations_naming_field_expected_and_got(
    model: type, changes: dict[str, Any], field: str, message: str
) -> None:
    err = rejection(model, payload(model, **changes))
    assert (err.reason, err.field) == ("schema_violation", field)
    assert message in err.message
    assert err.message.startswith(f"{field}: ")


def test_the_first_bad_field_is_reported_when_several_are_bad() -> None:
    err = rejection(Order, payload(Order, customer_id="", amount=-1))
    assert err.field == "customer_id"


# --- size and key ---------------------------------------------------------------------------


def test_oversize_payload_is_refused_before_parsing() -> None:
    err = rejection(Order, b"not even json" * 10, max_bytes=100)
    assert (err.reason, err.field) == ("oversize", None)
    assert err.message == "payload is 130 bytes, expected at most 100"


def test_payload_exactly_at_the_size_limit_is_parsed() -> None:
    raw = payload(Order)
    padded = raw + b" " * (500 - len(raw))
    assert len(padded) == 500
    assert parse_event(Order, padded, max_bytes=500).order_id == "o-1"
    assert rejection(Order, padded + b" ", max_bytes=500).reason == "oversize"


def test_default_size_limit_is_64_kib() -> None:
    big = payload(PageView, page="/" * 2000, filler="x" * 65536)
    assert rejection(PageView, big).message.endswith("expected at most 65536")


@pytest.mark.parametrize("key", [b"c-1", "c-1", None], ids=["bytes", "str", "no key"])
def test_matching_or_absent_key_is_accepted(key: bytes | str | None) -> None:
    assert parse_event(Order, payload(Order), key=key).customer_id == "c-1"


@pytest.mark.parametrize(
    "model, key, field, message",
    [
        (Order, b"c-2", "customer_id", 'customer_id: expected "c-2" (the Kafka key), got "c-1"'),
        (Login, "C-1", "customer_id", 'got "c-1"'),
        (Login, b"", "customer_id", 'expected "" (the Kafka key)'),
        (Login, b"\xff\xfe", "customer_id", "expected a UTF-8 Kafka key"),
        (ChurnWarning, b"c-9", "customer_id", 'got "c-1"'),
        (MarketEvent, b"bags", "category", 'category: expected "bags" (the Kafka key), got "shoes"'),
    ],
)
def test_key_differing_from_the_key_field_is_a_key_mismatch(model: type, key: bytes, field: str, message: str) -> None:
    err = rejection(model, payload(model), key=key)
    assert (err.reason, err.field) == ("key_mismatch", field)
    assert message in err.message


def test_market_event_keyed_by_its_category_is_accepted() -> None:
    assert parse_event(MarketEvent, payload(MarketEvent), key=b"shoes").category == "shoes"


@pytest.mark.parametrize("model", [ClockTick, DeadLetter], ids=lambda m: m.__name__)
def test_contracts_without_a_key_field_ignore_the_key(model: type) -> None:
    parse_event(model, payload(model), key=b"anything")


def test_schema_violation_is_reported_before_key_mismatch() -> None:
    err = rejection(Order, payload(Order, amount=-1), key=b"someone-else")
    assert err.reason == "schema_violation"


# --- encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(VALID), ids=lambda m: m.__name__)
def test_model_to_json_bytes_and_back_gives_an_equal_model(model: type) -> None:
    event = parse_event(model, payload(model))
    assert parse_event(model, to_json_bytes(event)) == event


def test_json_encoding_includes_defaults_and_no_faust_metadata() -> None:
    data = json.loads(to_json_bytes(parse_event(Order, payload(Order))))
    assert data == {
        "schema_version": 1,
        "event_id": "e-3",
        "customer_id": "c-1",
        "occurred_at": "2024-05-01T08:00:00Z",
        "order_id": "o-1",
        "amount": 59.9,
        "currency": "EUR",
        "status": "placed",
        "items": 1,
        "category": None,
    }


def test_models_built_in_python_normalise_aware_times_and_refuse_naive_ones() -> None:
    tick = ClockTick(partition=1, occurred_at=datetime(2024, 5, 1, 10, tzinfo=timezone(timedelta(hours=2))))
    assert tick.occurred_at == T0 and tick.occurred_at.tzinfo is timezone.utc
    with pytest.raises(ValidationError, match="no offset"):
        ClockTick(partition=1, occurred_at=datetime(2024, 5, 1, 8))


def test_models_are_frozen() -> None:
    order = parse_event(Order, payload(Order))
    with pytest.raises(ValidationError):
        order.amount = 1.0  # type: ignore[misc]


def test_signal_strength_outside_zero_to_one_is_refused_in_python_too() -> None:
    with pytest.raises(ValidationError):
        Signal(kind="silence", current=1, baseline=1, unit="days", window_days=1, detail="", strength=1.5)


# --- replay lines ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", list(EVENT_TYPES.values()), ids=lambda m: m.__name__)
def test_replay_line_round_trip_returns_type_and_equal_event(model: type) -> None:
    event = parse_event(model, payload(model))
    line = to_replay_line(event)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line)["type"] == TYPE_OF_MODEL[model]
    assert parse_replay_line(line) == (TYPE_OF_MODEL[model], event)
    assert parse_replay_line(line.decode()) == (TYPE_OF_MODEL[model], event)


@pytest.mark.parametrize(
    "line, reason, field, message_part",
    [
        ('{"type": "refund"}', "schema_violation", "type", "type: expected one of 'login', 'page_view'"),
        ('{"event_id": "e-1"}', "schema_violation", "type", "type: required field is missing"),
        ('{"type": 3}', "schema_violation", "type", "got 3"),
        ('{"type": "order", "event_id": "e-1"}', "schema_violation", "customer_id", "required field is missing"),
        ("not json", "malformed_json", None, "not JSON"),
        ("[]", "malformed_json", None, "got an array"),
    ],
)
def test_bad_replay_lines_are_refused_with_reason_and_field(
    line: str, reason: str, field: str | None, message_part: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_replay_line(line)
    assert (caught.value.reason, caught.value.field) == (reason, field)
    assert message_part in caught.value.message


def test_replay_line_size_limit_applies_when_given() -> None:
    line = to_replay_line(parse_event(Login, payload(Login)))
    assert parse_replay_line(line, max_bytes=len(line))[0] == "login"
    with pytest.raises(InvalidEvent, match="expected at most 10"):
        parse_replay_line(line, max_bytes=10)


def test_outputs_cannot_be_written_as_replay_lines() -> None:
    with pytest.raises(TypeError, match="got ChurnWarning"):
        to_replay_line(parse_event(ChurnWarning, payload(ChurnWarning)))


def test_replay_types_topics_and_models_agree() -> None:
    assert DEFAULT_TOPIC == {
        "login": "logins",
        "page_view": "page-views",
        "order": "orders",
        "complaint": "complaints",
        "market_event": "market-events",
    }
    assert {m: t for t, m in EVENT_TYPES.items()} == TYPE_OF_MODEL
    assert get_args(_ReplayEnvelope.model_fields["type"].annotation) == tuple(EVENT_TYPES)


# --- dead letters -----------------------------------------------------------------------------


def _refusal(raw: bytes) -> InvalidEvent:
    return rejection(Order, raw)


def test_dead_letter_keeps_the_original_bytes_reason_and_field() -> None:
    raw = payload(Order, amount=-5)
    dl = make_dead_letter(
        source_topic="orders", partition=2, offset=99, key=b"c-1", payload=raw,
        error=_refusal(raw), max_payload_bytes=1024, now=T0,
    )
    assert (dl.reason, dl.field, dl.key, dl.partition, dl.offset) == ("schema_violation", "amount", "c-1", 2, 99)
    assert dl.error == "amount: expected a finite number from 0 to 10^15, got -5"
    assert base64.b64decode(dl.payload_base64 or "") == raw
    assert (dl.payload_sha256, dl.payload_size) == (hashlib.sha256(raw).hexdigest(), len(raw))
    assert parse_event(DeadLetter, to_json_bytes(dl)) == dl


def test_dead_letter_drops_payload_above_the_limit_but_keeps_hash_and_size() -> None:
    raw = b"x" * 2000
    err = rejection(Order, raw, max_bytes=1000)
    dl = make_dead_letter(
        source_topic="orders", partition=0, offset=1, key=None, payload=raw,
        error=err, max_payload_bytes=1000, now=T0,
    )
    assert (dl.reason, dl.payload_base64, dl.key) == ("oversize", None, None)
    assert (dl.payload_sha256, dl.payload_size) == (hashlib.sha256(raw).hexdigest(), 2000)


def test_dead_letter_escapes_a_key_that_is_not_utf8_and_stores_utc_time() -> None:
    dl = make_dead_letter(
        source_topic="logins", partition=0, offset=1, key=b"c-\xff", payload=b"null",
        error=_refusal(b"null"), max_payload_bytes=1024,
        now=datetime(2024, 5, 1, 10, tzinfo=timezone(timedelta(hours=2))),
    )
    assert dl.key == "c-\\xff"
    assert dl.dead_lettered_at == T0 and dl.dead_lettered_at.tzinfo is timezone.utc


# --- errors -------------------------------------------------------------------------------------


def test_invalid_event_is_a_churnwatch_error_and_survives_pickling() -> None:
    err = InvalidEvent("late_event", "occurred_at", "occurred_at: expected after 2024-05-01T00:00:00Z, got earlier")
    assert isinstance(err, ChurnwatchError)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.reason, copy.field, copy.message) == (err.reason, err.field, err.message)


def test_invalid_event_refuses_a_reason_outside_the_fixed_list() -> None:
    with pytest.raises(ValueError, match="not one of"):
        InvalidEvent("bad_luck", None, "x")
    assert DEAD_LETTER_REASONS == (
        "malformed_json", "schema_violation", "oversize", "key_mismatch", "late_event", "future_event",
        "processing_error",
    )
