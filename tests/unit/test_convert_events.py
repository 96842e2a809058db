"""Visit logs and ticket exports -> replay files: a user's own history with every detector."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from schemas.events import parse_replay_line
from streams.cli import main
from streams.convert import ConvertError, convert_orders_csv
from streams.convert_events import convert_complaints_csv, convert_visits_csv
from streams.offline import run_offline
from streams.settings import Settings

UTC = timezone.utc


def _events(path: Path) -> list[dict]:
    lines = path.read_bytes().splitlines()
    for line in lines:
        parse_replay_line(line)  # every line honours the contract
    return [json.loads(line) for line in lines]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- visits


def test_a_login_log_becomes_login_events_with_their_channel_and_outcome(tmp_path):
    src = _write(tmp_path, "logins.csv",
                 "User ID;Login Time;Device;Result\n"
                 "u1;05.03.2024 08:15;iPhone;success\n"
                 "u1;06.03.2024 21:40;Chrome desktop;failed\n"
                 "u2;13.03.2024 10:00;;ok\n"
                 ";13.03.2024 11:00;web;ok\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    events = _events(tmp_path / "out.jsonl")
    assert [(e["type"], e["customer_id"], e["occurred_at"], e["channel"], e["success"]) for e in events] == [
        ("login", "u1", "2024-03-05T08:15:00Z", "app", True),
        ("login", "u1", "2024-03-06T21:40:00Z", "other", False),   # "Chrome desktop" is not a known word
        ("login", "u2", "2024-03-13T10:00:00Z", "web", True),      # no device: web
    ]
    assert stats.date_order.startswith("day first")
    assert stats.skipped == {"missing_customer_id": 1} and "line 5" in stats.examples[0]
    assert stats.mapped["channel"] == {"iPhone -> app": 1, "Chrome desktop -> other": 1}


def test_a_session_export_becomes_its_page_views_with_the_session_time_shared(tmp_path):
    src = _write(tmp_path, "ga.csv",
                 "client_id,session_start,landing_page,pageviews,session_duration\n"
                 "c1,2024-04-01T10:00:00+02:00,/shoes,4,0:02:00\n"
                 "c1,2024-04-03T10:00:00+02:00,/,0,\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    events = _events(tmp_path / "out.jsonl")
    assert [(e["occurred_at"], e["page"], e["dwell_seconds"]) for e in events] == [
        ("2024-04-01T08:00:00Z", "/shoes", 30.0), ("2024-04-01T08:00:01Z", "/shoes", 30.0),
        ("2024-04-01T08:00:02Z", "/shoes", 30.0), ("2024-04-01T08:00:03Z", "/shoes", 30.0),
        ("2024-04-03T08:00:00Z", "/", 0.0),     # a session without page views still makes the day active
    ]
    assert len({e["session_id"] for e in events}) == 2
    assert any("without a duration" in n for n in stats.notes)


def test_a_store_clickstream_keeps_its_sessions_categories_and_cart_rows(tmp_path):
    # the REES46 multi-category store layout: view, cart and purchase rows are all visits
    src = _write(tmp_path, "events.csv",
                 "event_time,event_type,product_id,category_code,price,user_id,user_session\n"
                 "2019-10-01 00:00:00 UTC,view,44600062,,35.79,541312140,s1\n"
                 "2019-10-01 00:02:14 UTC,purchase,1004856,electronics.smartphone,130.76,543272936,s2\n"
                 "2019-10-01 00:03:14 UTC,cart,1004856,electronics.smartphone,130.76,543272936,s2\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl", strict=True)
    assert [(e["type"], e["customer_id"], e["category"], e["session_id"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("page_view", "541312140", None, "s1"), ("page_view", "543272936", "electronics.smartphone", "s2"),
        ("page_view", "543272936", "electronics.smartphone", "s2")]
    assert not stats.skipped


def test_a_usage_log_of_seconds_per_day_keeps_its_time_on_site(tmp_path):
    # the layout of a music service's daily listening log (KKBox's user_logs): customer, day,
    # counts, seconds; no page and no page count, so each row is one visit of that length
    src = _write(tmp_path, "user_logs.csv",
                 "msno,date,num_25,num_100,total_secs\n"
                 "u1,20150513,0,1,280.335\n"
                 "u1,20150709,9,7,1658.948\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl", column_map={"customer_id": "msno", "duration": "total_secs"})
    events = _events(tmp_path / "out.jsonl")
    assert [(e["type"], e["occurred_at"], e["dwell_seconds"]) for e in events] == [
        ("page_view", "2015-05-13T00:00:00Z", 280.335), ("page_view", "2015-07-09T00:00:00Z", 1658.948)]
    assert not any("without a duration" in n for n in stats.notes)


def test_a_login_row_with_a_duration_says_the_duration_is_not_used(tmp_path):
    src = _write(tmp_path, "log.csv",
                 "customer,event,timestamp,seconds\n"
                 "a,login,2024-01-01 09:00,300\n"
                 "a,session,2024-01-02 09:00,120\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert [(e["type"], e.get("dwell_seconds")) for e in _events(tmp_path / "out.jsonl")] == [
        ("login", None), ("page_view", 120.0)]
    assert any(n.startswith("1 login rows with a duration") for n in stats.notes)


def test_a_type_column_mixes_logins_and_page_views_and_other_events_fill_days_without_a_visit(tmp_path):
    src = _write(tmp_path, "log.csv",
                 "customer,event,timestamp,url,time_on_page\n"
                 "a,login,2024-01-01 09:00,,\n"
                 "a,pageview,2024-01-01 09:01,/p/1,75\n"
                 "a,email_open,2024-01-01 09:05,,\n"
                 "a,scroll,2024-01-01 09:07,,\n"
                 "a,pageview,2024-01-01 09:06,/p/2,abc\n"
                 "a,Song Played,2024-01-02 21:00,,\n"
                 "a,Song Played,2024-01-02 20:30,,\n"
                 "a,Email Opened,2024-01-03 08:00,,\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    # the scroll falls on a day with a visit; the songs are the only sign of 2 January: one
    # login at the first of them; e-mails opened are not visits at all
    assert [(e["type"], e["occurred_at"], e.get("page"), e.get("dwell_seconds"))
            for e in _events(tmp_path / "out.jsonl")] == [
        ("login", "2024-01-01T09:00:00Z", None, None), ("page_view", "2024-01-01T09:01:00Z", "/p/1", 75.0),
        ("login", "2024-01-02T20:30:00Z", None, None)]
    assert stats.skipped == {"bad_duration": 1}
    assert stats.other_events == {"scroll": 1, "Song Played": 2} and stats.days_from_other_events == 1
    assert stats.not_visits == {"email_open": 1, "Email Opened": 1}
    assert "3 rows of other events, 1 customer-day without a visit written as logins" in stats.summary()
    with pytest.raises(ConvertError, match="line 6.*bad_duration"):
        convert_visits_csv(src, tmp_path / "strict.jsonl", strict=True)


def test_a_clickstream_log_of_views_carts_and_transactions_becomes_page_views(tmp_path):
    # the layout of the Retailrocket e-commerce dataset, with its millisecond timestamps
    src = _write(tmp_path, "events.csv",
                 "timestamp,visitorid,event,itemid,transactionid\n"
                 "1433221332117,257597,view,355908,\n"
                 "1433224086234,257597,addtocart,355908,\n"
                 "1433223236124,257597,transaction,355908,9765\n"
                 "1433224214164,992329,view,248676,\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl", strict=True)
    events = _events(tmp_path / "out.jsonl")
    assert [(e["type"], e["customer_id"], e["occurred_at"]) for e in events] == [
        ("page_view", "257597", "2015-06-02T05:02:12Z"), ("page_view", "257597", "2015-06-02T05:33:56Z"),
        ("page_view", "257597", "2015-06-02T05:48:06Z"), ("page_view", "992329", "2015-06-02T05:50:14Z")]
    assert stats.columns["customer_id"] == "visitorid" and stats.columns["type"] == "event"


def test_converting_twice_gives_the_same_ids_and_a_repeated_line_stays_unique(tmp_path):
    src = _write(tmp_path, "logins.csv", "user_id,timestamp\nu1,2024-01-01 10:00\nu1,2024-01-01 10:00\n")
    convert_visits_csv(src, tmp_path / "a.jsonl")
    convert_visits_csv(src, tmp_path / "b.jsonl")
    a, b = _events(tmp_path / "a.jsonl"), _events(tmp_path / "b.jsonl")
    assert a == b and len({e["event_id"] for e in a}) == 2


def test_a_file_without_customer_or_time_columns_names_what_is_missing(tmp_path):
    src = _write(tmp_path, "x.csv", "who,when\nu1,2024-01-01\n")
    with pytest.raises(ConvertError, match="lacks customer_id, date; found columns: who, when"):
        convert_visits_csv(src, tmp_path / "out.jsonl")
    # named by option, it converts
    stats = convert_visits_csv(src, tmp_path / "out.jsonl", column_map={"customer_id": "who", "date": "when"})
    assert stats.events == {"login": 1}


# --------------------------------------------------------------------------- tickets


def test_a_ticket_export_becomes_opened_escalated_resolved_events_with_contract_categories(tmp_path):
    src = _write(tmp_path, "tickets.csv",
                 "Ticket ID,Customer ID,Created,Reason,Priority,Status,Escalated at,Closed at\n"
                 "T1,c1,2024-05-02 08:00,Parcel never arrived,P1,Closed,2024-05-02 20:00,2024-05-05 09:00\n"
                 "T2,c1,2024-05-20 10:00,Rude agent on the phone,low,Open,,\n"
                 "T3,c2,2024-06-01 12:00,Charged twice,,Solved,,\n"
                 "T4,c2,2024-06-02 12:00,Something,High,Wontfix,,\n")
    stats = convert_complaints_csv(src, tmp_path / "out.jsonl")
    rows = [(e["complaint_id"], e["status"], e["category"], e["severity"], e["occurred_at"])
            for e in _events(tmp_path / "out.jsonl")]
    assert rows == [
        ("T1", "opened", "logistics", "high", "2024-05-02T08:00:00Z"),
        ("T1", "escalated", "logistics", "high", "2024-05-02T20:00:00Z"),
        ("T1", "resolved", "logistics", "high", "2024-05-05T09:00:00Z"),
        ("T2", "opened", "service", "low", "2024-05-20T10:00:00Z"),
        # closed, but the file has no time for it: resolved at its opening, never "unanswered"
        ("T3", "opened", "billing", "medium", "2024-06-01T12:00:00Z"),
        ("T3", "resolved", "billing", "medium", "2024-06-01T12:00:01Z"),
    ]
    assert stats.skipped == {"unknown_status": 1}
    assert stats.events == {"opened": 3, "escalated": 1, "resolved": 2}
    assert any("no time for it" in n for n in stats.notes)


def test_ticket_tools_exports_are_read_as_downloaded(tmp_path):
    # HubSpot's tickets export and Intercom's conversations export, abridged
    hubspot = _write(tmp_path, "hubspot.csv",
                     "Ticket ID,Ticket name,Pipeline,Ticket status,Create date,Close date,Priority,Category,"
                     "Associated Contact,Associated Contact IDs\n"
                     "1001,Parcel never arrived,Support Pipeline,Closed,2023-01-05 10:21,2023-01-06 09:00,HIGH,"
                     "Shipping issue,Ann Lee (ann@example.com),301\n"
                     "1002,Broken mug,Support Pipeline,Waiting on us,2023-02-05 10:21,,MEDIUM,Product issue,"
                     "Bob Roe (bob@example.com),302;305\n")
    stats = convert_complaints_csv(hubspot, tmp_path / "h.jsonl")
    assert [(e["customer_id"], e["complaint_id"], e["status"], e["category"], e["severity"], e["occurred_at"])
            for e in _events(tmp_path / "h.jsonl")] == [
        ("301", "1001", "opened", "logistics", "high", "2023-01-05T10:21:00Z"),
        ("301", "1001", "resolved", "logistics", "high", "2023-01-06T09:00:00Z"),
        # waiting on us: open; of two associated contacts the first
        ("302", "1002", "opened", "product", "medium", "2023-02-05T10:21:00Z"),
    ]
    assert "1 row with several customers in 'Associated Contact IDs': the first of each is taken" in stats.notes
    intercom = _write(tmp_path, "intercom.csv",
                      "Conversation ID,Created at,Last updated at,State,Closed at,User ID,User email,Tags,Priority\n"
                      "c_1,2023-01-05 10:21:33 UTC,2023-01-06 09:00:00 UTC,closed,2023-01-06 09:00:00 UTC,u_301,"
                      "ann@example.com,delivery,not_priority\n"
                      "c_2,2023-02-05 10:21:33 UTC,2023-02-05 11:00:00 UTC,snoozed,,u_302,bob@example.com,"
                      "refund,priority\n")
    convert_complaints_csv(intercom, tmp_path / "i.jsonl")
    assert [(e["customer_id"], e["complaint_id"], e["status"], e["category"], e["severity"])
            for e in _events(tmp_path / "i.jsonl")] == [
        ("u_301", "c_1", "opened", "logistics", "medium"),
        ("u_301", "c_1", "resolved", "logistics", "medium"),
        ("u_302", "c_2", "opened", "billing", "high"),
    ]


def test_an_event_log_of_status_changes_keeps_their_times_and_reopenings(tmp_path):
    src = _write(tmp_path, "changes.csv",
                 "case_number,customer,updated_at,state,topic\n"
                 "K9,c5,2024-02-01 09:00,new,broken zipper\n"
                 "K9,c5,2024-02-03 09:00,pending,broken zipper\n"     # still open: a repeat, left out
                 "K9,c5,2024-02-04 09:00,resolved,broken zipper\n"
                 "K9,c5,2024-02-10 09:00,open,broken zipper\n"        # open again after a resolution
                 "K9,c5,2024-02-11 09:00,closed,broken zipper\n")
    stats = convert_complaints_csv(src, tmp_path / "out.jsonl")
    assert [(e["status"], e["occurred_at"][:10], e["category"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("opened", "2024-02-01", "product"), ("resolved", "2024-02-04", "product"),
        ("reopened", "2024-02-10", "product"), ("resolved", "2024-02-11", "product")]
    assert any("repeat the ticket's status" in n for n in stats.notes)


def test_a_yes_no_resolved_column_is_a_status_without_its_time(tmp_path):
    src = _write(tmp_path, "t.csv", "customer_id,date,category,resolved\nc1,2024-03-01,delivery,yes\n"
                                    "c1,2024-03-09,delivery,no\n")
    convert_complaints_csv(src, tmp_path / "out.jsonl")
    assert [(e["status"], e["occurred_at"][:10]) for e in _events(tmp_path / "out.jsonl")] == [
        ("opened", "2024-03-01"), ("resolved", "2024-03-01"), ("opened", "2024-03-09")]
    # the order of a ticket's changes never rests on a tie
    assert [e["occurred_at"] for e in _events(tmp_path / "out.jsonl")][:2] == ["2024-03-01T00:00:00Z",
                                                                               "2024-03-01T00:00:01Z"]


def test_the_command_line_prints_the_summary_and_the_category_mapping(tmp_path):
    src = _write(tmp_path, "t.csv", "customer_id,created_at,category\nc1,2024-03-01,Late delivery\n")
    result = CliRunner().invoke(main, ["convert-complaints", str(src), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0, result.output
    assert "1 row read, 1 event for 1 customer written (1 opened)" in result.output
    assert "category: Late delivery -> logistics (1)" in result.output
    bad = CliRunner().invoke(main, ["convert-visits", str(src), str(tmp_path / "v.jsonl"),
                                    "--customer-column", "nope"])
    assert bad.exit_code != 0 and "the customer_id column 'nope' is not in the header" in bad.output


# --------------------------------------------------------------------------- a user's own history


def _history(tmp_path: Path) -> Path:
    """Three customers' exports of a year: orders, a visit log and tickets, as a shop has them."""
    rng = random.Random(5)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    orders = ["order_id,customer_id,order_date,total"]
    visits = ["user_id,session_start,pageviews,session_duration_sec"]
    for cid in ("k1", "k2", "k3"):
        for m in range(12):
            at = start + timedelta(days=30 * m + rng.uniform(0, 5), hours=10)
            orders.append(f"{cid}-o{m},{cid},{at:%Y-%m-%d %H:%M},{rng.uniform(60, 90):.2f}")
        day = 0.0
        while day < 364:
            # k2 visits twelve times a month until July, then twice
            every = 15.0 if cid == "k2" and day >= 182 else 2.5
            day += every * rng.uniform(0.7, 1.3)
            at = start + timedelta(days=day)
            visits.append(f"{cid},{at:%Y-%m-%d %H:%M:%S},{rng.randint(2, 6)},{rng.randint(120, 600)}")
    tickets = ["ticket_id,customer_id,created_at,subject,priority,status,resolved_at",
               # k1: a lost parcel, never answered
               "Z-1,k1,2024-09-10 09:00,Where is my parcel? Tracking not updating,high,open,",
               # k3: a damaged item answered the same day
               "Z-2,k3,2024-09-10 09:00,Damaged item,normal,resolved,2024-09-10 15:00"]
    for name, lines in (("orders.csv", orders), ("visits.csv", visits), ("tickets.csv", tickets)):
        _write(tmp_path, name, "\n".join(lines) + "\n")
    convert_orders_csv(tmp_path / "orders.csv", tmp_path / "orders.jsonl")
    convert_visits_csv(tmp_path / "visits.csv", tmp_path / "visits.jsonl")
    convert_complaints_csv(tmp_path / "tickets.csv", tmp_path / "tickets.jsonl")
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join((tmp_path / n).read_bytes() for n in ("orders.jsonl", "visits.jsonl", "tickets.jsonl")))
    return history


