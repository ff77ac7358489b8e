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
from typing import Final

from components.aws_limits import (
    AUTONAME_RANDOM_CHARS,
    LAMBDA_ENVIRONMENT_BYTES,
    NAME_RULES,
    environment_size,
)
from handlers.settings import (
    ENV_DNS_FIREWALL_DOMAIN_LIST_ID,
    ENV_DOMAIN_RULE_GROUP_ARN,
    ENV_RULE_GROUP_ARN,
    ENV_TABLE_NAME,
    DomainBlocking,
    Settings,
)

AUTONAME_SUFFIX_LENGTH: Final = 1 + AUTONAME_RANDOM_CHARS
"""Pulumi's auto-name appends ``-`` and 7 random hex characters to the logical name."""


RULE_GROUP: Final = "aws:networkfirewall/ruleGroup:RuleGroup"
FIREWALL_POLICY: Final = "aws:networkfirewall/firewallPolicy:FirewallPolicy"
FUNCTION: Final = "aws:lambda/function:Function"
ROLE: Final = "aws:iam/role:Role"
ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
STATE_MACHINE: Final = "aws:sfn/stateMachine:StateMachine"
EVENT_RULE: Final = "aws:cloudwatch/eventRule:EventRule"
EVENT_BUS: Final = "aws:cloudwatch/eventBus:EventBus"
SCHEDULE: Final = "aws:scheduler/schedule:Schedule"
QUEUE: Final = "aws:sqs/queue:Queue"
TOPIC: Final = "aws:sns/topic:Topic"
TABLE: Final = "aws:dynamodb/table:Table"
LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
DNS_DOMAIN_LIST: Final = "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"
DNS_RULE_GROUP: Final = "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup"
DNS_RULE: Final = "aws:route53/resolverFirewallRule:ResolverFirewallRule"
DNS_ASSOCIATION: Final = (
    "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation"
)

NAMED_TYPES: Final = (RULE_GROUP, FIREWALL_POLICY, FUNCTION, ROLE, ROLE_POLICY, STATE_MACHINE, EVENT_RULE,
                      SCHEDULE, QUEUE, TOPIC, TABLE, LOG_GROUP, EVENT_BUS, DNS_DOMAIN_LIST, DNS_RULE_GROUP,
                      DNS_RULE, DNS_ASSOCIATION)  # fmt: skip
"""Every named resource type the components create (KMS keys, subscriptions, targets, invocations and
queue policies carry no name); their rules are ``components.aws_limits.NAME_RULES``."""

_FUNCTION_KEYS: Final = ("record", "block", "prune", "annotate")
_STEER_FUNCTION: Final = "steer"  # not a workflow step (Security Hub actions and decisions invoke it)
_FINDING_SOURCES: Final = ("securityhub", "guardduty", "ocsf", "archived")  # rules on both buses
_EVENT_SOURCES: Final = (*_FINDING_SOURCES, "actions")  # custom actions: the default bus only
_WORKFLOWS: Final = ("response", "pruning")

