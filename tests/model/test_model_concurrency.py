"""The model-based concurrency test: every interleaving Hypothesis can find, checked after every step.

Operations run against moto's DynamoDB and the rule-group emulator through the public service API
(`BlocklistService.create`, `record`, `block`, `prune`, `manual_block`, `unblock`), each in its own
thread, paused before every AWS call and every sleep by the deterministic scheduler
(`tests/model/scheduler.py`). Hypothesis chooses what starts, which operation makes its next call,
which one crashes, when a token race is lost or a call throttled, and when the clock moves.

The invariants, and when each must hold:

- at every step (checked on every UpdateRuleGroup request and on every completed operation):
  I0 every operation ends with a result or a domain error, and bad input changes nothing;
  I3 no write of ours drops a host whose ledger item is manual and confirmed (not pending), unless
     that write is the operator's unblock of it or a prune that deleted its expired item;
  I4 no write of ours puts a protected host in the owned rules;
  I5 what a completed operation reports is true when it returns: a block's or manual block's hosts are
     in the group, an unblock's or prune's hosts are out of it, unless another operation changed that
     host in the group during the operation's lifetime;
  I6 no owned rule of ours has empty Sources (Destinations): it would match everything;
  I8 traffic (judged by the verdict engine, ``nfw_blocklist.traffic``, on the group as it stands): a
     flow between a protected or never-blocked host and an instance, or between two never-blocked
     hosts, is not dropped (the match-all guard and I4 by behaviour, not by rule shape), unless an
     operator's hand edit put that host in the group after our last write (ours takes it out again);
- when nothing is in flight and nothing has disturbed the system since the last clean prune (a crash,
  a timeout, a hand edit, a failed execution):
  I1 every ledger host that is not pending is in the group;
  I2 nothing is in the owned rules that the ledger does not hold;
  I7 traffic: a flow from or to every confirmed ledger host is dropped, both ways;
- right after a clean prune (one that ran with nothing else in flight): I1 and I2, whatever happened
  before it;
- holders (an analyst's release of a finding, docs/DESIGN.md "Holders"):
  I9 a host released by an analyst is not re-blocked by the same finding: once a release of a finding
     has completed, and for the retention period, no ledger item names that finding among its holders
     when nothing is in flight (unless a record step of that finding failed, which the model does not
     retry: a retried or later record step of the finding takes those hosts back, else they expire);
  I10 a host another finding or a manual block holds is never released by this one: every item a
     release deletes is held by no other finding and was not blocked by hand.

The budget is small in `make test` (derandomised: the same examples every run) and large in
`make soak` (NFW_MODEL_PROFILE=soak).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from moto.core import DEFAULT_ACCOUNT_ID
from moto.networkfirewall.models import networkfirewall_backends

from components.response import FUNCTIONS
from handlers import clock
from handlers.errors import (
    BlocklistError,
    CapacityExceeded,
    FirewallUnavailable,
    InvalidInput,
    RuleGroupContention,
)
from handlers.ledger import Ledger, holder_of
from handlers.service import BlocklistService
from nfw_blocklist import emulator
from nfw_blocklist.findings import sample
from nfw_blocklist.traffic import TCP, FirewallEngine, Packet, StatelessPolicy
from tests.integration import stack
from tests.model.conftest import PROFILE, REGION, Scheduled, World, model_profiles
from tests.model.scheduler import Killed, Operation

pytestmark = pytest.mark.model

NO_UNEXPECTED_ERROR = "I0 every operation ends with a result or a domain error; bad input changes nothing"
CONFIRMED_IN_GROUP = "I1 a ledger host that is not pending is in the group"
NOTHING_UNLEDGERED = "I2 nothing is in the group that the ledger does not hold"
MANUAL_NEVER_EVICTED = "I3 a manual block is never evicted"
PROTECTED_NEVER_WRITTEN = "I4 no protected host is ever written to the group"
REPORTS_TRUE = "I5 every completed operation tells the truth"
NO_MATCH_ALL = "I6 no owned rule matches everything"
TRAFFIC_DROPS_CONFIRMED = "I7 traffic: a flow from or to a confirmed host is dropped"
TRAFFIC_SPARES_UNBLOCKED = "I8 traffic: a flow from or to a protected or never-blocked host passes"
RELEASE_FINAL = "I9 a host released by an analyst is not re-blocked by the same finding"
RELEASE_OWN_HOLD = "I10 a host another finding or a manual block holds is never released by this one"

START = 1_800_000_000.0
RETENTION_MINUTES = 60
HOST_CAPACITY = 4
"""Small enough that six blockable hosts make the writer evict."""
BLOCKABLE = ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5", "2001:db8::7")
PROTECTED_BUILT_IN = "10.0.0.1"
PROTECTED_CONFIGURED = "203.0.113.9"
PROTECTED_CIDRS = ("203.0.113.0/24",)
"""The stack's own never-block ranges, besides the built-in ones (which cover PROTECTED_BUILT_IN)."""
POOL = (*BLOCKABLE, PROTECTED_BUILT_IN, PROTECTED_CONFIGURED)
PROTECTED = frozenset({f"{PROTECTED_BUILT_IN}/32", f"{PROTECTED_CONFIGURED}/32"})
INSTANCES = {4: "10.0.1.15", 6: "fd00::15"}
"""Where the probe flows start, inside the protected VPC (private addresses are protected by default)."""
NEVER_BLOCKED = ("198.51.100.200", "198.51.100.201", "2001:db8::200")
"""Hosts no operation ever names."""
SPARED_FLOWS = (
    (INSTANCES[4], NEVER_BLOCKED[0]),
    (NEVER_BLOCKED[0], NEVER_BLOCKED[1]),
    (INSTANCES[4], PROTECTED_CONFIGURED),
    (PROTECTED_BUILT_IN, NEVER_BLOCKED[1]),
    (INSTANCES[6], NEVER_BLOCKED[2]),
)
"""A few flows between unblocked hosts, each sent both ways: a cheap behavioural check per step."""
CLOCK_STEPS = (0.5, 2.0, 16.0, 31.0, 61.0, RETENTION_MINUTES * 60 + 60.0)
"""Past a write interval, a lease, the lease wait, a stale pending host, and the retention."""
SEEN_AGO = (0.0, 600.0, 7200.0)
"""How long before it is recorded a finding last saw its host (GuardDuty batches repeats for hours)."""
ENVIRONMENTS = 2
LOSE_TOKEN_RACE = "the next UpdateRuleGroup loses the token race"
THROTTLE_DYNAMODB = "the next DynamoDB call is throttled"
THROTTLE_FIREWALL = "the next Network Firewall call is throttled"
FAULTS = (LOSE_TOKEN_RACE, THROTTLE_DYNAMODB, THROTTLE_FIREWALL)
"""Warm execution environments the operations may reuse (their writers remember the group's token)."""
TIMEOUTS = {spec.key: float(spec.timeout_seconds) for spec in FUNCTIONS}
"""Lambda stops an execution at its function's timeout (the CLI's commands have none)."""
RETRIED_ERRORS = (RuleGroupContention, FirewallUnavailable)
"""What the response state machine retries BlockHosts on."""
MAX_STEPS_PER_RULE = 2000
"""Enough to outwait a crashed lease holder (the lease lapses after 15 s of 0.1-0.2 s polls)."""

