"""`detectors.state.observe`: what the per-customer state remembers, and what it forgets."""

from __future__ import annotations

import pytest

from builders import CUSTOMER, DAY, build, complaint, day, login, order, page_view
from detectors.state import (CANCELLED, ESCALATED, OPENED, PLACED, REOPENED, RESOLVED, RETURNED, SEVERITY,
                             CustomerState, StateParams, active_days, decode, encode, is_duplicate, observe,
                             placed_orders, window_sum)


def test_logins_and_page_views_land_in_one_daily_bucket_per_day():
    s = build([login(day(0, 8)), login(day(0, 20)), page_view(day(0, 9), dwell_seconds=120.4),
               page_view(day(0, 9.5), dwell_seconds=3), page_view(day(2), dwell_seconds=30)])
    assert s.days == [day(0) // DAY, day(2) // DAY]
    assert s.logins == [2, 0]
    assert s.views == [2, 1]
    assert s.dwell == [123, 30]
    assert s.bounces == [1, 0]   # 3 s is under the 10 s bounce limit
    start = day(0) // DAY
    assert window_sum(s, s.views, start, start + 3) == 3
    assert active_days(s, start, start + 3) == 2


def test_gaps_between_active_days_follow_the_customer_rhythm():
    s = build([login(day(d)) for d in (0, 7, 14, 15, 30)])
    assert s.gaps == [7, 7, 1, 15]
    assert s.last_active == day(30)


def test_several_events_on_one_day_add_no_gap():
    s = build([login(day(0, 8)), login(day(0, 9)), page_view(day(0, 10))])
    assert s.gaps == []


def test_orders_and_complaints_count_as_activity_but_a_resolution_does_not():
    s = build([login(day(0)), order(day(5), 20.0), complaint(day(9), "k1", "opened"),
               complaint(day(20), "k1", "resolved")])
    assert s.gaps == [5, 4]
    assert s.last_active == day(9)
    assert s.last_event == day(20)


def test_a_redelivered_event_is_recognised_as_duplicate():
    e = login(day(0))
    s = build([e])
    assert is_duplicate(s, e.event_id)
    assert not is_duplicate(s, "another-id")
    assert not is_duplicate(None, e.event_id)


def test_event_ids_are_remembered_by_count_then_forgotten_after_the_horizon():
    first = login(day(0))
    # Weeks of event time later it is still recognised: a crash re-reads by offsets, and in
    # an accelerated replay that can span weeks.
    assert is_duplicate(build([first, login(day(21))]), first.event_id)
    assert not is_duplicate(build([first, login(day(91))]), first.event_id)
    many = build([first, *[login(day(1) + 60 * i) for i in range(StateParams().max_dedup)]])
    assert not is_duplicate(many, first.event_id)


def test_the_input_state_is_not_changed():
    s = build([login(day(0)), order(day(1), 10.0), complaint(day(1), "k1")])
    before = encode(s)
    observe(s, order(day(2), 30.0))
    observe(s, complaint(day(3), "k1", "escalated"))
    assert encode(s) == before


def test_order_status_is_kept_and_only_placed_orders_are_purchases():
    s = build([order(day(0), 10.0), order(day(1), 20.0, status="cancelled"),
               order(day(2), 30.0, status="returned", currency="GBP", category="books")])
    assert [o[3] for o in s.orders] == [PLACED, CANCELLED, RETURNED]
    assert s.orders[2][1:3] == [30.0, "GBP"] and s.orders[2][5] == "books"
    assert [o[1] for o in placed_orders(s)] == [10.0]


def test_complaint_updates_change_status_and_count_escalations_and_reopenings():
    s = build([complaint(day(0), "k1", "opened", "billing", "low"),
               complaint(day(1), "k1", "escalated", "billing", "high"),
               complaint(day(2), "k1", "resolved", "billing", "high"),
               complaint(day(3), "k1", "reopened", "billing", "high")])
    assert len(s.complaints) == 1
    _, opened, category, severity, status, updated, escalations, reopenings = s.complaints[0]
    assert (opened, category, severity, status, updated) == (day(0), "billing", SEVERITY["high"], REOPENED, day(3))
    assert (escalations, reopenings) == (1, 1)


def test_a_late_older_complaint_update_does_not_overwrite_a_newer_status():
    s = build([complaint(day(0), "k1", "opened"), complaint(day(2), "k1", "resolved"),
               complaint(day(1), "k1", "escalated")])
    assert s.complaints[0][4] == RESOLVED
    assert s.complaints[0][5] == day(2)
    assert s.complaints[0][6] == 1


def test_a_late_opening_moves_the_complaint_opening_time_back():
    s = build([complaint(day(1), "k1", "escalated"), complaint(day(0), "k1", "opened")])
    assert s.complaints[0][1] == day(0)
    assert s.complaints[0][4] == ESCALATED


def test_out_of_order_events_are_applied_at_their_own_event_time():
    s = build([login(day(10)), order(day(12), 50.0), order(day(11), 40.0), login(day(9))])
    assert s.days == [day(9) // DAY, day(10) // DAY]
    assert [o[0] for o in s.orders] == [day(11), day(12)]
    assert s.first_seen == day(9)
    assert s.last_event == day(12)
    assert s.last_active == day(12)
    assert s.gaps == [2]   # the late days fall inside gaps already recorded


def test_daily_buckets_are_kept_only_for_the_history_window():
    p = StateParams(history_days=30)
    s = build([login(day(d)) for d in range(0, 100, 2)], params=p)
    assert s.days[0] >= day(98) // DAY - 30
    assert len(s.days) <= 16


@pytest.mark.parametrize("kind, cap", [("orders", 64), ("complaints", 32), ("gaps", 32)])
def test_lists_stay_within_their_bounds(kind, cap):
    events = []
    for d in range(400):
        events.append(order(day(d), 10.0 + d))
        events.append(complaint(day(d), f"k{d}", "opened"))
    s = build(events)
    assert len(getattr(s, kind)) == cap


def test_open_complaints_outlive_resolved_ones_when_the_list_is_full():
    events = [complaint(day(0), "old-open", "opened")]
    for d in range(1, 40):
        events += [complaint(day(d), f"k{d}", "opened"), complaint(day(d, 18), f"k{d}", "resolved")]
    s = build(events)
    statuses = {c[4] for c in s.complaints}
    assert len(s.complaints) == 32
    assert OPENED in statuses
    assert s.complaints[0][1] == day(0)


def test_seen_event_ids_are_capped():
    s = build([login(day(0, h / 60)) for h in range(400)])
    assert len(s.seen) == StateParams().max_dedup


def test_state_round_trips_through_bytes():
    s = build([login(day(0)), page_view(day(1), 4), order(day(2), 12.5, category=None),
               complaint(day(3), "k1", "opened", "service", "high")])
    assert decode(encode(s)) == s


def test_decode_refuses_bytes_that_are_not_a_state_record():
    with pytest.raises(ValueError, match="not a Churnwatch customer state record"):
        decode(b'[99, "x"]')
    with pytest.raises(ValueError, match="fields, expected"):
        decode(b'[1, "x"]')


def test_observe_accepts_the_pydantic_event_contracts():
    from schemas.events import Complaint, Login, Order, PageView

    t = "2024-03-01T10:00:00Z"
    common = {"customer_id": CUSTOMER, "occurred_at": t}
    s = None
    for e in (Login(event_id="e1", channel="app", **common),
              PageView(event_id="e2", page="/x", dwell_seconds=5.0, **common),
              Order(event_id="e3", order_id="o1", amount=19.9, currency="EUR", **common),
              Complaint(event_id="e4", complaint_id="k1", status="opened", category="billing",
                        severity="low", **common)):
        s = observe(s, e)
    assert (s.logins, s.views, s.bounces) == ([1], [1], [1])
    assert s.orders[0][1:4] == [19.9, "EUR", PLACED]
    assert s.complaints[0][2] == "billing"
    assert s.applied == 4


def test_a_fresh_state_starts_at_the_first_event():
    s = observe(None, login(day(5)), partition=3)
    assert isinstance(s, CustomerState)
    assert (s.customer_id, s.partition, s.first_seen) == (CUSTOMER, 3, day(5))
    assert s.last_active_day == day(5) // DAY
    assert observe(s, login(day(6))).first_seen == day(5)
    assert observe(s, login(day(6)), partition=1).partition == 1


@pytest.mark.parametrize("customer_id", ["c-1", 'say "hi", [2]', "back\\slash", "ünï\u0001cödé", ""])
def test_a_records_partition_is_read_from_its_head_whatever_the_customer_id(customer_id):
    from detectors.state import record_partition

    state = CustomerState(customer_id, partition=7, gaps=[1, 2], orders=[[1, 2.0, "EUR", 0, 1, None]])
    assert record_partition(encode(state)) == 7 == decode(encode(state)).partition
    with pytest.raises(ValueError):
        record_partition(b'{"not": "a state"}')


def test_quiet_spells_of_two_weeks_or_more_are_remembered_longest_first():
    """Spells shorter than silence's two weeks explain no quiet: a daily visitor keeps none.
    A 40-day break, then a 20-day one: both, longest first, so the 20 days are still known
    once the 40 have left the 400-day memory."""
    daily = build([login(day(d)) for d in range(0, 60)])
    assert daily.returned == []
    away = set(range(100, 140)) | set(range(300, 320))
    s = build([login(day(d)) for d in range(0, 330) if d not in away])
    assert s.returned == [41, day(140) // DAY, 21, day(320) // DAY]
    s = build([login(day(d)) for d in range(330, 545)], s)       # daily again: day 140 is 400+ days back
    assert s.returned == [21, day(320) // DAY]


def test_a_record_without_season_blocks_gets_them_from_its_buckets_at_the_next_active_day():
    import orjson

    from detectors.state import _FIELDS_OF_FORMAT, SEASON_BLOCKS, season_days
    # a year and a half of logins every other day, kept as a format-6 worker wrote it
    full = build([login(day(d)) for d in range(0, 540, 2)])
    six = orjson.dumps([6, *(getattr(full, f) for f in _FIELDS_OF_FORMAT[6])])
    old = decode(six)
    assert old.seasons == "" and season_days(old, full.days[-1] - 30, full.days[-1]) is None
    s = build([login(day(541))], old)
    assert len(s.seasons) == SEASON_BLOCKS
    last = s.days[-1]
    # the blocks the buckets hold are counted, the older ones are unknown, never zero
    block = (last // 28 - 2) * 28
    assert season_days(s, block, block + 28) == sum(1 for d in s.days if block <= d < block + 28) > 0
    assert season_days(s, last - 400, last - 372) is None
    # a customer who had the blocks from the start knows that year
    assert season_days(build([login(day(541))], full), last - 400, last - 372) > 0
