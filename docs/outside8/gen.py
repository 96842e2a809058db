#!/usr/bin/env python3
"""Outside population 8: long-cycle commerce (annual renewals, durable goods, travel
bookings, quarterly B2B replenishment, plus a minority of monthly-ish shop customers).

Written without reading Churnwatch's detection code. Writes, into --out:
  events.jsonl    replay format ({"type": ..., <contract fields>}), sorted by occurred_at
  truth_full.csv  one row per customer (column set of earlier populations)
  truth_eval.csv  customer_id,churned,persona,decline_started_at,last_active_at,cause,usual_gap_days

stdlib + numpy (jsonschema only for --validate). Same arguments -> byte-identical files.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

UTC = timezone.utc
P0 = date(2022, 1, 1)
P1 = date(2025, 6, 30)
ND = (P1 - P0).days + 1                       # 1277 days
START_TS = datetime(2022, 1, 1, tzinfo=UTC).timestamp()
END_TS = datetime(2025, 6, 30, 23, 59, 59, tzinfo=UTC).timestamp()
PR_D0 = (date(2024, 3, 1) - P0).days          # shop-wide price rise month (March 2024)
PR_D1 = (date(2024, 4, 1) - P0).days
PRICE_RISE = 1.07                             # prices x1.07 from 2024-03-01

COUNTRIES = [  # code, tz, currency, rate per EUR, weight, southern hemisphere
    ("DE", "Europe/Berlin", "EUR", 1.0, 0.21, False),
    ("FR", "Europe/Paris", "EUR", 1.0, 0.11, False),
    ("UK", "Europe/London", "GBP", 0.86, 0.14, False),
    ("SE", "Europe/Stockholm", "SEK", 11.3, 0.07, False),
    ("CH", "Europe/Zurich", "CHF", 0.95, 0.06, False),
    ("US-E", "America/New_York", "USD", 1.08, 0.14, False),
    ("US-W", "America/Los_Angeles", "USD", 1.08, 0.08, False),
    ("JP", "Asia/Tokyo", "JPY", 160.0, 0.09, False),
    ("AU", "Australia/Sydney", "AUD", 1.65, 0.10, True),
]
TZ = {c[1]: ZoneInfo(c[1]) for c in COUNTRIES}

ANNUAL_CATS = ["software", "insurance", "memberships"]
DURABLE_CATS = ["furniture", "electronics", "appliances"]
REGULAR_CATS = ["household", "beauty", "books", "fashion", "pet"]
B2B_CATS = ["office_supplies", "industrial_parts"]
ALL_CATS = ANNUAL_CATS + DURABLE_CATS + ["travel"] + REGULAR_CATS + B2B_CATS

# strong rival campaigns (category, start, days, strength); chg_travel_rival is tied to the travel ones
STRONG = [
    ("travel", date(2023, 9, 11), 28, 0.84),
    ("travel", date(2024, 2, 19), 35, 0.88),
    ("travel", date(2024, 9, 9), 28, 0.80),
    ("electronics", date(2024, 11, 18), 21, 0.78),
    ("software", date(2024, 6, 3), 30, 0.74),
]

# scenario, count, changed, cause, types
SCENARIOS = [
    ("stay_annual_ontime", 70, 0, "", ["annual"]),
    ("stay_annual_late", 45, 0, "", ["annual"]),
    ("stay_durable", 70, 0, "", ["durable"]),
    ("stay_durable_long_gap", 35, 0, "", ["durable"]),
    ("stay_travel_seasonal", 55, 0, "", ["travel"]),
    ("stay_travel_skip", 30, 0, "", ["travel"]),
    ("stay_complaint_resolved", 40, 0, "", ["regular", "durable", "travel", "annual"]),
    ("stay_app_shift", 35, 0, "", ["durable", "regular", "travel"]),
    ("stay_regular", 90, 0, "", ["regular"]),
    ("stay_b2b_quarterly", 40, 0, "", ["b2b"]),
    ("stay_new_joiner", 50, 0, "", ["regular", "durable", "travel", "annual"]),
    ("chg_annual_nonrenew", 30, 1, "silence", ["annual"]),
    ("chg_annual_price_complaint", 15, 1, "complaints", ["annual"]),
    ("chg_durable_stop", 35, 1, "drift", ["durable"]),
    ("chg_travel_rival", 30, 1, "drift", ["travel"]),
    ("chg_complaints_unresolved", 35, 1, "complaints", ["regular", "durable", "travel"]),
    ("chg_tradedown", 25, 1, "order_value", ["regular", "annual"]),
    ("chg_b2b_reduce", 20, 1, "purchase_frequency", ["b2b"]),
    ("chg_abrupt", 25, 1, "silence", ["regular", "durable", "travel", "annual"]),
    ("chg_regular_drift", 25, 1, "drift", ["regular"]),
]


def d2date(d):
    return P0 + timedelta(days=int(d))


def iso(ts):
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_ts(d):
    return datetime.combine(d2date(d), datetime.min.time(), UTC).timestamp()


def date_day(y, m, dd):
    return (date(y, m, dd) - P0).days


class Cust:
    def __init__(self, cid, idx, scen, changed, cause, typ, rng):
        self.cid, self.idx, self.scen, self.changed, self.cause, self.type = cid, idx, scen, changed, cause, typ
        self.rng = rng
        ci = rng.choice(len(COUNTRIES), p=np.array([c[4] for c in COUNTRIES]) / sum(c[4] for c in COUNTRIES))
        self.country, tzname, self.currency, self.rate, _, self.south = COUNTRIES[ci]
        self.tzname = tzname
        self.tz = TZ[tzname]
        self.evs = []          # (ts, type, fields)
        self.placed = []       # placed order timestamps
        self.nsess = self.nord = self.ncmp = 0
        self.start = 0
        self.stop_ts = END_TS  # nothing after
        self.change_ts = None
        self.shift_ts = None
        self.decline_end_ts = None
        self.full_exit = 0
        self.app_from = None   # day from which browsing is in the app
        self.notes = {}
        self.web_ch = "web" if rng.random() < 0.7 else "app"
        self.offset_events = tzname not in ("Europe/London",) and rng.random() < 0.25

    # ---- time helpers
    def local_ts(self, day, hour):
        dd = d2date(day)
        hour = min(max(hour, 0.0), 23.99)
        h = int(hour)
        m = int((hour - h) * 60)
        s = int(self.rng.integers(0, 60))
        return datetime(dd.year, dd.month, dd.day, h, m, s, tzinfo=self.tz).timestamp()

    def hour(self):
        r = self.rng
        if self.type == "b2b":
            return float(r.uniform(8.5, 16.5))
        u = r.random()
        if u < 0.55:
            return float(r.uniform(19, 22.8))
        if u < 0.75:
            return float(r.uniform(12, 14))
        if u < 0.87:
            return float(r.uniform(7.5, 9.5))
        return float(r.uniform(9.5, 23.5))

    # ---- event emitters
    def emit(self, ts, typ, fields):
        if START_TS <= ts <= self.stop_ts and ts <= END_TS:
            self.evs.append((int(round(ts)), typ, fields))
            return True
        return False

    def session(self, ts, pages, login_p, channel=None):
        r = self.rng
        day = int((ts - day_ts(0)) // 86400)
        app = self.app_from is not None and day >= self.app_from
        if channel is None:
            channel = "app" if app else self.web_ch
        if app:
            login_p = max(login_p, 0.9)
            pages = [p for i, p in enumerate(pages) if i == len(pages) - 1 or r.random() < 0.25]
        t = ts
        if r.random() < login_p:
            if r.random() < 0.03:
                self.emit(t, "login", {"customer_id": self.cid, "channel": channel, "success": False})
                t += int(r.integers(15, 70))
            f = {"customer_id": self.cid, "channel": channel}
            if r.random() < 0.5:
                f["success"] = True
            self.emit(t, "login", f)
            t += int(r.integers(3, 40))
        sid = f"{self.cid}-s{self.nsess}"
        self.nsess += 1
        for path, cat, dmean in pages:
            dwell = float(np.clip(r.lognormal(np.log(dmean), 0.7), 1, 3600))
            f = {"customer_id": self.cid, "page": path, "dwell_seconds": round(dwell, 1)}
            if cat is not None:
                f["category"] = cat
            if r.random() < 0.95:
                f["session_id"] = sid
            self.emit(t, "page_view", f)
            t += int(dwell) + int(r.integers(1, 12))
        return t

    def order(self, ts, amount_eur, cat, items=1, cancel_p=0.02, return_p=0.03, complaint_p=0.0):
        r = self.rng
        oid = f"{self.cid}-o{self.nord}"
        self.nord += 1
        amt = amount_eur * self.rate
        amt = float(round(amt)) if self.currency == "JPY" else round(amt, 2)
        f = {"customer_id": self.cid, "order_id": oid, "amount": amt, "currency": self.currency}
        if r.random() < 0.85:
            f["status"] = "placed"
        if items != 1 or r.random() < 0.5:
            f["items"] = int(items)
        if cat is not None:
            f["category"] = cat
        if not self.emit(ts, "order", f):
            return None
        self.placed.append(int(round(ts)))
        u = r.random()
        base = {k: v for k, v in f.items() if k != "status"}
        if u < cancel_p:
            self.emit(ts + int(r.integers(300, 5400)), "order", dict(base, status="cancelled"))
        elif u < cancel_p + return_p:
            self.emit(ts + int(r.integers(4, 30)) * 86400 + int(r.integers(0, 36000)), "order",
                      dict(base, status="returned"))
        if complaint_p and r.random() < complaint_p:
            self.complaint(ts + float(r.uniform(1, 8)) * 86400, str(r.choice(["logistics", "product", "billing", "service"])),
                           "low" if r.random() < 0.6 else "medium", "resolved")
        return ts

    def complaint(self, ts, cat, sev, outcome):
        """outcome: resolved (some via escalation / reopen) or unresolved (opened, escalated, reopened)."""
        r = self.rng
        cmp = f"{self.cid}-c{self.ncmp}"
        self.ncmp += 1
        def c(t, st, sv=sev):
            self.emit(t, "complaint", {"customer_id": self.cid, "complaint_id": cmp, "status": st,
                                       "category": cat, "severity": sv})
        c(ts, "opened")
        d = lambda a, b: float(r.uniform(a, b)) * 86400
        if outcome == "resolved":
            u = r.random()
            if u < 0.6:
                c(ts + d(0.5, 6), "resolved")
            elif u < 0.85:
                t2 = ts + d(1, 5)
                c(t2, "escalated", "high" if sev != "low" else "medium")
                c(t2 + d(1, 8), "resolved")
            else:
                t2 = ts + d(1, 4)
                c(t2, "resolved")
                t3 = t2 + d(2, 8)
                c(t3, "reopened")
                c(t3 + d(1, 6), "resolved")
        else:
            u = r.random()
            if u < 0.35:
                pass
            elif u < 0.75:
                c(ts + d(2, 9), "escalated", "high")
            else:
                t2 = ts + d(1, 5)
                c(t2, "resolved")
                c(t2 + d(2, 10), "reopened", "high")
        return ts


# ---------------------------------------------------------------- page generators
def pages_bg(c, cat):
    r = c.rng
    t = c.type
    n = int(r.integers(1, 5))
    out = [("/home", None, 15)]
    for _ in range(n - 1):
        if t == "annual":
            out.append((str(r.choice(["/account", f"/docs/{r.integers(1, 60)}", f"/news/{r.integers(1, 200)}",
                                      "/support/faq", "/plans"])), cat if r.random() < 0.5 else None, 45))
        elif t == "durable":
            out.append((str(r.choice([f"/c/{cat}", f"/p/{cat}/{r.integers(1000, 9999)}", f"/inspiration/{r.integers(1, 90)}",
                                      "/deals"])), cat, 50))
        elif t == "travel":
            out.append((str(r.choice([f"/destinations/{r.integers(1, 300)}", "/offers", f"/guides/{r.integers(1, 120)}",
                                      "/search"])), cat, 60))
        elif t == "regular":
            out.append((str(r.choice([f"/c/{cat}", f"/p/{cat}/{r.integers(100, 9999)}", "/deals", "/orders"])), cat, 35))
        else:
            out.append((str(r.choice(["/b2b/catalogue", "/b2b/account", "/b2b/invoices"])), cat, 40))
    return out


def pages_burst(c, cat, last):
    r = c.rng
    t = c.type
    n = int(r.integers(2, 8))
    out = [("/home", None, 12)]
    for _ in range(n):
        if t == "durable":
            sku = r.integers(1000, 9999)
            out.append((str(r.choice([f"/p/{cat}/{sku}", f"/p/{cat}/{sku}", f"/reviews/{sku}", f"/compare/{cat}",
                                      f"/c/{cat}"])), cat, 90))
        elif t == "travel":
            out.append((str(r.choice([f"/destinations/{r.integers(1, 300)}", "/search", f"/p/travel/{r.integers(1, 5000)}",
                                      "/offers"])), cat, 80))
        elif t == "annual":
            out.append((str(r.choice(["/account/plan", "/billing", "/plans"])), cat, 40))
        elif t == "b2b":
            out.append((str(r.choice(["/b2b/catalogue", f"/b2b/p/{r.integers(100, 999)}", "/b2b/reorder"])), cat, 60))
        else:
            out.append((str(r.choice([f"/p/{cat}/{r.integers(100, 9999)}", f"/c/{cat}"])), cat, 40))
    if last:
        if t == "b2b":
            out += [("/b2b/cart", cat, 60), ("/b2b/checkout/invoice", cat, 50)]
        elif t == "annual":
            out += [("/checkout", cat, 60)]
        else:
            out += [("/cart", cat, 30), ("/checkout", cat, 70)]
    return out[: 3 if t == "regular" and not last else None]


# ---------------------------------------------------------------- purchase plans
# a purchase: dict(day, amount, cat, items, lead, nburst, kind[, due])
def plan_annual(c, d0, d1):
    r = c.rng
    anniv = int(r.integers(1, 366))
    c.anniv = anniv
    c.base = float(r.uniform(90, 600))
    c.auto = r.random() < 0.4
    c.notes.update(anniv=d2date(anniv - 1).strftime("%m-%d"), base_eur=round(c.base), auto_renew=int(c.auto))
    out = []
    for y in (2022, 2023, 2024, 2025):
        due = (date(y, 1, 1) - P0).days + anniv - 1
        if due < d0 or due >= d1:
            continue
        pay = due if c.auto else due - int(r.integers(0, 11))
        out.append(dict(day=max(pay, 0), due=due, amount=c.base, cat=c.cat, items=1, lead=int(r.integers(3, 15)),
                        nburst=0 if c.auto else int(r.integers(1, 3)), kind="renewal"))
    return out


def plan_durable(c, d0, d1, first=None):
    r = c.rng
    out = []
    t = first if first is not None else d0 + int(r.integers(0, 200))
    while t < d1:
        cat = c.cat if r.random() < 0.8 else str(r.choice(DURABLE_CATS))
        day = t
        if 280 <= d2date(day).timetuple().tm_yday <= 320 and r.random() < 0.3:      # waits for Black Friday
            day = (date(d2date(day).year, 11, 24) - P0).days + int(r.integers(-3, 5))
        out.append(dict(day=day, amount=float(c.base * r.lognormal(0, 0.5)), cat=cat, items=int(r.integers(1, 4)),
                        lead=int(r.integers(14, 43)), nburst=int(r.integers(3, 9)), kind="purchase"))
        t = day + max(45, int(r.gamma(3.0, c.gap / 3.0)))
    return out


def plan_travel(c, d0, d1):
    r = c.rng
    out = []
    for y in (2021, 2022, 2023, 2024, 2025):
        for name, (ws, we), p in c.seasons:
            if r.random() >= p:
                continue
            mo, dd = c.pref[name]
            try:
                base = (date(y, mo, dd) - P0).days
            except ValueError:
                base = (date(y, mo, 28) - P0).days
            day = base + int(r.integers(-10, 11))
            if d0 <= day < d1:
                out.append(dict(day=day, amount=float(c.base * r.lognormal(0, 0.35)), cat=c.cat,
                                items=int(r.integers(1, 5)), lead=int(r.integers(7, 36)), nburst=int(r.integers(2, 7)),
                                kind=name))
    out.sort(key=lambda p: p["day"])
    return out


def plan_regular(c, d0, d1):
    r = c.rng
    out = []
    t = d0 + int(r.integers(0, max(2, int(c.gap))))
    while t < d1:
        if PR_D0 <= t < PR_D1 and r.random() < 0.35:     # price-rise month: some orders pushed out
            t += int(r.integers(7, 25))
            continue
        out.append(dict(day=t, amount=float(c.base * r.lognormal(0, 0.3)), cat=c.cat if r.random() < 0.85 else str(r.choice(REGULAR_CATS)),
                        items=int(r.integers(1, 7)), lead=int(r.integers(0, 3)), nburst=int(r.integers(0, 2)), kind="order"))
        g = float(r.gamma(4.0, c.gap / 4.0))
        if d2date(t).month in (11, 12):
            g *= 0.7
        t += max(3, int(g))
    return out


def plan_b2b(c, d0, d1):
    r = c.rng
    out = []
    for y in (2022, 2023, 2024, 2025):
        for q in (1, 4, 7, 10):
            day = (date(y, q, 1) - P0).days + c.qoff + int(r.integers(-5, 6))
            while d2date(day).weekday() >= 5:
                day += 1
            if d0 <= day < d1:
                out.append(dict(day=day, amount=float(c.base * r.lognormal(0, 0.25)), cat=c.cat if r.random() < 0.85 else str(r.choice(B2B_CATS)),
                                items=int(r.integers(10, 400)), lead=int(r.integers(1, 8)), nburst=int(r.integers(0, 2)), kind="quarterly"))
    return out


def setup_type(c):
    r = c.rng
    t = c.type
    if t == "annual":
        c.cat = str(r.choice(ANNUAL_CATS))
        c.bg = float(r.uniform(0.010, 0.028))
        c.gap = 365.0
    elif t == "durable":
        c.cat = str(r.choice(DURABLE_CATS))
        c.bg = float(r.uniform(0.012, 0.04))
        c.gap = float(r.uniform(120, 300))
        c.base = float(r.uniform(150, 1400))
    elif t == "travel":
        c.cat = "travel"
        c.bg = float(r.uniform(0.008, 0.03))
        c.base = float(r.uniform(300, 2200))
        seasons = [("spring", ((3, 1), (5, 31)), 0.95), ("autumn", ((9, 1), (11, 30)), 0.75),
                   ("january", ((1, 5), (2, 20)), 0.35), ("summer", ((6, 15), (8, 15)), 0.2)]
        if c.south:  # southern hemisphere: seasons six months apart
            seasons = [("spring", ((9, 1), (11, 30)), 0.95), ("autumn", ((3, 1), (5, 31)), 0.75),
                       ("january", ((7, 5), (8, 20)), 0.35), ("summer", ((12, 15), (2, 15)), 0.2)]
        c.seasons = seasons
        c.pref = {}
        for name, ((m0, d0), (m1, d1)), _ in seasons:
            span = ((m1 - m0) % 12) * 30 + d1 - d0
            k = int(r.integers(0, max(span, 1)))
            dd = date(2001, m0, d0) + timedelta(days=k)
            c.pref[name] = (dd.month, dd.day)
        c.gap = 365.0 / sum(p for _, _, p in seasons)
    elif t == "regular":
        c.cat = str(r.choice(REGULAR_CATS))
        c.bg = float(r.uniform(0.07, 0.2))
        c.gap = float(r.uniform(20, 45))
        c.base = float(r.uniform(25, 120))
    else:
        c.cat = str(r.choice(B2B_CATS))
        c.bg = float(r.uniform(0.006, 0.02))
        c.gap = 91.0
        c.base = float(r.uniform(1500, 9000))
        c.qoff = int(r.integers(3, 21))
    c.notes.update(type=t, country=c.country, cat=c.cat, bg_sessions_per_day=round(c.bg, 3), gap_days=round(c.gap))
    if t in ("durable", "travel", "regular", "b2b"):
        c.notes["basket_eur"] = round(c.base)


def plan(c, d0, d1, **kw):
    return {"annual": plan_annual, "durable": plan_durable, "travel": plan_travel, "regular": plan_regular,
            "b2b": plan_b2b}[c.type](c, d0, d1, **kw)


WD = np.array([(P0 + timedelta(days=d)).weekday() for d in range(ND)])
DOY = np.array([(P0 + timedelta(days=d)).timetuple().tm_yday for d in range(ND)])


def base_mult(c):
    if c.type == "b2b":
        m = np.where(WD >= 5, 0.05, 1.35)
    else:
        m = np.where(WD >= 5, 1.3, 0.88)
    if c.type in ("durable", "regular"):
        m[DOY >= 320] *= 1.3
    m[PR_D0:PR_D1] *= 0.6       # shop-wide price-rise month
    m[: c.start] = 0
    return m


def ramp(m, d0, length, floor):
    """multiply m from day d0 by a linear ramp 1 -> floor over `length` days, floor afterwards."""
    d0 = max(0, d0)
    for d in range(d0, ND):
        f = floor if d - d0 >= length else 1 + (floor - 1) * (d - d0) / length
        m[d] *= f


# ---------------------------------------------------------------- emission
def emit_all(c, purchases, mult, complaint_p=0.012):
    r = c.rng
    lp = {"annual": 0.7, "durable": 0.35, "travel": 0.45, "regular": 0.4, "b2b": 0.9}[c.type]
    # background sessions
    n = r.poisson(c.bg * mult)
    for d in np.nonzero(n)[0]:
        for _ in range(int(n[d])):
            c.session(c.local_ts(int(d), c.hour()), pages_bg(c, c.cat), lp)
    # purchases with their browsing
    for p in purchases:
        d = p["day"]
        if d < c.start or d >= ND:
            continue
        for k in range(p["nburst"]):
            bd = d - int(r.integers(1, max(2, p["lead"] + 1)))
            if bd >= c.start:
                c.session(c.local_ts(bd, c.hour()), pages_burst(c, p["cat"], False), lp)
        amt = p["amount"] * (PRICE_RISE if d >= PR_D0 else 1.0) * p.get("f", 1.0)
        if c.type == "annual" and c.auto and p.get("auto", True):
            ts = c.local_ts(d, float(r.uniform(2, 5)))
            c.order(ts, amt, p["cat"], 1, cancel_p=0, return_p=0, complaint_p=complaint_p)
            if r.random() < 0.6:   # looks at the invoice a few days later
                c.session(ts + float(r.uniform(1, 9)) * 86400, [("/account", None, 20), ("/billing", p["cat"], 40)], 0.95)
            continue
        ts = c.session(c.local_ts(d, c.hour()), pages_burst(c, p["cat"], True), lp if c.type != "annual" else 0.95)
        cp, rp = {"annual": (0.0, 0.0), "durable": (0.03, 0.05), "travel": (0.06, 0.0),
                  "regular": (0.02, 0.12 if p["cat"] == "fashion" else 0.04), "b2b": (0.01, 0.02)}[c.type]
        c.order(ts + int(r.integers(5, 60)), amt, p["cat"], p["items"], cp, rp, complaint_p)


# ---------------------------------------------------------------- scenarios
def pick(purchases, lo, hi, rng):
    cand = [p for p in purchases if lo <= p["day"] <= hi]
    if cand:
        return cand[int(rng.integers(0, len(cand)))]
    before = [p for p in purchases if p["day"] <= hi]
    return before[-1] if before else (purchases[0] if purchases else None)


def build(c):
    r = c.rng
    s = c.scen
    setup_type(c)
    if s == "stay_new_joiner":
        c.start = int(r.integers(365, 1096))
        c.shift_ts = day_ts(c.start)
    P = plan(c, c.start, ND)
    if s == "stay_new_joiner" and c.type != "annual" and P:
        P[0]["day"] = c.start + int(r.integers(0, 10))   # joins with a first purchase
    if s == "stay_new_joiner" and c.type == "annual":
        P = [p for p in P if p["day"] >= c.start]
        # joins by buying the plan: the anniversary is the join date
        c.anniv = d2date(c.start).timetuple().tm_yday
        P = [dict(day=c.start + 365 * k, due=c.start + 365 * k, amount=c.base, cat=c.cat, items=1, lead=7,
                  nburst=1, kind="renewal", auto=False) for k in range(4) if c.start + 365 * k < ND]
    mult = base_mult(c)
    cp = 0.012

    if s == "stay_annual_late":
        ps = [p for p in P if 150 <= p["due"] <= 1210]
        k = 1 if r.random() < 0.6 or len(ps) < 2 else 2
        late = sorted([ps[i] for i in r.choice(len(ps), size=min(k, len(ps)), replace=False)], key=lambda p: p["day"])
        for p in late:
            lag = int(r.integers(7, 43))
            p["day"] = p["due"] + lag
            p["nburst"] = int(r.integers(1, 3))
            p["lead"] = min(lag, 10)
            p["auto"] = False
        c.shift_ts = day_ts(late[0]["due"])
        c.notes["late_days"] = "|".join(str(p["day"] - p["due"]) for p in late)
        if c.auto:   # late payers are manual renewers for that year
            for p in late:
                p["manual"] = True
    elif s == "stay_durable_long_gap":
        P = plan_durable(c, c.start, 440)
        if not P or P[-1]["day"] < 60:
            P.append(dict(day=int(r.integers(60, 440)), amount=c.base, cat=c.cat, items=1, lead=20, nburst=4, kind="purchase"))
        g0 = P[-1]["day"]
        gap = int(r.integers(660, 801))
        P += plan_durable(c, g0 + gap, ND, first=g0 + gap)
        mult[g0:g0 + gap] *= 0.5
        c.shift_ts = day_ts(g0)
        c.notes["gap_days"] = gap
    elif s == "stay_travel_skip":
        p = pick(P, 420, 1050, r)
        if p is not None:
            P.remove(p)
            c.shift_ts = day_ts(p["day"] - p["lead"])
            mult[max(0, p["day"] - 60):p["day"] + 30] *= 0.5
            c.notes["skipped"] = f"{p['kind']}@{d2date(p['day'])}"
    elif s == "stay_complaint_resolved":
        cp = 0
        cand = [p["day"] for p in P if 200 <= p["day"] < ND - 30] or [p["day"] for p in P[-1:]]
        c.cmp_days = sorted({cand[int(i)] for i in r.integers(0, len(cand), size=int(r.integers(1, 4)))}) if cand else []
        c.notes["complaints"] = len(c.cmp_days)
    elif s == "stay_app_shift":
        c.app_from = int(r.integers(450, 1000))
        c.shift_ts = day_ts(c.app_from)
        mult[c.app_from:] *= 1.15

    elif s == "chg_annual_nonrenew":
        ps = [p for p in P if 545 <= p["due"] <= 1130]
        p = ps[int(r.integers(0, len(ps)))] if ps else P[-1]
        dn = p["due"]
        P = [q for q in P if q["due"] < dn]
        sub = "quiet" if r.random() < 0.5 else "fade"
        if sub == "quiet":
            c.stop_ts = day_ts(dn - int(r.integers(0, 61)))
            c.change_ts = day_ts(dn)
        else:
            fs = dn - int(r.integers(60, 151))
            ramp(mult, fs, 60, 0.15)
            c.stop_ts = day_ts(dn + int(r.integers(0, 21)))
            c.change_ts = day_ts(fs)
            c.last_look = dn - int(r.integers(10, 41))   # looks at the renewal notice, does not pay
        c.decline_end_ts = day_ts(dn)
        c.full_exit = 1
        c.notes.update(sub=sub, missed_due=str(d2date(dn)))
    elif s == "chg_annual_price_complaint":
        ps = [p for p in P if PR_D0 - 20 <= p["due"] < PR_D0 + 345]
        p = ps[0] if ps else P[-1]
        dn = p["due"]
        P = [q for q in P if q["due"] < dn]
        cd = dn - int(r.integers(10, 46))
        c.price_cmp = cd
        c.change_ts = None   # set after emission (exact complaint time)
        c.stop_ts = day_ts(dn + int(r.integers(0, 26)))
        c.decline_end_ts = day_ts(dn)
        c.full_exit = 1
        mult[cd:] *= 0.6
        c.notes.update(missed_due=str(d2date(dn)))
    elif s == "chg_durable_stop":
        p = pick(P, 480, 1050, r)
        cd = p["day"] + int(r.integers(1, 31))
        P = [q for q in P if q["day"] <= p["day"]]
        R = int(r.integers(60, 121))
        c.late_look = cd + int(r.integers(3, 31))     # one last look at the category
        ramp(mult, cd, R, 0.0)
        c.change_ts = day_ts(cd)
        c.stop_ts = day_ts(cd + R)
        c.decline_end_ts = day_ts(p["day"])
        c.full_exit = 1
        c.notes["fade_days"] = R
    elif s == "chg_travel_rival":
        camp = [x for x in STRONG if x[0] == "travel"][c.idx % 3]
        cs = (camp[1] - P0).days
        P = [q for q in P if q["day"] < cs - 2]
        mult[cs:] *= 0.6
        tail = int(r.integers(30, 91))
        c.change_ts = day_ts(cs)
        c.stop_ts = day_ts(cs + tail)
        c.decline_end_ts = day_ts(P[-1]["day"]) if P else day_ts(cs)
        c.full_exit = 1
        c.rival_day = cs
        c.notes.update(campaign=str(camp[1]), tail_days=tail)
    elif s == "chg_complaints_unresolved":
        cp = 0
        p = pick(P, 420, 1080, r)
        c.cmp_anchor = p["day"]
        n = int(r.integers(2, 5))
        span = int(r.integers(21, 57))
        cdays = sorted([p["day"] + int(r.integers(1, 8))] + [p["day"] + int(r.integers(8, span + 8)) for _ in range(n - 1)])
        c.cmp_days = cdays
        c.cmp_theme = str(r.choice(["logistics", "product", "service"], p=[0.45, 0.35, 0.2]))
        exit_d = cdays[-1] + int(r.integers(3, 26))
        newP = []
        for q in P:
            if q["day"] <= p["day"]:
                newP.append(q)
            elif q["day"] < exit_d and c.type == "regular" and r.random() < 0.4:
                newP.append(q)
        P = newP
        mult[cdays[0]:] *= 0.5
        c.stop_ts = day_ts(exit_d + int(r.integers(5, 26)))
        c.decline_end_ts = day_ts(max(q["day"] for q in P))
        c.full_exit = 1
        c.notes.update(theme=c.cmp_theme, n_complaints=n)
    elif s == "chg_tradedown":
        f = float(r.uniform(0.35, 0.5))
        if c.type == "regular":
            cd = int(r.integers(450, 1051))
            L = int(r.integers(28, 57))
            for q in P:
                if q["day"] >= cd:
                    q["f"] = f if q["day"] - cd >= L else 1 + (f - 1) * (q["day"] - cd) / L
            c.change_ts = day_ts(cd)
            c.decline_end_ts = day_ts(cd + L)
            if c.idx % 5 == 0:   # a few leave 4-7 months later
                ex = cd + L + int(r.integers(120, 211))
                P = [q for q in P if q["day"] < ex]
                c.stop_ts = day_ts(ex + int(r.integers(5, 30)))
                c.full_exit = 1
        else:
            ps = [p for p in P if 450 <= p["due"] <= 1100]
            p = ps[0] if ps else P[-1]
            for q in P:
                if q["due"] >= p["due"]:
                    q["f"] = f
            cd = p["day"] - int(r.integers(5, 21))
            c.plan_cmp_day = cd
            c.change_ts = day_ts(cd)
            c.decline_end_ts = day_ts(p["day"])
        c.notes["value_factor"] = round(f, 2)
    elif s == "chg_b2b_reduce":
        qs = [(date(y, q, 1) - P0).days for y in (2023, 2024) for q in (1, 4, 7, 10)]
        qs = [d for d in qs if 455 <= d <= 850]
        cd = qs[int(r.integers(0, len(qs)))]
        kept = [q for q in P if q["day"] < cd]
        after = [q for q in P if q["day"] >= cd]
        nk = int(r.integers(1, 3))
        kept += [after[i] for i in range(0, len(after), 2)][:nk]
        P = kept
        mult[cd:] *= 0.5
        c.change_ts = day_ts(cd)
        c.decline_end_ts = day_ts(P[-1]["day"])
        c.stop_ts = day_ts(P[-1]["day"] + int(r.integers(20, 61)))
        c.full_exit = 1
        c.notes["half_yearly_orders"] = nk
    elif s == "chg_abrupt":
        sd = int(r.integers(540, 1131))
        c.stop_ts = day_ts(sd)
        c.delete = r.random() < 0.4
        c.full_exit = 1
        c.notes["closed_account"] = int(c.delete)
    elif s == "chg_regular_drift":
        cd = int(r.integers(450, 1051))
        R = int(r.integers(60, 121))
        ex = cd + R + int(r.integers(20, 61))
        newP = []
        for q in P:
            if q["day"] < cd:
                newP.append(q)
            elif q["day"] < ex and r.random() > 0.8 * min(1.0, (q["day"] - cd) / R):
                newP.append(q)
        P = newP
        ramp(mult, cd + 20, 60, 0.15)
        c.change_ts = day_ts(cd)
        c.stop_ts = day_ts(ex + int(r.integers(3, 22)))
        c.decline_end_ts = day_ts(P[-1]["day"])
        c.full_exit = 1
        c.notes["ramp_days"] = R

    if c.changed and c.change_ts is not None:
        cp_cut = c.change_ts
    else:
        cp_cut = None
    # emission: background complaints only before change
    if cp_cut is not None:
        pre = [p for p in P if day_ts(p["day"]) < cp_cut]
        post = [p for p in P if day_ts(p["day"]) >= cp_cut]
        emit_all(c, pre, mult, cp)
        emit_all(c, post, np.zeros(ND), 0.0)
    else:
        emit_all(c, P, mult, cp)

    # scenario extras that need emitted orders / exact times
    if s == "stay_complaint_resolved":
        for d in getattr(c, "cmp_days", []):
            ts = c.local_ts(d + int(r.integers(1, 8)), c.hour())
            c.session(ts - 300, [("/help/contact", None, 90)], 0.9)
            c.complaint(ts, str(r.choice(["logistics", "product", "service", "billing"])),
                        str(r.choice(["medium", "high"])), "resolved")
    elif s == "chg_annual_price_complaint":
        ts = c.local_ts(c.price_cmp, c.hour())
        c.session(ts - 600, [("/account", None, 20), ("/pricing", c.cat, 120), ("/plans/compare", c.cat, 150),
                             ("/help/contact", None, 80)], 0.95)
        c.complaint(ts, "billing", "medium" if r.random() < 0.6 else "high", "unresolved")
        c.change_ts = ts
        if r.random() < 0.5:
            t2 = ts + float(r.uniform(5, 20)) * 86400
            c.complaint(t2, str(r.choice(["billing", "service"])), "high", "unresolved")
    elif s == "chg_complaints_unresolved":
        first = None
        for d in c.cmp_days:
            ts = c.local_ts(d, c.hour())
            c.session(ts - 400, [("/orders", None, 30), ("/help/contact", None, 100)], 0.9)
            c.complaint(ts, c.cmp_theme if r.random() < 0.8 else str(r.choice(["logistics", "product", "service"])),
                        str(r.choice(["medium", "high"], p=[0.5, 0.5])), "unresolved")
            first = ts if first is None else first
        c.change_ts = first
    elif s == "chg_travel_rival":
        d = c.rival_day + int(r.integers(1, 10))
        c.session(c.local_ts(d, c.hour()), [("/offers", "travel", 60), ("/search", "travel", 90),
                                           (f"/destinations/{r.integers(1, 300)}", "travel", 40)], 0.45)
    elif s == "chg_annual_nonrenew" and hasattr(c, "last_look"):
        c.session(c.local_ts(c.last_look, c.hour()), [("/account", None, 20), ("/account/plan", c.cat, 60)], 0.95)
    elif s == "chg_durable_stop":
        c.session(c.local_ts(c.late_look, c.hour()), pages_bg(c, c.cat), 0.3)
    elif s == "chg_tradedown" and c.type == "annual":
        d = c.plan_cmp_day
        c.session(c.local_ts(d, c.hour()), [("/account/plan", c.cat, 40), ("/plans", c.cat, 90),
                                           ("/plans/compare", c.cat, 160)], 0.95)
    if s == "chg_abrupt":
        evs = sorted(c.evs, key=lambda e: e[0])
        if c.delete and evs:
            t = evs[-1][0] + int(r.integers(600, 86400 * 3))
            c.stop_ts = END_TS
            c.session(t, [("/account", None, 30), ("/account/delete", None, 45)], 1.0)
        c.change_ts = max(e[0] for e in c.evs) if c.evs else day_ts(0)
        c.decline_end_ts = c.change_ts


# ---------------------------------------------------------------- market events
def market_events(rng):
    out = []
    for cat in ALL_CATS:
        t = int(rng.integers(0, 90))
        while t < ND - 3:
            kind = str(rng.choice(["competitor_promotion", "competitor_price_cut", "competitor_launch"], p=[0.55, 0.3, 0.15]))
            st = day_ts(t) + int(rng.integers(0, 24)) * 3600
            f = {"kind": kind, "category": cat, "strength": round(float(rng.uniform(0.1, 0.5)), 2)}
            if kind == "competitor_launch":
                f["ends_at"] = None
            else:
                f["ends_at"] = iso(st + int(rng.integers(3, 15)) * 86400)
            out.append((st, "market_event", f))
            t += int(rng.integers(50, 121))
    for cat, d0, ln, s in STRONG:
        st = day_ts((d0 - P0).days)
        out.append((st, "market_event", {"kind": "competitor_promotion", "category": cat, "strength": s,
                                         "ends_at": iso(st + ln * 86400)}))
    return out


# ---------------------------------------------------------------- main
def fmt_ts(c, ts, typ):
    if c is not None and c.offset_events and typ in ("page_view", "login") and (ts % 7 == 0 or ts % 7 == 3):
        return datetime.fromtimestamp(ts, c.tz).isoformat()
    return iso(ts)


def gaps_median(ts_list, upto=None):
    xs = sorted(t for t in ts_list if upto is None or t < upto)
    g = [(b - a) / 86400 for a, b in zip(xs, xs[1:])]
    return float(np.median(g)) if g else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=8888)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", default="out/outside8/data")
    ap.add_argument("--validate", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    ss = np.random.SeedSequence(a.seed)
    mrng = np.random.default_rng(ss.spawn(1)[0])
    custs = []
    idx = 0
    for si, (scen, n, changed, cause, types) in enumerate(SCENARIOS):
        for k in range(max(1, int(round(n * a.scale)))):
            rng = np.random.default_rng([a.seed, si, k])
            typ = types[k % len(types)] if len(types) > 1 else types[0]
            c = Cust(f"lc{idx:04d}", idx, scen, changed, cause, typ, rng)
            idx += 1
            build(c)
            custs.append(c)
    # order customers by id deterministically, number events
    allev = []
    for c in custs:
        c.evs.sort(key=lambda e: (e[0], {"login": 0, "page_view": 1, "order": 2, "complaint": 3}[e[1]]))
        for j, (ts, typ, f) in enumerate(c.evs):
            allev.append((ts, c.idx, j, typ, f, c))
    for j, (ts, typ, f) in enumerate(sorted(market_events(mrng), key=lambda e: (e[0], e[2]["category"]))):
        allev.append((ts, -1, j, typ, f, None))
    allev.sort(key=lambda e: (e[0], e[1], e[2]))
    vrng = np.random.default_rng([a.seed, 999])
    sv_omit = vrng.random(len(allev)) < 0.4
    path = os.path.join(a.out, "events.jsonl")
    counts = {}
    with open(path, "w") as fo:
        for i, (ts, ci, j, typ, f, c) in enumerate(allev):
            d = {"type": typ}
            if not sv_omit[i]:
                d["schema_version"] = 1
            d["event_id"] = f"{c.cid}-e{j:05d}" if c is not None else f"mkt-{j:04d}"
            if c is not None:
                d["customer_id"] = f.pop("customer_id")
            d["occurred_at"] = fmt_ts(c, ts, typ)
            d.update(f)
            fo.write(json.dumps(d, separators=(",", ":")) + "\n")
            counts[typ] = counts.get(typ, 0) + 1
    # truth
    full_cols = ["customer_id", "scenario", "changed", "churned", "cause", "change_at", "shift_at", "last_active_at",
                 "first_event_at", "decline_end_at", "full_exit", "last_order_at", "usual_gap_days", "business", "currency",
                 "currency_after", "tz", "tz_after", "main_category", "n_events", "n_orders", "notes"]
    eval_cols = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"]
    fr, er = [], []
    for c in custs:
        tss = [e[0] for e in c.evs]
        ch = int(c.change_ts) if c.changed else None
        ug = gaps_median(c.placed, ch)
        if ug is None:
            ug = c.gap
        row = dict(customer_id=c.cid, scenario=c.scen, changed=c.changed, churned=c.changed, cause=c.cause,
                   change_at=iso(ch) if ch is not None else "", shift_at=iso(c.shift_ts) if c.shift_ts and not c.changed else "",
                   last_active_at=iso(max(tss)) if tss else "", first_event_at=iso(min(tss)) if tss else "",
                   decline_end_at=iso(c.decline_end_ts) if c.changed and c.decline_end_ts else "",
                   full_exit=c.full_exit if c.changed else 0, last_order_at=iso(max(c.placed)) if c.placed else "",
                   usual_gap_days=f"{ug:.1f}", business=int(c.type == "b2b"), currency=c.currency, currency_after="",
                   tz=c.tzname, tz_after="", main_category=c.cat, n_events=len(tss), n_orders=len(c.placed),
                   notes=";".join(f"{k}={v}" for k, v in c.notes.items()))
        fr.append(row)
        er.append(dict(customer_id=c.cid, churned=c.changed, persona=c.scen, decline_started_at=row["change_at"],
                       last_active_at=row["last_active_at"], cause=c.cause, usual_gap_days=row["usual_gap_days"]))
    for name, cols, rows in (("truth_full.csv", full_cols, fr), ("truth_eval.csv", eval_cols, er)):
        with open(os.path.join(a.out, name), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    nch = sum(c.changed for c in custs)
    print(f"{len(allev)} events {dict(sorted(counts.items()))}; {len(custs)} customers, {nch} changed "
          f"({100 * nch / len(custs):.1f} %), {sum(c.full_exit for c in custs if c.changed)} full exits -> {a.out}")
    if a.validate:
        sys.exit(1 if validate(a.out) else 0)


def validate(out):
    import jsonschema
    here = os.path.dirname(os.path.abspath(__file__))
    sdir = os.path.join(here, "..", "..", "schemas", "json")
    V = {}
    for fn in os.listdir(sdir):
        s = json.load(open(os.path.join(sdir, fn)))
        if "x-replay-type" in s:
            V[s["x-replay-type"]] = jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())
    probs = 0
    ids = set()
    prev = None
    n = 0
    for ln, line in enumerate(open(os.path.join(out, "events.jsonl")), 1):
        d = json.loads(line)
        n += 1
        typ = d.pop("type", None)
        if typ not in V:
            probs += 1; print(f"line {ln}: unknown type {typ}"); continue
        for e in V[typ].iter_errors(d):
            probs += 1
            if probs < 20:
                print(f"line {ln}: {e.message}")
        if d["event_id"] in ids:
            probs += 1; print(f"line {ln}: duplicate event_id")
        ids.add(d["event_id"])
        t = datetime.fromisoformat(d["occurred_at"].replace("Z", "+00:00"))
        if prev is not None and t < prev:
            probs += 1; print(f"line {ln}: out of time order")
        prev = t
        if typ == "market_event" and d.get("ends_at") and datetime.fromisoformat(d["ends_at"].replace("Z", "+00:00")) <= t:
            probs += 1; print(f"line {ln}: ends_at not after occurred_at")
    # truth: last_active_at equals last event per customer
    last = {}
    for line in open(os.path.join(out, "events.jsonl")):
        d = json.loads(line)
        if "customer_id" in d:
            last[d["customer_id"]] = datetime.fromisoformat(d["occurred_at"].replace("Z", "+00:00"))
    late = collections.Counter()
    for row in csv.DictReader(open(os.path.join(out, "truth_full.csv"))):
        la = datetime.fromisoformat(row["last_active_at"].replace("Z", "+00:00"))
        if last.get(row["customer_id"]) != la:
            probs += 1; print(f"truth {row['customer_id']}: last_active_at mismatch")
        if row["changed"] == "1" and not row["change_at"]:
            probs += 1; print(f"truth {row['customer_id']}: changed without change_at")
        if row["change_at"] and datetime.fromisoformat(row["change_at"].replace("Z", "+00:00")) > la + timedelta(days=1):
            late[row["scenario"]] += 1
    print(f"note: change_at more than a day after last_active_at (by design only chg_annual_nonrenew quiet): {dict(late)}")
    print(f"validation: {n} events checked against the JSON Schemas, {probs} problems")
    return probs


if __name__ == "__main__":
    main()
