"""``nfw-blocklist prune``: expire what is past retention and repair drift, as the schedule does."""

import argparse
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, operate


def add_to(commands: Any) -> None:
    command = commands.add_parser("prune", help="expire hosts past retention and repair drift")
    command.add_argument("--dry-run", action="store_true", help="only show what would expire; change nothing")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.dry_run:
        return operate(args, Operation(run=_expiring, show=_show_expiring))
    return operate(args, Operation(run=lambda service: service.prune(), show=_show))


def _expiring(service: Any) -> dict[str, Any]:
    from handlers.service import record_view

    return {"would_prune": [record_view(record) for record in service.expiring()]}


def _show_expiring(result: dict[str, Any]) -> None:
    hosts = [view["host"] for view in result["would_prune"]]
    say(f"would prune: {', '.join(hosts)}" if hosts else "nothing has expired")


def _show(result: dict[str, Any]) -> None:
    evicted = f" (evicted {', '.join(result['evicted'])})" if result.get("evicted") else ""
    say(f"pruned: {', '.join(result['pruned']) or 'nothing'}{evicted}")
    drift = result["drift"]
    if drift["added"] or drift["removed"] or drift["repaired"]:
        say(f"repaired drift: added {drift['added']}, removed {drift['removed']}")
