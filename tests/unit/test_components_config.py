"""Stack configuration: defaults, parsing of ``pulumi config`` strings, and one clear error per bad value."""

import pytest

from components.config import FindingSource, InvalidConfig, StackConfig
from handlers.settings import CapacityPolicy, Settings

EMAIL = {"adminEmail": "security-team@example.com"}


def test_only_the_admin_email_is_required_and_everything_else_defaults():
    config = StackConfig.from_mapping(EMAIL)

    assert config == StackConfig(admin_email="security-team@example.com")
    assert (config.retention_minutes, config.pruning_frequency_minutes) == (720, 15)
    assert (config.rule_group_capacity, config.rule_group_priority) == (2000, 30000)
    assert config.finding_source is FindingSource.SECURITY_HUB
    assert config.on_capacity_full is CapacityPolicy.EVICT_OLDEST
    assert config.create_firewall_policy is False
    assert config.log_retention_days == 30


def test_values_arrive_as_the_strings_pulumi_config_stores():
    config = StackConfig.from_mapping(
        {
            **EMAIL,
            "retentionMinutes": "60",
            "protectedCidrs": '["203.0.113.0/24", "2001:db8::/32"]',
            "minSeverity": "7.5",
            "findingTypeExclude": '["Recon:"]',
            "actionTypes": '["awsApiCallAction"]',
            "createFirewallPolicy": "true",
            "findingSource": "both",
            "onCapacityFull": "refuse",
        }
    )

    assert config.retention_minutes == 60
    assert config.protected_cidrs == ("203.0.113.0/24", "2001:db8::/32")
    assert config.min_severity == 7.5
    assert config.finding_type_exclude == ("Recon:",)
    assert config.action_types == ("awsApiCallAction",)
    assert config.create_firewall_policy is True
    assert config.finding_source is FindingSource.BOTH
    assert config.on_capacity_full is CapacityPolicy.REFUSE


def test_handler_settings_round_trip_through_the_functions_environment():
    config = StackConfig.from_mapping(
        {**EMAIL, "ruleGroupPriority": "100", "minSeverity": "4", "protectedCidrs": '["198.51.100.0/24"]'}
    )
    settings = config.handler_settings("ledger", "arn:rule-group")
    environment = {
        "NFW_TABLE_NAME": "ledger",
        "NFW_RULE_GROUP_ARN": "arn:rule-group",
        **settings.policy_environment(),
    }

    assert Settings.from_env(environment) == settings


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("adminEmail", None, "adminEmail is required"),
        ("adminEmail", "not-an-address", "adminEmail must be an e-mail address"),
        ("retentionMinutes", "4", "retentionMinutes must be an integer from 5 to 10080"),
        ("retentionMinutes", "10081", "retentionMinutes must be an integer from 5 to 10080"),
        ("retentionMinutes", "twelve", "retentionMinutes must be an integer from 5 to 10080"),
        ("pruningFrequencyMinutes", "181", "pruningFrequencyMinutes must be an integer from 5 to 180"),
        ("pruningFrequencyMinutes", "4", "pruningFrequencyMinutes must be an integer from 5 to 180"),
        ("ruleGroupCapacity", "30001", "ruleGroupCapacity must be an integer from 3 to 30000"),
        ("ruleGroupCapacity", "2", "ruleGroupCapacity must be an integer from 3 to 30000"),
        ("ruleGroupPriority", "0", "ruleGroupPriority must be an integer from 1 to 65434"),
        ("ruleGroupPriority", "65435", "ruleGroupPriority must be an integer from 1 to 65434"),
        ("brakeMaxNewBlocks", "0", "brakeMaxNewBlocks must be an integer from 1 to 1000000"),
        ("brakeMaxNewBlocks", "1000001", "brakeMaxNewBlocks must be an integer from 1 to 1000000"),
        ("brakePeriodMinutes", "0", "brakePeriodMinutes must be an integer from 1 to 10080"),
        ("brakePeriodMinutes", "10081", "brakePeriodMinutes must be an integer from 1 to 10080"),
        ("brakePeriodMinutes", "4.5", "brakePeriodMinutes must be an integer from 1 to 10080"),
        ("protectedCidrs", '["10.0.0.0/33"]', "protectedCidrs must be a list of IPv4 or IPv6 CIDRs"),
        ("protectedCidrs", "10.0.0.0/8", "protectedCidrs must be a list of IPv4 or IPv6 CIDRs"),
        ("findingSource", "cloudtrail", "findingSource must be one of securityhub, guardduty, both"),
        ("minSeverity", "11", "minSeverity must be a number from 0 to 10"),
        ("minSeverity", "high", "minSeverity must be a number from 0 to 10"),
        (
            "findingTypeInclude",
            '[""]',
            "findingTypeInclude must be a list of non-empty finding-type prefixes",
        ),
        ("findingTypeExclude", "[1]", "findingTypeExclude must be a list of non-empty finding-type prefixes"),
        ("onCapacityFull", "drop-newest", "onCapacityFull must be one of evict-oldest, refuse"),
        ("actionTypes", '["dnsRequestAction"]', "actionTypes must be a list drawn from awsApiCallAction"),
        ("createFirewallPolicy", "yes", "createFirewallPolicy must be true or false"),
        ("logRetentionDays", "45", "logRetentionDays must be a CloudWatch Logs retention"),
    ],
)
def test_each_invalid_value_names_its_key_and_what_it_accepts(key, value, message):
    values = {**EMAIL, key: value} if value is not None else {}

    with pytest.raises(InvalidConfig, match=f"^nfw-blocklist:{message}") as raised:
        StackConfig.from_mapping(values)

    assert "\n" not in str(raised.value)


def test_an_unknown_key_is_refused_by_name():
    with pytest.raises(InvalidConfig, match="nfw-blocklist:retentionHours is not a known setting"):
        StackConfig.from_mapping({**EMAIL, "retentionHours": "12"})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, True),
        ({"findingSource": "both"}, True),
        ({"findingSource": "guardduty"}, False),
        ({"updateFindings": "false"}, False),
        ({"findingSource": "guardduty", "updateFindings": "false"}, False),
    ],
)
def test_findings_are_annotated_by_default_only_when_security_hub_is_a_source(values, expected):
    assert StackConfig.from_mapping({**EMAIL, **values}).update_findings is expected


def test_annotating_native_guardduty_findings_is_refused_in_one_line():
    with pytest.raises(
        InvalidConfig, match=r"^nfw-blocklist:updateFindings needs Security Hub findings"
    ) as e:
        StackConfig.from_mapping({**EMAIL, "findingSource": "guardduty", "updateFindings": "true"})
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, "NOTIFIED"), ("RESOLVED", "RESOLVED"), ("NONE", "NONE")]
)
def test_the_workflow_status_to_set_defaults_to_notified(raw, expected):
    values = {**EMAIL, **({"findingWorkflowStatus": raw} if raw else {})}
    config = StackConfig.from_mapping(values)

    assert config.finding_workflow_status == expected
    assert config.handler_settings().annotation_environment() == {"NFW_FINDING_WORKFLOW_STATUS": expected}


@pytest.mark.parametrize("raw", ["notified", "SUPPRESSED", "NEW", ""])
def test_a_workflow_status_the_tool_does_not_set_is_refused(raw):
    with pytest.raises(InvalidConfig, match=r"^nfw-blocklist:findingWorkflowStatus must be one of NOTIFIED"):
        StackConfig.from_mapping({**EMAIL, "findingWorkflowStatus": raw})
