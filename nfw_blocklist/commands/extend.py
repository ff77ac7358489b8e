"""``nfw-blocklist extend FINDING --ttl DURATION``: keep the hosts a finding holds blocked longer."""

import argparse
from typing import Any

from nfw_blocklist.arguments import parse_duration
from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, operate

OPERATOR: str = "an operator (nfw-blocklist extend)"


def add_to(commands: Any) -> None:
    command = commands.add_parser("extend", help="keep the hosts a finding holds blocked longer")
    command.add_argument("finding", help="the finding's id: GuardDuty's, or its Security Hub Id (an ARN)")
    command.add_argument(
        "--ttl", metavar="DURATION", help="from now, e.g. 90m, 13h, 2d (default: the stack's retention)"
    )
    command.add_argument("--by", default=OPERATOR, help="who decided (kept in the logs)")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    ttl = parse_duration(args.ttl) if args.ttl else None
    return operate(
        args,
        Operation(
            check=lambda service: service.check_extend(args.finding, ttl),
            run=lambda service: service.extend_finding(
                args.finding, service.check_extend(args.finding, ttl), args.by
            ),
            show=_show,
        ),
    )


def _show(result: dict[str, Any]) -> None:
    extended = ", ".join(result["extended"]) or "nothing (no host it holds expires sooner)"
    say(f"extended finding {result['finding']} until {result['until']}: {extended}")
