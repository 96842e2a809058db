"""The warning lifecycle and actions at their boundaries: clearing, escalation, personal calls, loyalty points."""

from __future__ import annotations

from detectors.segment import ValueFigures
from detectors.signal import Signal
from detectors.state import DAY, CustomerState
from detectors.warning import Assessment, apply, decide, suggest_actions

REGULAR = ValueFigures("regular", 400.0, 4, 100.0)


def _raised(now=100):
    s = CustomerState("c", last_event=now)
    hot = Assessment("c", now, 0.72, 2, REGULAR, (), ())
    return apply(s, hot, decide(s, hot))


def test_a_warning_does_not_clear_without_an_event_after_the_one_that_raised_it():
    s = _raised(now=100)                       # raised by the event at 100: last_event == raised_at
    calm = Assessment("c", 200, 0.1, 0, REGULAR, (), ())
    assert s.raised_at == s.last_event == 100
    assert decide(s, calm) is None
    s.last_event = 101
    assert decide(s, calm).state == "cleared"


def test_a_warning_clears_only_below_clear_below():
    s = _raised()
    s.last_event = 150
    assert decide(s, Assessment("c", 200, 0.9, 0, REGULAR, (), (), rule_risk=0.4)) is None
    assert decide(s, Assessment("c", 200, 0.9, 0, REGULAR, (), (), rule_risk=0.399)).state == "cleared"


def _quiet(strength=0.6):
    return Signal("silence", strength, 40, 7, "days since last activity", 40, "no activity for 40 days")


def test_a_personal_call_is_for_a_core_customer_at_warning_not_at_watch():
    core = ValueFigures("core", 5000.0, 20, 100.0)
    s = CustomerState("c")
    assert "personal_call" not in [a.action for a in suggest_actions(s, 100 * DAY, [_quiet()], 1, core)]
    assert "personal_call" in [a.action for a in suggest_actions(s, 100 * DAY, [_quiet()], 2, core)]


def test_loyalty_points_from_exactly_a_year_of_tenure():
    s = CustomerState("c")
    year = ValueFigures("regular", 400.0, 4, 365.0)
    assert "loyalty_points" in [a.action for a in suggest_actions(s, 100 * DAY, [_quiet()], 2, year)]
    short = ValueFigures("regular", 400.0, 4, 364.0)
    assert "loyalty_points" not in [a.action for a in suggest_actions(s, 100 * DAY, [_quiet()], 2, short)]


def test_a_cancelled_order_is_not_still_ordering_for_an_activity_drop():
    now = 100 * DAY
    drop = Signal("activity_drop", 0.7, 2, 12, "logins per 28 days", 28, "active on 2 of the last 28 days")
    cancelled = CustomerState("c", orders=[[now - 5 * DAY, 50.0, "EUR", 1, 1, None]])   # status 1: cancelled
    placed = CustomerState("c", orders=[[now - 5 * DAY, 50.0, "EUR", 0, 1, None]])
    assert [a.action for a in suggest_actions(cancelled, now, [drop], 1, REGULAR)] == ["win_back"]
    assert [a.action for a in suggest_actions(placed, now, [drop], 1, REGULAR)] == ["targeted_offer"]


def test_an_escalation_keeps_the_kinds_the_warning_was_raised_on():
    s = CustomerState("c", last_event=100)
    first = Assessment("c", 100, 0.6, 1, REGULAR, (_quiet(),), ())
    s = apply(s, first, decide(s, first))
    spend = Signal("order_value_drop", 0.9, 20, 80, "EUR per order", 90, "smaller baskets")
    worse = Assessment("c", 200, 0.9, 2, REGULAR, (spend,), ())
    t = decide(s, worse)
    assert t.state == "escalated"
    assert apply(s, worse, t).kinds == ["order_value_drop", "silence"]


def test_a_signal_at_exactly_the_alarm_strength_gets_its_action():
    acts = suggest_actions(CustomerState("c"), 100 * DAY, [_quiet(0.5)], 1, REGULAR)
    assert [a.action for a in acts] == ["win_back"]
