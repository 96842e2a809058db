"""Silence's tail, three ways, on a population's active days alone (a proxy, not the product).

Usage: python docs/outside/silence_tail.py --data DIR --end YYYY-MM-DD [--warmup-days 120]

DIR holds `events.jsonl` and `truth_eval.csv` (`customer_id`, `churned`) as the outside
populations and `churnwatch simulate` write them (the simulator's `truth.csv` under that
name). For every customer the active days (UTC) give the gaps between them, and for each
gap from the fifth on, silence's quiet at a level is computed from the 32 gaps before it,
as `detectors/silence.py` does for a long history: the rhythm term over the customer's
mean gap, the breaks everyone takes, the budget scaled by the mean gap, the level mapped
log-linearly between the watch and full budgets. Nothing else of the product is here: no
breaks of the customer's own, no population prior or lapse verdict, no other signal, no
event-time sweeps (a quiet is compared with the threshold once, in whole days).

Counted: a stayer's gap (after the warm-up) longer than the threshold is a false alarm, per
1,000 stayer-months; a leaver is warned when the quiet from their last active day to
`--end` reaches the threshold at their last active day, and the median of those
thresholds is the quiet at which they were warned.

The three tails of "a quiet of T days or more":

* `gamma`: as released: gamma gaps with the customer's own shape from the squared
  coefficient of variation of the gaps (shrunk to 1 by two pseudo-gaps, kept in
  [0.25, 6]) and the rate integrated out (the incomplete beta, one 30-day pseudo-gap).
* `mssd`: the same with the variance from successive differences (von Neumann's mean
  square successive difference), which leaves a slow trend in the gaps out of it.
* `pot`: peaks over a threshold: P(gap > u) times a Lomax tail of the excesses over u (the
  exponential excess with its rate integrated out, one 30-day pseudo-excess), u the
  customer's median gap; the tail is read from the long gaps only.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from detectors.signal import betainc  # noqa: E402

MONTH = 365.25 / 12


def load(data: Path) -> tuple[dict[str, bool], dict[str, list[int]]]:
    churned = {r["customer_id"]: str(r["churned"]).lower() in ("1", "true")
               for r in csv.DictReader(open(data / "truth_eval.csv"))}
    days: dict[str, set[int]] = defaultdict(set)
    with open(data / "events.jsonl") as f:
        for line in f:
            if '"customer_id"' not in line:
                continue
            e = json.loads(line)
            if e.get("customer_id"):
                t = datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")).astimezone(timezone.utc)
                days[e["customer_id"]].add(t.date().toordinal())
    return churned, {c: sorted(v) for c, v in days.items()}


def breaks(quiet: float) -> float:
    z = (math.log(quiet) - math.log(10.0)) / 0.5
    return 1.5 / 12 * 0.5 * math.erfc(z / math.sqrt(2.0))


def tail(gaps: list[int], variant: str):
    """(mean gap with the pseudo-gap, rate of quiet spells of T days or more per month)."""
    n, total = len(gaps), float(sum(gaps))
    mean_gap = (total + 30.0) / (n + 1)
    per_month = MONTH / mean_gap
    if variant in ("gamma", "mssd"):
        mean = total / n
        if variant == "gamma":
            var = sum((g - mean) ** 2 for g in gaps) / (n - 1)
        else:
            var = sum((b - a) ** 2 for a, b in zip(gaps, gaps[1:])) / (2 * (n - 1))
        cv2 = var / (mean * mean) if mean > 0 else 1.0
        k = 1.0 / min(6.0, max(0.25, (n * cv2 + 2.0) / (n + 2.0)))
        s, m = total + 30.0, n + 1.0
        return mean_gap, lambda t: per_month * betainc(m * k, k, s / (s + t))
    u = sorted(gaps)[n // 2]
    excess = [g - u for g in gaps if g > u]
    p_u = (len(excess) + 0.5) / (n + 1)
    s, m = sum(excess) + 30.0, len(excess) + 1.0
    return mean_gap, lambda t: per_month * (1.0 if t <= u else p_u * (s / (s + t - u)) ** m)


def quiet_at(mean_gap: float, rate, level: float) -> float:
    target = (math.log(0.01) + math.log(1e-2) * (level - 0.5) / 0.5
              + math.log(min(3.0, mean_gap / 10.0)))
    above = lambda t: math.log(max(rate(t) + breaks(t), 1e-300)) > target  # noqa: E731
    lo = hi = 14.0
    if not above(lo):
        return lo
    while above(hi):
        hi *= 2
    for _ in range(40):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if above(mid) else (lo, mid)
    return hi


def score(churned, days, end: int, warm: int, variant: str, level: float):
    false = 0
    months = 0.0
    warned: list[float] = []
    cache: dict[tuple, float] = {}
    for c, left in churned.items():
        d = days.get(c, [])
        gaps = [b - a for a, b in zip(d, d[1:])]
        if not left and d:
            months += max(0, end - max(d[0], warm)) / 30.4
        for i in range(4, len(gaps) + 1):
            last = i == len(gaps)
            if left and not last:
                continue
            if not left and d[i] < warm:
                continue
            quiet = gaps[i] if not last else end - d[-1]
            key = tuple(gaps[max(0, i - 32):i])
            if key not in cache:
                cache[key] = quiet_at(*tail(list(key), variant), level)
            if left and quiet >= cache[key]:
                warned.append(cache[key])
            elif not left and quiet > cache[key]:
                false += 1
    warned.sort()
    leavers = sum(1 for c, left in churned.items() if left and len(days.get(c, [])) > 4)
    return 1000 * false / months, len(warned), leavers, warned[len(warned) // 2] if warned else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--warmup-days", type=int, default=120)
    ap.add_argument("--runs", default="gamma:0.62,gamma:0.7,gamma:0.78,mssd:0.7,pot:0.45,pot:0.52,pot:0.6")
    a = ap.parse_args()
    churned, days = load(a.data)
    first = min(d[0] for d in days.values() if d)
    warm = first + a.warmup_days
    end = date.fromisoformat(a.end).toordinal()
    print(f"{a.data}: {date.fromordinal(first)} to {a.end}, false alarms from {date.fromordinal(warm)}")
    for run in a.runs.split(","):
        variant, level = run.split(":")
        f, w, n, q = score(churned, days, end, warm, variant, float(level))
        print(f"  {variant:5s} level {float(level):.2f}: {f:5.2f} false per 1,000 stayer-months, "
              f"{w} of {n} leavers warned, median quiet {q:.0f} days", flush=True)


if __name__ == "__main__":
    main()
