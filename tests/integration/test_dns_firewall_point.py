"""The dns-firewall enforcement point against the emulator, alone and under the domain writer."""

import copy
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.config import Config

from handlers.dns_firewall import DnsFirewallDomains
from handlers.enforcement import Clients
from handlers.errors import CapacityExceeded, ConfigurationError
from handlers.firewall import StaleToken, Transient
from handlers.service import BlocklistService
from handlers.settings import CapacityPolicy, DomainBlocking
from nfw_blocklist.emulator import dns_firewall
from tests.integration import stack

NO_RETRIES = Config(retries={"total_max_attempts": 1})
DOMAIN = "guarddutyc2activityb.com"


@pytest.fixture
def resolver(aws: object) -> Any:
    dns_firewall.install()
    dns_firewall.store().settle_seconds = 0.0
    return boto3.client("route53resolver", config=NO_RETRIES)


@pytest.fixture
def list_id(resolver: Any) -> str:
    return str(
        resolver.create_firewall_domain_list(CreatorRequestId="l", Name="blocklist")["FirewallDomainList"][
            "Id"
        ]
    )


@pytest.fixture
def point(resolver: Any, list_id: str) -> DnsFirewallDomains:
    return DnsFirewallDomains(list_id=list_id, _client=resolver, sleep=lambda _: None)


def stored(resolver: Any, list_id: str) -> set[str]:
    pages = resolver.get_paginator("list_firewall_domains").paginate(FirewallDomainListId=list_id)
    return {domain for page in pages for domain in page["Domains"]}


def update_calls() -> int:
    return int(dns_firewall.counters().snapshot().calls["UpdateFirewallDomains"])


def test_apply_adds_in_chunks_of_at_most_a_thousand(
    point: DnsFirewallDomains, resolver: Any, list_id: str
) -> None:
    domains = [f"d{i:04}.example" for i in range(2500)]
    point.apply(add=domains, remove=[])
    assert stored(resolver, list_id) == set(domains)
    assert update_calls() == 3


def test_current_reads_every_page(point: DnsFirewallDomains, resolver: Any, list_id: str) -> None:
    domains = [f"d{i:05}.example" for i in range(5001)]
    point.apply(add=domains, remove=[])
    assert point.current() == set(domains)
    assert dns_firewall.counters().snapshot().calls["ListFirewallDomains"] == 2


def test_apply_removes_without_touching_other_domains(
    point: DnsFirewallDomains, resolver: Any, list_id: str
) -> None:
    point.apply(add=["a.example", "b.example", "c.example"], remove=[])
    point.current()
    point.apply(add=["d.example"], remove=["b.example"])
    assert stored(resolver, list_id) == {"a.example", "c.example", "d.example"}


def test_a_repeated_delta_changes_nothing(point: DnsFirewallDomains, resolver: Any, list_id: str) -> None:
    point.apply(add=["a.example"], remove=["gone.example"])
    point.apply(add=["a.example"], remove=["gone.example"])
    assert stored(resolver, list_id) == {"a.example"}


def test_hand_written_spellings_read_canonical_and_are_removed_as_stored(
    point: DnsFirewallDomains, resolver: Any, list_id: str
) -> None:
    resolver.update_firewall_domains(
        FirewallDomainListId=list_id, Operation="ADD", Domains=["EVIL.example.", "*.wild.example"]
    )
    assert point.current() == {"evil.example", "*.wild.example"}
    point.apply(add=[], remove=["evil.example", "*.wild.example"])
    assert stored(resolver, list_id) == set()


def test_apply_waits_for_the_list_to_settle_before_each_update(resolver: Any, list_id: str) -> None:
    dns_firewall.store().settle_seconds = 0.2
    point = DnsFirewallDomains(
        list_id=list_id, _client=resolver
    )  # real sleeps: the list settles in real time
    point.apply(add=[f"d{i}.example" for i in range(1500)], remove=[])
    point.apply(add=["late.example"], remove=[])
    snapshot = dns_firewall.counters().snapshot()
    assert (snapshot.token_conflicts, snapshot.successful_updates) == (0, 3)
    assert "late.example" in stored(resolver, list_id)


def test_a_list_that_never_settles_is_transient(resolver: Any, list_id: str) -> None:
    dns_firewall.store().settle_seconds = 3600.0
    resolver.update_firewall_domains(FirewallDomainListId=list_id, Operation="ADD", Domains=["a.example"])
    ticks = iter(range(0, 10_000, 10))
    point = DnsFirewallDomains(
        list_id=list_id, _client=resolver, sleep=lambda _: None, monotonic=lambda: float(next(ticks))
    )
    with pytest.raises(Transient, match="UPDATING"):
        point.apply(add=["b.example"], remove=[])
    assert stored(resolver, list_id) == {"a.example"}


