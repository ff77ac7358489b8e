"""The brake in the model-based test (issue 21, item 4): concurrent findings of new hosts, manual blocks,
re-sightings, crashes and releases, interleaved call by call by the deterministic scheduler.

Every finding names hosts no other finding names (a flood of distinct or forged hosts), except the
re-sightings, which name a host already blocked. Invariants, checked after every step:

- B1 blocks above the ceiling never land: since the last release, at most ``CEILING`` finding hosts have
  entered the ledger or the group (a host a killed step left behind counts too);
- B2 a host the brake refused is never written: not to the ledger, not to the group;
- B3 the brake never refuses what it must not: a completed re-sighting refreshes its host, a completed
  manual block is in the group, and every operation ends with a result or a domain error;
- B4 the brake item is not a host: it is in neither the group nor a ledger listing;
- M1 in monitor mode nothing is dropped: no rule of ours in the group has ``aws:drop``; after a switch of
  ``enforcement`` (the deployment's repopulation, with nothing in flight) every rule of ours is in the new
  mode and the ledger holds exactly the hosts it held.
The clock stays in one period (a release is the only new start): the period's arithmetic is the
integration test's (tests/integration/test_brake.py).
"""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from handlers import clock
from handlers.brake import BRAKE_KEY, Brake
from handlers.errors import BlocklistError
from handlers.ledger import Ledger
from handlers.rules import DROP_ACTIONS, MONITOR_ACTIONS, is_our_rendering
from handlers.service import BlocklistService
from handlers.settings import Enforcement
from nfw_blocklist.findings import documentation_hosts
from tests.integration import stack
from tests.model.conftest import PROFILE, REGION, Scheduled, World, model_profiles
from tests.model.scheduler import Killed, Operation
from tests.model.test_model_concurrency import probe_event

pytestmark = pytest.mark.model

CEILING = 3
START = 1_800_000_000.0
FINDING_HOSTS = documentation_hosts(60)
MANUAL_HOSTS = tuple(f"203.0.113.{n}" for n in range(1, 20))
MAX_STEPS = 400

PROFILES = model_profiles("NFW_MODEL_EXAMPLES", ci=(6, 20), soak=(300, 50))


