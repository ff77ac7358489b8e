"""The use cases, shared by the Lambda entry points, the operator CLI and the sandbox.

Nothing here knows whether it runs in Lambda, in a terminal or in the sandbox: AWS clients are
injected (or created lazily by the adapters) and time comes from ``handlers.clock``.
"""

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handlers import clock
from handlers.addresses import normalize_host
from handlers.errors import CapacityExceeded, InvalidInput
from handlers.extraction import extract
from handlers.firewall import RuleGroupClient
from handlers.ledger import SOURCE_FINDING, SOURCE_MANUAL, HostRecord, Ledger, Sighting
from handlers.model import FindingRef, Target
from handlers.policy import MAX_TTL_SECONDS, TargetPolicy
from handlers.rules import blocked_hosts, hand_edited, rules_capacity, split_owned
from handlers.settings import Settings
from handlers.writer import RuleGroupWriter, SyncResult

logger = logging.getLogger(__name__)


def iso(epoch: float) -> str:
    """Epoch seconds as ISO-8601 UTC with a Z, the way GuardDuty writes times."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plain_ip(host: str) -> str:
    """``198.51.100.7/32`` -> ``198.51.100.7``: the reference's HostIp field carries no prefix."""
    return host.split("/", 1)[0]


@dataclass
class BlocklistService:
    settings: Settings
    ledger: Ledger
    firewall: RuleGroupClient
    policy: TargetPolicy
    writer: RuleGroupWriter

    @classmethod
    def create(
        cls,
        settings: Settings,
        dynamodb: Any = None,
        network_firewall: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        region: str | None = None,
    ) -> "BlocklistService":
        policy = TargetPolicy.from_settings(settings)
        ledger = Ledger(settings.table_name, client=dynamodb, region=region)
        firewall = RuleGroupClient(settings.rule_group_arn, client=network_firewall, region=region)

        # Cached: the writer asks it of every host in the group (up to 15,000) on every run.
        blockable = functools.lru_cache(maxsize=1 << 16)(policy.may_rule)
        writer = RuleGroupWriter(firewall, ledger, settings, blockable=blockable, sleep=sleep)
        return cls(settings, ledger, firewall, policy, writer)

    # -- the response workflow -------------------------------------------------------------------
    def record(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Extract the finding's hosts, apply the target policy, and record the accepted ones."""
        if not isinstance(event, Mapping):
            raise InvalidInput(f"expected an EventBridge event object, got {type(event).__name__}")
        extraction = extract(event)
        targets, policy_skips = self.policy.evaluate_all(extraction.candidates)
        skipped = [*extraction.skipped, *policy_skips]
        now = clock.now()
        new: list[str] = []
        refreshed: list[str] = []
        unconfirmed: list[str] = []
        for target in targets:
            record, created = self.ledger.record(self._sighting(target, now))
            (new if created else refreshed).append(target.host)
            if record.pending:
                unconfirmed.append(target.host)
        finding = targets[0].finding if targets else _first_finding(extraction.candidates)
        logger.info(
            "recorded finding",
            extra={"new": new, "refreshed": refreshed, "skipped": [s.as_dict() for s in skipped]},
        )
        return {
            "hosts": sorted(new + refreshed),
            "new": sorted(new),
            "refreshed": sorted(refreshed),
            "unconfirmed": sorted(unconfirmed),
            "skipped": [skip.as_dict() for skip in skipped],
            "has_hosts": bool(targets),
            "finding": _finding_dict(finding) if finding else None,
        }

    def block(self, recorded: Mapping[str, Any]) -> dict[str, Any]:
        """Put the recorded hosts (and any pending ones) into the rule group."""
        hosts = _host_list(recorded, "hosts")
        new = _host_list(recorded, "new")
        # Hosts the ledger has confirmed in the group need no DescribeRuleGroup; an input without the
        # key (an older record step) has every host checked.
        unconfirmed = _host_list(recorded, "unconfirmed") if "unconfirmed" in recorded else hosts
        try:
            sync = self.writer.sync(ensure=unconfirmed)
        except CapacityExceeded:
            # Refused: take back the recordings the group never took, so ledger and group agree.
            for host in new:
                self.ledger.delete_if_pending(host)
            raise
        blocked = [host for host in new if host not in sync.evicted]
        finding = recorded.get("finding") if isinstance(recorded.get("finding"), Mapping) else {}
        notification = {
            "Blocked": "true",
            "Input": {
                "HostIp": plain_ip(blocked[0]) if blocked else "",
                "FindingId": str((finding or {}).get("id", "")),
                "Timestamp": iso(float((finding or {}).get("last_seen") or clock.now())),
                "AccountId": str((finding or {}).get("account", "")),
                "Region": str((finding or {}).get("region", "")),
            },
            "Hosts": blocked,
            "Evicted": sync.evicted,
        }
        return {
            "blocked": blocked,
            "refreshed": _host_list(recorded, "refreshed"),
            "coalesced": sorted(set(sync.added) - set(hosts)),
            "evicted": sync.evicted,
            "restored": sync.restored,
            "updates": sync.updates,
            "conflicts": sync.conflicts,
            "notify": bool(blocked),
            "notification": notification,
        }

    # -- the pruning workflow --------------------------------------------------------------------
    def prune(self) -> dict[str, Any]:
        """Expire hosts past retention, then reconcile the whole rule group with the ledger."""
        now = clock.now()
        pruned = sorted(
            record.host for record in self.ledger.expired(now) if self.ledger.delete_expired(record.host, now)
        )
        sync = self.writer.sync(remove=pruned, full=True)
        drift = _drift(sync, pruned)
        changed = bool(pruned or drift["added"] or drift["removed"] or drift["repaired"] or sync.evicted)
        return {
            "pruned": pruned,
            "restored": sync.restored,
            "evicted": sync.evicted,
            "drift": drift,
            "updates": sync.updates,
            "conflicts": sync.conflicts,
            "notify": changed,
            "notification": {
                "Pruned": pruned,
                "Evicted": sync.evicted,
                "DriftRepaired": drift,
                "At": iso(now),
            },
        }

    def expiring(self) -> list[HostRecord]:
        """What a prune would remove now (``prune --dry-run``); changes nothing."""
        return self.ledger.expired(clock.now())

    # -- operator commands -----------------------------------------------------------------------
    def manual_block(self, host: object, reason: str, ttl_seconds: float | None = None) -> dict[str, Any]:
        canonical = self.policy.check_manual_host(host)
        if not reason.strip():
            raise InvalidInput("a manual block needs a reason")
        ttl = self.settings.retention_seconds if ttl_seconds is None else ttl_seconds
        if not 0 < ttl <= MAX_TTL_SECONDS:  # "not" so that NaN is refused too
            raise InvalidInput(f"ttl must be positive and at most {MAX_TTL_SECONDS} s, got {ttl_seconds}")
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
            sync = self.writer.sync(ensure=[canonical] if record.pending else [])
        except CapacityExceeded:
            if created:
                self.ledger.delete_if_pending(canonical)
            raise
        return {
            "host": canonical,
            "created": created,
            "expires": iso(record.expires_at),
            "evicted": sync.evicted,
        }

    def unblock(self, host: object) -> dict[str, Any]:
        canonical = normalize_host(host)
        in_ledger = self.ledger.delete(canonical)
        sync = self.writer.sync(remove=[canonical])
        return {
            "host": canonical,
            "was_blocked": in_ledger or canonical in sync.removed,
            "removed": sync.removed,
        }

    def list_hosts(self) -> list[HostRecord]:
        return sorted(self.ledger.all_records(), key=lambda r: r.first_seen)

    def status(self) -> dict[str, Any]:
        """Capacity used, hosts by source, and drift between the ledger and the rule group."""
        snapshot = self.firewall.describe()
        source_priority, destination_priority = (
            self.settings.rule_priority,
            self.settings.destination_priority,
        )
        owned, _ = split_owned(snapshot.rules, (source_priority, destination_priority))
        in_group = blocked_hosts(owned, source_priority, destination_priority)
        records = self.ledger.all_records()
        in_ledger = {record.host for record in records}
        edited = hand_edited(owned, source_priority, destination_priority)
        return {
            "capacity": {"used": rules_capacity(snapshot.rules), "total": snapshot.capacity},
            "hosts": len(in_ledger),
            "by_source": dict(Counter(record.source for record in records)),
            "drift": {
                "missing_from_group": sorted(in_ledger - in_group),
                "not_in_ledger": sorted(in_group - in_ledger),
                "owned_rules_edited": edited,
            },
        }

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


def record_view(record: HostRecord) -> dict[str, Any]:
    """A ledger item as the CLI and the sandbox show it."""
    return {
        "host": record.host,
        "first_seen": iso(record.first_seen),
        "last_seen": iso(record.last_seen),
        "expires": iso(record.expires_at),
        "source": record.source,
        "last_finding": record.last_finding_id,
        "reason": record.reason,
        "pending": record.pending,
    }


def _drift(sync: SyncResult, pruned: Sequence[str]) -> dict[str, Any]:
    return {
        "added": sync.added,
        "removed": sorted(set(sync.removed) - set(pruned)),
        "repaired": sync.repaired,
    }


def _first_finding(candidates: Sequence[Any]) -> FindingRef | None:
    return candidates[0].finding if candidates else None


def _finding_dict(finding: FindingRef) -> dict[str, Any]:
    return {
        "id": finding.id,
        "type": finding.type,
        "severity": finding.severity,
        "account": finding.account,
        "region": finding.region,
        "last_seen": finding.last_seen,
    }


def _host_list(payload: Mapping[str, Any], key: str) -> list[str]:
    if not isinstance(payload, Mapping):
        raise InvalidInput(f"expected the record step's output object, got {type(payload).__name__}")
    value = payload.get(key, [])
    if not isinstance(value, list) or not all(isinstance(host, str) for host in value):
        raise InvalidInput(f"'{key}' must be a list of host strings")
    return [normalize_host(host) for host in value]
