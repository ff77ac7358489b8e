"""The Network Firewall rule-group emulator behaves like the API the writer is built against."""

import contextlib
import copy
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.networkfirewall.models import networkfirewall_backends
from moto.server import ThreadedMotoServer

from nfw_blocklist import emulator

NO_RETRIES = Config(retries={"total_max_attempts": 1})
METRIC_ACTION = {
    "ActionName": "BlockedHostMetric",
    "ActionDefinition": {"PublishMetricAction": {"Dimensions": [{"Value": "blocked"}]}},
}


def stateless_rule(
    priority: int = 30000,
    sources: tuple[str, ...] = ("198.51.100.7/32",),
    destinations: tuple[str, ...] = (),
    protocols: tuple[int, ...] = (),
    actions: tuple[str, ...] = ("aws:drop",),
) -> dict[str, Any]:
    match: dict[str, Any] = {"Sources": [{"AddressDefinition": cidr} for cidr in sources]}
    if destinations:
        match["Destinations"] = [{"AddressDefinition": cidr} for cidr in destinations]
    if protocols:
        match["Protocols"] = list(protocols)
    return {"Priority": priority, "RuleDefinition": {"MatchAttributes": match, "Actions": list(actions)}}


def stateless_group(
    *rules: dict[str, Any], custom_actions: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {"StatelessRules": list(rules)}
    if custom_actions:
        body["CustomActions"] = list(custom_actions)
    return {"RulesSource": {"StatelessRulesAndCustomActions": body}}


def sources_of(rule_group: dict[str, Any]) -> list[str]:
    rules = rule_group["RulesSource"]["StatelessRulesAndCustomActions"]["StatelessRules"]
    return [
        address["AddressDefinition"] for address in rules[0]["RuleDefinition"]["MatchAttributes"]["Sources"]
    ]


@pytest.fixture
def nfw(aws: object) -> Any:
    return boto3.client("network-firewall", config=NO_RETRIES)


@pytest.fixture
def group_arn(nfw: Any) -> str:
    """A stateless group of capacity 100 holding one one-unit rule."""
    response = nfw.create_rule_group(
        RuleGroupName="blocklist", Type="STATELESS", Capacity=100, RuleGroup=stateless_group(stateless_rule())
    )
    arn: str = response["RuleGroupResponse"]["RuleGroupArn"]
    return arn


def test_created_rule_group_describes_with_its_rules_and_metadata(nfw: Any) -> None:
    rule_group = stateless_group(
        stateless_rule(actions=("aws:drop", "BlockedHostMetric")), custom_actions=(METRIC_ACTION,)
    )
    created = nfw.create_rule_group(
        RuleGroupName="blocklist",
        Type="STATELESS",
        Capacity=2000,
        RuleGroup=rule_group,
        Description="hosts GuardDuty flagged",
        Tags=[{"Key": "owner", "Value": "security"}],
    )

    described = nfw.describe_rule_group(RuleGroupArn=created["RuleGroupResponse"]["RuleGroupArn"])

    metadata = described["RuleGroupResponse"]
    assert described["RuleGroup"] == rule_group
    assert described["UpdateToken"] == created["UpdateToken"]
    assert (
        metadata["RuleGroupArn"]
        == "arn:aws:network-firewall:us-east-1:123456789012:stateless-rulegroup/blocklist"
    )
    assert (metadata["RuleGroupName"], metadata["Type"], metadata["Capacity"]) == (
        "blocklist",
        "STATELESS",
        2000,
    )
    assert (metadata["ConsumedCapacity"], metadata["NumberOfAssociations"]) == (1, 0)
    assert metadata["Description"] == "hosts GuardDuty flagged"
    assert metadata["Tags"] == [{"Key": "owner", "Value": "security"}]
    assert metadata["RuleGroupStatus"] == "ACTIVE"


def test_describe_by_name_and_type_finds_the_same_group(nfw: Any, group_arn: str) -> None:
    described = nfw.describe_rule_group(RuleGroupName="blocklist", Type="STATELESS")

    assert described["RuleGroupResponse"]["RuleGroupArn"] == group_arn


def test_describe_by_name_without_type_is_rejected(nfw: Any, group_arn: str) -> None:
    with pytest.raises(ClientError, match="Type is required") as e:
        nfw.describe_rule_group(RuleGroupName="blocklist")

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


def test_unknown_arn_is_not_found(nfw: Any) -> None:
    missing = "arn:aws:network-firewall:us-east-1:123456789012:stateless-rulegroup/missing"

    with pytest.raises(ClientError, match="not found") as e:
        nfw.describe_rule_group(RuleGroupArn=missing)

    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_every_successful_update_rotates_the_token(nfw: Any, group_arn: str) -> None:
    tokens = [nfw.describe_rule_group(RuleGroupArn=group_arn)["UpdateToken"]]
    for last_octet in (1, 2, 3):
        updated = nfw.update_rule_group(
            RuleGroupArn=group_arn,
            UpdateToken=tokens[-1],
            RuleGroup=stateless_group(stateless_rule(sources=(f"203.0.113.{last_octet}/32",))),
        )
        tokens.append(updated["UpdateToken"])

    assert len(set(tokens)) == 4
    assert nfw.describe_rule_group(RuleGroupArn=group_arn)["UpdateToken"] == tokens[-1]


def test_update_with_a_stale_token_is_rejected_and_changes_nothing(nfw: Any, group_arn: str) -> None:
    stale = nfw.describe_rule_group(RuleGroupArn=group_arn)["UpdateToken"]
    nfw.update_rule_group(
        RuleGroupArn=group_arn,
        UpdateToken=stale,
        RuleGroup=stateless_group(stateless_rule(sources=("192.0.2.1/32",))),
    )

    with pytest.raises(ClientError, match="token") as e:
        nfw.update_rule_group(
            RuleGroupArn=group_arn,
            UpdateToken=stale,
            RuleGroup=stateless_group(stateless_rule(sources=("192.0.2.99/32",))),
        )

    assert e.value.response["Error"]["Code"] == "InvalidTokenException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sources_of(nfw.describe_rule_group(RuleGroupArn=group_arn)["RuleGroup"]) == ["192.0.2.1/32"]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param(
            [
                stateless_rule(
                    sources=("10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"),
                    destinations=("192.0.2.0/24", "2001:db8::/32"),
                    protocols=(6, 17),
                )
            ],
            12,
            id="3 sources x 2 destinations x 2 protocols",
        ),
        pytest.param([stateless_rule(sources=())], 1, id="a rule matching anything costs 1"),
        pytest.param(
            [
                stateless_rule(priority=1, sources=("192.0.2.1/32", "192.0.2.2/32")),
                stateless_rule(priority=2, sources=(), destinations=("192.0.2.1/32", "192.0.2.2/32")),
            ],
            4,
            id="the reference's source rule plus destination rule cost 2 per host",
        ),
        pytest.param([], 0, id="no rules consume nothing"),
    ],
)
def test_consumed_capacity_is_the_product_of_match_setting_sizes_summed_over_rules(
    nfw: Any, rules: list[dict[str, Any]], expected: int
) -> None:
    created = nfw.create_rule_group(
        RuleGroupName="arithmetic", Type="STATELESS", Capacity=100, RuleGroup=stateless_group(*rules)
    )

    assert created["RuleGroupResponse"]["ConsumedCapacity"] == expected


