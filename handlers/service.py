"""The use cases, shared by the Lambda entry points, the operator CLI and the sandbox.

Nothing here knows whether it runs in Lambda, in a terminal or in the sandbox: AWS clients are
injected (or created lazily by the adapters) and time comes from ``handlers.clock``.
"""

import functools
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from handlers import clock
from handlers.addresses import describe_host, normalize_host
from handlers.brake import Brake, Braked
from handlers.domain_writer import DomainTarget
from handlers.domains import canonical_domain, is_domain, looks_like_domain
from handlers.enforcement import Clients, DomainEnforcementPoint, domain_points
from handlers.engine_rules import FirewallEngineRules
from handlers.errors import (
    RETRIED_ERRORS,
    BlocklistError,
    CapacityExceeded,
    HostNotBlocked,
    InvalidInput,
    LedgerUnavailable,
)
from handlers.extraction import extract
from handlers.firewall import RuleGroupClient
from handlers.flush import FlowFlusher
from handlers.ledger import (
    PURGE_GRACE_SECONDS,
    SOURCE_FINDING,
    SOURCE_MANUAL,
    BatchHosts,
    FindingHolds,
    HostRecord,
    Ledger,
    Sighting,
    holder_of,
)
from handlers.metrics import rule_group_name
from handlers.model import Candidate, FindingRef, Skip, SkipReason, Target, TargetKind
from handlers.payloads import (
    SAMPLE_SIZE,
    BlockOutcome,
    GroupUsage,
    KindOutcome,
    PruneOutcome,
    RecordOutcome,
    log_hosts,
    sample,
    skip_payload,
    truncate,
)
from handlers.policy import MAX_TTL_SECONDS, TargetPolicy
from handlers.rules import blocked_hosts, hand_edited, partition_rules, rules_capacity
from handlers.settings import FirewallPolicyType, Settings
from handlers.steering import MAX_FINDINGS as MAX_STEERED_FINDINGS
from handlers.steering import (
    UNKNOWN_PERSON,
    Intent,
    Steer,
    SteerOutcome,
    UnreadableAction,
    decision_of,
    read_steer,
)
from handlers.writer import HostTarget, RuleGroupWriter, StatelessRules, SyncResult

LAST_PRINTABLE_EPOCH = 253_402_300_799
"""9999-12-31T23:59:59Z."""
MAX_BATCH_ITEMS = 64
"""More batch items than any event EventBridge accepts (256 KB) can fill: at ``BATCH_CHUNK`` hosts each
(37 items of 7-character addresses at most), or at ``BATCH_ITEM_BYTES`` each (3 items, every host in two
lists)."""

logger = logging.getLogger(__name__)


def iso(epoch: float) -> str:
    """Epoch seconds as ISO-8601 UTC with a Z, the way GuardDuty writes times."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain_ip(host: str) -> str:
    """``198.51.100.7/32`` -> ``198.51.100.7``: the reference's HostIp field carries no prefix."""
    return host.split("/", 1)[0]


def address_target(
    settings: Settings, firewall: RuleGroupClient, network_firewall: Any, region: str | None
) -> HostTarget:
    """Where IP hosts are blocked: the stateless group's two rules (Classic), or the FIREWALL group's
    variable and rules, with flushes on the named firewalls (Next Generation)."""
    if settings.firewall_policy_type is FirewallPolicyType.CLASSIC:
        return StatelessRules(firewall, settings)
    flusher = None
    if settings.flush_firewall_arns:
        flusher = FlowFlusher(
            settings.flush_firewall_arns, client_factory=lambda: firewall.client, _client=network_firewall
        )
    return FirewallEngineRules(firewall, flusher)


