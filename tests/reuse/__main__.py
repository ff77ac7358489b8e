"""Another team's program: it installs nothing of its own and builds the blocklist from the components.

It names them differently, wires them itself, picks both finding sources and a firewall policy, and
tags everything, which is what reuse looks like. tests/unit/test_components_reuse.py renders it.
"""

import pulumi

from components import (
    BlocklistRuleGroup,
    BlocklistRuleGroupArgs,
    PruningSchedule,
    PruningScheduleArgs,
    ResponseStateMachine,
    ResponseStateMachineArgs,
)
from handlers.settings import Settings

tags = {"team": "netops"}
config = pulumi.Config()

group = BlocklistRuleGroup(
    "edge",
    BlocklistRuleGroupArgs(capacity=500, source_priority=100, create_firewall_policy=True, tags=tags),
)
response = ResponseStateMachine(
    "edge",
    ResponseStateMachineArgs(
        admin_email=config.require_secret("adminEmail"),
        table_name=group.table_name,
        table_arn=group.table_arn,
        rule_group_arn=group.rule_group_arn,
        settings=Settings(table_name="", rule_group_arn="", rule_priority=100, retention_minutes=60),
        finding_source="both",
        log_retention_days=7,
        tags=tags,
    ),
)
pruning = PruningSchedule(
    "edge",
    PruningScheduleArgs(
        prune_function_arn=response.prune_function_arn,
        topic_arn=response.topic_arn,
        topic_key_arn=response.topic_key_arn,
        frequency_minutes=5,
        tags=tags,
    ),
)

pulumi.export("firewallPolicyArn", group.firewall_policy_arn)
pulumi.export("stateMachineArn", response.state_machine_arn)
pulumi.export("pruningStateMachineArn", pruning.pruning_state_machine_arn)
pulumi.export("adminEmail", pulumi.Output.secret(config.require("adminEmail")))
