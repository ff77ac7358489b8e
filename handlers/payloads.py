"""What each step hands to the next: one type and one builder per payload, bounded in size.

Step Functions refuses a state input or output over 256 KiB (``States.DataLimitExceeded``, which no
``Catch`` sees), SNS a message over 256 KB and Lambda a response over 6 MB. So no payload grows with the
number of hosts: lists are a sorted sample of at most ``SAMPLE_SIZE`` hosts beside their full count, and
every free-text value a finding controls is cut to ``MAX_TEXT``. The full lists go to the logs (in
chunks of ``LOG_CHUNK`` hosts per line) and the ledger.
"""

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from handlers import messages
from handlers.model import FindingRef, Skip, TargetKind

SAMPLE_SIZE: Final = 20
"""Hosts a payload lists by name; the count says how many there are in all."""
MAX_TEXT: Final = 256
"""Characters kept of any id, type or reason a finding supplies (a GuardDuty finding ARN is ~130)."""
MAX_IDENTIFIER: Final = 512
"""Security Hub finding ids are at most 512 characters; the annotation needs them whole."""
LOG_CHUNK: Final = 500
"""Hosts per log line: a line stays well under CloudWatch Logs' 256 KB event limit."""


def sample(hosts: Iterable[str]) -> list[str]:
    """The first ``SAMPLE_SIZE`` of ``hosts`` in sorted order (deterministic, so tests can read it)."""
    return sorted(hosts)[:SAMPLE_SIZE]


def truncate(text: object, limit: int = MAX_TEXT) -> str:
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def log_hosts(logger: logging.Logger, message: str, hosts: Collection[str], **context: Any) -> None:
    """Log every host of ``hosts``, ``LOG_CHUNK`` to a line, with ``context`` on each line."""
    ordered = sorted(hosts)
    for start in range(0, len(ordered), LOG_CHUNK):
        logger.info(
            message,
            extra={
                **context,
                "hosts": ordered[start : start + LOG_CHUNK],
                "offset": start,
                "total": len(ordered),
            },
        )


def finding_payload(finding: FindingRef | None) -> dict[str, Any] | None:
    if finding is None:
        return None
    return {
        "id": truncate(finding.id),
        "type": truncate(finding.type),
        "severity": finding.severity,
        "account": truncate(finding.account, 64),
        "region": truncate(finding.region, 64),
        "last_seen": finding.last_seen,
        "via": finding.source,
        # Only an attack sequence's: every other finding's payload stays as it was.
        **({"sequence": truncate(" ".join(finding.sequence.split()))} if finding.sequence else {}),
    }


def skip_payload(skip: Skip) -> dict[str, str]:
    return {
        "host": truncate(skip.host, 64),
        "reason": str(skip.reason),
        "finding_id": truncate(skip.finding_id),
    }


@dataclass(frozen=True)
class GroupUsage:
    """The rule group after a sync: capacity units used of its capacity, and the hosts it blocks."""

    used: int
    total: int
    hosts: int

    def to_payload(self) -> dict[str, int]:
        return {"used": self.used, "total": self.total, "hosts": self.hosts}


