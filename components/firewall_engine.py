"""Next Generation resources pulumi-aws cannot declare yet: FIREWALL rule groups and a FirewallPolicyV2.

pulumi-aws 7.51's ``networkfirewall.RuleGroup`` takes no firewall-engine rules and has no V2 policy, so
both are Pulumi dynamic resources over boto3 (``pulumi up``, ``destroy`` and ``refresh`` all go through
the provider below). They keep the Classic group's care:

- **Naming**: auto-named ``<logical name>-<7 hex>`` as Pulumi names the rest, so a replacement creates
  the new group (another name) before deleting the old one.
- **Replacement**: capacity, type and the name's prefix are fixed in AWS; a change to one replaces the
  group (``diff``). The content is the handlers' after creation: ``diff`` never sees it, ``read`` (a
  refresh) never reports it, and no update ever writes it, so no UpdateToken is ever kept in Pulumi's
  state to go stale (the Classic group needs ``ignore_changes`` for that).
- **Sizing**: before creating, ``CreateRuleGroup`` with ``DryRun`` measures what the group holds when
  full (``capacity // 2`` hosts, or the domains that fit): AWS's own count. A capacity that count exceeds
  is refused with a message naming both, before anything exists (the writer's arithmetic is the
  conservative reading of docs/LIMITS.md, so on AWS the count should never exceed it).
- **The V2 policy** (``createFirewallPolicy``) references the groups by priority (IP hosts 100, domains
  200) with ``FirewallDefaultAction: ACCEPT`` (the firewall engine is drop by default: the tool's own
  policy blocks only what its groups deny, as its Classic policy does); a replaced group moves the policy
  with a fresh DescribeFirewallPolicyV2 token.

The sandbox deploys these resources with this same provider, on its emulator (``nfw_blocklist.sandbox``).
"""

import secrets
from collections.abc import Callable, Mapping
from typing import Any, Final

import boto3
import pulumi
import pulumi.dynamic

from components.config import InvalidConfig
from handlers.enforcement import domain_rules_source
from handlers.engine_rules import initial_rule_group, read_group, render_group
from handlers.rules import HOST_COST

KIND_RULE_GROUP: Final = "firewall-rule-group"
KIND_POLICY: Final = "firewall-policy-v2"
IP_GROUP_PRIORITY: Final = 100
DOMAIN_GROUP_PRIORITY: Final = 200
MAX_FIREWALL_CAPACITY: Final = 30_000
REPLACING_INPUTS: Final = ("kind", "namePrefix", "capacity", "type", "domains")
"""What AWS fixes at creation: a change replaces the group."""


_component_provider = False
"""Set by the component package's provider (``provider/__main__.py``): see ``refuse_in_packages``."""


def hosted_by_component_provider() -> None:
    """Called by the component provider before it hosts the components."""
    global _component_provider
    _component_provider = True


def refuse_in_packages() -> None:
    """A dynamic provider runs only in a program of its own language (Pulumi, "Dynamic resource providers"):
    registered from the component provider on behalf of a YAML or TypeScript program, its pickled code
    would be loaded by a Python dynamic-provider host that cannot import this repository. Refused
    plainly rather than failing half-way through a deployment."""
    if _component_provider:
        raise InvalidConfig(
            "firewallPolicyType next-generation needs a Python program (this repository's, or one that "
            "imports components): its rule groups are Pulumi dynamic resources, which the component "
            "package cannot host for YAML or TypeScript"
        )


def auto_name(prefix: str) -> str:
    """Pulumi's auto-name: the logical name and 7 random hex digits."""
    return f"{prefix}-{secrets.token_hex(4)[:7]}"


