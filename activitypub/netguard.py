"""SSRF address policy, enforced where the socket is opened.

Which addresses are refused
---------------------------
Everything that is not a plain public unicast address: loopback, RFC 1918
private, link-local (including ``169.254.169.254`` metadata endpoints), CGNAT
``100.64.0.0/10``, "this network" ``0.0.0.0/8``, unspecified, multicast,
broadcast, reserved ``240.0.0.0/4``, documentation and benchmarking
(``198.18.0.0/15``) ranges, IPv6 unique-local ``fc00::/7``, site-local,
discard-only, and whatever :mod:`ipaddress` does not call global. IPv6 forms
that carry an IPv4 address are unwrapped and the IPv4 address is checked as
well: IPv4-mapped ``::ffff:a.b.c.d`` (checked as the IPv4 address itself),
6to4 ``2002::/16``, NAT64 ``64:ff9b::/96`` (checked as the IPv4 address, so
an IPv6-only host behind DNS64 can still federate) and Teredo ``2001::/32``; the
deprecated IPv4-compatible ``::a.b.c.d`` form is refused outright.

Hosts written as numbers in a non-canonical way (``127.1``, ``2130706433``,
``0x7f.0.0.1``, ``0177.0.0.1``: any host whose last label is numeric, as the
WHATWG URL parser and ``inet_aton`` read them) are refused outright, whatever
address they would denote. The only exceptions to the policy are the
networks listed in ``allowed_networks`` (the ``allowed_private_networks``
setting; tests open ``127.0.0.0/8``).

How the connection is pinned to the checked address
---------------------------------------------------
:class:`GuardedNetworkBackend` is an httpcore network backend: httpcore calls
its ``connect_tcp(host, port)`` whenever the pool needs a new connection. It
resolves the host itself (``getaddrinfo``, or an injected resolver), refuses
the connection if *any* returned address is refused, and then opens the TCP
socket to one of those already-checked IP addresses, never to the name. After
connecting it compares the socket's peer address with the checked one. DNS
rebinding therefore cannot slip a second answer in between the check and the
connect, because there is no second lookup. The URL, the ``Host`` header, TLS
SNI and certificate verification all keep the original host name, since
httpcore runs the TLS handshake on the stream this backend returns; the pool
stays keyed by origin, so keep-alive works as usual and every pooled
connection was checked when it was opened.

Rewriting each URL to an IP with a ``Host`` header and the ``sni_hostname``
extension was the alternative; it was not chosen because it changes what
request signers see (``request.url.host``), splits the pool by IP, and must
be repeated correctly on every redirect hop, while the backend check cannot be
bypassed by any code path that opens a connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import httpcore

__all__ = [
    "AddressPolicy",
    "AddressRefused",
    "GuardedNetworkBackend",
    "IPAddress",
    "ResolutionFailed",
    "Resolver",
    "literal_address",
    "system_resolver",
]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``async (host, port) -> [ip text, ...]``; the default is :func:`system_resolver`."""

