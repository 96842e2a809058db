"""Convert a plain orders export (a shop's CSV or text file) into a replay file of ``order`` events.

So that users can replay their own history, and so that real histories can be scored
(``churnwatch evaluate-holdout``). The file needs at least a customer, a date and an amount
column (or quantity and unit price). Header names are matched case-insensitively, ignoring
spaces, ``_`` and ``-``, and common aliases are understood (:data:`COLUMN_ALIASES`), among
them the UCI *Online Retail* layout: ``InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID, Country`` (and *Online Retail II*'s ``Invoice``,
``Price``, ``Customer ID``) and the CDNOW purchase log (``customer_id date number_of_cds
dollar_value``, whitespace-separated). Shop platforms' exports are read as they are
downloaded: Shopify's orders export (recognised as a whole, :data:`KNOWN_LAYOUTS`: one row
per line item, ``Name`` the order number, ``Email`` the customer), and by their column names
WooCommerce's (``Order #``, ``Net Sales``), Magento's (``Grand Total (Base)``, ``Customer
Email``), BigCommerce's (``Order Total (inc tax)``), PrestaShop's and Stripe's payments
export (``Created date (UTC)``). Other headers are named with ``column_map``
(``--customer-column`` etc.); a file without a header row gets its column names from
``columns`` (``--columns customer_id,date,quantity,amount``).

An Excel workbook (``.xlsx``, recognised by its content, whatever its name) is read with
openpyxl: its first non-empty sheet with its header row, then every further sheet with the
same header (UCI publishes *Online Retail II* as one sheet a year), cells as a CSV export
would write them (dates in ISO 8601, ``17850.0`` as ``17850``); line numbers in the stats
count the rows so read, and the summary names each sheet's lines. A sheet with other
columns is an error; an Excel 97-2003 file (``.xls``) gets an error asking for .xlsx or CSV.

A shop API's orders in JSON (Shopify's ``{"orders": [...]}``, WooCommerce's array, or one
object a line) are read by :mod:`streams.json_records`: nested keys are columns named by their
path and matched by it (``customer.id``, ``billing.email``), top-level keys first; keys empty
in every record are left out. So are a payment API's: Stripe's charges, payment intents,
invoices and checkout sessions and Square's orders give amounts in the currency's minor
unit, which the reader turns into whole units (:func:`streams.json_records.major_units`). Public datasets read as they are published besides: Olist's
orders joined with its customers (``customer_unique_id``, the person, wins over the
per-order ``customer_id``), KKBox's transactions (``msno``, ``is_cancel``) and the Ta-Feng
grocery rows (a known layout: ``AMOUNT`` is the quantity, ``SALES_PRICE`` the amount).

Rules:

* Separator: the most frequent of ``, ; tab |`` in the first line, or runs of whitespace
  when none occurs (or as given).
* Lines with the same customer and order id are one order (invoice lines are aggregated):
  amounts and quantities are summed (items = total quantity, or the number of lines without
  a quantity column), the time is the earliest line's, the category the most frequent one.
  Without an order id column every line is an order of its own (``order_id`` =
  ``row-`` + a hash of customer, time, amount and status, and of how many such lines came
  before: the same in every export that holds the line, so converted exports of different
  months concatenate without two orders sharing an id), or with ``one_order_per_day`` a customer's lines of one day are one order
  (``order_id`` = ``day-YYYYMMDD-`` and a hash of the customer; the CDNOW log has several lines for one day's purchase).
* A negative line of an order dated after the order's purchase (a refund booked under the
  order's id) is a ``returned`` order event of its own, at its time, for its amount; the
  purchase keeps its value. Negative lines at the purchase's own time (discounts) net into it.
* Further lines of an order (same customer and order id) whose order-level cells are blank
  (total, status, currency, as in Shopify's export) take the order's; an order none of
  whose lines has an amount is skipped and counted (``missing_amount``).
* Customers: the customer id column, else an e-mail column (lower-cased). A row whose id is
  blank or ``0`` (a guest checkout) takes its e-mail address as the customer, counted in
  the summary; a guest who later registers is two customers, as the export has them.
* Status: a ``cancelled at`` column with a value means cancelled; else an explicit
  ``status`` column wins (``canceled``/``void`` -> cancelled, ``refunded``/``return`` ->
  returned, ``completed``/``shipped``/... -> placed, and platforms' words by their stems
  (:func:`status_of`): ``wc-on-hold`` and ``partially_refunded`` stand as placed, a
  failed, declined or expired payment is a cancellation, a checkout draft or an abandoned
  or incomplete checkout no order at all, counted beside the other events). Otherwise
  an order id like ``C536379`` (``C`` + digits, the UCI cancellation invoice) is
  ``cancelled`` and any other order with a negative total is ``returned``. Amounts are
  written as absolute values.
* Cancellations and returns (``cancellations``): ``keep`` (default) writes them as
  ``cancelled``/``returned`` order events: the complaints detector compares a customer's
  returns and cancellations with their habit, and they count as activity (the customer did
  something). ``drop`` leaves them out, for scoring purchases only. They are not netted
  against the order they undo: exports rarely say which one that is. Either way their number
  is in the stats and the summary line.
* Dates: ISO 8601 with or without time and offset by default, including the basic form
  ``19970101`` (YYYYMMDD); naive times are taken as UTC. Numeric dates such as
  ``12/1/2010 8:26`` are read month first or day first as the file shows: without
  ``date_format``, a first part above 12 somewhere in the date column means day first, a
  second part above 12 month first (the choice and the date that showed it are in the
  stats); dotted dates (``05.01.2024``) are day first; any other file where neither occurs
  (or both) needs ``date_format="monthfirst"`` or ``"dayfirst"``, or a ``strptime`` format
  such as ``"%d.%m.%Y %H:%M"``.
* Amounts: ``1,234.50``, ``1.234,50``, ``12,50``, ``€ 9.99``. The decimal mark is read from
  the file as the dates' order is: where other amounts show it (``12,50``, ``9.99``), a
  lone other mark before groups of three digits separates thousands (``1.234`` is 1234 in
  a file of decimal commas, ``1,250`` is 1250 in a file of decimal dots). Where none shows
  it, such a lone mark is a thousands separator too (whole amounts written ``1,234`` are far
  more common than amounts of three decimals), and the stats say so; ``decimal_mark`` sets it.
* Customer ids: surrounding spaces are dropped, and ``17850.0`` (an integer id that went
  through a spreadsheet as a float) becomes ``17850``. Leading zeros are kept (``00001``).
* Currency: a ``currency`` column is optional; a row without one takes the sign written
  beside its amount (``$12.00``: USD; ``€``, ``£``, ``¥``: EUR, GBP, JPY), else
  ``default_currency``, which is, unless given, the currency the amount column's name says
  (``dollar_value``: USD; ``Amount (GBP)``), else EUR; how many rows got the default, and
  where it came from, is printed.
* Purchase logs without values (``no_amounts``, ``--no-amounts``; e.g. a loyalty-card log
  of ``customer, date``): every order is written with amount 0, and any amount or price
  column is ignored. Purchase rhythm, silence, cancellations and the gone probability are
  judged as usual; the order-value signal leaves zero amounts out, so it never fires, and
  no customer reaches the ``core`` or ``growth`` segments, which are defined by spend.
* Rows that cannot be used (no customer id, a date or amount that does not parse, an
  unknown status or currency) are skipped and counted by reason in the returned
  :class:`ConvertStats`, with the first few line numbers and the column at fault. Nothing
  is dropped silently; with ``strict`` the first such row stops the conversion with an
  error naming its line and column; if no row at all can be used the conversion fails
  with the first reason.
* Event ids are ``ord-`` + a hash of customer id, order id and status, so converting the
  same file twice gives the same ids and replaying it twice is idempotent.

The output is sorted by event time (ties by event id), JSON Lines, gzipped if the name
ends in ``.gz``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, NamedTuple

from dateutil import parser as dateutil_parser

from schemas.errors import ChurnwatchError
from schemas.events import MAX_AMOUNT, MAX_ITEMS
from streams.jsonl_io import check_distinct_files, write_jsonl

#: Role -> accepted header names, normalised (lowercase, no spaces, ``_`` or ``-``), in order
#: of preference. A header is also matched with a part in brackets left out ("Created date
#: (UTC)", "Order Total (inc tax)", "Grand Total (Purchased)"), after every exact match.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    # a column named the customer's unique id wins: in Olist's public e-commerce data
    # customer_id is new with every order, customer_unique_id is the person
    "customer_id": ("customeruniqueid", "customerid", "customer", "custid", "clientid", "client", "userid", "user", "buyerid",
                    "customernumber", "customerno", "accountid", "memberid", "customercode", "visitorid",
                    "userpseudoid", "idcustomer", "customeruserid", "msno", "householdkey", "household", "householdid"),
    # The customer's e-mail address: the customer when the file has no id column, and the
    # customer of a row whose id is blank (a guest checkout), lower-cased.
    "email": ("email", "customeremail", "billingemail", "emailaddress", "buyeremail", "useremail"),
    "date": ("date", "invoicedate", "orderdate", "occurredat", "createdat", "timestamp", "datetime",
             "purchasedate", "transactiondate", "orderdatetime", "time", "day", "eventtime", "eventtimestamp",
             "createddate", "datecreated", "dateadd", "purchasedat", "orderedat", "placedat", "paidat", "created",
             "orderpurchasetimestamp", "purchasetimestamp", "tdat"),
    "amount": ("amount", "total", "ordertotal", "totalamount", "ordervalue", "value", "revenue", "sales",
               "grandtotal", "linetotal", "totalprice", "dollarvalue", "dollaramount", "spend", "netamount",
               "orderamount", "purchaseamount", "transactionamount", "paymentamount", "paymentvalue",
               "amountpaid", "actualamountpaid", "totalpaid", "ordertotalamount", "netsales", "totalsales",
               # GA4's e-commerce export (BigQuery columns flattened with a dot)
               "ecommerce.purchaserevenue", "purchaserevenue", "ecommerce.purchaserevenueinusd",
               "purchaserevenueinusd", "salesvalue", "spendamount",
               # Stripe's checkout sessions; Square's orders and payments (money objects)
               "amounttotal", "totalmoneyamount", "amountmoneyamount"),
    "order_id": ("orderid", "invoiceno", "invoice", "invoiceid", "invoicenumber", "ordernumber", "orderno",
                 "transactionid", "receiptid", "ecommerce.transactionid", "incrementid", "order#", "idorder",
                 "orderreference", "basketid", "basket", "receiptnumber"),
    # "numberofcds": the CDNOW purchase log (Fader & Hardie), a common public benchmark.
    "quantity": ("quantity", "qty", "items", "itemcount", "units", "numberofitems", "numitems", "numberofcds",
                 "itemssold", "lineitemquantity"),
    "unit_price": ("unitprice", "price", "priceeach", "itemprice", "unitcost"),
    "currency": ("currency", "currencycode", "ordercurrencycode", "ordercurrency", "basecurrencycode",
                 "currencyiso"),
    # Olist's product_category_name, H&M's product_type_name and product_group_name, the
    # "Product Type" or "Department" of many shop exports; a finer column after a coarser one.
    "category": ("category", "productcategory", "categoryname", "categorycode", "productcategoryname",
                 "maincategory", "producttype", "producttypename", "productgroup", "productgroupname",
                 "productline", "itemcategory", "department", "subcategory", "categoryid"),
    "status": ("status", "orderstatus", "paymentstatus", "financialstatus", "orderstate"),
    # When an order was cancelled: a value marks the order cancelled, whatever its status.
    # Or a flag (KKBox's is_cancel: 1 or 0): a true value marks it cancelled, 0/false/no do not.
    "cancelled_at": ("cancelledat", "canceledat", "cancelleddate", "canceleddate", "cancellationdate",
                     "datecancelled", "iscancel", "iscancelled", "iscanceled", "cancelled", "canceled"),
    # the interaction of a clickstream log (view, addtocart, transaction): only purchases are orders
    "event": ("event", "eventtype", "eventname", "interaction"),
}


@dataclass(frozen=True)
class Layout:
    """A shop platform's export, recognised by columns that only it has together, whose
    generic names (``Name``, ``Email``) the aliases must not take for what they usually mean."""

    name: str
    signature: frozenset[str]          # normalised headers that all occur in such an export
    roles: Mapping[str, str]           # role -> normalised header (used when the header has it)


#: Exports read without options. Shopify's orders export has one row per line item; the
#: order's own fields (total, status, currency, cancellation) are on its first row only, and
#: ``Name`` is the order number (#1001): the rows of one order are one order.
KNOWN_LAYOUTS: tuple[Layout, ...] = (
    Layout("Shopify orders export", frozenset({"name", "email", "financialstatus", "lineitemquantity"}),
           {"order_id": "name", "customer_id": "email", "date": "createdat", "amount": "total",
            "status": "financialstatus", "quantity": "lineitemquantity", "currency": "currency",
            "cancelled_at": "cancelledat"}),
    # The Ta-Feng grocery dataset (a common benchmark): one row per product bought, AMOUNT is
    # the quantity and SALES_PRICE the row's total.
    Layout("Ta-Feng grocery transactions", frozenset({"transactiondt", "customerid", "amount", "asset",
                                                      "salesprice"}),
           {"customer_id": "customerid", "date": "transactiondt", "amount": "salesprice", "quantity": "amount",
            "category": "productsubclass"}),
)


def detect_layout(header: Sequence[str]) -> Layout | None:
    """The known export a header is, or None.

    >>> detect_layout(["Name", "Email", "Financial Status", "Paid at", "Total", "Lineitem quantity"]).name
    'Shopify orders export'
    >>> detect_layout(["Name", "Email", "Date", "Total"]) is None
    True
    """
    normalised = {_normalise_header(h) for h in header}
    return next((layout for layout in KNOWN_LAYOUTS if layout.signature <= normalised), None)


#: Values of an ``event`` column that are not purchases (normalised: lowercase, no spaces,
#: ``_`` or ``-``): clickstream logs such as Retailrocket's (view, addtocart, transaction) or
#: GA4's event names. Only a value that names a purchase (:func:`purchase_event`) is an order;
#: the rows of every other value are left out and counted.
NON_PURCHASE_EVENTS = frozenset((
    "view", "pageview", "page", "hit", "screenview", "viewitem", "viewitemlist", "viewcart", "viewpromotion",
    "selectitem", "selectpromotion", "addtocart", "cart", "removefromcart", "addtowishlist", "wishlist",
    "begincheckout", "checkout", "addpaymentinfo", "addshippinginfo", "search", "click", "login", "logout",
    "signup", "sessionstart", "firstvisit", "userengagement", "scroll", "like", "share", "review",
))
#: Stems of event names that are purchases (``purchase``, Retailrocket's ``transaction``,
#: Segment's ``Order Completed``, ``sale``, a subscription's ``renewal``) ...
_PURCHASE_STEMS = ("purchas", "transaction", "order", "buy", "bought", "sale", "sold", "paid", "paymentsucce",
                   "paymentcomplet", "paymentreceiv", "checkoutcomplet", "checkoutsucce", "renew", "charge")
#: ... unless the name also says it is something else (an order page viewed, a purchase
#: that failed or was refunded, a checkout begun).
_NOT_PURCHASE_STEMS = ("view", "page", "cancel", "refund", "fail", "error", "abandon", "return", "chargeback",
                       "detail", "history", "start", "begin", "cart", "bug", "declin", "click")


def purchase_event(value: str) -> bool:
    """Whether a clickstream's event name is a purchase.

    >>> [purchase_event(v) for v in ("transaction", "purchase", "Order Completed", "view", "addtocart",
    ...                              "product_view", "payment_details", "order_history_view", "refund", "home")]
    [True, True, True, False, False, False, False, False, False, False]
    """
    word = _normalise_header(value)
    if word in NON_PURCHASE_EVENTS or any(stem in word for stem in _NOT_PURCHASE_STEMS):
        return False
    return word == "payment" or any(stem in word for stem in _PURCHASE_STEMS)


#: Values of a cancelled-at or cancelled-flag column that do not mark the order cancelled.
_NOT_CANCELLED = frozenset(("0", "0.0", "false", "no", "n", "f"))
_STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(("placed", "complete", "completed", "shipped", "delivered", "paid", "processing",
                     "fulfilled", "ok", "new", "open", "pending", "closed"), "placed"),
    **dict.fromkeys(("cancelled", "canceled", "cancel", "void", "voided"), "cancelled"),
    **dict.fromkeys(("returned", "return", "refunded", "refund"), "returned"),
}
#: Status words of shop platforms (WooCommerce's ``wc-on-hold``, Shopify's
#: ``partially_refunded``, BigCommerce's ``Awaiting Fulfillment``, PrestaShop's ``Payment
#: accepted``), read by the stems they contain, in this order: an order partly refunded or
#: paid stands; one whose payment failed, was declined or expired did not happen as a
#: purchase and counts as a cancellation (as does Stripe's uncollectible invoice); a refund
#: or return is a return; a checkout draft, an abandoned or incomplete checkout, or a
#: payment that still requires a payment method or the customer's action (Stripe's
#: payment intents; one that requires only its capture is authorised) is no order at all.
_STATUS_STEMS: tuple[tuple[str, str], ...] = (
    ("partial", "placed"), ("requirescapture", "placed"), ("requires", "not_a_purchase"),
    ("uncollect", "cancelled"),
    ("draft", "not_a_purchase"), ("abandon", "not_a_purchase"), ("incomplete", "not_a_purchase"),
    ("cancel", "cancelled"), ("void", "cancelled"), ("declin", "cancelled"), ("fail", "cancelled"),
    ("expire", "cancelled"), ("reject", "cancelled"), ("error", "cancelled"), ("unavail", "cancelled"),
    ("refund", "returned"), ("return", "returned"), ("chargeback", "returned"),
    *((stem, "placed") for stem in ("paid", "complet", "ship", "deliver", "process", "fulfil", "accept",
                                     "await", "pending", "hold", "open", "new", "clos", "authori", "confirm",
                                     "invoiced", "ready", "pickup", "placed", "success", "succeeded",
                                     "captur", "settled", "approv", "creat")),
)


def status_of(text: str) -> str | None:
    """An order status as written by a shop -> ``placed``, ``cancelled``, ``returned``,
    ``not_a_purchase``, or None when the words say nothing known.

    >>> [status_of(t) for t in ("Completed", "wc-on-hold", "partially_refunded", "Refunded",
    ...                         "Awaiting Fulfillment", "Payment error", "failed", "checkout-draft", "42",
    ...                         "requires_payment_method", "requires_capture", "uncollectible")]
    ['placed', 'placed', 'placed', 'returned', 'placed', 'cancelled', 'cancelled', 'not_a_purchase', None, 'not_a_purchase', 'placed', 'cancelled']
    """
    word = text.strip().lower()
    if word in _STATUS_WORDS:
        return _STATUS_WORDS[word]
    word = _normalise_header(word.removeprefix("wc-"))
    if word in _STATUS_WORDS:
        return _STATUS_WORDS[word]
    return next((status for stem, status in _STATUS_STEMS if stem in word), None)


_MISSING = {"", "nan", "null", "none", "na", "n/a"}
#: Customer ids of a guest checkout (BigCommerce and WooCommerce write 0): with an e-mail
#: column, such a row's customer is its e-mail address.
_GUEST_IDS = _MISSING | {"0", "guest"}
_UCI_CANCELLATION = re.compile(r"^C\d+$")
_FLOAT_INTEGER_ID = re.compile(r"^(\d+)\.0+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
#: Currency signs written beside amounts, for rows without a currency column (``$`` is USD:
#: a shop in another dollar names its currency with --currency or a column).
_SYMBOL_CURRENCY = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
_CURRENCY_SYMBOL = re.compile(r"[€$£¥]")
#: Words in an amount column's name that say its currency (CDNOW's ``dollar_value``): with an
#: ISO code among the name's words (``Amount (GBP)``, ``umsatz_eur``, ``totalUSD``), the
#: currency of rows without one when ``--currency`` is not given (:func:`currency_of_header`).
_CURRENCY_WORDS = {"dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "pound": "GBP",
                   "pounds": "GBP", "sterling": "GBP", "yen": "JPY"}
_LOOKS_LIKE_DATA = re.compile(r"^[\d.,:/\- +]+$")
#: An amount whose only separators sit before groups of three digits (1.234, 1,234,567): a
#: thousands separator or a decimal mark with three decimals, which the file's other values decide.
_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)
#: A count since 1970 told by its number of digits, for dates from 2001-09-09 to 2033-05-18
#: (a leading 1; a ten-digit 20240101 12 is not taken for 2034): seconds (10, perhaps with a
#: fraction), milliseconds (13), microseconds (16: GA4), nanoseconds (19).
_EPOCH_DIGITS = re.compile(r"^(?:(1\d{9})(?:\.\d+)?|1\d{12}|1\d{15}|1\d{18})$")
_EPOCH_DIVISOR = {10: 1, 13: 10**3, 16: 10**6, 19: 10**9}
_THOUSANDS = re.compile(r"^\d{1,3}([.,]\d{3})+$")
#: An amount that shows its decimal mark: one or two decimals, or four and more.
_DECIMAL_COMMA = re.compile(r"^\d*,(\d{1,2}|\d{4,})$")
_DECIMAL_DOT = re.compile(r"^\d*\.(\d{1,2}|\d{4,})$")
#: A lone mark that cannot separate thousands: after four or more digits, or after a lone 0.
_LONE_MARK_DECIMAL = re.compile(r"^(\d{4,}|0)[.,]\d+$")
#: ``delimiter`` value for columns separated by runs of spaces or tabs (fixed-width-ish
#: text exports such as the CDNOW purchase log).
WHITESPACE = "whitespace"
#: What to do with cancelled and returned orders (see the module docstring).
CANCELLATION_POLICIES = ("keep", "drop")
#: ``date_format`` values for numbers since 1970-01-01 UTC -> units per second.
_EPOCH_UNITS = {"epoch": 1.0, "epoch_ms": 1e3, "epoch_us": 1e6}
_NUMERIC_DATE = re.compile(
    r"^\s*(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?\s*$"
)
#: A date that names its month in English (Dec 9, 2011; 5-Jan-2023; Thu, 05 Jan 2023 10:22:11
#: +0000) and has a four-digit year: unambiguous, whatever the order of its parts.
_MONTH_NAME = re.compile(r"(?<![a-z])(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?![a-z])",
                         re.IGNORECASE)
_YEAR4 = re.compile(r"(?<!\d)\d{4}(?!\d)")
#: A customer id that reads as a person's name (two or more words of letters, "Ann Lee", "J. DOE"):
#: exports such as WooCommerce's order report name the customer instead of identifying them.
_PERSON_NAME = re.compile(r"^[^\W\d_]+\.?(?:[ '-][^\W\d_]+\.?)+$")
#: Skipped rows listed by line number in the stats; the rest are only counted.
EXAMPLES_KEPT = 10


class ConvertError(ChurnwatchError, ValueError):
    """The CSV cannot be converted: a required column is missing, or no row is usable."""


@dataclass
class ConvertStats:
    """What a conversion read, wrote and skipped."""

    rows_read: int = 0
    orders_written: int = 0
    customers: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows
    examples: list[str] = field(default_factory=list)  # "line 7: missing_customer_id (...)"
    columns: dict[str, str] = field(default_factory=dict)  # role -> header used
    statuses: dict[str, int] = field(default_factory=dict)  # orders per status, before any are dropped
    cancellations: str = "keep"  # what was done with cancelled and returned orders
    no_amounts: bool = False  # orders written with amount 0: the file has no values
    first_at: str = ""
    last_at: str = ""
    date_order: str = ""  # "month first (detected from '12/13/2010 8:28')" when read from the file
    default_currency: str = "EUR"
    defaulted_currency: int = 0  # rows without a currency of their own, given default_currency
    currency_from: str = ""      # what gave default_currency when --currency did not
    currency_given: bool = False  # default_currency set by the caller (--currency)
    sheets: list[str] = field(default_factory=list)  # an Excel workbook's sheets read, with their lines
    other_events: dict[str, int] = field(default_factory=dict)  # event value -> rows left out: not purchases
    currencies: dict[str, int] = field(default_factory=dict)  # orders written per currency, most first
    layout: str = ""  # the known export the header was read as ("Shopify orders export"), if any
    source_format: str = ""  # set when the file was a JSON export: "JSON array (12 records, 40 paths)"
    named_customers: int = 0  # customers whose id reads as a person's name ("Ann Lee"): namesakes are one customer
    zero_padded: tuple[int, str] = (0, "")  # ids equal but for leading zeros ("00113", "113"): how many, an example
    guest_rows: int = 0  # rows without a customer id, whose customer is their e-mail address
    same_time_lines: int = 0  # without an order id: orders written that share a customer and a time
    repeated_rows: int = 0    # rows that repeat another row exactly (of an order: counted as further items)
    one_order_per_day: bool = False  # without an order id column, a customer's lines of one day were one order
    future_orders: int = 0    # orders dated more than a day after the conversion ran
    decimal_guess: tuple[str, str] = ("", "")  # (an amount, the decimal mark it was read with) when no value settled it
    # rows with a quoted value over several lines: how many, and the first one's (line, lines it spans)
    multiline_values: tuple[int, int, int] = (0, 0, 0)

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One paragraph for a person.

        Example:
            >>> ConvertStats(rows_read=3, orders_written=1, customers=1, skipped={"bad_date": 2}).summary()
            '3 rows read, 1 order for 1 customer written; 2 rows skipped (bad_date: 2)'
            >>> ConvertStats(rows_read=5, orders_written=3, customers=2, cancellations="drop",
            ...              statuses={"placed": 3, "cancelled": 1, "returned": 1}).summary()
            '5 rows read, 3 orders for 2 customers written (1 cancelled, 1 returned dropped)'
        """
        text = (f"{_count(self.rows_read, 'row')} read, {_count(self.orders_written, 'order')} for "
                f"{_count(self.customers, 'customer')} written")
        undone = [f"{self.statuses[s]} {s}" for s in ("cancelled", "returned") if self.statuses.get(s)]
        if undone:
            text += f" ({', '.join(undone)} {'kept' if self.cancellations == 'keep' else 'dropped'})"
        if self.no_amounts:
            text += " without amounts (written as 0)"
        if self.layout:
            text += f"; read as a {self.layout}"
        if self.guest_rows:
            text += f"; {_count(self.guest_rows, 'row')} without a customer id taken by e-mail address"
        if self.sheets:
            text += f"; from the workbook's {'sheets' if len(self.sheets) > 1 else 'sheet'} {', '.join(self.sheets)}"
        if self.source_format:
            text += f"; read as {self.source_format}"
        if self.date_order:
            text += f"; dates read {self.date_order}"
        if self.other_events:
            ranked = sorted(self.other_events.items(), key=lambda kv: (-kv[1], kv[0]))
            shown = ", ".join(f"{k}: {v:,}" for k, v in ranked[:6]) + (", ..." if len(ranked) > 6 else "")
            text += (f"; {_count(sum(self.other_events.values()), 'row')} of other events than purchases "
                     f"left out ({shown})")
        if self.skipped:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items()))
            text += f"; {_count(self.rows_skipped, 'row')} skipped ({reasons})"
        return text


