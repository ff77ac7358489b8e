"""Monitor mode (``enforcement: monitor``): the same rules, written the same way, that count instead of
dropping; e-mails and annotations say "would block"; the config, the functions and the DNS Firewall rule
carry the mode (issue 21, item 3)."""

import json

import pytest

from components.config import InvalidConfig, StackConfig
from components.response import repopulation_triggers
from handlers.enforcement import domain_rules_source
from handlers.messages import block_email, block_subject
from handlers.model import TargetKind
from handlers.rules import (
    DROP_ACTIONS,
    MONITOR_ACTION_NAME,
    blocked_hosts,
    hand_edited,
    is_our_rendering,
    render_owned_rules,
    with_metric_action,
)
from handlers.securityhub import KindReport, blocked_annotation
from handlers.settings import ENV_ENFORCEMENT, Enforcement, Settings, WorkflowStatus

EMAIL = {"adminEmail": "security-team@example.com"}
HOSTS = {"198.51.100.7/32", "2001:db8::1/128"}


def test_monitor_rules_count_and_forward_to_the_stateful_engine_never_pass() -> None:
    rules = render_owned_rules(HOSTS, 30000, 30100, monitor=True)

    assert [rule["RuleDefinition"]["Actions"] for rule in rules] == [
        ["aws:forward_to_sfe", MONITOR_ACTION_NAME]
    ] * 2
    assert blocked_hosts(rules, 30000, 30100) == HOSTS, "the same hosts in the same two rules"
    assert all("aws:pass" not in rule["RuleDefinition"]["Actions"] for rule in rules)


def test_either_modes_rendering_is_ours_and_neither_is_a_hand_edit() -> None:
    enforcing = render_owned_rules(HOSTS, 30000, 30100)
    monitoring = render_owned_rules(HOSTS, 30000, 30100, monitor=True)

    assert [rule["RuleDefinition"]["Actions"] for rule in enforcing] == [list(DROP_ACTIONS)] * 2
    assert all(is_our_rendering(rule) for rule in [*enforcing, *monitoring])
    assert not hand_edited(monitoring, 30000, 30100) and not hand_edited(enforcing, 30000, 30100)
    passing = [
        {**rule, "RuleDefinition": {**rule["RuleDefinition"], "Actions": ["aws:pass"]}} for rule in monitoring
    ]
    assert not any(is_our_rendering(rule) for rule in passing)


def test_the_group_defines_both_modes_metric_actions_so_a_switch_rewrites_rules_only() -> None:
    names = [action["ActionName"] for action in with_metric_action([])]

    assert names == [DROP_ACTIONS[1], MONITOR_ACTION_NAME]


def test_the_domain_list_alerts_in_monitor_mode() -> None:
    assert (
        domain_rules_source(["evil.example"], monitor=True)["RulesSourceList"]["GeneratedRulesType"]
        == "ALERTLIST"
    )
    assert domain_rules_source(["evil.example"])["RulesSourceList"]["GeneratedRulesType"] == "DENYLIST"


def test_the_mode_reaches_the_functions_only_when_it_is_monitor() -> None:
    monitor = StackConfig.from_mapping({**EMAIL, "enforcement": "monitor"}).handler_settings("t", "arn")
    enforce = StackConfig.from_mapping(EMAIL).handler_settings("t", "arn")

    assert monitor.policy_environment()[ENV_ENFORCEMENT] == "monitor"
    assert ENV_ENFORCEMENT not in enforce.policy_environment(), (
        "an enforcing stack's environment is as before"
    )
    env = {"NFW_TABLE_NAME": "t", "NFW_RULE_GROUP_ARN": "arn", **monitor.policy_environment()}
    assert Settings.from_env(env).monitor
    assert monitor.annotation_environment()[ENV_ENFORCEMENT] == "monitor"


def test_a_switch_of_mode_reruns_the_repopulation() -> None:
    monitor = Settings("t", "arn", enforcement=Enforcement.MONITOR)

    assert repopulation_triggers(monitor, "t", "arn") != repopulation_triggers(
        Settings("t", "arn"), "t", "arn"
    )


def test_an_unknown_enforcement_is_refused_naming_the_key() -> None:
    with pytest.raises(InvalidConfig, match="enforcement"):
        StackConfig.from_mapping({**EMAIL, "enforcement": "audit"})


def notification(monitor: bool) -> dict[str, object]:
    return {"Hosts": ["198.51.100.7/32"], "HostCount": 1, **({"Monitor": True} if monitor else {})}


def test_the_email_says_would_block_in_monitor_mode() -> None:
    finding = {"type": "Recon:EC2/PortProbeUnprotectedPort", "severity": 5.0}

    assert "would block 198.51.100.7/32" in block_subject(notification(True))
    email = block_email(notification(True), finding, 1_700_000_000, {}, None)
    assert email.startswith("Would block 198.51.100.7/32") and "nothing is dropped" in email
    assert block_email(notification(False), finding, 1_700_000_000, {}, None).startswith("Blocked ")


def test_the_annotation_says_would_block_in_monitor_mode() -> None:
    report = KindReport(TargetKind.ADDRESS, ["198.51.100.7/32"], 1, "rule group g")

    annotation = blocked_annotation([report], 1_700_000_000, WorkflowStatus.NOTIFIED, monitor=True)

    assert annotation.note.startswith("nfw-blocklist would block 1 host")
    assert "counted, not dropped" in annotation.note
    assert "would-block" in json.dumps(annotation.fields)


def test_monitor_mode_on_a_next_generation_firewall_is_refused_in_one_line() -> None:
    """The firewall engine's rules only ACCEPT, DROP or REJECT: a monitor-mode FIREWALL group would drop."""
    with pytest.raises(InvalidConfig, match=r"^nfw-blocklist:enforcement monitor is not available with fire"):
        StackConfig.from_mapping({**EMAIL, "enforcement": "monitor", "firewallPolicyType": "next-generation"})
