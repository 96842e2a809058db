"""Silence: the customer has gone quiet for longer than their own rhythm plausibly allows.

A customer who stops doing anything sends no events, so this signal is evaluated from the
passage of event time (sweeps), not only when an event arrives.

The question a quiet spell raises is "how often would this customer, still active, go
this long without a visit or an order?". The answer is a rate of false alarms per month,
and the signal fires when that rate falls below a budget, so every customer (daily visitor
or twice-a-year buyer, long or short history) gets the same false-alarm rate per month.

The model, and why each part is there:

* **Rhythm, with its uncertainty.** Gaps between active days (days with a login, page view,
  order or complaint) are gamma waiting times with the customer's own shape and an unknown
  rate. Integrating the rate out (gamma posterior) gives the predictive chance of a gap of
  T days or more: I_{S/(S+T)}(n k, k), the regularized incomplete beta, with S the days
  the n gaps add up to and k the shape. A customer with five gaps gets a far heavier tail
  than one with thirty at the same mean: the test accounts for how much history there is
  instead of trusting a point quantile.
* **Shrinkage toward the population.** `prior_gaps` pseudo-gaps of `prior_gap_days` days
  are added to S and n (empirical Bayes with a weak prior): five gaps of two days do not
  prove that a customer is never away for a month.
* **Bursty or regular.** k = 1 / d, d the squared coefficient of variation of the gaps,
  shrunk towards 1 (the Poisson value) by `prior_cv2_weight` gaps. Visits that come in
  clusters (three days in a row, then two quiet weeks) have d > 1 and a heavier tail; a
  clockwork rhythm has d < 1 and a thinner one.
* **Breaks everyone takes.** Holidays of one to three weeks happen to every customer once
  or twice a year whatever their rhythm, and a customer's last 32 gaps rarely hold one.
  A break component (`breaks_per_year`, lengths log-normal around `break_median_days`)
  is added to the rate, so a daily visitor's two-week holiday is explained, while a
  month of quiet is not.
* **A break of their own.** The state remembers the quiet spells the customer came back
  from within a year and a month (`CustomerState.returned`). A quiet no longer than one of
  them, after which they stayed back at least `came_back_days`, cannot fire (a seasonal
  customer's off-season). A remembered spell that was itself at least as long as the quiet
  at which silence fires for their rhythm was a break, not one of their gaps: such a
  customer takes breaks of about that length, `own_breaks_per_year` (one) a year, lengths
  log-normal around it with the same `break_log_sd`, and that term is added to the rate
  while the spell is remembered (`own_break`). Without it, a daily visitor back from 31 days
  away last summer was `critical` again at 33 days this summer, one day longer than the
  spell they came back from; with it, such a quiet fires at about 2.5 times their break for
  a daily visitor, and at little more than the break itself for a rare one (whose budget is
  larger). The cost is later warnings for customers who took such a break and then leave
  (measured in docs/quality.md, "Breaks of their own"). What counts is the memory when the
  quiet began (its last activity): a spell remembered then weighs on that quiet until it
  leaves the memory or, if later, until the quiet is `own_break_reach` (1.5) times as long.
  A yearly holiday that starts a few weeks later than last year's no longer loses its
  reference halfway through ("Last year's holiday kept to the end" in docs/quality.md).
* **False-alarm budget per month.** The rhythm term counts 30.4 / (mean gap) chances a
  month to look this quiet; the break term `breaks_per_year / 12`. Their sum is the
  expected number of quiet spells this long per month from a customer who has not left.
* **Budget per day of waiting.** That rate is held against the budget times the
  customer's mean gap over `reference_gap_days` (10 days), at most `max_budget_scale` (3):
  a customer active every day gets about a fifth of the budget (the prior's month-long
  pseudo-gap lengthens their mean gap to about two days), one active every 20 days twice
  it. What waiting costs is days of lead time on a leaver; what it buys is fewer false
  alarms, and one more day removes about (rate) / (mean gap) of them per month (with
  exponential gaps the rate falls by e every mean gap). One budget for everyone makes a
  frequent visitor's extra day buy a lot and a rare visitor's little; a budget in
  proportion to the mean gap makes that day buy the same for everyone, which is when a
  given total of false alarms costs the fewest days of delay in all (the Lagrange
  condition of that trade). The cap keeps a buyer every few months from being warned
  about as soon as they are a little late. Measured (docs/quality.md, "Silence's budget per day of
  waiting"): on the 10,000-customer year more churners warned with fewer false warnings
  than with one budget for everyone, gradual leavers warned a few days later.

Defaults, and why:

* `false_alarms_per_month` 0.01 fires (strength 0.5, a `watch`: worth a look);
  `full_false_alarms_per_month` 1e-4 is strength 1.0, both for a mean gap of 10 days
  (scaled as above). Strength is log-linear between, so a lone silence reaches `warning`
  (0.7) at about 1.6 expected false alarms per 1,000 customer-months and `critical` (0.85)
  at about 0.4 at that gap: within the product's budget of 5 per 1,000 for all signals
  together.
* `prior_gaps` 1 of `prior_gap_days` 30: one month-long pseudo-gap; it dominates a history
  of three or four short gaps and is negligible after thirty.
* `prior_cv2` 1.0 with weight 2: without evidence, visits are taken as Poisson.
  d is kept within [0.25, 6]: no rhythm is more than four times as regular as a Poisson
  one, or more bursty than six.
* breaks: 1.5 a year, median 10 days, log-sd 0.5 (95 % shorter than 23 days): annual leave
  is commonly taken as one or two breaks of one to three weeks.
* `floor_days` 14: under two weeks of quiet is never a churn sign on its own.
* `min_gaps` 4: five active days before the customer's own rhythm is judged.

**Short histories.** With fewer gaps, and when the population prior is given
(`detectors.population`: active-day rates across the partition's customers are
gamma(r, α), lifetimes exponential with rates gamma(s, β)), two questions are asked and the
stronger answer counts:

* the rhythm test above with the population's rhythm, updated by the customer's few gaps:
  n = r + x pseudo-gaps summing to α + t_x days, shape 1 (the gamma mixture of Poisson rates
  is what makes the predictive tail heavy, so no own shape is estimated from three gaps).
  Where customers are alike, a first-time customer quiet for far longer than anyone of that
  shop usually is fires at the same false-alarm budget as everyone else; where rates vary a
  lot (CDNOW: r 0.55) a one-purchase customer is never quiet enough for it within years.
* the population's probability that a customer with this history, this quiet, is still a
  customer at all (Pareto/NBD P(alive), `detectors.population.p_alive`). It fires once
  the customer is more likely gone than not (`alive_fire` 0.5), at `warning` strength
  (`alive_strength` 0.7: a verdict, not an early sign), and reaches `critical` at 0.1 and
  1.0 at `alive_full` (0.02), log-linear between. (Until 2026-12-04 it fired at `watch`
  and reached `warning` only below 0.2. Those watches were as precise as any warning:
  0.985 of the first ones on the 10,000-customer simulated year and 0.815 on CDNOW.
  They were the published P(alive) < 0.5 rule, but a consumer of level >= `warning`
  never saw them. On CDNOW, warnings at >= `warning` caught 8 % of the leavers instead
  of 87 %; docs/quality.md, "A lapse is a verdict".) A false-alarm budget cannot judge a customer with one or two purchases (no
  rhythm of theirs is known, and at the shop's spread of rhythms any quiet is plausible
  for someone still there); what can be said is how many customers of this shop with
  such a history and such a quiet have left, which is what this probability estimates from
  the shop's own customers. It is the lapse a win-back message is for. On CDNOW (39-week
  calibration, churn = no order in the next 39 weeks, see docs/quality.md) P(alive) < 0.5
  at the cutoff marks 75 % of the customers, 82 % of whom did not come back.

**Purchase logs.** A customer with a longer history whose every active day was a purchase
(`purchase_log`: a shop that sends only its orders, or a customer seen only when they buy)
is judged by their own rhythm as above and also by the population's P(alive), the model
Pareto/NBD was made for, from `long_alive_fire` (0.1: nine in ten such customers gone) at
`warning`, `critical` at a fifth of it; the stronger counts, the rhythm stays the evidence and
the verdict is said beside it. The false-alarm budget holds every customer to the same rate
of false alarms whatever the shop; where most customers leave within months (CDNOW,
lifetimes' example log) a quiet the budget still allows is, among that shop's customers,
mostly a departure: on lifetimes' example log the customers with four or more purchases
warned at the cutoff went from 505 to 641 at a precision of 0.97 to 0.98 (docs/quality.md,
"Purchase logs judged by the shop's verdict"). Customers who also visit are left to the
budget: Pareto/NBD reads visits as Poisson, so a daily visitor three weeks away on holiday
is "gone" (P(alive) 0.03 even where lifetimes last years), and with the verdict on every
long history the first outside population's stayers drew 16.7 false warnings per 1,000
months instead of 7.3. The bar is 0.1, not 0.5: a rhythm of one's own (clumped purchases)
makes Poisson over-confident too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from detectors.population import Prior, p_alive
from detectors.signal import FIRE, Signal, betainc, first_crossing, pvalue_strength
from detectors.state import DAY, CustomerState

MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class SilenceParams:
    min_gaps: int = 4                       # gaps between active days needed before judging
    floor_days: float = 14.0                # never fire on less quiet than this, in days
    false_alarms_per_month: float = 0.01    # expected quiet spells this long per month at which it fires
    full_false_alarms_per_month: float = 1e-4  # ... and at which strength reaches 1.0
    prior_gaps: float = 1.0                 # weight of the population's rhythm, in gaps
    prior_gap_days: float = 30.0            # the population's typical gap between active days
    prior_cv2: float = 1.0                  # squared CV of gaps assumed before data (1 = Poisson)
    prior_cv2_weight: float = 2.0           # weight of that assumption, in gaps
    min_cv2: float = 0.25                   # no rhythm is treated as more regular than this
    max_cv2: float = 6.0                    # nor as more bursty than this
    max_quiet_days: float = 1095.0          # crossings later than this many quiet days are never scheduled
    reference_gap_days: float = 10.0        # the budgets above hold for a customer whose mean gap is this;
    max_budget_scale: float = 3.0           # a mean gap m gets them times m / reference, at most this
    breaks_per_year: float = 1.5            # holidays and the like, for every customer
    break_median_days: float = 10.0         # typical length of such a break
    break_log_sd: float = 0.5               # spread of break lengths (log scale)
    # Short histories (fewer than `min_gaps` gaps) are also judged by the population's
    # probability that a customer this quiet is still a customer (Pareto/NBD P(alive)):
    alive_fire: float = 0.5                 # it fires once more likely gone than not ...
    alive_strength: float = 0.7             # ... at this strength (`warning`: a verdict, not an early sign) ...
    alive_full: float = 0.02                # ... and reaches strength 1.0 here (log-linear between; `critical` at 0.1)
    # A longer purchase log (every active day a purchase: no visits seen) gets that verdict
    # too, from a smaller P(alive) ("Purchase logs" in the module docstring).
    long_alive_fire: float = 0.1            # `warning` once P(alive) is below this (`critical` at a fifth of it)
    # A quiet spell no longer than one the customer came back from within the state's memory
    # (`CustomerState.returned`, a year and a month), and stayed back for this many days after,
    # is theirs: a seasonal customer's off-season. It cannot fire until it is longer.
    came_back_days: int = 28
    return_memory_days: int = 400           # as `StateParams.return_memory_days`
    # A remembered spell that was itself beyond the alarm (a break the rhythm does not
    # explain) is taken as the customer's own kind of break: this many a year, lengths
    # log-normal around it with `break_log_sd` ("A break of their own" above).
    own_breaks_per_year: float = 1.0
    # A remembered spell weighs on a quiet that began while it was in the memory until the
    # quiet is this many times as long, even once it has left the memory.
    own_break_reach: float = 1.5


@dataclass(frozen=True)
class Rhythm:
    """What the test knows of a customer's rhythm (days).

    total: S, the prior-shrunk sum of gaps; gaps: n, their prior-shrunk number; shape: k;
    usual: the customer's own mean gap; longest: their longest recorded gap.
    """

    total: float
    gaps: float
    shape: float
    usual: float
    longest: float

    @property
    def mean_gap(self) -> float:
        return self.total / self.gaps


def rhythm(state: CustomerState, params: SilenceParams = SilenceParams(), prior: Prior | None = None) -> Rhythm | None:
    """The customer's rhythm as the test uses it, or None without one.

    With fewer than `min_gaps` gaps it is the population's (`prior`, see the module
    docstring), or None when no prior is given.

    >>> r = rhythm(CustomerState("c", last_active=1, gaps=[7] * 10))
    >>> round(r.total), r.gaps, r.shape, r.usual
    (100, 11.0, 4.0, 7.0)
    >>> rhythm(CustomerState("new", last_active=1, gaps=[3])) is None
    True
    >>> r = rhythm(CustomerState("new", last_active=1, gaps=[3]), prior=Prior(r=3.0, alpha=27.0))
    >>> r.total, r.gaps, r.shape, r.usual
    (30.0, 4.0, 1.0, 7.5)
    """
    p = params
    gaps = state.gaps
    n = len(gaps)
    if state.last_active <= 0:
        return None
    if n < p.min_gaps:
        if prior is None:
            return None
        total = prior.alpha + sum(gaps)
        return Rhythm(total, prior.r + n, 1.0, total / (prior.r + n), float(max(gaps, default=0)))
    return _own_rhythm(tuple(gaps), p)


# A customer's own rhythm changes only on a new active day, while every assessment (sweeps
# included) asks for it: kept for the recently assessed gap histories.
@lru_cache(maxsize=4096)
def _own_rhythm(gaps: tuple[int, ...], p: SilenceParams) -> Rhythm:
    n = len(gaps)
    total = float(sum(gaps))
    mean = total / n
    var = sum((g - mean) ** 2 for g in gaps) / (n - 1)
    cv2 = var / (mean * mean) if mean > 0 else p.prior_cv2
    d = (n * cv2 + p.prior_cv2_weight * p.prior_cv2) / (n + p.prior_cv2_weight)
    d = min(p.max_cv2, max(p.min_cv2, d))
    return Rhythm(total + p.prior_gaps * p.prior_gap_days, n + p.prior_gaps, 1.0 / d, mean, float(max(gaps)))


def false_alarm_rate(r: Rhythm, quiet_days: float, params: SilenceParams = SilenceParams(),
                     own_break_days: float = 0.0) -> float:
    """Expected quiet spells of `quiet_days` or more per month from this customer, still active.

    `own_break_days`: a break of the customer's own that long (`own_break`), 0 for none.

    >>> r = rhythm(CustomerState("c", last_active=1, gaps=[1] * 32))   # a daily visitor
    >>> round(false_alarm_rate(r, 10), 3), round(false_alarm_rate(r, 30), 5)
    (0.063, 0.00175)
    >>> round(false_alarm_rate(r, 40, own_break_days=30), 4)    # back from 30 days away last year
    0.0239
    """
    p = params
    if quiet_days <= 0:
        return math.inf
    rhythm_part = (MONTH_DAYS / r.mean_gap) * betainc(r.gaps * r.shape, r.shape, r.total / (r.total + quiet_days))
    z = (math.log(quiet_days) - math.log(p.break_median_days)) / p.break_log_sd
    break_part = p.breaks_per_year / 12.0 * 0.5 * math.erfc(z / math.sqrt(2.0))
    if own_break_days > 0:
        z = (math.log(quiet_days) - math.log(own_break_days)) / p.break_log_sd
        break_part += p.own_breaks_per_year / 12.0 * 0.5 * math.erfc(z / math.sqrt(2.0))
    return rhythm_part + break_part


def budget_scale(r: Rhythm, params: SilenceParams = SilenceParams()) -> float:
    """Factor on the false-alarm budgets for this rhythm: mean gap over `reference_gap_days`,
    at most `max_budget_scale` (see "Budget per day of waiting" in the module docstring).

    >>> budget_scale(rhythm(CustomerState("c", last_active=1, gaps=[2] * 30)))    # every 2 days
    0.290323
    >>> budget_scale(rhythm(CustomerState("c", last_active=1, gaps=[20] * 30)))   # every 20 days
    2.032258
    >>> budget_scale(rhythm(CustomerState("c", last_active=1, gaps=[60] * 30)))   # every 2 months: capped
    3.0
    """
    return round(min(params.max_budget_scale, r.mean_gap / params.reference_gap_days), 6)


def _strength(r: Rhythm, quiet_days: float, p: SilenceParams, own_break_days: float = 0.0) -> tuple[float, float]:
    rate = false_alarm_rate(r, quiet_days, p, own_break_days)
    scaled = rate / budget_scale(r, p)
    strength = pvalue_strength(min(scaled, 1.0), p.false_alarms_per_month, p.full_false_alarms_per_month)
    if quiet_days < p.floor_days:
        strength = min(strength, FIRE - 0.05)
    return strength, rate


def evaluate(state: CustomerState, now: int, params: SilenceParams = SilenceParams(),
             prior: Prior | None = None) -> Signal | None:
    """The silence signal at event time `now` (epoch seconds), or None without a baseline.

    `prior`: the population's rhythm for customers with fewer than `min_gaps` gaps.

    Examples
    --------
    A weekly visitor (ten gaps of 7 days): ten quiet days are ordinary, five weeks are not.

    >>> s = CustomerState("c", last_active=100 * DAY, gaps=[7] * 10)
    >>> evaluate(s, 110 * DAY).fires
    False
    >>> sig = evaluate(s, 135 * DAY)
    >>> sig.fires, sig.current, sig.baseline
    (True, 35.0, 7.0)
    >>> sig.detail
    'no activity for 35 days; usually active every 7 days (longest gap 7 days); a customer with this rhythm goes this quiet about once in 29 years'
    """
    r = rhythm(state, params, prior)
    if r is None:
        return None
    quiet = max(0.0, (now - state.last_active) / DAY)
    own = own_break(state, now, params, prior)
    strength, rate = _strength(r, quiet, params, own[0] if own else 0.0)
    seen = now < returned_until(state, params)
    if seen:
        strength = min(strength, FIRE - 0.05)
    lapse = _lapse(state, quiet, params, prior)
    long_history = len(state.gaps) >= params.min_gaps
    if lapse is not None and lapse[0] > strength and not long_history:
        strength, alive = lapse
        days = len(state.gaps) + 1
        detail = (f"no activity for {quiet:.0f} days after {days} active day{'s' if days > 1 else ''}; "
                  f"of this shop's customers with such a history, {_percent(alive)} "
                  "are still customers after this long a quiet")
    else:
        detail = (f"no activity for {quiet:.0f} days; usually active every {r.usual:.0f} days "
                  f"(longest gap {r.longest:.0f} days); a customer with this rhythm goes this quiet "
                  + _how_rarely(rate))
        if seen:
            days, back, _ = explaining_spell(state, params.came_back_days, params.return_memory_days)
            detail += (f"; but they came back from {days} quiet days "
                       f"{(now // DAY - back) / 30.4:.0f} months ago")
        elif own:
            detail += (f", counting a break of theirs: they came back from {own[0]} quiet days "
                       f"{(now // DAY - own[1]) / 30.4:.0f} months ago")
        if lapse is not None and lapse[0] > strength and not seen:
            # A purchase log judged more severely by the shop's verdict than by its own
            # rhythm: the rhythm stays the evidence, the verdict is said beside it.
            strength, alive = lapse
            detail += (f"; of this shop's customers with {len(state.gaps) + 1} purchase days, quiet this long, "
                       f"{_percent(alive)} are still customers")
    return Signal(
        kind="silence",
        strength=strength,
        current=round(quiet, 2),
        baseline=round(r.usual, 2),
        unit="days since last activity",
        window_days=round(quiet, 2),
        detail=detail,
    )


def _percent(p: float) -> str:
    """'about 37 %', 'about 4 %', 'under 1 %'."""
    return "under 1 %" if p < 0.005 else f"about {100 * p:.0f} %"


def purchase_log(state: CustomerState) -> bool:
    """Whether every active day of the customer's kept rhythm (`gaps`) was a day with an order:
    a shop that sends only its orders, or a customer seen only when they buy.

    >>> from detectors.state import CustomerState
    >>> orders = [[d * DAY, 20.0, "EUR", 0, 1, None] for d in (0, 30, 50, 90, 120)]
    >>> purchase_log(CustomerState("c", orders=orders, gaps=[30, 20, 40, 30], last_active_day=120))
    True
    >>> purchase_log(CustomerState("c", orders=orders, gaps=[30, 20, 40, 10, 20], last_active_day=120))
    False
    """
    if not state.gaps or len(state.orders) < len(state.gaps) + 1:     # fewer orders than active days
        return False
    since = state.last_active_day - sum(state.gaps)
    days = {o[0] // DAY for o in state.orders if o[0] // DAY >= since}
    return len(days) >= len(state.gaps) + 1


def returned_until(state: CustomerState, params: SilenceParams = SilenceParams()) -> int:
    """Event time until which the customer's quiet is no longer than a spell they came back
    from (and stayed back at least `came_back_days`) within `return_memory_days`; 0: none.

    >>> s = CustomerState("c", last_active=400 * DAY, last_active_day=400, returned=[150, 250])
    >>> returned_until(s) // DAY        # quiet up to 150 days, i.e. until day 550
    550
    >>> returned_until(CustomerState("c", last_active=400 * DAY, last_active_day=400, returned=[150, 390]))
    0
    """
    return quiet_explained_until(state, params.came_back_days, params.return_memory_days)


def quiet_explained_until(state: CustomerState, came_back_days: int, return_memory_days: int) -> int:
    """`returned_until` with its two settings given: shared with purchase frequency, which
    leaves such a quiet to silence.

    >>> s = CustomerState("c", last_active=500 * DAY, last_active_day=500, returned=[40, 90, 30, 140, 5, 480])
    >>> quiet_explained_until(s, 28, 400) // DAY     # the 40 days leave the memory on day 491; 30 days of quiet
    530
    """
    spell = explaining_spell(state, came_back_days, return_memory_days)
    return spell[2] if spell else 0


def explaining_spell(state: CustomerState, came_back_days: int, return_memory_days: int) -> tuple[int, int, int] | None:
    """(days, day of the return, until when) of the remembered quiet spell that explains the
    customer's quiet for longest, or None: a spell explains a quiet no longer than itself, if
    the customer stayed back at least `came_back_days` after it and it was still in the
    memory when the quiet began."""
    if not state.returned or state.last_active <= 0:
        return None
    best = None
    r = state.returned
    for i in range(0, len(r) - 1, 2):
        days, back = r[i], r[i + 1]
        # remembered when the quiet began (its last activity): it weighs on that quiet to its end
        if state.last_active_day - back < came_back_days or state.last_active_day > back + return_memory_days:
            continue
        until = state.last_active + days * DAY
        if best is None or until > best[2]:
            best = (days, back, until)
    return best


def own_break(state: CustomerState, now: int, params: SilenceParams = SilenceParams(),
              prior: Prior | None = None) -> tuple[int, int, int] | None:
    """(days, day of the return, event time it leaves the memory) of the customer's own
    break, or None: the longest remembered quiet spell (`CustomerState.returned`) they came
    back from and stayed back at least `came_back_days`, still in the memory at `now`, that
    was itself at least as long as the quiet at which silence fires for their rhythm (a
    break, not one of their usual gaps). With one, a quiet is also weighed against breaks of
    that length (`false_alarm_rate`).

    >>> daily = [1] * 30
    >>> s = CustomerState("c", last_active=500 * DAY, last_active_day=500, gaps=daily, returned=[30, 300, 2, 490])
    >>> own_break(s, 510 * DAY)                  # 30 quiet days: beyond a daily visitor's alarm
    (30, 300, 60566400)
    >>> own_break(CustomerState("c", last_active=500 * DAY, last_active_day=500, gaps=daily, returned=[6, 300]), 510 * DAY) is None
    True
    """
    p = params
    r = state.returned
    if not r or state.last_active <= 0 or len(state.gaps) < p.min_gaps:
        return None
    alarm = None
    for i in range(0, len(r) - 1, 2):   # longest first
        days, back = r[i], r[i + 1]
        # A spell still remembered when the quiet began (at its last activity) weighs on that
        # quiet until it leaves the memory or, if later, until the quiet is `own_break_reach`
        # times as long: a yearly holiday that starts a few weeks later than last year's
        # would otherwise lose its reference halfway through.
        if state.last_active_day - back < p.came_back_days or state.last_active_day > back + p.return_memory_days:
            continue
        leaves = max((back + p.return_memory_days + 1) * DAY, state.last_active + math.ceil(p.own_break_reach * days * DAY))
        if now >= leaves:
            continue
        if alarm is None:
            alarm = _crossing(tuple(state.gaps), 1, FIRE, p, None)
            if alarm is None:
                return None
        return (days, back, leaves) if days >= alarm else None
    return None


def breaks_taken(state: CustomerState, params: SilenceParams = SilenceParams(),
                 level: float = FIRE, since: int = 0) -> tuple[tuple[int, int], ...]:
    """(start, end) event times of the remembered quiet spells (`CustomerState.returned`)
    that ended after `since` and were themselves beyond the quiet at which silence reaches
    `level` for the customer's rhythm as it stood before the spell: the whole days between
    the last activity before the spell and the return, when the customer did nothing at
    all. A spell within silence's alarm is one of the customer's usual gaps. Purchase
    frequency leaves these spells out of the time it judges when the customer visits between
    purchases (`purchase_frequency.away_spells`): orders are missed only while they are around.

    >>> s = CustomerState("c", last_active=310 * DAY, last_active_day=310, gaps=[1] * 20 + [30] + [1] * 9,
    ...                   returned=[30, 300])
    >>> [(a // DAY, b // DAY) for a, b in breaks_taken(s)]   # away from day 271 to the return on day 300
    [(271, 300)]
    >>> breaks_taken(CustomerState("c", last_active=310 * DAY, last_active_day=310,
    ...                            gaps=[1] * 20 + [16] + [1] * 9, returned=[16, 300]))   # within their alarm
    ()
    >>> breaks_taken(CustomerState("c", last_active=500 * DAY, last_active_day=500, gaps=[20] * 30,
    ...                            returned=[30, 300]))      # a buyer every 20 days: an order gap
    ()
    """
    r = state.returned
    if not r or state.last_active <= 0:
        return ()
    out = []
    for i in range(0, len(r) - 1, 2):
        days, back = r[i], r[i + 1]
        if back * DAY <= since:
            continue
        gaps = list(state.gaps)
        if days in gaps:
            gaps.remove(days)          # the rhythm as it stood before the spell: not the spell itself
        if days < 2 or len(gaps) < params.min_gaps:
            continue
        alarm = _crossing(tuple(gaps), 1, level, params, None)
        if alarm is not None and days >= alarm:
            out.append(((back - days + 1) * DAY, back * DAY))
    return tuple(out)


def lapse_judged(state: CustomerState, params: SilenceParams = SilenceParams()) -> bool:
    """True when the population's verdict (P(alive)) judges this customer: a short history
    or a purchase log (`purchase_log`), once seen.

    >>> lapse_judged(CustomerState("c", last_active=DAY, gaps=[3]))
    True
    >>> lapse_judged(CustomerState("c", last_active=DAY, gaps=[3] * 10))     # ten gaps of visits
    False
    """
    return state.last_active > 0 and (len(state.gaps) < params.min_gaps or purchase_log(state))


def _lapse(state: CustomerState, quiet: float, p: SilenceParams, prior: Prior | None) -> tuple[float, float] | None:
    """(strength, P(alive)) of the population's verdict on a short history or a purchase log
    (`purchase_log`; from `long_alive_fire`), or None."""
    if prior is None or prior.provisional or not lapse_judged(state, p):
        return None
    alive = p_alive(len(state.gaps), float(sum(state.gaps)), quiet, prior)
    strength = lapse_strength(min(1.0, alive * _lapse_factor(len(state.gaps), p)), p)
    if quiet < p.floor_days:
        strength = min(strength, FIRE - 0.05)
    return strength, alive


def _lapse_factor(n_gaps: int, p: SilenceParams) -> float:
    """Factor on P(alive) before `lapse_strength`: 1 on a short history; on a long one the
    verdict fires at `long_alive_fire` instead of `alive_fire`."""
    return 1.0 if n_gaps < p.min_gaps else p.alive_fire / p.long_alive_fire


def lapse_strength(alive: float, p: SilenceParams = SilenceParams()) -> float:
    """Strength of the population's verdict P(alive) = `alive` on a short history: under
    `FIRE` while the customer is more likely still a customer, `alive_strength` once more
    likely gone than not (`alive_fire`), 1.0 at `alive_full`, log-linear between.

    >>> lapse_strength(0.5), lapse_strength(0.1), lapse_strength(0.02), round(lapse_strength(0.8), 2)
    (0.7, 0.85, 1.0, 0.16)
    """
    if alive >= 1.0:
        return 0.0
    if alive > p.alive_fire:
        return pvalue_strength(alive, p.alive_fire, p.alive_full)
    span = math.log(p.alive_fire / p.alive_full)
    return min(1.0, p.alive_strength + (1.0 - p.alive_strength) * math.log(p.alive_fire / max(alive, 1e-300)) / span)


def _lapse_quiet_at(gaps: tuple[int, ...], level: float, p: SilenceParams, prior: Prior,
                    within: float | None = None) -> float | None:
    """Days of quiet at which the population's verdict first reaches `level`, or None within
    `max_quiet_days` (P(alive) falls monotonically with the quiet: bisection on log days).
    `within`: only a crossing before this many days is wanted (None after it, at the cost of
    one evaluation: the own rhythm's crossing, which a later verdict cannot move)."""
    rise = max(0.0, level - p.alive_strength) / (1.0 - p.alive_strength)
    target = p.alive_fire * (p.alive_full / p.alive_fire) ** rise / _lapse_factor(len(gaps), p)
    x, t_x = len(gaps), float(sum(gaps))
    end = p.max_quiet_days if within is None else min(p.max_quiet_days, within)
    if end <= p.floor_days or p_alive(x, t_x, end, prior) > target:
        return None
    lo, hi = math.log(max(p.floor_days, 1.0)), math.log(end)
    if p_alive(x, t_x, math.exp(lo), prior) <= target:
        return p.floor_days
    while hi - lo > 1e-9:   # ~3 ms at 300 days: sweeps land on the second
        mid = 0.5 * (lo + hi)
        if p_alive(x, t_x, math.exp(mid), prior) <= target:
            hi = mid
        else:
            lo = mid
    return max(p.floor_days, math.exp(hi))


def _quiet_at(r: Rhythm, level: float, p: SilenceParams, own_break_days: float = 0.0) -> float:
    """Days of quiet at which strength first reaches `level` (>= 0.5).

    The false-alarm rate falls monotonically with the quiet, so the crossing is bracketed by
    doubling, then found by regula falsi (Illinois) on the log rate, which is smooth in log
    time: a handful of evaluations of the incomplete beta rather than a bisection's forty.
    """
    span = math.log(p.full_false_alarms_per_month / p.false_alarms_per_month)
    log_target = (math.log(p.false_alarms_per_month) + span * (level - FIRE) / (1 - FIRE)
                  + math.log(budget_scale(r, p)))

    def f(log_t: float) -> float:          # < 0 while the rate is still above the target
        return log_target - math.log(max(false_alarm_rate(r, math.exp(log_t), p, own_break_days), 1e-300))

    lo, hi = math.log(max(p.floor_days, 1.0)), math.log(max(p.floor_days, 1.0))
    f_hi = f(hi)
    if f_hi >= 0:
        return p.floor_days
    while f_hi < 0:
        lo, hi = hi, hi + math.log(2.0)
        f_hi = f(hi)
    hi = first_crossing(f, lo, hi, f(lo), f_hi, 1e-9, 1e-10)
    return max(p.floor_days, math.exp(hi))


@lru_cache(maxsize=1 << 16)
def _crossing(gaps: tuple[int, ...], last_active: int, level: float, params: SilenceParams,
              prior: Prior | None = None, own_break_days: int = 0, purchases: bool = False) -> float | None:
    # A customer's events on one day all leave the gaps unchanged: the search runs once per
    # active day, not once per event. The population's rhythm stands in for a short
    # history's own; its verdict judges short histories and, with `purchases`
    # (`purchase_log`), long ones from `long_alive_fire`.
    lapse_prior = prior if (len(gaps) < params.min_gaps or purchases) and prior is not None \
        and not prior.provisional else None
    if len(gaps) >= params.min_gaps:
        prior = None
    r = rhythm(CustomerState("", last_active=last_active, gaps=list(gaps)), params, prior)
    if r is None:
        return None
    quiet = _quiet_at(r, level, params, own_break_days)
    if lapse_prior is not None and last_active > 0:
        lapse = _lapse_quiet_at(gaps, level, params, lapse_prior, None if prior is not None else quiet)
        if lapse is not None and lapse < quiet:
            quiet = lapse
    return quiet


def threshold_days(state: CustomerState, params: SilenceParams = SilenceParams(),
                   prior: Prior | None = None) -> float | None:
    """Days of quiet at which silence fires for this customer, or None without a baseline.

    >>> round(threshold_days(CustomerState("c", last_active=1, gaps=[7] * 10)), 2)
    30.33
    >>> round(threshold_days(CustomerState("c", last_active=1, gaps=[7] * 4)), 2)   # thinner history
    46.9
    >>> threshold_days(CustomerState("new", gaps=[3])) is None
    True
    >>> round(threshold_days(CustomerState("new", last_active=1), prior=Prior(r=3.0, alpha=27.0)))   # one visit
    35
    """
    return _crossing(tuple(state.gaps), 1 if state.last_active > 0 else 0, FIRE, params, prior,
                     purchases=purchase_log(state))


def next_change(state: CustomerState, now: int, params: SilenceParams = SilenceParams(),
                levels: tuple[float, ...] = (0.5, 0.7, 0.85, 1.0), prior: Prior | None = None) -> int | None:
    """Earliest event time after `now` at which silence strength reaches the next of `levels`.

    Sweeps use it to re-evaluate a quiet customer exactly when their evidence changes.

    >>> s = CustomerState("c", last_active=100 * DAY, gaps=[7] * 10)
    >>> round((next_change(s, 100 * DAY) - 100 * DAY) / DAY, 2)
    30.33
    """
    gaps = tuple(state.gaps)
    seen = returned_until(state, params)
    own = own_break(state, now, params, prior)
    active = 1 if state.last_active > 0 else 0
    purchases = prior is not None and len(gaps) >= params.min_gaps and purchase_log(state)
    for lv in levels:
        quiet = _crossing(gaps, active, lv, params, prior, purchases=purchases)
        if quiet is None or quiet > params.max_quiet_days:
            return None
        t = state.last_active + math.ceil(quiet * DAY)  # ceil: at t the level is reached
        if own:
            # weighed against their own break until it leaves the memory, then as before
            q_own = _crossing(gaps, active, lv, params, prior, own[0], purchases)
            t_own = state.last_active + math.ceil(q_own * DAY) if q_own is not None else math.inf
            t = min(t_own, max(t, own[2]))
        t = max(t, seen)
        if t > now:
            return t
    return None


def explained_until(state: CustomerState, now: int, params: SilenceParams = SilenceParams(),
                    prior: Prior | None = None) -> int:
    """Event time until which what the customer came back from holds silence under its
    alarm: a quiet no longer than a remembered spell (`returned_until`), or, with a break of
    their own (`own_break`), until silence fires against it; 0: never. Purchase frequency
    leaves such a quiet to silence (`purchase_frequency.judged_until`).

    >>> s = CustomerState("c", last_active=500 * DAY, last_active_day=500, gaps=[1] * 30, returned=[30, 300])
    >>> returned_until(s) // DAY, explained_until(s, 510 * DAY) // DAY
    (530, 581)
    """
    until = returned_until(state, params)
    own = own_break(state, now, params, prior)
    if own:
        quiet = _crossing(tuple(state.gaps), 1, FIRE, params, None, own[0])
        if quiet is not None:
            until = max(until, min(state.last_active + math.ceil(quiet * DAY), own[2]))
    return until


def _how_rarely(rate: float) -> str:
    """"about once in N months" (in years from ten years on) for a rate per month, in words
    a reader can weigh.

    >>> _how_rarely(1 / 47), _how_rarely(1 / 347), _how_rarely(1 / 3_654), _how_rarely(1 / 50_358_566)
    ('about once in 47 months', 'about once in 29 years', 'about once in 300 years', 'less than once in 1,000 years')
    >>> _how_rarely(2.0)
    'every month'
    """
    if rate >= 1:
        return "every month"
    if rate < 1 / 12_000:
        return "less than once in 1,000 years"
    months = 1 / rate
    if months >= 120:
        years = months / 12
        return f"about once in {years:,.0f} years" if years < 100 else f"about once in {round(years, -2):,.0f} years"
    return f"about once in {months:,.0f} months"
