"""Builds the ledger table and rule group the way the components declare them, inside moto."""

import os
import time
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
"""Findings the IP concurrency burst sends at once through 32 execution environments: 160 in `make test` (five
rounds of 32 queueing writers: every step of the lease's protocol, several times over), 500 in `make soak`
(soak-burst). Its cost grows faster than its size (every plan reads the pending index, a scan in moto)."""
BURST_ENVIRONMENTS = 32
BURST_HURRY = 4.0
"""How much faster than real time the short bursts' writers see time pass (``HurriedTime``)."""
DOMAIN_BURST = int(os.environ.get("NFW_BURST_FINDINGS", str(BURST_ENVIRONMENTS)))
"""The domain burst's findings: one round of 32 in `make test`, 500 in `make soak`. Domains go through the
same writer and lease protocol as IP hosts (their own lease item); the rounds of queueing writers are
the IP burst's (``BURST``), the domain writer's interleavings the domain model's
(tests/model/test_model_domains.py): one round proves the domain target coalesces under real threads."""

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


def service_on(rule_group_arn: str, fake: "FakeTime", **overrides: Any) -> BlocklistService:
    """A service whose writer and ledger sleep on the fake clock, and whose lease runs on it too."""
    return on_time(service(rule_group_arn, **overrides), fake)


def on_time(service: BlocklistService, time: "HurriedTime | FakeTime") -> BlocklistService:
    """``service`` with its writers' lease clock, and every sleep of its writers and its ledger, on
    ``time`` (retention keeps ``handlers.clock``)."""
    service.ledger.sleep = time.sleep
    for writer in (service.writer, service.domain_writer):
        if writer is not None:
            writer.sleep = time.sleep
            writer.wall_clock = time
    return service


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


class HurriedTime:
    """Real time, run ``factor`` times faster for the writers' lease protocol: what it sees as 2 s passes
    in ``2 / factor`` real seconds, and each of its sleeps is that much shorter.

    For the short concurrency bursts (the domain burst, the scanner storm), whose threads really run at
    once and whose wall time was mostly the writers' real coalescing pause: the lease holder waits
    ``MIN_WRITE_INTERVAL_SECONDS`` after the last update before it plans (an idle core meanwhile).
    Every duration of the protocol (pause, lease, patience, look) shrinks alike, and every call looks
    ``factor`` times slower to the writers: the burst runs as on a machine that much slower, which the
    lease is sized for (its length and a waiter's patience follow the holder's measured pace,
    ``handlers.writer.lease_seconds``). Writers without the lease are still caught: with the lease taken
    away, the 160-finding IP burst on it made 235 updates (it allows fewer than 160). That burst keeps
    real time: its five rounds are CPU-bound on a loaded machine, where hurrying it cost more CPU (more
    looks per real second) than the pauses it saved."""

    def __init__(self, factor: float = BURST_HURRY) -> None:
        self.factor = factor
        self.origin = time.time()

    def __call__(self) -> float:
        return self.origin + (time.time() - self.origin) * self.factor

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.factor)


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
