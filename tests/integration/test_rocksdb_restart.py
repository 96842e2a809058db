"""A worker with the RocksDB store keeps its state on disk across a restart.

The worker runs as a StatefulSet pod would (deploy/k8s/): RocksDB under its data dir and a
static group instance id, restarted on the same data dir with the same id.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

pytestmark = pytest.mark.integration

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


def z(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def weekly_logins(cid: str, weeks: int) -> list[dict]:
    return [{"type": "login", "event_id": f"{cid}-l{w}", "customer_id": cid,
             "occurred_at": z(T0 + timedelta(days=7 * w)), "channel": "web"} for w in range(weeks)]


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def metric(settings, name: str) -> float:
    """Sum of a metric's samples on the worker's Prometheus endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.metrics_port}/metrics", timeout=5) as page:
        text = page.read().decode()
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def snapshot(run_cli, settings, tmp_path, name) -> dict[str, dict]:
    out = tmp_path / name
    done = run_cli(settings, "snapshot", "--out", str(out), "--timeout", "60", timeout=90)
    assert done.returncode == 0, done.stderr
    return {row["customer_id"]: row for row in map(json.loads, out.read_text().splitlines())}


def test_rocksdb_worker_restarted_on_its_data_dir_keeps_state_and_applies_new_events_once(
        settings_factory, start_worker, run_cli, tmp_path):
    from streams.broker import free_port

    settings = settings_factory(store="rocksdb://", group_instance_id="churnwatch-0", metrics_port=free_port())
    customers = ["keep-1", "keep-2", "keep-3", "keep-4"]
    worker = start_worker(settings, "worker-rocksdb.log")
    rows = [row for cid in customers for row in weekly_logins(cid, 10)]
    assert run_cli(settings, "replay", write_jsonl(tmp_path / "a.jsonl", rows)).returncode == 0
    before = snapshot(run_cli, settings, tmp_path, "before.jsonl")
    assert {cid: before[cid]["events_applied"] for cid in customers} == dict.fromkeys(customers, 10)
    assert worker.stop(timeout=30) == 0, worker.log_tail()
    # Under a directory of the app id: another app id on the same data dir starts empty.
    on_disk = sorted(p.name for p in (settings.data_dir / "v1" / settings.app_id).glob("customers-*.db"))
    assert on_disk == ["customers-0.db", "customers-1.db"], f"RocksDB files under {settings.data_dir}: {on_disk}"
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["v1"], "nothing beside Faust's own directory"

    again = start_worker(settings, "worker-rocksdb-again.log")
    again.wait_for_log("Worker ready", timeout=60)
    # The tables came from disk: the changelog offsets RocksDB kept are already at the end, so
    # Faust reads nothing back (a memory store logs this line and re-reads every changelog).
    assert "Restoring state from changelog topics" not in again.log_text(), again.log_tail(60)
    unchanged = snapshot(run_cli, settings, tmp_path, "unchanged.jsonl")
    assert {cid: (row["events_applied"], row["last_active_at"]) for cid, row in unchanged.items()} == \
        {cid: (row["events_applied"], row["last_active_at"]) for cid, row in before.items()}
    # Before any new event, the metrics count the recovered customers and carry the recovered
    # event time (a dashboard's "customers" and "event time behind" after a restart).
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and metric(settings, "churnwatch_customers_tracked") != len(customers):
        time.sleep(1)
    assert metric(settings, "churnwatch_customers_tracked") == len(customers)
    assert metric(settings, "churnwatch_customers") == len(customers)
    assert metric(settings, "churnwatch_stream_time_seconds") >= (T0 + timedelta(days=63)).timestamp()

    # A re-sent event (as after a crash) changes nothing; a new one counts once.
    more = [row for cid in customers for row in weekly_logins(cid, 11)[-2:]]
    assert run_cli(settings, "replay", write_jsonl(tmp_path / "b.jsonl", more)).returncode == 0
    after = snapshot(run_cli, settings, tmp_path, "after.jsonl")
    assert {cid: after[cid]["events_applied"] for cid in customers} == dict.fromkeys(customers, 11)
    assert {after[cid]["last_active_at"] for cid in customers} == {z(T0 + timedelta(days=70))}
