"""`python -m streams.activity_power`: the figures of docs/quality.md, "Activity over eight weeks"."""

from __future__ import annotations

from streams.activity_power import main, measure


def test_the_eight_week_scale_catches_moderate_falls_the_four_week_one_misses_and_stays_quiet_without_one():
    fall, steady = measure(60, seed=3, rows=((12, 3), (12, 12)))
    assert fall["both"]["within_120"] >= fall["four weeks"]["within_120"] + 0.25
    assert fall["both"]["within_120"] >= 0.6
    assert steady["both"]["within_120"] <= 0.05 and steady["four weeks"]["within_120"] <= 0.05


def test_a_return_from_holiday_rarely_fires_and_a_fall_still_does():
    holiday, fall = measure(60, seed=3, rows=((25, 25, 21), (15, 2)))
    assert holiday["both"]["within_120"] <= 0.2
    assert fall["both"]["within_120"] >= 0.9


def test_it_prints_a_markdown_table(capsys):
    main(["--customers", "5"])
    out = capsys.readouterr().out
    assert "| 12 → 3 |" in out and "| 25 → 25, 21 days away first |" in out and out.count("\n| ") == 2 + 15
