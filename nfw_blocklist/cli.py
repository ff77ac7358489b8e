"""``nfw-blocklist``: render the program, run it in the sandbox, and operate the blocklist.

Two audiences. Someone evaluating the project runs ``demo`` or ``replay`` and sees the whole
response work on a laptop, in the sandbox. An operator runs ``list``/``block``/``unblock``/
``prune``/``status`` against live AWS (``--live``) or the sandbox; those commands call the same
``handlers.service`` use cases the Lambda functions run, with the same settings, so the CLI can
never render rules or apply a never-block list differently from the deployed functions.

Sandbox state: each invocation deploys a fresh sandbox (a second to render and deploy). To make
a sequence of commands meaningful without AWS, ``--state FILE`` saves the ledger, the rule
group's rules and the sandbox clock after the command and restores them before the next one,
so ``replay --state s.json finding.json`` followed by ``list --state s.json`` shows the host.

Errors: bad input (arguments, files, configuration, a refused host, stack outputs whose
resources cannot be read) prints one line on stderr and exits 2, before anything is deployed,
changed or printed; a failed execution exits 1. Every text the CLI prints from data (finding and
event ids, reasons, file names) goes through ``printable``: an event cannot drive the terminal.
"""

import argparse
import json
import logging
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from handlers.extraction import EARLIEST_TIME, LATEST_TIME, event_time
from handlers.policy import MAX_TTL_SECONDS
from nfw_blocklist.project_config import ProjectConfigError, StoredValue, command_line_config

LOG = logging.getLogger("nfw_blocklist.cli")

PROG = "nfw-blocklist"
SAMPLES = Path(__file__).resolve().parent / "samples"
REFERENCE_FINDING = SAMPLES / "securityhub-guardduty-c2-finding.json"
DNS_FINDING = SAMPLES / "securityhub-guardduty-dns-c2-finding.json"
"""The demo's second finding: GuardDuty's C&CActivity.B!DNS test finding, naming a domain and no IP."""
STATE_VERSION = 1

