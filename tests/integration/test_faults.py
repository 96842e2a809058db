"""Fault suite: crashes, stops, bad input, many customers and a lost broker, each proven by the verifier.

Every case uses its own topics and consumer group on the session's embedded broker (the
broker-restart case starts a broker of its own) and ends with `churnwatch verify` where it
applies: every input applied once or dead-lettered, never both, never neither, and every
customer's state equal to a recomputation from the inputs. What each case proves and its
measured figures are in docs/reliability.md.

Histories come from the simulator without market events, except in the market-timing case.
The warnings are asserted to agree with the states; their ids are compared with the
recomputation's and printed (`-s`), and asserted equal where the case is about them (two
workers, market timing).

Part of `make test` (CHURNWATCH_TEST_FAULTS=1; `make faults` runs this file alone).
Durations on two shared cores, worker start-up ~8 s each: SIGTERM ~75 s, two workers
~60-90 s, customer flood ~85 s, kill -9 ~60 s, a partition never handed on ~45 s, market
timing ~50 s, broker restart ~25 s, bad flood ~25 s; the broker-free cases take milliseconds.
About 8 minutes in all.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from kafka import TopicPartition

from detectors.state import decode
from streams import kafka_clients
from streams.broker import EmbeddedBroker, changelog_topic_names, ensure_topics, free_port
from streams.replay import Record, advance_event_time, load_replay_lines, publish
from streams.settings import Settings
from streams.simulate import simulate
from streams.snapshot import wait_until_processed
from streams.verify import collect
from streams.verify import verify as check
from tests.conftest import wait_until
from tests.integration.conftest import WorkerProcess, assigned, read_topic

pytestmark = pytest.mark.integration

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- helpers


def history(settings: Settings, customers: int, *, seed: int = 11, market: bool = False) -> list[Record]:
    """A simulated year of events as replay records (event-time order)."""
    events, _ = simulate(customers, START, 365, seed=seed)
    lines = [orjson.dumps(e) for e in events if market or e["type"] != "market_event"]
    loaded = load_replay_lines(lines, settings)
    assert not loaded.invalid
    return loaded.records


def feed(settings: Settings, records: list[Record]) -> None:
    """Publish the records, then move event time to the last one (as `replay --advance-to` does), so the
    reorder buffer releases the last events at once instead of after the idle time."""
    publish(settings, records)
    advance_event_time(settings, max(r.occurred_at for r in records))


def applied(*workers: Settings) -> float:
    """Events the workers have applied so far (their metrics endpoints; 0 until they answer)."""
    total = 0.0
    for settings in workers:
        try:
            total += metric(settings, "churnwatch_events_applied_total")
        except OSError:
            pass
    return total


def committed(settings: Settings) -> int:
    """Input offsets the worker group has committed, summed over the customer topics."""
    admin = kafka_clients.admin_client(settings)
    try:
        offsets = admin.list_group_offsets({settings.app_id: None}).get(settings.app_id, {})
        return sum(o.offset for tp, o in offsets.items() if tp.topic in settings.customer_topics and o.offset > 0)
    finally:
        admin.close()


def verify(run_cli, settings: Settings, tmp_path: Path, *, timeout: float = 240) -> dict:
    """`churnwatch verify --json` (kept in tmp_path/verify.json); fails the test with the report when a check fails."""
    done = run_cli(settings, "verify", "--json", "--timeout", str(timeout), timeout=timeout + 120)
    assert done.stdout, f"{done.stderr}\n{worker_logs(tmp_path)}"
    (tmp_path / "verify.json").write_text(done.stdout)
    report = json.loads(done.stdout)
    if done.returncode != 0:
        pytest.fail(f"verifier failed (exit {done.returncode}):\n{json.dumps(report, indent=1)[:6000]}\n{done.stderr}")
    return report


_ROUTINE = re.compile(r"population fitted|in the population sample|population sample's histories|^\+|^\| |^\s*$")


def worker_logs(tmp_path: Path, lines: int = 14) -> str:
    """The end of each worker log in `tmp_path`, without the routine lines, for a failure's message
    (CI keeps the failure's text, not the files)."""
    parts = []
    for log in sorted(tmp_path.glob("*.log"), key=lambda p: p.stat().st_mtime):
        kept = [line[:240] for line in log.read_text(errors="replace").splitlines() if not _ROUTINE.search(line)]
        head = f"--- {log.name} (last {min(lines, len(kept))} of {len(kept)} lines kept)"
        parts.append("\n".join([head, *kept[-lines:]]))
    return "\n".join(parts)


_CLOSED_EXTRA = re.compile(r"^\S+: (\d+) raised on the topic, last cleared \w+; the state counts (\d+) episodes, "
                           r"open level None$")


def assert_warnings_agree(report: dict, label: str, *, work_redone: bool = False) -> None:
    """Every raise the states count is on the warning topic and the last warning leaves the state's level.

    Whether the distinct warnings also equal the recomputation's depends on when the worker
    judged (the start of a stream, a restart): printed for docs/reliability.md, not asserted.
    `work_redone` (a worker killed, its uncommitted events processed again): an episode the
    killed worker raised and cleared, which the redone judgement at other moments did not
    repeat, is on the topic but in no state; it is closed, so a consumer's view still ends at
    the state's level. Those are allowed (and printed); anything else is not.
    """
    w = report["warnings"]
    problems = w["disagree_with_states"]
    if work_redone:
        closed = [p for p in problems if (m := _CLOSED_EXTRA.match(p)) and int(m.group(1)) > int(m.group(2))]
        if closed:
            print(f"{label}: closed episodes of the killed worker's judgement not repeated: {closed}")
        problems = [p for p in problems if p not in closed]
    assert not problems, problems[:10]
    print(f"{label}: warnings {w['on_topic']} distinct on the topic, {w['recomputed']} recomputed, {w['common']} in both;"
          f" repeats {report['repeats']}")


def metric(settings: Settings, name: str) -> float:
    """Sum of a metric's samples on a worker's Prometheus endpoint."""
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.metrics_port}/metrics", timeout=5) as page:
        text = page.read().decode()
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


