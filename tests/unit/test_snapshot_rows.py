"""Snapshot rows: what a team working the open warnings reads (`streams.snapshot.snapshot_rows`)."""

from __future__ import annotations

from builders import build, day, login, order
from detectors.state import encode
from streams.snapshot import snapshot_rows


def _steady(days: int = 200):
    events = [login(day(d, 9)) for d in range(0, days, 3)]
    events += [order(day(d, 15), 80.0) for d in range(2, days, 20)]
    return build(sorted(events, key=lambda e: e.occurred_at))


def test_a_warning_held_open_after_its_evidence_weakened_still_suggests_what_to_do():
    state = _steady()
    state.level, state.kinds, state.raised_at, state.episode = 2, ["silence"], day(150), 1
    (row,) = snapshot_rows({b"c": encode(state)}, {state.partition: day(200)})
    assert row["level"] == "none" and row["open_warning_level"] == "warning"
    assert row["open_warning_since"] == "2024-05-30T12:00:00Z"       # day 150 of 2024, noon
    assert [a["action"] for a in row["suggested_actions"]] == ["monitor"]
    # the retention team's list says why a customer with nothing firing is on it
    from streams.worklist import format_worklist, rank
    assert "(no signal firing now; open since 2024-05-30)" in format_worklist(rank([row]))


def test_without_an_open_warning_the_actions_are_the_evidence_s_own():
    (row,) = snapshot_rows({b"c": encode(_steady())}, {0: day(200)})
    assert row["level"] == "none" and row["open_warning_level"] == "none"
    assert row["open_warning_since"] is None
    assert row["suggested_actions"] == []
