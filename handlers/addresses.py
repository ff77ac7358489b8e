"""Host parsing, canonical form and the never-block list.

Every host that reaches the ledger or the rule group goes through ``normalize_host`` first, so
one host has exactly one spelling (``198.51.100.7/32``, ``2001:db8::1/128``) and the ledger key,
the rule group and the notification always agree.

The never-block list is explicit rather than ``ipaddress``'s ``is_global``/``is_private``: those
flags also cover documentation and benchmarking ranges (``198.51.100.0/24``...), which GuardDuty's
sample findings use and which must stay blockable, and their definition changes between Python
releases — a security boundary should not move with an interpreter upgrade.
"""

import functools
import ipaddress
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from handlers.errors import ConfigurationError, InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_SHOWN_CHARS: Final = 60
"""Offending values are cut to this length in messages and skips: they end up in logs and emails."""

_MAX_HOST_CHARS: Final = 64
"""Longer than any single-host spelling (``ffff:…:ffff:255.255.255.255/128`` is 49): refuse early."""

_HOST_CHARS: Final = frozenset("0123456789abcdefABCDEF:./")
"""Whitespace, zone ids (``%eth0``), hex/octal IPv4 (``0x7f``) and control characters all fail here."""


class InvalidAddress(InvalidInput):
    """A value that is not exactly one IPv4 or IPv6 host."""


def _networks(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


BUILT_IN_PROTECTED: Final[tuple[Network, ...]] = _networks(
    # The instance metadata endpoints come first, so a skip names them rather than their enclosing range.
    "169.254.169.254/32",
    "fd00:ec2::254/128",
    "0.0.0.0/8",  # "this network", including the unspecified 0.0.0.0
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",  # carrier-grade NAT, also used inside VPCs
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local: metadata, Amazon DNS, time sync
    "192.0.0.0/24",  # IETF protocol assignments: DS-Lite, NAT64/DNS64 discovery, PCP and TURN anycast
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated, RFC 7526): a relay, never a remote host
    "224.0.0.0/4",
    "240.0.0.0/4",  # reserved, including the limited broadcast 255.255.255.255
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",  # NAT64 local-use (RFC 8215): where the IPv4 host sits depends on the prefix length
    "100::/64",  # discard-only
    "5f00::/16",  # segment-routing SIDs (RFC 9602): inside an SRv6 domain only
    "fe80::/10",
    "fec0::/10",  # site-local (deprecated, RFC 3879, still routed inside some networks)
    "fc00::/7",  # unique local, including the IPv6 metadata endpoint fd00:ec2::254
    "ff00::/8",
)
"""Never blocked, whatever the findings or the configuration say: blocking one of these would cut
the VPC off from itself, its metadata service, its resolver or its translators. IPv4-mapped IPv6
(``::ffff:0:0/96``) needs no entry: ``normalize_host`` turns it into the IPv4 host it is; the other
IPv6 spellings of an IPv4 host are checked through ``embedded_ipv4``."""

_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_TRANSLATED: Final = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
_TEREDO: Final = ipaddress.IPv6Network("2001::/32")
_ISATAP_IDENTIFIER: Final = 0x00005EFE
"""ISATAP's interface identifier is ``[0-3]00:5efe:a.b.c.d`` (RFC 5214), under any /64 prefix;
the top byte's universal/group bits vary, hence the mask below."""
_ISATAP_MASK: Final = 0xFCFFFFFF


def describe_host(value: object) -> str:
    """A short, single-line rendering of an untrusted value, safe for logs, skips and messages."""
    if isinstance(value, str):
        shown = value[:MAX_SHOWN_CHARS].encode("unicode_escape").decode("ascii")
        if len(value) > MAX_SHOWN_CHARS or len(shown) > MAX_SHOWN_CHARS:
            return shown[:MAX_SHOWN_CHARS] + "..."
        return shown
    # reprlib bounds the output for huge containers and survives a failing __repr__.
    try:
        return reprlib.repr(value)[:MAX_SHOWN_CHARS]
    except ValueError:
        # An int past sys.get_int_max_str_digits() refuses repr(), in a container too.
        return f"{type(value).__name__} too large to show"


def parse_host(value: object) -> Address:
    """The single host ``value`` names, IPv4-mapped IPv6 folded to IPv4; ``InvalidAddress`` otherwise."""
    if not isinstance(value, str):
        raise InvalidAddress(f"not an IP address: {type(value).__name__} {describe_host(value)}")
    if not value or len(value) > _MAX_HOST_CHARS or not _HOST_CHARS.issuperset(value):
        raise InvalidAddress(f"not an IP address: '{describe_host(value)}'")
    address_text, slash, prefix = value.partition("/")
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError:
        raise InvalidAddress(f"not an IP address: '{describe_host(value)}'") from None
    # Only the exact full-length prefix is a host: "/24" is a network, "/032" or a netmask is ambiguous.
    if slash and prefix != str(address.max_prefixlen):
        raise InvalidAddress(
            f"not a single host (prefix must be /{address.max_prefixlen}): '{describe_host(value)}'"
        )
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d; the packet on the wire is IPv4.
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=1 << 16)
def canonical_address(host: str) -> Address | None:
    """The address ``host`` names if it is already canonical host CIDR text, else ``None``.

    The writer asks this of every host in the group (up to 15,000) on every run, so it is cached,
    and canonical IPv4 text (by far the common case) is read without ipaddress's general parser.
    """
    address_text, slash, prefix = host.partition("/")
    if slash and prefix == "32":
        octets = address_text.split(".")
        if len(octets) == 4 and all(
            o.isascii() and o.isdigit() and len(o) <= 3 and (o == "0" or o[0] != "0") for o in octets
        ):
            values = [int(o) for o in octets]
            if all(v <= 255 for v in values):
                return ipaddress.IPv4Address(values[0] << 24 | values[1] << 16 | values[2] << 8 | values[3])
        return None
    try:
        address = parse_host(host)
    except InvalidInput:
        return None
    return address if f"{address}/{address.max_prefixlen}" == host else None


