"""Event buses in every account and region, their resource policies, and who may put events on them.

Every account has a ``default`` bus in every region; a program may create more
(``aws:cloudwatch/eventBus:EventBus``) and attach a resource policy to one
(``aws:cloudwatch/eventBusPolicy:EventBusPolicy``). A rule's target may be a bus in any account
and region: EventBridge then calls ``PutEvents`` on it with the target's role, and the receiving
bus accepts the event only if its policy allows the sending account (an account principal, or
``*`` with an ``aws:PrincipalOrgID`` condition naming the sender's organization). A bus always
accepts its own account's events.

What the sandbox checks, and what AWS answers, when one bus forwards to another:

- the target's role must trust ``events.amazonaws.com`` and be allowed ``events:PutEvents`` on the
  target bus (``FAILED_TO_ASSUME_ROLE`` / ``NO_PERMISSIONS``);
- the target bus must exist (``NO_RESOURCE``);
- the receiving bus's policy must allow the sender (``CROSS_ACCOUNT_INGESTION_FAILED``);
- an event that already crossed from another bus is not sent on to a third bus
  (``THIRD_ACCOUNT_HOP_DETECTED``).

None of these is retried by EventBridge: the event goes straight to the target's dead-letter queue
(with ``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE`` and ``ERROR_MESSAGE`` attributes), and without
one it is dropped. The sandbox records every refusal (``Rejection``) either way.
"""

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.aws_limits import EVENT_BUS_POLICY_CHARS

DEFAULT_BUS = "default"
EVENTS_PRINCIPAL = "events.amazonaws.com"

_BUS_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:events:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):event-bus/(?P<name>.+)$"
)


class PolicyRefused(ValueError):
    """An event bus policy AWS would refuse at PutPermission (not JSON, too large)."""


def bus_arn(account: str, region: str, name: str = DEFAULT_BUS) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{name}"


def parse_bus_arn(arn: str) -> tuple[str, str, str] | None:
    """``(account, region, name)`` of an event bus ARN, or None for any other string."""
    match = _BUS_ARN.match(arn)
    return (match["account"], match["region"], match["name"]) if match else None


@dataclass
class Organization:
    """Which accounts belong to one AWS organization (for ``aws:PrincipalOrgID``)."""

    id: str
    accounts: frozenset[str]


@dataclass
class EventBus:
    account: str
    region: str
    name: str
    urn: str = ""
    """The resource that created it (empty for a default bus)."""
    policy: dict[str, Any] | None = None

    @property
    def arn(self) -> str:
        return bus_arn(self.account, self.region, self.name)


@dataclass(frozen=True)
class Rejection:
    """An event a bus (or the rule forwarding it) refused, and why, as EventBridge reports it."""

    event_id: str | None
    bus: str
    """The ARN of the bus the event was being put on."""
    code: str
    """The dead-letter ``ERROR_CODE`` (``CROSS_ACCOUNT_INGESTION_FAILED``, ``NO_PERMISSIONS``...)."""
    message: str
    rule: str = ""
    """The ARN of the rule whose target tried to deliver it."""
    dead_letter: str | None = None
    """The ARN of the queue the event went to, if the target has one."""

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass
class BusBook:
    """Every custom bus deployed into the sandbox, by ARN; default buses exist everywhere."""

    buses: dict[str, EventBus] = field(default_factory=dict)
    organization: Organization | None = None

    def add(self, bus: EventBus) -> None:
        self.buses[bus.arn] = bus

    def get(self, arn: str) -> EventBus | None:
        """The bus at ``arn``: a deployed one, or the default bus of any account and region."""
        if arn in self.buses:
            return self.buses[arn]
        parsed = parse_bus_arn(arn)
        if parsed is not None and parsed[2] == DEFAULT_BUS:
            return self.buses.setdefault(arn, EventBus(parsed[0], parsed[1], DEFAULT_BUS))
        return None

    def named(self, reference: str, *, account: str, region: str) -> EventBus | None:
        """A rule's or a policy's ``eventBusName`` (a name or an ARN), seen from ``account``/``region``."""
        arn = reference if reference.startswith("arn:") else bus_arn(account, region, reference)
        return self.get(arn)

    def organization_of(self, account: str) -> str | None:
        if self.organization is not None and account in self.organization.accounts:
            return self.organization.id
        return None

    def refusal(self, bus: EventBus, sender: str) -> str | None:
        """Why ``bus`` refuses ``events:PutEvents`` from account ``sender`` (None: it accepts)."""
        if sender == bus.account:
            return None
        if bus.policy is None:
            return f"event bus {bus.arn} has no resource policy; account {sender} may not put events on it"
        verdict = evaluate_bus_policy(bus.policy, bus.arn, sender, self.organization_of(sender))
        if verdict != "allow":
            return (
                f"the resource policy of event bus {bus.arn} does not allow account {sender} "
                f"(organization {self.organization_of(sender) or 'none'}) events:PutEvents"
                + (" (explicit deny)" if verdict == "deny" else "")
            )
        return None