@dataclass(frozen=True)
class RecordOutcome:
    """What RecordHosts did with one event. The full lists stay here; ``to_payload`` is bounded."""

    event_id: str
    finding: FindingRef | None
    new: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    """Hosts whose ledger item is pending: the block step must see them into the group."""
    skipped: list[Skip] = field(default_factory=list)
    batch: str | None = None
    """The ledger key prefix under which the host lists were parked when they exceed the sample."""
    batch_items: int = 0
    security_hub: Sequence[FindingRef] = ()
    """The Security Hub findings whose hosts were recorded: the annotation step updates them."""
    expires_at: float = 0.0
    """When the hosts recorded now expire (the annotation's "until")."""
    places: Mapping[str, str] = field(default_factory=dict)
    """Where each kind of the recorded targets is blocked (``TargetKind`` value -> place)."""
    deduplicated: Sequence[tuple[str, str]] = ()
    """(GuardDuty finding id, the way it came) of each finding whose sighting was recorded already."""
    braked: list[str] = field(default_factory=list)
    """New targets the brake refused (nothing written for them)."""
    brake_engaged: bool = False
    """This step turned the brake on: its block step sends the one "brake on" notification."""

    @property
    def hosts(self) -> list[str]:
        return sorted({*self.new, *self.refreshed})

    def _by_kind(self) -> dict[TargetKind, list[str]]:
        split: dict[TargetKind, list[str]] = {}
        for target in self.hosts:
            split.setdefault(TargetKind.of(target), []).append(target)
        return split

    def kinds(self) -> dict[str, dict[str, Any]]:
        """The recorded targets kind by kind: their count, a sample, and where that kind is blocked (what
        the failure path names when the block step itself fails)."""
        return {
            str(kind): {
                "count": len(targets),
                "sample": sample(targets),
                "where": truncate(self.places.get(kind, "")),
            }
            for kind, targets in self._by_kind().items()
        }

    def to_payload(self) -> dict[str, Any]:
        """The record step's output and the block step's input (docs/DESIGN.md, "RecordHosts")."""
        finding = finding_payload(self.finding)
        sequence = (finding or {}).get("sequence")
        return {
            "event_id": truncate(self.event_id),
            "has_hosts": bool(self.new or self.refreshed or self.brake_engaged),
            **(
                {
                    "brake": {
                        "refused": sample(self.braked),
                        "refused_count": len(self.braked),
                        "engaged_now": self.brake_engaged,
                    }
                }
                if self.braked
                else {}
            ),
            "finding": finding,
            "counts": {
                "hosts": len(self.hosts),
                "new": len(self.new),
                "refreshed": len(self.refreshed),
                "unconfirmed": len(self.unconfirmed),
                "skipped": len(self.skipped),
            },
            "new": sample(self.new),
            "refreshed": sample(self.refreshed),
            "unconfirmed": sample(self.unconfirmed),
            "skipped": [skip_payload(skip) for skip in self.skipped[:SAMPLE_SIZE]],
            "kinds": self.kinds(),
            # What the failure path (no Lambda) needs ready made: a subject's worth of targets, a line
            # of them kind by kind with their places, and a console link to the finding.
            "summary": messages.subject_targets(self._by_kind()),
            "targets": messages.targets_text(self._by_kind(), self.places),
            "finding_link": (
                messages.finding_link(self.finding.id, self.finding.region) if self.finding else "-"
            ),
            # The attack sequence's line, after a line break of its own (empty for any other finding): the
            # failure e-mail's States.Format cannot leave a line out, so it appends this to the targets'.
            "sequence_line": f"\n{messages.sequence_line(sequence)}" if sequence else "",
            "batch": self.batch,
            "batch_items": self.batch_items,
            "expires_at": self.expires_at,
            "deduplicated": [
                {"finding": truncate(finding), "via": via} for finding, via in self.deduplicated[:SAMPLE_SIZE]
            ],
            **security_hub_payload(self.security_hub, self.expires_at),
        }


