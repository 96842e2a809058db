"""Kafka client security: what each client library is handed, and that TLS really verifies.

No broker here speaks TLS or SASL (the embedded Tansu broker has neither), so these tests
check the configuration each client gets from `streams.security` (the Faust app, the aiokafka
market reader, the kafka-python command-line clients), that the client libraries accept it,
and, against a local TLS server with a throwaway CA made by `openssl`, that the TLS context
trusts the configured CA only, checks the host name and presents the client certificate.
The commands to test against a real SASL_SSL cluster are in docs/operations.md.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams import security
from streams.security import SecurityError, client_security
from streams.settings import Secret, Settings

PASSWORD = "Zq-7never-print-me-41"


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    # Each test builds its own configuration; the per-process cache must not carry over.
    security._BUILT.clear()
    yield
    security._BUILT.clear()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A CA, a server certificate for localhost signed by it, a client certificate, and a stranger CA."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make test certificates (Debian package openssl)",
                    pytrace=False)
    d = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    for ca in ("ca", "stranger"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
            "-days", "2", "-subj", f"/CN={ca}")
    (d / "server.ext").write_text("subjectAltName=DNS:localhost\n")
    for name, subject in (("server", "/CN=localhost"), ("client", "/CN=churnwatch-client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", subject)
        extra = ["-extfile", "server.ext"] if name == "server" else []
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", *extra)
    run("rsa", "-in", "client.key", "-aes256", "-passout", "pass:secret", "-out", "client-encrypted.key")
    return {p.stem if p.suffix == ".crt" else p.name: p for p in d.iterdir()}


def sasl_ssl(tmp_path: Path, pki: dict[str, Path], **changes) -> Settings:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")  # as `echo` writes it
    values = dict(profile="production", store="rocksdb://", security_protocol="SASL_SSL",
                  sasl_mechanism="SCRAM-SHA-512", sasl_username="churnwatch", sasl_password_file=password_file,
                  ssl_cafile=pki["ca"])
    return Settings(**{**values, **changes})


# --- what each client gets ------------------------------------------------------------------


def test_plaintext_gives_clients_nothing_but_the_protocol_and_faust_no_credentials():
    plain = client_security(Settings())
    assert plain.client_options() == {"security_protocol": "PLAINTEXT"}
    assert plain.faust_credentials() is None
    assert plain.ssl_context is None


def test_sasl_ssl_gives_clients_a_verifying_tls_context_and_the_password_from_the_file(tmp_path, pki):
    built = client_security(sasl_ssl(tmp_path, pki))
    options = built.client_options()
    assert {k: v for k, v in options.items() if k != "ssl_context"} == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "churnwatch",
        "sasl_plain_password": PASSWORD,  # the file's trailing newline is not part of it
    }
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    # Only the configured CA is trusted, not the system's.
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "ca"),),)]


def test_the_faust_app_connects_exactly_as_the_other_clients_do(tmp_path, pki):
    # Faust turns broker_credentials into aiokafka options with this function, for its
    # consumer, producer and topic-creation client alike.
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    built = client_security(sasl_ssl(tmp_path, pki))
    assert dict(credentials_to_aiokafka_auth(built.faust_credentials())) == built.client_options()
    plain = client_security(Settings())
    assert dict(credentials_to_aiokafka_auth(plain.faust_credentials())) == plain.client_options()
    tls_only = client_security(Settings(security_protocol="SSL", ssl_cafile=pki["ca"]))
    assert dict(credentials_to_aiokafka_auth(tls_only.faust_credentials())) == tls_only.client_options()


def test_the_built_faust_app_carries_the_credentials_with_the_shared_tls_context(tmp_path, pki):
    from streams.app import create_app

    settings = sasl_ssl(tmp_path, pki, data_dir=tmp_path)
    credentials = create_app(settings).app.conf.broker_credentials
    assert (credentials.protocol.value, credentials.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (credentials.username, credentials.password) == ("churnwatch", PASSWORD)
    assert credentials.ssl_context is client_security(settings).ssl_context


@pytest.mark.parametrize("protocol", ["SSL", "SASL_PLAINTEXT", "SASL_SSL"])
def test_every_kafka_python_client_of_the_command_line_tools_accepts_the_options(tmp_path, pki, protocol):
    from kafka import KafkaConsumer, KafkaProducer

    from streams import kafka_clients

    changes = {"SSL": dict(sasl_mechanism="", sasl_username="", sasl_password_file=None),
               "SASL_PLAINTEXT": dict(ssl_cafile=None), "SASL_SSL": {}}[protocol]
    settings = sasl_ssl(tmp_path, pki, profile="dev", security_protocol=protocol, **changes)
    common = kafka_clients._common(settings)
    assert common["security_protocol"] == protocol
    # kafka-python refuses options it does not know (KafkaConfigurationError); with an API
    # version given, consumers and producers do not connect while they are built.
    for client in (KafkaConsumer(**common, api_version=(2, 5)), KafkaProducer(**common, api_version=(2, 5))):
        assert client.config["security_protocol"] == protocol
        assert client.config["ssl_context"] is client_security(settings).ssl_context
        client.close()


def test_the_aiokafka_market_reader_accepts_the_options(tmp_path, pki):
    from aiokafka import AIOKafkaConsumer

    options = client_security(sasl_ssl(tmp_path, pki)).client_options()

    async def build() -> dict:
        consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1", group_id=None, **options)
        client = consumer._client
        return {"protocol": client._security_protocol, "mechanism": client._sasl_mechanism,
                "context": client._ssl_context}

    seen = asyncio.run(build())
    assert seen == {"protocol": "SASL_SSL", "mechanism": "SCRAM-SHA-512", "context": options["ssl_context"]}


def test_the_configuration_is_built_once_per_process_and_the_password_file_read_once(tmp_path, pki):
    settings = sasl_ssl(tmp_path, pki)
    first = client_security(settings)
    (tmp_path / "password").write_text("rotated")
    again = client_security(settings.with_overrides(topic_prefix="other-"))
    assert again is first and again.ssl_context is first.ssl_context
    assert again.client_options()["sasl_plain_password"] == PASSWORD


def test_a_password_from_the_environment_is_used_as_given(tmp_path, pki):
    settings = sasl_ssl(tmp_path, pki, sasl_password_file=None, sasl_password=Secret(" with spaces "))
    assert client_security(settings).client_options()["sasl_plain_password"] == " with spaces "


@pytest.mark.parametrize(
    "content, message",
    [(None, "cannot read it (No such file or directory); expected a readable file holding the SASL password"),
     (b"", "the file is empty; expected the SASL password"),
     (b"\n", "the file is empty; expected the SASL password"),
     (b"\xff\xfe", "expected UTF-8 text")],
)
def test_an_unusable_password_file_stops_the_start_with_its_variable_and_path(tmp_path, pki, content, message):
    settings = sasl_ssl(tmp_path, pki)
    path = tmp_path / "password"
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    with pytest.raises(SecurityError) as caught:
        client_security(settings)
    assert str(caught.value) == f"CHURNWATCH_SASL_PASSWORD_FILE='{path}': {message}"


@pytest.mark.parametrize(
    "changes, message",
    [(dict(ssl_cafile=Path("/nonexistent/ca.crt")),
      "CHURNWATCH_SSL_CAFILE='/nonexistent/ca.crt': cannot use it (No such file or directory)"),
     (dict(ssl_cafile="password"), "CHURNWATCH_SSL_CAFILE='{tmp}/password': cannot use it ("),
     (dict(ssl_certfile="client", ssl_keyfile="client-encrypted.key"),
      "CHURNWATCH_SSL_KEYFILE='{pki}/client-encrypted.key': cannot use it (the private key is encrypted); "
      "expected an unencrypted PEM key"),
     (dict(ssl_certfile="client", ssl_keyfile="server.key"),
      "CHURNWATCH_SSL_CERTFILE='{pki}/client.crt': cannot use it ("),
     ],
)
def test_an_unusable_certificate_file_names_its_variable(tmp_path, pki, changes, message):
    resolved = {k: v if isinstance(v, Path) else pki.get(v) or tmp_path / v for k, v in changes.items()}
    with pytest.raises(SecurityError) as caught:
        client_security(sasl_ssl(tmp_path, pki, **resolved))
    assert message.format(tmp=tmp_path, pki=pki["ca"].parent) in str(caught.value)


# --- the password never shows -----------------------------------------------------------------


def test_the_password_is_in_no_repr_log_line_or_connection_error(tmp_path, pki, caplog):
    from streams import kafka_clients
    from streams.app import create_app

    caplog.set_level(logging.DEBUG)
    # The command line quiets kafka-python's loggers; an earlier test may have left them so.
    for name in ("kafka", "aiokafka", "faust"):
        caplog.set_level(logging.DEBUG, logger=name)
    settings = sasl_ssl(tmp_path, pki, broker="127.0.0.1:1", client_timeout_seconds=0.3, data_dir=tmp_path)
    built = client_security(settings)
    shown = [repr(built), str(built), built.described, repr(built.faust_credentials()), repr(settings)]
    assert "password from CHURNWATCH_SASL_PASSWORD_FILE=" in built.described

    errors = []
    for make in (kafka_clients.admin_client, kafka_clients.consumer):
        try:
            client = make(settings)
            client.partitions_for_topic("logins") if make is kafka_clients.consumer else None
        except Exception as error:  # noqa: BLE001 - any failure's text is what we look at
            errors.append(f"{type(error).__name__}: {error}")
    cw = create_app(settings)
    shown += [repr(cw.app.conf.broker_credentials), repr(cw.app)]

    async def market_reader() -> None:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(bootstrap_servers=settings.broker, request_timeout_ms=300,
                                    **built.client_options())
        try:
            await consumer.start()
        finally:
            await consumer.stop()

    try:
        asyncio.run(market_reader())
    except Exception as error:  # noqa: BLE001
        errors.append(f"{type(error).__name__}: {error}")
    assert len(errors) == 3, "the clients were expected to fail against a closed port"
    # kafka-python logs the admin client's whole configuration at DEBUG: it is there, masked.
    assert any("'sasl_plain_password': '***'" in r.getMessage() for r in caplog.records)
    text = "\n".join(shown + errors + [r.getMessage() for r in caplog.records])
    assert PASSWORD not in text
    assert "churnwatch" in text  # the user name may show; the password may not


# --- TLS against a local server ---------------------------------------------------------------


class TLSServer:
    """Accepts TLS connections on 127.0.0.1 with the localhost certificate; notes each outcome."""

    def __init__(self, pki: dict[str, Path], *, require_client_cert: bool = False) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki["server"], pki["server.key"])
        if require_client_cert:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(pki["ca"])
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.peers: list[str | None] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    peer = tls.getpeercert()
                    self.peers.append(dict(x[0] for x in peer["subject"])["commonName"] if peer else None)
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                self.peers.append("refused")

    def connect(self, context: ssl.SSLContext, host: str = "localhost") -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return tls.recv(2)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tls_server(pki):
    servers: list[TLSServer] = []

    def start(**kwargs) -> TLSServer:
        servers.append(TLSServer(pki, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_the_tls_context_trusts_a_broker_signed_by_the_configured_ca(tmp_path, pki, tls_server):
    server = tls_server()
    assert server.connect(client_security(sasl_ssl(tmp_path, pki)).ssl_context) == b"ok"


def test_the_tls_context_refuses_a_broker_signed_by_another_ca(tmp_path, pki, tls_server):
    server = tls_server()
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        server.connect(client_security(sasl_ssl(tmp_path, pki, ssl_cafile=pki["stranger"])).ssl_context)


def test_the_tls_context_refuses_a_certificate_for_another_host_name(tmp_path, pki, tls_server):
    server = tls_server()
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch|doesn't match"):
        server.connect(client_security(sasl_ssl(tmp_path, pki)).ssl_context, host="kafka.example.com")


def test_the_client_certificate_is_presented_when_the_broker_requires_one(tmp_path, pki, tls_server):
    server = tls_server(require_client_cert=True)
    with_cert = client_security(sasl_ssl(tmp_path, pki, ssl_certfile=pki["client"], ssl_keyfile=pki["client.key"]))
    assert server.connect(with_cert.ssl_context) == b"ok"
    without = client_security(sasl_ssl(tmp_path, pki))
    try:
        answer = server.connect(without.ssl_context)
    except (ssl.SSLError, ConnectionError):  # with TLS 1.3 the refusal arrives at the first read
        answer = None
    assert answer != b"ok"
    server.close()
    server.thread.join(timeout=5)
    assert server.peers[0] == "churnwatch-client" and server.peers[-1] == "refused"


def test_churnwatch_settings_prints_the_password_as_stars(tmp_path):
    from click.testing import CliRunner

    from streams.cli import main

    env = {"CHURNWATCH_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "CHURNWATCH_SASL_MECHANISM": "PLAIN",
           "CHURNWATCH_SASL_USERNAME": "churnwatch", "CHURNWATCH_SASL_PASSWORD": PASSWORD}
    result = CliRunner().invoke(main, ["settings"], env=env)
    assert result.exit_code == 0, result.output
    assert "CHURNWATCH_SASL_PASSWORD=***\t#" in result.output
    assert "CHURNWATCH_SASL_USERNAME=churnwatch\t#" in result.output
    assert PASSWORD not in result.output


# Modules that make Kafka clients for the embedded broker only (it has no TLS or SASL).
EMBEDDED_ONLY = {"bench.py", "bench_procs.py"}
CLIENTS = {"KafkaConsumer", "KafkaProducer", "KafkaAdminClient", "AIOKafkaConsumer", "AIOKafkaProducer",
           "AIOKafkaAdminClient", "App"}


def test_every_kafka_client_the_project_makes_gets_the_security_configuration():
    # A client added later without the security options would connect in plaintext; this
    # finds every constructor call in streams/ and asks that it is handed the options.
    import ast

    root = Path(security.__file__).parent
    unwired, found = [], 0
    for path in sorted(root.glob("*.py")):
        if path.name in EMBEDDED_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in CLIENTS:
                continue
            found += 1
            given = {kw.arg for kw in node.keywords} | {
                ast.unparse(kw.value) for kw in node.keywords if kw.arg is None}
            if not given & {"broker_credentials", "_common(settings)", "common", "faust_settings(settings)",
                            "client_security(settings).client_options()"}:
                unwired.append(f"{path.name}:{node.lineno} {name}")
    assert found >= 6, f"only {found} Kafka client constructions found: the scan no longer sees them"
    assert not unwired, f"Kafka clients without the security options: {unwired}"
    # the Faust app's settings (streams.app.faust_settings) carry them
    from streams.app import faust_settings

    sasl = Settings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", sasl_username="churnwatch",
                    sasl_password=Secret(PASSWORD))
    assert faust_settings(sasl)["broker_credentials"] is not None
    assert faust_settings(Settings())["broker_credentials"] is None


def test_a_listener_that_never_completes_a_tls_handshake_is_one_line_within_the_client_timeout():
    from streams import kafka_clients
    # kafka-python waits for a TLS handshake without a deadline: a command pointed at a
    # plaintext listener, or at a server that accepts and never answers, hung for good.
    import socket
    import threading
    import time

    from streams.kafka_clients import KafkaUnavailable

    silent = socket.create_server(("127.0.0.1", 0))
    talks_plain = socket.create_server(("127.0.0.1", 0))
    held = []

    def answer_in_plaintext() -> None:
        conn, _ = talks_plain.accept()
        conn.recv(1024)
        conn.sendall(b"\x00\x00\x00\x08not tls!")   # a Kafka-ish plaintext reply
        held.append(conn)

    threading.Thread(target=answer_in_plaintext, daemon=True).start()
    with silent, talks_plain:
        for server, expected in ((silent, "no TLS handshake with the Kafka broker at 127.0.0.1:.* within 1 s"),
                                 (talks_plain, "TLS handshake with the Kafka broker at 127.0.0.1:.* failed")):
            settings = Settings(security_protocol="SSL", broker=f"127.0.0.1:{server.getsockname()[1]}",
                                client_timeout_seconds=1)
            started = time.monotonic()
            with pytest.raises(KafkaUnavailable, match=expected):
                kafka_clients.admin_client(settings)
            assert time.monotonic() - started < 5
    for conn in held:
        conn.close()
