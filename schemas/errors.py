"""Errors shared by every Churnwatch package.

All exceptions the project raises on purpose derive from :class:`ChurnwatchError`, so a
caller can tell "Churnwatch refused this" apart from a bug in a library.

:class:`InvalidEvent` is what decoding raises for a message that cannot be processed. Its
``reason`` is one of :data:`DEAD_LETTER_REASONS`: the same short, fixed list is the
``reason`` field of a dead letter and the ``reason`` label of the dead-letter counter, so
dashboards and alerts can rely on it.

Example:
    >>> err = InvalidEvent("schema_violation", "amount", "amount: expected a finite number >= 0, got -5")
    >>> err.reason, err.field
    ('schema_violation', 'amount')
    >>> str(err)
    'amount: expected a finite number >= 0, got -5'
"""

from __future__ import annotations

from typing import Literal, get_args

DeadLetterReason = Literal[
    "malformed_json",  # not UTF-8, not JSON, or not a JSON object
    "schema_violation",  # valid JSON that breaks the event contract
    "oversize",  # larger than the size limit; never parsed
    "key_mismatch",  # Kafka key differs from the event's key field
    "late_event",  # older than the partition's stream time minus the lateness allowance
    "future_event",  # live: further ahead of the worker's clock than the future allowance
    "processing_error",  # a valid event whose processing raised
]

#: Every reason a message can be dead-lettered for. Metrics use these as label values.
DEAD_LETTER_REASONS: tuple[str, ...] = get_args(DeadLetterReason)


class ChurnwatchError(Exception):
    """Base of every exception Churnwatch raises on purpose."""


class InvalidEvent(ChurnwatchError):
    """A message that cannot be processed, with the reason it will be dead-lettered for.

    Parameters:
        reason: one of :data:`DEAD_LETTER_REASONS`.
        field: dotted path of the offending field (``"signals.0.kind"``), or ``None``
            when the problem is the message as a whole (not JSON, too large).
        message: what was expected and what arrived, for a person reading the dead letter.

    Example:
        >>> InvalidEvent("oversize", None, "payload is 70000 bytes, expected at most 65536")
        InvalidEvent(reason='oversize', field=None, message='payload is 70000 bytes, expected at most 65536')
        >>> InvalidEvent("typo", None, "x")
        Traceback (most recent call last):
        ...
        ValueError: InvalidEvent reason 'typo' is not one of ('malformed_json', 'schema_violation', 'oversize', 'key_mismatch', 'late_event', 'future_event', 'processing_error')
    """

    def __init__(self, reason: str, field: str | None, message: str) -> None:
        if reason not in DEAD_LETTER_REASONS:
            # A reason outside the fixed list would create a new metric label value and a
            # dead letter that fails its own schema: refuse it where it is made.
            raise ValueError(f"InvalidEvent reason {reason!r} is not one of {DEAD_LETTER_REASONS}")
        # Passing all three to Exception keeps the error picklable (args round-trip).
        super().__init__(reason, field, message)
        self.reason = reason
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"InvalidEvent(reason={self.reason!r}, field={self.field!r}, message={self.message!r})"
