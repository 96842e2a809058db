"""Write the JSON Schema of every contract into ``schemas/json/``.

Run ``make schemas`` (``python -m schemas.generate``) after changing a model and commit the
result; a test fails when the committed files differ from what the models generate.
Output is deterministic: sorted keys, two-space indent, trailing newline.

Besides standard JSON Schema (draft 2020-12), each file carries ``x-topic`` (default
topic), ``x-key`` (the field the Kafka key equals, when keyed by a field) and, for input
events, ``x-replay-type`` (the ``type`` of a replay record).

Example:
    >>> schema = contract_schema("order")
    >>> schema["$id"], schema["x-topic"], schema["x-key"]
    ('urn:churnwatch:schema:v1:order', 'orders', 'customer_id')
    >>> schema["properties"]["currency"]["pattern"]
    '^[A-Z]{3}$'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.base import SCHEMA_VERSION
from schemas.events import (
    TYPE_OF_MODEL,
    ChurnWarning,
    ClockTick,
    Complaint,
    DeadLetter,
    Login,
    MarketEvent,
    Order,
    PageView,
)

#: Schema file stem -> contract model. The file is ``<stem>.schema.json``.
CONTRACTS: dict[str, type[BaseModel]] = {
    "login": Login,
    "page-view": PageView,
    "order": Order,
    "complaint": Complaint,
    "market-event": MarketEvent,
    "churn-warning": ChurnWarning,
    "dead-letter": DeadLetter,
    "clock-tick": ClockTick,
}

#: Where the committed schema files live.
SCHEMA_DIR = Path(__file__).parent / "json"

_SUFFIX = ".schema.json"


def contract_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one contract, as a dict.

    Parameters:
        name: a key of :data:`CONTRACTS`, e.g. ``"churn-warning"``.

    Example:
        >>> contract_schema("login")["required"]
        ['event_id', 'customer_id', 'occurred_at', 'channel']
    """
    model = CONTRACTS[name]
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:churnwatch:schema:v{SCHEMA_VERSION}:{name}",
        **model.model_json_schema(mode="validation"),
    }
    schema["title"] = model.__name__
    topic = getattr(model, "default_topic", "")
    if topic:
        schema["x-topic"] = topic
    key = getattr(model, "key_field", None)
    if key:
        schema["x-key"] = key
    if model in TYPE_OF_MODEL:
        schema["x-replay-type"] = TYPE_OF_MODEL[model]
    return schema


def render(name: str) -> str:
    """The text of ``<name>.schema.json``: sorted keys, two-space indent, trailing newline.

    Example:
        >>> render("clock-tick").endswith("}\\n")
        True
    """
    return json.dumps(contract_schema(name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every contract's schema into ``directory``; remove schema files of contracts that no longer exist.

    Returns the written paths, in :data:`CONTRACTS` order.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     [p.name for p in write_all(Path(d))][:2]
        ['login.schema.json', 'page-view.schema.json']
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in CONTRACTS:
        path = directory / f"{name}{_SUFFIX}"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    for stale in sorted(set(directory.glob(f"*{_SUFFIX}")) - set(written)):
        stale.unlink()
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m schemas.generate [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m schemas.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=SCHEMA_DIR, help=f"output directory (default: {SCHEMA_DIR})")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(path)


if __name__ == "__main__":
    main()