@dataclass
class BlocklistService:
    settings: Settings
    ledger: Ledger
    firewall: RuleGroupClient
    policy: TargetPolicy
    writer: RuleGroupWriter
    domain_writer: RuleGroupWriter | None = None
    """Writes blocked domains to ``domain_points``; None when ``domainBlocking`` is off."""
    domain_points: list[DomainEnforcementPoint] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        settings: Settings,
        dynamodb: Any = None,
        network_firewall: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        region: str | None = None,
        route53resolver: Any = None,
    ) -> "BlocklistService":
        policy = TargetPolicy.from_settings(settings)
        ledger = Ledger(settings.table_name, client=dynamodb, region=region, sleep=sleep)
        firewall = RuleGroupClient(
            settings.rule_group_arn,
            client=network_firewall,
            region=region,
            rule_group_type=settings.firewall_policy_type.rule_group_type,
        )

        # Cached: the writer asks it of every host in the group (up to 15,000) on every run.
        blockable = functools.lru_cache(maxsize=1 << 16)(policy.may_rule)
        writer = RuleGroupWriter(
            firewall,
            ledger,
            settings,
            blockable=blockable,
            sleep=sleep,
            target=address_target(settings, firewall, network_firewall, region),
        )
        points = domain_points(settings, Clients(network_firewall, route53resolver, region))
        domain_writer = None
        if points:
            domain_writer = RuleGroupWriter(
                None,
                ledger,
                settings,
                blockable=functools.lru_cache(maxsize=1 << 16)(policy.may_block_domain),
                sleep=sleep,
                target=DomainTarget(points),
            )
        return cls(settings, ledger, firewall, policy, writer, domain_writer, points)

    def _writer_for(self, host: str) -> RuleGroupWriter:
        """The writer of ``host``'s kind; ``InvalidInput`` for a domain while domain blocking is off."""
        return self._writer_for_kind(TargetKind.of(host))

    def _writer_for_kind(self, kind: TargetKind) -> RuleGroupWriter:
        if kind is TargetKind.ADDRESS:
            return self.writer
        if self.domain_writer is None:
            raise InvalidInput("domain blocking is off (domainBlocking: off): no domain is blocked")
        return self.domain_writer

    def _kinds(self) -> list[TargetKind]:
        """The kinds this stack blocks."""
        return [TargetKind.ADDRESS, *([TargetKind.DOMAIN] if self.domain_writer else [])]

    def _writers(self) -> list[RuleGroupWriter]:
        return [self.writer, *([self.domain_writer] if self.domain_writer else [])]

    # -- the response workflow -------------------------------------------------------------------
    def record(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Extract the finding's hosts, apply the target policy, and record the accepted ones.

        Returns the bounded payload the block step reads (``RecordOutcome.to_payload``): counts and
        samples; when the hosts outnumber the sample, their lists are parked in the ledger under a
        batch key. Every host is attempted even if one fails (a host that dozens of concurrent findings
        name is contended); the step fails afterwards, naming how many, so the workflow retries it.
        """
        if not isinstance(event, Mapping):
            raise InvalidInput(f"expected an EventBridge event object, got {type(event).__name__}")
        if not isinstance(event.get("id"), str) or not event["id"]:
            # EventBridge always sets one: this execution was started by hand with something else.
            raise InvalidInput("the input is not an EventBridge event: it has no 'id'")
        try:
            steer = decision_of(event)
        except UnreadableAction as refusal:
            raise InvalidInput(str(refusal)) from refusal
        if steer is not None and steer.intent is not Intent.BLOCK_NOW:
            # A person decided about findings already recorded: the steer step acts on it.
            return self._decision(str(event["id"]), steer)
        extraction = extract(event)
        policy = self.policy
        echoes: list[Skip]
        if steer is not None:
            # "Block now": the person's choice, not a sighting (the echo guard would take it for one of
            # the tool's updates), and whatever the finding's severity or workflow; never a protected host.
            candidates, echoes, policy = extraction.candidates, [], self.policy.for_analyst()
            for finding_id in steer.findings:
                self.ledger.unrelease(finding_id)
        else:
            candidates, echoes = self._new_sightings(extraction.candidates)
        targets, policy_skips = policy.evaluate_all(candidates)
        now = clock.now()
        targets, released, retake = self._unreleased(targets, now)
        skipped = [*extraction.skipped, *echoes, *policy_skips, *_released_skips(released)]
        # "Block now" writes its hosts whatever was recorded before (a release may have taken them out).
        repeats = {} if steer is not None else self._repeated_sightings(targets)
        new: list[str] = []
        refreshed: list[str] = []
        unconfirmed: list[str] = []
        failed: list[str] = []
        brake = Brake.of(self.ledger, self.settings)
        braked: set[FindingRef] = set()
        for target in targets:
            if target.finding in repeats:
                # Recorded already when this sighting came another way: blocked, not written again.
                refreshed.append(target.host)
                continue
            try:
                record, created = self.ledger.record(
                    self._sighting(target, now), admit=lambda host: brake.check(host, now)
                )
            except Braked:
                braked.add(target.finding)
                continue  # refused before anything was written; kept on the brake item
            except LedgerUnavailable:
                failed.append(target.host)
                continue
            (new if created else refreshed).append(target.host)
            if record.pending:
                unconfirmed.append(target.host)
        brake.flush()
        taken_back = self._hold(targets, set(new) | set(refreshed), now)
        if taken_back:
            targets = [target for target in targets if target.finding not in taken_back]
            skipped.extend(_released_skips(taken_back))
            retake.update(taken_back)
            kept = {target.host for target in targets}
            new, refreshed, unconfirmed = (
                [host for host in hosts if host in kept] for hosts in (new, refreshed, unconfirmed)
            )
        finding = targets[0].finding if targets else _first_finding(extraction.candidates)
        sighted = list(dict.fromkeys(target.finding for target in targets if target.finding.product_arn))
        outcome = RecordOutcome(
            event_id=str(event["id"]),
            finding=finding,
            new=sorted(new),
            refreshed=sorted(refreshed),
            unconfirmed=sorted(unconfirmed),
            skipped=skipped,
            security_hub=sighted,
            expires_at=_expiry(targets, repeats, now + self.settings.retention_seconds),
            places={str(kind): self.where(kind) for kind in {target.kind for target in targets}},
            deduplicated=[(finding.guardduty_id, finding.source) for finding in repeats],
            braked=sorted(brake.refused),
            brake_engaged=brake.just_engaged,
        )
        self._log_record(outcome, failed)
        if failed:
            raise LedgerUnavailable(
                f"could not record {len(failed)} of {len(targets)} hosts (first {failed[0]}): "
                "too many concurrent writers; the others are recorded"
            )
        if len(outcome.hosts) > SAMPLE_SIZE:
            batch = uuid.uuid4().hex
            items = self.ledger.put_batch(batch, outcome.new, outcome.unconfirmed, outcome.refreshed, now)
            outcome = replace(outcome, batch=batch, batch_items=items)
        # Last, once every host is recorded: a retried record step must not take itself for an echo.
        for sighting in sighted:
            self.ledger.remember_finding(
                sighting.guard_key,
                sighting.updated_at,
                sighting.provider_state,
                now + self.settings.retention_seconds + 86400,
            )
        for finding in dict.fromkeys(target.finding for target in targets):
            # A sighting the brake cut is not recorded: the same sighting another way, once the brake is
            # released, must record its hosts (it was taken for a repeat and reported "refreshed").
            if (
                finding not in repeats
                and finding not in braked
                and finding.guardduty_id
                and finding.sighted_at is not None
            ):
                self.ledger.remember_sighting(
                    finding.sighting_key,
                    finding.sighted_at,
                    now + self.settings.retention_seconds,
                    finding.source,
                    now + self.settings.retention_seconds,
                )
        if steer is not None:
            # "Block now": the block step's e-mail and notification name who asked, where the event says.
            return {**outcome.to_payload(), "requested": truncate(f"{steer.who}, {steer.how}")}
        if retake:
            # Hosts of a released finding that this step (or a failed attempt of it) wrote after the
            # release read the finding's holds: the steer step releases them again, with the rights to
            # take them out of their places, which this step has not.
            return {**outcome.to_payload(), "steer": _retake(retake).to_payload()}
        return outcome.to_payload()

    def _decision(self, event_id: str, steer: Steer) -> dict[str, Any]:
        """The record step's answer to a person's release or extension: the decision for the steer step,
        or why there is nothing for it to do (then nothing is notified)."""
        # Only decisions about findings the stack acts on (findingAccounts, findingRegions): a finding of
        # another account with the same GuardDuty id holds the same hosts (``finding_identity``).
        scoped = steer.within(lambda account, region: self.policy.out_of_scope(account, region) is None)
        if scoped is None:
            skipped = [
                Skip("", outside[0], truncate(finding), outside[1])
                for finding, (account, region) in zip(steer.findings, steer.places, strict=True)
                if (outside := self.policy.out_of_scope(account, region)) is not None
            ]
            return RecordOutcome(event_id=event_id, finding=None, skipped=skipped).to_payload()
        steer = scoped
        if steer.intent is Intent.RELEASE and not steer.asked:
            now = clock.now()
            holds_of = {finding: self.ledger.holds(finding) for finding in steer.findings}
            if steer.repeats and all(holds.released(now) for holds in holds_of.values()):
                # The same decision again (nothing noted on the finding stops its events saying it).
                skipped = [_released_skip(finding, holds) for finding, holds in holds_of.items()]
                return RecordOutcome(event_id=event_id, finding=None, skipped=skipped).to_payload()
            if not any(holds.hosts for holds in holds_of.values()):
                # A status change about findings that never blocked anything (an analyst archiving a
                # hundred at once): released here, quietly. X1's answer still lists any host a sighting
                # held meanwhile; then the steer step releases it (and says so), as for any decision.
                until = now + self.settings.retention_seconds
                marked = {
                    finding: self.ledger.mark_released(finding, until, steer.who, now)
                    for finding in steer.findings
                }
                if not any(holds.hosts for holds in marked.values()):
                    skipped = [_released_skip(finding, holds) for finding, holds in marked.items()]
                    return RecordOutcome(event_id=event_id, finding=None, skipped=skipped).to_payload()
        return {
            **RecordOutcome(event_id=event_id, finding=None).to_payload(),
            "steer": steer.to_payload(),
        }

    def _unreleased(
        self, targets: Sequence[Target], now: float
    ) -> tuple[list[Target], dict[FindingRef, FindingHolds], dict[FindingRef, FindingHolds]]:
        """H1 (before any host is written): note, per finding, the hosts it is about to hold (one write
        per finding); drop the targets of findings an analyst released within the retention period: a
        released finding blocks nothing, however often it is seen again (docs/DESIGN.md, "Holders").
        Returns the targets left, the released findings, and those of them whose hosts still name them
        (a failed, retried attempt of this step wrote them after the release read the holds)."""
        by_finding: dict[FindingRef, list[str]] = {}
        for target in targets:
            if target.finding.id:
                by_finding.setdefault(target.finding, []).append(target.host)
        purge_at = now + self.settings.retention_seconds + PURGE_GRACE_SECONDS
        released = {
            finding: holds
            for finding, hosts in by_finding.items()
            if (holds := self.ledger.hold(finding.id, hosts, now, purge_at)).released(now)
        }
        retake = {
            finding: holds
            for finding, holds in released.items()
            if any(
                (record := self.ledger.get(host)) is not None and holder_of(finding.id) in record.holders
                for host in by_finding[finding]
            )
        }
        return [target for target in targets if target.finding not in released], released, retake

    def _hold(
        self, targets: Sequence[Target], recorded: set[str], now: float
    ) -> dict[FindingRef, FindingHolds]:
        """H3 (after its hosts are written): read each finding's holds again. A release that came between
        H1 and the host writes may have ended the finding's holds before they existed: those findings
        are released again by the steer step."""
        findings = {target.finding for target in targets if target.finding.id and target.host in recorded}
        return {
            finding: holds
            for finding in sorted(findings, key=lambda f: f.id)
            if (holds := self.ledger.holds(finding.id)).released(now)
        }

    def _release_hosts(self, finding_id: str, hosts: Iterable[str]) -> tuple[list[str], list[str]]:
        """End ``finding_id``'s hold on ``hosts``: (released, kept). A released host is out of the ledger
        and then out of its place; a kept one is held by another finding or blocked by hand."""
        holder = holder_of(finding_id)
        released: list[str] = []
        kept: list[str] = []
        for host in sorted(set(hosts)):
            if self.ledger.release_host(host, holder):
                released.append(host)
            elif self.ledger.records([host]):
                kept.append(host)
        for kind, writer in ((TargetKind.ADDRESS, self.writer), (TargetKind.DOMAIN, self.domain_writer)):
            mine = [host for host in released if TargetKind.of(host) is kind]
            if mine and writer is not None:
                writer.sync(remove=mine)
        return released, kept

    def _repeated_sightings(self, targets: Sequence[Target]) -> dict[FindingRef, float]:
        """The findings whose sighting (GuardDuty's ``updatedAt``, or a later one) has its hosts recorded
        already, having come another way (or the same way again), with when those hosts expire. Keyed on
        GuardDuty's own finding id: native, CSPM and the new Security Hub deliver one finding up to three
        times, and one sighting is recorded once (docs/OCSF.md, "One response"). A later sighting is a
        genuine update: recorded, and its hosts refreshed."""
        repeats: dict[FindingRef, float] = {}
        now = clock.now()
        for finding in dict.fromkeys(target.finding for target in targets):
            if not finding.guardduty_id or finding.sighted_at is None:
                continue
            seen = self.ledger.sighting_seen(finding.sighting_key)
            if seen is None or finding.sighted_at > seen.sighted_at or seen.expires_at <= now:
                continue
            # Only while every host is still recorded: one unblocked, evicted or refused by a full group
            # since would be reported "refreshed" (and annotated "blocked") with nothing blocking it.
            hosts = {target.host for target in targets if target.finding == finding}
            if len(self.ledger.records(hosts)) == len(hosts):
                repeats[finding] = seen.expires_at
        return repeats

    def _new_sightings(self, candidates: Sequence[Candidate]) -> tuple[list[Candidate], list[Skip]]:
        """Drop the candidates of Security Hub findings the provider has not updated since the tool last
        recorded them: ``UpdatedAt`` not newer than the one remembered, or, whatever ``UpdatedAt`` says,
        the provider's content exactly as remembered. The echo of a BatchUpdateFindings, the tool's own or
        anyone's, is not a sighting, and one finding state is never recorded (so annotated) twice
        (docs/DESIGN.md, "Loop guard")."""
        echoes: set[FindingRef] = set()
        for finding in dict.fromkeys(candidate.finding for candidate in candidates):
            if not finding.product_arn:
                continue
            seen = self.ledger.finding_seen(finding.guard_key)
            if seen is not None and (
                seen.state == finding.provider_state
                or (
                    finding.updated_at is not None
                    and seen.updated_at is not None
                    and finding.updated_at <= seen.updated_at
                )
            ):
                echoes.add(finding)
        kept = [candidate for candidate in candidates if candidate.finding not in echoes]
        skips = [
            Skip(
                truncate(describe_host(candidate.raw_host), 64),
                SkipReason.OWN_UPDATE,
                finding_id=candidate.finding.id,
                detail="the provider has not updated the finding since it was recorded",
            )
            for candidate in candidates
            if candidate.finding in echoes
        ]
        return kept, skips

    def block(self, recorded: Mapping[str, Any]) -> dict[str, Any]:
        """Put the recorded targets (and any pending ones) in their places, each kind on its own.

        An address and a domain of one finding share nothing but the finding: each kind is written by its
        own writer, and a kind that cannot be blocked (a full place under ``refuse``, a missing group...)
        is reported as that kind's failure, beside the other kind's outcome, instead of deciding it. An
        error the state machine retries (contention, throttling) is raised once every kind has had its
        turn; the retried step finds what went in already done.
        """
        hosts = self._recorded_hosts(recorded)
        ours = _by_kind(hosts)
        # Each writer runs for an execution with targets of its kind (and the IP writer for one with
        # none, as before domains): even with nothing to write it looks for hosts a crashed execution
        # left pending, a query of the whole pending index, which during a burst of the other kind
        # holds hundreds of hosts that are not its own.
        outcomes: list[KindOutcome] = []
        retried: BlocklistError | None = None
        for kind in [kind for kind in TargetKind if kind in ours] or [TargetKind.ADDRESS]:
            mine = ours.get(kind, BatchHosts([], [], []))
            try:
                outcomes.append(self._block_kind(kind, mine))
            except RETRIED_ERRORS as error:
                retried = retried or error
            except BlocklistError as error:
                outcomes.append(self._kind_failed(kind, mine, error))
        if retried is not None:
            raise retried
        finding = recorded.get("finding") if isinstance(recorded.get("finding"), Mapping) else None
        last_seen = (finding or {}).get("last_seen")
        outcome = BlockOutcome(
            finding=finding or {},
            timestamp=iso(_epoch(last_seen) or clock.now()),
            kinds=outcomes,
            expires_at=_epoch(recorded.get("expires_at")) or clock.now() + self.settings.retention_seconds,
            monitor=self.settings.monitor,
            brake=recorded.get("brake") if isinstance(recorded.get("brake"), Mapping) else None,
            requested=recorded["requested"] if isinstance(recorded.get("requested"), str) else "",
        )
        finding_id = truncate((finding or {}).get("id", ""))
        for done in outcomes:
            place = {"kind": str(done.kind), "where": done.where}
            log_hosts(logger, "blocked hosts", done.blocked, finding_id=finding_id, **place)
            if done.evicted:
                log_hosts(logger, "evicted hosts", done.evicted, **place)
            if done.failed:
                logger.warning(
                    "targets not blocked",
                    extra={
                        "kind": str(done.kind),
                        "where": done.where,
                        "error": done.error,
                        "reason": truncate(done.reason),
                        "count": len(done.not_blocked),
                        "sample": sample(done.not_blocked),
                        "finding_id": finding_id,
                    },
                )
        if isinstance(recorded.get("batch"), str):
            self.ledger.delete_batch(str(recorded["batch"]), _batch_items(recorded))
        return outcome.to_payload()

    def where(self, kind: TargetKind) -> str:
        """Where ``kind`` is blocked, as every report names it: the stateless group for addresses; the
        domain group and/or the DNS Firewall list for domains."""
        if kind is TargetKind.ADDRESS:
            return f"rule group {rule_group_name(self.settings.rule_group_arn)}"
        places = []
        if self.settings.domain_rule_group_arn:
            places.append(f"domain rule group {rule_group_name(self.settings.domain_rule_group_arn)}")
        if self.settings.dns_firewall_domain_list_id:
            places.append(f"DNS Firewall domain list {self.settings.dns_firewall_domain_list_id}")
        return ", ".join(places) or "nowhere (domainBlocking is off)"

    def _block_kind(self, kind: TargetKind, hosts: BatchHosts) -> KindOutcome:
        """Sync ``kind``'s writer for this execution's targets of that kind; a refusal takes them back. The
        targets the finding names again are never evicted to make room for its new ones: it has just seen
        them."""
        writer = self._writer_for_kind(kind)
        try:
            sync = writer.sync(ensure=hosts.unconfirmed, keep=hosts.refreshed)
        except CapacityExceeded:
            # Refused: take back the recordings the group never took, so ledger and group agree.
            taken_back = [
                host for host in hosts.new if self.ledger.delete_if_pending(host, source=SOURCE_FINDING)
            ]
            if taken_back:
                # Another writer may have folded them into the group while we were refused: out too.
                writer.sync(remove=taken_back)
            raise
        # A new target is reported blocked only if it is in its place now; confirmed ones were in it
        # before this execution (nothing of ours to wait for), unblocked ones are not.
        return KindOutcome(
            kind=kind,
            where=self.where(kind),
            blocked=sorted(host for host in hosts.new if host in sync.confirmed),
            refreshed=hosts.refreshed,
            evicted=sync.evicted,
            coalesced=sorted(set(sync.added) - set(hosts.new) - set(hosts.refreshed)),
            restored=sync.restored,
            updates=sync.updates,
            conflicts=sync.conflicts,
            usage=_usage(sync),
            flush=self._flushed(writer),
        )

    @staticmethod
    def _flushed(writer: RuleGroupWriter) -> dict[str, Any] | None:
        """What the flushes of ``writer``'s last sync did (None: it flushes nothing, or flushed nothing)."""
        if not isinstance(writer.target, FirewallEngineRules) or writer.target.flusher is None:
            return None
        report = writer.target.take_flushed()
        return report.to_payload() if report.hosts else None

    def _kind_failed(self, kind: TargetKind, hosts: BatchHosts, error: BlocklistError) -> KindOutcome:
        return KindOutcome(
            kind=kind,
            where=self.where(kind),
            refreshed=hosts.refreshed,
            not_blocked=sorted({*hosts.new, *hosts.unconfirmed}),
            error=type(error).__name__,
            reason=str(error),
        )

    # -- the pruning workflow --------------------------------------------------------------------
    def prune(self) -> dict[str, Any]:
        """Expire hosts past retention, then reconcile the whole rule group with the ledger."""
        now = clock.now()
        # One read of the whole ledger serves the expiry and both writers (each re-reads by key only the
        # hosts its target disagrees with): reading it per writer read every item twice.
        ledger = self.ledger.all_records()
        pruned = sorted(
            record.host
            for record in ledger
            if record.expires_at <= now and self.ledger.delete_expired(record.host, now)
        )
        gone = set(pruned)
        kept = [record for record in ledger if record.host not in gone]
        sync = self.writer.sync(
            remove=[host for host in pruned if not is_domain(host)], full=True, snapshot=kept
        )
        self._flushed(self.writer)  # hosts a prune puts back had their flows flushed; logged there
        if self.domain_writer is not None:
            domains = self.domain_writer.sync(
                remove=[host for host in pruned if is_domain(host)], full=True, snapshot=kept
            )
            sync = _merged(sync, domains)
        outcome = PruneOutcome(
            at=iso(now),
            pruned=pruned,
            restored=sync.restored,
            evicted=sync.evicted,
            protected=sync.protected,
            added=sync.added,
            removed=sorted(set(sync.removed) - set(pruned) - set(sync.protected)),
            repaired=sync.repaired,
            updates=sync.updates,
            conflicts=sync.conflicts,
            at_epoch=now,
            places={str(kind): self.where(kind) for kind in self._kinds()},
            usage=_usage(sync),
        )
        for message, hosts in (
            ("pruned expired hosts", outcome.pruned),
            ("unblocked hosts now protected", outcome.protected),
            ("restored hosts missing from the group", outcome.added),
            ("removed hosts the ledger does not hold", outcome.removed),
            ("evicted hosts", outcome.evicted),
        ):
            log_hosts(logger, message, hosts)
        return outcome.to_payload()

    def expiring(self) -> list[HostRecord]:
        """What a prune would remove now (``prune --dry-run``); changes nothing."""
        return self.ledger.expired(clock.now())

    # -- operator commands -----------------------------------------------------------------------
    def check_manual_block(
        self, host: object, reason: str, ttl_seconds: float | None = None
    ) -> tuple[str, float]:
        """What ``manual_block`` refuses, decided from the settings alone (no AWS call, so the CLI asks it
        before deploying anything): the host in canonical form and the block's ttl, else ``InvalidInput``."""
        if looks_like_domain(host):
            canonical = self.policy.check_manual_domain(host)
        else:
            canonical = self.policy.check_manual_host(host)
        self._writer_for(canonical)
        if not reason.strip():
            raise InvalidInput("a manual block needs a reason")
        ttl = self.settings.retention_seconds if ttl_seconds is None else ttl_seconds
        if not 0 < ttl <= MAX_TTL_SECONDS:  # "not" so that NaN is refused too
            raise InvalidInput(f"ttl must be positive and at most {MAX_TTL_SECONDS} s, got {ttl_seconds}")
        return canonical, ttl

    def manual_block(self, host: object, reason: str, ttl_seconds: float | None = None) -> dict[str, Any]:
        canonical, ttl = self.check_manual_block(host, reason, ttl_seconds)
        writer = self._writer_for(canonical)
        now = clock.now()
        sighting = Sighting(
            host=canonical,
            seen_at=now,
            expires_at=now + ttl,
            source=SOURCE_MANUAL,
            recorded_at=now,
            reason=reason,
        )
        record, created = self.ledger.record(sighting)
        try:
            # Always checked against the group (the ledger marks a manual sighting pending): a host
            # confirmed earlier may have been taken out by a hand edit.
            sync = writer.sync(ensure=[canonical])
        except CapacityExceeded:
            if canonical in self._blocked_now(canonical):
                # Others' hosts do not fit; ours is in the group: the block by hand holds.
                self.ledger.clear_pending([canonical])
                raise
            # Not in the group and no room: take the item back, whoever recorded it first (an
            # execution refused alongside leaves a manual item to us), and the host out of the group
            # if another writer folded it in meanwhile.
            if self.ledger.delete_if_pending(canonical):
                writer.sync(remove=[canonical])
            raise
        if canonical not in sync.confirmed:
            raise HostNotBlocked(
                f"{canonical} was not blocked: its ledger item was removed while the block was being "
                "written (an unblock, or a refusal for capacity); run the block again"
            )
        return {
            "host": canonical,
            "created": created,
            "expires": iso(record.expires_at),
            "evicted": sync.evicted,
        }

    def check_unblock(self, host: object) -> str:
        """What ``unblock`` refuses, from the settings alone: the canonical host, else ``InvalidInput``."""
        canonical = canonical_host(host)
        self._writer_for(canonical)
        return canonical

    def unblock(self, host: object) -> dict[str, Any]:
        canonical = self.check_unblock(host)
        writer = self._writer_for(canonical)
        in_ledger = self.ledger.delete(canonical)
        sync = writer.sync(remove=[canonical])
        return {
            "host": canonical,
            "was_blocked": in_ledger or canonical in sync.removed,
            "removed": sync.removed,
        }

    # -- the brake (handlers.brake) -----------------------------------------------------------------
    def brake_status(self) -> dict[str, Any]:
        """Whether the brake is on, this period's new blocks against the ceiling, and what it refused."""
        return Brake.of(self.ledger, self.settings).state(clock.now()).to_payload()

    def brake_release(self) -> dict[str, Any]:
        """Turn the brake off and start a new period; the refused hosts are reported, not blocked (block
        them by hand, or let their findings' next sightings block them)."""
        before = Brake.of(self.ledger, self.settings).release(clock.now())
        logger.warning(
            "brake released",
            extra={"was_engaged": before.engaged, "refused_count": before.refused_count},
        )
        return {"released": before.engaged, "before": before.to_payload()}

    def release_finding(self, finding_id: object, by: str, hosts: Iterable[str] = ()) -> dict[str, Any]:
        """An analyst's decision that ``finding_id`` was wrong or is dealt with: every host it alone holds
        leaves the ledger and its place, and for the retention period the finding blocks nothing again.
        A host another finding holds, or an operator blocked by hand, stays. ``hosts``: the finding's
        hosts as the event that carried the decision names them, besides those the ledger lists.

        Steps (docs/DESIGN.md, "Holders"): X1 mark the finding released (its holds item, read back with
        the hosts it lists); X2 per host, end the finding's hold (the item goes if nobody else holds it);
        X3 take the released hosts out of their places.
        """
        identity = self.check_release(finding_id, by)
        now = clock.now()
        until = now + self.settings.retention_seconds
        holds = self.ledger.mark_released(identity, until, by, now)
        released, kept = self._release_hosts(identity, {*holds.hosts, *hosts})
        logger.info(
            "released finding",
            extra={
                "finding_id": truncate(identity),
                "by": truncate(by),
                "released": sample(released),
                "released_count": len(released),
                "kept": sample(kept),
                "kept_count": len(kept),
            },
        )
        return {
            "finding": identity,
            "by": by,
            "released": released,
            "kept": kept,
            "until": iso(until),
            "complete": holds.complete,
        }

    def check_release(self, finding_id: object, by: object) -> str:
        """What ``release`` refuses, from its arguments alone (no AWS call): the finding id, else
        ``InvalidInput``."""
        if not isinstance(by, str) or not by.strip() or len(by) > 128 or not by.isprintable():
            raise InvalidInput("who decided (--by) must be printable text of 1 to 128 characters")
        return check_finding_id(finding_id)

    def check_extend(self, finding_id: object, seconds: float | None) -> float:
        """What ``extend`` refuses, from its arguments alone: the ttl (else ``InvalidInput``)."""
        check_finding_id(finding_id)
        ttl = self.settings.retention_seconds if seconds is None else seconds
        if not 0 < ttl <= MAX_TTL_SECONDS:  # "not" so that NaN is refused too
            raise InvalidInput(f"ttl must be positive and at most {MAX_TTL_SECONDS} s, got {seconds}")
        return ttl

    def steer(self, recorded: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a person's decision the record step read (``recorded["steer"]``): release or extend each
        finding it names. Returns ``SteerOutcome.to_payload()``, with the notification to send."""
        if not isinstance(recorded, Mapping):
            raise InvalidInput(f"expected the record step's output object, got {type(recorded).__name__}")
        try:
            steer = read_steer(recorded.get("steer"))
        except ValueError as error:
            raise InvalidInput(str(error)) from error
        outcome = SteerOutcome(steer)
        for finding_id in steer.findings:
            if steer.intent is Intent.RELEASE:
                released = self.release_finding(finding_id, by=steer.who)
                outcome.released.extend(released["released"])
                outcome.kept.extend(released["kept"])
                outcome.until = released["until"]
            elif steer.intent is Intent.EXTEND:
                try:
                    extended = self.extend_finding(finding_id, self.settings.retention_seconds, by=steer.who)
                except InvalidInput as refusal:
                    outcome.refused.append(str(refusal))
                    continue
                outcome.extended.extend(extended["extended"])
                outcome.until = extended["until"]
            else:
                raise InvalidInput("'Block now' is recorded and blocked by the response, not steered")
        return outcome.to_payload()

    def extend_finding(self, finding_id: object, seconds: float, by: str) -> dict[str, Any]:
        """Keep the hosts ``finding_id`` holds blocked until ``seconds`` from now (never shorter)."""
        identity = check_finding_id(finding_id)
        if not 0 < seconds <= MAX_TTL_SECONDS:  # "not" so that NaN is refused too
            raise InvalidInput(f"ttl must be positive and at most {MAX_TTL_SECONDS} s, got {seconds}")
        now = clock.now()
        holds = self.ledger.holds(identity)
        if holds.released(now):
            raise InvalidInput(
                f"finding {truncate(identity, 80)} was released by {holds.released_by or 'an analyst'} "
                f"until {iso(holds.released_until)}: it holds no host to extend"
            )
        until = now + seconds
        extended = sorted(host for host in holds.hosts if self.ledger.extend_host(host, until))
        logger.info(
            "extended finding",
            extra={
                "finding_id": truncate(identity),
                "by": truncate(by),
                "extended": sample(extended),
                "count": len(extended),
            },
        )
        return {"finding": identity, "by": by, "extended": extended, "until": iso(until)}

    def list_hosts(self) -> list[HostRecord]:
        return sorted(self.ledger.all_records(), key=lambda r: r.first_seen)

    def _blocked_now(self, host: str = "") -> set[str]:
        """The hosts the owned rules drop right now (one DescribeRuleGroup); for a domain, the domains
        every enforcement point blocks."""
        if is_domain(host) and host:
            held = [point.current() for point in self.domain_points]
            return set.intersection(*held) if held else set()
        if isinstance(self.writer.target, FirewallEngineRules):
            return self.writer.target.read(None).current
        source_priority, destination_priority = self.writer.priorities
        rules = partition_rules(self.firewall.describe().rules, source_priority, destination_priority)
        return blocked_hosts(rules.owned, source_priority, destination_priority) | rules.legacy_hosts

    def status(self) -> dict[str, Any]:
        """Capacity used, hosts by source, and drift between the ledger and the rule group."""
        if isinstance(self.writer.target, FirewallEngineRules):
            view = self.writer.target.read(None)
            used = self.writer.target.capacity_used(view.snapshot)
            return self._status(view.snapshot.capacity, used, view.current, self.writer.target.edited(view))
        snapshot = self.firewall.describe()
        source_priority, destination_priority = (
            self.settings.rule_priority,
            self.settings.destination_priority,
        )
        rules = partition_rules(snapshot.rules, source_priority, destination_priority)
        owned = rules.owned
        in_group = blocked_hosts(owned, source_priority, destination_priority) | rules.legacy_hosts
        edited = hand_edited(owned, source_priority, destination_priority)
        return self._status(snapshot.capacity, rules_capacity(snapshot.rules), in_group, edited)

    def _status(self, capacity: int, used: int, in_group: set[str], edited: bool) -> dict[str, Any]:
        records = self.ledger.all_records()
        in_ledger = {record.host for record in records}
        domain_records = {record.host for record in records if is_domain(record.host)}
        in_ledger -= domain_records
        return {
            "capacity": {"used": used, "total": capacity},
            "hosts": len(in_ledger),
            "domains": self._domain_status(domain_records),
            "by_source": dict(Counter(record.source for record in records)),
            "drift": {
                "missing_from_group": sorted(in_ledger - in_group),
                "not_in_ledger": sorted(in_group - in_ledger),
                "owned_rules_edited": edited,
            },
        }

    def _domain_status(self, in_ledger: set[str]) -> dict[str, Any]:
        """Domains in the ledger, and per enforcement point its room and its drift from the ledger."""
        points = {}
        for point in self.domain_points:
            held = point.current()
            points[point.name] = {
                "blocked": len(held),
                "max_domains": point.max_domains(),
                "missing_from_point": sorted(in_ledger - held),
                "not_in_ledger": sorted(held - in_ledger),
            }
        return {"blocking": str(self.settings.domain_blocking), "count": len(in_ledger), "points": points}

    def _recorded_hosts(self, recorded: Mapping[str, Any]) -> BatchHosts:
        """The record step's host lists: from its payload when they fit the sample, else the ledger."""
        if not isinstance(recorded, Mapping):
            raise InvalidInput(f"expected the record step's output object, got {type(recorded).__name__}")
        batch = recorded.get("batch")
        if batch is None:
            return BatchHosts(
                new=_host_list(recorded, "new"),
                unconfirmed=_host_list(recorded, "unconfirmed"),
                refreshed=_host_list(recorded, "refreshed"),
            )
        if not isinstance(batch, str) or not batch.isalnum() or len(batch) > 64:
            raise InvalidInput("'batch' must be the record step's batch key")
        return self.ledger.read_batch(batch, _batch_items(recorded))

    def _log_record(self, outcome: RecordOutcome, failed: Sequence[str]) -> None:
        """One bounded summary line, then every recorded host in chunks; skips by reason, sampled."""
        reasons = Counter(str(skip.reason) for skip in outcome.skipped)
        logger.info(
            "recorded finding",
            extra={
                "event_id": truncate(outcome.event_id),
                "finding_id": truncate(outcome.finding.id) if outcome.finding else "",
                "new": len(outcome.new),
                "refreshed": len(outcome.refreshed),
                "failed": len(failed),
                "skipped": dict(reasons),
                "skipped_sample": [skip_payload(skip) for skip in outcome.skipped[:SAMPLE_SIZE]],
            },
        )
        if len(outcome.hosts) > SAMPLE_SIZE:
            log_hosts(logger, "recorded hosts", outcome.hosts, event_id=truncate(outcome.event_id))
        if failed:
            logger.warning("hosts not recorded", extra={"count": len(failed), "sample": sample(failed)})

    def _sighting(self, target: Target, now: float) -> Sighting:
        finding = target.finding
        seen = finding.last_seen if 0 < finding.last_seen <= now else now
        return Sighting(
            host=target.host,
            seen_at=seen,
            expires_at=now + self.settings.retention_seconds,
            source=SOURCE_FINDING,
            recorded_at=now,
            finding_id=finding.id,
            finding_type=finding.type,
            severity=finding.severity,
            account=finding.account,
            region=finding.region,
        )


def _expiry(targets: Sequence[Target], repeats: Mapping[FindingRef, float], recorded_now: float) -> float:
    """When the execution's hosts expire: now plus the retention if any was recorded now, else when the
    repeated sighting's hosts were recorded to expire."""
    if any(target.finding not in repeats for target in targets) or not repeats:
        return recorded_now
    return min(repeats.values())


MAX_FINDING_ID = 512
"""Security Hub's longest finding ``Id`` (the ARN of a GuardDuty finding is about 130 characters)."""


def check_finding_id(value: object) -> str:
    """A finding id as an operator or an event gives it; ``InvalidInput`` naming what is wrong."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"a finding id must be non-empty text, got {describe_host(value)!r}")
    if len(value) > MAX_FINDING_ID or not value.isprintable():
        raise InvalidInput(f"a finding id is printable text of at most {MAX_FINDING_ID} characters")
    return value.strip()


def _retake(findings: Mapping[FindingRef, FindingHolds]) -> Steer:
    """The release, again, of findings released while this record step wrote their hosts."""
    first = next(iter(findings.values()))
    return Steer(
        Intent.RELEASE,
        tuple(finding.id for finding in findings)[:MAX_STEERED_FINDINGS],
        first.released_by or UNKNOWN_PERSON,
        "released while a sighting of it was being recorded",
        tuple({"Id": f.id, "ProductArn": f.product_arn} for f in findings if f.product_arn)[
            :MAX_STEERED_FINDINGS
        ],
    )


def _released_skips(released: Mapping[FindingRef, FindingHolds]) -> list[Skip]:
    return [_released_skip(finding.id, holds) for finding, holds in released.items()]


def _released_skip(finding_id: str, holds: FindingHolds) -> Skip:
    return Skip(
        "",
        SkipReason.RELEASED,
        finding_id=truncate(finding_id),
        detail=f"released by {holds.released_by or 'an analyst'} until {iso(holds.released_until)}",
    )


def _by_kind(hosts: BatchHosts) -> dict[TargetKind, BatchHosts]:
    """The record step's lists, split by kind: each kind goes its own way from here."""
    split: dict[TargetKind, BatchHosts] = {}
    for key, targets in (
        ("new", hosts.new),
        ("unconfirmed", hosts.unconfirmed),
        ("refreshed", hosts.refreshed),
    ):
        for target in targets:
            lists = split.setdefault(TargetKind.of(target), BatchHosts([], [], []))
            getattr(lists, key).append(target)
    return split


def _usage(sync: SyncResult) -> GroupUsage | None:
    """The group's capacity and hosts after ``sync``, if it read the group."""
    if sync.capacity_used is None or sync.capacity is None or sync.hosts_in_group is None:
        return None
    return GroupUsage(sync.capacity_used, sync.capacity, sync.hosts_in_group)


def record_view(record: HostRecord) -> dict[str, Any]:
    """A ledger item as the CLI and the sandbox show it."""
    return {
        "host": record.host,
        "kind": str(TargetKind.of(record.host)),
        "first_seen": iso(record.first_seen),
        "last_seen": iso(record.last_seen),
        "expires": iso(record.expires_at),
        "source": record.source,
        "last_finding": record.last_finding_id,
        "reason": record.reason,
        "pending": record.pending,
    }


def _first_finding(candidates: Sequence[Any]) -> FindingRef | None:
    return candidates[0].finding if candidates else None


def _epoch(value: object) -> float:
    """A last-seen time ``iso`` can print: after the group write, nothing may raise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if 0 < value < LAST_PRINTABLE_EPOCH else 0.0


def _batch_items(payload: Mapping[str, Any]) -> int:
    items = payload.get("batch_items")
    if not isinstance(items, int) or isinstance(items, bool) or not 0 <= items <= MAX_BATCH_ITEMS:
        raise InvalidInput(f"'batch_items' must be a whole number from 0 to {MAX_BATCH_ITEMS}")
    return items


def _host_list(payload: Mapping[str, Any], key: str) -> list[str]:
    if not isinstance(payload, Mapping):
        raise InvalidInput(f"expected the record step's output object, got {type(payload).__name__}")
    value = payload.get(key, [])
    if not isinstance(value, list) or not all(isinstance(host, str) for host in value):
        raise InvalidInput(f"'{key}' must be a list of host strings")
    return [canonical_host(host) for host in value]


def canonical_host(value: object) -> str:
    """An IP host or a domain, in its canonical form; ``InvalidInput`` naming what was wrong."""
    return canonical_domain(value) if looks_like_domain(value) else normalize_host(value)


def _merged(first: SyncResult, second: SyncResult) -> SyncResult:
    """Two writers' results (IP hosts and domains) as one execution's."""
    return SyncResult(
        added=sorted({*first.added, *second.added}),
        removed=sorted({*first.removed, *second.removed}),
        evicted=sorted({*first.evicted, *second.evicted}),
        restored=sorted({*first.restored, *second.restored}),
        protected=sorted({*first.protected, *second.protected}),
        confirmed=first.confirmed | second.confirmed,
        repaired=first.repaired or second.repaired,
        updates=first.updates + second.updates,
        conflicts=first.conflicts + second.conflicts,
        transient_errors=first.transient_errors + second.transient_errors,
        attempts=first.attempts + second.attempts,
        # The capacity metrics are the stateless (IP) group's: only its writer reports them.
        capacity_used=first.capacity_used if first.capacity_used is not None else second.capacity_used,
        capacity=first.capacity if first.capacity is not None else second.capacity,
        hosts_in_group=first.hosts_in_group if first.hosts_in_group is not None else second.hosts_in_group,
    )
