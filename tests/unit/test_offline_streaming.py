"""`run_offline` reads a history line by line: the order found by a first pass decides how.

A file in event-time order, or made of a few stretches that each are (orders, visits and
tickets converted apart and concatenated), is processed as it is read, the stretches merged,
so a bulk run holds the customers' state and not the history. The result must be that of
the stable sort by event time every other path applies (`load_replay_lines`), which a file
in any other order still gets, sorted in memory.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

import orjson
import pytest

import streams.replay as replay
from streams.offline import run_offline
from streams.replay import ReplayFile
from streams.settings import Settings
from streams.simulate import write_simulation

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 7, 15, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> list[bytes]:
    d = tmp_path_factory.mktemp("history")
    write_simulation(d / "events.jsonl", d / "truth.csv", 60, START, 180, seed=11)
    return (d / "events.jsonl").read_bytes().splitlines()


def by_type(lines: list[bytes]) -> list[bytes]:
    """The history as separate exports concatenated: each type's lines in their own order."""
    kinds = ["order", "login", "page_view", "complaint", "market_event"]
    return [line for kind in kinds for line in lines if orjson.loads(line)["type"] == kind]


def at(line: bytes) -> datetime:
    return datetime.fromisoformat(orjson.loads(line)["occurred_at"].replace("Z", "+00:00"))


class Opened:
    """Lines that count how often they are read, and refuse to be read all at once."""

    def __init__(self, lines: list[bytes]) -> None:
        self.lines, self.opened = lines, 0

    def __iter__(self):
        self.opened += 1
        return iter(self.lines)

    def __len__(self) -> int:   # list() asks first: reading it all at once fails the test
        raise AssertionError("the history was read into memory")


def same(a, b) -> None:
    assert a.events == b.events
    assert a.warnings == b.warnings
    assert a.dead_letters == b.dead_letters
    assert a.snapshot == b.snapshot
    assert list(a.customers.items()) == list(b.customers.items())
    assert list(a.clocks.items()) == list(b.clocks.items())
    assert list(a.models.items()) == list(b.models.items())


@pytest.fixture(scope="module")
def concatenated(history) -> list[bytes]:
    lines = by_type(history)
    assert lines != history
    return lines


@pytest.fixture(scope="module")
def sorted_in_memory(concatenated):
    mp = pytest.MonkeyPatch()
    mp.setattr(replay, "MAX_RUNS", 0)   # every file sorted in memory, as before streaming
    try:
        result = run_offline(Settings(partitions=4), concatenated, advance_to=END)
    finally:
        mp.undo()
    assert result.sorted_in_memory
    return result


@pytest.mark.parametrize("processes", [1, 2])
def test_concatenated_exports_are_merged_as_read_with_the_result_of_sorting_them(concatenated, sorted_in_memory,
                                                                                 processes):
    source = Opened(concatenated)
    merged = run_offline(Settings(partitions=4), source, advance_to=END, processes=processes)
    assert not merged.sorted_in_memory
    assert sorted_in_memory.warnings and len({w["customer_id"] for w in sorted_in_memory.warnings}) > 3
    same(merged, sorted_in_memory)
    if processes == 1:
        # once to check it, then each of its stretches in event-time order from the file
        stretches = 1 + sum(at(b) < at(a) for a, b in zip(concatenated, concatenated[1:]))
        assert 5 <= stretches <= replay.MAX_RUNS
        assert source.opened == 1 + stretches


def test_a_file_in_event_time_order_is_read_twice_and_never_held(history):
    source = Opened(history)
    result = run_offline(Settings(partitions=4), source, advance_to=END)
    assert source.opened == 2 and not result.sorted_in_memory
    same(result, run_offline(Settings(partitions=4), iter(history), advance_to=END))   # a one-pass iterator


def test_a_file_in_no_order_is_sorted_in_memory_as_the_replay_sorts_it(history, tmp_path):
    shuffled = history[:]
    random.Random(3).shuffle(shuffled)
    scattered = run_offline(Settings(partitions=4), shuffled, advance_to=END)
    assert scattered.sorted_in_memory
    # The stable sort by event time of the same lines, written out: one stretch, read as it goes.
    path = tmp_path / "sorted.jsonl"
    path.write_bytes(b"\n".join(sorted(shuffled, key=at)) + b"\n")
    in_order = run_offline(Settings(partitions=4), ReplayFile(path), advance_to=END)
    assert not in_order.sorted_in_memory
    same(scattered, in_order)


