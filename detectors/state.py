"""Per-customer state: the explicit, bounded memory every detector reads.

One `CustomerState` per customer holds what the signals need, in event time:

* daily activity buckets (logins, page views, dwell seconds, bounce-like short visits)
  for the last `StateParams.history_days`, and the active days of each 28-day block of the
  last 21 (`seasons`: last year's same weeks, for a customer whose visits fall every year);
* the gaps between the customer's active days (their own rhythm, for silence), and the
  quiet spells of the last `return_memory_days` they came back from, the longest first (a
  seasonal customer's off-season, a yearly holiday: for silence and purchase frequency);
* their last `max_orders` order events (time, amount, currency, status, items, category);
* their last `max_complaints` complaints with status and timestamps;
* the ids of recent events, and the offset of the last applied record of each input topic
  (on the customer's partition), so a re-delivered event is applied once;
* the warning lifecycle (current level, signal kinds, episode) and `next_due`, the event
  time at which a sweep should look at the customer again if nothing arrives.

Times inside the state are integer epoch seconds (UTC); days are integer epoch days.
`encode`/`decode` turn the state into compact bytes (orjson over positional lists): this is
what the `customers` table holds and what its changelog carries.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field, fields as dataclass_fields
from datetime import datetime, timezone
from operator import attrgetter

import orjson

from schemas.events import TYPE_OF_MODEL

DAY = 86_400
STATE_FORMAT = 8

#: Days in a block of `CustomerState.seasons`, and the blocks kept: enough to see the 8-week
#: window of a year ago with the 16 weeks before it, shifted by up to two weeks, behind the
#: newest active day (21 x 28 = 588 days >= 364 + 56 + 112 + 14 + 27).
SEASON_BLOCK_DAYS = 28
SEASON_BLOCKS = 21
_SEASON_UNKNOWN = "."     # a block whose active days are not known (before the record had them)
_SEASON_ZERO = 48         # ord("0"): a block of n active days is chr(48 + n), "0" to "L"

#: Event kinds in the order of `CustomerState.offsets`: each kind has its own input topic.
KINDS = ("login", "page_view", "order", "complaint")

# Order status codes kept in the state (compact ints, stable on the changelog).
PLACED, CANCELLED, RETURNED = 0, 1, 2
ORDER_STATUS = {"placed": PLACED, "cancelled": CANCELLED, "returned": RETURNED}

# Complaint status codes.
OPENED, ESCALATED, RESOLVED, REOPENED = 0, 1, 2, 3
COMPLAINT_STATUS = {"opened": OPENED, "escalated": ESCALATED, "resolved": RESOLVED, "reopened": REOPENED}
SEVERITY = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class StateParams:
    """Bounds of the per-customer state.

    history_days: days of daily activity buckets kept (26 weeks: an 8-week baseline and a
        4-week current window fit with room for seasonal lulls).
    max_orders: order events kept (64 covers five years of a monthly buyer).
    max_complaints: complaints kept (open ones are never evicted before closed ones).
    max_gaps: active-day gaps kept for the customer's own rhythm.
    return_memory_days: how long a quiet spell a customer came back from is remembered (a
        year and a month: last year's off-season of a seasonal customer, last year's holiday).
    return_min_days: the shortest quiet spell remembered: silence's two weeks (`floor_days`),
        under which no quiet is a churn sign, so no shorter spell can explain one.
    dedup_seconds: how far back (event time, behind the customer's newest event) event ids
        are remembered at most.
    max_dedup: how many of the customer's latest event ids are remembered. What a crash makes
        a worker read again is what it had not committed (seconds of processing), but in an
        accelerated replay that can span weeks of event time: the window is a count of events,
        not a span of time.
    bounce_seconds: a page view shorter than this counts as a bounce-like visit.
    """

    history_days: int = 182
    max_orders: int = 64
    max_complaints: int = 32
    max_gaps: int = 32
    return_memory_days: int = 400
    return_min_days: int = 14
    dedup_seconds: int = 90 * DAY
    max_dedup: int = 32
    bounce_seconds: float = 10.0


@dataclass
class CustomerState:
    """Everything Churnwatch remembers about one customer (see module docstring)."""

    customer_id: str
    partition: int = -1
    first_seen: int = 0
    last_event: int = 0
    last_active: int = 0
    last_active_day: int = -1
    # Daily activity buckets, ascending by day: parallel lists.
    days: list[int] = field(default_factory=list)
    logins: list[int] = field(default_factory=list)
    views: list[int] = field(default_factory=list)
    dwell: list[int] = field(default_factory=list)
    bounces: list[int] = field(default_factory=list)
    # Gaps in days between consecutive active days, oldest first.
    gaps: list[int] = field(default_factory=list)
    # Orders, ascending by time: [t, amount, currency, status, items, category]. Each order
    # event is its own entry (a cancellation or return beside its placement); nothing links
    # them, so the order id is not kept (format 3 kept its 63-bit hash, unread: ~20 B an order).
    orders: list[list] = field(default_factory=list)
    # Complaints: [id_hash, opened_at, category, severity, status, updated_at, escalations, reopenings]
    complaints: list[list] = field(default_factory=list)
    # Recently seen events: [t, seen_hash(event id)], ascending by t.
    seen: list[list] = field(default_factory=list)
    # Warning lifecycle.
    level: int = 0
    kinds: list[str] = field(default_factory=list)
    episode: int = 0
    raised_at: int = 0
    next_due: int = 0
    # Count of events applied (all kinds); handy for verification and metrics.
    applied: int = 0
    # Derived, cached: [orders key (count, first and last order time), t(0.5), t(0.7), t(0.85),
    # t(1.0)] purchase-frequency crossing times, valid while the orders are unchanged (strength
    # only grows without new orders).
    pf_due: list = field(default_factory=list)
    # Pending feature snapshots awaiting their churn label (`detectors.labels` owns the layout):
    # kept here so they move with the customer's partition and survive restarts.
    pending: list = field(default_factory=list)
    # [partition, then the offset of the last record applied from each input topic of that
    # partition, by kind (`KINDS` order); -1 where none]. A customer's events of one topic all sit on one
    # partition (they are keyed by customer id), so a record read again after a crash at or
    # below its kind's offset was applied before, however many events ago. Empty: none known
    # (a format-2 record, or a state built where offsets are not real, e.g. a bootstrap).
    offsets: list[int] = field(default_factory=list)
    # [days, day of the return] pairs of quiet spells of at least `StateParams.return_min_days`
    # between two active days that ended within the last `StateParams.return_memory_days`,
    # oldest first, each longer than every later one (the first is the longest;
    # `_remember_return`); empty: none known (or format 1-4). Format 5-6 records written
    # before 2026-12-05 hold one pair, the longest of any length.
    returned: list[int] = field(default_factory=list)
    # The activity an open warning's `activity_drop` is held against, the habit before it
    # (layout: `detectors.activity.habit`): kept when that kind joins the warning, emptied
    # when the warning clears. Empty: none (or format 1-5: the daily buckets stand in while
    # they last).
    habit: list[int] = field(default_factory=list)
    # Active days (login or page view) of each `SEASON_BLOCK_DAYS`-day block (epoch day // 28),
    # one character each (`_SEASON_ZERO` + count; `_SEASON_UNKNOWN` when not known), newest
    # first from the block of the newest active day (`days[-1]`), `SEASON_BLOCKS` of them: a
    # year of the customer's visits beyond the daily buckets, at 21 bytes. Empty: not kept
    # yet (format 1-6: built from the daily buckets at the next active day, older blocks
    # unknown). `season_days` reads it.
    seasons: str = ""
    # Time of the purchase that answered the customer's latest purchase-frequency warning of
    # level `warning` or above: the first order after its raise, the warning cleared since
    # (`detectors.warning.apply`). The gap that order closed was judged when it happened;
    # `detectors.purchase_frequency` leaves it out of its trickle windows. 0: none (or format
    # 1-7).
    answered: int = 0

    def copy(self) -> "CustomerState":
        """A copy whose lists can be changed without touching this state."""
        # Every event copies its customer's state (`observe`), so this is built directly:
        # `dataclasses.replace` goes through __init__ with every field as a keyword, about
        # a fifth of the copy's cost. The nested lists are copied one level deep as before.
        s = object.__new__(self.__class__)
        s.__dict__.update(self.__dict__)
        s.days = list(self.days)
        s.logins = list(self.logins)
        s.views = list(self.views)
        s.dwell = list(self.dwell)
        s.bounces = list(self.bounces)
        s.gaps = list(self.gaps)
        s.orders = list(map(list, self.orders))
        s.complaints = list(map(list, self.complaints))
        s.seen = list(map(list, self.seen))
        s.kinds = list(self.kinds)
        s.pf_due = list(self.pf_due)
        # labels.resolve / maybe_snapshot build new lists and never change an entry in place.
        s.pending = list(self.pending)
        s.offsets = list(self.offsets)
        s.returned = list(self.returned)
        s.habit = list(self.habit)
        return s


_FIELDS = (
    "customer_id", "partition", "first_seen", "last_event", "last_active", "last_active_day",
    "days", "logins", "views", "dwell", "bounces", "gaps", "orders", "complaints", "seen",
    "level", "kinds", "episode", "raised_at", "next_due", "applied", "pf_due", "pending", "offsets",
    "returned", "habit", "seasons", "answered",
)
# Older formats lack the last fields; their records decode with those fields' defaults.
# Format 1 had no `pending` (none pending); format 2 no `offsets` (none known: re-read
# events are then recognised by their ids only, as format-2 workers did).
# Format 4 has format 3's fields, with order entries without their id hash and 48-bit
# event-id hashes in `seen` (`_upgrade` converts the older records). Format 5 adds
# `returned` (none known in older records: learnt again from the next long quiet spell),
# format 6 `habit` (none kept: an activity warning opened before it is held against what
# the daily buckets still hold of the habit before it, as format-5 workers did), format 7
# `seasons` (none kept: built from the daily buckets at the customer's next active day),
# format 8 `answered` (none known: a drought answered before the upgrade may be judged again).
_FIELDS_OF_FORMAT = {1: _FIELDS[:-6], 2: _FIELDS[:-5], 3: _FIELDS[:-4], 4: _FIELDS[:-4], 5: _FIELDS[:-3],
                     6: _FIELDS[:-2], 7: _FIELDS[:-1], 8: _FIELDS}
if _FIELDS != tuple(f.name for f in dataclass_fields(CustomerState)):  # pragma: no cover - programming error
    raise TypeError("state record fields must follow CustomerState's field order (decode passes them by position)")
# All fields at once, as a tuple (one C call instead of a getattr per field).
_field_values = attrgetter(*_FIELDS)


def encode(state: CustomerState) -> bytes:
    """Compact bytes for the table and its changelog.

    The memory store keeps the returned object for as long as the customer exists, so it is
    an exact-size copy: orjson's own result sits in a 4 KB (8 KB for larger states)
    allocation whatever its length (measured with orjson 3.13: 4,097 B held per 79-byte
    state, 121 B for the copy; a worker's RSS grew 8.9 KB per customer before, 1.2 KB after).

    Examples
    --------
    >>> s = CustomerState("c1", first_seen=10, offsets=[0, 4, -1, -1, 0])
    >>> decode(encode(s)) == s
    True
    """
    return bytes(memoryview(orjson.dumps([STATE_FORMAT, *_field_values(state)])))


def decode(data: bytes) -> CustomerState:
    """Inverse of `encode`; raises ValueError on bytes that are not a state record.

    Records of older formats still decode, so a worker upgraded on an existing changelog keeps
    its customers: format 1 (before pending snapshots) with none pending, format 2 (before
    input offsets) with no offsets known, and formats 1-3 (order id hashes, 63-bit event-id
    hashes) in format 4's layout, their recent event ids still recognised; format 5 (before
    `habit`) with no habit kept, format 7 (before `answered`) with no answered drought.

    Examples
    --------
    >>> old = orjson.dumps([1, *(getattr(CustomerState("c1"), f) for f in _FIELDS_OF_FORMAT[1])])
    >>> decode(old).pending, decode(old).offsets
    ([], [])
    >>> two = orjson.dumps([2, *(getattr(CustomerState("c1", applied=3), f) for f in _FIELDS_OF_FORMAT[2])])
    >>> decode(two).applied, decode(two).offsets
    (3, [])
    >>> three = CustomerState("c1", orders=[[7, 9.5, "EUR", 0, 1, "books", 42]], seen=[[7, id_hash("e1")]])
    >>> up = decode(orjson.dumps([3, *(getattr(three, f) for f in _FIELDS_OF_FORMAT[3])]))
    >>> up.orders, is_duplicate(up, "e1"), is_duplicate(up, "e2")
    ([[7, 9.5, 'EUR', 0, 1, 'books']], True, False)
    >>> five = orjson.dumps([5, *(getattr(CustomerState("c1", returned=[30, 9]), f) for f in _FIELDS_OF_FORMAT[5])])
    >>> decode(five).returned, decode(five).habit
    ([30, 9], [])
    >>> six = orjson.dumps([6, *(getattr(CustomerState("c1", habit=[1, 2]), f) for f in _FIELDS_OF_FORMAT[6])])
    >>> decode(six).habit, decode(six).seasons
    ([1, 2], '')
    >>> seven = orjson.dumps([7, *(getattr(CustomerState("c1", seasons="3"), f) for f in _FIELDS_OF_FORMAT[7])])
    >>> decode(seven).seasons, decode(seven).answered
    ('3', 0)
    """
    values = orjson.loads(data)
    if not isinstance(values, list) or not values or values[0] not in _FIELDS_OF_FORMAT:
        head = values[:1] if isinstance(values, list) else type(values).__name__
        raise ValueError("not a Churnwatch customer state record (format %r)" % (head,))
    fields = _FIELDS_OF_FORMAT[values[0]]
    if len(values) != len(fields) + 1:
        raise ValueError(f"customer state record (format {values[0]}) has {len(values) - 1} fields, "
                         f"expected {len(fields)}")
    # Positional: each format's fields are a prefix of the dataclass's own order (checked
    # below `_FIELDS`), the fields it lacks take their defaults.
    state = CustomerState(*values[1:])
    if values[0] < 4:
        _upgrade(state)
    return state


def _upgrade(state: CustomerState) -> None:
    """Entries of a format 1-3 record in format 4's layout (see `CustomerState`).

    >>> s = CustomerState("c", orders=[[5, 9.5, "EUR", 0, 1, None, 123]], seen=[[5, id_hash("e")]])
    >>> _upgrade(s)
    >>> s.orders, s.seen == [[5, seen_hash("e")]]
    ([[5, 9.5, 'EUR', 0, 1, None]], True)
    """
    state.orders = [o[:6] for o in state.orders]
    state.seen = [[t, h >> _SEEN_SHIFT] for t, h in state.seen]


# A record's head: [format,"customer id",partition,... (the id is a JSON string, escapes included).
_HEAD = re.compile(rb'\[(\d+),"(?:[^"\\]|\\.)*",(-?\d+)[,\]]')


def record_partition(data: bytes) -> int:
    """The partition of a state record, read from its head without decoding the rest.

    An index rebuild after a rebalance looks for one partition's customers among every
    record of the table: decoding only those (15 us each for a typical record) instead of
    all of them. Raises ValueError, as `decode` does, on bytes that are not a state record.

    Examples
    --------
    >>> record_partition(encode(CustomerState('c"1,[2]', partition=3, gaps=[4, 5])))
    3
    >>> record_partition(b"[9,1]")
    Traceback (most recent call last):
    ...
    ValueError: not a Churnwatch customer state record (format [9])
    """
    m = _HEAD.match(data)
    if m is None or int(m.group(1)) not in _FIELDS_OF_FORMAT:
        return decode(data).partition
    return int(m.group(2))


def epoch(ts: datetime) -> int:
    """Epoch seconds of an aware datetime.

    >>> epoch(datetime(1970, 1, 2, tzinfo=timezone.utc))
    86400
    """
    return int(ts.timestamp())


def to_datetime(t: int) -> datetime:
    """Aware UTC datetime of epoch seconds.

    >>> to_datetime(86400).isoformat()
    '1970-01-02T00:00:00+00:00'
    """
    return datetime.fromtimestamp(t, tz=timezone.utc)


def id_hash(value: str) -> int:
    """A stable 63-bit hash of an id (Python's `hash` is salted per process).

    >>> id_hash("evt-1") == id_hash("evt-1")
    True
    """
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big") >> 1


_SEEN_SHIFT = 63 - 48


def seen_hash(event_id: str) -> int:
    """The 48-bit hash of an event id kept in `CustomerState.seen`: the top bits of `id_hash`.

    Up to `StateParams.max_dedup` (32) are kept per customer, so a new event is mistaken for
    a re-delivered one with probability 32 / 2**48 (about 1 in 9 * 10**12 events); the shorter
    number saves 4 of the record's characters per kept id (63 bits take 19 digits, 48 bits 15).

    >>> seen_hash("evt-1") == id_hash("evt-1") >> 15 < 2 ** 48
    True
    """
    return id_hash(event_id) >> _SEEN_SHIFT


# --------------------------------------------------------------------------- observation


def is_duplicate(state: CustomerState | None, event_id: str) -> bool:
    """True when this event id was already applied to the customer's state."""
    if state is None:
        return False
    h = seen_hash(event_id)
    return any(s[1] == h for s in state.seen)


def applied_offset(state: CustomerState | None, kind: str, partition: int) -> int:
    """Offset of the last record of `kind` applied to the customer from `partition`; -1 if none known.

    Offsets of another partition say nothing (the partition count changed since).

    Examples
    --------
    >>> s = CustomerState("c1", partition=1, offsets=[1, 7, -1, 3, -1])
    >>> applied_offset(s, "login", 1), applied_offset(s, "page_view", 1), applied_offset(s, "login", 0)
    (7, -1, -1)
    """
    if state is None or not state.offsets or state.offsets[0] != partition:
        return -1
    return state.offsets[1 + KINDS.index(kind)]


def note_offset(state: CustomerState, kind: str, partition: int, offset: int) -> None:
    """Record that the record of `kind` at `offset` of `partition` is applied (offsets only grow).

    Examples
    --------
    >>> s = CustomerState("c1")
    >>> note_offset(s, "order", 0, 12); note_offset(s, "order", 0, 5); s.offsets
    [0, -1, -1, 12, -1]
    >>> note_offset(s, "login", 3, 2); s.offsets   # another partition: the old offsets say nothing
    [3, 2, -1, -1, -1]
    """
    if not state.offsets or state.offsets[0] != partition:
        state.offsets = [partition] + [-1] * len(KINDS)
    i = 1 + KINDS.index(kind)
    state.offsets[i] = max(state.offsets[i], offset)


def kind_of(event) -> str:
    """The kind of a customer event (`KINDS`).

    >>> from types import SimpleNamespace as E
    >>> kind_of(E(kind="order"))
    'order'
    """
    return _kind_of(event)


def observe(state: CustomerState | None, event, params: StateParams = StateParams(), *, partition: int = -1,
            owned: bool = False) -> CustomerState:
    """Apply one validated customer event (Login, PageView, Order or Complaint) and return the new state.

    The input state is not changed, unless the caller passes `owned=True`: a state nothing
    else refers to (the worker's, just decoded or taken out of its cache) is then changed in
    place and returned, which saves the copy (a fifth of the cost of applying an event).
    Callers check `is_duplicate` and lateness first; `observe` applies whatever it is given.

    Examples
    --------
    >>> from types import SimpleNamespace as E
    >>> t = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    >>> login = E(kind="login", event_id="e1", customer_id="c1", occurred_at=t, success=True)
    >>> s = observe(None, login)
    >>> s.logins, s.last_active == epoch(t)
    ([1], True)
    >>> again = E(kind="login", event_id="e2", customer_id="c1", occurred_at=t, success=True)
    >>> observe(s, again).logins, s.logins                # a new state; s unchanged
    ([2], [1])
    >>> observe(s, again, owned=True) is s, s.logins      # s itself, changed
    (True, [2])
    """
    kind = _kind_of(event)
    t = epoch(event.occurred_at)
    if state is None:
        s = CustomerState(event.customer_id, partition=partition, first_seen=t)
    else:
        s = state if owned else state.copy()
        if partition >= 0:
            s.partition = partition
        s.first_seen = min(s.first_seen, t) if s.first_seen else t
    s.applied += 1
    s.last_event = max(s.last_event, t)
    _remember(s, t, event.event_id, params)

    if kind == "login":
        _bump(s, t, params, logins=1)
        _activity(s, t, params)
    elif kind == "page_view":
        bounce = 1 if event.dwell_seconds < params.bounce_seconds else 0
        _bump(s, t, params, views=1, dwell=int(round(event.dwell_seconds)), bounces=bounce)
        _activity(s, t, params)
    elif kind == "order":
        _order(s, t, event, params)
        _activity(s, t, params)
    elif kind == "complaint":
        status = COMPLAINT_STATUS[event.status]
        _complaint(s, t, event, status, params)
        if status != RESOLVED:  # a resolution comes from the seller, not the customer
            _activity(s, t, params)
    else:  # pragma: no cover - programming error
        raise TypeError(f"observe() got an unsupported event {type(event).__name__}")
    return s


# The customer-event contracts, by class. They have no `kind` field (and ignore extra
# fields), so for them the lookup below always ends at the class name; asking a pydantic
# model for a missing attribute raises and catches an AttributeError inside pydantic, which
# cost ~2 % of a bulk run. Other objects (tests use namespaces with a `kind`) take the
# general path.
_CONTRACT_KINDS = {model: kind for model, kind in TYPE_OF_MODEL.items() if kind in KINDS}


def _kind_of(event) -> str:
    kind = _CONTRACT_KINDS.get(type(event))
    if kind is not None:
        return kind
    kind = getattr(event, "kind", None)
    if kind in ("login", "page_view", "order", "complaint"):
        return kind
    name = type(event).__name__
    return {"Login": "login", "PageView": "page_view", "Order": "order", "Complaint": "complaint"}.get(name, name)


def _remember(s: CustomerState, t: int, event_id: str, p: StateParams) -> None:
    entry = [t, seen_hash(event_id)]
    bisect.insort(s.seen, entry)
    horizon = s.last_event - p.dedup_seconds
    drop = 0
    while drop < len(s.seen) and (s.seen[drop][0] < horizon or len(s.seen) - drop > p.max_dedup):
        drop += 1
    if drop:
        del s.seen[:drop]


def _bump(s: CustomerState, t: int, p: StateParams, *, logins=0, views=0, dwell=0, bounces=0) -> None:
    day = t // DAY
    i = bisect.bisect_left(s.days, day)
    if i == len(s.days) or s.days[i] != day:
        if day >= s.last_event // DAY - p.history_days:
            # a new active day (one older than the buckets' horizon may have been counted
            # before its bucket was dropped: not counted again)
            _count_season(s, day, p)
        s.days.insert(i, day)
        s.logins.insert(i, 0)
        s.views.insert(i, 0)
        s.dwell.insert(i, 0)
        s.bounces.insert(i, 0)
    s.logins[i] += logins
    s.views[i] += views
    s.dwell[i] += dwell
    s.bounces[i] += bounces
    _trim_days(s, (s.last_event // DAY) - p.history_days)


def _count_season(s: CustomerState, day: int, p: StateParams) -> None:
    """Count a new active `day` (not yet in `days`) in `seasons`.

    >>> s = CustomerState("c")
    >>> _count_season(s, 280, StateParams()); s.days.append(280)      # block 10
    >>> s.seasons[:3], len(s.seasons)
    ('100', 21)
    >>> _count_season(s, 290, StateParams()); s.days.append(290)      # block 10 again
    >>> _count_season(s, 341, StateParams()); s.days.append(341)      # block 12: two newer blocks
    >>> s.seasons[:4]
    '1020'
    """
    block = day // SEASON_BLOCK_DAYS
    seasons = s.seasons
    if not seasons or not s.days:
        # Built from the daily buckets (a record of format 6 or older, or a new customer):
        # the blocks from the buckets' horizon on are known, the older ones are not.
        newest = max(day, s.days[-1]) // SEASON_BLOCK_DAYS if s.days else block
        horizon = s.last_event // DAY - p.history_days
        counts = [0] * SEASON_BLOCKS
        for d in (*s.days, day):
            k = newest - d // SEASON_BLOCK_DAYS
            if k < SEASON_BLOCKS:
                counts[k] += 1
        s.seasons = "".join(chr(_SEASON_ZERO + min(n, SEASON_BLOCK_DAYS))
                            if (newest - k) * SEASON_BLOCK_DAYS >= horizon else _SEASON_UNKNOWN
                            for k, n in enumerate(counts))
        return
    anchor = s.days[-1] // SEASON_BLOCK_DAYS
    if block > anchor:
        seasons = ("0" * min(block - anchor, SEASON_BLOCKS) + seasons)[:SEASON_BLOCKS]
        anchor = block
    k = anchor - block
    if k < SEASON_BLOCKS and seasons[k] != _SEASON_UNKNOWN:
        seasons = seasons[:k] + chr(min(ord(seasons[k]) + 1, _SEASON_ZERO + SEASON_BLOCK_DAYS)) + seasons[k + 1:]
    s.seasons = seasons


def season_days(s: CustomerState, start_day: int, end_day: int) -> float | None:
    """Active days in [start_day, end_day) read from `seasons`: each block's count spread
    evenly over its days, so a span that cuts a block takes its share. None when a block of
    the span is not known, or older than the blocks kept.

    >>> s = CustomerState("c")
    >>> for d in (280, 290, 341):
    ...     _count_season(s, d, StateParams()); s.days.append(d)
    >>> season_days(s, 280, 308), season_days(s, 280, 294), season_days(s, 308, 364)
    (2.0, 1.0, 1.0)
    >>> season_days(s, -280, -252) is None      # 22 blocks before the newest: not kept
    True
    """
    if not s.seasons or not s.days or end_day <= start_day:
        return None
    anchor = s.days[-1] // SEASON_BLOCK_DAYS
    total = 0.0
    block = start_day // SEASON_BLOCK_DAYS
    while block * SEASON_BLOCK_DAYS < end_day:
        k = anchor - block
        if k >= 0:       # blocks after the newest active day's hold none
            if k >= SEASON_BLOCKS or s.seasons[k] == _SEASON_UNKNOWN:
                return None
            lo = max(start_day, block * SEASON_BLOCK_DAYS)
            hi = min(end_day, (block + 1) * SEASON_BLOCK_DAYS)
            total += (ord(s.seasons[k]) - _SEASON_ZERO) * (hi - lo) / SEASON_BLOCK_DAYS
        block += 1
    return total


def _trim_days(s: CustomerState, oldest_day: int) -> None:
    k = bisect.bisect_left(s.days, oldest_day)
    if k:
        for lst in (s.days, s.logins, s.views, s.dwell, s.bounces):
            del lst[:k]


_MAX_RETURNS = 3   # pairs kept in `CustomerState.returned`


def _remember_return(returned: list[int], gap: int, day: int, oldest_day: int, min_days: int = 0) -> None:
    """Add a quiet spell of `gap` days that ended on `day` to `returned`, in place, if it
    lasted at least `min_days`; spells that ended before `oldest_day` leave it either way.

    `returned` holds [days, day of the return] pairs, oldest first, each longer than every
    later one: the longest spell that ended since `oldest_day` is the first pair, and when it
    leaves the memory the longest of the later ones is still there (a sliding maximum; a
    single pair lost last year's holiday once an older, longer spell expired). At most
    `_MAX_RETURNS` pairs: a spell shorter than that many later, longer ones is not kept.

    >>> r = []
    >>> for gap, day in [(30, 100), (5, 110), (20, 200), (3, 210)]:
    ...     _remember_return(r, gap, day, day - 400)
    >>> r
    [30, 100, 20, 200, 3, 210]
    >>> _remember_return(r, 2, 520, 120)     # the 30 days of day 100 have left the memory
    >>> r
    [20, 200, 3, 210, 2, 520]
    >>> _remember_return(r, 25, 530, 130)
    >>> r
    [25, 530]
    >>> _remember_return(r, 9, 990, 590, min_days=14)   # too short to keep; the 25 days have left
    >>> r
    []
    """
    while returned and returned[1] < oldest_day:
        del returned[:2]
    if gap < min_days:
        return
    while returned and returned[-2] <= gap:
        del returned[-2:]
    if len(returned) < 2 * _MAX_RETURNS:
        returned += (gap, day)


def _activity(s: CustomerState, t: int, p: StateParams) -> None:
    """Track last activity and the gaps between active days (the customer's rhythm)."""
    day = t // DAY
    if s.last_active_day >= 0 and day > s.last_active_day:
        gap = day - s.last_active_day
        s.gaps.append(gap)
        if len(s.gaps) > p.max_gaps:
            del s.gaps[: len(s.gaps) - p.max_gaps]
        _remember_return(s.returned, gap, day, day - p.return_memory_days, p.return_min_days)
    # An out-of-order event older than the last active day falls inside a gap already
    # recorded; splitting that gap would need every active day kept, so it is left whole.
    if day > s.last_active_day:
        s.last_active_day = day
    s.last_active = max(s.last_active, t)


def _order(s: CustomerState, t: int, event, p: StateParams) -> None:
    status = ORDER_STATUS[event.status]
    entry = [t, float(event.amount), event.currency, status, int(event.items), event.category]
    bisect.insort(s.orders, entry, key=lambda o: o[0])
    if len(s.orders) > p.max_orders:
        del s.orders[: len(s.orders) - p.max_orders]


def _complaint(s: CustomerState, t: int, event, status: int, p: StateParams) -> None:
    h = id_hash(event.complaint_id)
    for c in s.complaints:
        if c[0] == h:
            if t >= c[5]:  # an older update arriving late does not overwrite a newer one
                c[4] = status
                c[5] = t
            c[6] += status == ESCALATED
            c[7] += status == REOPENED
            c[3] = max(c[3], SEVERITY[event.severity])
            if t < c[1]:
                # a late event shows the complaint was open earlier than first seen: the
                # response deadline runs from the earlier time
                c[1] = t
                s.complaints.sort(key=lambda c: c[1])
            return
    # First sighting of this complaint, whatever its status: it was opened at `t` at the latest.
    s.complaints.append([h, t, event.category, SEVERITY[event.severity], status, t,
                         int(status == ESCALATED), int(status == REOPENED)])
    s.complaints.sort(key=lambda c: c[1])
    while len(s.complaints) > p.max_complaints:
        # evict the oldest resolved complaint first, else the oldest
        idx = next((i for i, c in enumerate(s.complaints) if c[4] == RESOLVED), 0)
        del s.complaints[idx]


# --------------------------------------------------------------------------- queries used by detectors


def placed_orders(s: CustomerState) -> list[list]:
    """Order events with status placed, ascending by time."""
    return [o for o in s.orders if o[3] == PLACED]


def window_sum(s: CustomerState, series: list[int], start_day: int, end_day: int) -> int:
    """Sum of a daily series over days in [start_day, end_day)."""
    i = bisect.bisect_left(s.days, start_day)
    j = bisect.bisect_left(s.days, end_day)
    return sum(series[i:j])


def active_days(s: CustomerState, start_day: int, end_day: int) -> int:
    """Days in [start_day, end_day) with any login or page view."""
    i = bisect.bisect_left(s.days, start_day)
    j = bisect.bisect_left(s.days, end_day)
    return sum(1 for k in range(i, j) if s.logins[k] or s.views[k])