PROFILES = model_profiles("NFW_MODEL_EXAMPLES", ci=(60, 30), soak=(800, 60))


@dataclass(frozen=True)
class GroupWrite:
    """One successful UpdateRuleGroup: who wrote it and the hosts blocked before and after."""

    op: Operation
    before: frozenset[str]
    after: frozenset[str]


@dataclass
class Recording:
    """A completed RecordHosts and the state of its BlockHosts step."""

    op: Operation
    output: dict[str, Any]
    block: str = "not started"
    """not started | running | retryable | done"""


class BlocklistModel(RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        world.examples += 1
        self.world = world
        suffix = f"model-{world.examples}"
        stack.create_table(name=f"ledger-{suffix}")
        arn = self._create_group(f"rules-{suffix}")
        self.settings = replace(
            stack.settings(arn, **self.settings_overrides),
            table_name=f"ledger-{suffix}",
            retention_minutes=RETENTION_MINUTES,
            protected_cidrs=PROTECTED_CIDRS,
        )
        self.scheduled = Scheduled.start(world, START, self._intercept)
        self.clock, self.scheduler = self.scheduled.clock, self.scheduled.scheduler
        self.network_firewall = self.scheduled.network_firewall
        self.judge_ledger = Ledger(self.settings.table_name, client=world.dynamodb)
        self.environments = [self._service(n) for n in range(ENVIRONMENTS)]
        self.busy: dict[int, Operation] = {}
        self.in_flight: list[Operation] = []
        self.recordings: list[Recording] = []
        self.history: list[GroupWrite] = []
        self.violations: list[tuple[str, str]] = []
        self.disturbed: str | None = None
        self.conflicts_armed = 0
        self.throttle_dynamodb = 0
        self.throttle_firewall = 0
        self.findings = 0
        self.finding_hosts: dict[str, list[str]] = {}
        """Every finding started so far, with the hosts its first event named."""
        self.released: dict[str, float] = {}
        """Findings whose release completed, with when that release started."""
        self.record_died: set[str] = set()
        """Findings a record step of which failed (and is not retried here): I9's one open window."""
        self.checked_at: tuple[int, float] | None = None
        self.spared_version: Any = None
        self.hand_added: set[str] = set()
        """Hosts an operator's hand edit put in the group since our last write (I8 spares them: the
        operator blocked them; our next write takes a protected one out, and I4 and I8 judge that write)."""

    group_type = "STATELESS"
    """The IP group's type (the Next Generation model, ``test_model_next_generation``, writes FIREWALL)."""
    settings_overrides: dict[str, Any] = {}

    def _create_group(self, name: str) -> str:
        return stack.create_rule_group(capacity=2 + 2 * HOST_CAPACITY, rules=[stack.FOREIGN_RULE], name=name)

    # -- operations ------------------------------------------------------------------------------
    def _service(self, seed: int) -> BlocklistService:
        return self.scheduled.service(self.settings, seed)

    def _start(
        self, kind: str, label: str, env: int | None, body: Callable[[BlocklistService], Any], **facts: Any
    ) -> Operation:
        if env is not None and env not in self.busy:
            service = self.environments[env]
        else:
            service = self._service(1000 + self.scheduler.started)  # a cold environment
        for other in self.in_flight:
            other.facts["alone"] = False
        op = self.scheduler.start(kind, label, lambda: body(service), alone=not self.in_flight, **facts)
        op.history_start = len(self.history)
        if env is not None and service is self.environments[env]:
            self.busy[env] = op
        self.in_flight.append(op)
        return op

    def _step(self, op: Operation) -> None:
        timeout = TIMEOUTS.get(op.kind)
        resumes_at = max(self.clock(), op.wake_at or 0.0)
        if timeout is not None and resumes_at - op.started_at > timeout:
            op.facts["timed_out"] = True
            self.clock.advance_to(op.started_at + timeout)
            op.wake_at = None
            self.scheduler.kill(op)
        else:
            self.scheduler.step(op)
        if op.done:
            self._finished(op)

    def run_until(self, op: Operation, call: str) -> None:
        """Step ``op`` until it is parked before ``call`` (e.g. "nfw.update_rule_group") or done."""
        for _ in range(MAX_STEPS_PER_RULE):
            if op.done or op.next_call.startswith(call):
                return
            self._step(op)

    def assert_invariants(self) -> None:
        """Every invariant, as Hypothesis checks them after each rule (for scripted scenarios)."""
        self.confirmed_ledger_hosts_are_in_the_group()
        self.nothing_unledgered_is_in_the_group()
        self.operations_end_with_a_result_or_a_domain_error()
        self.manual_blocks_are_never_evicted()
        self.protected_hosts_are_never_written()
        self.completed_operations_tell_the_truth()
        self.no_owned_rule_matches_everything()
        self.traffic_to_confirmed_hosts_is_dropped()
        self.traffic_between_unblocked_hosts_passes()
        self.released_findings_block_nothing()
        self.a_release_ends_only_its_own_hold()

    def _pick(self, pick: int) -> Operation:
        return self.in_flight[pick % len(self.in_flight)]

    # -- what each operation does ----------------------------------------------------------------
    @initialize(prefill=st.integers(0, HOST_CAPACITY))
    def fill(self, prefill: int) -> None:
        """Start with ``prefill`` hosts blocked one after the other, the first seen longest ago."""
        for n, host in enumerate(BLOCKABLE[:prefill]):
            self.start_execution(hosts=[host], seen_ago=600.0 * (prefill - n), env=0)
            self.finish(pick=len(self.in_flight) - 1)

    @rule(
        hosts=st.lists(st.sampled_from(POOL), min_size=1, max_size=3, unique=True),
        seen_ago=st.sampled_from(SEEN_AGO),
        env=st.integers(0, 1),
    )
    def start_execution(self, hosts: list[str], seen_ago: float, env: int) -> None:
        """A response workflow execution: RecordHosts, then BlockHosts if it recorded anything."""
        self.findings += 1
        finding = f"model-finding-{self.findings}"
        self.finding_hosts[finding] = hosts
        event = probe_event(hosts, finding, self.clock() - seen_ago)

        self._start_finding(event, f"execution {hosts}", env, finding=finding)

    @precondition(lambda self: self.finding_hosts)
    @rule(pick=st.integers(0, 7), more=st.sampled_from(POOL), env=st.integers(0, 1))
    def resight(self, pick: int, more: str, env: int) -> None:
        """GuardDuty updates a finding: the same id, seen again, naming one more host."""
        finding = sorted(self.finding_hosts)[pick % len(self.finding_hosts)]
        hosts = list(dict.fromkeys([*self.finding_hosts[finding], more]))
        event = probe_event(hosts, finding, self.clock())
        self._start_finding(event, f"re-sighting of {finding} {hosts}", env, finding=finding)

    @precondition(lambda self: self.finding_hosts)
    @rule(pick=st.integers(0, 7))
    def start_release(self, pick: int) -> None:
        """An analyst suppresses a finding (or picks "Unblock (false positive)" on it)."""
        finding = sorted(self.finding_hosts)[pick % len(self.finding_hosts)]
        self._start(
            "release",
            f"release of {finding}",
            None,
            lambda service: service.release_finding(finding, by="model analyst"),
            finding=finding,
        )

    def _start_finding(self, event: dict[str, Any], label: str, env: int, finding: str = "") -> None:
        """Start a response workflow execution for ``event``: RecordHosts, then BlockHosts if it
        recorded anything."""

        def execute(service: BlocklistService) -> dict[str, Any]:
            recorded = service.record(event)
            op = self.scheduler.current()
            assert op is not None
            if "steer" in recorded:
                # SteerHosts (the steer function) releases what this step wrote of a released finding.
                service.steer(recorded)
            if not recorded["has_hosts"]:
                return {"record": recorded}
            # BlockHosts is another invocation, of another function with its own timeout.
            op.kind, op.started_at = "block", self.clock()
            op.facts["recording"] = recording = Recording(op, recorded, block="running")
            self.recordings.append(recording)
            return {"record": recorded, "block": service.block(recorded)}

        self._start("record", label, env, execute, finding=finding)

    @precondition(lambda self: self._blockable())
    @rule(pick=st.integers(0, 7), env=st.integers(0, 1))
    def retry_block(self, pick: int, env: int) -> None:
        """The state machine retries BlockHosts after RuleGroupContention or FirewallUnavailable."""
        recording = self._blockable()[pick % len(self._blockable())]
        recording.block = "running"
        output = recording.output
        self._start(
            "block",
            f"retried block of {recording.op.label}",
            env,
            lambda service: {"record": output, "block": service.block(output)},
            recording=recording,
        )

    @rule(env=st.integers(0, 1))
    def start_prune(self, env: int) -> None:
        self._start("prune", "prune", env, lambda service: service.prune())

    @rule(host=st.sampled_from(POOL))
    def start_manual_block(self, host: str) -> None:
        self._start(
            "manual_block",
            f"manual block {host}",
            None,
            lambda service: service.manual_block(host, "model test", None),
            host=canonical(host),
        )

    @rule(host=st.sampled_from(POOL))
    def start_unblock(self, host: str) -> None:
        self._start(
            "unblock", f"unblock {host}", None, lambda service: service.unblock(host), host=canonical(host)
        )

    @rule(host=st.sampled_from(POOL), add=st.booleans())
    def start_hand_edit(self, host: str, add: bool) -> None:
        """An operator edits the owned rules in the console: DescribeRuleGroup, then UpdateRuleGroup."""
        self._start(
            "hand_edit",
            f"hand edit {'adding' if add else 'removing'} {host}",
            None,
            lambda _: self._hand_edit(canonical(host), add),
        )

    def _hand_edit(self, host: str, add: bool) -> None:
        hand_edit(self.network_firewall, self.settings.rule_group_arn, self._priorities(), host, add)

    @precondition(lambda self: self.in_flight)
    @rule(pick=st.integers(0, 7), calls=st.integers(1, 6))
    def advance(self, pick: int, calls: int) -> None:
        op = self._pick(pick)
        for _ in range(calls):
            if op.done:
                return
            self._step(op)

    @precondition(lambda self: self.in_flight)
    @rule(pick=st.integers(0, 7))
    def finish(self, pick: int) -> None:
        op = self._pick(pick)
        for _ in range(MAX_STEPS_PER_RULE):
            if op.done:
                return
            self._step(op)

    @precondition(lambda self: self.in_flight)
    @rule()
    def settle(self) -> None:
        """Everything in flight takes turns, one call each, until nothing is left."""
        for _ in range(MAX_STEPS_PER_RULE):
            if not self.in_flight:
                return
            for op in list(self.in_flight):
                if not op.done:
                    self._step(op)

    @precondition(lambda self: self.in_flight)
    @rule(pick=st.integers(0, 7))
    def crash(self, pick: int) -> None:
        op = self._pick(pick)
        self.scheduler.kill(op)
        self._finished(op)

    @rule(fault=st.sampled_from(FAULTS))
    def inject(self, fault: str) -> None:
        """Arm a fault for the next call of its kind, whichever operation makes it."""
        if fault == LOSE_TOKEN_RACE:
            self.conflicts_armed += 1
        elif fault == THROTTLE_DYNAMODB:
            self.throttle_dynamodb += 1
        else:
            self.throttle_firewall += 1

    @rule(seconds=st.sampled_from(CLOCK_STEPS))
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    # -- the scheduler's view of every call ------------------------------------------------------
    def _intercept(
        self, op: Operation, service: str, method: str, request: dict[str, Any], make: Callable[[], Any]
    ) -> Any:
        if service == "dynamodb":
            if self.throttle_dynamodb:
                self.throttle_dynamodb -= 1
                raise ClientError(
                    {
                        "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"},
                        "ResponseMetadata": {"HTTPStatusCode": 400},
                    },
                    method,
                )
            if method == "delete_item" and op.kind == "release":
                key = request["Key"][next(iter(request["Key"]))]["S"]
                before_delete = self.judge_ledger.get(key) if not key.startswith("#") else None
            answer = make()
            if method == "delete_item" and op.kind == "release" and before_delete is not None:
                self._check_release_deleted(op, before_delete)
            if method in {"put_item", "update_item", "delete_item", "batch_write_item"}:
                op.writes += 1
            if method == "delete_item":
                op.deleted.add(request["Key"][next(iter(request["Key"]))]["S"])
            return answer
        if method != "update_rule_group":
            return self._with_faults(make, conflict=False)
        ours = op.kind != "hand_edit"
        before = self._group()[0]
        rules = self._requested_rules(request)
        if ours:
            self._check_request(op, rules)
        answer = self._with_faults(make, conflict=True)
        after = self._written(rules)
        self.history.append(GroupWrite(op, frozenset(before), frozenset(after)))
        op.writes += 1
        if ours:
            self.hand_added.clear()
            self._check_manual_kept(op, before - after)
        else:
            self.hand_added = (self.hand_added | (after - before)) - (before - after)
        return answer

    def _requested_rules(self, request: dict[str, Any]) -> Any:
        """What an UpdateRuleGroup request writes, as ``_check_request`` and ``_written`` read it."""
        return request["RuleGroup"]["RulesSource"]["StatelessRulesAndCustomActions"]["StatelessRules"]

    def _written(self, rules: list[dict[str, Any]]) -> set[str]:
        """What the group blocks once ``rules`` are written (a subclass adds what other groups hold)."""
        return owned_hosts(rules, self._priorities())[0]

    def _with_faults(self, make: Callable[[], Any], conflict: bool) -> Any:
        throttle = self.throttle_firewall > 0
        conflict = conflict and self.conflicts_armed > 0 and not throttle
        if not (throttle or conflict):
            return make()
        self.throttle_firewall -= int(throttle)
        self.conflicts_armed -= int(conflict)
        emulator.faults(REGION).set(throttle_next=int(throttle), token_conflict_rate=float(conflict))
        try:
            return make()
        finally:
            emulator.faults(REGION).clear()

    def _check_request(self, op: Operation, rules: list[dict[str, Any]]) -> None:
        source, destination = self._priorities()
        for rule_ in rules:
            priority = rule_.get("Priority")
            if priority not in (source, destination):
                continue
            match = rule_.get("RuleDefinition", {}).get("MatchAttributes", {})
            setting = "Sources" if priority == source else "Destinations"
            if not match.get(setting):
                self._violate(NO_MATCH_ALL, f"{op.label} wrote priority {priority} with no {setting}")
            written = {
                entry.get("AddressDefinition")
                for key in ("Sources", "Destinations")
                for entry in match.get(key, [])
            }
            if written & PROTECTED:
                self._violate(PROTECTED_NEVER_WRITTEN, f"{op.label} wrote {sorted(written & PROTECTED)}")

    def _check_manual_kept(self, op: Operation, dropped: set[str]) -> None:
        for host in sorted(dropped):
            if op.kind == "unblock" and op.facts["host"] == host:
                continue
            if op.kind == "prune" and host in op.deleted:
                continue
            record = self.judge_ledger.get(host)
            if record is not None and record.source == "manual" and not record.pending:
                self._violate(MANUAL_NEVER_EVICTED, f"{op.label} dropped {host}, a confirmed manual block")

    def _check_release_deleted(self, op: Operation, record: Any) -> None:
        """The release of ``op.facts["finding"]`` just deleted ``record``'s item (read right before)."""
        others = record.holders - {holder_of(op.facts["finding"])}
        if record.source == "manual" or others or not record.holders_complete:
            self._violate(
                RELEASE_OWN_HOLD,
                f"{op.label} deleted {record.host}, held by {len(others)} other finding(s), "
                f"source {record.source}, holders complete: {record.holders_complete}",
            )

    # -- judging completed operations ------------------------------------------------------------
    def _finished(self, op: Operation) -> None:
        self.in_flight.remove(op)
        for env, busy in list(self.busy.items()):
            if busy is op:
                del self.busy[env]
        recording: Recording | None = op.facts.get("recording")
        error = op.error
        if op.kind == "record" and op.facts.get("finding") and error is not None:
            # The state machine would retry it (its H1 then takes the hosts back); the model does not.
            self.record_died.add(op.facts["finding"])
        if isinstance(error, Killed):
            self._disturb(f"{op.label} {'timed out' if op.facts.get('timed_out') else 'crashed'}")
            if recording is not None:
                recording.block = "done"
            return
        if op.kind == "hand_edit":
            if error is None:
                self._disturb(f"{op.label}")
            elif not isinstance(error, ClientError):
                self._violate(NO_UNEXPECTED_ERROR, f"{op.label} raised {error!r}")
            return
        if error is not None:
            if not isinstance(error, BlocklistError):
                self._violate(NO_UNEXPECTED_ERROR, f"{op.label} raised {type(error).__name__}: {error}")
            elif isinstance(error, InvalidInput) and op.writes:
                self._violate(NO_UNEXPECTED_ERROR, f"{op.label} refused its input after {op.writes} writes")
            elif not isinstance(error, InvalidInput | CapacityExceeded):
                self._disturb(f"{op.label} failed: {type(error).__name__}")
            if recording is not None:
                recording.block = "retryable" if isinstance(error, RETRIED_ERRORS) else "done"
            return
        result = op.result
        group = self._group()[0]
        if op.kind == "block":
            assert recording is not None
            recording.block = "done"
            block = result["block"]
            notification = block["notification"]
            claimed = [*notification["Hosts"], *notification["Domains"]] if block["notify"] else []
            self._check_present(op, claimed, group, "reported blocked")
        elif op.kind == "manual_block":
            self._check_present(op, [result["host"]], group, "blocked by hand")
        elif op.kind == "unblock":
            self._check_absent(op, [result["host"]], group, "unblocked")
        elif op.kind == "release":
            self.released.setdefault(op.facts["finding"], op.started_at)
            self._check_absent(op, result["released"], group, "released")
        elif op.kind == "prune":
            self._check_absent(op, sorted(set(result["pruned"]) - set(result["restored"])), group, "pruned")
            if op.facts.get("alone"):
                self._check_ledger_and_group_agree("right after a clean prune")
                self.disturbed = None

    def _check_present(self, op: Operation, hosts: list[str], group: set[str], claim: str) -> None:
        for host in hosts:
            removed = any(
                w.op is not op and host in w.before and host not in w.after
                for w in self.history[op.history_start :]
            )
            if host not in group and not removed:
                self._violate(REPORTS_TRUE, f"{op.label} {claim} {host}, which is not in the group")

    def _check_absent(self, op: Operation, hosts: list[str], group: set[str], claim: str) -> None:
        """Out of the group, unless it is back: recorded again (the writer restores those) or re-added."""
        for host in hosts:
            added = any(
                w.op is not op and host not in w.before and host in w.after
                for w in self.history[op.history_start :]
            )
            if host in group and not added and self.judge_ledger.get(host) is None:
                self._violate(REPORTS_TRUE, f"{op.label} {claim} {host}, which is still in the group")

    def _blockable(self) -> list[Recording]:
        return [r for r in self.recordings if r.block in ("not started", "retryable")]

    # -- the invariants --------------------------------------------------------------------------
    def _violate(self, invariant_: str, message: str) -> None:
        self.violations.append((invariant_, message))

    def _disturb(self, why: str) -> None:
        self.disturbed = self.disturbed or why

    def _group(self) -> tuple[set[str], set[str]]:
        answer = self.world.network_firewall.describe_rule_group(
            RuleGroupArn=self.settings.rule_group_arn, Type="STATELESS"
        )
        rules = answer["RuleGroup"]["RulesSource"]["StatelessRulesAndCustomActions"]["StatelessRules"]
        return owned_hosts(rules, self._priorities())

    def _priorities(self) -> tuple[int, int]:
        return self.settings.rule_priority, self.settings.destination_priority

    def _check_quiescent(self) -> None:
        moment = (len(self.scheduler.trace), self.clock())
        if not self.in_flight and self.disturbed is None and moment != self.checked_at:
            self.checked_at = moment
            self._check_ledger_and_group_agree("at quiescence")

    def _check_releases_final(self) -> None:
        """I9, when nothing is in flight: no item names a finding released within the retention period."""
        if self.in_flight:
            return
        holding = {
            finding: holder_of(finding)
            for finding, since in self.released.items()
            if self.clock() < since + RETENTION_MINUTES * 60 and finding not in self.record_died
        }
        if not holding:
            return
        for record in self.judge_ledger.all_records():
            for finding, holder in holding.items():
                if holder in record.holders:
                    self._violate(RELEASE_FINAL, f"{record.host} is held by {finding}, released before")

    def _check_ledger_and_group_agree(self, when: str) -> None:
        blocked, anywhere = self._group()
        records = self.judge_ledger.all_records()
        confirmed = {record.host for record in records if not record.pending}
        ledgered = {record.host for record in records}
        if confirmed - blocked:
            self._violate(
                CONFIRMED_IN_GROUP, f"{when}: {sorted(confirmed - blocked)} confirmed, not in the group"
            )
        if anywhere - ledgered:
            self._violate(
                NOTHING_UNLEDGERED, f"{when}: {sorted(anywhere - ledgered)} in the group, not the ledger"
            )
        judge = self._traffic_judge(self._group_version().rule_group)
        for host in sorted(host for host in confirmed if "/" in host):  # addresses; domains: the oracle's
            address = host.split("/")[0]
            instance = INSTANCES[6 if ":" in address else 4]
            for source, destination in ((instance, address), (address, instance)):
                dropped, action, _ = judge(Packet(source, destination, TCP, 40000, 443))
                if not dropped:
                    self._violate(
                        TRAFFIC_DROPS_CONFIRMED,
                        f"{when}: {source} -> {destination} met {action} ({host} is confirmed)",
                    )

    def _traffic_judge(self, rule_group: Any) -> Callable[[Packet], tuple[bool, str, Any]]:
        """The firewall's engine over the group alone (DescribeRuleGroup's shape, as the emulator holds
        it: read without an API call, this runs after every step), built by the group's type as the
        sandbox's traffic builds its policy: a STATELESS group is a Classic policy's stateless engine, a
        FIREWALL group a Next Generation policy's firewall section (default action ACCEPT). The judge
        answers whether a packet is dropped, the action and the rule that decided (None: the default)."""
        if self.group_type == "FIREWALL":
            engine = FirewallEngine([rule_group], default_action="ACCEPT")

            def judge_firewall(packet: Packet) -> tuple[bool, str, Any]:
                verdict = engine.judge(packet, first=True)
                return not verdict.passes, f"{verdict.action}:{verdict.scope}", verdict.rule

            return judge_firewall
        policy = StatelessPolicy([(1, rule_group)])

        def judge_stateless(packet: Packet) -> tuple[bool, str, Any]:
            verdict = policy.judge(packet)
            return verdict.action == "aws:drop", verdict.action, verdict.rule

        return judge_stateless

    def _group_version(self) -> Any:
        backend = networkfirewall_backends[DEFAULT_ACCOUNT_ID][REGION]
        return emulator.store_for(backend).get(arn=self.settings.rule_group_arn).version

    def _check_traffic_spares_unblocked(self) -> None:
        version = self._group_version()
        if version is self.spared_version:
            return  # the same rules judged the same flows after the previous step
        self.spared_version = version
        judge = self._traffic_judge(version.rule_group)
        for one, other in SPARED_FLOWS:
            if {canonical(one), canonical(other)} & self.hand_added:
                continue  # an operator blocked it by hand; our next write is judged again
            for source, destination in ((one, other), (other, one)):
                dropped, _, rule_ = judge(Packet(source, destination, TCP, 40000, 443))
                if dropped:
                    self._violate(
                        TRAFFIC_SPARES_UNBLOCKED,
                        f"{source} -> {destination} dropped by rule {rule_} (neither host is blocked)",
                    )

    def _failure(self, invariant_: str) -> str | None:
        """The first violation of ``invariant_`` so far, with the steps that led to it."""
        found = [message for name, message in self.violations if name == invariant_]
        if not found:
            return None
        trace = "\n    ".join(self.scheduler.trace[-80:])
        return f"{invariant_}: {found[0]}\n  trace (last steps):\n    {trace}"

    # One assert per invariant, so that Hypothesis reports (and shrinks) each broken one separately.
    @invariant()
    def confirmed_ledger_hosts_are_in_the_group(self) -> None:
        self._check_quiescent()
        assert self._failure(CONFIRMED_IN_GROUP) is None, self._failure(CONFIRMED_IN_GROUP)

    @invariant()
    def nothing_unledgered_is_in_the_group(self) -> None:
        self._check_quiescent()
        assert self._failure(NOTHING_UNLEDGERED) is None, self._failure(NOTHING_UNLEDGERED)

    @invariant()
    def operations_end_with_a_result_or_a_domain_error(self) -> None:
        assert self._failure(NO_UNEXPECTED_ERROR) is None, self._failure(NO_UNEXPECTED_ERROR)

    @invariant()
    def manual_blocks_are_never_evicted(self) -> None:
        assert self._failure(MANUAL_NEVER_EVICTED) is None, self._failure(MANUAL_NEVER_EVICTED)

    @invariant()
    def protected_hosts_are_never_written(self) -> None:
        assert self._failure(PROTECTED_NEVER_WRITTEN) is None, self._failure(PROTECTED_NEVER_WRITTEN)

    @invariant()
    def completed_operations_tell_the_truth(self) -> None:
        assert self._failure(REPORTS_TRUE) is None, self._failure(REPORTS_TRUE)

    @invariant()
    def no_owned_rule_matches_everything(self) -> None:
        assert self._failure(NO_MATCH_ALL) is None, self._failure(NO_MATCH_ALL)

    @invariant()
    def traffic_to_confirmed_hosts_is_dropped(self) -> None:
        self._check_quiescent()
        assert self._failure(TRAFFIC_DROPS_CONFIRMED) is None, self._failure(TRAFFIC_DROPS_CONFIRMED)

    @invariant()
    def traffic_between_unblocked_hosts_passes(self) -> None:
        self._check_traffic_spares_unblocked()
        assert self._failure(TRAFFIC_SPARES_UNBLOCKED) is None, self._failure(TRAFFIC_SPARES_UNBLOCKED)

    @invariant()
    def released_findings_block_nothing(self) -> None:
        self._check_releases_final()
        assert self._failure(RELEASE_FINAL) is None, self._failure(RELEASE_FINAL)

    @invariant()
    def a_release_ends_only_its_own_hold(self) -> None:
        assert self._failure(RELEASE_OWN_HOLD) is None, self._failure(RELEASE_OWN_HOLD)

    def teardown(self) -> None:
        for op in list(self.in_flight):
            if not op.done:
                self.scheduler.kill(op)
        for op in list(self.in_flight):
            if op.thread is not None:
                op.thread.join()
        clock.set_clock(None)
        self.world.scheduler = None
        emulator.faults(REGION).clear()
        self.world.dynamodb.delete_table(TableName=self.settings.table_name)
        self.world.network_firewall.delete_rule_group(
            RuleGroupArn=self.settings.rule_group_arn, Type=self.group_type
        )


