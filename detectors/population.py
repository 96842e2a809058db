"""Gone probability: has this customer stopped, judged against the customers of the same shop.

The risk score ranks every customer, including those no signal judges yet (one purchase, a
short history). It needs a probability that a customer will show no activity within the
churn horizon, and a customer's own history is rarely enough for it: two purchases say little
about a rhythm. What fills the gap is the population: how fast customers of this shop are
active, how much that varies, and how quickly they drop out.

The model (Pareto/NBD, Schmittlein, Morrison & Colombo 1987; Fader, Hardie & Lee 2005), in
days, over active days (a day with a login, page view, order or complaint):

* while alive, a customer is active at a Poisson rate λ, and λ varies across customers as
  gamma(r, α): r small means a few very frequent customers and many rare ones;
* each customer stays for an exponential lifetime with rate μ, and μ varies as gamma(s, β).

From a customer's x repeat active days (their gaps, at most `StateParams.max_gaps`), the
days t_x those gaps span and the days T since the first of them, the probability of being
alive now is 1 / (1 + B/A) with

    B/A = ∫_{t_x}^{T} s / (β + τ) · ((β + T) / (β + τ))^s · ((α + T) / (α + τ))^(r + x) dτ

(the odds of having left at some τ during the quiet spell), computed by 24-point
Gauss-Legendre quadrature. An alive customer's rate is gamma(r + x, α + T), so the chance
of no activity within the next H days is ((α + T) / (α + T + H))^(r + x). The gone
probability is 1 − P(alive) · (1 − that): "no activity within the horizon", the question
the churn labels ask. It rises with the quiet, falls with every fresh activity, and a
one-purchase customer gets the population's answer for a customer quiet this long.

The four population parameters are fitted (the same quadrature) on a bounded sample of the partition's customers: the `sample_size` (2,000) customers with the
smallest hash of their id (a uniform sample that is the same whether it was built one event
at a time or rebuilt from the customer table after a restart). Every partition fits its own
prior, so customers of different partitions are ranked by slightly different priors: with
1,000 customers per sample that noise cost CDNOW's one-purchase customers 0.013 of ROC AUC
(they differ only in their quiet, so any other ordering is a loss); 2,000 halve the spread
of the fits. The fit is re-done every `refit_days` (28) of event time: a shop's population
changes slowly, and a fit of 2,000 customers costs 70-110 ms of CPU (with the gradient
worked out exactly; 310-570 ms with the optimiser's finite differences).

The fit is the posterior mode (MAP) under a weak prior: each log-parameter normal around the
published CDNOW estimates (Fader, Hardie & Lee 2005, Table 1, converted from weeks to days:
r 0.55, α 74, s 0.61, β 82) with a standard deviation of 1 (`prior_log_sd`: a factor of
e either way). The rate half (r, α) is identified by a few dozen customers' gaps and the
prior barely moves it. The dropout half is not, early in a stream or on a small partition:
nobody has been quiet long yet, and maximum likelihood ran to a corner (s 0.05, β 20,000
days: no one ever leaves, so P(alive) stayed at 1 whatever the quiet) or anywhere along a
flat ridge (on CDNOW, four partitions' fits of one day had s from 0.42 to 50). The prior
picks a point on that ridge and gives way to the data as lapses accumulate. Below
`min_customers` (20) in the sample the published estimates themselves are used, and so they
are while the sample's longest history is shorter than `min_span_days` (180, two churn
horizons), marked `provisional`: a stand-in for the rhythm of short histories and for the
ranking, on which no customer is judged gone (`detectors.silence`). A stream that starts without its history (no `churnwatch bootstrap`) sees every
customer as new; two weeks in, a fit saw nothing but short gaps: customers active every
three to four days, all alike (r 5.6, α 20 days), and read 18 quiet days after two visits
as a lapse (P(alive) 0.53; 0.87 on the published fit). A steady customer who visits twice a
month was warned as gone in the stream's first month. No one can have been seen away for
the horizon before the horizon has passed. And a lapse verdict ("more likely gone than
not") is about a customer quiet for about a horizon who will not be back within the next
one: a population can only have shown that of anyone after two horizons. With one (90 days,
until 2026-12-07), a shop of yearly renewals and twice-yearly purchases streamed from its
first event was fitted on the first weeks' bursts (customers active every two or three
weeks, r 1.6, α 19 days) and judged steady customers quiet 50 to 160 days gone in the
spring of its first year (docs/quality.md, "An eighth outside population").

Deaths within the horizon are not modelled in the "no activity within H" term (an alive
customer keeps their rate for H days): this errs towards "will be back" for everyone alike
and changes rankings little (on CDNOW the ROC AUC of the score with the exact term of
Pareto/NBD expected orders and with this one differ by 0.003).
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import math
import struct
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from detectors.segment import SegmentParams, core_threshold, year_value
from detectors.order_value import basket_log_sd
from detectors.state import DAY, CustomerState, id_hash

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)
_NODES_L = [float(v) for v in _NODES]
_WEIGHTS_L = [float(v) for v in _WEIGHTS]
# (node + 1, weight) pairs of the rule on [-1, 1], for `p_alive`'s integral over [t_x, T].
_NODES_1_WEIGHTS = [(node + 1.0, weight) for node, weight in zip(_NODES_L, _WEIGHTS_L)]


@dataclass(frozen=True)
class PopulationParams:
    horizon_days: float = 90.0       # "gone" = no activity within this many days (the churn labels' horizon)
    sample_size: int = 2000          # customers per partition the prior is fitted on
    min_customers: int = 20          # fewer in the sample: the default prior
    min_span_days: float = 180.0     # a sample observed for less (its longest history): the default prior
    # The shop's typical basket spread (`typical_basket_log_sd`): the median of the sampled
    # customers' own, from this many customers with enough orders (fewer: none), within bounds.
    min_spread_customers: int = 20
    min_basket_log_sd: float = 0.15
    max_basket_log_sd: float = 0.8
    prior_log_sd: float = 1.0        # spread of the weak prior on each log-parameter around the default (see `fit`)
    refit_days: float = 28.0         # event time between fits (each ~0.1 s on 2,000 customers)
    # Bounds of a fit (shapes; scales in days): no population is fitted to a degenerate corner.
    min_shape: float = 0.05
    max_shape: float = 50.0
    min_scale_days: float = 1.0
    max_scale_days: float = 20_000.0


@dataclass(frozen=True)
class Prior:
    """Population parameters (days): active-day rate gamma(r, alpha), dropout rate gamma(s, beta)."""

    r: float = 0.55
    alpha: float = 74.0
    s: float = 0.61
    beta: float = 82.0
    customers: int = 0               # customers it was fitted on (0: the default)
    # The shop's `core` threshold of yearly value (`detectors.segment.core_threshold`) computed
    # on the same sample at the same time; 0: none (the fixed `core_min_value` applies).
    core_value: float = 0.0
    # The shop has not been observed for `min_span_days` yet: the published fit stands in for
    # the rhythm and the ranking, and no lapse verdict is given (`detectors.silence`).
    provisional: bool = False
    # The shop's typical spread of a customer's baskets (log-sd, `typical_basket_log_sd`): the
    # prior of `detectors.order_value`'s spread. 0: none known (its fixed `prior_log_sd`).
    basket_log_sd: float = 0.0


DEFAULT_PRIOR = Prior()
#: The stand-in while a partition's customers have been observed for less than two horizons.
YOUNG_PRIOR = Prior(provisional=True)


def summary(state: CustomerState) -> tuple[int, float, int] | None:
    """(x repeat active days, t_x days they span, last activity in epoch seconds), or None if never active.

    >>> summary(CustomerState("c", last_active=10 * DAY, gaps=[3, 4]))
    (2, 7.0, 864000)
    >>> summary(CustomerState("n")) is None
    True
    """
    if state.last_active <= 0:
        return None
    return len(state.gaps), float(sum(state.gaps)), state.last_active


def p_alive(x: int, t_x: float, quiet: float, prior: Prior) -> float:
    """Probability that a customer with x repeat active days over t_x days, quiet for `quiet`
    days since, has not dropped out (Pareto/NBD, see the module docstring).

    >>> p = Prior()
    >>> p_alive(5, 100.0, 0.0, p)
    1.0
    >>> round(p_alive(5, 100.0, 10.0, p), 3), round(p_alive(5, 100.0, 60.0, p), 3)
    (0.963, 0.67)
    """
    if quiet <= 0:
        return 1.0
    return _p_alive(x, t_x, quiet, prior)


# An assessment of a short history asks for the same P(alive) twice (silence's lapse verdict
# and the gone probability): the second is a lookup. The expression is evaluated exactly as
# written before the loop invariants were hoisted, so the result is the same to the bit.
@lru_cache(maxsize=1024)
def _p_alive(x: int, t_x: float, quiet: float, prior: Prior) -> float:
    r, a, s, b = prior.r, prior.alpha, prior.s, prior.beta
    big_t = t_x + quiet
    half = quiet / 2.0
    b_big, a_big, rx = b + big_t, a + big_t, r + x
    log, exp = math.log, math.exp
    ratio = 0.0
    for node_1, weight in _NODES_1_WEIGHTS:
        tau = t_x + half * node_1
        b_tau = b + tau
        ratio += weight * s / b_tau * exp(s * log(b_big / b_tau) + rx * log(a_big / (a + tau)))
    ratio *= half
    return 1.0 / (1.0 + ratio)


def gone_probability(state: CustomerState, now: int, prior: Prior = DEFAULT_PRIOR,
                     params: PopulationParams = PopulationParams()) -> float:
    """Probability of no activity within `horizon_days` of `now` (see the module docstring).

    Examples
    --------
    A one-purchase customer: the population's answer, rising with the quiet.

    >>> once = CustomerState("o", last_active=100 * DAY)
    >>> [round(gone_probability(once, (100 + d) * DAY), 2) for d in (0, 30, 180)]
    [0.65, 0.76, 0.94]

    A customer active every 7 days for 20 weeks: safe while on rhythm, gone after a long quiet.

    >>> regular = CustomerState("c", last_active=140 * DAY, gaps=[7] * 20)
    >>> round(gone_probability(regular, 143 * DAY), 3), round(gone_probability(regular, 240 * DAY), 2)
    (0.01, 0.99)
    """
    s = summary(state)
    if s is None:
        return 0.0
    x, t_x, last = s
    quiet = max(0.0, (now - last) / DAY)
    alive = p_alive(x, t_x, quiet, prior)
    big_t = t_x + quiet
    none_ahead = ((prior.alpha + big_t) / (prior.alpha + big_t + params.horizon_days)) ** (prior.r + x)
    return 1.0 - alive * (1.0 - none_ahead)


_THETA_DEFAULT = np.log([DEFAULT_PRIOR.r, DEFAULT_PRIOR.alpha, DEFAULT_PRIOR.s, DEFAULT_PRIOR.beta])


def _neg_log_posterior(theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray,
                       log_sd: float) -> tuple[float, np.ndarray]:
    """The fit's objective and its gradient in the log-parameters (one pass for both: the
    optimiser's finite differences took five evaluations per step, 60 % of a fit's time)."""
    nll, grad = _neg_log_likelihood(theta, x, t_x, big_t)
    off = (theta - _THETA_DEFAULT) / log_sd
    return nll + 0.5 * float((off ** 2).sum()), grad + off / log_sd


def _neg_log_likelihood(theta: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                        big_t: np.ndarray) -> tuple[float, np.ndarray]:
    """Minus the Pareto/NBD log-likelihood of the summaries at log-parameters `theta`
    (the integral by the quadrature of `p_alive`), and its gradient in `theta`."""
    r, a, s, b = np.exp(theta)
    quiet = big_t - t_x
    tau = t_x[:, None] + quiet[:, None] * (_NODES[None, :] + 1.0) / 2.0
    rx = r + x
    log_a_big, log_b_big = np.log(a + big_t), np.log(b + big_t)
    log_a_tau, log_b_tau = np.log(a + tau), np.log(b + tau)
    alive = -rx * log_a_big - s * log_b_big
    died = math.log(s) - (s + 1.0) * log_b_tau - rx[:, None] * log_a_tau
    top = np.maximum(alive, died.max(axis=1))
    # Both terms scaled by exp(-top): the likelihood of each customer is exp(top) * (alive + died).
    e_alive = np.exp(alive - top)
    e_died = np.exp(died - top[:, None]) * _WEIGHTS[None, :] * (quiet / 2.0)[:, None]
    total = e_alive + e_died.sum(axis=1)
    ll = (gammaln(rx) - gammaln(r) + r * math.log(a) + s * math.log(b) + top + np.log(total))
    # d ll / d parameter, each term of the likelihood weighed by its share of `total`
    d_r = digamma(rx) - digamma(r) + math.log(a) - (e_alive * log_a_big + (e_died * log_a_tau).sum(axis=1)) / total
    d_a = r / a - rx * (e_alive / (a + big_t) + (e_died / (a + tau)).sum(axis=1)) / total
    d_s = math.log(b) + (-e_alive * log_b_big + (e_died * (1.0 / s - log_b_tau)).sum(axis=1)) / total
    d_b = s / b - (e_alive * s / (b + big_t) + (e_died * (s + 1.0) / (b + tau)).sum(axis=1)) / total
    # chain rule to the log-parameters: d / d log p = p d / d p
    grad = -np.array([r * d_r.sum(), a * d_a.sum(), s * d_s.sum(), b * d_b.sum()])
    return float(-ll.sum()), grad


def fit(summaries: list[tuple[int, float, int]], now: int, params: PopulationParams = PopulationParams()) -> Prior:
    """Population parameters from customer summaries as of `now`: the posterior mode (see the module docstring).

    A function of its arguments only: the search always starts from the default prior (the
    dropout shape and scale lie on a flat ridge of the likelihood, which the weak prior
    around the default tilts towards it). Bounded by `params`;
    the default prior with fewer than `min_customers` summaries, or while the longest history
    in them (days from a first activity to `now`) is shorter than `min_span_days`.

    Examples
    --------
    >>> fit([(1, 10.0, 10 * DAY)] * 5, 20 * DAY) == DEFAULT_PRIOR
    True
    >>> fit([(3, 30.0, 60 * DAY)] * 50, 70 * DAY) == YOUNG_PRIOR        # 40 days of history
    True
    """
    if len(summaries) < params.min_customers:
        return DEFAULT_PRIOR
    x = np.array([s[0] for s in summaries], dtype=float)
    t_x = np.array([s[1] for s in summaries], dtype=float)
    quiet = np.array([max(0.0, (now - s[2]) / DAY) for s in summaries])
    big_t = t_x + quiet
    if float(big_t.max()) < params.min_span_days:
        return YOUNG_PRIOR
    shape = (math.log(params.min_shape), math.log(params.max_shape))
    scale = (math.log(params.min_scale_days), math.log(params.max_scale_days))
    bounds = [shape, scale, shape, scale]
    res = minimize(_neg_log_posterior, _THETA_DEFAULT, args=(x, t_x, big_t, params.prior_log_sd),
                   method="L-BFGS-B", jac=True, bounds=bounds)
    if not np.all(np.isfinite(res.x)) or not math.isfinite(res.fun):
        return DEFAULT_PRIOR
    r, a, s, b = (float(v) for v in np.exp(res.x))
    return Prior(r, a, s, b, len(summaries))


def typical_basket_log_sd(spreads: list[float], params: PopulationParams = PopulationParams()) -> float:
    """The shop's typical basket spread: the median of its customers' own (log-sd), within
    [`min_basket_log_sd`, `max_basket_log_sd`]; 0 (none known) from fewer than
    `min_spread_customers` customers.

    >>> typical_basket_log_sd([0.2, 0.25, 0.3] * 10), typical_basket_log_sd([0.2] * 5)
    (0.25, 0.0)
    >>> typical_basket_log_sd([0.05] * 30), typical_basket_log_sd([1.5] * 30)
    (0.15, 0.8)
    """
    if len(spreads) < params.min_spread_customers:
        return 0.0
    ordered = sorted(spreads)
    mid = len(ordered) // 2
    typical = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return min(params.max_basket_log_sd, max(params.min_basket_log_sd, typical))


class PopulationSample:
    """A bounded uniform sample of a partition's customers: the `size` smallest id hashes.

    The same customers whether built one update at a time or rebuilt from every state
    (after a restart or a rebalance), so a fit on it does not depend on history.

    >>> sample = PopulationSample(2)
    >>> for cid in ("a", "b", "c", "a"):
    ...     sample.update(CustomerState(cid, last_active=DAY, gaps=[1]))
    >>> len(sample), sorted(sample.members) == sorted(sorted(("a", "b", "c"), key=id_hash)[:2])
    (2, True)
    """

    def __init__(self, size: int, segment: SegmentParams = SegmentParams()) -> None:
        self.size = size
        self.segment = segment
        # Each member's id hash, summary, yearly orders and value up to their last order
        # (`segment.year_value`; 0 orders: none) and basket spread, packed (`_MEMBER`): one
        # 89-byte object a member instead of tuples and their numbers (470 B a member before,
        # 2,000 members a partition: the samples were most of a worker's fixed memory).
        self.members: dict[str, bytes] = {}
        # The members as a heap of (complement of the hash, big-endian) + id: its smallest is
        # the member with the largest hash, which a customer with a smaller hash replaces in
        # O(log size). (A scan of the members for the largest cost O(size) per replacement:
        # ~5,000 replacements of 2,000 each on a 25,000-customer partition, most of an index
        # rebuild's time.)
        self._by_hash: list[bytes] = []

    def __len__(self) -> int:
        return len(self.members)

    def _pack(self, h: int, s: tuple[int, float, int], state: CustomerState, spread: float | None = None) -> bytes:
        v = year_value(state, self.segment)
        if spread is None:
            spread = basket_log_sd(state)
            spread = math.nan if spread is None else spread
        return _MEMBER.pack(h, *s, *(v if v is not None else (0, 0.0, 0)), spread)

    def update(self, state: CustomerState, orders_changed: bool = True) -> None:
        """Record the customer's current summary if they belong to the sample.

        `orders_changed` False: the state's orders are those it had at its last update (a
        login, page view or complaint was applied), so a member's basket spread is kept
        rather than computed again.
        """
        s = summary(state)
        if s is None:
            return
        cid = state.customer_id
        held = self.members.get(cid)
        if held is not None:
            self.members[cid] = self._pack(_HASH.unpack_from(held)[0], s, state,
                                           None if orders_changed else _MEMBER.unpack(held)[-1])
            return
        h = id_hash(cid)
        key = (_HASH_MAX - h).to_bytes(8, "big") + cid.encode()
        if len(self.members) < self.size:
            self.members[cid] = self._pack(h, s, state)
            heapq.heappush(self._by_hash, key)
            return
        if self._by_hash and key > self._by_hash[0]:
            drop = heapq.heapreplace(self._by_hash, key)
            del self.members[drop[8:].decode()]
            self.members[cid] = self._pack(h, s, state)

    def _unpacked(self) -> list[tuple]:
        """(hash, x, t_x, last activity, yearly orders, value, last order, basket log-sd) of each member, by hash."""
        return sorted(_MEMBER.unpack(m) for m in self.members.values())

    def summaries(self) -> list[tuple[int, float, int]]:
        """The members' summaries, in a fixed order (by id hash)."""
        return [(x, t_x, last) for _, x, t_x, last, *_ in self._unpacked()]

    def year_values(self) -> list[tuple[int, float, int]]:
        """The members' yearly orders and value (`segment.year_value`), buyers only, in id-hash order."""
        return [(n, value, last) for _, _, _, _, n, value, last, _ in self._unpacked() if n]

    def basket_spreads(self) -> list[float]:
        """The members' basket log-sd (`detectors.order_value.basket_log_sd`), those with enough orders."""
        return [sd for *_, sd in self._unpacked() if not math.isnan(sd)]


