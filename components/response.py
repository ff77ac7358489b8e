"""ResponseStateMachine: the functions, the response workflow, the notification topic and the event rules."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pulumi
import pulumi_aws as aws

import handlers
from components import iam
from components.constants import (
    DEFAULT_LOG_RETENTION_DAYS,
    MAX_SOURCE_PRIORITY,
    TOKEN_PREFIX,
    log_retention_problem,
)
from components.definitions import response_definition
from components.limits import (
    LAMBDA_ENVIRONMENT_BYTES,
    check_component_name,
    environment_overflow,
    lambda_log_group_name,
    reserved_names,
    workflow_log_group_name,
)
from components.organization import ACCOUNT_ID, PRINCIPAL, REGION, finding_bus_policy_json, first_invalid
from components.patterns import event_pattern_json, pattern_size_problem, scoped_patterns_for
from components.workflow import standard_workflow
from handlers.settings import (
    ENV_ACTION_TYPES,
    ENV_DNS_FIREWALL_DOMAIN_LIST_ID,
    ENV_DNS_FIREWALL_MAX_DOMAINS,
    ENV_DOMAIN_BLOCKING,
    ENV_DOMAIN_RULE_GROUP_ARN,
    ENV_FINDING_ACCOUNTS,
    ENV_FINDING_REGIONS,
    ENV_FINDING_TYPE_EXCLUDE,
    ENV_FINDING_TYPE_INCLUDE,
    ENV_MIN_SEVERITY,
    ENV_ON_CAPACITY_FULL,
    ENV_PROTECTED_CIDRS,
    ENV_PROTECTED_DOMAINS,
    ENV_RETENTION_MINUTES,
    ENV_RULE_GROUP_ARN,
    ENV_RULE_PRIORITY,
    ENV_TABLE_NAME,
    DomainBlocking,
    Settings,
)

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
)
ANNOTATE_FUNCTION: Final = FunctionSpec("annotate", "handlers.entry.annotate", 60)
"""Only with ``update_findings``: the one function allowed securityhub:BatchUpdateFindings. Its
backoff (5 attempts, at most 2 s apart) ends well inside the timeout."""
FINDING_SOURCES: Final = ("securityhub", "guardduty", "both")
EVENT_MAX_AGE_SECONDS: Final = 86400
"""EventBridge's maximum: a flagged host is still worth blocking after an outage of a few hours."""
EVENT_MAX_RETRIES: Final = 185
"""EventBridge's maximum; what still fails lands in the dead-letter queue rather than vanishing."""
DEAD_LETTER_RETENTION_SECONDS: Final = 14 * 24 * 3600
REPOPULATE_SOURCE: Final = "nfw-blocklist.deploy"
SETTINGS_FIELDS: Final = {
    ENV_RULE_PRIORITY: "rule_priority",
    ENV_RETENTION_MINUTES: "retention_minutes",
    ENV_PROTECTED_CIDRS: "protected_cidrs",
    ENV_MIN_SEVERITY: "min_severity",
    ENV_FINDING_TYPE_INCLUDE: "finding_type_include",
    ENV_FINDING_TYPE_EXCLUDE: "finding_type_exclude",
    ENV_ON_CAPACITY_FULL: "on_capacity_full",
    ENV_ACTION_TYPES: "action_types",
    ENV_FINDING_REGIONS: "finding_regions",
    ENV_FINDING_ACCOUNTS: "finding_accounts",
    ENV_DOMAIN_BLOCKING: "domain_blocking",
    ENV_PROTECTED_DOMAINS: "protected_domains",
    ENV_DNS_FIREWALL_MAX_DOMAINS: "dns_firewall_max_domains",
}
"""The Settings field behind each variable of the functions' environment (the names in errors)."""


