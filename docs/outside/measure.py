#!/usr/bin/env python3
"""Score Churnwatch warnings against the ground truth of gen.py (truth_full.csv).

Usage: python measure.py --data DIR --run DIR [--warmup-days 120] [--end 2025-03-31]
Writes DIR_run/report.md and DIR_run/per_customer.csv, prints the report.
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import statistics as st
from datetime import datetime, timezone

LV = {"watch": 1, "warning": 2, "critical": 3}
START = datetime(2023, 1, 1, tzinfo=timezone.utc)
END = datetime(2025, 3, 31, tzinfo=timezone.utc)

EXPECTED_KINDS = {
    "purchase_frequency": {"purchase_frequency_drop"},
    "order_value": {"order_value_drop"},
    "activity": {"activity_drop"},
    "silence": {"silence", "purchase_frequency_drop", "activity_drop"},
    "complaints": {"complaint_increase"},
    "drift": {"purchase_frequency_drop", "activity_drop", "silence"},
}
# actions that fit the cause (judgement; personal_call always acceptable for core)
FIT_ACTIONS = {
    "purchase_frequency": {"win_back", "targeted_offer"},
    "order_value": {"targeted_offer", "loyalty_points"},
    "activity": {"targeted_offer", "loyalty_points", "win_back"},
    "silence": {"win_back"},
    "complaints": {"service_recovery"},
    "drift": {"targeted_offer", "win_back"},
}


def T(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


def days(a, b):
    return (a - b).total_seconds() / 86400


def med(xs):
    return f"{st.median(xs):.0f}" if xs else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="out/outside/data")
    ap.add_argument("--run", default="out/outside/run")
    ap.add_argument("--warmup-days", type=float, default=120)
    ap.add_argument("--end", default="2025-03-31",
                    help="end of the period the warnings were run to (stayer-months and warnings stop there)")
    a = ap.parse_args()
    global END
    END = T(a.end if "T" in a.end else a.end + "T00:00:00Z")
    truth = {r["customer_id"]: r for r in csv.DictReader(open(os.path.join(a.data, "truth_full.csv")))}
    # first event per customer (customer-months)
    first_ev = {}
    with open(os.path.join(a.data, "events.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            cid = d.get("customer_id")
            if cid and cid not in first_ev:
                first_ev[cid] = T(d["occurred_at"])
    W = collections.defaultdict(list)
    for line in open(os.path.join(a.run, "warnings.jsonl")):
        w = json.loads(line)
        W[w["customer_id"]].append(w)
    for v in W.values():
        v.sort(key=lambda w: w["occurred_at"])
    snap = {}
    sp = os.path.join(a.run, "snapshot.jsonl")
    if os.path.exists(sp):
        for line in open(sp):
            s = json.loads(line)
            snap[s["customer_id"]] = s
    warm = START.timestamp() + a.warmup_days * 86400

    rows = []
    for cid, t in truth.items():
        ws = W.get(cid, [])
        ch = T(t["change_at"]) if t["change_at"] else None
        last = T(t["last_active_at"])
        # episodes: open level transitions
        open_lv = 0
        episodes = {1: [], 2: []}  # onsets (time, warning) of open level >= L
        for w in ws:
            lv = 0 if w["state"] == "cleared" else LV[w["level"]]
            for L in (1, 2):
                if open_lv < L <= lv:
                    episodes[L].append(w)
            open_lv = lv
        r = dict(customer_id=cid, scenario=t["scenario"], changed=int(t["changed"]), cause=t["cause"],
                 n_warn_msgs=len(ws), final_level=snap.get(cid, {}).get("level", ""),
                 final_open=snap.get(cid, {}).get("open_warning_level", ""), segment_final=snap.get(cid, {}).get("segment", ""))
        start_t = max(first_ev.get(cid, START), datetime.fromtimestamp(warm, timezone.utc))
        if ch is None:
            months = max(0.0, days(END, start_t)) / 30.44
            r["cust_months"] = months
            for L in (1, 2):
                fa = [w for w in episodes[L] if T(w["occurred_at"]) >= start_t]
                r[f"false_ep_L{L}"] = len(fa)
                r[f"false_ep_L{L}_all"] = len(episodes[L])
                r[f"false_first_L{L}"] = fa[0] if fa else None
        else:
            pre_months = max(0.0, days(ch, start_t)) / 30.44
            r["cust_months"] = pre_months
            for L in (1, 2):
                pre = [w for w in episodes[L] if start_t <= T(w["occurred_at"]) < ch]
                r[f"false_ep_L{L}"] = len(pre)
                r[f"false_ep_L{L}_all"] = len([w for w in episodes[L] if T(w["occurred_at"]) < ch])
                r[f"false_first_L{L}"] = pre[0] if pre else None
                # first onset after change, or open at change
                post = [w for w in episodes[L] if T(w["occurred_at"]) >= ch]
                open_at_change = None
                lvl = 0
                for w in ws:
                    if T(w["occurred_at"]) >= ch:
                        break
                    lvl = 0 if w["state"] == "cleared" else LV[w["level"]]
                    if lvl >= L:
                        open_at_change = w
                fw = post[0] if post else None
                r[f"hit_L{L}"] = int(fw is not None)
                r[f"open_at_change_L{L}"] = int(open_at_change is not None and lvl >= L)
                r[f"first_L{L}"] = fw
                if fw:
                    ft = T(fw["occurred_at"])
                    r[f"d_change_L{L}"] = days(ft, ch)
                    r[f"d_last_L{L}"] = days(ft, last)
                    kinds = [s["kind"] for s in fw["signals"]]
                    r[f"kinds_L{L}"] = kinds
                    r[f"kind_match_L{L}"] = int(bool(set(kinds) & EXPECTED_KINDS[t["cause"]]))
                    acts = [x["action"] for x in fw["suggested_actions"]]
                    r[f"acts_L{L}"] = acts
                    fit = FIT_ACTIONS[t["cause"]] | ({"personal_call"} if fw["segment"] == "core" else set())
                    r[f"act_fit_L{L}"] = int(bool(acts) and acts[0] in fit)
                    r[f"seg_L{L}"] = fw["segment"]
                    if t["scenario"] == "chg_drift_promo" or t["scenario"] == "chg_drift_nopromo":
                        r[f"competitor_L{L}"] = int("competitor_pressure" in kinds)
            # any competitor_pressure after change at any level
            r["any_competitor"] = int(any(s["kind"] == "competitor_pressure" for w in ws for s in w["signals"] if T(w["occurred_at"]) >= ch))
        rows.append(r)

    out = []
    P = out.append
    P(f"# Churnwatch on the outside population: {a.run}\n")
    P("## Changed customers (first onset at/after change_at)\n")
    P("| scenario | n | >=warning | >=watch | open>=warn at change | days change->first warn (med, p25-p75) | days first warn - last activity (med) | first >=warning kinds (top) | kind matches cause | action fits | competitor in first warn |")
    P("|---|---|---|---|---|---|---|---|---|---|---|")
    by = collections.defaultdict(list)
    for r in rows:
        by[r["scenario"]].append(r)
    for scen in sorted(by):
        rs = by[scen]
        if not rs[0]["changed"]:
            continue
        n = len(rs)
        h2 = [r for r in rs if r.get("hit_L2")]
        h1 = [r for r in rs if r.get("hit_L1")]
        dc = sorted(r["d_change_L2"] for r in h2)
        dl = [r["d_last_L2"] for r in h2]
        kc = collections.Counter("+".join(sorted(set(r["kinds_L2"]))) for r in h2)
        km = sum(r["kind_match_L2"] for r in h2)
        af = sum(r["act_fit_L2"] for r in h2)
        comp = sum(r.get("competitor_L2", 0) for r in h2)
        q = lambda xs, p: xs[int(p * (len(xs) - 1))] if xs else float("nan")
        P(f"| {scen} | {n} | {len(h2)}/{n} | {len(h1)}/{n} | {sum(r['open_at_change_L2'] for r in rs)} | {med(dc)} ({q(dc,.25):.0f}-{q(dc,.75):.0f}) | {med(dl)} | {'; '.join(f'{k} x{v}' for k, v in kc.most_common(3))} | {km}/{len(h2)} | {af}/{len(h2)} | {comp}/{len(h2)} |")
    P("\nFirst >=watch onset after change (kinds), per scenario:\n")
    for scen in sorted(by):
        rs = by[scen]
        if not rs[0]["changed"]:
            continue
        h1 = [r for r in rs if r.get("hit_L1")]
        kc = collections.Counter("+".join(sorted(set(r["kinds_L1"]))) for r in h1)
        ac = collections.Counter(r["acts_L1"][0] if r["acts_L1"] else "-" for r in h1)
        P(f"- {scen}: med days {med([r['d_change_L1'] for r in h1])}; kinds {dict(kc.most_common(4))}; first action {dict(ac)}; any competitor_pressure after change: {sum(r.get('any_competitor',0) for r in rs)}/{len(rs)}")

    P(f"\n## False warnings (episodes opened after a {a.warmup_days:.0f}-day warm-up; changed customers counted before change_at)\n")
    P("| group | n | cust-months | episodes >=warning | per 1000 cm | episodes >=watch | per 1000 cm | first-signal kinds of >=warning false episodes | incl. warm-up: >=warn / >=watch |")
    P("|---|---|---|---|---|---|---|---|---|")
    tot = [0, 0, 0, 0, 0, 0]
    for scen in sorted(by, key=lambda s: (by[s][0]["changed"], s)):
        rs = by[scen]
        cm = sum(r["cust_months"] for r in rs)
        e2 = sum(r["false_ep_L2"] for r in rs)
        e1 = sum(r["false_ep_L1"] for r in rs)
        kc = collections.Counter("+".join(sorted({s["kind"] for s in r["false_first_L2"]["signals"]})) for r in rs if r["false_first_L2"])
        P(f"| {scen}{' (pre-change)' if rs[0]['changed'] else ''} | {len(rs)} | {cm:.0f} | {e2} | {1000*e2/cm if cm else 0:.1f} | {e1} | {1000*e1/cm if cm else 0:.1f} | {dict(kc.most_common(3))} | {sum(r['false_ep_L2_all'] for r in rs)} / {sum(r['false_ep_L1_all'] for r in rs)} |")
        if not rs[0]["changed"]:
            tot[0] += len(rs); tot[1] += cm; tot[2] += e2; tot[3] += e1
    P(f"| **all stayers** | {tot[0]} | {tot[1]:.0f} | {tot[2]} | {1000*tot[2]/tot[1]:.1f} | {tot[3]} | {1000*tot[3]/tot[1]:.1f} | | |")
    stay_warned = [r for r in rows if not r["changed"] and r["false_ep_L2"]]
    P(f"\nStayers with >=1 false >=warning episode after warm-up: {len(stay_warned)}/{tot[0]}; ids: {', '.join(r['customer_id'] for r in stay_warned[:25])}")
    P("\nFinal snapshot level of stayers: " + str(collections.Counter(r["final_level"] for r in rows if not r["changed"])))
    P("Final snapshot level of changed:  " + str(collections.Counter(r["final_level"] for r in rows if r["changed"])))
    rep = "\n".join(out)
    print(rep)
    open(os.path.join(a.run, "report.md"), "w").write(rep + "\n")
    keys = ["customer_id", "scenario", "changed", "cause", "n_warn_msgs", "final_level", "final_open", "segment_final", "cust_months",
            "false_ep_L1", "false_ep_L2", "hit_L1", "hit_L2", "open_at_change_L2", "d_change_L1", "d_change_L2", "d_last_L2",
            "kinds_L1", "kinds_L2", "acts_L2", "seg_L2", "any_competitor"]
    with open(os.path.join(a.run, "per_customer.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 1) if isinstance(v, float) else ("|".join(v) if isinstance(v, list) else v)) for k, v in r.items()})


if __name__ == "__main__":
    main()
