"""ResponseStateMachine: functions, workflow, topic, event rules, each wired to the right resources."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import handlers
from components.config import InvalidConfig, StackConfig
from components.limits import LAMBDA_ENVIRONMENT_BYTES, environment_size
from components.patterns import (
    custom_action_pattern,
    guardduty_pattern,
    security_hub_archived_pattern,
    security_hub_pattern,
)
from components.response import (
    BUNDLED_PACKAGES,
    LAMBDA_RUNTIME_PACKAGES,
    ResponseStateMachine,
    function_environment,
    handlers_archive,
)
from handlers.settings import ENV_RULE_GROUP_ARN, ENV_TABLE_NAME, Settings

FUNCTION = "aws:lambda/function:Function"
INVOCATION = "aws:lambda/invocation:Invocation"
TOO_MANY_CIDRS = tuple(f"2001:db8:{i:x}::/48" for i in range(200))
"""200 IPv6 ranges: about 4.6 KB of JSON, over Lambda's 4 KB for the whole environment."""


@pytest.fixture(scope="module")
def dev(render_dev):
    return render_dev()


@pytest.mark.parametrize(
    ("key", "handler", "timeout"),
    [
        ("record", "handlers.entry.record", 30),
        ("block", "handlers.entry.block", 120),
        ("prune", "handlers.entry.prune", 300),
    ],
)
def test_each_function_runs_its_entry_point_on_arm64_python(dev, key, handler, timeout):
    function = dev.by_name(f"nfw-blocklist-{key}")
    assert function.inputs["handler"] == handler
    assert function.inputs["timeout"] == timeout
    assert function.inputs["runtime"] == "python3.13"
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["memorySize"] == 256
    assert "reservedConcurrentExecutions" not in function.inputs


def test_functions_get_the_table_rule_group_and_policy_from_the_environment(dev):
    table = dev.by_name("nfw-blocklist-ledger")
    group = dev.by_name("nfw-blocklist-rules")
    for function in dev.of_type(FUNCTION):
        variables = function.inputs["environment"]["variables"]
        assert variables[ENV_TABLE_NAME] == table.state["name"], function.urn
        assert variables[ENV_RULE_GROUP_ARN] == group.state["arn"], function.urn
        settings = Settings.from_env(variables)
        assert (settings.rule_priority, settings.retention_minutes) == (30000, 720)


def test_config_overrides_reach_the_functions_environment(render_dev):
    rendered = render_dev(retentionMinutes="60", onCapacityFull="refuse")
    settings = Settings.from_env(rendered.by_name("nfw-blocklist-block").inputs["environment"]["variables"])
    assert (settings.retention_minutes, settings.on_capacity_full.value) == (60, "refuse")


def test_archive_holds_the_handlers_and_the_packages_they_bundle_without_caches(dev):
    assets = dev.by_name("nfw-blocklist-record").inputs["code"]["assets"]
    package = Path(handlers.__file__).parent
    expected = {
        f"handlers/{p.relative_to(package).as_posix()}"
        for p in package.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert set(assets) >= expected | {"idna/__init__.py", "idna/core.py", "idna/uts46data.py"}
    assert {name.split("/")[0] for name in assets} == {"handlers", *BUNDLED_PACKAGES}
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in assets)
    assert assets["handlers/settings.py"] == {"path": str(package / "settings.py")}


def test_archive_skips_compiled_files(tmp_path):
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "stale.pyc").write_bytes(b"")

    handlers_files = {name for name in handlers_archive(str(tmp_path)).assets if name.startswith("handlers/")}
    assert handlers_files == {"handlers/__init__.py"}


