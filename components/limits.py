"""What AWS accepts for the names and environments the components create, checked before anything exists.

Pure: no Pulumi, no AWS. The components call these checks in their constructors so that a bad component
name, a derived name AWS would refuse, or a function environment over Lambda's limit stops the program
with one line naming what is wrong, before any resource is registered.

Physical names. Where a fixed name buys nothing, the components let Pulumi auto-name the resource: the
engine appends ``-`` and 7 random hex characters to the logical name (``{component}-{suffix}``), so two
stacks, or two component instances, never collide. Only the log groups get derived names
(``/aws/lambda/{project}/{stack}/{component}-record``), so that operators can find them; project, stack
and component name make them unique per stack and per instance.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from handlers.settings import ENV_RULE_GROUP_ARN, ENV_TABLE_NAME

AUTONAME_SUFFIX_LENGTH: Final = 8
"""Pulumi's auto-name appends ``-`` and 7 random hex characters to the logical name."""


@dataclass(frozen=True)
class NameRule:
    """AWS's rule for the name of one resource type."""

    what: str
    max_length: int
    allowed: str
    """A regular-expression character class: the characters AWS accepts."""
    min_length: int = 1

    def problem(self, name: str) -> str | None:
        """Why AWS would refuse ``name`` as this kind of name, or None."""
        if not self.min_length <= len(name) <= self.max_length:
            return (
                f"{self.what} {name!r} is {len(name)} characters; AWS accepts "
                f"{self.min_length} to {self.max_length}"
            )
        bad = sorted(set(re.sub(self.allowed, "", name, flags=re.ASCII)))
        if bad:
            return f"{self.what} {name!r} contains {''.join(bad)!r}; AWS accepts only {self.allowed}"
        return None


RULE_GROUP: Final = "aws:networkfirewall/ruleGroup:RuleGroup"
FIREWALL_POLICY: Final = "aws:networkfirewall/firewallPolicy:FirewallPolicy"
FUNCTION: Final = "aws:lambda/function:Function"
ROLE: Final = "aws:iam/role:Role"
ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
STATE_MACHINE: Final = "aws:sfn/stateMachine:StateMachine"
EVENT_RULE: Final = "aws:cloudwatch/eventRule:EventRule"
SCHEDULE: Final = "aws:scheduler/schedule:Schedule"
QUEUE: Final = "aws:sqs/queue:Queue"
TOPIC: Final = "aws:sns/topic:Topic"
TABLE: Final = "aws:dynamodb/table:Table"
LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"

NAME_RULES: Final[Mapping[str, NameRule]] = {
    RULE_GROUP: NameRule("Network Firewall rule group name", 128, "[A-Za-z0-9-]"),
    FIREWALL_POLICY: NameRule("Network Firewall policy name", 128, "[A-Za-z0-9-]"),
    FUNCTION: NameRule("Lambda function name", 64, "[A-Za-z0-9_-]"),
    ROLE: NameRule("IAM role name", 64, r"[\w+=,.@-]"),
    ROLE_POLICY: NameRule("IAM role policy name", 128, r"[\w+=,.@-]"),
    # Step Functions accepts more characters, but CloudWatch logging needs [A-Za-z0-9_-].
    STATE_MACHINE: NameRule("state machine name", 80, "[A-Za-z0-9_-]"),
    EVENT_RULE: NameRule("EventBridge rule name", 64, r"[A-Za-z0-9._-]"),
    SCHEDULE: NameRule("EventBridge Scheduler schedule name", 64, r"[A-Za-z0-9._-]"),
    QUEUE: NameRule("SQS queue name", 80, "[A-Za-z0-9_-]"),
    TOPIC: NameRule("SNS topic name", 256, "[A-Za-z0-9_-]"),
    TABLE: NameRule("DynamoDB table name", 255, r"[A-Za-z0-9_.-]", min_length=3),
    LOG_GROUP: NameRule("CloudWatch log group name", 512, r"[A-Za-z0-9._/#-]"),
}
"""Every named resource type the components create (KMS keys, subscriptions, targets, invocations and
queue policies carry no name)."""

_FUNCTION_KEYS: Final = ("record", "block", "prune")
_EVENT_SOURCES: Final = ("securityhub", "guardduty")
_WORKFLOWS: Final = ("response", "pruning")

