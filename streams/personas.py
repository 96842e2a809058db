"""Customer personas of the behaviour simulator: who does what, and how leavers leave.

Every simulated customer gets a *plan*: their own rhythm (days between orders, basket,
visits, categories, time of day, currency) and, per day of the period, multipliers on
their order rate, visit rate and order value. ``streams.simulate`` turns a plan into
events. The personas follow retention practice:

``steady``
    Own rhythm, with the noise real loyal customers show: vacations (1-3 weeks with
    nothing), lulls (a month or so at a fraction of the usual rate), bursts of extra
    orders, a rare small complaint, returns, a dip when a competitor runs a promotion in
    their favourite category. They stay.
``seasonal``
    Buy in two or three recurring seasons of the year, browse a little in between. Stay.
``new``
    Join part-way through with a first order. Most stay; some (``never_engaged``) leave
    after that first order.
``drifter``
    From ``decline_started_at`` their purchase frequency falls over weeks, then their
    visits thin out, then they stop.
``trade_down``
    Order value falls to 30-50 % of usual (a cheaper rival takes the big baskets) while
    frequency mostly holds; then they leave.
``complainer_leaver``
    Complaints about logistics, products or service, some escalated, at least one never
    resolved; orders slow down; they leave.
``abrupt``
    Steady until a date, then nothing at all.
``competitor_lured``
    Buy mostly in one category; a competitor's promotion (a market event) in that category
    starts; their orders in it stop, the rest follows, they leave.
``noisy_loyal``
    Complain often (all complaints get resolved) and keep buying.

Leavers are not separable by one feature: steady customers also concentrate on one
category, also pause (vacations, lulls), also complain; leavers' rhythms are drawn from
the same distributions as everyone else's. Churners' declines start at least
``history_days`` (default 120) into the period, so detectors have a baseline, and end early
enough that the silence after them is inside the period.

Example:
    >>> import numpy as np
    >>> cal = Calendar.build(datetime(2024, 1, 1, tzinfo=UTC), 365)
    >>> plan = plan_customer(np.random.default_rng(1), 0, "c000000", "drifter", cal, Rates(), [])
    >>> plan.churned, plan.cause, 120 <= plan.decline_day < plan.cutoff_day <= 365
    (True, 'drift', True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

import numpy as np

from schemas.errors import ChurnwatchError

#: Persona names, in the order the default mix lists them.
PERSONAS: tuple[str, ...] = (
    "steady",
    "seasonal",
    "new",
    "drifter",
    "trade_down",
    "complainer_leaver",
    "abrupt",
    "competitor_lured",
    "noisy_loyal",
)

#: Default share of each persona in the population (normalised before use).
DEFAULT_MIX: dict[str, float] = {
    "steady": 0.55,
    "seasonal": 0.06,
    "new": 0.08,
    "drifter": 0.06,
    "trade_down": 0.05,
    "complainer_leaver": 0.05,
    "abrupt": 0.05,
    "competitor_lured": 0.05,
    "noisy_loyal": 0.05,
}

#: Why a churner of a persona leaves (the ``cause`` column of the ground truth).
CAUSE_OF_PERSONA: dict[str, str] = {
    "drifter": "drift",
    "trade_down": "trade_down",
    "complainer_leaver": "unresolved_complaints",
    "abrupt": "abrupt",
    "competitor_lured": "competitor",
}
#: Cause of ``new`` customers who leave after their first order.
NEVER_ENGAGED = "never_engaged"

#: Product categories of the simulated shop.
CATEGORIES: tuple[str, ...] = (
    "electronics",
    "fashion",
    "home",
    "beauty",
    "sports",
    "books",
    "toys",
    "grocery",
    "garden",
    "pets",
)
# Typical basket size of a category relative to the customer's own basket: electronics
# baskets are bigger than book baskets, so a change of category mix moves order value.
CATEGORY_PRICE_FACTOR = np.array([2.0, 1.0, 1.3, 0.6, 1.1, 0.45, 0.7, 0.55, 1.2, 0.6])

#: Currencies: the shop's home currency first. Rates are units per EUR, roughly 2024.
CURRENCIES: tuple[str, ...] = ("EUR", "GBP", "SEK", "JPY")
CURRENCY_PER_EUR = np.array([1.0, 0.86, 11.4, 162.0])
CURRENCY_DECIMALS = (2, 2, 2, 0)
# UTC offset (hours) of customers paying in each currency: local evening shopping lands at
# a different UTC hour for a customer in Japan.
CURRENCY_UTC_OFFSET = np.array([1.0, 0.0, 1.0, 9.0])

MARKET_EVENT_KINDS: tuple[str, ...] = ("competitor_promotion", "competitor_price_cut", "competitor_launch")

COMPLAINT_STATUSES: tuple[str, ...] = ("opened", "escalated", "resolved", "reopened")
COMPLAINT_CATEGORIES: tuple[str, ...] = ("product", "logistics", "service", "billing", "other")
COMPLAINT_SEVERITIES: tuple[str, ...] = ("low", "medium", "high")


class SimulationConfigError(ChurnwatchError, ValueError):
    """A simulation setting (mix, rates, period) is out of range."""


@dataclass(frozen=True)
class Rates:
    """Behaviour rates of the simulated population. Units are in the field names.

    Defaults give about 100 events per customer-year and a churn share of roughly a
    quarter a year, typical of online retail.
    """

    order_gap_median_days: float = 40.0  # median over customers of their mean days between orders
    order_gap_sigma: float = 0.7  # log-normal spread over customers (0.7: ~13-125 days for 90 %)
    basket_median_eur: float = 60.0  # median over customers of their usual basket
    basket_sigma: float = 0.8  # log-normal spread of usual baskets over customers
    visits_median_per_month: float = 1.5  # browsing sessions without an order, median over customers
    visits_sigma: float = 1.1  # spread over customers: under one a month to near daily (99th percentile)
    vacations_per_year: float = 1.0  # 1-3 week breaks with no activity
    lulls_per_year: float = 0.6  # 3-7 week stretches at a fraction of the usual rates
    bursts_per_year: float = 1.5  # clusters of extra orders
    complaints_per_year: float = 0.4  # small complaints of ordinary customers
    noisy_complaints_per_year: float = 6.0  # complaints of noisy-but-loyal customers
    return_share: float = 0.04  # orders later returned
    cancel_share: float = 0.015  # orders cancelled within hours
    cross_border_share: float = 0.10  # customers paying in a foreign currency
    second_currency_share: float = 0.25  # of cross-border customers, those also paying in EUR
    never_engaged_share: float = 0.3  # of new customers, those leaving after their first order
    market_events_per_category_year: float = 3.0  # competitor actions per category, besides the ones that lure
    history_days: int = 120  # shortest history before a churner's decline starts
    tail_days: int = 30  # shortest time between a churner's last activity and the period end

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not np.isfinite(value) or value < 0:
                raise SimulationConfigError(f"rates.{name}={value!r}: expected a finite number >= 0")
        for name in ("return_share", "cancel_share", "cross_border_share", "second_currency_share", "never_engaged_share"):
            if getattr(self, name) > 1:
                raise SimulationConfigError(f"rates.{name}={getattr(self, name)!r}: expected a share from 0 to 1")
        if self.order_gap_median_days < 1 or self.basket_median_eur <= 0:
            raise SimulationConfigError("rates.order_gap_median_days must be >= 1 and basket_median_eur > 0")


def normalise_mix(mix: Mapping[str, float] | None) -> dict[str, float]:
    """Check a persona mix and scale it to sum to 1; ``None`` gives :data:`DEFAULT_MIX`.

    Personas left out get share 0.

    Example:
        >>> normalise_mix({"steady": 3, "abrupt": 1})["abrupt"]
        0.25
        >>> normalise_mix({"loyal": 1})
        Traceback (most recent call last):
        ...
        streams.personas.SimulationConfigError: unknown persona 'loyal': expected one of steady, seasonal, new, drifter, trade_down, complainer_leaver, abrupt, competitor_lured, noisy_loyal
    """
    source = DEFAULT_MIX if mix is None else mix
    for name, weight in source.items():
        if name not in PERSONAS:
            raise SimulationConfigError(f"unknown persona {name!r}: expected one of {', '.join(PERSONAS)}")
        if not np.isfinite(weight) or weight < 0:
            raise SimulationConfigError(f"mix share of {name}={weight!r}: expected a number >= 0")
    total = float(sum(source.values()))
    if total <= 0:
        raise SimulationConfigError("mix: expected at least one persona with a share above 0")
    return {name: float(source.get(name, 0.0)) / total for name in PERSONAS}


def parse_mix(text: str) -> dict[str, float]:
    """Parse ``"steady=0.6,drifter=0.1"`` into a mix; personas not named get share 0.

    Example:
        >>> parse_mix("steady=3, abrupt=1")
        {'steady': 3.0, 'abrupt': 1.0}
    """
    mix: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            mix[name.strip()] = float(value)
        except ValueError:
            raise SimulationConfigError(f"mix {part.strip()!r}: expected persona=share, e.g. steady=0.55") from None
    normalise_mix(mix)
    return mix


def parse_rates(text: str) -> Rates:
    """Parse ``"vacations_per_year=2, cross_border_share=0.2"`` into :class:`Rates`
    (fields not named keep their defaults).

    Example:
        >>> parse_rates("vacations_per_year=2").vacations_per_year
        2.0
        >>> parse_rates("holidays=3")
        Traceback (most recent call last):
        ...
        streams.personas.SimulationConfigError: unknown rate 'holidays': expected one of order_gap_median_days, order_gap_sigma, basket_median_eur, basket_sigma, visits_median_per_month, visits_sigma, vacations_per_year, lulls_per_year, bursts_per_year, complaints_per_year, noisy_complaints_per_year, return_share, cancel_share, cross_border_share, second_currency_share, never_engaged_share, market_events_per_category_year, history_days, tail_days
    """
    names = [f.name for f in fields(Rates)]
    values: dict[str, Any] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = (x.strip() for x in part.partition("="))
        if name not in names:
            raise SimulationConfigError(f"unknown rate {name!r}: expected one of {', '.join(names)}")
        try:
            if not sep:
                raise ValueError
            values[name] = int(value) if name in ("history_days", "tail_days") else float(value)
        except ValueError:
            raise SimulationConfigError(f"rate {part.strip()!r}: expected name=number, e.g. vacations_per_year=2") from None
    return Rates(**values)


def persona_counts(n_customers: int, mix: Mapping[str, float]) -> dict[str, int]:
    """Exact head counts per persona for ``n_customers`` (largest remainders), so small
    populations still get every persona with a meaningful share.

    Example:
        >>> persona_counts(10, normalise_mix({"steady": 0.55, "abrupt": 0.45}))["abrupt"]
        4
    """
    shares = normalise_mix(mix)
    exact = {name: shares[name] * n_customers for name in PERSONAS}
    counts = {name: int(np.floor(v)) for name, v in exact.items()}
    left = n_customers - sum(counts.values())
    by_remainder = sorted(PERSONAS, key=lambda name: (-(exact[name] - counts[name]), PERSONAS.index(name)))
    for name in by_remainder[:left]:
        counts[name] += 1
    return counts


@dataclass(frozen=True)
class Calendar:
    """The simulated period: start, length in days, and day-by-day calendar facts."""

    start: datetime
    days: int
    start_epoch: int
    #: Multiplier on everybody's order rate per day: holiday season up, summer down.
    season: np.ndarray
    #: Day of year (1-366) of each day of the period.
    day_of_year: np.ndarray

    @classmethod
    def build(cls, start: datetime, days: int) -> Calendar:
        """Calendar of ``days`` days from ``start`` (midnight UTC of that date)."""
        if start.tzinfo is None:
            raise SimulationConfigError(f"start={start.isoformat()}: expected a timezone-aware time (UTC)")
        if days < 1:
            raise SimulationConfigError(f"days={days}: expected at least 1")
        start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        doy = np.array([(start + timedelta(days=i)).timetuple().tm_yday for i in range(days)])
        season = np.ones(days)
        season[(doy >= 319) & (doy <= 358)] = 1.4  # mid-November to Christmas
        season[(doy >= 182) & (doy <= 243)] = 0.85  # July and August
        return cls(start, days, int(start.timestamp()), season, doy)


@dataclass(frozen=True)
class MarketAction:
    """A competitor's action in a category: becomes one ``market_event``."""

    index: int
    category: int
    day: float
    kind: str
    strength: float
    duration_days: float


