"""Orders CSV -> replay file: users can replay their own exports, including the UCI layout."""

from __future__ import annotations

import doctest
import gzip
import json
from pathlib import Path

import pytest

import streams.convert
from schemas.events import parse_replay_line
from streams.convert import ConvertError, convert_orders_csv, map_columns

UCI = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom
C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom
536380,22961,JAM MAKING SET PRINTED,24,12/1/2010 9:41,1.45,,United Kingdom
536381,22139,RETROSPOT TEA SET CERAMIC 11 PC ,1,12/2/2010 10:03,4.95,15311,United Kingdom
"""


def _events(path: Path) -> list[dict]:
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    lines = raw.splitlines()
    for line in lines:
        parse_replay_line(line)  # every line honours the contract
    return [json.loads(line) for line in lines]


def _write(tmp_path: Path, text: str, name: str = "orders.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_uci_layout_groups_invoice_lines_and_marks_cancellations(tmp_path: Path):
    out = tmp_path / "orders.jsonl"
    stats = convert_orders_csv(_write(tmp_path, UCI), out, date_format="monthfirst", default_currency="GBP")
    events = _events(out)
    summary = [(e["customer_id"], e["order_id"], e["occurred_at"], e["amount"], e["items"], e["status"])
               for e in events]
    assert summary == [
        # 6 x 2.55 + 6 x 3.39 = 35.64, 12 items, one order for two lines
        ("17850", "536365", "2010-12-01T08:26:00Z", 35.64, 12, "placed"),
        ("17850", "536366", "2010-12-01T08:28:00Z", 11.1, 6, "placed"),  # "17850.0" is 17850
        ("13047", "536367", "2010-12-01T08:34:00Z", 54.08, 32, "placed"),
        ("14527", "C536379", "2010-12-01T09:41:00Z", 27.5, 1, "cancelled"),
        ("15311", "536381", "2010-12-02T10:03:00Z", 4.95, 1, "placed"),
    ]
    assert {e["currency"] for e in events} == {"GBP"}
    assert stats.rows_read == 7 and stats.orders_written == 5 and stats.customers == 4
    assert stats.skipped == {"missing_customer_id": 1}
    assert stats.examples == ["line 7, column 'CustomerID': missing_customer_id (no customer id)"]
    assert stats.statuses == {"cancelled": 1, "placed": 4}


def test_online_retail_ii_header_is_understood(tmp_path: Path):
    text = (
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "489434,85048,15CM CHRISTMAS GLASS BALL,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom\n"
        "489434,79323P,PINK CHERRY LIGHTS,12,2009-12-01 07:45:00,6.75,13085.0,United Kingdom\n"
    )
    out = tmp_path / "o.jsonl"
    convert_orders_csv(_write(tmp_path, text), out)
    [event] = _events(out)
    assert (event["customer_id"], event["amount"], event["items"], event["occurred_at"]) == (
        "13085", 164.4, 24, "2009-12-01T07:45:00Z")


def test_plain_export_takes_iso_dates_with_offsets_and_one_order_per_line(tmp_path: Path):
    text = (
        "customer_id,date,amount,currency,category\n"
        "a,2024-03-01T10:00:00+02:00,19.90,SEK,books\n"
        "b,2024-03-01,5,,\n"
        "a,2024-02-01 09:00,-7.5,,toys\n"
    )
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, text), out)
    events = _events(out)
    assert [(e["customer_id"], e["occurred_at"], e["amount"], e["currency"], e["status"], e["category"])
            for e in events] == [
        ("a", "2024-02-01T09:00:00Z", 7.5, "EUR", "returned", "toys"),  # negative total: a return
        ("b", "2024-03-01T00:00:00Z", 5.0, "EUR", "placed", None),  # naive: UTC
        ("a", "2024-03-01T08:00:00Z", 19.9, "SEK", "placed", "books"),  # +02:00 -> UTC
    ]
    assert all(e["order_id"].startswith("row-") for e in events) and len({e["order_id"] for e in events}) == 3
    assert stats.skipped == {}


def test_status_column_wins_and_unknown_statuses_are_counted_not_guessed(tmp_path: Path):
    text = (
        "CustomerID,OrderDate,Total,OrderID,Status\n"
        "c1,2024-01-01,10,o1,Completed\n"
        "c1,2024-01-02,10,o2,Canceled\n"
        "c1,2024-01-20,10,o1,Refunded\n"
        "c1,2024-01-03,10,o3,\n"
        "c1,2024-01-04,10,o4,lost in space\n"
    )
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, text), out)
    events = _events(out)
    assert [(e["order_id"], e["status"]) for e in events] == [
        ("o1", "placed"), ("o2", "cancelled"), ("o3", "placed"), ("o1", "returned")]
    assert len({e["event_id"] for e in events}) == 4
    assert stats.skipped == {"unknown_status": 1}
    assert "line 6, column 'Status': unknown_status ('lost in space'" in stats.examples[0]


def test_ambiguous_dates_need_a_format_and_the_format_decides_day_or_month(tmp_path: Path):
    text = "customer_id,date,amount\nc1,03/04/2024 18:30,10\n"
    path = _write(tmp_path, text)
    with pytest.raises(ConvertError, match="not an ISO 8601 date; say how to read it \\(--date-format\\): 'dayfirst'"):
        convert_orders_csv(path, tmp_path / "o.jsonl")
    convert_orders_csv(path, tmp_path / "d.jsonl", date_format="dayfirst")
    convert_orders_csv(path, tmp_path / "m.jsonl", date_format="monthfirst")
    convert_orders_csv(path, tmp_path / "f.jsonl", date_format="%d/%m/%Y %H:%M")
    assert _events(tmp_path / "d.jsonl")[0]["occurred_at"] == "2024-04-03T18:30:00Z"
    assert _events(tmp_path / "m.jsonl")[0]["occurred_at"] == "2024-03-04T18:30:00Z"
    assert _events(tmp_path / "f.jsonl")[0]["occurred_at"] == "2024-04-03T18:30:00Z"


def test_the_order_of_numeric_dates_is_read_from_the_file_when_it_shows(tmp_path: Path):
    # The UCI Online Retail export: month first, which 12/13/2010 shows (there is no 13th month).
    month = _write(tmp_path, "customer_id,date,amount\nc1,12/1/2010 8:26,10\nc1,12/13/2010 9:00,12\n")
    stats = convert_orders_csv(month, tmp_path / "m.jsonl")
    assert [e["occurred_at"] for e in _events(tmp_path / "m.jsonl")] == ["2010-12-01T08:26:00Z", "2010-12-13T09:00:00Z"]
    assert stats.date_order == "month first (detected from '12/13/2010 9:00')"
    assert "dates read month first" in stats.summary()
    day = tmp_path / "day.csv"
    day.write_text("customer_id,date,amount\nc1,01.12.2010,10\nc1,24.12.2010,12\n")
    convert_orders_csv(day, tmp_path / "d.jsonl")
    assert [e["occurred_at"] for e in _events(tmp_path / "d.jsonl")] == ["2010-12-01T00:00:00Z", "2010-12-24T00:00:00Z"]
    # Both orders seen: the file does not say, so a format is needed.
    both = tmp_path / "both.csv"
    both.write_text("customer_id,date,amount\nc1,13/01/2010,10\nc1,01/13/2010,12\n")
    with pytest.raises(ConvertError, match="--date-format"):
        convert_orders_csv(both, tmp_path / "b.jsonl")


def test_bad_rows_are_skipped_and_counted_by_reason(tmp_path: Path):
    text = (
        "customer_id,date,amount,currency\n"
        "c1,2024-01-01,ten,EUR\n"
        "c1,yesterday,10,EUR\n"
        "c1,2024-01-01,10,euro\n"
        "NaN,2024-01-01,10,EUR\n"
        "c2,2024-01-05,10,EUR\n"
    )
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, text), out)
    assert stats.skipped == {"bad_amount": 1, "bad_currency": 1, "bad_date": 1, "missing_customer_id": 1}
    assert stats.rows_read == 5 and stats.orders_written == 1 and stats.rows_skipped == 4
    assert [e["customer_id"] for e in _events(out)] == ["c2"]


def test_missing_required_columns_are_named_with_what_was_found(tmp_path: Path):
    with pytest.raises(ConvertError, match=r"lacks date, amount \(or quantity and unit price\); found columns: customer, note"):
        convert_orders_csv(_write(tmp_path, "customer,note\nc1,x\n"), tmp_path / "o.jsonl")


def test_a_file_with_no_usable_row_fails_with_the_first_reason(tmp_path: Path):
    with pytest.raises(ConvertError, match="no usable order rows; first problem: line 2, column 'customer_id': missing_customer_id"):
        convert_orders_csv(_write(tmp_path, "customer_id,date,amount\n,2024-01-01,1\n"), tmp_path / "o.jsonl")


def test_semicolons_and_decimal_commas_of_european_exports(tmp_path: Path):
    text = "customer;date;amount\nk1;2024-05-01;1.234,50\nk2;2024-05-02;12,5\n"
    out = tmp_path / "o.jsonl"
    convert_orders_csv(_write(tmp_path, text), out)
    assert [e["amount"] for e in _events(out)] == [1234.5, 12.5]


def test_gzipped_input_and_output_and_identical_output_on_a_second_run(tmp_path: Path):
    src = tmp_path / "orders.csv.gz"
    src.write_bytes(gzip.compress(UCI.encode()))
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    convert_orders_csv(src, first, date_format="monthfirst")
    convert_orders_csv(src, second, date_format="monthfirst")
    assert first.read_bytes() == second.read_bytes()
    ids = [e["event_id"] for e in _events(first)]
    assert len(set(ids)) == len(ids) == 5 and all(i.startswith("ord-") for i in ids)


def test_a_latin1_file_is_refused_with_the_encoding_to_try_and_read_with_it(tmp_path: Path):
    text = "customer_id,date,amount,category\nc1,2024-01-01,3,caf\u00e9\n"
    path = _write(tmp_path, text, encoding="latin-1")
    with pytest.raises(ConvertError, match="not valid utf-8-sig text.*e.g. --encoding latin-1"):
        convert_orders_csv(path, tmp_path / "o.jsonl")
    convert_orders_csv(path, tmp_path / "o.jsonl", encoding="latin-1")
    assert _events(tmp_path / "o.jsonl")[0]["category"] == "caf\u00e9"


def test_docstring_examples_run():
    assert doctest.testmod(streams.convert).failed == 0


def _convert_cli():
    """A click group with the converters' commands, as `churnwatch` registers them."""
    import click

    @click.group()
    def cli() -> None:
        pass

    streams.convert.register(cli)
    return cli


