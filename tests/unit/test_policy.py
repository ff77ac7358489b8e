"""The target policy: which candidates are blocked, and the reason for each one that is not."""

from dataclasses import replace
from typing import Any

import pytest

from handlers.addresses import InvalidAddress
from handlers.errors import ConfigurationError, InvalidInput
from handlers.model import Candidate, FindingRef, FindingState, Skip, SkipReason, Target, TargetKind
from handlers.policy import TargetPolicy
from handlers.settings import Settings

FINDING = FindingRef(
    id="finding-1",
    type="Backdoor:EC2/C&CActivity.B",
    severity=8.0,
    account="123456789012",
    region="us-east-1",
    last_seen=1_700_000_000.0,
)


def candidate(
    raw_host: object = "198.51.100.7", action: str = "networkConnectionAction", **finding: Any
) -> Candidate:
    kind = TargetKind.DOMAIN if action == "dnsRequestAction" else TargetKind.ADDRESS
    return Candidate(raw_host=raw_host, finding=replace(FINDING, **finding), action=action, kind=kind)


def settings(**overrides: Any) -> Settings:
    return Settings(
        table_name="blocklist", rule_group_arn="arn:aws:network-firewall:::stateless", **overrides
    )


DEFAULT = TargetPolicy.from_settings(settings())


def test_a_public_host_from_an_active_finding_becomes_a_canonical_target() -> None:
    assert DEFAULT.evaluate(candidate("2001:DB8::7")) == Target(
        "2001:db8::7/128", FINDING, TargetKind.ADDRESS
    )


def test_the_reference_documentation_host_is_blockable() -> None:
    assert DEFAULT.evaluate(candidate("198.51.100.0")) == Target(
        "198.51.100.0/32", FINDING, TargetKind.ADDRESS
    )


