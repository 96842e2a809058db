"""Churnwatch settings: one frozen object, built once from ``CHURNWATCH_*`` variables.

Every setting is a field of :class:`Settings`, declared with its default, its unit and what
it means; the environment variable is ``CHURNWATCH_`` plus the field name in capitals
(``partitions`` is ``CHURNWATCH_PARTITIONS``). :meth:`Settings.from_env` is the only place in
the project that reads the environment; everything else is handed a ``Settings``.

A bad value fails at start-up with a message naming the variable and what was expected, so
an operator sees the typo instead of a worker that misbehaves an hour later.

Example:
    >>> s = Settings.from_env({"CHURNWATCH_PARTITIONS": "8", "CHURNWATCH_TOPIC_PREFIX": "t1-"})
    >>> s.partitions, s.logins_topic, s.bootstrap_servers
    (8, 't1-logins', ['127.0.0.1:9092'])
    >>> Settings.from_env({"CHURNWATCH_PARTITIONS": "two"})
    Traceback (most recent call last):
    ...
    streams.settings.SettingsError: CHURNWATCH_PARTITIONS='two': expected a whole number >= 1, e.g. 4
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.errors import ChurnwatchError

#: Every environment variable that configures Churnwatch starts with this.
ENV_PREFIX = "CHURNWATCH_"


class SettingsError(ChurnwatchError):
    """A setting has a value Churnwatch cannot use; the message names the variable."""


# --- value kinds ---------------------------------------------------------------------------
# A kind turns the text of an environment variable into a value and says what it accepts.
# The same `valid` check runs on values given in Python (tests, with_overrides), so a
# Settings object that exists is always a valid one.


@dataclass(frozen=True)
class _Kind:
    expect: str  # completes "expected ...", e.g. "a whole number >= 1"
    parse: Callable[[str], Any]  # raises ValueError on text it cannot read
    valid: Callable[[Any], bool]
    render: Callable[[Any], str] = str  # back to environment-variable text
    example: str | None = None  # shown after "e.g." when the default is empty or says nothing
    secret: bool = False  # the value is never shown, not even in an error message


def _whole(minimum: int, maximum: int | None = None) -> _Kind:
    bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"

    def parse(text: str) -> int:
        if not re.fullmatch(r"[+]?[0-9]+", text.strip()):
            raise ValueError(text)
        return int(text)

    def valid(value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= minimum
            and (maximum is None or value <= maximum)
        )

    return _Kind(f"a whole number {bounds}", parse, valid)


def _seconds(minimum: float, *, inclusive: bool) -> _Kind:
    relation = ">=" if inclusive else ">"

    def parse(text: str) -> float:
        value = float(text)  # raises ValueError on "ten"
        if not math.isfinite(value):
            raise ValueError(text)
        return value

    def valid(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        return value >= minimum if inclusive else value > minimum

    return _Kind(f"a number of seconds {relation} {minimum:g}", parse, valid, lambda v: f"{v:g}")


def _number(minimum: float, maximum: float | None = None, *, what: str = "a number") -> _Kind:
    bounds = f">= {minimum:g}" if maximum is None else f"from {minimum:g} to {maximum:g}"

    def parse(text: str) -> float:
        value = float(text)  # raises ValueError on "half"
        if not math.isfinite(value):
            raise ValueError(text)
        return value

    def valid(value: Any) -> bool:
        return (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
                and value >= minimum and (maximum is None or value <= maximum))

    return _Kind(f"{what} {bounds}", parse, valid, lambda v: f"{v:g}")


def _parse_days(text: str) -> float:
    value = float(text)  # raises ValueError on "ninety"
    if not math.isfinite(value):
        raise ValueError(text)
    return value


_DAYS = _Kind(
    "a number of days > 0",
    _parse_days,
    lambda v: not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) and v > 0,
    lambda v: f"{v:g}",
)


def _parse_flag(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "1", "yes"):
        return True
    if word in ("false", "0", "no"):
        return False
    raise ValueError(text)


_FLAG = _Kind(
    "true or false (also 1/0, yes/no)",
    _parse_flag,
    lambda v: isinstance(v, bool),
    lambda v: "true" if v else "false",
)

# Kafka's rule for topic names: at most 249 of [a-zA-Z0-9._-]. The application id becomes
# part of changelog topic names and the consumer group id, so it follows the same rule.
_TOPIC_CHARS = re.compile(r"[a-zA-Z0-9._-]+")


def _topic_text(*, allow_empty: bool) -> _Kind:
    def valid(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if value == "":
            return allow_empty
        return len(value) <= 200 and _TOPIC_CHARS.fullmatch(value) is not None and value not in (".", "..")

    what = "letters, digits, '.', '_' or '-', at most 200 characters"
    return _Kind(f"{'empty or ' if allow_empty else ''}{what}", str.strip, valid)


_HOST_PORT = re.compile(r"(?P<host>[^\s:,]+|\[[0-9a-fA-F:]+\]):(?P<port>[0-9]{1,5})")


def _valid_host_port(item: str) -> bool:
    match = _HOST_PORT.fullmatch(item)
    return match is not None and 1 <= int(match["port"]) <= 65535


_BROKERS = _Kind(
    "a comma-separated list of host:port",
    lambda text: ",".join(part.strip() for part in text.split(",")),
    lambda v: isinstance(v, str) and all(_valid_host_port(part) for part in v.split(",")),
)

_HOST = _Kind(
    "a host name or IP address",
    str.strip,
    lambda v: isinstance(v, str) and re.fullmatch(r"[^\s/:]+|\[[0-9a-fA-F:]+\]", v) is not None,
)


def _choice(*options: str) -> _Kind:
    return _Kind(
        "one of " + ", ".join(options),
        lambda text: text.strip().lower(),
        lambda v: v in options,
    )


_PATH = _Kind("a directory path", lambda text: Path(text.strip()), lambda v: isinstance(v, Path) and str(v) != "")


def _file(example: str) -> _Kind:
    # Optional: None (the default, rendered empty) means "not used".
    return _Kind(
        "a file path",
        lambda text: Path(text.strip()),
        lambda v: v is None or (isinstance(v, Path) and str(v) not in ("", ".")),
        lambda v: "" if v is None else str(v),
        example=example,
    )


def _upper_choice(*options: str, example: str) -> _Kind:
    # Kafka spells protocols and mechanisms in capitals; accept any case, store Kafka's.
    return _Kind(
        "one of " + ", ".join(o for o in options if o),
        lambda text: text.strip().upper(),
        lambda v: v in options,
        example=example,
    )


_NAME = _Kind(
    "a name without spaces at either end",
    str.strip,
    lambda v: isinstance(v, str) and v == v.strip(),
    example="churnwatch",
)


class Secret:
    """A credential that compares by value but never shows it.

    ``repr`` and ``str`` (so f-strings, logs and ``repr(settings)``) print ``***`` for a set
    value; only :meth:`reveal` gives the text, for the one place that hands it to a client.

    Example:
        >>> password = Secret("hunter2")
        >>> password, f"{password}", bool(password), password.reveal()
        (Secret('***'), '***', True, 'hunter2')
        >>> Secret(), Secret("a") == Secret("a")
        (Secret(''), True)
    """

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds text")
        self._value = value

    def reveal(self) -> str:
        """The text itself: for a Kafka client's configuration, never for output."""
        return self._value

    def __bool__(self) -> bool:
        return self._value != ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"

    def __str__(self) -> str:
        return MASK if self._value else ""


