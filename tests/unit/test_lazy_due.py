"""Put-off crossing searches (`warning.next_due(lazy=True)`) change nothing a user sees.

The worker replaces the silence and purchase-frequency searches by cheap lower bounds until a
quiet customer reaches them; the warnings (content and order), snapshot, models and states
must be exactly those of computing every due time eagerly, as before.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

import detectors.warning as warn
from detectors.state import decode
from streams.offline import run_offline
from streams.processing import Processor
from streams.settings import Settings
from streams.simulate import write_simulation

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 8, 28, tzinfo=timezone.utc)   # the simulated period's end


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> list[bytes]:
    d = tmp_path_factory.mktemp("lazy")
    write_simulation(d / "events.jsonl", d / "truth.csv", 400, START, 240, seed=23)
    return (d / "events.jsonl").read_bytes().splitlines()


def _without_caches(result) -> list:
    """Customer states with the due-time fields (a cache and its consequence) left out."""
    out = []
    for cid, raw in result.customers.items():
        s = decode(raw)
        s.pf_due, s.next_due = [], 0
        out.append((cid, s))
    return out


def test_lazy_due_times_give_the_eager_warnings_snapshot_models_and_states(history, monkeypatch):
    resolved = []
    resolve = Processor._resolve
    monkeypatch.setattr(Processor, "_resolve", lambda self, *a: (resolved.append(1), resolve(self, *a)))
    # One partition, 400 customers: sweeps judge many customers at once, so a put-off search
    # resolved out of the exact times' order would show as warnings in another order.
    lazy = run_offline(Settings(partitions=1), history, advance_to=END)
    monkeypatch.setattr(Processor, "_resolve", resolve)

    eager_next_due = warn.next_due

    def eager(*args, lazy=False, **kwargs):
        return eager_next_due(*args, **kwargs)

    monkeypatch.setattr(warn, "next_due", eager)
    eager_result = run_offline(Settings(partitions=1), history, advance_to=END)

    assert len(lazy.warnings) > 20, "the year raises warnings (else the comparison proves little)"
    assert lazy.warnings == eager_result.warnings          # same warnings, same order
    assert lazy.snapshot == eager_result.snapshot
    assert list(lazy.models.items()) == list(eager_result.models.items())
    assert list(lazy.clocks.items()) == list(eager_result.clocks.items())
    assert _without_caches(lazy) == _without_caches(eager_result)
    # Searches were put off, and customers who stayed quiet reached their bounds.
    assert len(resolved) > 100


def test_a_sweep_judges_customers_in_the_order_of_their_exact_due_times(history, monkeypatch):
    """A customer whose provisional bound comes up is put back at its exact due time, so a
    sweep's first verdicts on its customers come in event-time order, as with eager due times
    (the order of the warnings a sweep emits, and of the labels the model learns from)."""
    firsts: list[list[int]] = []
    sweep, catch_up, assess = Processor._sweep, Processor._catch_up, Processor._assess
    current: dict = {"sweep": None, "first": False}

    def in_sweep(self, partition, now, out):
        current["sweep"] = []
        sweep(self, partition, now, out)
        firsts.append(current["sweep"])
        current["sweep"] = None

    def catching_up(self, state, until, out, partition):
        current["first"] = current["sweep"] is not None
        try:
            return catch_up(self, state, until, out, partition)
        finally:
            current["first"] = False

    def assessing(self, state, now, *args):
        if current["first"]:
            current["sweep"].append(now)
            current["first"] = False
        return assess(self, state, now, *args)

    monkeypatch.setattr(Processor, "_sweep", in_sweep)
    monkeypatch.setattr(Processor, "_catch_up", catching_up)
    monkeypatch.setattr(Processor, "_assess", assessing)
    run_offline(Settings(partitions=1), history, advance_to=END)
    assert sum(len(f) > 1 for f in firsts) > 50, "sweeps that judge several customers"
    unordered = [f for f in firsts if f != sorted(f)]
    assert not unordered, f"{len(unordered)} sweeps out of due-time order, e.g. {unordered[0][:8]}"
