"""Follow the churn-warnings topic (or, with ``--dead-letters``, the dead-letter topic) and
print each record, readably or as JSON lines.

``tail`` reads with kafka-python outside any consumer group: it assigns itself every
partition, commits nothing and so never disturbs the workers or another ``tail``.

Example:
    >>> print(format_warning({
    ...     "occurred_at": "2025-03-04T10:00:00Z", "state": "raised", "level": "warning",
    ...     "customer_id": "cust-42", "segment": "core", "risk_score": 0.714,
    ...     "signals": [{"kind": "silence", "current": 41, "baseline": 12, "unit": "days"}],
    ...     "suggested_actions": [{"action": "personal_call", "reason": "silent core customer"}]}))
    2025-03-04T10:00Z  RAISED  warning  cust-42  core  risk=0.71  silence: 41 days vs usual 12 days  → personal_call
    >>> print(format_dead_letter({
    ...     "source_topic": "logins", "partition": 2, "offset": 17, "key": "c1", "reason": "schema_violation",
    ...     "error": "channel: expected 'web', 'app' or 'store', got 'fax'", "field": "channel",
    ...     "payload_base64": "eyJjaGFubmVsIjoiZmF4In0=", "payload_size": 17,
    ...     "dead_lettered_at": "2025-03-04T10:00:05.123Z"}))
    2025-03-04T10:00:05Z  schema_violation  logins[2]@17  key=c1  channel: expected 'web', 'app' or 'store', got 'fax'  payload: {"channel":"fax"}
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
from kafka import TopicPartition
from kafka.errors import KafkaError

from streams.kafka_clients import broker_unreachable, consumer, partition_count
from streams.settings import Settings


def _number(value: Any) -> str:
    """A figure as a person reads it: whole from 100 on, with thousands separators, else to
    three significant digits, never in exponent notation.

    >>> [_number(v) for v in (14300.0, 2920.4, 488, 13.6, 0.5, 2.925, 0.0042, 0, "n/a")]
    ['14,300', '2,920', '488', '13.6', '0.5', '2.92', '0.0042', '0', 'n/a']
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    return f"{value:.6f}".rstrip("0") if "e" in text else text


def _minute(text: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(text)).astimezone(timezone.utc)
    except ValueError:
        return str(text)
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def format_signal(signal: dict[str, Any]) -> str:
    """``kind: current unit vs usual baseline unit``.

    Example:
        >>> format_signal({"kind": "order_value_drop", "current": 18.5, "baseline": 62, "unit": "EUR"})
        'order_value_drop: 18.5 EUR vs usual 62 EUR'
        >>> format_signal({"kind": "purchase_frequency_drop", "current": 0.5, "baseline": 3, "unit": "orders_per_30_days"})
        'purchase_frequency_drop: 0.5 orders per 30 days vs usual 3 orders per 30 days'
        >>> format_signal({"kind": "complaint_increase", "current": 1, "baseline": 0.26, "unit": "complaints per 90 days"})
        'complaint_increase: 1 complaint per 90 days vs usual 0.26 complaints per 90 days'

    A quiet spell is set against the usual gap (silence's and purchase frequency's baseline):

        >>> format_signal({"kind": "silence", "current": 519, "baseline": 151.2, "unit": "days since last activity"})
        'silence: 519 days since last activity vs a usual gap of 151 days'
    """
    unanswered = unresolved_part(signal)
    if unanswered:
        return f"{signal.get('kind', '?')}: {unanswered}"
    unit = str(signal.get("unit", "")).replace("_", " ")
    current, baseline = _number(signal.get("current")), _number(signal.get("baseline"))
    if unit.startswith("days since"):
        return f"{signal.get('kind', '?')}: {current} {_counted(current, unit)} vs a usual gap of {baseline} days"
    return (f"{signal.get('kind', '?')}: {current} {_counted(current, unit)} vs usual {baseline} "
            f"{_counted(baseline, unit)}").replace("  ", " ").strip()


def _counted(number: str, unit: str) -> str:
    """`unit` after `number`: its first word in the singular after a 1 ("1 complaint per 90
    days", "1 day since last activity")."""
    first, _, rest = unit.partition(" ")
    if number == "1" and len(first) > 2 and first.endswith("s") and first.islower():
        first = first[:-1]
    return f"{first} {rest}".strip()


