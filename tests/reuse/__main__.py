"""Another team's program: it installs nothing of its own and builds two blocklists from the components.

It names them differently, wires them itself, picks both finding sources and a firewall policy for one,
X-Ray tracing and the native GuardDuty source for the other, and tags everything, which is what reuse
looks like. Two instances in one program (and the same program deployed as two stacks) must not share a
single physical name. tests/unit/test_components_reuse.py renders it.
"""

import pulumi

from components import (
    BlocklistRuleGroup,
    BlocklistRuleGroupArgs,
    FindingSource,
    PruningSchedule,
    PruningScheduleArgs,
    ResponseStateMachine,
    ResponseStateMachineArgs,
)

tags = {"team": "netops"}
config = pulumi.Config()

# The edge firewall: its own policy, both finding sources, short retention, pruning every 5 minutes.
edge_group = BlocklistRuleGroup(
    "edge",
    BlocklistRuleGroupArgs(capacity=500, create_firewall_policy=True, tags=tags),
)
edge = ResponseStateMachine(
    "edge",
    ResponseStateMachineArgs(
        admin_email=config.require_secret("adminEmail"),
        table_name=edge_group.table_name,
        table_arn=edge_group.table_arn,
        rule_group_arn=edge_group.rule_group_arn,
        rule_group_priority=100,
        retention_minutes=60,
        finding_source=FindingSource.BOTH,
        log_retention_days=7,
        tags=tags,
    ),
)
edge_pruning = PruningSchedule(
    "edge",
    PruningScheduleArgs(
        prune_function_arn=edge.prune_function_arn,
        topic_arn=edge.topic_arn,
        topic_key_arn=edge.topic_key_arn,
        frequency_minutes=5,
        tags=tags,
    ),
)

# The core network's firewall: a policy of the team's own elsewhere, native GuardDuty events, tracing on.
core_group = BlocklistRuleGroup("core", BlocklistRuleGroupArgs(capacity=1000, tags=tags))
core = ResponseStateMachine(
    "core",
    ResponseStateMachineArgs(
        admin_email=config.require_secret("adminEmail"),
        table_name=core_group.table_name,
        table_arn=core_group.table_arn,
        rule_group_arn=core_group.rule_group_arn,
        rule_group_priority=200,
        finding_source=FindingSource.GUARDDUTY,
        log_retention_days=14,
        tracing=True,
        tags=tags,
    ),
)
core_pruning = PruningSchedule(
    "core",
    PruningScheduleArgs(
        prune_function_arn=core.prune_function_arn,
        topic_arn=core.topic_arn,
        topic_key_arn=core.topic_key_arn,
        log_retention_days=14,
        tracing=True,
        tags=tags,
    ),
)

pulumi.export("firewallPolicyArn", edge_group.firewall_policy_arn)
pulumi.export("stateMachineArn", edge.state_machine_arn)
pulumi.export("pruningStateMachineArn", edge_pruning.pruning_state_machine_arn)
pulumi.export("coreRuleGroupArn", core_group.rule_group_arn)
pulumi.export("coreStateMachineArn", core.state_machine_arn)
pulumi.export("corePruningStateMachineArn", core_pruning.pruning_state_machine_arn)
pulumi.export("adminEmail", pulumi.Output.secret(config.require("adminEmail")))
