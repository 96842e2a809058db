"""Convert a shop's visit log and its support-ticket export into replay files.

`streams.convert` turns an orders export into ``order`` events; purchase rhythm, basket size
and silence can be judged from it alone. The brief's other two kinds of evidence need the
other two exports most shops have: who visited when (activity drop, and activity for
silence) and which complaints were opened and resolved when (complaint increase, unresolved
complaints, and the service-recovery action). The converters here write them as contract
events, so a user's own history can be replayed (or run with ``churnwatch offline``) with
every detector: concatenate the replay files (``cat orders.jsonl visits.jsonl
tickets.jsonl > history.jsonl``); replay and offline order the events by event time.

Both read CSV or text files (``.gz`` compressed) and Excel workbooks (.xlsx) exactly as
``convert-orders`` does: header names matched case-insensitively ignoring spaces, ``_`` and
``-``, with common aliases (:data:`VISIT_COLUMNS`, :data:`TICKET_COLUMNS`), or named by
option; the separator guessed from the first line; dates in ISO 8601, numeric dates read day
or month first as the file shows (else ``date_format``), ``epoch``/``epoch_ms``/``epoch_us`` or a
``strptime`` format. Unusable rows are skipped and counted by reason with the first few line
numbers (``strict`` stops at the first); nothing is dropped silently. Event ids are hashes of
the row's content, so converting the same file twice gives the same ids and replaying it
twice is idempotent.

Both also read JSON exports (:mod:`streams.json_records`): an analytics tool's events one
object a line (Mixpanel, Amplitude, Segment, PostHog, GA4's BigQuery export) or a ticket
tool's API page (Zendesk's ``{"tickets": [...]}``); nested keys are columns named by their path
(``properties.$current_url``), recognised by their last key, top-level keys first.

Visits (``convert_visits_csv``): one row per login, per page view or per session; needs a
customer and a time.

* A ``type`` column says which a row is (``login``/``signin``/``Signed In``/an app opened;
  ``page_view``/``pageview``/``view``/``hit``/``$mp_web_page_view``/``[Amplitude] Page Viewed``
  and a shop's interactions such as ``add_to_cart``; a clickstream's page names such as
  ``product_view``, ``promo_page``, ``home`` or ``catalog``; ``session``/``visit``/``session_start``).
  Any other event of the customer's (a click, a scroll, an app's own ``Song Played``) shows
  they were there: on a day with no visit of theirs in the file, the day's first such event
  is written as one login; on other days it is left out (both counted). Events that are no
  visit (an analytics tool's ``identify``/``alias``, e-mails, pushes and text messages sent or
  opened) are never written (counted). Without a type column, a file with a page-views count column
  is a session log (its page column the landing page), else a file with a page column a page
  view log, else a file with a duration column a session log of one view per row (an app's
  daily usage: customer, day, seconds), any other a login log.
* A login row is a ``login`` event; ``channel`` from a channel/device/platform column
  (``web``/``browser``/``desktop`` -> web, ``app``/``ios``/``android`` -> app, anything else
  other; without the column, web). A ``success`` column (false/0/failed/no) marks failed
  sign-ins.
* A page view row is a ``page_view`` event: page from the page/url/path column, time on the
  page from a duration column (seconds, or ``mm:ss``/``hh:mm:ss``), category and session
  id when given.
* A session row (web analytics: customer, start, page views, session duration) is its page
  views: ``n`` ``page_view`` events a second apart from the session start, each with 1/n of
  the session's duration, page from the landing-page column or ``(not set)``, session id
  from its column or made from the row.
* Without a duration column the time on a page is unknown and is written as 0 (the summary
  says so): every page view looks alike, so the shorter-visits and bounce tests of the
  activity detector cannot fire on that file; the counts of active days are judged as usual.

Tickets (``convert_complaints_csv``): one row per ticket, or one row per change of a
ticket's status (an event log); needs a customer and a time (the opening time, or the time
of the change).

* The ticket id column groups rows into tickets; without it every row is its own ticket.
* A ticket's first row (in time) is its ``opened`` event. Later rows are ``escalated``,
  ``resolved`` or ``reopened`` events by their status column (an open status after a
  resolution is a reopening; a repeated status is left out, counted); a resolved-at
  (closed/solved) column adds a ``resolved`` event at that time, an escalated-at column an
  ``escalated`` event.
* A one-row ticket whose status says closed or resolved with no resolved-at column has no
  time for its resolution: it is written as resolved a second after its opening (counted in
  the summary), so it is counted as a complaint but never as one left unanswered. (A
  ticket's changes are always written at least a second apart, in order.) A still-open
  ticket with no resolution is unresolved, as the file says: the complaints detector judges
  it against the response deadline.
* Category from the category/topic/reason column, mapped by keywords to the contract's
  categories (``late delivery`` -> logistics, ``damaged item`` -> product, ``rude agent``
  -> service, ``double charge`` -> billing, anything else other; the mapping of each value is
  in the stats); when that column is blank or names no kind of complaint (a ticket type
  such as ``question``), the next category-like column that does (the subject, the tags); severity from a severity/priority column (``urgent``/``critical``/``p1`` ->
  high, ``normal``/``p2`` -> medium, ``minor``/``p3``/``p4`` -> low; medium without one).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from streams.convert import (
    EXAMPLES_KEPT, ConvertError, DateParser, _count, _date_order_of, _delimiter_option, _file_kind,
    _FLOAT_INTEGER_ID, _LOOKS_LIKE_DATA, _MISSING, _normalise_header, _open_csv, _rows, _sniff_delimiter,
    match_aliases,
    _workbook_to_csv,
)
from streams.json_records import convert_json, is_plain_zip, sniff_json, unpack_zip
from streams.jsonl_io import check_distinct_files, write_jsonl

#: Role -> accepted header names of a visit log, normalised (lowercase, no spaces, ``_`` or ``-``).
VISIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "custid", "clientid", "client", "userid", "user", "visitorid",
                    "memberid", "accountid", "customernumber", "customerno", "customercode", "userpseudoid",
                    "customeremail", "email",
                    # product analytics: Mixpanel's and PostHog's id of the person
                    "distinctid", "msno"),
    # "date" before "time": of a file with both, the date column (a time-of-day column alone is no date)
    "date": ("timestamp", "datetime", "occurredat", "createdat", "logintime", "loginat", "logindate", "visitstart",
             "visittime", "sessionstart", "starttime", "eventtime", "eventtimestamp", "viewedat", "date",
             "visitdate", "sessiondate", "start", "time", "ts"),
    "type": ("type", "eventtype", "event", "eventname", "kind", "action", "activity"),
    "channel": ("channel", "device", "devicetype", "platform", "source", "client_type", "clienttype"),
    "success": ("success", "succeeded", "successful", "result", "outcome"),
    "page": ("page", "url", "path", "pagepath", "pageurl", "pagelocation", "landingpage", "screen", "screenname",
             "currenturl", "pathname"),
    "page_views": ("pageviews", "views", "hits", "pages", "pagespersession", "screenviews", "numberofpageviews"),
    # seconds; a header ending in "min"/"minutes" holds minutes (see `_duration_scale`)
    "duration": ("duration", "dwell", "dwellseconds", "dwelltime", "timeonsite", "timeonpage", "sessionduration",
                 "durationseconds", "durationsec", "durations", "sessiondurationsec", "sessiondurationseconds",
                 "sessiondurations", "timeonsiteseconds", "timeonpageseconds", "timeonpagesec", "seconds",
                 "length", "sessionlength", "durationmin", "durationminutes", "sessiondurationmin",
                 "sessiondurationminutes", "timeonsiteminutes", "minutes", "totalsecs", "totalseconds"),
    "category": ("category", "productcategory", "categoryname", "categorycode", "section"),
    "session_id": ("sessionid", "session", "visitid", "visitnumber", "usersession", "gasessionid"),
}

#: Role -> accepted header names of a support-ticket export.
TICKET_COLUMNS: dict[str, tuple[str, ...]] = {
    # ticket tools' exports: Zendesk (Requester id, Created at, Solved at), Freshdesk (Contact ID,
    # Created time, Resolved time), Salesforce cases (Account ID, Date/Time Opened, Date/Time Closed)
    # HubSpot tickets (Associated Contact IDs, Create date, Close date), Intercom conversations
    # (User ID, Created at, Closed at, Conversation ID)
    "customer_id": VISIT_COLUMNS["customer_id"] + ("requesterid", "contactid", "requesteremail", "contactemail",
                                                   "accountname", "requester", "reporter", "contact",
                                                   "associatedcontactids", "associatedcontactid",
                                                   # Intercom's conversations API: the user who wrote in
                                                   "sourceauthorid"),
    "date": ("createdat", "created", "createdtime", "openedat", "opened", "opendate", "createddate", "createdate",
             "datecreated", "date/timeopened", "dateopened", "openeddate", "submittedat", "reportedat", "date",
             "timestamp", "time", "datetime", "occurredat", "updatedat"),
    "ticket_id": ("ticketid", "ticket", "complaintid", "caseid", "case", "casenumber", "ticketnumber",
                  "issueid", "incidentid", "conversationid", "id"),
    "status": ("status", "state", "ticketstatus", "casestatus"),
    "category": ("category", "topic", "reason", "type", "issuetype", "complainttype", "subject", "tags",
                 "casereason", "issue"),
    "severity": ("severity", "priority", "urgency", "impact"),
    "resolved_at": ("resolvedat", "resolved", "resolvedtime", "closedat", "closed", "closedtime", "solvedat",
                    "solved", "resolutiondate", "closedate", "dateclosed", "date/timeclosed", "resolveddate",
                    "closeddate", "statisticslastcloseat", "lastcloseat"),
    "escalated_at": ("escalatedat", "escalated", "escalationdate", "escalateddate"),
}

_VISIT_TYPES: dict[str, str] = {
    **dict.fromkeys(("login", "logon", "signin", "sign_in", "auth", "authentication", "logged_in", "log_in",
                     "signed_in", "user_signed_in", "user_logged_in", "login_success",
                     # an app opened is the app's sign-in: the customer is there
                     "app_open", "app_opened", "application_opened", "open_app", "first_open"), "login"),
    **dict.fromkeys(("page_view", "pageview", "view", "hit", "page", "screen_view", "screenview", "pv",
                     "view_item", "view_item_list",
                     # product analytics' own names (Mixpanel, PostHog, Amplitude, Segment's specs)
                     "mp_web_page_view", "mp_page_view", "page_viewed", "viewed_page", "screen", "screen_viewed",
                     "viewed_screen", "product_viewed", "product_list_viewed", "products_searched"), "page_view"),
    # what a shopper does on a page (clickstream logs: Retailrocket's addtocart and transaction,
    # GA4's e-commerce events) is a page view too: the visit is the evidence, the order itself
    # comes from the orders export
    **dict.fromkeys(("addtocart", "add_to_cart", "cart", "remove_from_cart", "removefromcart", "view_cart", "begin_checkout", "checkout",
                     "add_payment_info", "add_shipping_info", "add_to_wishlist", "select_item", "view_promotion",
                     "select_promotion", "search", "purchase", "transaction", "product_added", "product_removed",
                     "product_clicked", "cart_viewed", "checkout_started", "order_completed"), "page_view"),
    **dict.fromkeys(("session", "visit", "session_start", "session_started", "start_session"), "session"),
}
#: Events that are not the customer's visit: the tool's bookkeeping of who is who, and messages
#: sent to the customer (an e-mail opened is the inbox, not the shop). Never written.
_NOT_A_VISIT = {"identify", "alias", "group", "create_alias", "merge_dangerously", "set", "set_once",
                "groupidentify", "feature_flag_called"}
_NOT_A_VISIT_STEMS = ("email", "e_mail", "newsletter", "push", "sms", "notification", "unsubscribe")
#: Stems of a clickstream's page names (``product_view``, ``promo_page``, ``home``,
#: ``catalog``): a row so named is a page the customer saw.
_PAGE_STEMS = ("page", "view", "screen", "home", "catalog", "categor", "product", "listing", "landing")


#: A device's or browser's id in analytics exports (GA4, Mixpanel, Segment, Amplitude).
_DEVICE_IDS = frozenset(("userpseudoid", "distinctid", "anonymousid", "deviceid", "amplitudeid", "visitorid",
                         "cookieid", "clientid"))


def _kind_word(text: str) -> str:
    """An event name as looked up: lower case, a ``[Tool]`` prefix and a ``$`` left out."""
    word = re.sub(r"^\[[^\]]*\]", "", text.strip().lower()).strip().lstrip("$")
    return re.sub(r"[\s\-]+", "_", word)


def visit_kind(text: str) -> str | None:
    """``login``, ``page_view`` or ``session`` for a row's event name; ``not_a_visit`` for an
    analytics tool's bookkeeping or a message to the customer; None for any other event.

    Example:
        >>> [visit_kind(t) for t in ("Login", "$pageview", "[Amplitude] Page Viewed", "Signed In", "$identify",
        ...                          "Email Opened", "scroll", "Song Played", "product_view", "promo_page", "catalog")]
        ['login', 'page_view', 'page_view', 'login', 'not_a_visit', 'not_a_visit', None, None, 'page_view', 'page_view', 'page_view']
    """
    word = _kind_word(text)
    kind = _VISIT_TYPES.get(word)
    if kind is not None:
        return kind
    if word in _NOT_A_VISIT or any(stem in word for stem in _NOT_A_VISIT_STEMS):
        return "not_a_visit"
    if any(stem in word for stem in _PAGE_STEMS):
        return "page_view"
    return None


_CHANNELS: dict[str, str] = {
    **dict.fromkeys(("web", "www", "website", "browser", "desktop", "online", "site", "mobile_web", "mweb",
                     "webshop"), "web"),
    **dict.fromkeys(("app", "ios", "android", "mobile_app", "mobileapp", "iphone", "ipad", "tablet_app"), "app"),
}
_FALSE_WORDS = {"false", "0", "no", "n", "failed", "failure", "fail", "error", "denied", "rejected", "f"}
_TRUE_WORDS = {"true", "1", "yes", "y", "ok", "success", "succeeded", "successful", "t", ""}

#: Ticket status words -> contract status; "open" words become "reopened" after a resolution.
_TICKET_STATUS: dict[str, str] = {
    **dict.fromkeys(("open", "opened", "new", "pending", "in_progress", "inprogress", "waiting", "on_hold",
                     "onhold", "assigned", "active", "created", "submitted", "received", "hold"), "opened"),
    **dict.fromkeys(("escalated", "escalation", "urgent_escalation"), "escalated"),
    **dict.fromkeys(("resolved", "closed", "solved", "done", "completed", "complete", "fixed", "answered",
                     "finished"), "resolved"),
    **dict.fromkeys(("reopened", "re_opened", "reopen"), "reopened"),
}
#: Stems of ticket tools' other status words (HubSpot's "Waiting on us", "Closed - resolved",
#: "Pending customer"), in order: the first found decides.
_TICKET_STATUS_STEMS: tuple[tuple[str, str], ...] = (
    ("unresolv", "opened"), ("notresolv", "opened"), ("reopen", "reopened"), ("escalat", "escalated"),
    *((stem, "resolved") for stem in ("resolv", "clos", "solv", "done", "complet", "fixed", "answer", "finish")),
    *((stem, "opened") for stem in ("open", "new", "pend", "progress", "wait", "hold", "assign", "active",
                                    "creat", "submit", "receiv", "triag", "investigat", "snooz")),
)


def ticket_status(text: str) -> str | None:
    """A ticket's status as its tool writes it -> ``opened``, ``escalated``, ``resolved``,
    ``reopened`` (an open status after a resolution is made a reopening by the caller), or None.

    >>> [ticket_status(t) for t in ("Closed", "Waiting on us", "Waiting on contact", "Closed - resolved",
    ...                             "Unresolved", "Snoozed", "Escalated to tier 2", "42")]
    ['resolved', 'opened', 'opened', 'resolved', 'opened', 'opened', 'escalated', None]
    """
    word = _word(text)
    if word in _TICKET_STATUS:
        return _TICKET_STATUS[word]
    letters = re.sub(r"[^a-z]", "", word)
    return next((status for stem, status in _TICKET_STATUS_STEMS if stem in letters), None)


#: Keywords of free-text categories, in order of precedence (first match wins).
_CATEGORY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("billing", ("bill", "payment", "invoice", "charge", "refund", "price", "pricing", "fee", "card", "money",
                 "overcharg", "credit", "paid", "pay")),
    ("logistics", ("deliver", "shipping", "shipment", "ship", "courier", "late", "delay", "lost", "track",
                   "logistic", "parcel", "package", "dispatch", "transit", "arriv", "carrier", "postal",
                   "warehouse")),
    ("service", ("service", "staff", "rude", "attitude", "support", "agent", "communicat", "response",
                 "impolite", "unhelpful", "employee", "call centre", "call center", "waiting time", "hotline")),
    ("product", ("product", "quality", "defect", "damag", "broken", "faulty", "wrong item", "wrong size",
                 "item", "size", "fit", "missing part", "not as described", "expired", "malfunction")),
)
_CONTRACT_CATEGORIES = ("product", "logistics", "service", "billing", "other")
_SEVERITY_WORDS: dict[str, str] = {
    **dict.fromkeys(("low", "minor", "trivial", "p3", "p4", "p5", "lowest"), "low"),
    **dict.fromkeys(("medium", "normal", "moderate", "p2", "standard", "average", "med"), "medium"),
    **dict.fromkeys(("high", "urgent", "critical", "major", "p1", "p0", "blocker", "highest", "severe",
                     "emergency", "priority"), "high"),   # Intercom: priority / not_priority
    "not_priority": "medium",
}
_KINDS = ("login", "page_view")
#: Order of a ticket's changes at one time.
_ORDER = ("opened", "escalated", "reopened", "resolved")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$")


@dataclass
class EventConvertStats:
    """What a visit or ticket conversion read, wrote and skipped."""

    source: str = "visits"     # "visits" or "tickets"
    rows_read: int = 0
    events: dict[str, int] = field(default_factory=dict)  # event type (or complaint status) -> written
    customers: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows
    examples: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # role -> header used
    first_at: str = ""
    last_at: str = ""
    date_order: str = ""
    sheets: list[str] = field(default_factory=list)
    source_format: str = ""    # set when the file was not a CSV or workbook (a JSON export)
    other_events: dict[str, int] = field(default_factory=dict)   # event name -> rows: other events than visits
    not_visits: dict[str, int] = field(default_factory=dict)     # event name -> rows: not the customer's visit
    days_from_other_events: int = 0    # customer-days with no visit, written as a login from other events
    notes: list[str] = field(default_factory=list)       # what the file did not say, and what was assumed
    mapped: dict[str, dict[str, int]] = field(default_factory=dict)  # role -> "value -> mapped" -> rows

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def events_written(self) -> int:
        return sum(self.events.values())

    def summary(self) -> str:
        """One paragraph for a person.

        Example:
            >>> EventConvertStats(rows_read=4, events={"login": 2, "page_view": 6}, customers=2,
            ...                   skipped={"bad_date": 1}).summary()
            '4 rows read, 8 events for 2 customers written (2 login, 6 page_view); 1 row skipped (bad_date: 1)'
        """
        kinds = ", ".join(f"{n:,} {k}" for k, n in self.events.items())
        text = (f"{_count(self.rows_read, 'row')} read, {_count(self.events_written, 'event')} for "
                f"{_count(self.customers, 'customer')} written ({kinds})")
        if self.sheets:
            text += f"; from the workbook's {'sheets' if len(self.sheets) > 1 else 'sheet'} {', '.join(self.sheets)}"
        if self.source_format:
            text += f"; read as {self.source_format}"
        if self.date_order:
            text += f"; dates read {self.date_order}"
        if self.other_events:
            text += (f"; {_count(sum(self.other_events.values()), 'row')} of other events, "
                     f"{_count(self.days_from_other_events, 'customer-day')} without a visit written as logins")
        if self.not_visits:
            text += f"; {_count(sum(self.not_visits.values()), 'row')} of events that are not visits left out"
        if self.skipped:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items()))
            text += f"; {_count(self.rows_skipped, 'row')} skipped ({reasons})"
        return text


def map_roles(header: Sequence[str], aliases: Mapping[str, tuple[str, ...]], required: Sequence[str],
              column_map: Mapping[str, str] | None = None, *, what: str = "file") -> dict[str, int]:
    """Role -> column index; raises :class:`ConvertError` naming the missing roles.

    >>> sorted(map_roles(["User ID", "Login Time", "Device"], VISIT_COLUMNS, ("customer_id", "date")).items())
    [('channel', 2), ('customer_id', 0), ('date', 1)]
    >>> map_roles(["who", "when"], VISIT_COLUMNS, ("customer_id", "date"))
    Traceback (most recent call last):
    ...
    streams.convert.ConvertError: the file's header lacks customer_id, date; found columns: who, when (accepted names, case-insensitive: customer_id/user_id/..., timestamp/date/...; or name them with --customer-column, --date-column)
    """
    normalised = [_normalise_header(h) for h in header]
    roles: dict[str, int] = {}
    for role, name in (column_map or {}).items():
        if role not in aliases:
            raise ConvertError(f"column option for {role!r}: not a column role of a {what}; roles: "
                               f"{', '.join(aliases)}")
        wanted = _normalise_header(name)
        if wanted not in normalised:
            raise ConvertError(f"the {role} column {name!r} is not in the header; found columns: {', '.join(header)}")
        roles[role] = normalised.index(wanted)
    match_aliases(header, aliases, roles)
    missing = [r for r in required if r not in roles]
    if missing:
        hint = ("; the first line looks like data: for a file without a header row name its columns "
                "(--columns customer_id,date,...)"
                if sum(1 for h in header if _LOOKS_LIKE_DATA.match(h.strip())) >= 2 else
                " (accepted names, case-insensitive: customer_id/user_id/..., timestamp/date/...; or name them "
                "with --customer-column, --date-column)")
        raise ConvertError(f"the {what}'s header lacks {', '.join(missing)}; found columns: {', '.join(header)}{hint}")
    return roles


def parse_seconds(text: str) -> float:
    """A duration in seconds: ``95``, ``95.5``, ``1:35`` (mm:ss), ``0:01:35`` (hh:mm:ss).

    >>> [parse_seconds(t) for t in ("95", "95,5", "1:35", "0:01:35", "1:00:00")]
    [95.0, 95.5, 95.0, 95.0, 3600.0]
    >>> parse_seconds("-3")
    Traceback (most recent call last):
    ...
    ValueError: '-3' is not a duration (seconds, mm:ss or hh:mm:ss)
    """
    t = text.strip()
    m = _CLOCK.match(t)
    try:
        if m:
            hours, minutes, seconds = m.groups()
            value = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        else:
            value = float(t.replace(",", "."))
    except ValueError:
        value = -1.0
    if not (value >= 0 and value < float("inf")):
        raise ValueError(f"{text!r} is not a duration (seconds, mm:ss or hh:mm:ss)")
    return value


def _duration_scale(header: str) -> float:
    """Seconds per unit of a duration column, from its header: 60 for minutes.

    >>> _duration_scale("Session duration (min)"), _duration_scale("time_on_page_sec"), _duration_scale("dwell")
    (60.0, 1.0, 1.0)
    """
    return 60.0 if re.search(r"(min|mins|minutes)\W*$", header.strip().lower()) else 1.0


def complaint_category(text: str) -> str:
    """The contract category of a free-text ticket category, by keywords.

    >>> [complaint_category(t) for t in ("Late delivery", "Damaged item", "Rude agent", "Double charge",
    ...                                  "logistics", "Account question", "")]
    ['logistics', 'product', 'service', 'billing', 'logistics', 'other', 'other']
    """
    words = " ".join(re.sub(r"[_\-/]+", " ", text.strip().lower()).split())
    if words in _CONTRACT_CATEGORIES:
        return words
    for category, keys in _CATEGORY_WORDS:
        if any(re.search(r"\b" + re.escape(k), words) for k in keys):
            return category
    return "other"


def _word(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def _time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(prefix: str, *parts: object) -> str:
    return prefix + hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:24]


def _top(counts: Mapping[str, int], n: int = 6) -> str:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{k}: {v:,}" for k, v in ranked[:n]) + (", ..." if len(ranked) > n else "")


class _Reader:
    """The rows of a CSV or text export with their line numbers, the columns mapped to roles."""

    def __init__(self, path: Path, *, aliases: Mapping[str, tuple[str, ...]], required: Sequence[str],
                 what: str, stats: EventConvertStats, date_format: str | None, encoding: str,
                 delimiter: str | None, columns: Sequence[str] | None, column_map: Mapping[str, str] | None,
                 strict: bool) -> None:
        self.path, self.stats, self.strict = path, stats, strict
        self.skipped: Counter[str] = Counter()
        self.header: list[str] = []
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConvertError(f"encoding={encoding!r}: not a text encoding Python knows (e.g. utf-8, latin-1)") from None
        self.encoding = encoding
        self.sep = _delimiter_option(delimiter)
        self.columns = columns
        self.parse_date = DateParser(date_format)
        self.date_format = date_format
        self.aliases, self.required, self.what, self.column_map = aliases, required, what, column_map
        self.roles: dict[str, int] = {}
        self.first_of_several = 0   # rows whose customer column named several customers ("301;305")

    def skip(self, line: int, reason: str, column: int | None, detail: str) -> None:
        where = f"line {line}" + (f", column {self.header[column]!r}" if column is not None else "")
        if self.strict:
            raise ConvertError(f"{self.path}: {where}: {reason} ({detail}); without --strict such rows are "
                               f"skipped and counted")
        self.skipped[reason] += 1
        if len(self.stats.examples) < EXAMPLES_KEPT:
            self.stats.examples.append(f"{where}: {reason} ({detail})")

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        try:
            with _open_csv(self.path, self.encoding) as f:
                first_line = f.readline()
                if not first_line.strip():
                    raise ConvertError(f"{self.path}: empty file, expected a header row or data")
                sep = self.sep or _sniff_delimiter(first_line)
                first_row = next(_rows([first_line], sep))
                if self.columns is not None:
                    self.header = [c.strip() for c in self.columns]
                    if len(self.header) != len(first_row):
                        raise ConvertError(f"{self.path}: {len(self.header)} column names given "
                                           f"({', '.join(self.header)}) but line 1 has {len(first_row)} fields: "
                                           f"{first_line.strip()!r}")
                    body: Iterable[str] = itertools.chain([first_line], f)
                    first_data_line = 1
                else:
                    self.header, body, first_data_line = first_row, f, 2
                self.roles = map_roles(self.header, self.aliases, self.required, self.column_map, what=self.what)
                self.stats.columns = {role: self.header[i].strip() for role, i in self.roles.items()}
                if self.date_format is None:
                    detected = _date_order_of(self.path, self.encoding, sep, self.roles["date"],
                                              skip_first=self.columns is None)
                    if detected is not None:
                        order_name, example = detected
                        self.parse_date = DateParser(order_name)
                        self.stats.date_order = f"{order_name.replace('first', ' first')} (detected from {example!r})"
                width = len(self.header)
                for line, row in enumerate(_rows(body, sep), start=first_data_line):
                    if not row or all(not v.strip() for v in row):
                        continue
                    self.stats.rows_read += 1
                    if len(row) < width:
                        row = row + [""] * (width - len(row))
                    yield line, row
        except UnicodeDecodeError as exc:
            raise ConvertError(f"{self.path}: not valid {self.encoding} text near byte {exc.start}; pass the "
                               f"file's encoding, e.g. --encoding latin-1") from None
        except csv.Error as exc:
            raise ConvertError(f"{self.path}: not a readable CSV ({exc})") from None

    def customer(self, line: int, row: list[str]) -> str | None:
        c = self.roles["customer_id"]
        customer = row[c].strip()
        if customer.lower() in _MISSING:
            self.skip(line, "missing_customer_id", c, "no customer id")
            return None
        if ";" in customer and _normalise_header(self.header[c]).endswith("ids"):
            # a list of the records associated with the row (HubSpot's "Associated Contact
            # IDs"): the first is the primary one
            customer = customer.split(";", 1)[0].strip()
            self.first_of_several += 1
        if m := _FLOAT_INTEGER_ID.match(customer):
            customer = m.group(1)
        if len(customer) > 128:
            self.skip(line, "bad_customer_id", c, f"{len(customer)} characters, at most 128")
            return None
        return customer

    def date(self, line: int, row: list[str], role: str = "date", *, optional: bool = False) -> datetime | None:
        c = self.roles[role]
        text = row[c]
        if optional and text.strip().lower() in _MISSING:
            return None
        try:
            return self.parse_date(text)
        except ValueError as exc:
            self.skip(line, f"bad_{role}" if role != "date" else "bad_date", c, str(exc))
            raise _Skip from None

    def text(self, row: list[str], role: str) -> str:
        c = self.roles.get(role)
        if c is None:
            return ""
        value = row[c].strip()
        return "" if value.lower() in _MISSING else value

    def candidates(self, role: str) -> list[int]:
        """The role's column, then every other column its aliases name that no role took."""
        if role not in self.roles:
            return []
        taken = set(self.roles.values())
        found = [self.roles[role]]
        normalised = [_normalise_header(h) for h in self.header]
        for alias in self.aliases[role]:
            found += [i for i, n in enumerate(normalised) if n == alias and i not in taken and i not in found]
        return found

    def finish(self) -> None:
        self.stats.skipped = dict(sorted(self.skipped.items()))
        if self.first_of_several:
            self.stats.notes.append(f"{_count(self.first_of_several, 'row')} with several customers in "
                                    f"{self.header[self.roles['customer_id']]!r}: the first of each is taken")


