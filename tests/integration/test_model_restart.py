"""The online model survives a worker restart mid-replay: its checkpoint comes back from the
`models` changelog and learning carries on from it, not from an empty model."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from detectors.features import FEATURE_NAMES
from streams.broker import changelog_topic_names
from streams.snapshot import read_changelog, read_models

pytestmark = pytest.mark.integration

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)   # a Monday
WEEKS = 6
# Event time after the first part: the snapshots of the first 45 quiet days have resolved as
# churned by the sweep (which runs a lateness allowance, one day, behind). Quiet customers'
# later snapshots sit on Thursdays 00:00 (weekly slot boundaries) and resolve on Wednesdays
# 00:00: ending the first part on a Thursday 09:00 leaves none to resolve as churned before
# the second part, an hour later.
FIRST_PART_END = T0 + timedelta(days=7 * (WEEKS - 1) + 101)
X = {name: 0.5 for name in FEATURE_NAMES}


def z(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def login(cid: str, n: int, at: datetime) -> dict:
    return {"type": "login", "event_id": f"{cid}-l{n}", "customer_id": cid, "occurred_at": z(at), "channel": "web"}


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def replay(run_cli, settings, path, advance_to: datetime) -> None:
    done = run_cli(settings, "replay", path, "--advance-to", z(advance_to), timeout=60)
    assert done.returncode == 0, done.stderr


def models_now(run_cli, settings, tmp_path, name):
    """Wait until the workers processed everything (the snapshot waits), then read the checkpoints."""
    out = tmp_path / name
    done = run_cli(settings, "snapshot", "--out", str(out), "--timeout", "60", timeout=90)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all("model_score" in row and "rule_score" in row for row in rows)
    return read_models(read_changelog(settings, changelog_topic_names(settings)[2]))


def test_a_restarted_worker_keeps_its_model_and_learns_on_from_it(settings_factory, start_worker, run_cli, tmp_path):
    settings = settings_factory()
    customers = [f"cust-{i}" for i in range(8)]
    first = [login(cid, w, T0 + timedelta(days=7 * w, hours=i)) for w in range(WEEKS) for i, cid in enumerate(customers)]
    worker = start_worker(settings, "worker-1.log")
    replay(run_cli, settings, write_jsonl(tmp_path / "first.jsonl", first), FIRST_PART_END)
    before = models_now(run_cli, settings, tmp_path, "before.jsonl")
    assert before, worker.log_tail()
    assert sum(m.labels_seen for m in before.values()) >= 8 * (WEEKS - 1)
    assert all(m.positives > 0 for m in before.values()), "quiet customers gave churn labels"
    predictions = {p: m.predict(X) for p, m in before.items()}

    assert worker.stop(timeout=30) == 0, worker.log_tail()
    again = start_worker(settings, "worker-2.log")
    again.wait_for_log("Worker ready", timeout=60)

    # Half the customers come back: every label this gives is "stayed" (0).
    back_at = FIRST_PART_END + timedelta(minutes=30)
    second = [login(cid, WEEKS, back_at + timedelta(minutes=i)) for i, cid in enumerate(customers[::2])]
    replay(run_cli, settings, write_jsonl(tmp_path / "second.jsonl", second), back_at + timedelta(hours=1))
    after = models_now(run_cli, settings, tmp_path, "after.jsonl")

    # The restarted worker learned on top of the restored checkpoint: a fresh model would know
    # no churned customer (the second part only brings returns), and fewer labels than before.
    assert set(after) == set(before)
    for p, model in after.items():
        assert model.positives == before[p].positives, again.log_tail()
        assert model.labels_seen >= before[p].labels_seen
    assert sum(m.labels_seen for m in after.values()) > sum(m.labels_seen for m in before.values())
    changed = [p for p in after if after[p].labels_seen > before[p].labels_seen]
    assert all(after[p].predict(X) != predictions[p] for p in changed)
    # A partition that learned nothing new scores the fixed input exactly as before the stop.
    unchanged = [p for p in after if after[p].labels_seen == before[p].labels_seen]
    assert all(after[p].predict(X) == predictions[p] for p in unchanged)
