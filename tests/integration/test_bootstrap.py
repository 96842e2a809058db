"""`churnwatch bootstrap`: a worker started on bootstrapped state carries on as if it had streamed the history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from streams.broker import changelog_topic_names
from streams.settings import Settings
from streams.simulate import write_simulation
from streams.snapshot import read_models
from tests.integration.conftest import read_topic

pytestmark = pytest.mark.integration

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
DAYS = 180  # the shortest period the default persona mix (with churners) allows
COMPARED = ("events_applied", "last_active_at", "segment", "level")


def z(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def snapshot(run_cli, settings, path) -> dict[str, dict]:
    done = run_cli(settings, "snapshot", "--out", str(path), "--timeout", "240", timeout=300)
    assert done.returncode == 0, done.stderr
    return {row["customer_id"]: row for row in map(json.loads, path.read_text().splitlines())}


def test_bootstrapped_worker_continues_with_the_state_a_streamed_replay_builds(
        settings_factory, start_worker, run_cli, tmp_path):
    history = tmp_path / "history.jsonl"
    stats = write_simulation(history, tmp_path / "truth.csv", 60, START, DAYS, seed=5)
    end = datetime.fromisoformat(stats.last_at.replace("Z", "+00:00"))
    customers = sorted({r["customer_id"] for r in map(json.loads, history.read_text().splitlines())
                        if "customer_id" in r})
    # After the history: one more login per customer, then event time moves on. Every
    # customer's count can only come out right if the worker recovered their state.
    newer = tmp_path / "newer.jsonl"
    newer.write_text("".join(json.dumps({"type": "login", "event_id": f"after-{cid}", "customer_id": cid,
                                         "occurred_at": z(end + timedelta(hours=1)), "channel": "web"}) + "\n"
                             for cid in customers))
    later = z(end + timedelta(hours=2))

    streamed, booted = settings_factory(), settings_factory()
    start_worker(streamed, "streamed.log")
    assert run_cli(streamed, "replay", str(history), "--advance-to", z(end)).returncode == 0

    # The history is on the bootstrapped side's topics too; --commit-offsets keeps its worker
    # from reading it again.
    assert run_cli(booted, "replay", str(history), "--advance-to", z(end)).returncode == 0
    # In two processes (one partition each): the state must still be what one worker streams.
    # --warnings all: the history's warnings on the topic, as the streamed worker publishes them.
    done = run_cli(booted, "bootstrap", str(history), "--advance-to", z(end), "--commit-offsets", "--processes", "2",
                   "--warnings", "all", timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"bootstrapped {len(customers)} customers" in done.stdout
    assert "warning steps (all; levels >= warning)" in done.stdout

    a = snapshot(run_cli, streamed, tmp_path / "streamed.jsonl")
    b = snapshot(run_cli, booted, tmp_path / "bootstrapped.jsonl")
    assert sorted(a) == sorted(b) == customers
    assert _differences(a, b) == {}
    assert _kinds(a) == _kinds(b)
    assert any("competitor_pressure" in kinds for kinds in _kinds(a).values()), \
        "the history's market events weigh on customers at its end: the market is compared"

    # A history that is not on the input topics: the bootstrap publishes its market events to
    # the market topic, which every worker reads from its start, so the workers judge the
    # customers with the same promotions as a worker that streamed the history.
    fresh = settings_factory()
    done = run_cli(fresh, "bootstrap", str(history), "--advance-to", z(end), timeout=300)
    assert done.returncode == 0, done.stderr
    markets = sum(1 for line in history.read_text().splitlines() if '"market_event"' in line)
    assert f"published the history's {markets} market events" in done.stdout
    start_worker(fresh, "fresh.log")
    c = snapshot(run_cli, fresh, tmp_path / "fresh.jsonl")
    assert _differences(a, c) == {} and _kinds(a) == _kinds(c)
    assert any(row["level"] != "none" for row in a.values()), "the history raises warnings: levels are compared"
    # A consumer of the warnings topic reads the same steps either way: same partitions, keys,
    # ids, order and evidence; only `emitted_at` (wall time) and the risk score's model share
    # (the models agree closely, see below) may differ.
    streamed_steps = _warning_steps(streamed)
    assert len(streamed_steps) >= 3, "the history publishes warnings: they are compared"
    assert _same_steps(_warning_steps(booted), streamed_steps)
    # The models changelog: each partition's population fit, as the streamed worker made it,
    # and its online model, trained on the same labels. The model's weights agree closely, not
    # bit for bit: a worker's sweeps judge at event times that depend on when its topics were
    # read, and a feature snapshot taken a little later differs a little (silence has grown).
    booted_models, streamed_models = _latest(booted, 2), _latest(streamed, 2)
    assert sorted(booted_models) == sorted(streamed_models) == [(0, b"0"), (0, b"prior/0"), (1, b"1"), (1, b"prior/1")]
    for p in (0, 1):
        assert booted_models[(p, f"prior/{p}".encode())] == streamed_models[(p, f"prior/{p}".encode())]
        key = str(p).encode()
        mb, ms = (read_models({key: m[(p, key)]})[p] for m in (booted_models, streamed_models))
        assert (mb.labels_seen, mb.positives) == (ms.labels_seen, ms.positives) and mb.labels_seen > 100
        wb, ws = (dict(m.pipeline["LogisticRegression"].weights) for m in (mb, ms))
        assert set(wb) == set(ws) and max(abs(wb[f] - ws[f]) for f in wb) < 0.02, (wb, ws)

    # The clock records have the streamed worker's keys and encoding. Their values are the
    # stream times at the worker's last persisting sweep, which depends on when its topics
    # were read; the partition watermarks agree to within one sweep interval.
    booted_clocks, streamed_clocks = _latest_clocks(booted), _latest_clocks(streamed)
    assert set(booted_clocks) == set(streamed_clocks)
    for key in booted_clocks:
        if b"/" not in key[1]:
            gap = abs(int(booted_clocks[key]) - int(streamed_clocks[key]))
            assert gap <= streamed.sweep_interval_seconds, (key, booted_clocks[key], streamed_clocks[key])

    start_worker(booted, "booted.log")
    for settings in (streamed, booted):
        assert run_cli(settings, "replay", str(newer), "--advance-to", later).returncode == 0
    a2 = snapshot(run_cli, streamed, tmp_path / "streamed-2.jsonl")
    b2 = snapshot(run_cli, booted, tmp_path / "bootstrapped-2.jsonl")
    assert all(b2[c]["events_applied"] == b[c]["events_applied"] + 1 for c in customers), \
        "the worker applied the new login on top of the bootstrapped state of every customer"
    assert _differences(a2, b2) == {}
    assert read_topic(booted, booted.dead_letters_topic, idle=1.0) == [], "the history was not read again"
    # ... and after the newer events too: the bootstrapped worker did not publish the history's
    # warnings again, and carried each open episode on as the streamed one did.
    assert _same_steps(_warning_steps(booted), _warning_steps(streamed))

    again = run_cli(booted, "bootstrap", str(history))
    assert again.returncode == 1 and "customers-changelog holds" in again.stderr, "state newer than the file is kept"


def _warning_steps(settings: Settings) -> list[tuple[int, bytes, dict]]:
    """(partition, key, warning) of every record of the warnings topic, in partition and offset order."""
    return [(r.partition, r.key, orjson.loads(r.value)) for r in read_topic(settings, settings.warnings_topic, idle=1.0)]


def _same_steps(got: list[tuple[int, bytes, dict]], want: list[tuple[int, bytes, dict]]) -> bool:
    def bare(steps):
        return [(p, k, {f: v for f, v in w.items() if f not in ("emitted_at", "risk_score")}) for p, k, w in steps]
    assert bare(got) == bare(want)
    assert all(abs(g[2]["risk_score"] - w[2]["risk_score"]) < 0.05 for g, w in zip(got, want))
    return True


def _kinds(rows: dict[str, dict]) -> dict[str, list[str]]:
    """Each customer's signal kinds in the snapshot, and the first suggested action."""
    return {cid: sorted(s["kind"] for s in row["signals"]) + [a["action"] for a in row["suggested_actions"][:1]]
            for cid, row in rows.items()}


def _differences(a: dict[str, dict], b: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for cid in a:
        diff = {f: (a[cid][f], b[cid][f]) for f in COMPARED if a[cid][f] != b[cid][f]}
        if diff:
            out[cid] = diff
    return out


def _latest(settings: Settings, table: int) -> dict[tuple[int, bytes], bytes]:
    """Latest record per (partition, key) of a table's changelog (0 customers, 1 clocks, 2 models)."""
    records = read_topic(settings, changelog_topic_names(settings)[table], idle=1.0)
    return {(r.partition, r.key): r.value for r in records}


def _latest_clocks(settings: Settings) -> dict[tuple[int, bytes], bytes]:
    """Latest clock record per key, with the test's topic prefix taken out of the keys."""
    records = read_topic(settings, changelog_topic_names(settings)[1], idle=1.0)
    latest = {(r.partition, r.key.replace(settings.topic_prefix.encode(), b"")): r.value for r in records}
    assert latest and all(isinstance(orjson.loads(k), str) for _, k in latest), "JSON string keys"
    return latest
