"""The two workflows driven through the sandbox's API, for what the CLI cannot reach: edits behind
the tool's back and a rule group that disappears."""

from tests.e2e.conftest import break_function

REFERENCE_HOST = "198.51.100.0/32"


def _owned_rules(sandbox):
    rules = sandbox.describe_rule_group()["RuleGroup"]["RulesSource"]["StatelessRulesAndCustomActions"]
    return {rule["Priority"]: rule for rule in rules["StatelessRules"] if rule["Priority"] in (30000, 30100)}


def _remove_owned_rules_behind_the_tools_back(sandbox):
    firewall = sandbox.client("network-firewall")
    current = firewall.describe_rule_group(RuleGroupArn=sandbox.rule_group_arn)
    group = current["RuleGroup"]
    stateless = group["RulesSource"]["StatelessRulesAndCustomActions"]
    stateless["StatelessRules"] = [
        r for r in stateless["StatelessRules"] if r["Priority"] not in (30000, 30100)
    ]
    firewall.update_rule_group(
        RuleGroupArn=sandbox.rule_group_arn, UpdateToken=current["UpdateToken"], RuleGroup=group
    )


def test_pruning_repairs_rules_edited_behind_the_tools_back(dev_sandbox, reference_event):
    dev_sandbox.put_event(reference_event)
    _remove_owned_rules_behind_the_tools_back(dev_sandbox)
    assert _owned_rules(dev_sandbox) == {}

    run = dev_sandbox.run_pruning()

    assert run.status == "SUCCEEDED"
    assert run.entered_states == ["PruneExpired", "AnythingPruned", "NotifyPruned"]
    assert run.task_output("prune")["drift"]["added"] == [REFERENCE_HOST]
    assert set(_owned_rules(dev_sandbox)) == {30000, 30100}
    assert dev_sandbox.notifications()[-1]["DriftRepaired"]["added"] == [REFERENCE_HOST]


def test_a_pruning_run_with_nothing_to_do_ends_quietly(dev_sandbox):
    run = dev_sandbox.run_pruning()

    assert run.status == "SUCCEEDED"
    assert run.entered_states == ["PruneExpired", "AnythingPruned", "NothingPruned"]
    assert dev_sandbox.notifications() == []


def test_a_missing_rule_group_is_notified_as_the_hosts_not_blocked_there_and_fails_the_response(
    dev_sandbox, reference_event
):
    dev_sandbox.client("network-firewall").delete_rule_group(RuleGroupArn=dev_sandbox.rule_group_arn)

    [run] = dev_sandbox.put_event(reference_event)

    assert run.status == "FAILED"
    assert run.entered_states[-3:] == ["NotifySuccess", "AnyTargetNotBlocked", "TargetsNotBlocked"]
    notification = dev_sandbox.notifications()[-1]
    assert notification["Blocked"] == "false"
    [failed] = notification["NotBlocked"]
    assert (failed["Kind"], failed["Targets"], failed["Error"]) == (
        "address",
        ["198.51.100.0/32"],
        "RuleGroupNotFound",
    )


def test_a_failing_block_function_fails_the_response_through_notify_failure(dev_sandbox, reference_event):
    break_function(dev_sandbox, "block")

    [run] = dev_sandbox.put_event(reference_event)

    assert run.status == "FAILED"
    assert run.entered_states[-8:] == [
        "BlockFailed", "DescribeBlockFailure", "CauseFromLambda", "ReadLambdaCause", "LambdaReason",
        "FormatFailure", "NotifyFailure", "Failed",
    ]  # fmt: skip
    failure = dev_sandbox.notifications()[-1]
    assert (failure["Blocked"], failure["Error"]) == ("false", "ConfigurationError")
    assert failure["Targets"]["address"]["sample"] == ["198.51.100.0/32"]


def test_a_failing_record_function_fails_the_response_naming_the_event(dev_sandbox, reference_event):
    break_function(dev_sandbox, "record")

    [run] = dev_sandbox.put_event(reference_event)

    assert run.status == "FAILED"
    assert run.entered_states[:3] == ["RecordHosts", "FailureNamesEvent", "DescribeFailure"]
    failure = dev_sandbox.notifications()[-1]
    assert (failure["Error"], failure["EventId"], failure["Targets"]) == (
        "ConfigurationError",
        reference_event["id"],
        None,
    )


def test_a_missing_rule_group_fails_pruning_through_notify_failure(dev_sandbox):
    dev_sandbox.client("network-firewall").delete_rule_group(RuleGroupArn=dev_sandbox.rule_group_arn)

    run = dev_sandbox.run_pruning()

    assert run.status == "FAILED"
    assert run.entered_states == [
        "PruneExpired",
        "DescribeFailure",
        "CauseFromLambda",
        "ReadLambdaCause",
        "LambdaReason",
        "FormatFailure",
        "NotifyFailure",
        "Failed",
    ]
    assert dev_sandbox.notifications()[-1]["Error"] == "RuleGroupNotFound"
    email = dev_sandbox.email_notifications()[-1]
    assert email["subject"] == "nfw-blocklist dev (us-east-1): pruning failed"
    lines = str(email["text"]).splitlines()
    assert (
        lines[0] == "nfw-blocklist stack dev in us-east-1: the pruning workflow failed (RuleGroupNotFound)."
    )
    assert (
        lines[2].startswith("What failed: rule group arn:aws:network-firewall:")
        and "does not exist" in lines[2]
    )
    assert lines[3].startswith("What is blocked now: expired targets stay blocked")


def test_the_sandbox_deploys_every_emulated_resource_and_says_what_it_skipped(dev_sandbox):
    skipped_types = {urn.split("::")[2].split("$")[-1] for urn, _ in dev_sandbox.inventory.skipped}

    assert len(dev_sandbox.inventory.functions) == 5  # record, block, prune, annotate, steer
    assert {info.logical_name for info in dev_sandbox.inventory.state_machines.values()} == {
        "nfw-blocklist-response",
        "nfw-blocklist-pruning",
    }
    assert dev_sandbox.iam_gaps == []
    assert "aws:lambda/function:Function" not in skipped_types