def normalize_host(value: object) -> str:
    """Canonical CIDR text of the single host ``value`` names (IPv4 ``/32``, IPv6 ``/128``)."""
    address = parse_host(value)
    return f"{address}/{address.max_prefixlen}"


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[ipaddress.IPv4Address, str]]:
    """Every IPv4 host an IPv6 address embeds, each with the mechanism's name.

    Traffic to these reaches the embedded IPv4 host through a translator, relay or tunnel, so an
    internal IPv4 host must not become blockable by being spelled this way. Teredo embeds two (its
    server, and its client's address obfuscated): a real client is a public NAT mapping, but the
    address comes from an untrusted finding, so both are checked.
    """
    value = int(address)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    found: list[tuple[ipaddress.IPv4Address, str]] = []
    if address in _NAT64:
        found.append((low32, f"NAT64 {_NAT64}"))
    if address in _IPV4_TRANSLATED:
        found.append((low32, f"SIIT {_IPV4_TRANSLATED}"))
    if address.sixtofour is not None:
        found.append((address.sixtofour, "6to4 2002::/16"))
    if address in _IPV4_COMPATIBLE:
        found.append((low32, f"IPv4-compatible {_IPV4_COMPATIBLE}"))
    if address in _TEREDO and address.teredo is not None:
        server, client = address.teredo
        found += [(server, f"Teredo server {_TEREDO}"), (client, f"Teredo client {_TEREDO}")]
    if (value >> 32) & _ISATAP_MASK == _ISATAP_IDENTIFIER:
        found.append((low32, "ISATAP ::5efe:a.b.c.d"))
    return found


def _parse_protected(cidr: object) -> Network:
    if not isinstance(cidr, str) or not cidr or not _HOST_CHARS.issuperset(cidr):
        raise ConfigurationError(f"protected CIDR is not an IP network: '{describe_host(cidr)}'")
    try:
        # Host bits are tolerated ("10.1.2.3/8" protects 10.0.0.0/8): widening a never-block list errs safe.
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise ConfigurationError(f"protected CIDR is not an IP network: '{describe_host(cidr)}'") from None
    mapped = ipaddress.IPv6Network("::ffff:0:0/96")
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(mapped):
        # Hosts are compared in their folded IPv4 form, so the network must be too.
        base = network.network_address.ipv4_mapped
        if base is not None:
            return ipaddress.IPv4Network((base, network.prefixlen - 96))
    return network


@dataclass(frozen=True)
class ProtectedNetworks:
    """The built-in never-block list plus the operator's additions (which cannot remove built-ins)."""

    networks: tuple[Network, ...] = BUILT_IN_PROTECTED

    @classmethod
    def with_extra(cls, extra_cidrs: Iterable[object]) -> "ProtectedNetworks":
        """Built-ins plus ``extra_cidrs``; ``ConfigurationError`` names the first invalid one."""
        return cls(BUILT_IN_PROTECTED + tuple(_parse_protected(cidr) for cidr in extra_cidrs))

    def protects(self, host: object) -> str | None:
        """The protected network ``host`` falls in, as text, or ``None`` if it may be blocked.

        ``host`` is parsed as ``normalize_host`` would (``InvalidAddress`` if it is not a host).
        """
        return self.protects_address(parse_host(host))

    def protects_address(self, address: Address) -> str | None:
        """``protects`` for an address already parsed by ``parse_host``."""
        match = self._match(address)
        if match is not None:
            return str(match)
        if isinstance(address, ipaddress.IPv6Address):
            for embedded, mechanism in embedded_ipv4(address):
                inner = self._match(embedded)
                if inner is not None:
                    return f"{inner} (embedded via {mechanism})"
        return None

    def _match(self, address: Address) -> Network | None:
        # Integer bounds: the writer checks every host of a 15,000-host group, and ``address in
        # network`` builds objects for each comparison.
        value = int(address)
        for version, first, last, network in self._bounds:
            if version == address.version and first <= value <= last:
                return network
        return None

    @functools.cached_property
    def _bounds(self) -> tuple[tuple[int, int, int, Network], ...]:
        return tuple((n.version, int(n.network_address), int(n.broadcast_address), n) for n in self.networks)