def _count(n: int, word: str) -> str:
    """'1 order', '3 orders'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def currency_of_header(name: str) -> str | None:
    """The currency an amount column's name gives, or None: a currency word or an ISO 4217
    code the value segment knows (`detectors.segment.DEFAULT_FX`) as one of its words.

    >>> [currency_of_header(h) for h in ("dollar_value", "Amount (GBP)", "umsatz_eur", "totalUSD", "amount",
    ...                                  "price", "Lineitem price", "cad_total")]
    ['USD', 'GBP', 'EUR', 'USD', None, None, None, 'CAD']
    """
    from detectors.segment import DEFAULT_FX

    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)           # totalUSD -> total USD
    for word in re.split(r"[^a-z]+", spaced.lower()):
        if word in _CURRENCY_WORDS:
            return _CURRENCY_WORDS[word]
        if len(word) == 3 and word.upper() in dict(DEFAULT_FX):
            return word.upper()
    return None


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


def match_aliases(header: Sequence[str], aliases: Mapping[str, tuple[str, ...]], roles: dict[str, int]) -> None:
    """Add to ``roles`` (role -> column index) the roles not in it yet whose aliases name a
    column not taken yet: aliases in their order of preference, each matched against the
    normalised headers, then against the headers with a part in brackets left out
    (``Created date (UTC)``, ``Order Total (inc tax)``).

    >>> roles = {}
    >>> match_aliases(["Order Total (ex tax)", "Order Total (inc tax)", "Created date (UTC)"],
    ...               {"amount": ("ordertotal",), "date": ("createddate",)}, roles)
    >>> roles
    {'amount': 0, 'date': 2}
    """
    normalised = [_normalise_header(h) for h in header]
    unbracketed = [_normalise_header(re.sub(r"\(.*?\)|\[.*?\]", "", h)) for h in header]
    for role, names in aliases.items():
        if role in roles:
            continue
        for candidates in (normalised, unbracketed):
            index = next((i for alias in names for i, n in enumerate(candidates)
                          if n == alias and i not in roles.values()), None)
            if index is not None:
                roles[role] = index
                break


def map_columns(header: list[str], column_map: Mapping[str, str] | None = None, *,
                amounts: bool = True) -> dict[str, int]:
    """Role -> column index for a CSV header; raises :class:`ConvertError` when the customer,
    date or amount (or quantity and unit price; not with ``amounts=False``) columns are missing.

    ``column_map`` names the column of a role explicitly (role -> header name, matched like
    the aliases); it wins over the aliases, and a name that is not in the header is an error.

    Example:
        >>> sorted(map_columns(["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]).items())
        [('customer_id', 5), ('date', 3), ('order_id', 0), ('quantity', 2), ('unit_price', 4)]
        >>> sorted(map_columns(["kunde", "datum", "betrag"], {"customer_id": "Kunde", "date": "Datum",
        ...                                                   "amount": "Betrag"}).items())
        [('amount', 2), ('customer_id', 0), ('date', 1)]
        >>> sorted(map_columns(["customer", "date"], amounts=False).items())
        [('customer_id', 0), ('date', 1)]
        >>> sorted(map_columns(["event_time", "event_type", "price", "user_id"]).items())   # no quantity: one item
        [('amount', 2), ('customer_id', 3), ('date', 0), ('event', 1)]
    """
    normalised = [_normalise_header(h) for h in header]
    roles: dict[str, int] = {}
    for role, name in (column_map or {}).items():
        if role not in COLUMN_ALIASES:
            raise ConvertError(f"column option for {role!r}: not a column role; roles: {', '.join(COLUMN_ALIASES)}")
        wanted = _normalise_header(name)
        if wanted not in normalised:
            raise ConvertError(f"the {role} column {name!r} is not in the header; found columns: {', '.join(header)}")
        roles[role] = normalised.index(wanted)
    layout = detect_layout(header)
    for role, name in (layout.roles.items() if layout is not None else ()):
        if role not in roles and name in normalised and normalised.index(name) not in roles.values():
            roles[role] = normalised.index(name)
    match_aliases(header, COLUMN_ALIASES, roles)
    if "customer_id" not in roles and "email" in roles:
        roles["customer_id"] = roles.pop("email")   # the e-mail address is the customer
    if "amount" not in roles and "quantity" not in roles and "unit_price" in roles:
        # A price with no quantity beside it is the line's amount: one item per row (a
        # clickstream's purchase rows, such as the REES46 e-commerce events' ``price``).
        roles["amount"] = roles.pop("unit_price")
    missing = [r for r in ("customer_id", "date") if r not in roles]
    if amounts and "amount" not in roles and not ("quantity" in roles and "unit_price" in roles):
        missing.append("amount (or quantity and unit price)")
    if missing:
        hint = ("; the first line looks like data: for a file without a header row name its columns "
                "(columns=['customer_id', 'date', ...], --columns customer_id,date,...)"
                if sum(1 for h in header if _LOOKS_LIKE_DATA.match(h.strip())) >= 2 else
                " (accepted names, case-insensitive: customer_id/CustomerID, date/InvoiceDate, amount/total, "
                "or Quantity and UnitPrice; or name them with --customer-column, --date-column, ...)")
        if missing[-1].startswith("amount"):
            hint += "; a log of purchases without values converts with --no-amounts"
        raise ConvertError(f"the CSV header lacks {', '.join(missing)}; found columns: {', '.join(header)}{hint}")
    return roles


_MAX_AMOUNT = Decimal(int(MAX_AMOUNT))


def _parse_number(text: str, decimal: str | None = None) -> Decimal:
    """``12.50``, ``-3``, ``1,234.50``, ``12,50`` (decimal comma), ``€ 9.99``.

    ``decimal`` is the file's decimal mark when known (`_decimal_mark_of`): then a lone
    other mark before groups of three digits is a thousands separator (``1.234`` in a file
    of ``12,50``s is 1234; ``1,250`` in a file of ``9.99``s is 1250). Without it a lone comma
    is decimal, a lone dot too.

    >>> [_parse_number(t) for t in ("1,234.50", "1.234,50", "12,50", "1,250")]
    [Decimal('1234.50'), Decimal('1234.50'), Decimal('12.50'), Decimal('1.250')]
    >>> _parse_number("1.234", ","), _parse_number("1,250", "."), _parse_number("0.5", ",")
    (Decimal('1234'), Decimal('1250'), Decimal('0.5'))
    """
    cleaned = re.sub(r"[\s€$£¥]", "", text)
    if decimal is not None and _THOUSANDS.match(cleaned.lstrip("+-")):
        other = "." if decimal == "," else ","
        if other in cleaned and decimal not in cleaned:
            cleaned = cleaned.replace(other, "")
    if "," in cleaned and "." in cleaned:
        # The last separator is the decimal one: 1,234.50 and 1.234,50.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        cleaned = cleaned.replace(",", ".")
    value = Decimal(cleaned)  # raises InvalidOperation
    if not value.is_finite():
        raise InvalidOperation(text)
    return value


def _iso(text: str) -> datetime | None:
    """An ISO 8601 date or timestamp ("2023-01-05 14:22:00 UTC", as database exports write
    it, included), or None."""
    try:
        return datetime.fromisoformat(_UTC_SUFFIX.sub("+00:00", text))
    except ValueError:
        return None


def _named_month(text: str) -> datetime | None:
    """A date with its month named in English and a four-digit year, or None.

    The parts' order is settled by the name, so no ``--date-format`` is needed; python-dateutil
    reads the many ways of writing one (without a year it would fill in the current one,
    so a year is required).

    >>> _named_month("Dec 9, 2011"), _named_month("5-Jan-2023")
    (datetime.datetime(2011, 12, 9, 0, 0), datetime.datetime(2023, 1, 5, 0, 0))
    >>> _named_month("Thu, 05 Jan 2023 10:22:11 +0100")
    datetime.datetime(2023, 1, 5, 10, 22, 11, tzinfo=datetime.timezone(datetime.timedelta(seconds=3600)))
    >>> _named_month("Dec 9") is None, _named_month("12/9/2011") is None
    (True, True)
    """
    if _MONTH_NAME.search(text) is None or _YEAR4.search(text) is None:
        return None
    try:
        value = dateutil_parser.parse(text)
    except (ValueError, OverflowError):
        return None
    offset = value.utcoffset()
    # the offset as written (dateutil may name a zero offset as the machine's local zone)
    return value if offset is None else value.replace(tzinfo=timezone(offset))


class DateParser:
    """Parse order dates into aware UTC datetimes, as configured by ``date_format``.

    ``None``: ISO 8601, or a date that names its month (``Dec 9, 2011``). ``"dayfirst"`` /
    ``"monthfirst"``: numeric dates such as ``1/12/2010 08:26`` (a four-digit first part is
    always year-month-day), and ISO 8601 or named-month dates among them. Anything else: a
    ``strptime`` format. Naive results are UTC; results with an offset are converted.

    Example:
        >>> DateParser("monthfirst")("12/1/2010 8:26")
        datetime.datetime(2010, 12, 1, 8, 26, tzinfo=datetime.timezone.utc)
        >>> DateParser(None)("2010-12-01T09:26:00+01:00")
        datetime.datetime(2010, 12, 1, 8, 26, tzinfo=datetime.timezone.utc)
        >>> DateParser(None)("2023-01-05 14:22:00 UTC")
        datetime.datetime(2023, 1, 5, 14, 22, tzinfo=datetime.timezone.utc)
        >>> DateParser(None)("Dec 9, 2011"), DateParser("dayfirst")("2011-12-09T08:00:00Z")
        (datetime.datetime(2011, 12, 9, 0, 0, tzinfo=datetime.timezone.utc), datetime.datetime(2011, 12, 9, 8, 0, tzinfo=datetime.timezone.utc))
        >>> DateParser("epoch")("1700000000"), DateParser("epoch_ms")("1700000000000") == DateParser("epoch")("1700000000")
        (datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc), True)
        >>> DateParser("epoch_us")("1700000000000000") == DateParser("epoch")("1700000000")   # GA4's event_timestamp
        True
        >>> DateParser("days:2020-01-01")("32")      # day numbers, day 1 being the date given
        datetime.datetime(2020, 2, 1, 0, 0, tzinfo=datetime.timezone.utc)

    Without a format, a count of seconds, milliseconds or microseconds since 1970 is read by
    its number of digits (10, 13, 16), for dates of 2001 to 2033:

        >>> DateParser(None)("1433221332117"), DateParser(None)("1700000000") == DateParser(None)("1700000000000000")
        (datetime.datetime(2015, 6, 2, 5, 2, 12, 117000, tzinfo=datetime.timezone.utc), True)
        >>> DateParser(None)("12/1/2010 8:26")
        Traceback (most recent call last):
        ...
        ValueError: '12/1/2010 8:26' is not an ISO 8601 date; say how to read it (--date-format): 'dayfirst', 'monthfirst', 'epoch' or a strptime format like '%d/%m/%Y %H:%M'

    A format that is none of those (no ``%`` code) is refused at once, not on every row:

        >>> DateParser("ddmmyyyy")
        Traceback (most recent call last):
        ...
        streams.convert.ConvertError: --date-format 'ddmmyyyy' is not a format: use 'dayfirst', 'monthfirst', 'epoch', 'epoch_ms', 'epoch_us', 'days:FIRST-DAY' or a strptime format with % codes, such as '%d%m%Y' or '%d/%m/%Y %H:%M'
    """

    def __init__(self, date_format: str | None) -> None:
        if (date_format is not None and "%" not in date_format and date_format not in ("dayfirst", "monthfirst")
                and date_format not in _EPOCH_UNITS and not date_format.startswith("days:")):
            raise ConvertError(f"--date-format {date_format!r} is not a format: use 'dayfirst', 'monthfirst', "
                               "'epoch', 'epoch_ms', 'epoch_us', 'days:FIRST-DAY' or a strptime format with % codes, "
                               "such as '%d%m%Y' or '%d/%m/%Y %H:%M'")
        self.date_format = date_format
        self._cache: dict[str, datetime] = {}

    def __call__(self, text: str) -> datetime:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        try:
            value = self._parse(text.strip())
        except (OverflowError, OSError):   # in range as written, not once moved to UTC
            raise ValueError(f"{text!r} is outside the years 1000 to 9999 an event time can have") from None
        if not 1000 <= value.year <= 9999:   # (a replay file's times have four-digit years)
            raise ValueError(f"{text!r} is outside the years 1000 to 9999 an event time can have")
        if len(self._cache) > 200_000:  # exports with unique timestamps: keep memory bounded
            self._cache.clear()
        self._cache[text] = value
        return value

    def _parse(self, text: str) -> datetime:
        fmt = self.date_format
        if fmt in (None, "", "iso"):
            if (epoch := _EPOCH_DIGITS.match(text)) is not None:
                # a clickstream's timestamp (Retailrocket's milliseconds, GA4's microseconds)
                if epoch.group(1) is not None:
                    return datetime.fromtimestamp(float(text), tz=UTC)
                return datetime.fromtimestamp(int(text) / _EPOCH_DIVISOR[len(text)], tz=UTC)
            value = _iso(text)
            if value is None:
                value = _named_month(text)
            if value is None:
                if text.isdigit() and len(text) <= 5:
                    raise ValueError(f"{text!r} is not an ISO 8601 date; for day numbers name the date of day 1 "
                                     f"(--date-format days:2020-01-01)")
                raise ValueError(
                    f"{text!r} is not an ISO 8601 date; say how to read it (--date-format): 'dayfirst', "
                    f"'monthfirst', 'epoch' or a strptime format like '%d/%m/%Y %H:%M'"
                )
        elif fmt in ("dayfirst", "monthfirst"):
            try:
                value = self._numeric(text, dayfirst=fmt == "dayfirst")
            except ValueError:
                # Not numeric: an ISO 8601 timestamp or a named month reads the same either way.
                value = _iso(text) or _named_month(text)
                if value is None:
                    raise
        elif fmt.startswith("days:"):
            # day numbers from a first day (dunnhumby's "The Complete Journey": DAY 1 to 711)
            try:
                origin = datetime.fromisoformat(fmt[5:].strip())
                value = origin + timedelta(days=float(text) - 1)
            except ValueError:
                raise ValueError(f"{text!r} is not a day number, or {fmt!r} names no first day "
                                 f"(e.g. days:2020-01-01, the date of day 1)") from None
        elif fmt in _EPOCH_UNITS:
            try:
                seconds = float(text) / _EPOCH_UNITS[fmt]
                value = datetime.fromtimestamp(seconds, tz=UTC)
            except (ValueError, OverflowError, OSError):
                unit = {"epoch_ms": "milli", "epoch_us": "micro"}.get(fmt, "")
                raise ValueError(f"{text!r} is not a number of {unit}seconds since 1970-01-01 UTC") from None
        else:
            try:
                value = datetime.strptime(text, fmt)
            except ValueError:
                raise ValueError(f"{text!r} does not match date_format {fmt!r}") from None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @staticmethod
    def _numeric(text: str, *, dayfirst: bool) -> datetime:
        match = _NUMERIC_DATE.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a numeric date like 1/12/2010 or 1/12/2010 08:26")
        a, b, c, hour, minute, second, ampm = match.groups()
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        else:
            day, month = (int(a), int(b)) if dayfirst else (int(b), int(a))
            year = int(c)
            if len(c) <= 2:
                year += 2000 if year < 70 else 1900
        h = int(hour or 0)
        if ampm:
            if not 1 <= h <= 12:
                raise ValueError(f"{text!r}: hour {h} with {ampm}")
            h = h % 12 + (12 if ampm.lower() == "pm" else 0)
        try:
            return datetime(year, month, day, h, int(minute or 0), int(second or 0))
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None


def _date_order_of(path: Path, encoding: str, sep: str, column: int, *,
                   skip_first: bool) -> tuple[str, str] | None:
    """("dayfirst" | "monthfirst", the date that shows it) for a date column of numeric dates
    whose order the values settle; None when the dates are ISO 8601 or their order is not
    settled (no part above 12, or both orders seen): those need ``date_format``.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp(); p = Path(d) / "o.csv"
        >>> _ = p.write_text("c,date\\n1,12/1/2010 8:26\\n2,12/13/2010 9:00\\n")
        >>> _date_order_of(p, "utf-8", ",", 1, skip_first=True)
        ('monthfirst', '12/13/2010 9:00')
        >>> _ = p.write_text("c,date\\n1,01.12.2010\\n2,24.12.2010\\n")
        >>> _date_order_of(p, "utf-8", ",", 1, skip_first=True)
        ('dayfirst', '24.12.2010')
        >>> _ = p.write_text("c,date\\n1,2010-12-01\\n2,1/2/2010\\n")
        >>> _date_order_of(p, "utf-8", ",", 1, skip_first=True) is None
        True

    Dates written with dots (05.01.2024) are day first wherever that style is used, so
    they need no part above 12:

        >>> _ = p.write_text("c,date\\n1,05.01.2024\\n2,05.03.2024\\n")
        >>> _date_order_of(p, "utf-8", ",", 1, skip_first=True)
        ('dayfirst', '05.01.2024')
    """
    day_first = month_first = first_dotted = None
    numeric = dotted = 0
    with _open_csv(path, encoding) as f:
        rows = _rows(f, sep)
        if skip_first:
            next(rows, None)
        for i, row in enumerate(rows):
            if i >= 10_000 and not numeric:
                return None   # ISO 8601 (or year first) so far: no second pass over a big export
            if len(row) <= column:
                continue
            m = _NUMERIC_DATE.match(row[column])
            if not m or len(m.group(1)) == 4:
                continue
            numeric += 1
            if "." in row[column].split()[0]:
                dotted += 1
                first_dotted = first_dotted or row[column].strip()
            a, b = int(m.group(1)), int(m.group(2))
            if a > 12 and day_first is None:
                day_first = row[column].strip()
            if b > 12 and month_first is None:
                month_first = row[column].strip()
            if day_first and month_first:
                return None
    if day_first:
        return "dayfirst", day_first
    if month_first:
        return "monthfirst", month_first
    if numeric and dotted == numeric:
        return "dayfirst", first_dotted
    return None


class DecimalReading(NamedTuple):
    """How an amount column's separators are read: its decimal `mark` ("," or ".", None when
    the default rule of `_parse_number` applies) and, when no value settled it, an example of
    the values that were read by guess (``guessed``)."""

    mark: str | None
    guessed: str = ""


def _decimal_mark_of(path: Path, encoding: str, sep: str, column: int, *, skip_first: bool) -> DecimalReading:
    """The decimal mark of an amount column, "," or ".", as its values settle it (``12,50``
    or ``1.234,50``: comma; ``9.99`` or ``1,234.50``: dot; ``1,234,567``: the other one;
    ``1234,500`` or ``0,250``: that one, since a thousands group never follows four digits or
    a lone 0). When no value settles it but some show a lone mark before groups of three
    digits (``1,234``), that mark is read as a thousands separator, as such amounts are
    written far more often than amounts of three decimals, and the reading says it guessed.
    None when the values show both marks, or none. Reads at most 100,000 rows.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "o.csv"
    >>> _ = p.write_text("c;amount\\n1;12,50\\n2;1.234\\n")
    >>> _decimal_mark_of(p, "utf-8", ";", 1, skip_first=True)
    DecimalReading(mark=',', guessed='')
    >>> _ = p.write_text("c,amount\\n1,1.234\\n2,7\\n")
    >>> _decimal_mark_of(p, "utf-8", ",", 1, skip_first=True)
    DecimalReading(mark=',', guessed='1.234')
    >>> _ = p.write_text("c,amount\\n1,1.234\\n2,0.250\\n")
    >>> _decimal_mark_of(p, "utf-8", ",", 1, skip_first=True)
    DecimalReading(mark='.', guessed='')
    >>> _ = p.write_text("c,amount\\n1,7\\n")
    >>> _decimal_mark_of(p, "utf-8", ",", 1, skip_first=True)
    DecimalReading(mark=None, guessed='')
    """
    comma = dot = False
    grouped: dict[str, str] = {}   # lone mark before groups of three digits -> first such value
    with _open_csv(path, encoding) as f:
        rows = _rows(f, sep)
        if skip_first:
            next(rows, None)
        for i, row in enumerate(rows):
            if i >= 100_000 or (comma and dot):
                break
            if len(row) <= column:
                continue
            v = re.sub(r"[\s€$£¥+-]", "", row[column])
            if "," in v and "." in v:
                comma, dot = (comma or v.rfind(",") > v.rfind(".")), (dot or v.rfind(".") > v.rfind(","))
            elif _DECIMAL_COMMA.match(v) or _LONE_MARK_DECIMAL.match(v) and "," in v:
                comma = True
            elif _DECIMAL_DOT.match(v) or _LONE_MARK_DECIMAL.match(v) and "." in v:
                dot = True
            elif _THOUSANDS.match(v):
                mark = v[len(v.rstrip("0123456789")) - 1]
                if v.count(mark) > 1:          # 1,234,567: thousands, so the decimal mark is the other
                    comma, dot = comma or mark == ".", dot or mark == ","
                else:
                    grouped.setdefault(mark, row[column].strip())
    if comma != dot:
        return DecimalReading("," if comma else ".")
    if not comma and len(grouped) == 1:
        (mark, example), = grouped.items()
        return DecimalReading("." if mark == "," else ",", example)
    return DecimalReading(None)


def _open_csv(path: Path, encoding: str) -> IO[str]:
    raw: IO[bytes] = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _sniff_delimiter(first_line: str) -> str:
    """The separator of a header (or first) line: the most frequent of ``, ; tab |``, or
    runs of whitespace when none of them occurs.

    Example:
        >>> _sniff_delimiter("a;b;c"), _sniff_delimiter(" customer_id  date number_of_cds  dollar_value")
        (';', 'whitespace')
        >>> _sniff_delimiter("a,b;c,d")
        ','
    """
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    if counts[best] == 0 and len(first_line.split()) > 1:
        return WHITESPACE
    return best


def _delimiter_option(delimiter: str | None) -> str | None:
    """``tab``/``\\t``/``space``/``whitespace`` spelled out on a command line -> the separator."""
    if delimiter is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "space": WHITESPACE, " ": WHITESPACE, "whitespace": WHITESPACE}
    if delimiter.lower() in named:
        return named[delimiter.lower()]
    if len(delimiter) != 1:
        raise ConvertError(f"delimiter={delimiter!r}: expected one character, 'tab' or 'whitespace'")
    return delimiter


def _rows(lines: Iterable[str], sep: str) -> Iterator[list[str]]:
    if sep == WHITESPACE:
        return (line.split() for line in lines)
    return csv.reader(lines, delimiter=sep)


@dataclass
class _Order:
    customer_id: str
    order_id: str
    status: str | None  # from a status column, else None
    at: datetime
    total: Decimal = Decimal(0)
    items: Decimal = Decimal(0)
    lines: int = 0
    currency: str = ""
    categories: Counter[str] = field(default_factory=Counter)
    first_line: int = 0
    priced_lines: int = 0   # lines that carried an amount (a Shopify order's first line only)


def _row_order_id(customer: str, at: datetime, amount: Decimal | None, status: str, seen: Counter) -> str:
    """The order id of a line without one: from its content, so that it does not depend on
    where in which export the line stands; the n-th identical line of a file gets ``-n``.

    >>> seen = Counter()
    >>> a = _row_order_id("c1", datetime(2024, 1, 1), Decimal("50"), "placed", seen)
    >>> b = _row_order_id("c1", datetime(2024, 2, 1), Decimal("50"), "placed", seen)
    >>> again = _row_order_id("c1", datetime(2024, 1, 1), Decimal("50"), "placed", seen)
    >>> a != b and again == a + "-2" and a.startswith("row-")
    True
    """
    content = f"{customer}\x1f{at.isoformat()}\x1f{amount}\x1f{status}"
    seen[content] += 1
    digest = "row-" + hashlib.sha256(content.encode()).hexdigest()[:16]
    return digest if seen[content] == 1 else f"{digest}-{seen[content]}"


def _zero_padded(ids: set[str]) -> tuple[int, str]:
    """How many numeric customer ids equal another but for leading zeros, and an example pair
    (a spreadsheet drops the zeros of ids it reads as numbers: two exports of one shop then
    name every such customer twice).

    >>> _zero_padded({"00113", "113", "00007", "42"})
    (1, "'00113' and '113'")
    """
    by_value: dict[str, list[str]] = {}
    for c in ids:
        if c.isdigit():
            by_value.setdefault(c.lstrip("0"), []).append(c)
    twins = sorted(sorted(v, key=lambda c: (-len(c), c)) for v in by_value.values() if len(v) > 1)
    return len(twins), (f"{twins[0][0]!r} and {twins[0][1]!r}" if twins else "")


def _day_order_id(customer: str, at: datetime) -> str:
    """The order of a customer's lines of one day (``one_order_per_day``): the day and the
    customer, so that two customers' orders of one day do not share an id.

    >>> a = _day_order_id("00001", datetime(1997, 1, 1))
    >>> a.startswith("day-19970101-") and a != _day_order_id("00002", datetime(1997, 1, 1))
    True
    """
    return f"day-{at:%Y%m%d}-" + hashlib.sha256(customer.encode()).hexdigest()[:12]


def _event_id(customer_id: str, order_id: str, status: str) -> str:
    digest = hashlib.sha256(f"{customer_id}\x1f{order_id}\x1f{status}".encode()).hexdigest()
    return "ord-" + digest[:24]


def _amount_json(value: Decimal) -> float:
    # Decimal sums are exact; the float of their text is the nearest double, so 15.3 stays
    # 15.3 in the JSON instead of 15.299999999999999.
    return float(value)


def convert_orders_csv(
    in_path: str | Path,
    out_path: str | Path,
    *,
    date_format: str | None = None,
    default_currency: str | None = None,
    encoding: str = "utf-8-sig",
    delimiter: str | None = None,
    columns: Sequence[str] | None = None,
    column_map: Mapping[str, str] | None = None,
    cancellations: str = "keep",
    one_order_per_day: bool = False,
    no_amounts: bool = False,
    decimal_mark: str | None = None,
    strict: bool = False,
) -> ConvertStats:
    """Convert an orders CSV into a sorted replay file of ``order`` events.

    Parameters:
        in_path: the CSV (``.gz`` is read compressed).
        out_path: the replay file to write (``.gz`` is written compressed).
        date_format: how to read dates: ``None`` (ISO 8601, which includes ``YYYYMMDD``, and
            counts of seconds, milliseconds or microseconds since 1970 told by their digits),
            ``"dayfirst"``, ``"monthfirst"``, ``"epoch"`` / ``"epoch_ms"`` / ``"epoch_us"``
            (seconds, milliseconds or microseconds since 1970-01-01 UTC), or a ``strptime`` format.
        default_currency: ISO 4217 code for rows without a currency column or value;
            ``None``: the currency the amount column's name gives (:func:`currency_of_header`,
            CDNOW's ``dollar_value``: USD), else EUR.
        encoding: text encoding of the CSV (``latin-1`` for some older exports).
        delimiter: field separator; ``"whitespace"`` for columns separated by runs of
            spaces; ``None`` picks the most frequent of ``, ; tab |`` in the first line, or
            whitespace when none occurs.
        columns: the file has no header row; these are its column names, in order (role
            names or aliases, e.g. ``["customer_id", "date", "quantity", "amount"]``; any
            other name for a column to ignore).
        column_map: role -> header name, for headers the aliases do not cover.
        cancellations: ``"keep"`` writes cancelled and returned orders as such (the
            detectors count them against the customer's habit); ``"drop"`` leaves them out.
            Either way they are counted in the stats.
        one_order_per_day: without an order id column, a customer's lines of one calendar
            day (UTC) are one order; otherwise every line is an order.
        no_amounts: the file records purchases without their values: every order is
            written with amount 0 (amount and price columns, if any, are ignored).
        decimal_mark: ``","`` or ``"."``, the amounts' decimal mark; ``None`` reads it from
            the file (`_decimal_mark_of`), the other mark being a thousands separator.
        strict: stop at the first unusable row with an error naming its line and column,
            instead of skipping and counting it.

    Returns:
        :class:`ConvertStats`: counts of rows, orders, customers and skipped rows by reason.

    Example:
        >>> import os, tempfile, json
        >>> d = tempfile.mkdtemp()
        >>> _ = open(os.path.join(d, "o.csv"), "w").write(
        ...     "InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\\n"
        ...     "536365,6,12/1/2010 8:26,2.55,17850\\n536365,2,12/1/2010 8:26,3.39,17850\\n"
        ...     "C536379,-1,12/1/2010 9:41,27.5,14527\\n536380,1,12/1/2010 9:41,1.0,\\n")
        >>> stats = convert_orders_csv(os.path.join(d, "o.csv"), os.path.join(d, "o.jsonl"), date_format="monthfirst")
        >>> stats.summary()
        '4 rows read, 2 orders for 2 customers written (1 cancelled kept); 1 row skipped (missing_customer_id: 1)'
        >>> [(e["order_id"], e["amount"], e["items"], e["status"]) for e in map(json.loads, open(os.path.join(d, "o.jsonl")))]
        [('536365', 22.08, 8, 'placed'), ('C536379', 27.5, 1, 'cancelled')]
    """
    in_path, out_path = Path(in_path), Path(out_path)
    kind = _file_kind(in_path)
    if kind == "xls":
        raise ConvertError(f"{in_path}: an Excel 97-2003 workbook (.xls), which is not read; save it as .xlsx "
                           f"or CSV")
    options = dict(date_format=date_format, default_currency=default_currency, column_map=column_map,
                   cancellations=cancellations, one_order_per_day=one_order_per_day, no_amounts=no_amounts,
                   strict=strict)
    if kind == "xlsx":
        from streams.json_records import is_plain_zip, unpack_zip

        if is_plain_zip(in_path):     # a zipped export: its JSON files, or its one file
            import tempfile

            with tempfile.TemporaryDirectory(prefix="churnwatch-zip-") as tmp:
                inner, note = unpack_zip(in_path, Path(tmp))
                try:
                    stats = convert_orders_csv(inner, out_path, encoding=encoding, delimiter=delimiter,
                                               columns=columns, **options)  # type: ignore[arg-type]
                except ConvertError as exc:
                    raise ConvertError(str(exc).replace(str(inner), f"{in_path} ({note.removeprefix('from ')})")) from None
            stats.source_format = f"{stats.source_format or 'CSV'} {note}"
            return stats
    if kind == "xlsx":
        return _convert_workbook(in_path, out_path, date_format=date_format, default_currency=default_currency,
                                 columns=columns, column_map=column_map, cancellations=cancellations,
                                 one_order_per_day=one_order_per_day, no_amounts=no_amounts, strict=strict)
    if columns is None:
        from streams.json_records import convert_json, sniff_json

        if (shape := sniff_json(in_path, encoding, COLUMN_ALIASES)) is not None:
            # a shop's API in JSON (Shopify's {"orders": [...]}, WooCommerce's array of orders)
            return convert_json(in_path, out_path, convert_orders_csv, {**options, "encoding": encoding},  # type: ignore[no-any-return]
                                COLUMN_ALIASES, shape)
    given_currency = default_currency is not None
    default_currency = (default_currency or "EUR").strip().upper()
    if not _CURRENCY.match(default_currency):
        raise ConvertError(f"default_currency={default_currency!r}: expected an ISO 4217 code like EUR")
    if cancellations not in CANCELLATION_POLICIES:
        raise ConvertError(f"cancellations={cancellations!r}: expected one of {', '.join(CANCELLATION_POLICIES)}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConvertError(f"encoding={encoding!r}: not a text encoding Python knows (e.g. utf-8, latin-1)") from None
    delimiter = _delimiter_option(delimiter)
    parse_date = DateParser(date_format)
    stats = ConvertStats(cancellations=cancellations, no_amounts=no_amounts, default_currency=default_currency,
                         currency_given=given_currency,
                         one_order_per_day=one_order_per_day)
    skipped: Counter[str] = Counter()
    orders: dict[tuple[str, str, str | None], _Order] = {}
    open_orders: dict[tuple[str, str], tuple[str, str, str | None]] = {}   # (customer, order id) -> its key
    header: list[str] = []

    def skip(line: int, reason: str, column: int | None, detail: str) -> None:
        where = f"line {line}" + (f", column {header[column]!r}" if column is not None else "")
        if strict:
            raise ConvertError(f"{in_path}: {where}: {reason} ({detail}); without --strict such rows are "
                               f"skipped and counted")
        skipped[reason] += 1
        if len(stats.examples) < EXAMPLES_KEPT:
            stats.examples.append(f"{where}: {reason} ({detail})")

    other_events: Counter[str] = Counter()
    unnamed: Counter[str] = Counter()   # lines without an order id, by content (`_row_order_id`)
    exact: Counter[int] = Counter()      # rows hashed as written: a repeat, a re-exported row?
    try:
        with _open_csv(in_path, encoding) as f:
            first_line = f.readline()
            if not first_line.strip():
                raise ConvertError(f"{in_path}: empty file, expected a header row or data")
            sep = delimiter or _sniff_delimiter(first_line)
            first_row = next(_rows([first_line], sep))
            if columns is not None:
                header = [c.strip() for c in columns]
                if len(header) != len(first_row):
                    raise ConvertError(f"{in_path}: {len(header)} column names given ({', '.join(header)}) but "
                                       f"line 1 has {len(first_row)} fields: {first_line.strip()!r}")
                body: Iterable[str] = itertools.chain([first_line], f)
                first_data_line = 1
            else:
                header, body, first_data_line = first_row, f, 2
            roles = map_columns(header, column_map, amounts=not no_amounts)
            if no_amounts:
                roles.pop("amount", None)
                roles.pop("unit_price", None)
            stats.columns = {role: header[i].strip() for role, i in roles.items()}
            layout = detect_layout(header)
            stats.layout = layout.name if layout is not None and columns is None else ""
            col = roles.get
            c_cust, c_date, c_amount = col("customer_id"), col("date"), col("amount")
            if date_format is None:
                detected = _date_order_of(in_path, encoding, sep, c_date, skip_first=columns is None)
                if detected is not None:
                    order_name, example = detected
                    parse_date = DateParser(order_name)
                    stats.date_order = f"{order_name.replace('first', ' first')} (detected from {example!r})"
            c_order, c_qty, c_price = col("order_id"), col("quantity"), col("unit_price")
            c_cur, c_cat, c_status = col("currency"), col("category"), col("status")
            c_event, c_email, c_cancelled = col("event"), col("email"), col("cancelled_at")
            # the customer column holds e-mail addresses (no id column): compared lower-cased
            email_customers = _normalise_header(header[c_cust]) in COLUMN_ALIASES["email"]
            c_money = c_amount if c_amount is not None else c_price
            if not given_currency and c_money is not None and not no_amounts \
                    and (named := currency_of_header(header[c_money])) is not None:
                default_currency = stats.default_currency = named
                stats.currency_from = f"the column name {header[c_money].strip()!r}"
            decimal = decimal_mark
            if decimal is None and c_money is not None and not no_amounts:
                reading = _decimal_mark_of(in_path, encoding, sep, c_money, skip_first=columns is None)
                decimal = reading.mark
                if reading.guessed:
                    stats.decimal_guess = (reading.guessed, decimal)
            for line, row in enumerate(_rows(body, sep), start=first_data_line):
                if not row or all(not v.strip() for v in row):
                    continue
                stats.rows_read += 1
                spans = max((v.rstrip("\r\n").count("\n") for v in row), default=0)
                if spans:
                    n, first, first_spans = stats.multiline_values
                    stats.multiline_values = (n + 1, first or line, first_spans or spans + 1)
                if len(row) < len(header):
                    row = row + [""] * (len(header) - len(row))
                elif columns is None and any(v.strip() for v in row[len(header):]):
                    # more values than the header names: a separator inside an unquoted value
                    # ($1,234 in a comma-separated file) shifts every column after it
                    extra = sep if sep != WHITESPACE else " "
                    skip(line, "extra_fields", None, f"{len(row)} values under a header of {len(header)}: "
                                                      f"{extra.join(row)[:80]!r}; a value holding the separator "
                                                      f"needs quotes")
                    continue
                if c_event is not None and not purchase_event(row[c_event]):
                    # a clickstream's view or add-to-cart: activity (convert-visits), not an order
                    other_events[row[c_event].strip()[:40]] += 1
                    continue
                customer = row[c_cust].strip()
                by_email = email_customers
                guest = False
                if customer.lower() in _GUEST_IDS and c_email is not None \
                        and row[c_email].strip().lower() not in _MISSING:
                    customer, by_email, guest = row[c_email].strip(), True, True     # a guest checkout
                if customer.lower() in _MISSING:
                    skip(line, "missing_customer_id", c_cust, "no customer id")
                    continue
                if by_email:
                    customer = customer.lower()
                if m := _FLOAT_INTEGER_ID.match(customer):
                    customer = m.group(1)
                if len(customer) > 128:
                    skip(line, "bad_customer_id", c_cust, f"{len(customer)} characters, at most 128")
                    continue
                try:
                    at = parse_date(row[c_date])
                except ValueError as exc:
                    skip(line, "bad_date", c_date, str(exc))
                    continue
                order_id = row[c_order].strip() if c_order is not None else ""
                # A further line of an order already read: the blanks of the order's own fields
                # (total, status, currency) are the order's (a Shopify export fills them on the
                # order's first line only).
                known = open_orders.get((customer, order_id)) if order_id else None
                bad_column = c_qty
                try:
                    quantity = _parse_number(row[c_qty]) if c_qty is not None and row[c_qty].strip() else None
                    if no_amounts:
                        amount: Decimal | None = Decimal(0)
                    elif c_amount is not None:
                        bad_column = c_amount
                        amount = (None if order_id and row[c_amount].strip().lower() in _MISSING
                                  else _parse_number(row[c_amount], decimal))
                    else:
                        assert c_price is not None
                        bad_column = c_price
                        amount = (quantity if quantity is not None else Decimal(1)) * _parse_number(row[c_price], decimal)
                except (InvalidOperation, ValueError):
                    assert bad_column is not None
                    skip(line, "bad_amount", bad_column, f"{row[bad_column]!r} is not a number")
                    continue
                if quantity is not None and abs(quantity) > MAX_ITEMS:
                    skip(line, "too_large", c_qty, f"{row[c_qty]!r} items; an order holds at most 10^9")
                    continue
                if amount is not None and abs(amount) > _MAX_AMOUNT:
                    skip(line, "too_large", bad_column, f"{row[bad_column]!r}; an order's amount is at most 10^15")
                    continue
                money = row[c_amount] if c_amount is not None else row[c_price] if c_price is not None else ""
                if c_cur is not None and row[c_cur].strip():
                    currency = row[c_cur].strip().upper()
                elif (symbol := _CURRENCY_SYMBOL.search(money)) is not None:
                    currency = _SYMBOL_CURRENCY[symbol.group()]   # "$12.00": the amount says it
                elif known is not None:
                    currency = orders[known].currency
                else:
                    currency = default_currency
                    stats.defaulted_currency += 1
                if not _CURRENCY.match(currency):
                    skip(line, "bad_currency", c_cur, f"{currency!r} is not an ISO 4217 code")
                    continue
                status = None
                status_cell = row[c_status].strip() if c_status is not None else ""
                flag = row[c_cancelled].strip().lower() if c_cancelled is not None else ""
                cancelled = flag not in _MISSING and flag not in _NOT_CANCELLED
                if cancelled:
                    status = "cancelled"
                elif known is not None and not status_cell:
                    status = known[2]
                elif c_status is not None:
                    # With a status column, a blank status is an ordinary placed order.
                    status = status_of(status_cell or "placed")
                    if status == "not_a_purchase":
                        other_events[status_cell[:40]] += 1
                        continue
                    if status is None:
                        skip(line, "unknown_status", c_status,
                             f"{row[c_status]!r}; expected e.g. placed, cancelled, returned")
                        continue
                if (known is not None and status in (None, "placed") and amount is not None and amount < 0
                        and at > orders[known].at):
                    # a refund booked after the purchase, under its order id: a return of its own,
                    # at its own time (a negative line of the purchase itself, a discount, nets)
                    status = "returned"
                if not order_id or len(order_id) > 128:
                    if one_order_per_day and c_order is None:
                        order_id = _day_order_id(customer, at)
                    else:
                        order_id = _row_order_id(customer, at, amount, status, unnamed)
                key = (customer, order_id, status)
                order = orders.get(key)
                if order is None:
                    order = orders[key] = _Order(customer, order_id, status, at, currency=currency, first_line=line)
                elif order.currency != currency:
                    skip(line, "mixed_currency", c_cur, f"order {order_id} is in {order.currency}, this line in {currency}")
                    continue
                open_orders[(customer, order_id)] = key
                order.at = min(order.at, at)
                if amount is not None:
                    order.total += amount
                    order.priced_lines += 1
                order.items += abs(quantity) if quantity is not None else Decimal(1)
                order.lines += 1
                exact[hash((customer, *(v.strip() for v in row)))] += 1
                stats.guest_rows += guest
                if c_cat is not None and row[c_cat].strip():
                    order.categories[row[c_cat].strip()[:128]] += 1
    except UnicodeDecodeError as exc:
        raise ConvertError(
            f"{in_path}: not valid {encoding} text near byte {exc.start}; pass the file's encoding, e.g. "
            "--encoding latin-1"
        ) from None
    except csv.Error as exc:
        raise ConvertError(f"{in_path}: not a readable CSV ({exc})") from None

    for key, order in list(orders.items()):
        if abs(order.total) > _MAX_AMOUNT or order.items > MAX_ITEMS:   # lines within the limits, their sum not
            del orders[key]
            skipped["too_large"] += order.lines
            if len(stats.examples) < EXAMPLES_KEPT:
                stats.examples.append(f"line {order.first_line}: too_large (order {order.order_id}: {order.total} "
                                      f"over {order.items} items; an order's amount is at most 10^15, its items 10^9)")
            continue
        if order.priced_lines == 0:     # no line of the order has its total
            del orders[key]
            skipped["missing_amount"] += order.lines
            if len(stats.examples) < EXAMPLES_KEPT:
                column = header[c_amount] if c_amount is not None else "amount"
                stats.examples.append(f"line {order.first_line}, column {column!r}: missing_amount "
                                      f"(no line of order {order.order_id} has an amount)")
    stats.skipped = dict(sorted(skipped.items()))
    stats.other_events = dict(other_events)
    stats.repeated_rows = sum(n - 1 for n in exact.values() if n > 1)
    events = [_order_event(o) for o in orders.values()]
    stats.statuses = dict(sorted(Counter(e["status"] for e in events).items()))
    if cancellations == "drop":
        # Dropped whole (not netted against the original order): exports rarely link a
        # cancellation to the order it cancels (UCI's C-invoices do not).
        events = [e for e in events if e["status"] == "placed"]
    if not events:
        first = stats.examples[0] if stats.examples else "the file has a header but no rows"
        if orders:
            first = f"all {len(orders)} orders are cancellations or returns and cancellations='drop'"
        elif other_events and not stats.examples:
            first = (f"every row's {stats.columns.get('event', 'event')!r} is another event than a purchase "
                     f"({', '.join(sorted(other_events)[:6])})")
        raise ConvertError(f"{in_path}: no usable order rows; first problem: {first}")
    # A placed order with a negative total becomes "returned" and can meet the same order's
    # explicit return: keep ids unique, deterministically (file order).
    seen: Counter[str] = Counter()
    for event in events:
        seen[event["event_id"]] += 1
        if seen[event["event_id"]] > 1:
            event["event_id"] += f"-{seen[event['event_id']]}"
    events.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
    stats.orders_written = write_jsonl(out_path, events)
    ids = {e["customer_id"] for e in events}
    stats.customers = len(ids)
    stats.named_customers = sum(1 for c in ids if _PERSON_NAME.match(c))
    stats.zero_padded = _zero_padded(ids)
    if "order_id" not in stats.columns and not one_order_per_day:
        # lines of one basket without an order id share their customer and time
        at_once = Counter((e["customer_id"], e["occurred_at"]) for e in events if e["status"] == "placed")
        stats.same_time_lines = sum(n for n in at_once.values() if n > 1)
    stats.first_at, stats.last_at = events[0]["occurred_at"], events[-1]["occurred_at"]
    stats.currencies = dict(Counter(e["currency"] for e in events).most_common())
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stats.future_orders = sum(1 for e in events if e["occurred_at"] > tomorrow)
    return stats


def _file_kind(path: Path) -> str:
    """"xlsx" (a zip: an Office Open XML workbook), "xls" (an OLE2 compound file: Excel
    97-2003) or "text", from the file's first bytes, whatever its name."""
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except OSError:
        return "text"    # the text reader reports what is wrong with the path
    if magic.startswith(b"PK\x03\x04"):
        return "xlsx"
    if magic == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    return "text"


def _cell_text(value: Any) -> str:
    """A workbook cell as the text a CSV export of it would hold: dates in ISO 8601 (a
    workbook's times carry no zone: UTC, as naive CSV times), whole numbers without ``.0``.

    >>> from datetime import date
    >>> [_cell_text(v) for v in (None, datetime(2010, 12, 1, 8, 26), date(2011, 1, 2), 17850.0, 2.55, 6, "C536379")]
    ['', '2010-12-01 08:26:00', '2011-01-02', '17850', '2.55', '6', 'C536379']
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _workbook_to_csv(path: Path, out: Path) -> list[str]:
    """Write the rows of an .xlsx workbook to a CSV file: its first non-empty sheet with its
    header, then every further sheet with the same header (the UCI Online Retail II workbook
    has one sheet a year), each without its header row. Returns the sheets read, each with
    the CSV lines it became, so that a skipped row can be found in the workbook. A sheet
    with another header is an error: its columns would be read as the first sheet's."""
    try:
        import openpyxl
    except ImportError:    # pragma: no cover - a dependency of the package
        raise ConvertError(f"{path}: reading an Excel workbook needs openpyxl (pip install openpyxl)") from None
    raw = open(path, "rb")    # noqa: SIM115 - closed below; a file object, as openpyxl goes by a path's suffix
    try:
        book = openpyxl.load_workbook(raw, read_only=True, data_only=True)
    except Exception as exc:    # openpyxl raises zipfile, KeyError and its own errors
        raw.close()
        raise ConvertError(f"{path}: not a readable Excel workbook ({exc.__class__.__name__}: {exc})") from None
    read: list[str] = []
    header: list[str] | None = None
    line = 0
    try:
        with open(out, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            for sheet in book.worksheets:
                rows = sheet.iter_rows(values_only=True)
                first = next(rows, None)
                if first is None or all(v is None for v in first):
                    continue
                this = [_cell_text(v).strip() for v in first]
                while this and not this[-1]:
                    this.pop()
                if header is None:
                    header = this
                    writer.writerow(header)
                    line = 1
                elif this != header:
                    raise ConvertError(f"{path}: sheet {sheet.title!r} has the columns {', '.join(this)}, not "
                                       f"those of the first sheet ({', '.join(header)}); save the sheet to convert "
                                       f"as CSV")
                start = line + 1
                for row in rows:
                    writer.writerow([_cell_text(v) for v in row[:len(header)]])
                    line += 1
                read.append(f"{sheet.title!r} (lines {start:,}-{line:,})" if line >= start
                            else f"{sheet.title!r} (no rows)")
    finally:
        book.close()
        raw.close()
    if header is None:
        raise ConvertError(f"{path}: the workbook's sheets are empty")
    return read


def _convert_workbook(in_path: Path, out_path: Path, **options: Any) -> ConvertStats:
    """`convert_orders_csv` of an .xlsx workbook: its sheets written to a CSV, then read as
    one; error messages name the workbook."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="churnwatch-xlsx-") as tmp:
        text = Path(tmp) / f"{in_path.stem}.csv"
        sheets = _workbook_to_csv(in_path, text)
        try:
            stats = convert_orders_csv(text, out_path, encoding="utf-8", delimiter=",", **options)
        except ConvertError as exc:
            raise ConvertError(str(exc).replace(str(text), str(in_path))) from None
    stats.sheets = sheets
    return stats


def _order_event(order: _Order) -> dict[str, Any]:
    if order.status is not None:
        status = "returned" if order.status == "placed" and order.total < 0 else order.status
    elif _UCI_CANCELLATION.match(order.order_id):
        status = "cancelled"
    elif order.total < 0:
        status = "returned"
    else:
        status = "placed"
    category = None
    if order.categories:
        # Most frequent; ties go to the first seen (Counter keeps insertion order).
        category = max(order.categories.items(), key=lambda kv: kv[1])[0]
    return {
        "type": "order",
        "schema_version": 1,
        "event_id": _event_id(order.customer_id, order.order_id, status),
        "customer_id": order.customer_id,
        "occurred_at": order.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "order_id": order.order_id,
        "amount": _amount_json(abs(order.total)),
        "currency": order.currency,
        "status": status,
        "items": max(1, int(order.items.to_integral_value())),
        "category": category,
    }


#: Role -> the command-line option that names its column.
_COLUMN_OPTIONS = {"customer_id": "customer_column", "date": "date_column", "amount": "amount_column",
                   "quantity": "quantity_column", "unit_price": "price_column", "order_id": "order_column",
                   "currency": "currency_column", "status": "status_column", "category": "category_column",
                   "email": "email_column", "cancelled_at": "cancelled_column"}


def convert_options(command: Any) -> Any:
    """The conversion options of ``convert-orders``, for every command that converts an export."""
    import click

    options = [
        click.option("--date-format", default=None, metavar="FORMAT",
                     help="How to read dates: dayfirst, monthfirst, epoch (seconds since 1970, UTC), epoch_ms, epoch_us, "
                          "days:YYYY-MM-DD (day numbers, day 1 being that date), "
                          "or a strptime format such as '%d.%m.%Y %H:%M' "
                          "[default: ISO 8601, which includes YYYYMMDD; numeric dates such as 12/1/2010 day or "
                          "month first as the file shows, when a part above 12 settles it; 10, 13 or 16 digits "
                          "(2001 to 2033) as seconds, milliseconds or microseconds since 1970; dates that name their "
                          "month and year, such as 'Dec 9, 2011']."),
        click.option("--currency", "default_currency", default=None,
                     help="Currency of rows without one (UCI Online Retail: GBP) [default: the one the amount "
                          "column's name gives (CDNOW's dollar_value: USD; Amount (GBP)), else EUR]."),
        click.option("--encoding", default="utf-8-sig", show_default=True, help="Text encoding of the file."),
        click.option("--delimiter", default=None,
                     help="Field separator: one character, 'tab' or 'whitespace' [default: guessed from the first line]."),
        click.option("--columns", default=None, metavar="NAME,NAME,...",
                     help="The file has no header row; these are its column names in order "
                          "(e.g. customer_id,date,quantity,amount; other names are ignored columns)."),
        *[click.option(f"--{opt.replace('_', '-')}", opt, default=None, metavar="NAME",
                       help=f"Header of the {role.replace('_', ' ')} column [default: recognised by name].")
          for role, opt in _COLUMN_OPTIONS.items()],
        click.option("--cancellations", type=click.Choice(CANCELLATION_POLICIES), default="keep", show_default=True,
                     help="Cancelled and returned orders: keep them as such (the detectors read them) or drop them."),
        click.option("--one-order-per-day", is_flag=True,
                     help="Without an order id column, a customer's lines of one day are one order."),
        click.option("--no-amounts", is_flag=True,
                     help="The file has no order values (a log of purchases): orders are written with "
                          "amount 0; rhythm and silence are judged, basket size is not."),
        click.option("--decimal-mark", type=click.Choice([".", ","]), default=None,
                     help="The amounts' decimal mark, the other mark being a thousands separator [default: read "
                          "from the file's amounts (12,50 or 9.99); when none shows it, a lone mark before three "
                          "digits (1,234) is read as a thousands separator, and a note says so]."),
        click.option("--strict", is_flag=True, help="Stop at the first unusable row instead of skipping and counting it."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def convert_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`convert_orders_csv` from the options of :func:`convert_options`.

    Example:
        >>> convert_kwargs({"columns": "customer_id, date,amount", "customer_column": None,
        ...                 "amount_column": "Betrag", "strict": True})
        {'strict': True, 'columns': ['customer_id', 'date', 'amount'], 'column_map': {'amount': 'Betrag'}}
    """
    kwargs = {k: v for k, v in options.items()
              if k in ("date_format", "default_currency", "encoding", "delimiter", "cancellations",
                       "one_order_per_day", "no_amounts", "decimal_mark", "strict")}
    if options.get("columns"):
        kwargs["columns"] = [c.strip() for c in options["columns"].split(",")]
    column_map = {role: options[opt] for role, opt in _COLUMN_OPTIONS.items() if options.get(opt)}
    if column_map:
        kwargs["column_map"] = column_map
    return kwargs


def echo_stats(stats: ConvertStats, out_path: Path) -> None:
    """The conversion's summary on stdout, the columns used and skipped rows on stderr."""
    import click

    click.echo(f"{stats.summary()} -> {out_path}")
    click.echo(f"columns used: {', '.join(f'{role}={name}' for role, name in stats.columns.items())}; "
               f"orders from {stats.first_at} to {stats.last_at}", err=True)
    if stats.defaulted_currency and not stats.no_amounts:
        where = ("rows without a currency value" if "currency" in stats.columns
                 else "rows without a currency sign (no currency column)")
        given = (f" (from {stats.currency_from})" if stats.currency_from
                 else "" if stats.currency_given else " (assumed: the file does not say)")
        click.echo(f"currency: {stats.default_currency}{given} for {where}, {stats.defaulted_currency:,} in all "
                   f"(--currency sets it; --currency-column names the column)", err=True)
    note = unrated_currencies_note(stats.currencies)
    if note and not stats.no_amounts:
        click.echo(note, err=True)
    if stats.named_customers > stats.customers / 2:
        click.echo(f"note: {stats.named_customers:,} of the {stats.customers:,} customer ids read as names "
                   f"(column {stats.columns.get('customer_id')!r}): customers of the same name are one customer; "
                   "export a customer id or e-mail column if the shop has one (--customer-column names it)",
                   err=True)
    for note in conversion_notes(stats):
        click.echo(f"note: {note}", err=True)
    for example in stats.examples:
        click.echo(f"  skipped {example}", err=True)


def conversion_notes(stats: ConvertStats) -> list[str]:
    """What the converted file suggests was read in a way the user may not mean.

    Example:
        >>> conversion_notes(ConvertStats(orders_written=400, customers=400))[0][:60]
        'every one of the 400 customers has exactly one order: if the'
        >>> conversion_notes(ConvertStats(orders_written=900, customers=300, same_time_lines=120))[0][:54]
        '120 orders share their customer and time with another:'
    """
    notes = []
    if stats.multiline_values[0]:
        n, line, spans = stats.multiline_values
        notes.append(f"{_count(n, 'row')} {'holds' if n == 1 else 'hold'} a quoted value that runs over several "
                     f"lines, the first from line {line} over {spans} lines: if no value should, a quote there has "
                     "no closing partner, and the lines after it were read as one value (the line numbers after it "
                     "count rows, not lines)")
    if stats.customers >= 50 and stats.orders_written == stats.customers:
        notes.append(f"every one of the {stats.customers:,} customers has exactly one order: if the customer "
                     f"column {stats.columns.get('customer_id')!r} is an order's own customer record (as Olist's "
                     f"customer_id is), name the column of the customer's lasting id (--customer-column)")
    if stats.decimal_guess[0]:
        example, mark = stats.decimal_guess
        thousands = "," if mark == "." else "."
        value = _parse_number(example, mark)
        notes.append(f"no amount in the file shows its decimal mark: {thousands!r} was read as a thousands separator "
                     f"({example!r} as {value:f}); if it is the decimal mark, --decimal-mark {thousands!r} reads it so")
    repeat = 'repeats' if stats.repeated_rows == 1 else 'repeat'
    if stats.repeated_rows and "order_id" in stats.columns:
        notes.append(f"{_count(stats.repeated_rows, 'row')} of an order {repeat} "
                     f"another of its rows exactly: counted "
                     f"as further items of the order (its amount includes them); if the export repeats rows, "
                     f"remove the duplicates first")
    elif stats.repeated_rows:
        read_as = ("further items of the customer's order of that day (its amount includes them)"
                   if stats.one_order_per_day else "orders of their own")
        notes.append(f"{_count(stats.repeated_rows, 'row')} {repeat} another row exactly (customer, time and every "
                     f"value): read as {read_as}; if the export repeats rows, remove the duplicates first")
    if stats.zero_padded[0]:
        notes.append(f"{_count(stats.zero_padded[0], 'customer id')} {'equals' if stats.zero_padded[0] == 1 else 'equal'} "
                     f"another but for leading zeros "
                     f"(e.g. {stats.zero_padded[1]}), read as different customers: if a spreadsheet dropped the "
                     f"zeros of some ids, restore them (or drop them everywhere) before converting")
    if stats.future_orders:
        notes.append(f"{_count(stats.future_orders, 'order')} dated in the future, the latest {stats.last_at}: event "
                     f"time would move there and every customer would look quiet until then; check the date "
                     f"column and --date-format")
    if stats.same_time_lines:
        notes.append(f"{stats.same_time_lines:,} orders share their customer and time with another: without an order "
                     f"id column every line is an order of its own; if such lines are the items of one basket, "
                     f"--one-order-per-day makes a customer's lines of one day one order (or name the order id "
                     f"column with --order-column)")
    return notes


def unrated_currencies_note(currencies: dict[str, int], environ: Any = None) -> str | None:
    """A note naming the currencies of an export that the value segment has no exchange rate for
    (neither `detectors.segment.DEFAULT_FX` nor ``CHURNWATCH_FX_RATES``), or None.

    Example:
        >>> print(unrated_currencies_note({"EUR": 900, "XOF": 40, "XPF": 1}, {}))
        note: no exchange rate for XOF (40 orders), XPF (1 order): the value segment counts their amounts 1:1 as EUR beside the other currencies; set CHURNWATCH_FX_RATES (EUR per unit), e.g. XOF=<EUR per XOF>
        >>> unrated_currencies_note({"EUR": 900, "XOF": 40}, {"CHURNWATCH_FX_RATES": "xof=0.0015"}) is None
        True
        >>> unrated_currencies_note({"EUR": 900, "KRW": 40}, {}) is None    # in the built-in table
        True
    """
    import os

    from detectors.segment import DEFAULT_FX
    from streams.settings import Settings, SettingsError

    rated = {code for code, _ in DEFAULT_FX}
    try:
        rated |= {code for code, _ in Settings.from_env(os.environ if environ is None else environ).fx_rates}
    except SettingsError:
        pass   # the worker reports bad settings; here only the table's rates count
    missing = [(code, n) for code, n in currencies.items() if code not in rated]
    if not missing:
        return None
    where = ("beside the other currencies" if len(currencies) > len(missing) else
             "(one currency alone is judged against the shop's own threshold, but for the first repeat buyers)")
    example = f"{missing[0][0]}=<EUR per {missing[0][0]}>"
    named = ", ".join(f"{code} ({_count(n, 'order')})" for code, n in missing)
    return (f"note: no exchange rate for {named}: the value segment counts their amounts 1:1 as EUR {where}; "
            f"set CHURNWATCH_FX_RATES (EUR per unit), e.g. {example}")


def register(group: Any) -> None:
    """Add ``churnwatch convert-orders`` to a click group (the ``churnwatch`` command)."""
    import click

    @group.command("convert-orders")
    @click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.argument("out_path", type=click.Path(dir_okay=False, path_type=Path))
    @convert_options
    def convert_orders_command(csv_path: Path, out_path: Path, **options: Any) -> None:
        """Convert an orders export (customer_id, date, amount, ...) into a replay file.

        CSV_PATH is a CSV or text file (.gz read compressed), an Excel workbook (.xlsx), or
        a shop API's orders in JSON (one object a line, an array, or a page such as
        Shopify's {"orders": [...]}; nested keys are read by their path, e.g. customer.id).
        """
        check_distinct_files({"CSV_PATH": csv_path}, {"OUT_PATH": out_path})
        out_path.parent.mkdir(parents=True, exist_ok=True)
        stats = convert_orders_csv(csv_path, out_path, **convert_kwargs(options))
        echo_stats(stats, out_path)