_DURATION = re.compile(r"^([1-9][0-9]{0,11})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CONFIG_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*:)?[A-Za-z][A-Za-z0-9_]*(\[\d+\]|\.[A-Za-z0-9_]+)*$")
_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:(?P<service>[a-z0-9-]+):(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2}):\d{12}:.+"
)
_SHOWN_CHARS = 200
"""Bad values are cut to this many characters in error messages."""


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit 2, nothing processed or changed."""


def printable(text: object) -> str:
    """``text`` with every non-printable character escaped (``\\x1b``, ``\\n``, ``\\u202e``).

    The one gate between data and the terminal: finding and event ids, reasons and file names come
    from events and state files, and a raw escape sequence in them could rewrite the screen.
    """
    shown = str(text)
    if shown.isprintable():
        return shown
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown)


# --- parsing ------------------------------------------------------------------------------------


def parse_duration(text: str) -> int:
    """``45s``, ``90m``, ``13h``, ``2d`` -> seconds, at most a year (``MAX_TTL_SECONDS``)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise UsageError(
            f"invalid duration {_shown(text)!r}: use a whole number and one unit, e.g. 45s, 90m, 13h, 2d"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_TTL_SECONDS:
        raise UsageError(f"invalid duration {text!r}: at most {MAX_TTL_SECONDS // 86400}d")
    return seconds


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def load_json(path: str) -> Any:
    """The JSON document in ``path``; ``UsageError`` naming the file for anything else.

    Beside malformed JSON, Python's parser raises ``RecursionError`` for deep nesting and
    ``ValueError`` for an integer past 4,300 digits: both are bad input, not crashes.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid JSON: nested too deeply") from None
    except ValueError as e:
        # An integer past 4,300 digits: "Exceeds the limit (4300 digits) for integer string conversion...".
        raise UsageError(f"{path}: invalid JSON: {str(e).split(';')[0]}") from None


def parse_config_pairs(pairs: Sequence[str]) -> dict[str, StoredValue]:
    """``-c KEY=VALUE`` stored as ``pulumi up -c`` stores them (key with or without the namespace; a key
    written as a path, ``protectedCidrs[0]``, sets one element)."""
    split: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _CONFIG_KEY.match(key.strip()):
            raise UsageError(f"invalid -c {pair!r}: expected KEY=VALUE, e.g. -c findingSource=both")
        split.append((key.strip(), value))
    try:
        return command_line_config(split)
    except ProjectConfigError as e:
        raise UsageError(f"invalid -c: {e}") from None


@dataclass(frozen=True)
class EventFile:
    path: str
    events: list[dict[str, Any]]


def load_event_files(paths: Sequence[str]) -> list[EventFile]:
    """Read and check every file before anything runs: a bad file anywhere means nothing is processed."""
    loaded = []
    for path in paths:
        document = load_json(path)
        events = document if isinstance(document, list) else [document]
        if not events or not all(isinstance(event, dict) for event in events):
            raise UsageError(f"{path}: expected an EventBridge event object or a non-empty array of them")
        loaded.append(EventFile(path, events))
    return loaded


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (the contract for bad input), not usage plus message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Block hosts GuardDuty flags in a Network Firewall rule group.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens on stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    render = commands.add_parser("render", help="run the Pulumi program offline and show what it declares")
    render.add_argument("--stack", default="dev")
    render.add_argument("--json", action="store_true")

    demo = commands.add_parser(
        "demo", help="deploy the dev stack into the sandbox and replay the reference finding"
    )
    demo.add_argument("--stack", default="dev")

    replay = commands.add_parser("replay", help="replay EventBridge events through the sandbox")
    replay.add_argument("--json", action="store_true", help="print exactly one JSON object")
    replay.add_argument("--stack", help="the stack to render (default dev)")
    replay.add_argument("-c", "--config", action="append", default=[], metavar="KEY=VALUE")
    replay.add_argument("--prune-after", metavar="DURATION", help="then advance the clock and prune once")
    replay.add_argument("--state", metavar="FILE", help="restore the sandbox from FILE first, save it after")
    replay.add_argument(
        "--topology",
        metavar="FILE",
        help="deploy each deployment of FILE (YAML or JSON) into its account and region, not one stack",
    )
    replay.add_argument("files", nargs="+", metavar="EVENT_FILE")

    def target_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--json", action="store_true")
        command.add_argument("--live", action="store_true", help="act on real AWS instead of the sandbox")
        command.add_argument(
            "--stack-outputs", metavar="FILE", help="with --live: `pulumi stack output --json` of the stack"
        )
        command.add_argument("--stack", default="dev", help="sandbox: the stack to render")
        command.add_argument("-c", "--config", action="append", default=[], metavar="KEY=VALUE")
        command.add_argument(
            "--state", metavar="FILE", help="sandbox: restore from FILE first, save it after"
        )

    target_options(commands.add_parser("list", help="blocked hosts, oldest first"))
    block = commands.add_parser("block", help="block a host by hand")
    block.add_argument("host")
    block.add_argument("--reason", required=True)
    block.add_argument("--ttl", metavar="DURATION")
    target_options(block)
    unblock = commands.add_parser("unblock", help="remove a host from the ledger and the rule group")
    unblock.add_argument("host")
    target_options(unblock)
    prune = commands.add_parser("prune", help="expire hosts past retention and repair drift")
    prune.add_argument("--dry-run", action="store_true", help="only show what would expire")
    target_options(prune)
    target_options(commands.add_parser("status", help="capacity, hosts by source, drift"))
    return parser


# --- entry point --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (0 ok, 1 an execution or call failed, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        return _usage(str(e))
    _configure_logging(args.verbose)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "render": _render,
        "demo": _demo,
        "replay": _replay,
        "list": _operate,
        "block": _operate,
        "unblock": _operate,
        "prune": _operate,
        "status": _operate,
    }
    try:
        return commands[args.command](args)
    except UsageError as e:
        return _usage(str(e))


def _usage(message: str) -> int:
    print(f"{PROG}: error: {printable(message)}", file=sys.stderr)
    return 2


def _configure_logging(verbose: bool) -> None:
    """Quiet by default: stdout is the product, and moto logs expected failures loudly."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    # The entry points reconfigure the root logger as Lambda's runtime would (JSON, INFO) while
    # they run in-process; the level on our handler keeps stderr as quiet as asked regardless.
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
    for noisy in ("moto", "botocore", "boto3", "urllib3", "localstack"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.CRITICAL)


def _render_with(stack: str, overrides: Mapping[str, StoredValue]) -> Any:
    """Render the program; a configuration error is the user's (exit 2), anything else is a bug."""
    from components.config import InvalidConfig
    from nfw_blocklist.render import RenderError, render_stack

    try:
        return render_stack(stack, overrides or None)
    except (RenderError, InvalidConfig) as e:
        raise UsageError(str(e).splitlines()[0] if str(e) else "invalid configuration") from None


# --- render -------------------------------------------------------------------------------------


def _render(args: argparse.Namespace) -> int:
    from nfw_blocklist.render import main_render

    return main_render(args.stack, args.json)


# --- replay -------------------------------------------------------------------------------------


def _replay(args: argparse.Namespace) -> int:
    if args.topology is not None:
        from nfw_blocklist.topology_replay import replay_topology

        return replay_topology(args)
    prune_after = parse_duration(args.prune_after) if args.prune_after is not None else None
    overrides = parse_config_pairs(args.config)
    files = load_event_files(args.files)
    state = _read_state(args.state)
    rendered = _render_with(args.stack or "dev", overrides)

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
    with Sandbox(rendered, start=_replay_start(files, state)) as sandbox:
        if state:
            _restore_state(sandbox, state, args.state)
        for event_file in files:
            for event in event_file.events:
                delivery = sandbox.deliver(event)
                follow_ups = _follow_ups(delivery)
                executions = [*delivery.executions, *(r for d in follow_ups for r in d.executions)]
                failed = failed or any(result.status != "SUCCEEDED" for result in executions)
                errors.update({r.name: _failure_of(r) for r in executions if r.status != "SUCCEEDED"})
                report["events"].append(
                    {
                        "file": event_file.path,
                        "id": event.get("id") if isinstance(event.get("id"), str) else None,
                        "matched": bool(delivery.matched_rules),
                        "executions": [_execution_summary(result) for result in delivery.executions],
                        "follow_ups": [
                            {
                                "id": follow_up.event.get("id"),
                                "matched": bool(follow_up.matched_rules),
                                "executions": [_execution_summary(r) for r in follow_up.executions],
                            }
                            for follow_up in follow_ups
                        ],
                    }
                )
        if prune_after is not None:
            runs = sandbox.advance(prune_after) or [sandbox.run_pruning()]
            failed = failed or any(run.status != "SUCCEEDED" for run in runs)
            report["pruned"] = sorted(
                {host for run in runs for host in (run.task_output("prune") or {}).get("pruned", [])}
            )
        report.update(_stack_state(sandbox))
        report["finding_updates"] = finding_update_views(sandbox.security_hub.calls())
        if args.state:
            _write_state(args.state, sandbox)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=False))
    else:
        _print_replay(report, errors)
    return 1 if failed else 0


