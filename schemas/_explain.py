"""Turn a pydantic ``ValidationError`` into an :class:`InvalidEvent` a person can act on.

Messages read ``<field>: expected <rule>, got <value>``. The rule text is derived from the
model's JSON Schema, the same document other teams validate against, so the message
always states the published rule (``amount: expected a finite number from 0 to 10^15, got -5``).
Everything here runs only on the error path; the happy path never touches it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.base import CURRENCY_PATTERN, RFC3339_PATTERN, TIMESTAMP_EXPECTED
from schemas.errors import InvalidEvent

_MAX_SHOWN = 80  # characters of an offending value quoted in a message

_PATTERN_WORDS = {
    CURRENCY_PATTERN: "an ISO 4217 currency code (3 uppercase letters), e.g. EUR",
    RFC3339_PATTERN: TIMESTAMP_EXPECTED,
}


def show(value: Any) -> str:
    """Render a value as it looked in the JSON, shortened.

    Example:
        >>> show(-5), show("5"), show(True), show(None), show(float("nan")), show([1, 2])
        ('-5', '"5"', 'true', 'null', 'NaN', 'an array')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "..."
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"' + (
            f" ({len(value)} characters)" if len(value) > _MAX_SHOWN else ""
        )
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return type(value).__name__


def _number_rule(schema: dict[str, Any], noun: str) -> str:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None:
        return f"{noun} from {_num(low)} to {_num(high)}"
    if low is not None:
        return f"{noun} {'>' if 'exclusiveMinimum' in schema else '>='} {_num(low)}"
    if high is not None:
        return f"{noun} {'<' if 'exclusiveMaximum' in schema else '<='} {_num(high)}"
    return noun


def _num(x: float) -> str:
    """A bound as a person reads it: ``86400``, ``0.5``, ``10^15`` (a power of ten past a million).

    >>> _num(86400.0), _num(0.5), _num(1e15), _num(10**9)
    ('86400', '0.5', '10^15', '10^9')
    """
    if float(x).is_integer():
        n = int(x)
        if n > 10**6 and str(n).rstrip("0") == "1":
            return f"10^{len(str(n)) - 1}"
        return str(n)
    return str(x)


def describe(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """State a JSON Schema rule in words.

    Example:
        >>> describe({"type": "number", "minimum": 0}, {})
        'a finite number >= 0'
        >>> describe({"anyOf": [{"type": "string", "minLength": 1, "maxLength": 128}, {"type": "null"}]}, {})
        'a string of 1 to 128 characters or null'
        >>> describe({"enum": ["web", "app"]}, {})
        "one of 'web', 'app'"
    """
    if "$ref" in schema:
        return describe(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        nullable = len(options) < len(schema["anyOf"])
        text = " or ".join(describe(s, defs) for s in options)
        return text + " or null" if nullable else text
    if "const" in schema:
        return show(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "number":
        return _number_rule(schema, "a finite number")
    if kind == "integer":
        return _number_rule(schema, "a whole number")
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        return "an array"
    if kind == "object" or "properties" in schema:
        return "an object"
    if kind == "string":
        if "pattern" in schema:
            return _PATTERN_WORDS.get(schema["pattern"], f"a string matching {schema['pattern']}")
        low, high = schema.get("minLength"), schema.get("maxLength")
        if low is not None and high is not None:
            return f"a string of {low} to {high} characters"
        if high is not None:
            return f"a string of at most {high} characters"
        if low:
            return "a non-empty string" if low == 1 else f"a string of at least {low} characters"
        return "a string"
    return "a valid value"


@lru_cache(maxsize=None)
def _json_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


def _field_schema(model: type[BaseModel], loc: tuple[int | str, ...]) -> dict[str, Any] | None:
    root = _json_schema(model)
    defs = root.get("$defs", {})
    node: dict[str, Any] = root
    for part in loc:
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        if isinstance(part, int):
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            return None
    return node


def explain(model: type[BaseModel], error: ValidationError) -> InvalidEvent:
    """Convert the first error of a failed validation into an :class:`InvalidEvent`.

    Example:
        >>> from schemas.events import Order
        >>> try:
        ...     Order.model_validate_json(b'{"amount": -5}', strict=True)
        ... except ValidationError as e:
        ...     print(explain(Order, e).message)
        event_id: required field is missing
    """
    first = error.errors(include_url=False)[0]
    kind, loc = first["type"], tuple(first["loc"])
    value = first.get("input")
    if kind == "json_invalid":
        return InvalidEvent("malformed_json", None, _json_problem(value, first.get("ctx", {}).get("error", "")))
    if not loc:
        # The whole document is the wrong shape (an array, null, a bare string).
        return InvalidEvent("malformed_json", None, f"expected a JSON object, got {_shape(value)}")
    path = ".".join(str(p) for p in loc)
    if kind == "missing":
        return InvalidEvent("schema_violation", path, f"{path}: required field is missing")
    ctx = first.get("ctx") or {}
    if "expected" in ctx and kind not in _BUILTIN_WITH_EXPECTED:
        expected = str(ctx["expected"])
    else:
        schema = _field_schema(model, loc)
        expected = describe(schema, _json_schema(model).get("$defs", {})) if schema else first["msg"]
    return InvalidEvent("schema_violation", path, f"{path}: expected {expected}, got {show(value)}")


# pydantic's own errors that also carry an "expected" entry in ctx (literal_error, enum):
# for those the JSON Schema wording is used instead, so every enum reads the same way.
_BUILTIN_WITH_EXPECTED = frozenset({"literal_error", "enum"})


def _shape(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def _json_problem(payload: Any, detail: str) -> str:
    if isinstance(payload, (bytes, bytearray)):
        try:
            bytes(payload).decode("utf-8")
        except UnicodeDecodeError as e:
            return f"expected UTF-8 JSON, got a byte that is not UTF-8 at position {e.start}"
    if not payload:
        return "expected a JSON object, got an empty message"
    return f"expected a JSON object, got text that is not JSON ({detail})"
