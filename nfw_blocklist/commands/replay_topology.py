"""``nfw-blocklist replay --topology FILE``: replay events through several deployments at once.

Every deployment of the topology (``nfw_blocklist.sandbox.topology``) is rendered for its account
and region and deployed into one sandbox; each event is put on the default bus of the account and
region its own ``account`` and ``region`` fields name, by that account, and goes wherever
EventBridge would take it: the account's rules, the buses they forward to, the workflows there.

With ``--json`` stdout is one object::

    {"deployments": {NAME: {...}}, "rejected": [{"event": id, "bus": arn, "reason": str}]}

A blocklist deployment's object is the single-stack replay object (``events``, ``pruned``,
``ledger``, ``rule_group``, ``notifications``) plus ``kind``, ``account`` and ``region``; a
forwarder's holds its ``events`` (where each was forwarded, what was refused) and its
``dead_letters``. Exit codes are ``replay``'s: 2 for bad input (nothing deployed or printed), 1 if
an execution failed, else 0. A refused event is reported, not a failure: refusing it is the bus
policy doing its job.
"""

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from nfw_blocklist.arguments import EventFile, load_event_files, optional_duration
from nfw_blocklist.console import UsageError, acted_on_sandbox, say
from nfw_blocklist.reports import (
    execution_summary,
    failure_of,
    print_json,
    print_replay,
    replay_start,
    stack_state,
)


def run(args: argparse.Namespace) -> int:
    from components.config import InvalidConfig
    from nfw_blocklist.render import RenderError
    from nfw_blocklist.sandbox.topology import (
        TopologyError,
        TopologySandbox,
        event_origin,
        load_topology,
        render_deployment,
    )

    if args.stack is not None or args.config or args.state:
        raise UsageError(
            "--topology takes each deployment's stack and config from FILE; drop --stack, -c, --state"
        )
    prune_after = optional_duration(args.prune_after)
    files = load_event_files(args.files)
    try:
        topology = load_topology(args.topology)
        for event_file in files:
            for event in event_file.events:
                event_origin(event)
    except TopologyError as e:
        raise UsageError(str(e)) from None

    def render(spec: Any, config: Mapping[str, str]) -> Any:
        try:
            return render_deployment(spec, config)
        except (RenderError, InvalidConfig) as e:
            first = str(e).splitlines()[0] if str(e) else "invalid configuration"
            raise UsageError(f"{args.topology}: deployment {spec.name!r}: {first}") from None

    try:
        with TopologySandbox(topology, start=replay_start(files, None), renderer=render) as running:
            report, errors, failed = _replay_all(running, files, prune_after)
    except TopologyError as e:
        raise UsageError(f"{args.topology}: {e}") from None
    if args.json:
        print_json(report)
    else:
        _print_topology(report, errors)
    deployments = len(report["deployments"])
    acted_on_sandbox(
        f"replayed in a local sandbox of {deployments} deployments; AWS was not touched", args.json
    )
    return 1 if failed else 0


def _replay_all(
    running: Any, files: Sequence[EventFile], prune_after: int | None
) -> tuple[dict[str, Any], dict[str, str], bool]:
    views: Mapping[str, Any] = running.views
    deployments: dict[str, dict[str, Any]] = {
        name: _empty_report(running.topology.deployment(name)) for name in views
    }
    errors: dict[str, str] = {}
    failed = False
    for event_file in files:
        for event in event_file.events:
            delivery = running.put_event(event)
            runs = delivery.all_executions()
            failed = failed or any(run.status != "SUCCEEDED" for run in runs)
            errors.update({run.name: failure_of(run) for run in runs if run.status != "SUCCEEDED"})
            for name, view in views.items():
                entry = _event_entry(view, deployments[name]["kind"], event_file.path, event, delivery)
                if entry is not None:
                    deployments[name]["events"].append(entry)
    if prune_after is not None:
        runs = running.sandbox.advance(prune_after)
        failed = failed or any(run.status != "SUCCEEDED" for run in runs)
        for name, view in views.items():
            if deployments[name]["kind"] == "blocklist":
                mine = [run for run in runs if _machine_arn(run.arn) in view.inventory.state_machines]
                deployments[name]["pruned"] = sorted(
                    {host for run in mine for host in (run.task_output("prune") or {}).get("pruned", [])}
                )
    for name, view in views.items():
        report = deployments[name]
        if report["kind"] == "blocklist":
            report.update(stack_state(view))
        else:
            report["dead_letters"] = [
                {
                    "event": letter["event"].get("id"),
                    "target": letter["attributes"].get("TARGET_ARN"),
                    "error": letter["attributes"].get("ERROR_CODE"),
                }
                for letter in view.dead_letters()
            ]
    rejected = [
        {"event": refusal.event_id, "bus": refusal.bus, "reason": refusal.reason}
        for refusal in running.sandbox.rejected
    ]
    return {"deployments": deployments, "rejected": rejected}, errors, failed


