"""``nfw-blocklist block HOST --reason TEXT``: block an address or a domain by hand."""

import argparse
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, add_ttl_option, operate, ttl_option


def add_to(commands: Any) -> None:
    command = commands.add_parser("block", help="block a host by hand")
    command.add_argument("host", help="an IPv4 or IPv6 address (or /32, /128), or a domain name")
    command.add_argument("--reason", required=True, help="why: kept in the ledger and shown by list")
    add_ttl_option(command, "how long")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    ttl = ttl_option(args)
    return operate(
        args,
        Operation(
            check=lambda service: service.check_manual_block(args.host, args.reason, ttl),
            run=lambda service: service.manual_block(args.host, args.reason, ttl),
            show=_show,
        ),
    )


def _show(result: dict[str, Any]) -> None:
    evicted = f" (evicted {', '.join(result['evicted'])})" if result.get("evicted") else ""
    say(f"blocked {result['host']} until {result['expires']}{evicted}")
