"""Pure rule-group arithmetic: rendering, reading back, capacity and eviction order."""

import pytest

from handlers.ledger import SOURCE_FINDING, SOURCE_MANUAL, HostRecord, Sighting, merge
from handlers.rules import (
    METRIC_ACTION_NAME,
    MONITOR_ACTION_NAME,
    EvictionCandidate,
    blocked_hosts,
    choose_evictions,
    compose,
    host_capacity,
    partition_rules,
    render_owned_rules,
    rule_capacity,
    rules_capacity,
    sorted_hosts,
    split_owned,
    with_metric_action,
)


def rule(priority: int, **match: list) -> dict:
    return {"Priority": priority, "RuleDefinition": {"MatchAttributes": match, "Actions": ["aws:drop"]}}


def test_an_empty_blocklist_renders_no_rule_at_all() -> None:
    # An owned rule with no Sources would match every packet.
    assert render_owned_rules([], 30000, 30100) == []


def test_hosts_render_as_a_source_rule_and_a_destination_rule_in_address_order() -> None:
    rules = render_owned_rules(["2001:db8::1/128", "203.0.113.9/32", "198.51.100.7/32"], 30000, 30100)

    assert [r["Priority"] for r in rules] == [30000, 30100]
    assert rules[0]["RuleDefinition"]["MatchAttributes"] == {
        "Sources": [
            {"AddressDefinition": "198.51.100.7/32"},
            {"AddressDefinition": "203.0.113.9/32"},
            {"AddressDefinition": "2001:db8::1/128"},
        ]
    }
    assert rules[1]["RuleDefinition"]["Actions"] == ["aws:drop", METRIC_ACTION_NAME]


IN_ORDER = ["198.51.100.7/32", "198.51.100.20/32", "203.0.113.9/32", "2001:db8::1/128", "2001:db8::a/128"]


@pytest.mark.parametrize(
    "near",
    [
        [],
        IN_ORDER,
        IN_ORDER[::-1],
        ["203.0.113.9/32", "203.0.113.9/32", "192.0.2.1/32", "198.51.100.7/32"],  # repeated, and not asked
    ],
    ids=["nothing", "in order", "reversed", "repeated and foreign"],
)
def test_hosts_sort_in_address_order_once_each_whatever_order_they_start_from(near: list[str]) -> None:
    hosts = ["2001:db8::a/128", "203.0.113.9/32", "198.51.100.20/32", "2001:db8::1/128", "198.51.100.7/32"]

    assert sorted_hosts([*hosts, "203.0.113.9/32"], near) == IN_ORDER


def test_rendered_rules_read_back_as_the_same_hosts() -> None:
    hosts = {"198.51.100.7/32", "2001:db8::1/128"}

    assert blocked_hosts(render_owned_rules(hosts, 30000, 30100), 30000, 30100) == hosts


def test_a_host_in_only_one_direction_is_not_counted_as_blocked() -> None:
    owned = [rule(30000, Sources=[{"AddressDefinition": "198.51.100.7/32"}]), rule(30100, Destinations=[])]

    assert blocked_hosts(owned, 30000, 30100) == set()


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({}, 1),
        ({"Sources": [{"AddressDefinition": "192.0.2.1/32"}] * 3}, 3),
        ({"Sources": [{}] * 3, "Destinations": [{}] * 2, "Protocols": [6, 17]}, 12),
        (
            {
                "Sources": [{}] * 2,
                "SourcePorts": [{}] * 2,
                "DestinationPorts": [{}] * 5,
                "TCPFlags": [{}] * 3,
            },
            60,
        ),
    ],
    ids=["nothing-counts-one", "three-sources", "product-of-three", "product-of-four"],
)
def test_rule_capacity_is_the_product_of_its_match_settings(match: dict, expected: int) -> None:
    assert rule_capacity(rule(1, **match)) == expected


def test_each_host_costs_two_units_beside_the_foreign_rules() -> None:
    foreign = [rule(10, Sources=[{}], Protocols=[6, 17])]  # costs 2

    assert rules_capacity(render_owned_rules(["198.51.100.7/32", "198.51.100.8/32"], 1, 2)) == 4
    assert host_capacity(2000, foreign) == 999
    assert host_capacity(30000, []) == 15000


