"""The DNS Firewall emulator answers like Route 53 Resolver's documented API (see its module docstring)."""

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from nfw_blocklist.emulator import dns_firewall

NO_RETRIES = Config(retries={"total_max_attempts": 1}, parameter_validation=False)
"""No SDK retries, and no client-side validation: the emulator itself must refuse what AWS refuses."""


@pytest.fixture
def resolver(aws: object) -> Any:
    dns_firewall.install()
    dns_firewall.store().settle_seconds = 0.0
    return boto3.client("route53resolver", config=NO_RETRIES)


@pytest.fixture
def list_id(resolver: Any) -> str:
    created = resolver.create_firewall_domain_list(CreatorRequestId="r1", Name="blocklist")
    return str(created["FirewallDomainList"]["Id"])


def all_domains(resolver: Any, list_id: str, page: int = 100) -> list[str]:
    paginator = resolver.get_paginator("list_firewall_domains")
    return [
        d for p in paginator.paginate(FirewallDomainListId=list_id, MaxResults=page) for d in p["Domains"]
    ]


def error_code(excinfo: pytest.ExceptionInfo[Any]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_created_list_is_empty_and_complete(resolver: Any, list_id: str) -> None:
    described = resolver.get_firewall_domain_list(FirewallDomainListId=list_id)["FirewallDomainList"]
    assert (described["DomainCount"], described["Status"], described["Name"]) == (0, "COMPLETE", "blocklist")
    assert described["Arn"].endswith(f":firewall-domain-list/{list_id}")


def test_add_and_remove_are_idempotent(resolver: Any, list_id: str) -> None:
    resolver.update_firewall_domains(
        FirewallDomainListId=list_id, Operation="ADD", Domains=["a.example", "b.example"]
    )
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=["a.example"])
    resolver.update_firewall_domains(
        FirewallDomainListId=list_id, Operation="REMOVE", Domains=["b.example", "z.example"]
    )
    assert all_domains(resolver, list_id) == ["a.example"]


def test_replace_makes_the_list_exactly_the_request(resolver: Any, list_id: str) -> None:
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=["a.example"])
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="REPLACE", Domains=["c.example"])
    assert all_domains(resolver, list_id) == ["c.example"]


def test_more_than_a_thousand_domains_in_one_call_is_refused_and_changes_nothing(
    resolver: Any, list_id: str
) -> None:
    domains = [f"d{i}.example" for i in range(1001)]
    with pytest.raises(resolver.exceptions.ValidationException, match="limit is 1000"):
        resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=domains)
    assert all_domains(resolver, list_id) == []


def test_exactly_a_thousand_domains_is_accepted(resolver: Any, list_id: str) -> None:
    domains = [f"d{i}.example" for i in range(1000)]
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=domains)
    assert sorted(all_domains(resolver, list_id, page=5000)) == sorted(domains)


@pytest.mark.parametrize(
    "domain",
    ["bad_domain.example", "exa mple.com", "a*.example", "ex\u00e4mple.com", "a" * 256, "", "x.example/"],
)
def test_domains_outside_aws_syntax_are_refused_and_nothing_is_added(
    resolver: Any, list_id: str, domain: str
) -> None:
    with pytest.raises(resolver.exceptions.ValidationException):
        resolver.update_firewall_domains(
            FirewallDomainListId=list_id, Operation="ADD", Domains=["ok.example", domain]
        )
    assert all_domains(resolver, list_id) == []


@pytest.mark.parametrize("domain", ["*.example.com", "*", "example.com.", "XN--bcher-kva.example", "a" * 255])
def test_domains_in_aws_syntax_are_accepted(resolver: Any, list_id: str, domain: str) -> None:
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=[domain])
    assert all_domains(resolver, list_id) == ["*." if domain == "*" else domain]


def test_unknown_operation_is_refused(resolver: Any, list_id: str) -> None:
    with pytest.raises(resolver.exceptions.ValidationException):
        resolver.update_firewall_domains(
            FirewallDomainListId=list_id, Operation="DENY", Domains=["a.example"]
        )


def test_a_second_update_while_the_list_is_updating_conflicts(resolver: Any, list_id: str) -> None:
    dns_firewall.store().settle_seconds = 3600.0
    answer = resolver.update_firewall_domains(
        FirewallDomainListId=list_id, Operation="ADD", Domains=["a.example"]
    )
    assert answer["Status"] == "UPDATING"
    status = resolver.get_firewall_domain_list(FirewallDomainListId=list_id)["FirewallDomainList"]["Status"]
    assert status == "UPDATING"
    with pytest.raises(resolver.exceptions.ConflictException):
        resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=["b.example"])
    assert all_domains(resolver, list_id) == ["a.example"]
    assert dns_firewall.counters().snapshot().token_conflicts == 1


