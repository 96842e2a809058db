"""kafka-python clients for the command-line tools, with bounded waits and clear errors.

The CLI (replay, tail, topics) talks to Kafka with kafka-python: synchronous, simple, and
fast enough (see ``streams/replay.py``). The Faust worker uses aiokafka and does not come
through here.

kafka-python waits for an unreachable broker for a long time by default and then raises
errors that say little to an operator. Every client made here gives up after
``Settings.client_timeout_seconds`` and :func:`broker_unreachable` turns that into one
line that names the address and the command that starts a local broker.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

from schemas.errors import ChurnwatchError
from streams.security import client_security
from streams.settings import Settings


class KafkaUnavailable(ChurnwatchError):
    """The broker did not answer, or refused what we asked of it."""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _common(settings: Settings) -> dict[str, Any]:
    timeout = settings.client_timeout_seconds
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "bootstrap_timeout_ms": _ms(timeout),
        # A request to a live broker answers in milliseconds; a few client timeouts is
        # plenty and keeps a broker that dies mid-command from hanging us for 30 s.
        "request_timeout_ms": _ms(max(timeout * 2, 5.0)),
        "reconnect_backoff_max_ms": 1000,
        "client_id": f"{settings.app_id}-cli",
        # TLS and SASL as the worker connects (CHURNWATCH_SECURITY_PROTOCOL and friends).
        **client_security(settings).client_options(),
    }


def broker_unreachable(settings: Settings, error: BaseException) -> KafkaUnavailable:
    """A one-line error for a failed broker conversation.

    Example:
        >>> from kafka.errors import KafkaTimeoutError
        >>> str(broker_unreachable(Settings(broker="127.0.0.1:1"), KafkaTimeoutError()))
        'cannot reach the Kafka broker at 127.0.0.1:1 within 5 s (KafkaTimeoutError); start one with `churnwatch broker` or set --broker / CHURNWATCH_BROKER'
    """
    if isinstance(error, (KafkaTimeoutError, KafkaConnectionError, ConnectionError)):
        return KafkaUnavailable(
            f"cannot reach the Kafka broker at {settings.broker} within {settings.client_timeout_seconds:g} s "
            f"({type(error).__name__}); start one with `churnwatch broker` or set --broker / CHURNWATCH_BROKER"
        )
    detail = " ".join(str(error).split()) or type(error).__name__
    return KafkaUnavailable(f"Kafka broker at {settings.broker} failed: {detail}")


def check_tls(settings: Settings) -> None:
    """With TLS on, complete one handshake with the first bootstrap server within the client
    timeout, or raise :class:`KafkaUnavailable` saying why.

    kafka-python waits for a TLS handshake without a deadline: a command pointed at a
    plaintext listener, or at a server that accepts and never answers, hung for good. A
    certificate the context refuses is also said here, in one line. Without TLS: nothing.
    """
    context = client_security(settings).ssl_context
    if context is None:
        return
    import socket
    import ssl

    host, _, port = settings.bootstrap_servers[0].rpartition(":")
    host = host.strip("[]")
    timeout = settings.client_timeout_seconds
    where = f"the Kafka broker at {host}:{port}"
    try:
        raw = socket.create_connection((host, int(port)), timeout=timeout)
    except OSError:
        return   # not reachable at all: the client's own attempt says so, as without TLS
    try:
        raw.settimeout(timeout)
        with context.wrap_socket(raw, server_hostname=host):
            pass
    except ssl.SSLCertVerificationError as error:
        raise KafkaUnavailable(f"{where} presented a certificate this client does not trust: "
                               f"{error.verify_message or error}; set CHURNWATCH_SSL_CAFILE to the CA that "
                               f"signed it") from None
    except (TimeoutError, socket.timeout):
        raise KafkaUnavailable(f"no TLS handshake with {where} within {timeout:g} s: is it a TLS listener "
                               f"(CHURNWATCH_SECURITY_PROTOCOL={settings.security_protocol})?") from None
    except (ssl.SSLError, OSError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise KafkaUnavailable(f"TLS handshake with {where} failed ({reason}): is it a TLS listener "
                               f"(CHURNWATCH_SECURITY_PROTOCOL={settings.security_protocol})?") from None
    finally:
        raw.close()


def admin_client(settings: Settings) -> KafkaAdminClient:
    """An admin client, or :class:`KafkaUnavailable` when the broker does not answer."""
    check_tls(settings)
    try:
        return KafkaAdminClient(**_common(settings))
    except (KafkaError, OSError) as error:
        raise broker_unreachable(settings, error) from error


def producer(settings: Settings, *, batch_size: int | None = None, linger_seconds: float | None = None) -> KafkaProducer:
    """A producer with raw ``bytes`` keys and values.

    Parameters:
        batch_size: bytes per batch; defaults to ``settings.producer_max_batch_size``.
        linger_seconds: defaults to ``settings.producer_linger_seconds``.
    """
    check_tls(settings)
    common = _common(settings)
    try:
        return KafkaProducer(
            **common,
            acks=1,
            batch_size=settings.producer_max_batch_size if batch_size is None else batch_size,
            linger_ms=int(1000 * (settings.producer_linger_seconds if linger_seconds is None else linger_seconds)),
            max_block_ms=_ms(settings.client_timeout_seconds),
            # Bounded delivery: a broker that vanishes mid-replay fails the command
            # instead of leaving it in retries for the default two minutes.
            delivery_timeout_ms=common["request_timeout_ms"] * 3,
            # Topics are created explicitly with one partition count (see broker.ensure_topics);
            # an auto-created topic would get the broker's default count and break
            # co-partitioning with the tables.
            allow_auto_create_topics=False,
        )
    except (KafkaError, OSError) as error:
        raise broker_unreachable(settings, error) from error


def consumer(settings: Settings) -> KafkaConsumer:
    """A consumer without a group (callers ``assign`` partitions themselves)."""
    check_tls(settings)
    try:
        return KafkaConsumer(
            **_common(settings),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # How long the broker may hold an empty fetch: what a follower of a topic (`churnwatch
            # tail`) adds to each record's way out at most (streams.app.fetch_max_wait).
            fetch_max_wait_ms=max(1, round(settings.fetch_max_wait_seconds * 1000)),
        )
    except (KafkaError, OSError) as error:
        raise broker_unreachable(settings, error) from error


def partition_count(client: KafkaConsumer, settings: Settings, topic: str) -> int:
    """Number of partitions of ``topic``; a clear error when the topic does not exist.

    Asks through a consumer on purpose: a producer's metadata request makes the embedded
    Tansu broker create a missing topic (ignoring ``allow_auto_create_topics``), with its
    default partition count.
    """
    try:
        partitions = client.partitions_for_topic(topic)
    except (KafkaError, OSError) as error:
        raise broker_unreachable(settings, error) from error
    if not partitions:
        raise KafkaUnavailable(
            f"topic {topic!r} does not exist on {settings.broker}; create the topics with `churnwatch topics`"
        )
    return len(partitions)
