"""A Network Firewall rule-group emulator grafted onto moto (test and sandbox code, never deployed).

moto has no rule-group operations; the writer's whole point is optimistic concurrency against them, so
the emulator reproduces what the writer relies on: UpdateToken rotation and InvalidTokenException,
fixed capacity and Network Firewall's capacity arithmetic, priority/action/CIDR validation, DryRun, and
paginated listing, plus injectable latency, throttling, internal errors and lost token races.

    from nfw_blocklist import emulator
    emulator.install()                       # once, before requests; idempotent
    with mock_aws():
        emulator.faults().set(latency={"UpdateRuleGroup": (0.1, 0.3)}, token_conflict_rate=0.3, seed=7)
        ...                                  # boto3 "network-firewall" rule-group calls
        emulator.counters().snapshot().as_dict()

`faults(region, account)` and `counters(region, account)` default to us-east-1 and moto's default
account (123456789012). Both belong to moto's backend, so they reset with it at the end of `mock_aws()`.
Counters see every attempt that reaches the emulator: boto3 retries throttles and 500s by itself unless
the client is configured with `retries={"total_max_attempts": 1}`.
"""

from .api import DEFAULT_REGION, counters, faults, install, installed, store_for
from .errors import (
    EmulatorError,
    InternalServerError,
    InvalidRequestException,
    InvalidTokenException,
    ResourceNotFoundException,
    ThrottlingException,
)
from .faults import RULE_GROUP_OPERATIONS, Counters, CounterSnapshot, Decision, FaultPlan
from .flows import EmulatedFirewall, PacketVerdict
from .rules import MAX_CAPACITY, consumed_capacity, stateless_rule_capacity
from .store import RuleGroupStore, RuleGroupVersion, StoredRuleGroup

__all__ = [
    "DEFAULT_REGION",
    "MAX_CAPACITY",
    "RULE_GROUP_OPERATIONS",
    "CounterSnapshot",
    "Counters",
    "Decision",
    "EmulatedFirewall",
    "EmulatorError",
    "FaultPlan",
    "InternalServerError",
    "InvalidRequestException",
    "InvalidTokenException",
    "PacketVerdict",
    "ResourceNotFoundException",
    "RuleGroupStore",
    "RuleGroupVersion",
    "StoredRuleGroup",
    "ThrottlingException",
    "consumed_capacity",
    "counters",
    "faults",
    "install",
    "installed",
    "stateless_rule_capacity",
    "store_for",
]
