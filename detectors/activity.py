"""Activity drop: the customer visits far less than they used to, but has not stopped.

For a retention team this is the engagement slide that comes before lost orders: someone who
signed in ten to fifteen times a month now does two or three times, browses fewer pages,
stays shorter, and more of their visits are bounce-like glances. Total quiet is `silence`'s
job; this signal is about falling, and it can be seen while the customer is still reachable
on the site.

What is measured. The current window is the last `window_days` days up to and including
the day of `now`; the baseline is the `baseline_days` days before it, scaled to the window's
length. A quiet spell at the end of the window counts only as far as the customer's recent
pace explains it (the mean of their last three gaps between active days); the rest is left
out of the window, because total quiet is judged by `silence`, against the customer's own
gaps and the breaks everyone takes. Counted here as well, a daily visitor three weeks into a
holiday read as 1 active day of 28 against 25 (P ~ 1e-6: `critical` on this signal alone,
while silence, which knows about holidays, did not yet fire); a visitor fallen from twelve
days a month to three keeps the ten quiet days their new pace explains. The test counts *active days* (days with a login or page view): a burst of twenty
page views in one evening is one visit, not twenty, so active days follow a customer's
habit more steadily than raw counts. Logins, page views, time on site and the bounce share
are reported alongside.

The test. Both periods are noisy samples of the same habit, so the comparison is the exact
conditional test for two Poisson rates: of the N active days in baseline + window, a steady
customer puts each in the window with probability window / (window + baseline), and the
tail P(X <= observed | Binomial(N, 1/3)) says how unusual so few recent ones are. Unlike a
Poisson tail around the baseline mean, it does not treat a lucky, busy baseline as the
customer's certain habit.

Clumped visits. The binomial test counts days as independent. Many customers visit in
bursts (a project, a sale, a hobby's season) with lulls between, and for them the lull after
a burst is their habit, not a fall. The weekly active-day counts of the whole weeks kept
before the longer window (up to 18) measure how clumped a customer's visits are: their
variance over the binomial variance at their mean, taken at the lower end of its 95 %
confidence interval (w - 1 degrees of freedom), and 1 when that is under 1. Each day of
both periods then weighs 1 / that in the test (the same tail with fractional counts, via
the incomplete beta), and the evidence says so ("visits clumped x2.3"). A steady visitor
is 1: the detection of falls is unchanged (`python -m streams.activity_power`: the same
table with both scales, within 0.01 with the four-week scale alone); on the
outside population (docs/quality.md) the false warnings of bursty visitors fell from 81 to
26 per 1,000 customer-months. Weeks before the window, not inside it: the fall itself
would read as clumping. An open warning's tests against its habit are weighed alike: they
were not until 2026-12-03, and a bursty visitor's `watch` (weighed) was escalated to
`critical` the next day by the same lull read unweighed against the habit before it (on the
outside population, bursty stayers' false warnings 27.5 -> 17.4 per 1,000 customer-months;
no changed customer warned later, one of the 30 visit drops cleared before the end).

A quiet spell the customer came back from. A spell still going on is left to silence
(above); one that has ended is too. Counted here, a daily visitor back from three weeks
away read, on the day of the return, as 1 active day of 28 against 21 (`critical` on this
signal alone, on the day the customer showed they are still there); on the outside
population (docs/quality.md) this was most of the false warnings of daily app users and of
the customers with a holiday a year. Once the window's day count is at
P < `spell_gate` (0.05), the longest quiet spell inside the window that ended with a visit
is left out of the window beyond the customer's usual gap (the baseline's mean gap between
active days), unless the rest of the window alone is low as well (P <= `spell_rest_p` 0.2):
a fall to a slower pace is many shorter spells, and the rest of the window still shows it,
so the window is judged whole; one spell and a return at the usual pace is a break, which
silence judged while it lasted. The evidence says so ("12 days of a quiet spell they came
back from left to silence"). `python -m streams.activity_power`, rows "days away first":
visitors of 15 and 25 days a month back from 21 days away fired in 54 % and 97 % of cases
and now in 17 % and 6 %; falls to a slower pace are caught as before within 0.01-0.04 (15
-> 3 a median 41 days after the change instead of 37). The hold of an open warning
(below) still counts every quiet day.

Shorter visits. A customer who is slipping away also stays less when they come: fewer
pages, less time on the site. Once the day count alone is at P < `depth_gate` (0.05) and
past its ratio guard, the time on site per page-view day is compared too: a one-sided
t-test of log(1 + minutes) per page-view day, window against baseline (the spread floored
at the baseline's and at `depth_min_log_sd`, the smaller sample's degrees of freedom, at
least `depth_min_window_days` 3 and `depth_min_baseline_days` 6 page-view days). The two
tails are combined by Fisher's method (two independent pieces of evidence of one slide),
and the combination counts only when it is stronger than the day count alone, so a fall in
visits with visits as long as ever is judged exactly as before; shorter visits alone never
fire. The evidence says so ("with visits shorter: 1.5 vs 6.6 minutes a day on the site,
P=0.018"). Sliding baselines only: an open warning's hold against its habit counts days.
On the outside population (docs/quality.md, "The depth of each visit") the brief's 10-15
-> 2-3 logins a month were warned 21 of 30 times at `warning` instead of 14, 30 instead of
20 at `watch`, a median 52 days after the change (56 before), for one more false warning among 325 stayers (a bursty
visitor); the 10,000-customer year and `streams.activity_power` (no page views) are
unchanged.

Defaults, and why:

* `window_days` 28 and `baseline_days` 56: four whole weeks against the eight before
  (weekday/weekend rhythm cancels out), and both fit in the 26 weeks of daily buckets the
  state keeps.
* `min_baseline_active_days` 6: with fewer than three active days a month there is no habit
  to fall from; silence and purchase frequency judge such customers.
* `max_ratio` 0.4: fire only at 60 % fewer active days than usual. A two-week holiday
  halves one window (ratio 0.5): no alarm. A fully quiet spell is now left to silence
  (`_end`, `_spell_excess`), but a holiday season with a few visits is not: 0.5, tried on
  2026-12-05, warned a holiday stayer of the first outside population of docs/quality.md
  (14 active days of 56 against 33 over Christmas), and no leaver sooner there, on the
  second outside population or on the 10,000-customer year (its report unchanged).
* `p_fire` 0.0015: the window slides daily, so a customer gets about a dozen independent
  looks a year; on a simulated steady population (light and heavy visitors, one or two
  offline holidays a year, tests/unit/test_detector_contract.py) 0.01 fired in 2-3 % of
  customer-months, 0.002 in about 0.3 %; the default is a little stricter than that. A
  visitor with 13 logins a month down to 2 still fires (P = 0.0013).
* `p_full` 1e-5: strength 1.0 (e.g. from 20 active days a month down to 2).
* A second, longer scale: the last `long_window_days` 56 days against the
  `long_baseline_days` 112 before (both within the 26 weeks the state keeps), with the same
  ratio guard, at half the budget (`long_p_fire` 0.00075, `long_p_full` 5e-6); the stronger
  of the two scales is reported. Four weeks are too few for a moderate fall: ten active days
  a month down to three gives P = 0.046 after four weeks, and never less, so such a
  customer was never warned. Once the lower rate has lasted eight weeks, eight weeks
  against sixteen give twelve active days a month down to three P = 0.0005 (fires), ten
  down to three P = 0.004 (at the expected counts; fewer days than expected, as in most
  such customers within four months, fire). A 56-day window moves half as fast as a
  28-day one (about half as many independent looks a year), so at half the budget it adds
  about a quarter of the short scale's false alarms (measured in docs/quality.md,
  "Activity over eight weeks").
* While an activity warning is open, each scale is also held against the habit before it:
  the `long_baseline_days` before the longest window the warning can have been raised on
  (`habit`, as much of it as the 26 weeks of buckets held then, at least
  `anchor_min_baseline_days`), kept in the state when this kind joins the warning.
  Otherwise, once the sliding baseline is itself made of the lower weeks, the fall stops
  being unusual and the warning would clear although the customer never came back; it
  clears when the customer's recent activity is no longer unusually low against what they
  fell from. (Read from the buckets instead, as before state format 6, the habit was gone
  from them 2-3 months after the raise: 20 of 30 lasting drops of the outside population
  cleared then.) Against the habit, the fall holds the warning open (strength at the
  alarm, never more) while the whole window, quiet days included, is at most `hold_ratio`
  0.5 of it with P <= `hold_p` 0.05: raising needs P <= `p_fire`, staying needs only that
  the customer is still below half of what they fell from. On the raising test alone, 14
  of those 20 still cleared: 7 active days in 56 against 21 before the warning is
  P = 0.002, a visitor's ordinary spread at two or three days a month, and a quiet spell
  after the fall left the window nearly empty (0 of 1 days judged).
* A fall that lasts: while an activity warning with a kept habit is open, the whole span
  since the fall began (from where the habit ends, as far as the 26 weeks of buckets hold
  it) is also judged against the habit, at the longer scale's budget, once it is
  `lasting_min_days` 84 long (four weeks more than the eight-week window) and only while
  the last eight weeks are themselves at most `max_ratio` of the habit. The sliding and
  held windows stop at eight weeks, so ten active days a month down to three read as about
  P = 0.004 (a `watch`) however long the lower pace lasted; over four months it is
  P ~ 1e-6. On the outside population the brief's 10-15 -> 2-3 logins a month were warned
  at `warning` 28 of 30 times instead of 21, with no further false warning among its 325
  stayers; on the 10,000-customer year no lifecycle step changed (docs/quality.md, "A fall
  that lasts"). It never holds a warning open (the hold above does) and a customer back at
  their habit for eight weeks is judged on that, whatever the months before.
* Last year's same weeks: a fall on a sliding scale that fires is also judged against the
  same weeks 52 weeks earlier (or up to `season_shift_days` 14 earlier or later) when those
  were a fall as large as one that fires: at most `max_ratio` 0.4 of the baseline's length
  before them, with P <= `season_p` 0.05, from the customer's active days per 28-day block
  (`CustomerState.seasons`, 21 blocks). Then the window's active days are tested against
  last year's (the same conditional test, halves, the same clumping weight), and the weaker
  tail decides: a repeat of last year's dip is the customer's season, a deeper fall still
  fires. On the fourth outside population (docs/quality.md, "Last year's same weeks") the
  students quiet every summer and the seasonal hobby customers, whose second and third
  off-seasons were read as falls against the months before them, were most of the 37
  stayers warned with an activity drop among the signals; 24 after, with no leaver warned
  later. A customer in their first year, or without a dip a year ago, is judged exactly as
  before.
* bounce share: a rise to at least `bounce_share` 0.5 and `bounce_factor` 2x the baseline
  share, over at least `min_views` 5 views, adds `bounce_bonus` 0.1 to the strength and is
  named; on its own it cannot make the signal fire.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from scipy.stats import chi2

from detectors.signal import FIRE, Signal, betainc, pvalue_strength
from detectors.state import DAY, CustomerState, season_days

KIND = "activity_drop"


@dataclass(frozen=True)
class ActivityParams:
    window_days: int = 28                 # current window, days (including today)
    baseline_days: int = 56               # baseline before it, days
    min_baseline_active_days: int = 6     # active days in the baseline needed to judge
    max_ratio: float = 0.4                # observed / expected active days at which it can fire
    p_fire: float = 0.0015                # conditional binomial tail at which it fires
    p_full: float = 1e-5                  # tail at which strength reaches 1.0
    long_window_days: int = 56            # second, longer window (0: none) ...
    long_baseline_days: int = 112         # ... against the days before it
    long_p_fire: float = 0.00075          # its tail at which it fires
    long_p_full: float = 5e-6             # its tail at which strength reaches 1.0
    history_days: int = 182               # daily buckets the state keeps (`StateParams.history_days`)
    anchor_min_baseline_days: int = 56    # kept days an open warning's baseline needs (else it slides)
    hold_p: float = 0.05                  # an open warning holds at this tail or under ...
    dispersion_min_weeks: int = 8         # whole weeks before the window needed to weigh clumping (0: never)
    hold_ratio: float = 0.5               # ... with at most this share of the habit before it
    lasting_min_days: int = 84            # an open warning also judges the span since the fall began, this long (0: never)
    depth_gate: float = 0.05              # day-count tail under which the depth of visits is also judged (0: never)
    depth_min_window_days: int = 3        # page-view days in the window needed to judge visit depth
    depth_min_baseline_days: int = 6      # ... and in the baseline
    depth_min_log_sd: float = 0.25        # floor of the spread of log(1 + minutes) per page-view day
    spell_gate: float = 0.05              # under this tail, a quiet spell the customer came back from is looked for ...
    spell_rest_p: float = 0.2             # ... and left to silence unless the rest of the window alone is at this tail or under
    season_p: float = 0.05                # last year's same weeks a fall at this tail or under: judged against them too (0: never)
    season_shift_days: int = 14           # ... looked for up to this many days earlier or later
    bounce_share: float = 0.5             # bounce share now needed to count as rising
    bounce_factor: float = 2.0            # ... and this multiple of the baseline share
    min_views: int = 5                    # page views in the window needed to judge bounces
    bounce_bonus: float = 0.1             # strength added by a rising bounce share


class _Window(NamedTuple):
    # A named tuple, not a frozen dataclass: two per assessment, and a frozen dataclass's
    # __init__ costs several times as much.
    active: int
    logins: int
    views: int
    dwell: int
    bounces: int

    @property
    def bounce_share(self) -> float:
        return self.bounces / self.views if self.views else 0.0


def _window(state: CustomerState, start: int, end: int) -> _Window:
    # What `active_days` and `window_sum` compute, with the day range looked up once for all
    # five figures instead of once each.
    i = bisect.bisect_left(state.days, start)
    j = bisect.bisect_left(state.days, end)
    logins, views = state.logins[i:j], state.views[i:j]
    return _Window(
        active=sum(1 for n_logins, n_views in zip(logins, views) if n_logins or n_views),
        logins=sum(logins),
        views=sum(views),
        dwell=sum(state.dwell[i:j]),
        bounces=sum(state.bounces[i:j]),
    )


def evaluate(state: CustomerState, now: int, params: ActivityParams = ActivityParams()) -> Signal | None:
    """The activity signal at event time `now`, or None without a baseline.

    Examples
    --------
    A login every other day for eight weeks, then two in the last four weeks:

    >>> from detectors.state import CustomerState
    >>> days = [d for d in range(0, 56, 2)] + [60, 80]
    >>> s = CustomerState("c", first_seen=0, days=days, logins=[1] * len(days), views=[0] * len(days),
    ...                   dwell=[0] * len(days), bounces=[0] * len(days))
    >>> sig = evaluate(s, 84 * DAY)
    >>> sig.fires, sig.current, sig.baseline, sig.unit
    (True, 2.0, 13.5, 'logins per 28 days')
    >>> evaluate(s, 50 * DAY) is None      # less than 84 days of history
    True
    """
    p = params
    # one clumping estimate for both scales, from the weeks before the longer window (so the
    # four weeks before the short window, where a fall may have begun, do not inflate it)
    phi = _dispersion(state, now, now // DAY + 1 - max(p.window_days, p.long_window_days), p)
    short = _scale(state, now, p.window_days, p.baseline_days, p.p_fire, p.p_full, p, phi)
    long = (_scale(state, now, p.long_window_days, p.long_baseline_days, p.long_p_fire, p.long_p_full, p, phi)
            if p.long_window_days > 0 else None)
    chosen = None
    # The strongest scale; ties keep the first (the four-week scale, then the sliding baselines).
    for candidate in (short, long, *_anchored(state, now, p, phi)):
        if candidate is not None and (chosen is None or candidate.strength > chosen.strength):
            chosen = candidate
    if chosen is None:
        return None
    strength, tail, cur, base, scale, window, anchored, end, dispersion = chosen[:9]
    expected = base.active * scale

    bouncing = (cur.views >= p.min_views and cur.bounce_share >= p.bounce_share
                and cur.bounce_share >= p.bounce_factor * base.bounce_share)
    if bouncing:
        boosted = strength + p.bounce_bonus
        # a rising bounce share sharpens a drop; it does not make one
        strength = min(1.0, boosted) if strength >= FIRE else min(boosted, FIRE - 0.01)

    if base.logins > 0:
        current, baseline, unit = cur.logins, base.logins * scale, "logins"
    elif base.views > 0:
        current, baseline, unit = cur.views, base.views * scale, "page views"
    else:
        current, baseline, unit = cur.active, expected, "active days"
    usual = "before the warning" if anchored else "usually"
    quiet = now // DAY + 1 - end
    span = (f"the last {window} days" if quiet <= 0 else
            f"{window} days before the last {quiet} quiet ones (silence judges those)")
    # a P weighed for clumped visits says so, or it reads as a mistake beside the counts
    clumped = f", visits clumped x{dispersion:.1f}" if dispersion > 1.0 else ""
    if chosen.excused:
        clumped += f", {chosen.excused} days of a quiet spell they came back from left to silence"
    if chosen.season is not None:
        clumped += (f", against the same weeks a year ago too: {chosen.season[0]:.1f} then, "
                    f"{chosen.season[1]:.1f} before them")
    depth = chosen.depth
    if depth is not None:
        clumped += f", with visits shorter: {depth[1]:.1f} vs {depth[2]:.1f} minutes a day on the site, P={depth[0]:.2g}"
    detail = (f"active on {cur.active} of {span}, {usual} {expected:.1f} "
              f"(P={tail:.2g}{clumped}); logins {cur.logins} vs {base.logins * scale:.1f}, "
              f"page views {cur.views} vs {base.views * scale:.1f}, "
              f"time on site {cur.dwell / 60:.0f} vs {base.dwell * scale / 60:.0f} minutes")
    if cur.views >= p.min_views:
        detail += f"; bounce share {cur.bounce_share:.0%} vs {base.bounce_share:.0%}"
        if bouncing:
            detail += " (rising)"
    return Signal(
        kind=KIND,
        strength=strength,
        current=float(current),
        baseline=round(baseline, 2),
        unit=f"{unit} per {window} days",
        window_days=float(window),
        detail=detail,
    )


def same_at(state: CustomerState, t1: int, t2: int, params: ActivityParams = ActivityParams()) -> bool:
    """True when `evaluate` gives the same signal for `state` at event times `t1` and `t2`.

    It reads the time by the day, except whether the history is long enough for a scale
    (`_scale`): the same day, on the same side of each scale's start, is the same verdict.

    >>> s = CustomerState("c", first_seen=10 * DAY + 3600)
    >>> same_at(s, 200 * DAY + 60, 200 * DAY + 80_000), same_at(s, 200 * DAY, 201 * DAY)
    (True, False)
    >>> same_at(s, 94 * DAY + 60, 94 * DAY + 80_000)      # the four-week scale's history fills at 1 am
    False
    """
    p = params
    if t1 // DAY != t2 // DAY:
        return False
    for window_days, baseline_days in ((p.window_days, p.baseline_days), (p.long_window_days, p.long_baseline_days)):
        start = state.first_seen + (window_days + baseline_days) * DAY
        if (t1 >= start) != (t2 >= start):
            return False
    return True


class _Scale(NamedTuple):
    strength: float
    tail: float
    cur: _Window
    base: _Window
    scale: float      # window / baseline length
    window: int       # days
    anchored: bool    # the baseline is the habit before the open warning
    end: int          # the day after the judged days (see `_end`)
    dispersion: float = 1.0   # how clumped the visits are (`_dispersion`): each day weighs 1 / this
    depth: tuple[float, float, float] | None = None   # (P, minutes now, before) when shorter visits count
    excused: int = 0          # quiet days of a spell the customer came back from, left out (`_spell_excess`)
    season: tuple[float, float] | None = None   # (active days, baseline) of last year's same weeks, when they explain it


def _scale(state: CustomerState, now: int, window_days: int, baseline_days: int, p_fire: float, p_full: float,
           p: ActivityParams, dispersion: float = 1.0) -> _Scale | None:
    """The test over one pair of windows, or None without the history or the baseline for it;
    a fall that last year's same weeks showed too is judged against them as well."""
    judged = _sliding(state, now, window_days, baseline_days, p_fire, p_full, p, dispersion)
    if judged is None or judged.strength < FIRE or p.season_p <= 0:
        return judged
    return _as_last_year(state, judged, baseline_days, p_fire, p_full, p)


