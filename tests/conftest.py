"""Fixtures shared by every test: one embedded broker per session, isolated settings.

The broker starts only when a test asks for it (integration tests, through
``settings_factory``), once for the whole session. When it cannot start, those tests fail
rather than skip: ``make test`` is meant to run them everywhere.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from streams.broker import EmbeddedBroker, ensure_topics, free_port
from streams.settings import Settings

T = TypeVar("T")

_test_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedBroker:
    """The session's embedded broker (free port, loopback, in memory)."""
    embedded = EmbeddedBroker(log_path=tmp_path_factory.mktemp("broker") / "broker.log")
    try:
        embedded.start()
    except Exception as error:  # noqa: BLE001 - any reason is reported the same way
        pytest.fail(f"the embedded broker did not start, so integration tests cannot run: {error}", pytrace=False)
    yield embedded
    embedded.stop()


@pytest.fixture
def settings_factory(broker: EmbeddedBroker, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Settings]:
    """Make fresh :class:`Settings` for one test: its own topics, app id and ports.

    Each call gives a unique ``topic_prefix`` and ``app_id`` (so topics, consumer group
    and changelogs are the test's own), 2 partitions, short group timeouts so a worker
    starts and fails over in seconds, one record per producer batch (exact table
    recovery on the embedded broker), a free web port, metrics off, and a data dir under
    ``tmp_path``. Keyword arguments override any field. Topics are created unless
    ``create_topics=False``.
    """

    def make(*, create_topics: bool = True, **overrides: Any) -> Settings:
        if not broker.running():
            pytest.fail(f"the session's embedded broker has died: {broker.log_tail()}", pytrace=False)
        number = next(_test_numbers)
        slug = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name)[:40].strip("-")
        tag = f"t{number}-{slug}"
        settings = Settings(
            broker=broker.address,
            app_id=f"cw-{tag}",
            topic_prefix=f"{tag}.",
            partitions=2,
            session_timeout_seconds=8,
            rebalance_timeout_seconds=8,
            heartbeat_interval_seconds=1,
            producer_max_batch_size=1,
            client_timeout_seconds=3,
            web_port=free_port(),
            metrics_port=0,
            data_dir=tmp_path / f"data-{number}",
            shutdown_timeout_seconds=15,
            # A partition that stops moving is logged where it stands well before a test gives up.
            stall_report_seconds=30,
        ).with_overrides(**overrides)
        if create_topics:
            ensure_topics(settings)
        return settings

    return make


def wait_until(predicate: Callable[[], T], timeout: float, *, interval: float = 0.1, message: str = "") -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    Fails the test with ``message`` when ``timeout`` seconds pass first. For integration
    tests only: unit tests do not wait on the clock.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"not within {timeout:g} s: {message or getattr(predicate, '__name__', 'condition')}")
        time.sleep(interval)


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., Any]:
    """:func:`wait_until` as a fixture, so test modules need not import conftest."""
    return wait_until


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fault suite (tests/integration/test_faults.py) runs when CHURNWATCH_TEST_FAULTS=1.

    `make test` and `make faults` set it. It kills and restarts workers and the broker under
    load and takes about 7 minutes on two cores, so a bare `pytest` while developing leaves
    it out.
    """
    import os

    if os.environ.get("CHURNWATCH_TEST_FAULTS") == "1":
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.nodeid.startswith("tests/integration/test_faults.py") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
