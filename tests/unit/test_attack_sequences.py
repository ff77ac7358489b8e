"""Attack sequences (issue 20): GuardDuty Extended Threat Detection's ``AttackSequence:*`` findings, native
(``detail.service.detection.sequence``) and through Security Hub CSPM (ASFF ``Detection.Sequence``)."""

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from components.config import InvalidConfig, StackConfig
from components.patterns import (
    guardduty_pattern,
    pattern_size_problem,
    scoped_patterns_for,
    security_hub_pattern,
)
from handlers.errors import ConfigurationError
from handlers.extraction import extract, provider_state
from handlers.model import Skip, SkipReason, Target, TargetKind
from handlers.payloads import MAX_TEXT, BlockOutcome, KindOutcome, finding_payload
from handlers.policy import TargetPolicy
from handlers.sequences import (
    BLOCKABLE_INDICATORS,
    DEFAULT_SEQUENCE_INDICATORS,
    MAX_INDICATORS,
    MAX_VALUES,
    SEQUENCE_ACTION,
)
from handlers.settings import (
    ENV_RULE_GROUP_ARN,
    ENV_SEQUENCE_INDICATORS,
    ENV_TABLE_NAME,
    OPT_IN_ACTIONS,
    DomainBlocking,
    Settings,
)
from nfw_blocklist.findings import documentation_hosts

SAMPLES = Path(__file__).resolve().parents[2] / "nfw_blocklist" / "samples"
NATIVE_SAMPLE = "guardduty-native-attack-sequence.json"
ASFF_SAMPLE = "securityhub-guardduty-attack-sequence.json"


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


