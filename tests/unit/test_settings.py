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


# --- the production profile and Kafka security -------------------------------------------------

PRODUCTION = {
    "CHURNWATCH_PROFILE": "production",
    "CHURNWATCH_SECURITY_PROTOCOL": "SASL_SSL",
    "CHURNWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
    "CHURNWATCH_SASL_USERNAME": "churnwatch",
    "CHURNWATCH_SASL_PASSWORD_FILE": "/etc/churnwatch/kafka/password",
    "CHURNWATCH_SSL_CAFILE": "/etc/churnwatch/kafka/ca.crt",
}


def test_the_default_profile_is_dev_on_plaintext_with_no_credentials():
    s = Settings.from_env({})
    assert (s.profile, s.security_protocol, s.sasl_mechanism, s.sasl_username) == ("dev", "PLAINTEXT", "", "")
    assert not s.sasl_password and s.sasl_password_file is None
    assert (s.ssl_cafile, s.ssl_certfile, s.ssl_keyfile) == (None, None, None)


def test_production_profile_with_sasl_ssl_credentials_is_accepted_and_defaults_to_rocksdb():
    s = Settings.from_env(PRODUCTION)
    assert (s.profile, s.security_protocol, s.sasl_mechanism) == ("production", "SASL_SSL", "SCRAM-SHA-512")
    assert s.sasl_password_file == Path("/etc/churnwatch/kafka/password")
    assert s.store == "rocksdb://"


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL", "SASL_PLAINTEXT"])
def test_production_profile_refuses_every_protocol_but_sasl_ssl_and_says_what_it_expected(protocol):
    env = {**PRODUCTION, "CHURNWATCH_SECURITY_PROTOCOL": protocol}
    if protocol == "SSL":
        env = {k: v for k, v in env.items() if "SASL" not in k or k == "CHURNWATCH_SECURITY_PROTOCOL"}
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert (f"CHURNWATCH_SECURITY_PROTOCOL={protocol}: expected SASL_SSL with CHURNWATCH_PROFILE=production"
            in str(caught.value))


def test_production_profile_alone_is_refused_because_the_default_protocol_is_plaintext():
    with pytest.raises(SettingsError, match="CHURNWATCH_SECURITY_PROTOCOL=PLAINTEXT: expected SASL_SSL"):
        Settings.from_env({"CHURNWATCH_PROFILE": "production"})


def test_production_profile_refuses_the_memory_store_when_it_is_asked_for():
    with pytest.raises(SettingsError, match="CHURNWATCH_STORE='memory://': expected rocksdb:// with "
                                            "CHURNWATCH_PROFILE=production"):
        Settings.from_env({**PRODUCTION, "CHURNWATCH_STORE": "memory://"})


def test_dev_profile_allows_plaintext_and_sasl_without_tls():
    assert Settings.from_env({"CHURNWATCH_SECURITY_PROTOCOL": "plaintext"}).security_protocol == "PLAINTEXT"
    s = Settings.from_env({**PRODUCTION, "CHURNWATCH_PROFILE": "dev", "CHURNWATCH_SECURITY_PROTOCOL": "sasl_plaintext",
                           "CHURNWATCH_SSL_CAFILE": ""})
    assert (s.security_protocol, s.store) == ("SASL_PLAINTEXT", "memory://")


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "scram-sha-512"])
def test_sasl_mechanisms_plain_and_scram_are_accepted_in_any_case(mechanism):
    assert Settings.from_env({**PRODUCTION, "CHURNWATCH_SASL_MECHANISM": mechanism}).sasl_mechanism == mechanism.upper()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"CHURNWATCH_SASL_MECHANISM": "GSSAPI"},
         "CHURNWATCH_SASL_MECHANISM='GSSAPI': expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, e.g. SCRAM-SHA-512"),
        ({"CHURNWATCH_SASL_MECHANISM": ""},
         "CHURNWATCH_SASL_MECHANISM is empty: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with "
         "CHURNWATCH_SECURITY_PROTOCOL=SASL_SSL"),
        ({"CHURNWATCH_SASL_USERNAME": ""},
         "CHURNWATCH_SASL_USERNAME is empty: expected the SASL user name with CHURNWATCH_SECURITY_PROTOCOL=SASL_SSL"),
        ({"CHURNWATCH_SASL_PASSWORD_FILE": ""},
         "CHURNWATCH_SASL_PASSWORD and CHURNWATCH_SASL_PASSWORD_FILE are both empty: expected one of them"),
        ({"CHURNWATCH_SASL_PASSWORD": "pw"},
         "CHURNWATCH_SASL_PASSWORD and CHURNWATCH_SASL_PASSWORD_FILE are both set: expected only one of them"),
        ({"CHURNWATCH_SECURITY_PROTOCOL": "TLS"},
         "CHURNWATCH_SECURITY_PROTOCOL='TLS': expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, e.g. SASL_SSL"),
        ({"CHURNWATCH_PROFILE": "prod"}, "CHURNWATCH_PROFILE='prod': expected one of dev, production, e.g. dev"),
        ({"CHURNWATCH_SSL_KEYFILE": "/k.pem"},
         "CHURNWATCH_SSL_KEYFILE is set without CHURNWATCH_SSL_CERTFILE: expected both"),
    ],
)
def test_incomplete_or_wrong_sasl_settings_name_the_variable_and_what_was_expected(changes, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**PRODUCTION, **changes})
    assert message in str(caught.value)


