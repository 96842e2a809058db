"""Churnwatch event contracts (version 1): models, codec, errors.

Everything other packages need is importable from here, e.g.
``from schemas import Order, parse_event, InvalidEvent``.
"""

from schemas.errors import DEAD_LETTER_REASONS, ChurnwatchError, InvalidEvent
from schemas.events import *  # noqa: F403  (the public API is events.__all__)
from schemas.events import __all__ as _events_all

__all__ = ["DEAD_LETTER_REASONS", "ChurnwatchError", "InvalidEvent", *_events_all]
