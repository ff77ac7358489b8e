"""Keeps the owned rules equal to what the ledger says, under concurrency, faults and a fixed capacity.

Each change is DescribeRuleGroup -> compute -> UpdateRuleGroup with the UpdateToken. Writers
converge and coalesce: every writer folds in all pending hosts it can see, and a writer whose
hosts are already present writes nothing, so a burst of N findings needs far fewer than N updates.

The same machinery (lease, plan, pending, eviction, restore) serves every kind of host: a writer is
given a ``HostTarget``, the place its hosts are enforced. ``StatelessRules`` is the IP hosts' stateless
rule group; ``handlers.domain_writer.DomainTarget`` is the domains' enforcement points. Each kind has
its own lease item (``lease_key``), so IP and domain writers never queue behind each other.
"""

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from handlers import clock, schema
from handlers.domains import is_domain
from handlers.errors import CapacityExceeded, ConfigurationError, FirewallUnavailable, RuleGroupContention
from handlers.firewall import RuleGroupClient, RuleGroupSnapshot, StaleToken, Transient
from handlers.ledger import SOURCE_FINDING, HostRecord, LeaseState, Ledger
from handlers.payloads import sample
from handlers.rules import (
    EvictionCandidate,
    GroupRules,
    blocked_hosts,
    choose_evictions,
    compose,
    hand_edited,
    host_capacity,
    host_sort_key,
    partition_rules,
    render_owned_rules,
    rendered_mode,
    rules_capacity,
    with_metric_action,
)
from handlers.settings import CapacityPolicy, Settings

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
LEASE_SECONDS = 15.0
"""The shortest lease: how long a holder whose calls are quick may go without extending it before others
may take over."""
MAX_LEASE_SECONDS = 60.0
"""The longest lease a slow holder takes: a holder that crashed is noticed this late at worst (the block
function's timeout is 120 s)."""
LEASE_STEPS = 4
"""A lease lasts this many of its holder's slowest steps (from one look at its lease to the next: a call,
a render, a backoff) when that is longer than ``LEASE_SECONDS``. A holder extends its lease once a third
of it has passed, so it keeps it unless one step is over twice as slow as any before."""
LEASE_WAIT_SECONDS = 30.0
"""How long a waiter whose calls are quick waits for a lease that makes no progress before it writes
without it; a slower waiter waits as many of its leases (``patience``)."""
LEASE_POLL_SECONDS = 0.1
"""The shortest turn a waiter assumes (before any holder has said how long it took, a waiter looks
this often, doubling)."""
MIN_WRITE_INTERVAL_SECONDS = 2.0
"""Under contention, a lease holder updates no sooner than this after the previous update: bursts
coalesce into fewer, larger updates (and stay clear of the API's rate limits) for at most 2 s more
latency. A writer that finds the lease free writes at once."""
STALE_PENDING_SECONDS = 60.0
"""A host pending this long belongs to an execution that died between the ledger and the group."""
BASE_DELAY = 0.05
MAX_DELAY = 2.0
MAX_TRANSIENT_DELAY = 5.0
TRANSIENT_BUDGET_SECONDS = 60.0
"""How long a writer keeps retrying throttling and 5xx (the block function's timeout is 120 s)."""


def lease_seconds(slowest_step: float) -> float:
    """How long a lease lasts, for a writer whose slowest step so far took ``slowest_step`` seconds.

    A fixed lease fails on a machine short of CPU: in the bench's storm beside a CPU hog every call took
    seconds, a holder went past its 15 s between two extensions, others took the lapsed lease and planned
    beside it, and their plans slowed everyone further (issue 18 item 11). Measured in the writer's own
    pace, a lease outlasts its holder's steps however slow the machine is, up to ``MAX_LEASE_SECONDS``.
    """
    return min(MAX_LEASE_SECONDS, max(LEASE_SECONDS, LEASE_STEPS * slowest_step))


def patience(slowest_step: float) -> float:
    """How long a waiter whose slowest call took ``slowest_step`` waits for a lease that shows no progress
    (no new holder, plan, confirmation or extension) before it writes without it: ``LEASE_WAIT_SECONDS``
    when calls are quick, as many leases of its own pace otherwise. Where one call takes 40 s, a holder
    is silent that long between two extensions without being stuck."""
    return LEASE_WAIT_SECONDS / LEASE_SECONDS * lease_seconds(slowest_step)


