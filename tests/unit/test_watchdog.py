"""`make pytest`'s hang watchdog: a hung test ends its run with every thread's stack (issue 18, item 14)."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def _watchdog_options(timeout_seconds: int) -> list[str]:
    """The Makefile's PYTEST_WATCHDOG options, with a shorter timeout."""
    (line,) = re.findall(r"^PYTEST_WATCHDOG = (.*)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    return [
        re.sub(r"faulthandler_timeout=\d+", f"faulthandler_timeout={timeout_seconds}", option)
        for option in shlex.split(line)
    ]


def test_a_hung_test_ends_the_run_with_every_threads_stack(tmp_path):
    (tmp_path / "test_hangs.py").write_text(
        "import threading\n\n\ndef test_waits_for_ever():\n    threading.Event().wait()\n"
    )

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *_watchdog_options(2),
            "test_hangs.py",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode != 0, completed.stdout + completed.stderr
    assert "Timeout (0:00:02)!" in completed.stderr, completed.stderr
    assert 'test_hangs.py", line 5 in test_waits_for_ever' in completed.stderr, completed.stderr
