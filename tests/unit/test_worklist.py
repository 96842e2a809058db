"""`churnwatch worklist`: open warnings from a snapshot, the most valuable customers first."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.worklist import WorklistError, rank, read_snapshot


def row(cid, segment, level, risk, strength=0.8, kind="silence"):
    return {"customer_id": cid, "segment": segment, "open_warning_level": level, "risk_score": risk,
            "as_of": "2025-03-31T00:00:00Z", "last_active_at": "2025-02-01T00:00:00Z",
            "signals": [{"kind": kind, "strength": strength, "current": 58, "baseline": 9,
                         "unit": "days since last activity"}],
            "suggested_actions": [{"action": "win_back", "reason": "quiet"}]}


ROWS = [row("r-crit", "regular", "critical", 0.99), row("core-warn", "core", "warning", 0.70),
        row("core-crit", "core", "critical", 0.90), row("growth-warn", "growth", "warning", 0.75),
        row("core-warn-hi", "core", "warning", 0.80), row("lapsed-crit", "lapsed", "critical", 1.0),
        row("r-watch", "regular", "watch", 0.55), row("r-none", "regular", "none", 0.20)]


def test_core_customers_come_first_then_the_level_then_the_risk():
    assert [r["customer_id"] for r in rank(ROWS)] == [
        "core-crit", "core-warn-hi", "core-warn", "growth-warn", "r-crit", "lapsed-crit"]


def test_watch_is_listed_only_when_asked_and_no_open_warning_never():
    assert "r-watch" not in {r["customer_id"] for r in rank(ROWS)}
    listed = [r["customer_id"] for r in rank(ROWS, "watch")]
    assert "r-watch" in listed and "r-none" not in listed
    assert [r["customer_id"] for r in rank(ROWS, "critical")] == ["core-crit", "r-crit", "lapsed-crit"]
    with pytest.raises(WorklistError, match="min_level='urgent'"):
        rank(ROWS, "urgent")


def test_the_command_prints_the_ranked_table_with_evidence_and_action(tmp_path):
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in ROWS))
    out = CliRunner().invoke(main, ["worklist", str(path), "--top", "2"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split()[:6] == ["#", "customer", "segment", "level", "risk", "quiet"]
    assert lines[1].split()[:6] == ["1", "core-crit", "core", "critical", "0.90", "58d"]
    assert "silence: 58 days since last activity, usual gap 9" in lines[1] and lines[1].endswith("win_back")
    assert lines[3] == "... and 4 more (--top to see more)"


def test_a_signal_no_longer_firing_is_shown_as_such(tmp_path):
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(orjson.dumps(row("held", "core", "warning", 0.6, strength=0.45)) + b"\n")
    out = CliRunner().invoke(main, ["worklist", str(path)])
    assert "(no signal firing now)" in out.output


def test_json_output_is_the_ranked_snapshot_rows(tmp_path):
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in ROWS))
    out = CliRunner().invoke(main, ["worklist", str(path), "--json"])
    assert [orjson.loads(line)["customer_id"] for line in out.output.splitlines()] == [
        r["customer_id"] for r in rank(ROWS)]


def test_an_unreadable_snapshot_is_a_clear_error(tmp_path):
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(orjson.dumps(ROWS[0]) + b"\nnot json\n")
    with pytest.raises(WorklistError, match="line 2 is not JSON"):
        read_snapshot(str(path))
    out = CliRunner().invoke(main, ["worklist", str(path)])
    assert out.exit_code != 0 and "line 2 is not JSON" in out.output
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(orjson.dumps(row("x", "core", "none", 0.1)) + b"\n")
    out = CliRunner().invoke(main, ["worklist", str(empty)])
    assert out.exit_code == 0 and "no customer has an open warning at level warning or above" in out.output


def test_an_unanswered_complaint_is_shown_as_such_not_as_a_count(tmp_path):
    # the complaint is older than the 90-day window: the count reads 0 against a usual 0.33
    held = row("waiting", "core", "critical", 0.76, kind="complaint_increase")
    held["signals"][0].update(current=0.0, baseline=0.33, unit="complaints per 90 days",
                              detail="0 complaints in 90 days; unresolved: 1 past the 24 h deadline (longest "
                                     "4200 h, high severity, open over 21 days)")
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(orjson.dumps(held) + b"\n")
    out = CliRunner().invoke(main, ["worklist", str(path)])
    assert "complaint_increase: unresolved: 1 past the 24 h deadline (longest 4200 h" in out.output
    assert "0 vs 0.33" not in out.output


def test_a_warnings_file_is_refused_not_read_as_nobody_at_risk(tmp_path):
    warnings = tmp_path / "warnings.jsonl"
    warnings.write_bytes(orjson.dumps({"warning_id": "w1", "customer_id": "a", "state": "raised",
                                       "level": "critical", "risk_score": 0.9}) + b"\n")
    out = CliRunner().invoke(main, ["worklist", str(warnings)])
    assert out.exit_code != 0
    assert "line 1 is a warning" in out.output and "churnwatch snapshot --out" in out.output
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    out = CliRunner().invoke(main, ["worklist", str(empty)])
    assert out.exit_code == 0 and "holds no snapshot rows" in out.output


def test_at_equal_strength_the_customers_own_behaviour_is_the_evidence_not_a_rivals_move(tmp_path):
    both = row("quiet", "regular", "critical", 0.99, strength=1.0)
    both["signals"].insert(0, {"kind": "competitor_pressure", "strength": 1.0, "current": 0, "baseline": 140,
                               "unit": "EUR per 30 days in the category"})
    path = tmp_path / "snapshot.jsonl"
    path.write_bytes(orjson.dumps(both) + b"\n")
    out = CliRunner().invoke(main, ["worklist", str(path)])
    assert "silence: 58 days since last activity" in out.output and "competitor_pressure" not in out.output