def _sliding(state: CustomerState, now: int, window_days: int, baseline_days: int, p_fire: float, p_full: float,
             p: ActivityParams, dispersion: float = 1.0) -> _Scale | None:
    if state.first_seen > now - (window_days + baseline_days) * DAY:
        return None
    today = now // DAY + 1
    start = today - window_days
    end = _end(state, now, start)
    judged = _test(state, start, end, start - baseline_days, start, p_fire, p_full, p, anchored=False,
                   dispersion=dispersion)
    if judged is None or judged.tail >= p.depth_gate or judged.cur.active > p.max_ratio * judged.base.active * judged.scale:
        return judged
    depth = _depth(state, start, end, start - baseline_days, start, p)
    if depth is None or depth[0] >= 0.5:
        return judged
    # Fisher's combination of the two one-sided tails (chi-square, 4 degrees of freedom):
    # fewer visits and shorter ones are two pieces of evidence of the same slide.
    both = judged.tail * depth[0]
    combined = both * (1.0 - math.log(both))
    if combined >= judged.tail:
        return judged
    strength = pvalue_strength(combined, p_fire, p_full)
    return judged._replace(strength=strength, tail=combined, depth=depth)


_YEAR_DAYS = 364    # 52 weeks: last year's same weekdays


def _as_last_year(state: CustomerState, judged: _Scale, baseline_days: int, p_fire: float, p_full: float,
                  p: ActivityParams) -> _Scale:
    """`judged`, a fall that fires, also held against the same weeks a year earlier when
    those were a fall of the same kind: a customer whose visits drop every summer (a
    student, a seasonal hobby) is judged against last summer, not against the spring before.

    Last year's weeks explain the fall when they were themselves a fall as large as one
    that fires: at most `max_ratio` of the `baseline_days` before them, with P <= `season_p`
    (the same test, from the blocks of `CustomerState.seasons`), at the same dates or up to
    `season_shift_days` earlier or later. Then this window is also tested against those weeks (same test, same weights),
    and the weaker of the two tails decides: a fall deeper than last year's still fires, a
    repeat of it does not. A customer without such a dip a year ago (most leavers, and
    everyone in their first year) is judged exactly as before.
    """
    start = judged.end - judged.window
    days = judged.scale * baseline_days          # the judged days (a quiet spell excused: fewer)
    span = judged.end - start
    best = None
    for shift in sorted({0, -p.season_shift_days, p.season_shift_days}, key=abs):
        ly_start = start - _YEAR_DAYS + shift
        if state.first_seen > (ly_start - baseline_days) * DAY:
            continue
        then = season_days(state, ly_start, ly_start + span)
        before = season_days(state, ly_start - baseline_days, ly_start)
        if then is None or before is None or before < p.min_baseline_active_days:
            continue
        if then > p.max_ratio * before * span / baseline_days:
            continue
        if _frac_tail(then, then + before, span / (span + baseline_days)) > p.season_p:
            continue
        then_days = then * days / span            # last year's count over as many days as judged
        w = judged.dispersion
        tail = _frac_tail(judged.cur.active / w, (judged.cur.active + then_days) / w, 0.5)
        if best is None or tail > best[0]:
            best = (tail, then_days, before * days / baseline_days)
    if best is None or best[0] <= judged.tail:
        return judged
    strength = pvalue_strength(best[0], p_fire, p_full)
    return judged._replace(strength=strength, tail=best[0], season=best[1:])


