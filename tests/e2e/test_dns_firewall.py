"""The dns-firewall enforcement point end to end: the rendered program, deployed, blocking and pruning."""

import copy
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from components.dns_firewall_settings import derived_association_priority
from nfw_blocklist.render import render_stack
from nfw_blocklist.sandbox import Sandbox, WiringError
from tests.e2e.conftest import SAMPLES

DOMAIN = "guarddutyc2activityb.com"
VPC = "vpc-0123456789abcdef0"
DNS_STACK = {
    "domainBlocking": "dns-firewall",
    "dnsFirewallVpcIds": json.dumps([VPC]),
    "findingSource": "both",
}
BOTH_STACK = {**DNS_STACK, "domainBlocking": "both"}
SHAPES = ["guardduty-native-dns-c2.json", "securityhub-guardduty-dns-c2-finding.json"]


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return event


@pytest.fixture(scope="module")
def dns_render() -> Any:
    return render_stack("dev", DNS_STACK)


@pytest.fixture(scope="module")
def both_render() -> Any:
    return render_stack("dev", BOTH_STACK)


@pytest.fixture
def dns_sandbox(dns_render: Any) -> Iterator[Sandbox]:
    with Sandbox(dns_render) as sandbox:
        yield sandbox


def list_id(sandbox: Sandbox) -> str:
    return str(sandbox.rendered.outputs["dnsFirewallDomainListId"])


def listed(sandbox: Sandbox) -> set[str]:
    pages = (
        sandbox.client("route53resolver")
        .get_paginator("list_firewall_domains")
        .paginate(FirewallDomainListId=list_id(sandbox))
    )
    return {domain for page in pages for domain in page["Domains"]}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_dns_finding_blocks_its_domain_in_dns_firewall_and_pruning_removes_it(
    dns_sandbox: Sandbox, shape: str
) -> None:
    [run] = dns_sandbox.put_event(sample(shape))

    assert run.status == "SUCCEEDED", run.output
    assert listed(dns_sandbox) == {DOMAIN}
    assert DOMAIN not in json.dumps(dns_sandbox.describe_rule_group(), default=str), "IP group untouched"
    dns_sandbox.advance(13 * 3600)
    assert listed(dns_sandbox) == set()


def test_the_deployed_rule_blocks_the_list_in_the_configured_vpc(dns_sandbox: Sandbox) -> None:
    resolver = dns_sandbox.client("route53resolver")
    [association] = resolver.list_firewall_rule_group_associations(VpcId=VPC)["FirewallRuleGroupAssociations"]
    [rule] = resolver.list_firewall_rules(FirewallRuleGroupId=association["FirewallRuleGroupId"])[
        "FirewallRules"
    ]
    assert (rule["FirewallDomainListId"], rule["Action"], rule["BlockResponse"]) == (
        list_id(dns_sandbox),
        "BLOCK",
        "NODATA",
    )
    assert association["Priority"] == derived_association_priority("nfw-blocklist", "dev", "nfw-blocklist")


@pytest.mark.parametrize("shape", SHAPES)
def test_both_blocks_the_domain_at_both_points(both_render: Any, shape: str) -> None:
    with Sandbox(both_render) as sandbox:
        [run] = sandbox.put_event(sample(shape))

        assert run.status == "SUCCEEDED", run.output
        assert listed(sandbox) == {DOMAIN}
        domain_group = sandbox.client("network-firewall").describe_rule_group(
            RuleGroupArn=sandbox.rendered.outputs["domainRuleGroupArn"], Type="STATEFUL"
        )
        assert DOMAIN in domain_group["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]
        sandbox.advance(13 * 3600)
        assert listed(sandbox) == set()


def test_a_concurrent_burst_of_domains_loses_none_in_the_list(dns_sandbox: Sandbox) -> None:
    template = sample(SHAPES[0])
    domains = [f"burst{i:02}.example" for i in range(40)]

    def event(n: int) -> dict[str, Any]:
        copied = copy.deepcopy(template)
        copied["id"] = f"burst-{n}"
        copied["detail"]["id"] = f"finding-{n}"
        copied["detail"]["service"]["action"]["dnsRequestAction"]["domain"] = domains[n]
        return copied

    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = [
            run
            for runs in pool.map(lambda n: dns_sandbox.put_event(event(n)), range(len(domains)))
            for run in runs
        ]

    assert [run.status for run in runs] == ["SUCCEEDED"] * len(domains)
    assert listed(dns_sandbox) == set(domains)


def test_pruning_restores_a_domain_removed_from_the_list_by_hand(dns_sandbox: Sandbox) -> None:
    dns_sandbox.put_event(sample(SHAPES[0]))
    dns_sandbox.client("route53resolver").update_firewall_domains(
        FirewallDomainListId=list_id(dns_sandbox), Operation="REMOVE", Domains=[DOMAIN]
    )
    [run] = dns_sandbox.advance(15 * 60)

    assert run.status == "SUCCEEDED"
    assert listed(dns_sandbox) == {DOMAIN}


def test_a_function_given_another_list_id_fails_the_deployment(dns_render: Any) -> None:
    tampered = copy.deepcopy(dns_render)
    for resource in tampered.resources:
        if resource.type == "aws:lambda/function:Function":
            resource.inputs["environment"]["variables"]["NFW_DNS_FIREWALL_DOMAIN_LIST_ID"] = (
                "rslvr-fdl-0000000000000000a"
            )
    with pytest.raises(WiringError, match="not a DNS Firewall domain list this program creates"):
        Sandbox(tampered).start()


def test_a_sync_function_without_the_list_grant_fails_the_deployment(dns_render: Any) -> None:
    tampered = copy.deepcopy(dns_render)
    for resource in tampered.resources:
        if resource.type == "aws:iam/rolePolicy:RolePolicy":
            document = json.loads(resource.inputs["policy"])
            document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "DnsFirewallList"]
            resource.inputs["policy"] = json.dumps(document)
    with pytest.raises(WiringError, match="route53resolver:UpdateFirewallDomains"):
        Sandbox(tampered).start()