def plan_market(rng: np.random.Generator, cal: Calendar, rates: Rates) -> list[MarketAction]:
    """Competitor actions over the period, per category.

    Every category gets at least two actions in the window where churners' declines can
    start, so competitor-lured customers always find one; the others fall anywhere, and most
    customers shrug them off (a small dip at most).

    Example:
        >>> cal = Calendar.build(datetime(2024, 1, 1, tzinfo=UTC), 365)
        >>> actions = plan_market(np.random.default_rng(0), cal, Rates())
        >>> {a.category for a in actions if 120 <= a.day <= 245} == set(range(len(CATEGORIES)))
        True
    """
    actions: list[tuple[int, float, str, float, float]] = []
    years = cal.days / 365.0
    lo = min(rates.history_days, cal.days - 1)
    hi = max(lo + 1, cal.days - rates.tail_days - 90)
    for cat in range(len(CATEGORIES)):
        days = list(rng.uniform(lo, hi, size=2))
        days += list(rng.uniform(0, cal.days, size=rng.poisson(rates.market_events_per_category_year * years)))
        for day in days:
            kind = MARKET_EVENT_KINDS[choose(rng, [0.5, 0.3, 0.2])]
            actions.append((cat, float(day), kind, float(rng.uniform(0.3, 1.0)), float(rng.uniform(7, 30))))
    actions.sort(key=lambda a: (a[1], a[0]))
    return [MarketAction(i, *a) for i, a in enumerate(actions)]


