"""Organization scale, as pure functions: who may send findings, where they go, and the documents saying so.

A security-tooling account receives every member account's findings; a network account runs the firewall.
The blocklist stack in the network account gives findings a bus of their own (``finding_bus_policy`` lets
only the accepted accounts or organizations put events on it), and the forwarder in the security account
sends its findings there through a role allowed exactly ``events:PutEvents`` on exactly those buses
(``forwarder_role_policy``, trusted only by EventBridge acting for rules of its own account).

The identifiers are checked here once, for the stack config of both projects and for the components' args.
"""

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final, TypeVar

import pulumi

from components.aws_limits import EVENT_BUS_POLICY_CHARS, TARGETS_PER_RULE
from components.iam import EVENTS_PRINCIPAL, POLICY_VERSION

T = TypeVar("T")

ACCOUNT_ID: Final = re.compile(r"\d{12}")
"""An AWS account ID: exactly 12 digits (botocore's ``AccountId``)."""
ORGANIZATION_ID: Final = re.compile(r"o-[a-z0-9]{10,32}")
"""An AWS Organizations ID (the Organizations API's ``OrganizationId`` pattern)."""
PRINCIPAL: Final = re.compile(f"{ACCOUNT_ID.pattern}|{ORGANIZATION_ID.pattern}")
"""What ``acceptFindingsFrom`` takes: an account ID or an organization ID."""
REGION: Final = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
"""An AWS region name: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-5..."""
EVENT_BUS_ARN: Final = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):events:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d{1,2}):"
    r"(?P<account>\d{12}):event-bus/(?P<name>[.A-Za-z0-9_-]{1,256})"
)
"""A custom event bus's ARN (a custom bus's name has no ``/``: CreateEventBus)."""

PUT_EVENTS: Final = "events:PutEvents"
"""The one action a sender needs on a bus, and the only one the finding bus grants and the forwarder's
role holds."""

ACCEPTS: Final = "12-digit AWS account IDs or organization IDs (o- and 10-32 lowercase letters or digits)"
ACCOUNTS: Final = "12-digit AWS account IDs"
REGIONS: Final = "AWS region names such as eu-west-1"
BUS_ARNS: Final = "event bus ARNs such as arn:aws:events:eu-west-1:111122223333:event-bus/<name>"

LONGEST_BUS_ARN: Final = "arn:aws-us-gov:events:ap-southeast-5:123456789012:event-bus/" + "b" * 64
"""Longer than any bus ARN the program names (its buses are auto-named, well under 64 characters): the
finding bus's ARN is known only at deploy time, so the policy-size check measures with this one."""


def first_invalid(values: object, pattern: re.Pattern[str]) -> object | None:
    """The first of ``values`` that is not a string ``pattern`` matches in full; ``values`` itself when it
    is a string rather than a list of them; None when all are good."""
    if isinstance(values, str):
        return values
    if not isinstance(values, Iterable):
        return values
    return next((v for v in values if not isinstance(v, str) or not pattern.fullmatch(v)), None)


def is_principal(value: str) -> bool:
    """An account ID or an organization ID, as ``acceptFindingsFrom`` takes them."""
    return bool(PRINCIPAL.fullmatch(value))


def bus_arn_problem(value: str) -> str | None:
    """Why ``value`` cannot be a forwarder's target, or None."""
    match = EVENT_BUS_ARN.fullmatch(value)
    if match is None:
        return "is not an event bus ARN"
    if match["name"] == "default":
        # The finding buses are custom buses; the default bus of the forwarder's own account and region
        # would feed every finding back into the rules that forward it.
        return "is a default event bus; give the findingBusArn output of a blocklist stack"
    return None


def principal_arn(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


def finding_bus_policy(bus_arn: str, principals: Sequence[str]) -> dict[str, Any]:
    """Only these accounts (their root, i.e. any principal the account allows) and any principal of these
    organizations (``aws:PrincipalOrgID``) may put events on the finding bus, and nothing else."""
    partition = bus_arn.split(":")[1]
    accounts = [p for p in dict.fromkeys(principals) if ACCOUNT_ID.fullmatch(p)]
    organizations = [p for p in dict.fromkeys(principals) if ORGANIZATION_ID.fullmatch(p)]
    statements: list[dict[str, Any]] = []
    if accounts:
        statements.append(
            {
                "Sid": "AcceptFindingsFromAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": [principal_arn(partition, account) for account in accounts]},
                "Action": PUT_EVENTS,
                "Resource": bus_arn,
            }
        )
    if organizations:
        statements.append(
            {
                "Sid": "AcceptFindingsFromOrganizations",
                "Effect": "Allow",
                "Principal": "*",
                "Action": PUT_EVENTS,
                "Resource": bus_arn,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organizations}},
            }
        )
    if not statements:
        raise ValueError("a finding bus policy needs at least one account or organization ID")
    return {"Version": POLICY_VERSION, "Statement": statements}


def finding_bus_policy_json(bus_arn: str, principals: Sequence[str]) -> str:
    """The exact string the bus policy resource receives (and EventBridge's size quota counts)."""
    return json.dumps(finding_bus_policy(bus_arn, principals))


def finding_bus_policy_overflow(principals: Sequence[str]) -> int | None:
    """The policy's length if it could exceed EventBridge's 10,240 characters, else None (no principals:
    no bus, no policy)."""
    if not principals:
        return None
    length = len(finding_bus_policy_json(LONGEST_BUS_ARN, principals))
    return length if length > EVENT_BUS_POLICY_CHARS else None


def forwarder_trust_policy(account: pulumi.Input[str]) -> dict[str, Any]:
    """EventBridge may assume the forwarder's role only for rules in the forwarder's own account
    (``aws:SourceAccount``: the confused-deputy guard the EventBridge documentation recommends)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": EVENTS_PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }


def forwarder_role_policy(bus_arns: Sequence[str]) -> dict[str, Any]:
    """The forwarder's role puts events on exactly the target buses, and does nothing else."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ForwardFindings",
                "Effect": "Allow",
                "Action": [PUT_EVENTS],
                "Resource": list(dict.fromkeys(bus_arns)),
            }
        ],
    }


def chunks(items: Sequence[T], size: int = TARGETS_PER_RULE) -> Iterator[list[T]]:
    """``items`` in consecutive groups of at most ``size``: one rule's targets each."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
