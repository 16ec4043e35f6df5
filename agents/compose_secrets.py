"""The secrets of the SASL_SSL compose example (``docker-compose.secure.yml``), made once by
its ``secrets`` service into two volumes, so no key or password is ever written on the host:

- the broker's (``/etc/kafka/secrets`` of the ``apache/kafka`` image): ``broker.p12``, a
  PKCS#12 keystore with the broker's key and its certificate for the compose host names,
  signed by a CA made here (whose key is used once and never written); the keystore's
  password in ``broker_creds`` (the image reads ``KAFKA_SSL_*_CREDENTIALS`` files); and the
  JAAS file that turns on SCRAM for the broker's SASL listeners;
- the clients' (``/run/carepath`` of the carepath containers): ``ca.pem`` and
  ``client.env``, the ``CAREPATH_*`` lines of the SCRAM-SHA-512 user ``carepath``, readable
  by the image's user only. The ``kafka-users`` service adds that user to the broker.

``python -m agents.compose_secrets --kafka DIR --client DIR``; nothing is replaced when the
secrets are there already (the broker keeps the user it has). A hospital uses its own PKI
and secret store instead: docs/operations.md#security.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

KEYSTORE = "broker.p12"
KEYSTORE_CREDS = "broker_creds"
JAAS = "kafka_server_jaas.conf"
CA_FILE = "ca.pem"
CLIENT_ENV = "client.env"
USERNAME = "carepath"
MECHANISM = "SCRAM-SHA-512"
#: The image's user (agents' Dockerfile ``ARG UID``): owner group of the client files.
CLIENT_GID = 10001
CERT_DAYS = 825
JAAS_TEXT = (
    "KafkaServer {\n  org.apache.kafka.common.security.scram.ScramLoginModule required;\n};\n"
)


def _name(common_name: str) -> Any:
    from cryptography.x509 import Name, NameAttribute
    from cryptography.x509.oid import NameOID

    org = NameAttribute(NameOID.ORGANIZATION_NAME, "carepath compose example")
    return Name([org, NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, issuer: str, public: Any, signer: Any, ext: list[Any]) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
    )
    for extension, critical in ext:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def make_tls(hosts: Sequence[str]) -> tuple[Any, Any, Any]:
    """A CA certificate, and the broker's key and certificate for ``hosts`` (names or IPs)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_public = ca_key.public_key()
    ca = _certificate(
        "carepath compose CA", "carepath compose CA", ca_public, ca_key,
        [(x509.BasicConstraints(ca=True, path_length=0), True),
         (x509.SubjectKeyIdentifier.from_public_key(ca_public), False)],
    )  # fmt: skip
    names = [_san(h) for h in hosts]
    cert = _certificate(
        hosts[0], "carepath compose CA", key.public_key(), ca_key,
        [(x509.SubjectAlternativeName(names), False),
         (x509.BasicConstraints(ca=False, path_length=None), True),
         (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
         (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), False)],
    )  # fmt: skip
    return ca, key, cert


def _san(host: str) -> Any:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write(path: Path, data: bytes, mode: int, gid: int | None = None) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)  # whatever the umask
    if gid is not None and os.geteuid() == 0:
        os.chown(path, 0, gid)


def write_kafka(directory: Path, ca: Any, key: Any, cert: Any) -> None:
    """The broker's keystore, its password file and the JAAS file. Mode 0644: the broker's
    user in its image is not ours to name, and this volume is mounted by the broker only."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    password = secrets.token_urlsafe(24)
    store = pkcs12.serialize_key_and_certificates(
        b"broker", key, cert, [ca], BestAvailableEncryption(password.encode())
    )
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / KEYSTORE, store, 0o644)
    _write(directory / KEYSTORE_CREDS, password.encode(), 0o644)
    _write(directory / JAAS, JAAS_TEXT.encode(), 0o644)


def write_client(directory: Path, ca: Any, broker: str, mounted: str, gid: int | None) -> None:
    """``ca.pem`` and ``client.env`` (0640, group ``gid``: the carepath image's user)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    lines = [
        "# carepath client settings for docker-compose.secure.yml (holds a password)",
        f"CAREPATH_BROKER=kafka://{broker}",
        "CAREPATH_SECURITY_PROTOCOL=SASL_SSL",
        f"CAREPATH_SASL_MECHANISM={MECHANISM}",
        f"CAREPATH_SASL_USERNAME={USERNAME}",
        f"CAREPATH_SASL_PASSWORD={secrets.token_urlsafe(24)}",
        f"CAREPATH_SSL_CAFILE={mounted.rstrip('/')}/{CA_FILE}",
    ]
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / CA_FILE, ca.public_bytes(Encoding.PEM), 0o644)
    _write(directory / CLIENT_ENV, ("\n".join(lines) + "\n").encode(), 0o640, gid)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m agents.compose_secrets", description=__doc__)
    ap.add_argument("--kafka", type=Path, required=True, help="the broker's secrets directory")
    ap.add_argument("--client", type=Path, required=True, help="the clients' secrets directory")
    ap.add_argument("--hosts", default="kafka,localhost,127.0.0.1", help="certificate names")
    ap.add_argument("--broker", default="kafka:9093", help="host:port in client.env")
    ap.add_argument("--mounted", default="/run/carepath", help="the clients' directory, mounted")
    ap.add_argument("--gid", type=int, default=CLIENT_GID, help="group of client.env (as root)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if (args.kafka / KEYSTORE).exists() and (args.client / CLIENT_ENV).exists():
        print("compose secrets: already there, kept")
        return 0
    ca, key, cert = make_tls([h.strip() for h in args.hosts.split(",") if h.strip()])
    write_kafka(args.kafka, ca, key, cert)
    write_client(args.client, ca, args.broker, args.mounted, args.gid)
    print(f"compose secrets: written to {args.kafka} and {args.client}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
