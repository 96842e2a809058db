"""Integration helpers: run `churnwatch` commands and workers as processes, read and write topics.

Fixtures:
    start_worker(settings, log_name="worker.log") -> WorkerProcess   (stopped after the test)
    run_cli(settings, *args, timeout=60, env=None) -> subprocess.CompletedProcess (text)
    produce(settings, topic, value, key=None, partition=None) -> RecordMetadata
    consume_all(settings, topic, min_count=0, idle=1.0, timeout=30) -> list[ConsumerRecord]

Reading a topic polls until nothing new has arrived for ``idle`` seconds instead of trusting
end offsets: the embedded broker reports them too low after a multi-record batch.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def process_env(settings: Settings | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child process: ours without any CHURNWATCH_*, then the settings'."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")}
    if settings is not None:
        env.update(settings.to_env())
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def churnwatch_command(*args: str) -> list[str]:
    """The `churnwatch` command line, run with this interpreter (works without the console script)."""
    return [sys.executable, "-m", "streams.cli", *args]


class WorkerProcess:
    """`churnwatch worker` in a child process, with its output in a log file.

    Parameters:
        settings_env: ``CHURNWATCH_*`` variables (``Settings.to_env()``).
        log_path: file receiving the worker's stdout and stderr.
    """

    def __init__(self, settings_env: dict[str, str], log_path: Path, args: tuple[str, ...] = ("worker",)) -> None:
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("CHURNWATCH_")},
                    **settings_env, "PYTHONUNBUFFERED": "1"}
        self.log_path = log_path
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                churnwatch_command(*self.args),
                env=self.env,
                cwd=self.log_path.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "worker not started"
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, text: str, timeout: float) -> None:
        """Wait until ``text`` appears in the log; fail with the log's tail otherwise."""
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            if not self.running():
                pytest.fail(f"worker exited (code {self.returncode}) before logging {text!r}:\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                pytest.fail(f"worker did not log {text!r} within {timeout:g} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def kill(self) -> int:
        """SIGKILL, as a crash would; the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait()



def assigned(worker: WorkerProcess, topic: str) -> str | None:
    """The partitions of `topic` in the worker's latest assignment (Faust logs it as a table)."""
    block = worker.log_text().rsplit("Setting newly assigned partitions", 1)
    if len(block) < 2:
        return None
    found = re.search(rf"\| {re.escape(topic)}\s+\| (\{{[^}}]*\}})", block[1].split("for group")[0])
    return found.group(1) if found else None

@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `churnwatch worker` for some settings; every worker is stopped after the test."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, log_name: str | None = None) -> WorkerProcess:
        name = log_name or f"worker-{len(started) + 1}.log"
        worker = WorkerProcess(settings.to_env(), tmp_path / name)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        if worker.running():
            worker.stop(timeout=10)


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `churnwatch ARGS` with the environment of ``settings`` (``None``: no CHURNWATCH_*)."""

    def run(
        settings: Settings | None, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            churnwatch_command(*args),
            env=process_env(settings, env),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def produce() -> Iterator[Callable[..., Any]]:
    """Send raw bytes to a topic, one acknowledged record per request; returns its metadata."""
    producers: dict[str, KafkaProducer] = {}

    def send(settings: Settings, topic: str, value: bytes | None, key: bytes | str | None = None,
             partition: int | None = None) -> Any:
        client = producers.get(settings.broker)
        if client is None:
            # batch_size=1: every record its own batch, so the broker's end offsets are exact.
            client = producers[settings.broker] = KafkaProducer(
                bootstrap_servers=settings.bootstrap_servers, batch_size=1, linger_ms=0, acks=1
            )
        if isinstance(key, str):
            key = key.encode("utf-8")
        future = client.send(topic, value=value, key=key, partition=partition)
        client.flush()
        return future.get(timeout=10)

    yield send
    for client in producers.values():
        client.close(timeout=5)


def read_topic(settings: Settings, topic: str, *, min_count: int = 0, idle: float = 1.0,
               timeout: float = 30.0) -> list[Any]:
    """Every record of ``topic`` (all partitions, from the start), sorted by partition and offset.

    Polls until at least ``min_count`` records have arrived and then nothing new for
    ``idle`` seconds; fails the test when ``min_count`` is not reached within ``timeout``.
    """
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            pytest.fail(f"topic {topic!r} does not exist")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        records: list[Any] = []
        started = last_new = time.monotonic()
        while True:
            batches = consumer.poll(timeout_ms=200)
            now = time.monotonic()
            for batch in batches.values():
                records.extend(batch)
                last_new = now
            if len(records) >= min_count and now - last_new >= idle:
                break
            if len(records) < min_count and now - started >= timeout:
                pytest.fail(f"{topic}: {len(records)} records within {timeout:g} s, expected at least {min_count}")
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


@pytest.fixture
def consume_all() -> Callable[..., list[Any]]:
    """:func:`read_topic` as a fixture."""
    return read_topic
