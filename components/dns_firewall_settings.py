"""What Route 53 Resolver DNS Firewall accepts, as pure values: the stack config and the DnsFirewall
component both check against these (so neither imports the other for them).

AWS facts relied on (botocore's route53resolver model and the AssociateFirewallRuleGroup API
reference): association priorities 100-9900, "a unique priority for each rule group that you associate
with a single VPC"; at most 5 rule groups per VPC; BlockResponse NODATA | NXDOMAIN | OVERRIDE.
"""

import hashlib
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

MIN_ASSOCIATION_PRIORITY: Final = 100
MAX_ASSOCIATION_PRIORITY: Final = 9900
DERIVED_PRIORITIES: Final = range(5000, 9900)
"""Where a priority nobody set falls: late among the VPC's rule groups (an allow list of yours at a lower
number still wins), and wide, so two stacks on one VPC rarely draw the same (1 in 4,900 for a pair)."""
DERIVED_PRIORITY: Final = 0
"""The stack config's value (its default) for "derive the priority": outside AWS's range, so never meant
as one."""
MAX_RULE_GROUPS_PER_VPC: Final = 5
VPC_ID: Final = re.compile(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})")


class BlockResponse(StrEnum):
    """What a blocked query gets: NODATA (the name exists, no answer) or NXDOMAIN (no such name)."""

    NODATA = "NODATA"
    """The name exists and has no answer of the asked type."""
    NXDOMAIN = "NXDOMAIN"
    """No such name."""


def check_vpc_ids(vpc_ids: Sequence[str]) -> None:
    """``vpc-`` ids (8 or 17 hex digits), each listed once: a VPC takes a rule group once."""
    for vpc_id in vpc_ids:
        if not isinstance(vpc_id, str) or not VPC_ID.fullmatch(vpc_id):
            raise ValueError(f"vpc_ids: {vpc_id!r} is not a VPC id (vpc- and 8 or 17 hex digits)")
    duplicates = sorted({vpc_id for vpc_id in vpc_ids if list(vpc_ids).count(vpc_id) > 1})
    if duplicates:
        raise ValueError(f"vpc_ids: {duplicates[0]} is listed twice (a VPC takes a rule group once)")


def derived_association_priority(project: str, stack: str, component: str) -> int:
    """The priority of a DnsFirewall whose priority nobody set: drawn from its project, stack and component
    name, so it repeats on every deployment of that stack (no needless update) and differs between stacks
    sharing a VPC, which AWS requires, except for a rare collision the sandbox refuses before creating
    anything."""
    digest = hashlib.sha256(f"{project}/{stack}/{component}".encode()).digest()
    return DERIVED_PRIORITIES[int.from_bytes(digest[:8], "big") % len(DERIVED_PRIORITIES)]