def full_group(capacity: int, domains: bool) -> dict[str, Any]:
    """The group as it is when full: what the DryRun measures."""
    if domains:
        fits = max(1, (capacity - 2) // 2)
        return {"RulesSource": domain_rules_source([f"d{n}.nfw-blocklist.invalid" for n in range(fits)])}
    hosts = [f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}/32" for n in range(max(1, capacity // HOST_COST))]
    empty = initial_rule_group()
    return render_group(empty, read_group(empty), hosts)


def initial_content(domains: bool) -> dict[str, Any]:
    return {"RulesSource": domain_rules_source([])} if domains else initial_rule_group()


class _NetworkFirewallProvider(pulumi.dynamic.ResourceProvider):
    """What both providers share: their Network Firewall client (``client``: injected by the sandbox)."""

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def _nfw(self, props: Mapping[str, Any]) -> Any:
        return self._client or boto3.client("network-firewall", region_name=props.get("region") or None)

    @staticmethod
    def create_name(props: Mapping[str, Any]) -> str:
        """The name to create the resource with: the one given, or ``auto_name`` of its logical name."""
        return str(props.get("name") or auto_name(str(props["namePrefix"])))


def _unless_gone(client: Any, call: Callable[..., Any], **request: Any) -> Any:
    """``call(**request)``, or None when its resource is gone already: a refresh then drops it from the
    state, and a delete has nothing left to do."""
    try:
        return call(**request)
    except client.exceptions.ResourceNotFoundException:
        return None


class FirewallRuleGroupProvider(_NetworkFirewallProvider):
    """CreateRuleGroup/DeleteRuleGroup for one FIREWALL group."""

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        client = self._nfw(props)
        name = self.create_name(props)
        capacity, domains = int(props["capacity"]), bool(props.get("domains"))
        sized = client.create_rule_group(
            RuleGroupName=name,
            Type="FIREWALL",
            Capacity=MAX_FIREWALL_CAPACITY,
            FirewallRuleGroup=full_group(capacity, domains),
            DryRun=True,
        )
        needed = int(sized["RuleGroupResponse"]["ConsumedCapacity"])
        if needed > capacity:
            raise ValueError(
                f"Network Firewall counts {needed} capacity units for a full group, over its capacity "
                f"{capacity}: raise the capacity (its DryRun is the measure)"
            )
        tags = [{"Key": key, "Value": value} for key, value in sorted((props.get("tags") or {}).items())]
        answer = client.create_rule_group(
            RuleGroupName=name,
            Type="FIREWALL",
            Capacity=capacity,
            FirewallRuleGroup=initial_content(domains),
            Description=str(props.get("description") or ""),
            **({"Tags": tags} if tags else {}),
        )
        arn = str(answer["RuleGroupResponse"]["RuleGroupArn"])
        return pulumi.dynamic.CreateResult(
            arn, {**props, "name": name, "arn": arn, "measuredCapacity": needed}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        replaces = [key for key in REPLACING_INPUTS if olds.get(key) != news.get(key)]
        changed = replaces or [key for key in ("description", "tags") if olds.get(key) != news.get(key)]
        return pulumi.dynamic.DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=False
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        # Only description and tags reach here; the content is the handlers' (never written by Pulumi).
        client = self._nfw(news)
        old_tags, new_tags = olds.get("tags") or {}, news.get("tags") or {}
        gone = [key for key in old_tags if key not in new_tags]
        if gone:
            client.untag_resource(ResourceArn=_id, TagKeys=gone)
        if new_tags and new_tags != old_tags:
            client.tag_resource(ResourceArn=_id, Tags=[{"Key": k, "Value": v} for k, v in new_tags.items()])
        return pulumi.dynamic.UpdateResult({**olds, "description": news.get("description"), "tags": new_tags})

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        client = self._nfw(props)
        answer = _unless_gone(client, client.describe_rule_group, RuleGroupArn=id_, Type="FIREWALL")
        if answer is None:
            return pulumi.dynamic.ReadResult(None, {})
        response = answer["RuleGroupResponse"]
        return pulumi.dynamic.ReadResult(
            id_, {**props, "arn": id_, "name": response["RuleGroupName"], "capacity": response["Capacity"]}
        )

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client = self._nfw(props)
        _unless_gone(client, client.delete_rule_group, RuleGroupArn=id_)


def policy_document(ip_group_arn: str, domain_group_arn: str | None) -> dict[str, Any]:
    entries = [{"Priority": IP_GROUP_PRIORITY, "ResourceArn": ip_group_arn}]
    if domain_group_arn:
        entries.append({"Priority": DOMAIN_GROUP_PRIORITY, "ResourceArn": domain_group_arn})
    return {"FirewallRuleGroupEntries": entries, "FirewallDefaultAction": "ACCEPT", "PolicyMode": "ENFORCE"}


class FirewallPolicyV2Provider(_NetworkFirewallProvider):
    """A Next Generation policy referencing the tool's FIREWALL groups."""

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        name = self.create_name(props)
        answer = self._nfw(props).create_firewall_policy_v2(
            FirewallPolicyV2Name=name,
            FirewallPolicyV2=policy_document(props["ruleGroupArn"], props.get("domainRuleGroupArn")),
        )
        arn = str(answer["FirewallPolicyV2Response"]["FirewallPolicyV2Arn"])
        return pulumi.dynamic.CreateResult(arn, {**props, "name": name, "arn": arn})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        replaces = ["namePrefix"] if olds.get("namePrefix") != news.get("namePrefix") else []
        moved = [key for key in ("ruleGroupArn", "domainRuleGroupArn") if olds.get(key) != news.get(key)]
        return pulumi.dynamic.DiffResult(changes=bool(replaces or moved), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        client = self._nfw(news)
        # A fresh token: whatever Pulumi's state holds may be stale (someone edited the policy).
        token = client.describe_firewall_policy_v2(FirewallPolicyV2Arn=id_)["UpdateToken"]
        client.update_firewall_policy_v2(
            FirewallPolicyV2Arn=id_,
            UpdateToken=token,
            FirewallPolicyV2=policy_document(news["ruleGroupArn"], news.get("domainRuleGroupArn")),
        )
        return pulumi.dynamic.UpdateResult({**news, "name": olds.get("name"), "arn": id_})

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        client = self._nfw(props)
        if _unless_gone(client, client.describe_firewall_policy_v2, FirewallPolicyV2Arn=id_) is None:
            return pulumi.dynamic.ReadResult(None, {})
        return pulumi.dynamic.ReadResult(id_, props)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client = self._nfw(props)
        _unless_gone(client, client.delete_firewall_policy_v2, FirewallPolicyV2Arn=id_)


class _NamedResource(pulumi.dynamic.Resource):
    """A Network Firewall resource its provider names from its logical name (``create_name``); its outputs
    are the ``arn`` and ``name`` the provider's create returns."""

    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(
        self,
        provider: _NetworkFirewallProvider,
        kind: str,
        name: str,
        props: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None,
    ) -> None:
        inputs = {"kind": kind, "namePrefix": name, **props, "arn": None, "name": None}
        super().__init__(provider, name, inputs, opts)


class FirewallRuleGroup(_NamedResource):
    """A FIREWALL rule group (IP hosts, or with ``domains`` a domain list) whose content the handlers own."""

    def __init__(
        self,
        name: str,
        capacity: pulumi.Input[int],
        domains: bool = False,
        tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "type": "FIREWALL",
            "capacity": capacity,
            "domains": domains,
            "description": "nfw-blocklist: "
            + ("denies domains GuardDuty flagged" if domains else "drops hosts GuardDuty flagged")
            + "; rules are managed by its functions",
            "tags": tags or {},
        }
        refuse_in_packages()
        super().__init__(FirewallRuleGroupProvider(), KIND_RULE_GROUP, name, props, opts)


class FirewallPolicyV2(_NamedResource):
    """A Next Generation policy holding the tool's FIREWALL groups (``createFirewallPolicy``)."""

    def __init__(
        self,
        name: str,
        rule_group_arn: pulumi.Input[str],
        domain_rule_group_arn: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"ruleGroupArn": rule_group_arn, "domainRuleGroupArn": domain_rule_group_arn}
        super().__init__(FirewallPolicyV2Provider(), KIND_POLICY, name, props, opts)
