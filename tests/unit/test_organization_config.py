"""The blocklist's organization keys: acceptFindingsFrom, findingRegions, findingAccounts."""

import json
import re

import pytest

from components.config import InvalidConfig, StackConfig
from components.response import ResponseStateMachine

EMAIL = {"adminEmail": "security-team@example.com"}
MANY_ACCOUNTS = [f"{n:012d}" for n in range(1, 301)]


def test_the_keys_default_to_no_bus_and_every_region_and_account():
    config = StackConfig.from_mapping(EMAIL)

    assert (config.accept_findings_from, config.finding_regions, config.finding_accounts) == ((), (), ())


def test_the_keys_arrive_as_the_strings_pulumi_config_stores_and_duplicates_count_once():
    config = StackConfig.from_mapping(
        {
            **EMAIL,
            "acceptFindingsFrom": '["111122223333", "o-a1b2c3d4e5", "111122223333"]',
            "findingRegions": '["eu-west-1", "us-gov-west-1"]',
            "findingAccounts": '["111122223333"]',
        }
    )

    assert config.accept_findings_from == ("111122223333", "o-a1b2c3d4e5")
    assert config.finding_regions == ("eu-west-1", "us-gov-west-1")
    assert config.handler_settings().finding_accounts == ("111122223333",)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "acceptFindingsFrom",
            '["11112222333"]',
            "acceptFindingsFrom must be a list of 12-digit AWS account IDs",
        ),
        (
            "acceptFindingsFrom",
            '["o-short"]',
            "acceptFindingsFrom must be a list of 12-digit AWS account IDs or org",
        ),
        ("acceptFindingsFrom", '["*"]', r"acceptFindingsFrom must be a list .*, got '\*'"),
        (
            "acceptFindingsFrom",
            "111122223333",
            "acceptFindingsFrom must be a list of 12-digit AWS account IDs",
        ),
        ("findingRegions", '["EU-WEST-1"]', "findingRegions must be a list of AWS region names"),
        ("findingRegions", '["eu-west"]', "findingRegions must be a list of AWS region names"),
        ("findingAccounts", '["o-a1b2c3d4e5"]', "findingAccounts must be a list of 12-digit AWS account IDs"),
        ("findingAccounts", "[111122223333]", "findingAccounts must be a list of 12-digit AWS account IDs"),
        (
            "acceptFindingsFrom",
            json.dumps(MANY_ACCOUNTS),
            r"acceptFindingsFrom is too long: it makes the finding bus's policy up to \d+ characters and "
            "EventBridge accepts 10240",
        ),
        (
            "findingAccounts",
            json.dumps(MANY_ACCOUNTS[:100]),
            r"findingAccounts is too long: it makes the securityhub event pattern \d+ characters and "
            "EventBridge accepts 2048",
        ),
    ],
)
def test_each_invalid_value_names_its_key_and_what_it_accepts(key, value, message):
    with pytest.raises(InvalidConfig, match=f"^nfw-blocklist:{message}") as raised:
        StackConfig.from_mapping({**EMAIL, key: value})
    assert "\n" not in str(raised.value)


def test_an_organization_id_stands_for_any_number_of_accounts_in_the_bus_policy():
    StackConfig.from_mapping({**EMAIL, "acceptFindingsFrom": json.dumps(MANY_ACCOUNTS[:200])})
    StackConfig.from_mapping({**EMAIL, "acceptFindingsFrom": '["o-a1b2c3d4e5"]'})


def test_the_functions_environment_budget_counts_the_account_filter():
    # 100 accounts fit the default 2,048-character pattern only without a Security Hub rule; their JSON
    # beside 100 protected ranges is over Lambda's 4 KB for the whole environment.
    cidrs = json.dumps([f"2001:db8:{i:x}::/48" for i in range(100)])
    values = {**EMAIL, "findingSource": "guardduty", "protectedCidrs": cidrs}
    StackConfig.from_mapping(values)
    StackConfig.from_mapping({**values, "findingAccounts": json.dumps(MANY_ACCOUNTS[:40])})

    with pytest.raises(
        InvalidConfig, match=r"^nfw-blocklist:protectedCidrs is too long: it makes the functions'"
    ):
        StackConfig.from_mapping({**values, "findingAccounts": json.dumps(MANY_ACCOUNTS[:100])})


def test_an_account_filter_alone_too_long_for_the_environment_names_itself(construct):
    args = {**REQUIRED, "finding_accounts": MANY_ACCOUNTS[:240]}

    with pytest.raises(
        ValueError,
        match=r"^ResponseStateMachine 'x': findingAccounts \(finding_accounts\) is too long: it makes the f",
    ):
        construct(ResponseStateMachine, args)


REQUIRED = {
    "admin_email": "a@example.com",
    "table_name": "t",
    "table_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
    "rule_group_arn": "arn:aws:network-firewall:us-east-1:123456789012:stateless-rulegroup/g",
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"accept_findings_from": ["1"]},
            "acceptFindingsFrom (accept_findings_from) must be a list of 12-digit AWS account IDs",
        ),
        (
            {"accept_findings_from": "111122223333"},
            "acceptFindingsFrom (accept_findings_from) must be a list",
        ),
        ({"finding_regions": ["Europe"]}, "findingRegions (finding_regions) must be a list of AWS region"),
        ({"finding_accounts": ["1"]}, "findingAccounts (finding_accounts) must be a list of 12-digit"),
        (
            {"finding_accounts": MANY_ACCOUNTS[:100]},
            "findingAccounts (finding_accounts) is too long: it makes the securityhub event pattern",
        ),
    ],
)
def test_invalid_organization_arguments_of_the_component_are_refused(construct, changes, message):
    with pytest.raises(ValueError, match=re.escape(f"ResponseStateMachine 'x': {message}")):
        construct(ResponseStateMachine, {**REQUIRED, **changes})
