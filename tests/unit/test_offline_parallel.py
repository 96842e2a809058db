"""`run_offline(..., processes=N)`: partitions in N processes give what one process gives, in the same order."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest

from streams.offline import run_offline
from streams.settings import Settings
from streams.simulate import write_simulation

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> list[bytes]:
    d = tmp_path_factory.mktemp("history")
    write_simulation(d / "events.jsonl", d / "truth.csv", 60, START, 180, seed=11)
    lines = (d / "events.jsonl").read_bytes().splitlines()
    # A re-delivered event (same id), which the state's remembered ids turn away.
    first_order = next(line for line in lines if orjson.loads(line).get("type") == "order")
    return [*lines, first_order]


@pytest.fixture(scope="module")
def one_process(history):
    return run_offline(Settings(partitions=4), history, advance_to=datetime(2024, 7, 15, tzinfo=timezone.utc))


@pytest.mark.parametrize("processes", [2, 3, 4])
def test_partitions_in_several_processes_give_the_same_state_warnings_and_snapshot(history, one_process, processes):
    many = run_offline(Settings(partitions=4), history, advance_to=datetime(2024, 7, 15, tzinfo=timezone.utc),
                       processes=processes)
    assert one_process.warnings, "the history raises warnings (else the comparison proves little)"
    assert len({w["customer_id"] for w in one_process.warnings}) > 3
    assert many.events == one_process.events
    # Same records in the same order: what `churnwatch offline` writes is byte-identical.
    assert many.warnings == one_process.warnings
    assert many.dead_letters == one_process.dead_letters
    assert many.snapshot == one_process.snapshot
    assert list(many.customers.items()) == list(one_process.customers.items())
    assert list(many.clocks.items()) == list(one_process.clocks.items())
    assert list(many.fits.items()) == list(one_process.fits.items())
    assert list(many.models.items()) == list(one_process.models.items())
    assert any(not k.startswith("prior/") for k in one_process.models), "model checkpoints are handed over too"


def test_more_processes_than_partitions_run_one_per_partition(history, one_process):
    many = run_offline(Settings(partitions=4), history, advance_to=datetime(2024, 7, 15, tzinfo=timezone.utc),
                       processes=16)
    assert many.customers == one_process.customers and many.warnings == one_process.warnings
