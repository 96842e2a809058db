"""CHURNWATCH_CHURN_HORIZON_DAYS moves the risk score's gone probability, not only the model's labels."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from streams.offline import run_offline
from streams.settings import Settings

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


def _lines() -> list[bytes]:
    rows = [{"type": "login", "event_id": f"l{w}", "customer_id": "c1", "channel": "web",
             "occurred_at": (T0 + timedelta(days=7 * w)).isoformat().replace("+00:00", "Z")} for w in range(10)]
    return [json.dumps(r).encode() for r in rows]


def _risk(horizon_days: float) -> float:
    advance = T0 + timedelta(days=7 * 9 + 20)
    result = run_offline(Settings(churn_horizon_days=horizon_days), _lines(), advance_to=advance)
    (row,) = [r for r in result.snapshot if r["customer_id"] == "c1"]
    return row["rule_score"]


def test_a_shorter_churn_horizon_makes_the_same_quiet_spell_riskier():
    # "No activity within 30 days" is likelier than "within 180 days" for the same customer.
    short, default, long = _risk(30), _risk(90), _risk(180)
    assert short > default > long