@dataclass(frozen=True)
class ComplaintPlan:
    """One complaint's life: days (from the period start) of each state change, or None."""

    opened: float
    category: int
    severity: int
    escalated: float | None = None
    resolved: float | None = None
    reopened: float | None = None
    resolved_again: float | None = None


@dataclass
class CustomerPlan:
    """Everything the event generator needs about one customer."""

    index: int
    customer_id: str
    persona: str
    churned: bool
    cause: str
    gap_days: float  # mean days between orders in the normal rhythm
    shape: float  # regularity of gaps (gamma shape: 1 = Poisson, 4 = quite regular)
    basket_eur: float
    basket_cv: float
    items_mean: float
    visits_per_day: float
    pages_mean: float
    login_share: float
    app_share: float
    category_probs: np.ndarray
    hour_center_utc: float
    hour_sd: float
    currency: int
    second_currency_share: float
    order_mult: np.ndarray  # per day
    visit_mult: np.ndarray  # per day
    amount_mult: np.ndarray  # per day
    cutoff_day: float  # nothing at or after this day (period length for stayers)
    decline_day: float | None = None
    join_day: float = 0.0
    lured_category: int | None = None
    lured_from_day: float | None = None
    complaints: list[ComplaintPlan] = field(default_factory=list)
    extra_order_days: list[float] = field(default_factory=list)
    extra_visit_days: list[float] = field(default_factory=list)
    help_share: float = 0.02  # share of page views on help pages
    usual_gap_days: float = 0.0


