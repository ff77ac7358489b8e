"""Keeps the owned rules equal to what the ledger says, under concurrency, faults and a fixed capacity.

Each change is DescribeRuleGroup -> compute -> UpdateRuleGroup with the UpdateToken. Writers
converge and coalesce: every writer folds in all pending hosts it can see, and a writer whose
hosts are already present writes nothing, so a burst of N findings needs far fewer than N updates.
"""

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from handlers import clock
from handlers.errors import CapacityExceeded, FirewallUnavailable, RuleGroupContention
from handlers.firewall import RuleGroupClient, RuleGroupSnapshot, StaleToken, Transient
from handlers.ledger import SOURCE_FINDING, HostRecord, Ledger
from handlers.rules import (
    EvictionCandidate,
    blocked_hosts,
    choose_evictions,
    compose,
    host_capacity,
    listed_hosts,
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
STALE_PENDING_SECONDS = 60.0
"""A host pending this long belongs to an execution that died between the ledger and the group."""
BASE_DELAY = 0.05
MAX_DELAY = 2.0


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

        With ``full`` the desired set is the whole ledger instead: hosts missing from the group
        come back, hosts the ledger no longer has go, and hand edits of the owned rules are undone.
        """
        ensure_set, remove_set = set(ensure) - set(remove), set(remove)
        result = SyncResult()
        if not full and not remove_set:
            check = self._check(ensure_set, result)
            if not check.needs_write:
                self._confirm(check, ensure_set)
                return result
            missing = ensure_set - check.current
            # Flag them so that whichever writer holds the lease folds them into its update.
            self.ledger.mark_pending(missing - set(check.pending), clock.now())
            if not self._acquire_lease(waiting_for=missing):
                return result  # another writer put them in and confirmed them
        else:
            self._acquire_lease(waiting_for=set())
        try:
            plan = self._apply(ensure_set, remove_set, full, result)
        finally:
            self.ledger.release_lease(self.holder)
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

    def _check(self, ensure: set[str], result: SyncResult) -> "_Plan":
        """Plan without writing: are this execution's hosts already in?"""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return self._plan(ensure, set(), False)
            except Transient as e:
                result.transient_errors += 1
                logger.info("rule group busy, retrying", extra={"code": e.code, "attempt": attempt})
                self.sleep(self._backoff(attempt + 2))
        raise FirewallUnavailable(f"Network Firewall kept failing after {MAX_ATTEMPTS} attempts")

    def _confirm(self, plan: "_Plan", ensure: set[str]) -> None:
        """Clear the pending flag of every host this plan leaves in the group."""
        confirmed = plan.desired & (ensure | plan.pending)
        self.ledger.clear_pending(sorted(confirmed))

    def _acquire_lease(self, waiting_for: set[str]) -> bool:
        """Wait for the writer lease; False if meanwhile another writer confirmed ``waiting_for``.

        One writer at a time turns a burst into a few large updates instead of many colliding ones.
        The lease is advisory: past ``LEASE_WAIT_SECONDS`` (a crashed holder) we write without it,
        and the UpdateToken still keeps every write safe.
        """
        deadline = self.wall_clock() + LEASE_WAIT_SECONDS
        while True:
            if self.ledger.acquire_lease(self.holder, self.wall_clock(), LEASE_SECONDS):
                return True
            self.sleep(self.rng.uniform(LEASE_POLL_SECONDS / 2, LEASE_POLL_SECONDS))
            if waiting_for and not self.ledger.still_pending(waiting_for):
                return False
            if self.wall_clock() >= deadline:
                logger.warning("writer lease not released in time, writing without it")
                return True

    def _apply(self, ensure: set[str], remove: set[str], full: bool, result: SyncResult) -> _Plan:
        for attempt in range(MAX_ATTEMPTS):
            result.attempts += 1
            try:
                plan = self._plan(ensure, remove, full)
                if not plan.needs_write:
                    return plan
                self._write(plan)
            except StaleToken:
                result.conflicts += 1
                self.sleep(self._backoff(attempt))
                continue
            except Transient as e:
                result.transient_errors += 1
                logger.info("rule group busy, retrying", extra={"code": e.code, "attempt": attempt})
                self.sleep(self._backoff(attempt + 2))
                continue
            result.updates += 1
            result.added = sorted(set(result.added) | (plan.desired - plan.current))
            result.removed = sorted(set(result.removed) | (plan.current - plan.desired - set(plan.evicted)))
            result.evicted = sorted(set(result.evicted) | set(plan.evicted))
            result.repaired = result.repaired or plan.shape_repaired
            return plan
        if result.transient_errors > result.conflicts:
            raise FirewallUnavailable(f"Network Firewall kept failing after {MAX_ATTEMPTS} attempts")
        raise RuleGroupContention(f"UpdateRuleGroup lost the token race {MAX_ATTEMPTS} times")

    def _plan(self, ensure: set[str], remove: set[str], full: bool) -> _Plan:
        # Describe first, then read the ledger: a host recorded after our ledger read is either not
        # in the group yet, or was written by someone whose update makes our token stale.
        snapshot = self.firewall.describe()
        source_priority, destination_priority = self.priorities
        owned, foreign = split_owned(snapshot.rules, self.priorities)
        current = blocked_hosts(owned, source_priority, destination_priority)
        pending = self.ledger.pending_hosts()
        actions = with_metric_action(snapshot.custom_actions)
        actions_broken = _normalized(actions) != _normalized(snapshot.custom_actions)
        shape_broken = _normalized(owned) != _normalized(
            render_owned_rules(current, source_priority, destination_priority)
        ) or any(not self.blockable(host) for host in listed_hosts(owned))
        if not full and not (actions_broken or shape_broken or remove & current):
            # Coalescing: when this execution's hosts are already in, it writes nothing; the other
            # pending hosts belong to executions still in flight, which write them themselves.
            # Only hosts pending for longer than an execution takes (a crashed one) are taken over.
            now = clock.now()
            own_missing = {host for host in ensure - current if self.blockable(host)}
            abandoned = {
                host
                for host, since in pending.items()
                if host not in current and now - since >= STALE_PENDING_SECONDS and self.blockable(host)
            }
            if not own_missing and not abandoned:
                return _Plan(snapshot, current, current, {}, set(pending), False, False)
        base = {record.host for record in self.ledger.all_records()} if full else current | set(pending)
        desired = {host for host in (base | ensure) - remove if self.blockable(host)}
        evicted = self._evictions(desired, ensure, host_capacity(snapshot.capacity, foreign))
        desired -= set(evicted)
        owned_rules = render_owned_rules(desired, source_priority, destination_priority)
        needs_write = actions_broken or _normalized(owned) != _normalized(owned_rules)
        return _Plan(
            snapshot,
            current,
            desired if needs_write else current,
            evicted if needs_write else {},
            set(pending),
            needs_write,
            shape_broken and needs_write,
        )

    def _write(self, plan: _Plan) -> None:
        source_priority, destination_priority = self.priorities
        _, foreign = split_owned(plan.snapshot.rules, self.priorities)
        owned_rules = render_owned_rules(plan.desired, source_priority, destination_priority)
        self.firewall.replace(
            plan.snapshot, compose(foreign, owned_rules), with_metric_action(plan.snapshot.custom_actions)
        )

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

    def _backoff(self, attempt: int) -> float:
        # Full jitter: spreads writers that collided so the next round does not collide again.
        return self.rng.uniform(0, min(MAX_DELAY, BASE_DELAY * 2**attempt))


def _normalized(value: object) -> str:
    return json.dumps(value, sort_keys=True)