def test_a_conflicting_update_is_a_stale_token(point: DnsFirewallDomains) -> None:
    dns_firewall.faults().set(token_conflict_rate=1.0)
    with pytest.raises(StaleToken):
        point.apply(add=["a.example"], remove=[])


def test_throttling_is_transient(point: DnsFirewallDomains) -> None:
    dns_firewall.faults().set(throttle_next=1)
    with pytest.raises(Transient, match="ThrottlingException"):
        point.current()


def test_the_account_quota_is_capacity_exceeded(point: DnsFirewallDomains) -> None:
    dns_firewall.store().domain_quota = 1
    with pytest.raises(CapacityExceeded, match="quota is 1"):
        point.apply(add=["a.example", "b.example"], remove=[])


def test_a_missing_list_is_a_configuration_error(resolver: Any) -> None:
    point = DnsFirewallDomains(list_id="rslvr-fdl-0000000000000000", _client=resolver, sleep=lambda _: None)
    with pytest.raises(ConfigurationError, match="rslvr-fdl-0000000000000000 does not exist"):
        point.current()


def test_the_point_needs_its_list_id(group: str) -> None:
    settings = stack.settings(group, domain_blocking=DomainBlocking.DNS_FIREWALL)
    with pytest.raises(ConfigurationError, match="NFW_DNS_FIREWALL_DOMAIN_LIST_ID"):
        DnsFirewallDomains.from_settings(settings, Clients())


# -- under the domain writer ---------------------------------------------------------------------


def dns_event(load_sample: Callable[[str], Any], domain: str, n: int) -> dict[str, Any]:
    event: dict[str, Any] = copy.deepcopy(load_sample("guardduty-native-dns.json"))
    event["id"] = f"event-{n}"
    event["detail"]["id"] = f"finding-{n}"
    event["detail"]["service"]["action"]["dnsRequestAction"]["domain"] = domain
    event["detail"]["service"]["eventLastSeen"] = f"2024-05-14T10:{n % 60:02}:00Z"  # later n, seen later
    return event


def dns_service(group: str, list_id: str, **overrides: Any) -> BlocklistService:
    settings = stack.settings(
        group, domain_blocking=DomainBlocking.DNS_FIREWALL, dns_firewall_domain_list_id=list_id, **overrides
    )
    return BlocklistService.create(
        settings, route53resolver=boto3.client("route53resolver", config=NO_RETRIES)
    )


def test_a_dns_finding_blocks_its_domain_in_the_list(
    group: str, list_id: str, resolver: Any, load_sample: Callable[[str], Any]
) -> None:
    service = dns_service(group, list_id)
    outcome = service.block(service.record(dns_event(load_sample, "guarddutyc2activityb.com", 1)))
    assert outcome["blocked"] == ["guarddutyc2activityb.com"]
    assert stored(resolver, list_id) == {"guarddutyc2activityb.com"}


def test_a_concurrent_burst_of_domains_loses_none(
    group: str, list_id: str, resolver: Any, load_sample: Callable[[str], Any]
) -> None:
    dns_firewall.store().settle_seconds = 0.01
    dns_firewall.faults().set(token_conflict_rate=0.2, seed=12)  # as if another update were in flight
    domains = [f"burst{i:03}.example" for i in range(32)]
    local = threading.local()

    def one(n: int) -> None:
        if not hasattr(local, "service"):
            local.service = dns_service(group, list_id)  # one per "execution environment"
        local.service.block(local.service.record(dns_event(load_sample, domains[n], n)))

    with ThreadPoolExecutor(max_workers=len(domains)) as pool:  # all at once: one round of coalescing
        list(pool.map(one, range(len(domains))))
    dns_firewall.faults().clear()
    assert stored(resolver, list_id) == set(domains)
    assert update_calls() < len(domains)  # coalesced
    assert not [h for h in dns_service(group, list_id).list_hosts() if h.pending]


def test_prune_repairs_a_domain_removed_from_the_list_by_hand(
    group: str, list_id: str, resolver: Any, load_sample: Callable[[str], Any]
) -> None:
    service = dns_service(group, list_id)
    service.block(service.record(dns_event(load_sample, "guarddutyc2activityb.com", 1)))
    resolver.update_firewall_domains(
        FirewallDomainListId=list_id, Operation="REMOVE", Domains=["guarddutyc2activityb.com"]
    )
    outcome = service.prune()
    assert outcome["drift"]["repaired"] or outcome["drift"]["added"] == ["guarddutyc2activityb.com"]
    assert stored(resolver, list_id) == {"guarddutyc2activityb.com"}


