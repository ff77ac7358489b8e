"""The topology file: what it accepts, the one-line errors for what it does not, the deployment order
its references impose, and how a bus policy is evaluated for a sender."""

import re
import tracemalloc
from typing import Any

import pytest

from nfw_blocklist.sandbox.buses import evaluate_bus_policy, trusts_events
from nfw_blocklist.sandbox.topology import (
    MAX_FILE_BYTES,
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


# --- Hostile files (issue 18, item 9): one line, exit 2, bounded time and memory ------------------

_ENTRY = "{name: a, kind: blocklist, account: '222222222222', region: us-east-1, config: %s}"


def _with_config(config: str) -> str:
    return "deployments:\n  - " + _ENTRY % config + "\n"


def _alias_bomb(levels: int) -> str:
    """Each level a list of ten aliases of the level below: 10**levels strings once expanded."""
    lines = ["deployments:", "  - name: a", "    kind: blocklist", "    account: '222222222222'"]
    lines += ["    region: us-east-1", "    config:", '      l0: &l0 ["lol", "lol", "lol", "lol", "lol"]']
    lines += [f"      l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


HOSTILE_FILES: dict[str, tuple[str, str]] = {
    "yaml-date": (_with_config("{since: 2024-01-01}"), "line 2 column 92: a date is not a JSON value"),
    "yaml-timestamp": (_with_config("{at: 2024-01-01 10:00:00}"), "a date is not a JSON value"),
    "yaml-binary": (_with_config("{blob: !!binary aGVsbG8=}"), "binary data is not a JSON value"),
    "yaml-set": (_with_config("{s: !!set {a, b}}"), "a set is not a JSON value"),
    "yaml-omap": (_with_config("{s: !!omap [a: 1]}"), "an ordered map is not a JSON value"),
    "yaml-pairs": (_with_config("{s: !!pairs [a: 1]}"), "a list of pairs is not a JSON value"),
    "yaml-python-object": (_with_config("{x: !!python/name:os.system }"), "constructor for the tag"),
    "yaml-nan": (_with_config("{x: .nan}"), "not a finite number"),
    "integer-and-string-keys": (
        "deployments: []\n1: x\nextra: y\n",
        "line 2 column 1: key 1 is not a string",
    ),
    "integer-field-name": (
        "deployments:\n  - {name: a, 7: b, kind: blocklist, account: '222222222222', region: us-east-1}\n",
        "key 7 is not a string",
    ),
    "null-config-key": (_with_config("{~: x}"), "key None is not a string"),
    "boolean-config-key": (_with_config("{yes: x}"), "key True is not a string"),
    "duplicate-field": (
        "deployments:\n  - {name: a, name: b, kind: blocklist, account: '222222222222', region: us-east-1}\n",
        "key 'name' appears twice",
    ),
    "alias-cycle": (_with_config("{x: &c [*c]}"), "an alias refers to a value that contains it"),
    "alias-bomb": (_alias_bomb(9), "more than 1000000 values once its aliases are expanded"),
    "yaml-control-character": ("deployments: [\x07]\n", "unacceptable character #x0007"),
    "json-nan": ('{"deployments": [], "x": NaN}', "NaN is not a JSON value"),
    "json-duplicate-key": ('{"deployments": [], "deployments": []}', "key 'deployments' appears twice"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
def test_a_hostile_topology_file_is_refused_in_one_line_naming_the_problem(tmp_path, case):
    text, message = HOSTILE_FILES[case]
    path = tmp_path / ("topology.json" if case.startswith("json-") else "topology.yaml")
    path.write_text(text)

    with pytest.raises(TopologyError, match=re.escape(message)) as refused:
        load_topology(str(path))

    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith(f"{path}: ")


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text(_alias_bomb(6))  # 5 * 10**6 strings once expanded; a few hundred bytes written
    tracemalloc.start()

    with pytest.raises(TopologyError, match="once its aliases are expanded"):
        load_topology(str(path))

    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2_000_000, f"{peak} bytes allocated to refuse a {len(path.read_text())}-byte file"


def test_aliases_that_expand_within_the_bound_are_read_as_their_values(tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text(
        "deployments:\n"
        "  - name: a\n    kind: blocklist\n    account: '222222222222'\n    region: us-east-1\n"
        "    config: &shared {adminEmail: ops@example.com, findingSource: both}\n"
        "  - name: b\n    kind: blocklist\n    account: '222222222222'\n    region: eu-west-1\n"
        "    config: *shared\n"
        "  - name: c\n    kind: blocklist\n    account: '222222222222'\n    region: eu-west-2\n"
        "    config: {<<: *shared, findingSource: guardduty}\n"
    )

    topology = load_topology(str(path))

    assert [dict(spec.config) for spec in topology.deployments] == [
        {"adminEmail": "ops@example.com", "findingSource": "both"},
        {"adminEmail": "ops@example.com", "findingSource": "both"},
        {"adminEmail": "ops@example.com", "findingSource": "guardduty"},
    ]


def test_a_file_over_the_size_cap_is_refused_without_being_parsed(tmp_path):
    path = tmp_path / "topology.yaml"
    path.write_text("deployments:\n" + "  - {name: a}\n" * (MAX_FILE_BYTES // 14 + 1))

    with pytest.raises(TopologyError, match=rf"larger than {MAX_FILE_BYTES} bytes, the most a topology"):
        load_topology(str(path))


class _CountedName(str):
    """A deployment name that counts how often it is compared for equality."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        _CountedName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_finding_a_name_used_twice_takes_work_linear_in_the_deployments():
    names = [_CountedName(f"d{index}") for index in range(2_000)]
    document = {"deployments": [_deployment(name) for name in names] + [_deployment(_CountedName("d0"))]}
    _CountedName.comparisons = 0

    with pytest.raises(TopologyError, match="deployment 'd0': name is used twice"):
        parse_topology(document)

    assert _CountedName.comparisons <= 4 * len(names), _CountedName.comparisons


def test_a_long_chain_of_references_is_ordered_without_exhausting_the_stack():
    count = 3_000
    document = {
        "deployments": [_forwarding_to(f"d{index}", f"d{index + 1}") for index in range(count - 1)]
        + [_deployment(f"d{count - 1}")]
    }

    order = deployment_order(parse_topology(document))

    assert [spec.name for spec in order] == [f"d{index}" for index in reversed(range(count))]


def test_a_cycle_at_the_end_of_a_long_chain_is_refused_naming_it():
    document = {"deployments": [_forwarding_to(f"d{index}", f"d{index + 1}") for index in range(3_000)]}
    document["deployments"].append(_forwarding_to("d3000", "d2998"))

    with pytest.raises(TopologyError, match=r"cycle: d2998 -> d2999 -> d3000 -> d2998$"):
        parse_topology(document)