def test_an_injected_conflict_refuses_an_update_on_a_settled_list(resolver: Any, list_id: str) -> None:
    dns_firewall.faults().set(token_conflict_rate=1.0, seed=1)
    with pytest.raises(resolver.exceptions.ConflictException):
        resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=["a.example"])
    assert dns_firewall.counters().snapshot().injected_token_conflicts == 1
    assert all_domains(resolver, list_id) == []


def test_injected_throttling_and_internal_errors_use_route53resolver_codes(
    resolver: Any, list_id: str
) -> None:
    dns_firewall.faults().set(throttle_next=1)
    with pytest.raises(resolver.exceptions.ThrottlingException):
        resolver.list_firewall_domains(FirewallDomainListId=list_id)
    dns_firewall.faults().set(internal_error_rate=1.0)
    with pytest.raises(resolver.exceptions.InternalServiceErrorException) as excinfo:
        resolver.list_firewall_domains(FirewallDomainListId=list_id)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_the_account_quota_counts_every_list(resolver: Any, list_id: str) -> None:
    dns_firewall.store().domain_quota = 3
    other = resolver.create_firewall_domain_list(CreatorRequestId="r2", Name="other")["FirewallDomainList"][
        "Id"
    ]
    resolver.update_firewall_domains(
        FirewallDomainListId=other, Operation="ADD", Domains=["o1.example", "o2.example"]
    )
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=["a.example"])
    with pytest.raises(resolver.exceptions.LimitExceededException, match="quota is 3"):
        resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=["b.example"])
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="REMOVE", Domains=["a.example"])
    assert all_domains(resolver, list_id) == []


def test_listing_domains_pages_through_every_domain_once(resolver: Any, list_id: str) -> None:
    domains = [f"d{i:03}.example" for i in range(250)]
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=domains)
    first = resolver.list_firewall_domains(FirewallDomainListId=list_id)
    assert len(first["Domains"]) == 100 and "NextToken" in first
    assert all_domains(resolver, list_id, page=7) == domains


@pytest.mark.parametrize("max_results", [0, 5001])
def test_max_results_outside_one_to_five_thousand_is_refused(
    resolver: Any, list_id: str, max_results: int
) -> None:
    with pytest.raises(resolver.exceptions.ValidationException):
        resolver.list_firewall_domains(FirewallDomainListId=list_id, MaxResults=max_results)


def test_an_invalid_next_token_is_refused(resolver: Any, list_id: str) -> None:
    with pytest.raises(resolver.exceptions.ValidationException, match="NextToken"):
        resolver.list_firewall_domains(FirewallDomainListId=list_id, NextToken="garbage")


def test_an_unknown_list_is_not_found(resolver: Any) -> None:
    with pytest.raises(resolver.exceptions.ResourceNotFoundException):
        resolver.update_firewall_domains(
            FirewallDomainListId="rslvr-fdl-nope", Operation="ADD", Domains=["a.b"]
        )


def test_the_same_creator_request_id_returns_the_same_list(resolver: Any, list_id: str) -> None:
    again = resolver.create_firewall_domain_list(CreatorRequestId="r1", Name="blocklist")
    assert again["FirewallDomainList"]["Id"] == list_id


@pytest.mark.parametrize("name", ["12345", "bad/name", "a" * 65])
def test_names_outside_aws_rules_are_refused(resolver: Any, name: str) -> None:
    with pytest.raises(resolver.exceptions.ValidationException):
        resolver.create_firewall_domain_list(CreatorRequestId="r9", Name=name)


@pytest.fixture
def group_id(resolver: Any) -> str:
    return str(
        resolver.create_firewall_rule_group(CreatorRequestId="g1", Name="blocklist")["FirewallRuleGroup"][
            "Id"
        ]
    )


def block_rule(group_id: str, list_id: str, priority: int = 100, **extra: Any) -> dict[str, Any]:
    return {
        "CreatorRequestId": f"rule-{priority}",
        "FirewallRuleGroupId": group_id,
        "FirewallDomainListId": list_id,
        "Priority": priority,
        "Action": "BLOCK",
        "BlockResponse": "NODATA",
        "Name": "block",
        **extra,
    }


def test_a_block_rule_is_listed_in_its_group(resolver: Any, group_id: str, list_id: str) -> None:
    resolver.create_firewall_rule(**block_rule(group_id, list_id))
    rules = resolver.list_firewall_rules(FirewallRuleGroupId=group_id)["FirewallRules"]
    assert [(r["FirewallDomainListId"], r["Action"], r["BlockResponse"]) for r in rules] == [
        (list_id, "BLOCK", "NODATA")
    ]
    assert (
        resolver.get_firewall_rule_group(FirewallRuleGroupId=group_id)["FirewallRuleGroup"]["RuleCount"] == 1
    )


def test_a_block_rule_without_block_response_is_refused(resolver: Any, group_id: str, list_id: str) -> None:
    rule = block_rule(group_id, list_id)
    del rule["BlockResponse"]
    with pytest.raises(resolver.exceptions.ValidationException, match="BlockResponse"):
        resolver.create_firewall_rule(**rule)


