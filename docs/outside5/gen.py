#!/usr/bin/env python3
"""Outside population 5: replenishment rhythms and shop-wide disruptions.

Writes events.jsonl (replay file, one event per line with a `type` field, sorted by
occurred_at), truth_eval.csv and truth_full.csv into --out (default out/outside5/data).
The same --seed gives byte-identical files.

Usage: python docs/outside5/gen.py [--out DIR] [--seed 5150]
"""
from __future__ import annotations

import argparse
import bisect
import csv
import json
import math
import os
import random
import time
import uuid
from datetime import date, datetime, timedelta, timezone

import numpy as np

UTC = timezone.utc
D0 = date(2023, 1, 1)
D_END = date(2025, 7, 1)                      # exclusive: the period is 2023-01-01 .. 2025-06-30
NDAYS = (D_END - D0).days                     # 912
DAY = 86400
HOUR = 3600
T0 = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp())
T_END = T0 + NDAYS * DAY


def di(y, m, d):
    """Day index of a calendar date."""
    return (date(y, m, d) - D0).days


def ts(y, m, d, h=0):
    return T0 + di(y, m, d) * DAY + h * HOUR


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def day_of(t):
    return (t - T0) // DAY


# ---------------------------------------------------------------- shop-wide calendar
TRACKING_OUTAGE = (ts(2024, 10, 7), ts(2024, 10, 17))   # no page views at all (10 days)
SITE_OUTAGE = (ts(2024, 5, 14), ts(2024, 5, 16))        # nothing at all (2 days)
BLACK_FRIDAY = {2023: di(2023, 11, 24), 2024: di(2024, 11, 29)}
# the shop's own sales (start, days), about every three months
SALES = [((2023, 1, 10), 8), ((2023, 4, 18), 8), ((2023, 7, 4), 8), ((2023, 9, 26), 8),
         ((2023, 11, 24), 4), ((2024, 2, 20), 8), ((2024, 5, 21), 8), ((2024, 8, 27), 8),
         ((2024, 11, 29), 4), ((2025, 2, 25), 8), ((2025, 6, 3), 8)]
SALE_WINDOWS = [(di(*s), di(*s) + n) for s, n in SALES]
# Mother's Day by market: 2nd Sunday of May (EUR, USD), Mothering Sunday (GBP), Mors dag (SEK)
MOTHERS_DAY = {
    "EUR": [di(2023, 5, 14), di(2024, 5, 12), di(2025, 5, 11)],
    "USD": [di(2023, 5, 14), di(2024, 5, 12), di(2025, 5, 11)],
    "GBP": [di(2023, 3, 19), di(2024, 3, 10), di(2025, 3, 30)],
    "SEK": [di(2023, 5, 28), di(2024, 5, 26), di(2025, 5, 25)],
}


def _season():
    s_sess = np.ones(NDAYS)
    s_ord = np.ones(NDAYS)
    for y in (2023, 2024):
        a, b = di(y, 11, 20), di(y, 12, 24)
        s_sess[a:b], s_ord[a:b] = 1.8, 1.7                   # holiday peak
        bf = BLACK_FRIDAY[y]
        s_sess[bf:bf + 4], s_ord[bf:bf + 4] = 2.4, 2.3       # Black Friday .. Cyber Monday
        s_sess[b:di(y, 12, 27)], s_ord[b:di(y, 12, 27)] = 0.7, 0.5
        s_sess[di(y, 12, 27):di(y + 1, 1, 1)], s_ord[di(y, 12, 27):di(y + 1, 1, 1)] = 1.2, 1.1
        s_sess[di(y, 8, 1):di(y, 9, 1)] *= 0.7               # summer lull
        s_ord[di(y, 8, 1):di(y, 9, 1)] *= 0.7
    sale = np.zeros(NDAYS)
    for a, b in SALE_WINDOWS:
        sale[a:min(b, NDAYS)] = 1.0
    return s_sess, s_ord, sale


S_SESS, S_ORD, SALE_MASK = _season()
S_SESS_GEN = S_SESS * (1 + 0.3 * SALE_MASK)   # general shoppers also react to the shop's sales
S_ORD_GEN = S_ORD * (1 + 0.3 * SALE_MASK)

# ---------------------------------------------------------------- catalogue and customers
GENERAL_CATS = ["home", "kitchen", "beauty", "toys", "electronics", "apparel", "books", "garden", "sports"]
GIFT_CATS = ["beauty", "toys", "books", "home", "kitchen", "apparel"]
REPL = {  # interval days, basket EUR, items
    "pet_food": dict(iv=(28, 35), basket=(35, 80), items=(1, 4)),
    "coffee": dict(iv=(21, 35), basket=(18, 45), items=(1, 3)),
    "contact_lenses": dict(iv=(28, 35), basket=(25, 45), items=(1, 2)),
    "printer_supplies": dict(iv=(42, 60), basket=(40, 110), items=(1, 4)),
    "office_consumables": dict(iv=(14, 28), basket=(150, 900), items=(5, 60)),
}
REPL_CAT_W = [("pet_food", 0.3), ("coffee", 0.25), ("contact_lenses", 0.2), ("printer_supplies", 0.15),
              ("office_consumables", 0.1)]
