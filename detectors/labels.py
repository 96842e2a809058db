"""Delayed self-labelling: feature snapshots that become training examples once the outcome is known.

Nobody tells Churnwatch who left; the stream itself does, with a delay. Once a week of
event time (`snapshot_every_days`) each active customer's features are written down. A
snapshot taken at time t becomes a training example

* with label 0 as soon as the customer is active again strictly after t and before
  t + `horizon_days` (they did not leave), resolved at that activity's event time;
* with label 1 when t + `horizon_days` passes with no activity after t (they left, by the
  churn definition the retention team uses), resolved at exactly t + horizon.

Activity means what the rest of Churnwatch calls activity (`CustomerState.last_active`:
logins, page views, orders, complaints other than a seller's resolution).

The pending snapshots live in the customer's own state (a list field, `pending`), so they
move with the customer's partition, are written to the table's changelog with the rest of
the state, and survive restarts and rebalances without a store of their own.

Layout of the `pending` list (plain JSON-able values, orjson round-trips it exactly)::

    [last_snapshot_at, [t, [x0, x1, ...]], [t, [x0, ...]], ...]

`last_snapshot_at` (epoch seconds, 0 = never) is kept even after every snapshot resolved,
so a customer active every day is still snapshotted once per slot, not once per event.
Entries are oldest first; `x` is `detectors.features.vector` (FEATURE_NAMES order).

Bounds: at most `max_pending` entries. With weekly snapshots and a 90-day horizon a quiet
customer holds 13, so the default 16 is rarely reached; when it is (shorter snapshot
interval, longer horizon), entries in the middle are thinned (the newer of the closest
pair goes) so the oldest, which resolve first, are kept and the list stays spread over the
horizon. About 170 bytes of encoded state per entry with the default features (a quiet
customer's 13 entries: ~2.3 KB, about as much as the rest of a weekly buyer's state).

Snapshots stop when a customer has been quiet for a whole horizon: by the label's own
definition they are gone, and weekly snapshots of departed customers would fill the
training data with foregone conclusions.

Defaults: weekly, because retention campaigns run weekly and a week of event time is
short against the 90-day horizon; 90 days is the churn horizon issue 4 names (a setting).
"""

from __future__ import annotations

import orjson
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from detectors.features import FEATURE_NAMES, from_vector, vector
from detectors.state import DAY, CustomerState


@dataclass(frozen=True)
class LabelParams:
    snapshot_every_days: float = 7.0   # one snapshot per customer per slot of this many days
    horizon_days: float = 90.0         # quiet this long after a snapshot = churned
    max_pending: int = 16              # pending snapshots kept per customer

    def __post_init__(self) -> None:
        if self.snapshot_every_days <= 0:
            raise ValueError(f"snapshot_every_days={self.snapshot_every_days}: expected a positive number of days")
        if self.horizon_days <= 0:
            raise ValueError(f"horizon_days={self.horizon_days}: expected a positive number of days")
        if self.max_pending < 2:
            raise ValueError(f"max_pending={self.max_pending}: expected at least 2")

    # Asked several times per assessment: computed once per instance (a cached_property
    # stores into the instance dict, which a frozen dataclass allows; fields are unchanged).
    @cached_property
    def every_seconds(self) -> int:
        return int(round(self.snapshot_every_days * DAY))

    @cached_property
    def horizon_seconds(self) -> int:
        return int(round(self.horizon_days * DAY))


class Example(NamedTuple):
    """One resolved snapshot: what the model learns from."""

    features: dict[str, float]
    label: int          # 1 = no activity within the horizon after the snapshot
    snapshot_time: int  # epoch seconds
    resolved_at: int    # event time at which the outcome became known


def empty() -> list:
    """A new pending list: no snapshot yet.

    >>> empty()
    [0]
    """
    return [0]


def last_snapshot_at(pending: list) -> int:
    """Event time of the customer's latest snapshot (0 when never).

    >>> last_snapshot_at([]), last_snapshot_at([700, [650, [0.5]]])
    (0, 700)
    """
    return int(pending[0]) if pending else 0


