"""Deploying the rendered DNS Firewall resources into the emulator, and checking the functions' wiring.

The render gives each domain list, rule group and association an id derived from its name (AWS
generates ids; the mocks must answer one), and the functions' environment carries the list's. The
sandbox creates each resource under the rendered id, so a function configured with the wrong id finds
nothing, and it requires the functions that carry a list id to be granted the dns-firewall point's
actions on that list's ARN. The VPCs the program associates are the operator's, not the program's:
the sandbox stands them up in moto's EC2 under the configured ids (AWS refuses an unknown VPC).
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol
from unittest import mock

from moto.ec2.models import ec2_backends
from moto.route53resolver.models import route53resolver_backends

from components.config import NAMESPACE
from components.dns_firewall_settings import MAX_ASSOCIATION_PRIORITY, MIN_ASSOCIATION_PRIORITY
from components.iam import DNS_FIREWALL_ACTIONS
from handlers.settings import ENV_DNS_FIREWALL_DOMAIN_LIST_ID
from nfw_blocklist.emulator import dns_firewall as emulator

from .resources import DNS_ASSOCIATION as ASSOCIATION
from .resources import DNS_DOMAIN_LIST as DOMAIN_LIST
from .resources import DNS_RULE as RULE
from .resources import DNS_RULE_GROUP as RULE_GROUP
from .resources import RenderedResourceLike, physical_name
from .wiring import WiringError


class DeploySite(Protocol):
    """What this module needs of the deployer that drives it (``deploy.Deployer``)."""

    @property
    def account(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def clients(self) -> Callable[[str], Any]: ...

    def require_grant(
        self, resource: RenderedResourceLike, role_arn: str, action: str, target_arn: str
    ) -> None:
        """Record that ``role_arn`` must be allowed ``action`` on ``target_arn``; checked after the deploy."""


STANDIN_VPC_CIDR: Final = "10.255.0.0/16"


def _rendered_id(resource: RenderedResourceLike) -> str:
    arn = str(resource.state.get("arn") or "")
    if "/" not in arn:
        raise WiringError(f"{resource.urn}: the render recorded no ARN to take the resource's id from")
    return arn.rsplit("/", 1)[1]


class DnsFirewallDeployer:
    """Creates one render's DNS Firewall resources; ``domain_lists`` maps each list id to its ARN."""

    def __init__(self, deployer: DeploySite) -> None:
        self.deployer = deployer
        self.domain_lists: dict[str, str] = {}

    @property
    def store(self) -> emulator.DnsFirewallStore:
        return emulator.store_for(route53resolver_backends[self.deployer.account][self.deployer.region])

    def handlers(self) -> dict[str, Callable[[RenderedResourceLike], None]]:
        return {
            DOMAIN_LIST: self._domain_list,
            RULE_GROUP: self._rule_group,
            RULE: self._rule,
            ASSOCIATION: self._association,
        }

    def check_priorities(self, resources: Sequence[RenderedResourceLike]) -> None:
        """AWS refuses a second rule group at a priority a VPC already uses (ConflictException): refuse the
        render before anything of it exists, naming the setting that chooses the priority."""
        taken: dict[tuple[str, Any], str] = {
            (association.vpc_id, association.priority): association.creator_request_id
            for association in self.store.associations.values()
        }
        for resource in resources:
            if resource.type != ASSOCIATION:
                continue
            place = (str(resource.inputs.get("vpcId", "")), resource.inputs.get("priority"))
            holder = taken.setdefault(place, resource.urn)
            if holder != resource.urn:
                raise WiringError(
                    f"{resource.urn}: Route 53 Resolver would refuse it: ConflictException: Priority "
                    f"{place[1]} is already used on {place[0]} by {holder}; AWS needs a unique priority "
                    f"per VPC: set {NAMESPACE}:dnsFirewallPriority (DnsFirewall's associationPriority) to "
                    f"another value from {MIN_ASSOCIATION_PRIORITY} to {MAX_ASSOCIATION_PRIORITY}"
                )

    def _domain_list(self, resource: RenderedResourceLike) -> None:
        created = _translated(
            resource,
            lambda: self.store.create_domain_list(
                physical_name(resource), resource.urn, resource_id=_rendered_id(resource)
            ),
        )
        domains = list(resource.inputs.get("domains") or [])
        if domains:  # the provider writes the initial domains with REPLACE
            self.deployer.clients("route53resolver").update_firewall_domains(
                FirewallDomainListId=created.id, Operation="REPLACE", Domains=domains
            )
        self.domain_lists[created.id] = created.arn

    def _rule_group(self, resource: RenderedResourceLike) -> None:
        _translated(
            resource,
            lambda: self.store.create_rule_group(
                physical_name(resource), resource.urn, resource_id=_rendered_id(resource)
            ),
        )

    def _rule(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        params = {
            "CreatorRequestId": resource.urn,
            "FirewallRuleGroupId": inputs.get("firewallRuleGroupId"),
            "FirewallDomainListId": inputs.get("firewallDomainListId"),
            "Priority": inputs.get("priority"),
            "Action": inputs.get("action"),
            "BlockResponse": inputs.get("blockResponse"),
            "BlockOverrideDomain": inputs.get("blockOverrideDomain"),
            "BlockOverrideDnsType": inputs.get("blockOverrideDnsType"),
            "BlockOverrideTtl": inputs.get("blockOverrideTtl"),
            "Name": physical_name(resource),
        }
        _translated(resource, lambda: self.store.create_rule(params))

    def update_rule(self, resource: RenderedResourceLike) -> None:
        """The provider's update of the rule (``enforcement`` switches BLOCK and ALERT): UpdateFirewallRule
        with the rule's action fields as the new render states them."""
        inputs = resource.inputs
        params = {
            "FirewallRuleGroupId": inputs.get("firewallRuleGroupId"),
            "FirewallDomainListId": inputs.get("firewallDomainListId"),
            "Action": inputs.get("action"),
            "BlockResponse": inputs.get("blockResponse"),
            "BlockOverrideDomain": inputs.get("blockOverrideDomain"),
            "BlockOverrideDnsType": inputs.get("blockOverrideDnsType"),
            "BlockOverrideTtl": inputs.get("blockOverrideTtl"),
        }
        client = self.deployer.clients("route53resolver")
        client.update_firewall_rule(**{key: value for key, value in params.items() if value is not None})

    def _association(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        vpc_id = str(inputs.get("vpcId", ""))
        self._stand_in_vpc(vpc_id)
        params = {
            "CreatorRequestId": resource.urn,
            "FirewallRuleGroupId": inputs.get("firewallRuleGroupId"),
            "VpcId": vpc_id,
            "Priority": inputs.get("priority"),
            "Name": physical_name(resource),
            "MutationProtection": inputs.get("mutationProtection"),
        }
        _translated(resource, lambda: self.store.associate(params, resource_id=_rendered_id(resource)))

    def _stand_in_vpc(self, vpc_id: str) -> None:
        """The operator's VPC, in moto's EC2 under its own id (shared by every stack that names it)."""
        ec2 = ec2_backends[self.deployer.account][self.deployer.region]
        if not vpc_id.startswith("vpc-") or vpc_id in ec2.vpcs:
            return
        with mock.patch("moto.ec2.models.vpcs.random_vpc_id", return_value=vpc_id):
            ec2.create_vpc(STANDIN_VPC_CIDR)

    def check_function(
        self, resource: RenderedResourceLike, role_arn: str, variables: Mapping[str, str]
    ) -> None:
        """A function naming a DNS Firewall list must name one this program creates, and may write it."""
        list_id = variables.get(ENV_DNS_FIREWALL_DOMAIN_LIST_ID)
        if list_id is None:
            return
        arn = self.domain_lists.get(list_id)
        if arn is None:
            raise WiringError(
                f"{resource.urn}: {ENV_DNS_FIREWALL_DOMAIN_LIST_ID}={list_id!r} "
                "is not a DNS Firewall domain list this program creates"
            )
        if resource.inputs.get("handler", "").endswith(".record"):
            return  # the record function never writes the list
        for action in sorted(DNS_FIREWALL_ACTIONS):
            self.deployer.require_grant(resource, role_arn, action, arn)


def _translated(resource: RenderedResourceLike, create: Callable[[], Any]) -> Any:
    """The emulator's refusal as a deployment failure naming the resource (the provider's error)."""
    try:
        return create()
    except emulator.DnsFirewallError as e:
        raise WiringError(f"{resource.urn}: Route 53 Resolver refused it: {e.code}: {e.message}") from e
