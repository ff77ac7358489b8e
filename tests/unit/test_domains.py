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
    customer_name,
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
        # IDNA2008 / UTS 46 (non-transitional), as resolvers and browsers look names up: never IDNA2003.
        ("straße.de", "xn--strae-oqa.de"),
        ("STRASSE.de", "strasse.de"),
        ("Straße.DE", "xn--strae-oqa.de"),
        ("\u03b2\u03cc\u03bb\u03bf\u03c2.example", "xn--nxasmm1c.example"),  # final sigma kept
        ("\u0646\u0627\u0645\u0647\u200c\u0627\u06cc.ir", "xn--mgba3gch31f060k.ir"),  # ZWNJ in context
        ("ev\u200bil.example", "evil.example"),  # UTS 46 ignores a zero-width space, as resolvers do
        # What DNS carries in a query name, kept exactly as looked up (lower case):
        ("_dmarc.evil.example", "_dmarc.evil.example"),
        ("a_b.evil.example", "a_b.evil.example"),
        ("-evil.example", "-evil.example"),
        ("evil-.example", "evil-.example"),
        ("ab--cd.example", "ab--cd.example"),
        ("XN--ZZ.example", "xn--zz.example"),  # an A-label DNS resolves even if its punycode is odd
        ("xn--aa.example", "xn--aa.example"),
        ("_" * 63 + ".example", "_" * 63 + ".example"),
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
    ("url", "http://evil.example/", DomainSkip.BAD_CHARACTER),
    ("port", "evil.example:443", DomainSkip.BAD_CHARACTER),
    ("at-sign", "user@evil.example", DomainSkip.BAD_CHARACTER),
    ("ideographic-full-stop", "evil\u3002example", DomainSkip.BAD_CHARACTER),
    ("right-to-left-mark", "evil\u200f.example", DomainSkip.BAD_IDN),
    ("zwnj-out-of-context", "a\u200cb.example", DomainSkip.BAD_IDN),
    ("underscore-in-a-u-label", "\u00e4_b.example", DomainSkip.BAD_IDN),
    ("one-dot-leader", "\u2024evil.example", DomainSkip.BAD_IDN),
    ("exclamation", "ev!l.example", DomainSkip.BAD_CHARACTER),
    ("plus", "a+b.example", DomainSkip.BAD_CHARACTER),
    ("slash", "a/b.example", DomainSkip.BAD_CHARACTER),
    ("backslash", "a\\b.example", DomainSkip.BAD_CHARACTER),
    ("quote", 'a"b.example', DomainSkip.BAD_CHARACTER),
    ("semicolon", "a;b.example", DomainSkip.BAD_CHARACTER),
    ("del", "a\x7fb.example", DomainSkip.BAD_CHARACTER),
    ("non-breaking-space", "evil\u00a0.example", DomainSkip.BAD_CHARACTER),
    ("line-separator", "evil\u2028.example", DomainSkip.BAD_CHARACTER),
    ("label-64-after-idna", "\u00e4" * 60 + ".example", DomainSkip.BAD_IDN),  # IDNA2008 refuses the length
    ("name-254-with-underscores", ".".join(["_" * 63] * 3 + ["b" * 62]), DomainSkip.TOO_LONG),
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


def test_the_idna2008_name_is_another_domain_than_its_idna2003_folding() -> None:
    assert canonical_domain("straße.de") != canonical_domain("strasse.de")


QUERY_NAMES = [
    "_dmarc.evil.example",
    "-evil.example",
    "ab--cd.example",
    "xn--zz.example",
    "xn--strae-oqa.de",
    "straße.de",
]


@pytest.mark.parametrize("raw", QUERY_NAMES)
def test_a_name_dns_resolves_is_never_skipped_as_invalid(raw: str) -> None:
    for blocking in DomainBlocking:
        if blocking is DomainBlocking.OFF:
            continue
        policy = TargetPolicy.from_settings(
            Settings(table_name="t", rule_group_arn="a", domain_blocking=blocking)
        )
        outcome = policy.evaluate(dns(raw))
        assert not (isinstance(outcome, Skip) and outcome.reason is SkipReason.INVALID_DOMAIN), (
            blocking,
            outcome,
        )


@pytest.mark.parametrize(
    ("raw", "blocking", "blocked"),
    [
        ("-evil.example", DomainBlocking.DNS_FIREWALL, True),
        ("ab--cd.example", DomainBlocking.NETWORK_FIREWALL, True),
        ("ab--cd.example", DomainBlocking.BOTH, True),
        ("xn--strae-oqa.de", DomainBlocking.BOTH, True),
        ("xn--zz.example", DomainBlocking.BOTH, True),
        # DNS Firewall's API reference: letters, digits and hyphens only.
        ("_dmarc.evil.example", DomainBlocking.DNS_FIREWALL, False),
        # Network Firewall documents no character set: the sandbox holds it to host names (docs/LIMITS.md).
        ("_dmarc.evil.example", DomainBlocking.NETWORK_FIREWALL, False),
        ("-evil.example", DomainBlocking.NETWORK_FIREWALL, False),
        ("-evil.example", DomainBlocking.BOTH, False),
    ],
)
def test_a_name_a_configured_point_cannot_hold_is_skipped_saying_which(
    raw: str, blocking: DomainBlocking, blocked: bool
) -> None:
    policy = TargetPolicy.from_settings(
        Settings(table_name="t", rule_group_arn="a", domain_blocking=blocking)
    )

    outcome = policy.evaluate(dns(raw))

    if blocked:
        assert outcome == Target(canonical_domain(raw), FINDING, TargetKind.DOMAIN)
        assert policy.check_manual_domain(raw) == canonical_domain(raw)
    else:
        assert isinstance(outcome, Skip) and outcome.reason is SkipReason.UNENFORCEABLE_DOMAIN, outcome
        assert "Firewall" in outcome.detail
        with pytest.raises(InvalidInput, match="Firewall"):
            policy.check_manual_domain(raw)
        assert not policy.may_block_domain(canonical_domain(raw))


