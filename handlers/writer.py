"""Keeps the owned rules equal to what the ledger says, under concurrency, faults and a fixed capacity.

Each change is DescribeRuleGroup -> compute -> UpdateRuleGroup with the UpdateToken. Writers
converge and coalesce: every writer folds in all pending hosts it can see, and a writer whose
hosts are already present writes nothing, so a burst of N findings needs far fewer than N updates.
"""

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from handlers import clock
from handlers.errors import CapacityExceeded, FirewallUnavailable, RuleGroupContention
from handlers.firewall import RuleGroupClient, RuleGroupSnapshot, StaleToken, Transient
from handlers.ledger import SOURCE_FINDING, HostRecord, Ledger
from handlers.rules import (
    EvictionCandidate,
    Rule,
    blocked_hosts,
    choose_evictions,
    compose,
    hand_edited,
    host_capacity,
    render_owned_rules,
    split_owned,
    with_metric_action,
)
from handlers.settings import CapacityPolicy, Settings

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
LEASE_SECONDS = 15.0
"""How long a lease holder may take before others may take over (a write takes well under a second)."""
LEASE_WAIT_SECONDS = 30.0
LEASE_POLL_SECONDS = 0.2
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


@dataclass
class SyncResult:
    """What one sync did; lists are sorted canonical CIDRs."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    repaired: bool = False
    updates: int = 0
    conflicts: int = 0
    transient_errors: int = 0
    attempts: int = 0


@dataclass(frozen=True)
class _Plan:
    snapshot: RuleGroupSnapshot
    current: set[str]
    desired: set[str]
    """What the group holds once this plan is carried out (``current`` when it writes nothing)."""
    evicted: dict[str, float]
    pending: set[str]
    needs_write: bool
    shape_repaired: bool
    rules: list[Rule]
    """The whole group's rules once written: the foreign ones as they were, the owned ones rendered."""
    actions: list[dict[str, Any]]


