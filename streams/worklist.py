"""The retention team's work list: customers with an open warning, the most valuable first.

A snapshot (``churnwatch snapshot``, ``churnwatch offline --snapshot``, ``out/demo/snapshot.jsonl``)
holds every tracked customer; the warnings topic holds every change. Neither says whom to call
first this morning. ``churnwatch worklist`` reads a snapshot and lists the customers whose
warning is open at ``--min-level`` or above, ordered as the retention practice behind the
product asks: the value segment first (``core``, then ``growth``, ``regular``, ``new``,
``lapsed``: losing a core customer costs most, and a lapsed one is already gone by any
definition), then the level, then the risk (:func:`risk`); each with the evidence that
weighs most and the first suggested action.

Example:
    >>> rows = [
    ...     {"customer_id": "a", "segment": "regular", "open_warning_level": "critical", "risk_score": 0.97,
    ...      "as_of": "2025-03-31T00:00:00Z", "last_active_at": "2025-01-30T00:00:00Z",
    ...      "signals": [{"kind": "silence", "strength": 0.9, "current": 60, "baseline": 9,
    ...                   "unit": "days since last activity"}],
    ...      "suggested_actions": [{"action": "win_back", "reason": "quiet"}]},
    ...     {"customer_id": "b", "segment": "core", "open_warning_level": "warning", "risk_score": 0.71,
    ...      "as_of": "2025-03-31T00:00:00Z", "last_active_at": "2025-03-29T00:00:00Z",
    ...      "signals": [{"kind": "order_value_drop", "strength": 0.6, "current": 240, "baseline": 700,
    ...                   "unit": "EUR per order"}],
    ...      "suggested_actions": [{"action": "personal_call", "reason": "core"}]},
    ...     {"customer_id": "c", "segment": "core", "open_warning_level": "none", "risk_score": 0.1}]
    >>> [r["customer_id"] for r in rank(rows)]
    ['b', 'a']
    >>> print(format_worklist(rank(rows)))
    #  customer  segment  level     risk  quiet  evidence                                           action
    1  b         core     warning   0.71     2d  order_value_drop: 240 vs 700 EUR per order         personal_call
    2  a         regular  critical  0.97    60d  silence: 60 days since last activity, usual gap 9  win_back
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from schemas.errors import ChurnwatchError
from schemas.outputs import WARNING_LEVELS
from streams.tail import _number, unresolved_part

#: Value segments in the order they are worked (the most valuable first).
SEGMENT_ORDER = ("core", "growth", "regular", "new", "lapsed")
_FIRE = 0.5


class WorklistError(ChurnwatchError, ValueError):
    """The snapshot cannot be read."""


def _level_rank(level: Any) -> int:
    return WARNING_LEVELS.index(level) + 1 if level in WARNING_LEVELS else 0


def rank(rows: Iterable[Mapping[str, Any]], min_level: str = "warning") -> list[Mapping[str, Any]]:
    """Customers with an open warning at `min_level` or above: segment (core first), then
    level (critical first), then risk (:func:`risk`, highest first), then customer id."""
    if min_level not in WARNING_LEVELS:
        raise WorklistError(f"min_level={min_level!r}: expected one of {', '.join(WARNING_LEVELS)}")
    floor = _level_rank(min_level)
    open_ = [r for r in rows if _level_rank(r.get("open_warning_level")) >= floor]

    def key(r: Mapping[str, Any]) -> tuple:
        segment = r.get("segment")
        seg = SEGMENT_ORDER.index(segment) if segment in SEGMENT_ORDER else len(SEGMENT_ORDER)
        return seg, -_level_rank(r.get("open_warning_level")), -risk(r), \
            str(r.get("customer_id"))

    return sorted(open_, key=key)


def risk(row: Mapping[str, Any]) -> float:
    """The risk a worklist shows and sorts by: the snapshot's risk score, never below its rule
    score nor the signals' evidence that holds the warning open (`evidence_score`), as the
    warnings topic carries a raised warning's risk. The blend with the online model alone can
    read 0.26 for a `critical` core customer whose baskets fell to a third: the model, which
    learns who goes quiet, sees a customer who still buys; and the rule score ranks a silence
    far beyond the customer's rhythm at 0.72 where the population does not call them gone yet.

    >>> risk({"risk_score": 0.26, "rule_score": 0.81}), risk({"risk_score": 0.9, "rule_score": 0.7}), risk({})
    (0.81, 0.9, 0.0)
    >>> risk({"risk_score": 0.72, "rule_score": 0.72, "evidence_score": 0.8548})
    0.8548
    """
    return max(float(row.get(name) or 0.0) for name in ("risk_score", "rule_score", "evidence_score"))


def _quiet_days(row: Mapping[str, Any]) -> str:
    try:
        as_of = datetime.fromisoformat(str(row["as_of"]).replace("Z", "+00:00"))
        last = datetime.fromisoformat(str(row["last_active_at"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, ValueError):
        return "-"
    # rounded as the evidence's figures are (silence's "169 vs 12 days"), not cut to whole days
    return f"{max(0, round((as_of - last).total_seconds() / 86400))}d"


def _evidence(row: Mapping[str, Any]) -> str:
    """The strongest signal, current vs usual; marked when none fires any more (the warning
    stays open until the risk falls, see `detectors.warning.decide`)."""
    signals = list(row.get("signals") or ())
    if not signals:
        return "-"
    # On a tie (several at full strength) the customer's own behaviour is the evidence; a
    # rival's move only explains it.
    top = max(signals, key=lambda s: (float(s.get("strength") or 0.0), s.get("kind") != "competitor_pressure"))
    unanswered = unresolved_part(top)     # a complaint left unanswered: not a count
    if unanswered:
        text = f"{top.get('kind')}: {unanswered}"
    else:
        unit = str(top.get("unit", ""))
        if unit.startswith("days since"):    # a quiet spell against the usual gap between them
            text = f"{top.get('kind')}: {_number(top.get('current'))} {unit}, usual gap {_number(top.get('baseline'))}"
        else:
            text = f"{top.get('kind')}: {_number(top.get('current'))} vs {_number(top.get('baseline'))} {unit}"
    if float(top.get("strength") or 0.0) < _FIRE:
        since = str(row.get("open_warning_since") or "")[:10]
        text += f" (no signal firing now; open since {since})" if since else " (no signal firing now)"
    return text.replace("  ", " ")


def format_worklist(rows: list[Mapping[str, Any]], top: int | None = None) -> str:
    """The ranked rows as a text table (the first `top` of them, all if None)."""
    shown = rows if top is None else rows[:top]
    table = [("#", "customer", "segment", "level", "risk", "quiet", "evidence", "action")]
    for i, r in enumerate(shown, start=1):
        actions = r.get("suggested_actions") or ()
        table.append((str(i), str(r.get("customer_id")), str(r.get("segment")), str(r.get("open_warning_level")),
                      f"{risk(r):.2f}", _quiet_days(r), _evidence(r),
                      str(actions[0].get("action")) if actions else "-"))
    widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
    right = {0, 4, 5}
    lines = []
    for row in table:
        cells = [cell.rjust(widths[c]) if c in right else cell.ljust(widths[c]) for c, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    if top is not None and len(rows) > top:
        lines.append(f"... and {len(rows) - top:,} more (--top to see more)")
    return "\n".join(lines)


def read_snapshot(path: str) -> list[dict[str, Any]]:
    """The rows of a snapshot file (JSON Lines; ``-`` reads standard input)."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise WorklistError(f"{path}: {exc.strerror or exc}") from None
    rows = []
    for n, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise WorklistError(f"{path}: line {n} is not JSON ({exc})") from None
        if not isinstance(row, dict) or "customer_id" not in row:
            raise WorklistError(f"{path}: line {n} is not a snapshot row (no customer_id)")
        if "open_warning_level" not in row:
            what = "a warning" if "warning_id" in row else "not a snapshot row"
            raise WorklistError(f"{path}: line {n} is {what} (no open_warning_level): the worklist reads a snapshot, "
                                f"as `churnwatch snapshot --out` or `churnwatch offline --snapshot` write it")
        rows.append(row)
    return rows


