"""What the sandbox reads of a render: the resource and render shapes, the type tokens it deploys, and
the physical-name contract. The deployers of every kind of resource build on this module, which
imports none of them.
"""

from collections.abc import Sequence
from typing import Any, Protocol


class RenderedResourceLike(Protocol):
    """The fields of ``nfw_blocklist.render.RenderedResource`` the sandbox reads."""

    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def urn(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def state(self) -> dict[str, Any]: ...


class RenderedLike(Protocol):
    """The fields of ``nfw_blocklist.render.Rendered`` the sandbox reads."""

    @property
    def stack(self) -> str: ...
    @property
    def config(self) -> dict[str, str]: ...
    @property
    def outputs(self) -> dict[str, Any]: ...
    @property
    def resources(self) -> Sequence[RenderedResourceLike]: ...


ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
TABLE = "aws:dynamodb/table:Table"
TOPIC = "aws:sns/topic:Topic"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
QUEUE = "aws:sqs/queue:Queue"
RULE_GROUP = "aws:networkfirewall/ruleGroup:RuleGroup"
FIREWALL_POLICY = "aws:networkfirewall/firewallPolicy:FirewallPolicy"
DYNAMIC = "pulumi-python:dynamic:Resource"
"""The program's dynamic resources: Next Generation groups and policy (``components.firewall_engine``)."""
FUNCTION = "aws:lambda/function:Function"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
EVENT_BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
SCHEDULE = "aws:scheduler/schedule:Schedule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
INVOCATION = "aws:lambda/invocation:Invocation"
KMS_KEY = "aws:kms/key:Key"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
DNS_DOMAIN_LIST = "aws:route53/resolverFirewallDomainList:ResolverFirewallDomainList"
DNS_RULE_GROUP = "aws:route53/resolverFirewallRuleGroup:ResolverFirewallRuleGroup"
DNS_RULE = "aws:route53/resolverFirewallRule:ResolverFirewallRule"
DNS_ASSOCIATION = "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation"
ACTION_TARGET = "aws:securityhub/actionTarget:ActionTarget"

DEPLOY_ORDER = (
    ROLE,
    POLICY,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    TABLE,
    TOPIC,
    QUEUE,
    TOPIC_SUBSCRIPTION,
    RULE_GROUP,
    FIREWALL_POLICY,
    DYNAMIC,
    DNS_DOMAIN_LIST,
    DNS_RULE_GROUP,
    DNS_RULE,
    DNS_ASSOCIATION,
    LOG_GROUP,
    FUNCTION,
    STATE_MACHINE,
    ACTION_TARGET,
    EVENT_BUS,
    EVENT_BUS_POLICY,
    EVENT_RULE,
    EVENT_TARGET,
    SCHEDULE,
    METRIC_ALARM,
    DASHBOARD,
)
"""Dependencies first, as the Pulumi engine would order them. Invocations run after all of these."""


def physical_name(resource: RenderedResourceLike) -> str:
    """The render's contract: the name the mocks report (an explicit ``name`` or Pulumi's auto-name)."""
    return str(resource.state.get("name") or resource.inputs.get("name") or resource.name)