HOSTILE: list[tuple[str, Candidate, SkipReason]] = [
    # Malformed hosts.
    ("empty", candidate(""), SkipReason.INVALID_ADDRESS),
    ("none", candidate(None), SkipReason.INVALID_ADDRESS),
    ("int", candidate(3325256711), SkipReason.INVALID_ADDRESS),
    ("bool", candidate(True), SkipReason.INVALID_ADDRESS),
    ("float", candidate(1.5), SkipReason.INVALID_ADDRESS),
    ("list", candidate(["198.51.100.7"]), SkipReason.INVALID_ADDRESS),
    ("dict", candidate({"ipAddressV4": "198.51.100.7"}), SkipReason.INVALID_ADDRESS),
    ("bytes", candidate(b"198.51.100.7"), SkipReason.INVALID_ADDRESS),
    ("octet-too-big", candidate("999.1.1.1"), SkipReason.INVALID_ADDRESS),
    ("three-octets", candidate("198.51.100"), SkipReason.INVALID_ADDRESS),
    ("network-24", candidate("198.51.100.0/24"), SkipReason.INVALID_ADDRESS),
    ("network-slash-0", candidate("198.51.100.0/0"), SkipReason.INVALID_ADDRESS),
    ("everything-v4", candidate("0.0.0.0/0"), SkipReason.INVALID_ADDRESS),
    ("everything-v6", candidate("::/0"), SkipReason.INVALID_ADDRESS),
    ("v6-network", candidate("2001:db8::/32"), SkipReason.INVALID_ADDRESS),
    ("leading-space", candidate(" 198.51.100.7"), SkipReason.INVALID_ADDRESS),
    ("trailing-newline", candidate("198.51.100.7\n"), SkipReason.INVALID_ADDRESS),
    ("leading-zeros", candidate("010.1.1.1"), SkipReason.INVALID_ADDRESS),
    ("hex-octet", candidate("0xc6.51.100.7"), SkipReason.INVALID_ADDRESS),
    ("zone-id", candidate("fe80::1%eth0"), SkipReason.INVALID_ADDRESS),
    ("huge", candidate("9" * 10_000), SkipReason.INVALID_ADDRESS),
    ("hostname", candidate("evil.example.com"), SkipReason.INVALID_ADDRESS),
    ("comma-list", candidate("198.51.100.7,203.0.113.1"), SkipReason.INVALID_ADDRESS),
    ("netmask", candidate("198.51.100.7/255.255.255.255"), SkipReason.INVALID_ADDRESS),
    ("nul-byte", candidate("198.51.100.7\x00"), SkipReason.INVALID_ADDRESS),
    ("arabic-digits", candidate("١٩٨.51.100.7"), SkipReason.INVALID_ADDRESS),
    # Hosts that must never be blocked.
    ("unspecified-v4", candidate("0.0.0.0"), SkipReason.PROTECTED),
    ("unspecified-v6", candidate("::"), SkipReason.PROTECTED),
    ("loopback-v4", candidate("127.0.0.1"), SkipReason.PROTECTED),
    ("loopback-v6", candidate("::1"), SkipReason.PROTECTED),
    ("rfc1918-10", candidate("10.0.0.1"), SkipReason.PROTECTED),
    ("rfc1918-172", candidate("172.16.0.1"), SkipReason.PROTECTED),
    ("rfc1918-192", candidate("192.168.0.1/32"), SkipReason.PROTECTED),
    ("cgnat", candidate("100.64.0.1"), SkipReason.PROTECTED),
    ("metadata-v4", candidate("169.254.169.254"), SkipReason.PROTECTED),
    ("metadata-v6", candidate("fd00:ec2::254"), SkipReason.PROTECTED),
    ("link-local-v6", candidate("fe80::1"), SkipReason.PROTECTED),
    ("multicast-v4", candidate("224.0.0.1"), SkipReason.PROTECTED),
    ("multicast-v6", candidate("ff02::1"), SkipReason.PROTECTED),
    ("broadcast", candidate("255.255.255.255"), SkipReason.PROTECTED),
    ("mapped-metadata", candidate("::ffff:169.254.169.254"), SkipReason.PROTECTED),
    ("mapped-rfc1918", candidate("::ffff:10.1.2.3/128"), SkipReason.PROTECTED),
    ("mapped-hex-loopback", candidate("::ffff:7f00:1"), SkipReason.PROTECTED),
    ("nat64-rfc1918", candidate("64:ff9b::10.0.0.1"), SkipReason.PROTECTED),
    ("6to4-metadata", candidate("2002:a9fe:a9fe::1"), SkipReason.PROTECTED),
    # Findings the policy must not act on, even with a perfectly good host.
    ("archived", candidate(state=FindingState.ARCHIVED), SkipReason.ARCHIVED),
    ("suppressed", candidate(state=FindingState.SUPPRESSED), SkipReason.SUPPRESSED),
    ("opt-in-not-enabled", candidate(action="awsApiCallAction"), SkipReason.ACTION_NOT_ENABLED),
    ("dns-while-domain-blocking-is-off", candidate(action="dnsRequestAction"), SkipReason.NO_REMOTE_IP),
    ("unknown-action", candidate(action="somethingElseAction"), SkipReason.ACTION_NOT_ENABLED),
    ("empty-action", candidate(action=""), SkipReason.ACTION_NOT_ENABLED),
    ("nan-severity", candidate(severity=float("nan")), SkipReason.BELOW_MIN_SEVERITY),
    ("negative-severity", candidate(severity=-1.0), SkipReason.BELOW_MIN_SEVERITY),
    ("minus-infinity", candidate(severity=float("-inf")), SkipReason.BELOW_MIN_SEVERITY),
    # The first failing check wins.
    ("archived-and-invalid", candidate("999.1.1.1", state=FindingState.ARCHIVED), SkipReason.ARCHIVED),
    (
        "action-before-state",
        candidate(action="x", state=FindingState.ARCHIVED),
        SkipReason.ACTION_NOT_ENABLED,
    ),
    ("invalid-before-protected", candidate("10.0.0.0/8"), SkipReason.INVALID_ADDRESS),
]


@pytest.mark.parametrize(
    ("given", "reason"),
    [(given, reason) for _, given, reason in HOSTILE],
    ids=[name for name, _, _ in HOSTILE],
)
def test_hostile_candidates_are_skipped_with_their_exact_reason(given: Candidate, reason: SkipReason) -> None:
    outcome = DEFAULT.evaluate(given)

    assert isinstance(outcome, Skip)
    assert (outcome.reason, outcome.finding_id) == (reason, "finding-1")


@pytest.mark.parametrize("given", [given for _, given, _ in HOSTILE], ids=[name for name, _, _ in HOSTILE])
def test_skipped_hosts_are_shown_as_bounded_single_line_text(given: Candidate) -> None:
    outcome = DEFAULT.evaluate(given)

    assert isinstance(outcome, Skip)
    assert isinstance(outcome.host, str)
    assert "\n" not in outcome.host and "\x00" not in outcome.host
    assert len(outcome.host) <= 63


