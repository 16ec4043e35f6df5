"""A real single-node Apache Kafka broker (KRaft, broker + controller), without Docker.

The broker's jars come from Maven Central through ``mvn`` (cached per Kafka version), the
JVM runs detached from the caller, and everything it needs lives in one *broker dir*:

- ``server.properties``, ``log4j*.properties``: the generated config;
- ``data/``: the KRaft metadata log and topic partitions (``log.dirs``);
- ``broker.json``: version, ports and cluster id (kept so a stopped broker can come back on
  the same ports with the same data);
- ``broker.pid``, ``bootstrap.txt``: the JVM's pid and ``localhost:PORT`` while it runs;
- ``broker.log``: the JVM's stdout and stderr (Kafka's own log);
- with ``--secure`` (:mod:`agents.broker_secure`): ``tls/`` (CA and broker certificate made at
  start) and ``client.env`` (the ``CAREPATH_*`` settings of the SASL_SSL client user).

Command line: ``carepath broker up|down|status|stop-keep|start|restart|fetch`` (also
``python -m agents.broker``): :func:`add_arguments` and :func:`run`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from string import Template
from typing import Any

DEFAULT_KAFKA_VERSION = "4.4.0"

# Logging backends that the kafka_2.13 POM leaves out (the release tarball adds them by hand).
# Every kafka_2.13 POM from 3.9 to 4.4 pins slf4j-api 1.7.36, so the binding must be an SLF4J 1.x
# one: slf4j-reload4j for 3.x, log4j-slf4j-impl (not log4j-slf4j2-impl) for 4.x.
RELOAD4J_VERSION = "1.2.25"
SLF4J_VERSION = "1.7.36"
LOG4J2_VERSION = "2.25.5"
DEPENDENCY_PLUGIN_VERSION = "3.8.1"

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 20.0
JVM_OPTS = (
    "-Xmx512m",
    "-Xms128m",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
)

PROPS_FILE = "server.properties"
STATE_FILE = "broker.json"
PID_FILE = "broker.pid"
ADDR_FILE = "bootstrap.txt"
LOG_FILE = "broker.log"
DATA_DIR = "data"
_LOCK_FILE = ".broker.lock"
_COMPLETE_MARKER = ".complete"

# Popen objects of brokers started by this process, so they get reaped (no zombies, no
# "subprocess still running" ResourceWarning) when this process stops them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class BrokerError(RuntimeError):
    """The broker could not be fetched, started or stopped."""


# ---------------------------------------------------------------------------------------------
# Locations and small helpers


def default_dir() -> Path:
    """carepath's home: ``$CAREPATH_HOME``, else ``${XDG_CACHE_HOME:-~/.cache}/carepath``."""
    from agents.settings import LocalSettings

    if home := LocalSettings().home:
        return home.expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "carepath"


def default_broker_dir() -> Path:
    """The broker dir used by the command line when ``--dir`` is not given."""
    return default_dir() / "broker"


def kafka_version() -> str:
    """The Kafka version of a local broker: ``$CAREPATH_KAFKA_VERSION``, else the default."""
    from agents.settings import LocalSettings

    return LocalSettings().kafka_version or DEFAULT_KAFKA_VERSION


def jar_cache_dir() -> Path:
    """Where :func:`fetch_jars` keeps one ``<version>/lib`` folder per Kafka version."""
    return default_dir() / "kafka"


def _major(version: str) -> int:
    try:
        return int(version.split(".", 1)[0])
    except ValueError as exc:
        raise BrokerError(f"not a Kafka version: {version!r}") from exc


def _data_text(name: str) -> str:
    return (Path(__file__).with_name("broker_data") / name).read_text(encoding="utf-8")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so two processes never fetch or start the same thing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _which(tool: str, hint: str) -> str:
    found = shutil.which(tool)
    if found is None and tool == "java" and (java_home := os.environ.get("JAVA_HOME")):
        candidate = Path(java_home) / "bin" / "java"
        found = str(candidate) if candidate.exists() else None
    if found is None:
        raise BrokerError(f"`{tool}` not found on PATH: {hint}")
    return found


