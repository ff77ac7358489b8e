"""What the operator commands (``list``, ``block``, ``unblock``, ``prune``, ``status``) share: the
options that pick the sandbox or the deployed stack, and running one use case there; and the options
some of them take alike (``release`` and ``extend``'s FINDING and ``--by``, ``block`` and ``extend``'s
``--ttl``).

The order is the contract: first everything that needs no AWS and no sandbox (the arguments, the
``-c`` pairs, the state file, then the command's own check of its arguments against the stack's
settings, read from the render), and only then the sandbox is deployed (or AWS called). A refused
argument costs a render at most, and the render is kept between commands (``stacks``).

The same ``handlers.service`` use cases the Lambda functions run serve both targets, with the
deployed functions' own settings, so the CLI can never render rules or apply a never-block list
differently from them. A sandbox command says so: its state lives in this process (or ``--state``),
not in AWS.
"""

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .arguments import add_config_option, optional_duration, parse_config_pairs
from .console import PROG, UsageError, acted_on_sandbox, printable
from .live import live_service
from .reports import sandbox_service
from .stacks import function_environment, render_with
from .state_file import read_state, restore_state, write_state


@dataclass(frozen=True)
class Operation:
    """One operator command: its check (settings only), its use case, and its text output."""

    run: Callable[[Any], Any]
    """The use case, given the service; returns what ``--json`` prints."""
    show: Callable[[Any], None]
    """The text output of that result."""
    check: Callable[[Any], object] = lambda service: None
    """Refuse bad arguments (``InvalidInput``) from the service's settings alone: no AWS call."""


def add_target_options(command: argparse.ArgumentParser) -> None:
    """The options every operator command takes: where it acts, and how it prints."""
    command.add_argument("--json", action="store_true", help="print exactly one JSON object")
    command.add_argument(
        "--live", action="store_true", help="act on the deployed stack in AWS instead of the sandbox"
    )
    command.add_argument(
        "--stack-outputs",
        metavar="FILE",
        help="with --live: `pulumi stack output --json` of the deployed stack (its region and settings)",
    )
    command.add_argument("--stack", default="dev", help="sandbox: the stack to render (default dev)")
    add_config_option(command, "sandbox: ")
    command.add_argument("--state", metavar="FILE", help="sandbox: restore from FILE first, save it after")


def add_finding_argument(command: argparse.ArgumentParser) -> None:
    """FINDING, for the commands that act on what one finding holds (``release``, ``extend``)."""
    command.add_argument("finding", help="the finding's id: GuardDuty's, or its Security Hub Id (an ARN)")


def add_ttl_option(command: argparse.ArgumentParser, meaning: str) -> None:
    """``--ttl DURATION`` (read by ``ttl_option``): ``meaning`` says what it measures."""
    command.add_argument(
        "--ttl",
        metavar="DURATION",
        help=f"{meaning}, e.g. 45s, 90m, 13h, 2d (default: the stack's retention)",
    )


def ttl_option(args: argparse.Namespace) -> int | None:
    """``--ttl`` in seconds; None (the stack's retention) when it is not given or empty."""
    return optional_duration(args.ttl or None)


def add_decided_by_option(command: argparse.ArgumentParser, name: str, kept: str) -> None:
    """``--by NAME``: who decided an analyst's command (``kept``: where it is recorded)."""
    command.add_argument("--by", default=f"an operator ({PROG} {name})", help=f"who decided (kept in {kept})")


def operate(args: argparse.Namespace, operation: Operation) -> int:
    """Run ``operation`` on the deployed stack (``--live``) or in a sandbox; the exit status."""
    if args.live:
        if args.state or args.config:
            raise UsageError("--state and -c apply to the sandbox, not to --live")
        with live_service(args.stack_outputs) as service:
            _checked(operation, service)
            return _run(args, operation, service)
    if args.stack_outputs:
        raise UsageError("--stack-outputs needs --live")
    overrides = parse_config_pairs(args.config)
    state = read_state(args.state)
    rendered = render_with(args.stack, overrides)
    _checked(operation, _offline_service(rendered))

    from nfw_blocklist.sandbox import Sandbox

    with Sandbox(rendered, start=float(state["clock"]) if state else None) as sandbox:
        if state:
            restore_state(sandbox, state, args.state)
        status = _run(args, operation, sandbox_service(sandbox))
        if args.state and status == 0:
            write_state(args.state, sandbox)
    _acted_on_sandbox(args)
    return status


def _offline_service(rendered: Any) -> Any:
    """The use cases with the settings the render gives the functions, and no client: for checks only."""
    from handlers.service import BlocklistService
    from handlers.settings import Settings

    return BlocklistService.create(Settings.from_env(function_environment(rendered, "block")))


def _checked(operation: Operation, service: Any) -> None:
    from handlers.errors import InvalidInput

    try:
        operation.check(service)
    except InvalidInput as e:
        raise UsageError(str(e)) from None


def _run(args: argparse.Namespace, operation: Operation, service: Any) -> int:
    """One use case; a refused request (InvalidInput) exits 2, unchanged; a failed one exits 1."""
    from handlers.errors import BlocklistError, InvalidInput

    try:
        result = operation.run(service)
    except InvalidInput as e:
        raise UsageError(str(e)) from None
    except BlocklistError as e:
        print(f"{PROG}: {type(e).__name__}: {printable(e)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        operation.show(result)
    return 0


def _acted_on_sandbox(args: argparse.Namespace) -> None:
    kept = f", state kept in {args.state}" if args.state else ", gone when the command ended"
    acted_on_sandbox(
        f"acted on a local sandbox of stack {args.stack!r}{kept}; AWS was not touched. "
        "To act on the deployed stack add --live --stack-outputs FILE",
        args.json,
    )
