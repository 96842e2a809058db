#!/usr/bin/env python3
"""Checks of a docs/outside2 output directory: schema validity, order, ids, truth against events and
per-scenario intent.  Usage: python check.py DIR [--schemas schemas/json] [--no-schema]"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import statistics as st
import sys
from datetime import datetime, timezone

DAY = 86400.0


def P(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() if s else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--schemas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas", "json"))
    ap.add_argument("--no-schema", action="store_true")
    a = ap.parse_args()
    problems = []

    def bad(msg):
        problems.append(msg)
        if len(problems) <= 40:
            print("PROBLEM:", msg)

    validators = {}
    if not a.no_schema:
        import jsonschema
        files = {"login": "login", "page_view": "page-view", "order": "order", "complaint": "complaint",
                 "market_event": "market-event"}
        for typ, fn in files.items():
            sch = json.load(open(os.path.join(a.schemas, fn + ".schema.json")))
            cls = jsonschema.validators.validator_for(sch)
            validators[typ] = cls(sch, format_checker=cls.FORMAT_CHECKER)

    counts = collections.Counter()
    per = collections.defaultdict(list)     # cid -> [(t, type, d)]
    market = []
    ids = set()
    prev = ""
    n = 0
    with open(os.path.join(a.dir, "events.jsonl")) as f:
        for line in f:
            n += 1
            d = json.loads(line)
            typ = d["type"]
            counts[typ] += 1
            if d.get("schema_version") != 1:
                bad(f"line {n}: schema_version")
            if validators:
                body = {k: v for k, v in d.items() if k != "type"}
                errs = list(validators[typ].iter_errors(body))
                if errs:
                    bad(f"line {n}: {typ}: {errs[0].message}")
            if d["event_id"] in ids:
                bad(f"line {n}: duplicate event_id {d['event_id']}")
            ids.add(d["event_id"])
            oa = d["occurred_at"]
            if not oa.endswith("Z"):
                bad(f"line {n}: occurred_at not Z")
            if oa < prev:
                bad(f"line {n}: not sorted ({oa} after {prev})")
            prev = oa
            if typ == "market_event":
                market.append(d)
                if d.get("ends_at") and d["ends_at"] <= oa:
                    bad(f"line {n}: ends_at not after occurred_at")
            else:
                per[d["customer_id"]].append((P(oa), typ, d))
    print(f"{n} events; per type: {dict(sorted(counts.items()))}")
    print(f"validated against JSON Schema: {'yes, every line' if validators else 'no'}")
    st_counts = collections.Counter((d["type"], d.get("status")) for evs in per.values() for _, _, d in evs
                                    if d["type"] in ("order", "complaint"))
    print("order/complaint statuses:", dict(sorted((f"{k[0]}:{k[1]}", v) for k, v in st_counts.items())))
    print("currencies:", dict(collections.Counter(d["currency"] for evs in per.values() for _, t, d in evs if t == "order")))
    print("login channels:", dict(collections.Counter(d["channel"] for evs in per.values() for _, t, d in evs if t == "login")),
          "failed logins:", sum(1 for evs in per.values() for _, t, d in evs if t == "login" and not d.get("success", True)))

    truth = list(csv.DictReader(open(os.path.join(a.dir, "truth_full.csv"))))
    hdr = open(os.path.join(a.dir, "truth_full.csv")).readline().strip()
    want = ("customer_id,scenario,changed,change_at,last_active_at,cause,usual_gap_days,n_events,n_orders,"
            "n_orders_before_change,n_orders_after_change,breaks,notes")
    if hdr != want:
        bad("truth_full header")
    hdr2 = open(os.path.join(a.dir, "truth_eval.csv")).readline().strip()
    if hdr2 != "customer_id,churned,persona,decline_started_at,last_active_at,cause,usual_gap_days":
        bad("truth_eval header")
    ev_rows = {r["customer_id"]: r for r in csv.DictReader(open(os.path.join(a.dir, "truth_eval.csv")))}
    if set(per) != {r["customer_id"] for r in truth}:
        bad("customers in events and truth differ")
    lo, hi = P("2024-04-01T00:00:00Z"), P("2025-01-01T00:00:00Z")
    end = P("2025-07-01T00:00:00Z")
    by_scen = collections.defaultdict(list)
    for r in truth:
        cid = r["customer_id"]
        evs = per[cid]
        e = ev_rows[cid]
        if (e["churned"], e["persona"], e["decline_started_at"], e["last_active_at"], e["cause"], e["usual_gap_days"]) != \
                (r["changed"], r["scenario"], r["change_at"], r["last_active_at"], r["cause"], r["usual_gap_days"]):
            bad(f"{cid}: truth_eval differs from truth_full")
        last = max(t for t, _, _ in evs)
        if P(r["last_active_at"]) != last:
            bad(f"{cid}: last_active_at {r['last_active_at']} != last event")
        if int(r["n_events"]) != len(evs):
            bad(f"{cid}: n_events")
        placed = sorted(t for t, typ, d in evs if typ == "order" and d.get("status", "placed") == "placed")
        ch = P(r["change_at"])
        if int(r["n_orders"]) != len(placed):
            bad(f"{cid}: n_orders")
        nb = sum(1 for t in placed if ch is None or t < ch)
        if int(r["n_orders_before_change"]) != nb or int(r["n_orders_after_change"]) != len(placed) - nb:
            bad(f"{cid}: before/after counts")
        if r["changed"] == "1":
            if not (lo <= ch < hi):
                bad(f"{cid}: change_at {r['change_at']} outside 2024-04-01..2024-12-31")
            if not r["cause"]:
                bad(f"{cid}: changed without cause")
        else:
            if r["change_at"] or r["cause"]:
                bad(f"{cid}: stayer with change_at/cause")
        for br in filter(None, r["breaks"].split(";")):
            x, y = br.split("..")
            x, y = P(x + "T00:00:00Z"), P(y + "T00:00:00Z")
            inside = sum(1 for t, _, _ in evs if x + DAY <= t < y)
            if inside:
                bad(f"{cid}: {inside} events inside break {br}")
        by_scen[r["scenario"]].append((r, evs))

    # ---- per-scenario intent
    print("\nscenario                   n  changed  events/cust  orders before/after (median)  checks")

    def mgap(ts):
        return st.mean([b - a for a, b in zip(ts, ts[1:])]) / DAY if len(ts) > 1 else float("nan")

    def per_month(ts, a_, b_):
        return sum(1 for t in ts if a_ <= t < b_) / max((b_ - a_) / DAY / 30.44, 1e-9)

    for scen in sorted(by_scen, key=lambda s: (not s.startswith("chg"), s)):
        rows = by_scen[scen]
        info = []
        fails = 0
        for r, evs in rows:
            ch = P(r["change_at"])
            placed = [(t, d) for t, typ, d in evs if typ == "order" and d.get("status", "placed") == "placed"]
            pt = [t for t, _ in placed]
            logins = [t for t, typ, d in evs if typ == "login" and d.get("success", True)]
            if scen == "chg_b2b_slowdown":
                g0, g1 = mgap([t for t in pt if t < ch]), mgap([t for t in pt if t >= ch - 2 * DAY])
                info.append((g0, g1))
                fails += not (25 <= g0 <= 40 and g1 > 60) or per_month(logins, ch, end) < .5 * per_month(logins, ch - 180 * DAY, ch)
            elif scen == "chg_bimonthly_fade":
                fails += int(r["n_orders_after_change"]) != 1 or per_month(logins, ch, end) < .6 * per_month(logins, ch - 180 * DAY, ch)
            elif scen == "chg_highvalue_step":
                pre = [d["amount"] for t, d in placed if t < ch]
                post = [d["amount"] for t, d in placed if t >= ch]
                ratio = st.mean(post[2:] or post) / st.mean(pre[-12:])
                info.append(ratio)
                fails += not (.25 <= ratio <= .45) or not (790 <= min(pre) and max(pre) <= 2200) \
                    or abs(mgap([t for t in pt if t >= ch]) / mgap([t for t in pt if t < ch]) - 1) > .5
            elif scen == "chg_basket_slide":
                pre = [d["amount"] for t, d in placed if t < ch]
                post = [d["amount"] for t, d in placed if t >= ch]
                ratio = st.mean(post[7:10]) / st.mean(pre[-12:])
                info.append(ratio)
                fails += not (len(post) >= 8 and ratio < .7)
            elif scen == "chg_weekly_disengage":
                l0 = per_month(logins, ch - 120 * DAY, ch)
                l1 = per_month(logins, ch + 35 * DAY, end)
                o0 = per_month(pt, ch - 120 * DAY, ch)
                o1 = per_month(pt, ch + 35 * DAY, end)
                pv = collections.Counter(d.get("session_id") for t, typ, d in evs if typ == "page_view")
                info.append((l0, l1, o1 / o0))
                fails += not (8 <= l0 <= 18 and l1 <= 3.5 and .3 <= o1 / o0 <= .75)
            elif scen == "chg_complaint_burst":
                cm = [(t, d) for t, typ, d in evs if typ == "complaint"]
                opened = [(t, d) for t, d in cm if d["status"] == "opened" and t >= ch]
                span = (opened[-1][0] - opened[0][0]) / DAY if opened else 99
                last_status = {}
                for t, d in cm:
                    last_status[d["complaint_id"]] = d["status"]
                unresolved = [k for k, v in last_status.items() if v != "resolved" and any(
                    d["complaint_id"] == k for t, d in opened)]
                never = [k for k in unresolved if not any(d["complaint_id"] == k and d["status"] == "resolved" for _, d in cm)]
                cats = {d["category"] for _, d in opened}
                last_o = max(pt)
                info.append((span, (last_o - ch) / DAY))
                fails += not (len(opened) == 3 and span <= 42 and len(never) >= 1 and len(cats) == 3 and last_o - ch <= 62 * DAY)
            elif scen == "chg_service_escalation":
                cm = [(t, d) for t, typ, d in evs if typ == "complaint" and t >= ch]
                first = cm[0][1]["complaint_id"] if cm else None
                sts = [d["status"] for _, d in cm if d["complaint_id"] == first]
                g0, g1 = mgap([t for t in pt if t < ch]), mgap([t for t in pt if t >= ch])
                info.append(g1 / g0 if g0 == g0 else float("nan"))
                fails += not (cm and cm[0][1]["category"] == "service" and "escalated" in sts and "resolved" not in sts)
            elif scen == "chg_drift_promo":
                cats = collections.Counter(d.get("category") for _, d in placed)
                main = cats.most_common(1)[0][0]
                promos = [m for m in market if m["category"] == main and m["strength"] >= .7 and
                          ch <= P(m["occurred_at"]) <= ch + 50 * DAY]
                o0 = per_month(pt, ch - 240 * DAY, ch)
                o1 = per_month(pt, ch, P(r["last_active_at"]))
                info.append(o1 / o0 if o0 else float("nan"))
                fails += not promos
            elif scen.startswith("chg_stop"):
                fails += not (0 < ch - P(r["last_active_at"]) <= 1.5)
                if scen == "chg_stop_foreign":
                    fails += placed[0][1]["currency"] not in ("GBP", "USD")
                if scen == "chg_stop_daily":
                    days = {int(t // DAY) for t in logins if t < ch}
                    span = (ch - min(logins)) / DAY
                    info.append(len(days) / span)
            else:
                if r["changed"] != "0":
                    fails += 1
        n_ev = st.median(int(r["n_events"]) for r, _ in rows)
        nb = st.median(int(r["n_orders_before_change"]) for r, _ in rows)
        na = st.median(int(r["n_orders_after_change"]) for r, _ in rows)
        extra = ""
        if info and isinstance(info[0], tuple):
            cols = list(zip(*info))
            extra = "medians " + ", ".join(f"{st.median([x for x in c if x == x]):.2f}" for c in cols)
        elif info:
            extra = f"median {st.median([x for x in info if x == x]):.2f}"
        print(f"{scen:26s} {len(rows):3d}  {rows[0][0]['changed']:>5s}  {n_ev:10.0f}  {nb:8.0f} / {na:<8.0f}   "
              f"{'OK' if not fails else f'{fails} FAIL'} {extra}")
        if fails:
            problems.append(f"{scen}: {fails} customers off intent")
    # ---- stayer shapes (printed, not asserted)
    import math
    print("\nstayer shapes:")
    def orders_of(evs):
        return [(t, d) for t, typ, d in evs if typ == "order" and d.get("status", "placed") == "placed"]
    g = by_scen.get("stay_gift", [])
    if g:
        ot = [datetime.fromtimestamp(t, timezone.utc) for _, evs in g for t, _ in orders_of(evs)]
        print(f"  gift: {sum(1 for x in ot if x.month in (11, 12)) / len(ot):.0%} of orders in Nov-Dec")
    g = by_scen.get("stay_stockup", [])
    if g:
        cs = []
        for _, evs in g:
            o = orders_of(evs)
            a = [math.log(d["amount"]) for _, d in o[:-1]]
            gp = [math.log((o[i + 1][0] - o[i][0]) / DAY) for i in range(len(o) - 1)]
            if len(a) > 3:
                cs.append(st.correlation(a, gp))
        print(f"  stockup: median corr(log basket, log next gap) {st.median(cs):.2f}")
    g = by_scen.get("stay_price_sensitive", [])
    if g:
        sds = [st.pstdev([math.log(d["amount"]) for _, d in orders_of(evs)]) for _, evs in g]
        print(f"  price_sensitive: median sd of log basket {st.median(sds):.2f}")
    g = by_scen.get("stay_holiday", [])
    if g:
        lens = [(P(y + "T00:00:00Z") - P(x + "T00:00:00Z")) / DAY for r, _ in g for br in filter(None, r["breaks"].split(";"))
                for x, y in [br.split("..")]]
        print(f"  holiday: {len(lens)} breaks, {min(lens):.0f}-{max(lens):.0f} days, customers with one: "
              f"{sum(1 for r, _ in g if r['breaks'])}/{len(g)}")
    g = by_scen.get("stay_channel_switch", [])
    if g:
        first = [sum(1 for _, typ, d in evs[:len(evs) // 4] if typ == "login" and d["channel"] == "app") /
                 max(1, sum(1 for _, typ, d in evs[:len(evs) // 4] if typ == "login")) for _, evs in g]
        last = [sum(1 for _, typ, d in evs[-len(evs) // 4:] if typ == "login" and d["channel"] == "app") /
                max(1, sum(1 for _, typ, d in evs[-len(evs) // 4:] if typ == "login")) for _, evs in g]
        print(f"  channel_switch: app share of logins, first quarter of events {st.median(first):.0%}, last quarter "
              f"{st.median(last):.0%}")
    g = by_scen.get("stay_complaint_resolved", [])
    if g:
        hrs, unres = [], 0
        for _, evs in g:
            op, last_st, seen = {}, {}, set()
            for t, typ, d in evs:
                if typ == "complaint":
                    if d["status"] == "opened":
                        op[d["complaint_id"]] = t
                    if d["status"] == "resolved" and d["complaint_id"] not in seen:
                        seen.add(d["complaint_id"])
                        hrs.append((t - op[d["complaint_id"]]) / 3600)
                    last_st[d["complaint_id"]] = d["status"]
            unres += sum(1 for v in last_st.values() if v != "resolved")
        hrs.sort()
        print(f"  complaint_resolved: {len(hrs)} complaints, hours to resolution median {st.median(hrs):.1f}, "
              f"p90 {hrs[int(.9 * len(hrs))]:.1f}, over 24h {sum(h > 24 for h in hrs)}; left unresolved {unres}")
    g = by_scen.get("stay_b2b_monthend", [])
    if g:
        dom = [datetime.fromtimestamp(t, timezone.utc).day for _, evs in g for t, _ in orders_of(evs)]
        print(f"  b2b_monthend: {sum(1 for x in dom if x >= 24 or x <= 3) / len(dom):.0%} of orders on day >= 24 or <= 3")
    unres_stay = sum(1 for scen, rows in by_scen.items() if scen.startswith("stay") for r, evs in rows
                     for cid in {d["complaint_id"] for _, typ, d in evs if typ == "complaint"}
                     if [d["status"] for _, typ, d in evs if typ == "complaint" and d["complaint_id"] == cid][-1] != "resolved")
    print(f"  complaints left unresolved on stayers: {unres_stay}")
    print(f"  market events: {len(market)}, categories {len({m['category'] for m in market})}, kinds "
          f"{dict(collections.Counter(m['kind'] for m in market))}")

    print(f"\n{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