def test_update_over_capacity_is_rejected_naming_consumed_and_capacity(nfw: Any) -> None:
    created = nfw.create_rule_group(
        RuleGroupName="small", Type="STATELESS", Capacity=2, RuleGroup=stateless_group(stateless_rule())
    )
    three_hosts = stateless_group(stateless_rule(sources=("192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32")))

    with pytest.raises(ClientError, match=r"consumed 3 > capacity 2") as e:
        nfw.update_rule_group(
            RuleGroupArn=created["RuleGroupResponse"]["RuleGroupArn"],
            UpdateToken=created["UpdateToken"],
            RuleGroup=three_hosts,
        )

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


def test_create_over_capacity_is_rejected(nfw: Any) -> None:
    with pytest.raises(ClientError, match=r"consumed 2 > capacity 1") as e:
        nfw.create_rule_group(
            RuleGroupName="tiny",
            Type="STATELESS",
            Capacity=1,
            RuleGroup=stateless_group(stateless_rule(sources=("192.0.2.1/32", "192.0.2.2/32"))),
        )

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


@pytest.mark.parametrize("capacity", [0, 30_001, 1_000_000], ids=["zero", "one over the maximum", "far over"])
def test_capacity_outside_one_to_thirty_thousand_is_rejected(nfw: Any, capacity: int) -> None:
    with pytest.raises(ClientError, match="Capacity") as e:
        nfw.create_rule_group(
            RuleGroupName="bad", Type="STATELESS", Capacity=capacity, RuleGroup=stateless_group()
        )

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