def coalescing_pause(since_last_write: float) -> float:
    """How long a queued holder waits before planning, ``since_last_write`` after the last update.

    Clamped to [0, MIN_WRITE_INTERVAL_SECONDS]: a peer whose clock runs ahead (``since`` < 0) must not make
    us sleep its skew while we hold the lease.
    """
    return min(MIN_WRITE_INTERVAL_SECONDS, max(0.0, MIN_WRITE_INTERVAL_SECONDS - since_last_write))


def until_next_look(state: LeaseState, now: float, overdue: int) -> float:
    """How long a queued writer sleeps before it looks at the lease item again, ``now`` by its clock.

    It looks when the holder should be done (``holder_done_in``). Once the holder is late, each look
    (``overdue``: how many looks in a row found it late) waits twice as long, from a quarter of a turn.
    Every duration is measured in the holders' own pace, so on a slower machine, or in a longer burst, a
    waiter sleeps longer instead of looking more often: a wait costs a few reads of one item however long
    it lasts. Never past the holder's lease (or ``LEASE_SECONDS``, if that is longer): a holder that
    crashed is noticed when its lease lapses. A slow holder's lease is long (``lease_seconds``), and its
    waiters sleep as long: capped at 15 s, 200 waiters beside a CPU hog looked at the lease about 20
    times per 300 s turn each, and their looks took most of the CPU the holder needed (issue 18 item 12).
    """
    longest = max(LEASE_SECONDS, state.lease_until - now)
    done_in = holder_done_in(state, now)
    if done_in > 0:
        return min(done_in, longest)
    return min(max(state.pace, LEASE_POLL_SECONDS) / 4 * 2**overdue, longest)


def holder_done_in(state: LeaseState, now: float) -> float:
    """Seconds until the holder should be done (0 or less: it is late): its plan (announced, or due once
    the coalescing pause after the last write is over) plus as long as the last holder took from its
    plan to its release (the shorter of the last two turns, ``LeaseState.pace``)."""
    if state.planned_at >= state.held_since:
        plans_at = state.planned_at  # the holder has planned
    else:
        plans_at = max(state.held_since, state.last_write_at + MIN_WRITE_INTERVAL_SECONDS)
    return plans_at + max(state.pace, LEASE_POLL_SECONDS) - now


@dataclass(frozen=True)
class TargetView:
    """What a writer read of its target: the hosts it holds, how many fit, and the read itself."""

    snapshot: Any
    """The target's own answer (a ``RuleGroupSnapshot``...), handed back to ``render`` and ``write``."""
    current: set[str]
    fits: int
    detail: Any = None


@dataclass(frozen=True)
class Rendering:
    """What writing ``desired`` into a target takes: whether anything changes, and the payload."""

    needs_write: bool
    repaired: bool
    """The target held something else than the solution renders (a hand edit): asked on full syncs."""
    payload: Any = None


class HostTarget(Protocol):
    """Where a writer's hosts are enforced. ``write`` raises ``StaleToken`` or ``Transient`` to retry."""

    lease_key: str

    @property
    def place(self) -> str:
        """What the target is, as the logs name it (``stateless rule group``...)."""
        ...

    def owns(self, host: str) -> bool:
        """Is ``host`` (a ledger key) of the kind this target enforces?"""
        ...

    def read(self, known: Any) -> TargetView:
        """Read the target (or trust ``known``, a snapshot a previous ``write`` returned)."""
        ...

    def render(self, view: TargetView, desired: set[str], full: bool) -> Rendering: ...

    def write(self, view: TargetView, rendering: Rendering) -> Any:
        """Write; returns the snapshot now current when it has a token to check it by, else None."""
        ...


