"""FindingForwarder: sends the findings a blocklist acts on to finding buses in other accounts and regions.

Deployed in the security-tooling account (the GuardDuty and Security Hub delegated administrator), in each
region where findings arrive. Its rules match with the blocklist's own patterns
(``components.patterns.scoped_patterns_for``: one source for both), on the default bus, and target the
``findingBusArn`` of every blocklist stack that should act on them, in any account and region.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from components import iam
from components.aws_limits import TARGETS_PER_RULE
from components.constants import TOKEN_PREFIX
from components.limits import check_component_name
from components.organization import (
    ACCOUNT_ID,
    REGION,
    bus_arn_problem,
    chunks,
    first_invalid,
    forwarder_role_policy,
    forwarder_trust_policy,
)
from components.patterns import event_pattern_json, pattern_size_problem, scoped_patterns_for
from components.response import (
    DEAD_LETTER_RETENTION_SECONDS,
    EVENT_MAX_AGE_SECONDS,
    EVENT_MAX_RETRIES,
    FINDING_SOURCES,
)
from handlers.settings import OPT_IN_ACTIONS

TOKEN: Final = f"{TOKEN_PREFIX}:FindingForwarder"


@dataclass
class FindingForwarderArgs:
    """Inputs of FindingForwarder. The filters must equal the receiving stacks' own (or be wider): a
    finding the forwarder does not match never reaches them."""

    target_bus_arns: Sequence[str]
    """Event bus ARNs to forward to (the blocklist stacks' ``findingBusArn``); required, plain strings (the
    component splits them into rules of at most 5 targets, EventBridge's limit)."""
    finding_source: str = "securityhub"
    """Events to forward: securityhub, guardduty or both; default securityhub."""
    action_types: Sequence[str] = ()
    """Opt-in GuardDuty actions, as the blocklist's ``actionTypes``; default none."""
    finding_regions: Sequence[str] = ()
    """Forward only findings found in these regions; default every region."""
    finding_accounts: Sequence[str] = ()
    """Forward only findings of these accounts; default every account."""
    domain_findings: bool = True
    """Also forward GuardDuty's DNS findings, which name a domain and no remote IP (for blocklist stacks whose
    ``domainBlocking`` is not off); default true."""
    tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None
    """Tags for every child resource; default none."""

    def validate(self) -> None:
        """Reject what EventBridge would reject, or what would forward nothing, before anything exists."""
        if isinstance(self.target_bus_arns, str) or not self.target_bus_arns:
            raise ValueError(
                f"target_bus_arns must be a non-empty list of event bus ARNs, got {self.target_bus_arns!r}"
            )
        for arn in self.target_bus_arns:
            problem = bus_arn_problem(arn) if isinstance(arn, str) else "is not a string"
            if problem is not None:
                raise ValueError(f"target_bus_arns: {arn!r} {problem}")
        if self.finding_source not in FINDING_SOURCES:
            raise ValueError(
                f"finding_source must be one of {', '.join(FINDING_SOURCES)}, got {self.finding_source!r}"
            )
        unknown = [a for a in self.action_types if a not in OPT_IN_ACTIONS]
        if unknown or isinstance(self.action_types, str):
            raise ValueError(f"action_types must be drawn from {', '.join(OPT_IN_ACTIONS)}, got {unknown!r}")
        bad_region = first_invalid(self.finding_regions, REGION)
        if bad_region is not None:
            raise ValueError(f"finding_regions must be AWS region names, got {bad_region!r}")
        bad_account = first_invalid(self.finding_accounts, ACCOUNT_ID)
        if bad_account is not None:
            raise ValueError(f"finding_accounts must be 12-digit account IDs, got {bad_account!r}")
        problem = pattern_size_problem(self.patterns())
        if problem is not None:
            raise ValueError(f"finding_accounts and finding_regions: together with the rest, it {problem}")

    def patterns(self) -> dict[str, dict[str, Any]]:
        """The blocklist's own patterns for these filters (one source for both sides)."""
        return scoped_patterns_for(
            self.finding_source,
            self.action_types,
            self.finding_regions,
            self.finding_accounts,
            self.domain_findings,
        )

    def unique_arns(self) -> list[str]:
        return list(dict.fromkeys(self.target_bus_arns))


class FindingForwarder(pulumi.ComponentResource):
    """Rules on this account's default bus, with the blocklist's patterns, whose targets are finding buses.

    Owns the rules (one per finding source and group of at most 5 target buses), one role EventBridge
    assumes to put the events (trusted only for rules of this account; allowed only ``events:PutEvents`` on
    exactly the target buses), the targets with the blocklist's retry policy, and a dead-letter queue that
    only these rules may write to.
    """

    rule_arns: pulumi.Output[list[str]]
    role_arn: pulumi.Output[str]
    dead_letter_queue_arn: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: FindingForwarderArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        args.validate()
        child = pulumi.ResourceOptions(parent=self)
        arns = args.unique_arns()

        rules: list[tuple[str, aws.cloudwatch.EventRule, list[str]]] = []
        for source, pattern in args.patterns().items():
            for number, group in enumerate(chunks(arns, TARGETS_PER_RULE), start=1):
                rule_name = f"{name}-{source}-{number}"
                rule = aws.cloudwatch.EventRule(
                    rule_name,
                    description=f"nfw-blocklist forwarder: {source} findings to {len(group)} finding bus(es)",
                    event_pattern=event_pattern_json(pattern),
                    tags=args.tags,
                    opts=child,
                )
                rules.append((rule_name, rule, group))
        rule_arns = [rule.arn for _, rule, _ in rules]

        # The rules' own account, from their ARN: EventBridge may assume the role only on their behalf.
        account = rule_arns[0].apply(lambda arn: arn.split(":")[4])
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pulumi.Output.json_dumps(forwarder_trust_policy(account)),
            tags=args.tags,
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
            tags=args.tags,
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
