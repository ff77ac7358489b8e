"""Domains (issue 12) through BlocklistService, against moto and the stateful domain-list emulator: the
same guarantees as IP hosts (retention, refresh, manual, eviction, pruning, drift repair, coalescing)."""

import threading

import boto3
import pytest

from handlers import schema
from handlers.domains import canonical_domain
from handlers.enforcement import CAPACITY_OVERHEAD, CAPACITY_PER_DOMAIN, domain_list_capacity
from handlers.errors import InvalidInput
from handlers.service import BlocklistService
from handlers.settings import CapacityPolicy
from nfw_blocklist import emulator
from nfw_blocklist.findings import (
    dns_finding,
    documentation_domains,
    documentation_hosts,
    ip_and_domain_finding,
    native_finding,
)
from tests.integration import stack
from tests.integration.stack import FakeTime

DOMAIN = "guarddutyc2activityb.com"


@pytest.fixture
def domains(group: str) -> str:
    """A stateful domain-list group beside the stateless one; its ARN."""
    return stack.create_domain_group()


def test_a_dns_finding_blocks_its_domain_in_the_stateful_group(group: str, domains: str) -> None:
    service = stack.domain_service(group, domains)

    recorded = service.record(dns_finding(DOMAIN))
    blocked = service.block(recorded)

    assert recorded["new"] == [DOMAIN]
    assert blocked["blocked"] == [DOMAIN]
    assert blocked["notification"]["Domains"] == [DOMAIN]
    assert blocked["notification"]["Hosts"] == []
    assert stack.domains_in_group(domains) == {DOMAIN}
    assert stack.blocked_in_group(group) == set()  # a domain never reaches the IP rules
    assert service.ledger.pending_hosts() == {}


def test_with_domain_blocking_off_a_dns_finding_blocks_nothing(group: str, domains: str) -> None:
    service = stack.service(group)
    recorded = service.record(dns_finding(DOMAIN))
    assert recorded["has_hosts"] is False
    assert [skip["reason"] for skip in recorded["skipped"]] == ["no-remote-ip"]
    assert stack.domains_in_group(domains) == set()


def test_a_re_sighting_refreshes_the_domain_instead_of_adding_it_again(
    group: str, domains: str, fake_time: FakeTime
) -> None:
    service = stack.domain_service(group, domains)
    service.block(service.record(dns_finding(DOMAIN, seen_at=fake_time.now - 60)))
    first = service.ledger.get(DOMAIN)
    fake_time.advance(3600)

    again = service.record(dns_finding(DOMAIN, seen_at=fake_time.now - 1))
    outcome = service.block(again)

    assert (again["new"], again["refreshed"]) == ([], [DOMAIN])
    assert outcome["updates"] == 0
    record = service.ledger.get(DOMAIN)
    assert first is not None and record is not None
    assert record.expires_at == first.expires_at + 3600 and len(record.finding_ids) == 2


