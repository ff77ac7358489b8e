"""The emulated firewall's data path: a flow table, packets judged by the verdict engine
(``nfw_blocklist.traffic``) against the rule groups the emulator holds now, and the packet metrics
Network Firewall publishes (test and sandbox code, never deployed).

Each packet reads the current version of every rule group its policy references, so a rule group update
reaches the very next packet; what a flow remembers decides what that update changes:
- Classic policy: the stateless engine keeps nothing, so a host blocked there is cut at its next packet,
  whichever way it flows. Packets the stateless engine forwards meet the stateful engine, whose verdict
  (pass, drop, reject), once given on a flow, holds for the rest of that flow: a domain blocked after a
  connection's ClientHello does not cut that connection; it ends, or ``flush`` forgets it, and the
  next connection is judged anew.
- Next Generation policy: a verdict of scope FLOW holds for the rest of the flow (ACCEPT FLOW too:
  a block written after it does not cut the connection until a flush); PACKET and HOOK verdicts are
  given again for every packet.
A flushed flow's next packet opens a new flow and is judged as its first packet (Suricata picks flows up
mid-stream; unverified, docs/TRAFFIC.md).

Metrics, as Network Firewall publishes them in ``AWS/NetworkFirewall`` (developer guide, "AWS Network
Firewall metrics in Amazon CloudWatch"): ``ReceivedPackets`` (dimensions FirewallName, AvailabilityZone,
Engine=Stateless), ``PassedPackets`` / ``DroppedPackets`` (the same, Engine=Stateless or Stateful: the
engine that decided), and ``Packets`` per custom action (FirewallName, AvailabilityZone, Engine=Stateless,
CustomAction=the PublishMetricAction dimension value). ``publish_metrics`` writes what was counted since
the last call with ``PutMetricData``, one datum per metric and dimension set, at the given time.
"""

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from nfw_blocklist.traffic import FirewallEngine, FlowKey, Packet, StatefulEngine, StatelessPolicy
from nfw_blocklist.traffic.packets import in_cidr

from .errors import InvalidRequestException
from .store import RuleGroupStore

NAMESPACE: Final = "AWS/NetworkFirewall"
MAX_FLOW_FILTERS: Final = 20
DROP_ACTIONS: Final = frozenset({"drop", "reject"})


@dataclass
class Flow:
    """One connection the firewall has seen: its key in the opening direction and what it remembers."""

    key: FlowKey
    opened_at: float
    packets: int = 0
    stateful: str | None = None
    """The stateful engine's verdict on this flow (pass, drop, reject), once given."""
    firewall: str | None = None
    """The firewall engine's FLOW-scoped verdict (accept, drop, reject), once given."""


@dataclass(frozen=True)
class PacketVerdict:
    """What happened to one packet: ``passed``, which engine decided, and why (for reports)."""

    passed: bool
    engine: str
    """``Stateless``, ``Stateful`` or ``Firewall``."""
    reason: str
    metric_dimensions: tuple[str, ...] = ()
    new_flow: bool = False