class BrakeModel(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        world = self.world
        world.examples += 1
        suffix = f"brake-{world.examples}"
        stack.create_table(name=f"ledger-{suffix}")
        arn = stack.create_rule_group(capacity=200, rules=[stack.FOREIGN_RULE], name=f"rules-{suffix}")
        self.settings = replace(
            stack.settings(arn), table_name=f"ledger-{suffix}", brake_max_new_blocks=CEILING
        )
        self.scheduled = Scheduled.start(world, START)
        self.clock, self.scheduler = self.scheduled.clock, self.scheduled.scheduler
        self.judge = Ledger(self.settings.table_name, client=world.dynamodb)
        self.in_flight: list[Operation] = []
        self.unused = list(FINDING_HOSTS)
        self.manual = list(MANUAL_HOSTS)
        self.landed_since_release: set[str] = set()
        self.landed_before_release: set[str] = set()
        self.refused_ever: set[str] = set()
        self.released_hosts: set[str] = set()
        """Hosts refused before a release: a later finding may block them (none does here: fresh hosts)."""
        self.violations: list[str] = []

    def _service(self) -> BlocklistService:
        return self.scheduled.service(self.settings)

    def _start(self, label: str, body: Callable[[BlocklistService], Any], **facts: Any) -> None:
        service = self._service()
        self.in_flight.append(self.scheduler.start("op", label, lambda: body(service), **facts))

    # -- rules --------------------------------------------------------------------------------------
    @initialize(monitor=st.booleans())
    def choose_mode(self, monitor: bool) -> None:
        self._set_mode(monitor)

    def _set_mode(self, monitor: bool) -> None:
        enforcement = Enforcement.MONITOR if monitor else Enforcement.ENFORCE
        self.settings = replace(self.settings, enforcement=enforcement)

    @precondition(lambda self: not self.in_flight)
    @rule()
    def switch_mode(self) -> None:
        """A deployment that flips ``enforcement``: the functions' new environment, then the repopulation
        (a full sync), with nothing in flight."""
        before = {record.host for record in self.judge.all_records()}
        self._set_mode(not self.settings.monitor)
        BlocklistService.create(
            self.settings,
            dynamodb=self.world.dynamodb,
            network_firewall=self.world.network_firewall,
            region=REGION,
        ).prune()
        expected = list(MONITOR_ACTIONS if self.settings.monitor else DROP_ACTIONS)
        ours = [rule for rule in stack.rules_of(self.settings.rule_group_arn) if is_our_rendering(rule)]
        if any(rule["RuleDefinition"]["Actions"] != expected for rule in ours):
            self.violations.append(f"M1 after the switch our rules are not all {expected}: {ours}")
        after = {record.host for record in self.judge.all_records()}
        if after != before:
            self.violations.append(f"M1 the switch changed the ledger: {sorted(before ^ after)}")

    @precondition(lambda self: len(self.unused) >= 3)
    @rule(count=st.integers(1, 3))
    def flood_finding(self, count: int) -> None:
        hosts, self.unused = self.unused[:count], self.unused[count:]

        def execute(service: BlocklistService) -> dict[str, Any]:
            recorded = service.record(probe_event(hosts, f"flood-{hosts[0]}", self.clock() - 60))
            return {"record": recorded, "block": service.block(recorded) if recorded["has_hosts"] else None}

        self._start(f"finding {hosts}", execute, what="finding", hosts=hosts)

    @precondition(lambda self: bool(self.landed_since_release))
    @rule(pick=st.integers(0, 50))
    def re_sighting(self, pick: int) -> None:
        host = sorted(self.landed_since_release)[pick % len(self.landed_since_release)].split("/")[0]
        if self.judge.get(f"{host}/32") is None:
            return
        n = self.scheduler.started

        def execute(service: BlocklistService) -> dict[str, Any]:
            recorded = service.record(probe_event([host], f"again-{host}-{n}", self.clock()))
            return {"record": recorded, "block": service.block(recorded) if recorded["has_hosts"] else None}

        self._start(f"re-sighting {host}", execute, what="again", host=f"{host}/32")

    @precondition(lambda self: bool(self.manual))
    @rule()
    def manual_block(self) -> None:
        host = self.manual.pop(0)
        self._start(
            f"manual block {host}", lambda s: s.manual_block(host, "model"), what="manual", host=f"{host}/32"
        )

    @precondition(lambda self: bool(self.in_flight))
    @rule(pick=st.integers(0, 7), steps=st.integers(1, 6))
    def step(self, pick: int, steps: int) -> None:
        self._advance(pick, steps)

    @precondition(lambda self: bool(self.in_flight))
    @rule(pick=st.integers(0, 7))
    def finish(self, pick: int) -> None:
        self._advance(pick, MAX_STEPS)

    def _advance(self, pick: int, steps: int) -> None:
        """Up to ``steps`` calls of the picked operation in flight (fewer if it ends)."""
        op = self.in_flight[pick % len(self.in_flight)]
        for _ in range(steps):
            if op.done:
                break
            self.scheduler.step(op)
        self._reap()

    @precondition(lambda self: bool(self.in_flight))
    @rule(pick=st.integers(0, 7))
    def crash(self, pick: int) -> None:
        self.scheduler.kill(self.in_flight[pick % len(self.in_flight)])
        self._reap()

    @precondition(lambda self: not self.in_flight)
    @rule()
    def release(self) -> None:
        """The operator's ``brake release`` (with nothing in flight: a clean start of the count)."""
        Brake(self.judge).release(self.clock())
        self.landed_before_release |= self.landed_since_release
        self.landed_since_release = set()
        self.released_hosts |= self.refused_ever

    def _reap(self) -> None:
        for op in [op for op in self.in_flight if op.done]:
            self.in_flight.remove(op)
            self._judge(op)

    def _judge(self, op: Operation) -> None:
        if isinstance(op.error, Killed):
            return
        if op.error is not None and not isinstance(op.error, BlocklistError):
            self.violations.append(f"B3 {op.label} raised {type(op.error).__name__}: {op.error}")
            return
        kind = op.facts["what"]
        if op.error is None and kind == "again":
            record = op.result["record"]
            if record.get("brake"):
                self.violations.append(f"B3 {op.label}: a re-sighting was braked: {record['brake']}")
        if (
            op.error is None
            and kind == "manual"
            and op.facts["host"] not in stack.blocked_in_group(self.settings.rule_group_arn)
        ):
            self.violations.append(f"B3 {op.label}: the manual block is not in the group")

    # -- invariants ---------------------------------------------------------------------------------
    @invariant()
    def judge_the_state(self) -> None:
        items = {record.host: record for record in self.judge.all_records()}
        group = stack.blocked_in_group(self.settings.rule_group_arn)
        finding_hosts = {f"{host}/32" for host in FINDING_HOSTS}
        landed = (set(items) | group) & finding_hosts
        self.landed_since_release |= landed - self.landed_before_release
        refused = set(Brake(self.judge).state(self.clock()).refused)
        self.refused_ever |= refused
        problems = list(self.violations)
        if len(self.landed_since_release) > CEILING:
            problems.append(
                f"B1 {len(self.landed_since_release)} finding hosts landed: {self.landed_since_release}"
            )
        written = (refused | (self.refused_ever - self.released_hosts)) & (set(items) | group)
        if written:
            problems.append(f"B2 refused hosts were written: {sorted(written)}")
        if BRAKE_KEY in items or BRAKE_KEY in group:
            problems.append("B4 the brake item is listed as a host")
        if self.settings.monitor:
            drops = [
                rule
                for rule in stack.rules_of(self.settings.rule_group_arn)
                if is_our_rendering(rule) and "aws:drop" in rule["RuleDefinition"]["Actions"]
            ]
            if drops:
                problems.append(f"M1 monitor mode, yet our rules drop: {drops}")
        assert not problems, "\n".join([*problems, *self.scheduler.trace[-40:]])

    def teardown(self) -> None:
        for op in list(self.in_flight):
            if not op.done:
                self.scheduler.kill(op)
        clock.set_clock(None)


def test_blocks_above_the_ceiling_never_land_whatever_the_interleaving(world: World) -> None:
    BrakeModel.world = world
    run_state_machine_as_test(BrakeModel, settings=PROFILES[PROFILE])