AUTONAMED_CHILDREN: Final[tuple[tuple[str, str], ...]] = (
    # BlocklistRuleGroup
    (RULE_GROUP, "-rules"),
    (TABLE, "-ledger"),
    (FIREWALL_POLICY, "-policy"),
    # ResponseStateMachine
    (TOPIC, "-notifications"),
    (QUEUE, "-dead-letters"),
    *((FUNCTION, f"-{key}") for key in _FUNCTION_KEYS),
    *((ROLE, f"-{key}-role") for key in _FUNCTION_KEYS),
    *((ROLE_POLICY, f"-{key}-policy") for key in _FUNCTION_KEYS),
    *((EVENT_RULE, f"-{source}") for source in _EVENT_SOURCES),
    *((ROLE, f"-{source}-target-role") for source in _EVENT_SOURCES),
    *((ROLE_POLICY, f"-{source}-target-policy") for source in _EVENT_SOURCES),
    # Both workflows (components.workflow), and PruningSchedule's schedule
    *((STATE_MACHINE, f"-{workflow}") for workflow in _WORKFLOWS),
    *((ROLE, f"-{workflow}-role") for workflow in _WORKFLOWS),
    *((ROLE_POLICY, f"-{workflow}-policy") for workflow in _WORKFLOWS),
    (SCHEDULE, "-schedule"),
    (ROLE, "-schedule-role"),
    (ROLE_POLICY, "-schedule-policy"),
)
"""Every child the three components let Pulumi auto-name, as (type, logical-name suffix after the component
name). tests/unit/test_components_naming.py checks this against the rendered program."""

COMPONENT_NAME_CHARACTERS: Final = "[A-Za-z0-9-]"
"""Network Firewall's rule: the strictest of every type whose name starts with the component name."""


def _longest_allowed_component_name() -> tuple[int, str]:
    """The longest component name every auto-named child still fits, and the child that sets it."""
    fits = []
    for type_, suffix in AUTONAMED_CHILDREN:
        rule = NAME_RULES[type_]
        longest = rule.max_length - AUTONAME_SUFFIX_LENGTH - len(suffix)
        fits.append((longest, f"{rule.what} '<name>{suffix}-xxxxxxx'"))
    return min(fits)


MAX_COMPONENT_NAME_LENGTH, _TIGHTEST_CHILD = _longest_allowed_component_name()
"""32: the IAM role '<name>-securityhub-target-role-xxxxxxx' must fit in 64 characters."""


def check_component_name(name: object) -> None:
    """Refuse a component name that would give any child a physical name AWS refuses."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"component name must be a non-empty string, got {name!r}")
    bad = sorted(set(re.sub(COMPONENT_NAME_CHARACTERS, "", name, flags=re.ASCII)))
    if bad:
        raise ValueError(
            f"component name {name!r} contains {''.join(bad)!r}; use only letters, digits and '-' "
            "(Network Firewall's rule for the rule group's name)"
        )
    if len(name) > MAX_COMPONENT_NAME_LENGTH:
        raise ValueError(
            f"component name {name!r} is {len(name)} characters; use at most {MAX_COMPONENT_NAME_LENGTH} "
            f"so that the {_TIGHTEST_CHILD} fits AWS's limit"
        )


def check_name(type_: str, name: str) -> str:
    """Return ``name`` if AWS accepts it for ``type_``; raise ValueError naming what is wrong otherwise."""
    problem = NAME_RULES[type_].problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


def lambda_log_group_name(project: str, stack: str, component: str, function_key: str) -> str:
    """``/aws/lambda/{project}/{stack}/{component}-{key}``: one per stack and component instance."""
    return check_name(LOG_GROUP, f"/aws/lambda/{project}/{stack}/{component}-{function_key}")


def workflow_log_group_name(project: str, stack: str, workflow: str) -> str:
    """``/aws/vendedlogs/states/{project}/{stack}/{workflow}``, where workflow is ``{component}-response``
    or ``{component}-pruning`` (the ``/aws/vendedlogs/`` prefix keeps the log resource policy small)."""
    return check_name(LOG_GROUP, f"/aws/vendedlogs/states/{project}/{stack}/{workflow}")


# --- Lambda environment ---
LAMBDA_ENVIRONMENT_LIMIT_BYTES: Final = 4096
"""Lambda refuses a function whose environment variables (keys and values) exceed 4 KB in all."""
MAX_TABLE_NAME_BYTES: Final = 255
MAX_RULE_GROUP_ARN_BYTES: Final = 256
"""``arn:<partition>:network-firewall:<region>:<account>:stateless-rulegroup/<name of up to 128>`` fits."""


def environment_size(variables: Mapping[str, str]) -> int:
    """Bytes Lambda counts against its limit: every key and value, UTF-8 encoded."""
    return sum(len(key.encode()) + len(value.encode()) for key, value in variables.items())


RESOURCE_NAME_VARIABLES: Final = (
    (ENV_TABLE_NAME, MAX_TABLE_NAME_BYTES),
    (ENV_RULE_GROUP_ARN, MAX_RULE_GROUP_ARN_BYTES),
)
"""The variables whose values the components learn only at deploy time, with the most bytes each can take."""


def environment_overflow(
    policy: Mapping[str, str], reserved: Iterable[tuple[str, int]] = RESOURCE_NAME_VARIABLES
) -> tuple[int, str] | None:
    """(total bytes, largest policy variable) if the ``policy`` variables plus the ``reserved`` (name, most
    bytes of its value) variables could exceed Lambda's limit; None if they always fit."""
    total = environment_size(policy) + sum(len(name.encode()) + most for name, most in reserved)
    if total <= LAMBDA_ENVIRONMENT_LIMIT_BYTES:
        return None
    largest = max(policy, key=lambda key: len(key.encode()) + len(policy[key].encode()))
    return total, largest