@dataclass
class EmulatedFirewall:
    """A firewall of one policy, in one Availability Zone, over the emulator's rule groups.

    ``policy``: a Classic ``FirewallPolicy`` (StatelessRuleGroupReferences, StatelessDefaultActions,
    StatelessCustomActions, StatefulRuleGroupReferences, StatefulEngineOptions, StatefulDefaultActions)
    or a Next Generation ``FirewallPolicyV2`` (FirewallRuleGroupEntries, FirewallDefaultAction), as the
    Describe calls return them. ``home_net``: the firewall VPC's CIDRs (HOME_NET where a group sets none).
    """

    store: RuleGroupStore
    policy: Mapping[str, Any]
    name: str
    home_net: Sequence[str]
    availability_zone: str = "us-east-1a"
    clock: Callable[[], float] = field(default=lambda: 0.0)
    flows: dict[FlowKey, Flow] = field(default_factory=dict)
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(metric, engine, custom action or "") -> packets since the last publish."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _engines: dict[str, tuple[Any, list[Any], Any]] = field(default_factory=dict, repr=False)

    @property
    def next_generation(self) -> bool:
        return "FirewallRuleGroupEntries" in self.policy

    def _group(self, reference: Mapping[str, Any]) -> Mapping[str, Any]:
        if reference.get("InlineRuleGroup") is not None:
            inline: Mapping[str, Any] = reference["InlineRuleGroup"]
            return inline
        return self.store.get(arn=str(reference["ResourceArn"])).version.rule_group

    def _engine(self, kind: str, groups: list[Any], build: Callable[[], Any]) -> Any:
        """The engine built over exactly these group versions (versions are never mutated, so an engine
        is rebuilt only when an update swapped one in, or the policy was replaced); what the key names stays
        referenced, so its ids stay unique."""
        key = (kind, id(self.policy), tuple(id(group) for group in groups))
        cached = self._engines.get(kind)
        if cached is None or cached[0] != key:
            cached = (key, [self.policy, *groups], build())
            self._engines[kind] = cached
        return cached[2]

    def send(self, packet: Packet) -> PacketVerdict:
        """Pass one packet through the firewall; counts its metrics."""
        with self._lock:
            flow, to_server, new = self._flow_of(packet)
            flow.packets += 1
            verdict = (
                self._judge_ng(packet, flow)
                if self.next_generation
                else self._judge_classic(packet, flow, to_server)
            )
            verdict = PacketVerdict(
                verdict.passed, verdict.engine, verdict.reason, verdict.metric_dimensions, new
            )
            self.counts[("ReceivedPackets", "Stateless", "")] += 1
            metric = "PassedPackets" if verdict.passed else "DroppedPackets"
            self.counts[(metric, verdict.engine, "")] += 1
            for dimension in verdict.metric_dimensions:
                self.counts[("Packets", "Stateless", dimension)] += 1
            return verdict

    def _flow_of(self, packet: Packet) -> tuple[Flow, bool, bool]:
        key = packet.flow_key()
        if key in self.flows:
            return self.flows[key], True, False
        reverse = packet.reply().flow_key()
        if reverse in self.flows:
            return self.flows[reverse], False, False
        flow = Flow(key, self.clock())
        self.flows[key] = flow
        return flow, True, True

    def _judge_classic(self, packet: Packet, flow: Flow, to_server: bool) -> PacketVerdict:
        stateless_groups = [
            (int(reference["Priority"]), self._group(reference))
            for reference in self.policy.get("StatelessRuleGroupReferences") or []
        ]
        stateless = self._engine(
            "stateless",
            [group for _, group in stateless_groups],
            lambda: StatelessPolicy(
                stateless_groups,
                default_actions=self.policy.get("StatelessDefaultActions") or ["aws:forward_to_sfe"],
                custom_actions=self.policy.get("StatelessCustomActions") or [],
            ),
        ).judge(packet)
        dims = stateless.metric_dimensions
        where = (
            f"stateless rule priority {stateless.rule[1]} (group {stateless.rule[0]})"
            if stateless.rule
            else "the stateless default action"
        )
        if stateless.action == "aws:drop":
            return PacketVerdict(False, "Stateless", f"aws:drop by {where}", dims)
        if stateless.action == "aws:pass":
            return PacketVerdict(True, "Stateless", f"aws:pass by {where}", dims)
        if flow.stateful is None:
            order = str(
                (self.policy.get("StatefulEngineOptions") or {}).get("RuleOrder") or "DEFAULT_ACTION_ORDER"
            )
            references = sorted(
                self.policy.get("StatefulRuleGroupReferences") or [],
                key=lambda reference: int(reference.get("Priority") or 0),
            )
            groups = [self._group(reference) for reference in references]
            engine = self._engine(
                "stateful",
                groups,
                lambda: StatefulEngine(groups, home_net=self.home_net, rule_order=order),
            )
            established = flow.packets > 1 or "SYN" not in packet.tcp_flags
            decided = engine.judge(packet, to_server=to_server, established=established)
            if decided.action is not None:
                flow.stateful = decided.action
                return PacketVerdict(
                    decided.action == "pass",
                    "Stateful",
                    f"{decided.action} by stateful rule sid {decided.sid}",
                    dims,
                )
            if "aws:drop_strict" in (self.policy.get("StatefulDefaultActions") or []):
                return PacketVerdict(False, "Stateful", "aws:drop_strict (no stateful rule matched)", dims)
            return PacketVerdict(True, "Stateful", "no stateful rule matched", dims)
        passed = flow.stateful == "pass"
        return PacketVerdict(passed, "Stateful", f"the flow's stateful verdict: {flow.stateful}", dims)

    def _judge_ng(self, packet: Packet, flow: Flow) -> PacketVerdict:
        if flow.firewall is not None:
            passed = flow.firewall == "accept"
            return PacketVerdict(passed, "Firewall", f"the flow's firewall verdict: {flow.firewall}:flow")
        entries = sorted(
            self.policy.get("FirewallRuleGroupEntries") or [],
            key=lambda entry: int(entry.get("Priority") or 0),
        )
        groups = [self._group(entry) for entry in entries]
        engine = self._engine(
            "firewall",
            groups,
            lambda: FirewallEngine(
                groups,
                default_action=str(self.policy.get("FirewallDefaultAction") or "DROP"),
                home_net=self.home_net,
            ),
        )
        verdict = engine.judge(packet, first=flow.packets == 1)
        if verdict.scope == "flow":
            flow.firewall = verdict.action
        where = (
            f"rule {verdict.rule} at {verdict.hook}"
            if verdict.rule
            else f"the default action at {verdict.hook}"
        )
        return PacketVerdict(verdict.passes, "Firewall", f"{verdict.action}:{verdict.scope} by {where}")

    def close(self, packet: Packet) -> bool:
        """The connection ``packet`` belongs to ends (FIN/RST seen both ways): the firewall forgets it."""
        with self._lock:
            for key in (packet.flow_key(), packet.reply().flow_key()):
                if self.flows.pop(key, None) is not None:
                    return True
        return False

    def flush(self, filters: Sequence[Mapping[str, Any]], minimum_age: float = 0.0) -> int:
        """StartFlowFlush: forget every flow that some filter matches and that is at least ``minimum_age``
        seconds old; returns how many. ``filters``: FlowFilters as the API takes them (SourceAddress,
        DestinationAddress: {AddressDefinition}; SourcePort, DestinationPort: ``ANY``, ``N`` or ``N:M``;
        Protocols: protocol numbers as strings), 1-20 of them."""
        if not 1 <= len(filters) <= MAX_FLOW_FILTERS:
            raise InvalidRequestException(
                f"FlowFilters must hold 1-{MAX_FLOW_FILTERS} filters, got {len(filters)}"
            )
        with self._lock:
            now = self.clock()
            doomed = [
                key
                for key, flow in self.flows.items()
                if now - flow.opened_at >= minimum_age and any(_filter_matches(f, key) for f in filters)
            ]
            for key in doomed:
                del self.flows[key]
        return len(doomed)

    def publish_metrics(self, cloudwatch: Any, timestamp: float) -> int:
        """PutMetricData of everything counted since the last call; returns the number of data."""
        with self._lock:
            counted, self.counts = self.counts, Counter()
        data = []
        for (metric, engine, custom_action), value in sorted(counted.items()):
            dimensions = [
                {"Name": "FirewallName", "Value": self.name},
                {"Name": "AvailabilityZone", "Value": self.availability_zone},
                {"Name": "Engine", "Value": engine},
            ]
            if custom_action:
                dimensions.append({"Name": "CustomAction", "Value": custom_action})
            data.append(
                {
                    "MetricName": metric,
                    "Dimensions": dimensions,
                    "Value": float(value),
                    "Unit": "Count",
                    "Timestamp": timestamp,
                }
            )
        for start in range(0, len(data), 1000):
            cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + 1000])
        return len(data)


def _filter_matches(flow_filter: Mapping[str, Any], key: FlowKey) -> bool:
    def address(spec: Mapping[str, Any] | None, value: str) -> bool:
        return spec is None or in_cidr(value, str(spec["AddressDefinition"]))

    def port(spec: str | None, value: int) -> bool:
        if spec is None or spec.upper() == "ANY":
            return True
        low, _, high = spec.partition(":")
        return int(low) <= value <= int(high or low)

    protocols = flow_filter.get("Protocols") or []
    forward = (
        address(flow_filter.get("SourceAddress"), key.source)
        and address(flow_filter.get("DestinationAddress"), key.destination)
        and port(flow_filter.get("SourcePort"), key.source_port)
        and port(flow_filter.get("DestinationPort"), key.destination_port)
    )
    return forward and (not protocols or str(key.protocol) in {str(p) for p in protocols})
