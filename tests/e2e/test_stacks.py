"""Several stacks and component instances in one sandbox account and region, as in a real account.

Physical names must be unique per account (IAM) or per account and region (everything else): a
second stack, or a second instance of the components, deploys only if no fixed name is shared.
"""

import json
import re
from pathlib import Path

import pytest

from nfw_blocklist.render import RenderError, render_stack
from nfw_blocklist.sandbox import Sandbox
from nfw_blocklist.sandbox.limits import NameTaken

INSTANCES = Path(__file__).parent / "instances"
HOST = "198.51.100.0/32"


@pytest.fixture
def prod_stack_file(tmp_path: Path) -> Path:
    """A second stack of this project, as an operator would add it beside ``dev``."""
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  nfw-blocklist:adminEmail: secops@example.com\n"
        "  nfw-blocklist:ruleGroupCapacity: 4000\n"
    )
    return path


def test_dev_and_prod_deploy_into_one_account_and_region_and_each_blocks_a_replayed_finding(
    dev_render, prod_stack_file, reference_event
):
    prod_render = render_stack("prod", stack_file=prod_stack_file)

    with Sandbox(dev_render) as dev:
        prod = dev.deploy(prod_render)

        delivery = dev.deliver(reference_event)

        assert len(delivery.executions) == 2, "one finding on the shared bus starts both stacks' workflows"
        assert [run.status for run in delivery.executions] == ["SUCCEEDED", "SUCCEEDED"]
        for stack in (dev, prod):
            assert HOST in {item["HostIp"] for item in stack.ledger_items()}, stack.rendered.stack
            rules = json.dumps(stack.describe_rule_group()["RuleGroup"]["RulesSource"])
            assert HOST in rules, stack.rendered.stack
            assert [note["Blocked"] for note in stack.notifications()] == ["true"], stack.rendered.stack
        assert dev.rule_group_arn != prod.rule_group_arn
        assert dev.table_name != prod.table_name


def test_instances_with_auto_names_deploy_side_by_side():
    with Sandbox(render_stack("test", project_dir=INSTANCES)) as sandbox:
        names = sorted(spec.name for spec in sandbox.inventory.functions.values())

    assert [re.sub(r"-[0-9a-f]{7}$", "-*", name) for name in names] == ["alpha-fn-*", "beta-fn-*"]
    assert len(sandbox.inventory.tables) == 2


def test_instances_sharing_a_fixed_name_collide_naming_both_and_the_name():
    rendered = render_stack("test", {"functionName": "blocklist-fn"}, project_dir=INSTANCES)

    # Pulumi registers sibling components concurrently: either instance may be the one refused.
    refused = r"Function::(alpha|beta)-fn: .*'blocklist-fn'.* by urn:\S+Function::(alpha|beta)-fn"
    with pytest.raises(NameTaken, match=refused):
        Sandbox(rendered).start()


def test_a_component_name_too_long_for_pulumis_auto_names_fails_the_render_naming_the_resource():
    with pytest.raises(
        RenderError, match=r"::a{57}-role: auto-name of 'a{57}-role' would exceed the IAM role"
    ):
        render_stack("test", {"firstName": "a" * 57}, project_dir=INSTANCES)