def test_convert_orders_command_reports_counts_and_skipped_lines(tmp_path: Path):
    from click.testing import CliRunner

    cli = _convert_cli()
    out = tmp_path / "out" / "orders.jsonl"
    result = CliRunner().invoke(cli, ["convert-orders", str(_write(tmp_path, UCI)), str(out),
                                      "--date-format", "monthfirst", "--currency", "GBP"])
    assert result.exit_code == 0, result.output
    assert f"7 rows read, 5 orders for 4 customers written (1 cancelled kept); 1 row skipped (missing_customer_id: 1) -> {out}" in result.output
    assert "skipped line 7, column 'CustomerID': missing_customer_id" in result.output
    assert len(_events(out)) == 5
    # no currency column: the currency every order was given is said, not left to be guessed
    assert "currency: GBP for rows without a currency sign (no currency column)" in result.output


def test_a_german_export_with_dotted_dates_and_an_unrecognised_currency_header(tmp_path: Path):
    from click.testing import CliRunner

    cli = _convert_cli()
    src = tmp_path / "bestellungen.csv"
    src.write_text("kunde;datum;betrag;währung\nk1;05.01.2024;12,50;CHF\nk1;05.03.2024;1.234,50;CHF\n",
                   encoding="utf-8")
    out = tmp_path / "orders.jsonl"
    args = ["convert-orders", str(src), str(out), "--customer-column", "kunde", "--date-column", "datum",
            "--amount-column", "betrag"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    # dd.mm.yyyy is day first even when no day is above 12
    assert [(e["occurred_at"], e["amount"], e["currency"]) for e in _events(out)] == [
        ("2024-01-05T00:00:00Z", 12.5, "EUR"), ("2024-03-05T00:00:00Z", 1234.5, "EUR")]
    assert "2 rows read, 2 orders for 1 customer written; dates read day first" in result.output
    # nothing in the file names its currency: EUR is used, and said to be an assumption
    assert "currency: EUR (assumed: the file does not say) for rows without a currency sign (no currency column)" \
        in result.output
    result = CliRunner().invoke(cli, [*args, "--currency-column", "währung"])
    assert result.exit_code == 0, result.output
    assert {e["currency"] for e in _events(out)} == {"CHF"} and "currency:" not in result.output


CDNOW_LIKE = (
    " customer_id  date number_of_cds  dollar_value\r\n"
    " 00001 19970101  1   11.77\r\n"
    " 00002 19970112  1   12.00\r\n"
    " 00002 19970112  5   77.00\r\n"
    " 00002 19970303  2   20.76\r\n"
)


def test_whitespace_separated_log_with_yyyymmdd_dates_is_read_like_the_cdnow_file(tmp_path: Path):
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, CDNOW_LIKE), out, default_currency="USD")
    events = _events(out)
    assert [(e["customer_id"], e["occurred_at"], e["amount"], e["items"], e["currency"]) for e in events] == [
        ("00001", "1997-01-01T00:00:00Z", 11.77, 1, "USD"),  # leading zeros of the id kept
        ("00002", "1997-01-12T00:00:00Z", 12.0, 1, "USD"),
        ("00002", "1997-01-12T00:00:00Z", 77.0, 5, "USD"),
        ("00002", "1997-03-03T00:00:00Z", 20.76, 2, "USD"),
    ]
    assert stats.columns == {"customer_id": "customer_id", "date": "date", "amount": "dollar_value",
                             "quantity": "number_of_cds"}


def test_an_amount_column_named_for_its_currency_gives_the_currency_unless_one_is_given(tmp_path: Path):
    from click.testing import CliRunner

    cli = _convert_cli()
    out = tmp_path / "o.jsonl"
    # CDNOW's log as published: amounts in a column called dollar_value, no currency column
    result = CliRunner().invoke(cli, ["convert-orders", str(_write(tmp_path, CDNOW_LIKE)), str(out)])
    assert result.exit_code == 0, result.output
    assert {e["currency"] for e in _events(out)} == {"USD"}
    assert "currency: USD (from the column name 'dollar_value') for rows without a currency sign" in result.output
    # the shop knows better: --currency wins over the column's name
    result = CliRunner().invoke(cli, ["convert-orders", str(_write(tmp_path, CDNOW_LIKE)), str(out),
                                      "--currency", "CAD"])
    assert result.exit_code == 0, result.output
    assert {e["currency"] for e in _events(out)} == {"CAD"}
    assert "currency: CAD for rows without a currency sign" in result.output
    # a code in the column's name, and a currency column that names it on some rows only
    src = tmp_path / "gb.csv"
    src.write_text("customer_id,date,Amount (GBP),currency\nc1,2024-01-05,12.50,\nc1,2024-02-05,9.00,EUR\n")
    result = CliRunner().invoke(cli, ["convert-orders", str(src), str(out)])
    assert result.exit_code == 0, result.output
    assert [e["currency"] for e in _events(out)] == ["GBP", "EUR"]


def test_one_order_per_day_merges_a_customers_lines_of_one_day(tmp_path: Path):
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, CDNOW_LIKE), out, one_order_per_day=True)
    events = _events(out)
    assert [(e["customer_id"], e["order_id"][:12], e["amount"], e["items"]) for e in events] == [
        ("00001", "day-19970101", 11.77, 1),
        ("00002", "day-19970112", 89.0, 6),
        ("00002", "day-19970303", 20.76, 2),
    ]
    assert stats.rows_read == 4 and stats.orders_written == 3
    # two customers' orders of one day are two orders, with two ids
    both = _write(tmp_path, "customer_id,date,amount\nc1,1997-01-01,5\nc2,1997-01-01,6\n", "both.csv")
    convert_orders_csv(both, out, one_order_per_day=True)
    assert len({e["order_id"] for e in _events(out)}) == 2


@pytest.mark.parametrize("per_day, read_as", [(False, "orders of their own"), (True, "further items")])
def test_repeated_rows_of_a_file_without_order_ids_are_pointed_out(tmp_path: Path, per_day: bool, read_as: str):
    from streams.convert import conversion_notes

    text = "customer_id,date,amount\nc1,2024-01-01,40\nc1,2024-01-01,40\nc1,2024-01-01,40\nc2,2024-01-01,40\n"
    stats = convert_orders_csv(_write(tmp_path, text), tmp_path / "o.jsonl", one_order_per_day=per_day)

    assert stats.repeated_rows == 2
    (note,) = [n for n in conversion_notes(stats) if "repeat another row exactly" in n]
    assert read_as in note