def _imported_roots(source: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_every_package_the_handlers_import_is_in_the_zip_or_the_lambda_runtime():
    package = Path(handlers.__file__).parent
    imported = set().union(*(_imported_roots(path) for path in package.rglob("*.py")))
    available = set(sys.stdlib_module_names) | {"handlers", *BUNDLED_PACKAGES, *LAMBDA_RUNTIME_PACKAGES}
    assert imported - available == set()
    assert "idna" in imported


def test_the_lambda_package_imports_every_handler_module_with_only_the_runtimes_packages(tmp_path):
    # GIVEN the zip's files, unpacked as Lambda unpacks them, and the runtime's own packages beside them
    task = tmp_path / "task"
    for name, asset in handlers_archive(str(Path(handlers.__file__).parent)).assets.items():
        (task / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset.path, task / name)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site = Path(boto3.__file__).parents[1]
    for name in LAMBDA_RUNTIME_PACKAGES:
        found = site / name if (site / name).is_dir() else site / f"{name}.py"
        (runtime / found.name).symlink_to(found)
    modules = sorted(f"handlers.{p.stem}" for p in (task / "handlers").glob("*.py") if p.stem != "__init__")
    script = (
        f"import sys; sys.path[:0] = [{str(task)!r}, {str(runtime)!r}]; import importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "from handlers.domains import canonical_domain; print(canonical_domain('straße.de'))"
    )
    # WHEN a Python without site-packages (-S) and without this checkout on its path (-I) imports them
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    # THEN every module imports, and the IDNA2008 code is the zip's own
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "xn--strae-oqa.de"


@pytest.mark.parametrize("key", ["record", "block", "prune"])
def test_each_function_logs_to_its_own_group_with_retention(dev, key):
    function = dev.by_name(f"nfw-blocklist-{key}")
    group = dev.by_name(f"nfw-blocklist-{key}-logs")
    assert (
        function.inputs["loggingConfig"]["logGroup"]
        == group.inputs["name"]
        == f"/aws/lambda/nfw-blocklist/dev/nfw-blocklist-{key}"
    )
    assert group.inputs["retentionInDays"] == 30


def test_functions_are_auto_named_so_stacks_and_instances_never_collide(dev):
    for function in dev.of_type(FUNCTION):
        assert "name" not in function.inputs, function.urn


def test_the_prune_function_repopulates_the_group_during_the_deployment(dev):
    (invocation,) = dev.of_type(INVOCATION)
    prune = dev.by_name("nfw-blocklist-prune")
    group = dev.by_name("nfw-blocklist-rules")
    assert invocation.parent == dev.by_name("nfw-blocklist-response-logs").parent, invocation.urn
    assert invocation.inputs["functionName"] == prune.state["name"]
    assert json.loads(invocation.inputs["input"])["source"] == "nfw-blocklist.deploy"
    assert invocation.inputs.get("lifecycleScope", "CREATE_ONLY") == "CREATE_ONLY"
    assert invocation.inputs["triggers"] == {
        "ruleGroupArn": group.state["arn"],
        "rulePriority": "30000",
        "protectedCidrs": "[]",
        "tableName": dev.by_name("nfw-blocklist-ledger").state["name"],
        "domainBlocking": "network-firewall",
        "protectedDomains": "[]",
        "domainRuleGroupArn": dev.by_name("nfw-blocklist-domains-strict").state["arn"],
    }


@pytest.mark.parametrize(
    ("overrides", "trigger", "value"),
    [
        ({"ruleGroupPriority": "100"}, "rulePriority", "100"),
        ({"protectedCidrs": '["203.0.113.0/24"]'}, "protectedCidrs", '["203.0.113.0/24"]'),
    ],
)
def test_a_priority_or_protected_range_change_triggers_the_repopulation(
    render_dev, overrides, trigger, value
):
    # A trigger that changes replaces the invocation, so the prune runs again in that `pulumi up`: the
    # owned rules move to the new priority and newly protected hosts leave the group at once.
    (invocation,) = render_dev(**overrides).of_type(INVOCATION)
    assert invocation.inputs["triggers"][trigger] == value


def test_response_workflow_calls_the_functions_and_topic_it_was_built_with(dev):
    machine = dev.by_name("nfw-blocklist-response")
    definition = json.loads(machine.inputs["definition"])
    assert definition["States"]["RecordHosts"]["Resource"] == dev.by_name("nfw-blocklist-record").state["arn"]
    assert definition["States"]["BlockHosts"]["Resource"] == dev.by_name("nfw-blocklist-block").state["arn"]
    topic = dev.by_name("nfw-blocklist-notifications").state["arn"]
    assert definition["States"]["NotifySuccess"]["Parameters"]["TopicArn"] == topic
    assert definition["States"]["NotifyFailure"]["Parameters"]["TopicArn"] == topic


def test_response_workflow_is_standard_runs_as_its_role_and_logs_errors(dev):
    machine = dev.by_name("nfw-blocklist-response")
    logs = dev.by_name("nfw-blocklist-response-logs")
    assert machine.inputs["type"] == "STANDARD"
    assert machine.inputs["roleArn"] == dev.by_name("nfw-blocklist-response-role").state["arn"]
    assert machine.inputs["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": False,
        "logDestination": f"{logs.state['arn']}:*",
    }


def test_topic_is_encrypted_with_its_own_rotating_key_and_mails_the_admin(dev):
    (key,) = dev.of_type("aws:kms/key:Key")
    topic = dev.by_name("nfw-blocklist-notifications")
    (subscription,) = dev.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert topic.inputs["kmsMasterKeyId"] == key.state["arn"]
    assert key.inputs["enableKeyRotation"] is True
    assert (
        subscription.inputs["topic"],
        subscription.inputs["protocol"],
        subscription.inputs["endpoint"],
    ) == (
        topic.state["arn"],
        "email",
        "security-team@example.com",
    )


def test_default_stack_listens_to_security_hub_only(dev):
    rules = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in dev.of_type("aws:cloudwatch/eventRule:EventRule")
    }
    assert rules["nfw-blocklist-securityhub"] == security_hub_pattern(domains=True)
    assert rules["nfw-blocklist-actions"]["detail-type"] == ["Security Hub Findings - Custom Action"]
    assert rules["nfw-blocklist-archived"] == security_hub_archived_pattern()
    assert len(rules) == 3


