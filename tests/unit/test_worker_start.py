"""`churnwatch worker` that cannot start says why in one line, naming the setting to change."""

import socket

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.kafka_clients import KafkaUnavailable
from streams.settings import Settings
from streams.worker import WorkerStartError, preflight


def _listener() -> tuple[socket.socket, int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s, s.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_taken_web_port_names_its_setting():
    taken, port = _listener()
    with taken, pytest.raises(WorkerStartError, match=f"127.0.0.1:{port}.*CHURNWATCH_WEB_PORT"):
        preflight(Settings(web_port=port, metrics_port=0, broker="127.0.0.1:1"))


def test_a_taken_metrics_port_names_its_setting():
    taken, port = _listener()
    with taken, pytest.raises(WorkerStartError, match=f"metrics on 127.0.0.1:{port}.*CHURNWATCH_METRICS_PORT"):
        preflight(Settings(web_port=_free_port(), metrics_port=port, broker="127.0.0.1:1"))


def test_an_unreachable_broker_is_one_line_not_a_traceback():
    settings = Settings(web_port=_free_port(), metrics_port=0, broker="127.0.0.1:1", client_timeout_seconds=1)
    with pytest.raises(KafkaUnavailable, match="cannot reach the Kafka broker at 127.0.0.1:1"):
        preflight(settings)
    out = CliRunner().invoke(main, ["worker", "--broker", "127.0.0.1:1"],
                             env={"CHURNWATCH_WEB_PORT": str(_free_port()), "CHURNWATCH_METRICS_PORT": "0",
                                  "CHURNWATCH_CLIENT_TIMEOUT_SECONDS": "1"})
    assert out.exit_code == 1
    assert out.output.startswith("Error: cannot reach the Kafka broker") and "Traceback" not in out.output
