"""The DynamoDB ledger of blocked hosts: one item per host, read O(1) per finding, never scanned."""

import hashlib
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from handlers import schema
from handlers.errors import LedgerUnavailable

SOURCE_FINDING: Final = "finding"
SOURCE_MANUAL: Final = "manual"
RECENT_FINDINGS: Final = 10
"""How many finding ids an item keeps (the first ones; the latest is kept apart): enough to investigate,
bounded so items stay small, and a list that only grows, so concurrent sightings append without conflict."""
PURGE_GRACE_SECONDS: Final = 86400
WRITE_ATTEMPTS: Final = 25
"""Conditional-write rounds for one host before giving up: a scanner naming one host in dozens of
concurrent findings makes every one of them contend on that item."""
WRITE_BACKOFF_BASE: Final = 0.01
WRITE_BACKOFF_CAP: Final = 0.5
"""Full jitter between rounds, from 10 ms up to 0.5 s: the rounds of 25 writers spread instead of colliding
again (about 6 s in the worst case, well inside the record function's timeout)."""
LATEST_FINDING: Final = "LastFindingId"
BATCH_PREFIX: Final = "#batch#"
"""Items (no GSI keys, never listed) that park an execution's host lists between its record and block
steps, so that the state between them stays small however many hosts a finding names."""
FINDING_PREFIX: Final = "#finding#"
"""Items (no GSI keys, never listed) remembering, per Security Hub finding, the provider's last
``UpdatedAt`` the record step acted on and a digest of the provider's content then: an event that brings
neither a newer ``UpdatedAt`` nor other provider content is an echo (docs/DESIGN.md, "Loop guard")."""
SIGHTING_PREFIX: Final = "#sighting#"
"""Items (no GSI keys, never listed) remembering, per GuardDuty finding (account, region and GuardDuty's own
id, whichever way it came), the latest sighting (GuardDuty's ``updatedAt``) whose hosts were recorded and
when they expire: the same sighting arriving another way is deduplicated (docs/OCSF.md, "One response")."""
HOLDS_PREFIX: Final = "#holds#"
"""Items (no GSI keys, never listed), one per finding that held hosts: the hosts it was recorded for
(``Hosts``, a string set) and, once an analyst released it, until when it may not block again
(``ReleasedUntil``, ``ReleasedBy``, ``ReleasedAt``) (docs/DESIGN.md, "Holders")."""
HOLDERS_MAX: Final = 1000
"""Finding holders one host item keeps (32 characters each, so at most ~33 KB): past it the item is no
longer sure who holds it (``HoldersComplete`` goes) and no finding's release takes it out; its expiry does."""
HOLD_HOSTS_MAX: Final = 5000
"""Hosts a finding's holds item lists (at most ~230 KB of IPv6 keys, under DynamoDB's 400 KB; long domains
reach 400 KB sooner, which DynamoDB refuses): a finding that names more is marked ``HostsIncomplete``; its
release releases those it lists, the rest expire."""
HOLDER_LENGTH: Final = 32
BATCH_CHUNK: Final = 1000
"""Hosts per batch item at most (and fewer when they are long: ``BATCH_ITEM_BYTES``)."""
ITEM_BYTES: Final = 400_000
"""DynamoDB: one item, attribute names and values, is at most 400 KB; read as 400,000 bytes, the
conservative reading of KB (the handlers cannot import components.aws_limits)."""
BATCH_ITEM_BYTES: Final = ITEM_BYTES
"""What one batch item may weigh (``item_size``): 1,000 addresses weigh at most ~90 KB, but 1,000 of the
longest domains, each in two lists, ~508 KB."""

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
_GUARDDUTY_FINDING_ARN = re.compile(
    r"arn:aws[a-z-]*:guardduty:[a-z0-9-]+:\d{12}:detector/[^/]+/finding/([^/]+)"
)


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it against ``ITEM_BYTES`` (Developer Guide, "Item sizes and
    formats"): each attribute's name and value; strings and binaries their UTF-8 bytes; a number 1 byte
    per two significant digits plus 1; a boolean or null 1; a list or map 3 bytes plus 1 per element
    (and a map its keys); a set the sum of its members."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "B":
        return len(content)
    if kind == "N":
        return _number_size(str(content))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(
            1 + len(key.encode("utf-8")) + _value_size(element) for key, element in content.items()
        )
    if kind == "SS":
        return sum(len(member.encode("utf-8")) for member in content)
    if kind == "NS":
        return sum(_number_size(member) for member in content)
    return sum(len(member) for member in content)  # BS


def _number_size(text: str) -> int:
    digits = re.sub(r"[^0-9]", "", text.lower().split("e")[0]).strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def finding_identity(finding_id: str) -> str:
    """The GuardDuty finding id, whichever way the finding arrived: Security Hub's ``Id`` is the finding's
    ARN, whose last segment is the native event's ``detail.id`` (one finding, one holder)."""
    match = _GUARDDUTY_FINDING_ARN.fullmatch(finding_id)
    return match.group(1) if match else finding_id


def holder_of(finding_id: str) -> str:
    """The finding's mark on the hosts it holds: bounded whatever the id's length (ids are untrusted)."""
    return hashlib.sha256(finding_identity(finding_id).encode()).hexdigest()[:HOLDER_LENGTH]


@dataclass(frozen=True)
class HostRecord:
    host: str
    first_seen: float
    last_seen: float
    expires_at: float
    source: str
    finding_ids: tuple[str, ...] = ()
    finding_type: str = ""
    severity: float = 0.0
    account: str = ""
    region: str = ""
    reason: str = ""
    pending: bool = False
    pending_since: float = 0.0
    version: int = 0
    latest_finding_id: str = ""
    """The finding that saw the host last (items written before it was kept: the last of ``finding_ids``)."""
    holders: frozenset[str] = frozenset()
    """``holder_of`` every finding that holds the host (a manual block holds it through ``source``)."""
    holders_complete: bool = False
    """``holders`` names every finding that holds the host: false for items written before holders were
    kept and for items past ``HOLDERS_MAX``, which no finding's release takes out."""

    @property
    def last_finding_id(self) -> str:
        return self.latest_finding_id or (self.finding_ids[-1] if self.finding_ids else "")

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            schema.HASH_KEY: self.host,
            "FirstSeen": _num(self.first_seen),
            "LastSeen": _num(self.last_seen),
            schema.EXPIRY_INDEX_RANGE_KEY: _num(self.expires_at),
            schema.EXPIRY_INDEX_HASH_KEY: schema.SHARD_VALUE,
            schema.TTL_ATTRIBUTE: int(self.expires_at) + PURGE_GRACE_SECONDS,
            "Source": self.source,
            "FindingIds": list(self.finding_ids),
            "FindingType": self.finding_type,
            "Severity": _num(self.severity),
            "AccountId": self.account,
            "Region": self.region,
            "Reason": self.reason,
            "Version": self.version,
        }
        if self.latest_finding_id:
            item[LATEST_FINDING] = self.latest_finding_id
        if self.holders:
            item["Holders"] = set(self.holders)
        if self.holders_complete:
            item["HoldersComplete"] = 1
        if self.pending:
            item[schema.PENDING_INDEX_HASH_KEY] = schema.PENDING_VALUE
            item[schema.PENDING_SINCE] = _num(self.pending_since)
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "HostRecord":
        return cls(
            host=str(item[schema.HASH_KEY]),
            first_seen=float(item.get("FirstSeen", 0)),
            last_seen=float(item.get("LastSeen", 0)),
            expires_at=float(item.get(schema.EXPIRY_INDEX_RANGE_KEY, 0)),
            source=str(item.get("Source", SOURCE_FINDING)),
            finding_ids=tuple(str(f) for f in item.get("FindingIds", [])),
            finding_type=str(item.get("FindingType", "")),
            severity=float(item.get("Severity", 0)),
            account=str(item.get("AccountId", "")),
            region=str(item.get("Region", "")),
            reason=str(item.get("Reason", "")),
            pending=item.get(schema.PENDING_INDEX_HASH_KEY) == schema.PENDING_VALUE,
            pending_since=float(item.get(schema.PENDING_SINCE, 0)),
            version=int(item.get("Version", 0)),
            latest_finding_id=str(item.get(LATEST_FINDING, "")),
            holders=frozenset(str(holder) for holder in item.get("Holders", ())),
            holders_complete="HoldersComplete" in item,
        )


