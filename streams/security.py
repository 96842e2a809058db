"""How every Kafka client of Churnwatch connects: TLS, SASL login, built once from `Settings`.

Churnwatch talks to Kafka through three client libraries: Faust (the worker's consumer,
producer and topic creation, through aiokafka), aiokafka directly (each worker's market-event
reader) and kafka-python (the command-line tools: topics, replay, tail, snapshot, verify,
bootstrap). :func:`client_security` turns the ``CHURNWATCH_SECURITY_PROTOCOL``,
``CHURNWATCH_SASL_*`` and ``CHURNWATCH_SSL_*`` settings into one :class:`ClientSecurity`
per process, and each library gets its options from that one object, so no client can
connect differently from the others.

* The TLS context verifies the broker's certificate and host name against
  ``CHURNWATCH_SSL_CAFILE`` (or the system's CAs), TLS 1.2 at least, and presents the client
  certificate when one is configured. All clients share it.
* The SASL password comes from ``CHURNWATCH_SASL_PASSWORD`` or, in Kubernetes, from the file
  ``CHURNWATCH_SASL_PASSWORD_FILE`` (a mounted Secret), read once at start-up. It is a
  :class:`~streams.settings.Secret`: ``repr``, ``str``, log lines and error messages show
  ``***`` or nothing, and only the client options hold it in clear.
* kafka-python logs a client's whole configuration, password included, at DEBUG level. Once
  a password is loaded, every log record of the process has it replaced by ``***`` (a log
  record factory, so it holds whichever handlers Faust or the command line install).
* ``CHURNWATCH_PROFILE=production`` refuses anything but ``SASL_SSL`` when the settings
  are built (:mod:`streams.settings`); a ``Settings`` object that exists is a valid one, so
  every client of a production process connects with TLS and SASL.

kafka-python and aiokafka name their options the same way (``security_protocol``,
``ssl_context``, ``sasl_mechanism``, ``sasl_plain_username``, ``sasl_plain_password``), so
:meth:`ClientSecurity.client_options` serves both; Faust takes a credentials object
(:meth:`ClientSecurity.faust_credentials`).

Example:
    >>> from streams.settings import Settings
    >>> plain = client_security(Settings())
    >>> plain
    ClientSecurity(PLAINTEXT)
    >>> plain.client_options(), plain.faust_credentials() is None
    ({'security_protocol': 'PLAINTEXT'}, True)
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.settings import MASK, Secret, Settings, SettingsError, env_name

log = logging.getLogger(__name__)

class SecurityError(SettingsError):
    """A credential or certificate file cannot be used; the message names its variable, never its content.
    A settings error: the command exits with status 2, as for any other unusable setting."""


@dataclass(frozen=True, repr=False, eq=False)
class ClientSecurity:
    """What every Kafka client needs to connect; build it with :func:`client_security`.

    Attributes:
        protocol: ``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``.
        mechanism: the SASL mechanism, ``None`` without SASL.
        username: the SASL user, ``None`` without SASL.
        password: the SASL password (empty without SASL).
        ssl_context: the TLS context all clients share, ``None`` without TLS.
        described: one line for logs and reprs, without the password.
    """

    protocol: str
    mechanism: str | None = None
    username: str | None = None
    password: Secret = field(default_factory=Secret)
    ssl_context: ssl.SSLContext | None = None
    described: str = ""

    def __repr__(self) -> str:
        return f"ClientSecurity({self.described or self.protocol})"

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python and aiokafka clients (both use these names).

        They hold the password in clear: pass them to a client, never print them.

        Example:
            >>> from streams.settings import Secret
            >>> ClientSecurity("SASL_PLAINTEXT", "PLAIN", "cw", Secret("pw")).client_options()["sasl_mechanism"]
            'PLAIN'
        """
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.ssl_context is not None:
            options["ssl_context"] = self.ssl_context
        if self.mechanism is not None:
            options.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password.reveal(),
            )
        return options

    def faust_credentials(self) -> Any:
        """The ``broker_credentials`` of the Faust app: ``None`` for PLAINTEXT.

        Faust hands them to every aiokafka client it makes (consumer, producer, topic
        creation). ``faust.SASLCredentials`` with a TLS context means ``SASL_SSL``, without
        one ``SASL_PLAINTEXT``; ``faust.SSLCredentials`` means TLS alone.

        Example:
            >>> from streams.settings import Secret
            >>> ClientSecurity("SASL_PLAINTEXT", "SCRAM-SHA-256", "cw", Secret("pw")).faust_credentials()
            <SASLCredentials: username=cw>
        """
        import faust

        if self.mechanism is not None:
            return faust.SASLCredentials(
                username=self.username,
                password=self.password.reveal(),
                mechanism=self.mechanism,
                ssl_context=self.ssl_context,
            )
        if self.ssl_context is not None:
            return faust.SSLCredentials(self.ssl_context)
        return None


# One per distinct configuration in a process: every client of a worker or command shares
# the TLS context, and a password file is read once. Keyed by the security settings only,
# so settings that differ in, say, the topic prefix share it too.
_BUILT: dict[tuple, ClientSecurity] = {}
_LOCK = threading.Lock()


