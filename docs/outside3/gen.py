#!/usr/bin/env python3
"""A third outside population for Churnwatch (docs/outside3).

Usage: gen.py --out DIR [--seed N] [--scale F]

Writes DIR/events.jsonl (one event per line, sorted by occurred_at), DIR/truth_eval.csv and
DIR/truth_full.csv.  Deterministic for a seed (numpy default_rng).  See README.md.

Model in one paragraph: every customer has a business type (grocery, regular, app_daily, b2b,
quarterly, gift) that fixes the *distributions* its rhythm is drawn from; whether it churns is
drawn independently of type and rhythm.  Day by day the customer has an order-rate multiplier, an
activity multiplier, a basket multiplier, a dwell multiplier and a holiday mask; orders are a
time-warped gamma renewal process on the order rate (so rhythms are semi-regular, pauses delay
orders rather than delete them), logins and anonymous sessions are Poisson on the activity rate.
Shop-wide seasonality (sales, Black Friday, December, August), slow OU noise, personal holidays,
background episodes (pauses, squeezes, complaint spells) and traits (bargain hunting, habit
ageing, mixed currencies) apply to stayers and churners alike; the scenario then adds one
episode (stayers) or one change (churners).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np

# ----------------------------------------------------------------------------- calendar
D0 = date(2023, 1, 1)
T0S = int(datetime(2023, 1, 1, tzinfo=timezone.utc).timestamp())
D = (date(2025, 7, 1) - D0).days          # 912 days, 2023-01-01 .. 2025-06-30
DAY = 86400
TEND = T0S + D * DAY                      # exclusive


def dix(y, m, d):
    return (date(y, m, d) - D0).days


CHG_LO, CHG_HI = dix(2024, 4, 1), dix(2024, 12, 31)
EXIT_CAP = dix(2025, 5, 31)               # full leavers are gone by then (>= 1 month of silence visible)
DATES = [D0 + timedelta(days=i) for i in range(D)]
MONTH = np.array([x.month for x in DATES])
DOM = np.array([x.day for x in DATES])
WD = np.array([x.weekday() for x in DATES])
DAYS = np.arange(D)


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts)))


def window(*spans):
    m = np.zeros(D, bool)
    for a, b in spans:
        m[max(0, a):min(D, b + 1)] = True
    return m


def last_sunday(y, m):
    d = date(y, m + 1, 1) - timedelta(days=1) if m < 12 else date(y, 12, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def nth_sunday(y, m, n):
    d = date(y, m, 1)
    d += timedelta(days=(6 - d.weekday()) % 7)
    return d + timedelta(days=7 * (n - 1))


EU_DST = window(*[((last_sunday(y, 3) - D0).days, (last_sunday(y, 10) - D0).days - 1) for y in (2023, 2024, 2025)])
US_DST = window(*[((nth_sunday(y, 3, 2) - D0).days, (nth_sunday(y, 11, 1) - D0).days - 1) for y in (2023, 2024, 2025)])

SALES = window((dix(2023, 3, 13), dix(2023, 3, 19)), (dix(2024, 3, 11), dix(2024, 3, 17)), (dix(2025, 3, 10), dix(2025, 3, 16)),
               (dix(2023, 6, 20), dix(2023, 7, 10)), (dix(2024, 6, 20), dix(2024, 7, 10)), (dix(2025, 6, 20), dix(2025, 6, 30)),
               (dix(2023, 9, 18), dix(2023, 9, 24)), (dix(2024, 9, 16), dix(2024, 9, 22)),
               (0, dix(2023, 1, 10)), (dix(2023, 12, 26), dix(2024, 1, 10)), (dix(2024, 12, 26), dix(2025, 1, 10)))
BF = window((dix(2023, 11, 23), dix(2023, 11, 27)), (dix(2024, 11, 28), dix(2024, 12, 2)))
DEC = (MONTH == 12) & (DOM <= 21)
XMAS = ((MONTH == 12) & (DOM >= 23)) | ((MONTH == 1) & (DOM == 1))
B2B_XMAS = ((MONTH == 12) & (DOM >= 22)) | ((MONTH == 1) & (DOM <= 2))
VALENTINE = (MONTH == 2) & (DOM <= 13)
MOTHERS = ((MONTH == 4) & (DOM >= 28)) | ((MONTH == 5) & (DOM <= 10))
APP_RELEASES = [dix(2024, 6, 18), dix(2024, 10, 8)]   # shop app v5.0 / v5.2 (new login flow)

# ----------------------------------------------------------------------------- business types
# med: lognormal (median, sigma) across customers; rng: uniform range
TYPES = {
    "grocery":   dict(w=.19, gap=(7.5, .30), k=(3.0, 7.0), basket=(75, .35), bsig=(.20, .40), logins=(7, .35), app=(.35, .85),
                      pps=(.4, .9), nologin=(.05, .20), anon=(.05, .20), dwell=(25, .4), unit=(5, 12), mainp=(.5, .75), cpy=(.5, .4),
                      cats=["groceries", "drinks", "household", "pet", "baby_care"]),
    "regular":   dict(w=.26, gap=(55, .30), k=(2.0, 4.0), basket=(150, .45), bsig=(.25, .45), logins=(11, .35), app=(.10, .60),
                      pps=(.5, 1.0), nologin=(.05, .15), anon=(.08, .22), dwell=(45, .4), unit=(25, 60), mainp=(.5, .8), cpy=(.35, .5),
                      cats=["fashion", "shoes", "sports", "beauty", "home_decor"]),
    "app_daily": dict(w=.14, gap=(65, .35), k=(1.5, 3.0), basket=(60, .5), bsig=(.30, .50), logins=(24, .25), app=(.85, .98),
                      pps=(.35, .75), nologin=(.05, .15), anon=(.03, .10), dwell=(30, .4), unit=(12, 35), mainp=(.4, .7), cpy=(.3, .5),
                      cats=["fashion", "beauty", "electronics", "books", "toys"]),
    "b2b":       dict(w=.13, gap=(28, .25), k=(5.0, 12.0), basket=(1400, .6), bsig=(.20, .40), logins=(2.5, .5), app=(.0, .08),
                      pps=(.8, 1.5), nologin=(.5, .9), anon=(.0, .1), dwell=(60, .4), unit=(8, 40), mainp=(.4, .65), cpy=(1.0, .5),
                      cats=["office_supplies", "cleaning", "packaging", "electronics", "furniture"]),
    "quarterly": dict(w=.14, gap=(95, .20), k=(3.0, 6.0), basket=(750, .35), bsig=(.20, .35), logins=(4.5, .4), app=(.10, .50),
                      pps=(.8, 1.5), nologin=(.05, .20), anon=(.10, .25), dwell=(70, .4), unit=(90, 350), mainp=(.5, .8), cpy=(.4, .5),
                      cats=["furniture", "electronics", "outdoor", "garden", "home_decor"]),
    "gift":      dict(w=.14, gap=(60, .30), k=(1.0, 1.6), basket=(110, .45), bsig=(.30, .50), logins=(2.0, .45), app=(.20, .60),
                      pps=(.8, 1.5), nologin=(.10, .30), anon=(.10, .25), dwell=(50, .4), unit=(20, 70), mainp=(.4, .7), cpy=(.3, .5),
                      cats=["toys", "jewellery", "books", "beauty", "home_decor"]),
}
ALL_CATS = sorted({c for t in TYPES.values() for c in t["cats"]} | {"automotive", "music", "baby_gear"})
CAT_PRICE = {"fashion": .9, "shoes": 1.1, "sports": 1.0, "beauty": .6, "home_decor": 1.0, "groceries": 1.0, "drinks": .8,
             "household": .7, "pet": .8, "baby_care": .9, "electronics": 1.4, "books": .5, "toys": .8, "office_supplies": .8,
             "cleaning": .6, "packaging": .9, "furniture": 1.5, "outdoor": 1.1, "garden": .8, "jewellery": 1.3}
RETURN_P = {"fashion": .22, "shoes": .18, "electronics": .06, "sports": .08, "furniture": .04, "jewellery": .05}
CURRENCIES = {"EUR": (1.0, .56), "GBP": (0.86, .13), "USD": (1.08, .09), "CHF": (0.96, .08), "SEK": (11.3, .07),
              "DKK": (7.46, .03), "PLN": (4.35, .04)}
NOUNS = ["set", "pack", "box", "item", "kit", "bundle", "classic", "edition", "refill", "model"]
ADJS = ["eco", "premium", "mini", "pro", "soft", "urban", "family", "smart", "daily", "lite", "max", "organic"]


def season(btype):
    s = np.ones(D)
    if btype == "b2b":
        s[(MONTH == 8) & (DOM <= 20)] *= .5
        s[B2B_XMAS] *= .03
        s[(MONTH == 12) & (DOM < 22)] *= 1.15     # year-end budget
        return s, np.sqrt(np.maximum(s, .1))
    if btype == "gift":
        s *= .35
        s[DEC] *= 7
        s[VALENTINE] *= 2.5
        s[MOTHERS] *= 2.5
        s[BF] *= 3
        s[XMAS] *= .3
        return s, np.sqrt(s / .35) * .8
    f = {"grocery": (1.1, 1.2, 1.05), "regular": (1.7, 2.5, 1.3), "app_daily": (1.8, 2.6, 1.3),
         "quarterly": (1.4, 2.0, 1.1)}[btype]
    s[SALES] *= f[0]
    s[BF] *= f[1]
    s[DEC] *= f[2]
    s[XMAS] *= .6 if btype != "grocery" else 1.2
    s[MONTH == 8] *= .88
    return s, s ** .35


SEASON = {t: season(t) for t in TYPES}

STAYER_W = {"stay_steady": .19, "stay_holiday": .10, "stay_life_pause": .10, "stay_rhythm_shift": .08,
            "stay_sales_burst": .07, "stay_complaint_resolved": .08, "stay_squeeze": .08, "stay_app_update": .08,
            "stay_habit_ageing": .08, "stay_promo_dip": .07, "stay_newcomer": .04}
CHURN_W = {"chg_slow_fade": .16, "chg_basket_step": .13, "chg_activity_ramp": .15, "chg_abrupt_stop": .13,
           "chg_complaint_exit": .14, "chg_drift_promo": .13, "chg_drift_nopromo": .08, "chg_b2b_partial": .08}
CAUSE = {"chg_slow_fade": "purchase_frequency", "chg_basket_step": "order_value", "chg_activity_ramp": "activity",
         "chg_abrupt_stop": "silence", "chg_complaint_exit": "complaints", "chg_drift_promo": "drift",
         "chg_drift_nopromo": "drift", "chg_b2b_partial": "order_value"}
TRAIT_Q = {"bargain": .05, "ageing": .05}          # background rate of the two whole-history traits
REASONS = ["new baby", "illness", "moving house", "family care", "long trip abroad"]


# ----------------------------------------------------------------------------- helpers
def ramp(c, L):
    """0 before day c, rising linearly to 1 at c+L, 1 after."""
    return np.clip((DAYS - c) / max(L, 1e-9), 0, 1)


def rid(rng, n=12, alphabet="abcdefghjkmnpqrstuvwxyz23456789"):
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), n))


def hour_profile(rng, btype):
    h = np.arange(24)
    if btype == "b2b":
        p = np.exp(-.5 * ((h - rng.uniform(9, 11)) / 1.6) ** 2) + rng.uniform(.5, 1) * np.exp(-.5 * ((h - 14.5) / 1.5) ** 2)
        p[(h < 7) | (h > 18)] *= .05
    else:
        mus = np.array([7.5, 12.5, 16.0, 20.5, 23.5])
        sds = np.array([1.0, 1.0, 1.5, 1.5, 1.0])
        w = rng.dirichlet(np.array([1, 1.5, 1, 4, 1]) * 1.5)
        dist = np.minimum(np.abs(h[:, None] - mus[None]), 24 - np.abs(h[:, None] - mus[None]))
        p = (w[None] * np.exp(-.5 * (dist / sds[None]) ** 2)).sum(1)
    p = p + .003
    return p / p.sum()


def ou(rng, sigma, tau):
    phi = math.exp(-1 / tau)
    e = rng.normal(0, sigma * math.sqrt(1 - phi * phi), D)
    x = np.empty(D)
    x[0] = rng.normal(0, sigma)
    for i in range(1, D):
        x[i] = phi * x[i - 1] + e[i]
    return x


def find_promo(market, cat, lo, hi, rng, min_strength=.35, create_strength=(.55, .95)):
    """Pick an existing competitor promotion/price cut in `cat` starting in [lo, hi] (days), or create one."""
    cands = [m for m in market if m["category"] == cat and m["kind"] in ("competitor_promotion", "competitor_price_cut")
             and lo * DAY + T0S <= m["_ts"] <= hi * DAY + T0S and m["strength"] >= min_strength]
    if cands and rng.random() < .8:
        return cands[rng.integers(len(cands))]
    d = int(rng.integers(lo, hi + 1))
    ts = T0S + d * DAY + int(rng.integers(5, 10)) * 3600
    m = dict(kind="competitor_promotion", category=cat, strength=round(float(rng.uniform(*create_strength)), 2),
             _ts=ts, _end=ts + int(rng.integers(7, 29)) * DAY)
    market.append(m)
    return m


def make_market(rng):
    market = []
    for cat in ALL_CATS:
        n = rng.poisson(D / rng.uniform(55, 90))
        for d in np.sort(rng.integers(0, D, n)):
            kind = rng.choice(["competitor_promotion", "competitor_price_cut", "competitor_launch"], p=[.6, .25, .15])
            ts = T0S + int(d) * DAY + int(rng.choice([0, 6, 7, 8, 9, 10, 12])) * 3600 + int(rng.choice([0, 0, 0, 30])) * 60
            if kind == "competitor_promotion":
                end = ts + int(rng.integers(3, 22)) * DAY
            elif kind == "competitor_price_cut":
                end = None if rng.random() < .5 else ts + int(rng.integers(14, 91)) * DAY
            else:
                end = None if rng.random() < .8 else ts + int(rng.integers(30, 120)) * DAY
            market.append(dict(kind=str(kind), category=cat, strength=round(float(rng.beta(2, 3)), 2), _ts=ts, _end=end))
        for y in (2023, 2024):   # everybody runs a Black Friday promotion
            if rng.random() < .7:
                bf = dix(y, 11, 20) + int(rng.integers(0, 8))
                ts = T0S + bf * DAY + 6 * 3600
                market.append(dict(kind="competitor_promotion", category=cat, strength=round(float(rng.uniform(.3, .7)), 2),
                                   _ts=ts, _end=ts + int(rng.integers(4, 12)) * DAY))
    return market


# ----------------------------------------------------------------------------- one customer
class Cust:
    def __init__(self, idx, cid, scen, rng, market):
        self.idx, self.cid, self.scen, self.rng, self.market = idx, cid, scen, rng, market
        self.churn = scen.startswith("chg_")
        self.ev = []           # (ts, seq, dict)
        self.seq = 0
        self.orders = []       # placed order timestamps
        self.notes = []

    # -- events ---------------------------------------------------------------
    def add(self, ts, typ, **f):
        ts = int(ts)
        d = {"type": typ, "schema_version": 1, "event_id": None, "customer_id": self.cid, "occurred_at": None}
        d.update(f)
        self.seq += 1
        self.ev.append((ts, self.seq, d))

    def local_ts(self, d, n=1, prof=None):
        prof = self.prof if prof is None else prof
        if self.shift_day is not None and d >= self.shift_day and prof is self.prof:
            prof = self.prof2
        hrs = self.rng.choice(24, size=n, p=prof)
        sec = hrs * 3600 + self.rng.integers(0, 3600, n)
        return T0S + d * DAY + sec - int(self.off[d] * 3600)

    def dwell(self, d):
        x = math.exp(self.rng.normal(math.log(self.dw0 * self.dwm[d]), .9))
        return round(min(max(x, 1.0), 3600.0), 1)

    def page(self, cat=None, kind=None):
        r = self.rng
        if kind is None:
            kind = r.choice(["home", "cat", "prod", "prod", "search", "account", "deals"], p=[.15, .2, .25, .15, .1, .08, .07])
        if kind in ("cat", "prod") and cat is None:
            cat = self.cats[r.choice(len(self.cats), p=self.catp0)]
        if kind == "home":
            return "/", None
        if kind == "cat":
            return f"/c/{cat}", cat
        if kind == "prod":
            return f"/p/{cat}/{ADJS[r.integers(len(ADJS))]}-{NOUNS[r.integers(len(NOUNS))]}-{int(r.integers(1000, 99999))}", cat
        if kind == "search":
            return f"/search?q={ADJS[r.integers(len(ADJS))]}+{NOUNS[r.integers(len(NOUNS))]}", None
        if kind == "account":
            return r.choice(["/account", "/account/orders", "/account/settings", "/wishlist"]), None
        return "/deals", None

    def pv(self, ts, d, path, cat, sess, app):
        f = {"page": path, "dwell_seconds": self.dwell(d)}
        if cat is not None:
            f["category"] = cat
        elif app:
            f["category"] = None
        if sess is not None:
            f["session_id"] = sess
        self.add(ts, "page_view", **f)
        return ts + int(f["dwell_seconds"]) + int(self.rng.integers(1, 6))

    def login(self, ts, channel):
        r = self.rng
        if r.random() < self.p_fail:
            self.add(ts - int(r.integers(8, 90)), "login", channel=channel, success=False)
        if channel == "other":
            self.add(ts, "login", channel=channel)
        else:
            self.add(ts, "login", channel=channel, success=True)

    def session(self, ts, d, channel, n_pages, with_login=True, cat=None, pages=None):
        sess = "s-" + rid(self.rng, 10) if (channel == "app" or self.rng.random() < .85) else None
        if with_login:
            self.login(ts, channel)
            ts += int(self.rng.integers(2, 20))
        for i in range(n_pages):
            if pages and i < len(pages):
                path, pc = pages[i]
            else:
                path, pc = self.page(cat)
            ts = self.pv(ts, d, path, pc, sess, channel == "app")
        return ts, sess

    # -- orders -----------------------------------------------------------------
    def order_cat(self, d):
        p = self.catp0 * self.catw[:, d]
        s = p.sum()
        if s <= 0:
            p = self.catp0
            s = p.sum()
        return int(self.rng.choice(len(self.cats), p=p / s))

    def place_order(self, d, forced=False):
        r = self.rng
        ci = self.order_cat(d)
        cat = self.cats[ci]
        amt_eur = self.A * self.catf[ci] * self.valm[d] * math.exp(r.normal(0, self.bsig))
        cur = self.cur
        if self.cur2 is not None and r.random() < self.cur2_p:
            cur = self.cur2
        amount = amt_eur * CURRENCIES[cur][0]
        amount = round(amount) if cur in ("SEK", "DKK", "PLN") and r.random() < .6 else round(amount, 2)
        amount = max(amount, 0.5)
        unit = self.unit * CAT_PRICE.get(cat, 1) * CURRENCIES[cur][0]
        items = int(1 + r.poisson(max(amount / unit - 1, 0)))
        nolog = r.random() < min(.98, self.nologin + self.nologin_add[d])
        ch = "app" if r.random() < self.app_share * self.app_mult[d] else "web"
        if nolog:
            ts = int(self.local_ts(d)[0])
            if self.btype != "b2b" or r.random() < .3:   # email / newsletter link landing
                path, _ = self.page(cat, "prod")
                ts = self.pv(ts, d, path + "?utm_source=email", cat, None, False)
                if r.random() < .5:
                    ts = self.pv(ts, d, "/checkout", None, None, False)
        else:
            ts0 = int(self.local_ts(d)[0])
            if self.btype == "b2b":
                pages = [("/b2b/quick-order", None), ("/b2b/cart", None)]
                n = 2 + int(r.poisson(.5))
            else:
                pages = [self.page(cat, "prod") for _ in range(1 + int(r.poisson(self.pps * .4)))] + [("/checkout", None)]
                n = len(pages)
            ts, _ = self.session(ts0, d, ch if self.btype != "b2b" else ("other" if r.random() < .3 else "web"), n,
                                 with_login=r.random() < .85, cat=cat, pages=pages)
        oid = "ord-" + rid(r, 10, "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")
        base = {"order_id": oid, "amount": amount, "currency": cur}
        self.add(ts, "order", **base, status="placed", items=items, category=None if r.random() < .02 else cat)
        self.orders.append(ts)
        # lifecycle: cancellation or return
        if r.random() < self.p_cancel:
            self.add(ts + int(r.integers(120, 36 * 3600)), "order", **base, status="cancelled", items=items, category=cat)
        elif r.random() < RETURN_P.get(cat, .03) * self.ret_f:
            ri = int(r.integers(1, items + 1))
            ramt = round(amount * ri / items, 2)
            self.add(ts + int(r.integers(4 * DAY, 30 * DAY)), "order", order_id=oid, amount=ramt, currency=cur,
                     status="returned", items=ri, category=cat)
        # generic complaint attached to the order
        if r.random() < self.p_compl:
            cat_c = r.choice(["logistics", "product", "billing", "service", "other"], p=[.4, .3, .1, .12, .08])
            delay = r.uniform(1, 5) if cat_c == "logistics" else r.uniform(2, 14)
            self.complaint(ts + int(delay * DAY), str(cat_c), str(r.choice(["low", "medium", "high"], p=[.5, .35, .15])), "generic")
        return ts

    # -- complaints -------------------------------------------------------------
    def complaint(self, ts, cat, sev, plan):
        r = self.rng
        cid = "CMP-" + rid(r, 8, "0123456789")
        self.add(ts, "complaint", complaint_id=cid, status="opened", category=cat, severity=sev)
        t = ts
        if plan == "generic":
            if r.random() < .15:
                t += int(r.uniform(.5, 4) * DAY)
                sev = "high" if sev != "low" else "medium"
                self.add(t, "complaint", complaint_id=cid, status="escalated", category=cat, severity=sev)
            t += int((r.uniform(1, 20) if r.random() < .96 else r.uniform(30, 60)) * DAY)
            self.add(t, "complaint", complaint_id=cid, status="resolved", category=cat, severity=sev)
            if r.random() < .07:
                t += int(r.uniform(1, 10) * DAY)
                self.add(t, "complaint", complaint_id=cid, status="reopened", category=cat, severity=sev)
                t += int(r.uniform(1, 12) * DAY)
                self.add(t, "complaint", complaint_id=cid, status="resolved", category=cat, severity=sev)
        else:   # explicit plan: list of (status, delay_days, severity or None)
            for st, dd, sv in plan:
                t += int(dd * DAY)
                sev = sv or sev
                self.add(t, "complaint", complaint_id=cid, status=st, category=cat, severity=sev)
        # customer checks the complaint online now and then
        if r.random() < .5:
            d = min(D - 1, max(0, (ts - T0S) // DAY + int(r.integers(0, 3))))
            t2 = ts + int(r.uniform(.1, 3) * DAY)
            self.session(t2, d, "app" if r.random() < self.app_share else "web", 1 + int(r.poisson(.7)),
                         pages=[(f"/account/complaints/{cid}", None), ("/help/contact", None)])
        return t


def draw_type(rng):
    names = list(TYPES)
    w = np.array([TYPES[t]["w"] for t in names])
    return names[rng.choice(len(names), p=w / w.sum())]


def lognorm(r, med_sig):
    return med_sig[0] * math.exp(r.normal(0, med_sig[1]))


def U(r, lohi):
    return float(r.uniform(*lohi))


def generate_customer(idx, cid, btype, scen, rng, market, traits):
    c = Cust(idx, cid, scen, rng, market)
    r = rng
    T = TYPES[btype]
    c.btype = btype
    # ---------------- base parameters: same distributions for stayers and churners ----------------
    c.G = lognorm(r, T["gap"])
    c.k = U(r, T["k"])
    c.A = lognorm(r, T["basket"])
    c.bsig = U(r, T["bsig"])
    c.L = lognorm(r, T["logins"])
    c.app_share = U(r, T["app"])
    c.pps = U(r, T["pps"])
    c.nologin = U(r, T["nologin"])
    c.anon = U(r, T["anon"])
    c.dw0 = lognorm(r, T["dwell"])
    c.unit = U(r, T["unit"])
    c.p_fail = float(r.uniform(.005, .06))
    c.p_cancel = float(r.uniform(.005, .02) if btype == "b2b" else r.uniform(.01, .05))
    c.ret_f = float(r.uniform(.4, 1.6))
    cpy = lognorm(r, T["cpy"])                                 # complaints per year
    c.p_compl = min(.35, cpy * c.G / 365 * .7)
    # categories: main + 1..3 secondary
    k2 = int(r.integers(1, 4))
    cats = list(r.permutation(T["cats"])[:1 + k2])
    c.cats = [str(x) for x in cats]
    mp = U(r, T["mainp"])
    rest = r.dirichlet(np.ones(k2)) * (1 - mp)
    c.catp0 = np.concatenate([[mp], rest])
    c.catf = np.array([1.15] + [float(r.uniform(.55, .95)) for _ in range(k2)])
    c.catw = np.ones((len(c.cats), D))
    c.main = c.cats[0]
    # currency / timezone
    curs = list(CURRENCIES)
    c.cur = curs[r.choice(len(curs), p=np.array([CURRENCIES[x][1] for x in curs]))]
    c.cur2, c.cur2_p = None, 0.0
    if r.random() < .05 and c.cur != "EUR":
        c.cur2, c.cur2_p = "EUR", float(r.uniform(.1, .4))
    if c.cur == "USD":
        base, dst = (-5 if r.random() < .8 else -8), US_DST
    elif c.cur == "GBP":
        base, dst = 0, EU_DST
    else:
        base, dst = (2 if (c.cur == "EUR" and r.random() < .08) else 1), EU_DST
    c.off = base + dst.astype(float)
    c.prof = hour_profile(r, btype)
    c.prof2 = c.prof
    c.shift_day = None
    if btype == "b2b":
        c.wdw = np.array([1, 1.05, 1, 1, .85, .05, .02])
    else:
        c.wdw = r.gamma(8, 1 / 8, 7) * np.array([1, 1, 1, 1, 1, 1, 1]) * np.where(np.arange(7) >= 5, r.uniform(.6, 1.5), 1)
        c.wdw = c.wdw / c.wdw.mean()
    c.fav_wd = int(r.integers(0, 7))
    # start: most customers predate the window; some join during H1 2023; newcomers later
    start = 0 if r.random() < .8 else int(r.integers(1, 181))
    # ---------------- daily arrays ----------------
    s_ord, s_act = SEASON[btype]
    ordm = np.ones(D)
    act = np.ones(D)
    c.valm = np.ones(D)
    c.dwm = np.ones(D)
    ppsm = np.ones(D)
    c.nologin_add = np.zeros(D)
    c.app_mult = np.ones(D)
    anon_m = np.ones(D)
    hol = np.zeros(D, bool)
    ou_o = ou(r, .18, 40)
    ou_a = ou(r, .28, 30)
    # personal holidays every year (summer / Christmas / Easter / autumn), 4-16 days
    for y in (2023, 2024, 2025):
        for _ in range(r.poisson(1.2)):
            m = int(r.choice([3, 4, 5, 6, 7, 7, 8, 8, 10, 12]))
            if y == 2025 and m > 6:
                continue
            d0 = dix(y, m, int(r.integers(1, 28)))
            hol[d0:d0 + int(r.integers(4, 17))] = True
    if btype == "b2b":
        hol |= B2B_XMAS
    forced_orders = []
    truth = dict(change=None, cause="", full_exit=0, episode=(None, None), alive_end=None)
    # ---------------- traits (whole history) ----------------
    if traits.get("bargain"):
        ordm *= np.where(SALES | BF, r.uniform(4, 7), r.uniform(.35, .55))
        act *= np.where(SALES | BF, 1.8, .75)
        c.notes.append("bargain hunter (buys in sales)")
    if traits.get("ageing"):
        a = r.uniform(.25, .45)
        s0 = int(r.integers(0, 200))
        fade = 1 - a * ramp(s0, D - s0)
        ordm *= fade
        act *= fade ** 1.2
        c.notes.append(f"habit ageing -{a:.0%} over the period")
    # background episodes before the scenario window (same chance for everyone)
    bg_hi = dix(2024, 2, 20)
    lo = start + 60

    def bg_ok(d0, L):
        return d0 + L < bg_hi and (not c.churn or True)
    if r.random() < .10 and bg_hi - lo > 100:
        d0 = int(r.integers(lo, bg_hi - 80)); L = int(r.integers(25, 70))
        if bg_ok(d0, L):
            act[d0:d0 + L] *= r.uniform(.05, .25); ordm[d0:d0 + L] *= r.uniform(0, .15)
            rec = int(r.integers(10, 30)); ordm *= 1 - (1 - ramp(d0 + L, rec)) * (DAYS >= d0 + L) * .5
            c.notes.append(f"background pause {DATES[d0]}+{L}d")
    if r.random() < .10 and bg_hi - lo > 100:
        d0 = int(r.integers(lo, bg_hi - 100)); L = int(r.integers(40, 100))
        if bg_ok(d0, L):
            c.valm[d0:d0 + L] *= r.uniform(.5, .75)
            c.notes.append(f"background squeeze {DATES[d0]}+{L}d")
    if r.random() < .25 and bg_hi - lo > 60:
        d0 = int(r.integers(lo, bg_hi - 40)); L = int(r.integers(12, 29))
        if bg_ok(d0, L):
            hol[d0:d0 + L] = True
            c.notes.append(f"background long holiday {DATES[d0]}+{L}d")
    bg_compl = None
    if r.random() < .15 and bg_hi - lo > 60:
        bg_compl = int(r.integers(lo, bg_hi - 40))
    # ---------------- scenario ----------------
    def chg_day(lo_extra=0, hi_extra=0):
        lo_ = max(CHG_LO, start + 457) + lo_extra
        return int(r.integers(lo_, CHG_HI + 1 - hi_extra))

    def exit_at(d_end):
        d_end = int(min(d_end, EXIT_CAP))
        truth["alive_end"] = d_end
        truth["full_exit"] = 1

    def fit(cday, total):
        """Scale a planned duration so that the customer is gone by EXIT_CAP."""
        return min(1.0, (EXIT_CAP - cday) / max(total, 1))

    ep_lo, ep_hi = dix(2024, 3, 1), dix(2025, 2, 28)
    if scen == "stay_newcomer":
        start = int(r.integers(dix(2024, 1, 1), dix(2024, 10, 31)))
        act *= 1 + 1.5 * np.exp(-np.clip(DAYS - start, 0, None) / 14.0)
        truth["episode"] = (start, None)
        c.notes.append("joined " + str(DATES[start]))
    start_ts = T0S + start * DAY

    if scen == "stay_holiday":
        n = 1 + int(r.random() < .4)
        for j in range(n):
            d0 = int(r.integers(ep_lo, ep_hi)); L = int(r.integers(14, 36))
            hol[d0:d0 + L] = True
            if r.random() < .35:
                act[d0:d0 + L] = 0       # strictly silent
            if j == 0:
                truth["episode"] = (d0, d0 + L)
            c.notes.append(f"holiday {DATES[d0]} for {L}d")
    elif scen == "stay_life_pause":
        d0 = int(r.integers(ep_lo, ep_hi - 30)); L = int(r.integers(30, 96))
        act[d0:d0 + L] *= r.uniform(0, .2) if r.random() < .7 else 0
        ordm[d0:d0 + L] *= r.uniform(0, .1)
        c.dwm[d0:d0 + L] *= .6
        rec = int(r.integers(14, 46)); lvl = r.uniform(.85, 1.1)
        after = DAYS >= d0 + L
        back = np.where(after, 1 + (lvl - 1) * ramp(d0 + L, rec), 1) * np.where(after, .3 + .7 * ramp(d0 + L, rec), 1)
        ordm *= back; act *= back
        truth["episode"] = (d0, d0 + L + rec)
        c.notes.append(f"{REASONS[r.integers(len(REASONS))]}: pause {DATES[d0]} for {L}d, back over {rec}d")
    elif scen == "stay_rhythm_shift":
        d0 = int(r.integers(dix(2024, 2, 1), dix(2025, 1, 31)))
        f = r.uniform(.62, .85); tr = int(r.integers(10, 30))
        x = ramp(d0, tr)
        ordm *= 1 + (f - 1) * x
        c.valm *= 1 + (r.uniform(1.0, 1.3) - 1) * x
        act *= 1 + (r.uniform(.6, 1.2) - 1) * x
        c.shift_day = d0
        c.prof2 = hour_profile(r, btype)
        truth["episode"] = (d0, d0 + tr)
        c.notes.append(f"job change {DATES[d0]}: order rate x{f:.2f}, new daily rhythm")
    elif scen == "stay_sales_burst":
        truth["episode"] = (None, None)
    elif scen == "stay_complaint_resolved":
        d0 = int(r.integers(ep_lo, ep_hi - 20))
        truth["episode"] = (d0, d0 + 45)
        forced_orders.append(d0 - int(r.integers(2, 8)))
        c._compl_plan = ("resolved", d0)
        ordm *= np.where((DAYS >= d0) & (DAYS < d0 + int(r.integers(21, 45))), r.uniform(.3, .7), 1)
        act *= np.where((DAYS >= d0) & (DAYS < d0 + 14), 1.3, 1)
        c.notes.append(f"complaint spell from {DATES[d0]}, all resolved")
    elif scen == "stay_squeeze":
        d0 = int(r.integers(ep_lo, dix(2025, 1, 15))); L = int(r.integers(60, 151)); rec = int(r.integers(30, 76))
        lvl = r.uniform(.4, .65); end = r.uniform(.9, 1.05)
        x = np.where(DAYS < d0 + L, ramp(d0, 18) * (1 - lvl), (1 - lvl) * (1 - ramp(d0 + L, rec)) + (1 - end) * ramp(d0 + L, rec))
        c.valm *= 1 - x
        ordm *= 1 + (r.uniform(.85, 1.2) - 1) * ((DAYS >= d0) & (DAYS < d0 + L))
        # cheaper categories during the squeeze
        c.catw[0] *= 1 - .5 * x / max(1 - lvl, 1e-6)
        truth["episode"] = (d0, d0 + L + rec)
        c.notes.append(f"cost-of-living squeeze {DATES[d0]}: basket x{lvl:.2f} for {L}d, recovers over {rec}d")
    elif scen == "stay_app_update":
        d0 = APP_RELEASES[int(r.random() < .35)] + int(r.geometric(.25)) - 1
        m = r.uniform(.08, .3)
        c.app_mult = np.where(DAYS >= d0, m, 1.0)
        c.nologin_add = np.where(DAYS >= d0, r.uniform(.55, .85), 0.0)
        anon_m = np.where(DAYS >= d0, 1.6, 1.0)
        truth["episode"] = (d0, None)
        c.notes.append(f"app update {DATES[d0]}: app logins x{m:.2f}, orders via email links")
    elif scen == "stay_habit_ageing":
        truth["episode"] = (None, None)
    elif scen == "stay_promo_dip":
        m = find_promo(market, c.main, ep_lo, ep_hi, r)
        d0 = (m["_ts"] - T0S) // DAY
        pend = ((m["_end"] or m["_ts"] + 14 * DAY) - T0S) // DAY
        L = int(pend - d0 + r.integers(14, 36))
        ordm *= np.where((DAYS >= d0) & (DAYS < d0 + L), r.uniform(0, .3), 1)
        ordm *= np.where((DAYS >= d0 + L) & (DAYS < d0 + L + 21), 1.3, 1)
        act *= np.where((DAYS >= d0) & (DAYS < d0 + L), .6, 1)
        truth["episode"] = (int(d0), int(d0 + L))
        c.notes.append(f"tried rival during {m['kind']} in {c.main} {DATES[d0]}, back after {L}d")
    # ---------------- churners ----------------
    elif scen == "chg_slow_fade":
        cd = chg_day(); F = float(np.clip(r.uniform(3, 6) * c.G, 75, 270)); tail = r.uniform(20, 100)
        s = fit(cd, F + tail); F *= s; tail *= s
        x = ramp(cd, F)
        ordm *= (1 - x) ** r.uniform(1.5, 2.5)
        act *= 1 - (1 - r.uniform(.7, 1.0)) * x                     # visits go on
        act *= np.where(DAYS >= cd + F, 1 - ramp(cd + F, tail), 1)
        exit_at(cd + F + tail)
        truth["change"] = T0S + cd * DAY
        c.notes.append(f"orders fade over {F:.0f}d, visits stop {tail:.0f}d later")
    elif scen == "chg_basket_step":
        cd = chg_day(); lvl = r.uniform(.25, .5)
        if r.random() < .5:
            mid = int(r.integers(20, 46))
            x = np.where(DAYS < cd, 1, np.where(DAYS < cd + mid, (1 + lvl) / 2, lvl))
        else:
            x = np.where(DAYS < cd, 1, lvl)
        c.valm *= x
        c.catw[0] *= np.where(DAYS >= cd, r.uniform(.2, .6), 1)    # main (dearer) category fades
        ordm *= np.where(DAYS >= cd, r.uniform(.8, 1.05), 1)
        if r.random() < .55:
            e = cd + r.uniform(90, 240); tail = r.uniform(14, 45)
            s = fit(cd, e - cd + tail); e = cd + (e - cd) * s; tail *= s
            ordm *= 1 - ramp(e, tail); act *= 1 - ramp(e, tail)
            exit_at(e + tail)
            c.notes.append(f"basket x{lvl:.2f}, leaves {DATES[int(min(e + tail, EXIT_CAP))]}")
        else:
            c.notes.append(f"basket x{lvl:.2f}, keeps buying small")
        truth["change"] = T0S + cd * DAY
    elif scen == "chg_activity_ramp":
        cd = chg_day(); R = r.uniform(50, 160); tail = r.uniform(20, 60)
        s = fit(cd, R + tail); R *= s; tail *= s
        lag = R * r.uniform(0, .4)                      # orders hold up a little longer, but need visits
        floor = r.uniform(.1, .25)                      # e.g. 12 logins a month -> 2-3
        x = ramp(cd, R) ** r.uniform(.7, 1.5)
        act *= 1 - (1 - floor) * x
        c.dwm *= 1 - .6 * x
        ppsm *= 1 - .5 * x
        ordm *= 1 - ramp(cd + lag, R - lag)
        exit_at(cd + R + tail)
        truth["change"] = T0S + cd * DAY
        c.notes.append(f"activity ramps to x{floor:.2f} over {R:.0f}d (orders stop with it), silent after {tail:.0f}d more")
    elif scen == "chg_abrupt_stop":
        cd = chg_day(lo_extra=2)
        truth["abrupt"] = cd
        c.notes.append("abrupt stop")
    elif scen == "chg_complaint_exit":
        cd = chg_day(lo_extra=1, hi_extra=1)
        forced_orders.append(cd - int(r.integers(2, 9)))
        c._compl_plan = ("exit", cd)
        c.notes.append("complaint-driven exit")
    elif scen in ("chg_drift_promo", "chg_drift_nopromo"):
        lo_ = max(CHG_LO, start + 457)
        if scen == "chg_drift_promo":
            m = find_promo(market, c.main, lo_ + 5, CHG_HI - 5, r, min_strength=.4)
            p = int((m["_ts"] - T0S) // DAY)
            if r.random() < .6 and p - lo_ >= 10:
                cd = int(p - r.integers(10, min(46, p - lo_ + 1)))
                mode = "already drifting"
            else:
                cd = int(min(p + r.integers(1, 11), CHG_HI)); mode = "lured"
            c.notes.append(f"{mode}; {m['kind']} in {c.main} {DATES[p]} strength {m['strength']}")
        else:
            for _ in range(60):
                cd = int(r.integers(lo_, CHG_HI + 1))
                if not any(mm["category"] == c.main and cd - 30 <= (mm["_ts"] - T0S) // DAY <= cd + 90 for mm in market):
                    break
            p = cd + int(r.integers(15, 60))
            c.notes.append("drift, no competitor event in main category")
        Ldec = r.uniform(30, 110) if scen == "chg_drift_promo" else r.uniform(45, 120)
        tail = r.uniform(7, 45)
        s = fit(cd, (p - cd) + Ldec + tail)
        p2 = cd + (max(p, cd) - cd) * s; Ldec *= s; tail *= s
        pre = .3 * ramp(cd, max(p2 - cd, 1)) * (DAYS < p2)
        post = np.where(DAYS >= p2, .3 + .7 * ramp(p2, Ldec) ** .7, 0)
        x = np.maximum(pre, post)
        ordm *= (1 - x) ** 1.3
        act *= 1 - .95 * np.where(DAYS >= p2, .3 + .7 * ramp(p2 + r.uniform(5, 25), Ldec) ** .7, pre)
        c.catw[0] *= np.where(DAYS >= p2, .1, 1 - 2 * pre)        # main category goes to the rival first
        exit_at(p2 + Ldec + tail)
        truth["change"] = T0S + cd * DAY
    elif scen == "chg_b2b_partial":
        cd = chg_day(); M = int(r.integers(14, 57))
        x = ramp(cd, M)
        keep = int(np.argmin(c.catf[1:]) + 1) if len(c.cats) > 1 else 0
        for j in range(len(c.cats)):
            if j != keep:
                c.catw[j] *= 1 - .97 * x
        c.valm *= 1 - (1 - r.uniform(.15, .35)) * x     # small trickle orders (with the cheap category's own factor)
        ordm *= 1 - (1 - r.uniform(.4, .8)) * x
        act *= 1 - .5 * x
        truth["change"] = T0S + cd * DAY
        c.notes.append(f"moved most categories to a rival over {M}d, keeps {c.cats[keep]}")

    # ---------------- rates ----------------
    alive = np.ones(D)
    alive[:start] = 0
    if truth["alive_end"] is not None:
        alive[int(math.ceil(truth["alive_end"])):] = 0
    if "abrupt" in truth:
        alive[truth["abrupt"]:] = 0
    rate_o = s_ord * np.exp(ou_o) * ordm * (~hol) * alive
    cum = np.cumsum(rate_o)
    n_gap = int(cum[-1] / c.G * 1.6) + 8
    gaps = r.gamma(c.k, c.G / c.k, n_gap)
    first = r.uniform(0, 1) * gaps[0] if scen != "stay_newcomer" else r.uniform(.02, .2) * c.G
    thr = first + np.concatenate([[0], np.cumsum(gaps[1:])])
    thr = thr[thr < cum[-1]]
    odays = list(np.searchsorted(cum, thr))
    odays += [d for d in forced_orders if 0 <= d < D]
    if "abrupt" in truth and r.random() < .4:
        odays.append(truth["abrupt"] - 1)
    lam = c.L / 30 * c.wdw[WD] * s_act * np.exp(ou_a) * act * np.where(hol, .04, 1) * alive
    for od in sorted(odays):
        od = int(od)
        if btype == "b2b":
            while WD[od] >= 5 and od + 1 < D:
                od += 1
        elif btype == "grocery" and r.random() < .6:
            delta = (c.fav_wd - WD[od] + 3) % 7 - 3
            if 0 <= od + delta < D and alive[od + delta] > 0:
                od += delta
        c.place_order(od)
    # logins (sessions) per channel, anonymous browsing sessions
    n_app = r.poisson(lam * c.app_share * c.app_mult)
    n_web = r.poisson(lam * (1 - c.app_share))
    n_anon = r.poisson(lam * c.anon * anon_m)
    for d in np.nonzero(n_app + n_web + n_anon)[0]:
        ppm = c.pps * ppsm[d]
        for ch, n in (("app", n_app[d]), ("web", n_web[d])):
            if n:
                for ts in c.local_ts(d, n):
                    chn = "other" if (btype == "b2b" and r.random() < .25) else ch
                    c.session(int(ts), d, chn, int(r.poisson(ppm)))
        if n_anon[d]:
            for ts in c.local_ts(d, n_anon[d]):
                c.session(int(ts), d, "web", 1 + int(r.poisson(ppm * .5)), with_login=False)
    # background complaint spell (resolved)
    if bg_compl is not None:
        t = c.local_ts(bg_compl)[0]
        c.complaint(t, str(r.choice(["logistics", "product", "service"])), "medium",
                    [("escalated", r.uniform(1, 4), "high"), ("resolved", r.uniform(2, 15), None)])
    plan = getattr(c, "_compl_plan", None)
    if plan and plan[0] == "resolved":
        d0 = plan[1]
        t = int(c.local_ts(d0)[0])
        for j in range(int(r.integers(1, 4))):
            cat_c = str(r.choice(["logistics", "product", "service", "billing"], p=[.4, .35, .15, .1]))
            steps = []
            if r.random() < .5:
                steps.append(("escalated", r.uniform(.5, 4), "high"))
            steps.append(("resolved", r.uniform(2, 20), None))
            if r.random() < .3:
                steps += [("reopened", r.uniform(1, 8), None), ("resolved", r.uniform(1, 10), None)]
            c.complaint(t, cat_c, str(r.choice(["low", "medium", "high"], p=[.2, .5, .3])), steps)
            t += int(r.uniform(3, 15) * DAY)
    if plan and plan[0] == "exit":
        cd = plan[1]
        t = int(c.local_ts(cd)[0])
        t1 = t
        style = "unresolved" if r.random() < .4 else "repeated"
        n = 1 + int(r.integers(1, 3)) if style == "unresolved" else int(r.integers(2, 5))
        last = t
        for j in range(n):
            cat_c = str(r.choice(["logistics", "product", "service"], p=[.4, .35, .25]))
            sev = str(r.choice(["medium", "high"], p=[.4, .6]))
            if style == "unresolved" and j == 0:
                steps = [("escalated", r.uniform(2, 7), "high"), ("escalated", r.uniform(5, 14), None)]
            elif style == "repeated" and j < n - 1 and r.random() < .6:
                steps = [("resolved", r.uniform(2, 10), None), ("reopened", r.uniform(2, 12), "high")]
            elif r.random() < .4:
                steps = [("resolved", r.uniform(3, 12), "medium")]
            else:
                steps = [("escalated", r.uniform(1, 6), "high")]
            last = max(last, c.complaint(t, cat_c, sev, steps))
            t += int(r.uniform(4, 20) * DAY)
        # activity: surge of checking, then fades; orders stop within weeks
        d1 = (t1 - T0S) // DAY
        dl = (last - T0S) // DAY
        stop = dl + r.uniform(5, 30)
        end = min(stop + r.uniform(7, 30), EXIT_CAP)
        # rebuild post-complaint behaviour: drop generated events after first complaint that the plan forbids
        truth["change"] = t1
        truth["alive_end"] = end
        truth["full_exit"] = 1
        keep = []
        ostop = T0S + int(min(d1 + r.uniform(7, 42), stop)) * DAY
        for ev in c.ev:
            ts, _, e = ev
            if ts >= t1 and e["type"] == "order" and e["status"] == "placed" and ts > ostop:
                continue
            if ts >= t1 and e["type"] in ("login", "page_view") and r.random() < min(.95, (ts - t1) / max(end * DAY + T0S - t1, 1)):
                continue
            keep.append(ev)
        c.ev = keep
        kept_oids = {e["order_id"] for _, _, e in c.ev if e["type"] == "order" and e["status"] == "placed"}
        c.ev = [ev for ev in c.ev if ev[2]["type"] != "order" or ev[2]["order_id"] in kept_oids]
        c.orders = [ts for ts, _, e in c.ev if e["type"] == "order" and e["status"] == "placed"]
        c.notes.append(f"{style}: {n} complaints, orders stop {DATES[int(min((ostop - T0S) // DAY, D - 1))]}")
    if "abrupt" in truth:
        # a normal last day: one session (maybe with the forced order) the day before the stop
        cd = truth["abrupt"]
        t = int(c.local_ts(cd - 1)[0])
        tl, _ = c.session(t, cd - 1, "app" if r.random() < c.app_share else "web", 1 + int(r.poisson(c.pps)))
        cut = max([ts for ts, _, e in c.ev if ts < T0S + cd * DAY] + [tl])
        truth["alive_end_ts"] = cut + 1
        truth["full_exit"] = 1
    # ---------------- finalise: clip to life span ----------------
    lo_ts = max(T0S, start_ts)
    hi_ts = TEND
    if truth.get("alive_end_ts") is not None:
        hi_ts = truth["alive_end_ts"]
    elif truth["alive_end"] is not None:
        hi_ts = T0S + int(truth["alive_end"] * DAY)
    c.ev = [ev for ev in c.ev if lo_ts <= ev[0] < hi_ts]
    # a cancel/return whose placed order was clipped away cannot stay
    placed = {e["order_id"] for _, _, e in c.ev if e["type"] == "order" and e["status"] == "placed"}
    c.ev = [ev for ev in c.ev if ev[2]["type"] != "order" or ev[2]["order_id"] in placed]
    c.ev.sort(key=lambda x: (x[0], x[1]))
    if "abrupt" in truth and c.ev:
        truth["change"] = c.ev[-1][0]
    c.truth = truth
    c.start = start
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20240401)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    t_start = time.time()
    os.makedirs(a.out, exist_ok=True)
    ss = np.random.SeedSequence(a.seed)
    s_pop, s_mkt, s_ids, s_cust = ss.spawn(4)
    rp = np.random.default_rng(s_pop)
    market = make_market(np.random.default_rng(s_mkt))
    N = max(10, int(round(700 * a.scale)))
    n_churn = int(round(.3 * N))
    churn = np.zeros(N, bool)
    churn[rp.permutation(N)[:n_churn]] = True
    # scenario and traits: type drawn independently of churn
    types = [draw_type(rp) for _ in range(N)]
    sw = {k: v / sum(STAYER_W.values()) for k, v in STAYER_W.items()}
    cw = {k: v / sum(CHURN_W.values()) for k, v in CHURN_W.items()}
    scens, traits = [], []
    for i in range(N):
        t = types[i]
        if churn[i]:
            opts = {k: v for k, v in cw.items() if k != "chg_b2b_partial" or t == "b2b"}
            if t == "b2b":
                opts = {k: (v if k != "chg_b2b_partial" else .35 * sum(opts.values()) / .65) for k, v in opts.items()}
        else:
            opts = {k: v for k, v in sw.items() if k != "stay_app_update" or TYPES[t]["app"][1] >= .8}
        ks = list(opts)
        p = np.array([opts[k] for k in ks])
        scens.append(ks[rp.choice(len(ks), p=p / p.sum())])
    # traits: stayer scenarios stay_sales_burst / stay_habit_ageing force the trait; other customers get it
    # with a probability chosen so that P(trait | churner) == P(trait | stayer)
    n_st = int((~churn).sum())
    shares = {sn: sum(1 for j in range(N) if not churn[j] and scens[j] == sn) / max(n_st, 1)
              for sn in ("stay_sales_burst", "stay_habit_ageing")}
    for i in range(N):
        tr = {}
        for trait, scen_name in (("bargain", "stay_sales_burst"), ("ageing", "stay_habit_ageing")):
            share = shares[scen_name]
            q = TRAIT_Q[trait]
            if scens[i] == scen_name:
                tr[trait] = True
            elif churn[i]:
                tr[trait] = rp.random() < share + (1 - share) * q
            else:
                tr[trait] = rp.random() < q
        if scens[i] in ("stay_newcomer",):
            tr = {}
        traits.append(tr)
    # ids: random-looking, several legacy formats
    ri = np.random.default_rng(s_ids)
    ids, seen = [], set()
    while len(ids) < N:
        f = ri.random()
        if f < .7:
            x = "cu_" + rid(ri, 12)
        elif f < .9:
            x = "".join("0123456789abcdef"[j] for j in ri.integers(0, 16, 8)) + "-" + "".join("0123456789abcdef"[j] for j in ri.integers(0, 16, 4))
        else:
            x = "K" + "".join(str(j) for j in ri.integers(0, 10, 9))
        if x not in seen:
            seen.add(x)
            ids.append(x)
    # customers: churners' promos must exist before stayers' promo dips pick from the same pool -> order by index
    cust_seeds = s_cust.spawn(N)
    # customers whose scenario may add a market event go first, so that the no-promo drifters can avoid them
    creators = ("chg_drift_promo", "stay_promo_dip")
    custs = [None] * N
    for i in sorted(range(N), key=lambda i: (scens[i] not in creators, i)):
        custs[i] = generate_customer(i, ids[i], types[i], scens[i], np.random.default_rng(cust_seeds[i]), market, traits[i])
    # ---------------- merge, ids, write ----------------
    allev = []
    for c in custs:
        for ts, seq, e in c.ev:
            allev.append((ts, c.idx, seq, e))
    for j, m in enumerate(sorted(market, key=lambda m: (m["_ts"], m["category"]))):
        e = {"type": "market_event", "schema_version": 1, "event_id": None, "occurred_at": None, "kind": m["kind"],
             "category": m["category"], "strength": m["strength"], "ends_at": iso(m["_end"]) if m["_end"] else None}
        if T0S <= m["_ts"] < TEND:
            allev.append((m["_ts"], -1, j, e))
    allev.sort(key=lambda x: (x[0], x[1], x[2]))
    rb = np.random.default_rng(a.seed + 7).bytes(10 * len(allev)).hex()
    used = set()
    with open(os.path.join(a.out, "events.jsonl"), "w") as f:
        for k, (ts, ci, seq, e) in enumerate(allev):
            eid = "evt_" + rb[20 * k:20 * k + 20]
            while eid in used:
                eid += "x"
            used.add(eid)
            e["event_id"] = eid
            e["occurred_at"] = iso(ts)
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    # ---------------- truth ----------------
    rows_e, rows_f = [], []
    for c in custs:
        t = c.truth
        last = c.ev[-1][0] if c.ev else None
        ch = t["change"]
        orders = sorted(ts for ts, _, e in c.ev if e["type"] == "order" and e["status"] == "placed")
        base_orders = [o for o in orders if ch is None or o < ch]
        ug = round((base_orders[-1] - base_orders[0]) / DAY / (len(base_orders) - 1), 1) if len(base_orders) >= 2 else ""
        full = t["full_exit"]
        ep0, ep1 = t["episode"]
        row = dict(customer_id=c.cid, churned="true" if c.churn else "false", persona=c.scen,
                   decline_started_at=iso(ch) if ch is not None else "", last_active_at=iso(last) if last else "",
                   cause=CAUSE.get(c.scen, ""), usual_gap_days=ug)
        rows_e.append(row)
        rows_f.append(dict(customer_id=c.cid, scenario=c.scen, changed=int(c.churn), cause=CAUSE.get(c.scen, ""),
                           change_at=iso(ch) if ch is not None else "", last_active_at=iso(last) if last else "",
                           decline_end_at=iso(last) if (c.churn and full) else "", full_exit=full,
                           episode_start=str(DATES[ep0]) if ep0 is not None else "",
                           episode_end=str(DATES[min(ep1, D - 1)]) if ep1 is not None else "",
                           business_type=c.btype, currency=c.cur + ("/" + c.cur2 if c.cur2 else ""), main_category=c.main,
                           usual_gap_days=ug, first_event_at=iso(c.ev[0][0]) if c.ev else "", n_events=len(c.ev),
                           n_orders=len(orders), note="; ".join(c.notes)))
    cols_e = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"]
    with open(os.path.join(a.out, "truth_eval.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols_e)
        w.writeheader()
        w.writerows(sorted(rows_e, key=lambda r: r["customer_id"]))
    with open(os.path.join(a.out, "truth_full.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows_f[0]))
        w.writeheader()
        w.writerows(sorted(rows_f, key=lambda r: r["customer_id"]))
    size = os.path.getsize(os.path.join(a.out, "events.jsonl"))
    print(f"customers={N} churners={n_churn} events={len(allev)} market_events={sum(1 for x in allev if x[1] == -1)} "
          f"size={size / 1e6:.1f}MB time={time.time() - t_start:.1f}s")


if __name__ == "__main__":
    main()
