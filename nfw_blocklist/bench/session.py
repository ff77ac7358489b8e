"""One sandbox under measurement: deployed, instrumented, with the emulator's latency set.

A session deploys the real render into the sandbox (moto running the real state machines, the
rule-group emulator with realistic latency). ``driver`` drives it with bursts; ``seeding`` fills it.
"""

import json
from collections.abc import Mapping
from typing import Any

from nfw_blocklist.bench import readings
from nfw_blocklist.bench.measure import Instrument, Tally

LATENCY: dict[str, tuple[float, float]] = {
    "DescribeRuleGroup": (0.1, 0.3),
    "UpdateRuleGroup": (0.1, 0.3),
}
"""Emulator latency (seconds, uniform) for the two calls the writer makes, as Network Firewall answers."""
STACK_OVERRIDES = {"findingSource": "both", "ruleGroupCapacity": "30000"}
SEED = 20260526


class Session:
    """One sandbox with the instrument installed and the emulator's latency set."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        from nfw_blocklist.sandbox import Sandbox

        self.sandbox = Sandbox.for_stack(
            "dev", {**STACK_OVERRIDES, **(overrides or {})}, execution_timeout=600
        )
        self.instrument = Instrument()

    def __enter__(self) -> "Session":
        self.sandbox.start()
        try:
            self.instrument.install()
            self.set_faults()
        except BaseException:
            self.sandbox.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.instrument.uninstall()
        self.sandbox.stop()

    @property
    def region(self) -> str:
        return self.sandbox.region

    def set_faults(self, **kwargs: Any) -> None:
        from nfw_blocklist import emulator

        emulator.faults(self.region).set(latency=LATENCY, seed=SEED, **kwargs)

    def tally(self) -> Tally:
        return Tally.read(self.region)

    def settings(self) -> Any:
        from handlers.settings import Settings

        return Settings.from_env(self.sandbox.function_environment("block"))

    def group_hosts(self) -> set[str]:
        """Hosts the owned rules block, read straight from the emulator's store (no latency, uncounted)."""
        from moto.networkfirewall.models import networkfirewall_backends

        from handlers.engine_rules import read_group
        from handlers.rules import blocked_hosts, split_owned
        from handlers.settings import FirewallPolicyType
        from nfw_blocklist import emulator

        settings = self.settings()
        store = emulator.store_for(networkfirewall_backends[self.sandbox.account][self.region])
        group = store.get(arn=self.sandbox.rule_group_arn)
        described = _plain_group(group)
        if settings.firewall_policy_type is FirewallPolicyType.NEXT_GENERATION:
            return read_group(described).blocked | self.group_domains()
        rules = described.get("RulesSource", {}).get("StatelessRulesAndCustomActions", {})
        priorities = (settings.rule_priority, settings.destination_priority)
        owned, _ = split_owned(rules.get("StatelessRules", []), priorities)
        return blocked_hosts(owned, *priorities) | self.group_domains()

    def group_domains(self) -> set[str]:
        """Domains the stateful domain list denies (none for a stack without one), read the same way."""
        from moto.networkfirewall.models import networkfirewall_backends

        from handlers.enforcement import PLACEHOLDER_TARGET
        from nfw_blocklist import emulator

        store = emulator.store_for(networkfirewall_backends[self.sandbox.account][self.region])
        arns = [arn for arn in self.sandbox.inventory.rule_groups if ":stateful-rulegroup/" in arn]
        if not arns:
            return set()
        targets = _plain_group(store.get(arn=arns[0])).get("RulesSource", {}).get("RulesSourceList", {})
        return set(targets.get("Targets", [])) - {PLACEHOLDER_TARGET}

    def owned_rule_count(self) -> int:
        rules = self.sandbox.describe_rule_group()["RuleGroup"]["RulesSource"]
        settings = self.settings()
        priorities = {settings.rule_priority, settings.destination_priority}
        return sum(
            1
            for rule in rules["StatelessRulesAndCustomActions"]["StatelessRules"]
            if rule["Priority"] in priorities
        )

    def ledger_hosts(self) -> set[str]:
        return {readings.ledger_host(item) for item in self.sandbox.ledger_items()}

    def notifications(self) -> list[Any]:
        return self.sandbox.notifications()


def _plain_group(group: Any) -> dict[str, Any]:
    """The stored group's current RuleGroup body, as plain JSON data."""
    body: dict[str, Any] = json.loads(json.dumps(group.version.rule_group, default=dict))
    return body
