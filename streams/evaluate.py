"""Score churn warnings (and a risk snapshot) against ground truth.

Inputs: the warnings Churnwatch emitted (``ChurnWarning`` JSON, e.g. saved with
``churnwatch tail --from-beginning --json``), the ground truth of a simulated population
(:mod:`streams.truth`), optionally a snapshot (``churnwatch snapshot``), and the observed
period ``[period_start, period_end]``.

Definitions
-----------

Qualifying warning
    A warning with ``state`` ``raised`` or ``escalated`` and ``level`` at or above
    ``min_level`` (``watch`` < ``warning`` < ``critical``; default ``warning``), with
    ``occurred_at`` inside the period. Repeated ``warning_id`` s are counted once (the id is
    stable for the same evidence, so a replayed warning is not a new one).
Warned customer
    A customer with at least one qualifying warning.
Precision
    warned churners / warned customers.
Recall
    warned churners / churners.
Lead time
    ``last_active_at`` − ``occurred_at`` of the customer's first qualifying warning, in
    days. Positive: the warning came while the customer was still active and could be
    reached; negative: it came after they had gone quiet. Reported as a median over warned
    churners, overall, per persona, per cause, and for *gradual* leavers (causes ``drift``,
    ``trade_down``, ``unresolved_complaints``, ``competitor``).
Abrupt leavers warned in time
    Among churners with cause ``abrupt`` whose window ``last_active_at + 2 × usual_gap_days``
    ends inside the period, its last instant included (*due*), the share whose first
    qualifying warning came by the end of the window, its last instant included. Leavers
    whose window reaches past the period end are reported as not due rather than counted
    as misses.
False warnings per 1,000 stayers per month
    Raise episodes of non-churners × 1000 / (non-churners × months in the period), a month
    being 365.25/12 days. An episode starts with a qualifying warning while the customer has
    none open, and ends with ``cleared`` (or a warning below ``min_level``); escalations
    inside an episode do not count again.
Snapshot ROC AUC
    Probability that a random churner has a higher snapshot ``risk_score`` than a random
    non-churner, ties counting one half (the Mann-Whitney U statistic divided by the number
    of pairs). Customers missing from the snapshot are left out and counted.
Snapshot Brier score and calibration
    The ``risk_score`` read as a probability of churning (`calibration`): the mean squared
    distance between score and outcome, beside that of the churn rate given to everyone;
    and the customers in ten slices of risk, each with the share that churned. ROC AUC
    says whether churners rank above stayers; this says what a score of 0.8 means.
By signal
    For each signal kind, the number of warned churners and warned non-churners whose
    qualifying warnings carried that kind.
By first evidence
    For each set of signals, the warned churners and non-churners whose first qualifying
    warning carried exactly that set (its firing signals), and the share of churners among
    them: what each signal, alone or with others, first warned on.

Targets (issue 5): recall ≥ 0.90, precision ≥ 0.80, median lead of gradual leavers ≥ 14
days, abrupt leavers warned within twice their usual gap (we require a share ≥ 0.90 of the
due ones), ≤ 5 false warnings per 1,000 stayers per month.

Example:
    >>> from streams.truth import TruthRow
    >>> from datetime import datetime, UTC
    >>> t = lambda d: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=d)
    >>> truth = [TruthRow("a", True, "drifter", t(100), t(150), "drift", 20.0),
    ...          TruthRow("b", False, "steady", None, t(360), "", 30.0)]
    >>> warnings = [{"warning_id": "w1", "customer_id": "a", "state": "raised", "level": "warning",
    ...              "occurred_at": "2024-05-10T00:00:00Z", "signals": [{"kind": "purchase_frequency_drop"}]}]
    >>> report = evaluate(warnings, truth, period_start=t(0), period_end=t(366))
    >>> report["recall"], report["precision"], report["lead_time_days"]["median"]
    (1.0, 1.0, 20.0)
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from schemas.errors import ChurnwatchError
from streams.jsonl_io import read_jsonl
from streams.truth import TruthRow, format_time, parse_time, read_truth_csv

#: Warning levels, least urgent first.
LEVELS: tuple[str, ...] = ("watch", "warning", "critical")
#: Causes of leavers whose behaviour changes before they leave.
GRADUAL_CAUSES: tuple[str, ...] = ("drift", "trade_down", "unresolved_complaints", "competitor")
DAYS_PER_MONTH = 365.25 / 12

#: Acceptance targets of issue 5: name -> (comparison, threshold).
TARGETS: dict[str, tuple[str, float]] = {
    "recall": (">=", 0.90),
    "precision": (">=", 0.80),
    "gradual_median_lead_days": (">=", 14.0),
    "abrupt_share_in_time": (">=", 0.90),
    "false_warnings_per_1000_stayers_per_month": ("<=", 5.0),
}


class EvaluationError(ChurnwatchError, ValueError):
    """Inputs that cannot be scored: a bad level or period, a warning without its fields."""


def _option_time(value: str, option: str) -> datetime:
    """A command-line time as `--advance-to` reads it: RFC 3339 with an offset, or a date.

    >>> _option_time("2024-12-31", "--period-end").isoformat()
    '2024-12-31T00:00:00+00:00'
    >>> _option_time("2024-12-31 10:00", "--period-end")
    Traceback (most recent call last):
    ...
    streams.evaluate.EvaluationError: --period-end='2024-12-31 10:00': expected a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 timestamp with a UTC offset, e.g. 2024-05-01T12:00:00Z
    """
    from streams.replay import ReplayError, parse_timestamp   # (replay reads settings; evaluate needs neither otherwise)

    try:
        return parse_timestamp(value)
    except ReplayError as error:
        raise EvaluationError(f"{option}={error}") from None


def roc_auc(scores: Sequence[float], labels: Sequence[bool | int]) -> float | None:
    """ROC AUC by the Mann-Whitney statistic, ties counting one half; ``None`` without both
    a positive and a negative.

    Example:
        >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
        0.75
        >>> roc_auc([0.5, 0.5, 0.9], [0, 1, 1])
        0.75
        >>> roc_auc([0.2, 0.3], [1, 1]) is None
        True
    """
    if len(scores) != len(labels):
        raise EvaluationError(f"roc_auc: {len(scores)} scores but {len(labels)} labels")
    n_pos = sum(1 for y in labels if y)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum_pos = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average_rank = (i + j) / 2 + 1  # ranks i+1 .. j+1 share their mean
        rank_sum_pos += average_rank * sum(1 for k in order[i:j + 1] if labels[k])
        i = j + 1
    return (rank_sum_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def calibration(scores: Sequence[float], labels: Sequence[bool | int], bins: int = 10) -> dict[str, Any] | None:
    """How far scores in [0, 1] can be read as the probability of churning.

    * ``brier``: the mean squared difference between score and outcome (0 is perfect);
    * ``reference``: the Brier score of the churn rate given to everyone, ``rate * (1 -
      rate)``, what a score must beat to say anything about who leaves;
    * ``skill``: ``1 - brier / reference`` (1 perfect, 0 no better than the churn rate,
      negative worse); ``None`` when everyone churned or no one did;
    * ``bins``: the customers by score in ``bins`` equal slices of [0, 1] (empty ones left
      out), each with its mean score and the share that churned; a calibrated score has
      the two close in every slice;
    * ``gap``: the mean over customers of the distance between their slice's mean score and
      its churn share (the expected calibration error).

    ROC AUC says whether churners are ranked above stayers; this says whether a score of 0.8
    means that about eight in ten such customers leave. ``None`` without scores.

    Example:
        >>> c = calibration([0.1, 0.1, 0.9, 0.9], [0, 0, 1, 1])
        >>> c["brier"], c["reference"], c["skill"], c["gap"]
        (0.01, 0.25, 0.96, 0.1)
        >>> [(b["low"], b["customers"], b["mean_score"], b["churn_share"]) for b in c["bins"]]
        [(0.1, 2, 0.1, 0.0), (0.9, 2, 0.9, 1.0)]
        >>> calibration([0.5, 0.5], [1, 1])["skill"] is None
        True
        >>> calibration([1.5], [1])
        Traceback (most recent call last):
        ...
        streams.evaluate.EvaluationError: calibration: a score outside [0, 1] (1.5) is not a probability
    """
    if len(scores) != len(labels):
        raise EvaluationError(f"calibration: {len(scores)} scores but {len(labels)} labels")
    if not scores:
        return None
    slices: list[list[tuple[float, int]]] = [[] for _ in range(bins)]
    for s, y in zip(scores, labels):
        if not 0.0 <= s <= 1.0:
            raise EvaluationError(f"calibration: a score outside [0, 1] ({s}) is not a probability")
        slices[min(bins - 1, int(s * bins))].append((s, 1 if y else 0))
    n = len(scores)
    brier = sum((s - (1 if y else 0)) ** 2 for s, y in zip(scores, labels)) / n
    rate = sum(1 for y in labels if y) / n
    reference = rate * (1 - rate)
    out, gap = [], 0.0
    for i, members in enumerate(slices):
        if not members:
            continue
        mean = sum(s for s, _ in members) / len(members)
        share = sum(y for _, y in members) / len(members)
        gap += len(members) * abs(mean - share)
        out.append({"low": round(i / bins, 6), "high": round((i + 1) / bins, 6), "customers": len(members),
                    "mean_score": round(mean, 6), "churn_share": round(share, 6)})
    return {"brier": round(brier, 6), "reference": round(reference, 6),
            "skill": round(1 - brier / reference, 6) if reference > 0 else None,
            "gap": round(gap / n, 6), "churn_rate": round(rate, 6), "bins": out}


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _quartiles(values: Sequence[float]) -> tuple[float | None, float | None]:
    if len(values) < 2:
        return (_median(values), _median(values))
    q = statistics.quantiles(values, n=4, method="inclusive")
    return float(q[0]), float(q[2])


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _level_rank(level: str) -> int:
    try:
        return LEVELS.index(level)
    except ValueError:
        raise EvaluationError(f"level {level!r}: expected one of {', '.join(LEVELS)}") from None


def _as_dict(item: Any) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    if hasattr(item, "model_dump"):  # a pydantic ChurnWarning
        return item.model_dump(mode="json")
    raise EvaluationError(f"expected a warning as a JSON object, got {type(item).__name__}")


@dataclass
class _CustomerWarnings:
    first_at: datetime | None = None
    episodes: int = 0
    kinds: set[str] = field(default_factory=set)
    first_kinds: tuple[str, ...] = ()   # the signals the first qualifying warning carried


def _collect_warnings(warnings: Iterable[Any], known: set[str], period_start: datetime, period_end: datetime,
                      min_rank: int) -> tuple[dict[str, _CustomerWarnings], dict[str, int]]:
    """Per customer: first qualifying warning, raise episodes, signal kinds."""
    counts: Counter[str] = Counter()
    seen_ids: set[str] = set()
    per_customer: dict[str, list[tuple[datetime, int, str, int, list[str]]]] = defaultdict(list)
    for position, item in enumerate(warnings):
        w = _as_dict(item)
        counts["warnings"] += 1
        try:
            warning_id, customer_id, state = str(w["warning_id"]), str(w["customer_id"]), str(w["state"])
            at = parse_time(w["occurred_at"], field="occurred_at")
            level = str(w.get("level") or "watch")
        except KeyError as exc:
            raise EvaluationError(f"warning #{position + 1} lacks the field {exc.args[0]!r}") from None
        except ChurnwatchError as exc:
            raise EvaluationError(f"warning #{position + 1}: {exc}") from None
        if warning_id in seen_ids:
            counts["duplicates"] += 1
            continue
        seen_ids.add(warning_id)
        if at is None or not period_start <= at <= period_end:
            counts["outside_period"] += 1
            continue
        if customer_id not in known:
            counts["unknown_customers"] += 1
            continue
        if state not in ("raised", "escalated", "cleared"):
            raise EvaluationError(f"warning {warning_id}: state {state!r}: expected raised, escalated or cleared")
        if _level_rank(level) == 0:
            counts["watch_steps"] += 1
        kinds = [str(s.get("kind")) for s in w.get("signals") or () if isinstance(s, Mapping) and s.get("kind")]
        per_customer[customer_id].append((at, position, state, _level_rank(level), kinds))

    result: dict[str, _CustomerWarnings] = {}
    for customer_id, items in per_customer.items():
        cw = _CustomerWarnings()
        active = False
        for at, _, state, rank, kinds in sorted(items, key=lambda x: (x[0], x[1])):
            qualifying = state in ("raised", "escalated") and rank >= min_rank
            if qualifying:
                counts["qualifying"] += 1
                cw.kinds.update(kinds)
                if cw.first_at is None:
                    cw.first_at = at
                    cw.first_kinds = tuple(sorted(set(kinds)))
                if not active:
                    cw.episodes += 1
                active = True
            else:
                counts["not_qualifying"] += 1   # a clearing, or a step below min_level
                active = False
        if cw.first_at is not None:
            result[customer_id] = cw
    for key in ("warnings", "duplicates", "outside_period", "unknown_customers", "qualifying", "not_qualifying"):
        counts.setdefault(key, 0)
    return result, dict(counts)


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400.0


def _group_stats(rows: list[TruthRow], warned: dict[str, _CustomerWarnings], months: float) -> dict[str, Any]:
    churners = [r for r in rows if r.churned]
    stayers = [r for r in rows if not r.churned]
    warned_rows = [r for r in rows if r.customer_id in warned]
    warned_churners = [r for r in warned_rows if r.churned]
    leads = [
        _days(r.last_active_at - warned[r.customer_id].first_at)  # type: ignore[operator]
        for r in warned_churners if r.last_active_at is not None
    ]
    episodes = sum(warned[r.customer_id].episodes for r in stayers if r.customer_id in warned)
    return {
        "customers": len(rows),
        "churners": len(churners),
        "warned": len(warned_rows),
        "warned_churners": len(warned_churners),
        "recall": _ratio(len(warned_churners), len(churners)),
        "precision": _ratio(len(warned_churners), len(warned_rows)),
        "median_lead_days": _median(leads),
        "false_warning_episodes": episodes,
        "false_warnings_per_1000_per_month": _ratio(episodes * 1000.0, len(stayers) * months) if stayers else None,
    }


def evaluate(
    warnings: Iterable[Any],
    truth: Iterable[TruthRow | Mapping[str, Any]],
    *,
    snapshot: Iterable[Mapping[str, Any]] | None = None,
    period_end: datetime,
    period_start: datetime | None = None,
    min_level: str = "warning",
) -> dict[str, Any]:
    """Score warnings (and optionally a snapshot) against ground truth; see the module
    docstring for every definition.

    Parameters:
        warnings: ``ChurnWarning`` JSON objects (dicts) in any order.
        truth: :class:`TruthRow` s or CSV-like mappings, one per customer.
        snapshot: rows with ``customer_id`` and ``risk_score`` (and ``level``).
        period_end: end of the observed period (aware datetime).
        period_start: its start; when not given, one year (365 days, the simulator's
            default period) before ``period_end``, and the report says it was assumed.
        min_level: lowest level that counts as a warning: watch, warning or critical.

    Returns:
        A JSON-ready dict; ``distributions`` holds the raw values behind the plots.

    Example:
        >>> from streams.truth import TruthRow
        >>> from datetime import datetime, UTC
        >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
        >>> truth = [TruthRow("a", True, "abrupt", None, t0 + timedelta(days=100), "abrupt", 10.0)]
        >>> late = {"warning_id": "w", "customer_id": "a", "state": "raised", "level": "critical",
        ...         "occurred_at": "2024-04-25T00:00:00Z"}
        >>> r = evaluate([late], truth, period_start=t0, period_end=t0 + timedelta(days=365))
        >>> r["lead_time_days"]["median"], r["abrupt"]["share_in_time"]
        (-15.0, 1.0)
    """
    assumed_start = period_start is None
    if period_start is None:
        period_start = period_end - timedelta(days=365)
    if period_start.tzinfo is None or period_end.tzinfo is None:
        raise EvaluationError("period_start and period_end must be timezone-aware (UTC)")
    if period_end <= period_start:
        raise EvaluationError(f"period_end {format_time(period_end)} is not after period_start {format_time(period_start)}")
    min_rank = _level_rank(min_level)
    rows = [r if isinstance(r, TruthRow) else TruthRow.from_mapping(r) for r in truth]
    if not rows:
        raise EvaluationError("the ground truth is empty")
    by_id = {r.customer_id: r for r in rows}
    if len(by_id) != len(rows):
        raise EvaluationError("the ground truth lists a customer more than once")
    months = _days(period_end - period_start) / DAYS_PER_MONTH
    warned, input_counts = _collect_warnings(warnings, set(by_id), period_start, period_end, min_rank)

    overall = _group_stats(rows, warned, months)
    churners = [r for r in rows if r.churned]
    stayers = [r for r in rows if not r.churned]
    leads = {
        r.customer_id: _days(r.last_active_at - warned[r.customer_id].first_at)  # type: ignore[operator]
        for r in churners if r.customer_id in warned and r.last_active_at is not None
    }
    lead_values = sorted(leads.values())
    gradual = [leads[r.customer_id] for r in churners if r.cause in GRADUAL_CAUSES and r.customer_id in leads]
    q1, q3 = _quartiles(lead_values)

    abrupt = [r for r in churners if r.cause == "abrupt" and r.last_active_at is not None
              and math.isfinite(r.usual_gap_days)]
    due = [r for r in abrupt if r.last_active_at + timedelta(days=2 * r.usual_gap_days) <= period_end]  # type: ignore[operator]
    in_time = [
        r for r in due if r.customer_id in warned
        and warned[r.customer_id].first_at <= r.last_active_at + timedelta(days=2 * r.usual_gap_days)  # type: ignore[operator]
    ]
    abrupt_after = [-leads[r.customer_id] for r in abrupt if r.customer_id in leads]

    by_signal: dict[str, dict[str, int]] = defaultdict(lambda: {"warned_churners": 0, "warned_stayers": 0})
    # What each customer was first warned on: the signals their first qualifying warning
    # carried, together. A signal that warns stayers as often as leavers on its own shows
    # here, where "by signal" (every warning of the customer) mixes it with the others.
    by_first: dict[str, dict[str, int]] = defaultdict(lambda: {"warned_churners": 0, "warned_stayers": 0})
    for customer_id, cw in warned.items():
        side = "warned_churners" if by_id[customer_id].churned else "warned_stayers"
        for kind in cw.kinds:
            by_signal[kind][side] += 1
        by_first["+".join(cw.first_kinds) or "(none shown)"][side] += 1

    def groups(key: str) -> dict[str, dict[str, Any]]:
        grouped: dict[str, list[TruthRow]] = defaultdict(list)
        for r in rows:
            name = getattr(r, key)
            if key == "cause" and not r.churned:
                continue
            grouped[name or "unknown"].append(r)
        return {name: _group_stats(members, warned, months) for name, members in sorted(grouped.items())}

    report: dict[str, Any] = {
        "min_level": LEVELS[min_rank],
        "period_start": format_time(period_start),
        "period_end": format_time(period_end),
        "months": round(months, 3),
        "period_start_assumed": assumed_start,
        "customers": len(rows),
        "churners": len(churners),
        "stayers": len(stayers),
        "warned": overall["warned"],
        "warned_churners": overall["warned_churners"],
        "warned_stayers": overall["warned"] - overall["warned_churners"],
        "precision": overall["precision"],
        "recall": overall["recall"],
        "lead_time_days": {"median": _median(lead_values), "p25": q1, "p75": q3, "n": len(lead_values)},
        "gradual_lead_time_days": {
            "median": _median(gradual),
            "n": len(gradual),
            "share_at_least_14": _ratio(sum(1 for v in gradual if v >= 14), len(gradual)),
        },
        "abrupt": {
            "leavers": len(abrupt),
            "due": len(due),
            "not_due": len(abrupt) - len(due),
            "warned_in_time": len(in_time),
            "share_in_time": _ratio(len(in_time), len(due)),
            "median_days_after_last_activity": _median(abrupt_after),
        },
        "false_warning_episodes": overall["false_warning_episodes"],
        "false_warnings_per_1000_stayers_per_month": overall["false_warnings_per_1000_per_month"],
        "snapshot": _snapshot_stats(snapshot, by_id, min_rank) if snapshot is not None else None,
        "by_persona": groups("persona"),
        "by_cause": groups("cause"),
        "by_signal": {k: by_signal[k] for k in sorted(by_signal)},
        "by_first_evidence": dict(sorted(by_first.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))),
        "input": input_counts,
    }
    watch_steps = input_counts.pop("watch_steps", 0)
    if min_rank == 0 and input_counts.get("warnings") and not watch_steps:
        # Workers publish from `warning` on by default: scoring `watch` needs them to publish it.
        report["note"] = ("no warning at level watch in the input: the workers published from level warning "
                          "on (CHURNWATCH_PUBLISH_MIN_LEVEL); set it to watch to score early signs")
    report["targets"] = _targets(report)
    report["distributions"] = {
        "lead_time_days": lead_values,
        "lead_time_days_by_cause": {
            cause: sorted(leads[r.customer_id] for r in churners if r.cause == cause and r.customer_id in leads)
            for cause in sorted({r.cause for r in churners})
        },
        **(report["snapshot"] or {}).pop("_scores", {"risk_churned": [], "risk_stayers": []}),
    }
    return report


def _snapshot_stats(snapshot: Iterable[Mapping[str, Any]], by_id: dict[str, TruthRow], min_rank: int) -> dict[str, Any]:
    scores: dict[str, float] = {}
    levels: dict[str, str] = {}
    unknown = 0
    for position, row in enumerate(snapshot):
        try:
            customer_id, score = str(row["customer_id"]), float(row["risk_score"])
        except (KeyError, TypeError, ValueError):
            raise EvaluationError(f"snapshot row #{position + 1}: expected customer_id and a numeric risk_score") from None
        if customer_id not in by_id:
            unknown += 1
            continue
        scores[customer_id] = score
        levels[customer_id] = str(row.get("level") or "none")
    matched = [by_id[c] for c in scores]
    labels = [r.churned for r in matched]
    values = [scores[r.customer_id] for r in matched]
    flagged = [r for r in matched if levels[r.customer_id] in LEVELS and LEVELS.index(levels[r.customer_id]) >= min_rank]
    churned_scores = sorted(v for v, y in zip(values, labels) if y)
    stayer_scores = sorted(v for v, y in zip(values, labels) if not y)
    return {
        "customers": len(scores) + unknown,
        "matched": len(matched),
        "missing_from_snapshot": len(by_id) - len(matched),
        "unknown_customers": unknown,
        "roc_auc": roc_auc(values, labels),
        "calibration": calibration(values, labels),
        "mean_risk_churned": statistics.fmean(churned_scores) if churned_scores else None,
        "mean_risk_stayers": statistics.fmean(stayer_scores) if stayer_scores else None,
        "level_precision": _ratio(sum(r.churned for r in flagged), len(flagged)),
        "level_recall": _ratio(sum(r.churned for r in flagged), sum(labels)),
        "_scores": {"risk_churned": churned_scores, "risk_stayers": stayer_scores},
    }


def _targets(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values = {
        "recall": report["recall"],
        "precision": report["precision"],
        "gradual_median_lead_days": report["gradual_lead_time_days"]["median"],
        "abrupt_share_in_time": report["abrupt"]["share_in_time"],
        "false_warnings_per_1000_stayers_per_month": report["false_warnings_per_1000_stayers_per_month"],
    }
    out = {}
    for name, (op, threshold) in TARGETS.items():
        value = values[name]
        met = None if value is None else (value >= threshold if op == ">=" else value <= threshold)
        out[name] = {"value": value, "target": f"{op} {threshold:g}", "met": met}
    return out


def report_json(report: dict[str, Any], *, include_distributions: bool = False) -> bytes:
    """The report as indented JSON, keys sorted; the raw distributions only when asked for.

    Example:
        >>> orjson.loads(report_json({"recall": 0.5, "distributions": {"lead_time_days": [3.0]}}))
        {'recall': 0.5}
    """
    data = dict(report) if include_distributions else {k: v for k, v in report.items() if k != "distributions"}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_report(report: dict[str, Any]) -> str:
    """A readable plain-text table of the report.

    Example:
        >>> from streams.truth import TruthRow
        >>> from datetime import datetime, UTC
        >>> t0 = datetime(2024, 1, 1, tzinfo=UTC)
        >>> r = evaluate([], [TruthRow("a", False, "steady", None, None, "", 9.0)],
        ...              period_start=t0, period_end=t0 + timedelta(days=30))
        >>> print(format_report(r).splitlines()[0])
        Churn warning evaluation: level >= warning, 2024-01-01T00:00:00Z .. 2024-01-31T00:00:00Z (0.99 months)
    """
    lines = [
        f"Churn warning evaluation: level >= {report['min_level']}, {report['period_start']} .. "
        f"{report['period_end']} ({report['months']:.2f} months"
        f"{'; start assumed one year before the end' if report.get('period_start_assumed') else ''})",
        f"customers {report['customers']}, churners {report['churners']}, warned {report['warned']} "
        f"({report['warned_churners']} churners, {report['warned_stayers']} stayers)",
        *([f"note: {report['note']}"] if report.get("note") else []),
        "",
        f"{'measure':<52}{'value':>9}  {'target':<8} met",
    ]
    t = report["targets"]
    abrupt = report["abrupt"]
    measures = [
        ("recall (warned churners / churners)", "recall", 3),
        ("precision (warned churners / warned customers)", "precision", 3),
        ("median lead time, gradual leavers (days)", "gradual_median_lead_days", 1),
        (f"abrupt leavers warned within 2x usual gap ({abrupt['warned_in_time']}/{abrupt['due']} due)",
         "abrupt_share_in_time", 3),
        ("false warnings per 1,000 stayers per month", "false_warnings_per_1000_stayers_per_month", 2),
    ]
    for label, key, digits in measures:
        met = {True: "yes", False: "NO", None: "-"}[t[key]["met"]]
        lines.append(f"{label:<52}{_fmt(t[key]['value'], digits):>9}  {t[key]['target']:<8} {met}")
    if any(t[key]["met"] is False for _, key, _ in measures):
        lines.append("(targets: the project's goals, not this run's pass marks; README \"How good the warnings "
                     "are\" says which are not met and why"
                     + (", and \"against rules of thumb\" below what simpler rules reach on the same customers)"
                        if report.get("baselines") else ")"))
    lead = report["lead_time_days"]
    lines.append(f"{'median lead time, all warned churners (days)':<52}{_fmt(lead['median'], 1):>9}  "
                 f"(p25 {_fmt(lead['p25'], 1)}, p75 {_fmt(lead['p75'], 1)})")
    snap = report["snapshot"]
    if snap is not None:
        lines.append(f"{'snapshot ROC AUC (risk_score vs churned)':<52}{_fmt(snap['roc_auc']):>9}  "
                     f"({snap['matched']} matched, {snap['missing_from_snapshot']} missing)")
        lines.append(f"{'snapshot mean risk, churned / stayers':<52}"
                     f"{_fmt(snap['mean_risk_churned'], 2) + ' / ' + _fmt(snap['mean_risk_stayers'], 2):>9}")
        cal = snap.get("calibration")
        if cal:
            lines.append(f"{'snapshot Brier score (risk_score vs churned)':<52}{_fmt(cal['brier']):>9}  "
                         f"(the churn rate alone {_fmt(cal['reference'])}; skill {_fmt(cal['skill'], 2)})")

    def table(title: str, groups: dict[str, dict[str, Any]]) -> None:
        lines.extend(["", f"{title:<24}{'customers':>10}{'churners':>9}{'warned':>8}{'recall':>8}"
                          f"{'precision':>10}{'lead d':>8}{'false/1k/mo':>12}"])
        for name, g in groups.items():
            lines.append(f"{name:<24}{g['customers']:>10}{g['churners']:>9}{g['warned']:>8}"
                         f"{_fmt(g['recall'], 2):>8}{_fmt(g['precision'], 2):>10}{_fmt(g['median_lead_days'], 1):>8}"
                         f"{_fmt(g['false_warnings_per_1000_per_month'], 2):>12}")

    table("by persona", report["by_persona"])
    table("by cause", report["by_cause"])
    if report["by_signal"]:
        lines.extend(["", f"{'by signal':<28}{'warned churners':>16}{'warned stayers':>16}"])
        for kind, c in report["by_signal"].items():
            lines.append(f"{kind:<28}{c['warned_churners']:>16}{c['warned_stayers']:>16}")
    if report.get("by_first_evidence"):
        width = max(28, *(len(k) + 1 for k in report["by_first_evidence"]))
        lines.extend(["", f"{'first warning carried':<{width}}{'churners':>10}{'stayers':>9}{'precision':>10}"])
        for kinds, c in report["by_first_evidence"].items():
            n = c["warned_churners"] + c["warned_stayers"]
            lines.append(f"{kinds:<{width}}{c['warned_churners']:>10}{c['warned_stayers']:>9}"
                         f"{_fmt(_ratio(c['warned_churners'], n), 2):>10}")
    if report.get("baselines"):
        lines.extend(["", "against rules of thumb on the same customers and period (streams.baseline_rules)",
                      f"{'rule':<52}{'warned':>7}{'recall':>8}{'precision':>10}{'lead d':>8}{'abrupt':>8}"
                      f"{'false/1k/mo':>12}"])
        for b in report["baselines"]:
            lines.append(f"{b['rule'][:51]:<52}{b['warned']:>7}{_fmt(b['recall'], 3):>8}{_fmt(b['precision'], 3):>10}"
                         f"{_fmt(b['gradual_median_lead_days'], 1):>8}{_fmt(b['abrupt_share_in_time'], 3):>8}"
                         f"{_fmt(b['false_warnings_per_1000_stayers_per_month'], 2):>12}")
        fit = report.get("baselines_fit")
        if fit:
            how = (f"fitted on all {fit['customers']} customers at the period end" if fit["customers"]
                   else "too few customers to fit: the published CDNOW estimates")
            lines.append(f"(Pareto/NBD over active days, {how}: r {fit['r']:.2f}, alpha {fit['alpha_days']:.1f} d, "
                         f"s {fit['s']:.2f}, beta {fit['beta_days']:.1f} d)")
    if report.get("baselines_ranking"):
        ranking = report["baselines_ranking"]
        lines.extend(["", f"ranking every customer at the period end ({ranking[0]['customers']} customers)",
                      f"{'score':<52}{'ROC AUC':>9}{'Brier':>8}"])
        for r in ranking:
            lines.append(f"{r['score'][:51]:<52}{_fmt(r['roc_auc']):>9}{_fmt(r.get('brier')):>8}")
    cal = (snap or {}).get("calibration")
    if cal:
        lines.extend(["", "risk_score read as a probability: the customers by their risk, and the share that churned",
                      f"{'risk':<12}{'customers':>10}{'mean risk':>11}{'churned':>9}"])
        for b in cal["bins"]:
            lines.append(f"{b['low']:.1f} - {b['high']:.1f}{b['customers']:>13}{b['mean_score']:>11.2f}"
                         f"{b['churn_share']:>9.2f}")
        lines.append(f"(mean distance between a slice's mean risk and its churned share: {_fmt(cal['gap'])})")
    counts = report["input"]
    lines.extend(["", f"warnings read {counts['warnings']}: {counts['qualifying']} qualifying, "
                      f"{counts.get('not_qualifying', 0)} clearings or below the minimum level, "
                      f"{counts['duplicates']} repeated ids, {counts['outside_period']} outside the period, "
                      f"{counts['unknown_customers']} for customers not in the truth"])
    lines.extend(["", "lead time: days from a churner's first warning to their last activity (positive: warned while "
                      "still active; -30: warned 30 days after they went quiet).",
                  "abrupt leavers 'x/y due': of the y abrupt leavers whose deadline (last activity + twice their "
                  "usual gap) falls inside the period, x were warned by it."])
    return "\n".join(lines)


def _summary_row(name: str, report: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": name,
        "warned": report["warned"],
        "recall": report["recall"],
        "precision": report["precision"],
        "gradual_median_lead_days": report["gradual_lead_time_days"]["median"],
        "abrupt_share_in_time": report["abrupt"]["share_in_time"],
        "false_warnings_per_1000_stayers_per_month": report["false_warnings_per_1000_stayers_per_month"],
    }


def compare_baselines(report: dict[str, Any], events_path: str | Path,
                      truth: Sequence[TruthRow | Mapping[str, Any]],
                      snapshot: Iterable[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Churnwatch's headline figures beside those of the rules of thumb of
    :mod:`streams.baseline_rules` on the same truth and period; also stored as
    ``report["baselines"]``. With `snapshot`, the snapshot's ranking too: the ROC AUC of
    its ``risk_score`` beside those of recency and Pareto/NBD P(alive) at the period end, on
    the same customers (``report["baselines_ranking"]``, `ranking_against_baselines`)."""
    from streams import baseline_rules

    start, end = parse_time(report["period_start"]), parse_time(report["period_end"])
    histories = baseline_rules.read_histories(events_path)
    rows = [_summary_row(f"Churnwatch, level >= {report['min_level']}", report)]
    end_epoch = baseline_rules.period_end_epoch(end)
    rules, prior = baseline_rules.baseline_rules(histories, end_epoch)
    for name, warnings in rules:
        rule_report = evaluate(warnings, truth, period_start=start, period_end=end, min_level="watch")
        rows.append(_summary_row(name, rule_report))
    report["baselines"] = rows
    report["baselines_fit"] = {"r": prior.r, "alpha_days": prior.alpha, "s": prior.s, "beta_days": prior.beta,
                               "customers": prior.customers}
    if snapshot is not None:
        report["baselines_ranking"] = ranking_against_baselines(
            snapshot, truth, baseline_rules.ranking_scores(histories, end_epoch, prior),
            probabilities=baseline_rules.PROBABILITY_SCORES)
    return rows