def choose(rng: np.random.Generator, p: Sequence[float] | np.ndarray, size: int | None = None) -> Any:
    """Index drawn with probabilities ``p`` (need not sum to 1); ``size`` gives an array.

    Same role as ``rng.choice(len(p), p=p)``, several times faster on the small arrays the
    simulator draws per customer.

    Example:
        >>> choose(np.random.default_rng(0), [0.0, 1.0, 0.0])
        1
    """
    cdf = np.cumsum(p)
    if size is None:
        return int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")


def _clip(value: float, lo: float, hi: float) -> float:
    # min/max on Python floats: np.clip costs microseconds per scalar, per customer.
    return float(min(max(value, lo), hi))


def _ramp(x: np.ndarray, a: float, b: float, va: float, vb: float) -> np.ndarray:
    """va before day a, vb after day b, linear in between."""
    if b <= a:
        return np.where(x < a, va, vb)
    return np.interp(x, [a, b], [va, vb])


def _draw_rhythm(rng: np.random.Generator, rates: Rates) -> dict:
    """The persona-independent parts of a customer: everyone draws from the same ranges."""
    gap = _clip(rng.lognormal(math.log(rates.order_gap_median_days), rates.order_gap_sigma), 5, 200)
    cat_probs = rng.dirichlet(np.full(len(CATEGORIES), 0.25))
    if rng.random() < rates.cross_border_share:
        currency = 1 + choose(rng, [0.4, 0.3, 0.3])
        second = float(rng.uniform(0.2, 0.4)) if rng.random() < rates.second_currency_share else 0.0
    else:
        currency, second = 0, 0.0
    local_hour = float((9.0, 12.5, 20.5)[choose(rng, [0.25, 0.25, 0.5])] + rng.normal(0, 1.0))
    return {
        "gap_days": gap,
        "shape": float(rng.uniform(1.3, 4.0)),
        "basket_eur": _clip(rng.lognormal(math.log(rates.basket_median_eur), rates.basket_sigma), 5, 5000),
        "basket_cv": float(rng.uniform(0.15, 0.45)),
        "items_mean": float(rng.uniform(0.3, 3.0)),
        "visits_per_day": float(
            _clip(rng.lognormal(math.log(rates.visits_median_per_month), rates.visits_sigma), 0.3, 40) / 30.4
        ),
        "pages_mean": float(rng.uniform(1.0, 2.4)),
        "login_share": float(rng.uniform(0.2, 0.9)),
        "app_share": float(rng.random()),
        "category_probs": cat_probs,
        "hour_center_utc": (local_hour - CURRENCY_UTC_OFFSET[currency]) % 24.0,
        "hour_sd": float(rng.uniform(1.0, 3.0)),
        "currency": currency,
        "second_currency_share": second,
    }