def test_duplicate_priority_is_rejected(nfw: Any, group_arn: str) -> None:
    token = nfw.describe_rule_group(RuleGroupArn=group_arn)["UpdateToken"]
    clashing = stateless_group(
        stateless_rule(priority=30000), stateless_rule(priority=30000, sources=("192.0.2.9/32",))
    )

    with pytest.raises(ClientError, match="Priority 30000 is not unique") as e:
        nfw.update_rule_group(RuleGroupArn=group_arn, UpdateToken=token, RuleGroup=clashing)

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


def test_undefined_custom_action_is_rejected(nfw: Any) -> None:
    with pytest.raises(ClientError, match="'BlockedHostMetric' is neither") as e:
        nfw.create_rule_group(
            RuleGroupName="undefined-action",
            Type="STATELESS",
            Capacity=10,
            RuleGroup=stateless_group(stateless_rule(actions=("aws:drop", "BlockedHostMetric"))),
        )

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param(stateless_rule(sources=("10.0.0.1/8",)), "not a valid", id="host bits set"),
        pytest.param(stateless_rule(sources=("300.0.0.0/32",)), "not a valid", id="octet out of range"),
        pytest.param(stateless_rule(sources=("2001:db8::1/32",)), "not a valid", id="ipv6 host bits set"),
        pytest.param(stateless_rule(sources=("evil.example",)), "not a valid", id="hostname"),
        pytest.param(stateless_rule(sources=("10.0.0.0/33",)), "not a valid", id="prefix too long"),
        pytest.param(stateless_rule(sources=("192.0.2.1",)), "CIDR notation", id="no prefix length"),
        pytest.param(stateless_rule(priority=65536), "out of range", id="priority too high"),
        pytest.param(
            stateless_rule(actions=("aws:drop", "aws:pass")), "exactly one standard", id="two verdicts"
        ),
        pytest.param(stateless_rule(actions=()), "exactly one standard", id="no verdict"),
        pytest.param(stateless_rule(actions=("aws:alert_strict",)), "neither", id="stateful action"),
        pytest.param(stateless_rule(protocols=(256,)), "protocol number", id="protocol out of range"),
    ],
)
def test_hostile_stateless_rules_are_rejected(nfw: Any, rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError, match=message) as e:
        nfw.create_rule_group(
            RuleGroupName="hostile", Type="STATELESS", Capacity=100, RuleGroup=stateless_group(rule)
        )

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


@pytest.mark.parametrize("name", ["has space", "under_score", "slash/name", "x" * 129], ids=str)
def test_names_other_than_letters_digits_and_hyphens_are_rejected(nfw: Any, name: str) -> None:
    with pytest.raises(ClientError, match="RuleGroupName") as e:
        nfw.create_rule_group(RuleGroupName=name, Type="STATELESS", Capacity=10, RuleGroup=stateless_group())

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


def test_a_second_group_with_the_same_name_and_type_is_rejected(nfw: Any, group_arn: str) -> None:
    with pytest.raises(ClientError, match="already exists") as e:
        nfw.create_rule_group(
            RuleGroupName="blocklist", Type="STATELESS", Capacity=10, RuleGroup=stateless_group()
        )

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


def test_the_same_name_may_be_used_once_per_type(nfw: Any, group_arn: str) -> None:
    stateful = nfw.create_rule_group(
        RuleGroupName="blocklist",
        Type="STATEFUL",
        Capacity=10,
        Rules='drop ip 198.51.100.7 any -> any any (msg:"blocked"; sid:1;)\n# a comment\n',
    )

    assert stateful["RuleGroupResponse"]["RuleGroupArn"].endswith(":stateful-rulegroup/blocklist")
    assert stateful["RuleGroupResponse"]["RuleGroupArn"] != group_arn


def test_stateful_capacity_counts_one_unit_per_rule(nfw: Any) -> None:
    rules = "\n".join(f"drop ip 198.51.100.{n} any -> any any (sid:{n};)" for n in range(1, 6))

    created = nfw.create_rule_group(
        RuleGroupName="stateful",
        Type="STATEFUL",
        Capacity=10,
        RuleGroup={"RulesSource": {"RulesString": rules}},
    )

    assert created["RuleGroupResponse"]["ConsumedCapacity"] == 5


