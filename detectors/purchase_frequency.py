"""Purchase frequency drop: the customer buys less often than their own rhythm predicts.

For a retention team this is the classic early churn sign of a repeat buyer: someone who
ordered every two months has ordered once in six, or has not ordered for far longer than
they ever used to. It usually shows weeks before the customer goes silent, while a win-back
offer can still land.

What is measured. Only placed orders count (cancellations and returns are friction, see
`detectors.complaints`), and several orders on one calendar day count as one purchase (a
split basket is not a second visit). The customer's rhythm is the list of gaps, in days,
between their purchases.

The test. "Only j orders in the last T days" is the same statement as "the last j + 1 gaps
(the still-open one included) together took T days or more". For a Poisson buyer with known
rate that probability is exactly the Poisson lower tail P(X <= j | mu = rate x T). Two
things make the plain Poisson tail wrong for real customers, and the test corrects both:

* Many buyers are far more regular than Poisson (a 60-day subscription-like rhythm) and some
  less (bursty buyers). Gaps are modelled as gamma distributed with the customer's own
  squared coefficient of variation `d` (d = 1 is Poisson), shrunk towards `prior_cv2` with
  the weight of `prior_gaps` pseudo-gaps so that three lucky gaps do not look like a clock.
* The rate is estimated from a handful of gaps. The test uses the predictive distribution
  (rate uncertainty integrated out), so a thin history needs a longer drought to fire.

With gaps g_1..g_n summing to S and shape k = 1/d, the tail is
P(j + 1 gaps >= T) = I_{S / (S + T)}(n k, (j + 1) k), the regularized incomplete beta.
j = 0 is "overdue" (no order since the last one), j = 1, 2 are "orders still trickling in,
far too slowly"; the smallest tail is reported, multiplied by the number of j tried.

A break they have taken before. A customer who is away altogether (no visit, no order)
misses orders too, and a weekly buyer away for a month reads as P ~ 1e-6 here. Total quiet
is silence's to judge: it weighs the quiet against the breaks everyone takes and against
the spells this customer came back from (`silence.explained_until`). While those hold
silence under its alarm, the orders are judged only up to the end of the customer's last
visit's usual pace (`judged_until`): orders missed while they were still around count, the
quiet after it does not; once silence no longer explains the quiet, it counts in full (the
sweep looks again at that time). The evidence says so ("judged up to 12 of the 40 days since
their last activity: the days after are left to silence"). Without a spell to come back from, nothing changes: a first holiday is judged
as before.

Days away altogether. Once the customer is back, the windows still hold the spell they were
away: a weekly buyer back from a month with no visit at all has "not ordered for 35 days"
a few days after the return, and "1 order in 40 days" a week after ordering again. A spell
the customer came back from that was itself beyond silence's alarm for their rhythm as it
stood before it (`silence.breaks_taken`) is left out of every window (`away_in_windows`):
the test counts the days they were around ("no order for 36 days, 31 of them away
altogether"). Only once they are back (active on two days after the day of the return,
`away_back_days`: a last look at the shop before leaving is not a return) and only for
customers who visit between purchases (active days at least a third more often than
purchases, `away_visit_ratio`): for one whose active days are their purchases, a spell is
an order gap, the very thing the test judges. Until the return is confirmed, the first
visit back is no verdict either way: while no warning is open (the quiet raised nothing:
it was like the breaks they have taken before), the spell is left out for `away_back_days`
+ 1 of the customer's usual gaps between active days after the return, two weeks at most
(`return_pending`), and counts in full if no second visit comes by then. A customer back
from the yearly month away that silence knew to expect was warned `critical` at the login
that showed them back ("no order for 33 days"); a warning the quiet raised is still judged
in full at that login, so a last look never clears it.

A drought answered. A warning of level `warning` or above that carried this signal and
cleared after an order keeps that order (`CustomerState.answered`, `answered_gaps`): the
drought it ended was judged while it lasted and published, and the customer answered it.
Until they are late again by the overdue test's guard (twice the usual gap since that
order), the trickle tests leave that gap out of their windows, its days and the gap itself.
A fortnightly buyer back from 56 days without an order was otherwise warned again with "1
order in the last 70 days" fourteen days after the order that cleared the warning, when
the next order was merely due: a raise, a clearing and a raise for one drought. Once they
are that late, a customer still buying as slowly is judged on all of it again. The risk
score's ranking always weighs the drought (`evaluate(answered=False)`, `warning.assess`).

Bigger baskets. A customer who starts buying three or four times the basket once a month,
where they bought every week, spends as before in fewer orders: stocking up, a bigger pack,
a household that now shops in one go. Counted in orders, that reads as a collapse of their
rhythm ("2 orders in the last 107 days; usually 11"). Each test therefore weighs the window's
purchases by what they are worth in usual baskets (`_value_factor`): the geometric mean of
the amounts of the window's purchases, and never fewer than the last `value_min_window`
(2), over that of the baseline's purchases before them (the ones that opened its gaps), in
the same currency, taken at its lower bound (`value_z` 2 standard errors, the baseline's
log spread shrunk towards `value_prior_log_sd` as in `detectors.order_value`), and only
when that bound is above 1. The window is then judged as if it were that many times
shorter, both in the tail and in the ratio guards. The evidence says so: "no order for 90
days; usually one every 9 days; the last 2 baskets were worth at least 2.2 usual ones each,
so judged as 40 days". One big basket is not a new habit: a leaver's last order is
sometimes two to five times their usual basket by chance, and counted alone it put off
three warnings of leavers on the simulated year by days to weeks (docs/quality.md, "Bigger
baskets, fewer orders"); beside the basket before it, a last order of about twice the usual one
changes the verdict by a day at most. One bigger basket stands for four usual ones at most
(`max_value_factor`), so bulk orders postpone the verdict, never cancel it. Smaller baskets
never make the test fire sooner: order value judges them. Orders without amounts (a
purchase log) and baskets in a currency without usual baskets are counted as orders, as
before.

One basket worth many. A customer who paid a month at a time and now pays for the year, or
who bought a case and now buys a pallet, sends one order where there were seven or ten, and
then, for months, smaller ones or none. Weighed with the basket before it and capped at four
usual ones, that invoice put off the verdict by weeks, not by the months it paid for. So a
purchase that is worth at least two usual baskets on its own (`_covers`: its amount against
the baskets before it, at the same lower bound, in whole baskets, at most `max_cover`) is
taken to cover the usual gaps of the baskets it stands for: a basket worth at least seven
usual ones covers the six usual gaps after its own. The days it covers are left out of
every window that reaches into them, and the trickles wait until the customer is late after
them, as they wait after any fresh order; of the two readings of bigger baskets, the one
that judges the shorter window counts. The evidence says so: "no order for 200 days;
usually one every 30 days; the basket of 2026-01-20 was worth at least 7 usual ones, so the
180 days it covers are left out: judged as 20 days". To be worth two usual baskets at the
lower bound, a basket must be about 2.7 times the usual amount for a customer whose baskets
hardly vary, and 5.6 times for one whose baskets spread by a factor of 1.6 (log sd 0.5);
a leaver's last basket of twice the usual one covers nothing.

Defaults, and why:

* `min_orders` 6 over `min_history_days` 90: five gaps spanning at least a quarter before the
  rhythm is judged. With four orders, three gaps of a Poisson buyer often look regular and
  short by chance ("one every 18 days" for a customer who buys every two months); in the
  simulated steady population such early verdicts were a fifth of the false alarms.
* `false_alarms_per_month` 0.0004: the tail probability that fires is this budget times the
  usual gap in months, so frequent and rare buyers get the same false alarm rate per month
  (a weekly buyer has four chances a month to look overdue, a bimonthly buyer one in two).
  A customer who bought every 60 days for a year, then once, and nothing for 150 days
  fires (strength 0.56). On simulated steady populations (Poisson and more regular
  buyers with holiday breaks, tests/unit/test_detector_contract.py) this gave about 5
  firing customer-months per 1,000 (2 to 9 between populations of 300); halving the
  budget removes only a fifth of those, as they are genuine long droughts of Poisson buyers.
* `prior_cv2` 0.4 with `prior_gaps` 1: repeat buyers are usually more regular than Poisson;
  one pseudo-gap keeps a perfectly regular history from claiming certainty.
* `max_ratio` 0.5: never fire "overdue" (j = 0) before twice the usual gap, however regular
  the customer: a 30-day buyer at day 45 is late, not leaving.
* `max_trickle_ratio` 0.35: a trickle fires only once its j orders are at most 35 % of those
  usual over the window: "1 order in six months" of a bimonthly buyer (1 of 3) may fire,
  "1 in four months" (1 of 2) may not. (The overdue test's guard applied to trickles, j + 1
  usual gaps per order, held "1 order in 110 days" of a clockwork monthly buyer, P = 8e-5,
  under the alarm until day 120; on the 10,000-customer simulated year the change moved no
  warning, on the outside population one first warning by six days.)
* `floor_days` 28: nor before four weeks without the orders: a very regular weekly buyer
  back from a two-week holiday has gone three weeks without an order, and that is not a
  churn sign. Counted in whole days after the day of the window's first purchase (UTC): a
  customer with a weekly habit who skipped three weeks comes back on the same weekday four
  weeks later, often a little later in the day than their last order, and the floor
  counted from the hour of that order was crossed minutes before the return; the first page
  view of the session raised the warning and the order a minute later cleared it (7 of the
  28 warnings at `warning` or above that the seventh outside population saw cleared within
  the hour of their raise, docs/quality.md).
* `max_trickle` 2: up to two orders in the window ("1 order in 6 months, usually 3").
* `away_visit_ratio` 0.75: a spell away is left out only if the customer's active days
  (outside spells) come at most 0.75 times the usual gap between purchases apart. A
  customer who logs in only to buy has a ratio of about 1, and their long gaps stay
  evidence. `away_back_days` 2: the spell is left out from the second active day after
  the return. Leavers often look in once more after a long quiet; with the single visit
  taken for a return, simulated drifters' purchase-frequency warnings were lost and a
  lured customer's warning was cleared by that last look.
* `value_z` 2 with `max_value_factor` 4: on the fourth outside population, stayers who
  buy a third as often in baskets three times as big drew 30 false warnings in 1,166
  customer-months; with the baskets weighed, 12. Its leavers after a price rise (baskets
  1.1-1.2 times the usual, a last one sometimes twice) were all warned, 21 of 23 at the same
  time and two 1 and 6 days later. At z = 1.5 (with the last basket alone for "no order
  since") one false warning fewer and the price-rise leavers' median first warning nine days
  later (docs/quality.md, "Bigger baskets, fewer orders").
* `max_cover` 13: one basket stands for at most thirteen usual ones (a year of monthly
  invoices and one to spare), so a one-off purchase of a hundred times the usual basket puts
  the verdict off by a year of the customer's usual gaps, not for good.
* strength 0.5 at the firing probability, 1.0 at a hundred times smaller.
"""