def test_concurrent_executions_lose_no_domain_and_coalesce_updates(group: str, domains: str) -> None:
    """GIVEN 32 execution environments WHEN a burst of DNS findings (stack.DOMAIN_BURST) arrives at once
    THEN every domain is blocked."""
    latency = (0.005, 0.02)
    hurried = stack.HurriedTime()
    emulator.faults().set(latency={"DescribeRuleGroup": latency, "UpdateRuleGroup": latency}, seed=1)
    names = documentation_domains(stack.DOMAIN_BURST)
    queue = list(names)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def environment() -> None:
        service = stack.on_time(stack.domain_service(group, domains), hurried)
        while True:
            with lock:
                if not queue:
                    return
                name = queue.pop()
            try:
                service.block(service.record(dns_finding(name)))
            except BaseException as error:  # collected and re-raised by the test below
                failures.append(error)

    threads = [threading.Thread(target=environment) for _ in range(stack.BURST_ENVIRONMENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    counts = emulator.counters().snapshot().as_dict()
    print(f"\ndomain concurrency: domains={len(names)} threads={len(threads)} {counts}")
    assert failures == []
    assert stack.domains_in_group(domains) == set(names)
    # Coalesced: under the lease one round of 32 takes 2 or 3 updates (160 domains took 39 to 47);
    # writers without the lease made 20 and 24 for 32.
    assert counts["calls"]["UpdateRuleGroup"] < len(names) // 2
    assert stack.domain_service(group, domains).ledger.pending_hosts() == {}


def test_injected_token_conflicts_and_throttling_still_converge_for_domains(
    group: str, domains: str, fake_time: FakeTime
) -> None:
    emulator.faults().set(token_conflict_rate=0.5, throttle_next=4, seed=3)
    names = documentation_domains(10)
    for name in names:
        service = stack.on_time(stack.domain_service(group, domains), fake_time)  # backoffs: fake clock
        service.block(service.record(dns_finding(name)))

    counts = emulator.counters().snapshot().as_dict()
    assert counts["throttles"] == 4
    assert counts["injected_token_conflicts"] > 0
    assert stack.domains_in_group(domains) == set(names)


def test_a_full_domain_group_evicts_the_oldest_finding_domain_never_a_manual_one(
    group: str, fake_time: FakeTime
) -> None:
    full = stack.create_domain_group(capacity=domain_list_capacity(3), name="full-domains")
    service = stack.domain_service(group, full)
    service.manual_block("manual.blocklist.example", reason="by hand")  # oldest, but never evicted
    oldest, middle, newest = documentation_domains(3)
    for name in (oldest, middle):
        fake_time.advance(60)
        service.block(service.record(dns_finding(name, seen_at=fake_time.now)))
    fake_time.advance(60)

    outcome = service.block(service.record(dns_finding(newest, seen_at=fake_time.now)))

    assert outcome["evicted"] == [oldest]
    assert stack.domains_in_group(full) == {"manual.blocklist.example", middle, newest}
    assert service.ledger.get(oldest) is None


def test_a_full_domain_group_with_refuse_takes_the_new_domain_back(group: str) -> None:
    full = stack.create_domain_group(capacity=domain_list_capacity(1), name="tiny-domains")
    service = stack.domain_service(group, full, on_capacity_full=CapacityPolicy.REFUSE)
    service.block(service.record(dns_finding("first.blocklist.example")))

    outcome = service.block(service.record(dns_finding("second.blocklist.example")))

    assert (outcome["failed"], outcome["kinds"]["domain"]["error"]) == (True, "CapacityExceeded")
    assert outcome["notification"]["Blocked"] == "false"
    assert stack.domains_in_group(full) == {"first.blocklist.example"}
    assert service.ledger.get("second.blocklist.example") is None


def test_pruning_removes_an_expired_domain_and_keeps_the_ip_hosts(
    group: str, domains: str, fake_time: FakeTime
) -> None:
    service = stack.domain_service(group, domains, retention_minutes=60)
    service.block(service.record(dns_finding(DOMAIN)))
    service.block(service.record(native_finding("198.51.100.7")))
    fake_time.advance(3601)
    service.block(service.record(native_finding("198.51.100.8")))  # recorded later: not expired

    pruned = service.prune()

    assert pruned["pruned"] == ["198.51.100.7/32", DOMAIN]
    assert stack.domains_in_group(domains) == set()
    assert stack.blocked_in_group(group) == {"198.51.100.8/32"}


def test_an_ip_prune_never_takes_a_domain_for_a_protected_host(group: str, domains: str) -> None:
    # GIVEN a domain blocked by a domain-enabled function WHEN a function without domain blocking prunes
    stack.domain_service(group, domains).block(
        stack.domain_service(group, domains).record(dns_finding(DOMAIN))
    )

    outcome = stack.service(group).prune()

    # THEN the domain is not "protected" (the IP writer owns only IP hosts): it stays in ledger and group
    assert outcome["protected"] == []
    assert stack.service(group).ledger.get(DOMAIN) is not None
    assert stack.domains_in_group(domains) == {DOMAIN}


def test_prune_repairs_drift_between_the_ledger_and_the_domain_group(group: str, domains: str) -> None:
    service = stack.domain_service(group, domains)
    service.block(service.record(dns_finding(DOMAIN)))
    nfw = boto3.client("network-firewall")
    described = nfw.describe_rule_group(RuleGroupArn=domains, Type="STATEFUL")
    edited = described["RuleGroup"]
    edited["RulesSource"]["RulesSourceList"]["Targets"] = ["by-hand.blocklist.example"]
    nfw.update_rule_group(
        RuleGroupArn=domains, Type="STATEFUL", UpdateToken=described["UpdateToken"], RuleGroup=edited
    )
    assert service.status()["domains"]["points"]["network-firewall"]["not_in_ledger"] == [
        "by-hand.blocklist.example"
    ]

    outcome = service.prune()

    assert outcome["drift"]["added"] == [DOMAIN]
    assert outcome["drift"]["removed"] == ["by-hand.blocklist.example"]
    assert stack.domains_in_group(domains) == {DOMAIN}
    status = service.status()["domains"]
    assert status["count"] == 1
    assert status["points"]["network-firewall"]["missing_from_point"] == []
    assert status["points"]["network-firewall"]["max_domains"] == 1000


def test_an_operator_blocks_and_unblocks_a_domain_by_hand(group: str, domains: str) -> None:
    service = stack.domain_service(group, domains)

    blocked = service.manual_block("Evil.Example.", reason="phishing kit")
    assert blocked["host"] == "evil.example"
    assert stack.domains_in_group(domains) == {"evil.example"}
    record = service.ledger.get("evil.example")
    assert record is not None and record.source == "manual"

    unblocked = service.unblock("EVIL.example")
    assert unblocked["was_blocked"] is True
    assert stack.domains_in_group(domains) == set()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("s3.amazonaws.com", "protected domain amazonaws.com"),
        ("*.evil.example", "wildcard"),
        ("com", "top-level domain"),
    ],
)
def test_an_operator_cannot_block_a_protected_or_malformed_domain(
    group: str, domains: str, value: str, message: str
) -> None:
    service = stack.domain_service(group, domains)
    with pytest.raises(InvalidInput, match=message):
        service.manual_block(value, reason="no")
    assert stack.domains_in_group(domains) == set()
    assert service.list_hosts() == []


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("straße.de", "xn--strae-oqa.de"),
        ("ab--cd.example", "ab--cd.example"),
        ("xn--zz.example", "xn--zz.example"),
        ("c2-staging.s3.amazonaws.com", "c2-staging.s3.amazonaws.com"),
        ("a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"),
    ],
)
def test_an_operator_blocks_a_name_the_old_rules_refused_exactly_as_looked_up(
    group: str, domains: str, value: str, stored: str
) -> None:
    service = stack.domain_service(group, domains)

    assert service.manual_block(value, reason="c2")["host"] == stored
    assert stack.domains_in_group(domains) == {stored}


