"""Delayed self-labelling: snapshots resolve to 0 when the customer comes back, 1 when the horizon passes."""

from __future__ import annotations

import pytest

from builders import DAY, T0, build, day, login
from detectors import labels as lab
from detectors.features import FEATURE_NAMES, features
from detectors.state import CustomerState, observe

H = 90 * DAY
X = [0.0] * len(FEATURE_NAMES)


def pending_with(*times: int) -> list:
    return [max(times), *([t, list(X)] for t in times)]


class Customer:
    """Drives one customer the way the stream does: events, then resolve and snapshot;
    sweeps at `labels.next_due` in between. Collects the examples with their event times."""

    def __init__(self, params: lab.LabelParams = lab.LabelParams()) -> None:
        self.params = params
        self.state: CustomerState | None = None
        self.pending = lab.empty()
        self.examples: list[lab.Example] = []
        self.due: int | None = None

    def _after(self, now: int) -> None:
        if lab.is_due(self.pending, self.state.last_active, now, self.params):
            self.pending = lab.maybe_snapshot(self.pending, self.state, now, features(self.state, now), self.params)
        self.due = lab.next_due(self.pending, self.state.last_active, now, self.params)

    def advance(self, to: int) -> None:
        while self.due is not None and self.due <= to:
            now = self.due
            self.pending, ex = lab.resolve(self.pending, self.state.last_active, None, now, self.params)
            self.examples += ex
            self._after(now)

    def event(self, e) -> None:
        t = int(e.occurred_at.timestamp())
        self.advance(t)
        before = self.state.last_active if self.state else 0
        self.state = observe(self.state, e)
        activity = self.state.last_active if self.state.last_active > before else None
        self.pending, ex = lab.resolve(self.pending, before, activity, t, self.params)
        self.examples += ex
        self._after(t)


def test_a_snapshot_is_labelled_0_at_the_moment_the_customer_is_active_again():
    p = pending_with(day(10))
    p2, examples = lab.resolve(p, day(10), day(40), day(40))
    assert [(e.label, e.snapshot_time, e.resolved_at) for e in examples] == [(0, day(10), day(40))]
    assert lab.entries(p2) == []
    assert lab.last_snapshot_at(p2) == day(10)  # kept: one snapshot per slot even after resolving


def test_a_snapshot_is_labelled_1_exactly_when_the_horizon_passes_in_silence():
    p = pending_with(day(10))
    still, none = lab.resolve(p, day(10), None, day(10) + H - 1)
    assert none == [] and still is p
    _, examples = lab.resolve(p, day(10), None, day(10) + H)
    assert [(e.label, e.snapshot_time, e.resolved_at) for e in examples] == [(1, day(10), day(10) + H)]


@pytest.mark.parametrize("returns_after, label", [
    (0, 1),          # the activity the snapshot was taken at is not a return
    (1, 0),          # one second later is
    (H - 1, 0),      # the last second inside the horizon
    (H, 1),          # at the horizon's end: too late
])
def test_activity_counts_only_strictly_after_the_snapshot_and_inside_the_horizon(returns_after, label):
    t = day(10)
    _, examples = lab.resolve(pending_with(t), t, t + returns_after, t + max(returns_after, H))
    assert [e.label for e in examples] == [label]


def test_a_late_activity_older_than_the_snapshot_does_not_resolve_it():
    p = pending_with(day(10))
    p2, examples = lab.resolve(p, day(10), day(9), day(12))
    assert examples == [] and p2 is p


def test_resolve_does_not_change_its_input():
    p = pending_with(day(3), day(10))
    copy = [p[0], *([t, list(x)] for t, x in p[1:])]
    lab.resolve(p, day(3), day(12), day(12))
    assert p == copy


def test_examples_carry_the_snapshot_features_by_name():
    f = features(build([login(day(d)) for d in range(0, 40, 4)]), day(40))
    p = lab.maybe_snapshot(lab.empty(), CustomerState("c", last_active=day(36)), day(40), f)
    _, [example] = lab.resolve(p, day(36), day(45), day(45))
    assert list(example.features) == list(FEATURE_NAMES)
    assert example.features["log_days_since_active"] == pytest.approx(f["log_days_since_active"], abs=1e-4)