def test_input_counts_are_what_a_replay_publishes_per_topic_and_partition(history):
    from streams.replay import load_replay_lines, partition_for

    settings = Settings(partitions=4)
    result = run_offline(settings, history, advance_to=END)
    expected: dict = {}
    for rec in load_replay_lines(history, settings).records:
        parts = settings.market_partitions if rec.topic == settings.market_events_topic else settings.partitions
        key = (rec.topic, partition_for(rec.key, parts))
        expected[key] = expected.get(key, 0) + 1
    assert result.input_counts == expected
    assert sum(expected.values()) == len(history)


def test_a_line_over_the_size_limit_only_with_its_unknown_fields_is_processed_as_the_contract_json(history):
    # Unknown fields are ignored by the contracts, so the replay publishes the contract's JSON:
    # a line padded past the limit by them is valid, and must not be dead-lettered as oversize.
    settings = Settings(partitions=4)
    line = next(line for line in history if orjson.loads(line)["type"] == "order")
    padded = orjson.loads(line) | {"note": "x" * settings.max_event_bytes}
    lines = [orjson.dumps(padded) if x == line else x for x in history]
    result = run_offline(settings, lines, advance_to=END)
    assert result.dead_letters == []
    same(result, run_offline(settings, history, advance_to=END))


def test_the_offline_command_says_when_a_file_had_to_be_sorted_in_memory(history, tmp_path):
    from click.testing import CliRunner

    from streams.cli import main

    shuffled = history[:]
    random.Random(5).shuffle(shuffled)
    for name, lines, noted in (("shuffled", shuffled, True), ("exports", by_type(history), False)):
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        run = CliRunner().invoke(main, ["offline", str(path), "--advance-to", "2024-07-15"])
        assert run.exit_code == 0, run.output
        assert ("sorted in memory" in run.output) is noted, run.output


@pytest.mark.parametrize("processes", [1, 2])
def test_warnings_not_asked_for_are_counted_not_kept_and_change_nothing_else(history, processes):
    from streams.bootstrap import warnings_to_publish

    full = run_offline(Settings(partitions=4), history, advance_to=END)
    assert any(w["state"] == "cleared" for w in full.warnings)
    for which in ("none", "open"):
        lean = run_offline(Settings(partitions=4), history, advance_to=END, processes=processes, keep_warnings=which)
        # kept as the run goes: the steps the bootstrap would pick from all of them
        assert lean.warnings == warnings_to_publish(full.warnings, which)
        assert lean.warning_steps == len(full.warnings) > 0
        assert list(lean.customers.items()) == list(full.customers.items())
        assert lean.snapshot == full.snapshot and list(lean.models.items()) == list(full.models.items())
    assert 0 < len(lean.warnings) < len(full.warnings)


@pytest.mark.parametrize("processes", [1, 2])
def test_warnings_spilled_to_files_come_back_in_the_order_of_the_run(history, tmp_path, processes):
    """With a spill directory every warning step goes to a file as it comes (one per process)
    and is read back merged in the run's order: the same steps as kept in memory."""
    full = run_offline(Settings(partitions=4), history, advance_to=END)
    spilled = run_offline(Settings(partitions=4), history, advance_to=END, processes=processes, spill_dir=tmp_path)
    files = sorted(tmp_path.iterdir())
    assert len(files) == processes
    assert sum(len(f.read_bytes().splitlines()) for f in files) == len(spilled.warnings) == len(full.warnings) > 0
    assert list(spilled.warnings) == full.warnings
    assert list(spilled.warnings) == full.warnings, "read back any number of times"
    assert spilled.warning_steps == full.warning_steps
    assert list(spilled.customers.items()) == list(full.customers.items()) and spilled.snapshot == full.snapshot


def test_the_offline_command_writes_the_warnings_of_the_run_and_leaves_no_spill_behind(history, tmp_path,
                                                                                        monkeypatch):
    import tempfile

    from click.testing import CliRunner

    from streams.cli import main

    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\n".join(history) + b"\n")
    spills = tmp_path / "tmp"
    spills.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spills))
    full = run_offline(Settings(partitions=4), history, advance_to=END)
    out = tmp_path / "warnings.jsonl"
    with monkeypatch.context() as env:
        env.setenv("CHURNWATCH_PARTITIONS", "4")
        env.setenv("CHURNWATCH_LOG_LEVEL", "warning")
        run = CliRunner().invoke(main, ["offline", str(path), "--advance-to", "2024-07-15", "--warnings", str(out),
                                        "--processes", "2"])
    assert run.exit_code == 0, run.output
    assert out.read_bytes().splitlines() == [orjson.dumps(w, default=str) for w in full.warnings]
    raised = sum(w["state"] == "raised" for w in full.warnings)
    assert f"{len(full.warnings)} warnings ({raised} raised;" in run.output
    assert list(spills.iterdir()) == [], "the spill files go with the run"