def _add_noise(rng: np.random.Generator, x: np.ndarray, order_mult: np.ndarray, visit_mult: np.ndarray,
               rates: Rates, from_day: float, until_day: float) -> list[float]:
    """Vacations, lulls and bursts between from_day and until_day; returns burst order days."""
    span = max(0.0, until_day - from_day)
    years = span / 365.0
    for _ in range(rng.poisson(rates.vacations_per_year * years)):
        start = rng.uniform(from_day, until_day)
        off = (x >= start) & (x < start + rng.uniform(7, 21))
        order_mult[off] = 0.0
        visit_mult[off] = 0.0
    for _ in range(rng.poisson(rates.lulls_per_year * years)):
        start = rng.uniform(from_day, until_day)
        low = (x >= start) & (x < start + rng.uniform(20, 50))
        order_mult[low] *= rng.uniform(0.15, 0.5)
        visit_mult[low] *= rng.uniform(0.3, 0.8)
    extra: list[float] = []
    for _ in range(rng.poisson(rates.bursts_per_year * years)):
        start = rng.uniform(from_day, until_day)
        extra.extend(float(start + d) for d in np.sort(rng.uniform(0, 6, size=rng.integers(1, 4))))
    return [d for d in extra if d < until_day]


def _small_complaints(rng: np.random.Generator, rate_per_year: float, from_day: float, until_day: float,
                      *, noisy: bool) -> list[ComplaintPlan]:
    """Complaints of customers who stay: resolved (nearly always), rarely escalated."""
    years = max(0.0, until_day - from_day) / 365.0
    plans = []
    for day in np.sort(rng.uniform(from_day, until_day, size=rng.poisson(rate_per_year * years))):
        day = float(day)
        if noisy:
            category = choose(rng, [0.3, 0.3, 0.2, 0.1, 0.1])
            severity = choose(rng, [0.4, 0.4, 0.2])
            escalate_p, resolve_p, reopen_p = 0.25, 1.0, 0.15
        else:
            category = choose(rng, [0.35, 0.35, 0.1, 0.1, 0.1])
            severity = choose(rng, [0.6, 0.35, 0.05])
            escalate_p, resolve_p, reopen_p = 0.05, 0.95, 0.03
        escalated = day + float(rng.uniform(1, 6)) if rng.random() < escalate_p else None
        resolved = None
        reopened = resolved_again = None
        if rng.random() < resolve_p:
            resolved = (escalated or day) + float(rng.uniform(1, 20))
            if rng.random() < reopen_p:
                reopened = resolved + float(rng.uniform(1, 10))
                resolved_again = reopened + float(rng.uniform(1, 10))
        plans.append(ComplaintPlan(day, category, severity, escalated, resolved, reopened, resolved_again))
    return plans


