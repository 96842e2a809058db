"""One customer per signal, replayed through a worker: exactly the expected warnings."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from tests.integration.conftest import read_topic

pytestmark = pytest.mark.integration

T0 = datetime(2024, 1, 1, 9, tzinfo=timezone.utc)
END = 300


def z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def scenario() -> list[dict]:
    """Seven customers over 300 days: a steady one and one per signal."""
    rows: list[dict] = []
    n = [0]

    def ev(kind, cid, day, hour=0, **f):
        n[0] += 1
        rows.append({"type": kind, "event_id": f"{cid}-{n[0]}", "customer_id": cid,
                     "occurred_at": z(T0 + timedelta(days=day, hours=hour)), **f})

    def login(cid, day):
        ev("login", cid, day, channel="web")

    def view(cid, day, dwell=120):
        ev("page_view", cid, day, 1, page="/p", dwell_seconds=dwell)

    def order(cid, day, amount, cat="home"):
        ev("order", cid, day, 2, order_id=f"o{n[0]}", amount=amount, currency="EUR", category=cat)

    def complaint(cid, day, cid_, status, cat="logistics", sev="high", hour=3):
        ev("complaint", cid, day, hour, complaint_id=cid_, status=status, category=cat, severity=sev)

    # steady: logs in twice a week, orders every 30 days at ~80 EUR, all year
    for d in range(0, END, 3): login("steady", d); view("steady", d)
    for d in range(5, END, 30): order("steady", d, 80 + (d % 7))
    # silence: same rhythm until day 150, then nothing
    for d in range(0, 150, 3): login("silent", d); view("silent", d)
    for d in range(5, 150, 30): order("silent", d, 80)
    # purchase frequency drop: orders every 20 days until day 160, then none; keeps visiting
    for d in range(0, END, 3): login("fewer-orders", d); view("fewer-orders", d)
    for d in range(2, 160, 20): order("fewer-orders", d, 60)
    # order value drop: orders every 15 days at 500-1000 until day 180, then 200-300
    for d in range(0, END, 3): login("smaller-baskets", d); view("smaller-baskets", d)
    for i, d in enumerate(range(4, END, 15)): order("smaller-baskets", d, (500 + (i * 97) % 500) if d < 180 else (200 + (i * 37) % 100))
    # activity drop: logs in daily until day 180, then once a week; orders continue monthly
    for d in range(0, END): 
        if d < 180 or d % 7 == 0: login("less-active", d); view("less-active", d)
    for d in range(6, END, 30): order("less-active", d, 70)
    # complaint increase: steady, then an escalated high-severity logistics complaint left unresolved
    for d in range(0, END, 3): login("complainer", d); view("complainer", d)
    for d in range(5, END, 30): order("complainer", d, 90)
    complaint("complainer", 200, "k1", "opened"); complaint("complainer", 201, "k1", "escalated")
    complaint("complainer", 215, "k2", "opened"); complaint("complainer", 230, "k3", "opened")
    # competitor pressure: concentrated in electronics, orders thin out, then a rival's promotion
    for d in range(0, END, 3): login("lured", d); view("lured", d)
    for d in range(2, 160, 20): order("lured", d, 120, cat="electronics")
    rows.append({"type": "market_event", "event_id": "m1", "occurred_at": z(T0 + timedelta(days=170)),
                 "kind": "competitor_promotion", "category": "electronics", "strength": 0.9,
                 "ends_at": z(T0 + timedelta(days=230))})
    rows.sort(key=lambda r: r["occurred_at"])
    return rows


# customer -> (kind of the first raise, an action it must suggest, highest level reached)
EXPECTED = {
    "silent": ("silence", "win_back", "critical"),
    "fewer-orders": ("purchase_frequency_drop", "win_back", "critical"),
    "smaller-baskets": ("order_value_drop", "targeted_offer", "critical"),
    # still ordering every month: an offer on what they buy, not a win-back (detectors.warning)
    "less-active": ("activity_drop", "targeted_offer", "critical"),
    # service recovery at once (watch, kept in the state: the topic carries levels >= warning
    # by default); once the escalated high-severity complaint has gone unanswered for two
    # weeks it is churn evidence in full (detectors.complaints)
    "complainer": ("complaint_increase", "service_recovery", "critical"),
    "lured": ("competitor_pressure", "targeted_offer", "critical"),
}
LEVELS = ["watch", "warning", "critical"]


def test_each_signal_raises_its_warning_and_the_steady_customer_none(settings_factory, start_worker, run_cli, tmp_path):
    settings = settings_factory()
    start_worker(settings)
    path = tmp_path / "scenario.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in scenario()))
    done = run_cli(settings, "replay", str(path), "--advance-to", z(T0 + timedelta(days=END + 1)))
    assert done.returncode == 0, done.stderr
    warnings = [orjson.loads(r.value) for r in read_topic(settings, settings.warnings_topic, min_count=len(EXPECTED),
                                                          idle=3.0)]
    assert {w["level"] for w in warnings} <= {"warning", "critical"}, "published from `warning` on by default"

    by_customer: dict[str, list[dict]] = {}
    for w in warnings:
        by_customer.setdefault(w["customer_id"], []).append(w)
    assert set(by_customer) == set(EXPECTED), "the steady customer is never warned; every other one is"
    for cid, (kind, action, top_level) in EXPECTED.items():
        mine = sorted(by_customer[cid], key=lambda w: w["occurred_at"])
        first = mine[0]
        assert first["state"] == "raised"
        assert kind in [s["kind"] for s in first["signals"]], (cid, first["signals"])
        assert action in [a["action"] for a in first["suggested_actions"]], (cid, first["suggested_actions"])
        reached = max(LEVELS.index(w["level"]) for w in mine if w["state"] != "cleared")
        assert LEVELS[reached] == top_level, (cid, [(w["state"], w["level"]) for w in mine])
        evidence = next(s for s in first["signals"] if s["kind"] == kind)
        # Evidence in the customer's own numbers: a rate or amount fell, or a wait grew.
        if evidence["unit"].startswith("days"):
            assert evidence["current"] > evidence["baseline"], evidence
        elif kind in ("purchase_frequency_drop", "order_value_drop", "activity_drop"):
            assert evidence["current"] < evidence["baseline"], evidence
    assert len({w["warning_id"] for w in warnings}) == len(warnings), "no warning repeated"