@dataclass(frozen=True)
class Sighting:
    """What one finding (or one operator) says about a host."""

    host: str
    seen_at: float
    expires_at: float
    source: str
    recorded_at: float = 0.0
    """When the sighting is being recorded (the clock's now), as opposed to when the host was seen."""
    finding_id: str = ""
    finding_type: str = ""
    severity: float = 0.0
    account: str = ""
    region: str = ""
    reason: str = ""

    @property
    def holder(self) -> str:
        """The finding that holds the host by this sighting ("" for an operator's, held by ``source``)."""
        return holder_of(self.finding_id) if self.finding_id and self.source == SOURCE_FINDING else ""


def merge(existing: HostRecord | None, sighting: Sighting) -> HostRecord:
    """The record after ``sighting``: times only move forward, a manual block stays manual."""
    if existing is None:
        return HostRecord(
            host=sighting.host,
            first_seen=sighting.seen_at,
            last_seen=sighting.seen_at,
            expires_at=sighting.expires_at,
            source=sighting.source,
            finding_ids=(sighting.finding_id,) if sighting.finding_id else (),
            finding_type=sighting.finding_type,
            severity=sighting.severity,
            account=sighting.account,
            region=sighting.region,
            reason=sighting.reason,
            pending=True,
            pending_since=sighting.recorded_at,
            version=1,
            latest_finding_id=sighting.finding_id,
            holders=frozenset({sighting.holder} - {""}),
            holders_complete=True,
        )
    holders, complete = existing.holders, existing.holders_complete
    if sighting.holder and sighting.holder not in holders:
        if len(holders) < HOLDERS_MAX:
            holders = holders | {sighting.holder}
        else:
            complete = False
    finding_ids = existing.finding_ids
    if sighting.finding_id and sighting.finding_id not in finding_ids and len(finding_ids) < RECENT_FINDINGS:
        finding_ids = (*finding_ids, sighting.finding_id)
    manual = SOURCE_MANUAL in (existing.source, sighting.source)
    # An operator's block is checked against the group, whatever the ledger believed: a hand edit may
    # have taken a confirmed host out, and "blocked by hand" must be true when the command returns.
    recheck = sighting.source == SOURCE_MANUAL and not existing.pending
    return replace(
        existing,
        pending=existing.pending or recheck,
        pending_since=sighting.recorded_at if recheck else existing.pending_since,
        first_seen=min(existing.first_seen, sighting.seen_at),
        last_seen=max(existing.last_seen, sighting.seen_at),
        expires_at=max(existing.expires_at, sighting.expires_at),
        source=SOURCE_MANUAL if manual else SOURCE_FINDING,
        finding_ids=finding_ids,
        finding_type=sighting.finding_type or existing.finding_type,
        severity=max(existing.severity, sighting.severity),
        account=sighting.account or existing.account,
        region=sighting.region or existing.region,
        reason=sighting.reason or existing.reason,
        version=existing.version + 1,
        latest_finding_id=sighting.finding_id or existing.latest_finding_id,
        holders=holders,
        holders_complete=complete,
    )


@dataclass(frozen=True)
class MergeUpdate:
    """An UpdateItem that turns an item read as ``existing`` into ``merge(existing, sighting)``, atomically.

    Only what the sighting changes is written. A field merged by max (or min) is written with a condition
    that no other writer has moved it past ours since our read; every other field is written
    unconditionally (last writer wins, or a set-if-absent), and the finding id is appended while it is
    absent and the list not full. So a refusal means another writer moved one of our fields past us, or
    filled the list, or deleted the item: on the next read that field is no longer ours to write. However
    many findings share a host, each is refused a bounded number of times (the O(n^2) conflicts of
    rewriting the whole item under a version number become O(n)).
    """

    host: str
    expression: str
    condition: str
    names: dict[str, str]
    values: dict[str, Any]