def ranking_against_baselines(snapshot: Iterable[Mapping[str, Any]], truth: Sequence[TruthRow | Mapping[str, Any]],
                              baselines: Mapping[str, Mapping[str, float]],
                              probabilities: Sequence[str] = ()) -> list[dict[str, Any]]:
    """ROC AUC of the snapshot's ``risk_score`` and of each baseline score (customer -> score,
    higher: more likely gone), all on the same customers: those of the truth that the
    snapshot and every baseline score. The Brier score (`calibration`) of the risk score and
    of the baselines named in `probabilities` (scores that are probabilities of being gone);
    ``None`` for the others (days since, counts).

    Example:
        >>> truth = [{"customer_id": c, "churned": y} for c, y in (("a", True), ("b", False), ("c", True))]
        >>> snap = [{"customer_id": "a", "risk_score": 0.9}, {"customer_id": "b", "risk_score": 0.2},
        ...         {"customer_id": "c", "risk_score": 0.1}]
        >>> rows = ranking_against_baselines(snap, truth, {"recency": {"a": 5.0, "b": 1.0, "c": 9.0, "x": 3.0}})
        >>> [(r["score"], r["roc_auc"], r["customers"], r["brier"]) for r in rows]
        [('Churnwatch risk_score', 0.5, 3, 0.286667), ('recency', 1.0, 3, None)]
    """
    churned = {}
    for row in truth:
        r = row if isinstance(row, TruthRow) else TruthRow.from_mapping(row)
        churned[r.customer_id] = r.churned
    risk = {str(row["customer_id"]): float(row["risk_score"]) for row in snapshot}
    ids = sorted(c for c in churned if c in risk and all(c in b for b in baselines.values()))
    labels = [churned[c] for c in ids]
    def brier(values: list[float]) -> float | None:
        c = calibration(values, labels)
        return c["brier"] if c else None

    values = [risk[c] for c in ids]
    rows = [{"score": "Churnwatch risk_score", "roc_auc": roc_auc(values, labels), "customers": len(ids),
             "brier": brier(values)}]
    for name, scores in baselines.items():
        values = [scores[c] for c in ids]
        rows.append({"score": name, "roc_auc": roc_auc(values, labels), "customers": len(ids),
                     "brier": brier(values) if name in probabilities else None})
    return rows


