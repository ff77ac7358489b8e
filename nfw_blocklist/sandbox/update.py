"""A second deployment of the same stack (``pulumi up`` after a config change), step by step.

Only what a change of the rule group's capacity or rule order (or of ``enforcement``, which also updates
the DNS Firewall rule) touches is emulated: a rule group whose
capacity (or logical name) changed is replaced (created under a new auto-name, Pulumi's random suffix
drawn again; every reference to the old one is rewritten), inline role policies, function environments,
alarms, dashboards and the firewall policy are updated, the repopulation is invoked again when its
triggers changed, and what the new render no longer has is deleted last, as Pulumi deletes a replaced
resource after every other step. Any other change is refused (``UnsupportedUpdate``), never skipped.

The engine runs independent steps in parallel; the sandbox runs them one at a time in the order that
most favours a race the program must have excluded by a dependency: a firewall policy as soon as
everything it depends on is done, everything else after. After every step it records what the firewall
would enforce (``Observation``): the group the policy references and the ledger's hosts missing from it.

IAM propagation: a role whose inline policy changed is refused (AccessDeniedException) on its next
``denied_calls`` Network Firewall calls, as IAM may refuse a freshly changed policy for seconds.
"""

import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nfw_blocklist.emulator import api as emulator_api
from nfw_blocklist.emulator.errors import AccessDeniedException

from .deploy import (
    DASHBOARD,
    FIREWALL_POLICY,
    FUNCTION,
    INVOCATION,
    METRIC_ALARM,
    ROLE_POLICY,
    RULE_GROUP,
    Deployer,
    RenderedLike,
    RenderedResourceLike,
    physical_name,
    to_api_shape,
)
from .dns_firewall import DnsFirewallDeployer
from .invoker import current_environment
from .resources import DNS_RULE as DNS_FIREWALL_RULE
from .wiring import WiringError

REPLACING_INPUTS = ("capacity", "type")
"""A RuleGroup input whose change makes the provider replace the group (the others are ignored)."""


IGNORED_RULE_GROUP_INPUTS = frozenset({"ruleGroup", "description", "rules", "encryptionConfiguration"})
"""The component's ``ignore_changes`` (``components.rule_group.UPDATED_WITH_TOKEN``)."""


class UnsupportedUpdate(WiringError):
    """The new render changes a resource in a way the sandbox does not emulate."""


@dataclass(frozen=True)
class Observation:
    step: str
    """``<action> <urn>``: what had just been done."""
    enforced_group: str
    """The stateless rule group the firewall policy references."""
    missing_hosts: tuple[str, ...]
    """The ledger's blocked addresses that group does not hold."""


@dataclass
class UpdateReport:
    steps: list[str] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    denied_calls: int = 0
    """Calls refused by the simulated IAM propagation delay."""


@dataclass
class _Resource:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    dependencies: tuple[str, ...]


class IamPropagation:
    """Roles whose inline policy just changed, and how many more calls of theirs IAM refuses."""

    def __init__(self, functions_role: Callable[[str], str | None]) -> None:
        self.functions_role = functions_role
        self.pending: dict[str, int] = {}
        self.denied = 0

    def changed(self, role_name: str, calls: int) -> None:
        self.pending[role_name] = calls

    def check(self, operation: str) -> None:
        function = current_environment().get("AWS_LAMBDA_FUNCTION_NAME")
        role = self.functions_role(function) if function else None
        if role is not None and self.pending.get(role, 0) > 0:
            self.pending[role] -= 1
            self.denied += 1
            raise AccessDeniedException(
                f"User: arn:aws:sts::assumed-role/{role}/{function} is not authorized to perform: "
                f"network-firewall:{operation} (the role's policy changed moments ago)"
            )


