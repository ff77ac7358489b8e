"""Domains (issue 12): canonical form, hostile strings, the never-block list, extraction and policy."""

import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.patterns import guardduty_pattern, security_hub_pattern
from handlers.domains import (
    BUILT_IN_PROTECTED_DOMAINS,
    DNS_REQUEST_ACTION,
    DomainSkip,
    InvalidDomain,
    ProtectedDomains,
    canonical_domain,
    host_kind,
    looks_like_domain,
)
from handlers.errors import ConfigurationError, InvalidInput
from handlers.extraction import extract
from handlers.model import Candidate, FindingRef, Skip, SkipReason, Target, TargetKind
from handlers.policy import TargetPolicy
from handlers.settings import DomainBlocking, Settings
from tests.unit.test_patterns import matches

FINDING = FindingRef(
    id="f",
    type="Backdoor:EC2/C&CActivity.B!DNS",
    severity=8.0,
    account="1",
    region="us-east-1",
    last_seen=1.0,
)
POLICY = TargetPolicy.from_settings(
    Settings(
        table_name="t",
        rule_group_arn="a",
        domain_blocking=DomainBlocking.NETWORK_FIREWALL,
        protected_domains=("Corp.Example.", ".intra"),
    )
)


def dns(domain: object) -> Candidate:
    return Candidate(raw_host=domain, finding=FINDING, action=DNS_REQUEST_ACTION, kind=TargetKind.DOMAIN)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("guarddutyc2activityb.com", "guarddutyc2activityb.com"),
        ("GuardDutyC2ActivityB.COM", "guarddutyc2activityb.com"),
        ("guarddutyc2activityb.com.", "guarddutyc2activityb.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("ｅｖｉｌ.example", "evil.example"),  # noqa: RUF001 - full-width letters fold to ASCII
        ("a-b.c-d.example", "a-b.c-d.example"),
        ("1password.example", "1password.example"),
        ("x" * 63 + ".example", "x" * 63 + ".example"),
        (".".join(["a" * 61] * 4), ".".join(["a" * 61] * 4)),  # 247 characters
    ],
)
def test_a_domain_has_one_canonical_spelling(raw: str, canonical: str) -> None:
    assert canonical_domain(raw) == canonical


HOSTILE: list[tuple[str, object, DomainSkip]] = [
    ("not-text-int", 7, DomainSkip.NOT_TEXT),
    ("not-text-none", None, DomainSkip.NOT_TEXT),
    ("not-text-list", ["evil.example"], DomainSkip.NOT_TEXT),
    ("empty", "", DomainSkip.EMPTY),
    ("only-a-dot", ".", DomainSkip.EMPTY),
    ("double-dot", "evil..example", DomainSkip.EMPTY_LABEL),
    ("leading-dot", ".evil.example", DomainSkip.EMPTY_LABEL),
    ("two-trailing-dots", "evil.example..", DomainSkip.EMPTY_LABEL),
    ("leading-hyphen", "-evil.example", DomainSkip.BAD_HYPHEN),
    ("trailing-hyphen", "evil-.example", DomainSkip.BAD_HYPHEN),
    ("reserved-hyphens", "ab--cd.example", DomainSkip.BAD_HYPHEN),
    ("label-64", "x" * 64 + ".example", DomainSkip.LABEL_TOO_LONG),
    ("name-254", ".".join(["a" * 63] * 3 + ["b" * 62]), DomainSkip.TOO_LONG),
    ("huge", "a." * 5000 + "example", DomainSkip.TOO_LONG),
    ("wildcard", "*.evil.example", DomainSkip.WILDCARD),
    ("bare-star", "*", DomainSkip.WILDCARD),
    ("inner-star", "ev*l.example", DomainSkip.WILDCARD),
    ("bare-tld", "com", DomainSkip.BARE_TLD),
    ("bare-tld-dot", "com.", DomainSkip.BARE_TLD),
    ("localhost", "localhost", DomainSkip.BARE_TLD),
    ("ipv4-literal", "198.51.100.7", DomainSkip.IP_LITERAL),
    ("ipv4-literal-dot", "198.51.100.7.", DomainSkip.IP_LITERAL),
    ("ipv6-literal", "2001:db8::1", DomainSkip.BAD_CHARACTER),
    ("bracketed-ipv6", "[2001:db8::1]", DomainSkip.BAD_CHARACTER),
    ("nul", "evil\x00.example", DomainSkip.BAD_CHARACTER),
    ("newline", "evil.example\nother.example", DomainSkip.BAD_CHARACTER),
    ("tab", "evil\t.example", DomainSkip.BAD_CHARACTER),
    ("space", "evil .example", DomainSkip.BAD_CHARACTER),
    ("leading-space", " evil.example", DomainSkip.BAD_CHARACTER),
    ("underscore", "_dmarc.evil.example", DomainSkip.BAD_CHARACTER),
    ("url", "http://evil.example/", DomainSkip.BAD_CHARACTER),
    ("port", "evil.example:443", DomainSkip.BAD_CHARACTER),
    ("at-sign", "user@evil.example", DomainSkip.BAD_CHARACTER),
    ("bad-punycode", "xn--zz.example", DomainSkip.BAD_PUNYCODE),
    ("uncanonical-punycode", "xn--aa.example", DomainSkip.BAD_PUNYCODE),
    ("ideographic-full-stop", "evil\u3002example", DomainSkip.BAD_CHARACTER),
    ("right-to-left-mark", "evil\u200f.example", DomainSkip.BAD_CHARACTER),
    ("zero-width-space", "ev\u200bil.example", DomainSkip.BAD_CHARACTER),
]