def test_dry_run_update_leaves_the_group_and_token_unchanged(nfw: Any, group_arn: str) -> None:
    before = nfw.describe_rule_group(RuleGroupArn=group_arn)
    bigger = stateless_group(stateless_rule(sources=("192.0.2.1/32", "192.0.2.2/32")))

    answer = nfw.update_rule_group(
        RuleGroupArn=group_arn, UpdateToken=before["UpdateToken"], RuleGroup=bigger, DryRun=True
    )

    after = nfw.describe_rule_group(RuleGroupArn=group_arn)
    assert answer["RuleGroupResponse"]["ConsumedCapacity"] == 2
    assert answer["UpdateToken"] == before["UpdateToken"] == after["UpdateToken"]
    assert after["RuleGroup"] == before["RuleGroup"]
    assert emulator.counters().snapshot().successful_updates == 0


def test_dry_run_update_still_rejects_what_a_real_update_would(nfw: Any, group_arn: str) -> None:
    token = nfw.describe_rule_group(RuleGroupArn=group_arn)["UpdateToken"]
    over_capacity = stateless_group(stateless_rule(sources=tuple(f"192.0.2.{n}/32" for n in range(101))))

    with pytest.raises(ClientError, match="consumed 101 > capacity 100") as e:
        nfw.update_rule_group(RuleGroupArn=group_arn, UpdateToken=token, RuleGroup=over_capacity, DryRun=True)

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


def test_dry_run_create_stores_nothing(nfw: Any) -> None:
    answer = nfw.create_rule_group(
        RuleGroupName="would-be", Type="STATELESS", Capacity=10, RuleGroup=stateless_group(), DryRun=True
    )

    assert answer["RuleGroupResponse"]["RuleGroupName"] == "would-be"
    assert nfw.list_rule_groups()["RuleGroups"] == []


def test_listing_pages_through_every_group_exactly_once(nfw: Any) -> None:
    names = {f"group-{n}" for n in range(7)}
    for name in names:
        nfw.create_rule_group(RuleGroupName=name, Type="STATELESS", Capacity=10, RuleGroup=stateless_group())

    pages = list(nfw.get_paginator("list_rule_groups").paginate(PaginationConfig={"PageSize": 3}))

    assert [len(page["RuleGroups"]) for page in pages] == [3, 3, 1]
    assert sorted(group["Name"] for page in pages for group in page["RuleGroups"]) == sorted(names)


def test_listing_filters_by_type(nfw: Any, group_arn: str) -> None:
    nfw.create_rule_group(
        RuleGroupName="suricata", Type="STATEFUL", Capacity=10, Rules="pass ip any any -> any any (sid:1;)"
    )

    listed = nfw.list_rule_groups(Type="STATEFUL")["RuleGroups"]

    assert [group["Name"] for group in listed] == ["suricata"]


def test_an_invalid_next_token_is_rejected(nfw: Any) -> None:
    with pytest.raises(ClientError, match="NextToken") as e:
        nfw.list_rule_groups(NextToken="not-a-token")

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"


