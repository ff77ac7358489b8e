"""ResponseStateMachine: the functions, the response workflow, the notification topic and the event rules."""

import dataclasses
import hashlib
import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

import handlers
from components import iam
from components.config import (
    FindingSource,
    InvalidConfig,
    check_bus_policy,
    label,
    policy_settings,
    read_bool,
    read_choice,
    read_email,
    read_firewall_arns,
    read_log_retention,
    read_principals,
    read_update_findings,
)
from components.constants import TOKEN_PREFIX
from components.definitions import response_definition
from components.inputs import ArgsReader
from components.limits import check_component_name, lambda_log_group_name, workflow_log_group_name
from components.organization import finding_bus_policy_json
from components.patterns import (
    ARCHIVED_SOURCE,
    CUSTOM_ACTIONS_SOURCE,
    custom_action_pattern,
    event_pattern_json,
    patterns_for,
    scope_pattern,
    scoped_patterns_for,
    security_hub_archived_pattern,
)
from components.workflow import standard_workflow
from handlers.propagation import DEPLOYMENT_SOURCE
from handlers.settings import (
    ENV_DNS_FIREWALL_DOMAIN_LIST_ID,
    ENV_DOMAIN_RULE_GROUP_ARN,
    ENV_RULE_GROUP_ARN,
    ENV_TABLE_NAME,
    CapacityPolicy,
    DomainBlocking,
    Enforcement,
    FirewallPolicyType,
    Settings,
    WorkflowStatus,
)
from handlers.steering import CUSTOM_ACTIONS, action_id

TOKEN: Final = f"{TOKEN_PREFIX}:ResponseStateMachine"
RUNTIME: Final = "python3.13"
ARCHITECTURE: Final = "arm64"
MEMORY_MB: Final = 256


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda entry point of the handlers package."""

    key: str
    handler: str
    timeout_seconds: int


FUNCTIONS: Final = (
    FunctionSpec("record", "handlers.entry.record", 30),
    FunctionSpec("block", "handlers.entry.block", 120),
    FunctionSpec("prune", "handlers.entry.prune", 300),
    FunctionSpec("steer", "handlers.entry.steer", 120),
)
ANNOTATE_FUNCTION: Final = FunctionSpec("annotate", "handlers.entry.annotate", 60)
"""Only with ``update_findings``: the one function allowed securityhub:BatchUpdateFindings. Its
backoff (5 attempts, at most 2 s apart) ends well inside the timeout."""
EVENT_MAX_AGE_SECONDS: Final = 86400
"""EventBridge's maximum: a flagged host is still worth blocking after an outage of a few hours."""
EVENT_MAX_RETRIES: Final = 185
"""EventBridge's maximum; what still fails lands in the dead-letter queue rather than vanishing."""
DEAD_LETTER_RETENTION_SECONDS: Final = 14 * 24 * 3600
REPOPULATE_SOURCE: Final = DEPLOYMENT_SOURCE
POLICY_FIELDS: Final = (
    "rule_group_priority",
    "retention_minutes",
    "protected_cidrs",
    "min_severity",
    "finding_type_include",
    "finding_type_exclude",
    "on_capacity_full",
    "action_types",
    "finding_regions",
    "finding_accounts",
    "finding_workflow_status",
    "protected_domains",
    "dns_firewall_max_domains",
    "attack_sequence_indicators",
    "enforcement",
    "brake_max_new_blocks",
    "brake_period_minutes",
    "firewall_policy_type",
    "flush_firewall_arns",
)
"""The inputs the functions' policy (``handlers.settings.Settings``) is made of: the stack config's keys
(``components.config.POLICY_KEYS``) in Python's spelling."""


