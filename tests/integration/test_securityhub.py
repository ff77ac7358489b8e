"""BatchUpdateFindings against moto's Security Hub with the emulator: the annotator's retries and the
emulator's refusals, follow-up events and import semantics."""

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from handlers.model import TargetKind
from handlers.securityhub import ATTEMPTS, BACKOFF_CAP, FindingAnnotator, KindReport, blocked_annotation
from handlers.settings import WorkflowStatus
from nfw_blocklist.emulator import securityhub as emulated
from nfw_blocklist.findings import provider_update
from tests.integration import stack
from tests.integration.test_emulator import moto_server  # noqa: F401 (a fixture)

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "nfw_blocklist"
    / "samples"
    / "securityhub-guardduty-c2-finding.json"
)
GUARDDUTY = "arn:aws:securityhub:us-east-1::product/aws/guardduty"
ANNOTATION = blocked_annotation(
    [KindReport(TargetKind.ADDRESS, ["198.51.100.0/32"], 1, "rule group rules")],
    1609852200,
    WorkflowStatus.NOTIFIED,
)


@pytest.fixture
def finding(aws: object) -> dict[str, Any]:
    """The reference finding, imported into the (emulated) Security Hub."""
    found: dict[str, Any] = json.loads(SAMPLE.read_text())["detail"]["findings"][0]
    emulated.import_findings(emulated.securityhub_backends["123456789012"]["us-east-1"], [found])
    return found


@pytest.fixture
def client(aws: object) -> Any:
    """A client that does not retry by itself, so the annotator's own retries are what is measured."""
    return boto3.client(
        "securityhub", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )


@pytest.fixture
def store(aws: object) -> emulated.FindingUpdateStore:
    return emulated.finding_updates()


def identifier(finding: dict[str, Any]) -> dict[str, str]:
    return {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}


def annotator(client: Any, sleeps: list[float]) -> FindingAnnotator:
    return FindingAnnotator(client=client, sleep=sleeps.append)


def stored(finding: dict[str, Any]) -> dict[str, Any]:
    (found,) = boto3.client("securityhub", region_name="us-east-1").get_findings()["Findings"]
    assert found["Id"] == finding["Id"]
    return found


def test_unprocessed_findings_are_retried_with_backoff_until_updated(finding, client, store):
    store.concurrent_update_next = 2
    sleeps: list[float] = []

    outcome = annotator(client, sleeps).annotate([identifier(finding)], ANNOTATION)

    assert (outcome.status, outcome.annotated, outcome.attempts, outcome.unprocessed) == (
        "annotated",
        1,
        3,
        [],
    )
    assert len(sleeps) == 2 and all(0 <= pause <= BACKOFF_CAP for pause in sleeps)
    assert stored(finding)["Note"]["Text"] == ANNOTATION.note


def test_a_finding_that_stays_contended_is_reported_after_bounded_attempts_without_raising(
    finding, client, store
):
    store.concurrent_update_next = 100

    outcome = annotator(client, []).annotate([identifier(finding)], ANNOTATION)

    assert (outcome.status, outcome.attempts) == ("failed", ATTEMPTS)
    assert [failure["code"] for failure in outcome.unprocessed] == ["ConcurrentUpdateError"]
    assert outcome.error is not None and "ConcurrentUpdateError" in outcome.error
    assert "Note" not in stored(finding)


def test_throttling_is_retried_by_the_annotator_too(finding, client, store):
    store.throttle_next = 2

    outcome = annotator(client, []).annotate([identifier(finding)], ANNOTATION)

    assert (outcome.status, outcome.attempts) == ("annotated", 3)


def test_a_refused_call_is_reported_not_raised_and_not_retried(finding, client, store):
    store.authorizer = lambda action, resource: f"not authorized to perform: {action} on resource: {resource}"

    outcome = annotator(client, []).annotate([identifier(finding)], ANNOTATION)

    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.error is not None and outcome.error.startswith(
        "1 finding(s) not annotated: AccessDeniedException"
    )


