"""How soon `activity_drop` catches a fall in visits, with its four-week scale alone and with both scales.

The figures of docs/quality.md, "Activity over eight weeks": simulated visitors active on
each day with probability usual / 30.4 for 200 days, then now / 30.4, the detector evaluated
every evening for 120 days from the change; a row with usual == now is a steady visitor
(how often it fires without a fall). Pure detector code, no broker:

    python -m streams.activity_power [--customers 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import random
import statistics

from detectors import activity
from detectors.state import DAY, CustomerState

CHANGE_DAY = 200
FOLLOW_DAYS = 120
# (usual, now) or (usual, now, days away): a steady visitor away that many days from the
# change and back at the usual pace (a holiday: how often its return fires, see below).
ROWS = ((10, 3), (10, 2), (12, 3), (12, 2), (15, 3), (15, 2), (10, 5), (15, 6), (10, 10), (15, 15), (5, 5),
        (10, 10, 21), (15, 15, 21), (25, 25, 21), (25, 25, 28))


def visitor(rng: random.Random, usual: float, now: float, away: int = 0) -> CustomerState:
    days = [d for d in range(CHANGE_DAY) if rng.random() < usual / 30.4]
    days += [d for d in range(CHANGE_DAY + away, CHANGE_DAY + FOLLOW_DAYS) if rng.random() < now / 30.4]
    n = len(days)
    return CustomerState("c", first_seen=0, days=days, logins=[1] * n, views=[0] * n, dwell=[0] * n,
                         bounces=[0] * n)


def first_firing(state: CustomerState, params: activity.ActivityParams) -> int | None:
    """Days from the change to the first evening the signal fires, or None within the follow-up.
    Each evening sees the visits up to that day only, as a worker's state holds them."""
    for d in range(CHANGE_DAY, CHANGE_DAY + FOLLOW_DAYS):
        n = bisect.bisect_right(state.days, d)
        seen = dataclasses.replace(state, days=state.days[:n], logins=state.logins[:n], views=state.views[:n],
                                   dwell=state.dwell[:n], bounces=state.bounces[:n])
        sig = activity.evaluate(seen, d * DAY + 86_000, params)
        if sig is not None and sig.fires:
            return d - CHANGE_DAY
    return None


def measure(customers: int, seed: int, rows=ROWS) -> list[dict]:
    variants = {"four weeks": activity.ActivityParams(long_window_days=0), "both": activity.ActivityParams()}
    out = []
    for usual, now, *away in rows:
        away = away[0] if away else 0
        rng = random.Random(seed * 1_000_003 + usual * 100 + now + 10_000 * away)
        states = [visitor(rng, usual, now, away) for _ in range(customers)]
        row = {"usual": usual, "now": now, "away": away}
        for name, params in variants.items():
            firsts = [first_firing(s, params) for s in states]
            got = [f for f in firsts if f is not None]
            row[name] = {
                "within_56": sum(1 for f in got if f <= 56) / customers,
                "within_120": len(got) / customers,
                "median_days": statistics.median(got) if got else None,
            }
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    print(f"{args.customers} simulated visitors per row, seed {args.seed}; share warned within 56 and 120 days "
          "of the change, median days to the first firing")
    print("| active days a month: usual → now | four weeks alone: ≤ 56 d | ≤ 120 d | median d "
          "| both scales: ≤ 56 d | ≤ 120 d | median d |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in measure(args.customers, args.seed):
        cells = []
        for name in ("four weeks", "both"):
            v = r[name]
            med = "–" if v["median_days"] is None else f"{v['median_days']:.0f}"
            cells += [f"{v['within_56']:.2f}", f"{v['within_120']:.2f}", med]
        away = f", {r['away']} days away first" if r["away"] else ""
        print(f"| {r['usual']} → {r['now']}{away} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