def security_hub_payload(findings: Sequence[FindingRef], expires_at: float) -> dict[str, Any]:
    """``annotate`` and, when set, the findings' exact identifiers (at most ``SAMPLE_SIZE`` of each Security
    Hub; the count says how many): CSPM's ``{"Id", "ProductArn"}`` under ``findings``, the new Security
    Hub's ``{"CloudAccountUid", "FindingInfoUid", "MetadataProductUid"}`` under ``findings_v2`` (present only
    then). An
    identifier too long to carry whole is left out: a cut one names no finding."""
    carried = [
        finding
        for finding in findings
        if finding.product_arn
        and finding.account
        and len(finding.id) <= MAX_IDENTIFIER
        and len(finding.product_arn) <= MAX_TEXT
        and len(finding.account) <= MAX_TEXT
    ]
    cspm = [finding for finding in carried if finding.source != "securityhubv2"]
    v2 = [finding for finding in carried if finding.source == "securityhubv2"]
    if not carried:
        return {"annotate": False, "security_hub": None}
    return {
        "annotate": True,
        "security_hub": {
            "findings": [{"Id": finding.id, "ProductArn": finding.product_arn} for finding in cspm][
                :SAMPLE_SIZE
            ],
            "count": len(carried),
            "expires_at": int(expires_at),
            # The annotation's fields must fit beside the fullest CSPM finding's own (50 in all).
            "other_fields": max((finding.other_fields for finding in cspm[:SAMPLE_SIZE]), default=0),
            # Only with findings of the new Security Hub: a CSPM-only payload stays as it was.
            **({"findings_v2": [_v2_identifier(finding) for finding in v2][:SAMPLE_SIZE]} if v2 else {}),
        },
    }


def _v2_identifier(finding: FindingRef) -> dict[str, str]:
    return {
        "CloudAccountUid": finding.account,
        "FindingInfoUid": finding.id,
        "MetadataProductUid": finding.product_arn,
    }


def count_of(payload: Mapping[str, Any], key: str) -> int:
    counts = payload.get("counts")
    value = counts.get(key) if isinstance(counts, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


@dataclass(frozen=True)
class KindOutcome:
    """What BlockHosts did for one kind of target, where that kind is enforced. One kind's failure is its
    own: the other kind's outcome stands beside it, and the reports name the kind and the place."""

    kind: TargetKind
    where: str
    """Where this kind is blocked, as the reports name it (``rule group <name>``...)."""
    blocked: list[str] = field(default_factory=list)
    """This execution's new targets of this kind that are in their place now."""
    refreshed: Sequence[str] = ()
    evicted: list[str] = field(default_factory=list)
    coalesced: list[str] = field(default_factory=list)
    """Pending targets of other executions that this execution's write carried."""
    restored: list[str] = field(default_factory=list)
    updates: int = 0
    conflicts: int = 0
    usage: GroupUsage | None = None
    """The place after this execution's sync (the stateless group's; None when not read)."""
    not_blocked: list[str] = field(default_factory=list)
    """This execution's targets of this kind that the failed write left out."""
    error: str = ""
    """The failure's name (``CapacityExceeded``...); empty when this kind succeeded."""
    reason: str = ""
    flush: Mapping[str, Any] | None = None
    """The flow flushes this execution's write started (Next Generation with ``flushFirewallArns``):
    ``FlushReport.to_payload()``; None when nothing was to be flushed."""

    @property
    def failed(self) -> bool:
        return bool(self.error)

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "where": truncate(self.where),
            "status": "failed" if self.failed else "blocked",
            "counts": {
                "blocked": len(self.blocked),
                "refreshed": len(self.refreshed),
                "evicted": len(self.evicted),
                "not_blocked": len(self.not_blocked),
            },
            "blocked": sample(self.blocked),
            "refreshed": sample(self.refreshed),
            "evicted": sample(self.evicted),
            "not_blocked": sample(self.not_blocked),
            "error": truncate(self.error, 64) if self.error else None,
            "reason": truncate(self.reason) if self.reason else None,
            **({"flush": dict(self.flush)} if self.flush is not None else {}),
        }


