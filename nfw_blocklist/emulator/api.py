"""The rule-group operations grafted onto moto's network-firewall service, and their installation.

moto's `NetworkFirewallResponse` dispatches on the X-Amz-Target operation name (CreateRuleGroup ->
`create_rule_group`), both in-process under `mock_aws()` and in the standalone server, so adding methods
to that class (and matching ones to `NetworkFirewallBackend`) is all it takes. Responses are plain dicts
shaped like botocore's output shapes; moto serialises them through the same model boto3 parses with.
"""

import threading
from collections.abc import Callable
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.networkfirewall.models import NetworkFirewallBackend, networkfirewall_backends
from moto.networkfirewall.responses import NetworkFirewallResponse
from moto.utilities.utils import get_partition

from .engine import FIREWALL
from .errors import EmulatorError, InvalidRequestException
from .faults import Counters, Decision, FaultPlan
from .store import RuleGroupStore, RuleGroupVersion, StoredRuleGroup

DEFAULT_REGION = "us-east-1"

_STORE_ATTRIBUTE = "_nfw_blocklist_rule_groups"
_access_check: Callable[[str], None] | None = None
_attach_lock = threading.Lock()
_install_lock = threading.Lock()


def store_for(backend: Any) -> RuleGroupStore:
    """The backend's rule-group store, created on first use.

    It lives in the backend's `__dict__`, so moto's reset (the end of every `mock_aws()`) discards rule
    groups, faults and counters with the rest of the backend's state.
    """
    store: RuleGroupStore | None = backend.__dict__.get(_STORE_ATTRIBUTE)
    if store is None:
        with _attach_lock:
            store = backend.__dict__.get(_STORE_ATTRIBUTE)
            if store is None:
                store = RuleGroupStore(
                    backend.account_id, backend.region_name, get_partition(backend.region_name)
                )
                backend.__dict__[_STORE_ATTRIBUTE] = store
    return store


def set_access_check(check: Callable[[str], None] | None) -> None:
    """Call ``check(operation)`` before every emulated Network Firewall operation (None: no check); it
    raises an ``EmulatorError`` (AccessDeniedException) to refuse the call. The sandbox simulates IAM's
    propagation delay with it."""
    global _access_check
    _access_check = check


def faults(region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT_ID) -> FaultPlan:
    """The fault plan of one account and region (call `.set(...)` on it; see FaultPlan.set)."""
    return store_for(networkfirewall_backends[account][region]).faults


def counters(region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT_ID) -> Counters:
    """The call/conflict counters of one account and region (`.snapshot()`, `.reset()`)."""
    return store_for(networkfirewall_backends[account][region]).counters


class _BackendMethods:
    """Methods copied onto NetworkFirewallBackend: the Python face of the store, for moto-style callers."""

    def create_rule_group(self, **kwargs: Any) -> StoredRuleGroup:
        return store_for(self).create(**kwargs)

    def describe_rule_group(
        self, arn: str | None = None, name: str | None = None, rule_group_type: str | None = None
    ) -> StoredRuleGroup:
        return store_for(self).get(arn=arn, name=name, rule_group_type=rule_group_type)

    def update_rule_group(self, group: StoredRuleGroup, **kwargs: Any) -> RuleGroupVersion:
        return store_for(self).update(group, **kwargs)

    def list_rule_groups(
        self,
        rule_group_type: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[StoredRuleGroup], str | None]:
        return store_for(self).list_page(
            rule_group_type=rule_group_type, max_results=max_results, next_token=next_token
        )

    def delete_rule_group(
        self, arn: str | None = None, name: str | None = None, rule_group_type: str | None = None
    ) -> StoredRuleGroup:
        store = store_for(self)
        return store.delete(store.get(arn=arn, name=name, rule_group_type=rule_group_type))