# a rival's subscription promotions per replenishment category (start date, days)
RIVAL_PROMOS = {
    "pet_food": [((2023, 9, 4), 28), ((2024, 4, 8), 21), ((2024, 11, 4), 28)],
    "coffee": [((2023, 10, 16), 21), ((2024, 6, 10), 28), ((2025, 1, 13), 28)],
    "contact_lenses": [((2023, 8, 14), 35), ((2024, 3, 4), 28), ((2024, 9, 16), 21)],
    "printer_supplies": [((2024, 1, 15), 28), ((2024, 7, 8), 21), ((2025, 2, 3), 28)],
    "office_consumables": [((2023, 11, 6), 28), ((2024, 5, 27), 21), ((2024, 10, 21), 28)],
}
CURRENCIES = [("EUR", 1.0, 0.55), ("GBP", 0.86, 0.17), ("USD", 1.08, 0.16), ("SEK", 11.4, 0.12)]
TZ = {"EUR": 1, "GBP": 0, "USD": -5, "SEK": 1}
CHANNELS = ["web", "app", "other"]

# persona: (count for 700 customers, churned, cause)
PERSONAS = {
    "stay_steady": (240, 0, ""),
    "stay_repl_regular": (55, 0, ""),
    "stay_repl_skip_pause": (40, 0, ""),
    "stay_repl_bigger_pack": (35, 0, ""),
    "stay_repl_interval_change": (35, 0, ""),
    "stay_gift_buyer": (30, 0, ""),
    "stay_promo_hunter": (30, 0, ""),
    "stay_b2b_consumables": (25, 0, ""),
    "chg_repl_cancel": (45, 1, "purchase_frequency"),
    "chg_repl_rival_switch": (40, 1, "drift"),
    "chg_repl_downsize": (30, 1, "order_value"),
    "chg_repl_late_delivery": (30, 1, "complaints"),
    "chg_abrupt": (35, 1, "silence"),
    "chg_steady_fade": (30, 1, "activity"),
}
EARLIEST_CHANGE = di(2023, 7, 1)
CHURNER_LAST_STOP = T_END - 50 * DAY      # every churner is gone at least 50 days before the end


def wchoice(r, pairs):
    x = r.random() * sum(w for _, w in pairs)
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


def clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def renewal(r, m, mean_gap, shape, phase=1.0):
    """Day indices of a renewal process with gamma gaps (mean `mean_gap` days at m == 1),
    run in the operational time given by the daily multipliers m."""
    cum = np.cumsum(m).tolist()
    total = cum[-1]
    tau = r.uniform(0, mean_gap * phase)
    out = []
    while tau < total:
        i = bisect.bisect_right(cum, tau)
        if i >= NDAYS:
            break
        out.append(i)
        tau += r.gammavariate(shape, mean_gap / shape)
    return out


def in_site_outage(t, before=0):
    return SITE_OUTAGE[0] - before <= t < SITE_OUTAGE[1]


