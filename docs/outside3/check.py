#!/usr/bin/env python3
"""Validate a data set of docs/outside3/gen.py: check.py DIR [--schemas schemas/json]

1. every line of events.jsonl against the JSON Schema of its `type` (jsonschema, draft 2020-12, with
   format checking) plus what the schemas cannot say: Z timestamps inside the period, sorted
   order, unique event_id, finite numbers, no customer_id on market events;
2. order and complaint lifecycles (cancel/return of a placed order, complaint state machine);
3. truth consistency (truth_eval.csv vs truth_full.csv vs the events);
4. behaviour sanity per churn scenario and a leak check (stayers vs churners, same type);
prints a summary by scenario.  Exit status 1 on any error.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import math
import os
import re
import statistics as st
import sys
from datetime import datetime, timezone

import jsonschema

TYPE_SCHEMA = {"login": "login", "page_view": "page-view", "order": "order", "complaint": "complaint",
               "market_event": "market-event"}
START = datetime(2023, 1, 1, tzinfo=timezone.utc).timestamp()
END = datetime(2025, 7, 1, tzinfo=timezone.utc).timestamp()
CHG_LO = datetime(2024, 4, 1, tzinfo=timezone.utc).timestamp()
CHG_HI = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()
EXIT_CAP = datetime(2025, 6, 1, tzinfo=timezone.utc).timestamp()
STAYER_ACTIVE = datetime(2025, 4, 1, tzinfo=timezone.utc).timestamp()
DAY = 86400
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
EVAL_COLS = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"]
MEASURE_COLS = ["customer_id", "scenario", "changed", "cause", "change_at", "last_active_at"]
CAUSES = {"purchase_frequency", "order_value", "activity", "silence", "complaints", "drift"}
NEXT = {"opened": {"escalated", "resolved"}, "escalated": {"escalated", "resolved"}, "resolved": {"reopened"},
        "reopened": {"escalated", "resolved"}}

errors = collections.Counter()
examples = collections.defaultdict(list)


def err(kind, msg):
    errors[kind] += 1
    if len(examples[kind]) < 3:
        examples[kind].append(msg)


def T(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() if s else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--schemas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                      "schemas", "json"))
    a = ap.parse_args()
    val = {}
    for t, f in TYPE_SCHEMA.items():
        s = json.load(open(os.path.join(a.schemas, f + ".schema.json")))
        jsonschema.Draft202012Validator.check_schema(s)
        val[t] = jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())

    # ---------------- truth files ----------------
    with open(os.path.join(a.dir, "truth_eval.csv")) as f:
        rd = csv.DictReader(f)
        if rd.fieldnames != EVAL_COLS:
            err("truth_eval columns", str(rd.fieldnames))
        ev_rows = {r["customer_id"]: r for r in rd}
    with open(os.path.join(a.dir, "truth_full.csv")) as f:
        rd = csv.DictReader(f)
        for c in MEASURE_COLS:
            if c not in rd.fieldnames:
                err("truth_full columns", c)
        full = {r["customer_id"]: r for r in rd}
    if set(ev_rows) != set(full):
        err("truth files differ in customers", "")

    # ---------------- events ----------------
    n = 0
    by_type = collections.Counter()
    ids = set()
    prev = -1
    cust = collections.defaultdict(lambda: dict(first=None, last=None, n=0, orders=[], amounts=[], act=[], compl=[],
                                                cats=collections.Counter()))
    orders = {}
    complaints = {}
    market = []
    with open(os.path.join(a.dir, "events.jsonl")) as f:
        for ln, line in enumerate(f, 1):
            n += 1
            try:
                d = json.loads(line)
            except ValueError as e:
                err("malformed json", f"line {ln}: {e}")
                continue
            t = d.get("type")
            if t not in val:
                err("unknown type", f"line {ln}: {t}")
                continue
            by_type[t] += 1
            e = next(iter(val[t].iter_errors(d)), None)
            if e is not None:
                err(f"schema {t}", f"line {ln}: {e.message}")
            if d.get("schema_version") != 1:
                err("schema_version", f"line {ln}")
            for k in ("amount", "dwell_seconds", "strength"):
                if k in d and isinstance(d[k], float) and not math.isfinite(d[k]):
                    err("non-finite number", f"line {ln}: {k}")
            eid = d.get("event_id")
            if eid in ids:
                err("duplicate event_id", f"line {ln}: {eid}")
            ids.add(eid)
            oa = d.get("occurred_at", "")
            if not isinstance(oa, str) or not TS_RE.match(oa):
                err("timestamp not UTC Z", f"line {ln}: {oa}")
                continue
            ts = T(oa)
            if not START <= ts < END:
                err("timestamp outside period", f"line {ln}: {oa}")
            if ts < prev:
                err("not sorted by occurred_at", f"line {ln}: {oa}")
            prev = ts
            if t == "market_event":
                if "customer_id" in d:
                    err("market event with customer_id", f"line {ln}")
                if d.get("ends_at") is not None:
                    if not TS_RE.match(d["ends_at"]) or T(d["ends_at"]) <= ts:
                        err("market ends_at", f"line {ln}")
                market.append((ts, d["category"], d["kind"], d["strength"]))
                continue
            cid = d.get("customer_id")
            if cid not in full:
                err("customer not in truth", f"line {ln}: {cid}")
                continue
            c = cust[cid]
            if c["first"] is None:
                c["first"] = ts
            c["last"] = ts
            c["n"] += 1
            if t == "order":
                oid = d["order_id"]
                stt = d.get("status", "placed")
                if stt == "placed":
                    if oid in orders:
                        err("order placed twice", oid)
                    orders[oid] = dict(cid=cid, cur=d["currency"], amount=d["amount"], items=d.get("items", 1), end=None, ts=ts)
                    c["orders"].append(ts)
                    c["amounts"].append((ts, d["amount"], d["currency"]))
                    if d.get("category"):
                        c["cats"][d["category"]] += 1
                else:
                    o = orders.get(oid)
                    if o is None:
                        err("cancel/return of unknown order", oid)
                    elif o["cid"] != cid or o["cur"] != d["currency"]:
                        err("order lifecycle customer/currency mismatch", oid)
                    elif o["end"] is not None:
                        err("order cancelled/returned twice", oid)
                    elif d["amount"] > o["amount"] + 1e-9 or d.get("items", 1) > o["items"]:
                        err("return larger than order", oid)
                    elif o is not None:
                        o["end"] = stt
            elif t == "complaint":
                k = d["complaint_id"]
                s = d["status"]
                if k not in complaints:
                    if s != "opened":
                        err("complaint does not start opened", k)
                    complaints[k] = dict(cid=cid, cat=d["category"], st=s)
                else:
                    cp = complaints[k]
                    if cp["cid"] != cid or cp["cat"] != d["category"]:
                        err("complaint customer/category changed", k)
                    if s not in NEXT.get(cp["st"], set()):
                        err("complaint transition", f"{k}: {cp['st']} -> {s}")
                    cp["st"] = s
                if s in ("opened", "reopened", "escalated"):
                    c["compl"].append(ts)
            else:
                c["act"].append(ts)

    # ---------------- truth consistency ----------------
    for cid, r in full.items():
        e = ev_rows.get(cid, {})
        c = cust.get(cid)
        ch = T(r["change_at"])
        changed = r["changed"] == "1"
        if c is None or c["n"] == 0:
            err("customer without events", cid)
            continue
        if e:
            if (e["churned"] == "true") != changed or e["churned"] not in ("true", "false"):
                err("churned vs changed", cid)
            if e["persona"] != r["scenario"] or e["cause"] != r["cause"] or e["decline_started_at"] != r["change_at"]:
                err("truth_eval vs truth_full", cid)
            if e["last_active_at"] != r["last_active_at"] or e["usual_gap_days"] != r["usual_gap_days"]:
                err("truth_eval vs truth_full", cid)
        if T(r["last_active_at"]) != c["last"]:
            err("last_active_at != last event", f"{cid}: {r['last_active_at']}")
        o = sorted(c["orders"])
        base = [x for x in o if ch is None or x < ch]
        ug = round((base[-1] - base[0]) / DAY / (len(base) - 1), 1) if len(base) >= 2 else ""
        if str(ug) != r["usual_gap_days"]:
            err("usual_gap_days", f"{cid}: {r['usual_gap_days']} vs {ug}")
        if changed:
            if r["cause"] not in CAUSES:
                err("cause", cid)
            if ch is None or not CHG_LO <= ch < CHG_HI:
                err("change_at outside 2024-04-01..2024-12-31", f"{cid}: {r['change_at']}")
            elif ch - c["first"] < 430 * DAY:
                err("less than ~15 months of history", cid)
            if r.get("full_exit") == "1":
                if r.get("decline_end_at") != r["last_active_at"]:
                    err("decline_end_at != last_active_at", cid)
                if c["last"] >= EXIT_CAP:
                    err("leaver still active in the last month", cid)
            if r["cause"] == "silence" and T(r["change_at"]) != c["last"]:
                err("silence: events after change_at", cid)
        else:
            if r["cause"] or r["change_at"]:
                err("stayer with cause/change_at", cid)
            if c["last"] < STAYER_ACTIVE:
                err("stayer inactive at the end", f"{cid} last {r['last_active_at']}")

    # ---------------- behaviour sanity for churners ----------------
    def per30(xs, a, b):
        return 30 * sum(1 for x in xs if a <= x < b) / max((b - a) / DAY, 1)

    # Seasonally matched: the window after the change against the same calendar window a year earlier.
    def cnt(xs, a, b):
        return sum(1 for x in xs if a <= x < b)

    Y = 365 * DAY
    sanity = collections.defaultdict(lambda: [0, 0, 0])       # ok, total, not applicable (no baseline)
    for cid, r in full.items():
        if r["changed"] != "1" or cid not in cust:
            continue
        c = cust[cid]
        ch = T(r["change_at"])
        last = c["last"]
        pre_a = max(c["first"], ch - Y)
        sc = r["scenario"]
        ok = None
        if r["cause"] == "purchase_frequency":
            a_, b_ = ch + 30 * DAY, max(last, ch + 30 * DAY)
            base, post = cnt(c["orders"], a_ - Y, b_ - Y), cnt(c["orders"], a_, b_)
            ok = None if base == 0 else post <= .6 * base
        elif r["cause"] == "order_value":
            cur = collections.Counter(x[2] for x in c["amounts"]).most_common(1)[0][0]
            pre = [x[1] for x in c["amounts"] if pre_a <= x[0] < ch and x[2] == cur]
            post = [x[1] for x in c["amounts"] if x[0] >= ch + 30 * DAY and x[2] == cur]
            ok = None if not pre else (not post or st.median(post) < .65 * st.median(pre))
        elif r["cause"] == "activity":
            base, post = cnt(c["act"], last - 45 * DAY - Y, last + 1 - Y), cnt(c["act"], last - 45 * DAY, last + 1)
            ok = None if base == 0 else post <= .4 * base
        elif r["cause"] == "complaints":
            ok = sum(1 for x in c["compl"] if ch <= x < ch + 60 * DAY) >= 2
        elif r["cause"] == "silence":
            ok = last == ch
        else:
            both = sorted(c["orders"] + c["act"])
            m_ = (ch + last) / 2
            base, post = cnt(both, m_ - Y, last + 1 - Y), cnt(both, m_, last + 1)
            ok = None if base == 0 else post <= .7 * base
            mc = r["main_category"]
            near = [m for m in market if m[1] == mc and m[2] != "competitor_launch" and ch - 60 * DAY <= m[0] <= ch + 50 * DAY]
            if sc == "chg_drift_promo" and not near:
                err("drift_promo without a promotion in its main category", cid)
        if ok is None:
            sanity[sc][2] += 1
        else:
            sanity[sc][0] += ok
            sanity[sc][1] += 1
    # stayers: how many look like leavers at the end (orders+activity Jan-Jun 2025 < 40 % of Jan-Jun 2024)
    h1_24 = (datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp(), datetime(2024, 7, 1, tzinfo=timezone.utc).timestamp())
    stay_low = collections.Counter()
    for cid, r in full.items():
        if r["changed"] == "0" and cid in cust and cust[cid]["first"] < h1_24[0]:
            b = sorted(cust[cid]["orders"] + cust[cid]["act"])
            if cnt(b, h1_24[0] + Y, h1_24[1] + Y) < .4 * cnt(b, *h1_24):
                stay_low[r["scenario"]] += 1

    # ---------------- summary ----------------
    print(f"events: {n}  by type: {dict(by_type)}  file: {os.path.getsize(os.path.join(a.dir, 'events.jsonl')) / 1e6:.1f} MB")
    print(f"customers: {len(full)}  churned: {sum(r['changed'] == '1' for r in full.values())}  "
          f"orders: {len(orders)}  complaints: {len(complaints)}  market events: {len(market)}")
    print(f"order lifecycle: {dict(collections.Counter(o['end'] for o in orders.values()))}  "
          f"complaints final state: {dict(collections.Counter(c['st'] for c in complaints.values()))}")
    print("\n| scenario | n | cause | full exit | events/cust | orders/cust | usual gap med | change_at range | sanity ok/n (n/a) |")
    print("|---|---|---|---|---|---|---|---|---|")
    by = collections.defaultdict(list)
    for cid, r in full.items():
        by[r["scenario"]].append(r)
    for sc in sorted(by, key=lambda s: (s.startswith("chg"), s)):
        rs = by[sc]
        gaps = [float(r["usual_gap_days"]) for r in rs if r["usual_gap_days"]]
        chs = sorted(r["change_at"][:10] for r in rs if r["change_at"])
        san = sanity.get(sc)
        print(f"| {sc} | {len(rs)} | {rs[0]['cause'] or '-'} | {sum(r.get('full_exit') == '1' for r in rs)} | "
              f"{st.mean(int(r['n_events']) for r in rs):.0f} | {st.mean(int(r['n_orders']) for r in rs):.1f} | "
              f"{round(st.median(gaps), 1) if gaps else '-'} | {(chs[0] + '..' + chs[-1]) if chs else '-'} | "
              f"{f'{san[0]}/{san[1]} ({san[2]})' if san else '-'} |")
    # leak check: rhythm before 2024-04-01 by business type, stayers vs churners
    print("\nLeak check (history before 2024-04-01; medians) business type: stayers vs churners")
    for bt in sorted({r["business_type"] for r in full.values()}):
        out = []
        for ch in ("0", "1"):
            rs = [cid for cid, r in full.items() if r["business_type"] == bt and r["changed"] == ch and cid in cust]
            op = [per30(cust[c]["orders"], cust[c]["first"], CHG_LO) for c in rs]
            ap_ = [per30(cust[c]["act"], cust[c]["first"], CHG_LO) for c in rs]
            out.append(f"n={len(rs)} orders/30d={st.median(op) if op else 0:.2f} activity/30d={st.median(ap_) if ap_ else 0:.1f}")
        print(f"  {bt:10s} stayers {out[0]} | churners {out[1]}")
    print(f"\nStayers whose Jan-Jun 2025 orders+activity < 40% of Jan-Jun 2024: {dict(stay_low)}")
    bad_sanity = [sc for sc, (ok, tot, na) in sanity.items() if tot and ok / tot < .7]
    print()
    if errors:
        print("ERRORS:")
        for k, v in errors.most_common():
            print(f"  {k}: {v}  e.g. {examples[k]}")
        print("RESULT: FAIL")
        sys.exit(1)
    if bad_sanity:
        print(f"WARNING: low behaviour sanity in {bad_sanity}")
    print("RESULT: OK (all lines valid against the schemas; truth consistent)")


if __name__ == "__main__":
    main()