def _stack_state(sandbox: Any) -> dict[str, Any]:
    """What a replay reports of one deployed stack after its events: ledger, rule group and messages."""
    return {
        "ledger": [
            {key: view[key] for key in ("host", "first_seen", "last_seen", "expires", "source")}
            for view in _ledger_views(sandbox)
        ],
        "rule_group": _rule_group_view(sandbox),
        "notifications": sandbox.notifications(),
        "emails": sandbox.email_notifications(),
    }


def _failure_of(result: Any) -> str:
    """The error the workflow caught (its failure notification's Error), else the execution's own."""
    caught = result.task_output("error") or {}
    return (
        str(caught.get("Error") or result.error or result.status)
        if isinstance(caught, dict)
        else result.status
    )


def _replay_start(files: Sequence[EventFile], state: Mapping[str, Any] | None) -> float | None:
    """Start just after the newest event, as if the events had just arrived (or at the saved clock)."""
    from nfw_blocklist.sandbox import DEFAULT_START

    # An event time the functions would not believe (before 1970, after 2099) counts as absent here too.
    times = [event_time(event.get("time")) for event_file in files for event in event_file.events]
    candidates = [DEFAULT_START, *(t + 300 for t in times if t is not None)]
    if state:
        candidates.append(float(state["clock"]))
    return max(candidates)