from __future__ import annotations

import math
import struct
from datetime import datetime, timezone
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

from detectors.signal import FIRE, Signal, betainc as _betainc, first_crossing, pvalue_strength
from detectors import silence
from detectors.state import DAY, PLACED, CustomerState, placed_orders

KIND = "purchase_frequency_drop"


@dataclass(frozen=True)
class PurchaseFrequencyParams:
    min_orders: int = 6                    # purchases (distinct days) before judging
    min_history_days: float = 90.0         # days from first to last judged purchase
    max_gaps: int = 32                     # most recent gaps used as the rhythm
    prior_cv2: float = 0.4                 # squared CV of gaps assumed before data (1 = Poisson)
    prior_gaps: float = 1.0                # weight of that assumption, in gaps
    min_cv2: float = 0.05                  # no rhythm is treated as more regular than this
    max_cv2: float = 4.0                   # nor as more bursty than this
    false_alarms_per_month: float = 0.0004  # tail probability budget per month of gaps
    max_p_fire: float = 0.05               # never fire on a tail probability above this
    full_factor: float = 100.0             # strength 1.0 at p_fire / full_factor
    max_ratio: float = 0.5                 # fire only if (j + 1) x usual gap / T <= this (overdue, j = 0)
    max_trickle_ratio: float = 0.35        # ... or, for j >= 1, if j x usual gap / T <= this
    floor_days: float = 28.0               # ... and T is at least this many days
    max_trickle: int = 2                   # orders allowed inside the window (j = 0..max_trickle)
    pace_gaps: int = 3                     # recent gaps between active days that set their pace (`judged_until`)
    away_visit_ratio: float = 0.75         # spells away are left out only if active days come this much more often than purchases (`away_spells`)
    away_back_days: int = 2                # ... and once the customer was active on this many days after the return
    pending_max_days: float = 14.0         # ... a return not yet confirmed waits at most this long (`return_pending`)
    value_z: float = 2.0                   # a window's baskets count as bigger only by their lower bound at this z (`_value_factor`)
    value_min_orders: int = 4              # ... against at least this many baseline baskets in their currency
    value_min_window: int = 2              # ... and never fewer than this many latest baskets
    value_prior_log_sd: float = 0.5        # ... whose log spread is shrunk towards this
    value_prior_weight: float = 2.0        # ... with the weight of this many baskets
    max_value_factor: float = 4.0          # a bigger basket stretches the usual gap at most this many times
    max_cover: int = 13                    # one basket is taken to cover at most this many usual gaps (`_covers`)


