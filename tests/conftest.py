"""Shared fixtures; every test is marked by the folder it lives in (unit, integration, e2e)."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# `make soak`: the property-based tests with a budget for finding what `make test` has not (yet).
settings.register_profile("soak", max_examples=30_000, deadline=None)

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "nfw_blocklist" / "samples"


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