def _follow_ups(delivery: Any) -> list[Any]:
    """The Security Hub events a delivery's BatchUpdateFindings caused, and theirs, in order."""
    found = []
    for follow_up in delivery.follow_ups:
        found.extend([follow_up, *_follow_ups(follow_up)])
    return found


def _execution_summary(result: Any) -> dict[str, Any]:
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
    }


def _print_replay(report: Mapping[str, Any], errors: Mapping[str, str]) -> None:
    for entry in report["events"]:
        outcome = "matched" if entry["matched"] else "no rule matched"
        _say(f"{entry['file']}  event {entry['id'] or '-'}: {outcome}")
        for run in entry["executions"]:
            _say(
                f"  {run['name']}: {run['status']}"
                + (f" ({errors[run['name']]})" if run["name"] in errors else "")
            )
            for key in ("blocked", "refreshed", "evicted"):
                if run[key]:
                    _say(f"    {key}: {', '.join(run[key])}")
            for failed in run.get("not_blocked", ()):
                targets = ", ".join(failed["not_blocked"])
                _say(
                    f"    not blocked ({failed['kind']}s, {failed['error']} in {failed['where']}): {targets}"
                )
            for skip in run["skipped"]:
                _say(f"    skipped {skip['host']}: {skip['reason']}")
        for follow_up in entry.get("follow_ups", ()):  # a topology's report has none (README)
            statuses = ", ".join(run["status"] for run in follow_up["executions"]) or "no execution"
            skips = sorted({skip["reason"] for run in follow_up["executions"] for skip in run["skipped"]})
            _say(
                f"  Security Hub follow-up event {follow_up['id']} (after BatchUpdateFindings): {statuses}"
                + (f", skipped: {', '.join(skips)}" if skips else "")
            )
    for update in report.get("finding_updates", ()):
        if update["status"] == "processed":
            status = f" -> {update['workflow_status']}" if update["workflow_status"] else ""
            _say(f"annotated finding {update['finding_id']}{status}: {update['note']}")
        else:
            _say(f"annotation of finding {update['finding_id']} not applied: {update['status']}")
    if report["pruned"]:
        _say(f"pruned: {', '.join(report['pruned'])}")
    drops = ", ".join(report["rule_group"]["cidrs"]) or "-"
    domains = "; ".join(
        f"{point}: {', '.join(names) or '-'}"
        for point, names in report["rule_group"].get("domains", {}).items()
    )
    _say(
        f"ledger: {len(report['ledger'])} target(s); rule group drops: {drops}"
        + (f"; domains blocked: {domains}" if domains else "")
    )
    _say(f"notifications: {len(report['notifications'])}")


def _say(text: str) -> None:
    """Print one line of the product's text output, data in it escaped (``printable``)."""
    print(printable(text))


# --- views shared by replay, demo and the operator commands ---------------------------------------


def _sandbox_service(sandbox: Any) -> Any:
    """The use cases with the deployed functions' own settings and the sandbox's clients."""
    from handlers.service import BlocklistService
    from handlers.settings import Settings

    settings = Settings.from_env(sandbox.function_environment("block"))
    return BlocklistService.create(
        settings, dynamodb=sandbox.client("dynamodb"), network_firewall=sandbox.client("network-firewall")
    )


def _ledger_views(sandbox: Any) -> list[dict[str, Any]]:
    from handlers.service import record_view

    return [record_view(record) for record in _sandbox_service(sandbox).list_hosts()]


def _rule_group_view(sandbox: Any) -> dict[str, Any]:
    return _group_view(_sandbox_service(sandbox))


def _group_view(service: Any) -> dict[str, Any]:
    """The CIDRs our rules drop (read with the writer's own parser) and the rules as the API returns them."""
    from handlers.rules import blocked_hosts, host_sort_key, split_owned

    snapshot = service.firewall.describe()
    priorities = (service.settings.rule_priority, service.settings.destination_priority)
    owned, _ = split_owned(snapshot.rules, priorities)
    return {
        "cidrs": sorted(blocked_hosts(owned, *priorities), key=host_sort_key),
        "rules": snapshot.rules,
        "domains": _blocked_domains(service),
    }