def test_the_analysts_three_custom_actions_start_the_workflow(dev):
    actions = {a.inputs["name"]: a for a in dev.of_type("aws:securityhub/actionTarget:ActionTarget")}
    rule = json.loads(dev.by_name("nfw-blocklist-actions").inputs["eventPattern"])

    assert sorted(actions) == ["Block now", "Extend block", "Unblock (false pos)"]
    assert all(re.fullmatch(r"[A-Za-z0-9]{1,20}", a.inputs["identifier"]) for a in actions.values())
    assert all(len(name) < 20 for name in actions)
    assert rule == custom_action_pattern([a.state["arn"] for a in actions.values()])
    assert rule["resources"][0].startswith("arn:aws:securityhub:us-east-1:123456789012:action/custom/Nfw")


def test_two_stacks_in_one_account_get_distinct_custom_action_ids(dev):
    from nfw_blocklist.render import render_stack

    other = render_stack("prod", stack_file=Path(__file__).resolve().parents[2] / "Pulumi.dev.yaml")
    ids = {a.inputs["identifier"] for a in dev.of_type("aws:securityhub/actionTarget:ActionTarget")}
    others = {a.inputs["identifier"] for a in other.of_type("aws:securityhub/actionTarget:ActionTarget")}

    assert len(ids) == len(others) == 3 and not ids & others


def test_a_native_guardduty_stack_has_no_custom_actions(render_dev):
    rendered = render_dev(findingSource="guardduty")

    assert rendered.of_type("aws:securityhub/actionTarget:ActionTarget") == []


def test_without_domain_blocking_dns_findings_do_not_start_the_workflow(render_dev):
    rendered = render_dev(findingSource="both", domainBlocking="off")
    patterns = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in rendered.of_type("aws:cloudwatch/eventRule:EventRule")
    }
    patterns.pop("nfw-blocklist-actions")
    patterns.pop("nfw-blocklist-archived")
    assert patterns == {
        "nfw-blocklist-securityhub": security_hub_pattern(),
        "nfw-blocklist-guardduty": guardduty_pattern(),
    }
    assert not [
        r for r in rendered.of_type("aws:networkfirewall/ruleGroup:RuleGroup") if "-domains" in r.name
    ]


def test_both_sources_add_a_native_guardduty_rule_with_opted_in_actions(render_dev):
    rendered = render_dev(findingSource="both", actionTypes='["rdsLoginAttemptAction"]')
    opt_in = ["rdsLoginAttemptAction"]
    patterns = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in rendered.of_type("aws:cloudwatch/eventRule:EventRule")
    }
    patterns.pop("nfw-blocklist-actions")
    patterns.pop("nfw-blocklist-archived")
    assert patterns == {
        "nfw-blocklist-securityhub": security_hub_pattern(opt_in, domains=True),
        "nfw-blocklist-guardduty": guardduty_pattern(opt_in, domains=True),
    }
    assert len(rendered.of_type("aws:cloudwatch/eventTarget:EventTarget")) == 4


