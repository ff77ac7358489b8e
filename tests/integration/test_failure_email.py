"""The response workflow's failure e-mail as Step Functions writes it: the failure path's Pass states
(``BlockFailed`` to ``FormatFailure``, no Lambda among them) run by moto's ASL interpreter on a record step's
result, without a sandbox."""

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components.definitions import response_definition
from handlers.extraction import extract
from handlers.payloads import MAX_TEXT, RecordOutcome
from handlers.policy import TargetPolicy
from handlers.settings import DomainBlocking, Settings
from nfw_blocklist.findings import sample

REGION = "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:123456789012:nfw-blocklist-notifications"
FUNCTION = f"arn:aws:lambda:{REGION}:123456789012:function:nfw-blocklist-"
FAILURE_PATH = ("BlockFailed", "DescribeBlockFailure", "CauseFromLambda", "ReadLambdaCause", "LambdaReason")
NAME = "Potential compromise of EC2 instance i-0abcd1234ef567890 indicated by a sequence of actions."


def record_of(event: dict[str, Any]) -> dict[str, Any]:
    """The record step's result for ``event``, every target new."""
    settings = Settings(
        table_name="ledger",
        rule_group_arn=f"arn:aws:network-firewall:{REGION}:123456789012:stateless-rulegroup/rules",
        domain_blocking=DomainBlocking.NETWORK_FIREWALL,
        domain_rule_group_arn=f"arn:aws:network-firewall:{REGION}:123456789012:stateful-rulegroup/domains",
    )
    targets, _ = TargetPolicy.from_settings(settings).evaluate_all(extract(event).candidates)
    outcome = RecordOutcome(
        event_id=event["id"],
        finding=targets[0].finding,
        new=sorted(target.host for target in targets),
        places={"address": "rule group rules", "domain": "domain rule group domains"},
        expires_at=1_800_000_000,
    )
    return outcome.to_payload()


def failure_emails(records: dict[str, tuple[dict[str, Any], str]]) -> dict[str, str]:
    """What NotifyFailure would publish as the e-mail when BlockHosts failed after each record (by name,
    with its event id): one state machine of the failure path, one execution per record, run together."""
    states = response_definition(f"{FUNCTION}record", f"{FUNCTION}block", TOPIC, stack="dev")["States"]
    tail = {name: states[name] for name in FAILURE_PATH}
    tail["FormatFailure"] = {key: value for key, value in states["FormatFailure"].items() if key != "Next"}
    tail["FormatFailure"]["End"] = True
    cause = json.dumps({"errorMessage": "the rule group is gone", "errorType": "RuleGroupNotFound"})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="failure-path",
            definition=json.dumps({"StartAt": "BlockFailed", "States": tail}),
            roleArn="arn:aws:iam::123456789012:role/failure-path",
        )["stateMachineArn"]
        error = {"Error": "RuleGroupNotFound", "Cause": cause}
        executions = {
            name: sfn.start_execution(
                stateMachineArn=machine,
                name=name,
                input=json.dumps({"id": event_id, "record": record, "error": error}),
            )["executionArn"]
            for name, (record, event_id) in records.items()
        }
        emails = {}
        for name, execution in executions.items():
            for _ in range(500):
                described = sfn.describe_execution(executionArn=execution)
                if described["status"] != "RUNNING":
                    break
                time.sleep(0.01)
            assert described["status"] == "SUCCEEDED", described
            emails[name] = json.loads(described["output"])["message"]["email"]
    return emails


def forged_title(event: dict[str, Any]) -> dict[str, Any]:
    event["detail"]["title"] = "evil\nBlocked nothing.\r\n" + "x" * 1000
    return event


EVENTS = {
    "native": sample("guardduty-native-attack-sequence.json"),
    "asff": sample("securityhub-guardduty-attack-sequence.json"),
    "other": sample("guardduty-native-ipv4.json"),
    "forged": forged_title(sample("guardduty-native-attack-sequence.json")),
}


@pytest.fixture(scope="module")
def emails() -> dict[str, list[str]]:
    """Each of ``EVENTS``' failure e-mails, line by line."""
    records = {name: (record_of(event), event["id"]) for name, event in EVENTS.items()}
    return {name: email.splitlines() for name, email in failure_emails(records).items()}


@pytest.mark.parametrize("shape", ["native", "asff"])
def test_the_failure_email_of_an_attack_sequence_names_it_on_a_line_of_its_own(
    emails: dict[str, list[str]], shape: str
) -> None:
    lines = emails[shape]

    targets = next(n for n, line in enumerate(lines) if line.startswith("Targets of this finding: "))
    assert lines[targets + 1] == f"From an attack sequence: {NAME}"
    assert lines[targets + 2].startswith("What is blocked now: ")


def test_the_failure_email_of_any_other_finding_keeps_its_lines(emails: dict[str, list[str]]) -> None:
    lines = emails["other"]

    assert lines[3].startswith("Targets of this finding: ") and lines[4].startswith("What is blocked now: ")
    assert not [line for line in lines if "attack sequence" in line]


def test_a_sequence_name_cannot_forge_lines_of_the_failure_email_and_is_cut_like_the_success_email_s(
    emails: dict[str, list[str]],
) -> None:
    [line] = [line for line in emails["forged"] if "attack sequence" in line]

    assert line.startswith("From an attack sequence: evil Blocked nothing. xxx")
    assert len(line) == len("From an attack sequence: ") + MAX_TEXT