def test_override_needs_its_settings(resolver: Any, group_id: str, list_id: str) -> None:
    with pytest.raises(resolver.exceptions.ValidationException, match="OVERRIDE"):
        resolver.create_firewall_rule(**block_rule(group_id, list_id, BlockResponse="OVERRIDE"))


def test_a_rule_naming_an_unknown_list_is_not_found(resolver: Any, group_id: str) -> None:
    with pytest.raises(resolver.exceptions.ResourceNotFoundException):
        resolver.create_firewall_rule(**block_rule(group_id, "rslvr-fdl-missing"))


def test_rule_priorities_are_unique_in_a_group(resolver: Any, group_id: str, list_id: str) -> None:
    resolver.create_firewall_rule(**block_rule(group_id, list_id))
    with pytest.raises(resolver.exceptions.ValidationException, match="already used"):
        resolver.create_firewall_rule(**{**block_rule(group_id, list_id), "CreatorRequestId": "other"})


def test_a_list_a_rule_uses_cannot_be_deleted(resolver: Any, group_id: str, list_id: str) -> None:
    resolver.create_firewall_rule(**block_rule(group_id, list_id))
    with pytest.raises(resolver.exceptions.ConflictException):
        resolver.delete_firewall_domain_list(FirewallDomainListId=list_id)


@pytest.fixture
def vpc_id(aws: object) -> str:
    return str(boto3.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])


def associate(resolver: Any, group_id: str, vpc_id: str, priority: int = 101, request: str = "a1") -> Any:
    return resolver.associate_firewall_rule_group(
        CreatorRequestId=request,
        FirewallRuleGroupId=group_id,
        VpcId=vpc_id,
        Priority=priority,
        Name="blocklist",
    )


def test_an_association_links_a_group_and_a_vpc(resolver: Any, group_id: str, vpc_id: str) -> None:
    created = associate(resolver, group_id, vpc_id)["FirewallRuleGroupAssociation"]
    listed = resolver.list_firewall_rule_group_associations(VpcId=vpc_id)["FirewallRuleGroupAssociations"]
    assert [(a["Id"], a["FirewallRuleGroupId"], a["Priority"]) for a in listed] == [
        (created["Id"], group_id, 101)
    ]


@pytest.mark.parametrize("priority", [99, 9901])
def test_association_priorities_outside_100_to_9900_are_refused(
    resolver: Any, group_id: str, vpc_id: str, priority: int
) -> None:
    with pytest.raises(resolver.exceptions.ValidationException, match="100-9900"):
        associate(resolver, group_id, vpc_id, priority)


def test_an_unknown_vpc_cannot_be_associated(resolver: Any, group_id: str) -> None:
    with pytest.raises(resolver.exceptions.ResourceNotFoundException, match="vpc-0123456789abcdef0"):
        associate(resolver, group_id, "vpc-0123456789abcdef0")


def test_a_vpc_takes_at_most_five_rule_groups_at_distinct_priorities(resolver: Any, vpc_id: str) -> None:
    groups = [
        resolver.create_firewall_rule_group(CreatorRequestId=f"g{i}", Name=f"g{i}")["FirewallRuleGroup"]["Id"]
        for i in range(6)
    ]
    with pytest.raises(resolver.exceptions.ConflictException, match="Priority 101"):
        associate(resolver, groups[0], vpc_id, 101, "x0")
        associate(resolver, groups[1], vpc_id, 101, "x1")
    for i in range(1, 5):
        associate(resolver, groups[i], vpc_id, 200 + i, f"y{i}")
    with pytest.raises(resolver.exceptions.LimitExceededException):
        associate(resolver, groups[5], vpc_id, 300, "y5")


def test_mutation_protection_refuses_disassociation(resolver: Any, group_id: str, vpc_id: str) -> None:
    created = resolver.associate_firewall_rule_group(
        CreatorRequestId="p",
        FirewallRuleGroupId=group_id,
        VpcId=vpc_id,
        Priority=101,
        Name="blocklist",
        MutationProtection="ENABLED",
    )["FirewallRuleGroupAssociation"]
    with pytest.raises(resolver.exceptions.ValidationException, match="MutationProtection"):
        resolver.disassociate_firewall_rule_group(FirewallRuleGroupAssociationId=created["Id"])


@pytest.fixture
def moto_server() -> Iterator[str]:
    dns_firewall.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    with contextlib.suppress(Exception):
        server.stop()


def test_domain_lists_work_through_the_standalone_server(moto_server: str) -> None:
    client = boto3.client(
        "route53resolver",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=NO_RETRIES,
    )
    list_id = client.create_firewall_domain_list(CreatorRequestId="s", Name="server")["FirewallDomainList"][
        "Id"
    ]
    client.update_firewall_domains(
        FirewallDomainListId=list_id, Operation="ADD", Domains=["guarddutyc2activityb.com"]
    )
    assert client.list_firewall_domains(FirewallDomainListId=list_id)["Domains"] == [
        "guarddutyc2activityb.com"
    ]
