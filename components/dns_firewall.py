"""DnsFirewall: a Route 53 Resolver DNS Firewall domain list the functions own, blocked in the given VPCs.

Children: the domain list (its ``domains`` ignored after creation: the block and prune functions write
it with UpdateFirewallDomains ADD/REMOVE, as they own the stateless group's rules), a rule group with
one BLOCK rule (ALERT in monitor mode) over the list, and one association of that rule group per VPC.
AWS facts relied on
(botocore's route53resolver model and the API reference): names of at most 64 letters, digits, ``-``,
``_``, ``'`` or spaces; MutationProtection ENABLED | DISABLED; the priorities and VPC ids accepted are in
``components.dns_firewall_settings``.
"""

from collections.abc import Mapping, Sequence
from typing import Final, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.config import read_association_priority, read_choice, read_vpc_ids
from components.constants import TOKEN_PREFIX
from components.dns_firewall_settings import BlockResponse, derived_association_priority
from components.inputs import ArgsReader
from components.limits import check_component_name
from handlers.settings import Enforcement

TOKEN: Final = f"{TOKEN_PREFIX}:DnsFirewall"
ASSOCIATION_SUFFIX_EXAMPLE: Final = "-dns-0123456789abcdef0"
"""The longest association logical-name suffix (a 17-digit VPC id without ``vpc-``)."""
RULE_PRIORITY: Final = 100
"""The BLOCK rule's priority inside the component's own rule group (its only rule)."""
DOMAINS_PROPERTY: Final = "domains"
"""The list's contents: the functions own them after creation (``ignore_changes``)."""


class DnsFirewallArgs(TypedDict):
    """Inputs of DnsFirewall."""

    vpc_ids: NotRequired[Sequence[str]]
    """VPCs whose Route 53 Resolver queries are filtered (vpc- ids, each once); default none: the list and
    rule group exist but block nothing until associated. Plain: one association each."""
    block_response: NotRequired[pulumi.Input[BlockResponse]]
    """The answer to a blocked query: NODATA or NXDOMAIN; default NODATA."""
    enforcement: NotRequired[Enforcement]
    """enforce (the rule BLOCKs the list's domains) or monitor (the rule's action is ALERT: the query is
    answered and logged; AWS accepts no BlockResponse then); default enforce. A change updates the rule in
    place. Plain: it decides whether the rule has a block response."""
    association_priority: NotRequired[pulumi.Input[int]]
    """The rule group's place among each VPC's rule groups (100-9900, unique per VPC); default (or 0): one
    derived from the project, stack and component name, 5000-9899, so stacks sharing a VPC differ."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for every child resource that takes them; default none."""


class DnsFirewall(pulumi.ComponentResource):
    """The functions' DNS Firewall domain list, blocked by a rule group associated with each VPC."""

    domain_list_id: pulumi.Output[str]
    """The domain list the functions write (ResponseStateMachine's dnsFirewallDomainListId)."""
    domain_list_arn: pulumi.Output[str]
    """Its ARN (ResponseStateMachine's dnsFirewallDomainListArn)."""
    rule_group_id: pulumi.Output[str]
    """The DNS Firewall rule group that blocks the list."""
    association_ids: pulumi.Output[list[str]]
    """One association of the rule group per VPC, in the order of vpcIds."""

    def __init__(self, name: str, args: DnsFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        reader = ArgsReader("DnsFirewall", name, args)
        vpc_ids = reader.check(["vpc_ids"], lambda values: read_vpc_ids(values, "vpcIds"))
        block_response = reader.settle(
            ["block_response"],
            lambda values: read_choice(values, "blockResponse", BlockResponse, BlockResponse.NODATA).value,
        )
        enforcement = reader.check(
            ["enforcement"],
            lambda values: read_choice(values, "enforcement", Enforcement, Enforcement.ENFORCE),
        )
        derived = derived_association_priority(pulumi.get_project(), pulumi.get_stack(), name)
        priority = reader.settle(
            ["association_priority"],
            lambda values: read_association_priority(values, "associationPriority") or derived,
        )
        tags = reader.get("tags")
        child = pulumi.ResourceOptions(parent=self)

        domain_list = aws.route53.ResolverFirewallDomainList(
            f"{name}-dns-domains",
            domains=[],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=[DOMAINS_PROPERTY]),
        )
        rule_group = aws.route53.ResolverFirewallRuleGroup(f"{name}-dns-rules", tags=tags, opts=child)
        rule = aws.route53.ResolverFirewallRule(
            f"{name}-dns-block",
            firewall_rule_group_id=rule_group.id,
            firewall_domain_list_id=domain_list.id,
            # Monitor mode: ALERT answers the query and logs the match; a block response is BLOCK's only.
            **(
                {"action": "ALERT"}
                if enforcement is Enforcement.MONITOR
                else {"action": "BLOCK", "block_response": block_response}
            ),
            priority=RULE_PRIORITY,
            opts=child,
        )
        associations = [
            aws.route53.ResolverFirewallRuleGroupAssociation(
                f"{name}-dns-{vpc_id.removeprefix('vpc-')}",
                firewall_rule_group_id=rule_group.id,
                vpc_id=vpc_id,
                priority=priority,
                mutation_protection="DISABLED",
                tags=tags,
                # The rule first: an association of an empty rule group would filter nothing.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[rule]),
            )
            for vpc_id in vpc_ids
        ]

        self.domain_list_id = domain_list.id
        self.domain_list_arn = domain_list.arn
        self.rule_group_id = rule_group.id
        self.association_ids = pulumi.Output.all(*[association.id for association in associations]).apply(
            list
        )
        self.register_outputs(
            {
                "domain_list_id": self.domain_list_id,
                "domain_list_arn": self.domain_list_arn,
                "rule_group_id": self.rule_group_id,
                "association_ids": self.association_ids,
            }
        )
