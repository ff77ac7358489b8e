"""Creates in moto what a render recorded, resource by resource, from the recorded inputs.

Nothing here knows what the program "should" contain: every name, key schema, environment,
definition and pattern comes from the render, so a mistake in a component is deployed as is and
shows up when the sandbox runs (or, for references to things that do not exist, here, as a
``WiringError`` naming the URN). Every physical name is checked as AWS checks it at create time
(length, characters, not taken in its account or region: ``limits.NameRegistry``), and
``aws:lambda/invocation:Invocation`` resources run once everything else exists.
"""

import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from components.aws_limits import (
    EVENT_PATTERN_CHARS,
    IAM_MANAGED_POLICY_CHARS,
    IAM_ROLE_INLINE_POLICIES_CHARS,
    IAM_ROLE_TRUST_POLICY_CHARS,
    LAMBDA_ENVIRONMENT_BYTES,
    NAME_RULES,
    environment_size,
    iam_policy_chars,
)
from components.dashboard import MetricReference, body_problems, referenced_metrics
from handlers import settings as env_contract

from .accounts import Accounts
from .buses import BusBook, EventBus, PolicyRefused, parse_bus_arn, parse_bus_policy
from .dns_firewall import DnsFirewallDeployer
from .events import EventRouter, Scheduler, Target, TooManyTargets, UnsupportedTarget
from .invoker import FunctionSpec, HandlerImportError, InProcessLambdas
from .limits import LimitExceeded, NameRegistry
from .monitoring import KnownResources, key_lets_cloudwatch_publish
from .resources import (
    ACTION_TARGET,
    DASHBOARD,
    DEPLOY_ORDER,
    DYNAMIC,
    EVENT_BUS,
    EVENT_BUS_POLICY,
    EVENT_RULE,
    EVENT_TARGET,
    FIREWALL_POLICY,
    FUNCTION,
    INVOCATION,
    KMS_KEY,
    LOG_GROUP,
    METRIC_ALARM,
    POLICY,
    QUEUE,
    ROLE,
    ROLE_POLICY,
    ROLE_POLICY_ATTACHMENT,
    RULE_GROUP,
    SCHEDULE,
    STATE_MACHINE,
    TABLE,
    TOPIC,
    TOPIC_SUBSCRIPTION,
    RenderedLike,
    RenderedResourceLike,
    physical_name,
)
from .wiring import PolicyBook, WiringError, state_names, task_references

LOG = logging.getLogger(__name__)
ACTION_TARGET_ID = re.compile(r"[A-Za-z0-9]{1,20}")
ACTION_TARGET_NAME_MAX = 20

_PASCAL_EXCEPTIONS = {"ipSets": "IPSets", "ipSet": "IPSet", "definitions": "Definition"}


