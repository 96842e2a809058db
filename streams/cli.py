"""The ``churnwatch`` command.

Scripts drive these commands, so each one takes ``--broker HOST:PORT`` (default
``CHURNWATCH_BROKER``, else ``127.0.0.1:9092``), prints results on stdout and diagnostics
on stderr, and when it cannot do its job exits non-zero with one line saying why (no
traceback): 1 for a failure, 2 for a bad setting or option.

Commands that need the Faust worker import it only when they run, so ``replay`` and
``tail`` start quickly.
"""

from __future__ import annotations

import os

# One thread for numpy's and SciPy's BLAS (OpenBLAS), before either is imported: a worker is one
# event loop, scaled by running more workers, and the only BLAS work is the population fit.
# OpenBLAS otherwise starts a thread per core that spins after each call; in the bench that
# took a worker from 98 % to 120 % of a core at the same throughput (docs/benchmarks.md).
# Set OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS, MKL_NUM_THREADS) to override.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import logging  # noqa: E402
import signal
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from kafka.errors import KafkaError

from schemas.errors import ChurnwatchError
from streams.settings import Settings, SettingsError, reference

def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _own_lines(text: str) -> str:
    """One of our own errors as it was written: a list it gives (every invalid line of a
    file) stays one item per line, indented; each line's own spacing is tidied."""
    return "\n".join(("  " if line[:1].isspace() else "") + " ".join(line.split())
                     for line in str(text).splitlines() if line.strip())


class _ConfigError(click.ClickException):
    exit_code = 2


class _Group(click.Group):
    """Turns the errors a command can expect into a short message and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`churnwatch tail | head`): that ends the job, quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except SettingsError as error:
            raise _ConfigError(_one_line(str(error))) from None
        except ChurnwatchError as error:
            raise click.ClickException(_own_lines(str(error))) from None
        except KafkaError as error:
            raise click.ClickException(f"Kafka: {_one_line(str(error)) or type(error).__name__}") from None
        except OSError as error:
            raise click.ClickException(_one_line(str(error)) or type(error).__name__) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Churnwatch: streaming churn warnings from customer behaviour, in event time.

    Every setting is a CHURNWATCH_* environment variable; `churnwatch settings` lists them.
    """


def broker_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--broker",
        metavar="HOST:PORT",
        default=None,
        help="Kafka bootstrap server(s), comma-separated [default: CHURNWATCH_BROKER or 127.0.0.1:9092].",
    )(command)


def load_settings(broker: str | None) -> Settings:
    """Settings from the environment, with ``--broker`` on top; quiets kafka-python's logs.

    kafka-python logs every failed connection attempt; the command reports the outcome in
    one line instead, unless CHURNWATCH_LOG_LEVEL=debug asks for everything.
    """
    settings = Settings.from_env()
    if broker is not None:
        settings = settings.with_overrides(broker=broker)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if settings.log_level != "debug":
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    return settings


def _echo(line: str) -> None:
    click.echo(line)
    sys.stdout.flush()


# --- broker and topics ---------------------------------------------------------------------