@pytest.mark.parametrize("entry", ["_dmarc.corp.example", "-odd.corp.example", "straße.de", "ab--cd.example"])
def test_an_operator_can_protect_any_name_dns_resolves(entry: str) -> None:
    protected = ProtectedDomains.with_extra([entry])
    assert protected.protects(canonical_domain(entry)) == canonical_domain(entry)


def test_there_are_at_least_thirty_hostile_domain_strings() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize(
    ("raw", "entry"),
    [
        ("amazonaws.com", "amazonaws.com"),
        ("s3.us-east-1.amazonaws.com", "amazonaws.com"),
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


AWS_ENDPOINTS = [
    "s3.amazonaws.com",
    "s3.us-east-1.amazonaws.com",
    "s3.dualstack.eu-west-1.amazonaws.com",
    "s3-us-west-2.amazonaws.com",
    "s3-website-us-east-1.amazonaws.com",
    "sts.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "ec2.us-east-1.amazonaws.com",
    "ec2-fips.us-gov-west-1.amazonaws.com",
    "ssm.eu-central-1.amazonaws.com",
    "api.ecr.us-east-1.amazonaws.com",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "runtime.sagemaker.us-east-1.amazonaws.com",
    "streams.dynamodb.us-east-1.amazonaws.com",
    "elasticloadbalancing.us-east-1.amazonaws.com",
    "123456789012.s3-control.us-east-1.amazonaws.com",
    "vpce-0a1b2c3d4e5f-abcdefgh.ec2.us-east-1.vpce.amazonaws.com",
    "bucket.vpce-0a1b2c3d4e5f-abcdefgh.s3.us-east-1.vpce.amazonaws.com",
    "s3.cn-north-1.amazonaws.com.cn",
    "lambda.us-east-1.api.aws",
    "vpc-lattice-svcs.us-east-1.on.aws",
    "signin.aws.amazon.com",
]
CUSTOMER_NAMES_ON_AWS = [
    "c2-staging.s3.amazonaws.com",
    "my.dotted.bucket.s3.amazonaws.com",
    "c2-staging.s3.us-east-1.amazonaws.com",
    "c2-staging.s3.dualstack.us-east-1.amazonaws.com",
    "c2-staging.s3-us-west-2.amazonaws.com",
    "c2-staging.s3-website-us-east-1.amazonaws.com",
    "c2-staging.s3-website.eu-west-1.amazonaws.com",
    "c2-staging.s3.cn-north-1.amazonaws.com.cn",
    "drop-123456789012.s3-accesspoint.us-east-1.amazonaws.com",
    "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
    "abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com",
    "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
    "c2-lb-1234567890.us-east-1.elb.amazonaws.com",
    "c2-nlb-0123456789abcdef.elb.us-east-1.amazonaws.com",
    "ec2-198-51-100-7.compute-1.amazonaws.com",
    "ec2-198-51-100-7.us-west-2.compute.amazonaws.com",
]


@pytest.mark.parametrize("name", AWS_ENDPOINTS)
def test_an_aws_service_endpoint_or_owned_name_stays_protected(name: str) -> None:
    outcome = POLICY.evaluate(dns(name))

    assert isinstance(outcome, Skip) and outcome.reason is SkipReason.PROTECTED, outcome
    with pytest.raises(InvalidInput, match="cannot be blocked"):
        POLICY.check_manual_domain(name)
    assert not POLICY.may_block_domain(name)


@pytest.mark.parametrize("name", CUSTOMER_NAMES_ON_AWS)
def test_a_name_a_customer_controls_under_an_aws_suffix_is_blockable(name: str) -> None:
    assert POLICY.evaluate(dns(name)) == Target(name, FINDING, TargetKind.DOMAIN)
    assert POLICY.check_manual_domain(name) == name
    assert POLICY.may_block_domain(name)


def test_an_operators_protected_domain_still_covers_a_customer_name_on_aws() -> None:
    protected = ProtectedDomains.with_extra(
        ["our-artifacts.s3.amazonaws.com", "execute-api.us-east-1.amazonaws.com"]
    )

    assert protected.protects("our-artifacts.s3.amazonaws.com") == "our-artifacts.s3.amazonaws.com"
    assert (
        protected.protects("a1b2c3d4e5.execute-api.us-east-1.amazonaws.com")
        == "execute-api.us-east-1.amazonaws.com"
    )
    assert protected.protects("c2-staging.s3.amazonaws.com") is None


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


@pytest.mark.parametrize("entry", ["", "*", "evil..example", "b\u00e4d_.example", "x" * 64])
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
    if customer_name(raw.lower().rstrip(".")) is not None:
        return  # a bucket, an API, an instance: someone's name under an AWS suffix (tested above)
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