def to_api_shape(value: Any) -> Any:
    """Pulumi's camelCase input shape -> the service API's PascalCase shape, recursively."""
    if isinstance(value, Mapping):
        return {
            _PASCAL_EXCEPTIONS.get(key, key[:1].upper() + key[1:]): to_api_shape(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [to_api_shape(item) for item in value]
    return value


def _rule_variables_as_map(rule_group: dict[str, Any]) -> dict[str, Any]:
    """Pulumi lists rule variables as ``[{key, ipSet}]``; the API takes a map from name to set."""
    variables = rule_group.get("RuleVariables")
    if not isinstance(variables, Mapping):
        return rule_group
    converted = dict(variables)
    for kind, member in (("IPSets", "IPSet"), ("PortSets", "PortSet")):
        entries = variables.get(kind)
        if isinstance(entries, list):
            converted[kind] = {entry["Key"]: entry[member] for entry in entries}
    return {**rule_group, "RuleVariables": converted}


def placeholder_zip() -> bytes:
    """Code for CreateFunction: never run, the sandbox calls the recorded handler in-process."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "nfw-blocklist sandbox: invocations run in-process\n")
    return buffer.getvalue()


@dataclass
class StateMachineInfo:
    logical_name: str
    name: str
    arn: str
    definition: dict[str, Any]
    states: frozenset[str]


@dataclass
class Inventory:
    """What the sandbox created, by kind; the names and ARNs every check and accessor uses."""

    roles: dict[str, str] = field(default_factory=dict)
    """Role ARN -> role name."""
    trust: dict[str, Any] = field(default_factory=dict)
    """Role ARN -> its trust (assume role) policy, parsed."""
    policies: PolicyBook = field(default_factory=PolicyBook)
    """What each role (by name) is allowed, for checks made when something runs (bus targets)."""
    tables: dict[str, str] = field(default_factory=dict)
    """Table name -> URN."""
    topics: dict[str, str] = field(default_factory=dict)
    """Topic ARN -> URN."""
    queues: dict[str, str] = field(default_factory=dict)
    """Queue URL -> URN."""
    queue_urls: dict[str, str] = field(default_factory=dict)
    """Queue ARN -> URL."""
    buses: dict[str, str] = field(default_factory=dict)
    """Event bus ARN -> URN (the buses this render creates)."""
    rules: dict[str, str] = field(default_factory=dict)
    """Event rule ARN -> URN."""
    rule_groups: dict[str, str] = field(default_factory=dict)
    """Rule group ARN -> name."""
    firewall_policies: dict[str, str] = field(default_factory=dict)
    """Firewall policy ARN -> name."""
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    """Function ARN -> spec."""
    state_machines: dict[str, StateMachineInfo] = field(default_factory=dict)
    """State machine ARN -> info."""
    log_groups: dict[str, str] = field(default_factory=dict)
    """Log group name -> URN."""
    action_targets: dict[str, dict[str, str]] = field(default_factory=dict)
    """Security Hub custom action ARN -> its ``Name``, ``Description`` and ``Id``."""
    alarms: dict[str, str] = field(default_factory=dict)
    """Alarm name -> URN."""
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Dashboard name -> its body (parsed)."""
    invocations: dict[str, Any] = field(default_factory=dict)
    """Invocation URN -> what the function returned (parsed JSON)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(URN, why) of resources the sandbox does not emulate."""


@dataclass
class Deployer:
    """Creates each rendered resource in moto, then checks that the references between them resolve."""

    clients: Callable[[str], Any]
    region: str
    account: str
    lambdas: InProcessLambdas
    router: EventRouter
    scheduler: Scheduler
    strict_iam: bool = True
    names: NameRegistry = field(default_factory=NameRegistry)
    """Physical names taken in the sandbox's account; shared by every render deployed into it."""
    buses: BusBook = field(default_factory=BusBook)
    """Every event bus of the sandbox (any account and region); shared by every render."""
    accounts: Accounts | None = None
    """Role credentials for the functions (the Lambda runtime's ``AWS_ACCESS_KEY_ID``...), if given."""
    inventory: Inventory = field(default_factory=Inventory)
    policies: PolicyBook = field(default_factory=PolicyBook)
    iam_gaps: list[str] = field(default_factory=list)
    """Grants a role lacks (only logged when ``strict_iam`` is off)."""
    _role_ids: dict[str, str] = field(default_factory=dict)
    _managed_policies: dict[str, str] = field(default_factory=dict)
    _inline_chars: dict[str, dict[str, int]] = field(default_factory=dict)
    """Role name -> its inline policies' names -> the characters IAM counts of each."""
    _pending_grants: list[tuple[str, str, str, str]] = field(default_factory=list)
    _topic_keys: dict[str, str] = field(default_factory=dict)
    """Topic ARN -> its kmsMasterKeyId as rendered."""
    _key_policies: dict[str, Any] = field(default_factory=dict)
    """KMS key ARN (and id) -> its rendered policy (None: the default key policy)."""

    def deploy(self, rendered: RenderedLike) -> Inventory:
        handlers_by_type: dict[str, Callable[[RenderedResourceLike], None]] = {
            ROLE: self._role,
            POLICY: self._policy,
            ROLE_POLICY: self._role_policy,
            ROLE_POLICY_ATTACHMENT: self._attachment,
            TABLE: self._table,
            TOPIC: self._topic,
            QUEUE: self._queue,
            TOPIC_SUBSCRIPTION: self._subscription,
            RULE_GROUP: self._rule_group,
            FIREWALL_POLICY: self._firewall_policy,
            DYNAMIC: self._dynamic,
            LOG_GROUP: self._log_group,
            FUNCTION: self._function,
            STATE_MACHINE: self._state_machine,
            EVENT_BUS: self._event_bus,
            EVENT_BUS_POLICY: self._event_bus_policy,
            EVENT_RULE: self._event_rule,
            EVENT_TARGET: self._event_target,
            SCHEDULE: self._schedule,
            METRIC_ALARM: self._metric_alarm,
            DASHBOARD: self._dashboard,
            ACTION_TARGET: self._action_target,
        }
        self._dns_firewall = DnsFirewallDeployer(self)
        handlers_by_type.update(self._dns_firewall.handlers())
        self._dns_firewall.check_priorities(rendered.resources)
        self._check_policy_sizes(rendered)
        self._claim_names(rendered)
        for resource in rendered.resources:
            if resource.type == KMS_KEY:
                for reference in (
                    resource.state.get("arn"),
                    resource.state.get("keyId"),
                    resource.state.get("id"),
                ):
                    if reference:
                        self._key_policies[str(reference)] = resource.inputs.get("policy")
        for type_ in DEPLOY_ORDER:
            for resource in rendered.resources:
                if resource.type == type_:
                    handlers_by_type[type_](resource)
        for resource in rendered.resources:
            if resource.type.startswith("aws:") and resource.type not in {*handlers_by_type, INVOCATION}:
                # Not emulated; its name is claimed all the same, as AWS would create it.
                self.inventory.skipped.append((resource.urn, f"{resource.type} is not emulated"))
        self.inventory.policies = self.policies
        self._check_iam()
        for resource in rendered.resources:
            if resource.type == INVOCATION:
                self._invocation(resource)
        return self.inventory

    def _check_policy_sizes(self, rendered: RenderedLike) -> None:
        """IAM's document quotas, for every policy before anything is created (moto checks none): a
        role's trust policy, a managed policy, and all inline policies of one role together."""
        roles = _role_references(rendered)
        inline = {role: dict(sizes) for role, sizes in self._inline_chars.items()}
        for resource in rendered.resources:
            if resource.type == ROLE:
                _check_trust_policy(resource)
            elif resource.type == POLICY:
                _check_managed_policy(resource)
            elif resource.type == ROLE_POLICY:
                reference = str(resource.inputs.get("role", ""))
                role = roles.get(reference, reference)
                sizes = inline.setdefault(role, {})
                sizes[physical_name(resource)] = _inline_policy_chars(resource, role, sizes)

    def _claim_names(self, rendered: RenderedLike) -> None:
        """AWS's checks at create time, for every named resource before any is created: the name's
        length and characters, and that nobody holds it. A refused render creates nothing and
        holds no name, so the sandbox it was deployed into carries on unchanged."""
        roles = _role_references(rendered)
        claimed: list[tuple[str, ...]] = []
        try:
            for resource in rendered.resources:
                if resource.type not in NAME_RULES:
                    continue
                role = str(resource.inputs.get("role", ""))
                key = self.names.claim(
                    resource.type,
                    physical_name(resource),
                    resource.urn,
                    account=self.account,
                    region=self.region,
                    within=roles.get(role, role) if resource.type == ROLE_POLICY else "",
                )
                if key is not None:
                    claimed.append(key)
        except WiringError:
            self.names.release(claimed)
            raise

    def _action_target(self, resource: RenderedResourceLike) -> None:
        """A Security Hub custom action, as CreateActionTarget accepts it: an ``Id`` of 1-20 alphanumerics,
        unique in the account and region; a ``Name`` of fewer than 20 characters (the user guide's
        reading, stricter than the API reference's "up to 20"); a ``Description`` that is not blank."""
        identifier = str(resource.inputs.get("identifier") or "")
        name, description = (
            str(resource.inputs.get("name") or ""),
            str(resource.inputs.get("description") or ""),
        )
        if not ACTION_TARGET_ID.fullmatch(identifier):
            raise WiringError(f"{resource.urn}: custom action Id {identifier!r} is not 1-20 alphanumerics")
        if not name.strip() or len(name) >= ACTION_TARGET_NAME_MAX:
            raise WiringError(f"{resource.urn}: custom action Name {name!r} must be 1-19 characters")
        if not description.strip():
            raise WiringError(f"{resource.urn}: a custom action needs a Description")
        arn = f"arn:aws:securityhub:{self.region}:{self.account}:action/custom/{identifier}"
        if arn in self.inventory.action_targets:
            raise WiringError(f"{resource.urn}: ResourceConflictException: custom action {identifier} exists")
        self._expect_arn(resource, arn)
        self.inventory.action_targets[arn] = {"Name": name, "Description": description, "Id": identifier}

    # --- IAM -------------------------------------------------------------------------------------

    def _role(self, resource: RenderedResourceLike) -> None:
        _check_trust_policy(resource)
        name = physical_name(resource)
        assume = resource.inputs.get("assumeRolePolicy") or "{}"
        assume_text = assume if isinstance(assume, str) else json.dumps(assume)
        created = self.clients("iam").create_role(
            RoleName=name, AssumeRolePolicyDocument=assume_text, Path=resource.inputs.get("path") or "/"
        )["Role"]
        self._expect_arn(resource, created["Arn"])
        self.inventory.roles[created["Arn"]] = name
        self.inventory.trust[created["Arn"]] = json.loads(assume_text)
        self._role_ids[str(resource.state.get("id") or name)] = name
        self._role_ids[name] = name
        self._role_ids[created["Arn"]] = name

    def _role_name(self, resource: RenderedResourceLike, reference: Any) -> str:
        name = self._role_ids.get(str(reference))
        if name is None:
            raise WiringError(f"{resource.urn}: role {reference!r} is not a role this program creates")
        return name

    def _policy(self, resource: RenderedResourceLike) -> None:
        _check_managed_policy(resource)
        document = resource.inputs.get("policy") or "{}"
        text = document if isinstance(document, str) else json.dumps(document)
        created = self.clients("iam").create_policy(PolicyName=physical_name(resource), PolicyDocument=text)[
            "Policy"
        ]
        self._expect_arn(resource, created["Arn"])
        self._managed_policies[created["Arn"]] = text

    def _role_policy(self, resource: RenderedResourceLike) -> None:
        role = self._role_name(resource, resource.inputs.get("role"))
        document = resource.inputs.get("policy") or "{}"
        text = document if isinstance(document, str) else json.dumps(document)
        policy_name = physical_name(resource)
        # A deployment's policies were measured together before; an update's new document is measured here.
        sizes = self._inline_chars.setdefault(role, {})
        chars = _inline_policy_chars(resource, role, sizes)
        self.clients("iam").put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=text)
        sizes[policy_name] = chars
        self.policies.add_policy(role, text)

    def _attachment(self, resource: RenderedResourceLike) -> None:
        role = self._role_name(resource, resource.inputs.get("role"))
        policy_arn = str(resource.inputs.get("policyArn", ""))
        if policy_arn in self._managed_policies:
            self.clients("iam").attach_role_policy(RoleName=role, PolicyArn=policy_arn)
            self.policies.add_policy(role, self._managed_policies[policy_arn])
        else:
            # AWS-managed policies (basic execution role...) are not loaded in moto; only note them.
            self.policies.unresolved.setdefault(role, []).append(policy_arn)

    # --- data and messaging ----------------------------------------------------------------------

    def _table(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        name = physical_name(resource)
        billing = inputs.get("billingMode") or "PROVISIONED"
        throughput = {
            "ReadCapacityUnits": int(inputs.get("readCapacity") or 1),
            "WriteCapacityUnits": int(inputs.get("writeCapacity") or 1),
        }
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs.get("attributes", [])
            ],
            "KeySchema": _key_schema(inputs.get("hashKey"), inputs.get("rangeKey")),
            "BillingMode": billing,
        }
        if billing == "PROVISIONED":
            request["ProvisionedThroughput"] = throughput
        indexes = []
        for index in inputs.get("globalSecondaryIndexes") or []:
            projection: dict[str, Any] = {"ProjectionType": index.get("projectionType", "ALL")}
            if index.get("nonKeyAttributes"):
                projection["NonKeyAttributes"] = index["nonKeyAttributes"]
            spec: dict[str, Any] = {
                "IndexName": index["name"],
                "KeySchema": _index_key_schema(index),
                "Projection": projection,
            }
            if billing == "PROVISIONED":
                spec["ProvisionedThroughput"] = throughput
            indexes.append(spec)
        if indexes:
            request["GlobalSecondaryIndexes"] = indexes
        dynamodb = self.clients("dynamodb")
        created = dynamodb.create_table(**request)["TableDescription"]
        self._expect_arn(resource, created["TableArn"])
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
            )
        self.inventory.tables[name] = resource.urn

    def _topic(self, resource: RenderedResourceLike) -> None:
        name = physical_name(resource)
        attributes = {"FifoTopic": "true"} if resource.inputs.get("fifoTopic") else {}
        arn = self.clients("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        self._expect_arn(resource, arn)
        self.inventory.topics[arn] = resource.urn
        if resource.inputs.get("kmsMasterKeyId"):
            self._topic_keys[arn] = str(resource.inputs["kmsMasterKeyId"])

    def _queue(self, resource: RenderedResourceLike) -> None:
        name = physical_name(resource)
        attributes = {"FifoQueue": "true"} if resource.inputs.get("fifoQueue") else {}
        sqs = self.clients("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._expect_arn(resource, arn)
        self.inventory.queues[url] = resource.urn
        self.inventory.queue_urls[arn] = url

    def _subscription(self, resource: RenderedResourceLike) -> None:
        topic = str(resource.inputs.get("topic", ""))
        if topic not in self.inventory.topics:
            raise WiringError(f"{resource.urn}: subscribes to {topic!r}, which this program does not create")
        self.clients("sns").subscribe(
            TopicArn=topic,
            Protocol=resource.inputs.get("protocol", "email"),
            Endpoint=resource.inputs.get("endpoint", ""),
        )

    def _rule_group(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        name = physical_name(resource)
        request: dict[str, Any] = {
            "RuleGroupName": name,
            "Type": inputs.get("type", "STATELESS"),
            "Capacity": int(inputs["capacity"]),
        }
        if inputs.get("ruleGroup"):
            request["RuleGroup"] = _rule_variables_as_map(to_api_shape(inputs["ruleGroup"]))
        if inputs.get("rules"):
            request["Rules"] = inputs["rules"]
        if inputs.get("description"):
            request["Description"] = inputs["description"]
        created = self.clients("network-firewall").create_rule_group(**request)["RuleGroupResponse"]
        self._expect_arn(resource, created["RuleGroupArn"])
        self.inventory.rule_groups[created["RuleGroupArn"]] = name

    def _firewall_policy(self, resource: RenderedResourceLike) -> None:
        """CreateFirewallPolicy: the emulator refuses what Network Firewall refuses of the references (a
        group that does not exist, of the wrong engine, or of another stateful rule order)."""
        name = physical_name(resource)
        request: dict[str, Any] = {
            "FirewallPolicyName": name,
            "FirewallPolicy": to_api_shape(resource.inputs.get("firewallPolicy") or {}),
        }
        if resource.inputs.get("description"):
            request["Description"] = resource.inputs["description"]
        client = self.clients("network-firewall")
        try:
            created = client.create_firewall_policy(**request)["FirewallPolicyResponse"]
        except ClientError as e:
            error = e.response.get("Error", {})
            raise WiringError(
                f"{resource.urn}: Network Firewall refused it: {error.get('Code')}: {error.get('Message')}"
            ) from e
        self._expect_arn(resource, created["FirewallPolicyArn"])
        self.inventory.firewall_policies[created["FirewallPolicyArn"]] = name

    def _dynamic(self, resource: RenderedResourceLike) -> None:
        """A Next Generation rule group or policy, created by the program's own dynamic provider (its
        DryRun sizing and all) against the emulator, under the name and ARN the render reported."""
        from components.firewall_engine import (
            KIND_POLICY,
            KIND_RULE_GROUP,
            FirewallPolicyV2Provider,
            FirewallRuleGroupProvider,
        )

        providers = {KIND_RULE_GROUP: FirewallRuleGroupProvider, KIND_POLICY: FirewallPolicyV2Provider}
        kind = resource.inputs.get("kind")
        if kind not in providers:
            raise WiringError(f"{resource.urn}: a dynamic resource of unknown kind {kind!r}")
        props = {key: value for key, value in resource.inputs.items() if not key.startswith("__")}
        provider = providers[kind](self.clients("network-firewall"))
        try:
            created = provider.create({**props, "name": physical_name(resource)})
        except (ClientError, ValueError) as e:
            raise WiringError(f"{resource.urn}: Network Firewall refused it: {e}") from e
        self._expect_arn(resource, created.id)
        inventory = (
            self.inventory.rule_groups if kind == KIND_RULE_GROUP else self.inventory.firewall_policies
        )
        inventory[created.id] = physical_name(resource)

    def _log_group(self, resource: RenderedResourceLike) -> None:
        name = physical_name(resource)
        logs = self.clients("logs")
        logs.create_log_group(logGroupName=name)
        retention = resource.inputs.get("retentionInDays")
        if retention:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(retention))
        self.inventory.log_groups[name] = resource.urn

    # --- compute ---------------------------------------------------------------------------------

    def _function(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        name = physical_name(resource)
        role = str(inputs.get("role", ""))
        if role not in self.inventory.roles:
            raise WiringError(f"{resource.urn}: execution role {role!r} is not a role this program creates")
        variables = {
            str(k): str(v) for k, v in ((inputs.get("environment") or {}).get("variables") or {}).items()
        }
        self._check_environment(resource, variables)
        self._dns_firewall.check_function(resource, role, variables)
        log_group = (inputs.get("loggingConfig") or {}).get("logGroup")
        if log_group is not None and log_group not in self.inventory.log_groups:
            raise WiringError(
                f"{resource.urn}: loggingConfig.logGroup {log_group!r} "
                "is not a log group this program creates"
            )
        created = self.clients("lambda").create_function(
            FunctionName=name,
            Runtime=inputs.get("runtime") or "python3.12",
            Role=role,
            Handler=str(inputs.get("handler", "")),
            Code={"ZipFile": placeholder_zip()},
            Environment={"Variables": variables},
            Timeout=int(inputs.get("timeout") or 3),
            MemorySize=int(inputs.get("memorySize") or 128),
        )
        self._expect_arn(resource, created["FunctionArn"])
        spec = FunctionSpec(
            name=name,
            arn=created["FunctionArn"],
            handler=str(inputs.get("handler", "")),
            environment=variables,
            region=self.region,
            account=self.account,
            timeout_seconds=int(inputs.get("timeout") or 3),
            role=role,
            credentials=self.accounts.function_environment(role) if self.accounts else {},
        )
        try:
            self.lambdas.register(spec)
        except HandlerImportError as e:
            raise WiringError(f"{resource.urn}: {e}") from e
        self.inventory.functions[spec.arn] = spec

    def _check_environment(self, resource: RenderedResourceLike, variables: Mapping[str, str]) -> None:
        measured = environment_size(variables)
        if measured > LAMBDA_ENVIRONMENT_BYTES:
            # CreateFunction's InvalidParameterValueException, which measures the variables as JSON.
            raise LimitExceeded(
                f"{resource.urn}: Lambda was unable to configure your environment variables because the "
                f"environment variables you have provided exceeded the 4KB limit "
                f"({measured} bytes measured, {LAMBDA_ENVIRONMENT_BYTES} allowed)"
            )
        table = variables.get(env_contract.ENV_TABLE_NAME)
        if table is not None and table not in self.inventory.tables:
            raise WiringError(
                f"{resource.urn}: {env_contract.ENV_TABLE_NAME}={table!r} is not a table this program creates"
            )
        rule_group = variables.get(env_contract.ENV_RULE_GROUP_ARN)
        if rule_group is not None and rule_group not in self.inventory.rule_groups:
            raise WiringError(
                f"{resource.urn}: {env_contract.ENV_RULE_GROUP_ARN}={rule_group!r} "
                "is not a rule group this program creates"
            )

    def _state_machine(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        name = physical_name(resource)
        raw = inputs.get("definition", "{}")
        definition = json.loads(raw) if isinstance(raw, str) else raw
        role = str(inputs.get("roleArn", ""))
        if role not in self.inventory.roles:
            raise WiringError(f"{resource.urn}: role {role!r} is not a role this program creates")
        destination = (inputs.get("loggingConfiguration") or {}).get("logDestination")
        if destination and _log_group_name(str(destination)) not in self.inventory.log_groups:
            raise WiringError(
                f"{resource.urn}: loggingConfiguration.logDestination {destination!r} "
                "is not a log group this program creates"
            )
        created: dict[str, set[str]] = {
            "lambda": set(self.inventory.functions),
            "sns": set(self.inventory.topics),
            "dynamodb": set(self.inventory.tables),
        }
        for reference in task_references(definition):
            known = created.get(reference.kind, set())
            if reference.target not in known:
                raise WiringError(
                    f"{resource.urn}: state {reference.state!r} calls {reference.kind} {reference.target!r}, "
                    "which this program does not create"
                )
            self.require_grant(
                resource, role, reference.action, _resource_arn(reference, self.region, self.account)
            )
        machine = self.clients("stepfunctions").create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=role, type=inputs.get("type") or "STANDARD"
        )
        self._expect_arn(resource, machine["stateMachineArn"])
        self.inventory.state_machines[machine["stateMachineArn"]] = StateMachineInfo(
            logical_name=resource.name,
            name=name,
            arn=machine["stateMachineArn"],
            definition=definition,
            states=state_names(definition),
        )

    # --- monitoring ------------------------------------------------------------------------------

    def _known_resources(self) -> KnownResources:
        return KnownResources(
            state_machine_arns=frozenset(self.inventory.state_machines),
            queue_names=frozenset(url.rsplit("/", 1)[-1] for url in self.inventory.queues),
            function_names=frozenset(spec.name for spec in self.inventory.functions.values()),
            rule_group_names=frozenset(self.inventory.rule_groups.values()),
        )

    def _metric_alarm(self, resource: RenderedResourceLike) -> None:
        """PutMetricAlarm, after CloudWatch's silent failures are checked: an action it cannot deliver
        (a topic the program does not create, or whose KMS key CloudWatch may not use), a metric that
        never has data."""
        inputs = resource.inputs
        name = physical_name(resource)
        alarm_arn = f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{name}"
        actions = [
            str(action)
            for key in ("alarmActions", "okActions", "insufficientDataActions")
            for action in inputs.get(key) or []
        ]
        if not actions:
            raise WiringError(f"{resource.urn}: the alarm notifies nobody (no alarmActions)")
        for action in actions:
            if action not in self.inventory.topics:
                raise WiringError(
                    f"{resource.urn}: alarm action {action!r} is not a topic this program creates"
                )
            key = self._topic_keys.get(action)
            if key is not None and not key_lets_cloudwatch_publish(
                self._key_policies.get(key), self.account, self.region, alarm_arn
            ):
                raise WiringError(
                    f"{resource.urn}: CloudWatch cannot publish to {action}: the policy of its KMS key {key} "
                    "does not let cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey* for "
                    "this alarm, so every notification would be dropped"
                )
        dimensions = {str(k): str(v) for k, v in (inputs.get("dimensions") or {}).items()}
        metric = MetricReference(
            str(inputs.get("namespace")), str(inputs.get("metricName")), tuple(sorted(dimensions.items()))
        )
        problem = self._known_resources().metric_problem(metric)
        if problem is not None:
            raise WiringError(f"{resource.urn}: the alarm watches a metric that never has data: {problem}")
        self.clients("cloudwatch").put_metric_alarm(
            AlarmName=name,
            AlarmDescription=str(inputs.get("alarmDescription", "")),
            Namespace=metric.namespace,
            MetricName=metric.name,
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            Statistic=str(inputs.get("statistic")),
            Period=int(inputs.get("period", 300)),
            EvaluationPeriods=int(inputs.get("evaluationPeriods", 1)),
            Threshold=float(inputs.get("threshold", 0)),
            ComparisonOperator=str(inputs.get("comparisonOperator")),
            TreatMissingData=str(inputs.get("treatMissingData", "missing")),
            AlarmActions=[str(action) for action in inputs.get("alarmActions") or []],
        )
        self.inventory.alarms[name] = resource.urn

    def _dashboard(self, resource: RenderedResourceLike) -> None:
        """PutDashboard: CloudWatch refuses a malformed body (InvalidParameterInput); the sandbox also
        refuses a widget reading a metric that never has data for this program."""
        name = str(resource.inputs.get("dashboardName", ""))
        text = str(resource.inputs.get("dashboardBody", ""))
        problems = body_problems(text)
        if problems:
            raise WiringError(f"{resource.urn}: InvalidParameterInput: {problems[0]}")
        body = json.loads(text)
        known = self._known_resources()
        plain, expressions = referenced_metrics(body)
        for problem in [
            *(known.metric_problem(metric) for metric in plain),
            *(known.expression_problem(expression) for expression in expressions),
        ]:
            if problem is not None:
                raise WiringError(f"{resource.urn}: a widget reads a metric that never has data: {problem}")
        self.clients("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=text)
        self.inventory.dashboards[name] = body

    # --- triggers --------------------------------------------------------------------------------

    def _event_rule(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        if inputs.get("scheduleExpression"):
            self.inventory.skipped.append((resource.urn, "scheduled EventBridge rules are not emulated"))
            return
        enabled = inputs.get("state", "ENABLED") == "ENABLED" and inputs.get("isEnabled", True) is not False
        bus = self._own_bus(resource, inputs.get("eventBusName"))
        pattern = inputs.get("eventPattern") or "{}"
        pattern_text = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if len(pattern_text) > EVENT_PATTERN_CHARS:
            raise LimitExceeded(
                f"{resource.urn}: LimitExceededException: the event pattern is {len(pattern_text)} "
                f"characters; EventBridge allows {EVENT_PATTERN_CHARS} by default"
            )
        try:
            rule = self.router.add_rule(
                physical_name(resource),
                pattern,
                bus=bus.name,
                enabled=enabled,
                account=self.account,
                region=self.region,
            )
        except Exception as e:  # LocalStack raises its own InvalidEventPatternException
            raise WiringError(f"{resource.urn}: invalid event pattern: {e}") from e
        self._expect_arn(resource, rule.arn)
        self.inventory.rules[rule.arn] = resource.urn

    def _event_target(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        target = self._target(resource, inputs)
        if inputs.get("inputTransformer"):
            raise WiringError(f"{resource.urn}: {UnsupportedTarget('input transformers are not emulated')}")
        bus = self._own_bus(resource, inputs.get("eventBusName"))
        try:
            self.router.add_target(
                str(inputs.get("rule", "")), target, bus=bus.name, account=self.account, region=self.region
            )
        except KeyError as e:
            raise WiringError(f"{resource.urn}: {e.args[0]}") from e
        except TooManyTargets as e:
            raise LimitExceeded(f"{resource.urn}: {e}") from e

    def _event_bus(self, resource: RenderedResourceLike) -> None:
        bus = EventBus(self.account, self.region, physical_name(resource), urn=resource.urn)
        self._expect_arn(resource, bus.arn)
        self.buses.add(bus)
        self.inventory.buses[bus.arn] = resource.urn

    def _event_bus_policy(self, resource: RenderedResourceLike) -> None:
        """PutPermission with a whole policy: on a bus of this account and region, JSON, at most 10 KB."""
        bus = self._own_bus(resource, resource.inputs.get("eventBusName"))
        try:
            bus.policy = parse_bus_policy(resource.inputs.get("policy") or "")
        except PolicyRefused as e:
            raise LimitExceeded(f"{resource.urn}: {e}") from e

    def _own_bus(self, resource: RenderedResourceLike, reference: Any) -> EventBus:
        """A rule's, target's or policy's ``eventBusName``: a bus of this account and region that exists."""
        name = str(reference or "default")
        bus = self.buses.named(name, account=self.account, region=self.region)
        if bus is None or (bus.account, bus.region) != (self.account, self.region):
            raise WiringError(
                f"{resource.urn}: ResourceNotFoundException: event bus {name!r} does not exist "
                f"in account {self.account} region {self.region}"
            )
        return bus

    def _schedule(self, resource: RenderedResourceLike) -> None:
        inputs = resource.inputs
        target = self._target(resource, inputs.get("target") or {})
        try:
            self.scheduler.add(
                physical_name(resource),
                str(resource.state.get("arn") or ""),
                str(inputs.get("scheduleExpression", "")),
                target,
                enabled=(inputs.get("state") or "ENABLED") == "ENABLED",
            )
        except UnsupportedTarget as e:
            raise WiringError(f"{resource.urn}: {e}") from e

    def _target(self, resource: RenderedResourceLike, spec: Mapping[str, Any]) -> Target:
        arn = str(spec.get("arn", ""))
        if parse_bus_arn(arn) is not None:
            return self._bus_target(resource, spec, arn)
        if arn not in self.inventory.state_machines:
            raise WiringError(f"{resource.urn}: target {arn!r} is not a state machine this program creates")
        role = spec.get("roleArn")
        if role is not None:
            if role not in self.inventory.roles:
                raise WiringError(f"{resource.urn}: target role {role!r} is not a role this program creates")
            self.require_grant(resource, str(role), "states:StartExecution", arn)
        return Target(
            target_id=str(spec.get("targetId") or resource.name),
            arn=arn,
            role_arn=str(role) if role else None,
            input=spec.get("input"),
            input_path=spec.get("inputPath"),
            dead_letter_arn=self._dead_letter(resource, spec),
        )

    def _bus_target(self, resource: RenderedResourceLike, spec: Mapping[str, Any], arn: str) -> Target:
        """An event bus, in any account and region: it must exist, and a role must be allowed to put on it."""
        if self.buses.get(arn) is None:
            raise WiringError(f"{resource.urn}: target event bus {arn!r} does not exist")
        role = spec.get("roleArn")
        if not role:
            raise WiringError(
                f"{resource.urn}: target event bus {arn!r} needs a roleArn allowed events:PutEvents on it"
            )
        if role not in self.inventory.roles:
            raise WiringError(f"{resource.urn}: target role {role!r} is not a role this program creates")
        self.require_grant(resource, str(role), "events:PutEvents", arn)
        if spec.get("input") is not None or spec.get("inputPath") or spec.get("inputTransformer"):
            raise WiringError(f"{resource.urn}: an event bus target receives the event itself, not an input")
        return Target(
            target_id=str(spec.get("targetId") or resource.name),
            arn=arn,
            role_arn=str(role),
            dead_letter_arn=self._dead_letter(resource, spec),
        )

    def _dead_letter(self, resource: RenderedResourceLike, spec: Mapping[str, Any]) -> str | None:
        arn = (spec.get("deadLetterConfig") or {}).get("arn")
        if arn is None:
            return None
        if arn not in self.inventory.queue_urls:
            raise WiringError(
                f"{resource.urn}: deadLetterConfig.arn {arn!r} is not a queue this program creates"
            )
        return str(arn)

    # --- after everything else ---------------------------------------------------------------------

    def _invocation(self, resource: RenderedResourceLike) -> None:
        """What the provider does for ``aws.lambda_.Invocation``: invoke once, fail the deploy on an error."""
        inputs = resource.inputs
        function = str(inputs.get("functionName", ""))
        known = {spec.name for spec in self.inventory.functions.values()} | set(self.inventory.functions)
        if function not in known:
            raise WiringError(
                f"{resource.urn}: invokes {function!r}, which is not a function this program creates"
            )
        text = inputs.get("input")
        payload = text if isinstance(text, str) else json.dumps(text if text is not None else {})
        try:
            json.loads(payload)
        except json.JSONDecodeError as e:
            raise WiringError(f"{resource.urn}: input is not JSON: {e}") from e
        request: dict[str, Any] = {"FunctionName": function, "Payload": payload.encode()}
        if inputs.get("qualifier"):
            request["Qualifier"] = str(inputs["qualifier"])
        response = self.clients("lambda").invoke(**request)
        body = response["Payload"].read().decode()
        result = json.loads(body) if body else None
        if response.get("FunctionError"):
            error = result if isinstance(result, dict) else {}
            raise InvocationFailed(
                f"{resource.urn}: Lambda function {function!r} returned an error: "
                f"{error.get('errorType')}: {error.get('errorMessage')}"
            )
        self.inventory.invocations[resource.urn] = result

    # --- checks ----------------------------------------------------------------------------------

    def _expect_arn(self, resource: RenderedResourceLike, actual: str) -> None:
        """References in the render use the render's ARNs; if moto's differ they would dangle."""
        recorded = resource.state.get("arn")
        if recorded and recorded != actual:
            raise WiringError(
                f"{resource.urn}: render recorded ARN {recorded!r} but the sandbox created {actual!r}"
            )

    def require_grant(
        self, resource: RenderedResourceLike, role_arn: str, action: str, target_arn: str
    ) -> None:
        self._pending_grants.append((resource.urn, role_arn, action, target_arn))

    def _check_iam(self) -> None:
        """Policies are attached after the resources that use them may be declared: check at the end."""
        problems = []
        for urn, role_arn, action, target in self._pending_grants:
            role = self.inventory.roles.get(role_arn, role_arn)
            if not self.policies.allows(role, action, target):
                problems.append(f"{urn}: role {role!r} is not allowed {action} on {target!r}")
        if problems and self.strict_iam:
            raise WiringError("; ".join(problems))
        for problem in problems:
            LOG.warning("sandbox IAM gap", extra={"problem": problem})
        self.iam_gaps = problems


def _role_references(rendered: RenderedLike) -> dict[str, str]:
    """Every way a resource of the render may name one of its roles (id, ARN, name) -> the role's name."""
    roles: dict[str, str] = {}
    for resource in rendered.resources:
        if resource.type == ROLE:
            for reference in (resource.state.get("id"), resource.state.get("arn"), physical_name(resource)):
                if reference:
                    roles[str(reference)] = physical_name(resource)
    return roles


def _document_chars(resource: RenderedResourceLike, key: str) -> int:
    document = resource.inputs.get(key) or "{}"
    try:
        return iam_policy_chars(document)
    except ValueError as e:
        raise WiringError(f"{resource.urn}: MalformedPolicyDocument: {key} is not JSON ({e})") from e


def _check_trust_policy(resource: RenderedResourceLike) -> None:
    chars = _document_chars(resource, "assumeRolePolicy")
    if chars > IAM_ROLE_TRUST_POLICY_CHARS:
        raise LimitExceeded(
            f"{resource.urn}: LimitExceeded: Cannot exceed quota for ACLSizePerRole: "
            f"{IAM_ROLE_TRUST_POLICY_CHARS} (the trust policy is {chars} characters without whitespace)"
        )


def _check_managed_policy(resource: RenderedResourceLike) -> None:
    chars = _document_chars(resource, "policy")
    if chars > IAM_MANAGED_POLICY_CHARS:
        raise LimitExceeded(
            f"{resource.urn}: LimitExceeded: Cannot exceed quota for PolicySize: {IAM_MANAGED_POLICY_CHARS} "
            f"(the document is {chars} characters without whitespace)"
        )


def _inline_policy_chars(resource: RenderedResourceLike, role: str, sizes: Mapping[str, int]) -> int:
    """The characters IAM counts of an inline policy, refused if the role's inline policies together
    (``sizes``: name -> characters, this one's earlier document replaced) would exceed IAM's quota."""
    chars = _document_chars(resource, "policy")
    total = chars + sum(size for name, size in sizes.items() if name != physical_name(resource))
    if total > IAM_ROLE_INLINE_POLICIES_CHARS:
        raise LimitExceeded(
            f"{resource.urn}: LimitExceeded: Maximum policy size of {IAM_ROLE_INLINE_POLICIES_CHARS} bytes "
            f"exceeded for role {role} (its inline policies are {total} characters without whitespace)"
        )
    return chars


def _key_schema(hash_key: Any, range_key: Any) -> list[dict[str, str]]:
    schema = [{"AttributeName": str(hash_key), "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": str(range_key), "KeyType": "RANGE"})
    return schema


def _index_key_schema(index: Mapping[str, Any]) -> list[dict[str, str]]:
    """pulumi-aws 7 declares GSI keys as ``keySchemas``; older programs use ``hashKey``/``rangeKey``."""
    if index.get("keySchemas"):
        return [
            {"AttributeName": str(k["attributeName"]), "KeyType": str(k["keyType"])}
            for k in index["keySchemas"]
        ]
    return _key_schema(index.get("hashKey"), index.get("rangeKey"))


class InvocationFailed(WiringError):
    """An ``aws.lambda_.Invocation``'s function raised: the provider fails the deployment."""


def _log_group_name(arn: str) -> str:
    """``arn:aws:logs:region:account:log-group:NAME[:*]`` -> NAME."""
    _, _, rest = arn.partition(":log-group:")
    return rest.removesuffix(":*")


def _resource_arn(reference: Any, region: str, account: str) -> str:
    """IAM grants name tables by ARN; Task parameters name them by table name."""
    if reference.kind == "dynamodb" and not str(reference.target).startswith("arn:"):
        return f"arn:aws:dynamodb:{region}:{account}:table/{reference.target}"
    return str(reference.target)