def replay_period(path: str | Path) -> tuple[datetime, datetime]:
    """First and last ``occurred_at`` of a replay file: the observed period of a simulation.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "e.jsonl")
        >>> _ = open(p, "w").write('{"occurred_at": "2024-01-02T00:00:00Z"}\\n{"occurred_at": "2024-01-01T00:00:00Z"}\\n')
        >>> [format_time(t) for t in replay_period(p)]
        ['2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z']
    """
    first = last = None
    for row in read_jsonl(path):
        text = row.get("occurred_at")
        if isinstance(text, str):
            first = text if first is None or text < first else first
            last = text if last is None or text > last else last
    if first is None or last is None:
        raise EvaluationError(f"{path}: no event with an occurred_at")
    # Text order is time order only for one format: parse to be sure of the UTC instant.
    return parse_time(first), parse_time(last)  # type: ignore[return-value]


def evaluate_files(
    warnings_path: str | Path,
    truth_path: str | Path,
    *,
    snapshot_path: str | Path | None = None,
    period_end: datetime,
    period_start: datetime | None = None,
    min_level: str = "warning",
) -> dict[str, Any]:
    """:func:`evaluate` on files: warnings and snapshot as JSON Lines, truth as CSV."""
    snapshot = list(read_jsonl(snapshot_path)) if snapshot_path is not None else None
    return evaluate(read_jsonl(warnings_path), read_truth_csv(truth_path), snapshot=snapshot,
                    period_start=period_start, period_end=period_end, min_level=min_level)