def _frac_tail(k: float, n: float, q: float) -> float:
    """P(X <= k) for X ~ Binomial(n, q), continued to fractional counts (incomplete beta).

    >>> round(_frac_tail(2, 10, 0.5), 4), round(binomial_cdf(2, 10, 0.5), 4)
    (0.0547, 0.0547)
    """
    if k >= n:
        return 1.0
    return float(betainc(n - k, k + 1, 1 - q))


def _depth(state: CustomerState, start: int, end: int, base_start: int, base_end: int,
           p: ActivityParams) -> tuple[float, float, float] | None:
    """Whether the customer's visits got shorter: a one-sided t-test of log(1 + minutes on
    the site) per page-view day, days [start, end) against [base_start, base_end), the
    spread floored at the baseline's (and at `depth_min_log_sd`), with the smaller sample's
    degrees of freedom. (P, typical minutes a visit day now, before), or None with too few
    page-view days."""
    days, views, dwell = state.days, state.views, state.dwell
    i0, i1 = bisect.bisect_left(days, base_start), bisect.bisect_left(days, base_end)
    i2, i3 = bisect.bisect_left(days, start), bisect.bisect_left(days, end)
    base = [math.log1p(d / 60) for d, v in zip(dwell[i0:i1], views[i0:i1]) if v]
    cur = [math.log1p(d / 60) for d, v in zip(dwell[i2:i3], views[i2:i3]) if v]
    nb, nc = len(base), len(cur)
    if nc < p.depth_min_window_days or nb < p.depth_min_baseline_days:
        return None
    mb, mc = sum(base) / nb, sum(cur) / nc
    vb = max(sum((x - mb) ** 2 for x in base) / (nb - 1), p.depth_min_log_sd ** 2)
    vc = max(sum((x - mc) ** 2 for x in cur) / (nc - 1), vb)
    t = (mc - mb) / math.sqrt(vc / nc + vb / nb)
    dof = min(nb, nc) - 1
    tail = 0.5 * betainc(dof / 2, 0.5, dof / (dof + t * t))   # P(T <= -|t|)
    return (tail if t < 0 else 1.0 - tail), math.expm1(mc), math.expm1(mb)


