"""From signals to a warning a retention team can act on.

`assess` runs every detector on one customer at one event time and combines them:

* **risk score** (0–1): the strongest weighted signal, raised by the others through a
  damped noisy-OR (`corroboration`, default 0.5): signals are correlated (a silent customer
  also shows an activity drop and an overdue order), so a second signal adds evidence but
  not as much as an independent one would. It is continuous for every customer (also when
  nothing fires), so it ranks customers in a snapshot.
* **level**: `watch` < `warning` < `critical`, from the *firing* signals only, combined the
  same way and held against the thresholds of the customer's value segment (core customers
  reach higher levels sooner). Sub-threshold hints move the risk score, never the level:
  each detector runs at its own false-alarm budget, and adding up hints from six of them
  would spend six budgets at once (a steady customer always has some hint somewhere).
* **corroboration**: two firing signals from independent kinds of evidence (how often the
  customer comes, what they spend, how they are served) reach `warning` together: if each
  fires on a steady customer about once in a hundred months, both do about once in ten
  thousand, rarer than one signal alone at `warning` strength. Silence, purchase frequency
  and activity all measure how often the customer comes, so they corroborate one another
  only through the damped noisy-OR. Competitor pressure explains a decline but is not
  evidence of one (a rival's promotion reaches every customer of the category): it raises
  the risk beside a decline but never counts as a second kind of evidence, and only
  behavioural decline (not a complaint) lets it fire.
* **suggested actions** fitted to the cause and the customer's value, each with its reason.

`decide` runs the lifecycle: `raised` when a level first appears, `escalated` when it rises
above the highest level of the episode, `cleared` when no signal fires, the risk has
fallen below `clear_below` and the customer has sent something since the raise. Nothing is
emitted while nothing changes. Warning ids are
derived from (customer, episode, transition, level), so the same input gives the same ids
and a step re-emitted after a crash keeps its id: consumers de-duplicate on it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Mapping

from detectors import (activity, complaints, competitor_pressure, labels, order_value, population, purchase_frequency,
                       silence)
from detectors.segment import SegmentParams, ValueFigures, value_figures
from detectors.signal import FIRE, Signal, noisy_or
from detectors.state import DAY, PLACED, CustomerState, StateParams

LEVELS = ("none", "watch", "warning", "critical")
MODEL_VERSION = "rules-1"


@dataclass(frozen=True)
class WarningParams:
    # Risk at which each level starts (watch, warning, critical), per segment.
    # Core and growth customers are worth more, so the same evidence escalates sooner.
    thresholds: tuple[tuple[str, tuple[float, float, float]], ...] = (
        ("default", (0.5, 0.7, 0.85)),
        ("core", (0.5, 0.6, 0.75)),
        ("growth", (0.5, 0.65, 0.8)),
    )
    clear_below: float = 0.4          # risk under which an open warning clears (hysteresis)
    # How directly each kind predicts leaving (multiplies its strength in the risk score).
    weights: tuple[tuple[str, float], ...] = (
        ("silence", 1.0), ("purchase_frequency_drop", 1.0), ("complaint_increase", 0.95),
        ("activity_drop", 0.9), ("order_value_drop", 0.9), ("competitor_pressure", 0.8),
    )
    # Above the alarm threshold, a signal's strength counts only this fraction towards risk.
    # (The complaint detector weighs its own evidence: `detectors.complaints.handled_gain`.)
    gains: tuple[tuple[str, float], ...] = ()
    corroboration: float = 0.5       # weight of each further signal in the risk score (0: strongest only)
    # Independent kinds of evidence: firing signals from two different families reach
    # `warning` together (see the module docstring).
    families: tuple[tuple[str, str], ...] = (
        ("silence", "visits"), ("purchase_frequency_drop", "visits"), ("activity_drop", "visits"),
        ("order_value_drop", "spend"), ("complaint_increase", "service"),
    )
    # Re-evaluate a customer with an open warning this often: signals whose strength drifts
    # with the calendar (activity windows, order value) can escalate or clear it between
    # events. At `critical`, and for short histories (fewer than `SilenceParams.min_gaps`
    # gaps: too few active days for an activity or order-value baseline, so only silence and
    # complaints judge them, and both schedule their own crossings in `next_due`), weekly.
    recheck_days: float = 1.0
    recheck_critical_days: float = 7.0
    # ... until nothing has arrived from the customer for this long: by then every window a
    # signal or the value segment reads from the calendar (26 weeks of visits, 180 days of
    # open complaints, a year of spend) lies in the quiet, and what remains moves only with
    # silence's own crossing times (due on their own) or with an event. Without it a customer
    # gone for good was assessed every week for ever, and a replay that jumped decades ahead
    # assessed each of them thousands of times on the way. 0: recheck for ever.
    recheck_quiet_days: float = 400.0
    loyalty_tenure_days: int = 365    # tenure that earns a loyalty-points suggestion


@dataclass(frozen=True)
class DetectorParams:
    """Every detector threshold in one place (built from settings at start-up)."""

    state: StateParams = field(default_factory=StateParams)
    silence: silence.SilenceParams = field(default_factory=silence.SilenceParams)
    purchase_frequency: purchase_frequency.PurchaseFrequencyParams = field(
        default_factory=purchase_frequency.PurchaseFrequencyParams)
    order_value: order_value.OrderValueParams = field(default_factory=order_value.OrderValueParams)
    activity: activity.ActivityParams = field(default_factory=activity.ActivityParams)
    complaints: complaints.ComplaintParams = field(default_factory=complaints.ComplaintParams)
    competitor: competitor_pressure.CompetitorParams = field(default_factory=competitor_pressure.CompetitorParams)
    segment: SegmentParams = field(default_factory=SegmentParams)
    warning: WarningParams = field(default_factory=WarningParams)
    population: population.PopulationParams = field(default_factory=population.PopulationParams)


def with_false_alarm_scale(params: DetectorParams, scale: float) -> DetectorParams:
    """`params` with the false-alarm budget of every statistical signal multiplied by `scale`.

    Silence, purchase frequency, order value and activity each fire when what the customer
    did is as unlikely, for them, as their budget allows (a tail probability, or expected
    quiet spells a month). `scale` moves all of them together, with the tail at which each
    reaches full strength: 2 warns on smaller changes and sooner, at about twice the false
    alarms of each signal; 0.5 warns later and less often. It is the one setting that chooses
    the operating point between how many leavers are reached and how early, and how many
    staying customers are warned (`CHURNWATCH_FALSE_ALARM_SCALE`; docs/quality.md, "One
    setting for the alarm budget", measures it). Rules that are not a false-alarm budget
    keep their values: complaints (deadlines, repeats), the lapse verdict on short histories
    (more likely gone than not), competitor pressure (it amplifies a decline), the levels,
    and the tests that hold an open warning or clear it. Order value's budget is the normal
    tail of `max_z`, so its z moves to the tail times `scale`; purchase frequency's cap on
    any one tail (`max_p_fire`) stays.

    >>> d = DetectorParams()
    >>> with_false_alarm_scale(d, 1.0) is d
    True
    >>> twice = with_false_alarm_scale(d, 2.0)
    >>> twice.silence.false_alarms_per_month, twice.activity.p_fire, twice.purchase_frequency.false_alarms_per_month
    (0.02, 0.003, 0.0008)
    >>> round(twice.order_value.max_z, 3)          # P 0.0027 instead of 0.00135 (z -3)
    -2.782
    >>> twice.complaints == d.complaints and twice.silence.alive_fire == d.silence.alive_fire
    True
    """
    if scale == 1.0:
        return params
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"false-alarm scale must be a positive number, not {scale!r}")
    from dataclasses import replace
    from statistics import NormalDist

    s, pf, ov, ac = params.silence, params.purchase_frequency, params.order_value, params.activity
    normal = NormalDist()
    return replace(
        params,
        silence=replace(s, false_alarms_per_month=s.false_alarms_per_month * scale,
                        full_false_alarms_per_month=s.full_false_alarms_per_month * scale),
        purchase_frequency=replace(pf, false_alarms_per_month=pf.false_alarms_per_month * scale),
        order_value=replace(ov, max_z=normal.inv_cdf(min(0.5, normal.cdf(ov.max_z) * scale))),
        activity=replace(ac, p_fire=ac.p_fire * scale, p_full=ac.p_full * scale,
                         long_p_fire=ac.long_p_fire * scale, long_p_full=ac.long_p_full * scale),
    )


@dataclass(frozen=True)
class Action:
    action: str
    reason: str

    def as_dict(self) -> dict:
        return {"action": self.action, "reason": self.reason}


@dataclass(frozen=True)
class Assessment:
    customer_id: str
    now: int
    risk_score: float
    level: int
    value: ValueFigures
    signals: tuple[Signal, ...]       # every signal with a baseline, strongest first
    actions: tuple[Action, ...]
    rule_risk: float | None = None    # the signals' evidence alone (None: same as risk_score)

    @property
    def segment(self) -> str:
        return self.value.segment

    @property
    def firing(self) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.fires)

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]


@dataclass(frozen=True)
class Transition:
    state: str          # raised | escalated | cleared
    level: int          # level announced (for cleared: the level that was open)
    warning_id: str


def assess(state: CustomerState, now: int, params: DetectorParams = DetectorParams(),
           market: Mapping[str, competitor_pressure.MarketPressure] | None = None,
           prior: population.Prior = population.DEFAULT_PRIOR) -> Assessment:
    """Run every detector at event time `now` and combine them into risk, level and actions.

    `prior` is the population the customer is judged against (`detectors.population`: fitted
    on the customers of their partition); the default is the published CDNOW fit.
    """
    found: list[Signal] = []
    explained = silence.explained_until(state, now, params.silence, prior)
    away = purchase_frequency.away_in_windows(state, params.purchase_frequency, params.silence, _pending_from(state, now))
    orders = purchase_frequency.evaluate(state, now, params.purchase_frequency, explained, away)
    for sig in (
        silence.evaluate(state, now, params.silence, prior),
        orders,
        order_value.evaluate(state, now, order_value.with_shop_spread(params.order_value, prior.basket_log_sd)),
        activity.evaluate(state, now, params.activity),
        complaints.evaluate(state, now, params.complaints),
    ):
        if sig is not None:
            found.append(sig)
    # A complaint is a reason a customer may leave, not a sign that they are leaving:
    # competitor pressure amplifies behavioural decline only.
    decline = max((s.strength for s in found if s.kind != complaints.KIND), default=0.0)
    if market:
        comp = competitor_pressure.evaluate(state, now, params.competitor, market, decline)
        if comp is not None:
            found.append(comp)
    found.sort(key=lambda s: (-s.strength, s.kind))
    # The rule risk, the level and the evidence below each combine a subset of these signals:
    # their weighted contributions are worked out and ordered once (`combine` does the same
    # per call), and each subset keeps that order, so every noisy-OR multiplies the same
    # numbers in the same order as `combine` would.
    weighted = _weighted(found, params.warning)
    rules = _combine_weighted([w for w, _ in weighted], params.warning)
    # The ranking below weighs a drought the customer answered (`CustomerState.answered`):
    # left out of the alarm, which needs new evidence to warn again, it is still what ranks
    # a customer who answered it with one order and went on buying as slowly.
    ranked = weighted
    if state.answered and orders is not None and purchase_frequency.answered_gaps(state):
        full = purchase_frequency.evaluate(state, now, params.purchase_frequency, explained, away, answered=False)
        if full is not None and full.strength != orders.strength:
            ranked = _weighted(sorted([full if s is orders else s for s in found], key=lambda s: (-s.strength, s.kind)),
                               params.warning)
    value = value_figures(state, now, params.segment, prior.core_value)
    firing = [s for s in found if s.fires]
    level = _level_of(_combine_weighted([w for w, s in weighted if s.fires], params.warning),
                      firing, value.segment, params.warning) if firing else 0
    acts = suggest_actions(state, now, found, level, value, params.warning)
    # The reported score ranks every customer: the probability of no activity within the
    # churn horizon, from their own history against the population's (`detectors.population`),
    # joined with the evidence of the other firing signals (complaints, spend, activity).
    # Silence is left out of that join: the gone probability is its graded counterpart, and
    # silence's strength saturates (a bursty buyer long quiet is "impossible" to it) where
    # the gone probability still ranks. Sub-threshold hints are left out too: at their
    # false-alarm rates they are noise (on CDNOW they cost 0.03 of ROC AUC among 4+-order
    # customers). One exception: purchase frequency under its alarm, weighed by the share
    # of the customer's active days that were visits without a purchase (`_visit_share`).
    # The gone probability reads active days, so for a customer who keeps visiting but has
    # stopped buying it stays near zero, and purchase frequency is the only graded word on
    # the orders; for one whose active days are their purchases (CDNOW) both read the same
    # quiet, and the share is 0. And while a warning of level `warning` or above is open
    # (what the warnings topic carries by default), the signals under their alarm join too
    # (purchase frequency as above): that evidence is what holds the warning open (it clears
    # below `clear_below`), and a customer with an open `critical` warning must not rank as
    # safe because their baskets came part of the way back. Not for an open `watch`: on the
    # simulated year its sub-threshold evidence lifted complaining stayers more than leavers.
    # Levels stay on the rules: a warning needs a firing signal.
    gone = population.gone_probability(state, now, prior, params.population)
    held = state.level >= _HOLDS_EVIDENCE
    evidence = _combine_weighted([w for w, s in ranked if s.kind != "silence" and (
        s.fires or held and s.kind != purchase_frequency.KIND)], params.warning)
    hint = max((s.strength for _, s in ranked if s.kind == purchase_frequency.KIND and not s.fires), default=0.0)
    if hint > 0.0:
        hint *= _visit_share(state)
    risk = noisy_or([gone, evidence, hint])
    return Assessment(state.customer_id, now, round(risk, 6), level, value, tuple(found), acts, round(rules, 6))


#: The open level from which the evidence under the alarm joins the risk score (`assess`).
_HOLDS_EVIDENCE = LEVELS.index("warning")


def _visit_share(state: CustomerState) -> float:
    """Share of the customer's active days, over the span of their daily buckets, that were
    visits without a purchase: 0 for a customer seen only when they buy.

    >>> from detectors.state import CustomerState
    >>> visitor = CustomerState("c", days=[10, 13, 16, 19], orders=[[16 * DAY, 80.0, "EUR", PLACED, 1, None]])
    >>> _visit_share(visitor), _visit_share(CustomerState("b", orders=visitor.orders))
    (0.75, 0.0)
    """
    if not state.days:
        return 0.0
    start = state.days[0]
    bought = {o[0] // DAY for o in state.orders if o[3] == PLACED and o[0] // DAY >= start}
    visited = set(state.days)
    return len(visited - bought) / len(visited | bought)


def combine(signals, p: WarningParams = WarningParams()) -> float:
    """Risk from signals: the strongest weighted one, raised by the others (damped noisy-OR).

    >>> from detectors.signal import Signal
    >>> a = Signal("silence", 0.5, 20, 7, "days", 20, "")
    >>> b = Signal("activity_drop", 0.5, 0, 10, "logins", 28, "")
    >>> combine([a]), combine([a, b])
    (0.5, 0.6125)
    """
    return _combine_weighted([w for w, _ in _weighted(signals, p)], p)


def _weighted(signals, p: WarningParams) -> list[tuple[float, Signal]]:
    """(contribution to the risk, signal) of each signal, largest contribution first."""
    weights, gains = dict(p.weights), dict(p.gains)

    def contribution(s) -> float:
        x = s.strength
        if x > FIRE:
            x = FIRE + gains.get(s.kind, 1.0) * (x - FIRE)
        return weights.get(s.kind, 1.0) * x

    return sorted(((contribution(s), s) for s in signals), key=lambda ws: ws[0], reverse=True)


def _combine_weighted(weighted: list[float], p: WarningParams) -> float:
    """`combine` of signals whose contributions are `weighted`, largest first."""
    if not weighted:
        return 0.0
    return noisy_or([weighted[0], *(p.corroboration * w for w in weighted[1:])])


def level_of(firing, segment: str, p: WarningParams = WarningParams()) -> int:
    """Level (0 none .. 3 critical) from the firing signals of a customer in `segment`.

    >>> from detectors.signal import Signal
    >>> quiet = Signal("silence", 0.55, 30, 7, "days", 30, "")
    >>> served = Signal("complaint_increase", 0.5, 2, 0, "complaints", 90, "")
    >>> overdue = Signal("purchase_frequency_drop", 0.55, 90, 30, "days", 90, "")
    >>> level_of([quiet], "regular"), level_of([quiet, overdue], "regular"), level_of([quiet, served], "regular")
    (1, 1, 2)
    >>> level_of([], "core")
    0
    """
    if not firing:
        return 0
    return _level_of(combine(firing, p), firing, segment, p)


def _level_of(risk: float, firing, segment: str, p: WarningParams) -> int:
    """`level_of` with the firing signals' combined risk already known."""
    level = _level(risk, segment, p)
    families = dict(p.families)
    if len({families[s.kind] for s in firing if s.kind in families}) >= 2:
        level = max(level, 2)
    return level


def _level(risk: float, segment: str, p: WarningParams) -> int:
    table = dict(p.thresholds)
    thr = table.get(segment, table["default"])
    level = 0
    for i, t in enumerate(thr, start=1):
        if risk >= t:
            level = i
    return level


def suggest_actions(state: CustomerState, now: int, signals: list[Signal], level: int,
                    value: ValueFigures, p: WarningParams = WarningParams()) -> tuple[Action, ...]:
    """Retention actions for the firing signals, most specific first, each with its reason."""
    if level == 0:
        return ()
    firing = {s.kind: s for s in signals if s.strength >= FIRE}
    out: list[Action] = []
    if "complaint_increase" in firing:
        out.append(Action("service_recovery",
                          f"{firing['complaint_increase'].detail}: apologise, fix the cause and offer compensation"))
    if value.segment == "core" and level >= 2:
        # The shop's most valuable customers only: an account manager's call is scarce, and a
        # `growth` customer (spending faster lately) may be a small or a bursty one.
        out.append(Action("personal_call",
                          f"{value.segment} customer ({value.orders_365d} orders, {value.value_365d:,.0f} {value.currency} "
                          "in 12 months): "
                          "call them in person (their account manager, or the retention team)"))
    if "order_value_drop" in firing:
        out.append(Action("targeted_offer",
                          f"{firing['order_value_drop'].detail}: offer a discount on their usual basket"))
    if "competitor_pressure" in firing:
        out.append(Action("targeted_offer",
                          f"{firing['competitor_pressure'].detail}: match the rival's offer for this customer"))
    for kind in ("silence", "purchase_frequency_drop", "activity_drop"):
        if kind in firing:
            if kind == "activity_drop" and _bought_within(state, now, firing[kind].window_days):
                # fewer visits from a customer who still orders: not gone, drifting off the site
                out.append(Action("targeted_offer", f"{firing[kind].detail}, while still ordering: a personal "
                                                    "offer on what they buy brings them back before the orders go"))
            else:
                out.append(Action("win_back", f"{firing[kind].detail}: send a win-back message with an incentive"))
            break
    if value.tenure_days >= p.loyalty_tenure_days and level >= 2 and value.segment != "lapsed":
        # (not to a customer gone for half a year: points reward a customer who still buys)
        years = value.tenure_days / 365
        out.append(Action("loyalty_points", f"customer for {years:.1f} years: reward their loyalty with points"))
    if not out:
        out.append(Action("monitor", "early signs only: watch the next weeks before acting"))
    seen: set[str] = set()
    unique = []
    for a in out:
        if a.action not in seen:
            seen.add(a.action)
            unique.append(a)
    return tuple(unique)


def _bought_within(state: CustomerState, now: int, days: float) -> bool:
    """Whether the customer placed an order in the `days` before `now`."""
    return any(o[3] == PLACED and now - days * DAY < o[0] <= now for o in reversed(state.orders))


def decide(state: CustomerState, a: Assessment, p: WarningParams = WarningParams()) -> Transition | None:
    """The lifecycle step for this assessment, or None when nothing changed.

    Examples
    --------
    >>> from detectors.segment import ValueFigures
    >>> v = ValueFigures("regular", 0.0, 0, 400.0)
    >>> s = CustomerState("c")
    >>> hot = Assessment("c", 100, 0.72, 2, v, (), ())
    >>> decide(s, hot).state
    'raised'
    >>> s = apply(s, hot, decide(s, hot))
    >>> decide(s, hot) is None
    True
    >>> calm = Assessment("c", 200, 0.1, 0, v, (), ())
    >>> decide(s, calm) is None       # nothing from the customer since the raise
    True
    >>> s.last_event = 150            # something since, and the evidence is gone
    >>> decide(s, calm).state
    'cleared'
    """
    prev = state.level
    if prev == 0 and a.level > 0:
        return Transition("raised", a.level, warning_id(state.customer_id, state.episode + 1, "raised", a.level))
    if prev > 0 and a.level > prev:
        return Transition("escalated", a.level, warning_id(state.customer_id, state.episode, "escalated", a.level))
    # Clearing follows the signals' evidence: the gone probability of a sparse buyer stays
    # high between their orders and must not hold a warning open on its own. It needs
    # something from the customer since the raise: a customer who has sent nothing cannot
    # have recovered, and a refit of the population they are judged against (a small
    # partition's P(alive) moving from 0.50 to 0.66 overnight) is not news about them. Such
    # a clearing was raised again days later with nothing in between: two episodes for one.
    rule_risk = a.risk_score if a.rule_risk is None else a.rule_risk
    if prev > 0 and a.level == 0 and rule_risk < p.clear_below and state.last_event > state.raised_at:
        return Transition("cleared", prev, warning_id(state.customer_id, state.episode, "cleared", prev))
    return None


def published(state: CustomerState, t: Transition | None, min_level: int) -> Transition | None:
    """The step a consumer of the warnings topic sees for lifecycle step `t`, taken on `state`
    (the state before `apply`), when only levels >= `min_level` are published; None: nothing.

    The lifecycle itself (`decide`, `apply`, the state) is the same whatever is published. An
    episode is published from the step that first reaches `min_level`: a raise at that level
    or above as it is, an escalation from below it as the episode's `raised` (with the id a
    raise at that level has), and its clearing only if it was published. The level of an
    open episode only rises, so `state.level` (the level before the step) says whether the
    episode has been published.

    >>> c = CustomerState("c", episode=1, level=1)
    >>> up = Transition("escalated", 2, warning_id("c", 1, "escalated", 2))
    >>> p = published(c, up, min_level=2)
    >>> p.state, p.level, p.warning_id == warning_id("c", 1, "raised", 2)
    ('raised', 2, True)
    >>> published(c, up, min_level=1) == up
    True
    >>> published(c, Transition("cleared", 1, warning_id("c", 1, "cleared", 1)), min_level=2) is None
    True
    """
    if t is None:
        return None
    if t.state == "cleared":
        return t if state.level >= min_level else None
    if t.level < min_level:
        return None
    if t.state == "escalated" and state.level < min_level:
        return Transition("raised", t.level, warning_id(state.customer_id, state.episode, "raised", t.level))
    return t


def apply(state: CustomerState, a: Assessment, t: Transition | None,
          activity_params: activity.ActivityParams = activity.ActivityParams()) -> CustomerState:
    """The state's lifecycle fields after transition `t` (a changed copy; input untouched).

    When `activity_drop` joins the warning's kinds, the activity habit before it is kept
    (`activity.habit`): the warning is held against it for as long as it stays open. When a
    warning of level `warning` or above that carried `purchase_frequency_drop` clears after
    an order, the first purchase since its raise is kept (`CustomerState.answered`): the
    drought that order ended was judged, and purchase frequency's trickle tests leave it out
    of their windows (`purchase_frequency.answered_gaps`).
    """
    if t is None:
        return state
    s = state.copy()
    if t.state == "raised":
        s.episode += 1
        s.raised_at = a.now
        s.level = t.level
        s.kinds = [x.kind for x in a.firing]
        s.habit = activity.habit(s, a.now, activity_params) if activity.KIND in s.kinds else []
    elif t.state == "escalated":
        s.level = t.level
        s.kinds = sorted(set(s.kinds) | {x.kind for x in a.firing})
        if activity.KIND in s.kinds and activity.KIND not in state.kinds:
            s.habit = activity.habit(s, a.now, activity_params)
    else:
        if purchase_frequency.KIND in state.kinds and state.level >= _HOLDS_EVIDENCE:
            after = [t for t in purchase_frequency.purchase_days(state) if t > state.raised_at]
            if after:
                s.answered = after[0]
                s.pf_due = [-1, -1, -1, 0, 0, 0, 0]     # the crossings kept no longer hold
        s.level = 0
        s.kinds = []
        s.habit = []
    return s


def warning_id(customer_id: str, episode: int, transition: str, level: int) -> str:
    """Stable id of a lifecycle step: customer, episode (n-th raise), transition and level.

    It does not include the exact event time on purpose: after a crash the same step may be
    judged a few events later, and consumers must still see it as the same warning. Within
    an episode each (transition, level) happens at most once: levels only rise until cleared.

    >>> warning_id("c1", 1, "raised", 2) == warning_id("c1", 1, "raised", 2)
    True
    >>> warning_id("c1", 1, "raised", 2) == warning_id("c1", 2, "raised", 2)
    False
    """
    raw = f"{customer_id}|{episode}|{transition}|{level}".encode()
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def next_due(state: CustomerState, now: int, params: DetectorParams = DetectorParams(),
             label_params: labels.LabelParams | None = None,
             prior: population.Prior = population.DEFAULT_PRIOR, *, lazy: bool = False) -> int:
    """Event time at which a sweep should look at this customer again if nothing arrives.

    0 means never (no baseline and nothing open). With `label_params`, the delayed
    labelling's own times count too (`labels.next_due`: the next weekly snapshot of a
    customer still active, or a pending snapshot's horizon end): without them a quiet
    customer would never be snapshotted and a churn label would never resolve.

    With `lazy`, the two searches that run once per new active day or order (the silence
    and purchase-frequency crossing times, most of this function's cost) are put off while a
    cheap lower bound of them is still ahead: silence cannot fire before `floor_days` of
    quiet, purchase frequency not before its ratio guard (`purchase_frequency.guard_time`).
    A customer who comes back before then never pays for the search. When such a bound is
    the earliest time, it is returned as a *provisional* due time (`provisional(state)`
    tells): at it, `exact_due(state, ...)` gives the due time an eager call at `now` would
    have given, with nothing assessed in between.

    Examples
    --------
    A customer seen once on day 10 has no rhythm of their own: silence judges them by the
    population (here the default prior) once they are more likely gone than not, 121 days
    later; the labelling needs a visit sooner, at the next weekly snapshot boundary (day 14).

    >>> s = CustomerState("c", first_seen=10 * DAY, last_active=10 * DAY)
    >>> next_due(s, 10 * DAY) // DAY, next_due(s, 10 * DAY, label_params=labels.LabelParams()) // DAY
    (131, 14)

    Lazily, silence's floor (14 days of quiet) comes first, provisionally; at it, the exact time:

    >>> lazy = next_due(s, 10 * DAY, lazy=True)
    >>> lazy // DAY, provisional(s)
    (24, True)
    >>> exact_due(s) // DAY, provisional(s)
    (131, False)
    """
    pf_due = state.pf_due[:_PF_LEN]
    state.pf_due = pf_due
    candidates = [
        complaints.next_change(state, now, params.complaints),
    ]
    if label_params is not None:
        candidates.append(labels.next_due(state.pending, state.last_active, now, label_params))
    quiet_max = params.warning.recheck_quiet_days * DAY
    if state.level > 0 and (not quiet_max or now - state.last_event < quiet_max):
        weekly = state.level >= 3 or len(state.gaps) < params.silence.min_gaps
        days = params.warning.recheck_critical_days if weekly else params.warning.recheck_days
        candidates.append(now + int(days * DAY))
    if prior.provisional and silence.lapse_judged(state, params.silence):
        # The stand-in for a partition seen for less than two horizons gives no verdict of
        # "more likely gone than not"; its first own fit may. Such a customer is looked at
        # again when the next refit period begins, so a quiet one is judged by that fit when
        # it comes, not only at their next event (`population.min_span_days`).
        period = int(params.population.refit_days * DAY)
        candidates.append((now // period + 1) * period)
    bound, deferred = 0, 0
    floor = state.last_active + math.ceil(params.silence.floor_days * DAY) if state.last_active > 0 else 0
    if lazy and now < floor:
        bound, deferred = floor, _DEFER_SILENCE
    else:
        candidates.append(silence.next_change(state, now, params.silence, prior=prior))
    guard = _purchase_guard(state, params) if lazy else None
    if guard is not None and now < guard:
        bound, deferred = (guard, deferred | _DEFER_PURCHASE) if not bound or guard < bound else (bound, deferred | _DEFER_PURCHASE)
    else:
        candidates.append(_purchase_due(state, now, params))
    due = [c for c in candidates if c is not None and c > now]
    exact = min(due) if due else 0
    if deferred and (not exact or bound < exact):
        # [key and times, or a stale key when the search was put off] + [now, what was put off]
        if deferred & _DEFER_PURCHASE:
            pf_due = [-1, -1, -1, 0, 0, 0, 0]
        state.pf_due = pf_due + [now, deferred]
        return bound
    return exact


def repeat_visit(state: CustomerState | None, kind: str, t: int) -> bool:
    """True when a `kind` event at event time `t` is a further visit of a day already judged.

    That is a login or a page view, in order (at or after the customer's newest event), on a
    day already active, with no warning open and nothing due (`state.next_due`) by `t`.
    Callers may then skip the customer's assessment (not the state update, nor the delayed
    labels): the one made at the day's earlier visit stands, because such a visit cannot
    raise a level. A login adds to the day's login count only, which no test reads (the
    activity tests count active days), and makes silence's quiet shorter: every signal can
    only fall. A page view also adds pages, time on site and perhaps a bounce: the time
    only weakens the shorter-visits test, but the bounce share can rise (a bounce-like view,
    or the fifth view that lets the share count), which sharpens an activity drop. So a page
    view is a repeat only if the activity signal reads no stronger after it than before
    (`activity_strength`, compared by the caller); every other signal only falls as for a
    login. What event time alone changes meanwhile (an order leaving a window) is judged at
    the next assessment, as for a customer who sends nothing: their next day of activity, or
    their due time. Market events are the caller's to check (they are not in the state).

    >>> from detectors.state import CustomerState
    >>> s = CustomerState("c", last_event=10 * DAY + 60, last_active=10 * DAY + 60, last_active_day=10,
    ...                   days=[10], logins=[1], views=[0], dwell=[0], bounces=[0], next_due=24 * DAY)
    >>> repeat_visit(s, "login", 10 * DAY + 3600), repeat_visit(s, "page_view", 10 * DAY + 3600)
    (True, True)
    >>> repeat_visit(s, "order", 10 * DAY + 3600), repeat_visit(s, "login", 11 * DAY)   # judged
    (False, False)
    """
    if state is None or state.level != 0 or kind not in ("login", "page_view"):
        return False
    day = t // DAY
    if day != state.last_active_day or t < state.last_event or not state.days or state.days[-1] != day:
        return False
    if 0 < state.next_due <= t:
        return False
    return state.views[-1] > 0 or state.logins[-1] > 0


def activity_strength(state: CustomerState, now: int, params: DetectorParams = DetectorParams()) -> float:
    """Strength of the activity signal at `now` (0 without one): what a page view can raise.

    >>> from detectors.state import CustomerState
    >>> activity_strength(CustomerState("c"), DAY)
    0.0
    """
    sig = activity.evaluate(state, now, params.activity)
    return 0.0 if sig is None else sig.strength


_PF_LEN = 7          # state.pf_due: [orders key (3), crossing time per level (4)], then [now, deferred] if provisional
_DEFER_SILENCE = 1
_DEFER_PURCHASE = 2


def provisional(state: CustomerState) -> bool:
    """True when `state.next_due` is a lower bound put in place of a search (`next_due(lazy=True)`)."""
    return len(state.pf_due) > _PF_LEN and state.pf_due[_PF_LEN + 1] != 0


def provisional_at(state: CustomerState) -> int:
    """The event time of the assessment that put the search off (call `exact_due` with its prior)."""
    return state.pf_due[_PF_LEN]


def exact_due(state: CustomerState, params: DetectorParams = DetectorParams(),
              label_params: labels.LabelParams | None = None,
              prior: population.Prior = population.DEFAULT_PRIOR) -> int:
    """The due time `next_due` would have given at the assessment that made it provisional.

    The customer's state is as it was then (anything that arrived since was assessed and
    gave a new due time), so the same call at the same event time gives the same answer.
    `prior` must be the population in force at `provisional_at(state)`.
    """
    return next_due(state, provisional_at(state), params, label_params, prior)


def _purchase_guard(state: CustomerState, params: DetectorParams) -> int | None:
    """The purchase-frequency ratio guard, when its crossing times are not known yet for these orders."""
    orders = state.orders
    key = [len(orders), orders[0][0], orders[-1][0]] if orders else [0, 0, 0]
    if state.pf_due[:3] == key:
        return None   # known: a lookup
    return purchase_frequency.guard_time(state, params.purchase_frequency)


_LEVELS = (0.5, 0.7, 0.85, 1.0)


def _purchase_due(state: CustomerState, now: int, params: DetectorParams) -> int | None:
    """The next purchase-frequency crossing time after `now` (`_purchase_times`), or the
    end of a quiet left to silence, or of a return's wait for its confirmation."""
    if _pending_from(state, now) is not None:
        until = purchase_frequency.return_pending(state, params.purchase_frequency)
        if until > now:
            held = purchase_frequency.away_in_windows(state, params.purchase_frequency, params.silence, now)
            if held != purchase_frequency.away_in_windows(state, params.purchase_frequency, params.silence):
                # A return not yet confirmed is left out of the windows until `until` only:
                # the crossings with it left out before then, and after it those without it
                # (one already passed by then falls due at `until`).
                before = [t for t in _purchase_times(state, params, held) if t < until]
                after = [max(t, until) for t in _purchase_times(state, params, None)]
                return _explained_due(state, now, params, before + after)
    return _explained_due(state, now, params, _purchase_times(state, params, None))


def _purchase_times(state: CustomerState, params: DetectorParams, away) -> list[int]:
    """The purchase-frequency crossing times of `_LEVELS` (ascending, those found), with the
    spells `away` left out of the windows (None: `purchase_frequency.away_in_windows`).
    Without such spells they are computed once per change of the orders (a search) and kept
    in `state.pf_due`; between orders only the lookup runs."""
    # Orders are only ever added; once the list is full, an added order pushes the oldest
    # out, so the count and the first and last times together tell any change apart (a late
    # order inside a full list leaves the count and the newest time as they were).
    orders = state.orders
    if away is None:
        away = purchase_frequency.away_in_windows(state, params.purchase_frequency, params.silence)
    if away:
        # Spells the customer was away altogether lie inside the windows (`silence.breaks_taken`):
        # they depend on more than the orders, so the crossings are searched afresh (for the few
        # weeks such a spell is in the windows) and not kept.
        times, t = [], 0
        for lv in _LEVELS:
            t = purchase_frequency.next_change(state, max(t, orders[-1][0]), params.purchase_frequency,
                                               levels=(lv,), away=away) or 0
            if not t:
                break
            times.append(t)
        return times
    key = [len(orders), orders[0][0], orders[-1][0]] if orders else [0, 0, 0]
    if state.pf_due[:3] != key:
        times, t = [], 0
        for lv in _LEVELS:
            found = purchase_frequency.next_change(state, max(t, state.orders[-1][0]) if state.orders else t,
                                                   params.purchase_frequency, levels=(lv,))
            t = found or 0
            times.append(t)
            if not found:
                times.extend([0] * (len(_LEVELS) - len(times)))
                break
        state.pf_due = key + times
    return [t for t in state.pf_due[3:_PF_LEN] if t]


def _pending_from(state: CustomerState, now: int) -> int | None:
    """`now` while no warning is open, else None: a return from a quiet spell not yet
    confirmed is left out of purchase frequency's windows for a while
    (`purchase_frequency.away_spells`). That is for a quiet that raised nothing (one like the
    breaks the customer has taken before); one look at the shop must not clear a warning, even
    a `watch`, that the quiet raised."""
    return now if state.level == 0 else None


def _explained_due(state: CustomerState, now: int, params: DetectorParams, times: list[int]) -> int | None:
    """The first of the crossing `times` after `now`, or the end of a quiet left to silence
    when a crossing falls inside it."""
    due = next((t for t in times if t > now), None)
    # A crossing inside a total quiet that purchase frequency leaves to silence (a spell no
    # longer than one the customer came back from: `purchase_frequency.judged_until`) cannot
    # fire then; it fires when the quiet stops being explained, so look again at that time.
    seen = silence.explained_until(state, now, params.silence)
    if now < seen and times:
        pace_end = purchase_frequency.judged_until(state, seen - 1, params.purchase_frequency, seen)
        if (due is not None and pace_end < due < seen) or (due is None and pace_end < times[-1] < seen):
            return seen
    return due


def warning_payload(state: CustomerState, a: Assessment, t: Transition, model_version: str = MODEL_VERSION,
                    cleared_kinds: list[str] | tuple[str, ...] = ()) -> dict:
    """The churn-warning contract fields known to the detectors (the stream adds `emitted_at`).

    The evidence is the firing signals. A `cleared` step has none firing: it shows where the
    signals the warning carried (`cleared_kinds`, the state's `kinds` before the step) stand
    now, so a consumer sees the recovery of what was raised, not an unrelated signal.
    """
    from detectors.state import to_datetime

    shown = [s for s in a.signals if s.fires]
    if t.state == "cleared" and not shown:
        shown = [s for s in a.signals if s.kind in cleared_kinds]
    shown = shown or list(a.signals[:1])
    return {
        "warning_id": t.warning_id,
        "customer_id": state.customer_id,
        "state": t.state,
        "level": LEVELS[t.level],
        "risk_score": min(1.0, max(0.0, a.risk_score)),
        "occurred_at": to_datetime(a.now),
        "segment": a.segment,
        "signals": [s.as_dict() for s in shown],
        "suggested_actions": [x.as_dict() for x in a.actions] if t.state != "cleared" else [],
        "model_version": model_version,
        "schema_version": 1,
    }