def test_an_unknown_finding_is_not_retried_and_the_known_ones_are_annotated(finding, client, store):
    unknown = {
        "Id": "arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/unknown",
        "ProductArn": GUARDDUTY,
    }

    outcome = annotator(client, []).annotate([identifier(finding), unknown], ANNOTATION)

    assert (outcome.status, outcome.annotated, outcome.attempts) == ("partial", 1, 1)
    assert outcome.unprocessed == [
        {"id": unknown["Id"], "code": "FindingNotFound", "message": "Finding Not Found"}
    ]


def test_more_than_100_findings_go_in_calls_of_100(finding, client, store):
    many = [identifier(finding)] + [{"Id": f"unknown-{i}", "ProductArn": GUARDDUTY} for i in range(149)]

    outcome = annotator(client, []).annotate(many, ANNOTATION)

    assert [len(call["request"]["FindingIdentifiers"]) for call in store.calls] == [100, 50]
    assert (outcome.annotated, len(outcome.unprocessed)) == (1, 149)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"FindingIdentifiers": []}, "FindingIdentifiers must list 1 to 100"),
        (
            {"FindingIdentifiers": [{"Id": "f", "ProductArn": GUARDDUTY}] * 101},
            "FindingIdentifiers must list 1 to 100",
        ),
        ({"FindingIdentifiers": [{"Id": "", "ProductArn": GUARDDUTY}]}, "non-empty Id and ProductArn"),
        ({"Note": {"Text": "n" * 513, "UpdatedBy": "me"}}, "Note.Text is required"),
        ({"Note": {"Text": "n", "UpdatedBy": "u" * 513}}, "Note.UpdatedBy is required"),
        ({"UserDefinedFields": {f"k{i}": "v" for i in range(51)}}, "at most 50 pairs"),
        ({"UserDefinedFields": {"k" * 129: "v"}}, "keys must be 1 to 128"),
        ({"UserDefinedFields": {"k": "v" * 1025}}, "values at most 1024"),
        ({"Workflow": {"Status": "DONE"}}, "Workflow.Status must be one of"),
    ],
)
def test_the_emulator_refuses_what_security_hub_refuses(finding, client, change, message):
    request = {**ANNOTATION.request([identifier(finding)]), **change}

    with pytest.raises(ClientError, match=message) as raised:
        client.batch_update_findings(**request)
    assert raised.value.response["Error"]["Code"] == "InvalidInputException"


def test_an_update_leaves_updated_at_emits_the_imported_event_and_survives_a_provider_import(
    finding, client, store
):
    answer = client.batch_update_findings(**ANNOTATION.request([identifier(finding), identifier(finding)]))

    assert answer["UnprocessedFindings"][0]["ErrorCode"] == "DuplicatedFindingIdentifier"
    after = stored(finding)
    assert after["UpdatedAt"] == finding["UpdatedAt"]
    assert after["Workflow"] == {"Status": "NOTIFIED"}
    [event] = store.take_events()
    assert (event["source"], event["detail-type"]) == ("aws.securityhub", "Security Hub Findings - Imported")
    assert event["detail"]["findings"][0]["Note"]["Text"] == ANNOTATION.note

    # GuardDuty updates the finding: its own fields move, the customer's Note and Workflow stay.
    provider_update = {**copy.deepcopy(finding), "UpdatedAt": "2021-01-05T02:00:00.000Z"}
    emulated.import_findings(emulated.securityhub_backends["123456789012"]["us-east-1"], [provider_update])
    after = stored(finding)
    assert (after["UpdatedAt"], after["Note"]["Text"], after["Workflow"]["Status"]) == (
        "2021-01-05T02:00:00.000Z",
        ANNOTATION.note,
        "NOTIFIED",
    )


# --- the loop guard in the record step: the ledger remembers each finding's last provider UpdatedAt ----


def reasons(recorded: dict[str, Any]) -> list[str]:
    return [skip["reason"] for skip in recorded["skipped"]]


def test_an_echo_arriving_after_a_newer_sighting_was_recorded_is_still_an_echo(group, reference_event):
    service = stack.service(group)
    service.record(provider_update(reference_event, "2021-01-05T01:15:01.549Z"))
    newer = service.record(provider_update(reference_event, "2021-01-05T02:00:00Z"))

    late_echo = service.record(provider_update(reference_event, "2021-01-05T01:15:01.549Z"))

    assert newer["refreshed"] == ["198.51.100.0/32"]
    assert (late_echo["has_hosts"], reasons(late_echo)) == (False, ["own-update"])


