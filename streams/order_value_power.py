"""How soon `order_value_drop` catches a basket that shrinks, abruptly or over months, and how
often it fires on buyers whose baskets do not.

The figures of docs/quality.md, "A basket that shrinks over months": simulated buyers with an
order every `gap` days (+-40 %) of baskets around 750 (log-sd 0.2) for a year, then shrinking
steadily (log-linear) to around 250 (`--end`) over `slide` days and staying there for 120 days; the
detector judged at every order, as the worker does. Stayers: baskets around 100 with a log-sd
of 0.3 or 0.5, stable or wandering (a random walk of the log mean per order), for three
years; counted as months with a firing verdict per 1,000 customer-months. Each row with the
default settings, without the six-order slide window (`slide_recent` 0) and without any
slow-slide window (`slide_lag` 0). Pure detector code, no broker:

    python -m streams.order_value_power [--customers 60] [--stayers 200] [--seed 1] [--end 250] [--gaps 14,30]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics

from detectors import order_value
from detectors.state import DAY, CustomerState

KEPT = 64   # orders the state keeps (`StateParams.max_orders`)


def history(rng: random.Random, *, gap: float, days: float, slide_start: float | None = None,
            slide_days: float = 0.0, start: float = 750.0, end: float = 250.0, sd: float = 0.2,
            walk: float = 0.0) -> list[tuple[float, float]]:
    """(day, amount) of one buyer's orders."""
    out, t, drift = [], 0.0, 0.0
    while t < days:
        t += gap * rng.uniform(0.6, 1.4)
        drift += rng.gauss(0.0, walk) if walk else 0.0
        f = 0.0
        if slide_start is not None and t >= slide_start:
            f = min(1.0, (t - slide_start) / slide_days) if slide_days else 1.0
        mu = math.log(start) + f * (math.log(end) - math.log(start))
        out.append((t, math.exp(rng.gauss(mu + drift, sd))))
    return out


def verdicts(orders: list[tuple[float, float]], params: order_value.OrderValueParams):
    """(day, fires) at every order."""
    rows = []
    for i in range(len(orders)):
        kept = orders[max(0, i + 1 - KEPT):i + 1]
        state = CustomerState("c", orders=[[int(t * DAY), a, "EUR", 0, 1, None] for t, a in kept])
        sig = order_value.evaluate(state, int(orders[i][0] * DAY), params)
        rows.append((orders[i][0], sig is not None and sig.fires))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=60, help="buyers per slide row")
    ap.add_argument("--stayers", type=int, default=200, help="stayers per stayer row")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", type=float, default=250.0, help="basket the slide ends at (from 750)")
    ap.add_argument("--gaps", default="14,30", help="days between orders, one row group each")
    args = ap.parse_args(argv)
    gaps = [float(g) for g in args.gaps.split(",")]
    variants = (("default", order_value.OrderValueParams()),
                ("without the lasting step (lasting_recent 0)", order_value.OrderValueParams(lasting_recent=0)),
                ("without the six-order window (slide_recent 0)", order_value.OrderValueParams(slide_recent=0)),
                ("without slow-slide windows (slide_lag 0)", order_value.OrderValueParams(slide_lag=0)))
    print(f"| gap d | 750 -> {args.end:.0f} over d | " + " | ".join(f"{n}: warned, median d from slide start"
                                                                   for n, _ in variants) + " |")
    print("| ---: | ---: | " + "---: | " * len(variants))
    for gap in gaps:
        for slide in (14.0, 60.0, 120.0, 180.0, 270.0):
            cells = []
            for _, params in variants:
                firsts = []
                for c in range(args.customers):
                    rng = random.Random(args.seed * 100_003 + c)
                    rows = verdicts(history(rng, gap=gap, days=365 + slide + 120, slide_start=365.0,
                                            slide_days=slide, end=args.end), params)
                    first = next((t - 365 for t, fires in rows if fires and t >= 365), None)
                    if first is not None:
                        firsts.append(first)
                med = f"{statistics.median(firsts):.0f}" if firsts else "-"
                cells.append(f"{len(firsts)}/{args.customers}, {med}")
            print(f"| {gap:.0f} | {slide:.0f} | " + " | ".join(cells) + " |")
    print()
    print("| stayers: gap d, log-sd, walk per order | " + " | ".join(f"{n}: firing months / 1,000"
                                                                    for n, _ in variants) + " |")
    print("| --- | " + "---: | " * len(variants))
    for gap in (7.0, 14.0, 30.0):
        for sd, walk in ((0.3, 0.0), (0.5, 0.0), (0.3, 0.03), (0.5, 0.05)):
            cells = []
            for _, params in variants:
                months = fired = 0
                for c in range(args.stayers):
                    rng = random.Random(args.seed * 200_003 + c)
                    rows = verdicts(history(rng, gap=gap, days=1095.0, start=100.0, sd=sd, walk=walk), params)
                    fired += len({int(t // 30) for t, fires in rows if fires})
                    months += 1095 / 30
                cells.append(f"{1000 * fired / months:.2f}")
            print(f"| {gap:.0f}, {sd}, {walk} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
