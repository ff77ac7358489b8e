"""The forwarder project's configuration (``forwarder/``), validated by the same code as the blocklist's.

Its keys live in the ``nfw-blocklist-forwarder`` namespace; every message names that namespace and the key.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi

from components.config import (
    FindingSource,
    InvalidConfig,
    check_event_patterns,
    label,
    namespaced,
    read_accounts,
    read_action_types,
    read_bool,
    read_choice,
    read_regions,
    read_string_list,
)
from components.organization import BUS_ARNS, bus_arn_problem

NAMESPACE: Final = "nfw-blocklist-forwarder"

KEYS: Final = (
    "targetBusArns",
    "findingSource",
    "actionTypes",
    "findingRegions",
    "findingAccounts",
    "domainFindings",
)
"""Every key the forwarder program reads, in the namespace ``nfw-blocklist-forwarder``."""


@dataclass(frozen=True)
class ForwarderConfig:
    """The validated configuration of one forwarder stack (one security-tooling account and region)."""

    target_bus_arns: tuple[str, ...]
    """The ``findingBusArn`` outputs of the blocklist stacks to send findings to (required)."""
    finding_source: FindingSource = FindingSource.SECURITY_HUB
    action_types: tuple[str, ...] = ()
    finding_regions: tuple[str, ...] = ()
    finding_accounts: tuple[str, ...] = ()
    domain_findings: bool = True
    """Forward DNS findings too (the blocklist stacks' ``domainBlocking`` is on by default)."""

    @classmethod
    def from_pulumi(cls, config: pulumi.Config) -> "ForwarderConfig":
        """Read every key from the stack's configuration (values arrive as strings)."""
        return cls.from_mapping({key: value for key in KEYS if (value := config.get(key)) is not None})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "ForwarderConfig":
        """Validate raw values (strings as ``pulumi config`` stores them, or native Python values)."""
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise InvalidConfig(f"{NAMESPACE}:{unknown[0]} is not a known setting; known: {', '.join(KEYS)}")
        with namespaced(NAMESPACE):
            config = cls(
                target_bus_arns=read_target_bus_arns(values, "targetBusArns"),
                finding_source=read_choice(
                    values, "findingSource", FindingSource, FindingSource.SECURITY_HUB
                ),
                action_types=read_action_types(values, "actionTypes"),
                finding_regions=read_regions(values, "findingRegions"),
                finding_accounts=read_accounts(values, "findingAccounts"),
                domain_findings=read_bool(values, "domainFindings", True),
            )
            check_event_patterns(
                config.finding_source.value,
                config.action_types,
                config.finding_regions,
                config.finding_accounts,
                domains=config.domain_findings,
            )
        return config


def read_target_bus_arns(values: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """The buses to forward to, without duplicates (also FindingForwarder's targetBusArns)."""
    accepts = f"a list of {BUS_ARNS}"
    arns = read_string_list(values, key, accepts)
    if not arns:
        raise InvalidConfig(
            f"{label(key)} is required: the findingBusArn outputs of the blocklist stacks to forward to"
        )
    for arn in arns:
        problem = bus_arn_problem(arn)
        if problem is not None:
            raise InvalidConfig(f"{label(key)} must be {accepts}; {arn!r} {problem}")
    return tuple(dict.fromkeys(arns))
