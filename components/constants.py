"""Names and numbers the components share with each other and with the handlers.

The custom action's name comes from ``handlers.rules`` so that the rule group Pulumi creates and
the rules the handlers write cannot disagree about it.
"""

from typing import Final

from handlers.rules import MAX_STATELESS_CAPACITY, METRIC_ACTION_NAME, metric_custom_action
from handlers.settings import DESTINATION_PRIORITY_OFFSET, MAX_RULE_PRIORITY

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_LOG_RETENTION_DAYS",
    "DESTINATION_PRIORITY_OFFSET",
    "MAX_RULE_PRIORITY",
    "MAX_SOURCE_PRIORITY",
    "MAX_STATELESS_CAPACITY",
    "METRIC_ACTION_NAME",
    "PLACEHOLDER_CIDR",
    "TOKEN_PREFIX",
    "metric_custom_action",
]

TOKEN_PREFIX: Final = "nfw-blocklist:index"
"""Components register as ``nfw-blocklist:index:<Type>``."""

DEFAULT_CAPACITY: Final = 2000
MIN_CAPACITY: Final = 2
"""One host costs two units (source and destination rule); a group that cannot hold one host is useless."""
MAX_SOURCE_PRIORITY: Final = MAX_RULE_PRIORITY - DESTINATION_PRIORITY_OFFSET
"""The destination rule sits DESTINATION_PRIORITY_OFFSET above the source rule and must stay <= 65535."""

PLACEHOLDER_CIDR: Final = "192.0.2.255/32"
"""TEST-NET-1 (RFC 5737): documentation space that never appears on a real network.

Network Firewall requires at least one stateless rule in a stateless group, so the group is created
with one rule matching only this address; the handlers keep every rule they do not own, so it stays.
"""

DEFAULT_LOG_RETENTION_DAYS: Final = 30