class _Skip(Exception):
    """The row was skipped (and counted)."""


def _note_mapping(stats: EventConvertStats, role: str, value: str, mapped: str) -> None:
    by_value = stats.mapped.setdefault(role, {})
    key = f"{value or '(empty)'} -> {mapped}"
    by_value[key] = by_value.get(key, 0) + 1


def _prepare(in_path: str | Path, out_path: str | Path, convert: Any, options: dict[str, Any],
             aliases: Mapping[str, tuple[str, ...]]) -> tuple[Path, Path, Any]:
    in_path, out_path = Path(in_path), Path(out_path)
    kind = _file_kind(in_path)
    if kind == "xls":
        raise ConvertError(f"{in_path}: an Excel 97-2003 workbook (.xls), which is not read; save it as .xlsx or CSV")
    if kind == "xlsx" and is_plain_zip(in_path):
        with tempfile.TemporaryDirectory(prefix="churnwatch-zip-") as tmp:
            inner, note = unpack_zip(in_path, Path(tmp))
            try:
                stats = convert(inner, out_path, **options)
            except ConvertError as exc:
                raise ConvertError(str(exc).replace(str(inner), f"{in_path} ({note.removeprefix('from ')})")) from None
        stats.source_format = f"{stats.source_format or 'CSV'} {note}"
        return in_path, out_path, stats
    if kind == "xlsx":
        with tempfile.TemporaryDirectory(prefix="churnwatch-xlsx-") as tmp:
            text = Path(tmp) / f"{in_path.stem}.csv"
            sheets = _workbook_to_csv(in_path, text)
            options = {**options, "encoding": "utf-8", "delimiter": ","}
            try:
                stats = convert(text, out_path, **options)
            except ConvertError as exc:
                raise ConvertError(str(exc).replace(str(text), str(in_path))) from None
        stats.sheets = sheets
        return in_path, out_path, stats
    if options.get("columns") is None and (shape := sniff_json(in_path, options["encoding"], aliases)) is not None:
        return in_path, out_path, convert_json(in_path, out_path, convert, options, aliases, shape)
    return in_path, out_path, None


