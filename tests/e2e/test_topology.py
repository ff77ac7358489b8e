"""Organization scale (issue 10), end to end: the real blocklist and forwarder programs rendered for
their accounts and regions, deployed into one sandbox, and findings put on the security account's bus.

Renders are cached per process (``render_deployment``), so each distinct deployment renders once
per session; each test deploys its own sandbox.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from nfw_blocklist.sandbox.topology import (
    DeploymentSpec,
    TopologySandbox,
    parse_topology,
    render_deployment,
)
from nfw_blocklist.sandbox.wiring import WiringError

pytestmark = pytest.mark.e2e

SECURITY = "111111111111"
NETWORK = "222222222222"
OUTSIDER = "333333333333"
HOST = "198.51.100.0/32"
SAMPLES = Path(__file__).resolve().parents[2] / "nfw_blocklist" / "samples"
SHIPPED = SAMPLES / "topology.yaml"
SHIPPED_EVENTS = SAMPLES / "topology-findings.json"


def _shipped(*dropped: str, **config_changes: dict[str, Any]) -> dict[str, Any]:
    """The shipped topology without the ``dropped`` deployments, with some deployments' config
    changed (``None`` removes a key). Deriving every test's topology from it keeps the renders few:
    each distinct deployment renders once per session."""
    document = yaml.safe_load(SHIPPED.read_text())
    deployments = []
    for deployment in document["deployments"]:
        if deployment["name"] in dropped:
            continue
        config = {**deployment["config"], **config_changes.get(deployment["name"].replace("-", "_"), {})}
        deployments.append({**deployment, "config": {k: v for k, v in config.items() if v is not None}})
    return {**document, "deployments": deployments}


# Both network regions accept the security account and act on every region's findings.
TWO_REGIONS = _shipped("outsider", network_eu_west_1={"findingRegions": None})
ONE_REGION = _shipped(
    "outsider", "network-eu-west-1", security={"targetBusArns": ["${network-us-east-1.findingBusArn}"]}
)


@pytest.fixture(scope="module")
def finding() -> dict[str, Any]:
    """The reference Security Hub finding as the security account's bus carries it."""
    event = json.loads((SAMPLES / "securityhub-guardduty-c2-finding.json").read_text())
    return {**event, "account": SECURITY}


Renderer = Callable[[DeploymentSpec, Mapping[str, str]], Any]