def _api_spelling(node: object) -> object:
    """A native event's camelCase keys as the GuardDuty API model spells its members (``ip`` -> ``Ip``)."""
    if isinstance(node, dict):
        return {key[:1].upper() + key[1:]: _api_spelling(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_api_spelling(item) for item in node]
    return node


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    session = botocore.session.get_session()
    return {name: session.get_service_model(name) for name in ("guardduty", "securityhub")}


# --- The samples are the documented shapes ---------------------------------------------------------


def test_the_native_sample_is_a_guardduty_detection_as_the_shipped_api_model_defines_it(models) -> None:
    detection = load(NATIVE_SAMPLE)["detail"]["service"]["detection"]

    spelled: Any = _api_spelling(detection)
    report = ParamValidator().validate(spelled, models["guardduty"].shape_for("Detection"))

    assert not report.has_errors(), report.generate_report()


def test_the_asff_sample_is_a_finding_security_hub_cspm_accepts(models) -> None:
    finding = load(ASFF_SAMPLE)["detail"]["findings"][0]

    report = ParamValidator().validate(finding, models["securityhub"].shape_for("AwsSecurityFinding"))

    assert not report.has_errors(), report.generate_report()


def test_the_asff_sample_is_the_native_sequence_cut_to_cspms_ten_endpoints(models) -> None:
    native = load(NATIVE_SAMPLE)["detail"]["service"]["detection"]["sequence"]
    asff = load(ASFF_SAMPLE)["detail"]["findings"][0]["Detection"]["Sequence"]
    endpoints_max = models["securityhub"].shape_for("Sequence").members["Endpoints"].metadata["max"]

    assert endpoints_max == 10 and len(native["endpoints"]) > endpoints_max
    assert [e["Ip"] for e in asff["Endpoints"]] == [e["ip"] for e in native["endpoints"]][:endpoints_max]
    assert asff["Uid"] == native["uid"]
    assert {i["Key"]: i["Values"] for i in asff["SequenceIndicators"]} == {
        i["key"]: i["values"] for i in native["sequenceIndicators"]
    }


# --- Extraction and policy -------------------------------------------------------------------------

NAMED_ADDRESSES = ["203.0.113.45", "203.0.113.46", "2001:db8:bad::45", "198.51.100.77", "203.0.113.99"]
NAMED_DOMAINS = ["c2.malicious.example", "pool.miner.example"]
BOTH_POINTS = Settings("ledger", "arn", domain_blocking=DomainBlocking.BOTH)


def native_with(indicators: list[dict[str, Any]]) -> dict[str, Any]:
    event = load(NATIVE_SAMPLE)
    event["detail"]["service"]["detection"]["sequence"]["sequenceIndicators"] = indicators
    return event


def asff_with(indicators: list[dict[str, Any]]) -> dict[str, Any]:
    event = load(ASFF_SAMPLE)
    event["detail"]["findings"][0]["Detection"]["Sequence"]["SequenceIndicators"] = indicators
    return event


def targets(event: dict[str, Any], settings: Settings = BOTH_POINTS) -> tuple[list[Target], list[Skip]]:
    extraction = extract(event)
    accepted, skipped = TargetPolicy.from_settings(settings).evaluate_all(extraction.candidates)
    return accepted, [*extraction.skipped, *skipped]


@pytest.mark.parametrize("sample", [NATIVE_SAMPLE, ASFF_SAMPLE])
def test_an_attack_sequence_names_every_address_and_domain_its_indicators_list(sample: str) -> None:
    extraction = extract(load(sample))

    assert [(c.raw_host, c.kind) for c in extraction.candidates] == [
        *((host, TargetKind.ADDRESS) for host in NAMED_ADDRESSES),
        *((domain, TargetKind.DOMAIN) for domain in NAMED_DOMAINS),
    ]
    assert {c.indicator for c in extraction.candidates} == set(DEFAULT_SEQUENCE_INDICATORS)
    assert {c.action for c in extraction.candidates} == {SEQUENCE_ACTION}
    assert extraction.skipped == []


@pytest.mark.parametrize("sample", [NATIVE_SAMPLE, ASFF_SAMPLE])
def test_the_finding_names_its_attack_sequence_and_keeps_its_critical_severity(sample: str) -> None:
    finding = extract(load(sample)).candidates[0].finding

    assert finding.sequence == (
        "Potential compromise of EC2 instance i-0abcd1234ef567890 indicated by a sequence of actions."
    )
    assert finding.type.replace(".", "/") == "AttackSequence:EC2/CompromisedInstanceGroup"
    assert finding.severity == 9.0


def test_a_sequence_without_a_title_is_named_by_its_description_then_its_uid() -> None:
    event = load(NATIVE_SAMPLE)
    del event["detail"]["title"], event["detail"]["description"]
    sequence = event["detail"]["service"]["detection"]["sequence"]
    assert extract(event).candidates[0].finding.sequence == sequence["description"]

    del sequence["description"]
    assert extract(event).candidates[0].finding.sequence == sequence["uid"]


def test_a_finding_that_is_no_attack_sequence_names_no_sequence(reference_event: dict[str, Any]) -> None:
    assert extract(reference_event).candidates[0].finding.sequence == ""


@pytest.mark.parametrize("sample", [NATIVE_SAMPLE, ASFF_SAMPLE])
def test_endpoints_block_nothing_that_no_counted_indicator_names_inbound_or_outbound(sample: str) -> None:
    accepted, _ = targets(load(sample))

    hosts = {target.host.split("/")[0] for target in accepted}
    # Inbound from an unnamed scanner, the instance's own addresses, outbound to an unnamed service.
    assert hosts.isdisjoint({"198.51.100.10", "10.0.1.23", "198.51.100.200", "192.0.2.80", "192.0.2.81"})
    assert "updates.vendor.example" not in hosts
    # The Tor exit's inbound connection is named by TOR_IP: it is blocked (both directions).
    assert "198.51.100.77" in hosts


def test_suspicious_network_and_other_keys_name_nothing_to_block() -> None:
    event = native_with([
        {"key": "SUSPICIOUS_NETWORK", "values": ["ExampleHostingNet", "203.0.113.7"]},
        {"key": "UNUSUAL_ASN_FOR_ACCOUNT", "values": ["64496"]},
        {"key": "ATTACK_TACTIC", "values": ["Impact"]},
        {"key": "MALICIOUS_PROCESS", "values": ["/tmp/x"]},
    ])  # fmt: skip

    extraction = extract(event)

    assert extraction.candidates == []
    assert [(s.reason, s.detail) for s in extraction.skipped] == [
        (SkipReason.NO_REMOTE_IP, "no address or domain indicator in attack sequence")
    ]


def test_a_key_the_stack_does_not_count_is_reported_and_not_blocked() -> None:
    settings = Settings(
        "ledger", "arn", domain_blocking=DomainBlocking.BOTH, sequence_indicators=("MALICIOUS_IP",)
    )

    accepted, skipped = targets(load(NATIVE_SAMPLE), settings)

    assert sorted(t.host for t in accepted) == ["2001:db8:bad::45/128", "203.0.113.45/32", "203.0.113.46/32"]
    assert sorted(s.host for s in skipped if s.reason is SkipReason.INDICATOR_NOT_INCLUDED) == [
        "198.51.100.77/32", "203.0.113.99/32", "c2.malicious.example", "pool.miner.example",
    ]  # fmt: skip


def test_with_domain_blocking_off_the_domain_indicators_are_skipped_and_the_addresses_blocked() -> None:
    accepted, skipped = targets(load(NATIVE_SAMPLE), Settings("ledger", "arn"))

    assert {t.kind for t in accepted} == {TargetKind.ADDRESS} and len(accepted) == 5
    assert sorted(s.detail for s in skipped) == [
        "no remote IP in CRYPTOMINING_DOMAIN indicator",
        "no remote IP in MALICIOUS_DOMAIN indicator",
    ]


@pytest.mark.parametrize("sample", [NATIVE_SAMPLE, ASFF_SAMPLE])
def test_the_never_block_lists_bind_every_indicator_value(sample: str) -> None:
    internal = ["10.0.0.1", "::ffff:169.254.169.254", "fd00:ec2::254", "127.0.0.1"]
    indicators = [
        {"key": "MALICIOUS_IP", "values": internal},
        {"key": "TOR_IP", "values": ["100.64.0.1"]},
        {"key": "MALICIOUS_DOMAIN", "values": ["s3.amazonaws.com", "corp.example"]},
    ]
    settings = Settings("l", "a", domain_blocking=DomainBlocking.BOTH, protected_domains=("corp.example",))
    event = (
        native_with(indicators)
        if sample == NATIVE_SAMPLE
        else asff_with([{k.capitalize(): v for k, v in i.items()} for i in indicators])
    )

    accepted, skipped = targets(event, settings)

    assert accepted == []
    assert [s.reason for s in skipped] == [SkipReason.PROTECTED] * 7


@pytest.mark.parametrize(
    "indicators",
    [
        "not a list",
        [None, 7, "MALICIOUS_IP", []],
        [{"key": "MALICIOUS_IP"}, {"key": "MALICIOUS_IP", "values": "203.0.113.1"}],
        [{"key": ["MALICIOUS_IP"], "values": ["203.0.113.1"]}, {"key": None, "values": ["203.0.113.1"]}],
        [{"key": "MALICIOUS_IP", "values": [None, "", 10**400, {"ip": "203.0.113.1"}, "x" * 5000]}],
    ],
    ids=["not-a-list", "not-objects", "values-missing-or-text", "key-not-text", "hostile-values"],
)
def test_a_malformed_sequence_never_raises_and_blocks_nothing(indicators: object) -> None:
    event = load(NATIVE_SAMPLE)
    event["detail"]["service"]["detection"]["sequence"]["sequenceIndicators"] = indicators

    accepted, skipped = targets(event)

    assert accepted == []
    assert all(len(s.host) <= 64 and s.host.isprintable() for s in skipped)


def test_past_guardduty_s_400_values_an_indicator_is_read_to_400_and_the_excess_reported() -> None:
    hosts = documentation_hosts(450)
    extraction = extract(native_with([{"key": "MALICIOUS_IP", "values": hosts}]))

    assert [c.raw_host for c in extraction.candidates] == hosts[:MAX_VALUES]
    assert [s.detail for s in extraction.skipped] == ["450 MALICIOUS_IP values, read the first 400"]


def test_past_guardduty_s_400_indicators_the_first_400_are_read_and_the_excess_reported() -> None:
    hosts = documentation_hosts(MAX_INDICATORS + 5)
    extraction = extract(native_with([{"key": "TOR_IP", "values": [host]} for host in hosts]))

    assert len(extraction.candidates) == MAX_INDICATORS
    assert [s.detail for s in extraction.skipped] == ["405 sequence indicators, read the first 400"]


# --- Which indicator keys count --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (("SUSPICIOUS_NETWORK",), r"SUSPICIOUS_NETWORK cannot be blocked: its values are network names"),
        (("UNUSUAL_ASN_FOR_USER",), r"UNUSUAL_ASN_FOR_USER cannot be blocked: its values are autonomous"),
        (("MALICIOUS_IP", "ATTACK_TACTIC"), r"unknown attack-sequence indicator 'ATTACK_TACTIC' \(blockable"),
        (("malicious_ip",), r"unknown attack-sequence indicator 'malicious_ip'"),
    ],
)
def test_the_policy_refuses_an_indicator_key_whose_values_are_no_host(
    keys: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TargetPolicy.from_settings(Settings("ledger", "arn", sequence_indicators=keys))


def test_the_default_counts_every_address_and_domain_key_and_is_not_written_to_the_environment() -> None:
    settings = Settings("ledger", "arn")

    assert settings.sequence_indicators == BLOCKABLE_INDICATORS
    assert ENV_SEQUENCE_INDICATORS not in settings.policy_environment()
    assert Settings.from_env({ENV_TABLE_NAME: "t", ENV_RULE_GROUP_ARN: "a"}).sequence_indicators == (
        BLOCKABLE_INDICATORS
    )


@pytest.mark.parametrize("keys", [(), ("TOR_IP", "MALICIOUS_DOMAIN")])
def test_a_chosen_set_of_keys_reaches_the_functions_through_their_environment(keys: tuple[str, ...]) -> None:
    written = Settings("t", "a", sequence_indicators=keys).policy_environment()

    read = Settings.from_env({ENV_TABLE_NAME: "t", ENV_RULE_GROUP_ARN: "a", **written})

    assert read.sequence_indicators == keys


# --- Event patterns --------------------------------------------------------------------------------


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    compiled = EventPatternCompiler().compile_event_pattern(pattern)
    return bool(EventRuleEngine().evaluate_pattern_on_event(compiled, event))


def test_the_native_rule_admits_an_attack_sequence_which_has_no_action() -> None:
    event = load(NATIVE_SAMPLE)
    assert "action" not in event["detail"]["service"]

    assert matches(guardduty_pattern(), event)


def test_the_security_hub_rule_admits_an_attack_sequence_which_has_no_remote_ip_field() -> None:
    assert matches(security_hub_pattern(), load(ASFF_SAMPLE))


@pytest.mark.parametrize("sample", [NATIVE_SAMPLE, ASFF_SAMPLE])
def test_a_sequence_naming_only_domains_starts_a_response_only_where_domains_are_blocked(sample: str) -> None:
    only_domains = [{"key": "MALICIOUS_DOMAIN", "values": ["c2.malicious.example"]}]
    if sample == NATIVE_SAMPLE:
        event, pattern = native_with(only_domains), guardduty_pattern
    else:
        event, pattern = (
            asff_with([{"Key": "MALICIOUS_DOMAIN", "Values": ["c2.malicious.example"]}]),
            security_hub_pattern,
        )

    assert not matches(pattern(), event)
    assert matches(pattern(domains=True), event)


@pytest.mark.parametrize("sample", [NATIVE_SAMPLE, ASFF_SAMPLE])
def test_a_sequence_naming_no_host_starts_no_response(sample: str) -> None:
    if sample == NATIVE_SAMPLE:
        event, pattern = native_with([{"key": "SUSPICIOUS_NETWORK", "values": ["x"]}]), guardduty_pattern
    else:
        event, pattern = asff_with([{"Key": "SUSPICIOUS_NETWORK", "Values": ["x"]}]), security_hub_pattern

    assert not matches(pattern(domains=True), event)


def test_an_attack_sequence_another_product_calls_guardduty_s_starts_no_response() -> None:
    event = load(ASFF_SAMPLE)
    event["detail"]["findings"][0]["ProductArn"] = (
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    )

    assert not matches(security_hub_pattern(domains=True), event)
    assert [s.reason for s in extract(event).skipped] == [SkipReason.UNTRUSTED_PRODUCT]


@pytest.mark.parametrize("source", ["securityhub", "guardduty", "both"])
def test_with_every_option_the_patterns_stay_within_eventbridge_s_length(source: str) -> None:
    regions = [f"xx-region-{n}" for n in range(1, 12)]
    patterns = scoped_patterns_for(source, OPT_IN_ACTIONS, regions, ["123456789012"], domains=True)

    assert pattern_size_problem(patterns) is None


# --- The stack's key -------------------------------------------------------------------------------


KEY = "^nfw-blocklist:attackSequenceIndicators: "


def stack(**values: Any) -> StackConfig:
    return StackConfig.from_mapping({"adminEmail": "sec@example.com", **values})


def test_a_stack_without_the_key_counts_every_blockable_indicator_and_its_functions_read_that() -> None:
    config = stack()

    assert config.attack_sequence_indicators == BLOCKABLE_INDICATORS
    assert config.handler_settings("t", "a").sequence_indicators == BLOCKABLE_INDICATORS


@pytest.mark.parametrize(
    ("raw", "keys"),
    [("[]", ()), ('["TOR_IP", "TOR_IP"]', ("TOR_IP",)), (["MALICIOUS_IP"], ("MALICIOUS_IP",))],
)
def test_a_stack_chooses_the_keys_that_count(raw: object, keys: tuple[str, ...]) -> None:
    config = stack(attackSequenceIndicators=raw)

    assert config.attack_sequence_indicators == keys
    environment = config.handler_settings("t", "a").policy_environment()
    assert (
        Settings.from_env({ENV_TABLE_NAME: "t", ENV_RULE_GROUP_ARN: "a", **environment}).sequence_indicators
        == keys
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            '["SUSPICIOUS_NETWORK"]',
            KEY
            + r"attack-sequence indicator SUSPICIOUS_NETWORK cannot be blocked: its values are network names",
        ),
        (
            '["TOR"]',
            KEY + r"unknown attack-sequence indicator 'TOR' \(blockable: MALICIOUS_IP",
        ),
        ("TOR_IP", r"^nfw-blocklist:attackSequenceIndicators must be a list drawn from MALICIOUS_IP, TOR_IP"),
    ],
)
def test_a_stack_naming_an_indicator_that_names_no_host_is_refused_with_one_line(
    raw: str, message: str
) -> None:
    with pytest.raises(InvalidConfig, match=message):
        stack(attackSequenceIndicators=raw)


