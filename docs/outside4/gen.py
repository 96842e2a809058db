#!/usr/bin/env python3
"""Fourth outside population for Churnwatch: non-stationary but loyal customers, and realistic delivery.

Usage: python gen.py [--out DIR] [--seed 4242] [--scale 1.0]

Writes DIR/events.jsonl (replay file: one event per line with a `type` field, in a noisy
arrival order), DIR/truth_full.csv and DIR/truth_eval.csv. The output depends only on
--seed and --scale. See README.md in this folder for the population model.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np

UTC = timezone.utc
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)  # exclusive: the period is 2023-01-01 .. 2025-06-30
ND = (END - START).days
S0 = int(START.timestamp())
S1 = int(END.timestamp())
DAY = 86400
D = np.arange(ND)


def dix(y, m, d):
    return (datetime(y, m, d, tzinfo=UTC) - START).days


CHG_LO = dix(2024, 4, 1)
CHG_HI = dix(2024, 12, 31)  # inclusive
DATES = [START + timedelta(days=int(i)) for i in D]
WD = np.array([d.weekday() for d in DATES])  # Monday = 0
MON = np.array([d.month for d in DATES])
DOM = np.array([d.day for d in DATES])

# currency, time zone, weight
REGIONS = [
    ("EUR", "Europe/Berlin", 14), ("EUR", "Europe/Paris", 8), ("EUR", "Europe/Madrid", 6),
    ("EUR", "Europe/Amsterdam", 5), ("GBP", "Europe/London", 12), ("USD", "America/New_York", 9),
    ("USD", "America/Chicago", 4), ("USD", "America/Los_Angeles", 5), ("SEK", "Europe/Stockholm", 5),
    ("PLN", "Europe/Warsaw", 6), ("CHF", "Europe/Zurich", 4), ("DKK", "Europe/Copenhagen", 3),
    ("CZK", "Europe/Prague", 3), ("JPY", "Asia/Tokyo", 3), ("AUD", "Australia/Sydney", 3),
    ("CAD", "America/Toronto", 3),
]
FX = {"EUR": 1.0, "GBP": 0.86, "USD": 1.08, "SEK": 11.3, "PLN": 4.35, "CHF": 0.96, "DKK": 7.46,
      "CZK": 24.8, "JPY": 158.0, "AUD": 1.63, "CAD": 1.47}
DECIMALS = {"JPY": 0}
_OFF = {}


def tz_off(tz):
    """UTC offset in seconds at local noon of every day of the period."""
    if tz not in _OFF:
        z = ZoneInfo(tz)
        _OFF[tz] = np.array([int(z.utcoffset(datetime(d.year, d.month, d.day, 12)).total_seconds()) for d in DATES])
    return _OFF[tz]


CONSUMER_CATS = ["fashion", "shoes", "electronics", "home", "beauty", "toys", "books", "sports", "grocery",
                 "pet", "baby", "kitchen", "music", "garden", "ski", "outdoor"]
B2B_CATS = ["office-supplies", "packaging", "industrial", "cleaning", "it-hardware"]
RETURN_P = {"fashion": 0.2, "shoes": 0.15, "electronics": 0.06}
BLACK_FRIDAY = [dix(2023, 11, 24), dix(2024, 11, 29)]


def smooth(a, b):
    """0 before day a, 1 from day b, smoothstep between."""
    if b <= a:
        return (D >= a).astype(float)
    x = np.clip((D - a) / (b - a), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def lin(a, b):
    if b <= a:
        return (D >= a).astype(float)
    return np.clip((D - a) / (b - a), 0.0, 1.0)


def season_orders(b2b):
    m = np.array([1.0, 1.05, 0.9, 1.0, 1.0, 1.0, 1.0, 0.95, 0.85, 1.0, 1.0, 1.15, 1.35])[MON]
    if b2b:
        m = np.array([1.0, 1.0, 1.0, 1.05, 1.0, 1.0, 1.0, 0.9, 0.6, 1.05, 1.05, 1.0, 0.85])[MON]
        for y in (2022, 2023, 2024):
            m[max(0, dix(y, 12, 22)):max(0, dix(y + 1, 1, 3))] = 0.15
    else:
        for bf in BLACK_FRIDAY:
            m[bf:bf + 4] *= 1.8
    return m


def season_activity(b2b):
    m = np.array([1.0, 1.0, 0.95, 1.0, 1.0, 1.0, 0.97, 0.93, 0.9, 1.0, 1.0, 1.08, 1.15])[MON]
    if b2b:
        m = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.65, 1.0, 1.0, 1.0, 0.85])[MON]
    return m / m.mean()


SEASON = {b: (season_orders(b), season_activity(b)) for b in (False, True)}


def ou(rng, sigma, tau):
    a = math.exp(-1.0 / tau)
    e = rng.standard_normal(ND) * sigma * math.sqrt(1 - a * a)
    x = np.empty(ND)
    v = rng.standard_normal() * sigma
    for i in range(ND):
        v = a * v + e[i]
        x[i] = v
    return np.exp(x - sigma * sigma / 2)


def fmt(ts):
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_ts(d):
    return S0 + int(d) * DAY


# --------------------------------------------------------------------------------------------
# customers


def pick_region(rng, exclude_cur=None, allowed=None):
    idx = [i for i, r in enumerate(REGIONS) if r[0] != exclude_cur and (allowed is None or r[0] in allowed)]
    w = np.array([REGIONS[i][2] for i in idx], float)
    return idx[rng.choice(len(idx), p=w / w.sum())]


def make_profile(rng, b2b, weekend=False):
    if b2b:
        peaks = [(float(rng.choice([8.5, 9.5, 10.5, 13.5, 14.5, 16.0])), rng.uniform(0.6, 1.5), 1.0)]
        if rng.random() < 0.5:
            peaks.append((float(rng.choice([11.0, 15.0, 16.5])), rng.uniform(0.6, 1.2), rng.uniform(0.3, 0.8)))
        ch = np.array([rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.15), rng.uniform(0.0, 0.3)])
    else:
        centres = [7.5, 12.5, 18.0, 20.5, 22.0] if not weekend else [10.5, 14.0, 17.0, 20.5]
        k = rng.integers(1, 4)
        cs = rng.choice(centres, size=k, replace=False)
        peaks = [(float(c), rng.uniform(0.6, 2.0), rng.uniform(0.3, 1.0)) for c in cs]
        p_app = rng.uniform(0.0, 0.9)
        ch = np.array([1 - p_app, p_app, 0.03])
    ch = ch / ch.sum()
    w = np.array([p[2] for p in peaks])
    return {"peaks": peaks, "pw": w / w.sum(), "ch": ch}


def prof_desc(p):
    return "/".join(f"{h:.1f}h" for h, _, _ in p["peaks"]) + f" ch=web{p['ch'][0]:.2f},app{p['ch'][1]:.2f},other{p['ch'][2]:.2f}"


def base_customer(rng, kind, b2b=False, **kw):
    c = SimpleNamespace()
    c.kind, c.b2b = kind, b2b
    c.changed = kind.startswith("chg_")
    c.cause = ""
    c.notes = {}
    c.region = kw.get("region", pick_region(rng, allowed=kw.get("allowed_cur")))
    c.region2 = None
    c.switch_day = None  # relocation / buyer change
    c.plevel = rng.uniform(0.9, 1.1)
    c.plevel2 = c.plevel
    if b2b:
        c.gap = float(np.clip(rng.lognormal(math.log(14), 0.4), 5, 40))
        c.k = rng.uniform(3, 8)
        c.basket = float(np.clip(rng.lognormal(math.log(1500), 0.6), 300, 15000))
        c.bsd = rng.uniform(0.15, 0.35)
        c.lpm = float(np.clip(rng.lognormal(math.log(4), 0.4), 1.5, 12))
        c.pps = rng.uniform(1.5, 3.0)
        c.dwell = rng.uniform(20, 70)
        c.p_login = rng.uniform(0.85, 1.0)
        c.p_osess = rng.uniform(0.3, 0.8)  # the rest are EDI / e-mail orders with no web session
        c.unit = rng.lognormal(math.log(60), 0.5)
        cats = list(rng.choice(B2B_CATS, size=rng.integers(2, 4), replace=False))
    else:
        c.gap = float(np.clip(rng.lognormal(math.log(30), 0.55), 8, 120))
        c.k = rng.uniform(1.5, 5)
        c.basket = float(np.clip(rng.lognormal(math.log(70), 0.6), 12, 900))
        c.bsd = rng.uniform(0.2, 0.45)
        c.lpm = float(np.clip(rng.lognormal(math.log(4.5), 0.45), 1.2, 14))
        c.pps = rng.uniform(1.3, 2.6)
        c.dwell = rng.uniform(15, 80)
        c.p_login = rng.uniform(0.6, 0.95)
        c.p_osess = rng.uniform(0.85, 1.0)
        c.unit = rng.lognormal(math.log(35), 0.5)
        cats = list(rng.choice([x for x in CONSUMER_CATS if x not in ("garden", "ski")],
                               size=rng.integers(2, 5), replace=False))
    c.main, c.others = cats[0], cats[1:]
    c.pmain = rng.uniform(0.45, 0.85)
    c.prof = make_profile(rng, b2b)
    c.prof2 = None
    c.start = 0 if rng.random() < 0.85 else int(rng.integers(20, 240))
    c.p_cancel = rng.uniform(0.005, 0.035)
    c.p_bgc = rng.uniform(0.003, 0.02)  # background complaint per order
    c.p_fail = rng.uniform(0.0, 0.03)
    c.om = np.ones(ND)
    c.am = np.ones(ND)
    c.bm = np.ones(ND)
    c.pm = np.ones(ND)
    c.dm = np.ones(ND)
    c.mk = np.zeros(ND)
    c.pmain_d = None
    c.wk_o = np.ones(7)
    c.wk_a = np.ones(7)
    if b2b:
        c.wk_o = np.array([1, 1, 1, 1, 1, 0.0, 0.0])
        c.wk_a = np.array([1, 1, 1, 1, 1, 0.04, 0.02])
    c.dom_o = np.ones(31)
    c.dom_a = np.ones(31)
    c.stop = S1  # timestamp from which the customer sends nothing
    c.t0 = None  # change day (churners)
    c.change_ts = None
    c.shift_day = None  # stayers' own rhythm change
    c.complaints = []  # scripted complaints: dict(cid?, cat, sev, flow=[(status, ts)])
    c.market = []  # scripted market events (ts, category, kind, strength, ends)
    c.extra_sessions = []  # (ts, pages list)
    c.aov_fixed = None
    c.notes_fixed = {}
    return c


def n_(c, **kw):
    for k, v in kw.items():
        c.notes[k] = (f"{v:.3g}" if isinstance(v, float) else str(v))


def add_holidays(c, rng):
    c.hol = []
    for y in (2023, 2024, 2025):
        n = rng.choice([0, 1, 2], p=[0.35, 0.45, 0.2])
        for _ in range(n):
            a = dix(y, 1, 1) + int(rng.integers(0, 340 if y < 2025 else 160))
            ln = int(rng.integers(7, 22))
            if c.changed and a + ln >= c.t0 - 30:
                continue
            if a + ln >= ND:
                continue
            f = rng.uniform(0.0, 0.2)
            c.om[a:a + ln] *= 0.1
            c.am[a:a + ln] *= f
            c.hol.append((a, ln))


def market_spec(rng, day, cat):
    kind = "competitor_promotion" if rng.random() < 0.7 else "competitor_price_cut"
    ts = day_ts(day) + int(rng.choice([0, 6, 7, 8])) * 3600
    ends = ts + int(rng.integers(7, 29)) * DAY if (kind == "competitor_promotion" or rng.random() < 0.5) else None
    return dict(ts=ts, category=cat, kind=kind, strength=round(float(rng.beta(3, 2)), 2), ends=ends)


def complaint_flow(rng, open_ts, resolve=True, p_esc=0.3, res_days=(2, 12), p_reopen=0.0):
    flow = [("opened", open_ts)]
    t = open_ts
    if rng.random() < p_esc:
        t = t + int(rng.uniform(0.5, 3) * DAY)
        flow.append(("escalated", t))
    if resolve:
        t = max(t + 3600, open_ts + int(rng.uniform(*res_days) * DAY))
        flow.append(("resolved", t))
        if rng.random() < p_reopen:
            t += int(rng.uniform(1, 8) * DAY)
            flow.append(("reopened", t))
            t += int(rng.uniform(2, 10) * DAY)
            flow.append(("resolved", t))
    return flow


def local_ts(c, rng, d, hour):
    """Timestamp of local hour `hour` (float) on local day d."""
    tz = REGIONS[c.region2 if (c.switch_day is not None and c.region2 is not None and d >= c.switch_day) else c.region][1]
    sec = int(hour * 3600) + int(rng.integers(0, 60))
    return day_ts(d) + sec - int(tz_off(tz)[d])


# ---- stayers ------------------------------------------------------------------------------


def k_stay_steady(c, rng):
    n_(c, story="ordinary customer, shared noise only")


def k_stay_growing(c, rng):
    c.gap = float(np.clip(c.gap, 10, 45)) * 1.6
    g = rng.uniform(1.6, 3.0)
    s = int(rng.integers(dix(2023, 9, 1), dix(2024, 9, 30)))
    w = int(rng.integers(60, 181))
    up = 1 + (g - 1) * smooth(s, s + w)
    over = rng.random() < 0.5
    if over:
        h = int(rng.integers(30, 91))
        sf = rng.uniform(0.7, 0.9)
        ease = int(rng.integers(60, 121))
        down = g * (1 - (1 - sf) * smooth(s + w + h, s + w + h + ease))
        c.om = np.where(D < s + w + h, up, down)
        n_(c, overshoot=1, hold_days=h, settle_to=round(sf * g, 2), ease_days=ease)
    else:
        c.om = up
        n_(c, overshoot=0)
    c.am = 1 + 0.5 * (c.om - 1)
    c.shift_day = s
    n_(c, growth=round(g, 2), ramp_days=w)


def k_stay_bigger_baskets(c, rng):
    c.gap = float(np.clip(rng.lognormal(math.log(9), 0.3), 4, 18))
    c.basket = float(np.clip(rng.lognormal(math.log(40), 0.4), 12, 150))
    f = rng.uniform(2.5, 4.0)
    s = int(rng.integers(dix(2024, 3, 15), dix(2024, 10, 31)))
    w = int(rng.integers(20, 61))
    r = smooth(s, s + w)
    fb = f * rng.uniform(0.85, 1.15)
    a = rng.uniform(0.6, 1.0)
    c.om = 1 / (1 + (f - 1) * r)
    c.bm = 1 + (fb - 1) * r
    c.am = 1 - (1 - a) * r
    c.shift_day = s
    n_(c, freq_div=round(f, 2), basket_mult=round(fb, 2), activity_after=round(a, 2), transition_days=w)


def k_stay_weekend(c, rng):
    c.gap = float(np.clip(rng.lognormal(math.log(14), 0.35), 7, 35))
    sat = rng.uniform(0.3, 0.7)
    c.wk_o = np.array([0, 0, 0, 0, 0, sat, 1 - sat]) * 7
    wd = rng.uniform(0.1, 0.35)
    c.wk_a = np.array([wd] * 5 + [1, 1])
    c.wk_a = c.wk_a / c.wk_a.mean()
    c.prof = make_profile(rng, False, weekend=True)
    n_(c, saturday_share=round(sat, 2), weekday_activity=round(wd, 2))


def k_stay_payday(c, rng):
    semi = rng.random() < 0.6
    w = np.zeros(31)
    w[0:3] = [1.0, 0.7, 0.35]
    if semi:
        w[14:17] = [1.0, 0.7, 0.35]
        c.gap = rng.uniform(14, 25)
    else:
        c.gap = rng.uniform(28, 45)
    c.k = rng.uniform(2, 6)
    c.dom_o = w / w[DOM - 1].mean()
    wa = np.ones(31)
    wa[0:4] = 2.5
    if semi:
        wa[14:18] = 2.5
    c.dom_a = wa / wa[DOM - 1].mean()
    n_(c, payday="1st+15th" if semi else "1st", gap=round(c.gap, 1))


def k_stay_b2b_buyer_change(c, rng):
    s = int(rng.integers(dix(2024, 3, 15), dix(2024, 12, 15)))
    hand = int(rng.integers(7, 29))
    hf = rng.uniform(0.1, 0.3)
    c.am[s - hand:s] *= hf
    old_h = c.prof["peaks"][0][0]
    new_h = float(rng.choice([h for h in (8.0, 10.0, 13.5, 15.5, 17.0) if abs(h - old_h) >= 3.5]))
    chs = [np.array([0.9, 0.05, 0.05]), np.array([0.1, 0.05, 0.85]), np.array([0.15, 0.8, 0.05])]
    old_main = int(np.argmax(c.prof["ch"]))
    new_ch = chs[int(rng.choice([i for i in range(3) if i != old_main]))]
    c.prof2 = {"peaks": [(new_h, rng.uniform(0.5, 1.2), 1.0)], "pw": np.array([1.0]), "ch": new_ch}
    c.switch_day = s
    la = rng.uniform(0.6, 1.6)
    pa = rng.uniform(0.6, 1.5)
    da = rng.uniform(0.5, 2.0)
    onb = int(rng.integers(14, 29))
    c.am[s:] *= la
    c.pm[s:] *= pa
    c.pm[s:s + onb] *= 2.0
    c.dm[s:] *= da
    c.shift_day = s
    n_(c, handover_days=hand, handover_activity=round(hf, 2), old_prof=prof_desc(c.prof), new_prof=prof_desc(c.prof2),
       logins_after=round(la, 2), pages_after=round(pa, 2), dwell_after=round(da, 2), onboarding_days=onb)


def k_stay_marketplace(c, rng):
    s = int(rng.integers(dix(2024, 3, 15), dix(2024, 12, 15)))
    w = int(rng.integers(14, 43))
    m = rng.uniform(0.8, 0.97)
    a = rng.uniform(0.03, 0.15)
    r = smooth(s, s + w)
    c.mk = m * r
    c.am = 1 - (1 - a) * r
    c.shift_day = s
    n_(c, marketplace_share=round(m, 2), activity_after=round(a, 2), switch_days=w)


def k_stay_student(c, rng):
    c.gap = float(np.clip(rng.lognormal(math.log(25), 0.35), 10, 60))
    c.basket = float(np.clip(rng.lognormal(math.log(30), 0.4), 8, 120))
    c.lpm = rng.uniform(6, 14)
    c.prof = make_profile(rng, False)
    c.prof["ch"] = np.array([0.25, 0.72, 0.03])
    q1, q2 = rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.25)
    sb = rng.uniform(1.5, 2.2)
    terms = []
    for y in (2023, 2024):
        a = dix(y, 7, 1) + int(rng.integers(-10, 11))
        b = dix(y, 9, 1) + int(rng.integers(-10, 6))
        c.om[a:b] *= q1
        c.am[a:b] *= q2
        c.om[b:b + 21] *= sb
        c.am[b:b + 21] *= 1.3
        terms.append(f"{DATES[a]:%m-%d}..{DATES[b]:%m-%d}")
    a25 = dix(2025, 7, 1) + int(rng.integers(-10, 1))
    c.om[a25:] *= q1
    c.am[a25:] *= q2
    for y in (2022, 2023, 2024):
        a, b = max(0, dix(y, 12, 20)), max(0, dix(y + 1, 1, 6))
        c.am[a:b] *= 0.5
    n_(c, summer_orders=round(q1, 2), summer_activity=round(q2, 2), september_burst=round(sb, 2), summers="|".join(terms))


def k_stay_relocate_currency(c, rng):
    s = int(rng.integers(dix(2024, 3, 1), dix(2024, 12, 15)))
    c.region2 = pick_region(rng, exclude_cur=REGIONS[c.region][0])
    c.plevel2 = rng.uniform(0.85, 1.2)
    g = int(rng.integers(7, 31))
    mf = rng.uniform(0.1, 0.3)
    c.am[s - g:s] *= mf
    c.om[s - g:s] *= 0.2
    c.switch_day = s
    c.shift_day = s
    n_(c, move_gap_days=g, move_activity=round(mf, 2), price_level_after=round(c.plevel2, 2))


def k_stay_complaint_resolved(c, rng):
    c.gap = min(c.gap, 55.0)
    s = int(rng.integers(CHG_LO, dix(2024, 12, 15)))
    n = 1 if rng.random() < 0.4 else 2
    days = [s] + ([s + int(rng.integers(7, 36))] if n == 2 else [])
    for d in days:
        cat = str(rng.choice(["logistics", "product", "billing"], p=[0.5, 0.35, 0.15]))
        sev = str(rng.choice(["medium", "high"], p=[0.6, 0.4]))
        ts = local_ts(c, rng, d, rng.uniform(9, 21))
        c.complaints.append(dict(cat=cat, sev=sev, flow=complaint_flow(rng, ts, True, 0.4, (2, 15), 0.15)))
    dip = int(rng.integers(14, 43))
    df = rng.uniform(0.4, 0.8)
    c.om[s:s + dip] *= df
    c.shift_day = s
    n_(c, complaints=n, order_dip=round(df, 2), dip_days=dip,
       complaint_cats="|".join(x["cat"] for x in c.complaints))


def k_stay_promo_loyal(c, rng):
    c.pmain = rng.uniform(0.6, 0.85)
    s = int(rng.integers(CHG_LO, dix(2024, 12, 15)))
    m = market_spec(rng, s, c.main)
    c.market.append(m)
    dur = int(((m["ends"] or (m["ts"] + 21 * DAY)) - m["ts"]) // DAY)
    dip = rng.uniform(0.3, 0.9)
    look = int(rng.integers(7, 15))
    c.om[s:s + dur] *= dip
    c.am[s:s + look] *= rng.uniform(1.0, 1.4)
    c.om[s + dur:s + dur + 21] *= 1.25
    c.shift_day = s
    n_(c, promo_kind=m["kind"], promo_strength=m["strength"], promo_days=dur, order_dip=round(dip, 2), comparison_days=look)


def k_stay_seasonal_hobby(c, rng):
    hobby = str(rng.choice(["garden", "ski", "outdoor"]))
    season = {"garden": (3, 4, 5, 6), "ski": (11, 12, 1, 2), "outdoor": (5, 6, 7, 8)}[hobby]
    c.main = hobby
    c.pmain = rng.uniform(0.7, 0.9)
    hi_o, lo_o = rng.uniform(2.0, 3.0), rng.uniform(0.2, 0.4)
    hi_a, lo_a = rng.uniform(1.5, 2.0), rng.uniform(0.4, 0.6)
    ins = np.isin(MON, season)
    c.om = np.where(ins, hi_o, lo_o)
    c.am = np.where(ins, hi_a, lo_a)
    n_(c, hobby=hobby, season="|".join(map(str, season)), in_season_orders=round(hi_o, 2), off_season_orders=round(lo_o, 2))


# ---- churners -----------------------------------------------------------------------------


def k_chg_slow_fade(c, rng):
    c.cause = "drift"
    t0 = c.t0
    r = rng.uniform(0.85, 0.90)
    cut = rng.uniform(0.12, 0.3)
    f = np.where(D >= t0, r ** ((D - t0) / 30.44), 1.0)
    c.om *= f
    c.am *= f
    c.pm *= f ** 0.5
    c.dm *= f ** 0.5
    c.bm *= f ** 0.3
    sd = t0 + int(30.44 * math.log(cut) / math.log(r))
    if sd < ND:
        c.stop = day_ts(sd)
    n_(c, monthly_factor=round(r, 3), stop_at_level=round(cut, 2), stop_day=str(DATES[sd].date()) if sd < ND else "after end")


def k_chg_price_rise(c, rng):
    c.cause = "purchase_frequency"
    t0 = c.t0
    w1 = int(rng.integers(14, 46))
    of = rng.uniform(0.2, 0.4)
    c.om[t0:t0 + w1] *= of
    c.om[t0 + w1:] = 0
    pr = rng.uniform(1.1, 1.2)
    c.bm[t0:] *= pr
    b = rng.uniform(1.2, 1.6)
    bw = int(rng.integers(21, 43))
    a_end = rng.uniform(0.3, 0.6)
    dec = int(rng.integers(60, 121))
    prof = np.ones(ND)
    prof[t0:t0 + bw] = b
    tail = D >= t0 + bw
    prof[tail] = b + (a_end - b) * lin(t0 + bw, t0 + bw + dec)[tail]
    c.am *= prof
    c.pm[t0:t0 + bw] *= 1.3
    c.dm[t0:t0 + bw] *= 1.3
    leave = rng.random() < 0.5
    if leave:
        sd = t0 + int(rng.integers(120, 241))
        if sd < ND:
            c.stop = day_ts(sd)
    n_(c, price_rise=round(pr, 2), orders_left_days=w1, orders_left_factor=round(of, 2), browse_boost=round(b, 2),
       boost_days=bw, activity_end=round(a_end, 2), decline_days=dec, goes_silent=int(leave))


def k_chg_b2b_shrink(c, rng):
    c.cause = "order_value"
    t0 = c.t0
    f = rng.uniform(0.15, 0.35)
    sw = int(rng.integers(30, 91))
    c.bm *= 1 - (1 - f) * smooth(t0, t0 + sw)
    of = rng.uniform(0.8, 1.0)
    c.om[t0:] *= of
    os_ = t0 + int(rng.integers(90, 211))
    c.om[os_:] = 0
    c.am *= 1 - 0.4 * smooth(t0, t0 + sw)
    sd = os_ + int(rng.integers(1, 43))
    if sd < ND:
        c.stop = day_ts(sd)
    c.orders_stop = os_
    n_(c, value_to=round(f, 2), shrink_days=sw, freq_factor=round(of, 2),
       orders_stop=str(DATES[os_].date()) if os_ < ND else "after end", silent_from=str(DATES[sd].date()) if sd < ND else "after end")


def k_chg_logistics_complaints(c, rng):
    c.cause = "complaints"
    t0 = c.t0
    d2 = t0 + int(rng.integers(10, 41))
    unres = int(rng.integers(0, 2))
    ts1 = local_ts(c, rng, t0, rng.uniform(9, 21))
    ts2 = local_ts(c, rng, d2, rng.uniform(9, 21))
    for i, ts in enumerate((ts1, ts2)):
        sev = str(rng.choice(["medium", "high"], p=[0.5, 0.5]))
        if i == unres:
            flow = complaint_flow(rng, ts, resolve=False, p_esc=0.7)
        else:
            flow = complaint_flow(rng, ts, resolve=True, p_esc=0.3, res_days=(3, 12))
        c.complaints.append(dict(cat="logistics", sev=sev, flow=flow))
    c.change_ts = ts1
    f1, f2 = rng.uniform(0.5, 0.8), rng.uniform(0.2, 0.4)
    os_ = d2 + int(rng.integers(20, 61))
    c.om[t0:d2] *= f1
    c.om[d2:os_] *= f2
    c.om[os_:] = 0
    c.am *= np.where(D >= t0, 1 - 0.7 * lin(t0, os_), 1.0)
    sd = os_ + int(rng.integers(14, 57))
    c.stop = min(S1, day_ts(sd))
    c.orders_stop = os_
    n_(c, second_complaint_day=str(DATES[d2].date()), unresolved=("first" if unres == 0 else "second"),
       orders_after_first=round(f1, 2), orders_after_second=round(f2, 2), orders_stop=str(DATES[os_].date()),
       silent_from=str(DATES[min(sd, ND - 1)].date()))


def k_chg_vip_service(c, rng):
    c.cause = "complaints"
    c.basket = float(np.clip(rng.lognormal(math.log(350), 0.3), 180, 1500))
    c.gap = float(np.clip(rng.lognormal(math.log(18), 0.3), 8, 40))
    c.lpm = rng.uniform(6, 14)
    t0 = c.t0
    ts = local_ts(c, rng, t0, rng.uniform(10, 20))
    x = rng.uniform(2, 10)
    stop = ts + int(x * DAY)
    flow = [("opened", ts)]
    if rng.random() < 0.6:
        flow.append(("escalated", ts + int(rng.uniform(0.3, min(2.0, x - 0.5)) * DAY)))
    resolved = rng.random() < 0.3
    if resolved:
        flow.append(("resolved", max(flow[-1][1] + 3600, ts + int(rng.uniform(1.0, x - 0.3) * DAY))))
    c.complaints.append(dict(cat="service", sev="high", flow=flow))
    c.change_ts = ts
    c.om[t0:] = 0
    c.am[t0:] *= 0.5
    c.stop = stop
    nv = int(rng.integers(1, 4))
    for _ in range(nv):
        c.extra_sessions.append(int(ts + rng.uniform(0.1, x - 0.05) * DAY))
    n_(c, silent_after_days=round(x, 1), resolved_before_leaving=int(resolved), complaint_checks=nv)


def k_chg_drift_promo(c, rng):
    c.cause = "drift"
    c.pmain = rng.uniform(0.6, 0.85)
    t0 = c.t0
    P = t0 + int(rng.integers(10, 46))
    m = market_spec(rng, P, c.main)
    c.market.append(m)
    pre = rng.uniform(0.7, 0.85)
    f = 1 - (1 - pre) * lin(t0, P)
    od = int(rng.integers(45, 151))
    ad = od + int(rng.integers(14, 46))
    fo = np.where(D >= P, pre * (1 - lin(P, P + od)), f)
    fa = np.where(D >= P, pre * (1 - lin(P, P + ad)), f)
    c.om *= fo
    c.am *= fa
    c.pmain_d = np.full(ND, c.pmain)
    c.pmain_d[D >= P] = c.pmain + (0.1 - c.pmain) * lin(P, P + 14)[D >= P]
    sd = P + ad
    if sd < ND:
        c.stop = day_ts(sd)
    n_(c, promo_day=str(DATES[P].date()), promo_kind=m["kind"], promo_strength=m["strength"], drift_before_promo=round(pre, 2),
       orders_to_zero_days=od, activity_to_zero_days=ad)


def k_chg_brief_bimonthly(c, rng):
    c.cause = "purchase_frequency"
    c.gap = rng.uniform(55, 68)
    c.k = rng.uniform(4, 8)
    c.basket = float(np.clip(rng.lognormal(math.log(120), 0.4), 30, 500))
    t0 = c.t0
    ng = rng.uniform(170, 190)
    c.om[t0:] *= c.gap / ng
    af = rng.uniform(0.6, 1.0)
    c.am[t0:] *= af
    leave = rng.random() < 0.3
    if leave:
        sd = t0 + int(rng.integers(150, 201))
        if sd < ND:
            c.stop = day_ts(sd)
    n_(c, gap_before=round(c.gap, 1), gap_after=round(ng, 1), activity_after=round(af, 2), goes_silent=int(leave))


def k_chg_brief_aov(c, rng):
    c.cause = "order_value"
    c.gap = rng.uniform(20, 45)
    c.aov_fixed = ((500.0, 1000.0), (200.0, 300.0))
    t0 = c.t0
    leave = rng.random() < 0.4
    if leave:
        sd = t0 + int(rng.integers(120, 241))
        if sd < ND:
            c.stop = day_ts(sd)
    n_(c, amounts_before="500-1000", amounts_after="200-300", goes_silent=int(leave))


def k_chg_brief_logins(c, rng):
    c.cause = "activity"
    c.gap = rng.uniform(30, 60)
    c.p_login = 1.0
    c.p_fail = 0.0
    L1, L2 = rng.uniform(10, 15), rng.uniform(2, 3)
    of = rng.uniform(0.4, 0.8)
    osm1 = 30.44 / c.gap * c.p_osess
    osm2 = osm1 * of
    c.lpm = L1 - osm1
    post = max(0.3, L2 - osm2) / c.lpm
    t0 = c.t0
    w = int(rng.integers(14, 43))
    c.am *= 1 - (1 - post) * smooth(t0, t0 + w)
    c.pm *= 1 - 0.4 * smooth(t0, t0 + w)
    c.dm *= 1 - 0.4 * smooth(t0, t0 + w)
    c.om[t0:] *= of
    leave = rng.random() < 0.3
    if leave:
        sd = t0 + int(rng.integers(60, 151))
        if sd < ND:
            c.stop = day_ts(sd)
    c.ramp_end = t0 + w
    n_(c, logins_pm_before=round(L1, 1), logins_pm_after=round(L2, 1), ramp_days=w, orders_after=round(of, 2), goes_silent=int(leave))


STAYERS = [  # kind, count at scale 1, share b2b
    ("stay_steady", 70, 0.2), ("stay_growing", 50, 0.1), ("stay_bigger_baskets", 45, 0.0), ("stay_weekend", 35, 0.0),
    ("stay_payday", 35, 0.0), ("stay_b2b_buyer_change", 35, 1.0), ("stay_marketplace", 40, 0.0),
    ("stay_student", 45, 0.0), ("stay_relocate_currency", 40, 0.1), ("stay_complaint_resolved", 30, 0.15),
    ("stay_promo_loyal", 30, 0.0), ("stay_seasonal_hobby", 35, 0.0),
]
CHURNERS = [
    ("chg_slow_fade", 25, 0.15), ("chg_price_rise", 25, 0.0), ("chg_b2b_shrink", 25, 1.0),
    ("chg_logistics_complaints", 25, 0.1), ("chg_vip_service", 20, 0.0), ("chg_drift_promo", 30, 0.0),
    ("chg_brief_bimonthly", 20, 0.0), ("chg_brief_aov", 20, 0.0), ("chg_brief_logins", 20, 0.0),
]
KIND_FN = {k: globals()["k_" + k] for k, _, _ in STAYERS + CHURNERS}


# --------------------------------------------------------------------------------------------
# event generation


class Ids:
    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def uid(self):
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))

    def num(self, prefix, digits):
        while True:
            v = f"{prefix}{int(self.rng.integers(10 ** (digits - 1), 10 ** digits))}"
            if v not in self.used:
                self.used.add(v)
                return v


def customer_id(rng, ids):
    while True:
        f = rng.integers(0, 3)
        if f == 0:
            v = "cu-" + rng.bytes(5).hex()
        elif f == 1:
            v = "C" + str(int(rng.integers(10 ** 8, 10 ** 9)))
        else:
            v = "acct_" + "".join(rng.choice(list("abcdefghijkmnpqrstuvwxyz23456789"), size=8))
        if v not in ids.used:
            ids.used.add(v)
            return v


def draw_hour(rng, prof):
    i = rng.choice(len(prof["peaks"]), p=prof["pw"])
    h, sd, _ = prof["peaks"][i]
    return (h + rng.normal(0, sd)) % 24


def prof_at(c, d):
    return c.prof2 if (c.prof2 is not None and d >= c.switch_day) else c.prof


def region_at(c, d):
    return c.region2 if (c.region2 is not None and d >= c.switch_day) else c.region


def simulate(c, rng, ids):
    """Returns a list of (ts, event dict without event_id)."""
    ev = []
    cid = c.id
    so, sa = SEASON[c.b2b]
    no = ou(rng, 0.2, 45)
    na = ou(rng, 0.2, 30)
    offs = {r: tz_off(REGIONS[r][1]) for r in {c.region, c.region2} if r is not None}
    reg_d = np.full(ND, c.region)
    if c.region2 is not None:
        reg_d[c.switch_day:] = c.region2
    off_d = np.array([offs[reg_d[d]][d] for d in range(ND)]) if c.region2 is not None else offs[c.region]
    pmain_d = c.pmain_d if c.pmain_d is not None else np.full(ND, c.pmain)
    cats_all = [c.main] + c.others

    def cat_at(d):
        if rng.random() < pmain_d[d] or not c.others:
            return c.main
        return c.others[int(rng.integers(0, len(c.others)))]

    def ts_local(d, hour):
        return S0 + int(d) * DAY + int(hour * 3600) + int(rng.integers(0, 60)) - int(off_d[d])

    def page_for(d, first, b2b):
        r = rng.random()
        if b2b:
            if first:
                return ("/b2b/dashboard", None) if r < 0.6 else ("/b2b/reorder", None)
            if r < 0.45:
                cat = cat_at(d)
                return (f"/b2b/catalog/{cat}/{int(rng.integers(1000, 9999))}", cat)
            if r < 0.6:
                return ("/b2b/invoices", None)
            if r < 0.75:
                return ("/b2b/quotes", None)
            cat = cat_at(d)
            return (f"/b2b/catalog/{cat}", cat)
        if first:
            if r < 0.45:
                return ("/", None)
            if r < 0.7:
                cat = cat_at(d)
                return (f"/c/{cat}", cat)
            if r < 0.85:
                cat = cat_at(d)
                return (f"/search?q={cat}", None)
        if r < 0.6:
            cat = cat_at(d)
            return (f"/p/{cat}/{cat[:3]}-{int(rng.integers(100, 99999))}", cat)
        if r < 0.78:
            cat = cat_at(d)
            return (f"/c/{cat}", cat)
        return (str(rng.choice(["/account", "/account/orders", "/wishlist", "/cart", "/deals"])), None)

    def session(d, t, prof, n_pages=None, pages=None, login=None, tail=()):
        """A browsing session starting at t; returns the time after its last page."""
        if login is None:
            login = rng.random() < c.p_login
        sid_mode = rng.random()
        sid = ("s-" + rng.bytes(6).hex()) if sid_mode < 0.88 else (None if sid_mode < 0.92 else "omit")
        if login:
            ch = ["web", "app", "other"][rng.choice(3, p=prof["ch"])]
            if rng.random() < c.p_fail:
                fe = {"type": "login", "customer_id": cid, "channel": ch, "success": False}
                ev.append((t - int(rng.integers(5, 90)), fe))
            e = {"type": "login", "customer_id": cid, "channel": ch}
            if ch != "other" and rng.random() < 0.75:
                e["success"] = True
            ev.append((t, e))
            t += int(rng.integers(1, 9))
        if pages is None:
            n = n_pages if n_pages is not None else 1 + rng.poisson(max(0.0, c.pps * c.pm[d] - 1))
            pages = [page_for(d, i == 0, c.b2b) for i in range(n)]
        pages = list(pages) + list(tail)
        for pg, cat in pages:
            dw = float(np.clip(rng.lognormal(math.log(c.dwell * c.dm[d]), 0.7), 0.5, 3600))
            e = {"type": "page_view", "customer_id": cid, "page": pg, "dwell_seconds": round(dw, 1)}
            if cat is not None:
                if rng.random() < 0.97:
                    e["category"] = cat
                else:
                    e["category"] = None
            elif rng.random() < 0.4:
                e["category"] = None
            if sid == "omit":
                pass
            else:
                e["session_id"] = sid
            ev.append((t, e))
            t += int(dw) + int(rng.integers(1, 16))
        return t

    start_ts = S0 + c.start * DAY

    # ---- orders: time-warped gamma renewal process on the daily order rate
    lam = (1.0 / c.gap) * c.om * so * c.wk_o[WD] * c.dom_o[DOM - 1] * no
    lam[:c.start] = 0
    L = np.cumsum(lam)
    pts = []
    t = rng.uniform() * rng.gamma(c.k, 1 / c.k)
    while t < L[-1]:
        pts.append(t)
        t += rng.gamma(c.k, 1 / c.k)
    odays = np.searchsorted(L, pts, side="right")
    orders = []
    for d in odays:
        d = int(d)
        if d >= ND:
            continue
        cur = REGIONS[reg_d[d]][0]
        pl = c.plevel2 if (c.region2 is not None and d >= c.switch_day) else c.plevel
        if c.aov_fixed is not None:
            lo, hi = c.aov_fixed[0] if d < c.t0 else c.aov_fixed[1]
            amt = rng.uniform(lo, hi)
            amt_eur = amt / FX[cur]
        else:
            amt_eur = c.basket * c.bm[d] * rng.lognormal(-c.bsd ** 2 / 2, c.bsd)
            amt = amt_eur * FX[cur] * pl
        dec = DECIMALS.get(cur, 2)
        amt = round(max(amt, 1.0 if dec == 0 else 0.5), dec)
        if dec == 0:
            amt = int(amt)
        cat = cat_at(d)
        items = int(max(1, min(500, round(amt_eur / c.unit * rng.uniform(0.7, 1.3)))))
        mk = rng.random() < c.mk[d]
        prof = prof_at(c, d)
        if mk:
            ot = ts_local(d, rng.uniform(0, 24) if rng.random() < 0.3 else rng.uniform(7, 23.5))
        elif rng.random() < c.p_osess:
            h = draw_hour(rng, prof)
            st = ts_local(d, h)
            if c.b2b:
                pages = [("/b2b/dashboard", None), (f"/b2b/catalog/{cat}", cat)] + \
                    [(f"/b2b/catalog/{cat}/{int(rng.integers(1000, 9999))}", cat) for _ in range(rng.integers(0, 3))] + \
                    [("/b2b/cart", None), ("/b2b/checkout", None)]
            else:
                pages = [page_for(d, True, False)] + \
                    [(f"/p/{cat}/{cat[:3]}-{int(rng.integers(100, 99999))}", cat) for _ in range(1 + rng.poisson(0.8))] + \
                    [("/cart", None), ("/checkout", None)]
            ot = session(d, st, prof, pages=pages) + int(rng.integers(5, 120))
        else:  # EDI / e-mail link / phone order: no web session
            ot = ts_local(d, rng.uniform(8, 17.5) if c.b2b else draw_hour(rng, prof))
        oid = ids.num("SO-", 9)
        e = {"type": "order", "customer_id": cid, "order_id": oid, "amount": amt, "currency": cur}
        r = rng.random()
        if r < 0.7:
            e["status"] = "placed"
        if rng.random() < 0.85:
            e["items"] = items
        r = rng.random()
        if r < 0.95:
            e["category"] = cat
        elif r < 0.98:
            e["category"] = None
        ev.append((ot, e))
        orders.append((ot, d, e))
        # lifecycle
        if rng.random() < c.p_cancel:
            ct = ot + int(rng.uniform(300, 36 * 3600))
            ev.append((ct, {"type": "order", "customer_id": cid, "order_id": oid, "amount": amt, "currency": cur,
                            "status": "cancelled", **({"category": cat} if "category" in e and e["category"] else {})}))
        elif rng.random() < (0.02 if c.b2b else RETURN_P.get(cat, 0.03)):
            rt = ot + int(rng.uniform(4, 30) * DAY)
            ra = amt if rng.random() < 0.7 else round(amt * rng.uniform(0.3, 0.7), dec)
            if dec == 0:
                ra = int(ra)
            ev.append((rt, {"type": "order", "customer_id": cid, "order_id": oid, "amount": ra, "currency": cur,
                            "status": "returned", "items": max(1, items // 2) if ra != amt else items}))
        # background complaint
        if rng.random() < c.p_bgc and (not c.changed or d < c.t0 - 45):
            ctime = ot + int(rng.uniform(1, 10) * DAY)
            cat_c = str(rng.choice(["product", "logistics", "billing", "service", "other"], p=[0.4, 0.38, 0.1, 0.05, 0.07]))
            sev = str(rng.choice(["low", "medium", "high"], p=[0.35, 0.45, 0.2]))
            c.complaints.append(dict(cat=cat_c, sev=sev, flow=complaint_flow(rng, ctime, True, 0.2, (1, 14), 0.06), bg=True))

    # ---- browsing sessions: Poisson on the activity rate
    sr = (c.lpm / 30.44) * c.am * sa * c.wk_a[WD] * c.dom_a[DOM - 1] * na
    sr[:c.start] = 0
    ns = rng.poisson(sr)
    for d in np.nonzero(ns)[0]:
        d = int(d)
        prof = prof_at(c, d)
        for _ in range(ns[d]):
            session(d, ts_local(d, draw_hour(rng, prof)), prof)

    # ---- complaints (scripted and background)
    for cp in c.complaints:
        cpid = ids.num("CS-", 7)
        cp["id"] = cpid
        t_open = cp["flow"][0][1]
        d = int((t_open - S0) // DAY)
        if 0 <= d < ND and t_open < c.stop:
            prof = prof_at(c, d)
            session(d, t_open - int(rng.integers(120, 900)), prof, pages=[("/account/orders", None), ("/account/complaints/new", None)],
                    login=True)
        for st, ts in cp["flow"]:
            ev.append((ts, {"type": "complaint", "customer_id": cid, "complaint_id": cpid, "status": st,
                            "category": cp["cat"], "severity": cp["sev"]}))
            if st in ("escalated", "resolved") and rng.random() < 0.5:
                t2 = ts + int(rng.uniform(0.1, 1.5) * DAY)
                d2 = int((t2 - S0) // DAY)
                if d2 < ND:
                    session(d2, t2, prof_at(c, d2), pages=[(f"/account/complaints/{cpid}", None)], login=rng.random() < 0.7)
    for t in c.extra_sessions:
        d = int((t - S0) // DAY)
        cpid = c.complaints[0]["id"]
        session(d, t, prof_at(c, d), pages=[(f"/account/complaints/{cpid}", None)] + [page_for(d, False, c.b2b) for _ in range(rng.integers(0, 3))],
                login=True)

    ev = [(int(t), e) for t, e in ev if start_ts <= t < c.stop and S0 <= t < S1]
    return ev


def make_market(rng, ids, customers):
    out = []
    cats = CONSUMER_CATS + B2B_CATS
    for cat in cats:
        d = int(rng.integers(0, 60))
        while d < ND:
            r = rng.random()
            kind = "competitor_promotion" if r < 0.55 else ("competitor_price_cut" if r < 0.85 else "competitor_launch")
            ts = day_ts(d) + int(rng.integers(0, 24)) * 3600
            if kind == "competitor_promotion":
                ends = ts + int(rng.integers(7, 29)) * DAY
            elif kind == "competitor_price_cut":
                ends = ts + int(rng.integers(14, 61)) * DAY if rng.random() < 0.5 else None
            else:
                ends = None
            out.append(dict(ts=ts, category=cat, kind=kind, strength=round(float(rng.beta(2, 3)), 2), ends=ends))
            d += int(rng.integers(45, 121))
        if cat in CONSUMER_CATS and rng.random() < 0.6:
            for bf in BLACK_FRIDAY:
                ts = day_ts(bf - 3)
                out.append(dict(ts=ts, category=cat, kind="competitor_promotion", strength=round(float(rng.beta(3, 2)), 2),
                                ends=ts + 7 * DAY))
    for c in customers:
        for m in c.market:
            m["for"] = c.id
            out.append(m)
    ev = []
    for m in out:
        if not (S0 <= m["ts"] < S1):
            continue
        e = {"type": "market_event", "kind": m["kind"], "category": m["category"], "strength": m["strength"]}
        if m["ends"] is not None:
            e["ends_at"] = fmt(m["ends"])
        elif rng.random() < 0.5:
            e["ends_at"] = None
        ev.append((m["ts"], e))
    return ev


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/outside4/data")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    t_start = time.time()
    rng = np.random.default_rng(a.seed)
    ids = Ids(rng)
    os.makedirs(a.out, exist_ok=True)

    plan = []
    for kind, n, pb in STAYERS + CHURNERS:
        for _ in range(max(1, int(round(n * a.scale)))):
            plan.append((kind, pb))
    order = rng.permutation(len(plan))
    customers = []
    for i in order:
        kind, pb = plan[i]
        b2b = rng.random() < pb
        kw = {}
        if kind == "chg_brief_aov":
            kw["allowed_cur"] = ("EUR", "USD", "GBP", "CHF")
        c = base_customer(rng, kind, b2b, **kw)
        c.id = customer_id(rng, ids)
        if c.changed:
            c.t0 = int(rng.integers(CHG_LO, CHG_HI + 1))
            c.change_ts = day_ts(c.t0)
        KIND_FN[kind](c, rng)
        add_holidays(c, rng)
        customers.append(c)

    all_ev = []  # (ts, cust index or -1, dict)
    for ci, c in enumerate(customers):
        for t, e in simulate(c, rng, ids):
            all_ev.append((t, ci, e))
    for t, e in make_market(rng, ids, customers):
        all_ev.append((t, -1, e))

    # ids and lines
    n = len(all_ev)
    occ = np.array([t for t, _, _ in all_ev], dtype=np.int64)
    lines = []
    for t, ci, e in all_ev:
        typ = e.pop("type")
        d = {"type": typ, "schema_version": 1, "event_id": ids.uid()}
        if "customer_id" in e:
            d["customer_id"] = e.pop("customer_id")
        d["occurred_at"] = fmt(t)
        d.update(e)
        lines.append(json.dumps(d, separators=(",", ":")))
    # delivery: arrival = occurred + producer delay; 2 % delayed by 5 min .. 4 h; 0.4 % resent later (exact duplicates)
    delay = np.round(rng.exponential(2.0, n)).astype(np.int64)
    late = rng.random(n) < 0.02
    delay[late] = rng.integers(300, 4 * 3600 + 1, late.sum())
    cust = np.array([ci for _, ci, _ in all_ev])
    delay[cust < 0] = 0
    arrival = occ + delay
    dup = np.nonzero((rng.random(n) < 0.004) & (cust >= 0))[0]
    dup_arr = arrival[dup] + rng.integers(1, 3 * 3600 + 1, len(dup))
    idx = np.concatenate([np.arange(n), dup])
    arr = np.concatenate([arrival, dup_arr])
    seq = np.arange(len(idx))
    o = np.lexsort((seq, arr))
    with open(os.path.join(a.out, "events.jsonl"), "w") as f:
        for j in o:
            f.write(lines[idx[j]] + "\n")

    # truth
    per = {ci: [] for ci in range(len(customers))}
    for k, (t, ci, e) in enumerate(all_ev):
        if ci >= 0:
            per[ci].append(k)
    rows = []
    for ci, c in enumerate(customers):
        ks = per[ci]
        ts = occ[ks]
        last = int(ts.max())
        first = int(ts.min())
        placed = sorted(int(occ[k]) for k in ks if '"order_id"' in lines[k] and '"status":"cancelled"' not in lines[k]
                        and '"status":"returned"' not in lines[k])
        ref = placed if not c.changed else [t for t in placed if t < c.change_ts]
        ug = f"{(ref[-1] - ref[0]) / DAY / (len(ref) - 1):.1f}" if len(ref) >= 2 else ""
        last_order = placed[-1] if placed else None
        full_exit = int(c.changed and last <= int(datetime(2025, 5, 31, tzinfo=UTC).timestamp()))
        notes = dict(c.notes)
        notes.update(base_gap=f"{c.gap:.1f}", k=f"{c.k:.1f}", basket_eur=f"{c.basket:.0f}", logins_pm=f"{c.lpm:.1f}",
                     pages_per_session=f"{c.pps:.1f}", dwell_s=f"{c.dwell:.0f}", p_login=f"{c.p_login:.2f}",
                     p_order_session=f"{c.p_osess:.2f}", hours=prof_desc(c.prof), start_day=str(DATES[c.start].date()),
                     holidays="|".join(f"{DATES[h].date()}+{ln}d" for h, ln in c.hol) or "none")
        rows.append(dict(
            customer_id=c.id, scenario=c.kind, changed=int(c.changed), churned=int(c.changed), cause=c.cause,
            change_at=fmt(c.change_ts) if c.changed else "",
            shift_at=fmt(day_ts(c.shift_day)) if c.shift_day is not None else "",
            last_active_at=fmt(last), first_event_at=fmt(first),
            decline_end_at=fmt(last) if full_exit else "", full_exit=full_exit,
            last_order_at=fmt(last_order) if last_order else "",
            usual_gap_days=ug, business="b2b" if c.b2b else "consumer",
            currency=REGIONS[c.region][0], currency_after=REGIONS[c.region2][0] if c.region2 is not None else "",
            tz=REGIONS[c.region][1], tz_after=REGIONS[c.region2][1] if c.region2 is not None else "",
            main_category=c.main, n_events=len(ks), n_orders=len(placed),
            notes=";".join(f"{k}={v}" for k, v in notes.items()),
        ))
    keys = list(rows[0].keys())
    with open(os.path.join(a.out, "truth_full.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(a.out, "truth_eval.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"])
        for r in rows:
            w.writerow([r["customer_id"], r["churned"], r["scenario"], r["change_at"], r["last_active_at"], r["cause"], r["usual_gap_days"]])
    print(f"{len(customers)} customers, {n} events + {len(dup)} duplicate lines = {n + len(dup)} lines, "
          f"{int(late.sum())} delayed 5 min-4 h, {time.time() - t_start:.1f} s -> {a.out}")


if __name__ == "__main__":
    main()
