#!/usr/bin/env python3
"""Outside population 6: shop-wide changes that are not churn, against ordinary churners.

Written from the product brief, JSON Schemas, fixtures, README "Event contracts" and the truth
columns of docs/outside/measure.py only.

python gen.py --out DIR [--seed 6060]
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import uuid
from datetime import datetime, timedelta, timezone

import numpy as np

UTC = timezone.utc
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)  # exclusive (period 2023-01-01..2025-06-30)
DAY = 86400.0
T0 = START.timestamp()
TEND = END.timestamp()


def ts(d):
    return datetime(*d, tzinfo=UTC).timestamp() if isinstance(d, tuple) else d.timestamp()


CATS = ["home", "kitchen", "beauty", "toys", "electronics", "apparel", "books", "garden", "sports"]
CUT_CAT = "electronics"
CCY_RATE = {"EUR": 1.0, "GBP": 0.86, "USD": 1.08, "HUF": 390.0}
DEVAL_CCY = "HUF"

# ---- shop-wide calendar ----
INFL_A, INFL_B, INFL_PCT = ts((2023, 7, 1)), ts((2024, 7, 1)), 0.18  # +18 % over one year, all baskets
SALE_A, SALE_B = ts((2024, 3, 1)), ts((2024, 4, 1))  # month-long shop sale: baskets x0.6
CUT_AT = ts((2024, 9, 1))  # electronics price cut: baskets x0.7 for good
DEVAL_AT = ts((2024, 5, 15))  # HUF devalues: amounts in HUF x1.25 in one step
RELAUNCH_AT = ts((2024, 10, 1))  # site relaunch: traffic x1.3 for everyone
CAMPAIGN_A, CAMPAIGN_B = ts((2024, 4, 1)), ts((2024, 5, 1))  # marketing campaign cohort

# rival promotions with matching market events (strong), per category
RIVAL_PROMOS = {
    "home": [((2023, 10, 9), 21), ((2024, 6, 3), 28)],
    "kitchen": [((2023, 11, 6), 21), ((2024, 8, 5), 28)],
    "beauty": [((2024, 1, 15), 28), ((2024, 11, 4), 21)],
    "toys": [((2024, 2, 12), 21), ((2024, 9, 9), 28)],
    "electronics": [((2023, 9, 11), 28), ((2024, 5, 6), 21), ((2025, 1, 13), 28)],
    "apparel": [((2023, 12, 4), 21), ((2024, 7, 8), 28)],
    "books": [((2024, 3, 18), 21), ((2024, 12, 2), 28)],
    "garden": [((2024, 4, 8), 28), ((2025, 2, 3), 21)],
    "sports": [((2023, 10, 23), 28), ((2024, 10, 14), 21)],
}


def infl(t):
    if t <= INFL_A:
        return 1.0
    if t >= INFL_B:
        return 1.0 + INFL_PCT
    return 1.0 + INFL_PCT * (t - INFL_A) / (INFL_B - INFL_A)


def price_factor(t, cat, ccy):
    f = infl(t)
    if SALE_A <= t < SALE_B:
        f *= 0.6
    if cat == CUT_CAT and t >= CUT_AT:
        f *= 0.7
    if ccy == DEVAL_CCY and t >= DEVAL_AT:
        f *= 1.25
    return f


def traffic_factor(t):
    f = 1.0
    if t >= RELAUNCH_AT:
        f *= 1.3
    if SALE_A <= t < SALE_B:
        f *= 1.2
    return f


def iso(t):
    return datetime.fromtimestamp(round(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Gen:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.events = []  # (t, seq, dict)
        self.seq = 0
        self.oid = 0
        self.cid_n = 0

    def uid(self):
        return str(uuid.UUID(bytes=self.rng.bytes(16), version=4))

    def add(self, t, d):
        self.seq += 1
        d["occurred_at"] = iso(t)
        d = {"schema_version": 1, "event_id": self.uid(), **d}
        self.events.append((round(t), self.seq, d))


class Customer:
    def __init__(self, g: Gen, cid, persona, scenario, changed, cause_m, cause_e):
        self.g, self.rng = g, g.rng
        self.cid, self.persona, self.scenario = cid, persona, scenario
        self.changed, self.cause_m, self.cause_e = changed, cause_m, cause_e
        self.change_at = None
        self.stop_at = None
        self.order_times = []
        self.n_events = 0
        self.first = None
        self.last = None
        self.params = {}

    # ---- profile ----
    def profile(self, kind="general"):
        r = self.rng
        self.ccy = r.choice(["EUR", "GBP", "USD", "HUF"], p=[0.55, 0.17, 0.16, 0.12])
        k = int(r.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
        self.cats = list(r.choice(CATS, size=k, replace=False))
        self.cat_w = r.dirichlet(np.ones(k) * 2)
        self.hour_mu = r.uniform(8, 22)
        self.channel = r.choice(["web", "app", "other"], p=[0.55, 0.4, 0.05])
        self.p_login = r.uniform(0.3, 0.9)
        self.pages = r.uniform(2, 6)
        self.dwell = r.lognormal(math.log(40), 0.4)
        self.b2b = False
        if kind == "general":
            self.sess_pm = float(np.clip(r.lognormal(math.log(4), 0.5), 1.2, 16))
            self.gap = float(math.exp(r.uniform(math.log(14), math.log(100))))
            self.shape = r.uniform(1.8, 5)
            self.basket = float(np.clip(r.lognormal(math.log(70), 0.7), 12, 900))
        elif kind == "value":  # orders of 500-1000 every ~2 months
            self.sess_pm = float(r.uniform(2, 6))
            self.gap = float(r.uniform(45, 70))
            self.shape = r.uniform(3, 6)
            self.basket = float(r.uniform(500, 1000))
        elif kind == "heavy":  # 10-15 logins a month
            self.sess_pm = float(r.uniform(10, 15))
            self.p_login = r.uniform(0.85, 0.98)
            self.gap = float(r.uniform(15, 45))
            self.shape = r.uniform(2, 4)
            self.basket = float(np.clip(r.lognormal(math.log(60), 0.5), 12, 500))
        elif kind == "sparse":  # B2B or high-value, 2-4 orders a year
            self.b2b = bool(r.random() < 0.6)
            self.sess_pm = float(r.uniform(0.2, 0.9))
            self.gap = float(r.uniform(365 / 4, 365 / 2))
            self.shape = r.uniform(2.5, 6)
            self.basket = float(r.uniform(400, 3500))
            self.p_login = r.uniform(0.7, 1.0)
            self.channel = "web"
            if self.b2b:
                self.hour_mu = r.uniform(9, 16)
        self.basket_sd = r.uniform(0.15, 0.35)
        self.params.update(gap=round(self.gap, 1), basket_eur=round(self.basket, 1), sess_pm=round(self.sess_pm, 2))

    def in_cat(self, cat):
        self.cats = [cat] + [c for c in self.cats if c != cat][:1]
        self.cat_w = np.array([0.85, 0.15])[: len(self.cats)]
        self.cat_w = self.cat_w / self.cat_w.sum()

    # ---- primitives ----
    def hour_time(self, day_t):
        r = self.rng
        h = (self.hour_mu + r.normal(0, 2.5)) % 24
        if self.b2b:
            h = float(np.clip(r.normal(self.hour_mu, 1.5), 8, 18))
        return day_t + h * 3600 + r.uniform(0, 3600) * 0

    def add(self, t, d):
        if t < T0 or t >= TEND:
            return
        if self.stop_at is not None and t > self.stop_at:
            return
        d["customer_id"] = self.cid
        self.g.add(t, d)
        self.n_events += 1
        self.first = t if self.first is None else min(self.first, t)
        self.last = t if self.last is None else max(self.last, t)

    def pick_cat(self):
        return str(self.rng.choice(self.cats, p=self.cat_w))

    def session(self, t, pages_mult=1.0, dwell_mult=1.0, order=None, extra_pages=None):
        r = self.rng
        sid = "s-" + self.g.uid()[:18]
        if r.random() < self.p_login:
            if r.random() < 0.02:
                self.add(t - 40, {"type": "login", "channel": self.channel, "success": False})
            self.add(t, {"type": "login", "channel": self.channel, "success": True})
            t += r.uniform(5, 30)
        n = max(1, int(r.poisson(self.pages * pages_mult)))
        cat = self.pick_cat() if order is None else order
        pages = extra_pages or []
        for i in range(n):
            u = r.random()
            if i == 0 and u < 0.3:
                page, c = "/", None
            elif u < 0.6:
                page, c = f"/c/{cat}", cat
            else:
                page, c = f"/p/{cat}/{int(r.integers(1000, 9999))}", cat
            pages.append((page, c))
        for page, c in pages:
            dw = float(round(min(86400, r.lognormal(math.log(self.dwell * dwell_mult), 0.7)), 1))
            d = {"type": "page_view", "page": page, "dwell_seconds": dw, "session_id": sid}
            if c:
                d["category"] = c
            self.add(t, d)
            t += dw + r.uniform(1, 10)
        return t

    def order(self, t, amount_mult=1.0, items_mult=1.0, with_session=True, cat=None):
        r = self.rng
        cat = cat or self.pick_cat()
        if with_session and r.random() < 0.88:
            t = self.session(t - 600, order=cat, extra_pages=[(f"/p/{cat}/{int(r.integers(1000, 9999))}", cat),
                                                               ("/cart", None), ("/checkout", None)])
        base = self.basket * math.exp(r.normal(0, self.basket_sd) - self.basket_sd ** 2 / 2)
        amt = base * amount_mult * price_factor(t, cat, self.ccy) * CCY_RATE[self.ccy]
        amt = round(amt, 0 if self.ccy == "HUF" else 2)
        items = max(1, int(round(r.poisson(max(1.0, (self.basket / (12 if self.b2b else 35)) * items_mult)))))
        self.g.oid += 1
        oid = f"o{self.g.oid:07d}"
        d = {"type": "order", "order_id": oid, "amount": float(amt), "currency": self.ccy, "status": "placed",
             "items": items, "category": cat}
        if t >= TEND:
            return t
        self.add(t, d)
        self.order_times.append(t)
        u = r.random()
        if u < 0.015:
            self.add(t + r.uniform(600, 8 * 3600), {**d, "status": "cancelled"})
        elif u < 0.035:
            self.add(t + r.uniform(5, 25) * DAY, {**d, "status": "returned"})
        return t

    def complaint(self, t, cat=None, sev=None, p_esc=0.1, p_res=0.95, p_reopen=0.05, res_days=(1, 7)):
        r = self.rng
        cat = cat or str(r.choice(["product", "logistics", "service", "billing", "other"]))
        sev = sev or str(r.choice(["low", "medium", "high"], p=[0.5, 0.4, 0.1]))
        cid = "c-" + self.g.uid()[:18]
        base = {"type": "complaint", "complaint_id": cid, "category": cat, "severity": sev}
        self.add(t, {**base, "status": "opened"})
        t2 = t
        if r.random() < p_esc:
            t2 += r.uniform(1, 5) * DAY
            self.add(t2, {**base, "status": "escalated"})
        if r.random() < p_res:
            t2 += r.uniform(*res_days) * DAY
            self.add(t2, {**base, "status": "resolved"})
            if r.random() < p_reopen:
                t2 += r.uniform(2, 15) * DAY
                self.add(t2, {**base, "status": "reopened"})
                if r.random() < 0.6:
                    t2 += r.uniform(3, 20) * DAY
                    self.add(t2, {**base, "status": "resolved"})

    # ---- processes ----
    def sessions(self, a, b, rate_fn):
        """rate_fn(t) -> sessions per month multiplier on self.sess_pm; thinning."""
        r = self.rng
        lam_max = self.sess_pm / 30.44 * 1.3 * 1.2 * 1.5
        t = a
        while True:
            t += r.exponential(1 / lam_max) * DAY
            if t >= b:
                break
            lam = self.sess_pm / 30.44 * traffic_factor(t) * rate_fn(t)
            if r.random() < lam / lam_max:
                day0 = math.floor(t / DAY) * DAY
                self.session(self.hour_time(day0))

    def orders(self, a, b, gap_fn=lambda t: 1.0, amt_fn=lambda t: 1.0, first_offset=None):
        r = self.rng
        t = a + (first_offset if first_offset is not None else r.uniform(0, self.gap)) * DAY
        while t < b:
            day0 = math.floor(t / DAY) * DAY
            if self.b2b and datetime.fromtimestamp(day0, UTC).weekday() >= 5:
                day0 += (7 - datetime.fromtimestamp(day0, UTC).weekday()) * DAY
            if day0 >= b:
                break
            self.order(self.hour_time(day0), amount_mult=amt_fn(day0))
            t += r.gamma(self.shape, self.gap * gap_fn(t) / self.shape) * DAY

    def bg_complaints(self, a, b, rate_py=None):
        r = self.rng
        rate = rate_py if rate_py is not None else float(r.choice([0.05, 0.2, 0.5], p=[0.6, 0.3, 0.1]))
        t = a
        while True:
            t += r.exponential(365 / rate) * DAY
            if t >= b - 20 * DAY:
                break
            self.complaint(t)


def ramp(t, a, b, v0, v1):
    if t <= a:
        return v0
    if t >= b:
        return v1
    return v0 + (v1 - v0) * (t - a) / (b - a)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="out/outside6/data")
    ap.add_argument("--seed", type=int, default=6060)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    g = Gen(a.seed)
    r = g.rng
    custs = []

    def new(persona, scenario, changed, cm, ce):
        g.cid_n += 1
        c = Customer(g, f"cw6-{g.cid_n:04d}", persona, scenario, changed, cm, ce)
        custs.append(c)
        return c

    def start_time(p_from_start=0.75, latest=(2024, 2, 28)):
        if r.random() < p_from_start:
            return T0
        return T0 + r.uniform(0, ts(latest) - T0)

    # ---------------- stayers ----------------
    def stayer(persona, kind, a0=None, b=TEND, cat=None, ccy=None):
        c = new(persona, persona, 0, "", "")
        c.profile(kind)
        if cat:
            c.in_cat(cat)
        if ccy:
            c.ccy = ccy
        a0 = start_time() if a0 is None else a0
        c.orders(a0, b)
        c.sessions(a0, b, lambda t: 1.0)
        c.bg_complaints(a0, b)
        return c

    for _ in range(170):
        stayer("stay_loyal", "general")
    for _ in range(30):
        stayer("stay_loyal_value", "value")
    for _ in range(40):
        stayer("stay_heavy_browser", "heavy")
    for _ in range(45):
        stayer("stay_sparse", "sparse")
    for _ in range(40):
        stayer("stay_cat_price_cut", str(r.choice(["general", "value"], p=[0.7, 0.3])), cat=CUT_CAT)
    for _ in range(40):
        stayer("stay_devalued_ccy", str(r.choice(["general", "value", "heavy"], p=[0.6, 0.2, 0.2])), ccy=DEVAL_CCY)
    # campaign cohort retained
    for _ in range(45):
        c = new("stay_cohort_retained", "stay_cohort_retained", 0, "", "")
        c.profile("general")
        c.gap = min(c.gap, 60.0)
        a0 = r.uniform(CAMPAIGN_A, CAMPAIGN_B)
        c.order(c.hour_time(math.floor(a0 / DAY) * DAY), amount_mult=0.8)
        c.orders(a0 + 3 * DAY, TEND)
        c.sessions(a0, TEND, lambda t: 1.0)
        c.bg_complaints(a0, TEND)
    # campaign cohort one-time buyers (scored separately)
    for _ in range(60):
        c = new("cohort_one_time", "cohort_one_time", 1, "silence", "never_engaged")
        c.profile("general")
        a0 = r.uniform(CAMPAIGN_A, CAMPAIGN_B)
        day0 = math.floor(a0 / DAY) * DAY
        for k in range(int(r.integers(0, 3))):
            c.session(c.hour_time(day0 - r.uniform(1, 10) * DAY))
        c.order(c.hour_time(day0), amount_mult=r.uniform(0.5, 0.9))
        for k in range(int(r.integers(0, 3))):
            c.session(c.hour_time(day0 + r.uniform(1, 25) * DAY))
        c.change_at = c.last
        c.stop_at = c.last + 1

    # ---------------- churners ----------------
    def churn_change(min_hist=200, max_tail=120, lo=(2023, 9, 1), hi=(2025, 3, 1)):
        a0 = start_time(0.8, latest=(2023, 12, 31))
        lo_t = max(ts(lo), a0 + min_hist * DAY)
        hi_t = min(ts(hi), TEND - (max_tail + 45) * DAY)
        if hi_t <= lo_t:
            a0 = T0
            lo_t = max(ts(lo), a0 + min_hist * DAY)
        return a0, r.uniform(lo_t, max(lo_t + DAY, hi_t))

    # drift: orders thin, then visits fade, then silence
    for _ in range(30):
        c = new("chg_drift", "chg_drift", 1, "drift", "drift")
        c.profile("general")
        c.gap = min(c.gap, 50.0)
        D = r.uniform(90, 180)
        lag = r.uniform(20, 60)
        tail = r.uniform(20, 60)
        a0, ch = churn_change(max_tail=D + lag + tail)
        stop_orders = ch + D * DAY
        stop = ch + (D + tail) * DAY
        c.change_at, c.stop_at = ch, stop
        c.orders(a0, stop_orders, gap_fn=lambda t: 1 / ramp(t, ch, stop_orders, 1.0, 0.25))
        c.sessions(a0, stop, lambda t: ramp(t, ch + lag * DAY, stop, 1.0, 0.2))
        c.bg_complaints(a0, ch)
        c.params.update(D=round(D), lag=round(lag), tail=round(tail))

    # trade-down: baskets of 500-1000 fall to 200-300, then stop
    for _ in range(30):
        c = new("chg_trade_down", "chg_trade_down", 1, "order_value", "trade_down")
        c.profile("value")
        f = r.uniform(250, 300) / c.basket
        dur = r.uniform(120, 240)
        tail = r.uniform(15, 45)
        a0, ch = churn_change(max_tail=dur + tail)
        c.change_at, c.stop_at = ch, ch + (dur + tail) * DAY
        c.orders(a0, ch + dur * DAY, gap_fn=lambda t: 1.0 if t < ch else 1.15, amt_fn=lambda t, f=f: 1.0 if t < ch else f)
        c.sessions(a0, ch + (dur + tail) * DAY, lambda t: 1.0 if t < ch + dur * DAY else 0.4)
        c.bg_complaints(a0, ch)
        c.params.update(factor=round(f, 2), dur=round(dur))

    # complaints unresolved, then fade
    for _ in range(28):
        c = new("chg_complaints", "chg_complaints", 1, "complaints", "unresolved_complaints")
        c.profile("general")
        c.gap = min(c.gap, 60.0)
        n = int(r.integers(2, 5))
        span = r.uniform(40, 100)
        tail = r.uniform(20, 60)
        a0, ch = churn_change(max_tail=span + tail + 30)
        times = sorted([ch] + list(ch + r.uniform(5, span, size=n - 1) * DAY))
        for i, tc in enumerate(times):
            c.complaint(tc, cat=str(r.choice(["product", "logistics", "service"])),
                        sev=str(r.choice(["medium", "high"], p=[0.5, 0.5] if i == 0 else [0.3, 0.7])),
                        p_esc=0.55, p_res=0.25, p_reopen=0.4, res_days=(5, 20))
            for k in range(int(r.integers(1, 3))):
                c.session(tc + r.uniform(0.1, 2) * DAY)
        stop = times[-1] + tail * DAY
        c.change_at, c.stop_at = ch, stop
        c.orders(a0, times[-1], gap_fn=lambda t: 1.0 if t < ch else 2.0)
        c.sessions(a0, stop, lambda t: 1.0 if t < ch else 0.5)
        c.bg_complaints(a0, ch, rate_py=0.1)
        c.params.update(n_complaints=n)

    # abrupt stop
    for _ in range(28):
        c = new("chg_abrupt", "chg_abrupt", 1, "silence", "abrupt")
        c.profile(str(r.choice(["general", "value", "heavy"], p=[0.6, 0.2, 0.2])))
        a0, ch = churn_change(max_tail=0)
        c.change_at, c.stop_at = ch, ch
        c.orders(a0, ch)
        c.sessions(a0, ch, lambda t: 1.0)
        c.bg_complaints(a0, ch)

    # competitor-lured: drifting, then gone during a rival promotion in their category
    promo_list = [(cat, ts(d), days) for cat, lst in RIVAL_PROMOS.items() for d, days in lst]
    for _ in range(28):
        c = new("chg_drift_promo", "chg_drift_promo", 1, "drift", "competitor")
        c.profile("general")
        c.gap = min(c.gap, 45.0)
        c.sess_pm = max(c.sess_pm, 3.0)
        cands = [p for p in promo_list if p[1] >= ts((2023, 10, 1)) and p[1] + p[2] * DAY <= TEND - 60 * DAY]
        cat, P, days = cands[int(r.integers(len(cands)))]
        c.in_cat(cat)
        pre = r.uniform(30, 75)
        ch = P - pre * DAY
        a0 = min(start_time(0.85, latest=(2023, 12, 31)), ch - 200 * DAY)
        a0 = max(T0, a0)
        leave = P + r.uniform(1, min(10, days)) * DAY
        tail = r.uniform(3, 20)
        c.change_at, c.stop_at = ch, leave + tail * DAY
        c.orders(a0, leave, gap_fn=lambda t: 1.0 if t < ch else 1.6)
        c.sessions(a0, leave, lambda t: 1.0 if t < ch else 0.65)
        # one or two last looks at the category during the promo
        for k in range(int(r.integers(1, 3))):
            c.session(c.hour_time(math.floor((leave + r.uniform(0, tail) * DAY) / DAY) * DAY))
        c.bg_complaints(a0, ch)
        c.params.update(promo_cat=cat, promo_start=iso(P), pre_days=round(pre))

    # activity drop: 10-15 logins a month down to 2-3, then silence
    for _ in range(20):
        c = new("chg_activity", "chg_activity", 1, "activity", "drift")
        c.profile("heavy")
        ramp_d = r.uniform(45, 90)
        low_d = r.uniform(45, 120)
        a0, ch = churn_change(max_tail=ramp_d + low_d)
        low = r.uniform(2, 3) / c.sess_pm
        stop = ch + (ramp_d + low_d) * DAY
        c.change_at, c.stop_at = ch, stop
        c.orders(a0, ch + (ramp_d + 30) * DAY, gap_fn=lambda t: 1.0 if t < ch else 1.8)
        c.sessions(a0, stop, lambda t: ramp(t, ch, ch + ramp_d * DAY, 1.0, low))
        c.bg_complaints(a0, ch)
        c.params.update(ramp=round(ramp_d), low=round(low_d))

    # sparse leavers: next order never comes; maybe one look
    for _ in range(16):
        c = new("chg_sparse_leave", "chg_sparse_leave", 1, "silence", "abrupt")
        c.profile("sparse")
        a0, ch = churn_change(min_hist=300, max_tail=0, lo=(2023, 12, 1), hi=(2025, 1, 31))
        c.orders(a0, ch)
        c.sessions(a0, ch, lambda t: 1.0)
        c.bg_complaints(a0, ch)
        c.change_at = c.last if c.last else ch
        c.stop_at = c.change_at

    # ---- fix up durations to correct delays (D etc. in days) ----
    # (drift, trade_down etc. used day counts directly on timestamps; normalise here)
    # market events: random + rival promotions
    kinds = ["competitor_promotion", "competitor_price_cut", "competitor_launch"]
    for cat in CATS:
        n = r.poisson(3.0 * 2.5)
        for _ in range(n):
            t = T0 + r.uniform(0, TEND - T0 - DAY)
            k = str(r.choice(kinds, p=[0.5, 0.3, 0.2]))
            dur = {"competitor_promotion": (7, 21), "competitor_price_cut": (14, 60), "competitor_launch": (30, 90)}[k]
            g.add(t, {"type": "market_event", "kind": k, "category": cat, "strength": round(float(r.uniform(0.2, 0.9)), 2),
                      "ends_at": iso(t + r.uniform(*dur) * DAY)})
        for d, days in RIVAL_PROMOS[cat]:
            t = ts(d) + 6 * 3600
            g.add(t, {"type": "market_event", "kind": "competitor_promotion", "category": cat,
                      "strength": round(float(r.uniform(0.75, 0.95)), 2), "ends_at": iso(t + days * DAY)})

    # ---- write ----
    g.events.sort(key=lambda e: (e[0], e[1]))
    with open(os.path.join(a.out, "events.jsonl"), "w") as f:
        for _, _, d in g.events:
            f.write(json.dumps(d, separators=(",", ":")) + "\n")

    def fmt(t):
        return iso(t) if t is not None else ""

    ev_cols = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"]
    full_cols = ["customer_id", "scenario", "changed", "cause", "change_at", "last_active_at", "churned", "persona",
                 "decline_started_at", "cause_eval", "usual_gap_days", "first_active_at", "stop_at", "currency",
                 "categories", "basket_eur", "gap_days", "sessions_per_month", "n_orders", "n_events", "params"]
    with open(os.path.join(a.out, "truth_eval.csv"), "w", newline="") as fe, \
            open(os.path.join(a.out, "truth_full.csv"), "w", newline="") as ff:
        we = csv.writer(fe)
        wf = csv.writer(ff)
        we.writerow(ev_cols)
        wf.writerow(full_cols)
        for c in custs:
            if c.n_events == 0:
                continue
            ots = sorted(c.order_times)
            if c.changed and c.change_at is not None:
                ots_pre = [t for t in ots if t < c.change_at]
            else:
                ots_pre = ots
            ug = f"{(ots_pre[-1] - ots_pre[0]) / DAY / (len(ots_pre) - 1):.1f}" if len(ots_pre) >= 2 else ""
            ch = fmt(c.change_at) if c.changed else ""
            we.writerow([c.cid, c.changed, c.persona, ch, fmt(c.last), c.cause_e, ug])
            wf.writerow([c.cid, c.scenario, c.changed, c.cause_m, ch, fmt(c.last), c.changed, c.persona, ch, c.cause_e,
                         ug, fmt(c.first), fmt(c.stop_at) if c.changed else "", c.ccy, "|".join(c.cats),
                         round(c.basket, 1), round(c.gap, 1), round(c.sess_pm, 2), len(ots), c.n_events,
                         json.dumps(c.params)])
    print(f"{len(custs)} customers, {len(g.events)} events -> {a.out}")


if __name__ == "__main__":
    main()
