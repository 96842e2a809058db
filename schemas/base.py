"""Field types and the base class shared by the event contracts.

Each type is a pydantic ``Annotated`` type: the constraint is written once and drives both
validation and the generated JSON Schema, so the Python check and the published schema
cannot disagree.

Times are the subtle part. pydantic's own datetime parser is generous: it reads
``"1700000000"`` as a Unix time, and accepts ``2024-05-01T12:00Z`` (no seconds) and
``+0200`` (no colon). None of those are RFC 3339, and a consumer in another language would
reject them, so :data:`UtcDatetime` matches the text against :data:`RFC3339_PATTERN` (also
published in the JSON Schema), parses it with ``datetime.fromisoformat`` and normalises it
to UTC. A naive timestamp is refused rather than guessed to be UTC.

Example:
    >>> from pydantic import TypeAdapter
    >>> TypeAdapter(UtcDatetime).validate_python("2024-05-01T14:00:00+02:00")
    datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, WrapValidator
from pydantic_core import PydanticCustomError

#: The schema version every contract in this module set describes.
SCHEMA_VERSION = 1

#: RFC 3339 ``date-time`` with a mandatory offset (``Z`` or ``+hh:mm``), as a regex.
RFC3339_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
_RFC3339 = re.compile(RFC3339_PATTERN)
_RFC3339_NAIVE = re.compile(RFC3339_PATTERN.split("([Zz]")[0] + "$")

#: Text used in error messages wherever a timestamp is expected.
TIMESTAMP_EXPECTED = "an RFC 3339 timestamp with a UTC offset, e.g. 2024-05-01T12:00:00Z"
_NO_OFFSET = TIMESTAMP_EXPECTED + " (this one has no offset)"

#: ISO 4217 alphabetic code: three uppercase letters.
CURRENCY_PATTERN = r"^[A-Z]{3}$"


def _parse_utc(value: Any, _handler: Any) -> datetime:
    # Replaces pydantic's datetime parser, which is generous (see the module docstring); a
    # before-validator in front of it would break strict JSON parsing. A wrap validator
    # that never calls its handler keeps pydantic's datetime serializer (Z-suffixed UTC).
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise PydanticCustomError("timezone_aware", "expected {expected}", {"expected": _NO_OFFSET})
        try:
            return value.astimezone(timezone.utc)
        except OverflowError:
            raise PydanticCustomError("rfc3339", "expected {expected}",
                                      {"expected": f"{TIMESTAMP_EXPECTED} (in UTC it is outside years 1-9999)"}) from None
    if not isinstance(value, str):
        raise PydanticCustomError("rfc3339", "expected {expected}", {"expected": TIMESTAMP_EXPECTED})
    if _RFC3339.match(value) is None:
        expected = _NO_OFFSET if _RFC3339_NAIVE.match(value) else TIMESTAMP_EXPECTED
        raise PydanticCustomError("rfc3339", "expected {expected}", {"expected": expected})
    try:
        return rfc3339_to_utc(value)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise PydanticCustomError(
            "rfc3339", "expected {expected}", {"expected": f"{TIMESTAMP_EXPECTED} (in UTC it is outside years 1-9999)"}
        ) from None
    except ValueError as e:  # well-formed but impossible: 2024-02-30, 25:00, offset +24:00
        raise PydanticCustomError(
            "rfc3339", "expected {expected}", {"expected": f"{TIMESTAMP_EXPECTED} ({e})"}
        ) from None


def rfc3339_to_utc(value: str) -> datetime:
    """The instant of an RFC 3339 timestamp (one the contracts accept), in UTC.

    A leap second (``23:59:60``, which RFC 3339 and the JSON Schema ``date-time`` format
    allow) is read as the second before it, as java.time does: Python's datetime has no
    second 60, and the instant is one second off at most.

    Example:
        >>> rfc3339_to_utc("2024-05-01t14:00:00+02:00").isoformat()
        '2024-05-01T12:00:00+00:00'
        >>> rfc3339_to_utc("2016-12-31T23:59:60.5Z").isoformat()
        '2016-12-31T23:59:59.500000+00:00'
    """
    # upper(): RFC 3339 allows "t" and "z", datetime.fromisoformat does not.
    text = value.upper()
    if text[17:19] == "60":
        text = text[:17] + "59" + text[19:]
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def _require_schema_version(value: int) -> int:
    if value != SCHEMA_VERSION:
        raise PydanticCustomError(
            "schema_version",
            "expected {expected}",
            {"expected": f"{SCHEMA_VERSION} (the only schema_version this release reads)"},
        )
    return value


#: Timezone-aware instant, given as RFC 3339 text with an offset; always held in UTC.
UtcDatetime = Annotated[
    datetime,
    WrapValidator(_parse_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": RFC3339_PATTERN}),
]

#: Identifier: 1 to 128 characters.
Id = Annotated[str, Field(min_length=1, max_length=128)]

#: Finite number from 0 to 1 (risk, strength).
UnitInterval = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]

#: Finite number >= 0 (amounts, durations).
NonNegativeFinite = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]

#: Any finite number.
Finite = Annotated[float, Field(allow_inf_nan=False)]

#: ISO 4217 currency code.
Currency = Annotated[str, Field(pattern=CURRENCY_PATTERN)]

#: Contract version; only :data:`SCHEMA_VERSION` is accepted.
SchemaVersion = Annotated[
    int,
    AfterValidator(_require_schema_version),
    WithJsonSchema({"type": "integer", "const": SCHEMA_VERSION}),
]


class Contract(BaseModel):
    """Base of every contract: frozen, unknown fields ignored, versioned.

    Unknown fields are ignored rather than refused so that a producer on a newer minor
    release (which may add optional fields within version 1) does not break older readers.
    Python construction is lax (``Order(amount=5)`` stores ``5.0``); the wire is strict,
    see :func:`schemas.events.parse_event`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: Default Kafka topic of this contract.
    default_topic: ClassVar[str] = ""
    #: Field the Kafka key must equal, or ``None`` when the key is not checked.
    key_field: ClassVar[str | None] = None

    schema_version: SchemaVersion = Field(
        default=SCHEMA_VERSION,
        description=(
            f"Contract version. Only {SCHEMA_VERSION} exists; within a version only optional "
            "fields are added, so readers must ignore fields they do not know."
        ),
    )
