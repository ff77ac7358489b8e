"""The handlers' use cases against moto's DynamoDB and the rule-group emulator."""

import threading

import boto3
import pytest

from handlers import clock
from handlers.errors import InvalidInput
from handlers.payloads import SAMPLE_SIZE
from handlers.rules import METRIC_ACTION_NAME
from handlers.service import BlocklistService
from handlers.settings import CapacityPolicy
from handlers.writer import STALE_PENDING_SECONDS
from nfw_blocklist import emulator
from nfw_blocklist.findings import documentation_hosts, native_finding, port_probe_finding, sample
from tests.integration import stack
from tests.integration.stack import START, FakeTime

HOUR = 3600.0


def block_host(arn: str, host: str, **overrides: object) -> dict[str, object]:
    service = stack.service(arn, **overrides)
    recorded = service.record(native_finding(host, seen_at=clock.now()))
    return service.block(recorded)


def test_reference_finding_is_recorded_blocked_both_ways_and_notified(
    group: str, reference_event: dict
) -> None:
    service = stack.service(group)

    recorded = service.record(reference_event)
    outcome = service.block(recorded)

    assert recorded["new"] == ["198.51.100.0/32"]
    assert stack.blocked_in_group(group) == {"198.51.100.0/32"}
    assert outcome["notify"] is True
    assert outcome["notification"]["Blocked"] == "true"
    assert outcome["notification"]["Input"]["HostIp"] == "198.51.100.0"
    assert outcome["notification"]["Input"]["FindingId"].endswith("/finding/1234680e481690b44f7cc7e221abcdef")


def test_owned_rules_drop_and_publish_the_metric_at_both_priorities(group: str) -> None:
    block_host(group, "203.0.113.9")

    owned = {rule["Priority"]: rule for rule in stack.rules_of(group) if rule["Priority"] >= 30000}

    assert owned[30000]["RuleDefinition"]["MatchAttributes"] == {
        "Sources": [{"AddressDefinition": "203.0.113.9/32"}]
    }
    assert owned[30100]["RuleDefinition"]["MatchAttributes"] == {
        "Destinations": [{"AddressDefinition": "203.0.113.9/32"}]
    }
    assert owned[30000]["RuleDefinition"]["Actions"] == ["aws:drop", METRIC_ACTION_NAME]


def test_rules_the_solution_does_not_own_are_kept(group: str) -> None:
    block_host(group, "203.0.113.9")

    assert stack.FOREIGN_RULE in stack.rules_of(group)


def test_ipv6_hosts_are_blocked_as_128s(group: str) -> None:
    block_host(group, "2001:DB8::7")

    assert stack.blocked_in_group(group) == {"2001:db8::7/128"}


def test_port_probe_blocks_every_remote_host(group: str) -> None:
    service = stack.service(group)

    service.block(service.record(sample("guardduty-native-portprobe.json")))

    assert len(stack.blocked_in_group(group)) == 3


def test_a_re_seen_host_is_refreshed_not_duplicated(group: str, fake_time: FakeTime) -> None:
    service = stack.service(group)
    service.block(service.record(native_finding("203.0.113.9", finding_id="first")))
    fake_time.advance(HOUR)

    again = service.record(native_finding("203.0.113.9", finding_id="second"))
    outcome = service.block(again)

    assert again["new"] == [] and again["refreshed"] == ["203.0.113.9/32"]
    assert outcome["notify"] is False
    [record] = service.list_hosts()
    assert record.finding_ids == ("first", "second")
    assert record.expires_at == START + HOUR + 720 * 60
    assert stack.rules_of(group).count(stack.rules_of(group)[-1]) == 1


def test_a_host_seen_again_writes_no_update(group: str) -> None:
    block_host(group, "203.0.113.9")
    before = emulator.counters().snapshot().as_dict()

    outcome = block_host(group, "203.0.113.9")

    assert outcome["updates"] == 0
    after = emulator.counters().snapshot().as_dict()
    assert after["calls"]["UpdateRuleGroup"] == before["calls"]["UpdateRuleGroup"]


