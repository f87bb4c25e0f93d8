"""A secured Temporal for the tests: Debian's nginx terminating TLS in front of the dev server, as a cluster's
ingress would.

    certificates = make_certificates(tmp_path)
    async with grpc_tls_proxy(tmp_path, dev_server_address, certificates, verify_client=True) as address:
        ... Settings(temporal_address=address, temporal_tls_ca_file=certificates.ca, ...)

The certificates are made here with ``cryptography``: a CA, the proxy's certificate for ``localhost`` and
127.0.0.1 signed by it, a client certificate signed by it, and a second CA that signed nothing of the proxy's
(the "wrong CA"). nginx runs as a child process on a free port with a configuration in the test's folder
(``grpc_pass`` to the dev server in clear over HTTP/2) and is stopped afterwards. ``./scripts/bootstrap``
installs nginx; without it these tests are skipped, except in CI, where they fail.
"""

import asyncio
import contextlib
import ipaddress
import os
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NGINX = Path("/usr/sbin/nginx")
START_SECONDS = 15.0


def require_nginx() -> None:
    if not os.access(NGINX, os.X_OK):
        reason = f"the TLS proxy tests need Debian's nginx and {NGINX} is missing (./scripts/bootstrap installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass(frozen=True)
class Certificates:
    """PEM files: the CA the proxy's certificate chains to, the client's certificate and key, another CA."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def make_certificates(folder: Path) -> Certificates:
    ca_key, ca_cert = _authority("returnflow test CA")
    _, other_ca = _authority("some other CA")
    server_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    server_key, server_cert = _leaf("localhost", ca_key, ca_cert, ExtendedKeyUsageOID.SERVER_AUTH, server_names)
    client_key, client_cert = _leaf("returnflow worker", ca_key, ca_cert, ExtendedKeyUsageOID.CLIENT_AUTH, [])
    files = {
        "ca": _cert_pem(ca_cert),
        "server_cert": _cert_pem(server_cert),
        "server_key": _key_pem(server_key),
        "client_cert": _cert_pem(client_cert),
        "client_key": _key_pem(client_key),
        "other_ca": _cert_pem(other_ca),
    }
    paths = {}
    for name, content in files.items():
        paths[name] = folder / f"{name}.pem"
        paths[name].write_bytes(content)
    return Certificates(**paths)


def _authority(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _valid_now(x509.CertificateBuilder())
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digital signature, certificate and CRL signing
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    name: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    usage: x509.ObjectIdentifier,
    alternative_names: list[x509.GeneralName],
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _valid_now(x509.CertificateBuilder())
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if alternative_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _valid_now(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        builder.serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def nginx_config(port: int, upstream: str, certificates: Certificates, *, verify_client: bool) -> str:
    """HTTP/2 with TLS on ``port``, every gRPC call passed on to ``upstream`` in clear."""
    client_check = (
        f"ssl_client_certificate {certificates.ca}; ssl_verify_client on;"
        if verify_client
        else "ssl_verify_client off;"
    )
    return f"""
user root;
worker_processes 1;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    client_max_body_size 64m;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {certificates.server_cert};
        ssl_certificate_key {certificates.server_key};
        {client_check}
        location / {{
            grpc_pass grpc://{upstream};
            # Temporal's long polls last up to a minute and more.
            grpc_read_timeout 300s;
            grpc_send_timeout 300s;
        }}
    }}
}}
"""


@contextlib.asynccontextmanager
async def grpc_tls_proxy(
    folder: Path, upstream: str, certificates: Certificates, *, verify_client: bool, port: int | None = None
) -> AsyncIterator[str]:
    """nginx in front of ``upstream`` (host:port) while the block runs, on ``port`` or a free one; yields its
    address, ``127.0.0.1:port``."""
    require_nginx()
    prefix = Path(tempfile.mkdtemp(prefix="nginx-", dir=folder))
    (prefix / "temp").mkdir()
    port = port or _free_port()
    config = prefix / "nginx.conf"
    config.write_text(nginx_config(port, upstream, certificates, verify_client=verify_client))
    directives = f"daemon off; pid {prefix / 'nginx.pid'}; error_log stderr warn;"
    process = await asyncio.create_subprocess_exec(
        str(NGINX),
        *("-p", str(prefix), "-c", str(config), "-g", directives),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await _wait_listening(process, port)
        yield f"127.0.0.1:{port}"
    finally:
        await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it has not ended 20 s later."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wait_listening(process: asyncio.subprocess.Process, port: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    while loop.time() < deadline:
        if process.returncode is not None:
            assert process.stderr is not None
            raise RuntimeError(f"nginx exited with {process.returncode}: {(await process.stderr.read()).decode()}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"nginx did not listen on 127.0.0.1:{port} within {START_SECONDS:g} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
