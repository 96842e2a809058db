"""The online churn model: warm-up, progressive validation, persistence, determinism, cost."""

from __future__ import annotations

import random

import pytest

from detectors.features import FEATURE_NAMES
from detectors.river_models import ChurnModel, ModelParams, blend, model_weight
from detectors.warning import MODEL_VERSION
from streams.evaluate import roc_auc


def synthetic(n: int, seed: int, noise: float = 0.0):
    """Feature dicts over FEATURE_NAMES; churners are quiet longer and show a silence signal.

    With noise 0 the classes are separable on two features; the rest is noise.
    """
    r = random.Random(seed)
    out = []
    for _ in range(n):
        y = 1 if r.random() < 0.2 else 0
        x = {name: r.gauss(0.0, 1.0) for name in FEATURE_NAMES}
        shift = 2.0 if y else -2.0
        x["log_days_since_active"] = shift + r.gauss(0.0, 0.5 + noise)
        x["signal_silence"] = (0.8 if y else 0.1) + r.gauss(0.0, 0.05 + noise)
        out.append((x, y))
    return out


def trained(n: int = 600, seed: int = 1, params: ModelParams = ModelParams()) -> ChurnModel:
    m = ChurnModel(seed=seed, params=params)
    for x, y in synthetic(n, seed):
        m.learn(x, y)
    return m


def test_the_model_gives_no_score_while_warming_up_and_the_rules_stand_alone():
    m = ChurnModel(params=ModelParams(min_labels=200, min_positives=20))
    x, _ = synthetic(1, 0)[0]
    for xi, yi in synthetic(199, 0):
        m.learn(xi, yi)
    assert m.score(x) is None
    assert m.scored_by == MODEL_VERSION
    assert blend(0.42, m.score(x), m.labels_seen, m.params) == 0.42
    m.learn(x, 1)
    assert m.warm and 0.0 <= m.score(x) <= 1.0
    assert m.scored_by == f"{MODEL_VERSION}+river-lr-f4-200"


def test_a_model_that_has_seen_hardly_anyone_leave_stays_in_warm_up():
    m = ChurnModel(params=ModelParams(min_labels=200, min_positives=100))
    data = synthetic(3000, seed=4)
    for x, y in [d for d in data if d[1] == 0][:2000]:
        m.learn(x, y)
    for x, y in [d for d in data if d[1] == 1][:99]:
        m.learn(x, y)
    assert m.score(data[0][0]) is None
    m.learn(*[d for d in data if d[1] == 1][99])
    assert m.score(data[0][0]) is not None


def test_learning_separable_data_gives_a_high_rolling_auc_and_ranks_unseen_customers():
    m = trained(2000)
    q = m.quality()
    assert q.labels_seen == 2000
    assert q.rolling_roc_auc > 0.95
    assert 0.15 < q.positive_rate < 0.25
    assert q.rolling_log_loss < 0.3
    test = synthetic(1000, seed=99)
    assert roc_auc([m.score(x) for x, _ in test], [y for _, y in test]) > 0.97


def test_learn_scores_before_it_learns():
    m = ChurnModel()
    x, _ = synthetic(1, 3)[0]
    before = m.predict(x)
    assert m.learn(x, 1) == before
    assert m.predict(x) > before


def test_model_state_round_trips_through_bytes():
    m = trained(500)
    probe = [x for x, _ in synthetic(20, seed=7)]
    restored = ChurnModel.loads(m.dumps())
    assert [restored.score(x) for x in probe] == [m.score(x) for x in probe]
    assert restored.quality() == m.quality()
    assert restored.version == m.version
    # and it keeps learning exactly as the original would
    more = synthetic(50, seed=8)
    for x, y in more:
        m.learn(x, y)
        restored.learn(x, y)
    assert [restored.score(x) for x in probe] == [m.score(x) for x in probe]


def test_a_checkpoint_stays_the_same_size_however_many_labels_were_learned_unread():
    """Nobody reads the quality in a bulk run: the checkpoint must still hold only the rolling
    window, not every label (it reached 1.2 MB, above a produce request's limit, on a year of
    2,500 customers per partition), and the quality must be what reading it all along gives."""
    params = ModelParams(window=200)
    m, read = ChurnModel(params=params), ChurnModel(params=params)
    sizes = []
    for n, (x, y) in enumerate(synthetic(3000, seed=3), start=1):
        m.learn(x, y)
        read.learn(x, y)
        read.quality()
        if n in (1000, 3000):
            sizes.append(len(m.dumps()))
    assert sizes[1] < sizes[0] * 1.1, sizes
    assert m.quality() == read.quality()


def test_the_same_seed_and_labels_give_the_same_model():
    a, b = trained(400, seed=5), trained(400, seed=5)
    probe = [x for x, _ in synthetic(20, seed=11)]
    assert [a.score(x) for x in probe] == [b.score(x) for x in probe]
    assert a.dumps() == b.dumps()


@pytest.mark.parametrize("data", [b"", b"CWMODEL1" + b"not a pickle", b"\x80\x04N."])
def test_bytes_that_are_not_a_model_checkpoint_are_refused(data):
    with pytest.raises(ValueError, match="checkpoint"):
        ChurnModel.loads(data)


def test_a_checkpoint_of_something_else_is_refused():
    import pickle

    with pytest.raises(ValueError, match="checkpoint holds a dict, expected ChurnModel"):
        ChurnModel.loads(b"CWMODEL1" + pickle.dumps({"a": 1}))


def test_the_version_names_the_labels_seen_rounded_down():
    m = ChurnModel()
    for n, expected in [(0, "river-lr-f4-0"), (250, "river-lr-f4-200"), (1999, "river-lr-f4-1000"),
                        (25_000, "river-lr-f4-20000")]:
        m.labels_seen = n
        assert m.version == expected


@pytest.mark.parametrize("labels, weight", [(0, 0.0), (199, 0.0), (200, 0.0), (1200, 0.35), (2200, 0.7),
                                            (50_000, 0.7)])
def test_the_model_weight_ramps_up_with_labels_seen(labels, weight):
    assert model_weight(labels, ModelParams(min_labels=200, ramp_labels=2000, max_weight=0.7)) == \
        pytest.approx(weight)


def test_the_blend_moves_from_the_rule_score_towards_the_model_and_stays_in_range():
    p = ModelParams(min_labels=200, ramp_labels=2000, max_weight=0.7)
    assert blend(0.3, 0.9, 100, p) == 0.3
    assert blend(0.3, 0.9, 5000, p) == pytest.approx(0.3 * 0.3 + 0.7 * 0.9)
    assert blend(0.3, None, 5000, p) == 0.3
    assert 0.0 <= blend(1.0, 1.0, 5000, p) <= 1.0


@pytest.mark.parametrize("kw", [{"lr": 0}, {"max_weight": 1.5}, {"window": 0}, {"min_labels": -1}])
def test_nonsense_model_params_are_refused(kw):
    with pytest.raises(ValueError, match="expected"):
        ModelParams(**kw)

