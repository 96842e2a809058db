"""Events drawn from the published JSON Schemas themselves, not from our own builders.

Other teams write producers against ``schemas/json/``. Whatever those files allow, the
worker must take: accept it (or refuse it only by a rule the schema's text states and JSON
Schema cannot express), apply it without an internal error, and publish warnings that the
warning schema accepts. `hypothesis-jsonschema` draws instances from the committed schemas
(unknown extra fields, empty optionals, extreme numbers, any Unicode, years 0001 to 9999),
and hypothesis shrinks a failure to its smallest case.

Found this way (each now a named case in tests/unit/test_schemas.py or test_convert.py):
an offset that moves a timestamp out of years 1-9999 raised OverflowError instead of a
schema violation (a replay or `churnwatch offline` stopped with a traceback), an order of
more than 2^63 items passed the contract and then failed every write of the customer's
state (their events went to the dead-letter topic as processing errors), and amounts near
1e308 summed to infinity and failed the customer's assessments.

The examples are derandomized so that CI runs the same ones every time;
``CHURNWATCH_FUZZ_EXAMPLES=2000`` looks further.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis_jsonschema import from_schema

from schemas import InvalidEvent, parse_event
from schemas.events import EVENT_TYPES
from schemas.generate import SCHEMA_DIR
from streams.offline import run_offline
from streams.settings import Settings

EXAMPLES = int(os.environ.get("CHURNWATCH_FUZZ_EXAMPLES", "0")) or None
FILE_OF = {"login": "login", "page_view": "page-view", "order": "order", "complaint": "complaint",
           "market_event": "market-event"}


def _schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def _settings(default: int):
    return settings(max_examples=EXAMPLES or default, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))


def _utc(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.upper()).astimezone(timezone.utc)
    except OverflowError:
        return None


def _refusal_the_schema_states(event_type: str, instance: dict, err: InvalidEvent) -> bool:
    """A refusal for a rule the schema states in words: JSON Schema cannot compare two fields
    or move a time to UTC."""
    if err.field == "occurred_at" and _utc(instance["occurred_at"]) is None:
        return "outside years 1-9999" in err.message
    if event_type == "market_event" and err.field == "ends_at" and instance.get("ends_at"):
        end, start = _utc(instance["ends_at"]), _utc(instance["occurred_at"])
        return end is None or end <= start    # "When it ends, after `occurred_at`"
    return False


@pytest.mark.parametrize("event_type", sorted(FILE_OF))
def test_what_the_published_schema_allows_the_worker_accepts(event_type: str):
    model = EVENT_TYPES[event_type]

    @_settings(150)
    @given(from_schema(_schema(FILE_OF[event_type])))
    def check(instance: dict) -> None:
        payload = json.dumps(instance).encode()    # (stdlib: integers past 64 bits, as a producer may send)
        try:
            event = parse_event(model, payload, max_bytes=len(payload))
        except InvalidEvent as err:
            assert _refusal_the_schema_states(event_type, instance, err), (err.reason, err.message)
            return
        # what was accepted is held as the contract says: a UTC instant, within the limits
        assert event.occurred_at.utcoffset() == timedelta(0)

    check()


# --------------------------------------------------------------------------- through the processing

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
CUSTOMERS = ["a", "b", "c"]
CATEGORIES = ["books", "garden"]
WARNING = _schema("churn-warning")
_WARNING_VALIDATOR = jsonschema.validators.validator_for(WARNING)(WARNING)


def _event(event_type: str):
    return from_schema(_schema(FILE_OF[event_type])).map(lambda d: {"type": event_type, **d})


#: How one event of the history is made: which drawn event it copies, whose it is, when
#: (seconds after T0), which order or complaint it is about (so cancellations, returns and
#: complaint updates meet the events they update), its category, and whether it keeps the
#: drawn time instead (one in 16: years 0001 to 9999). Drawing a few events from the schemas
#: and copying them keeps the histories long enough for the detectors to judge.
_TIE = st.tuples(
    st.integers(0, 7),
    st.sampled_from(CUSTOMERS),
    st.integers(0, 400 * 86400),
    st.sampled_from(["1", "2", "3"]),
    st.sampled_from(CATEGORIES),
    st.integers(0, 15),
)


def _tie(templates: list[dict], i: int, tie) -> dict:
    which, customer, offset, ref, category, draw = tie
    event = dict(templates[which % len(templates)])
    event["event_id"] = f"{i}-{event['event_id']}"[:128]
    if draw:
        event["occurred_at"] = (T0 + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")
        if event.get("ends_at") is not None:
            event["ends_at"] = (T0 + timedelta(seconds=offset, days=30)).isoformat().replace("+00:00", "Z")
    if event["type"] == "market_event":
        event["category"] = category
        return event
    event["customer_id"] = customer
    if event["type"] == "order":
        event["order_id"], event["category"] = ref, category
    elif event["type"] == "complaint":
        event["complaint_id"] = ref
    return event


def _valid(line: bytes) -> bool:
    from schemas.events import parse_replay_line
    try:
        parse_replay_line(line)
    except InvalidEvent:
        return False
    return True


@_settings(40)
@given(st.lists(st.one_of(*[_event(t) for t in sorted(FILE_OF)]), min_size=1, max_size=8),
       st.lists(_TIE, min_size=20, max_size=200))
def test_any_history_the_schemas_allow_is_processed_without_an_internal_error(templates, ties):
    drawn = (_tie(templates, i, tie) for i, tie in enumerate(ties))
    lines = [line for line in (json.dumps(e).encode() for e in drawn) if _valid(line)]
    if not lines:
        return
    result = run_offline(Settings(), lines, advance_to=T0 + timedelta(days=800))

    reasons = Counter(d["reason"] for d in result.dead_letters)
    errors = [d["error"] for d in result.dead_letters if d["reason"] == "processing_error"]
    assert not errors, errors[:3]
    assert result.assessment_errors == 0
    # the history is applied in event-time order; what is left over is only a drawn time
    # far out of the others' order (late) or a message over the size limit
    assert set(reasons) <= {"late_event", "oversize"}, reasons
    for warning in result.warnings:
        problems = [e.message for e in _WARNING_VALIDATOR.iter_errors(warning)]
        assert not problems, (problems, warning)
    for row in result.snapshot:
        assert 0.0 <= row["risk_score"] <= 1.0, row