@main.command()
@broker_option
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on [default: the port of --broker].")
@click.option("--host", help="Address to listen on and advertise [default: the host of --broker].")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Broker log file [default: CHURNWATCH_DATA_DIR/broker-PORT.log].")
def broker(broker: str | None, port: int | None, host: str | None, log_path: Path | None) -> None:
    """Run the embedded Kafka-compatible broker (Tansu) in the foreground.

    Creates every topic with its partition count, prints the address, and runs until
    Ctrl-C or SIGTERM. Data lives in memory only: it is gone when the broker stops.
    """
    from streams.broker import BrokerError, EmbeddedBroker, ensure_topics

    settings = load_settings(broker)
    default_host, _, default_port = settings.bootstrap_servers[0].rpartition(":")
    host = host or default_host
    port = port or int(default_port)
    log_path = log_path or settings.data_dir / f"broker-{port}.log"

    stopping: list[int] = []

    def request_stop(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    embedded = EmbeddedBroker(port=port, host=host, log_path=log_path)
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        embedded.start()
        created = ensure_topics(settings.with_overrides(broker=embedded.address))
        _echo(f"broker ready at {embedded.address}")
        click.echo(
            f"topics: {sum(1 for v in created.values() if v == 'created')} created, "
            f"{sum(1 for v in created.values() if v == 'exists')} already there; "
            f"log: {embedded.log_path}; in memory only: data is lost when it stops; Ctrl-C stops it",
            err=True,
        )
        if settings.producer_max_batch_size != 1:
            click.echo(f"workers on this broker: set CHURNWATCH_PRODUCER_MAX_BATCH_SIZE=1 (it reports end offsets "
                       f"too low after a batch of several records, and a restarted worker's tables would "
                       f"recover short); CHURNWATCH_BROKER={embedded.address}", err=True)
        while not stopping:
            code = embedded.wait(timeout=0.5)
            if code is not None:
                raise BrokerError(f"embedded broker exited unexpectedly (code {code}): {embedded.log_tail()}")
    finally:
        embedded.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("broker stopped", err=True)


@main.command()
@broker_option
def topics(broker: str | None) -> None:
    """Create every Churnwatch topic with its partition count, or check the existing ones."""
    from streams.broker import ensure_topics, expected_topics

    settings = load_settings(broker)
    outcome = ensure_topics(settings)
    counts = expected_topics(settings)
    for name in sorted(outcome):
        _echo(f"{name}\t{counts[name]} partition{'' if counts[name] == 1 else 's'}\t{outcome[name]}")


# --- replay and tail ----------------------------------------------------------------------


@main.command()
@broker_option
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--advance-to", "advance_to", metavar="TS",
              help="After publishing, move event time of every partition to TS (RFC 3339, e.g. 2025-03-31T00:00:00Z, "
                   "or a date: its midnight UTC). Without FILE, only that.")
@click.option("--no-sort", is_flag=True, help="Publish in file order instead of by occurred_at.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), metavar="EVENTS_PER_S",
              help="Pace publishing to this many events per second [default: as fast as the broker takes them].")
@click.option("--skip-invalid", is_flag=True, help="Publish the valid lines even when some are invalid.")
def replay(broker: str | None, file: Path | None, advance_to: str | None, no_sort: bool, rate: float | None,
           skip_invalid: bool) -> None:
    """Publish a JSON Lines file (optionally gzipped) of events to their topics.

    Each line is {"type": login|page_view|order|complaint|market_event, ...contract fields}.
    A file with an invalid line publishes nothing (unless --skip-invalid); every invalid
    line is reported with its number. Without FILE, --advance-to only moves event time
    (`churnwatch replay --advance-to 2025-03-31`): quiet customers are judged up to then.
    """
    from streams.replay import (SHOWN_INVALID_LINES, ProgressLine, ReplayFile, parse_timestamp, publish, records_in_order,
                                scan_replay)

    if file is None and advance_to is None:
        raise click.UsageError("give a FILE to publish, or --advance-to TS alone to move event time")
    settings = load_settings(broker)
    advance = parse_timestamp(advance_to) if advance_to is not None else None
    if file is None:
        _advance(settings, advance)
        return
    # Checked line by line first, then published as read again: a history of any length fits.
    source = ReplayFile(file)
    scan = scan_replay(source, settings, keep_invalid=SHOWN_INVALID_LINES)
    for invalid in scan.invalid:
        click.echo(f"{file}:{invalid.line_number}: {invalid.message}", err=True)
    if scan.invalid_count > SHOWN_INVALID_LINES:
        click.echo(f"{file}: ... and {scan.invalid_count - SHOWN_INVALID_LINES} more invalid lines", err=True)
    if scan.invalid_count and not skip_invalid:
        raise click.ClickException(
            f"{scan.invalid_count} invalid line{'s' if scan.invalid_count != 1 else ''} in {file}; "
            "nothing was published (--skip-invalid publishes the valid ones)"
        )
    records = records_in_order(source, settings, scan, sort=not no_sort)
    result = publish(settings, records, rate=rate, progress=ProgressLine(scan.records), counts=scan.counts)
    per_topic = ", ".join(f"{topic} {count}" for topic, count in sorted(result.published.items()))
    speed = f" ({result.total / result.seconds:,.0f} events/s)" if result.seconds > 0 else ""
    _echo(f"published {result.total} events in {result.seconds:.1f} s{speed}" + (f": {per_topic}" if per_topic else ""))
    if scan.invalid_count:
        _echo(f"skipped {scan.invalid_count} invalid lines")
    if advance is not None:
        _advance(settings, advance)


