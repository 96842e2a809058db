"""Whatever an export holds, a converter ends with a replay file the contract accepts or a
one-line error; never a traceback.

Exports are drawn with hypothesis: CSV rows whose cells are mostly of the column's kind
(dates in many notations, numbers with separators, signs and exponents, status words) with
junk mixed in (text, ``inf``, ``1e308``, 20-digit integers, control characters), and JSON
records of the shapes the converters know (a generic order, Stripe charges, payment
intents and checkout sessions, a Shopify order, a Square order, Mixpanel and GA4 events, a
Zendesk ticket, a usage log) with fields removed or replaced by any JSON value. Every line
written must pass `parse_replay_line`.

Found this way: a page-view count of ``inf`` stopped `convert-visits` with OverflowError,
and a JSON record whose ``object`` was a list or an object stopped every converter with
TypeError (now a skipped row and a read record). The examples are derandomized, so CI runs
the same ones; ``CHURNWATCH_FUZZ_EXAMPLES=3000`` looks further.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from schemas.events import parse_replay_line
from streams.convert import ConvertError, convert_orders_csv
from streams.convert_events import convert_complaints_csv, convert_visits_csv

EXAMPLES = int(os.environ.get("CHURNWATCH_FUZZ_EXAMPLES", "0")) or None
CONVERTERS = {"orders": convert_orders_csv, "visits": convert_visits_csv, "complaints": convert_complaints_csv}


def _settings(default: int):
    return settings(max_examples=EXAMPLES or default, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))


JUNK = st.one_of(
    st.sampled_from(["", "NaN", "null", "-", "inf", "-Infinity", "1e308", "1e-320", "99999999999999999999999",
                     "x" * 200, "\x00", "\u202e", "€", "0001-01-01", "9999-12-31T23:59:59-12:00"]),
    st.text(max_size=12), st.integers().map(str), st.floats().map(str))
DATES = st.one_of(
    st.sampled_from(["2024-01-01", "2024-01-01 10:00:00", "1700000000", "1700000000000", "31/12/2024",
                     "12/31/2024 10:00", "Dec 9, 2011", "2024-02-30", "1969-12-31", "2024-01-01T00:00:00+14:00",
                     "20240101", "0001-01-01", "9999-12-31T23:59:59-12:00", ""]),
    st.datetimes().map(str))
NUMBERS = st.one_of(
    st.sampled_from(["0", "-1", "12,50", "1.234,5", "€9.99", "$1,000", "1e15", "1000000000", "1e308", "inf",
                     "nan", "-0", "99999999999999999999999"]),
    st.floats().map(str), st.integers().map(str), st.decimals(allow_nan=False).map(str))
POOLS = {
    "customer_id": st.sampled_from(["c1", "c2", "17850.0", "a@b.com", " c3 "]),
    "email": st.sampled_from(["A@b.com", "x@y.org"]),
    "date": DATES, "session_start": DATES, "created_at": DATES, "cancelled_at": DATES,
    "amount": NUMBERS, "unit_price": NUMBERS, "quantity": NUMBERS, "pageviews": NUMBERS,
    "duration": st.one_of(NUMBERS, st.sampled_from(["12:30", "1:02:03", "99:99"])),
    "status": st.sampled_from(["open", "solved", "pending", "closed", "escalated", "reopened", "placed",
                               "cancelled", "refunded", "wc-on-hold", "failed", "", "new"]),
    "category": st.sampled_from(["shipping", "billing", "product", "books", ""]),
    "priority": st.sampled_from(["urgent", "high", "low", "normal", "", "p1"]),
    "currency": st.sampled_from(["EUR", "usd", "JPY", "€", "", "XXX1"]),
    "order_id": st.sampled_from(["1", "2", "C536379", ""]),
    "ticket_id": st.sampled_from(["t1", "t2", ""]),
    "event": st.sampled_from(["view", "transaction", "addtocart", "purchase"]),
    "channel": st.sampled_from(["web", "ios", "android", ""]),
    "page": st.sampled_from(["/", "/p/1", ""]),
}
REQUIRED = {"orders": ["customer_id", "date", "amount"],
            "visits": ["customer_id", "session_start", "pageviews", "duration"],
            "complaints": ["customer_id", "created_at", "status", "category", "priority", "ticket_id"]}


def _cell(column: str):
    pool = POOLS.get(column, JUNK)
    return st.one_of(pool, pool, pool, JUNK)    # mostly the column's kind, junk a quarter of the time


@st.composite
def csv_exports(draw, which: str) -> str:
    extra = draw(st.lists(st.sampled_from(sorted(POOLS)), max_size=4, unique=True))
    columns = REQUIRED[which] + [c for c in extra if c not in REQUIRED[which]]
    rows = draw(st.lists(st.tuples(*[_cell(c) for c in columns]), min_size=1, max_size=8))
    sep = draw(st.sampled_from([",", ";", "\t"]))

    def quoted(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in (sep, '"', "\n", "\r")) else v

    return sep.join(columns) + "\n" + "\n".join(sep.join(quoted(v) for v in row) for row in rows) + "\n"


RECORDS = [
    {"customer_id": "c1", "date": "2024-01-01T00:00:00Z", "amount": 12.5, "currency": "EUR", "status": "paid",
     "order_id": "o1"},
    {"id": "ch_1", "object": "charge", "amount": 2999, "amount_refunded": 0, "currency": "usd", "customer": "cus_9",
     "created": 1709280000, "status": "succeeded"},
    {"id": "pi_1", "object": "payment_intent", "amount": 500, "currency": "jpy", "customer": "cus_9",
     "created": 1709280000, "status": "requires_payment_method"},
    {"id": "cs_1", "object": "checkout.session", "amount_total": 1500, "currency": "kwd", "customer": "cus_2",
     "created": 1709280000, "status": "expired"},
    {"id": 5, "email": "a@b.com", "created_at": "2024-03-01T10:00:00+01:00", "total_price": "19.99", "currency": "EUR",
     "financial_status": "paid", "line_items": [{"quantity": 2, "price": "9.99"}], "customer": {"id": 77}},
    {"id": "sq1", "customer_id": "c3", "created_at": "2024-03-01T10:00:00Z",
     "total_money": {"amount": 1050, "currency": "USD"}, "state": "COMPLETED"},
    {"event": "Order Completed",
     "properties": {"distinct_id": "u1", "time": 1709280000, "revenue": 30.5, "$current_url": "https://x/p"}},
    {"event_name": "purchase", "user_pseudo_id": "u2", "event_timestamp": 1709280000000000,
     "ecommerce": {"purchase_revenue": 12.0, "transaction_id": "t9"},
     "event_params": [{"key": "page_location", "value": {"string_value": "https://x"}}]},
    {"id": 11, "requester_id": 99, "created_at": "2024-03-01T10:00:00Z", "status": "open", "priority": "urgent",
     "subject": "late delivery", "tags": ["shipping"]},
    {"user_id": "u5", "timestamp": "2024-03-01T10:00:00Z", "event_type": "session_start", "session_id": 123,
     "duration": 60},
]
KEYS = sorted({k for r in RECORDS for k in r} | {"quantity", "price", "order_id", "date", "amount"})
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10),
              st.sampled_from(["2024-01-01T00:00:00Z", "1700000000", "usd", "charge", "checkout.session", "paid",
                               "expired", "purchase", "urgent", "0001-01-01T00:00:00+01:00", "a@b.com"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)),
    max_leaves=20)


@st.composite
def json_records(draw) -> dict:
    record = json.loads(json.dumps(draw(st.sampled_from(RECORDS))))
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=3)):
        if draw(st.booleans()):
            record[key] = draw(JSON_VALUES)
        else:
            record.pop(key, None)
    return record


def _convert(tmp_path: Path, which: str, name: str, text: str) -> None:
    source, out = tmp_path / name, tmp_path / f"{name}.jsonl"
    out.unlink(missing_ok=True)
    source.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        CONVERTERS[which](source, out)
    except ConvertError as error:       # the error the command prints, without a traceback
        assert str(error).strip()
        return
    for line in out.read_bytes().splitlines():
        parse_replay_line(line)         # raises on a line the contract refuses


@_settings(150)
@given(st.sampled_from(sorted(CONVERTERS)).flatmap(lambda w: st.tuples(st.just(w), csv_exports(w))))
def test_any_csv_export_converts_to_contract_events_or_a_clear_error(tmp_path_factory, drawn):
    which, text = drawn
    _convert(tmp_path_factory.mktemp("csv"), which, "export.csv", text)


@_settings(150)
@given(st.sampled_from(sorted(CONVERTERS)), st.lists(json_records(), min_size=1, max_size=6),
       st.sampled_from(["array", "lines", "wrapped"]))
def test_any_json_export_converts_to_contract_events_or_a_clear_error(tmp_path_factory, which, records, shape):
    text = (json.dumps(records) if shape == "array" else "\n".join(json.dumps(r) for r in records)
            if shape == "lines" else json.dumps({"orders": records, "data": records}))
    _convert(tmp_path_factory.mktemp("json"), which, "export.json", text)


def test_a_page_view_count_of_infinity_is_a_skipped_row(tmp_path: Path):
    source = tmp_path / "v.csv"
    source.write_text("customer_id,session_start,pageviews,duration\nc1,2024-01-01,inf,60\nc1,2024-01-02,2,60\n")
    stats = convert_visits_csv(source, tmp_path / "v.jsonl")
    assert stats.skipped == {"bad_page_views": 1}


def test_a_json_record_whose_object_field_is_not_a_word_is_read_as_a_generic_record(tmp_path: Path):
    source = tmp_path / "o.json"
    source.write_text(json.dumps([{"object": ["charge"], "customer_id": "c1", "date": "2024-01-01T00:00:00Z",
                                   "amount": 2999, "currency": "usd"}]))
    convert_orders_csv(source, tmp_path / "o.jsonl")
    [line] = (tmp_path / "o.jsonl").read_bytes().splitlines()
    _, event = parse_replay_line(line)
    assert (event.customer_id, event.amount, event.currency) == ("c1", 2999.0, "USD")   # not read as cents