def _blocked_domains(service: Any) -> dict[str, list[str]]:
    """Each domain enforcement point's blocked domains (none when domain blocking is off)."""
    return {point.name: sorted(point.current()) for point in service.domain_points}


# --- demo ---------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from handlers.service import iso
    from nfw_blocklist.sandbox import Sandbox
    from nfw_blocklist.sandbox.securityhub import finding_update_views

    event = json.loads(REFERENCE_FINDING.read_text())
    rendered = _render_with(args.stack, {})
    out = _Printer()
    with Sandbox(rendered) as sandbox:
        service = _sandbox_service(sandbox)
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
        for follow_up in _follow_ups(delivery):
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
            item = next(i for i in sandbox.ledger_items() if i.get("HostIp") == record.host)
            out.line(f"{record.host}  source={record.source}  finding={record.last_finding_id}")
            out.line(f"  first seen {iso(record.first_seen)}  last seen {iso(record.last_seen)}")
            out.line(f"  expires    {iso(record.expires_at)}")
            out.line(f"  item: {json.dumps(item, sort_keys=True)}")

        out.heading("Rule group (DescribeRuleGroup)")
        _print_rules(out, _group_view(service)["rules"])
        for point, domains in _blocked_domains(service).items():
            out.line(f"domains blocked in {point}: {', '.join(domains) or 'nothing'}")

        out.heading("SNS message, as e-mail subscribers receive it")
        for email in sandbox.email_notifications():
            out.line(f"Subject: {email['subject']}")
            for line in str(email["text"]).splitlines():
                out.line(line)
        out.heading("SNS message, as every other protocol receives it (JSON)")
        for message in sandbox.notifications():
            text = message if isinstance(message, str) else json.dumps(message, indent=2)
            for line in text.splitlines():
                out.line(line)

        retention = service.settings.retention_seconds
        out.heading(
            f"Advancing the clock {retention // 3600}h{(retention % 3600) // 60:02d}m past the retention"
        )
        runs = sandbox.advance(retention + 60)
        for run in runs:
            pruned = (run.task_output("prune") or {}).get("pruned", [])
            out.line(f"scheduled {run.state_machine}: {run.status}; pruned {', '.join(pruned) or 'nothing'}")
            out.line(f"  states: {' -> '.join(run.entered_states)}")
        remaining = service.list_hosts()
        out.line(f"ledger now holds {len(remaining)} host(s); clock {sandbox.clock.isoformat()}")
        view = _group_view(service)
        out.line(f"rule group drops: {', '.join(view['cidrs']) or 'nothing'}")
        _print_rules(out, view["rules"])
        for point, domains in view["domains"].items():
            out.line(f"domains blocked in {point}: {', '.join(domains) or 'nothing'}")
        for email in sandbox.email_notifications()[1:]:
            out.line(f"e-mail: {email['subject']}")
            for line in str(email["text"]).splitlines():
                out.line(f"  {line}")
        echoes = [r for follow_up in _follow_ups(delivery) for r in follow_up.executions]
        failed = any(
            r.status != "SUCCEEDED" for r in [*delivery.executions, *echoes, *dns_delivery.executions, *runs]
        )
        gone = not remaining and not view["cidrs"] and not any(view["domains"].values())
        out.heading(
            "Done: blocked, notified and pruned" if gone and not failed else "Demo did not go as expected"
        )
    return 0 if gone and not failed else 1


class _Printer:
    """The demo's readable output (this is the product's user-facing text, hence print)."""

    def heading(self, text: str) -> None:
        print(f"\n== {printable(text)}")

    def line(self, text: str) -> None:
        print(f"   {printable(text)}")


def _print_rules(out: _Printer, rules: Sequence[Mapping[str, Any]]) -> None:
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


# --- operator commands --------------------------------------------------------------------------