def _write(out_path: Path, events: list[dict[str, Any]], stats: EventConvertStats, in_path: Path,
           what: str, key: str) -> EventConvertStats:
    if not events:
        first = stats.examples[0] if stats.examples else "the file has a header but no rows"
        raise ConvertError(f"{in_path}: no usable {what} rows; first problem: {first}")
    seen: Counter[str] = Counter()
    for event in events:  # identical rows (a log that repeats a line): keep ids unique, deterministically
        seen[event["event_id"]] += 1
        if seen[event["event_id"]] > 1:
            event["event_id"] += f"-{seen[event['event_id']]}"
    events.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
    write_jsonl(out_path, events)
    counts = Counter(e[key] for e in events)
    stats.events = {k: counts[k] for k in (*_KINDS, *_ORDER) if counts[k]}
    stats.customers = len({e["customer_id"] for e in events})
    stats.first_at, stats.last_at = events[0]["occurred_at"], events[-1]["occurred_at"]
    return stats


def convert_visits_csv(
    in_path: str | Path,
    out_path: str | Path,
    *,
    date_format: str | None = None,
    encoding: str = "utf-8-sig",
    delimiter: str | None = None,
    columns: Sequence[str] | None = None,
    column_map: Mapping[str, str] | None = None,
    strict: bool = False,
) -> EventConvertStats:
    """Convert a login, page-view or session log into a replay file of ``login`` and
    ``page_view`` events (see the module docstring for the rules).

    Example:
        >>> import os, tempfile, json
        >>> d = tempfile.mkdtemp(); src = os.path.join(d, "sessions.csv")
        >>> _ = open(src, "w").write("user_id,session_start,device,pageviews,session_duration\\n"
        ...                          "u1,2024-03-01 10:00:00,iOS,3,1:30\\nu2,2024-03-02 09:00,desktop,1,40\\n")
        >>> stats = convert_visits_csv(src, os.path.join(d, "visits.jsonl"))
        >>> stats.summary()
        '2 rows read, 4 events for 2 customers written (4 page_view)'
        >>> [(e["customer_id"], e["occurred_at"], e["dwell_seconds"]) for e in map(json.loads, open(os.path.join(d, "visits.jsonl")))]
        [('u1', '2024-03-01T10:00:00Z', 30.0), ('u1', '2024-03-01T10:00:01Z', 30.0), ('u1', '2024-03-01T10:00:02Z', 30.0), ('u2', '2024-03-02T09:00:00Z', 40.0)]
    """
    options = dict(date_format=date_format, encoding=encoding, delimiter=delimiter, columns=columns,
                   column_map=column_map, strict=strict)
    in_path, out_path, done = _prepare(in_path, out_path, convert_visits_csv, options, VISIT_COLUMNS)
    if done is not None:
        return done
    stats = EventConvertStats(source="visits")
    reader = _Reader(in_path, aliases=VISIT_COLUMNS, required=("customer_id", "date"), what="visit log",
                     stats=stats, date_format=date_format, encoding=encoding, delimiter=delimiter,
                     columns=columns, column_map=column_map, strict=strict)
    events: list[dict[str, Any]] = []
    no_duration = 0
    login_durations = 0
    scale: float | None = None
    not_visits: Counter[str] = Counter()     # event name -> rows that are not a visit
    others: Counter[str] = Counter()         # event name -> rows of other events
    other_days: dict[tuple[str, Any], tuple[datetime, str, str]] = {}   # (customer, day) -> its first
    for line, row in reader.rows():
        roles = reader.roles
        if scale is None:   # the header is read with the first row
            scale = _duration_scale(reader.header[roles["duration"]]) if "duration" in roles else 1.0
        try:
            customer = reader.customer(line, row)
            if customer is None:
                continue
            at = reader.date(line, row)
            assert at is not None
            typed = reader.text(row, "type")
            if "type" in roles:
                kind = visit_kind(typed)
                name = typed[:40] or "(no event name)"
                if kind == "not_a_visit":
                    not_visits[name] += 1
                    continue
                if kind is None:
                    # another event of the customer's (a click, an app's own event): evidence
                    # that they were there, kept for the days the file shows no visit of theirs
                    others[name] += 1
                    day = (customer, at.date())
                    if day not in other_days or at < other_days[day][0]:
                        other_days[day] = (at, name, reader.text(row, "channel"))
                    continue
            elif "page_views" in roles:
                kind = "session"     # a session export's page column is its landing page
            elif "page" in roles:
                kind = "page_view"
            elif "duration" in roles:
                kind = "session"     # visits with their length and no page (an app's daily use): one view each
            else:
                kind = "login"
            head = {"schema_version": 1, "customer_id": customer, "occurred_at": _time(at)}
            if kind == "login":
                raw = reader.text(row, "channel")
                channel = _CHANNELS.get(_word(raw), "other") if raw else "web"
                if raw:
                    _note_mapping(stats, "channel", raw, channel)
                success = True
                if "success" in roles:
                    flag = reader.text(row, "success").lower()
                    if flag in _FALSE_WORDS:
                        success = False
                    elif flag not in _TRUE_WORDS:
                        reader.skip(line, "bad_success", roles["success"], f"{flag!r}; expected true or false")
                        continue
                events.append({"type": "login", **head, "channel": channel, "success": success,
                               "event_id": _hash("vis-", customer, head["occurred_at"], "login", channel, success)})
                if "duration" in roles and reader.text(row, "duration"):
                    login_durations += 1
                continue
            duration = None
            if "duration" in roles and reader.text(row, "duration"):
                try:
                    duration = parse_seconds(reader.text(row, "duration")) * scale
                except ValueError as exc:
                    reader.skip(line, "bad_duration", roles["duration"], str(exc))
                    continue
            if duration is None:
                no_duration += 1
            count = 1
            if kind == "session" and "page_views" in roles:
                text = reader.text(row, "page_views") or "1"
                try:
                    count = int(float(text.replace(",", ".")))
                except (ValueError, OverflowError):   # (OverflowError: "inf", "1e400")
                    count = -1
                if count < 0 or count > 10_000:
                    reader.skip(line, "bad_page_views", roles["page_views"],
                                f"{text!r}; expected a whole number of page views")
                    continue
                if count == 0:
                    # A session without a page view is a visit all the same (an app opened):
                    # one view, so that the day counts as active.
                    count = 1
            page = reader.text(row, "page")[:2048]
            if not page and kind == "page_view" and "type" in roles and _kind_word(typed) not in _VISIT_TYPES:
                page = typed[:2048]     # a clickstream named by its pages: the name is the page
            page = page or "(not set)"
            category = reader.text(row, "category")[:128] or None
            session = reader.text(row, "session_id")[:128] or None
            if kind == "session" and session is None:
                session = _hash("s-", customer, head["occurred_at"], line)[:26]
            dwell = min(86_400.0, round((duration or 0.0) / count, 3))
            for i in range(count):
                when = _time(at + timedelta(seconds=i))
                events.append({"type": "page_view", **head, "occurred_at": when, "page": page,
                               "dwell_seconds": dwell, "category": category, "session_id": session,
                               "event_id": _hash("vis-", customer, when, "page_view", page, session, i)})
        except _Skip:
            continue
    reader.finish()
    anonymous = stats.skipped.get("missing_customer_id", 0)
    if anonymous:
        # visitors not signed in: analytics tools keep a device's or browser's id beside the user's
        used = reader.roles["customer_id"]
        devices = [h for i, h in enumerate(reader.header) if i != used
                   and _normalise_header(h.rsplit(".", 1)[-1].lstrip("$")) in _DEVICE_IDS]
        if devices:
            stats.notes.append(f"{_count(anonymous, 'row')} without a user id in {reader.header[used]!r} (visitors not "
                               f"signed in) skipped, as such rows cannot be joined to a customer's orders. To follow "
                               f"devices instead, name the column: --customer-column {devices[0]!r}")
    from_others = 0
    visit_days = {(e["customer_id"], e["occurred_at"][:10]) for e in events}
    for (customer, _), (at, name, raw) in sorted(other_days.items(), key=lambda kv: (kv[1][0], kv[0][0])):
        if (customer, at.date().isoformat()) in visit_days:
            continue
        from_others += 1
        when = _time(at)
        events.append({"type": "login", "schema_version": 1, "customer_id": customer, "occurred_at": when,
                       "channel": _CHANNELS.get(_word(raw), "other") if raw else "web", "success": True,
                       "event_id": _hash("vis-", customer, when, "other", name)})
    stats.other_events, stats.not_visits = dict(others), dict(not_visits)
    stats.days_from_other_events = from_others
    if others:
        stats.notes.append(
            f"{_count(sum(others.values()), 'row')} of other events than logins, page views and sessions "
            f"({_top(others)}): {_count(from_others, 'customer-day')} with no visit in the file "
            f"{'was' if from_others == 1 else 'were'} written as one login each (the customer was there); "
            f"the rest fell on days with a visit")
    if not_visits:
        stats.notes.append(f"{_count(sum(not_visits.values()), 'row')} of events that are not a visit of the "
                           f"customer's ({_top(not_visits)}) left out")
    if no_duration:
        stats.notes.append(f"{no_duration:,} page-view or session rows without a duration: time on the page "
                           f"written as 0 (unknown), so the shorter-visits and bounce tests cannot judge them")
    if login_durations:
        stats.notes.append(f"{login_durations:,} login rows with a duration: a login event has no time on site, "
                           f"so it is not used (rows typed session or page_view keep theirs)")
    return _write(out_path, events, stats, in_path, "visit", "type")


