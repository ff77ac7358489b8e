"""Packets and flows as the engines see them: addresses, ports, protocol number, TCP flags and the one
application-layer field each engine may inspect (the TLS ClientHello's SNI, the HTTP request's Host)."""

import functools
import ipaddress
from dataclasses import dataclass, field, replace
from typing import Final

TCP: Final = 6
UDP: Final = 17
ICMP: Final = 1
TCP_FLAGS: Final = frozenset({"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class FlowKey:
    """A connection's 5-tuple in the direction it was opened (client first)."""

    source: str
    destination: str
    protocol: int
    source_port: int
    destination_port: int


@dataclass(frozen=True)
class Packet:
    """One packet. ``sni`` / ``http_host``: the packet carries a TLS ClientHello / an HTTP request."""

    source: str
    destination: str
    protocol: int = TCP
    source_port: int = 0
    destination_port: int = 0
    tcp_flags: frozenset[str] = field(default_factory=frozenset)
    sni: str | None = None
    http_host: str | None = None

    def __post_init__(self) -> None:
        for address in (self.source, self.destination):
            ipaddress.ip_address(address)  # a bad address is the caller's error, named by ipaddress
        unknown = set(self.tcp_flags) - TCP_FLAGS
        if unknown:
            raise ValueError(f"unknown TCP flags {sorted(unknown)}; use {sorted(TCP_FLAGS)}")
        if self.tcp_flags and self.protocol != TCP:
            raise ValueError(f"TCP flags on a packet of protocol {self.protocol}")

    @property
    def source_address(self) -> Address:
        return ipaddress.ip_address(self.source)

    @property
    def destination_address(self) -> Address:
        return ipaddress.ip_address(self.destination)

    def reply(self, **changes: object) -> "Packet":
        """The packet the other end sends back on the same connection (addresses and ports swapped)."""
        swapped = replace(
            self,
            source=self.destination,
            destination=self.source,
            source_port=self.destination_port,
            destination_port=self.source_port,
            sni=None,
            http_host=None,
        )
        return replace(swapped, **changes)  # type: ignore[arg-type]

    def flow_key(self) -> FlowKey:
        return FlowKey(self.source, self.destination, self.protocol, self.source_port, self.destination_port)


def in_cidr(address: str, cidr: str) -> bool:
    """Whether ``address`` lies in ``cidr`` (a bare address is a /32 or /128); other versions never do."""
    network = _network(cidr)
    parsed = _address(address)
    return parsed.version == network.version and parsed in network


@functools.lru_cache(maxsize=1 << 14)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


@functools.lru_cache(maxsize=1 << 14)
def _address(address: str) -> Address:
    return ipaddress.ip_address(address)
