"""The topology file: what it accepts, the one-line errors for what it does not, the deployment order
its references impose, and how a bus policy is evaluated for a sender."""

import re
from typing import Any

import pytest

from nfw_blocklist.sandbox.buses import evaluate_bus_policy, trusts_events
from nfw_blocklist.sandbox.topology import (
    TopologyError,
    deployment_order,
    load_topology,
    parse_topology,
    resolve_config,
)

pytestmark = pytest.mark.unit

BUS = "arn:aws:events:us-east-1:222222222222:event-bus/findings"


def _deployment(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "kind": "blocklist", "account": "222222222222", "region": "us-east-1", **fields}


def _forwarding_to(name: str, *targets: str) -> dict[str, Any]:
    return {
        **_deployment(name, kind="forwarder", account="111111111111"),
        "config": {"targetBusArns": [f"${{{target}.findingBusArn}}" for target in targets]},
    }


def test_a_deployment_comes_after_the_deployments_its_config_references():
    topology = parse_topology(
        {
            "deployments": [
                _forwarding_to("security", "east", "west"),
                _deployment("west"),
                _deployment("east"),
            ]
        }
    )

    assert [spec.name for spec in deployment_order(topology)] == ["east", "west", "security"]


def test_references_are_replaced_by_the_outputs_of_deployed_deployments():
    topology = parse_topology({"deployments": [_deployment("east"), _forwarding_to("security", "east")]})

    config = resolve_config(topology.deployment("security"), {"east": {"findingBusArn": BUS}})

    assert config == {"targetBusArns": f'["{BUS}"]'}


def test_a_reference_to_an_output_the_deployment_does_not_have_names_both():
    topology = parse_topology({"deployments": [_deployment("east"), _forwarding_to("security", "east")]})

    with pytest.raises(
        TopologyError, match=r"'security': config.targetBusArns: deployment 'east' has no output"
    ):
        resolve_config(topology.deployment("security"), {"east": {"tableName": "t"}})


def test_a_cycle_of_references_is_refused_naming_it():
    document = {"deployments": [_forwarding_to("a", "b"), _forwarding_to("b", "a")]}

    with pytest.raises(TopologyError, match="cycle: a -> b -> a"):
        parse_topology(document)


def test_yaml_reads_an_unquoted_account_as_a_number_and_that_is_accepted(tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text(
        "organization: {id: o-exampleorg1, accounts: [111111111111]}\n"
        "deployments:\n  - {name: a, kind: blocklist, account: 222222222222, region: eu-west-1}\n"
    )

    topology = load_topology(str(path))

    assert topology.deployments[0].account == "222222222222"
    assert topology.organization is not None
    assert topology.organization.accounts == frozenset({"111111111111"})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected an object with 'deployments'"),
        ({"deployments": [], "extra": 1}, "unknown key 'extra'"),
        ({"deployments": [_deployment("a"), _deployment("a")]}, "deployment 'a': name is used twice"),
        ({"deployments": [_deployment("1a")]}, "deployments[0]: name must be a letter"),
        (
            {"deployments": [_deployment("a", region="mars-1")]},
            "deployment 'a': region must be an AWS region",
        ),
        ({"deployments": [_deployment("a", account="0x1")]}, "deployment 'a': account must be 12 digits"),
        ({"deployments": [_deployment("a", stack="dev")]}, "deployment 'a': unknown field 'stack'"),
        ({"deployments": [_deployment("a", config=["x"])]}, "deployment 'a': config must be an object"),
        (
            {"deployments": [_deployment("a", config={"aws:region": "eu-west-1"})]},
            "deployment 'a': config.aws:region: the deployment's region field sets it",
        ),
        (
            {"deployments": [_deployment("a")], "organization": {"id": "org-1", "accounts": []}},
            "organization.id must look like o-",
        ),
        (
            {"deployments": [_deployment("a")], "organization": {"id": "o-exampleorg1", "accounts": ["1"]}},
            "organization.accounts: '1' is not a 12-digit account id",
        ),
    ],
    ids=[
        "not-an-object",
        "unknown-key",
        "duplicate-name",
        "bad-name",
        "bad-region",
        "bad-account",
        "unknown-field",
        "config-not-object",
        "region-in-config",
        "bad-organization-id",
        "bad-member",
    ],
)
def test_a_bad_topology_is_refused_with_one_line_naming_the_deployment_and_field(document, message):
    with pytest.raises(TopologyError, match=re.escape(message)) as refused:
        parse_topology(document)

    assert "\n" not in str(refused.value)


def _statement(
    principal: Any, condition: dict[str, Any] | None = None, effect: str = "Allow"
) -> dict[str, Any]:
    statement = {"Effect": effect, "Principal": principal, "Action": "events:PutEvents", "Resource": BUS}
    if condition:
        statement["Condition"] = condition
    return statement


ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"}}


@pytest.mark.parametrize(
    ("statements", "sender", "organization", "verdict"),
    [
        ([_statement({"AWS": "arn:aws:iam::111111111111:root"})], "111111111111", None, "allow"),
        ([_statement({"AWS": "111111111111"})], "111111111111", None, "allow"),
        ([_statement({"AWS": "arn:aws:iam::111111111111:root"})], "333333333333", None, "implicit-deny"),
        ([_statement("*", ORG)], "111111111111", "o-exampleorg1", "allow"),
        ([_statement("*", ORG)], "111111111111", None, "implicit-deny"),
        ([_statement("*", ORG)], "111111111111", "o-otherorg123", "implicit-deny"),
        (
            [_statement("*", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})],
            "111111111111",
            None,
            "implicit-deny",
        ),
        (
            [_statement("*", ORG), _statement({"AWS": "111111111111"}, effect="Deny")],
            "111111111111",
            "o-exampleorg1",
            "deny",
        ),
    ],
    ids=[
        "account-root",
        "account-id",
        "other-account",
        "org-member",
        "no-organization",
        "other-organization",
        "unknown-condition",
        "deny-wins",
    ],
)
def test_a_bus_policy_allows_exactly_the_principals_it_names(statements, sender, organization, verdict):
    policy = {"Version": "2012-10-17", "Statement": statements}

    assert evaluate_bus_policy(policy, BUS, sender, organization) == verdict


def test_only_a_role_trusting_eventbridge_can_deliver_to_a_bus():
    def trust(service: str) -> dict[str, Any]:
        return {
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
        }

    assert trusts_events(trust("events.amazonaws.com"))
    assert not trusts_events(trust("lambda.amazonaws.com"))