class _Test(NamedTuple):
    # A named tuple, not a frozen dataclass: the next-change search builds hundreds of
    # thousands of these, and a frozen dataclass's __init__ costs several times as much.
    j: int            # orders inside the window
    window: float     # T, days from the (j + 1)-th last purchase to now
    usual: float      # mean gap of the baseline, days
    p: float          # predictive tail probability
    ratio_ok: bool
    away: float = 0.0  # days of the window the customer was away altogether, left out of `window`
    factor: float = 1.0  # the window's baskets over the usual one (lower bound, `_value_factor`): window judged / factor
    answered: float = 0.0  # days of the window in a drought already judged and answered (`answered_gaps`), left out of `window`
    covered: float = 0.0   # days of the window covered by one basket worth several usual ones (`_covers`): window judged - covered
    worth: int = 0         # ... that basket's worth, in whole usual baskets
    cover_time: int = 0    # ... and its event time


def purchase_days(state: CustomerState) -> list[int]:
    """Times (epoch seconds) of the customer's purchases: first placed order of each day.

    >>> from detectors.state import CustomerState
    >>> s = CustomerState("c", orders=[[0, 5.0, "EUR", 0, 1, None], [60, 5.0, "EUR", 0, 1, None],
    ...                                [DAY, 5.0, "EUR", 1, 1, None]])
    >>> purchase_days(s)
    [0]
    """
    out: list[int] = []
    last_day = None
    for o in placed_orders(state):
        d = o[0] // DAY
        if d != last_day:
            out.append(o[0])
            last_day = d
    return out


def purchases(state: CustomerState) -> tuple[tuple[int, ...], tuple[float, ...], tuple[str, ...]]:
    """(times, amounts, currencies) of the customer's purchases (`purchase_days`): a
    purchase's amount is that of the day's placed orders in the currency of its first order
    (other currencies of that day left out).

    >>> from detectors.state import CustomerState
    >>> s = CustomerState("c", orders=[[0, 5.0, "EUR", 0, 1, None], [60, 7.0, "EUR", 0, 1, None],
    ...                                [90, 3.0, "GBP", 0, 1, None], [DAY, 4.0, "EUR", 1, 1, None]])
    >>> purchases(s)
    ((0,), (12.0,), ('EUR',))
    """
    times: list[int] = []
    amounts: list[float] = []
    currencies: list[str] = []
    last_day = None
    for o in state.orders:
        if o[3] != PLACED:
            continue
        d = o[0] // DAY
        if d != last_day:
            times.append(o[0])
            amounts.append(o[1])
            currencies.append(o[2])
            last_day = d
        elif o[2] == currencies[-1]:
            amounts[-1] += o[1]
    return tuple(times), tuple(amounts), tuple(currencies)


def _value_factor(amounts: tuple[float, ...], currencies: tuple[str, ...], lo: int, hi: int,
                  p: PurchaseFrequencyParams, cap: float | None = None) -> float:
    """How many usual baskets the purchases `amounts[hi:]` are each worth, at least: the lower
    bound (`value_z`) of their geometric mean over that of the baseline's `amounts[lo:hi]` in
    the same currency (the latest purchase's), 1.0 unless that bound is above 1, at most
    `max_value_factor` (or `cap`). Purchases of amount 0 carry no basket size.

    >>> usual = (40, 50, 45, 60, 38, 52, 47, 41)
    >>> round(_value_factor(usual + (160.0,) * 3, ("EUR",) * 11, 0, 8, PurchaseFrequencyParams()), 2)
    2.4
    >>> _value_factor(usual + (75.0,), ("EUR",) * 9, 0, 8, PurchaseFrequencyParams())  # one big basket: chance
    1.0
    >>> _value_factor(usual + (160.0,) * 3, ("EUR",) * 8 + ("GBP",) * 3, 0, 8, PurchaseFrequencyParams())
    1.0
    """
    window = [(v, c) for v, c in zip(amounts[hi:], currencies[hi:]) if v > 0]
    if not window:
        return 1.0
    cur = window[-1][1]
    w = [math.log(v) for v, c in window if c == cur]
    b = [math.log(v) for v, c in zip(amounts[lo:hi], currencies[lo:hi]) if v > 0 and c == cur]
    if len(b) < p.value_min_orders:
        return 1.0
    mean_b = sum(b) / len(b)
    var_b = ((sum((x - mean_b) ** 2 for x in b) + p.value_prior_weight * p.value_prior_log_sd ** 2)
             / (len(b) - 1 + p.value_prior_weight))
    lower = sum(w) / len(w) - mean_b - p.value_z * math.sqrt(var_b * (1 / len(w) + 1 / len(b)))
    return min(p.max_value_factor if cap is None else cap, math.exp(lower)) if lower > 0 else 1.0


