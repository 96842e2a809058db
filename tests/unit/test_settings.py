"""Settings: what an operator sees when they configure Churnwatch through CHURNWATCH_*."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from schemas.errors import ChurnwatchError
from streams.settings import Settings, SettingsError, env_name, reference


def test_no_variables_gives_the_documented_defaults():
    s = Settings.from_env({})
    assert s.broker == "127.0.0.1:9092"
    assert s.app_id == "churnwatch"
    assert s.partitions == 4
    assert s.market_partitions == 1
    assert s.max_event_bytes == 65536
    assert s.lateness_seconds == 86400
    assert s.sweep_interval_seconds == 21600
    assert s.live_ticks is False
    assert s.store == "memory://"
    assert (s.web_host, s.web_port, s.metrics_host, s.metrics_port) == ("127.0.0.1", 6066, "127.0.0.1", 9108)
    assert s.producer_max_batch_size == 16384
    assert s.log_level == "info"
    assert s.customer_topics == ("logins", "page-views", "orders", "complaints")
    assert (s.clock_ticks_topic, s.warnings_topic, s.dead_letters_topic) == (
        "clock-ticks",
        "churn-warnings",
        "churn-dead-letters",
    )


def test_variables_override_defaults_with_typed_values():
    s = Settings.from_env(
        {
            "CHURNWATCH_BROKER": "kafka-1:9092, kafka-2:9093",
            "CHURNWATCH_PARTITIONS": "12",
            "CHURNWATCH_PRODUCER_LINGER_SECONDS": "0.05",
            "CHURNWATCH_STORE": "rocksdb://",
            "CHURNWATCH_DATA_DIR": "/var/lib/churnwatch",
            "CHURNWATCH_LOG_LEVEL": "DEBUG",
            "CHURNWATCH_METRICS_PORT": "0",
        }
    )
    assert s.bootstrap_servers == ["kafka-1:9092", "kafka-2:9093"]
    assert s.partitions == 12
    assert s.producer_linger_seconds == 0.05
    assert s.store == "rocksdb://"
    assert s.data_dir == Path("/var/lib/churnwatch")
    assert s.log_level == "debug"
    assert s.metrics_port == 0


@pytest.mark.parametrize(
    "text, expected",
    [("true", True), ("1", True), ("YES", True), ("false", False), ("0", False), ("no", False)],
)
def test_flags_accept_true_false_one_zero_yes_no(text, expected):
    assert Settings.from_env({"CHURNWATCH_LIVE_TICKS": text}).live_ticks is expected


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("CHURNWATCH_PARTITIONS", "two", "CHURNWATCH_PARTITIONS='two': expected a whole number >= 1, e.g. 4"),
        ("CHURNWATCH_PARTITIONS", "0", "CHURNWATCH_PARTITIONS='0': expected a whole number >= 1, e.g. 4"),
        ("CHURNWATCH_PARTITIONS", "2.5", "CHURNWATCH_PARTITIONS='2.5': expected a whole number >= 1, e.g. 4"),
        ("CHURNWATCH_LATENESS_SECONDS", "-1", "CHURNWATCH_LATENESS_SECONDS='-1': expected a whole number >= 0"),
        ("CHURNWATCH_LIVE_TICKS", "maybe", "CHURNWATCH_LIVE_TICKS='maybe': expected true or false"),
        ("CHURNWATCH_WEB_PORT", "70000", "expected a whole number from 1 to 65535, e.g. 6066"),
        ("CHURNWATCH_BROKER", "localhost", "CHURNWATCH_BROKER='localhost': expected a comma-separated list"),
        ("CHURNWATCH_BROKER", "a:1,,b:2", "CHURNWATCH_BROKER='a:1,,b:2'"),
        ("CHURNWATCH_SESSION_TIMEOUT_SECONDS", "nan", "expected a number of seconds > 0"),
        ("CHURNWATCH_PRODUCER_LINGER_SECONDS", "-0.1", "expected a number of seconds >= 0"),
        ("CHURNWATCH_TOPIC_LOGINS", "my logins", "CHURNWATCH_TOPIC_LOGINS='my logins': expected letters"),
        ("CHURNWATCH_TOPIC_PREFIX", "a/b-", "CHURNWATCH_TOPIC_PREFIX='a/b-': expected empty or letters"),
        ("CHURNWATCH_STORE", "redis://", "expected one of memory://, rocksdb://"),
        ("CHURNWATCH_LOG_LEVEL", "loud", "expected one of debug, info, warning, error, critical"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_was_expected(variable, value, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert message in str(caught.value)


def test_every_bad_value_is_reported_at_once():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CHURNWATCH_PARTITIONS": "x", "CHURNWATCH_WEB_PORT": "y"})
    assert "CHURNWATCH_PARTITIONS='x'" in str(caught.value)
    assert "CHURNWATCH_WEB_PORT='y'" in str(caught.value)


def test_settings_errors_are_churnwatch_errors_so_the_cli_reports_them_in_one_line():
    with pytest.raises(ChurnwatchError) as caught:
        Settings.from_env({"CHURNWATCH_PARTITIONS": "x", "CHURNWATCH_WEB_PORT": "y"})
    assert "\n" not in str(caught.value)


def test_heartbeat_must_be_shorter_than_the_session_timeout():
    with pytest.raises(SettingsError, match="CHURNWATCH_HEARTBEAT_INTERVAL_SECONDS=10: expected less than"):
        Settings.from_env({"CHURNWATCH_SESSION_TIMEOUT_SECONDS": "10", "CHURNWATCH_HEARTBEAT_INTERVAL_SECONDS": "10"})


def test_metrics_and_web_server_cannot_share_a_port():
    with pytest.raises(SettingsError, match="CHURNWATCH_METRICS_PORT=6066"):
        Settings.from_env({"CHURNWATCH_METRICS_PORT": "6066"})
    assert Settings.from_env({"CHURNWATCH_METRICS_PORT": "6066", "CHURNWATCH_METRICS_HOST": "0.0.0.0"})


def test_two_topics_with_the_same_name_are_refused():
    with pytest.raises(SettingsError, match="orders is used twice"):
        Settings.from_env({"CHURNWATCH_TOPIC_COMPLAINTS": "orders"})


def test_topic_prefix_applies_to_every_topic_but_not_to_the_app_id():
    s = Settings.from_env({"CHURNWATCH_TOPIC_PREFIX": "run7-"})
    assert s.customer_topics == ("run7-logins", "run7-page-views", "run7-orders", "run7-complaints")
    assert s.market_events_topic == "run7-market-events"
    assert s.clock_ticks_topic == "run7-clock-ticks"
    assert s.warnings_topic == "run7-churn-warnings"
    assert s.dead_letters_topic == "run7-churn-dead-letters"
    assert s.app_id == "churnwatch"


@pytest.mark.parametrize(
    "event_type, topic",
    [
        ("login", "logins"),
        ("page_view", "page-views"),
        ("order", "orders"),
        ("complaint", "complaints"),
        ("market_event", "market-events"),
    ],
)
def test_each_replay_event_type_maps_to_its_configured_topic(event_type, topic):
    assert Settings().topic_for_event_type(event_type) == topic


def test_an_unknown_event_type_has_no_topic():
    with pytest.raises(SettingsError, match="no topic for event type 'purchase'"):
        Settings().topic_for_event_type("purchase")


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().partitions = 8  # type: ignore[misc]


def test_overrides_are_validated_like_the_environment():
    s = Settings().with_overrides(partitions=2, producer_max_batch_size=1)
    assert (s.partitions, s.producer_max_batch_size) == (2, 1)
    with pytest.raises(SettingsError, match="CHURNWATCH_PRODUCER_MAX_BATCH_SIZE=0"):
        Settings().with_overrides(producer_max_batch_size=0)
    with pytest.raises(SettingsError, match="CHURNWATCH_LIVE_TICKS='yes'"):
        Settings(live_ticks="yes")  # type: ignore[arg-type]


def test_settings_survive_the_trip_through_environment_variables_to_another_process():
    original = Settings(
        broker="k1:1,k2:2",
        topic_prefix="t-",
        partitions=3,
        producer_linger_seconds=0.005,
        session_timeout_seconds=7.5,
        live_ticks=True,
        data_dir=Path("/tmp/cw"),
        store="rocksdb://",
    )
    assert Settings.from_env(original.to_env()) == original


def test_every_setting_is_documented_with_its_default():
    rows = reference()
    names = {name for name, _, _ in rows}
    assert env_name("partitions") in names and env_name("producer_max_batch_size") in names
    assert "CHURNWATCH_DETECTORS" not in names
    for name, default, doc in rows:
        assert name.startswith("CHURNWATCH_") and doc, name
