"""Every dict the program passes to a pulumi-aws resource fits that SDK's ``*ArgsDict`` types.

The render's mocks accept any key; the provider does not. These tests run the program (the
default stack, every optional feature, and the reuse program) while recording what it passes to
each pulumi-aws resource, and check it against the SDK's own annotations.
"""

import copy
from pathlib import Path

import pulumi_aws as aws
import pytest

from nfw_blocklist.render import render_stack
from tests.unit.provider_inputs import RecordedInputs, argument_problems, recording_aws_inputs

REPO = Path(__file__).resolve().parents[2]
EVERY_FEATURE = {
    "findingSource": "both",
    "createFirewallPolicy": "true",
    "actionTypes": '["awsApiCallAction", "kubernetesApiCallAction", "rdsLoginAttemptAction"]',
    "protectedCidrs": '["203.0.113.0/24", "2001:db8::/32"]',
    "findingTypeInclude": '["Backdoor:", "Recon:"]',
    "findingTypeExclude": '["Recon:EC2/Portscan"]',
    "onCapacityFull": "refuse",
    "minSeverity": "7",
}


def _record(
    stack: str, overrides: dict[str, str] | None = None, project_dir: Path | None = None
) -> list[RecordedInputs]:
    with recording_aws_inputs() as recorded:
        render_stack(stack, overrides, project_dir)
    return recorded


@pytest.mark.parametrize(
    ("stack", "overrides", "project_dir"),
    [
        pytest.param("dev", None, None, id="dev"),
        pytest.param("dev", EVERY_FEATURE, None, id="every-feature"),
        pytest.param("test", None, REPO / "tests" / "reuse", id="reuse-program"),
    ],
)
def test_every_pulumi_aws_input_fits_the_sdks_types(stack, overrides, project_dir):
    recorded = _record(stack, overrides, project_dir)

    assert len(recorded) > 30, "the recorder saw the program's resources"
    assert [problem for resource in recorded for problem in argument_problems(resource)] == []


def test_the_every_feature_render_reaches_the_optional_resources():
    types = [resource.type for resource in _record("dev", EVERY_FEATURE)]

    assert "aws:networkfirewall/firewallPolicy:FirewallPolicy" in types
    assert types.count("aws:cloudwatch/eventRule:EventRule") == 4, (
        "findingSource=both: two finding rules, Security Hub's archived and custom actions rules"
    )


def test_a_typo_in_a_recorded_program_input_is_reported():
    (group,) = [r for r in _record("dev") if r.name == "nfw-blocklist-rules"]
    args = copy.deepcopy(group.args)
    args.rule_group["rules_source"]["stateless_rule_and_custom_actions"] = {}

    problems = argument_problems(RecordedInputs(group.type, group.name, args))

    assert problems == [
        "aws:networkfirewall/ruleGroup:RuleGroup::nfw-blocklist-rules.rule_group.rules_source: "
        "unknown key 'stateless_rule_and_custom_actions' (not in RuleGroupRuleGroupRulesSourceArgsDict)"
    ]


def _args(resource_class: type, **kwargs: object) -> RecordedInputs:
    """What the SDK records for ``resource_class(**kwargs)`` (its ``*Args``), without a Pulumi runtime."""
    args_class = getattr(aws.lambda_, resource_class.__name__ + "Args", None) or getattr(
        aws.networkfirewall, resource_class.__name__ + "Args"
    )
    args = args_class.__new__(args_class)
    args.__dict__.update(kwargs)
    return RecordedInputs(f"test:{resource_class.__name__}", "typo", args)


@pytest.mark.parametrize(
    ("resource_class", "kwargs", "problem"),
    [
        (
            aws.lambda_.Function,
            {"environment": {"variable": {"A": "b"}}},
            "Function::typo.environment: unknown key 'variable' (not in FunctionEnvironmentArgsDict)",
        ),
        (
            aws.lambda_.Function,
            {"logging_config": {"log_format": 1}},
            "Function::typo.logging_config.log_format: expected str, got int",
        ),
        (
            aws.lambda_.Function,
            {"logging_config": {"log_group": "/aws/lambda/x"}},
            "logging_config: missing required key 'log_format' of FunctionLoggingConfigArgsDict",
        ),
        (
            aws.networkfirewall.RuleGroup,
            {
                "rule_group": {
                    "rules_source": {
                        "stateless_rules_and_custom_actions": {"stateless_rules": [{"priority": 1}]}
                    }
                }
            },
            "stateless_rules[0]: missing required key 'rule_definition'",
        ),
        (
            aws.networkfirewall.RuleGroup,
            {"capacity": True},
            "RuleGroup::typo.capacity: expected int, got bool",
        ),
        (
            aws.lambda_.Function,
            {"architectures": "arm64"},
            "Function::typo.architectures: expected a list, got str",
        ),
    ],
)
def test_a_wrong_dict_is_reported_with_its_path(resource_class, kwargs, problem):
    problems = argument_problems(_args(resource_class, **kwargs))

    assert any(problem in found for found in problems), problems