def register(group: Any) -> None:
    """Add ``churnwatch worklist`` to a click group (the ``churnwatch`` command)."""
    import click

    @group.command("worklist")
    @click.argument("snapshot", default="-")
    @click.option("--min-level", type=click.Choice(WARNING_LEVELS), default="warning", show_default=True,
                  help="Lowest open warning level listed (watch adds early signs and complaint alarms).")
    @click.option("--top", type=click.IntRange(min=1), default=None, help="Show only the first N customers.")
    @click.option("--json", "as_json", is_flag=True, help="Print the ranked snapshot rows as JSON lines.")
    def worklist_command(snapshot: str, min_level: str, top: int | None, as_json: bool) -> None:
        """Customers with an open warning, core customers first, then by level and risk.

        SNAPSHOT is a file written by `churnwatch snapshot --out` or `offline --snapshot`
        (default: standard input, e.g. `churnwatch snapshot | churnwatch worklist`).
        """
        try:
            read = read_snapshot(snapshot)
            rows = rank(read, min_level)
        except WorklistError as exc:
            raise click.ClickException(str(exc)) from None
        if not read:
            click.echo(f"{'standard input' if snapshot == '-' else snapshot} holds no snapshot rows: no customer "
                       f"is tracked", err=True)
        if as_json:
            for row in rows if top is None else rows[:top]:
                click.echo(orjson.dumps(row).decode())
            return
        if not rows:
            click.echo(f"no customer has an open warning at level {min_level} or above")
            return
        click.echo(format_worklist(rows, top))
