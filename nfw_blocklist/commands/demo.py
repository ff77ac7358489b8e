"""``nfw-blocklist demo``: deploy a stack into the sandbox and walk the reference findings through it:
what was deployed, each workflow's path, the finding's annotation, the ledger, the rule group, the
messages, and the scheduled prune that lifts the blocks; and, through the sandbox's emulated firewall,
an instance's C2 session to the finding's host cut at the packet after the block, a TLS session to the
DNS finding's domain (the open one keeps its verdict, the next is dropped at its ClientHello), and new
sessions passing again after the prune. Then the reference finding once more, on a Next Generation
firewall (``next_generation_part``): blocked in a FIREWALL group's variable, its open session cut and
flushed, and the prune lifting it."""

import argparse
import json
from pathlib import Path
from typing import Any, Final

from nfw_blocklist.console import Printer
from nfw_blocklist.rendered import Rendered
from nfw_blocklist.reports import blocked_domains, follow_ups, group_view, print_rules, sandbox_service
from nfw_blocklist.stacks import render_with

SAMPLES: Final = Path(__file__).resolve().parent.parent / "samples"
REFERENCE_FINDING: Final = SAMPLES / "securityhub-guardduty-c2-finding.json"
DNS_FINDING: Final = SAMPLES / "securityhub-guardduty-dns-c2-finding.json"
DEMO_FIREWALL: Final = "nfw-blocklist-demo-ng"
"""The Next Generation part's firewall: named in flushFirewallArns, made by the sandbox."""
"""The demo's second finding: GuardDuty's C&CActivity.B!DNS test finding, naming a domain and no IP."""


