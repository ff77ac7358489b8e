"""The brake: a ceiling on new blocks per period, so a flood of findings cannot fill the group.

One ledger item (``BRAKE_KEY``, no GSI keys: never listed as a host) holds the current window's count of
new blocks. A finding's new host takes a slot with one conditional UpdateItem (``ADD NewBlocks 1`` only
while the window is this one, the count is under the ceiling and the brake is off), so concurrent record
steps can never take more slots than the ceiling between them. The step that finds the window full sets
``Engaged`` with a condition that only one writer can meet: that one step reports ``just_engaged``, which
is what sends the single "brake on" e-mail. While engaged every new host is refused before anything is
written for it (no ledger item, nothing pending, nothing in the group); it is counted and kept (up to
``REFUSED_KEPT``) on the brake item for the operator. Hosts already in the ledger (a re-sighting) and the
operator's manual blocks and unblocks never go through the brake. ``release`` (CLI ``brake release``)
turns it off and starts a new window.

Protocol (what another writer may do between the steps): take-slot is one atomic UpdateItem; a failed
condition is followed by a consistent read, then either a window reset (conditional on the old window),
the engage (conditional on not engaged), or a retry: each step's condition re-checks what the read saw.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from botocore.exceptions import ClientError

from handlers.errors import LedgerUnavailable
from handlers.settings import DEFAULT_BRAKE_MAX_NEW_BLOCKS, DEFAULT_BRAKE_PERIOD_MINUTES, Settings

BRAKE_KEY: Final = "#brake"
"""The brake's item in the ledger table (a lease-like item: not a host, never listed)."""
REFUSED_KEPT: Final = 1000
"""How many refused hosts the brake item keeps for ``brake status`` (the count is always exact)."""
ATTEMPTS: Final = 8
DEFAULT_MAX_NEW_BLOCKS: Final = DEFAULT_BRAKE_MAX_NEW_BLOCKS
DEFAULT_PERIOD_MINUTES: Final = DEFAULT_BRAKE_PERIOD_MINUTES


