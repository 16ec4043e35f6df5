"""Connection security without a broker: settings validation, the keyword arguments of each
client library (aiokafka, kafka-python, Faust), the one-line explanations of a failed
connection, the secure local broker's TLS material and config, and the CLI's clear failures
(issue 12). The end-to-end run over a real SASL_SSL broker is
tests/integration/test_secure_broker.py."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agents import broker, broker_secure, security
from agents.cli import main
from agents.settings import Settings, settings_problem

PASSWORD = "hunter2-not-a-real-one"


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def _no_carepath_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CAREPATH_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A secure broker dir's TLS material (CA and broker key + chain)."""
    return broker_secure.write_tls(tmp_path_factory.mktemp("tls"))


def _sasl_ssl(tls: Path, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "security_protocol": "SASL_SSL",
        "sasl_username": "carepath",
        "sasl_password": PASSWORD,
        "ssl_cafile": tls / broker_secure.CA_FILE,
    }
    return _settings(**(base | kw))


# -- settings ----------------------------------------------------------------------------------
def test_plaintext_by_default_and_every_builder_is_empty() -> None:
    s = _settings()
    assert s.security_protocol == "PLAINTEXT"
    assert security.aiokafka_kwargs(s) == {}
    assert security.kafka_python_kwargs(s) == {}
    assert security.faust_kwargs(s) == {}
    assert security.ssl_context(s) is None
    assert security.client_kwargs(security.connection(s)) == {"bootstrap_servers": s.bootstrap}


