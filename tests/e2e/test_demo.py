"""``nfw-blocklist demo``: the README's first command."""

import time


def test_the_demo_blocks_cuts_and_prunes_the_reference_host_on_classic_then_next_generation_in_under_a_minute(
    run_cli,
):
    started = time.process_time()  # the demo's own CPU (it runs in this process), not the machine's load

    result = run_cli("demo")

    assert result.status == 0, result.err
    assert time.process_time() - started < 60
    out = result.out
    assert "priority 30000: from 198.51.100.0/32 to any -> aws:drop" in out
    assert "priority 30100: from any to 198.51.100.0/32 -> aws:drop" in out
    assert '"Blocked": "true"' in out
    assert '"HostIp": "198.51.100.0"' in out
    assert "unblocked: 198.51.100.0/32" in out  # the analyst's Unblock (false pos), before the prune
    assert "pruned guarddutyc2activityb.com" in out
    assert "ledger now holds 0 host(s)" in out
    assert "Done: blocked, notified and pruned" in out
    traffic = [
        line.strip() for line in sections(out)["Traffic: the same sessions after the findings, and new ones"]
    ]
    assert traffic[0].startswith(
        "C2 session to 198.51.100.0 (10.0.1.15:40000 -> 198.51.100.0:443): cut at packet 7"
    )
    assert "open before its block" in traffic[1] and "packets 1-10 passed" in traffic[1]
    assert "new TLS session to guarddutyc2activityb.com" in traffic[3] and "cut at packet 4" in traffic[3]
    after_prune = [line.strip() for line in sections(out)["Traffic: new sessions after the prune"]]
    assert after_prune[:2] == [
        "new connection to 198.51.100.0 (10.0.1.15:40004 -> 198.51.100.0:443): packets 1-6 passed",
        "new TLS session to guarddutyc2activityb.com (10.0.1.15:40005 -> 203.0.113.50:443): "
        "packets 1-7 passed",
    ]
    assert after_prune[2].endswith("(the dashboard's drop panel): 6")
    deployed = sections(out)[
        next(heading for heading in sections(out) if heading.startswith("Next Generation"))
    ]
    assert deployed[0].strip().endswith("(FIREWALL)") and "firewall-policy-v2/" in deployed[1]
    assert deployed[2].strip().endswith(":firewall/nfw-blocklist-demo-ng")  # the one flushFirewallArns names
    assert deployed[-1].strip() == (
        "C2 session to 198.51.100.0 (10.0.1.15:40000 -> 198.51.100.0:443): packets 1-6 passed"
    )
    blocked = [
        line.strip() for line in sections(out)["Next Generation: the reference finding, then the prune"]
    ]
    assert blocked[1:3] == [
        "$NFW_BLOCKLIST now holds: 198.51.100.0/32",
        "StartFlowFlush on nfw-blocklist-demo-ng: 1 operation(s) for 1 host(s), 0 failed",
    ]
    assert blocked[3].startswith(
        "C2 session to 198.51.100.0 (10.0.1.15:40000 -> 198.51.100.0:443): cut at packet 7"
    )
    assert "at IP_PRE_FLOW" in blocked[3]
    assert blocked[-2:] == [
        "$NFW_BLOCKLIST now holds: 100::/128 (the placeholder: nothing blocked)",
        "new connection to 198.51.100.0 (10.0.1.15:40002 -> 198.51.100.0:443): packets 1-6 passed",
    ]


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