@dataclass(frozen=True)
class BrakeState:
    """The brake as ``brake status`` shows it."""

    engaged: bool
    window_start: float
    new_blocks: int
    ceiling: int
    period_minutes: int
    engaged_at: float | None = None
    refused_count: int = 0
    refused: tuple[str, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        return {
            "engaged": self.engaged,
            "new_blocks": self.new_blocks,
            "ceiling": self.ceiling,
            "period_minutes": self.period_minutes,
            "window_start": self.window_start,
            "engaged_at": self.engaged_at,
            "refused_count": self.refused_count,
            "refused": list(self.refused),
        }


class Braked(Exception):
    """The brake refused a new block of this host (it is kept on the brake item for the operator)."""


@dataclass
class Brake:
    """The brake of one ledger table (``ledger``: its ``client`` and ``table_name`` are used)."""

    ledger: Any
    ceiling: int = DEFAULT_MAX_NEW_BLOCKS
    period_minutes: int = DEFAULT_PERIOD_MINUTES
    just_engaged: bool = field(default=False)
    """Set by the ``admit`` call that turned the brake on (at most one across every writer)."""
    refused: list[str] = field(default_factory=list)
    """The hosts this object refused (one record step's)."""
    _seen_engaged: bool = field(default=False, repr=False)
    """This step saw the brake on: its further new hosts are refused without asking again (a release
    meanwhile only makes the step more cautious), so a flood's port probe of hundreds of hosts costs one
    read, not three calls a host."""
    _unrecorded: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, ledger: Any, settings: Settings) -> "Brake":
        return cls(ledger, settings.brake_max_new_blocks, settings.brake_period_minutes)

    def window(self, now: float) -> int:
        period = self.period_minutes * 60
        return int(now // period) * period

    def check(self, host: str, now: float) -> None:
        """``admit`` for ``Ledger.record``: raises ``Braked`` when ``host`` is refused (call ``flush``
        once the step's hosts are done)."""
        if not self.admit(host, now):
            raise Braked(host)

    def admit(self, host: str, now: float) -> bool:
        """Take a slot for a new block of ``host``; False (and ``host`` kept as refused) when braked. The
        refusals are written to the brake item by ``flush``."""
        if self._seen_engaged:
            self._refuse(host)
            return False
        window = self.window(now)
        for _ in range(ATTEMPTS):
            if self._update(
                "SET WindowStart = if_not_exists(WindowStart, :w) ADD NewBlocks :one",
                "(attribute_not_exists(Engaged) OR Engaged = :false) AND "
                "(attribute_not_exists(WindowStart) OR (WindowStart = :w AND NewBlocks < :ceiling))",
                {":w": window, ":one": 1, ":false": False, ":ceiling": self.ceiling},
            ):
                return True
            item = self._read()
            if item.get("Engaged"):
                break
            old = int(item.get("WindowStart", window))
            if old > window:
                # Another step opened a later period than the clock this step read: count in that one.
                window = old
                continue
            if old < window:
                # A new period: whoever resets it takes its first slot.
                if self._update(
                    "SET WindowStart = :w, NewBlocks = :one",
                    "WindowStart = :old AND (attribute_not_exists(Engaged) OR Engaged = :false)",
                    {":w": window, ":one": 1, ":old": old, ":false": False},
                ):
                    return True
                continue
            if int(item.get("NewBlocks", 0)) >= self.ceiling:
                if self._update(
                    "SET Engaged = :true, EngagedAt = :now",
                    "attribute_not_exists(Engaged) OR Engaged = :false",
                    {":true": True, ":now": Decimal(str(round(now, 3))), ":false": False},
                ):
                    self.just_engaged = True
                break
        else:
            raise LedgerUnavailable(f"could not take a brake slot for {host}: too many concurrent writers")
        self._refuse(host)
        return False

    def _refuse(self, host: str) -> None:
        self._seen_engaged = True
        self.refused.append(host)
        self._unrecorded.append(host)

    def flush(self) -> None:
        """Record this step's refusals on the brake item: their count always, the hosts while fewer than
        ``REFUSED_KEPT`` are kept (one UpdateItem per step, whatever the number)."""
        hosts, self._unrecorded = self._unrecorded[:REFUSED_KEPT], self._unrecorded[REFUSED_KEPT:]
        count = len(hosts) + len(self._unrecorded)
        self._unrecorded = []
        if not count:
            return
        if not self._update(
            "ADD RefusedCount :count, RefusedHosts :hosts",
            "attribute_not_exists(RefusedHosts) OR size(RefusedHosts) <= :room",
            {":count": count, ":hosts": set(hosts), ":room": REFUSED_KEPT - len(hosts)},
        ):
            self._update("ADD RefusedCount :count", None, {":count": count})

    def state(self, now: float) -> BrakeState:
        item = self._read()
        engaged = bool(item.get("Engaged"))
        window = int(item.get("WindowStart", self.window(now)))
        current = engaged or window >= self.window(now)
        return BrakeState(
            engaged=engaged,
            window_start=window if current else self.window(now),
            new_blocks=int(item.get("NewBlocks", 0)) if current else 0,
            ceiling=self.ceiling,
            period_minutes=self.period_minutes,
            engaged_at=float(item["EngagedAt"]) if engaged and "EngagedAt" in item else None,
            refused_count=int(item.get("RefusedCount", 0)),
            refused=tuple(sorted(item.get("RefusedHosts") or ())),
        )

    def release(self, now: float) -> BrakeState:
        """Turn the brake off and start a new window; returns the state it had (with the refused hosts,
        which are not blocked by the release: block them by hand or wait for their findings' repeats)."""
        before = self.state(now)
        self._update(
            "SET Engaged = :false, WindowStart = :w, NewBlocks = :zero, RefusedCount = :zero "
            "REMOVE EngagedAt, RefusedHosts",
            None,
            {":false": False, ":w": self.window(now), ":zero": 0},
        )
        return before

    # -- DynamoDB ----------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        from boto3.dynamodb.types import TypeDeserializer

        answer = self._call("get_item", Key=_key(), ConsistentRead=True)
        deserializer = TypeDeserializer()
        return {name: deserializer.deserialize(value) for name, value in (answer.get("Item") or {}).items()}

    def _update(self, expression: str, condition: str | None, values: Mapping[str, Any]) -> bool:
        from boto3.dynamodb.types import TypeSerializer

        serializer = TypeSerializer()
        request: dict[str, Any] = {
            "Key": _key(),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": {
                name: serializer.serialize(value) for name, value in values.items()
            },
        }
        if condition is not None:
            request["ConditionExpression"] = condition
        try:
            self._call("update_item", **request)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            client = self.ledger.client
            answer: dict[str, Any] = getattr(client, operation)(TableName=self.ledger.table_name, **request)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise
            raise LedgerUnavailable(f"the brake's ledger item: {e}") from e
        return answer


def _key() -> dict[str, Any]:
    from handlers import schema

    return {schema.HASH_KEY: {"S": BRAKE_KEY}}