class ResponseStateMachineArgs(TypedDict):
    """Inputs of ResponseStateMachine. Every value is given once: the component derives the functions'
    settings (their environment) from these fields."""

    admin_email: pulumi.Input[str]
    """E-mail address subscribed to the notification topic; required (AWS asks it to confirm)."""
    table_name: pulumi.Input[str]
    """Ledger table name (BlocklistRuleGroup's tableName); required."""
    table_arn: pulumi.Input[str]
    """Ledger table ARN (BlocklistRuleGroup's tableArn); required."""
    rule_group_arn: pulumi.Input[str]
    """Rule group ARN (BlocklistRuleGroup's ruleGroupArn); required."""
    domain_rule_group_arn: NotRequired[pulumi.Input[str]]
    """Stateful domain-list rule group ARN (BlocklistRuleGroup's domainRuleGroupArn); required when
    domainBlocking includes network-firewall, else default none."""
    dns_firewall_domain_list_id: NotRequired[pulumi.Input[str]]
    """DNS Firewall domain list id (DnsFirewall's domainListId); required when domainBlocking includes
    dns-firewall, else default none."""
    dns_firewall_domain_list_arn: NotRequired[pulumi.Input[str]]
    """That list's ARN (DnsFirewall's domainListArn), the only one the functions may write; required with
    the id."""
    rule_group_priority: NotRequired[pulumi.Input[int]]
    """Priority of the source rule the functions write, 1..65434; the destination rule sits 100 above it
    and the placeholder at 65535; default 30000. A change moves the owned rules during the deployment (the
    repopulation)."""
    retention_minutes: NotRequired[pulumi.Input[int]]
    """How long a host stays blocked after its last sighting, 5..10080; default 720."""
    protected_cidrs: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """IPv4/IPv6 CIDRs never blocked, beside the built-in list; default none."""
    min_severity: NotRequired[pulumi.Input[float]]
    """Ignore findings below this GuardDuty severity, 0..10; default 0."""
    finding_type_include: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Block only for finding types starting with one of these prefixes; default none (every type)."""
    finding_type_exclude: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Never block for finding types starting with one of these prefixes (wins over include); default
    none."""
    on_capacity_full: NotRequired[pulumi.Input[CapacityPolicy]]
    """What to do when the rule group is full: evict-oldest or refuse; default evict-oldest."""
    action_types: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Opt-in GuardDuty actions (awsApiCallAction, kubernetesApiCallAction, rdsLoginAttemptAction) beside
    network connections and port probes; default none."""
    finding_regions: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Act only on findings found in these regions (the finding's own); default every region."""
    finding_accounts: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Act only on findings of these 12-digit accounts (the finding's own); default every account."""
    finding_source: NotRequired[FindingSource]
    """Events that start the workflow: securityhub (CSPM), guardduty (native), securityhubv2 (the new
    Security Hub) or a combination (both, guardduty+securityhubv2, securityhub+securityhubv2, all); default
    securityhub. Plain: it decides which event rules exist."""
    update_findings: NotRequired[bool]
    """Annotate the Security Hub findings acted on (an annotate function and two workflow states); default
    on when findingSource reads a Security Hub; on with guardduty alone is refused. Plain: it decides
    whether the function exists."""
    finding_workflow_status: NotRequired[pulumi.Input[WorkflowStatus]]
    """Workflow.Status the annotation sets on a Security Hub finding: NOTIFIED, RESOLVED or NONE (leave it);
    default NOTIFIED."""
    domain_blocking: NotRequired[DomainBlocking]
    """Where the domains GuardDuty's DNS findings name are blocked: network-firewall (needs
    domainRuleGroupArn), dns-firewall (needs the DNS Firewall list), both, or off; default off. Plain: it
    decides the functions' permissions and which findings the rules match."""
    protected_domains: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Domains never blocked, beside the built-in list; each also protects its subdomains; default none."""
    dns_firewall_max_domains: NotRequired[pulumi.Input[int]]
    """How many domains the DNS Firewall list may hold (the account's 100,000 are shared); default 10000."""
    attack_sequence_indicators: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Attack-sequence indicator keys whose values are blocked (MALICIOUS_IP, TOR_IP, CRYPTOMINING_IP,
    MALICIOUS_DOMAIN, CRYPTOMINING_DOMAIN); default all five; an empty list blocks nothing a sequence
    names."""
    enforcement: NotRequired[pulumi.Input[Enforcement]]
    """enforce (the rules drop what they list) or monitor (the same rules let it through and count it: a
    trial run); default enforce. A change rewrites the rules in the same deployment (the repopulation)."""
    brake_max_new_blocks: NotRequired[pulumi.Input[int]]
    """The brake: most new blocks (hosts not yet blocked) per period, 1..1000000; above it new blocks are
    refused until released (nfw-blocklist brake release); default 1500."""
    brake_period_minutes: NotRequired[pulumi.Input[int]]
    """The brake's period in minutes, 1..10080; default 60."""
    firewall_policy_type: NotRequired[pulumi.Input[FirewallPolicyType]]
    """classic (ruleGroupArn is a STATELESS group, domainRuleGroupArn a STATEFUL one) or next-generation
    (both FIREWALL groups of a Next Generation policy); default classic."""
    flush_firewall_arns: NotRequired[Sequence[str]]
    """Next Generation only: firewalls whose flows to and from each newly blocked host the block function
    flushes (StartFlowFlush, granted on exactly these); default none. Plain: the functions' policy names
    them."""
    accept_findings_from: NotRequired[Sequence[str]]
    """Account IDs and organization IDs (o-...) allowed to put findings on a finding bus of this
    component's own, which gets the same rules as the default bus; default none: no finding bus. Plain: it
    decides whether the bus exists."""
    log_retention_days: NotRequired[pulumi.Input[int]]
    """Retention of the functions' and the workflow's logs; default 30 days (a CloudWatch Logs value)."""
    runtime: NotRequired[pulumi.Input[str]]
    """Lambda runtime; default python3.13."""
    handlers_path: NotRequired[str]
    """Directory of the handlers package to deploy; default the installed handlers package (found from
    this module, whatever the working directory)."""
    tracing: NotRequired[bool]
    """X-Ray tracing of the state machine (its role may then send traces); default false. Plain: it decides
    the role's policy."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for every child resource; default none."""


def installed_handlers_path() -> str:
    """The handlers package beside the components, wherever the program (or the provider) runs from."""
    return str(Path(handlers.__file__).resolve().parent)


def read_handlers_path(values: Mapping[str, Any], key: str) -> str:
    path = values.get(key) or installed_handlers_path()
    if not isinstance(path, str) or not Path(path).joinpath("__init__.py").is_file():
        raise InvalidConfig(f"{label(key)} must be the directory of a Python package, got {path!r}")
    return path


def check_domain_targets(blocking: DomainBlocking, reader: ArgsReader) -> None:
    """Each enforcement point ``blocking`` writes needs the resource it writes."""
    if (
        DomainBlocking.NETWORK_FIREWALL.value in blocking.points
        and reader.get("domain_rule_group_arn") is None
    ):
        raise InvalidConfig(
            f"{reader.label('domainBlocking')} {blocking} blocks domains in Network Firewall: "
            "domainRuleGroupArn (BlocklistRuleGroup with domainCapacity) is required"
        )
    if DomainBlocking.DNS_FIREWALL.value in blocking.points and (
        reader.get("dns_firewall_domain_list_id") is None
        or reader.get("dns_firewall_domain_list_arn") is None
    ):
        raise InvalidConfig(
            f"{reader.label('domainBlocking')} {blocking} blocks domains in DNS Firewall: "
            "dnsFirewallDomainListId and dnsFirewallDomainListArn (DnsFirewall) are required"
        )


def read_accepted_principals(values: Mapping[str, Any]) -> tuple[str, ...]:
    principals = read_principals(values, "acceptFindingsFrom")
    check_bus_policy(principals)
    return principals


BUNDLED_PACKAGES: Final = ("idna",)
"""Pure-Python packages the handlers import that the Lambda runtime lacks: copied into the zip beside
``handlers/`` from the environment that deploys (``idna``: IDNA2008 domain names, ``handlers.domains``)."""
LAMBDA_RUNTIME_PACKAGES: Final = ("boto3", "botocore", "jmespath", "dateutil", "urllib3", "s3transfer", "six")
"""What the Lambda Python runtime itself provides besides the standard library (the AWS SDK and its
dependencies): the zip does not carry them."""


def _package_files(root: Path, prefix: str) -> dict[str, pulumi.Asset | pulumi.Archive]:
    return {
        f"{prefix}/{path.relative_to(root).as_posix()}": pulumi.FileAsset(str(path))
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def handlers_archive(package_dir: str) -> pulumi.AssetArchive:
    """The deployment package: the handlers package at ``handlers/`` and each of ``BUNDLED_PACKAGES`` at
    its own name, without caches."""
    assets = _package_files(Path(package_dir), "handlers")
    for name in BUNDLED_PACKAGES:
        module = importlib.import_module(name)
        assets.update(_package_files(Path(str(module.__file__)).parent, name))
    return pulumi.AssetArchive(assets)


def function_environment(
    settings: Settings,
    table_name: pulumi.Input[str],
    rule_group_arn: pulumi.Input[str],
    domain_rule_group_arn: pulumi.Input[str] | None = None,
    dns_firewall_domain_list_id: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """The variables handlers.settings.Settings.from_env reads: the resource names plus the policy."""
    domains: dict[str, pulumi.Input[str]] = (
        {ENV_DOMAIN_RULE_GROUP_ARN: domain_rule_group_arn} if domain_rule_group_arn is not None else {}
    )
    if dns_firewall_domain_list_id is not None:
        domains[ENV_DNS_FIREWALL_DOMAIN_LIST_ID] = dns_firewall_domain_list_id
    return {
        ENV_TABLE_NAME: table_name,
        ENV_RULE_GROUP_ARN: rule_group_arn,
        **domains,
        **settings.policy_environment(),
    }


def _role(name: str, service: str, opts: pulumi.ResourceOptions, tags: Any) -> aws.iam.Role:
    return aws.iam.Role(
        name, assume_role_policy=json.dumps(iam.assume_role_policy(service)), tags=tags, opts=opts
    )


def _role_policy(
    name: str, role: aws.iam.Role, document: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> Any:
    return aws.iam.RolePolicy(name, role=role.id, policy=pulumi.Output.json_dumps(document), opts=opts)


def repopulation_triggers(
    settings: Settings,
    table_name: pulumi.Input[str],
    rule_group_arn: pulumi.Input[str],
    domain_rule_group_arn: pulumi.Input[str] | None = None,
    dns_firewall_domain_list_id: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """What, when it changes, leaves the rule group out of step with the ledger until the next sync.

    A new rule group (a capacity change replaces it) starts with only the placeholder; a new priority leaves
    the owned rules at the old one; a new protected range may cover blocked hosts; a new table is another
    ledger. Any of these re-runs the repopulation.
    """
    triggers: dict[str, pulumi.Input[str]] = {
        "ruleGroupArn": rule_group_arn,
        "rulePriority": str(settings.rule_priority),
        "protectedCidrs": json.dumps(sorted(settings.protected_cidrs)),
        "tableName": table_name,
    }
    if settings.monitor:
        # Either way the key changes (added, removed): the owned rules and the domain list are rewritten
        # in the new mode during the same deployment. An enforcing stack's triggers are as they were.
        triggers["enforcement"] = str(settings.enforcement)
    if settings.domain_blocking is not DomainBlocking.OFF:
        # A new domain group (a capacity change), another enforcement point, newly protected domains.
        triggers["domainBlocking"] = str(settings.domain_blocking)
        triggers["protectedDomains"] = json.dumps(sorted(settings.protected_domains))
        if domain_rule_group_arn is not None:
            triggers["domainRuleGroupArn"] = domain_rule_group_arn
        if dns_firewall_domain_list_id is not None:
            triggers["dnsFirewallDomainListId"] = dns_firewall_domain_list_id
    return triggers


def repopulate(
    name: str,
    parent: pulumi.Resource,
    prune_function: aws.lambda_.Function,
    settings: pulumi.Input[Settings],
    table_name: pulumi.Input[str],
    rule_group_arn: pulumi.Input[str],
    domain_rule_group_arn: pulumi.Input[str] | None = None,
    dns_firewall_domain_list_id: pulumi.Input[str] | None = None,
) -> aws.lambda_.Invocation:
    """Invoke the prune function during ``pulumi up`` whenever ``repopulation_triggers`` change.

    Its sync is a full reconcile of the ledger into the group: it restores every blocked host into a new
    group, moves the owned rules to a new priority and removes newly protected hosts, in the same deployment
    rather than up to one pruning interval later. The invocation depends on the function (and so on its
    role's policy and the group it names); a failing sync fails the deployment.
    """
    return aws.lambda_.Invocation(
        f"{name}-repopulate",
        function_name=prune_function.name,
        input=json.dumps({"source": REPOPULATE_SOURCE, "detail-type": "Rule group repopulation"}),
        triggers=pulumi.Output.all(
            settings, table_name, rule_group_arn, domain_rule_group_arn, dns_firewall_domain_list_id
        ).apply(lambda values: repopulation_triggers(*values)),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[prune_function]),
    )


@dataclass(frozen=True)
class RuleWiring:
    """What every finding rule of one component shares, whichever bus it is on."""

    sources: Sequence[str]
    """The short source names, one rule each (``components.patterns.patterns_for``)."""
    patterns: pulumi.Output[dict[str, dict[str, Any]]]
    """Short source name -> event pattern (``components.patterns.scoped_patterns_for``)."""
    state_machine_arn: pulumi.Input[str]
    target_roles: Mapping[str, aws.iam.Role]
    """Per source: the role the target starts the workflow as."""
    target_policies: Mapping[str, Any]
    """Per source: the role's policy, which a target must wait for."""
    dead_letter_queue_arn: pulumi.Input[str]
    tags: Any


def pattern_json_of(
    patterns: pulumi.Input[Mapping[str, Mapping[str, Any]]], source: str
) -> pulumi.Output[str]:
    """One source's event pattern as its rule receives it, from every source's (checked when known)."""
    return pulumi.Output.from_input(patterns).apply(lambda chosen: event_pattern_json(chosen[source]))


def finding_rules(
    prefix: str, bus_name: pulumi.Input[str] | None, wiring: RuleWiring, parent: pulumi.Resource
) -> list[aws.cloudwatch.EventRule]:
    """One rule per pattern on one bus (None: the default bus), each starting the workflow with the same
    retry policy and dead-letter queue: every bus of a component gets exactly these rules."""
    rules = []
    for source in wiring.sources:
        rule = aws.cloudwatch.EventRule(
            f"{prefix}-{source}",
            description=f"nfw-blocklist: {source} findings with a remote host start the workflow",
            event_pattern=pattern_json_of(wiring.patterns, source),
            event_bus_name=bus_name,
            tags=wiring.tags,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        aws.cloudwatch.EventTarget(
            f"{prefix}-{source}-target",
            rule=rule.name,
            event_bus_name=bus_name,
            arn=wiring.state_machine_arn,
            role_arn=wiring.target_roles[source].arn,
            retry_policy={
                "maximum_event_age_in_seconds": EVENT_MAX_AGE_SECONDS,
                "maximum_retry_attempts": EVENT_MAX_RETRIES,
            },
            dead_letter_config={"arn": wiring.dead_letter_queue_arn},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[wiring.target_policies[source]]),
        )
        rules.append(rule)
    return rules


class ResponseStateMachine(pulumi.ComponentResource):
    """Turns a GuardDuty finding into blocked hosts: event rule -> Standard state machine -> functions -> SNS.

    Owns the functions (the prune function too, so one place packages the handlers; the annotate function
    with updateFindings), their roles and log groups, the KMS-encrypted topic with the admin's e-mail
    subscription, the EventBridge rules with their roles, retry policy and dead-letter queue, and the
    repopulation: a prune invoked during ``pulumi up`` when the rule group, the priority, the protected
    ranges or the table change.
    """

    state_machine_arn: pulumi.Output[str]
    """The response workflow (Step Functions Standard)."""
    topic_arn: pulumi.Output[str]
    """The KMS-encrypted notification topic (PruningSchedule's and Monitoring's topicArn)."""
    topic_key_arn: pulumi.Output[str]
    """The topic's KMS key (PruningSchedule's topicKeyArn)."""
    record_function_name: pulumi.Output[str]
    """The record function's name."""
    record_function_arn: pulumi.Output[str]
    """The record function's ARN."""
    block_function_name: pulumi.Output[str]
    """The block function's name."""
    block_function_arn: pulumi.Output[str]
    """The block function's ARN."""
    prune_function_name: pulumi.Output[str]
    """The prune function's name."""
    prune_function_arn: pulumi.Output[str]
    """The prune function's ARN (PruningSchedule's pruneFunctionArn)."""
    steer_function_name: pulumi.Output[str]
    """The steer function's name (an analyst's decisions: release, extend, block now)."""
    annotate_function_name: pulumi.Output[str] | None
    """Only with updateFindings: the function that annotates Security Hub findings."""
    dead_letter_queue_arn: pulumi.Output[str]
    """The event rules' dead-letter queue."""
    finding_bus_arn: pulumi.Output[str] | None
    """Only with acceptFindingsFrom: the bus other accounts' forwarders send findings to."""

    def __init__(
        self, name: str, args: ResponseStateMachineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        reader = ArgsReader("ResponseStateMachine", name, args)
        chosen_source = reader.check(
            ["finding_source"],
            lambda values: read_choice(values, "findingSource", FindingSource, FindingSource.SECURITY_HUB),
        )
        finding_source = chosen_source.value
        annotates = reader.check(
            ["update_findings"], lambda values: read_update_findings(values, "updateFindings", chosen_source)
        )
        domain_blocking = reader.check(
            ["domain_blocking"],
            lambda values: read_choice(values, "domainBlocking", DomainBlocking, DomainBlocking.OFF),
        )
        check_domain_targets(domain_blocking, reader)
        domain_rule_group_arn = reader.get("domain_rule_group_arn")
        dns_firewall_domain_list_id = reader.get("dns_firewall_domain_list_id")
        dns_firewall_domain_list_arn = reader.get("dns_firewall_domain_list_arn")
        accept_findings_from = reader.check(["accept_findings_from"], read_accepted_principals)
        tracing = reader.check(["tracing"], lambda values: read_bool(values, "tracing", False))
        handlers_path = reader.check(
            ["handlers_path"], lambda values: read_handlers_path(values, "handlersPath")
        )
        settings = reader.settle(
            POLICY_FIELDS, lambda values: policy_settings(values, finding_source, domain_blocking)
        )
        flush_firewall_arns = reader.check(
            ["flush_firewall_arns"], lambda values: read_firewall_arns(values, "flushFirewallArns")
        )
        admin_email = reader.settle(["admin_email"], lambda values: read_email(values, "adminEmail"))
        log_retention_days = reader.settle(
            ["log_retention_days"], lambda values: read_log_retention(values, "logRetentionDays")
        )
        table_name = reader.required("table_name")
        table_arn = reader.required("table_arn")
        rule_group_arn = reader.required("rule_group_arn")
        runtime = reader.get("runtime") or RUNTIME
        tags = reader.get("tags")
        child = pulumi.ResourceOptions(parent=self)
        project, stack = pulumi.get_project(), pulumi.get_stack()
        specs = (*FUNCTIONS, ANNOTATE_FUNCTION) if annotates else FUNCTIONS
        log_group_names = {spec.key: lambda_log_group_name(project, stack, name, spec.key) for spec in specs}
        workflow_log_name = workflow_log_group_name(project, stack, f"{name}-response")

        # The topic's own key: its default key policy delegates to IAM in this account, so the state machine
        # roles can be granted exactly this key (the AWS managed alias/aws/sns key cannot be named that way,
        # and a dedicated key leaves room to add service publishers to its policy later).
        # Its policy keeps the default's delegation to IAM and lets this account's CloudWatch alarms use
        # it: an alarm cannot publish to a KMS-encrypted topic otherwise.
        identity = aws.get_caller_identity_output()
        key = aws.kms.Key(
            f"{name}-topic-key",
            description=f"nfw-blocklist {name}: encrypts the notification topic",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(
                iam.topic_key_policy(
                    identity.account_id,
                    aws.get_partition_output().partition,
                    aws.get_region_output().region,
                )
            ),
            tags=tags,
            opts=child,
        )
        topic = aws.sns.Topic(f"{name}-notifications", kms_master_key_id=key.arn, tags=tags, opts=child)
        aws.sns.TopicSubscription(
            f"{name}-admin-email", topic=topic.arn, protocol="email", endpoint=admin_email, opts=child
        )

        code = handlers_archive(handlers_path)
        environment = pulumi.Output.all(
            settings, table_name, rule_group_arn, domain_rule_group_arn, dns_firewall_domain_list_id
        ).apply(lambda values: function_environment(*values))
        # The annotate function reads none of the policy: its environment stays small whatever the list sizes.
        annotate_environment = pulumi.Output.all(settings, table_name, rule_group_arn).apply(
            lambda values: {
                ENV_TABLE_NAME: values[1],
                ENV_RULE_GROUP_ARN: values[2],
                **values[0].annotation_environment(),
            }
        )
        functions: dict[str, aws.lambda_.Function] = {}
        for spec in specs:
            log_group = aws.cloudwatch.LogGroup(
                f"{name}-{spec.key}-logs",
                name=log_group_names[spec.key],
                retention_in_days=log_retention_days,
                tags=tags,
                opts=child,
            )
            role = _role(f"{name}-{spec.key}-role", iam.LAMBDA_PRINCIPAL, child, tags)
            if spec.key == "record":
                document = iam.record_function_policy(table_arn, log_group.arn)
            elif spec.key == ANNOTATE_FUNCTION.key:
                document = iam.annotate_function_policy(
                    iam.security_hub_resource(rule_group_arn), log_group.arn
                )
            else:
                document = iam.sync_function_policy(
                    table_arn,
                    rule_group_arn,
                    log_group.arn,
                    domain_rule_group_arn,
                    dns_firewall_domain_list_arn,
                    ledger_actions=iam.LEDGER_STEER_ACTIONS
                    if spec.key == "steer"
                    else iam.LEDGER_SYNC_ACTIONS,
                    flush_firewall_arns=flush_firewall_arns,
                )
            policy = _role_policy(f"{name}-{spec.key}-policy", role, document, child)
            functions[spec.key] = aws.lambda_.Function(
                f"{name}-{spec.key}",
                role=role.arn,
                runtime=runtime,
                architectures=[ARCHITECTURE],
                handler=spec.handler,
                code=code,
                timeout=spec.timeout_seconds,
                memory_size=MEMORY_MB,
                environment={"variables": annotate_environment if spec is ANNOTATE_FUNCTION else environment},
                logging_config={"log_format": "JSON", "log_group": log_group.name},
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )

        self.repopulation = repopulate(
            name,
            self,
            functions["prune"],
            settings,
            table_name,
            rule_group_arn,
            domain_rule_group_arn,
            dns_firewall_domain_list_id,
        )

        workflow_functions = [functions["record"].arn, functions["block"].arn, functions["steer"].arn]
        if ANNOTATE_FUNCTION.key in functions:
            workflow_functions.append(functions[ANNOTATE_FUNCTION.key].arn)
        definition = pulumi.Output.all(topic.arn, *workflow_functions).apply(
            lambda arns: json.dumps(
                response_definition(
                    arns[1],
                    arns[2],
                    arns[0],
                    arns[4] if len(arns) > 4 else None,
                    stack=pulumi.get_stack(),
                    steer_arn=arns[3],
                ),
                indent=2,
            )
        )
        state_machine = standard_workflow(
            f"{name}-response",
            workflow_log_name,
            self,
            definition,
            workflow_functions,
            topic.arn,
            key.arn,
            log_retention_days,
            tracing,
            tags,
        )

        dead_letters = aws.sqs.Queue(
            f"{name}-dead-letters",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            tags=tags,
            opts=child,
        )
        sources = list(patterns_for(finding_source))
        domains = domain_blocking is not DomainBlocking.OFF
        finding_patterns = pulumi.Output.from_input(settings).apply(
            lambda policy: scoped_patterns_for(
                finding_source,
                policy.action_types,
                policy.finding_regions,
                policy.finding_accounts,
                domains,
            )
        )
        self.action_target_arns: dict[str, pulumi.Output[str]] = {}
        if "securityhub" in sources:
            # The analyst's buttons in Security Hub: their events start this workflow with the intent.
            digest = hashlib.sha256(f"{project}/{stack}/{name}".encode()).hexdigest()
            for action in CUSTOM_ACTIONS:
                target = aws.securityhub.ActionTarget(
                    f"{name}-{action.prefix.lower()}",
                    identifier=action_id(action, digest),
                    name=action.name,
                    description=action.description,
                    opts=child,
                )
                self.action_target_arns[str(action.intent)] = target.arn
            arns = list(self.action_target_arns.values())
            archived_pattern = pulumi.Output.from_input(settings).apply(
                lambda policy: scope_pattern(
                    ARCHIVED_SOURCE,
                    security_hub_archived_pattern(),
                    policy.finding_regions,
                    policy.finding_accounts,
                )
            )
            finding_patterns = pulumi.Output.all(finding_patterns, archived_pattern, *arns).apply(
                lambda values: {
                    **values[0],
                    ARCHIVED_SOURCE: values[1],
                    CUSTOM_ACTIONS_SOURCE: custom_action_pattern(values[2:]),
                }
            )
            sources += [ARCHIVED_SOURCE, CUSTOM_ACTIONS_SOURCE]
        target_roles = {
            source: _role(f"{name}-{source}-target-role", iam.EVENTS_PRINCIPAL, child, tags)
            for source in sources
        }
        wiring = RuleWiring(
            sources=sources,
            patterns=finding_patterns,
            state_machine_arn=state_machine.arn,
            target_roles=target_roles,
            target_policies={
                source: _role_policy(
                    f"{name}-{source}-target-policy",
                    role,
                    iam.start_execution_policy(state_machine.arn),
                    child,
                )
                for source, role in target_roles.items()
            },
            dead_letter_queue_arn=dead_letters.arn,
            tags=tags,
        )
        rules = finding_rules(name, None, wiring, self)
        self.finding_bus_arn = None
        if accept_findings_from:
            # Findings forwarded from other accounts and regions arrive on a bus of their own, whose policy
            # lets only the accepted accounts and organizations put events; the same rules route them.
            bus = aws.cloudwatch.EventBus(f"{name}-findings", tags=tags, opts=child)
            aws.cloudwatch.EventBusPolicy(
                f"{name}-findings-policy",
                event_bus_name=bus.name,
                policy=bus.arn.apply(lambda arn: finding_bus_policy_json(arn, accept_findings_from)),
                opts=child,
            )
            # Custom actions happen in this account's Security Hub: only the default bus carries them.
            forwarded = dataclasses.replace(
                wiring, sources=[source for source in sources if source != CUSTOM_ACTIONS_SOURCE]
            )
            rules += finding_rules(f"{name}-findings", bus.name, forwarded, self)
            self.finding_bus_arn = bus.arn
        aws.sqs.QueuePolicy(
            f"{name}-dead-letters-policy",
            queue_url=dead_letters.url,
            policy=pulumi.Output.json_dumps(
                iam.dead_letter_queue_policy(dead_letters.arn, [r.arn for r in rules])
            ),
            opts=child,
        )

        self.state_machine_arn = state_machine.arn
        self.topic_arn = topic.arn
        self.topic_key_arn = key.arn
        self.record_function_name = functions["record"].name
        self.record_function_arn = functions["record"].arn
        self.block_function_name = functions["block"].name
        self.block_function_arn = functions["block"].arn
        self.prune_function_name = functions["prune"].name
        self.prune_function_arn = functions["prune"].arn
        self.steer_function_name = functions["steer"].name
        annotate = functions.get(ANNOTATE_FUNCTION.key)
        self.annotate_function_name = annotate.name if annotate is not None else None
        self.dead_letter_queue_arn = dead_letters.arn
        outputs: dict[str, Any] = {
            "state_machine_arn": self.state_machine_arn,
            "topic_arn": self.topic_arn,
            "topic_key_arn": self.topic_key_arn,
            "record_function_name": self.record_function_name,
            "record_function_arn": self.record_function_arn,
            "block_function_name": self.block_function_name,
            "block_function_arn": self.block_function_arn,
            "prune_function_name": self.prune_function_name,
            "prune_function_arn": self.prune_function_arn,
            "steer_function_name": self.steer_function_name,
            "dead_letter_queue_arn": self.dead_letter_queue_arn,
        }
        if self.finding_bus_arn is not None:
            outputs["finding_bus_arn"] = self.finding_bus_arn
        if self.annotate_function_name is not None:
            outputs["annotate_function_name"] = self.annotate_function_name
        self.register_outputs(outputs)
