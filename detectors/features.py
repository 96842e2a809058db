"""Model features: a fixed list of cheap numbers describing one customer at one event time.

The online churn model (`detectors.river_models`) learns from these, and the delayed
labels (`detectors.labels`) keep them as plain float vectors in the customer state until
the outcome is known. Everything is computed from the bounded `CustomerState` (at most
182 daily buckets, 64 orders, 32 complaints, 32 gaps), so one call costs tens of
microseconds whatever the customer's history.

The features say what a retention analyst would look at first, on scales a linear model
can use directly (counts and durations through `log1p`, trends as log ratios with +1
smoothing so a quiet baseline does not divide by zero):

* recency: days since the last activity and since the last placed order, and how the
  current quiet compares with the customer's own long gap (90th percentile of the gaps
  between active days, as `detectors.silence` uses);
* frequency: placed orders in the last 30, 90 and 365 days, and days since the last order
  against their mean gap between purchase days;
* value: mean order value of the last 90 days against the orders before (log ratio);
* engagement: active days, logins and page views of the last 28 days against the 56 before;
* friction: open complaints, complaints opened in 90 days, returns and cancellations in
  90 days;
* tenure, and how much rhythm history there is;
* the rule engine's view: each signal's strength and the combined rule risk, passed in from
  `detectors.warning.assess` so nothing is computed twice;
* the value segment, one-hot.

`FEATURE_NAMES` fixes the order of the vector form; `FEATURES_VERSION` changes whenever
that list or a definition changes, so vectors taken under another definition are never
mixed into training (see `detectors.labels.resolve`).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Mapping

from detectors.segment import SEGMENTS
from detectors.signal import SIGNAL_KINDS, quantile
from detectors.state import CANCELLED, DAY, PLACED, RESOLVED, RETURNED, CustomerState

# 4: rule_risk also keeps the evidence that holds an open `warning` or `critical`; 3: it joins purchase
# frequency under its alarm for visitors; 2: with firing signals
FEATURES_VERSION = 4

_BASE = (
    "log_days_since_active",
    "log_days_since_order",
    "log_usual_gap_days",
    "quiet_to_usual_gap",
    "order_overdue_ratio",
    "log_orders_30d",
    "log_orders_90d",
    "log_orders_365d",
    "log_order_value_ratio",
    "log_active_days_trend",
    "log_logins_trend",
    "log_views_trend",
    "open_complaints",
    "complaints_90d",
    "returns_cancels_90d",
    "log_tenure_days",
    "rhythm_history",
    "rule_risk",
)
#: Names of the features, in the order of the vector form (`vector`, `from_vector`).
FEATURE_NAMES: tuple[str, ...] = (
    _BASE
    + tuple(f"signal_{kind}" for kind in SIGNAL_KINDS)
    + tuple(f"segment_{seg}" for seg in SEGMENTS)
)


@dataclass(frozen=True)
class FeatureParams:
    """Windows and caps of the features.

    recent_days / baseline_days: engagement trend windows, as `detectors.activity` uses
        (four weeks against the eight before).
    value_recent_days: orders of this many days make the "recent" mean order value.
    gap_quantile: the customer's "usual long gap" between active days (as silence uses).
    max_ratio: ratios are capped here so one odd customer cannot dominate a linear model.
    no_order_days: "days since last order" of a customer with no placed order kept (a year:
        as far as the state can see).
    """

    recent_days: int = 28
    baseline_days: int = 56
    value_recent_days: int = 90
    gap_quantile: float = 0.9
    max_ratio: float = 20.0
    no_order_days: float = 365.0


def features(state: CustomerState, now: int, params: FeatureParams = FeatureParams(),
             strengths: Mapping[str, float] | None = None, segment: str | None = None,
             rule_risk: float = 0.0) -> dict[str, float]:
    """The model features of `state` at event time `now` (epoch seconds), keyed by `FEATURE_NAMES`.

    Parameters
    ----------
    state: the customer's state (not changed).
    now: event time of the snapshot.
    params: windows and caps.
    strengths: signal kind -> strength, as found by `assess` (missing kinds count 0).
    segment: the value segment from `assess` (`Assessment.segment`); None sets no segment bit.
    rule_risk: the rule risk score from `assess`.

    Examples
    --------
    A customer active every 7 days for 20 weeks, quiet for 21 days since:

    >>> from detectors.state import CustomerState
    >>> s = CustomerState("c", first_seen=1 * DAY, last_active=141 * DAY, gaps=[7] * 20,
    ...                   days=list(range(1, 142, 7)), logins=[1] * 21, views=[0] * 21,
    ...                   dwell=[0] * 21, bounces=[0] * 21)
    >>> f = features(s, 162 * DAY, strengths={"silence": 0.62}, segment="regular", rule_risk=0.62)
    >>> f["quiet_to_usual_gap"], round(f["log_days_since_active"], 3), f["signal_silence"], f["segment_regular"]
    (3.0, 3.091, 0.62, 1.0)
    >>> list(f) == list(FEATURE_NAMES)
    True
    """
    p = params
    today = now // DAY
    quiet_days = max(0.0, (now - state.last_active) / DAY) if state.last_active else 0.0
    usual_gap = quantile(state.gaps, p.gap_quantile) if state.gaps else 0.0
    tenure_days = max(0.0, (now - state.first_seen) / DAY) if state.first_seen else 0.0

    # Orders: one pass over at most max_orders entries.
    placed_times: list[int] = []
    recent_value = recent_n = older_value = older_n = 0.0
    friction = 0
    n30 = n90 = n365 = 0
    value_start = now - p.value_recent_days * DAY
    for o in state.orders:
        t = o[0]
        if t > now:
            continue
        age = now - t
        if o[3] == PLACED:
            placed_times.append(t)
            n30 += age < 30 * DAY
            n90 += age < 90 * DAY
            n365 += age < 365 * DAY
            if t > value_start:
                recent_value += o[1]
                recent_n += 1
            else:
                older_value += o[1]
                older_n += 1
        elif o[3] in (CANCELLED, RETURNED) and age < 90 * DAY:
            friction += 1

    if placed_times:
        since_order = (now - placed_times[-1]) / DAY
    else:
        since_order = p.no_order_days
    overdue = 0.0
    purchase_days = _distinct_days(placed_times)
    if len(purchase_days) >= 2:
        mean_gap = (purchase_days[-1] - purchase_days[0]) / (len(purchase_days) - 1)
        overdue = min(p.max_ratio, since_order / max(1.0, mean_gap))
    value_ratio = 0.0
    if recent_n and older_n and older_value > 0 and recent_value > 0:
        value_ratio = math.log((recent_value / recent_n) / (older_value / older_n))

    # Engagement: two windows of the daily buckets (bounded by history_days).
    cur_start = today - p.recent_days + 1
    base_start = cur_start - p.baseline_days
    scale = p.recent_days / p.baseline_days
    i0 = bisect.bisect_left(state.days, base_start)
    i1 = bisect.bisect_left(state.days, cur_start)
    i2 = bisect.bisect_right(state.days, today)
    base_active = sum(1 for k in range(i0, i1) if state.logins[k] or state.views[k])
    cur_active = sum(1 for k in range(i1, i2) if state.logins[k] or state.views[k])
    base_logins, cur_logins = sum(state.logins[i0:i1]), sum(state.logins[i1:i2])
    base_views, cur_views = sum(state.views[i0:i1]), sum(state.views[i1:i2])

    # Complaints: at most max_complaints entries.
    open_complaints = 0
    complaints_90d = 0
    for c in state.complaints:
        if c[1] > now:
            continue
        open_complaints += c[4] != RESOLVED
        complaints_90d += now - c[1] < 90 * DAY

    out = {
        "log_days_since_active": math.log1p(quiet_days),
        "log_days_since_order": math.log1p(since_order),
        "log_usual_gap_days": math.log1p(usual_gap),
        "quiet_to_usual_gap": min(p.max_ratio, quiet_days / max(1.0, usual_gap)),
        "order_overdue_ratio": overdue,
        "log_orders_30d": math.log1p(n30),
        "log_orders_90d": math.log1p(n90),
        "log_orders_365d": math.log1p(n365),
        "log_order_value_ratio": value_ratio,
        "log_active_days_trend": _log_trend(cur_active, base_active * scale),
        "log_logins_trend": _log_trend(cur_logins, base_logins * scale),
        "log_views_trend": _log_trend(cur_views, base_views * scale),
        "open_complaints": float(open_complaints),
        "complaints_90d": float(complaints_90d),
        "returns_cancels_90d": float(friction),
        "log_tenure_days": math.log1p(tenure_days),
        # How much of the rhythm the state has seen (0..1): a thin history makes every
        # other figure less certain, and a linear model can weigh that.
        "rhythm_history": len(state.gaps) / 32.0 if len(state.gaps) < 32 else 1.0,
        "rule_risk": float(rule_risk),
    }
    strengths = strengths or {}
    for kind in SIGNAL_KINDS:
        out[f"signal_{kind}"] = float(strengths.get(kind, 0.0))
    for seg in SEGMENTS:
        out[f"segment_{seg}"] = 1.0 if seg == segment else 0.0
    return out


def from_assessment(state: CustomerState, assessment, params: FeatureParams = FeatureParams()) -> dict[str, float]:
    """`features` at the assessment's event time, with its signal strengths, segment and risk.

    Examples
    --------
    >>> from detectors.state import CustomerState
    >>> from detectors.warning import assess
    >>> s = CustomerState("c", first_seen=1, last_active=100 * DAY, gaps=[7] * 10)
    >>> a = assess(s, 130 * DAY)
    >>> f = from_assessment(s, a)
    >>> f["signal_silence"] == a.signals[0].strength, f["rule_risk"] == a.risk_score
    (True, True)
    """
    return features(state, assessment.now, params,
                    strengths={s.kind: s.strength for s in assessment.signals},
                    segment=assessment.segment, rule_risk=assessment.risk_score)


def vector(feats: Mapping[str, float], digits: int = 4) -> list[float]:
    """The features as a list in `FEATURE_NAMES` order, rounded to `digits` decimals.

    Rounding keeps pending snapshots small in the state's bytes; four decimals are far
    below what moves a churn probability.

    >>> vector({"rule_risk": 0.123456})[FEATURE_NAMES.index("rule_risk")]
    0.1235
    """
    return [round(float(feats.get(name, 0.0)), digits) for name in FEATURE_NAMES]


def from_vector(values: list[float]) -> dict[str, float]:
    """Inverse of `vector`; raises ValueError when the length is not that of `FEATURE_NAMES`.

    >>> from_vector(vector({"open_complaints": 2.0}))["open_complaints"]
    2.0
    """
    if len(values) != len(FEATURE_NAMES):
        raise ValueError(f"feature vector has {len(values)} values, expected {len(FEATURE_NAMES)} "
                         f"(features version {FEATURES_VERSION})")
    return dict(zip(FEATURE_NAMES, values))


def _distinct_days(times: list[int]) -> list[int]:
    """Day numbers of the given ascending times, each day once (a split basket is one purchase)."""
    out: list[int] = []
    for t in times:
        d = t // DAY
        if not out or out[-1] != d:
            out.append(d)
    return out


def _log_trend(current: float, expected: float) -> float:
    """log((current + 1) / (expected + 1)): 0 when steady, negative when falling.

    >>> _log_trend(0, 0), round(_log_trend(1, 9), 3)
    (0.0, -1.609)
    """
    return math.log((current + 1.0) / (expected + 1.0))