@pytest.mark.parametrize(
    ("raw", "why"), [(raw, why) for _, raw, why in HOSTILE], ids=[n for n, _, _ in HOSTILE]
)
def test_a_hostile_domain_string_is_refused_with_its_reason(raw: object, why: DomainSkip) -> None:
    with pytest.raises(InvalidDomain) as raised:
        canonical_domain(raw)
    assert raised.value.why is why
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 200


@pytest.mark.parametrize(
    ("raw", "why"), [(raw, why) for _, raw, why in HOSTILE], ids=[n for n, _, _ in HOSTILE]
)
def test_a_hostile_domain_in_a_finding_is_skipped_never_blocked(raw: object, why: DomainSkip) -> None:
    outcome = POLICY.evaluate(dns(raw))
    assert isinstance(outcome, Skip), outcome
    assert outcome.reason is SkipReason.INVALID_DOMAIN


def test_there_are_at_least_thirty_hostile_domain_strings() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize(
    ("raw", "entry"),
    [
        ("amazonaws.com", "amazonaws.com"),
        ("s3.us-east-1.amazonaws.com", "amazonaws.com"),
        ("ec2-198-51-100-7.compute-1.amazonaws.com", "amazonaws.com"),
        ("AWS.Amazon.COM.", "amazon.com"),
        ("signin.aws.amazon.com", "amazon.com"),
        ("ip-10-0-1-23.ec2.internal", "internal"),
        ("ip-10-0-1-23.eu-west-1.compute.internal", "internal"),
        ("printer.local", "local"),
        ("db.localhost", "localhost"),
        ("7.100.51.198.in-addr.arpa", "arpa"),
        ("ａｍａｚｏｎａｗｓ.com", "amazonaws.com"),  # noqa: RUF001 - full-width letters are the same name
        ("corp.example", "corp.example"),  # config "Corp.Example." (upper case, trailing dot)
        ("vpn.CORP.example", "corp.example"),
        ("wiki.intra", "intra"),  # config ".intra" (leading dot: the name and its subdomains)
    ],
)
def test_a_protected_domain_or_a_subdomain_of_one_is_never_blocked(raw: str, entry: str) -> None:
    outcome = POLICY.evaluate(dns(raw))
    assert isinstance(outcome, Skip) and outcome.reason is SkipReason.PROTECTED, outcome
    assert entry in outcome.detail
    with pytest.raises(InvalidInput, match="cannot be blocked"):
        POLICY.check_manual_domain(raw)
    assert not POLICY.may_block_domain(canonical_domain(raw))


def test_a_name_that_only_ends_like_a_protected_one_is_not_protected() -> None:
    # "notamazonaws.com" is someone else's domain: protection is by whole labels.
    outcome = POLICY.evaluate(dns("notamazonaws.com"))
    assert outcome == Target("notamazonaws.com", FINDING, TargetKind.DOMAIN)
    assert POLICY.evaluate(dns("corp.example.evil.example")) == Target(
        "corp.example.evil.example", FINDING, TargetKind.DOMAIN
    )


def test_a_homoglyph_of_a_protected_name_is_another_domain_and_stays_blockable() -> None:
    # Cyrillic small a (U+0430): a look-alike phishing domain, not Amazon's; it becomes punycode.
    outcome = POLICY.evaluate(dns("\u0430mazonaws.com"))
    assert isinstance(outcome, Target) and outcome.host.startswith("xn--")


