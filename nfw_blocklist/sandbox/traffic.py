"""Traffic through a sandbox: connections between the protected VPC and remote hosts, through an emulated
firewall (``emulator.flows``) that enforces the rule groups the sandbox holds right now, and DNS queries
through the DNS Firewall rule groups associated with the VPC.

``SandboxTraffic(sandbox, firewall_arn=...)`` is the firewall of that ARN (one CreateFirewall made in
the sandbox), with the Classic or Next Generation policy the emulator holds under the firewall's
FirewallPolicyArn, and StartFlowFlush calls naming that firewall reach its flow table
(``flow_operations.add_flush_listener``) until ``close()``: a flushed flow's next packet is judged anew.
``Sandbox.traffic()`` gives it the firewall the stack declares (``declared_firewall``): the one
``flushFirewallArns`` names, or one running the program's own policy (``createFirewallPolicy``), so the
functions' flushes reach it. A stack that declares neither gets a firewall without an ARN, whose policy is
the one an operator would attach the program's groups to (``attachable_policy``): its stateless group(s)
first with the default ``aws:forward_to_sfe``, its stateful domain group in the group's own rule order,
and (a Next Generation target) its FIREWALL group(s) in an accept-by-default firewall section, since a
blocklist only drops.

    traffic = SandboxTraffic(sandbox)
    session = traffic.connect("10.0.1.15", "203.0.113.7")      # SYN, SYN-ACK, ACK
    session.exchange(3)                                          # data both ways
    sandbox.put_event(finding)                                   # the block lands mid-flow
    session.exchange(3); session.first_drop                      # the packet number that was cut
    traffic.publish_metrics()                                    # AWS/NetworkFirewall, at sandbox time
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from nfw_blocklist.emulator import EmulatedFirewall, PacketVerdict, flow_operations, store_for
from nfw_blocklist.emulator import dns_firewall as dns_emulator
from nfw_blocklist.emulator.errors import ResourceNotFoundException
from nfw_blocklist.emulator.flows import NAMESPACE
from nfw_blocklist.traffic import TCP, DnsAnswer, DnsRule, Packet, resolve

if TYPE_CHECKING:
    from .core import Sandbox

PROTECTED_VPC: Final = "10.0.0.0/16"
"""The firewall's VPC: where the protected instances live, and HOME_NET where a group sets none."""
INSTANCE: Final = "10.0.1.15"
"""The instance the demo's and the generator's connections start from."""
AVAILABILITY_ZONE_SUFFIX: Final = "a"
HANDSHAKE: Final = ("SYN", "SYN-ACK", "ACK")
NEVER_BLOCKED: Final = "198.51.100.77"
"""A documentation address no sample finding names: its connections must always pass."""
PROTECTED: Final = "10.0.2.20"
"""An address inside the protected VPC (private ranges are protected by default)."""
DOMAIN_SERVER: Final = "203.0.113.50"
"""Where connections to a domain go (the name travels in the ClientHello, not in the address)."""


