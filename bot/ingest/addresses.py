"""Only public addresses are fetched (no server-side request forgery): every connection, at every redirect hop and
for every feed entry, goes through `GuardedBackend`, which resolves the host once, refuses loopback, private,
link-local, multicast and reserved addresses unless NEWSBOT_FETCH_ALLOW_NETWORKS names them, and connects to the
very address it checked."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: internal, though not is_private in 3.11


def address_refusal(address: str | IPAddress) -> str:
    """Why an address is not public ("loopback", "private", ...), or "" for a public one.

    IPv4 inside IPv6 (::ffff:127.0.0.1, 6to4) is judged by the IPv4 address too.
    """
    if isinstance(address, str):
        address = ipaddress.ip_address(address)
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):  # the IPv4 address first: the reason then names it
        candidates[:0] = [inner for inner in (address.ipv4_mapped, address.sixtofour) if inner is not None]
    for candidate in candidates:
        for reason, refused in (
            ("loopback", candidate.is_loopback),
            ("link-local", candidate.is_link_local),
            ("multicast", candidate.is_multicast),
            ("unspecified", candidate.is_unspecified),
            ("shared (carrier-grade NAT)", candidate in _SHARED),
            ("private", candidate.is_private),
            ("reserved", candidate.is_reserved),
            ("site-local", isinstance(candidate, ipaddress.IPv6Address) and candidate.is_site_local),
            ("non-global", not candidate.is_global),
        ):
            if refused:
                return reason
    return ""


class AddressPolicy:
    """Public addresses, and those inside the operator's NEWSBOT_FETCH_ALLOW_NETWORKS, may be fetched."""

    def __init__(self, allow_networks: Iterable[str] = ()):
        self.allowed = tuple(ipaddress.ip_network(network) for network in allow_networks)

    def refusal(self, address: str | IPAddress) -> str:
        """Why `address` may not be fetched from, or "" when it may."""
        if isinstance(address, str):
            address = ipaddress.ip_address(address)
        reason = address_refusal(address)
        if not reason:
            return ""
        inner = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        if any(candidate in network for candidate in (address, inner) if candidate for network in self.allowed):
            return ""
        return reason


class AddressRefused(httpcore.ConnectError):
    """The host resolves to an address the policy refuses: no connection was attempted."""


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's network backend, checking every address it connects to against an `AddressPolicy`.

    The host is resolved once here and the connection goes to the checked address itself, so that a DNS answer
    that changes between a check and the connection (DNS rebinding) cannot slip through. TLS is started
    by httpcore afterwards with the host name, so that SNI and the certificate check are unchanged.
    """

    def __init__(self, policy: AddressPolicy):
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        for address in addresses:  # one refused address refuses the host: no picking among its answers
            reason = self.policy.refusal(address.split("%", 1)[0])  # without an IPv6 scope ("fe80::1%eth0")
            if reason:
                raise AddressRefused(f"{host} resolves to {address}, a {reason} address (not in the allowed networks)")
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        failure: Exception | None = None
        for address in addresses:  # as socket.create_connection does, but only over the checked addresses
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure


class GuardedTransport(httpx.HTTPTransport):
    """httpx's default transport with a `GuardedBackend` under its connection pool.

    httpx does not take a network backend, so the pool it makes is replaced by an equal one that has it.
    Proxies from the environment are not used: a proxy would resolve and connect past the check.
    """

    def __init__(self, policy: AddressPolicy):
        super().__init__()
        limits = httpx.Limits()  # httpx's defaults, as in the pool replaced
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )
