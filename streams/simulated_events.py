"""Turn customer plans (``streams.personas``) into events, a batch of customers at a time.

Events are held in a column store: one numpy array per field, shared by all event types,
because a million Python objects would be slow to build and sort. Customers are processed
in batches so that each numpy call covers hundreds of customers at once; the per-call
overhead would otherwise dominate (a customer has only about a hundred events a year).

How events come about. Orders are a renewal process with gamma-distributed gaps (mean
``gap_days``, regularity ``shape``) run in the customer's *operational time*: the running
sum of their daily order multiplier. Where the multiplier is 0 (a vacation, after leaving)
the process's clock stands still, so a vacation postpones the next order rather than
losing it, and a decline stretches gaps out. Plain visits are the same with a Poisson
rhythm. Each order or visit is a session: maybe a login (sometimes after a failed
attempt), one or more page views whose dwell times add up, and for orders the order itself
a few seconds after the last page. Times of day follow the customer's habit in their own
time zone.

Column store fields (``COLUMNS``):

====  =======  ===================================================================
t     float64  event time, days since the period start (epoch seconds once placed)
typ   int8     type code: LOGIN, PAGE_VIEW, ORDER, COMPLAINT, MARKET
a     float64  amount (orders) or dwell seconds (page views)
n1    int32    session number / order number / complaint number / market action index
n2    int32    items (orders) / product id (page views)
k1    int8     channel / page kind / order status / complaint status
k2    int8     product category (-1 = none) / complaint category
k3    int8     login success / currency / complaint severity
row   int32    customer's position in the batch
====  =======  ===================================================================

Example:
    >>> from datetime import datetime, UTC
    >>> from streams.personas import Calendar, Rates, plan_customer
    >>> cal = Calendar.build(datetime(2024, 1, 1, tzinfo=UTC), 365)
    >>> plans = [plan_customer(np.random.default_rng(i), i, f"c{i}", "steady", cal, Rates(), []) for i in range(3)]
    >>> cols = batch_events(np.random.default_rng(0), plans, cal, Rates(), np.zeros((len(CATEGORIES), 365)))
    >>> sorted(set(cols["row"].tolist())), bool(np.all(np.diff(cols["row"]) >= 0))
    ([0, 1, 2], True)
    >>> {"login", "order", "page_view"} <= {TYPE_NAMES[t] for t in cols["typ"].tolist()}
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from streams.personas import (
    CATEGORIES,
    CATEGORY_PRICE_FACTOR,
    CURRENCY_DECIMALS,
    CURRENCY_PER_EUR,
    Calendar,
    CustomerPlan,
    MarketAction,
    Rates,
)

LOGIN, PAGE_VIEW, ORDER, COMPLAINT, MARKET = 0, 1, 2, 3, 4
TYPE_NAMES = ("login", "page_view", "order", "complaint", "market_event")
CHANNELS = ("web", "app", "other")
ORDER_STATUSES = ("placed", "cancelled", "returned")
#: Page kinds (index = ``k1`` of a page view): path, and whether it shows a category.
PAGES = ("/", "/c/", "/p/", "/search", "/cart", "/checkout", "/account", "/help")
PAGE_HAS_CATEGORY = np.array([False, True, True, False, False, False, False, False])
# Share of each page kind among browsing pages; checkout only ends an order session and
# help pages get a per-customer share.
_BROWSE_CDF = np.cumsum([0.15, 0.25, 0.35, 0.10, 0.05, 0.0, 0.10])
_CHECKOUT, _HELP = 5, 7
_WHOLE_UNITS = np.array(CURRENCY_DECIMALS) == 0  # currencies without minor units (JPY)
_MIN_AMOUNT = np.where(_WHOLE_UNITS, 100.0, 1.0)

COLUMNS = ("t", "typ", "a", "n1", "n2", "k1", "k2", "k3", "row")
DTYPES: dict[str, Any] = {"t": np.float64, "typ": np.int8, "a": np.float64, "n1": np.int32, "n2": np.int32,
                          "k1": np.int8, "k2": np.int8, "k3": np.int8, "row": np.int32}

#: Customers per batch: big enough to amortise numpy's per-call cost, small enough that the
#: per-day matrices (customers x days) stay a few MB.
BATCH_SIZE = 256


def _block(typ: int, row: np.ndarray, t: np.ndarray, **cols: Any) -> dict[str, np.ndarray]:
    """Columns of ``len(t)`` events of one type; columns not given are 0."""
    n = len(t)
    out = {"t": np.asarray(t, dtype=np.float64), "typ": np.full(n, typ, dtype=np.int8),
           "row": np.asarray(row, dtype=np.int32)}
    for name in ("a", "n1", "n2", "k1", "k2", "k3"):
        value = cols.get(name, 0)
        if isinstance(value, np.ndarray):
            out[name] = value.astype(DTYPES[name], copy=False)
        else:
            out[name] = np.full(n, value, dtype=DTYPES[name])
    return out


def _renewal(rng: np.random.Generator, mult: np.ndarray, gap: np.ndarray, shape: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray]:
    """Renewal processes, one per row of ``mult`` (customers x days), in operational time.

    Returns ``(row, day)`` of every event, grouped by row and increasing within a row.
    """
    n_rows, n_days = mult.shape
    op = np.zeros((n_rows, n_days + 1))
    np.cumsum(mult, axis=1, out=op[:, 1:])
    total = op[:, -1]
    count = (total / gap * 1.25).astype(np.int64) + 8
    row = np.repeat(np.arange(n_rows), count)
    steps = rng.gamma(shape[row], (gap / shape)[row])
    first = np.cumsum(count) - count
    ends = np.cumsum(steps)
    # Exclusive running sum within each row, plus a random phase.
    s = rng.uniform(0.0, gap)[row] + ends - steps - (ends[first] - steps[first])[row]
    last = s[first + count - 1] + steps[first + count - 1]
    short = np.flatnonzero(last < total)
    while len(short):  # rare: an unusually regular customer needed more draws
        more = rng.gamma(shape[short][:, None], (gap / shape)[short][:, None], size=(len(short), 32))
        extra = last[short][:, None] + np.cumsum(more, axis=1) - more
        row = np.concatenate((row, np.repeat(short, 32)))
        s = np.concatenate((s, extra.ravel()))
        last[short] = extra[:, -1] + more[:, -1]
        short = short[last[short] < total[short]]
    keep = s < total[row]
    row, s = row[keep], s[keep]
    order = np.lexsort((s, row))
    row, s = row[order], s[order]
    # Map operational time back to days: find each point's day in its own row's running sum.
    # Offsetting every row by more than any total makes one flat, increasing array to search.
    offset = np.arange(n_rows) * (float(total.max()) + 10.0)
    flat = (op + offset[:, None]).ravel()
    pos = np.searchsorted(flat, s + offset[row], side="right") - 1
    day = np.clip(pos - row * (n_days + 1), 0, n_days - 1)
    lo, hi = op[row, day], op[row, day + 1]
    return row, day + (s - lo) / np.where(hi > lo, hi - lo, 1.0)


def _time_of_day(rng: np.random.Generator, day: np.ndarray, center: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Keep the day, draw the time of day from each event's customer habit (UTC hours)."""
    n = len(day)
    hours = rng.normal(center, sd)
    anytime = rng.random(n) < 0.1  # some activity at any hour
    hours = np.where(anytime, rng.uniform(0.0, 24.0, size=n), hours) % 24.0
    return np.floor(day) + hours / 24.0


