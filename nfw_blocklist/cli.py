"""``nfw-blocklist``: render the program, run it in the sandbox, and operate the blocklist.

Two audiences. Someone evaluating the project runs ``demo`` or ``replay`` and sees the whole
response work on a laptop, in the sandbox. An operator runs ``list``/``block``/``unblock``/
``prune``/``status`` against the deployed stack (``--live``) or the sandbox; those commands call the
same ``handlers.service`` use cases the Lambda functions run, with the same settings
(``operations``).

Each command is one module of ``nfw_blocklist.commands``; this module only assembles them.

Sandbox state: each invocation deploys a fresh sandbox (the render is kept between invocations,
``stacks``). To make a sequence of commands meaningful without AWS, ``--state FILE`` saves the
ledger, the rule group's rules and the sandbox clock after the command and restores them before
the next one, so ``replay --state s.json finding.json`` followed by ``list --state s.json`` shows
the host.

Errors: bad input (arguments, files, configuration, a refused host, stack outputs whose
resources cannot be read) prints one line on stderr and exits 2, before anything is deployed,
changed or printed; a failed execution exits 1 (``console``).
"""

import argparse
import logging
import sys
from collections.abc import Sequence

from nfw_blocklist.arguments import Parser
from nfw_blocklist.commands import (
    block,
    brake,
    demo,
    extend,
    prune,
    release,
    render,
    replay,
    status,
    traffic,
    unblock,
)
from nfw_blocklist.commands import list as list_command
from nfw_blocklist.console import PROG, UsageError, usage

COMMANDS = (
    render,
    demo,
    replay,
    traffic,
    list_command,
    block,
    unblock,
    release,
    extend,
    prune,
    status,
    brake,
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="Block hosts GuardDuty flags in a Network Firewall rule group.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens on stderr")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.add_to(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (0 ok, 1 an execution or call failed, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        return usage(str(e))
    _configure_logging(args.verbose)
    try:
        status: int = args.run(args)
    except UsageError as e:
        return usage(str(e))
    return status


def _configure_logging(verbose: bool) -> None:
    """Quiet by default: stdout is the product, and moto logs expected failures loudly."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s %(message)s")
    # The entry points reconfigure the root logger as Lambda's runtime would (JSON, INFO) while
    # they run in-process; the level on our handler keeps stderr as quiet as asked regardless.
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
    for noisy in ("moto", "botocore", "boto3", "urllib3", "localstack"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.CRITICAL)


if __name__ == "__main__":
    sys.exit(main())