def uncommitting(settings: Settings, log_path: Path, request: pytest.FixtureRequest) -> WorkerProcess:
    """A worker that commits no offsets before it stops (Faust's commit interval set to an hour).

    Under load on the embedded broker commits already stall for many seconds (each one flushes
    a producer that sends one record per request; 0 offsets were committed in the first 8 s of
    a SIGTERM run): this makes the worst case certain, so the crash cases do not depend on
    when the kill lands. Faust reads its settings from CHURNWATCH_FAUST_* (streams/app.py).
    """
    env = {**settings.to_env(), "CHURNWATCH_FAUST_BROKER_COMMIT_INTERVAL": "3600"}
    worker = WorkerProcess(env, log_path).start()
    request.addfinalizer(worker.kill)
    return worker


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


# --------------------------------------------------------------------------- crashes and stops


@pytest.mark.parametrize("flush_records", [0, 500], ids=["send-per-write", "written-behind"])
def test_worker_killed_under_load_restarts_with_nothing_lost_or_double_counted(settings_factory, start_worker,
                                                                              run_cli, tmp_path, request,
                                                                              flush_records):
    """kill -9 mid-stream: the table comes back from its changelog, and the events applied but
    not yet committed are read again by the restarted worker: they must be recognised, not
    applied again nor dead-lettered. The killed worker commits nothing (see `uncommitting`),
    so everything it applied is read again. Also with the state records written behind
    (`CHURNWATCH_STATE_FLUSH_RECORDS`, streams/changelog.py), both workers."""
    settings = settings_factory(metrics_port=free_port(), state_flush_records=flush_records)
    records = history(settings, customers=40)
    first = uncommitting(settings, tmp_path / "worker-killed.log", request)
    feed(settings, records)
    wait_until(lambda: applied(settings) >= len(records) // 3 or not first.running(), 180,
               message="a third of the events applied")
    first.kill()
    assert committed(settings) == 0, "the killed worker committed nothing: all it applied is read again"

    again = settings.with_overrides(metrics_port=free_port())
    second = start_worker(again, "worker-restarted.log")
    report = verify(run_cli, settings, tmp_path, timeout=180)
    assert report["counts"]["applied"] == len(records) and report["counts"]["dead_lettered"] == 0
    assert_warnings_agree(report, "kill -9", work_redone=True)
    if "nothing handed to the agent" in second.log_text():
        print("kill -9: the restarted worker read a partition again that Faust had handed nothing of (bug 13)")
    assert metric(again, "churnwatch_duplicate_events_total") > 0, "the restart re-read events applied before the kill"
    assert second.stop(timeout=30) == 0, second.log_tail()


# Loaded by the worker's interpreter at start (`sitecustomize` on its PYTHONPATH): Faust loses
# every record of partition 1 of the agent's topics that it fetches, until the worker reads
# them again (`streams.app._read_again`). This is the signature of the stalls seen after
# restarts (docs/reliability.md): the records fetched, never handed to the agent.
_LOSE_PARTITION_1 = """
import os

from faust.transport import consumer as _consumer

import streams.app as _app

_topics = set(os.environ["CHURNWATCH_TEST_LOSE_TOPICS"].split(","))
_healed = False
_getmany = _consumer.Consumer.getmany


async def getmany(self, timeout):
    async for tp, message in _getmany(self, timeout):
        if _healed or tp.partition != 1 or tp.topic not in _topics:
            yield tp, message


_read_again = _app._read_again


async def read_again(app, offsets):
    global _healed
    _healed = True
    await _read_again(app, offsets)


_consumer.Consumer.getmany = getmany
_app._read_again = read_again
"""


