"""``churnwatch evaluate-holdout``: score the risk score on real history, against published baselines.

A simulator's ground truth says who left; a shop's order history does not. The standard
way to score churn/"alive" predictions on a real purchase log is a calibration/holdout
split (Fader, Hardie & Lee 2005 on CDNOW: 39 weeks + 39 weeks):

1. The orders export is converted (``streams.convert``; the converted replay file is
   cached by the export's content, the conversion options and the converter's code).
2. Every event before the cutoff is replayed through the worker's own per-message code
   (:func:`streams.offline.run_offline`: decoding, reorder buffer, detectors, sweeps,
   warning lifecycle), and event time is moved to the cutoff.
3. At the cutoff every customer with a placed order in calibration gets a snapshot row:
   the risk score a worker would report, and the warning level open at that moment.
4. A customer is labelled **churned** when they place no order in the holdout window
   ``[cutoff, cutoff + horizon)`` (cancellations and returns are not purchases). Customers
   whose first order comes after the cutoff are not scored (counted).
5. Reported: ROC AUC and PR AUC (average precision, churners as the positive class) of
   the risk score and of the baselines computed on the same split
   (:mod:`streams.holdout_baselines`: recency, BG/NBD, Pareto/NBD); precision and recall
   of "a warning is open at the cutoff" as a churn prediction; all of it overall and per
   segment of calibration orders (1, 2-3, 4+). PR AUC is to be read against the churn
   rate, its value for a random ranking. The scores that are probabilities (the risk
   score, the models' 1 - P(alive)) also get a Brier score against the holdout's outcome,
   and the risk score its churned share per slice of risk (`streams.evaluate.calibration`);
   the risk score asks about `CHURNWATCH_CHURN_HORIZON_DAYS`, and the report says so when
   the holdout is longer or shorter.

The baselines depend only on the data and the split, so they are cached next to the
converted file; a re-run after a detector change costs the replay only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from detectors.signal import FIRE
from schemas.errors import ChurnwatchError
from streams import holdout_baselines as hb
from streams.evaluate import LEVELS, calibration, roc_auc
from streams.replay import read_lines

DAY = 86_400
#: Segments of customers by their number of orders in calibration.
SEGMENTS: tuple[str, ...] = ("1", "2-3", "4+")
#: Score columns of the report, in print order, with their labels.
SCORE_LABELS: dict[str, str] = {
    "risk_score": "Churnwatch risk_score",
    "recency": "recency (days since last order)",
    "bgnbd_p_alive": "BG/NBD 1 - P(alive)",
    "bgnbd_expected": "BG/NBD expected holdout orders (-)",
    "pnbd_p_alive": "Pareto/NBD 1 - P(alive)",
    "pnbd_expected": "Pareto/NBD expected holdout orders (-)",
}
#: The scores that are probabilities of being gone (the models' 1 - P(alive) and the risk
#: score): their Brier score against the holdout's outcome is reported beside the ranking.
PROBABILITIES = frozenset({"risk_score", "bgnbd_p_alive", "pnbd_p_alive"})
#: Rules of thumb a warning is judged beside: (score column, threshold above which the
#: rule calls the customer gone, label). Recency rules are what a team without a model uses;
#: "P(alive) < 0.5" is how the buy-till-you-die models are turned into a yes/no answer.
RULES: tuple[tuple[str, float, str], ...] = (
    ("recency", 90.0, "recency > 90 days"),
    ("recency", 180.0, "recency > 180 days"),
    ("bgnbd_p_alive", 0.5, "BG/NBD P(alive) < 0.5"),
    ("pnbd_p_alive", 0.5, "Pareto/NBD P(alive) < 0.5"),
)
#: A calibration shorter than this (days from the first event to the cutoff) is noted as
#: too short to judge by: a quarter of history holds few repeat purchases.
SHORT_CALIBRATION_DAYS = 90
#: Mis-ranked customers listed in the report, each way.
MISRANKED_SHOWN = 8


class HoldoutError(ChurnwatchError, ValueError):
    """The history cannot be split or scored as asked."""


def segment_of(calibration_orders: int) -> str:
    """The segment of a customer with this many orders in calibration.

    Example:
        >>> [segment_of(n) for n in (1, 2, 3, 4, 40)]
        ['1', '2-3', '2-3', '4+', '4+']
    """
    return "1" if calibration_orders <= 1 else "2-3" if calibration_orders <= 3 else "4+"


def average_precision(scores: Sequence[float], labels: Sequence[bool | int]) -> float | None:
    """PR AUC as average precision: the mean, over positives, of the precision at the score
    of each positive; tied scores form one threshold (as scikit-learn computes it). ``None``
    without a positive.

    Example:
        >>> average_precision([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0])
        0.8333333333333333
        >>> average_precision([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])
        0.5
        >>> average_precision([0.2, 0.1], [0, 0]) is None
        True
    """
    n_pos = sum(1 for y in labels if y)
    if n_pos == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ap = 0.0
    tp = seen = 0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        block_pos = sum(1 for k in order[i:j + 1] if labels[k])
        tp += block_pos
        seen += j - i + 1
        ap += (block_pos / n_pos) * (tp / seen)
        i = j + 1
    return ap


def warning_scores(predicted: Sequence[bool], labels: Sequence[bool]) -> dict[str, Any]:
    """Precision and recall of a yes/no churn prediction (a warning open at the cutoff).

    Example:
        >>> warning_scores([True, True, False, False], [True, False, True, False])
        {'warned': 2, 'precision': 0.5, 'recall': 0.5}
    """
    warned = sum(1 for p in predicted if p)
    hits = sum(1 for p, y in zip(predicted, labels) if p and y)
    positives = sum(1 for y in labels if y)
    return {"warned": warned, "precision": hits / warned if warned else None,
            "recall": hits / positives if positives else None}


@dataclass
class Split:
    """A replay file split at the cutoff: what the worker sees, and what the labels need."""

    cutoff: int
    end: int
    calibration_lines: list[bytes] = field(default_factory=list)
    purchases: dict[str, list[int]] = field(default_factory=dict)  # calibration placed-order times
    holdout_buyers: set[str] = field(default_factory=set)
    holdout_purchases: dict[str, list[int]] = field(default_factory=dict)  # placed-order times in the window
    holdout_event_lines: list[bytes] = field(default_factory=list)  # events inside the window
    new_in_holdout: set[str] = field(default_factory=set)  # first order after the cutoff: not scored
    first_at: int = 0
    last_at: int = 0
    holdout_lines: int = 0


def _epoch(text: str) -> int:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise HoldoutError(f"occurred_at {text!r} has no UTC offset")
    return int(value.timestamp())


def in_sample(customer_id: str, sample: int) -> bool:
    """Whether a customer belongs to the 1-in-``sample`` subset (a stable hash of the id, so
    the same customers every run, spread over the whole history).

    Example:
        >>> sum(in_sample(f"c{n}", 4) for n in range(4000))
        1032
        >>> all(in_sample(f"c{n}", 1) for n in range(10))
        True
    """
    return sample <= 1 or int.from_bytes(hashlib.blake2b(customer_id.encode(), digest_size=8).digest()) % sample == 0


def split_replay(lines: Iterable[bytes], cutoff: datetime, horizon_days: float, sample: int = 1) -> Split:
    """Split replay lines at ``cutoff``: lines before it for the replay, and per customer
    their calibration purchases and whether they buy in ``[cutoff, cutoff + horizon)``.
    With ``sample`` > 1 only the customers of :func:`in_sample` are kept.

    Example:
        >>> o = lambda c, d, s="placed": orjson.dumps({"type": "order", "customer_id": c, "status": s,
        ...                                           "occurred_at": f"2024-01-{d:02d}T00:00:00Z"})
        >>> s = split_replay([o("a", 1), o("b", 2), o("a", 12, "cancelled"), o("b", 15), o("c", 16), o("b", 29)],
        ...                  datetime(2024, 1, 10, tzinfo=timezone.utc), horizon_days=14)
        >>> len(s.calibration_lines), sorted(s.purchases), sorted(s.holdout_buyers), sorted(s.new_in_holdout)
        (2, ['a', 'b'], ['b'], ['c'])
    """
    if horizon_days <= 0:
        raise HoldoutError(f"horizon {horizon_days} days: expected a positive number of days")
    cut = int(cutoff.timestamp())
    split = Split(cutoff=cut, end=cut + round(horizon_days * DAY))
    later_buyers: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = orjson.loads(line)
            at = _epoch(event["occurred_at"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise HoldoutError(f"line {number}: not a replay event with an occurred_at ({err})") from None
        split.first_at = at if not split.first_at else min(split.first_at, at)
        split.last_at = max(split.last_at, at)
        placed = event.get("type") == "order" and event.get("status", "placed") == "placed"
        customer = event.get("customer_id")
        if customer is not None and sample > 1 and not in_sample(customer, sample):
            continue
        if at < cut:
            split.calibration_lines.append(line)
            if placed:
                split.purchases.setdefault(customer, []).append(at)
        else:
            split.holdout_lines += 1
            if at < split.end:
                split.holdout_event_lines.append(line)
                if placed:
                    later_buyers.add(customer)
                    split.holdout_purchases.setdefault(customer, []).append(at)
    split.holdout_buyers = later_buyers & split.purchases.keys()
    split.new_in_holdout = later_buyers - split.purchases.keys()
    if not split.purchases:
        raise HoldoutError(f"no placed order before the cutoff {cutoff.isoformat()}; the history runs from "
                           f"{_iso(split.first_at)} to {_iso(split.last_at)}")
    if split.last_at < cut:
        raise HoldoutError(f"the history ends at {_iso(split.last_at)}, before the cutoff {cutoff.isoformat()}: "
                           f"nothing to label")
    return split


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if epoch else "-"


def _ranking(scores: Mapping[str, Sequence[float | None]], labels: Sequence[bool], rows: Sequence[int]) -> dict:
    out: dict[str, dict[str, float | None]] = {}
    for name, values in scores.items():
        picked = [(values[i], labels[i]) for i in rows if values[i] is not None]
        if len(picked) < len(rows):  # a baseline that could not be computed
            out[name] = {"roc_auc": None, "pr_auc": None, **({"brier": None} if name in PROBABILITIES else {})}
            continue
        s, y = [p[0] for p in picked], [p[1] for p in picked]
        out[name] = {"roc_auc": roc_auc(s, y), "pr_auc": average_precision(s, y)}
        if name in PROBABILITIES:
            c = calibration(s, y)
            out[name]["brier"] = c["brier"] if c else None
    return out


def score_split(split: Split, snapshot: Iterable[Mapping[str, Any]],
                baselines: Mapping[str, Mapping[str, float]] | None) -> dict[str, Any]:
    """The report's figures from a split, the worker's snapshot at the cutoff and the baselines.

    Customers of the split missing from the snapshot (none, when the snapshot comes from
    the same replay) are an error: their score would silently be left out.
    """
    rows_by_id = {row["customer_id"]: row for row in snapshot}
    ids = sorted(split.purchases)
    missing = [c for c in ids if c not in rows_by_id]
    if missing:
        raise HoldoutError(f"{len(missing)} customers with calibration orders have no snapshot row, e.g. {missing[0]!r}")
    summaries = {c: hb.summarise(split.purchases[c], split.cutoff) for c in ids}
    labels = [c not in split.holdout_buyers for c in ids]
    orders = [len(split.purchases[c]) for c in ids]
    segments = [segment_of(n) for n in orders]
    scores: dict[str, list[float | None]] = {
        "risk_score": [float(rows_by_id[c]["risk_score"]) for c in ids],
        "recency": [summaries[c].recency_days for c in ids],
    }
    for name in hb.SCORE_NAMES[1:]:
        scores[name] = [baselines[c].get(name) if baselines and c in baselines else None for c in ids]
    open_levels = [rows_by_id[c].get("open_warning_level", "none") for c in ids]

    def block(rows: list[int]) -> dict[str, Any]:
        y = [labels[i] for i in rows]
        warned = {level: warning_scores([_at_least(open_levels[i], level) for i in rows], y)
                  for level in LEVELS}
        rules = {label: warning_scores([scores[name][i] > threshold for i in rows], y)
                 for name, threshold, label in RULES if all(scores[name][i] is not None for i in rows)}
        return {"customers": len(rows), "churned": sum(y), "churn_rate": sum(y) / len(rows) if rows else None,
                "ranking": _ranking(scores, labels, rows), "warnings_open_at_cutoff": warned,
                "rules_at_cutoff": rules}

    report: dict[str, Any] = {"overall": block(list(range(len(ids))))}
    report["overall"]["risk_calibration"] = calibration(scores["risk_score"], labels)
    report["by_calibration_orders"] = {seg: block([i for i in range(len(ids)) if segments[i] == seg])
                                       for seg in SEGMENTS}
    report["misranked"] = _misranked(ids, labels, orders, scores, rows_by_id, summaries)
    report["per_customer"] = [
        {"customer_id": c, "calibration_orders": orders[i], "segment": segments[i], "churned": labels[i],
         "open_warning_level": open_levels[i], "signals": ",".join(s["kind"] for s in rows_by_id[c].get("signals", [])
                                                                   if s.get("strength", 0) >= FIRE),
         **dict(_published(name, scores[name][i]) for name in scores)}
        for i, c in enumerate(ids)]
    return report


def _published(name: str, score: float | None) -> tuple[str, float | None]:
    """A score column of ``scores.csv`` as the model publishes it: the report ranks by
    1 - P(alive) and by minus the expected orders (higher: more likely gone), the file
    holds P(alive) and the expected orders themselves, under names that say so.

    >>> _published("pnbd_p_alive", 0.25), _published("bgnbd_expected", -1.5), _published("recency", 40.0)
    (('pnbd_p_alive', 0.75), ('bgnbd_expected_orders', 1.5), ('recency', 40.0))
    """
    if score is None:
        return (name + "_orders" if name.endswith("_expected") else name), None
    if name.endswith("_p_alive"):
        return name, 1.0 - score
    if name.endswith("_expected"):
        return name + "_orders", -score
    return name, score


def _at_least(level: str, minimum: str) -> bool:
    return level in LEVELS and LEVELS.index(level) >= LEVELS.index(minimum)


def _misranked(ids: list[str], labels: list[bool], orders: list[int], scores: Mapping[str, list],
               rows_by_id: Mapping[str, Mapping[str, Any]], summaries: Mapping[str, hb.Summary]) -> dict[str, list]:
    """The customers the risk score gets most wrong: returners ranked riskiest, churners safest."""
    risk = scores["risk_score"]

    def describe(i: int) -> dict[str, Any]:
        row = rows_by_id[ids[i]]
        return {"customer_id": ids[i], "calibration_orders": orders[i], "risk_score": risk[i],
                "recency_days": summaries[ids[i]].recency_days, "open_warning_level": row.get("open_warning_level"),
                "signals": [f"{s['kind']}={s.get('strength', 0):.2f}" for s in row.get("signals", [])]}

    returners = sorted((i for i in range(len(ids)) if not labels[i]), key=lambda i: (-risk[i], ids[i]))
    churners = sorted((i for i in range(len(ids)) if labels[i]), key=lambda i: (risk[i], ids[i]))
    return {"returned_with_highest_risk": [describe(i) for i in returners[:MISRANKED_SHOWN]],
            "churned_with_lowest_risk": [describe(i) for i in churners[:MISRANKED_SHOWN]]}


def holdout_warning_scores(split: Split, warnings: Iterable[Mapping[str, Any]], open_at_cutoff: Mapping[str, str],
                           min_level: str = "warning") -> dict[str, Any]:
    """What the warnings raised *inside* the holdout window were worth.

    For scored customers without a warning open at the cutoff, their first warning at
    ``min_level`` or above (``raised`` or ``escalated``) inside the window: a *hit* when the
    customer places no order after it until the window ends, a *false alarm* when they do.
    ``recall`` counts churners warned at the cutoff or during the window; ``days_quiet``
    is, for warned churners, how long after their last order the warning came (a late
    warning is of little use: they had long gone).

    Example:
        >>> s = Split(cutoff=100 * DAY, end=200 * DAY, purchases={"a": [10 * DAY], "b": [20 * DAY], "c": [90 * DAY]},
        ...           holdout_buyers={"b"}, holdout_purchases={"b": [160 * DAY]})
        >>> w = [{"customer_id": c, "state": "raised", "level": "warning", "occurred_at": _iso(d * DAY)}
        ...      for c, d in (("a", 120), ("b", 150))]
        >>> r = holdout_warning_scores(s, w, {"a": "none", "b": "none", "c": "warning"})
        >>> r["warned_in_holdout"], r["precision"], r["recall"], r["median_days_quiet_when_warned"]
        (2, 0.5, 1.0, 110.0)
    """
    first: dict[str, int] = {}
    for w in warnings:
        c = w.get("customer_id")
        if c not in split.purchases or _at_least(open_at_cutoff.get(c, "none"), min_level):
            continue
        if w.get("state") not in ("raised", "escalated") or not _at_least(w.get("level", ""), min_level):
            continue
        at = _epoch(w["occurred_at"])
        if split.cutoff <= at < split.end and (c not in first or at < first[c]):
            first[c] = at
    hits = [c for c, at in first.items() if not any(t > at for t in split.holdout_purchases.get(c, ()))]
    churners = [c for c in split.purchases if c not in split.holdout_buyers]
    warned_churners = [c for c in churners if c in first or _at_least(open_at_cutoff.get(c, "none"), min_level)]
    quiet = sorted((first[c] - max(split.purchases[c])) / DAY for c in hits)
    return {
        "min_level": min_level,
        "warned_in_holdout": len(first),
        "precision": len(hits) / len(first) if first else None,
        "false_alarms": len(first) - len(hits),
        "recall": len(warned_churners) / len(churners) if churners else None,
        "median_days_quiet_when_warned": quiet[len(quiet) // 2] if quiet else None,
    }


def cached_baselines(split: Split, horizon_days: float, cache_dir: Path | None) -> tuple[dict | None, dict[str, Any]]:
    """:func:`holdout_baselines.model_scores` for the split, from ``cache_dir`` when computed before.

    Returns ``(scores or None, info)``; ``info["status"]`` says ``fitted``, ``cached`` or why
    the models are missing.
    """
    version = hb.lifetimes_version()
    if version is None:
        return None, {"status": "lifetimes is not installed: pip install -e '.[realdata]' (make realdata does)"}
    summaries = {c: hb.summarise(split.purchases[c], split.cutoff) for c in sorted(split.purchases)}
    key = hashlib.sha256(orjson.dumps([version, horizon_days, [(c, s.frequency, s.recency_weeks, s.age_weeks)
                                                                 for c, s in summaries.items()]])).hexdigest()[:20]
    path = cache_dir / f"baselines-{key}.json" if cache_dir is not None else None
    if path is not None and path.exists():
        cached = orjson.loads(path.read_bytes())
        return cached["scores"], {**cached["info"], "status": "cached", "file": str(path)}
    started = time.monotonic()
    scores, fitted = hb.model_scores(summaries, horizon_days)
    info = {**fitted, "fit_seconds": round(time.monotonic() - started, 1)}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps({"scores": scores, "info": info}))
    return scores, {**info, "status": "fitted"}


def evaluate_holdout(settings: Any, replay_path: str | Path, cutoff: datetime, horizon_days: float, *,
                     params: Any = None, cache_dir: Path | None = None, baselines: bool = True,
                     holdout_warnings: bool = False, sample: int = 1, processes: int = 1) -> dict[str, Any]:
    """Split, replay the calibration through the worker's processing, snapshot at the cutoff, score.

    Parameters:
        settings: :class:`streams.settings.Settings` (partitions, detector parameters).
        replay_path: a replay file (``churnwatch convert-orders`` output or any replay file).
        cutoff: end of calibration, start of the holdout window (aware UTC).
        horizon_days: length of the holdout window.
        params: detector parameters [default: those of ``settings``].
        cache_dir: where fitted baselines are kept between runs (None: not kept).
        baselines: fit the BG/NBD and Pareto/NBD baselines (needs ``lifetimes``).
        holdout_warnings: also replay the holdout window and score the warnings raised in it
            (:func:`holdout_warning_scores`); a second replay, about twice the time.
        sample: score 1 in ``sample`` customers (:func:`in_sample`), for quick iterations;
            the baselines are fitted on the same customers.
        processes: run the replays' partitions in this many processes (0: one per core);
            the figures are the same (`streams.offline.run_offline`).
    """
    from streams.offline import invalid_lines_message, run_offline
    from streams.replay import SHOWN_INVALID_LINES, scan_replay

    started = time.monotonic()
    try:
        split = split_replay(read_lines(replay_path), cutoff, horizon_days, sample)
    except HoldoutError:
        # Every invalid line with its reason, as `churnwatch replay` and `offline` name them,
        # not only the first that the split stumbled on.
        scan = scan_replay(read_lines(replay_path), settings, keep_invalid=SHOWN_INVALID_LINES)
        if scan.invalid_count:
            raise HoldoutError(invalid_lines_message(scan)) from None
        raise
    split_seconds = time.monotonic() - started
    model_scores, model_info = (cached_baselines(split, horizon_days, cache_dir) if baselines
                                else (None, {"status": "not asked for (--no-baselines)"}))
    started = time.monotonic()
    result = run_offline(settings, split.calibration_lines, params=params, advance_to=cutoff, processes=processes)
    replay_seconds = time.monotonic() - started
    report = score_split(split, result.snapshot, model_scores)
    holdout_end = datetime.fromtimestamp(split.end, tz=timezone.utc)
    report["split"] = {
        "history": [_iso(split.first_at), _iso(split.last_at)],
        "calibration": [_iso(split.first_at), _iso(split.cutoff)],
        "holdout": [_iso(split.cutoff), _iso(split.end)],
        "horizon_days": horizon_days,
        "risk_horizon_days": (params or settings.detector_params()).population.horizon_days,
        "holdout_past_history_end": split.end > split.last_at + DAY,
        "calibration_events": len(split.calibration_lines),
        "customers_new_in_holdout": len(split.new_in_holdout),
        "sample": f"1 in {sample} customers" if sample > 1 else "all customers",
    }
    report["replay"] = {"events": result.events, "dead_letters": len(result.dead_letters),
                        "warnings": len(result.warnings),
                        "dead_letter_reasons": dict(Counter(d.get("reason") for d in result.dead_letters)),
                        "seconds": round(replay_seconds, 1), "split_seconds": round(split_seconds, 1),
                        "processes": processes}
    report["baselines"] = model_info
    if holdout_warnings:
        started = time.monotonic()
        full = run_offline(settings, [*split.calibration_lines, *split.holdout_event_lines], params=params,
                           advance_to=holdout_end, processes=processes)
        open_levels = {row["customer_id"]: row.get("open_warning_level", "none") for row in result.snapshot}
        report["holdout_warnings"] = holdout_warning_scores(split, full.warnings, open_levels)
        report["holdout_warnings"]["seconds"] = round(time.monotonic() - started, 1)
    notes = []
    if report["split"]["holdout_past_history_end"]:
        notes.append(f"the holdout window ends {holdout_end:%Y-%m-%d}, after the last event "
                     f"{_iso(split.last_at)}: customers who would buy after the data ends count as churned")
    calibration_days = (split.cutoff - split.first_at) / DAY
    if calibration_days < SHORT_CALIBRATION_DAYS:
        notes.append(f"the calibration covers only {calibration_days:.0f} days of history: too little for a "
                     f"customer's own rhythm, or for the BG/NBD and Pareto/NBD fits, to mean much; a later "
                     f"--cutoff gives every score more to learn from")
    if notes:
        report["split"]["notes"] = notes
    return report


# --- conversion cache ------------------------------------------------------------------------


def looks_like_replay(path: Path) -> bool:
    """Whether a file is already a replay file (JSON Lines) rather than an export to convert.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp(); p = os.path.join(d, "x")
        >>> _ = open(p, "w").write('\\n{"type": "order", "occurred_at": "2024-01-01T00:00:00Z"}\\n'); looks_like_replay(Path(p))
        True
        >>> _ = open(p, "w").write('customer_id,date,amount\\n'); looks_like_replay(Path(p))
        False
        >>> _ = open(p, "w").write('{"id": 1, "customer": {"id": 7}, "total_price": "9.00"}\\n'); looks_like_replay(Path(p))
        False
    """
    for line in read_lines(path):
        if line.strip():
            if not line.lstrip().startswith(b"{"):
                return False
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                return True      # a replay file with a broken first line: replay reports it
            # a shop API's orders in JSON lines are an export: contract events carry these two
            return not isinstance(record, dict) or ("type" in record and "occurred_at" in record)
    return False


def converted(path: Path, convert_kwargs: Mapping[str, Any], cache_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The replay file of an export, converted once and kept in ``cache_dir``.

    The cache key covers the export's bytes, the conversion options and the converter's own
    source (with its JSON reader's), so a changed file, option or converter converts again.
    """
    from streams import convert, json_records

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(json.dumps(dict(convert_kwargs), sort_keys=True, default=str).encode())
    digest.update(Path(convert.__file__).read_bytes())
    digest.update(Path(json_records.__file__).read_bytes())
    out = cache_dir / f"{path.name.split('.')[0]}-{digest.hexdigest()[:16]}.jsonl.gz"
    stats_path = out.with_name(out.name.replace(".jsonl.gz", ".stats.json"))
    if out.exists() and stats_path.exists():
        return out, {**orjson.loads(stats_path.read_bytes()), "cached": True}
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tmp = out.with_name(out.name + ".part.gz")
    stats = convert.convert_orders_csv(path, tmp, **convert_kwargs)
    tmp.replace(out)
    info = {"summary": stats.summary(), "columns": stats.columns, "skipped": stats.skipped,
            "examples": stats.examples, "statuses": stats.statuses, "cancellations": stats.cancellations,
            "notes": convert.conversion_notes(stats),
            "seconds": round(time.monotonic() - started, 1), "file": str(out)}
    stats_path.write_bytes(orjson.dumps(info))
    return out, {**info, "cached": False}


