"""The model's checks catch what they exist for: a rogue writer going through the same scheduler."""

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.model.conftest import World
from tests.model.test_model_concurrency import (
    BLOCKABLE,
    PROTECTED_BUILT_IN,
    PROTECTED_CONFIGURED,
    BlocklistModel,
)

pytestmark = pytest.mark.model


@pytest.fixture
def model(world: World) -> Iterator[BlocklistModel]:
    machine = BlocklistModel(world)
    yield machine
    machine.teardown()


def rogue_write(model: BlocklistModel, owned: list[dict[str, Any]]) -> None:
    """Replace the owned rules with ``owned`` from inside an operation, as a faulty writer would."""
    arn, client = model.settings.rule_group_arn, model.network_firewall

    def write(_: object) -> None:
        described = client.describe_rule_group(RuleGroupArn=arn, Type="STATELESS")
        group = described["RuleGroup"]
        stateless = group["RulesSource"]["StatelessRulesAndCustomActions"]
        mine = model._priorities()
        stateless["StatelessRules"] = [r for r in stateless["StatelessRules"] if r["Priority"] not in mine]
        stateless["StatelessRules"] += owned
        client.update_rule_group(
            RuleGroupArn=arn, Type="STATELESS", UpdateToken=described["UpdateToken"], RuleGroup=group
        )

    op = model._start("rogue", "rogue writer", None, write)
    model.finish(pick=model.in_flight.index(op))


def rules(hosts: list[str], destinations: list[str] | None = None) -> list[dict[str, Any]]:
    def entries(values: list[str]) -> list[dict[str, str]]:
        return [{"AddressDefinition": value} for value in values]

    return [
        {
            "Priority": 30000,
            "RuleDefinition": {"MatchAttributes": {"Sources": entries(hosts)}, "Actions": ["aws:drop"]},
        },
        {
            "Priority": 30100,
            "RuleDefinition": {
                "MatchAttributes": {"Destinations": entries(hosts if destinations is None else destinations)},
                "Actions": ["aws:drop"],
            },
        },
    ]


def test_a_protected_host_in_a_write_is_caught(model: BlocklistModel) -> None:
    rogue_write(model, rules([f"{PROTECTED_BUILT_IN}/32"]))

    with pytest.raises(AssertionError, match="I4 no protected host"):
        model.protected_hosts_are_never_written()


def test_an_owned_rule_that_matches_everything_is_caught(model: BlocklistModel) -> None:
    rogue_write(model, rules([f"{BLOCKABLE[0]}/32"], destinations=[]))

    with pytest.raises(AssertionError, match="I6 no owned rule matches everything"):
        model.no_owned_rule_matches_everything()


def test_dropping_a_confirmed_manual_block_is_caught(model: BlocklistModel) -> None:
    model.start_manual_block(host=BLOCKABLE[0])
    model.finish(pick=0)
    model.assert_invariants()

    rogue_write(model, [])

    with pytest.raises(AssertionError, match="I3 a manual block is never evicted"):
        model.manual_blocks_are_never_evicted()


def test_a_host_written_without_a_ledger_item_is_caught_at_quiescence(model: BlocklistModel) -> None:
    rogue_write(model, rules([f"{BLOCKABLE[0]}/32"]))

    with pytest.raises(AssertionError, match="I2 nothing is in the group that the ledger does not hold"):
        model.nothing_unledgered_is_in_the_group()


def test_an_operation_failing_outside_the_domain_errors_is_caught(model: BlocklistModel) -> None:
    def crash(_: object) -> None:
        raise KeyError("Hosts")

    model._start("prune", "broken prune", None, crash)
    model.finish(pick=0)

    with pytest.raises(AssertionError, match="I0 every operation ends"):
        model.operations_end_with_a_result_or_a_domain_error()


def test_a_rule_that_drops_flows_between_unblocked_hosts_is_caught_by_traffic(model: BlocklistModel) -> None:
    rogue_write(model, rules([f"{BLOCKABLE[0]}/32"], destinations=[]))

    with pytest.raises(
        AssertionError, match=r"I8 traffic: .* -> 198\.51\.100\.200 dropped by rule \(1, 30100\)"
    ):
        model.traffic_between_unblocked_hosts_passes()


def test_a_protected_host_dropped_by_the_group_is_caught_by_traffic(model: BlocklistModel) -> None:
    rogue_write(model, rules([f"{PROTECTED_CONFIGURED}/32"]))

    with pytest.raises(AssertionError, match=rf"I8 traffic: .*{re.escape(PROTECTED_CONFIGURED)}.* dropped"):
        model.traffic_between_unblocked_hosts_passes()


def test_a_confirmed_host_whose_traffic_passes_is_caught_at_quiescence(model: BlocklistModel) -> None:
    model.start_manual_block(host=BLOCKABLE[0])
    model.finish(pick=0)
    model.assert_invariants()

    rogue_write(model, rules([f"{BLOCKABLE[1]}/32"]))

    with pytest.raises(
        AssertionError, match=rf"I7 traffic: .*{re.escape(BLOCKABLE[0])} met aws:forward_to_sfe"
    ):
        model.traffic_to_confirmed_hosts_is_dropped()
