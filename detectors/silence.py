"""Silence: the customer has gone quiet for far longer than their own rhythm allows.

A customer who stops doing anything sends no events, so this signal is evaluated from the
passage of event time (sweeps), not only when an event arrives.

The customer's rhythm is the distribution of gaps between their active days (days with a
login, page view, order or complaint). "Usually quiet for at most" is the 90th percentile
of those gaps, so a customer who regularly takes long breaks (seasonal buyers, monthly
visitors) is judged against their own long breaks, not against a global number.

Defaults, and why:

* `gap_ratio` 2.0: silence fires at twice the usual long gap. Twice a regular visitor's
  rhythm is well outside their habit, yet early enough to reach them while a win-back
  message still lands.
* `floor_days` 14: daily visitors skip a week for holidays; under two weeks of quiet is
  never a churn sign on its own.
* `min_gaps` 4: five active days before the rhythm is trusted; fewer gaps widen the
  threshold by `(1 + 2 / n)` so a thin history needs more silence to fire.
* strength 1.0 at three times the threshold (a `warning` near 1.8x, `critical` near 2.4x):
  holidays and lulls of steady customers cross the alarm now and then, so the level
  climbs only as the quiet keeps growing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from detectors.signal import Signal, quantile, ratio_strength
from detectors.state import DAY, CustomerState


@dataclass(frozen=True)
class SilenceParams:
    gap_ratio: float = 2.0        # threshold = gap_ratio x usual long gap
    floor_days: float = 14.0      # never fire on less quiet than this, in days
    min_gaps: int = 4             # gaps between active days needed before judging
    gap_quantile: float = 0.9     # "usual long gap" = this quantile of own gaps
    full_ratio: float = 3.0       # strength 1.0 at this multiple of the threshold
    # Prior for `gone_probability`: a mean gap of 60 days between active days, worth 10 of
    # the customer's own gaps. Most customers of a shop have few purchases; with a weak prior
    # their ranking was noisier than plain recency on simulated and orders-only histories.
    prior_gap_days: float = 60.0
    prior_weight: float = 10.0


def threshold_days(state: CustomerState, params: SilenceParams = SilenceParams()) -> float | None:
    """Days of quiet at which silence fires for this customer, or None without a baseline.

    >>> s = CustomerState("c", last_active=1, gaps=[7] * 10)
    >>> threshold_days(s)
    16.8
    >>> threshold_days(CustomerState("new", gaps=[3])) is None
    True
    """
    n = len(state.gaps)
    if n < params.min_gaps or state.last_active <= 0:
        return None
    usual = quantile(state.gaps, params.gap_quantile)
    return round(max(params.floor_days, params.gap_ratio * usual * (1 + 2 / n)), 6)


def evaluate(state: CustomerState, now: int, params: SilenceParams = SilenceParams()) -> Signal | None:
    """The silence signal at event time `now` (epoch seconds), or None without a baseline.

    Examples
    --------
    >>> s = CustomerState("c", last_active=0, gaps=[7] * 10)
    >>> s.last_active = 100 * DAY
    >>> evaluate(s, 110 * DAY).fires
    False
    >>> sig = evaluate(s, 120 * DAY)
    >>> sig.fires, sig.current, sig.baseline
    (True, 20.0, 7.0)
    """
    thr = threshold_days(state, params)
    if thr is None:
        return None
    quiet = max(0.0, (now - state.last_active) / DAY)
    usual = quantile(state.gaps, params.gap_quantile)
    strength = ratio_strength(quiet, thr, params.full_ratio * thr)
    return Signal(
        kind="silence",
        strength=strength,
        current=round(quiet, 2),
        baseline=round(usual, 2),
        unit="days since last activity",
        window_days=round(quiet, 2),
        detail=f"no activity for {quiet:.0f} days; usually quiet for at most {usual:.0f} days "
               f"(alarm at {thr:.0f} days)",
    )


def gone_probability(state: CustomerState, now: int, params: SilenceParams = SilenceParams()) -> float:
    """Probability that a customer quiet this long has stopped, from their own rhythm.

    The chance of a quiet spell this long from a customer who is still active, if their
    active days come at a rate known from their own gaps (gamma-Poisson predictive, the
    survival part of Pareto/NBD-style models): `(b / (b + quiet)) ** k` with
    `k = prior_weight + gaps`, `b = prior_weight * prior_gap_days + sum(gaps)`. It is
    continuous and defined from the first event (the prior carries customers with little
    history), so it ranks every customer; it raises no warning itself.

    >>> regular = CustomerState("c", last_active=100 * DAY, gaps=[7] * 20)
    >>> round(gone_probability(regular, 103 * DAY), 2), round(gone_probability(regular, 140 * DAY), 2)
    (0.11, 0.79)
    >>> newcomer = CustomerState("n", last_active=100 * DAY)
    >>> round(gone_probability(newcomer, 130 * DAY), 2)
    0.39
    """
    if state.last_active <= 0:
        return 0.0
    quiet = max(0.0, (now - state.last_active) / DAY)
    k = params.prior_weight + len(state.gaps)
    b = params.prior_weight * params.prior_gap_days + sum(state.gaps)
    return 1.0 - (b / (b + quiet)) ** k


def next_change(state: CustomerState, now: int, params: SilenceParams = SilenceParams(),
                levels: tuple[float, ...] = (0.5, 0.7, 0.85, 1.0)) -> int | None:
    """Earliest event time after `now` at which silence strength reaches the next of `levels`.

    Sweeps use it to re-evaluate a quiet customer exactly when their evidence changes.

    >>> s = CustomerState("c", last_active=100 * DAY, gaps=[7] * 10)
    >>> (next_change(s, 100 * DAY) - 100 * DAY) / DAY
    16.8
    """
    thr = threshold_days(state, params)
    if thr is None:
        return None
    for lv in levels:
        # invert ratio_strength: linear to the threshold, then to full_ratio x threshold
        full = params.full_ratio * thr
        quiet_days = thr + (full - thr) * (lv - 0.5) / 0.5 if lv >= 0.5 else thr * lv / 0.5
        t = state.last_active + math.ceil(quiet_days * DAY)  # ceil: at t the level is reached
        if t > now:
            return t
    return None
