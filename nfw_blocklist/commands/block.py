"""``nfw-blocklist block HOST --reason TEXT``: block an address or a domain by hand."""

import argparse
from typing import Any

from nfw_blocklist.arguments import parse_duration
from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, operate


def add_to(commands: Any) -> None:
    command = commands.add_parser("block", help="block a host by hand")
    command.add_argument("host", help="an IPv4 or IPv6 address (or /32, /128), or a domain name")
    command.add_argument("--reason", required=True, help="why: kept in the ledger and shown by list")
    command.add_argument(
        "--ttl", metavar="DURATION", help="how long, e.g. 45s, 90m, 13h, 2d (default: the stack's retention)"
    )
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    ttl = parse_duration(args.ttl) if args.ttl else None
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
