#!/usr/bin/env python3
"""Outside population 7: everyday-habit commerce (food & grocery delivery, meal kits,
coffee app, office catering) next to ordinary shop customers.

Written without looking at Churnwatch's detection code; only the event contracts
(schemas/json, tests/fixtures, README "Event contracts") and the scorer's truth format
(docs/outside/measure.py) were used.

    python gen.py [--seed 7777] [--scale 1] [--out DIR] [--validate]

Writes DIR/events.jsonl (replay format: one JSON object per line with a `type` field,
sorted by occurred_at), DIR/truth_full.csv and DIR/truth_eval.csv.
stdlib + numpy only (jsonschema is used by --validate when it is installed).
Output is byte-identical for the same --seed/--scale.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

# --------------------------------------------------------------------------- calendar
START = date(2023, 1, 1)
END = date(2025, 6, 30)                      # last day with events (inclusive)
N = (END - START).days + 1
DAYS = np.arange(N)
DATES = [START + timedelta(days=int(i)) for i in range(N)]
WD = np.array([d.weekday() for d in DATES])  # Mon=0 .. Sun=6
MONTH = np.array([d.month for d in DATES])
DOM = np.array([d.day for d in DATES])
YEAR = np.array([d.year for d in DATES])
DOY = np.array([d.timetuple().tm_yday for d in DATES])
EPOCH0 = int(datetime(2023, 1, 1, tzinfo=timezone.utc).timestamp())
T_END = int(datetime(2025, 7, 1, tzinfo=timezone.utc).timestamp())
YEARS = (2023, 2024, 2025)
EASTER = {2023: date(2023, 4, 9), 2024: date(2024, 3, 31), 2025: date(2025, 4, 20)}


def dix(y, m, d):
    return (date(y, m, d) - START).days


def iso_day(d):
    return DATES[min(max(int(d), 0), N - 1)].isoformat() + "T00:00:00Z"


def iso(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def nth_weekday(y, m, wd, n):
    """n-th (1-based; -1 = last) weekday wd of month m."""
    if n > 0:
        d = date(y, m, 1)
        d += timedelta(days=(wd - d.weekday()) % 7)
        return d + timedelta(days=7 * (n - 1))
    d = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - wd) % 7)


COUNTRIES = {
    # tz, currency, EUR->currency, weight, summer school holiday (m,d)-(m,d)
    "DE": dict(tz="Europe/Berlin", cur="EUR", fx=1.0, w=0.25, summer=((7, 20), (8, 31))),
    "NL": dict(tz="Europe/Amsterdam", cur="EUR", fx=1.0, w=0.10, summer=((7, 13), (8, 25))),
    "UK": dict(tz="Europe/London", cur="GBP", fx=0.86, w=0.20, summer=((7, 22), (9, 3))),
    "SE": dict(tz="Europe/Stockholm", cur="SEK", fx=11.4, w=0.13, summer=((6, 14), (8, 18))),
    "PL": dict(tz="Europe/Warsaw", cur="PLN", fx=4.35, w=0.14, summer=((6, 24), (8, 31))),
    "CH": dict(tz="Europe/Zurich", cur="CHF", fx=0.95, w=0.08, summer=((7, 6), (8, 16))),
    "US": dict(tz="America/New_York", cur="USD", fx=1.08, w=0.10, summer=((6, 17), (8, 30))),
}
CTRY = list(COUNTRIES)


def public_holidays(c):
    out = set()
    for y in YEARS:
        e = EASTER[y]
        fixed = {
            "DE": [(1, 1), (5, 1), (10, 3), (12, 24), (12, 25), (12, 26), (12, 31)],
            "NL": [(1, 1), (4, 27), (5, 5), (12, 25), (12, 26)],
            "UK": [(1, 1), (12, 25), (12, 26)],
            "SE": [(1, 1), (1, 6), (5, 1), (6, 6), (12, 24), (12, 25), (12, 26), (12, 31)],
            "PL": [(1, 1), (1, 6), (5, 1), (5, 3), (8, 15), (11, 1), (11, 11), (12, 25), (12, 26)],
            "CH": [(1, 1), (1, 2), (8, 1), (12, 25), (12, 26)],
            "US": [(1, 1), (7, 4), (12, 25)],
        }[c]
        ds = [date(y, m, d) for m, d in fixed]
        eo = {"DE": [-2, 1, 39, 50], "NL": [-2, 1, 39, 50], "UK": [-2, 1], "SE": [-2, 1, 39],
              "PL": [1, 60], "CH": [-2, 1, 39, 50], "US": []}[c]
        ds += [e + timedelta(days=k) for k in eo]
        if c == "UK":
            ds += [nth_weekday(y, 5, 0, 1), nth_weekday(y, 5, 0, -1), nth_weekday(y, 8, 0, -1)]
        if c == "US":
            ds += [nth_weekday(y, 5, 0, -1), nth_weekday(y, 9, 0, 1), nth_weekday(y, 11, 3, 4),
                   nth_weekday(y, 1, 0, 3)]
        if c == "SE":  # midsummer eve: Friday 19-25 June
            d = date(y, 6, 19)
            ds.append(d + timedelta(days=(4 - d.weekday()) % 7))
        out.update((d - START).days for d in ds if START <= d <= END)
    a = np.zeros(N, bool)
    a[sorted(out)] = True
    return a


def school_holidays(c):
    a = np.zeros(N, bool)
    s0, s1 = COUNTRIES[c]["summer"]
    for y in YEARS:
        spans = [(date(y, *s0), date(y, *s1)), (date(y, 12, 22), date(y + 1, 1, 6)),
                 (date(y - 1, 12, 22), date(y, 1, 6))]
        e = EASTER[y]
        spans.append((e - timedelta(days=7 if c != "PL" else 3), e + timedelta(days=7 if c != "PL" else 1)))
        if c in ("DE", "NL", "UK", "SE", "CH"):
            d = date(y, 10, 24)
            d -= timedelta(days=d.weekday())
            spans.append((d, d + timedelta(days=8)))
            d = date(y, 2, 19)
            d -= timedelta(days=d.weekday())
            spans.append((d, d + timedelta(days=8)))
        for a0, a1 in spans:
            i0, i1 = max((a0 - START).days, 0), min((a1 - START).days, N - 1)
            if i0 <= i1:
                a[i0:i1 + 1] = True
    return a


PH = {c: public_holidays(c) for c in CTRY}
SCHOOL = {c: school_holidays(c) for c in CTRY}
_TZOFF = {}


def tz_offsets(tz):
    """UTC offset (seconds) of each day at local noon."""
    if tz not in _TZOFF:
        z = ZoneInfo(tz)
        _TZOFF[tz] = np.array([int(datetime(d.year, d.month, d.day, 12, tzinfo=z).utcoffset().total_seconds())
                               for d in DATES], dtype=np.int64)
    return _TZOFF[tz]


def ramp(points):
    """piecewise linear over day index; points [(day, value), ...] (flat outside)."""
    xs = np.array([p[0] for p in points], float)
    ys = np.array([p[1] for p in points], float)
    return np.interp(DAYS, xs, ys)


def span(a, d0, d1, v, mode="set"):
    d0, d1 = max(int(d0), 0), min(int(d1), N)
    if d0 < d1:
        if mode == "set":
            a[d0:d1] = v
        else:
            a[d0:d1] *= v


def yearly_span(a, rng, doy0, length, v, jitter=5, mode="set", years=YEARS):
    """the same personal period every year (start day-of-year +- jitter)."""
    out = []
    for y in years:
        s = (date(y, 1, 1) - START).days + doy0 + int(rng.integers(-jitter, jitter + 1))
        ln = int(length + rng.integers(-2, 3))
        span(a, s, s + ln, v, mode)
        if 0 <= s < N:
            out.append(f"{DATES[s].isoformat()}+{ln}d")
    return out


# ------------------------------------------------------------------ customer types
SHOP_CATS = ["household", "beauty", "pet", "electronics", "books", "toys"]
FOOD_CATS = ["meals", "groceries", "meal_kits", "coffee", "catering"]
RESTAURANTS = ["pho-corner", "bento-box", "green-bowl", "pizza-nova", "curry-house", "salad-lab",
               "burger-yard", "sushi-ko", "falafel-co", "pasta-fresca", "taco-loco", "dim-sum-bar"]
TYPES = {
    # category, weekday order rates Mon..Sun, mean hour per weekday class (wkday, Sat, Sun), hour sd,
    # basket EUR range, sigma, EUR per item, browse sessions/day range, pages in an order session,
    # bernoulli (max one order a day)
    "lunch": dict(cat="meals", wd=(0.55, 0.55, 0.52, 0.55, 0.45, 0.0, 0.0), hr=(12.0, 12.5, 12.5), hsd=0.45,
                  basket=(10, 17), sig=0.18, item=7.5, browse=(0.06, 0.14), pv=1.4, bern=True),
    "dinner": dict(cat="meals", wd=(0.13, 0.15, 0.17, 0.2, 0.42, 0.42, 0.3), hr=(19.2, 19.6, 18.8), hsd=0.8,
                   basket=(22, 42), sig=0.25, item=11.0, browse=(0.06, 0.16), pv=2.0, bern=False),
    "family": dict(cat="groceries", wd=(0.05, 0.04, 0.06, 0.07, 0.1, 0.55, 0.3), hr=(19.0, 10.0, 17.0), hsd=1.4,
                   basket=(65, 140), sig=0.22, item=3.6, browse=(0.07, 0.16), pv=3.0, bern=False),
    "mealkit": dict(cat="meal_kits", wd=None, hr=(20.0, 18.0, 19.5), hsd=1.3,
                    basket=(45, 75), sig=0.06, item=14.0, browse=(0.04, 0.1), pv=2.2, bern=True),
    "coffee": dict(cat="coffee", wd=(0.45, 0.48, 0.45, 0.48, 0.4, 0.1, 0.06), hr=(8.0, 10.0, 10.5), hsd=0.5,
                   basket=(3.5, 8), sig=0.2, item=3.8, browse=(0.02, 0.06), pv=1.2, bern=True),
    "student": dict(cat="meals", wd=(0.22, 0.22, 0.24, 0.28, 0.32, 0.25, 0.22), hr=(21.0, 21.5, 20.5), hsd=1.3,
                    basket=(12, 22), sig=0.25, item=8.0, browse=(0.07, 0.16), pv=2.0, bern=False),
    "b2b": dict(cat="catering", wd=None, hr=(10.5, 10.5, 10.5), hsd=1.2,
                basket=(250, 900), sig=0.2, item=12.0, browse=(0.04, 0.1), pv=3.2, bern=True),
    "shop": dict(cat=None, wd=None, hr=(20.0, 15.0, 19.0), hsd=2.5,
                 basket=(25, 150), sig=0.5, item=22.0, browse=(0.05, 0.15), pv=3.2, bern=False),
    "voucher": dict(cat="groceries", wd=(0.5,) * 7, hr=(19.0, 11.0, 16.0), hsd=2.0,
                    basket=(30, 70), sig=0.3, item=4.0, browse=(0.25, 0.4), pv=2.4, bern=False),
}

# ------------------------------------------------------------------------ scenarios
# name: (count at scale 1, changed, cause, base types with weights)
SCENARIOS = [
    ("stay_weekday_lunch", 55, 0, "", {"lunch": 1}),
    ("stay_weekend_family", 50, 0, "", {"family": 1}),
    ("stay_dinner_regular", 25, 0, "", {"dinner": 1}),
    ("stay_mealkit", 40, 0, "", {"mealkit": 1}),
    ("stay_coffee_daily", 30, 0, "", {"coffee": 1}),
    ("stay_exam_crunch", 30, 0, "", {"student": 1}),
    ("stay_diet_month", 30, 0, "", {"family": 0.5, "dinner": 0.3, "mealkit": 0.2}),
    ("stay_new_job_shift", 25, 0, "", {"lunch": 1}),
    ("stay_late_complainer", 30, 0, "", {"dinner": 0.5, "family": 0.3, "lunch": 0.2}),
    ("stay_voucher_bursty", 30, 0, "", {"voucher": 1}),
    ("stay_household_grows", 25, 0, "", {"family": 0.6, "dinner": 0.4}),
    ("stay_new_erratic", 35, 0, "", {"lunch": 0.3, "dinner": 0.35, "family": 0.35}),
    ("stay_shop_regular", 50, 0, "", {"shop": 1}),
    ("stay_b2b_catering", 20, 0, "", {"b2b": 1}),
    ("stay_promo_exposed", 25, 0, "", {"lunch": 0.25, "dinner": 0.25, "family": 0.3, "mealkit": 0.1, "coffee": 0.1}),
    ("chg_habit_erosion", 35, 1, "drift", {"lunch": 0.3, "dinner": 0.25, "mealkit": 0.2, "coffee": 0.15, "family": 0.1}),
    ("chg_drift_promo", 30, 1, "drift", {"lunch": 0.2, "dinner": 0.25, "family": 0.3, "mealkit": 0.15, "coffee": 0.1}),
    ("chg_logistics_complaints", 30, 1, "complaints", {"dinner": 0.45, "family": 0.35, "lunch": 0.2}),
    ("chg_quality_tradedown", 25, 1, "complaints", {"family": 0.5, "mealkit": 0.3, "dinner": 0.2}),
    ("chg_abrupt", 25, 1, "silence", {"lunch": 0.25, "family": 0.2, "dinner": 0.2, "coffee": 0.1, "mealkit": 0.1,
                                      "student": 0.05, "shop": 0.1}),
    ("chg_price_tradedown", 25, 1, "order_value", {"family": 0.7, "mealkit": 0.3}),
    ("chg_b2b_to_monthly", 20, 1, "purchase_frequency", {"b2b": 1}),
    ("chg_activity_fade", 20, 1, "activity", {"coffee": 0.6, "dinner": 0.4}),
]

TRUTH_FULL_COLS = ["customer_id", "scenario", "changed", "churned", "cause", "change_at", "shift_at",
                   "last_active_at", "first_event_at", "decline_end_at", "full_exit", "last_order_at",
                   "usual_gap_days", "business", "currency", "currency_after", "tz", "tz_after",
                   "main_category", "n_events", "n_orders", "notes"]
TRUTH_EVAL_COLS = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause",
                   "usual_gap_days"]


class Ids:
    def __init__(self, seed):
        self.seed = seed

    def h(self, *parts, n=12):
        s = "|".join(str(p) for p in (self.seed,) + parts).encode()
        return hashlib.blake2b(s, digest_size=16).hexdigest()[:n]


# ---------------------------------------------------------------- market events
def market_plan(rng, ids):
    """background competitor activity per category + strong campaigns used by some customers."""
    evs = []
    strong = {}
    for cat in FOOD_CATS + SHOP_CATS:
        t = dix(2023, 1, 5) + int(rng.integers(0, 40))
        while t < N - 5:
            kind = rng.choice(["competitor_promotion", "competitor_price_cut", "competitor_launch"],
                              p=[0.7, 0.22, 0.08])
            ln = int(rng.integers(3, 15))
            strength = round(float(rng.uniform(0.1, 0.55)), 2)
            evs.append((t, cat, str(kind), strength, None if kind == "competitor_launch" else ln))
            t += int(rng.integers(45, 110))
    # strong campaigns (rival's big promotion / price cut) in the habit categories
    plan = {"meals": 4, "groceries": 3, "meal_kits": 2, "coffee": 2}
    for cat, k in plan.items():
        lo, hi = dix(2023, 9, 15), dix(2025, 2, 1)
        starts = sorted(int(x) for x in np.linspace(lo, hi, k) + rng.integers(-20, 21, k))
        strong[cat] = []
        for s in starts:
            kind = "competitor_promotion" if rng.random() < 0.65 else "competitor_price_cut"
            ln = int(rng.integers(14, 29))
            strength = round(float(rng.uniform(0.72, 0.92)), 2)
            evs.append((s, cat, kind, strength, ln))
            strong[cat].append((s, ln, strength, kind))
    out = []
    for i, (d, cat, kind, strength, ln) in enumerate(sorted(evs, key=lambda e: (e[0], e[1]))):
        t = EPOCH0 + d * 86400 + 6 * 3600
        ev = {"type": "market_event", "schema_version": 1, "event_id": "mkt-" + ids.h("mkt", i, n=14),
              "occurred_at": iso(t), "kind": kind, "category": cat, "strength": strength,
              "ends_at": iso(t + ln * 86400) if ln else None}
        out.append((t, -1, i, ev))
    return out, strong


# ---------------------------------------------------------------------- customer
class Customer:
    pass


def pick(rng, weights):
    ks = list(weights)
    p = np.array([weights[k] for k in ks], float)
    return ks[int(rng.choice(len(ks), p=p / p.sum()))]


def make_customer(scen, changed, cause, types, idx, seed, ids, strong):
    rng = np.random.default_rng([seed, 7, idx])
    c = Customer()
    c.rng = rng
    c.scenario, c.changed, c.cause = scen, changed, cause
    c.type = pick(rng, types)
    T = TYPES[c.type]
    c.country = CTRY[int(rng.choice(len(CTRY), p=np.array([COUNTRIES[k]["w"] for k in CTRY])))]
    if c.type == "b2b":
        c.country = CTRY[int(rng.choice(4, p=[0.4, 0.2, 0.25, 0.15]))]
    co = COUNTRIES[c.country]
    c.tz, c.cur, c.fx = co["tz"], co["cur"], co["fx"]
    c.off = tz_offsets(c.tz)
    pref = ["cu-", "C", "acct_", "fd"][idx % 4]
    c.id = pref + ids.h("cust", idx, n=10)
    c.business = "b2b" if c.type == "b2b" else "consumer"
    c.cat = T["cat"] or SHOP_CATS[int(rng.integers(len(SHOP_CATS)))]
    c.second_cat = {"meals": "groceries", "groceries": "meals", "meal_kits": "groceries", "coffee": "meals",
                    "catering": "groceries"}.get(c.cat, SHOP_CATS[int(rng.integers(len(SHOP_CATS)))])
    c.p_second = float(rng.uniform(0.03, 0.12))
    # weekday rates
    if c.type == "mealkit":
        pair = [(0, 3), (1, 4), (0, 2), (2, 5), (6, 2)][int(rng.integers(5))]
        wd = np.zeros(7)
        wd[list(pair)] = rng.uniform(0.8, 0.92)
    elif c.type == "b2b":
        wd = np.zeros(7)
        wd[int(rng.integers(1, 4))] = rng.uniform(0.85, 0.95)
    elif c.type == "shop":
        gap = rng.uniform(18, 55)
        wd = np.full(7, 1.0 / gap)
        wd[5:] *= 1.3
    else:
        wd = np.array(T["wd"], float) * rng.uniform(0.65, 1.05)
    c.wd = wd
    c.wd2 = None
    c.hr = np.array(T["hr"]) + rng.uniform(-0.6, 0.6)
    c.hr2 = None
    c.hsd = T["hsd"]
    c.basket = float(rng.uniform(*T["basket"]))
    c.sig = T["sig"]
    c.item = T["item"]
    c.browse = float(rng.uniform(*T["browse"]))
    c.pv = T["pv"]
    c.bern = T["bern"]
    c.dwell = float(rng.uniform(0.7, 1.4))
    if c.type in ("b2b", "shop"):
        c.chan = np.array([0.7, 0.25, 0.05]) if c.type == "b2b" else np.array([0.55, 0.42, 0.03])
        c.p_login = float(rng.uniform(0.5, 0.9))
    else:
        c.chan = np.array([0.1, 0.87, 0.03])
        c.p_login = float(rng.uniform(0.15, 0.45))
    c.login_daily = float(rng.uniform(0.25, 0.4)) if c.type == "coffee" else 0.0
    c.p_cancel = float(rng.uniform(0.01, 0.035))
    c.p_return = {"shop": 0.06, "family": 0.012, "voucher": 0.01}.get(c.type, 0.004)
    c.p_cmp_bg = float(rng.uniform(0.004, 0.015))
    c.p_track = 0.08 if c.type not in ("shop", "b2b") else 0.25
    c.start = 0
    c.end = N              # exclusive: no events from this day on
    c.order_end = N        # no orders from this day on
    c.rate_m = np.ones(N)
    c.value_m = 1.0 + 0.035 * (DAYS / 365.0)  # food inflation
    c.browse_m = np.ones(N)
    c.dwell_m = np.ones(N)
    c.change_day = None
    c.change_at = ""
    c.change_event = None  # 'first_complaint' | 'last_event'
    c.shift_day = None
    c.decline_end = None
    c.full_exit = 0
    c.notes = []
    c.complaint_plan = []   # (kind, first_day, last_day, n, category)
    c.close_account = False
    c.strong = strong

    # when the customer joined
    late_join = rng.random() < (0.4 if not changed else 0.3)
    if late_join:
        c.start = int(rng.integers(20, dix(2024, 6, 1)))
    else:
        c.start = int(rng.integers(0, 20))
    calendar(c, rng)
    scenario_shape(c, rng)
    return c


def calendar(c, rng):
    """holidays, trips and seasons; the same each year."""
    m = np.ones(N)   # order multiplier
    b = np.ones(N)   # browse multiplier
    ph, sch = PH[c.country], SCHOOL[c.country]
    doy = DOY
    if c.type in ("lunch", "coffee"):
        m[ph] = 0.02 if c.type == "lunch" else 0.3
        for y in YEARS:                               # office closed between the years
            span(m, dix(y, 12, 24) if y < 2025 else N, dix(y, 12, 24) + 9 if y < 2025 else N, 0.05)
        ln = int(rng.integers(14, 29))
        c.notes.append("summer_leave=" + "|".join(yearly_span(m, rng, int(rng.integers(170, 215)), ln, 0.0)))
        if rng.random() < 0.5:
            c.notes.append("extra_week=" + "|".join(yearly_span(m, rng, int(rng.integers(40, 60)) if rng.random() < .5
                                                               else int(rng.integers(290, 305)), 7, 0.0)))
        b[m < 0.1] = 0.25
    elif c.type in ("family", "voucher"):
        s0 = (date(2023, *COUNTRIES[c.country]["summer"][0]) - date(2023, 1, 1)).days
        ln = int(rng.integers(14, 29))
        c.notes.append("summer_trip=" + "|".join(yearly_span(m, rng, s0 + int(rng.integers(0, 14)), ln, 0.0, jitter=4)))
        for y in YEARS:
            span(m, dix(y, 12, 17), dix(y, 12, 24), 1.35, "mul")
            span(c.value_m, dix(y, 12, 17), dix(y, 12, 24), 1.35, "mul")
            span(m, dix(y, 12, 24), dix(y, 12, 24) + 9, 0.3, "mul")
        other = sch & ~((MONTH >= 6) & (MONTH <= 9)) & ~((MONTH == 12) | ((MONTH == 1) & (DOM < 8)))
        m[other] *= 0.7
        b[m < 0.1] = 0.15
    elif c.type == "dinner":
        ln = int(rng.integers(10, 22))
        c.notes.append("summer_trip=" + "|".join(yearly_span(m, rng, int(rng.integers(175, 225)), ln, 0.0)))
        for y in YEARS:
            span(m, dix(y, 12, 23), dix(y, 12, 23) + 6, 0.4, "mul")
        m[ph] *= 1.2
        b[m < 0.1] = 0.2
    elif c.type == "mealkit":
        ln = int(rng.integers(14, 22))
        c.notes.append("paused=" + "|".join(yearly_span(m, rng, int(rng.integers(180, 215)), ln, 0.0)))
        for y in YEARS:
            span(m, dix(y, 12, 21), dix(y, 12, 21) + 13, 0.0)
        wk = DAYS // 7
        skip = rng.random(wk.max() + 1) < 0.07
        m[skip[wk]] = 0.0
        b[m < 0.1] = 0.4
    elif c.type == "student":
        f = float(rng.uniform(1.6, 2.2))
        for y in YEARS:
            span(m, dix(y, 1, 12), dix(y, 2, 10), f, "mul")
            span(m, dix(y, 6, 5), dix(y, 7, 3), f, "mul")
            span(m, dix(y, 12, 20), dix(y, 12, 20) + 16, 0.05)
        ln = int(rng.integers(28, 57))
        c.notes.append(f"exam_factor={f:.2f};home=" + "|".join(yearly_span(m, rng, int(rng.integers(190, 205)), ln, 0.05)))
        b[m < 0.1] = 0.3
    elif c.type == "b2b":
        m[ph] = 0.0
        for y in YEARS:
            span(m, dix(y, 12, 22), dix(y, 12, 22) + 15, 0.0)
        ln = int(rng.integers(18, 24))
        c.notes.append("office_closed=" + "|".join(yearly_span(m, rng, int(rng.integers(200, 212)), ln, 0.0, jitter=2)))
        b[m < 0.1] = 0.2
    elif c.type == "shop":
        for y in YEARS:
            span(m, dix(y, 11, 20), dix(y, 12, 20), 1.7, "mul")
        ln = int(rng.integers(10, 20))
        yearly_span(m, rng, int(rng.integers(180, 220)), ln, 0.3, mode="mul")
    if c.type not in ("shop", "b2b"):
        m *= 1.0 + 0.1 * np.cos(2 * np.pi * (DOY - 20) / 365.25)   # more delivery in winter
    c.cal_m, c.cal_b = m, b


def first_ok(c, rng, lo, hi, hist=150):
    """change day between lo and hi with at least `hist` days of own history."""
    lo = max(lo, c.start + hist)
    if lo >= hi:
        c.start = max(0, hi - hist - int(rng.integers(30, 200)))
        lo = c.start + hist
    return int(rng.integers(lo, hi))


def scenario_shape(c, rng):
    s = c.scenario
    R = c.rng
    if s == "stay_diet_month":
        d = int(R.integers(max(c.start + 120, dix(2023, 6, 1)), dix(2025, 4, 1)))
        ln = int(R.integers(28, 43))
        f = float(R.uniform(0.45, 0.65))
        c.value_m = c.value_m * ramp([(d - 1, 1.0), (d, f), (d + ln, f), (d + ln + 10, 1.0)])
        c.rate_m *= ramp([(d - 1, 1.0), (d, 0.9), (d + ln, 0.9), (d + ln + 5, 1.0)])
        c.shift_day = d
        c.notes.append(f"diet_basket_factor={f:.2f};diet_days={ln}")
    elif s == "stay_new_job_shift":
        d = int(R.integers(max(c.start + 150, dix(2023, 7, 1)), dix(2025, 3, 1)))
        c.shift_day = d
        wd2 = np.zeros(7)
        wd2[5], wd2[6] = R.uniform(0.55, 0.8), R.uniform(0.4, 0.7)
        wd2[:5] = R.uniform(0.0, 0.06)
        c.wd2 = wd2
        c.hr2 = np.array([19.5, 12.8, 13.2]) + R.uniform(-0.5, 0.5)
        c.notes.append("new_job: weekday lunch -> weekend; weekend rates %.2f/%.2f" % (wd2[5], wd2[6]))
    elif s == "stay_late_complainer":
        c.p_cmp_bg = float(R.uniform(0.1, 0.2))
        c.notes.append(f"late_complaints_per_order={c.p_cmp_bg:.2f} (logistics, resolved)")
    elif s == "stay_voucher_bursty":
        rm = np.zeros(N)
        d = c.start + int(R.integers(0, 20))
        wins = 0
        while d < N:
            ln = int(R.integers(3, 8))
            rm[d:d + ln] = R.uniform(0.8, 1.5)
            wins += 1
            d += ln + int(R.integers(14, 43))
        c.rate_m *= rm
        c.notes.append(f"voucher_windows={wins}")
    elif s == "stay_household_grows":
        d = int(R.integers(max(c.start + 150, dix(2023, 6, 1)), dix(2025, 2, 1)))
        c.shift_day = d
        fr, fv = float(R.uniform(1.3, 1.7)), float(R.uniform(1.25, 1.5))
        c.rate_m *= ramp([(d, 1.0), (d + 35, fr)])
        c.value_m = c.value_m * ramp([(d, 1.0), (d + 35, fv)])
        c.notes.append(f"grows rate x{fr:.2f} basket x{fv:.2f}")
    elif s == "stay_new_erratic":
        c.start = int(R.integers(dix(2023, 5, 1), dix(2025, 1, 15)))
        w = int(R.integers(7, 15))
        g = int(R.integers(14, 36))
        c.rate_m *= ramp([(c.start, 2.5), (c.start + w, 2.5), (c.start + w + 1, 0.08), (c.start + w + g, 0.08),
                          (c.start + w + g + 21, 1.0)])
        c.browse_m *= ramp([(c.start, 2.0), (c.start + w + g, 0.6), (c.start + w + g + 21, 1.0)])
        c.shift_day = c.start
        c.notes.append(f"joined={DATES[c.start]};welcome_burst={w}d;lull={g}d")
    elif s == "stay_promo_exposed":
        camp = [x for x in c.strong[c.cat] if x[0] > c.start + 120]
        if not camp:
            c.start = 0
            camp = c.strong[c.cat]
        p, ln, st, kind = camp[int(R.integers(len(camp)))]
        dip = float(R.uniform(0.3, 0.6))
        tail = int(R.integers(0, 10))
        c.rate_m *= ramp([(p, 1.0), (p + 4, dip), (p + ln + tail, dip), (p + ln + tail + 10, 1.0)])
        c.shift_day = p
        c.notes.append(f"rival_{kind}@{DATES[p]} strength={st} days={ln};order_dip={dip:.2f};back_after={ln+tail+10}d")
    # ------------------------------------------------ changed
    elif s == "chg_habit_erosion":
        C = first_ok(c, R, dix(2023, 9, 1), dix(2025, 1, 10), 180)
        c.wd = c.wd * float(R.uniform(1.3, 1.6))   # a strong habit (3-4 orders a week) that erodes
        rd = int(R.integers(60, 92))
        floor = float(R.uniform(0.2, 0.3))
        hold = int(R.integers(21, 43))
        lag = int(R.integers(20, 41))
        c.rate_m *= ramp([(C, 1.0), (C + rd, floor)])
        c.order_end = C + rd + hold
        c.browse_m *= ramp([(C + lag, 1.0), (C + lag + 60, 0.15)])
        c.dwell_m *= ramp([(C + lag, 1.0), (C + lag + 60, 0.7)])
        c.end = c.order_end + int(R.integers(3, 22))
        c.change_day, c.decline_end, c.full_exit = C, C + rd, 1
        c.notes.append(f"orders x1->x{floor:.2f} over {rd}d, hold {hold}d; activity falls from +{lag}d")
    elif s == "chg_drift_promo":
        camp = [x for x in c.strong[c.cat] if x[0] > c.start + 180]
        if not camp:
            c.start = 0
            camp = [x for x in c.strong[c.cat] if x[0] > 180]
        p, ln, st, kind = camp[int(R.integers(len(camp)))]
        pre = R.random() < 0.5
        C = p
        if pre:
            C = p - int(R.integers(21, 43))
            c.rate_m *= ramp([(C, 1.0), (p, 0.7)])
        react = int(R.integers(3, 11))
        to_low = int(R.integers(18, 36))
        c.rate_m *= ramp([(p + react, 1.0), (p + react + to_low, 0.12)])
        c.order_end = p + react + to_low + int(R.integers(7, 22))
        c.browse_m *= ramp([(p, 1.0), (p + 14, 0.6), (c.order_end + 30, 0.45), (c.order_end + 70, 0.1)])
        c.end = min(c.order_end + int(R.integers(40, 90)), N - 12)   # gone before the period ends
        c.change_day, c.decline_end, c.full_exit = C, c.order_end, 1
        c.notes.append(f"rival_{kind}@{DATES[p]} strength={st};pre_drift={int(pre)};react={react}d;"
                       f"orders_stop=+{c.order_end - p}d;app_open_until=+{c.end - p}d")
    elif s == "chg_logistics_complaints":
        C = first_ok(c, R, dix(2023, 9, 1), dix(2025, 3, 1), 180)
        W = int(R.integers(21, 50))
        n = int(R.integers(3, 7))
        c.complaint_plan.append(("churn", C, C + W, n, "logistics"))
        c.rate_m *= ramp([(C, 1.0), (C + W, 0.8), (C + W + 1, 0.35)])
        c.order_end = C + W + int(R.integers(3, 25))
        c.end = c.order_end + int(R.integers(1, 10))
        c.change_day, c.change_event, c.decline_end, c.full_exit = C, "first_complaint", c.order_end, 1
        c.notes.append(f"{n} unresolved late-delivery complaints over {W}d; gone +{c.end - C}d")
    elif s == "chg_quality_tradedown":
        C = first_ok(c, R, dix(2023, 9, 1), dix(2025, 1, 15), 180)
        W = int(R.integers(21, 43))
        n = int(R.integers(2, 5))
        f = float(R.uniform(0.35, 0.55))
        ln = int(R.integers(30, 70))
        c.complaint_plan.append(("quality", C, C + W, n, "product"))
        c.value_m = c.value_m * ramp([(C + W, 1.0), (C + W + 14, f)])
        c.rate_m *= ramp([(C + W, 1.0), (C + W + 14, 0.7)])
        c.order_end = C + W + 14 + ln
        c.end = c.order_end + int(R.integers(2, 15))
        c.change_day, c.change_event, c.decline_end, c.full_exit = C, "first_complaint", c.order_end, 1
        c.notes.append(f"{n} quality complaints over {W}d; basket x{f:.2f} for {ln}d; then gone")
    elif s == "chg_abrupt":
        E = first_ok(c, R, dix(2023, 8, 1), dix(2025, 4, 20), 200)
        c.end = c.order_end = E
        c.close_account = R.random() < 0.4
        c.change_event = "last_event"
        c.change_day, c.decline_end, c.full_exit = E, E, 1
        c.notes.append("closed_account" if c.close_account else "moved_city")
    elif s == "chg_price_tradedown":
        c.basket = float(R.uniform(52, 70))
        C = first_ok(c, R, dix(2023, 9, 1), dix(2025, 1, 1), 180)
        rd = int(R.integers(28, 57))
        f = float(R.uniform(0.36, 0.46))
        c.value_m = c.value_m * ramp([(C, 1.0), (C + rd, f)])
        c.rate_m *= ramp([(C, 1.0), (C + rd, float(R.uniform(0.85, 1.05)))])
        c.change_day, c.decline_end = C, C + rd
        if R.random() < 0.3 and C + rd + 210 < N - 20:
            c.order_end = C + rd + int(R.integers(120, 211))
            c.end = c.order_end + int(R.integers(2, 15))
            c.full_exit = 1
        c.notes.append(f"basket x1->x{f:.2f} over {rd}d (~{c.basket:.0f}->{c.basket * f:.0f} EUR); "
                       f"{'then gone' if c.full_exit else 'keeps ordering at the lower value'}")
    elif s == "chg_b2b_to_monthly":
        C = first_ok(c, R, dix(2023, 9, 1), dix(2025, 1, 1), 180)
        tr = int(R.integers(14, 29))
        c.rate_m *= ramp([(C, 1.0), (C + tr, 0.24)])
        c.change_day, c.decline_end = C, C + tr
        if R.random() < 0.45 and C + tr + 200 < N - 20:
            c.order_end = C + tr + int(R.integers(90, 201))
            c.end = c.order_end + int(R.integers(2, 20))
            c.full_exit = 1
        c.notes.append(f"weekly -> about monthly over {tr}d; {'then gone' if c.full_exit else 'keeps ordering monthly'}")
    elif s == "chg_activity_fade":
        C = first_ok(c, R, dix(2023, 9, 1), dix(2025, 1, 1), 180)
        c.browse = max(c.browse, 0.12)
        c.login_daily = max(c.login_daily, 0.35)
        a = int(R.integers(30, 61))
        c.browse_m *= ramp([(C, 1.0), (C + a, 0.18)])
        c.dwell_m *= ramp([(C, 1.0), (C + a, 0.55)])
        c.login_m = ramp([(C, 1.0), (C + a, 0.18)])
        c.rate_m *= ramp([(C + 30, 1.0), (C + 100, 0.45)])
        c.order_end = C + int(R.integers(100, 151))
        c.end = c.order_end + int(R.integers(2, 20))
        c.change_day, c.decline_end, c.full_exit = C, C + a, 1
        c.notes.append(f"logins/pages x0.18 & dwell x0.55 over {a}d; orders x0.45 from +30..100d; gone +{c.end - C}d")
    if c.change_day is not None and c.change_event is None:
        c.change_at = iso_day(c.change_day)


# -------------------------------------------------------------------- events
class Emitter:
    def __init__(self, c, ids):
        self.c, self.ids, self.k, self.ev = c, ids, 0, []

    def add(self, t, typ, **f):
        if t < EPOCH0 or t >= T_END:
            return
        c = self.c
        self.k += 1
        d = {"type": typ}
        if self.k % 3:
            d["schema_version"] = 1
        d["event_id"] = ("e-" + self.ids.h(c.id, self.k, n=20))
        d["customer_id"] = c.id
        d["occurred_at"] = iso(t)
        d.update(f)
        self.ev.append((int(t), self.k, d))


def local_t(c, d, hour):
    """local hour (float, may exceed 24) on day d -> UTC epoch seconds."""
    return EPOCH0 + int(d) * 86400 + int(hour * 3600) - int(c.off[int(d)])


def daytime(c, t):
    """move a time that falls in the local night (before 07:00) to the morning."""
    d = (t - EPOCH0) // 86400
    loc = (t - EPOCH0 + int(c.off[min(max(int(d), 0), N - 1)])) % 86400
    return t + (7 * 3600 - loc) + (loc % 1800) if loc < 7 * 3600 else t


def dwell(rng, med, m=1.0):
    return round(float(min(86400.0, med * m * np.exp(rng.normal(0, 0.55)))), 1)


def session(c, em, rng, d, hour, order=None, pages=None, entry=None):
    """login (sometimes) + page views (+ order). returns (order_t, order_id) or None."""
    t = local_t(c, d, hour)
    ch = ["web", "app", "other"][int(rng.choice(3, p=c.chan))]
    lm = getattr(c, "login_m", None)
    pl = c.p_login * (lm[d] if lm is not None else 1.0)
    if rng.random() < pl:
        if rng.random() < 0.03:
            em.add(t - 50, "login", channel=ch, success=False)
        em.add(t, "login", channel=ch, success=True)
        t += int(rng.integers(3, 25))
    sid = "s-" + em.ids.h(c.id, "s", d, hour, n=12)
    dm = c.dwell * c.dwell_m[d]
    cat = c.cat if order is None else order[2]
    if pages is None:
        # pages in the session, the checkout page included
        np_ = 1 + int(rng.poisson(max(0.0, (c.pv if order else c.pv * 0.7) - 1)))
        pages = []
        first = entry or ("/reorder" if (order and c.type in ("coffee", "lunch", "mealkit") and rng.random() < 0.6)
                          else "/home")
        pages.append((first, None, 9))
        for j in range(np_ - (2 if order else 1)):
            if cat == "meals":
                pages.append((f"/menu/{RESTAURANTS[int(rng.integers(len(RESTAURANTS)))]}", cat, 35))
            elif cat == "meal_kits":
                pages.append((f"/kits/week-{DATES[d].isocalendar()[1]:02d}/recipe-{int(rng.integers(1, 40))}", cat, 30))
            elif cat == "coffee":
                pages.append(("/menu/coffee", cat, 12))
            elif cat == "catering":
                pages.append((f"/catering/packages/{int(rng.integers(1, 25))}", cat, 60))
            else:
                pages.append((f"/p/{cat}/{cat[:3]}-{int(rng.integers(100, 9999))}", cat, 18))
        if order and np_ >= 2:
            pages.append(("/checkout", None, 40))
    for pg, pc, med in pages:
        dw = dwell(rng, med, dm)
        em.add(t, "page_view", page=pg, dwell_seconds=dw, category=pc, session_id=sid)
        t += int(dw) + int(rng.integers(1, 6))
    if order is None:
        return None
    amount, items, ocat = order
    oid = "o-" + em.ids.h(c.id, "o", em.k, n=12)
    em.add(t, "order", order_id=oid, amount=amount, currency=c.cur, status="placed", items=items, category=ocat)
    return t, oid


def complaint(c, em, rng, t, cat, sev, pattern):
    cid = "cmp-" + em.ids.h(c.id, "c", t, n=10)
    if rng.random() < 0.7:
        em.add(t - int(rng.integers(30, 200)), "page_view", page="/help/contact", dwell_seconds=dwell(rng, 60),
               category=None, session_id="s-" + em.ids.h(c.id, "h", t, n=12))
    em.add(t, "complaint", complaint_id=cid, status="opened", category=cat, severity=sev)
    h = 3600
    if pattern == "resolved":
        em.add(t + int(rng.integers(2 * h, 72 * h)), "complaint", complaint_id=cid, status="resolved", category=cat, severity=sev)
    elif pattern == "escalate_resolve":
        t1 = t + int(rng.integers(6 * h, 48 * h))
        em.add(t1, "complaint", complaint_id=cid, status="escalated", category=cat, severity=sev)
        em.add(t1 + int(rng.integers(12 * h, 96 * h)), "complaint", complaint_id=cid, status="resolved", category=cat, severity=sev)
    elif pattern == "reopen_resolve":
        t1 = t + int(rng.integers(2 * h, 48 * h))
        em.add(t1, "complaint", complaint_id=cid, status="resolved", category=cat, severity=sev)
        t2 = t1 + int(rng.integers(12 * h, 96 * h))
        em.add(t2, "complaint", complaint_id=cid, status="reopened", category=cat, severity=sev)
        em.add(t2 + int(rng.integers(6 * h, 72 * h)), "complaint", complaint_id=cid, status="resolved", category=cat, severity=sev)
    elif pattern == "escalated":       # left open
        em.add(t + int(rng.integers(12 * h, 72 * h)), "complaint", complaint_id=cid, status="escalated", category=cat, severity=sev)
    elif pattern == "reopened":        # 'resolved' by the shop, customer disagrees
        t1 = t + int(rng.integers(4 * h, 48 * h))
        em.add(t1, "complaint", complaint_id=cid, status="resolved", category=cat, severity=sev)
        em.add(t1 + int(rng.integers(6 * h, 72 * h)), "complaint", complaint_id=cid, status="reopened", category=cat, severity=sev)
    # 'open': no follow-up at all
    return cid


def simulate(c, ids):
    rng = c.rng
    em = Emitter(c, ids)
    active = (DAYS >= c.start) & (DAYS < c.end)
    wd = c.wd[WD]
    if c.wd2 is not None:
        wd = np.where(DAYS >= c.shift_day, c.wd2[WD], wd)
        cal2 = c.cal_m.copy()
        cal2[PH[c.country]] = 1.0   # the weekend habit does not stop on public holidays
        c.cal_m = np.where(DAYS >= c.shift_day, cal2, c.cal_m)
    noise = rng.gamma(8.0, 1 / 8.0, N // 7 + 1)[DAYS // 7]
    lam = wd * c.cal_m * c.rate_m * noise * active * (DAYS < c.order_end)
    if c.bern:
        n_orders = (rng.random(N) < np.minimum(lam, 0.97)).astype(int)
    else:
        n_orders = np.minimum(rng.poisson(lam), 2)
    # first order soon after joining (the customer arrives by ordering)
    if n_orders[c.start:c.start + 7].sum() == 0 and c.start < c.order_end:
        n_orders[c.start + int(rng.integers(0, 7))] = 1
    lb = c.browse * c.cal_b * c.browse_m * active
    n_browse = rng.poisson(lb)
    orders = []  # (t, oid, day, amount_eur)
    for d in np.nonzero(n_orders)[0]:
        for j in range(int(n_orders[d])):
            wdc = 0 if WD[d] < 5 else WD[d] - 4
            hr = c.hr2 if (c.hr2 is not None and d >= c.shift_day) else c.hr
            hour = float(np.clip(rng.normal(hr[wdc], c.hsd), 6.0, 23.8)) + (1.5 * j if j else 0)
            eur = c.basket * c.value_m[d] * float(np.exp(rng.normal(0, c.sig) - c.sig ** 2 / 2))
            ocat = c.cat if rng.random() > c.p_second else c.second_cat
            if ocat != c.cat and c.type in ("lunch", "coffee", "dinner", "student"):
                eur *= 2.2  # an occasional grocery top-up is larger than a coffee or lunch
            items = max(1, int(rng.poisson(max(eur / c.item, 0.6))))
            if c.type == "mealkit":
                items = max(2, int(round(eur / c.item)))
            amount = round(eur * c.fx, 2)
            r = session(c, em, rng, d, hour, order=(amount, items, ocat))
            if r is None:
                continue
            t, oid = r
            orders.append((t, oid, int(d), eur, amount, items, ocat))
            u = rng.random()
            if u < c.p_cancel:
                em.add(t + int(rng.integers(60, 1500)), "order", order_id=oid, amount=amount, currency=c.cur,
                       status="cancelled", items=items, category=ocat)
            elif u < c.p_cancel + c.p_return:
                em.add(t + int(rng.integers(1, 20) * 86400 + rng.integers(0, 36000)), "order", order_id=oid,
                       amount=amount, currency=c.cur, status="returned", items=items, category=ocat)
            if rng.random() < c.p_track:
                em.add(t + int(rng.integers(600, 2400)), "page_view", page=f"/orders/{oid}/track",
                       dwell_seconds=dwell(rng, 25), category=None, session_id="s-" + ids.h(c.id, "tr", oid, n=12))
    # browse-only sessions
    for d in np.nonzero(n_browse)[0]:
        for j in range(int(n_browse[d])):
            wdc = 0 if WD[d] < 5 else WD[d] - 4
            hour = (float(np.clip(rng.normal(c.hr[wdc] - 0.5, c.hsd + 1), 6.5, 23.5)) if rng.random() < 0.6
                    else float(rng.uniform(7.5, 23.0)))
            entry = None
            if c.scenario == "stay_voucher_bursty" and rng.random() < 0.4:
                entry = "/vouchers"
            elif c.cat in FOOD_CATS and rng.random() < 0.15:
                entry = "/deals"
            session(c, em, rng, d, hour, entry=entry)
    # coffee-style app opens: a login, sometimes one page
    if c.login_daily:
        lm = getattr(c, "login_m", c.browse_m)
        la = c.login_daily * lm * c.cal_b * active
        for d in np.nonzero(rng.random(N) < la)[0]:
            t = local_t(c, d, float(np.clip(rng.normal(c.hr[0] - 0.3, 0.7), 6.0, 22.0)))
            em.add(t, "login", channel="app", success=True)
            if rng.random() < 0.35:
                em.add(t + int(rng.integers(3, 15)), "page_view", page="/rewards" if rng.random() < 0.5 else "/home",
                       dwell_seconds=dwell(rng, 10, c.dwell * c.dwell_m[d]), category=None,
                       session_id="s-" + ids.h(c.id, "ap", d, n=12))
    # complaints
    first_cmp = None
    for kind, d0, d1, n, ccat in c.complaint_plan:
        cand = [o for o in orders if d0 <= o[2] <= d1]
        chosen = []
        if cand:
            idxs = np.linspace(0, len(cand) - 1, min(n, len(cand))).round().astype(int)
            chosen = [cand[i] for i in sorted(set(idxs.tolist()))]
        times = [o[0] + (int(rng.integers(2400, 9000)) if ccat == "logistics" else int(rng.integers(3600, 30 * 3600)))
                 for o in chosen]
        while len(times) < n:   # no order that day: complaint about an earlier delivery
            times.append(local_t(c, int(rng.integers(d0, d1 + 1)), float(rng.uniform(9, 21))))
        times.sort()
        for i, t in enumerate(times):
            sev = ["medium", "high", "high"][min(i, 2)] if kind == "churn" else ["medium", "high", "medium"][i % 3]
            if kind == "churn":
                pat = ["open", "escalated", "reopened", "escalated", "open", "escalated"][i % 6]
            else:
                pat = ["resolved", "reopened", "escalated", "open"][i % 4]
            complaint(c, em, rng, t, ccat, sev, pat)
            first_cmp = t if first_cmp is None else min(first_cmp, t)
    for o in orders:
        if rng.random() < c.p_cmp_bg and (c.change_day is None or o[2] < c.change_day):
            if c.scenario == "stay_late_complainer":
                cat = "logistics" if rng.random() < 0.85 else "product"
                sev = ["low", "medium", "high"][int(rng.choice(3, p=[0.3, 0.45, 0.25]))]
                pat = ["resolved", "escalate_resolve", "reopen_resolve"][int(rng.choice(3, p=[0.7, 0.18, 0.12]))]
            else:
                cat = ["logistics", "product", "service", "billing", "other"][int(rng.choice(5, p=[0.4, 0.3, 0.12, 0.12, 0.06]))]
                sev = ["low", "medium", "high"][int(rng.choice(3, p=[0.5, 0.4, 0.1]))]
                pat = ["resolved", "escalate_resolve", "reopen_resolve"][int(rng.choice(3, p=[0.85, 0.1, 0.05]))]
            complaint(c, em, rng, daytime(c, o[0] + int(rng.integers(1800, 20 * 3600))), cat, sev, pat)
    if c.close_account:
        ev_t = max(e[0] for e in em.ev) if em.ev else local_t(c, c.end - 1, 20)
        t = ev_t + int(rng.integers(3600, 5 * 86400))
        t = min(t, local_t(c, min(c.end + 3, N - 1), 21))
        sid = "s-" + ids.h(c.id, "close", n=12)
        em.add(t, "login", channel="app" if c.chan[1] > 0.5 else "web", success=True)
        em.add(t + 8, "page_view", page="/account", dwell_seconds=dwell(rng, 20), category=None, session_id=sid)
        em.add(t + 40, "page_view", page="/account/delete", dwell_seconds=dwell(rng, 35), category=None, session_id=sid)
    em.ev.sort(key=lambda e: (e[0], e[1]))
    c.first_cmp = first_cmp
    return em.ev, orders


def truth_row(c, ev, orders):
    ts = [e[0] for e in ev]
    placed = sorted(o[0] for o in orders)
    first_t, last_t = (min(ts), max(ts)) if ts else (None, None)
    change_at = c.change_at
    if c.change_event == "first_complaint" and c.first_cmp is not None:
        change_at = iso(c.first_cmp)
    elif c.change_event == "last_event":
        change_at = iso(last_t)
    # usual gap between orders: before the change (180 days) or over the whole history
    ref = None
    if c.change_day is not None:
        ref = T_END if not change_at else int(datetime.fromisoformat(change_at.replace("Z", "+00:00")).timestamp())
    elif c.shift_day is not None and c.scenario not in ("stay_new_erratic",):
        ref = EPOCH0 + c.shift_day * 86400
    pts = [t for t in placed if ref is None or (ref - 180 * 86400 <= t < ref)]
    if len(pts) < 3 and ref is not None:
        pts = [t for t in placed if t < ref]
    gap = (pts[-1] - pts[0]) / 86400 / (len(pts) - 1) if len(pts) >= 2 else ""
    shift = iso_day(c.shift_day) if c.shift_day is not None else ""
    dend = iso_day(c.decline_end) if c.decline_end is not None else ""
    if c.change_event == "last_event":
        dend = change_at
    return {
        "customer_id": c.id, "scenario": c.scenario, "changed": c.changed, "churned": c.changed,
        "cause": c.cause, "change_at": change_at if c.changed else "", "shift_at": shift,
        "last_active_at": iso(last_t), "first_event_at": iso(first_t), "decline_end_at": dend if c.changed else "",
        "full_exit": c.full_exit, "last_order_at": iso(placed[-1]) if placed else "",
        "usual_gap_days": f"{gap:.1f}" if gap != "" else "", "business": c.business, "currency": c.cur,
        "currency_after": "", "tz": c.tz, "tz_after": "", "main_category": c.cat, "n_events": len(ev),
        "n_orders": len(placed),
        "notes": ";".join([f"type={c.type}", f"country={c.country}", f"basket_eur={c.basket:.0f}",
                           "wd_rates=" + "/".join(f"{x:.2f}" for x in c.wd), f"browse_per_day={c.browse:.2f}",
                           f"p_login={c.p_login:.2f}", f"start_day={DATES[c.start]}"] + c.notes),
    }


# ---------------------------------------------------------------------- validate
def validate(path, schema_dir):
    try:
        import jsonschema
    except ImportError:
        print("jsonschema not installed: skipped", file=sys.stderr)
        return None
    m = {"login": "login", "page_view": "page-view", "order": "order", "complaint": "complaint",
         "market_event": "market-event"}
    vals = {}
    for k, f in m.items():
        sch = json.load(open(os.path.join(schema_dir, f + ".schema.json")))
        vals[k] = jsonschema.Draft202012Validator(sch, format_checker=jsonschema.FormatChecker())
    n, bad = 0, 0
    seen = set()
    prev = ""
    order_state = {}
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            n += 1
            errs = list(vals[d["type"]].iter_errors(d))
            if errs:
                bad += 1
                if bad < 5:
                    print("INVALID", d, errs[0].message, file=sys.stderr)
            if d["event_id"] in seen:
                bad += 1
                print("DUPLICATE event_id", d["event_id"], file=sys.stderr)
            seen.add(d["event_id"])
            if d["occurred_at"] < prev:
                bad += 1
                print("OUT OF ORDER", d["event_id"], file=sys.stderr)
            prev = d["occurred_at"]
            if d["type"] == "market_event" and d.get("ends_at") and d["ends_at"] <= d["occurred_at"]:
                bad += 1
    return n, bad


# -------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7777)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", default="out/outside7/data")
    ap.add_argument("--validate", action="store_true", help="check every event against schemas/json afterwards")
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    ids = Ids(a.seed)
    rng = np.random.default_rng([a.seed, 1])
    market, strong = market_plan(rng, ids)
    plan = []
    for scen, n, changed, cause, types in SCENARIOS:
        plan += [(scen, changed, cause, types)] * max(1, int(round(n * a.scale)))
    order = np.random.default_rng([a.seed, 2]).permutation(len(plan))
    allev = list(market)
    rows = []
    for ci, pi in enumerate(order):
        scen, changed, cause, types = plan[int(pi)]
        c = make_customer(scen, changed, cause, types, ci, a.seed, ids, strong)
        ev, orders = simulate(c, ids)
        rows.append(truth_row(c, ev, orders))
        allev += [(t, ci, k, d) for t, k, d in ev]
    allev.sort(key=lambda e: (e[0], e[1], e[2]))
    with open(os.path.join(a.out, "events.jsonl"), "w") as f:
        for e in allev:
            f.write(json.dumps(e[3], separators=(",", ":")) + "\n")
    with open(os.path.join(a.out, "truth_full.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TRUTH_FULL_COLS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(a.out, "truth_eval.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(TRUTH_EVAL_COLS)
        for r in rows:
            w.writerow([r["customer_id"], r["churned"], r["scenario"], r["change_at"], r["last_active_at"],
                        r["cause"], r["usual_gap_days"]])
    dt = time.time() - t0
    by = {}
    for r in rows:
        by.setdefault(r["scenario"], []).append(r)
    print(f"wrote {len(allev)} events ({len(market)} market events), {len(rows)} customers, "
          f"{sum(r['changed'] for r in rows)} changed, in {dt:.1f}s -> {a.out}")
    for s, _, _, _, _ in SCENARIOS:
        rs = by.get(s, [])
        if rs:
            print(f"  {s:28s} n={len(rs):3d} events/customer={np.mean([r['n_events'] for r in rs]):7.0f} "
                  f"orders/customer={np.mean([r['n_orders'] for r in rs]):6.0f} full_exit={sum(r['full_exit'] for r in rs)}")
    if a.validate:
        here = os.path.dirname(os.path.abspath(__file__))
        sd = os.path.join(here, "..", "..", "schemas", "json")
        t1 = time.time()
        res = validate(os.path.join(a.out, "events.jsonl"), sd)
        if res:
            print(f"validated {res[0]} events against {os.path.normpath(sd)}: {res[1]} problems ({time.time() - t1:.1f}s)")
            if res[1]:
                sys.exit(1)


if __name__ == "__main__":
    main()