def test_a_file_without_header_takes_its_column_names_from_the_columns_option(tmp_path: Path):
    text = "00001 19970101  1   11.77\n00003 19970102  2   20.76\n"
    path = _write(tmp_path, text)
    with pytest.raises(ConvertError, match="the first line looks like data: for a file without a header row"):
        convert_orders_csv(path, tmp_path / "o.jsonl")
    with pytest.raises(ConvertError, match="3 column names given .* but line 1 has 4 fields"):
        convert_orders_csv(path, tmp_path / "o.jsonl", columns=["customer_id", "date", "amount"])
    stats = convert_orders_csv(path, tmp_path / "o.jsonl", columns=["customer_id", "date", "cds", "amount"])
    assert [(e["customer_id"], e["amount"], e["items"]) for e in _events(tmp_path / "o.jsonl")] == [
        ("00001", 11.77, 1), ("00003", 20.76, 1)]  # "cds" is no known column: ignored, one item per line
    assert stats.rows_read == 2


def test_column_options_name_headers_the_aliases_do_not_know(tmp_path: Path):
    text = "Kunde\tBelegnr\tDatum\tMenge\tEinzelpreis\n" \
           "k1\tB1\t03.04.2024\t2\t1,50\nk1\tB1\t03.04.2024\t1\t4,00\nk2\tB2\t05.04.2024\t1\t9,99\n"
    path = _write(tmp_path, text)
    with pytest.raises(ConvertError, match="lacks customer_id, date, amount"):
        convert_orders_csv(path, tmp_path / "o.jsonl")
    mapping = {"customer_id": "Kunde", "order_id": "Belegnr", "date": "Datum", "quantity": "Menge",
               "unit_price": "Einzelpreis"}
    convert_orders_csv(path, tmp_path / "o.jsonl", column_map=mapping, date_format="dayfirst")
    assert [(e["customer_id"], e["order_id"], e["occurred_at"], e["amount"], e["items"])
            for e in _events(tmp_path / "o.jsonl")] == [
        ("k1", "B1", "2024-04-03T00:00:00Z", 7.0, 3),  # 2 x 1.50 + 1 x 4.00, one invoice
        ("k2", "B2", "2024-04-05T00:00:00Z", 9.99, 1)]
    with pytest.raises(ConvertError, match="the customer_id column 'Client' is not in the header; found columns: Kunde"):
        convert_orders_csv(path, tmp_path / "o.jsonl", column_map={"customer_id": "Client"})


def test_dropped_cancellations_and_returns_are_left_out_and_counted(tmp_path: Path):
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, UCI), out, date_format="monthfirst", cancellations="drop")
    events = _events(out)
    assert [e["order_id"] for e in events] == ["536365", "536366", "536367", "536381"]
    assert stats.statuses == {"cancelled": 1, "placed": 4}
    assert stats.customers == 3  # 14527 only cancelled: no customer left of them
    assert stats.summary() == ("7 rows read, 4 orders for 3 customers written (1 cancelled dropped); "
                               "1 row skipped (missing_customer_id: 1)")
    with pytest.raises(ConvertError, match="cancellations='refund'"):
        convert_orders_csv(_write(tmp_path, UCI), out, cancellations="refund")


def test_figures_and_dates_the_contract_cannot_hold_are_skipped_and_named_not_a_crash(tmp_path: Path):
    # An export's garbage (a placeholder date, an amount read in the wrong unit, a quantity
    # column holding a barcode) was written to the replay file or stopped the converter with
    # a traceback (OverflowError, "Integer exceeds 64-bit range"); each is now a skipped row.
    text = (
        "order_id,customer_id,date,amount,quantity\n"
        "1,c1,2024-01-01,1e300,1\n"                     # beyond 10^15
        "2,c1,2024-01-02,5,4006381333931000000000\n"    # beyond 10^9 items
        "3,c1,0001-01-01,5,1\n"                          # year 1: no four-digit year to write
        "4,c1,9999-12-31T23:00:00-05:00,5,1\n"           # year 10000 in UTC
        "5,c2,2024-01-05,6e14,1\n"                       # two lines within the limit ...
        "5,c2,2024-01-05,6e14,1\n"                       # ... whose order is not
        "6,c3,2024-01-05,1e15,1000000000\n"              # the limits themselves are kept
    )
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, text), out, default_currency="IDR")
    assert stats.skipped == {"bad_date": 2, "too_large": 4}
    assert [(e["customer_id"], e["amount"], e["items"]) for e in _events(out)] == [("c3", 1e15, 1000000000)]
    assert stats.examples[:4] == [
        "line 2, column 'amount': too_large ('1e300'; an order's amount is at most 10^15)",
        "line 3, column 'quantity': too_large ('4006381333931000000000' items; an order holds at most 10^9)",
        "line 4, column 'date': bad_date ('0001-01-01' is outside the years 1000 to 9999 an event time can have)",
        "line 5, column 'date': bad_date ('9999-12-31T23:00:00-05:00' is outside the years 1000 to 9999 an event "
        "time can have)",
    ]


def test_strict_stops_at_the_first_bad_row_naming_its_line_and_column(tmp_path: Path):
    text = "customer_id,date,amount\nc1,2024-01-01,10\nc1,2024-01-02,ten\nc1,someday,10\n"
    with pytest.raises(ConvertError, match=r"line 3, column 'amount': bad_amount \('ten' is not a number\)"):
        convert_orders_csv(_write(tmp_path, text), tmp_path / "o.jsonl", strict=True)
    stats = convert_orders_csv(_write(tmp_path, text), tmp_path / "o.jsonl")
    assert stats.examples == [
        "line 3, column 'amount': bad_amount ('ten' is not a number)",
        "line 4, column 'date': bad_date ('someday' is not an ISO 8601 date; say how to read it (--date-format): "
        "'dayfirst', 'monthfirst', 'epoch' or a strptime format like '%d/%m/%Y %H:%M')",
    ]


@pytest.mark.parametrize(("text", "date_format", "expected"), [
    ("19970101", None, "1997-01-01T00:00:00Z"),
    ("1997-01-01 13:05:00", None, "1997-01-01T13:05:00Z"),
    ("1997-01-01T13:05:00-05:00", None, "1997-01-01T18:05:00Z"),
    ("01/02/2011 13:05", "dayfirst", "2011-02-01T13:05:00Z"),
    ("01/02/2011 1:05 PM", "monthfirst", "2011-01-02T13:05:00Z"),
    ("1.2.11", "dayfirst", "2011-02-01T00:00:00Z"),
    ("20110201", "%Y%m%d", "2011-02-01T00:00:00Z"),
    # a named month settles the order of the parts: no --date-format needed
    ("Dec 9, 2011", None, "2011-12-09T00:00:00Z"),
    ("5-Jan-2023", None, "2023-01-05T00:00:00Z"),
    ("January 5 2023 2:30 PM", None, "2023-01-05T14:30:00Z"),
    ("Thu, 05 Jan 2023 10:22:11 -0500", None, "2023-01-05T15:22:11Z"),
    # among day-first dates, an ISO timestamp or a named month still reads as written
    ("2011-12-09T08:00:00.250Z", "dayfirst", "2011-12-09T08:00:00Z"),
    ("9 Dec 2011", "monthfirst", "2011-12-09T00:00:00Z"),
])
def test_common_date_formats_are_read(tmp_path: Path, text: str, date_format: str | None, expected: str):
    out = tmp_path / "o.jsonl"
    convert_orders_csv(_write(tmp_path, f"customer_id;date;amount\nc1;{text};1\n"), out, date_format=date_format)
    assert _events(out)[0]["occurred_at"] == expected


def test_a_date_format_without_percent_codes_is_refused_before_any_row_is_read(tmp_path: Path):
    out = tmp_path / "o.jsonl"
    with pytest.raises(ConvertError, match=r"--date-format 'ddmmyyyy' is not a format: .*such as '%d%m%Y'"):
        convert_orders_csv(_write(tmp_path, "customer_id,date,amount\nc1,01022024,1\n"), out, date_format="ddmmyyyy")
    assert not out.exists()
    convert_orders_csv(_write(tmp_path, "customer_id,date,amount\nc1,01022024,1\n"), out, date_format="%d%m%Y")
    assert _events(out)[0]["occurred_at"] == "2024-02-01T00:00:00Z"