class Cust:
    def __init__(self, idx, seed, persona):
        self.idx = idx
        self.persona = persona
        self.churned = PERSONAS[persona][1]
        self.cause = PERSONAS[persona][2]
        self.r = r = random.Random(f"outside5/{seed}/{idx}")
        self.cid = f"o5-{idx:04d}"
        self.ev = []            # (t, seq, type, event_id, fields)
        self.n_ord = self.n_cmp = self.n_sess = 0
        self.cur, self.fx = wchoice(r, [((c, fx), w) for c, fx, w in CURRENCIES])
        self.tz = TZ[self.cur]
        self.hour = r.uniform(9, 21)
        self.p_login = r.uniform(0.35, 0.95)
        self.main_ch = wchoice(r, [("web", 0.5), ("app", 0.45), ("other", 0.05)])
        self.pages = r.uniform(1.8, 4.5)
        self.dwell = r.uniform(18, 75)
        self.b2b = False
        self.skus = {}
        self.change_t = None        # decline start (churners)
        self.stop_t = T_END         # no event at or after this (churners)
        self.habit_t = None         # a stayer's change of habit (pack size, interval)
        self.info = {}              # extra truth columns

    # -- primitives
    def uid(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def add(self, t, typ, fields):
        self.ev.append((int(t), len(self.ev), typ, self.uid(), fields))

    def tod(self, d):
        """A time on day d at this customer's usual hours (UTC seconds)."""
        r = self.r
        if self.b2b:
            h = clip(r.gauss(11.5, 2.2), 7.5, 17.5)
        else:
            h = clip(r.gauss(self.hour, 2.5), 6.5, 23.5)
        return T0 + d * DAY + int((h - self.tz) * HOUR) + r.randint(0, 59)

    def sku(self, cat):
        if cat not in self.skus:
            self.skus[cat] = [f"sku-{self.r.randint(10000, 99999)}" for _ in range(4)]
        return self.r.choice(self.skus[cat])

    def pages_for(self, kind, cat, fade):
        r = self.r
        pg = []
        if kind == "browse":
            n = 1 + int(r.expovariate(1.0 / max(0.3, (self.pages - 1) * fade)))
            first = r.random()
            if first < 0.35:
                pg.append(("/", None, 0.6))
            elif first < 0.75:
                pg.append((f"/c/{cat}", cat, 0.9))
            else:
                pg.append((f"/search?q={cat.replace('_', '+')}", None, 0.7))
            for _ in range(min(n, 15) - 1):
                c2 = cat if r.random() < 0.8 else r.choice(GENERAL_CATS)
                pg.append((f"/p/{c2}/{self.sku(c2)}", c2, 1.4))
        elif kind == "account":
            pg.append(("/account", None, 0.5))
            pg.append((r.choice(["/account/subscription", "/account/orders"]), None, 0.8))
            if r.random() < 0.4 * fade:
                pg.append((f"/p/{cat}/{self.sku(cat)}", cat, 1.2))
        elif kind == "cancel":
            pg += [("/account", None, 0.5), ("/account/subscription", None, 1.0),
                   ("/account/subscription/cancel", None, 1.5)]
        elif kind == "help":
            pg += [("/account/orders", None, 0.8), (r.choice(["/help/delivery", "/contact"]), None, 1.5)]
        elif kind == "order":
            if r.random() < 0.4:
                pg.append((f"/c/{cat}", cat, 0.8))
            for _ in range(1 + int(r.random() < 0.35)):
                pg.append((f"/p/{cat}/{self.sku(cat)}", cat, 1.3))
            pg += [("/cart", None, 0.7), ("/checkout", None, 1.8)]
        elif kind == "reorder":
            pg += [(f"/p/{cat}/{self.sku(cat)}", cat, 0.8), ("/checkout", None, 1.2)]
        return pg

    def session(self, t, kind, cat, fade=1.0, order=None, login_p=None):
        r = self.r
        self.n_sess += 1
        sid = f"s5-{self.idx:04d}-{self.n_sess:05d}"
        lp = self.p_login if login_p is None else login_p
        if kind in ("account", "cancel", "help") or r.random() < lp:
            ch = self.main_ch if r.random() < 0.85 else r.choice(CHANNELS)
            if r.random() < 0.02:
                self.add(t, "login", {"channel": ch, "success": False})
                t += r.randint(15, 90)
            self.add(t, "login", {"channel": ch, "success": True})
            t += r.randint(3, 30)
        dfade = 0.45 + 0.55 * fade
        for page, pcat, dm in self.pages_for(kind, cat, fade):
            dw = round(min(3600.0, r.lognormvariate(math.log(self.dwell * dm * dfade), 0.6)), 1)
            self.add(t, "page_view", {"page": page, "dwell_seconds": dw, "category": pcat, "session_id": sid})
            t += int(dw) + r.randint(2, 25)
        if order is not None:
            t += r.randint(5, 60)
            self.add(t, "order", order)
        return t

    def place_order(self, t, cat, amount_eur, items, kind="order", direct_p=0.08, p_return=0.03):
        """An order with its session (page views before it in the same session, usually)."""
        r = self.r
        if in_site_outage(t, before=3 * HOUR):   # the customer comes back after the outage
            t = SITE_OUTAGE[1] + r.randint(1, 10) * HOUR + r.randint(0, 3599)
        self.n_ord += 1
        oid = f"o5-{self.idx:04d}-{self.n_ord:04d}"
        amount = round(max(0.5, amount_eur) * self.fx, 2)
        fields = {"order_id": oid, "amount": amount, "currency": self.cur, "status": "placed",
                  "items": int(max(1, items)), "category": cat}
        if r.random() < direct_p:          # reorder link / auto-replenishment: no page views
            self.add(t, "order", fields)
            to = t
        else:
            to = self.session(t, kind, cat, order=fields, login_p=min(1.0, self.p_login + 0.1))
        x = r.random()
        if x < 0.015:
            tc = to + r.randint(int(0.2 * HOUR), 20 * HOUR)
            self.add(self._fix(tc), "order", dict(fields, status="cancelled"))
        elif x < 0.015 + p_return:
            tr = to + r.randint(5 * DAY, 25 * DAY)
            self.add(self._fix(tr), "order", dict(fields, status="returned"))
        return to

    def _fix(self, t):
        if in_site_outage(t):
            return SITE_OUTAGE[1] + self.r.randint(1, 8) * HOUR + self.r.randint(0, 3599)
        return t

    def complaint(self, t, cat, sev, p_esc, p_res, p_reopen, res_days=(1, 8)):
        r = self.r
        self.n_cmp += 1
        cmp_id = f"t5-{self.idx:04d}-{self.n_cmp:03d}"
        steps = [("opened", t)]
        cur = t
        if r.random() < p_esc:
            cur += int(r.uniform(0.5, 4) * DAY)
            steps.append(("escalated", cur))
        if r.random() < p_res:
            cur += int(r.uniform(*res_days) * DAY)
            steps.append(("resolved", cur))
            if r.random() < p_reopen:
                cur += int(r.uniform(1, 10) * DAY)
                steps.append(("reopened", cur))
                if r.random() < 0.75:
                    cur += int(r.uniform(1, 6) * DAY)
                    steps.append(("resolved", cur))
        prev = None
        for st, tt in steps:
            tt = self._fix(tt)
            if prev is not None and tt <= prev:
                tt = prev + r.randint(600, 4 * HOUR)
            prev = tt
            self.add(tt, "complaint", {"complaint_id": cmp_id, "status": st, "category": cat, "severity": sev})
        return steps[0][1]

    def background_complaints(self, a_t, b_t, orders):
        """Ordinary complaints of a customer who stays (mostly resolved)."""
        r = self.r
        rate = wchoice(r, [(0.05, 0.6), (0.2, 0.3), (0.6, 0.1)])     # per year
        n = np.random.default_rng(r.getrandbits(32)).poisson(rate * max(0, b_t - a_t) / (365 * DAY))
        for _ in range(int(n)):
            cat = wchoice(r, [("product", 0.35), ("logistics", 0.35), ("service", 0.2), ("billing", 0.07),
                              ("other", 0.03)])
            if cat in ("product", "logistics") and orders:
                t = r.choice(orders) + int(r.uniform(2, 12) * DAY)
            else:
                t = r.randint(a_t, max(a_t + 1, b_t - 1))
            if not a_t <= t < b_t:
                continue
            sev = wchoice(r, [("low", 0.45), ("medium", 0.4), ("high", 0.15)])
            self.complaint(t, cat, sev, p_esc=0.12, p_res=0.95, p_reopen=0.07)

    def ensure_recent(self, within_days, cat):
        """A stayer is seen in the last weeks of the period."""
        last = max((e[0] for e in self.ev if e[0] < T_END), default=0)
        if last < T_END - within_days * DAY:
            d = NDAYS - 1 - self.r.randint(1, int(within_days * 0.8))
            self.session(self.tod(d), "browse", cat)


# ---------------------------------------------------------------- personas
def start_day(r, latest):
    if latest <= 0 or r.random() < 0.7:
        return 0
    return r.randint(0, latest)


def gen_general(c, start, persona):
    """Ordinary shoppers: stay_steady, chg_steady_fade, chg_abrupt (general base)."""
    r = c.r
    favs = r.sample(GENERAL_CATS, r.choice([1, 2, 2, 3]))
    if persona == "chg_steady_fade":
        spm = r.uniform(8, 15)
        c.p_login = r.uniform(0.8, 0.97)
        gap = r.uniform(14, 60)
    else:
        spm = clip(r.lognormvariate(math.log(4), 0.6), 1.2, 16)
        gap = math.exp(r.uniform(math.log(12), math.log(120)))
    shape_o = r.uniform(1.5, 5)
    shape_s = r.uniform(1.0, 2.0)
    basket = clip(r.lognormvariate(math.log(55), 0.7), 12, 600)
    stop_day = min(NDAYS, day_of(c.stop_t) + 1)
    m_s = np.zeros(NDAYS)
    m_s[start:stop_day] = 1.0
    m_o = m_s.copy()
    m_s *= S_SESS_GEN
    m_o *= S_ORD_GEN
    fade = np.ones(NDAYS)
    if persona == "chg_steady_fade":
        C = day_of(c.change_t)
        ramp, hold, low = r.randint(60, 120), r.randint(30, 90), r.uniform(0.15, 0.25)
        c.info["params"] = f"ramp={ramp}d hold={hold}d low={low:.2f}"
        x = np.clip((np.arange(NDAYS) - C) / ramp, 0, 1)
        fade = 1 - (1 - low) * x
        m_s *= fade
        m_o *= 1 - 0.7 * x
        m_o[C + ramp:] = 0
        end = min(C + ramp + hold, day_of(CHURNER_LAST_STOP))
        m_s[end:] = 0
        c.stop_t = min(c.stop_t, T0 + end * DAY)
    orders = []
    for d in renewal(r, m_o, gap, shape_o, phase=1.0 if start == 0 else 0.3):
        cat = r.choice(favs)
        amount = basket * r.lognormvariate(0, 0.35)
        items = 1 + int(r.expovariate(1.0) * amount / basket)
        orders.append(c.place_order(c.tod(d), cat, amount, items, p_return=0.04))
    for d in renewal(r, m_s, 30.0 / spm, shape_s):
        c.session(c.tod(d), "browse", r.choice(favs), fade=float(fade[d]))
    end_t = c.change_t if c.churned else T_END
    c.background_complaints(T0 + start * DAY, end_t, orders)
    c.info.update(base="general", category="|".join(favs), basket_eur=round(basket, 2),
                  sessions_per_month=round(spm, 2), order_gap_days=round(gap, 1))
    if not c.churned:
        c.ensure_recent(45, favs[0])


def gen_repl(c, start, persona, cat):
    """Replenishment buyers (stayers and churners) and B2B consumables."""
    r = c.r
    spec = REPL[cat]
    c.b2b = cat == "office_consumables"
    iv = r.uniform(*spec["iv"])
    basket = r.uniform(*spec["basket"])
    items0 = r.randint(*spec["items"])
    if cat == "contact_lenses" and not c.churned and r.random() < 0.25:    # three-month packs
        iv, basket, items0 = r.uniform(84, 92), basket * 2.8, items0 * 3
    if c.b2b:
        iv = r.choice([14, 21, 21, 28]) + r.uniform(-0.5, 0.5)
        c.p_login = r.uniform(0.85, 0.99)
        c.main_ch = "web"
    jitter = r.uniform(0.8, 2.5) if not c.b2b else r.uniform(0.8, 2.0)
    spm = clip(r.lognormvariate(math.log(2.0), 0.5), 0.5, 6) * (1.5 if c.b2b else 1.0)
    gcats = r.sample(GENERAL_CATS, 2)
    C = day_of(c.change_t) if c.change_t else None
    stop_day = min(NDAYS, day_of(c.stop_t) + 1)
    p_skip = {"stay_repl_regular": 0.01, "stay_repl_skip_pause": 0.08}.get(persona, 0.02)
    pauses = []
    if persona == "stay_repl_skip_pause":
        for _ in range(r.choice([1, 1, 2])):
            y = r.choice([2023, 2024])
            a = di(y, 7, 1) + r.randint(0, 45) if r.random() < 0.7 else di(y, 12, 10) + r.randint(0, 10)
            pauses.append((a, a + r.randint(35, 70)))
        c.info["params"] = f"p_skip=0.08 pauses=" + ";".join(
            f"{(D0 + timedelta(a)).isoformat()}+{b - a}d" for a, b in pauses)
    f_pack = 1
    if persona == "stay_repl_bigger_pack":
        c.habit_t = T0 + r.randint(EARLIEST_CHANGE, di(2025, 1, 31)) * DAY
        f_pack = 2 if r.random() < 0.75 else 3
        disc = r.uniform(0.88, 0.98)
        c.info["params"] = f"pack_factor={f_pack} price_factor={f_pack * disc:.2f}"
    if persona == "stay_repl_interval_change":
        c.habit_t = T0 + r.randint(EARLIEST_CHANGE, di(2025, 1, 31)) * DAY
        g_iv, g_amt = r.uniform(1.35, 1.6), r.uniform(1.0, 1.45)
        c.info["params"] = f"interval_factor={g_iv:.2f} amount_factor={g_amt:.2f}"
    H = day_of(c.habit_t) if c.habit_t else None
    order_stop = stop_day
    if persona in ("chg_repl_cancel", "chg_repl_rival_switch"):
        order_stop = C
    if persona == "chg_repl_downsize":
        dsz, div = r.uniform(0.35, 0.55), r.uniform(0.95, 1.25)
        D = max(r.randint(75, 150), int(2.2 * iv * div))
        order_stop = min(C + D, day_of(CHURNER_LAST_STOP) - 10)
        c.info["params"] = f"amount_factor={dsz:.2f} interval_factor={div:.2f} stops_after={order_stop - C}d"
    n_late = r.randint(2, 4) if persona == "chg_repl_late_delivery" else 0
    late_orders = []
    orders = []          # placed times
    due = start + (r.uniform(0, iv) if start == 0 else r.uniform(0, 3))
    while True:
        d = int(due)
        if d >= min(order_stop, NDAYS):
            break
        iv_now, a_f, i_f = iv, 1.0, 1.0
        if H is not None and d >= H:
            if persona == "stay_repl_bigger_pack":
                iv_now, a_f, i_f = iv * f_pack, f_pack * disc, f_pack
            else:
                iv_now, a_f = iv * g_iv, g_amt
        if persona == "chg_repl_downsize" and d >= C:
            iv_now, a_f, i_f = iv * div, dsz, 0.4
        pz = next((p for p in pauses if p[0] <= d < p[1]), None)
        if pz:
            due = pz[1] + r.uniform(0, 5)
            continue
        changed = C is not None and d >= C
        skip = r.random() < p_skip and not changed
        if c.b2b:
            wd = (D0 + timedelta(d)).weekday()
            if wd >= 5:
                d += 7 - wd
            dd = D0 + timedelta(d)
            if (dd.month == 12 and dd.day >= 23) or (dd.month == 1 and dd.day <= 2):
                d = di(dd.year + (dd.month == 12), 1, 3)
                while (D0 + timedelta(d)).weekday() >= 5:
                    d += 1
            if dd.month == 8 and not changed and r.random() < 0.35:          # office closed for holidays
                skip = True
            if d >= min(order_stop, NDAYS):
                break
        if not skip:
            amount = basket * a_f * r.lognormvariate(0, 0.12)
            items = max(1, round(items0 * i_f * r.uniform(0.85, 1.15)))
            kind = "reorder" if r.random() < 0.5 else "order"
            t = c.place_order(c.tod(d), cat, amount, items, kind=kind, direct_p=0.2, p_return=0.01)
            orders.append(t)
            if persona == "chg_repl_late_delivery" and d >= C:
                late_orders.append(t)
                if len(late_orders) >= n_late:
                    break
        due += iv_now + r.gauss(0, jitter)
    if persona == "chg_repl_late_delivery":
        prev_sev = "medium"
        cmp_times = []
        for k, t in enumerate(late_orders):
            to = t + int(r.uniform(3, 9) * DAY)
            sev = "high" if (k > 0 and r.random() < 0.6) or prev_sev == "high" and r.random() < 0.5 else \
                r.choice(["medium", "high"])
            prev_sev = sev
            c.complaint(to, "logistics", sev, p_esc=0.45, p_res=0.5, p_reopen=0.3, res_days=(3, 15))
            cmp_times.append(to)
            for _ in range(r.randint(1, 2)):
                c.session(to + r.randint(1, 5 * DAY), "help", cat)
            if k == 1 and r.random() < 0.4:
                c.complaint(to + int(r.uniform(2, 6) * DAY), "service", r.choice(["medium", "high"]),
                            p_esc=0.5, p_res=0.4, p_reopen=0.2)
        c.change_t = cmp_times[0]
        stop = cmp_times[-1] + int(r.uniform(10, 45) * DAY)
        c.stop_t = min(stop, CHURNER_LAST_STOP)
        c.info["params"] = f"late_orders={len(late_orders)}"
        C = day_of(c.change_t)
        stop_day = day_of(c.stop_t) + 1
    # browsing
    m_s = np.zeros(NDAYS)
    m_s[start:stop_day] = 1.0
    m_s *= S_SESS
    for a, b in pauses:
        m_s[a:b] *= 0.25
    fade = np.ones(NDAYS)
    if persona == "chg_repl_cancel":
        m_s[C:] = 0
        c.session(c.tod(C), "cancel", cat)
        t_last = c.tod(C)
        for _ in range(r.randint(1, 4)):
            t_last = c.tod(C + r.randint(3, 45))
            c.session(t_last, "account", cat, fade=0.5)
        c.stop_t = min(CHURNER_LAST_STOP, max(e[0] for e in c.ev) + HOUR)
        c.info["params"] = "orders stop; cancel visit, then 1-4 account checks within 45 days"
    elif persona == "chg_repl_rival_switch":
        tau = r.uniform(12, 30)
        end = min(C + r.randint(30, 75), day_of(CHURNER_LAST_STOP))
        k = np.arange(NDAYS) - C
        m_s[C:] *= np.exp(-k[C:] / tau)
        m_s[end:] = 0
        fade[C:] = 0.6
        c.session(c.tod(C + r.randint(0, 6)), "cancel", cat)
        c.stop_t = min(c.stop_t, T0 + end * DAY)
        c.info["params"] = f"decay_days={tau:.0f} gone_after={end - C}d"
    elif persona == "chg_repl_downsize":
        m_s[C:] *= 0.6
        fade[C:] = 0.7
        end = min(day_of(orders[-1]) + r.randint(0, 30), day_of(CHURNER_LAST_STOP)) if orders else C
        m_s[end:] *= 0.0
        c.stop_t = min(c.stop_t, T0 + (end + 1) * DAY)
    elif persona == "chg_repl_late_delivery":
        m_s[C:] *= 0.6
    for d in renewal(r, m_s, 30.0 / spm, r.uniform(1.0, 2.0)):
        if c.b2b and (D0 + timedelta(d)).weekday() >= 5 and r.random() < 0.8:
            continue
        if r.random() < 0.4:
            c.session(c.tod(d), "account", cat, fade=float(fade[d]))
        else:
            c.session(c.tod(d), "browse", cat if r.random() < 0.5 else r.choice(gcats), fade=float(fade[d]))
    # extras: holiday gift orders and occasional other purchases (before any change)
    last_extra = min(C if C is not None else NDAYS, stop_day)
    p_gift = 0.5 if c.b2b else 0.35
    for y in (2023, 2024):
        d = di(y, 11, 22) + r.randint(0, 26)
        if start <= d < last_extra and r.random() < p_gift:
            if c.b2b:
                c.place_order(c.tod(d), cat, basket * r.uniform(0.8, 1.6), items0 * 2)
            else:
                gc = r.choice(GIFT_CATS)
                c.place_order(c.tod(d), gc, r.uniform(20, 120), r.randint(1, 3), p_return=0.05)
    if r.random() < 0.3:
        m_x = np.zeros(NDAYS)
        m_x[start:last_extra] = 1.0
        m_x *= S_ORD_GEN
        xb = clip(r.lognormvariate(math.log(40), 0.5), 10, 200)
        for d in renewal(r, m_x, r.uniform(90, 200), 2.0):
            gc = r.choice(gcats)
            c.place_order(c.tod(d), gc, xb * r.lognormvariate(0, 0.3), r.randint(1, 3), p_return=0.04)
    if persona == "stay_repl_regular" and r.random() < 0.15:     # a resolved run of late parcels
        for t in r.sample(orders, min(len(orders), r.randint(1, 2))):
            c.complaint(t + int(r.uniform(3, 8) * DAY), "logistics", r.choice(["low", "medium"]),
                        p_esc=0.05, p_res=1.0, p_reopen=0.0, res_days=(1, 4))
    end_t = c.change_t if c.churned else T_END
    c.background_complaints(T0 + start * DAY, end_t, [t for t in orders if t < end_t])
    c.info.update(base="b2b" if c.b2b else "replenishment", category=cat, basket_eur=round(basket, 2),
                  interval_days=round(iv, 1), jitter_days=round(jitter, 2), sessions_per_month=round(spm, 2))
    if not c.churned:
        c.ensure_recent(45, cat)


def gen_gift(c, start):
    r = c.r
    favs = r.sample(GIFT_CATS, 2)
    basket = clip(r.lognormvariate(math.log(60), 0.5), 20, 250)
    spm = r.uniform(0.25, 0.7)
    m_s = np.zeros(NDAYS)
    m_s[start:] = 1.0
    m_s *= S_SESS
    for d in renewal(r, m_s, 30.0 / spm, 1.3):
        c.session(c.tod(d), "browse", r.choice(favs))
    occasions = []
    for y in (2023, 2024):
        if r.random() < 0.9:
            occasions.append(di(y, 12, 1) + r.randint(0, 17))
    for md in MOTHERS_DAY[c.cur]:
        if r.random() < 0.6:
            occasions.append(md - r.randint(3, 10))
    for d in sorted(occasions):
        if d < start:
            continue
        for _ in range(r.randint(1, 4)):
            c.session(c.tod(d - r.randint(1, 20)), "browse", r.choice(favs))
        c.place_order(c.tod(d), r.choice(favs), basket * r.lognormvariate(0, 0.3), r.randint(1, 3), p_return=0.05)
        if r.random() < 0.25:
            c.place_order(c.tod(d + r.randint(1, 7)), r.choice(favs), basket * r.lognormvariate(-0.3, 0.3), 1)
    c.info.update(base="gift", category="|".join(favs), basket_eur=round(basket, 2),
                  sessions_per_month=round(spm, 2))
    c.background_complaints(T0 + start * DAY, T_END, [])
    c.ensure_recent(100, favs[0])


def gen_promo(c, start):
    r = c.r
    favs = r.sample(GENERAL_CATS, r.choice([1, 2, 3]))
    basket = clip(r.lognormvariate(math.log(70), 0.6), 20, 400)
    spm = r.uniform(0.4, 1.0)
    m_s = np.zeros(NDAYS)
    m_s[start:] = 1.0
    for a, b in SALE_WINDOWS:
        m_s[max(0, a - 7):min(b, NDAYS)] *= r.uniform(6, 12)
    m_s *= S_SESS
    for d in renewal(r, m_s, 30.0 / spm, 1.3):
        c.session(c.tod(d), "browse", r.choice(favs))
    orders = []
    for a, b in SALE_WINDOWS:
        if a < start or a >= NDAYS:
            continue
        if r.random() < 0.85:
            for _ in range(1 + int(r.random() < 0.3)):
                d = r.randint(a, min(b, NDAYS) - 1)
                orders.append(c.place_order(c.tod(d), r.choice(favs), basket * r.lognormvariate(0, 0.3),
                                            r.randint(1, 5), p_return=0.05))
    c.info.update(base="promo", category="|".join(favs), basket_eur=round(basket, 2),
                  sessions_per_month=round(spm, 2))
    c.background_complaints(T0 + start * DAY, T_END, orders)
    c.ensure_recent(45, favs[0])


# ---------------------------------------------------------------- market events
def gen_market(seed):
    r = random.Random(f"outside5/{seed}/market")
    out = []

    def add(t, kind, cat, strength, days):
        if in_site_outage(t):
            t = SITE_OUTAGE[1] + r.randint(1, 6) * HOUR
        f = {"kind": kind, "category": cat, "strength": round(strength, 2), "ends_at": iso(t + days * DAY)}
        out.append((t, len(out), "market_event", str(uuid.UUID(int=r.getrandbits(128), version=4)), f))

    for cat in GENERAL_CATS + list(REPL):
        d = r.expovariate(3.5 / 365)
        while d < NDAYS:
            kind = wchoice(r, [("competitor_promotion", 0.5), ("competitor_price_cut", 0.3),
                               ("competitor_launch", 0.2)])
            days = {"competitor_promotion": r.randint(7, 21), "competitor_price_cut": r.randint(14, 60),
                    "competitor_launch": r.randint(30, 90)}[kind]
            add(T0 + int(d) * DAY + r.randint(5, 10) * HOUR, kind, cat, r.uniform(0.2, 0.9), days)
            d += r.expovariate(3.5 / 365)
    for cat, promos in RIVAL_PROMOS.items():
        for (y, m, dd), days in promos:
            add(ts(y, m, dd, 6), "competitor_promotion", cat, r.uniform(0.75, 0.95), days)
    return out


# ---------------------------------------------------------------- main
def plan_personas(n_total, r):
    names = list(PERSONAS)
    counts = {p: max(1, round(PERSONAS[p][0] * n_total / 700)) for p in names}
    lst = [p for p in names for _ in range(counts[p])]
    r.shuffle(lst)
    return lst


def build(idx, seed, persona):
    c = Cust(idx, seed, persona)
    r = c.r
    last_start = di(2024, 6, 30)
    if persona.startswith("stay_"):
        s = start_day(r, last_start)
        if persona in ("stay_steady",):
            gen_general(c, s, persona)
        elif persona == "stay_gift_buyer":
            gen_gift(c, s)
        elif persona == "stay_promo_hunter":
            gen_promo(c, s)
        elif persona == "stay_b2b_consumables":
            gen_repl(c, s, persona, "office_consumables")
        else:
            gen_repl(c, s, persona, wchoice(r, REPL_CAT_W))
        return c
    # churners: a change date with enough history before it and time after it
    if persona == "chg_repl_rival_switch":
        cat = wchoice(r, REPL_CAT_W)
        choices = [(di(*p), n) for p, n in RIVAL_PROMOS[cat] if di(*p) >= EARLIEST_CHANGE]
        pd, pn = r.choice(choices)
        C = pd + r.randint(1, min(10, pn - 1))     # switches while the promotion runs
    else:
        cat = wchoice(r, REPL_CAT_W)
        latest = {"chg_repl_cancel": di(2025, 3, 31), "chg_repl_downsize": di(2024, 12, 31),
                  "chg_repl_late_delivery": di(2024, 10, 31), "chg_abrupt": di(2025, 3, 31),
                  "chg_steady_fade": di(2024, 10, 31)}[persona]
        C = r.randint(EARLIEST_CHANGE, latest)
    s = start_day(r, C - 200)
    if s > C - 200:
        s = 0
    c.change_t = T0 + C * DAY
    if persona == "chg_abrupt":
        c.stop_t = c.change_t
        c.info["params"] = "everything stops at decline_started_at"
        if r.random() < 0.6:
            gen_general(c, s, persona)
        else:
            gen_repl(c, s, persona, cat)
    elif persona == "chg_steady_fade":
        c.stop_t = CHURNER_LAST_STOP
        gen_general(c, s, persona)
    else:
        c.stop_t = CHURNER_LAST_STOP
        gen_repl(c, s, persona, cat)
    return c


def finalize(c):
    """Period and disruption filters, churner truncation, lifecycle consistency."""
    ev = sorted(c.ev, key=lambda e: (e[0], e[1]))
    out = []
    placed, closed, cstate = set(), set(), {}
    allowed = {None: {"opened"}, "opened": {"escalated", "resolved"}, "escalated": {"resolved"},
               "resolved": {"reopened"}, "reopened": {"escalated", "resolved"}}
    for e in ev:
        t, _, typ, _, f = e
        if t < T0 or t >= T_END or t >= c.stop_t:
            continue
        if SITE_OUTAGE[0] <= t < SITE_OUTAGE[1]:
            continue
        if typ == "page_view" and TRACKING_OUTAGE[0] <= t < TRACKING_OUTAGE[1]:
            continue
        if typ == "order":
            oid = f["order_id"]
            if f["status"] == "placed":
                placed.add(oid)
            elif oid not in placed or oid in closed:
                continue
            else:
                closed.add(oid)
        if typ == "complaint":
            k = f["complaint_id"]
            if f["status"] not in allowed[cstate.get(k)]:
                continue
            cstate[k] = f["status"]
        out.append(e)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="out/outside5/data")
    ap.add_argument("--seed", type=int, default=5150)
    ap.add_argument("--customers", type=int, default=700)
    a = ap.parse_args()
    t_start = time.time()
    os.makedirs(a.out, exist_ok=True)
    r = random.Random(f"outside5/{a.seed}/plan")
    personas = plan_personas(a.customers, r)
    allev = []
    truth = []
    for i, p in enumerate(personas, start=1):
        c = build(i, a.seed, p)
        evs = finalize(c)
        for t, seq, typ, eid, f in evs:
            allev.append((t, i, seq, typ, eid, c.cid, f))
        placed = [e[0] for e in evs if e[2] == "order" and e[4]["status"] == "placed"]
        ref = [t for t in placed if c.change_t is None or not c.churned or t < c.change_t]
        gap = "" if len(ref) < 2 else f"{(ref[-1] - ref[0]) / (len(ref) - 1) / DAY:.2f}"
        truth.append(dict(
            customer_id=c.cid, churned=c.churned, persona=p,
            decline_started_at=iso(c.change_t) if c.churned else "",
            last_active_at=iso(evs[-1][0]) if evs else "", cause=c.cause, usual_gap_days=gap,
            first_active_at=iso(evs[0][0]) if evs else "",
            stop_at=iso(c.stop_t) if c.churned else "",
            habit_change_at=iso(c.habit_t) if c.habit_t else "",
            currency=c.cur, n_events=len(evs), n_orders=len(placed),
            **{k: c.info.get(k, "") for k in ("base", "category", "basket_eur", "interval_days", "jitter_days",
                                              "sessions_per_month", "order_gap_days", "params")}))
    for t, seq, typ, eid, f in gen_market(a.seed):
        allev.append((t, 0, seq, typ, eid, None, f))
    allev.sort(key=lambda e: (e[0], e[1], e[2]))
    with open(os.path.join(a.out, "events.jsonl"), "w", encoding="utf-8", newline="\n") as fh:
        for t, _, _, typ, eid, cid, f in allev:
            d = {"type": typ, "schema_version": 1, "event_id": eid}
            if cid:
                d["customer_id"] = cid
            d["occurred_at"] = iso(t)
            d.update(f)
            fh.write(json.dumps(d, separators=(",", ":")) + "\n")
    eval_cols = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause",
                 "usual_gap_days"]
    with open(os.path.join(a.out, "truth_eval.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=eval_cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(truth)
    full_cols = ["customer_id", "scenario", "changed", "cause", "change_at", "last_active_at", "churned", "persona",
                 "decline_started_at", "usual_gap_days", "first_active_at", "stop_at", "habit_change_at", "base",
                 "category", "currency", "basket_eur", "interval_days", "jitter_days", "sessions_per_month",
                 "order_gap_days", "n_orders", "n_events", "params"]
    with open(os.path.join(a.out, "truth_full.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=full_cols, lineterminator="\n")
        w.writeheader()
        for row in truth:
            w.writerow(dict(row, scenario=row["persona"], changed=row["churned"],
                            change_at=row["decline_started_at"]))
    size = os.path.getsize(os.path.join(a.out, "events.jsonl"))
    print(f"{len(truth)} customers ({sum(x['churned'] for x in truth)} churners), {len(allev)} events, "
          f"{size / 1e6:.1f} MB, {time.time() - t_start:.1f} s -> {a.out}")


if __name__ == "__main__":
    main()