def _advance(settings: Settings, advance: datetime) -> None:
    from streams.replay import advance_event_time

    ticks = advance_event_time(settings, advance)
    _echo(f"advanced event time of {ticks} partition{'' if ticks == 1 else 's'} of {settings.clock_ticks_topic} to "
          f"{advance.isoformat().replace('+00:00', 'Z')}")


@main.command()
@broker_option
@click.option("--from-beginning", is_flag=True, help="Print every warning on the topic, not only new ones.")
@click.option("--json", "as_json", is_flag=True, help="Print warnings as JSON lines, as they are on the topic.")
@click.option("--idle-timeout", type=click.FloatRange(min=0, min_open=True), metavar="S",
              help="Exit after S seconds without a new warning [default: follow until Ctrl-C].")
@click.option("--max", "max_warnings", type=click.IntRange(min=1), metavar="N", help="Exit after N warnings.")
@click.option("--dead-letters", is_flag=True,
              help="Follow the dead-letter topic instead: each message the workers could not use, with its "
                   "reason, source topic, partition and offset, key, error and original payload.")
def tail(broker: str | None, from_beginning: bool, as_json: bool, idle_timeout: float | None,
         max_warnings: int | None, dead_letters: bool) -> None:
    """Follow the churn-warnings topic and print each warning (--dead-letters: each dead letter)."""
    from streams.tail import follow

    settings = load_settings(broker)
    try:
        result = follow(settings, _echo, from_beginning=from_beginning, as_json=as_json, idle_timeout=idle_timeout,
                        max_warnings=max_warnings, dead_letters=dead_letters)
    except KeyboardInterrupt:
        return  # Ctrl-C is how one stops following; not an error
    if result.reason == "idle":
        # on standard error, so that --json output stays records only; an empty topic says so
        what = "dead letter" if dead_letters else "warning"
        topic = settings.dead_letters_topic if dead_letters else settings.warnings_topic
        click.echo(f"{result.printed:,} {what}{'' if result.printed == 1 else 's'} "
                   f"{'on' if from_beginning else 'new on'} {topic}; none more for {idle_timeout:g} s", err=True)


# --- the worker and what reads its state --------------------------------------------------


@main.command()
@broker_option
def worker(broker: str | None) -> None:
    """Run a Churnwatch worker (Faust) until SIGTERM or Ctrl-C."""
    from streams.worker import run_worker

    run_worker(load_settings(broker))


@main.command()
@broker_option
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Output file [default: stdout].")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              metavar="S", help="Seconds the workers may go without processing anything before the snapshot "
                                "gives up; while they work through what was already published it waits for them "
                                "and says how far they are.")
def snapshot(broker: str | None, out: str | None, timeout: float) -> None:
    """Write one JSON line per tracked customer, as of the workers' event-time clock."""
    from streams.snapshot import write_snapshot

    write_snapshot(load_settings(broker), None if out in (None, "-") else out, timeout)


@main.command()
@click.option("--customers", type=click.IntRange(min=10), default=400, show_default=True,
              help="Simulated customers.")
@click.option("--days", type=click.IntRange(min=200), default=365, show_default=True, help="Days of history.")
@click.option("--seed", type=int, default=7, show_default=True, help="Simulation seed (same seed, same demo).")
@click.option("--replay-seconds", type=click.FloatRange(min=1), default=40.0, show_default=True,
              help="Wall seconds over which the history is replayed (accelerated event time).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"),
              show_default=True, help="Folder for the demo's files.")
def demo(customers: int, days: int, seed: int, replay_seconds: float, out_dir: Path) -> None:
    """The live demo: embedded broker, a worker, a simulated history replayed, warnings live, a summary."""
    from streams.demo import run_demo

    raise SystemExit(run_demo(load_settings(None), out_dir, customers=customers, days=days, seed=seed,
                              replay_seconds=replay_seconds))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--advance-to", default=None, metavar="TS",
              help="Move event time to TS at the end (RFC 3339 or YYYY-MM-DD; an export's own end date judges who "
                   "has gone quiet by then) [default: last event].")
@click.option("--warnings", "warnings_out", type=click.Path(dir_okay=False), default=None,
              help="Write the warnings as JSON lines here.")
@click.option("--snapshot", "snapshot_out", type=click.Path(dir_okay=False), default=None,
              help="Write the end-of-file snapshot as JSON lines here (risk_score: the rule score, without "
                   "the online model's blend that `churnwatch snapshot` of a worker adds).")
@click.option("--processes", type=click.IntRange(min=0), default=1, show_default=True,
              help="Run the partitions in this many processes (0: one per core); the output is the same.")
