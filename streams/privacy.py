"""Pseudonymous customer ids on the warning topic.

Warnings carry no personal data beyond the customer id. Where even that id must not leave
the processing cluster in clear (a warning topic read by other teams, an alerting tool
hosted elsewhere), set ``CHURNWATCH_PSEUDONYMISE_KEY`` (or ``..._KEY_FILE`` for a mounted
Kubernetes Secret): every warning the worker emits then carries, as its ``customer_id``
and Kafka key, a keyed hash of the id instead of the id.

Why a keyed hash (HMAC-SHA256) and not a plain hash: customer ids are usually guessable
(sequential numbers, e-mail addresses), so anyone could hash candidates and match them
against an unkeyed hash; without the key they cannot. The same key always gives the same
pseudonym, so consumers can still group, de-duplicate and count warnings per customer, and
whoever holds the key (the CRM team acting on a warning) can map a customer to their
pseudonym. Rotating the key changes every pseudonym.

What is pseudonymised and what is not:

* the ``churn-warnings`` topic (key and ``customer_id``): yes;
* state, changelogs, the dead-letter topic and ``churnwatch snapshot``: no. They stay
  inside the processing cluster, and the dead-letter topic must keep the offending record
  as it came so it can be fixed and replayed;
* ``warning_id`` is already an opaque hash and is left as it is, so a warning keeps its id
  whether or not pseudonyms are on.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

import orjson

from streams.settings import Secret, Settings, SettingsError, env_name

#: Pseudonyms start with this, so a reader can tell a pseudonym from a clear id.
PREFIX = "p-"

#: Hex digits of the HMAC kept: 128 bits, far beyond any customer base's birthday bound.
DIGITS = 32


@dataclass(frozen=True)
class Pseudonymiser:
    """Replace customer ids by a keyed hash.

    Example:
        >>> p = Pseudonymiser(Secret("k"))
        >>> p.customer("c000001")
        'p-940144a27278ab34d74a95abba1a9295'
        >>> p.customer("c000001") == p.customer("c000001") != p.customer("c000002")
        True
        >>> repr(p)
        "Pseudonymiser(key=Secret('***'))"
    """

    key: Secret

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a pseudonymisation key must not be empty")

    def customer(self, customer_id: str) -> str:
        """The pseudonym of `customer_id`."""
        digest = hmac.new(self.key.reveal().encode("utf-8"), customer_id.encode("utf-8"), hashlib.sha256)
        return PREFIX + digest.hexdigest()[:DIGITS]

    def warning(self, value: bytes) -> tuple[bytes, bytes]:
        """A serialised warning with its customer id replaced: (new Kafka key, new value).

        Example:
            >>> p = Pseudonymiser(Secret("k"))
            >>> key, value = p.warning(b'{"warning_id":"w1","customer_id":"c000001","level":"watch"}')
            >>> key == p.customer("c000001").encode(), orjson.loads(value)["customer_id"] == key.decode()
            (True, True)
        """
        warning = orjson.loads(value)
        pseudonym = self.customer(warning["customer_id"])
        warning["customer_id"] = pseudonym
        return pseudonym.encode("utf-8"), orjson.dumps(warning)


def pseudonymiser(settings: Settings) -> Pseudonymiser | None:
    """The pseudonymiser the settings ask for, or None when warnings carry clear ids.

    The key comes from ``CHURNWATCH_PSEUDONYMISE_KEY`` or from the file named by
    ``CHURNWATCH_PSEUDONYMISE_KEY_FILE`` (read once; one trailing newline ignored).

    Example:
        >>> pseudonymiser(Settings()) is None
        True
        >>> pseudonymiser(Settings(pseudonymise_key=Secret("k"))).customer("c1")[:2]
        'p-'
    """
    path = settings.pseudonymise_key_file
    if path is None:
        return Pseudonymiser(settings.pseudonymise_key) if settings.pseudonymise_key else None
    variable = f"{env_name('pseudonymise_key_file')}={str(path)!r}"
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        raise SettingsError(
            f"{variable}: cannot read it ({error.strerror or type(error).__name__}); expected a readable file "
            "holding the pseudonymisation key"
        ) from None
    except UnicodeDecodeError:
        raise SettingsError(f"{variable}: expected UTF-8 text") from None
    text = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    if not text:
        raise SettingsError(f"{variable}: the file is empty; expected the pseudonymisation key")
    return Pseudonymiser(Secret(text))
