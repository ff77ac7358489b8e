"""Shared fixtures; every test is marked by the folder it lives in (unit, integration, e2e)."""

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.coverage_evidence import DIRECTORY_VARIABLE, never_entered

# `make soak`: the property-based tests with a budget for finding what `make test` has not (yet).
settings.register_profile("soak", max_examples=30_000, deadline=None)

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "nfw_blocklist" / "samples"
RENDER_CACHE_VARIABLE = "NFW_BLOCKLIST_CACHE_DIR"


def pytest_configure(config: pytest.Config) -> None:
    """As pytest-xdist's controller, give the workers a directory for their state-coverage evidence.

    Every process keeps the CLI's renders in a directory of its own (``nfw_blocklist.stacks``): a test
    run neither reads nor fills the user's cache.
    """
    os.environ[RENDER_CACHE_VARIABLE] = tempfile.mkdtemp(prefix="nfw-render-cache-")
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        os.environ[DIRECTORY_VARIABLE] = tempfile.mkdtemp(prefix="nfw-state-coverage-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """As pytest-xdist's controller, fail the session if the workers together missed a workflow state."""
    directory = os.environ.get(DIRECTORY_VARIABLE)
    if not directory or hasattr(session.config, "workerinput"):
        return
    missing = never_entered(Path(directory))
    if missing is not None and any(missing.values()):
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"FAILED state coverage: states no e2e test entered: {missing}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in {"unit", "integration", "e2e"}:
            item.add_marker(getattr(pytest.mark, folder))


@pytest.fixture
def load_sample() -> Callable[[str], Any]:
    """Load an event sample shipped in nfw_blocklist/samples by file name."""

    def load(name: str) -> Any:
        return json.loads((SAMPLES / name).read_text())

    return load


@pytest.fixture
def reference_event(load_sample: Callable[[str], Any]) -> dict[str, Any]:
    """The reference design's Security Hub finding (../shared/reference)."""
    event: dict[str, Any] = load_sample("securityhub-guardduty-c2-finding.json")
    return event