@dataclass
class ResponseStateMachineArgs:
    """Inputs of ResponseStateMachine."""

    admin_email: pulumi.Input[str]
    """E-mail address subscribed to the notification topic; required (AWS asks it to confirm)."""
    table_name: pulumi.Input[str]
    """Ledger table name (BlocklistRuleGroup.table_name); required."""
    table_arn: pulumi.Input[str]
    """Ledger table ARN (BlocklistRuleGroup.table_arn); required."""
    rule_group_arn: pulumi.Input[str]
    """Rule group ARN (BlocklistRuleGroup.rule_group_arn); required."""
    domain_rule_group_arn: pulumi.Input[str] | None = None
    """Stateful domain-list rule group ARN (BlocklistRuleGroup.domain_rule_group_arn); required when
    ``settings.domain_blocking`` includes network-firewall, else default none."""
    dns_firewall_domain_list_id: pulumi.Input[str] | None = None
    """DNS Firewall domain list id (DnsFirewall.domain_list_id); required when ``settings.domain_blocking``
    includes dns-firewall, else default none."""
    dns_firewall_domain_list_arn: pulumi.Input[str] | None = None
    """That list's ARN (DnsFirewall.domain_list_arn), the only one the functions may write; required with
    the id."""
    settings: Settings | None = None
    """The handlers' policy (priority, retention, filters); default Settings' defaults. Its table and rule
    group names are ignored: the functions get table_name and rule_group_arn. ``rule_priority`` (1..65434)
    is where the functions write the source rule, the destination rule 100 above; changing it moves the
    owned rules at once (see the repopulation below)."""
    finding_source: str = "securityhub"
    """Events that start the workflow: securityhub, guardduty or both; default securityhub."""
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    """Retention of the functions' and the workflow's logs; default 30 days (a CloudWatch Logs value)."""
    runtime: str = RUNTIME
    """Lambda runtime; default python3.13."""
    handlers_path: str | None = None
    """Directory of the handlers package to deploy; default the installed ``handlers`` package."""
    tracing: bool = False
    """X-Ray tracing of the state machine (its role may then send traces); default False."""
    update_findings: bool | None = None
    """Annotate the Security Hub findings acted on (an ``annotate`` function and two workflow states);
    default on when finding_source is securityhub or both. On with guardduty alone is refused."""
    tags: pulumi.Input[dict[str, pulumi.Input[str]]] | None = None
    """Tags for every child resource; default none."""
    accept_findings_from: Sequence[str] = ()
    """Account IDs and organization IDs (``o-...``) allowed to put findings on a finding bus of this
    component's own, which gets the same rules as the default bus; default none: no finding bus. Which
    findings the rules match is ``settings.finding_regions`` / ``finding_accounts``."""

    def validate(self) -> None:
        bad = first_invalid(self.accept_findings_from, PRINCIPAL)
        if bad is not None:
            raise ValueError(
                "accept_findings_from must be a list of 12-digit account IDs or organization IDs (o-...), "
                f"got {bad!r}"
            )
        if self.finding_source not in FINDING_SOURCES:
            raise ValueError(
                f"finding_source must be one of {', '.join(FINDING_SOURCES)}, got {self.finding_source!r}"
            )
        if self.update_findings and self.finding_source == "guardduty":
            raise ValueError(
                "update_findings needs Security Hub findings (finding_source securityhub or both): "
                "native GuardDuty findings have no Security Hub finding to update"
            )
        problem = log_retention_problem(self.log_retention_days)
        if problem is not None:
            raise ValueError(f"log_retention_days must be {problem}; got {self.log_retention_days!r}")
        if not Path(self.resolved_handlers_path()).joinpath("__init__.py").is_file():
            raise ValueError(f"handlers_path {self.resolved_handlers_path()} is not a Python package")
        settings = self.resolved_settings()
        priority = settings.rule_priority
        if isinstance(priority, bool) or not 1 <= priority <= MAX_SOURCE_PRIORITY:
            raise ValueError(
                f"settings.rule_priority must be from 1 to {MAX_SOURCE_PRIORITY} (the destination rule sits "
                f"100 above it, below the placeholder at 65535), got {priority!r}"
            )
        if DomainBlocking.NETWORK_FIREWALL.value in settings.domain_blocking.points and (
            self.domain_rule_group_arn is None
        ):
            raise ValueError(
                f"settings.domain_blocking {settings.domain_blocking} blocks domains in Network Firewall: "
                "domain_rule_group_arn (BlocklistRuleGroup with domain_capacity) is required"
            )
        if DomainBlocking.DNS_FIREWALL.value in settings.domain_blocking.points and (
            self.dns_firewall_domain_list_id is None or self.dns_firewall_domain_list_arn is None
        ):
            raise ValueError(
                f"settings.domain_blocking {settings.domain_blocking} blocks domains in DNS Firewall: "
                "dns_firewall_domain_list_id and dns_firewall_domain_list_arn (DnsFirewall) are required"
            )
        overflow = environment_overflow(settings.policy_environment(), reserved_names(settings))
        if overflow is not None:
            total, variable = overflow
            raise ValueError(
                f"settings.{SETTINGS_FIELDS[variable]} is too long: it makes the functions' environment "
                f"up to {total} bytes ({variable} the largest) and Lambda accepts "
                f"{LAMBDA_ENVIRONMENT_BYTES} in all"
            )
        bad_region = first_invalid(settings.finding_regions, REGION)
        if bad_region is not None:
            raise ValueError(f"settings.finding_regions must be AWS region names, got {bad_region!r}")
        bad_account = first_invalid(settings.finding_accounts, ACCOUNT_ID)
        if bad_account is not None:
            raise ValueError(f"settings.finding_accounts must be 12-digit account IDs, got {bad_account!r}")
        problem = pattern_size_problem(self.patterns())
        if problem is not None:
            raise ValueError(
                f"settings.finding_accounts and finding_regions: together with the rest, it {problem}"
            )

    def patterns(self) -> dict[str, dict[str, Any]]:
        """Every rule's pattern, on every bus: the finding source narrowed by the settings' filters."""
        settings = self.resolved_settings()
        return scoped_patterns_for(
            self.finding_source,
            settings.action_types,
            settings.finding_regions,
            settings.finding_accounts,
            settings.domain_blocking is not DomainBlocking.OFF,
        )

    def annotates(self) -> bool:
        if self.update_findings is None:
            return self.finding_source != "guardduty"
        return self.update_findings

    def resolved_settings(self) -> Settings:
        return self.settings or Settings(table_name="", rule_group_arn="")

    def resolved_handlers_path(self) -> str:
        return self.handlers_path or str(Path(handlers.__file__).resolve().parent)


