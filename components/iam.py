"""IAM documents for every role, as Python dicts built by pure functions.

Each role's actions are module-level constants so that tests (and the handlers' author, who owns
the calls the functions make) can check them in one place. Every statement names exact resources;
the exceptions are CloudWatch Logs log delivery for state machine logging and, with tracing on, X-Ray's
trace APIs, which admit no resource other than ``*``.
"""

from collections.abc import Sequence
from typing import Any, Final

import pulumi

from handlers import schema

POLICY_VERSION: Final = "2012-10-17"

# --- Lambda functions: exactly what handlers/ledger.py and handlers/firewall.py call. ---
LEDGER_RECORD_ACTIONS: Final = frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"})
"""record: reads one item per host and writes it back conditionally, and remembers the provider state of
each Security Hub finding it acted on (the loop guard's conditional UpdateItem)."""
LEDGER_SYNC_ACTIONS: Final = frozenset(
    {
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
)
"""block and prune: read the indexes, flag and confirm pending hosts, expire and evict hosts, and take
and release the writer lease (conditional UpdateItems of one item)."""
RULE_GROUP_ACTIONS: Final = frozenset(
    {"network-firewall:DescribeRuleGroup", "network-firewall:UpdateRuleGroup"}
)
"""block and prune: describe -> change -> update with the UpdateToken."""
FLOW_FLUSH_ACTIONS: Final = frozenset({"network-firewall:StartFlowFlush"})
"""block and prune on a Next Generation firewall: flush the flows of newly blocked hosts
(``handlers.flush``), on the firewalls of ``flushFirewallArns`` only."""
FUNCTION_LOG_ACTIONS: Final = frozenset({"logs:CreateLogStream", "logs:PutLogEvents"})
DNS_FIREWALL_ACTIONS: Final = frozenset(
    {
        "route53resolver:UpdateFirewallDomains",
        "route53resolver:ListFirewallDomains",
        "route53resolver:GetFirewallDomainList",
    }
)
"""What the dns-firewall point calls, on the functions' own domain list only."""
"""Every function writes only to its own log group (created by Pulumi, so no CreateLogGroup)."""

FINDING_UPDATE_ACTIONS: Final = frozenset({"securityhub:BatchUpdateFindings"})
"""annotate: the Note, UserDefinedFields and Workflow.Status of the Security Hub CSPM findings acted on,
and the Comment and StatusId of the new Security Hub's (BatchUpdateFindingsV2 is authorized by this
same action, per its documentation in botocore's model)."""

RECORD_FUNCTION_ACTIONS: Final = LEDGER_RECORD_ACTIONS | FUNCTION_LOG_ACTIONS
BLOCK_FUNCTION_ACTIONS: Final = LEDGER_SYNC_ACTIONS | RULE_GROUP_ACTIONS | FUNCTION_LOG_ACTIONS
PRUNE_FUNCTION_ACTIONS: Final = LEDGER_SYNC_ACTIONS | RULE_GROUP_ACTIONS | FUNCTION_LOG_ACTIONS
ANNOTATE_FUNCTION_ACTIONS: Final = FINDING_UPDATE_ACTIONS | FUNCTION_LOG_ACTIONS
LEDGER_STEER_ACTIONS: Final = LEDGER_SYNC_ACTIONS | frozenset({"dynamodb:GetItem"})
"""steer: as block (a release takes hosts out of the ledger and the group), and reads the one item that
says which hosts a finding holds (an extension)."""
STEER_FUNCTION_ACTIONS: Final = LEDGER_STEER_ACTIONS | RULE_GROUP_ACTIONS | FUNCTION_LOG_ACTIONS

# --- State machines ---
INVOKE_ACTIONS: Final = frozenset({"lambda:InvokeFunction"})
PUBLISH_ACTIONS: Final = frozenset({"sns:Publish"})
TOPIC_KEY_ACTIONS: Final = frozenset({"kms:GenerateDataKey", "kms:Decrypt"})
"""Publishing to a KMS-encrypted topic needs the publisher to be allowed to use the topic's key."""
LOG_DELIVERY_ACTIONS: Final = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)
"""Step Functions logging; these vended-log APIs do not support resource-level permissions."""
STATE_MACHINE_ACTIONS: Final = INVOKE_ACTIONS | PUBLISH_ACTIONS | TOPIC_KEY_ACTIONS | LOG_DELIVERY_ACTIONS
TRACING_ACTIONS: Final = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    }
)
"""A state machine with X-Ray tracing on sends traces as its role; X-Ray has no resource-level
permissions for these."""