def test_names_are_normalized() -> None:
    s = _settings(
        security_protocol="sasl-ssl",
        sasl_mechanism="scram_sha_256",
        sasl_username="u",
        sasl_password="p",
    )
    assert (s.security_protocol, s.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-256")


@pytest.mark.parametrize(
    ("kw", "named"),
    [
        ({"security_protocol": "SASL_SSL"}, "needs CAREPATH_SASL_USERNAME"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u"}, "CAREPATH_SASL_PASSWORD"),
        ({"sasl_username": "u", "sasl_password": PASSWORD}, "does not use them"),
        ({"security_protocol": "TLS"}, "CAREPATH_SECURITY_PROTOCOL"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"}, "SASL_MECHANISM"),
        ({"security_protocol": "SSL", "ssl_cafile": "/no/such/ca.pem"}, "CAREPATH_SSL_CAFILE"),
    ],
)
def test_inconsistent_settings_are_refused_naming_the_variable(
    kw: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationError) as e:
        _settings(**kw)
    line = settings_problem(e.value)
    assert named in line
    assert "\n" not in line
    assert PASSWORD not in line  # the input of a failed check is never echoed


def test_tls_files_need_a_tls_protocol_and_the_key_needs_its_certificate(tls: Path) -> None:
    ca = tls / broker_secure.CA_FILE
    with pytest.raises(ValidationError, match="has no TLS"):
        _settings(ssl_cafile=ca)
    with pytest.raises(ValidationError, match="needs CAREPATH_SSL_CERTFILE"):
        _settings(security_protocol="SSL", ssl_keyfile=ca)


def test_empty_variables_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREPATH_SSL_CAFILE", "")
    monkeypatch.setenv("CAREPATH_SASL_USERNAME", "")
    assert Settings().ssl_cafile is None
    assert Settings().sasl_username is None


# -- keyword builders --------------------------------------------------------------------------
def test_sasl_ssl_keywords_for_aiokafka_and_kafka_python(tls: Path) -> None:
    s = _sasl_ssl(tls)
    aio = security.aiokafka_kwargs(s)
    ctx = aio.pop("ssl_context")
    assert aio == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "carepath",
        "sasl_plain_password": PASSWORD,
    }
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    kp = security.kafka_python_kwargs(s)
    assert kp["security_protocol"] == "SASL_SSL"
    assert kp["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kp["sasl_plain_password"] == PASSWORD
    assert kp["ssl_cafile"] == str(tls / broker_secure.CA_FILE)
    assert kp["ssl_check_hostname"] is True


def test_sasl_plaintext_has_no_tls_and_ssl_has_no_sasl(tls: Path) -> None:
    plain = _settings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password=PASSWORD,
    )
    assert "ssl_context" not in security.aiokafka_kwargs(plain)
    assert "ssl_cafile" not in security.kafka_python_kwargs(plain)
    assert security.aiokafka_kwargs(plain)["sasl_mechanism"] == "PLAIN"
    tls_only = _settings(security_protocol="SSL", ssl_cafile=tls / broker_secure.CA_FILE)
    aio = security.aiokafka_kwargs(tls_only)
    assert aio["security_protocol"] == "SSL" and "sasl_mechanism" not in aio
    assert "sasl_plain_username" not in security.kafka_python_kwargs(tls_only)


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT", "SSL"])
def test_faust_hands_aiokafka_the_same_keywords(tls: Path, protocol: str) -> None:
    """faust-streaming 0.15.3 turns ``broker_credentials`` into aiokafka keywords with
    ``credentials_to_aiokafka_auth`` (consumer, producer, topic creation): they must be ours."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    if protocol == "SSL":
        s = _settings(security_protocol="SSL", ssl_cafile=tls / broker_secure.CA_FILE)
    elif protocol == "SASL_SSL":
        s = _sasl_ssl(tls, sasl_mechanism="SCRAM-SHA-256")
    else:
        s = _settings(security_protocol=protocol, sasl_username="carepath", sasl_password=PASSWORD)
    faust_side = credentials_to_aiokafka_auth(security.faust_kwargs(s)["broker_credentials"])
    ours = security.aiokafka_kwargs(s)
    assert isinstance(faust_side.pop("ssl_context", None), ssl.SSLContext | None)
    ours.pop("ssl_context", None)
    assert faust_side == ours


def test_faust_app_settings_carry_the_credentials(tls: Path) -> None:
    from agents.app import faust_settings

    creds = faust_settings(_sasl_ssl(tls))["broker_credentials"]
    assert creds.protocol.value == "SASL_SSL"
    assert creds.mechanism.value == "SCRAM-SHA-512"
    assert "broker_credentials" not in faust_settings(_settings())


def test_connection_and_child_env(tls: Path) -> None:
    s = _sasl_ssl(tls, broker="kafka://localhost:1;localhost:2")
    conn = security.connection(s)
    assert str(conn) == "localhost:1,localhost:2"
    assert PASSWORD not in repr(conn)
    assert security.client_kwargs(conn)["bootstrap_servers"] == "localhost:1,localhost:2"
    assert security.aio_client_kwargs(conn)["security_protocol"] == "SASL_SSL"
    assert security.client_kwargs("h:1") == {"bootstrap_servers": "h:1"}
    assert security.aio_client_kwargs("h:1") == {"bootstrap_servers": "h:1"}
    assert security.child_env("h:1") == {}
    env = security.child_env(conn)
    assert env["CAREPATH_SASL_PASSWORD"] == PASSWORD
    again = _settings(**{k.removeprefix("CAREPATH_").lower(): v for k, v in env.items()})
    assert security.kafka_python_kwargs(again) == security.kafka_python_kwargs(s)


# -- one-line explanations -----------------------------------------------------------------
def test_explanations_are_one_line_and_tell_the_cause_apart(tls: Path) -> None:
    from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed

    s = _sasl_ssl(tls)
    auth = security.explain(SaslAuthenticationFailed("invalid credentials"), s)
    assert isinstance(auth, security.AuthenticationFailed)
    assert "authentication failed" in str(auth) and "'carepath'" in str(auth)
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert "TLS handshake" in str(security.explain(verify, s))
    closed = security.explain(KafkaConnectionError("Connection at h:1 closed"), s)
    assert "CAREPATH_SECURITY_PROTOCOL=SASL_SSL" in str(closed)
    refused = security.explain(ConnectionRefusedError(111, "refused"), s)
    assert isinstance(refused, security.BrokerUnreachable)
    for problem in (auth, closed, refused):
        assert "\n" not in str(problem) and PASSWORD not in str(problem)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


def test_check_connection_fails_fast_without_a_broker(silent_port: int) -> None:
    s = _settings(broker=f"kafka://127.0.0.1:{_closed_port()}")
    with pytest.raises(security.BrokerUnreachable, match="no Kafka broker answers"):
        security.check_connection(s, timeout=2)
    started = time.monotonic()
    with pytest.raises(security.BrokerUnreachable):
        security.check_connection(_settings(broker=f"kafka://127.0.0.1:{silent_port}"), 1.5)
    assert time.monotonic() - started < 5


# -- the secure local broker's material ----------------------------------------------------
def _tls_server(tls: Path) -> tuple[socket.socket, threading.Thread]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls / broker_secure.KEYSTORE_FILE)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def serve() -> None:
        for _ in range(2):
            conn, _addr = server.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls_conn:
                    tls_conn.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_broker_certificate_verifies_for_localhost_against_the_ca(tls: Path) -> None:
    """What a client does: verify the broker's chain and host name with CAREPATH_SSL_CAFILE."""
    server, thread = _tls_server(tls)
    port = server.getsockname()[1]
    ctx = security.ssl_context(_sasl_ssl(tls))
    assert ctx is not None
    try:
        for name in ("localhost", "127.0.0.1"):
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                ctx.wrap_socket(raw, server_hostname=name) as conn,
            ):
                assert conn.recv(2) == b"ok"
    finally:
        thread.join(5)
        server.close()
    assert stat.S_IMODE((tls / broker_secure.KEYSTORE_FILE).stat().st_mode) == 0o600


def test_system_cas_do_not_trust_the_local_ca(tls: Path) -> None:
    server, thread = _tls_server(tls)
    port = server.getsockname()[1]
    ctx = security.ssl_context(_settings(security_protocol="SSL"))  # no CAREPATH_SSL_CAFILE
    assert ctx is not None
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            ctx.wrap_socket(raw, server_hostname="localhost")
    finally:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # let the server's second accept return
        thread.join(5)
        server.close()


def test_secure_server_properties(tls: Path) -> None:
    listeners = broker_secure.listener_properties(19092, 19094, tls)
    props = broker.server_properties("4.4.0", 19092, 19093, Path("/x/data"), listeners)
    lines = set(props.splitlines())
    assert (
        "listeners=SASL_SSL://localhost:19092,INTERNAL://127.0.0.1:19094,"
        "CONTROLLER://localhost:19093" in lines
    )
    assert "inter.broker.listener.name=INTERNAL" in lines
    assert (
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,"
        "INTERNAL:PLAINTEXT" in lines
    )
    assert "sasl.enabled.mechanisms=SCRAM-SHA-512" in lines
    assert "ssl.keystore.type=PEM" in lines and "ssl.truststore.type=PEM" in lines
    assert f"ssl.keystore.location={tls / broker_secure.KEYSTORE_FILE}" in lines
    assert "PLAINTEXT://localhost:19092" not in props
    plain = broker.server_properties("4.4.0", 19092, 19093, Path("/x/data"))
    assert "listeners=PLAINTEXT://localhost:19092,CONTROLLER://localhost:19093" in plain
    assert "sasl" not in plain


def test_ports_of_plain_and_secure_brokers() -> None:
    assert broker._ports({"port": 1, "controller_port": 2}) == [1, 2]
    secure = {"port": 1, "controller_port": 2, "secure": True, "internal_port": 3}
    assert broker._ports(secure) == [1, 2, 3]
    assert broker._probe_address(secure) == "127.0.0.1:3"
    assert broker._probe_address({"port": 1}) == "localhost:1"


def test_scram_user_and_client_env(tmp_path: Path, tls: Path) -> None:
    creds = broker_secure.new_credentials()
    assert broker_secure.scram_format_args(creds) == [
        "--add-scram",
        f"SCRAM-SHA-512=[name=carepath,password={creds['password']}]",
    ]
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "ca.pem").write_bytes((tls / "ca.pem").read_bytes())
    path = broker_secure.write_client_env(tmp_path, "localhost:19092", creds)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    env = broker_secure.read_env(path)
    assert env["CAREPATH_BROKER"] == "kafka://localhost:19092"
    s = _settings(**{k.removeprefix("CAREPATH_").lower(): v for k, v in env.items()})
    assert (s.security_protocol, s.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")
    assert s.sasl_password is not None
    assert s.sasl_password.get_secret_value() == creds["password"]


# -- the CLI fails clearly -----------------------------------------------------------------
def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"carepath {version('carepath')}"


@pytest.mark.parametrize("argv", [["tasks"], ["worker"]])
def test_no_broker_is_one_line_and_exit_2_within_15_s(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAREPATH_BROKER", f"kafka://localhost:{_closed_port()}")
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < 15
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("worker: ")]
    assert len(err) == 1 and "no Kafka broker answers" in err[0], err


def test_bad_security_settings_are_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAREPATH_SASL_PASSWORD", PASSWORD)  # no SASL protocol: refused
    assert main(["tasks"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CAREPATH_SECURITY_PROTOCOL" in err
    assert PASSWORD not in err


def test_worker_creates_its_data_directory_with_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agents import worker

    class Stop(Exception):
        pass

    def stop(*_: object) -> None:
        raise Stop

    monkeypatch.setattr(worker, "check_connection", stop)
    datadir = tmp_path / "fresh" / "checkout" / ".carepath" / "worker"
    with pytest.raises(Stop):
        worker.run_worker(_settings(datadir=datadir))
    assert datadir.is_dir()