@dataclass(frozen=True)
class BlockOutcome:
    """What BlockHosts did, kind by kind; ``notification`` is the reference's message, extended per kind."""

    finding: Mapping[str, Any]
    timestamp: str
    kinds: Sequence[KindOutcome] = ()
    expires_at: float = 0.0
    """When this execution's targets expire (the record step's retention), for the e-mail."""
    monitor: bool = False
    """``enforcement: monitor``: the rules count these targets' traffic and drop none (``would block``)."""
    brake: Mapping[str, Any] | None = None
    """The record step's brake report (``RecordOutcome.to_payload``'s ``brake``), when it refused any."""

    @property
    def brake_engaged_now(self) -> bool:
        return bool(self.brake and self.brake.get("engaged_now") is True)

    requested: str = ""
    """Who asked for this block and how ("Block now" from Security Hub); empty for a sighting."""

    def _all(self, attribute: str) -> list[str]:
        return sorted({target for kind in self.kinds for target in getattr(kind, attribute)})

    def of(self, kind: TargetKind) -> KindOutcome | None:
        return next((outcome for outcome in self.kinds if outcome.kind is kind), None)

    @property
    def blocked(self) -> list[str]:
        return self._all("blocked")

    @property
    def evicted(self) -> list[str]:
        return self._all("evicted")

    @property
    def failures(self) -> list[KindOutcome]:
        return [kind for kind in self.kinds if kind.failed]

    def _status(self) -> str:
        """``true``: every kind went in; ``partial``: a kind failed beside one that holds its targets;
        ``false``: nothing of this finding is blocked."""
        if not self.failures:
            return "true"
        holds = any(not kind.failed and (kind.blocked or kind.refreshed) for kind in self.kinds)
        return "partial" if holds else "false"

    def notification(self) -> dict[str, Any]:
        """The reference's message (``Input.HostIp`` an address, never a domain), then per kind: the
        addresses (``Hosts``), the domains (``Domains``) and what was not blocked where (``NotBlocked``)."""
        addresses = self.of(TargetKind.ADDRESS) or KindOutcome(TargetKind.ADDRESS, "")
        domains = self.of(TargetKind.DOMAIN) or KindOutcome(TargetKind.DOMAIN, "")
        first_address = sorted(addresses.blocked)[0].split("/", 1)[0] if addresses.blocked else ""
        return {
            "Blocked": self._status(),
            "Input": {
                "HostIp": first_address,
                "Domain": sorted(domains.blocked)[0] if domains.blocked else "",
                "FindingId": truncate(self.finding.get("id", "")),
                "Timestamp": self.timestamp,
                "AccountId": truncate(self.finding.get("account", ""), 64),
                "Region": truncate(self.finding.get("region", ""), 64),
            },
            **({"Monitor": True} if self.monitor else {}),
            **(
                {
                    "Brake": {
                        "Refused": list(self.brake.get("refused") or [])[:SAMPLE_SIZE],
                        "RefusedCount": int(self.brake.get("refused_count") or 0),
                        "EngagedNow": self.brake_engaged_now,
                    }
                }
                if self.brake
                else {}
            ),
            "Hosts": sample(addresses.blocked),
            "HostCount": len(addresses.blocked),
            "Evicted": sample(addresses.evicted),
            "EvictedCount": len(addresses.evicted),
            "Domains": sample(domains.blocked),
            "DomainCount": len(domains.blocked),
            "EvictedDomains": sample(domains.evicted),
            "EvictedDomainCount": len(domains.evicted),
            "NotBlocked": [
                {
                    "Kind": str(failed.kind),
                    "Targets": sample(failed.not_blocked),
                    "Count": len(failed.not_blocked),
                    "Where": truncate(failed.where),
                    "Error": truncate(failed.error, 64),
                    "Reason": truncate(failed.reason),
                }
                for failed in self.failures
            ],
        }

    def to_payload(self) -> dict[str, Any]:
        """The block step's result; ``message`` is what NotifySuccess publishes (``default`` + ``email``).

        The top-level lists and counts are every kind's together (what the metrics and older readers
        take); ``kinds`` holds each kind's own outcome, and ``failed`` says whether any kind failed."""
        notification = self.notification()
        if self.requested:
            notification["RequestedBy"] = truncate(self.requested)
        addresses = self.of(TargetKind.ADDRESS)
        usage = addresses.usage if addresses else None
        places = {str(kind.kind): kind.where for kind in self.kinds}
        refreshed = self._all("refreshed")
        return {
            "counts": {
                "blocked": len(self.blocked),
                "refreshed": len(refreshed),
                "evicted": len(self.evicted),
                "coalesced": len(self._all("coalesced")),
                "restored": len(self._all("restored")),
                "not_blocked": len(self._all("not_blocked")),
                "brake_refused": int((self.brake or {}).get("refused_count") or 0),
            },
            "blocked": sample(self.blocked),
            "refreshed": sample(refreshed),
            "evicted": sample(self.evicted),
            "coalesced": sample(self._all("coalesced")),
            "restored": sample(self._all("restored")),
            "updates": sum(kind.updates for kind in self.kinds),
            "conflicts": sum(kind.conflicts for kind in self.kinds),
            "kinds": {str(kind.kind): kind.to_payload() for kind in self.kinds},
            "failed": bool(self.failures),
            # The brake's refusals notify once: from the execution that turned it on.
            "notify": bool(self.blocked or self.failures or self.brake_engaged_now),
            "notification": notification,
            "subject": messages.block_subject(notification),
            "message": messages.per_protocol(
                notification,
                (f"Requested by {truncate(self.requested)}.\n" if self.requested else "")
                + messages.block_email(
                    notification,
                    self.finding,
                    self.expires_at,
                    places,
                    (usage.used, usage.total) if usage else None,
                ),
            ),
            "capacity": usage.to_payload() if usage else None,
        }


