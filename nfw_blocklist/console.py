"""What every command shares at the terminal: the one-line error contract and the escaping of data.

Bad input (arguments, files, configuration, a refused host, stack outputs whose resources cannot be
read) is a ``UsageError``: one line on stderr, exit 2, before anything is deployed, changed or
printed. Every text the CLI prints from data (finding and event ids, reasons, file names) goes
through ``printable``: an event cannot drive the terminal.
"""

import sys
from collections.abc import Mapping
from typing import Final

PROG: Final = "nfw-blocklist"
SHOWN_CHARS: Final = 200
"""Bad values are cut to this many characters in error messages."""


class UsageError(Exception):
    """Bad input from the user: one line on stderr, exit 2, nothing processed or changed."""


def printable(text: object) -> str:
    """``text`` with every non-printable character escaped (``\\x1b``, ``\\n``, ``\\u202e``).

    The one gate between data and the terminal: finding and event ids, reasons and file names come
    from events and state files, and a raw escape sequence in them could rewrite the screen.
    """
    shown = str(text)
    if shown.isprintable():
        return shown
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in shown)


def shown(text: str) -> str:
    """``text`` cut to ``SHOWN_CHARS`` for an error message."""
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."


def say(text: str) -> None:
    """Print one line of the product's text output, data in it escaped (``printable``)."""
    print(printable(text))


def usage(message: str) -> int:
    """Report bad input the one way the CLI does; the exit status for it."""
    print(f"{PROG}: error: {printable(message)}", file=sys.stderr)
    return 2


def aws_error(error: Exception) -> str:
    """One line for an AWS error: its code and message, without botocore's traceback."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        details = response.get("Error") or {}
        return f"{details.get('Code', type(error).__name__)}: {details.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: " + " ".join(str(error).split())


class Printer:
    """The demo's readable output: headed sections of indented lines (the product's text, hence print)."""

    def heading(self, text: str) -> None:
        print(f"\n== {printable(text)}")

    def line(self, text: str) -> None:
        print(f"   {printable(text)}".rstrip())


def acted_on_sandbox(note: str, as_json: bool) -> None:
    """Say where a command acted: a sandbox in this process, never the deployed stack.

    On stdout after the text output; on stderr with ``--json`` (stdout is one JSON object there).
    """
    if as_json:
        print(f"{PROG}: ({printable(note)})", file=sys.stderr)
    else:
        say(f"({note})")
