"""Hand-built renders for the sandbox's event buses: a toy receiver with its own bus and policy in one
account, and a toy forwarder in another whose rule targets that bus.

They have the shape the real programs render (bus, bus policy, rule on the bus, target role with
``events:PutEvents``, dead-letter queue) but nothing else, so bus failures and program failures can
be told apart.
"""

import json
from dataclasses import replace
from typing import Any

from tests.e2e.toy_stack import ACCOUNT, REGION, ToyRendered, ToyResource, toy_render

SECURITY = "111111111111"
NETWORK = "222222222222"
OUTSIDER = "333333333333"
ORGANIZATION = "o-exampleorg1"

MATCHING: dict[str, Any] = {
    "version": "0",
    "id": "e-forward",
    "source": "toy",
    "detail-type": "t",
    "account": SECURITY,
    "region": REGION,
    "time": "2024-01-01T00:00:00Z",
    "resources": [],
    "detail": {"items": [{"kind": "match"}]},
}


def bus_arn(account: str, region: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{name}"


def _relocated(value: Any, account: str, region: str) -> Any:
    """The toy's account and region swapped for others in every ARN (the toy hard-codes them)."""
    text = json.dumps(value).replace(ACCOUNT, account).replace(f":{REGION}:", f":{region}:")
    return json.loads(text)


def account_policy(bus: str, *accounts: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AcceptFindings",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
                "Action": "events:PutEvents",
                "Resource": bus,
            }
        ],
    }


def organization_policy(bus: str, organization: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": bus,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization}},
            }
        ],
    }


def toy_receiver(
    account: str = NETWORK,
    region: str = REGION,
    *,
    policy: dict[str, Any] | None = None,
    bus: str = "toy-findings",
) -> ToyRendered:
    """The toy stack in ``account``/``region``, plus a bus ``bus`` whose rule starts the toy workflow."""
    base = toy_render()
    arn = bus_arn(account, region, bus)
    resources = [
        replace(r, inputs=_relocated(r.inputs, account, region), state=_relocated(r.state, account, region))
        for r in base.resources
    ]
    response = f"arn:aws:states:{region}:{account}:stateMachine:toy-response"
    role = f"arn:aws:iam::{account}:role/toy-role"
    extra = [
        ToyResource("aws:cloudwatch/eventBus:EventBus", "toy-bus", {"name": bus}, {"arn": arn}),
        ToyResource(
            "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
            "toy-bus-policy",
            {"eventBusName": bus, "policy": json.dumps(policy or account_policy(arn, SECURITY))},
        ),
        ToyResource(
            "aws:cloudwatch/eventRule:EventRule",
            "toy-bus-rule",
            {
                "name": "toy-bus-rule",
                "eventBusName": bus,
                "eventPattern": json.dumps({"source": ["toy"], "detail": {"items": {"kind": ["match"]}}}),
            },
        ),
        ToyResource(
            "aws:cloudwatch/eventTarget:EventTarget",
            "toy-bus-target",
            {"rule": "toy-bus-rule", "eventBusName": bus, "arn": response, "roleArn": role},
        ),
    ]
    return ToyRendered(
        stack=f"toy-{account}-{region}",
        config={"aws:region": region},
        resources=[*resources, *extra],
        outputs={"findingBusArn": arn},
    )


EVENTS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def toy_forwarder(
    targets: list[str],
    account: str = SECURITY,
    region: str = REGION,
    *,
    trust: dict[str, Any] | None = None,
    allowed: list[str] | None = None,
    pattern: dict[str, Any] | None = None,
    dead_letters: bool = True,
    bus: str = "default",
) -> ToyRendered:
    """A rule on ``account``'s bus ``bus`` sending toy events to every bus in ``targets``."""
    role = f"arn:aws:iam::{account}:role/fwd-role"
    queue = f"arn:aws:sqs:{region}:{account}:fwd-dlq"
    grant = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": allowed or targets}],
    }
    resources = [
        ToyResource(
            "aws:iam/role:Role",
            "fwd-role",
            {"name": "fwd-role", "assumeRolePolicy": json.dumps(trust or EVENTS_TRUST)},
            {"arn": role},
        ),
        ToyResource(
            "aws:iam/rolePolicy:RolePolicy", "fwd-policy", {"role": "fwd-role", "policy": json.dumps(grant)}
        ),
        ToyResource("aws:sqs/queue:Queue", "fwd-dlq", {"name": "fwd-dlq"}, {"arn": queue}),
        ToyResource(
            "aws:cloudwatch/eventRule:EventRule",
            "fwd-rule",
            {
                "name": "fwd-rule",
                "eventBusName": bus,
                "eventPattern": json.dumps(pattern or {"source": ["toy"]}),
            },
        ),
    ]
    for index, target in enumerate(targets):
        spec: dict[str, Any] = {
            "rule": "fwd-rule",
            "eventBusName": bus,
            "targetId": f"bus-{index}",
            "arn": target,
            "roleArn": role,
        }
        if dead_letters:
            spec["deadLetterConfig"] = {"arn": queue}
        resources.append(ToyResource("aws:cloudwatch/eventTarget:EventTarget", f"fwd-target-{index}", spec))
    return ToyRendered(stack=f"fwd-{account}-{region}", config={"aws:region": region}, resources=resources)
