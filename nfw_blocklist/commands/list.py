"""``nfw-blocklist list``: the blocked hosts and domains, oldest first."""

import argparse
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, operate


def add_to(commands: Any) -> None:
    command = commands.add_parser("list", help="blocked hosts, oldest first")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return operate(args, Operation(run=_list, show=_show))


def _list(service: Any) -> list[dict[str, Any]]:
    from handlers.service import record_view

    return [record_view(record) for record in service.list_hosts()]


def _show(views: list[dict[str, Any]]) -> None:
    if not views:
        say("no hosts blocked")
    for view in views:
        say(
            f"{view['host']:<22} first {view['first_seen']}  last {view['last_seen']}  "
            f"expires {view['expires']}  {view['source']:<7} {view['last_finding'] or view['reason']}"
        )
