"""Order value drop: the customer's recent baskets are markedly smaller than their usual.

For a retention team this is "trading down": a customer still buys but spends a fraction of
what they used to, often because the rest of the basket now goes to a cheaper rival. It
calls for a targeted offer on what they stopped buying, before the frequency drops too.

What is measured. Placed orders only, one currency at a time (a cross-border customer who
pays in EUR and GBP is compared within each; amounts are never converted). The currency
judged is the one the customer paid in most recently among those with enough orders.
Recent = the last `recent_orders` (3) orders in that currency, or the last two
when those show a drop that fires harder; baseline = up to `baseline_orders` orders before
them, or, for a slow slide, the same number ending `slide_lag` (12) orders before them.
Orders of amount 0 (free replacements, fully discounted) carry no basket size and are left
out.

Amounts are compared on a log scale (basket sizes are skewed; a drop from 800 to 400 and
from 80 to 40 are the same change): ratio r = geometric mean of the recent orders over the
geometric mean of the baseline (medians are shown too), and a two-sample t statistic z =
the difference of mean log amounts over its standard error. The spread behind it is pooled
from both sides (what is tested is a steady customer, whose baskets have one spread): the
baseline's and the recent orders' squared deviations, plus a typical basket spread
(`prior_log_sd`, weight `prior_weight` orders), so a run of unusually similar baskets does
not make the next small one look significant.

The typical spread is the shop's own once it is known: the median of its customers' basket
log-sd (`basket_log_sd`, customers with six orders or more in one currency), computed with
the population fit of each partition (`detectors.population`, every 28 days; within 0.15
and 0.8) and passed in by `detectors.warning.assess` (`with_shop_spread`); `prior_log_sd`
(0.5) until then. A grocery shop's baskets vary less than a furniture store's, and two
pseudo-orders of the wrong spread decide a short history's verdict: a customer of a shop
whose baskets vary by a log-sd of 0.2 who falls from 500-1000 to 200-300 after six orders
is a hint (strength 0.45) against 0.5 and fires against the shop's own.

z is read against Student's t, not the normal: the spread behind it is itself estimated
from a handful of orders (degrees of freedom: both sides' orders less one each, plus the
prior's weight). Read against the normal, four usual baskets of 700-900 and two of about
200 (z = -5.3) looked like a one-in-17-million event; with their 6 degrees of freedom it
is 1 in 1,100. Steady buyers whose basket varies by a log-sd of 0.5 tripped the normal
reading 2.5 to 3.4 times per 1,000 customer-months where z = -3 promises 1.35 (`python -m
streams.order_value_power`); read against t, 0.8 to 1.0.

Until 2026-12-06 the recent side's own spread was used alone whenever it was the wider,
with its own two degrees of freedom (Welch-Satterthwaite): a test made more cautious by
the customer's three newest baskets, and less sensitive the tighter their usual baskets
were (seven baskets of 645-1009 followed by 246, 326 and 362 read P = 0.0011 against the
typical spread 0.5, 0.00009 against 0.25 and 0.0018 against 0.2). Pooled, the same
baskets read 0.0004, 0.00003 and 0.00002. `python -m streams.order_value_power --gaps
14,30,55`: baskets sliding from 750 to 250 over two weeks to nine months were warned 4 to 45
days sooner, buyers every 55 days 42 to 57 times in 60 instead of 18 to 45; steady buyers
(log-sd 0.3 and 0.5) fired in 0 to 0.96 months per 1,000 instead of 0 to 0.55, and buyers
whose basket wanders by 5 % an order in 0 to 2.6 instead of 0 to 0.41.

Defaults, and why:

* `recent_orders` 3, `min_recent` 2, `min_baseline` 4, `baseline_orders` 12: one small
  basket is an errand, two or three in a row are a pattern; four to twelve earlier orders
  give a usual basket that one outlier cannot move far. Both windows, two and three, are
  tried, each at half the false-alarm budget (`_best`): judged on three only, the brief's
  500-1000 falling to 200-300 waited for the third small order, and a trade-down who
  leaves after two was never warned by it.
* `slide_lag` 12: a basket that shrinks a little with every order (750 falling to 250 over
  six to nine months) drags the sliding baseline down with it: each comparison sees a small
  step, and fortnightly buyers sliding like that were warned in 11 and 4 of 60 simulated
  cases (`python -m streams.order_value_power`). The last three orders are therefore also
  held against the usual basket of the twelve orders before the last fifteen (once the
  currency has 19 orders), a third window sharing the false-alarm budget with the other
  two: 60 of 60 were warned, about as soon as the slide had gone far enough (with z read
  against the normal; against Student's t 52 to 60 of 60, weeks later for monthly buyers).
  Buyers with stable baskets tripped it about as rarely as before (log-sd 0.5: 3.0 -> 3.4,
  3.2 -> 3.2, 2.2 -> 2.5 firing months per 1,000 for weekly, fortnightly, monthly buyers,
  under the normal reading); buyers whose basket wanders year over year (a random walk of
  5 % per order) trip it more (3.4 -> 6.2, 2.3 -> 3.2, 1.9 -> 3.3): for them too, baskets
  40 % smaller than a dozen orders before are a lasting change in what they buy here.
* `slide_recent` 6: once a slide has settled, the last six orders are also held against
  the twelve before the last eighteen (a fourth window, sharing the budget). Three baskets
  at half of the usual one, against a dozen before the slide, often stay under the alarm
  (z read against Student's t with the spread estimated); six rarely do. `python -m
  streams.order_value_power --end 375 --gaps 11,14,30`: buyers every 11 or 14 days of
  baskets around 750 (log-sd 0.2) sliding to 375 over two weeks to six months were warned
  48-56 times in 60 instead of 30-41 (over nine months 20 and 51 instead of 7 and 24);
  monthly buyers, whose six orders take half a year, as before within one. Sliding to 250,
  the same counts except monthly over six months, 49 instead of 52. Stayers' firing months
  per 1,000 stayed at most 0.55 in every row (wandering baskets 0 -> 0.14 and 0.27, monthly
  0.14 -> 0.41).
* `lasting_recent` 6: a step down that lasts. The two- and three-order windows judge a step
  by its first smaller baskets. When those are not yet beyond the alarm (wide baskets, or a
  first smaller basket only half-way down), the next ones join those windows' baseline and
  the step is never read at full depth again: the small baskets are held against each
  other. The slow-slide windows see it, but only from 19 and 22 orders, a year and a half
  of a monthly buyer's history. So the last six orders are also held against the twelve
  just before them, one more window sharing the false-alarm budget, once at least
  `lasting_min_baseline` (8) orders come before them and until the six-order slow-slide
  window can be tried (22 orders; its baseline, further back, shows a step as well). With
  four orders before them it mostly held a step's first baskets against each other and
  took budget from the windows that judge those: buyers every 55 days stepping down were
  warned 6, 3 and 3 times in 60 instead of 8, 7 and 5; tried beside the slow-slide windows,
  fortnightly buyers lost up to three in 60. `python -m streams.order_value_power --gaps
  14,30,55 --end 300`: monthly buyers of baskets around 750 falling to 300 over two weeks to
  nine months were warned 55, 57, 56, 51 and 44 times in 60 instead of 48, 46, 40, 33 and
  41; buyers every 55 days sliding over six and nine months 8 and 22 instead of 6 and 12,
  their steps as before; fortnightly buyers as before. `--end 375 --gaps 11,14,30`: monthly
  buyers 32, 40, 41, 25, 26 instead of 31, 25, 15, 5, 21; every 11 and 14 days as before.
  Stayers' firing months per 1,000 are the same in every row but one (monthly, log-sd 0.5:
  0.41 -> 0.27).
* `max_ratio` 0.6: a 40 % smaller typical basket is a real change in what the customer buys
  here, not noise (household baskets vary by about +-30 %).
* `max_z` -3: the drop must also be unusual against this customer's own spread. The test
  is repeated on every new order, and with a two-sigma rule about 2 % of simulated steady
  customer-months fired (baskets with a log-sd of 0.2 to 0.6); three sigmas and the
  shrunk variance brought that to about 0.2 % (under the normal reading), while 500-1000
  falling to 200-300 after a year of orders still gives z below -4.
* ... for a customer who orders every `reference_gap_days` (30) or less often. Repeated on
  every order, one z would give a weekly buyer four chances a month to cross it and a
  monthly buyer one: steady weekly buyers (log-sd 0.5) tripped it about 8 times per 1,000
  customer-months, monthly ones 1.6. The tail probability that fires is therefore that of
  -3 times the usual gap between the baseline's orders over 30 days (`z_fire`: -3.2 for a
  buyer every two weeks, -3.4 weekly, for one window; -3.4 and -3.6 for each of the two
  windows tried, see `_best`), so frequent buyers have the false alarms of a
  monthly one (2.7 per 1,000 months for the weekly buyers above, under the normal
  reading); a rarer buyer is held to -3 as before, not loosened. These are the tail
  probabilities of -3 and its shares; the z that reaches them depends on the degrees of
  freedom (below).
* `prior_log_sd` 0.5 with `prior_weight` 2: household baskets typically vary by a factor of
  about 1.6 either way (the value until the shop's own spread is known, see above); two
  pseudo-orders keep four similar baskets from vouching for a tiny spread, and let the
  customer's own spread dominate soon after. (Six, when z was read
  against the normal, stood in for the uncertainty of a short history that Student's t now
  carries; with both, the brief's 500-1000 falling to 200-300 after eight monthly orders
  was warned in 73 % of cases instead of 94 %, for no fewer false warnings on the
  simulated or outside populations, see docs/quality.md.)
* `min_log_sd` 0.1: a customer who always spends exactly 50.00 would otherwise make a
  change of a few cents significant.
* strength 0.5 at `max_ratio`, 1.0 at `full_ratio` 0.25 (a quarter of the usual basket).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from statistics import NormalDist, median

from detectors.signal import FIRE, Signal, betainc
from detectors.state import DAY, CustomerState, placed_orders

KIND = "order_value_drop"
_NORMAL = NormalDist()


@dataclass(frozen=True)
class OrderValueParams:
    recent_orders: int = 3        # orders forming the recent basket
    slide_lag: int = 12           # a slow slide: the recent basket also against the usual one this many orders earlier (0: off)
    slide_recent: int = 6         # ... and the last this many orders against the usual one as far before them (0: off)
    lasting_recent: int = 6       # a step that lasts: the last this many orders against those just before them (0: off)
    lasting_min_baseline: int = 8  # ... when at least this many orders come before them
    min_recent: int = 2           # fewer recent orders than this: no verdict
    baseline_orders: int = 12     # at most this many earlier orders form the usual basket
    min_baseline: int = 4         # fewer baseline orders than this: no verdict
    max_ratio: float = 0.6        # geometric-mean ratio at which the signal fires
    full_ratio: float = 0.25      # ratio at which strength reaches 1.0
    max_z: float = -3.0           # and the drop must be at least this many standard errors ...
    # ... at a usual gap of `reference_gap_days`; for a customer who orders more often, as many
    # more standard errors as keep the false alarms per month the same (see the module docstring)
    reference_gap_days: float = 30.0
    min_gap_days: float = 1.0     # the usual gap counted as at least this (same-day orders)
    prior_log_sd: float = 0.5     # typical log-sd of a customer's baskets, before data
    prior_weight: float = 2.0     # weight of that prior, in orders
    min_log_sd: float = 0.1       # floor of the log-sd used (about +-10 %)


@dataclass(frozen=True)
class _Comparison:
    currency: str
    first_recent: int
    last_time: int
    recent: list[float]
    baseline: list[float]
    ratio: float
    z: float
    mean_log_recent: float
    mean_log_baseline: float
    z_fire: float = -3.0          # z at which it fires, for this customer's usual gap
    lag: int = 0                  # orders left out between the baseline and the recent ones
    dof: float = math.inf         # degrees of freedom of the pooled spread behind z
    tail: float = 0.5             # one-sided P of a z this low, from Student's t with `dof`

    @property
    def z_normal(self) -> float:
        """The standard normal z with the same tail: what is held against `z_fire`."""
        if self.z >= 0.0 or math.isinf(self.dof):
            return self.z
        return _NORMAL.inv_cdf(max(self.tail, 1e-300))


def _sizes(n: int, p: OrderValueParams) -> tuple[int, int] | None:
    """(recent, baseline) orders compared out of `n` in one currency, or None: too few."""
    if n < p.min_recent + p.min_baseline:
        return None
    n_recent = min(p.recent_orders, n - p.min_baseline)
    if n_recent < p.min_recent:
        return None
    return n_recent, min(p.baseline_orders, n - n_recent)


def _best(amounts: list[tuple[int, float]] | tuple[tuple[int, float], ...], currency: str,
          p: OrderValueParams) -> _Comparison | None:
    """The comparison judged: the last `recent_orders` orders against those before, or, when
    fewer recent orders (down to `min_recent`) or the usual basket of `slide_lag` orders
    earlier show a drop that fires, the one that fires hardest. Two small baskets in a row
    are already a pattern; waiting for the third cost a customer who trades down and soon
    leaves the whole warning. A basket that shrinks over months drags the sliding baseline
    down with it, so only the earlier one shows the fall; once it has settled lower, the last
    `slide_recent` orders show it more surely than three. A step that has lasted
    `lasting_recent` orders is also held against the orders just before them. Each window's threshold is divided
    among the windows tried (Bonferroni), so looking more than once does not add false
    alarms."""
    sizes = _sizes(len(amounts), p)
    if sizes is None:
        return None
    tried = [(k, 0) for k in range(p.min_recent, sizes[0] + 1)]
    n = len(amounts)
    # (until the six-order slow-slide window can be tried: its baseline, further back, shows a step as well)
    if p.lasting_recent > sizes[0] and n >= p.lasting_recent + p.lasting_min_baseline and not (
            p.slide_lag > 0 and p.slide_recent == p.lasting_recent
            and n >= p.slide_recent + p.slide_lag + p.min_baseline):
        tried.append((p.lasting_recent, 0))
    if p.slide_lag > 0:
        for k in (p.recent_orders, p.slide_recent):
            if k > 0 and len(amounts) >= k + p.slide_lag + p.min_baseline and (k, p.slide_lag) not in tried:
                tried.append((k, p.slide_lag))
    if len(tried) == 1:
        return _compare(amounts, currency, p)
    comparisons = [_compare(_skipping(amounts, k, lag), currency, p, k, len(tried), lag) for k, lag in tried]
    firing = [(strength_of(c.ratio, c.z_normal, p, c.z_fire), len(c.recent), -c.lag, c) for c in comparisons]
    firing = [f for f in firing if f[0] >= FIRE]
    if firing:
        return max(firing, key=lambda f: f[:3])[3]
    return next(c for c in reversed(comparisons) if c.lag == 0 and len(c.recent) <= sizes[0])


def _skipping(amounts: tuple[tuple[int, float], ...] | list[tuple[int, float]], n_recent: int,
              lag: int) -> tuple[tuple[int, float], ...] | list[tuple[int, float]]:
    """The orders with the `lag` ones before the last `n_recent` left out."""
    if not lag:
        return amounts
    return tuple(amounts[:len(amounts) - n_recent - lag]) + tuple(amounts[-n_recent:])


def _compare(amounts: list[tuple[int, float]] | tuple[tuple[int, float], ...], currency: str, p: OrderValueParams,
             n_recent: int | None = None, windows: int = 1, lag: int = 0) -> _Comparison | None:
    """The last `n_recent` orders (the most the sizes allow if None) against up to
    `baseline_orders` before them, at a threshold shared by `windows` windows tried."""
    sizes = _sizes(len(amounts), p)
    if sizes is None:
        return None
    n_recent = sizes[0] if n_recent is None else n_recent
    recent = [a for _, a in amounts[-n_recent:]]
    baseline = [a for _, a in amounts[-n_recent - p.baseline_orders:-n_recent]]
    log_r = [math.log(a) for a in recent]
    log_b = [math.log(a) for a in baseline]
    mean_r = sum(log_r) / len(log_r)
    mean_b = sum(log_b) / len(log_b)
    dof_b = len(log_b) - 1
    var_b = (sum((x - mean_b) ** 2 for x in log_b) + p.prior_weight * p.prior_log_sd ** 2) / (dof_b + p.prior_weight)
    ss_r = sum((x - mean_r) ** 2 for x in log_r)
    dof = dof_b + p.prior_weight + len(log_r) - 1
    var = max((var_b * (dof_b + p.prior_weight) + ss_r) / dof, p.min_log_sd ** 2)
    z = (mean_r - mean_b) / math.sqrt(var * (1.0 / len(log_r) + 1.0 / len(log_b)))
    base_times = amounts[-n_recent - len(baseline)][0], amounts[-n_recent - 1][0]
    gap_days = (base_times[1] - base_times[0]) / DAY / (len(baseline) - 1)
    return _Comparison(currency, amounts[-n_recent][0], amounts[-1][0], recent, baseline, math.exp(mean_r - mean_b), z,
                       mean_r, mean_b, z_fire(gap_days, p, windows), lag, dof, t_tail(z, dof))


def t_tail(z: float, dof: float) -> float:
    """P(T <= z) for Student's t with `dof` degrees of freedom, z <= 0 (0.5 above).

    >>> round(t_tail(-3.0, 9), 4), round(t_tail(-3.0, 1e9), 5)
    (0.0075, 0.00135)
    """
    if z >= 0.0:
        return 0.5
    return 0.5 * betainc(dof / 2.0, 0.5, dof / (dof + z * z))


def z_fire(gap_days: float, params: OrderValueParams = OrderValueParams(), windows: int = 1) -> float:
    """The z at which a drop fires for a customer whose usual gap between orders is `gap_days`.

    The test runs again at every order, so a weekly buyer would have four chances a month to
    cross a fixed z and a monthly buyer one: the tail probability that fires is `max_z`'s
    (0.00135 for -3) times the usual gap over `reference_gap_days`, so every customer who
    orders at least that often has the same false alarms per month. It is never looser than
    `max_z`: a rare buyer's few baskets are judged at -3 as before. With `windows` recent
    windows tried (see `_best`), each gets that tail probability over `windows`.

    >>> z_fire(30.0), round(z_fire(7.0), 2), z_fire(90.0), round(z_fire(30.0, windows=2), 2)
    (-3.0, -3.42, -3.0, -3.21)
    """
    p = params
    gap = max(p.min_gap_days, gap_days)
    if gap >= p.reference_gap_days and windows == 1:
        return p.max_z
    share = min(1.0, gap / p.reference_gap_days) / windows
    return _NORMAL.inv_cdf(_NORMAL.cdf(p.max_z) * share)


def strength_of(ratio: float, z: float, params: OrderValueParams = OrderValueParams(),
                fire_at: float | None = None) -> float:
    """Strength of a basket ratio `ratio` (recent / usual) with significance `z`, which fires
    at or below `fire_at` (`max_z` if not given; see `z_fire`).

    >>> strength_of(0.6, -3.0), strength_of(0.25, -9.0), strength_of(0.6, -2.9)
    (0.5, 1.0, 0.45)
    >>> round(strength_of(0.8, -3.0), 3), strength_of(1.2, 1.0)
    (0.25, 0.0)
    """
    p = params
    below = FIRE - 0.05
    if ratio <= p.max_ratio:
        if z > (p.max_z if fire_at is None else fire_at):
            return below
        if ratio <= p.full_ratio:
            return 1.0
        return min(1.0, FIRE + 0.5 * (p.max_ratio - ratio) / (p.max_ratio - p.full_ratio))
    if ratio >= 1.0:
        return 0.0
    return min(below, FIRE * (1.0 - ratio) / (1.0 - p.max_ratio))


def evaluate(state: CustomerState, now: int, params: OrderValueParams = OrderValueParams()) -> Signal | None:
    """The order value signal, or None without enough orders in any one currency.

    The verdict changes only with new orders; `now` only sets `window_days` (from the first
    recent order to now).

    Examples
    --------
    A monthly buyer whose baskets of 500-1000 fall to 200-300:

    >>> from detectors.state import CustomerState
    >>> usual = [500, 900, 650, 1000, 700, 800, 600, 950, 550, 850, 750, 800]
    >>> recent = [250, 200, 300]
    >>> s = CustomerState("c", orders=[[i * 30 * DAY, float(a), "EUR", 0, 1, None]
    ...                                for i, a in enumerate(usual + recent)])
    >>> sig = evaluate(s, 300 * DAY)
    >>> sig.fires, round(sig.current), round(sig.baseline), sig.unit
    (True, 247, 738, 'EUR per order')
    """
    by_currency: dict[str, list[tuple[int, float]]] = {}
    for o in placed_orders(state):
        if o[1] > 0:
            by_currency.setdefault(o[2], []).append((o[0], o[1]))
    # The currency judged: newest last order, then more orders compared, then the name. Which
    # one that is follows from the order counts alone, so only its comparison is computed.
    judged = None
    for cur, amounts in by_currency.items():
        sizes = _sizes(len(amounts), params)
        if sizes is not None:
            rank = (amounts[-1][0], sizes[0] + sizes[1], cur)
            if judged is None or rank > judged[0]:
                judged = (rank, cur, amounts)
    if judged is None:
        return None
    amounts = tuple(judged[2])
    first_recent, strength, current, baseline, detail = _verdict(amounts, judged[1], params)
    if state.level > 0 and KIND in state.kinds and state.raised_at:
        # While its warning is open, the recent orders are also held against the baskets
        # before it (see `_anchored`): otherwise, once the sliding baseline is made of the
        # smaller baskets, a customer who never came back reads as recovered and clears.
        held = _anchored(amounts, judged[1], state.raised_at, params)
        if held is not None and held[1] > strength:
            first_recent, strength, current, baseline, detail = held
    window_days = max(0, now - first_recent) / 86_400
    return Signal(
        kind=KIND,
        strength=strength,
        current=current,
        baseline=baseline,
        unit=f"{judged[1]} per order",
        window_days=round(window_days, 2),
        detail=detail,
    )


# Every assessment (sweeps included) asks for the verdict, which changes only with the
# orders judged: kept for the recently assessed order histories (the time shown in
# `window_days` is the only part that depends on `now`).
@lru_cache(maxsize=4096)
def _verdict(amounts: tuple[tuple[int, float], ...], currency: str,
             params: OrderValueParams) -> tuple[int, float, float, float, str]:
    """(first recent order time, strength, current, baseline, detail) of one currency's orders."""
    c = _best(amounts, currency, params)
    return _summary(c, params, f" the last {c.lag + len(c.recent)}" if c.lag else "")