MERGED_BY_MAX: Final = (
    ("LastSeen", "last_seen"),
    (schema.EXPIRY_INDEX_RANGE_KEY, "expires_at"),
    ("Severity", "severity"),
)


def merge_update(existing: HostRecord, updated: HostRecord) -> MergeUpdate:
    """The UpdateItem that makes the item read as ``existing`` hold ``updated`` (``merge`` of the two)."""
    names: dict[str, str] = {"#key": schema.HASH_KEY, "#version": "Version"}
    values: dict[str, Any] = {":one": {"N": "1"}}
    assignments: list[str] = []
    conditions = ["attribute_exists(#key)"]

    def name(attribute: str) -> str:
        placeholder = f"#a{len(names)}"
        names[placeholder] = attribute
        return placeholder

    def value(raw: Any) -> str:
        placeholder = f":v{len(values)}"
        values[placeholder] = _serializer.serialize(raw)
        return placeholder

    for attribute, field_name in MERGED_BY_MAX:
        mine = _num(getattr(updated, field_name))
        if mine > _num(getattr(existing, field_name)):
            ref, new = name(attribute), value(mine)
            assignments.append(f"{ref} = {new}")
            conditions.append(f"(attribute_not_exists({ref}) OR {ref} <= {new})")
            if attribute == schema.EXPIRY_INDEX_RANGE_KEY:
                assignments.append(
                    f"{name(schema.TTL_ATTRIBUTE)} = {value(int(updated.expires_at) + PURGE_GRACE_SECONDS)}"
                )
    if _num(updated.first_seen) < _num(existing.first_seen):
        ref, new = name("FirstSeen"), value(_num(updated.first_seen))
        assignments.append(f"{ref} = {new}")
        conditions.append(f"{ref} >= {new}")
    added = updated.finding_ids[len(existing.finding_ids) :]
    if added:
        ref, empty = name("FindingIds"), value([])
        assignments.append(f"{ref} = list_append(if_not_exists({ref}, {empty}), {value(list(added))})")
        absent = " AND ".join(f"NOT contains({ref}, {value(finding)})" for finding in added)
        room = value(RECENT_FINDINGS - len(added) + 1)
        conditions.append(f"(attribute_not_exists({ref}) OR ({absent} AND size({ref}) < {room}))")
    for attribute, field_name in (
        ("Source", "source"),
        ("FindingType", "finding_type"),
        ("AccountId", "account"),
        ("Region", "region"),
        ("Reason", "reason"),
        (LATEST_FINDING, "latest_finding_id"),
    ):
        if getattr(updated, field_name) != getattr(existing, field_name):
            assignments.append(f"{name(attribute)} = {value(getattr(updated, field_name))}")
    if updated.pending and not existing.pending:
        # A manual block re-checks a confirmed host: pending from now, unless a writer made it pending first.
        since = name(schema.PENDING_SINCE)
        assignments.append(f"{name(schema.PENDING_INDEX_HASH_KEY)} = {value(schema.PENDING_VALUE)}")
        assignments.append(f"{since} = if_not_exists({since}, {value(_num(updated.pending_since))})")
    additions = ["#version :one"]
    new_holders = updated.holders - existing.holders
    if new_holders:
        # A set grows by ADD without a read: concurrent findings holding one host never conflict.
        additions.append(f"{name('Holders')} {value(set(new_holders))}")
    removals = []
    if existing.holders_complete and not updated.holders_complete:
        removals.append(name("HoldersComplete"))
    expression = (
        (f"SET {', '.join(assignments)} " if assignments else "")
        + f"ADD {', '.join(additions)}"
        + (f" REMOVE {', '.join(removals)}" if removals else "")
    )
    return MergeUpdate(existing.host, expression, " AND ".join(conditions), names, values)


@dataclass(frozen=True)
class Lease:
    acquired: bool
    group_token: str | None = None
    last_write_at: float = 0.0
    generation: int = 0
    """Bumped by every acquisition: a holder whose generation is higher than what a waiter saw took the
    lease after the waiter's hosts were pending, so it read them when it planned."""


@dataclass(frozen=True)
class LeaseState:
    """The lease item as a waiter sees it: one small item, however long the wait."""

    holder: str | None
    lease_until: float
    generation: int
    planned: int
    """How many plans have been announced: a plan numbered higher reads every host pending now."""
    folded: int
    """The number of the last plan whose holder wrote (or found nothing to write) and confirmed its hosts."""
    last_write_at: float = 0.0
    held_since: float = 0.0
    """When the holder took the lease (by its clock)."""
    planned_at: float = 0.0
    """When the last plan was announced (by its holder's clock): after ``held_since``, this holder's."""
    working: int = 0
    """Bumped when a holder extends its lease after confirming hosts: a long turn that is moving."""
    turn_seconds: float = 0.0
    """How long the last holder that planned took from its first plan to releasing the lease (0: no holder
    has said yet)."""
    previous_turn_seconds: float = 0.0
    """The same for the holder that planned before it (0: none yet)."""

    @property
    def pace(self) -> float:
        """How fast holders go right now, the unit a waiter measures its sleeps in: the shorter of the last
        two turns. One turn slowed by a wave of new executions (14 s among turns of 0.2 s in the bench's
        burst) must not make every waiter sleep that long: they slept through the quick writes that served
        them and kept their executions' places in the burst; a holder that stays slow is slow twice."""
        if self.previous_turn_seconds > 0:
            return min(self.turn_seconds, self.previous_turn_seconds)
        return self.turn_seconds