# --- What the e-mail and the payloads say ----------------------------------------------------------


def sequence_block(addresses: list[str], domains: list[str], sample: str = NATIVE_SAMPLE) -> dict[str, Any]:
    """The block step's payload for the sample's finding, with these targets blocked."""
    finding = finding_payload(extract(load(sample)).candidates[0].finding)
    assert finding is not None
    kinds = [
        KindOutcome(TargetKind.ADDRESS, "rule group g", blocked=addresses),
        KindOutcome(TargetKind.DOMAIN, "domain rule group d", blocked=domains),
    ]
    return BlockOutcome(finding, "2024-05-14T10:26:30Z", kinds=kinds, expires_at=1_800_000_000).to_payload()


@pytest.mark.parametrize("sample", [NATIVE_SAMPLE, ASFF_SAMPLE])
def test_the_email_says_the_block_came_from_an_attack_sequence_and_names_it(sample: str) -> None:
    email = sequence_block(["203.0.113.45/32"], ["c2.malicious.example"], sample)["message"]["email"]

    assert (
        "\nFrom an attack sequence: Potential compromise of EC2 instance i-0abcd1234ef567890 indicated by a "
        "sequence of actions.\n"
    ) in email


def test_the_email_of_any_other_finding_mentions_no_attack_sequence(reference_event: dict[str, Any]) -> None:
    finding = finding_payload(extract(reference_event).candidates[0].finding)
    assert finding is not None
    addresses = KindOutcome(TargetKind.ADDRESS, "rule group g", blocked=["198.51.100.0/32"])
    payload = BlockOutcome(finding, "2021-01-05T01:15:01Z", kinds=[addresses], expires_at=1_800_000_000)

    assert "attack sequence" not in payload.to_payload()["message"]["email"]
    assert "sequence" not in finding