#: What a set secret looks like wherever settings are shown.
MASK = "***"

_SECRET = _Kind(
    "text",
    # Not stripped: spaces may be part of a password. (An all-blank variable counts as unset.)
    Secret,
    lambda v: isinstance(v, Secret),
    Secret.reveal,
    secret=True,
)


def _parse_rates(text: str) -> tuple[tuple[str, float], ...]:
    """``"KRW=0.00068, huf=0.0025"`` -> ``(("KRW", 0.00068), ("HUF", 0.0025))``; ValueError on
    anything else (a code that is not three letters, a rate that is not a positive number)."""
    out = []
    for item in text.split(","):
        if not item.strip():
            continue
        code, sep, rate = item.partition("=")
        code = code.strip().upper()
        if not sep or not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(item)
        out.append((code, float(rate)))
    return tuple(out)


def _valid_rates(value: Any) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str) and re.fullmatch(r"[A-Z]{3}", pair[0])
        and isinstance(pair[1], (int, float)) and not isinstance(pair[1], bool) and math.isfinite(pair[1])
        and pair[1] > 0 for pair in value)


_RATES = _Kind("comma-separated CODE=rate pairs (ISO 4217 code, EUR per unit, > 0)", _parse_rates, _valid_rates,
               lambda v: ",".join(f"{code}={rate:g}" for code, rate in v), example="KRW=0.00068,HUF=0.0025")


def _setting(default: Any, kind: _Kind, doc: str) -> Any:
    return field(default=default, metadata={"kind": kind, "doc": doc})


