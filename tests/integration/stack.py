"""Builds the ledger table and rule group the way the components declare them, inside moto."""

import os
from dataclasses import replace
from typing import Any

import boto3

from handlers import schema
from handlers.service import BlocklistService
from handlers.settings import DomainBlocking, Settings

MOTO_CONFIG: dict[str, Any] = {"core": {"reset_boto3_session": False}}
"""``mock_aws(config=MOTO_CONFIG)`` keeps boto3's default session from one test to the next. moto's default
sets a new one at every start, and the first client of a fresh session reads botocore's service models
and endpoint rules from disk again: about half the CPU of a short moto test. The session holds no state
of the mock (every resource lives in moto's backends, which each stop resets); its credentials are the
fixtures' fake ones, region comes from the environment or the client's ``region_name``, and it is made
after moto's import (the conftests import it), so it carries moto's request hook."""

BURST = int(os.environ.get("NFW_BURST_FINDINGS", "160"))
"""Findings a concurrency burst sends at once through 32 execution environments: 160 in `make test` (five
rounds of 32 queueing writers: every step of the lease's protocol, several times over), 500 in `make soak`
(soak-burst). Its cost grows faster than its size (every plan reads the pending index, a scan in moto)."""
BURST_ENVIRONMENTS = 32

TABLE = "blocklist-ledger"
GROUP = "blocklist-rules"
FOREIGN_RULE = {
    "Priority": 10,
    "RuleDefinition": {
        "MatchAttributes": {"Sources": [{"AddressDefinition": "192.0.2.0/24"}], "Protocols": [6, 17]},
        "Actions": ["aws:forward_to_sfe"],
    },
}


def create_table(name: str = TABLE) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in schema.KEY_ATTRIBUTES],
        KeySchema=[{"AttributeName": schema.HASH_KEY, "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": schema.EXPIRY_INDEX,
                "KeySchema": [
                    {"AttributeName": schema.EXPIRY_INDEX_HASH_KEY, "KeyType": "HASH"},
                    {"AttributeName": schema.EXPIRY_INDEX_RANGE_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": schema.PENDING_INDEX,
                "KeySchema": [
                    {"AttributeName": schema.PENDING_INDEX_HASH_KEY, "KeyType": "HASH"},
                    {"AttributeName": schema.PENDING_INDEX_RANGE_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": list(schema.PENDING_INDEX_PROJECTED),
                },
            },
        ],
    )


def create_rule_group(
    capacity: int = 2000, rules: list[dict[str, Any]] | None = None, name: str = GROUP
) -> str:
    answer = boto3.client("network-firewall").create_rule_group(
        RuleGroupName=name,
        Type="STATELESS",
        Capacity=capacity,
        RuleGroup={
            "RulesSource": {
                "StatelessRulesAndCustomActions": {
                    "StatelessRules": rules if rules is not None else [FOREIGN_RULE],
                    "CustomActions": [],
                }
            }
        },
    )
    arn: str = answer["RuleGroupResponse"]["RuleGroupArn"]
    return arn


DOMAIN_GROUP = "blocklist-domains"


def create_domain_group(capacity: int = 2002, name: str = DOMAIN_GROUP) -> str:
    """The stateful domain list as BlocklistRuleGroup creates it: a deny list holding only its placeholder."""
    from handlers.enforcement import domain_rules_source

    answer = boto3.client("network-firewall").create_rule_group(
        RuleGroupName=name,
        Type="STATEFUL",
        Capacity=capacity,
        RuleGroup={"RulesSource": domain_rules_source([])},
    )
    arn: str = answer["RuleGroupResponse"]["RuleGroupArn"]
    return arn


def domains_in_group(domain_group_arn: str) -> set[str]:
    from handlers.enforcement import PLACEHOLDER_TARGET

    answer = boto3.client("network-firewall").describe_rule_group(
        RuleGroupArn=domain_group_arn, Type="STATEFUL"
    )
    return set(answer["RuleGroup"]["RulesSource"]["RulesSourceList"]["Targets"]) - {PLACEHOLDER_TARGET}


def domain_service(rule_group_arn: str, domain_group_arn: str, **overrides: Any) -> BlocklistService:
    """A service that blocks domains in ``domain_group_arn`` (domainBlocking network-firewall)."""
    return service(
        rule_group_arn,
        domain_blocking=DomainBlocking.NETWORK_FIREWALL,
        domain_rule_group_arn=domain_group_arn,
        **overrides,
    )


def settings(rule_group_arn: str, **overrides: Any) -> Settings:
    return replace(Settings(table_name=TABLE, rule_group_arn=rule_group_arn), **overrides)


def service(rule_group_arn: str, **overrides: Any) -> BlocklistService:
    """A service with its own boto3 clients, as one Lambda execution environment has."""
    return BlocklistService.create(settings(rule_group_arn, **overrides))


def describe(rule_group_arn: str) -> dict[str, Any]:
    answer: dict[str, Any] = boto3.client("network-firewall").describe_rule_group(
        RuleGroupArn=rule_group_arn, Type="STATELESS"
    )
    return answer


def rules_of(rule_group_arn: str) -> list[dict[str, Any]]:
    stateless = describe(rule_group_arn)["RuleGroup"]["RulesSource"]["StatelessRulesAndCustomActions"]
    rules: list[dict[str, Any]] = stateless["StatelessRules"]
    return rules


def blocked_in_group(rule_group_arn: str, priority: int = 30000) -> set[str]:
    from handlers.rules import blocked_hosts, split_owned

    owned, _ = split_owned(rules_of(rule_group_arn), (priority, priority + 100))
    return blocked_hosts(owned, priority, priority + 100)


START = 1_800_000_000.0
"""Where the integration tests' fake time starts (2027-01-15)."""


class FakeTime:
    """One clock for retention and the lease; ``sleep`` moves it instead of waiting."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
