"""``nfw-blocklist brake status|release`` in the sandbox (kept in a state file) and live (issue 21, 5)."""

import json

from nfw_blocklist.findings import documentation_hosts, port_probe_finding
from nfw_blocklist.render import render_stack
from nfw_blocklist.sandbox import Sandbox

CEILING = ("-c", "brakeMaxNewBlocks=2", "-c", "findingSource=both")


def test_brake_status_shows_the_refused_hosts_and_release_turns_it_off(run_cli, write_event, tmp_path):
    state = str(tmp_path / "sandbox.json")
    hosts = documentation_hosts(5)
    probe = write_event("probe.json", port_probe_finding(hosts))
    assert run_cli("replay", "--state", state, *CEILING, probe).status == 0

    status = run_cli("brake", "status", "--json", "--state", state, *CEILING).json
    assert (status["engaged"], status["new_blocks"], status["ceiling"]) == (True, 2, 2)
    assert status["refused"] == sorted(f"{host}/32" for host in hosts[2:])
    text = run_cli("brake", "status", "--state", state, *CEILING).out
    assert text.startswith("brake ON since ") and "refused 3: " in text

    released = run_cli("brake", "release", "--json", "--state", state, *CEILING).json
    assert released["released"] is True and released["before"]["refused_count"] == 3
    after = run_cli("brake", "status", "--json", "--state", state, *CEILING).json
    assert (after["engaged"], after["new_blocks"], after["refused"]) == (False, 0, [])
    listed = run_cli("list", "--json", "--state", state).json
    assert sorted(row["host"] for row in listed) == sorted(f"{host}/32" for host in hosts[:2])


def test_brake_status_live_reads_the_deployed_ceiling(run_cli, tmp_path):
    rendered = render_stack("dev", {"brakeMaxNewBlocks": "7"})
    with Sandbox(rendered):
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps(rendered.outputs))

        status = run_cli("brake", "status", "--live", "--stack-outputs", str(outputs), "--json")

    assert status.status == 0, status.err
    assert (status.json["engaged"], status.json["ceiling"]) == (False, 7)
