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
    assert "unblocked: 198.51.100.0/32" in out  # the analyst's Unblock (false pos), before the prune
    assert "pruned guarddutyc2activityb.com" in out
    assert "ledger now holds 0 host(s)" in out
    assert "Done: blocked, notified and pruned" in out


def sections(out: str) -> dict[str, list[str]]:
    """The demo's output by section heading (``== heading``), each section's lines."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if line.startswith("== "):
            current = found.setdefault(line[3:], [])
        elif line:
            current.append(line)
    return found


def test_advancing_the_clock_shows_only_what_the_prune_sent_and_the_ledger_reads_without_raw_items(run_cli):
    out = sections(run_cli("demo").out)

    after = next(lines for heading, lines in out.items() if heading.startswith("Advancing the clock"))
    assert [line for line in after if "e-mail:" in line] == [
        "   e-mail: nfw-blocklist: unblocked domain guarddutyc2activityb.com"
    ]
    unblock = next(lines for heading, lines in out.items() if heading.startswith("An analyst picks"))
    assert "   rule group drops: nothing" in unblock
    assert any("1 host(s) unblocked, custom action Unblock (false pos)" in line for line in unblock)
    ledger = out["Ledger (DynamoDB)"]
    assert not [line for line in ledger if "item:" in line or "{" in line]
