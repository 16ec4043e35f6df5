"""The Docker files, checked without a Docker daemon (none on the development machines):
what the image and the compose files promise (a non-root user, RocksDB from the extra, the
data directory a volume the user owns, a healthcheck on the worker's ``/healthz`` that runs
here against a real HTTP server, the broker version of ``carepath broker up``, a Kafka data
volume, nothing published beyond 127.0.0.1, only settings that exist), ``docker compose
config`` when a compose client is installed, and the secrets of the SASL_SSL example: a real
TLS handshake with the broker's keystore, and a ``client.env`` the settings accept.

Images are not built here: that needs a daemon. docs/operations.md#docker says how."""

from __future__ import annotations

import http.server
import json
import re
import shlex
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents import compose_secrets
from agents.broker import DEFAULT_KAFKA_VERSION
from agents.broker_secure import read_env
from agents.healthcheck import runs_web, target
from agents.security import ssl_context
from agents.settings import LocalSettings, Settings
from agents.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = [ROOT / "docker-compose.yml", ROOT / "docker-compose.secure.yml"]
OPERATIONS = ROOT / "docs" / "operations.md"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def env_of_image() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in instructions():
        if word == "ENV":
            env |= dict(part.split("=", 1) for part in shlex.split(rest))
    return env


def test_the_image_runs_as_its_own_user_not_root() -> None:
    steps = instructions()
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    last_user = max(i for i, (word, _) in enumerate(steps) if word == "USER")
    entry = [i for i, (word, _) in enumerate(steps) if word in ("ENTRYPOINT", "CMD")]
    assert entry and min(entry) > last_user, "the command runs as the user"
    adds = " ".join(rest for word, rest in steps if word == "RUN")
    assert "useradd --system" in adds and users[-1] in adds


def test_rocksdb_from_the_extra_and_the_data_directory_a_volume_the_user_owns() -> None:
    steps = instructions()
    runs = " ".join(rest for word, rest in steps if word == "RUN")
    assert 'pip install --no-cache-dir ".[rocksdb]"' in runs
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("rocksdict") for d in extras["optional-dependencies"]["rocksdb"])
    env = env_of_image()
    assert env["CAREPATH_STORE"] == "rocksdb://"
    datadir = env["CAREPATH_DATADIR"]
    volumes = [json.loads(rest) for word, rest in steps if word == "VOLUME"]
    assert [datadir] in volumes
    user = [rest for word, rest in steps if word == "USER"][-1]
    assert re.search(rf"chown {user}:{user} [^&]*{re.escape(datadir)}(\s|$)", runs), runs


def _healthcheck_command() -> list[str]:
    [check] = [rest for word, rest in instructions() if word == "HEALTHCHECK"]
    command = json.loads(check.split(" CMD ", 1)[1])
    assert "curl" not in check and "wget" not in check  # not in slim images
    return [str(c) for c in command]


@pytest.fixture
def health_server() -> Iterator[tuple[int, list[int]]]:
    """A real HTTP server whose ``/healthz`` answers with the status at the end of the list."""
    statuses = [200]
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            code = statuses[-1] if self.path == "/healthz" else 404
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], statuses
    finally:
        server.shutdown()
        server.server_close()
    assert seen and set(seen) == {"/healthz"}


def test_the_image_healthcheck_asks_healthz_on_the_web_port(
    health_server: tuple[int, list[int]],
) -> None:
    port, statuses = health_server
    command = _healthcheck_command()
    assert command[0] == "python"
    run = [sys.executable, *command[1:]]
    root = Path(__file__).parents[2]
    env = {"CAREPATH_WEB_PORT": str(port), "PATH": "/usr/bin:/bin"}
    check = dict(env=env, capture_output=True, timeout=30, cwd=root)
    assert subprocess.run(run, **check).returncode == 0  # type: ignore[call-overload]
    statuses.append(503)
    assert subprocess.run(run, **check).returncode != 0  # type: ignore[call-overload]
    with socket.socket() as s:  # nothing listening: unhealthy too
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    env["CAREPATH_WEB_PORT"] = str(free)
    assert subprocess.run(run, **check).returncode != 0  # type: ignore[call-overload]
    assert env_of_image()["CAREPATH_WEB_PORT"] == str(Settings(_env_file=None).web_port)  # type: ignore[call-arg]


def _ports(text: str) -> list[str]:
    """Every entry of every ``ports:`` list of a compose file."""
    out, indent = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "ports:":
            indent = len(line) - len(line.lstrip())
        elif indent is not None and stripped.startswith("- "):
            out.append(stripped[2:].split("#")[0].strip().strip("\"'"))
        elif indent is not None and stripped and len(line) - len(line.lstrip()) <= indent:
            indent = None
    return out


@pytest.mark.parametrize("path", COMPOSE, ids=lambda p: p.name)
def test_compose_kafka_version_data_volume_and_loopback_ports(path: Path) -> None:
    text = path.read_text()
    images = re.findall(r"image:\s*(\S+)", text)
    assert images and set(images) == {f"apache/kafka:{DEFAULT_KAFKA_VERSION}"}
    assert "KAFKA_LOG_DIRS: /var/lib/kafka/data" in text
    assert "- kafka-data:/var/lib/kafka/data" in text
    assert re.search(r"^volumes:\n(?:  .*\n)*  kafka-data: \{\}", text, re.M)
    ports = _ports(text)
    assert ports and all(p.startswith("127.0.0.1:") for p in ports), ports
    assert "healthcheck:" in text.split("  worker:", 1)[1].split("\n  web:", 1)[0]
    assert "/healthz" in text.split("  worker:", 1)[1].split("\n  web:", 1)[0]