@pytest.mark.parametrize("entry", ["", "*", "evil..example", "-bad.example", "x" * 64])
def test_a_malformed_protected_domain_entry_is_a_configuration_error(entry: str) -> None:
    with pytest.raises(ConfigurationError, match="protectedDomains entry"):
        ProtectedDomains.with_extra([entry])


def test_the_built_in_list_names_aws_own_and_the_vpc_resolver_names() -> None:
    assert {"amazonaws.com", "aws.amazon.com", "amazon.com", "internal", "local", "ec2.internal"} <= set(
        BUILT_IN_PROTECTED_DOMAINS
    )


_LABEL = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    entry=st.sampled_from([*BUILT_IN_PROTECTED_DOMAINS, "corp.example", "intra"]),
    prefix=st.lists(_LABEL, max_size=4),
    upper=st.booleans(),
    trailing_dot=st.booleans(),
)
def test_nothing_under_a_protected_name_is_ever_accepted(
    entry: str, prefix: list[str], upper: bool, trailing_dot: bool
) -> None:
    raw = ".".join([*prefix, entry])
    raw = raw.upper() if upper else raw
    raw = raw + "." if trailing_dot else raw
    outcome = POLICY.evaluate(dns(raw))
    assert not isinstance(outcome, Target), raw
    assert not POLICY.may_block_domain(raw.lower().rstrip("."))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_whatever_the_string_a_target_is_canonical_and_unprotected(raw: str) -> None:
    outcome = POLICY.evaluate(dns(raw))
    if isinstance(outcome, Target):
        assert canonical_domain(outcome.host) == outcome.host
        assert POLICY.protected_domains.protects(outcome.host) is None
        assert POLICY.may_block_domain(outcome.host)


def test_with_domain_blocking_off_a_dns_finding_still_ends_as_no_remote_ip() -> None:
    off = TargetPolicy.from_settings(Settings(table_name="t", rule_group_arn="a"))
    assert off.evaluate(dns("guarddutyc2activityb.com")) == Skip(
        "", SkipReason.NO_REMOTE_IP, "f", "no remote IP in DNS_REQUEST finding"
    )
    with pytest.raises(InvalidInput, match="domain blocking is off"):
        off.check_manual_domain("guarddutyc2activityb.com")


@pytest.mark.parametrize(
    "sample", ["guardduty-native-dns-c2.json", "securityhub-guardduty-dns-c2-finding.json"]
)
def test_the_c2_dns_finding_names_guarddutys_test_domain_in_both_shapes(
    load_sample: Callable[[str], Any], sample: str
) -> None:
    extraction = extract(load_sample(sample))
    assert [(c.raw_host, c.action) for c in extraction.candidates] == [
        ("guarddutyc2activityb.com", DNS_REQUEST_ACTION)
    ]
    (candidate,) = extraction.candidates
    assert candidate.finding.type.replace(".", "/").endswith("C&CActivity/B!DNS")
    assert POLICY.evaluate(candidate) == Target(
        "guarddutyc2activityb.com", candidate.finding, TargetKind.DOMAIN
    )


def test_dns_findings_reach_the_workflow_only_when_domain_blocking_is_on(
    load_sample: Callable[[str], Any],
) -> None:
    native = load_sample("guardduty-native-dns-c2.json")
    imported = load_sample("securityhub-guardduty-dns-c2-finding.json")
    assert matches(guardduty_pattern(domains=True), native)
    assert matches(security_hub_pattern(domains=True), imported)
    assert not matches(guardduty_pattern(), native)
    assert not matches(security_hub_pattern(), imported)


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("evil.example", True),
        ("beef.cafe", True),
        ("*.evil.example", True),
        ("198.51.100.7", False),
        ("198.51.100.7/32", False),
        ("2001:db8::1", False),
        ("::ffff:198.51.100.7", False),
        (7, False),
    ],
)
def test_an_operator_argument_is_read_as_a_domain_only_when_it_looks_like_one(
    value: object, domain: bool
) -> None:
    assert looks_like_domain(value) is domain


def test_ledger_keys_tell_domains_from_ip_hosts() -> None:
    assert host_kind("198.51.100.7/32") == "address"
    assert host_kind("2001:db8::1/128") == "address"
    assert host_kind("guarddutyc2activityb.com") == "domain"
