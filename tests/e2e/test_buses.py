"""Event buses across accounts and regions in the sandbox, on toy renders: what EventBridge delivers,
what it refuses, and where a refusal goes."""

from collections.abc import Iterator

import pytest

from nfw_blocklist.sandbox import Sandbox
from nfw_blocklist.sandbox.buses import Organization
from nfw_blocklist.sandbox.limits import LimitExceeded, NameRefused
from nfw_blocklist.sandbox.topology import EmptyRender
from nfw_blocklist.sandbox.wiring import WiringError
from tests.e2e.toy_buses import (
    MATCHING,
    NETWORK,
    ORGANIZATION,
    OUTSIDER,
    SECURITY,
    account_policy,
    bus_arn,
    organization_policy,
    toy_forwarder,
    toy_receiver,
)
from tests.e2e.toy_stack import REGION

pytestmark = pytest.mark.e2e

BUS = bus_arn(NETWORK, REGION, "toy-findings")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(EmptyRender()) as running:
        yield running


def test_a_forwarded_event_starts_the_receivers_workflow_in_its_account_and_keeps_its_envelope(sandbox):
    network = sandbox.deploy(toy_receiver(), account=NETWORK)
    security = sandbox.deploy(toy_forwarder([BUS]), account=SECURITY)

    delivery = security.deliver(MATCHING)

    assert delivery.rejected == []
    [hop] = delivery.forwarded
    assert hop.bus == BUS
    assert hop.matched_rules == ["toy-bus-rule"]
    [run] = hop.executions
    assert run.status == "SUCCEEDED"
    assert run.arn.split(":")[4] == NETWORK, "the workflow runs in the receiving account"
    for key in ("id", "account", "region", "source", "detail-type", "detail"):
        assert run.input[key] == MATCHING[key], key
    assert network.notifications(), "the receiver's topic (in its own account) got the message"
    assert security.dead_letters() == []


def test_a_bus_whose_policy_does_not_name_the_sender_refuses_and_the_event_goes_to_the_dead_letter_queue(
    sandbox,
):
    sandbox.deploy(toy_receiver(policy=account_policy(BUS, OUTSIDER)), account=NETWORK)
    security = sandbox.deploy(toy_forwarder([BUS]), account=SECURITY)

    delivery = security.deliver(MATCHING)

    assert delivery.forwarded == []
    [refusal] = delivery.rejected
    assert (refusal.event_id, refusal.bus, refusal.code) == (
        "e-forward",
        BUS,
        "CROSS_ACCOUNT_INGESTION_FAILED",
    )
    assert f"does not allow account {SECURITY}" in refusal.message
    assert sandbox.rejected == [refusal]
    [letter] = security.dead_letters()
    assert letter["event"]["id"] == "e-forward"
    assert letter["attributes"]["ERROR_CODE"] == "CROSS_ACCOUNT_INGESTION_FAILED"
    assert letter["attributes"]["TARGET_ARN"] == BUS
    assert letter["attributes"]["RULE_ARN"] == f"arn:aws:events:{REGION}:{SECURITY}:rule/fwd-rule"


@pytest.mark.parametrize(
    ("members", "accepted"),
    [(frozenset({SECURITY, NETWORK}), True), (frozenset({NETWORK}), False)],
    ids=["sender-in-organization", "sender-outside-organization"],
)
def test_an_organization_policy_accepts_exactly_the_organizations_accounts(sandbox, members, accepted):
    sandbox.buses.organization = Organization(ORGANIZATION, members)
    sandbox.deploy(toy_receiver(policy=organization_policy(BUS, ORGANIZATION)), account=NETWORK)
    security = sandbox.deploy(toy_forwarder([BUS]), account=SECURITY)

    delivery = security.deliver(MATCHING)

    assert bool(delivery.forwarded) is accepted
    assert bool(delivery.rejected) is not accepted


def test_without_an_organization_in_the_topology_no_account_belongs_to_one(sandbox):
    sandbox.deploy(toy_receiver(policy=organization_policy(BUS, ORGANIZATION)), account=NETWORK)
    security = sandbox.deploy(toy_forwarder([BUS]), account=SECURITY)

    assert [r.code for r in security.deliver(MATCHING).rejected] == ["CROSS_ACCOUNT_INGESTION_FAILED"]