def convert_complaints_csv(
    in_path: str | Path,
    out_path: str | Path,
    *,
    date_format: str | None = None,
    encoding: str = "utf-8-sig",
    delimiter: str | None = None,
    columns: Sequence[str] | None = None,
    column_map: Mapping[str, str] | None = None,
    strict: bool = False,
) -> EventConvertStats:
    """Convert a support-ticket export (one row per ticket, or per status change) into a
    replay file of ``complaint`` events (see the module docstring for the rules).

    Example:
        >>> import os, tempfile, json
        >>> d = tempfile.mkdtemp(); src = os.path.join(d, "tickets.csv")
        >>> _ = open(src, "w").write("ticket_id,customer_id,created_at,topic,priority,status,closed_at\\n"
        ...     "T1,c7,2024-05-02 08:00,Late delivery,urgent,closed,2024-05-04 12:00\\n"
        ...     "T2,c7,2024-05-20 10:00,Damaged item,normal,open,\\n")
        >>> stats = convert_complaints_csv(src, os.path.join(d, "complaints.jsonl"))
        >>> stats.summary()
        '2 rows read, 3 events for 1 customer written (2 opened, 1 resolved)'
        >>> [(e["complaint_id"], e["status"], e["category"], e["severity"], e["occurred_at"])
        ...  for e in map(json.loads, open(os.path.join(d, "complaints.jsonl")))]
        [('T1', 'opened', 'logistics', 'high', '2024-05-02T08:00:00Z'), ('T1', 'resolved', 'logistics', 'high', '2024-05-04T12:00:00Z'), ('T2', 'opened', 'product', 'medium', '2024-05-20T10:00:00Z')]
    """
    options = dict(date_format=date_format, encoding=encoding, delimiter=delimiter, columns=columns,
                   column_map=column_map, strict=strict)
    in_path, out_path, done = _prepare(in_path, out_path, convert_complaints_csv, options, TICKET_COLUMNS)
    if done is not None:
        return done
    stats = EventConvertStats(source="tickets")
    reader = _Reader(in_path, aliases=TICKET_COLUMNS, required=("customer_id", "date"), what="ticket export",
                     stats=stats, date_format=date_format, encoding=encoding, delimiter=delimiter,
                     columns=columns, column_map=column_map, strict=strict)
    # (customer, ticket) -> its rows: (time, line, status or None, category, severity, resolved, escalated)
    tickets: dict[tuple[str, str], list[tuple[datetime, int, str | None, str, str, datetime | None,
                                              datetime | None]]] = defaultdict(list)
    unnamed: Counter[str] = Counter()   # rows without a ticket id, by content
    defaulted_severity = 0
    for line, row in reader.rows():
        roles = reader.roles
        try:
            customer = reader.customer(line, row)
            if customer is None:
                continue
            at = reader.date(line, row)
            assert at is not None
            flags: dict[str, bool] = {}
            times: dict[str, datetime | None] = {}
            for role in ("resolved_at", "escalated_at"):
                word = reader.text(row, role).lower() if role in roles else ""
                if word and (word in _TRUE_WORDS or word in _FALSE_WORDS):
                    # A yes/no column ("Resolved: yes"): the status without its time.
                    flags[role], times[role] = word in _TRUE_WORDS, None
                else:
                    times[role] = reader.date(line, row, role, optional=True) if role in roles else None
        except _Skip:
            continue
        resolved, escalated = times["resolved_at"], times["escalated_at"]
        status = None
        if flags.get("resolved_at"):
            status = "resolved"
        elif flags.get("escalated_at"):
            status = "escalated"
        if "status" in roles and reader.text(row, "status"):
            raw = reader.text(row, "status")
            status = ticket_status(raw)
            if status is None:
                reader.skip(line, "unknown_status", roles["status"],
                            f"{raw!r}; expected e.g. open, escalated, resolved, closed, reopened")
                continue
        # the first category-like column that names a kind of complaint (a Zendesk ticket's
        # type is "question" or "incident", its subject "Order arrived late")
        raw_category, category = "", "other"
        for column in reader.candidates("category"):
            text = row[column].strip()
            if text.lower() in _MISSING:
                continue
            mapped = complaint_category(text)
            if not raw_category or mapped != "other":
                raw_category, category = text, mapped
            if mapped != "other":
                break
        _note_mapping(stats, "category", raw_category[:60], category)
        raw_severity = reader.text(row, "severity")
        severity = _SEVERITY_WORDS.get(_word(raw_severity)) if raw_severity else None
        if severity is None:
            # Numbers (1 is the highest priority in some tools, the lowest in others) and
            # unknown words: medium, shown in the mapping so a user can see and correct it.
            severity = "medium"
            defaulted_severity += 1
        if raw_severity:
            _note_mapping(stats, "severity", raw_severity[:60], severity)
        ticket = reader.text(row, "ticket_id")[:128]
        if not ticket:
            # from the row's content, not its place in the file: tickets of exports of different
            # months concatenate without two sharing an id (the n-th identical row gets -n)
            content = f"{customer}\x1f{at.isoformat()}\x1f{raw_category}\x1f{status}"
            unnamed[content] += 1
            ticket = _hash("row-", content)[:20] + (f"-{unnamed[content]}" if unnamed[content] > 1 else "")
        tickets[(customer, ticket)].append((at, line, status, category, severity, resolved, escalated))
    reader.finish()

    events: list[dict[str, Any]] = []
    repeated = unknown_time = early = 0
    for (customer, ticket), rows in tickets.items():
        rows.sort(key=lambda r: (r[0], r[1]))
        first = rows[0]
        opened_at = first[0]
        category, severity = first[3], max((r[4] for r in rows), key=("low", "medium", "high").index)
        changes: list[tuple[datetime, str]] = []
        for row in rows:
            at, _line, status, _category, _severity, resolved, escalated = row
            # A status whose own time is in the row (a ticket's final status beside its
            # resolved-at) happened then; any other happened at the row's time.
            timed = (status == "resolved" and resolved is not None) or (status == "escalated" and escalated is not None)
            if status is not None and not timed and not (row is first and status == "opened"):
                changes.append((at, status))
            if escalated is not None:
                changes.append((escalated, "escalated"))
            if resolved is not None:
                changes.append((resolved, "resolved"))
        if len(rows) == 1 and first[2] in ("resolved", "escalated", "reopened") and not (
                (first[2] == "resolved" and first[5] is not None) or (first[2] == "escalated" and first[6] is not None)):
            unknown_time += 1   # a one-row ticket's final status without its time (see the module docstring)
        for i, (at, status) in enumerate(changes):
            if at < opened_at:
                early += 1
                changes[i] = (opened_at, status)   # stamped before the opening (a clock or time-zone slip)
        changes.sort(key=lambda c: (c[0], _ORDER.index(c[1])))
        state = "opened"
        written: list[tuple[datetime, str]] = [(opened_at, "opened")]
        for at, status in changes:
            if status == "opened":
                status = "reopened" if state == "resolved" else state
            elif status == "reopened" and state != "resolved":
                status = state
            if status == state:
                repeated += 1
                continue
            # Each change a second after the one before at least: consumers (and the state
            # record) order a complaint's changes by time, and a tie would be read either way.
            at = max(at, written[-1][0] + timedelta(seconds=1))
            written.append((at, status))
            state = status
        for i, (at, status) in enumerate(written):
            when = _time(at)
            events.append({"type": "complaint", "schema_version": 1, "customer_id": customer,
                           "occurred_at": when, "complaint_id": ticket, "status": status, "category": category,
                           "severity": severity,
                           "event_id": _hash("tkt-", customer, ticket, i, status, when)})
    if unknown_time:
        timed = [c for c in ("resolved_at", "escalated_at") if c in stats.columns]
        why = (f"the {' and '.join(repr(stats.columns[c]) for c in timed)} {'cells are' if len(timed) > 1 else 'cell is'} "
               f"empty" if timed else "no resolved-at or escalated-at column")
        stats.notes.append(f"{_count(unknown_time, 'one-row ticket')} with a final status but no time for it ({why}): "
                           f"written a second after the opening, so a closed ticket counts as a complaint but never "
                           f"as one left unanswered")
    if repeated:
        stats.notes.append(f"{repeated:,} status rows that repeat the ticket's status: left out")
    if early:
        stats.notes.append(f"{early:,} status changes stamped before the ticket's opening: moved to the opening time")
    if defaulted_severity and "severity" in stats.columns:
        stats.notes.append(f"{defaulted_severity:,} tickets without a severity: medium")
    elif defaulted_severity:
        stats.notes.append("no severity or priority column: every ticket medium")
    return _write(out_path, events, stats, in_path, "ticket", "status")


