#!/usr/bin/env python3
"""Outside population 11: prepaid mobile telecom (an operator's app and web self-care).

Written without reading Churnwatch's detection or stream code; see README.md next to this file.

Usage: python gen.py [--seed 1111] [--scale 1] [--out out/outside11/data] [--validate]

Writes events.jsonl (replay format, sorted by instant), truth_full.csv and truth_eval.csv.
Standard library + numpy; jsonschema only for --validate.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

# ---------------------------------------------------------------------------------------------
# calendar

D0 = date(2023, 1, 1)
D1 = date(2025, 6, 30)
ND = (D1 - D0).days + 1
EPOCH_S0 = int(datetime(2023, 1, 1, tzinfo=timezone.utc).timestamp())
END_S = EPOCH_S0 + ND * 86400  # 2025-07-01T00:00:00Z, exclusive
DATES = [D0 + timedelta(days=i) for i in range(ND)]
DOW = np.array([x.weekday() for x in DATES])
DOM = np.array([x.day for x in DATES])
MON = np.array([x.month for x in DATES])
YEAR = np.array([x.year for x in DATES])
FULL_EXIT_CAP = (date(2025, 5, 10) - D0).days  # full-exit leavers are gone by then


def didx(s: str) -> int:
    return (date.fromisoformat(s) - D0).days


def day_s(d: int) -> int:
    return EPOCH_S0 + d * 86400


def fmt_ts(ms: int, off: int | None = None, with_ms: bool = False) -> str:
    s, r = divmod(ms, 1000)
    if off is not None:
        s += off * 60
    t = time.gmtime(s)
    out = "%04d-%02d-%02dT%02d:%02d:%02d" % t[:6]
    if with_ms:
        out += ".%03d" % r
    if off is None:
        return out + "Z"
    a = abs(off)
    return out + ("+" if off >= 0 else "-") + "%02d:%02d" % (a // 60, a % 60)


def fmt_truth(ms: int | None) -> str:
    return "" if ms is None else fmt_ts(ms, None, True)


_OFF_CACHE: dict[str, np.ndarray] = {}


def offsets(zone: str) -> np.ndarray:
    """UTC offset in minutes at 12:00 local on each day (used for the whole day)."""
    if zone not in _OFF_CACHE:
        zi = ZoneInfo(zone)
        _OFF_CACHE[zone] = np.array(
            [int(datetime(x.year, x.month, x.day, 12, tzinfo=zi).utcoffset().total_seconds() // 60) for x in DATES])
    return _OFF_CACHE[zone]


# ---------------------------------------------------------------------------------------------
# countries, prices

COUNTRIES = {
    # weight, zone, currency, EUR->local for handsets, airtime ladder, minimum (keep-alive) top-up,
    # typical monthly airtime spend, 7/30/60-day bundle ladders, roaming packs, payday days of month,
    # travel destinations, whether home-region roaming is free (EU roam-like-at-home)
    "GB": dict(w=150, tz="Europe/London", cur="GBP", fx=0.86, topup=[5, 10, 15, 20, 25, 30], keep=5,
               spend=20.0, b7=[3, 5], b30=[10, 15, 20, 25], b60=[30, 35, 40], roam=[6, 10, 15, 25],
               pay=set(range(25, 32)) | {1}, dest=["Europe/Madrid", "Europe/Paris", "America/New_York", "Asia/Dubai",
                                                   "Europe/Athens", "Asia/Kolkata"], eu=False, pricing="99"),
    "DE": dict(w=120, tz="Europe/Berlin", cur="EUR", fx=1.0, topup=[5, 10, 15, 20, 25, 30, 50], keep=5,
               spend=18.0, b7=[2.99, 4.99], b30=[9.99, 12.99, 17.99, 24.99], b60=[29.99, 39.99],
               roam=[5.99, 9.99, 14.99], pay=set(range(28, 32)) | {1, 2, 3},
               dest=["Europe/Istanbul", "America/New_York", "Asia/Bangkok", "Africa/Cairo", "Europe/Zurich"],
               eu=True, pricing="99"),
    "PL": dict(w=90, tz="Europe/Warsaw", cur="PLN", fx=4.3, topup=[5, 10, 20, 25, 30, 40, 50, 100], keep=5,
               spend=35.0, b7=[9, 10], b30=[25, 30, 35, 40], b60=[60, 80], roam=[15, 25, 40],
               pay={8, 9, 10, 11, 28, 29, 30, 31}, dest=["Europe/London", "Asia/Dubai", "Europe/Istanbul", "Africa/Cairo"],
               eu=True, pricing="9"),
    "ZA": dict(w=110, tz="Africa/Johannesburg", cur="ZAR", fx=20.0, topup=[10, 20, 29, 50, 100, 150, 200], keep=10,
               spend=160.0, b7=[29, 49], b30=[99, 149, 199, 299], b60=[299, 399], roam=[199, 349, 599],
               pay={24, 25, 26, 27, 1, 2, 3}, dest=["Africa/Nairobi", "Asia/Dubai", "Europe/London", "Africa/Harare"],
               eu=False, pricing="9"),
    "IN": dict(w=90, tz="Asia/Kolkata", cur="INR", fx=90.0, topup=[155, 199, 239, 299, 349, 479, 719], keep=155,
               spend=260.0, b7=[19, 29], b30=[58, 98, 181], b60=[479, 579], roam=[575, 895, 2875],
               pay={1, 2, 3, 4, 5, 6, 7}, dest=["Asia/Dubai", "Asia/Singapore", "Europe/London", "Asia/Riyadh"],
               eu=False, pricing="9",
               validity={155: 24, 199: 28, 239: 28, 299: 28, 349: 28, 479: 56, 719: 84}),
    "MX": dict(w=90, tz="America/Mexico_City", cur="MXN", fx=19.0, topup=[20, 30, 50, 100, 150, 200, 300, 500],
               keep=20, spend=180.0, b7=[50, 60], b30=[100, 150, 200, 300], b60=[300, 400], roam=[100, 200, 350],
               pay={14, 15, 16, 29, 30, 31, 1}, dest=["America/Los_Angeles", "America/Chicago", "America/New_York"],
               eu=False, pricing="9"),
}
CC = list(COUNTRIES)
CURRENCY_KEEP = {v["cur"]: v["keep"] for v in COUNTRIES.values()}

# handsets on sale (EUR list price, release date)
PHONES = [("galaxy-a14", 179, "2022-12-01"), ("nokia-g22", 169, "2023-03-01"), ("redmi-note-12", 229, "2023-03-25"),
          ("galaxy-s23", 899, "2023-02-17"), ("iphone-14", 799, "2022-09-16"), ("moto-g54", 199, "2023-09-20"),
          ("iphone-15", 949, "2023-09-22"), ("galaxy-a15", 199, "2023-12-20"), ("redmi-note-13", 249, "2024-01-15"),
          ("galaxy-s24", 899, "2024-01-31"), ("pixel-8a", 549, "2024-05-14"), ("iphone-16", 949, "2024-09-20"),
          ("galaxy-a16", 229, "2024-10-20"), ("galaxy-s25", 899, "2025-02-07"), ("iphone-16e", 699, "2025-02-28")]
PHONES = [(m, p, didx(r)) for m, p, r in PHONES]

MARKET_CATS = ["topup", "data_bundle", "roaming_pack", "device"]

# strong rival campaigns (category, kind, start, days, strength); the first six are the ones
# port-out leavers and exposed stayers are tied to
CAMPAIGNS = [
    ("topup", "competitor_promotion", "2024-02-05", 28, 0.78),
    ("data_bundle", "competitor_price_cut", "2024-04-15", 42, 0.82),
    ("topup", "competitor_price_cut", "2024-07-01", 35, 0.80),
    ("data_bundle", "competitor_promotion", "2024-09-09", 30, 0.84),
    ("topup", "competitor_promotion", "2024-11-25", 28, 0.86),
    ("data_bundle", "competitor_promotion", "2025-02-03", 28, 0.79),
]
EXTRA_STRONG = [
    ("roaming_pack", "competitor_promotion", "2024-06-10", 45, 0.72),
    ("device", "competitor_launch", "2024-09-20", None, 0.70),
]

SCENARIOS = [
    # name, count, cause (measure.py's vocabulary; "" for stayers)
    ("stay_regular", 150, ""),
    ("stay_auto_topup", 45, ""),
    ("stay_traveller", 40, ""),
    ("stay_seasonal", 40, ""),
    ("stay_bundle_switch", 40, ""),
    ("stay_complaint_resolved", 40, ""),
    ("stay_rival_exposed", 40, ""),
    ("stay_light", 60, ""),
    ("chg_port_out", 40, "purchase_frequency"),
    ("chg_second_sim", 35, "order_value"),
    ("chg_unresolved_complaint", 35, "complaints"),
    ("chg_slow_drift", 30, "drift"),
    ("chg_abrupt", 25, "silence"),
    ("chg_number_parked", 30, "activity"),
]
CAUSES = {"purchase_frequency", "order_value", "activity", "silence", "complaints", "drift"}

# pages: key -> (app path, web path, category, median dwell seconds)
PAGES = {
    "home": ("/app/home", "/", None, 6), "balance": ("/app/balance", "/my/balance", None, 8),
    "usage": ("/app/usage", "/my/usage", None, 15), "history": ("/app/usage/history", "/my/usage/history", None, 25),
    "topup": ("/app/topup", "/top-up", "topup", 12), "topup_confirm": ("/app/topup/confirm", "/top-up/confirm", "topup", 10),
    "auto": ("/app/topup/auto", "/top-up/auto", "topup", 30),
    "auto_confirm": ("/app/topup/auto/confirm", "/top-up/auto/confirm", "topup", 12),
    "bundles": ("/app/bundles", "/bundles", "data_bundle", 18),
    "bundle": ("/app/bundles/{slug}", "/bundles/{slug}", "data_bundle", 25),
    "bundle_confirm": ("/app/bundles/{slug}/confirm", "/bundles/{slug}/checkout", "data_bundle", 12),
    "offers": ("/app/offers", "/offers", None, 15), "offer": ("/app/offers/{oid}", "/offers/{oid}", None, 20),
    "phones": ("/app/shop/phones", "/shop/phones", "device", 20),
    "phone": ("/app/shop/phones/{model}", "/shop/phones/{model}", "device", 45),
    "basket": ("/app/shop/basket", "/shop/basket", "device", 20),
    "checkout": ("/app/shop/checkout", "/shop/checkout", "device", 60),
    "roaming": ("/app/roaming", "/roaming", "roaming_pack", 15),
    "roam_zone": ("/app/roaming/{zone}", "/roaming/{zone}", "roaming_pack", 25),
    "roam_confirm": ("/app/roaming/{zone}/confirm", "/roaming/{zone}/checkout", "roaming_pack", 12),
    "roam_usage": ("/app/roaming/usage", "/my/roaming-usage", "roaming_pack", 10),
    "support": ("/app/support", "/help", None, 12),
    "netstatus": ("/app/support/network-status", "/help/network-status", None, 20),
    "coverage": ("/app/support/coverage-map", "/help/coverage-map", None, 40),
    "contact": ("/app/support/contact", "/help/contact", None, 35),
    "billing_help": ("/app/support/billing", "/help/billing", None, 30),
    "tickets": ("/app/support/tickets", "/my/tickets", None, 15),
    "ticket": ("/app/support/tickets/{cid}", "/my/tickets/{cid}", None, 25),
    "account": ("/app/account", "/my/account", None, 10),
    "settings": ("/app/account/settings", "/my/account/settings", None, 15),
    "sim": ("/app/account/sim", "/my/account/sim", None, 15), "puk": ("/app/account/puk", "/my/account/puk", None, 20),
    "portout": ("/app/account/port-out", "/my/account/port-out", None, 30),
    "pac": ("/app/account/pac-code", "/my/account/pac-code", None, 30),
    "switching": ("/app/support/switching-provider", "/help/switching-provider", None, 40),
    "unused": ("/app/support/unused-credit", "/help/unused-credit", None, 30),
    "welcome": ("/app/welcome", "/welcome", None, 20),
}
ROAM_ZONES = {"Europe/Madrid": "europe", "Europe/Paris": "europe", "Europe/Athens": "europe", "Europe/London": "europe",
              "Europe/Zurich": "europe", "Europe/Istanbul": "turkey", "America/New_York": "usa-canada",
              "America/Chicago": "usa-canada", "America/Los_Angeles": "usa-canada", "Asia/Dubai": "middle-east",
              "Asia/Riyadh": "middle-east", "Asia/Kolkata": "asia", "Asia/Bangkok": "asia", "Asia/Singapore": "asia",
              "Africa/Cairo": "africa", "Africa/Nairobi": "africa", "Africa/Harare": "africa"}

# background complaint types: name -> (contract category, severities with weights, days to resolve)
CTYPES = {
    "network": ("product", (("low", .15), ("medium", .55), ("high", .30)), (3, 21), "help_network"),
    "overcharge": ("billing", (("medium", .5), ("high", .5)), (2, 14), "help_billing"),
    "failed_topup": ("billing", (("medium", .6), ("high", .4)), (1, 5), "topup_fail"),
    "roaming_charges": ("billing", (("medium", .4), ("high", .6)), (4, 20), "help_billing"),
    "rude_service": ("service", (("low", .4), ("medium", .5), ("high", .1)), (1, 7), "contact"),
    "sim_swap": ("other", (("medium", .7), ("high", .3)), (1, 6), "contact"),
    "device_delivery": ("logistics", (("low", .3), ("medium", .6), ("high", .1)), (2, 10), "contact"),
    "device_fault": ("product", (("medium", .6), ("high", .4)), (3, 15), "contact"),
}


def pretty_price(eur: float, c: dict) -> float:
    x = eur * c["fx"]
    if c["pricing"] == "99":
        return round(max(1, round(x / 10.0)) * 10 - 0.01, 2)
    step = 10 if x < 1000 else 100
    if c["cur"] == "INR":
        step = 100 if x < 5000 else 500
    return float(max(step, round(x / step) * step) - 1)


def nearest(ladder, target):
    arr = np.log(np.array(ladder, dtype=float))
    return int(np.argmin(np.abs(arr - np.log(max(target, 1e-9)))))


# ---------------------------------------------------------------------------------------------
# market events

def make_market(seed: int):
    rng = np.random.default_rng([seed, 9_000_001])
    out = []  # (start_s, kind, category, strength, end_s or None, end_mode) end_mode: "set", "null", "absent"

    def add(d, kind, cat, strength, dur, hour=6):
        s = day_s(d) + hour * 3600 + int(rng.integers(0, 4)) * 900
        if dur is None:
            mode = "null" if rng.random() < 0.5 else "absent"
            out.append((s, kind, cat, round(float(strength), 2), None, mode))
        else:
            out.append((s, kind, cat, round(float(strength), 2), s + int(dur) * 86400, "set"))

    # background rival activity per category
    spec = {"topup": (25, 70, [("competitor_promotion", .55), ("competitor_price_cut", .30), ("competitor_launch", .15)]),
            "data_bundle": (25, 65, [("competitor_promotion", .50), ("competitor_price_cut", .40), ("competitor_launch", .10)]),
            "roaming_pack": (40, 100, [("competitor_promotion", .65), ("competitor_price_cut", .30), ("competitor_launch", .05)]),
            "device": (45, 110, [("competitor_promotion", .60), ("competitor_price_cut", .30), ("competitor_launch", .10)])}
    for cat, (lo, hi, kinds) in spec.items():
        d = int(rng.integers(3, lo))
        while d < ND - 3:
            ks = [k for k, _ in kinds]
            k = ks[int(rng.choice(len(ks), p=[p for _, p in kinds]))]
            if cat == "roaming_pack" and MON[d] in (6, 7, 12):
                strength = rng.uniform(0.2, 0.55)
            else:
                strength = rng.uniform(0.1, 0.5)
            dur = None if k == "competitor_launch" else (int(rng.integers(7, 31)) if k == "competitor_promotion"
                                                         else int(rng.integers(14, 61)))
            add(d, k, cat, strength, dur)
            d += int(rng.integers(lo, hi))
    # yearly: rivals' handset launches (Galaxy S in Jan/Feb, iPhone in September), Black Friday
    # promotions on handsets and data, summer roaming promotions
    for s in ["2023-02-01", "2024-01-17", "2025-01-22", "2023-09-13", "2024-09-10"]:
        add(didx(s), "competitor_launch", "device", rng.uniform(0.3, 0.5), None, hour=17)
    for s in ["2023-11-20", "2024-11-25"]:
        add(didx(s), "competitor_promotion", "device", rng.uniform(0.35, 0.6), 8)
        add(didx(s) + 1, "competitor_promotion", "data_bundle", rng.uniform(0.35, 0.55), 10)
    for s in ["2023-06-05", "2025-06-02"]:
        add(didx(s), "competitor_promotion", "roaming_pack", rng.uniform(0.3, 0.5), 40)
    for cat, kind, s, dur, st in CAMPAIGNS + EXTRA_STRONG:
        out.append((day_s(didx(s)) + 6 * 3600, kind, cat, st, None if dur is None else day_s(didx(s)) + 6 * 3600 + dur * 86400,
                    "set" if dur is not None else "null"))
    out.sort(key=lambda x: (x[0], x[2], x[1]))
    events = []
    for i, (s, kind, cat, st, e, mode) in enumerate(out):
        ev = {"type": "market_event"}
        if rng.random() < 0.5:
            ev["schema_version"] = 1
        ev.update(event_id=f"mkt11-{i + 1:04d}", occurred_at=fmt_ts(s * 1000), kind=kind, category=cat, strength=st)
        if mode == "set":
            ev["ends_at"] = fmt_ts(e * 1000)
        elif mode == "null":
            ev["ends_at"] = None
        events.append((s * 1000, -1, i, ev))
    return events


def campaign_start_s(k: int) -> int:
    return day_s(didx(CAMPAIGNS[k][2])) + 6 * 3600


# ---------------------------------------------------------------------------------------------
# customers

class Customer:
    def __init__(self, idx: int, scen: str, cause: str, seed: int, k_in_scen: int):
        self.idx, self.scen, self.cause = idx, scen, cause
        self.cid = f"pm11-{idx + 1:04d}"
        self.rng = rng = np.random.default_rng([seed, idx])
        self.k = k_in_scen
        self.ev = []  # (ms, seq, dict)
        self.seq = 0
        self.nsess = 0
        self.norder = 0
        self.ncompl = 0
        self.placed = []  # (ms, amount, category)
        self.placed_meta = []  # (s, order id, amount, category) in the order they were written
        self.notes = []
        # truth
        self.change_ms = None
        self.shift_ms = None
        self.decline_end_ms = None
        self.full_exit = ""
        self.cut_s = END_S  # nothing at or after this instant
        self.start_s = EPOCH_S0

        # --- country and formats
        w = np.array([COUNTRIES[c]["w"] for c in CC], float)
        self.cc = CC[int(rng.choice(len(CC), p=w / w.sum()))]
        self.c = c = COUNTRIES[self.cc]
        self.cur = c["cur"]
        self.zone = c["tz"]
        self.home_off = offsets(self.zone)
        self.local_fmt = rng.random() < 0.35
        self.ms_fmt = rng.random() < 0.2
        self.sv_mode = int(rng.choice(3, p=[0.3, 0.4, 0.3]))  # 0 never, 1 always, 2 half
        self.success_explicit = rng.random() < 0.5
        self.sid_p = 0.0 if rng.random() < 0.08 else 1.0

        # --- airtime habit
        self.spend = c["spend"] * float(np.clip(rng.lognormal(0, 0.5), 0.3, 3.2))  # local per month
        ladder = c["topup"]
        if self.cc == "IN":
            p = rng.random()
            target = self.spend * (28 / 30.4) if p < 0.75 else self.spend * (56 / 30.4 if p < 0.9 else 84 / 30.4)
            i = nearest(ladder, target)
            self.A0 = ladder[i]
            gap = c["validity"][self.A0]
            self.use = self.A0 / gap
            self.noise_sd = float(rng.uniform(0.02, 0.06))
            self.thr = float(rng.uniform(0.02, 0.06))
            self.p_act = float(rng.uniform(0.7, 0.95))
        else:
            gap = float(np.clip(rng.lognormal(np.log(16), 0.55), 6, 42))
            i = nearest(ladder, self.spend * gap / 30.4)
            self.A0 = ladder[i]
            gap = self.A0 * 30.4 / self.spend
            if gap > 45 or gap < 5:
                gap = float(np.clip(gap, 5, 45))
            self.use = self.A0 / gap
            self.noise_sd = float(rng.uniform(0.12, 0.4))
            self.thr = float(rng.uniform(0.05, 0.3))
            self.p_act = float(rng.uniform(0.45, 0.9))
        self.gap = gap
        self.pay_aff = float(rng.beta(1.2, 3.0))

        # --- data bundles
        share = {"GB": .35, "DE": .4, "PL": .4, "ZA": .6, "IN": .35, "MX": .45}[self.cc]
        self.bundle_user = rng.random() < share
        self.bval = 7 if rng.random() < (0.5 if self.cc == "ZA" else 0.25) else 30
        bl = c["b7"] if self.bval == 7 else c["b30"]
        self.B0 = bl[min(len(bl) - 1, int(rng.integers(0, len(bl))))]
        self.p_renew = float(rng.uniform(0.5, 0.95))
        self.p_restart = float(rng.uniform(0.08, 0.3))
        if self.bundle_user:
            f = float(rng.uniform(0.4, 0.8))
            self.use *= f

        # --- sessions
        self.rate = float(np.clip(rng.lognormal(np.log(0.25), 0.7), 0.04, 1.3))
        self.app_share = float(rng.beta(3, 1.5))
        self.other_share = float(rng.uniform(0, 0.08))
        self.p_login_app = float(rng.uniform(0.7, 0.95))
        self.p_fail = float(rng.uniform(0.01, 0.06))
        self.p_online_topup = float(rng.beta(2.5, 1.5))
        self.peak = float(np.clip(rng.normal(19.5, 2.0), 16, 23.5))
        self.t_morning = float(rng.uniform(0.05, 0.25))
        self.t_midday = float(rng.uniform(0.10, 0.30))
        self.t_late = float(rng.uniform(0.03, 0.15))

        # --- devices, travel, complaints
        self.dev_rate = float(rng.uniform(0.15, 0.5)) if rng.random() < 0.3 else 0.0
        self.dev_tier = float(rng.uniform(0, 1))
        self.travel_rate = float(rng.uniform(0.4, 1.5)) if rng.random() < 0.3 else 0.0
        self.c_rate = float(np.clip(rng.lognormal(np.log(0.12), 0.6), 0.02, 0.6))  # per year

        # --- scenario arrays
        self.sm = np.ones(ND)  # sessions
        self.um = np.ones(ND)  # airtime usage
        self.am = np.ones(ND)  # top-up amount level
        self.bm = np.ones(ND)  # bundle renewal
        self.tm = np.ones(ND)  # top-up readiness
        self.mode = np.zeros(ND, dtype=np.int8)  # page mix: 0 normal 1 rival 2 complaint 3 abroad 4 auto/plan
        self.trip_zone = [None] * ND
        self.manual_on = np.ones(ND, dtype=bool)
        self.stop_orders = ND
        self.auto = None  # (start day, dom, amount, category)
        self.bundle60 = None  # (start day, amount)
        self.keepalive = []  # days of keep-alive top-ups
        self.forced = []  # callables run after the main loop
        self.join = 0
        self.week_noise = np.exp(rng.normal(0, self.noise_sd, ND // 7 + 2))
        self.U = rng.random((ND, 6))
        self.main_cat_target = None

    # ------------------------------------------------------------------ helpers
    def r(self):
        return self.rng.random()

    def ui(self, a, b):
        return int(self.rng.integers(a, b + 1))

    def uf(self, a, b):
        return float(self.rng.uniform(a, b))

    def off(self, d):
        z = self.trip_zone[d] if 0 <= d < ND else None
        if z is None:
            return int(self.home_off[min(max(d, 0), ND - 1)])
        return int(offsets(z)[d])

    def _emit(self, typ, s, fields, off=None, allow_ms=False):
        if s >= self.cut_s or s >= END_S or s < self.start_s:
            return None
        ms = s * 1000
        wms = allow_ms and self.ms_fmt
        if wms:
            ms += int(self.rng.integers(0, 1000))
        ev = {"type": typ}
        if self.sv_mode == 1 or (self.sv_mode == 2 and self.r() < 0.5):
            ev["schema_version"] = 1
        self.seq += 1
        ev["event_id"] = f"{self.cid}-{self.seq:06d}"
        ev["customer_id"] = self.cid
        ev["occurred_at"] = fmt_ts(ms, off if self.local_fmt else None, wms)
        ev.update(fields)
        self.ev.append((ms, self.seq, ev))
        return ms

    def login(self, s, ch, ok, off):
        f = {"channel": ch}
        if not ok or self.success_explicit:
            f["success"] = ok
        return self._emit("login", s, f, off, True)

    def pv(self, s, page, cat, dwell, sid, off):
        f = {"page": page, "dwell_seconds": dwell}
        if cat is not None:
            f["category"] = cat
        if sid is not None and self.r() < self.sid_p * 0.97:
            f["session_id"] = sid
        return self._emit("page_view", s, f, off, True)

    def order_ev(self, s, oid, amount, cat, status="placed", items=1, omit_cat=False):
        f = {"order_id": oid, "amount": round(float(amount), 2), "currency": self.cur}
        if status != "placed" or self.r() < 0.75:
            f["status"] = status
        if items != 1 or self.r() < 0.5:
            f["items"] = int(items)
        if cat is not None and not omit_cat:
            f["category"] = cat
        ms = self._emit("order", s, f)
        if ms is not None and status == "placed":
            self.placed.append((ms, float(amount), cat))
            self.placed_meta.append((s, oid, float(amount), cat))
        return ms

    def new_oid(self):
        self.norder += 1
        return f"{self.cid}-o{self.norder:04d}"

    def sess_time(self):
        x = self.r()
        if x < self.t_morning:
            h = self.rng.normal(8.0, 0.8)
        elif x < self.t_morning + self.t_midday:
            h = self.rng.normal(12.8, 0.9)
        elif x < self.t_morning + self.t_midday + self.t_late:
            h = self.rng.normal(23.0, 0.6)
        else:
            h = self.rng.normal(self.peak, 1.6)
        return int(float(np.clip(h, 6.0, 25.3)) * 3600)

    def pick_channel(self):
        x = self.r()
        if x < self.other_share:
            return "other"
        return "app" if x < self.other_share + (1 - self.other_share) * self.app_share else "web"

    def dwell(self, med):
        if self.r() < 0.015:
            return round(self.uf(300, 3600), 1)
        return round(float(np.clip(self.rng.lognormal(np.log(med), 0.6), 0.5, 3600)), 1)

    def bundle_slug(self, amount, val):
        lad = self.c["b7"] if val == 7 else (self.c["b30"] if val == 30 else self.c["b60"])
        sizes = [1, 3, 5, 10, 20, 50]
        i = lad.index(amount) if amount in lad else 0
        gb = sizes[min(len(sizes) - 1, i + (0 if val == 7 else 2 if val == 30 else 4))]
        return f"data-{gb}gb-{val}d"

    def phone_model(self, d):
        avail = [p for p in PHONES if p[2] <= d]
        avail.sort(key=lambda p: p[1])
        j = int(np.clip(self.dev_tier * len(avail) + self.rng.normal(0, 1.5), 0, len(avail) - 1))
        return avail[j]

    # ------------------------------------------------------------------ sessions
    def page_plan(self, purpose, d, ctx):
        P = []
        r = self.r
        if purpose == "balance":
            if r() < 0.6:
                P.append(("home", {}))
            P.append(("balance", {}))
            if r() < 0.3:
                P.append(("usage", {}))
        elif purpose == "usage":
            if r() < 0.4:
                P.append(("home", {}))
            P.append(("usage", {}))
            if r() < 0.4:
                P.append(("history", {}))
        elif purpose == "topup":
            if r() < 0.5:
                P.append(("home", {}))
            if r() < 0.7:
                P.append(("balance", {}))
            P += [("topup", {}), ("topup_confirm", {})]
        elif purpose in ("bundles", "bundle_buy", "plan_setup"):
            val = ctx.get("val", self.bval)
            amt = ctx.get("amount", self.B0)
            lad = self.c["b7"] if val == 7 else (self.c["b30"] if val == 30 else self.c["b60"])
            P.append(("bundles", {}))
            if purpose == "bundles":
                for _ in range(self.ui(1, 2)):
                    a = lad[int(self.rng.integers(0, len(lad)))]
                    P.append(("bundle", {"slug": self.bundle_slug(a, val)}))
            else:
                slug = ctx.get("slug") or self.bundle_slug(amt, val)
                P += [("bundle", {"slug": slug}), ("bundle_confirm", {"slug": slug})]
        elif purpose == "offers":
            P.append(("offers", {}))
            if r() < 0.6:
                P.append(("offer", {"oid": f"{int(YEAR[min(d, ND - 1)])}-{self.ui(1, 40):02d}"}))
            if ctx.get("compare") and r() < 0.6:
                P.append(("bundles", {}))
        elif purpose in ("shop", "device_buy"):
            P.append(("phones", {}))
            models = ctx.get("models") or [self.phone_model(d)[0] for _ in range(self.ui(1, 3))]
            for m in models:
                P.append(("phone", {"model": m}))
            if purpose == "device_buy":
                P += [("basket", {}), ("checkout", {})]
        elif purpose in ("roaming", "roaming_buy"):
            zone = ctx.get("zone", "europe")
            P += [("roaming", {}), ("roam_zone", {"zone": zone})]
            if purpose == "roaming_buy":
                P.append(("roam_confirm", {"zone": zone}))
        elif purpose == "roaming_use":
            P.append(("roam_usage", {}))
            if r() < 0.4:
                P.append(("balance", {}))
        elif purpose == "help_network":
            P += [("support", {}), ("netstatus", {})]
            if r() < 0.6:
                P.append(("coverage", {}))
        elif purpose == "help_billing":
            P += [("history", {}), ("billing_help", {})]
        elif purpose == "contact":
            P += [("support", {}), ("contact", {})]
        elif purpose == "tickets":
            P.append(("tickets", {}))
            if ctx.get("cid"):
                P.append(("ticket", {"cid": ctx["cid"]}))
            if r() < 0.3:
                P.append(("contact", {}))
        elif purpose == "account":
            P.append(("account", {}))
            P.append((["settings", "sim", "puk"][int(self.rng.choice(3, p=[.6, .25, .15]))], {}))
        elif purpose == "auto_setup":
            P += [("balance", {}), ("topup", {}), ("auto", {}), ("auto_confirm", {})]
        elif purpose == "port_out":
            P.append(("account", {}))
            if r() < 0.5:
                P.append(("switching", {}))
            P.append(("pac" if self.cc == "GB" else "portout", {}))
        elif purpose == "leftover":
            P += [("balance", {}), ("unused", {})]
        elif purpose == "welcome":
            P += [("welcome", {}), ("home", {}), ("balance", {})]
        else:
            P.append(("home", {}))
        return P

    def session(self, d, tloc, purpose, ch=None, order=None, ctx=None, login=None):
        """A visit on day d at tloc local seconds; returns the last instant (s) or None."""
        ctx = ctx or {}
        if ch is None:
            ch = self.pick_channel()
        off = self.off(d)
        t = day_s(d) + int(tloc) - off * 60
        self.nsess += 1
        sid = f"{self.cid}-s{self.nsess:05d}"
        if login is None:
            login = True if ch == "other" else (self.r() < (self.p_login_app if ch == "app" else 0.9))
        if login:
            if self.r() < self.p_fail:
                tf = t - self.ui(15, 90)
                if self.r() < 0.15:
                    self.login(tf - self.ui(10, 40), ch, False, off)
                self.login(tf, ch, False, off)
            self.login(t, ch, True, off)
            t += self.ui(2, 8)
        if ch != "other":
            for key, fill in self.page_plan(purpose, d, ctx):
                app, web, cat, med = PAGES[key]
                path = (app if ch == "app" else web).format(**fill) if fill else (app if ch == "app" else web)
                dw = self.dwell(med)
                self.pv(t, path, cat, dw, sid, off)
                t += int(dw) + self.ui(1, 6)
        else:
            t += self.ui(20, 120)
        last = t
        if order is not None:
            to = t + self.ui(3, 40)
            order(to)
            last = to
        return last

    def day_purpose(self, d, ctx_open_ticket=None):
        m = int(self.mode[d])
        w = {"balance": .40, "usage": .12, "bundles": .14 if self.bundle_user else .04, "offers": .08,
             "shop": .04 + (.06 if self.dev_rate > 0 else 0), "roaming": .015 + (.02 if self.travel_rate > 0 else 0),
             "help_network": .03, "help_billing": .03, "account": .04}
        if m == 1:
            w["offers"] *= 4
            w["bundles"] = w["bundles"] * 3 + .1
        elif m == 2:
            w["tickets"] = .35
            w["help_network"] *= 3
            w["help_billing"] *= 3
        elif m == 3:
            w = {"roaming_use": .5, "balance": .3, "usage": .1, "offers": .02}
        elif m == 4:
            w["balance"] *= .35
            w["usage"] *= 1.5
        keys = list(w)
        p = np.array([w[k] for k in keys])
        return keys[int(self.rng.choice(len(keys), p=p / p.sum()))]

    # ------------------------------------------------------------------ purchases
    def choose_amount(self, d, ladder=None, base=None, mult=1.0):
        ladder = ladder or self.c["topup"]
        base = self.A0 if base is None else base
        i = nearest(ladder, base * self.am[d] * mult)
        x = self.r()
        up = 0.14 + (0.1 if MON[d] == 12 else 0)
        if x < 0.14:
            i -= 1
        elif x < 0.14 + up:
            i += 1
        return ladder[int(np.clip(i, 0, len(ladder) - 1))]

    def topup(self, d, amount, cat="topup", via=None, hour=None, purpose="topup", ctx=None):
        """Airtime top-up, bundle or pack purchase on day d; returns True when it went through."""
        if via is None:
            x = self.r()
            via = "online" if x < self.p_online_topup else "offline"
        oid = self.new_oid()
        ok = [True]

        def place(to):
            if self.r() < 0.012 and via != "offline":  # payment declined after the order was recorded
                self.order_ev(to, oid, amount, cat)
                self.order_ev(to + self.ui(40, 900), oid, amount, cat, status="cancelled")
                if self.r() < 0.7:
                    oid2 = self.new_oid()
                    self.order_ev(to + self.ui(1000, 2400), oid2, amount, cat)
                else:
                    ok[0] = False
                    if self.r() < 0.2:
                        self.complaint(d + self.ui(0, 2), "failed_topup", session_p=0.3)
            else:
                self.order_ev(to, oid, amount, cat)

        if via == "online":
            tl = hour * 3600 + self.ui(0, 3599) if hour is not None else self.sess_time()
            ch = "app" if self.r() < max(self.app_share, 0.3) else "web"
            if self.r() < self.other_share * 2:
                ch = "other"
            c = dict(ctx or {})
            self.session(d, tl, purpose, ch=ch, order=place, ctx=c)
        elif via == "auto":
            tl = (hour if hour is not None else self.ui(2, 5)) * 3600 + self.ui(0, 3599)
            t = day_s(d) + tl - self.off(d) * 60
            if self.r() < 0.015:
                self.order_ev(t, oid, amount, cat)
                self.order_ev(t + self.ui(5, 60), oid, amount, cat, status="cancelled")
                ok[0] = False
            else:
                self.order_ev(t, oid, amount, cat)
        else:  # voucher, shop, bank app: no visit here
            tl = int(self.uf(8.0, 21.0) * 3600)
            t = day_s(d) + tl - self.off(d) * 60
            self.order_ev(t, oid, amount, cat, omit_cat=(cat == "topup" and self.r() < 0.05))
        return ok[0]

    def buy_device(self, d):
        model, eur, _ = self.phone_model(d)
        price = pretty_price(eur, self.c)
        items = 1 + int(self.rng.binomial(2, 0.35))
        acc = sum(pretty_price(float(self.rng.choice([12, 15, 25])), self.c) for _ in range(items - 1))
        amount = round(price + acc, 2)
        for _ in range(self.ui(1, 3)):  # research visits
            dd = d - self.ui(1, 20)
            if dd >= 0:
                ms = [model] + ([self.phone_model(dd)[0]] if self.r() < 0.5 else [])
                self.session(dd, self.sess_time(), "shop", ch="app" if self.r() < self.app_share else "web",
                             ctx={"models": ms}, login=self.r() < 0.5)
        oid = self.new_oid()
        if self.r() < 0.55:
            box = {}

            def place(to):
                box["t"] = to
                self.order_ev(to, oid, amount, "device", items=items)
            self.session(d, self.sess_time(), "device_buy", ch="app" if self.r() < self.app_share else "web",
                         order=place, ctx={"models": [model]}, login=True)
            t = box.get("t")
        else:
            t = day_s(d) + int(self.uf(10, 19.5) * 3600) - self.off(d) * 60
            self.order_ev(t, oid, amount, "device", items=items)
        if t is None:
            return
        x = self.r()
        if x < 0.03:
            self.order_ev(t + self.ui(60, 3 * 3600), oid, amount, "device", status="cancelled", items=items)
        elif x < 0.09:
            self.order_ev(t + self.ui(3, 14) * 86400 + self.ui(0, 36000), oid, amount, "device", status="returned",
                          items=items)
            if self.r() < 0.4:
                self.complaint(d + self.ui(2, 6), "device_fault", session_p=0.5)
        elif x < 0.11:
            self.complaint(d + self.ui(2, 6), "device_delivery", session_p=0.5)

    # ------------------------------------------------------------------ complaints
    def complaint(self, d, ctype, session_p=0.55, unresolved=False, sev=None, resolve=None, esc_p=0.2,
                  reopen_p=0.12, pre=True, tloc=None):
        """Open a complaint on day d and play its life; returns (open instant s, complaint id, end day)."""
        if d >= ND:
            return None
        cat, sevs, res, pre_purpose = CTYPES[ctype]
        if sev is None:
            sev = sevs[int(self.rng.choice(len(sevs), p=[p for _, p in sevs]))][0]
        self.ncompl += 1
        cid = f"{self.cid}-c{self.ncompl:02d}"
        if pre and pre_purpose in ("help_network", "help_billing") and self.r() < 0.7:
            dd = d - self.ui(0, 3)
            if dd >= 0:
                self.session(dd, self.sess_time(), pre_purpose)
        off = self.off(d)
        if self.r() < session_p:
            box = {}

            def opened(to):
                box["t"] = to
            self.session(d, tloc if tloc is not None else self.sess_time(), "contact", order=opened)
            t0 = box["t"]
        else:  # by phone to the call centre
            t0 = day_s(d) + int(self.uf(9, 20) * 3600) - off * 60
        self._emit("complaint", t0, {"complaint_id": cid, "status": "opened", "category": cat, "severity": sev}, off)

        def crm(t, status):
            dd = (t - EPOCH_S0) // 86400
            o = self.off(int(min(max(dd, 0), ND - 1)))
            loc = ((t + o * 60) % 86400)
            if loc < 8 * 3600 or loc > 19 * 3600:  # move to working hours
                t = t - loc + int(self.uf(8.5, 18.5) * 3600)
                if t < t0:
                    t += 86400
            self._emit("complaint", t, {"complaint_id": cid, "status": status, "category": cat, "severity": sev})
            return t

        t = t0
        if self.r() < esc_p:
            t = crm(t + int(self.uf(1, 6) * 86400), "escalated")
        if unresolved:
            if self.r() < 0.3:
                t = crm(t + int(self.uf(4, 12) * 86400), "resolved")
                t = crm(t + int(self.uf(1, 7) * 86400), "reopened")
            return t0, cid, (t - EPOCH_S0) // 86400
        lo, hi = resolve or res
        t = crm(max(t, t0) + int(self.uf(lo, hi) * 86400), "resolved")
        if ctype == "overcharge" and self.r() < 0.3:  # goodwill refund of the disputed bundle or top-up
            recent = [p for p in self.placed_meta if t0 - 30 * 86400 <= p[0] < t0 and p[3] != "device"]
            if recent:
                ts, oid, amount, ocat = recent[-1]
                part = amount if self.r() < 0.5 else round(amount * self.uf(0.3, 0.7), 2)
                self.order_ev(t + self.ui(60, 7200), oid, part, ocat, status="returned")
        if self.r() < reopen_p:
            t = crm(t + int(self.uf(2, 20) * 86400), "reopened")
            t = crm(t + int(self.uf(1, 10) * 86400), "resolved")
        return t0, cid, (t - EPOCH_S0) // 86400

    # ------------------------------------------------------------------ trips
    def add_trip(self, d0, length, zone=None, pack=True):
        zone = zone or self.c["dest"][int(self.rng.integers(0, len(self.c["dest"])))]
        d1 = min(ND, d0 + length)
        for d in range(max(0, d0), d1):
            self.trip_zone[d] = zone
            self.um[d] *= 0.1
            self.sm[d] *= 0.3
            self.mode[d] = 3
            self.tm[d] *= 0.3
        rz = ROAM_ZONES.get(zone, "world")
        free = self.c["eu"] and rz == "europe"
        if pack and not free:
            packs = self.c["roam"]
            pval = 30 if length > 10 else 7
            n = max(1, -(-length // pval))
            for j in range(n):
                dd = d0 - self.ui(0, 5) if (j == 0 and self.r() < 0.7) else d0 + j * pval
                if 0 <= dd < min(ND, self.stop_orders) and self.manual_on[dd]:
                    amt = packs[min(len(packs) - 1, int(self.rng.integers(0, len(packs))) + (1 if pval == 30 else 0))]
                    self.forced.append(lambda dd=dd, amt=amt, rz=rz: self.topup(
                        dd, amt, cat="roaming_pack", via="online" if self.r() < 0.8 else "offline",
                        purpose="roaming_buy", ctx={"zone": rz}))
        return d0, d1, zone

    # ------------------------------------------------------------------ ramps
    @staticmethod
    def ramp(arr, d0, d1, v1, v0=1.0, hold=True):
        d0 = max(0, d0)
        n = max(1, d1 - d0)
        for d in range(d0, min(ND, d1)):
            arr[d] *= v0 + (v1 - v0) * (d - d0) / n
        if hold:
            arr[min(ND, max(d1, 0)):] *= v1

    # ------------------------------------------------------------------ scenario set-up
    def setup(self, campaigns_for):
        s = self.scen
        rng = self.rng
        if s in ("stay_regular", "stay_light") and self.r() < 0.12:
            self.join = self.ui(didx("2023-02-01"), didx("2023-09-30"))
            self.start_s = day_s(self.join)
            self.notes.append(f"joined={DATES[self.join]}")
        if s == "stay_light":
            ladder = self.c["topup"]
            self.A0 = ladder[self.ui(0, min(1, len(ladder) - 1))]
            self.gap = self.uf(42, 70)
            self.use = self.A0 / self.gap
            self.thr = self.uf(0.02, 0.1)
            self.p_act = self.uf(0.5, 0.9)
            self.noise_sd = self.uf(0.1, 0.25)
            self.week_noise = np.exp(rng.normal(0, self.noise_sd, ND // 7 + 2))
            self.rate = self.uf(0.03, 0.1)
            self.bundle_user = False
            self.app_share *= 0.7
            self.dev_rate = 0.0 if self.r() < 0.8 else self.dev_rate
        if s in ("chg_port_out", "stay_rival_exposed"):
            ks = campaigns_for
            k = ks[self.k % len(ks)]
            cat = CAMPAIGNS[k][0]
            self.campaign = k
            self.main_cat_target = cat
            if cat == "data_bundle":
                self.bundle_user = True
                self.bval = 7
                self.B0 = self.c["b7"][self.ui(0, len(self.c["b7"]) - 1)]
                self.p_renew = self.uf(0.85, 0.97)
                self.p_restart = self.uf(0.3, 0.6)
                ladder = self.c["topup"]
                if self.cc != "IN":
                    self.gap = self.uf(28, 42)
                    self.A0 = ladder[nearest(ladder, self.spend * 0.5 * self.gap / 30.4)]
                    self.use = self.A0 / self.gap
                else:
                    self.use *= 0.5
            else:
                if self.cc != "IN" and self.gap > 21:
                    self.gap = self.uf(7, 21)
                    ladder = self.c["topup"]
                    self.A0 = ladder[nearest(ladder, self.spend * self.gap / 30.4)]
                    self.use = self.A0 / self.gap
                # an airtime customer: monthly bundles only when top-ups are clearly more frequent
                keep_b = self.bundle_user and self.bval == 30 and self.cc != "IN" and self.A0 / self.use <= 12
                if self.bundle_user and not keep_b:
                    self.bundle_user = False
                    self.use = self.A0 / self.gap  # airtime usage back to the full habit
        if s == "stay_bundle_switch" and self.cc != "IN" and self.gap > 16:
            self.gap = self.uf(6, 16)
            ladder = self.c["topup"]
            self.A0 = ladder[nearest(ladder, self.spend * self.gap / 30.4)]
            self.use = self.A0 / self.gap
        if s.startswith("chg_"):
            self.rate = max(self.rate, 0.08)
            self.join = 0
        getattr(self, "sc_" + s)()

    # stayers -------------------------------------------------------------------------------
    def sc_stay_regular(self):
        pass

    def sc_stay_light(self):
        self.notes.append(f"light gap={self.gap:.0f}")

    def sc_stay_auto_topup(self):
        d = self.ui(didx("2024-01-15"), didx("2025-01-31"))
        self.shift_ms = day_s(d) * 1000
        plan = self.r() < 0.4
        dom = self.ui(1, 28)
        if plan:
            lad = self.c["b30"]
            amt = lad[nearest(lad, self.spend * self.uf(0.9, 1.3))]
            self.auto = (d, dom, amt, "data_bundle")
            self.um[d:] *= 0.12
            self.bm[d:] = 0.0
            self.notes.append(f"plan={amt}/month day{dom}")
            self.forced.append(lambda: self.session(d, self.sess_time(), "plan_setup",
                                                    ch="app" if self.r() < 0.8 else "web",
                                                    ctx={"val": 30, "amount": amt, "slug": f"monthly-plan-{amt}"}))
        else:
            lad = self.c["topup"]
            amt = lad[nearest(lad, self.spend * self.uf(1.0, 1.35))]
            self.auto = (d, dom, amt, "topup")
            self.notes.append(f"auto_topup={amt}/month day{dom}")
            self.forced.append(lambda: self.session(d, self.sess_time(), "auto_setup",
                                                    ch="app" if self.r() < 0.8 else "web"))
        f = self.uf(0.3, 0.5)
        self.sm[d:] *= f
        self.mode[d:] = 4
        self.notes.append(f"sessions_after=x{f:.2f}")

    def sc_stay_traveller(self):
        season = int(self.rng.choice(4, p=[.4, .25, .2, .15]))  # summer, december, spring, autumn
        start_md = [(7, 1), (12, 10), (3, 20), (10, 5)][season]
        total = self.ui(14, 42)
        nt = 1 if self.r() < 0.6 or total < 21 else 2
        zone = self.c["dest"][int(self.rng.integers(0, len(self.c["dest"])))]
        trips = []
        for y in (2023, 2024, 2025):
            for j in range(nt):
                length = total if nt == 1 else (total // 2 + self.ui(-3, 3))
                md = start_md if j == 0 else ((start_md[0] + 5) % 12 + 1, start_md[1])
                try:
                    base = date(y, md[0], md[1])
                except ValueError:
                    base = date(y, md[0], 28)
                d0 = (base - D0).days + self.ui(-10, 10)
                if d0 + 2 < ND and d0 >= 7:
                    self.add_trip(d0, length, zone)
                    trips.append(f"{DATES[d0]}+{length}")
        self.notes.append(f"trips={'/'.join(trips)} zone={zone}")

    def sc_stay_seasonal(self):
        start_m = int(self.rng.choice([10, 11, 12, 1, 5, 6]))
        L = self.ui(3, 5)
        away = self.r() < 0.5
        zone = self.c["dest"][int(self.rng.integers(0, len(self.c["dest"])))] if away else None
        ufac, sfac, afac = self.uf(0.2, 0.35), self.uf(0.25, 0.4), self.uf(0.6, 0.8)
        spans = []
        for y in (2022, 2023, 2024, 2025):
            try:
                a = (date(y, start_m, 1) - D0).days + self.ui(-7, 7)
            except ValueError:
                continue
            b = a + int(L * 30.4) + self.ui(-7, 7)
            if b < 0 or a >= ND:
                continue
            rl = self.ui(7, 14)
            for d in range(max(0, a), min(ND, b)):
                x = min(1.0, (d - a) / rl, (b - d) / rl)
                self.um[d] *= 1 + (ufac - 1) * x
                self.sm[d] *= 1 + (sfac - 1) * x
                self.am[d] *= 1 + (afac - 1) * x
                self.bm[d] *= 1 + (0.3 - 1) * x
                if away and x > 0.5:
                    self.trip_zone[d] = zone
            spans.append(f"{DATES[max(0, a)]}..{DATES[min(ND - 1, b)]}")
        self.notes.append(f"offseason={'/'.join(spans)} away={zone or 'no'} use=x{ufac:.2f} sess=x{sfac:.2f}")

    def sc_stay_bundle_switch(self):
        d = self.ui(didx("2024-01-15"), didx("2025-01-31"))
        self.shift_ms = day_s(d) * 1000
        lad = self.c["b60"]
        amt = lad[nearest(lad, self.spend * 2 * self.uf(0.85, 1.2))]
        self.bundle60 = (d, amt)
        self.um[d:] *= 0.08
        self.bm[d:] = 0.0
        self.sm[d:] *= self.uf(0.65, 0.85)
        self.notes.append(f"bundle60={amt} from {DATES[d]}")

    def sc_stay_complaint_resolved(self):
        d = self.ui(didx("2024-01-15"), didx("2025-02-15"))
        self.shift_ms = None
        n = self.ui(1, 3)
        types = ["network", "overcharge", "failed_topup", "roaming_charges", "rude_service"]
        self.compl_plan = []
        for j in range(n):
            ct = types[int(self.rng.choice(len(types), p=[.3, .25, .2, .1, .15]))]
            self.compl_plan.append((d, ct))
            d += self.ui(20, 90)
        self.notes.append("complaints=" + "/".join(f"{DATES[min(x, ND - 1)]}:{t}" for x, t in self.compl_plan))

        def run():
            first = None
            for dd, ct in self.compl_plan:
                if dd >= ND - 20:
                    continue
                if ct == "roaming_charges":
                    self.add_trip(dd - self.ui(12, 25), self.ui(5, 10))
                if ct == "failed_topup":
                    oid = self.new_oid()
                    t = day_s(dd) + self.sess_time() - self.off(dd) * 60
                    self.order_ev(t, oid, self.A0, "topup")
                    self.order_ev(t + self.ui(30, 600), oid, self.A0, "topup", status="cancelled")
                x = self.complaint(dd, ct, esc_p=0.25, reopen_p=0.15, resolve=(1, 14) if ct != "network" else (5, 21))
                if x:
                    for k in range(self.ui(0, 2)):
                        de = dd + self.ui(1, max(2, x[2] - dd))
                        if de < ND:
                            self.session(de, self.sess_time(), "tickets", ctx={"cid": x[1]})
                    if first is None:
                        first = x[0]
            if first is not None:
                self.shift_ms = (first // 86400) * 86400 * 1000
        self.forced_first = run

    def sc_stay_rival_exposed(self):
        k = self.campaign
        cat, kind, s, dur, st = CAMPAIGNS[k]
        d0 = didx(s)
        d1 = d0 + dur + self.ui(0, 14)
        self.shift_ms = day_s(d0) * 1000
        f = self.uf(0.45, 0.65)
        self.sm[d0:d1] *= self.uf(1.2, 1.45)
        self.mode[d0:d1] = 1
        self.um[d0:d1] *= f
        self.bm[d0:d1] *= 0.5
        self.notes.append(f"campaign={cat}@{s} use=x{f:.2f} until {DATES[min(d1, ND - 1)]}")

    # leavers -------------------------------------------------------------------------------
    def sc_chg_port_out(self):
        k = self.campaign
        cat, kind, s, dur, st = CAMPAIGNS[k]
        d0 = didx(s)
        self.change_ms = campaign_start_s(k) * 1000
        port = d0 + self.ui(3, 35)
        self.full_exit = 1
        self.tm[d0:port] *= 0.4
        self.am[d0:port] *= 0.7
        self.bm[d0:port] *= 0.3
        self.stop_orders = port
        self.mode[d0:port] = 1
        # sessions: normal up to the port, a few left-overs after
        self.sm[port:] = 0.0
        plan = []
        if self.r() < 0.6:
            plan.append((port - self.ui(0, 2), "port_out"))
        for _ in range(self.ui(0, 2)):
            plan.append((port + self.ui(2, 20), "leftover"))
        fails = self.ui(1, 3) if self.r() < 0.35 else 0
        last = port
        for dd, p in plan:
            last = max(last, dd)
        fail_days = [port + self.ui(1, 10) for _ in range(fails)]
        last = max([last] + fail_days)
        self.cut_s = day_s(min(last + 1, FULL_EXIT_CAP))

        def run():
            for dd, p in plan:
                self.session(dd, self.sess_time(), p, ch="web" if p == "leftover" and self.r() < 0.5 else None,
                             login=True if p == "leftover" else None)
            for dd in fail_days:
                off = self.off(dd)
                t = day_s(dd) + self.sess_time() - off * 60
                self.login(t, "app", False, off)
                if self.r() < 0.4:
                    self.login(t + self.ui(10, 60), "app", False, off)
        self.forced.append(run)
        self.notes.append(f"campaign={cat}@{s} port={DATES[port]} leftovers={len(plan)} failed_after={fails}")

    def sc_chg_second_sim(self):
        d0 = self.ui(didx("2024-01-15"), didx("2024-12-31"))
        R = self.ui(60, 120)
        tail = self.ui(20, 60)
        if d0 + R + tail > FULL_EXIT_CAP:
            R = max(45, FULL_EXIT_CAP - tail - d0)
            tail = max(10, FULL_EXIT_CAP - d0 - R)
        self.change_ms = day_s(d0) * 1000
        self.full_exit = 1
        uf, af, sf = self.uf(0.15, 0.3), self.uf(0.4, 0.6), self.uf(0.35, 0.6)
        self.ramp(self.um, d0, d0 + R, uf)
        self.ramp(self.am, d0, d0 + R // 2, af)
        self.ramp(self.bm, d0, d0 + R // 2, 0.15)
        self.ramp(self.sm, d0, d0 + R, sf)
        self.ramp(self.sm, d0 + R, d0 + R + tail, 0.15, hold=False)
        self.stop_orders = d0 + R
        self.cut_s = day_s(min(d0 + R + tail, FULL_EXIT_CAP))
        self.notes.append(f"ramp={R}d use->x{uf:.2f} amount->x{af:.2f} sessions->x{sf:.2f} tail={tail}d")

    def sc_chg_unresolved_complaint(self):
        d0 = self.ui(didx("2024-01-15"), didx("2025-01-15"))
        ct = "network" if self.r() < 0.5 else "overcharge"
        n_more = self.ui(1, 2)
        days = [d0]
        for _ in range(n_more):
            days.append(days[-1] + self.ui(7, 30))
        last_c = days[-1]
        stop = max(d0 + 20, last_c + self.ui(5, 40))
        gone = max(stop + 10, last_c + self.ui(30, 110))
        if gone > FULL_EXIT_CAP:
            gone = FULL_EXIT_CAP
            stop = min(stop, gone - 10)
        self.full_exit = 1
        self.stop_orders = stop
        self.um[d0:] *= self.uf(0.45, 0.7)
        self.am[d0:] *= 0.8
        self.bm[d0 + self.ui(0, 14):] *= 0.0
        self.sm[d0:last_c + 1] *= 1.25
        self.mode[d0:gone] = 2
        self.ramp(self.sm, last_c, last_c + self.ui(30, 80), 0.15)
        self.cut_s = day_s(gone)
        sev0 = "high" if self.r() < 0.6 else "medium"
        self.notes.append(f"first={ct}/{sev0} complaints={len(days)} stop_orders={DATES[stop]} gone={DATES[gone - 1]}")

        def run():
            first = None
            for j, dd in enumerate(days):
                if j == 0:
                    typ, sev = ct, sev0
                else:
                    x = self.r()
                    typ = ct if x < 0.5 else ("rude_service" if x < 0.8 else "overcharge")
                    sev = "high" if self.r() < 0.7 else "medium"
                if typ == "network" and j == 0:
                    for _ in range(self.ui(1, 3)):
                        self.session(dd - self.ui(1, 10), self.sess_time(), "help_network")
                x = self.complaint(dd, typ, unresolved=True, sev=sev, esc_p=0.85 if j == 0 else 0.5, pre=(j > 0))
                if j == 0:
                    first = x
                for _ in range(self.ui(1, 3)):
                    de = dd + self.ui(1, 12)
                    if de < gone:
                        self.session(de, self.sess_time(), "tickets", ctx={"cid": x[1]})
            self.change_ms = first[0] * 1000
        self.forced_first = run

    def sc_chg_slow_drift(self):
        d0 = self.ui(didx("2024-01-15"), didx("2024-09-30"))
        R = self.ui(150, 270)
        tail = self.ui(0, 40)
        if d0 + R + tail > FULL_EXIT_CAP:
            R = FULL_EXIT_CAP - tail - d0
        self.change_ms = day_s(d0) * 1000
        self.full_exit = 1
        sf, uf = self.uf(0.05, 0.12), self.uf(0.08, 0.15)
        self.ramp(self.sm, d0, d0 + R, sf)
        self.ramp(self.um, d0, d0 + R, uf)
        self.ramp(self.am, d0, d0 + R, 0.8)
        self.ramp(self.bm, d0, d0 + R, 0.1)
        self.stop_orders = d0 + R
        self.cut_s = day_s(min(d0 + R + tail + 1, FULL_EXIT_CAP))
        self.notes.append(f"ramp={R}d sessions->x{sf:.2f} use->x{uf:.2f} tail={tail}d")

    def sc_chg_abrupt(self):
        d = self.ui(didx("2024-01-20"), didx("2025-04-30"))
        self.full_exit = 1
        self.stop_day = d
        self.cut_s = day_s(d + 1)
        why = "sim_lost" if self.r() < 0.5 else "moved_abroad"
        self.notes.append(f"stop={DATES[d]} ({why})")

    def sc_chg_number_parked(self):
        d0 = self.ui(didx("2024-01-15"), didx("2024-12-15"))
        R = self.ui(30, 75)
        self.change_ms = day_s(d0) * 1000
        self.decline_end_ms = day_s(d0 + R + 1) * 1000  # the day after the ramp (local days run into it)
        self.full_exit = 0
        sf = self.uf(0.03, 0.08)
        self.ramp(self.sm, d0, d0 + R, sf)
        self.ramp(self.um, d0, d0 + R, 0.25)
        self.ramp(self.am, d0, d0 + R, 0.5)
        self.ramp(self.bm, d0, d0 + R // 2, 0.0)
        self.manual_on[d0 + R:] = False
        K = self.ui(60, 120)
        dd = d0 + R + self.ui(15, K)
        while dd < ND:
            self.keepalive.append(dd)
            dd += K + self.ui(-15, 15)
        self.notes.append(f"ramp={R}d sessions->x{sf:.2f} keepalive={self.c['keep']} every~{K}d")

    # ------------------------------------------------------------------ main loop
    def run(self):
        rng = self.rng
        c = self.c
        ladder = c["topup"]
        B = self.A0 * float(rng.uniform(0.2, 1.0))
        bundle_left = int(rng.integers(0, self.bval)) if self.bundle_user else 0
        bundle_lapsed = False
        b60_next = None
        auto_last = -99
        keep = set(self.keepalive)
        if getattr(self, "forced_first", None):
            self.forced_first()
        # background travel
        if self.travel_rate > 0 and self.scen != "stay_traveller":
            d = int(rng.exponential(365 / self.travel_rate))
            while d < ND:
                L = self.ui(4, 14)
                if self.scen.startswith("chg_") and d + L > (self.change_day_guess() - 10):
                    break
                self.add_trip(d, L)
                d += L + int(rng.exponential(365 / self.travel_rate)) + 20
        last_day = min(ND, (self.cut_s - EPOCH_S0) // 86400 + 1)
        if self.join > 0:
            self.session(self.join, self.sess_time(), "welcome", ch="app", login=True)
            self.topup(self.join, ladder[nearest(ladder, self.A0)], via="offline")
            B = float(self.A0)
        for d in range(self.join, last_day):
            U = self.U[d]
            wk = self.week_noise[d // 7]
            dec = 1.15 if MON[d] == 12 else 1.0
            B -= self.use * self.um[d] * wk * dec
            can_order = d < self.stop_orders
            # auto top-up / monthly plan
            if self.auto and d >= self.auto[0] and can_order:
                a0, dom, amt, cat = self.auto
                if d == a0 or (DOM[d] == dom and d - auto_last >= 20):
                    auto_last = d
                    if self.topup(d, amt, cat=cat, via="auto"):
                        B += amt if cat == "topup" else 0
                    elif d + 1 < ND:
                        self.forced.append(lambda dd=d + 1, amt=amt, cat=cat: self.topup(dd, amt, cat=cat, via="auto"))
                        B += amt if cat == "topup" else 0
            # 60-day bundle
            if self.bundle60 and d >= self.bundle60[0] and can_order:
                if b60_next is None or d >= b60_next:
                    if d == self.bundle60[0] or U[3] < 0.35 or (b60_next is not None and d - b60_next > 10):
                        amt = self.bundle60[1]
                        self.topup(d, amt, cat="data_bundle", via="online" if U[4] < 0.75 else "offline",
                                   purpose="bundle_buy", ctx={"val": 60, "amount": amt})
                        b60_next = d + 60 - self.ui(0, 3)
            # airtime
            if can_order and self.manual_on[d]:
                if B < self.thr * self.A0:
                    p = self.p_act if B > 0 else 0.92
                    if self.cc != "IN" and B > 0 and (DOM[d] not in c["pay"]):
                        p *= (1 - self.pay_aff)
                    p *= self.tm[d]
                    if U[0] < p:
                        amt = self.choose_amount(d)
                        if self.topup(d, amt):
                            B = max(B, 0) + amt
            if d in keep:
                amt = c["keep"]
                self.topup(d, amt, via="online" if U[5] < 0.3 else "offline")
            # data bundles
            if self.bundle_user and can_order:
                bundle_left -= 1
                if bundle_left <= 0:
                    buy = False
                    if not bundle_lapsed:
                        if U[1] < self.p_renew * self.bm[d]:
                            buy = True
                        else:
                            bundle_lapsed = True
                    elif U[1] < self.p_restart * self.bm[d]:
                        buy = True
                    if buy:
                        # bundle sizes follow the amount level only when it has clearly fallen
                        lvl = self.am[d] if self.am[d] < 0.8 else 1.0
                        amt = self.choose_amount(d, c["b7"] if self.bval == 7 else c["b30"], base=self.B0,
                                                 mult=lvl / max(self.am[d], 1e-6))
                        self.topup(d, amt, cat="data_bundle", via="online" if U[4] < 0.8 else "offline",
                                   purpose="bundle_buy", ctx={"val": self.bval, "amount": amt})
                        bundle_left = self.bval
                        bundle_lapsed = False
            # handsets
            if self.dev_rate > 0 and can_order and self.manual_on[d]:
                season = 2.0 if MON[d] in (9, 11, 12) else 1.0
                if U[2] < self.dev_rate / 365 * season:
                    self.buy_device(d)
            # background complaints
            if U[5] < self.c_rate / 365 * (1.5 if self.mode[d] == 3 else 1.0):
                typ = ["network", "overcharge", "rude_service", "sim_swap", "roaming_charges"][
                    int(rng.choice(5, p=[.38, .27, .15, .1, .1]))]
                if typ == "roaming_charges" and not any(self.trip_zone[max(0, d - 20):d + 1]):
                    typ = "overcharge"
                self.complaint(d, typ)
            # visits
            lam = self.rate * self.sm[d] * (1.1 if DOW[d] >= 5 else 1.0)
            if self.manual_on[d] and B < 1.5 * self.thr * self.A0 and not self.auto:
                lam *= 1.5
            n = int(rng.poisson(lam)) if lam > 0 else 0
            for tl in sorted(self.sess_time() for _ in range(n)):
                self.session(d, tl, self.day_purpose(d))
        for f in self.forced:
            f()

    def change_day_guess(self):
        if self.change_ms is not None:
            return (self.change_ms // 1000 - EPOCH_S0) // 86400
        if getattr(self, "stop_day", None) is not None:
            return self.stop_day
        return ND

    # ------------------------------------------------------------------ truth
    def finish(self):
        self.ev.sort(key=lambda x: (x[0], x[1]))
        evs = self.ev
        first, last = evs[0][0], evs[-1][0]
        if self.scen == "chg_abrupt":
            self.change_ms = last
            self.decline_end_ms = last
        placed = sorted(self.placed)
        if self.cause and self.scen != "chg_abrupt" and self.full_exit == 1:
            self.decline_end_ms = placed[-1][0] if placed else None
        ch = self.change_ms
        pre = [p for p in placed if ch is None or p[0] < ch]
        daysset = sorted({p[0] // 86400000 for p in pre})
        gaps = [b - a for a, b in zip(daysset, daysset[1:])]
        usual = float(statistics.median(gaps)) if len(gaps) >= 1 else round(self.gap, 1)
        cnt = {}
        for p in pre:
            cnt[p[2]] = cnt.get(p[2], 0) + 1
        main = max(sorted(cnt), key=lambda k: (cnt[k], k == "topup")) if cnt else "topup"
        self.main_cat = main
        prof = "intl" if (self.travel_rate >= 0.8 or self.scen == "stay_traveller") else ("data" if self.bundle_user else "airtime")
        n = self.notes
        base = [f"country={self.cc}", f"gap={self.gap:.1f}", f"topup={self.A0}", f"spend={self.spend:.0f}",
                f"thr={self.thr:.2f}", f"pay_aff={self.pay_aff:.2f}", f"sess={self.rate:.2f}/d", f"app={self.app_share:.2f}",
                f"online_topup={self.p_online_topup:.2f}", f"dev={self.dev_rate:.2f}/y", f"travel={self.travel_rate:.2f}/y",
                f"complaints={self.c_rate:.2f}/y", f"fmt={'local' if self.local_fmt else 'utc'}{'+ms' if self.ms_fmt else ''}",
                f"sv={['never', 'always', 'half'][self.sv_mode]}"]
        if self.bundle_user:
            base.append(f"bundle={self.bval}d@{self.B0}/renew{self.p_renew:.2f}")
        return dict(customer_id=self.cid, scenario=self.scen, changed=1 if self.cause else 0, churned=1 if self.cause else 0,
                    cause=self.cause, change_at=fmt_truth(ch), shift_at=fmt_truth(self.shift_ms),
                    last_active_at=fmt_truth(last), first_event_at=fmt_truth(first),
                    decline_end_at=fmt_truth(self.decline_end_ms) if self.cause else "",
                    full_exit=self.full_exit if self.cause else "",
                    last_order_at=fmt_truth(placed[-1][0] if placed else None), usual_gap_days=round(usual, 1),
                    business=prof, currency=self.cur, currency_after="", tz=self.zone, tz_after="",
                    main_category=main, n_events=len(evs), n_orders=len(placed), notes=";".join(base + n))


TRUTH_COLS = ["customer_id", "scenario", "changed", "churned", "cause", "change_at", "shift_at", "last_active_at",
              "first_event_at", "decline_end_at", "full_exit", "last_order_at", "usual_gap_days", "business", "currency",
              "currency_after", "tz", "tz_after", "main_category", "n_events", "n_orders", "notes"]
EVAL_COLS = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"]


def generate(seed: int, scale: float, out: str):
    t0 = time.time()
    os.makedirs(out, exist_ok=True)
    plan = []
    for name, n, cause in SCENARIOS:
        plan += [(name, cause)] * int(round(n * scale))
    order = np.random.default_rng([seed, 9_000_000]).permutation(len(plan))
    plan = [plan[i] for i in order]
    market = make_market(seed)
    camp_topup = [k for k, c in enumerate(CAMPAIGNS) if c[0] == "topup"]
    camp_data = [k for k, c in enumerate(CAMPAIGNS) if c[0] == "data_bundle"]
    seen = {}
    all_ev = list(market)
    rows = []
    for idx, (scen, cause) in enumerate(plan):
        k = seen.get(scen, 0)
        seen[scen] = k + 1
        c = Customer(idx, scen, cause, seed, k)
        # campaign customers: round-robin over the six tied campaigns (topup and data_bundle alternate)
        ks = list(range(len(CAMPAIGNS)))
        c.setup(ks)
        c.run()
        row = c.finish()
        rows.append(row)
        for ms, sq, ev in c.ev:
            all_ev.append((ms, idx, sq, ev))
    all_ev.sort(key=lambda x: (x[0], x[1], x[2]))
    with open(os.path.join(out, "events.jsonl"), "w") as f:
        for x in all_ev:
            f.write(json.dumps(x[3], separators=(",", ":")) + "\n")
    with open(os.path.join(out, "truth_full.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=TRUTH_COLS)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    with open(os.path.join(out, "truth_eval.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=EVAL_COLS)
        w.writeheader()
        for r in rows:
            w.writerow(dict(customer_id=r["customer_id"], churned=r["churned"], persona=r["scenario"],
                            decline_started_at=r["change_at"], last_active_at=r["last_active_at"], cause=r["cause"],
                            usual_gap_days=r["usual_gap_days"]))
    print(f"wrote {len(all_ev)} events, {len(rows)} customers to {out} in {time.time() - t0:.1f} s")
    return rows


# ---------------------------------------------------------------------------------------------
# validation

RFC3339 = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$")


def parse_ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))


def validate(out: str) -> int:
    import jsonschema
    t0 = time.time()
    here = os.path.dirname(os.path.abspath(__file__))
    sdir = os.path.normpath(os.path.join(here, "..", "..", "schemas", "json"))
    files = {"login": "login", "page_view": "page-view", "order": "order", "complaint": "complaint",
             "market_event": "market-event"}
    vals = {}
    for typ, fn in files.items():
        sch = json.load(open(os.path.join(sdir, fn + ".schema.json")))
        cls = jsonschema.validators.validator_for(sch)
        cls.check_schema(sch)
        vals[typ] = cls(sch, format_checker=cls.FORMAT_CHECKER)
    problems = []

    def bad(msg):
        if len(problems) < 50:
            print("PROBLEM:", msg)
        problems.append(msg)

    ids = set()
    prev = None
    per = {}
    placed_ids = {}
    complaint_first = {}
    cur_of = {}
    n = 0
    counts = {}
    with open(os.path.join(out, "events.jsonl")) as f:
        for ln, line in enumerate(f, 1):
            n += 1
            d = json.loads(line)
            typ = d.pop("type", None)
            counts[typ] = counts.get(typ, 0) + 1
            if typ not in vals:
                bad(f"line {ln}: unknown type {typ}")
                continue
            for e in vals[typ].iter_errors(d):
                bad(f"line {ln}: {typ}: {e.message}")
            ts_ok = True
            for key in ("occurred_at", "ends_at"):
                v = d.get(key)
                if v is None:
                    continue
                if not isinstance(v, str) or not RFC3339.match(v):
                    bad(f"line {ln}: {key} not RFC 3339: {v}")
                    ts_ok = False
                    continue
                try:
                    parse_ts(v)
                except ValueError as ex:
                    bad(f"line {ln}: {key} unparsable {v}: {ex}")
                    ts_ok = False
            if not ts_ok or "event_id" not in d or (typ != "market_event" and "customer_id" not in d):
                continue
            t = parse_ts(d["occurred_at"])
            if d["event_id"] in ids:
                bad(f"line {ln}: duplicate event_id {d['event_id']}")
            ids.add(d["event_id"])
            if prev is not None and t < prev:
                bad(f"line {ln}: out of order")
            prev = t
            if typ == "market_event":
                if d.get("ends_at") and parse_ts(d["ends_at"]) <= t:
                    bad(f"line {ln}: ends_at not after occurred_at")
                continue
            cid = d["customer_id"]
            p = per.setdefault(cid, [t, t, 0, []])
            p[1] = t
            p[2] += 1
            if typ == "order":
                st = d.get("status", "placed")
                if cur_of.setdefault(cid, d["currency"]) != d["currency"]:
                    bad(f"line {ln}: {cid} changes currency")
                if st == "placed":
                    placed_ids[d["order_id"]] = cid
                    p[3].append((t, d["amount"], d.get("category")))
                elif placed_ids.get(d["order_id"]) != cid:
                    bad(f"line {ln}: {st} order {d['order_id']} without an earlier placed order")
            if typ == "complaint":
                if d["complaint_id"] not in complaint_first:
                    complaint_first[d["complaint_id"]] = d["status"]
                    if d["status"] != "opened":
                        bad(f"line {ln}: complaint {d['complaint_id']} starts with {d['status']}")
    # truth
    rows = list(csv.DictReader(open(os.path.join(out, "truth_full.csv"))))
    ev_rows = {r["customer_id"]: r for r in csv.DictReader(open(os.path.join(out, "truth_eval.csv")))}
    lo_change = datetime(2024, 1, 1, tzinfo=timezone.utc)
    lo_shift = datetime(2023, 1, 1, tzinfo=timezone.utc)
    exit_cap = datetime(2025, 5, 15, tzinfo=timezone.utc)
    T = lambda s: parse_ts(s) if s else None
    for r in rows:
        cid = r["customer_id"]
        if cid not in per:
            bad(f"{cid}: no events")
            continue
        f_, l_, cnt, placed = per[cid]
        if T(r["last_active_at"]) != l_:
            bad(f"{cid}: last_active_at {r['last_active_at']} != {l_}")
        if T(r["first_event_at"]) != f_:
            bad(f"{cid}: first_event_at {r['first_event_at']} != {f_}")
        if int(r["n_events"]) != cnt:
            bad(f"{cid}: n_events")
        if int(r["n_orders"]) != len(placed):
            bad(f"{cid}: n_orders")
        if (T(r["last_order_at"]) if r["last_order_at"] else None) != (placed[-1][0] if placed else None):
            bad(f"{cid}: last_order_at")
        if r["currency"] != cur_of.get(cid, r["currency"]):
            bad(f"{cid}: currency")
        if r["churned"] != r["changed"]:
            bad(f"{cid}: churned != changed")
        ch = T(r["change_at"])
        if r["changed"] == "1":
            if r["cause"] not in CAUSES:
                bad(f"{cid}: cause {r['cause']!r}")
            if ch is None or ch < lo_change or ch > l_:
                bad(f"{cid}: change_at {r['change_at']} outside 2024-01-01..last_active_at")
            elif (ch - f_).days < 365:
                bad(f"{cid}: less than a year of history before change_at")
            if r["full_exit"] == "1":
                if l_ >= exit_cap:
                    bad(f"{cid}: full-exit leaver active after 2025-05-15")
            elif r["full_exit"] == "0":
                de = T(r["decline_end_at"])
                after = [x for x in placed if x[0] >= de]
                if not after:
                    bad(f"{cid}: partial leaver without top-ups after decline_end_at")
                keep = CURRENCY_KEEP[r["currency"]]
                if any(x[1] > keep or x[2] not in ("topup", None) for x in after):
                    bad(f"{cid}: partial leaver's orders after decline_end_at are not keep-alive top-ups")
            else:
                bad(f"{cid}: full_exit {r['full_exit']!r}")
            if r["shift_at"]:
                bad(f"{cid}: leaver with shift_at")
        else:
            if r["change_at"] or r["cause"] or r["decline_end_at"] or r["full_exit"]:
                bad(f"{cid}: stayer with change fields")
            if r["shift_at"] and T(r["shift_at"]) < lo_shift:
                bad(f"{cid}: shift_at before 2023-01-01")
        if r["scenario"] in ("chg_port_out", "stay_rival_exposed"):
            m = re.search(r"campaign=([a-z_]+)@", r["notes"])
            if not m or r["main_category"] != m.group(1):
                bad(f"{cid}: main category {r['main_category']} is not the campaign's category")
        e = ev_rows.get(cid)
        if not e or e["churned"] != r["churned"] or e["persona"] != r["scenario"] or \
                e["decline_started_at"] != r["change_at"] or e["last_active_at"] != r["last_active_at"] or \
                e["cause"] != r["cause"] or e["usual_gap_days"] != r["usual_gap_days"]:
            bad(f"{cid}: truth_eval row differs from truth_full")
    if len(ev_rows) != len(rows):
        bad("truth_eval and truth_full have different customers")
    if set(per) - {r["customer_id"] for r in rows}:
        bad("events of customers missing from the truth")
    print(f"validated {n} events ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}), "
          f"{len(rows)} customers in {time.time() - t0:.1f} s: {len(problems)} problems")
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1111)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", default="out/outside11/data")
    ap.add_argument("--validate", action="store_true")
    a = ap.parse_args()
    generate(a.seed, a.scale, a.out)
    if a.validate:
        sys.exit(validate(a.out))


if __name__ == "__main__":
    main()