def _mutating(deployment: str, type_: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Renderer:
    """Render as usual, then rewrite the inputs of every ``type_`` resource of ``deployment``:
    a mistake injected into what the components declared."""

    def render(spec: DeploymentSpec, config: Mapping[str, str]) -> Any:
        rendered = render_deployment(spec, config)
        if spec.name != deployment:
            return rendered
        touched = [r for r in rendered.resources if r.type == type_]
        assert touched, f"{deployment} renders no {type_}"
        resources = [
            replace(r, inputs=change(json.loads(json.dumps(r.inputs)))) if r.type == type_ else r
            for r in rendered.resources
        ]
        return replace(rendered, resources=resources)

    return render


def _hosts(view: Any) -> list[str]:
    return [item["HostIp"] for item in view.ledger_items() if not item["HostIp"].startswith("#")]


def _drops(view: Any) -> bool:
    return HOST in json.dumps(view.describe_rule_group()["RuleGroup"]["RulesSource"])


def test_one_finding_from_the_security_account_blocks_in_both_network_regions(finding):
    with TopologySandbox(parse_topology(TWO_REGIONS)) as topology:
        delivery = topology.put_event(finding)

        assert delivery.all_rejected() == []
        assert [run.status for run in delivery.all_executions()] == ["SUCCEEDED", "SUCCEEDED"]
        for name in ("network-us-east-1", "network-eu-west-1"):
            view = topology.views[name]
            assert _hosts(view) == [HOST], name
            assert _drops(view), name
            assert [note["Blocked"] for note in view.notifications()] == ["true"], name
        assert topology.views["security"].dead_letters() == []


def test_finding_regions_narrows_one_network_region_and_not_the_other(finding):
    document = _shipped("outsider")  # network-eu-west-1 acts only on findings made in eu-west-1
    with TopologySandbox(parse_topology(document)) as topology:
        delivery = topology.put_event(finding)

        narrowed = next(hop for hop in delivery.hops() if ":eu-west-1:" in hop.bus)
        assert narrowed.matched_rules == [], "the pattern filters a finding from another region"
        assert _hosts(topology.views["network-us-east-1"]) == [HOST]
        assert _hosts(topology.views["network-eu-west-1"]) == []
        assert not _drops(topology.views["network-eu-west-1"])


def test_an_event_from_an_account_outside_accept_findings_from_is_refused_and_dead_lettered(finding):
    document = _shipped("security", "network-eu-west-1")
    with TopologySandbox(parse_topology(document)) as topology:
        delivery = topology.put_event({**finding, "account": OUTSIDER})

        [refusal] = topology.sandbox.rejected
        assert refusal.code == "CROSS_ACCOUNT_INGESTION_FAILED"
        assert refusal.bus == topology.outputs["network-us-east-1"]["findingBusArn"]
        assert delivery.all_executions() == []
        assert _hosts(topology.views["network-us-east-1"]) == []
        [letter] = topology.views["outsider"].dead_letters()
        assert letter["event"]["id"] == finding["id"]


# --- a mistake in the components fails here ----------------------------------------------------------


def _policy_naming(account: str, organization: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Every principal of the bus policy swapped for another account or organization."""

    def change(inputs: dict[str, Any]) -> dict[str, Any]:
        policy = json.loads(inputs["policy"])
        for statement in policy["Statement"]:
            if isinstance(statement.get("Principal"), dict) and "AWS" in statement["Principal"]:
                statement["Principal"] = {"AWS": f"arn:aws:iam::{account}:root"}
            for tests in (statement.get("Condition") or {}).values():
                for key in tests:
                    tests[key] = organization
        inputs["policy"] = json.dumps(policy)
        return inputs

    return change


def _trusting(service: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(inputs: dict[str, Any]) -> dict[str, Any]:
        trust = json.loads(inputs["assumeRolePolicy"])
        for statement in trust["Statement"]:
            statement["Principal"] = {"Service": service}
        inputs["assumeRolePolicy"] = json.dumps(trust)
        return inputs

    return change


def _pattern_with_source(source: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(inputs: dict[str, Any]) -> dict[str, Any]:
        pattern = json.loads(inputs["eventPattern"])
        pattern["source"] = [source]
        inputs["eventPattern"] = json.dumps(pattern)
        return inputs

    return change


@pytest.mark.parametrize(
    ("deployment", "type_", "change", "refused"),
    [
        (
            "network-us-east-1",
            "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
            _policy_naming(OUTSIDER, "o-anotherorg1"),
            "CROSS_ACCOUNT_INGESTION_FAILED",
        ),
        ("security", "aws:iam/role:Role", _trusting("lambda.amazonaws.com"), "FAILED_TO_ASSUME_ROLE"),
        ("security", "aws:cloudwatch/eventRule:EventRule", _pattern_with_source("aws.securityhubb"), None),
    ],
    ids=["bus-policy-names-others", "role-trusts-lambda", "forwarder-pattern"],
)
def test_a_mistake_in_what_the_components_declare_leaves_the_finding_unblocked(
    finding, deployment, type_, change, refused
):
    with TopologySandbox(
        parse_topology(ONE_REGION), renderer=_mutating(deployment, type_, change)
    ) as topology:
        delivery = topology.put_event(finding)

        assert _hosts(topology.views["network-us-east-1"]) == []
        assert [r.code for r in delivery.all_rejected()] == ([refused] if refused else [])
        assert not _drops(topology.views["network-us-east-1"])


def test_a_forwarder_role_not_allowed_to_put_on_the_receiving_bus_fails_the_deployment():
    def other_bus(inputs: dict[str, Any]) -> dict[str, Any]:
        policy = json.loads(inputs["policy"])
        for statement in policy["Statement"]:
            statement["Resource"] = f"arn:aws:events:us-east-1:{NETWORK}:event-bus/another-bus"
        inputs["policy"] = json.dumps(policy)
        return inputs

    renderer = _mutating("security", "aws:iam/rolePolicy:RolePolicy", other_bus)

    with (
        pytest.raises(
            WiringError, match=r"is not allowed events:PutEvents on 'arn:aws:events:us-east-1:222222222222"
        ),
        TopologySandbox(parse_topology(ONE_REGION), renderer=renderer),
    ):
        pass


# --- the CLI ------------------------------------------------------------------------------------------


def test_the_shipped_topology_replays_with_json_as_the_readme_shows(run_cli):
    """Also the organization: network-us-east-1 accepts o-exampleorg1, whose member (security) is
    accepted and whose non-member (outsider) is refused."""
    result = run_cli("replay", "--topology", str(SHIPPED), "--json", str(SHIPPED_EVENTS))

    assert result.status == 0, result.err
    report = json.loads(result.out)
    assert set(report) == {"deployments", "rejected"}
    deployments = report["deployments"]
    assert set(deployments) == {"network-us-east-1", "network-eu-west-1", "security", "outsider"}
    blocking = deployments["network-us-east-1"]
    assert {"events", "pruned", "ledger", "rule_group", "notifications"} <= set(blocking)
    assert [entry["host"] for entry in blocking["ledger"]] == [HOST]
    assert blocking["rule_group"]["cidrs"] == [HOST]
    assert [run["blocked"] for entry in blocking["events"] for run in entry["executions"]] == [[HOST]]
    narrowed = deployments["network-eu-west-1"]
    assert (narrowed["ledger"], narrowed["rule_group"]["cidrs"]) == ([], [])
    assert [entry["matched"] for entry in narrowed["events"]] == [False]
    assert len(deployments["security"]["events"][0]["forwarded"]) == 2
    assert [(r["bus"], r["reason"].split(":")[0]) for r in report["rejected"]] == [
        (blocking_bus := _bus_of(report, "outsider"), "CROSS_ACCOUNT_INGESTION_FAILED")
    ]
    assert blocking_bus.startswith(f"arn:aws:events:us-east-1:{NETWORK}:event-bus/")
    assert [letter["error"] for letter in deployments["outsider"]["dead_letters"]] == [
        "CROSS_ACCOUNT_INGESTION_FAILED"
    ]


def _bus_of(report: Mapping[str, Any], forwarder: str) -> str:
    return str(report["deployments"][forwarder]["events"][0]["refused"][0]["bus"])


def test_the_topology_replay_prints_a_summary_per_deployment_without_json(run_cli, tmp_path, finding):
    topology, events = tmp_path / "topology.json", tmp_path / "events.json"
    topology.write_text(json.dumps(ONE_REGION))
    events.write_text(json.dumps([finding, {**finding, "id": "from-nowhere", "account": OUTSIDER}]))

    result = run_cli("replay", "--topology", str(topology), str(events))

    assert result.status == 0, result.err
    assert "== network-us-east-1 (blocklist, account 222222222222, us-east-1)" in result.out
    assert "blocked: 198.51.100.0/32" in result.out
    assert "== security (forwarder, account 111111111111, us-east-1)" in result.out
    assert "== rejected" not in result.out, "an account with no forwarder sends nothing anywhere"


@pytest.mark.parametrize(
    ("topology", "message"),
    [
        ("deployments: []", "'deployments' must be a non-empty list"),
        (
            "deployments: [{name: a, kind: firewall, account: '222222222222', region: us-east-1}]",
            "deployment 'a': kind must be one of blocklist, forwarder",
        ),
        (
            "deployments: [{name: a, kind: blocklist, account: '2222', region: us-east-1}]",
            "deployment 'a': account must be 12 digits",
        ),
        (
            "deployments: [{name: a, kind: forwarder, account: '111111111111', region: us-east-1,"
            " config: {targetBusArns: ['${b.findingBusArn}']}}]",
            "deployment 'a': config.targetBusArns names deployment 'b'",
        ),
        (
            "deployments: [{name: a, kind: blocklist, account: '222222222222', region: us-east-1,"
            " config: {adminEmail: x@example.com, ruleGroupCapacity: 'many'}}]",
            "deployment 'a':",
        ),
    ],
    ids=["empty", "unknown-kind", "short-account", "unknown-reference", "bad-config"],
)
def test_a_bad_topology_exits_2_with_one_line_naming_the_deployment_and_field(
    run_cli, tmp_path, topology, message
):
    path = tmp_path / "topology.yaml"
    path.write_text(topology)

    result = run_cli("replay", "--topology", str(path), "--json", str(SHIPPED_EVENTS))

    assert result.status == 2
    assert result.out == ""
    assert len(result.err.strip().splitlines()) == 1
    assert message in result.err


def test_an_event_without_an_account_cannot_be_put_anywhere(run_cli, tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"id": "e-1", "source": "aws.securityhub", "region": "us-east-1"}))

    result = run_cli("replay", "--topology", str(SHIPPED), str(event))

    assert (result.status, result.out) == (2, "")
    assert "event 'e-1': account must be 12 digits" in result.err