# (w - 1) / chi2.ppf(0.95, w - 1) for w - 1 = 0..52 degrees of freedom (index 0 unused)
_CHI2_LOW = (0.0, *(float(k / chi2.ppf(0.95, k)) for k in range(1, 53)))


def _dispersion(state: CustomerState, now: int, start: int, p: ActivityParams) -> float:
    """How much burstier than independent days the customer's visits are, from the weekly
    active-day counts of the whole weeks kept before day `start` (since the customer was
    first seen, within the last `history_days`): their variance over the binomial variance
    7 q (1 - q) at their mean (q = active share of days), taken at the lower end of its 95 %
    confidence interval (times (w - 1) / chi2.ppf(0.95, w - 1) for w weeks), never under 1.
    1 without `dispersion_min_weeks` such weeks, or when the customer was active on none or
    on every day of them."""
    if p.dispersion_min_weeks <= 0:
        return 1.0
    oldest = max(now // DAY - p.history_days, state.first_seen // DAY)
    weeks = (start - oldest) // 7
    if weeks < p.dispersion_min_weeks:
        return 1.0
    begin = start - 7 * weeks
    counts = [0] * weeks
    days = state.days
    i = bisect.bisect_left(days, begin)
    j = bisect.bisect_left(days, start)
    for d, n_logins, n_views in zip(days[i:j], state.logins[i:j], state.views[i:j]):
        if n_logins or n_views:
            counts[(d - begin) // 7] += 1
    mean = sum(counts) / weeks
    if mean <= 0 or mean >= 7:
        return 1.0
    var = sum((c - mean) ** 2 for c in counts) / (weeks - 1)
    # The lower end of its 95 % confidence interval (a variance of w weeks has w - 1 degrees
    # of freedom): a steady visitor's chance spread is not taken for clumping.
    return max(1.0, var / (mean * (1 - mean / 7)) * _CHI2_LOW[min(weeks - 1, len(_CHI2_LOW) - 1)])


def _end(state: CustomerState, now: int, start: int) -> int:
    """The day after the judged part of a window that starts on day `start`.

    Today's, unless the customer has been quiet for longer than their recent pace explains
    (the mean of their last `pace_gaps` gaps between active days): then the quiet beyond that
    is left out (never the window's first day). A spell of total quiet is `silence`'s evidence,
    judged there against the customer's own gaps and everyone's yearly breaks; counted here
    too, a daily visitor's three-week holiday read as 1 active day of 28 against 25 (P ~ 1e-6,
    `critical` on its own). A visitor fallen to three days a month keeps the ten quiet days
    their new pace explains.
    """
    today = now // DAY + 1
    days = state.days
    if not days or days[-1] >= today - 1:
        return today
    recent = days[-(_PACE_GAPS + 1):]
    pace = (recent[-1] - recent[0]) / (len(recent) - 1) if len(recent) > 1 else 0.0
    return max(start + 1, min(today, days[-1] + 1 + math.ceil(pace)))


_PACE_GAPS = 3


def _test(state: CustomerState, start: int, end: int, base_start: int, base_end: int, p_fire: float,
          p_full: float, p: ActivityParams, *, anchored: bool, dispersion: float = 1.0) -> _Scale | None:
    """Active days of [start, end) against those of [base_start, base_end) (days), or None
    without enough baseline activity."""
    return _against(state, start, end, _window(state, base_start, base_end), base_end - base_start, p_fire, p_full,
                    p, anchored=anchored, dispersion=dispersion)


def _against(state: CustomerState, start: int, end: int, base: _Window, baseline_days: int, p_fire: float,
             p_full: float, p: ActivityParams, *, anchored: bool, dispersion: float = 1.0,
             spell: bool = True) -> _Scale | None:
    """Active days of [start, end) against `base`, a baseline of `baseline_days` days; the
    counts weigh 1 / `dispersion` each (a bursty visitor's days come in clumps: fewer
    independent pieces of evidence than days). With `spell`, the longest quiet spell the
    customer came back from inside the window counts only as far as their usual pace
    explains it (`_spell_excess`)."""
    if base.active < p.min_baseline_active_days or baseline_days <= 0:
        return None
    cur = _window(state, start, end)
    window_days = end - start
    tail = _tail(cur.active, base.active, window_days, baseline_days, dispersion)
    excused = 0
    if spell and tail < p.spell_gate:
        excused = _spell_excess(state, start, end, baseline_days / base.active)
        if excused:
            rest = _tail(cur.active, base.active, window_days - excused, baseline_days, dispersion)
            if rest > p.spell_rest_p:
                window_days, tail = window_days - excused, rest
            else:
                excused = 0     # the rest of the window is slower too: a slower pace, judged whole
    scale = window_days / baseline_days
    expected = base.active * scale
    strength = pvalue_strength(tail, p_fire, p_full)
    if cur.active / expected > p.max_ratio:
        strength = min(strength, FIRE - 0.05)
    return _Scale(strength, tail, cur, base, scale, end - start, anchored, end, dispersion, excused=excused)


def _tail(active: int, base_active: int, window_days: int, baseline_days: int, dispersion: float) -> float:
    """P(so few of the active days in the window) for a steady customer: the conditional
    binomial test, each day weighed 1 / `dispersion`."""
    q = window_days / (window_days + baseline_days)
    if dispersion > 1.0:
        k, n = active / dispersion, (active + base_active) / dispersion
        return 1.0 if k >= n else float(betainc(n - k, k + 1, 1 - q))
    return binomial_cdf(active, active + base_active, q)


def _spell_excess(state: CustomerState, start: int, end: int, usual_gap: float) -> int:
    """Days of the longest quiet spell inside [start, end) that ended with a visit in it,
    beyond what the customer's usual gap between active days (`usual_gap`) explains; 0 when
    none is longer. Never the whole window: at least one day is left.

    One spell of total quiet that the customer came back from is a holiday or a break, and
    total quiet is `silence`'s evidence, judged while it lasted against the customer's own
    gaps and the breaks everyone takes (the trailing spell is left to it by `_end`). Counted
    here, a daily visitor back from three weeks away read, on the very day of the return, as
    1 active day of 28 against 21 (P ~ 1e-6, `critical` on this signal alone). A slower pace
    is many shorter spells: only the longest is left out, so the rest of the window still
    shows it.

    >>> days = list(range(0, 60)) + [85]          # daily, then 25 quiet days, back on day 85
    >>> s = CustomerState("c", days=days, logins=[1] * 61, views=[0] * 61, dwell=[0] * 61, bounces=[0] * 61)
    >>> _spell_excess(s, 58, 86, 2.0)             # 25 quiet days (60-84), one of them a usual gap
    24
    >>> _spell_excess(s, 0, 58, 1.0)
    0
    """
    days, logins, views = state.days, state.logins, state.views
    i = bisect.bisect_left(days, start)
    j = bisect.bisect_left(days, end)
    k = i - 1
    while k >= 0 and not (logins[k] or views[k]):
        k -= 1
    prev = days[k] if k >= 0 else start - 1
    longest = 0
    for d, n_logins, n_views in zip(days[i:j], logins[i:j], views[i:j]):
        if n_logins or n_views:
            longest = max(longest, d - max(prev + 1, start))
            prev = d
    allowed = math.ceil(usual_gap) - 1          # quiet days between two visits a usual gap apart
    return max(0, min(longest - allowed, end - start - 1))


def habit(state: CustomerState, now: int, p: ActivityParams = ActivityParams()) -> list[int]:
    """The habit an activity warning raised at `now` is held against while it stays open
    (`CustomerState.habit`): the activity before the longest window (every scale's raising
    window lies within it), over each scale's baseline length, as much of it as the daily
    buckets hold: [first day, day after the last, the `long_baseline_days` (active days,
    logins, page views, dwell, bounces), the last `baseline_days` of them (the same five)].
    Empty with fewer than `anchor_min_baseline_days` of it kept.

    Kept in the state because the buckets forget: 26 weeks after the raise nothing of the
    habit is left in them, and against a baseline made of the lower weeks the fall stops
    being unusual, although the customer never came back.

    >>> days = list(range(0, 168, 2)) + [170, 190]
    >>> s = CustomerState("c", first_seen=0, last_event=190 * DAY, days=days, logins=[1] * len(days),
    ...                   views=[0] * len(days), dwell=[60] * len(days), bounces=[0] * len(days))
    >>> habit(s, 195 * DAY)         # days 28-140, and 84-140 of them
    [28, 140, 56, 56, 0, 3360, 0, 28, 28, 0, 1680, 0]
    """
    base_end = now // DAY + 1 - max(p.window_days, p.long_window_days)
    oldest = max(state.last_event // DAY - p.history_days, state.first_seen // DAY)
    base_start = max(base_end - max(p.long_baseline_days, p.baseline_days), oldest)
    if base_end - base_start < p.anchor_min_baseline_days:
        return []
    recent = max(base_end - p.baseline_days, base_start)
    return [base_start, base_end, *_window(state, base_start, base_end), *_window(state, recent, base_end)]


def _anchored(state: CustomerState, now: int, p: ActivityParams, dispersion: float = 1.0) -> list[_Scale]:
    """While an activity warning is open: each scale's window against the habit before it,
    the one kept when the warning took this kind (`habit`), or (a warning opened by a
    format-5 worker) the baseline that ended where the longest window the warning can have
    been raised on began, as far as the daily buckets still hold it."""
    if not (state.level > 0 and KIND in state.kinds and state.raised_at):
        return []
    today = now // DAY + 1
    scales = ((p.window_days, p.baseline_days, p.p_fire, p.p_full),
              (p.long_window_days, p.long_baseline_days, p.long_p_fire, p.long_p_full))
    out = []
    if state.habit:
        first, base_end = state.habit[0], state.habit[1]
        if today <= base_end + max(p.window_days, p.long_window_days):
            return []     # the raise's own windows: the sliding test is this one
        # each scale against its own baseline length, as when the buckets still held the habit
        bases = ((_Window(*state.habit[7:12]), base_end - max(base_end - p.baseline_days, first)),
                 (_Window(*state.habit[2:7]), base_end - first))
        for (window_days, _, p_fire, p_full), (base, base_days) in zip(scales, bases):
            if window_days > 0:
                out.append(_held(state, now, today - window_days, base, base_days, p_fire, p_full, p, dispersion))
        if p.lasting_min_days > 0:
            out.append(_lasting(state, now, base_end, *bases[1], p, dispersion))
        return [s for s in out if s is not None]
    raise_end = state.raised_at // DAY + 1
    if today <= raise_end:
        return []     # the raise's own windows: the sliding test is this one
    oldest = max(state.last_event // DAY - p.history_days, state.first_seen // DAY)
    # Which scale raised it is not kept: the habit before the longest window, which every
    # scale's raising window lies within.
    base_end = raise_end - max(p.window_days, p.long_window_days)
    for window_days, baseline_days, p_fire, p_full in scales:
        if window_days <= 0:
            continue
        base_start = max(base_end - baseline_days, oldest)
        if base_end - base_start < p.anchor_min_baseline_days:
            continue
        out.append(_held(state, now, today - window_days, _window(state, base_start, base_end),
                         base_end - base_start, p_fire, p_full, p, dispersion))
    return [s for s in out if s is not None]


def _lasting(state: CustomerState, now: int, base_end: int, base: _Window, base_days: int, p: ActivityParams,
             dispersion: float = 1.0) -> _Scale | None:
    """The whole span since the fall began (day `base_end`, where the habit ends), as far as
    the daily buckets hold it, against the habit (`long_baseline_days` of it), at the longer
    scale's budget; only once the span is at least `lasting_min_days` (four weeks more than
    the longer window: evidence the sliding tests have not already weighed), only while the
    last `long_window_days` are themselves at most `max_ratio` of the habit (a customer who
    has come back is judged on what they do now, not on the months before), and only when
    it fires (it never holds a warning open: `_held` does).

    A fall that lasts is more certain the longer it lasts, but the sliding windows stop at
    eight weeks: ten active days a month down to three reads as about P = 0.004 over eight
    weeks, a `watch`, however many months it goes on. Over four months it is P < 1e-6."""
    today = now // DAY + 1
    oldest = max(state.last_event // DAY - p.history_days, state.first_seen // DAY)
    start = max(base_end, oldest)
    if today - start < max(p.lasting_min_days, p.window_days, p.long_window_days) or \
            base.active < p.min_baseline_active_days:
        return None
    recent = _window(state, today - p.long_window_days, today)
    if recent.active > p.max_ratio * base.active * p.long_window_days / base_days:
        return None
    judged = _against(state, start, _end(state, now, start), base, base_days, p.long_p_fire, p.long_p_full, p,
                      anchored=True, dispersion=dispersion)
    return judged if judged is not None and judged.strength >= FIRE else None


def _held(state: CustomerState, now: int, start: int, base: _Window, base_days: int, p_fire: float, p_full: float,
          p: ActivityParams, dispersion: float = 1.0) -> _Scale | None:
    """The window from day `start` against the habit before an open warning, each day
    weighed 1 / `dispersion` as in the sliding tests: the test as
    when raising (a trailing quiet spell beyond the customer's pace left to silence), and
    else the hold: the whole window, quiet days included, at most `hold_ratio` of the habit
    with P <= `hold_p` keeps the warning open, at the alarm's strength (never more: it
    holds, it does not escalate)."""
    judged = _against(state, start, _end(state, now, start), base, base_days, p_fire, p_full, p, anchored=True,
                      dispersion=dispersion)
    if judged is not None and judged.strength >= FIRE:
        return judged
    today = now // DAY + 1
    whole = judged if judged is not None and judged.end == today else \
        _against(state, start, today, base, base_days, p_fire, p_full, p, anchored=True, dispersion=dispersion,
                 spell=False)
    if whole is not None and whole.tail <= p.hold_p and whole.cur.active <= p.hold_ratio * whole.base.active * whole.scale:
        return whole._replace(strength=FIRE)
    return judged


# evaluate() always asks with the same q (the current window's share of the history) and
# small counts, so a few thousand (k, n) pairs cover every customer: each is summed once.
@lru_cache(maxsize=8192)
def binomial_cdf(k: int, n: int, q: float) -> float:
    """P(X <= k) for X ~ Binomial(n, q).

    >>> round(binomial_cdf(2, 28, 1 / 3), 5)
    0.00128
    >>> binomial_cdf(5, 5, 0.3)
    1.0
    """
    if k >= n:
        return 1.0
    if k < 0:
        return 0.0
    return min(1.0, sum(math.comb(n, i) * q ** i * (1 - q) ** (n - i) for i in range(k + 1)))


def next_change(state: CustomerState, now: int, params: ActivityParams = ActivityParams()) -> int | None:
    """Always None: sweeps re-check customers with open warnings daily, which is enough here.

    >>> next_change(CustomerState("c"), 0) is None
    True
    """
    return None
