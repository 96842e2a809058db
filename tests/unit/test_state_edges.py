"""Customer state at its boundaries: remembered quiet spells, bounces, the de-duplication horizon, seasons."""

from __future__ import annotations

from builders import DAY, T0, build, day, login, page_view
from detectors.state import StateParams, observe, season_days


def test_the_gaps_keep_exactly_max_gaps():
    s = build([login(day(d)) for d in range(40)])
    assert len(s.gaps) == StateParams().max_gaps == 32


def test_a_second_spell_as_long_as_a_remembered_one_replaces_it():
    # 30 quiet days twice: the later return is kept (it stays in the memory longer), once
    s = build([login(day(d)) for d in (0, 30, 60)])
    first = (T0 + 30 * DAY + 12 * 3600) // DAY
    assert s.returned == [30, first + 30]


def test_a_quiet_spell_of_exactly_return_min_days_is_remembered():
    s = build([login(day(0)), login(day(14))])
    assert s.returned == [14, (T0 + 14 * DAY + 12 * 3600) // DAY]
    assert build([login(day(0)), login(day(13))]).returned == []


def test_a_page_view_of_exactly_bounce_seconds_is_not_a_bounce():
    s = build([page_view(day(0), dwell_seconds=10.0), page_view(day(0, 13), dwell_seconds=9.9)])
    assert s.bounces == [1]


def test_an_event_id_is_still_recognised_exactly_dedup_seconds_later():
    from detectors.state import is_duplicate
    first = login(day(0))
    s = build([first, login(day(0) + 90 * DAY)])
    assert is_duplicate(s, first.event_id)
    s = observe(s, login(day(0) + 90 * DAY + 1))
    assert not is_duplicate(s, first.event_id)


def test_a_late_event_on_a_day_older_than_the_buckets_is_not_counted_again_in_the_seasons():
    s = build([login(day(d)) for d in (0, 1, 2, 300)])
    d0 = (T0 + 12 * 3600) // DAY
    before = season_days(s, d0, d0 + 3)
    late = observe(s, login(day(1, 15)))             # day 1's bucket was dropped: counted already
    assert season_days(late, d0, d0 + 3) == before