def test_a_named_month_without_a_year_is_refused_not_given_this_years(tmp_path: Path):
    stats = convert_orders_csv(_write(tmp_path, "customer_id,date,amount\nc1,Dec 9 2011,10\nc1,Dec 10,12\n"),
                               tmp_path / "o.jsonl")
    assert [e["occurred_at"] for e in _events(tmp_path / "o.jsonl")] == ["2011-12-09T00:00:00Z"]
    assert stats.examples == [
        "line 3, column 'date': bad_date ('Dec 10' is not an ISO 8601 date; say how to read it (--date-format): "
        "'dayfirst', 'monthfirst', 'epoch' or a strptime format like '%d/%m/%Y %H:%M')"]


def test_convert_orders_command_takes_column_and_layout_options(tmp_path: Path):
    from click.testing import CliRunner

    cli = _convert_cli()
    src = _write(tmp_path, "00001 19970101  1   11.77\n00001 19970101  2   5.00\n00002 19970103  1   3.00\n")
    out = tmp_path / "orders.jsonl.gz"
    result = CliRunner().invoke(cli, ["convert-orders", str(src), str(out), "--columns", "customer,date,n,spend",
                                      "--quantity-column", "n", "--one-order-per-day", "--currency", "USD"])
    assert result.exit_code == 0, result.output
    assert "3 rows read, 2 orders for 2 customers written" in result.output
    assert [(e["customer_id"], e["amount"], e["items"]) for e in _events(out)] == [("00001", 16.77, 3), ("00002", 3.0, 1)]


def test_a_purchase_log_without_values_converts_with_no_amounts_and_is_judged_on_rhythm(tmp_path: Path):
    src = _write(tmp_path, "date,id\n2014-03-08 00:00:00,0\n2014-05-21 00:00:00,1\n2014-04-09 00:00:00,0\n")
    with pytest.raises(ConvertError, match="lacks customer_id, amount.*converts with --no-amounts"):
        convert_orders_csv(src, tmp_path / "o.jsonl")
    stats = convert_orders_csv(src, tmp_path / "o.jsonl", no_amounts=True, column_map={"customer_id": "id"})
    assert stats.summary() == "3 rows read, 3 orders for 2 customers written without amounts (written as 0)"
    events = _events(tmp_path / "o.jsonl")
    assert [(e["customer_id"], e["occurred_at"][:10], e["amount"], e["status"]) for e in events] == [
        ("0", "2014-03-08", 0.0, "placed"), ("0", "2014-04-09", 0.0, "placed"), ("1", "2014-05-21", 0.0, "placed")]


def test_no_amounts_ignores_amount_columns_and_the_detectors_judge_rhythm_not_basket(tmp_path: Path):
    from datetime import datetime, timezone

    from streams.offline import run_offline_file
    from streams.settings import Settings

    # A customer buying every 10 days for 200 days, then nothing for 100 days. Their baskets
    # fall from 80-100 to 5 (order value fires on the amounts), which no_amounts ignores.
    day = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()
    rows = "".join(f"c1,{datetime.fromtimestamp(day + d * 86400, tz=timezone.utc):%Y-%m-%d},{100 - d if d < 30 else 5}\n"
                   for d in range(0, 200, 10))
    src = _write(tmp_path, "customer_id,date,amount\n" + rows)
    convert_orders_csv(src, tmp_path / "o.jsonl", no_amounts=True)
    assert {e["amount"] for e in _events(tmp_path / "o.jsonl")} == {0.0}
    result = run_offline_file(Settings(), tmp_path / "o.jsonl", advance_to=datetime(2024, 10, 15, tzinfo=timezone.utc))
    kinds = {s["kind"] for w in result.warnings for s in w["signals"] if s["strength"] >= 0.5}
    assert "purchase_frequency_drop" in kinds or "silence" in kinds
    assert "order_value_drop" not in kinds
    assert result.dead_letters == []


def test_a_currency_sign_beside_the_amount_names_the_currency_of_a_row_without_a_currency_column(tmp_path: Path):
    src = tmp_path / "orders.csv"
    src.write_text('customer_id,date,amount\nc1,2024-01-01,$12.00\nc1,2024-02-01,"$1,200.50"\n'
                   "c2,2024-01-01,£9.99\nc3,2024-01-01,5.00\n")
    out = tmp_path / "orders.jsonl"
    stats = convert_orders_csv(src, out, default_currency="SEK")
    assert sorted((e["customer_id"], e["amount"], e["currency"]) for e in _events(out)) == [
        ("c1", 12.0, "USD"), ("c1", 1200.5, "USD"), ("c2", 9.99, "GBP"), ("c3", 5.0, "SEK")]
    assert stats.defaulted_currency == 1


@pytest.mark.parametrize("text, expected", [
    # decimal commas elsewhere in the file: 1.234 is a thousand two hundred and thirty-four
    ("customer_id;date;amount\nc1;2024-01-01;12,50\nc2;2024-01-02;1.234\nc3;2024-01-03;1.234.567,00\n",
     [12.5, 1234.0, 1234567.0]),
    # decimal dots elsewhere: 1,250 is a thousand two hundred and fifty
    ('customer_id,date,amount\nc1,2024-01-01,9.99\nc2,2024-01-02,"1,250"\nc3,2024-01-03,"1,234.50"\n',
     [9.99, 1250.0, 1234.5]),
])
def test_a_lone_separator_before_three_digits_is_read_by_the_decimal_mark_the_rest_of_the_file_uses(
        tmp_path: Path, text, expected):
    src = tmp_path / "orders.csv"
    src.write_text(text)
    out = tmp_path / "orders.jsonl"
    convert_orders_csv(src, out)
    assert sorted(e["amount"] for e in _events(out)) == sorted(expected)


@pytest.mark.parametrize("text, expected", [
    # whole amounts with thousands separators, no decimals anywhere (a US export)
    ('customer_id,date,amount\nc1,01/13/2024,"1,234"\nc1,02/13/2024,"2,500"\nc2,02/14/2024,75\n',
     [1234.0, 2500.0, 75.0]),
    # the same with dots (a German export of whole euros)
    ("customer_id;date;amount\nc1;13.01.2024;1.234\nc2;14.02.2024;3.100\n", [1234.0, 3100.0]),
    # two groups settle it: 1,234,567 separates thousands with commas
    ('customer_id,date,amount\nc1,2024-01-01,"1,234,567"\nc2,2024-01-02,"1,250"\n', [1234567.0, 1250.0]),
])
def test_whole_amounts_with_thousands_separators_are_not_read_a_thousand_times_too_small(
        tmp_path: Path, text, expected, capsys):
    from streams.convert import conversion_notes

    src = tmp_path / "orders.csv"
    src.write_text(text)
    out = tmp_path / "orders.jsonl"
    stats = convert_orders_csv(src, out)
    assert sorted(e["amount"] for e in _events(out)) == sorted(expected)
    guessed = [n for n in conversion_notes(stats) if "decimal mark" in n]
    # a reading no value in the file settled is said, with the option that reads it the other way
    if "1,234,567" in text:
        assert not guessed
    else:
        assert len(guessed) == 1 and "--decimal-mark" in guessed[0]


def test_the_decimal_mark_can_be_set_and_three_decimals_after_a_zero_settle_it(tmp_path: Path):
    src = tmp_path / "orders.csv"
    src.write_text('customer_id,date,amount\nc1,2024-01-01,"1,234"\nc2,2024-01-02,"2,500"\n')
    out = tmp_path / "orders.jsonl"
    convert_orders_csv(src, out, decimal_mark=",")
    assert sorted(e["amount"] for e in _events(out)) == [1.234, 2.5]
    src.write_text("customer_id,date,amount\nc1,2024-01-01,1.234\nc2,2024-01-02,0.125\n")
    stats = convert_orders_csv(src, out)
    assert sorted(e["amount"] for e in _events(out)) == [0.125, 1.234] and stats.decimal_guess == ("", "")


def test_a_row_whose_unquoted_value_holds_the_separator_is_skipped_not_shifted(tmp_path: Path):
    src = tmp_path / "orders.csv"
    src.write_text("customer_id,date,amount\nc1,2024-01-13,12.5\nc2,2024-02-01,$1,234\nc2,2024-02-03,20,,\n")
    out = tmp_path / "orders.jsonl"
    stats = convert_orders_csv(src, out)
    assert sorted(e["amount"] for e in _events(out)) == [12.5, 20.0]    # trailing empty values are harmless
    assert stats.skipped == {"extra_fields": 1} and "line 3" in stats.examples[0]
    with pytest.raises(ConvertError, match="line 3.*extra_fields"):
        convert_orders_csv(src, out, strict=True)


