"""Cutting established connections on a Next Generation firewall: StartFlowFlush for newly blocked hosts.

The developer guide ("Using flow flush operations") says "existing flows continue to be processed
according to the rules that were in place when those flows began": the conservative reading is that an
open C2 session survives a new drop rule until its flow is flushed. So after a write that blocks new
hosts, the functions flush the flows from and to each of them on every firewall the user names
(``flushFirewallArns``): two filters per host (source, destination), at most 20 filters per call
(botocore ``StartFlowFlush``), so ten hosts per call.

A flush is best effort on top of a block that is already in place for new flows: a failure is reported
(``FlushReport``), never raised, so it neither undoes nor retries the block. Nothing is flushed for a
removal (an unblocked host's flows may simply start again).
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from handlers.payloads import sample

logger = logging.getLogger(__name__)

MAX_FLOW_FILTERS: Final = 20
HOSTS_PER_FLUSH: Final = MAX_FLOW_FILTERS // 2


def flow_filters(hosts: Sequence[str]) -> list[dict[str, Any]]:
    """Every flow from or to ``hosts`` (canonical CIDRs): one filter per direction."""
    filters: list[dict[str, Any]] = []
    for host in hosts:
        filters.append({"SourceAddress": {"AddressDefinition": host}})
        filters.append({"DestinationAddress": {"AddressDefinition": host}})
    return filters


@dataclass
class FlushReport:
    """What the flushes of one sync did: operations started, and failures (firewall, error)."""

    hosts: int = 0
    operations: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def merged(self, other: "FlushReport") -> "FlushReport":
        return FlushReport(
            self.hosts + other.hosts, [*self.operations, *other.operations], [*self.failures, *other.failures]
        )

    def to_payload(self) -> dict[str, Any]:
        """Bounded: counts and a sample (a step's payload never grows with the hosts)."""
        return {
            "hosts": self.hosts,
            "operations": len(self.operations),
            "failed": len(self.failures),
            "failures": sample(self.failures),
        }


@dataclass
class FlowFlusher:
    """Flushes the flows of newly blocked hosts on the named firewalls."""

    firewall_arns: Sequence[str]
    client_factory: Callable[[], Any]
    _client: Any = field(default=None, repr=False)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def flush(self, hosts: Sequence[str]) -> FlushReport:
        report = FlushReport(hosts=len(hosts))
        if not hosts:
            return report
        ordered = sorted(hosts)
        for firewall_arn in self.firewall_arns:
            for start in range(0, len(ordered), HOSTS_PER_FLUSH):
                chunk = ordered[start : start + HOSTS_PER_FLUSH]
                try:
                    answer = self.client.start_flow_flush(
                        FirewallArn=firewall_arn, FlowFilters=flow_filters(chunk)
                    )
                except (ClientError, BotoCoreError) as error:
                    code = (
                        error.response.get("Error", {}).get("Code", "")
                        if isinstance(error, ClientError)
                        else type(error).__name__
                    )
                    report.failures.append(f"{firewall_arn}: {code}")
                    logger.warning(
                        "flow flush failed",
                        extra={"firewall": firewall_arn, "code": code, "hosts": len(chunk)},
                    )
                    continue
                report.operations.append(str(answer.get("FlowOperationId", "")))
        logger.info(
            "flushed flows of newly blocked hosts",
            extra={
                "firewalls": len(self.firewall_arns),
                "operations": len(report.operations),
                "failed": len(report.failures),
            },
        )
        return report