def finding_targets(events: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """(addresses, domains) the events' findings name, in order, each once, as the findings wrote them."""
    from handlers.extraction import extract
    from handlers.model import TargetKind

    addresses: dict[str, None] = {}
    domains: dict[str, None] = {}
    for event in events:
        for candidate in extract(event).candidates:
            into = domains if candidate.kind == TargetKind.DOMAIN else addresses
            into[str(candidate.raw_host).rstrip(".").lower()] = None
    return list(addresses), list(domains)


@dataclass
class Session:
    """One TCP connection from ``client`` (in the protected VPC) to ``server``, packet by packet."""

    firewall: EmulatedFirewall
    client: str
    server: str
    client_port: int
    server_port: int
    sni: str | None = None
    http_host: str | None = None
    packets: list[tuple[str, PacketVerdict]] = field(default_factory=list)
    """(what the packet was, its verdict), in order: packet N is ``packets[N - 1]``."""

    def _send(self, label: str, outbound: bool, flags: set[str], **app: str | None) -> PacketVerdict:
        outward = Packet(
            self.client, self.server, TCP, self.client_port, self.server_port, frozenset(flags), **app
        )
        packet = outward if outbound else outward.reply()
        verdict = self.firewall.send(packet)
        self.packets.append((label, verdict))
        return verdict

    def open(self) -> "Session":
        """The handshake, then the ClientHello (``sni``) or the request (``http_host``) if there is one."""
        self._send("SYN", True, {"SYN"})
        self._send("SYN-ACK", False, {"SYN", "ACK"})
        self._send("ACK", True, {"ACK"})
        if self.sni is not None:
            self._send(f"ClientHello {self.sni}", True, {"PSH", "ACK"}, sni=self.sni)
        elif self.http_host is not None:
            self._send(f"GET Host: {self.http_host}", True, {"PSH", "ACK"}, http_host=self.http_host)
        return self

    def exchange(self, count: int = 1) -> list[PacketVerdict]:
        """``count`` data packets, alternately from the client and from the server."""
        return [
            self._send("data out" if index % 2 == 0 else "data in", index % 2 == 0, {"PSH", "ACK"})
            for index in range(count)
        ]

    def close(self) -> None:
        self.firewall.close(Packet(self.client, self.server, TCP, self.client_port, self.server_port))

    @property
    def first_drop(self) -> int | None:
        """The number (from 1) of the first packet the firewall dropped; None: none was."""
        return next((number for number, (_, v) in enumerate(self.packets, 1) if not v.passed), None)

    @property
    def established(self) -> bool:
        """Whether the whole handshake (and the ClientHello / request) got through."""
        return bool(self.packets) and all(verdict.passed for _, verdict in self.packets[: len(HANDSHAKE) + 1])

    def summary(self) -> dict[str, Any]:
        dropped = sum(1 for _, verdict in self.packets if not verdict.passed)
        cut = self.first_drop
        return {
            "client": self.client,
            "server": self.server,
            "port": self.server_port,
            "name": self.sni or self.http_host,
            "packets": len(self.packets),
            "passed": len(self.packets) - dropped,
            "dropped": dropped,
            "first_drop": cut,
            "why": self.packets[cut - 1][1].reason if cut else None,
        }


MetricKey = tuple[str, tuple[tuple[str, str], ...]]
"""(metric name, sorted (dimension, value) pairs)."""


def firewall_metrics(
    cloudwatch: Any, start: float, end: float, period: int = 300
) -> dict[MetricKey, list[tuple[float, float]]]:
    """Every ``AWS/NetworkFirewall`` metric in CloudWatch: its per-period sums from ``start`` to ``end``,
    oldest first (moto's ListMetrics may list a metric once per datum: each is read once)."""
    found: dict[MetricKey, list[tuple[float, float]]] = {}
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=NAMESPACE):
        for metric in page["Metrics"]:
            key = (metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"])))
            if key in found:
                continue
            points = cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE,
                MetricName=metric["MetricName"],
                Dimensions=metric["Dimensions"],
                StartTime=start,
                EndTime=end + period,
                Period=period,
                Statistics=["Sum"],
            )["Datapoints"]
            found[key] = sorted((point["Timestamp"].timestamp(), float(point["Sum"])) for point in points)
    return found


