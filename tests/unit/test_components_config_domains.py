"""Config keys of issue 12: domainBlocking, domainRuleGroupCapacity, homeNetCidrs, protectedDomains."""

import pytest

from components.config import InvalidConfig, StackConfig
from handlers.errors import ConfigurationError
from handlers.settings import ENV_DOMAIN_BLOCKING, DomainBlocking, Settings

BASE = {"adminEmail": "a@example.com"}


def test_domains_are_blocked_in_network_firewall_by_default() -> None:
    config = StackConfig.from_mapping(BASE)
    assert config.domain_blocking is DomainBlocking.NETWORK_FIREWALL
    assert config.domain_group_capacity == 2002
    assert config.handler_settings().domain_blocking is DomainBlocking.NETWORK_FIREWALL


@pytest.mark.parametrize(("mode", "capacity"), [("off", None), ("dns-firewall", None), ("both", 2002)])
def test_only_modes_using_network_firewall_get_a_domain_group(mode: str, capacity: int | None) -> None:
    # DNS Firewall modes need the VPCs to associate (a rule group associated with none filters nothing).
    vpcs = {"dnsFirewallVpcIds": ["vpc-0123456789abcdef0"]} if mode in ("dns-firewall", "both") else {}
    assert (
        StackConfig.from_mapping({**BASE, "domainBlocking": mode, **vpcs}).domain_group_capacity == capacity
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "domainBlocking",
            "route53",
            "domainBlocking must be one of network-firewall, dns-firewall, both, off",
        ),
        ("domainRuleGroupCapacity", "3", "domainRuleGroupCapacity must be an integer from 4 to 30000"),
        ("domainRuleGroupCapacity", "30001", "domainRuleGroupCapacity must be an integer from 4 to 30000"),
        ("homeNetCidrs", '["10.0.0.1/8"]', "homeNetCidrs must be a list of CIDR blocks"),
        ("homeNetCidrs", '["vpc-123"]', "homeNetCidrs must be a list of CIDR blocks"),
        ("homeNetCidrs", '"10.0.0.0/8"', "homeNetCidrs must be a list of CIDR blocks"),
        ("protectedDomains", '["*"]', "protectedDomains must be a list of domain names"),
        ("protectedDomains", '["corp..example"]', "protectedDomains must be a list of domain names"),
    ],
)
def test_a_bad_domain_setting_names_the_key_in_one_line(key: str, value: str, message: str) -> None:
    with pytest.raises(InvalidConfig, match=f"^nfw-blocklist:{message}") as raised:
        StackConfig.from_mapping({**BASE, key: value})
    assert "\n" not in str(raised.value)


def test_protected_domains_reach_the_functions_as_given() -> None:
    config = StackConfig.from_mapping({**BASE, "protectedDomains": '["Corp.Example.", ".intra"]'})
    settings = config.handler_settings()
    assert settings.protected_domains == ("Corp.Example.", ".intra")
    assert Settings.from_env(
        {**settings.policy_environment(), "NFW_TABLE_NAME": "t", "NFW_RULE_GROUP_ARN": "a"}
    )


def test_functions_without_the_variable_keep_domain_blocking_off() -> None:
    settings = Settings.from_env({"NFW_TABLE_NAME": "t", "NFW_RULE_GROUP_ARN": "a"})
    assert settings.domain_blocking is DomainBlocking.OFF
    assert ENV_DOMAIN_BLOCKING not in settings.policy_environment()


def test_an_unknown_domain_blocking_mode_in_the_environment_is_named() -> None:
    with pytest.raises(ConfigurationError, match="NFW_DOMAIN_BLOCKING must be one of"):
        Settings.from_env({"NFW_TABLE_NAME": "t", "NFW_RULE_GROUP_ARN": "a", ENV_DOMAIN_BLOCKING: "yes"})


def test_network_firewall_domain_blocking_without_the_group_arn_is_named() -> None:
    from handlers.service import BlocklistService

    settings = Settings(table_name="t", rule_group_arn="a", domain_blocking=DomainBlocking.NETWORK_FIREWALL)
    with pytest.raises(ConfigurationError, match="NFW_DOMAIN_RULE_GROUP_ARN"):
        BlocklistService.create(settings, region="us-east-1")
