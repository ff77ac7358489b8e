"""Flow operations: StartFlowFlush and DescribeFlowOperation, recorded, with one hook for a flow table.

AWS (developer guide, "Using flow flush operations"): "existing flows continue to be processed according
to the rules that were in place when those flows began"; a flush marks the flows its filters match as
timed out, so their next packets are evaluated as new flows against the current rules. The emulator has
no packets: it validates the request as AWS does (the firewall exists; 1-20 FlowFilters, botocore model;
addresses in CIDR notation; AvailabilityZone and AvailabilityZoneId not both), records the operation
with its filters, reports it COMPLETED at once (the emulator's flush is synchronous; AWS's runs
asynchronously: callers poll DescribeFlowOperation), and calls every listener registered with
``add_flush_listener``: that is where a flow table (a packet simulator's) drops the flows the filters
match, so flows survive a rule change until flushed there too.

    from nfw_blocklist.emulator import flow_operations
    flow_operations.add_flush_listener(lambda operation: my_table.flush(operation.filters))

The flow table is ``nfw_blocklist.emulator.flows.EmulatedFirewall`` (``flush(filters)``); the sandbox's
traffic firewall registers it when it is given a firewall's ARN (``SandboxTraffic(sandbox,
firewall_arn=...)``, docs/TRAFFIC.md).
"""

import ipaddress
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidRequestException, ResourceNotFoundException

MAX_FLOW_FILTERS = 20
FLOW_FLUSH = "FLOW_FLUSH"
COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class FlowOperation:
    """One recorded StartFlowFlush: which firewall, which filters (as sent), when."""

    operation_id: str
    firewall_arn: str
    filters: tuple[Mapping[str, Any], ...]
    requested_at: datetime
    minimum_flow_age_seconds: int | None = None
    availability_zone: str | None = None
    status: str = COMPLETED

    def describe(self) -> dict[str, Any]:
        """DescribeFlowOperation's answer."""
        operation: dict[str, Any] = {"FlowFilters": [dict(item) for item in self.filters]}
        if self.minimum_flow_age_seconds is not None:
            operation["MinimumFlowAgeInSeconds"] = self.minimum_flow_age_seconds
        answer: dict[str, Any] = {
            "FirewallArn": self.firewall_arn,
            "FlowOperationId": self.operation_id,
            "FlowOperationType": FLOW_FLUSH,
            "FlowOperationStatus": self.status,
            "FlowRequestTimestamp": self.requested_at,
            "FlowOperation": operation,
        }
        if self.availability_zone:
            answer["AvailabilityZone"] = self.availability_zone
        return answer


FlushListener = Callable[[FlowOperation], None]
_listeners: list[FlushListener] = []
_listeners_lock = threading.Lock()


def add_flush_listener(listener: FlushListener) -> Callable[[], None]:
    """Call ``listener(operation)`` on every accepted StartFlowFlush (any account, region or firewall);
    returns a function that removes it again."""
    with _listeners_lock:
        _listeners.append(listener)

    def remove() -> None:
        with _listeners_lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return remove


@dataclass
class FlowOperations:
    """The flow operations of one account and region, in the order they were started."""

    operations: dict[str, FlowOperation] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start_flush(
        self,
        *,
        firewall_arn: str,
        known_firewalls: Sequence[str],
        filters: object,
        availability_zone: str | None = None,
        availability_zone_id: str | None = None,
        minimum_flow_age_seconds: int | None = None,
    ) -> FlowOperation:
        if firewall_arn not in known_firewalls:
            raise ResourceNotFoundException(f"Firewall not found: {firewall_arn}")
        if availability_zone and availability_zone_id:
            raise InvalidRequestException("Specify either AvailabilityZone or AvailabilityZoneId, not both")
        if not isinstance(filters, list) or not 1 <= len(filters) <= MAX_FLOW_FILTERS:
            raise InvalidRequestException(f"FlowFilters must hold 1-{MAX_FLOW_FILTERS} filters")
        for index, flow_filter in enumerate(filters):
            _validate_filter(index, flow_filter)
        operation = FlowOperation(
            operation_id=str(uuid.uuid4()),
            firewall_arn=firewall_arn,
            filters=tuple(dict(item) for item in filters),
            requested_at=datetime.now(UTC),
            minimum_flow_age_seconds=minimum_flow_age_seconds,
            availability_zone=availability_zone or availability_zone_id,
        )
        with self._lock:
            self.operations[operation.operation_id] = operation
        with _listeners_lock:
            listeners = list(_listeners)
        for listener in listeners:
            listener(operation)
        return operation

    def get(self, firewall_arn: str, operation_id: str) -> FlowOperation:
        with self._lock:
            operation = self.operations.get(operation_id)
        if operation is None or operation.firewall_arn != firewall_arn:
            raise ResourceNotFoundException(f"Flow operation not found: {operation_id}")
        return operation

    def for_firewall(self, firewall_arn: str) -> list[FlowOperation]:
        with self._lock:
            return [op for op in self.operations.values() if op.firewall_arn == firewall_arn]


def _validate_filter(index: int, flow_filter: object) -> None:
    where = f"FlowFilters[{index}]"
    if not isinstance(flow_filter, Mapping):
        raise InvalidRequestException(f"{where} must be an object")
    for key in ("SourceAddress", "DestinationAddress"):
        address = flow_filter.get(key)
        if address is None:
            continue
        definition = address.get("AddressDefinition") if isinstance(address, Mapping) else None
        try:
            ipaddress.ip_network(str(definition), strict=True)
        except ValueError:
            raise InvalidRequestException(
                f"{where}.{key}: {str(definition)[:60]!r} is not a CIDR block"
            ) from None
        if "/" not in str(definition):
            raise InvalidRequestException(f"{where}.{key}: {definition!r} must be in CIDR notation")
