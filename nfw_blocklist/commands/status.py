"""``nfw-blocklist status``: capacity, hosts by source, and drift between the ledger and the groups."""

import argparse
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, operate


def add_to(commands: Any) -> None:
    command = commands.add_parser("status", help="capacity, hosts by source, drift")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return operate(args, Operation(run=lambda service: service.status(), show=_show))


def _show(result: dict[str, Any]) -> None:
    capacity, drift = result["capacity"], result["drift"]
    counts = f"{result['hosts']} host(s) {result['by_source']}"
    say(f"capacity {capacity['used']}/{capacity['total']}, {counts}")
    problems = [f"{key}: {value}" for key, value in drift.items() if value]
    say("drift: " + ("; ".join(problems) if problems else "none"))
