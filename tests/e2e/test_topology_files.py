"""``replay --topology`` on hostile topology files (issue 18, item 9): exit 2 and one line naming the
problem, before anything is rendered or deployed, in bounded time and memory."""

from pathlib import Path

import pytest

from tests.unit.test_topology import HOSTILE_FILES

pytestmark = pytest.mark.e2e

EVENTS = Path(__file__).resolve().parents[2] / "nfw_blocklist" / "samples" / "topology-findings.json"


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_replay_refuses_a_hostile_topology_file_with_exit_two_and_one_line(run_cli, tmp_path, case):
    text, message = HOSTILE_FILES[case]
    path = tmp_path / ("topology.json" if case.startswith("json-") else "topology.yaml")
    path.write_text(text)

    result = run_cli("replay", "--topology", str(path), str(EVENTS))

    assert result.status == 2, result.err
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result.err
    assert message in result.err, result.err
