"""``nfw-blocklist brake status|release``: the brake on new blocks (``handlers.brake``): is it on, how many
new blocks this period against the ceiling, which hosts it refused; and turning it off."""

import argparse
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nfw_blocklist.console import say
from nfw_blocklist.operations import Operation, add_target_options, operate


def add_to(commands: Any) -> None:
    command = commands.add_parser("brake", help="the brake on new blocks: status, release")
    actions = command.add_subparsers(
        dest="brake_action", required=True, parser_class=type(command), help="status or release"
    )
    status = actions.add_parser("status", help="is the brake on; new blocks this period; refused hosts")
    add_target_options(status)
    status.set_defaults(run=run_status)
    release = actions.add_parser("release", help="turn the brake off and start a new period")
    add_target_options(release)
    release.set_defaults(run=run_release)


def run_status(args: argparse.Namespace) -> int:
    return operate(args, Operation(run=lambda service: service.brake_status(), show=_show_status))


def run_release(args: argparse.Namespace) -> int:
    return operate(args, Operation(run=lambda service: service.brake_release(), show=_show_release))


def _when(epoch: object) -> str:
    if not isinstance(epoch, int | float):
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _show_status(state: Mapping[str, Any]) -> None:
    head = f"brake ON since {_when(state['engaged_at'])}" if state["engaged"] else "brake off"
    say(
        f"{head}: {state['new_blocks']} of at most {state['ceiling']} new blocks in the period "
        f"from {_when(state['window_start'])} ({state['period_minutes']} minutes)"
    )
    if state["refused_count"]:
        kept = state["refused"]
        more = state["refused_count"] - len(kept)
        say(
            f"refused {state['refused_count']}: {', '.join(kept)}" + (f" and {more} more" if more > 0 else "")
        )


def _show_release(result: Mapping[str, Any]) -> None:
    before = result["before"]
    if not result["released"]:
        say("the brake was not on; its period starts again now")
        return
    say(f"brake released; it had refused {before['refused_count']} new block(s)")
    if before["refused"]:
        say(f"refused (block by hand if they should be): {', '.join(before['refused'])}")