def _covers(times: tuple[int, ...], amounts: tuple[float, ...], currencies: tuple[str, ...],
            p: PurchaseFrequencyParams) -> tuple[tuple[int, int, int], ...]:
    """(time, worth, purchases after it) of the purchases worth at least two usual baskets
    on their own (whether they are of the customer's usual kind is `_baselines`' to ask): each
    purchase's amount against the `max_gaps` purchases before it (`_value_factor` with that
    purchase alone as the window: the lower bound at `value_z`, at least `value_min_orders`
    baskets before it in its currency), in whole usual baskets, at most `max_cover`.

    A yearly invoice where the customer paid monthly, a pallet where they bought a case:
    twelve usual baskets in one. The purchase is taken to cover the usual gaps of the
    baskets it stands for (`_tests`).

    >>> monthly = tuple(range(0, 360 * DAY, 30 * DAY))
    >>> amounts = (100.0, 104.0, 98.0, 101.0, 99.0, 103.0, 100.0, 97.0, 102.0, 100.0, 101.0, 99.0)
    >>> _covers(monthly + (360 * DAY,), amounts + (1200.0,), ("EUR",) * 13, PurchaseFrequencyParams())
    ((31104000, 7, 0),)
    >>> _covers(monthly + (360 * DAY,), amounts + (250.0,), ("EUR",) * 13, PurchaseFrequencyParams())
    ()
    """
    n = len(times)
    first = max(p.value_min_orders, n - p.max_cover - p.max_trickle - 1)   # the latest purchases only:
    if first >= n:                                    # an earlier one's cover ended before the widest window
        return ()
    out = []
    if currencies.count(currencies[0]) != n:          # several currencies: each against its own baskets
        for i in range(first, n):
            if amounts[i] <= 0:
                continue
            worth = int(_value_factor(amounts[:i + 1], currencies[:i + 1], max(0, i - p.max_gaps), i, p,
                                      cap=float(p.max_cover)))
            if worth >= 2:
                out.append((times[i], worth, n - 1 - i))
        return tuple(out)
    # one currency: `_value_factor`'s bound from running sums of the log amounts (each
    # purchase's own slice costs as much as the rest of the baselines together)
    base = max(0, first - p.max_gaps)
    xs = [math.log(v) if v > 0 else 0.0 for v in amounts[base:n]]
    cnt = list(accumulate((v > 0 for v in amounts[base:n]), initial=0))
    s1 = list(accumulate(xs, initial=0.0))
    s2 = list(accumulate((x * x for x in xs), initial=0.0))
    w0 = p.value_prior_weight * p.value_prior_log_sd ** 2
    for i in range(first, n):
        if amounts[i] <= 0:
            continue
        lo, hi = max(0, i - p.max_gaps) - base, i - base
        m = cnt[hi] - cnt[lo]
        if m < p.value_min_orders:
            continue
        mean = (s1[hi] - s1[lo]) / m
        var = (max(0.0, s2[hi] - s2[lo] - m * mean * mean) + w0) / (m - 1 + p.value_prior_weight)
        lower = math.log(amounts[i]) - mean - p.value_z * math.sqrt(var * (1 + 1 / m))
        worth = int(min(float(p.max_cover), math.exp(lower))) if lower > 0 else 1
        if worth >= 2:
            out.append((times[i], worth, n - 1 - i))
    return tuple(out)


_NO_COVER = (0, 0, 0)    # (covered until, basket time, worth) where no basket covers anything


def _dispersion(gaps: list[float], p: PurchaseFrequencyParams) -> float:
    n = len(gaps)
    m = sum(gaps) / n
    var = sum((g - m) ** 2 for g in gaps) / (n - 1) if n > 1 else 0.0
    cv2 = var / (m * m) if m > 0 else p.prior_cv2
    shrunk = (n * cv2 + p.prior_gaps * p.prior_cv2) / (n + p.prior_gaps)
    return min(p.max_cv2, max(p.min_cv2, shrunk))


def _baselines(state: CustomerState, p: PurchaseFrequencyParams) -> tuple[tuple, ...]:
    """Per j: (j, start time of the window, n gaps, S = sum of gaps, shape k, value factor of
    the window's j + 1 purchases, cover: () or (covered until, the latest event time a bigger
    basket of the customer's usual kind covers with the baseline's usual gaps; that basket's
    time; its worth in usual baskets)) of usable baselines."""
    times, amounts, currencies = purchases(state)
    # The cache's key, compact: the amounts packed (no float object kept alive per purchase)
    # and one currency for a customer who pays in one, as nearly all do. With a tuple of
    # (amount, currency) pairs a full cache took 4.6 times the memory of the times alone
    # (5.3 against 1.15 KB an entry, 4,096 entries); packed, 1.5 times.
    one = currencies[0] if currencies and currencies.count(currencies[0]) == len(currencies) else currencies
    base = _baselines_of(times, struct.pack(f"<{len(amounts)}d", *amounts), one, p)
    if not base or not base[0][6]:
        return base
    # Bigger baskets (rare): those of the customer's usual kind cover, read per assessment
    # (the categories are not part of the cache's key)
    odd = _odd_purchases(_kinds(state), p.max_cover + p.max_trickle + 1)
    kept = [(t, w) for t, w, back in base[0][6] if not odd >> back & 1]
    out = []
    for b in base:
        cover, usual = (), b[3] / b[2]
        for t, w in kept:         # the worth - 1 further usual gaps after each, the latest end
            end = t + int((w - 1) * usual * DAY)
            if not cover or end > cover[0]:
                cover = (end, t, w)
        out.append(b[:6] + (cover,))
    return tuple(out)