class _ResponseMethods:
    """Methods copied onto NetworkFirewallResponse, one per emulated operation."""

    networkfirewall_backend: NetworkFirewallBackend
    serialized: Callable[[ActionResult], tuple[int, dict[str, Any], Any]]
    _get_param: Callable[..., Any]

    def _rule_group_call(
        self, operation: str, act: Callable[[RuleGroupStore, Decision], dict[str, Any]]
    ) -> Any:
        """Run one operation through the fault plan; errors keep their own HTTP status (500 included)."""
        store = store_for(self.networkfirewall_backend)
        try:
            if _access_check is not None:
                _access_check(operation)
            decision = store.faults.admit(operation, store.counters)
            return ActionResult(act(store, decision))
        except EmulatorError as error:
            _, headers, body = self.serialized(ActionResult(error))
            headers["status"] = error.http_status
            return body, headers

    def _rule_group_target(self, store: RuleGroupStore) -> StoredRuleGroup:
        return store.get(
            arn=self._get_param("RuleGroupArn"),
            name=self._get_param("RuleGroupName"),
            rule_group_type=self._get_param("Type"),
        )

    def create_rule_group(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            group = store.create(
                name=self._get_param("RuleGroupName"),
                rule_group_type=self._get_param("Type"),
                capacity=self._get_param("Capacity"),
                rule_group=self._requested_rule_group(self._get_param("Type")),
                description=self._get_param("Description"),
                tags=self._get_param("Tags"),
                dry_run=bool(self._get_param("DryRun", False)),
            )
            return {"UpdateToken": group.version.update_token, "RuleGroupResponse": group.response()}

        return self._rule_group_call("CreateRuleGroup", act)

    def describe_rule_group(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            group = self._rule_group_target(store)
            version = group.version  # one read: token and content always belong together
            return {
                "UpdateToken": version.update_token,
                _content_key(group.type): version.rule_group,
                "RuleGroupResponse": group.response(version),
            }

        return self._rule_group_call("DescribeRuleGroup", act)

    def update_rule_group(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            group = self._rule_group_target(store)
            version = store.update(
                group,
                update_token=self._get_param("UpdateToken"),
                rule_group=self._requested_rule_group(group.type),
                description=self._get_param("Description"),
                dry_run=bool(self._get_param("DryRun", False)),
                inject_conflict=decision.token_conflict,
            )
            return {"UpdateToken": version.update_token, "RuleGroupResponse": group.response(version)}

        return self._rule_group_call("UpdateRuleGroup", act)

    def list_rule_groups(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            if self._get_param("Scope") == "MANAGED":
                return {"RuleGroups": []}  # no AWS managed rule groups in the emulator
            page, next_token = store.list_page(
                rule_group_type=self._get_param("Type"),
                max_results=self._get_param("MaxResults"),
                next_token=self._get_param("NextToken"),
            )
            result: dict[str, Any] = {"RuleGroups": [{"Name": g.name, "Arn": g.arn} for g in page]}
            if next_token:
                result["NextToken"] = next_token
            return result

        return self._rule_group_call("ListRuleGroups", act)

    def delete_rule_group(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            group = store.delete(self._rule_group_target(store))
            return {"RuleGroupResponse": group.response(status="DELETING")}

        return self._rule_group_call("DeleteRuleGroup", act)

    def _requested_rule_group(self, rule_group_type: Any) -> Any:
        """The group's content from the member of its type: ``FirewallRuleGroup`` for FIREWALL, ``RuleGroup``
        (or the ``Rules`` string) for the Classic types; content in another type's member is refused, so a
        Classic group never receives firewall-engine rules, nor the reverse."""
        given = {key: self._get_param(key) for key in ("RuleGroup", "FirewallRuleGroup", "IpsRuleGroup")}
        wanted = _content_key(rule_group_type)
        misplaced = sorted(key for key, value in given.items() if value is not None and key != wanted)
        if misplaced:
            raise InvalidRequestException(
                f"{', '.join(misplaced)} cannot describe a {rule_group_type} rule group: use {wanted}"
            )
        if wanted == "FirewallRuleGroup":
            if self._get_param("Rules") is not None:
                raise InvalidRequestException(
                    "Rules applies to Classic stateful rule groups: use FirewallRuleGroup"
                )
            return given[wanted]
        return _requested_rule_group(given["RuleGroup"], self._get_param("Rules"))

    def create_firewall_policy_v2(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            policy = store.policies_v2.create(
                name=self._get_param("FirewallPolicyV2Name"),
                firewall_policy=self._get_param("FirewallPolicyV2"),
                description=self._get_param("Description"),
                dry_run=bool(self._get_param("DryRun", False)),
            )
            return {"UpdateToken": policy.update_token, "FirewallPolicyV2Response": policy.response()}

        return self._rule_group_call("CreateFirewallPolicyV2", act)

    def _policy_v2_target(self, store: RuleGroupStore) -> Any:
        return store.policies_v2.get(
            arn=self._get_param("FirewallPolicyV2Arn"), name=self._get_param("FirewallPolicyV2Name")
        )

    def describe_firewall_policy_v2(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            policy = self._policy_v2_target(store)
            return {
                "UpdateToken": policy.update_token,
                "FirewallPolicyV2Response": policy.response(),
                "FirewallPolicyV2": policy.firewall_policy,
            }

        return self._rule_group_call("DescribeFirewallPolicyV2", act)

    def update_firewall_policy_v2(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            policy = store.policies_v2.update(
                self._policy_v2_target(store),
                update_token=self._get_param("UpdateToken"),
                firewall_policy=self._get_param("FirewallPolicyV2"),
                dry_run=bool(self._get_param("DryRun", False)),
            )
            return {"UpdateToken": policy.update_token, "FirewallPolicyV2Response": policy.response()}

        return self._rule_group_call("UpdateFirewallPolicyV2", act)

    def delete_firewall_policy_v2(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            policy = store.policies_v2.delete(self._policy_v2_target(store))
            return {"FirewallPolicyV2Response": policy.response(status="DELETING")}

        return self._rule_group_call("DeleteFirewallPolicyV2", act)

    def start_flow_flush(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            operation = store.flows.start_flush(
                firewall_arn=self._get_param("FirewallArn"),
                known_firewalls=list(self.networkfirewall_backend.firewalls),
                filters=self._get_param("FlowFilters"),
                availability_zone=self._get_param("AvailabilityZone"),
                availability_zone_id=self._get_param("AvailabilityZoneId"),
                minimum_flow_age_seconds=self._get_param("MinimumFlowAgeInSeconds"),
            )
            return {
                "FirewallArn": operation.firewall_arn,
                "FlowOperationId": operation.operation_id,
                "FlowOperationStatus": operation.status,
            }

        return self._rule_group_call("StartFlowFlush", act)

    def describe_flow_operation(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            operation = store.flows.get(self._get_param("FirewallArn"), self._get_param("FlowOperationId"))
            return operation.describe()

        return self._rule_group_call("DescribeFlowOperation", act)

    def _policy_target(self, store: RuleGroupStore) -> Any:
        return store.policies.get(
            arn=self._get_param("FirewallPolicyArn"), name=self._get_param("FirewallPolicyName")
        )

    def create_firewall_policy(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            policy = store.policies.create(
                name=self._get_param("FirewallPolicyName"),
                firewall_policy=self._get_param("FirewallPolicy"),
                description=self._get_param("Description"),
            )
            return {"UpdateToken": policy.update_token, "FirewallPolicyResponse": policy.response()}

        return self._rule_group_call("CreateFirewallPolicy", act)

    def describe_firewall_policy(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            policy = self._policy_target(store)
            return {
                "UpdateToken": policy.update_token,
                "FirewallPolicyResponse": policy.response(),
                "FirewallPolicy": policy.firewall_policy,
            }

        return self._rule_group_call("DescribeFirewallPolicy", act)

    def update_firewall_policy(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            policy = store.policies.update(
                self._policy_target(store),
                update_token=self._get_param("UpdateToken"),
                firewall_policy=self._get_param("FirewallPolicy"),
            )
            return {"UpdateToken": policy.update_token, "FirewallPolicyResponse": policy.response()}

        return self._rule_group_call("UpdateFirewallPolicy", act)

    def delete_firewall_policy(self) -> Any:
        def act(store: RuleGroupStore, decision: Decision) -> dict[str, Any]:
            policy = store.policies.delete(self._policy_target(store))
            return {"FirewallPolicyResponse": policy.response(status="DELETING")}

        return self._rule_group_call("DeleteFirewallPolicy", act)


def _requested_rule_group(rule_group: Any, rules: Any) -> Any:
    """AWS accepts a stateful group's Suricata rules either inside RuleGroup or as the `Rules` string."""
    if rule_group is None and isinstance(rules, str):
        return {"RulesSource": {"RulesString": rules}}
    return rule_group


def _content_key(rule_group_type: Any) -> str:
    """The request/response member that holds a group's content, by the group's type."""
    return {FIREWALL: "FirewallRuleGroup", "IPS": "IpsRuleGroup"}.get(str(rule_group_type), "RuleGroup")


_OPERATION_METHODS = (
    "create_rule_group",
    "describe_rule_group",
    "update_rule_group",
    "list_rule_groups",
    "delete_rule_group",
)
_POLICY_METHODS = (
    "create_firewall_policy",
    "describe_firewall_policy",
    "update_firewall_policy",
    "delete_firewall_policy",
    "create_firewall_policy_v2",
    "describe_firewall_policy_v2",
    "update_firewall_policy_v2",
    "delete_firewall_policy_v2",
    "start_flow_flush",
    "describe_flow_operation",
)


from .serialized import serialize_moto_services  # noqa: E402


def install() -> None:
    """Teach moto's network-firewall service the rule-group operations. Idempotent and thread-safe.

    Call it before the first request (in-process or before starting a ThreadedMotoServer); it patches
    classes, so every backend, existing or future, gains the operations. Security Hub's
    BatchUpdateFindings (``emulator.securityhub``) is installed with them.
    """
    from . import securityhub, securityhub_v2

    securityhub.install()
    securityhub_v2.install()
    with _install_lock:
        serialize_moto_services()
        for name in (
            "_rule_group_call",
            "_rule_group_target",
            "_policy_target",
            "_policy_v2_target",
            "_requested_rule_group",
            *_OPERATION_METHODS,
            *_POLICY_METHODS,
        ):
            setattr(NetworkFirewallResponse, name, getattr(_ResponseMethods, name))
        for name in _OPERATION_METHODS:
            setattr(NetworkFirewallBackend, name, getattr(_BackendMethods, name))


def installed() -> bool:
    """Whether `install()` has run in this process."""
    return (
        getattr(NetworkFirewallResponse, "describe_rule_group", None) is _ResponseMethods.describe_rule_group
    )