def test_a_refund_booked_later_under_the_order_id_is_a_return_of_its_own(tmp_path: Path):
    text = ("customer_id,date,amount,order_id\n"
            "c1,2024-01-01,50,o6\nc1,2024-01-10,-50,o6\n"     # refunded in full
            "c2,2024-01-01,50,o1\nc2,2024-01-12,-80,o1\n"     # more than the order (shipping, goodwill)
            "c4,2024-01-01,50,o3\nc4,2024-01-01,-5,o3\n")     # a discount line of the purchase itself
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, text), out)
    got = sorted((e["customer_id"], e["occurred_at"][:10], e["status"], e["amount"], e["order_id"]) for e in _events(out))
    assert got == [("c1", "2024-01-01", "placed", 50.0, "o6"), ("c1", "2024-01-10", "returned", 50.0, "o6"),
                   ("c2", "2024-01-01", "placed", 50.0, "o1"), ("c2", "2024-01-12", "returned", 80.0, "o1"),
                   ("c4", "2024-01-01", "placed", 45.0, "o3")]
    assert stats.statuses == {"placed": 3, "returned": 2}


def test_repeated_rows_of_an_order_and_orders_dated_in_the_future_are_pointed_out(tmp_path: Path):
    from streams.convert import conversion_notes

    text = ("customer_id,date,amount,order_id\nc8,2024-01-01,40.00,o14\nc8,2024-01-01,40.00,o14\n"
            "c9,2099-01-01,10,o15\nc9,2024-01-01,10,o16\n")
    stats = convert_orders_csv(_write(tmp_path, text), tmp_path / "o.jsonl")
    notes = conversion_notes(stats)
    assert (stats.repeated_rows, stats.future_orders) == (1, 1)
    assert any("1 row of an order repeats another" in n for n in notes)
    assert any("1 order dated in the future, the latest 2099-01-01" in n for n in notes)


def test_ids_equal_but_for_leading_zeros_are_pointed_out(tmp_path: Path):
    from streams.convert import conversion_notes

    text = "customer_id,date,amount\n00113,2024-01-01,40\n113,2024-02-01,40\n0042,2024-01-01,9\n7,2024-01-01,9\n"
    stats = convert_orders_csv(_write(tmp_path, text), tmp_path / "o.jsonl")

    assert stats.customers == 4
    (note,) = [n for n in conversion_notes(stats) if "leading zeros" in n]
    assert note.startswith("1 customer id equals another but for leading zeros (e.g. '00113' and '113')")
    clean = convert_orders_csv(_write(tmp_path, "customer_id,date,amount\n00113,2024-01-01,40\n", "c.csv"),
                               tmp_path / "c.jsonl")
    assert not [n for n in conversion_notes(clean) if "leading zeros" in n]


def test_exports_without_order_ids_concatenate_without_two_orders_sharing_an_id(tmp_path: Path):
    # January's and February's exports: each order is on line 2 of its file
    january = _write(tmp_path, "customer_id,date,amount\nc1,2024-01-01,50\n", "m1.csv")
    february = _write(tmp_path, "customer_id,date,amount\nc1,2024-02-01,70\nc1,2024-02-01,70\n", "m2.csv")
    convert_orders_csv(january, tmp_path / "m1.jsonl")
    convert_orders_csv(february, tmp_path / "m2.jsonl")
    both = _events(tmp_path / "m1.jsonl") + _events(tmp_path / "m2.jsonl")
    assert len({e["event_id"] for e in both}) == len({e["order_id"] for e in both}) == 3
    # the same line converted again (an overlapping export) keeps its id: replaying both is idempotent
    convert_orders_csv(january, tmp_path / "again.jsonl")
    assert _events(tmp_path / "again.jsonl")[0]["event_id"] == _events(tmp_path / "m1.jsonl")[0]["event_id"]


def test_an_output_that_is_the_input_is_refused_before_anything_is_written(tmp_path: Path):
    from click.testing import CliRunner

    from streams.cli import main

    src = _write(tmp_path, UCI)
    before = src.read_bytes()
    result = CliRunner().invoke(main, ["convert-orders", str(src), str(tmp_path / "." / "orders.csv")])
    assert result.exit_code == 1 and "would destroy the input" in result.output
    assert src.read_bytes() == before


def test_epoch_seconds_are_read_when_asked_for(tmp_path: Path):
    src = tmp_path / "orders.csv"
    src.write_text("customer_id,date,amount\nc1,1700000000,10\nc1,1700086400,12\n")
    out = tmp_path / "orders.jsonl"
    convert_orders_csv(src, out, date_format="epoch")
    assert [e["occurred_at"] for e in _events(out)] == ["2023-11-14T22:13:20Z", "2023-11-15T22:13:20Z"]


def test_counts_since_1970_are_told_apart_by_their_digits_without_a_format(tmp_path: Path):
    src = tmp_path / "orders.csv"
    # seconds, milliseconds (Retailrocket), microseconds (GA4): the same instant three ways
    src.write_text("customer_id,date,amount\nc1,1700000000,10\nc2,1700000000000,11\nc3,1700000000000000,12\n")
    out = tmp_path / "orders.jsonl"
    convert_orders_csv(src, out, strict=True)
    assert {e["customer_id"]: e["occurred_at"] for e in _events(out)} == {
        "c1": "2023-11-14T22:13:20Z", "c2": "2023-11-14T22:13:20Z", "c3": "2023-11-14T22:13:20Z"}
    # a number that is no such count (nine digits; ten that would be after 2033) still needs a format
    for text in ("170000000", "2024010112"):
        src.write_text(f"customer_id,date,amount\nc1,{text},10\n")
        with pytest.raises(ConvertError, match="'epoch'"):
            convert_orders_csv(src, out, strict=True)


def test_a_clickstream_log_gives_its_purchases_as_orders_and_counts_the_other_events(tmp_path: Path):
    # the layout of the Retailrocket e-commerce dataset: views, add-to-carts and transactions
    src = _write(tmp_path, "timestamp,visitorid,event,itemid,transactionid\n"
                           "1433221332117,257597,view,355908,\n"
                           "1433224214164,992329,view,248676,\n"
                           "1433224086234,257597,addtocart,355908,\n"
                           "1433223236124,257597,transaction,355908,9765\n"
                           "1433223236124,257597,transaction,248676,9765\n"
                           "1433909999000,992329,transaction,248676,9801\n")
    stats = convert_orders_csv(src, tmp_path / "o.jsonl", no_amounts=True, strict=True)
    assert stats.columns["event"] == "event" and stats.columns["order_id"] == "transactionid"
    assert stats.other_events == {"view": 2, "addtocart": 1} and not stats.skipped
    assert "3 rows of other events than purchases left out (view: 2, addtocart: 1)" in stats.summary()
    events = _events(tmp_path / "o.jsonl")
    assert [(e["customer_id"], e["order_id"], e["items"], e["occurred_at"]) for e in events] == [
        ("257597", "9765", 2, "2015-06-02T05:33:56Z"), ("992329", "9801", 1, "2015-06-10T04:19:59Z")]
    only_views = _write(tmp_path, "timestamp,visitorid,event\n1433221332117,257597,view\n", name="v.csv")
    with pytest.raises(ConvertError, match="another event than a purchase"):
        convert_orders_csv(only_views, tmp_path / "v.jsonl", no_amounts=True)


def test_a_clickstream_with_a_price_per_row_gives_its_purchases_with_that_price(tmp_path: Path):
    # the layout of the REES46 multi-category store events: one product per row, its price,
    # no quantity; views and carts are not orders
    src = _write(tmp_path, "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
                           "2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,s1\n"
                           "2019-10-01 00:02:14 UTC,purchase,1004856,2053013555631882655,electronics.smartphone,"
                           "samsung,130.76,543272936,s2\n"
                           "2019-10-01 00:03:14 UTC,cart,1004856,2053013555631882655,electronics.smartphone,"
                           "samsung,130.76,543272936,s2\n")
    stats = convert_orders_csv(src, tmp_path / "o.jsonl", default_currency="USD", strict=True)
    assert stats.columns["amount"] == "price" and stats.other_events == {"view": 1, "cart": 1}
    assert [(e["customer_id"], e["amount"], e["items"], e["category"]) for e in _events(tmp_path / "o.jsonl")] == [
        ("543272936", 130.76, 1, "electronics.smartphone")]


