"""``nfw-blocklist render``: run the Pulumi program offline and show what it declares."""

import argparse
from typing import Any


def add_to(commands: Any) -> None:
    command = commands.add_parser("render", help="run the Pulumi program offline and show what it declares")
    command.add_argument("--stack", default="dev", help="the stack whose Pulumi.<stack>.yaml to render")
    command.add_argument("--json", action="store_true", help="print the resources and outputs as JSON")
    command.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from nfw_blocklist.render import main_render

    return main_render(args.stack, args.json)