def test_credentials_set_without_a_protocol_that_uses_them_are_refused_instead_of_ignored():
    # A forgotten CHURNWATCH_SECURITY_PROTOCOL would otherwise connect unauthenticated.
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CHURNWATCH_SASL_USERNAME": "cw", "CHURNWATCH_SASL_PASSWORD": "pw",
                           "CHURNWATCH_SSL_CAFILE": "/ca.pem"})
    text = str(caught.value)
    assert ("CHURNWATCH_SASL_USERNAME, CHURNWATCH_SASL_PASSWORD set, but CHURNWATCH_SECURITY_PROTOCOL=PLAINTEXT "
            "does not log in with SASL") in text
    assert "CHURNWATCH_SSL_CAFILE set, but CHURNWATCH_SECURITY_PROTOCOL=PLAINTEXT does not use TLS" in text


PASSWORD = "Zq-7never-print-me-41"


def test_the_password_never_appears_in_reprs_errors_or_the_printable_settings():
    s = Settings.from_env({**PRODUCTION, "CHURNWATCH_SASL_PASSWORD_FILE": "", "CHURNWATCH_SASL_PASSWORD": PASSWORD})
    assert s.sasl_password.reveal() == PASSWORD
    assert PASSWORD not in repr(s) and PASSWORD not in str(s)
    assert "sasl_password=Secret('***')" in repr(s)
    assert s.shown_env()["CHURNWATCH_SASL_PASSWORD"] == "***"
    assert PASSWORD not in repr(s.shown_env())
    errors = []
    for env in (
        {**PRODUCTION, "CHURNWATCH_SASL_PASSWORD": PASSWORD},  # both password sources
        {"CHURNWATCH_SASL_PASSWORD": PASSWORD},  # a password without SASL
        {"CHURNWATCH_PROFILE": "production", "CHURNWATCH_SASL_PASSWORD": PASSWORD},
    ):
        with pytest.raises(SettingsError) as caught:
            Settings.from_env(env)
        errors.append(str(caught.value))
    with pytest.raises(SettingsError) as caught:
        s.with_overrides(sasl_password=PASSWORD)  # a str where a Secret belongs
    errors.append(str(caught.value))
    assert "CHURNWATCH_SASL_PASSWORD has a value Churnwatch cannot use" in errors[-1]
    assert all(PASSWORD not in error for error in errors), errors


def test_a_password_survives_the_trip_to_another_process_but_only_through_to_env():
    s = Settings.from_env({**PRODUCTION, "CHURNWATCH_SASL_PASSWORD_FILE": "", "CHURNWATCH_SASL_PASSWORD": PASSWORD})
    assert s.to_env()["CHURNWATCH_SASL_PASSWORD"] == PASSWORD
    assert Settings.from_env(s.to_env()) == s
    assert Settings.from_env(PRODUCTION).to_env()["CHURNWATCH_SASL_PASSWORD"] == ""
