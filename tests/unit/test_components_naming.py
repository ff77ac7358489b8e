"""Physical names: unique per stack and per component instance, and only names AWS accepts.

Pulumi auto-names a resource whose ``name`` input is absent (logical name, ``-``, 7 random hex characters),
so these tests look at the ``name`` inputs the program passes: absent means auto-named, present means
derived from project, stack and component name, and never the same in two stacks or two instances.
"""

import shutil
from pathlib import Path

import pytest

from components.limits import (
    AUTONAME_SUFFIX_LENGTH,
    AUTONAMED_CHILDREN,
    LOG_GROUP,
    MAX_COMPONENT_NAME_LENGTH,
    NAME_RULES,
    check_component_name,
    lambda_log_group_name,
    workflow_log_group_name,
)
from nfw_blocklist.render import NAME_INPUTS, PROJECT_DIR, Rendered, render_stack

REUSE = Path(__file__).resolve().parents[1] / "reuse"
EVERY_FEATURE = {
    "findingSource": "both",
    "createFirewallPolicy": "true",
    "acceptFindingsFrom": '["111122223333"]',
}


def _second_stack(project_dir: Path, tmp_path: Path, stack: str, region: str) -> Path:
    """The same program with one more stack file (Pulumi.yaml and the program are linked, not copied)."""
    copy = tmp_path / project_dir.name
    copy.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (copy / name).symlink_to(project_dir / name)
    for stack_file in project_dir.glob("Pulumi.*.yaml"):
        shutil.copy(stack_file, copy / stack_file.name)
    (copy / f"Pulumi.{stack}.yaml").write_text(
        f"config:\n  aws:region: {region}\n  nfw-blocklist:adminEmail: prod-team@example.com\n"
    )
    return copy


LABELS = {"aws:securityhub/actionTarget:ActionTarget"}
"""Types whose ``name`` is a label, not a physical name: a Security Hub custom action is identified by its
``Id`` (``identifier``: a prefix and a digest of project, stack and component, so unique per stack; AWS
wants it unique per account) and its ``Name`` ("Block now") is what the console shows on the button, the
same in every stack by design; AWS documents no uniqueness for it (docs/LIMITS.md)."""


def named(rendered: Rendered) -> dict[str, str]:
    """Physical name -> URN for every AWS resource the program names itself."""
    return {
        r.inputs[NAME_INPUTS.get(r.type, "name")]: r.urn
        for r in rendered.resources
        if r.type.startswith("aws:") and r.type not in LABELS and NAME_INPUTS.get(r.type, "name") in r.inputs
    }


def test_two_stacks_in_one_account_and_region_share_no_physical_name(tmp_path):
    # GIVEN the dev stack and a prod stack of this program, in the same region
    project = _second_stack(PROJECT_DIR, tmp_path, "prod", "us-east-1")
    dev = render_stack("dev", EVERY_FEATURE, project_dir=project)
    prod = render_stack("prod", EVERY_FEATURE, project_dir=project)

    # THEN no name the program sets is in both
    assert sorted(set(named(dev)) & set(named(prod))) == []
    # AND the custom actions, whose labels are the same in both, are told apart by their Ids
    ids = [{r.inputs["identifier"] for r in s.resources if r.type in LABELS} for s in (dev, prod)]
    assert len(ids[0]) == len(ids[1]) == 3
    assert ids[0] & ids[1] == set()
    # AND every resource type with a name is either auto-named or has a name derived from the stack
    for resource in dev.resources:
        if resource.type in NAME_RULES and "name" in resource.inputs:
            assert "/dev/" in resource.inputs["name"], resource.urn


def test_two_instances_in_one_program_deployed_as_two_stacks_share_no_physical_name(tmp_path):
    project = _second_stack(REUSE, tmp_path, "prod", "eu-west-1")
    test = render_stack("test", project_dir=project)
    prod = render_stack("prod", project_dir=project)

    for rendered in (test, prod):
        names = [
            r.inputs["name"]
            for r in rendered.resources
            if r.type.startswith("aws:") and r.type not in LABELS and "name" in r.inputs
        ]
        assert len(names) == len(set(names)), rendered.stack
    assert sorted(set(named(test)) & set(named(prod))) == []


DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def test_only_log_groups_and_the_dashboard_get_names_and_every_other_named_type_is_auto_named(render_dev):
    # The list the component-name limit is computed from must cover every auto-named child.
    rendered = render_dev(**EVERY_FEATURE)
    components = {r.urn: r.name for r in rendered.resources if r.type.startswith("nfw-blocklist:index:")}
    for resource in rendered.resources:
        if resource.type not in NAME_RULES:
            continue
        if resource.type == LOG_GROUP:
            assert "name" in resource.inputs, resource.urn
            continue
        if resource.type == DASHBOARD:
            # The provider does not auto-name dashboards: the program derives the name from project+stack.
            assert resource.inputs["dashboardName"] == "nfw-blocklist-dev", resource.urn
            continue
        assert "name" not in resource.inputs, resource.urn
        component = components[resource.parent or ""]
        suffix = resource.name.removeprefix(component)
        assert (resource.type, suffix) in AUTONAMED_CHILDREN, resource.urn


def test_the_longest_component_name_fits_every_auto_named_child():
    longest = "a" * MAX_COMPONENT_NAME_LENGTH
    check_component_name(longest)
    for type_, suffix in AUTONAMED_CHILDREN:
        auto_name = f"{longest}{suffix}-" + "f" * (AUTONAME_SUFFIX_LENGTH - 1)
        assert NAME_RULES[type_].problem(auto_name) is None, (type_, suffix)
    assert MAX_COMPONENT_NAME_LENGTH == 32  # the IAM role '<name>-securityhub-target-role-xxxxxxx': 64


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "a" * 33,
            "is 33 characters; use at most 32 so that the IAM role name '<name>-securityhub-target-role",
        ),
        ("edge_1", r"contains '_'; use only letters, digits and '-'"),
        ("edge.net", r"contains '\.'; use only letters, digits and '-'"),
        ("edge net/1", r"contains ' /'; use only letters, digits and '-'"),
        ("b\u00e9ton", "contains '\u00e9'; use only letters, digits and '-'"),
        ("", "component name must be a non-empty string"),
    ],
)
def test_a_component_name_aws_would_refuse_somewhere_is_refused_in_one_line(name, message):
    with pytest.raises(ValueError, match=message) as raised:
        check_component_name(name)
    assert "\n" not in str(raised.value)


def test_a_component_refuses_a_bad_name_before_creating_anything(tmp_path):
    project = tmp_path / "bad-name"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: bad-name\nruntime: python\n")
    (project / "Pulumi.test.yaml").write_text("config: {}\n")
    (project / "__main__.py").write_text(
        "from components import BlocklistRuleGroup, BlocklistRuleGroupArgs\n"
        "BlocklistRuleGroup('a-rather-long-name-for-the-edge-blocklist', BlocklistRuleGroupArgs())\n"
    )
    with pytest.raises(ValueError, match="component name 'a-rather-long-name-for-the-edge-blocklist' is 41"):
        render_stack("test", project_dir=project)


def test_derived_log_group_names_are_checked_against_cloudwatch_logs_rules():
    assert lambda_log_group_name("nfw-blocklist", "prod", "edge", "record") == (
        "/aws/lambda/nfw-blocklist/prod/edge-record"
    )
    assert workflow_log_group_name("p", "s", "edge-pruning") == "/aws/vendedlogs/states/p/s/edge-pruning"
    too_long = r"CloudWatch Logs log group name '/aws/lambda/p/s+/edge-record' is 5"
    with pytest.raises(ValueError, match=too_long):
        lambda_log_group_name("p", "s" * 500, "edge", "record")
    spaced = "'/aws/vendedlogs/states/p/my stack/edge-response' has characters AWS refuses"
    with pytest.raises(ValueError, match=spaced):
        workflow_log_group_name("p", "my stack", "edge-response")
    assert "characters AWS refuses" in str(NAME_RULES["aws:iam/role:Role"].problem("r\u00f4le"))
