"""Which candidate hosts get blocked, and why the others do not.

The checks run in a fixed order so a skip always carries the most fundamental reason: whose finding
it is (a region or account this stack does not act on), what the operator switched off (action
type), what the finding's owner decided (archived, suppressed), what the operator filtered (type,
severity), and only then the host itself (malformed, protected).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Final

from handlers.addresses import (
    InvalidAddress,
    ProtectedNetworks,
    canonical_address,
    describe_host,
    normalize_host,
)
from handlers.domains import InvalidDomain, ProtectedDomains, canonical_domain, unenforceable_at
from handlers.errors import ConfigurationError, InvalidInput
from handlers.model import Candidate, FindingState, Skip, SkipReason, Target, TargetKind
from handlers.sequences import BLOCKABLE_INDICATORS, DEFAULT_SEQUENCE_INDICATORS, UNBLOCKABLE_INDICATORS
from handlers.settings import ALWAYS_ENABLED_ACTIONS, OPT_IN_ACTIONS, DomainBlocking, Settings

MAX_TTL_SECONDS: Final = 365 * 86400
"""The longest a block may last by hand (``block --ttl``), and the longest the CLI moves a sandbox
clock (``replay --prune-after``): a year. Longer is a typo, and at some point a date past year
9999 that nothing can print or compare."""


def _type_key(text: str) -> str:
    """Security Hub spells GuardDuty's "Backdoor:EC2/C&CActivity.B" as "Backdoor:EC2.C&CActivity.B";
    comparing with "/" read as "." lets one prefix filter both event sources alike."""
    return text.replace("/", ".")


@dataclass(frozen=True)
class TargetPolicy:
    protected: ProtectedNetworks = field(default_factory=ProtectedNetworks)
    min_severity: float = 0.0
    include_types: tuple[str, ...] = ()
    """Finding-type prefixes to act on (case-sensitive); empty means every type."""
    exclude_types: tuple[str, ...] = ()
    """Finding-type prefixes never acted on; wins over ``include_types``."""
    enabled_actions: frozenset[str] = frozenset(ALWAYS_ENABLED_ACTIONS)
    regions: frozenset[str] = frozenset()
    """The finding's own region must be one of these; empty means every region."""
    accounts: frozenset[str] = frozenset()
    """The finding's own account must be one of these; empty means every account."""
    domain_blocking: bool = False
    """Are DNS findings' domains blocked (``domainBlocking`` other than off)?"""
    domain_points: tuple[str, ...] = ()
    """The enforcement points domains go to (``domainBlocking``'s): a name one cannot hold is not sent."""
    protected_domains: ProtectedDomains = field(default_factory=ProtectedDomains)
    sequence_indicators: frozenset[str] = frozenset(DEFAULT_SEQUENCE_INDICATORS)
    """The attack-sequence indicator keys whose values are blocked (``attackSequenceIndicators``)."""
    analyst: bool = False
    """A person asked for the block ("Block now"): the finding's severity and workflow do not matter;
    everything else does (never a protected host, only the stack's accounts, regions and kinds)."""

    def for_analyst(self) -> "TargetPolicy":
        """This policy as "Block now" applies it."""
        return replace(self, analyst=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> "TargetPolicy":
        """The policy the settings describe; ``ConfigurationError`` names the first bad value."""
        if not math.isfinite(settings.min_severity):
            raise ConfigurationError(
                f"minimum severity must be a finite number, got {settings.min_severity!r}"
            )
        for action in settings.action_types:
            if action not in OPT_IN_ACTIONS + ALWAYS_ENABLED_ACTIONS:
                accepted = ", ".join(OPT_IN_ACTIONS)
                raise ConfigurationError(
                    f"unknown GuardDuty action type {describe_host(action)!r} (opt-in types: {accepted})"
                )
        for key in settings.sequence_indicators:
            problem = sequence_indicator_problem(key)
            if problem is not None:
                raise ConfigurationError(problem)
        for prefix in settings.finding_type_include + settings.finding_type_exclude:
            # An empty prefix matches every type: as an exclude it would silently switch blocking off.
            if not prefix.strip():
                raise ConfigurationError("finding type prefixes must not be empty")
        return cls(
            protected=ProtectedNetworks.with_extra(settings.protected_cidrs),
            min_severity=float(settings.min_severity),
            include_types=settings.finding_type_include,
            exclude_types=settings.finding_type_exclude,
            enabled_actions=frozenset(ALWAYS_ENABLED_ACTIONS + settings.action_types),
            regions=frozenset(settings.finding_regions),
            accounts=frozenset(settings.finding_accounts),
            domain_blocking=settings.domain_blocking is not DomainBlocking.OFF,
            domain_points=tuple(settings.domain_blocking.points),
            protected_domains=ProtectedDomains.with_extra(settings.protected_domains),
            sequence_indicators=frozenset(settings.sequence_indicators),
        )

    def evaluate(self, candidate: Candidate) -> Target | Skip:
        """Accept ``candidate`` as a canonical host to block, or say why not; never raises."""
        finding = candidate.finding
        domain = candidate.kind is TargetKind.DOMAIN
        if domain and not self.domain_blocking:
            # As before domains could be blocked: a DNS finding names no host this stack blocks.
            origin = f"{candidate.indicator} indicator" if candidate.indicator else "DNS_REQUEST finding"
            return Skip("", SkipReason.NO_REMOTE_IP, finding.id, f"no remote IP in {origin}")
        # Read once, by its kind: every skip shows the canonical spelling when there is one, so skips of
        # the same target read alike; a malformed one is reported only after the finding's own checks.
        canonical, invalid = _canonical(candidate)

        def skip(reason: SkipReason, detail: str) -> Skip:
            return Skip(host=canonical, reason=reason, finding_id=finding.id, detail=detail)

        # The finding's own region and account (Security Hub's Region/AwsAccountId, GuardDuty's
        # region/accountId), not the event's: a forwarded or aggregated event keeps the sender's. One Security
        # Hub event may carry several findings and the rule's pattern matched if any one did, so each is
        # checked here.
        outside = self.out_of_scope(finding.account, finding.region)
        if outside is not None:
            return skip(*outside)
        if candidate.indicator:
            # An attack sequence's host: the operator chose which indicator keys count, not which actions.
            if candidate.indicator not in self.sequence_indicators:
                return skip(
                    SkipReason.INDICATOR_NOT_INCLUDED,
                    f"attack-sequence indicator {describe_host(candidate.indicator)} is not counted",
                )
        elif not domain and candidate.action not in self.enabled_actions:
            return skip(SkipReason.ACTION_NOT_ENABLED, f"{describe_host(candidate.action)} is not enabled")
        if finding.state == FindingState.ARCHIVED and not self.analyst:
            return skip(SkipReason.ARCHIVED, "finding is archived")
        if finding.state == FindingState.SUPPRESSED and not self.analyst:
            return skip(SkipReason.SUPPRESSED, "finding is suppressed or resolved")
        finding_type = _type_key(finding.type)
        excluded = next((p for p in self.exclude_types if finding_type.startswith(_type_key(p))), None)
        if excluded is not None:
            return skip(
                SkipReason.TYPE_EXCLUDED, f"{describe_host(finding.type)} matches excluded {excluded!r}"
            )
        if self.include_types and not any(finding_type.startswith(_type_key(p)) for p in self.include_types):
            return skip(
                SkipReason.TYPE_NOT_INCLUDED, f"{describe_host(finding.type)} matches no included prefix"
            )
        # Written as "not >=" so a NaN severity counts as below the minimum rather than passing.
        if not finding.severity >= self.min_severity and not self.analyst:
            return skip(
                SkipReason.BELOW_MIN_SEVERITY,
                f"severity {finding.severity} below minimum {self.min_severity}",
            )
        if invalid is not None:
            return skip(*invalid)
        protection = self._protection(candidate.kind, canonical)
        if protection is not None:
            return skip(SkipReason.PROTECTED, protection)
        if candidate.counterpart is not None and self._blockable_address(candidate.counterpart):
            other = describe_host(candidate.counterpart)
            return skip(
                SkipReason.NO_REMOTE_IP,
                f"the evidence gives no direction and {canonical} and {other} are both unprotected: "
                "either may be the account's own address",
            )
        if candidate.kind is TargetKind.DOMAIN:
            refusal = unenforceable_at(canonical, self.domain_points)
            if refusal is not None:
                return skip(SkipReason.UNENFORCEABLE_DOMAIN, f"{canonical}: {refusal}")
        return Target(host=canonical, finding=finding, kind=candidate.kind)

    def _blockable_address(self, value: object) -> bool:
        """``value`` is an address this policy would block (valid, outside every protected network)."""
        try:
            host = normalize_host(value)
        except InvalidAddress:
            return False
        return self.protected.protects(host) is None

    def out_of_scope(self, account: str, region: str) -> tuple[SkipReason, str] | None:
        """Why a finding of ``account`` in ``region`` is not one this stack acts on (its sightings and the
        decisions about it alike), or None."""
        if self.regions and region not in self.regions:
            return SkipReason.REGION_NOT_INCLUDED, f"region {describe_host(region)!r} is not included"
        if self.accounts and account not in self.accounts:
            return SkipReason.ACCOUNT_NOT_INCLUDED, f"account {describe_host(account)!r} is not included"
        return None

    def _protection(self, kind: TargetKind, canonical: str) -> str | None:
        """Why the never-block list of ``kind`` covers ``canonical``; None when it does not."""
        if kind is TargetKind.DOMAIN:
            entry = self.protected_domains.protects(canonical)
            return None if entry is None else f"{canonical} is protected domain {entry} or under it"
        network = self.protected.protects(canonical)
        return None if network is None else f"{canonical} is inside protected network {network}"

    def may_block_domain(self, host: str) -> bool:
        """May ``host`` stand in a domain list: a canonical domain outside every protected name?

        The domain writer's last line of defence, as ``may_rule`` is the IP writer's.
        """
        try:
            return (
                canonical_domain(host) == host
                and self.protected_domains.protects(host) is None
                and unenforceable_at(host, self.domain_points) is None
            )
        except InvalidDomain:
            return False

    def check_manual_domain(self, value: object) -> str:
        """The canonical domain an operator asked to block by hand; ``InvalidInput`` saying why not."""
        if not self.domain_blocking:
            raise InvalidInput("domain blocking is off (domainBlocking: off): a domain cannot be blocked")
        domain = canonical_domain(value)
        entry = self.protected_domains.protects(domain)
        if entry is not None:
            raise InvalidInput(f"{domain} is protected domain {entry} or under it and cannot be blocked")
        refusal = unenforceable_at(domain, self.domain_points)
        if refusal is not None:
            raise InvalidInput(f"{domain} cannot be blocked here: {refusal}")
        return domain

    def evaluate_all(self, candidates: Iterable[Candidate]) -> tuple[list[Target], list[Skip]]:
        """Evaluate each candidate; a host named twice is targeted once, with its first finding."""
        targets: dict[str, Target] = {}
        skipped: list[Skip] = []
        for candidate in candidates:
            outcome = self.evaluate(candidate)
            if isinstance(outcome, Skip):
                skipped.append(outcome)
            else:
                targets.setdefault(outcome.host, outcome)
        return list(targets.values()), skipped

    def may_rule(self, host: str) -> bool:
        """May ``host`` stand in a drop rule: canonical host text outside every protected network?

        The writer's last line of defence: whatever reaches it, from any path (a finding, an operator,
        a hand edit of the group), nothing else is ever written into the owned rules.
        """
        address = canonical_address(host)
        return address is not None and self.protected.protects_address(address) is None

    def check_manual_host(self, value: object) -> str:
        """The canonical host an operator asked to block by hand.

        Raises ``InvalidAddress`` (an ``InvalidInput``) for a malformed host and ``InvalidInput``
        naming the network for a protected one: the never-block list binds operators too.
        """
        host = normalize_host(value)
        network = self.protected.protects(host)
        if network is not None:
            raise InvalidInput(f"{host} is inside protected network {network} and cannot be blocked")
        return host


def sequence_indicator_problem(key: str) -> str | None:
    """Why ``key`` cannot be an ``attackSequenceIndicators`` entry (one line), or None when it can."""
    if key in BLOCKABLE_INDICATORS:
        return None
    accepted = ", ".join(BLOCKABLE_INDICATORS)
    reason = UNBLOCKABLE_INDICATORS.get(key)
    if reason is not None:
        return f"attack-sequence indicator {key} cannot be blocked: {reason} (blockable: {accepted})"
    return f"unknown attack-sequence indicator {describe_host(key)!r} (blockable: {accepted})"


def _canonical(candidate: Candidate) -> tuple[str, tuple[SkipReason, str] | None]:
    """The candidate's canonical ledger key by its kind, or its value as text and why it is not one."""
    try:
        if candidate.kind is TargetKind.DOMAIN:
            return canonical_domain(candidate.raw_host), None
        return normalize_host(candidate.raw_host), None
    except InvalidDomain as error:
        return describe_host(candidate.raw_host), (SkipReason.INVALID_DOMAIN, str(error))
    except InvalidAddress as error:
        return describe_host(candidate.raw_host), (SkipReason.INVALID_ADDRESS, str(error))
