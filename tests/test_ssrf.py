"""The SSRF guard of webhook delivery (``returnflow/ssrf.py``): which addresses are refused, how names are
resolved, and that the client connects to the address it checked while the request keeps the name."""

import asyncio
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from returnflow import ssrf
from returnflow.serve import serve_app

REFUSED = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.31.255.255": "private",
    "192.168.0.1": "private",
    "169.254.1.1": "link-local",
    "100.64.0.1": "shared",
    "0.0.0.0": "unspecified",
    "224.0.0.251": "multicast",
    "255.255.255.255": "broadcast",
    "198.18.0.1": "benchmarking",
    "192.0.2.10": "documentation",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fe80::1%1": "link-local",
    "fd12:3456::1": "unique-local",
    "fc00::1": "unique-local",
    "ff02::1": "multicast",
    "2001:db8::1": "documentation",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped: judged by the IPv4 address it reaches
    "::ffff:10.0.0.1": "private",
    "64:ff9b::a00:1": "private",  # NAT64 of 10.0.0.1
    "::127.0.0.1": "IPv4-compatible",
    "2002:7f00:1::1": "6to4",
}
METADATA = ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "100.100.100.200", "169.254.170.2"]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "172.32.0.1"]


@pytest.mark.parametrize(("address", "kind"), REFUSED.items())
def test_non_public_addresses_are_refused_with_their_kind(address: str, kind: str) -> None:
    reason = ssrf.refusal(ipaddress.ip_address(address), allow_private=False)
    assert reason is not None and kind in reason and str(ipaddress.ip_address(address)) in reason
    assert ssrf.refusal(ipaddress.ip_address(address), allow_private=True) is None, "the setting lets them through"


@pytest.mark.parametrize("address", METADATA)
def test_cloud_metadata_addresses_are_refused_even_when_private_ones_are_allowed(address: str) -> None:
    for allow_private in (False, True):
        reason = ssrf.refusal(ipaddress.ip_address(address), allow_private=allow_private)
        assert reason is not None and "metadata" in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert ssrf.refusal(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize("written", ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "localhost"])
async def test_disguised_loopback_names_resolve_to_what_they_mean_and_are_refused(written: str) -> None:
    addresses = await ssrf.resolve_addresses(written, 80)
    assert ipaddress.ip_address("127.0.0.1") in addresses or ipaddress.ip_address("::1") in addresses
    with pytest.raises(ssrf.RefusedDestination, match="loopback"):
        await ssrf.checked_addresses(written, 80, allow_private=False)


async def test_one_internal_address_refuses_the_whole_name(monkeypatch: pytest.MonkeyPatch) -> None:
    async def both(host: str, port: int) -> list[ssrf.IPAddress]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")]

    monkeypatch.setattr(ssrf, "resolve_addresses", both)
    with pytest.raises(ssrf.RefusedDestination, match=r"hooks\.example: 10\.0\.0\.7 is a private address"):
        await ssrf.checked_addresses("hooks.example", 443, allow_private=False)
    with pytest.raises(ssrf.RefusedDestination):
        await ssrf.refuse_internal_url("https://hooks.example/x", allow_private=False)


@pytest.mark.parametrize(
    "url", ["https://hooks.example.invalid/x", "https://xn--abc.com/x", f"https://{'a' * 64}.example/x"]
)
async def test_a_name_that_does_not_resolve_may_be_registered(url: str) -> None:
    """Every delivery checks it again; registering it is not refused for a name that is not (yet) in the DNS."""
    await ssrf.refuse_internal_url(url, allow_private=False)


async def test_a_name_that_cannot_be_resolved_is_a_failed_connection() -> None:
    async with ssrf.webhook_client(timeout_seconds=10, allow_private=False) as client:
        for url in ("http://hooks.example.invalid/x", f"http://{'a' * 64}.example/x"):
            with pytest.raises(httpx.ConnectError, match="cannot resolve"):
                await client.post(url, content=b"{}")


class Receiver:
    def __init__(self) -> None:
        self.hosts: list[str] = []

    async def hook(self, request: Request) -> Response:
        self.hosts.append(request.headers["host"])
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])


async def test_the_client_connects_to_the_checked_address_and_keeps_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The name exists only in the guard's resolver: the request can reach the receiver only through the address
    the guard checked, and the receiver still sees the name it was sent to."""
    resolved: list[str] = []

    async def pinned(host: str, port: int) -> list[ssrf.IPAddress]:
        resolved.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(ssrf, "resolve_addresses", pinned)
    receiver = Receiver()
    async with serve_app(receiver.app()) as url:
        port = int(url.rsplit(":", 1)[1])
        async with ssrf.webhook_client(timeout_seconds=10, allow_private=True) as client:
            answer = await client.post(f"http://hooks.pinned.test:{port}/hook", content=b"{}")
        assert answer.status_code == 204
        assert receiver.hosts == [f"hooks.pinned.test:{port}"] and resolved == ["hooks.pinned.test"]

        async with ssrf.webhook_client(timeout_seconds=10, allow_private=False) as client:
            with pytest.raises(ssrf.RefusedDestination, match=r"hooks\.pinned\.test: 127\.0\.0\.1 is a loopback"):
                await client.post(f"http://hooks.pinned.test:{port}/hook", content=b"{}")
            with pytest.raises(ssrf.RefusedDestination, match=r"127\.0\.0\.1 is a loopback"):
                await client.post(f"http://127.0.0.1:{port}/hook", content=b"{}")
        assert len(receiver.hosts) == 1, "a refused request never reaches the receiver"


def certificate_for(name: str, folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate valid for ``name`` only (not for 127.0.0.1), and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def test_over_tls_the_server_name_and_the_certificate_check_are_the_urls_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Connected to 127.0.0.1, the client still says hooks.tls.test in the handshake (SNI) and checks the
    certificate against that name: a certificate for the name only is accepted."""
    cert, key = certificate_for("hooks.tls.test", tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    server_names: list[str | None] = []

    def note_server_name(connection: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        server_names.append(name)

    server_context.sni_callback = note_server_name  # type: ignore[assignment]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    async def pinned(host: str, port: int) -> list[ssrf.IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(ssrf, "resolve_addresses", pinned)
    monkeypatch.setattr(httpx, "create_ssl_context", lambda: ssl.create_default_context(cafile=str(cert)))
    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    async with server, ssrf.webhook_client(timeout_seconds=10, allow_private=True) as client:
        answered = await client.post(f"https://hooks.tls.test:{port}/hook", content=b"{}")
    assert answered.status_code == 204 and server_names == ["hooks.tls.test"]
