"""Rules of thumb scored beside Churnwatch's warnings, on the same truth and period.

``churnwatch evaluate --events FILE --baselines`` turns the events of a replay file into the
warnings each rule below would have raised, in event time, and scores them with the same
:func:`streams.evaluate.evaluate` as Churnwatch's own: recall, precision, lead time, abrupt
leavers in time, false warnings per 1,000 stayers per month. A score means little alone;
beside the rules a retention team would otherwise use it says what the detectors add and
what they cost.

Every rule raises a warning at the event time it first holds and clears it at the
customer's next qualifying event, so a stayer who crosses a rule three times in a year
counts three false warnings, as a stayer warned three times by Churnwatch does. Activity is
what the detectors count as activity (``detectors.state.observe``): a login, a page view, an
order of any status, a complaint other than its resolution.

Rules
-----
``no activity for D days`` (30, 60, 90)
    Recency, the most common churn definition in practice: raised D days after the last
    activity.
``no order for 2x own cycle``
    The purchase-cycle rule ("missed two purchase cycles"): from the third order day on,
    raised when the days since the last placed order exceed twice the customer's mean gap
    between their order days so far. Customers still visiting but no longer buying count.
``Pareto/NBD P(alive) < 0.5``
    The published model (Schmittlein, Morrison & Colombo 1987) over active days, the same
    model and code as ``detectors.population``, with every repeat active day of the
    customer's history (the detectors keep the last 32 gaps): raised when the probability
    that the customer is still alive falls below one half. The population is fitted once,
    on every customer's history as of the period end: hindsight that the streaming fit
    (refitted every 28 days on what has been seen) does not have.

Example (recency on a hand-made history):

    >>> from datetime import datetime, UTC
    >>> t0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    >>> h = Histories()
    >>> for day in (0, 10, 50):
    ...     h.add({"type": "login", "customer_id": "a", "occurred_at": _iso(t0 + day * DAY)})
    >>> [(w["state"], w["occurred_at"]) for w in recency_warnings(h, 30, t0 + 100 * DAY)]
    [('raised', '2024-02-10T00:00:00Z'), ('cleared', '2024-02-20T00:00:00Z'), ('raised', '2024-03-21T00:00:00Z')]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detectors.population import Prior, fit, p_alive
from streams.jsonl_io import read_jsonl
from streams.truth import parse_time

DAY = 86400
RECENCY_DAYS = (30, 60, 90)
CYCLE_MULTIPLE = 2.0
CYCLE_MIN_ORDER_DAYS = 3
ALIVE_THRESHOLD = 0.5


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Histories:
    """Per customer, the epoch seconds of their activity and of their placed orders."""

    active: dict[str, list[int]] = field(default_factory=dict)
    orders: dict[str, list[int]] = field(default_factory=dict)

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        customer = event.get("customer_id")
        when = event.get("occurred_at")
        if kind not in ("login", "page_view", "order", "complaint") or not isinstance(customer, str) \
                or not isinstance(when, str):
            return
        if kind == "complaint" and event.get("status") == "resolved":
            return
        t = int(parse_time(when).timestamp())
        self.active.setdefault(customer, []).append(t)
        if kind == "order" and event.get("status", "placed") in ("placed", None):
            self.orders.setdefault(customer, []).append(t)

    def sort(self) -> None:
        for times in self.active.values():
            times.sort()
        for times in self.orders.values():
            times.sort()


def read_histories(path: str | Path) -> Histories:
    h = Histories()
    for event in read_jsonl(path):
        h.add(event)
    h.sort()
    return h


def _episodes(customer: str, rule: str, spans: Iterable[tuple[float, float | None]]) -> Iterator[dict[str, Any]]:
    """Warnings of one customer: raised at each span's start, cleared at its end (None: still open)."""
    for i, (start, end) in enumerate(spans):
        wid = f"{rule}:{customer}:{i}"
        base = {"warning_id": wid, "customer_id": customer, "level": "critical",
                "signals": [{"kind": rule}]}
        yield {**base, "state": "raised", "occurred_at": _iso(start)}
        if end is not None:
            yield {**base, "warning_id": wid + ":c", "state": "cleared", "occurred_at": _iso(end)}