def test_snapshots_of_another_features_version_are_dropped_without_an_example():
    p = [day(10), [day(10), [0.5, 0.5]]]  # a vector of an older, shorter feature list
    p2, examples = lab.resolve(p, day(10), day(20), day(20))
    assert examples == [] and lab.entries(p2) == []


def test_a_daily_visitor_is_snapshotted_once_per_week_and_every_snapshot_resolves_0():
    c = Customer()
    for d in range(70):
        c.event(login(day(d)))
    snapshot_times = [e.snapshot_time for e in c.examples]
    assert len(set(lab.slot(t) for t in snapshot_times)) == len(snapshot_times)  # one per weekly slot
    # weekly slots are aligned on the epoch (Thursdays); days 0-69 from a Monday touch 11
    assert len(snapshot_times) == len({lab.slot(day(d)) for d in range(70)}) == 11
    assert {e.label for e in c.examples} == {0}
    # after the first, snapshots are taken by the sweep at the weekly boundary (midnight),
    # and the customer's login at noon answers them
    assert all(e.resolved_at - e.snapshot_time == 12 * 3600 for e in c.examples[1:])
    assert all(lab.slot(e.snapshot_time) * 7 * DAY == e.snapshot_time for e in c.examples[1:])


def test_a_customer_who_leaves_yields_1s_at_each_snapshot_horizon_and_then_nothing():
    c = Customer()
    for d in range(0, 60, 3):
        c.event(login(day(d)))
    last = day(57)
    c.advance(last + 400 * DAY)
    ones = [e for e in c.examples if e.label == 1]
    # snapshots after the last activity: the last event's own, then every weekly boundary
    # while the customer is quiet for less than a horizon
    assert len(ones) == 1 + 12
    assert all(e.resolved_at == e.snapshot_time + H for e in ones)
    assert all(e.snapshot_time >= last for e in ones)
    assert all(e.label == 0 for e in c.examples if e.snapshot_time < last)
    assert lab.entries(c.pending) == [] and c.due is None  # nothing left to sweep for


def test_a_customer_back_after_a_60_day_break_resolves_the_break_snapshots_as_0():
    c = Customer()
    for d in range(0, 60, 3):
        c.event(login(day(d)))
    c.event(login(day(120)))
    break_examples = [e for e in c.examples if day(57) <= e.snapshot_time < day(120)]
    assert len(break_examples) == 9
    assert {e.label for e in break_examples} == {0}
    assert {e.resolved_at for e in break_examples} == {day(120)}


def test_pending_snapshots_stay_bounded_and_keep_the_oldest():
    params = lab.LabelParams(snapshot_every_days=1, horizon_days=90, max_pending=16)
    c = Customer(params)
    c.event(login(day(0)))
    first = lab.entries(c.pending)[0][0]
    for d in range(1, 80):
        c.advance(day(d))
        assert len(lab.entries(c.pending)) <= 16
    times = [t for t, _ in lab.entries(c.pending)]
    assert len(times) == 16
    assert times[0] == first and times == sorted(times)
    assert max(b - a for a, b in zip(times, times[1:])) <= 8 * DAY  # thinned evenly, not truncated
    c.advance(day(400))
    assert [e.label for e in c.examples] == [1] * len(c.examples) and len(c.examples) >= 16


def test_no_snapshot_is_taken_of_a_customer_quiet_for_a_whole_horizon():
    s = CustomerState("c", last_active=T0)
    assert lab.maybe_snapshot(lab.empty(), s, T0 + H, {}) == lab.empty()
    assert lab.maybe_snapshot(lab.empty(), CustomerState("never-active"), T0, {}) == lab.empty()


def test_the_pending_list_round_trips_through_bytes():
    c = Customer()
    for d in range(0, 60, 3):
        c.event(login(day(d)))
    c.advance(day(100))
    assert len(lab.entries(c.pending)) > 3
    assert lab.decode(lab.encode(c.pending)) == c.pending


@pytest.mark.parametrize("data", [b'{"a": 1}', b'["x"]', b'[5, [1, 2]]', b'[5, ["t", []]]'])
def test_bytes_that_are_not_a_pending_list_are_refused(data):
    with pytest.raises(ValueError, match="pending"):
        lab.decode(data)


@pytest.mark.parametrize("kw", [{"snapshot_every_days": 0}, {"horizon_days": -1}, {"max_pending": 1}])
def test_nonsense_label_params_are_refused(kw):
    with pytest.raises(ValueError, match="expected"):
        lab.LabelParams(**kw)
