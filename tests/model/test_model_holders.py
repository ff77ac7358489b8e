"""An analyst's release of a finding, scripted against the model (the same scheduler and invariants):
it ends only that finding's holds, and the finding blocks nothing again, whatever it races with."""

from collections.abc import Iterator

import pytest

from tests.model.conftest import World
from tests.model.test_model_concurrency import BLOCKABLE, BlocklistModel
from tests.model.test_model_scenarios import execution, finish

pytestmark = pytest.mark.model

H1, H2, H3 = BLOCKABLE[:3]
FIRST, SECOND = "model-finding-1", "model-finding-2"


@pytest.fixture
def model(world: World) -> Iterator[BlocklistModel]:
    machine = BlocklistModel(world)
    yield machine
    machine.teardown()


def release(model: BlocklistModel, finding: str) -> None:
    model.start_release(pick=sorted(model.finding_hosts).index(finding))


def test_a_release_keeps_the_hosts_another_finding_or_a_manual_block_holds(model: BlocklistModel) -> None:
    finish(model, execution(model, [H1, H2, H3]))
    finish(model, execution(model, [H2]))
    model.start_manual_block(H3)
    model.settle()

    release(model, FIRST)
    model.settle()

    model.assert_invariants()
    assert model._group()[0] == {f"{H2}/32", f"{H3}/32"}


def test_a_release_during_the_findings_record_step_leaves_nothing_of_it(model: BlocklistModel) -> None:
    model.start_execution(hosts=[H1], seen_ago=0.0, env=0)
    recording = model.in_flight[-1]
    model.run_until(recording, "dynamodb.get_item")  # the holds write is done, the host write is next

    release(model, FIRST)
    model.finish(pick=len(model.in_flight) - 1)
    model.settle()

    model.assert_invariants()
    assert model._group()[0] == set()


def test_a_finding_seen_again_after_its_release_blocks_nothing(model: BlocklistModel) -> None:
    finish(model, execution(model, [H1]))
    release(model, FIRST)
    model.settle()

    model.resight(pick=0, more=H2, env=0)
    model.settle()

    model.assert_invariants()
    assert model._group()[0] == set()


def test_a_release_racing_another_findings_sighting_of_its_host_keeps_the_host(model: BlocklistModel) -> None:
    finish(model, execution(model, [H1]))
    release(model, FIRST)
    releasing = model.in_flight[-1]
    model.run_until(releasing, "dynamodb.delete_item")  # about to end FIRST's hold on H1

    finish(model, execution(model, [H1]))  # SECOND names H1 now
    model.settle()

    model.assert_invariants()
    assert model._group()[0] == {f"{H1}/32"}


def test_a_prune_between_a_releases_steps_leaves_ledger_and_group_agreeing(model: BlocklistModel) -> None:
    finish(model, execution(model, [H1, H2]))
    finish(model, execution(model, [H2]))
    release(model, FIRST)
    releasing = model.in_flight[-1]
    model.run_until(releasing, "nfw.update_rule_group")  # H1's item is gone, the group not yet written

    model.start_prune(env=1)
    model.finish(pick=len(model.in_flight) - 1)
    model.settle()

    model.assert_invariants()
    assert model._group()[0] == {f"{H2}/32"}


def test_a_manual_block_racing_a_release_keeps_the_host(model: BlocklistModel) -> None:
    finish(model, execution(model, [H1]))
    release(model, FIRST)
    releasing = model.in_flight[-1]
    model.run_until(releasing, "dynamodb.delete_item")

    model.start_manual_block(H1)
    model.finish(pick=len(model.in_flight) - 1)
    model.settle()

    model.assert_invariants()
    assert model._group()[0] == {f"{H1}/32"}


def test_a_manual_block_between_a_releases_delete_and_its_write_keeps_the_host(model: BlocklistModel) -> None:
    finish(model, execution(model, [H1]))
    release(model, FIRST)
    releasing = model.in_flight[-1]
    model.run_until(releasing, "dynamodb.delete_item")
    model.advance(pick=model.in_flight.index(releasing), calls=1)  # H1's item is gone, the group not written

    model.start_manual_block(H1)
    model.finish(pick=len(model.in_flight) - 1)
    model.settle()

    model.assert_invariants()
    assert model._group()[0] == {f"{H1}/32"}
