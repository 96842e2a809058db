"""Gone probability against the population: every customer ranked, the prior fitted from the customers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from builders import DAY, build, day, login, order
from detectors import warning as warn
from detectors.order_value import basket_log_sd
from detectors.population import (DEFAULT_PRIOR, Population, PopulationParams, PopulationSample, Prior, decode_fit,
                                  encode_fit, fit, gone_probability, p_alive, summary)
from detectors.state import CustomerState, decode, encode, id_hash, observe


def test_a_one_purchase_customer_gets_a_population_gone_probability_that_rises_with_quiet():
    s = build([order(day(0), 30.0)])
    probs = [gone_probability(s, day(q)) for q in (0, 7, 30, 90, 180, 365)]
    assert 0.0 < probs[0]
    assert all(a < b for a, b in zip(probs, probs[1:]))
    assert probs[-1] < 1.0
    # and it is the population's: a population of frequent, loyal customers says "not gone yet"
    loyal = Prior(r=5.0, alpha=20.0, s=0.5, beta=2000.0)
    assert gone_probability(s, day(30), loyal) < gone_probability(s, day(30))


def test_a_fresh_activity_lowers_the_gone_probability():
    s = build([order(day(d), 30.0) for d in (0, 20, 45)])
    quiet = gone_probability(s, day(45 + 100))
    back = build([order(day(45 + 100), 30.0)], s)
    assert gone_probability(back, day(45 + 100) + 3600) < quiet
    assert gone_probability(back, day(45 + 101)) < 0.5 < quiet


def test_at_equal_short_quiet_a_frequent_buyer_ranks_below_a_rare_one():
    frequent = build([order(day(d), 30.0) for d in range(0, 240, 12)])
    rare = build([order(day(d), 30.0) for d in (0, 120, 228)])
    now = day(240)
    assert gone_probability(frequent, now) < gone_probability(rare, now)


def test_long_quiet_burst_buyers_are_still_ranked_by_their_quiet_not_tied_at_one():
    burst = build([order(day(d), 30.0) for d in (0, 4, 5, 6, 9)])
    scores = [gone_probability(burst, day(9 + q)) for q in (60, 120, 221, 300)]
    assert all(a < b for a, b in zip(scores, scores[1:]))
    assert scores[-1] < 1.0


def test_the_risk_score_of_a_customer_who_just_came_back_is_low():
    # CDNOW customer 09342: 13 orders every 12 days, quiet 87 days, an order 12 days before
    # the cutoff: critical before; back on rhythm now.
    s = build([order(day(12 * k), 30.0) for k in range(13)])
    s = build([order(day(12 * 12 + 87), 30.0)], s)
    a = warn.assess(s, day(12 * 12 + 87 + 11))
    assert a.risk_score < 0.3
    assert a.level == 0


_ORDER_DAYS = [0, 45, 115, 167, 248, 286, 352, 411]     # a buyer every 45-81 days


def _visitor(quiet_orders: int, orders_go_on: bool = False):
    """A login every three days throughout; orders on `_ORDER_DAYS` (and every 60 days after
    them if `orders_go_on`); judged `quiet_orders` days after the last of `_ORDER_DAYS`."""
    now = _ORDER_DAYS[-1] + quiet_orders
    days = _ORDER_DAYS + (list(range(_ORDER_DAYS[-1] + 60, now, 60)) if orders_go_on else [])
    events = sorted([order(day(d), 80.0) for d in days] + [login(day(d)) for d in range(0, now, 3)],
                    key=lambda e: e.occurred_at)
    return build(events), day(now)


def test_a_visitor_who_stops_buying_ranks_higher_the_longer_the_orders_stay_away():
    # Their visits keep the gone probability near zero; the purchase-frequency evidence,
    # still under its alarm, ranks them before it fires (no level yet) and the score does
    # not jump when it does.
    risks = []
    for quiet in (100, 130, 160):
        s, now = _visitor(quiet)
        a = warn.assess(s, now)
        pf = next(x for x in a.signals if x.kind == "purchase_frequency_drop")
        assert not pf.fires and a.level == 0
        assert gone_probability(s, now) < 0.01
        assert a.risk_score == pytest.approx(pf.strength, abs=0.02)
        risks.append(a.risk_score)
    assert risks[0] < risks[1] < risks[2] and risks[2] > 0.4
    on_rhythm, now = _visitor(160, orders_go_on=True)
    assert warn.assess(on_rhythm, now).risk_score < 0.05
    s, now = _visitor(200)
    fired = warn.assess(s, now)
    assert fired.level >= 1 and fired.risk_score > risks[2]


def test_a_purchase_only_history_is_ranked_by_its_gone_probability_until_a_signal_fires():
    # Every active day is a purchase: the gone probability already reads the same quiet
    # that purchase frequency judges, and counting both would weigh it twice.
    s = build([order(day(d), 80.0) for d in _ORDER_DAYS])
    now = day(_ORDER_DAYS[-1] + 100)
    a = warn.assess(s, now)
    pf = next(x for x in a.signals if x.kind == "purchase_frequency_drop")
    assert 0.0 < pf.strength < 0.5 and a.level == 0
    assert a.risk_score == round(gone_probability(s, now), 6)


def test_an_open_warning_ranks_the_customer_by_the_evidence_that_holds_it_open():
    # Baskets of 100-120 fall to 30-35: order value raises a warning. Full baskets come
    # back; one order later order value is under its alarm (no level) but over the clearing
    # hysteresis, so the warning stays open. The customer's ranking score must not read
    # "safe" while their warning is open: it keeps the evidence that holds it.
    events = []
    for i in range(20):
        events += [order(day(14 * i), 100.0 + (i % 3) * 10), login(day(14 * i + 5))]
    for j, amount in enumerate((30.0, 35.0, 30.0)):
        events += [order(day(14 * (20 + j)), amount), login(day(14 * (20 + j) + 5))]
    s = build(events)
    a = warn.assess(s, day(14 * 22 + 6))
    s = warn.apply(s, a, warn.decide(s, a))
    assert s.level == 3 and s.kinds == ["order_value_drop"]
    steps = []
    for k in range(3):
        s = observe(s, order(day(14 * (23 + k)), 100.0))
        now = day(14 * (23 + k)) + 60
        a = warn.assess(s, now)
        t = warn.decide(s, a)
        steps.append((s.copy(), now, a, t))
        s = warn.apply(s, a, t)
    before, at, held, t = steps[1]
    ov = next(x for x in held.signals if x.kind == "order_value_drop")
    assert before.level == 3 and t is None and held.level == 0        # open, held by the hysteresis
    assert warn.WarningParams().clear_below <= ov.strength < 0.5
    assert gone_probability(before, at) < 0.01
    assert held.risk_score >= ov.strength * 0.9
    # An open `watch` (not on the warnings topic by default) does not hold the ranking up.
    before.level = 1
    assert warn.assess(before, at).risk_score < 0.01
    assert steps[2][3].state == "cleared"
    after = warn.assess(s, now + DAY)                                  # cleared: the ranking lets go
    assert s.level == 0 and after.risk_score < 0.01


def _pareto_nbd_population(n: int, prior: Prior, days: float, rng: random.Random) -> list[tuple[int, float, int]]:
    """Summaries of customers drawn from the model itself, observed for `days` from their first day."""
    out = []
    for _ in range(n):
        lam = rng.gammavariate(prior.r, 1.0 / prior.alpha)
        mu = rng.gammavariate(prior.s, 1.0 / prior.beta)
        life = rng.expovariate(mu) if mu > 0 else math.inf
        t, times = 0.0, []
        while True:
            t += rng.expovariate(lam) if lam > 0 else math.inf
            if t > min(life, days):
                break
            times.append(t)
        last = times[-1] if times else 0.0
        out.append((len(times), last, int(last * DAY)))
    return out


def test_the_fit_recovers_the_population_it_was_drawn_from():
    truth = Prior(r=0.8, alpha=40.0, s=0.7, beta=150.0)
    sample = _pareto_nbd_population(3000, truth, 365.0, random.Random(3))
    got = fit(sample, int(365 * DAY), PopulationParams())
    assert got.customers == 3000
    assert got.r / got.alpha == pytest.approx(truth.r / truth.alpha, rel=0.15)     # mean rate
    assert got.r == pytest.approx(truth.r, rel=0.3)
    assert got.s / got.beta == pytest.approx(truth.s / truth.beta, rel=0.35)       # mean dropout rate
    assert got != DEFAULT_PRIOR


def test_the_fit_reaches_the_optimum_of_a_search_without_the_analytic_gradient():
    # The fit hands L-BFGS-B the exact gradient of its objective; a wrong term would show as
    # a different optimum than the optimiser's own finite differences reach.
    from scipy.optimize import minimize

    from detectors import population as pop

    sample = _pareto_nbd_population(800, Prior(r=0.8, alpha=40.0, s=0.7, beta=150.0), 200.0, random.Random(4))
    now = int(200 * DAY)
    x = np.array([s[0] for s in sample], dtype=float)
    t_x = np.array([s[1] for s in sample], dtype=float)
    big_t = t_x + np.array([(now - s[2]) / DAY for s in sample])
    theta = np.log([1.3, 25.0, 2.0, 900.0])
    value, grad = pop._neg_log_posterior(theta, x, t_x, big_t, 1.0)
    step = 1e-6
    numeric = [(pop._neg_log_posterior(theta + step * e, x, t_x, big_t, 1.0)[0]
                - pop._neg_log_posterior(theta - step * e, x, t_x, big_t, 1.0)[0]) / (2 * step) for e in np.eye(4)]
    assert grad == pytest.approx(numeric, rel=1e-5, abs=1e-3)
    got = fit(sample, now)
    free = minimize(lambda th: pop._neg_log_posterior(th, x, t_x, big_t, 1.0)[0], pop._THETA_DEFAULT,
                    method="L-BFGS-B", bounds=[(math.log(0.05), math.log(50.0)), (0.0, math.log(20_000.0))] * 2)
    assert [got.r, got.alpha, got.s, got.beta] == pytest.approx(np.exp(free.x).tolist(), rel=0.01)


def test_an_early_fit_keeps_the_dropout_off_its_bounds():
    # 40 days into a stream few customers have been quiet long: the likelihood alone puts
    # the dropout at a corner (no one ever leaves, P(alive) ~ 1 whatever the quiet); the
    # weak prior around the published fit keeps it where a lapse can still be judged.
    # (Fitted here although a stream this young is judged by the published fit: min_span_days.)
    truth = Prior(r=3.0, alpha=30.0, s=0.5, beta=300.0)
    sample = _pareto_nbd_population(300, truth, 40.0, random.Random(2))
    bounds = PopulationParams()
    mle = fit(sample, int(40 * DAY), PopulationParams(prior_log_sd=1e6, min_span_days=0))
    assert mle.s == pytest.approx(bounds.min_shape) and mle.beta == pytest.approx(bounds.max_scale_days)
    got = fit(sample, int(40 * DAY), PopulationParams(min_span_days=0))
    assert got.r / got.alpha == pytest.approx(truth.r / truth.alpha, rel=0.15)     # the rate is the data's
    assert 0.1 < got.s < 2.0 and 50.0 < got.beta < 1_000.0
    assert p_alive(2, 10.0, 60.0, got) < 0.9 < p_alive(2, 10.0, 60.0, mle)


def test_a_population_seen_for_less_than_the_horizon_gets_the_published_fit_as_a_stand_in():
    # Two weeks into a stream that started without its history, everyone is new and nobody
    # has shown a long gap yet: customers who visit every 2 to 15 days look alike and frequent.
    rng = random.Random(6)
    now = 15 * DAY
    sample = []
    for _ in range(200):
        rate = 1 / rng.choice([2, 4, 7, 15])
        first = rng.uniform(0, 5)
        days = [first]
        while (following := days[-1] + rng.expovariate(rate)) < 15:
            days.append(following)
        sample.append((len(days) - 1, days[-1] - first, int(days[-1] * DAY)))
    young = fit(sample, now)
    assert young.provisional and (young.r, young.alpha, young.s, young.beta) == (
        DEFAULT_PRIOR.r, DEFAULT_PRIOR.alpha, DEFAULT_PRIOR.s, DEFAULT_PRIOR.beta)
    assert fit(sample, now, PopulationParams(min_span_days=0)).customers == 200
    # once the first of them (a few minutes into day 0) has been seen for two horizons (180
    # days), their fit is used
    assert fit(sample, 179 * DAY).provisional
    fitted = fit(sample, 181 * DAY)
    assert fitted.customers == 200 and not fitted.provisional


def test_a_small_partition_gets_its_own_rate_not_the_published_one():
    sample = _pareto_nbd_population(40, Prior(r=3.0, alpha=10.0, s=0.5, beta=300.0), 200.0, random.Random(1))
    got = fit(sample, int(200 * DAY), PopulationParams())
    assert got.customers == 40
    assert got.r / got.alpha > 5 * DEFAULT_PRIOR.r / DEFAULT_PRIOR.alpha


def test_too_few_customers_keep_the_default_prior():
    sample = _pareto_nbd_population(20, Prior(r=3.0, alpha=10.0), 200.0, random.Random(1))
    assert fit(sample, int(200 * DAY), PopulationParams(min_customers=100)) == DEFAULT_PRIOR


def test_the_sample_is_bounded_and_the_same_when_rebuilt_from_the_final_states():
    rng = random.Random(8)
    states: dict[str, CustomerState] = {}
    live = PopulationSample(50)
    for i in range(3000):
        cid = f"c{rng.randrange(400)}"
        states[cid] = build([login(day(i / 10), customer_id=cid)], states.get(cid))
        live.update(states[cid])
        assert len(live) <= 50
    rebuilt = PopulationSample(50)
    for raw in [encode(s) for s in states.values()]:
        rebuilt.update(decode(raw))
    assert rebuilt.summaries() == live.summaries()
    assert len(rebuilt) == 50
    # The uniform sample: exactly the 50 customers with the smallest id hashes.
    assert sorted(live.members) == sorted(sorted(states, key=id_hash)[:50])


def test_the_prior_is_refitted_once_per_period_and_comes_back_after_a_restart():
    params = PopulationParams(min_customers=30, refit_days=7.0)
    drawn = _pareto_nbd_population(200, Prior(r=1.0, alpha=30.0, s=0.5, beta=200.0), 300.0, random.Random(4))
    states = [CustomerState(f"c{i}", last_active=DAY + last, gaps=_gaps(x, t_x))
              for i, (x, t_x, last) in enumerate(drawn)]
    pop = Population(params)
    for s in states:
        pop.update(s)
    now = int(294 * DAY)                                      # the start of a 7-day period
    first = pop.prior(now)
    assert first.customers == len(states)
    assert pop.prior(now + 3 * DAY) is first                  # same period: no refit
    restarted = Population(params)
    for s in states:
        restarted.update(decode(encode(s)))
    assert restarted.prior(now) == first


def _gaps(x: int, t_x: float) -> list[int]:
    if x == 0:
        return []
    whole = max(1, round(t_x))
    base = [max(1, whole // x)] * x
    base[-1] += max(0, whole - sum(base))
    return base


def test_summary_counts_repeat_active_days_and_their_span():
    s = build([login(day(0)), login(day(0, 14)), order(day(3), 10.0), login(day(10))])
    assert summary(s) == (2, 10.0, day(10))


def _buyer(cid: str, baskets: list[float]) -> CustomerState:
    return build([order(day(30 * i), round(b, 2)) for i, b in enumerate(baskets)],
                 CustomerState(cid))


def test_the_fit_carries_the_shops_typical_basket_spread():
    # 40 customers with 8 orders each whose baskets vary by a log-sd of about 0.2, ten with
    # too few orders to say: the shop's spread is the median of the 40, and survives a restart
    rng = random.Random(7)
    states = [_buyer(f"b{i}", [500.0 * math.exp(rng.gauss(0.0, 0.2)) for _ in range(8)]) for i in range(40)]
    states += [_buyer(f"f{i}", [400.0, 100.0]) for i in range(10)]
    pop = Population(PopulationParams(min_customers=30))
    for s in states:
        pop.update(s)
    prior = pop.prior(300 * DAY)
    own = sorted(basket_log_sd(s) for s in states[:40])
    assert prior.basket_log_sd == pytest.approx((own[19] + own[20]) / 2)
    assert 0.15 < prior.basket_log_sd < 0.25
    assert decode_fit(encode_fit(*pop.fitted))[1] == prior


def test_too_few_customers_with_enough_orders_leave_the_basket_spread_to_the_fixed_prior():
    rng = random.Random(8)
    pop = Population(PopulationParams(min_customers=3))
    for i in range(19):
        pop.update(_buyer(f"b{i}", [500.0 * math.exp(rng.gauss(0.0, 0.2)) for _ in range(8)]))
    assert pop.prior(300 * DAY).basket_log_sd == 0.0


def test_the_shops_basket_spread_judges_a_customer_whose_baskets_fall():
    # a customer of a shop whose baskets vary little (log-sd 0.2): six orders of 500-1000,
    # then two of 200-300. Against the fixed typical spread (0.5) it is a hint; against the
    # shop's own it fires on the two small baskets
    s = build([order(day(30 * i), a) for i, a in enumerate([800, 650, 900, 700, 950, 600, 260, 230])])
    now = day(30 * 7 + 1)
    fixed = next(x for x in warn.assess(s, now).signals if x.kind == "order_value_drop")
    shop = next(x for x in warn.assess(s, now, prior=Prior(basket_log_sd=0.2)).signals if x.kind == "order_value_drop")
    assert not fixed.fires and fixed.strength == 0.45
    assert shop.fires and shop.detail.startswith("last 2 orders typically 244.54 EUR")


def test_a_sample_kept_up_visit_by_visit_holds_the_spreads_a_rebuild_computes():
    # the worker recomputes a member's basket spread only when an order was applied; the
    # spreads it holds equal those of a sample rebuilt from the final states
    from detectors.state import kind_of, observe
    rng = random.Random(11)
    events = []
    for c in range(30):
        for d in range(0, 300, rng.randint(3, 9)):
            events.append(login(day(d, rng.randint(0, 23)), customer_id=f"v{c}"))
        for d in range(0, 300, rng.randint(20, 40)):
            events.append(order(day(d, 12), round(rng.uniform(50, 150), 2), customer_id=f"v{c}"))
    events.sort(key=lambda e: e.occurred_at)
    live, states = PopulationSample(20), {}
    for e in events:
        states[e.customer_id] = observe(states.get(e.customer_id), e)
        live.update(states[e.customer_id], orders_changed=kind_of(e) == "order")
    rebuilt = PopulationSample(20)
    for s in states.values():
        rebuilt.update(s)
    assert live.members == rebuilt.members
    assert len(live.basket_spreads()) == 20
