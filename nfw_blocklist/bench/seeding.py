"""Seeding a session with blocked hosts, directly with boto3 (not measured).

Ledger items are the shape the ledger writes for a confirmed host (``readings.confirmed_item``), and
the owned rules are rendered by ``handlers.rules``, in one UpdateRuleGroup with latency off.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from nfw_blocklist.bench import readings
from nfw_blocklist.bench.session import Session


def seed(session: Session, hosts: Sequence[str], *, expires_at: float | None = None) -> None:
    """Write ``hosts`` as confirmed ledger items and into the owned rules."""
    from boto3.dynamodb.types import TypeSerializer

    from handlers.firewall import RuleGroupClient
    from handlers.rules import compose, render_owned_rules, split_owned, with_metric_action
    from nfw_blocklist import emulator

    sandbox = session.sandbox
    now = sandbox.clock.now()
    settings = session.settings()
    expiry = now + settings.retention_seconds if expires_at is None else expires_at
    serializer = TypeSerializer()
    dynamodb = sandbox.client("dynamodb")
    for start in range(0, len(hosts), 25):
        requests = []
        for host in hosts[start : start + 25]:
            item = readings.confirmed_item(
                _cidr(host),
                seen_at=now - 60,
                expires_at=expiry,
                account=sandbox.account,
                region=sandbox.region,
            )
            serialized = {key: serializer.serialize(value) for key, value in item.items()}
            requests.append({"PutRequest": {"Item": serialized}})
        request: dict[str, Any] = {sandbox.table_name: requests}
        while request:
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    emulator.faults(sandbox.region).clear()
    try:
        if settings.firewall_policy_type.rule_group_type == "FIREWALL":
            _seed_firewall_group(sandbox, settings, hosts)
            return
        firewall = RuleGroupClient(sandbox.rule_group_arn, client=sandbox.client("network-firewall"))
        snapshot = firewall.describe()
        priorities = (settings.rule_priority, settings.destination_priority)
        owned, foreign = split_owned(snapshot.rules, priorities)
        current = {entry["AddressDefinition"] for rule in owned for entry in _sources(rule)}
        wanted = current | {_cidr(host) for host in hosts}
        firewall.replace(
            snapshot,
            compose(foreign, render_owned_rules(wanted, *priorities)),
            with_metric_action(snapshot.custom_actions),
        )
    finally:
        session.set_faults()


def _seed_firewall_group(sandbox: Any, settings: Any, hosts: Sequence[str]) -> None:
    """The Next Generation group's variable, rendered by ``handlers.engine_rules``."""
    from handlers.engine_rules import read_group, render_group
    from handlers.firewall import RuleGroupClient

    firewall = RuleGroupClient(
        sandbox.rule_group_arn,
        client=sandbox.client("network-firewall"),
        rule_group_type=settings.firewall_policy_type.rule_group_type,
    )
    snapshot = firewall.describe()
    group = read_group(snapshot.rule_group)
    firewall.write(
        snapshot, render_group(snapshot.rule_group, group, group.blocked | {_cidr(h) for h in hosts})
    )


def _cidr(host: str) -> str:
    return f"{host}/32" if "/" not in host else host


def _sources(rule: Mapping[str, Any]) -> list[dict[str, str]]:
    sources: list[dict[str, str]] = (
        rule.get("RuleDefinition", {}).get("MatchAttributes", {}).get("Sources", [])
    )
    return sources