def test_a_partition_faust_never_delivers_is_read_again_and_nothing_is_lost(settings_factory, run_cli, tmp_path,
                                                                           request):
    """A worker whose Faust fetches a partition's records and loses them before the agent
    (injected, see `_LOSE_PARTITION_1`) reports the stall and reads the partition again from
    its committed offsets: every event is applied once. Without that, partition 1 is never
    processed and the verifier gives up."""
    settings = settings_factory(metrics_port=free_port(), stall_report_seconds=10)
    records = history(settings, customers=30, seed=13)
    hook = tmp_path / "lose-partition-1"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_LOSE_PARTITION_1)
    env = {**settings.to_env(),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])),
           "CHURNWATCH_TEST_LOSE_TOPICS": ",".join([*settings.customer_topics, settings.clock_ticks_topic])}
    worker = WorkerProcess(env, tmp_path / "worker-losing.log").start()
    request.addfinalizer(worker.kill)
    feed(settings, records)
    report = verify(run_cli, settings, tmp_path, timeout=150)
    assert report["counts"]["applied"] == len(records) and report["counts"]["dead_lettered"] == 0
    log = worker.log_text()
    assert "partition 1: no progress for" in log and "partition 1: nothing handed to the agent" in log, \
        worker.log_tail()
    assert "partition 0: nothing handed" not in log, "only the partition that was lost is read again"
    assert_warnings_agree(report, "partition read again")
    assert worker.stop(timeout=30) == 0, worker.log_tail()


def test_sigterm_under_load_exits_within_30_s_and_a_restart_re_applies_nothing(settings_factory, start_worker,
                                                                             run_cli, tmp_path):
    """SIGTERM mid-stream: Faust's orderly stop commits what was applied, within the bound; the
    next worker starts after it and applies every event once, none twice. The stop
    flushes the changelog records of everything applied (one per produce request on the
    embedded broker: seconds under load) before committing: the watchdog gets the issue's
    bound of 30 s."""
    settings = settings_factory(shutdown_timeout_seconds=30, metrics_port=free_port())
    records = history(settings, customers=40, seed=12)
    first = start_worker(settings, "worker-stopped.log")
    feed(settings, records)
    wait_until(lambda: applied(settings) >= len(records) // 3 or not first.running(), 180,
               message="a third of the events applied")
    before_stop = committed(settings)
    sent = time.monotonic()
    code = first.stop(timeout=60)
    took = time.monotonic() - sent
    assert code == 0 and took < 30, f"exit code {code} after {took:.1f} s:\n{first.log_tail()}"
    at_stop = committed(settings)
    # Under load at the signal (not everything committed); committing on the way out. A fast
    # machine may have applied, and so committed, everything by the end of the stop.
    assert before_stop < len(records) and before_stop < at_stop <= len(records), \
        f"stopped under load, committing on the way out ({before_stop} before, {at_stop} after, of {len(records)})"

    again = settings.with_overrides(metrics_port=free_port())
    second = start_worker(again, "worker-after-stop.log")
    report = verify(run_cli, settings, tmp_path)
    assert report["counts"]["applied"] == len(records) and report["counts"]["dead_lettered"] == 0
    assert_warnings_agree(report, "SIGTERM")
    # Events applied but not committed at the stop are read again and recognised (counted as
    # duplicates, applied once: the verifier above checks every state). In 2 of 8 full
    # fault-suite runs of 2026-12-04, 139 and 183: the stop's flush returned while the periodic
    # flush was still handing the records of those events over (fixed since: a flush waits for
    # one in progress; tests/unit/test_changelog.py). Reported here, not asserted: the suite
    # has not been run often enough since to say that nothing else re-reads them. The verifier
    # counts copies in the input itself (a produce retried after a timeout), which the
    # restarted worker would count too.
    reread = metric(again, "churnwatch_duplicate_events_total")
    copies = report["counts"]["duplicates"]
    assert second.stop(timeout=30) == 0, second.log_tail()
    print(f"SIGTERM: exit 0 after {took:.1f} s; committed {before_stop} before, {at_stop} after, of "
          f"{len(records)}; {reread:.0f} events read again by the restarted worker, {copies} copies in the input")


def test_two_workers_one_killed_the_survivor_takes_over_with_nothing_lost_or_double_counted(
        settings_factory, start_worker, run_cli, tmp_path, request):
    """Issue 7's acceptance: two workers in one group split the partitions; one is killed
    (SIGKILL) mid-stream and the other takes its partitions over after the session timeout
    (8 s here), from the committed offsets (none: the killed one commits nothing, see
    `uncommitting`). After the replay every customer's state equals a single uninterrupted
    run's (the verifier's recomputation) and the warnings, de-duplicated by id, are the same set."""
    settings = settings_factory(metrics_port=free_port())
    records = history(settings, customers=40, seed=14)
    doomed = uncommitting(settings, tmp_path / "worker-doomed.log", request)
    survivor_settings = settings.with_overrides(web_port=free_port(), metrics_port=free_port())
    survivor = start_worker(survivor_settings, "worker-survivor.log")
    split = wait_until(lambda: {assigned(doomed, settings.logins_topic), assigned(survivor, settings.logins_topic)}
                       == {"{0}", "{1}"}, 90, message="the two workers hold one partition each")
    assert split
    feed(settings, records)
    wait_until(lambda: applied(settings, survivor_settings) >= len(records) // 3, 180,
               message="a third of the events applied")
    doomed.kill()
    killed = time.monotonic()
    wait_until(lambda: assigned(survivor, settings.logins_topic) == "{0-1}", 60,
               message="the survivor takes the killed worker's partition over")
    took_over = time.monotonic() - killed
    report = verify(run_cli, settings, tmp_path, timeout=90)
    assert report["counts"]["applied"] == len(records) and report["counts"]["dead_lettered"] == 0
    assert_warnings_agree(report, "two workers", work_redone=True)
    w = report["warnings"]
    # The same set of warnings as the uninterrupted run. (Not `w["match"]`, which also counts
    # the closed episode of the killed worker that the survivor's redone judgement did not
    # repeat, allowed just above: seen once, 70 warning ids equal on both sides.)
    assert not w["only_on_topic"] and not w["only_recomputed"], \
        f"{len(w['only_on_topic'])} warning ids only on the topic, {len(w['only_recomputed'])} only " \
        f"in the uninterrupted recomputation: {(w['only_on_topic'] + w['only_recomputed'])[:6]}"
    assert survivor.running()
    print(f"two workers: takeover {took_over:.1f} s after the kill; {w['common']} warning ids, as uninterrupted")


