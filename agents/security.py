"""Connection security for every Kafka client of the shell (DESIGN.md convention 14).

The settings (``CAREPATH_SECURITY_PROTOCOL``, ``CAREPATH_SASL_*``, ``CAREPATH_SSL_*``) become
the keyword arguments of each client library, so a call site only adds ``**...(settings)``:

- :func:`aiokafka_kwargs` for ``AIOKafkaProducer``/``AIOKafkaConsumer``;
- :func:`kafka_python_kwargs` for kafka-python's ``KafkaProducer``/``KafkaConsumer``/
  ``KafkaAdminClient``;
- :func:`faust_kwargs` for ``faust.App`` (``broker_credentials``: Faust 0.15.3 hands
  ``SASLCredentials``/``SSLCredentials`` to aiokafka for its consumer, producer and topic
  creation, SCRAM-SHA-256/512 included, see ``credentials_to_aiokafka_auth``).

PLAINTEXT gives ``{}`` everywhere: a plaintext client is built exactly as before.
:func:`check_connection` tells, within seconds and in one line, whether the broker can be
reached and the credentials are accepted, before a command starts its real work.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.settings import Settings

#: Seconds :func:`check_connection` waits for a broker before giving up.
CHECK_TIMEOUT = 10.0


def uses_tls(s: Settings) -> bool:
    return s.security_protocol in ("SSL", "SASL_SSL")


def uses_sasl(s: Settings) -> bool:
    return s.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def _password(s: Settings) -> str | None:
    return s.sasl_password.get_secret_value() if s.sasl_password is not None else None


def ssl_context(s: Settings) -> ssl.SSLContext | None:
    """The client's TLS context: server certificate and host name verified against
    ``ssl_cafile`` (else the system CAs), with the client certificate when one is set."""
    if not uses_tls(s):
        return None
    ctx = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(s.ssl_cafile) if s.ssl_cafile else None
    )
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if s.ssl_certfile:
        ctx.load_cert_chain(str(s.ssl_certfile), str(s.ssl_keyfile) if s.ssl_keyfile else None)
    return ctx


def _sasl(s: Settings) -> dict[str, Any]:
    if not uses_sasl(s):
        return {}
    return {
        "sasl_mechanism": s.sasl_mechanism,
        "sasl_plain_username": s.sasl_username,
        "sasl_plain_password": _password(s),
    }


def aiokafka_kwargs(s: Settings) -> dict[str, Any]:
    """Keyword arguments of an aiokafka client; ``{}`` for PLAINTEXT."""
    if s.security_protocol == "PLAINTEXT":
        return {}
    out: dict[str, Any] = {"security_protocol": s.security_protocol, **_sasl(s)}
    if uses_tls(s):
        out["ssl_context"] = ssl_context(s)
    return out


def kafka_python_kwargs(s: Settings) -> dict[str, Any]:
    """Keyword arguments of a kafka-python client; ``{}`` for PLAINTEXT."""
    if s.security_protocol == "PLAINTEXT":
        return {}
    out: dict[str, Any] = {"security_protocol": s.security_protocol, **_sasl(s)}
    if uses_tls(s):
        out |= {
            "ssl_check_hostname": True,
            "ssl_cafile": str(s.ssl_cafile) if s.ssl_cafile else None,
            "ssl_certfile": str(s.ssl_certfile) if s.ssl_certfile else None,
            "ssl_keyfile": str(s.ssl_keyfile) if s.ssl_keyfile else None,
        }
    return out


def faust_kwargs(s: Settings) -> dict[str, Any]:
    """``broker_credentials`` for ``faust.App``; ``{}`` for PLAINTEXT."""
    import faust  # imported late: the CLI's plain clients do not need Faust

    if uses_sasl(s):
        creds: Any = faust.SASLCredentials(
            username=s.sasl_username,
            password=_password(s),
            ssl_context=ssl_context(s),  # None: SASL_PLAINTEXT, else SASL_SSL
            mechanism=s.sasl_mechanism,
        )
    elif uses_tls(s):
        creds = faust.SSLCredentials(ssl_context(s))
    else:
        return {}
    return {"broker_credentials": creds}


def client_env(s: Settings) -> dict[str, str]:
    """The ``CAREPATH_*`` security variables of ``s``, for a child process's environment."""
    values: dict[str, object] = {
        "SECURITY_PROTOCOL": s.security_protocol,
        "SASL_MECHANISM": s.sasl_mechanism,
        "SASL_USERNAME": s.sasl_username,
        "SASL_PASSWORD": _password(s),
        "SSL_CAFILE": s.ssl_cafile,
        "SSL_CERTFILE": s.ssl_certfile,
        "SSL_KEYFILE": s.ssl_keyfile,
    }
    return {f"CAREPATH_{k}": str(v) for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Connection:
    """Where a client connects and how: what ``agents.kafka_io`` (and the bench) take in
    place of a bare ``host:port`` string, which stays PLAINTEXT."""

    bootstrap: str
    kwargs: Mapping[str, Any] = field(default_factory=dict, repr=False)  # kafka-python
    aio: Mapping[str, Any] = field(default_factory=dict, repr=False)  # aiokafka
    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # for child processes

    def __str__(self) -> str:
        return self.bootstrap


def connection(s: Settings) -> Connection:
    return Connection(s.bootstrap, kafka_python_kwargs(s), aiokafka_kwargs(s), client_env(s))


def client_kwargs(target: str | Connection) -> dict[str, Any]:
    """``bootstrap_servers`` and the security keywords of a kafka-python client."""
    if isinstance(target, Connection):
        return {"bootstrap_servers": target.bootstrap, **target.kwargs}
    return {"bootstrap_servers": target}


def aio_client_kwargs(target: str | Connection) -> dict[str, Any]:
    """``bootstrap_servers`` and the security keywords of an aiokafka client."""
    if isinstance(target, Connection):
        return {"bootstrap_servers": target.bootstrap, **target.aio}
    return {"bootstrap_servers": target}


def child_env(target: str | Connection) -> dict[str, str]:
    """The ``CAREPATH_*`` security variables a child process needs to reach ``target``."""
    return dict(target.env) if isinstance(target, Connection) else {}


# -- failing clearly ------------------------------------------------------------------------
class ConnectionProblem(Exception):
    """The broker cannot be used: unreachable, TLS refused, or authentication failed.
    Its message is one line meant for the user (the CLI prints it and exits 2)."""


class AuthenticationFailed(ConnectionProblem):
    pass


class BrokerUnreachable(ConnectionProblem):
    pass


def _where(s: Settings) -> str:
    return f"{s.bootstrap} (CAREPATH_SECURITY_PROTOCOL={s.security_protocol})"


def explain(exc: BaseException, s: Settings) -> ConnectionProblem:
    """The one-line :class:`ConnectionProblem` for a client library's exception."""
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    if "SaslAuthenticationFailed" in name:
        return AuthenticationFailed(
            f"authentication failed at {_where(s)}: the broker refused SASL {s.sasl_mechanism} "
            f"user {s.sasl_username!r} (check CAREPATH_SASL_USERNAME and CAREPATH_SASL_PASSWORD)"
        )
    if "UnsupportedSaslMechanism" in name:
        return AuthenticationFailed(
            f"authentication failed at {_where(s)}: the broker does not offer SASL "
            f"{s.sasl_mechanism} (CAREPATH_SASL_MECHANISM)"
        )
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or text
        return ConnectionProblem(
            f"TLS handshake with {_where(s)} failed: {reason} (check CAREPATH_SSL_CAFILE and "
            "that the broker's certificate names this host)"
        )
    if "KafkaConnectionError" in name and "closed" in text:
        return ConnectionProblem(
            f"the broker at {s.bootstrap} closed the connection: does its listener expect "
            f"CAREPATH_SECURITY_PROTOCOL={s.security_protocol}?"
        )
    return BrokerUnreachable(
        f"no Kafka broker answers at {_where(s)}: start one (carepath broker up) or set "
        "CAREPATH_BROKER and the CAREPATH_SECURITY_* settings"
    )


async def _probe(s: Settings, host: str, port: int, timeout: float) -> None:
    from aiokafka.conn import create_conn

    millis = int(timeout * 1000)
    conn = await asyncio.wait_for(
        create_conn(
            host, port, client_id="carepath-check", request_timeout_ms=millis, **aiokafka_kwargs(s)
        ),
        timeout,
    )
    conn.close()


def check_connection(s: Settings, timeout: float = CHECK_TIMEOUT) -> None:
    """Raise :class:`ConnectionProblem` unless some bootstrap broker accepts a connection
    with these settings (TLS handshake and SASL authentication included) within ``timeout``
    seconds. One connection a host, no retries: the client libraries retry a refused
    password until their own timeout, so this is what tells authentication apart."""
    deadline = time.monotonic() + timeout
    problem: ConnectionProblem | None = None
    for address in s.bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            asyncio.run(_probe(s, host.strip("[]") or "localhost", int(port or 9092), left))
            return
        except Exception as exc:  # every failure is explained (TimeoutError included)
            problem = explain(exc, s)
            if isinstance(problem, AuthenticationFailed):
                break
    raise problem or BrokerUnreachable(f"no Kafka broker answers at {_where(s)}")