@pytest.mark.parametrize("domain", ["straße.de", "ab--cd.example", "c2-staging.s3.amazonaws.com"])
def test_a_dns_finding_naming_such_a_name_blocks_exactly_it(group: str, domains: str, domain: str) -> None:
    service = stack.domain_service(group, domains)

    blocked = service.block(service.record(dns_finding(domain)))

    assert blocked["blocked"] == [canonical_domain(domain)]
    assert stack.domains_in_group(domains) == {canonical_domain(domain)}


def test_a_name_the_domain_group_cannot_hold_is_refused_by_hand_saying_why(group: str, domains: str) -> None:
    service = stack.domain_service(group, domains)

    with pytest.raises(InvalidInput, match="Network Firewall domain lists are held to host names"):
        service.manual_block("_dmarc.evil.example", reason="no")
    recorded = service.record(dns_finding("_dmarc.evil.example"))
    assert [skip["reason"] for skip in recorded["skipped"]] == ["unenforceable-domain"]
    assert stack.domains_in_group(domains) == set()


def test_a_domain_cannot_be_blocked_by_hand_while_domain_blocking_is_off(group: str) -> None:
    with pytest.raises(InvalidInput, match="domain blocking is off"):
        stack.service(group).manual_block("evil.example", reason="no")


def test_the_writer_refuses_a_domain_group_that_is_not_a_deny_list(group: str) -> None:
    nfw = boto3.client("network-firewall")
    allow = nfw.create_rule_group(
        RuleGroupName="allow-domains",
        Type="STATEFUL",
        Capacity=100,
        RuleGroup={
            "RulesSource": {
                "RulesSourceList": {
                    "Targets": ["ok.example"],
                    "TargetTypes": ["TLS_SNI"],
                    "GeneratedRulesType": "ALLOWLIST",
                }
            }
        },
    )["RuleGroupResponse"]["RuleGroupArn"]
    service = stack.domain_service(group, allow)
    recorded = service.record(dns_finding(DOMAIN))
    outcome = service.block(recorded)
    assert outcome["kinds"]["domain"]["error"] == "ConfigurationError"
    assert "is not a DENYLIST or ALERTLIST domain list" in outcome["kinds"]["domain"]["reason"]


