"""The README's transcripts, produced by running their commands in the sandbox.

A transcript is a fenced block right after a marker comment naming what produces it:

- ``<!-- transcript: session -->``: the block holds ``$ nfw-blocklist ...`` lines; each runs in turn
  (in one scratch directory, so ``--state s.json`` carries from one to the next), and what it printed
  (stdout, then stderr) follows its line.
- ``<!-- transcript: demo SECTION; SECTION; ... -->``: the sections of ``nfw-blocklist demo`` whose
  headings start with these words, in the demo's order.
- ``<!-- transcript: email EVENT_FILE -->`` / ``<!-- transcript: notification EVENT_FILE -->``: the
  first message ``nfw-blocklist replay EVENT_FILE`` published, as an e-mail subscriber reads it
  (subject, blank line, text) or as every other protocol receives it (compact JSON).

``PYTHONPATH=. .venv/bin/python -m tests.readme_transcripts`` checks the README (exit 1 and a diff
if a transcript is not what its commands print); ``--update`` rewrites the transcripts in place.
The output is deterministic: the sandbox starts at a fixed clock and draws its ids from it, and the
renders are cached (``nfw_blocklist.stacks``), so a check takes about as long as one demo and the
commands of the sessions.
"""

import contextlib
import difflib
import io
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nfw_blocklist import cli

README = Path(__file__).resolve().parent.parent / "README.md"
MARKER = re.compile(
    r"^<!-- transcript: (?P<kind>[a-z]+)(?: (?P<argument>.*?))? -->\n(?P<fence>```[a-z]*\n)", re.M
)
PROMPT = "$ "


@dataclass(frozen=True)
class Transcript:
    kind: str
    argument: str
    start: int
    """Offset of the block's first line in the README."""
    end: int
    """Offset of the block's closing fence."""
    text: str


def transcripts(readme: str) -> list[Transcript]:
    found = []
    for match in MARKER.finditer(readme):
        start = match.end()
        end = readme.index("```\n", start) if not readme.startswith("```\n", start) else start
        found.append(Transcript(match["kind"], match["argument"] or "", start, end, readme[start:end]))
    return found


def run(*arguments: str) -> tuple[int, str, str]:
    """``nfw-blocklist ARGUMENTS`` in this process: its status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(list(arguments))
    return status, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def scratch_directory() -> Iterator[Path]:
    """A fresh working directory for a session; the repository's paths stay reachable from it."""
    previous = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="nfw-readme-") as folder:
        for entry in ("nfw_blocklist",):
            (Path(folder) / entry).symlink_to(previous / entry)
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(previous)


def session(transcript: Transcript) -> str:
    commands = [line[len(PROMPT) :] for line in transcript.text.splitlines() if line.startswith(PROMPT)]
    lines = []
    with scratch_directory():
        for command in commands:
            words = shlex.split(command)
            if words[0] != "nfw-blocklist":
                raise ValueError(f"a session runs nfw-blocklist commands only, not {command!r}")
            _, out, err = run(*words[1:])
            lines.append(PROMPT + command)
            lines.extend(out.splitlines())
            lines.extend(err.splitlines())
    return "\n".join(lines) + "\n"


def demo(transcript: Transcript, output: Callable[[], str]) -> str:
    wanted = [part.strip() for part in transcript.argument.split(";") if part.strip()]
    sections = ["== " + part.strip("\n") for part in output().split("\n== ")[1:]]
    kept = [section for section in sections if any(section[3:].startswith(prefix) for prefix in wanted)]
    return "\n\n".join(kept) + "\n"


def first_message(transcript: Transcript) -> str:
    status, out, err = run("replay", "--json", transcript.argument)
    if status != 0:
        raise RuntimeError(f"replay {transcript.argument} failed: {err.strip()}")
    report = json.loads(out)
    if transcript.kind == "email":
        email = report["emails"][0]
        return f"Subject: {email['subject']}\n\n{email['text']}\n"
    message = report["notifications"][0]
    if not isinstance(message, str):
        message = json.dumps(message, separators=(",", ":"), ensure_ascii=False)  # messages.json_form
    return f"{message}\n"


def produce(readme: str) -> str:
    """The README with every transcript replaced by what its commands print now (run from the
    repository's root, as the README's commands are written)."""
    previous = Path.cwd()
    os.chdir(README.parent)
    try:
        return _produce(readme)
    finally:
        os.chdir(previous)


def _produce(readme: str) -> str:
    cache: dict[str, str] = {}

    def demo_output() -> str:
        if "demo" not in cache:
            cache["demo"] = run("demo")[1]
        return cache["demo"]

    produced, last = [], 0
    for transcript in transcripts(readme):
        if transcript.kind == "session":
            text = session(transcript)
        elif transcript.kind == "demo":
            text = demo(transcript, demo_output)
        elif transcript.kind in ("email", "notification"):
            text = first_message(transcript)
        else:
            raise ValueError(f"unknown transcript kind {transcript.kind!r}")
        produced.extend([readme[last : transcript.start], text])
        last = transcript.end
    produced.append(readme[last:])
    return "".join(produced)


def main(argv: list[str]) -> int:
    update = argv == ["--update"]
    if argv and not update:
        print("usage: python -m tests.readme_transcripts [--update]", file=sys.stderr)
        return 2
    readme = README.read_text(encoding="utf-8")
    produced = produce(readme)
    if update:
        README.write_text(produced, encoding="utf-8")
        return 0
    if produced == readme:
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(readme.splitlines(True), produced.splitlines(True), "README.md")
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