def test_a_ga4_event_export_gives_its_purchases_as_orders_with_their_revenue(tmp_path: Path):
    src = _write(tmp_path, "event_date,event_timestamp,event_name,user_pseudo_id,ecommerce.transaction_id,"
                           "ecommerce.purchase_revenue\n"
                           "20240301,1709280000000000,session_start,u.1,,\n"
                           "20240301,1709280005000000,page_view,u.1,,\n"
                           "20240301,1709280009000000,add_to_cart,u.1,,\n"
                           "20240301,1709280060000000,purchase,u.1,T-17,59.90\n", name="ga4.csv")
    stats = convert_orders_csv(src, tmp_path / "o.jsonl", default_currency="USD", strict=True)
    assert stats.columns == {"customer_id": "user_pseudo_id", "date": "event_timestamp",
                             "amount": "ecommerce.purchase_revenue", "order_id": "ecommerce.transaction_id",
                             "event": "event_name"}
    assert stats.other_events == {"session_start": 1, "page_view": 1, "add_to_cart": 1}
    assert [(e["customer_id"], e["order_id"], e["amount"], e["occurred_at"]) for e in _events(tmp_path / "o.jsonl")] \
        == [("u.1", "T-17", 59.9, "2024-03-01T08:01:00Z")]


# --- Excel workbooks (.xlsx): the UCI Online Retail logs are published as workbooks ---------

def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _uci_rows() -> list[list]:
    """The rows of `UCI` as a workbook holds them: dates as datetimes, numbers as numbers,
    customer ids as floats (as in the published workbook)."""
    from datetime import datetime

    rows = []
    for line in UCI.strip().splitlines()[1:]:
        inv, code, desc, qty, date, price, cust, country = line.split(",")
        month, day, rest = date.split("/")
        year, clock = rest.split()
        hour, minute = clock.split(":")
        rows.append([int(inv) if inv.isdigit() else inv, code, desc, int(qty),
                     datetime(int(year), int(month), int(day), int(hour), int(minute)), float(price),
                     float(cust) if cust else None, country])
    return rows


def test_a_workbook_converts_as_its_csv_export_does_across_its_sheets(tmp_path):
    header = UCI.splitlines()[0].split(",")
    rows = _uci_rows()
    book = _workbook(tmp_path / "online_retail_II.xlsx",
                     {"Year 2009-2010": [header, *rows[:4]], "Year 2010-2011": [header, *rows[4:]]})
    from_book = convert_orders_csv(book, tmp_path / "book.jsonl")
    from_csv = convert_orders_csv(_write(tmp_path, UCI), tmp_path / "csv.jsonl", date_format="monthfirst")
    assert _events(tmp_path / "book.jsonl") == _events(tmp_path / "csv.jsonl")
    assert from_book.orders_written == from_csv.orders_written == 5
    assert from_book.sheets == ["'Year 2009-2010' (lines 2-5)", "'Year 2010-2011' (lines 6-8)"]
    # the row without a customer (second sheet's second row) is reported at its line
    assert from_book.examples == ["line 7, column 'CustomerID': missing_customer_id (no customer id)"]
    assert "from the workbook's sheets 'Year 2009-2010'" in from_book.summary()


def test_a_workbook_is_recognised_by_its_content_whatever_its_name(tmp_path):
    header = UCI.splitlines()[0].split(",")
    book = _workbook(tmp_path / "export.xlsx", {"Sheet1": [header, *_uci_rows()]})
    renamed = book.rename(tmp_path / "export.csv")
    assert convert_orders_csv(renamed, tmp_path / "o.jsonl").orders_written == 5


def test_a_sheet_with_other_columns_is_an_error_that_names_it(tmp_path):
    header = UCI.splitlines()[0].split(",")
    book = _workbook(tmp_path / "b.xlsx", {"Orders": [header, *_uci_rows()], "Notes": [["note"], ["hello"]]})
    with pytest.raises(ConvertError, match="sheet 'Notes' has the columns note"):
        convert_orders_csv(book, tmp_path / "o.jsonl")


def test_an_old_excel_file_gets_a_clear_error_not_an_encoding_one(tmp_path):
    old = tmp_path / "orders.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(ConvertError, match=r"Excel 97-2003 workbook \(\.xls\).*save it as \.xlsx or CSV"):
        convert_orders_csv(old, tmp_path / "o.jsonl")


def test_a_subscription_log_names_its_paid_amount_and_transaction_date():
    # KKBox's transactions.csv: the paid amount and the transaction date are recognised, not
    # the list price or the membership's expiry date beside them
    header = ["msno", "payment_method_id", "payment_plan_days", "plan_list_price", "actual_amount_paid",
              "is_auto_renew", "transaction_date", "membership_expire_date", "is_cancel"]
    roles = map_columns(header, {"customer_id": "msno"})
    assert (header[roles["amount"]], header[roles["date"]]) == ("actual_amount_paid", "transaction_date")


# Shopify's orders export: one row per line item; the order's total, status, currency and
# cancellation are on its first row only. Abridged to the columns that matter and a few others.
SHOPIFY = """Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Cancelled at,Id
#1001,ann@example.com,paid,2023-01-05 10:21:33 +0100,fulfilled,CHF,90.00,5.00,95.00,2023-01-05 10:20:01 +0100,1,Blue mug,40.00,,5101
#1001,ann@example.com,,,,,,,,2023-01-05 10:20:01 +0100,2,Red mug,25.00,,
#1002,bob@example.com,pending,,unfulfilled,CHF,20.00,5.00,25.00,2023-01-07 11:59:00 +0100,2,Spoon,10.00,,5102
#1003,Ann@Example.com,refunded,2023-02-05 10:21:33 +0100,fulfilled,CHF,30.00,5.00,35.00,2023-02-05 10:20:01 +0100,1,Green mug,30.00,,5103
#1004,bob@example.com,voided,,,CHF,20.00,5.00,25.00,2023-02-08 08:00:00 +0100,1,Spoon,20.00,2023-02-08 09:00:00 +0100,5104
#1004,bob@example.com,,,,,,,,2023-02-08 08:00:00 +0100,1,Fork,0.00,,
#1005,ann@example.com,partially_refunded,2023-03-05 10:21:33 +0100,fulfilled,CHF,70.00,5.00,75.00,2023-03-05 10:20:01 +0100,3,Teapot,70.00,,5105
"""


def test_a_shopify_orders_export_is_read_one_order_per_order_number(tmp_path: Path):
    out = tmp_path / "orders.jsonl"
    stats = convert_orders_csv(_write(tmp_path, SHOPIFY), out)
    assert [(e["customer_id"], e["order_id"], e["occurred_at"], e["amount"], e["currency"], e["items"], e["status"])
            for e in _events(out)] == [
        # the two line items are one order of 95.00 with 3 items; the second row's blank
        # currency and status are the order's, not the default currency and "placed"
        ("ann@example.com", "#1001", "2023-01-05T09:20:01Z", 95.0, "CHF", 3, "placed"),
        ("bob@example.com", "#1002", "2023-01-07T10:59:00Z", 25.0, "CHF", 2, "placed"),
        # the address in other letter case is the same customer
        ("ann@example.com", "#1003", "2023-02-05T09:20:01Z", 35.0, "CHF", 1, "returned"),
        # cancelled (its "Cancelled at"), both lines of it
        ("bob@example.com", "#1004", "2023-02-08T07:00:00Z", 25.0, "CHF", 2, "cancelled"),
        # a partial refund leaves the purchase standing
        ("ann@example.com", "#1005", "2023-03-05T09:20:01Z", 75.0, "CHF", 3, "placed"),
    ]
    assert stats.layout == "Shopify orders export" and stats.skipped == {} and stats.defaulted_currency == 0
    assert stats.columns["order_id"] == "Name" and stats.columns["customer_id"] == "Email"
    assert "read as a Shopify orders export" in stats.summary()


def test_a_name_and_email_column_alone_are_not_taken_for_an_order_number():
    # outside the Shopify layout "Name" is a person's name: grouping by it would merge orders
    roles = map_columns(["Name", "Email", "Date", "Total"])
    assert "order_id" not in roles and roles["customer_id"] == 1