def test_a_protected_skip_names_the_protecting_network() -> None:
    outcome = DEFAULT.evaluate(candidate("::ffff:169.254.169.254"))

    assert outcome == Skip(
        host="169.254.169.254/32",
        reason=SkipReason.PROTECTED,
        finding_id="finding-1",
        detail="169.254.169.254/32 is inside protected network 169.254.169.254/32",
    )


def test_an_invalid_address_skip_explains_what_is_wrong() -> None:
    outcome = DEFAULT.evaluate(candidate("198.51.100.0/24"))

    assert isinstance(outcome, Skip)
    assert outcome.detail == "not a single host (prefix must be /32): '198.51.100.0/24'"


# --- Filters ---------------------------------------------------------------------------------------


def test_severity_below_the_minimum_is_skipped() -> None:
    policy = TargetPolicy.from_settings(settings(min_severity=7.0))

    outcome = policy.evaluate(candidate(severity=6.9))

    assert isinstance(outcome, Skip) and outcome.reason == SkipReason.BELOW_MIN_SEVERITY


def test_severity_equal_to_the_minimum_is_blocked() -> None:
    policy = TargetPolicy.from_settings(settings(min_severity=7.0))

    assert isinstance(policy.evaluate(candidate(severity=7.0)), Target)


def test_an_excluded_type_prefix_skips_the_finding() -> None:
    policy = TargetPolicy.from_settings(settings(finding_type_exclude=("Recon:",)))

    outcome = policy.evaluate(candidate(type="Recon:EC2/PortProbeUnprotectedPort"))

    assert isinstance(outcome, Skip) and outcome.reason == SkipReason.TYPE_EXCLUDED


def test_a_type_outside_the_include_prefixes_is_skipped() -> None:
    policy = TargetPolicy.from_settings(settings(finding_type_include=("Backdoor:", "CryptoCurrency:")))

    outcome = policy.evaluate(candidate(type="Recon:EC2/PortProbeUnprotectedPort"))

    assert isinstance(outcome, Skip) and outcome.reason == SkipReason.TYPE_NOT_INCLUDED


def test_a_type_inside_the_include_prefixes_is_blocked() -> None:
    policy = TargetPolicy.from_settings(settings(finding_type_include=("Recon:EC2/PortProbe",)))

    assert isinstance(policy.evaluate(candidate(type="Recon:EC2/PortProbeUnprotectedPort")), Target)


def test_exclude_wins_over_include() -> None:
    policy = TargetPolicy.from_settings(
        settings(
            finding_type_include=("Backdoor:",), finding_type_exclude=("Backdoor:EC2/C&CActivity.B!DNS",)
        )
    )

    outcome = policy.evaluate(candidate(type="Backdoor:EC2/C&CActivity.B!DNS"))

    assert isinstance(outcome, Skip) and outcome.reason == SkipReason.TYPE_EXCLUDED


def test_type_prefixes_are_case_sensitive() -> None:
    policy = TargetPolicy.from_settings(settings(finding_type_exclude=("recon:",)))

    assert isinstance(policy.evaluate(candidate(type="Recon:EC2/PortProbeUnprotectedPort")), Target)


@pytest.mark.parametrize(
    "finding_type",
    ["Recon:EC2/PortProbeUnprotectedPort", "Recon:EC2.PortProbeUnprotectedPort"],
    ids=["native", "security-hub"],
)
def test_one_type_prefix_filters_native_and_security_hub_spellings_alike(finding_type: str) -> None:
    policy = TargetPolicy.from_settings(settings(finding_type_exclude=("Recon:EC2/PortProbe",)))

    outcome = policy.evaluate(candidate(type=finding_type))

    assert isinstance(outcome, Skip) and outcome.reason == SkipReason.TYPE_EXCLUDED


def test_type_filter_is_checked_before_severity() -> None:
    policy = TargetPolicy.from_settings(settings(min_severity=9.0, finding_type_exclude=("Backdoor:",)))

    outcome = policy.evaluate(candidate(severity=1.0))

    assert isinstance(outcome, Skip) and outcome.reason == SkipReason.TYPE_EXCLUDED


@pytest.mark.parametrize(
    "action", ["awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"], ids=str
)
def test_an_enabled_opt_in_action_is_blocked(action: str) -> None:
    policy = TargetPolicy.from_settings(settings(action_types=(action,)))

    assert isinstance(policy.evaluate(candidate(action=action)), Target)


