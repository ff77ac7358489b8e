"""The e2e state-coverage check across pytest-xdist workers (``make test`` runs two).

Each worker's executions are seen only in its own process, so each worker writes the states it saw
entered, and the worker that runs ``test_every_state_of_both_workflows_is_entered`` also writes the
states the two workflows declare. The controller (``tests/conftest.py``) judges the union once every
worker is done, and fails the session if a declared state was never entered.
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DIRECTORY_VARIABLE = "NFW_STATE_COVERAGE_DIR"


def write_coverage_evidence(
    declared: Mapping[str, set[str]] | None, entered: Mapping[str, Mapping[str, Any]], judge: bool = False
) -> None:
    directory = os.environ.get(DIRECTORY_VARIABLE)
    if not directory:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    document = {
        "declared": {machine: sorted(states) for machine, states in (declared or {}).items()},
        "entered": {machine: sorted(states) for machine, states in entered.items()},
        "judge": judge,
    }
    name = f"{worker}-judge.json" if judge else f"{worker}.json"
    (Path(directory) / name).write_text(json.dumps(document))


def never_entered(directory: Path) -> dict[str, list[str]] | None:
    """Declared states no worker entered, per state machine; None if no worker ran the check."""
    documents = [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]
    declared = {m: set(s) for doc in documents if doc["judge"] for m, s in doc["declared"].items()}
    if not declared:
        return None
    entered: dict[str, set[str]] = {}
    for doc in documents:
        for machine, states in doc["entered"].items():
            entered.setdefault(machine, set()).update(states)
    return {machine: sorted(states - entered.get(machine, set())) for machine, states in declared.items()}