def canonical(host: str) -> str:
    return f"{host}/128" if ":" in host else f"{host}/32"


def owned_hosts(rules: list[dict[str, Any]], priorities: tuple[int, int]) -> tuple[set[str], set[str]]:
    """(hosts dropped both ways, every address in the owned rules), read independently of the handlers."""
    source, destination = priorities
    sources: set[str] = set()
    destinations: set[str] = set()
    anywhere: set[str] = set()
    for rule_ in rules:
        match = rule_.get("RuleDefinition", {}).get("MatchAttributes", {})
        addresses = {
            setting: {entry.get("AddressDefinition", "") for entry in match.get(setting, [])}
            for setting in ("Sources", "Destinations")
        }
        if rule_.get("Priority") == source:
            sources |= addresses["Sources"]
        elif rule_.get("Priority") == destination:
            destinations |= addresses["Destinations"]
        else:
            continue
        anywhere |= addresses["Sources"] | addresses["Destinations"]
    return sources & destinations, anywhere


def hand_edit(client: Any, arn: str, priorities: tuple[int, int], host: str, add: bool) -> None:
    """Add ``host`` to both owned rules (creating them) or take it out of both, as an operator would."""
    described = client.describe_rule_group(RuleGroupArn=arn, Type="STATELESS")
    group = described["RuleGroup"]
    stateless = group["RulesSource"]["StatelessRulesAndCustomActions"]
    rules = {rule_["Priority"]: rule_ for rule_ in stateless["StatelessRules"]}
    for priority, setting in zip(priorities, ("Sources", "Destinations"), strict=True):
        rule_ = rules.get(priority) or {
            "Priority": priority,
            "RuleDefinition": {"MatchAttributes": {setting: []}, "Actions": ["aws:drop"]},
        }
        match = rule_["RuleDefinition"]["MatchAttributes"]
        entries = [entry for entry in match.get(setting, []) if entry.get("AddressDefinition") != host]
        if add:
            entries.append({"AddressDefinition": host})
        match[setting] = entries
        if entries:
            rules[priority] = rule_
        else:
            rules.pop(priority, None)  # an operator deletes an emptied rule rather than let it match all
    stateless["StatelessRules"] = sorted(rules.values(), key=lambda rule_: rule_["Priority"])
    client.update_rule_group(
        RuleGroupArn=arn, Type="STATELESS", UpdateToken=described["UpdateToken"], RuleGroup=group
    )


def probe_event(hosts: list[str], finding_id: str, seen_at: float) -> dict[str, Any]:
    """A native GuardDuty port-probe finding naming ``hosts`` as its remote hosts."""
    event = sample("guardduty-native-portprobe.json")
    event["id"] = f"event-{finding_id}"
    detail = event["detail"]
    detail["id"] = finding_id
    detail["arn"] = detail["arn"].rsplit("/", 1)[0] + "/" + finding_id
    template = detail["service"]["action"]["portProbeAction"]["portProbeDetails"][0]
    probes = []
    for host in hosts:
        probe = {**template, "remoteIpDetails": {"ipAddressV6" if ":" in host else "ipAddressV4": host}}
        probes.append(probe)
    detail["service"]["action"]["portProbeAction"]["portProbeDetails"] = probes
    stamp = datetime.fromtimestamp(seen_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    detail["service"]["eventLastSeen"] = stamp
    detail["updatedAt"] = stamp
    return event


def test_no_interleaving_breaks_an_invariant(world: World) -> None:
    run_state_machine_as_test(lambda: BlocklistModel(world), settings=PROFILES[PROFILE])
