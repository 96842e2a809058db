"""The worker's event loop (CHURNWATCH_EVENT_LOOP)."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from streams.settings import Settings
from streams.worker import use_event_loop


@pytest.fixture(autouse=True)
def _restore_policy():
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)


def test_uvloop_is_the_default_loop_of_a_worker():
    uvloop = pytest.importorskip("uvloop")
    assert use_event_loop(Settings()) == "uvloop"
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_asyncio_when_asked_for():
    before = asyncio.get_event_loop_policy()
    assert use_event_loop(Settings(event_loop="asyncio")) == "asyncio"
    assert asyncio.get_event_loop_policy() is before


def test_without_uvloop_the_worker_says_so_and_runs_on_asyncio(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "uvloop", None)   # import uvloop raises ImportError
    before = asyncio.get_event_loop_policy()
    with caplog.at_level(logging.WARNING, logger="churnwatch.worker"):
        assert use_event_loop(Settings()) == "asyncio"
    assert asyncio.get_event_loop_policy() is before
    assert "uvloop is not installed" in caplog.text


def test_an_unknown_loop_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CHURNWATCH_EVENT_LOOP", "trio")
    with pytest.raises(Exception) as info:
        Settings.from_env()
    assert "CHURNWATCH_EVENT_LOOP" in str(info.value)
