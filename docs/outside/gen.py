#!/usr/bin/env python3
"""A customer-history generator independent of `churnwatch simulate`, for an outside check of the warnings.

Writes a replay file (JSON Lines, one event per line with a `type`) and two truth files:
  truth_full.csv  - its ground truth (scenario, change_at, last activity, breaks, ...)
  truth_eval.csv  - the same in the column layout `churnwatch evaluate --truth` reads

Usage: python gen.py [--out DIR] [--seed N] [--scale F]
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
from datetime import datetime, timedelta, timezone

import numpy as np

UTC = timezone.utc
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2025, 3, 31, tzinfo=UTC)
DAY = 86400.0

PROMO = dict(kind="competitor_promotion", category="electronics", strength=0.8,
             start=datetime(2024, 10, 15, tzinfo=UTC), end=datetime(2024, 11, 30, tzinfo=UTC))
PRICE_CUT = dict(kind="competitor_price_cut", category="grocery", strength=0.6,
                 start=datetime(2024, 3, 1, tzinfo=UTC), end=datetime(2024, 4, 15, tzinfo=UTC))

# population: (scenario, count, changed)
MIX = [
    # stayers
    ("stay_b2b", 40, 0), ("stay_daily_app", 35, 0), ("stay_grocery", 40, 0),
    ("stay_seasonal", 30, 0), ("stay_orders_only", 40, 0), ("stay_browser", 30, 0),
    ("stay_bursty", 30, 0), ("stay_holiday", 30, 0), ("stay_complaint_resolved", 25, 0),
    ("stay_promo_electronics", 25, 0),
    # changed
    ("chg_freq_60d", 25, 1), ("chg_freq_60d_ordersonly", 20, 1), ("chg_aov_drop", 30, 1),
    ("chg_activity_drop", 30, 1), ("chg_silent", 40, 1), ("chg_complaint_fade", 30, 1),
    ("chg_drift_promo", 30, 1), ("chg_drift_nopromo", 20, 1),
]


def ts(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def fmt(t: float, off_h: int) -> str:
    d = ts(t).astimezone(timezone(timedelta(hours=off_h)))
    s = d.isoformat(timespec="seconds")
    return s.replace("+00:00", "Z")


class Cust:
    def __init__(self, rng, cid, scenario, changed):
        self.rng, self.cid, self.scenario, self.changed = rng, cid, scenario, changed
        self.events: list[tuple[float, dict]] = []
        self.n = 0
        self.off = int(rng.choice([0, 0, 1, 2, -5, 9]))
        self.breaks: list[tuple[float, float]] = []
        self.truth = dict(customer_id=cid, scenario=scenario, changed=changed, change_at="",
                          cause="", currency="", category="", notes="")

    def eid(self):
        self.n += 1
        return f"{self.cid}-e{self.n:05d}"

    def add(self, t, typ, **f):
        self.events.append((t, dict(type=typ, event_id=self.eid(), customer_id=self.cid,
                                    occurred_at=fmt(t, self.off), **f)))

    # --- processes -------------------------------------------------------
    def renewal(self, t0, t1, mean_gap, shape, mult=None, first=None):
        rng = self.rng
        t = first if first is not None else t0 + rng.uniform(0, mean_gap)
        out = []
        while t < t1:
            m = mult(t) if mult else 1.0
            if m <= 0.02:
                break
            out.append(t)
            t += rng.gamma(shape, mean_gap * DAY / shape) / m
        return out

    def daily(self, t0, t1, per_month, mult=None, hours=(7, 23)):
        rng = self.rng
        p = per_month / 30.4
        out = []
        d = math.floor(t0 / DAY) * DAY
        while d < t1:
            m = mult(d) if mult else 1.0
            pp = min(0.97, p * m)
            if rng.random() < pp:
                k = 1 + (rng.random() < 0.15 * pp)
                for _ in range(k):
                    out.append(d + rng.uniform(hours[0], hours[1]) * 3600)
            d += DAY
        return [t for t in out if t0 <= t < t1]

    def session(self, t, channel, cat, pv_mean=2.0, dwell_mu=4.0, pages=None):
        self.add(t, "login", channel=channel, success=True)
        sid = f"s{self.n}"
        k = 1 + self.rng.poisson(pv_mean)
        tt = t
        for _ in range(k):
            tt += self.rng.uniform(5, 90)
            dwell = float(round(min(3000.0, self.rng.lognormal(dwell_mu, 0.7)), 1))
            page = self.rng.choice(pages or ["/home", f"/c/{cat}", f"/p/{cat}-{self.rng.integers(1, 400)}", "/cart", "/account"])
            self.add(tt, "page_view", page=str(page), dwell_seconds=dwell, category=cat, session_id=sid)
            tt += dwell

    def order(self, t, amount, cur, cat, status="placed", oid=None, items=None):
        oid = oid or f"{self.cid}-o{self.n:05d}"
        self.add(t, "order", order_id=oid, amount=float(round(amount, 2 if cur != "JPY" else 0)),
                 currency=cur, status=status, items=int(items or 1 + self.rng.poisson(1.5)), category=cat)
        return oid

    def complaint(self, t, kid, status, cat, sev):
        self.add(t, "complaint", complaint_id=kid, status=status, category=cat, severity=sev)

    def add_break(self, year, lo_days=14, hi_days=28):
        rng = self.rng
        L = rng.uniform(lo_days, hi_days) * DAY
        month = rng.choice([7, 8, 12])
        b0 = datetime(year, int(month), int(rng.integers(1, 20)), tzinfo=UTC).timestamp()
        self.breaks.append((b0, b0 + L))

    def finish(self):
        evs = []
        for t, e in self.events:
            if t < START.timestamp() or t >= END.timestamp():
                continue
            if any(b0 <= t < b1 for b0, b1 in self.breaks):
                continue
            evs.append((t, e))
        evs.sort(key=lambda x: x[0])
        self.events = evs
        acts = [t for t, e in evs]
        self.truth["last_active_at"] = fmt(max(acts), 0) if acts else ""
        self.truth["breaks"] = ";".join(f"{fmt(a,0)[:10]}..{fmt(b,0)[:10]}" for a, b in self.breaks)
        # usual gap between active days before change (or whole period)
        ch = self.truth.get("_change_ts") or END.timestamp()
        days = sorted({int(t // DAY) for t in acts if t < ch})
        gaps = np.diff(days) if len(days) > 1 else np.array([0])
        self.truth["usual_gap_days"] = round(float(np.mean(gaps)) if len(days) > 1 else 0.0, 1)
        self.truth["n_events"] = len(evs)
        self.truth["n_orders"] = sum(1 for _, e in evs if e["type"] == "order" and e["status"] == "placed")
        self.truth["n_orders_before_change"] = sum(1 for t, e in evs if e["type"] == "order" and e["status"] == "placed" and t < ch)
        self.truth["n_orders_after_change"] = self.truth["n_orders"] - self.truth["n_orders_before_change"]


def set_change(c, t, cause):
    c.truth["_change_ts"] = t
    c.truth["change_at"] = fmt(t, 0)
    c.truth["cause"] = cause


def rand_time(rng, a: datetime, b: datetime) -> float:
    return rng.uniform(a.timestamp(), b.timestamp())


def build(c: Cust):
    rng, s = c.rng, c.scenario
    t0 = START.timestamp() + rng.uniform(0, 30) * DAY
    t1 = END.timestamp()
    T = c.truth

    def web_orders(times, amt, cur, cat, channel="web", pv=2.0, returns=0.02):
        for t in times:
            c.session(t - rng.uniform(120, 900), channel, cat, pv_mean=pv)
            oid = c.order(t, amt(t), cur, cat)
            if rng.random() < returns:
                c.order(t + rng.uniform(5, 20) * DAY, amt(t), cur, cat, status="returned", oid=oid)

    def logins(times, channel, cat, pv=2.0, dwell_mu=4.0):
        for t in times:
            c.session(t, channel, cat, pv_mean=pv, dwell_mu=dwell_mu)

    if s == "stay_b2b":
        cur, cat = "USD", "office-supplies"
        times = c.renewal(t0, t1, rng.uniform(21, 35), 5.0)
        base = rng.uniform(2500, 9000)
        web_orders(times, lambda t: base * rng.lognormal(0, 0.25), cur, cat, pv=4)
        logins(c.daily(t0, t1, rng.uniform(2, 5), hours=(8, 17)), "web", cat, pv=3)
        if rng.random() < 0.5:
            c.add_break(2023); c.add_break(2024)
    elif s == "stay_daily_app":
        cur, cat = "EUR", "media"
        logins(c.daily(t0, t1, rng.uniform(20, 27)), "app", cat, pv=2.5, dwell_mu=4.5)
        web_orders(c.renewal(t0, t1, rng.uniform(60, 120), 2.0), lambda t: rng.uniform(20, 70), cur, cat, channel="app")
        if rng.random() < 0.4:
            c.add_break(2024)
    elif s == "stay_grocery":
        cur, cat = "GBP", "grocery"
        times = c.renewal(t0, t1, rng.uniform(6, 9), 6.0)
        web_orders(times, lambda t: rng.uniform(55, 130), cur, cat, channel="app", pv=3, returns=0.0)
        logins(c.daily(t0, t1, rng.uniform(1, 4)), "app", cat)
        if rng.random() < 0.5:
            c.add_break(2023, 10, 18); c.add_break(2024, 10, 18)
    elif s == "stay_seasonal":
        cur, cat = "EUR", "garden"
        seasons = [[(3, 1), (5, 31)], [(11, 1), (12, 31)], [(6, 1), (8, 31)]][rng.integers(0, 3)]
        T["notes"] = f"season {seasons}"
        for y in (2023, 2024, 2025):
            a = datetime(y, *seasons[0], tzinfo=UTC).timestamp()
            b = datetime(y, *seasons[1], 23, tzinfo=UTC).timestamp()
            a, b = max(a, t0), min(b, t1)
            if a >= b:
                continue
            web_orders(c.renewal(a, b, rng.uniform(8, 14), 3.0), lambda t: rng.uniform(40, 250), cur, cat)
            logins(c.daily(a, b, rng.uniform(8, 14)), "web", cat)
    elif s == "stay_orders_only":
        cur = "JPY" if rng.random() < 0.3 else "EUR"
        cat = "beauty"
        times = c.renewal(t0, t1, rng.uniform(25, 45), 2.0)
        for t in times:
            c.order(t, rng.uniform(6000, 18000) if cur == "JPY" else rng.uniform(40, 120), cur, cat)
    elif s == "stay_browser":
        cur, cat = "EUR", "fashion"
        logins(c.daily(t0, t1, rng.uniform(8, 14)), rng.choice(["web", "app"]), cat, pv=4, dwell_mu=4.2)
        web_orders(c.renewal(t0, t1, rng.uniform(100, 160), 1.5), lambda t: rng.uniform(30, 200), cur, cat)
    elif s == "stay_bursty":
        cur, cat = "EUR", "toys"
        starts = c.renewal(t0, t1, rng.uniform(40, 70), 1.2)
        base = rng.uniform(60, 200)
        for st in starts:
            k = int(rng.integers(2, 5))
            times = sorted(st + rng.uniform(0, 7, k) * DAY)
            web_orders([t for t in times if t < t1], lambda t: base * rng.lognormal(0, 0.6), cur, cat)
            logins(c.daily(st - 10 * DAY, st + 10 * DAY, 15), "web", cat)
        logins(c.daily(t0, t1, 1.5), "web", cat)
    elif s == "stay_holiday":
        cur, cat = "EUR", "sports"
        web_orders(c.renewal(t0, t1, rng.uniform(25, 35), 4.0), lambda t: rng.uniform(50, 180), cur, cat)
        logins(c.daily(t0, t1, rng.uniform(10, 15)), "app", cat)
        c.add_break(2023, 14, 28); c.add_break(2024, 14, 28)
    elif s == "stay_complaint_resolved":
        cur, cat = "EUR", "home"
        web_orders(c.renewal(t0, t1, rng.uniform(18, 30), 3.0), lambda t: rng.uniform(60, 160), cur, cat)
        logins(c.daily(t0, t1, rng.uniform(6, 10)), "web", cat)
        k = int(rng.integers(1, 4))
        res = []
        for j in range(k):
            tc = rand_time(rng, datetime(2023, 9, 1, tzinfo=UTC), datetime(2025, 1, 31, tzinfo=UTC))
            kid = f"{c.cid}-k{j}"
            ccat = str(rng.choice(["product", "logistics", "service"]))
            c.complaint(tc, kid, "opened", ccat, str(rng.choice(["low", "medium"])))
            h = float(rng.choice([rng.uniform(2, 20), rng.uniform(26, 48)], p=[0.75, 0.25]))
            c.complaint(tc + h * 3600, kid, "resolved", ccat, "low")
            res.append(f"{fmt(tc,0)[:10]}:{ccat}:resolved_after_{h:.0f}h")
        T["notes"] = ";".join(res)
    elif s == "stay_promo_electronics":
        cur, cat = "EUR", "electronics"
        web_orders(c.renewal(t0, t1, rng.uniform(25, 45), 3.0), lambda t: rng.uniform(80, 400), cur, cat)
        logins(c.daily(t0, t1, rng.uniform(5, 10)), "web", cat)
        T["notes"] = "exposed to electronics promo, not drifting"
    elif s in ("chg_freq_60d", "chg_freq_60d_ordersonly"):
        cur, cat = "EUR", "fashion"
        tc = rand_time(rng, datetime(2024, 7, 1, tzinfo=UTC), datetime(2024, 9, 30, tzinfo=UTC))
        set_change(c, tc, "purchase_frequency")
        times = [t for t in c.renewal(t0, tc, rng.uniform(55, 65), 8.0)]
        # exactly one order in the six months after change, then nothing
        one = tc + rng.uniform(20, 150) * DAY
        times.append(one)
        T["notes"] = f"single order after change at {fmt(one,0)[:10]}"
        amt = lambda t: rng.uniform(120, 350)
        if s == "chg_freq_60d":
            web_orders(times, amt, cur, cat, returns=0.0)
            logins(c.daily(t0, t1, rng.uniform(2, 4)), "app", cat)  # logins unchanged
            T["notes"] += "; logins continue unchanged"
        else:
            for t in times:
                c.order(t, amt(t), cur, cat)
    elif s == "chg_aov_drop":
        cur, cat = "EUR", "furniture"
        tc = rand_time(rng, datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 9, 30, tzinfo=UTC))
        set_change(c, tc, "order_value")
        times = c.renewal(t0, t1, rng.uniform(14, 24), 5.0)
        web_orders(times, lambda t: rng.uniform(500, 1000) if t < tc else rng.uniform(200, 300), cur, cat, returns=0.0)
        logins(c.daily(t0, t1, rng.uniform(4, 8)), "web", cat)
    elif s == "chg_activity_drop":
        cur, cat = "EUR", "books"
        tc = rand_time(rng, datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 9, 30, tzinfo=UTC))
        set_change(c, tc, "activity")
        # orders unchanged, placed without a login session
        for t in c.renewal(t0, t1, rng.uniform(28, 35), 4.0):
            c.order(t, rng.uniform(30, 90), cur, cat)
        pre, post = rng.uniform(10, 15), rng.uniform(2, 3)
        for t in c.daily(t0, tc, pre):
            c.session(t, "app", cat, pv_mean=3.0, dwell_mu=4.5)
        for t in c.daily(tc, t1, post):
            c.session(t, "app", cat, pv_mean=1.0, dwell_mu=3.5)
        T["notes"] = f"logins/month {pre:.1f} -> {post:.1f}"
    elif s == "chg_silent":
        sub = ["grocery", "b2b", "daily_app", "orders_only_jpy"][c.n_sub]
        tc = rand_time(rng, datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 10, 31, tzinfo=UTC))
        set_change(c, tc, "silence")
        T["notes"] = f"subtype {sub}"
        T["scenario"] = f"chg_silent_{sub}"
        if sub == "grocery":
            web_orders(c.renewal(t0, tc, rng.uniform(6, 9), 6.0), lambda t: rng.uniform(55, 130), "GBP", "grocery", channel="app", pv=3, returns=0.0)
            logins(c.daily(t0, tc, rng.uniform(1, 4)), "app", "grocery")
        elif sub == "b2b":
            base = rng.uniform(2500, 9000)
            web_orders(c.renewal(t0, tc, rng.uniform(21, 35), 5.0), lambda t: base * rng.lognormal(0, 0.25), "USD", "office-supplies", pv=4)
            logins(c.daily(t0, tc, rng.uniform(2, 5), hours=(8, 17)), "web", "office-supplies", pv=3)
        elif sub == "daily_app":
            logins(c.daily(t0, tc, rng.uniform(20, 27)), "app", "media", pv=2.5, dwell_mu=4.5)
            web_orders(c.renewal(t0, tc, rng.uniform(60, 120), 2.0), lambda t: rng.uniform(20, 70), "EUR", "media", channel="app")
        else:
            for t in c.renewal(t0, tc, rng.uniform(25, 45), 2.0):
                c.order(t, rng.uniform(6000, 18000), "JPY", "beauty")
    elif s == "chg_complaint_fade":
        cur, cat = "EUR", "home"
        tc = rand_time(rng, datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 9, 30, tzinfo=UTC))
        set_change(c, tc, "complaints")
        D = rng.uniform(90, 150) * DAY
        mult = lambda t: 1.0 if t < tc else max(0.0, 1 - (t - tc) / D)
        web_orders(c.renewal(t0, t1, rng.uniform(18, 30), 3.0, mult), lambda t: rng.uniform(60, 160), cur, cat)
        logins(c.daily(t0, t1, rng.uniform(6, 10), mult), "web", cat)
        k = int(rng.integers(2, 5))
        tcs = [tc + o * DAY for o in [0.0] + sorted(rng.uniform(1, 21, k - 1).tolist())]
        info = []
        for j, t in enumerate(tcs):
            kid = f"{c.cid}-k{j}"
            ccat = str(rng.choice(["product", "logistics", "service"]))
            sev = str(rng.choice(["medium", "high"]))
            c.complaint(t, kid, "opened", ccat, sev)
            if rng.random() < 0.5:
                c.complaint(t + rng.uniform(3, 7) * DAY, kid, "escalated", ccat, "high")
            info.append(ccat)
        T["notes"] = f"{k} unresolved complaints ({','.join(info)}); fade over {D/DAY:.0f} days"
    elif s in ("chg_drift_promo", "chg_drift_nopromo"):
        cur = "EUR"
        cat = "electronics" if s == "chg_drift_promo" else "garden-tools"
        tc = rand_time(rng, datetime(2024, 8, 15, tzinfo=UTC), datetime(2024, 9, 30, tzinfo=UTC))
        set_change(c, tc, "drift")
        D = rng.uniform(100, 160) * DAY
        mult = lambda t: 1.0 if t < tc else max(0.0, 1 - (t - tc) / D)
        web_orders(c.renewal(t0, t1, rng.uniform(25, 45), 3.0, mult), lambda t: rng.uniform(80, 400), cur, cat)
        logins(c.daily(t0, t1, rng.uniform(5, 10), mult), "web", cat)
        T["notes"] = f"linear fade to zero over {D/DAY:.0f} days" + ("; promo 2024-10-15" if cat == "electronics" else "")
    else:
        raise ValueError(s)
    T["currency"] = T["currency"] or ""
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/outside/data")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    custs = []
    i = 0
    for scen, n, ch in MIX:
        n = max(1, round(n * a.scale))
        for j in range(n):
            c = Cust(rng, f"bx{i:04d}", scen, ch)
            c.n_sub = j % 4
            build(c)
            c.finish()
            custs.append(c)
            i += 1
    events = [ev for c in custs for ev in c.events]
    for m, nm in ((PROMO, "mkt-promo-1"), (PRICE_CUT, "mkt-cut-1")):
        events.append((m["start"].timestamp(), dict(type="market_event", event_id=nm, occurred_at=fmt(m["start"].timestamp(), 0),
                                                     kind=m["kind"], category=m["category"], strength=m["strength"],
                                                     ends_at=fmt(m["end"].timestamp(), 0))))
    events.sort(key=lambda x: x[0])
    with open(os.path.join(a.out, "events.jsonl"), "w") as f:
        for _, e in events:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    cols = ["customer_id", "scenario", "changed", "change_at", "last_active_at", "cause", "usual_gap_days",
            "n_events", "n_orders", "n_orders_before_change", "n_orders_after_change", "breaks", "notes"]
    with open(os.path.join(a.out, "truth_full.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for c in custs:
            w.writerow(c.truth)
    # layout of `churnwatch evaluate --truth` (columns learned from `churnwatch simulate` output)
    with open(os.path.join(a.out, "truth_eval.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"])
        for c in custs:
            t = c.truth
            w.writerow([t["customer_id"], t["changed"], t["scenario"], t["change_at"], t["last_active_at"], t["cause"], t["usual_gap_days"]])
    print(f"{len(custs)} customers, {len(events)} events -> {a.out}/events.jsonl; period {START.date()}..{END.date()}")


if __name__ == "__main__":
    main()
