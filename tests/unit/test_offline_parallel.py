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


def test_the_offline_command_reads_a_date_and_says_when_it_cannot_go_back_in_time(history, tmp_path):
    from click.testing import CliRunner

    from streams.cli import main

    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(history) + b"\n")
    warnings = tmp_path / "out" / "run" / "w.jsonl"     # its directories are made, before the run
    late = CliRunner().invoke(main, ["offline", str(path), "--advance-to", "2024-07-15", "--warnings", str(warnings)])
    assert late.exit_code == 0, late.output
    # a bare date is its midnight UTC: the same run as the test above
    one = run_offline(Settings(partitions=4), history, advance_to=datetime(2024, 7, 15, tzinfo=timezone.utc))
    assert [orjson.loads(line)["warning_id"] for line in warnings.read_bytes().splitlines()] == \
        [w["warning_id"] for w in one.warnings]
    assert "note:" not in late.output
    early = CliRunner().invoke(main, ["offline", str(path), "--advance-to", "2024-03-01"])
    assert early.exit_code == 0, early.output
    assert "note: --advance-to 2024-03-01 is before the file's last event" in early.output
    assert "only counted: --warnings FILE and --snapshot FILE write them" in early.output
    assert "only counted" not in late.output      # --warnings given
    # a CSV instead of a replay file: one line saying what was expected, no traceback
    csv = tmp_path / "orders.csv"
    csv.write_text("customer_id,date,amount\nc1,2024-01-01,10\n")
    bad = CliRunner().invoke(main, ["offline", str(csv)])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "invalid replay lines" in bad.output and "convert-orders" in bad.output


def test_offline_names_every_invalid_line_of_a_refused_file(tmp_path):
    from click.testing import CliRunner

    from streams.cli import main

    lines = [b'{"type":"login","event_id":"e1","customer_id":"c1","occurred_at":"2025-03-01T00:00:00Z","channel":"web"}',
             b'not json', b'{"type":"login","event_id":"e2","occurred_at":"2025-03-02T00:00:00Z","channel":"web"}',
             b'{"type":"login","event_id":"e3","customer_id":"c1","occurred_at":"2025-03-03T00:00:00","channel":"web"}']
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    bad = CliRunner().invoke(main, ["offline", str(path)])

    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "3 invalid replay lines" in bad.output
    for number in (2, 3, 4):      # one line each, as `churnwatch replay` lists them
        assert any(line.startswith(f"  line {number}: ") for line in bad.output.splitlines()), bad.output
    assert "nothing was processed (--skip-invalid" in bad.output
    assert "line 1: " not in bad.output


def test_skip_invalid_leaves_out_each_bad_line_and_processes_the_rest_as_if_they_were_never_there(
        history, one_process, tmp_path):
    from click.testing import CliRunner

    from streams.cli import main

    bad = [b'{"type":"order","customer_id":"x"', b'{"type":"purchase","customer_id":"c","event_id":"e",'
           b'"occurred_at":"2024-02-01T00:00:00Z"}', b'{"type":"login","event_id":"e","customer_id":"c",'
           b'"occurred_at":"2024-02-01T00:00:00","channel":"web"}']
    lines, bad_numbers = [], []
    for i, line in enumerate(history):
        if i % 97 == 5 and len(bad_numbers) < 25:     # 25 bad lines, more than are named, the last in the
            lines.append(bad[len(bad_numbers) % 3])    # re-delivered order's stretch at the end
            bad_numbers.append(len(lines))
        lines.append(line)
    lines.insert(len(lines) - 1, bad[0])
    bad_numbers.append(len(lines) - 1)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "w.jsonl"

    refused = CliRunner().invoke(main, ["offline", str(path)])
    run = CliRunner().invoke(main, ["offline", str(path), "--advance-to", "2024-07-15", "--warnings", str(out),
                                    "--processes", "2", "--skip-invalid"])

    assert refused.exit_code == 1 and f"{len(bad_numbers)} invalid replay lines" in refused.output
    assert run.exit_code == 0, run.output
    assert [orjson.loads(w) for w in out.read_bytes().splitlines()] == list(one_process.warnings)
    for number in bad_numbers[:20]:
        assert f"{path}:{number}: " in run.output
    assert f"{path}:{bad_numbers[20]}: " not in run.output
    assert f"skipped {len(bad_numbers)} invalid lines ({len(bad_numbers) - 20} not shown) (--skip-invalid)" in run.output