def test_only_the_block_prune_and_steer_roles_may_touch_the_list_and_only_that_list(dns_render: Any) -> None:
    list_arn = next(
        r.state["arn"]
        for r in dns_render.resources
        if r.type == "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"
    )
    granted: dict[str, Any] = {}
    for policy in dns_render.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            if any(str(action).startswith("route53resolver:") for action in statement["Action"]):
                granted[policy.name] = (sorted(statement["Action"]), statement["Resource"])
    actions = [
        "route53resolver:GetFirewallDomainList",
        "route53resolver:ListFirewallDomains",
        "route53resolver:UpdateFirewallDomains",
    ]
    assert granted == {
        "nfw-blocklist-block-policy": (actions, [list_arn]),
        "nfw-blocklist-prune-policy": (actions, [list_arn]),
        # An analyst's release takes the domains only that finding held out of the list (issue 21).
        "nfw-blocklist-steer-policy": (actions, [list_arn]),
    }


def associations_on(sandbox: Sandbox, vpc_id: str) -> list[dict[str, Any]]:
    resolver = sandbox.client("route53resolver")
    found: list[dict[str, Any]] = resolver.list_firewall_rule_group_associations(VpcId=vpc_id)[
        "FirewallRuleGroupAssociations"
    ]
    return found


@pytest.fixture
def prod_stack_file(tmp_path: Path) -> Path:
    """A second stack of this project beside ``dev``, with its defaults."""
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text("config:\n  aws:region: us-east-1\n  nfw-blocklist:adminEmail: secops@example.com\n")
    return path


def test_two_stacks_with_default_settings_block_in_one_vpc_at_distinct_priorities(
    dns_render: Any, prod_stack_file: Path
) -> None:
    prod_render = render_stack("prod", DNS_STACK, stack_file=prod_stack_file)

    with Sandbox(dns_render) as dev:
        prod = dev.deploy(prod_render)

        priorities = [association["Priority"] for association in associations_on(dev, VPC)]
        assert len(set(priorities)) == 2, f"AWS needs a unique priority per VPC, got {priorities}"
        runs = dev.put_event(sample(SHAPES[0]))

        assert [run.status for run in runs] == ["SUCCEEDED", "SUCCEEDED"], "the shared bus starts both"
        for stack in (dev, prod):
            assert listed(stack) == {DOMAIN}, stack.rendered.stack


def test_a_second_stack_at_a_priority_taken_in_the_vpc_is_refused_before_anything_is_created(
    dns_render: Any, prod_stack_file: Path
) -> None:
    [taken] = [
        resource.inputs["priority"]
        for resource in dns_render.resources
        if resource.type.endswith("ResolverFirewallRuleGroupAssociation")
    ]
    prod_render = render_stack(
        "prod", {**DNS_STACK, "dnsFirewallPriority": str(taken)}, stack_file=prod_stack_file
    )

    with Sandbox(dns_render) as dev:
        tables_before = dev.client("dynamodb").list_tables()["TableNames"]
        with pytest.raises(
            WiringError, match=rf"Priority {taken} .*{VPC}.*nfw-blocklist:dnsFirewallPriority"
        ):
            dev.deploy(prod_render)

        assert dev.client("dynamodb").list_tables()["TableNames"] == tables_before
        assert [association["Priority"] for association in associations_on(dev, VPC)] == [taken]