def test_a_finding_without_an_updated_at_is_recorded_once_per_provider_state(group, reference_event):
    service = stack.service(group)
    event = copy.deepcopy(reference_event)
    del event["detail"]["findings"][0]["UpdatedAt"]
    resighted = copy.deepcopy(event)
    resighted["detail"]["findings"][0]["LastObservedAt"] = "2021-01-05T02:30:00.000Z"

    service.record(event)
    again = service.record(event)
    later = service.record(resighted)

    assert (again["has_hosts"], reasons(again)) == (False, ["own-update"])
    assert later["refreshed"] == ["198.51.100.0/32"]


def test_a_finding_whose_updated_at_turns_unreadable_is_recorded_once_then_echoes(group, reference_event):
    service = stack.service(group)
    service.record(reference_event)
    echo = copy.deepcopy(reference_event)
    echo["detail"]["findings"][0]["UpdatedAt"] = "9999-12-31T23:59:59Z"
    service.record(echo)

    again = service.record(echo)

    assert reasons(again) == ["own-update"]


def test_an_echo_writes_nothing_to_the_ledger(group, reference_event):
    service = stack.service(group)
    service.record(reference_event)
    before = boto3.client("dynamodb").scan(TableName=stack.TABLE)["Items"]

    echo = service.record(reference_event)

    assert reasons(echo) == ["own-update"]
    assert boto3.client("dynamodb").scan(TableName=stack.TABLE)["Items"] == before


def test_an_account_without_security_hub_refuses_the_update(client):
    with pytest.raises(ClientError) as raised:
        client.batch_update_findings(**ANNOTATION.request([{"Id": "f", "ProductArn": GUARDDUTY}]))

    assert raised.value.response["Error"]["Code"] == "InvalidAccessException"


def test_batch_update_findings_works_through_the_standalone_server(moto_server):  # noqa: F811
    client = boto3.client("securityhub", region_name="us-east-1", endpoint_url=moto_server)
    found = json.loads(SAMPLE.read_text())["detail"]["findings"][0]
    client.enable_security_hub(EnableDefaultStandards=False)
    client.batch_import_findings(Findings=[found])

    answer = client.batch_update_findings(**ANNOTATION.request([identifier(found)]))
    client.batch_import_findings(Findings=[{**found, "UpdatedAt": "2021-01-05T02:00:00.000Z"}])

    assert answer["ProcessedFindings"] == [identifier(found)]
    (held,) = client.get_findings()["Findings"]
    assert (held["UpdatedAt"], held["Note"]["Text"]) == ("2021-01-05T02:00:00.000Z", ANNOTATION.note)


def test_fields_added_since_the_event_cost_the_tools_fields_not_its_note(finding, client, store):
    # An analyst filled the finding after the event the annotation was sized by was sent.
    client.batch_update_findings(
        FindingIdentifiers=[identifier(finding)], UserDefinedFields={f"team:{n}": "x" for n in range(48)}
    )

    outcome = annotator(client, []).annotate([identifier(finding)], ANNOTATION)

    assert (outcome.status, outcome.annotated, outcome.fields_left_out) == ("annotated", 1, 5)
    refused, kept = store.calls[-2:]
    assert refused["unprocessed"][0]["ErrorCode"] == "InvalidInput"
    assert "UserDefinedFields" not in kept["request"]
    assert stored(finding)["Note"]["Text"] == ANNOTATION.note
    assert len(stored(finding)["UserDefinedFields"]) == 48


def test_the_emulator_refuses_an_update_that_would_leave_a_finding_more_than_50_fields(finding, client):
    client.batch_update_findings(
        FindingIdentifiers=[identifier(finding)], UserDefinedFields={f"team:{n}": "x" for n in range(48)}
    )

    answer = client.batch_update_findings(**ANNOTATION.request([identifier(finding)]))

    assert [item["ErrorCode"] for item in answer["UnprocessedFindings"]] == ["InvalidInput"]
    assert stored(finding).get("Note") is None
