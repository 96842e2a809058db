#!/usr/bin/env python3
"""A second outside population: an independent test population for Churnwatch's churn warnings.

Written from the product brief and the event contracts only (see README.md).  Writes into
--out DIR:

  events.jsonl     one event per line (login, page_view, order, complaint, market_event),
                   contract version 1, sorted by occurred_at
  truth_full.csv   per customer: scenario, whether and when behaviour changes, cause, ...
  truth_eval.csv   the same, in the layout of `churnwatch evaluate --truth`

Usage: python gen.py --out DIR [--seed 11] [--scale 1.0] [--competitor-cause drift]
Deterministic: the same seed and options give the same files.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from datetime import datetime, timezone

import numpy as np

DAY = 86400.0
HOUR = 3600.0


def T(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=timezone.utc).timestamp()


START = T(2023, 1, 1)
END = T(2025, 7, 1)            # exclusive: the period is 2023-01-01 .. 2025-06-30
CH_LO = T(2024, 4, 1)          # change dates lie in [CH_LO, CH_HI)
CH_HI = T(2025, 1, 1)


def iso(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dt(t):
    return datetime.fromtimestamp(t, timezone.utc)


def day0(t):
    return math.floor(t / DAY) * DAY


def weekday(t):                # Monday = 0
    return int((t // DAY + 3) % 7)


SEASON = {1: .9, 2: .9, 3: 1.0, 4: 1.0, 5: 1.0, 6: .95, 7: .85, 8: .8, 9: 1.0, 10: 1.0, 11: 1.2, 12: 1.3}
SEASON_B2B = {1: .95, 2: 1.0, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.0, 7: .9, 8: .75, 9: 1.05, 10: 1.0, 11: 1.0, 12: .9}


def season(t):
    return SEASON[dt(t).month]


def season_b2b(t):
    return SEASON_B2B[dt(t).month]


CONS_CATS = ["electronics", "fashion", "home", "beauty", "sports", "toys", "grocery", "books", "garden", "pet"]
B2B_CATS = ["office_supplies", "packaging", "cleaning", "industrial"]
ALL_CATS = CONS_CATS + B2B_CATS
# currency -> (probability among "mixed" customers, amount multiplier vs EUR, decimals)
CURRENCIES = {"EUR": (.82, 1.0, 2), "GBP": (.07, .86, 2), "USD": (.05, 1.08, 2), "SEK": (.03, 11.2, 2),
              "JPY": (.015, 160.0, 0), "CHF": (.015, .95, 2)}

# Competitor promotions aimed at by the drift scenario (category, start, days or None, kind, strength)
PROMO_PLAN = [
    ("electronics", T(2024, 5, 20, 6), 14, "competitor_promotion", .85),
    ("fashion", T(2024, 6, 24, 6), 21, "competitor_promotion", .8),
    ("beauty", T(2024, 8, 12, 6), 42, "competitor_price_cut", .75),
    ("sports", T(2024, 9, 16, 6), 14, "competitor_promotion", .8),
    ("home", T(2024, 10, 7, 6), None, "competitor_price_cut", .7),
    ("electronics", T(2024, 11, 4, 6), 28, "competitor_promotion", .95),
]
PROMO_FOLLOWUPS = [  # a second push in the same category a few weeks later
    ("fashion", T(2024, 8, 5, 6), 60, "competitor_price_cut", .55),
    ("sports", T(2024, 10, 21, 6), None, "competitor_launch", .5),
]
PROMO_CATS = sorted({p[0] for p in PROMO_PLAN})

# name -> (changed, cause, count at scale 1)
SCENARIOS = {
    "chg_b2b_slowdown": (1, "purchase_frequency", 20),
    "chg_bimonthly_fade": (1, "purchase_frequency", 20),
    "chg_highvalue_step": (1, "order_value", 20),
    "chg_basket_slide": (1, "order_value", 20),
    "chg_weekly_disengage": (1, "activity", 20),
    "chg_complaint_burst": (1, "complaints", 20),
    "chg_service_escalation": (1, "complaints", 20),
    "chg_drift_promo": (1, "drift", 20),      # cause label set by --competitor-cause
    "chg_stop_daily": (1, "silence", 20),
    "chg_stop_monthly": (1, "silence", 20),
    "chg_stop_foreign": (1, "silence", 20),
    "stay_steady": (0, "", 70),
    "stay_b2b_monthend": (0, "", 60),
    "stay_stockup": (0, "", 60),
    "stay_gift": (0, "", 60),
    "stay_channel_switch": (0, "", 60),
    "stay_complaint_resolved": (0, "", 60),
    "stay_price_sensitive": (0, "", 60),
    "stay_holiday": (0, "", 60),
    "stay_promo_exposed": (0, "", 60),
}


def lin(t, a, b, va, vb):
    """Piecewise-linear ramp: va before a, vb after b."""
    if t <= a:
        return va
    if t >= b:
        return vb
    return va + (vb - va) * (t - a) / (b - a)


class Cust:
    def __init__(self, G, scenario):
        self.G = G
        r = self.rng = G.rng
        self.cid = f"u{next(G.ids):05d}"
        self.scenario = scenario
        self.changed, self.cause, _ = SCENARIOS[scenario]
        if scenario == "chg_drift_promo":
            self.cause = G.competitor_cause
        self.ev = []                     # (t, type, fields)
        self.breaks = []                 # [(a, b)) with no events at all
        self.stop = END                  # no events at or after
        self.change_at = None
        self.change_plus_1s_of_last = False
        self.notes = []
        self.n_ord = self.n_cmp = self.n_ses = 0
        self.t0 = START + r.uniform(0, 40) * DAY     # first possible activity
        # taste
        self.prof = str(r.choice(["evening", "evening", "evening", "lunch", "morning", "night", "spread"]))
        self.weekdays_only = False
        self.set_currency("EUR")
        self.cat_main = str(r.choice(CONS_CATS))
        others = [c for c in CONS_CATS if c != self.cat_main]
        self.cats_other = [str(c) for c in r.choice(others, size=int(r.integers(1, 4)), replace=False)]
        self.p_main = r.uniform(.55, .85)
        self.dwell_med = float(np.exp(r.normal(np.log(35), .45)))
        self.pages_mean = r.uniform(2.0, 4.5)
        self.p_app0 = float(r.choice([0.0, 0.05, 0.5, 0.85, 0.95]))
        self.p_app_fn = None
        self.p_return = r.uniform(.01, .07) * (2.5 if self.cat_main == "fashion" else 1.0)
        self.p_cancel = r.uniform(.005, .03)
        self.unit = float(np.exp(r.normal(np.log(30), .5)))
        self.pvm = lambda t: 1.0      # page views per session multiplier
        self.dwm = lambda t: 1.0      # dwell multiplier
        self.app_pv, self.app_dw = 1.0, 1.0
        self.reorder_style = False
        self.shift_breaks = False
        self.placed = []                 # (t, order_id, amount, items, category) of placed orders

    # ---------- helpers
    def set_currency(self, cur):
        self.currency = cur
        self.cur_mult = CURRENCIES[cur][1]
        self.cur_dec = CURRENCIES[cur][2]

    def mixed_currency(self):
        names = list(CURRENCIES)
        p = np.array([CURRENCIES[c][0] for c in names])
        self.set_currency(str(self.rng.choice(names, p=p / p.sum())))

    def ok(self, t):
        if t < START or t >= self.stop or t < self.t0 - DAY:
            return False
        for a, b in self.breaks:
            if a <= t < b:
                return False
        return True

    def add(self, t, typ, **f):
        self.ev.append((t, typ, f))

    def tod(self):
        r = self.rng
        p = self.prof
        u = r.random()
        if p == "office":
            h = r.normal(10.3, 1.8) if u < .75 else r.normal(14.5, 1.4)
            h = min(max(h, 7.3), 18.7)
        elif p == "evening":
            h = r.normal(20.3, 1.4) if u < .6 else (r.normal(12.7, .9) if u < .85 else r.uniform(7, 23.8))
        elif p == "lunch":
            h = r.normal(12.6, 1.0) if u < .5 else (r.normal(18.5, 2.0) if u < .85 else r.uniform(7, 23.8))
        elif p == "morning":
            h = r.normal(7.4, .9) if u < .45 else (r.normal(12.5, 1.2) if u < .7 else r.normal(21, 1.5))
        elif p == "night":
            h = r.normal(23.2, 1.3) if u < .55 else r.uniform(9, 24)
        else:
            h = r.uniform(6.5, 23.9)
        return (h % 24) * HOUR + r.uniform(0, 59)

    def place(self, t):
        """Put a day-level time at a time of day fitting the customer (weekdays for B2B)."""
        d = day0(t)
        if self.weekdays_only:
            wd = weekday(d)
            if wd >= 5:
                d += (7 - wd) * DAY if self.rng.random() < .75 else -(wd - 4) * DAY
        return d + self.tod()

    def cat(self):
        r = self.rng
        return self.cat_main if r.random() < self.p_main else str(r.choice(self.cats_other))

    def p_app(self, t):
        return self.p_app_fn(t) if self.p_app_fn else self.p_app0

    def renewal(self, t0, t1, mean_days, shape, mult=None, first=None):
        """Gamma renewal process in days; mult(t) scales the rate (0 pauses)."""
        r = self.rng
        out = []
        t = t0 + (first if first is not None else r.uniform(0, 1) * mean_days) * DAY
        while t < t1:
            out.append(t)
            m = mult(t) if mult else 1.0
            while m <= .02:
                t += DAY
                if t >= t1:
                    return out
                m = mult(t)
            t += r.gamma(shape, mean_days / shape) * DAY / m
        return out

    def amount(self, med, sigma, factor=1.0):
        a = med * factor * float(np.exp(self.rng.normal(0, sigma))) * self.cur_mult
        return round(max(a, .5 * self.cur_mult), self.cur_dec)

    # ---------- events
    def pages(self, n, ch, order_cat=None):
        r = self.rng
        pre = "app://" if ch == "app" else "/"
        out = []

        def browse():
            c = self.cat()
            u = r.random()
            if u < .14:
                return (pre + ("home" if ch == "app" else ""), None)
            if u < .42:
                return (f"{pre}c/{c}", c)
            if u < .84:
                return (f"{pre}p/{c}/{c[:3]}-{int(r.integers(1000, 99999))}", c)
            if u < .95:
                return (f"{pre}search?q={c}+{int(r.integers(1, 60))}", c)
            return (f"{pre}account", None)

        if order_cat is None:
            return [browse() for _ in range(n)]
        n = max(n, 2)
        tail = [(f"{pre}p/{order_cat}/{order_cat[:3]}-{int(r.integers(1000, 99999))}", order_cat),
                (f"{pre}cart", None), (f"{pre}checkout", None)]
        if self.reorder_style:
            tail = [(f"{pre}account/orders/reorder", None), (f"{pre}checkout", None)]
        body = [browse() for _ in range(max(0, n - len(tail)))]
        return (body + tail)[-n:]

    def session(self, t, order_cat=None, extra_pages=None):
        """A login then 1-6 page views; returns the time the session ends."""
        r = self.rng
        self.n_ses += 1
        sid = f"s-{self.cid}-{self.n_ses:05d}"
        ch = "app" if r.random() < self.p_app(t) else "web"
        if r.random() < .01:
            ch = "other"
        if r.random() < .02:
            self.add(t - r.uniform(20, 120), "login", channel=ch, success=False)
        self.add(t, "login", channel=ch, success=True)
        pvm = self.pvm(t) * (self.app_pv if ch == "app" else 1.0)
        dwm = self.dwm(t) * (self.app_dw if ch == "app" else 1.0)
        n = int(min(6, 1 + r.poisson(max(0.0, (self.pages_mean - 1) * pvm))))
        pg = extra_pages if extra_pages else self.pages(n, ch if ch != "other" else "web", order_cat)
        cur = t + r.uniform(2, 25)
        for page, cat in pg:
            if page.endswith("checkout"):
                dw = r.uniform(20, 150)
            else:
                dw = self.dwell_med * dwm * float(np.exp(r.normal(0, .9)))
            dw = round(min(1800.0, max(1.0, dw)), 1)
            f = dict(page=page, dwell_seconds=dw, session_id=sid)
            if cat:
                f["category"] = cat
            self.add(cur, "page_view", **f)
            cur += dw + r.uniform(1, 9)
        return cur

    def browse_sessions(self, t0, t1, per_month, shape, mult=None):
        if per_month <= 0:
            return
        for x in self.renewal(t0, t1, 30.44 / per_month, shape, mult):
            self.session(self.place(x))

    def order(self, t, amount, cat=None, session=True, items=None):
        r = self.rng
        cat = cat or self.cat()
        if self.shift_breaks:            # a closed business orders right after it reopens
            for a, b in self.breaks:
                if a <= t < b:
                    t = self.place(b + r.uniform(0, 2) * DAY)
        if session:
            t = self.session(t, order_cat=cat) + r.uniform(5, 60)
        self.n_ord += 1
        oid = f"o-{self.cid}-{self.n_ord:04d}"
        if items is None:
            items = int(max(1, min(999, round(amount / self.cur_mult / self.unit * float(np.exp(r.normal(0, .3)))))))
        self.add(t, "order", order_id=oid, amount=amount, currency=self.currency, status="placed",
                 items=items, category=cat)
        self.placed.append((t, oid, amount, items, cat))
        if r.random() < self.p_cancel:
            self.add(t + r.uniform(300, 8 * HOUR), "order", order_id=oid, amount=amount, currency=self.currency,
                     status="cancelled", items=items, category=cat)
        elif r.random() < self.p_return:
            part = items > 1 and r.random() < .35
            it = int(r.integers(1, items)) if part else items
            amt = round(amount * it / items, self.cur_dec) if part else amount
            self.add(t + r.uniform(4, 28) * DAY, "order", order_id=oid, amount=amt, currency=self.currency,
                     status="returned", items=it, category=cat)
        return t

    def orders_at(self, times, med, sigma, factor=None, session=True, p_api=0.0, placed=False):
        """Orders at day-level times (placed=False: put at a time of day) or exact times; returns the
        times the orders were placed."""
        out = []
        for i, x in enumerate(times):
            f = factor(i, x) if factor else 1.0
            api = self.rng.random() < p_api
            out.append(self.order(x if placed else self.place(x), self.amount(med, sigma, f),
                                  session=session and not api))
        return out

    def complaint(self, t, category, severity, lifecycle, help_session=True):
        """lifecycle: [(seconds after t, status)], first must be (0, 'opened'). Returns False if it
        would fall into a break or after the customer stops."""
        if not all(self.ok(t + d) for d, _ in lifecycle) or t + max(d for d, _ in lifecycle) >= END:
            return False
        self.n_cmp += 1
        cid = f"c-{self.cid}-{self.n_cmp:02d}"
        if help_session:
            pre = "app://" if self.rng.random() < self.p_app(t) else "/"
            self.session(t - self.rng.uniform(120, 1500),
                         extra_pages=[(pre + "help", None), (pre + "help/contact", None)])
        for d, st in lifecycle:
            self.add(t + d, "complaint", complaint_id=cid, status=st, category=category, severity=severity)
        return True

    def quick_complaints(self, t0, t1, per_year):
        """Occasional complaints that the shop resolves quickly."""
        r = self.rng
        if per_year <= 0:
            return 0
        n = 0
        for x in self.renewal(t0, t1, 365.0 / per_year, 1.0):
            t = self.place(x)
            cat = str(r.choice(["product", "logistics", "service", "billing", "other"], p=[.35, .35, .1, .15, .05]))
            sev = str(r.choice(["low", "medium", "high"], p=[.4, .45, .15]))
            life = [(0, "opened")]
            s = 0.0
            if r.random() < .12:
                s = r.uniform(.5, 4) * HOUR
                life.append((s, "escalated"))
            s += min(60 * HOUR, max(.3 * HOUR, float(np.exp(r.normal(np.log(5 * HOUR), .9)))))
            life.append((s, "resolved"))
            if r.random() < .05:
                s += r.uniform(1, 4) * DAY
                life.append((s, "reopened"))
                s += r.uniform(2, 20) * HOUR
                life.append((s, "resolved"))
            n += self.complaint(t, cat, sev, life)
        return n

    def yearly_short_breaks(self, p_year, lo=7, hi=16, until=END):
        r = self.rng
        for y in (2023, 2024, 2025):
            if r.random() < p_year:
                a = T(y, 1, 1) + r.uniform(0, 365) * DAY
                b = a + r.uniform(lo, hi) * DAY
                if a > self.t0 + 60 * DAY and b < min(until, END - 21 * DAY):
                    self.breaks.append((a, b))

    def finish(self):
        ev = [(int(t), typ, f) for t, typ, f in self.ev if self.ok(t) and t < END]
        ev.sort(key=lambda e: e[0])
        self.final = ev


# ---------------------------------------------------------------- scenario helpers

def consumer(c, gap=(10, 60), shape=(1.5, 5), med=(20, 300), sigma=(.2, .5), browse=(1, 12), bshape=(.6, 2)):
    r = c.rng
    c.gap = float(np.exp(r.uniform(np.log(gap[0]), np.log(gap[1]))))
    c.shape = r.uniform(*shape)
    c.med = float(np.exp(r.uniform(np.log(med[0]), np.log(med[1]))))
    c.sigma = r.uniform(*sigma)
    c.browse = float(np.exp(r.uniform(np.log(browse[0]), np.log(browse[1]))))
    c.bshape = r.uniform(*bshape)


def b2b(c):
    r = c.rng
    c.prof = "office"
    c.weekdays_only = True
    c.cat_main = str(r.choice(B2B_CATS))
    c.cats_other = [x for x in B2B_CATS if x != c.cat_main][:int(r.integers(1, 4))]
    c.p_main = r.uniform(.6, .9)
    c.set_currency(str(r.choice(["EUR", "CHF", "GBP"], p=[.85, .1, .05])))
    c.p_app0 = .03
    c.pages_mean = r.uniform(2.5, 5)
    c.dwell_med = float(np.exp(r.normal(np.log(40), .35)))
    c.unit = float(np.exp(r.normal(np.log(12), .6)))
    c.p_return = r.uniform(.005, .03)
    c.p_cancel = r.uniform(.01, .04)
    c.p_api = r.uniform(.05, .4)
    c.reorder_style = r.random() < .5
    # Christmas closure every year; orders due then come after it
    c.shift_breaks = True
    for y in (2023, 2024):
        c.breaks.append((T(y, 12, 23), T(y + 1, 1, 2)))


def pick_change_order(c, times, latest=CH_HI):
    cand = [i for i, t in enumerate(times) if CH_LO <= t + DAY < min(CH_HI - HOUR, latest)]
    if not cand:
        return None
    return cand[int(c.rng.integers(len(cand)))]


def season_mult(t):
    return season(t)


def bg_complaints(c, until):
    """Background: some customers complain now and then, resolved quickly."""
    if c.rng.random() < .15:
        c.quick_complaints(c.t0, until, c.rng.uniform(.3, .8))


def browse_all(c, t1=END, mult=None):
    m = mult or season_mult
    c.browse_sessions(c.t0, t1, c.browse, c.bshape, m)


# ---------------------------------------------------------------- changed scenarios

def sc_chg_b2b_slowdown(c):
    r = c.rng
    b2b(c)
    gap0, shape = r.uniform(27, 33), r.uniform(6, 12)
    gap1 = r.uniform(80, 100)
    med, sigma = float(np.exp(r.uniform(np.log(600), np.log(3000)))), r.uniform(.2, .35)
    while True:
        old = sorted(c.place(x) for x in c.renewal(c.t0, END, gap0, shape, season_b2b))
        k = pick_change_order(c, old)
        if k is not None:
            break
    new = sorted(c.place(x) for x in c.renewal(old[k], END, gap1, shape, first=r.gamma(shape, gap1 / shape)))
    ot = c.orders_at(old[:k + 1] + [x for x in new if x > old[k] + 2 * DAY], med, sigma, p_api=c.p_api, placed=True)
    c.change_at = ot[k] + DAY
    c.browse_sessions(c.t0, END, r.uniform(6, 14), r.uniform(1.0, 2.5), season_b2b)
    bg_complaints(c, c.change_at - 30 * DAY)
    c.notes.append(f"B2B {c.cat_main} {c.currency}: order gap ~{gap0:.0f}d -> ~{gap1:.0f}d; logins unchanged")


def sc_chg_bimonthly_fade(c):
    r = c.rng
    consumer(c, gap=(55, 65), shape=(2.5, 4), med=(40, 160), sigma=(.3, .4), browse=(4, 10), bshape=(.8, 1.5))
    while True:
        old = sorted(c.place(x) for x in c.renewal(c.t0, END, c.gap, c.shape, season_mult))
        k = pick_change_order(c, old)
        if k is not None:
            break
    one = c.place(old[k] + DAY + r.uniform(75, 170) * DAY)
    ot = c.orders_at(old[:k + 1] + [one], c.med, c.sigma, placed=True)
    c.change_at = ot[k] + DAY
    browse_all(c)
    bg_complaints(c, c.change_at - 30 * DAY)
    c.notes.append(f"order gap ~{c.gap:.0f}d; after change one order {(one - old[k]) / DAY:.0f}d later then none; logins unchanged")


def sc_chg_highvalue_step(c):
    r = c.rng
    consumer(c, gap=(25, 45), shape=(3, 6), med=(1000, 1500), sigma=(.15, .22), browse=(3, 10), bshape=(.8, 1.8))
    c.cat_main = str(r.choice(["electronics", "home", "fashion"]))
    c.unit = float(np.exp(r.normal(np.log(250), .4)))
    if r.random() < .15:
        c.set_currency("USD")
    while True:
        old = sorted(c.place(x) for x in c.renewal(c.t0, END, c.gap, c.shape))
        k = pick_change_order(c, old, latest=END - 4 * c.gap * DAY)
        if k is not None and len(old) - k - 1 >= 3:
            break
    level = r.uniform(.30, .40)
    steps = [r.uniform(.58, .75)] if r.random() < .5 else [r.uniform(.6, .75), r.uniform(.42, .52)]

    def factor(i, x):
        j = i - k - 1
        if j < 0:
            return 1.0
        return steps[j] if j < len(steps) else level

    for i, x in enumerate(old):
        f = factor(i, x)
        a = c.med * f * float(np.exp(r.normal(0, c.sigma if f == 1.0 else .1)))
        if f == 1.0:
            a = min(max(a, 800), 2000)
        ot = c.order(x, round(a * c.cur_mult, 2))
        if i == k:
            c.change_at = ot + DAY
    browse_all(c)
    bg_complaints(c, c.change_at - 30 * DAY)
    c.notes.append(f"basket median {c.med:.0f} {c.currency}; after change {'/'.join(f'{s:.2f}' for s in steps)} then "
                   f"{level:.2f} of usual; same pace (gap ~{c.gap:.0f}d)")


def sc_chg_basket_slide(c):
    r = c.rng
    consumer(c, gap=(9, 16), shape=(3, 6), med=(80, 300), sigma=(.15, .25), browse=(3, 10))
    n_slide = int(r.integers(8, 11))
    rate = r.uniform(.91, .93)
    while True:
        old = sorted(c.place(x) for x in c.renewal(c.t0, END, c.gap, c.shape))
        k = pick_change_order(c, old, latest=END - 1.3 * n_slide * c.gap * DAY)
        if k is not None and len(old) - k - 1 >= n_slide + 1:
            break
    ot = c.orders_at(old, c.med, c.sigma, factor=lambda i, x: rate ** min(max(0, i - k), n_slide), placed=True)
    c.change_at = ot[k] + DAY
    browse_all(c)
    bg_complaints(c, c.change_at - 30 * DAY)
    c.notes.append(f"gap ~{c.gap:.0f}d; each order x{rate:.3f} of the previous over {n_slide} orders "
                   f"(to {rate ** n_slide:.2f}), then flat")


def sc_chg_weekly_disengage(c):
    r = c.rng
    consumer(c, gap=(6, 8), shape=(3, 6), med=(40, 120), sigma=(.2, .3), bshape=(1.2, 2.5))
    c.cat_main = str(r.choice(["grocery", "pet", "beauty", "home"]))
    c.p_main = r.uniform(.75, .9)
    logins0 = r.uniform(10, 15)
    logins1 = r.uniform(1.8, 2.8)
    browse0 = max(1.0, logins0 - 30.44 / c.gap)
    browse1 = max(.1, logins1 - 30.44 / (2 * c.gap))
    t0 = r.uniform(CH_LO, CH_HI - 14 * DAY)
    ramp = r.uniform(14, 28) * DAY
    t1 = t0 + ramp
    pv1, dw1 = r.uniform(.2, .35), r.uniform(.3, .5)
    c.change_at = t0
    c.pvm = lambda t: lin(t, t0, t1, 1.0, pv1)
    c.dwm = lambda t: lin(t, t0, t1, 1.0, dw1)
    omult = lambda t: lin(t, t0, t1, 1.0, .5)
    c.orders_at(sorted(c.renewal(c.t0, END, c.gap, c.shape, omult)), c.med, c.sigma)
    c.browse_sessions(c.t0, END, browse0, c.bshape, lambda t: lin(t, t0, t1, 1.0, browse1 / browse0))
    bg_complaints(c, t0 - 30 * DAY)
    c.notes.append(f"weekly orders (gap ~{c.gap:.1f}d) -> half rate; logins ~{logins0:.0f}/mo -> ~{logins1:.1f}/mo "
                   f"over {ramp / DAY:.0f}d; pages/session x{pv1:.2f}, dwell x{dw1:.2f}")


def sc_chg_complaint_burst(c):
    r = c.rng
    consumer(c, gap=(18, 40), shape=(2, 5), med=(40, 250), sigma=(.25, .45), browse=(3, 10))
    t0 = c.place(r.uniform(CH_LO, CH_HI - 45 * DAY))
    c.change_at = t0
    cats = [str(x) for x in r.choice(["product", "logistics", "service", "billing"], size=3, replace=False)]
    times = [t0]
    times.append(times[-1] + r.uniform(7, 21) * DAY)
    times.append(min(times[-1] + r.uniform(5, 18) * DAY, t0 + 41 * DAY))
    times = [day0(x) + c.tod() if i else x for i, x in enumerate(times)]
    times = sorted(times)
    n_open = int(r.integers(1, 3))
    never = set(int(x) for x in r.choice(3, size=n_open, replace=False))
    desc = []
    for i, (tc, cat) in enumerate(zip(times, cats)):
        sev = str(r.choice(["medium", "high"], p=[.5, .5]))
        if i in never:
            life = [(0, "opened")]
            if r.random() < .5:
                life.append((r.uniform(2, 6) * DAY, "escalated"))
            state = life[-1][1] + " (never resolved)"
        elif r.random() < .4:
            a = r.uniform(2, 6) * DAY
            life = [(0, "opened"), (a, "resolved"), (a + r.uniform(2, 8) * DAY, "reopened")]
            state = "resolved then reopened (never resolved again)"
        else:
            life = [(0, "opened"), (r.uniform(1.5, 7) * DAY, "resolved")]
            state = "resolved late"
        assert c.complaint(tc, cat, sev, life)
        desc.append(f"{cat}/{sev}:{state}")
    orders_end = t0 + r.uniform(40, 62) * DAY
    old = c.renewal(c.t0, END, c.gap, c.shape, season_mult)
    pre = [x for x in old if x < day0(t0)]
    post = c.renewal(t0, orders_end, c.gap * 1.7, c.shape, first=r.uniform(.2, 1.0) * c.gap)
    ot = c.orders_at(pre + post, c.med, c.sigma)
    # the product complaint comes with a return of the last order before it
    for tc, cat in zip(times, cats):
        prev = [p for p in c.placed if p[0] < tc]
        if cat == "product" and prev and r.random() < .7:
            t, oid, amount, items, ocat = prev[-1]
            if not any(e[1] == "order" and e[2]["order_id"] == oid and e[2]["status"] != "placed" for e in c.ev):
                c.add(tc + r.uniform(1, 5) * DAY, "order", order_id=oid, amount=amount, currency=c.currency,
                      status="returned", items=items, category=ocat)
    last_order = max(ot)
    fade_end = max(last_order, times[-1]) + r.uniform(14, 40) * DAY
    leave = r.random() < .6
    c.browse_sessions(c.t0, END, c.browse, c.bshape,
                      lambda t: season(t) * (1.0 if t < t0 else (.7 if t < fade_end else (0 if leave else .25))))
    if leave:
        c.stop = fade_end + r.uniform(0, 5) * DAY
    c.notes.append(f"3 complaints in {(times[-1] - t0) / DAY:.0f}d: {'; '.join(desc)}; orders stop "
                   f"{(last_order - t0) / DAY:.0f}d after first; " + ("then leaves entirely" if leave else "visits go on at 25%"))


def sc_chg_service_escalation(c):
    r = c.rng
    consumer(c, gap=(14, 35), shape=(2, 5), med=(30, 200), sigma=(.25, .45), browse=(3, 10))
    t0 = c.place(r.uniform(CH_LO, CH_HI - 7 * DAY))
    c.change_at = t0
    sev = "high" if r.random() < .7 else "medium"
    assert c.complaint(t0, "service", sev, [(0, "opened"), (r.uniform(.5, 3) * DAY, "escalated")])
    extra = ""
    if r.random() < .3:
        t2 = day0(t0 + r.uniform(8, 21) * DAY) + c.tod()
        if c.complaint(t2, "other", "medium", [(0, "opened")]):
            extra = "; follow-up complaint (other) also left open"
    slow = r.uniform(2.2, 3.5)
    old = c.renewal(c.t0, END, c.gap, c.shape, lambda t: season(t) * (1.0 if t < t0 else 1.0 / slow))
    c.orders_at(old, c.med, c.sigma)
    c.browse_sessions(c.t0, END, c.browse, c.bshape, lambda t: season(t) * (1.0 if t < t0 else .75))
    bg_complaints(c, t0 - 30 * DAY)
    c.notes.append(f"service complaint ({sev}) escalated, never resolved{extra}; order gap ~{c.gap:.0f}d x{slow:.1f} after")


def sc_chg_drift_promo(c, promo):
    r = c.rng
    consumer(c, gap=(14, 40), shape=(2, 5), med=(30, 200), sigma=(.25, .45), browse=(3, 12))
    cat, ps, pdays, kind, strength = promo
    c.cat_main = cat
    c.cats_other = [x for x in c.cats_other if x != cat] or ["books"]
    c.p_main = r.uniform(.8, .9)
    d = max(ps - r.uniform(7, 45) * DAY, CH_LO + r.uniform(0, 4) * DAY)
    leave = min(ps + r.uniform(40, 110) * DAY, END - 20 * DAY)
    c.change_at = d
    c.stop = leave
    omult = lambda t: season(t) * (1.0 if t < d else .5)
    c.orders_at(c.renewal(c.t0, END, c.gap, c.shape, omult), c.med, c.sigma)
    c.browse_sessions(c.t0, END, c.browse, c.bshape, lambda t: season(t) * lin(t, d, leave, 1.0, .35))
    bg_complaints(c, d - 30 * DAY)
    c.notes.append(f"buys {cat} (gap ~{c.gap:.0f}d); orders at half rate from change; {kind} in {cat} "
                   f"{iso(ps)[:10]} ({(ps - d) / DAY:.0f}d after change); leaves {iso(leave)[:10]}")


def stop_common(c, lead=25):
    r = c.rng
    c.t_stop = r.uniform(CH_LO + lead * DAY, CH_HI)
    c.stop = c.t_stop
    c.change_plus_1s_of_last = True


def sc_chg_stop_daily(c):
    r = c.rng
    consumer(c, gap=(8, 25), shape=(2, 4), med=(25, 150), sigma=(.25, .45))
    c.p_app0 = float(r.choice([.6, .9, 1.0]))
    stop_common(c)
    p_active = r.uniform(.75, .95)
    extra = r.uniform(.2, .8)
    d = day0(c.t0)
    while d < END:
        if r.random() < p_active * min(1.0, season(d)):
            for _ in range(1 + r.poisson(extra)):
                c.session(d + c.tod())
        d += DAY
    c.orders_at(c.renewal(c.t0, END, c.gap, c.shape, season_mult), c.med, c.sigma)
    bg_complaints(c, c.stop - 30 * DAY)
    c.notes.append(f"daily visitor (active {p_active:.0%} of days), orders ~{c.gap:.0f}d; everything stops")


def sc_chg_stop_monthly(c):
    r = c.rng
    consumer(c, gap=(26, 34), shape=(4, 8), med=(50, 250), sigma=(.25, .4), browse=(.3, 1.5), bshape=(.8, 1.5))
    stop_common(c, lead=60)
    c.orders_at(c.renewal(c.t0, END, c.gap, c.shape), c.med, c.sigma)
    browse_all(c)
    bg_complaints(c, c.stop - 30 * DAY)
    c.notes.append(f"monthly buyer (gap ~{c.gap:.0f}d), {c.browse:.1f} other visits/mo; everything stops")


def sc_chg_stop_foreign(c):
    r = c.rng
    consumer(c, gap=(12, 45), shape=(1.5, 4), med=(30, 200), sigma=(.25, .45), browse=(2, 8))
    c.set_currency("GBP" if r.random() < .6 else "USD")
    c.prof = str(r.choice(["evening", "lunch", "night"]))
    stop_common(c)
    c.orders_at(c.renewal(c.t0, END, c.gap, c.shape, season_mult), c.med, c.sigma)
    browse_all(c)
    bg_complaints(c, c.stop - 30 * DAY)
    c.notes.append(f"pays in {c.currency}, gap ~{c.gap:.0f}d, {c.browse:.1f} visits/mo; everything stops")


# ---------------------------------------------------------------- stayers

def steady_body(c, until=END):
    c.orders_at(c.renewal(c.t0, until, c.gap, c.shape, season_mult), c.med, c.sigma)
    browse_all(c, until)


def sc_stay_steady(c):
    r = c.rng
    consumer(c, gap=(7, 90), shape=(1.2, 6), med=(15, 400), sigma=(.2, .55), browse=(.7, 15), bshape=(.5, 2))
    c.mixed_currency()
    if r.random() < .15:
        c.t0 = START + r.uniform(45, 240) * DAY
    c.yearly_short_breaks(.25)
    steady_body(c)
    bg_complaints(c, END)
    c.notes.append(f"gap ~{c.gap:.0f}d shape {c.shape:.1f}, basket ~{c.med:.0f} {c.currency} sd {c.sigma:.2f}, "
                   f"{c.browse:.1f} visits/mo")


def last_business_day(y, m):
    t = T(y + (m == 12), m % 12 + 1, 1) - DAY
    while weekday(t) >= 5:
        t -= DAY
    return t


def sc_stay_b2b_monthend(c):
    r = c.rng
    b2b(c)
    med, sigma = float(np.exp(r.uniform(np.log(800), np.log(8000)))), r.uniform(.2, .4)
    quarter = r.random() < .4
    p_top = r.uniform(.05, .3)
    y, m = 2023, 1
    times, facs = [], []
    while True:
        lbd = last_business_day(y, m)
        if lbd >= END:
            break
        skip = r.random() < (.25 if m == 8 else .03)
        if not skip and lbd > c.t0:
            back = int(r.choice([0, 0, 0, 1, 1, 2, 3]))
            t = lbd
            for _ in range(back):
                t -= DAY
                while weekday(t) >= 5:
                    t -= DAY
            if r.random() < .12:                      # slips to the first days of next month
                t = lbd + r.integers(1, 4) * DAY
            times.append(t)
            facs.append(1.4 if quarter and m in (3, 6, 9, 12) else 1.0)
        if r.random() < p_top:
            t = T(y, m, int(r.integers(8, 21)))
            if t > c.t0:
                times.append(t)
                facs.append(r.uniform(.2, .4))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    fac = dict(enumerate(facs))
    c.orders_at(times, med, sigma, factor=lambda i, x: fac[i], p_api=c.p_api)
    c.browse_sessions(c.t0, END, r.uniform(5, 15), r.uniform(1, 2.5),
                      lambda t: season_b2b(t) * (1.8 if dt(t).day >= 22 else .8))
    bg_complaints(c, END)
    c.notes.append(f"month-end orders ~{med:.0f} {c.currency}{', quarter-end x1.4' if quarter else ''}, "
                   f"top-up p {p_top:.2f}")


def sc_stay_stockup(c):
    r = c.rng
    base = r.uniform(40, 100)
    M = float(np.exp(r.uniform(np.log(100), np.log(600))))
    c.cat_main = str(r.choice(["grocery", "pet", "beauty", "home", "sports"]))
    c.browse = r.uniform(1, 4)
    c.mixed_currency()
    t = c.t0 + r.uniform(0, base) * DAY
    while t < END:
        a = M * float(np.exp(r.normal(0, .5)))
        for _ in range(int(r.integers(1, 4))):                # research before the order
            c.session(c.place(t - r.uniform(1, 10) * DAY))
        c.order(c.place(t), round(a * c.cur_mult, c.cur_dec))
        t += max(5.0, base * (a / M) * r.gamma(8, 1 / 8)) * DAY
    c.browse_sessions(c.t0, END, c.browse, r.uniform(.6, 1.5), season_mult)
    bg_complaints(c, END)
    c.notes.append(f"stock-up: typical basket {M:.0f} {c.currency}, pause ~{base:.0f}d x basket/typical")


def sc_stay_gift(c):
    r = c.rng
    med = float(np.exp(r.uniform(np.log(40), np.log(200))))
    c.cat_main = str(r.choice(["toys", "books", "electronics", "beauty", "fashion"]))
    c.mixed_currency()
    bday = r.uniform(0, 365)
    times = []
    lam = r.uniform(1, 3)
    for y in (2023, 2024):
        n = 1 + r.poisson(lam)
        times += list(T(y, 11, 10) + np.sort(r.uniform(0, 42, size=n)) * DAY)
    for y in (2023, 2024, 2025):
        if r.random() < .35:
            times.append(T(y, 3, 20) + r.uniform(0, 53) * DAY)
        if r.random() < .3:
            times.append(T(y, 1, 1) + bday * DAY - r.uniform(2, 12) * DAY)
    c.orders_at(sorted(x for x in times if c.t0 < x < END), med, .5)
    base = r.uniform(.8, 3)
    boost = r.uniform(3, 6)

    def mult(t):
        d = dt(t)
        return boost if (d.month == 11 or (d.month == 10 and d.day >= 15) or (d.month == 12 and d.day <= 24)) else 1.0

    c.browse_sessions(c.t0, END, base, r.uniform(.6, 1.5), mult)
    c.p_return = r.uniform(.05, .12)
    bg_complaints(c, END)
    c.notes.append(f"gift buyer: Nov-Dec orders (~{1 + lam:.1f}/season), basket ~{med:.0f} {c.currency}, "
                   f"{base:.1f} visits/mo (x{boost:.1f} in Oct-Dec)")


def sc_stay_channel_switch(c):
    r = c.rng
    consumer(c, gap=(10, 45), shape=(1.5, 5), med=(20, 200), sigma=(.25, .45), browse=(3, 12), bshape=(.8, 2))
    sw = r.uniform(T(2023, 9, 1), T(2024, 12, 31))
    ramp = r.uniform(14, 42) * DAY
    p0 = r.uniform(0, .1)
    c.p_app_fn = lambda t: lin(t, sw, sw + ramp, p0, .95)
    c.app_pv, c.app_dw = r.uniform(.6, .85), r.uniform(.45, .7)
    more = r.uniform(1.2, 1.6)
    c.orders_at(c.renewal(c.t0, END, c.gap, c.shape, season_mult), c.med, c.sigma)
    c.browse_sessions(c.t0, END, c.browse, c.bshape, lambda t: season(t) * lin(t, sw, sw + ramp, 1.0, more))
    c.yearly_short_breaks(.2)
    bg_complaints(c, END)
    c.notes.append(f"web -> app from {iso(sw)[:10]} over {ramp / DAY:.0f}d: visits x{more:.1f}, app pages x{c.app_pv:.2f}, "
                   f"dwell x{c.app_dw:.2f}")


def sc_stay_complaint_resolved(c):
    r = c.rng
    consumer(c, gap=(10, 60), shape=(1.5, 5), med=(20, 300), sigma=(.25, .5), browse=(2, 12))
    c.mixed_currency()
    steady_body(c)
    rate = r.uniform(1, 4)
    n = c.quick_complaints(c.t0 + 20 * DAY, END, rate)
    c.notes.append(f"{n} complaints (~{rate:.1f}/yr), resolved within hours")


def sc_stay_price_sensitive(c):
    r = c.rng
    consumer(c, gap=(10, 45), shape=(1.5, 3), med=(20, 150), sigma=(.7, .9), browse=(3, 14))
    c.mixed_currency()
    c.yearly_short_breaks(.2)
    steady_body(c)
    bg_complaints(c, END)
    c.notes.append(f"basket lognormal median {c.med:.0f} {c.currency} sigma {c.sigma:.2f}, gap ~{c.gap:.0f}d")


def sc_stay_holiday(c):
    r = c.rng
    consumer(c, gap=(5, 30), shape=(1.5, 5), med=(20, 200), sigma=(.2, .45), browse=(3, 14), bshape=(.8, 2))
    c.mixed_currency()
    when = str(r.choice(["summer", "winter", "spring"], p=[.7, .2, .1]))
    for y in (2023, 2024, 2025):
        if when == "summer":
            a = T(y, 6, 20) + r.uniform(0, 61) * DAY
        elif when == "winter":
            a = T(y, 12, 12) + r.uniform(0, 16) * DAY
        else:
            a = T(y, 3, 15) + r.uniform(0, 47) * DAY
        b = a + r.uniform(21, 35) * DAY
        if b < END - 21 * DAY and a > c.t0 + 60 * DAY:
            c.breaks.append((a, b))
    daily = r.random() < .2
    if daily:
        c.p_app0 = float(r.choice([.6, .9, 1.0]))
        p_active = r.uniform(.75, .95)
        d = day0(c.t0)
        while d < END:
            if r.random() < p_active:
                for _ in range(1 + r.poisson(.4)):
                    c.session(d + c.tod())
            d += DAY
        c.orders_at(c.renewal(c.t0, END, c.gap, c.shape, season_mult), c.med, c.sigma)
    else:
        steady_body(c)
    bg_complaints(c, END)
    c.notes.append(f"{'daily visitor, ' if daily else ''}{when} holiday 3-5 weeks a year, gap ~{c.gap:.0f}d")


def sc_stay_promo_exposed(c):
    r = c.rng
    consumer(c, gap=(10, 45), shape=(1.5, 5), med=(20, 250), sigma=(.25, .45), browse=(2, 12))
    c.cat_main = str(r.choice(PROMO_CATS))
    c.cats_other = [x for x in c.cats_other if x != c.cat_main] or ["books"]
    c.p_main = r.uniform(.7, .9)
    c.mixed_currency()
    c.yearly_short_breaks(.2)
    steady_body(c)
    bg_complaints(c, END)
    c.notes.append(f"buys {c.cat_main} (competitor promotions there), unchanged; gap ~{c.gap:.0f}d")


# ---------------------------------------------------------------- market events

def market_events(G):
    r = G.rng
    out = []

    def add(cat, t, days, kind, strength):
        ends = None if days is None else t + days * DAY
        out.append((t, cat, kind, round(float(strength), 2), ends))

    for p in PROMO_PLAN + PROMO_FOLLOWUPS:
        add(p[0], p[1], p[2], p[3], p[4])
    for cat in ALL_CATS:
        t = START + r.uniform(0, 120) * DAY
        while t < END - 7 * DAY:
            kind = str(r.choice(["competitor_promotion", "competitor_price_cut", "competitor_launch"], p=[.6, .25, .15]))
            if kind == "competitor_promotion":
                days = r.uniform(3, 21)
            elif kind == "competitor_price_cut":
                days = None if r.random() < .3 else r.uniform(14, 90)
            else:
                days = None
            add(cat, day0(t) + r.uniform(5, 9) * HOUR, days, kind, r.uniform(.1, .65))
            t += r.exponential(365 / 2.5) * DAY
    return out


# ---------------------------------------------------------------- main

class Gen:
    def __init__(self, seed, competitor_cause):
        self.rng = np.random.default_rng(seed)
        self.ids = iter(int(x) for x in self.rng.choice(90000, size=20000, replace=False) + 10000)
        self.competitor_cause = competitor_cause


BUILDERS = {name: globals()["sc_" + name] for name in SCENARIOS}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every scenario's count (min 2 each)")
    ap.add_argument("--competitor-cause", default="drift",
                    help="cause label of chg_drift_promo; 'drift' is what docs/outside/measure.py knows "
                         "(it has no 'competitor' entry and fails on one)")
    a = ap.parse_args()
    t_start = time.time()
    G = Gen(a.seed, a.competitor_cause)
    mk = market_events(G)

    plan = []
    for name, (_, _, n) in SCENARIOS.items():
        plan += [name] * max(2, int(round(n * a.scale)))
    order = G.rng.permutation(len(plan))          # customers interleaved, ids carry no scenario
    custs = []
    i_promo = 0
    for j in order:
        name = plan[j]
        c = Cust(G, name)
        if name == "chg_drift_promo":
            BUILDERS[name](c, PROMO_PLAN[i_promo % len(PROMO_PLAN)])
            i_promo += 1
        else:
            BUILDERS[name](c)
        c.finish()
        if c.change_plus_1s_of_last:
            c.change_at = c.final[-1][0] + 1
        custs.append(c)

    # ---- events
    allev = []
    seq = 0
    for c in custs:
        for t, typ, f in c.final:
            allev.append((t, seq, typ, c.cid, f))
            seq += 1
    for t, cat, kind, strength, ends in mk:
        f = dict(kind=kind, category=cat, strength=strength)
        f["ends_at"] = iso(ends) if ends is not None else None
        allev.append((int(t), seq, "market_event", None, f))
        seq += 1
    allev.sort(key=lambda e: (e[0], e[1]))
    os.makedirs(a.out, exist_ok=True)
    counts = {}
    with open(os.path.join(a.out, "events.jsonl"), "w") as fo:
        for k, (t, _, typ, cid, f) in enumerate(allev):
            d = {"type": typ, "schema_version": 1, "event_id": f"g3s{a.seed}-{k:07d}"}
            if cid is not None:
                d["customer_id"] = cid
            d["occurred_at"] = iso(t)
            d.update(f)
            fo.write(json.dumps(d, separators=(",", ":")) + "\n")
            counts[typ] = counts.get(typ, 0) + 1

    # ---- truth
    hdr = ["customer_id", "scenario", "changed", "change_at", "last_active_at", "cause", "usual_gap_days", "n_events",
           "n_orders", "n_orders_before_change", "n_orders_after_change", "breaks", "notes"]
    rows = []
    for c in sorted(custs, key=lambda c: c.cid):
        ch = int(c.change_at) if c.change_at is not None else None
        placed = [t for t, typ, f in c.final if typ == "order" and f["status"] == "placed"]
        before = [t for t in placed if ch is None or t < ch]
        gaps = np.diff(before)
        usual = f"{gaps.mean() / DAY:.1f}" if len(gaps) else ""
        rows.append(dict(
            customer_id=c.cid, scenario=c.scenario, changed=c.changed,
            change_at=iso(ch) if ch is not None else "", last_active_at=iso(c.final[-1][0]),
            cause=c.cause if c.changed else "", usual_gap_days=usual, n_events=len(c.final), n_orders=len(placed),
            n_orders_before_change=len(before), n_orders_after_change=len(placed) - len(before),
            breaks=";".join(f"{iso(x)[:10]}..{iso(y)[:10]}" for x, y in sorted(c.breaks) if x < END),
            notes=" | ".join(c.notes)))
    with open(os.path.join(a.out, "truth_full.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=hdr)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(a.out, "truth_eval.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"])
        for r in rows:
            w.writerow([r["customer_id"], r["changed"], r["scenario"], r["change_at"], r["last_active_at"], r["cause"],
                        r["usual_gap_days"]])
    n_cust = len(custs)
    print(f"{n_cust} customers, {len(allev)} events {dict(sorted(counts.items()))} in {time.time() - t_start:.1f}s "
          f"-> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
