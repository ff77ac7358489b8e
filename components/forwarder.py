"""FindingForwarder: sends the findings a blocklist acts on to finding buses in other accounts and regions.

Deployed in the security-tooling account (the GuardDuty and Security Hub delegated administrator), in each
region where findings arrive. Its rules match with the blocklist's own patterns
(``components.patterns.scoped_patterns_for``: one source for both), on the default bus, and target the
``findingBusArn`` of every blocklist stack that should act on them, in any account and region.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import iam
from components.aws_limits import TARGETS_PER_RULE
from components.config import (
    FindingSource,
    check_event_patterns,
    read_accounts,
    read_action_types,
    read_bool,
    read_choice,
    read_regions,
)
from components.constants import TOKEN_PREFIX
from components.forwarder_config import read_target_bus_arns
from components.inputs import ArgsReader
from components.limits import check_component_name
from components.organization import chunks, forwarder_role_policy, forwarder_trust_policy
from components.patterns import patterns_for, scoped_patterns_for
from components.response import (
    DEAD_LETTER_RETENTION_SECONDS,
    EVENT_MAX_AGE_SECONDS,
    EVENT_MAX_RETRIES,
    pattern_json_of,
)

TOKEN: Final = f"{TOKEN_PREFIX}:FindingForwarder"


class FindingForwarderArgs(TypedDict):
    """Inputs of FindingForwarder. The filters must equal the receiving stacks' own (or be wider): a
    finding the forwarder does not match never reaches them."""

    target_bus_arns: Sequence[str]
    """Event bus ARNs to forward to (the blocklist stacks' findingBusArn); required. Plain: the component
    splits them into rules of at most 5 targets, EventBridge's limit."""
    finding_source: NotRequired[FindingSource]
    """Events to forward: securityhub, guardduty or both; default securityhub. Plain: it decides which
    rules exist."""
    action_types: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Opt-in GuardDuty actions, as the blocklist's actionTypes; default none."""
    finding_regions: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Forward only findings found in these regions; default every region."""
    finding_accounts: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Forward only findings of these 12-digit accounts; default every account."""
    domain_findings: NotRequired[pulumi.Input[bool]]
    """Also forward GuardDuty's DNS findings, which name a domain and no remote IP (for blocklist stacks whose
    domainBlocking is not off); default true."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for every child resource; default none."""


def forwarded_patterns(values: Mapping[str, Any], finding_source: str) -> dict[str, dict[str, Any]]:
    """The blocklist's own patterns for these filters (one source for both sides), checked for size."""
    action_types = read_action_types(values, "actionTypes")
    regions = read_regions(values, "findingRegions")
    accounts = read_accounts(values, "findingAccounts")
    domains = read_bool(values, "domainFindings", True)
    check_event_patterns(finding_source, action_types, regions, accounts, domains)
    return scoped_patterns_for(finding_source, action_types, regions, accounts, domains)


class FindingForwarder(pulumi.ComponentResource):
    """Rules on this account's default bus, with the blocklist's patterns, whose targets are finding buses.

    Owns the rules (one per finding source and group of at most 5 target buses), one role EventBridge
    assumes to put the events (trusted only for rules of this account; allowed only ``events:PutEvents`` on
    exactly the target buses), the targets with the blocklist's retry policy, and a dead-letter queue that
    only these rules may write to.
    """

    rule_arns: pulumi.Output[list[str]]
    """The forwarding rules on the default bus."""
    role_arn: pulumi.Output[str]
    """The role EventBridge assumes to put events on the target buses."""
    dead_letter_queue_arn: pulumi.Output[str]
    """Where events that cannot be delivered end up."""
    dead_letter_queue_url: pulumi.Output[str]
    """The dead-letter queue's URL."""

    def __init__(
        self, name: str, args: FindingForwarderArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        reader = ArgsReader("FindingForwarder", name, args)
        arns = list(
            reader.check(["target_bus_arns"], lambda values: read_target_bus_arns(values, "targetBusArns"))
        )
        finding_source = reader.check(
            ["finding_source"],
            lambda values: read_choice(values, "findingSource", FindingSource, FindingSource.SECURITY_HUB),
        ).value
        patterns = reader.settle(
            ["action_types", "finding_regions", "finding_accounts", "domain_findings"],
            lambda values: forwarded_patterns(values, finding_source),
        )
        tags = reader.get("tags")
        child = pulumi.ResourceOptions(parent=self)

        rules: list[tuple[str, aws.cloudwatch.EventRule, list[str]]] = []
        for source in patterns_for(finding_source):
            for number, group in enumerate(chunks(arns, TARGETS_PER_RULE), start=1):
                rule_name = f"{name}-{source}-{number}"
                rule = aws.cloudwatch.EventRule(
                    rule_name,
                    description=f"nfw-blocklist forwarder: {source} findings to {len(group)} finding bus(es)",
                    event_pattern=pattern_json_of(patterns, source),
                    tags=tags,
                    opts=child,
                )
                rules.append((rule_name, rule, group))
        rule_arns = [rule.arn for _, rule, _ in rules]

        # The rules' own account, from their ARN: EventBridge may assume the role only on their behalf.
        account = rule_arns[0].apply(lambda arn: arn.split(":")[4])
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pulumi.Output.json_dumps(forwarder_trust_policy(account)),
            tags=tags,
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=json.dumps(forwarder_role_policy(arns)),
            opts=child,
        )

        dead_letters = aws.sqs.Queue(
            f"{name}-dead-letters",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            tags=tags,
            opts=child,
        )
        for rule_name, rule, group in rules:
            for index, arn in enumerate(group, start=1):
                aws.cloudwatch.EventTarget(
                    f"{rule_name}-target-{index}",
                    rule=rule.name,
                    arn=arn,
                    role_arn=role.arn,
                    retry_policy={
                        "maximum_event_age_in_seconds": EVENT_MAX_AGE_SECONDS,
                        "maximum_retry_attempts": EVENT_MAX_RETRIES,
                    },
                    dead_letter_config={"arn": dead_letters.arn},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
                )
        aws.sqs.QueuePolicy(
            f"{name}-dead-letters-policy",
            queue_url=dead_letters.url,
            policy=pulumi.Output.json_dumps(iam.dead_letter_queue_policy(dead_letters.arn, rule_arns)),
            opts=child,
        )

        self.rule_arns = pulumi.Output.all(*rule_arns).apply(list)
        self.role_arn = role.arn
        self.dead_letter_queue_arn = dead_letters.arn
        self.dead_letter_queue_url = dead_letters.url
        self.register_outputs(
            {
                "rule_arns": self.rule_arns,
                "role_arn": self.role_arn,
                "dead_letter_queue_arn": self.dead_letter_queue_arn,
                "dead_letter_queue_url": self.dead_letter_queue_url,
            }
        )
