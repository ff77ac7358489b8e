"""``nfw-blocklist unblock HOST``: take a host out of the ledger and the rule group (or domain list)."""

import argparse
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, operate


def add_to(commands: Any) -> None:
    command = commands.add_parser("unblock", help="remove a host from the ledger and the rule group")
    command.add_argument("host", help="the address or domain to unblock, as list shows it")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return operate(
        args,
        Operation(
            check=lambda service: service.check_unblock(args.host),
            run=lambda service: service.unblock(args.host),
            show=_show,
        ),
    )


def _show(result: dict[str, Any]) -> None:
    say(f"unblocked {result['host']}" if result["was_blocked"] else f"{result['host']} was not blocked")