def add_to(commands: Any) -> None:
    command = commands.add_parser(
        "demo", help="deploy the dev stack into the sandbox and replay the reference findings"
    )
    command.add_argument("--stack", default="dev", help="the stack to render and deploy (default dev)")
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from handlers.service import iso
    from nfw_blocklist.sandbox import Sandbox
    from nfw_blocklist.sandbox.securityhub import finding_update_views
    from nfw_blocklist.sandbox.traffic import DOMAIN_SERVER, finding_targets

    event = json.loads(REFERENCE_FINDING.read_text())
    dns_event = json.loads(DNS_FINDING.read_text())
    [host], _ = finding_targets([event])
    _, [domain] = finding_targets([dns_event])
    rendered = render_with(args.stack, {})
    out = Printer()
    with Sandbox(rendered) as sandbox:
        service = sandbox_service(sandbox)
        out.heading(f"Deployed stack {args.stack!r} into the sandbox (moto, in-process)")
        out.line(f"rule group   {sandbox.rule_group_arn}")
        for point in service.domain_points:
            out.line(f"domains      {point.name}: {getattr(point, 'arn', '')}")
        out.line(f"table        {sandbox.table_name}")
        out.line(f"topic        {sandbox.topic_arn}")
        for info in sandbox.inventory.state_machines.values():
            out.line(f"workflow     {info.name}: {', '.join(sorted(info.states))}")
        out.line(f"clock        {sandbox.clock.isoformat()}")

        traffic = sandbox.traffic()
        started = sandbox.clock.now()
        out.heading(f"Traffic: an instance's sessions before the findings (firewall {traffic.firewall.name})")
        c2 = traffic.connect(host)
        c2.exchange(3)
        tls = traffic.connect(DOMAIN_SERVER, sni=domain)
        tls.exchange(3)
        _session_line(out, f"C2 session to {host}", c2)
        _session_line(out, f"TLS session to {domain}", tls)

        out.heading(f"Replaying the reference Security Hub finding ({REFERENCE_FINDING.name})")
        delivery = sandbox.deliver(event)
        out.line(f"matched rules: {', '.join(delivery.matched_rules) or 'none'}")
        for result in delivery.executions:
            out.line(f"execution {result.name}: {result.status}")
            out.line(f"  states: {' -> '.join(result.entered_states)}")

        out.heading("Security Hub finding (BatchUpdateFindings)")
        for update in finding_update_views(sandbox.security_hub.calls()):
            out.line(f"{update['status']}: workflow {update['workflow_status'] or 'unchanged'}")
            out.line(f"  note: {update['note']}")
        for follow_up in follow_ups(delivery):
            for result in follow_up.executions:
                record = result.task_output("record") or {}
                skips = ", ".join(sorted({skip["reason"] for skip in record.get("skipped", [])}))
                out.line(f"follow-up event {follow_up.event.get('id')}: {result.status}, skipped: {skips}")
                out.line(f"  states: {' -> '.join(result.entered_states)}")
        out.heading(f"Replaying GuardDuty's DNS test finding ({DNS_FINDING.name})")
        dns_delivery = sandbox.deliver(dns_event)
        out.line(f"matched rules: {', '.join(dns_delivery.matched_rules) or 'none'}")
        for result in dns_delivery.executions:
            out.line(f"execution {result.name}: {result.status}")
            out.line(f"  states: {' -> '.join(result.entered_states)}")

        out.heading("Traffic: the same sessions after the findings, and new ones")
        c2.exchange(3)
        tls.exchange(3)
        new_c2 = traffic.connect(host)
        new_tls = traffic.connect(DOMAIN_SERVER, sni=domain)
        _session_line(out, f"C2 session to {host}", c2)
        _session_line(out, f"TLS session to {domain}, open before its block", tls)
        _session_line(out, f"new connection to {host}", new_c2)
        _session_line(out, f"new TLS session to {domain}", new_tls)
        cut = c2.first_drop is not None and c2.first_drop > len(c2.packets) - 3
        cut = cut and tls.first_drop is None and new_c2.first_drop == 1 and new_tls.first_drop == 4

        out.heading("Ledger (DynamoDB)")
        for record in service.list_hosts():
            out.line(f"{record.host}  source={record.source}  finding={record.last_finding_id}")
            out.line(f"  first seen {iso(record.first_seen)}  last seen {iso(record.last_seen)}")
            out.line(f"  expires    {iso(record.expires_at)}")

        out.heading("Rule group (DescribeRuleGroup)")
        print_rules(out, group_view(service)["rules"])
        for point, domains in blocked_domains(service).items():
            out.line(f"domains blocked in {point}: {', '.join(domains) or 'nothing'}")

        out.heading("SNS message, as e-mail subscribers receive it")
        for number, email in enumerate(sandbox.email_notifications()):
            if number:
                out.line("")
            out.line(f"Subject: {email['subject']}")
            for line in str(email["text"]).splitlines():
                out.line(line)
        out.heading("SNS message, as every other protocol receives it (JSON)")
        for message in sandbox.notifications():
            text = message if isinstance(message, str) else json.dumps(message, indent=2)
            for line in text.splitlines():
                out.line(line)

        out.heading('An analyst picks "Unblock (false pos)" on the finding in Security Hub')
        reference_id = event["detail"]["findings"][0]["Id"]
        (finding,) = [
            held
            for held in sandbox.client("securityhub").get_findings()["Findings"]
            if held["Id"] == reference_id
        ]
        sent_before = len(sandbox.email_notifications())
        unblock = sandbox.custom_action("release", finding)
        for result in unblock.executions:
            steered = result.task_output("steer") or {}
            out.line(f"execution {result.name}: {result.status}")
            out.line(f"  states: {' -> '.join(result.entered_states)}")
            out.line(
                f"  unblocked: {', '.join(steered.get('notification', {}).get('Released', [])) or 'nothing'}"
            )
        out.line(f"rule group drops: {', '.join(group_view(service)['cidrs']) or 'nothing'}")
        for email in sandbox.email_notifications()[sent_before:]:
            out.line(f"e-mail: {email['subject']}")
            for line in str(email["text"]).splitlines():
                out.line(f"  {line}")

        retention = service.settings.retention_seconds
        out.heading(
            f"Advancing the clock {retention // 3600}h{(retention % 3600) // 60:02d}m past the retention"
        )
        sent_before = len(sandbox.email_notifications())
        runs = sandbox.advance(retention + 60)
        for run in runs:
            pruned = (run.task_output("prune") or {}).get("pruned", [])
            out.line(f"scheduled {run.state_machine}: {run.status}; pruned {', '.join(pruned) or 'nothing'}")
            out.line(f"  states: {' -> '.join(run.entered_states)}")
        remaining = service.list_hosts()
        out.line(f"ledger now holds {len(remaining)} host(s); clock {sandbox.clock.isoformat()}")
        view = group_view(service)
        out.line(f"rule group drops: {', '.join(view['cidrs']) or 'nothing'}")
        print_rules(out, view["rules"])
        for point, domains in view["domains"].items():
            out.line(f"domains blocked in {point}: {', '.join(domains) or 'nothing'}")
        for email in sandbox.email_notifications()[sent_before:]:
            out.line(f"e-mail: {email['subject']}")
            for line in str(email["text"]).splitlines():
                out.line(f"  {line}")
        out.heading("Traffic: new sessions after the prune")
        after_c2 = traffic.connect(host)
        after_c2.exchange(3)
        after_tls = traffic.connect(DOMAIN_SERVER, sni=domain)
        after_tls.exchange(3)
        _session_line(out, f"new connection to {host}", after_c2)
        _session_line(out, f"new TLS session to {domain}", after_tls)
        traffic.publish_metrics()
        drops = _blocklist_drops(sandbox.client("cloudwatch"), started, sandbox.clock.now())
        out.line(
            f"AWS/NetworkFirewall Packets CustomAction=BlocklistDrop (the dashboard's drop panel): {drops:g}"
        )
        cut = cut and after_c2.first_drop is None and after_tls.first_drop is None and drops > 0

        echoes = [r for follow_up in follow_ups(delivery) for r in follow_up.executions]
        failed = any(
            r.status != "SUCCEEDED"
            for r in [*delivery.executions, *echoes, *dns_delivery.executions, *unblock.executions, *runs]
        )
        gone = not remaining and not view["cidrs"] and not any(view["domains"].values()) and cut
    next_generation = next_generation_part(out, args.stack, rendered, event, host)
    went_well = gone and not failed and next_generation
    out.heading("Done: blocked, notified and pruned" if went_well else "Demo did not go as expected")
    return 0 if went_well else 1


