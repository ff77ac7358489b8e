"""The AWS limits the components meet and the sandbox enforces: physical-name rules and payload sizes.

One table of name rules, read by the components (a component name whose children's names AWS would
refuse is refused before anything exists), by the render's mocks (Pulumi's auto-naming must fit the
maximum length) and by the sandbox's deployer (every name is checked before the resource is created,
and must not be taken in its scope). A wrong rule cannot hide in one of them: tests check the table
against botocore's models. Lengths and character sets come from botocore's service models
(``botocore/data/<service>/*/service-2.json``: the name shape's ``min``/``max``/``pattern``), or,
where the model leaves them out (SQS, SNS, Step Functions, Lambda's name inside a 140-character
ARN shape), from the documentation quoted in that model. docs/LIMITS.md lists them with sources.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

STATE_PAYLOAD_BYTES: Final = 262_144
"""Step Functions: a state's input or output, and an execution's input, as UTF-8 (256 KiB)."""
SNS_MESSAGE_BYTES: Final = 262_144
"""SNS Publish: the message (256 KB = 262,144 bytes)."""
MAX_SUBJECT_CHARS: Final = 100
"""SNS Publish: a Subject is 1-100 characters of printable ASCII, without line breaks."""
LAMBDA_SYNC_RESPONSE_BYTES: Final = 6_291_556
"""Lambda: a synchronous invocation's response payload ("6 MB"; Function.ResponseSizeTooLarge says
"maximum allowed payload size (6291556 bytes)")."""
LAMBDA_ENVIRONMENT_BYTES: Final = 4096
"""Lambda: all environment variables of a function, keys and values (4 KB)."""
EVENT_ENTRY_BYTES: Final = 262_144
"""EventBridge PutEvents: one entry (256 KB)."""
EVENT_PATTERN_CHARS: Final = 2048
"""EventBridge: a rule's event pattern, in characters of the string PutRule receives ("Event pattern size",
2,048 by default, adjustable to 4,096: the EventBridge quotas page; botocore's ``EventPattern`` shape allows
4,096). The default is what an account has unless it asked for more."""
EVENT_BUS_POLICY_CHARS: Final = 10_240
"""EventBridge: an event bus's resource policy, in characters ("Event bus policy size", 10,240 by default:
the EventBridge quotas page)."""
TARGETS_PER_RULE: Final = 5
"""EventBridge: at most five targets per rule (PutTargets refuses a sixth with LimitExceededException)."""

IAM_ROLE_INLINE_POLICIES_CHARS: Final = 10_240
"""IAM: all inline policies of one role together ("Role policy size ... 10,240 characters"; PutRolePolicy
refuses with LimitExceeded "Maximum policy size of 10240 bytes exceeded for role <name>"). IAM quotas page,
"IAM and STS character limits"; IAM does not count white space (``iam_policy_chars``)."""
IAM_MANAGED_POLICY_CHARS: Final = 6_144
"""IAM: one managed policy document (CreatePolicy's LimitExceeded "Cannot exceed quota for PolicySize:
6144"). The same page."""
IAM_ROLE_TRUST_POLICY_CHARS: Final = 2_048
"""IAM: a role's trust policy, 2,048 characters by default (adjustable to 4,096; CreateRole's LimitExceeded
"Cannot exceed quota for ACLSizePerRole: 2048"). The same page."""

AUTONAME_RANDOM_CHARS: Final = 7
"""Pulumi's auto-naming appends ``-`` and 7 random lowercase hex characters to the logical name."""


@dataclass(frozen=True)
class NameRule:
    """How AWS constrains one resource type's physical name, and where the name must be unique."""

    what: str
    """The kind of resource, for messages (``IAM role``)."""
    min_length: int
    max_length: int
    allowed: re.Pattern[str]
    """The whole name must match (a full match)."""
    scope: str
    """``account`` (IAM) or ``region``: two resources of this kind in one scope need distinct names."""
    conflict: str
    """The error AWS (or the provider) reports for a taken name."""
    charset: str
    """The allowed characters, as the API documents them, for messages."""

    def problem(self, name: str) -> str | None:
        """Why AWS would refuse ``name`` for this kind of resource, or None."""
        if not self.min_length <= len(name) <= self.max_length:
            return (
                f"{self.what} name {name!r} is {len(name)} characters; "
                f"AWS allows {self.min_length} to {self.max_length}"
            )
        if not self.allowed.fullmatch(name):
            return f"{self.what} name {name!r} has characters AWS refuses; allowed: {self.charset}"
        return None


_IAM = re.compile(r"[\w+=,.@-]+", re.ASCII)
_RESOLVER_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9\-_' ]+")
"""Route 53 Resolver's ``Name`` shape: letters, digits, -, _, ' and spaces, not only digits."""


def _resolver_rule(what: str) -> NameRule:
    # DNS Firewall resources are known by generated ids and AWS accepts a taken name; the sandbox
    # refuses one anyway (two stacks sharing a name is a mistake).
    return NameRule(
        what,
        1,
        64,
        _RESOLVER_NAME,
        "region",
        "none: resources are known by id",
        "letters, digits, -, _, ' and spaces",
    )


NAME_RULES: Final[dict[str, NameRule]] = {
    "aws:iam/role:Role": NameRule(
        "IAM role", 1, 64, _IAM, "account", "EntityAlreadyExists", "letters, digits and +=,.@_-"
    ),
    "aws:iam/policy:Policy": NameRule(
        "IAM policy", 1, 128, _IAM, "account", "EntityAlreadyExists", "letters, digits and +=,.@_-"
    ),
    "aws:iam/rolePolicy:RolePolicy": NameRule(
        "IAM role policy", 1, 128, _IAM, "role", "a silent overwrite", "letters, digits and +=,.@_-"
    ),
    "aws:lambda/function:Function": NameRule(
        "Lambda function",
        1,
        64,
        re.compile(r"[A-Za-z0-9_-]+"),
        "region",
        "ResourceConflictException",
        "letters, digits, - and _",
    ),
    "aws:cloudwatch/logGroup:LogGroup": NameRule(
        "CloudWatch Logs log group",
        1,
        512,
        re.compile(r"[._/#A-Za-z0-9-]+"),
        "region",
        "ResourceAlreadyExistsException",
        "letters, digits and ._/#-",
    ),
    # Step Functions accepts more characters in a name, but not for a state machine that logs to
    # CloudWatch Logs, as every one of ours does: then only letters, digits, - and _.
    "aws:sfn/stateMachine:StateMachine": NameRule(
        "Step Functions state machine",
        1,
        80,
        re.compile(r"[A-Za-z0-9_-]+"),
        "region",
        "StateMachineAlreadyExists",
        "letters, digits, - and _ (a state machine logging to CloudWatch Logs)",
    ),
    "aws:networkfirewall/ruleGroup:RuleGroup": NameRule(
        "Network Firewall rule group",
        1,
        128,
        re.compile(r"[A-Za-z0-9-]+"),
        "region",
        "InvalidRequestException",
        "letters, digits and -",
    ),
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": NameRule(
        "Network Firewall policy",
        1,
        128,
        re.compile(r"[A-Za-z0-9-]+"),
        "region",
        "InvalidRequestException",
        "letters, digits and -",
    ),
    "aws:dynamodb/table:Table": NameRule(
        "DynamoDB table",
        3,
        255,
        re.compile(r"[A-Za-z0-9_.-]+"),
        "region",
        "ResourceInUseException",
        "letters, digits and _.-",
    ),
    "aws:sqs/queue:Queue": NameRule(
        "SQS queue",
        1,
        80,
        re.compile(r"[A-Za-z0-9_-]+(\.fifo)?"),
        "region",
        "QueueAlreadyExists (or a queue silently shared)",
        "letters, digits, - and _ (.fifo suffix for FIFO)",
    ),
    "aws:sns/topic:Topic": NameRule(
        "SNS topic",
        1,
        256,
        re.compile(r"[A-Za-z0-9_-]+(\.fifo)?"),
        "region",
        "a topic silently shared (CreateTopic is idempotent)",
        "letters, digits, - and _ (.fifo suffix for FIFO)",
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": NameRule(
        "CloudWatch alarm",
        1,
        255,
        re.compile(r"[^\x00-\x1f\x7f]+"),
        "region",
        "a silent overwrite (PutMetricAlarm replaces it)",
        "any characters but ASCII control characters",
    ),
    # Dashboards are global to the account, not regional.
    "aws:cloudwatch/dashboard:Dashboard": NameRule(
        "CloudWatch dashboard",
        1,
        255,
        re.compile(r"[A-Za-z0-9_-]+"),
        "account",
        "a silent overwrite (PutDashboard replaces it)",
        "letters, digits, - and _",
    ),
    "aws:cloudwatch/eventRule:EventRule": NameRule(
        "EventBridge rule",
        1,
        64,
        re.compile(r"[.A-Za-z0-9_-]+"),
        "region",
        "a rule silently overwritten (PutRule is an upsert)",
        "letters, digits and ._-",
    ),
    # CreateEventBus: a custom bus's name may not contain "/" (only partner buses' names do), nor be
    # "default" (botocore's ``NonPartnerEventBusName``: 1-256 of [.-_A-Za-z0-9]).
    "aws:cloudwatch/eventBus:EventBus": NameRule(
        "EventBridge event bus",
        1,
        256,
        re.compile(r"(?!default$)[.A-Za-z0-9_-]+"),
        "region",
        "ResourceAlreadyExistsException",
        "letters, digits and ._- (not 'default')",
    ),
    "aws:scheduler/schedule:Schedule": NameRule(
        "EventBridge Scheduler schedule",
        1,
        64,
        re.compile(r"[0-9A-Za-z_.-]+"),
        "region",
        "ConflictException",
        "letters, digits and ._-",
    ),
    "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList": _resolver_rule(
        "DNS Firewall domain list"
    ),
    "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup": _resolver_rule(
        "DNS Firewall rule group"
    ),
    "aws:route53/resolverFirewallRule:ResolverFirewallRule": _resolver_rule("DNS Firewall rule"),
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation": _resolver_rule(
        "DNS Firewall rule group association"
    ),
}
"""Every named resource type the sandbox deploys (name property ``name`` in pulumi-aws for all of them)."""