def test_domains_and_ip_hosts_take_different_leases(group: str, domains: str) -> None:
    service: BlocklistService = stack.domain_service(group, domains)
    service.block(service.record(dns_finding(DOMAIN)))
    service.block(service.record(native_finding("198.51.100.7")))
    table = boto3.client("dynamodb")
    keys = {schema.LEASE_KEY, schema.DOMAIN_LEASE_KEY}
    found = {
        key
        for key in keys
        if "Item" in table.get_item(TableName=stack.TABLE, Key={schema.HASH_KEY: {"S": key}})
    }
    assert found == keys
    assert [record.host for record in service.list_hosts()] == [DOMAIN, "198.51.100.7/32"]


def test_capacity_arithmetic_matches_the_emulators_independent_count() -> None:
    assert domain_list_capacity(1000) == 2002
    assert (CAPACITY_PER_DOMAIN, CAPACITY_OVERHEAD) == (2, 2)


# --- issue 18 item 4: each kind of target succeeds or fails on its own -------------------------------
def test_with_the_domain_group_full_the_ip_is_blocked_and_only_the_domain_is_reported_not_blocked(
    group: str,
) -> None:
    # GIVEN a domain group with room for one domain, full, and onCapacityFull refuse
    full = stack.create_domain_group(capacity=domain_list_capacity(1), name="tiny-domains")
    service = stack.domain_service(group, full, on_capacity_full=CapacityPolicy.REFUSE)
    service.block(service.record(dns_finding("first.blocklist.example")))

    # WHEN a finding names an IP and another domain
    outcome = service.block(service.record(ip_and_domain_finding("198.51.100.7", "second.blocklist.example")))

    # THEN the IP is blocked and reported blocked; the domain is refused, taken back, and reported as the
    # domain that failed, in the domain group
    assert stack.blocked_in_group(group) == {"198.51.100.7/32"}
    assert stack.domains_in_group(full) == {"first.blocklist.example"}
    assert service.ledger.get("second.blocklist.example") is None
    assert outcome["failed"] is True
    address, domain = outcome["kinds"]["address"], outcome["kinds"]["domain"]
    assert (address["status"], address["blocked"]) == ("blocked", ["198.51.100.7/32"])
    assert (domain["status"], domain["error"], domain["not_blocked"]) == (
        "failed",
        "CapacityExceeded",
        ["second.blocklist.example"],
    )
    assert domain["where"] == "domain rule group tiny-domains"
    notification = outcome["notification"]
    assert (notification["Blocked"], notification["Hosts"], notification["Domains"]) == (
        "partial",
        ["198.51.100.7/32"],
        [],
    )
    [failure] = notification["NotBlocked"]
    assert (failure["Kind"], failure["Targets"], failure["Where"], failure["Error"]) == (
        "domain",
        ["second.blocklist.example"],
        "domain rule group tiny-domains",
        "CapacityExceeded",
    )
    email = outcome["message"]["email"]
    assert email.startswith("Blocked 198.51.100.7/32 (")
    assert "NOT blocked: domain second.blocklist.example in domain rule group tiny-domains" in email
    assert "198.51.100.7/32 could not" not in email


