"""What Route 53 Resolver DNS Firewall accepts, as pure values: the stack config and the DnsFirewall
component both check against these (so neither imports the other for them).

AWS facts relied on (botocore's route53resolver model and the AssociateFirewallRuleGroup API
reference): association priorities 100-9900, "a unique priority for each rule group that you associate
with a single VPC"; at most 5 rule groups per VPC; BlockResponse NODATA | NXDOMAIN | OVERRIDE.
"""

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

MIN_ASSOCIATION_PRIORITY: Final = 100
MAX_ASSOCIATION_PRIORITY: Final = 9900
DEFAULT_ASSOCIATION_PRIORITY: Final = 9000
"""Late among the VPC's rule groups by default: an allow list of yours at a lower number still wins."""
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