@click.option("--skip-invalid", is_flag=True,
              help="Process the valid lines even when some are invalid (each is named, and left out).")
def offline(file: Path, advance_to: str | None, warnings_out: str | None, snapshot_out: str | None,
            processes: int, skip_invalid: bool) -> None:
    """Run the worker's processing over a replay file without Kafka.

    The warnings are those a worker emits for the same input (same ids, same evidence), but `emitted_at`: no wall clock
    runs here, so it is 1970-01-01T00:00:00Z and the output is the same on every run.
    CHURNWATCH_LOG_LEVEL=warning hides the progress lines (population fits). The warnings go to a temporary file
    (in TMPDIR, about 0.8 KB per step) as the run goes and are written out in order at the end.
    """
    import contextlib
    import tempfile

    import orjson

    from streams.offline import SORTED_IN_MEMORY_NOTE, run_offline_file
    from streams.replay import parse_timestamp

    from streams.jsonl_io import check_distinct_files

    check_distinct_files({"FILE": file}, {"--warnings": warnings_out, "--snapshot": snapshot_out})
    settings = load_settings(None)
    for path in (warnings_out, snapshot_out):
        if path:   # before the run, not after minutes of it
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    # The warnings go to files as the run goes and are read back in order once it is done:
    # memory does not grow with them.
    with tempfile.TemporaryDirectory(prefix="churnwatch-offline-") as spill:
        result = run_offline_file(settings, file, advance_to=parse_timestamp(advance_to) if advance_to else None,
                                  processes=processes, spill_dir=spill, skip_invalid=skip_invalid)
        raised = 0
        with open(warnings_out, "wb") if warnings_out else contextlib.nullcontext() as sink:
            for w in result.warnings:
                raised += w["state"] == "raised"
                if sink is not None:
                    sink.write(orjson.dumps(w, default=str) + b"\n")
    if snapshot_out:
        with open(snapshot_out, "wb") as sink:
            for row in result.snapshot:
                sink.write(orjson.dumps(row, default=str) + b"\n")
    _echo(f"{result.events} events, {len(result.dead_letters)} dead letters, {len(result.snapshot)} customers, "
          f"{len(result.warnings)} warnings ({raised} raised; levels >= {settings.publish_min_level}, "
          "CHURNWATCH_PUBLISH_MIN_LEVEL)")
    if result.skipped_count:
        for invalid in result.skipped:
            click.echo(f"{file}:{invalid.line_number}: {invalid.message}", err=True)
        more = result.skipped_count - len(result.skipped)
        click.echo(f"skipped {result.skipped_count} invalid line{'s' if result.skipped_count != 1 else ''}"
                   + (f" ({more} not shown)" if more else "") + " (--skip-invalid)", err=True)
    if result.assessment_errors:
        click.echo(f"error: {result.assessment_errors} customer assessments failed (a bug; the log above has each "
                   "customer and traceback): their warnings are late or missing", err=True)
    if result.sorted_in_memory:
        click.echo(SORTED_IN_MEMORY_NOTE, err=True)
    if not warnings_out and not snapshot_out:
        click.echo("note: the warnings and the snapshot were only counted: --warnings FILE and --snapshot FILE write "
                   "them (docs/importing.md)", err=True)
    if advance_to and result.snapshot:
        # event time never goes back: an earlier --advance-to leaves it at the last event
        last = max(str(row["as_of"]) for row in result.snapshot)
        if last > parse_timestamp(advance_to).isoformat().replace("+00:00", "Z"):
            click.echo(f"note: --advance-to {advance_to} is before the file's last event ({last}); event time "
                       "stays there (it never goes back)", err=True)


def _register_tools() -> None:
    from streams import bootstrap, convert, convert_events, evaluate, holdout, simulate, verify, worklist

    for module in (simulate, convert, convert_events, evaluate, holdout, verify, bootstrap, worklist):
        module.register(main)


_register_tools()


@main.command("settings")
@broker_option
def show_settings(broker: str | None) -> None:
    """Print every setting's variable, effective value and meaning (a set password as ***)."""
    current = load_settings(broker).shown_env()
    for name, default, doc in reference():
        _echo(f"{name}={current[name]}\t# {doc} (default: {default or 'empty'})")


if __name__ == "__main__":  # python -m streams.cli, as the tests start workers
    main(prog_name="churnwatch")
