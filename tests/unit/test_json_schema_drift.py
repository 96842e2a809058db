"""The committed JSON Schemas match the models, and fixtures are judged the same by both.

Other teams validate with the files in ``schemas/json/`` and never run our Python, so a
fixture must be accepted (or refused) identically by ``jsonschema`` and by ``parse_event``.

Fixture naming: ``<contract>.json`` is a valid example; ``<contract>.invalid-<what>.json`` is
a payload both validators must refuse, listed in ``INVALID_FIXTURE_FIELD`` with the field
``parse_event`` blames.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from schemas import InvalidEvent, parse_event
from schemas.generate import CONTRACTS, SCHEMA_DIR, write_all

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
VALID_FIXTURES = [p for p in FIXTURE_FILES if ".invalid-" not in p.name]
INVALID_FIXTURES = [p for p in FIXTURE_FILES if ".invalid-" in p.name]

INVALID_FIXTURE_FIELD = {
    "churn-warning.invalid-unknown-signal-kind.json": "signals.0.kind",
    "clock-tick.invalid-negative-partition.json": "partition",
    "complaint.invalid-unknown-severity.json": "severity",
    "dead-letter.invalid-unknown-reason.json": "reason",
    "login.invalid-naive-timestamp.json": "occurred_at",
    "login.invalid-success-as-string.json": "success",
    "market-event.invalid-strength-above-one.json": "strength",
    "order.invalid-amount-as-string.json": "amount",
    "order.invalid-lowercase-currency.json": "currency",
    "order.invalid-nan-amount.json": "amount",
    "order.invalid-negative-amount.json": "amount",
    "order.invalid-schema-version-2.json": "schema_version",
    "page-view.invalid-missing-page.json": "page",
}


def contract_of(path: Path) -> str:
    name = path.name.split(".")[0]
    assert name in CONTRACTS, f"fixture {path.name}: name must start with a contract name, one of {sorted(CONTRACTS)}"
    return name


def committed_validator(contract: str) -> jsonschema.Validator:
    schema = json.loads((SCHEMA_DIR / f"{contract}.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _refuse_non_json_constant(name: str) -> Any:
    # RFC 8259 JSON has no NaN/Infinity; Python's json module reads them anyway.
    raise ValueError(f"{name} is not JSON")


def jsonschema_errors(path: Path) -> list[str]:
    """What a non-Python consumer would say: strict RFC 8259 parse, then the committed schema."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse_non_json_constant)
    except ValueError as e:
        return [f"not JSON: {e}"]
    return [e.message for e in committed_validator(contract_of(path)).iter_errors(document)]


def test_committed_json_schemas_match_the_models(tmp_path: Path) -> None:
    write_all(tmp_path)
    generated = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.schema.json")}
    committed = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.schema.json")}
    stale = sorted(name for name in set(generated) | set(committed) if generated.get(name) != committed.get(name))
    assert not stale, f"schemas/json/ is out of date for {stale}: run `make schemas` and commit the result"


def test_every_contract_has_a_valid_fixture() -> None:
    assert {contract_of(p) for p in VALID_FIXTURES} == set(CONTRACTS)


def test_every_invalid_fixture_states_the_field_it_breaks() -> None:
    assert sorted(p.name for p in INVALID_FIXTURES) == sorted(INVALID_FIXTURE_FIELD)


@pytest.mark.parametrize("path", VALID_FIXTURES, ids=lambda p: p.name)
def test_valid_fixture_passes_the_committed_json_schema_and_parse_event(path: Path) -> None:
    assert jsonschema_errors(path) == []
    event = parse_event(CONTRACTS[contract_of(path)], path.read_bytes())
    assert event.schema_version == 1


@pytest.mark.parametrize("path", INVALID_FIXTURES, ids=lambda p: p.name)
def test_invalid_fixture_is_refused_by_the_committed_json_schema_and_parse_event(path: Path) -> None:
    assert jsonschema_errors(path), f"{path.name} passed the JSON Schema"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(CONTRACTS[contract_of(path)], path.read_bytes())
    assert (caught.value.reason, caught.value.field) == ("schema_violation", INVALID_FIXTURE_FIELD[path.name])


@pytest.mark.parametrize("contract", list(CONTRACTS))
def test_schema_files_state_id_title_description_and_required_fields(contract: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{contract}.schema.json").read_text(encoding="utf-8"))
    assert schema["$id"] == f"urn:churnwatch:schema:v1:{contract}"
    assert schema["title"] == CONTRACTS[contract].__name__
    assert schema["description"]
    assert all(prop.get("description") for prop in schema["properties"].values())
    required = {name for name, f in CONTRACTS[contract].model_fields.items() if f.is_required()}
    assert set(schema["required"]) == required