def test_prune_removes_an_expired_domain(
    group: str, list_id: str, resolver: Any, load_sample: Callable[[str], Any], fake_time: stack.FakeTime
) -> None:
    service = dns_service(group, list_id)
    service.block(service.record(dns_event(load_sample, "guarddutyc2activityb.com", 1)))
    fake_time.advance(stack.settings(group).retention_seconds + 3600)
    service.prune()
    assert stored(resolver, list_id) == set()


def test_a_full_list_evicts_the_oldest_domain(
    group: str, list_id: str, resolver: Any, load_sample: Callable[[str], Any], fake_time: stack.FakeTime
) -> None:
    service = dns_service(group, list_id, dns_firewall_max_domains=2)
    for n, domain in enumerate(["old.example", "mid.example", "new.example"]):
        service.block(service.record(dns_event(load_sample, domain, n)))
        fake_time.advance(60)
    assert stored(resolver, list_id) == {"mid.example", "new.example"}


def test_the_eviction_warning_names_the_dns_firewall_list_not_a_rule_group(
    group: str, list_id: str, load_sample: Callable[[str], Any], caplog: pytest.LogCaptureFixture
) -> None:
    service = dns_service(group, list_id, dns_firewall_max_domains=1)
    service.block(service.record(dns_event(load_sample, "old.example", 1)))

    with caplog.at_level(logging.WARNING, logger="handlers.writer"):
        service.block(service.record(dns_event(load_sample, "new.example", 2)))

    [warning] = [record for record in caplog.records if "evicting" in record.getMessage()]
    assert "rule group" not in warning.getMessage()
    assert warning.__dict__["place"] == "DNS Firewall domain list"


def test_a_full_list_refuses_when_configured_to(
    group: str, list_id: str, resolver: Any, load_sample: Callable[[str], Any]
) -> None:
    service = dns_service(group, list_id, dns_firewall_max_domains=1, on_capacity_full=CapacityPolicy.REFUSE)
    service.block(service.record(dns_event(load_sample, "first.example", 1)))
    outcome = service.block(service.record(dns_event(load_sample, "second.example", 2)))
    assert outcome["kinds"]["domain"]["error"] == "CapacityExceeded"
    assert outcome["kinds"]["domain"]["where"] == f"DNS Firewall domain list {list_id}"
    assert stored(resolver, list_id) == {"first.example"}
    assert [h.host for h in service.list_hosts()] == ["first.example"]


def test_max_domains_is_the_configured_room(group: str, list_id: str) -> None:
    settings = replace(
        stack.settings(
            group, domain_blocking=DomainBlocking.DNS_FIREWALL, dns_firewall_domain_list_id=list_id
        ),
        dns_firewall_max_domains=7,
    )
    assert DnsFirewallDomains.from_settings(settings, Clients()).max_domains() == 7


def test_a_domain_recorded_again_while_a_prune_removes_it_ends_in_the_list(
    group: str, list_id: str, resolver: Any, load_sample: Callable[[str], Any], fake_time: stack.FakeTime
) -> None:
    """No token orders the two writes: B adds x between A's plan (remove x, expired) and A's REMOVE.
    A's re-read after its write finds B's new item and adds x back."""
    prune_side = dns_service(group, list_id)
    prune_side.block(prune_side.record(dns_event(load_sample, DOMAIN, 1)))
    fake_time.advance(stack.settings(group).retention_seconds + 3600)
    block_side = BlocklistService.create(
        stack.settings(
            group, domain_blocking=DomainBlocking.DNS_FIREWALL, dns_firewall_domain_list_id=list_id
        ),
        route53resolver=boto3.client("route53resolver", config=NO_RETRIES),
        sleep=fake_time.sleep,
    )
    assert block_side.domain_writer is not None
    block_side.domain_writer.wall_clock = fake_time  # its wait for A's lease runs on the fake clock
    [point] = prune_side.domain_points
    real_apply = point.apply
    raced: list[str] = []

    def b_adds_x_first(add: Sequence[str], remove: Sequence[str]) -> None:
        if DOMAIN in remove and not raced:
            raced.append(DOMAIN)
            block_side.block(block_side.record(dns_event(load_sample, DOMAIN, 2)))
            assert stored(resolver, list_id) == {DOMAIN}, "B's ADD landed first"
        real_apply(add, remove)

    point.apply = b_adds_x_first  # type: ignore[method-assign]
    prune_side.prune()

    assert raced == [DOMAIN]
    assert stored(resolver, list_id) == {DOMAIN}
    assert [(h.host, h.pending) for h in dns_service(group, list_id).list_hosts()] == [(DOMAIN, False)]