def test_a_deleted_group_is_gone(nfw: Any, group_arn: str) -> None:
    deleted = nfw.delete_rule_group(RuleGroupArn=group_arn)

    assert deleted["RuleGroupResponse"]["RuleGroupStatus"] == "DELETING"
    assert nfw.list_rule_groups()["RuleGroups"] == []
    with pytest.raises(ClientError, match="not found") as e:
        nfw.describe_rule_group(RuleGroupArn=group_arn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_injected_token_conflict_rejects_a_fresh_token(nfw: Any, group_arn: str) -> None:
    token = nfw.describe_rule_group(RuleGroupArn=group_arn)["UpdateToken"]
    emulator.faults().set(token_conflict_rate=1.0)

    with pytest.raises(ClientError, match="token") as e:
        nfw.update_rule_group(RuleGroupArn=group_arn, UpdateToken=token, RuleGroup=stateless_group())

    assert e.value.response["Error"]["Code"] == "InvalidTokenException"
    assert emulator.counters().snapshot().injected_token_conflicts == 1
    assert nfw.describe_rule_group(RuleGroupArn=group_arn)["UpdateToken"] == token


def test_throttle_next_throttles_exactly_that_many_calls(nfw: Any, group_arn: str) -> None:
    emulator.faults().set(throttle_next=2)

    for _ in range(2):
        with pytest.raises(ClientError, match="Rate exceeded") as e:
            nfw.describe_rule_group(RuleGroupArn=group_arn)
        assert e.value.response["Error"]["Code"] == "ThrottlingException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    nfw.describe_rule_group(RuleGroupArn=group_arn)

    assert emulator.counters().snapshot().throttles == 2


def test_an_injected_internal_error_is_a_500(nfw: Any, group_arn: str) -> None:
    emulator.faults().set(internal_error_rate=1.0, operations={"DescribeRuleGroup"})

    with pytest.raises(ClientError, match="internal error") as e:
        nfw.describe_rule_group(RuleGroupArn=group_arn)

    assert e.value.response["Error"]["Code"] == "InternalServerError"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_the_sdk_retries_injected_throttles_and_every_attempt_is_counted(aws: object, group_arn: str) -> None:
    retrying = boto3.client(
        "network-firewall", config=Config(retries={"mode": "standard", "max_attempts": 3})
    )
    emulator.counters().reset()
    emulator.faults().set(throttle_next=2)

    retrying.describe_rule_group(RuleGroupArn=group_arn)

    snapshot = emulator.counters().snapshot()
    assert (snapshot.calls["DescribeRuleGroup"], snapshot.throttles) == (3, 2)


def test_injected_latency_overlaps_across_concurrent_calls(aws: object, group_arn: str) -> None:
    emulator.faults().set(latency={"DescribeRuleGroup": (0.3, 0.3)})
    clients = [boto3.session.Session().client("network-firewall", config=NO_RETRIES) for _ in range(8)]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda client: client.describe_rule_group(RuleGroupArn=group_arn), clients))
    elapsed = time.monotonic() - started

    assert 0.3 <= elapsed < 8 * 0.3 / 2, f"8 calls of 0.3 s took {elapsed:.2f} s: latency is serialised"