def _summary(c: _Comparison, params: OrderValueParams, before: str) -> tuple[int, float, float, float, str]:
    """(first recent order time, strength, current, baseline, detail) of a comparison."""
    strength = strength_of(c.ratio, c.z_normal, params, c.z_fire)
    # The same sums of logs as the comparison's means: bit for bit what summing them again gives.
    geo_recent = math.exp(c.mean_log_recent)
    geo_base = math.exp(c.mean_log_baseline)
    detail = (f"last {len(c.recent)} orders typically {geo_recent:,.2f} {c.currency} "
              f"(median {median(c.recent):,.2f}) against {geo_base:,.2f} "
              f"(median {median(c.baseline):,.2f}) over the {len(c.baseline)} before{before}: "
              f"{c.ratio:.0%} of usual, z={c.z:.1f} (P={c.tail:.2g})")
    return c.first_recent, strength, round(geo_recent, 2), round(geo_base, 2), detail


@lru_cache(maxsize=4096)
def _anchored(amounts: tuple[tuple[int, float], ...], currency: str, raised_at: int,
              params: OrderValueParams) -> tuple[int, float, float, float, str] | None:
    """`_verdict` of the recent orders against the usual basket before the warning: the
    orders before the ones that were recent when it was raised (at `raised_at`); None while
    no order has come since the raise (the sliding verdict is that one) or without enough
    orders before it."""
    p = params
    at_raise = sum(1 for t, _ in amounts if t <= raised_at)
    if at_raise == len(amounts):
        return None
    before = amounts[:max(0, at_raise - p.recent_orders)]
    if len(before) < p.min_baseline:
        return None
    c = _compare(before[-p.baseline_orders:] + amounts[-p.recent_orders:], currency, p)
    return None if c is None else _summary(c, p, " the warning")