def test_protected_hosts_are_skipped_with_reason_and_never_ruled(group: str) -> None:
    service = stack.service(group)

    recorded = service.record(native_finding("169.254.169.254"))

    assert recorded["has_hosts"] is False
    assert recorded["skipped"][0]["reason"] == "protected"
    assert stack.blocked_in_group(group) == set()


def test_concurrent_executions_lose_no_host_and_coalesce_updates(group: str) -> None:
    """GIVEN 32 execution environments WHEN a burst of findings (stack.BURST) arrives at once THEN every
    host is blocked."""
    latency = (0.005, 0.02)
    emulator.faults().set(latency={"DescribeRuleGroup": latency, "UpdateRuleGroup": latency}, seed=1)
    hosts = documentation_hosts(stack.BURST)
    queue = list(hosts)
    lock = threading.Lock()
    failures: list[BaseException] = []

    services: list[BlocklistService] = []

    def environment() -> None:
        service = stack.service(group)
        services.append(service)
        while True:
            with lock:
                if not queue:
                    return
                host = queue.pop()
            try:
                service.block(service.record(native_finding(host)))
            except BaseException as error:  # collected and re-raised by the test below
                failures.append(error)

    threads = [threading.Thread(target=environment) for _ in range(stack.BURST_ENVIRONMENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    counts = emulator.counters().snapshot().as_dict()
    read_per_finding = sum(s.ledger.counts.items_read for s in services) / len(hosts)
    print(
        f"\nconcurrency: hosts={len(hosts)} threads={len(threads)} {counts}"
        f" items read per finding {read_per_finding:.1f}"
    )
    assert failures == []
    assert stack.blocked_in_group(group) == {f"{host}/32" for host in hosts}
    assert counts["calls"]["UpdateRuleGroup"] < len(hosts)
    assert stack.service(group).ledger.pending_hosts() == {}


def test_injected_token_conflicts_and_throttling_still_converge(group: str, fake_time: FakeTime) -> None:
    emulator.faults().set(token_conflict_rate=0.5, throttle_next=4, seed=3)
    hosts = documentation_hosts(20)

    for host in hosts:
        service = stack.service_on(group, fake_time)  # its backoffs pass on the fake clock
        service.block(service.record(native_finding(host, seen_at=clock.now())))

    counts = emulator.counters().snapshot().as_dict()
    assert counts["throttles"] == 4
    assert counts["injected_token_conflicts"] > 0
    assert stack.blocked_in_group(group) == {f"{host}/32" for host in hosts}


def test_a_crash_after_the_ledger_write_is_healed_by_the_next_blocking_run(
    group: str, fake_time: FakeTime
) -> None:
    crashed = stack.service(group)
    crashed.record(native_finding("203.0.113.1"))  # the block step never runs
    fake_time.advance(STALE_PENDING_SECONDS)

    block_host(group, "203.0.113.2")

    assert stack.blocked_in_group(group) == {"203.0.113.1/32", "203.0.113.2/32"}


def test_a_crash_after_the_ledger_write_is_healed_by_the_next_prune(group: str) -> None:
    stack.service(group).record(native_finding("203.0.113.1"))

    outcome = stack.service(group).prune()

    assert outcome["drift"]["added"] == ["203.0.113.1/32"]
    assert stack.blocked_in_group(group) == {"203.0.113.1/32"}


def test_pruning_removes_every_expired_host_across_pages(group: str, fake_time: FakeTime) -> None:
    hosts = documentation_hosts(25)
    for host in hosts:
        block_host(group, host)
    fake_time.advance(HOUR)
    block_host(group, "203.0.113.200")
    fake_time.advance(720 * 60 - HOUR / 2)
    service = stack.service(group)
    service.ledger.page_size = 7

    outcome = service.prune()

    assert outcome["counts"]["pruned"] == len(hosts)
    assert outcome["pruned"] == sorted(f"{host}/32" for host in hosts)[:SAMPLE_SIZE]
    assert service.ledger.counts.by_operation["Query"] >= 4
    assert stack.blocked_in_group(group) == {"203.0.113.200/32"}
    assert [record.host for record in service.list_hosts()] == ["203.0.113.200/32"]


def test_pruning_the_last_host_leaves_no_owned_rule(group: str, fake_time: FakeTime) -> None:
    block_host(group, "203.0.113.9")
    fake_time.advance(721 * 60)

    stack.service(group).prune()

    assert stack.rules_of(group) == [stack.FOREIGN_RULE]


def test_a_host_recorded_again_before_its_removal_is_planned_stays(group: str) -> None:
    block_host(group, "203.0.113.9")
    service = stack.service(group)

    # The ledger holds the host again when the removal plans, as when a finding re-records it (or an
    # operator blocks it by hand) after an unblock, a release or a prune took its item: it never leaves.
    outcome = service.writer.sync(remove=["203.0.113.9/32"])

    assert outcome.removed == [] and outcome.restored == []
    assert stack.blocked_in_group(group) == {"203.0.113.9/32"}


def test_a_full_group_evicts_the_host_seen_longest_ago(aws: object, fake_time: FakeTime) -> None:
    stack.create_table()
    arn = stack.create_rule_group(capacity=8 + 6)  # the foreign rule costs 2x1x..x2 = 2: room for 6 hosts
    for host in documentation_hosts(6):
        block_host(arn, host)
        fake_time.advance(60)

    outcome = block_host(arn, "203.0.113.9")

    assert outcome["evicted"] == ["198.18.0.1/32"]
    assert outcome["notification"]["Evicted"] == ["198.18.0.1/32"]
    assert "203.0.113.9/32" in stack.blocked_in_group(arn)
    assert "198.18.0.1/32" not in {r.host for r in stack.service(arn).list_hosts()}


def test_a_full_group_never_evicts_a_host_the_finding_being_blocked_names_again(
    aws: object, fake_time: FakeTime
) -> None:
    stack.create_table()
    arn = stack.create_rule_group(capacity=8 + 6)  # room for 6 hosts
    for host in documentation_hosts(6):
        block_host(arn, host)
        fake_time.advance(60)
    service = stack.service(arn)

    # The finding names the host seen longest ago again (its sighting is no newer) and a new one.
    outcome = service.block(service.record(port_probe_finding(["198.18.0.1", "203.0.113.9"])))

    assert outcome["refreshed"] == ["198.18.0.1/32"]
    assert outcome["evicted"] == ["198.18.0.2/32"]
    assert {"198.18.0.1/32", "203.0.113.9/32"} <= stack.blocked_in_group(arn)


def test_a_full_group_under_the_refuse_policy_fails_and_keeps_ledger_and_group_equal(
    aws: object, fake_time: FakeTime
) -> None:
    stack.create_table()
    arn = stack.create_rule_group(capacity=4, rules=[])
    block_host(arn, "198.18.0.1", on_capacity_full=CapacityPolicy.REFUSE)
    block_host(arn, "198.18.0.2", on_capacity_full=CapacityPolicy.REFUSE)

    outcome = block_host(arn, "203.0.113.9", on_capacity_full=CapacityPolicy.REFUSE)

    assert outcome["kinds"]["address"]["error"] == "CapacityExceeded"  # type: ignore[index]
    assert "do not fit" in outcome["kinds"]["address"]["reason"]  # type: ignore[index]

    assert {r.host for r in stack.service(arn).list_hosts()} == stack.blocked_in_group(arn)


def test_manual_edits_of_the_owned_rules_are_repaired_by_pruning(group: str) -> None:
    block_host(group, "203.0.113.9")
    tampered = [rule for rule in stack.rules_of(group) if rule["Priority"] != 30100]
    tampered.append(
        {
            "Priority": 30100,
            "RuleDefinition": {
                "MatchAttributes": {
                    "Destinations": [{"AddressDefinition": "10.0.0.0/8"}],
                    "DestinationPorts": [{"FromPort": 443, "ToPort": 443}],
                },
                # Our actions: a rule with other actions at an owned priority is someone else's (see
                # test_a_foreign_rule_at_a_configured_priority_is_refused_not_overwritten).
                "Actions": ["aws:drop", METRIC_ACTION_NAME],
            },
        }
    )
    token = stack.describe(group)["UpdateToken"]
    described = stack.describe(group)["RuleGroup"]
    described["RulesSource"]["StatelessRulesAndCustomActions"]["StatelessRules"] = tampered
    boto3.client("network-firewall").update_rule_group(
        RuleGroupArn=group, Type="STATELESS", UpdateToken=token, RuleGroup=described
    )

    outcome = stack.service(group).prune()

    assert outcome["drift"]["repaired"] is True
    assert stack.blocked_in_group(group) == {"203.0.113.9/32"}
    assert all("10.0.0.0/8" not in str(rule) for rule in stack.rules_of(group))


def test_manual_block_and_unblock_go_through_ledger_and_group(group: str) -> None:
    service = stack.service(group)

    service.manual_block("203.0.113.50", reason="incident 42")
    assert stack.blocked_in_group(group) == {"203.0.113.50/32"}

    outcome = service.unblock("203.0.113.50")
    assert outcome["was_blocked"] is True
    assert stack.blocked_in_group(group) == set()
    assert service.list_hosts() == []


@pytest.mark.parametrize("host", ["10.1.2.3", "::ffff:127.0.0.1", "0.0.0.0/0", "not-an-ip"])
def test_manual_block_refuses_protected_or_invalid_hosts_and_changes_nothing(group: str, host: str) -> None:
    service = stack.service(group)

    with pytest.raises(InvalidInput):
        service.manual_block(host, reason="typo")

    assert service.list_hosts() == []
    assert stack.rules_of(group) == [stack.FOREIGN_RULE]


def test_status_reports_capacity_sources_and_drift(group: str) -> None:
    block_host(group, "203.0.113.9")
    service = stack.service(group)
    service.manual_block("203.0.113.10", reason="by hand")
    service.record(native_finding("203.0.113.11"))  # recorded, never blocked

    status = service.status()

    assert status["capacity"] == {"used": 2 + 2 * 2, "total": 2000}
    assert status["by_source"] == {"finding": 2, "manual": 1}
    assert status["drift"]["missing_from_group"] == ["203.0.113.11/32"]


def test_a_re_seen_host_confirmed_in_the_ledger_costs_no_describe(group: str) -> None:
    block_host(group, "203.0.113.9")
    before = emulator.counters().snapshot().as_dict()["calls"]

    block_host(group, "203.0.113.9")

    after = emulator.counters().snapshot().as_dict()["calls"]
    assert after["DescribeRuleGroup"] == before["DescribeRuleGroup"]
    assert after["UpdateRuleGroup"] == before["UpdateRuleGroup"]


def test_the_environment_that_wrote_last_updates_without_describing(group: str) -> None:
    service = stack.service(group)
    service.block(service.record(native_finding("203.0.113.1")))
    before = emulator.counters().snapshot().as_dict()["calls"]

    service.block(service.record(native_finding("203.0.113.2")))

    after = emulator.counters().snapshot().as_dict()["calls"]
    assert after["DescribeRuleGroup"] == before["DescribeRuleGroup"]
    assert after["UpdateRuleGroup"] == before["UpdateRuleGroup"] + 1
    assert stack.blocked_in_group(group) == {"203.0.113.1/32", "203.0.113.2/32"}


def test_a_rule_added_by_hand_since_the_last_write_is_kept(group: str) -> None:
    service = stack.service(group)
    service.block(service.record(native_finding("203.0.113.1")))
    theirs = {
        "Priority": 20,
        "RuleDefinition": {
            "MatchAttributes": {"Sources": [{"AddressDefinition": "192.0.2.7/32"}]},
            "Actions": ["aws:pass"],
        },
    }
    described = stack.describe(group)
    described["RuleGroup"]["RulesSource"]["StatelessRulesAndCustomActions"]["StatelessRules"].append(theirs)
    boto3.client("network-firewall").update_rule_group(
        RuleGroupArn=group,
        Type="STATELESS",
        UpdateToken=described["UpdateToken"],
        RuleGroup=described["RuleGroup"],
    )

    service.block(service.record(native_finding("203.0.113.2")))

    assert theirs in stack.rules_of(group)
    assert stack.blocked_in_group(group) == {"203.0.113.1/32", "203.0.113.2/32"}