def parse_bus_policy(document: Any) -> dict[str, Any]:
    """An EventBusPolicy's ``policy`` input as PutPermission checks it: JSON, at most 10,240 characters."""
    text = document if isinstance(document, str) else json.dumps(document)
    if len(text) > EVENT_BUS_POLICY_CHARS:
        raise PolicyRefused(
            f"PolicyLengthExceededException: the event bus policy is {len(text)} characters; "
            f"EventBridge allows {EVENT_BUS_POLICY_CHARS}"
        )
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as e:
        raise PolicyRefused(f"MalformedPolicyDocument: the event bus policy is not JSON: {e.msg}") from None
    if not isinstance(parsed, dict) or not parsed.get("Statement"):
        raise PolicyRefused("MalformedPolicyDocument: the event bus policy has no Statement")
    return parsed


def evaluate_bus_policy(policy: Mapping[str, Any], bus: str, sender: str, organization: str | None) -> str:
    """``allow``, ``deny`` or ``implicit-deny``: may ``sender`` put events on ``bus`` (a Deny wins)."""
    statements = policy.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    verdict = "implicit-deny"
    for statement in statements:
        if not (
            _matches(statement.get("Action"), "events:PutEvents", ignore_case=True)
            and _matches(statement.get("Resource"), bus)
            and _principal_matches(statement.get("Principal"), sender)
            and _conditions_hold(statement.get("Condition") or {}, sender, organization)
        ):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        if statement.get("Effect") == "Allow":
            verdict = "allow"
    return verdict


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _matches(patterns: Any, value: str, *, ignore_case: bool = False) -> bool:
    if ignore_case:
        return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in _as_list(patterns))
    return any(fnmatch.fnmatchcase(value, p) for p in _as_list(patterns))


def _principal_matches(principal: Any, sender: str) -> bool:
    """``"*"``, ``{"AWS": "*"}``, an account id or ``arn:aws:iam::<id>:root`` (an account principal)."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return any(p in ("*", sender, f"arn:aws:iam::{sender}:root") for p in _as_list(principal.get("AWS")))


_CONDITION_KEYS = {"aws:principalorgid", "aws:principalaccount"}


def _conditions_hold(conditions: Mapping[str, Any], sender: str, organization: str | None) -> bool:
    """StringEquals/StringLike on ``aws:PrincipalOrgID``/``aws:PrincipalAccount``; any other
    operator or key is not known here, so the statement is taken not to apply (a refusal, not a
    silent grant)."""
    context = {"aws:principalorgid": organization, "aws:principalaccount": sender}
    for operator, tests in conditions.items():
        if operator not in ("StringEquals", "StringLike") or not isinstance(tests, Mapping):
            return False
        for key, expected in tests.items():
            if key.lower() not in _CONDITION_KEYS:
                return False
            actual = context[key.lower()]
            if actual is None:
                return False
            if operator == "StringEquals" and actual not in _as_list(expected):
                return False
            if operator == "StringLike" and not _matches(expected, actual):
                return False
    return True


def trusts_events(assume_role_policy: Any) -> bool:
    """Whether a role's trust policy lets EventBridge (``events.amazonaws.com``) assume it."""
    document = json.loads(assume_role_policy) if isinstance(assume_role_policy, str) else assume_role_policy
    statements = (document or {}).get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    trusted = False
    for statement in statements:
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if EVENTS_PRINCIPAL not in services or not _matches(
            statement.get("Action"), "sts:AssumeRole", ignore_case=True
        ):
            continue
        if statement.get("Effect") == "Deny":
            return False
        trusted = trusted or statement.get("Effect") == "Allow"
    return trusted
