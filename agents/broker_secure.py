"""The secure variant of the local broker (``carepath broker up --secure``).

What it adds to a broker dir:

- ``tls/ca.pem``: a CA certificate made at start (its key is used once and never written);
- ``tls/broker.pem``: the broker's key (PKCS#8) and certificate chain, for ``localhost`` and
  ``127.0.0.1``, signed by that CA; Kafka reads it as a PEM keystore;
- a SCRAM-SHA-512 user, added when the storage is formatted (KRaft keeps SCRAM credentials
  in its metadata log: ``StorageTool format --add-scram``);
- ``client.env``: the ``CAREPATH_*`` lines a client needs (mode 0600: it holds a password).

The listener for clients is SASL_SSL; the inter-broker and controller listeners stay
PLAINTEXT on loopback, on ports of their own, for the node itself (and the launcher's
readiness probe).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

TLS_DIR = "tls"
CA_FILE = "ca.pem"
KEYSTORE_FILE = "broker.pem"
CLIENT_ENV = "client.env"
MECHANISM = "SCRAM-SHA-512"
USERNAME = "carepath"
CERT_DAYS = 365


def new_credentials() -> dict[str, str]:
    """The client user of a fresh secure broker."""
    return {"username": USERNAME, "password": secrets.token_urlsafe(24)}


def scram_format_args(creds: dict[str, str]) -> list[str]:
    """``StorageTool format`` arguments that create the client user."""
    return ["--add-scram", f"{MECHANISM}=[name={creds['username']},password={creds['password']}]"]


def _name(common_name: str) -> Any:
    from cryptography.x509 import Name, NameAttribute
    from cryptography.x509.oid import NameOID

    return Name(
        [
            NameAttribute(NameOID.ORGANIZATION_NAME, "carepath local broker"),
            NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def write_tls(directory: Path) -> Path:
    """Make the CA and the broker's key and certificate under ``directory/tls``; return it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=CERT_DAYS)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("carepath local CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    tls = directory / TLS_DIR
    tls.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    (tls / CA_FILE).write_bytes(ca_cert.public_bytes(pem))
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(
        tls / KEYSTORE_FILE, key_pem + cert.public_bytes(pem) + ca_cert.public_bytes(pem)
    )
    return tls


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def listener_properties(port: int, internal_port: int, tls: Path) -> dict[str, str]:
    """The ``server.properties`` values of a secure node (see :mod:`agents.broker`)."""
    jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    security = "\n".join(
        [
            f"sasl.enabled.mechanisms={MECHANISM}",
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config={jaas}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={tls / KEYSTORE_FILE}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={tls / CA_FILE}",
            "ssl.client.auth=none",
            "ssl.endpoint.identification.algorithm=https",
            "",
        ]
    )
    return {
        "listeners": f"SASL_SSL://localhost:{port},INTERNAL://127.0.0.1:{internal_port}",
        "advertised": f"SASL_SSL://localhost:{port},INTERNAL://127.0.0.1:{internal_port}",
        "inter_broker": "INTERNAL",
        "protocol_map": "SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT",
        "security": security,
    }


def write_client_env(directory: Path, address: str, creds: dict[str, str]) -> Path:
    """``directory/client.env``: what a client needs (``set -a; . client.env; set +a``)."""
    lines = [
        "# carepath client settings for the secure local broker (holds a password)",
        f"CAREPATH_BROKER=kafka://{address}",
        "CAREPATH_SECURITY_PROTOCOL=SASL_SSL",
        f"CAREPATH_SASL_MECHANISM={MECHANISM}",
        f"CAREPATH_SASL_USERNAME={creds['username']}",
        f"CAREPATH_SASL_PASSWORD={creds['password']}",
        f"CAREPATH_SSL_CAFILE={directory / TLS_DIR / CA_FILE}",
    ]
    path = directory / CLIENT_ENV
    _write_private(path, ("\n".join(lines) + "\n").encode())
    return path


def read_env(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of an env file such as ``client.env``."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            out[name.strip()] = value.strip()
    return out