def _operate(args: argparse.Namespace) -> int:
    ttl = parse_duration(args.ttl) if getattr(args, "ttl", None) else None
    if args.live:
        if args.state or args.config:
            raise UsageError("--state and -c apply to the sandbox, not to --live")
        with _live_service(args.stack_outputs) as service:
            return _run_operation(args, service, ttl)
    if args.stack_outputs:
        raise UsageError("--stack-outputs needs --live")
    overrides = parse_config_pairs(args.config)
    state = _read_state(args.state)
    rendered = _render_with(args.stack, overrides)

    from nfw_blocklist.sandbox import Sandbox

    with Sandbox(rendered, start=float(state["clock"]) if state else None) as sandbox:
        if state:
            _restore_state(sandbox, state, args.state)
        status = _run_operation(args, _sandbox_service(sandbox), ttl)
        if args.state and status == 0:
            _write_state(args.state, sandbox)
    return status


def _run_operation(args: argparse.Namespace, service: Any, ttl: int | None) -> int:
    """One use case, shared by sandbox and live; a refused request (InvalidInput) exits 2, unchanged."""
    from handlers.errors import BlocklistError, InvalidInput
    from handlers.service import record_view

    try:
        if args.command == "list":
            result: Any = [record_view(record) for record in service.list_hosts()]
        elif args.command == "block":
            result = service.manual_block(args.host, args.reason, ttl)
        elif args.command == "unblock":
            result = service.unblock(args.host)
        elif args.command == "prune":
            result = (
                {"would_prune": [record_view(r) for r in service.expiring()]}
                if args.dry_run
                else service.prune()
            )
        else:
            result = service.status()
    except InvalidInput as e:
        raise UsageError(str(e)) from None
    except BlocklistError as e:
        print(f"{PROG}: {type(e).__name__}: {printable(e)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_operation(args.command, result)
    return 0


def _print_operation(command: str, result: Any) -> None:
    if command == "list":
        if not result:
            _say("no hosts blocked")
        for view in result:
            _say(
                f"{view['host']:<22} first {view['first_seen']}  last {view['last_seen']}  "
                f"expires {view['expires']}  {view['source']:<7} {view['last_finding'] or view['reason']}"
            )
    elif command == "block":
        _say(f"blocked {result['host']} until {result['expires']}" + _evicted(result))
    elif command == "unblock":
        _say(f"unblocked {result['host']}" if result["was_blocked"] else f"{result['host']} was not blocked")
    elif command == "prune" and "would_prune" in result:
        hosts = [view["host"] for view in result["would_prune"]]
        _say(f"would prune: {', '.join(hosts)}" if hosts else "nothing has expired")
    elif command == "prune":
        _say(f"pruned: {', '.join(result['pruned']) or 'nothing'}" + _evicted(result))
        drift = result["drift"]
        if drift["added"] or drift["removed"] or drift["repaired"]:
            _say(f"repaired drift: added {drift['added']}, removed {drift['removed']}")
    else:
        capacity, drift = result["capacity"], result["drift"]
        counts = f"{result['hosts']} host(s) {result['by_source']}"
        _say(f"capacity {capacity['used']}/{capacity['total']}, {counts}")
        problems = [f"{key}: {value}" for key, value in drift.items() if value]
        _say("drift: " + ("; ".join(problems) if problems else "none"))


def _evicted(result: Mapping[str, Any]) -> str:
    return f" (evicted {', '.join(result['evicted'])})" if result.get("evicted") else ""


# --- live AWS -----------------------------------------------------------------------------------

OUTPUT_KEYS = ("ruleGroupArn", "stateMachineArn", "tableName")


@contextmanager
def _live_service(outputs_path: str | None) -> Iterator[Any]:
    """The use cases against real AWS, configured exactly like the deployed functions.

    With ``--stack-outputs`` the settings are read from the deployed record function's environment
    (found through the response state machine's definition), so the CLI renders rules at the same
    priorities and honours the same never-block list as the Lambdas. Without it, the same
    ``NFW_*`` environment variables the functions read must be set.
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from handlers.errors import ConfigurationError
    from handlers.service import BlocklistService
    from handlers.settings import ENV_RULE_GROUP_ARN, ENV_TABLE_NAME, Settings

    if outputs_path:
        outputs = _read_outputs(outputs_path)
        region = _arn_region(outputs["ruleGroupArn"])
        try:
            env = _deployed_environment(
                boto3.client("stepfunctions", region_name=region), boto3, region, outputs
            )
        except (ClientError, BotoCoreError) as e:
            raise UsageError(
                f"cannot read the deployed settings through {outputs['stateMachineArn']}: {_aws_error(e)}"
            ) from None
        env.update({ENV_TABLE_NAME: outputs["tableName"], ENV_RULE_GROUP_ARN: outputs["ruleGroupArn"]})
    else:
        env = dict(os.environ)
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
        match = _ARN.fullmatch(env.get(ENV_RULE_GROUP_ARN, ""))
        if not region and match:
            region = match["region"]
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as e:
        raise UsageError(f"{e} (pass --stack-outputs FILE or set the NFW_* variables)") from None
    if not region:
        raise UsageError("no AWS region: set AWS_REGION or pass --stack-outputs FILE")
    yield BlocklistService.create(
        settings,
        dynamodb=boto3.client("dynamodb", region_name=region),
        network_firewall=boto3.client("network-firewall", region_name=region),
    )


def _arn_region(arn: str) -> str:
    match = _ARN.fullmatch(arn)
    if match is None:
        raise UsageError(f"not an ARN with a region and an account: {_shown(arn)!r}")
    return match["region"]


def _aws_error(error: Exception) -> str:
    """One line for an AWS error: its code and message, without botocore's traceback."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        details = response.get("Error") or {}
        return f"{details.get('Code', type(error).__name__)}: {details.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: " + " ".join(str(error).split())


def _read_outputs(path: str) -> dict[str, str]:
    outputs = load_json(path)
    missing = [
        key for key in OUTPUT_KEYS if not isinstance(outputs, dict) or not isinstance(outputs.get(key), str)
    ]
    if missing:
        raise UsageError(f"{path}: missing stack output(s) {', '.join(missing)}")
    for key, service in (("ruleGroupArn", "network-firewall"), ("stateMachineArn", "states")):
        match = _ARN.fullmatch(outputs[key])
        if match is None or match["service"] != service:
            raise UsageError(f"{path}: {key} is not a {service} ARN: {_shown(outputs[key])!r}")
    if not outputs["tableName"]:
        raise UsageError(f"{path}: tableName is empty")
    return {key: str(value) for key, value in outputs.items() if isinstance(value, str)}


def _deployed_environment(sfn: Any, boto3: Any, region: str, outputs: Mapping[str, str]) -> dict[str, str]:
    """The environment of a function the response workflow invokes: the deployed settings."""
    from nfw_blocklist.sandbox.wiring import task_references

    definition = json.loads(
        sfn.describe_state_machine(stateMachineArn=outputs["stateMachineArn"])["definition"]
    )
    functions = [ref.target for ref in task_references(definition) if ref.kind == "lambda"]
    if not functions:
        raise UsageError(f"{outputs['stateMachineArn']}: the workflow invokes no Lambda function")
    configuration = boto3.client("lambda", region_name=region).get_function_configuration(
        FunctionName=functions[0]
    )
    variables: dict[str, str] = dict((configuration.get("Environment") or {}).get("Variables") or {})
    return variables


# --- sandbox state files ------------------------------------------------------------------------


def _read_state(path: str | None) -> dict[str, Any] | None:
    """A missing file is a fresh start; a file that is not ours is refused before anything runs.

    So is a file that could not be saved afterwards: the command would have done its work (and
    printed it) first.
    """
    if not path:
        return None
    folder = Path(path).absolute().parent
    if not folder.is_dir():
        raise UsageError(f"{path}: no such directory {folder}")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{path}: not writable")
    if not Path(path).exists():
        return None
    state = load_json(path)
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise UsageError(f"{path}: not a sandbox state file (version {STATE_VERSION})")
    clock = state.get("clock")
    if isinstance(clock, bool) or not isinstance(clock, int | float) or not math.isfinite(clock):
        raise UsageError(f"{path}: clock is not a number of epoch seconds")
    if not EARLIEST_TIME <= clock < LATEST_TIME:
        raise UsageError(f"{path}: clock {clock} is not between 1970 and 2100")
    ledger = state.get("ledger")
    if not isinstance(ledger, list) or not all(_is_dynamodb_item(item) for item in ledger):
        raise UsageError(f"{path}: ledger is not a list of DynamoDB items")
    if not isinstance(state.get("rules_source"), dict):
        raise UsageError(f"{path}: rules_source is not a RulesSource object")
    if not isinstance(state.get("domain_rules_source", {}), dict):
        raise UsageError(f"{path}: domain_rules_source is not a RulesSource object")
    return state


def _is_dynamodb_item(item: object) -> bool:
    return isinstance(item, dict) and all(
        isinstance(name, str) and isinstance(value, dict) and len(value) == 1 for name, value in item.items()
    )


def _restore_state(sandbox: Any, state: Mapping[str, Any], path: str) -> None:
    """Put back the ledger items verbatim and the rule group's rules (through the API, with its token).

    What the services refuse, or what the use cases cannot read back, is a bad state file (exit 2):
    the sandbox is thrown away and the file left as it was.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from handlers.errors import BlocklistError
    from handlers.service import record_view

    dynamodb = sandbox.client("dynamodb")
    for index, item in enumerate(state["ledger"]):
        try:
            dynamodb.put_item(TableName=sandbox.table_name, Item=item)
        except (ClientError, BotoCoreError) as e:
            raise UsageError(f"{path}: ledger item {index} refused: {_aws_error(e)}") from None
    firewall = sandbox.client("network-firewall")
    current = firewall.describe_rule_group(RuleGroupArn=sandbox.rule_group_arn)
    rule_group = dict(current["RuleGroup"])
    rule_group["RulesSource"] = state["rules_source"]
    try:
        firewall.update_rule_group(
            RuleGroupArn=sandbox.rule_group_arn, UpdateToken=current["UpdateToken"], RuleGroup=rule_group
        )
    except (ClientError, BotoCoreError) as e:
        raise UsageError(f"{path}: rules_source refused by the rule group: {_aws_error(e)}") from None
    if state.get("domain_rules_source") and _domain_group_arn(sandbox):
        current = firewall.describe_rule_group(RuleGroupArn=_domain_group_arn(sandbox), Type="STATEFUL")
        domain_group = {**current["RuleGroup"], "RulesSource": state["domain_rules_source"]}
        try:
            firewall.update_rule_group(
                RuleGroupArn=_domain_group_arn(sandbox),
                Type="STATEFUL",
                UpdateToken=current["UpdateToken"],
                RuleGroup=domain_group,
            )
        except (ClientError, BotoCoreError) as e:
            raise UsageError(
                f"{path}: domain_rules_source refused by the domain group: {_aws_error(e)}"
            ) from None
    service = _sandbox_service(sandbox)
    try:
        for record in service.list_hosts():
            record_view(record)
    except (BlocklistError, ArithmeticError, LookupError, TypeError, ValueError) as e:
        raise UsageError(f"{path}: ledger holds an item that cannot be read back: {e}") from None
    try:
        _group_view(service)
    except (BlocklistError, ArithmeticError, LookupError, TypeError, ValueError) as e:
        raise UsageError(f"{path}: rules_source cannot be read back: {e}") from None


def _domain_group_arn(sandbox: Any) -> str:
    """The sandbox's stateful domain-list group, or "" for a stack without one."""
    return next((arn for arn in sandbox.inventory.rule_groups if ":stateful-rulegroup/" in arn), "")


def _write_state(path: str, sandbox: Any) -> None:
    items = []
    for page in sandbox.client("dynamodb").get_paginator("scan").paginate(TableName=sandbox.table_name):
        items.extend(page["Items"])
    state = {
        "version": STATE_VERSION,
        "clock": sandbox.clock.now(),
        "ledger": items,
        "rules_source": sandbox.describe_rule_group()["RuleGroup"]["RulesSource"],
    }
    if _domain_group_arn(sandbox):
        domain_group = sandbox.client("network-firewall").describe_rule_group(
            RuleGroupArn=_domain_group_arn(sandbox), Type="STATEFUL"
        )
        state["domain_rules_source"] = domain_group["RuleGroup"]["RulesSource"]
    Path(path).write_text(json.dumps(state, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
