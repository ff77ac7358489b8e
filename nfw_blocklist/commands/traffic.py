"""``nfw-blocklist traffic [EVENT_FILE...]``: send traffic through a sandboxed stack's firewall while its
findings arrive, and report what each connection's packets met.

Before the findings, a connection is opened from an instance of the protected VPC to every host the
events name (TLS, port 443), to every domain they name (a TLS ClientHello naming it), to a host no
finding names, and to an address inside the protected VPC; each exchanges half its packets. Then the
findings are delivered, the open connections exchange the other half, and new connections (outbound to
every target, inbound from every host) are opened; with ``--prune-after`` the clock moves on, the prune
runs, and new connections are opened again. The firewall's ``AWS/NetworkFirewall`` metrics are published
to the sandbox's CloudWatch and read back. Exit 1 when an execution failed or a connection no finding
named lost a packet.
"""

import argparse
from collections.abc import Mapping
from typing import Any

from nfw_blocklist.arguments import (
    add_config_option,
    add_event_files_argument,
    add_prune_after_option,
    load_event_files,
    optional_duration,
    parse_config_pairs,
)
from nfw_blocklist.console import Printer, UsageError, acted_on_sandbox
from nfw_blocklist.reports import print_json
from nfw_blocklist.stacks import render_with


def add_to(commands: Any) -> None:
    command = commands.add_parser(
        "traffic", help="send connections through the sandbox's firewall while findings arrive"
    )
    command.add_argument("--json", action="store_true", help="print exactly one JSON object")
    command.add_argument("--stack", default="dev", help="the stack to render (default dev)")
    add_config_option(command)
    command.add_argument(
        "--packets",
        type=int,
        default=6,
        help="packets each connection exchanges after its handshake (2-1000)",
    )
    add_prune_after_option(command, then=", then connect again")
    add_event_files_argument(command, required=False)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 2 <= args.packets <= 1000:
        raise UsageError(f"--packets must be 2-1000, got {args.packets}")
    prune_after = optional_duration(args.prune_after)
    files = load_event_files(args.files)
    rendered = render_with(args.stack, parse_config_pairs(args.config))
    events = [event for event_file in files for event in event_file.events]

    from nfw_blocklist.sandbox import Sandbox
    from nfw_blocklist.sandbox.traffic import DOMAIN_SERVER, NEVER_BLOCKED, PROTECTED, finding_targets

    addresses, domains = finding_targets(events)

    with Sandbox(rendered) as sandbox:
        traffic = sandbox.traffic()
        start = sandbox.clock.now()
        half = args.packets // 2

        def connect_all(phase: str, inbound: bool, packets: int) -> list[tuple[str, str, Any]]:
            opened = [(phase, "finding's host", traffic.connect(host)) for host in addresses]
            opened += [
                (phase, "finding's domain", traffic.connect(DOMAIN_SERVER, sni=name)) for name in domains
            ]
            opened += [(phase, "never blocked", traffic.connect(NEVER_BLOCKED))]
            opened += [(phase, "protected", traffic.connect(PROTECTED))]
            if inbound:
                opened += [
                    (phase, "finding's host, inbound", traffic.connect(PROTECTED, client=host, port=22))
                    for host in addresses
                ]
            for _, _, session in opened:
                session.exchange(packets)
            return opened

        sessions = connect_all("open before the findings", inbound=False, packets=half)
        executions = [result for event in events for result in sandbox.put_event(event)]
        for _, _, session in sessions:
            session.exchange(args.packets - half)
        sessions += connect_all("opened after the findings", inbound=True, packets=args.packets)
        dns = [{"name": name, "answer": traffic.resolve(name).response} for name in domains]
        if prune_after is not None:
            runs = sandbox.prune_after(prune_after)
            executions += runs
            sessions += connect_all("opened after the prune", inbound=True, packets=args.packets)
        traffic.publish_metrics()
        metrics = _metric_sums(sandbox.client("cloudwatch"), start, sandbox.clock.now())
        report: dict[str, Any] = {
            "firewall": traffic.firewall.name,
            "policy": "next generation" if traffic.firewall.next_generation else "classic",
            "executions": [{"name": r.name, "status": r.status} for r in executions],
            "connections": [
                {"phase": phase, "target": role, **session.summary()} for phase, role, session in sessions
            ],
            "dns": dns,
            "metrics": metrics,
        }
    failed = any(r["status"] != "SUCCEEDED" for r in report["executions"])
    leaked = [
        c for c in report["connections"] if c["target"] in ("never blocked", "protected") and c["dropped"]
    ]
    if args.json:
        print_json(report)
    else:
        _print(report)
    acted_on_sandbox(
        f"sent traffic through a local sandbox of stack {args.stack!r}; AWS was not touched", args.json
    )
    return 1 if failed or leaked else 0


def _metric_sums(cloudwatch: Any, start: float, end: float) -> dict[str, float]:
    """Every AWS/NetworkFirewall metric the firewall published, summed over the run, by name and dimensions
    (``Packets Engine=Stateless CustomAction=BlocklistDrop``)."""
    from nfw_blocklist.sandbox.traffic import firewall_metrics

    sums: dict[str, float] = {}
    for (name, pairs), points in firewall_metrics(cloudwatch, start - 60, end).items():
        dimensions = dict(pairs)
        label = name + "".join(
            f" {key}={dimensions[key]}" for key in ("Engine", "CustomAction") if key in dimensions
        )
        sums[label] = sums.get(label, 0.0) + sum(value for _, value in points)
    return dict(sorted(sums.items()))


def _print(report: Mapping[str, Any]) -> None:
    out = Printer()
    out.heading(f"Firewall {report['firewall']} ({report['policy']} policy) in front of the protected VPC")
    for execution in report["executions"]:
        out.line(f"execution {execution['name']}: {execution['status']}")
    phase = None
    for connection in report["connections"]:
        if connection["phase"] != phase:
            phase = connection["phase"]
            out.heading(f"Connections {phase}")
        name = f" ({connection['name']})" if connection["name"] else ""
        cut = (
            f"cut at packet {connection['first_drop']}: {connection['why']}"
            if connection["first_drop"]
            else "every packet passed"
        )
        route = f"{connection['client']} -> {connection['server']}:{connection['port']}{name}"
        out.line(
            f"{route} [{connection['target']}]: {connection['passed']}/{connection['packets']} passed; {cut}"
        )
    if report["dns"]:
        out.heading("DNS queries from the protected VPC")
        for query in report["dns"]:
            out.line(f"{query['name']}: {query['answer']}")
    out.heading("AWS/NetworkFirewall metrics published (packets, summed over the run)")
    for label, value in report["metrics"].items():
        out.line(f"{label}: {value:g}")
