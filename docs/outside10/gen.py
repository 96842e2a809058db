#!/usr/bin/env python3
"""Outside population 10: fashion and apparel e-commerce.

A mid-size online fashion retailer selling in several European countries plus the UK and the
US; each customer pays in their own currency (EUR, GBP, USD, SEK, PLN, CHF). Heavy browsing,
orders every few weeks to months, baskets of several items, 20-40 % of orders partly or fully
returned, a sale-driven calendar, fashion complaints and rival promotions per category.

Written without reading Churnwatch's detection or stream code (see README.md).

Usage: python gen.py [--seed 1010] [--scale 1] [--out out/outside10/data] [--validate]
stdlib + numpy only (jsonschema only for --validate).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

UTC = timezone.utc
D0 = date(2023, 1, 1)
DEND = date(2025, 6, 30)
ND = (DEND - D0).days + 1
T0 = datetime(2023, 1, 1, tzinfo=UTC).timestamp()
TEND = datetime(2025, 7, 1, tzinfo=UTC).timestamp() - 1
EXIT_LIMIT = datetime(2025, 5, 15, tzinfo=UTC).timestamp()
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

# country: (time zone, currency, units per EUR, share, price rounding)
COUNTRIES = {
    "DE": ("Europe/Berlin", "EUR", 1.0, 0.20),
    "FR": ("Europe/Paris", "EUR", 1.0, 0.12),
    "NL": ("Europe/Amsterdam", "EUR", 1.0, 0.08),
    "ES": ("Europe/Madrid", "EUR", 1.0, 0.06),
    "IT": ("Europe/Rome", "EUR", 1.0, 0.06),
    "UK": ("Europe/London", "GBP", 0.86, 0.18),
    "US": ("America/New_York", "USD", 1.08, 0.12),
    "SE": ("Europe/Stockholm", "SEK", 11.4, 0.07),
    "PL": ("Europe/Warsaw", "PLN", 4.35, 0.06),
    "CH": ("Europe/Zurich", "CHF", 0.96, 0.05),
}
CNAMES = list(COUNTRIES)
# return policy tightening (paid returns / shorter window) per country
POLICY = {"UK": date(2024, 3, 4), "DE": date(2024, 3, 4), "NL": date(2024, 3, 4),
          "FR": date(2024, 4, 15), "ES": date(2024, 4, 15), "IT": date(2024, 4, 15),
          "PL": date(2024, 4, 15), "SE": date(2024, 4, 15), "CH": date(2024, 4, 15),
          "US": date(2024, 6, 3)}

CATS_W = ["dresses", "tops", "trousers", "knitwear", "outerwear", "shoes", "accessories",
          "sportswear", "lingerie"]
CATS_M = ["tops", "trousers", "knitwear", "outerwear", "shoes", "accessories", "sportswear",
          "suits"]
MARKET_CATS = ["dresses", "shoes", "outerwear", "kidswear", "sportswear", "accessories"]
# price level of a category relative to the customer's usual item price
CAT_PRICE = {"dresses": 1.3, "tops": 0.6, "trousers": 1.0, "knitwear": 1.1, "outerwear": 2.4,
             "shoes": 1.6, "accessories": 0.6, "sportswear": 0.9, "lingerie": 0.6, "suits": 2.6,
             "kidswear": 0.45, "maternity": 0.9}
# strong rival campaigns (category, kind, start, days or None for open-ended, strength)
STRONG = [
    ("sportswear", "competitor_promotion", date(2024, 1, 15), 30, 0.76),
    ("dresses", "competitor_promotion", date(2024, 3, 11), 28, 0.82),
    ("shoes", "competitor_price_cut", date(2024, 5, 6), 35, 0.78),
    ("kidswear", "competitor_promotion", date(2024, 8, 12), 35, 0.80),
    ("outerwear", "competitor_price_cut", date(2024, 10, 7), 42, 0.85),
    ("accessories", "competitor_launch", date(2024, 11, 18), None, 0.74),
]
STRONG_BY_CAT = {s[0]: s for s in STRONG}

TRUTH_COLS = ["customer_id", "scenario", "changed", "churned", "cause", "change_at", "shift_at",
              "last_active_at", "first_event_at", "decline_end_at", "full_exit", "last_order_at",
              "usual_gap_days", "business", "currency", "currency_after", "tz", "tz_after",
              "main_category", "n_events", "n_orders", "notes"]
EVAL_COLS = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause",
             "usual_gap_days"]

STAYERS = [("stay_regular", 140), ("stay_sale_only", 60), ("stay_life_change", 45),
           ("stay_app_shift", 45), ("stay_wardrobe_pause", 40), ("stay_seasonal_outerwear", 45),
           ("stay_complaint_resolved", 40), ("stay_rival_exposed", 30)]
LEAVERS = [("chg_refund_complaint", 30, "complaints"), ("chg_trade_down", 30, "order_value"),
           ("chg_competitor_lured", 30, "activity"), ("chg_slow_drift", 35, "drift"),
           ("chg_abrupt", 25, "silence"), ("chg_serial_returner", 25, "purchase_frequency")]
CAUSE = {s: c for s, _, c in LEAVERS}


def dd(d):
    return (d - D0).days


def day_date(i):
    return D0 + timedelta(days=int(i))


def ts_of(i, hour=0.0):
    return T0 + 86400 * int(i) + 3600 * hour


def iso_utc(ts):
    ms = int(round(ts * 1000))
    dt = datetime.fromtimestamp(ms // 1000, UTC)
    if ms % 1000:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(ts, tz):
    ms = int(round(ts * 1000))
    dt = datetime.fromtimestamp(ms // 1000, UTC).astimezone(tz)
    if ms % 1000:
        return dt.isoformat(timespec="seconds")[:19] + f".{ms % 1000:03d}" + dt.isoformat()[19:]
    return dt.isoformat(timespec="seconds")


def ramp(n, start, length, lo, hi=1.0):
    """array: 1 before start, going linearly from hi to lo over length days, lo after."""
    x = np.ones(n)
    idx = np.arange(n)
    if length <= 0:
        x[idx >= start] = lo
        return x
    f = np.clip((idx - start) / length, 0, 1)
    x[:] = hi + (lo - hi) * f
    x[idx < start] = 1.0
    return x


# ---------------------------------------------------------------- calendar
def thanksgiving(y):
    d = date(y, 11, 1)
    first_thu = d + timedelta(days=(3 - d.weekday()) % 7)
    return first_thu + timedelta(days=21)


def calendars():
    """per country: (base demand weights, sale weights, session season weights, sale flag)."""
    out = {}
    month_f = [0.8, 0.7, 1.0, 1.1, 1.1, 1.0, 0.9, 0.8, 1.1, 1.1, 1.15, 1.2]
    for c in CNAMES:
        base = np.zeros(ND)
        sale = np.zeros(ND)
        for i in range(ND):
            d = day_date(i)
            b = month_f[d.month - 1]
            if d.month == 12 and d.day <= 20:
                b *= 1.45
            if d.month == 12 and 22 <= d.day <= 26:
                b *= 0.4
            if d.weekday() == 6:
                b *= 1.15
            base[i] = b
        for y in (2022, 2023, 2024, 2025):
            # January sales (Boxing Day in the UK, after Christmas elsewhere)
            js = date(y, 12, 26) if c in ("UK", "US", "CH") else date(y, 12, 27)
            je = date(y + 1, 1, 31) if c != "FR" else date(y + 1, 2, 6)
            # summer sales
            ss = {"UK": date(y, 6, 20), "FR": date(y, 6, 26), "US": date(y, 7, 1)}.get(c, date(y, 6, 24))
            se = ss + timedelta(days=38)
            bf = thanksgiving(y) + timedelta(days=1)
            for a_, b_, w in ((js, je, 1.0), (ss, se, 1.0),
                              (bf - timedelta(days=4), bf + timedelta(days=3), 3.0)):
                for i in range(max(0, dd(a_)), min(ND, dd(b_) + 1)):
                    sale[i] = max(sale[i], w)
            # first days of a sale are the busiest
            for a_ in (js, ss):
                for k in range(4):
                    i = dd(a_) + k
                    if 0 <= i < ND:
                        sale[i] *= 1.8
        flag = (sale > 0).astype(float)
        sess = 0.85 + 0.25 * base / base.mean() + 0.35 * flag
        out[c] = (base / base.mean(), sale / sale.mean(), sess, flag)
    return out


# ---------------------------------------------------------------- customer model
class Cust:
    pass


def make_customer(k, scen, rng, cal):
    c = Cust()
    c.k = k
    c.cid = f"fw{k:04d}"
    c.scen = scen
    c.changed = scen.startswith("chg_")
    c.cause = CAUSE.get(scen, "")
    c.country = CNAMES[int(rng.choice(len(CNAMES), p=[COUNTRIES[x][3] for x in CNAMES]))]
    tzname, c.cur, c.fx, _ = COUNTRIES[c.country]
    c.tzname = tzname
    c.tz = ZoneInfo(tzname)
    c.local_offsets = c.country not in ("UK", "US") and rng.random() < 0.3
    u = rng.random()
    if scen == "stay_life_change":
        c.business = "womenswear" if u < 0.8 else "menswear"
    elif scen == "stay_seasonal_outerwear":
        c.business = "womenswear" if u < 0.55 else "menswear"
    else:
        c.business = "womenswear" if u < 0.58 else ("menswear" if u < 0.85 else "family")
    cats = list(CATS_W if c.business != "menswear" else CATS_M)
    if c.business == "family":
        cats = cats + ["kidswear"]
    w = rng.dirichlet(np.full(len(cats), 0.6))
    if scen == "stay_seasonal_outerwear":
        w = w * 0.35
        w[cats.index("outerwear")] += 0.45
        w[cats.index("knitwear")] += 0.2
    c.cats = cats
    c.catw = w / w.sum()
    # a customer's main category: forced for campaign-related scenarios
    if scen in ("chg_competitor_lured", "stay_rival_exposed"):
        mc = MARKET_CATS[k % len(MARKET_CATS)]
        if mc == "dresses" and c.business == "menswear":
            c.business = "womenswear"
            cats = list(CATS_W)
        if mc == "kidswear" and "kidswear" not in cats:
            c.business = "family"
            cats = list(CATS_W) + ["kidswear"]
        c.cats = cats
        w = rng.dirichlet(np.full(len(cats), 0.6)) * 0.45
        w[cats.index(mc)] += 0.55
        c.catw = w / w.sum()
    c.main_cat = c.cats[int(np.argmax(c.catw))]
    # rhythm and basket
    c.gap = float(np.clip(rng.lognormal(math.log(42), 0.5), 12, 150))
    c.sale_aff = float(np.clip(rng.beta(1.3, 3.0), 0, 0.9))
    if scen == "stay_sale_only":
        c.sale_aff = float(rng.uniform(0.92, 0.99))
        c.gap = float(np.clip(rng.lognormal(math.log(70), 0.35), 40, 150))
    c.items_mu = float(rng.uniform(0.8, 3.5))
    c.item_eur = float(np.clip(rng.lognormal(math.log(38), 0.45), 12, 200))
    c.ret_p = float(np.clip(rng.beta(3.0, 6.5), 0.05, 0.6))
    if scen == "chg_serial_returner":
        c.ret_p = float(rng.uniform(0.6, 0.82))
        c.items_mu = float(rng.uniform(3.0, 5.5))
        c.gap = float(np.clip(rng.lognormal(math.log(24), 0.3), 12, 45))
    c.sess_rate = float(np.clip(rng.lognormal(math.log(0.13), 0.55), 0.03, 0.9))
    c.pages_mu = float(rng.uniform(2.0, 6.0))
    c.app_share = float(np.clip(rng.beta(1.2, 2.5), 0, 0.95))
    c.web_login_p = float(rng.uniform(0.15, 0.55))
    c.peak_hour = float(np.clip(rng.normal(20.3, 1.4), 17.0, 23.0))
    c.day_hour_p = float(rng.uniform(0.15, 0.45))
    c.ms_p = 0.04
    c.sv_mode = int(rng.choice(3))  # schema_version: always / half / never
    c.bg_complaint_p = 0.012
    base, sale, sess, flag = cal[c.country]
    c.flag = flag
    a = c.sale_aff
    c.ord_w = (1 - a) * base + a * sale
    c.sess_w = sess * (1 + 0.6 * a * flag)
    if scen == "stay_sale_only":
        c.sess_w = sess * np.where(flag > 0, 1.8, 0.55)
    if scen == "stay_seasonal_outerwear":
        m = np.array([day_date(i).month for i in range(ND)])
        cold = np.isin(m, [9, 10, 11, 12, 1])
        c.ord_w = c.ord_w * np.where(cold, 2.1, 0.25)
        c.sess_w = c.sess_w * np.where(cold, 1.5, 0.5)
    c.sess_mult = np.ones(ND)
    c.ord_mult = np.ones(ND)
    c.val_mult = np.ones(ND)
    c.app_d = np.full(ND, c.app_share)
    c.pages_mult = np.ones(ND)
    c.kids_share = np.zeros(ND)
    c.blocked_cat = None  # category dropped from some day
    c.blocked_from = ND
    c.stop = ND  # no events from this day (leavers)
    c.forced_orders = []  # (day, value mult, items, note)
    c.complaints = []  # list of lists (ts, status, category, severity)
    c.extra_pages = []  # (day, [pages]) sessions with given pages
    c.change_at = None
    c.shift_at = None
    c.decline_end = None
    c.notes = {}
    c.no_order_until = -1
    c.orders_only_in_sales = False
    # holidays: 1-2 per year without any activity (app glances at most)
    for y in (2023, 2024, 2025):
        for _ in range(int(rng.integers(1, 3))):
            if rng.random() < 0.7:
                st = dd(date(y, 7, 1)) + int(rng.integers(0, 55))
            else:
                st = dd(date(y, 1, 1)) + int(rng.integers(0, 300))
            ln = int(rng.integers(7, 19))
            if 0 <= st < ND:
                c.sess_mult[st:st + ln] *= 0.08
                c.ord_mult[st:st + ln] = 0
    return c


def pick_day(rng, a, b):
    return dd(a) + int(rng.integers(0, dd(b) - dd(a) + 1))


def apply_scenario(c, rng):
    s = c.scen
    n = ND
    if s == "stay_regular":
        pass
    elif s == "stay_sale_only":
        c.notes["pattern"] = "orders almost only in sales"
    elif s == "stay_seasonal_outerwear":
        c.notes["pattern"] = "orders Sep-Jan x2.1, Feb-Aug x0.25"
    elif s == "stay_life_change":
        d = pick_day(rng, date(2024, 1, 8), date(2024, 12, 15))
        c.shift_at = d
        pause = int(rng.integers(21, 45))
        c.sess_mult[d:d + pause] *= 0.5
        c.ord_mult[d:d + pause] *= 0.5
        kids = float(rng.uniform(0.55, 0.8))
        c.kids_share = np.where(np.arange(n) >= d, kids, 0.0)
        c.val_mult[d:] *= float(rng.uniform(0.7, 0.85))
        c.blocked_cat = "dresses" if "dresses" in c.cats else None
        c.blocked_from = d
        c.peak_hour = 21.5
        c.extra_pages.append((d - int(rng.integers(20, 60)), ["/c/maternity", "/p/maternity/mt-" + str(int(rng.integers(100, 999)))]))
        c.notes.update(kids_share=round(kids, 2), pause_days=pause)
    elif s == "stay_app_shift":
        d = pick_day(rng, date(2024, 1, 8), date(2025, 1, 31))
        c.shift_at = d
        ln = int(rng.integers(14, 35))
        c.app_share = float(rng.uniform(0.05, 0.3))
        c.app_d[:] = c.app_share
        c.app_d[d:] = 0.95
        c.app_d[d:d + ln] = np.linspace(c.app_share, 0.95, len(c.app_d[d:d + ln]))
        c.sess_mult[d:] *= 1.35
        c.extra_pages.append((d - 1, ["/app/download", "/help/app"]))
        c.notes.update(app_before=round(c.app_share, 2), ramp_days=ln)
    elif s == "stay_wardrobe_pause":
        d = pick_day(rng, date(2024, 1, 8), date(2024, 10, 31))
        c.shift_at = d
        mult = float(rng.uniform(1.0, 1.3))
        nit = int(rng.integers(8, 16))
        c.forced_orders.append((d, mult, nit, "wardrobe"))
        pause = int(rng.integers(120, 220))
        c.ord_mult[d + 1:d + pause] = 0
        c.sess_mult[d + 1:d + pause] *= float(rng.uniform(0.2, 0.4))
        c.notes.update(big_items=nit, price_mult=round(mult, 2), pause_days=pause)
    elif s == "stay_complaint_resolved":
        d = pick_day(rng, date(2024, 1, 8), date(2025, 2, 28))
        c.shift_at = d
        t = d
        for j in range(int(rng.integers(1, 4))):
            kind = rng.choice(["sizing", "quality", "late_delivery", "refund_delay"])
            c.complaints.append(complaint_life(c, rng, t, kind, resolved=True))
            t += int(rng.integers(20, 90))
            if t >= n - 30:
                break
        c.notes["complaints"] = len(c.complaints)
    elif s == "stay_rival_exposed":
        cat, kind, st, ln, stg = STRONG_BY_CAT[c.main_cat]
        d = dd(st)
        c.shift_at = d
        e = d + (ln or 40)
        c.sess_mult[d:e] *= 1.3
        c.ord_mult[d:e] *= 0.4
        c.notes.update(campaign=f"{cat}@{st}")
    elif s == "chg_refund_complaint":
        o = pick_day(rng, date(2023, 12, 1), date(2024, 11, 30))
        c.forced_orders.append((o, 1.4, 0, "returned_all"))
        r = o + int(rng.integers(8, 15))
        c.ret_day = r
        cd = r + int(rng.integers(14, 29))
        ch_ts = float(round(ts_of(cd, float(rng.uniform(9, 21)))))
        c.change_at_ts = ch_ts
        c.complaints.append(complaint_life(c, rng, cd, "refund_delay", resolved=False, t0=ch_ts))
        t = cd
        for j in range(int(rng.integers(0, 3))):
            t += int(rng.integers(7, 25))
            c.complaints.append(complaint_life(c, rng, t, rng.choice(["refund_delay", "quality", "late_delivery"]), resolved=False))
        last_c = t
        for x in range(cd, min(n, last_c + 20)):
            if rng.random() < 0.15:
                c.extra_pages.append((x, ["/account/returns", "/help/refund-status"]))
        c.ord_mult *= ramp(n, cd, int(rng.integers(10, 35)), 0.0)
        c.sess_mult *= ramp(n, last_c, int(rng.integers(40, 110)), 0.15)
        c.val_mult *= ramp(n, cd, 1, 0.8)
        c.stop = min(last_c + int(rng.integers(35, 130)), dd(date(2025, 5, 10)))
        c.notes.update(refund_order_day=str(day_date(o)), complaints=len(c.complaints))
    elif s == "chg_trade_down":
        d = pick_day(rng, date(2024, 1, 8), date(2024, 9, 30))
        c.change_at = d
        lo = float(rng.uniform(0.3, 0.5))
        vr = int(rng.integers(45, 90))
        c.val_mult *= ramp(n, d, vr, lo)
        p1 = int(rng.integers(90, 180))
        fr = int(rng.integers(60, 120))
        c.ord_mult *= ramp(n, d + p1, fr, 0.0)
        c.sess_mult *= ramp(n, d, p1, 0.75) * ramp(n, d + p1, fr + 30, 0.1)
        c.stop = min(d + p1 + fr + int(rng.integers(20, 60)), dd(date(2025, 5, 10)))
        c.items_mu_after = max(0.6, c.items_mu * 0.6)
        c.notes.update(value_to=round(lo, 2), value_ramp=vr, freq_from_day=p1, freq_ramp=fr)
    elif s == "chg_competitor_lured":
        cat, kind, st, ln, stg = STRONG_BY_CAT[c.main_cat]
        d = dd(st)
        c.change_at = d
        lag = int(rng.integers(0, 8))
        c.blocked_cat = cat
        c.blocked_from = d + lag
        c.sess_mult *= ramp(n, d + lag, int(rng.integers(10, 22)), float(rng.uniform(0.2, 0.35)))
        c.ord_mult *= ramp(n, d + lag, int(rng.integers(60, 150)), 0.0, 0.5)
        c.stop = min(d + int(rng.integers(120, 200)), dd(date(2025, 5, 10)))
        c.extra_pages.append((d + lag, [f"/c/{cat}", f"/sale/{cat}"]))
        c.notes.update(campaign=f"{cat}@{st}", lag=lag)
    elif s == "chg_slow_drift":
        d = pick_day(rng, date(2024, 1, 8), date(2024, 8, 31))
        c.change_at = d
        ln = int(rng.integers(150, 270))
        c.sess_mult *= ramp(n, d, ln, float(rng.uniform(0.05, 0.1)))
        c.ord_mult *= ramp(n, d, ln, 0.08)
        c.val_mult *= ramp(n, d, ln, 0.8)
        c.stop = min(d + ln + int(rng.integers(0, 30)), dd(date(2025, 5, 10)))
        c.notes.update(ramp_days=ln)
    elif s == "chg_abrupt":
        d = pick_day(rng, date(2024, 1, 15), date(2025, 3, 31))
        c.stop = d + 1
        c.abrupt_day = d
        if rng.random() < 0.3:
            c.extra_pages.append((d, ["/account/settings", "/account/newsletter/unsubscribe", "/account/close"]))
        c.notes["stop_day"] = str(day_date(d))
    elif s == "chg_serial_returner":
        d = dd(POLICY[c.country])
        c.change_at = d
        c.extra_pages.append((d + int(rng.integers(0, 10)), ["/help/returns", "/help/return-fees"]))
        k = int(rng.integers(30, 90))
        c.ord_mult *= ramp(n, d, k, 0.0, 0.6)
        c.ret_after = float(rng.uniform(0.8, 0.95))
        c.sess_mult *= ramp(n, d, k + 30, 0.3)
        c.stop = min(d + k + int(rng.integers(30, 90)), dd(date(2025, 5, 10)))
        c.notes.update(policy=str(POLICY[c.country]), ret_p=round(c.ret_p, 2), fade_days=k)
    c.sess_mult[c.stop:] = 0
    c.ord_mult[c.stop:] = 0


COMPLAINT_THEME = {"sizing": ("product", "medium"), "quality": ("product", None),
                   "late_delivery": ("logistics", None), "refund_delay": ("billing", "high")}


def complaint_life(c, rng, day, kind, resolved, t0=None):
    cat, sev = COMPLAINT_THEME[str(kind)]
    if sev is None:
        sev = str(rng.choice(["low", "medium", "high"], p=[0.2, 0.55, 0.25]))
    t = t0 if t0 is not None else ts_of(day, float(rng.uniform(8, 22)))
    ev = [(t, "opened", cat, sev, str(kind))]
    if resolved:
        if rng.random() < 0.25:
            t += 86400 * float(rng.uniform(2, 6))
            ev.append((t, "escalated", cat, sev, kind))
        t += 86400 * float(rng.uniform(1, 12))
        ev.append((t, "resolved", cat, sev, kind))
        if rng.random() < 0.15:
            t += 86400 * float(rng.uniform(2, 8))
            ev.append((t, "reopened", cat, sev, kind))
            t += 86400 * float(rng.uniform(1, 6))
            ev.append((t, "resolved", cat, sev, kind))
    else:
        u = rng.random()
        t += 86400 * float(rng.uniform(4, 12))
        ev.append((t, "escalated", cat, sev, kind))
        if u < 0.35:
            t += 86400 * float(rng.uniform(5, 15))
            ev.append((t, "resolved", cat, sev, kind))
            t += 86400 * float(rng.uniform(1, 5))
            ev.append((t, "reopened", cat, sev, kind))
    return ev


# ---------------------------------------------------------------- event emission
PAGE_CAT_PAGES = ["/c/{c}", "/c/{c}?sort=new", "/p/{c}/{sku}", "/p/{c}/{sku}", "/p/{c}/{sku}"]
OTHER_PAGES = ["/", "/", "/new-in", "/wishlist", "/search", "/lookbook", "/account"]


class Emitter:
    def __init__(self, c, rng):
        self.c = c
        self.rng = rng
        self.ev = []  # (ts, dict without event_id)
        self.sess_n = 0
        self.ord_n = 0
        self.cmp_n = 0

    def sv(self, d):
        m = self.c.sv_mode
        if m == 0 or (m == 1 and self.rng.random() < 0.5):
            d["schema_version"] = 1
        return d

    def tstr(self, ts, local=False):
        if local and self.c.local_offsets:
            return iso_local(ts, self.c.tz)
        return iso_utc(ts)

    def jitter_ms(self, ts):
        if self.rng.random() < self.c.ms_p:
            return round(ts + float(self.rng.integers(1, 1000)) / 1000.0, 3)
        return float(round(ts))

    def session_start(self, day, evening=True):
        c, rng = self.c, self.rng
        d = day_date(day)
        if rng.random() < c.day_hour_p:
            h = float(rng.uniform(7.0, 18.0))
        else:
            h = float(np.clip(rng.normal(c.peak_hour, 1.3), 6.0, 23.95))
        local = datetime(d.year, d.month, d.day, int(h), int((h % 1) * 60), int(rng.integers(0, 60)), tzinfo=c.tz)
        return local.timestamp()

    def pick_cat(self, day):
        c, rng = self.c, self.rng
        day = min(day, ND - 1)
        if c.kids_share[day] > 0 and rng.random() < c.kids_share[day]:
            return "kidswear"
        w = c.catw.copy()
        if c.blocked_cat in c.cats and day >= c.blocked_from:
            w[c.cats.index(c.blocked_cat)] = 0.0
        if "outerwear" in c.cats:
            m = day_date(day).month
            w[c.cats.index("outerwear")] *= 2.2 if m in (9, 10, 11, 12, 1) else (0.3 if m in (4, 5, 6, 7, 8) else 1.0)
        w = w / w.sum()
        return c.cats[int(rng.choice(len(c.cats), p=w))]

    def pv(self, ts, page, sid, cat=None, dwell=None):
        rng = self.rng
        if dwell is None:
            med = 28 if page.startswith("/p/") else (14 if page.startswith("/c/") or page.startswith("/sale") else 9)
            dwell = float(np.clip(rng.lognormal(math.log(med), 0.8), 0.5, 1800))
        d = {"type": "page_view", "customer_id": self.c.cid, "occurred_at": None, "page": page,
             "dwell_seconds": round(dwell, 1)}
        if cat is not None:
            d["category"] = cat
        if sid is not None and rng.random() < 0.92:
            d["session_id"] = sid
        self.ev.append((self.jitter_ms(ts), self.sv(d), True))
        return ts + dwell + float(rng.uniform(1, 8))

    def login(self, ts, channel):
        rng = self.rng
        if rng.random() < 0.025:
            d = {"type": "login", "customer_id": self.c.cid, "occurred_at": None, "channel": channel, "success": False}
            self.ev.append((self.jitter_ms(ts), self.sv(d), True))
            ts += float(rng.uniform(8, 60))
        d = {"type": "login", "customer_id": self.c.cid, "occurred_at": None, "channel": channel}
        if rng.random() < 0.5:
            d["success"] = True
        self.ev.append((self.jitter_ms(ts), self.sv(d), True))
        return ts + float(rng.uniform(2, 15))

    def session(self, day, pages=None, purpose="browse", ts=None):
        """one visit; returns (ts at end, session id, channel, main category)."""
        c, rng = self.c, self.rng
        day = min(day, ND - 1)
        self.sess_n += 1
        sid = f"{c.cid}-s{self.sess_n}"
        if ts is None:
            ts = self.session_start(day)
        app = rng.random() < c.app_d[day]
        channel = "app" if app else ("web" if rng.random() < 0.97 else "other")
        lp = 0.85 if app else (0.75 if purpose == "order" else c.web_login_p)
        if rng.random() < lp:
            ts = self.login(ts, channel)
        cat = self.pick_cat(day)
        pre = "/app" if app else ""
        if pages is not None:
            for p in pages:
                pc = p.split("/")[2] if p.startswith("/c/") or p.startswith("/p/") or p.startswith("/sale/") else None
                ts = self.pv(ts, pre + p, sid, pc)
            return ts, sid, channel, cat
        mu = c.pages_mu * c.pages_mult[day] * (0.4 if app else 1.0)
        if c.flag[day] > 0:
            mu *= 1.3
        npg = int(rng.poisson(mu)) + (0 if app else 1)
        if purpose == "order":
            npg = max(npg, 1)
        for j in range(npg):
            u = rng.random()
            if j == 0 and not app and u < 0.35:
                p, pc = "/", None
            elif c.flag[day] > 0 and u < 0.3:
                p, pc = f"/sale/{cat}", cat
            elif u < 0.82:
                t = PAGE_CAT_PAGES[int(rng.integers(0, len(PAGE_CAT_PAGES)))]
                p, pc = t.format(c=cat, sku=f"{cat[:3]}-{int(rng.integers(1000, 99999))}"), cat
                if rng.random() < 0.2:
                    cat = self.pick_cat(day)
            elif u < 0.9:
                p, pc = OTHER_PAGES[int(rng.integers(0, len(OTHER_PAGES)))], None
            elif u < 0.95:
                p, pc = "/help/size-guide", cat
            else:
                p, pc = "/account/orders", None
            ts = self.pv(ts, pre + p, sid, pc)
        return ts, sid, channel, cat

    def money(self, eur):
        c = self.c
        x = eur * c.fx
        if c.cur in ("SEK", "PLN"):
            return float(max(9, round(x / 10) * 10 - 1))
        return float(max(0.95, math.floor(x) + 0.95))

    def order(self, day, vmult=1.0, items=0, note=""):
        c, rng = self.c, self.rng
        ts, sid, channel, cat = self.session(day, purpose="order")
        pre = "/app" if channel == "app" else ""
        ts = self.pv(ts, pre + "/bag", sid, None)
        ts = self.pv(ts, pre + "/checkout", sid, None)
        ts += float(rng.uniform(5, 90))
        mu = getattr(c, "items_mu_after", c.items_mu) if (c.change_at is not None and day >= c.change_at and hasattr(c, "items_mu_after")) else c.items_mu
        n = items if items else 1 + int(rng.poisson(mu))
        sale = c.flag[day] > 0
        cats = [self.pick_cat(day) for _ in range(n)]
        prices = []
        for ct in cats:
            p = c.item_eur * CAT_PRICE[ct] * float(rng.lognormal(0, 0.35)) * vmult * c.val_mult[day]
            if sale:
                p *= float(rng.uniform(0.5, 0.75))
            prices.append(self.money(max(p, 4.0)))
        amount = round(sum(prices), 2)
        main = max(set(cats), key=lambda x: (sum(pr for ct, pr in zip(cats, prices) if ct == x), x))
        self.ord_n += 1
        oid = f"{c.cid}-o{self.ord_n}"
        d = {"type": "order", "customer_id": c.cid, "occurred_at": None, "order_id": oid,
             "amount": amount, "currency": c.cur, "items": n, "category": main}
        if rng.random() < 0.8:
            d["status"] = "placed"
        self.ev.append((self.jitter_ms(ts), self.sv(d), False))
        self.orders.append((day, ts, amount))
        # cancellation
        if rng.random() < 0.02 and note == "":
            ct = ts + float(rng.uniform(600, 8 * 3600))
            self.ev.append((self.jitter_ms(ct), self.sv({"type": "order", "customer_id": c.cid, "occurred_at": None,
                                                        "order_id": oid, "amount": amount, "currency": c.cur,
                                                        "status": "cancelled", "items": n, "category": main}), False))
            return
        # delivery tracking visit
        if rng.random() < 0.3:
            self.session(day + int(rng.integers(1, 4)), pages=["/account/orders", f"/account/orders/{oid}"])
        # returns
        rp = c.ret_p
        pol = dd(POLICY[c.country])
        if day >= pol:
            rp = getattr(c, "ret_after", rp * 0.85)
        if note == "returned_all":
            rp = 1.0
        if note == "returned_all" or rng.random() < rp * min(1.0, 0.75 + 0.1 * n):
            full = note == "returned_all" or n == 1 or rng.random() < 0.35
            k = n if full else int(rng.integers(1, n))
            idx = rng.choice(n, size=k, replace=False)
            ramt = round(sum(prices[i] for i in idx), 2)
            rd = day + int(rng.integers(2, 10))
            self.session(rd, pages=["/account/returns", f"/account/returns/{oid}"])
            rts = ts + 86400 * (float(rng.uniform(8, 14)) if note == "returned_all" else float(rng.uniform(9, 28)))
            if note == "returned_all":
                rts = ts_of(day, 0) + 86400 * (self.ret_day_override - day) + 3600 * float(rng.uniform(8, 18))
            self.ev.append((self.jitter_ms(rts), self.sv({"type": "order", "customer_id": c.cid, "occurred_at": None,
                                                         "order_id": oid, "amount": ramt, "currency": c.cur,
                                                         "status": "returned", "items": k, "category": main}), False))
            self.returns.append(rts)
        # background complaints
        if c.scen not in ("chg_refund_complaint",) and rng.random() < c.bg_complaint_p:
            kind = str(rng.choice(["sizing", "quality", "late_delivery", "refund_delay"]))
            cd = day + (int(rng.integers(3, 9)) if kind == "late_delivery" else int(rng.integers(6, 30)))
            if cd < c.stop - 10:
                c.complaints.append(complaint_life(c, rng, cd, kind, resolved=True))


def simulate(c, rng):
    em = Emitter(c, rng)
    em.orders = []
    em.returns = []
    n = ND
    forced = {f[0]: f for f in c.forced_orders}
    if c.scen == "chg_refund_complaint":
        em.ret_day_override = c.ret_day
    last_o = -int(rng.uniform(0, c.gap))
    refr = min(0.4 * c.gap, 12.0)
    base_o = c.ord_w * c.ord_mult / c.gap
    base_s = c.sess_rate * c.sess_w * c.sess_mult
    extra = {}
    for d, pg in c.extra_pages:
        extra.setdefault(d, []).append(pg)
    for day in range(n):
        if day >= c.stop:
            break
        # orders
        if day in forced:
            _, vm, it, note = forced[day]
            em.order(day, vm, it, note)
            last_o = day
        else:
            t = day - last_o
            h = base_o[day] * min(1.0, (t / refr) ** 2) * 1.08
            if rng.random() < h:
                if rng.random() < 0.55:  # research visit(s) in the days before
                    em.session(max(0, day - int(rng.integers(1, 6))))
                em.order(day)
                last_o = day
        # browsing sessions
        k = int(rng.poisson(base_s[day]))
        for _ in range(k):
            em.session(day)
        for pg in extra.get(day, []):
            if day < c.stop:
                em.session(day, pages=pg)
    # complaints: each complaint sits after a help/contact visit
    for ci, life in enumerate(c.complaints):
        em.cmp_n += 1
        cid = f"{c.cid}-c{em.cmp_n}"
        t0 = life[0][0]
        day0 = int((t0 - T0) // 86400)
        if day0 >= n:
            continue
        if rng.random() < 0.7:
            em.session(day0, pages=["/help/contact", "/help/contact/form"],
                       ts=t0 - float(rng.uniform(200, 900)))
        for (t, st, cat, sev, kind) in life:
            d = {"type": "complaint", "customer_id": c.cid, "occurred_at": None, "complaint_id": cid,
                 "status": st, "category": cat, "severity": sev}
            em.ev.append((float(round(t)), em.sv(d), True))
    return em


def build(seed, scale):
    cal = calendars()
    master = np.random.default_rng(seed)
    plan = []
    for s, k in STAYERS:
        plan += [s] * int(round(k * scale))
    for s, k, _ in LEAVERS:
        plan += [s] * int(round(k * scale))
    order = master.permutation(len(plan))
    plan = [plan[i] for i in order]
    custs, events = [], []
    for k, scen in enumerate(plan, start=1):
        rng = np.random.default_rng([seed, k])
        c = make_customer(k, scen, rng, cal)
        apply_scenario(c, rng)
        em = simulate(c, rng)
        evs = [e for e in em.ev if T0 <= e[0] <= TEND]
        if c.changed:
            lim = ts_of(c.stop) if c.stop < ND else TEND
            lim = min(lim, EXIT_LIMIT)
            evs = [e for e in evs if e[0] < lim]
        evs.sort(key=lambda e: e[0])
        # ensure strictly increasing instants within a customer (same-second collisions)
        out = []
        prev = None
        for j, (ts, d, loc) in enumerate(evs):
            if prev is not None and ts <= prev:
                ts = prev + 1.0
            prev = ts
            d["event_id"] = f"{c.cid}-e{j + 1:06d}"
            d["occurred_at"] = em.tstr(ts, loc)
            out.append((ts, c.k, j, d))
        c.events = out
        c.orders = [(int((ts - T0) // 86400), ts, d["amount"]) for ts, _, _, d in out
                    if d["type"] == "order" and d.get("status", "placed") == "placed"]
        custs.append(c)
        events += out
    # market events
    mk = market_events(master)
    events += mk
    events.sort(key=lambda e: (round(e[0] * 1000), e[1], e[2]))
    return custs, events, mk


def market_events(rng):
    out = []
    cats = MARKET_CATS + ["tops", "trousers", "knitwear"]
    raw = []
    for cat in cats:
        t = int(rng.integers(0, 60))
        while t < ND - 5:
            kind = str(rng.choice(["competitor_promotion", "competitor_price_cut", "competitor_launch"], p=[0.6, 0.3, 0.1]))
            ln = None if kind == "competitor_launch" else int(rng.integers(3, 15))
            raw.append((t, cat, kind, ln, round(float(rng.uniform(0.1, 0.5)), 2)))
            t += int(rng.integers(40, 100))
    # rivals' Black Friday weeks: every market category
    for y in (2023, 2024):
        bf = dd(thanksgiving(y)) + 1
        for cat in MARKET_CATS:
            raw.append((bf - int(rng.integers(3, 8)), cat, "competitor_promotion", int(rng.integers(6, 12)),
                        round(float(rng.uniform(0.35, 0.6)), 2)))
    for cat, kind, st, ln, stg in STRONG:
        raw.append((dd(st), cat, kind, ln, stg))
    raw.sort(key=lambda r: (r[0], r[1]))
    for j, (t, cat, kind, ln, stg) in enumerate(raw):
        ts = ts_of(t)
        d = {"type": "market_event", "event_id": f"mkt-{j + 1:04d}", "occurred_at": iso_utc(ts), "kind": kind,
             "category": cat, "strength": stg}
        if j % 3 == 0:
            d["schema_version"] = 1
        if ln is not None:
            d["ends_at"] = iso_utc(ts + 86400 * ln)
        elif j % 2 == 0:
            d["ends_at"] = None
        out.append((ts, 0, j, d))
    return out


def fmt_t(ts):
    return iso_utc(ts) if ts is not None else ""


def truth_rows(custs):
    full, ev = [], []
    for c in custs:
        evs = c.events
        first, last = evs[0][0], evs[-1][0]
        placed = c.orders
        if c.scen == "chg_abrupt":
            c.change_at_ts = last
        elif c.scen == "chg_refund_complaint":
            pass
        elif c.change_at is not None:
            c.change_at_ts = ts_of(c.change_at)
        else:
            c.change_at_ts = None
        ref = c.change_at_ts if c.changed else None
        days_ = sorted({o[0] for o in placed if ref is None or o[1] < ref})
        gaps = np.diff(days_)
        usual = float(np.median(gaps)) if len(gaps) else round(c.gap, 1)
        last_order = placed[-1][1] if placed else None
        if c.changed:
            dec_end = last if c.scen == "chg_abrupt" else last_order
        else:
            dec_end = None
        notes = dict(country=c.country, gap=round(c.gap, 1), sale_aff=round(c.sale_aff, 2),
                     item_eur=round(c.item_eur, 1), items_mu=round(c.items_mu, 2), ret_p=round(c.ret_p, 2),
                     sess_per_day=round(c.sess_rate, 3), app_share=round(c.app_share, 2),
                     local_offsets=int(c.local_offsets))
        notes.update(c.notes)
        r = dict(customer_id=c.cid, scenario=c.scen, changed=int(c.changed), churned=int(c.changed),
                 cause=c.cause, change_at=fmt_t(c.change_at_ts) if c.changed else "",
                 shift_at=fmt_t(ts_of(c.shift_at)) if c.shift_at is not None else "",
                 last_active_at=evs[-1][3]["occurred_at"], first_event_at=evs[0][3]["occurred_at"],
                 decline_end_at=fmt_t(dec_end), full_exit=int(c.changed), last_order_at=fmt_t(last_order),
                 usual_gap_days=f"{usual:.1f}", business=c.business, currency=c.cur, currency_after="",
                 tz=c.tzname, tz_after="", main_category=c.main_cat, n_events=len(evs), n_orders=len(placed),
                 notes="; ".join(f"{k}={v}" for k, v in notes.items()))
        # last_active_at as UTC to the millisecond
        r["last_active_at"] = iso_utc(last)
        r["first_event_at"] = iso_utc(first)
        full.append(r)
        ev.append(dict(customer_id=c.cid, churned=r["churned"], persona=c.scen, decline_started_at=r["change_at"],
                       last_active_at=r["last_active_at"], cause=c.cause, usual_gap_days=r["usual_gap_days"]))
    return full, ev


# ---------------------------------------------------------------- validation
RFC = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")


def T(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def validate(out):
    import jsonschema
    sdir = os.path.join(REPO, "schemas", "json")
    names = {"login": "login", "page_view": "page-view", "order": "order", "complaint": "complaint",
             "market_event": "market-event"}
    vals = {}
    for t, f in names.items():
        sch = json.load(open(os.path.join(sdir, f + ".schema.json")))
        vals[t] = jsonschema.Draft202012Validator(sch, format_checker=jsonschema.FormatChecker())
    probs = []
    ids = set()
    prev = None
    per = {}
    n = 0
    with open(os.path.join(out, "events.jsonl")) as f:
        for ln, line in enumerate(f, 1):
            d = json.loads(line)
            n += 1
            t = d.pop("type")
            errs = list(vals[t].iter_errors(d))
            if errs:
                probs.append(f"line {ln}: {errs[0].message}")
            for key in ("occurred_at", "ends_at"):
                v = d.get(key)
                if v is not None:
                    if not RFC.match(v):
                        probs.append(f"line {ln}: {key} not RFC 3339: {v}")
                    try:
                        T(v)
                    except ValueError:
                        probs.append(f"line {ln}: bad {key} {v}")
            if d["event_id"] in ids:
                probs.append(f"line {ln}: duplicate event_id {d['event_id']}")
            ids.add(d["event_id"])
            ts = T(d["occurred_at"])
            if prev is not None and ts < prev:
                probs.append(f"line {ln}: out of time order")
            prev = ts
            if t == "market_event" and d.get("ends_at") is not None and T(d["ends_at"]) <= ts:
                probs.append(f"line {ln}: ends_at not after occurred_at")
            if t != "market_event":
                p = per.setdefault(d["customer_id"], [0, None, None])
                p[0] += 1
                p[2] = ts
                if p[1] is None:
                    p[1] = ts
    lo = datetime(2023, 1, 1, tzinfo=UTC)
    exit_lim = datetime(2025, 5, 15, tzinfo=UTC)
    for r in csv.DictReader(open(os.path.join(out, "truth_full.csv"))):
        cid = r["customer_id"]
        p = per.get(cid)
        if p is None:
            probs.append(f"{cid}: no events")
            continue
        if T(r["last_active_at"]) != p[2]:
            probs.append(f"{cid}: last_active_at {r['last_active_at']} != {p[2]}")
        if T(r["first_event_at"]) != p[1]:
            probs.append(f"{cid}: first_event_at mismatch")
        if int(r["n_events"]) != p[0]:
            probs.append(f"{cid}: n_events mismatch")
        if r["churned"] != r["changed"]:
            probs.append(f"{cid}: churned != changed")
        if r["changed"] == "1":
            if not r["cause"] or not r["change_at"]:
                probs.append(f"{cid}: changed without cause/change_at")
            elif not (lo <= T(r["change_at"]) <= T(r["last_active_at"])):
                probs.append(f"{cid}: change_at outside [2023-01-01, last_active_at]")
            if r["full_exit"] == "1" and T(r["last_active_at"]) >= exit_lim:
                probs.append(f"{cid}: full-exit leaver active after 2025-05-15")
            if r["change_at"] and T(r["change_at"]) < datetime(2024, 1, 1, tzinfo=UTC):
                probs.append(f"{cid}: change before 2024-01")
        else:
            if r["cause"] or r["change_at"]:
                probs.append(f"{cid}: stayer with cause/change_at")
            if r["shift_at"] and T(r["shift_at"]) < lo:
                probs.append(f"{cid}: shift_at before 2023-01-01")
    print(f"validate: {n} events checked, {len(probs)} problems")
    for p in probs[:30]:
        print("  " + p)
    return not probs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1010)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", default="out/outside10/data")
    ap.add_argument("--validate", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    custs, events, mk = build(a.seed, a.scale)
    with open(os.path.join(a.out, "events.jsonl"), "w") as f:
        for _, _, _, d in events:
            f.write(json.dumps(d, separators=(",", ":")) + "\n")
    full, ev = truth_rows(custs)
    with open(os.path.join(a.out, "truth_full.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TRUTH_COLS)
        w.writeheader()
        w.writerows(full)
    with open(os.path.join(a.out, "truth_eval.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=EVAL_COLS)
        w.writeheader()
        w.writerows(ev)
    # counts
    from collections import Counter
    cnt = Counter()
    for _, _, _, d in events:
        t = d["type"]
        if t == "order":
            cnt["order:" + d.get("status", "placed")] += 1
        elif t == "complaint":
            cnt["complaint:" + d["status"]] += 1
        elif t == "login":
            cnt["login" + ("" if d.get("success", True) else ":failed")] += 1
        else:
            cnt[t] += 1
    nch = sum(c.changed for c in custs)
    print(f"customers {len(custs)}, changed {nch} ({100 * nch / len(custs):.1f} %), events {len(events)}")
    print("  " + ", ".join(f"{k} {v}" for k, v in sorted(cnt.items())))
    print("  currencies " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(c.cur for c in custs).items())))
    print("  scenarios " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(c.scen for c in custs).items())))
    if a.validate:
        ok = validate(a.out)
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