def test_enabling_one_opt_in_action_leaves_the_others_off() -> None:
    policy = TargetPolicy.from_settings(settings(action_types=("awsApiCallAction",)))

    outcome = policy.evaluate(candidate(action="rdsLoginAttemptAction"))

    assert isinstance(outcome, Skip) and outcome.reason == SkipReason.ACTION_NOT_ENABLED


@pytest.mark.parametrize("action", ["networkConnectionAction", "portProbeAction"], ids=str)
def test_network_connection_and_port_probe_are_always_enabled(action: str) -> None:
    assert isinstance(DEFAULT.evaluate(candidate(action=action)), Target)


def test_custom_protected_cidrs_are_honoured() -> None:
    policy = TargetPolicy.from_settings(settings(protected_cidrs=("203.0.113.0/24",)))

    outcome = policy.evaluate(candidate("203.0.113.9"))

    assert isinstance(outcome, Skip)
    assert (outcome.reason, outcome.detail) == (
        SkipReason.PROTECTED,
        "203.0.113.9/32 is inside protected network 203.0.113.0/24",
    )


def test_custom_protected_cidrs_cannot_remove_the_built_ins() -> None:
    policy = TargetPolicy.from_settings(settings(protected_cidrs=("203.0.113.0/24",)))

    outcome = policy.evaluate(candidate("10.0.0.1"))

    assert isinstance(outcome, Skip) and outcome.reason == SkipReason.PROTECTED


# --- Configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"protected_cidrs": ("10.0.0.0/8", "bogus")}, "bogus"),
        ({"action_types": ("dnsRequestAction",)}, "dnsRequestAction"),
        ({"min_severity": float("nan")}, "finite"),
        ({"min_severity": float("inf")}, "finite"),
        ({"finding_type_exclude": ("",)}, "must not be empty"),
        ({"finding_type_include": (" ",)}, "must not be empty"),
    ],
    ids=["protected-cidr", "action-type", "nan-severity", "inf-severity", "empty-exclude", "blank-include"],
)
def test_invalid_settings_are_a_configuration_error_naming_the_value(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TargetPolicy.from_settings(settings(**overrides))


# --- Many candidates -------------------------------------------------------------------------------


def test_evaluate_all_targets_each_host_once_with_its_first_finding() -> None:
    first = candidate("198.51.100.7")
    again_mapped = candidate("::ffff:198.51.100.7", id="finding-2")
    again_cidr = candidate("198.51.100.7/32", id="finding-3")

    targets, skipped = DEFAULT.evaluate_all([first, again_mapped, again_cidr])

    assert targets == [Target("198.51.100.7/32", FINDING, TargetKind.ADDRESS)]
    assert skipped == []


def test_evaluate_all_keeps_candidate_order_and_splits_targets_from_skips() -> None:
    targets, skipped = DEFAULT.evaluate_all(
        [candidate("203.0.113.9"), candidate("10.0.0.1"), candidate("2001:db8::9"), candidate("bad")]
    )

    assert [t.host for t in targets] == ["203.0.113.9/32", "2001:db8::9/128"]
    assert [(s.host, s.reason) for s in skipped] == [
        ("10.0.0.1/32", SkipReason.PROTECTED),
        ("bad", SkipReason.INVALID_ADDRESS),
    ]


def test_evaluate_all_of_nothing_is_nothing() -> None:
    assert DEFAULT.evaluate_all([]) == ([], [])


# --- Manual block ----------------------------------------------------------------------------------


def test_a_manual_host_is_returned_in_canonical_form() -> None:
    assert DEFAULT.check_manual_host("2001:DB8:0::1") == "2001:db8::1/128"


def test_a_protected_manual_host_is_refused_naming_the_network() -> None:
    with pytest.raises(InvalidInput, match=r"protected network 169\.254\.169\.254/32"):
        DEFAULT.check_manual_host("::ffff:169.254.169.254")


def test_a_manual_host_in_a_custom_protected_cidr_is_refused() -> None:
    policy = TargetPolicy.from_settings(settings(protected_cidrs=("203.0.113.0/24",)))

    with pytest.raises(InvalidInput, match=r"protected network 203\.0\.113\.0/24"):
        policy.check_manual_host("203.0.113.200")


def test_a_malformed_manual_host_is_refused_as_an_invalid_address() -> None:
    with pytest.raises(InvalidAddress, match=r"prefix must be /32"):
        DEFAULT.check_manual_host("0.0.0.0/0")
