"""Ground truth of a simulated population: who left, why, and when.

The simulator writes one CSV row per customer; ``churnwatch evaluate`` reads it back.

Columns:

``customer_id``
    The id used in the events.
``churned``
    ``1`` if the customer left during the period, else ``0``.
``persona``
    The behaviour the customer was generated with (see ``streams.personas``).
``decline_started_at``
    For churners, when their behaviour started to change (RFC 3339 UTC); empty otherwise.
    For abrupt leavers it equals ``last_active_at``: nothing changed before they stopped.
``last_active_at``
    The time of the customer's last event of any kind (RFC 3339 UTC); empty if the
    customer produced no event. For churners nothing follows it.
``cause``
    For churners, why they left (``drift``, ``trade_down``, ``unresolved_complaints``,
    ``abrupt``, ``competitor``, ``never_engaged``); empty otherwise.
``usual_gap_days``
    The customer's usual number of days between orders in their normal rhythm (the
    mean of the purchase cycle they were generated with).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schemas.errors import ChurnwatchError
from streams.jsonl_io import open_binary_writer, open_text_reader

TRUTH_COLUMNS = (
    "customer_id",
    "churned",
    "persona",
    "decline_started_at",
    "last_active_at",
    "cause",
    "usual_gap_days",
)


class TruthFileError(ChurnwatchError, ValueError):
    """A ground-truth file or row is missing a column or holds a value that does not parse."""


def format_time(value: datetime | None) -> str:
    """RFC 3339 UTC with a ``Z`` suffix and whole seconds; empty string for ``None``.

    Example:
        >>> format_time(datetime(2024, 3, 1, 8, 5, 9, tzinfo=UTC))
        '2024-03-01T08:05:09Z'
        >>> format_time(None)
        ''
    """
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | datetime | None, *, field: str = "time") -> datetime | None:
    """Parse an RFC 3339 time (``Z`` or offset) to an aware UTC datetime; empty gives ``None``.

    Naive times are refused: an offset is part of the contract.

    Example:
        >>> parse_time("2024-03-01T09:05:09+01:00")
        datetime.datetime(2024, 3, 1, 8, 5, 9, tzinfo=datetime.timezone.utc)
        >>> parse_time("") is None
        True
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise TruthFileError(f"{field}={value!r}: expected an RFC 3339 time, e.g. 2024-03-01T08:00:00Z") from None
    if parsed.tzinfo is None:
        raise TruthFileError(f"{field}={value!r}: expected a time with an offset or Z, got a naive time")
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class TruthRow:
    """One customer's ground truth (see the module docstring for the meaning of each field)."""

    customer_id: str
    churned: bool
    persona: str
    decline_started_at: datetime | None
    last_active_at: datetime | None
    cause: str
    usual_gap_days: float

    def as_csv_row(self) -> dict[str, str]:
        """The row as CSV strings, in :data:`TRUTH_COLUMNS` order.

        Example:
            >>> TruthRow("c1", False, "steady", None, None, "", 30.0).as_csv_row()["churned"]
            '0'
        """
        return {
            "customer_id": self.customer_id,
            "churned": "1" if self.churned else "0",
            "persona": self.persona,
            "decline_started_at": format_time(self.decline_started_at),
            "last_active_at": format_time(self.last_active_at),
            "cause": self.cause,
            "usual_gap_days": f"{self.usual_gap_days:.1f}",
        }

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> TruthRow:
        """Build from a CSV row (strings) or a dict of typed values.

        Example:
            >>> TruthRow.from_mapping({"customer_id": "c1", "churned": "1", "persona": "abrupt",
            ...     "decline_started_at": "", "last_active_at": "2024-05-01T00:00:00Z",
            ...     "cause": "abrupt", "usual_gap_days": "21.5"}).usual_gap_days
            21.5
        """
        try:
            customer_id = str(row["customer_id"]).strip()
            churned_raw = row["churned"]
        except KeyError as exc:
            raise TruthFileError(f"ground-truth row lacks the column {exc.args[0]!r}") from None
        if not customer_id:
            raise TruthFileError("ground-truth row has an empty customer_id")
        churned_text = str(churned_raw).strip().lower()
        if churned_text in ("1", "true", "yes"):
            churned = True
        elif churned_text in ("0", "false", "no"):
            churned = False
        else:
            raise TruthFileError(f"customer {customer_id}: churned={churned_raw!r}: expected 0 or 1")
        gap_raw = row.get("usual_gap_days", "")
        try:
            gap = float(gap_raw) if gap_raw not in ("", None) else float("nan")
        except (TypeError, ValueError):
            raise TruthFileError(f"customer {customer_id}: usual_gap_days={gap_raw!r}: expected a number of days") from None
        return cls(
            customer_id=customer_id,
            churned=churned,
            persona=str(row.get("persona") or "").strip() or "unknown",
            decline_started_at=parse_time(row.get("decline_started_at"), field="decline_started_at"),
            last_active_at=parse_time(row.get("last_active_at"), field="last_active_at"),
            cause=str(row.get("cause") or "").strip(),
            usual_gap_days=gap,
        )


def write_truth_csv(path: str | Path, rows: Iterable[TruthRow]) -> int:
    """Write ground-truth rows as CSV (gzipped for ``.gz``); return the row count.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "truth.csv")
        >>> write_truth_csv(p, [TruthRow("c1", False, "steady", None, None, "", 30.0)])
        1
        >>> read_truth_csv(p)[0].persona
        'steady'
    """
    count = 0
    with open_binary_writer(path) as raw:
        lines = [",".join(TRUTH_COLUMNS)]
        for row in rows:
            values = row.as_csv_row()
            # Values never contain commas or quotes (ids, names, numbers, times), so plain
            # joining gives the same bytes on every platform; check rather than assume.
            for value in values.values():
                if any(ch in value for ch in ',"\n\r'):
                    raise TruthFileError(f"customer {row.customer_id}: value {value!r} needs CSV quoting")
            lines.append(",".join(values[c] for c in TRUTH_COLUMNS))
            count += 1
        raw.write(("\n".join(lines) + "\n").encode("utf-8"))
    return count


def read_truth_csv(path: str | Path) -> list[TruthRow]:
    """Read a ground-truth CSV written by :func:`write_truth_csv` (or by hand).

    Requires the columns ``customer_id`` and ``churned``; the others may be empty. The
    separator is read from the header: a comma, or a semicolon, tab or bar when the header
    has more of those (a spreadsheet saved in a locale with decimal commas writes semicolons).
    """
    with open_text_reader(path) as f:
        header = f.readline()
        counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
        reader = csv.DictReader(itertools.chain([header], f), delimiter=delimiter)
        reader.fieldnames = [name.strip() for name in reader.fieldnames or ()]
        missing = {"customer_id", "churned"} - set(reader.fieldnames)
        if missing:
            raise TruthFileError(f"{path}: ground-truth CSV lacks the column(s) {', '.join(sorted(missing))} "
                                 f"(its header: {header.strip()[:200]!r})")
        rows = []
        for number, row in enumerate(reader, start=2):
            try:
                rows.append(TruthRow.from_mapping(row))
            except TruthFileError as exc:
                raise TruthFileError(f"{path}:{number}: {exc}") from None
        return rows
