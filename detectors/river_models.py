"""The online churn model: a River pipeline that learns from delayed labels as they arrive.

`ChurnModel` predicts the probability that a customer shows no activity within the churn
horizon (`detectors.labels`), from the features of `detectors.features`. It learns one
example at a time, in event time, and always predicts an example before learning from it
(progressive validation), so its quality figures are honest out-of-sample figures:

* rolling ROC AUC over the last `window` labels (`river.metrics.RollingROCAUC`);
* rolling log loss over the same window;
* labels seen and the share of positives (churned) among them.

Until `min_labels` labels, among them `min_positives` of each class, have been seen the
model is warming up: `score` returns None and `blend` leaves the rule score alone. After that the risk score is a blend whose model
weight ramps up linearly over the next `ramp_labels` labels to `max_weight`.

The model is a scaler and a logistic regression (`preprocessing.StandardScaler() |
linear_model.LogisticRegression(optimizer=optim.SGD(lr))`): about 2 KB pickled, tens of
microseconds per predict-and-learn (measured in tests/unit/test_river_models.py), so a
replayed year of labels trains in seconds, and a linear model over the rule signals
cannot do worse than the best single linear reading of them by much. See docs/quality.md
("Model vs rules") for how it compares with the rule score on customers it never saw.

Persistence: `dumps` / `loads` pickle the whole model (pipeline, metrics, counters) behind
a format tag; the stream layer checkpoints those bytes through a changelogged table.
Only load bytes this class wrote: unpickling runs code.

Defaults, and why (measured with `python -m streams.model_quality`, docs/quality.md):
`lr` 0.005 on standardised inputs: 0.02-0.05 let the weights chase the latest few hundred
labels (held-out ROC AUC on delayed labels 0.64-0.69), 0.001-0.005 gave 0.76-0.79 and
settle within a few thousand labels. `min_labels` 200 labels is about two weeks of weekly
snapshots of a few hundred customers, enough for the intercept and the strongest weights
to settle; `min_positives` 100: a floor below which the weights of the rare class
mean nothing. It is not enough on its own: on the simulated year the model as it stood
stayed at chance until it had seen a few hundred positives, because the first positives
are seasonal breaks and one-order customers, not the declines that come later
(docs/quality.md); `blend` keeps the rules' ranking through that phase. `max_weight` 0.7: the model ranked held-out customers better than the rules,
and the blend's ranking moves towards the model's as its weight grows (on day 240 of the
simulated year, 0.5 kept three quarters of the model's gain over the rules, 0.7 nine
tenths); 0.7 keeps a rules' share for cases the model sees rarely (an unanswered
high-severity complaint fires a rule on its first day).

Behaviour drift (River's ADWIN or Page-Hinkley on per-customer series) is not used: one
ADWIN per customer is 2-3 KB of state (measured on this machine), more than the whole rest of
a customer's state, and the per-customer trends it would find (activity, order rhythm and
value against the customer's own baseline) are already measured by exact tests in the
rule detectors and enter the model as features (`log_*_trend`, `signal_*`).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from typing import Mapping

from river import linear_model, metrics, optim, preprocessing, utils

from detectors.features import FEATURES_VERSION
from detectors.warning import MODEL_VERSION

_MAGIC = b"CWMODEL1"


@dataclass(frozen=True)
class ModelParams:
    lr: float = 0.005            # SGD learning rate of the logistic regression
    l2: float = 0.0              # L2 penalty of the logistic regression
    min_labels: int = 200        # labels before the model scores at all (warm-up)
    min_positives: int = 100     # ... and at least this many of each class among them
    ramp_labels: int = 2000      # labels over which the model's blend weight grows to max_weight
    max_weight: float = 0.7      # model share of the blended risk score once ramped up
    window: int = 1000           # labels in the rolling ROC AUC and log loss

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr}: expected a positive learning rate, e.g. 0.005")
        if self.min_labels < 0 or self.ramp_labels < 0 or self.min_positives < 0:
            raise ValueError(f"min_labels={self.min_labels}, min_positives={self.min_positives}, "
                             f"ramp_labels={self.ramp_labels}: expected counts >= 0")
        if not 0.0 <= self.max_weight <= 1.0:
            raise ValueError(f"max_weight={self.max_weight}: expected a share between 0 and 1")
        if self.window < 1:
            raise ValueError(f"window={self.window}: expected at least 1 label")


@dataclass(frozen=True)
class ModelQuality:
    """Progressive-validation figures of a model (None where there is nothing to say yet)."""

    labels_seen: int
    positives: int
    positive_rate: float | None
    rolling_roc_auc: float | None
    rolling_log_loss: float | None

    def as_dict(self) -> dict:
        return {
            "labels_seen": self.labels_seen,
            "positives": self.positives,
            "positive_rate": self.positive_rate,
            "rolling_roc_auc": self.rolling_roc_auc,
            "rolling_log_loss": self.rolling_log_loss,
        }


class ChurnModel:
    """Online churn probability with progressive validation (see module docstring).

    Examples
    --------
    >>> m = ChurnModel(seed=1, params=ModelParams(min_labels=2, min_positives=1))
    >>> m.score({"rule_risk": 0.9}) is None          # warming up
    True
    >>> for i in range(40):
    ...     _ = m.learn({"rule_risk": 0.9}, 1)
    ...     _ = m.learn({"rule_risk": 0.1}, 0)
    >>> m.score({"rule_risk": 0.9}) > 0.5 > m.score({"rule_risk": 0.1})
    True
    >>> m.labels_seen, m.version, m.scored_by
    (80, 'river-lr-f4-80', 'rules-1+river-lr-f4-80')
    >>> ChurnModel.loads(m.dumps()).score({"rule_risk": 0.9}) == m.score({"rule_risk": 0.9})
    True
    """

    kind = "river-lr"

    def __init__(self, seed: int = 0, params: ModelParams = ModelParams()) -> None:
        self.seed = seed
        self.params = params
        # The logistic regression starts from zero weights and SGD visits examples in the
        # order given, so the model is deterministic; the seed is kept for models with
        # randomness and recorded in the checkpoint.
        self.pipeline = preprocessing.StandardScaler() | linear_model.LogisticRegression(
            optimizer=optim.SGD(params.lr), l2=params.l2)
        self.auc = metrics.RollingROCAUC(window_size=params.window)
        self.log_loss = utils.Rolling(metrics.LogLoss, window_size=params.window)
        self.labels_seen = 0
        self.positives = 0

    # ------------------------------------------------------------------ scoring and learning

    @property
    def warm(self) -> bool:
        """True once `min_labels` labels, with `min_positives` of each class, have been
        seen: `score` returns a probability.

        Positives are the scarce class (a few per cent of weekly snapshots) and the last
        to arrive (a whole horizon after the customer stopped): a model that has seen
        thousands of customers come back and hardly anyone leave has learned nothing
        about leaving yet.
        """
        p = self.params
        return (self.labels_seen >= p.min_labels and self.positives >= p.min_positives
                and self.labels_seen - self.positives >= p.min_positives)

    def predict(self, x: Mapping[str, float]) -> float:
        """Churn probability for features `x`, also during warm-up (used for validation)."""
        p = self.pipeline.predict_proba_one(dict(x)).get(True, 0.5)
        return min(1.0, max(0.0, float(p)))

    def score(self, x: Mapping[str, float]) -> float | None:
        """Churn probability for features `x`, or None while warming up."""
        return self.predict(x) if self.warm else None

    def learn(self, x: Mapping[str, float], y: int | bool) -> float:
        """Predict `x` (progressive validation: before learning it), update the quality
        figures with that prediction, then learn `(x, y)`. Returns the prediction."""
        x = dict(x)
        y = bool(y)
        p = self.predict(x)
        self.auc.update(y, p)
        self.log_loss.update(y, p)
        self.pipeline.learn_one(x, y)
        self.labels_seen += 1
        self.positives += y
        if self.labels_seen % self.params.window == 0:
            # River (0.26) buffers the rolling AUC's updates until it is read, and only then
            # keeps the last `window` of them: a model whose quality nobody reads (a bulk run)
            # would keep every label it learned, and its checkpoint grow past a produce
            # request's limit (1.2 MB after a simulated year of 2,500 customers per partition).
            self.auc.get()
        return p

    # ------------------------------------------------------------------ reporting

    @property
    def version(self) -> str:
        """Model identity: family, features version and labels seen (rounded down to one
        significant digit, so the string changes a few times per tenfold, not per label).

        >>> m = ChurnModel(); m.labels_seen = 2345; m.version
        'river-lr-f4-2000'
        """
        return f"{self.kind}-f{FEATURES_VERSION}-{_round_down(self.labels_seen)}"

    @property
    def scored_by(self) -> str:
        """What a warning's `model_version` says: the rules alone while warming up, else
        rules blended with this model.

        >>> ChurnModel().scored_by
        'rules-1'
        """
        return f"{MODEL_VERSION}+{self.version}" if self.warm else MODEL_VERSION

    def quality(self) -> ModelQuality:
        """Rolling ROC AUC and log loss of the progressive validation, labels and positives.

        >>> ChurnModel().quality().rolling_roc_auc is None
        True
        """
        n = self.labels_seen
        both = 0 < self.positives < n
        return ModelQuality(
            labels_seen=n,
            positives=self.positives,
            positive_rate=self.positives / n if n else None,
            rolling_roc_auc=float(self.auc.get()) if both else None,
            rolling_log_loss=float(self.log_loss.get()) if n else None,
        )

    # ------------------------------------------------------------------ persistence

    def dumps(self) -> bytes:
        """The whole model as bytes (for a changelogged checkpoint)."""
        return _MAGIC + pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def loads(cls, data: bytes) -> "ChurnModel":
        """Inverse of `dumps`. Only pass bytes `dumps` wrote: unpickling runs code.

        >>> ChurnModel.loads(b"something else")
        Traceback (most recent call last):
        ...
        ValueError: not a Churnwatch model checkpoint (expected it to start with b'CWMODEL1')
        """
        if not data.startswith(_MAGIC):
            raise ValueError(f"not a Churnwatch model checkpoint (expected it to start with {_MAGIC!r})")
        try:
            model = pickle.loads(data[len(_MAGIC):])
        except Exception as err:  # a truncated or corrupted checkpoint: say so, whatever pickle raised
            raise ValueError(f"model checkpoint does not load: {type(err).__name__}: {err}") from err
        if not isinstance(model, cls):
            raise ValueError(f"model checkpoint holds a {type(model).__name__}, expected {cls.__name__}")
        return model


def model_weight(labels_seen: int, params: ModelParams = ModelParams()) -> float:
    """Share of the model in the blended risk: 0 while warming up, then a linear ramp.

    >>> p = ModelParams(min_labels=200, ramp_labels=2000, max_weight=0.5)
    >>> model_weight(199, p), model_weight(1200, p), model_weight(5000, p)
    (0.0, 0.25, 0.5)
    """
    if labels_seen < params.min_labels:
        return 0.0
    if params.ramp_labels <= 0:
        return params.max_weight
    return params.max_weight * min(1.0, (labels_seen - params.min_labels) / params.ramp_labels)


def blend(rule_score: float, model_score: float | None, labels_seen: int,
          params: ModelParams = ModelParams()) -> float:
    """The risk score from the rule score and the model's churn probability.

    The rule score alone while the model warms up (or gives no score); then
    `(1 - w) * rule + w * model` with `w = model_weight(labels_seen)`.

    >>> blend(0.6, None, 0), blend(0.6, 0.9, 100)
    (0.6, 0.6)
    >>> round(blend(0.6, 0.9, 10_000, ModelParams(max_weight=0.5)), 4)
    0.75
    """
    w = model_weight(labels_seen, params) if model_score is not None else 0.0
    if w <= 0.0:
        return rule_score
    return min(1.0, max(0.0, (1.0 - w) * rule_score + w * float(model_score)))


def _round_down(n: int) -> int:
    """`n` rounded down to one significant digit.

    >>> [_round_down(n) for n in (0, 7, 80, 199, 2345, 31000)]
    [0, 7, 80, 100, 2000, 30000]
    """
    if n < 10:
        return n
    magnitude = 10 ** int(math.log10(n))
    return n // magnitude * magnitude
