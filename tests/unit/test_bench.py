"""The pure parts of `make bench`: statistics, rates from polled counters, the latency probe, the report."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from streams.bench_report import BEGIN, END, write_report
from streams.bench_stats import Spread, latency_probe, percentile, throughput
from streams.offline import run_offline
from streams.settings import Settings


@pytest.mark.parametrize("q", [0, 1, 10, 50, 90, 99, 100])
def test_percentile_agrees_with_numpy_linear_interpolation(q):
    values = [12.5, 3.0, 7.25, 100.0, 42.0, 42.0, 0.5, 9.0, 15.0, 61.0, 2.0]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_spread_is_the_median_with_min_and_max_of_the_runs():
    assert Spread.of([1100.0, 900.0, 1000.0]).render() == "1,000 (900–1,100)"


def test_throughput_counts_from_the_first_counted_event_and_interpolates_the_end():
    # 1,000 events/s from t=10; the total (2,000) was passed between two polls, at t=12.0.
    samples = [(9.0, 0), (10.0, 0), (10.5, 500), (11.5, 1500), (12.5, 2500)]
    t = throughput(samples, total=2000)
    assert t.events == 1500 and t.seconds == pytest.approx(1.5)
    assert t.per_second == pytest.approx(1000)


def test_throughput_fails_when_the_counter_never_reaches_the_total():
    with pytest.raises(ValueError, match="reached 1500 of 2000"):
        throughput([(0.0, 0), (1.0, 1500)], total=2000)


def test_latency_probe_is_warned_by_its_trigger_order_and_not_before():
    now = 1_750_000_000
    history, trigger = latency_probe("probe-1", now)
    lines = [orjson.dumps(e) for e in history]
    assert run_offline(Settings(), lines).warnings == [], "the history alone raises nothing"
    warnings = run_offline(Settings(), [*lines, orjson.dumps(trigger)]).warnings
    assert [(w["state"], w["occurred_at"]) for w in warnings] == [("raised", trigger["occurred_at"])]
    assert {s["kind"] for s in warnings[0]["signals"] if s["strength"] >= 0.5} == {"order_value_drop"}


def test_report_section_is_replaced_and_the_text_around_it_kept(tmp_path):
    path = tmp_path / "benchmarks.md"
    write_report(path, f"{BEGIN}\nfirst\n{END}\n")
    path.write_text(path.read_text() + "\n## Analysis\n\nwritten by hand\n")
    write_report(path, f"{BEGIN}\nsecond\n{END}\n")
    text = path.read_text()
    assert "second" in text and "first" not in text
    assert text.index(END) < text.index("written by hand")


def test_only_a_full_run_replaces_the_figures_in_the_docs_by_default():
    from pathlib import Path

    from streams.bench import FIGURES, default_report
    assert default_report(False, FIGURES) == Path("docs/benchmarks.md")
    assert default_report(False, ",".join(FIGURES)) == Path("docs/benchmarks.md")
    assert default_report(False, "ab") == Path("out/bench/partial.md")
    assert default_report(True, FIGURES) == Path("out/bench/quick.md")
