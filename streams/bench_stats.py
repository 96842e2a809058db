"""Pure helpers of `make bench` (`streams.bench`): statistics, rates from polled counters,
and the events of the latency probe. No broker, no clock: unit-tested.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

DAY = 86_400


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) of `values`, interpolating linearly between ranks.

    The same definition as numpy's default (``method="linear"``).

    Example:
        >>> percentile([1, 2, 3, 4], 50), percentile([10, 20, 30, 40, 50], 90), percentile([7], 99)
        (2.5, 46.0, 7.0)
        >>> percentile([], 50)
        Traceback (most recent call last):
        ...
        ValueError: percentile of no values
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q={q}: expected 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo))


@dataclass(frozen=True)
class Spread:
    """Median, min and max of one figure over the runs."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """Example:
        >>> Spread.of([3.0, 1.0, 2.0])
        Spread(median=2.0, low=1.0, high=3.0, runs=3)
        """
        return cls(percentile(values, 50), float(min(values)), float(max(values)), len(values))

    def render(self, fmt: str = "{:,.0f}") -> str:
        """``median (min-max)``, or the single value of one run.

        Example:
            >>> Spread.of([1500, 1430.2, 1611]).render(), Spread.of([0.5]).render("{:.0%}")
            ('1,500 (1,430–1,611)', '50%')
        """
        if self.runs == 1:
            return fmt.format(self.median)
        return f"{fmt.format(self.median)} ({fmt.format(self.low)}–{fmt.format(self.high)})"


@dataclass(frozen=True)
class Throughput:
    """Events per second between the first poll that saw a count and the moment `total` was reached."""

    events: float
    seconds: float
    started: float    # time of the first non-zero sample
    finished: float   # interpolated time the count reached `total`

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")


def throughput(samples: Sequence[tuple[float, float]], total: float) -> Throughput:
    """Rate of a counter polled as ``(time, count)`` samples until it reached `total`.

    Timing starts at the first sample with a non-zero count (start-up, group join and the
    first fetch stay out) and counts the events after it; the end is interpolated between
    the last sample below `total` and the first at or above it, so the figure does not
    depend on the polling interval.

    Example:
        >>> t = throughput([(0.0, 0), (1.0, 0), (2.0, 100), (3.0, 1100), (4.0, 2100), (5.0, 2200)], 2100)
        >>> t.events, t.seconds, round(t.per_second)
        (2000, 2.0, 1000)
        >>> throughput([(0.0, 0), (1.0, 50)], 2100)
        Traceback (most recent call last):
        ...
        ValueError: the counter reached 50 of 2100
    """
    first = next(((t, c) for t, c in samples if c > 0), None)
    done = next((i for i, (_, c) in enumerate(samples) if c >= total), None)
    if first is None or done is None:
        reached = max((c for _, c in samples), default=0)
        raise ValueError(f"the counter reached {reached:g} of {total:g}")
    t_end, c_end = samples[done]
    if done > 0 and samples[done - 1][1] < total and samples[done - 1][0] >= first[0]:
        t_prev, c_prev = samples[done - 1]
        t_end = t_prev + (t_end - t_prev) * (total - c_prev) / (c_end - c_prev)
    return Throughput(events=total - first[1], seconds=t_end - first[0], started=first[0], finished=t_end)


def rfc3339(epoch: float) -> str:
    """Example:
    >>> rfc3339(1704067200)
    '2024-01-01T00:00:00Z'
    """
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).isoformat().replace("+00:00", "Z")


def latency_probe(customer_id: str, now: int) -> tuple[list[dict], dict]:
    """A customer whose next order raises an `order_value_drop` warning at once, and that order.

    History (replay records, oldest first, all before `now`): a login every week for 16
    weeks, an order of about 800 EUR every 10 days, then one order of 150 EUR the day
    before. One small basket is an errand (the last three orders are not unusual against
    the spread they show); the trigger, a second 150 EUR order at `now`, makes two small
    baskets in a row and fires the signal at full strength: a critical warning from the
    trigger itself, nothing from a sweep or a timer.

    Example:
        >>> history, trigger = latency_probe("p1", 1_750_000_000)
        >>> len(history), trigger["type"], trigger["amount"], trigger["occurred_at"]
        (28, 'order', 150.0, '2025-06-15T15:06:40Z')
    """
    events: list[dict] = []
    for week in range(16, 0, -1):
        at = now - week * 7 * DAY + 3600
        events.append({"type": "login", "event_id": f"{customer_id}-l{week}", "customer_id": customer_id,
                       "occurred_at": rfc3339(at), "channel": "web"})
    usual = (780.0, 820.0, 805.0, 790.0, 830.0, 770.0, 810.0, 800.0, 795.0, 815.0, 785.0)
    for i, amount in enumerate(usual):
        at = now - (112 - 10 * i) * DAY
        events.append(_order(customer_id, f"u{i}", at, amount))
    events.append(_order(customer_id, "s1", now - DAY, 150.0))
    events.sort(key=lambda e: e["occurred_at"])
    return events, _order(customer_id, "trigger", now, 150.0)


def _order(customer_id: str, tag: str, at: int, amount: float) -> dict:
    return {"type": "order", "event_id": f"{customer_id}-{tag}", "customer_id": customer_id,
            "occurred_at": rfc3339(at), "order_id": f"{customer_id}-o-{tag}", "amount": amount, "currency": "EUR"}