def _kinds(state: CustomerState) -> list:
    """The kind of each of the customer's purchases (`purchases`): the category of the day's
    biggest placed order, None without one."""
    biggest: dict[int, list] = {}
    for o in state.orders:
        if o[3] == PLACED:
            day = biggest.setdefault(o[0] // DAY, [-1.0, None])
            if o[1] > day[0]:
                day[0], day[1] = o[1], o[5]
    return [k for _, k in biggest.values()]


def _odd_purchases(kinds: list, last: int) -> int:
    """Which of the `last` latest purchases are not of the customer's usual kind, as bits
    (bit 0 the latest): `kinds` as `_kinds` gives them, the usual kinds the commonest over
    all purchases (all of them on a tie: the verdict must not depend on which comes first
    in a hash). Orders without a category are of one kind, None. A handset bought beside
    weekly top-ups is no prepayment of top-ups (`_covers`).

    >>> bin(_odd_purchases(["topup"] * 3 + ["device", "topup"], 8))
    '0b10'
    >>> _odd_purchases(["a", "b"] * 3, 8)
    0
    """
    counts: dict = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    if len(counts) < 2:
        return 0
    top = max(counts.values())          # kinds as common as the commonest are all usual
    bits = 0
    for i, k in enumerate(reversed(kinds[-last:])):
        if counts[k] < top:
            bits |= 1 << i
    return bits


# The baselines change only with the customer's purchases, while every assessment (sweeps
# included) asks for them, and the next-change search once per level: kept for the recently
# assessed purchase histories (read only: a tuple of tuples).
@lru_cache(maxsize=4096)
def _baselines_of(times: tuple[int, ...], packed: bytes, currency: str | tuple[str, ...],
                  p: PurchaseFrequencyParams) -> tuple[tuple, ...]:
    amounts = struct.unpack(f"<{len(times)}d", packed)
    currencies = (currency,) * len(times) if isinstance(currency, str) else currency
    out = []
    all_gaps = [(b - a) / DAY for a, b in zip(times, times[1:])]
    # every j's last slot: the bigger baskets, () for nearly every customer (`_baselines`)
    covers = _covers(times, amounts, currencies, p) if len(times) > p.min_orders else ()
    for j in range(p.max_trickle + 1):
        n_base = len(times) - j
        if n_base < p.min_orders or (times[n_base - 1] - times[0]) / DAY < p.min_history_days:
            break
        lo = max(0, n_base - 1 - p.max_gaps)
        gaps = all_gaps[lo:n_base - 1]
        # the baskets that opened the baseline's gaps, against the window's j + 1
        first = min(n_base - 1, len(times) - p.value_min_window)
        factor = _value_factor(amounts, currencies, lo, first, p)
        out.append((j, times[n_base - 1], len(gaps), sum(gaps), 1.0 / _dispersion(gaps, p), factor, covers))
    return tuple(out)


def guard_time(state: CustomerState, params: PurchaseFrequencyParams = PurchaseFrequencyParams()) -> int | None:
    """Earliest event time at which the signal can fire (strength 0.5) if no order arrives,
    a lower bound of `next_change`'s first crossing; None without a baseline.

    >>> from detectors.state import CustomerState
    >>> days = [0, 60, 120, 180, 240, 300, 360, 390]
    >>> s = CustomerState("c", orders=[[d * DAY, 80.0, "EUR", 0, 1, None] for d in days])
    >>> guard_time(s) <= next_change(s, 390 * DAY)
    True
    """
    baselines = _baselines(state, params)
    return _guard_time(baselines, params) if baselines else None


def _guard_time(baselines, p: PurchaseFrequencyParams) -> int:
    """Earliest event time at which some test passes its ratio guard (strength can reach 0.5)."""
    # the judged window is the smaller of the two readings of bigger baskets: both must pass
    return min(max((start // DAY + 1) * DAY + math.ceil(p.floor_days * DAY),
                   start + math.ceil(_guard_days(j, total / n, p) * f * DAY),
                   (cover[0] if cover else 0) + math.ceil(_guard_days(j, total / n, p) * DAY))
               for j, start, n, total, _, f, cover in baselines)


def _guard_days(j: int, usual: float, p: PurchaseFrequencyParams) -> float:
    """The shortest window T at which the test with j orders inside may fire: the overdue
    test (j = 0) once the open gap is `1 / max_ratio` usual gaps; a trickle once its j orders
    are at most `max_trickle_ratio` of the orders usual over T."""
    return usual / p.max_ratio if j == 0 else j * usual / p.max_trickle_ratio


def away_spells(state: CustomerState, breaks: tuple[tuple[int, int], ...],
                params: PurchaseFrequencyParams = PurchaseFrequencyParams(),
                now: int | None = None) -> tuple[tuple[int, int], ...]:
    """The spells of `breaks` (`silence.breaks_taken`: quiet beyond silence's alarm that the
    customer came back from) that purchase frequency leaves out of its windows: those the
    customer is back from (active on `away_back_days` days since the return day: a single
    last look at the shop is not a return), for a customer who visits between purchases (mean
    gap between active days, the spells left out, at most `away_visit_ratio` of the mean gap
    between purchases); none for one whose active days are their purchases. For the latter
    a spell is an order gap, the very thing the test judges ("1 order in 120 days, usually 4").

    With `now`, a spell whose return is not yet confirmed is left out too while the days
    since the return are within `away_back_days` + 1 of the customer's usual gaps between
    active days (`return_pending`): the first visit back is not a verdict on the days away,
    either way. The caller passes `now` only while no warning is open, so one look at the shop
    never clears a warning the quiet raised.

    >>> from detectors.state import CustomerState
    >>> orders = [[d * DAY, 20.0, "EUR", 0, 1, None] for d in range(0, 200, 7)]
    >>> visitor = CustomerState("c", orders=orders, gaps=[3, 4] * 14 + [30, 2, 3], returned=[30, 230],
    ...                         last_active_day=235)
    >>> away_spells(visitor, ((201 * DAY, 230 * DAY),)) == ((201 * DAY, 230 * DAY),)
    True
    >>> one_look = CustomerState("c", orders=orders, gaps=[3, 4] * 14 + [30], returned=[30, 230],
    ...                          last_active_day=230)
    >>> away_spells(one_look, ((201 * DAY, 230 * DAY),))
    ()
    >>> buyer = CustomerState("c", orders=orders, gaps=[7] * 28 + [30, 7, 7], returned=[30, 230],
    ...                       last_active_day=244)
    >>> away_spells(buyer, ((201 * DAY, 230 * DAY),))
    ()
    """
    if not breaks:
        return ()
    times = purchase_days(state)
    if len(times) < 2:
        return ()
    times = times[-(params.max_gaps + 1):]
    # both rhythms without the spells: a spell that is an order gap would stretch this one
    mean_purchase_gap = ((times[-1] - times[0]) / DAY - _away_days(breaks, times[0], times[-1])) / (len(times) - 1)
    gaps = list(state.gaps)
    for a, b in breaks:
        days = round((b - a) / DAY) + 1
        if days in gaps:
            gaps.remove(days)
    if not gaps or sum(gaps) / len(gaps) > params.away_visit_ratio * mean_purchase_gap:
        return ()
    k = params.away_back_days
    pending = now is not None and now < return_pending(state, params)
    return tuple(x for x in breaks
                 if _active_days_since(state, x[1] // DAY, k) >= k or (pending and x[1] // DAY == state.returned[-1]))


def return_pending(state: CustomerState, params: PurchaseFrequencyParams = PurchaseFrequencyParams()) -> int:
    """Event time until which the latest return from a quiet spell (`CustomerState.returned`)
    waits for its confirmation (`away_back_days` active days after it): the return day plus
    `away_back_days` + 1 of the customer's recent gaps between active days (the last
    `pace_gaps` of them, the spell left out), at most `pending_max_days`; 0 once confirmed or
    without a spell.

    >>> s = CustomerState("c", gaps=[3, 4, 5, 30], returned=[30, 230], last_active_day=230)
    >>> return_pending(s) // DAY
    242
    >>> return_pending(CustomerState("c", gaps=[20, 25, 22, 90], returned=[90, 400], last_active_day=400)) // DAY
    414
    >>> return_pending(CustomerState("c", gaps=[3, 4, 5, 30, 2, 3], returned=[30, 230], last_active_day=235))
    0
    """
    r = state.returned
    if not r:
        return 0
    k = params.away_back_days
    if _active_days_since(state, r[-1], k) >= k:
        return 0
    gaps = list(state.gaps)
    if r[-2] in gaps:
        gaps.reverse()
        gaps.remove(r[-2])             # the latest gap of the spell's length
        gaps.reverse()
    recent = gaps[-params.pace_gaps:]
    if not recent:
        return 0
    return r[-1] * DAY + int(min((k + 1) * sum(recent) / len(recent), params.pending_max_days) * DAY)


def _active_days_since(state: CustomerState, day: int, enough: int) -> int:
    """Active days after `day` (an active day), counted from the latest gaps, up to `enough`."""
    since, n = state.last_active_day - day, 0
    for g in reversed(state.gaps):
        if since <= 0 or n >= enough:
            break
        since -= g
        n += 1
    return n if since <= 0 else enough     # gaps exhausted: more active days than are kept


def away_in_windows(state: CustomerState, params: PurchaseFrequencyParams = PurchaseFrequencyParams(),
                    silence_params: silence.SilenceParams = silence.SilenceParams(),
                    now: int | None = None) -> tuple[tuple[int, int], ...]:
    """The spells left out of the windows (`away_spells` of `silence.breaks_taken`) that end
    inside the widest window (from the purchase `max_trickle` before the last one): the only
    ones that can change the verdict; () for nearly every customer, cheaply. `now`: as in
    `away_spells` (a return not yet confirmed counts while it is pending)."""
    if not state.returned or not state.orders:
        return ()
    times = purchase_days(state)
    if not times:                              # orders, but none placed (all cancelled or returned)
        return ()
    first = times[-(params.max_trickle + 1)] if len(times) > params.max_trickle else times[0]
    if state.returned[-1] * DAY <= first:      # the latest spell ended before the widest window
        return ()
    breaks = silence.breaks_taken(state, silence_params, since=first)
    return away_spells(state, breaks, params, now) if breaks else ()


def _union(spells: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Overlapping spells merged into one: sorted, none overlapping."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spells):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def _away_days(away: tuple[tuple[int, int], ...], start: int, now: int) -> float:
    """Days of [start, now] inside the spells `away` (`silence.breaks_taken`)."""
    return sum(max(0, min(b, now) - max(a, start)) for a, b in away) / DAY


def answered_gaps(state: CustomerState) -> tuple[tuple[int, int], ...]:
    """The gap between purchases that ended with the order answering the customer's latest
    purchase-frequency warning of level `warning` or above (`CustomerState.answered`), as
    (start, end) event times; () when none is known or it is no longer among the purchases.

    That drought was judged while it lasted, published, and the customer ordered again. The
    trickle tests (j >= 1) leave it out of their windows, as they leave out a spell away
    altogether: a fortnightly buyer back from a 56-day drought was otherwise warned again
    with "1 order in the last 70 days" fourteen days after the order that cleared the
    warning, when the next order was merely due (a warning, a clearing and a warning again for
    one drought). What follows the answer is judged as before: the overdue test from the
    last order, and the trickles over every other gap in their windows, so a customer who
    goes on buying as slowly is warned again on the gaps since. A drought that reached only
    `watch` was not published as a warning, and a trickle over it may still be its first.

    >>> from detectors.state import CustomerState
    >>> orders = [[d * DAY, 50.0, "EUR", 0, 1, None] for d in (0, 14, 28, 84, 98)]
    >>> [(a // DAY, b // DAY) for a, b in answered_gaps(CustomerState("c", orders=orders, answered=84 * DAY))]
    [(28, 84)]
    >>> answered_gaps(CustomerState("c", orders=orders))
    ()
    """
    t = state.answered
    if not t:
        return ()
    times = purchase_days(state)
    i = bisect_left(times, t)
    if i < 1 or i >= len(times) or times[i] != t:
        return ()
    return ((times[i - 1], t),)


def _tests(baselines, now: int, p: PurchaseFrequencyParams, away: tuple[tuple[int, int], ...] = (),
           dry: tuple[tuple[int, int], ...] = ()) -> list[_Test]:
    tests = []
    open_gap = _open_gap(baselines, now, away)
    for j, start, n, total, k, f, cover in baselines:
        until, when, worth = cover or _NO_COVER
        gone = _away_days(away, start, now) if away else 0.0
        answered, gaps = 0.0, j + 1       # gaps the window is made of: its j + 1 purchases' own
        if dry and j > 0 and open_gap * p.max_ratio < total / n:
            # A drought judged and answered (the j = 0 window starts after it): its days, those
            # not already left out as away, and the gap it was, are left out until the
            # customer is late again by the overdue test's own guard (twice the usual gap
            # since the answer): a customer still buying that slowly is judged on it all
            # again. A window of the drought and the open gap alone is the overdue test's.
            inside = sum(1 for a, _ in dry if a >= start)
            if inside:
                answered = _away_days(_union(away + dry), start, now) - gone
                gone += answered
                gaps -= inside
        window = max(0.0, (now - start) / DAY - gone)
        usual = total / n
        # bigger baskets last longer: the window is judged as if its purchases were usual ones,
        # or, if it leaves less, without the days one basket worth several usual ones covers
        judged, covered = window / f, 0.0
        if until > start:
            covered = min(window, (until - start) / DAY)
            if window - covered < judged:
                judged, f = window - covered, 1.0
            else:
                covered = 0.0
        tail = _betainc(n * k, gaps * k, total / (total + judged)) if window > 0 and (j == 0 or gaps > 1) else 1.0
        if j > 0 and tail < 1.0:
            # A trickle says the rate *was* low over the window; a purchase since says they
            # are buying *now*. Its log-evidence counts in proportion to the time since that
            # purchase, in full once the open gap is as long as the overdue test (j = 0)
            # needs before it may fire (usual / max_ratio); and it may fire only once that
            # purchase is itself older than the usual gap (the customer is late again): a
            # fresh order always lowers the strength, a customer quiet again regains it.
            tail **= min(1.0, open_gap * p.max_ratio / usual)
        # the floor counts whole days after the day of the window's first purchase: a weekly
        # customer back on the same weekday four weeks later has not missed that day yet
        whole = (now - (start // DAY + 1) * DAY) / DAY - gone
        ratio_ok = whole >= p.floor_days and judged >= _guard_days(gaps - 1, usual, p) \
            and (j == 0 or open_gap >= usual and gaps > 1)
        tests.append(_Test(j, window, usual, tail, ratio_ok, gone - answered, f, answered,
                           covered, worth if covered else 0, when if covered else 0))
    return tests


def _open_gap(baselines, now: int, away: tuple[tuple[int, int], ...] = ()) -> float:
    """Days since the latest purchase (baselines[0] is the j = 0 test, which starts there),
    the days away altogether left out, judged as its tests judge it (`_tests`): over the last
    baskets' worth, or without the days a bigger basket covers; inf without that test."""
    if not baselines or baselines[0][0] != 0:
        return math.inf
    _, last, _, _, _, f, cover = baselines[0]
    until = cover[0] if cover else 0
    gap = max(0.0, (now - last) / DAY)
    if away:
        gap -= _away_days(away, last, now)
    return min(gap / f, max(0.0, gap - (until - last) / DAY)) if until > last else gap / f


def _strength(tests: list[_Test], p: PurchaseFrequencyParams) -> tuple[float, _Test, float]:
    best = min(tests, key=lambda t: (t.p, t.j))
    p_adj = min(1.0, best.p * len(tests))
    p_fire = min(p.max_p_fire, p.false_alarms_per_month * best.usual / 30.0)
    strength = pvalue_strength(p_adj, p_fire, p_fire / p.full_factor)
    if not best.ratio_ok:
        strength = min(strength, FIRE - 0.05)
    return strength, best, p_adj


def evaluate(state: CustomerState, now: int, params: PurchaseFrequencyParams = PurchaseFrequencyParams(),
             explained: int | None = None, away: tuple[tuple[int, int], ...] | None = None,
             answered: bool = True) -> Signal | None:
    """The purchase frequency signal at event time `now`, or None without enough order history.

    `explained`: `silence.explained_until` for this customer at `now` (computed with the
    default silence settings when not given); see `judged_until`. `away`: `away_in_windows`
    (likewise), the spells the customer was away altogether, left out of every window.
    `answered`: leave out the drought the customer answered (`answered_gaps`), as the
    alarm does; False weighs it too, as the risk score's ranking does (`warning.assess`).

    Examples
    --------
    A customer who bought every 60 days for a year, then once 30 days later, and nothing
    for the 150 days since:

    >>> from detectors.state import CustomerState
    >>> days = [0, 60, 120, 180, 240, 300, 360, 390]
    >>> s = CustomerState("c", orders=[[d * DAY, 80.0, "EUR", 0, 1, None] for d in days])
    >>> sig = evaluate(s, 540 * DAY)
    >>> sig.fires, sig.current, sig.baseline, sig.unit
    (True, 150.0, 55.71, 'days since last order')
    >>> evaluate(s, 420 * DAY).fires
    False
    >>> evaluate(CustomerState("new", orders=[[0, 80.0, "EUR", 0, 1, None]]), DAY) is None
    True
    """
    baselines = _baselines(state, params)
    if not baselines:
        return None
    judged = judged_until(state, now, params, explained)
    if away is None:
        away = away_in_windows(state, params)
    strength, best, p_adj = _strength(_tests(baselines, judged, params, away,
                                             answered_gaps(state) if answered else ()), params)
    usual = best.usual
    gone = (f", {best.away:.0f} of them away altogether (left out: they came back from that quiet)"
            if best.away >= 1 else "")
    if best.answered >= 1:
        gone += (f", {best.answered:.0f} of them the drought their warning was about (left out: "
                 "they ordered again after it)")
    span = best.window + best.away + best.answered
    worth = ""
    if best.factor > 1.0:
        worth = (f"; the last {max(best.j + 1, params.value_min_window)} baskets were worth at least "
                 f"{best.factor:.1f} usual ones each, so judged as {best.window / best.factor:.0f} days")
    elif best.covered >= 1:
        day = datetime.fromtimestamp(best.cover_time, timezone.utc).date().isoformat()
        worth = (f"; the basket of {day} was worth at least {best.worth} usual ones, so the "
                 f"{best.covered:.0f} days it covers are left out: judged as {best.window - best.covered:.0f} days")
    if best.j == 0:
        current, baseline, unit = span, usual, "days since last order"
        detail = (f"no order for {span:.0f} days{gone}; usually one every {usual:.0f} days"
                  f"{worth} (P={p_adj:.2g})")
    else:
        expected = best.window / usual
        current, baseline, unit = 30.0 * best.j / max(best.window, 1.0), 30.0 / usual, "orders per 30 days"
        detail = (f"{best.j} order{'s' if best.j > 1 else ''} in the last {span:.0f} days{gone}; "
                  f"usually {expected:.1f} (one every {usual:.0f} days){worth}; P={p_adj:.2g}")
        since = (judged - baselines[0][1]) / DAY      # the j = 0 window starts at the last purchase
        if min(_open_gap(baselines, judged), since) * params.max_ratio < usual:
            # The trickle's evidence is discounted while its last order is fresh (see `_tests`):
            # say so, or the P beside the count reads as a mistake.
            detail += f", discounted for the order {since:.0f} days ago"
    if judged < now:
        quiet = (now - state.last_active) / DAY
        detail += (f"; judged up to {(judged - state.last_active) / DAY:.0f} of the {quiet:.0f} days since their "
                   "last activity: the days after are left to silence, which weighs them against the quiet "
                   "spells they came back from")
    return Signal(
        kind=KIND,
        strength=strength,
        current=round(current, 2),
        baseline=round(baseline, 2),
        unit=unit,
        window_days=round(span, 2),
        detail=detail,
    )


def judged_until(state: CustomerState, now: int, params: PurchaseFrequencyParams = PurchaseFrequencyParams(),
                 explained: int | None = None) -> int:
    """The event time up to which the orders are judged: `now`, or, while what the customer
    came back from holds silence under its alarm (`explained`, `silence.explained_until`: a
    quiet no longer than a spell they came back from, or not yet beyond a break of their
    own), the end of their last visit's usual pace (last activity + the mean of their last
    `pace_gaps` gaps between active days). Orders missed while the customer was still around
    count; a quiet like the breaks they have taken before is silence's to judge.

    >>> from detectors.state import CustomerState
    >>> s = CustomerState("c", last_active=300 * DAY, last_active_day=300, gaps=[3, 4, 5, 3],
    ...                   returned=[30, 200])       # back from 30 quiet days on day 200
    >>> judged_until(s, 320 * DAY) // DAY, judged_until(s, 340 * DAY) // DAY
    (304, 340)
    """
    if explained is None:
        explained = silence.explained_until(state, now)
    if now >= explained or not state.gaps:
        return now
    recent = state.gaps[-params.pace_gaps:]
    return min(now, state.last_active + int(sum(recent) / len(recent) * DAY))


def next_change(state: CustomerState, now: int, params: PurchaseFrequencyParams = PurchaseFrequencyParams(),
                levels: tuple[float, ...] = (0.5, 0.7, 0.85, 1.0), resolution: int = 3600,
                horizon_days: int = 3 * 365, away: tuple[tuple[int, int], ...] = ()) -> int | None:
    """Earliest event time after `now` (to `resolution` seconds) at which strength reaches the next of `levels`.

    Strength only grows while no order arrives, so the crossing is found by bisection.
    None without a baseline or when no level is reached within `horizon_days`. The search
    judges the orders up to each time tried, as if the customer were never quiet; while a
    quiet spell is left to silence (`judged_until`) the strength is that of an earlier time,
    so the crossing found is a lower bound (the caller also looks again when the spell stops
    being explained: `silence.explained_until`).

    >>> from detectors.state import CustomerState
    >>> days = [0, 60, 120, 180, 240, 300, 360, 390]
    >>> s = CustomerState("c", orders=[[d * DAY, 80.0, "EUR", 0, 1, None] for d in days])
    >>> t = next_change(s, 400 * DAY)
    >>> evaluate(s, t).fires, evaluate(s, t - 3600).fires
    (True, False)
    """
    baselines = _baselines(state, params)
    if not baselines:
        return None
    dry = answered_gaps(state)

    def margin(t: int, lv: float) -> float:
        """log of (tail probability at which `lv` is reached / tail at t): >= 0 once reached."""
        tests = _tests(baselines, t, params, away, dry)
        strength, best, p_adj = _strength(tests, params)
        if strength >= lv:
            return max(0.0, _log_margin(best, p_adj, lv, params))
        return min(-1e-12, _log_margin(best, p_adj, lv, params))

    current = _strength(_tests(baselines, now, params, away, dry), params)[0]
    # below every ratio guard the strength is capped under 0.5: start the search there
    start = max(now, _guard_time(baselines, params))
    # an integer step: event times are whole seconds (a float here made every time after it one)
    step = max(DAY, int(baselines[0][3] / baselines[0][2] * DAY) // 4)
    for lv in levels:
        if current >= lv:
            continue
        lo, hi = now, start
        f_hi = margin(hi, lv)
        while f_hi < 0:
            lo, hi, step = hi, hi + step, 2 * step
            if hi - now > horizon_days * DAY:
                return None
            f_hi = margin(hi, lv)
        # on the log tail margin, which is smooth in time: a handful of evaluations
        return first_crossing(lambda t: margin(t, lv), lo, hi, margin(lo, lv), f_hi,
                              resolution, resolution // 2, whole=True)
    return None


def _log_margin(best: _Test, p_adj: float, lv: float, p: PurchaseFrequencyParams) -> float:
    # invert pvalue_strength above the alarm: p_lv = p_fire * (p_full / p_fire) ** ((lv - 0.5) / 0.5)
    p_fire = min(p.max_p_fire, p.false_alarms_per_month * best.usual / 30.0)
    log_p_lv = math.log(p_fire) - math.log(p.full_factor) * (lv - FIRE) / (1 - FIRE)
    return log_p_lv - math.log(max(p_adj, 1e-300))