def _quiet_spans(starts: list[int], nexts: list[int | None], threshold_days: Iterable[float | None],
                 end: int) -> Iterator[tuple[float, float | None]]:
    """(raise, clear) for each quiet spell from starts[i] to nexts[i] (None: the period end)
    longer than the i-th threshold."""
    for t, nxt, days in zip(starts, nexts, threshold_days):
        if days is None:
            continue
        limit = t + days * DAY
        if nxt is not None and nxt > limit:
            yield limit, nxt
        elif nxt is None and end > limit:
            yield limit, None


def recency_warnings(h: Histories, days: float, end: int) -> list[dict[str, Any]]:
    """``no activity for `days` days``: raised that long after each activity not followed by another."""
    out: list[dict[str, Any]] = []
    for customer, times in h.active.items():
        nexts: list[int | None] = [*times[1:], None]
        out.extend(_episodes(customer, f"recency_{days:g}d", _quiet_spans(times, nexts, [days] * len(times), end)))
    return out


def _by_day(times: list[int]) -> tuple[list[int], list[int], list[int | None]]:
    """Distinct days of the sorted `times` (day numbers), the last time on each, and the
    first time of the next day (None after the last)."""
    days: list[int] = []
    first: list[int] = []
    last: list[int] = []
    for t in times:
        d = t // DAY
        if days and days[-1] == d:
            last[-1] = t
        else:
            days.append(d)
            first.append(t)
            last.append(t)
    return days, last, [*first[1:], None]


def cycle_warnings(h: Histories, end: int, multiple: float = CYCLE_MULTIPLE,
                   min_order_days: int = CYCLE_MIN_ORDER_DAYS) -> list[dict[str, Any]]:
    """``no order for `multiple` x own cycle``, from the `min_order_days`-th order day on.

    >>> from datetime import datetime, UTC
    >>> t0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    >>> h = Histories()
    >>> for day in (0, 10, 20, 75):
    ...     h.add({"type": "order", "customer_id": "a", "occurred_at": _iso(t0 + day * DAY)})
    >>> [(w["state"], w["occurred_at"][:10]) for w in cycle_warnings(h, t0 + 100 * DAY)]
    [('raised', '2024-02-10'), ('cleared', '2024-03-16')]
    """
    out: list[dict[str, Any]] = []
    for customer, times in h.orders.items():
        days, last, nexts = _by_day(times)
        thresholds = [multiple * (d - days[0]) / i if i + 1 >= min_order_days else None
                      for i, d in enumerate(days)]
        # The quiet runs from the last order of each order day to the next order.
        spans = _quiet_spans(last, nexts, thresholds, end)
        out.extend(_episodes(customer, "purchase_cycle_2x", spans))
    return out


def _crossing(x: int, t_x: float, quiet_days: float, prior: Prior, threshold: float) -> float | None:
    """Days of quiet at which P(alive) first falls below `threshold`, if within `quiet_days`."""
    if quiet_days <= 0 or p_alive(x, t_x, quiet_days, prior) >= threshold:
        return None
    lo, hi = 0.0, quiet_days
    while hi - lo > 1e-3:          # P(alive) falls with the quiet: bisection to ~90 s
        mid = 0.5 * (lo + hi)
        if p_alive(x, t_x, mid, prior) < threshold:
            hi = mid
        else:
            lo = mid
    return hi


def fit_population(h: Histories, end: int) -> Prior:
    """The Pareto/NBD population over active days, fitted on every customer as of `end`."""
    summaries = []
    for times in h.active.values():
        days, last, _ = _by_day(times)
        summaries.append((len(days) - 1, float(days[-1] - days[0]), last[-1]))
    return fit(summaries, end)