def echo_stats(stats: EventConvertStats, out_path: Path) -> None:
    """The conversion's summary on stdout; columns, mappings, assumptions and skipped rows on stderr."""
    import click

    click.echo(f"{stats.summary()} -> {out_path}")
    click.echo(f"columns used: {', '.join(f'{role}={name}' for role, name in stats.columns.items())}; "
               f"events from {stats.first_at} to {stats.last_at}", err=True)
    for role, counts in stats.mapped.items():
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = "; ".join(f"{k} ({n:,})" for k, n in top[:12])
        more = f"; and {len(top) - 12} more" if len(top) > 12 else ""
        click.echo(f"{role}: {shown}{more}", err=True)
    for note in stats.notes:
        click.echo(f"note: {note}", err=True)
    for example in stats.examples:
        click.echo(f"  skipped {example}", err=True)


_VISIT_OPTIONS = {"customer_id": "customer_column", "date": "date_column", "type": "type_column",
                  "channel": "channel_column", "page": "page_column", "page_views": "page_views_column",
                  "duration": "duration_column", "category": "category_column", "session_id": "session_column"}
_TICKET_OPTIONS = {"customer_id": "customer_column", "date": "date_column", "ticket_id": "ticket_column",
                   "status": "status_column", "category": "category_column", "severity": "severity_column",
                   "resolved_at": "resolved_column", "escalated_at": "escalated_column"}


