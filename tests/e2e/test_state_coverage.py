"""Every state of both workflows is entered by at least one e2e test (judged from execution histories).

This test runs last (see conftest.py) and reads what every sandbox execution of the session
reported; run on a subset of the suite it skips, since coverage of a subset proves nothing.
"""

import json
import os

import pytest

from tests.coverage_evidence import write_coverage_evidence


def test_every_state_of_both_workflows_is_entered(state_coverage, dev_render):
    if not state_coverage.all_e2e_selected:
        pytest.skip("state coverage is only judged when the whole e2e suite runs")
    declared = {
        resource.state.get("name") or resource.name: set(json.loads(resource.inputs["definition"])["States"])
        for resource in dev_render.of_type("aws:sfn/stateMachine:StateMachine")
    }
    assert len(declared) == 2
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Under pytest-xdist (make test) the other worker's executions are not in this process: leave
        # what is declared and entered here; tests/conftest.py judges the union when every worker is done.
        write_coverage_evidence(declared, state_coverage.entered, judge=True)
        return

    never_entered = {
        machine: sorted(states - set(state_coverage.entered.get(machine, {})))
        for machine, states in declared.items()
    }

    assert never_entered == {machine: [] for machine in declared}, (
        f"states no e2e test entered: {never_entered}"
    )