def unresolved_part(signal: Mapping[str, Any]) -> str:
    """The part of a complaint signal's detail about complaints left unanswered, or "": that,
    not the count of complaints, is what such a warning is about (the count may even be
    below the usual one once the complaint is older than the window).

    Example:
        >>> unresolved_part({"detail": "0 complaints in 90 days; unresolved: 1 past the 24 h deadline (longest 30 h)"})
        'unresolved: 1 past the 24 h deadline (longest 30 h)'
        >>> unresolved_part({"detail": "0 complaints in 90 days; 1 still open with no update for over 180 days, "
        ...                            "taken as settled outside the complaint system"})
        '1 still open with no update for over 180 days, taken as settled outside the complaint system'
    """
    detail = str(signal.get("detail") or "")
    if "unresolved:" in detail:
        return detail[detail.index("unresolved:"):].split(";")[0]
    # a complaint warning that ended because its complaint went stale says so
    return next((part.strip() for part in detail.split(";") if "taken as settled" in part), "")


def format_warning(warning: dict[str, Any]) -> str:
    """One readable line: time, state, level, customer, segment, risk, evidence, actions.

    Fields a reader does not know are ignored and missing ones shown as ``?``, so warnings
    of a later release still print.

    Example:
        >>> format_warning({"occurred_at": "2025-03-09T06:00:00Z", "state": "cleared", "level": "watch",
        ...                 "customer_id": "c-7", "segment": "new", "risk_score": 0.05,
        ...                 "signals": [], "suggested_actions": []})
        '2025-03-09T06:00Z  CLEARED  watch  c-7  new  risk=0.05'
        >>> format_warning({"occurred_at": "2025-03-09T06:00:00Z", "state": "cleared", "level": "watch",
        ...                 "customer_id": "c-7", "segment": "new", "risk_score": 0.05, "suggested_actions": [],
        ...                 "signals": [{"kind": "silence", "current": 1, "baseline": 7, "unit": "days"}]})
        '2025-03-09T06:00Z  CLEARED  watch  c-7  new  risk=0.05  no longer firing: silence: 1 day vs usual 7 days'
    """
    parts = [
        _minute(warning.get("occurred_at", "?")),
        str(warning.get("state", "?")).upper(),
        str(warning.get("level", "?")),
        str(warning.get("customer_id", "?")),
        str(warning.get("segment", "?")),
        f"risk={warning['risk_score']:.2f}" if isinstance(warning.get("risk_score"), (int, float)) else "risk=?",
    ]
    signals = [format_signal(s) for s in warning.get("signals") or [] if isinstance(s, dict)]
    if signals:
        # a cleared step shows where the evidence it carried stands now: say it is over
        prefix = "no longer firing: " if warning.get("state") == "cleared" else ""
        parts.append(prefix + "; ".join(signals))
    actions = [str(a.get("action")) for a in warning.get("suggested_actions") or [] if isinstance(a, dict)]
    if actions:
        parts.append("→ " + ", ".join(actions))
    return "  ".join(parts)


def render(value: bytes | None, *, as_json: bool) -> str:
    """The line to print for one record of the warnings topic.

    JSON mode prints the warning exactly as it is on the topic. A record that is not a
    JSON object is shown, not skipped: ``tail`` is a diagnostic tool.

    Example:
        >>> render(b'{"customer_id":"c-1"}', as_json=True)
        '{"customer_id":"c-1"}'
        >>> render(b"\\xff", as_json=False)
        "unreadable warning: b'\\\\xff'"
    """
    return _render(value, as_json, format_warning, "warning")


def _render(value: bytes | None, as_json: bool, formatted: Callable[[dict[str, Any]], str], what: str) -> str:
    raw = value or b""
    if as_json:
        return raw.decode("utf-8", errors="backslashreplace").strip()
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        return f"unreadable {what}: {raw[:200]!r}"
    return formatted(record)


#: How much of a dead letter's original payload a readable line shows.
PAYLOAD_SHOWN = 160


def _payload_text(letter: Mapping[str, Any]) -> str:
    """The original message as text, cut to PAYLOAD_SHOWN characters, or why it is not shown."""
    encoded = letter.get("payload_base64")
    if not isinstance(encoded, str):
        return f"payload not kept ({_number(letter.get('payload_size'))} bytes, over the size limit)"
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return f"payload unreadable: {encoded[:40]!r}"
    text = raw.decode("utf-8", errors="backslashreplace").strip()
    return "payload: " + (text if len(text) <= PAYLOAD_SHOWN else text[:PAYLOAD_SHOWN] + f"... ({len(raw):,} bytes)")


