"""``nfw-blocklist replay EVENT_FILE...``: replay EventBridge events through a sandboxed stack (or, with
``--topology``, through several deployments at once: ``replay_topology``)."""

import argparse
from typing import Any

from nfw_blocklist.arguments import (
    add_config_option,
    add_event_files_argument,
    add_prune_after_option,
    load_event_files,
    optional_duration,
    parse_config_pairs,
)
from nfw_blocklist.console import acted_on_sandbox
from nfw_blocklist.reports import (
    execution_summary,
    failure_of,
    follow_ups,
    print_json,
    print_replay,
    replay_start,
    stack_state,
)
from nfw_blocklist.stacks import render_with
from nfw_blocklist.state_file import read_state, restore_state, write_state

from . import replay_topology


def add_to(commands: Any) -> None:
    command = commands.add_parser("replay", help="replay EventBridge events through the sandbox")
    command.add_argument("--json", action="store_true", help="print exactly one JSON object")
    command.add_argument("--stack", help="the stack to render (default dev)")
    add_config_option(command)
    add_prune_after_option(command)
    command.add_argument("--state", metavar="FILE", help="restore the sandbox from FILE first, save it after")
    command.add_argument(
        "--topology",
        metavar="FILE",
        help="deploy each deployment of FILE (YAML or JSON) into its account and region, not one stack",
    )
    add_event_files_argument(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.topology is not None:
        return replay_topology.run(args)
    prune_after = optional_duration(args.prune_after)
    overrides = parse_config_pairs(args.config)
    files = load_event_files(args.files)
    state = read_state(args.state)
    rendered = render_with(args.stack or "dev", overrides)

    from handlers.extraction import way_of
    from nfw_blocklist.sandbox import Sandbox
    from nfw_blocklist.sandbox.securityhub import finding_update_views

    report: dict[str, Any] = {
        "events": [],
        "pruned": [],
        "ledger": [],
        "rule_group": {},
        "notifications": [],
        "emails": [],
        "finding_updates": [],
    }
    failed = False
    errors: dict[str, str] = {}
    with Sandbox(rendered, start=replay_start(files, state)) as sandbox:
        if state:
            restore_state(sandbox, state, args.state)
        for event_file in files:
            for event in event_file.events:
                delivery = sandbox.deliver(event)
                echoes = follow_ups(delivery)
                executions = [*delivery.executions, *(r for d in echoes for r in d.executions)]
                failed = failed or any(result.status != "SUCCEEDED" for result in executions)
                errors.update({r.name: failure_of(r) for r in executions if r.status != "SUCCEEDED"})
                report["events"].append(
                    {
                        "file": event_file.path,
                        "id": event.get("id") if isinstance(event.get("id"), str) else None,
                        "via": way_of(event),
                        "matched": bool(delivery.matched_rules),
                        "executions": [execution_summary(result) for result in delivery.executions],
                        "follow_ups": [
                            {
                                "id": echo.event.get("id"),
                                "matched": bool(echo.matched_rules),
                                "executions": [execution_summary(r) for r in echo.executions],
                            }
                            for echo in echoes
                        ],
                    }
                )
        if prune_after is not None:
            runs = sandbox.prune_after(prune_after)
            failed = failed or any(run.status != "SUCCEEDED" for run in runs)
            report["pruned"] = sorted(
                {host for run in runs for host in (run.task_output("prune") or {}).get("pruned", [])}
            )
        report.update(stack_state(sandbox))
        report["finding_updates"] = finding_update_views(sandbox.security_hub.calls())
        if args.state:
            write_state(args.state, sandbox)
    if args.json:
        print_json(report)
    else:
        print_replay(report, errors)
    kept = f", state kept in {args.state}" if args.state else ""
    acted_on_sandbox(
        f"replayed in a local sandbox of stack {args.stack or 'dev'!r}{kept}; AWS was not touched", args.json
    )
    return 1 if failed else 0
