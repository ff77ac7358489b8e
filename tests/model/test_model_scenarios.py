"""Issue 9's races, items 2-4, as scripted interleavings of the model (the same scheduler and checks).

Each scenario pauses operations only at points every version of the writer has ("parked before
UpdateRuleGroup"), not after a count of calls, so it keeps its meaning when the writer changes. Each must
hold every invariant; on the code the issue was filed against, each breaks the one it names.
"""

from collections.abc import Iterator

import pytest

from tests.model.conftest import World
from tests.model.scheduler import Operation
from tests.model.test_model_concurrency import BLOCKABLE, BlocklistModel

pytestmark = pytest.mark.model

OLD, H1, H2, H3, H4, NEW = BLOCKABLE
"""fill_the_group blocks OLD, H1, H2 and H3; H4 and NEW do not fit."""


@pytest.fixture
def model(world: World) -> Iterator[BlocklistModel]:
    machine = BlocklistModel(world)
    yield machine
    machine.teardown()


def execution(model: BlocklistModel, hosts: list[str], seen_ago: float = 0.0) -> Operation:
    """A response execution, started and run to the start of its BlockHosts step."""
    model.start_execution(hosts=hosts, seen_ago=seen_ago, env=0)
    op = model.in_flight[-1]
    for _ in range(100):
        if op.kind == "block" or op.done:
            return op
        model.advance(pick=model.in_flight.index(op), calls=1)
    raise AssertionError(f"{op.label} never reached BlockHosts")


def finish(model: BlocklistModel, op: Operation) -> None:
    model.finish(pick=model.in_flight.index(op))


def fill_the_group(model: BlocklistModel) -> None:
    """Four confirmed finding hosts, OLD seen longest ago: the next host evicts OLD."""
    model.fill(prefill=4)
    model.assert_invariants()


def test_issue_9_item_2_an_execution_never_evicts_a_host_another_is_still_recording(
    model: BlocklistModel,
) -> None:
    fill_the_group(model)
    # A's host was last seen two hours ago (a batched repeat): the oldest host anywhere.
    execution(model, [H4], seen_ago=7200.0)
    b = execution(model, [NEW])

    model.run_until(b, "nfw.update_rule_group")  # B holds the lease and has planned its eviction
    model.settle()

    model.assert_invariants()


def test_issue_9_item_3_a_host_seen_again_during_an_eviction_stays_in_the_group(
    model: BlocklistModel,
) -> None:
    fill_the_group(model)
    evictor = execution(model, [NEW])
    model.run_until(evictor, "nfw.update_rule_group")  # planned: OLD goes

    finish(model, execution(model, [OLD]))
    finish(model, evictor)

    model.assert_invariants()


def test_issue_9_item_3_a_host_blocked_by_hand_during_an_eviction_is_never_evicted(
    model: BlocklistModel,
) -> None:
    fill_the_group(model)
    evictor = execution(model, [NEW])
    model.run_until(evictor, "nfw.update_rule_group")  # planned: OLD goes

    model.start_manual_block(host=OLD)
    finish(model, model.in_flight[-1])
    finish(model, evictor)

    model.manual_blocks_are_never_evicted()
    model.assert_invariants()


def test_issue_9_item_4_an_unblock_between_record_and_block_is_not_undone(model: BlocklistModel) -> None:
    recorded = execution(model, [H1])  # RecordHosts done, BlockHosts not started
    model.start_unblock(host=H1)
    finish(model, model.in_flight[-1])

    finish(model, recorded)

    model.assert_invariants()


def test_a_host_evicted_to_restore_a_re_recorded_host_loses_its_ledger_item_too(
    model: BlocklistModel,
) -> None:
    """Found by the model test, not in the issue: a removal's restore pass may evict, and must then
    reconcile the evicted hosts with the ledger as every other eviction does."""
    fill_the_group(model)
    model.start_unblock(host=H1)
    unblock = model.in_flight[-1]
    model.run_until(unblock, "nfw.update_rule_group")  # H1's item is gone, its removal planned
    execution(model, [H1])  # seen again meanwhile: the unblock must put it back
    execution(model, [H4])  # and one more pending host: putting H1 back evicts OLD

    finish(model, unblock)
    model.settle()

    model.confirmed_ledger_hosts_are_in_the_group()
    model.assert_invariants()


def test_an_execution_waiting_for_the_lease_never_reports_an_unblocked_host_as_blocked(
    model: BlocklistModel,
) -> None:
    """Found by the model test, the waiting side of items 2 and 4: a waiter whose host's item vanished
    (unblocked, evicted) took that as "another writer confirmed it" and notified "Blocked: true"."""
    model.start_prune(env=1)
    prune = model.in_flight[-1]
    model.run_until(prune, "nfw.update_rule_group")  # the prune holds the writer lease
    waiter = execution(model, [H4])
    model.run_until(waiter, "sleep")  # waiting for the lease
    model.start_unblock(host=H4)
    unblock = model.in_flight[-1]
    model.run_until(unblock, "dynamodb.update_item(#writer-lease)")  # H4's item deleted

    finish(model, waiter)
    model.settle()

    model.completed_operations_tell_the_truth()
    model.assert_invariants()


def test_a_manual_block_of_a_host_taken_out_by_hand_puts_it_back_in_the_group(model: BlocklistModel) -> None:
    """Found by the model test on the merged core: a manual block of a host the ledger had confirmed
    returned "blocked by hand" without looking at the group, which a hand edit had changed."""
    fill_the_group(model)
    model.start_hand_edit(host=H1, add=False)
    finish(model, model.in_flight[-1])

    model.start_manual_block(host=H1)
    finish(model, model.in_flight[-1])

    model.completed_operations_tell_the_truth()
    model.operations_end_with_a_result_or_a_domain_error()


def test_a_refused_execution_never_takes_back_a_manual_block_added_to_its_host(model: BlocklistModel) -> None:
    """Found by the model test on the merged core: with the group full of manual blocks, an execution
    refused for capacity deleted its pending item although an operator had meanwhile blocked the same
    host by hand, and the manual block then reported a host in neither the group nor the ledger."""
    for host in (OLD, H1, H2, H3):
        model.start_manual_block(host=host)
        finish(model, model.in_flight[-1])
    refused = execution(model, [H4])  # H4 recorded, pending; it cannot fit
    model.start_manual_block(host=H4)
    by_hand = model.in_flight[-1]
    model.run_until(by_hand, "dynamodb.update_item(#writer-lease)")  # merged into the pending item

    finish(model, refused)
    finish(model, by_hand)
    model.settle()

    model.completed_operations_tell_the_truth()
    model.assert_invariants()