def client_security(settings: Settings) -> ClientSecurity:
    """The security configuration every Kafka client of this process uses.

    Reads the password file and the certificate files the first time a configuration is
    asked for; later calls return the same object (the same TLS context). A file that is
    missing, unreadable or empty raises :class:`SecurityError` naming its variable and
    path, at start-up rather than at the first connection.

    Parameters:
        settings: validated settings; in the production profile they require ``SASL_SSL``.

    Example:
        >>> from streams.settings import Settings
        >>> client_security(Settings()) is client_security(Settings(topic_prefix="other-"))
        True
    """
    key = _key(settings)
    with _LOCK:
        built = _BUILT.get(key)
        if built is None:
            built = _BUILT[key] = _build(settings)
            if built.password:
                _mask_in_log_records(built.password)
            log.debug("Kafka clients connect with %s", built.described)
        return built


def _key(settings: Settings) -> tuple:
    return (
        settings.profile,
        settings.security_protocol,
        settings.sasl_mechanism,
        settings.sasl_username,
        settings.sasl_password,
        settings.sasl_password_file,
        settings.ssl_cafile,
        settings.ssl_certfile,
        settings.ssl_keyfile,
    )


def _build(settings: Settings) -> ClientSecurity:
    # Settings are valid by construction: the production profile means SASL_SSL here, and
    # a SASL protocol comes with a mechanism, a user and one password source.
    protocol = settings.security_protocol
    context = _ssl_context(settings) if protocol in ("SSL", "SASL_SSL") else None
    parts = [protocol]
    if context is not None:
        parts.append(f"CA {settings.ssl_cafile or 'the system CAs'}")
        if settings.ssl_certfile is not None:
            parts.append(f"client certificate {settings.ssl_certfile}")
    if not protocol.startswith("SASL_"):
        return ClientSecurity(protocol, ssl_context=context, described=", ".join(parts))
    password = _password(settings)
    source = (
        f"{env_name('sasl_password_file')}={settings.sasl_password_file}"
        if settings.sasl_password_file is not None
        else env_name("sasl_password")
    )
    parts.insert(1, f"{settings.sasl_mechanism} as {settings.sasl_username!r}, password from {source}")
    return ClientSecurity(
        protocol,
        mechanism=settings.sasl_mechanism,
        username=settings.sasl_username,
        password=password,
        ssl_context=context,
        described=", ".join(parts),
    )


def _password(settings: Settings) -> Secret:
    path = settings.sasl_password_file
    if path is None:
        return settings.sasl_password
    variable = f"{env_name('sasl_password_file')}={str(path)!r}"
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise SecurityError(
            f"{variable}: cannot read it ({error.strerror or type(error).__name__}); expected a readable file "
            "holding the SASL password"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecurityError(f"{variable}: expected UTF-8 text") from None
    # `echo pw > file` and editors add one newline; Kubernetes Secret files have none.
    text = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    if not text:
        raise SecurityError(f"{variable}: the file is empty; expected the SASL password")
    return Secret(text)


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    # What aiokafka.helpers.create_ssl_context builds (verify the broker's certificate and
    # host name), with each failure attributed to its variable. A CA file replaces the
    # system CAs instead of adding to them: only brokers signed by that CA are trusted.
    cafile = settings.ssl_cafile
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=None if cafile is None else str(cafile))
    except (OSError, ssl.SSLError) as error:
        raise SecurityError(_file_error("ssl_cafile", cafile, error, "PEM CA certificates")) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if settings.ssl_certfile is not None:
        keyfile = settings.ssl_keyfile
        try:
            context.load_cert_chain(
                str(settings.ssl_certfile),
                None if keyfile is None else str(keyfile),
                # An encrypted key would otherwise make OpenSSL prompt on the terminal.
                password=_no_key_password,
            )
        except (OSError, ssl.SSLError, _EncryptedKey) as error:
            failing = "ssl_keyfile" if keyfile is not None and isinstance(error, _EncryptedKey) else "ssl_certfile"
            what = (
                "an unencrypted PEM key (keep it in a Secret instead of encrypting it)"
                if isinstance(error, _EncryptedKey)
                else "a PEM client certificate and its unencrypted private key"
            )
            path = keyfile if failing == "ssl_keyfile" else settings.ssl_certfile
            raise SecurityError(_file_error(failing, path, error, what)) from None
    return context


# --- log records -----------------------------------------------------------------------------

_MASKED: set[str] = set()
_previous_factory: Any = None


def _mask_in_log_records(secret: Secret) -> None:
    """From now on, log records of this process show ``***`` where ``secret`` would be.

    Example:
        >>> import logging
        >>> _mask_in_log_records(Secret("s3cr3t-value"))
        >>> make = logging.getLogRecordFactory()
        >>> make("kafka", logging.DEBUG, "x.py", 1, "config: %s", ({"password": "s3cr3t-value"},), None).getMessage()
        "config: {'password': '***'}"
    """
    global _previous_factory
    _MASKED.add(secret.reveal())
    if _previous_factory is None:
        _previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_masking_record_factory)


def _masking_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _previous_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report, unchanged
        return record
    if any(secret in message for secret in _MASKED):
        for secret in _MASKED:
            message = message.replace(secret, MASK)
        record.msg, record.args = message, None
    return record


class _EncryptedKey(Exception):
    pass


def _no_key_password() -> str:
    raise _EncryptedKey("the private key is encrypted")


def _file_error(name: str, path: Path | None, error: BaseException, expected: str) -> str:
    if isinstance(error, _EncryptedKey):
        reason = str(error)
    elif isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    else:
        reason = " ".join(str(error).split()) or type(error).__name__
    return f"{env_name(name)}={str(path)!r}: cannot use it ({reason}); expected {expected}"
