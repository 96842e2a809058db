"""A worker with a backlog judges customers at the same event times as the offline run.

The worker reads its four customer topics at different speeds; a clock tick read while some
topic still has records the consumer has not fetched must not move event time past them,
or customers are judged silent with their latest orders unread (and cleared when those
arrive). The offline run (`churnwatch offline`) feeds the same file in event-time order, so
its warnings are what the worker must emit.
"""

from __future__ import annotations

import orjson
import pytest

from streams.offline import run_offline_file
from streams.simulate import write_simulation
from streams.snapshot import wait_until_processed
from tests.integration.conftest import read_topic

pytestmark = pytest.mark.integration

END = "2024-12-31T00:00:00Z"


def test_a_backlogged_worker_emits_the_warnings_of_the_offline_run(settings_factory, start_worker, run_cli, tmp_path):
    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.csv"
    write_simulation(events, truth, 120, "2024-01-01", 365, seed=23)
    settings = settings_factory()

    # Published while the worker reads, a little faster than it keeps up with (as `make run`
    # does), the end-of-year tick last: the worker's buffers run dry and fill again while it
    # falls behind, and it reads the tick before the last orders.
    start_worker(settings)
    done = run_cli(settings, "replay", str(events), "--rate", "1500", "--advance-to", END, timeout=300)
    assert done.returncode == 0, done.stderr
    wait_until_processed(settings, 300)

    from datetime import datetime

    expected = run_offline_file(settings, events, advance_to=datetime.fromisoformat(END.replace("Z", "+00:00")))
    want = {w["warning_id"]: w for w in expected.warnings}
    got = {}
    for record in read_topic(settings, settings.warnings_topic, min_count=len(want), idle=3.0):
        w = orjson.loads(record.value)
        got[w["warning_id"]] = w
    assert want, "the simulated year raises warnings"

    def show(ids, source):
        return [(source[i]["customer_id"], source[i]["state"], source[i]["level"], source[i]["occurred_at"])
                for i in sorted(ids, key=lambda i: source[i]["occurred_at"])][:10]

    assert set(got) == set(want), (f"only from the worker: {show(set(got) - set(want), got)}; "
                                   f"only offline: {show(set(want) - set(got), want)}")