# A sample member: id hash, summary (x, t_x, last activity), yearly value (orders, value, last order),
# basket log-sd (NaN: too few orders).
_MEMBER = struct.Struct("<QIdqIdqd")
_HASH = struct.Struct("<Q")
_HASH_MAX = 2 ** 64 - 1


class Population:
    """A partition's sample and its fitted prior, refitted every `refit_days` of event time.

    The sample is derived from the customer table (rebuild it with `update` over every
    state of the partition after a restart): the smallest id hashes of the same states come
    back identical. The fit is not: made at the period's first assessment, it saw the
    states of that moment. Its caller keeps the fit (`fitted`, `encode_fit`) where the
    partition's state survives a restart and gives it back with `restore`, so a restarted
    worker judges with the prior an uninterrupted one has. The prior moves the risk score,
    and the silence verdict on short histories and purchase logs (`silence.purchase_log`).

    >>> pop = Population(PopulationParams(min_customers=3, min_span_days=0))
    >>> for i in range(5):
    ...     pop.update(CustomerState(f"c{i}", last_active=(100 + i) * DAY, gaps=[7] * (i + 1)))
    >>> pop.prior(120 * DAY).customers
    5
    """

    #: Fits kept for assessments dated in an earlier period than the newest fit.
    KEEP_FITS = 4

    def __init__(self, params: PopulationParams = PopulationParams(), segment: SegmentParams = SegmentParams()) -> None:
        self.params = params
        self.segment = segment
        self.sample = PopulationSample(params.sample_size, segment)
        self._prior = DEFAULT_PRIOR
        self._period: int | None = None
        self._earlier: list[tuple[int, Prior]] = []     # (period, fit) before the current one, oldest first

    def update(self, state: CustomerState, orders_changed: bool = True) -> None:
        self.sample.update(state, orders_changed)

    def prior(self, now: int) -> Prior:
        """The prior to judge at event time `now`: fitted at the first call of each refit period.

        A call dated in an earlier period than the newest fit (a sweep judging a customer at
        their due time after a later event has already started a new period) gets the fit in
        force at that time, so a verdict does not depend on when the sweep ran.

        >>> pop = Population(PopulationParams(min_customers=1, min_span_days=0))
        >>> pop.update(CustomerState("a", last_active=5 * DAY, gaps=[2, 3]))
        >>> first = pop.prior(29 * DAY)                  # period 1 (days 28-55)
        >>> pop.update(CustomerState("b", last_active=60 * DAY, gaps=[9]))
        >>> second = pop.prior(57 * DAY)                 # period 2: refitted on both
        >>> first != second, pop.prior(50 * DAY) == first, pop.prior(58 * DAY) == second
        (True, True, True)
        """
        period = int(now // (self.params.refit_days * DAY))
        if self._period is None or period > self._period:
            if self._period is not None:
                self._earlier = (self._earlier + [(self._period, self._prior)])[-self.KEEP_FITS:]
            self._period = period
            self._prior = dataclasses.replace(fit(self.sample.summaries(), now, self.params),
                                              core_value=core_threshold(self.sample.year_values(), now, self.segment),
                                              basket_log_sd=typical_basket_log_sd(self.sample.basket_spreads(),
                                                                                  self.params))
        elif period < self._period:
            return next((p for fitted_in, p in reversed(self._earlier) if fitted_in <= period), self._prior)
        return self._prior

    @property
    def fitted(self) -> tuple[int | None, Prior]:
        """(refit period of the current fit, the fit); period None: nothing fitted yet."""
        return self._period, self._prior

    def restore(self, period: int, prior: Prior) -> None:
        """Take back a fit kept by `fitted` (after a restart: the sample is rebuilt, the fit is not).

        Only the newest fit is kept: a restarted worker judges a sweep dated before it with it.
        """
        self._period, self._prior = period, prior
        self._earlier = []


def encode_fit(period: int, prior: Prior) -> bytes:
    """A fit as bytes for a table (see `Population.fitted`).

    >>> decode_fit(encode_fit(3, Prior(0.5, 60.0, 0.7, 90.0, 1200, 812.5)))
    (3, Prior(r=0.5, alpha=60.0, s=0.7, beta=90.0, customers=1200, core_value=812.5, provisional=False, basket_log_sd=0.0))
    >>> decode_fit(encode_fit(1, YOUNG_PRIOR))[1] == YOUNG_PRIOR
    True
    """
    return json.dumps({"period": period, "r": prior.r, "alpha": prior.alpha, "s": prior.s,
                       "beta": prior.beta, "customers": prior.customers, "core_value": prior.core_value,
                       "provisional": prior.provisional, "basket_log_sd": prior.basket_log_sd}, sort_keys=True).encode()


def decode_fit(raw: bytes) -> tuple[int, Prior]:
    """The (period, prior) of `encode_fit`; ValueError for anything else. A fit written before
    the shop's core threshold was kept with it has none (0: the fixed threshold until the next fit).

    >>> decode_fit(b'{"alpha": 60.0, "beta": 90.0, "customers": 1200, "period": 3, "r": 0.5, "s": 0.7}')[1].core_value
    0.0
    """
    try:
        d = json.loads(raw)
        return int(d["period"]), Prior(float(d["r"]), float(d["alpha"]), float(d["s"]), float(d["beta"]),
                                       int(d["customers"]), float(d.get("core_value", 0.0)),
                                       bool(d.get("provisional", False)), float(d.get("basket_log_sd", 0.0)))
    except (TypeError, KeyError, ValueError) as err:
        raise ValueError(f"not a population fit: {err}") from None