def basket_log_sd(state: CustomerState, params: OrderValueParams = OrderValueParams()) -> float | None:
    """The spread (sample log-sd) of the customer's baskets in the currency they ordered in most,
    over their last `baseline_orders` + `recent_orders` orders there; None with fewer than
    `min_baseline` + `min_recent` such orders. The shop's typical spread, the median of its
    customers' (`detectors.population`), stands in for `prior_log_sd`.

    >>> s = CustomerState("c", orders=[[i * DAY, a, "EUR", 0, 1, None] for i, a in
    ...                                enumerate([100.0, 110.0, 90.0, 100.0, 120.0, 80.0])])
    >>> round(basket_log_sd(s), 3), basket_log_sd(CustomerState("n")) is None
    (0.143, True)
    """
    by_currency: dict[str, list[float]] = {}
    for o in placed_orders(state):
        if o[1] > 0:
            by_currency.setdefault(o[2], []).append(o[1])
    if not by_currency:
        return None
    amounts = max(by_currency.items(), key=lambda kv: (len(kv[1]), kv[0]))[1]
    if len(amounts) < params.min_baseline + params.min_recent:
        return None
    logs = [math.log(a) for a in amounts[-(params.baseline_orders + params.recent_orders):]]
    mean = sum(logs) / len(logs)
    return math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))


def with_shop_spread(params: OrderValueParams, shop_log_sd: float) -> OrderValueParams:
    """`params` with the shop's typical basket spread as the prior (0: none known, `params` as is).

    >>> with_shop_spread(OrderValueParams(), 0.3).prior_log_sd, with_shop_spread(OrderValueParams(), 0.0).prior_log_sd
    (0.3, 0.5)
    """
    if not shop_log_sd or shop_log_sd == params.prior_log_sd:
        return params
    return _replaced(params, shop_log_sd)


@lru_cache(maxsize=64)
def _replaced(params: OrderValueParams, prior_log_sd: float) -> OrderValueParams:
    return replace(params, prior_log_sd=prior_log_sd)


def next_change(state: CustomerState, now: int, params: OrderValueParams = OrderValueParams()) -> int | None:
    """Always None: the order value verdict changes only when an order arrives.

    >>> next_change(CustomerState("c"), 0) is None
    True
    """
    return None
