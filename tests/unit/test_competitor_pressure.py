"""Competitor pressure: a rival's move in the customer's main category, beside a decline."""

from __future__ import annotations

import pytest

from builders import DAY, build, day, market, order
from detectors.competitor_pressure import (CompetitorParams, MarketPressure, category_shares, evaluate,
                                           next_change, update_market)
from detectors.state import epoch


def electronics_buyer():
    """10 orders in the last year: 7 electronics, 2 books, 1 without a category."""
    cats = ["electronics"] * 7 + ["books"] * 2 + [None]
    return build([order(day(300 + 6 * i), 120.0, category=c) for i, c in enumerate(cats)])


PROMO = {"electronics": MarketPressure("electronics", 0.8, "competitor_promotion", started_at=day(350))}


def test_a_strong_promotion_in_the_main_category_fires_beside_a_decline_with_evidence():
    sig = evaluate(electronics_buyer(), day(360), CompetitorParams(), PROMO, 0.6)
    assert sig.kind == "competitor_pressure"
    assert sig.fires
    assert sig.strength == pytest.approx(0.8 * 0.7 * (0.5 + 0.6))
    # baseline vs now: no electronics order in the 10 days since the rival's promotion (day
    # 350), against 7 of 120 EUR in the 50 days of history before it (504 EUR a month)
    assert (sig.current, sig.baseline) == (0.0, 504.0)
    assert sig.unit == "EUR per 30 days in the category"
    assert sig.window_days == 10.0
    assert sig.detail == ("rival competitor_promotion in 'electronics' (strength 0.8) for 10 days, "
                          "while 70% of orders are in that category: 0 orders in it since (0 EUR), "
                          "7 in the 50 days before (840 EUR)")


def test_the_evidence_shows_a_customer_who_orders_as_often_but_spends_less_in_the_category():
    # an order every 10 days all along; 800 EUR baskets before the rival's sale (day 350), 250 since
    buyer = build([order(day(d), 800.0 if d < 350 else 250.0, category="electronics") for d in range(250, 371, 10)])
    sig = evaluate(buyer, day(370), CompetitorParams(), PROMO, 0.6)
    assert (sig.current, sig.baseline) == (1125.0, 2400.0)       # 750 EUR in 20 days, 8,000 in 100
    assert "3 orders in it since (750 EUR), 10 in the 100 days before (8,000 EUR)" in sig.detail
    # a purchase log without amounts: orders per 30 days
    counted = build([order(day(d), 0.0, category="electronics") for d in range(250, 371, 10)])
    sig = evaluate(counted, day(370), CompetitorParams(), PROMO, 0.6)
    assert (sig.current, sig.baseline, sig.unit) == (4.5, 3.0, "orders per 30 days in the category")


def test_a_category_share_needs_three_orders_within_the_last_year():
    def buyer(days):
        return build([order(day(d), 120.0, category="electronics") for d in days])

    assert evaluate(buyer([300, 320]), day(360), CompetitorParams(), PROMO, 0.6) is None      # two orders
    assert evaluate(buyer([300, 320, 340]), day(360), CompetitorParams(), PROMO, 0.6).fires
    # three orders, the first 300 days before the promotion: still within the year
    assert evaluate(buyer([60, 320, 340]), day(360), CompetitorParams(), PROMO, 0.6).fires
    assert evaluate(buyer([-10, 320, 340]), day(360), CompetitorParams(), PROMO, 0.6) is None  # 370 days back


@pytest.mark.parametrize("decline", [0.0, 0.3, 0.49])
def test_pressure_never_fires_without_a_firing_decline(decline):
    sig = evaluate(electronics_buyer(), day(360), CompetitorParams(), PROMO, decline)
    assert not sig.fires
    assert 0 < sig.strength <= 0.3


def test_a_decline_just_at_the_limit_lets_strong_pressure_fire():
    assert evaluate(electronics_buyer(), day(360), CompetitorParams(), PROMO, 0.5).fires


def test_a_customer_who_rarely_buys_in_the_category_is_not_pressed():
    rival_books = {"books": MarketPressure("books", 0.8, "competitor_price_cut", started_at=day(350))}
    sig = evaluate(electronics_buyer(), day(360), CompetitorParams(), rival_books, 0.9)
    assert "while 20% of orders are in that category" in sig.detail
    assert sig.strength == pytest.approx(0.8 * 0.2 * (0.5 + 0.9))
    assert not sig.fires


def test_the_rival_move_that_presses_hardest_on_the_customer_is_the_one_reported():
    """A launch at full strength in books (20 % of the orders) presses less than a 0.8
    promotion in electronics (70 %): the signal names electronics, at its strength."""
    rivals = {"electronics": MarketPressure("electronics", 0.8, "competitor_promotion", started_at=day(350)),
              "books": MarketPressure("books", 1.0, "competitor_launch", started_at=day(350))}
    sig = evaluate(electronics_buyer(), day(360), CompetitorParams(), rivals, 0.6)
    assert sig.detail.startswith("rival competitor_promotion in 'electronics' (strength 0.8)"), sig.detail
    assert sig.strength == pytest.approx(0.8 * 0.7 * (0.5 + 0.6))    # not 1.0 x 0.2 x 1.1
    assert sig.fires


