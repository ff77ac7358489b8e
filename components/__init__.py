"""Reusable Pulumi components of nfw-blocklist.

The component classes load lazily, so the pure builders (``components.definitions``, ``patterns``,
``iam``, ``config``) can be imported without pulling in pulumi_aws.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "BlocklistRuleGroup": "components.rule_group",
    "BlocklistRuleGroupArgs": "components.rule_group",
    "ResponseStateMachine": "components.response",
    "ResponseStateMachineArgs": "components.response",
    "PruningSchedule": "components.pruning",
    "PruningScheduleArgs": "components.pruning",
    "DnsFirewall": "components.dns_firewall",
    "DnsFirewallArgs": "components.dns_firewall",
    "BlockResponse": "components.dns_firewall_settings",
    "DomainBlocking": "handlers.settings",
    "WorkflowStatus": "handlers.settings",
    "Monitoring": "components.monitoring",
    "MonitoringArgs": "components.monitoring",
    "FindingForwarder": "components.forwarder",
    "FindingForwarderArgs": "components.forwarder",
    "FindingSource": "components.config",
    "CapacityPolicy": "handlers.settings",
    "StackConfig": "components.config",
    "InvalidConfig": "components.config",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'components' has no attribute {name!r}")