# --- the settings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything Churnwatch can be configured with; build it with :meth:`from_env`.

    Each field's environment variable is ``CHURNWATCH_<FIELD NAME IN CAPITALS>``.
    """

    # Kafka connection and application identity.
    broker: str = _setting("127.0.0.1:9092", _BROKERS, "Kafka bootstrap servers, comma-separated host:port")
    app_id: str = _setting(
        "churnwatch",
        _topic_text(allow_empty=False),
        "Faust application id: consumer group id and prefix of the table changelog topics",
    )
    client_timeout_seconds: float = _setting(
        5.0,
        _seconds(0, inclusive=False),
        "seconds a command, and a worker checking the broker before it starts, waits for it to answer",
    )
    profile: str = _setting(
        "dev",
        _choice("dev", "production"),
        "production refuses unencrypted or unauthenticated Kafka connections (expects "
        "CHURNWATCH_SECURITY_PROTOCOL=SASL_SSL with SASL credentials) and the memory store (its store default "
        "is rocksdb://, which keeps standby replicas); dev allows any protocol",
    )

    # Kafka client security (streams.security builds every client's configuration from these).
    security_protocol: str = _setting(
        "PLAINTEXT",
        _upper_choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", example="SASL_SSL"),
        "how every Kafka client connects: PLAINTEXT (dev only), SSL (TLS), SASL_PLAINTEXT (dev only), SASL_SSL "
        "(TLS and SASL login, what production expects)",
    )
    sasl_mechanism: str = _setting(
        "",
        _upper_choice("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", example="SCRAM-SHA-512"),
        "SASL mechanism for the SASL_* protocols: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
    )
    sasl_username: str = _setting("", _NAME, "SASL user name for the SASL_* protocols")
    sasl_password: Secret = _setting(
        Secret(),
        _SECRET,
        "SASL password, when not read from CHURNWATCH_SASL_PASSWORD_FILE; never printed (shown as ***)",
    )
    sasl_password_file: Path | None = _setting(
        None,
        _file("/etc/churnwatch/kafka/password"),
        "file holding the SASL password (e.g. a mounted Kubernetes Secret); read at start-up, one trailing "
        "newline ignored",
    )
    ssl_cafile: Path | None = _setting(
        None,
        _file("/etc/churnwatch/kafka/ca.crt"),
        "PEM file of the CA certificates that signed the brokers' certificates; empty trusts the system's CAs",
    )
    ssl_certfile: Path | None = _setting(
        None,
        _file("/etc/churnwatch/kafka/client.crt"),
        "PEM client certificate, for brokers that require one (mutual TLS); may hold the key too",
    )
    ssl_keyfile: Path | None = _setting(
        None,
        _file("/etc/churnwatch/kafka/client.key"),
        "PEM private key of CHURNWATCH_SSL_CERTFILE, unencrypted (keep it in a Secret), if not in that file",
    )

    # Topics. Every customer topic, the tick topic, warnings and dead letters share one
    # partition count, so partition p of each lands on the same worker together with
    # partition p of the table changelogs (co-partitioning).
    topic_prefix: str = _setting(
        "", _topic_text(allow_empty=True), "prepended to every topic name (isolates tests and environments)"
    )
    partitions: int = _setting(
        4, _whole(1), "partition count of every customer topic, clock-ticks, warnings, dead letters and changelogs"
    )
    market_partitions: int = _setting(1, _whole(1), "partition count of the market-events topic")
    replication_factor: int = _setting(1, _whole(1), "replication factor of every topic Churnwatch creates")
    topic_logins: str = _setting("logins", _topic_text(allow_empty=False), "topic of Login events")
    topic_page_views: str = _setting("page-views", _topic_text(allow_empty=False), "topic of PageView events")
    topic_orders: str = _setting("orders", _topic_text(allow_empty=False), "topic of Order events")
    topic_complaints: str = _setting("complaints", _topic_text(allow_empty=False), "topic of Complaint events")
    topic_market_events: str = _setting(
        "market-events", _topic_text(allow_empty=False), "topic of market events (key: category)"
    )
    topic_clock_ticks: str = _setting(
        "clock-ticks", _topic_text(allow_empty=False), "topic of event-time ticks, one message per partition"
    )
    topic_warnings: str = _setting(
        "churn-warnings", _topic_text(allow_empty=False), "output topic of ChurnWarning events"
    )
    topic_dead_letters: str = _setting(
        "churn-dead-letters", _topic_text(allow_empty=False), "output topic of DeadLetter records"
    )

    # Input handling and event time.
    max_event_bytes: int = _setting(
        65536, _whole(1), "bytes: larger messages are dead-lettered as oversize without being parsed"
    )
    lateness_seconds: int = _setting(
        86400,
        _whole(0),
        "seconds of event time: events older than stream time minus this are dead-lettered as late_event",
    )
    max_future_seconds: int = _setting(
        86400,
        _whole(0),
        "seconds: with live ticks on, customer events whose occurred_at is further than this ahead of the "
        "worker's clock are dead-lettered as future_event (one would move its topic's stream time ahead and "
        "make every real event after it late); 0: no limit. Replays (live ticks off) accept any event time",
    )
    sweep_interval_seconds: int = _setting(
        21600, _whole(1), "seconds of event time between sweeps that re-evaluate quiet customers"
    )
    live_ticks: bool = _setting(
        False, _FLAG, "send wall-clock ticks so quiet partitions move in live use; keep off for replay and demo"
    )
    live_tick_interval_seconds: float = _setting(
        60.0, _seconds(0, inclusive=False), "wall-clock seconds between live ticks"
    )

    # Worker state and servers.
    store: str = _setting(
        "memory://",
        _choice("memory://", "rocksdb://"),
        "Faust table store; rocksdb:// keeps state on disk and one standby replica of each table partition on "
        "another worker (the default with CHURNWATCH_PROFILE=production)",
    )
    data_dir: Path = _setting(
        Path("./.churnwatch-data"), _PATH, "directory for worker data (RocksDB files, logs)"
    )
    web_host: str = _setting("127.0.0.1", _HOST, "address the worker's web server binds to")
    web_port: int = _setting(6066, _whole(1, 65535), "port of the worker's web server")
    metrics_host: str = _setting("127.0.0.1", _HOST, "address the Prometheus metrics endpoint binds to")
    metrics_port: int = _setting(9108, _whole(0, 65535), "port of the Prometheus metrics endpoint; 0 turns it off")
    serve_tables: bool = _setting(
        False,
        _FLAG,
        "serve table contents (customer state) over HTTP at /table/<name>/<key>/, unauthenticated; keep "
        "off unless that port is private",
    )
    pseudonymise_key: Secret = _setting(
        Secret(),
        _SECRET,
        "when set, warnings carry a keyed hash (HMAC-SHA256) of the customer id instead of the id, as their "
        "customer_id and Kafka key (streams.privacy); never printed (shown as ***)",
    )
    pseudonymise_key_file: Path | None = _setting(
        None,
        _file("/etc/churnwatch/pseudonymise/key"),
        "file holding that key (e.g. a mounted Kubernetes Secret); read at start-up, one trailing newline ignored",
    )

    # Consumer group and producer behaviour.
    session_timeout_seconds: float = _setting(
        30.0,
        _seconds(0, inclusive=False),
        "seconds without heartbeat before a worker's partitions move to another (failover time)",
    )
    rebalance_timeout_seconds: float = _setting(
        30.0, _seconds(0, inclusive=False), "seconds the group waits for members to rejoin during a rebalance"
    )
    heartbeat_interval_seconds: float = _setting(
        3.0, _seconds(0, inclusive=False), "seconds between consumer heartbeats; below the session timeout"
    )
    group_instance_id: str = _setting(
        "",
        _topic_text(allow_empty=True),
        "static consumer-group membership id, unique per worker (e.g. the pod name): a worker back within "
        "the session timeout keeps its partitions without a rebalance; empty for dynamic membership",
    )
    producer_max_batch_size: int = _setting(
        16384,
        _whole(1),
        "bytes per producer batch; the embedded Tansu broker needs 1 for exact table recovery",
    )
    producer_linger_seconds: float = _setting(
        0.01, _seconds(0, inclusive=True), "seconds the producer waits to fill a batch"
    )
    state_flush_records: int = _setting(
        500,
        _whole(0),
        "customer state and clock changelog records written behind: the newest per key in one produce batch per "
        "partition at N pending records (and every state_flush_interval_seconds), an event acknowledged once its "
        "records are in the producer (every commit flushes it first), clocks only after the states they cover "
        "are stored; about 1.4 x the throughput of 0, Faust's changelog send per write (docs/reliability.md)",
    )
    state_flush_interval_seconds: float = _setting(
        0.05, _seconds(0, inclusive=False), "seconds between flushes of the gathered customer state records"
    )
    fetch_max_wait_seconds: float = _setting(
        0.1,
        _seconds(0, inclusive=False),
        "seconds the broker may hold a fetch that has no new records: the longest an event can wait at the "
        "broker before a consumer sees it (Faust fixes 1.5 s; the embedded broker holds most fetches that "
        "long); each idle consumer sends about one fetch per this interval",
    )
    shutdown_timeout_seconds: float = _setting(
        20.0, _seconds(0, inclusive=False), "seconds a worker may take to stop after SIGTERM before it exits anyway"
    )
    stall_report_seconds: float = _setting(
        120.0, _seconds(0, inclusive=False),
        "seconds a partition with input left to read may go without progress before the worker logs where it stands "
        "(and reads it again when Faust has handed none of it to the agent)",
    )
    log_level: str = _setting("info", _choice("debug", "info", "warning", "error", "critical"), "log level")
    unkeyed_events: str = _setting(
        "rekey",
        _choice("rekey", "apply"),
        "what a worker does with a customer event that has no Kafka key: `rekey` re-publishes it to its own topic "
        "keyed by customer_id, on the partition that holds the customer (a second write; counted in "
        "churnwatch_rekeyed_events_total), so one customer's history is never split over partitions; `apply` "
        "applies it on the partition it was read from (for producers that always key, or a worker not allowed to "
        "write to the input topics)",
    )
    publish_min_level: str = _setting(
        "warning",
        _choice("watch", "warning", "critical"),
        "lowest warning level published on the warnings topic: an episode is published from the step that reaches "
        "it (as `raised`) to its `cleared`; steps below it stay in the customer's state, the snapshot and the "
        "worklist and are counted in churnwatch_warnings_withheld_total. `watch` also publishes early signs and "
        "lone complaint alarms (on the simulated year: precision 0.59 and 34 false warnings per 1,000 staying "
        "customers a month, against 0.85 and 4.3 from `warning`)",
    )

    # The online churn model (detectors.labels, detectors.river_models).
    churn_horizon_days: float = _setting(
        90.0,
        _DAYS,
        "days of event time: a customer with no activity this long after a feature snapshot counts as churned "
        "(the model's label 1); activity sooner labels the snapshot 0. Also the horizon of the risk score's "
        "gone probability (no activity within it)",
    )
    snapshot_every_days: float = _setting(
        7.0,
        _DAYS,
        "days of event time between feature snapshots of an active customer (training examples once labelled)",
    )
    model_checkpoint_labels: int = _setting(
        200,
        _whole(1),
        "labels a partition's model learns between checkpoints to the models table; it is also checkpointed at "
        "every clock tick, so a restart loses at most this many labels of learning",
    )

    # The value segment (detectors.segment): who counts as a core customer.
    core_share: float = _setting(
        0.1,
        _number(0.0, 1.0, what="a share"),
        "share of the shop's repeat buyers (core_min_orders orders in a year) with the highest yearly value who "
        "are core customers (they reach higher warning levels sooner and get a personal call): the threshold is "
        "the shop's own, recomputed from each partition's population sample with its fit; 0 uses "
        "core_min_value instead",
    )
    core_min_value: float = _setting(
        1500.0,
        _number(0.0, what="an amount"),
        "yearly value (EUR; other currencies converted at fixed rates) that makes a repeat buyer core while the "
        "shop's threshold is not known yet (fewer than 10 repeat buyers in the partition's sample) or when "
        "core_share is 0",
    )
    core_min_orders: int = _setting(
        2, _whole(1), "placed orders in the last 365 days a core customer needs (and a repeat buyer has)"
    )
    fx_rates: tuple = _setting(
        (),
        _RATES,
        "exchange rates (EUR per unit) for the value segment, added to or replacing the built-in table of 46 "
        "currencies (detectors.segment.DEFAULT_FX); a currency in neither counts 1:1, which matters when a shop "
        "sells in several (`churnwatch convert-orders` names them)",
    )

    # How many warnings: the alarm budget of the statistical signals (detectors.warning).
    false_alarm_scale: float = _setting(
        1.0,
        _number(0.05, 20.0, what="a factor"),
        "factor on the false-alarm budget of every statistical signal (silence, purchase frequency, order value, "
        "activity; `detectors.warning.with_false_alarm_scale`): 2 warns on smaller changes and sooner at about "
        "1.5 times the false warnings, 0.5 later and on fewer staying customers; complaint rules and the lapse verdict "
        "keep theirs (docs/quality.md, \"One setting for the alarm budget\", measures each step)",
    )

    # The shop's service-level promise for complaints (detectors.complaints).
    complaint_response_hours: float = _setting(
        24.0,
        _number(1.0, 720.0, what="a number of hours"),
        "hours within which the shop promises to answer a complaint (its service level): an open complaint older "
        "than this is overdue and raises complaint_increase (a `watch` on its own), and a customer whose "
        "complaints were all resolved within it counts as handled; set it to the shop's own promise (48 or 72 "
        "where that is the rule), or every complaint answered on time is read as overdue",
    )

    # Every other detector threshold is a field of the detectors' *Params dataclasses (their
    # defaults are documented there); a caller may attach a whole DetectorParams here. Not an
    # environment variable itself.
    detectors: object | None = None

    def detector_params(self):
        """The detectors' parameters: `detectors` when set, the defaults otherwise, with the
        population's "gone" horizon (`detectors.population`) set to `churn_horizon_days`, the
        horizon the model's labels use, so one setting moves both, and the value segment's
        core thresholds from the `core_*` settings, the complaints' deadline from
        `complaint_response_hours`, and the statistical signals' false-alarm budgets
        times `false_alarm_scale`.

        >>> Settings(churn_horizon_days=60).detector_params().population.horizon_days
        60.0
        >>> Settings.from_env({"CHURNWATCH_CORE_SHARE": "0", "CHURNWATCH_CORE_MIN_VALUE": "400"}).detector_params().segment
        ... # doctest: +ELLIPSIS
        SegmentParams(..., core_share=0.0, core_min_value=400.0, core_min_orders=2, ...)
        >>> fx = dict(Settings.from_env({"CHURNWATCH_FX_RATES": "xof=0.0015, USD=0.9"}).detector_params().segment.fx_to_reference)
        >>> fx["XOF"], fx["USD"], fx["EUR"]
        (0.0015, 0.9, 1.0)
        >>> Settings.from_env({"CHURNWATCH_FALSE_ALARM_SCALE": "0.5"}).detector_params().activity.p_fire
        0.00075
        >>> Settings.from_env({"CHURNWATCH_COMPLAINT_RESPONSE_HOURS": "72"}).detector_params().complaints.response_hours
        72.0
        """
        from detectors.warning import DetectorParams

        params = self.detectors or DetectorParams()
        fx = params.segment.fx_to_reference
        if self.fx_rates:
            mine = dict(self.fx_rates)
            fx = tuple((code, mine.pop(code, rate)) for code, rate in fx) + tuple(mine.items())
        segment = dataclasses.replace(params.segment, core_share=float(self.core_share),
                                      core_min_value=float(self.core_min_value), core_min_orders=self.core_min_orders,
                                      fx_to_reference=fx)
        if segment != params.segment:
            params = dataclasses.replace(params, segment=segment)
        if params.complaints.response_hours != self.complaint_response_hours:
            params = dataclasses.replace(params, complaints=dataclasses.replace(
                params.complaints, response_hours=float(self.complaint_response_hours)))
        if params.population.horizon_days != self.churn_horizon_days:
            params = dataclasses.replace(
                params, population=dataclasses.replace(params.population, horizon_days=float(self.churn_horizon_days)))
        from detectors.warning import with_false_alarm_scale

        return with_false_alarm_scale(params, float(self.false_alarm_scale))

    def __post_init__(self) -> None:
        errors = [
            _message(f, getattr(self, f.name))
            for f in _declared_fields()
            if not f.metadata["kind"].valid(getattr(self, f.name))
        ]
        if not errors:
            errors = self._cross_field_errors()
        if errors:
            raise SettingsError("; ".join(errors))

    def _cross_field_errors(self) -> list[str]:
        errors = []
        if self.heartbeat_interval_seconds >= self.session_timeout_seconds:
            errors.append(
                f"{env_name('heartbeat_interval_seconds')}={self.heartbeat_interval_seconds:g}: expected less "
                f"than {env_name('session_timeout_seconds')} ({self.session_timeout_seconds:g})"
            )
        if self.metrics_port != 0 and self.metrics_port == self.web_port and self.metrics_host == self.web_host:
            errors.append(
                f"{env_name('metrics_port')}={self.metrics_port}: expected a port other than "
                f"{env_name('web_port')} ({self.web_port}) on the same host, or 0 to turn metrics off"
            )
        names = [getattr(self, name) for name in _TOPIC_FIELDS.values()]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            errors.append(f"topic names must differ, but {', '.join(duplicates)} is used twice")
        return errors + self._security_errors()

    def _security_errors(self) -> list[str]:
        # Messages name variables and what they expected, never a credential's value.
        errors = []
        protocol = f"{env_name('security_protocol')}={self.security_protocol}"
        if self.profile == "production":
            if self.security_protocol != "SASL_SSL":
                errors.append(
                    f"{protocol}: expected SASL_SSL with {env_name('profile')}=production (Kafka connections "
                    f"encrypted with TLS and authenticated with SASL); set {env_name('profile')}=dev to allow "
                    f"{self.security_protocol}"
                )
            if self.store != "rocksdb://":
                errors.append(
                    f"{env_name('store')}={self.store!r}: expected rocksdb:// with {env_name('profile')}=production "
                    "(the memory store keeps no standby replicas and re-reads every changelog at each start)"
                )
        if self.security_protocol.startswith("SASL_"):
            if not self.sasl_mechanism:
                errors.append(
                    f"{env_name('sasl_mechanism')} is empty: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with "
                    f"{protocol}"
                )
            if not self.sasl_username:
                errors.append(f"{env_name('sasl_username')} is empty: expected the SASL user name with {protocol}")
            both = f"{env_name('sasl_password')} and {env_name('sasl_password_file')}"
            if not self.sasl_password and self.sasl_password_file is None:
                errors.append(f"{both} are both empty: expected one of them with {protocol}")
            elif self.sasl_password and self.sasl_password_file is not None:
                errors.append(f"{both} are both set: expected only one of them (the file for a mounted Secret)")
        else:
            # Credentials that would be silently ignored most likely mean a forgotten protocol.
            unused = [name for name in _SASL_FIELDS if getattr(self, name)]
            if unused:
                errors.append(
                    f"{', '.join(env_name(n) for n in unused)} set, but {protocol} does not log in with SASL: "
                    "expected SASL_SSL (or SASL_PLAINTEXT) to use them, or leave them empty"
                )
        if self.security_protocol not in ("SSL", "SASL_SSL"):
            unused = [name for name in _SSL_FIELDS if getattr(self, name) is not None]
            if unused:
                errors.append(
                    f"{', '.join(env_name(n) for n in unused)} set, but {protocol} does not use TLS: expected "
                    "SASL_SSL or SSL to use them, or leave them empty"
                )
        if self.pseudonymise_key and self.pseudonymise_key_file is not None:
            errors.append(
                f"{env_name('pseudonymise_key')} and {env_name('pseudonymise_key_file')} are both set: expected "
                "only one of them (the file for a mounted Secret)"
            )
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            errors.append(
                f"{env_name('ssl_keyfile')} is set without {env_name('ssl_certfile')}: expected both for a client "
                "certificate"
            )
        return errors

    # --- building ---------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``CHURNWATCH_*`` variables (``os.environ`` when not given).

        Unset and empty variables take the default. All bad values are reported together.

        Example:
            >>> Settings.from_env({"CHURNWATCH_LIVE_TICKS": "yes", "CHURNWATCH_WEB_PORT": ""}).live_ticks
            True
            >>> Settings.from_env({"CHURNWATCH_WEB_PORT": "0", "CHURNWATCH_STORE": "redis://"})
            Traceback (most recent call last):
            ...
            streams.settings.SettingsError: CHURNWATCH_STORE='redis://': expected one of memory://, rocksdb://, e.g. memory://; CHURNWATCH_WEB_PORT='0': expected a whole number from 1 to 65535, e.g. 6066
        """
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        errors: list[str] = []
        for f in _declared_fields():
            text = environ.get(env_name(f.name), "")
            if text.strip() == "":
                continue
            kind: _Kind = f.metadata["kind"]
            try:
                value = kind.parse(text)
            except ValueError:
                value = _INVALID
            if value is _INVALID or not kind.valid(value):
                errors.append(_message(f, text))
            else:
                values[f.name] = value
        if errors:
            raise SettingsError("; ".join(errors))
        if values.get("profile") == "production":
            # Production state lives on disk with standby replicas unless the store was named.
            values.setdefault("store", "rocksdb://")
        return cls(**values)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed, validated like the original.

        Example:
            >>> Settings().with_overrides(partitions=2).partitions
            2
            >>> Settings().with_overrides(partitions=0)
            Traceback (most recent call last):
            ...
            streams.settings.SettingsError: CHURNWATCH_PARTITIONS=0: expected a whole number >= 1, e.g. 4
        """
        return dataclasses.replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The ``CHURNWATCH_*`` variables that rebuild these settings in another process.

        They include secrets in clear (a child process needs them): pass them to a process
        environment, never print them; :meth:`shown_env` is the printable form.

        Example:
            >>> env = Settings(partitions=2, live_ticks=True).to_env()
            >>> env["CHURNWATCH_PARTITIONS"], env["CHURNWATCH_LIVE_TICKS"]
            ('2', 'true')
            >>> Settings.from_env(env) == Settings(partitions=2, live_ticks=True)
            True
        """
        return {env_name(f.name): f.metadata["kind"].render(getattr(self, f.name)) for f in _declared_fields()}

    def shown_env(self) -> dict[str, str]:
        """Like :meth:`to_env`, with every set secret shown as ``***``: what may be printed.

        Example:
            >>> shown = Settings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="cw",
            ...                  sasl_password=Secret("hunter2")).shown_env()
            >>> shown["CHURNWATCH_SASL_PASSWORD"], shown["CHURNWATCH_SASL_USERNAME"]
            ('***', 'cw')
        """
        return {
            env_name(f.name): str(value) if f.metadata["kind"].secret else f.metadata["kind"].render(value)
            for f in _declared_fields()
            for value in [getattr(self, f.name)]
        }

    # --- derived values ---------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> list[str]:
        """The broker list as ``host:port`` strings, in the order given."""
        return self.broker.split(",")

    def topic(self, name: str) -> str:
        """A topic name with :attr:`topic_prefix` in front.

        Example:
            >>> Settings(topic_prefix="test7-").topic("logins")
            'test7-logins'
        """
        return self.topic_prefix + name

    @property
    def logins_topic(self) -> str:
        return self.topic(self.topic_logins)

    @property
    def page_views_topic(self) -> str:
        return self.topic(self.topic_page_views)

    @property
    def orders_topic(self) -> str:
        return self.topic(self.topic_orders)

    @property
    def complaints_topic(self) -> str:
        return self.topic(self.topic_complaints)

    @property
    def market_events_topic(self) -> str:
        return self.topic(self.topic_market_events)

    @property
    def clock_ticks_topic(self) -> str:
        return self.topic(self.topic_clock_ticks)

    @property
    def warnings_topic(self) -> str:
        return self.topic(self.topic_warnings)

    @property
    def dead_letters_topic(self) -> str:
        return self.topic(self.topic_dead_letters)

    @property
    def customer_topics(self) -> tuple[str, ...]:
        """The four customer event topics (prefixed), keyed by customer id.

        Example:
            >>> Settings().customer_topics
            ('logins', 'page-views', 'orders', 'complaints')
        """
        return (self.logins_topic, self.page_views_topic, self.orders_topic, self.complaints_topic)

    def topic_for_event_type(self, event_type: str) -> str:
        """The (prefixed) topic an event of a replay ``type`` belongs on.

        Example:
            >>> Settings(topic_prefix="x-").topic_for_event_type("page_view")
            'x-page-views'
        """
        try:
            return self.topic(getattr(self, _TOPIC_FIELDS[event_type]))
        except KeyError:
            known = ", ".join(name for name in _TOPIC_FIELDS if name in _EVENT_TYPE_TOPICS)
            raise SettingsError(f"no topic for event type {event_type!r}; expected one of {known}") from None


