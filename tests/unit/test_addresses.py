"""Host normalisation and the never-block list."""

import pytest

from handlers.addresses import (
    BUILT_IN_PROTECTED,
    InvalidAddress,
    ProtectedNetworks,
    canonical_address,
    describe_host,
    normalize_host,
)
from handlers.errors import ConfigurationError, InvalidInput
from handlers.policy import TargetPolicy


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("198.51.100.7", "198.51.100.7/32"),
        ("198.51.100.7/32", "198.51.100.7/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("2001:DB8:0::1/128", "2001:db8::1/128"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1/128"),
        ("::ffff:198.51.100.7", "198.51.100.7/32"),
        ("::ffff:198.51.100.7/128", "198.51.100.7/32"),
        ("::FFFF:c633:6407", "198.51.100.7/32"),
        ("2001:db8::198.51.100.7", "2001:db8::c633:6407/128"),
        ("203.0.113.255", "203.0.113.255/32"),
    ],
    ids=lambda value: str(value),
)
def test_accepted_host_spellings_normalise_to_one_canonical_cidr(given: str, canonical: str) -> None:
    assert normalize_host(given) == canonical


def test_normalising_a_canonical_host_changes_nothing() -> None:
    assert normalize_host(normalize_host("2001:DB8::A")) == "2001:db8::a/128"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "not an IP address: ''"),
        (None, "not an IP address: NoneType None"),
        (7, "not an IP address: int 7"),
        (3325256711, "not an IP address: int"),
        (True, "not an IP address: bool True"),
        (["198.51.100.7"], "not an IP address: list"),
        ({"ip": "198.51.100.7"}, "not an IP address: dict"),
        (b"198.51.100.7", "not an IP address: bytes"),
        (198.51, "not an IP address: float"),
        ("999.1.1.1", "not an IP address: '999.1.1.1'"),
        ("198.51.100", "not an IP address"),
        ("198.51.100.7.", "not an IP address"),
        ("198.51.100.0/24", r"not a single host \(prefix must be /32\)"),
        ("198.51.100.0/0", r"prefix must be /32"),
        ("0.0.0.0/0", r"prefix must be /32"),
        ("::/0", r"prefix must be /128"),
        ("2001:db8::1/64", r"prefix must be /128"),
        ("::ffff:198.51.100.7/32", r"prefix must be /128"),
        ("198.51.100.7/032", r"prefix must be /32"),
        ("198.51.100.7/255.255.255.255", r"prefix must be /32"),
        ("198.51.100.7/", r"prefix must be /32"),
        (" 1.2.3.4", "not an IP address"),
        ("1.2.3.4\n", r"not an IP address: '1\.2\.3\.4\\n'"),
        ("1.2.3.4\x00", "not an IP address"),
        ("010.1.1.1", "not an IP address"),
        ("0x7f.0.0.1", "not an IP address"),
        ("fe80::1%eth0", "not an IP address"),
        ("2001:db8:::1", "not an IP address"),
        ("2001:db8::1::2", "not an IP address"),
        ("١٩٨.51.100.7", "not an IP address"),
        ("1" * 10_000, r"not an IP address: '1{60}\.\.\.'"),
        ("example.com", "not an IP address"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_anything_but_a_single_host_is_refused_with_a_message_naming_it(value: object, message: str) -> None:
    with pytest.raises(InvalidAddress, match=message):
        normalize_host(value)


def test_an_invalid_address_is_an_invalid_input_so_callers_can_catch_either() -> None:
    with pytest.raises(InvalidInput, match="999"):
        normalize_host("999.1.1.1")


def test_described_hosts_are_single_line_and_bounded() -> None:
    described = describe_host("a\nb" * 1000)

    assert "\n" not in described
    assert len(described) <= 63


def test_describing_a_huge_container_stays_short() -> None:
    assert len(describe_host(list(range(100_000)))) <= 60


@pytest.mark.parametrize("value", [10**5000, [10**5000], {"a": 10**5000}], ids=["int", "list", "dict"])
def test_describing_an_integer_too_long_to_print_stays_short(value: object) -> None:
    # Past sys.get_int_max_str_digits() (4,300), repr() of an int raises ValueError.
    described = describe_host(value)

    assert "too large" in described
    assert len(described) <= 60


BUILT_IN = ProtectedNetworks()


@pytest.mark.parametrize(
    ("host", "network"),
    [
        ("0.0.0.0", "0.0.0.0/8"),
        ("0.1.2.3", "0.0.0.0/8"),
        ("10.0.0.1", "10.0.0.0/8"),
        ("172.16.5.4", "172.16.0.0/12"),
        ("172.31.255.255", "172.16.0.0/12"),
        ("192.168.1.1", "192.168.0.0/16"),
        ("100.64.0.1", "100.64.0.0/10"),
        ("127.0.0.1", "127.0.0.0/8"),
        ("169.254.169.254", "169.254.169.254/32"),
        ("169.254.169.253", "169.254.0.0/16"),
        ("224.0.0.251", "224.0.0.0/4"),
        ("255.255.255.255", "240.0.0.0/4"),
        ("240.0.0.1", "240.0.0.0/4"),
        ("::", "::/128"),
        ("::1", "::1/128"),
        ("fe80::1", "fe80::/10"),
        ("ff02::1", "ff00::/8"),
        ("fd12:3456::1", "fc00::/7"),
        ("fd00:ec2::254", "fd00:ec2::254/128"),
        ("::ffff:10.0.0.1", "10.0.0.0/8"),
        ("::ffff:169.254.169.254", "169.254.169.254/32"),
        ("::ffff:127.0.0.1", "127.0.0.0/8"),
        ("::ffff:a9fe:a9fe", "169.254.169.254/32"),
        ("::ffff:100.64.0.1/128", "100.64.0.0/10"),
        ("::ffff:255.255.255.255", "240.0.0.0/4"),
        ("::ffff:0.0.0.0", "0.0.0.0/8"),
        ("64:ff9b::10.0.0.1", "10.0.0.0/8 (embedded via NAT64 64:ff9b::/96)"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254/32 (embedded via NAT64 64:ff9b::/96)"),
        ("2002:c0a8:0101::1", "192.168.0.0/16 (embedded via 6to4 2002::/16)"),
        ("::127.0.0.1", "127.0.0.0/8 (embedded via IPv4-compatible ::/96)"),
    ],
    ids=lambda value: str(value),
)
def test_built_in_never_block_list_names_the_network_protecting_a_host(host: str, network: str) -> None:
    assert BUILT_IN.protects(host) == network


@pytest.mark.parametrize(
    ("host", "network"),
    [
        # The three a hostile review got blocked.
        ("::ffff:0:a00:1", "10.0.0.0/8 (embedded via SIIT ::ffff:0:0:0/96)"),
        ("64:ff9b:1::a00:1", "64:ff9b:1::/48"),
        ("fec0::1", "fec0::/10"),
        # Their siblings: other IPv6 spellings of an internal IPv4 host...
        ("::ffff:0:169.254.169.254", "169.254.169.254/32 (embedded via SIIT ::ffff:0:0:0/96)"),
        ("64:ff9b:1:a00:1::", "64:ff9b:1::/48"),  # a /64 NAT64 prefix puts the IPv4 host elsewhere
        ("2001:0:a00:1::1", "10.0.0.0/8 (embedded via Teredo server 2001::/32)"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.0/8 (embedded via Teredo client 2001::/32)"),
        ("2001:db8::5efe:a00:1", "10.0.0.0/8 (embedded via ISATAP ::5efe:a.b.c.d)"),
        ("2600:1f18::200:5efe:c0a8:101", "192.168.0.0/16 (embedded via ISATAP ::5efe:a.b.c.d)"),
        ("2002:a9fe:a9fe::1", "169.254.169.254/32 (embedded via 6to4 2002::/16)"),
        # ...and special-purpose ranges that are never a remote attacker.
        ("192.0.0.170", "192.0.0.0/24"),
        ("192.88.99.1", "192.88.99.0/24"),
        ("100::1", "100::/64"),
        ("5f00::1", "5f00::/16"),
        ("fedc::1", "fec0::/10"),
    ],
    ids=lambda value: str(value),
)
def test_never_block_list_closes_the_gaps_a_hostile_review_found(host: str, network: str) -> None:
    assert BUILT_IN.protects(host) == network
    assert not TargetPolicy().may_rule(normalize_host(host))


@pytest.mark.parametrize(
    "host",
    [
        "198.51.100.0",  # the reference finding's host: documentation ranges must stay blockable
        "203.0.113.45",
        "192.0.2.1",
        "8.8.8.8",
        "100.128.0.1",
        "172.32.0.1",
        "2001:db8::1",
        "2600:1f18::1",
        "64:ff9b::198.51.100.7",
        "2002:cb00:712d::1",
        "::ffff:198.51.100.7",
        "::ffff:0:198.51.100.7",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo: public server, public client
        "2001:db8::5efe:c633:6407",  # ISATAP around 198.51.100.7
        "2001:db8::5efe",  # not ISATAP: the identifier is the low bits, not the embedded host
        "64:ff9b:2::1",
        "fe00::1",
        "2001:2::1",  # benchmarking, like 198.18.0.0/15
    ],
)
def test_public_and_documentation_hosts_are_not_protected(host: str) -> None:
    assert BUILT_IN.protects(host) is None


def test_built_in_list_covers_ipv4_and_ipv6() -> None:
    assert {network.version for network in BUILT_IN_PROTECTED} == {4, 6}


def test_protecting_an_invalid_host_raises_invalid_address() -> None:
    with pytest.raises(InvalidAddress, match="not an IP address"):
        BUILT_IN.protects("not-an-ip")


def test_extra_cidrs_protect_hosts_in_addition_to_the_built_ins() -> None:
    networks = ProtectedNetworks.with_extra(["203.0.113.0/24", "2001:db8:cafe::/48"])

    assert networks.protects("203.0.113.9") == "203.0.113.0/24"
    assert networks.protects("2001:db8:cafe::7") == "2001:db8:cafe::/48"
    assert networks.protects("10.0.0.1") == "10.0.0.0/8"


def test_an_extra_cidr_with_host_bits_protects_its_whole_network() -> None:
    networks = ProtectedNetworks.with_extra(["203.0.113.77/24"])

    assert networks.protects("203.0.113.1") == "203.0.113.0/24"


def test_an_extra_bare_address_protects_that_host() -> None:
    networks = ProtectedNetworks.with_extra(["198.51.100.9"])

    assert networks.protects("198.51.100.9") == "198.51.100.9/32"
    assert networks.protects("198.51.100.10") is None


def test_an_extra_ipv4_mapped_cidr_protects_the_ipv4_hosts() -> None:
    networks = ProtectedNetworks.with_extra(["::ffff:198.51.100.0/120"])

    assert networks.protects("198.51.100.4") == "198.51.100.0/24"


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("not-a-cidr", "not-a-cidr"),
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("", "''"),
        (" 10.0.0.0/8", "' 10.0.0.0/8'"),
        ("fe80::/10%eth0", "fe80::/10%eth0"),
        (42, "42"),
    ],
    ids=lambda value: repr(value),
)
def test_an_invalid_extra_cidr_is_a_configuration_error_naming_it(cidr: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ProtectedNetworks.with_extra([cidr])


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("198.51.100.7/32", True),
        ("0.0.0.0/32", True),
        ("255.255.255.255/32", True),
        ("198.51.100.07/32", False),
        ("198.51.100.256/32", False),
        ("198.51.100/32", False),
        ("198.51.100.7.1/32", False),
        ("198.51.100.7", False),
        ("198.51.100.7/24", False),
        (" 198.51.100.7/32", False),
        ("1.2.3.+4/32", False),
        ("\u0661\u0669\u0668.51.100.7/32", False),
        ("2001:db8::1/128", True),
        ("2001:DB8::1/128", False),
        ("2001:db8:0::1/128", False),
        ("::ffff:198.51.100.7/128", False),
        ("", False),
    ],
)
def test_canonical_address_accepts_exactly_the_text_normalize_host_produces(
    text: str, canonical: bool
) -> None:
    assert (canonical_address(text) is not None) is canonical
    if canonical:
        assert normalize_host(text) == text