def write_plots(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write PNG plots (risk score distributions, the risk score as a probability: each slice's
    churned share against its mean risk, lead time histogram) to ``out_dir``.

    Needs matplotlib (``pip install 'churnwatch[plots]'``); returns the files written.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise EvaluationError("plots need matplotlib: pip install 'churnwatch[plots]'") from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dist = report.get("distributions") or {}
    written: list[Path] = []

    churned, stayers = dist.get("risk_churned") or [], dist.get("risk_stayers") or []
    if churned or stayers:
        fig, ax = plt.subplots(figsize=(7, 4))
        bins = [i / 40 for i in range(41)]
        ax.hist(stayers, bins=bins, alpha=0.6, label=f"stayed ({len(stayers)})", density=True)
        ax.hist(churned, bins=bins, alpha=0.6, label=f"churned ({len(churned)})", density=True)
        auc = (report.get("snapshot") or {}).get("roc_auc")
        ax.set(title=f"Snapshot risk score (ROC AUC {_fmt(auc)})", xlabel="risk_score", ylabel="density")
        ax.legend()
        path = out_dir / "risk_score_distribution.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

    cal = (report.get("snapshot") or {}).get("calibration")
    if cal and cal["bins"]:
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="a calibrated probability")
        xs, ys = [b["mean_score"] for b in cal["bins"]], [b["churn_share"] for b in cal["bins"]]
        ax.plot(xs, ys, marker="o", label="risk_score, by slice (beside each: its customers)")
        for b in cal["bins"]:
            ax.annotate(str(b["customers"]), (b["mean_score"], b["churn_share"]), textcoords="offset points",
                        xytext=(4, -10), fontsize=7)
        ax.set(title=f"Risk score as a probability (Brier {_fmt(cal['brier'])}, churn rate alone "
                     f"{_fmt(cal['reference'])})", xlabel="mean risk_score of the slice",
               ylabel="share that churned", xlim=(0, 1), ylim=(0, 1))
        ax.title.set_fontsize(9)
        ax.legend(loc="upper left", fontsize=8)
        path = out_dir / "risk_score_calibration.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

    by_cause = dist.get("lead_time_days_by_cause") or {}
    if any(by_cause.values()):
        fig, ax = plt.subplots(figsize=(7, 4))
        values = [v for v in by_cause.values() if v]
        ax.hist(values, bins=30, stacked=True, label=[c for c, v in by_cause.items() if v])
        ax.axvline(0, color="black", linewidth=1)
        ax.axvline(14, color="grey", linestyle="--", linewidth=1)
        ax.set(title="Lead time: last activity minus first warning", xlabel="days (positive: warned while active)",
               ylabel="churners")
        ax.legend()
        path = out_dir / "lead_time_histogram.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