@dataclass(frozen=True)
class PruneOutcome:
    """What one pruning run did: expiries, evictions, drift repaired, hosts now protected."""

    at: str
    pruned: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    """Hosts the never-block list now covers: taken out of the group and the ledger."""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    repaired: bool = False
    updates: int = 0
    conflicts: int = 0
    at_epoch: float = 0.0
    places: Mapping[str, str] = field(default_factory=dict)
    """Where each kind the stack blocks is blocked (``TargetKind`` value -> place), for the e-mail."""
    usage: GroupUsage | None = None

    @property
    def changed(self) -> bool:
        return bool(
            self.pruned or self.added or self.removed or self.repaired or self.evicted or self.protected
        )

    def drift(self) -> dict[str, Any]:
        return {
            "added": sample(self.added),
            "added_count": len(self.added),
            "removed": sample(self.removed),
            "removed_count": len(self.removed),
            "repaired": self.repaired,
        }

    def notification(self) -> dict[str, Any]:
        return {
            "Pruned": sample(self.pruned),
            "PrunedCount": len(self.pruned),
            "Evicted": sample(self.evicted),
            "EvictedCount": len(self.evicted),
            "Protected": sample(self.protected),
            "ProtectedCount": len(self.protected),
            "DriftRepaired": self.drift(),
            "At": self.at,
        }

    def to_payload(self) -> dict[str, Any]:
        """The prune step's result; ``message`` is what NotifyPruned publishes (``default`` + ``email``)."""
        notification = self.notification()
        capacity = (self.usage.used, self.usage.total) if self.usage else None
        return {
            "counts": {
                "pruned": len(self.pruned),
                "restored": len(self.restored),
                "evicted": len(self.evicted),
                "protected": len(self.protected),
            },
            "pruned": sample(self.pruned),
            "restored": sample(self.restored),
            "evicted": sample(self.evicted),
            "protected": sample(self.protected),
            "drift": self.drift(),
            "updates": self.updates,
            "conflicts": self.conflicts,
            "notify": self.changed,
            "notification": notification,
            "subject": messages.prune_subject(notification),
            "message": messages.per_protocol(
                notification, messages.prune_email(notification, self.at_epoch, self.places, capacity)
            ),
            "capacity": self.usage.to_payload() if self.usage else None,
        }