# --- Starters ---
START_EXECUTION_ACTIONS: Final = frozenset({"states:StartExecution"})
"""The EventBridge rule targets and the schedule may only start their own state machine."""

WILDCARD_RESOURCE_ACTIONS: Final = LOG_DELIVERY_ACTIONS | TRACING_ACTIONS
"""The only actions granted on ``*``."""

LAMBDA_PRINCIPAL: Final = "lambda.amazonaws.com"
STATES_PRINCIPAL: Final = "states.amazonaws.com"
EVENTS_PRINCIPAL: Final = "events.amazonaws.com"
SCHEDULER_PRINCIPAL: Final = "scheduler.amazonaws.com"


def assume_role_policy(service: str) -> dict[str, Any]:
    """Trust policy letting one AWS service assume the role."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def _statement(sid: str, actions: frozenset[str], resources: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}


def log_stream_resource(log_group_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The streams of one log group (the group ARN from the provider carries no ``:*``)."""
    return pulumi.Output.concat(log_group_arn, ":*")


def ledger_resources(table_arn: pulumi.Input[str]) -> list[pulumi.Output[str]]:
    """The table and its two indexes, by exact ARN."""
    return [
        pulumi.Output.from_input(table_arn),
        pulumi.Output.concat(table_arn, "/index/", schema.EXPIRY_INDEX),
        pulumi.Output.concat(table_arn, "/index/", schema.PENDING_INDEX),
    ]


def record_function_policy(table_arn: pulumi.Input[str], log_group_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The record function writes ledger items keyed by host; it never queries an index."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            _statement("Ledger", LEDGER_RECORD_ACTIONS, [table_arn]),
            _statement("OwnLogs", FUNCTION_LOG_ACTIONS, [log_stream_resource(log_group_arn)]),
        ],
    }


def sync_function_policy(
    table_arn: pulumi.Input[str],
    rule_group_arn: pulumi.Input[str],
    log_group_arn: pulumi.Input[str],
    domain_rule_group_arn: pulumi.Input[str] | None = None,
    dns_domain_list_arn: pulumi.Input[str] | None = None,
    ledger_actions: frozenset[str] = LEDGER_SYNC_ACTIONS,
    flush_firewall_arns: Sequence[str] = (),
) -> dict[str, Any]:
    """The block, prune and steer functions read the indexes and rewrite the rule group (and the domain
    one); ``ledger_actions``: what the function does to the ledger (the steer function's are
    ``LEDGER_STEER_ACTIONS``). On a Next Generation firewall they flush the flows of newly blocked hosts on
    the named firewalls."""
    groups = [rule_group_arn, *([domain_rule_group_arn] if domain_rule_group_arn is not None else [])]
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            _statement("Ledger", ledger_actions, ledger_resources(table_arn)),
            _statement("RuleGroup", RULE_GROUP_ACTIONS, groups),
            *(
                [_statement("DnsFirewallList", DNS_FIREWALL_ACTIONS, [dns_domain_list_arn])]
                if dns_domain_list_arn is not None
                else []
            ),
            *(
                [_statement("FlowFlush", FLOW_FLUSH_ACTIONS, list(flush_firewall_arns))]
                if flush_firewall_arns
                else []
            ),
            _statement("OwnLogs", FUNCTION_LOG_ACTIONS, [log_stream_resource(log_group_arn)]),
        ],
    }