class Updater:
    """Applies a new render of a deployed stack to the sandbox (see the module docstring)."""

    def __init__(
        self, deployer: Deployer, old: RenderedLike, ledger_hosts: Callable[[], set[str]], denied_calls: int
    ) -> None:
        self.deployer = deployer
        self.old = {resource.urn: resource for resource in old.resources}
        self.ledger_hosts = ledger_hosts
        self.denied_calls = denied_calls
        self.report = UpdateReport()
        inventory = deployer.inventory
        self.propagation = IamPropagation(
            lambda function: next(
                (
                    inventory.roles.get(spec.role)
                    for spec in inventory.functions.values()
                    if spec.name == function
                ),
                None,
            )
        )

    def apply(self, new: RenderedLike) -> UpdateReport:
        resources = self._with_replacements(new)
        steps = self._plan(resources)
        emulator_api.set_access_check(self.propagation.check)
        try:
            self._run(steps)
        finally:
            emulator_api.set_access_check(None)
        self.report.denied_calls = self.propagation.denied
        return self.report

    # --- planning ----------------------------------------------------------------------------------

    def _with_replacements(self, new: RenderedLike) -> list[_Resource]:
        """The new render's resources, each replaced rule group under a new name and every reference to it
        (ARN and name) rewritten."""
        renames: dict[str, str] = {}
        for resource in new.resources:
            old = self.old.get(resource.urn)
            if resource.type != RULE_GROUP or old is None:
                continue
            if any(resource.inputs.get(key) != old.inputs.get(key) for key in REPLACING_INPUTS):
                name = physical_name(old)
                suffix = hashlib.sha256(f"{resource.urn}#replacement".encode()).hexdigest()[:7]
                renames[name] = f"{name.rsplit('-', 1)[0]}-{suffix}"
        return [
            _Resource(
                resource.type,
                resource.name,
                resource.urn,
                _renamed(resource.inputs, renames),
                _renamed(resource.state, renames),
                tuple(getattr(resource, "dependencies", ())),
            )
            for resource in new.resources
        ]

    def _plan(self, resources: Sequence[_Resource]) -> list[tuple[str, _Resource | RenderedResourceLike]]:
        steps: list[tuple[str, _Resource | RenderedResourceLike]] = []
        new_urns = {resource.urn for resource in resources}
        for resource in resources:
            old = self.old.get(resource.urn)
            if resource.type.startswith("nfw-blocklist:") or resource.type.startswith("pulumi:"):
                continue
            if old is None:
                steps.append(("create", resource))
            elif resource.type == RULE_GROUP and physical_name(old) != physical_name(resource):
                steps.append(("create", resource))
                steps.append(("delete", old))
            elif _comparable(old.inputs, resource) != _comparable(resource.inputs, resource):
                steps.append(("update", resource))
        steps.extend(("delete", old) for urn, old in self.old.items() if urn not in new_urns)
        return steps

    def _run(self, steps: list[tuple[str, _Resource | RenderedResourceLike]]) -> None:
        pending = [step for step in steps if step[0] != "delete"]
        done: set[str] = set()
        waiting_urns = {resource.urn for _, resource in pending}
        while pending:
            ready = [
                step
                for step in pending
                if all(
                    dependency in done or dependency not in waiting_urns
                    for dependency in getattr(step[1], "dependencies", ())
                )
            ]
            if not ready:
                raise WiringError(f"the update's steps wait on each other: {[s[1].urn for s in pending]}")
            # The race the program must exclude: a policy moves as soon as nothing holds it back.
            action, resource = min(ready, key=lambda step: step[1].type != FIREWALL_POLICY)
            self._step(action, resource)
            pending.remove((action, resource))
            done.add(resource.urn)
        for action, resource in steps:
            if action == "delete":
                self._step(action, resource)

    # --- steps -------------------------------------------------------------------------------------

    def _step(self, action: str, resource: Any) -> None:
        deployer = self.deployer
        if action == "create" and resource.type == RULE_GROUP:
            deployer._rule_group(resource)
        elif action == "delete" and resource.type == RULE_GROUP:
            arn = str(resource.state.get("arn"))
            deployer.clients("network-firewall").delete_rule_group(RuleGroupArn=arn)
            deployer.inventory.rule_groups.pop(arn, None)
        elif action == "update" and resource.type == ROLE_POLICY:
            deployer._role_policy(resource)
            role = deployer._role_name(resource, resource.inputs.get("role"))
            self.propagation.changed(role, self.denied_calls)
        elif action == "update" and resource.type == FUNCTION:
            self._function(resource)
        elif action == "update" and resource.type == INVOCATION:
            deployer._invocation(resource)
        elif action == "update" and resource.type == FIREWALL_POLICY:
            client = deployer.clients("network-firewall")
            arn = str(resource.state.get("arn"))
            token = client.describe_firewall_policy(FirewallPolicyArn=arn)["UpdateToken"]
            client.update_firewall_policy(
                FirewallPolicyArn=arn,
                UpdateToken=token,
                FirewallPolicy=to_api_shape(resource.inputs.get("firewallPolicy") or {}),
            )
        elif action == "update" and resource.type == METRIC_ALARM:
            deployer._metric_alarm(resource)
        elif action == "update" and resource.type == DASHBOARD:
            deployer._dashboard(resource)
        elif action == "update" and resource.type == DNS_FIREWALL_RULE:
            DnsFirewallDeployer(deployer).update_rule(resource)
        else:
            raise UnsupportedUpdate(
                f"{resource.urn}: the sandbox does not emulate a {action} of {resource.type}"
            )
        step = f"{action} {resource.urn}"
        self.report.steps.append(step)
        self._observe(step)

    def _function(self, resource: _Resource) -> None:
        """UpdateFunctionConfiguration: the new environment, for the next invocation."""
        name = physical_name(resource)
        variables = {
            str(k): str(v)
            for k, v in ((resource.inputs.get("environment") or {}).get("variables") or {}).items()
        }
        self.deployer._check_environment(resource, variables)
        self.deployer.clients("lambda").update_function_configuration(
            FunctionName=name, Environment={"Variables": variables}
        )
        inventory = self.deployer.inventory
        for arn, spec in list(inventory.functions.items()):
            if spec.name == name:
                updated = replace(spec, environment=variables)
                self.deployer.lambdas.register(updated)
                inventory.functions[arn] = updated

    def _observe(self, step: str) -> None:
        policies = list(self.deployer.inventory.firewall_policies)
        if not policies:
            return
        client = self.deployer.clients("network-firewall")
        document = client.describe_firewall_policy(FirewallPolicyArn=policies[0])["FirewallPolicy"]
        [reference] = document["StatelessRuleGroupReferences"]
        group = client.describe_rule_group(RuleGroupArn=reference["ResourceArn"])["RuleGroup"]
        held = {
            address["AddressDefinition"]
            for rule in group["RulesSource"]["StatelessRulesAndCustomActions"]["StatelessRules"]
            for setting in ("Sources", "Destinations")
            for address in rule["RuleDefinition"]["MatchAttributes"].get(setting) or []
        }
        missing = tuple(sorted(self.ledger_hosts() - held))
        self.report.observations.append(Observation(step, reference["ResourceArn"], missing))


def _renamed(value: Any, renames: Mapping[str, str]) -> Any:
    if not renames:
        return copy.deepcopy(value)
    text = json.dumps(value)
    for old, new in renames.items():
        text = text.replace(old, new)
    return json.loads(text)


def _comparable(inputs: Mapping[str, Any], resource: _Resource) -> Any:
    """The inputs as the engine diffs them: without what ``ignore_changes`` hides (the rule groups')."""
    if resource.type == RULE_GROUP:
        return {
            key: value for key, value in inputs.items() if key not in {"ruleGroup", "description", "rules"}
        }
    return inputs