def _log(message: str) -> None:
    print(f"carepath broker: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Jars


def _logging_deps(version: str) -> str:
    if _major(version) >= 4:
        deps = [
            ("org.apache.logging.log4j", "log4j-api", LOG4J2_VERSION),
            ("org.apache.logging.log4j", "log4j-core", LOG4J2_VERSION),
            ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J2_VERSION),
        ]
    else:
        deps = [
            ("ch.qos.reload4j", "reload4j", RELOAD4J_VERSION),
            ("org.slf4j", "slf4j-reload4j", SLF4J_VERSION),
        ]
    return "\n".join(
        "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId>"
        "<version>{}</version></dependency>".format(*dep)
        for dep in deps
    )


def pom_xml(version: str) -> str:
    """The throwaway POM that resolves a Kafka broker's runtime jars."""
    return Template(_data_text("pom.xml.tmpl")).substitute(
        kafka_version=version,
        logging_deps=_logging_deps(version),
        dependency_plugin_version=DEPENDENCY_PLUGIN_VERSION,
    )


def fetch_jars(version: str, cache: Path) -> Path:
    """Download the jars of Kafka ``version`` into ``cache/<version>/lib`` once; return that dir."""
    dest = cache / version
    lib = dest / "lib"
    marker = dest / _COMPLETE_MARKER
    if marker.exists():
        return lib
    with _locked(dest / ".fetch.lock"):
        if marker.exists():
            return lib
        mvn = _which("mvn", "Maven is needed once per Kafka version (apt-get install maven)")
        shutil.rmtree(lib, ignore_errors=True)
        pom = dest / "pom.xml"
        pom.write_text(pom_xml(version), encoding="utf-8")
        _log(f"fetching Apache Kafka {version} jars from Maven Central into {lib} (first use)")
        started = time.monotonic()
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={lib}",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        jars = list(lib.glob("*.jar")) if lib.is_dir() else []
        if result.returncode != 0 or not jars:
            output = (result.stdout + result.stderr).strip()[-4000:]
            raise BrokerError(
                f"mvn could not fetch Kafka {version} (exit {result.returncode}):\n{output}"
            )
        marker.write_text(f"{len(jars)} jars\n", encoding="utf-8")
        _log(f"fetched {len(jars)} jars in {time.monotonic() - started:.1f} s")
    return lib


# ---------------------------------------------------------------------------------------------
# Config and state


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    """Whether ``port`` can be listened on; like the JVM, ignore TIME_WAIT left by a kill."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _cluster_id() -> str:
    """A Kafka Uuid in its base64 form, as ``kafka-storage random-uuid`` prints it."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def server_properties(
    version: str,
    port: int,
    controller_port: int,
    log_dirs: Path,
    listeners: dict[str, str] | None = None,
) -> str:
    """``server.properties`` for a single combined node listening on loopback only.

    ``listeners``: the client and inter-broker listeners and their security settings
    (:func:`agents.broker_secure.listener_properties`); default one PLAINTEXT listener."""
    plain = {
        "listeners": f"PLAINTEXT://localhost:{port}",
        "advertised": f"PLAINTEXT://localhost:{port}",
        "inter_broker": "PLAINTEXT",
        "protocol_map": "PLAINTEXT:PLAINTEXT",
        "security": "",
    }
    if _major(version) >= 4:
        # Dynamic quorum (KIP-853), the 4.x default; storage is formatted with --standalone.
        quorum = f"controller.quorum.bootstrap.servers=localhost:{controller_port}"
        advertised_controller = f",CONTROLLER://localhost:{controller_port}"
        extra = (
            "share.coordinator.state.topic.replication.factor=1\n"
            "share.coordinator.state.topic.min.isr=1\n"
        )
    else:
        quorum = f"controller.quorum.voters=1@localhost:{controller_port}"
        advertised_controller = ""
        extra = ""
    return Template(_data_text("server.properties.tmpl")).substitute(
        kafka_version=version,
        port=port,
        controller_port=controller_port,
        log_dirs=log_dirs,
        quorum=quorum,
        advertised_controller=advertised_controller,
        extra=extra,
        **(listeners or plain),
    )


