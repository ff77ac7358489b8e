"""``nfw-blocklist demo``: deploy a stack into the sandbox and walk the reference findings through it:
what was deployed, each workflow's path, the finding's annotation, the ledger, the rule group, the
messages, and the scheduled prune that lifts the blocks."""

import argparse
import json
from pathlib import Path
from typing import Any, Final

from nfw_blocklist.console import Printer
from nfw_blocklist.reports import blocked_domains, follow_ups, group_view, print_rules, sandbox_service
from nfw_blocklist.stacks import render_with

SAMPLES: Final = Path(__file__).resolve().parent.parent / "samples"
REFERENCE_FINDING: Final = SAMPLES / "securityhub-guardduty-c2-finding.json"
DNS_FINDING: Final = SAMPLES / "securityhub-guardduty-dns-c2-finding.json"
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

    event = json.loads(REFERENCE_FINDING.read_text())
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
        dns_delivery = sandbox.deliver(json.loads(DNS_FINDING.read_text()))
        out.line(f"matched rules: {', '.join(dns_delivery.matched_rules) or 'none'}")
        for result in dns_delivery.executions:
            out.line(f"execution {result.name}: {result.status}")
            out.line(f"  states: {' -> '.join(result.entered_states)}")

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
        echoes = [r for follow_up in follow_ups(delivery) for r in follow_up.executions]
        failed = any(
            r.status != "SUCCEEDED"
            for r in [*delivery.executions, *echoes, *dns_delivery.executions, *unblock.executions, *runs]
        )
        gone = not remaining and not view["cidrs"] and not any(view["domains"].values())
        out.heading(
            "Done: blocked, notified and pruned" if gone and not failed else "Demo did not go as expected"
        )
    return 0 if gone and not failed else 1
