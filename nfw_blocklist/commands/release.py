"""``nfw-blocklist release FINDING``: an analyst's "Unblock (false positive)" from the terminal."""

import argparse
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import (
    Operation,
    add_decided_by_option,
    add_finding_argument,
    add_target_options,
    operate,
)


def add_to(commands: Any) -> None:
    command = commands.add_parser(
        "release",
        help="unblock the hosts only this finding holds; it blocks nothing again for the retention period",
    )
    add_finding_argument(command)
    add_decided_by_option(command, "release", kept="the ledger and the logs")
    add_target_options(command)
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    return operate(
        args,
        Operation(
            check=lambda service: service.check_release(args.finding, args.by),
            run=lambda service: service.release_finding(args.finding, by=args.by),
            show=_show,
        ),
    )


def _show(result: dict[str, Any]) -> None:
    if not result["released"] and not result["kept"]:
        # A mistyped id lands here too: say it plainly rather than read like a finding dealt with.
        say(
            f"finding {result['finding']} holds no host the ledger knows of: nothing unblocked "
            "(is the id right? `nfw-blocklist list` names each host's findings)"
        )
        say(f"it is marked released all the same: it blocks nothing until {result['until']}")
        return
    released = ", ".join(result["released"]) or "nothing"
    say(f"released finding {result['finding']}: unblocked {released}")
    if result["kept"]:
        say(f"still blocked, held by another finding or a manual block: {', '.join(result['kept'])}")
    say(f"it blocks nothing again until {result['until']}")