def test_event_target_starts_the_workflow_with_retries_and_a_dead_letter_queue(dev):
    (target,) = [t for t in dev.of_type("aws:cloudwatch/eventTarget:EventTarget") if "securityhub" in t.name]
    (queue,) = dev.of_type("aws:sqs/queue:Queue")
    assert target.inputs["rule"] == dev.by_name("nfw-blocklist-securityhub").state["name"]
    assert target.inputs["arn"] == dev.by_name("nfw-blocklist-response").state["arn"]
    assert target.inputs["roleArn"] == dev.by_name("nfw-blocklist-securityhub-target-role").state["arn"]
    assert target.inputs["retryPolicy"] == {"maximumEventAgeInSeconds": 86400, "maximumRetryAttempts": 185}
    assert target.inputs["deadLetterConfig"] == {"arn": queue.state["arn"]}


def test_dead_letter_queue_is_encrypted_and_its_policy_is_attached(dev):
    (queue,) = dev.of_type("aws:sqs/queue:Queue")
    (policy,) = dev.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert policy.inputs["queueUrl"] == queue.state["url"]


RULE_GROUP_ARN = "arn:aws:network-firewall:us-east-1:123456789012:stateless-rulegroup/g"
REQUIRED = {
    "admin_email": "a@example.com",
    "table_name": "t",
    "table_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
    "rule_group_arn": RULE_GROUP_ARN,
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"finding_source": "cloudtrail"},
            "findingSource (finding_source) must be one of securityhub",
        ),
        ({"log_retention_days": 0}, "logRetentionDays (log_retention_days) must be"),
        (
            {"log_retention_days": 45},
            "logRetentionDays (log_retention_days) must be a CloudWatch Logs retention: 1, 3, 5",
        ),
        ({"log_retention_days": True}, "logRetentionDays (log_retention_days) must be"),
        ({"handlers_path": "/nonexistent"}, "handlersPath (handlers_path) must be the directory of a Python"),
        (
            {"rule_group_priority": 65435},
            "ruleGroupPriority (rule_group_priority) must be an integer",
        ),
        ({"admin_email": "nobody"}, "adminEmail (admin_email) must be an e-mail address"),
        (
            {"on_capacity_full": "drop"},
            "onCapacityFull (on_capacity_full) must be one of evict-oldest",
        ),
        (
            {"protected_cidrs": TOO_MANY_CIDRS},
            "protectedCidrs (protected_cidrs) is too long: it makes the functions' environment up to",
        ),
    ],
)
def test_invalid_arguments_are_refused_naming_the_input(construct, changes, message):
    with pytest.raises(ValueError, match=re.escape(f"ResponseStateMachine 'x': {message}")):
        construct(ResponseStateMachine, {**REQUIRED, **changes})


def test_the_environment_check_counts_every_key_and_value_against_lambdas_limit(construct):
    rendered = construct(ResponseStateMachine, {**REQUIRED, "protected_cidrs": TOO_MANY_CIDRS[:150]})
    settings = Settings(table_name="", rule_group_arn="", protected_cidrs=TOO_MANY_CIDRS[:150])
    assert rendered.by_name("x-record").inputs["environment"]["variables"] == function_environment(
        settings, "t", RULE_GROUP_ARN
    )
    # The longest table name and rule group ARN still fit beside the 150 ranges accepted above.
    environment = function_environment(settings, "t" * 255, "a" * 256)
    assert environment_size(environment) <= LAMBDA_ENVIRONMENT_BYTES


def test_a_protected_list_too_long_for_the_functions_environment_names_the_setting():
    with pytest.raises(InvalidConfig, match=r"^nfw-blocklist:protectedCidrs is too long") as raised:
        StackConfig.from_mapping(
            {"adminEmail": "a@example.com", "protectedCidrs": json.dumps(list(TOO_MANY_CIDRS))}
        )
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"finding_source": "guardduty", "update_findings": True},
            "updateFindings (update_findings) needs Security Hub findings",
        ),
        (
            {"domain_blocking": "network-firewall"},
            "domainBlocking (domain_blocking) network-firewall blocks domains in Network Firewall: "
            "domainRuleGroupArn",
        ),
        (
            {"domain_blocking": "dns-firewall", "dns_firewall_domain_list_id": "rslvr-fdl-1"},
            "domainBlocking (domain_blocking) dns-firewall blocks domains in DNS Firewall: "
            "dnsFirewallDomainListId and dnsFirewallDomainListArn",
        ),
    ],
)
def test_domain_and_annotation_inputs_need_what_they_write_to(construct, changes, message):
    with pytest.raises(ValueError, match=re.escape(f"ResponseStateMachine 'x': {message}")):
        construct(ResponseStateMachine, {**REQUIRED, **changes})