def handlers_archive(package_dir: str) -> pulumi.AssetArchive:
    """The deployment package: the handlers package alone, at ``handlers/`` in the zip, without caches."""
    root = Path(package_dir)
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {
        f"handlers/{path.relative_to(root).as_posix()}": pulumi.FileAsset(str(path))
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
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
    settings: Settings,
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
        triggers=repopulation_triggers(
            settings, table_name, rule_group_arn, domain_rule_group_arn, dns_firewall_domain_list_id
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[prune_function]),
    )


@dataclass(frozen=True)
class RuleWiring:
    """What every finding rule of one component shares, whichever bus it is on."""

    patterns: Mapping[str, Mapping[str, Any]]
    """Short source name -> event pattern (``components.patterns.scoped_patterns_for``)."""
    state_machine_arn: pulumi.Input[str]
    target_roles: Mapping[str, aws.iam.Role]
    """Per source: the role the target starts the workflow as."""
    target_policies: Mapping[str, Any]
    """Per source: the role's policy, which a target must wait for."""
    dead_letter_queue_arn: pulumi.Input[str]
    tags: Any


def finding_rules(
    prefix: str, bus_name: pulumi.Input[str] | None, wiring: RuleWiring, parent: pulumi.Resource
) -> list[aws.cloudwatch.EventRule]:
    """One rule per pattern on one bus (None: the default bus), each starting the workflow with the same
    retry policy and dead-letter queue: every bus of a component gets exactly these rules."""
    rules = []
    for source, pattern in wiring.patterns.items():
        rule = aws.cloudwatch.EventRule(
            f"{prefix}-{source}",
            description=f"nfw-blocklist: {source} findings with a remote host start the workflow",
            event_pattern=event_pattern_json(pattern),
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
    with ``update_findings``), their roles and
    log groups, the KMS-encrypted topic with the admin's e-mail subscription, the EventBridge rules with
    their roles, retry policy and dead-letter queue, and the repopulation: a prune invoked during
    ``pulumi up`` when the rule group, the priority, the protected ranges or the table change.
    """

    state_machine_arn: pulumi.Output[str]
    topic_arn: pulumi.Output[str]
    topic_key_arn: pulumi.Output[str]
    record_function_name: pulumi.Output[str]
    record_function_arn: pulumi.Output[str]
    block_function_name: pulumi.Output[str]
    block_function_arn: pulumi.Output[str]
    prune_function_name: pulumi.Output[str]
    prune_function_arn: pulumi.Output[str]
    annotate_function_name: pulumi.Output[str] | None
    """Only with ``update_findings``: the function that annotates Security Hub findings."""
    dead_letter_queue_arn: pulumi.Output[str]
    finding_bus_arn: pulumi.Output[str] | None
    """Only with ``accept_findings_from``: the bus other accounts' forwarders send findings to."""

    def __init__(
        self, name: str, args: ResponseStateMachineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TOKEN, name, None, opts)
        check_component_name(name)
        args.validate()
        child = pulumi.ResourceOptions(parent=self)
        settings = args.resolved_settings()
        project, stack = pulumi.get_project(), pulumi.get_stack()
        specs = (*FUNCTIONS, ANNOTATE_FUNCTION) if args.annotates() else FUNCTIONS
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
            tags=args.tags,
            opts=child,
        )
        topic = aws.sns.Topic(f"{name}-notifications", kms_master_key_id=key.arn, tags=args.tags, opts=child)
        aws.sns.TopicSubscription(
            f"{name}-admin-email", topic=topic.arn, protocol="email", endpoint=args.admin_email, opts=child
        )

        code = handlers_archive(args.resolved_handlers_path())
        environment = function_environment(
            settings,
            args.table_name,
            args.rule_group_arn,
            args.domain_rule_group_arn,
            args.dns_firewall_domain_list_id,
        )
        # The annotate function reads none of the policy: its environment stays small whatever the list sizes.
        annotate_environment = {
            ENV_TABLE_NAME: args.table_name,
            ENV_RULE_GROUP_ARN: args.rule_group_arn,
            **settings.annotation_environment(),
        }
        functions: dict[str, aws.lambda_.Function] = {}
        for spec in specs:
            log_group = aws.cloudwatch.LogGroup(
                f"{name}-{spec.key}-logs",
                name=log_group_names[spec.key],
                retention_in_days=args.log_retention_days,
                tags=args.tags,
                opts=child,
            )
            role = _role(f"{name}-{spec.key}-role", iam.LAMBDA_PRINCIPAL, child, args.tags)
            if spec.key == "record":
                document = iam.record_function_policy(args.table_arn, log_group.arn)
            elif spec.key == ANNOTATE_FUNCTION.key:
                document = iam.annotate_function_policy(
                    iam.security_hub_resource(args.rule_group_arn), log_group.arn
                )
            else:
                document = iam.sync_function_policy(
                    args.table_arn,
                    args.rule_group_arn,
                    log_group.arn,
                    args.domain_rule_group_arn,
                    args.dns_firewall_domain_list_arn,
                )
            policy = _role_policy(f"{name}-{spec.key}-policy", role, document, child)
            functions[spec.key] = aws.lambda_.Function(
                f"{name}-{spec.key}",
                role=role.arn,
                runtime=args.runtime,
                architectures=[ARCHITECTURE],
                handler=spec.handler,
                code=code,
                timeout=spec.timeout_seconds,
                memory_size=MEMORY_MB,
                environment={"variables": annotate_environment if spec is ANNOTATE_FUNCTION else environment},
                logging_config={"log_format": "JSON", "log_group": log_group.name},
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )

        repopulate(
            name,
            self,
            functions["prune"],
            settings,
            args.table_name,
            args.rule_group_arn,
            args.domain_rule_group_arn,
            args.dns_firewall_domain_list_id,
        )

        workflow_functions = [functions["record"].arn, functions["block"].arn]
        if ANNOTATE_FUNCTION.key in functions:
            workflow_functions.append(functions[ANNOTATE_FUNCTION.key].arn)
        definition = pulumi.Output.all(topic.arn, *workflow_functions).apply(
            lambda arns: json.dumps(
                response_definition(arns[1], arns[2], arns[0], arns[3] if len(arns) > 3 else None), indent=2
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
            args.log_retention_days,
            args.tracing,
            args.tags,
        )

        dead_letters = aws.sqs.Queue(
            f"{name}-dead-letters",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            tags=args.tags,
            opts=child,
        )
        patterns = args.patterns()
        target_roles = {
            source: _role(f"{name}-{source}-target-role", iam.EVENTS_PRINCIPAL, child, args.tags)
            for source in patterns
        }
        wiring = RuleWiring(
            patterns=patterns,
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
            tags=args.tags,
        )
        rules = finding_rules(name, None, wiring, self)
        self.finding_bus_arn = None
        if args.accept_findings_from:
            # Findings forwarded from other accounts and regions arrive on a bus of their own, whose policy
            # lets only the accepted accounts and organizations put events; the same rules route them.
            bus = aws.cloudwatch.EventBus(f"{name}-findings", tags=args.tags, opts=child)
            aws.cloudwatch.EventBusPolicy(
                f"{name}-findings-policy",
                event_bus_name=bus.name,
                policy=bus.arn.apply(lambda arn: finding_bus_policy_json(arn, args.accept_findings_from)),
                opts=child,
            )
            rules += finding_rules(f"{name}-findings", bus.name, wiring, self)
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
            "dead_letter_queue_arn": self.dead_letter_queue_arn,
        }
        if self.finding_bus_arn is not None:
            outputs["finding_bus_arn"] = self.finding_bus_arn
        if self.annotate_function_name is not None:
            outputs["annotate_function_name"] = self.annotate_function_name
        self.register_outputs(outputs)