@dataclass
class StatelessRules:
    """The IP hosts' target: the two owned drop rules of the stateless rule group."""

    firewall: RuleGroupClient
    settings: Settings
    lease_key: str = schema.LEASE_KEY

    place = "stateless rule group"

    def owns(self, host: str) -> bool:
        return not is_domain(host)

    @property
    def priorities(self) -> tuple[int, int]:
        return self.settings.rule_priority, self.settings.destination_priority

    def read(self, known: Any) -> TargetView:
        snapshot: RuleGroupSnapshot = known or self.firewall.describe()
        source_priority, destination_priority = self.priorities
        rules = partition_rules(snapshot.rules, source_priority, destination_priority)
        if rules.collisions:
            taken = ", ".join(
                f"priority {rule.get('Priority')} (actions {rule.get('RuleDefinition', {}).get('Actions')})"
                for rule in rules.collisions
            )
            raise ConfigurationError(
                f"ruleGroupPriority {source_priority} needs priorities {source_priority} and "
                f"{destination_priority}, but the rule group holds another rule there: {taken}"
            )
        current = blocked_hosts(rules.owned, source_priority, destination_priority) | rules.legacy_hosts
        return TargetView(snapshot, current, host_capacity(snapshot.capacity, rules.foreign), rules)

    def render(self, view: TargetView, desired: set[str], full: bool) -> Rendering:
        source_priority, destination_priority = self.priorities
        rules: GroupRules = view.detail
        snapshot: RuleGroupSnapshot = view.snapshot
        # The mode is the deployment's: a full sync (the repopulation a switch re-runs, every prune) renders
        # this function's; an additive write keeps the group's, as a block planned by the functions before a
        # switch may write after it (docs/DESIGN.md, "Switching").
        monitor = self.settings.monitor if full else rendered_mode(rules.owned, self.settings.monitor)
        owned_rules = render_owned_rules(desired, source_priority, destination_priority, monitor)
        actions = with_metric_action(snapshot.custom_actions)
        needs_write = actions != snapshot.custom_actions or rules.owned != owned_rules or bool(rules.legacy)
        # Were the owned rules edited by hand? Asked on full syncs (every prune), which report repairs;
        # an additive write renders the right rules anyway, so it does not spend a render on asking.
        repaired = full and needs_write and hand_edited(rules.owned, source_priority, destination_priority)
        return Rendering(needs_write, repaired, (compose(rules.foreign, owned_rules), actions))

    def write(self, view: TargetView, rendering: Rendering) -> RuleGroupSnapshot:
        rules, actions = rendering.payload
        snapshot: RuleGroupSnapshot = view.snapshot
        token = self.firewall.replace(snapshot, rules, actions)
        return snapshot.replaced(token, rules, actions)

    def capacity_used(self, snapshot: RuleGroupSnapshot) -> int:
        return rules_capacity(snapshot.rules)


@runtime_checkable
class MeteredTarget(Protocol):
    """A target in one rule group whose capacity the functions' metrics report (the IP hosts' group,
    Classic or Next Generation)."""

    def capacity_used(self, snapshot: RuleGroupSnapshot) -> int: ...


@dataclass
class SyncResult:
    """What one sync did; lists are sorted canonical CIDRs."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    """Ledger hosts the never-block list now covers, taken out of the group and the ledger (full syncs)."""
    confirmed: set[str] = field(default_factory=set)
    """Which of the hosts asked for (``ensure``) are in the group now, confirmed in the ledger."""
    repaired: bool = False
    updates: int = 0
    conflicts: int = 0
    transient_errors: int = 0
    attempts: int = 0
    capacity_used: int | None = None
    """Capacity units the whole group uses after this sync (None: the group was not read)."""
    capacity: int | None = None
    """The group's capacity (None: the group was not read)."""
    hosts_in_group: int | None = None
    """Hosts the owned rules block after this sync (None: the group was not read)."""


@dataclass(frozen=True)
class _Plan:
    view: TargetView
    current: set[str]
    desired: set[str]
    """What the group holds once this plan is carried out (``current`` when it writes nothing)."""
    evicted: set[str]
    pending: set[str]
    ensure: set[str]
    """The hosts asked for that the ledger still holds (re-read after describing)."""
    protected: set[str]
    needs_write: bool
    shape_repaired: bool
    rendering: Rendering