def _leaver_complaints(rng: np.random.Generator, d0: float, length: float) -> list[ComplaintPlan]:
    """Complaints of a customer about to leave: serious, often escalated, at least one open."""
    n = int(rng.integers(2, 5))
    days = np.sort(np.concatenate([[d0], rng.uniform(d0, d0 + 0.6 * length, size=n - 1)]))
    plans = []
    for day in days:
        day = float(day)
        category = choose(rng, [0.35, 0.4, 0.25])  # product, logistics, service
        severity = choose(rng, [0.1, 0.5, 0.4])
        escalated = day + float(rng.uniform(2, 10)) if rng.random() < 0.5 else None
        resolved = reopened = None
        if rng.random() < 0.3:
            resolved = (escalated or day) + float(rng.uniform(5, 25))
            if rng.random() < 0.4:
                reopened = resolved + float(rng.uniform(2, 10))
        plans.append(ComplaintPlan(day, category, severity, escalated, resolved, reopened))
    if all(p.resolved is not None and p.reopened is None for p in plans):
        last = plans[-1]
        plans[-1] = ComplaintPlan(last.opened, last.category, last.severity, last.escalated)
    return plans


def _decline_window(rng: np.random.Generator, cal: Calendar, rates: Rates, length: float,
                    tail: float | None = None) -> tuple[float, float]:
    """A decline start day and a length that fit the period after the history.

    ``tail`` (default ``rates.tail_days``) is the quiet time wanted after the decline; when
    the period is too short it shrinks first (down to ``rates.tail_days``), then the decline.
    """
    lo = float(rates.history_days)
    room = cal.days - lo - rates.tail_days  # >= 30 whenever days >= min_days_for(...)
    length = float(min(length, max(room, 0.0)))
    tail = float(min(max(rates.tail_days, tail or 0.0), cal.days - lo - length))
    hi = cal.days - tail - length
    return (float(rng.uniform(lo, hi)) if hi > lo else lo), length


def min_days_for(mix: Mapping[str, float], rates: Rates) -> int:
    """Shortest period that leaves churners their history, a decline and a tail.

    Example:
        >>> min_days_for(DEFAULT_MIX, Rates())
        180
        >>> min_days_for({"steady": 1}, Rates())
        1
    """
    shares = normalise_mix(mix)
    if all(shares[p] == 0 for p in CAUSE_OF_PERSONA):
        return 1
    # History for a baseline, a month of decline, a month of silence after it.
    return rates.history_days + 30 + rates.tail_days


