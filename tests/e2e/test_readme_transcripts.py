"""Every transcript in the README is what its commands print (issue 17 item 9): regenerate them with
``PYTHONPATH=. .venv/bin/python -m tests.readme_transcripts --update``."""

import difflib

from tests.readme_transcripts import README, produce, transcripts


def test_the_readme_marks_its_transcripts():
    kinds = [transcript.kind for transcript in transcripts(README.read_text(encoding="utf-8"))]

    assert sorted(kinds) == ["demo", "email", "notification", "session"]


def test_every_readme_transcript_is_what_its_commands_print():
    readme = README.read_text(encoding="utf-8")

    produced = produce(readme)

    assert produced == readme, "".join(
        difflib.unified_diff(readme.splitlines(True), produced.splitlines(True), "README.md", "produced")
    )
