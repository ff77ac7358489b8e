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
    return operate(args, Operation(run=_prune, show=_show))


def _expiring(service: Any) -> dict[str, Any]:
    from handlers.service import record_view

    return {"would_prune": [record_view(record) for record in service.expiring()]}


def _prune(service: Any) -> dict[str, Any]:
    """The prune's result, plus why each item it took out may never be blocked (``dropped``).

    The writer drops what the never-block list covers and what is not a valid host or domain alike
    (``protected``); the reason is the one ``block`` gives for the same item.
    """
    result: dict[str, Any] = service.prune()
    result["dropped"] = [{"host": host, "reason": _refusal(service, host)} for host in result["protected"]]
    return result


def _refusal(service: Any, host: str) -> str:
    from handlers.errors import InvalidInput

    try:
        service.check_manual_block(host, "prune")
    except InvalidInput as refused:
        return str(refused)
    return "no longer blockable"


def _show_expiring(result: dict[str, Any]) -> None:
    hosts = [view["host"] for view in result["would_prune"]]
    say(f"would prune: {', '.join(hosts)}" if hosts else "nothing has expired")


def _show(result: dict[str, Any]) -> None:
    evicted = f" (evicted {', '.join(result['evicted'])})" if result.get("evicted") else ""
    say(f"pruned: {', '.join(result['pruned']) or 'nothing'}{evicted}")
    if result["dropped"]:
        say("dropped, never to be blocked:")
        for item in result["dropped"]:
            say(f"  {item['reason']}")
    drift = result["drift"]
    if drift["added"]:
        say(f"restored to the group (missing from it): {', '.join(drift['added'])}")
    if drift["removed"]:
        say(f"removed from the group (not in the ledger): {', '.join(drift['removed'])}")
    if drift["repaired"]:
        say("rewrote our rules edited by hand")