@pytest.mark.parametrize(
    "settings",
    [
        {"token_conflict_rate": 1.5},
        {"throttle_rate": -0.1},
        {"throttle_next": -1},
        {"latency": {"UpdateRuleGroup": (0.3, 0.1)}},
        {"operations": {"DescribeFirewall"}},
    ],
    ids=str,
)
def test_a_nonsensical_fault_plan_is_refused(aws: object, settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must|unknown"):
        emulator.faults().set(**settings)


def test_counters_count_calls_and_reset_to_zero(nfw: Any, group_arn: str) -> None:
    token = nfw.describe_rule_group(RuleGroupArn=group_arn)["UpdateToken"]
    nfw.update_rule_group(RuleGroupArn=group_arn, UpdateToken=token, RuleGroup=stateless_group())
    snapshot = emulator.counters().snapshot()
    assert snapshot.calls == {
        "CreateRuleGroup": 1,
        "DeleteRuleGroup": 0,
        "DescribeRuleGroup": 1,
        "ListRuleGroups": 0,
        "UpdateRuleGroup": 1,
    }
    assert snapshot.successful_updates == 1

    emulator.counters().reset()

    assert set(emulator.counters().snapshot().as_dict()["calls"].values()) == {0}


def _add_source_until_it_lands(client: Any, arn: str, cidr: str) -> int:
    """The writer's optimistic loop in miniature: describe, add one host, update; retry on a lost race."""
    for attempt in range(1, 500):
        described = client.describe_rule_group(RuleGroupArn=arn)
        rule_group = copy.deepcopy(described["RuleGroup"])
        rule = rule_group["RulesSource"]["StatelessRulesAndCustomActions"]["StatelessRules"][0]
        rule["RuleDefinition"]["MatchAttributes"]["Sources"].append({"AddressDefinition": cidr})
        with contextlib.suppress(client.exceptions.InvalidTokenException):
            client.update_rule_group(
                RuleGroupArn=arn, UpdateToken=described["UpdateToken"], RuleGroup=rule_group
            )
            return attempt
    raise AssertionError(f"{cidr} never landed")


def test_concurrent_compare_and_swap_updates_all_land(aws: object, group_arn: str) -> None:
    emulator.faults().set(
        latency={"DescribeRuleGroup": (0.0, 0.005), "UpdateRuleGroup": (0.0, 0.005)},
        token_conflict_rate=0.1,
        seed=42,
    )
    emulator.counters().reset()
    hosts = [f"203.0.113.{n}/32" for n in range(32)]
    barrier = threading.Barrier(len(hosts))

    # A client each, made here: a session is not thread-safe, and a session per thread reads botocore's
    # models again each time (most of this test's CPU).
    clients = {cidr: boto3.client("network-firewall", config=NO_RETRIES) for cidr in hosts}

    def writer(cidr: str) -> int:
        barrier.wait()
        return _add_source_until_it_lands(clients[cidr], group_arn, cidr)

    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        attempts = list(pool.map(writer, hosts))

    final: Any = boto3.client("network-firewall").describe_rule_group(RuleGroupArn=group_arn)
    snapshot = emulator.counters().snapshot()
    assert sorted(sources_of(final["RuleGroup"])) == sorted(["198.51.100.7/32", *hosts])
    assert snapshot.successful_updates == len(hosts)
    assert snapshot.all_token_conflicts == sum(attempts) - len(hosts) > 0


def test_the_backend_answers_python_callers_like_the_api(aws: object, group_arn: str) -> None:
    backend = networkfirewall_backends["123456789012"]["us-east-1"]

    group = backend.describe_rule_group(name="blocklist", rule_group_type="STATELESS")

    assert (group.arn, group.version.consumed_capacity) == (group_arn, 1)


def test_rule_groups_faults_and_counters_end_with_the_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    emulator.install()
    with mock_aws():
        client: Any = boto3.client("network-firewall", region_name="us-east-1")
        client.create_rule_group(
            RuleGroupName="leaky", Type="STATELESS", Capacity=10, RuleGroup=stateless_group()
        )
        emulator.faults().set(throttle_next=100)

    with mock_aws():
        client = boto3.client("network-firewall", region_name="us-east-1", config=NO_RETRIES)
        assert client.list_rule_groups()["RuleGroups"] == []
        assert emulator.counters().snapshot().calls["ListRuleGroups"] == 1


def test_install_is_idempotent(aws: object) -> None:
    emulator.install()
    emulator.install()

    assert emulator.installed()


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's standalone server on a random local port, reset afterwards so no state outlives the test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    emulator.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
    server.stop()


def test_rule_groups_work_through_the_standalone_server(moto_server: str) -> None:
    client: Any = boto3.client(
        "network-firewall", region_name="us-east-1", endpoint_url=moto_server, config=NO_RETRIES
    )
    created = client.create_rule_group(
        RuleGroupName="served", Type="STATELESS", Capacity=10, RuleGroup=stateless_group(stateless_rule())
    )
    arn = created["RuleGroupResponse"]["RuleGroupArn"]
    client.update_rule_group(
        RuleGroupArn=arn,
        UpdateToken=created["UpdateToken"],
        RuleGroup=stateless_group(stateless_rule(sources=("2001:db8::/32", "192.0.2.0/24"))),
    )

    described = client.describe_rule_group(RuleGroupArn=arn)

    assert described["RuleGroupResponse"]["ConsumedCapacity"] == 2
    assert described["UpdateToken"] != created["UpdateToken"]
    with pytest.raises(ClientError, match="token") as e:
        client.update_rule_group(
            RuleGroupArn=arn, UpdateToken=created["UpdateToken"], RuleGroup=stateless_group()
        )
    assert e.value.response["Error"]["Code"] == "InvalidTokenException"


@pytest.mark.parametrize(
    ("dimensions", "message"),
    [
        pytest.param([{"Value": "198.51.100.7"}], "dimension value", id="an address as the dimension"),
        pytest.param([{"Value": "a"}, {"Value": "b"}], "exactly one dimension", id="two dimensions"),
    ],
)
def test_a_metric_action_takes_one_dimension_of_the_values_aws_accepts(
    nfw: Any, dimensions: list[dict[str, str]], message: str
) -> None:
    action = {
        "ActionName": "PerHost",
        "ActionDefinition": {"PublishMetricAction": {"Dimensions": dimensions}},
    }
    rule = stateless_rule(actions=("aws:forward_to_sfe", "PerHost"))

    with pytest.raises(ClientError, match=message) as e:
        nfw.create_rule_group(
            RuleGroupName="monitor",
            Type="STATELESS",
            Capacity=100,
            RuleGroup=stateless_group(rule, custom_actions=(action,)),
        )

    assert e.value.response["Error"]["Code"] == "InvalidRequestException"