def register(group: Any) -> None:
    """Add ``churnwatch evaluate`` to a click group (the ``churnwatch`` command)."""
    import sys

    import click

    @group.command("evaluate")
    @click.option("--warnings", "warnings_path", required=True, metavar="FILE",
                  help="Warnings as JSON Lines (`churnwatch tail --from-beginning --json`); '-' reads stdin.")
    @click.option("--truth", "truth_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Ground-truth CSV, as `churnwatch simulate` writes it, or your own labels: "
                       "customer_id and churned (1/0) are required; optional persona (rows are "
                       "broken down by it), last_active_at (RFC 3339: lead times are counted "
                       "from it), cause (drift, trade_down, unresolved_complaints, competitor: "
                       "the gradual leavers whose median lead is a target; abrupt: warned within "
                       "twice usual_gap_days, the days between their orders, after "
                       "last_active_at; never_engaged).")
    @click.option("--snapshot", "snapshot_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="Snapshot JSON Lines (`churnwatch snapshot`), for the ROC AUC of risk scores and, read "
                       "as probabilities, their Brier score and churned share per slice of risk.")
    @click.option("--events", "events_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="The replay file: its first and last event times give the period.")
    @click.option("--period-start", default=None, metavar="TIME",
                  help="Start of the period (RFC 3339, or a date: its midnight UTC, as --advance-to takes it).")
    @click.option("--period-end", default=None, metavar="TIME",
                  help="End of the period (RFC 3339, or a date: its midnight UTC).")
    @click.option("--min-level", type=click.Choice(LEVELS), default="warning", show_default=True,
                  help="Lowest warning level that counts.")
    @click.option("--baselines", is_flag=True,
                  help="Also score rules of thumb computed from --events (recency 30/60/90 days, two missed "
                       "purchase cycles, Pareto/NBD P(alive) < 0.5) on the same truth and period.")
    @click.option("--json", "json_path", default=None, metavar="FILE",
                  help="Also write the report as JSON ('-': JSON on stdout instead of the table).")
    @click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Write PNG plots to this directory (needs matplotlib: pip install 'churnwatch[plots]').")
    def evaluate_command(warnings_path: str, truth_path: Path, snapshot_path: Path | None, events_path: Path | None,
                         period_start: str | None, period_end: str | None, min_level: str, baselines: bool,
                         json_path: str | None, plots_dir: Path | None) -> None:
        """Score warnings and a snapshot against ground truth: precision, recall, lead time, AUC."""
        from streams.jsonl_io import check_distinct_files

        check_distinct_files({"--warnings": None if warnings_path == "-" else warnings_path, "--truth": truth_path,
                              "--snapshot": snapshot_path, "--events": events_path},
                             {"--json": None if json_path in (None, "-") else json_path})
        start = _option_time(period_start, "--period-start") if period_start else None
        end = _option_time(period_end, "--period-end") if period_end else None
        if events_path is not None and (start is None or end is None):
            first, last = replay_period(events_path)
            start, end = start or first, end or last
        if end is None:
            raise EvaluationError("give --period-end (or --events FILE to read the period from the replay file)")
        if baselines and events_path is None:
            raise EvaluationError("--baselines computes the rules from the events: give --events FILE")
        if warnings_path == "-":
            warnings: Iterable[Any] = (orjson.loads(line) for line in sys.stdin.buffer if line.strip())
        else:
            warnings = read_jsonl(warnings_path)
        snapshot = list(read_jsonl(snapshot_path)) if snapshot_path is not None else None
        truth = read_truth_csv(truth_path)
        report = evaluate(warnings, truth, snapshot=snapshot, period_start=start,
                          period_end=end, min_level=min_level)
        if baselines:
            compare_baselines(report, events_path, truth, snapshot)  # type: ignore[arg-type]
        if json_path == "-":
            sys.stdout.buffer.write(report_json(report))
        else:
            click.echo(format_report(report))
            if json_path:
                Path(json_path).write_bytes(report_json(report))
                click.echo(f"report -> {json_path}", err=True)
        if plots_dir is not None:
            for path in write_plots(report, plots_dir):
                click.echo(f"plot -> {path}", err=True)