def test_converted_exports_concatenated_raise_the_warnings_their_stories_call_for(tmp_path):
    lines = _history(tmp_path).read_bytes().splitlines()
    end = datetime(2024, 12, 31, tzinfo=UTC)
    # Early signs published too (`watch`), to see the complaint alarm at its deadline.
    result = run_offline(Settings(partitions=1, publish_min_level="watch"), lines, advance_to=end)
    assert result.dead_letters == []
    first: dict[str, dict] = {}     # "customer:kind" -> the first warning carrying that signal
    for w in result.warnings:
        if w["state"] != "cleared":
            for s in w["signals"]:
                first.setdefault(f"{w['customer_id']}:{s['kind']}", w)
    # The lost parcel nobody answered: a complaint warning the moment the 24-hour response
    # deadline passes, service recovery first; raised to `warning` while it stays unanswered.
    k1 = first.get("k1:complaint_increase")
    assert k1 is not None, sorted(first)
    assert k1["occurred_at"] == "2024-09-11T09:00:00Z"
    assert k1["suggested_actions"][0]["action"] == "service_recovery"
    escalated = [w for w in result.warnings if w["customer_id"] == "k1" and w["level"] == "warning"]
    assert escalated and escalated[0]["occurred_at"] < "2024-10-15"
    # By default the topic carries the episode from that step on, as its raise, service
    # recovery first.
    default = run_offline(Settings(partitions=1), lines, advance_to=end).warnings
    k1_default = [w for w in default if w["customer_id"] == "k1"]
    assert k1_default and k1_default[0]["state"] == "raised" and k1_default[0]["level"] == "warning"
    assert k1_default[0]["occurred_at"] == escalated[0]["occurred_at"]
    assert k1_default[0]["suggested_actions"][0]["action"] == "service_recovery"
    # Twelve visits a month down to two, orders unchanged: an activity warning within two
    # months of the fall, its evidence the customer's own visits before and after.
    k2 = first.get("k2:activity_drop")
    assert k2 is not None, sorted(first)
    assert "2024-07-01" <= k2["occurred_at"] <= "2024-09-01"
    evidence = next(s for s in k2["signals"] if s["kind"] == "activity_drop")
    assert evidence["current"] < evidence["baseline"] / 3
    # The damaged item answered within hours raises nothing.
    assert not any(k.startswith("k3:") for k in first), sorted(first)


