"""Analytics and ticket-tool exports in JSON -> replay files (abridged real layouts)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from schemas.events import parse_replay_line
from streams.cli import main
from streams.convert import ConvertError
from streams.convert_events import convert_complaints_csv, convert_visits_csv


def _events(path: Path) -> list[dict]:
    lines = path.read_bytes().splitlines()
    for line in lines:
        parse_replay_line(line)  # every line honours the contract
    return [json.loads(line) for line in lines]


def _lines(path: Path, records: list, *, compress: bool = False) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _summary(events: list[dict]) -> list[tuple]:
    return [(e["customer_id"], e["type"], e["occurred_at"], e.get("page")) for e in events]


def test_a_mixpanel_raw_export_reads_the_user_time_and_page_under_properties(tmp_path):
    src = _lines(tmp_path / "mixpanel.jsonl", [
        {"event": "$mp_web_page_view", "properties": {
            "time": 1709283600, "distinct_id": "u1", "$user_id": "u1", "$insert_id": "a1",
            "$current_url": "https://shop.example/a", "mp_lib": "web", "type": "premium"}},
        {"event": "Sign In", "properties": {"time": 1709283700, "distinct_id": "u1", "$user_id": "u1",
                                            "$insert_id": "a2"}},
        {"event": "$identify", "properties": {"time": 1709283701, "distinct_id": "u1", "$user_id": "u1"}},
        # the next day the customer only played songs: seen, so one login
        {"event": "Song Played", "properties": {"time": 1709380000, "distinct_id": "u1", "$user_id": "u1"}},
        {"event": "Song Played", "properties": {"time": 1709370000, "distinct_id": "u1", "$user_id": "u1"}},
        # an anonymous visitor (before signing in) is no customer
        {"event": "$mp_web_page_view", "properties": {"time": 1709283600, "distinct_id": "$device:18e0",
                                                      "$current_url": "https://shop.example/"}},
    ])
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["customer_id"] == "properties.$user_id"
    assert stats.columns["date"] == "properties.time" and stats.columns["type"] == "event"
    assert stats.columns["page"] == "properties.$current_url"
    assert _summary(_events(tmp_path / "out.jsonl")) == [
        ("u1", "page_view", "2024-03-01T09:00:00Z", "https://shop.example/a"),
        ("u1", "login", "2024-03-01T09:01:40Z", None),
        ("u1", "login", "2024-03-02T09:00:00Z", None),
    ]
    assert stats.skipped == {"missing_customer_id": 1}
    assert stats.not_visits == {"$identify": 1} and stats.other_events == {"Song Played": 2}
    assert "read as JSON lines (6 records" in stats.summary()


def test_an_amplitude_export_takes_the_event_type_over_a_custom_property_of_the_same_name(tmp_path):
    src = _lines(tmp_path / "123_2024-03-01_5#0.json.gz", [
        {"event_type": "[Amplitude] Page Viewed", "user_id": "c-7", "amplitude_id": 991,
         "event_time": "2024-03-01 10:00:00.123000", "client_event_time": "2024-03-01 09:59:59.000000",
         "session_id": 1709287200000, "platform": "Web",
         "event_properties": {"type": "banner", "[Amplitude] Page URL": "https://shop.example/p/9"},
         "user_properties": {"plan": "gold"}},
        {"event_type": "session_start", "user_id": "c-7", "event_time": "2024-03-04 18:00:00.000000",
         "session_id": 1709575200000, "platform": "iOS", "event_properties": {}},
        {"event_type": "Viewed Checkout", "user_id": None, "amplitude_id": 992,
         "event_time": "2024-03-04 18:00:00.000000"},
    ], compress=True)
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["type"] == "event_type" and stats.columns["date"] == "event_time"
    assert stats.columns["page"] == "event_properties.[Amplitude] Page URL"
    events = _events(tmp_path / "out.jsonl")
    assert _summary(events) == [
        ("c-7", "page_view", "2024-03-01T10:00:00Z", "https://shop.example/p/9"),
        ("c-7", "page_view", "2024-03-04T18:00:00Z", "(not set)"),
    ]
    assert events[0]["session_id"] == "1709287200000"
    assert stats.skipped == {"missing_customer_id": 1}
    assert any(n.startswith("1 row without a user id in 'user_id' (visitors not signed in) skipped")
               and n.endswith("--customer-column 'amplitude_id'") for n in stats.notes), stats.notes


def test_segment_tracks_are_read_by_their_event_name_and_pages_by_their_properties(tmp_path):
    src = _lines(tmp_path / "segment.ndjson", [
        {"type": "track", "event": "Signed In", "userId": "s1", "anonymousId": "x",
         "timestamp": "2024-03-01T10:00:00.000Z", "context": {"page": {"url": "https://shop.example/login"},
                                                            "device": {"type": "ios"}}},
        {"type": "page", "userId": "s1", "timestamp": "2024-03-01T10:00:05.000Z",
         "properties": {"url": "https://shop.example/b", "path": "/b"}, "context": {"page": {"url": "x"}}},
        {"type": "identify", "userId": "s1", "timestamp": "2024-03-01T10:00:06.000Z", "traits": {"email": "a@b"}},
        {"type": "track", "event": "Order Completed", "userId": "s1", "timestamp": "2024-03-03T08:00:00.000Z",
         "properties": {"revenue": 20}},
    ])
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["type"] == "type" and stats.columns["customer_id"] == "userId"
    assert stats.columns["page"] == "properties.url"
    assert [(e["type"], e["occurred_at"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("login", "2024-03-01T10:00:00Z"), ("page_view", "2024-03-01T10:00:05Z"), ("page_view", "2024-03-03T08:00:00Z")]
    assert stats.not_visits == {"identify": 1}


def test_a_ga4_bigquery_export_reads_its_key_value_parameters(tmp_path):
    src = _lines(tmp_path / "ga4.json", [
        {"event_date": "20240301", "event_timestamp": "1709280005000000", "event_name": "page_view",
         "user_pseudo_id": "123.456", "platform": "WEB",
         "event_params": [{"key": "page_location", "value": {"string_value": "https://shop.example/a"}},
                          {"key": "ga_session_id", "value": {"int_value": "1709280000"}},
                          {"key": "engagement_time_msec", "value": {"int_value": "1200"}}],
         "device": {"category": "desktop", "web_info": {"browser": "Chrome"}}},
        {"event_date": "20240301", "event_timestamp": "1709280009000000", "event_name": "user_engagement",
         "user_pseudo_id": "123.456", "event_params": []},
    ])
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["page"] == "event_params.page_location"
    assert stats.columns["session_id"] == "event_params.ga_session_id"
    assert [(e["occurred_at"], e["page"], e["session_id"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("2024-03-01T08:00:05Z", "https://shop.example/a", "1709280000")]
    assert stats.other_events == {"user_engagement": 1} and stats.days_from_other_events == 0


def test_a_json_array_export_is_read_and_a_column_can_be_named_by_its_last_key(tmp_path):
    # PostHog's export: one array; the page named by option with the key as the tool shows it
    src = tmp_path / "posthog.json"
    src.write_text(json.dumps([
        {"event": "$pageview", "distinct_id": "p1", "timestamp": "2024-03-01T10:00:00+01:00",
         "properties": {"$current_url": "https://shop.example/a", "$pathname": "/a", "$session_id": "s9"}},
        {"event": "$autocapture", "distinct_id": "p1", "timestamp": "2024-03-02T10:00:00+01:00",
         "properties": {"$current_url": "https://shop.example/b", "$pathname": "/b"}},
    ], indent=2), encoding="utf-8")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl", column_map={"page": "$pathname"})
    assert stats.columns["page"] == "properties.$pathname" and stats.columns["session_id"] == "properties.$session_id"
    assert _summary(_events(tmp_path / "out.jsonl")) == [
        ("p1", "page_view", "2024-03-01T09:00:00Z", "/a"), ("p1", "login", "2024-03-02T09:00:00Z", None)]
    with pytest.raises(ConvertError, match="'nothing' is in none of the JSON records"):
        convert_visits_csv(src, tmp_path / "bad.jsonl", column_map={"page": "nothing"})


def test_bad_json_lines_and_bad_values_are_skipped_and_reported_by_the_json_files_line(tmp_path):
    src = _lines(tmp_path / "events.jsonl", [
        {"event": "login", "user_id": "a", "timestamp": "2024-03-01T10:00:00Z"},
        "",
        '{"event": "login", "user_id": "a", "timestamp": ',
        "[1, 2]",
        {"event": "login", "user_id": "b", "timestamp": "yesterday"},
        {"event": "login", "user_id": "b", "timestamp": "2024-03-02T10:00:00Z"},
    ])
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert [(e["customer_id"], e["type"]) for e in _events(tmp_path / "out.jsonl")] == [("a", "login"), ("b", "login")]
    assert stats.skipped == {"bad_date": 1, "bad_json": 2}
    assert stats.rows_read == 3
    assert any(e.startswith("line 5, column 'timestamp': bad_date") for e in stats.examples)
    assert any(e.startswith("line 3: bad_json (not JSON") for e in stats.examples)
    assert any(e.startswith("line 4: bad_json (a JSON list") for e in stats.examples)
    with pytest.raises(ConvertError, match="line 3: bad_json"):
        convert_visits_csv(src, tmp_path / "strict.jsonl", strict=True)
    src.write_text("\n".join(l for i, l in enumerate(src.read_text().splitlines()) if i not in (2, 3)) + "\n")
    with pytest.raises(ConvertError, match=r"events.jsonl: line 3, column 'timestamp': bad_date"):
        convert_visits_csv(src, tmp_path / "strict.jsonl", strict=True)


def test_a_zendesk_api_page_of_tickets_becomes_complaints(tmp_path):
    src = tmp_path / "tickets.json"
    src.write_text(json.dumps({"tickets": [
        {"id": 41, "requester_id": 9001, "submitter_id": 9001, "assignee_id": 7, "created_at": "2024-03-01T10:00:00Z",
         "updated_at": "2024-03-03T10:00:00Z", "status": "open", "priority": "urgent", "type": None,
         "subject": "Order arrived late", "tags": ["late_delivery", "vip"], "via": {"channel": "email"},
         "custom_fields": [{"id": 360001, "value": None}]},
        {"id": 42, "requester_id": 9002, "created_at": "2024-03-02T10:00:00Z", "status": "solved",
         "priority": None, "type": "problem", "subject": "Charged twice", "tags": []},
    ], "next_page": None, "count": 2}), encoding="utf-8")
    stats = convert_complaints_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["customer_id"] == "requester_id" and stats.columns["ticket_id"] == "id"
    assert stats.columns["date"] == "created_at" and stats.columns["severity"] == "priority"
    events = _events(tmp_path / "out.jsonl")
    # the ticket type says nothing ("problem", or none): the subject names the complaint
    assert [(e["customer_id"], e["status"], e["severity"], e["category"]) for e in events] == [
        ("9001", "opened", "high", "logistics"), ("9002", "opened", "medium", "billing"),
        ("9002", "resolved", "medium", "billing")]
    assert stats.columns["category"] == "type"
    assert "read as JSON array (2 records" in stats.summary()


def test_the_cli_converts_a_json_lines_export(tmp_path):
    src = _lines(tmp_path / "events.jsonl", [
        {"event": "$pageview", "distinct_id": "p1", "timestamp": "2024-03-01T10:00:00Z",
         "properties": {"$current_url": "https://shop.example/a"}}])
    result = CliRunner().invoke(main, ["convert-visits", str(src), str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert "1 row read, 1 event for 1 customer written (1 page_view); read as JSON lines" in result.stdout
    assert "page=properties.$current_url" in result.stderr


def test_a_shopify_api_page_of_orders_becomes_orders_of_the_nested_customer(tmp_path):
    from streams.convert import convert_orders_csv
    src = tmp_path / "orders.json"
    src.write_text(json.dumps({"orders": [
        {"id": 450789469, "order_number": 1001, "name": "#1001", "email": "Bob@example.com", "user_id": None,
         "created_at": "2024-03-01T10:00:00-05:00", "currency": "USD", "total_price": "199.00",
         "financial_status": "paid", "cancelled_at": None,
         "customer": {"id": 207119551, "email": "bob@example.com", "orders_count": 2},
         "line_items": [{"id": 1, "quantity": 1, "price": "199.00"}]},
        {"id": 450789470, "order_number": 1002, "email": "bob@example.com", "user_id": None,
         "created_at": "2024-04-01T10:00:00-05:00", "currency": "USD", "total_price": "59.00",
         "financial_status": "refunded", "cancelled_at": None, "customer": {"id": 207119551}},
        {"id": 450789471, "order_number": 1003, "email": "ann@example.com", "user_id": None,
         "created_at": "2024-04-02T10:00:00-05:00", "currency": "USD", "total_price": "80.00",
         "financial_status": "voided", "cancelled_at": "2024-04-02T12:00:00-05:00", "customer": {"id": 9}},
    ]}), encoding="utf-8")
    stats = convert_orders_csv(src, tmp_path / "out.jsonl")
    # the order's own "user_id" (the staff member who took it) is empty: the customer is nested
    assert stats.columns["customer_id"] == "customer.id" and stats.columns["order_id"] == "order_number"
    assert stats.columns["amount"] == "total_price" and stats.columns["status"] == "financial_status"
    assert [(e["customer_id"], e["order_id"], e["amount"], e["currency"], e["status"], e["occurred_at"])
            for e in _events(tmp_path / "out.jsonl")] == [
        ("207119551", "1001", 199.0, "USD", "placed", "2024-03-01T15:00:00Z"),
        ("207119551", "1002", 59.0, "USD", "returned", "2024-04-01T15:00:00Z"),
        ("9", "1003", 80.0, "USD", "cancelled", "2024-04-02T15:00:00Z")]
    assert "read as JSON array (3 records" in stats.summary()


def test_stripe_api_amounts_in_cents_are_read_in_whole_units_of_their_currency(tmp_path):
    from streams.convert import convert_orders_csv
    src = tmp_path / "charges.json"

    def charge(i, amount, currency, status="succeeded", **extra):
        return {"id": f"ch_{i}", "object": "charge", "amount": amount, "amount_captured": amount,
                "amount_refunded": 0, "currency": currency, "customer": "cus_A", "created": 1709280000 + i * 86400,
                "status": status, "paid": status == "succeeded", "receipt_email": "a@example.com",
                "billing_details": {"email": "a@example.com", "address": {"country": "JP"}}, **extra}

    src.write_text(json.dumps({"object": "list", "url": "/v1/charges", "has_more": False, "data": [
        charge(0, 2999, "usd"),
        charge(1, 3000, "jpy"),                  # a zero-decimal currency: 3000 yen
        charge(2, 12345, "kwd"),                 # thousandths
        charge(3, 5000, "usd", status="failed"),
        charge(4, 1000, "usd", refunded=True),    # refunded in full: a return
    ]}), encoding="utf-8")
    stats = convert_orders_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["amount"] == "amount" and stats.columns["customer_id"] == "customer"
    assert [(e["amount"], e["currency"], e["status"]) for e in _events(tmp_path / "out.jsonl")] == [
        (29.99, "USD", "placed"), (3000.0, "JPY", "placed"), (12.345, "KWD", "placed"), (50.0, "USD", "cancelled"),
        (10.0, "USD", "returned")]

    # payment intents: one still waiting for a payment method is no order
    intents = tmp_path / "intents.jsonl"
    _lines(intents, [
        {"id": "pi_1", "object": "payment_intent", "amount": 1999, "amount_received": 1999, "currency": "eur",
         "customer": "cus_B", "created": 1709280000, "status": "succeeded"},
        {"id": "pi_2", "object": "payment_intent", "amount": 4999, "amount_received": 0, "currency": "eur",
         "customer": "cus_B", "created": 1709366400, "status": "requires_payment_method"},
    ])
    stats = convert_orders_csv(intents, tmp_path / "intents-out.jsonl")
    assert [(e["amount"], e["status"]) for e in _events(tmp_path / "intents-out.jsonl")] == [(19.99, "placed")]
    assert stats.other_events == {"requires_payment_method": 1}

    # checkout sessions: a zero-decimal currency, a guest taken by e-mail, an expired session is no order
    sessions = tmp_path / "sessions.jsonl"
    _lines(sessions, [
        {"id": "cs_1", "object": "checkout.session", "amount_total": 12500, "currency": "jpy", "customer": None,
         "customer_details": {"email": "G@example.com"}, "created": 1709280000, "status": "complete"},
        {"id": "cs_2", "object": "checkout.session", "amount_total": 9000, "currency": "jpy", "customer": None,
         "customer_details": {"email": "g@example.com"}, "created": 1709366400, "status": "expired"},
    ])
    stats = convert_orders_csv(sessions, tmp_path / "sessions-out.jsonl")
    assert [(e["customer_id"], e["amount"], e["currency"]) for e in _events(tmp_path / "sessions-out.jsonl")] == [
        ("g@example.com", 12500.0, "JPY")]
    assert stats.other_events == {"abandoned": 1}

    # a JSON export that is not a payment API's keeps its amounts as written
    shop = tmp_path / "shop.jsonl"
    _lines(shop, [{"customer_id": "c1", "created": 1709280000, "amount": 2999, "currency": "usd"}])
    convert_orders_csv(shop, tmp_path / "shop-out.jsonl")
    assert _events(tmp_path / "shop-out.jsonl")[0]["amount"] == 2999.0


def test_a_square_page_of_orders_reads_its_money_objects(tmp_path):
    from streams.convert import convert_orders_csv
    src = tmp_path / "square.json"
    src.write_text(json.dumps({"orders": [
        {"id": "o1", "location_id": "L1", "customer_id": "SQ_C1", "created_at": "2024-03-01T10:00:00Z",
         "state": "COMPLETED", "line_items": [{"uid": "x", "quantity": "2", "base_price_money": {"amount": 500, "currency": "USD"}}],
         "total_tax_money": {"amount": 80, "currency": "USD"}, "total_money": {"amount": 1080, "currency": "USD"}},
        {"id": "o2", "location_id": "L1", "customer_id": "SQ_C1", "created_at": "2024-04-01T10:00:00Z",
         "state": "COMPLETED", "total_tax_money": {"amount": 0, "currency": "JPY"},
         "total_money": {"amount": 1500, "currency": "JPY"}},
    ]}), encoding="utf-8")
    stats = convert_orders_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["amount"] == "total_money.amount"
    assert [(e["customer_id"], e["amount"], e["currency"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("SQ_C1", 10.8, "USD"), ("SQ_C1", 1500.0, "JPY")]


def test_a_woocommerce_array_of_orders_takes_a_guests_billing_email(tmp_path):
    from streams.convert import convert_orders_csv
    src = tmp_path / "orders.json"
    src.write_text(json.dumps([
        {"id": 727, "number": "727", "status": "completed", "currency": "EUR", "date_created": "2024-03-01T16:28:02",
         "total": "29.35", "customer_id": 26, "billing": {"email": "john@example.com"}},
        {"id": 728, "number": "728", "status": "processing", "currency": "EUR", "date_created": "2024-03-02T09:00:00",
         "total": "12.00", "customer_id": 0, "billing": {"email": "Guest@Example.com"}},
        {"id": 729, "number": "729", "status": "checkout-draft", "currency": "EUR",
         "date_created": "2024-03-03T09:00:00", "total": "5.00", "customer_id": 26,
         "billing": {"email": "john@example.com"}},
    ], indent=1), encoding="utf-8")
    stats = convert_orders_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["email"] == "billing.email"
    assert [(e["customer_id"], e["amount"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("26", 29.35), ("guest@example.com", 12.0)]
    assert stats.guest_rows == 1


def test_a_music_services_event_log_reads_its_millisecond_ts_and_pages(tmp_path):
    # the layout of the Sparkify churn dataset: one object a line, "ts" in milliseconds,
    # "page" the action, "length" the song's seconds, no user id while logged out
    src = _lines(tmp_path / "sparkify.json", [
        {"ts": 1538352117000, "userId": "30", "sessionId": 29, "page": "NextSong", "auth": "Logged In",
         "level": "paid", "itemInSession": 50, "length": 277.89, "song": "Rockpools", "registration": 1538173362000},
        {"ts": 1538352394000, "userId": "30", "sessionId": 29, "page": "Home", "auth": "Logged In",
         "level": "paid", "itemInSession": 51, "length": None},
        {"ts": 1538352400000, "userId": "", "sessionId": 8, "page": "Home", "auth": "Logged Out", "length": None},
    ])
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["date"] == "ts" and stats.columns["page"] == "page" and stats.columns["duration"] == "length"
    assert [(e["occurred_at"], e["page"], e["dwell_seconds"], e["session_id"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("2018-10-01T00:01:57Z", "NextSong", 277.89, "29"), ("2018-10-01T00:06:34Z", "Home", 0.0, "29")]
    assert stats.skipped == {"missing_customer_id": 1}


def test_an_app_user_seen_only_through_app_events_is_not_warned_as_silent_but_one_who_stops_is(tmp_path):
    import random
    from datetime import datetime, timedelta, timezone

    from streams.offline import run_offline
    from streams.settings import Settings

    rng = random.Random(3)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    records = []
    for user, last_day in (("stays", 365), ("leaves", 200)):
        for d in range(last_day):
            if rng.random() < 0.6:
                for k in range(rng.randint(1, 4)):
                    at = start + timedelta(days=d, hours=18, minutes=7 * k)
                    # the web page views of the first month, then the app's own events only
                    name = "$mp_web_page_view" if d < 30 and k == 0 else "Song Played"
                    records.append({"event": name, "properties": {
                        "time": int(at.timestamp()), "distinct_id": user, "$current_url": "https://app.example/"}})
    src = _lines(tmp_path / "mixpanel.jsonl", records)
    stats = convert_visits_csv(src, tmp_path / "visits.jsonl")
    assert stats.days_from_other_events > 200
    end = datetime(2024, 12, 31, tzinfo=timezone.utc)
    result = run_offline(Settings(partitions=1), (tmp_path / "visits.jsonl").read_bytes().splitlines(), advance_to=end)
    assert result.dead_letters == []
    warned = {w["customer_id"]: w for w in result.warnings if w["state"] == "raised"}
    assert "stays" not in warned, warned.get("stays")
    leaves = warned["leaves"]
    # warned for the quiet after its last day (2024-07-18), on the evidence of its own habit
    assert "2024-07-25" <= leaves["occurred_at"] <= "2024-09-30"
    assert "silence" in {s["kind"] for s in leaves["signals"]}


def test_a_zip_of_gzipped_json_files_is_read_as_one_export(tmp_path):
    # Amplitude's export API answers with a zip of one .json.gz file per hour
    import zipfile

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for hour, user in ((11, "b"), (10, "a")):
            line = json.dumps({"event_type": "[Amplitude] Page Viewed", "user_id": user,
                               "event_time": f"2024-03-01 {hour}:00:00.000000"}) + "\n"
            z.writestr(f"123/123_2024-03-01_{hour}#0.json.gz", gzip.compress(line.encode()))
    stats = convert_visits_csv(archive, tmp_path / "out.jsonl")
    assert [(e["customer_id"], e["occurred_at"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("a", "2024-03-01T10:00:00Z"), ("b", "2024-03-01T11:00:00Z")]
    assert stats.summary().endswith("read as JSON lines (2 records, 3 paths) from the archive's 2 JSON files")


def test_a_zipped_csv_converts_as_the_csv_does_and_other_archives_are_refused(tmp_path):
    import zipfile

    from streams.convert import convert_orders_csv
    text = "customer_id,date,amount\nc1,2024-01-05,10.00\nc1,2024-02-05,12.50\n"
    (tmp_path / "orders.csv").write_text(text)
    with zipfile.ZipFile(tmp_path / "orders.zip", "w") as z:
        z.writestr("orders.csv", text)
    zipped = convert_orders_csv(tmp_path / "orders.zip", tmp_path / "a.jsonl")
    convert_orders_csv(tmp_path / "orders.csv", tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert "read as CSV from the archive's orders.csv" in zipped.summary()
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.writestr("a.csv", text)
        z.writestr("b.txt", "notes")
    with pytest.raises(ConvertError, match="a zip archive of 2 files, none of them JSON"):
        convert_orders_csv(tmp_path / "two.zip", tmp_path / "c.jsonl")


def test_records_longer_than_a_read_buffer_are_still_one_object_a_line(tmp_path):
    big = {"event": "page_view", "user_id": "u1", "timestamp": "2024-03-01T10:00:00Z",
           "properties": {f"p{i}": "x" * 40 for i in range(300)}}       # ~15 KB a line
    src = _lines(tmp_path / "big.jsonl", [big, {**big, "timestamp": "2024-03-02T10:00:00Z"}])
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert stats.events == {"page_view": 2} and "read as JSON lines (2 records" in stats.summary()


def test_an_intercom_page_of_conversations_takes_the_author_as_the_customer(tmp_path):
    src = tmp_path / "conversations.json"
    src.write_text(json.dumps({"type": "conversation.list", "total_count": 2, "conversations": [
        {"type": "conversation", "id": "147", "created_at": 1709280000, "state": "closed", "priority": "priority",
         "source": {"type": "conversation", "subject": "Where is my parcel?",
                    "author": {"type": "user", "id": "5bc8f1", "email": "ann@example.com"}},
         "contacts": {"contacts": [{"type": "contact", "id": "5bc8f1"}]},
         "statistics": {"first_admin_reply_at": 1709283600, "last_close_at": 1709370000}},
        {"type": "conversation", "id": "148", "created_at": 1709456400, "state": "snoozed",
         "priority": "not_priority", "source": {"author": {"type": "user", "id": "77aa"}}},
    ]}), encoding="utf-8")
    stats = convert_complaints_csv(src, tmp_path / "out.jsonl")
    assert stats.columns["customer_id"] == "source.author.id" and stats.columns["ticket_id"] == "id"
    assert stats.columns["resolved_at"] == "statistics.last_close_at"
    assert [(e["customer_id"], e["complaint_id"], e["status"], e["severity"], e["occurred_at"])
            for e in _events(tmp_path / "out.jsonl")] == [
        ("5bc8f1", "147", "opened", "high", "2024-03-01T08:00:00Z"),
        ("5bc8f1", "147", "resolved", "high", "2024-03-02T09:00:00Z"),
        ("77aa", "148", "opened", "medium", "2024-03-03T09:00:00Z")]


def test_a_replay_file_given_to_a_converter_is_named_as_one_instead_of_skipped_line_by_line(tmp_path):
    from streams.convert import convert_orders_csv
    src = _lines(tmp_path / "events.jsonl", [
        {"type": "login", "schema_version": 1, "event_id": "e1", "customer_id": "c1",
         "occurred_at": "2024-03-01T10:00:00Z", "channel": "web"},
        {"type": "order", "schema_version": 1, "event_id": "e2", "customer_id": "c1", "occurred_at": "2024-03-01T10:05:00Z",
         "order_id": "o1", "amount": 20.0, "currency": "EUR", "status": "placed"},
    ])
    for convert in (convert_orders_csv, convert_visits_csv, convert_complaints_csv):
        with pytest.raises(ConvertError, match="already a replay file .*'login' event.*churnwatch replay FILE"):
            convert(src, tmp_path / "out.jsonl")