def alive_warnings(h: Histories, end: int, prior: Prior, threshold: float = ALIVE_THRESHOLD) -> list[dict[str, Any]]:
    """``Pareto/NBD P(alive) < threshold``, with the customer's whole history of active days."""
    out: list[dict[str, Any]] = []
    for customer, times in h.active.items():
        days, last, nexts = _by_day(times)
        spans: list[tuple[float, float | None]] = []
        for i, (d, t, nxt) in enumerate(zip(days, last, nexts)):
            stop = nxt if nxt is not None else end
            q = _crossing(i, float(d - days[0]), (stop - t) / DAY, prior, threshold)
            if q is not None:
                spans.append((t + q * DAY, nxt))
        out.extend(_episodes(customer, "pareto_nbd_alive", spans))
    return out


def baseline_rules(h: Histories, end: int) -> tuple[list[tuple[str, list[dict[str, Any]]]], Prior]:
    """(name, warnings) of every rule, in the order they are reported, and the Pareto/NBD fit."""
    rules = [(f"no activity for {d} days", recency_warnings(h, d, end)) for d in RECENCY_DAYS]
    rules.append((f"no order for {CYCLE_MULTIPLE:g}x own cycle", cycle_warnings(h, end)))
    prior = fit_population(h, end)
    rules.append((f"Pareto/NBD P(alive) < {ALIVE_THRESHOLD:g}, hindsight fit", alive_warnings(h, end, prior)))
    return rules, prior


RANKING_SCORES = ("days since last activity", "days since last order",
                  "Pareto/NBD 1 - P(alive), hindsight fit")
#: Those of `RANKING_SCORES` that are probabilities of being gone, whose calibration can be
#: scored beside the risk score's (`streams.evaluate.calibration`).
PROBABILITY_SCORES = (RANKING_SCORES[2],)


def ranking_scores(h: Histories, end: int, prior: Prior) -> dict[str, dict[str, float]]:
    """Per score of `RANKING_SCORES`, each customer's score at `end`, higher for a customer
    more likely gone: the published ways to rank customers, to compare with a snapshot's
    `risk_score` by ROC AUC. Days since the last order count from the first activity for a
    customer who never ordered. P(alive) is that of `alive_warnings` (the hindsight fit, the
    whole history of active days).

    >>> from datetime import datetime, UTC
    >>> t0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    >>> h = Histories()
    >>> for kind, day in (("order", 0), ("login", 40), ("order", 50), ("login", 90)):
    ...     h.add({"type": kind, "customer_id": "a", "occurred_at": _iso(t0 + day * DAY)})
    >>> h.add({"type": "login", "customer_id": "b", "occurred_at": _iso(t0 + 30 * DAY)})
    >>> h.sort()
    >>> s = ranking_scores(h, t0 + 100 * DAY, Prior())
    >>> s["days since last activity"], s["days since last order"]
    ({'a': 10.0, 'b': 70.0}, {'a': 50.0, 'b': 70.0})
    >>> s["Pareto/NBD 1 - P(alive), hindsight fit"]["a"] < s["Pareto/NBD 1 - P(alive), hindsight fit"]["b"]
    True
    """
    recency: dict[str, float] = {}
    since_order: dict[str, float] = {}
    gone: dict[str, float] = {}
    for customer, times in h.active.items():
        recency[customer] = max(0.0, (end - times[-1]) / DAY)
        orders = h.orders.get(customer)
        since_order[customer] = max(0.0, (end - (orders[-1] if orders else times[0])) / DAY)
        days, last, _ = _by_day(times)
        gone[customer] = 1.0 - p_alive(len(days) - 1, float(days[-1] - days[0]), recency[customer], prior)
    return dict(zip(RANKING_SCORES, (recency, since_order, gone)))


def period_end_epoch(period_end: datetime) -> int:
    return int(math.floor(period_end.timestamp()))
