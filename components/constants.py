"""Names and numbers the components share with each other and with the handlers.

The custom action's name comes from ``handlers.rules`` so that the rule group Pulumi creates and
the rules the handlers write cannot disagree about it.
"""

from enum import StrEnum
from typing import Final

from handlers.rules import MAX_STATELESS_CAPACITY, METRIC_ACTION_NAME, metric_custom_action
from handlers.settings import DESTINATION_PRIORITY_OFFSET, MAX_RULE_PRIORITY

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_LOG_RETENTION_DAYS",
    "DESTINATION_PRIORITY_OFFSET",
    "LOG_RETENTION_DAYS",
    "MAX_RULE_PRIORITY",
    "MAX_SOURCE_PRIORITY",
    "MAX_STATELESS_CAPACITY",
    "METRIC_ACTION_NAME",
    "MIN_CAPACITY",
    "PLACEHOLDER_CIDR",
    "PLACEHOLDER_PRIORITY",
    "TOKEN_PREFIX",
    "StatefulRuleOrder",
    "metric_custom_action",
]

TOKEN_PREFIX: Final = "nfw-blocklist:index"
"""Components register as ``nfw-blocklist:index:<Type>``."""

PLACEHOLDER_CIDR: Final = "192.0.2.255/32"
"""TEST-NET-1 (RFC 5737): documentation space that never appears on a real network.

Network Firewall requires at least one stateless rule in a stateless group, so the group is created
with one rule matching only this address; the handlers keep every rule they do not own, so it stays.
"""
PLACEHOLDER_PRIORITY: Final = MAX_RULE_PRIORITY
"""Always the last priority, whatever the source priority: no priority change can land on it."""
PLACEHOLDER_CAPACITY: Final = 1
"""One address, no ports or protocols: one capacity unit."""
HOST_CAPACITY: Final = 2
"""Each host costs two units: one address in the source rule, one in the destination rule."""

DEFAULT_CAPACITY: Final = 2000
MIN_CAPACITY: Final = PLACEHOLDER_CAPACITY + HOST_CAPACITY
"""The placeholder and one host; a group that cannot hold one host is useless."""
MAX_SOURCE_PRIORITY: Final = PLACEHOLDER_PRIORITY - 1 - DESTINATION_PRIORITY_OFFSET
"""65434: the destination rule sits DESTINATION_PRIORITY_OFFSET above the source rule and must stay below
the placeholder."""

DEFAULT_LOG_RETENTION_DAYS: Final = 30
LOG_RETENTION_DAYS: Final = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                             2192, 2557, 2922, 3288, 3653)  # fmt: skip
"""The only retention periods (days) CloudWatch Logs accepts."""


def log_retention_problem(days: object) -> str | None:
    """Why CloudWatch Logs would refuse ``days`` as a retention, or None."""
    if isinstance(days, bool) or days not in LOG_RETENTION_DAYS:
        return f"a CloudWatch Logs retention: {', '.join(map(str, LOG_RETENTION_DAYS))}"
    return None


class StatefulRuleOrder(StrEnum):
    """How a firewall policy's stateful engine orders its rule groups; a stateful rule group joins only a
    policy of its own order (Network Firewall's StatefulEngineOptions / StatefulRuleOptions RuleOrder)."""

    STRICT_ORDER = "STRICT_ORDER"
    """Rule groups by priority, rules in the order given: the order AWS recommends for new policies."""
    DEFAULT_ACTION_ORDER = "DEFAULT_ACTION_ORDER"
    """Suricata's action order (pass, drop, reject, alert): AWS's API default and older policies' order."""