def _log4j_file(version: str) -> str:
    return "log4j2.properties" if _major(version) >= 4 else "log4j.properties"


def _java_cmd(directory: Path, state: dict[str, Any], main: str, *args: str) -> list[str]:
    version = state["version"]
    log4j = directory / _log4j_file(version)
    if _major(version) >= 4:
        log_opt = f"-Dlog4j2.configurationFile={log4j}"
    else:
        log_opt = f"-Dlog4j.configuration=file:{log4j}"
    java = _which("java", "the broker needs a Java 17+ runtime (apt-get install openjdk-17-jre)")
    classpath = str(Path(state["lib"]) / "*")
    return [
        java,
        *JVM_OPTS,
        f"-Dkafka.logs.dir={directory / 'logs'}",
        log_opt,
        "-cp",
        classpath,
        main,
        *args,
    ]


def _read_state(directory: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state


def _address(state: dict[str, Any]) -> str:
    return f"localhost:{state['port']}"


def _probe_address(state: dict[str, Any]) -> str:
    """Where the launcher asks whether the broker answers: the client listener, or for a
    secure broker its PLAINTEXT inter-broker listener on loopback."""
    if state.get("secure"):
        return f"127.0.0.1:{state['internal_port']}"
    return _address(state)


def _free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = _free_port()
        if port not in ports:
            ports.append(port)
    return ports


def _prepare(directory: Path, version: str, secure: bool = False) -> dict[str, Any]:
    """Fetch jars, pick ports, write config and format the storage of a fresh broker dir."""
    lib = fetch_jars(version, jar_cache_dir())
    port, controller_port, internal_port = _free_ports(3)
    state: dict[str, Any] = {
        "version": version,
        "port": port,
        "controller_port": controller_port,
        "cluster_id": _cluster_id(),
        "lib": str(lib),
    }
    data = directory / DATA_DIR
    data.mkdir(parents=True)
    listeners, scram = None, []
    if secure:
        from agents import broker_secure

        state |= {"secure": True, "internal_port": internal_port}
        tls = broker_secure.write_tls(directory)
        listeners = broker_secure.listener_properties(port, internal_port, tls)
        creds = broker_secure.new_credentials()
        scram = broker_secure.scram_format_args(creds)
    props = server_properties(version, port, controller_port, data, listeners)
    (directory / PROPS_FILE).write_text(props, encoding="utf-8")
    log4j = _log4j_file(version)
    (directory / log4j).write_text(_data_text(log4j), encoding="utf-8")
    _format_storage(directory, state, scram)
    if secure:
        broker_secure.write_client_env(directory, _address(state), creds)
    (directory / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return state


def _format_storage(directory: Path, state: dict[str, Any], extra: Sequence[str] = ()) -> None:
    args = ["format", "-t", state["cluster_id"], "-c", str(directory / PROPS_FILE), *extra]
    if _major(state["version"]) >= 4:
        args.append("--standalone")
    cmd = _java_cmd(directory, state, "kafka.tools.StorageTool", *args)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=directory)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-4000:]
        for secret in extra:  # --add-scram carries the client's password
            output = output.replace(secret, "--add-scram ...")
        raise BrokerError(
            f"kafka.tools.StorageTool format failed (exit {result.returncode}):\n{output}"
        )


