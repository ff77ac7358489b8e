"""The dev stack as ``pulumi up`` would run it: every resource, its parent, and the stack outputs."""

from collections import Counter

import pytest

from nfw_blocklist.render import render_stack

EXPECTED_TYPES = {
    "nfw-blocklist:index:BlocklistRuleGroup": 1,
    "nfw-blocklist:index:ResponseStateMachine": 1,
    "nfw-blocklist:index:PruningSchedule": 1,
    "aws:networkfirewall/ruleGroup:RuleGroup": 1,
    "aws:dynamodb/table:Table": 1,
    "aws:kms/key:Key": 1,
    "aws:sns/topic:Topic": 1,
    "aws:sns/topicSubscription:TopicSubscription": 1,
    "aws:lambda/function:Function": 3,
    "aws:cloudwatch/logGroup:LogGroup": 5,
    "aws:iam/role:Role": 7,
    "aws:iam/rolePolicy:RolePolicy": 7,
    "aws:sfn/stateMachine:StateMachine": 2,
    "aws:sqs/queue:Queue": 1,
    "aws:sqs/queuePolicy:QueuePolicy": 1,
    "aws:cloudwatch/eventRule:EventRule": 1,
    "aws:cloudwatch/eventTarget:EventTarget": 1,
    "aws:scheduler/schedule:Schedule": 1,
}


@pytest.fixture(scope="module")
def dev(render_dev):
    return render_dev()


def test_dev_stack_declares_the_expected_resources(dev):
    assert Counter(r.type for r in dev.resources) == EXPECTED_TYPES


def test_every_aws_resource_is_parented_to_one_of_the_three_components(dev):
    components = {r.urn for r in dev.resources if r.type.startswith("nfw-blocklist:index:")}
    for resource in dev.resources:
        if resource.type.startswith("aws:"):
            assert resource.parent in components, resource.urn
        else:
            assert resource.parent is None, resource.urn


def test_physical_names_are_unique_so_the_sandbox_can_create_them(dev):
    names = Counter((r.type, r.state.get("name")) for r in dev.resources if r.type.startswith("aws:"))
    assert [key for key, count in names.items() if count > 1] == []


def test_stack_exports_what_operators_and_the_cli_need(dev):
    def state(logical: str, key: str) -> str:
        return str(dev.by_name(logical).state[key])

    assert dev.outputs == {
        "ruleGroupArn": "arn:aws:network-firewall:us-east-1:123456789012:stateless-rulegroup/nfw-blocklist",
        "ruleGroupName": "nfw-blocklist",
        "stateMachineArn": state("nfw-blocklist-response", "arn"),
        "pruningStateMachineArn": state("nfw-blocklist-pruning", "arn"),
        "tableName": state("nfw-blocklist-ledger", "name"),
        "topicArn": state("nfw-blocklist-notifications", "arn"),
    }


def test_a_bad_config_value_stops_the_program_before_any_resource():
    from components.config import InvalidConfig

    with pytest.raises(
        InvalidConfig, match="nfw-blocklist:retentionMinutes must be an integer from 5 to 10080"
    ):
        render_stack("dev", {"retentionMinutes": "3"})


@pytest.mark.parametrize(
    ("type_", "outputs"),
    [
        (
            "nfw-blocklist:index:BlocklistRuleGroup",
            {"rule_group_arn", "rule_group_name", "table_name", "table_arn"},
        ),
        (
            "nfw-blocklist:index:ResponseStateMachine",
            {
                "state_machine_arn",
                "topic_arn",
                "topic_key_arn",
                "record_function_name",
                "record_function_arn",
                "block_function_name",
                "block_function_arn",
                "prune_function_name",
                "prune_function_arn",
                "dead_letter_queue_arn",
            },
        ),
        ("nfw-blocklist:index:PruningSchedule", {"pruning_state_machine_arn", "schedule_name"}),
    ],
)
def test_components_register_exactly_their_public_outputs(dev, type_, outputs):
    (component,) = dev.of_type(type_)
    assert set(component.outputs) == outputs, component.urn