def entries(pending: list) -> list:
    """The pending `[t, x]` entries, oldest first (a view, not a copy).

    >>> entries([700, [650, [0.5]]])
    [[650, [0.5]]]
    """
    return pending[1:] if pending else []


def slot(t: int, params: LabelParams = LabelParams()) -> int:
    """Number of the snapshot slot holding event time `t` (slots are aligned on the epoch).

    >>> slot(6 * DAY), slot(7 * DAY)
    (0, 1)
    """
    return t // params.every_seconds


def is_due(pending: list, last_active: int, now: int, params: LabelParams = LabelParams()) -> bool:
    """Should a snapshot be taken at event time `now`?

    Yes when no snapshot was taken in `now`'s slot yet and the customer is still active
    (some activity, and less than a horizon ago).

    >>> is_due([0], last_active=5 * DAY, now=6 * DAY)
    True
    >>> is_due([6 * DAY], last_active=5 * DAY, now=6 * DAY + 1)    # same weekly slot
    False
    >>> is_due([0], last_active=5 * DAY, now=95 * DAY)             # quiet a whole horizon
    False
    """
    if last_active <= 0 or now - last_active >= params.horizon_seconds:
        return False
    last = last_snapshot_at(pending)
    return last == 0 or slot(now, params) > slot(last, params)


def maybe_snapshot(pending: list, state: CustomerState, now: int, feats: dict[str, float],
                   params: LabelParams = LabelParams()) -> list:
    """Pending list after (possibly) taking a snapshot of `feats` at event time `now`.

    Call it after the event at `now` was applied (or in a sweep at `now`) and after
    `resolve`. Returns the input list unchanged (same object) when no snapshot is due, so
    callers can skip a state write; otherwise a new list. `feats` are only read when due,
    so callers may compute them lazily by checking `is_due` first.

    Examples
    --------
    >>> from detectors.state import CustomerState
    >>> s = CustomerState("c", last_active=10 * DAY)
    >>> p = maybe_snapshot(empty(), s, 10 * DAY, {"rule_risk": 0.2})
    >>> last_snapshot_at(p), len(entries(p))
    (864000, 1)
    >>> maybe_snapshot(p, s, 11 * DAY, {"rule_risk": 0.3}) is p   # same week: nothing new
    True
    """
    if not is_due(pending, state.last_active, now, params):
        return pending
    items = [list(e) for e in entries(pending)]
    items.append([int(now), vector(feats)])
    _thin(items, params.max_pending)
    return [int(now), *items]


def _thin(items: list, cap: int) -> None:
    """Drop entries until at most `cap` remain: the newer of the closest pair, never the
    oldest or the newest, so the list stays spread over the horizon."""
    while len(items) > cap:
        best, gap = 1, None
        for i in range(1, len(items) - 1):
            g = items[i][0] - items[i - 1][0]
            if gap is None or g < gap:
                best, gap = i, g
        del items[best]


