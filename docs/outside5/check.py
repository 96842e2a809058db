#!/usr/bin/env python3
"""Check the outside population 5 files written by gen.py.

Validates every event against the JSON Schemas in schemas/json/, event_id uniqueness, order
and complaint lifecycles, the truth files against the events and the scenario rules, and
prints the shape of each scenario and the shop-wide disruptions as seen in the daily counts.
Exit 1 on any error.

Usage: python docs/outside5/check.py [--data out/outside5/data] [--schemas schemas/json]
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import re
import statistics as st
import sys
import uuid
from datetime import date, datetime, timedelta, timezone

try:
    import jsonschema
except ImportError:            # pragma: no cover - the venv has it
    jsonschema = None

UTC = timezone.utc
START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)
D0 = date(2023, 1, 1)
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
SCHEMA_FILES = {"login": "login", "page_view": "page-view", "order": "order", "complaint": "complaint",
                "market_event": "market-event"}
CAUSES = {"purchase_frequency", "order_value", "activity", "complaints", "drift", "silence"}
EVAL_COLS = ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"]
MEASURE_COLS = ["customer_id", "scenario", "changed", "cause", "change_at", "last_active_at"]
TRANS = {None: {"opened"}, "opened": {"escalated", "resolved"}, "escalated": {"resolved"},
         "resolved": {"reopened"}, "reopened": {"escalated", "resolved"}}
# shop-wide calendar (as documented in README.md)
TRACKING = (date(2024, 10, 7), date(2024, 10, 17))
SITE = (date(2024, 5, 14), date(2024, 5, 16))

errors = []


def err(msg):
    errors.append(msg)
    if len(errors) <= 40:
        print("ERROR:", msg)


def T(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


def ddays(a, b):
    return (a - b).total_seconds() / 86400


def dr(a, b):
    """Dates a .. b-1."""
    return [a + timedelta(n) for n in range((b - a).days)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="out/outside5/data")
    ap.add_argument("--schemas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                      "schemas", "json"))
    a = ap.parse_args()

    validators = {}
    for typ, fn in SCHEMA_FILES.items():
        sch = json.load(open(os.path.join(a.schemas, f"{fn}.schema.json")))
        if jsonschema:
            cls = jsonschema.validators.validator_for(sch)
            cls.check_schema(sch)
            validators[typ] = cls(sch, format_checker=cls.FORMAT_CHECKER)
        else:
            validators[typ] = sch
    if not jsonschema:
        print("note: jsonschema not installed, checking required fields and types by hand")

    # ---------------------------------------------------------------- events
    seen_ids = set()
    prev_t = None
    counts = collections.Counter()
    daily = collections.defaultdict(collections.Counter)          # date -> type -> n
    cust = collections.defaultdict(list)                           # cid -> [(t, type, d)]
    placed = {}                                                    # order_id -> (cid, t)
    closed = set()
    cmp_state, cmp_owner, cmp_attr = {}, {}, {}
    market = []
    n = 0
    with open(os.path.join(a.data, "events.jsonl"), encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            n += 1
            try:
                d = json.loads(line)
            except ValueError as e:
                err(f"line {ln}: not JSON ({e})")
                continue
            typ = d.get("type")
            if typ not in SCHEMA_FILES:
                err(f"line {ln}: unknown type {typ!r}")
                continue
            body = {k: v for k, v in d.items() if k != "type"}
            if jsonschema:
                v = validators[typ]
                if not v.is_valid(body):
                    for e in v.iter_errors(body):
                        err(f"line {ln} ({typ}): {e.message} at {list(e.absolute_path)}")
            else:
                for k in validators[typ]["required"]:
                    if k not in body:
                        err(f"line {ln}: missing {k}")
            if body.get("schema_version") != 1:
                err(f"line {ln}: schema_version must be 1")
            for k in ("occurred_at", "ends_at"):
                if body.get(k) is not None and not TS_RE.match(body[k]):
                    err(f"line {ln}: {k} {body[k]!r} is not RFC 3339 UTC with Z")
            eid = body.get("event_id", "")
            try:
                if str(uuid.UUID(eid)) != eid:
                    raise ValueError
            except ValueError:
                err(f"line {ln}: event_id {eid!r} is not a canonical UUID")
            if eid in seen_ids:
                err(f"line {ln}: duplicate event_id {eid}")
            seen_ids.add(eid)
            t = T(body["occurred_at"])
            if prev_t and t < prev_t:
                err(f"line {ln}: not sorted by occurred_at")
            prev_t = t
            if not START <= t < END:
                err(f"line {ln}: occurred_at {body['occurred_at']} outside the period")
            counts[typ] += 1
            daily[t.date()][typ] += 1
            if typ == "market_event":
                if "customer_id" in body:
                    err(f"line {ln}: market event with customer_id")
                if not body.get("ends_at") or T(body["ends_at"]) <= t:
                    err(f"line {ln}: market event without ends_at after occurred_at")
                market.append((t, body))
                continue
            cid = body["customer_id"]
            cust[cid].append((t, typ, body))
            if typ == "order":
                oid = body["order_id"]
                if body["status"] == "placed":
                    if oid in placed:
                        err(f"line {ln}: order_id {oid} placed twice")
                    placed[oid] = (cid, t, body)
                else:
                    p = placed.get(oid)
                    if p is None or p[0] != cid or p[1] > t:
                        err(f"line {ln}: {body['status']} order {oid} refers to no earlier order of {cid}")
                    elif oid in closed:
                        err(f"line {ln}: order {oid} cancelled/returned twice")
                    elif (p[2]["amount"], p[2]["currency"]) != (body["amount"], body["currency"]):
                        err(f"line {ln}: {body['status']} order {oid} differs in amount/currency")
                    closed.add(oid)
            elif typ == "complaint":
                k = body["complaint_id"]
                if cmp_owner.setdefault(k, cid) != cid:
                    err(f"line {ln}: complaint {k} of two customers")
                if body["status"] not in TRANS[cmp_state.get(k)]:
                    err(f"line {ln}: complaint {k} goes {cmp_state.get(k)} -> {body['status']}")
                cmp_state[k] = body["status"]
                attr = (body["category"], body["severity"])
                if cmp_attr.setdefault(k, attr) != attr:
                    err(f"line {ln}: complaint {k} changes category/severity")
    print(f"events: {n} lines, {dict(counts)}; customers {len(cust)}; market events {len(market)}")
    cur_by = collections.defaultdict(set)
    for cid, evs in cust.items():
        for t, typ, b in evs:
            if typ == "order":
                cur_by[cid].add(b["currency"])
    multi = [c for c, s in cur_by.items() if len(s) > 1]
    if multi:
        err(f"customers with several currencies: {multi[:5]}")
    print("currencies:", dict(collections.Counter(next(iter(s)) for s in cur_by.values())))

    # orders preceded by a page view of the same customer in the same session (within 2 h)
    with_pv = tot = 0
    for cid, evs in cust.items():
        last_pv = None
        for t, typ, b in evs:
            if typ == "page_view":
                last_pv = t
            elif typ == "order" and b["status"] == "placed" and not TRACKING[0] <= t.date() < TRACKING[1]:
                tot += 1
                with_pv += last_pv is not None and ddays(t, last_pv) < 2 / 24
    share = with_pv / max(1, tot)
    print(f"placed orders preceded by a page view within 2 h (outside the tracking outage): {share:.1%}")
    if share < 0.6:
        err("fewer than 60% of orders are preceded by page views")
    unresolved = sum(1 for s in cmp_state.values() if s != "resolved")
    print(f"complaints: {len(cmp_state)}, not resolved at the end: {unresolved}; "
          f"market kinds: {dict(collections.Counter(b['kind'] for _, b in market))}")

    # ---------------------------------------------------------------- truth
    with open(os.path.join(a.data, "truth_eval.csv"), newline="") as fh:
        rd = csv.DictReader(fh)
        if rd.fieldnames != EVAL_COLS:
            err(f"truth_eval.csv columns {rd.fieldnames} != {EVAL_COLS}")
        te = {r["customer_id"]: r for r in rd}
    with open(os.path.join(a.data, "truth_full.csv"), newline="") as fh:
        rd = csv.DictReader(fh)
        if rd.fieldnames[:len(MEASURE_COLS)] != MEASURE_COLS:
            err(f"truth_full.csv must start with {MEASURE_COLS}")
        tf = {r["customer_id"]: r for r in rd}
    if set(te) != set(tf) or set(te) != set(cust):
        err(f"customers differ: eval {len(te)}, full {len(tf)}, events {len(cust)}")
    end = END
    for cid, r in te.items():
        f = tf.get(cid, {})
        evs = cust.get(cid, [])
        ch = r["churned"]
        if ch not in ("0", "1"):
            err(f"{cid}: churned {ch!r}")
        p = r["persona"]
        if not p.startswith("chg_" if ch == "1" else "stay_"):
            err(f"{cid}: persona {p} does not fit churned={ch}")
        if (f.get("scenario"), f.get("changed"), f.get("cause"), f.get("change_at"), f.get("last_active_at")) != \
                (p, ch, r["cause"], r["decline_started_at"], r["last_active_at"]):
            err(f"{cid}: truth_full differs from truth_eval")
        if not evs:
            err(f"{cid}: no events")
            continue
        last = evs[-1][0]
        if T(r["last_active_at"]) != last:
            err(f"{cid}: last_active_at {r['last_active_at']} != last event {last}")
        C = T(r["decline_started_at"])
        if ch == "1":
            if r["cause"] not in CAUSES:
                err(f"{cid}: cause {r['cause']!r}")
            if C is None or C < datetime(2023, 7, 1, tzinfo=UTC):
                err(f"{cid}: decline_started_at {r['decline_started_at']!r} missing or before 2023-07-01")
                continue
        elif r["decline_started_at"] or r["cause"]:
            err(f"{cid}: stayer with decline_started_at/cause")
        placed_t = [t for t, typ, b in evs if typ == "order" and b["status"] == "placed"]
        ref = [t for t in placed_t if C is None or t < C]
        exp_gap = "" if len(ref) < 2 else f"{ddays(ref[-1], ref[0]) / (len(ref) - 1):.2f}"
        if exp_gap != r["usual_gap_days"]:
            err(f"{cid}: usual_gap_days {r['usual_gap_days']!r}, events give {exp_gap!r}")
        if ch == "0":
            within = 100 if p == "stay_gift_buyer" else 45
            if ddays(end, last) > within:
                err(f"{cid} ({p}): stayer last active {last:%Y-%m-%d}, more than {within} days before the end")
            continue
        # churners
        first = evs[0][0]
        if ddays(C, first) < 120:
            err(f"{cid} ({p}): only {ddays(C, first):.0f} days of history before the change")
        if ddays(end, last) < 45:
            err(f"{cid} ({p}): churner still active {ddays(end, last):.0f} days before the end")
        after_orders = [(t, b) for t, typ, b in evs if typ == "order" and b["status"] == "placed" and t >= C]
        if p == "chg_abrupt" and last >= C:
            err(f"{cid}: abrupt leaver active after the stop")
        if p in ("chg_repl_cancel", "chg_repl_rival_switch"):
            if after_orders:
                err(f"{cid} ({p}): order placed after the change")
            if ddays(last, C) > 80:
                err(f"{cid} ({p}): active {ddays(last, C):.0f} days after the change")
        if p == "chg_repl_rival_switch":
            cat = f.get("category")
            if not any(b["category"] == cat and b["kind"] == "competitor_promotion" and mt <= C <= T(b["ends_at"])
                       for mt, b in market):
                err(f"{cid}: no competitor promotion in {cat} running at the switch")
        if p == "chg_repl_downsize":
            before = [b["amount"] for t, typ, b in evs if typ == "order" and b["status"] == "placed" and t < C
                      and b["category"] == f.get("category")]
            aft = [b["amount"] for t, b in after_orders]
            if not aft or not before or st.median(aft) > 0.65 * st.median(before):
                err(f"{cid}: downsize not visible in amounts")
        if p == "chg_repl_late_delivery":
            lc = [t for t, typ, b in evs if typ == "complaint" and b["status"] == "opened"
                  and b["category"] == "logistics" and t >= C]
            if len(lc) < 1 or (len(lc) < 2 and len(after_orders) > 1):
                err(f"{cid}: {len(lc)} logistics complaints after the change")
            if len(after_orders) > 3:
                err(f"{cid}: {len(after_orders)} orders after the first late delivery")
        if p == "chg_steady_fade":
            vis = [t for t, typ, b in evs if typ in ("login", "page_view")]
            pre = sum(1 for t in vis if 0 < ddays(C, t) <= 180) / 180
            late = sum(1 for t in vis if 0 <= ddays(last, t) <= 45) / 45
            if late > 0.6 * pre:
                err(f"{cid}: fade not visible (visits/day {late:.2f} at the end vs {pre:.2f} before)")

    # ---------------------------------------------------------------- shapes
    print("\nScenario shapes (reference date: decline_started_at for churners, habit_change_at for stayers "
          "who change habit, else 2024-07-01; medians over customers)")
    hdr = f"{'persona':28} {'n':>4} {'ord/mo bef':>10} {'aft':>6} {'amt aft/bef':>11} {'actdays/mo bef':>14} " \
          f"{'aft':>5} {'cmp bef':>7} {'aft':>5} {'gap d':>6} {'last-ref d':>10}"
    print(hdr)
    by = collections.defaultdict(list)
    for cid, r in te.items():
        by[r["persona"]].append(cid)
    for p in sorted(by, key=lambda s: (s.startswith("chg_"), s)):
        rows = []
        for cid in by[p]:
            r, f, evs = te[cid], tf[cid], cust[cid]
            ref = T(r["decline_started_at"]) or T(f.get("habit_change_at")) or datetime(2024, 7, 1, tzinfo=UTC)
            first, last = evs[0][0], evs[-1][0]
            span_b = max(30.44, ddays(ref, first)) / 30.44          # at least one month
            span_a = max(30.44, ddays(last if r["churned"] == "1" else END, ref)) / 30.44
            po = [(t, b) for t, typ, b in evs if typ == "order" and b["status"] == "placed"]
            ob = [b["amount"] for t, b in po if t < ref]
            oa = [b["amount"] for t, b in po if t >= ref]
            dys_b = {t.date() for t, _, _ in evs if t < ref}
            dys_a = {t.date() for t, _, _ in evs if t >= ref}
            cb = sum(1 for t, typ, b in evs if typ == "complaint" and b["status"] == "opened" and t < ref)
            ca = sum(1 for t, typ, b in evs if typ == "complaint" and b["status"] == "opened" and t >= ref)
            rows.append((len(ob) / span_b, len(oa) / span_a,
                         (st.mean(oa) / st.mean(ob)) if oa and ob else None,
                         len(dys_b) / span_b, len(dys_a) / span_a, cb, ca,
                         float(r["usual_gap_days"]) if r["usual_gap_days"] else None, ddays(last, ref)))

        def m(i, fmt="{:.2f}"):
            xs = [x[i] for x in rows if x[i] is not None]
            return fmt.format(st.median(xs)) if xs else "-"
        print(f"{p:28} {len(rows):>4} {m(0):>10} {m(1):>6} {m(2):>11} {m(3, '{:.1f}'):>14} {m(4, '{:.1f}'):>5} "
              f"{m(5, '{:.0f}'):>7} {m(6, '{:.0f}'):>5} {m(7, '{:.0f}'):>6} {m(8, '{:.0f}'):>10}")
    nch = sum(1 for r in te.values() if r["churned"] == "1")
    print(f"customers {len(te)}, churners {nch} ({nch / len(te):.0%})")

    # ---------------------------------------------------------------- disruptions
    def mean_day(days, types):
        return st.mean(sum(daily[d][t] for t in types) for d in days)

    print("\nShop-wide disruptions in the daily counts (mean events per day)")
    tr = dr(*TRACKING)
    around = dr(TRACKING[0] - timedelta(14), TRACKING[0]) + dr(TRACKING[1], TRACKING[1] + timedelta(14))
    for typ in ("page_view", "login", "order"):
        x, y = mean_day(tr, [typ]), mean_day(around, [typ])
        print(f"  tracking outage {TRACKING[0]}..{TRACKING[1] - timedelta(1)} {typ:10}: {x:7.1f} vs {y:7.1f} "
              f"in the 14 days either side")
        if typ == "page_view" and x != 0:
            err("page views during the tracking outage")
        if typ != "page_view" and not 0.6 < x / max(y, 1e-9) < 1.6:
            err(f"{typ} not flowing normally during the tracking outage")
    so = dr(*SITE)
    around = dr(SITE[0] - timedelta(7), SITE[0]) + dr(SITE[1], SITE[1] + timedelta(7))
    x, y = mean_day(so, list(SCHEMA_FILES)), mean_day(around, list(SCHEMA_FILES))
    print(f"  site outage {SITE[0]}..{SITE[1] - timedelta(1)} all events: {x:.1f} vs {y:.1f} in the 7 days either "
          f"side (orders on {SITE[1]}: {daily[SITE[1]]['order']}, usual {mean_day(around, ['order']):.1f})")
    if x != 0:
        err("events during the site outage")
    for y in (2023, 2024):
        peak = dr(date(y, 11, 20), date(y, 12, 24))
        octo = dr(date(y, 10, 1), date(y, 11, 15))
        jan = dr(date(y + 1, 1, 8), date(y + 1, 2, 1))
        o = [mean_day(z, ["order"]) for z in (octo, peak, jan)]
        v = [mean_day(z, ["login", "page_view"]) for z in (octo, peak, jan)]
        if y == 2024:   # the tracking outage lies in October 2024: compare visits with logins only there
            v = [mean_day(z, ["login"]) for z in (octo, peak, jan)]
        print(f"  holiday peak {y}: orders/day Oct {o[0]:.1f}, 20 Nov-23 Dec {o[1]:.1f} (x{o[1] / o[0]:.2f}), "
              f"Jan {o[2]:.1f} (x{o[2] / o[0]:.2f}); {'logins' if y == 2024 else 'visits'}/day x{v[1] / v[0]:.2f} "
              f"then x{v[2] / v[0]:.2f}")
        if o[1] / o[0] < 1.3 or v[1] / v[0] < 1.3 or not 0.75 < o[2] / o[0] < 1.25:
            err(f"holiday peak {y} not visible or January not back to normal")
        aug = dr(date(y, 8, 1), date(y, 9, 1))
        ref = dr(date(y, 6, 15), date(y, 7, 31)) + dr(date(y, 9, 8), date(y, 9, 25))
        ox, vx = mean_day(aug, ["order"]) / mean_day(ref, ["order"]), \
            mean_day(aug, ["login", "page_view"]) / mean_day(ref, ["login", "page_view"])
        print(f"  summer lull {y}: August vs mid-June..July and September: orders x{ox:.2f}, visits x{vx:.2f}")
        if vx > 0.85:
            err(f"summer lull {y} not visible")

    print(f"\n{len(errors)} error(s)" if errors else "\nOK: no errors")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