def test_every_setting_the_docker_files_name_exists() -> None:
    fields = {f"CAREPATH_{n.upper()}" for n in Settings.model_fields}
    fields |= {f"CAREPATH_{n.upper()}" for n in LocalSettings.model_fields}
    fields |= {f"CAREPATH_WEB_{n.upper()}" for n in WebSettings.model_fields}
    named = set()
    for path in [DOCKERFILE, *COMPOSE, ROOT / "agents" / "compose_secrets.py", OPERATIONS]:
        named |= set(re.findall(r"CAREPATH_[A-Z_]*[A-Z]", path.read_text()))
    assert named and named <= fields, sorted(named - fields)


def test_the_operations_guide_gives_the_topic_limits_the_worker_sets() -> None:
    from agents.worker import COMPACT, topic_plan

    s = Settings(_env_file=None)  # type: ignore[call-arg]
    _, configs = topic_plan(s)
    text = OPERATIONS.read_text()
    for topic, config in configs.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{topic}` "))
        for value in config.values():
            shown = f"{int(value):,}" if value.isdigit() else f"cleanup.policy={value}"
            assert shown in row, (topic, value, row)
    assert COMPACT == {"cleanup.policy": "compact"}


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.mark.parametrize("path", COMPOSE, ids=lambda p: p.name)
def test_compose_config_accepts_the_files(path: Path) -> None:
    client = _compose_client()
    if client is None:
        pytest.fail("no docker compose client: make deps installs one (scripts/ensure-compose.sh)")
    run = subprocess.run(
        [*client, "-f", str(path), "config", "-q"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr


def test_compose_secrets_make_a_broker_keystore_a_client_can_verify(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        pkcs12,
    )

    kafka, client = tmp_path / "kafka", tmp_path / "client"
    made = ["--kafka", str(kafka), "--client", str(client), "--mounted", str(client)]
    assert compose_secrets.main([*made, "--broker", "kafka:9093"]) == 0
    password = (kafka / compose_secrets.KEYSTORE_CREDS).read_bytes()
    key, cert, chain = pkcs12.load_key_and_certificates(
        (kafka / compose_secrets.KEYSTORE).read_bytes(), password
    )
    assert key is not None and cert is not None and len(chain) == 1
    assert "ScramLoginModule required" in (kafka / compose_secrets.JAAS).read_text()
    env = read_env(client / compose_secrets.CLIENT_ENV)
    assert stat.S_IMODE((client / compose_secrets.CLIENT_ENV).stat().st_mode) == 0o640
    values = {k.removeprefix("CAREPATH_").lower(): v for k, v in env.items()}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]
    assert settings.security_protocol == "SASL_SSL" and settings.sasl_mechanism == "SCRAM-SHA-512"
    assert settings.bootstrap == "kafka:9093"
    pem = tmp_path / "server.pem"
    pem.write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        + cert.public_bytes(Encoding.PEM)
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(pem)
    client_ctx = ssl_context(settings)
    assert client_ctx is not None
    for host in ("kafka", "localhost"):  # the compose network's name and this machine's
        _handshake(server_ctx, client_ctx, host)
    with pytest.raises(ssl.SSLCertVerificationError):  # the client does verify the name
        _handshake(server_ctx, client_ctx, "kafka.example.org")
    before = (client / compose_secrets.CLIENT_ENV).read_bytes()
    assert compose_secrets.main(["--kafka", str(kafka), "--client", str(client)]) == 0
    assert (client / compose_secrets.CLIENT_ENV).read_bytes() == before  # kept, not replaced


def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, host: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        errors: list[BaseException] = []

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except BaseException as e:  # reported by the test thread
                errors.append(e)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        with raw, client_ctx.wrap_socket(raw, server_hostname=host) as tls:
            assert tls.recv(2) == b"ok"
        thread.join(10)
        assert not errors, errors


@pytest.mark.parametrize(
    ("cmdline", "web"),
    [
        (["/usr/local/bin/python", "/usr/local/bin/carepath", "web"], True),
        (["/usr/local/bin/python", "/usr/local/bin/carepath", "worker"], False),
        (["/usr/local/bin/carepath", "web", "--listen", "0.0.0.0:9000"], True),
        (["/usr/local/bin/python", "/usr/local/bin/carepath"], False),  # CMD given nothing
        (["/sbin/init"], False),
        ([], False),
    ],
)
def test_the_healthcheck_asks_the_service_the_container_runs(cmdline: list[str], web: bool) -> None:
    """``docker run IMAGE web`` is checked on the web service's port (CAREPATH_WEB_LISTEN),
    the worker on CAREPATH_WEB_PORT (a web container was unhealthy before: docs/operations.md
    "The image built and run")."""
    assert runs_web(cmdline) is web
    url = target(cmdline, 6066, "0.0.0.0:8080")
    assert url == f"http://127.0.0.1:{8080 if web else 6066}/healthz"
    assert (target(cmdline, None, "0.0.0.0:9000") is None) is not web  # worker's port off