def next_generation_part(
    out: Printer, stack: str, classic: Rendered, event: dict[str, Any], host: str
) -> bool:
    """The same finding on a Next Generation firewall, in a sandbox of its own: the Classic stack with
    ``next_generation_config`` (FIREWALL rule groups, the program's own FirewallPolicyV2, the sandbox's
    firewall named in flushFirewallArns). The host enters the IP group's variable, an open connection to
    it is cut at its next packet and its flows are flushed, and the prune empties the variable again.
    True when it all went so."""
    from handlers.engine_rules import VARIABLE, read_group
    from nfw_blocklist.arguments import parse_config_pairs
    from nfw_blocklist.sandbox import Sandbox
    from nfw_blocklist.sandbox.traffic import HANDSHAKE

    pairs = next_generation_config(str(classic.config.get("aws:region") or "us-east-1"))
    with Sandbox(render_with(stack, parse_config_pairs(pairs))) as sandbox:
        service = sandbox_service(sandbox)
        traffic = sandbox.traffic()

        def variable() -> str:
            return ", ".join(read_group(sandbox.describe_rule_group()["FirewallRuleGroup"]).variable)

        out.heading(f"Next Generation firewall: stack {stack!r} with -c {' -c '.join(pairs)}")
        out.line(f"rule group   {sandbox.rule_group_arn} (FIREWALL)")
        out.line(f"policy       {', '.join(sandbox.inventory.firewall_policies)}")
        out.line(f"firewall     {traffic.firewall_arn}")
        c2 = traffic.connect(host)
        c2.exchange(3)
        _session_line(out, f"C2 session to {host}", c2)

        out.heading("Next Generation: the reference finding, then the prune")
        [result] = sandbox.put_event(event)
        block = result.task_output("block") or {}
        flushes = [kind["flush"] for kind in block.get("kinds", {}).values() if "flush" in kind]
        out.line(f"execution {result.name}: {result.status}")
        out.line(f"${VARIABLE} now holds: {variable()}")
        for flush in flushes:
            out.line(
                f"StartFlowFlush on {traffic.firewall.name}: {flush['operations']} operation(s) "
                f"for {flush['hosts']} host(s), {flush['failed']} failed"
            )
        c2.exchange(3)
        new_c2 = traffic.connect(host)
        _session_line(out, f"C2 session to {host}", c2)
        _session_line(out, f"new connection to {host}", new_c2)
        [run] = sandbox.advance(service.settings.retention_seconds + 60)
        pruned = (run.task_output("prune") or {}).get("pruned", [])
        out.line(f"scheduled {run.state_machine}: {run.status}; pruned {', '.join(pruned) or 'nothing'}")
        out.line(f"${VARIABLE} now holds: {variable()} (the placeholder: nothing blocked)")
        after = traffic.connect(host)
        after.exchange(3)
        _session_line(out, f"new connection to {host}", after)
    return (
        result.status == "SUCCEEDED"
        and run.status == "SUCCEEDED"
        and c2.first_drop == len(HANDSHAKE) + 3 + 1
        and new_c2.first_drop == 1
        and after.first_drop is None
        and bool(flushes)
        and not any(flush["failed"] for flush in flushes)
    )


def next_generation_config(region: str) -> list[str]:
    """The ``-c`` pairs of the demo's Next Generation part: the program's own V2 policy, and a firewall
    named in flushFirewallArns (in the sandbox's account and the stack's region: the sandbox makes it)."""
    from nfw_blocklist.sandbox.core import ACCOUNT

    firewall = f"arn:aws:network-firewall:{region}:{ACCOUNT}:firewall/{DEMO_FIREWALL}"
    return [
        "firewallPolicyType=next-generation",
        "createFirewallPolicy=true",
        f"flushFirewallArns[0]={firewall}",
    ]


def _session_line(out: Printer, what: str, session: Any) -> None:
    """One line per session: where it runs, and the packet it was cut at (and why) or that all passed."""
    total = len(session.packets)
    where = f"{session.client}:{session.client_port} -> {session.server}:{session.server_port}"
    if session.first_drop is None:
        out.line(f"{what} ({where}): packets 1-{total} passed")
        return
    label, verdict = session.packets[session.first_drop - 1]
    out.line(
        f"{what} ({where}): cut at packet {session.first_drop} of {total} ({label}): {verdict.reason}; "
        f"{sum(1 for _, v in session.packets if not v.passed)} dropped"
    )


def _blocklist_drops(cloudwatch: Any, start: float, end: float) -> float:
    """The Packets the firewall published under the BlocklistMetric custom action, summed."""
    from nfw_blocklist.sandbox.traffic import firewall_metrics

    return sum(
        value
        for (name, dimensions), points in firewall_metrics(cloudwatch, start, end).items()
        if name == "Packets" and ("CustomAction", "BlocklistDrop") in dimensions
        for _, value in points
    )