def _choose_rows(rng: np.random.Generator, cdf: np.ndarray, row: np.ndarray) -> np.ndarray:
    """One category per event, drawn from its customer's row of cumulative probabilities."""
    rows = cdf[row]
    u = rng.random(len(row)) * rows[:, -1]
    return np.minimum((rows <= u[:, None]).sum(axis=1), cdf.shape[1] - 1)


def _within_row_rank(row: np.ndarray, t: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... per row in time order (session and order numbers)."""
    order = np.lexsort((t, row))
    sorted_rows = row[order]
    rank = np.empty(len(row), dtype=np.int64)
    rank[order] = np.arange(len(row)) - np.searchsorted(sorted_rows, sorted_rows, side="left")
    return rank


def promo_strength(cal: Calendar, market: Sequence[MarketAction]) -> np.ndarray:
    """Per category and day, the strongest competitor action running (0 when none)."""
    promo = np.zeros((len(CATEGORIES), cal.days))
    for a in market:
        lo, hi = int(a.day), min(cal.days, int(np.ceil(a.day + a.duration_days)))
        promo[a.category, lo:hi] = np.maximum(promo[a.category, lo:hi], a.strength)
    return promo


def batch_events(rng: np.random.Generator, plans: Sequence[CustomerPlan], cal: Calendar, rates: Rates,
                 promo: np.ndarray) -> dict[str, np.ndarray]:
    """All events of a batch of customers as columns, sorted by (row, time), each customer's
    events cut to their plan's window (after joining, before leaving, inside the period)."""
    days = cal.days

    def param(name: str) -> np.ndarray:
        return np.array([getattr(p, name) for p in plans], dtype=np.float64)

    hour_center, hour_sd = param("hour_center_utc"), param("hour_sd")
    cdf = np.cumsum(np.stack([p.category_probs for p in plans]), axis=1)
    lured_cat = np.array([-1 if p.lured_category is None else p.lured_category for p in plans])
    lured_from = np.array([np.inf if p.lured_from_day is None else p.lured_from_day for p in plans])
    blocks: list[dict[str, np.ndarray]] = []

    # --- orders ---------------------------------------------------------------------------
    o_row, o_day = _renewal(rng, np.stack([p.order_mult for p in plans]), param("gap_days"), param("shape"))
    n_regular = len(o_row)
    extra = [(i, d) for i, p in enumerate(plans) for d in p.extra_order_days]
    if extra:
        o_row = np.concatenate((o_row, [i for i, _ in extra]))
        o_day = np.concatenate((o_day, [d for _, d in extra]))
    o_t = _time_of_day(rng, o_day, hour_center[o_row], hour_sd[o_row])
    o_cat = _choose_rows(rng, cdf, o_row)
    day_idx = np.clip(o_t.astype(np.int64), 0, days - 1)
    n = len(o_t)
    # Competitors' promotions cost everybody some regular orders in the category; a lured
    # customer stops buying there altogether. Extra orders (a new customer's first order,
    # bursts) are kept: they are what makes the customer's history.
    keep = rng.random(n) >= 0.25 * promo[o_cat, day_idx]
    keep &= ~((o_cat == lured_cat[o_row]) & (o_t >= lured_from[o_row]) & (rng.random(n) < 0.9))
    keep[n_regular:] = True
    keep &= (o_t >= 0) & (o_t < days)
    take = np.flatnonzero(keep)
    take = take[np.lexsort((o_t[take], o_row[take]))]
    o_row, o_t, o_cat, day_idx = o_row[take], o_t[take], o_cat[take], day_idx[take]
    n_o = len(o_t)

    # --- sessions: one per order (ending in it) and one per plain visit ----------------------
    v_row, v_day = _renewal(rng, np.stack([p.visit_mult for p in plans]), 1.0 / param("visits_per_day"),
                            np.ones(len(plans)))
    extra = [(i, d) for i, p in enumerate(plans) for d in p.extra_visit_days]
    if extra:
        v_row = np.concatenate((v_row, [i for i, _ in extra]))
        v_day = np.concatenate((v_day, [d for _, d in extra]))
    inside = (v_day >= 0) & (v_day < days)
    v_row, v_day = v_row[inside], v_day[inside]
    v_t = _time_of_day(rng, v_day, hour_center[v_row], hour_sd[v_row])
    s_row = np.concatenate((o_row, v_row))
    s_t = np.concatenate((o_t, v_t))
    s_cat = np.concatenate((o_cat, _choose_rows(rng, cdf, v_row)))
    n_s = len(s_t)
    is_order = np.arange(n_s) < n_o
    s_no = _within_row_rank(s_row, s_t)

    # Page views: 1 + Poisson pages per session; dwell times add up within the session.
    pages = 1 + rng.poisson(np.maximum(param("pages_mean")[s_row] - 1.0, 0.0))
    n_p = int(pages.sum())
    p_sess = np.repeat(np.arange(n_s), pages)
    p_row = s_row[p_sess]
    dwell = np.clip(np.round(rng.lognormal(np.log(35.0), 1.0, size=n_p), 1), 1.0, 1800.0)
    ends = np.cumsum(dwell)
    first = np.cumsum(pages) - pages
    last = first + pages - 1
    before = ends - dwell - (ends[first] - dwell[first])[p_sess]  # dwell of the session's earlier pages
    p_t = s_t[p_sess] + (5.0 + before) / 86400.0
    kind = np.searchsorted(_BROWSE_CDF, rng.random(n_p) * _BROWSE_CDF[-1], side="right")
    kind[rng.random(n_p) < param("help_share")[p_row]] = _HELP
    kind[last[is_order]] = _CHECKOUT
    p_cat = np.where(rng.random(n_p) < 0.7, s_cat[p_sess], _choose_rows(rng, cdf, p_row))
    moved = (p_cat == lured_cat[p_row]) & (p_t >= lured_from[p_row]) & (rng.random(n_p) < 0.5)
    p_cat = np.where(moved, rng.integers(0, len(CATEGORIES), size=n_p), p_cat)
    blocks.append(_block(PAGE_VIEW, p_row, p_t, a=dwell, n1=s_no[p_sess], n2=rng.integers(1, 5000, size=n_p),
                         k1=kind, k2=np.where(PAGE_HAS_CATEGORY[kind], p_cat, -1)))

    # Orders end their session shortly after its last page.
    session_seconds = (ends[last] - ends[first] + dwell[first])[:n_o]
    o_at = o_t + (5.0 + session_seconds + 10.0) / 86400.0
    currency = np.array([p.currency for p in plans])[o_row]
    currency[rng.random(n_o) < param("second_currency_share")[o_row]] = 0
    amount_mult = np.stack([p.amount_mult for p in plans])[o_row, day_idx]
    cv = param("basket_cv")[o_row]
    value_eur = (param("basket_eur")[o_row] * CATEGORY_PRICE_FACTOR[o_cat] * amount_mult
                 * rng.lognormal(-cv**2 / 2, cv))
    amount = value_eur * CURRENCY_PER_EUR[currency]
    amount = np.maximum(np.where(_WHOLE_UNITS[currency], np.round(amount), np.round(amount, 2)),
                        _MIN_AMOUNT[currency])
    items = 1 + rng.poisson(param("items_mean")[o_row] * np.minimum(amount_mult, 1.0))
    order_no = _within_row_rank(o_row, o_t)
    blocks.append(_block(ORDER, o_row, o_at, a=amount, n1=order_no, n2=items, k2=o_cat, k3=currency))
    # Some orders are cancelled within hours, some returned weeks later: same order id.
    fate = rng.random(n_o)
    cancelled = fate < rates.cancel_share
    returned = (fate >= rates.cancel_share) & (fate < rates.cancel_share + rates.return_share)
    for mask, status, lo, hi in ((cancelled, 1, 0.02, 0.5), (returned, 2, 5.0, 30.0)):
        m = int(mask.sum())
        blocks.append(_block(ORDER, o_row[mask], o_at[mask] + rng.uniform(lo, hi, size=m), a=amount[mask],
                             n1=order_no[mask], n2=items[mask], k1=status, k2=o_cat[mask], k3=currency[mask]))

    # Logins open some sessions; a few follow a failed attempt.
    login = rng.random(n_s) < param("login_share")[s_row]
    l_row, l_t = s_row[login], s_t[login]
    m = len(l_row)
    channel = np.where(rng.random(m) < param("app_share")[l_row], 1, 0)
    channel[rng.random(m) < 0.03] = 2
    blocks.append(_block(LOGIN, l_row, l_t, k1=channel, k3=1))
    failed = rng.random(m) < 0.03
    blocks.append(_block(LOGIN, l_row[failed], l_t[failed] - 40.0 / 86400.0, k1=channel[failed], k3=0))

    # --- complaints: each state change is an event with the complaint's id ----------------------
    c_rows = [
        (i, when, number, status, c.category, c.severity)
        for i, p in enumerate(plans)
        for number, c in enumerate(p.complaints)
        for status, when in ((0, c.opened), (1, c.escalated), (2, c.resolved), (3, c.reopened), (2, c.resolved_again))
        if when is not None
    ]
    if c_rows:
        arr = np.array(c_rows)
        blocks.append(_block(COMPLAINT, arr[:, 0], arr[:, 1], n1=arr[:, 2], k1=arr[:, 3], k2=arr[:, 4],
                             k3=arr[:, 5]))

    row = np.concatenate([b["row"] for b in blocks])
    t = np.concatenate([b["t"] for b in blocks])
    begin = np.maximum(param("join_day"), 0.0)[row]
    cut = np.minimum(param("cutoff_day"), float(days))[row]
    take = np.flatnonzero((t >= begin) & (t < cut))
    take = take[np.lexsort((t[take], row[take]))]
    return {name: np.concatenate([b[name] for b in blocks])[take] for name in COLUMNS}
