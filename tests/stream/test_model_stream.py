"""The online model inside the per-message step, with in-memory tables: labels, learning,
checkpoints and the blended risk score, as a worker produces them without a broker."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import orjson

from detectors.features import FEATURE_NAMES
from detectors.river_models import ChurnModel, ModelParams
from detectors.state import DAY, decode, epoch
from detectors.warning import DetectorParams
from streams.processing import Processor
from streams.settings import Settings

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
WALL = datetime(2030, 1, 1, tzinfo=timezone.utc)
HORIZON = timedelta(days=90)


def make_processor(tables: dict | None = None, model_params: ModelParams | None = None, **overrides) -> Processor:
    tables = tables if tables is not None else {"customers": {}, "clocks": {}, "models": {}}
    return Processor(Settings(**overrides), DetectorParams(), tables["customers"], tables["clocks"],
                     models=tables["models"], wall_clock=lambda: WALL, model_params=model_params)


def login(cid: str, at: datetime) -> bytes:
    return json.dumps({"event_id": f"{cid}-{at.isoformat()}", "customer_id": cid,
                       "occurred_at": at.isoformat(), "channel": "web"}).encode()


def tick(at: datetime, p: int = 0) -> bytes:
    return json.dumps({"partition": p, "occurred_at": at.isoformat()}).encode()


class Feed:
    """Sends logins to partition 0 of a processor with increasing offsets; collects outcomes."""

    def __init__(self, proc: Processor) -> None:
        self.proc, self.offset, self.outcomes = proc, 0, []

    def login(self, cid: str, at: datetime):
        out = self.proc.handle("logins", 0, self.offset, cid.encode(), login(cid, at))
        assert out.applied, out.outputs
        self.offset += 1
        self.outcomes.append(out)
        return out

    def tick(self, at: datetime):
        out = self.proc.handle("clock-ticks", 0, 0, b"0", tick(at))
        self.outcomes.append(out)
        return out

    def examples(self):
        return [ex for out in self.outcomes for ex in out.examples]

    def warnings(self):
        return [orjson.loads(o.value) for out in self.outcomes for o in out.outputs if o.topic == "churn-warnings"]


def population(feed: Feed, customers: int = 20, weeks: int = 10, stay_weeks: int = 30) -> datetime:
    """Weekly logins for everyone; odd-numbered customers stop after `weeks`, the others
    carry on until `stay_weeks`. Returns the time of the last login."""
    last = T0
    for w in range(stay_weeks):
        for i in range(customers):
            if i % 2 == 1 and w >= weeks:
                continue
            at = T0 + timedelta(days=7 * w, hours=i)
            feed.login(f"c{i}", at)
            last = max(last, at)
    return last


def test_a_customer_quiet_past_the_horizon_gives_a_churn_label_at_snapshot_time_plus_horizon():
    proc = make_processor()
    feed = Feed(proc)
    for w in range(4):
        feed.login("c1", T0 + timedelta(days=7 * w))
    last = T0 + timedelta(days=21)
    # A snapshot at the first login and one at the start of each weekly slot after it (the
    # customer is judged at their due times, whenever their next event comes), each answered
    # by the next login.
    assert [ex.label for ex in feed.examples()] == [0, 0, 0, 0]
    assert feed.examples()[0].snapshot_time == epoch(T0)

    quiet = feed.tick(last + HORIZON + timedelta(days=30))

    first = min(quiet.examples, key=lambda ex: ex.snapshot_time)
    assert epoch(last) < first.snapshot_time <= epoch(last + timedelta(days=7))   # the next slot's start
    assert first.label == 1
    assert first.resolved_at == first.snapshot_time + HORIZON.total_seconds()
    assert first.features["log_days_since_active"] > 0.0   # days after the last login
    # Weekly snapshots kept coming while the customer was quiet but not yet gone; all churned.
    assert len(quiet.examples) > 1 and {ex.label for ex in quiet.examples} == {1}
    assert all(ex.resolved_at == ex.snapshot_time + HORIZON.total_seconds() for ex in quiet.examples)
    assert all(last <= datetime.fromtimestamp(ex.snapshot_time, timezone.utc) < last + HORIZON
               for ex in quiet.examples)
    assert proc.model(0).labels_seen == 4 + len(quiet.examples)
    assert proc.model(0).positives == len(quiet.examples)
    # Snapshots stop once the customer has been quiet for a horizon; the last ones resolve a
    # horizon later, and then nothing is left pending.
    gone = feed.tick(last + 2 * HORIZON + timedelta(days=2))
    assert gone.examples and {ex.label for ex in gone.examples} == {1}
    assert max(ex.snapshot_time for ex in gone.examples) < epoch(last + HORIZON)
    assert decode(proc.customers["c1"]).pending[1:] == []


def test_a_customer_back_within_the_horizon_gives_a_stay_label_at_their_return():
    proc = make_processor()
    feed = Feed(proc)
    feed.login("c1", T0)
    back_at = T0 + timedelta(days=60)

    back = feed.login("c1", back_at)

    # The snapshot of the first login and the weekly ones taken while they were quiet (not
    # yet a horizon): all answered by the return, as stays.
    snaps = sorted(ex.snapshot_time for ex in back.examples)
    assert snaps[0] == epoch(T0) and len(snaps) == 1 + len(range(snaps[1], epoch(back_at), 7 * 86400))
    assert all(b - a == 7 * 86400 for a, b in zip(snaps[1:], snaps[2:]))
    assert {(ex.label, ex.resolved_at) for ex in back.examples} == {(0, epoch(back_at))}
    assert proc.model(0).labels_seen == len(snaps) and proc.model(0).positives == 0


def test_pending_snapshots_stay_bounded_for_a_customer_active_every_day():
    proc = make_processor()
    feed = Feed(proc)
    for d in range(200):
        feed.login("c1", T0 + timedelta(days=d))
    state = decode(proc.customers["c1"])
    # Every daily login answers the week's snapshot: only the current week's is pending.
    assert len(state.pending) - 1 <= 1
    assert len(proc.customers["c1"]) < 5_000


def test_the_model_is_checkpointed_to_the_models_table_every_n_labels_and_at_ticks():
    tables = {"customers": {}, "clocks": {}, "models": {}}
    proc = make_processor(tables, model_checkpoint_labels=50)
    feed = Feed(proc)
    last = population(feed, customers=10, weeks=4, stay_weeks=12)
    learned = len(feed.examples())
    assert learned >= 50
    saved = ChurnModel.loads(tables["models"]["0"])
    assert 50 <= saved.labels_seen <= learned   # written when 50 unsaved labels had piled up

    feed.tick(last + HORIZON + timedelta(days=10))

    saved = ChurnModel.loads(tables["models"]["0"])
    assert saved.labels_seen == proc.model(0).labels_seen == len(feed.examples())
    assert saved.positives > 0


def test_a_new_processor_on_the_same_tables_scores_a_fixed_input_as_the_old_one():
    tables = {"customers": {}, "clocks": {}, "models": {}}
    proc = make_processor(tables)
    feed = Feed(proc)
    last = population(feed, customers=10, weeks=4, stay_weeks=12)
    feed.tick(last + HORIZON + timedelta(days=10))
    x = {name: 0.5 for name in FEATURE_NAMES}
    before = proc.model(0).predict(x)

    restored = make_processor(tables)

    assert restored.model(0).labels_seen == proc.model(0).labels_seen > 0
    assert restored.model(0).predict(x) == before
    assert before != ChurnModel().predict(x)   # it did learn something


def test_warnings_after_warm_up_carry_the_blended_risk_and_the_model_version_but_rule_levels():
    warm = ModelParams(min_labels=20, min_positives=5, ramp_labels=0, max_weight=0.7)
    runs = {}
    never_warm = ModelParams(min_labels=10**9)
    for name, params in (("rules", never_warm), ("blend", warm)):
        feed = Feed(make_processor(model_params=params))
        last = population(feed, customers=20, weeks=10, stay_weeks=30)
        feed.tick(last + timedelta(days=60))
        runs[name] = (feed.warnings(), feed.proc.model(0))

    rules, blended = runs["rules"][0], runs["blend"][0]
    model = runs["blend"][1]
    assert model.warm and not runs["rules"][1].warm
    assert rules, "the quiet half is warned about"
    # Same lifecycle, same levels, at the same event times: levels stay on the rule evidence.
    steps = lambda ws: [(w["customer_id"], w["state"], w["level"], w["occurred_at"]) for w in ws]  # noqa: E731
    assert steps(blended) == steps(rules)
    assert {w["model_version"] for w in rules} == {"rules-1"}
    late = [w for w in blended if w["model_version"] != "rules-1"]
    assert late, "warnings after warm-up name the model"
    assert all(w["model_version"].startswith("rules-1+river-lr-f4-") for w in late)
    by_id = {w["warning_id"]: w["risk_score"] for w in rules}
    assert any(w["risk_score"] != by_id[w["warning_id"]] for w in late)
    assert all(0.0 <= w["risk_score"] <= 1.0 for w in blended)


def test_quality_over_the_held_partitions_reports_labels_and_positive_rate():
    proc = make_processor()
    assert proc.model_quality() is None   # no model loaded yet: nothing to report
    feed = Feed(proc)
    last = population(feed, customers=10, weeks=4, stay_weeks=12)
    feed.tick(last + HORIZON + timedelta(days=10))

    q = proc.model_quality()

    examples = feed.examples()
    assert q.labels_seen == len(examples) == proc.labels_learned
    assert q.positives == sum(ex.label for ex in examples)
    assert q.positive_rate == q.positives / q.labels_seen
    assert q.rolling_roc_auc is not None and 0.0 <= q.rolling_roc_auc <= 1.0


def test_a_quiet_customer_is_snapshotted_weekly_by_sweeps_until_a_horizon_has_passed():
    proc = make_processor()
    feed = Feed(proc)
    feed.login("c1", T0)
    feed.tick(T0 + timedelta(days=40))
    times = [t for t, _ in decode(proc.customers["c1"]).pending[1:]]
    assert times[0] == epoch(T0)   # at the login
    assert len(times) == 1 + 6   # Thursdays 9 Jan to 13 Feb, before the tick minus the lateness allowance
    # Then one per weekly slot, at the slot boundary (slots are aligned on the epoch).
    assert {b - a for a, b in zip(times[1:], times[2:])} == {7 * DAY}
    assert all(t % (7 * DAY) == 0 for t in times[1:])