class RuleGroupWriter:
    def __init__(
        self,
        firewall: RuleGroupClient | None,
        ledger: Ledger,
        settings: Settings,
        blockable: Callable[[str], bool],
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
        target: "HostTarget | None" = None,
    ) -> None:
        """A writer of ``target``; without one, of the stateless rule group behind ``firewall``."""
        if target is None:
            if firewall is None:
                raise ValueError("a writer needs a target or a stateless rule group client")
            target = StatelessRules(firewall, settings)
        self.firewall = firewall
        self.target = target
        self.ledger = ledger
        self.settings = settings
        self.blockable = blockable
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.wall_clock = wall_clock
        """Real time for the lease (the injectable ``handlers.clock`` drives retention, not execution)."""
        self.holder = uuid.uuid4().hex
        self._known: Any = None
        """The target's snapshot the last write returned (with the token the lease keeps), or None."""
        self._generation = 0
        self._lease_until = 0.0
        """When our lease ends (by our clock), as we last set it."""
        self._last_look = 0.0
        """When we last looked at (or took, or extended) our lease: a step is measured from there."""
        self._slowest_step = 0.0
        """This sync's slowest step (a lease call while waiting, or the stretch between two looks at our
        lease while holding it): the pace our lease is sized to."""
        self._planned_generation: int | None = None
        self._first_plan_at: float | None = None
        """When this sync first announced a plan (by our clock): the turn reported at release starts there."""

    @property
    def priorities(self) -> tuple[int, int]:
        return self.settings.rule_priority, self.settings.destination_priority

    def _pending(self) -> dict[str, float]:
        """The pending hosts of this writer's kind (the index holds every kind's)."""
        return {host: since for host, since in self.ledger.pending_hosts().items() if self.target.owns(host)}

    def _all_records(self) -> list[HostRecord]:
        return [record for record in self.ledger.all_records() if self.target.owns(record.host)]

    def sync(
        self,
        ensure: Iterable[str] = (),
        remove: Iterable[str] = (),
        full: bool = False,
        keep: Iterable[str] = (),
        snapshot: Sequence[HostRecord] | None = None,
    ) -> SyncResult:
        """Make the group block ``ensure`` and every pending host, and not ``remove``.

        ``ensure`` holds the hosts whose ledger items are not yet confirmed in the group; a host the
        ledger has confirmed is in it (only a hand edit can take it out, and every prune repairs
        those), so confirmed hosts cost no DescribeRuleGroup at all. A host of ``ensure`` that the
        ledger no longer holds (unblocked meanwhile) is not written.
        With ``full`` the desired set is the whole ledger instead: hosts missing from the group
        come back, hosts the ledger no longer has go, and hand edits of the owned rules are undone.
        ``keep`` are hosts this sync never evicts, besides ``ensure`` and the pending ones: those the
        finding being blocked names again (it has just seen them; evicting them would contradict it).
        ``snapshot`` is a read of the whole ledger (every kind) that a full sync may use instead of
        reading it again: a prune reads the ledger once for both writers (see ``_whole_ledger``).
        """
        ensure_set, remove_set = set(ensure) - set(remove), set(remove)
        keep_set = set(keep) - remove_set
        result = SyncResult()
        if not full and not remove_set:
            if not ensure_set and not self._abandoned_pending():
                return result
            # They are pending in the ledger, so whichever writer holds the lease folds them in.
            confirmed = self._acquire_lease(waiting_for=ensure_set)
            if confirmed is not None:
                result.confirmed = confirmed
                return result  # another writer put them in and confirmed them
        else:
            self._acquire_lease(waiting_for=set())
        self._planned_generation = None
        self._first_plan_at = None
        wrote = False
        try:
            plan = self._apply(ensure_set, remove_set, full, result, keep_set, snapshot=snapshot)
            self._finish(plan, result, keep_set)
            wrote = True
        finally:
            self.ledger.release_lease(
                self.holder,
                self._known.token if _has_token(self._known) else None,
                self.wall_clock() if result.updates else None,
                folded=self._planned_generation if wrote else None,
                key=self.target.lease_key,
                turn_seconds=(
                    self.wall_clock() - self._first_plan_at
                    if wrote and self._first_plan_at is not None
                    else None
                ),
            )
        return result

    def _finish(self, plan: "_Plan", result: SyncResult, keep: set[str]) -> None:
        """After the write, still under the lease: confirm, forget what left, put back what came back."""
        self._keep_lease()
        placed = plan.desired & (plan.ensure | plan.pending)
        self._clear_pending(placed)
        result.confirmed = plan.desired & plan.ensure
        if plan.protected:
            for host in sorted(plan.protected):
                self.ledger.delete(host)
                self._keep_lease()
            result.protected = sorted(plan.protected)
        gone = plan.current - plan.desired - plan.protected
        if gone:
            # A sighting recorded while we removed these (or evicted them: their ledger item went
            # first, so an item now is a new sighting) would be lost until the next prune: whatever is
            # back in the ledger now goes straight back into the group.
            self._keep_lease()
            # They are new sightings (pending), put back as any pending host is, never by evicting a host
            # this write has just placed: that host would be reported blocked while out of the group.
            # Those that do not fit stay pending for their own writers, and stay reported as evicted.
            back = self.ledger.existing(gone)
            if back:
                again = self._apply(set(), set(), False, result, keep | placed, restoring=back)
                self._clear_pending(again.desired & again.pending)
                result.restored = sorted(back & again.desired)
                result.evicted = sorted(set(result.evicted) - set(result.restored))
        # What this sync evicted it never reports as placed (the rule above makes this hold by itself).
        result.confirmed -= set(result.evicted)

    def _clear_pending(self, hosts: set[str]) -> None:
        """Confirm ``hosts`` (one UpdateItem each), looking at the lease after each: after a burst there may
        be hundreds, and a holder whose lease lapsed mid-way would let the next writer in beside it."""
        for host in sorted(hosts):
            self.ledger.clear_pending([host])
            self._keep_lease(working=True)

    def _abandoned_pending(self) -> bool:
        """Is any host pending for longer than an execution takes (its execution crashed)?"""
        now = clock.now()
        return any(now - since >= STALE_PENDING_SECONDS for since in self._pending().values())

    def _others_pending(self, ours: set[str]) -> bool:
        return bool(set(self._pending()) - ours)

    def _keep_lease(self, working: bool = False) -> None:
        """Look at our lease between two steps of a turn; extend it, sized to our pace, once a third of it
        has passed. ``working``: we confirmed hosts since (progress). Costs nothing but a clock read
        until an extension is due."""
        now = self.wall_clock()
        self._note_step(self._last_look, now)
        seconds = lease_seconds(self._slowest_step)
        if self._lease_until - now < seconds * 2 / 3:
            self.ledger.extend_lease(self.holder, now, seconds, key=self.target.lease_key, working=working)
            self._lease_until = now + seconds
        self._last_look = now

    def _note_step(self, started: float, now: float) -> None:
        self._slowest_step = max(self._slowest_step, now - started)

    def _acquire_lease(self, waiting_for: set[str]) -> set[str] | None:
        """Wait for the writer lease. Returns None once we hold it (or gave up waiting, see below), or
        the hosts of ``waiting_for`` another writer confirmed meanwhile when it confirmed them all.

        One writer at a time turns a burst into a few large updates instead of many colliding ones.
        A waiter's cost does not grow with how long it waits: it looks at the one lease item when the
        holder should be done (``until_next_look``), until a holder that planned after our hosts were
        pending has finished; only then does it read its own hosts, once.
        The lease is advisory: past our ``patience`` without progress (a crashed holder) we write without
        it, and the UpdateToken still keeps every write safe.
        """
        progressed_at = self.wall_clock()
        waited = False
        target: int | None = None
        progress: tuple[int, int, int, int, float] | None = None
        overdue = 0
        self._slowest_step = 0.0
        while True:
            now = self.wall_clock()
            seconds = lease_seconds(self._slowest_step)
            lease = self.ledger.acquire_lease(self.holder, now, seconds, key=self.target.lease_key)
            self._note_step(now, self.wall_clock())
            if lease.acquired:
                self._generation = lease.generation
                self._lease_until = now + seconds
                self._last_look = now
                # The acquisition itself may have taken a good part of the lease.
                self._keep_lease()
                if self._known is not None and self._known.token != lease.group_token:
                    self._known = None  # another writer has been here since: describe again
                pause_before_plan = coalescing_pause(self.wall_clock() - lease.last_write_at)
                if (
                    lease.last_write_at
                    and pause_before_plan > 0
                    and (waited or self._others_pending(waiting_for))
                ):
                    # A burst is on (we had to queue, or others' hosts wait right behind the last
                    # write): let the pending hosts gather so that one update carries many, instead
                    # of updating again right behind the last writer.
                    self.sleep(pause_before_plan)
                    self._keep_lease()
                return None
            waited = True
            looked_at = self.wall_clock()
            state = self.ledger.read_lease(key=self.target.lease_key)
            self._note_step(looked_at, self.wall_clock())
            if (state.generation, state.planned, state.folded, state.working, state.lease_until) != progress:
                # Holders are taking turns, planning, confirming and extending their leases: the queue
                # moves, so keep our place in it. Only a lease that stays with one holder that makes no
                # progress and no longer extends it (stuck, not crashed: a crashed holder's lease lapses)
                # makes us go around it; on a slow machine, one step of a holder's turn, or confirming a
                # burst's hundreds of hosts, can take longer than our patience.
                progress = (state.generation, state.planned, state.folded, state.working, state.lease_until)
                progressed_at = self.wall_clock()
            if target is None:
                target = state.planned + 1
            elif waiting_for and state.folded >= target:
                # A holder that took the lease after our hosts were pending has planned and written:
                # it folded them in (unless the index lagged, which this one read shows).
                records = self.ledger.records(waiting_for)
                if not any(record.pending for record in records.values()):
                    return {host for host, record in records.items() if not record.pending}
                target = state.planned + 1
            if self.wall_clock() >= progressed_at + patience(self._slowest_step):
                logger.warning("writer lease not released in time, writing without it")
                self._known = None
                return None
            if state.lease_until >= self.wall_clock():
                now = self.wall_clock()
                look_in = until_next_look(state, now, overdue)
                overdue = overdue + 1 if holder_done_in(state, now) <= 0 else 0
                # Jittered upwards, so the waiters of one holder do not all look at the same moment.
                self.sleep(look_in * self.rng.uniform(1.0, 1.25))

    def _report_usage(self, result: SyncResult, snapshot: Any, hosts: set[str]) -> None:
        """The IP hosts' group's capacity after this sync, for the functions' metrics (IP hosts only)."""
        if isinstance(self.target, MeteredTarget) and isinstance(snapshot, RuleGroupSnapshot):
            result.capacity_used = self.target.capacity_used(snapshot)
            result.capacity = snapshot.capacity
            result.hosts_in_group = len(hosts)

    def _apply(
        self,
        ensure: set[str],
        remove: set[str],
        full: bool,
        result: SyncResult,
        keep: set[str],
        restoring: set[str] | None = None,
        snapshot: Sequence[HostRecord] | None = None,
    ) -> _Plan:
        """Plan and write until a write succeeds (or nothing needs writing). ``restoring``: hosts to
        re-read besides the pending index (it may lag) and put back if the ledger holds them (a pending one
        only if it fits)."""
        conflicts = transients = 0
        transient_deadline: float | None = None
        while True:
            result.attempts += 1
            # A warm environment whose token is the one the last lease holder left needs no
            # DescribeRuleGroup (at 15,000 hosts, parsing that answer is most of a run's CPU). Only
            # a writer outside the lease (a hand edit) can make the guess stale; that costs one
            # rejected update. A guess that says "nothing to write" is never trusted.
            known, self._known = self._known, None
            # Announce the plan before reading the pending hosts: a waiter that saw a lower number
            # knows this plan reads its hosts.
            planned_at = self.wall_clock()
            if self._first_plan_at is None:
                self._first_plan_at = planned_at
            self._planned_generation = self.ledger.announce_plan(planned_at, key=self.target.lease_key)
            self._keep_lease()
            try:
                also = restoring or set()
                plan = self._plan(ensure, remove, full, keep, also, known if not full else None, snapshot)
                if not plan.needs_write and known is not None:
                    plan = self._plan(ensure, remove, full, keep, also, snapshot=snapshot)
                if not plan.needs_write:
                    self._known = plan.view.snapshot if _has_token(plan.view.snapshot) else None
                    self._report_usage(result, plan.view.snapshot, plan.current)
                    return plan
                self._keep_lease()
                written = self.target.write(plan.view, plan.rendering)
            except StaleToken:
                if known is None:
                    conflicts += 1
                    result.conflicts += 1
                    if conflicts >= MAX_ATTEMPTS:
                        raise RuleGroupContention(
                            f"UpdateRuleGroup lost the token race {MAX_ATTEMPTS} times"
                        ) from None
                    self.sleep(self._backoff(conflicts, MAX_DELAY))
                continue
            except Transient as e:
                # Throttling and 5xx pass: keep trying for a while (well inside the function's
                # timeout), holding on to the lease, rather than fail a finding whose host is recorded.
                transients += 1
                result.transient_errors += 1
                transient_deadline = transient_deadline or self.wall_clock() + TRANSIENT_BUDGET_SECONDS
                if self.wall_clock() >= transient_deadline:
                    raise FirewallUnavailable(
                        f"Network Firewall kept failing ({e.code}) for {TRANSIENT_BUDGET_SECONDS:g} s"
                    ) from None
                logger.info("rule group busy, retrying", extra={"code": e.code, "attempt": transients})
                self.sleep(self._backoff(transients + 2, MAX_TRANSIENT_DELAY))
                self._keep_lease()
                continue
            self._known = written if _has_token(written) else None
            self._report_usage(result, written, plan.desired)
            result.updates += 1
            result.added = sorted(set(result.added) | (plan.desired - plan.current))
            result.removed = sorted(
                set(result.removed) | (plan.current - plan.desired - plan.evicted - plan.protected)
            )
            result.evicted = sorted(set(result.evicted) | plan.evicted)
            result.repaired = result.repaired or plan.shape_repaired
            return plan

    def _plan(
        self,
        ensure: set[str],
        remove: set[str],
        full: bool,
        keep: set[str],
        also: set[str],
        known: Any = None,
        snapshot: Sequence[HostRecord] | None = None,
    ) -> _Plan:
        # Describe first, then read the ledger: a host recorded after our ledger read is either not
        # in the group yet, or was written by someone whose update makes our token stale. (A known
        # snapshot is as good: its token proves the group has not changed since.)
        view = self.target.read(known)
        self._keep_lease()
        current = view.current
        # The index may lag: every host it names is re-read, and so is every host asked for (one
        # unblocked since its execution recorded it is not written back).
        # Hosts to remove are re-read too: their items went before this sync (an unblock, a release, an
        # expiry, a refusal), and one the ledger holds again (blocked by hand or recorded since) stays.
        indexed = set(self._pending()) | ensure | also | remove
        self._keep_lease()
        records = self.ledger.records(indexed) if indexed else {}
        self._keep_lease()
        held = {host for host in remove if host in records}
        remove = remove - held
        pending = {host for host, record in records.items() if record.pending}
        ensure = {host for host in ensure if host in records}
        protected: set[str] = set()
        if full:
            ledger_records = self._whole_ledger(snapshot, current, set(records) | remove)
            records = {**ledger_records, **records}
            protected = {host for host in ledger_records if not self.blockable(host)}
            base = set(ledger_records) | held
        else:
            # Hosts being put back that the ledger holds: pending ones (new sightings) may wait for room
            # like any other pending host; a confirmed one belongs in the group.
            base = current | pending | {host for host in also if host in records}
        # Every address is checked, those already in the group too: whatever put them there, a
        # protected or malformed address is never written back. A view of our own last write (it is
        # ``known``, whose token, still the lease's, proves nobody changed the group since) holds only
        # hosts that write checked, so there only the others are asked about: one check per host a
        # block adds, not one per host of a 15,000-host group. A hand edit makes the token stale, and
        # the retry reads the group and checks all of it again.
        candidates = (base | ensure) - remove
        checked = current if known is not None and view.snapshot is known else set()
        desired = (candidates & checked) | {host for host in candidates - checked if self.blockable(host)}
        fits = view.fits
        records = self._with_every_record(records, desired, fits)
        # Never evicted: our hosts, every host some execution is recording, and what the caller keeps.
        kept = ensure | pending | keep
        desired -= self._deferred(desired, pending - ensure - current, kept, records, fits)
        evicted = self._evict(desired, kept, records, fits)
        desired -= evicted
        rendering = self.target.render(view, desired, full)
        needs_write = rendering.needs_write
        return _Plan(
            view,
            current,
            desired if needs_write else current,
            evicted if needs_write else set(),
            pending,
            ensure,
            protected,
            needs_write,
            rendering.repaired,
            rendering,
        )

    def _evict(
        self, desired: set[str], keep: set[str], records: dict[str, HostRecord], fits: int
    ) -> set[str]:
        """Choose and take out of the ledger the hosts that make room, oldest last sighting first.

        Only a confirmed ``finding`` host (or one the ledger no longer holds) may go: never a manual
        block, never a host some execution is still recording, never what the caller keeps (``keep``: ours,
        every pending one, and the caller's).
        Each ledger item goes first, conditionally, so a host seen again or blocked by hand meanwhile
        is never taken out of the group while the ledger says it is blocked.
        """
        excess = len(desired) - fits
        if excess <= 0:
            return set()
        if self.settings.on_capacity_full is CapacityPolicy.REFUSE:
            raise CapacityExceeded(f"{len(desired)} hosts do not fit: the rule group holds {fits}")
        candidates = self._evictable(desired, keep, records)
        refusal = (
            f"{len(desired)} hosts do not fit: the rule group holds {fits} and only {{}} can be evicted "
            "(manual blocks and hosts being recorded are never evicted)"
        )
        if len(candidates) < excess:
            raise CapacityExceeded(refusal.format(len(candidates)))  # before any ledger item goes
        ordered = choose_evictions(candidates, len(candidates))
        evicted: set[str] = set()
        for host in ordered:
            if len(evicted) == excess:
                break
            record = records.get(host)
            if record is None or self.ledger.delete_if_evictable(host, record.last_seen):
                evicted.add(host)
            self._keep_lease()
        if len(evicted) < excess:
            # Hosts seen again meanwhile kept their items: the eviction fails, and the items it did
            # delete come back, since their hosts stay in the group (unless one was re-recorded).
            # Pending, not confirmed: another writer may have taken a host out of the group since we
            # deleted its item (the item was gone), so the next writer checks it against the group.
            for host in evicted:
                if host in records:
                    self.ledger.put_back(replace(records[host], pending=True, pending_since=clock.now()))
            raise CapacityExceeded(refusal.format(len(evicted)))
        logger.warning(
            "place full, evicting the least recently seen",
            extra={"place": self.target.place, "count": len(evicted), "sample": sample(evicted)},
        )
        return evicted

    def _whole_ledger(
        self, snapshot: Sequence[HostRecord] | None, current: set[str], settled: set[str]
    ) -> dict[str, HostRecord]:
        """Every ledger record of this writer's kind, as of now wherever the ledger and the target disagree.

        ``snapshot`` (None: read the ledger now) may be older than the target's read just made: a prune
        reads the ledger once for both writers, and the domain writer reads its points only after the
        IP writer is done. So each host that one of the two holds and the other does not is read again
        by key (strongly consistent; ``settled`` hosts were just read, or are being removed): one recorded
        and written since stays, one unblocked since is not written back. That also corrects the lag of
        the index behind the snapshot. It costs one item per drifted host, none when the two agree.
        """
        read = self.ledger.all_records() if snapshot is None else snapshot
        records = {record.host: record for record in read if self.target.owns(record.host)}
        # A host no writer may block is taken out whatever its item says: only ledger keys are re-read.
        disputed = {host for host in current.symmetric_difference(records) - settled if self.blockable(host)}
        if disputed:
            now = self.ledger.records(disputed)
            for host in disputed:
                if host in now:
                    records[host] = now[host]
                else:
                    records.pop(host, None)
        return records

    def _with_every_record(
        self, records: dict[str, HostRecord], desired: set[str], fits: int
    ) -> dict[str, HostRecord]:
        """``records`` completed with the whole ledger when an eviction may have to choose among them."""
        if len(desired) <= fits or len(records) >= len(desired):
            return records
        return {**{r.host: r for r in self._all_records()}, **records}

    def _evictable(
        self, desired: set[str], keep: set[str], records: dict[str, HostRecord]
    ) -> list[EvictionCandidate]:
        """The hosts an eviction may choose: confirmed ``finding`` hosts (or hosts no ledger item names)."""
        if self.settings.on_capacity_full is CapacityPolicy.REFUSE:
            return []
        return [
            EvictionCandidate(host, records[host].last_seen if host in records else 0.0)
            for host in desired - keep
            if host not in records or (records[host].source == SOURCE_FINDING and not records[host].pending)
        ]

    def _deferred(
        self,
        desired: set[str],
        optional: set[str],
        keep: set[str],
        records: dict[str, HostRecord],
        fits: int,
    ) -> set[str]:
        """Others' pending hosts (not ours, not in the group yet) that this write leaves out for lack of room.

        A writer folds in every pending host it can, evicting to make room; but it is refused only for its
        own hosts: pending hosts of other executions, or put back after a failed eviction, that no eviction
        can make room for stay pending (their own writers decide), so one unplaceable host never makes
        every writer, and every prune, fail.
        """
        if len(desired) <= fits:
            return set()  # everything fits: no host is weighed for eviction (a group of 15,000 each write)
        shortfall = len(desired) - fits - len(self._evictable(desired, keep, records))
        if shortfall <= 0:
            return set()
        return set(sorted(desired & optional, key=host_sort_key)[-shortfall:])

    def _backoff(self, attempt: int, cap: float) -> float:
        # Full jitter: spreads writers that collided so the next round does not collide again.
        return self.rng.uniform(0, min(cap, BASE_DELAY * 2**attempt))


def _has_token(snapshot: Any) -> bool:
    """Can a later writer trust ``snapshot`` while the lease keeps its token? (Only a tokened read.)"""
    return bool(getattr(snapshot, "token", None))
