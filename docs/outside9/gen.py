#!/usr/bin/env python3
"""Outside population 9: B2B wholesale / distributor accounts.

Writes events.jsonl (replay format), truth_full.csv and truth_eval.csv for scoring
Churnwatch. Written from the product brief, the event contracts (schemas/json) and the
scorer's truth format only (see README.md next to this file).

Usage: python gen.py [--seed 9999] [--scale 1] [--out out/outside9/data] [--validate]
stdlib + numpy (jsonschema only for --validate).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

START = date(2022, 1, 1)
END = date(2025, 6, 30)  # last day with events (inclusive)
D = (END - START).days + 1
EPOCH0 = int(datetime(2022, 1, 1, tzinfo=timezone.utc).timestamp())
PRICE_LIST_DAY = (date(2024, 4, 1) - START).days  # shop-wide new price list, baskets x0.90


def dix(y, m, d):
    return (date(y, m, d) - START).days


def day_date(d):
    return START + timedelta(days=int(d))


CATS = ["packaging", "office_supplies", "industrial_parts", "cleaning", "safety", "electrical", "food_service"]
UNIT_EUR = {"packaging": 3.5, "office_supplies": 6.0, "industrial_parts": 38.0, "cleaning": 7.5,
            "safety": 14.0, "electrical": 22.0, "food_service": 4.5}

# country: tz, currency, units per EUR, fiscal-year-end month, weight
COUNTRIES = {
    "DE": ("Europe/Berlin", "EUR", 1.0, 12, 0.17),
    "FR": ("Europe/Paris", "EUR", 1.0, 12, 0.10),
    "IT": ("Europe/Rome", "EUR", 1.0, 12, 0.08),
    "ES": ("Europe/Madrid", "EUR", 1.0, 12, 0.06),
    "NL": ("Europe/Amsterdam", "EUR", 1.0, 12, 0.06),
    "UK": ("Europe/London", "GBP", 0.86, 3, 0.12),
    "PL": ("Europe/Warsaw", "PLN", 4.35, 12, 0.05),
    "SE": ("Europe/Stockholm", "SEK", 11.3, 12, 0.04),
    "CH": ("Europe/Zurich", "CHF", 0.95, 12, 0.04),
    "US-E": ("America/New_York", "USD", 1.08, 12, 0.10),
    "US-C": ("America/Chicago", "USD", 1.08, 9, 0.07),
    "JP": ("Asia/Tokyo", "JPY", 160.0, 3, 0.06),
    "AU": ("Australia/Sydney", "AUD", 1.65, 6, 0.05),
}
EUROPE = {"DE", "FR", "IT", "ES", "NL", "UK", "PL", "SE", "CH"}

# strong rival campaigns (category, kind, start, days or None = open-ended, strength)
CAMPAIGNS = [
    ("packaging", "competitor_price_cut", dix(2023, 5, 8), 60, 0.82),
    ("cleaning", "competitor_promotion", dix(2023, 10, 2), 35, 0.76),
    ("industrial_parts", "competitor_price_cut", dix(2024, 2, 5), 75, 0.86),
    ("office_supplies", "competitor_price_cut", dix(2024, 3, 11), 40, 0.78),
    ("electrical", "competitor_launch", dix(2024, 5, 13), None, 0.72),
    ("food_service", "competitor_price_cut", dix(2024, 9, 9), 45, 0.80),
]

SCENARIOS = [  # name, n, changed, cause
    ("stay_regular", 90, 0, ""),
    ("stay_shutdown", 40, 0, ""),
    ("stay_budget_freeze", 40, 0, ""),
    ("stay_consolidation", 40, 0, ""),
    ("stay_edi_shift", 35, 0, ""),
    ("stay_complaint_resolved", 35, 0, ""),
    ("stay_project_order", 30, 0, ""),
    ("stay_volume_discount", 25, 0, ""),
    ("stay_new_account", 40, 0, ""),
    ("stay_seat_turnover", 30, 0, ""),
    ("stay_seasonal", 30, 0, ""),
    ("stay_rival_exposed", 25, 0, ""),
    ("chg_dual_sourcing", 40, 1, "purchase_frequency"),
    ("chg_category_rival", 30, 1, "order_value"),
    ("chg_complaints_exit", 30, 1, "complaints"),
    ("chg_seat_loss", 30, 1, "activity"),
    ("chg_contract_termination", 25, 1, "silence"),
    ("chg_slow_fade", 35, 1, "drift"),
]


# ----------------------------------------------------------------------------- calendar
def easter(y):
    a = y % 19
    b, c = divmod(y, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    mo = (h + l - 7 * m + 114) // 31
    dy = (h + l - 7 * m + 114) % 31 + 1
    return date(y, mo, dy)


def nth_wd(y, m, wd, n):
    """n-th weekday wd (0=Mon) of month; n=-1 last."""
    if n > 0:
        d0 = date(y, m, 1)
        return d0 + timedelta(days=(wd - d0.weekday()) % 7 + 7 * (n - 1))
    d0 = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
    return d0 - timedelta(days=(d0.weekday() - wd) % 7)


def holidays(country, y):
    e = easter(y)
    gf, em, asc, wm, cc = e - timedelta(2), e + timedelta(1), e + timedelta(39), e + timedelta(50), e + timedelta(60)
    D_ = lambda m, d: date(y, m, d)
    H = {
        "DE": [D_(1, 1), gf, em, D_(5, 1), asc, wm, D_(10, 3), D_(12, 25), D_(12, 26)],
        "FR": [D_(1, 1), em, D_(5, 1), D_(5, 8), asc, wm, D_(7, 14), D_(8, 15), D_(11, 1), D_(11, 11), D_(12, 25)],
        "IT": [D_(1, 1), D_(1, 6), em, D_(4, 25), D_(5, 1), D_(6, 2), D_(8, 15), D_(11, 1), D_(12, 8), D_(12, 25), D_(12, 26)],
        "ES": [D_(1, 1), D_(1, 6), gf, D_(5, 1), D_(8, 15), D_(10, 12), D_(11, 1), D_(12, 6), D_(12, 8), D_(12, 25)],
        "NL": [D_(1, 1), gf, em, D_(4, 27), asc, wm, D_(12, 25), D_(12, 26)],
        "UK": [D_(1, 1), gf, em, nth_wd(y, 5, 0, 1), nth_wd(y, 5, 0, -1), nth_wd(y, 8, 0, -1), D_(12, 25), D_(12, 26)],
        "PL": [D_(1, 1), D_(1, 6), em, D_(5, 1), D_(5, 3), cc, D_(8, 15), D_(11, 1), D_(11, 11), D_(12, 25), D_(12, 26)],
        "SE": [D_(1, 1), D_(1, 6), gf, em, D_(5, 1), asc, D_(6, 6), nth_wd(y, 6, 4, 3) + timedelta(0 if nth_wd(y, 6, 4, 3).day >= 19 else 7),
               D_(12, 24), D_(12, 25), D_(12, 26), D_(12, 31)],
        "CH": [D_(1, 1), D_(1, 2), gf, em, asc, wm, D_(8, 1), D_(12, 25), D_(12, 26)],
        "US-E": [D_(1, 1), nth_wd(y, 1, 0, 3), nth_wd(y, 5, 0, -1), D_(7, 4), nth_wd(y, 9, 0, 1), nth_wd(y, 11, 3, 4),
                 nth_wd(y, 11, 3, 4) + timedelta(1), D_(12, 25)],
        "JP": [D_(1, 1), D_(1, 2), D_(1, 3), nth_wd(y, 1, 0, 2), D_(2, 11), D_(2, 23), D_(3, 21), D_(4, 29), D_(5, 3), D_(5, 4),
               D_(5, 5), nth_wd(y, 7, 0, 3), D_(8, 11), D_(8, 13), D_(8, 14), D_(8, 15), D_(8, 16), nth_wd(y, 9, 0, 3),
               D_(9, 23), nth_wd(y, 10, 0, 2), D_(11, 3), D_(11, 23), D_(12, 29), D_(12, 30), D_(12, 31)],
        "AU": [D_(1, 1), D_(1, 26), gf, em, D_(4, 25), nth_wd(y, 6, 0, 2), nth_wd(y, 10, 0, 1), D_(12, 25), D_(12, 26)],
    }
    H["US-C"] = H["US-E"]
    return H[country]


_OFF_CACHE = {}


def tz_offsets(tzname):
    """UTC offset in minutes at 12:00 local of each day."""
    if tzname not in _OFF_CACHE:
        z = ZoneInfo(tzname)
        _OFF_CACHE[tzname] = np.array(
            [int(datetime.combine(day_date(d), datetime.min.time().replace(hour=12), z).utcoffset().total_seconds() // 60)
             for d in range(D)], dtype=np.int64)
    return _OFF_CACHE[tzname]


def fmt_time(t, off_min=None):
    """t: UTC epoch seconds (float, ms resolution). off_min: render in that local offset."""
    ms = int(round(t * 1000))
    sec, msr = divmod(ms, 1000)
    if off_min is None:
        dt = datetime(1970, 1, 1) + timedelta(seconds=sec)
        suf = "Z"
    else:
        dt = datetime(1970, 1, 1) + timedelta(seconds=sec + off_min * 60)
        sgn = "+" if off_min >= 0 else "-"
        h, m = divmod(abs(off_min), 60)
        suf = f"{sgn}{h:02d}:{m:02d}"
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if msr:
        s += f".{msr:03d}"
    return s + suf


def iso_day(d):
    return day_date(d).isoformat() + "T00:00:00Z"


def iso_t(t):
    return fmt_time(t)


# ----------------------------------------------------------------------------- account
class Acc:
    pass


ROLE_RATE = {"buyer": (0.12, 0.23), "buyer2": (0.05, 0.10), "accountant": (0.035, 0.065),
             "warehouse": (0.04, 0.09), "manager": (0.012, 0.03)}
CADENCES = [("weekly", 7), ("fortnightly", 14), ("monthly", 30.4), ("bimonthly", 61)]
BUSINESS = ["distributor", "manufacturer", "facility_services", "hospitality", "retail_chain", "office_services",
            "construction", "logistics"]
BUS_CATS = {
    "distributor": ["packaging", "office_supplies", "cleaning", "safety"],
    "manufacturer": ["industrial_parts", "electrical", "safety", "packaging"],
    "facility_services": ["cleaning", "safety", "electrical", "office_supplies"],
    "hospitality": ["food_service", "cleaning", "packaging"],
    "retail_chain": ["packaging", "cleaning", "office_supplies", "food_service"],
    "office_services": ["office_supplies", "electrical", "cleaning"],
    "construction": ["safety", "electrical", "industrial_parts"],
    "logistics": ["packaging", "safety", "industrial_parts", "cleaning"],
}


def pick(rng, xs, p=None):
    return xs[int(rng.choice(len(xs), p=p))]


def make_account(idx, cid, scen, rng, force=None):
    force = force or {}
    a = Acc()
    a.idx, a.cid, a.scen = idx, cid, scen
    ctry = force.get("country")
    if ctry is None:
        names = list(COUNTRIES)
        w = np.array([COUNTRIES[c][4] for c in names])
        ctry = pick(rng, names, w / w.sum())
    a.country = ctry
    a.tz, a.cur, a.rate, a.fy_end, _ = COUNTRIES[ctry]
    a.off = tz_offsets(a.tz)
    a.business = force.get("business") or pick(rng, BUSINESS)
    cats = list(BUS_CATS[a.business])
    main = force.get("main")
    if main is None:
        main = pick(rng, cats)
    if main not in cats:
        cats.append(main)
    others = [c for c in cats if c != main]
    rng.shuffle(others)
    a.main = main
    a.secondary = others[: 1 + int(rng.integers(0, min(3, len(others))))]
    a.split_p = float(rng.choice([0.0, 0.2, 0.4]))
    cad = force.get("cadence")
    if cad is None:
        cad = pick(rng, CADENCES, [0.13, 0.33, 0.38, 0.16])
    else:
        cad = next(c for c in CADENCES if c[0] == cad)
    a.cad_name, a.cad = cad
    a.basket_eur = float({"weekly": rng.uniform(700, 2500), "fortnightly": rng.uniform(1200, 5000),
                          "monthly": rng.uniform(2500, 11000), "bimonthly": rng.uniform(5000, 22000)}[a.cad_name])
    size = force.get("size") or pick(rng, ["small", "medium", "large"], [0.35, 0.45, 0.20])
    a.size = size
    roles = {"small": ["buyer"] + (["accountant"] if rng.random() < 0.6 else []),
             "medium": ["buyer", "accountant", "warehouse"] + (["buyer2"] if rng.random() < 0.4 else []),
             "large": ["buyer", "buyer2", "accountant", "warehouse", "warehouse", "manager"]}[size]
    if force.get("need_accountant") and "accountant" not in roles:
        roles.append("accountant")
    a.seats = []
    for i, r in enumerate(roles):
        lo, hi = ROLE_RATE[r]
        a.seats.append(dict(sid=f"u{i + 1}", role=r, rate=float(rng.uniform(lo, hi)), start=0, end=D))
    a.channel_p = pick(rng, [(0.9, 0.05, 0.05), (0.6, 0.1, 0.3), (0.75, 0.2, 0.05)])  # web, app, other (SSO)
    a.login_p = float(rng.uniform(0.7, 0.95))
    a.pv_lam = float(rng.uniform(0.2, 0.6))
    a.local_fmt = (ctry != "UK") and rng.random() < 0.25
    a.sv_p = float(rng.choice([0.0, 0.5, 1.0]))
    a.pref_wd = int(rng.integers(0, 5))
    a.pref_dom = int(rng.integers(1, 24))
    a.phase = int(rng.integers(0, 2))
    a.anniv = int(rng.integers(15, 350))  # contract renewal day-of-year
    a.order_hour = (float(rng.uniform(8.5, 11.5)), float(rng.uniform(13.0, 16.5)))
    # seasonal shutdowns (a habit from the start)
    a.xmas = (ctry in EUROPE and rng.random() < 0.6) or (ctry not in EUROPE and rng.random() < 0.25)
    p_aug = {"IT": 0.7, "FR": 0.5, "ES": 0.5, "DE": 0.15}.get(ctry, 0.04)
    a.aug_weeks = int(rng.integers(2, 4)) if rng.random() < p_aug else 0
    a.aug_start = int(rng.integers(-4, 4))
    a.join = 0
    a.exit_t = None
    a.m_all = np.ones(D)
    a.m_role = {r: np.ones(D) for r in ROLE_RATE}
    a.pv_mult = np.ones(D)
    a.extra_sessions = []  # (day, hour, role, pages)
    a.complaints = []  # (t_local_day, hour, cat, sev, [(dt_days, status)])
    a.change_day = None
    a.change_t = None
    a.shift_day = None
    a.decline_end_t = None
    a.full_exit = ""
    a.notes = {}
    a.browse_cut = None  # (day, category no longer browsed)
    a.extra_shutdowns = []
    return a


def build_work(a):
    work = np.array([day_date(d).weekday() < 5 for d in range(D)])
    for y in range(2021, 2026):
        for h in holidays(a.country, y):
            d = (h - START).days
            if 0 <= d < D:
                work[d] = False
        if a.xmas:
            for d in range(dix(y, 12, 24) if y >= 2021 else 0, dix(y + 1, 1, 2) + 1) if y >= 2021 else []:
                if 0 <= d < D:
                    work[d] = False
        if a.aug_weeks and y >= 2022:
            s = dix(y, 8, 1) + a.aug_start
            # shutdown begins on the Monday on/after s
            s += (7 - day_date(s).weekday()) % 7
            for d in range(s, s + 7 * a.aug_weeks - 2):
                if 0 <= d < D:
                    work[d] = False
    for s, e in a.extra_shutdowns:
        work[max(0, s):min(D, e)] = False
    a.work = work


def next_work(a, d, limit=6):
    for k in range(limit):
        if d + k < D and a.work[d + k]:
            return d + k
    return None


def base_orders(a, rng):
    days = []
    if a.cad_name in ("weekly", "fortnightly"):
        d = (a.pref_wd - day_date(0).weekday()) % 7 + 7 * (a.phase if a.cad_name == "fortnightly" else 0)
        while d < D:
            if not (a.cad_name == "weekly" and rng.random() < 0.07):
                dd = d + (int(rng.integers(-1, 3)) if rng.random() < 0.2 else 0)
                days.append(dd)
            d += a.cad
    else:
        step = 1 if a.cad_name == "monthly" else 2
        y, m = 2022, 1 + (a.phase if step == 2 else 0)
        while True:
            if m > 12:
                y, m = y + 1, m - 12
            if date(y, m, 1) > END:
                break
            dd = dix(y, m, 1) + a.pref_dom - 1 + int(round(rng.normal(0, 2)))
            days.append(dd)
            m += step
    orders = []
    for dd in days:
        if dd < 0:
            continue
        w = next_work(a, dd, 8)
        if w is None:
            continue
        orders.append(dict(day=w, eur=a.basket_eur * float(rng.lognormal(0, 0.22)), cat=a.main, via="web", tag="regular"))
    # fiscal-year-end budget spend: an extra order in the 3 weeks before FY end
    for y in range(2022, 2026):
        fy = date(y, a.fy_end, 1)
        fy_end = (date(y + (a.fy_end == 12), a.fy_end % 12 + 1, 1) - START).days - 1
        if rng.random() < 0.55:
            w = next_work(a, fy_end - int(rng.integers(5, 22)), 8)
            if w is not None and 0 <= w < D:
                orders.append(dict(day=w, eur=a.basket_eur * float(rng.uniform(0.8, 1.8)), cat=pick(rng, [a.main] + a.secondary),
                                   via="web", tag="fy_end"))
    for o in orders:
        dt = day_date(o["day"])
        q_end = date(dt.year + (dt.month > 9), (((dt.month - 1) // 3 + 1) * 3) % 12 + 1, 1) - timedelta(1)
        if (q_end - dt).days < 12 and rng.random() < 0.5:
            o["eur"] *= float(rng.uniform(1.15, 1.4))
    orders.sort(key=lambda o: o["day"])
    return orders


def add_splits(a, orders, rng):
    out = []
    for o in orders:
        out.append(o)
        if a.secondary and o["tag"] == "regular" and rng.random() < a.split_p:
            out.append(dict(day=o["day"], eur=o["eur"] * float(rng.uniform(0.2, 0.5)), cat=pick(rng, a.secondary),
                            via=o["via"], tag="split", parent=o))
    return out


def ramp(d0, length, lo=0.0):
    """1 before d0, linear to lo over length days, lo after (array over all days)."""
    x = np.clip((np.arange(D) - d0) / max(1, length), 0, 1)
    return 1 - (1 - lo) * x


def rday(rng, a0, b0):
    return int(rng.integers(a0, b0 + 1))


# ----------------------------------------------------------------------------- scenarios
def complaint_flow(rng, resolved, sev_choices=("medium", "high")):
    sev = pick(rng, list(sev_choices))
    fl = [(0.0, "opened")]
    t = 0.0
    if resolved:
        if rng.random() < 0.35:
            t += float(rng.uniform(1, 6))
            fl.append((t, "escalated"))
        t += float(rng.uniform(2, 15))
        fl.append((t, "resolved"))
        if rng.random() < 0.2:
            t += float(rng.uniform(2, 10))
            fl.append((t, "reopened"))
            t += float(rng.uniform(2, 10))
            fl.append((t, "resolved"))
    else:
        u = rng.random()
        if u < 0.45:
            t += float(rng.uniform(2, 8))
            fl.append((t, "escalated"))
        elif u < 0.7:
            t += float(rng.uniform(3, 12))
            fl.append((t, "resolved"))
            t += float(rng.uniform(2, 9))
            fl.append((t, "reopened"))
    return sev, fl


def apply_scenario(a, orders, rng):
    s = a.scen
    if s == "stay_shutdown":
        y = int(rng.choice([2023, 2024]))
        if rng.random() < 0.6:
            st = dix(y, 7, 10) + rday(rng, 0, 20)
            ln = rday(rng, 42, 56)
        else:
            st = dix(y, 12, 11) + rday(rng, 0, 6)
            ln = rday(rng, 42, 52)
        a.extra_shutdowns.append((st, st + ln))
        a.shift_day = st
        a.notes.update(extended_shutdown=f"{day_date(st)}+{ln}d")
    elif s == "stay_seasonal":
        south = a.country == "AU"
        peak = [10, 11, 12, 1, 2, 3] if south else [4, 5, 6, 7, 8, 9]
        months = np.array([day_date(d).month for d in range(D)])
        pk = np.isin(months, peak)
        a.m_all *= np.where(pk, 1.3, 0.55)
        for o in orders:
            if day_date(o["day"]).month in peak:
                o["eur"] *= 1.4
            else:
                o["eur"] *= 0.6
                if rng.random() < 0.5:
                    o["drop"] = True
        a.notes.update(peak="Oct-Mar" if south else "Apr-Sep")
    elif s == "stay_budget_freeze":
        qs = [dix(2023, 1, 2), dix(2023, 4, 3), dix(2023, 7, 3), dix(2023, 10, 2), dix(2024, 1, 8), dix(2024, 4, 1),
              dix(2024, 7, 1), dix(2024, 10, 1)]
        st = pick(rng, qs) + rday(rng, 0, 15)
        ln = rday(rng, 42, 70)
        first = True
        for o in orders:
            if st <= o["day"] < st + ln:
                o["drop"] = True
            elif o["day"] >= st + ln and first and o["tag"] == "regular":
                o["eur"] *= float(rng.uniform(1.3, 1.8))
                first = False
        a.m_all[st:st + ln] *= 0.85
        for k in range(rday(rng, 2, 4)):
            a.extra_sessions.append((st + rday(rng, 0, ln), "manager" if any(x["role"] == "manager" for x in a.seats) else "buyer",
                                     ["/b2b/reports/spend", "/b2b/budget", "/b2b/orders"]))
        a.shift_day = st
        a.notes.update(freeze_days=ln)
    elif s == "stay_consolidation":
        st = rday(rng, dix(2023, 2, 1), dix(2024, 10, 15))
        f = float(rng.uniform(1.8, 2.2))
        k = 0
        for o in orders:
            if o["day"] >= st and o["tag"] == "regular":
                if k % 2 == 1:
                    o["drop"] = True
                else:
                    o["eur"] *= f
                k += 1
        a.shift_day = st
        a.notes.update(consolidation_factor=round(f, 2))
    elif s == "stay_edi_shift":
        st = rday(rng, dix(2023, 2, 1), dix(2024, 10, 15))
        for o in orders:
            if o["day"] >= st:
                o["via"] = "edi"
        a.m_role["buyer"][st:] *= 0.12
        a.m_role["buyer2"][st:] *= 0.0
        a.m_role["warehouse"][st:] *= 0.5
        a.pv_mult[st:] *= 0.6
        for k in range(3):
            a.extra_sessions.append((st - rday(rng, 3, 30), "buyer", ["/b2b/integrations/edi", "/b2b/api/keys", "/docs/edi/orders"]))
        a.shift_day = st
    elif s == "stay_complaint_resolved":
        k = rday(rng, 1, 3)
        cand = [o for o in orders if dix(2023, 1, 15) <= o["day"] < dix(2025, 3, 1) and o["tag"] == "regular"]
        picks = sorted(rng.choice(len(cand), size=min(k, len(cand)), replace=False))
        for i in picks:
            o = cand[int(i)]
            sev, fl = complaint_flow(rng, True)
            cat = pick(rng, ["logistics", "product", "service", "logistics", "billing"])
            a.complaints.append((o["day"] + rday(rng, 1, 6), cat, sev, fl))
        if a.complaints:
            a.shift_day = min(c[0] for c in a.complaints)
    elif s == "stay_project_order":
        st = rday(rng, dix(2023, 2, 1), dix(2025, 1, 31))
        w = next_work(a, st, 10) or st
        f = float(rng.uniform(5, 12))
        orders.append(dict(day=w, eur=a.basket_eur * f, cat=pick(rng, [a.main] + a.secondary), via="web", tag="project"))
        for k in range(rday(rng, 2, 4)):
            a.extra_sessions.append((w - rday(rng, 3, 28), "buyer", ["/b2b/rfq", f"/b2b/quotes/Q{rng.integers(1000, 9999)}",
                                                                     f"/catalog/{a.main}"]))
        n = 0
        for o in orders:
            if o["day"] > w and o["tag"] == "regular" and n < 2:
                o["eur"] *= float(rng.uniform(0.75, 0.9))
                n += 1
        a.shift_day = w
        a.notes.update(project_factor=round(f, 1))
    elif s == "stay_volume_discount":
        y = int(rng.choice([2023, 2024]))
        st = max(dix(y, 1, 1) + a.anniv, dix(2023, 2, 1))
        f = float(rng.uniform(0.78, 0.88))
        for o in orders:
            if o["day"] >= st:
                o["eur"] *= f
        a.extra_sessions.append((st - rday(rng, 1, 10), "buyer", ["/b2b/contract", "/b2b/contract/renewal", "/b2b/price-list"]))
        a.shift_day = st
        a.notes.update(discount=round(f, 2))
    elif s == "stay_new_account":
        j = rday(rng, dix(2023, 1, 9), dix(2024, 9, 30))
        a.join = j
        rl = rday(rng, 60, 120)
        for i, st_ in enumerate(a.seats):
            if i > 0:
                st_["start"] = j + rday(rng, 14, 100)
        for o in orders:
            if j <= o["day"] < j + rl:
                o["eur"] *= float(rng.uniform(0.3, 0.6))
                if rng.random() < 0.3:
                    o["drop"] = True
        a.extra_sessions.append((j, "buyer", ["/b2b/onboarding", "/b2b/users/invite", "/b2b/price-list", f"/catalog/{a.main}"]))
        a.m_all[j:j + 30] *= 1.5
        a.shift_day = j
        a.notes.update(join=str(day_date(j)), ramp_days=rl)
    elif s == "stay_seat_turnover":
        st = rday(rng, dix(2023, 2, 1), dix(2024, 12, 15))
        gap = rday(rng, 20, 50)
        b = a.seats[0]
        b["end"] = st
        a.seats.append(dict(sid=f"u{len(a.seats) + 1}", role="buyer", rate=b["rate"] * float(rng.uniform(1.0, 1.3)),
                            start=st + gap, end=D))
        for o in orders:
            if st <= o["day"] < st + gap and rng.random() < 0.4:
                o["drop"] = True
        a.shift_day = st
        a.notes.update(buyer_gap_days=gap)
    elif s == "stay_rival_exposed":
        c = CAMPAIGNS[a.camp]
        st = c[2]
        ln = c[3] or 45
        a.m_all[st:st + ln] *= 1.4
        for k in range(rday(rng, 1, 3)):
            a.extra_sessions.append((st + rday(rng, 1, 20), "buyer", [f"/price-list/{a.main}", f"/catalog/{a.main}",
                                                                     f"/p/{a.main}/{rng.integers(1000, 9999)}"]))
        for o in orders:
            if o["day"] >= st and o["tag"] == "regular":
                o["eur"] *= 0.85
                break
        a.shift_day = st
        a.notes.update(campaign=f"{c[0]}@{day_date(st)}")
    # ------------------------------------------------------------------ leavers
    elif s == "chg_dual_sourcing":
        if a.camp is not None:
            dc = CAMPAIGNS[a.camp][2] + rday(rng, 0, 20)
            a.notes.update(campaign=f"{CAMPAIGNS[a.camp][0]}@{day_date(CAMPAIGNS[a.camp][2])}")
        else:
            dc = rday(rng, dix(2023, 3, 1), dix(2024, 8, 31))
        rl = rday(rng, 90, 170)
        pmax = float(rng.uniform(0.65, 0.85))
        for o in orders:
            if o["day"] >= dc:
                p = pmax * min(1.0, (o["day"] - dc) / rl)
                if rng.random() < p:
                    o["drop"] = True
        a.m_all *= ramp(dc, rl, 0.55)
        a.change_day = dc
        if rng.random() < 0.6:
            ex = dc + rl + rday(rng, 60, 150)
            a.exit_day = ex
            a.full_exit = 1
        else:
            a.full_exit = 0
            a.decline_end_t = EPOCH0 + (dc + rl) * 86400
        a.notes.update(ramp_days=rl, drop_p=round(pmax, 2))
    elif s == "chg_category_rival":
        c = CAMPAIGNS[a.camp]
        dc = c[2]
        sw = dc + rday(rng, 3, 21)
        f = float(rng.uniform(0.3, 0.5))
        sec = a.secondary[0]
        first = None
        for o in orders:
            if o["day"] >= sw:
                if o["tag"] == "split" and o["cat"] == a.main:
                    o["drop"] = True
                if o["tag"] != "split":
                    o["eur"] *= f
                    o["cat"] = sec
                    first = first or o["day"]
        a.browse_cut = (sw, a.main)
        a.extra_sessions.append((dc + rday(rng, 1, 5), "buyer", [f"/price-list/{a.main}", f"/catalog/{a.main}",
                                                                 f"/p/{a.main}/{rng.integers(1000, 9999)}"]))
        a.m_all *= ramp(sw, 60, 0.75)
        a.change_day = dc
        if rng.random() < 0.5:
            ex = min(sw + rday(rng, 120, 270), dix(2025, 4, 15))
            a.exit_day = ex
            a.m_all *= ramp(ex - 90, 90, 0.3)
            a.full_exit = 1
        else:
            a.full_exit = 0
            a.decline_end_t = EPOCH0 + (first or sw) * 86400
        a.notes.update(campaign=f"{c[0]}@{day_date(dc)}", lost_category=a.main, value_factor=round(f, 2))
    elif s == "chg_complaints_exit":
        cand = [o for o in orders if dix(2023, 3, 1) <= o["day"] <= dix(2024, 10, 15) and o["tag"] == "regular"]
        o0 = cand[int(rng.integers(0, len(cand)))]
        theme = pick(rng, ["logistics", "product", "service"], [0.45, 0.4, 0.15])
        k = rday(rng, 2, 4)
        d = o0["day"] + rday(rng, 1, 6)
        days = []
        for i in range(k):
            days.append(d)
            d += rday(rng, 7, 25)
        days = [next_work(a, x, 6) or x for x in days]
        for i, cd in enumerate(days):
            cat = theme if rng.random() < 0.8 else pick(rng, ["logistics", "product", "service"])
            sev, fl = complaint_flow(rng, False)
            a.complaints.append((cd, cat, sev, fl))
            a.extra_sessions.append((cd, "warehouse" if any(x["role"] == "warehouse" for x in a.seats) else "buyer",
                                     ["/b2b/deliveries", "/b2b/support/new"], "before_complaint", i))
        stop = days[-1] + rday(rng, 10, 45)
        for o in orders:
            if o["day"] > days[0]:
                o["eur"] *= 0.8
            if o["day"] > stop:
                o["drop"] = True
        a.m_all *= ramp(days[0], 60, 0.5)
        a.exit_day = stop + rday(rng, 10, 40)
        a.full_exit = 1
        a.change_day = days[0]
        a.change_is_first_complaint = True
        a.notes.update(theme=theme, complaints=k)
    elif s == "chg_seat_loss":
        dc = rday(rng, dix(2023, 3, 1), dix(2024, 10, 31))
        acct = next(x for x in a.seats if x["role"] == "accountant")
        for x in a.seats:
            if x is not acct:
                x["end"] = dc
        acct["rate"] = float(rng.uniform(0.10, 0.14))
        keep = rday(rng, 1, 3)
        n = 0
        last = dc
        for o in orders:
            if o["day"] >= dc:
                if o["tag"] == "regular" and n < keep and o["day"] < dc + 120:
                    o["eur"] *= float(rng.uniform(0.6, 0.9))
                    o["by"] = "accountant"
                    n += 1
                    last = o["day"]
                else:
                    o["drop"] = True
        a.exit_day = last + rday(rng, 20, 60)
        a.full_exit = 1
        a.change_day = dc
        a.decline_end_t = EPOCH0 + last * 86400
        a.notes.update(seats_before=len(a.seats), orders_after=n)
    elif s == "chg_contract_termination":
        ed = rday(rng, dix(2023, 4, 1), dix(2025, 2, 28))
        ed = next_work(a, ed, 10) or ed
        if rng.random() < 0.3:
            a.extra_sessions.append((ed, "manager" if any(x["role"] == "manager" for x in a.seats) else "buyer",
                                     ["/b2b/contract", "/b2b/contract/termination"], "last"))
            a.notes.update(termination_visit=1)
        a.exit_day = ed
        a.full_exit = 1
    elif s == "chg_slow_fade":
        dc = rday(rng, dix(2023, 3, 1), dix(2024, 6, 30))
        rl = rday(rng, 150, 240)
        r = 1 - ramp(dc, rl, 0.0)
        a.m_all *= 1 - 0.9 * r
        for o in orders:
            if o["day"] >= dc:
                x = min(1.0, (o["day"] - dc) / rl)
                if rng.random() < 0.85 * x:
                    o["drop"] = True
                o["eur"] *= 1 - 0.35 * x
        a.exit_day = dc + rl + rday(rng, 0, 30)
        a.full_exit = 1
        a.change_day = dc
        a.notes.update(ramp_days=rl)
    return [o for o in orders if not o.get("drop") and not (o["tag"] == "split" and o["parent"].get("drop"))]


# ----------------------------------------------------------------------------- rendering
PAGES = {
    "buyer": ["/b2b/dashboard", "CAT", "PROD", "PROD", "/b2b/orders", "/b2b/quick-order", "/b2b/price-list", "/b2b/favourites"],
    "buyer2": ["/b2b/dashboard", "CAT", "PROD", "/b2b/orders", "/b2b/quick-order"],
    "accountant": ["/b2b/invoices", "INV", "/b2b/statements", "/b2b/payments", "INV"],
    "warehouse": ["/b2b/deliveries", "TRACK", "/b2b/returns", "TRACK", "/b2b/orders"],
    "manager": ["/b2b/reports/spend", "/b2b/contract", "/b2b/users", "/b2b/dashboard"],
}


class Out:
    def __init__(self, a, rng):
        self.a, self.rng = a, rng
        self.ev = []  # (t, seq, dict, local?)
        self.n = 0
        self.sess = 0
        self.inv = 0

    def t_of(self, d, hour):
        return EPOCH0 + d * 86400 + hour * 3600 - int(self.a.off[d]) * 60

    def add(self, typ, t, fields, local=False):
        a = self.a
        self.n += 1
        e = {"type": typ}
        if self.rng.random() < a.sv_p:
            e["schema_version"] = 1
        e["event_id"] = f"{a.cid}-e{self.n:06d}"
        e["customer_id"] = a.cid
        e.update(fields)
        if self.rng.random() < 0.04:
            t = round(t) + round(float(self.rng.uniform(0.001, 0.999)), 3)
        else:
            t = float(round(t))
        self.ev.append([t, self.n, e, local and a.local_fmt])
        return t

    def page(self, a, d, role, p):
        rng = self.rng
        cat = None
        browse = [a.main] + a.secondary
        if a.browse_cut and d >= a.browse_cut[0]:
            browse = [c for c in browse if c != a.browse_cut[1]] or browse
        if p == "CAT":
            cat = pick(rng, browse)
            p = f"/catalog/{cat}"
        elif p == "PROD":
            cat = pick(rng, browse)
            p = f"/p/{cat}/{rng.integers(10000, 99999)}"
        elif p == "INV":
            p = f"/b2b/invoices/INV-{a.idx + 1:04d}-{rng.integers(1, 900):03d}.pdf"
        elif p == "TRACK":
            p = f"/b2b/orders/PO-{a.idx + 1:04d}-{rng.integers(1, 900):03d}/tracking"
        elif p.startswith("/catalog/") or p.startswith("/p/") or p.startswith("/price-list/"):
            cat = p.split("/")[2]
        return p, cat

    def session(self, d, hour, role, pages, login=None, sid_seat="u0"):
        a, rng = self.a, self.rng
        self.sess += 1
        sid = f"{a.cid}-{sid_seat}-s{self.sess}"
        t = self.t_of(d, hour)
        if login is None:
            login = rng.random() < a.login_p
        if login:
            ch = pick(rng, ["web", "app", "other"], list(a.channel_p))
            if role == "warehouse" and ch == "web" and rng.random() < 0.3:
                ch = "app"
            if rng.random() < 0.03:
                self.add("login", t - float(rng.uniform(8, 40)), {"channel": ch, "success": False}, True)
            f = {"channel": ch}
            if rng.random() < 0.5:
                f["success"] = True
            t = self.add("login", t, f, True)
        last = t
        for p in pages:
            t += float(rng.uniform(2, 12))
            path, cat = self.page(a, d, role, p)
            dw = float(np.round(min(3600.0, rng.lognormal(3.4 if cat else 3.0, 0.8)), 1))
            f = {"page": path, "dwell_seconds": dw}
            if cat is not None:
                f["category"] = cat
            if rng.random() < 0.93:
                f["session_id"] = sid
            t = self.add("page_view", t, f, True)
            if rng.random() < 0.01:  # double-click: same page again a second later, distinct event
                self.add("page_view", t + float(rng.uniform(0.5, 3)), dict(f, dwell_seconds=float(np.round(rng.uniform(0, 4), 1))), True)
            t += dw
            last = t
        return last


def render(a, orders, rng, markets):
    o = Out(a, rng)
    exit_day = getattr(a, "exit_day", None)
    last_day = min(D - 1, exit_day) if exit_day is not None else D - 1
    work = a.work
    seat_of = {}
    # background sessions per seat
    for s in a.seats:
        seat_of.setdefault(s["role"], s)
        lo, hi = max(a.join, s["start"]), min(last_day + 1, s["end"])
        if hi <= lo:
            continue
        lam = s["rate"] * a.m_all[lo:hi] * a.m_role[s["role"]][lo:hi] * work[lo:hi]
        ns = rng.poisson(np.maximum(lam, 0))
        for k in np.nonzero(ns)[0]:
            d = lo + int(k)
            for _ in range(int(ns[k])):
                hour = float(np.clip(rng.normal(11.5 if s["role"] != "accountant" else 13.5, 2.6), 7.5, 17.8))
                npg = 1 + int(rng.poisson(a.pv_lam * a.pv_mult[d]))
                pages = [pick(rng, PAGES[s["role"]]) for _ in range(npg)]
                o.session(d, hour, s["role"], pages, sid_seat=s["sid"])
    # contract renewal look and new price list (April 2024) visits
    for y in range(2022, 2026):
        d = dix(y, 1, 1) + a.anniv - rday(rng, 3, 20)
        if max(a.join, 0) <= d <= last_day and work[d] and rng.random() < 0.7:
            o.session(d, float(rng.uniform(9, 16)), "buyer", ["/b2b/contract", "/b2b/price-list"], sid_seat="u1")
    d = PRICE_LIST_DAY + rday(rng, 0, 14)
    if a.join <= d <= last_day and work[d] and rng.random() < 0.5:
        o.session(d, float(rng.uniform(9, 16)), "buyer", ["/b2b/price-list", "/b2b/price-list/2024-04"], sid_seat="u1")
    # scenario extra sessions
    last_session_t = None
    for x in a.extra_sessions:
        d, role, pages = x[0], x[1], x[2]
        if d < a.join or d > last_day or d < 0:
            continue
        if len(x) > 3 and x[3] == "last":
            last_session_t = o.session(d, 16.5, role, pages, login=True, sid_seat="u1")
        elif len(x) > 3 and x[3] == "before_complaint":
            x_t = o.session(d, 9.0 + x[4] * 0.1, role, pages, login=True, sid_seat="u9")
            a.complaint_t = getattr(a, "complaint_t", {})
            a.complaint_t[x[4]] = x_t
        else:
            o.session(d, float(rng.uniform(9, 16)), role, pages, sid_seat="u1")
    # orders
    nord = 0
    placed = []
    for od in orders:
        d = od["day"]
        if d < a.join or d > last_day:
            continue
        eur = od["eur"] * (0.9 if d >= PRICE_LIST_DAY else 1.0)
        amt = eur * a.rate
        amt = int(round(amt)) if a.cur == "JPY" else round(amt, 2)
        items = max(1, int(round(eur / UNIT_EUR[od["cat"]] * float(rng.lognormal(0, 0.3)))))
        nord += 1
        oid = f"PO-{a.idx + 1:04d}-{nord:03d}"
        if od["via"] == "edi":
            t = o.t_of(d, float(rng.choice([rng.uniform(1.0, 5.0), rng.uniform(7.0, 8.0)])))
        else:
            if od["tag"] == "split" and "parent_t" in od["parent"]:
                t = od["parent"]["parent_t"] + float(rng.uniform(60, 600))
            else:
                role = od.get("by", "buyer")
                hour = a.order_hour[int(rng.integers(0, 2))] + float(rng.normal(0, 0.5))
                pages = ["/b2b/quick-order" if rng.random() < 0.5 else f"/catalog/{od['cat']}"]
                pages += [f"/p/{od['cat']}/{rng.integers(10000, 99999)}" for _ in range(int(rng.integers(0, 2)))]
                pages += ["/b2b/cart", "/b2b/checkout/invoice"]
                t = o.session(d, hour, role, pages, sid_seat=(seat_of.get(role) or {"sid": "u1"})["sid"]) + float(rng.uniform(5, 60))
            od["parent_t"] = t
        f = {"order_id": oid, "amount": amt, "currency": a.cur}
        if rng.random() < 0.8:
            f["status"] = "placed"
        f["items"] = items
        f["category"] = od["cat"]
        t = o.add("order", t, f)
        placed.append((t, od))
        u = rng.random()
        if u < 0.015:
            o.add("order", t + float(rng.uniform(600, 86400 * 2)), {"order_id": oid, "amount": amt, "currency": a.cur,
                                                                    "status": "cancelled", "items": items, "category": od["cat"]})
        elif u < 0.04:
            fr = float(rng.uniform(0.05, 0.4))
            ra = int(round(amt * fr)) if a.cur == "JPY" else round(amt * fr, 2)
            o.add("order", t + 86400 * float(rng.uniform(4, 30)), {"order_id": oid, "amount": ra, "currency": a.cur,
                                                                   "status": "returned", "items": max(1, int(items * fr)),
                                                                   "category": od["cat"]})
        elif u < 0.046:  # duplicate PO submitted twice, the second cancelled
            nord += 1
            oid2 = f"PO-{a.idx + 1:04d}-{nord:03d}"
            t2 = o.add("order", t + float(rng.uniform(40, 300)), {"order_id": oid2, "amount": amt, "currency": a.cur,
                                                                  "items": items, "category": od["cat"]})
            o.add("order", t2 + float(rng.uniform(600, 7200)), {"order_id": oid2, "amount": amt, "currency": a.cur,
                                                                "status": "cancelled", "items": items, "category": od["cat"]})
        # background complaint (resolved), not for complaint scenarios
        if a.scen not in ("chg_complaints_exit",) and rng.random() < 0.01:
            sev, fl = complaint_flow(rng, True, ("low", "medium"))
            a.complaints.append((min(D - 1, d + rday(rng, 1, 7)), pick(rng, ["logistics", "product", "billing", "service"]), sev, fl))
        # warehouse tracks the delivery
        wh = seat_of.get("warehouse")
        if wh and rng.random() < 0.25:
            dd = next_work(a, d + rday(rng, 1, 4), 5)
            if dd is not None and wh["start"] <= dd < wh["end"]:
                o.session(dd, float(rng.uniform(7.5, 15)), "warehouse", ["/b2b/deliveries", f"/b2b/orders/{oid}/tracking"],
                          sid_seat=wh["sid"])
    # complaints
    for i, (d, cat, sev, fl) in enumerate(a.complaints):
        if d < a.join or d > last_day:
            continue
        base = getattr(a, "complaint_t", {}).get(i) if a.scen == "chg_complaints_exit" else None
        t0 = (base + float(rng.uniform(30, 300))) if base else o.t_of(d, float(rng.uniform(8.5, 16.5)))
        cmp_id = f"CMP-{a.idx + 1:04d}-{i + 1:02d}"
        for dt, st in fl:
            o.add("complaint", t0 + dt * 86400, {"complaint_id": cmp_id, "status": st, "category": cat, "severity": sev}, True)
        if a.scen == "chg_complaints_exit" and i == 0:
            a.change_t = t0
    return o, last_session_t


# ----------------------------------------------------------------------------- main
def build(seed, scale):
    master = np.random.default_rng(seed)
    plan = []
    for name, n, ch, cause in SCENARIOS:
        plan += [(name, ch, cause)] * max(1, int(round(n * scale)))
    perm = master.permutation(len(plan))
    plan = [plan[int(i)] for i in perm]
    # market events
    mk = []
    mrng = np.random.default_rng([seed, 7])
    for cat in CATS:
        d = int(mrng.integers(0, 60))
        while d < D - 3:
            kind = pick(mrng, ["competitor_promotion", "competitor_price_cut", "competitor_launch"], [0.55, 0.3, 0.15])
            ln = None if kind == "competitor_launch" else int(mrng.integers(4, 22))
            mk.append((cat, kind, d, float(mrng.uniform(9, 15)), ln, round(float(mrng.uniform(0.1, 0.5)), 2)))
            d += int(mrng.integers(45, 111))
    for cat, kind, d, ln, stg in CAMPAIGNS:
        mk.append((cat, kind, d, 6.0, ln, stg))
    camp_counter = {"chg_category_rival": 0, "stay_rival_exposed": 0, "chg_dual_sourcing": 0}
    accounts = []
    for i, (scen, ch, cause) in enumerate(plan):
        cid = f"acct-{i + 1:04d}"
        rng = np.random.default_rng([seed, 1000 + i])
        force = {}
        camp = None
        if scen in ("chg_category_rival", "stay_rival_exposed") or (scen == "chg_dual_sourcing" and rng.random() < 0.4):
            camp = camp_counter[scen] % len(CAMPAIGNS)
            camp_counter[scen] += 1
            force["main"] = CAMPAIGNS[camp][0]
        if scen == "stay_shutdown":
            force["country"] = pick(rng, ["IT", "FR", "ES", "DE"])
        if scen == "stay_seasonal":
            force["business"] = "hospitality"
            force["cadence"] = "monthly"
        if scen == "chg_seat_loss":
            force["size"] = pick(rng, ["medium", "large"])
        if scen == "stay_consolidation":
            force["cadence"] = pick(rng, ["weekly", "fortnightly", "monthly"], [0.3, 0.4, 0.3])
        if scen == "chg_category_rival":
            force["need_sec"] = True
        a = make_account(i, cid, scen, rng, force)
        if scen == "stay_shutdown" and not a.aug_weeks:
            a.aug_weeks = 3
        a.changed, a.cause, a.camp = ch, cause, camp
        a.change_is_first_complaint = False
        if scen == "chg_seat_loss" and not any(x["role"] == "accountant" for x in a.seats):
            a.seats.append(dict(sid=f"u{len(a.seats) + 1}", role="accountant", rate=0.08, start=0, end=D))
        # scenario may add shutdowns -> decide before the calendar: stay_shutdown sets it in apply
        build_work(a)
        orders = add_splits(a, base_orders(a, rng), rng)
        if scen == "stay_shutdown":
            orders = apply_scenario(a, orders, rng)
            build_work(a)
            # stock up before the extended shutdown, move orders falling in it
            s0, e0 = a.extra_shutdowns[0]
            kept = []
            for od in orders:
                if s0 <= od["day"] < e0:
                    continue
                if s0 - 14 <= od["day"] < s0 or e0 <= od["day"] < e0 + 14:
                    od["eur"] *= 1.3
                if not a.work[od["day"]]:
                    w = next_work(a, od["day"], 8)
                    if w is None:
                        continue
                    od["day"] = w
                kept.append(od)
            orders = kept
        else:
            orders = apply_scenario(a, orders, rng)
        orders.sort(key=lambda x: (x["day"], x["tag"] == "split"))
        out, last_session_t = render(a, orders, rng, mk)
        a.out = out
        a.orders = orders
        accounts.append(a)
    return accounts, mk


def write_all(accounts, mk, outdir, seed):
    os.makedirs(outdir, exist_ok=True)
    allev = []
    for a in accounts:
        exit_t = None
        if getattr(a, "exit_day", None) is not None:
            # nothing after the end of the exit day (local evening)
            exit_t = EPOCH0 + (a.exit_day + 1) * 86400 - int(a.off[min(D - 1, a.exit_day)]) * 60
        ev = [x for x in a.out.ev if x[0] < END_T and (exit_t is None or x[0] < exit_t)
              and x[0] >= EPOCH0 + a.join * 86400 - 86400]
        if not ev:
            raise SystemExit(f"no events for {a.cid}")
        a.events = ev
        for x in ev:
            allev.append((x[0], a.idx, x[1], x[2], a.off, x[3]))
    for j, (cat, kind, d, hour, ln, stg) in enumerate(sorted(mk, key=lambda m: (m[2], m[0]))):
        t = float(EPOCH0 + d * 86400 + int(hour * 3600))
        e = {"type": "market_event", "event_id": f"mkt-{j + 1:04d}", "occurred_at": None, "kind": kind, "category": cat,
             "strength": stg}
        if ln is None:
            if j % 2 == 0:
                e["ends_at"] = None
        else:
            e["ends_at"] = fmt_time(t + ln * 86400)
        allev.append((t, -1, j, e, None, False))
    allev.sort(key=lambda x: (x[0], x[1], x[2]))
    n_by = {}
    with open(os.path.join(outdir, "events.jsonl"), "w") as f:
        for t, idx, seq, e, off, local in allev:
            if local and off is not None:
                dd = int((t - EPOCH0) // 86400)
                e["occurred_at"] = fmt_time(t, int(off[min(D - 1, max(0, dd))]))
            else:
                e["occurred_at"] = fmt_time(t)
            # keep the key order: type, [schema_version], event_id, customer_id, occurred_at, ...
            keys = list(e)
            order = ["type", "schema_version", "event_id", "customer_id", "occurred_at"]
            e2 = {k: e[k] for k in order if k in e}
            e2.update({k: e[k] for k in keys if k not in e2})
            f.write(json.dumps(e2, separators=(",", ":")) + "\n")
            n_by[e["type"]] = n_by.get(e["type"], 0) + 1
    # truth
    cols = ["customer_id", "scenario", "changed", "churned", "cause", "change_at", "shift_at", "last_active_at",
            "first_event_at", "decline_end_at", "full_exit", "last_order_at", "usual_gap_days", "business", "currency",
            "currency_after", "tz", "tz_after", "main_category", "n_events", "n_orders", "notes"]
    rows = []
    for a in accounts:
        ts = [x[0] for x in a.events]
        last_t, first_t = max(ts), min(ts)
        placed = sorted(x[0] for x in a.events if x[2]["type"] == "order" and x[2].get("status", "placed") == "placed")
        ch_t = None
        if a.changed:
            if a.scen == "chg_contract_termination":
                ch_t = last_t
            elif a.change_is_first_complaint:
                ch_t = a.change_t
            else:
                ch_t = EPOCH0 + a.change_day * 86400
        ref = ch_t if ch_t is not None else last_t + 1
        pdays = sorted({int((t - EPOCH0) // 86400) for t in placed if t < ref})
        gaps = np.diff(pdays)
        usual = float(np.median(gaps)) if len(gaps) >= 1 else float(a.cad)
        if a.full_exit == 1:
            dec_end = placed[-1] if placed else last_t
            if a.scen == "chg_contract_termination":
                dec_end = last_t
        elif a.decline_end_t is not None:
            dec_end = a.decline_end_t
        else:
            dec_end = None
        notes = dict(country=a.country, size=a.size, seats=len(a.seats), cadence=a.cad_name,
                     basket_eur=int(a.basket_eur), secondary="+".join(a.secondary), xmas_shutdown=int(a.xmas),
                     aug_shutdown_weeks=a.aug_weeks, local_offsets=int(a.local_fmt))
        notes.update(a.notes)
        rows.append(dict(
            customer_id=a.cid, scenario=a.scen, changed=a.changed, churned=a.changed, cause=a.cause,
            change_at=iso_t(ch_t) if ch_t is not None else "",
            shift_at=iso_day(a.shift_day) if a.shift_day is not None and not a.changed else "",
            last_active_at=iso_t(last_t), first_event_at=iso_t(first_t),
            decline_end_at=iso_t(dec_end) if dec_end is not None and a.changed else "",
            full_exit=a.full_exit if a.changed else "", last_order_at=iso_t(placed[-1]) if placed else "",
            usual_gap_days=f"{usual:.1f}", business=a.business, currency=a.cur, currency_after="", tz=a.tz, tz_after="",
            main_category=a.main, n_events=len(a.events), n_orders=len(placed),
            notes=";".join(f"{k}={v}" for k, v in notes.items())))
    with open(os.path.join(outdir, "truth_full.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(outdir, "truth_eval.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"])
        for r in rows:
            w.writerow([r["customer_id"], r["churned"], r["scenario"], r["change_at"], r["last_active_at"], r["cause"],
                        r["usual_gap_days"]])
    return len(allev), n_by, rows


END_T = EPOCH0 + D * 86400


def validate(outdir, repo):
    import jsonschema
    sch = {}
    for typ, fn in [("login", "login"), ("page_view", "page-view"), ("order", "order"), ("complaint", "complaint"),
                    ("market_event", "market-event")]:
        s = json.load(open(os.path.join(repo, "schemas", "json", fn + ".schema.json")))
        sch[typ] = jsonschema.Draft202012Validator(s, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    problems = []
    ids = set()
    prev = None
    last, first, nev = {}, {}, {}
    n = 0
    T = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
    with open(os.path.join(outdir, "events.jsonl")) as f:
        for ln, line in enumerate(f, 1):
            n += 1
            e = json.loads(line)
            typ = e.pop("type", None)
            if typ not in sch:
                problems.append(f"line {ln}: unknown type {typ}")
                continue
            for err in sch[typ].iter_errors(e):
                problems.append(f"line {ln}: {err.message}")
            if e["event_id"] in ids:
                problems.append(f"line {ln}: duplicate event_id {e['event_id']}")
            ids.add(e["event_id"])
            t = T(e["occurred_at"])
            if prev is not None and t < prev:
                problems.append(f"line {ln}: out of time order")
            prev = t
            if typ == "market_event" and e.get("ends_at") and T(e["ends_at"]) <= t:
                problems.append(f"line {ln}: ends_at not after occurred_at")
            if typ == "order" and e["currency"] == "JPY" and not isinstance(e["amount"], int):
                problems.append(f"line {ln}: JPY amount not whole")
            c = e.get("customer_id")
            if c:
                last[c] = t
                first.setdefault(c, t)
                nev[c] = nev.get(c, 0) + 1
    for r in csv.DictReader(open(os.path.join(outdir, "truth_full.csv"))):
        c = r["customer_id"]
        if c not in last:
            problems.append(f"{c}: no events")
            continue
        if T(r["last_active_at"]) != last[c]:
            problems.append(f"{c}: last_active_at {r['last_active_at']} != last event {last[c].isoformat()}")
        if int(r["n_events"]) != nev[c]:
            problems.append(f"{c}: n_events mismatch")
        if int(r["changed"]) != int(r["churned"]):
            problems.append(f"{c}: churned != changed")
        if r["changed"] == "1":
            ch = T(r["change_at"])
            if ch < datetime(2023, 1, 1, tzinfo=timezone.utc):
                problems.append(f"{c}: change_at before 2023-01-01")
            if ch > T(r["last_active_at"]):
                problems.append(f"{c}: change_at after last event")
            if not r["cause"]:
                problems.append(f"{c}: changed without cause")
            if r["full_exit"] == "1" and T(r["last_active_at"]) > datetime(2025, 5, 15, tzinfo=timezone.utc):
                problems.append(f"{c}: full-exit leaver active until {r['last_active_at']}")
        else:
            if r["change_at"] or r["cause"]:
                problems.append(f"{c}: stayer with change_at/cause")
            if r["shift_at"] and T(r["shift_at"]) < datetime(2023, 1, 1, tzinfo=timezone.utc):
                problems.append(f"{c}: shift_at before 2023-01-01")
    return n, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=9999)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", default="out/outside9/data")
    ap.add_argument("--validate", action="store_true")
    a = ap.parse_args()
    accounts, mk = build(a.seed, a.scale)
    n, n_by, rows = write_all(accounts, mk, a.out, a.seed)
    ch = sum(r["changed"] for r in rows)
    print(f"{len(rows)} accounts, {ch} changed ({100 * ch / len(rows):.1f} %); {n} events: "
          + ", ".join(f"{k} {v}" for k, v in sorted(n_by.items())))
    if a.validate:
        repo = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
        nv, problems = validate(a.out, repo)
        for p in problems[:50]:
            print("PROBLEM", p)
        print(f"validation: {nv} events checked, {len(problems)} problems")
        if problems:
            sys.exit(1)


if __name__ == "__main__":
    main()
