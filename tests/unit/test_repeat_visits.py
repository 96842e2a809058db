"""Further visits of a day already judged are applied without a new assessment, and that
changes no warning, snapshot or label (`warn.repeat_visit`)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from detectors import warning as warn
from detectors.state import DAY, CustomerState, observe
from streams.offline import run_offline
from streams.settings import Settings
from streams.simulate import write_simulation
from tests.unit.builders import login, order, page_view

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 9, 1, tzinfo=timezone.utc)


def _state(*events) -> CustomerState:
    s = None
    for e in events:
        s = observe(s, e)
    return s


def test_only_a_further_visit_of_a_day_already_judged_with_no_warning_open_is_a_repeat():
    t = 100 * DAY + 9 * 3600
    s = _state(order(t - 30 * DAY, 80.0), login(t))
    s.next_due = t + 14 * DAY
    assert warn.repeat_visit(s, "login", t + 600) and warn.repeat_visit(s, "page_view", t + 600)
    s2 = _state(order(t - 30 * DAY, 80.0), login(t), page_view(t + 60))
    s2.next_due = t + 14 * DAY
    assert warn.repeat_visit(s2, "page_view", t + 600)
    assert not warn.repeat_visit(s2, "order", t + 600)             # orders move spend and rhythm
    assert not warn.repeat_visit(s2, "page_view", t + DAY)         # a new active day
    assert not warn.repeat_visit(s2, "page_view", t + 30)          # older than the newest event
    s2.next_due = t + 300
    assert not warn.repeat_visit(s2, "page_view", t + 600)         # something fell due meanwhile
    s2.next_due, s2.level = t + 14 * DAY, 1
    assert not warn.repeat_visit(s2, "page_view", t + 600)         # an open warning may clear


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> list[bytes]:
    d = tmp_path_factory.mktemp("repeat")
    write_simulation(d / "events.jsonl", d / "truth.csv", 80, START, 240, seed=5)
    return (d / "events.jsonl").read_bytes().splitlines()


def test_skipping_the_assessment_of_repeat_visits_changes_no_warning_snapshot_or_model(history, monkeypatch):
    skipped = []
    real = warn.repeat_visit

    def counted(state, kind, t):
        r = real(state, kind, t)
        skipped.append(r)
        return r

    monkeypatch.setattr(warn, "repeat_visit", counted)
    lean = run_offline(Settings(partitions=4), history, advance_to=END)
    monkeypatch.setattr(warn, "repeat_visit", lambda state, kind, t: False)
    full = run_offline(Settings(partitions=4), history, advance_to=END)

    assert sum(skipped) > len(skipped) // 5, "a fair share of the visits are repeats (else this proves little)"
    assert len({w["customer_id"] for w in full.warnings}) > 5
    strip = lambda rows: [{k: v for k, v in r.items() if k != "emitted_at"} for r in rows]  # noqa: E731
    assert strip(lean.warnings) == strip(full.warnings)
    assert lean.snapshot == full.snapshot
    # the same labels learned in the same order: the same model checkpoints and population fits
    assert list(lean.models.items()) == list(full.models.items())
    assert list(lean.fits.items()) == list(full.fits.items())


def test_a_page_view_that_makes_the_bounce_share_count_reads_the_activity_signal_stronger():
    # A customer active on four days a week for twelve weeks, then on three days of the last
    # four, whose last visits were glances (bounces): the fifth page view of the window, a
    # long one, lets the bounce share count (at least five views), and it sharpens the drop.
    from detectors.signal import FIRE

    t0 = 20_000 * DAY
    events = [login(t0 + d * DAY + 3600) for d in range(0, 84) if d % 7 in (0, 1, 3, 5)]
    events += [page_view(t0 + d * DAY + 3700, dwell_seconds=120.0) for d in range(0, 84) if d % 7 in (0, 1, 3, 5)]
    today = t0 + 111 * DAY + 3600
    events += [login(t0 + 100 * DAY), page_view(t0 + 100 * DAY + 60, dwell_seconds=4.0),
               login(t0 + 105 * DAY), page_view(t0 + 105 * DAY + 60, dwell_seconds=3.0),
               login(today), page_view(today + 60, dwell_seconds=5.0), page_view(today + 120, dwell_seconds=6.0)]
    s = _state(*sorted(events, key=lambda e: e.occurred_at))
    before = warn.activity_strength(s, today + 180)
    after = warn.activity_strength(observe(s, page_view(today + 180, dwell_seconds=40.0)), today + 180)
    assert before >= FIRE and after > before        # the bonus of a rising bounce share