# Event type (as written in replay files, see schemas.events.EVENT_TYPES) -> topic field.
_EVENT_TYPE_TOPICS = {
    "login": "topic_logins",
    "page_view": "topic_page_views",
    "order": "topic_orders",
    "complaint": "topic_complaints",
    "market_event": "topic_market_events",
}
_TOPIC_FIELDS = {
    **_EVENT_TYPE_TOPICS,
    "clock_tick": "topic_clock_ticks",
    "warning": "topic_warnings",
    "dead_letter": "topic_dead_letters",
}

_SASL_FIELDS = ("sasl_mechanism", "sasl_username", "sasl_password", "sasl_password_file")
_SSL_FIELDS = ("ssl_cafile", "ssl_certfile", "ssl_keyfile")

_INVALID = object()


def env_name(field_name: str) -> str:
    """The environment variable of a settings field.

    Example:
        >>> env_name("lateness_seconds")
        'CHURNWATCH_LATENESS_SECONDS'
    """
    return ENV_PREFIX + field_name.upper()


def _declared_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(Settings) if "kind" in f.metadata]


def _message(f: dataclasses.Field, value: Any) -> str:
    kind: _Kind = f.metadata["kind"]
    if kind.secret:
        return f"{env_name(f.name)} has a value Churnwatch cannot use: expected {kind.expect}"
    shown = repr(value) if isinstance(value, str) else repr(str(value)) if isinstance(value, Path) else value
    example = kind.example if kind.example is not None else kind.render(f.default)
    return f"{env_name(f.name)}={shown}: expected {kind.expect}, e.g. {example}"


def reference() -> list[tuple[str, str, str]]:
    """``(variable, default, meaning)`` for every setting, for documentation and ``--help``.

    Example:
        >>> [row for row in reference() if row[0] == "CHURNWATCH_PARTITIONS"][0][1]
        '4'
    """
    return [
        (env_name(f.name), f.metadata["kind"].render(f.default), f.metadata["doc"]) for f in _declared_fields()
    ]
