"""What the commands report of a sandbox, shared by ``replay`` (one stack or a topology), ``demo`` and
the operator commands: the use cases with the deployed settings, the ledger and rule-group views, and
the replay report and its text form.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from handlers.extraction import event_time

from .arguments import EventFile
from .console import Printer, say


def sandbox_service(sandbox: Any) -> Any:
    """The use cases with the deployed functions' own settings and the sandbox's clients.

    Every client is the sandbox's, in the stack's region: a client the service built itself would
    take the shell's default region, or fail without one.
    """
    from handlers.service import BlocklistService
    from handlers.settings import Settings

    settings = Settings.from_env(sandbox.function_environment("block"))
    return BlocklistService.create(
        settings,
        dynamodb=sandbox.client("dynamodb"),
        network_firewall=sandbox.client("network-firewall"),
        route53resolver=sandbox.client("route53resolver"),
        region=sandbox.region,
    )


def ledger_views(sandbox: Any) -> list[dict[str, Any]]:
    from handlers.service import record_view

    return [record_view(record) for record in sandbox_service(sandbox).list_hosts()]


def group_view(service: Any) -> dict[str, Any]:
    """The CIDRs our rules drop (read with the writer's own parser) and the rules as the API returns them."""
    from handlers.engine_rules import FirewallEngineRules
    from handlers.rules import blocked_hosts, host_sort_key, split_owned

    if isinstance(service.writer.target, FirewallEngineRules):
        view = service.writer.target.read(None)
        return {
            "cidrs": sorted(view.current, key=host_sort_key),
            "rules": view.snapshot.rule_group.get("RulesSource", {}).get("FirewallRules", []),
            "domains": blocked_domains(service),
        }
    snapshot = service.firewall.describe()
    priorities = (service.settings.rule_priority, service.settings.destination_priority)
    owned, _ = split_owned(snapshot.rules, priorities)
    return {
        "cidrs": sorted(blocked_hosts(owned, *priorities), key=host_sort_key),
        "rules": snapshot.rules,
        "domains": blocked_domains(service),
    }


def blocked_domains(service: Any) -> dict[str, list[str]]:
    """Each domain enforcement point's blocked domains (none when domain blocking is off)."""
    return {point.name: sorted(point.current()) for point in service.domain_points}


def stack_state(sandbox: Any) -> dict[str, Any]:
    """What a replay reports of one deployed stack after its events: ledger, rule group and messages."""
    return {
        "ledger": [
            {key: view[key] for key in ("host", "first_seen", "last_seen", "expires", "source")}
            for view in ledger_views(sandbox)
        ],
        "rule_group": group_view(sandbox_service(sandbox)),
        "notifications": sandbox.notifications(),
        "emails": sandbox.email_notifications(),
    }


def failure_of(result: Any) -> str:
    """The error the workflow caught (its failure notification's Error), else the execution's own."""
    caught = result.task_output("error") or {}
    return (
        str(caught.get("Error") or result.error or result.status)
        if isinstance(caught, dict)
        else result.status
    )


def replay_start(files: Sequence[EventFile], state: Mapping[str, Any] | None) -> float | None:
    """Start just after the newest event, as if the events had just arrived (or at the saved clock)."""
    from nfw_blocklist.sandbox import DEFAULT_START

    # An event time the functions would not believe (before 1970, after 2099) counts as absent here too.
    times = [event_time(event.get("time")) for event_file in files for event in event_file.events]
    candidates = [DEFAULT_START, *(t + 300 for t in times if t is not None)]
    if state:
        candidates.append(float(state["clock"]))
    return max(candidates)


def follow_ups(delivery: Any) -> list[Any]:
    """The Security Hub events a delivery's BatchUpdateFindings caused, and theirs, in order."""
    found = []
    for follow_up in delivery.follow_ups:
        found.extend([follow_up, *follow_ups(follow_up)])
    return found


def execution_summary(result: Any) -> dict[str, Any]:
    record = result.task_output("record") or {}
    block = result.task_output("block") or {}
    return {
        "name": result.name,
        "status": result.status,
        "blocked": list(block.get("blocked", [])),
        "refreshed": list(block.get("refreshed", record.get("refreshed", []))),
        "evicted": list(block.get("evicted", [])),
        "not_blocked": [
            {key: kind.get(key) for key in ("kind", "where", "error", "not_blocked")}
            for kind in (block.get("kinds") or {}).values()
            if kind.get("status") == "failed"
        ],
        "skipped": [
            {"host": skip.get("host"), "reason": skip.get("reason")} for skip in record.get("skipped", [])
        ],
        "deduplicated": list(record.get("deduplicated", [])),
    }


def print_replay(report: Mapping[str, Any], errors: Mapping[str, str]) -> None:
    for entry in report["events"]:
        outcome = "matched" if entry["matched"] else "no rule matched"
        via = f" (via {entry['via']})" if entry.get("via") else ""
        say(f"{entry['file']}  event {entry['id'] or '-'}{via}: {outcome}")
        for run in entry["executions"]:
            say(
                f"  {run['name']}: {run['status']}"
                + (f" ({errors[run['name']]})" if run["name"] in errors else "")
            )
            for key in ("blocked", "refreshed", "evicted"):
                if run[key]:
                    say(f"    {key}: {', '.join(run[key])}")
            for failed in run.get("not_blocked", ()):
                targets = ", ".join(failed["not_blocked"])
                say(f"    not blocked ({failed['kind']}s, {failed['error']} in {failed['where']}): {targets}")
            for skip in run["skipped"]:
                say(f"    skipped {skip['host']}: {skip['reason']}")
            for repeat in run.get("deduplicated", ()):
                say(
                    f"    deduplicated: GuardDuty finding {repeat['finding']}, recorded already "
                    f"(this time via {repeat['via']})"
                )
        for follow_up in entry.get("follow_ups", ()):  # a topology's report has none (README)
            statuses = ", ".join(run["status"] for run in follow_up["executions"]) or "no execution"
            skips = sorted({skip["reason"] for run in follow_up["executions"] for skip in run["skipped"]})
            say(
                f"  Security Hub follow-up event {follow_up['id']} (after BatchUpdateFindings): {statuses}"
                + (f", skipped: {', '.join(skips)}" if skips else "")
            )
    for update in report.get("finding_updates", ()):
        if update["status"] == "processed":
            status = f" -> {update['workflow_status']}" if update["workflow_status"] else ""
            say(f"annotated finding {update['finding_id']}{status}: {update['note']}")
        else:
            say(f"annotation of finding {update['finding_id']} not applied: {update['status']}")
    if report["pruned"]:
        say(f"pruned: {', '.join(report['pruned'])}")
    drops = ", ".join(report["rule_group"]["cidrs"]) or "-"
    domains = "; ".join(
        f"{point}: {', '.join(names) or '-'}"
        for point, names in report["rule_group"].get("domains", {}).items()
    )
    say(
        f"ledger: {len(report['ledger'])} target(s); rule group drops: {drops}"
        + (f"; domains blocked: {domains}" if domains else "")
    )
    say(f"notifications: {len(report['notifications'])}")


def print_rules(out: Printer, rules: Sequence[Mapping[str, Any]]) -> None:
    if not rules:
        out.line("(no rules)")
    for rule in sorted(rules, key=lambda r: int(r.get("Priority", 0))):
        definition = rule.get("RuleDefinition", {})
        match = definition.get("MatchAttributes", {})
        sources = [a.get("AddressDefinition") for a in match.get("Sources", [])] or ["any"]
        destinations = [a.get("AddressDefinition") for a in match.get("Destinations", [])] or ["any"]
        out.line(
            f"priority {rule.get('Priority')}: from {', '.join(map(str, sources))} "
            f"to {', '.join(map(str, destinations))} -> {', '.join(definition.get('Actions', []))}"
        )


def print_json(document: Any) -> None:
    """A command's ``--json`` output: exactly one JSON document on stdout."""
    print(json.dumps(document, indent=2, sort_keys=False))
