"""Further visits of a day already judged are applied without a new assessment, and that
changes no warning, snapshot or label (`warn.repeat_visit`)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from detectors import activity
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

    # a repeat page view starts from the strength the day's last judgement read (kept with
    # the state), instead of reading the same state again
    started_from = []
    same_at = activity.same_at

    def counted_same(state, t1, t2, params):
        r = same_at(state, t1, t2, params)
        started_from.append(r)
        return r

    monkeypatch.setattr(warn, "repeat_visit", counted)
    monkeypatch.setattr(activity, "same_at", counted_same)
    lean = run_offline(Settings(partitions=4), history, advance_to=END)
    monkeypatch.setattr(warn, "repeat_visit", lambda state, kind, t: False)
    full = run_offline(Settings(partitions=4), history, advance_to=END)

    assert sum(skipped) > len(skipped) // 5, "a fair share of the visits are repeats (else this proves little)"
    assert sum(started_from) > sum(skipped) // 2, "most repeat page views start from a kept strength"
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


def test_a_repeat_page_view_with_shorter_visits_raises_the_activity_warning_at_that_view():
    # Twelve weeks active four days a week with ten-minute visits, then logins on four days
    # of the last four weeks, two of them with a half-minute page view. Today's login is
    # judged (a `watch` is not yet due); its page view is a repeat visit of a judged day, but
    # the third short visit in the window lets the shorter-visits test count: the warning is
    # raised at that page view, not at a later look.
    import orjson

    from detectors.state import to_datetime

    t0 = 20_000 * DAY
    n = iter(range(10_000))

    def line(kind: str, t: int, **fields) -> bytes:
        return orjson.dumps({"type": kind, "event_id": f"e{next(n)}", "customer_id": "c1",
                             "occurred_at": to_datetime(t).isoformat(), **fields})

    def visit(t: int, dwell: float | None) -> list[bytes]:
        out = [line("login", t, channel="web")]
        if dwell is not None:
            out.append(line("page_view", t + 60, page="/home", dwell_seconds=dwell))
        return out

    lines = [v for d in range(84) if d % 7 in (0, 1, 3, 5) for v in visit(t0 + d * DAY + 3600, 600.0)]
    for d, dwell in ((84, 30.0), (90, None), (97, None), (104, 30.0)):
        lines += visit(t0 + d * DAY + 3600, dwell)
    today = t0 + 111 * DAY + 3600
    lines += visit(today, 20.0)

    got = run_offline(Settings(partitions=1, publish_min_level="watch"), lines, advance_to=to_datetime(today + 120))
    raised = [w for w in got.warnings if w["state"] == "raised"]
    assert [w["occurred_at"] for w in raised] == [to_datetime(today + 60).isoformat().replace("+00:00", "Z")]
    assert raised[0]["signals"][0]["kind"] == "activity_drop"
    assert "visits shorter" in raised[0]["signals"][0]["detail"]
