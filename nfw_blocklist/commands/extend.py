"""``nfw-blocklist extend FINDING --ttl DURATION``: keep the hosts a finding holds blocked longer."""

import argparse
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import (
    Operation,
    add_decided_by_option,
    add_finding_argument,
    add_target_options,
    add_ttl_option,
    operate,
    ttl_option,
)


def add_to(commands: Any) -> None:
    command = commands.add_parser("extend", help="keep the hosts a finding holds blocked longer")
    add_finding_argument(command)
    add_ttl_option(command, "from now")
    add_decided_by_option(command, "extend", kept="the logs")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    ttl = ttl_option(args)
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