def test_a_role_eventbridge_cannot_assume_refuses_delivery(sandbox):
    sandbox.deploy(toy_receiver(), account=NETWORK)
    lambda_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    security = sandbox.deploy(toy_forwarder([BUS], trust=lambda_trust), account=SECURITY)

    assert [r.code for r in security.deliver(MATCHING).rejected] == ["FAILED_TO_ASSUME_ROLE"]


def test_a_role_not_allowed_to_put_on_the_target_bus_fails_the_deployment(sandbox):
    sandbox.deploy(toy_receiver(), account=NETWORK)

    with pytest.raises(WiringError, match=r"not allowed events:PutEvents on '" + BUS):
        sandbox.deploy(toy_forwarder([BUS], allowed=[bus_arn(NETWORK, REGION, "other")]), account=SECURITY)


def test_without_strict_iam_the_same_role_mistake_refuses_each_event():
    with Sandbox(EmptyRender(), strict_iam=False) as sandbox:
        sandbox.deploy(toy_receiver(), account=NETWORK)
        security = sandbox.deploy(
            toy_forwarder([BUS], allowed=[bus_arn(NETWORK, REGION, "other")]), account=SECURITY
        )

        assert [r.code for r in security.deliver(MATCHING).rejected] == ["NO_PERMISSIONS"]


def test_a_target_bus_that_does_not_exist_fails_the_deployment(sandbox):
    with pytest.raises(WiringError, match=r"target event bus .*toy-findings' does not exist"):
        sandbox.deploy(toy_forwarder([BUS]), account=SECURITY)


def test_a_rule_takes_at_most_five_targets(sandbox):
    # Every account has a default bus in every region: six of them exist without deploying anything.
    targets = [bus_arn(str(digit) * 12, REGION, "default") for digit in range(4, 10)]

    with pytest.raises(LimitExceeded, match=r"fwd-target-5: LimitExceededException: .* 5 per rule"):
        sandbox.deploy(toy_forwarder(targets), account=SECURITY)


def test_a_bus_policy_over_10_kb_is_refused_at_deployment(sandbox):
    policy = account_policy(BUS, *[f"{n:012d}" for n in range(1, 400)])

    with pytest.raises(LimitExceeded, match="PolicyLengthExceededException"):
        sandbox.deploy(toy_receiver(policy=policy), account=NETWORK)


def test_a_custom_bus_cannot_be_named_default(sandbox):
    with pytest.raises(NameRefused, match="event bus name 'default' has characters AWS refuses"):
        sandbox.deploy(toy_receiver(bus="default"), account=NETWORK)


def test_a_rule_on_a_bus_the_account_does_not_have_fails_the_deployment(sandbox):
    receiver = toy_receiver()
    without_bus = [r for r in receiver.resources if r.type != "aws:cloudwatch/eventBus:EventBus"]
    broken = type(receiver)(receiver.stack, receiver.config, without_bus, receiver.outputs)

    with pytest.raises(WiringError, match="event bus 'toy-findings' does not exist in account 222222222222"):
        sandbox.deploy(broken, account=NETWORK)


def test_an_event_received_from_another_account_is_not_sent_on_to_a_third(sandbox):
    third = bus_arn(OUTSIDER, REGION, "toy-findings")
    sandbox.deploy(toy_receiver(OUTSIDER, policy=account_policy(third, NETWORK)), account=OUTSIDER)
    sandbox.deploy(toy_receiver(), account=NETWORK)
    sandbox.deploy(toy_forwarder([third], account=NETWORK, bus="toy-findings"), account=NETWORK)
    security = sandbox.deploy(toy_forwarder([BUS]), account=SECURITY)

    delivery = security.deliver(MATCHING)

    [hop] = delivery.forwarded
    assert [r.code for r in hop.rejected] == ["THIRD_ACCOUNT_HOP_DETECTED"]
    assert [run.status for run in hop.executions] == ["SUCCEEDED"]