def security_hub_resource(rule_group_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The account's Security Hub hub in the stack's partition and region, the resource BatchUpdateFindings
    is authorized on (taken from the rule group's ARN: no lookup call at render time)."""

    def hub(arn: str) -> str:
        _, partition, _, region, account, _ = arn.split(":", 5)
        return f"arn:{partition}:securityhub:{region}:{account}:hub/default"

    return pulumi.Output.from_input(rule_group_arn).apply(hub)


def annotate_function_policy(hub_arn: pulumi.Input[str], log_group_arn: pulumi.Input[str]) -> dict[str, Any]:
    """The annotate function updates findings in Security Hub and nothing else: no ledger, no rule group."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            _statement("AnnotateFindings", FINDING_UPDATE_ACTIONS, [hub_arn]),
            _statement("OwnLogs", FUNCTION_LOG_ACTIONS, [log_stream_resource(log_group_arn)]),
        ],
    }


def state_machine_policy(
    function_arns: Sequence[pulumi.Input[str]],
    topic_arn: pulumi.Input[str],
    topic_key_arn: pulumi.Input[str],
    tracing: bool = False,
) -> dict[str, Any]:
    """A workflow invokes its functions, publishes to the topic, delivers its own logs and, with X-Ray
    tracing on, sends its traces."""
    statements = [
        _statement("InvokeFunctions", INVOKE_ACTIONS, function_arns),
        _statement("Notify", PUBLISH_ACTIONS, [topic_arn]),
        _statement("EncryptNotifications", TOPIC_KEY_ACTIONS, [topic_key_arn]),
        # CloudWatch Logs vended-log delivery has no resource-level permissions: "*" is the only option.
        _statement("LogDelivery", LOG_DELIVERY_ACTIONS, ["*"]),
    ]
    if tracing:
        # Nor do X-Ray's trace and sampling APIs.
        statements.append(_statement("Tracing", TRACING_ACTIONS, ["*"]))
    return {"Version": POLICY_VERSION, "Statement": statements}


def start_execution_policy(state_machine_arn: pulumi.Input[str]) -> dict[str, Any]:
    """EventBridge targets and the schedule start exactly one state machine."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [_statement("StartWorkflow", START_EXECUTION_ACTIONS, [state_machine_arn])],
    }


def dead_letter_queue_policy(
    queue_arn: pulumi.Input[str], rule_arns: Sequence[pulumi.Input[str]]
) -> dict[str, Any]:
    """Only this stack's EventBridge rules may drop undeliverable events into the queue."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "EventBridgeDeadLetters",
                "Effect": "Allow",
                "Principal": {"Service": EVENTS_PRINCIPAL},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
            }
        ],
    }


CLOUDWATCH_PRINCIPAL: Final = "cloudwatch.amazonaws.com"
ALARM_KEY_ACTIONS: Final = ("kms:Decrypt", "kms:GenerateDataKey*")
"""What CloudWatch needs of a topic's KMS key to publish an alarm to the encrypted topic (SNS developer
guide, "Enable compatibility between event sources from AWS services and encrypted topics")."""


def topic_key_policy(
    account_id: pulumi.Input[str], partition: pulumi.Input[str], region: pulumi.Input[str]
) -> Any:
    """The notification topic's key policy: the account's IAM policies decide (the default key policy),
    and CloudWatch alarms of this account and region may use the key to publish to the topic.

    Without the second statement an alarm on the KMS-encrypted topic deploys cleanly and never delivers.
    """
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "AccountIamPolicies",
                "Effect": "Allow",
                "Principal": {"AWS": pulumi.Output.concat("arn:", partition, ":iam::", account_id, ":root")},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDWATCH_PRINCIPAL},
                "Action": list(ALARM_KEY_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {
                        "aws:SourceArn": pulumi.Output.concat(
                            "arn:", partition, ":cloudwatch:", region, ":", account_id, ":alarm:*"
                        )
                    },
                },
            },
        ],
    }
