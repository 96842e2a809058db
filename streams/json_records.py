"""Analytics and ticket-tool exports in JSON, read as the tables the converters read.

Product-analytics tools export events as JSON, one object a line (Mixpanel's raw export,
Amplitude's export, Segment's and PostHog's event archives, GA4's BigQuery export as JSON),
and ticket tools' APIs answer with JSON objects (Zendesk, Intercom). The values a converter
needs sit at different depths in each: Mixpanel keeps the time and the user under
``properties``, Segment keeps the page under ``context.page``, GA4 keeps it in
``event_params``, a list of ``{"key": ..., "value": {"string_value": ...}}``.

:func:`json_to_csv` writes such a file as a CSV with one column per path (``properties.time``,
``event_params.page_location``) and one row per record, and says which column plays which
role. Roles are matched by the converter's aliases (:func:`streams.convert.match_aliases`)
against the last key of each path with a leading ``$`` left out (Mixpanel's and PostHog's
``$current_url`` is a ``current_url``), level by level: a top-level key wins over a nested
one, so an event's own ``type`` or ``event_type`` is never taken from a custom property of
the same name. The converters then read the CSV as any other export.

Shapes read:

* JSON lines (``.jsonl``, ``.json``, ``.ndjson``, each optionally ``.gz``): one object a line;
  blank lines are left out; a line that is not a JSON object is a row skipped as ``bad_json``
  with its line number (``--strict`` stops there).
* One JSON array of objects, or an object holding one (``{"tickets": [...]}``, Zendesk's and
  most APIs' pages).
* Nested objects become paths; a list of scalars (``"tags": ["a", "b"]``, HubSpot's associated
  ids) is one cell joined by ``;``; GA4's key-value lists become one path a key; other lists
  are left out.
* A zip archive of JSON files (Amplitude's export API: one ``.json.gz`` an hour) is read as
  one JSON-lines file of its members in name order (:func:`unpack_zip`); a zip of one other
  file (a zipped CSV) as that file.
* A Segment ``track`` record's kind is its ``event`` name (``"Signed In"``), as its ``page`` and
  ``screen`` records are page views.
* Payment APIs give amounts in the currency's minor unit: Stripe's charges, payment intents,
  invoices and checkout sessions (``"amount": 2999, "currency": "usd"`` is 29.99 USD) and
  Square's money objects (``"total_money": {"amount": 2999, "currency": "USD"}``). Such
  amounts are written in whole units (:func:`major_units`): hundredths for most
  currencies, none for the zero-decimal ones (JPY, KRW, ...), thousandths for BHD, JOD,
  KWD, OMR and TND, as Stripe documents them. Other JSON amounts are read as written. A
  Stripe charge refunded in full (``"refunded": true``) is a return; an expired checkout
  session (never paid) is no order.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from streams.convert import EXAMPLES_KEPT, ConvertError, _open_csv, match_aliases

#: How deep nested objects are followed (GA4's ``device.web_info.browser`` is level 2).
MAX_DEPTH = 4
#: The value fields of a GA4 ``event_params`` entry, in the order they are read.
_GA4_VALUES = ("string_value", "int_value", "float_value", "double_value")
#: Currencies whose minor unit is the whole unit (Stripe's zero-decimal currencies; ISK,
#: HUF and TWD stay in hundredths in Stripe's API) and those counted in thousandths.
_ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
_THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
#: Stripe objects that are payments or orders (their ``object`` field); their top-level
#: amounts (``amount``, ``amount_paid``, ``amount_total``, ``total``, ...) are minor units.
_STRIPE_PAYMENTS = frozenset(("charge", "payment_intent", "invoice", "checkout.session"))
_STRIPE_TOTALS = frozenset(("total", "subtotal", "tax", "total_excluding_tax", "subtotal_excluding_tax"))


@dataclass
class JsonTable:
    """What :func:`json_to_csv` wrote: the columns (paths), the roles it matched, the shape
    read, and the records that were not JSON objects (line or record number, reason)."""

    columns: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)     # role -> column (path)
    shape: str = "lines"                                    # "lines" or "array"
    records: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


def sniff_json(path: Path, encoding: str, aliases: Mapping[str, tuple[str, ...]]) -> str | None:
    """``"lines"`` (one object a line) or ``"array"`` (one array of objects, or one object
    holding them: an API's page) when the file's first non-blank character opens a JSON object
    or array, else None (a CSV or text export). A file of one object is a page when its own
    keys name no time (``{"tickets": [...], "count": 2}``), else one record."""
    try:
        with _open_csv(path, encoding) as f:
            head = f.read(1)
            while head and head in "\ufeff \t\r\n":
                head = f.read(1)
            if head != "{":
                return "array" if head == "[" else None
            first = head + f.readline()      # the whole first line, however long
            try:
                record = json.loads(first)
            except ValueError:
                return "array"     # a pretty-printed object
            rest = f.read(4096).strip()
    except (OSError, UnicodeDecodeError, EOFError):
        return None
    if not rest and isinstance(record, Mapping):
        roles: dict[str, int] = {}
        scalars = [k for k, v in record.items() if not isinstance(v, (Mapping, list))]
        match_aliases([k.lstrip("$") for k in scalars], {"date": aliases["date"]}, roles)
        if not roles and any(isinstance(v, list) and v and isinstance(v[0], Mapping) for v in record.values()):
            return "array"
    return "lines"


def _leaf(path: str) -> str:
    """The key a role is matched by: the last key of the path, ``$`` left out."""
    return path.rsplit(".", 1)[-1].lstrip("$")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        return str(int(value))
    return str(value).replace("\r", " ").replace("\n", " ")


def major_units(amount: int, currency: str) -> str:
    """An amount in a currency's minor unit, as text in whole units.

    >>> major_units(2999, "usd"), major_units(3000, "JPY"), major_units(12345, "kwd"), major_units(-50, "EUR")
    ('29.99', '3000', '12.345', '-0.50')
    """
    code = currency.strip().upper()
    digits = 0 if code in _ZERO_DECIMAL else 3 if code in _THREE_DECIMAL else 2
    return str(Decimal(amount).scaleb(-digits))


def _minor(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def flatten(record: Mapping[str, Any]) -> dict[str, str]:
    """A JSON record as path -> cell text.

    Example:
        >>> flatten({"event": "$mp_web_page_view", "properties": {"time": 1709280000, "distinct_id": "u1",
        ...          "$current_url": "https://shop.example/a", "tags": ["x", "y"]}})
        {'event': '$mp_web_page_view', 'properties.time': '1709280000', 'properties.distinct_id': 'u1', 'properties.$current_url': 'https://shop.example/a', 'properties.tags': 'x;y'}
        >>> flatten({"event_name": "page_view", "event_params": [
        ...     {"key": "page_location", "value": {"string_value": "https://shop.example/b"}},
        ...     {"key": "ga_session_id", "value": {"int_value": 1709280000}}]})
        {'event_name': 'page_view', 'event_params.page_location': 'https://shop.example/b', 'event_params.ga_session_id': '1709280000'}
        >>> flatten({"type": "track", "event": "Signed In", "userId": "u2"})["type"]
        'Signed In'

        Payment APIs' minor units (Stripe's charge, Square's money objects):

        >>> charge = flatten({"id": "ch_1", "object": "charge", "amount": 2999, "amount_refunded": 0,
        ...                   "currency": "usd", "customer": "cus_9", "created": 1709280000})
        >>> charge["amount"], charge["amount_refunded"], charge["created"]
        ('29.99', '0.00', '1709280000')
        >>> flatten({"object": "charge", "amount": 500, "currency": "eur", "status": "succeeded", "refunded": True})["status"]
        'refunded'
        >>> flatten({"id": "o1", "total_money": {"amount": 1050, "currency": "USD"}})["total_money.amount"]
        '10.50'
    """
    out: dict[str, str] = {}
    currency = record.get("currency")
    kind = record.get("object")
    stripe = isinstance(kind, str) and kind in _STRIPE_PAYMENTS and isinstance(currency, str)

    def walk(obj: Mapping[str, Any], prefix: str, depth: int) -> None:
        for key, value in obj.items():
            path = f"{prefix}{key}"
            if isinstance(value, Mapping):
                if (key.endswith("_money") and _minor(value.get("amount"))         # Square
                        and isinstance(value.get("currency"), str)):
                    out[f"{path}.amount"] = major_units(value["amount"], value["currency"])
                    out[f"{path}.currency"] = _cell(value["currency"])
                elif depth < MAX_DEPTH:
                    walk(value, f"{path}.", depth + 1)
            elif isinstance(value, list):
                if value and all(isinstance(v, Mapping) and "key" in v and "value" in v for v in value):
                    for entry in value:     # GA4's key-value lists
                        inner = entry["value"]
                        if isinstance(inner, Mapping):
                            inner = next((inner[k] for k in _GA4_VALUES if inner.get(k) is not None), None)
                        if not isinstance(inner, (Mapping, list)):
                            out[f"{path}.{entry['key']}"] = _cell(inner)
                elif all(not isinstance(v, (Mapping, list)) for v in value):
                    out[path] = ";".join(_cell(v) for v in value if v is not None)
            elif stripe and depth == 0 and _minor(value) and (
                    key.startswith("amount") or key.endswith("amount") or key in _STRIPE_TOTALS):
                out[path] = major_units(value, currency)
            else:
                out[path] = _cell(value)

    walk(record, "", 0)
    if stripe and record.get("refunded") is True:     # a charge refunded in full is a return
        out["status"] = "refunded"
    elif stripe and record.get("object") == "checkout.session" and record.get("status") == "expired":
        out["status"] = "abandoned"                   # a checkout never paid: no order at all
    if record.get("type") == "track" and isinstance(record.get("event"), str):    # Segment
        out["type"] = record["event"]
    return out


def _records(path: Path, encoding: str, shape: str, table: JsonTable) -> Iterator[tuple[int, Mapping[str, Any] | None]]:
    """(line or record number, the record, or None for a line that is not a JSON object)."""
    with _open_csv(path, encoding) as f:
        if shape == "lines":
            for number, line in enumerate(f, start=1):
                text = line.strip().lstrip("\ufeff")
                if not text:
                    yield number, None
                    continue
                try:
                    value = json.loads(text)
                except ValueError as exc:
                    table.bad.append((number, f"not JSON ({exc.msg} at column {exc.colno})"))
                    yield number, None
                    continue
                if not isinstance(value, Mapping):
                    table.bad.append((number, f"a JSON {type(value).__name__}, expected an object"))
                    yield number, None
                    continue
                yield number, value
            return
        try:
            document = json.load(f)
        except ValueError as exc:
            raise ConvertError(f"{path}: not a readable JSON document ({exc})") from None
    if isinstance(document, Mapping):
        lists = [v for v in document.values() if isinstance(v, list) and v and isinstance(v[0], Mapping)]
        if len(lists) != 1:
            raise ConvertError(f"{path}: a JSON object that holds no single list of records (keys: "
                               f"{', '.join(list(document)[:12])}); expected one object a line or an array")
        document = lists[0]
    for number, value in enumerate(document, start=1):
        if isinstance(value, Mapping):
            yield number, value
        else:
            table.bad.append((number, f"a JSON {type(value).__name__}, expected an object"))
            yield number, None


def match_roles(columns: Sequence[str], aliases: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Role -> column, matched level by level: top-level keys first, then one level down...
    Within a level a column is matched by its whole path (``customer.id`` is a customer id,
    ``billing.email`` an e-mail), then by its last key.

    Example:
        >>> aliases = {"type": ("type", "eventtype"), "page": ("currenturl", "url"), "customer_id": ("customerid",)}
        >>> sorted(match_roles(["id", "event_type", "event_properties.type", "event_properties.$current_url",
        ...                     "customer.id"], aliases).items())
        [('customer_id', 'customer.id'), ('page', 'event_properties.$current_url'), ('type', 'event_type')]
    """
    roles: dict[str, str] = {}
    for depth in range(MAX_DEPTH + 2):
        level = [c for c in columns if c.count(".") == depth]
        if not level:
            continue
        for names in ([c.replace("$", "") for c in level], [c.replace("$", "").replace(".", "") for c in level],
                      [_leaf(c) for c in level]):
            # the roles found so far, at their column's index in this level (-1: another level):
            # the matcher skips them, and the columns they took
            found = {role: level.index(c) if c in level else -1 for role, c in roles.items()}
            match_aliases(names, aliases, found)
            roles.update({role: level[i] for role, i in found.items() if role not in roles})
    return roles


def resolve_column(name: str, columns: Sequence[str]) -> str:
    """A column named by option: a path as written (``properties.$current_url``), or the last
    key of exactly one path (``current_url``, ``$current_url``)."""
    norm = re.sub(r"[\s_\-]+", "", name.strip().lower())
    for c in columns:
        if re.sub(r"[\s_\-]+", "", c.lower()) == norm:
            return c
    leaf = norm.lstrip("$")
    hits = [c for c in columns if re.sub(r"[\s_\-]+", "", _leaf(c).lower()) == leaf]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise ConvertError(f"the column {name!r} names several paths of the JSON records ({', '.join(hits)}); "
                           f"name one of them")
    raise ConvertError(f"the column {name!r} is in none of the JSON records; found paths: {', '.join(columns[:40])}")


def json_to_csv(path: Path, out: Path, *, encoding: str, shape: str,
                aliases: Mapping[str, tuple[str, ...]]) -> JsonTable:
    """Write the records of a JSON export as a CSV (a header of paths, then one row per line
    of a JSON-lines file, blank where the line held no object, so that the CSV's line
    ``n + 1`` is the JSON file's line ``n``)."""
    table = JsonTable(shape=shape)
    seen: dict[str, None] = {}
    filled: set[str] = set()
    for _, record in _records(path, encoding, shape, table):
        if record is not None:
            for key, value in flatten(record).items():
                seen.setdefault(key, None)
                if value:
                    filled.add(key)
    table.columns = list(seen)
    if not table.columns:
        raise ConvertError(f"{path}: no JSON object in the file"
                           + (f"; first problem: line {table.bad[0][0]}: {table.bad[0][1]}" if table.bad else ""))
    table.bad.clear()
    # a key that is null or empty in every record (Shopify's staff "user_id", Zendesk's
    # "type") plays no role
    table.roles = match_roles([c for c in table.columns if c in filled], aliases)
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(table.columns)
        for _, record in _records(path, encoding, shape, table):
            if record is None:
                writer.writerow([])
                continue
            table.records += 1
            cells = flatten(record)
            writer.writerow([cells.get(c, "") for c in table.columns])
    return table


def is_contract_event(record: Any) -> bool:
    """Whether a JSON record is already an event in Churnwatch's contracts (a replay file's line).

    >>> is_contract_event({"type": "login", "schema_version": 1, "event_id": "e1", "customer_id": "c",
    ...                    "occurred_at": "2024-03-01T10:00:00Z", "channel": "web"})
    True
    >>> is_contract_event({"type": "track", "event": "Signed In", "timestamp": "2024-03-01T10:00:00Z"})
    False
    """
    from schemas.events import EVENT_TYPES

    return (isinstance(record, Mapping) and record.get("type") in EVENT_TYPES
            and "schema_version" in record and "occurred_at" in record)


def convert_json(in_path: Path, out_path: Path, convert: Any, options: dict[str, Any],
                 aliases: Mapping[str, tuple[str, ...]], shape: str) -> Any:
    """``convert(csv, out_path, **options)`` of a JSON export's records written as a CSV
    (:func:`json_to_csv`), with the roles matched here and the columns named by option
    resolved against the paths; line numbers in the conversion's messages are the JSON
    file's. The returned stats say the file was read as JSON (``source_format``)."""
    import tempfile

    unit = "line" if shape == "lines" else "record"
    # a replay file given to a converter: say so instead of skipping every line (its first
    # record is enough; an API's array, parsed whole, is never one)
    first = None if shape != "lines" else next(
        (r for _, r in _records(in_path, options.get("encoding", "utf-8-sig"), shape, JsonTable()) if r is not None), None)
    if is_contract_event(first):
        raise ConvertError(f"{in_path}: already a replay file in Churnwatch's event contracts (its first {unit} is a "
                           f"{first['type']!r} event, schema_version {first['schema_version']}): no conversion "
                           "needed; `churnwatch replay FILE` or `churnwatch offline FILE` reads it as it is")

    def renumber(text: str) -> str:    # the CSV's line n + 1 is the JSON's line (or record) n
        return re.sub(r"\bline (\d+)", lambda m: f"{unit} {int(m.group(1)) - 1}", text)

    with tempfile.TemporaryDirectory(prefix="churnwatch-json-") as tmp:
        text = Path(tmp) / f"{in_path.stem}.csv"
        table = json_to_csv(in_path, text, encoding=options.get("encoding", "utf-8-sig"), shape=shape,
                            aliases=aliases)
        if table.bad and options.get("strict"):
            number, reason = table.bad[0]
            raise ConvertError(f"{in_path}: {unit} {number}: bad_json ({reason}); without --strict such "
                               f"{unit}s are skipped and counted")
        named = {role: resolve_column(name, table.columns) for role, name in (options.get("column_map") or {}).items()}
        column_map = {**{r: c for r, c in table.roles.items() if c not in named.values()}, **named}
        options = {**options, "encoding": "utf-8", "delimiter": ",", "column_map": column_map}
        try:
            stats = convert(text, out_path, **options)
        except ConvertError as exc:
            raise ConvertError(renumber(str(exc).replace(str(text), str(in_path)))) from None
    stats.examples = [renumber(e) for e in stats.examples]
    if table.bad:
        stats.skipped = dict(sorted({**stats.skipped, "bad_json": len(table.bad)}.items()))
        room = max(0, EXAMPLES_KEPT - len(stats.examples))
        stats.examples += [f"{unit} {n}: bad_json ({reason})" for n, reason in table.bad[:room]]
    stats.source_format = (f"JSON {'lines' if shape == 'lines' else 'array'} ({table.records:,} records, "
                           f"{len(table.columns)} paths)")
    return stats


_JSON_MEMBER = re.compile(r"\.(json|jsonl|ndjson)(\.gz)?$", re.IGNORECASE)


def is_plain_zip(path: Path) -> bool:
    """A zip archive that is not an Office workbook (Amplitude's export: a zip of ``.json.gz``)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return "[Content_Types].xml" not in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def unpack_zip(path: Path, directory: Path) -> tuple[Path, str]:
    """The contents of a zip archive as one file to convert, and a note of what it held.

    Its JSON members (``.json``, ``.jsonl``, ``.ndjson``, each optionally ``.gz``), in name
    order, become one JSON-lines file (so line numbers in messages count the members' lines
    one after the other); an archive of one other file (a zipped CSV) is that file.
    """
    import gzip
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = sorted(i.filename for i in z.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX"))
        json_members = [m for m in members if _JSON_MEMBER.search(m)]
        if json_members:
            out = directory / f"{path.stem}.jsonl"
            with open(out, "wb") as f:
                for name in json_members:
                    with z.open(name) as member:
                        data = member.read()
                    if name.lower().endswith(".gz"):
                        data = gzip.decompress(data)
                    f.write(data if data.endswith(b"\n") or not data else data + b"\n")
            return out, f"from the archive's {len(json_members):,} JSON file{'s' if len(json_members) > 1 else ''}"
        if len(members) == 1:
            out = directory / Path(members[0]).name
            with z.open(members[0]) as member, open(out, "wb") as f:
                f.write(member.read())
            return out, f"from the archive's {members[0]}"
    raise ConvertError(f"{path}: a zip archive of {len(members)} files, none of them JSON "
                       f"({', '.join(members[:6])}); unpack it and convert the file you mean")