def test_with_the_ip_group_full_the_domain_is_blocked_at_once(aws: object, fake_time: FakeTime) -> None:
    # GIVEN an IP group with room for one host, full, and onCapacityFull refuse
    stack.create_table()
    ip_group = stack.create_rule_group(capacity=3, rules=[])
    domains = stack.create_domain_group()
    service = stack.domain_service(ip_group, domains, on_capacity_full=CapacityPolicy.REFUSE)
    service.block(service.record(native_finding("198.51.100.1")))

    # WHEN a finding names another IP and a domain
    outcome = service.block(service.record(ip_and_domain_finding("198.51.100.7", DOMAIN)))

    # THEN the domain is in its group and confirmed now, not left pending for a prune to find as drift
    assert stack.domains_in_group(domains) == {DOMAIN}
    record = service.ledger.get(DOMAIN)
    assert record is not None and not record.pending
    assert outcome["kinds"]["domain"]["blocked"] == [DOMAIN]
    assert outcome["kinds"]["address"]["error"] == "CapacityExceeded"
    assert outcome["kinds"]["address"]["not_blocked"] == ["198.51.100.7/32"]
    assert outcome["notification"]["Domains"] == [DOMAIN]
    assert outcome["notification"]["Input"] == {
        **outcome["notification"]["Input"],
        "HostIp": "",
        "Domain": DOMAIN,
    }
    assert service.prune()["drift"]["added_count"] == 0


def test_a_prune_reads_each_ledger_item_once_for_both_kinds(
    group: str, domains: str, fake_time: FakeTime
) -> None:
    """Issue 18 item 10: the IP and the domain writer share one read of the ledger (they each read it all)."""
    service = stack.domain_service(group, domains)
    hosts, names = documentation_hosts(30), documentation_domains(20)
    for host in hosts:
        service.record(native_finding(host, seen_at=fake_time.now - 60))
    for name in names:
        service.record(dns_finding(name, seen_at=fake_time.now - 60))
    service.prune()  # folds every pending host in: the next prune finds ledger and groups agreeing
    fresh = stack.domain_service(group, domains)

    outcome = fresh.prune()

    assert (outcome["drift"]["added_count"], outcome["drift"]["removed_count"]) == (0, 0)
    assert fresh.ledger.counts.items_read == len(hosts) + len(names)
    assert stack.domains_in_group(domains) == set(names)
    assert stack.blocked_in_group(group) == {f"{host}/32" for host in hosts}


def test_a_prune_s_older_ledger_read_never_drops_a_domain_blocked_since(group: str, domains: str) -> None:
    """The domain writer reads its points after the IP writer is done, later than the prune's ledger read."""
    pruner, sighter = stack.domain_service(group, domains), stack.domain_service(group, domains)
    snapshot = pruner.ledger.all_records()
    sighter.block(sighter.record(dns_finding(DOMAIN)))  # recorded and written after the read

    outcome = pruner.domain_writer.sync(full=True, snapshot=snapshot)  # type: ignore[union-attr]

    assert outcome.removed == [] and outcome.updates == 0
    assert stack.domains_in_group(domains) == {DOMAIN}


def test_a_prune_s_older_ledger_read_never_writes_back_a_domain_unblocked_since(
    group: str, domains: str
) -> None:
    pruner, operator = stack.domain_service(group, domains), stack.domain_service(group, domains)
    pruner.block(pruner.record(dns_finding(DOMAIN)))
    snapshot = pruner.ledger.all_records()
    operator.unblock(DOMAIN)  # after the read

    outcome = pruner.domain_writer.sync(full=True, snapshot=snapshot)  # type: ignore[union-attr]

    assert outcome.added == [] and outcome.updates == 0
    assert stack.domains_in_group(domains) == set()
