"""Complaint increase: service failures and friction the customer has not forgiven.

For a retention team this is the signal that calls for service recovery (apology, fix,
compensation) rather than a discount: a complaint left unanswered past the response
deadline, the same problem reported again and again, escalations and reopenings (the first
answer did not satisfy), and orders cancelled or sent back. A service failure is a risk
from the first day, so unanswered and escalated complaints need no history; only the
comparisons with the customer's usual rate do.

Components, each named in `detail`, combined with `noisy_or` (independent pieces of
evidence):

* **unresolved**: each complaint still opened, escalated or reopened at least
  `response_hours` after it was opened (after its reopening, for a reopened one): 0.5,
  +0.15 when high severity, +0.1 when escalated, +0.15 once open `long_open_days` (21):
  a complaint answered in a day or two is a service task, one left open for three weeks,
  beyond any ordinary resolution process, is the one customers leave over (the longer it
  stays open, the less likely it is to be resolved at all; with two weeks, slow but
  resolved complaints of customers who stayed fired as often in a simulation). Complaints with no update for `stale_days`
  are taken as settled outside the complaint system and ignored (for one more `repeat_days`
  the signal says so at strength 0, so a complaint warning that ends that way shows why).
* **repeated**: complaints opened in one category within `repeat_days`: 2 give 0.5, 3 or
  more 0.7. A customer whose usual complaint rate (before the window, over at least
  `history_days` of tenure, per `repeat_days`) is already at least that count is a habitual
  complainer whose complaints get resolved: the component is scaled by `habitual_scale`.
  When every complaint of the repeated category was resolved within the deadline, it is
  scaled by `resolved_scale`: it still raises the risk, but a well-handled repeat does not
  fire on its own (in a simulation of steady customers with about three quickly resolved
  complaints a year, unscaled repeats fired in 0.2-0.7 % of customer-months). When every
  one was resolved and the customer has been active since (an order, a visit), it is
  scaled by `settled_scale`: the customer has shown by their own behaviour that the
  relationship carried on, so the repeat is a service matter, not churn evidence.
* **escalated**: escalations and reopenings of complaints active in the window, 0.3 each,
  at most 0.6; those of complaints since resolved, with the customer active after the
  resolution, count `settled_scale` each.
* **friction**: cancelled and returned orders in the window: at least `friction_min` and at
  least `friction_factor` times the customer's usual rate give 0.4 (needs `history_days` of
  tenure; a customer who returns a lot of what they buy is not leaving because they return).

Strength. Components are combined with `noisy_or`; above the alarm (0.5: service recovery
is due) only `handled_gain` (0.4) of the rest counts, since most customers whose complaints
are handled stay, so a complaint alone stays at `watch`. A complaint left open for
`long_open_days` counts in full and can carry a `warning` on its own, unless the customer
has had a complaint resolved before and kept ordering or visiting since (their own history
says they stay through a slow answer).

Units: counts per `repeat_days` (90) days; ages in hours. Defaults: the 24-hour deadline is
the common service-level promise (a shop with another sets `CHURNWATCH_COMPLAINT_RESPONSE_HOURS`); 90 days is one quarter, long enough for a repeat of the
same problem and short enough that an old, fixed one no longer counts; 180 days of tenure
give two quarters of the customer's own complaint rate.

The state keeps the customer's last 32 complaints (resolved ones are dropped first) and
64 orders, so a very old usual rate is estimated from what is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.signal import FIRE, Signal, noisy_or
from detectors.state import (CANCELLED, DAY, ESCALATED, OPENED, PLACED, REOPENED, RESOLVED, RETURNED,
                             SEVERITY, CustomerState)

KIND = "complaint_increase"

HOUR = 3600
_OPEN = (OPENED, ESCALATED, REOPENED)
_HIGH = SEVERITY["high"]


@dataclass(frozen=True)
class ComplaintParams:
    response_hours: float = 24.0       # an open complaint older than this is overdue, hours
    stale_days: float = 180.0          # open complaints untouched this long are ignored, days
    unresolved: float = 0.5            # strength of one overdue complaint
    high_severity_bonus: float = 0.15  # added for a high-severity overdue complaint
    escalated_bonus: float = 0.1       # added for an overdue complaint in escalated state
    repeat_days: int = 90              # window for repeats, escalations, friction; days
    repeat_two: float = 0.5            # two complaints in one category in the window
    repeat_three: float = 0.7          # three or more
    history_days: int = 180            # tenure before the window needed for a usual rate
    habitual_scale: float = 0.4        # repeats scaled by this when no more than usual
    resolved_scale: float = 0.6        # ... and by this when all were resolved in time
    escalation_each: float = 0.3       # per escalation or reopening in the window
    escalation_cap: float = 0.6        # at most this from escalations
    long_open_days: float = 21.0       # an overdue complaint open this long is stronger evidence
    long_open_bonus: float = 0.15      # ... by this much
    settled_scale: float = 0.4         # weight of repeats and escalations of settled complaints
    handled_gain: float = 0.4          # share of the strength above the alarm that counts as churn evidence,
                                       # unless a complaint has been left open for `long_open_days`
    friction_min: int = 2              # cancelled/returned orders in the window needed
    friction_factor: float = 3.0       # ... and this multiple of the usual rate
    friction: float = 0.4              # strength of unusual friction


def _settled(state: CustomerState, c: list) -> bool:
    """Resolved, and the customer has ordered or visited since: the relationship carried on.

    Another complaint does not count as carrying on.
    """
    if c[4] != RESOLVED:
        return False
    ordered = any(o[0] > c[5] for o in reversed(state.orders) if o[3] == PLACED)
    return ordered or bool(state.days and state.days[-1] > c[5] // DAY)


def _deadline_base(c: list) -> int:
    # a reopened complaint gets a fresh deadline from its reopening
    return c[5] if c[4] == REOPENED else c[1]


def evaluate(state: CustomerState, now: int, params: ComplaintParams = ComplaintParams()) -> Signal | None:
    """The complaint signal at event time `now`, or None when no component has anything to say.

    Examples
    --------
    A high-severity logistics complaint unanswered for 30 hours, after an earlier one:

    >>> from detectors.state import CustomerState
    >>> h = 3600
    >>> s = CustomerState("c", first_seen=0, complaints=[
    ...     [1, 10 * DAY, "logistics", 1, 2, 11 * DAY, 0, 0],
    ...     [2, 40 * DAY, "logistics", 2, 0, 40 * DAY, 0, 0]])
    >>> sig = evaluate(s, 40 * DAY + 30 * h)
    >>> sig.fires, sig.current, sig.unit
    (True, 2.0, 'complaints per 90 days')
    >>> sig.detail
    '2 complaints in 90 days (logistics 2); unresolved: 1 past the 24 h deadline (longest 30 h, high severity); repeated: 2 in logistics; no usual rate yet'
    >>> evaluate(s, 40 * DAY + 23 * h).fires    # before the deadline: the repeat alone
    True
    >>> evaluate(CustomerState("quiet"), 0) is None
    True
    """
    p = params
    window = p.repeat_days * DAY
    start = now - window
    if not state.complaints and not any(o[3] in (CANCELLED, RETURNED) and start < o[0] <= now for o in state.orders):
        # Without complaints every component below is silent but friction, and friction
        # needs a cancelled or returned order in the window: most customers, every time.
        return None
    deadline = p.response_hours * HOUR
    components: list[float] = []
    parts: list[str] = []

    # unresolved past the deadline
    overdue = []
    for c in state.complaints:
        if c[4] in _OPEN and now - c[5] <= p.stale_days * DAY and now - _deadline_base(c) >= deadline:
            s = p.unresolved + (p.high_severity_bonus if c[3] >= _HIGH else 0.0) \
                + (p.escalated_bonus if c[4] == ESCALATED else 0.0) \
                + (p.long_open_bonus if now - _deadline_base(c) >= p.long_open_days * DAY else 0.0)
            overdue.append((now - _deadline_base(c), c, s))
            components.append(s)
    if overdue:
        longest = max(overdue, key=lambda x: x[0])
        notes = [n for n, on in (("high severity", any(c[3] >= _HIGH for _, c, _ in overdue)),
                                 ("escalated", any(c[4] == ESCALATED for _, c, _ in overdue)),
                                 (f"open over {p.long_open_days:g} days",
                                  longest[0] >= p.long_open_days * DAY)) if on]
        parts.append(f"unresolved: {len(overdue)} past the {p.response_hours:g} h deadline "
                     f"(longest {longest[0] / HOUR:.0f} h{', ' + ', '.join(notes) if notes else ''})")

    # repeats in one category, against the customer's usual rate
    recent = [c for c in state.complaints if start < c[1] <= now]
    by_category: dict[str, int] = {}     # a plain dict: most calls have no recent complaint,
    for c in recent:                     # and building a Counter costs more than the count
        by_category[c[2]] = by_category.get(c[2], 0) + 1
    tenure_days = (start - state.first_seen) / DAY if state.first_seen else 0.0
    has_history = tenure_days >= p.history_days
    per_window = p.repeat_days / tenure_days if has_history else 0.0
    usual = sum(1 for c in state.complaints if c[1] <= start) * per_window if has_history else None
    if by_category:
        category, top = max(sorted(by_category.items()), key=lambda kv: kv[1])
        if top >= 2:
            s = p.repeat_three if top >= 3 else p.repeat_two
            habitual = usual is not None and usual >= top
            handled = all(c[4] == RESOLVED and c[5] - c[1] <= deadline for c in recent if c[2] == category)
            settled_all = all(_settled(state, c) for c in recent if c[2] == category)
            if habitual:
                s *= p.habitual_scale
            if settled_all:
                s *= p.settled_scale
            elif handled:
                s *= p.resolved_scale
            components.append(s)
            parts.append(f"repeated: {top} in {category}"
                         + (" (all resolved, still active since)" if settled_all else
                            " (all resolved in time)" if handled else "")
                         + (f" (usual for this customer: {usual:.1f} per {p.repeat_days} days)" if habitual else ""))

    # escalations and reopenings
    touched = [c for c in state.complaints if start < c[5] <= now and c[6] + c[7]]
    escalations = sum(c[6] + c[7] for c in touched)
    if escalations:
        weighted = sum((c[6] + c[7]) * (p.settled_scale if _settled(state, c) else 1.0) for c in touched)
        components.append(min(p.escalation_cap, p.escalation_each * weighted))
        settled = sum(c[6] + c[7] for c in touched if _settled(state, c))
        parts.append(f"escalated or reopened {escalations} time{'s' if escalations > 1 else ''}"
                     + (f" ({settled} on complaints since resolved)" if settled else ""))

    # friction: cancelled and returned orders
    friction = sum(1 for o in state.orders if o[3] in (CANCELLED, RETURNED) and start < o[0] <= now)
    usual_friction = (sum(1 for o in state.orders if o[3] in (CANCELLED, RETURNED) and o[0] <= start)
                      * per_window if has_history else None)
    if friction:
        unusual = (usual_friction is not None and friction >= p.friction_min
                   and friction >= p.friction_factor * usual_friction)
        if unusual:
            components.append(p.friction)
        parts.append(f"{'friction: ' if unusual else ''}{friction} cancelled or returned order"
                     f"{'s' if friction > 1 else ''}"
                     + (f" (usually {usual_friction:.1f})" if usual_friction is not None else ""))

    if not components:
        # Open complaints that went stale within the last window: a complaint warning that
        # ends because of them must say so, not show another signal.
        stale = [c for c in state.complaints
                 if c[4] in _OPEN and p.stale_days * DAY < now - c[5] <= (p.stale_days + p.repeat_days) * DAY]
        if any(c[4] != RESOLVED for c in recent) or not (recent or stale):
            return None
        # Complaints in the window, all resolved, nothing against the customer: strength 0, so
        # that a cleared complaint warning shows where they stand rather than another signal.
        if recent:
            parts.append("all resolved")
        if stale:
            parts.append(f"{len(stale)} still open with no update for over {p.stale_days:g} days, "
                         "taken as settled outside the complaint system")
    raw = noisy_or(components)
    # How far a complaint is evidence of leaving, not only a reason to act (the alarm, 0.5,
    # calls for service recovery in any case): most customers whose complaints are being
    # handled stay, so above the alarm only `handled_gain` of the strength counts. A
    # complaint left unanswered for weeks counts in full, unless this customer has had a
    # complaint resolved before and kept ordering or visiting: their own history says they
    # stay through a slow answer.
    neglected = any(age >= p.long_open_days * DAY for age, _, _ in overdue)
    resilient = any(_settled(state, c) for c in state.complaints)
    strength = raw if raw <= FIRE or (neglected and not resilient) else FIRE + p.handled_gain * (raw - FIRE)
    if neglected and resilient:
        parts.append("earlier complaints resolved and the customer stayed")
    count = len(recent) + friction
    head = f"{len(recent)} complaint{'s' if len(recent) != 1 else ''} in {p.repeat_days} days"
    if by_category:
        head += " (" + ", ".join(f"{k} {v}" for k, v in sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))) + ")"
    baseline = (usual or 0.0) + (usual_friction or 0.0) if has_history else 0.0
    if not has_history:
        parts.append("no usual rate yet")
    return Signal(
        kind=KIND,
        strength=strength,
        current=float(count),
        baseline=round(baseline, 2),
        unit=f"complaints per {p.repeat_days} days",
        window_days=float(p.repeat_days),
        detail="; ".join([head, *parts]),
    )


def next_change(state: CustomerState, now: int, params: ComplaintParams = ComplaintParams()) -> int | None:
    """Earliest future event time at which an open complaint passes its response deadline.

    >>> from detectors.state import CustomerState
    >>> s = CustomerState("c", complaints=[[1, 1000, "billing", 0, 0, 1000, 0, 0]])
    >>> next_change(s, 1000) - 1000
    86400
    >>> next_change(s, 1000 + 86400) is None
    True
    """
    deadline = int(params.response_hours * HOUR)
    due = [_deadline_base(c) + deadline for c in state.complaints
           if c[4] in _OPEN and _deadline_base(c) + deadline > now]
    return min(due) if due else None
