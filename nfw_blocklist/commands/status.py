"""``nfw-blocklist status``: capacity, hosts by source, and drift between the ledger and every place
that enforces it (the rule group, and each domain enforcement point)."""

import argparse
from collections.abc import Mapping
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, operate


def add_to(commands: Any) -> None:
    command = commands.add_parser("status", help="capacity, hosts by source, drift")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return operate(args, Operation(run=lambda service: service.status(), show=_show))


def _show(result: Mapping[str, Any]) -> None:
    capacity, domains = result["capacity"], result.get("domains") or {}
    sources = ", ".join(f"{source} {count}" for source, count in sorted(result["by_source"].items()))
    say(
        f"capacity {capacity['used']}/{capacity['total']} units; {result['hosts']} host(s), "
        f"{domains.get('count', 0)} domain(s); by source: {sources or 'none'}"
    )
    for point, held in (domains.get("points") or {}).items():
        say(f"domains in {point}: {held['blocked']} of at most {held['max_domains']}")
    problems = drift_lines(result)
    say("drift: none" if not problems else "drift:")
    for problem in problems:
        say(f"  {problem}")


def drift_lines(result: Mapping[str, Any]) -> list[str]:
    """Every difference ``status`` found, one line each: the text form must hide none of the JSON's."""
    drift = result["drift"]
    lines = []
    if drift["missing_from_group"]:
        lines.append(f"hosts missing from the rule group: {', '.join(drift['missing_from_group'])}")
    if drift["not_in_ledger"]:
        lines.append(f"hosts in the rule group the ledger does not hold: {', '.join(drift['not_in_ledger'])}")
    if drift["owned_rules_edited"]:
        lines.append("our rules in the rule group were edited by hand (the next prune writes them back)")
    for point, held in ((result.get("domains") or {}).get("points") or {}).items():
        if held["missing_from_point"]:
            lines.append(f"domains missing from {point}: {', '.join(held['missing_from_point'])}")
        if held["not_in_ledger"]:
            lines.append(f"domains in {point} the ledger does not hold: {', '.join(held['not_in_ledger'])}")
    return lines