def plan_customer(rng: np.random.Generator, index: int, customer_id: str, persona: str, cal: Calendar,
                  rates: Rates, market: Sequence[MarketAction]) -> CustomerPlan:
    """Draw one customer of ``persona``: rhythm, noise and (for leavers) the decline."""
    days = cal.days
    x = np.arange(days) + 0.5
    r = _draw_rhythm(rng, rates)
    order_mult = cal.season.copy()
    visit_mult = np.ones(days)
    amount_mult = np.ones(days)
    churned, cause = persona in CAUSE_OF_PERSONA, CAUSE_OF_PERSONA.get(persona, "")
    plan = CustomerPlan(index=index, customer_id=customer_id, persona=persona, churned=churned, cause=cause,
                        order_mult=order_mult, visit_mult=visit_mult, amount_mult=amount_mult,
                        cutoff_day=float(days), **r)
    plan.usual_gap_days = plan.gap_days

    if persona == "seasonal":
        _plan_seasonal(rng, plan, cal, rates)
        return plan
    if persona == "new":
        if _plan_new(rng, plan, cal, rates):
            return plan
    if persona == "competitor_lured":
        _concentrate(rng, plan)

    # Noise over the stretch the customer behaves normally: the whole period for stayers,
    # up to the decline for leavers (the decline is drawn below, the noise after it).
    end_normal = float(days)
    d0 = length = None
    if persona == "drifter":
        d0, length = _decline_window(rng, cal, rates, _clip(plan.gap_days * rng.uniform(2, 4), 40, 150))
    elif persona == "trade_down":
        d0, length = _decline_window(rng, cal, rates, _clip(plan.gap_days * rng.uniform(3, 5), 60, 180))
    elif persona == "complainer_leaver":
        d0, length = _decline_window(rng, cal, rates, float(rng.uniform(30, 100)))
    elif persona == "abrupt":
        # Leave room for "twice the usual gap" of silence after the stop when the period allows.
        d0, length = _decline_window(rng, cal, rates, 0.0, tail=max(rates.tail_days, 2 * plan.gap_days + 7))
    elif persona == "competitor_lured":
        d0, length = _plan_lure(rng, plan, cal, rates, market)
    if d0 is not None:
        end_normal = d0
    extra = _add_noise(rng, x, order_mult, visit_mult, rates, plan.join_day, end_normal)
    plan.extra_order_days.extend(d for d in extra if d >= plan.join_day)
    if persona == "noisy_loyal":
        plan.complaints = _small_complaints(rng, rates.noisy_complaints_per_year, plan.join_day, days, noisy=True)
        plan.help_share = 0.08
    else:
        plan.complaints = _small_complaints(rng, rates.complaints_per_year, plan.join_day, end_normal, noisy=False)
    if d0 is None or length is None:
        return plan

    assert d0 is not None
    end = d0 + length
    plan.decline_day = d0
    if persona == "drifter":
        order_mult *= _ramp(x, d0, d0 + 0.6 * length, 1.0, 0.0)
        visit_mult *= _ramp(x, d0 + 0.3 * length, end, 1.0, 0.1)
    elif persona == "trade_down":
        amount_mult *= _ramp(x, d0, d0 + rng.uniform(7, 21), 1.0, rng.uniform(0.3, 0.5))
        order_mult *= np.where(x < d0, 1.0, np.where(x < d0 + 0.75 * length, 0.9, 0.0))
        visit_mult *= _ramp(x, d0 + 0.6 * length, end, 1.0, 0.2)
    elif persona == "complainer_leaver":
        plan.complaints += _leaver_complaints(rng, d0, length)
        plan.help_share = 0.15
        order_mult *= np.where(x < d0, 1.0, np.where(x < d0 + 0.5 * length, 0.4, 0.0))
        visit_mult *= _ramp(x, d0 + 0.5 * length, end, 1.0, 0.1)
    elif persona == "competitor_lured":
        order_mult *= np.where(x < d0, 1.0, np.where(x < d0 + 0.6 * length, 0.8, 0.0))
        visit_mult *= _ramp(x, d0 + 0.4 * length, end, 1.0, 0.1)
    if persona == "abrupt":
        end = d0
    else:
        # A last look at the shop near the end of the decline: leavers rarely vanish mid-step.
        # It ends a day before the cut so its time of day cannot push it past the cut.
        plan.extra_visit_days.append(float(rng.uniform(d0 + 0.6 * length, end - 1.0)))
    order_mult[x >= end] = 0.0
    visit_mult[x >= end] = 0.0
    plan.cutoff_day = float(end)
    return plan