def _empty_report(spec: Any) -> dict[str, Any]:
    header = {"kind": spec.kind, "account": spec.account, "region": spec.region, "events": []}
    if spec.kind == "blocklist":
        return {**header, "pruned": [], "ledger": [], "rule_group": {}, "notifications": [], "emails": []}
    return {**header, "dead_letters": []}


def _event_entry(
    view: Any, kind: str, path: str, event: Mapping[str, Any], delivery: Any
) -> dict[str, Any] | None:
    """What ``event`` did in this deployment: None if it never reached a bus the deployment has rules on."""
    own_rules = set(view.inventory.rules)
    hops = [hop for hop in delivery.hops() if _bus_scope(hop.bus) == (view.account, view.region)]
    if not hops or not any(
        hop.bus in view.inventory.buses or hop.bus.endswith(":event-bus/default") for hop in hops
    ):
        return None
    matched = any(arn in own_rules for hop in hops for arn in hop.matched_rule_arns)
    entry: dict[str, Any] = {
        "file": path,
        "id": event.get("id") if isinstance(event.get("id"), str) else None,
        "matched": matched,
    }
    if kind == "blocklist":
        machines = set(view.inventory.state_machines)
        entry["executions"] = [
            execution_summary(run)
            for hop in hops
            for run in hop.executions
            if _machine_arn(run.arn) in machines
        ]
    else:
        entry["forwarded"] = [
            forwarded.bus
            for hop in hops
            for forwarded in hop.forwarded
            if set(hop.matched_rule_arns) & own_rules
        ]
        entry["refused"] = [
            {"bus": refusal.bus, "reason": refusal.reason}
            for hop in hops
            for refusal in hop.rejected
            if refusal.rule in own_rules
        ]
    return entry


def _bus_scope(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[4], parts[3]


def _machine_arn(execution_arn: str) -> str:
    """``arn:aws:states:R:A:execution:MACHINE:NAME`` -> ``arn:aws:states:R:A:stateMachine:MACHINE``."""
    parts = execution_arn.split(":")
    return ":".join([*parts[:5], "stateMachine", parts[6]])


def _print_topology(report: Mapping[str, Any], errors: Mapping[str, str]) -> None:
    for name, deployment in report["deployments"].items():
        say(f"== {name} ({deployment['kind']}, account {deployment['account']}, {deployment['region']})")
        if deployment["kind"] == "blocklist":
            print_replay(deployment, errors)
            continue
        for entry in deployment["events"]:
            forwarded = ", ".join(entry["forwarded"]) or "nowhere"
            say(f"{entry['file']}  event {entry['id'] or '-'}: forwarded to {forwarded}")
            for refusal in entry["refused"]:
                say(f"  refused by {refusal['bus']}: {refusal['reason']}")
        say(f"dead-letter queue: {len(deployment['dead_letters'])} message(s)")
    if report["rejected"]:
        say("== rejected")
        for refusal in report["rejected"]:
            say(f"event {refusal['event'] or '-'} at {refusal['bus']}: {refusal['reason']}")