class RuleGroupWriter:
    def __init__(
        self,
        firewall: RuleGroupClient,
        ledger: Ledger,
        settings: Settings,
        blockable: Callable[[str], bool],
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.firewall = firewall
        self.ledger = ledger
        self.settings = settings
        self.blockable = blockable
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.wall_clock = wall_clock
        """Real time for the lease (the injectable ``handlers.clock`` drives retention, not execution)."""
        self.holder = uuid.uuid4().hex
        self._known: RuleGroupSnapshot | None = None

    @property
    def priorities(self) -> tuple[int, int]:
        return self.settings.rule_priority, self.settings.destination_priority

    def sync(
        self,
        ensure: Iterable[str] = (),
        remove: Iterable[str] = (),
        full: bool = False,
    ) -> SyncResult:
        """Make the group block ``ensure`` and every pending host, and not ``remove``.

        ``ensure`` holds the hosts whose ledger items are not yet confirmed in the group; a host the
        ledger has confirmed is in it (only a hand edit can take it out, and every prune repairs
        those), so confirmed hosts cost no DescribeRuleGroup at all.
        With ``full`` the desired set is the whole ledger instead: hosts missing from the group
        come back, hosts the ledger no longer has go, and hand edits of the owned rules are undone.
        """
        ensure_set, remove_set = set(ensure) - set(remove), set(remove)
        result = SyncResult()
        if not full and not remove_set:
            if not ensure_set and not self._abandoned_pending():
                return result
            # They are pending in the ledger, so whichever writer holds the lease folds them in.
            if self._acquire_lease(waiting_for=ensure_set) is None:
                return result  # another writer put them in and confirmed them
        else:
            self._acquire_lease(waiting_for=set())
        try:
            plan = self._apply(ensure_set, remove_set, full, result)
        finally:
            self.ledger.release_lease(
                self.holder,
                self._known.token if self._known else None,
                self.wall_clock() if result.updates else None,
            )
        self._confirm(plan, ensure_set)
        for host, last_seen in plan.evicted.items():
            self.ledger.delete_if_unseen(host, last_seen)
        gone = plan.current - plan.desired
        if gone:
            # A sighting recorded while we removed these would be lost until the next prune:
            # whatever is back in the ledger now goes straight back into the group.
            back = self.ledger.existing(gone - set(plan.evicted))
            if back:
                self._apply(back, set(), False, result)
                result.restored = sorted(back)
        return result

    def _abandoned_pending(self) -> bool:
        """Is any host pending for longer than an execution takes (its execution crashed)?"""
        now = clock.now()
        return any(now - since >= STALE_PENDING_SECONDS for since in self.ledger.pending_hosts().values())

    def _confirm(self, plan: "_Plan", ensure: set[str]) -> None:
        """Clear the pending flag of every host this plan leaves in the group."""
        confirmed = plan.desired & (ensure | plan.pending)
        self.ledger.clear_pending(sorted(confirmed))

    def _acquire_lease(self, waiting_for: set[str]) -> bool | None:
        """Wait for the writer lease: False if it was free at once, True after waiting for it, and
        None if meanwhile another writer confirmed ``waiting_for`` (nothing left to do).

        One writer at a time turns a burst into a few large updates instead of many colliding ones.
        The lease is advisory: past ``LEASE_WAIT_SECONDS`` (a crashed holder) we write without it,
        and the UpdateToken still keeps every write safe.
        """
        deadline = self.wall_clock() + LEASE_WAIT_SECONDS
        waited = False
        while True:
            lease = self.ledger.acquire_lease(self.holder, self.wall_clock(), LEASE_SECONDS)
            if lease.acquired:
                if self._known is not None and self._known.token != lease.group_token:
                    self._known = None  # another writer has been here since: describe again
                if waited and lease.last_write_at:
                    # A burst is on (we had to queue): let the pending hosts gather so that one
                    # update carries many, instead of updating again right behind the last writer.
                    since = self.wall_clock() - lease.last_write_at
                    if since < MIN_WRITE_INTERVAL_SECONDS:
                        self.sleep(MIN_WRITE_INTERVAL_SECONDS - since)
                return waited
            waited = True
            self.sleep(self.rng.uniform(LEASE_POLL_SECONDS / 2, LEASE_POLL_SECONDS))
            if waiting_for and not self.ledger.still_pending(waiting_for):
                return None
            if self.wall_clock() >= deadline:
                logger.warning("writer lease not released in time, writing without it")
                self._known = None
                return True

    def _apply(self, ensure: set[str], remove: set[str], full: bool, result: SyncResult) -> _Plan:
        conflicts = transients = 0
        transient_deadline: float | None = None
        while True:
            result.attempts += 1
            # A warm environment whose token is the one the last lease holder left needs no
            # DescribeRuleGroup (at 15,000 hosts, parsing that answer is most of a run's CPU). Only
            # a writer outside the lease (a hand edit) can make the guess stale; that costs one
            # rejected update. A guess that says "nothing to write" is never trusted.
            known, self._known = self._known, None
            try:
                plan = self._plan(ensure, remove, full, known if not full else None)
                if not plan.needs_write and known is not None:
                    plan = self._plan(ensure, remove, full)
                if not plan.needs_write:
                    self._known = plan.snapshot
                    return plan
                token = self._write(plan)
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
                self.ledger.acquire_lease(self.holder, self.wall_clock(), LEASE_SECONDS)  # extend ours
                continue
            self._known = plan.snapshot.replaced(token, plan.rules, plan.actions)
            result.updates += 1
            result.added = sorted(set(result.added) | (plan.desired - plan.current))
            result.removed = sorted(set(result.removed) | (plan.current - plan.desired - set(plan.evicted)))
            result.evicted = sorted(set(result.evicted) | set(plan.evicted))
            result.repaired = result.repaired or plan.shape_repaired
            return plan

    def _plan(
        self, ensure: set[str], remove: set[str], full: bool, known: RuleGroupSnapshot | None = None
    ) -> _Plan:
        # Describe first, then read the ledger: a host recorded after our ledger read is either not
        # in the group yet, or was written by someone whose update makes our token stale. (A known
        # snapshot is as good: its token proves the group has not changed since.)
        snapshot = known or self.firewall.describe()
        source_priority, destination_priority = self.priorities
        owned, foreign = split_owned(snapshot.rules, self.priorities)
        current = blocked_hosts(owned, source_priority, destination_priority)
        pending = self.ledger.pending_hosts()
        base = {record.host for record in self.ledger.all_records()} if full else current | set(pending)
        # Every address is checked, those already in the group too: whatever put them there, a
        # protected or malformed address is never written back.
        desired = {host for host in (base | ensure) - remove if self.blockable(host)}
        evicted = self._evictions(desired, ensure, host_capacity(snapshot.capacity, foreign))
        desired -= set(evicted)
        owned_rules = render_owned_rules(desired, source_priority, destination_priority)
        actions = with_metric_action(snapshot.custom_actions)
        needs_write = actions != snapshot.custom_actions or owned != owned_rules
        # Were the owned rules edited by hand? Asked on full syncs (every prune), which report repairs;
        # an additive write renders the right rules anyway, so it does not spend a render on asking.
        repaired = full and needs_write and hand_edited(owned, source_priority, destination_priority)
        return _Plan(
            snapshot,
            current,
            desired if needs_write else current,
            evicted if needs_write else {},
            set(pending),
            needs_write,
            repaired,
            compose(foreign, owned_rules),
            actions,
        )

    def _write(self, plan: _Plan) -> str:
        return self.firewall.replace(plan.snapshot, plan.rules, plan.actions)

    def _evictions(self, desired: set[str], ensure: set[str], fits: int) -> dict[str, float]:
        excess = len(desired) - fits
        if excess <= 0:
            return {}
        if self.settings.on_capacity_full is CapacityPolicy.REFUSE:
            raise CapacityExceeded(f"{len(desired)} hosts do not fit: the rule group holds {fits}")
        records: dict[str, HostRecord] = {r.host: r for r in self.ledger.all_records()}
        evictable = [
            EvictionCandidate(host, records[host].last_seen if host in records else 0.0)
            for host in desired - ensure
            if host not in records or records[host].source == SOURCE_FINDING
        ]
        if len(evictable) < excess:
            raise CapacityExceeded(
                f"{len(desired)} hosts do not fit: the rule group holds {fits} "
                f"and only {len(evictable)} can be evicted (manual blocks are never evicted)"
            )
        chosen = choose_evictions(evictable, excess)
        logger.warning("rule group full, evicting oldest hosts", extra={"evicted": chosen})
        return {host: (records[host].last_seen if host in records else 0.0) for host in chosen}

    def _backoff(self, attempt: int, cap: float) -> float:
        # Full jitter: spreads writers that collided so the next round does not collide again.
        return self.rng.uniform(0, min(cap, BASE_DELAY * 2**attempt))
