"""Published baselines for a calibration/holdout split: recency, BG/NBD and Pareto/NBD.

The classic way to judge "who will buy again" on a purchase log (Fader, Hardie & Lee 2005,
on CDNOW with 39 calibration and 39 holdout weeks) fits a buy-till-you-die model on each
customer's calibration summary and ranks customers by it. So that our risk score is judged
against them on the very same split, this module computes, per customer:

* ``recency_days``: days from the last purchase to the cutoff (the plain rule of thumb);
* BG/NBD (``lifetimes.BetaGeoFitter``): ``P(alive)`` and the expected number of purchases
  in the holdout. Its ``P(alive)`` is 1 for every customer without a repeat purchase (the
  model lets customers drop out only right after a purchase), so on a log where most
  customers bought once, ``1 - P(alive)`` ranks them as the *safest*: the expected holdout
  purchases are the fair BG/NBD ranking and both are reported;
* Pareto/NBD (``lifetimes.ParetoNBDFitter``): ``P(alive)`` and expected holdout purchases
  (dropout at any time, so one-time buyers are ranked too).

The models come from ``lifetimes`` 0.11.3, the reference implementation, installed with the
``realdata`` extra (``pip install -e '.[realdata]'``). Only its fitters are used, on plain
arrays: its pandas helpers do not run with pandas 3. Without it the model columns are
``None`` and the report says so.

Summary figures follow the models' definitions, in weeks: ``frequency`` = purchase days
in calibration minus one (several orders on one day are one purchase, as in the
literature), ``recency`` = weeks from first to last purchase day, ``T`` = weeks from the
first purchase day to the cutoff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DAY = 86_400
WEEK_DAYS = 7.0

#: Baseline scores, each oriented so that a higher value means "more likely gone".
SCORE_NAMES: tuple[str, ...] = ("recency", "bgnbd_p_alive", "bgnbd_expected", "pnbd_p_alive", "pnbd_expected")


@dataclass(frozen=True)
class Summary:
    """One customer's calibration summary in the models' terms (weeks)."""

    frequency: int       # repeat purchase days
    recency_weeks: float  # first to last purchase day
    age_weeks: float      # first purchase day to the cutoff (the models' T)
    recency_days: float   # last purchase to the cutoff, for the recency baseline


def summarise(purchase_times: Sequence[int], cutoff: int) -> Summary:
    """Calibration summary of one customer from their purchase times (epoch seconds, < cutoff).

    Purchases are counted per UTC day, as the literature counts CDNOW.

    Example:
        >>> d = lambda n: n * DAY
        >>> summarise([d(0), d(0) + 3600, d(14), d(28)], d(70))
        Summary(frequency=2, recency_weeks=4.0, age_weeks=10.0, recency_days=42.0)
    """
    days = sorted({t // DAY for t in purchase_times})
    cutoff_day = cutoff / DAY
    return Summary(
        frequency=len(days) - 1,
        recency_weeks=(days[-1] - days[0]) / WEEK_DAYS,
        age_weeks=(cutoff_day - days[0]) / WEEK_DAYS,
        recency_days=round((cutoff - max(purchase_times)) / DAY, 6),
    )


def lifetimes_version() -> str | None:
    """The installed ``lifetimes`` version, or None when the ``realdata`` extra is missing."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version("lifetimes")
    except PackageNotFoundError:
        return None


def model_scores(summaries: Mapping[str, Summary], horizon_days: float) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """BG/NBD and Pareto/NBD scores per customer, and the fitted parameters.

    Returns ``({customer: {score name: value}}, {"bgnbd": params, "pnbd": params, ...})``;
    scores are oriented like :data:`SCORE_NAMES` (``1 - P(alive)``, ``-E[purchases]``). A
    model whose fit does not converge (lifetimes' ``ConvergenceError``, common on a few
    hundred customers) has no scores, and ``{"error": why}`` in place of its parameters;
    the other model's scores stand. Raises ``ImportError`` when ``lifetimes`` is not installed.
    """
    import contextlib
    import io

    import numpy as np
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    ids = list(summaries)
    freq = np.array([summaries[c].frequency for c in ids], dtype=float)
    rec = np.array([summaries[c].recency_weeks for c in ids], dtype=float)
    age = np.array([summaries[c].age_weeks for c in ids], dtype=float)
    horizon_weeks = horizon_days / WEEK_DAYS
    out: dict[str, dict[str, float]] = {c: {} for c in ids}
    fitted: dict[str, Any] = {"lifetimes": lifetimes_version(), "unit": "weeks"}
    for name, fitter in (("bgnbd", BetaGeoFitter(penalizer_coef=0.0)), ("pnbd", ParetoNBDFitter(penalizer_coef=0.0))):
        # lifetimes' Pareto/NBD likelihood passes through log(0) for some trial parameters on
        # its way to the optimum (its own logaddexp handles them); the warnings say nothing.
        try:
            # lifetimes prints the optimiser's whole result before it raises ConvergenceError
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"), \
                    contextlib.redirect_stdout(io.StringIO()):
                fitter.fit(freq, rec, age)
        except Exception as error:  # noqa: BLE001 - lifetimes' ConvergenceError, or a numeric failure of the fit
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            fitted[name] = {"error": f"the fit on {len(ids):,} customers did not converge ({first[:120]})"}
            continue
        alive = np.asarray(fitter.conditional_probability_alive(freq, rec, age), dtype=float)
        expected = np.asarray(
            fitter.conditional_expected_number_of_purchases_up_to_time(horizon_weeks, freq, rec, age), dtype=float)
        for i, c in enumerate(ids):
            out[c][f"{name}_p_alive"] = 1.0 - float(alive[i])
            out[c][f"{name}_expected"] = -float(expected[i])
        fitted[name] = {k: round(float(v), 4) for k, v in fitter.params_.items()}
    return out, fitted
