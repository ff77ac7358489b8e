"""Names shared by the ledger table that Pulumi creates and the code that reads it.

The components import these, so the table's keys and indexes and the handlers' queries
cannot drift apart.
"""

from typing import Final

HASH_KEY: Final = "HostIp"
"""Partition key: the host in canonical CIDR form (``198.51.100.7/32``, ``2001:db8::1/128``)."""

EXPIRY_INDEX: Final = "ByExpiry"
"""GSI over every blocked host, sorted by expiry: pruning and full reads query it, never scan."""
EXPIRY_INDEX_HASH_KEY: Final = "Shard"
EXPIRY_INDEX_RANGE_KEY: Final = "ExpiresAt"
SHARD_VALUE: Final = "blocked"

PENDING_INDEX: Final = "Pending"
"""Sparse GSI of hosts recorded but not yet confirmed in the rule group."""
PENDING_INDEX_HASH_KEY: Final = "Pending"
PENDING_INDEX_RANGE_KEY: Final = HASH_KEY
PENDING_VALUE: Final = "1"
PENDING_SINCE: Final = "PendingSince"
"""When the host was recorded (epoch seconds); projected into the Pending index so a writer can
tell an execution still in flight from one that crashed between the ledger and the rule group."""
PENDING_INDEX_PROJECTED: Final = (PENDING_SINCE,)

LEASE_KEY: Final = "#writer-lease"
"""The item (not a host: no GSI keys, never listed) that lets one writer at a time update the group."""
DOMAIN_LEASE_KEY: Final = "#writer-lease#domains"
"""The domain writer's own lease: domains and IP hosts are written to different places, so their writers
never wait for each other."""

TTL_ATTRIBUTE: Final = "PurgeAt"
"""DynamoDB TTL attribute: a backstop a day after expiry, in case pruning stops running."""

# (attribute name, DynamoDB scalar type) for every key attribute the table declares.
KEY_ATTRIBUTES: Final = (
    (HASH_KEY, "S"),
    (EXPIRY_INDEX_HASH_KEY, "S"),
    (EXPIRY_INDEX_RANGE_KEY, "N"),
    (PENDING_INDEX_HASH_KEY, "S"),
)