def iam_policy_chars(document: str | Mapping[str, Any]) -> int:
    """The characters IAM counts against its policy quotas: the JSON document without the white space
    between its tokens. IAM "doesn't count white space"; white space inside a string is counted here, the
    conservative reading (docs/LIMITS.md)."""
    value = json.loads(document) if isinstance(document, str) else document
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def event_entry_size(event: Mapping[str, Any]) -> int:
    """PutEvents' entry size as EventBridge computes it: Time (14 bytes if set), Source, DetailType,
    Detail (the JSON text) and each Resources ARN, in UTF-8 bytes."""
    detail = event.get("detail")
    detail_text = detail if isinstance(detail, str) else json.dumps(detail or {}, separators=(",", ":"))
    size = 14 if event.get("time") else 0
    size += utf8_size(str(event.get("source") or ""))
    size += utf8_size(str(event.get("detail-type") or ""))
    size += utf8_size(detail_text)
    size += sum(utf8_size(str(resource)) for resource in event.get("resources") or [])
    return size


def environment_size(variables: Mapping[str, str]) -> int:
    """Bytes Lambda counts against ``LAMBDA_ENVIRONMENT_BYTES``: the variables as compact JSON, UTF-8.

    Keys, values and their encoding overhead all count (CreateFunction refuses "exceeded the 4KB limit").
    """
    return utf8_size(json.dumps(dict(variables), separators=(",", ":"), ensure_ascii=False))
