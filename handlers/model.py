"""Small value types shared by extraction, policy, the ledger and the rule-group writer."""

from dataclasses import dataclass, field
from enum import StrEnum


class SkipReason(StrEnum):
    """Why a candidate host was not blocked (machine-readable, stable strings)."""

    INVALID_ADDRESS = "invalid-address"
    PROTECTED = "protected"
    ARCHIVED = "archived"
    SUPPRESSED = "suppressed"
    BELOW_MIN_SEVERITY = "below-min-severity"
    TYPE_NOT_INCLUDED = "type-not-included"
    TYPE_EXCLUDED = "type-excluded"
    ACTION_NOT_ENABLED = "action-not-enabled"
    NO_REMOTE_IP = "no-remote-ip"
    INDICATOR_NOT_INCLUDED = "indicator-not-included"
    """An attack sequence's indicator whose key the stack does not count (``attackSequenceIndicators``)."""
    INVALID_DOMAIN = "invalid-domain"
    """A DNS finding's domain that is not one blockable name (wildcard, bare TLD, malformed...)."""
    UNENFORCEABLE_DOMAIN = "unenforceable-domain"
    """A name DNS resolves that a configured enforcement point cannot hold (an underscore in a DNS Firewall
    list, say): the detail names the point and its rule."""
    UNSUPPORTED_EVENT = "unsupported-event"
    UNTRUSTED_PRODUCT = "untrusted-product"
    """A Security Hub finding that calls itself GuardDuty's without GuardDuty's ProductArn."""
    REGION_NOT_INCLUDED = "region-not-included"
    """The finding's own region is not one of the stack's ``findingRegions``."""
    ACCOUNT_NOT_INCLUDED = "account-not-included"
    """The finding's own account is not one of the stack's ``findingAccounts``."""
    RELEASED = "released"
    """A finding an analyst released (suppressed, resolved, archived, "Unblock"): for the retention period
    after that it blocks nothing, however often it is seen again."""
    OWN_UPDATE = "own-update"
    """A Security Hub "Findings - Imported" event whose finding the provider has not updated since the
    tool last recorded it (its ``UpdatedAt`` is not newer, or, when that cannot be read, the provider's
    content is the same): the echo of the tool's own BatchUpdateFindings, or of anyone else's, never a
    new sighting."""


class TargetKind(StrEnum):
    """What a finding's target is. Each kind has its own path (policy, ledger keys, writer, place of
    enforcement) and its own fate: one kind failing never decides the other's, and every report names
    the kind and the place."""

    ADDRESS = "address"
    """An IP address, blocked as a /32 or /128 in the stateless rule group."""
    DOMAIN = "domain"
    """A domain name, blocked in the domain rule group and/or the DNS Firewall domain list."""

    @classmethod
    def of(cls, key: str) -> "TargetKind":
        """The kind of a canonical ledger key: an address always carries its prefix, a domain never a '/'."""
        return cls.ADDRESS if "/" in key else cls.DOMAIN

    @property
    def noun(self) -> str:
        """What the messages call one: an address is a "host", as the reference and the metrics say."""
        return "host" if self is TargetKind.ADDRESS else "domain"

    @property
    def plural(self) -> str:
        return f"{self.noun}s"

    def counted(self, count: int) -> str:
        """``1 host``, ``3 hosts``, ``1 domain``..."""
        return f"{count} {self.noun if count == 1 else self.plural}"


class FindingState(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class FindingRef:
    """What the ledger and the notification keep of the finding that named a host."""

    id: str
    type: str
    severity: float
    account: str
    region: str
    last_seen: float
    """Epoch seconds of the finding's last observation (eventLastSeen / LastObservedAt)."""
    state: FindingState = FindingState.ACTIVE
    product_arn: str = ""
    """The Security Hub ProductArn (with ``id``, the finding's identifier there); empty for native events."""
    updated_at: float | None = None
    """Security Hub's ``UpdatedAt`` (the provider's last update, which BatchUpdateFindings leaves alone);
    ``None`` when missing, unreadable or ahead of the clock."""
    provider_state: str = ""
    """A digest of what only the provider writes about the finding (``extraction.provider_state``): the
    loop guard's evidence when ``updated_at`` is ``None``."""
    other_fields: int = 0
    """How many ``UserDefinedFields`` the finding holds that are not the tool's: the annotation must fit
    in what is left of Security Hub's 50."""
    sequence: str = ""
    """The attack sequence an ``AttackSequence:*`` finding reports, by name (the finding's title, else the
    sequence's description, else its uid); empty for every other finding."""
    guardduty_id: str = ""
    """GuardDuty's own finding id (native ``id``, the last segment of the ASFF ``Id`` / OCSF
    ``finding_info.uid``): the one key of a finding whichever way it arrived."""
    source: str = ""
    """The way it arrived: ``guardduty`` (native), ``securityhub`` (CSPM, ASFF) or ``securityhubv2``
    (the new Security Hub, OCSF)."""
    metadata_uid: str = ""
    """The new Security Hub's ``metadata.uid`` (OCSF findings only)."""
    sighted_at: float | None = None
    """GuardDuty's ``updatedAt`` of this sighting, as every shape carries it (native ``updatedAt``, ASFF
    ``UpdatedAt``, OCSF ``finding_info.modified_time_dt``); ``None`` when unreadable: then no arrival of it
    is taken for a repeat."""

    @property
    def guard_key(self) -> str:
        """Whose memory the loop guard reads: each Security Hub its own (CSPM's and the new one's finding
        ids are both GuardDuty's finding ARN, and one's update is no echo of the other's)."""
        return self.id if self.source != "securityhubv2" else f"securityhubv2#{self.id}"

    @property
    def sighting_key(self) -> str:
        """One GuardDuty finding whichever way it came: its account, region and GuardDuty's own id."""
        return f"{self.account}/{self.region}/{self.guardduty_id}"


@dataclass(frozen=True)
class Candidate:
    """A target named by a finding, exactly as the finding gave it (possibly invalid)."""

    raw_host: object
    finding: FindingRef
    action: str
    """The GuardDuty action it came from: networkConnectionAction, portProbeAction, dnsRequestAction..."""
    kind: TargetKind
    """Set where the finding is read: a remote IP field names an address, a DNS request a domain."""
    indicator: str = ""
    """The attack-sequence indicator key that named it (``MALICIOUS_IP``...); empty for other findings."""
    counterpart: object = None
    """An address from an OCSF evidence that gives no direction: the same evidence's other endpoint address,
    one of the two being the finding's own resource (None: the direction was given, or no other address).
    The policy blocks neither when both are blockable: it cannot tell which is the account's own."""


@dataclass(frozen=True)
class Target:
    """A candidate the policy accepted. ``host`` is its canonical ledger key: CIDR (IPv4 /32, IPv6 /128)
    for an address, the canonical name for a domain."""

    host: str
    finding: FindingRef
    kind: TargetKind


@dataclass(frozen=True)
class Skip:
    host: str
    """The offending value as text, truncated: never the raw object."""
    reason: SkipReason
    finding_id: str = ""
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"host": self.host, "reason": str(self.reason), "finding_id": self.finding_id}


@dataclass(frozen=True)
class Extraction:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
