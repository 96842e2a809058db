"""What a worker exposes with default settings: loopback only, no table contents over HTTP.

The web endpoint `/` is also what the container health check and the Kubernetes probes call
(deploy/Dockerfile, deploy/k8s/statefulset.yaml), so it must answer once the worker is up.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from streams.app import create_app
from streams.broker import free_port
from streams.settings import Settings


def listening_addresses(port: int) -> set[str]:
    """IPv4/IPv6 addresses with a TCP socket listening on ``port`` (from /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            if len(raw) == 4:
                found.add(".".join(str(b) for b in reversed(raw)))
            else:  # four little-endian 32-bit words
                words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
                found.add(":".join(b"".join(words)[i:i + 2].hex() for i in range(0, 16, 2)))
    return found


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.integration
def test_worker_with_default_settings_listens_on_loopback_and_serves_no_table_contents(
        settings_factory, start_worker):
    settings = settings_factory(metrics_port=free_port())
    assert (settings.web_host, settings.metrics_host) == ("127.0.0.1", "127.0.0.1"), "defaults under test"
    worker = start_worker(settings)
    worker.wait_for_log("Worker ready", timeout=60)

    assert listening_addresses(settings.web_port) == {"127.0.0.1"}
    assert listening_addresses(settings.metrics_port) == {"127.0.0.1"}
    status, body = http_get(f"http://127.0.0.1:{settings.web_port}/")
    assert (status, json.loads(body)) == (200, {"status": "OK"}), "the health-check endpoint answers"
    for path in ("/table/", "/table/customers/", "/table/customers/keep-1/"):
        status, body = http_get(f"http://127.0.0.1:{settings.web_port}{path}")
        assert status == 404, f"{path} answered {status}: {body[:200]!r}"


def test_table_contents_are_served_only_when_serve_tables_is_set():
    assert create_app(Settings()).app.conf.web_tables_enabled is False
    assert create_app(Settings.from_env({"CHURNWATCH_SERVE_TABLES": "true"})).app.conf.web_tables_enabled is True


@pytest.mark.integration
def test_with_a_pseudonymisation_key_warnings_carry_keyed_hashes_and_still_verify(
        settings_factory, start_worker, run_cli, tmp_path):
    import orjson

    from streams.privacy import Pseudonymiser
    from streams.settings import Secret
    from tests.integration.conftest import read_topic
    from tests.integration.test_signals_e2e import END, T0, scenario, z
    from datetime import timedelta

    key = Secret("pseudonym-key-for-the-test")
    settings = settings_factory(pseudonymise_key=key)
    start_worker(settings)
    rows = [r for r in scenario() if r.get("customer_id") in ("silent", "steady")]
    path = tmp_path / "scenario.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = run_cli(settings, "replay", str(path), "--advance-to", z(T0 + timedelta(days=END + 1)))
    assert done.returncode == 0, done.stderr

    records = read_topic(settings, settings.warnings_topic, min_count=1, idle=3.0)
    assert records, "the silent customer is warned"
    silent = Pseudonymiser(key).customer("silent")
    for record in records:
        warning = orjson.loads(record.value)
        assert warning["customer_id"] == silent, "only the silent customer, and only as its pseudonym"
        assert record.key == silent.encode()
        assert b"silent" not in record.value

    verified = run_cli(settings, "verify", "--json", "--timeout", "120", timeout=240)
    report = json.loads(verified.stdout)
    assert verified.returncode == 0, json.dumps(report, indent=1)[:4000]
    assert not report["warnings"]["disagree_with_states"], "the verifier maps pseudonyms back with the key"
