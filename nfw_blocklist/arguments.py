"""Reading what the user typed and named, before anything is rendered or deployed.

Each parser here refuses bad input with a ``UsageError`` naming what was wrong; the commands call
them first, so a refused argument costs no render and no sandbox.
"""

import argparse
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

from handlers.policy import MAX_TTL_SECONDS
from nfw_blocklist.project_config import ProjectConfigError, StoredValue, command_line_config

from .console import UsageError, shown

_DURATION: Final = re.compile(r"^([1-9][0-9]{0,11})([smhd])$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CONFIG_KEY: Final = re.compile(
    r"^([A-Za-z][A-Za-z0-9_.-]*:)?[A-Za-z][A-Za-z0-9_]*(\[\d+\]|\.[A-Za-z0-9_]+)*$"
)


class Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (the contract for bad input), not usage plus message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_duration(text: str) -> int:
    """``45s``, ``90m``, ``13h``, ``2d`` -> seconds, at most a year (``MAX_TTL_SECONDS``)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise UsageError(
            f"invalid duration {shown(text)!r}: use a whole number and one unit, e.g. 45s, 90m, 13h, 2d"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_TTL_SECONDS:
        raise UsageError(f"invalid duration {text!r}: at most {MAX_TTL_SECONDS // 86400}d")
    return seconds


def optional_duration(text: str | None) -> int | None:
    """An optional duration option: None when not given, else ``parse_duration``."""
    return parse_duration(text) if text is not None else None


def add_prune_after_option(command: argparse.ArgumentParser, then: str = "") -> None:
    """``--prune-after DURATION`` (``optional_duration``, ``Sandbox.prune_after``); ``then``: what the
    command does after the prune."""
    command.add_argument(
        "--prune-after",
        metavar="DURATION",
        help=f"then advance the clock (e.g. 13h) and prune once{then}",
    )


def add_event_files_argument(command: argparse.ArgumentParser, required: bool = True) -> None:
    """The ``EVENT_FILE`` arguments ``load_event_files`` reads: at least one, or with ``required`` False
    any number."""
    command.add_argument(
        "files",
        nargs="+" if required else "*",
        metavar="EVENT_FILE",
        help="a JSON file of one EventBridge event or an array of them",
    )


def load_json(path: str) -> Any:
    """The JSON document in ``path``; ``UsageError`` naming the file for anything else.

    Beside malformed JSON, Python's parser raises ``RecursionError`` for deep nesting and
    ``ValueError`` for an integer past 4,300 digits: both are bad input, not crashes.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid JSON: nested too deeply") from None
    except ValueError as e:
        # An integer past 4,300 digits: "Exceeds the limit (4300 digits) for integer string conversion...".
        raise UsageError(f"{path}: invalid JSON: {str(e).split(';')[0]}") from None


def add_config_option(command: argparse.ArgumentParser, scope: str = "") -> None:
    """``-c KEY=VALUE``, repeatable; ``scope`` says where it applies (``"sandbox: "``)."""
    command.add_argument(
        "-c",
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{scope}override a config value of the stack, as `pulumi up -c` would (repeatable)",
    )


def parse_config_pairs(pairs: Sequence[str]) -> dict[str, StoredValue]:
    """``-c KEY=VALUE`` stored as ``pulumi up -c`` stores them (key with or without the namespace; a key
    written as a path, ``protectedCidrs[0]``, sets one element)."""
    split: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _CONFIG_KEY.match(key.strip()):
            raise UsageError(f"invalid -c {pair!r}: expected KEY=VALUE, e.g. -c findingSource=both")
        split.append((key.strip(), value))
    try:
        return command_line_config(split)
    except ProjectConfigError as e:
        raise UsageError(f"invalid -c: {e}") from None


@dataclass(frozen=True)
class EventFile:
    path: str
    events: list[dict[str, Any]]


def load_event_files(paths: Sequence[str]) -> list[EventFile]:
    """Read and check every file before anything runs: a bad file anywhere means nothing is processed."""
    loaded = []
    for path in paths:
        document = load_json(path)
        events = document if isinstance(document, list) else [document]
        if not events or not all(isinstance(event, dict) for event in events):
            raise UsageError(f"{path}: expected an EventBridge event object or a non-empty array of them")
        loaded.append(EventFile(path, events))
    return loaded
