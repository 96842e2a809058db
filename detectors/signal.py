"""What a detector returns, and the small statistics the detectors share.

Every detector reports a `Signal` with a `strength` in [0, 1] on one common scale:

* 0.5 is the detector's own alarm threshold: at or above it the signal *fires* and can
  carry a warning on its own;
* 1.0 is evidence as strong as the detector ever reports ("certain" within its model);
* below 0.5 the signal is still reported so the risk score stays continuous (it ranks
  customers even when nothing fires), but it raises no warning alone.

Keeping one scale lets `detectors.warning` combine signals without knowing their units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

# The Cython binding of SciPy's `betainc`: the same routine as the ufunc (`scipy.special.betainc`,
# bit for bit), without the ufunc's array dispatch, which is most of a scalar call's cost.
from scipy.special.cython_special import betainc as _scipy_betainc

from schemas.outputs import SIGNAL_KINDS as CONTRACT_SIGNAL_KINDS

FIRE = 0.5

# The rule detectors' kinds: the contract's list (schemas.outputs, the single source of
# truth consumers route on) less the model-derived kinds.
SIGNAL_KINDS = tuple(k for k in CONTRACT_SIGNAL_KINDS if k not in ("model_risk", "behaviour_drift"))


@dataclass(frozen=True)
class Signal:
    """One piece of evidence, in the customer's own numbers.

    kind: one of SIGNAL_KINDS (part of the warning contract: consumers route on it).
    strength: 0..1 on the common scale above.
    current / baseline: the figure now and the customer's usual figure, in `unit`.
    window_days: the window `current` was measured over.
    detail: one sentence a retention team can read.
    """

    kind: str
    strength: float
    current: float
    baseline: float
    unit: str
    window_days: float
    detail: str

    @property
    def fires(self) -> bool:
        return self.strength >= FIRE

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "strength": round(self.strength, 4),
            "current": round(self.current, 4),
            "baseline": round(self.baseline, 4),
            "unit": self.unit,
            "window_days": round(self.window_days, 2),
            "detail": self.detail,
        }


def ratio_strength(x: float, threshold: float, full: float) -> float:
    """Strength of a "bigger is worse" measure: 0.5 at `threshold`, 1.0 at `full`.

    Linear from 0 at x=0 up to 0.5 at the threshold, then linear up to 1.0 at `full`.

    >>> ratio_strength(14, 14, 28), ratio_strength(28, 14, 28), ratio_strength(7, 14, 28)
    (0.5, 1.0, 0.25)
    """
    if x <= 0 or threshold <= 0:
        return 0.0
    if x < threshold:
        return 0.5 * x / threshold
    if full <= threshold:
        return 1.0
    return min(1.0, 0.5 + 0.5 * (x - threshold) / (full - threshold))


def pvalue_strength(p: float, p_fire: float, p_full: float) -> float:
    """Strength of a tail probability: 0.5 at `p_fire`, 1.0 at `p_full`, log-linear between.

    >>> pvalue_strength(0.01, 0.01, 0.0001), pvalue_strength(0.0001, 0.01, 0.0001)
    (0.5, 1.0)
    >>> pvalue_strength(1.0, 0.01, 0.0001)
    0.0
    """
    p = min(max(p, 1e-300), 1.0)
    if p >= p_fire:
        # 0 at p = 1, 0.5 at p_fire, log-linear
        return abs(0.5 * math.log(p) / math.log(p_fire)) if p_fire < 1 else 0.0
    return min(1.0, 0.5 + 0.5 * math.log(p_fire / p) / math.log(p_fire / p_full))


def poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu).

    >>> round(poisson_cdf(1, 3.0), 4)
    0.1991
    """
    if k < 0:
        return 0.0
    if mu <= 0:
        return 1.0
    term = math.exp(-mu)
    total = term
    for i in range(1, k + 1):
        term *= mu / i
        total += term
    return min(1.0, total)


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile of a non-empty list.

    >>> quantile([1, 2, 3, 4], 0.5)
    2.5
    """
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    pos = q * (len(xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def noisy_or(strengths: list[float]) -> float:
    """Probability-style union of independent pieces of evidence.

    >>> noisy_or([0.5, 0.5])
    0.75
    """
    acc = 1.0
    for s in strengths:
        acc *= 1.0 - min(max(s, 0.0), 1.0)
    return 1.0 - acc


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) (SciPy's, from Cephes).

    The predictive tail of gamma waiting times with an unknown rate: of n past gaps summing
    to S (shape k each), the chance that the next m take T or more is I_{S/(S+T)}(nk, mk).
    The next-change searches evaluate it hundreds of thousands of times on a year of
    history: a continued fraction in Python (Numerical Recipes 6.4, stopped at a relative
    step of 1e-10) was a tenth of the processor's time; SciPy's agrees with it to better
    than 1e-10, far below what a log-scale tail comparison at an hour's resolution can tell.
    It is called through SciPy's Cython binding: about 0.3 µs a call instead of the ufunc's 1.5.

    >>> round(betainc(2, 3, 0.4), 6)      # 6x^2(1/2 - 2x/3 + x^2/4) at x = 0.4
    0.5248
    >>> abs(betainc(6, 1, 0.7) - 0.7 ** 6) < 1e-12
    True
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    return _scipy_betainc(float(a), float(b), float(x))   # the binding takes doubles only


def first_crossing(f: Callable[[float], float], lo: float, hi: float, f_lo: float, f_hi: float,
                   tol: float, pad: float, whole: bool = False) -> float:
    """The least point found where an increasing `f` is >= 0, within `tol` of the crossing.

    `f(lo) = f_lo < 0 <= f_hi = f(hi)` bracket it. Regula falsi with the Illinois change (the
    end that stays put has its value halved, so neither end sticks): on a function smooth
    near its crossing, a handful of evaluations instead of a bisection's dozens. Each step is
    kept `pad` inside the bracket; `whole` keeps the points whole numbers (event times in
    seconds). The result always has `f >= 0`, so a search for the time a signal fires never
    stops just short of it.

    >>> round(first_crossing(lambda x: x * x - 2, 1.0, 2.0, -1.0, 2.0, 1e-9, 1e-10), 9)
    1.414213562
    >>> first_crossing(lambda t: t - 1000, 0, 4096, -1000, 3096, 60, 30, whole=True) >= 1000
    True
    """
    side = 0
    while hi - lo > tol:
        mid = hi - f_hi * (hi - lo) / (f_hi - f_lo) if f_hi != f_lo else (lo + hi) / 2
        if whole:
            mid = int(mid)
        mid = min(max(mid, lo + pad), hi - pad)
        f_mid = f(mid)
        if f_mid >= 0:
            hi, f_hi = mid, f_mid
            if side == 1:
                f_lo /= 2
            side = 1
        else:
            lo, f_lo = mid, f_mid
            if side == -1:
                f_hi /= 2
            side = -1
    return hi