_DENIED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), label)
    for cidr, label in (
        ("0.0.0.0/8", "'this network' / unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved / broadcast"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001:2::/48", "benchmarking"),
        ("2001:10::/28", "ORCHID"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_NAT64 = IPv6Network("64:ff9b::/96")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")


class AddressRefused(Exception):
    """The host is, or resolves to, an address the policy refuses."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class ResolutionFailed(OSError):
    """The host name did not resolve to any address."""


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL host denotes literally, or None for a domain name.

    Accepts ``[v6]``/``v6`` and canonical dotted-quad IPv4. Raises
    :class:`AddressRefused` for any other numeric spelling.
    """
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in text:
        try:
            return IPv6Address(text.split("%", 1)[0])
        except ValueError:
            raise AddressRefused(host, "not a valid IPv6 address") from None
    try:
        return IPv4Address(text)
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if labels and _NUMERIC_LABEL.match(labels[-1]):
        raise AddressRefused(host, "non-canonical numeric IPv4 spelling")
    return None


def _parse_resolved(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])


class AddressPolicy:
    """Decides whether an IP address may be connected to."""

    def __init__(self, allowed_networks: Iterable[str | IPNetwork] = ()) -> None:
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(net, strict=False) if isinstance(net, str) else net
            for net in allowed_networks
        )

    def refusal_reason(self, address: IPAddress) -> str | None:
        """None when ``address`` may be connected to, else a short reason."""
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            return self._view_reason(address.ipv4_mapped, "IPv4-mapped ")
        if isinstance(address, IPv6Address) and address in _NAT64:
            # The prefix names a translator; the embedded IPv4 address is the real target.
            if any(address in net for net in self.allowed_networks):
                return None
            return self._view_reason(IPv4Address(int(address) & 0xFFFFFFFF), "NAT64 of ")
        reason = self._view_reason(address, "")
        if reason is not None:
            return reason
        if isinstance(address, IPv6Address):
            for prefix, embedded in _embedded_ipv4(address):
                reason = self._view_reason(embedded, prefix)
                if reason is not None:
                    return reason
        return None

    def check(self, host: str, address: IPAddress) -> None:
        """Raise AddressRefused unless ``address`` is acceptable."""
        reason = self.refusal_reason(address)
        if reason is not None:
            raise AddressRefused(host, f"{address} is {reason}")

    def _view_reason(self, address: IPAddress, prefix: str) -> str | None:
        if any(address in net for net in self.allowed_networks):
            return None
        for net, label in _DENIED:
            if address in net:
                return f"{prefix}{label} ({net})"
        flags = (
            address.is_loopback,
            address.is_private,
            address.is_link_local,
            address.is_multicast,
            address.is_reserved,
            address.is_unspecified,
            isinstance(address, IPv6Address) and address.is_site_local,
        )
        if any(flags) or not address.is_global:
            return f"{prefix}not a public address"
        return None


def _embedded_ipv4(address: IPv6Address) -> list[tuple[str, IPv4Address]]:
    found: list[tuple[str, IPv4Address]] = []
    if address.sixtofour is not None:
        found.append(("6to4 of ", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found.extend([("Teredo client ", client), ("Teredo server ", server)])
    return found


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the event loop's ``getaddrinfo`` (all A and AAAA records)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore backend that resolves, checks every address, and connects to a checked one."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int, time_limit: float | None) -> list[IPAddress]:
        """All addresses for ``host``, each checked; raises AddressRefused or ResolutionFailed."""
        literal = literal_address(host)
        if literal is not None:
            self._policy.check(host, literal)
            return [literal]
        try:
            async with asyncio.timeout(time_limit):
                answers = await self._resolver(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise ResolutionFailed(f"cannot resolve {host}: {exc}") from None
        addresses: list[IPAddress] = []
        for text in answers:
            try:
                address = _parse_resolved(text)
            except ValueError:
                raise AddressRefused(host, f"resolver returned {text!r}") from None
            self._policy.check(host, address)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise ResolutionFailed(f"{host} has no addresses")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await self.resolve(host, port, timeout)
        last_error: Exception | None = None
        for address in addresses:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                stream = await self._inner.connect_tcp(
                    str(address), port, remaining, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            await self._verify_peer(host, address, stream)
            return stream
        assert last_error is not None
        raise last_error

    async def _verify_peer(
        self, host: str, address: IPAddress, stream: httpcore.AsyncNetworkStream
    ) -> None:
        peer = stream.get_extra_info("server_addr")
        if peer is None:
            return
        try:
            connected = _parse_resolved(str(peer[0]))
        except (ValueError, IndexError, TypeError):
            connected = None
        if connected != address:
            await stream.aclose()
            raise AddressRefused(host, f"connected to {peer!r}, not the checked {address}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(path, "unix sockets are never used for outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
