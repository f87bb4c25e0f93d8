"""The SSRF guard of webhook delivery (OWASP API7): merchants' URLs never reach internal networks.

A webhook URL is the merchant's to choose, so without a guard anyone holding a service
key could make the worker POST to ``http://169.254.169.254/…`` (cloud credentials), to
``localhost`` or to anything on the private network. Names are checked where the
connection is made, not only when the URL is registered: ``PinnedBackend`` resolves the
host once, refuses it when *any* of its addresses is not public (``refusal``), then
connects to those checked addresses itself. httpx never resolves the name again, so a
DNS answer that changes between the check and the connection (rebinding) cannot pass.
The request keeps the name: its Host header and TLS server name (SNI, certificate check)
are the URL's host, as they would be without the guard.

``webhook_allow_private_addresses`` (the dev stack and the tests turn it on, to reach the
sandbox on 127.0.0.1) lifts the guard for loopback, private and other non-public
addresses, but never for the cloud metadata services (``METADATA_SERVICES``): no webhook
has a reason to go there. Redirects are not followed by the webhook client at all.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedDestination(Exception):
    """The host resolves to an address webhooks may not be sent to; the message says which and why."""


METADATA_SERVICES: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "the cloud metadata service (AWS, Google Cloud, Azure, OpenStack)",
    ipaddress.ip_address("169.254.170.2"): "the AWS container metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "the AWS metadata service over IPv6",
    ipaddress.ip_address("100.100.100.200"): "the Alibaba Cloud metadata service",
    ipaddress.ip_address("192.0.0.192"): "the Oracle Cloud metadata service",
}

# IANA's special-purpose ranges that are not globally reachable, written out (rather than
# ``ip.is_global``, whose answer has changed between Python patch releases) with a reason each.
_NON_PUBLIC = [
    ("0.0.0.0/8", "an unspecified ('this network')"),
    ("10.0.0.0/8", "a private"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT)"),
    ("127.0.0.0/8", "a loopback"),
    ("169.254.0.0/16", "a link-local"),
    ("172.16.0.0/12", "a private"),
    ("192.0.0.0/24", "an IETF protocol"),
    ("192.0.2.0/24", "a documentation"),
    ("192.88.99.0/24", "a 6to4 relay"),
    ("192.168.0.0/16", "a private"),
    ("198.18.0.0/15", "a benchmarking"),
    ("198.51.100.0/24", "a documentation"),
    ("203.0.113.0/24", "a documentation"),
    ("224.0.0.0/4", "a multicast"),
    ("240.0.0.0/4", "a reserved (or broadcast)"),
    ("::/128", "an unspecified"),
    ("::1/128", "a loopback"),
    ("::/96", "an IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "a local NAT64"),
    ("100::/64", "a discard-only"),
    ("2001::/23", "an IETF protocol (Teredo included)"),
    ("2001:db8::/32", "a documentation"),
    ("2002::/16", "a 6to4"),
    ("3fff::/20", "a documentation"),
    ("fc00::/7", "a unique-local"),
    ("fe80::/10", "a link-local"),
    ("fec0::/10", "a site-local (deprecated)"),
    ("ff00::/8", "a multicast"),
]
NON_PUBLIC_RANGES = [(ipaddress.ip_network(network), kind) for network, kind in _NON_PUBLIC]
# IPv6 addresses that carry an IPv4 address and reach it: judged by the IPv4 address they carry.
_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def reached_address(address: IPAddress) -> IPAddress:
    """The address a connection to ``address`` really goes to: the IPv4 address an IPv4-mapped
    (``::ffff:a.b.c.d``) or NAT64 (``64:ff9b::a.b.c.d``) address carries, else itself without its zone."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _IPV4_MAPPED or address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        return ipaddress.IPv6Address(int(address))  # fe80::1%eth0 -> fe80::1
    return address


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why webhooks may not go to ``address`` ("127.0.0.1 is a loopback address"), or None when they may."""
    target = reached_address(address)
    kind = METADATA_SERVICES.get(target)
    if kind is None and not allow_private:
        kind = next((f"{name} address" for network, name in NON_PUBLIC_RANGES if target in network), None)
    if kind is None:
        return None
    if int(target) == int(address) and target.version == address.version:
        return f"{address} is {kind}"
    return f"{address} reaches {target}, {kind}"


async def resolve_addresses(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order (an IP literal is itself).

    The system resolver reads the forms an attacker might use to hide an address
    (``2130706433`` and ``0177.0.0.1`` are 127.0.0.1), so they are judged by what they mean.
    """
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(sockaddr[0]) for *_, sockaddr in answers))


async def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """Resolve ``host`` once and return its addresses, all of them allowed; ``RefusedDestination`` if one is not.

    One bad address refuses the name: a rebinding name that answers a public and a private
    address must not get through because the public one came first.
    """
    addresses = await resolve_addresses(host, port)
    for address in addresses:
        if reason := refusal(address, allow_private=allow_private):
            named = "" if host == str(address) else f"{host}: "
            raise RefusedDestination(f"{named}{reason}; webhooks are sent to public addresses only")
    return addresses


# How long registering an endpoint waits for its name to resolve.
REGISTRATION_RESOLVE_SECONDS = 5.0


async def refuse_internal_url(url: str, *, allow_private: bool) -> None:
    """When an endpoint is registered: ``RefusedDestination`` if the URL's host resolves to an address
    webhooks may not go to. A name that does not resolve (yet, or in time) is let through: every
    delivery checks it again, on the addresses it then connects to."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        async with asyncio.timeout(REGISTRATION_RESOLVE_SECONDS):
            # The host as written (IDNA names in their xn-- form), as the connection will use it.
            await checked_addresses(parsed.raw_host.decode("ascii"), port, allow_private=allow_private)
    except (OSError, UnicodeError, TimeoutError):  # UnicodeError: a name the resolver cannot even ask for
        return


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses ``checked_addresses`` allowed.

    httpcore asks it for a TCP connection to the URL's host and then runs TLS over it with
    that host as the server name; this backend swaps the name for the checked address at
    the socket, and nowhere else.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await checked_addresses(host, port, allow_private=self._allow_private)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout} s") from None
        except (OSError, UnicodeError) as error:  # no such name, resolver down, a label too long to ask for
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connections made by ``PinnedBackend``.

    httpx takes no network backend argument, so the connection pool it builds is replaced
    by an identical one (httpx's defaults) that has ours.
    """

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__()
        limits = httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(allow_private=allow_private),
        )


def webhook_client(*, timeout_seconds: float, allow_private: bool) -> httpx.AsyncClient:
    """The HTTP client webhooks are sent with: guarded, no redirects, no proxy from the environment
    (a proxy would make the connection, and the check, somewhere else)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_private=allow_private),
        timeout=timeout_seconds,
        follow_redirects=False,
        trust_env=False,
    )