# --- output ----------------------------------------------------------------------------------


def _f(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def format_report(report: Mapping[str, Any], min_level: str = "warning") -> str:
    """The report as text tables for a person (the JSON has everything)."""
    split, overall = report["split"], report["overall"]
    segs = report["by_calibration_orders"]
    lines = [
        f"calibration {split['calibration'][0]} .. {split['calibration'][1]}, "
        f"holdout {split['holdout'][0]} .. {split['holdout'][1]} ({split['horizon_days']:g} days)",
        f"{overall['customers']:,} customers with calibration orders, {overall['churned']:,} churned "
        f"(no order in the holdout): {overall['churn_rate']:.1%}; "
        f"{split['customers_new_in_holdout']:,} first ordered in the holdout (not scored); {split['sample']}",
    ]
    lines += [f"note: {note}" for note in split.get("notes", ())]
    seg_head = "".join(f" | {seg + ' order' + ('s' if seg != '1' else ''):>11}" for seg in SEGMENTS)
    lines += ["", f"{'ROC AUC / PR AUC (churners positive)':<40} {'ROC AUC':>8} {'PR AUC':>7} {'Brier':>6}{seg_head}"]
    lines.append(f"{'customers (churn rate)':<40} {overall['customers']:>8,} {overall['churn_rate']:>7.3f} {'':>6}"
                 + "".join(f" | {segs[s]['customers']:>6,} {_f(segs[s]['churn_rate'], 2):>4}" for s in SEGMENTS))
    for name, label in SCORE_LABELS.items():
        o = overall["ranking"][name]
        lines.append(f"{label:<40} {_f(o['roc_auc']):>8} {_f(o['pr_auc']):>7} {_f(o.get('brier')):>6}" + "".join(
            f" | {_f(segs[s]['ranking'][name]['roc_auc']):>11}" for s in SEGMENTS))
    lines.append(f"(Brier: the mean squared distance of a probability from the outcome; the churn rate given to "
                 f"everyone scores {_f(overall['churn_rate'] * (1 - overall['churn_rate']))})")
    cal = overall.get("risk_calibration")
    if cal:
        lines += ["", "risk_score read as a probability: the customers by their risk, and the share with no order in "
                      "the holdout", f"  {'risk':<12}{'customers':>10}{'mean risk':>11}{'churned':>9}"]
        lines += [f"  {b['low']:.1f} - {b['high']:.1f}{b['customers']:>13,}{b['mean_score']:>11.2f}{b['churn_share']:>9.2f}"
                  for b in cal["bins"]]
        if split.get("risk_horizon_days") not in (None, split["horizon_days"]):
            lines.append(f"(the risk score is the chance of no activity within {split['risk_horizon_days']:g} days, "
                         f"CHURNWATCH_CHURN_HORIZON_DAYS; the holdout asks about {split['horizon_days']:g})")
    if report["baselines"].get("status") not in ("fitted", "cached"):
        lines.append(f"(BG/NBD, Pareto/NBD: {report['baselines']['status']})")
    for key, model in (("bgnbd", "BG/NBD"), ("pnbd", "Pareto/NBD")):
        failed = report["baselines"].get(key)
        if isinstance(failed, dict) and "error" in failed:
            lines.append(f"({model}: {failed['error']}; its columns are left empty)")
    lines += ["", "warning open at the cutoff as a churn prediction: warned / precision / recall"]
    for level in LEVELS:
        w = overall["warnings_open_at_cutoff"][level]
        lines.append(f"  level >= {level:<9} {w['warned']:>6,} {_f(w['precision']):>6} {_f(w['recall']):>6}" + "".join(
            f" | {s}: {segs[s]['warnings_open_at_cutoff'][level]['warned']:,} "
            f"{_f(segs[s]['warnings_open_at_cutoff'][level]['precision'], 2)} "
            f"{_f(segs[s]['warnings_open_at_cutoff'][level]['recall'], 2)}" for s in SEGMENTS))
    lines += ["", "the same question answered by rules of thumb: warned / precision / recall"]
    for _, _, label in RULES:
        w = overall.get("rules_at_cutoff", {}).get(label)
        if w is None:
            lines.append(f"  {label:<26} (not computed)")
            continue
        lines.append(f"  {label:<26} {w['warned']:>6,} {_f(w['precision']):>6} {_f(w['recall']):>6}" + "".join(
            f" | {seg}: {segs[seg]['rules_at_cutoff'][label]['warned']:,} "
            f"{_f(segs[seg]['rules_at_cutoff'][label]['precision'], 2)} "
            f"{_f(segs[seg]['rules_at_cutoff'][label]['recall'], 2)}" for seg in SEGMENTS))
    mis = report["misranked"]
    for title, key in (("returned in the holdout, highest risk", "returned_with_highest_risk"),
                       ("churned, lowest risk", "churned_with_lowest_risk")):
        lines += ["", f"{title}: customer orders risk recency_days open_level signals"]
        for m in mis[key]:
            lines.append(f"  {m['customer_id']} {m['calibration_orders']} {m['risk_score']:.3f} "
                         f"{m['recency_days']:.0f} {m['open_warning_level']} {' '.join(m['signals'])}")
    if "holdout_warnings" in report:
        h = report["holdout_warnings"]
        lines += ["", f"warnings raised in the holdout (level >= {h['min_level']}, none open at the cutoff): "
                      f"{h['warned_in_holdout']:,} customers, precision {_f(h['precision'])} "
                      f"({h['false_alarms']:,} bought after it); churners warned by the end (recall) {_f(h['recall'])}; "
                      f"median {_f(h['median_days_quiet_when_warned'], 0)} days after their last order"]
    r = report["replay"]
    lines += ["", f"replayed {r['events']:,} calibration events in {r['seconds']:.0f} s "
                  f"({r['warnings']:,} warnings, {r['dead_letters']} dead letters); baselines "
                  f"{report['baselines'].get('status')}"]
    return "\n".join(lines)


def write_outputs(report: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """``report.json`` (without the per-customer rows) and ``scores.csv`` (one row per customer)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = report["per_customer"]
    summary = {k: v for k, v in report.items() if k != "per_customer"}
    (out_dir / "report.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    with open(out_dir / "scores.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["customer_id"])
        writer.writeheader()
        writer.writerows(rows)
    return [out_dir / "report.json", out_dir / "scores.csv"]


def register(group: Any) -> None:
    """Add ``churnwatch evaluate-holdout`` to a click group (the ``churnwatch`` command)."""
    import click

    from streams.convert import convert_kwargs, convert_options
    from streams.replay import parse_timestamp

    def parse_cutoff(text: str) -> datetime:
        if len(text) == 10:  # a bare date: its midnight UTC
            text += "T00:00:00Z"
        return parse_timestamp(text)

    @group.command("evaluate-holdout")
    @click.argument("orders", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--cutoff", required=True, metavar="DATE",
                  help="End of calibration and start of the holdout: YYYY-MM-DD (midnight UTC) or RFC 3339.")
    @click.option("--horizon", "horizon_days", type=click.FloatRange(min=0, min_open=True), required=True,
                  metavar="DAYS", help="Length of the holdout window in days.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                  default=Path("out/realdata"), show_default=True,
                  help="Folder for report.json, scores.csv and the cache of converted files and baselines.")
    @click.option("--no-baselines", is_flag=True, help="Skip the BG/NBD and Pareto/NBD fits.")
    @click.option("--sample", type=click.IntRange(min=1), default=1, show_default=True, metavar="K",
                  help="Score 1 in K customers (a stable subset), for quick iterations on the detectors.")
    @click.option("--holdout-warnings", is_flag=True,
                  help="Also replay the holdout and score the warnings raised in it (about twice the time).")
    @click.option("--processes", type=click.IntRange(min=0), default=1, show_default=True,
                  help="Run the replays' partitions in this many processes (0: one per core); the figures are the "
                       "same.")
    @convert_options
    def evaluate_holdout_command(orders: Path, cutoff: str, horizon_days: float, out_dir: Path,
                                 no_baselines: bool, holdout_warnings: bool, sample: int, processes: int,
                                 **options: Any) -> None:
        """Score the risk score on real order history: calibration up to --cutoff, churned = no
        order in the --horizon days after it; against recency, BG/NBD and Pareto/NBD.

        ORDERS is an orders export (converted with the convert-orders options, and cached) or
        a replay file.
        """
        from streams.cli import load_settings

        settings = load_settings(None)
        started = time.monotonic()
        cutoff_at = parse_cutoff(cutoff)    # before converting: a large export takes a while
        cache_dir = out_dir / "cache"
        if looks_like_replay(orders):
            replay_path = orders
        else:
            replay_path, info = converted(orders, convert_kwargs(options), cache_dir)
            click.echo(f"{info['summary']} ({'cached' if info['cached'] else 'converted'}: {replay_path})", err=True)
            for note in info.get("notes", []):
                click.echo(f"note: {note}", err=True)
        report = evaluate_holdout(settings, replay_path, cutoff_at, horizon_days,
                                  cache_dir=cache_dir, baselines=not no_baselines, holdout_warnings=holdout_warnings,
                                  sample=sample, processes=processes)
        report["seconds"] = round(time.monotonic() - started, 1)
        report["input"] = str(orders)
        written = write_outputs(report, out_dir)
        click.echo(format_report(report))
        click.echo(f"{report['seconds']:.0f} s in all; {', '.join(map(str, written))}", err=True)