def format_dead_letter(letter: Mapping[str, Any]) -> str:
    """One readable line for a dead letter: when, why, where from, the error and the original message.

    Example:
        >>> format_dead_letter({"source_topic": "orders", "partition": 0, "offset": 5, "key": None,
        ...                     "reason": "oversize", "error": "message of 70,000 bytes: the limit is 65,536",
        ...                     "field": None, "payload_base64": None, "payload_size": 70000,
        ...                     "dead_lettered_at": "2025-03-04T10:00:05Z"})
        '2025-03-04T10:00:05Z  oversize  orders[0]@5  no key  message of 70,000 bytes: the limit is 65,536  payload not kept (70,000 bytes, over the size limit)'
    """
    when = str(letter.get("dead_lettered_at") or "?")
    if len(when) > 20 and when.endswith("Z"):
        when = when[:19] + "Z"  # whole seconds are enough to read
    key = letter.get("key")
    parts = [when, str(letter.get("reason") or "?"),
             f"{letter.get('source_topic')}[{letter.get('partition')}]@{letter.get('offset')}",
             "no key" if key is None else f"key={key}", str(letter.get("error") or ""), _payload_text(letter)]
    return "  ".join(parts)


def render_dead_letter(value: bytes | None, *, as_json: bool) -> str:
    """The line to print for one record of the dead-letter topic (see :func:`render`).

    >>> render_dead_letter(b"[1]", as_json=False)
    "unreadable dead letter: b'[1]'"
    """
    return _render(value, as_json, format_dead_letter, "dead letter")


@dataclass
class TailResult:
    printed: int
    reason: str  # "idle", "max" or "interrupted"


def follow(
    settings: Settings,
    emit: Callable[[str], None],
    *,
    from_beginning: bool = False,
    as_json: bool = False,
    idle_timeout: float | None = None,
    max_warnings: int | None = None,
    dead_letters: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> TailResult:
    """Print warnings from the warnings topic until idle or ``max_warnings`` are printed.

    Parameters:
        emit: receives each printed line.
        from_beginning: start at the oldest warning; otherwise only new ones are printed.
        idle_timeout: return after this many seconds without a new warning; ``None``
            follows until interrupted.
        max_warnings: return after printing this many.
        dead_letters: follow the dead-letter topic instead (each record rendered by
            :func:`render_dead_letter`); the other parameters mean the same for its records.
    """
    reader = consumer(settings)
    show = render_dead_letter if dead_letters else render
    try:
        topic = settings.dead_letters_topic if dead_letters else settings.warnings_topic
        partitions = [TopicPartition(topic, p) for p in range(partition_count(reader, settings, topic))]
        reader.assign(partitions)
        # Partitions still at records written before we started (see below).
        catching_up: set[TopicPartition] = set()
        if from_beginning:
            reader.seek_to_beginning(*partitions)
        else:
            reader.seek_to_end(*partitions)
            # The embedded broker reports an end offset that is too low when the newest
            # batch held several records, so "the end" may still show a few old warnings.
            # Skip records stamped before we started until a partition shows a new one.
            catching_up = set(partitions)
        started_ms = int(time.time() * 1000)
        printed = 0
        last_seen = clock()
        while True:
            if max_warnings is not None and printed >= max_warnings:
                return TailResult(printed, "max")
            if idle_timeout is not None and clock() - last_seen >= idle_timeout:
                return TailResult(printed, "idle")
            wait = 0.5 if idle_timeout is None else min(0.5, max(idle_timeout - (clock() - last_seen), 0.01))
            batches = reader.poll(timeout_ms=int(wait * 1000))
            for partition, records in batches.items():
                for record in records:
                    if partition in catching_up:
                        if record.timestamp < started_ms:
                            continue
                        catching_up.discard(partition)
                    if max_warnings is not None and printed >= max_warnings:
                        break
                    emit(show(record.value, as_json=as_json))
                    printed += 1
                    last_seen = clock()
    except KafkaError as error:
        raise broker_unreachable(settings, error) from error
    finally:
        reader.close()
