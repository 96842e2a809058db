"""Run a Churnwatch worker with a bounded shutdown.

A Faust worker can hang on SIGTERM (seen with the broker down and a batch in flight), so
the first SIGTERM/SIGINT starts Faust's orderly stop (stop consuming, flush the producer,
commit offsets) and arms a watchdog: if the process is still alive after
`CHURNWATCH_SHUTDOWN_TIMEOUT_SECONDS`, it exits with status 75 and says why. A second
signal exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

import faust

from schemas.errors import ChurnwatchError
from streams.settings import Settings

log = logging.getLogger("churnwatch.worker")

EXIT_SHUTDOWN_TIMEOUT = 75


class BoundedWorker(faust.Worker):
    """faust.Worker whose shutdown cannot outlive a deadline."""

    def __init__(self, *args, shutdown_timeout: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shutdown_timeout = shutdown_timeout
        self._watchdog: threading.Timer | None = None

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._watchdog is not None:
            sys.stderr.write(f"churnwatch worker: second {signum.name}, exiting now\n")
            os._exit(EXIT_SHUTDOWN_TIMEOUT)
        self._watchdog = threading.Timer(self._shutdown_timeout, self._give_up, args=(signum,))
        self._watchdog.daemon = True
        self._watchdog.start()
        super()._schedule_shutdown(signum)

    def _give_up(self, signum: signal.Signals) -> None:
        sys.stderr.write(
            f"churnwatch worker: still stopping {self._shutdown_timeout:g} s after {signum.name}; exiting "
            f"(uncommitted events will be re-read and de-duplicated by event_id)\n"
        )
        sys.stderr.flush()
        os._exit(EXIT_SHUTDOWN_TIMEOUT)


class WorkerStartError(ChurnwatchError):
    """The worker cannot start: a port it serves on is taken."""


def _check_port(host: str, port: int, what: str, setting: str, also: str = "") -> None:
    """Raise WorkerStartError naming `setting` unless `host`:`port` can be listened on."""
    from streams.broker import port_is_free

    if not port_is_free(host, port):
        raise WorkerStartError(f"cannot serve {what} on {host}:{port}: the port is in use (another worker on this "
                               f"host?); set {setting} to a free port{also}")


def preflight(settings: Settings) -> None:
    """What would otherwise stop Faust with a traceback, checked before it starts, each with
    a one-line reason: the web port, the metrics port, the broker."""
    from streams import kafka_clients
    from streams.settings import env_name

    _check_port(settings.web_host, settings.web_port, "the worker's web server", env_name("web_port"))
    if settings.metrics_port:
        _check_port(settings.metrics_host, settings.metrics_port, "metrics", env_name("metrics_port"),
                    " (0 turns metrics off)")
    kafka_clients.admin_client(settings).close()


def run_worker(settings: Settings) -> None:
    """Start a worker for `settings` and block until it stops."""
    from streams.app import create_app

    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    preflight(settings)
    if settings.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
    # Faust does not create missing parents of its data directory (it creates the directory
    # itself, then v1/ and v1/<app id>/ under it: streams.app.faust_settings).
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cw = create_app(settings)
    worker = BoundedWorker(
        cw.app,
        loglevel=settings.log_level,
        shutdown_timeout=settings.shutdown_timeout_seconds,
        quiet=True,
    )
    worker.execute_from_commandline()
