"""What the bench reads of the handlers: their counters, payloads, notifications and ledger items.

The bench measures from outside and never calls the handlers' logic, but it has to read what they
leave behind. Every such reading is here, so that a change to a payload key, a counter or the ledger
item's shape is adapted in this module alone:

- the ledger counters of every service the entry points built (items read, conditional-write conflicts);
- the block step's input (the hosts an execution recorded as new: the crash fault's predicate);
- the notifications the workflows publish (``"Blocked": "true"`` with its ``Hosts``, ``"false"`` with
  ``Error`` and ``Cause``);
- the names of the workflow's Lambda task states, read from execution histories;
- the ledger item of a confirmed host, for seeding.
"""

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

LAMBDA_STATES = ("RecordHosts", "BlockHosts")
"""The response workflow's Lambda task states (``components.definitions``)."""
BLOCK_STATE = "BlockHosts"
"""Its exit is when an execution's hosts are in the group: the end of the latency figure."""


def items_read() -> int:
    """DynamoDB items read so far by every service the entry points built (their ledgers count reads)."""
    from handlers import entry

    return sum(service.ledger.counts.items_read for service in entry.services())


def ledger_write_conflicts() -> int:
    """Conditional ledger writes refused so far (each one is retried, up to the ledger's attempts)."""
    from handlers import entry

    return sum(service.ledger.counts.write_conflicts for service in entry.services())


def new_hosts(block_input: Any) -> set[str]:
    """The hosts the record step reported as new, from the block step's input."""
    if not isinstance(block_input, Mapping):
        return set()
    return {str(host) for host in block_input.get("new", [])}


def success_notifications(notifications: Iterable[Any]) -> list[Mapping[str, Any]]:
    return [n for n in notifications if isinstance(n, Mapping) and n.get("Blocked") == "true"]


def failure_notifications(notifications: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The ``"Blocked": "false"`` messages every failed execution publishes."""
    return [n for n in notifications if isinstance(n, Mapping) and n.get("Blocked") == "false"]


def notified_hosts(notification: Mapping[str, Any]) -> list[str]:
    return [str(host) for host in notification.get("Hosts", [])]


def _not_blocked(notification: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The kinds of target a block step reported it could not block (its ``NotBlocked``)."""
    kinds = notification.get("NotBlocked")
    return [kind for kind in kinds if isinstance(kind, Mapping)] if isinstance(kinds, list) else []


def failure_error(notification: Mapping[str, Any]) -> str:
    """A failed step's error, or the errors of the kinds a block step could not block."""
    if "Error" in notification:
        return str(notification.get("Error"))
    return ", ".join(str(kind.get("Error")) for kind in _not_blocked(notification))


def failure_cause(notification: Mapping[str, Any]) -> str:
    if "Cause" in notification:
        return str(notification.get("Cause"))
    return "; ".join(f"{kind.get('Kind')}: {kind.get('Reason')}" for kind in _not_blocked(notification))


def ledger_host(item: Mapping[str, Any]) -> str:
    """The host of a ledger item as ``Sandbox.ledger_items`` returns it."""
    from handlers import schema

    return str(item[schema.HASH_KEY])


def confirmed_item(
    host: str, *, seen_at: float, expires_at: float, account: str, region: str
) -> dict[str, Any]:
    """The ledger item of a finding host confirmed in the group, exactly as the ledger writes it."""
    from handlers.ledger import SOURCE_FINDING, HostRecord

    record = HostRecord(
        host=host,
        first_seen=seen_at,
        last_seen=seen_at,
        expires_at=expires_at,
        source=SOURCE_FINDING,
        finding_ids=(uuid.uuid4().hex,),
        finding_type="Backdoor:EC2/C&CActivity.B",
        severity=8.0,
        account=account,
        region=region,
        version=1,
    )
    return record.to_item()
