#!/usr/bin/env python3
"""Check a population written by docs/outside4/gen.py.

Usage: python check.py DIR

Validates every line of DIR/events.jsonl against the JSON Schemas in schemas/json/, checks
delivery (duplicates are exact, lateness is bounded), order and complaint lifecycles, the
truth files against the events, and each kind's intended shape. Exit 1 on any error.
"""
from __future__ import annotations

import collections
import csv
import json
import os
import re
import statistics as st
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMAS = os.path.join(HERE, "..", "..", "schemas", "json")
TYPES = {"login": "login", "page_view": "page-view", "order": "order", "complaint": "complaint",
         "market_event": "market-event"}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UTC = timezone.utc
P0 = datetime(2023, 1, 1, tzinfo=UTC).timestamp()
P1 = datetime(2025, 7, 1, tzinfo=UTC).timestamp()
C0 = datetime(2024, 4, 1, tzinfo=UTC).timestamp()
C1 = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0
MAX_LATE = 4 * 3600 + 60
KNOWN_CAUSES = {"purchase_frequency", "order_value", "activity", "silence", "complaints", "drift"}
CAUSE_OF = {"chg_slow_fade": "drift", "chg_price_rise": "purchase_frequency", "chg_b2b_shrink": "order_value",
            "chg_logistics_complaints": "complaints", "chg_vip_service": "complaints", "chg_drift_promo": "drift",
            "chg_brief_bimonthly": "purchase_frequency", "chg_brief_aov": "order_value", "chg_brief_logins": "activity"}
FX = {"EUR": 1.0, "GBP": 0.86, "USD": 1.08, "SEK": 11.3, "PLN": 4.35, "CHF": 0.96, "DKK": 7.46,
      "CZK": 24.8, "JPY": 158.0, "AUD": 1.63, "CAD": 1.47}

errors = []


def err(msg):
    errors.append(msg)
    if len(errors) <= 40:
        print("ERROR:", msg)


