"""nfw-blocklist: block the hosts Amazon GuardDuty flags in an AWS Network Firewall rule group.

Thin on purpose: validate the stack's configuration (a bad value stops here, before any resource),
then wire the five components together (DnsFirewall only with domainBlocking dns-firewall or both) and
export what operators and the CLI need.
"""

import pulumi

from components.config import StackConfig
from components.dns_firewall import DnsFirewall, DnsFirewallArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.pruning import PruningSchedule, PruningScheduleArgs
from components.response import ResponseStateMachine, ResponseStateMachineArgs
from components.rule_group import BlocklistRuleGroup, BlocklistRuleGroupArgs

NAME = "nfw-blocklist"
"""The components' name, and so the prefix of every child's logical name. Physical names are unique per
stack anyway: Pulumi auto-names the resources, and the log groups' names carry project and stack."""

config = StackConfig.from_pulumi(pulumi.Config())

rule_group = BlocklistRuleGroup(
    NAME,
    BlocklistRuleGroupArgs(
        capacity=config.rule_group_capacity,
        create_firewall_policy=config.create_firewall_policy,
        stateful_rule_order=config.stateful_rule_order,
        firewall_policy_type=config.firewall_policy_type,
        **(
            {"domain_capacity": config.domain_group_capacity, "home_net_cidrs": config.home_net_cidrs}
            if config.domain_group_capacity is not None
            else {}
        ),
    ),
    defer_policy=True,
)
dns_firewall_args = DnsFirewallArgs(
    vpc_ids=config.dns_firewall_vpc_ids,
    block_response=config.dns_firewall_block_response,
    enforcement=config.enforcement,
)
if config.dns_firewall_priority is not None:
    # Left out, the component derives one from the project and stack: stacks sharing a VPC differ.
    dns_firewall_args["association_priority"] = config.dns_firewall_priority
dns_firewall = DnsFirewall(NAME, dns_firewall_args) if config.dns_firewall else None
response_args = ResponseStateMachineArgs(
    admin_email=config.admin_email,
    table_name=rule_group.table_name,
    table_arn=rule_group.table_arn,
    rule_group_arn=rule_group.rule_group_arn,
    rule_group_priority=config.rule_group_priority,
    retention_minutes=config.retention_minutes,
    protected_cidrs=config.protected_cidrs,
    min_severity=config.min_severity,
    finding_type_include=config.finding_type_include,
    finding_type_exclude=config.finding_type_exclude,
    on_capacity_full=config.on_capacity_full,
    action_types=config.action_types,
    finding_regions=config.finding_regions,
    finding_accounts=config.finding_accounts,
    finding_source=config.finding_source,
    update_findings=config.update_findings,
    finding_workflow_status=config.finding_workflow_status,
    domain_blocking=config.domain_blocking,
    protected_domains=config.protected_domains,
    dns_firewall_max_domains=config.dns_firewall_max_domains,
    attack_sequence_indicators=config.attack_sequence_indicators,
    enforcement=config.enforcement,
    brake_max_new_blocks=config.brake_max_new_blocks,
    brake_period_minutes=config.brake_period_minutes,
    firewall_policy_type=config.firewall_policy_type,
    flush_firewall_arns=config.flush_firewall_arns,
    accept_findings_from=config.accept_findings_from,
    log_retention_days=config.log_retention_days,
)
# The domain enforcement points exist only in the stacks that block domains there.
if rule_group.domain_rule_group_arn is not None:
    response_args["domain_rule_group_arn"] = rule_group.domain_rule_group_arn
if dns_firewall is not None:
    response_args["dns_firewall_domain_list_id"] = dns_firewall.domain_list_id
    response_args["dns_firewall_domain_list_arn"] = dns_firewall.domain_list_arn
response = ResponseStateMachine(NAME, response_args)
if config.create_firewall_policy:
    # Only once the repopulation has restored the ledger into a new group (a capacity or rule order change)
    # may the policy move to it: the firewall enforces whatever group the policy references.
    rule_group.create_firewall_policy(after=[response.repopulation])
pruning = PruningSchedule(
    NAME,
    PruningScheduleArgs(
        prune_function_arn=response.prune_function_arn,
        topic_arn=response.topic_arn,
        topic_key_arn=response.topic_key_arn,
        frequency_minutes=config.pruning_frequency_minutes,
        log_retention_days=config.log_retention_days,
    ),
)

monitoring_args = MonitoringArgs(
    topic_arn=response.topic_arn,
    rule_group_name=rule_group.rule_group_name,
    response_state_machine_arn=response.state_machine_arn,
    pruning_state_machine_arn=pruning.pruning_state_machine_arn,
    dead_letter_queue_arn=response.dead_letter_queue_arn,
    record_function_name=response.record_function_name,
    block_function_name=response.block_function_name,
    prune_function_name=response.prune_function_name,
    steer_function_name=response.steer_function_name,
    alarms=config.alarms,
    capacity_alarm_percent=config.capacity_alarm_percent,
)
if response.annotate_function_name is not None:
    monitoring_args["annotate_function_name"] = response.annotate_function_name
monitoring = Monitoring(NAME, monitoring_args)

pulumi.export("ruleGroupArn", rule_group.rule_group_arn)
pulumi.export("ruleGroupName", rule_group.rule_group_name)
pulumi.export("stateMachineArn", response.state_machine_arn)
pulumi.export("pruningStateMachineArn", pruning.pruning_state_machine_arn)
pulumi.export("tableName", rule_group.table_name)
pulumi.export("topicArn", response.topic_arn)
pulumi.export("dashboardUrl", monitoring.dashboard_url)
if rule_group.domain_rule_group_arn is not None:
    pulumi.export("domainRuleGroupArn", rule_group.domain_rule_group_arn)
if dns_firewall is not None:
    pulumi.export("dnsFirewallDomainListId", dns_firewall.domain_list_id)
if rule_group.firewall_policy_arn is not None:
    pulumi.export("firewallPolicyArn", rule_group.firewall_policy_arn)
if response.finding_bus_arn is not None:
    pulumi.export("findingBusArn", response.finding_bus_arn)