AUTONAMED_CHILDREN: Final[tuple[tuple[str, str], ...]] = (
    # BlocklistRuleGroup
    (RULE_GROUP, "-rules"),
    (RULE_GROUP, "-domains"),
    (RULE_GROUP, "-domains-strict"),
    (TABLE, "-ledger"),
    (FIREWALL_POLICY, "-policy"),
    # ResponseStateMachine
    (TOPIC, "-notifications"),
    (QUEUE, "-dead-letters"),
    *((FUNCTION, f"-{key}") for key in (*_FUNCTION_KEYS, _STEER_FUNCTION)),
    *((ROLE, f"-{key}-role") for key in (*_FUNCTION_KEYS, _STEER_FUNCTION)),
    *((ROLE_POLICY, f"-{key}-policy") for key in (*_FUNCTION_KEYS, _STEER_FUNCTION)),
    *((EVENT_RULE, f"-{source}") for source in _EVENT_SOURCES),
    *((ROLE, f"-{source}-target-role") for source in _EVENT_SOURCES),
    *((ROLE_POLICY, f"-{source}-target-policy") for source in _EVENT_SOURCES),
    # ResponseStateMachine with acceptFindingsFrom: the finding bus and its rules
    (EVENT_BUS, "-findings"),
    *((EVENT_RULE, f"-findings-{source}") for source in _FINDING_SOURCES),
    # Both workflows (components.workflow), and PruningSchedule's schedule
    *((STATE_MACHINE, f"-{workflow}") for workflow in _WORKFLOWS),
    *((ROLE, f"-{workflow}-role") for workflow in _WORKFLOWS),
    *((ROLE_POLICY, f"-{workflow}-policy") for workflow in _WORKFLOWS),
    (SCHEDULE, "-schedule"),
    (ROLE, "-schedule-role"),
    (ROLE_POLICY, "-schedule-policy"),
    # Monitoring (components.alarms.alarm_specs: one alarm per key)
    *((METRIC_ALARM, f"-{workflow}-failed") for workflow in _WORKFLOWS),
    (METRIC_ALARM, "-dead-letters"),
    (METRIC_ALARM, "-capacity"),
    (METRIC_ALARM, "-brake"),
    *(
        (METRIC_ALARM, f"-{key}-{metric}")
        for key in (*_FUNCTION_KEYS, _STEER_FUNCTION)
        for metric in ("errors", "throttles")
    ),
    # DnsFirewall (one association per VPC: the longest suffix, a 17-digit VPC id)
    (DNS_DOMAIN_LIST, "-dns-domains"),
    (DNS_RULE_GROUP, "-dns-rules"),
    (DNS_RULE, "-dns-block"),
    (DNS_ASSOCIATION, "-dns-0123456789abcdef0"),
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
        fits.append((longest, f"{rule.what} name '<name>{suffix}-xxxxxxx'"))
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
MAX_TABLE_NAME_BYTES: Final = 255
MAX_RULE_GROUP_ARN_BYTES: Final = 256
"""``arn:<partition>:network-firewall:<region>:<account>:stateless-rulegroup/<name of up to 128>`` fits."""


RESOURCE_NAME_VARIABLES: Final = (
    (ENV_TABLE_NAME, MAX_TABLE_NAME_BYTES),
    (ENV_RULE_GROUP_ARN, MAX_RULE_GROUP_ARN_BYTES),
)
"""The variables whose values the components learn only at deploy time, with the most bytes each can take."""


def reserved_names(settings: Settings) -> tuple[tuple[str, int], ...]:
    """``RESOURCE_NAME_VARIABLES`` plus the names only some stacks have (the domain rule group's ARN)."""
    reserved: tuple[tuple[str, int], ...] = RESOURCE_NAME_VARIABLES
    if DomainBlocking.NETWORK_FIREWALL.value in settings.domain_blocking.points:
        reserved = (*reserved, (ENV_DOMAIN_RULE_GROUP_ARN, MAX_RULE_GROUP_ARN_BYTES))
    if DomainBlocking.DNS_FIREWALL.value in settings.domain_blocking.points:
        reserved = (*reserved, (ENV_DNS_FIREWALL_DOMAIN_LIST_ID, MAX_RESOLVER_ID_BYTES))
    return reserved


MAX_RESOLVER_ID_BYTES: Final = 64
"""A Route 53 Resolver resource id (``ResourceId``: at most 64 characters)."""


def environment_overflow(
    policy: Mapping[str, str], reserved: Iterable[tuple[str, int]] = RESOURCE_NAME_VARIABLES
) -> tuple[int, str] | None:
    """(total bytes, largest policy variable) if the ``policy`` variables plus the ``reserved`` (name, most
    bytes of its value) variables could exceed Lambda's limit; None if they always fit."""
    largest_names = {name: "x" * most for name, most in reserved}
    total = environment_size({**policy, **largest_names})
    if total <= LAMBDA_ENVIRONMENT_BYTES:
        return None
    largest = max(policy, key=lambda key: len(key.encode()) + len(policy[key].encode()))
    return total, largest
