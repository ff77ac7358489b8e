"""``nfw-blocklist demo``: the README's first command."""

import time


def test_the_demo_blocks_notifies_and_prunes_the_reference_host_in_well_under_a_minute(run_cli):
    started = time.monotonic()

    result = run_cli("demo")

    assert result.status == 0, result.err
    assert time.monotonic() - started < 60
    out = result.out
    assert "priority 30000: from 198.51.100.0/32 to any -> aws:drop" in out
    assert "priority 30100: from any to 198.51.100.0/32 -> aws:drop" in out
    assert '"Blocked": "true"' in out
    assert '"HostIp": "198.51.100.0"' in out
    assert "pruned 198.51.100.0/32" in out
    assert "ledger now holds 0 host(s)" in out
    assert "Done: blocked, notified and pruned" in out
