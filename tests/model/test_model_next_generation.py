"""The model-based concurrency test on a Next Generation firewall (issue 19).

The same machine as ``test_model_concurrency`` (operations, faults, crashes, clock, invariants I0-I6),
but the IP hosts' target is a FIREWALL group: the writer owns an IP-set variable and two drop rules
(``handlers.engine_rules``), beside someone else's accept rule and variable. The judge reads the group
independently of the handlers: a host is blocked when both drop rules (from it, to it) are in the group
and the variable names it. I6 becomes: the variable is never empty and both rules always reference it (a
rule without an address would match everything); I4: no protected host ever enters the variable.
"""

from typing import Any

import boto3
from hypothesis.stateful import run_state_machine_as_test

from handlers.settings import FirewallPolicyType
from tests.model.conftest import PROFILE, World, model_profiles
from tests.model.scheduler import Operation
from tests.model.test_model_concurrency import (
    BLOCKABLE,
    HOST_CAPACITY,
    NO_MATCH_ALL,
    PROTECTED,
    PROTECTED_NEVER_WRITTEN,
    BlocklistModel,
)

VARIABLE = "NFW_BLOCKLIST"
DROP = {"Action": "DROP", "ActionScope": "PACKET", "Hook": "IP_PRE_FLOW", "Protocol": "IP"}
FROM_HOST = {**DROP, "SourceIPs": f"${VARIABLE}"}
TO_HOST = {**DROP, "DestIPs": f"${VARIABLE}"}
"""The judge's own statement of the two rules (not imported from the handlers)."""
FOREIGN_RULE = {
    "Action": "ACCEPT",
    "ActionScope": "FLOW",
    "Hook": "TCP_FLOW_START",
    "Protocol": "TCP",
    "DestIPs": "$WEB",
}
DISCARD = "100::/128"

PROFILES = model_profiles("NFW_MODEL_NG_EXAMPLES", ci=(10, 30), soak=(400, 60))


class NextGenerationBlocklistModel(BlocklistModel):
    group_type = "FIREWALL"
    settings_overrides = {"firewall_policy_type": FirewallPolicyType.NEXT_GENERATION}

    def _create_group(self, name: str) -> str:
        group = {
            "RulesSource": {"FirewallRules": [FROM_HOST, TO_HOST, FOREIGN_RULE]},
            "RuleVariables": {
                "IPSets": {VARIABLE: {"Definition": [DISCARD]}, "WEB": {"Definition": ["10.0.0.0/24"]}}
            },
        }
        answer = boto3.client("network-firewall").create_rule_group(
            RuleGroupName=name, Type="FIREWALL", Capacity=1 + 2 * HOST_CAPACITY, FirewallRuleGroup=group
        )
        return str(answer["RuleGroupResponse"]["RuleGroupArn"])

    def _requested_rules(self, request: dict[str, Any]) -> Any:
        return request["FirewallRuleGroup"]

    def _written(self, group: dict[str, Any]) -> set[str]:
        return blocked_by(group)[0]

    def _check_request(self, op: Operation, group: dict[str, Any]) -> None:
        rules = group.get("RulesSource", {}).get("FirewallRules", [])
        for rule_ in rules:
            if rule_.get("Action") == "DROP" and not (rule_.get("SourceIPs") or rule_.get("DestIPs")):
                self._violate(NO_MATCH_ALL, f"{op.label} wrote a drop rule with no address: {rule_}")
        definition = variable_of(group)
        if not definition:
            self._violate(NO_MATCH_ALL, f"{op.label} wrote the variable {VARIABLE} empty")
        if set(definition) & PROTECTED:
            self._violate(PROTECTED_NEVER_WRITTEN, f"{op.label} wrote {sorted(set(definition) & PROTECTED)}")

    def _group(self) -> tuple[set[str], set[str]]:
        answer = self.world.network_firewall.describe_rule_group(
            RuleGroupArn=self.settings.rule_group_arn, Type="FIREWALL"
        )
        return blocked_by(answer["FirewallRuleGroup"])

    def _hand_edit(self, host: str, add: bool) -> None:
        """An operator adds or removes one address of the variable in the console."""
        client, arn = self.network_firewall, self.settings.rule_group_arn
        described = client.describe_rule_group(RuleGroupArn=arn, Type="FIREWALL")
        group = described["FirewallRuleGroup"]
        ip_set = group["RuleVariables"]["IPSets"][VARIABLE]
        entries = [entry for entry in ip_set["Definition"] if entry not in (host, DISCARD)]
        ip_set["Definition"] = [*entries, host] if add else (entries or [DISCARD])
        client.update_rule_group(
            RuleGroupArn=arn, Type="FIREWALL", UpdateToken=described["UpdateToken"], FirewallRuleGroup=group
        )


def variable_of(group: dict[str, Any]) -> list[str]:
    return list(
        ((group.get("RuleVariables") or {}).get("IPSets") or {}).get(VARIABLE, {}).get("Definition") or []
    )


def blocked_by(group: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(hosts dropped both ways, every address in the variable), read independently of the handlers."""
    rules = group.get("RulesSource", {}).get("FirewallRules", [])
    anywhere = set(variable_of(group)) - {DISCARD}
    both = FROM_HOST in rules and TO_HOST in rules
    return (anywhere if both else set()), anywhere


def test_no_interleaving_breaks_an_invariant_on_a_next_generation_firewall(world: World) -> None:
    run_state_machine_as_test(lambda: NextGenerationBlocklistModel(world), settings=PROFILES[PROFILE])


def test_a_manual_block_and_a_prune_keep_the_variable_in_step_with_the_ledger(world: World) -> None:
    model = NextGenerationBlocklistModel(world)
    try:
        model.start_manual_block(BLOCKABLE[0])
        model.settle()
        model.start_hand_edit(BLOCKABLE[1], add=True)
        model.settle()
        model.start_prune(env=0)
        model.settle()
        model.assert_invariants()
        assert model._group()[0] == {f"{BLOCKABLE[0]}/32"}
    finally:
        model.teardown()