def resolve(pending: list, last_active_before: int, activity_at: int | None, now: int,
            params: LabelParams = LabelParams()) -> tuple[list, list[Example]]:
    """Turn pending snapshots whose outcome is known at event time `now` into examples.

    Parameters
    ----------
    pending: the customer's pending list (not changed).
    last_active_before: the customer's last activity known before this call
        (`CustomerState.last_active` before the current event was applied); it resolves
        snapshots that an activity already answered if a caller applied that activity
        without resolving.
    activity_at: event time of the activity being applied now, or None (a sweep, or an
        event that is not activity, such as a complaint resolved by the seller).
    now: event time of the call; snapshots with t + horizon <= now and no activity after
        them resolve as 1.

    A snapshot at t resolves as 0 when some activity a has t < a < t + horizon
    (strictly after: the activity the snapshot was taken at does not count), at the
    earliest such a; as 1 when now >= t + horizon without one, at t + horizon. Snapshots
    whose vectors do not match `FEATURE_NAMES` (taken under another features version) are
    dropped without an example.

    Returns the new pending list (the input object itself when nothing resolved) and the
    examples, oldest snapshot first.

    Examples
    --------
    Snapshots at day 3 (at an activity) and day 10 (a sweep); the customer returns on day 12:

    >>> p = [10 * DAY, [3 * DAY, [0.0] * len(FEATURE_NAMES)], [10 * DAY, [0.0] * len(FEATURE_NAMES)]]
    >>> p2, ex = resolve(p, last_active_before=3 * DAY, activity_at=12 * DAY, now=12 * DAY)
    >>> [(e.label, e.snapshot_time // DAY, e.resolved_at // DAY) for e in ex], entries(p2)
    ([(0, 3, 12), (0, 10, 12)], [])

    Or they never return: at day 93 the first snapshot's horizon has passed.

    >>> p3, ex = resolve(p, last_active_before=3 * DAY, activity_at=None, now=93 * DAY)
    >>> [(e.label, e.snapshot_time // DAY, e.resolved_at // DAY) for e in ex], len(entries(p3))
    ([(1, 3, 93)], 1)
    """
    items = entries(pending)
    if not items:
        return pending, []
    h = params.horizon_seconds
    keep: list = []
    examples: list[Example] = []
    n = len(FEATURE_NAMES)
    for entry in items:
        t, x = entry[0], entry[1]
        returned = [a for a in (last_active_before, activity_at) if a is not None and t < a < t + h]
        if returned:
            label, at = 0, min(returned)
        elif now >= t + h:
            label, at = 1, t + h
        else:
            keep.append(entry)
            continue
        if len(x) == n:
            examples.append(Example(from_vector(x), label, int(t), int(at)))
    if len(keep) == len(items):
        return pending, []
    return [last_snapshot_at(pending), *keep], examples


def next_due(pending: list, last_active: int, now: int, params: LabelParams = LabelParams()) -> int | None:
    """Earliest event time after `now` at which a quiet customer needs a sweep for labelling.

    The next slot boundary (a snapshot is due there if the customer is still active), or
    the next t + horizon (a snapshot resolves as 1), whichever comes first; None when
    neither will happen without new activity. Callers take the minimum of this and the
    detectors' own next due time.

    Examples
    --------
    >>> next_due([0], last_active=10 * DAY, now=10 * DAY) // DAY      # next weekly boundary
    14
    >>> p = [10 * DAY, [10 * DAY, []]]
    >>> next_due(p, last_active=10 * DAY, now=99 * DAY) // DAY        # the snapshot resolves
    100
    >>> next_due([0], last_active=10 * DAY, now=100 * DAY) is None    # gone, nothing pending
    True
    """
    candidates = [e[0] + params.horizon_seconds for e in entries(pending)]
    every = params.every_seconds
    boundary = (now // every + 1) * every
    if last_active > 0 and boundary - last_active < params.horizon_seconds:
        candidates.append(boundary)
    later = [c for c in candidates if c > now]
    return min(later) if later else None


def encode(pending: list) -> bytes:
    """Bytes of a pending list (orjson, as the customer state is encoded).

    >>> p = [10 * DAY, [3 * DAY, [0.25, 1.0]]]
    >>> decode(encode(p)) == p
    True
    """
    return orjson.dumps(pending)


def decode(data: bytes) -> list:
    """Inverse of `encode`; raises ValueError on bytes that are not a pending list."""
    value = orjson.loads(data)
    if not isinstance(value, list) or (value and not isinstance(value[0], int)):
        raise ValueError(f"not a pending-snapshot list: expected [last_snapshot_at, ...], got {str(value)[:80]}")
    for entry in value[1:]:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
                and isinstance(entry[1], list)):
            raise ValueError(f"not a pending snapshot entry: {entry!r}; expected [time, [features...]]")
    return value