def test_warnings_do_not_depend_on_when_market_events_are_read(settings_factory, start_worker, run_cli, tmp_path):
    """A year of history with competitors' promotions, all published before the worker starts
    (a backlog, as after downtime): its warnings must be those of the event-time recomputation."""
    settings = settings_factory()
    feed(settings, history(settings, customers=40, seed=1, market=True))
    start_worker(settings, "worker-market.log")
    report = verify(run_cli, settings, tmp_path, timeout=180)
    assert report["counts"]["market"] > 0
    w = report["warnings"]
    assert w["match"], f"{len(w['only_on_topic'])} only on the topic, {len(w['only_recomputed'])} only recomputed"


# --------------------------------------------------------------------------- bad input and many customers


def bad_value(i: int, key: str) -> tuple[bytes | None, str]:
    """The i-th bad message for customer `key`, and the reason it must be dead-lettered with."""
    at = (START + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    kinds = [
        (b"not json", "malformed_json"),
        (b"\xff\xfe\x00", "malformed_json"),
        (b"[]", "malformed_json"),
        (None, "malformed_json"),  # a tombstone: no value at all
        (json.dumps({"event_id": f"bad{i}", "customer_id": key, "occurred_at": at}).encode(), "schema_violation"),
        (json.dumps({"event_id": f"bad{i}", "customer_id": key, "occurred_at": "yesterday", "channel": "web"}).encode(),
         "schema_violation"),
        (json.dumps({"event_id": f"bad{i}", "customer_id": key + "-other", "occurred_at": at, "channel": "web"}).encode(),
         "key_mismatch"),
    ]
    if i % 100 == 99:  # a few large ones: 20 of 70 KB each
        return json.dumps({"event_id": f"bad{i}", "customer_id": key, "occurred_at": at, "channel": "web",
                           "pad": "x" * 70_000}).encode(), "oversize"
    return kinds[i % len(kinds)]


#: Good events per second the worker must keep up while half its input is bad (see docs/reliability.md:
#: measured ~150/s mixed and ~250/s clean on two shared cores; Faust's own JSON decoding, which this
#: guards against, stalled ~5 s per bad message: 2,000 of them would take hours).
GOOD_EVENTS_PER_SECOND_FLOOR = 40


def test_a_flood_of_bad_messages_is_dead_lettered_while_good_events_keep_flowing(settings_factory, start_worker,
                                                                                 run_cli, tmp_path):
    settings = settings_factory()
    good = history(settings, customers=30, seed=13)[:2000]
    mixed, reasons = [], []
    for i, record in enumerate(good):
        value, reason = bad_value(i, record.key.decode())
        # Undecodable bytes are bad on any topic; a login-shaped object is judged by the logins contract.
        topic = settings.customer_topics[i % 4] if reason == "malformed_json" else settings.logins_topic
        mixed += [record, Record(record.occurred_at, topic, record.key, value, i)]
        reasons.append(reason)
    worker = start_worker(settings, "worker-flood.log")
    worker.wait_for_log("Worker ready", 60)
    started = time.monotonic()
    feed(settings, mixed)
    wait_until(lambda: committed(settings) >= len(mixed) or not worker.running(), 300, message="flood processed")
    seconds = time.monotonic() - started
    assert worker.running() and "Traceback" not in worker.log_text(), worker.log_tail()

    report = verify(run_cli, settings, tmp_path)
    assert (report["counts"]["applied"], report["counts"]["dead_lettered"]) == (2000, 2000)
    assert_warnings_agree(report, "bad flood")
    dead = read_topic(settings, settings.dead_letters_topic, min_count=2000)
    assert Counter(orjson.loads(d.value)["reason"] for d in dead) == Counter(reasons)
    rate = len(good) / seconds
    print(f"bad flood: 2,000 good + 2,000 bad in {seconds:.1f} s: {rate:.0f} good events/s")
    assert rate >= GOOD_EVENTS_PER_SECOND_FLOOR


def test_a_flood_of_new_customers_grows_memory_by_their_bounded_state_only(settings_factory, start_worker,
                                                                          run_cli, tmp_path):
    """Slow (~90 s). 20,000 customers with one login each. Each customer's state is bounded;
    the number of customers is not: the memory store keeps every one (RocksDB moves them to
    disk). The worker's growth must stay within the per-customer bound derived below."""
    settings = settings_factory()
    customers = 20_000
    records = []
    for i in range(customers):
        cid = f"new-{i:05d}"
        at = START + timedelta(seconds=15 * i)
        value = json.dumps({"event_id": f"{cid}-1", "customer_id": cid, "occurred_at": at.isoformat(),
                            "channel": "app"}).encode()
        records.append(Record(at, settings.logins_topic, cid.encode(), value, i))
    worker = start_worker(settings, "worker-customers.log")
    worker.wait_for_log("Worker ready", 60)
    idle = rss_bytes(worker.pid)
    feed(settings, records)
    wait_until(lambda: committed(settings) >= customers or not worker.running(), 400, message="customers processed")
    grown = rss_bytes(worker.pid) - idle

    report = verify(run_cli, settings, tmp_path)
    assert report["counts"]["customers"] == customers and report["counts"]["applied"] == customers
    states = read_topic(settings, changelog_topic_names(settings)[0], min_count=customers)
    latest = {r.key: r.value for r in states}
    state_bytes = sum(len(k) + len(v) for k, v in latest.items()) / len(latest)
    bound = customers * per_customer_bound(state_bytes)
    print(f"customer flood: {customers} customers, {state_bytes:.0f} B of state each, RSS grew "
          f"{grown / 2**20:.1f} MiB ({grown / customers:.0f} B each), bound {bound / 2**20:.1f} MiB")
    assert grown <= bound


def test_an_encoded_state_held_in_memory_costs_about_its_length():
    """The memory store keeps each encoded state for as long as the customer exists: it must
    cost about its length (orjson's own result sits in a 4 KB allocation: 4,097 B per 79-byte state)."""
    import tracemalloc

    from detectors.state import CustomerState, encode

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [encode(CustomerState(f"customer-{i:05d}", partition=0, first_seen=i, applied=1)) for i in range(2000)]
        per_state = (tracemalloc.get_traced_memory()[0] - before) / len(held)
    finally:
        tracemalloc.stop()
    length = sum(map(len, held)) / len(held)
    assert per_state < 2 * (length + 33), f"{per_state:.0f} B held per {length:.0f}-byte state"


def per_customer_bound(state_bytes: float) -> float:
    """Bytes of worker memory one more customer may cost.

    The encoded state and its key as Python bytes objects in the memory store (+33 B header
    each), the store's dict slot (~100 B), and the processor's per-customer indexes (due
    heap entry and due map, population map: ~400 B of tuples, strings and slots), doubled
    for allocator slack and the producer's transient buffers.
    """
    return 2 * (state_bytes + 2 * 33 + 100 + 400)


# --------------------------------------------------------------------------- the broker goes away


def logins(prefix: str, customers: int, per_customer: int, *, first_week: int = 0) -> list[Record]:
    """Weekly logins of a few customers, in event-time order."""
    rows = []
    for week in range(first_week, first_week + per_customer):
        for c in range(customers):
            cid, at = f"{prefix}-{c}", START + timedelta(days=7 * week, hours=c)
            value = json.dumps({"event_id": f"{cid}-{week}", "customer_id": cid, "occurred_at": at.isoformat(),
                                "channel": "web"}).encode()
            rows.append(Record(at, "", cid.encode(), value, len(rows)))
    return rows


def to_topic(settings: Settings, rows: list[Record]) -> list[Record]:
    return [Record(r.occurred_at, settings.logins_topic, r.key, r.value, r.line_number) for r in rows]


def test_a_broker_restart_is_survived_or_reported_and_never_hangs_the_worker(settings_factory, start_worker, run_cli,
                                                                             tmp_path):
    """The embedded broker is in memory: restarted, it is empty. The worker must reconnect and
    process what is published next, or exit with a clear error, within a bounded time."""
    own = EmbeddedBroker(log_path=tmp_path / "broker.log").start()
    try:
        settings = settings_factory(broker=own.address, create_topics=False)
        ensure_topics(settings)
        worker = start_worker(settings, "worker-broker-restart.log")
        before = to_topic(settings, logins("before", 10, 30))
        feed(settings, before)
        wait_until(lambda: committed(settings) >= len(before), 120, message="processed before the restart")

        # The worker is paused (SIGSTOP) while the broker restarts and the new events arrive, as a
        # worker stalled for a few seconds would be: this makes the race with its first fetch certain.
        os.kill(worker.pid, signal.SIGSTOP)
        own.stop()
        own = EmbeddedBroker(port=own.port, log_path=tmp_path / "broker-again.log").start()
        restarted = time.monotonic()
        ensure_topics(settings)
        after = to_topic(settings, logins("after", 10, 30, first_week=30))  # time goes on
        feed(settings, after)
        os.kill(worker.pid, signal.SIGCONT)
        outcome = wait_until(lambda: ("processed" if committed(settings) >= len(after) else None)
                             or (None if worker.running() else "exited"), 180,
                             message="the worker processes new events or exits")
        took = time.monotonic() - restarted
        print(f"broker restart: worker {outcome} {took:.1f} s after the broker came back")
        if outcome == "exited":
            from streams.app import EXIT_BROKER_STATE_LOST

            assert worker.returncode == EXIT_BROKER_STATE_LOST
            last = worker.log_tail(5)
            assert "no longer holds the data of group" in last and settings.broker in last, \
                f"no clear reason given:\n{last}"
            return
        # The worker still holds the customers of before the restart (their inputs died with the
        # broker, and sweeps write them to the new changelog): only the new customers are checked.
        wait_until_processed(settings, 60)
        observed = collect(settings)
        observed.states = {c: v for c, v in observed.states.items() if not c.startswith("before-")}
        report = check(settings, observed)
        assert report.ok, report.render()
        assert report.counts["applied"] == len(after) and report.counts["customers"] == 10
        stopping = time.monotonic()
        assert worker.stop(timeout=60) == 0 and time.monotonic() - stopping < 30, worker.log_tail()
    finally:
        own.stop()


def test_a_port_left_in_time_wait_by_a_stopped_server_can_be_listened_on_again():
    """A stopped broker whose clients were connected leaves its port in TIME_WAIT for about
    60 s; `churnwatch broker --port N` must start there again at once, as Tansu binds it."""
    import socket

    from streams.broker import port_is_free

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection enters TIME_WAIT
    server.close()
    client.close()
    assert port_is_free("127.0.0.1", port), "a port in TIME_WAIT refused"
    with socket.create_server(("127.0.0.1", port)) as listening:
        assert not port_is_free("127.0.0.1", listening.getsockname()[1]), "a port someone listens on is not free"


class _FakeAdmin:
    """Answers `_BrokerWatch`'s two questions as a broker would."""

    def __init__(self, cluster: str, offsets: dict[tuple[str, int], int]) -> None:
        self.cluster, self.offsets = cluster, offsets

    def describe_cluster(self) -> dict:
        return {"cluster_id": self.cluster}

    def list_group_offsets(self, groups: dict) -> dict:
        from kafka.structs import OffsetAndMetadata

        (group,) = groups
        return {group: {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in self.offsets.items()}}


def test_the_worker_tells_a_broker_that_lost_its_data_from_one_that_carries_on():
    """A new cluster id, or committed offsets gone, mean the broker's data is gone; offsets
    moving on, or reset lower by an operator, do not."""
    from streams.app import _BrokerWatch

    settings = Settings(partitions=2)
    watch = _BrokerWatch(settings)
    logins = settings.logins_topic
    watch._admin = _FakeAdmin("cluster-a", {(logins, 0): 10, (logins, 1): 4})
    assert watch._lost() == []
    watch._admin.offsets = {(logins, 0): 25, (logins, 1): 2}  # moved on; reset lower
    assert watch._lost() == []
    watch._admin.offsets = {(logins, 0): 30}
    assert watch._lost() == [f"{logins}[1] was committed at 2 and has no offset now"]
    fresh = _BrokerWatch(settings)
    fresh._admin = _FakeAdmin("cluster-a", {})
    assert fresh._lost() == [], "a group that never committed has lost nothing"
    fresh._admin.cluster = "cluster-b"
    assert fresh._lost() == ["it is another cluster now (cluster id 'cluster-b', was 'cluster-a')"]


# --------------------------------------------------------------------------- restart semantics, without a broker
# The worker's restart in miniature: a new Processor over the tables the old one left (the
# changelogs), re-reading what was not committed. Deterministic versions of what the kill -9
# cases above hit by timing.

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
WALL = datetime(2030, 1, 1, tzinfo=timezone.utc)


def _login(cid: str, day: float) -> bytes:
    at = (T0 + timedelta(days=day)).isoformat().replace("+00:00", "Z")
    return json.dumps({"event_id": f"{cid}-d{day:g}", "customer_id": cid, "occurred_at": at, "channel": "web"}).encode()


def _complaint(cid: str, day: int) -> bytes:
    at = (T0 + timedelta(days=day)).isoformat().replace("+00:00", "Z")
    return json.dumps({"event_id": f"{cid}-k{day}", "customer_id": cid, "occurred_at": at, "complaint_id": "k1",
                       "status": "opened", "category": "service", "severity": "low"}).encode()


def _tick(day: float) -> bytes:
    return json.dumps({"partition": 0, "occurred_at": (T0 + timedelta(days=day)).isoformat()}).encode()


def _processor(customers: dict, clocks: dict, wall: list[datetime]):
    from detectors.warning import DetectorParams
    from streams.processing import Processor

    return Processor(Settings(partitions=1), DetectorParams(), customers, clocks, models={}, wall_clock=lambda: wall[0])


def _crash_and_reread(events: int) -> tuple[list, bytes, bytes]:
    """A customer's `events` daily logins applied, then all read again by a restarted processor."""
    settings = Settings(partitions=1)
    customers, clocks, wall = {}, {}, [WALL]
    before = _processor(customers, clocks, wall)
    for day in range(events):
        before.handle(settings.logins_topic, 0, day, b"c1", _login("c1", day))
    before.handle(settings.clock_ticks_topic, 0, 0, b"0", _tick(events))
    applied = customers["c1"]
    # Crash before the offsets were committed: a new worker re-reads them all over the changelog'd tables.
    after = _processor(customers, clocks, wall)
    outcomes = [after.handle(settings.logins_topic, 0, day, b"c1", _login("c1", day)) for day in range(events)]
    after.handle(settings.clock_ticks_topic, 0, 1, b"0", _tick(events))
    return [o.dead_letter_reason for o in outcomes if o.dead_letter_reason], applied, customers["c1"]


def test_events_redelivered_after_a_crash_are_recognised_however_old():
    dead, applied, now = _crash_and_reread(10)
    assert dead == [], f"{len(dead)} re-delivered events dead-lettered as {set(dead)} although applied before the crash"
    assert now == applied, "re-delivered events change nothing"


def test_a_customer_with_more_re_read_events_than_remembered_ids_loses_none_to_the_dead_letters():
    dead, applied, now = _crash_and_reread(100)
    assert dead == [], f"{len(dead)} re-delivered events dead-lettered as {set(dead)} although applied before the crash"
    assert now == applied


def test_an_event_redelivered_after_a_crash_is_not_applied_twice():
    settings = Settings(partitions=1)
    customers, clocks, wall = {}, {}, [WALL]
    before = _processor(customers, clocks, wall)
    for day in range(11):
        before.handle(settings.logins_topic, 0, day, b"c1", _login("c1", day))
    wall[0] += timedelta(hours=1)  # the logins topic goes quiet; the customer orders two days later
    order = json.dumps({"event_id": "c1-o12", "customer_id": "c1", "occurred_at": _iso(_epoch(T0) + 12 * 86400),
                        "order_id": "o12", "amount": 30, "currency": "EUR"}).encode()
    before.handle(settings.orders_topic, 0, 0, b"c1", order)
    before.handle(settings.clock_ticks_topic, 0, 0, b"0", _tick(12))
    applied = decode(customers["c1"]).applied
    assert applied == 12
    # Crash before the last login's offset was committed: it is read again.
    after = _processor(customers, clocks, wall)
    assert after.handle(settings.logins_topic, 0, 9, b"c1", _login("c1", 9)).dead_letter_reason is None, "not late"
    after.handle(settings.clock_ticks_topic, 0, 1, b"0", _tick(12))
    assert decode(customers["c1"]).applied == applied, "the re-read login is counted again"


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def test_after_a_restart_a_topic_with_nothing_to_reread_does_not_hold_back_the_others():
    settings = Settings(partitions=1)
    customers, clocks, wall = {}, {}, [WALL]
    before = _processor(customers, clocks, wall)
    before.handle(settings.complaints_topic, 0, 0, b"c1", _complaint("c1", 0))
    for day in range(5):
        before.handle(settings.logins_topic, 0, day, b"c1", _login("c1", day))
    before.handle(settings.clock_ticks_topic, 0, 0, b"0", _tick(5))  # persists the topic times
    # Restart: the complaint was committed, the logins of days 5-20 were not applied yet.
    after = _processor(customers, clocks, wall)
    for day in range(5, 21):
        after.handle(settings.logins_topic, 0, day, b"c1", _login("c1", day))
    # Every topic read to its end and quiet for an hour: what the worker's nudge timer does.
    wall[0] += timedelta(hours=1)
    for partition in after.partitions_to_nudge():
        tick = json.dumps({"partition": partition, "occurred_at": _iso(after.stream_time(partition))}).encode()
        after.handle(settings.clock_ticks_topic, partition, 1, str(partition).encode(), tick)
    assert after.buffered() == 0, f"{after.buffered()} events still wait after an hour of quiet"


def _iso(t: int) -> str:
    return datetime.fromtimestamp(max(t, 1), tz=timezone.utc).isoformat()


def _view(cid: str, day: float, n: int) -> bytes:
    at = (T0 + timedelta(days=day)).isoformat().replace("+00:00", "Z")
    return json.dumps({"event_id": f"{cid}-v{n}", "customer_id": cid, "occurred_at": at, "page": "/",
                       "dwell_seconds": 30}).encode()


def test_an_older_offset_still_buffered_when_a_newer_one_was_applied_is_applied_after_a_crash():
    """Offsets mark what is applied, but the reorder buffer applies in event-time order: a login
    at offset 1 older than the one at offset 0 is applied first. A crash then must not make the
    re-read offset 0 look applied."""
    settings = Settings(partitions=1)
    customers, clocks, wall = {}, {}, [WALL]
    before = _processor(customers, clocks, wall)
    before.handle(settings.page_views_topic, 0, 0, b"c1", _view("c1", 1, 0))
    before.handle(settings.logins_topic, 0, 0, b"c1", _login("c1", 5))
    before.handle(settings.logins_topic, 0, 1, b"c1", _login("c1", 4.5))  # half a day older: not late
    # Page views read up to day 4.8: the watermark releases the day-4.5 login (offset 1), not day 5.
    before.handle(settings.page_views_topic, 0, 1, b"c1", _view("c1", 4.8, 1))
    assert before.buffered() == 1 and decode(customers["c1"]).applied == 3, "two views and the older login applied"
    after = _processor(customers, clocks, wall)  # crash: nothing was committed
    views = [after.handle(settings.page_views_topic, 0, o, b"c1", _view("c1", d, o)) for o, d in ((0, 1), (1, 4.8))]
    logins = [after.handle(settings.logins_topic, 0, o, b"c1", _login("c1", d)) for o, d in ((0, 5), (1, 4.5))]
    after.handle(settings.clock_ticks_topic, 0, 0, b"0", _tick(6))
    assert [o.duplicate for o in views + logins] == [True, True, False, True], "only the day-5 login is new"
    assert decode(customers["c1"]).applied == 4, "the day-5 login is applied once, nothing twice"


def test_states_built_from_a_file_claim_no_offsets_of_the_real_topics():
    """`streams.offline` numbers records itself (a bootstrap writes its states to the changelog):
    a worker then reading the real topics from offset 0 must apply what it reads."""
    from streams.offline import run_offline

    settings = Settings(partitions=1)
    lines = [json.dumps({"type": "login", **json.loads(_login("c1", d))}).encode() for d in range(3)]
    result = run_offline(settings, lines)
    assert decode(result.customers["c1"]).applied == 3
    assert decode(result.customers["c1"]).offsets == []


def _warning_ids(settings: Settings, records: list[Record], *, market_first: bool,
                 market_caught_up=lambda: True) -> list[str]:
    """Warning ids a processor emits for `records` (event-time order), the market topic read
    either all up front (a backlog) or as its events come (live)."""
    from detectors.warning import DetectorParams
    from streams.processing import Processor
    from streams.replay import partition_for

    proc = Processor(settings, DetectorParams(), {}, {}, wall_clock=lambda: WALL)
    proc.idle_topic_seconds = -1.0
    proc.market_caught_up = market_caught_up
    market = [r for r in records if r.topic == settings.market_events_topic]
    if market_first:
        for i, r in enumerate(market):
            proc.handle_market(r.value, r.key, 0, i)
    offsets: Counter = Counter()
    ids = []

    def keep(warnings: list[dict]) -> None:
        ids.extend(w["warning_id"] + ("/competitor" if any(x["kind"] == "competitor_pressure" for x in w["signals"])
                                      else "") for w in warnings)

    for r in records:
        if r.topic == settings.market_events_topic:
            if not market_first:
                proc.handle_market(r.value, r.key, 0, market.index(r))
            continue
        p = partition_for(r.key, settings.partitions)
        out = proc.handle(r.topic, p, offsets[(r.topic, p)], r.key, r.value)
        offsets[(r.topic, p)] += 1
        keep(out.warnings)
    end = _iso(max(int(r.occurred_at.timestamp()) for r in records))
    for p in range(settings.partitions):
        tick = json.dumps({"partition": p, "occurred_at": end}).encode()
        keep(proc.handle(settings.clock_ticks_topic, p, 0, str(p).encode(), tick).warnings)
    return ids


def test_market_events_count_from_their_event_time_however_early_they_are_read():
    """The same history, its market topic read all before the customers' backlog or as its
    events come: the same warnings (competitor pressure included)."""
    settings = Settings(partitions=2)
    # (seed 7: five warnings carry competitor pressure. The seed is chosen for that: seed 4
    # had three until the order-value alarm held a budget per month of orders, which no
    # longer fires at the two drops beside a rival's promotion there, z = -3.0 and -3.1.)
    records = history(settings, customers=40, seed=7, market=True)
    assert sum(r.topic == settings.market_events_topic for r in records) > 0
    live = _warning_ids(settings, records, market_first=False)
    backlog = _warning_ids(settings, records, market_first=True)
    assert any(w.endswith("/competitor") for w in live), "competitor pressure is part of the warnings"
    assert sorted(backlog) == sorted(live), \
        f"{len(set(backlog) - set(live))} only with the market read first, {len(set(live) - set(backlog))} only live"


def test_customers_wait_for_the_market_topic_to_be_read_up_to_their_event_time():
    """Until the market reader has reached the end of its topic, no customer event newer than
    the newest market event read is applied: it could be judged without a promotion of its time."""
    settings = Settings(partitions=1)
    customers, clocks, wall = {}, {}, [WALL]
    proc = _processor(customers, clocks, wall)
    read = [False]
    proc.market_caught_up = lambda: read[0]
    proc.handle(settings.logins_topic, 0, 0, b"c1", _login("c1", 3))
    assert proc.buffered() == 1, "nothing of the market read yet: the login waits"
    promo = json.dumps({"event_id": "m1", "category": "books", "kind": "competitor_promotion", "strength": 0.7,
                        "occurred_at": _iso(_epoch(T0) + 86400)}).encode()
    proc.handle_market(promo, b"books", 0, 0)
    proc.handle(settings.logins_topic, 0, 1, b"c1", _login("c1", 4))
    assert proc.buffered() == 2, "the market read up to day 1 only: logins of days 3 and 4 wait"
    read[0] = True
    proc.handle(settings.logins_topic, 0, 2, b"c1", _login("c1", 5))
    assert proc.buffered() == 0 and decode(customers["c1"]).applied == 3, "market read to its end: all applied"