BIGCOMMERCE = """Order ID,Customer ID,Customer Name,Customer Email,Order Date,Order Status,Subtotal (inc tax),Order Total (inc tax),Order Total (ex tax)
101,7,Ann Lee,ann@example.com,05/01/2023,Completed,90.00,95.00,80.00
102,0,Guest One,Guest@Example.com,15/01/2023,Awaiting Fulfillment,20.00,25.00,21.00
103,0,Guest Two,other@example.com,16/01/2023,Incomplete,20.00,25.00,21.00
104,7,Ann Lee,ann@example.com,20/01/2023,Declined,20.00,25.00,21.00
105,0,Guest One,guest@example.com,25/01/2023,Shipped,40.00,44.00,40.00
"""


def test_guest_checkouts_are_customers_by_email_and_abandoned_checkouts_are_no_orders(tmp_path: Path):
    out = tmp_path / "orders.jsonl"
    stats = convert_orders_csv(_write(tmp_path, BIGCOMMERCE), out, default_currency="USD")
    assert [(e["customer_id"], e["order_id"], e["amount"], e["status"]) for e in _events(out)] == [
        ("7", "101", 95.0, "placed"),
        ("guest@example.com", "102", 25.0, "placed"),     # customer id 0: a guest, one customer by e-mail
        ("7", "104", 25.0, "cancelled"),                  # a declined payment did not buy
        ("guest@example.com", "105", 44.0, "placed"),
    ]
    # the total with tax is read (the first of the bracketed totals), the dates day first
    assert stats.columns["amount"] == "Order Total (inc tax)" and stats.date_order.startswith("day first")
    assert stats.guest_rows == 2 and stats.other_events == {"Incomplete": 1} and stats.skipped == {}


STRIPE = """id,Created date (UTC),Amount,Amount Refunded,Currency,Captured,Converted Amount,Converted Currency,Status,Customer ID,Customer Email
ch_1,2023-01-05 10:21:33,95.00,0.00,eur,true,95.00,eur,Paid,cus_A,ann@example.com
ch_2,2023-02-05 10:21:33,35.00,35.00,eur,true,35.00,eur,Refunded,cus_A,ann@example.com
ch_3,2023-02-06 11:00:00,12.00,0.00,usd,false,11.10,eur,Failed,,guest@example.com
ch_4,2023-02-07 11:00:00,"1,250.00",0.00,usd,true,"1,156.25",eur,Paid,,
"""


def test_a_payments_export_names_its_columns_with_brackets_and_lower_case_currencies(tmp_path: Path):
    out = tmp_path / "orders.jsonl"
    stats = convert_orders_csv(_write(tmp_path, STRIPE), out)
    assert [(e["customer_id"], e["occurred_at"], e["amount"], e["currency"], e["status"]) for e in _events(out)] == [
        ("cus_A", "2023-01-05T10:21:33Z", 95.0, "EUR", "placed"),
        ("cus_A", "2023-02-05T10:21:33Z", 35.0, "EUR", "returned"),
        ("guest@example.com", "2023-02-06T11:00:00Z", 12.0, "USD", "cancelled"),
    ]
    assert stats.columns["date"] == "Created date (UTC)" and stats.columns["amount"] == "Amount"
    assert stats.skipped == {"missing_customer_id": 1}     # neither an id nor an e-mail address


def test_an_export_with_only_an_email_address_takes_it_as_the_customer(tmp_path: Path):
    magento = ('"ID","Purchase Date","Grand Total (Base)","Grand Total (Purchased)","Status","Customer Email"\n'
               '"000000001","Jan 5, 2023 10:21:33 AM","$95.00","$95.00","Complete","Ann@example.com"\n'
               '"000000002","Feb 5, 2023 9:01:00 PM","$25.00","$25.00","Canceled","ann@example.com"\n')
    out = tmp_path / "orders.jsonl"
    stats = convert_orders_csv(_write(tmp_path, magento), out)
    assert [(e["customer_id"], e["occurred_at"], e["amount"], e["currency"], e["status"]) for e in _events(out)] == [
        ("ann@example.com", "2023-01-05T10:21:33Z", 95.0, "USD", "placed"),
        ("ann@example.com", "2023-02-05T21:01:00Z", 25.0, "USD", "cancelled"),
    ]
    assert stats.columns["customer_id"] == "Customer Email" and stats.guest_rows == 0


@pytest.mark.parametrize("written, status", [
    ("wc-completed", "placed"), ("wc-on-hold", "placed"), ("wc-refunded", "returned"),
    ("wc-failed", "cancelled"), ("checkout-draft", None), ("Payment accepted", "placed"),
    ("Awaiting bank wire payment", "placed"), ("Payment error", "cancelled"), ("partially_paid", "placed"),
    ("Chargeback", "returned"), ("Suspected Fraud", "unknown"), ("unavailable", "cancelled"),
    ("approved", "placed"), ("created", "placed"),
])
def test_shop_platform_status_words(tmp_path: Path, written: str, status: str | None):
    path = _write(tmp_path, f"customer_id,date,amount,status\nc1,2023-01-05,10.00,{written}\n"
                            f"c1,2023-02-05,10.00,completed\n")
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(path, out)
    first = [e["status"] for e in _events(out) if e["occurred_at"].startswith("2023-01")]
    if status is None:       # not a purchase: counted beside the orders, not written
        assert first == [] and stats.other_events == {written: 1}
    elif status == "unknown":
        assert first == [] and stats.skipped == {"unknown_status": 1}
    else:
        assert first == [status]


def test_olists_joined_orders_are_keyed_by_the_lasting_customer_not_the_per_order_one(tmp_path: Path):
    # Olist's public data: customer_id is new with every order; customer_unique_id is the person
    olist = ("order_id,customer_id,order_status,order_purchase_timestamp,customer_unique_id,payment_value\n"
             "e481f5,9ef432,delivered,2017-10-02 10:56:33,7c396f,38.71\n"
             "53cdb2,b0830f,delivered,2018-07-24 20:41:37,7c396f,141.46\n"
             "47770e,41ce2a,unavailable,2018-08-08 08:38:49,af07308,179.12\n")
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, olist), out)
    assert stats.columns["customer_id"] == "customer_unique_id"
    assert stats.columns["date"] == "order_purchase_timestamp" and stats.columns["amount"] == "payment_value"
    assert [(e["customer_id"], e["order_id"], e["status"]) for e in _events(out)] == [
        ("7c396f", "e481f5", "placed"), ("7c396f", "53cdb2", "placed"), ("af07308", "47770e", "cancelled")]


def test_an_order_none_of_whose_lines_has_an_amount_is_skipped_and_counted(tmp_path: Path):
    path = _write(tmp_path, "order_id,customer_id,date,amount\n"
                            "A1,c1,2023-01-05,\nA1,c1,2023-01-05,\nA2,c1,2023-02-05,12.50\n")
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(path, out)
    assert [(e["order_id"], e["amount"]) for e in _events(out)] == [("A2", 12.5)]
    assert stats.skipped == {"missing_amount": 2}
    assert stats.examples == ["line 2, column 'amount': missing_amount (no line of order A1 has an amount)"]
    # without an order id a blank amount is a bad row, as before
    path = _write(tmp_path, "customer_id,date,amount\nc1,2023-01-05,\nc1,2023-02-05,12.50\n", name="b.csv")
    assert convert_orders_csv(path, tmp_path / "b.jsonl").skipped == {"bad_amount": 1}


def test_customer_ids_that_read_as_names_are_pointed_out(tmp_path: Path, capsys):
    # WooCommerce's order report names the customer: namesakes would be one customer
    woo = ("Date,Order #,Status,Customer,Customer type,Items sold,Net Sales\n"
           "2023-01-05 10:21:33,1001,Completed,Ann Lee,returning,2,95.00\n"
           "2023-01-07 12:00:00,1002,On hold,Bob Roe,new,2,25.00\n")
    out = tmp_path / "w.jsonl"
    stats = convert_orders_csv(_write(tmp_path, woo), out)
    assert stats.named_customers == 2 and stats.customers == 2
    streams.convert.echo_stats(stats, out)
    assert "2 of the 2 customer ids read as names (column 'Customer')" in capsys.readouterr().err
    uci = convert_orders_csv(_write(tmp_path, UCI, "uci.csv"), tmp_path / "u.jsonl", date_format="monthfirst")
    assert uci.named_customers == 0