def test_a_workbook_converts_as_its_csv_export_does(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Customer ID", "Created", "Category", "Closed"])
    sheet.append([12345.0, datetime(2024, 2, 1, 9, 30), "Wrong size", datetime(2024, 2, 2, 10, 0)])
    book.save(tmp_path / "tickets.xlsx")
    _write(tmp_path, "tickets.csv", "Customer ID,Created,Category,Closed\n12345,2024-02-01 09:30:00,Wrong size,"
                                    "2024-02-02 10:00:00\n")
    from_book = convert_complaints_csv(tmp_path / "tickets.xlsx", tmp_path / "a.jsonl")
    convert_complaints_csv(tmp_path / "tickets.csv", tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert from_book.sheets and [e["status"] for e in _events(tmp_path / "a.jsonl")] == ["opened", "resolved"]


def test_exports_of_common_tools_are_recognised_by_their_headers(tmp_path):
    # A GA4 event export: pseudonymous user id, event name, microseconds since 1970.
    ga4 = _write(tmp_path, "ga4.csv", "event_date,event_timestamp,event_name,user_pseudo_id,page_location\n"
                                      "20240301,1709280000000000,session_start,u.1,\n"
                                      "20240301,1709280005000000,page_view,u.1,https://shop.example/a\n"
                                      "20240301,1709280009000000,scroll,u.1,https://shop.example/a\n")
    stats = convert_visits_csv(ga4, tmp_path / "ga4.jsonl", date_format="epoch_us")
    assert stats.columns["date"] == "event_timestamp" and stats.columns["type"] == "event_name"
    assert [(e["occurred_at"], e["page"]) for e in _events(tmp_path / "ga4.jsonl")] == [
        ("2024-03-01T08:00:00Z", "(not set)"), ("2024-03-01T08:00:05Z", "https://shop.example/a")]
    assert stats.skipped == {} and stats.other_events == {"scroll": 1} and stats.days_from_other_events == 0
    # Zendesk, Freshdesk and Salesforce ticket exports.
    for name, text in (
            ("zendesk", "Id,Requester,Requester id,Subject,Status,Priority,Created at,Solved at\n"
                        "41,Ann,9001,Order arrived late,Solved,Urgent,2024-03-01 10:00,2024-03-02 10:00\n"),
            ("freshdesk", "Ticket ID,Subject,Status,Priority,Created time,Resolved time,Contact ID\n"
                          "41,Order arrived late,Closed,Urgent,2024-03-01 10:00:00,2024-03-02 10:00:00,9001\n"),
            ("salesforce", "Case Number,Account ID,Subject,Status,Priority,Date/Time Opened,Date/Time Closed\n"
                           "41,9001,Order arrived late,Closed,High,3/1/2024 10:00 AM,3/2/2024 10:00 AM\n")):
        stats = convert_complaints_csv(_write(tmp_path, f"{name}.csv", text), tmp_path / f"{name}.jsonl",
                                       date_format="monthfirst" if name == "salesforce" else None)
        assert [(e["customer_id"], e["complaint_id"], e["status"], e["category"], e["severity"], e["occurred_at"])
                for e in _events(tmp_path / f"{name}.jsonl")] == [
            ("9001", "41", "opened", "logistics", "high", "2024-03-01T10:00:00Z"),
            ("9001", "41", "resolved", "logistics", "high", "2024-03-02T10:00:00Z")], name


def test_a_ticket_type_that_names_no_complaint_gives_way_to_the_subject(tmp_path):
    # Freshdesk's export: Type is the tool's ticket type, the subject says what went wrong
    src = _write(tmp_path, "freshdesk.csv",
                 "Ticket ID,Subject,Type,Status,Created time,Contact ID\n"
                 "1,Parcel never arrived,Question,Open,2024-03-01 10:00,c1\n"
                 "2,Agent was rude,Incident,Open,2024-03-02 10:00,c2\n"
                 "3,Hello,Refund,Open,2024-03-03 10:00,c3\n"
                 "4,Hello,Question,Open,2024-03-04 10:00,c4\n")
    stats = convert_complaints_csv(src, tmp_path / "out.jsonl")
    assert [e["category"] for e in _events(tmp_path / "out.jsonl")] == ["logistics", "service", "billing", "other"]
    assert stats.mapped["category"] == {"Parcel never arrived -> logistics": 1, "Agent was rude -> service": 1,
                                        "Refund -> billing": 1, "Question -> other": 1}


def test_a_daily_listening_log_is_one_visit_a_day_with_its_seconds(tmp_path):
    # KKBox's user_logs: member id, yyyymmdd, songs played by share listened, seconds in all
    src = _write(tmp_path, "user_logs.csv",
                 "msno,date,num_25,num_50,num_75,num_985,num_100,num_unq,total_secs\n"
                 "YyO+tlZt,20150513,0,0,0,0,1,1,280.335\n"
                 "YyO+tlZt,20150709,9,1,0,0,7,11,1658.948\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    assert stats.columns == {"customer_id": "msno", "date": "date", "duration": "total_secs"}
    assert [(e["type"], e["occurred_at"], e["dwell_seconds"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("page_view", "2015-05-13T00:00:00Z", 280.335), ("page_view", "2015-07-09T00:00:00Z", 1658.948)]


def test_a_clickstream_named_by_its_pages_is_page_views(tmp_path):
    # one row per page the shopper saw, named by the page (a product analytics clickstream)
    src = _write(tmp_path, "clicks.csv",
                 "user_id,session_id,event,timestamp,platform\n"
                 "user_0000,sess_1,home,2024-03-13 10:21:14,desktop\n"
                 "user_0000,sess_1,promo_page,2024-03-13 10:21:28,desktop\n"
                 "user_0000,sess_1,product_view,2024-03-13 10:22:12,desktop\n"
                 "user_0000,sess_1,filter_results,2024-03-13 10:22:30,desktop\n"
                 "user_0000,sess_2,catalog,2024-03-15 08:00:00,mobile\n")
    stats = convert_visits_csv(src, tmp_path / "out.jsonl")
    # the name is the page
    assert [(e["type"], e["page"], e["session_id"]) for e in _events(tmp_path / "out.jsonl")] == [
        ("page_view", "home", "sess_1"), ("page_view", "promo_page", "sess_1"),
        ("page_view", "product_view", "sess_1"), ("page_view", "catalog", "sess_2")]
    assert stats.other_events == {"filter_results": 1}
