"""Labels, the schema version, activity's bounce share and purchase frequency's tests at their boundaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.errors import InvalidEvent
from schemas.events import Order, parse_event
from detectors.features import FEATURE_NAMES
from detectors.labels import LabelParams, entries, maybe_snapshot, resolve
from detectors.state import DAY, CustomerState

ZERO = [0.0] * len(FEATURE_NAMES)


def test_thinning_never_drops_the_snapshot_just_taken():
    p = LabelParams(max_pending=2)
    pending = [70 * DAY, [0, ZERO], [70 * DAY, ZERO]]
    s = CustomerState("c", last_active=77 * DAY)
    out = maybe_snapshot(pending, s, 77 * DAY, {}, p)
    assert [e[0] for e in entries(out)] == [0, 77 * DAY]     # the oldest and the newest stay


def test_a_snapshot_answered_by_two_activities_resolves_at_the_earlier():
    pending = [3 * DAY, [3 * DAY, ZERO]]
    _, ex = resolve(pending, last_active_before=5 * DAY, activity_at=12 * DAY, now=12 * DAY)
    assert [(e.label, e.resolved_at) for e in ex] == [(0, 5 * DAY)]


def test_an_order_of_schema_version_0_is_refused_like_version_2():
    payload = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "order.json").read_text())
    payload["schema_version"] = 0
    with pytest.raises(InvalidEvent) as e:
        parse_event(Order, json.dumps(payload).encode())
    assert (e.value.reason, e.value.field) == ("schema_violation", "schema_version")
    assert "expected 1 (the only schema_version this release reads), got 0" in str(e.value)


def test_a_rising_bounce_share_never_lifts_a_sub_threshold_drop_over_the_alarm():
    from test_activity import EVERY_OTHER_DAY, NOW, spread, state_with
    from detectors.activity import ActivityParams, evaluate
    base = {d: (1, 4, 600, 0) for d in EVERY_OTHER_DAY}
    p = ActivityParams(bounce_bonus=0.3)
    plain = evaluate(state_with({**base, **{d: (1, 4, 600, 0) for d in spread(6)}}), NOW, p)
    bouncy = evaluate(state_with({**base, **{d: (1, 4, 600, 4) for d in spread(6)}}), NOW, p)
    assert plain.strength + 0.3 > 0.5 and not plain.fires
    assert "(rising)" in bouncy.detail
    assert not bouncy.fires and bouncy.strength == 0.49


def test_no_activity_verdict_on_a_baseline_of_five_active_days():
    from test_activity import NOW, logins_on, state_with
    from detectors.activity import evaluate
    assert evaluate(state_with(logins_on([1, 12, 23, 34, 45])), NOW) is None          # under min_baseline_active_days 6
    assert evaluate(state_with(logins_on([1, 12, 23, 34, 45, 56])), NOW) is not None


def test_a_bounce_share_that_was_already_high_is_not_rising():
    from test_activity import EVERY_OTHER_DAY, NOW, state_with
    from detectors.activity import evaluate
    base = {d: (1, 4, 600, 2) for d in EVERY_OTHER_DAY}                  # half the views bounced before
    plain = evaluate(state_with({**base, 66: (1, 6, 600, 3), 84: (0, 4, 600, 2)}), NOW)
    higher = evaluate(state_with({**base, 66: (1, 6, 600, 4), 84: (0, 4, 600, 3)}), NOW)   # 70 %: under 2x 50 %
    assert "(rising)" not in higher.detail
    assert higher.strength == plain.strength


def _pf_state(days):
    return CustomerState("c", orders=[[d * DAY, 80.0, "EUR", 0, 1, None] for d in days])


def test_purchase_frequency_corrects_its_p_for_the_several_windows_it_tries():
    # every 60 days for a year, then 30 days later, then quiet (the module's example): the
    # smallest of the tests' tails is multiplied by their number before it is judged
    from detectors.purchase_frequency import evaluate
    s = _pf_state([0, 60, 120, 180, 240, 300, 360, 390])
    assert not evaluate(s, 530 * DAY).fires
    assert evaluate(s, 535 * DAY).fires


def test_a_trickle_is_no_evidence_the_day_after_an_order():
    # an order every 10 days for 300 days, then every 40: the day after the last one the
    # slow count carries no weight yet
    from detectors.purchase_frequency import evaluate
    s = _pf_state(list(range(0, 300, 10)) + [340, 380, 420])
    sig = evaluate(s, 421 * DAY)
    assert sig.unit == "orders per 30 days"
    assert sig.strength == 0.0 and "P=1," in sig.detail