class SandboxTraffic:
    """The firewall in front of the sandbox's protected VPC, and its DNS resolver."""

    def __init__(
        self,
        sandbox: "Sandbox",
        *,
        home_net: tuple[str, ...] = (PROTECTED_VPC,),
        firewall_arn: str | None = None,
    ) -> None:
        from moto.networkfirewall.models import networkfirewall_backends

        backend = networkfirewall_backends[sandbox.account][sandbox.region]
        self.sandbox = sandbox
        self.store = store_for(backend)
        self.firewall_arn = firewall_arn
        policy: Mapping[str, Any]
        if firewall_arn is None:
            policy, name = attachable_policy(sandbox, self.store)
        else:
            policy, name = self._policy_of(firewall_arn, backend.firewalls)
        self.firewall = EmulatedFirewall(
            self.store,
            policy,
            name,
            list(home_net),
            availability_zone=sandbox.region + AVAILABILITY_ZONE_SUFFIX,
            clock=sandbox.clock.now,
        )
        self._ports = iter(range(40000, 65536))
        self._stop_listening = (
            flow_operations.add_flush_listener(self._flushed) if firewall_arn is not None else None
        )

    def __enter__(self) -> "SandboxTraffic":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop following StartFlowFlush (a firewall named by ARN registered itself for it)."""
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None

    def _flushed(self, operation: flow_operations.FlowOperation) -> None:
        """A StartFlowFlush accepted by the emulator: this firewall's flows that its filters match (and
        that are old enough) are forgotten, unless it names another firewall or Availability Zone."""
        zone = operation.availability_zone
        if operation.firewall_arn != self.firewall_arn or (
            zone and zone.startswith(self.sandbox.region) and zone != self.firewall.availability_zone
        ):
            return
        self.firewall.flush(list(operation.filters), float(operation.minimum_flow_age_seconds or 0))

    def _policy_of(self, firewall_arn: str, firewalls: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
        """The policy document of the sandbox's firewall ``firewall_arn``, and the firewall's name."""
        firewall = firewalls.get(firewall_arn)
        if firewall is None:
            raise ValueError(f"no firewall {firewall_arn!r} in the sandbox (CreateFirewall makes one)")
        policy_arn = str(firewall.firewall_policy_arn)
        for book in (self.store.policies_v2, self.store.policies):
            try:
                return book.get(arn=policy_arn).firewall_policy, str(firewall.firewall_name)
            except ResourceNotFoundException:
                continue
        raise ValueError(f"firewall {firewall_arn!r}: the emulator holds no policy {policy_arn!r}")

    def connect(
        self,
        server: str,
        *,
        client: str = INSTANCE,
        port: int = 443,
        sni: str | None = None,
        http_host: str | None = None,
    ) -> Session:
        """Open a connection from ``client`` to ``server`` (handshake, then the ClientHello or request)."""
        return Session(self.firewall, client, server, next(self._ports), port, sni, http_host).open()

    def resolve(self, name: str, qtype: str = "A") -> DnsAnswer:
        """A query from the protected VPC through every DNS Firewall rule group associated with a VPC of
        the sandbox (the first VPC that has one; none: the query resolves)."""
        dns = dns_emulator.store(self.sandbox.region, self.sandbox.account)
        associations = sorted(dns.associations.values(), key=lambda a: (a.vpc_id, a.priority))
        vpc = associations[0].vpc_id if associations else None
        groups = []
        for association in (a for a in associations if a.vpc_id == vpc):
            rules = dns.rule_group(association.rule_group_id).rules.values()
            groups.append(
                (
                    association.priority,
                    [
                        DnsRule.from_api(rule, list(dns.domain_list(rule["FirewallDomainListId"]).domains))
                        for rule in rules
                    ],
                )
            )
        return resolve(groups, name, qtype)

    def publish_metrics(self) -> int:
        """PutMetricData of the packets counted since the last call, at the sandbox's time."""
        return self.firewall.publish_metrics(self.sandbox.client("cloudwatch"), self.sandbox.clock.now())

    def flush(self, filters: list[Mapping[str, Any]], minimum_age: float = 0.0) -> int:
        """StartFlowFlush on the firewall (``EmulatedFirewall.flush``)."""
        return self.firewall.flush(filters, minimum_age)


FIREWALL_VPC: Final = "vpc-0123456789abcdef0"
FIREWALL_SUBNET: Final = "subnet-0123456789abcdef0"
"""Where ``declared_firewall`` puts the firewall it makes (moto checks neither; nothing routes by them)."""