@dataclass(frozen=True)
class BatchHosts:
    new: list[str]
    unconfirmed: list[str]
    refreshed: list[str]


@dataclass
class LedgerCounts:
    items_read: int = 0
    reads: int = 0
    writes: int = 0
    write_conflicts: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)


class Ledger:
    """Conditional writes keep concurrent executions from overwriting each other's sightings."""

    def __init__(
        self,
        table_name: str,
        client: Any = None,
        region: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.table_name = table_name
        self._client = client
        self._region = region
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.counts = LedgerCounts()
        self.page_size: int | None = None
        """Items per Query page; None lets DynamoDB fill 1 MB pages (tests set it to force paging)."""

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("dynamodb", region_name=self._region)
        return self._client

    # -- per-finding path: O(1) items -------------------------------------------------------------
    def get(self, host: str) -> HostRecord | None:
        item = self._get_item(host)
        return HostRecord.from_item(item) if item is not None else None

    def record(
        self, sighting: Sighting, admit: Callable[[str], None] | None = None
    ) -> tuple[HostRecord, bool]:
        """Merge ``sighting`` into the host's item; returns (record, created). ``admit`` (the brake) is
        asked once, before a new host's item is created, and may raise to refuse it: nothing is written."""
        admitted = admit is None
        for attempt in range(WRITE_ATTEMPTS):
            self._back_off(attempt)
            existing = self.get(sighting.host)
            updated = merge(existing, sighting)
            if existing is None:
                if not admitted and admit is not None:
                    admit(sighting.host)
                    admitted = True
                if self._put_conditionally(updated.to_item(), f"attribute_not_exists({schema.HASH_KEY})", {}):
                    return updated, True
            else:
                merged = self._update_conditionally(merge_update(existing, updated))
                if merged is not None:
                    return merged, False
            self.counts.write_conflicts += 1
        raise LedgerUnavailable(f"could not record {sighting.host}: too many concurrent writers")

    def finding_seen(self, finding_id: str) -> "FindingSeen | None":
        """What the record step last acted on for Security Hub finding ``finding_id``, if anything."""
        plain = self._get_item(finding_key(finding_id))
        if plain is None:
            return None
        updated_at = plain.get("UpdatedAt")
        return FindingSeen(
            updated_at=float(updated_at) if updated_at is not None else None,
            state=str(plain.get("ProviderState", "")),
        )

    def remember_finding(
        self, finding_id: str, updated_at: float | None, state: str, purge_at: float
    ) -> None:
        """Remember the provider state the record step acted on for ``finding_id``: its ``UpdatedAt``
        unless a newer one is remembered already, and always the digest of the provider's content."""
        names = {"#ttl": schema.TTL_ATTRIBUTE}
        values: dict[str, Any] = {
            ":state": _serializer.serialize(state),
            ":purge": _serializer.serialize(int(purge_at)),
        }
        request: dict[str, Any] = {"UpdateExpression": "SET ProviderState = :state, #ttl = :purge"}
        if updated_at is not None:
            values[":updated"] = _serializer.serialize(_num(updated_at))
            request["UpdateExpression"] += ", UpdatedAt = :updated"
            request["ConditionExpression"] = "attribute_not_exists(UpdatedAt) OR UpdatedAt < :updated"
        # A failed condition means a newer provider update is remembered already: keep it.
        self._update_if(
            finding_key(finding_id),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            **request,
        )

    def sighting_seen(self, finding_key_text: str) -> "SightingSeen | None":
        """The latest recorded sighting of the GuardDuty finding ``finding_key_text``, if any."""
        plain = self._get_item(sighting_key(finding_key_text))
        if plain is None:
            return None
        return SightingSeen(
            sighted_at=float(plain.get("SightedAt", 0)),
            expires_at=float(plain.get("ExpiresAt", 0)),
            via=str(plain.get("Via", "")),
        )

    def remember_sighting(
        self, finding_key_text: str, sighted_at: float, expires_at: float, via: str, purge_at: float
    ) -> None:
        """Remember that the hosts of this sighting are recorded until ``expires_at``, unless a later
        sighting is remembered already (memory only moves forward)."""
        values = {
            ":sighted": _serializer.serialize(_num(sighted_at)),
            ":expires": _serializer.serialize(_num(expires_at)),
            ":via": _serializer.serialize(via),
            ":purge": _serializer.serialize(int(purge_at)),
        }
        self._update_if(
            sighting_key(finding_key_text),
            UpdateExpression="SET SightedAt = :sighted, ExpiresAt = :expires, Via = :via, #ttl = :purge",
            ConditionExpression="attribute_not_exists(SightedAt) OR SightedAt < :sighted",
            ExpressionAttributeNames={"#ttl": schema.TTL_ATTRIBUTE},
            ExpressionAttributeValues=values,
        )

    # -- which findings hold which hosts (docs/DESIGN.md, "Holders") ------------------------------
    def holds(self, finding_id: str) -> "FindingHolds":
        """What finding ``finding_id`` holds, and whether an analyst released it (one item)."""
        item = self._get_item(holds_key(finding_id))
        return FindingHolds.from_item(item) if item is not None else FindingHolds()

    def hold(self, finding_id: str, hosts: Sequence[str], now: float, purge_at: float) -> "FindingHolds":
        """Add ``hosts`` to what ``finding_id`` holds, after they were recorded with its holder; the item
        after the write. It is the one item a release writes first: if the answer says released, the
        release may have read the hosts before these were added, so the caller takes them back itself."""
        names = {"#hosts": "Hosts", "#ttl": schema.TTL_ATTRIBUTE}
        values: dict[str, Any] = {
            ":hosts": _serializer.serialize(set(hosts)),
            ":purge": _serializer.serialize(int(purge_at)),
            ":room": _serializer.serialize(max(0, HOLD_HOSTS_MAX - len(hosts))),
        }
        try:
            answer = self._call(
                "UpdateItem",
                Key=_key(holds_key(finding_id)),
                UpdateExpression="ADD #hosts :hosts SET #ttl = :purge",
                ConditionExpression="attribute_not_exists(#hosts) OR size(#hosts) <= :room",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except (_ConditionFailed, _ItemTooLarge):
            # Full (by count, or long domains by DynamoDB's 400 KB): these hosts stay held by the finding
            # until they expire; a release says so.
            answer = self._call(
                "UpdateItem",
                Key=_key(holds_key(finding_id)),
                UpdateExpression="SET HostsIncomplete = :yes, #ttl = :purge",
                ExpressionAttributeNames={"#ttl": schema.TTL_ATTRIBUTE},
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":purge": values[":purge"]},
                ReturnValues="ALL_NEW",
            )
        return FindingHolds.from_item(_plain(answer.get("Attributes", {})))

    def mark_released(self, finding_id: str, until: float, by: str, now: float) -> "FindingHolds":
        """Release ``finding_id`` until ``until``: first of a release's steps, so a record step that adds
        hosts after it sees the release (``hold``), and one that added them before has them read here."""
        answer = self._call(
            "UpdateItem",
            Key=_key(holds_key(finding_id)),
            UpdateExpression="SET ReleasedUntil = :until, ReleasedBy = :by, ReleasedAt = :now, #ttl = :purge",
            ExpressionAttributeNames={"#ttl": schema.TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":until": _serializer.serialize(_num(until)),
                ":by": {"S": by},
                ":now": _serializer.serialize(_num(now)),
                ":purge": _serializer.serialize(int(until) + PURGE_GRACE_SECONDS),
            },
            ReturnValues="ALL_NEW",
        )
        return FindingHolds.from_item(_plain(answer.get("Attributes", {})))

    def unrelease(self, finding_id: str) -> None:
        """Lift a release ("Block now" on a finding an analyst had released): it may block again."""
        self._call(
            "UpdateItem",
            Key=_key(holds_key(finding_id)),
            UpdateExpression="REMOVE ReleasedUntil, ReleasedBy, ReleasedAt",
        )

    def release_host(self, host: str, holder: str) -> bool:
        """End ``holder``'s hold on ``host``; True if that took the host's item out (nobody else held it).

        The item goes only if it is sure of its holders, no operator blocked it by hand, and ``holder`` is
        the only one left: one conditional delete. Otherwise ``holder`` leaves the set; if that leaves
        nobody (another release left it at the same moment) the delete is tried again.
        """
        for attempt in range(WRITE_ATTEMPTS):
            self._back_off(attempt)
            if self._delete(
                host,
                condition=(
                    f"attribute_exists({schema.HASH_KEY}) AND attribute_exists(HoldersComplete) "
                    "AND #source = :finding AND (attribute_not_exists(#holders) "
                    "OR (size(#holders) = :one AND contains(#holders, :holder)))"
                ),
                names={"#source": "Source", "#holders": "Holders"},
                values={":finding": {"S": SOURCE_FINDING}, ":one": {"N": "1"}, ":holder": {"S": holder}},
            ):
                return True
            try:
                answer = self._call(
                    "UpdateItem",
                    Key=_key(host),
                    UpdateExpression="DELETE #holders :holder",
                    ConditionExpression=f"attribute_exists({schema.HASH_KEY})",
                    ExpressionAttributeNames={"#holders": "Holders"},
                    ExpressionAttributeValues={":holder": {"SS": [holder]}},
                    ReturnValues="ALL_NEW",
                )
            except _ConditionFailed:
                return False
            record = HostRecord.from_item(_plain(answer["Attributes"]))
            if record.holders or not record.holders_complete or record.source != SOURCE_FINDING:
                return False
            self.counts.write_conflicts += 1
        return False

    def extend_host(self, host: str, expires_at: float) -> bool:
        """Push ``host``'s expiry out to ``expires_at``; never in (False if it expires later already)."""
        return self._update_if(
            host,
            UpdateExpression="SET #e = :e, #ttl = :purge",
            ConditionExpression=f"attribute_exists({schema.HASH_KEY}) AND #e < :e",
            ExpressionAttributeNames={"#e": schema.EXPIRY_INDEX_RANGE_KEY, "#ttl": schema.TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":e": _serializer.serialize(_num(expires_at)),
                ":purge": _serializer.serialize(int(expires_at) + PURGE_GRACE_SECONDS),
            },
        )

    def pending_hosts(self) -> dict[str, float]:
        """Hosts recorded but not yet confirmed in the rule group, with when they were recorded."""
        hosts: dict[str, float] = {}
        for item in self._query(
            IndexName=schema.PENDING_INDEX,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": schema.PENDING_INDEX_HASH_KEY},
            ExpressionAttributeValues={":p": {"S": schema.PENDING_VALUE}},
        ):
            hosts[str(item[schema.HASH_KEY])] = float(item.get(schema.PENDING_SINCE, 0))
        return hosts

    def clear_pending(self, hosts: Iterable[str]) -> None:
        for host in hosts:
            # A host whose item is gone (pruned, unblocked) has nothing left to clear.
            self._update_if(
                host,
                UpdateExpression="REMOVE #p, #since",
                ConditionExpression=f"attribute_exists({schema.HASH_KEY})",
                ExpressionAttributeNames={
                    "#p": schema.PENDING_INDEX_HASH_KEY,
                    "#since": schema.PENDING_SINCE,
                },
            )

    def still_pending(self, hosts: Iterable[str]) -> set[str]:
        """Which of ``hosts`` no writer has confirmed in the rule group yet (strongly consistent)."""
        return {record.host for record in self._batch_get(hosts) if record.pending}

    def records(self, hosts: Iterable[str]) -> dict[str, HostRecord]:
        """The items of ``hosts`` that exist right now (strongly consistent)."""
        return {record.host: record for record in self._batch_get(hosts)}

    # -- an execution's host lists, parked between its record and block steps ----------------------
    def put_batch(
        self, batch: str, new: Sequence[str], unconfirmed: Sequence[str], refreshed: Sequence[str], now: float
    ) -> int:
        """Park the lists under ``batch``; returns how many items hold them (each at most ``BATCH_CHUNK``
        hosts and ``BATCH_ITEM_BYTES``, so DynamoDB takes it however long the hosts are)."""
        lists = {"New": set(new), "Unconfirmed": set(unconfirmed), "Refreshed": set(refreshed)}
        purge = {"N": str(int(now) + PURGE_GRACE_SECONDS)}

        def item(index: int, chunk: Sequence[str]) -> dict[str, Any]:
            return {
                schema.HASH_KEY: {"S": f"{BATCH_PREFIX}{batch}#{index}"},
                **{name: {"L": [{"S": h} for h in chunk if h in held]} for name, held in lists.items()},
                schema.TTL_ATTRIBUTE: purge,
            }

        chunks: list[list[str]] = [[]]
        # The item's size grows by each host's bytes and 1 per list holding it (DynamoDB's list sizing);
        # the index in the key may grow by a digit, hence the margin of one empty item's key.
        size = item_size(item(0, []))
        for host in sorted(set().union(*lists.values())):
            cost = sum(len(host.encode("utf-8")) + 1 for held in lists.values() if host in held)
            if chunks[-1] and (len(chunks[-1]) >= BATCH_CHUNK or size + cost > BATCH_ITEM_BYTES - 8):
                chunks.append([])
                size = item_size(item(len(chunks) - 1, []))
            chunks[-1].append(host)
            size += cost
        for index, chunk in enumerate(chunks):
            self._call("PutItem", Item=item(index, chunk))
        return len(chunks)

    def read_batch(self, batch: str, items: int) -> BatchHosts:
        keys = [f"{BATCH_PREFIX}{batch}#{index}" for index in range(items)]
        new: list[str] = []
        unconfirmed: list[str] = []
        refreshed: list[str] = []
        for item in self._batch_get_items(keys):
            new.extend(str(h) for h in item.get("New", []))
            unconfirmed.extend(str(h) for h in item.get("Unconfirmed", []))
            refreshed.extend(str(h) for h in item.get("Refreshed", []))
        return BatchHosts(sorted(new), sorted(unconfirmed), sorted(refreshed))

    def delete_batch(self, batch: str, items: int) -> None:
        for index in range(items):
            self._delete(
                f"{BATCH_PREFIX}{batch}#{index}",
                condition=f"attribute_exists({schema.HASH_KEY})",
                names={},
                values={},
            )

    def acquire_lease(self, holder: str, now: float, seconds: float, key: str = schema.LEASE_KEY) -> "Lease":
        """Take the writer lease if it is free or lapsed (advisory: the UpdateToken keeps writes safe).

        The answer carries what the previous holder left: the rule group's UpdateToken (a writer that
        holds the same token knows the group without describing it) and when it last wrote.
        """
        try:
            answer = self._call(
                "UpdateItem",
                Key=_key(key),
                UpdateExpression=(
                    "SET Holder = :me, LeaseUntil = :until, HeldSince = :now ADD Generation :one"
                ),
                ConditionExpression=(
                    f"attribute_not_exists({schema.HASH_KEY}) OR LeaseUntil < :now OR Holder = :me"
                ),
                ExpressionAttributeValues={
                    ":now": _serializer.serialize(_num(now)),
                    ":until": _serializer.serialize(_num(now + seconds)),
                    ":me": {"S": holder},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
            )
        except _ConditionFailed:
            return Lease(acquired=False)
        current = _plain(answer.get("Attributes", {}))
        return Lease(
            acquired=True,
            group_token=str(current["LastToken"]) if "LastToken" in current else None,
            last_write_at=float(current.get("LastWriteAt", 0)),
            generation=int(current.get("Generation", 0)),
        )

    def extend_lease(
        self, holder: str, now: float, seconds: float, key: str = schema.LEASE_KEY, working: bool = False
    ) -> bool:
        """Push our lease's end out (a long write must not lose it); False if it is no longer ours.

        ``working``: the holder has made progress since (it confirmed hosts): ``Working`` is bumped, so its
        waiters know it is not stuck however long its turn takes.
        """
        values: dict[str, Any] = {":until": _serializer.serialize(_num(now + seconds)), ":me": {"S": holder}}
        expression = "SET LeaseUntil = :until"
        if working:
            values[":one"] = {"N": "1"}
            expression += " ADD Working :one"
        try:
            self._call(
                "UpdateItem",
                Key=_key(key),
                UpdateExpression=expression,
                ConditionExpression="Holder = :me",
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return False
        return True

    def read_lease(self, key: str = schema.LEASE_KEY) -> LeaseState:
        """The lease item (one strongly consistent read of one small item)."""
        items = self._batch_get_items([key])
        item = items[0] if items else {}
        return LeaseState(
            holder=str(item["Holder"]) if "Holder" in item else None,
            lease_until=float(item.get("LeaseUntil", 0)),
            generation=int(item.get("Generation", 0)),
            planned=int(item.get("Planned", 0)),
            folded=int(item.get("Folded", 0)),
            last_write_at=float(item.get("LastWriteAt", 0)),
            held_since=float(item.get("HeldSince", 0)),
            planned_at=float(item.get("PlannedAt", 0)),
            turn_seconds=float(item.get("TurnSeconds", 0)),
            previous_turn_seconds=float(item.get("PreviousTurnSeconds", 0)),
            working=int(item.get("Working", 0)),
        )

    def announce_plan(self, now: float, key: str = schema.LEASE_KEY) -> int:
        """Number the plan a writer is about to make (before it reads the pending hosts), made at ``now``."""
        answer = self._call(
            "UpdateItem",
            Key=_key(key),
            UpdateExpression="SET PlannedAt = :now ADD Planned :one",
            ExpressionAttributeValues={":one": {"N": "1"}, ":now": _serializer.serialize(_num(now))},
            ReturnValues="UPDATED_NEW",
        )
        return int(_plain(answer.get("Attributes", {})).get("Planned", 0))

    def release_lease(
        self,
        holder: str,
        group_token: str | None,
        wrote_at: float | None,
        folded: int | None = None,
        key: str = schema.LEASE_KEY,
        turn_seconds: float | None = None,
    ) -> None:
        """Free the lease, leaving the group's current UpdateToken and the time of our last write, and
        (``folded``) the generation whose holder folded in every host pending when it took the lease,
        and (``turn_seconds``) how long we took from our first plan to now (the turn before moves to
        ``PreviousTurnSeconds``)."""
        values: dict[str, Any] = {":me": {"S": holder}, ":free": {"N": "0"}}
        assignments = ["LeaseUntil = :free"]
        if folded is not None:
            values[":folded"] = {"N": str(folded)}
            assignments.append("Folded = :folded")
        if turn_seconds is not None:
            values[":turn"] = _serializer.serialize(_num(max(0.0, turn_seconds)))
            # Evaluated on the item as it was: the previous holder's turn moves down one place.
            assignments.append("PreviousTurnSeconds = if_not_exists(TurnSeconds, :turn)")
            assignments.append("TurnSeconds = :turn")
        removals = ["Holder"]
        if group_token:
            values[":token"] = {"S": group_token}
            assignments.append("LastToken = :token")
        else:
            removals.append("LastToken")
        if wrote_at is not None:
            values[":wrote"] = _serializer.serialize(_num(wrote_at))
            assignments.append("LastWriteAt = :wrote")
        try:
            self._call(
                "UpdateItem",
                Key=_key(key),
                UpdateExpression=f"SET {', '.join(assignments)} REMOVE {', '.join(removals)}",
                ConditionExpression="Holder = :me",
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return

    def _batch_get(self, hosts: Iterable[str]) -> list[HostRecord]:
        return [HostRecord.from_item(item) for item in self._batch_get_items(hosts)]

    def _batch_get_items(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        wanted = sorted(set(keys))
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [_key(host) for host in wanted[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self._call("BatchGetItem", RequestItems=request, table=False)
                items = answer.get("Responses", {}).get(self.table_name, [])
                self.counts.items_read += len(items)
                found.extend(_plain(item) for item in items)
                request = answer.get("UnprocessedKeys") or {}
        return found

    def existing(self, hosts: Iterable[str]) -> set[str]:
        """Which of ``hosts`` have an item right now (strongly consistent)."""
        return {record.host for record in self._batch_get(hosts)}

    # -- pruning and full reads: index queries, paginated ------------------------------------------
    def expired(self, now: float) -> list[HostRecord]:
        return [
            HostRecord.from_item(item)
            for item in self._query(
                IndexName=schema.EXPIRY_INDEX,
                KeyConditionExpression="#s = :s AND #e <= :now",
                ExpressionAttributeNames={
                    "#s": schema.EXPIRY_INDEX_HASH_KEY,
                    "#e": schema.EXPIRY_INDEX_RANGE_KEY,
                },
                ExpressionAttributeValues={
                    ":s": {"S": schema.SHARD_VALUE},
                    ":now": _serializer.serialize(_num(now)),
                },
            )
        ]

    def all_records(self) -> list[HostRecord]:
        return [
            HostRecord.from_item(item)
            for item in self._query(
                IndexName=schema.EXPIRY_INDEX,
                KeyConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": schema.EXPIRY_INDEX_HASH_KEY},
                ExpressionAttributeValues={":s": {"S": schema.SHARD_VALUE}},
            )
        ]

    def delete_expired(self, host: str, now: float) -> bool:
        """Delete ``host`` only if it is still expired: a sighting since the query keeps it."""
        return self._delete(
            host,
            condition=f"attribute_exists({schema.HASH_KEY}) AND #e <= :now",
            names={"#e": schema.EXPIRY_INDEX_RANGE_KEY},
            values={":now": _serializer.serialize(_num(now))},
        )

    def delete_if_evictable(self, host: str, last_seen: float) -> bool:
        """Delete ``host`` for eviction: only a confirmed finding host not seen since ``last_seen``.

        A host seen again, blocked by hand or pending (another execution is still recording it) stays.
        """
        return self._delete(
            host,
            condition=(
                f"attribute_exists({schema.HASH_KEY}) AND LastSeen <= :seen AND #source = :finding "
                f"AND attribute_not_exists(#p)"
            ),
            names={"#source": "Source", "#p": schema.PENDING_INDEX_HASH_KEY},
            values={
                ":seen": _serializer.serialize(_num(last_seen)),
                ":finding": {"S": SOURCE_FINDING},
            },
        )

    def delete(self, host: str) -> bool:
        return self._delete(host, condition=f"attribute_exists({schema.HASH_KEY})", names={}, values={})

    def delete_if_pending(self, host: str, source: str | None = None) -> bool:
        """Undo a recording the rule group never took (refused for capacity).

        With ``source``, only an item still of that source goes: an execution refused for capacity must
        not take back a manual block that an operator added to its pending item meanwhile.
        """
        names = {"#p": schema.PENDING_INDEX_HASH_KEY}
        values: dict[str, Any] = {":p": {"S": schema.PENDING_VALUE}}
        condition = "#p = :p"
        if source is not None:
            names["#source"] = "Source"
            values[":source"] = {"S": source}
            condition += " AND #source = :source"
        return self._delete(host, condition=condition, names=names, values=values)

    def put_back(self, record: HostRecord) -> bool:
        """Re-create ``record``'s item unless the host has one again (undoing an eviction's delete)."""
        return self._put_conditionally(record.to_item(), f"attribute_not_exists({schema.HASH_KEY})", {})

    # -- plumbing ---------------------------------------------------------------------------------
    def _delete(self, host: str, condition: str, names: dict[str, str], values: dict[str, Any]) -> bool:
        request: dict[str, Any] = {"Key": _key(host), "ConditionExpression": condition}
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._call("DeleteItem", **request)
        except _ConditionFailed:
            return False
        return True

    def _put_conditionally(self, item: dict[str, Any], condition: str, values: dict[str, Any]) -> bool:
        request: dict[str, Any] = {
            "Item": {name: _serializer.serialize(value) for name, value in item.items()},
            "ConditionExpression": condition,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        try:
            self._call("PutItem", **request)
        except _ConditionFailed:
            return False
        return True

    def _update_if(self, key: str, **request: Any) -> bool:
        """UpdateItem on the item under ``key``; False, and nothing written, when its condition failed."""
        try:
            self._call("UpdateItem", Key=_key(key), **request)
        except _ConditionFailed:
            return False
        return True

    def _update_conditionally(self, update: MergeUpdate) -> HostRecord | None:
        """Apply ``update`` to its host's item; the item after it, or None if the condition failed."""
        try:
            answer = self._call(
                "UpdateItem",
                Key=_key(update.host),
                UpdateExpression=update.expression,
                ConditionExpression=update.condition,
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
                ReturnValues="ALL_NEW",
            )
        except _ConditionFailed:
            return None
        return HostRecord.from_item(_plain(answer["Attributes"]))

    def _query(self, **request: Any) -> Iterator[dict[str, Any]]:
        if self.page_size:
            request["Limit"] = self.page_size
        while True:
            answer = self._call("Query", **request)
            items = answer.get("Items", [])
            self.counts.items_read += len(items)
            for item in items:
                yield _plain(item)
            last = answer.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def _get_item(self, key: str) -> dict[str, Any] | None:
        """The item under ``key`` (a host, or a finding's, sighting's or holds' key), read consistently."""
        item = self._call("GetItem", Key=_key(key), ConsistentRead=True).get("Item")
        if item is None:
            return None
        self.counts.items_read += 1
        return _plain(item)

    def _back_off(self, attempt: int) -> None:
        """Before a conditional write's retry (``attempt`` > 0): a jittered, capped exponential wait."""
        if attempt:
            self.sleep(self.rng.uniform(0, min(WRITE_BACKOFF_CAP, WRITE_BACKOFF_BASE * 2**attempt)))

    def _call(self, operation: str, table: bool = True, **request: Any) -> dict[str, Any]:
        method = getattr(self.client, _snake(operation))
        if table:
            request["TableName"] = self.table_name
        self.counts.by_operation[operation] = self.counts.by_operation.get(operation, 0) + 1
        if operation in {"GetItem", "Query", "BatchGetItem"}:
            self.counts.reads += 1
        else:
            self.counts.writes += 1
        for attempt in range(4):
            try:
                answer: dict[str, Any] = method(**request)
                return answer
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code == "ConditionalCheckFailedException":
                    raise _ConditionFailed() from e
                if code == "ValidationException" and "Item size" in e.response.get("Error", {}).get(
                    "Message", ""
                ):
                    raise _ItemTooLarge() from e
                if code in {
                    "ProvisionedThroughputExceededException",
                    "ThrottlingException",
                    "InternalServerError",
                }:
                    self.sleep(self.rng.uniform(0, 0.05 * 2 ** (attempt + 1)))
                    continue
                raise LedgerUnavailable(f"DynamoDB {operation} on {self.table_name} failed: {code}") from e
            except BotoCoreError as e:
                raise LedgerUnavailable(f"DynamoDB {operation} on {self.table_name} failed: {e}") from e
        raise LedgerUnavailable(f"DynamoDB {operation} on {self.table_name} kept being throttled")


class _ConditionFailed(Exception):
    pass


class _ItemTooLarge(Exception):
    """DynamoDB refused a write that would make the item larger than ``ITEM_BYTES``."""


@dataclass(frozen=True)
class FindingSeen:
    """What the ledger remembers of a Security Hub finding the record step acted on."""

    updated_at: float | None
    """The provider's ``UpdatedAt`` then, if it was readable."""
    state: str
    """The digest of the provider's content then (``handlers.extraction.provider_state``)."""


@dataclass(frozen=True)
class SightingSeen:
    """The latest recorded sighting of a GuardDuty finding, whichever way it came."""

    sighted_at: float
    """GuardDuty's ``updatedAt`` of that sighting."""
    expires_at: float
    """When the hosts it recorded expire."""
    via: str
    """The way it came (``FindingRef.source``)."""


def sighting_key(finding_key_text: str) -> str:
    return SIGHTING_PREFIX + hashlib.sha256(finding_key_text.encode()).hexdigest()


@dataclass(frozen=True)
class FindingHolds:
    """What the ledger knows of the hosts a finding holds (``Ledger.holds``)."""

    hosts: frozenset[str] = frozenset()
    complete: bool = True
    """False once the finding named more than ``HOLD_HOSTS_MAX`` hosts: the rest are not listed."""
    released_until: float = 0.0
    released_by: str = ""
    released_at: float = 0.0

    def released(self, now: float) -> bool:
        return self.released_until > now

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "FindingHolds":
        return cls(
            hosts=frozenset(str(host) for host in item.get("Hosts", ())),
            complete=not item.get("HostsIncomplete", False),
            released_until=float(item.get("ReleasedUntil", 0)),
            released_by=str(item.get("ReleasedBy", "")),
            released_at=float(item.get("ReleasedAt", 0)),
        )


def holds_key(finding_id: str) -> str:
    return HOLDS_PREFIX + holder_of(finding_id)


def finding_key(finding_id: str) -> str:
    """A bounded key whatever the id's length (an id is untrusted and DynamoDB keys are 2 KB at most)."""
    return FINDING_PREFIX + hashlib.sha256(finding_id.encode()).hexdigest()


def _key(host: str) -> dict[str, Any]:
    return {schema.HASH_KEY: {"S": host}}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _num(value: float) -> Decimal:
    # Millisecond precision is plenty for expiry and ordering, and keeps Decimal exact.
    return Decimal(str(round(value, 3)))


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
