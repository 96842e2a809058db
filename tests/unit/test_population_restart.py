"""The partition's population prior comes back from the customer table after a restart."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

from detectors.population import DEFAULT_PRIOR, fit
from detectors.state import epoch
from detectors.warning import DetectorParams
from streams.processing import Processor
from streams.settings import Settings

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
WALL = datetime(2030, 1, 1, tzinfo=timezone.utc)


class ItemsOnlyTable:
    """The interface of the worker's table wrapper (`streams.app._CustomerTable`): no values()."""

    def __init__(self) -> None:
        self._d: dict[str, bytes] = {}

    def get(self, key, default=None):
        return self._d.get(key, default)

    def __setitem__(self, key, value) -> None:
        self._d[key] = value

    def items(self):
        yield from list(self._d.items())


def _login(cid: str, at: datetime) -> bytes:
    return json.dumps({"event_id": f"{cid}-{at.isoformat()}", "customer_id": cid,
                       "occurred_at": at.isoformat(), "channel": "web"}).encode()


def test_a_restarted_processor_rebuilds_the_same_population_from_the_customer_table():
    customers = ItemsOnlyTable()
    proc = Processor(Settings(), DetectorParams(), customers, {}, wall_clock=lambda: WALL)
    offset = 0
    for day in range(0, 185):
        for i in range(150):
            if (day * 7 + i * 3) % (1 + i % 9) == 0:        # 150 customers, rhythms from daily to every 9 days
                out = proc.handle("logins", 0, offset, f"c{i}".encode(), _login(f"c{i}", T0 + timedelta(days=day)))
                assert out.dead_letter_reason is None, out.outputs
                offset += 1
    now = epoch(T0 + timedelta(days=185))
    before = proc.population_of(0)
    active = len(list(customers.items()))
    assert active > 100 and len(before.sample) == active

    restarted = Processor(Settings(), DetectorParams(), customers, {}, wall_clock=lambda: WALL)
    after = restarted.population_of(0)
    assert after.sample.summaries() == before.sample.summaries()
    prior = after.prior(now)
    assert prior == fit(before.sample.summaries(), now, DetectorParams().population)
    assert prior != DEFAULT_PRIOR and prior.customers == active


def test_a_restarted_processor_judges_with_the_fit_made_before_the_restart_not_a_new_one():
    customers, models = ItemsOnlyTable(), {}
    proc = Processor(Settings(), DetectorParams(), customers, {}, models=models, wall_clock=lambda: WALL)
    offset = 0

    def feed(p: Processor, days: range) -> None:
        nonlocal offset
        for day in days:
            for i in range(150):
                if (day * 7 + i * 3) % (1 + i % 9) == 0:
                    p.handle("logins", 0, offset, f"c{i}".encode(), _login(f"c{i}", T0 + timedelta(days=day)))
                    offset += 1

    feed(proc, range(0, 215))         # a refit beyond the 180 days before which the published fit stands in
    period, fitted = proc.population_of(0).fitted
    assert period is not None and fitted.customers > 100
    # Within the same refit period the states move on (newer gaps), and nothing refits.
    last_day = next(d for d in range(215, 245) if int(epoch(T0 + timedelta(days=d + 1)) // (28 * 86400)) != period) - 1
    feed(proc, range(215, last_day + 1))
    now = epoch(T0 + timedelta(days=last_day, hours=12))
    assert proc.population_of(0).prior(now) == fitted

    restarted = Processor(Settings(), DetectorParams(), customers, {}, models=models, wall_clock=lambda: WALL)
    assert restarted.population_of(0).prior(now) == fitted
    # What it would have judged with otherwise: a fit on the states of now.
    assert fit(restarted.population_of(0).sample.summaries(), now, DetectorParams().population) != fitted


def test_a_customer_last_seen_under_the_stand_in_is_judged_by_the_first_fit_when_it_comes():
    # A stream started without its history: for its first 180 days (two horizons) the
    # partition is judged by the published fit, which gives no verdict of "gone". A customer
    # seen once on day 2 and never again must still be judged when the partition's own fit
    # arrives (the start of the first refit period after 180 days), not only at an event of
    # theirs that never comes.
    customers = ItemsOnlyTable()
    proc = Processor(Settings(), DetectorParams(), customers, {}, wall_clock=lambda: WALL)
    offset, seen = 0, []
    for day in range(0, 215):
        for i in range(150):
            if (day * 7 + i * 3) % (1 + i % 9) == 0:
                out = proc.handle("logins", 0, offset, f"c{i}".encode(), _login(f"c{i}", T0 + timedelta(days=day)))
                offset += 1
                seen += [w for w in out.warnings if w["customer_id"] == "gone"]
        if day == 2:
            proc.handle("logins", 0, offset, b"gone", _login("gone", T0 + timedelta(days=2, hours=3)))
            offset += 1
    period = int(DetectorParams().population.refit_days * 86400)
    first_fit = -(-(epoch(T0) + 180 * 86400) // period) * period       # the first period start after 180 days
    raised = [w for w in seen if w["state"] == "raised"]
    assert raised, "the customer quiet since day 2 was never judged gone"
    first = raised[0]
    assert epoch(first["occurred_at"]) == first_fit
    assert first["level"] in ("warning", "critical")
    assert any(s["kind"] == "silence" and "still customers" in s["detail"] for s in first["signals"])


def test_the_stand_in_prior_is_announced_once_per_reason_not_at_every_refit(caplog):
    # A history replayed from its start: at its first event the sample is one customer, then
    # for its first 180 days every refit finds the histories too short. Each reason is said
    # once at INFO, its repeats only at DEBUG, and the first real fit is announced.
    customers = ItemsOnlyTable()
    proc = Processor(Settings(), DetectorParams(), customers, {}, wall_clock=lambda: WALL)
    offset = 0
    with caplog.at_level(logging.DEBUG, logger="streams.processing"):
        for day in range(0, 215):
            for i in range(150):
                if (day * 7 + i * 3) % (1 + i % 9) == 0:
                    proc.handle("logins", 0, offset, f"c{i}".encode(), _login(f"c{i}", T0 + timedelta(days=day)))
                    offset += 1
    stand_in = [r for r in caplog.records if "stands in" in r.getMessage()]
    shown = [r.getMessage() for r in stand_in if r.levelno == logging.INFO]
    repeats = [r for r in stand_in if r.levelno == logging.DEBUG]
    assert len(shown) == 2
    assert "1 customers in the population sample" in shown[0] and "histories are shorter than the 180 days" in shown[1]
    assert len(repeats) >= 4 and all("histories are shorter" in r.getMessage() for r in repeats)
    fitted = [r for r in caplog.records if "population fitted" in r.getMessage()]
    assert fitted and all(r.levelno == logging.INFO for r in fitted)