def _concentrate(rng: np.random.Generator, plan: CustomerPlan) -> None:
    """Make one category take 70-90 % of the customer's purchases."""
    main = choose(rng, plan.category_probs)
    share = rng.uniform(0.7, 0.9)
    rest = plan.category_probs.copy()
    rest[main] = 0.0
    rest = rest / rest.sum() if rest.sum() > 0 else np.full(len(CATEGORIES), 1 / (len(CATEGORIES) - 1))
    rest[main] = 0.0
    plan.category_probs = rest * (1 - share)
    plan.category_probs[main] = share
    plan.lured_category = main


def _plan_lure(rng: np.random.Generator, plan: CustomerPlan, cal: Calendar, rates: Rates,
               market: Sequence[MarketAction]) -> tuple[float, float]:
    """Pick the competitor action in the customer's main category that lures them away."""
    length = _clip(plan.gap_days * rng.uniform(2, 4), 40, 140)
    lo, hi = rates.history_days, cal.days - rates.tail_days - 40
    fitting = [a for a in market if a.category == plan.lured_category and lo <= a.day <= hi]
    if not fitting:  # only when the period is too short for the guaranteed actions
        d0, length = _decline_window(rng, cal, rates, length)
        plan.lured_from_day = d0
        return d0, length
    action = fitting[int(rng.integers(len(fitting)))]
    d0 = action.day + float(rng.uniform(0, 5))
    length = float(min(length, cal.days - rates.tail_days - d0))
    plan.lured_from_day = d0
    return d0, length


def _plan_seasonal(rng: np.random.Generator, plan: CustomerPlan, cal: Calendar, rates: Rates) -> None:
    """Orders only in 2-3 recurring seasons; a little browsing all year, more in season."""
    centres = np.array([100, 185, 250, 335])  # spring, summer, back to school, winter holidays
    chosen = rng.choice(4, size=int(rng.integers(2, 4)), replace=False, p=[0.2, 0.25, 0.2, 0.35])
    in_season = np.zeros(cal.days, dtype=bool)
    total_width = 0.0
    for c in chosen:
        width = float(rng.uniform(20, 40))
        total_width += width
        distance = np.abs(((cal.day_of_year - centres[c] + 183) % 366) - 183)
        in_season |= distance <= width / 2
    plan.gap_days = float(rng.uniform(7, 15))
    plan.order_mult[:] = np.where(in_season, 1.0, 0.0)
    plan.visit_mult[:] = np.where(in_season, 3.0, 1.0)
    plan.visits_per_day = float(rng.uniform(0.5, 2.0)) / 30.4
    plan.usual_gap_days = 365.0 / max(1.0, total_width / plan.gap_days)
    plan.complaints = _small_complaints(rng, rates.complaints_per_year, 0.0, cal.days, noisy=False)


def _plan_new(rng: np.random.Generator, plan: CustomerPlan, cal: Calendar, rates: Rates) -> bool:
    """Join part-way through with a first order; returns True when the plan is complete
    (a never-engaged customer), False when the customer goes on like a steady one."""
    never = rng.random() < rates.never_engaged_share and cal.days > 60
    latest_join = cal.days - (60 if never else 45)
    # Whole days: events get their time of day later, and none may fall before the join.
    join = float(np.floor(rng.uniform(min(14.0, latest_join / 2), max(latest_join, 1.0))))
    first_order = join + float(rng.uniform(0, 3))
    plan.join_day = join
    plan.order_mult[np.arange(cal.days) + 0.5 < join] = 0.0
    plan.visit_mult[np.arange(cal.days) + 0.5 < join] = 0.0
    plan.extra_order_days.append(first_order)
    if not never:
        return False
    plan.churned, plan.cause = True, NEVER_ENGAGED
    plan.order_mult[:] = 0.0
    plan.visit_mult[:] = 0.0
    plan.extra_visit_days.extend(float(d) for d in first_order + np.sort(rng.uniform(0.5, 30, size=rng.integers(0, 4))))
    plan.decline_day = first_order
    plan.cutoff_day = float(np.floor(max([first_order] + plan.extra_visit_days))) + 1.0
    return True