def T(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def between(ts, a, b):
    return [t for t in ts if a <= t < b]


def per_day(ts, a, b):
    return len(between(ts, a, b)) / max(1e-9, (b - a) / DAY)


def local(ts, tz):
    return datetime.fromtimestamp(ts, ZoneInfo(tz))


# ---------------------------------------------------------------------------------------------
# per-kind shapes: each returns (ok, value shown in the summary)


class Cust:
    def __init__(self, row):
        self.row = row
        self.notes = dict(x.partition("=")[::2] for x in row["notes"].split(";") if x)
        self.ev = []

    def prep(self):
        self.ev.sort(key=lambda e: e["_t"])
        self.orders = [e for e in self.ev if e["type"] == "order" and e.get("status", "placed") == "placed"]
        self.ot = [e["_t"] for e in self.orders]
        self.logins = [e["_t"] for e in self.ev if e["type"] == "login" and e.get("success", True)]
        self.all = [e["_t"] for e in self.ev]
        self.comp = collections.defaultdict(list)
        for e in self.ev:
            if e["type"] == "complaint":
                self.comp[e["complaint_id"]].append(e)
        self.first = self.all[0]
        self.last = self.all[-1]
        r = self.row
        self.change = T(r["change_at"]) if r["change_at"] else None
        self.shift = T(r["shift_at"]) if r["shift_at"] else None

    def tz_at(self, ts):
        r = self.row
        if r["tz_after"] and self.shift is not None and ts >= self.shift:
            return r["tz_after"]
        return r["tz"]


def nday(s):
    return T(s + "T00:00:00Z")


def s_growing(c):
    n = c.notes
    pre = per_day(c.ot, c.first, c.shift)
    settle = c.shift + int(n["ramp_days"]) * DAY
    if n.get("overshoot") == "1":
        settle += (int(n["hold_days"]) + int(n["ease_days"])) * DAY
    post = per_day(c.ot, min(settle, P1 - 120 * DAY), P1)
    return post >= 1.1 * pre, f"{post / pre:.2f}" if pre else "inf"


def s_bigger(c):
    w = int(c.notes["transition_days"]) * DAY
    a = [e["amount"] for e in c.orders if c.shift - 180 * DAY <= e["_t"] < c.shift]
    b = [e["amount"] for e in c.orders if e["_t"] >= c.shift + w]
    if len(a) < 3 or len(b) < 3:
        return False, "too few orders"
    ra = st.mean(b) / st.mean(a)
    rf = per_day(c.ot, c.shift + w, P1) / per_day(c.ot, c.shift - 180 * DAY, c.shift)
    spend = ra * rf
    return ra >= 1.8 and rf <= 0.65 and 0.4 <= spend <= 2.5, f"basket x{ra:.2f} freq x{rf:.2f} spend x{spend:.2f}"


def s_weekend(c):
    bad = [t for t in c.ot if local(t, c.tz_at(t)).weekday() < 5]
    return not bad, f"{len(bad)} weekday orders"


def s_payday(c):
    ok_days = {1, 2, 3, 15, 16, 17} if c.notes["payday"] == "1st+15th" else {1, 2, 3}
    bad = [t for t in c.ot if local(t, c.tz_at(t)).day not in ok_days]
    return not bad, f"{len(bad)} off-payday orders"


def s_buyer(c):
    lg = [e for e in c.ev if e["type"] == "login" and e.get("success", True)]
    pre = [e for e in lg if e["_t"] < c.shift - 30 * DAY]
    post = [e for e in lg if e["_t"] >= c.shift]
    if len(pre) < 5 or len(post) < 5:
        return False, "too few logins"
    ch_pre = collections.Counter(e["channel"] for e in pre).most_common(1)[0][0]
    ch_post = collections.Counter(e["channel"] for e in post).most_common(1)[0][0]
    h = lambda es: st.median(local(e["_t"], c.tz_at(e["_t"])).hour + local(e["_t"], c.tz_at(e["_t"])).minute / 60 for e in es)
    dh = abs(h(post) - h(pre))
    ro = per_day(c.ot, c.shift, P1) / per_day(c.ot, c.first, c.shift)
    return (ch_pre != ch_post or dh >= 2.5) and 0.5 <= ro <= 2.0, f"{ch_pre}->{ch_post} dh={dh:.1f} orders x{ro:.2f}"


def s_marketplace(c):
    a = c.shift + (int(c.notes["switch_days"]) + 14) * DAY
    rl = per_day(c.logins, a, P1) / per_day(c.logins, c.first, c.shift)
    ro = per_day(c.ot, a, P1) / per_day(c.ot, c.first, c.shift)
    return rl <= 0.35 and ro >= 0.6, f"logins x{rl:.2f} orders x{ro:.2f}"


def s_student(c):
    rs = []
    for y in (2023, 2024):
        s = per_day(c.all, nday(f"{y}-07-15"), nday(f"{y}-08-20"))
        tm = (per_day(c.all, max(c.first, nday(f"{y}-01-10")), nday(f"{y}-06-10")) +
              per_day(c.all, nday(f"{y}-10-01"), nday(f"{y}-12-15"))) / 2
        rs.append(s / tm if tm else 1.0)
    return max(rs) <= 0.5, "/".join(f"{r:.2f}" for r in rs)


def s_relocate(c):
    r = c.row
    bad = [e for e in c.orders if e["currency"] != (r["currency"] if e["_t"] < c.shift else r["currency_after"])]
    return r["currency"] != r["currency_after"] and not bad, f"{r['currency']}->{r['currency_after']} bad={len(bad)}"


def s_comp_resolved(c):
    last_status = {k: v[-1]["status"] for k, v in c.comp.items()}
    unres = [k for k, s in last_status.items() if s != "resolved"]
    lastc = max((v[-1]["_t"] for v in c.comp.values()), default=c.shift)
    after = len([t for t in c.ot if t > lastc])
    return not unres and after >= 1 and len(c.comp) >= 1, f"{len(c.comp)} complaints, unresolved {len(unres)}, orders after {after}"


def s_promo_loyal(c, market):
    ok_m = any(m["category"] == c.row["main_category"] and 0 <= m["_t"] - c.shift < DAY for m in market)
    ro = per_day(c.ot, c.shift + 60 * DAY, P1) / per_day(c.ot, c.first, c.shift)
    return ok_m and ro >= 0.4, f"market={ok_m} orders x{ro:.2f}"


def s_hobby(c):
    season = {int(x) for x in c.notes["season"].split("|")}
    ins = [t for t in c.ot if local(t, c.row["tz"]).month in season]
    days_in = sum(1 for d in range(int(P0 // DAY), int(P1 // DAY)) if datetime.fromtimestamp(d * DAY, UTC).month in season)
    days_all = int((P1 - P0) // DAY)
    r = (len(ins) / days_in) / max(1e-9, (len(c.ot) - len(ins)) / (days_all - days_in))
    return r >= 3, f"in/off season x{r:.1f}"


def s_fade(c):
    pre = per_day(c.all, c.change - 365 * DAY, c.change)
    post = per_day(c.all, c.change + 60 * DAY, min(P1, c.change + 240 * DAY))
    return post <= 0.85 * pre, f"events x{post / pre:.2f}"


def s_price_rise(c):
    cut = c.change + (int(c.notes["orders_left_days"]) + 1) * DAY  # + 1: the generator's days are local days
    late = [t for t in c.ot if t >= cut]
    lo = max(c.ot) if c.ot else c.first
    visits_after = [t for t in c.logins if t > lo + 30 * DAY]
    pre = per_day(c.logins, c.change - 180 * DAY, c.change) * 30
    first = len(between(c.logins, c.change, c.change + 30 * DAY))
    c.rise = first >= 1.0 * pre
    return not late and len(visits_after) >= 1, f"orders after cut {len(late)}, logins 30d {first} vs {pre:.1f}"


def s_b2b_shrink(c):
    a = [e["amount"] for e in c.orders if c.change - 180 * DAY <= e["_t"] < c.change]
    b = [e["amount"] for e in c.orders if e["_t"] >= c.change + int(c.notes["shrink_days"]) * DAY]
    os_ = c.notes["orders_stop"]
    late = [t for t in c.ot if os_ != "after end" and t >= nday(os_)]
    if len(b) < 2:
        return not late, "value x? (few orders after shrink)"
    r = st.mean(b) / st.mean(a)
    return r <= 0.5 and not late, f"value x{r:.2f}"


def s_logistics(c):
    new = {k: v for k, v in c.comp.items() if v[0]["_t"] >= c.change}
    cats = {v[0]["category"] for v in new.values()}
    resolved = [k for k, v in new.items() if any(e["status"] == "resolved" for e in v)]
    first_open = min(v[0]["_t"] for v in new.values()) if new else None
    late = [t for t in c.ot if t >= nday(c.notes["orders_stop"])]
    ok = len(new) == 2 and cats == {"logistics"} and len(resolved) == 1 and first_open == c.change and not late
    return ok, f"{len(new)} complaints {sorted(cats)} resolved {len(resolved)} late orders {len(late)}"


def s_vip(c):
    v = [x for x in c.comp.values() if x[0]["_t"] == c.change]
    ok_c = bool(v) and v[0][0]["category"] == "service" and v[0][0]["severity"] == "high"
    pre = [e["amount"] / FX[e["currency"]] for e in c.orders if e["_t"] < c.change]
    med = st.median(pre) if pre else 0
    late = [t for t in c.ot if t >= c.change]
    gone = (c.last - c.change) / DAY
    return ok_c and med >= 120 and not late and gone <= 10.5, f"median basket EUR {med:.0f}, silent {gone:.1f} d after"


def s_drifter(c, market):
    pd = nday(c.notes["promo_day"])
    ok_m = any(m["category"] == c.row["main_category"] and 0 <= m["_t"] - pd < DAY for m in market)
    ok_d = 10 * DAY <= pd - c.change <= 46 * DAY
    late = [t for t in c.ot if t >= pd + int(c.notes["orders_to_zero_days"]) * DAY]
    return ok_m and ok_d and not late, f"promo +{(pd - c.change) / DAY:.0f} d, late orders {len(late)}"


def s_bimonthly(c):
    ug = float(c.row["usual_gap_days"])
    n6 = len(between(c.ot, c.change, c.change + 180 * DAY))
    return 40 <= ug <= 85 and n6 <= 2, f"gap {ug:.0f} d, orders in 6 months after {n6}"


def s_aov(c):
    pre = [e["amount"] for e in c.orders if e["_t"] < c.change]
    post = [e["amount"] for e in c.orders if e["_t"] >= c.change]
    ok = all(500 <= a <= 1000 for a in pre) and all(200 <= a <= 300 for a in post) and len(pre) >= 5 and len(post) >= 1
    return ok, f"{len(pre)} orders 500-1000, {len(post)} orders 200-300"


def s_logins(c):
    pre = per_day(c.logins, c.first, c.change) * 30.44
    a = c.change + (int(c.notes["ramp_days"]) + 14) * DAY
    b = min(P1, c.last)
    post = per_day(c.logins, a, b) * 30.44 if b - a >= 30 * DAY else 0.0
    return 8 <= pre <= 17 and post <= 4.5, f"logins/month {pre:.1f} -> {post:.1f}"


SHAPES = {  # kind: (function, required pass share)
    "stay_growing": (s_growing, 0.85), "stay_bigger_baskets": (s_bigger, 0.9), "stay_weekend": (s_weekend, 1.0),
    "stay_payday": (s_payday, 1.0), "stay_b2b_buyer_change": (s_buyer, 1.0), "stay_marketplace": (s_marketplace, 0.95),
    "stay_student": (s_student, 0.95), "stay_relocate_currency": (s_relocate, 1.0),
    "stay_complaint_resolved": (s_comp_resolved, 1.0), "stay_promo_loyal": (s_promo_loyal, 0.9),
    "stay_seasonal_hobby": (s_hobby, 0.95), "chg_slow_fade": (s_fade, 0.9), "chg_price_rise": (s_price_rise, 1.0),
    "chg_b2b_shrink": (s_b2b_shrink, 0.9), "chg_logistics_complaints": (s_logistics, 1.0), "chg_vip_service": (s_vip, 1.0),
    "chg_drift_promo": (s_drifter, 1.0), "chg_brief_bimonthly": (s_bimonthly, 0.9), "chg_brief_aov": (s_aov, 1.0),
    "chg_brief_logins": (s_logins, 0.9),
}


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    d = sys.argv[1]
    validators = {}
    for typ, name in TYPES.items():
        schema = json.load(open(os.path.join(SCHEMAS, f"{name}.schema.json")))
        validators[typ] = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    seen = {}
    n_lines = n_dup = n_ooo = 0
    max_late = 0.0
    run_max = 0.0
    market = []
    cust_ev = collections.defaultdict(list)
    orders = {}
    complaints = {}
    n_type = collections.Counter()
    optional = collections.Counter()
    with open(os.path.join(d, "events.jsonl")) as f:
        for ln, line in enumerate(f, 1):
            n_lines += 1
            try:
                e = json.loads(line)
            except ValueError as x:
                err(f"line {ln}: not JSON: {x}")
                continue
            typ = e.get("type")
            if typ not in validators:
                err(f"line {ln}: unknown type {typ!r}")
                continue
            body = {k: v for k, v in e.items() if k != "type"}
            for x in validators[typ].iter_errors(body):
                err(f"line {ln}: {typ}: {x.message} at {list(x.absolute_path)}")
            if e.get("schema_version") != 1:
                err(f"line {ln}: schema_version {e.get('schema_version')!r}")
            if not TS_RE.match(str(e.get("occurred_at", ""))):
                err(f"line {ln}: occurred_at not UTC Z at whole seconds: {e.get('occurred_at')}")
                continue
            t = T(e["occurred_at"])
            if not (P0 <= t < P1):
                err(f"line {ln}: occurred_at outside the period")
            eid = e["event_id"]
            if eid in seen:
                if seen[eid] != line:
                    err(f"line {ln}: event_id {eid} repeated with different content")
                n_dup += 1
                continue
            seen[eid] = line
            if t < run_max:
                n_ooo += 1
                max_late = max(max_late, run_max - t)
            run_max = max(run_max, t)
            n_type[typ] += 1
            e["_t"] = t
            if typ == "market_event":
                if "customer_id" in e:
                    err(f"line {ln}: market event with customer_id")
                if e.get("ends_at") is not None and T(e["ends_at"]) <= t:
                    err(f"line {ln}: ends_at not after occurred_at")
                optional["market_event.ends_at " + ("missing" if "ends_at" not in e else "null" if e["ends_at"] is None else "set")] += 1
                market.append(e)
                continue
            cust_ev[e["customer_id"]].append(e)
            if typ == "login":
                optional["login.success " + ("missing" if "success" not in e else str(e["success"]))] += 1
            elif typ == "page_view":
                optional["page_view.category " + ("missing" if "category" not in e else "null" if e["category"] is None else "set")] += 1
                optional["page_view.session_id " + ("missing" if "session_id" not in e else "null" if e["session_id"] is None else "set")] += 1
            elif typ == "order":
                optional["order.status " + e.get("status", "missing")] += 1
                optional["order.items " + ("missing" if "items" not in e else "set")] += 1
                optional["order.category " + ("missing" if "category" not in e else "null" if e["category"] is None else "set")] += 1
    print(f"{n_lines} lines, {n_dup} exact duplicate lines ({100 * n_dup / n_lines:.2f} %), "
          f"{n_ooo} lines earlier than a line before them (max {max_late / 3600:.2f} h)")
    print("types:", dict(n_type))
    print("optional fields:", ", ".join(f"{k}: {v}" for k, v in sorted(optional.items())))
    if max_late > MAX_LATE:
        err(f"an event arrives {max_late / 3600:.2f} h late (limit 4 h)")
    if n_dup > 0.01 * n_lines or n_dup == 0:
        err(f"duplicate share out of range: {n_dup}")
    if n_ooo == 0:
        err("no out-of-order lines")

    # lifecycles (in event time)
    for cid, evs in cust_ev.items():
        evs.sort(key=lambda e: (e["_t"], 0 if e.get("status", "placed") in ("placed", "opened") else 1))
        placed = {}
        comp = {}
        for e in evs:
            if e["type"] == "order":
                st_ = e.get("status", "placed")
                if st_ == "placed":
                    if e["order_id"] in orders or e["order_id"] in placed:
                        err(f"{cid}: order {e['order_id']} placed twice")
                    placed[e["order_id"]] = e
                else:
                    p = placed.get(e["order_id"])
                    if p is None:
                        err(f"{cid}: {st_} of an order not placed before: {e['order_id']}")
                    elif p["currency"] != e["currency"] or e["amount"] > p["amount"]:
                        err(f"{cid}: {st_} of {e['order_id']} with other currency or higher amount")
            elif e["type"] == "complaint":
                k = e["complaint_id"]
                if k not in comp:
                    if e["status"] != "opened":
                        err(f"{cid}: complaint {k} starts with {e['status']}")
                    comp[k] = e
                elif (comp[k]["category"], comp[k]["severity"]) != (e["category"], e["severity"]):
                    err(f"{cid}: complaint {k} changes category or severity")
                if k in complaints and complaints[k] != cid:
                    err(f"complaint {k} used by two customers")
                complaints[k] = cid
        orders.update(placed)

    # truth
    full = list(csv.DictReader(open(os.path.join(d, "truth_full.csv"))))
    ev_rows = list(csv.DictReader(open(os.path.join(d, "truth_eval.csv"))))
    need_full = {"customer_id", "scenario", "changed", "cause", "change_at", "last_active_at"}
    if not need_full <= set(full[0]):
        err(f"truth_full.csv lacks {need_full - set(full[0])}")
    if list(ev_rows[0].keys()) != ["customer_id", "churned", "persona", "decline_started_at", "last_active_at", "cause", "usual_gap_days"]:
        err(f"truth_eval.csv columns: {list(ev_rows[0].keys())}")
    evd = {r["customer_id"]: r for r in ev_rows}
    if set(evd) != {r["customer_id"] for r in full} or len(evd) != len(full):
        err("truth_eval and truth_full customers differ")
    if set(cust_ev) != set(evd):
        err(f"customers in events and truth differ: {len(set(cust_ev) ^ set(evd))}")
    custs = {}
    quiet_end = []
    for r in full:
        cid = r["customer_id"]
        e = evd.get(cid, {})
        if (e.get("persona"), e.get("decline_started_at"), e.get("last_active_at"), e.get("cause"), e.get("churned"), e.get("usual_gap_days")) != \
                (r["scenario"], r["change_at"], r["last_active_at"], r["cause"], r["churned"], r["usual_gap_days"]):
            err(f"{cid}: truth_eval row differs from truth_full")
        c = Cust(r)
        c.ev = cust_ev.get(cid, [])
        if not c.ev:
            continue
        c.prep()
        custs[cid] = c
        changed = r["changed"] == "1"
        if r["churned"] != r["changed"]:
            err(f"{cid}: churned != changed")
        if r["last_active_at"] != datetime.fromtimestamp(c.last, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"):
            err(f"{cid}: last_active_at {r['last_active_at']} but last event at {c.last}")
        if r["first_event_at"] != datetime.fromtimestamp(c.first, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"):
            err(f"{cid}: first_event_at differs from the events")
        if int(r["n_events"]) != len(c.ev) or int(r["n_orders"]) != len(c.orders):
            err(f"{cid}: n_events/n_orders differ ({r['n_events']}/{len(c.ev)}, {r['n_orders']}/{len(c.orders)})")
        ref = [t for t in c.ot if not changed or t < c.change]
        ug = f"{(ref[-1] - ref[0]) / DAY / (len(ref) - 1):.1f}" if len(ref) >= 2 else ""
        if ug != r["usual_gap_days"]:
            err(f"{cid}: usual_gap_days {r['usual_gap_days']} but orders give {ug}")
        if changed:
            if not (C0 <= c.change < C1):
                err(f"{cid}: change_at {r['change_at']} outside 2024-04-01..2024-12-31")
            if r["cause"] != CAUSE_OF.get(r["scenario"]) or r["cause"] not in KNOWN_CAUSES:
                err(f"{cid}: cause {r['cause']} for {r['scenario']}")
            if c.change - c.first < 180 * DAY:
                err(f"{cid}: less than 180 days of history before change_at")
            if r["full_exit"] == "1" and c.last > T("2025-05-31T23:59:59Z"):
                err(f"{cid}: full_exit but active after 2025-05-31")
            if r["full_exit"] == "1" and r["decline_end_at"] != r["last_active_at"]:
                err(f"{cid}: decline_end_at differs from last_active_at")
        else:
            if r["change_at"] or r["cause"]:
                err(f"{cid}: stayer with change_at or cause")
            if c.last < T("2025-03-15T00:00:00Z"):
                err(f"{cid}: stayer {r['scenario']} silent from {r['last_active_at']}")
            if c.last < T("2025-05-16T00:00:00Z"):
                quiet_end.append(f"{cid} ({r['scenario']}, last {r['last_active_at'][:10]})")
            if r["shift_at"] and not (T("2023-09-01T00:00:00Z") <= c.shift < C1):
                err(f"{cid}: shift_at out of range")

    print(f"stayers with no event in the last 45 days of the period (real quiet spells, allowed): {len(quiet_end)}: {', '.join(quiet_end)}")
    # shapes
    print("\nkind                         n   shape ok  examples")
    kinds = collections.defaultdict(list)
    for c in custs.values():
        kinds[c.row["scenario"]].append(c)
    for k in sorted(kinds):
        cs = kinds[k]
        if k not in SHAPES:
            print(f"{k:28s} {len(cs):3d}   (no shape test)")
            continue
        fn, need = SHAPES[k]
        res = []
        for c in cs:
            try:
                ok, v = fn(c, market) if fn in (s_promo_loyal, s_drifter) else fn(c)
            except (ZeroDivisionError, ValueError, KeyError) as x:
                ok, v = False, f"{type(x).__name__}: {x}"
            res.append((ok, v, c.row["customer_id"]))
        nok = sum(r[0] for r in res)
        bad = [r for r in res if not r[0]]
        print(f"{k:28s} {len(cs):3d}   {nok:3d}/{len(cs):<3d}  {res[0][1]}" + (f"   failing: {'; '.join(f'{b[2]}: {b[1]}' for b in bad[:3])}" if bad else ""))
        if nok < need * len(cs):
            err(f"{k}: only {nok}/{len(cs)} customers have the intended shape (need {need:.0%})")
    pr = kinds.get("chg_price_rise", [])
    if pr:
        rise = sum(getattr(c, "rise", False) for c in pr)
        print(f"chg_price_rise: logins in the 30 days after the price rise >= the usual 30 days: {rise}/{len(pr)}")
        if rise < 0.6 * len(pr):
            err("chg_price_rise: comparison-shopping rise of logins visible for < 60 %")
    print(f"\n{len(errors)} error(s)")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