def test_no_exposure_means_no_signal():
    toys = {"toys": MarketPressure("toys", 1.0, "competitor_launch", started_at=day(350))}
    assert evaluate(electronics_buyer(), day(360), CompetitorParams(), toys, 0.9) is None
    assert evaluate(electronics_buyer(), day(360), CompetitorParams(), {}, 0.9) is None
    assert evaluate(electronics_buyer(), day(360)) is None


def test_a_new_customer_has_no_share_to_press_on():
    s = build([order(day(0), 100.0, category="electronics"), order(day(5), 100.0, category="electronics")])
    assert evaluate(s, day(10), CompetitorParams(), PROMO, 0.9) is None


@pytest.mark.parametrize("now, active", [
    (day(349), False),          # not started yet
    (day(350), True),
    (day(350) + 30 * DAY - 1, True),
    (day(350) + 30 * DAY, False),   # no end given: 30 days
])
def test_an_event_without_an_end_counts_for_thirty_days(now, active):
    sig = evaluate(electronics_buyer(), now, CompetitorParams(), PROMO, 0.9)
    assert (sig is not None) is active


def test_an_event_with_an_end_counts_until_then():
    m = {"electronics": MarketPressure("electronics", 0.8, "competitor_promotion", day(350), ends_at=day(420))}
    assert evaluate(electronics_buyer(), day(410), CompetitorParams(), m, 0.9).fires
    assert evaluate(electronics_buyer(), day(420), CompetitorParams(), m, 0.9) is None


def test_shares_use_placed_orders_of_the_last_year():
    s = build([order(day(0), 10.0, category="books")] +
              [order(day(400 + i), 10.0, category="toys") for i in range(3)] +
              [order(day(410), 10.0, category="books", status="returned")])
    assert category_shares(s, day(420)) == {"toys": 1.0}


def test_update_market_keeps_one_entry_per_category_and_the_strongest_active():
    m1 = update_market({}, market(day(0), "Electronics", 0.8))
    m2 = update_market(m1, market(day(10), "electronics", 0.3, kind="competitor_launch"))
    assert m2["electronics"].strength == 0.8            # stronger one still active
    m3 = update_market(m2, market(day(31), "electronics", 0.3, kind="competitor_launch"))
    assert (m3["electronics"].kind, m3["electronics"].strength) == ("competitor_launch", 0.3)
    m4 = update_market(m3, market(day(32), "electronics", 0.9, ends_at=day(60)))
    assert m4["electronics"].ends_at == day(60) and m4["electronics"].started_at == day(32)
    assert set(m4) == {"electronics"}
    assert m1 == {"electronics": MarketPressure("Electronics", 0.8, "competitor_promotion", day(0), None)}


def test_update_market_accepts_the_pydantic_contract():
    from schemas.events import MarketEvent

    e = MarketEvent(event_id="m1", occurred_at="2024-05-01T00:00:00Z", kind="competitor_price_cut",
                    category="books", strength=0.5, ends_at="2024-05-10T00:00:00Z")
    m = update_market({}, e)
    assert m["books"].started_at == epoch(e.occurred_at)
    assert m["books"].ends_at == epoch(e.ends_at)


def test_next_change_is_when_an_exposed_event_starts_or_ends():
    m = {"electronics": MarketPressure("electronics", 0.8, "competitor_promotion", day(350), ends_at=day(420)),
         "toys": MarketPressure("toys", 0.8, "competitor_promotion", day(355), ends_at=day(357))}
    assert next_change(electronics_buyer(), day(340), CompetitorParams(), m) == day(350)
    assert next_change(electronics_buyer(), day(360), CompetitorParams(), m) == day(420)
    assert next_change(electronics_buyer(), day(420), CompetitorParams(), m) is None


def test_the_evidence_fits_the_warning_contract_whatever_the_category_name():
    from schemas.outputs import Signal as ContractSignal

    name = "home-and-garden/" + "x" * 112      # 128 characters, the longest category an order carries
    buyer = build([order(day(300 + 6 * i), 120.0, category=name) for i in range(8)])
    rival = {name: MarketPressure(name, 0.8, "competitor_promotion", started_at=day(350))}
    sig = evaluate(buyer, day(360), CompetitorParams(), rival, 0.6)
    assert sig.fires
    out = ContractSignal(kind=sig.kind, current=sig.current, baseline=sig.baseline, unit=sig.unit,
                         window_days=sig.window_days, detail=sig.detail, strength=sig.strength)
    assert name in out.detail and (out.current, out.baseline) == (0.0, 576.0)


def test_a_rival_renewing_a_campaign_at_the_same_strength_extends_the_pressure():
    # the same 0.5 promotion announced again on day 20: the newer one counts, so the
    # category is under pressure until day 50, not day 30
    m = update_market({}, market(day(0), "shoes", 0.5))
    m = update_market(m, market(day(20), "shoes", 0.5))
    assert m["shoes"].started_at == day(20)
    assert m["shoes"].active(day(40))