def test_foreign_rules_are_kept_and_everything_is_ordered_by_priority() -> None:
    foreign, owned_rule = rule(40000), rule(30000)
    owned, others = split_owned([foreign, owned_rule], (30000, 30100))

    assert owned == [owned_rule] and others == [foreign]
    assert compose(others, owned) == [owned_rule, foreign]


def test_the_metric_action_is_present_exactly_once_and_others_are_kept() -> None:
    theirs = {"ActionName": "Theirs", "ActionDefinition": {"PublishMetricAction": {"Dimensions": []}}}
    stale = {"ActionName": METRIC_ACTION_NAME, "ActionDefinition": {}}

    actions = with_metric_action([theirs, stale])

    assert [a["ActionName"] for a in actions] == ["Theirs", METRIC_ACTION_NAME, MONITOR_ACTION_NAME]
    assert actions[1]["ActionDefinition"] != {}


def test_eviction_takes_the_hosts_seen_longest_ago_with_ties_broken_by_address() -> None:
    candidates = [
        EvictionCandidate("198.51.100.9/32", 300.0),
        EvictionCandidate("198.51.100.8/32", 100.0),
        EvictionCandidate("198.51.100.7/32", 100.0),
        EvictionCandidate("198.51.100.6/32", 200.0),
    ]

    assert choose_evictions(candidates, 3) == ["198.51.100.7/32", "198.51.100.8/32", "198.51.100.6/32"]
    assert choose_evictions(candidates, 0) == []


def sighting(seen: float, expires: float, source: str = SOURCE_FINDING, finding: str = "f") -> Sighting:
    return Sighting("198.51.100.7/32", seen, expires, source, recorded_at=seen, finding_id=finding)


def test_a_new_sighting_creates_a_pending_record() -> None:
    record = merge(None, sighting(100.0, 900.0))

    assert (record.first_seen, record.last_seen, record.expires_at, record.pending) == (
        100.0,
        100.0,
        900.0,
        True,
    )


def test_an_older_sighting_never_moves_times_backwards() -> None:
    current = merge(None, sighting(500.0, 1500.0))

    merged = merge(current, sighting(100.0, 900.0, finding="g"))

    assert (merged.first_seen, merged.last_seen, merged.expires_at) == (100.0, 500.0, 1500.0)


def test_a_manual_block_stays_manual_when_a_finding_sees_the_host() -> None:
    current = merge(None, sighting(100.0, 900.0, source=SOURCE_MANUAL))

    assert merge(current, sighting(200.0, 1000.0)).source == SOURCE_MANUAL


def test_finding_ids_are_kept_once_each_and_bounded_and_the_latest_is_named() -> None:
    record: HostRecord | None = None
    for n in [*range(15), 14]:
        record = merge(record, sighting(float(n), 1000.0, finding=f"f{n}"))

    assert record is not None
    assert record.finding_ids == tuple(f"f{n}" for n in range(10))
    assert record.last_finding_id == "f14"


def _rule(priority: int, actions: list[str]) -> dict:
    return {
        "Priority": priority,
        "RuleDefinition": {
            "MatchAttributes": {"Sources": [{"AddressDefinition": "192.0.2.1/32"}]},
            "Actions": actions,
        },
    }


def test_our_rendering_at_another_priority_is_legacy_and_its_hosts_migrate() -> None:
    old_source, old_destination = render_owned_rules(["203.0.113.1/32"], 20000, 20100)
    foreign = _rule(10, ["aws:pass"])

    rules = partition_rules([foreign, old_source, old_destination], 30000, 30100)

    assert (rules.owned, rules.legacy, rules.foreign, rules.collisions) == (
        [],
        [old_source, old_destination],
        [foreign],
        [],
    )
    assert rules.legacy_hosts == {"203.0.113.1/32"}


def test_a_foreign_rule_at_a_configured_priority_is_a_collision_not_owned() -> None:
    theirs = _rule(30100, ["aws:drop"])
    [ours, _] = render_owned_rules(["203.0.113.1/32"], 30000, 30100)

    rules = partition_rules([ours, theirs], 30000, 30100)

    assert (rules.owned, rules.collisions, rules.foreign) == ([ours], [theirs], [])