def test_a_subscription_log_with_a_cancel_flag_marks_only_the_flagged_payments_cancelled(tmp_path: Path):
    # KKBox's transactions (the WSDM churn challenge): member id, yyyymmdd dates, is_cancel 0/1
    kkbox = ("msno,payment_method_id,payment_plan_days,plan_list_price,actual_amount_paid,is_auto_renew,"
             "transaction_date,membership_expire_date,is_cancel\n"
             "YyO+tlZt,41,30,129,129,1,20150930,20151101,0\n"
             "YyO+tlZt,41,30,129,129,1,20151031,20151201,0\n"
             "YyO+tlZt,41,30,129,129,1,20151115,20151115,1\n")
    out = tmp_path / "o.jsonl"
    stats = convert_orders_csv(_write(tmp_path, kkbox), out, default_currency="TWD")
    assert stats.columns["customer_id"] == "msno" and stats.columns["cancelled_at"] == "is_cancel"
    assert stats.columns["date"] == "transaction_date" and stats.columns["amount"] == "actual_amount_paid"
    assert [(e["occurred_at"][:10], e["amount"], e["status"]) for e in _events(out)] == [
        ("2015-09-30", 129.0, "placed"), ("2015-10-31", 129.0, "placed"), ("2015-11-15", 129.0, "cancelled")]


def test_a_clickstream_named_by_its_pages_gives_only_its_purchases_as_orders(tmp_path: Path):
    # rows named by the page seen; every name but the purchase used to become an order
    src = _write(tmp_path, "user_id,session_id,event,timestamp\n"
                           "u0,s1,home,2024-03-13 10:21:14\nu0,s1,product_view,2024-03-13 10:22:12\n"
                           "u0,s1,payment_details,2024-03-13 10:24:00\nu0,s1,purchase,2024-03-13 10:25:00\n"
                           "u0,s2,catalog,2024-03-20 08:00:00\nu0,s2,order_history_view,2024-03-20 08:01:00\n",
                 name="clicks.csv")
    stats = convert_orders_csv(src, tmp_path / "o.jsonl", no_amounts=True)
    assert [e["occurred_at"] for e in _events(tmp_path / "o.jsonl")] == ["2024-03-13T10:25:00Z"]
    assert stats.other_events == {"home": 1, "product_view": 1, "payment_details": 1, "catalog": 1,
                                  "order_history_view": 1}


def test_lines_of_one_basket_without_an_order_id_are_pointed_out(tmp_path: Path):
    from click.testing import CliRunner

    from streams.cli import main as cli

    # H&M's transactions: one row per article bought, the day only, no basket id
    src = _write(tmp_path, "t_dat,customer_id,article_id,price,sales_channel_id\n"
                           "2018-09-20,000058a1,0663713001,0.0508,2\n"
                           "2018-09-20,000058a1,0541518023,0.0305,2\n"
                           "2018-10-02,000058a1,0505221004,0.0152,2\n", name="hm.csv")
    result = CliRunner().invoke(cli, ["convert-orders", str(src), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0, result.output
    assert "note: 2 orders share their customer and time with another" in result.stderr
    assert "--one-order-per-day" in result.stderr
    grouped = convert_orders_csv(src, tmp_path / "g.jsonl", one_order_per_day=True)
    assert [e["amount"] for e in _events(tmp_path / "g.jsonl")] == [0.0813, 0.0152]
    assert grouped.same_time_lines == 0


def test_an_order_table_whose_customer_is_new_with_every_order_is_pointed_out(tmp_path: Path):
    from click.testing import CliRunner

    from streams.cli import main as cli

    rows = "".join(f"o{i},c{i},delivered,2017-10-{1 + i % 28:02d} 10:00:00,{10 + i}.00\n" for i in range(60))
    src = _write(tmp_path, "order_id,customer_id,order_status,order_purchase_timestamp,payment_value\n" + rows,
                 name="olist_orders.csv")
    result = CliRunner().invoke(cli, ["convert-orders", str(src), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0, result.output
    assert "note: every one of the 60 customers has exactly one order" in result.stderr


def test_ta_feng_rows_take_the_sales_price_as_amount_and_its_amount_as_quantity(tmp_path: Path):
    src = _write(tmp_path, "TRANSACTION_DT,CUSTOMER_ID,AGE_GROUP,PIN_CODE,PRODUCT_SUBCLASS,PRODUCT_ID,AMOUNT,ASSET,"
                           "SALES_PRICE\n"
                           "11/1/2000,01104905,45-49,115,110411,4710199010372,2,24,30\n"
                           "11/1/2000,01104905,45-49,115,130315,4909978112950,1,48,46\n"
                           "11/25/2000,01104905,45-49,115,110217,4710265847666,1,142,166\n", name="tafeng.csv")
    stats = convert_orders_csv(src, tmp_path / "o.jsonl", one_order_per_day=True, default_currency="TWD")
    assert stats.layout == "Ta-Feng grocery transactions"
    assert [(e["occurred_at"][:10], e["amount"], e["items"]) for e in _events(tmp_path / "o.jsonl")] == [
        ("2000-11-01", 76.0, 3), ("2000-11-25", 166.0, 1)]


def test_day_numbers_are_read_from_the_first_day_named(tmp_path: Path):
    # dunnhumby's "The Complete Journey": households, baskets, DAY 1 to 711, sales value
    src = _write(tmp_path, "household_key,BASKET_ID,DAY,PRODUCT_ID,QUANTITY,SALES_VALUE,STORE_ID,RETAIL_DISC,"
                           "TRANS_TIME,WEEK_NO,COUPON_DISC,COUPON_MATCH_DISC\n"
                           "2375,26984851472,1,1004906,1,1.39,364,-0.6,1631,1,0,0\n"
                           "2375,26984851472,1,1033142,1,0.82,364,0,1631,1,0,0\n"
                           "2375,26984851516,32,1036325,1,0.99,364,-0.3,1642,5,0,0\n", name="transaction_data.csv")
    with pytest.raises(ConvertError, match=r"'1' is not an ISO 8601 date; for day numbers .*days:2020-01-01"):
        convert_orders_csv(src, tmp_path / "x.jsonl", strict=True)
    stats = convert_orders_csv(src, tmp_path / "o.jsonl", date_format="days:2020-01-01", default_currency="USD")
    assert (stats.columns["customer_id"], stats.columns["order_id"], stats.columns["amount"]) == (
        "household_key", "BASKET_ID", "SALES_VALUE")
    assert [(e["order_id"], e["occurred_at"], e["amount"], e["items"]) for e in _events(tmp_path / "o.jsonl")] == [
        ("26984851472", "2020-01-01T00:00:00Z", 2.21, 2), ("26984851516", "2020-02-01T00:00:00Z", 0.99, 1)]


@pytest.mark.parametrize("header", ["Product Type", "product_category_name", "Department", "product_type_name"])
def test_the_category_column_is_recognised_by_the_names_shop_exports_give_it(tmp_path: Path, header: str):
    # the category is what a rival's promotion is matched against (competitor pressure)
    src = _write(tmp_path, f"Customer ID,Purchase Date,Total Price,{header}\n1000,2024-03-20,741.09,Tablet\n")
    convert_orders_csv(src, tmp_path / "o.jsonl")
    assert _events(tmp_path / "o.jsonl")[0]["category"] == "Tablet"


def test_a_category_column_is_preferred_to_a_finer_or_coded_one(tmp_path: Path):
    src = _write(tmp_path, "customer_id,date,amount,category_id,sub_category,category\nc1,2024-01-01,3,17,Mugs,Kitchen\n")
    convert_orders_csv(src, tmp_path / "o.jsonl")
    assert _events(tmp_path / "o.jsonl")[0]["category"] == "Kitchen"


def test_a_quote_without_its_partner_is_named_not_left_to_swallow_the_rest_of_the_file_unseen(tmp_path: Path):
    from streams.convert import conversion_notes

    text = ('customer_id,date,amount,note\nc1,2024-01-01,50,ok\nc1,2024-02-01,55,"broken\n'
            'c1,2024-03-01,52,ok\nc2,2024-03-05,25,ok\n')
    stats = convert_orders_csv(_write(tmp_path, text), tmp_path / "o.jsonl")
    (note,) = [n for n in conversion_notes(stats) if "quoted value" in n]
    assert "the first from line 3 over 3 lines" in note and "no closing partner" in note
    # a value written over two lines on purpose is read as one value, and named the same way
    fine = 'customer_id,date,amount,note\nc1,2024-01-01,50,"two\nlines"\nc1,2024-02-01,55,ok\n'
    stats = convert_orders_csv(_write(tmp_path, fine), tmp_path / "o.jsonl")
    assert stats.orders_written == 2 and stats.multiline_values == (1, 2, 2)
