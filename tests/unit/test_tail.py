"""How `churnwatch tail` shows a warning to a person (no broker)."""

from __future__ import annotations

import orjson

from streams.tail import format_warning, render

WARNING = {
    "warning_id": "w-1",
    "customer_id": "cust-42",
    "state": "escalated",
    "level": "critical",
    "risk_score": 0.8649,
    "occurred_at": "2025-03-04T10:00:00+00:00",
    "emitted_at": "2025-11-01T08:00:00Z",
    "segment": "core",
    "signals": [
        {"kind": "silence", "current": 41, "baseline": 12.5, "unit": "days", "window_days": 56, "detail": "..."},
        {"kind": "order_value_drop", "current": 18.25, "baseline": 62, "unit": "EUR", "window_days": 30,
         "detail": "..."},
    ],
    "suggested_actions": [{"action": "personal_call", "reason": "x"}, {"action": "targeted_offer", "reason": "y"}],
    "model_version": "rules-1",
}


def test_readable_line_shows_event_time_state_customer_risk_evidence_and_actions():
    assert format_warning(WARNING) == (
        "2025-03-04T10:00Z  ESCALATED  critical  cust-42  core  risk=0.86  "
        "silence: 41 days vs usual 12.5 days; order_value_drop: 18.2 EUR vs usual 62 EUR  "
        "→ personal_call, targeted_offer"
    )


def test_a_warning_with_unknown_or_missing_fields_still_prints():
    line = format_warning({"customer_id": "c-1", "state": "raised", "future_field": [1, 2]})

    assert line == "?  RAISED  ?  c-1  ?  risk=?"


def test_json_mode_prints_the_record_exactly_as_on_the_topic():
    value = orjson.dumps(WARNING)

    assert render(value, as_json=True) == value.decode()


def test_a_record_that_is_not_a_json_object_is_shown_not_skipped():
    assert render(b"[1, 2]", as_json=False) == "unreadable warning: b'[1, 2]'"
    assert render(None, as_json=False) == "unreadable warning: b''"


def test_a_cleared_line_says_its_evidence_no_longer_fires():
    cleared = {**WARNING, "state": "cleared", "suggested_actions": [],
               "signals": [{"kind": "complaint_increase", "current": 1, "baseline": 0,
                            "unit": "complaints per 90 days", "detail": "1 complaint in 90 days; all resolved"}]}
    assert format_warning(cleared) == (
        "2025-03-04T10:00Z  CLEARED  critical  cust-42  core  risk=0.86  "
        "no longer firing: complaint_increase: 1 complaint per 90 days vs usual 0 complaints per 90 days")


def test_a_warning_about_an_unanswered_complaint_says_so():
    from streams.tail import format_signal

    signal = {"kind": "complaint_increase", "current": 1, "baseline": 0, "unit": "complaints per 90 days",
              "detail": "1 complaint in 90 days (logistics 1); unresolved: 1 past the 24 h deadline "
                        "(longest 30 h, high severity); no usual rate yet"}
    assert format_signal(signal) == ("complaint_increase: unresolved: 1 past the 24 h deadline "
                                     "(longest 30 h, high severity)")
    # a complaint warning about a rise only keeps the count
    rise = {**signal, "current": 3, "detail": "3 complaints in 90 days (logistics 3); usually 0.5"}
    assert format_signal(rise) == "complaint_increase: 3 complaints per 90 days vs usual 0 complaints per 90 days"
