"""CHURNWATCH_FALSE_ALARM_SCALE chooses the operating point: a larger alarm budget warns the
same customer sooner, a smaller one later, and rules that are not a budget do not move."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from detectors.warning import DetectorParams, with_false_alarm_scale
from streams.offline import run_offline
from streams.settings import Settings, SettingsError

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


def _ts(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _first_warning(lines: list[bytes], scale: float, kind: str, end: datetime) -> dict:
    result = run_offline(Settings(false_alarm_scale=scale, publish_min_level="watch"), lines, advance_to=end)
    raised = [w for w in result.warnings if w["state"] == "raised"
              and any(s["kind"] == kind for s in w["signals"])]
    assert raised, f"no {kind} warning at scale {scale}"
    return raised[0]


def test_a_larger_budget_warns_a_silent_customer_sooner_and_a_smaller_one_later():
    # A login every three days for twelve weeks, then nothing.
    lines = [json.dumps({"type": "login", "event_id": f"l{d}", "customer_id": "c1", "channel": "web",
                         "occurred_at": _ts(T0 + timedelta(days=d))}).encode() for d in range(0, 84, 3)]
    end = T0 + timedelta(days=200)
    quiet = {}
    for scale in (0.25, 1.0, 4.0):
        w = _first_warning(lines, scale, "silence", end)
        (sig,) = [s for s in w["signals"] if s["kind"] == "silence"]
        quiet[scale] = sig["current"]                     # days since the last login when it was raised
        # The evidence is the quiet at the warning's own event time.
        raised_at = datetime.fromisoformat(w["occurred_at"].replace("Z", "+00:00"))
        assert (raised_at - (T0 + timedelta(days=81))).total_seconds() / 86400 == pytest.approx(sig["current"], abs=0.01)
    assert quiet[4.0] < quiet[1.0] < quiet[0.25]
    assert quiet[1.0] >= 14.0                             # silence's floor holds at every scale
    assert quiet[4.0] >= 14.0


def test_a_smaller_basket_fires_at_a_larger_budget_only():
    # Monthly orders of 70-135 for a year and a half, then three of 48-55: half the usual
    # basket, z = -3.8 (P 0.0011), under the alarm of the windows tried at the default
    # budget and over it at four times the budget.
    amounts = [100, 75, 130, 85, 120, 70, 135, 80, 115, 90, 125, 78, 110, 88, 128, 72, 118, 95, 48, 55, 50]
    lines = [json.dumps({"type": "order", "event_id": f"o{i}", "customer_id": "c2", "order_id": f"o{i}",
                         "amount": amount, "currency": "EUR", "status": "placed",
                         "occurred_at": _ts(T0 + timedelta(days=30 * i))}).encode()
             for i, amount in enumerate(amounts)]
    end = T0 + timedelta(days=30 * (len(amounts) - 1) + 1)

    def order_value(scale: float) -> dict:
        result = run_offline(Settings(false_alarm_scale=scale), lines, advance_to=end)
        (row,) = [r for r in result.snapshot if r["customer_id"] == "c2"]
        (sig,) = [s for s in row["signals"] if s["kind"] == "order_value_drop"]
        return sig

    default, wide = order_value(1.0), order_value(4.0)
    assert default["strength"] < 0.5 <= wide["strength"]          # FIRE is 0.5
    # The same evidence either way: only the alarm moved.
    assert default["detail"] == wide["detail"] and "51% of usual" in wide["detail"]


def test_rules_that_are_not_a_budget_keep_their_values():
    d = DetectorParams()
    wide = with_false_alarm_scale(d, 10.0)
    assert wide.complaints == d.complaints and wide.competitor == d.competitor and wide.warning == d.warning
    assert wide.silence.alive_fire == d.silence.alive_fire and wide.silence.floor_days == d.silence.floor_days
    assert wide.activity.hold_p == d.activity.hold_p and wide.activity.max_ratio == d.activity.max_ratio
    assert wide.order_value.max_ratio == d.order_value.max_ratio
    assert with_false_alarm_scale(d, 0.1).order_value.max_z < d.order_value.max_z < wide.order_value.max_z


def test_an_unusable_scale_is_refused_with_the_variable_named():
    with pytest.raises(SettingsError, match="CHURNWATCH_FALSE_ALARM_SCALE"):
        Settings.from_env({"CHURNWATCH_FALSE_ALARM_SCALE": "0"})
    with pytest.raises(SettingsError, match="CHURNWATCH_FALSE_ALARM_SCALE"):
        Settings.from_env({"CHURNWATCH_FALSE_ALARM_SCALE": "many"})