def declared_firewall(sandbox: "Sandbox") -> str | None:
    """The ARN of the firewall the stack declares, made in the sandbox (CreateFirewall) unless it is there:
    the first ``flushFirewallArns`` entry of the sandbox's account and region (the one the functions'
    StartFlowFlush calls can reach), else a firewall ``<policy>-fw`` running the program's own policy
    (``createFirewallPolicy``). A named firewall runs the program's policy if there is one, otherwise the
    policy an operator would attach the groups to (``attachable_policy``, made in the sandbox too).

    None: the stack names no firewall and creates no policy, so nothing could address a firewall by ARN;
    the traffic firewall then stands for one the operator attaches the groups to."""
    from moto.networkfirewall.models import networkfirewall_backends

    from handlers.settings import Settings

    prefix = f"arn:aws:network-firewall:{sandbox.region}:{sandbox.account}:firewall/"
    flushed = Settings.from_env(sandbox.function_environment("block")).flush_firewall_arns
    named = next((arn for arn in flushed if arn.startswith(prefix)), None)
    policies = sorted(sandbox.inventory.firewall_policies.items())
    if named is None and not policies:
        return None
    name = named.removeprefix(prefix) if named else f"{policies[0][1]}-fw"
    arn = prefix + name
    backend = networkfirewall_backends[sandbox.account][sandbox.region]
    if arn in backend.firewalls:
        return arn
    client = sandbox.client("network-firewall")
    if policies:
        policy_arn = policies[0][0]
    else:  # flushFirewallArns is a Next Generation setting: the operator's policy is a V2 one
        document, _ = attachable_policy(sandbox, store_for(backend))
        policy_arn = client.create_firewall_policy_v2(
            FirewallPolicyV2Name=f"{name}-policy", FirewallPolicyV2=document
        )["FirewallPolicyV2Response"]["FirewallPolicyV2Arn"]
    created: str = client.create_firewall(
        FirewallName=name,
        FirewallPolicyArn=policy_arn,
        VpcId=FIREWALL_VPC,
        SubnetMappings=[{"SubnetId": FIREWALL_SUBNET}],
    )["Firewall"]["FirewallArn"]
    return created


def attachable_policy(sandbox: "Sandbox", store: Any) -> tuple[dict[str, Any], str]:
    """The policy an operator would attach the program's groups to, and its firewall's name: the FIREWALL
    group(s) in an accept-by-default firewall section (Next Generation); or the stateless group(s) first
    with the default ``aws:forward_to_sfe`` and the stateful domain group in the group's own rule order."""
    inventory = sandbox.inventory
    stack = sandbox.rendered.stack
    groups = [store.get(arn=arn) for arn in sorted(inventory.rule_groups)]
    firewall_groups = [group for group in groups if group.type == "FIREWALL"]
    if firewall_groups:
        entries = [{"ResourceArn": g.arn, "Priority": number} for number, g in enumerate(firewall_groups, 1)]
        return {"FirewallRuleGroupEntries": entries, "FirewallDefaultAction": "ACCEPT"}, f"{stack}-firewall"
    stateful = [group for group in groups if group.type == "STATEFUL"]
    orders = {
        str(
            (group.version.rule_group.get("StatefulRuleOptions") or {}).get("RuleOrder")
            or "DEFAULT_ACTION_ORDER"
        )
        for group in stateful
    }
    order = orders.pop() if len(orders) == 1 else "DEFAULT_ACTION_ORDER"
    policy: dict[str, Any] = {
        "StatelessRuleGroupReferences": [
            {"ResourceArn": group.arn, "Priority": number}
            for number, group in enumerate((g for g in groups if g.type == "STATELESS"), 1)
        ],
        "StatelessDefaultActions": ["aws:forward_to_sfe"],
        "StatefulRuleGroupReferences": [
            {"ResourceArn": group.arn, **({"Priority": number} if order == "STRICT_ORDER" else {})}
            for number, group in enumerate(stateful, 1)
        ],
        "StatefulEngineOptions": {"RuleOrder": order},
    }
    return policy, f"{stack}-firewall"