def _options(columns: Mapping[str, str]) -> Any:
    import click

    def decorate(command: Any) -> Any:
        options = [
            click.option("--date-format", default=None, metavar="FORMAT",
                         help="How to read times: dayfirst, monthfirst, epoch, epoch_ms, epoch_us (GA4's "
                              "event_timestamp), days:YYYY-MM-DD (day numbers, day 1 being that date) or a "
                              "strptime format "
                              "[default: ISO 8601; numeric dates day or month first as the file shows; dates that "
                              "name their month and year, such as 'Dec 9, 2011']."),
            click.option("--encoding", default="utf-8-sig", show_default=True, help="Text encoding of the file."),
            click.option("--delimiter", default=None,
                         help="Field separator: one character, 'tab' or 'whitespace' [default: guessed]."),
            click.option("--columns", default=None, metavar="NAME,NAME,...",
                         help="The file has no header row; these are its column names in order."),
            *[click.option(f"--{opt.replace('_', '-')}", opt, default=None, metavar="NAME",
                           help=f"Header of the {role.replace('_', ' ')} column [default: recognised by name].")
              for role, opt in columns.items()],
            click.option("--strict", is_flag=True, help="Stop at the first unusable row instead of skipping it."),
        ]
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def _kwargs(options: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    kwargs = {k: options[k] for k in ("date_format", "encoding", "delimiter", "strict") if k in options}
    if options.get("columns"):
        kwargs["columns"] = [c.strip() for c in options["columns"].split(",")]
    column_map = {role: options[opt] for role, opt in columns.items() if options.get(opt)}
    if column_map:
        kwargs["column_map"] = column_map
    return kwargs


def register(group: Any) -> None:
    """Add ``churnwatch convert-visits`` and ``convert-complaints`` to the ``churnwatch`` group."""
    import click

    @group.command("convert-visits")
    @click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.argument("out_path", type=click.Path(dir_okay=False, path_type=Path))
    @_options(_VISIT_OPTIONS)
    def convert_visits_command(csv_path: Path, out_path: Path, **options: Any) -> None:
        """Convert a login, page-view or session log into a replay file.

        One row per login, page view or session (customer, time; channel, page, page views,
        duration when given), or an analytics tool's events. Concatenate the result with
        converted orders and tickets: replay and offline order events by time. CSV_PATH:
        CSV/text (.gz), .xlsx, or JSON (one object a line, or an array; .gz).
        """
        check_distinct_files({"CSV_PATH": csv_path}, {"OUT_PATH": out_path})
        out_path.parent.mkdir(parents=True, exist_ok=True)
        echo_stats(convert_visits_csv(csv_path, out_path, **_kwargs(options, _VISIT_OPTIONS)), out_path)

    @group.command("convert-complaints")
    @click.argument("csv_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.argument("out_path", type=click.Path(dir_okay=False, path_type=Path))
    @_options(_TICKET_OPTIONS)
    def convert_complaints_command(csv_path: Path, out_path: Path, **options: Any) -> None:
        """Convert a support-ticket export into a replay file of complaints.

        One row per ticket (customer, opened; category, priority, status, resolved-at when
        given) or per status change. Free-text categories are mapped to product, logistics,
        service, billing or other (the mapping is printed). CSV_PATH: CSV/text (.gz), .xlsx, or
        JSON (one object a line, or an array such as a Zendesk API page; .gz).
        """
        check_distinct_files({"CSV_PATH": csv_path}, {"OUT_PATH": out_path})
        out_path.parent.mkdir(parents=True, exist_ok=True)
        echo_stats(convert_complaints_csv(csv_path, out_path, **_kwargs(options, _TICKET_OPTIONS)), out_path)
