"""Monitor mode in the sandbox: the rules count instead of dropping, and a switch to enforce flips the
existing rules in one deployment with nothing lost from the ledger (issue 21, item 3)."""

import json

from handlers.rules import DROP_ACTIONS, MONITOR_ACTIONS
from nfw_blocklist.render import render_stack
from nfw_blocklist.sandbox import Sandbox
from tests.e2e.conftest import SAMPLES

HOST = "198.51.100.0/32"
DOMAIN = "guarddutyc2activityb.com"
STACK = {"createFirewallPolicy": "true", "findingSource": "both"}


def owned_actions(sandbox: Sandbox) -> list[list[str]]:
    rules = sandbox.describe_rule_group()["RuleGroup"]["RulesSource"]["StatelessRulesAndCustomActions"]
    return [
        rule["RuleDefinition"]["Actions"]
        for rule in rules["StatelessRules"]
        if HOST in json.dumps(rule["RuleDefinition"]["MatchAttributes"])
    ]


def domain_list(sandbox: Sandbox) -> dict[str, object]:
    group = sandbox.client("network-firewall").describe_rule_group(
        RuleGroupArn=sandbox.domain_rule_group_arn, Type="STATEFUL"
    )["RuleGroup"]
    source: dict[str, object] = group["RulesSource"]["RulesSourceList"]
    return source


def host_items(sandbox: Sandbox) -> list[dict[str, object]]:
    """The ledger's host records (not its leases and bookkeeping, whose keys start with ``#``)."""
    return [item for item in sandbox.ledger_items() if not str(item["HostIp"]).startswith("#")]


def test_switching_monitor_to_enforce_flips_the_rules_in_one_deployment_and_keeps_the_ledger(
    reference_event,
):
    with Sandbox(render_stack("dev", {**STACK, "enforcement": "monitor"})) as sandbox:
        [run] = sandbox.put_event(reference_event)
        assert run.status == "SUCCEEDED", run.output
        [dns] = sandbox.put_event(json.loads((SAMPLES / "guardduty-native-dns-c2.json").read_text()))
        assert dns.status == "SUCCEEDED", dns.output
        assert owned_actions(sandbox) == [list(MONITOR_ACTIONS)] * 2, "monitor mode counts, never drops"
        assert (domain_list(sandbox)["GeneratedRulesType"], domain_list(sandbox)["Targets"]) == (
            "ALERTLIST",
            [DOMAIN],
        )
        assert any("would block" in str(mail["subject"]) for mail in sandbox.email_notifications())
        items = host_items(sandbox)

        sandbox.update(render_stack("dev", STACK), denied_calls=0)

        assert owned_actions(sandbox) == [list(DROP_ACTIONS)] * 2, "flipped by the deployment itself"
        assert (domain_list(sandbox)["GeneratedRulesType"], domain_list(sandbox)["Targets"]) == (
            "DENYLIST",
            [DOMAIN],
        )
        assert [item["HostIp"] for item in items] == [HOST, DOMAIN]
        assert host_items(sandbox) == items, "nothing lost (or changed) in the ledger"


DNS_STACK = {
    "findingSource": "both",
    "domainBlocking": "dns-firewall",
    "dnsFirewallVpcIds": json.dumps(["vpc-0123456789abcdef0"]),
}


def dns_rule(sandbox: Sandbox) -> dict[str, object]:
    client = sandbox.client("route53resolver")
    [group] = client.list_firewall_rule_groups()["FirewallRuleGroups"]
    [rule] = client.list_firewall_rules(FirewallRuleGroupId=group["Id"])["FirewallRules"]
    return dict(rule)


def test_the_dns_firewall_rule_alerts_in_monitor_mode_and_blocks_after_the_switch():
    with Sandbox(render_stack("dev", {**DNS_STACK, "enforcement": "monitor"})) as sandbox:
        monitoring = dns_rule(sandbox)
        assert (monitoring["Action"], monitoring.get("BlockResponse")) == ("ALERT", None)

        report = sandbox.update(render_stack("dev", DNS_STACK), denied_calls=0)

        enforcing = dns_rule(sandbox)
        assert (enforcing["Action"], enforcing.get("BlockResponse")) == ("BLOCK", "NODATA")
        assert any("dns-block" in step for step in report.steps), report.steps