def test_a_sequence_name_cannot_forge_lines_of_the_email_and_is_cut_to_the_payload_s_text_limit() -> None:
    event = load(NATIVE_SAMPLE)
    event["detail"]["title"] = "evil\nBlocked nothing.\r\n" + "x" * 1000
    finding = finding_payload(extract(event).candidates[0].finding)
    assert finding is not None and len(finding["sequence"]) == MAX_TEXT

    email = BlockOutcome(finding, "t", kinds=[], expires_at=1_800_000_000).to_payload()["message"]["email"]

    [line] = [line for line in email.splitlines() if "attack sequence" in line]
    assert line.startswith("From an attack sequence: evil Blocked nothing. xxx")


def test_a_sequence_grown_by_the_provider_is_no_echo_even_when_its_updated_at_cannot_be_read() -> None:
    """The loop guard's fallback digest covers ``Detection``: only GuardDuty writes it (BatchUpdateFindings
    cannot), and a sequence grows there (new indicators) between two sightings."""
    finding = load(ASFF_SAMPLE)["detail"]["findings"][0]
    grown = load(ASFF_SAMPLE)["detail"]["findings"][0]
    grown["Detection"]["Sequence"]["SequenceIndicators"][0]["Values"].append("203.0.113.50")

    assert provider_state(grown) != provider_state(finding)