def _wipe(directory: Path) -> None:
    shutil.rmtree(directory / DATA_DIR, ignore_errors=True)
    shutil.rmtree(directory / "logs", ignore_errors=True)
    shutil.rmtree(directory / "tls", ignore_errors=True)
    names = (PROPS_FILE, STATE_FILE, PID_FILE, ADDR_FILE, "log4j.properties", "log4j2.properties")
    names += ("client.env",)
    for name in names:
        (directory / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Processes


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie still answers kill(0); /proc tells it apart (Linux only)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _is_our_broker(pid: int, directory: Path) -> bool:
    """True unless /proc shows that ``pid`` is some other program (pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    return b"kafka.Kafka" in cmdline and str(directory / PROPS_FILE).encode() in cmdline


def _running_pid(directory: Path) -> int | None:
    """The pid of this dir's broker JVM if it is running (answering or not)."""
    try:
        pid = int((directory / PID_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    if _alive(pid) and _is_our_broker(pid, directory):
        return pid
    return None


def _die_with_caller() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes Linux SIGTERM the child when its parent thread dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, called after
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return preexec


def _spawn(directory: Path, state: dict[str, Any], tie_to_caller: bool) -> int:
    cmd = _java_cmd(directory, state, "kafka.Kafka", str(directory / PROPS_FILE))
    preexec = _die_with_caller() if tie_to_caller else None
    with (directory / LOG_FILE).open("ab") as log:
        banner = f"\n===== carepath: starting Kafka {state['version']} at {time.ctime()}\n"
        log.write(banner.encode())
        log.flush()
        child = subprocess.Popen(
            cmd,
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,
        )
    _CHILDREN[child.pid] = child
    (directory / PID_FILE).write_text(f"{child.pid}\n", encoding="utf-8")
    return child.pid


def _terminate(pid: int, grace: float) -> None:
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                _CHILDREN.pop(pid, None)
                return
            time.sleep(0.1)
    raise BrokerError(f"broker process {pid} survived SIGKILL")


# ---------------------------------------------------------------------------------------------
# Readiness


def _tcp_open(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def answers(address: str, timeout: float = 5.0) -> bool:
    """True if a Kafka broker at ``host:port`` serves cluster metadata within ``timeout``."""
    if not _tcp_open(address, timeout):
        return False
    from kafka import KafkaAdminClient  # imported late: unit tests need no broker client

    millis = int(timeout * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=address,
            client_id="carepath-broker-probe",
            bootstrap_timeout_ms=millis,
            request_timeout_ms=millis,
        )
    except Exception:
        return False
    try:
        admin.list_topics()
    except Exception:
        return False
    finally:
        admin.close()
    return True


def _log_tail(directory: Path, lines: int = 25) -> str:
    try:
        text = (directory / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_ready(directory: Path, pid: int, state: dict[str, Any], timeout: float) -> None:
    address, probe = _address(state), _probe_address(state)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            (directory / PID_FILE).unlink(missing_ok=True)
            raise BrokerError(
                f"Kafka broker exited during startup; see {directory / LOG_FILE}:\n"
                f"{_log_tail(directory)}"
            )
        if answers(probe, timeout=min(5.0, max(deadline - time.monotonic(), 0.5))):
            (directory / ADDR_FILE).write_text(f"{address}\n", encoding="utf-8")
            return
        time.sleep(0.25)
    raise BrokerError(
        f"Kafka broker (pid {pid}) did not answer on {address} within {timeout:.0f} s; "
        f"see {directory / LOG_FILE}:\n{_log_tail(directory)}"
    )


def _ports(state: dict[str, Any]) -> list[int]:
    """Every port the broker listens on (a secure one has its inter-broker listener too)."""
    ports = [state["port"], state["controller_port"]]
    if state.get("secure"):
        ports.append(state["internal_port"])
    return ports


def _start(
    directory: Path, state: dict[str, Any], timeout: float, tie_to_caller: bool = False
) -> str:
    address = _address(state)
    busy = [p for p in _ports(state) if not _port_free(p)]
    if busy:
        raise BrokerError(
            f"port(s) {busy} of the broker in {directory} are used by another program"
        )
    pid = _spawn(directory, state, tie_to_caller)
    try:
        _wait_ready(directory, pid, state, timeout)
    except BrokerError:
        if _alive(pid):
            _terminate(pid, grace=5.0)
        (directory / PID_FILE).unlink(missing_ok=True)
        raise
    return address


# ---------------------------------------------------------------------------------------------
# Public API


def broker_status(directory: Path) -> str | None:
    """The bootstrap address of this dir's broker if it runs and answers, else None."""
    directory = directory.expanduser().resolve()
    state = _read_state(directory)
    if state is None or _running_pid(directory) is None:
        return None
    address = _address(state)
    return address if answers(_probe_address(state)) else None


def broker_up(
    directory: Path,
    version: str = DEFAULT_KAFKA_VERSION,
    timeout: float = START_TIMEOUT_S,
    tie_to_caller: bool = False,
    secure: bool = False,
) -> str:
    """Start (or find) the broker of ``directory``; return its ``localhost:PORT`` once it answers.

    ``secure``: clients get a SASL_SSL listener (SCRAM-SHA-512) and ``directory/client.env``
    (:mod:`agents.broker_secure`).

    A broker already running from this dir is reused. A stopped one of the same version whose
    ports are still free comes back with its data (see :func:`broker_stop_keep`); anything else
    left in the dir is wiped and a fresh broker is formatted.

    The broker outlives the caller unless ``tie_to_caller`` (Linux: it gets SIGTERM when the
    calling thread's process dies; meant for test sessions, so a killed run leaves no JVM).
    """
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory / _LOCK_FILE):
        state = _read_state(directory)
        pid = _running_pid(directory)
        if pid is not None and state is not None:
            if bool(state.get("secure")) != secure:
                kind = "secure" if state.get("secure") else "plaintext"
                raise BrokerError(
                    f"a {kind} broker already runs in {directory}; stop it first "
                    f"(carepath broker down --dir {directory}) or use another --dir"
                )
            if state["version"] != version:
                _log(f"a Kafka {state['version']} broker already runs in {directory}; reusing it")
            _wait_ready(directory, pid, state, timeout)
            return _address(state)
        if pid is not None:  # running but no state: cannot know its port, so stop it
            _terminate(pid, STOP_GRACE_S)
        reusable = (
            state is not None
            and state.get("version") == version
            and (directory / DATA_DIR / "meta.properties").exists()
            and (Path(state["lib"]).parent / _COMPLETE_MARKER).exists()
            and bool(state.get("secure")) == secure
            and (not secure or (directory / "client.env").exists())
            and all(_port_free(p) for p in _ports(state))
        )
        if state is not None and reusable:
            return _start(directory, state, timeout, tie_to_caller)
        if state is not None:
            _log(f"discarding the stopped broker's data in {directory}")
        _wipe(directory)
        (directory / LOG_FILE).unlink(missing_ok=True)
        return _start(directory, _prepare(directory, version, secure), timeout, tie_to_caller)


def broker_start_existing(
    directory: Path, timeout: float = START_TIMEOUT_S, tie_to_caller: bool = False
) -> str:
    """Start a stopped broker again with the same ports, config and data; return its address."""
    directory = directory.expanduser().resolve()
    with _locked(directory / _LOCK_FILE):
        state = _read_state(directory)
        if state is None or not (directory / DATA_DIR).is_dir():
            raise BrokerError(f"no broker was set up in {directory}; use broker_up")
        pid = _running_pid(directory)
        if pid is not None:
            _wait_ready(directory, pid, state, timeout)
            return _address(state)
        return _start(directory, state, timeout, tie_to_caller)


def broker_down(directory: Path, keep_data: bool = False, grace: float = STOP_GRACE_S) -> bool:
    """Stop this dir's broker (SIGTERM, SIGKILL after ``grace`` s); True if one was running.

    Unless ``keep_data``, its data and config are removed too (``broker.log`` stays).
    """
    directory = directory.expanduser().resolve()
    if not directory.exists():
        return False
    with _locked(directory / _LOCK_FILE):
        pid = _running_pid(directory)
        if pid is not None:
            _terminate(pid, grace)
        (directory / PID_FILE).unlink(missing_ok=True)
        (directory / ADDR_FILE).unlink(missing_ok=True)
        if not keep_data:
            _wipe(directory)
    return pid is not None


def broker_stop_keep(directory: Path, grace: float = STOP_GRACE_S) -> bool:
    """Stop the broker but keep its data, config and ports for :func:`broker_start_existing`."""
    return broker_down(directory, keep_data=True, grace=grace)


def broker_restart(
    directory: Path, timeout: float = START_TIMEOUT_S, tie_to_caller: bool = False
) -> str:
    """Stop and start this dir's broker on the same ports with the same data."""
    broker_stop_keep(directory)
    return broker_start_existing(directory, timeout=timeout, tie_to_caller=tie_to_caller)


# ---------------------------------------------------------------------------------------------
# Command line: ``carepath broker ...``; ``python -m agents.broker ...`` is the same command

ACTIONS = ("up", "down", "status", "stop-keep", "start", "restart", "fetch")
_STOPS = ("down", "stop-keep", "restart")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of ``carepath broker`` (the one parser of the broker command)."""
    parser.add_argument(
        "action",
        choices=ACTIONS,
        help="up: start or reuse (prints the bootstrap address last); down: stop and wipe; "
        "status; stop-keep/start/restart: keep data and ports; fetch: only download the jars",
    )
    parser.add_argument(
        "--version",
        help=f"Kafka version for up/fetch (default: CAREPATH_KAFKA_VERSION, else "
        f"{DEFAULT_KAFKA_VERSION})",
    )
    parser.add_argument("--dir", type=Path, help="broker directory (default: CAREPATH_HOME/broker)")
    parser.add_argument(
        "--secure",
        action="store_true",
        help="up: a SASL_SSL (SCRAM-SHA-512) listener for clients, a CA and broker certificate "
        "made at start, a client user, and DIR/client.env with the client's CAREPATH_* settings",
    )
    return parser


def _external(args: argparse.Namespace) -> int | None:
    """With ``CAREPATH_BROKER`` naming a broker that is not ours and no ``--dir``, the
    command uses that broker (checked, its address printed) and starts or stops none."""
    from agents.settings import LocalSettings

    external = LocalSettings().broker
    if not external or args.dir or args.action == "fetch":
        return None
    address = external.split("://", 1)[-1]
    if broker_status(default_broker_dir()) == address:
        return None  # ours: the command applies to it
    if args.action in _STOPS:
        print(f"CAREPATH_BROKER={external} is not ours to stop", file=sys.stderr)
        return 0
    from agents.security import ConnectionProblem, check_connection
    from agents.settings import Settings

    try:
        check_connection(Settings())
    except ConnectionProblem as e:
        print(f"CAREPATH_BROKER={external}: {e}", file=sys.stderr)
        return 1
    print(f"using CAREPATH_BROKER={external}", file=sys.stderr)
    print(address)
    return 0


def run(args: argparse.Namespace) -> int:
    """``carepath broker ACTION [--version V] [--dir D] [--secure]`` (:func:`add_arguments`)."""
    external = _external(args)
    if external is not None:
        return external
    directory: Path = args.dir or default_broker_dir()
    version: str = args.version or kafka_version()
    try:
        if args.action == "up":
            address = broker_up(directory, version, secure=args.secure)
            if args.secure:
                env = directory.expanduser().resolve() / "client.env"
                _log(f"client settings in {env} (set -a; . {env}; set +a)")
            print(address)
        elif args.action == "start":
            print(broker_start_existing(directory))
        elif args.action == "restart":
            print(broker_restart(directory))
        elif args.action in ("down", "stop-keep"):
            stopped = broker_down(directory, keep_data=args.action == "stop-keep")
            print("stopped" if stopped else "not running")
        elif args.action == "fetch":
            print(fetch_jars(version, jar_cache_dir()))
        else:
            address = broker_status(directory)
            print(address or "not running")
            return 0 if address else 1
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agents.broker ARGS``: ``carepath broker ARGS``, through the same parser."""
    from agents.cli import main as carepath

    return carepath(["broker", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
