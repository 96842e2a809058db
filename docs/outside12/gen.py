#!/usr/bin/env python3
"""Outside population 12: B2B SaaS subscriptions (team collaboration / project management).

A software company sells a per-seat SaaS to small and mid-size businesses in ten countries
(USD, GBP, EUR, CAD, AUD, BRL, JPY) plus add-on modules (storage, automation, analytics,
support_plan). A customer is an account. Writes, into --out:

  events.jsonl     replay format (a `type` field plus the contract's fields), sorted by the
                   instant of occurred_at, 2023-01-01 to 2025-06-30
  truth_full.csv   one row per account (column set of the earlier outside populations)
  truth_eval.csv   customer_id,churned,persona,decline_started_at,last_active_at,cause,usual_gap_days

stdlib + numpy only (jsonschema only for --validate; time zones from zoneinfo).
Every account has its own numpy generator seeded with (seed, index), the market events
(seed, 9000001) and the order of the scenarios (seed, 9000000): the same arguments give
byte-identical files. See README.md next to this file.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import re
import statistics
import sys
import time as _time
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

DAY0 = date(2023, 1, 1)
LAST_DAY = date(2025, 6, 30)
ND = (LAST_DAY - DAY0).days + 1          # 912 days
T0_MS = int(datetime(2023, 1, 1, tzinfo=timezone.utc).timestamp()) * 1000
DAY_MS = 86_400_000
END_MS = T0_MS + ND * DAY_MS             # 2025-07-01T00:00:00Z (exclusive)
CAUSES = ("purchase_frequency", "order_value", "activity", "silence", "complaints", "drift")


def di(y, m, d):
    return (date(y, m, d) - DAY0).days


def ddate(d):
    return DAY0 + timedelta(days=int(d))


def dms(d):
    return T0_MS + int(d) * DAY_MS


EXIT_LIMIT_DAY = di(2025, 5, 15)          # full-exit leavers silent from here at the latest
PRICE_RISE_DAY = di(2024, 7, 1)           # Team list price rise (renewals from this day)

# --------------------------------------------------------------------------- countries
COUNTRIES = {
    # code: currency, [(zone, share)], weight
    "US": ("USD", [("America/New_York", .45), ("America/Chicago", .25), ("America/Denver", .08),
                   ("America/Los_Angeles", .22)], 200),
    "GB": ("GBP", [("Europe/London", 1.0)], 95),
    "DE": ("EUR", [("Europe/Berlin", 1.0)], 55),
    "FR": ("EUR", [("Europe/Paris", 1.0)], 40),
    "NL": ("EUR", [("Europe/Amsterdam", 1.0)], 25),
    "ES": ("EUR", [("Europe/Madrid", 1.0)], 25),
    "CA": ("CAD", [("America/Toronto", .65), ("America/Vancouver", .35)], 55),
    "AU": ("AUD", [("Australia/Sydney", .5), ("Australia/Melbourne", .35), ("Australia/Perth", .15)], 60),
    "BR": ("BRL", [("America/Sao_Paulo", 1.0)], 55),
    "JP": ("JPY", [("Asia/Tokyo", 1.0)], 50),
}
CC_LIST = list(COUNTRIES)
SOUTH = {"AU", "BR"}

# list prices per seat and month: (monthly billing, annual billing per month); Team rises on
# 2024-07-01 (team2) for accounts that are not grandfathered. Add-ons per month (annual = x10):
# storage per 100 GB pack, automation (flat), analytics per seat, support_plan (flat).
# tax: included in the amount (GB VAT 20 %, AU GST 10 %, JP consumption tax 10 %); dec: minor units.
PRICES = {
    "USD": dict(team=(12, 10), team2=(13, 11), business=(24, 20), storage=10, automation=29, analytics=5, support_plan=99, tax=0.0, dec=2),
    "EUR": dict(team=(11, 9), team2=(12, 10), business=(22, 18), storage=9, automation=27, analytics=5, support_plan=90, tax=0.0, dec=2),
    "GBP": dict(team=(10, 8), team2=(11, 9), business=(20, 16), storage=8, automation=24, analytics=4, support_plan=79, tax=0.20, dec=2),
    "CAD": dict(team=(16, 13), team2=(17, 14), business=(32, 27), storage=13, automation=39, analytics=7, support_plan=129, tax=0.0, dec=2),
    "AUD": dict(team=(18, 15), team2=(19, 16), business=(35, 29), storage=15, automation=45, analytics=8, support_plan=149, tax=0.10, dec=2),
    "BRL": dict(team=(49, 39), team2=(54, 43), business=(99, 79), storage=45, automation=139, analytics=25, support_plan=490, tax=0.0, dec=2),
    "JPY": dict(team=(1500, 1200), team2=(1650, 1320), business=(3000, 2500), storage=1400, automation=4400, analytics=700, support_plan=14800, tax=0.10, dec=0),
}
ADDONS = ("storage", "automation", "analytics", "support_plan")

HOLIDAYS = {
    "US": "2023-01-02 2023-01-16 2023-02-20 2023-05-29 2023-06-19 2023-07-04 2023-09-04 2023-11-23 2023-11-24 2023-12-25 "
          "2024-01-01 2024-01-15 2024-02-19 2024-05-27 2024-06-19 2024-07-04 2024-09-02 2024-11-28 2024-11-29 2024-12-25 "
          "2025-01-01 2025-01-20 2025-02-17 2025-05-26 2025-06-19",
    "GB": "2023-01-02 2023-04-07 2023-04-10 2023-05-01 2023-05-08 2023-05-29 2023-08-28 2023-12-25 2023-12-26 "
          "2024-01-01 2024-03-29 2024-04-01 2024-05-06 2024-05-27 2024-08-26 2024-12-25 2024-12-26 "
          "2025-01-01 2025-04-18 2025-04-21 2025-05-05 2025-05-26",
    "DE": "2023-04-07 2023-04-10 2023-05-01 2023-05-18 2023-05-29 2023-10-03 2023-12-25 2023-12-26 "
          "2024-01-01 2024-03-29 2024-04-01 2024-05-01 2024-05-09 2024-05-20 2024-10-03 2024-12-25 2024-12-26 "
          "2025-01-01 2025-04-18 2025-04-21 2025-05-01 2025-05-29 2025-06-09",
    "FR": "2023-04-10 2023-05-01 2023-05-08 2023-05-18 2023-05-29 2023-07-14 2023-08-15 2023-11-01 2023-12-25 "
          "2024-01-01 2024-04-01 2024-05-01 2024-05-08 2024-05-09 2024-05-20 2024-08-15 2024-11-01 2024-11-11 2024-12-25 "
          "2025-01-01 2025-04-21 2025-05-01 2025-05-08 2025-05-29 2025-06-09",
    "NL": "2023-04-07 2023-04-10 2023-04-27 2023-05-05 2023-05-18 2023-05-29 2023-12-25 2023-12-26 "
          "2024-01-01 2024-03-29 2024-04-01 2024-05-09 2024-05-20 2024-12-25 2024-12-26 "
          "2025-01-01 2025-04-18 2025-04-21 2025-05-05 2025-05-29 2025-06-09",
    "ES": "2023-01-06 2023-04-06 2023-04-07 2023-05-01 2023-08-15 2023-10-12 2023-11-01 2023-12-06 2023-12-08 2023-12-25 "
          "2024-01-01 2024-03-28 2024-03-29 2024-05-01 2024-08-15 2024-11-01 2024-12-06 2024-12-25 "
          "2025-01-01 2025-01-06 2025-04-17 2025-04-18 2025-05-01",
    "CA": "2023-01-02 2023-04-07 2023-05-22 2023-07-03 2023-08-07 2023-09-04 2023-10-09 2023-12-25 2023-12-26 "
          "2024-01-01 2024-03-29 2024-05-20 2024-07-01 2024-08-05 2024-09-02 2024-10-14 2024-12-25 2024-12-26 "
          "2025-01-01 2025-04-18 2025-05-19",
    "AU": "2023-01-02 2023-01-26 2023-04-07 2023-04-10 2023-04-25 2023-06-12 2023-12-25 2023-12-26 "
          "2024-01-01 2024-01-26 2024-03-29 2024-04-01 2024-04-25 2024-06-10 2024-12-25 2024-12-26 "
          "2025-01-01 2025-01-27 2025-04-18 2025-04-21 2025-04-25 2025-06-09",
    "BR": "2023-02-20 2023-02-21 2023-04-07 2023-04-21 2023-05-01 2023-06-08 2023-09-07 2023-10-12 2023-11-02 2023-11-15 2023-12-25 "
          "2024-01-01 2024-02-12 2024-02-13 2024-03-29 2024-05-01 2024-05-30 2024-11-15 2024-11-20 2024-12-25 "
          "2025-01-01 2025-03-03 2025-03-04 2025-04-18 2025-04-21 2025-05-01 2025-06-19",
    "JP": "2023-01-02 2023-01-03 2023-01-09 2023-02-23 2023-03-21 2023-05-03 2023-05-04 2023-05-05 2023-07-17 2023-08-11 "
          "2023-09-18 2023-10-09 2023-11-03 2023-11-23 2023-12-29 "
          "2024-01-01 2024-01-02 2024-01-03 2024-01-08 2024-02-12 2024-02-23 2024-03-20 2024-04-29 2024-05-03 2024-05-06 "
          "2024-07-15 2024-08-12 2024-09-16 2024-09-23 2024-10-14 2024-11-04 2024-12-30 2024-12-31 "
          "2025-01-01 2025-01-02 2025-01-03 2025-01-13 2025-02-11 2025-02-24 2025-03-20 2025-04-29 2025-05-05 2025-05-06",
}
# summer slowdown (from, to, factor) of ordinary accounts
SUMMER = {"FR": ((8, 1), (8, 25), 0.55), "ES": ((8, 1), (8, 28), 0.55), "DE": ((7, 20), (8, 20), 0.8),
          "NL": ((7, 20), (8, 20), 0.8), "GB": ((7, 25), (8, 31), 0.85), "US": ((7, 1), (8, 31), 0.92),
          "CA": ((7, 1), (8, 31), 0.9), "AU": ((1, 2), (1, 25), 0.75), "BR": ((1, 2), (1, 31), 0.8),
          "JP": ((8, 13), (8, 16), 0.4)}

INDUSTRIES = ["agency", "software", "consulting", "marketing", "construction", "architecture", "nonprofit",
              "manufacturing", "retail", "healthcare", "finance", "legal", "media", "logistics"]
IND_W = np.array([14, 14, 11, 10, 7, 5, 6, 6, 6, 5, 5, 4, 4, 3], float)

# platform-wide outages (UTC start, hours) that make some accounts open a product ticket
OUTAGES = [(datetime(2023, 3, 21, 14, 5), 2.0), (datetime(2023, 8, 9, 9, 40), 3.5), (datetime(2024, 1, 24, 15, 20), 1.5),
           (datetime(2024, 6, 5, 13, 10), 4.0), (datetime(2024, 11, 13, 16, 45), 2.5), (datetime(2025, 3, 18, 10, 30), 3.0)]

# strong rival campaigns, tied (round-robin) to chg_migrate_rival and stay_rival_exposed
STRONG = [
    ("seats", "competitor_promotion", date(2024, 2, 12), 45, 0.82),
    ("analytics", "competitor_launch", date(2024, 4, 22), None, 0.78),
    ("seats", "competitor_price_cut", date(2024, 6, 17), 60, 0.85),
    ("automation", "competitor_launch", date(2024, 9, 9), None, 0.80),
    ("seats", "competitor_promotion", date(2024, 11, 4), 42, 0.86),
    ("seats", "competitor_promotion", date(2025, 1, 13), 40, 0.84),
    ("analytics", "competitor_price_cut", date(2025, 2, 10), 45, 0.80),
]

SCENARIOS = [  # name, count at scale 1, changed, cause
    ("stay_steady", 150, 0, ""),
    ("stay_annual", 35, 0, ""),
    ("stay_to_annual", 35, 0, ""),
    ("stay_seasonal", 45, 0, ""),
    ("stay_rightsize", 40, 0, ""),
    ("stay_outage_resolved", 40, 0, ""),
    ("stay_rival_exposed", 40, 0, ""),
    ("stay_light", 55, 0, ""),
    ("stay_holiday_dip", 35, 0, ""),
    ("chg_migrate_rival", 40, 1, "purchase_frequency"),
    ("chg_slow_drift", 35, 1, "drift"),
    ("chg_trade_down", 35, 1, "order_value"),
    ("chg_unresolved_escalation", 35, 1, "complaints"),
    ("chg_abrupt_stop", 30, 1, "silence"),
    ("chg_champion_left", 35, 1, "activity"),
]

TRUTH_COLS = ["customer_id", "scenario", "changed", "churned", "cause", "change_at", "shift_at", "last_active_at",
              "first_event_at", "decline_end_at", "full_exit", "last_order_at", "usual_gap_days", "business", "currency",
              "currency_after", "tz", "tz_after", "main_category", "n_events", "n_orders", "notes"]
EVAL_COLS = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"]

# --------------------------------------------------------------------------- calendars
_OFF = {}
_CAL = {}


def zone_off(tz):
    """UTC offset in minutes of each day (taken at local noon)."""
    if tz not in _OFF:
        z = ZoneInfo(tz)
        _OFF[tz] = np.array([int(datetime.combine(ddate(d), time(12), tzinfo=z).utcoffset().total_seconds() // 60)
                             for d in range(ND + 400)], dtype=np.int64)
    return _OFF[tz]


def country_cal(cc):
    """(workday, holiday, summer factor, year-end mask) arrays for a country."""
    if cc not in _CAL:
        hol = set(HOLIDAYS[cc].split())
        work = np.zeros(ND, bool)
        holi = np.zeros(ND, bool)
        summer = np.ones(ND)
        yend = np.zeros(ND, bool)
        (m0, d0), (m1, d1), sf = SUMMER[cc]
        for d in range(ND):
            dt = ddate(d)
            h = dt.isoformat() in hol
            holi[d] = h
            work[d] = dt.weekday() < 5 and not h
            if (m0, d0) <= (dt.month, dt.day) <= (m1, d1):
                summer[d] = sf
            if cc == "JP":
                yend[d] = (dt.month == 12 and dt.day >= 27) or (dt.month == 1 and dt.day <= 4)
            else:
                yend[d] = (dt.month == 12 and dt.day >= 22) or (dt.month == 1 and dt.day <= 2)
        _CAL[cc] = (work, holi, summer, yend)
    return _CAL[cc]


# --------------------------------------------------------------------------- formatting
def fmt_ts(ms, off_min=None, keep_ms=False):
    if off_min is None:
        t, suf = ms, "Z"
    else:
        t = ms + off_min * 60000
        sign = "+" if off_min >= 0 else "-"
        o = abs(int(off_min))
        suf = f"{sign}{o // 60:02d}:{o % 60:02d}"
    secs, milli = divmod(int(t), 1000)
    s = (datetime(1970, 1, 1) + timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
    if keep_ms:
        s += f".{milli:03d}"
    return s + suf


def fmt_utc(ms):
    return fmt_ts(ms, None, ms % 1000 != 0)


def parse_ms(s):
    dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    return int(round(dt.timestamp() * 1000))


def fmt_num(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


# --------------------------------------------------------------------------- account
class Acct:
    pass


def pick(rng, items, weights=None):
    if weights is None:
        return items[int(rng.integers(len(items)))]
    w = np.asarray(weights, float)
    return items[int(rng.choice(len(items), p=w / w.sum()))]


def base_params(a, rng):
    cw = np.array([COUNTRIES[c][2] for c in CC_LIST], float)
    a.cc = CC_LIST[int(rng.choice(len(CC_LIST), p=cw / cw.sum()))]
    a.cur, zones, _ = COUNTRIES[a.cc]
    a.tz = zones[int(rng.choice(len(zones), p=np.array([z[1] for z in zones])))][0]
    a.industry = INDUSTRIES[int(rng.choice(len(INDUSTRIES), p=IND_W / IND_W.sum()))]
    a.seats0 = int(np.clip(round(np.exp(rng.normal(np.log(8), 0.75))), 2, 120))
    a.min_seats = 1
    a.plan = "business" if rng.random() < (0.18 + 0.35 * (a.seats0 >= 20)) else "team"
    a.grandfathered = rng.random() < 0.4
    a.billing = "annual" if rng.random() < 0.22 else "monthly"
    a.bill_day = int(rng.integers(1, 29))
    a.anchor = (int(rng.integers(1, 13)), int(rng.integers(1, 29)))   # annual renewal month/day
    a.switch_day = None
    a.first_bill = 0
    a.card = rng.random() < 0.85
    a.p_fail = rng.uniform(0.015, 0.04) if a.card else 0.004
    a.bill_sec = int(rng.integers(2 * 3600, 6 * 3600))
    big = a.seats0 >= 25
    a.disc = float(np.round(rng.uniform(0.05, 0.25), 2)) if (big and rng.random() < 0.55) or rng.random() < 0.08 else 0.0
    P = PRICES[a.cur]
    a.tax, a.dec = P["tax"], P["dec"]
    # activity
    a.eng = rng.uniform(0.6, 0.92)
    a.lr = float(np.exp(rng.uniform(np.log(0.041), np.log(0.082))))    # sign-ins per active user and working day
    a.ps = float(np.exp(rng.uniform(np.log(0.03), np.log(0.062))))    # sampled user-days per active user and working day
    a.p2, a.p3 = rng.uniform(0.25, 0.55), rng.uniform(0.05, 0.2)
    a.adm_l = rng.uniform(0.05, 0.13)
    a.adm_pv = rng.uniform(0.06, 0.2)
    a.weekend_f = rng.uniform(0.03, 0.12)
    a.holiday_f = rng.uniform(0.05, 0.15)
    a.yearend_f = rng.uniform(0.25, 0.5)
    a.summer_k = rng.uniform(0.6, 1.4)
    a.noise_sd = rng.uniform(0.08, 0.22)
    a.app_share = float(rng.beta(2, 6))
    a.other_share = rng.uniform(0, 0.03) if rng.random() < 0.5 else 0.0
    a.fail_login = rng.uniform(0.01, 0.05)
    a.h0 = rng.normal(9.0 if a.cc in ("JP", "ES") else 8.7, 0.5)
    a.local_fmt = rng.random() < 0.3
    a.keep_ms = rng.random() < 0.2
    a.sv = pick(rng, ["always", "half", "never"], [40, 25, 35])
    a.omit_status = rng.random() < 0.5
    a.omit_items = rng.random() < 0.5
    a.omit_success = rng.random() < 0.5
    a.has_session = rng.random() < 0.9
    a.sess_prefix = f"{int(rng.integers(16 ** 4)):04x}"
    a.n_projects = int(rng.integers(3, 12 + min(30, a.seats0)))
    a.n_docs = int(rng.integers(5, 60))
    a.add_rate = rng.uniform(0.04, 0.25) * np.sqrt(a.seats0 / 8)     # seat additions per 30 days
    a.rem_rate = rng.uniform(0.02, 0.10) * np.sqrt(a.seats0 / 8)
    a.cpl_rate = float(np.clip(np.exp(rng.normal(np.log(0.5), 0.7)), 0.1, 2.5))   # complaints a year
    a.outage_p = rng.uniform(0.03, 0.12)
    a.oneoff_rate = rng.uniform(0, 1.0)
    # add-ons: cat -> [start, end, qty]
    a.addons = []
    for cat, p in (("storage", 0.3), ("automation", 0.25), ("analytics", 0.2 + 0.15 * (a.plan == "business")),
                   ("support_plan", 0.45 if a.plan == "business" else 0.03)):
        if rng.random() < p:
            qty = int(rng.integers(1, 5)) if cat == "storage" else 1
            start = -1000 if rng.random() < 0.7 else int(rng.integers(di(2023, 3, 1), di(2025, 3, 1)))
            end = ND + 1000
            if rng.random() < 0.08:
                end = int(rng.integers(max(start, 0) + 60, ND + 60))
            a.addons.append([cat, start, end, qty])
    # state filled by planners
    a.act_start = 0
    a.sub_end = ND + 400            # first renewal day not paid (exclusive end of invoicing)
    a.final_fail = False
    a.act_end_day = ND - 1
    a.bg_until = ND
    a.M = np.ones(ND + 1)
    a.Madm = np.ones(ND + 1)
    a.seat_changes = []             # (day, kind 'd'|'set', value, why)
    a.visits = []                   # (ms, [(page, cat, dwell)], login, channel)
    a.complaints = []               # dicts
    a.refunds = []                  # (ms, frac, cat)
    a.oneoffs = []                  # (ms, cat, items, amount_units)
    a.discount_changes = []         # (day, new_disc)
    a.no_oneoff_after = ND
    a.force_event_day = None
    a.change_ms = None
    a.shift_day = None
    a.decline_end_ms = None
    a.full_exit = None
    a.notes = {}
    a.seasonal = None
    a.trial = False


def has_addon(a, cat, d=0):
    return any(x[0] == cat and x[1] <= d < x[2] for x in a.addons)


def renewals(a):
    """Renewal days (day, 'M'|'A') from first_bill, ignoring sub_end."""
    out = []
    if a.billing == "monthly" or a.switch_day is not None:
        for y in (2023, 2024, 2025):
            for m in range(1, 13):
                d = di(y, m, a.bill_day)
                if d < a.first_bill or d >= ND:
                    continue
                if a.switch_day is not None and d >= a.switch_day:
                    continue
                out.append((d, "M"))
    if a.billing == "annual" or a.switch_day is not None:
        if a.switch_day is not None:
            sd = ddate(a.switch_day)
            mm, dd = sd.month, sd.day
            first = a.switch_day
        else:
            mm, dd = a.anchor
            first = a.first_bill
        for y in (2023, 2024, 2025):
            d = di(y, mm, dd)
            if first <= d < ND:
                out.append((d, "A"))
    out.sort()
    return out


def next_renewal(a, d, strict=False):
    for r, _k in renewals(a):
        if r > d or (r == d and not strict):
            return r
    return None


def local_ms(a, d, hour):
    return dms(d) + int(hour * 3_600_000) - int(a.off[int(d)]) * 60000


def work_days_between(a, lo, hi):
    return [d for d in range(max(lo, 0), min(hi, ND)) if a.work[d]]


def rand_workday(a, rng, lo, hi):
    ds = work_days_between(a, lo, hi)
    if not ds:   # no working day in the range: the next one after it
        d = max(lo, 0)
        while d < ND - 1 and not a.work[d]:
            d += 1
        return int(min(d, ND - 1))
    return int(ds[int(rng.integers(len(ds)))])


def adm_hour(rng):
    return rng.uniform(9.0, 17.5)


def add_visit(a, rng, d, pages, hour=None, login=True, channel="web"):
    """An explicit admin visit on day d: optional sign-in, then the pages."""
    h = adm_hour(rng) if hour is None else hour
    ms = local_ms(a, d, h)
    a.visits.append((ms, pages, login, channel))
    return ms


def ramp(M, d0, d1, v0, v1, p=1.0):
    d0, d1 = int(d0), int(d1)
    n = max(1, d1 - d0)
    for d in range(max(d0, 0), min(d1, len(M))):
        x = (d - d0) / n
        M[d] *= v0 + (v1 - v0) * x ** p
    if d1 < len(M):
        M[max(d1, 0):] *= v1


# --------------------------------------------------------------------------- scenario planners
def plan_activation(a, rng):
    """A new account from 2023: a 14-day trial, then the first invoice."""
    a.trial = True
    while True:
        t0 = int(rng.integers(di(2023, 2, 1), di(2023, 10, 31)))
        if ddate(t0 + 14).day <= 28 and a.work[t0]:
            break
    a.act_start = t0
    a.first_bill = t0 + 14
    a.bill_day = ddate(a.first_bill).day
    a.anchor = (ddate(a.first_bill).month, ddate(a.first_bill).day)
    a.seats0 = int(rng.integers(2, 6))
    for x in a.addons:
        x[1] = max(x[1], int(rng.integers(a.first_bill + 20, a.first_bill + 240)))
    # onboarding visits and growth in the first months
    for k in range(int(rng.integers(3, 7))):
        d = rand_workday(a, rng, t0, t0 + 14)
        add_visit(a, rng, d, [(pick(rng, ["/app/onboarding/welcome", "/app/onboarding/import", "/app/admin/members/invite",
                                          "/app/templates", "/pricing"]), None, rng.uniform(40, 600))])
    for k in range(int(rng.integers(1, 4))):
        d = rand_workday(a, rng, t0 + 3, t0 + 120)
        a.seat_changes.append((d, "d", int(rng.integers(1, 5)), "onboarding growth"))
    a.notes["activation"] = ddate(t0).isoformat()


def plan_stay_steady(a, rng):
    if rng.random() < 0.12:
        plan_activation(a, rng)
    if rng.random() < 0.25:   # growing team
        a.add_rate *= 2.5
        a.notes["growth"] = "fast"


def plan_stay_annual(a, rng):
    a.billing = "annual"
    if rng.random() < 0.3:    # true-ups are more common on annual contracts
        a.add_rate *= 1.8


def plan_stay_to_annual(a, rng):
    a.billing = "monthly"
    d = next_renewal(a, int(rng.integers(di(2024, 1, 15), di(2025, 1, 31))))
    a.switch_day = d
    a.shift_day = d
    for k in range(int(rng.integers(1, 4))):
        add_visit(a, rng, rand_workday(a, rng, d - 6, d),
                  [("/app/admin/billing/plan", None, rng.uniform(30, 300)),
                   ("/app/admin/billing/annual", None, rng.uniform(20, 240))])
    a.notes["switch_to_annual"] = ddate(d).isoformat()


def season_windows(a, rng):
    """Off-season windows (start, end) per year for education / tourism accounts."""
    wins = []
    south = a.cc in SOUTH
    for y in (2022, 2023, 2024, 2025):
        if a.industry == "education":
            if south:
                s, e = date(y, 12, 10), date(y + 1, 2, 5)
            elif a.cc == "JP":
                s, e = date(y, 7, 20), date(y, 8, 31)
            else:
                s, e = date(y, 6, 20), date(y, 8, 28)
        else:  # tourism
            if south:
                s, e = date(y, 5, 1), date(y, 8, 31)
            else:
                s, e = date(y, 11, 1), date(y + 1, 3, 15)
        j1, j2 = int(rng.integers(-7, 8)), int(rng.integers(-7, 8))
        s0, e0 = (s - DAY0).days + j1, (e - DAY0).days + j2
        if e0 > 0 and s0 < ND:
            wins.append((s0, e0))
    return wins


def plan_stay_seasonal(a, rng):
    a.industry = "education" if rng.random() < 0.6 else "tourism"
    a.billing = "monthly"
    a.seats0 = max(a.seats0, 5)
    low = rng.uniform(0.08, 0.25)
    rl = int(rng.integers(7, 15))
    cut = rng.uniform(0.3, 0.6) if rng.random() < 0.8 else None
    wins = season_windows(a, rng)
    for s0, e0 in wins:
        ramp_m = np.ones(ND + 1)
        ramp(ramp_m, s0 - rl, s0, 1.0, low)
        back = np.ones(ND + 1)
        ramp(back, e0 - rl // 2, e0 + rl // 2, 1.0, 1.0 / low)
        a.M *= np.minimum(1.0, ramp_m * back)
        a.Madm[max(0, s0):max(0, min(ND, e0))] *= 0.35
        if cut is not None:
            # seats removed in the first weeks of the off-season, restored just before it ends
            k = None
            if s0 >= 0:
                dcut = rand_workday(a, rng, s0, s0 + 14)
                k = -int(round(a.seats0 * (1 - cut)))
                a.seat_changes.append((dcut, "d", k, "off-season seat cut"))
                add_visit(a, rng, dcut, [("/app/admin/members", "seats", rng.uniform(60, 400))])
            else:
                # the data starts inside an off-season: seats are already reduced
                k = -int(round(a.seats0 * (1 - cut)))
                a.seat_changes.append((-1, "d", k, "off-season seat cut (before data)"))
            if e0 < ND:
                dres = rand_workday(a, rng, e0 - 10, e0 + 1)
                a.seat_changes.append((dres, "d", -k, "season restore"))
                add_visit(a, rng, dres, [("/app/admin/members/invite", "seats", rng.uniform(60, 400))])
    a.seasonal = wins
    a.notes["season"] = f"{a.industry} low x{low:.2f}" + (f" seats x{cut:.2f}" if cut else " seats kept")


def plan_stay_rightsize(a, rng):
    a.billing = "monthly"
    a.seats0 = max(a.seats0, 9)
    d = rand_workday(a, rng, di(2024, 1, 15), di(2025, 2, 15))
    a.shift_day = d
    cut = rng.uniform(0.2, 0.4)
    a.seat_changes.append((d, "cutfrac", cut, "reorg rightsizing"))
    for k in range(int(rng.integers(2, 5))):
        add_visit(a, rng, rand_workday(a, rng, d - 7, d + 1), [("/app/admin/members", "seats", rng.uniform(60, 600))])
    a.rightsize = (d, cut, rng.uniform(0.85, 0.97))   # usage keeps 85-97 % (the removed seats were idle)
    a.notes["rightsize"] = f"cut {cut:.2f}"


def plan_stay_outage_resolved(a, rng):
    n = int(rng.integers(1, 4))
    d = rand_workday(a, rng, di(2024, 1, 15), di(2025, 2, 15))
    a.shift_day = d
    for i in range(n):
        if d >= ND - 20:
            break
        h = rng.uniform(9, 17)
        t = local_ms(a, d, h)
        sev = "high" if rng.random() < 0.5 else "medium"
        life = []
        tt = t
        if rng.random() < 0.3:
            tt += int(rng.uniform(1, 30) * 3_600_000)
            life.append((tt, "escalated"))
        tt += int(rng.uniform(2, 240) * 3_600_000)
        life.append((tt, "resolved"))
        if rng.random() < 0.15:
            tt += int(rng.uniform(1, 8) * DAY_MS)
            life.append((tt, "reopened"))
            tt += int(rng.uniform(0.5, 4) * DAY_MS)
            life.append((tt, "resolved"))
        a.complaints.append(dict(open=t, cat="product", sev=sev, via_app=rng.random() < 0.6, life=life,
                                 pre=[("/status", None, rng.uniform(20, 120))]))
        a.M[d] *= 0.5
        if rng.random() < 0.4:   # SLA credit
            a.refunds.append((tt + int(rng.uniform(2, 10) * DAY_MS), rng.uniform(0.05, 0.2), "seats"))
        d = rand_workday(a, rng, d + 15, d + 90)
    a.notes["tickets"] = n


def plan_stay_rival_exposed(a, rng, camp):
    cat, kind, start, length, strength = camp
    T = (start - DAY0).days
    a.shift_day = T
    if cat != "seats":
        a.addons = [x for x in a.addons if x[0] != cat] + [[cat, -1000, ND + 1000, 1]]
    d0 = T + int(rng.integers(0, 11))
    L = int(rng.integers(14, 43))
    f = rng.uniform(0.7, 0.9)
    dip = np.ones(ND + 1)
    dip[d0:d0 + L] = f
    ramp(dip[d0 + L:], 0, 7, f, 1.0) if d0 + L < ND else None
    dip[d0 + L + 7:] = 1.0
    a.M *= dip
    for k in range(int(rng.integers(2, 5))):
        add_visit(a, rng, rand_workday(a, rng, T, T + 30),
                  [(pick(rng, ["/app/admin/export", "/app/admin/billing/plan", "/pricing", "/app/admin/integrations"]),
                    None, rng.uniform(30, 400))])
    if rng.random() < 0.3:      # retention discount from the next renewal
        r = next_renewal(a, T + 14)
        if r is not None:
            nd = round(min(0.4, a.disc + rng.uniform(0.1, 0.2)), 2)
            a.discount_changes.append((r, nd))
            a.notes["retention_discount"] = f"{nd:.2f} from {ddate(r).isoformat()}"
    a.notes["campaign"] = f"{cat} {kind} {start.isoformat()}; pilot x{f:.2f} {L}d"


def plan_stay_light(a, rng):
    a.seats0 = int(rng.integers(1, 5))
    a.plan = "team"
    a.disc = 0.0
    a.billing = "annual" if rng.random() < 0.3 else "monthly"
    a.lr *= rng.uniform(0.6, 1.0)
    a.ps *= rng.uniform(0.5, 0.9)
    a.adm_l = rng.uniform(0.04, 0.12)
    a.adm_pv = rng.uniform(0.03, 0.1)
    a.addons = [x for x in a.addons if x[0] == "storage" and rng.random() < 0.5]
    a.add_rate *= 0.3
    a.rem_rate *= 0.3
    a.oneoff_rate *= 0.3
    if rng.random() < 0.1:
        plan_activation(a, rng)
        a.seats0 = int(rng.integers(1, 4))
        a.seat_changes = []


def plan_stay_holiday_dip(a, rng):
    a.industry = pick(rng, ["manufacturing", "construction", "agency", "architecture", "legal"])
    deep = rng.uniform(0.02, 0.08)
    for y in (2023, 2024):
        s = di(y, 12, int(rng.integers(18, 22)))
        e = di(y + 1, 1, int(rng.integers(4, 8)))
        a.M[s:e] *= deep / max(a.yearend_f, 0.3)
        a.Madm[s:e] = 0.02
    a.M[0:di(2023, 1, int(rng.integers(4, 8)))] *= deep / 0.3
    a.Madm[0:di(2023, 1, 5)] = 0.02
    wk = int(rng.integers(2, 5))
    for y in (2023, 2024):
        if a.cc in ("FR", "ES", "DE", "NL", "GB"):
            s = di(y, 8, 1) + int(rng.integers(0, 5))
        elif a.cc in ("US", "CA"):
            s = di(y, 7, 1) + int(rng.integers(0, 5))
        elif a.cc == "JP":
            s = di(y, 8, 8)
            wk = 2
        else:   # AU, BR: the summer shutdown is in January
            s = di(y + 1, 1, 2) + int(rng.integers(0, 5))
        a.M[s:s + 7 * wk] *= rng.uniform(0.05, 0.2)
        a.Madm[s:s + 7 * wk] *= 0.1
    a.notes["shutdowns"] = f"year-end x{deep:.2f}, summer {wk} weeks"


# leavers -------------------------------------------------------------------
def end_subscription(a, rng, sub_end, leftover_max=10, cancel_visit=True):
    """Subscription not renewed at sub_end; leftover read-only visits; act_end_day."""
    a.sub_end = sub_end
    a.M[sub_end:] = 0.0
    a.Madm[sub_end:] = 0.0
    last = sub_end - 1
    if a.final_fail:
        c = sub_end + int(rng.integers(5, 11))
        a.final_cancel_day = c
        last = max(last, c)
    elif cancel_visit:
        d = rand_workday(a, rng, sub_end - 12, sub_end)
        add_visit(a, rng, d, [("/app/admin/billing/cancel", None, rng.uniform(40, 300)),
                              ("/app/admin/billing/cancel/confirm", None, rng.uniform(5, 60))])
    for k in range(int(rng.integers(0, 5))):
        d = rand_workday(a, rng, sub_end, sub_end + leftover_max)
        add_visit(a, rng, d, [(pick(rng, ["/app/admin/export", "/app/home", "/app/admin/export/csv", "/app/account/locked"]),
                               None, rng.uniform(10, 300))], login=rng.random() < 0.7)
        last = max(last, d)
    a.act_end_day = last
    a.full_exit = 1


def leaver_common(a, rng):
    a.act_start = 0
    a.first_bill = 0
    a.force_event_day = int(np.nonzero(a.work)[0][0])   # an early sign-in so that history starts in the first days


def plan_chg_migrate_rival(a, rng, camp):
    leaver_common(a, rng)
    a.billing = "monthly"
    cat, kind, start, length, strength = camp
    T = (start - DAY0).days
    a.change_ms = dms(T) + 6 * 3_600_000
    if cat != "seats":
        a.addons = [x for x in a.addons if x[0] != cat] + [[cat, -1000, ND + 1000, 1]]
    for x in a.addons:   # no add-on changes after the campaign starts (but the one below)
        if x[1] >= T:
            x[1] = ND + 2000
        elif x[2] > T:
            x[2] = ND + 1000
    a.bg_until = T
    ev = int(rng.integers(0, 15))
    W = int(rng.integers(21, 71))
    rs = T + ev
    re_ = min(rs + W, di(2025, 3, 28))
    floor = rng.uniform(0.04, 0.15)
    a.M[T:rs] *= rng.uniform(1.0, 1.1)
    ramp(a.M, rs, re_, 1.0, floor, p=rng.uniform(0.7, 1.3))
    a.Madm[T:re_] *= 1.3
    a.Madm[re_:] *= 0.4
    for k in range(int(rng.integers(2, 6))):
        add_visit(a, rng, rand_workday(a, rng, T, rs + 10),
                  [(pick(rng, ["/app/admin/export", "/app/admin/export/csv", "/app/admin/integrations",
                               "/app/admin/billing/plan", "/app/admin/api-tokens"]), None, rng.uniform(30, 500))])
    if rng.random() < 0.5:
        dred = rand_workday(a, rng, rs + W // 3, re_)
        a.seat_changes.append((dred, "cutfrac", rng.uniform(0.3, 0.6), "users moved to the rival"))
        add_visit(a, rng, dred, [("/app/admin/members", "seats", rng.uniform(60, 400))])
    if cat != "seats":
        r = next_renewal(a, rs + 7)
        for x in a.addons:
            if x[0] == cat:
                x[2] = r
    a.final_fail = rng.random() < 0.4
    sub_end = next_renewal(a, re_, strict=True)
    end_subscription(a, rng, sub_end, leftover_max=12, cancel_visit=not a.final_fail)
    a.decline_from = rs
    a.notes["campaign"] = f"{cat} {kind} {start.isoformat()}"
    a.notes["migration"] = f"eval {ev}d, users move over {re_ - rs}d to x{floor:.2f}"
    a.notes["lapse"] = ("failed renewal " if a.final_fail else "no renewal ") + ddate(sub_end).isoformat()


def plan_chg_slow_drift(a, rng):
    leaver_common(a, rng)
    a.billing = "monthly"
    C = int(rng.integers(di(2024, 1, 15), di(2024, 10, 31)))
    R = int(rng.integers(120, 271))
    R = min(R, di(2025, 3, 10) - C)
    a.change_ms = dms(C)
    a.bg_until = C
    floor = rng.uniform(0.1, 0.25)
    ramp(a.M, C, C + R, 1.0, floor, p=rng.uniform(0.8, 1.6))
    ramp(a.Madm, C, C + R, 1.0, rng.uniform(0.3, 0.5))
    for x in a.addons:
        if x[1] >= C:
            x[1] = ND + 2000
    nsteps = int(rng.integers(1, 4))
    tot = rng.uniform(0.4, 0.65)
    per = 1 - (1 - tot) ** (1 / nsteps)
    for k in range(nsteps):
        d = rand_workday(a, rng, C + int(R * 0.45), C + R)
        a.seat_changes.append((d, "cutfrac", per, "drift seat removal"))
        add_visit(a, rng, d, [("/app/admin/members", "seats", rng.uniform(60, 300))])
    for x in a.addons:
        if x[1] < C and x[2] > C:
            x[2] = next_renewal(a, int(rng.integers(C + int(R * 0.3), C + R)))
    sub_end = next_renewal(a, C + R + int(rng.integers(0, 21)), strict=True)
    end_subscription(a, rng, sub_end, leftover_max=7)
    a.notes["drift"] = f"over {R}d to x{floor:.2f}, seats -{tot:.2f} in {nsteps} steps"


def plan_chg_trade_down(a, rng):
    leaver_common(a, rng)
    a.billing = "monthly"
    a.seats0 = int(np.clip(round(np.exp(rng.normal(np.log(25), 0.4))), 15, 60))
    a.plan = "business" if rng.random() < 0.4 else "team"
    a.min_seats = int(rng.integers(1, 4))
    C = int(rng.integers(di(2024, 1, 15), di(2024, 12, 15)))
    a.change_ms = dms(C)
    a.bg_until = C
    nsteps = int(rng.integers(2, 5))
    rens = [r for r, _ in renewals(a) if r > C + 5]
    steps = rens[:nsteps]
    a.td_steps = steps
    a.td_min = a.min_seats
    for i, r in enumerate(steps):
        d = rand_workday(a, rng, r - 8, r)
        a.seat_changes.append((d, "geo", (i + 1, nsteps), "trade-down"))
        add_visit(a, rng, d, [("/app/admin/members", "seats", rng.uniform(60, 400)),
                              ("/app/admin/billing/plan", None, rng.uniform(20, 200))])
    last_step = steps[-1]
    a.decline_end_ms = dms(last_step + 1)
    f1 = rng.uniform(0.35, 0.7)
    ramp(a.M, C, last_step, 1.0, f1)
    ramp(a.Madm, C, last_step, 1.0, rng.uniform(0.2, 0.4))
    for x in a.addons:
        if x[1] >= C:
            x[1] = ND + 2000        # never adopted
        if x[2] > C:
            x[2] = steps[min(1, len(steps) - 1)] if rng.random() < 0.5 else steps[0]
    a.no_oneoff_after = C
    a.full_exit = 0
    d = last_step + int(rng.integers(5, 40))
    while d < ND:     # the admin still looks at the invoices of the minimal plan now and then
        add_visit(a, rng, d, [("/app/admin/billing/invoices", None, rng.uniform(15, 120))], login=rng.random() < 0.6)
        if d + 20 >= ND:
            break
        d = rand_workday(a, rng, d + 20, d + 61)
    a.notes["trade_down"] = f"{a.seats0} seats -> {a.min_seats} in {nsteps} renewals, usage x{f1:.2f}"


def plan_chg_unresolved_escalation(a, rng):
    leaver_common(a, rng)
    a.billing = "monthly"
    n_more = int(rng.integers(1, 4))
    gaps = [int(rng.integers(7, 36)) for _ in range(n_more)]
    C = rand_workday(a, rng, di(2024, 1, 20), di(2025, 1, 20))
    while C + sum(gaps) + 3 * len(gaps) + 80 > di(2025, 5, 12) and (n_more > 1 or max(gaps) > 7):
        if n_more > 1:
            n_more -= 1
            gaps = gaps[:n_more]
        else:
            gaps = [max(7, g // 2) for g in gaps]
    a.bg_until = C
    first_cat = "product" if rng.random() < 0.55 else "billing"
    d = C
    ticket_days = []
    reopen_i = int(rng.integers(0, n_more + 1))     # at least this ticket is resolved and then reopened
    for i in range(n_more + 1):
        if i == 0:
            cat = first_cat
            sev = "high" if rng.random() < 0.65 else "medium"
        else:
            u = rng.random()
            cat = first_cat if u < 0.5 else ("service" if u < 0.8 else "billing")
            sev = "high" if rng.random() < 0.7 else "medium"
            d = rand_workday(a, rng, d + gaps[i - 1], d + gaps[i - 1] + 3)
        t = local_ms(a, d, rng.uniform(9, 17))
        if i == 0:
            a.change_ms = t
        life = []
        tt = t
        if rng.random() < (0.85 if i == 0 else 0.55):
            tt += int(rng.uniform(2, 72) * 3_600_000)
            life.append((tt, "escalated"))
        if i == reopen_i or rng.random() < 0.35:
            tt += int(rng.uniform(1, 6) * DAY_MS)
            life.append((tt, "resolved"))
            tt += int(rng.uniform(2, 12) * DAY_MS)
            life.append((tt, "reopened"))
            if rng.random() < 0.4:
                tt += int(rng.uniform(1, 5) * DAY_MS)
                life.append((tt, "escalated"))
        pre = [("/status", None, rng.uniform(20, 120))] if cat == "product" else \
              [("/app/admin/billing/invoices", None, rng.uniform(30, 240))] if cat == "billing" else []
        a.complaints.append(dict(open=t, cat=cat, sev=sev, via_app=rng.random() < 0.7, life=life, pre=pre,
                                 follow=True))
        if cat == "billing" and rng.random() < 0.4:
            a.refunds.append((t + int(rng.uniform(2, 8) * DAY_MS), rng.uniform(0.2, 1.0), "seats"))
        ticket_days.append(d)
    L = ticket_days[-1]
    a.M[C:L + 1] *= rng.uniform(0.8, 1.0)
    a.Madm[C:L + 1] *= 1.5
    sub_end = next_renewal(a, L + int(rng.integers(10, 31)), strict=True)
    ramp(a.M, L, sub_end, 1.0, rng.uniform(0.3, 0.6))
    for x in a.addons:
        if x[1] >= C:
            x[1] = ND + 2000
    a.final_fail = False
    end_subscription(a, rng, sub_end, leftover_max=20)
    a.notes["tickets"] = f"{n_more + 1} ({first_cat} first), last {ddate(L).isoformat()}"
    a.notes["cancelled"] = ddate(sub_end).isoformat()


def plan_chg_abrupt_stop(a, rng):
    leaver_common(a, rng)
    E = rand_workday(a, rng, di(2024, 2, 1), di(2025, 5, 10))
    a.bg_until = E + 1
    a.sub_end = E + 1
    a.M[E + 1:] = 0.0
    a.Madm[E + 1:] = 0.0
    a.act_end_day = E
    a.abrupt_day = E
    a.full_exit = 1
    a.end_force = E
    a.notes["reason"] = pick(rng, ["company closed", "acquired (the acquirer's tool replaces it)"])
    a.notes["stop"] = ddate(E).isoformat()


def plan_chg_champion_left(a, rng):
    leaver_common(a, rng)
    a.billing = "annual"
    a.seats0 = int(np.clip(a.seats0, 4, 35))
    while True:
        R = int(rng.integers(di(2024, 6, 3), di(2025, 4, 28)))
        if ddate(R).day <= 28:
            break
    a.anchor = (ddate(R).month, ddate(R).day)
    C = R - int(rng.integers(90, 241))
    C = max(C, di(2024, 1, 15) + int(rng.integers(0, 20)))
    a.change_ms = dms(C)
    a.bg_until = C
    a.champion = rng.uniform(2.5, 4.0)
    a.adm_l *= a.champion
    a.adm_pv *= a.champion
    a.Madm[C:] = 0.0
    f1 = rng.uniform(0.25, 0.45)
    r1 = int(rng.integers(20, 61))
    ramp(a.M, C, C + r1, 1.0, f1)
    if C + r1 < R:
        ramp(a.M, C + r1, R, 1.0, rng.uniform(0.5, 0.8))
    for x in a.addons:
        if x[1] >= C:
            x[1] = ND + 2000
        if x[2] > C:
            x[2] = ND + 1000
    a.no_oneoff_after = C
    a.final_fail = rng.random() < 0.3
    end_subscription(a, rng, R, leftover_max=14, cancel_visit=False)
    a.missed_renewal = R
    a.notes["champion"] = f"power user x{a.champion:.1f} left {ddate(C - 1).isoformat()}; others to x{f1:.2f}"
    a.notes["renewal"] = ("auto-renewal failed " if a.final_fail else "not renewed ") + ddate(R).isoformat()


# --------------------------------------------------------------------------- background processes
def plan_background(a, rng):
    lo, hi = max(a.act_start, 0), min(a.bg_until, ND)
    if getattr(a, "scen", "").startswith("chg_"):
        hi = min(hi, a.sub_end)
    # seat random walk on working days
    days = np.arange(lo, hi)
    if len(days):
        w = a.work[days]
        adds = days[(rng.random(len(days)) < a.add_rate / 30 / 0.71) & w]
        rems = days[(rng.random(len(days)) < a.rem_rate / 30 / 0.71) & w]
        for d in adds:
            a.seat_changes.append((int(d), "d", int(1 + rng.poisson(max(0.0, a.seats0 / 15))), "added"))
            add_visit(a, rng, int(d), [("/app/admin/members/invite", "seats", rng.uniform(30, 300))])
        for d in rems:
            a.seat_changes.append((int(d), "d", -int(1 + rng.poisson(max(0.0, a.seats0 / 25))), "removed"))
            add_visit(a, rng, int(d), [("/app/admin/members", "seats", rng.uniform(30, 300))])
    # background complaints
    span = max(0, hi - lo)
    n = rng.poisson(a.cpl_rate * span / 365)
    for _ in range(n):
        d = rand_workday(a, rng, lo, hi)
        u = rng.random()
        cat = "product" if u < 0.5 else "billing" if u < 0.75 else "service" if u < 0.9 else "other"
        sev = pick(rng, ["low", "medium", "high"], [35, 45, 20])
        t = local_ms(a, d, rng.uniform(8.5, 18))
        res = {"product": (0.1, 5), "billing": (1, 7), "service": (1, 4), "other": (1, 5)}[cat]
        life = []
        tt = t
        if rng.random() < 0.15:
            tt += int(rng.uniform(4, 48) * 3_600_000)
            life.append((tt, "escalated"))
        tt += int(rng.uniform(*res) * DAY_MS)
        life.append((tt, "resolved"))
        if rng.random() < 0.1:
            tt += int(rng.uniform(1, 10) * DAY_MS)
            life.append((tt, "reopened"))
            tt += int(rng.uniform(1, 5) * DAY_MS)
            life.append((tt, "resolved"))
        pre = [("/status", None, rng.uniform(20, 120))] if cat == "product" and rng.random() < 0.5 else \
              [("/app/admin/billing/invoices", None, rng.uniform(30, 240))] if cat == "billing" and rng.random() < 0.7 else []
        a.complaints.append(dict(open=t, cat=cat, sev=sev, via_app=rng.random() < 0.55, life=life, pre=pre))
        if cat == "billing" and rng.random() < 0.3:
            a.refunds.append((life[-1][0] + int(rng.uniform(0.1, 2) * DAY_MS), rng.uniform(0.1, 1.0), "seats"))
    # platform outages
    for start, hours in OUTAGES:
        ms0 = int(start.replace(tzinfo=timezone.utc).timestamp()) * 1000
        d = (ms0 - T0_MS) // DAY_MS
        if not (lo <= d < hi) or rng.random() >= a.outage_p:
            continue
        h_loc = ((ms0 - dms(d)) / 3_600_000 + a.off[d] / 60.0) % 24
        if not (7.5 <= h_loc <= 19.5):
            continue
        t = ms0 + int(rng.uniform(5, 90) * 60000)
        tt = ms0 + int((hours + rng.uniform(0.5, 30)) * 3_600_000)
        a.complaints.append(dict(open=t, cat="product", sev="high" if rng.random() < 0.5 else "medium",
                                 via_app=rng.random() < 0.5, life=[(tt, "resolved")],
                                 pre=[("/status", None, rng.uniform(20, 200))]))
    # one-off purchases: automation credit packs, extra storage, training sessions
    hi1 = min(hi, a.no_oneoff_after)
    n = rng.poisson(a.oneoff_rate * max(0, hi1 - max(lo, a.first_bill)) / 365)
    for _ in range(n):
        d = rand_workday(a, rng, max(lo, a.first_bill), hi1)
        cat, items, units = pick(rng, [("automation", int(rng.integers(1, 6)), 0.5),
                                       ("storage", int(rng.integers(1, 4)), 1.0),
                                       ("support_plan", 1, 3.0)], [45, 35, 20])
        t = local_ms(a, d, adm_hour(rng))
        page = {"automation": "/app/automations/credits", "storage": "/app/admin/storage",
                "support_plan": "/app/admin/training"}[cat]
        a.visits.append((t - int(rng.uniform(30, 400)) * 1000, [(page, cat if has_addon(a, cat, d) else None,
                                                                  rng.uniform(20, 200))], True, "web"))
        a.oneoffs.append((t, cat, items, units))


# --------------------------------------------------------------------------- seats, orders
def build_seats(a):
    S = np.zeros(ND + 1, np.int64)
    Sstart = np.zeros(ND + 1, np.int64)
    ch = sorted([c for c in a.seat_changes], key=lambda c: (c[0], str(c[3])))
    cur = a.seats0
    for c in ch:
        if c[0] < 0 and c[1] == "d":
            cur = max(a.min_seats, cur + c[2])
    j = 0
    while j < len(ch) and ch[j][0] < 0:
        j += 1
    actual = []
    top = cur
    for d in range(ND + 1):
        Sstart[d] = cur
        while j < len(ch) and ch[j][0] == d:
            _d, kind, val, why = ch[j]
            if kind == "d":
                new = cur + val
            elif kind == "cutfrac":
                new = cur - max(1, int(round(cur * val)))
            elif kind == "geo":
                i, n = val
                if i == 1:
                    top = cur
                new = int(round(top * (a.min_seats / top) ** (i / n)))
            else:
                new = int(val)
            new = max(a.min_seats, new)
            if new != cur:
                actual.append((d, new - cur, why))
            cur = new
            j += 1
        S[d] = cur
    a.S, a.Sstart, a.seat_actual = S, Sstart, actual


def seat_unit(a, d, kind):
    P = PRICES[a.cur]
    plan = a.plan
    if plan == "team" and d >= PRICE_RISE_DAY and not a.grandfathered:
        plan = "team2"
    mon, ann = P[plan]
    return mon if kind == "M" else ann * 12


def addon_unit(a, cat, kind):
    p = PRICES[a.cur][cat]
    return p if kind == "M" else p * 10


def disc_at(a, d):
    x = a.disc
    for dd, nd in a.discount_changes:
        if d >= dd:
            x = nd
    return x


def money(a, x, d):
    x = x * (1 - disc_at(a, d)) * (1 + a.tax)
    if a.dec == 0:
        return int(round(x))
    return round(x + 1e-9, 2)


def gen_orders(a, rng, ev):
    rens = renewals(a)
    a.rens = rens
    oid_n = [0]
    placed = []       # (ms, oid, amount, items, cat)

    def new_oid():
        oid_n[0] += 1
        return f"inv-{a.num:04d}-{oid_n[0]:04d}"

    def emit(ms, oid, amount, items, cat, status="placed"):
        ev.append((ms, "order", dict(order_id=oid, amount=amount, currency=a.cur, status=status, items=items,
                                     category=cat), "Z"))
        if status == "placed":
            placed.append((ms, oid, amount, items, cat))

    def period(d):
        prev = [r for r, _ in rens if r <= d]
        nxt = [(r, k) for r, k in rens if r > d]
        if prev:
            p = prev[-1]
            kind = [k for r, k in rens if r == p][0]
        else:
            kind = "A" if a.billing == "annual" else "M"
            p = None
        if nxt:
            n = nxt[0][0]
        else:
            n = (p if p is not None else d) + (365 if kind == "A" else 30)
        if p is None:
            p = n - (365 if kind == "A" else 30)
        return p, n, kind

    # renewals (invoice lines: seats, then the add-ons)
    for d, kind in rens:
        if d >= a.sub_end and not (a.final_fail and d == a.sub_end):
            continue
        if d < a.first_bill:
            continue
        t = dms(d) + a.bill_sec * 1000 + int(rng.integers(0, 600)) * 1000
        lines = [("seats", int(a.Sstart[d]), money(a, a.Sstart[d] * seat_unit(a, d, kind), d))]
        for cat, s, e, qty in a.addons:
            if s < d < e:
                q = int(a.Sstart[d]) if cat == "analytics" else qty
                lines.append((cat, q, money(a, q * addon_unit(a, cat, kind), d)))
        failing = (a.final_fail and d == a.sub_end) or (d < a.sub_end and rng.random() < a.p_fail)
        ids = []
        for i, (cat, q, amt) in enumerate(lines):
            oid = new_oid()
            emit(t + i * int(rng.integers(1, 20)) * 1000, oid, amt, q, cat)
            ids.append((oid, amt, q, cat))
        if failing:
            tc = dms(d + int(rng.integers(3, 9))) + a.bill_sec * 1000
            if a.final_fail and d == a.sub_end:
                tc = dms(a.final_cancel_day) + a.bill_sec * 1000
            for i, (oid, amt, q, cat) in enumerate(ids):
                emit(tc + i * 1000, oid, amt, q, cat, "cancelled")
            if not (a.final_fail and d == a.sub_end):
                dr = (tc - T0_MS) // DAY_MS + int(rng.integers(0, 3))
                dr = next((x for x in range(dr, dr + 7) if x < ND and a.work[x]), dr)
                tr = local_ms(a, dr, adm_hour(rng))
                if tr <= tc:
                    tr = tc + 3_600_000
                a.visits.append((tr - int(rng.uniform(60, 600)) * 1000,
                                 [("/app/admin/billing/payment-method", None, rng.uniform(30, 200))], True, "web"))
                for i, (oid, amt, q, cat) in enumerate(ids):
                    emit(tr + i * 2000, new_oid(), amt, q, cat)
    # prorated seat additions
    for d, delta, why in a.seat_actual:
        if delta <= 0 or d < a.first_bill or d >= min(a.sub_end, ND):
            continue
        if d in [r for r, _ in rens]:
            continue
        p, n, kind = period(d)
        frac = (n - d) / (n - p)
        t = local_ms(a, d, adm_hour(rng))
        emit(t, new_oid(), money(a, delta * seat_unit(a, d, kind) * frac, d), int(delta), "seats")
        # the admin's visit right before
        a.visits.append((t - int(rng.uniform(20, 300)) * 1000, [("/app/admin/members/invite", "seats", rng.uniform(20, 200))],
                         False, "web"))
    # add-on adoption (prorated first charge)
    for cat, s, e, qty in a.addons:
        if s < 0 or s < a.first_bill or s >= min(a.sub_end, ND, e):
            continue
        if not a.work[s]:
            s2 = next((x for x in range(s, s + 7) if x < ND and a.work[x]), s)
        else:
            s2 = s
        p, n, kind = period(s2)
        frac = (n - s2) / (n - p)
        q = int(a.S[s2]) if cat == "analytics" else qty
        t = local_ms(a, s2, adm_hour(rng))
        a.visits.append((t - int(rng.uniform(30, 400)) * 1000, [(f"/app/admin/billing/addons/{cat.replace('_', '-')}",
                                                                 cat, rng.uniform(20, 200))], True, "web"))
        emit(t, new_oid(), money(a, q * addon_unit(a, cat, kind) * frac, s2), q, cat)
    # one-offs
    for t, cat, items, units in a.oneoffs:
        d = (t - T0_MS) // DAY_MS
        emit(t, new_oid(), money(a, items * units * addon_unit(a, cat, "M"), d), items, cat)
    # refunds (returned): part of the latest placed, not cancelled order of the category
    cancelled = set()
    for e_ in ev:
        if e_[1] == "order" and e_[2]["status"] == "cancelled":
            cancelled.add(e_[2]["order_id"])
    refunded = set()
    for t, frac, cat in a.refunds:
        cands = [p for p in placed if p[0] < t - 3_600_000 and p[4] == cat and p[1] not in cancelled and p[1] not in refunded]
        if not cands:
            continue
        ms, oid, amt, items, c = max(cands, key=lambda p: p[0])
        ramt = int(round(amt * frac)) if a.dec == 0 else round(amt * frac + 1e-9, 2)
        if ramt <= 0:
            continue
        refunded.add(oid)
        emit(t, oid, ramt, items, c, "returned")


def gen_complaints(a, rng, ev):
    n = 0
    for c in sorted(a.complaints, key=lambda c: c["open"]):
        n += 1
        cid = f"tk-{a.num:04d}-{n:03d}"
        t = c["open"]
        if c["via_app"]:
            pages = list(c.get("pre", [])) + [("/app/support/new", "support_plan" if has_addon(a, "support_plan", 0) else None,
                                               rng.uniform(60, 400))]
            a.visits.append((t - int(rng.uniform(120, 900)) * 1000, pages, rng.random() < 0.6, "web"))
        elif c.get("pre"):
            a.visits.append((t - int(rng.uniform(600, 7200)) * 1000, c["pre"], rng.random() < 0.5, "web"))
        ev.append((t, "complaint", dict(complaint_id=cid, status="opened", category=c["cat"], severity=c["sev"]),
                   "L" if c["via_app"] else "Z"))
        for tt, st in c["life"]:
            ev.append((tt, "complaint", dict(complaint_id=cid, status=st, category=c["cat"], severity=c["sev"]), "Z"))
            if c.get("follow") or rng.random() < 0.3:
                a.visits.append((tt + int(rng.uniform(0.3, 20) * 3_600_000),
                                 [(f"/app/support/tickets/{cid}", None, rng.uniform(20, 300))], rng.random() < 0.5, "web"))


# --------------------------------------------------------------------------- activity
USER_AREAS = [  # page template, category (None or addon-gated), weight
    ("/app/projects/{p}/board", None, 30), ("/app/projects/{p}/list", None, 10), ("/app/projects/{p}/timeline", None, 8),
    ("/app/my-tasks", None, 15), ("/app/inbox", None, 10), ("/app/docs/{d}", None, 12), ("/app/calendar", None, 5),
    ("/app/files", "storage", 5), ("/app/reports", "analytics", 4), ("/app/automations", "automation", 3),
    ("/app/home", None, 8), ("/app/search", None, 3),
]
ADMIN_PAGES = [("/app/admin/members", "seats", 25), ("/app/admin/billing", None, 12), ("/app/admin/billing/invoices", None, 8),
               ("/app/admin/integrations", None, 10), ("/app/admin/security", None, 5), ("/app/admin/audit-log", None, 5),
               ("/app/admin/workspace", None, 8), ("/app/reports", "analytics", 12), ("/app/automations", "automation", 8),
               ("/app/projects/{p}/board", None, 20), ("/app/home", None, 10)]


_CUM = {}


def area_page(a, rng, table, d):
    key = id(table)
    if key not in _CUM:
        w = np.array([x[2] for x in table], float)
        _CUM[key] = np.cumsum(w / w.sum())
    i = min(int(np.searchsorted(_CUM[key], rng.random(), side="right")), len(table) - 1)
    tmpl, cat, _ = table[i]
    pid = int(a.proj_ids[min(int(rng.zipf(1.6)) - 1, len(a.proj_ids) - 1)])
    page = tmpl.replace("{p}", f"p{pid}").replace("{d}", f"d{int(a.doc_ids[int(rng.integers(len(a.doc_ids)))])}")
    if cat is not None:
        if has_addon(a, cat, d):
            if cat == "analytics":
                page = f"/app/analytics/dashboards/{int(a.proj_ids[0]) % 97 + int(rng.integers(1, 6))}"
            elif cat == "automation":
                page = "/app/automations/rules"
        else:
            cat = None
    return page, cat


def user_hour(a, rng, work):
    if not work:
        return rng.uniform(9.0, 18.5)
    u = rng.random()
    if u < 0.6:
        h = rng.normal(a.h0, 0.7)
    elif u < 0.85:
        h = rng.normal(13.7, 0.9)
    elif u < 0.96:
        h = rng.uniform(15.0, 18.5)
    else:
        h = rng.uniform(19.0, 23.0)
    return min(max(h, 5.5), 23.9)


def gen_activity(a, rng, ev):
    def q(ms):
        return int(ms) if a.keep_ms else int(ms) // 1000 * 1000

    def channel():
        u = rng.random()
        return "other" if u < a.other_share else "app" if u < a.other_share + a.app_share else "web"

    def login(ms, ch):
        if rng.random() < a.fail_login:
            ev.append((q(ms - int(rng.uniform(10, 90) * 1000)), "login", dict(channel=ch, success=False), "L"))
            if rng.random() < 0.15:
                ev.append((q(ms - int(rng.uniform(100, 200) * 1000)), "login", dict(channel=ch, success=False), "L"))
        f = dict(channel=ch)
        if not a.omit_success:
            f["success"] = True
        ev.append((q(ms), "login", f, "L"))

    sess = [0]

    def pv(ms, page, cat, dwell, sid):
        f = dict(page=page, dwell_seconds=round(float(dwell), 1))
        if cat is not None:
            f["category"] = cat
        if sid is not None:
            f["session_id"] = sid
        ev.append((q(ms), "page_view", f, "L"))

    def new_sid():
        sess[0] += 1
        return f"s-{a.sess_prefix}-{sess[0]:x}" if a.has_session else None

    lo, hi = a.act_start, min(a.act_end_day, ND - 1)
    if hi >= lo:
        d = np.arange(lo, hi + 1)
        f = a.dayf[d] * a.noise[d]
        # active users; bigger accounts carry more light users (viewers), so the sign-ins and
        # sampled user-days grow with seats^0.7 rather than with the seat count
        A = a.S[d].astype(float) ** 0.7 * 8 ** 0.3 * a.eng * a.M[d]
        nl = rng.poisson(A * a.lr * f)
        npv = rng.poisson(A * a.ps * f)
        fa = a.dayf[d] * a.Madm[d] * np.sqrt(a.noise[d])
        nal = rng.poisson(a.adm_l * fa)
        nap = rng.poisson(a.adm_pv * fa)
        tot = nl + npv + nal + nap
        for i in np.nonzero(tot)[0]:
            day = lo + int(i)
            work = bool(a.work[day])
            for _ in range(nl[i]):
                login(local_ms(a, day, user_hour(a, rng, work)) + int(rng.integers(0, 60000)), channel())
            for _ in range(npv[i]):
                h = user_hour(a, rng, work)
                ms = local_ms(a, day, h) + int(rng.integers(0, 60000))
                sid = new_sid()
                k = 1 + (rng.random() < a.p2) + (rng.random() < a.p3)
                for _k in range(k):
                    page, cat = area_page(a, rng, USER_AREAS, day)
                    dwell = min(28800.0, max(8.0, float(np.exp(rng.normal(np.log(900), 0.9)))))
                    pv(ms, page, cat, dwell, sid)
                    ms += int(rng.uniform(60, 3600) * 1000)
            for _ in range(nal[i]):
                ms = local_ms(a, day, adm_hour(rng)) + int(rng.integers(0, 60000))
                ch = "web" if rng.random() < 0.85 else "app"
                login(ms, ch)
                if rng.random() < 0.5:
                    page, cat = area_page(a, rng, ADMIN_PAGES, day)
                    pv(ms + int(rng.uniform(3, 40) * 1000), page, cat, float(np.exp(rng.normal(np.log(120), 0.8))),
                       new_sid())
            for _ in range(nap[i]):
                ms = local_ms(a, day, adm_hour(rng)) + int(rng.integers(0, 60000))
                page, cat = area_page(a, rng, ADMIN_PAGES, day)
                pv(ms, page, cat, min(7200.0, float(np.exp(rng.normal(np.log(150), 0.8)))), new_sid())
    # explicit visits
    for ms, pages, lg, ch in a.visits:
        if lg:
            login(ms, ch)
        sid = new_sid()
        t = ms + int(rng.uniform(3, 30) * 1000)
        for page, cat, dwell in pages:
            if cat is not None and cat not in ("seats",) and not has_addon(a, cat, (ms - T0_MS) // DAY_MS):
                cat = None
            pv(t, page, cat, min(86400.0, max(1.0, dwell)), sid)
            t += int((dwell + rng.uniform(2, 20)) * 1000)
    if a.force_event_day is not None:
        login(local_ms(a, a.force_event_day, rng.uniform(8.5, 11)), "web")
    if getattr(a, "end_force", None) is not None:
        login(local_ms(a, a.end_force, rng.uniform(14, 17.5)), "web")


# --------------------------------------------------------------------------- one account
def make_account(idx, scen, seed, camp):
    rng = np.random.default_rng([seed, idx])
    a = Acct()
    a.idx, a.num, a.scen = idx, idx + 1, scen
    a.cid = f"acct12-{idx + 1:04d}"
    base_params(a, rng)
    a.off = zone_off(a.tz)
    work, holi, summer, yend = country_cal(a.cc)
    a.work = work
    dayf = np.where(work, 1.0, np.where(holi, a.holiday_f, a.weekend_f))
    dayf = dayf * summer ** a.summer_k
    dayf = np.where(yend & work, dayf * a.yearend_f, dayf)
    a.dayf = np.append(dayf, 0.0)
    nw = ND // 7 + 3
    z = np.zeros(nw)
    e = rng.normal(0, 1, nw)
    for i in range(1, nw):
        z[i] = 0.6 * z[i - 1] + 0.8 * e[i]
    z = z / (z.std() + 1e-9)
    a.noise = np.append(np.exp(a.noise_sd * z[np.arange(ND) // 7] - a.noise_sd ** 2 / 2), 1.0)
    a.proj_ids = rng.integers(1000, 99999, a.n_projects)
    a.doc_ids = rng.integers(100, 99999, a.n_docs)
    # scenario
    if scen == "stay_rival_exposed":
        plan_stay_rival_exposed(a, rng, camp)
    elif scen == "chg_migrate_rival":
        plan_chg_migrate_rival(a, rng, camp)
    else:
        globals()["plan_" + scen](a, rng)
    plan_background(a, rng)
    build_seats(a)
    if getattr(a, "rightsize", None):
        d, cut, keep = a.rightsize
        before, after = int(a.Sstart[d]), int(a.S[d])
        a.M[d:] *= keep * before / max(after, 1)
    ev = []
    gen_orders(a, rng, ev)
    gen_complaints(a, rng, ev)
    gen_activity(a, rng, ev)
    # whole seconds except the logins/page views of accounts whose clients send milliseconds
    ev = [(x[0] if (a.keep_ms and x[1] in ("login", "page_view")) else x[0] // 1000 * 1000,) + tuple(x[1:]) for x in ev]
    if a.change_ms is not None:
        a.change_ms = a.change_ms // 1000 * 1000
    # cut: nothing after the account's last day (leavers) or after the end of the data
    cut = END_MS if a.scen.startswith("stay_") or a.full_exit == 0 else dms(a.act_end_day + 1)
    ev = [x for x in ev if max(T0_MS, dms(a.act_start)) <= x[0] < cut]
    ev.sort(key=lambda x: (x[0], x[1]))
    return a, ev


def main_cat(cnt):
    """The category with the most placed orders; ties go to seats, then alphabetical."""
    if not cnt:
        return ""
    return sorted(cnt, key=lambda c: (-cnt[c], c != "seats", c))[0]


def usual_gap(days, nominal):
    ds = sorted(set(days))
    if len(ds) < 2:
        return float(nominal)
    gaps = [b - a for a, b in zip(ds, ds[1:])]
    return float(statistics.median(gaps))


def truth_row(a, ev):
    """truth_full row from the account's events (ev sorted by instant)."""
    first, last = ev[0][0], ev[-1][0]
    placed = [x for x in ev if x[1] == "order" and x[2]["status"] == "placed"]
    changed = a.scen.startswith("chg_")
    if a.scen == "chg_abrupt_stop":
        a.change_ms = last
        a.decline_end_ms = last
    ch = a.change_ms if changed else None
    pre = [x for x in placed if ch is None or x[0] < ch]
    gap = usual_gap([(x[0] - T0_MS) // DAY_MS for x in pre], 365 if a.billing == "annual" else 30)
    cnt = {}
    for x in pre:
        c = x[2]["category"] or ""
        cnt[c] = cnt.get(c, 0) + 1
    main = main_cat(cnt)
    if changed and a.full_exit == 1 and a.scen != "chg_abrupt_stop":
        a.decline_end_ms = placed[-1][0]
        if a.scen == "chg_champion_left" and not a.final_fail:
            a.decline_end_ms = dms(a.missed_renewal)   # the renewal that was not paid
    notes = dict(country=a.cc, plan=a.plan, billing=a.billing, seats=a.seats0,
                 eng=f"{a.eng:.2f}", signin=f"{a.lr:.3f}", sampled=f"{a.ps:.3f}", admin=f"{a.adm_l:.2f}/{a.adm_pv:.2f}",
                 addons="+".join(f"{x[0]}" for x in a.addons if x[1] < ND) or "none",
                 disc=f"{a.disc:.2f}", card=int(a.card), fmt=("local" if a.local_fmt else "utc") + ("+ms" if a.keep_ms else ""),
                 sv=a.sv, complaints_yr=f"{a.cpl_rate:.2f}")
    if a.switch_day is None and a.billing == "monthly":
        notes["bill_day"] = a.bill_day
    elif a.billing == "annual":
        notes["anchor"] = f"{a.anchor[0]:02d}-{a.anchor[1]:02d}"
    notes.update(a.notes)
    row = dict(customer_id=a.cid, scenario=a.scen, changed=int(changed), churned=int(changed),
               cause=dict((s[0], s[3]) for s in SCENARIOS)[a.scen],
               change_at=fmt_utc(ch) if ch is not None else "",
               shift_at=fmt_utc(dms(a.shift_day)) if (a.shift_day is not None and not changed) else "",
               last_active_at=fmt_utc(last), first_event_at=fmt_utc(first),
               decline_end_at=fmt_utc(a.decline_end_ms) if changed else "",
               full_exit=str(a.full_exit) if changed else "",
               last_order_at=fmt_utc(placed[-1][0]) if placed else "",
               usual_gap_days=fmt_num(gap), business=a.industry, currency=a.cur, currency_after="", tz=a.tz,
               tz_after="", main_category=main, n_events=len(ev), n_orders=len(placed),
               notes="; ".join(f"{k}={v}" for k, v in notes.items()))
    return row


# --------------------------------------------------------------------------- market events
def market_events(seed):
    rng = np.random.default_rng([seed, 9000001])
    out = []   # (ms, kind, cat, strength, ends_ms or None, ends_mode)
    spec = {"seats": (30, 80, [50, 35, 15]), "analytics": (40, 100, [40, 30, 30]), "automation": (35, 90, [35, 25, 40]),
            "storage": (60, 140, [40, 55, 5]), "support_plan": (90, 180, [60, 30, 10])}
    kinds = ["competitor_promotion", "competitor_price_cut", "competitor_launch"]
    for cat, (g0, g1, kw) in spec.items():
        d = int(rng.integers(0, g1))
        while d < ND - 3:
            kind = pick(rng, kinds, kw)
            st = float(np.round(rng.uniform(0.1, 0.5), 2))
            ms = dms(d) + int(rng.integers(6, 17)) * 3_600_000 + int(rng.integers(0, 60)) * 60000
            if kind == "competitor_promotion":
                ends = ms + int(rng.integers(14, 46)) * DAY_MS
            elif kind == "competitor_price_cut":
                ends = ms + int(rng.integers(30, 91)) * DAY_MS
            else:
                ends = None
            out.append((ms, kind, cat, st, ends))
            d += int(rng.integers(g0, g1 + 1))
    for y, dd in ((2023, 20), (2024, 25)):     # Black Friday seat promotions
        ms = dms(di(y, 11, dd)) + 5 * 3_600_000
        out.append((ms, "competitor_promotion", "seats", float(np.round(rng.uniform(0.35, 0.5), 2)), ms + 10 * DAY_MS))
    for cat, kind, start, length, st in STRONG:
        ms = dms((start - DAY0).days) + 6 * 3_600_000
        out.append((ms, kind, cat, st, ms + length * DAY_MS if length else None))
    out.sort()
    evs = []
    for i, (ms, kind, cat, st, ends) in enumerate(out):
        f = {}
        if i % 2 == 0:
            f["schema_version"] = 1
        f["event_id"] = f"mkt12-{i + 1:04d}"
        f["occurred_at"] = fmt_ts(ms)
        f["kind"] = kind
        f["category"] = cat
        f["strength"] = st
        if ends is not None:
            f["ends_at"] = fmt_ts(ends)
        elif i % 3 != 0:
            f["ends_at"] = None
        evs.append((ms, f))
    return evs


# --------------------------------------------------------------------------- main generation
def serialize(a, ev, rng_fmt):
    lines = []
    for seq, (ms, typ, fields, fmt) in enumerate(ev):
        o = {"type": typ}
        if a.sv == "always" or (a.sv == "half" and rng_fmt.random() < 0.5):
            o["schema_version"] = 1
        o["event_id"] = f"{a.cid}-{seq + 1:05d}"
        o["customer_id"] = a.cid
        local = fmt == "L" and a.local_fmt
        o["occurred_at"] = fmt_ts(ms, int(a.off[(ms - T0_MS) // DAY_MS]) if local else None,
                                  keep_ms=(a.keep_ms and typ in ("login", "page_view")))
        if typ == "order":
            o["order_id"] = fields["order_id"]
            o["amount"] = fields["amount"]
            o["currency"] = fields["currency"]
            st = fields["status"]
            if not (st == "placed" and a.omit_status and rng_fmt.random() < 0.3):
                o["status"] = st
            if not (fields["items"] == 1 and a.omit_items):
                o["items"] = fields["items"]
            o["category"] = fields["category"]
        else:
            o.update(fields)
        lines.append((ms, json.dumps(o, separators=(",", ":"), ensure_ascii=False)))
    return lines


def generate(seed, scale, out):
    t0 = _time.time()
    order = []
    for name, n, _c, _cause in SCENARIOS:
        order += [name] * int(round(n * scale))
    rs = np.random.default_rng([seed, 9000000])
    perm = rs.permutation(len(order))
    order = [order[i] for i in perm]
    camp_k = {"stay_rival_exposed": 0, "chg_migrate_rival": 0}
    all_lines = []
    rows = []
    for idx, scen in enumerate(order):
        camp = None
        if scen in camp_k:
            camp = STRONG[camp_k[scen] % len(STRONG)]
            camp_k[scen] += 1
        a, ev = make_account(idx, scen, seed, camp)
        rows.append(truth_row(a, ev))
        rng_fmt = np.random.default_rng([seed, idx, 7])
        for ms, line in serialize(a, ev, rng_fmt):
            all_lines.append((ms, 0, idx, line))
    for ms, f in market_events(seed):
        all_lines.append((ms, -1, 0, json.dumps({"type": "market_event", **f}, separators=(",", ":"))))
    all_lines.sort(key=lambda x: (x[0], x[1], x[2]))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "events.jsonl"), "w", encoding="utf-8", newline="\n") as fh:
        for x in all_lines:
            fh.write(x[3])
            fh.write("\n")
    rows.sort(key=lambda r: r["customer_id"])
    with open(os.path.join(out, "truth_full.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=TRUTH_COLS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out, "truth_eval.csv"), "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=EVAL_COLS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(dict(customer_id=r["customer_id"], churned=r["churned"], persona=r["scenario"],
                            decline_started_at=r["change_at"], last_active_at=r["last_active_at"], cause=r["cause"],
                            usual_gap_days=r["usual_gap_days"]))
    print(f"wrote {len(all_lines)} events, {len(rows)} accounts to {out} in {_time.time() - t0:.1f}s", file=sys.stderr)


# --------------------------------------------------------------------------- validation
def validate(out, schema_dir):
    import jsonschema
    t0 = _time.time()
    problems = []

    def bad(msg):
        if len(problems) < 200:
            print("PROBLEM:", msg, file=sys.stderr)
        problems.append(msg)

    schemas = {}
    for p in glob.glob(os.path.join(schema_dir, "*.schema.json")):
        s = json.load(open(p))
        rt = s.get("x-replay-type")
        if rt:
            schemas[rt] = jsonschema.Draft202012Validator(s, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    pat = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$")
    ids = set()
    prev = None
    per = {}
    orders_by = {}
    cmp_by = {}
    mkt = []
    n = 0
    with open(os.path.join(out, "events.jsonl"), encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            n += 1
            d = json.loads(line)
            typ = d.pop("type", None)
            if typ not in schemas:
                bad(f"line {ln}: unknown type {typ}")
                continue
            errs = list(schemas[typ].iter_errors(d))
            if errs:
                bad(f"line {ln}: {typ}: {errs[0].message}")
            for k in ("occurred_at", "ends_at"):
                v = d.get(k)
                if isinstance(v, str):
                    if not pat.match(v):
                        bad(f"line {ln}: {k} not RFC 3339: {v}")
                    try:
                        parse_ms(v)
                    except Exception as e:  # noqa: BLE001
                        bad(f"line {ln}: {k} unparsable {v}: {e}")
            ms = parse_ms(d["occurred_at"])
            if prev is not None and ms < prev:
                bad(f"line {ln}: out of time order")
            prev = ms
            if not (T0_MS <= ms < END_MS):
                bad(f"line {ln}: outside the data period")
            if d["event_id"] in ids:
                bad(f"line {ln}: duplicate event_id {d['event_id']}")
            ids.add(d["event_id"])
            if typ == "market_event":
                if d.get("ends_at") and parse_ms(d["ends_at"]) <= ms:
                    bad(f"line {ln}: ends_at not after occurred_at")
                mkt.append((ms, d["category"], d["strength"]))
                continue
            cid = d["customer_id"]
            p = per.setdefault(cid, dict(first=ms, last=ms, n=0, placed=[], cur=set(), cats={}))
            p["last"] = ms
            p["n"] += 1
            if typ == "order":
                p["cur"].add(d["currency"])
                st = d.get("status", "placed")
                ob = orders_by.setdefault(cid, {})
                if st == "placed":
                    if d["order_id"] in ob:
                        bad(f"line {ln}: order_id placed twice")
                    ob[d["order_id"]] = dict(amount=d["amount"], items=d.get("items", 1), cat=d.get("category"), st=[])
                    p["placed"].append((ms, d.get("category"), d.get("items", 1)))
                else:
                    o = ob.get(d["order_id"])
                    if o is None:
                        bad(f"line {ln}: {st} without an earlier placed order {d['order_id']}")
                    else:
                        if st == "returned" and d["amount"] > o["amount"] + 1e-9:
                            bad(f"line {ln}: refund larger than the order")
                        if o["st"]:
                            bad(f"line {ln}: second status change of {d['order_id']}")
                        o["st"].append(st)
                if d["currency"] == "JPY" and d["amount"] != int(d["amount"]):
                    bad(f"line {ln}: JPY amount with a minor unit")
            elif typ == "complaint":
                if d["status"] == "opened":
                    p.setdefault("opened", set()).add(ms)
                cb = cmp_by.setdefault(cid, {})
                if d["complaint_id"] not in cb:
                    if d["status"] != "opened":
                        bad(f"line {ln}: complaint starts with {d['status']}")
                    cb[d["complaint_id"]] = [d["status"]]
                else:
                    if d["status"] == "opened":
                        bad(f"line {ln}: complaint opened twice")
                    cb[d["complaint_id"]].append(d["status"])
    for cid, p in per.items():
        if len(p["cur"]) > 1:
            bad(f"{cid}: more than one currency")
    # truth
    full = list(csv.DictReader(open(os.path.join(out, "truth_full.csv"), encoding="utf-8")))
    evl = {r["customer_id"]: r for r in csv.DictReader(open(os.path.join(out, "truth_eval.csv"), encoding="utf-8"))}
    if len(full) != len(evl):
        bad("truth_eval and truth_full differ in rows")
    strong = {}
    for cat, kind, start, length, st in STRONG:
        strong[start.isoformat()] = cat
    strong_ms = {x[0] for x in mkt if x[2] >= 0.7}
    for r in full:
        cid = r["customer_id"]
        p = per.get(cid)
        if p is None:
            bad(f"{cid}: no events")
            continue
        if parse_ms(r["last_active_at"]) != p["last"]:
            bad(f"{cid}: last_active_at {r['last_active_at']} != last event {fmt_utc(p['last'])}")
        if parse_ms(r["first_event_at"]) != p["first"]:
            bad(f"{cid}: first_event_at mismatch")
        if int(r["n_events"]) != p["n"]:
            bad(f"{cid}: n_events mismatch")
        if int(r["n_orders"]) != len(p["placed"]):
            bad(f"{cid}: n_orders mismatch")
        if p["placed"] and parse_ms(r["last_order_at"]) != p["placed"][-1][0]:
            bad(f"{cid}: last_order_at mismatch")
        if r["currency"] not in p["cur"] and p["cur"]:
            bad(f"{cid}: currency mismatch")
        changed = r["changed"] == "1"
        if r["churned"] != r["changed"]:
            bad(f"{cid}: churned != changed")
        if changed != r["scenario"].startswith("chg_"):
            bad(f"{cid}: changed does not match the scenario")
        ch = parse_ms(r["change_at"]) if r["change_at"] else None
        pre = [x for x in p["placed"] if ch is None or x[0] < ch]
        gap = usual_gap([(x[0] - T0_MS) // DAY_MS for x in pre], 365 if "billing=annual" in r["notes"] else 30)
        if fmt_num(gap) != r["usual_gap_days"]:
            bad(f"{cid}: usual_gap_days {r['usual_gap_days']} != {fmt_num(gap)}")
        cc = {}
        for x in pre:
            cc[x[1] or ""] = cc.get(x[1] or "", 0) + 1
        if main_cat(cc) != r["main_category"]:
            bad(f"{cid}: main_category {r['main_category']} != {main_cat(cc)}")
        if changed:
            if r["cause"] not in CAUSES:
                bad(f"{cid}: cause {r['cause']!r} not one of measure.py's")
            if ch is None:
                bad(f"{cid}: changed without change_at")
                continue
            if not (dms(di(2024, 1, 1)) <= ch <= p["last"]):
                bad(f"{cid}: change_at outside 2024-01-01..last_active_at")
            if ch - p["first"] < 365 * DAY_MS:
                bad(f"{cid}: less than 365 days of history before change_at")
            if r["shift_at"]:
                bad(f"{cid}: leaver with shift_at")
            de = parse_ms(r["decline_end_at"]) if r["decline_end_at"] else None
            if de is None:
                bad(f"{cid}: no decline_end_at")
            if r["full_exit"] == "1":
                if p["last"] >= dms(EXIT_LIMIT_DAY):
                    bad(f"{cid}: full-exit leaver active on/after 2025-05-15")
                if r["scenario"] == "chg_champion_left":
                    if de is not None and any(x[0] >= de + DAY_MS for x in p["placed"]):
                        bad(f"{cid}: orders after the missed renewal")
                elif de is not None and de > p["last"]:
                    bad(f"{cid}: decline_end_at after last_active_at")
                if r["scenario"] == "chg_abrupt_stop" and ch != p["last"]:
                    bad(f"{cid}: abrupt change_at != last event")
            elif r["full_exit"] == "0":
                after = [x for x in p["placed"] if de is not None and x[0] >= de]
                if not after:
                    bad(f"{cid}: partial leaver without orders after decline_end_at")
                mins = {x[2] for x in after}
                if any(x[1] != "seats" for x in after) or len(mins) != 1:
                    bad(f"{cid}: partial leaver orders after decline_end_at are not only minimum-plan seats")
                if p["last"] < dms(di(2025, 3, 1)):
                    bad(f"{cid}: partial leaver not active late in the data")
            else:
                bad(f"{cid}: full_exit {r['full_exit']!r}")
            if r["scenario"] == "chg_unresolved_escalation":
                cb = cmp_by.get(cid, {})
                if not cb or ch not in p.get("opened", ()):
                    bad(f"{cid}: escalation leaver's change_at is not a complaint's opened event")
                if cb and not any(v[-1] != "resolved" for v in cb.values()):
                    bad(f"{cid}: escalation leaver with every complaint resolved")
            if r["scenario"] == "chg_migrate_rival" and ch not in strong_ms:
                bad(f"{cid}: migrate leaver's change_at is not a strong campaign's start")
        else:
            for k in ("change_at", "cause", "decline_end_at", "full_exit"):
                if r[k]:
                    bad(f"{cid}: stayer with {k}")
            if r["shift_at"] and parse_ms(r["shift_at"]) < T0_MS:
                bad(f"{cid}: shift_at before 2023-01-01")
            if p["last"] < dms(di(2025, 5, 15)):
                bad(f"{cid}: stayer silent from {fmt_utc(p['last'])}")
        if r["scenario"] in ("chg_migrate_rival", "stay_rival_exposed"):
            m = re.search(r"campaign=(\w+) \w+ (\d{4}-\d{2}-\d{2})", r["notes"])
            if not m or strong.get(m.group(2)) != m.group(1):
                bad(f"{cid}: campaign note does not name a strong campaign")
            else:
                t = dms((date.fromisoformat(m.group(2)) - DAY0).days)
                if not any(x[1] == m.group(1) and x[0] < t for x in p["placed"]):
                    bad(f"{cid}: no placed order in the campaign's category before it")
        e = evl.get(cid)
        if e is None or e["churned"] != r["churned"] or e["persona"] != r["scenario"] or \
                e["decline_started_at"] != r["change_at"] or e["last_active_at"] != r["last_active_at"] or \
                e["cause"] != r["cause"] or e["usual_gap_days"] != r["usual_gap_days"]:
            bad(f"{cid}: truth_eval disagrees with truth_full")
    if set(per) != {r["customer_id"] for r in full}:
        bad("customers in events and truth differ")
    print(f"validated {n} events, {len(full)} accounts: {len(problems)} problems ({_time.time() - t0:.1f}s)", file=sys.stderr)
    return len(problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1212)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", default="out/outside12/data")
    ap.add_argument("--validate", action="store_true")
    a = ap.parse_args()
    generate(a.seed, a.scale, a.out)
    if a.validate:
        here = os.path.dirname(os.path.abspath(__file__))
        sd = os.path.join(here, "..", "..", "schemas", "json")
        if not os.path.isdir(sd):
            sd = "schemas/json"
        if validate(a.out, sd):
            sys.exit(1)


if __name__ == "__main__":
    main()
