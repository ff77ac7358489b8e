"""The emulator's stateful domain-list rule groups refuse what Network Firewall refuses (issue 12)."""

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from nfw_blocklist import emulator

NO_RETRIES = Config(retries={"total_max_attempts": 1})


def domain_group(
    targets: list[str],
    target_types: tuple[str, ...] = ("TLS_SNI", "HTTP_HOST"),
    generated: str = "DENYLIST",
    home_net: list[str] | None = None,
) -> dict[str, Any]:
    group: dict[str, Any] = {
        "RulesSource": {
            "RulesSourceList": {
                "Targets": targets,
                "TargetTypes": list(target_types),
                "GeneratedRulesType": generated,
            }
        }
    }
    if home_net is not None:
        group["RuleVariables"] = {"IPSets": {"HOME_NET": {"Definition": home_net}}}
    return group


@pytest.fixture
def nfw(aws: object) -> Any:
    return boto3.client("network-firewall", config=NO_RETRIES)


def create(nfw: Any, group: dict[str, Any], capacity: int = 100, name: str = "domains") -> dict[str, Any]:
    answer: dict[str, Any] = nfw.create_rule_group(
        RuleGroupName=name, Type="STATEFUL", Capacity=capacity, RuleGroup=group
    )
    return answer


def test_a_domain_list_is_created_with_a_stateful_arn_and_its_consumed_capacity(nfw: Any) -> None:
    response = create(nfw, domain_group(["evil.example", ".c2.example"], home_net=["10.0.0.0/8"]))[
        "RuleGroupResponse"
    ]
    assert ":stateful-rulegroup/domains" in response["RuleGroupArn"]
    assert response["ConsumedCapacity"] == 2 * 2 + 2
    described = nfw.describe_rule_group(RuleGroupArn=response["RuleGroupArn"], Type="STATEFUL")
    assert described["RuleGroup"]["RuleVariables"]["IPSets"]["HOME_NET"]["Definition"] == ["10.0.0.0/8"]


@pytest.mark.parametrize(
    ("domains", "capacity", "accepted"),
    [(99, 200, True), (99, 199, False), (49, 100, True), (50, 100, False)],
)
def test_capacity_is_domains_times_protocols_plus_protocols(
    nfw: Any, domains: int, capacity: int, accepted: bool
) -> None:
    group = domain_group([f"d{index}.example" for index in range(domains)])
    if accepted:
        create(nfw, group, capacity)
        return
    with pytest.raises(ClientError, match="exceeds its capacity"):
        create(nfw, group, capacity)


def test_one_protocol_costs_half(nfw: Any) -> None:
    # The measurement the formula comes from: capacity 100, one protocol, 99 domains fit and 100 do not.
    create(nfw, domain_group([f"d{i}.example" for i in range(99)], ("HTTP_HOST",)), 100, "fits")
    with pytest.raises(ClientError, match="exceeds its capacity"):
        create(nfw, domain_group([f"d{i}.example" for i in range(100)], ("HTTP_HOST",)), 100, "full")


@pytest.mark.parametrize(
    ("group", "message"),
    [
        (domain_group([]), "Targets must list at least one domain"),
        (domain_group(["evil..example"]), "not a valid domain specification"),
        (domain_group(["*.evil.example"]), "not a valid domain specification"),
        (domain_group(["evil.example "]), "not a valid domain specification"),
        (domain_group(["-evil.example"]), "not a valid domain specification"),
        (domain_group(["x" * 64 + ".example"]), "not a valid domain specification"),
        (domain_group([".".join(["a" * 63] * 4)]), "not a valid domain specification"),
        (domain_group(["ok.example"], ()), "TargetTypes must list"),
        (domain_group(["ok.example"], ("TLS_SNI", "TLS_SNI")), "TargetTypes must list"),
        (domain_group(["ok.example"], ("DNS",)), "is invalid; use TLS_SNI or HTTP_HOST"),
        (domain_group(["ok.example"], generated="BLOCKLIST"), "GeneratedRulesType 'BLOCKLIST' is invalid"),
        (domain_group(["ok.example"], home_net=[]), "Definition must list CIDRs"),
        (domain_group(["ok.example"], home_net=["10.0.0.0/33"]), "is not a CIDR block"),
        (domain_group(["ok.example"], home_net=["vpc-1234"]), "is not a CIDR block"),
    ],
)
def test_what_network_firewall_refuses_in_a_domain_list_is_refused(
    nfw: Any, group: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError, match=message) as raised:
        create(nfw, group)
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"


def test_a_leading_dot_means_a_domain_and_its_subdomains_and_is_accepted(nfw: Any) -> None:
    create(nfw, domain_group([".example.com", "www.example.org"]))


def test_a_domain_list_update_needs_the_current_token_and_is_throttled_like_any_other(nfw: Any) -> None:
    arn = create(nfw, domain_group(["first.example"]))["RuleGroupResponse"]["RuleGroupArn"]
    described = nfw.describe_rule_group(RuleGroupArn=arn, Type="STATEFUL")
    nfw.update_rule_group(
        RuleGroupArn=arn,
        Type="STATEFUL",
        UpdateToken=described["UpdateToken"],
        RuleGroup=domain_group(["second.example"]),
    )
    with pytest.raises(ClientError) as stale:
        nfw.update_rule_group(
            RuleGroupArn=arn,
            Type="STATEFUL",
            UpdateToken=described["UpdateToken"],
            RuleGroup=domain_group(["third.example"]),
        )
    assert stale.value.response["Error"]["Code"] == "InvalidTokenException"
    emulator.faults().set(throttle_next=1)
    with pytest.raises(ClientError) as throttled:
        nfw.describe_rule_group(RuleGroupArn=arn, Type="STATEFUL")
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    final = nfw.describe_rule_group(RuleGroupArn=arn, Type="STATEFUL")
    assert final["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"] == ["second.example"]
