"""DNS Firewall's pure parts: config validation, the component's arguments, IAM, chunking, list entries."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from components.config import InvalidConfig, StackConfig
from components.dns_firewall import DnsFirewall
from components.dns_firewall_settings import DERIVED_PRIORITIES, BlockResponse, derived_association_priority
from handlers.dns_firewall import MAX_DOMAINS_PER_UPDATE, canonical_entry, chunks
from handlers.settings import ENV_DNS_FIREWALL_MAX_DOMAINS, DomainBlocking
from nfw_blocklist.render import render_function, render_stack

EMAIL = {"adminEmail": "security-team@example.com"}
VPC = "vpc-0123456789abcdef0"


def dns_config(**values: Any) -> StackConfig:
    return StackConfig.from_mapping(
        {**EMAIL, "domainBlocking": "dns-firewall", "dnsFirewallVpcIds": json.dumps([VPC]), **values}
    )


def test_dns_firewall_defaults_to_nodata_a_derived_priority_and_ten_thousand_domains() -> None:
    config = dns_config()

    assert config.dns_firewall_vpc_ids == (VPC,)
    assert config.dns_firewall_block_response is BlockResponse.NODATA
    assert (config.dns_firewall_priority, config.dns_firewall_max_domains) == (None, 10_000)
    assert dns_config(dnsFirewallPriority="0").dns_firewall_priority is None
    assert dns_config(dnsFirewallPriority="200").dns_firewall_priority == 200
    assert config.handler_settings().policy_environment()[ENV_DNS_FIREWALL_MAX_DOMAINS] == "10000"


def test_the_default_stack_does_not_use_dns_firewall() -> None:
    config = StackConfig.from_mapping(EMAIL)

    assert not config.dns_firewall
    assert ENV_DNS_FIREWALL_MAX_DOMAINS not in config.handler_settings().policy_environment()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dnsFirewallVpcIds": "[]"}, "dnsFirewallVpcIds is required with domainBlocking dns-firewall"),
        ({"dnsFirewallVpcIds": '["vpc-1"]'}, "dnsFirewallVpcIds must be a list of VPC ids"),
        ({"dnsFirewallVpcIds": f'["{VPC}", "{VPC}"]'}, "each once"),
        ({"dnsFirewallVpcIds": '["subnet-0123456789abcdef0"]'}, "dnsFirewallVpcIds"),
        (
            {"dnsFirewallBlockResponse": "OVERRIDE"},
            "dnsFirewallBlockResponse must be one of NODATA, NXDOMAIN",
        ),
        ({"dnsFirewallPriority": "99"}, "dnsFirewallPriority must be 0 .derived.* or an integer from 100"),
        ({"dnsFirewallPriority": "9901"}, "dnsFirewallPriority must be 0 .derived.* or an integer from 100"),
        ({"dnsFirewallPriority": "-1"}, "dnsFirewallPriority"),
        ({"dnsFirewallMaxDomains": "0"}, "dnsFirewallMaxDomains"),
        ({"dnsFirewallMaxDomains": "100001"}, "dnsFirewallMaxDomains"),
    ],
)
def test_bad_dns_firewall_settings_are_refused_in_one_line(values: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidConfig, match=message) as excinfo:
        dns_config(**values)
    assert "\n" not in str(excinfo.value)


def test_both_also_needs_vpc_ids() -> None:
    with pytest.raises(InvalidConfig, match="domainBlocking both"):
        StackConfig.from_mapping({**EMAIL, "domainBlocking": "both"})
    assert StackConfig.from_mapping(
        {**EMAIL, "domainBlocking": "both", "dnsFirewallVpcIds": [VPC]}
    ).dns_firewall


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"vpc_ids": ["vpc-xyz"]}, "DnsFirewall 'x': vpcIds (vpc_ids) must be a list of VPC ids"),
        ({"vpc_ids": [VPC, VPC]}, "DnsFirewall 'x': vpcIds (vpc_ids) must be a list of VPC ids"),
        (
            {"association_priority": 50},
            "DnsFirewall 'x': associationPriority (association_priority) must be 0 (derived from the project "
            "and stack) or an integer from 100 to 9900",
        ),
        (
            {"association_priority": True},
            "DnsFirewall 'x': associationPriority (association_priority) must be 0 (derived",
        ),
        (
            {"block_response": "OVERRIDE"},
            "DnsFirewall 'x': blockResponse (block_response) must be one of NODATA",
        ),
    ],
)
def test_the_component_refuses_what_dns_firewall_would(construct, args: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        construct(DnsFirewall, args)


def association_priorities(rendered: Any) -> list[int]:
    return [
        resource.inputs["priority"]
        for resource in rendered.resources
        if resource.type
        == "aws:route53/resolverFirewallRuleGroupAssociation:ResolverFirewallRuleGroupAssociation"
    ]


def test_stacks_left_at_the_default_priority_draw_distinct_repeatable_ones_late_in_awss_range(
    render_dev, tmp_path: Path
) -> None:
    stack = {"domainBlocking": "dns-firewall", "dnsFirewallVpcIds": json.dumps([VPC])}
    staging_file = tmp_path / "Pulumi.staging.yaml"
    staging_file.write_text("config:\n  nfw-blocklist:adminEmail: secops@example.com\n")
    dev, again = (
        association_priorities(render_dev(**stack)),
        association_priorities(render_stack("dev", stack)),
    )
    staging = association_priorities(render_stack("staging", stack, stack_file=staging_file))

    assert dev == again, "the same stack draws the same priority on every deployment (no needless update)"
    assert dev != staging
    assert all(DERIVED_PRIORITIES.start <= priority < DERIVED_PRIORITIES.stop for priority in dev + staging)


def test_a_set_priority_wins_over_the_derived_one(render_dev) -> None:
    stack = {"domainBlocking": "dns-firewall", "dnsFirewallVpcIds": json.dumps([VPC])}
    assert association_priorities(render_dev(**stack, dnsFirewallPriority="200")) == [200]


def test_two_dns_firewalls_of_one_stack_derive_distinct_priorities(construct) -> None:
    rendered = render_function(
        lambda: [DnsFirewall(name, {"vpc_ids": [VPC]}) for name in ("edge", "core")], stack="prod"
    )
    priorities = association_priorities(rendered)
    assert sorted(priorities) == sorted(
        derived_association_priority("test", "prod", name) for name in ("edge", "core")
    )
    assert len(set(priorities)) == 2


def test_chunks_are_at_most_a_thousand_and_cover_every_domain_in_order() -> None:
    domains = [f"d{i}.example" for i in range(2001)]
    parts = chunks(domains)

    assert [len(part) for part in parts] == [MAX_DOMAINS_PER_UPDATE, MAX_DOMAINS_PER_UPDATE, 1]
    assert [d for part in parts for d in part] == domains
    assert chunks([]) == []


@pytest.mark.parametrize(
    ("entry", "canonical"),
    [
        ("example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("*.evil.example", "*.evil.example"),
        ("*.", "*"),  # removed by its stored spelling, "*."
    ],
)
def test_list_entries_read_canonical_and_junk_keeps_its_spelling(entry: str, canonical: str) -> None:
    assert canonical_entry(entry) == canonical


def test_domain_blocking_modes_name_the_dns_point_only_when_on() -> None:
    assert [mode for mode in DomainBlocking if "dns-firewall" in mode.points] == [
        DomainBlocking.DNS_FIREWALL,
        DomainBlocking.BOTH,
    ]


def test_the_readme_and_pulumi_yaml_state_the_dns_firewall_ranges_the_program_enforces() -> None:
    from pathlib import Path

    import yaml

    from components.dns_firewall_settings import MAX_ASSOCIATION_PRIORITY, MIN_ASSOCIATION_PRIORITY
    from handlers.settings import DNS_FIREWALL_ACCOUNT_QUOTA

    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text()
    dash = "\N{EN DASH}"
    assert (
        f"| `dnsFirewallPriority` | `0` | 0, {MIN_ASSOCIATION_PRIORITY}{dash}{MAX_ASSOCIATION_PRIORITY} |"
        in readme
    )
    assert f"| `dnsFirewallMaxDomains` | `10000` | 1{dash}{DNS_FIREWALL_ACCOUNT_QUOTA} |" in readme
    schema = yaml.safe_load((repo / "Pulumi.yaml").read_text())["config"]
    assert (
        f"({MIN_ASSOCIATION_PRIORITY}-{MAX_ASSOCIATION_PRIORITY}"
        in schema["dnsFirewallPriority"]["description"]
    )
    assert f"(1-{DNS_FIREWALL_ACCOUNT_QUOTA})" in schema["dnsFirewallMaxDomains"]["description"]


@pytest.mark.parametrize("room", [0, 100_001])
def test_the_point_refuses_a_room_outside_the_account_quota(room: int) -> None:
    from handlers.dns_firewall import DnsFirewallDomains
    from handlers.enforcement import Clients
    from handlers.errors import ConfigurationError
    from handlers.settings import Settings

    settings = Settings(
        table_name="t",
        rule_group_arn="g",
        domain_blocking=DomainBlocking.DNS_FIREWALL,
        dns_firewall_domain_list_id="rslvr-fdl-1",
        dns_firewall_max_domains=room,
    )
    with pytest.raises(ConfigurationError, match="NFW_DNS_FIREWALL_MAX_DOMAINS must be from 1 to 100000"):
        DnsFirewallDomains.from_settings(settings, Clients())
