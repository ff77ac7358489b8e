"""BatchUpdateFindingsV2 against moto's Security Hub with the emulator: the annotation of the new Security
Hub's findings, its limits, partial failures and retries, and the loop guard against its (assumed) echo."""

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from handlers.model import TargetKind
from handlers.securityhub import (
    ATTEMPTS,
    FindingAnnotator,
    KindReport,
    annotate_execution,
    blocked_annotation,
    v2_request,
)
from handlers.settings import WorkflowStatus
from nfw_blocklist.emulator import securityhub as emulated
from nfw_blocklist.emulator import securityhub_v2 as emulated_v2
from tests.integration import stack

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "nfw_blocklist"
    / "samples"
    / "securityhub-v2-guardduty-c2-finding.json"
)
ANNOTATION = blocked_annotation(
    [KindReport(TargetKind.ADDRESS, ["198.51.100.0/32"], 1, "rule group rules")],
    1609852200,
    WorkflowStatus.NOTIFIED,
)


def _backend() -> Any:
    return emulated.securityhub_backends["123456789012"]["us-east-1"]


@pytest.fixture
def event(aws: object) -> dict[str, Any]:
    """The OCSF C2 event, its finding imported into the (emulated) new Security Hub."""
    loaded: dict[str, Any] = json.loads(SAMPLE.read_text())
    emulated_v2.import_ocsf_findings(_backend(), loaded["detail"]["findings"])
    return loaded


@pytest.fixture
def client(aws: object) -> Any:
    return boto3.client(
        "securityhub", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )


def identifier(event: dict[str, Any]) -> dict[str, str]:
    return emulated_v2.identifier_of(event["detail"]["findings"][0])


def held(event: dict[str, Any]) -> dict[str, Any]:
    return emulated.finding_updates().ocsf_findings[event["detail"]["findings"][0]["metadata"]["uid"]]


def test_the_annotation_sets_the_comment_and_status_and_leaves_the_providers_times(event, client):
    outcome = FindingAnnotator(client=client).annotate_v2([identifier(event)], ANNOTATION)

    finding = held(event)
    assert (outcome.status, outcome.annotated) == ("annotated", 1)
    assert finding["comment"] == ANNOTATION.note
    assert (finding["status_id"], finding["status"]) == (2, "In Progress")
    assert finding["finding_info"] == event["detail"]["findings"][0]["finding_info"]


def test_a_conflict_is_retried_with_backoff_until_updated(event, client):
    emulated.finding_updates().concurrent_update_next = 2
    sleeps: list[float] = []

    outcome = FindingAnnotator(client=client, sleep=sleeps.append).annotate_v2(
        [identifier(event)], ANNOTATION
    )

    assert (outcome.status, outcome.attempts, len(sleeps)) == ("annotated", 3, 2)


def test_a_finding_that_stays_in_conflict_is_reported_after_bounded_attempts(event, client):
    emulated.finding_updates().concurrent_update_next = ATTEMPTS + 5

    outcome = FindingAnnotator(client=client, sleep=lambda _: None).annotate_v2(
        [identifier(event)], ANNOTATION
    )

    assert (outcome.status, outcome.attempts) == ("failed", ATTEMPTS)
    assert [item["code"] for item in outcome.unprocessed] == ["ConflictException"]


def test_throttling_is_retried(event, client):
    emulated.finding_updates().throttle_next = 1

    outcome = FindingAnnotator(client=client, sleep=lambda _: None).annotate_v2(
        [identifier(event)], ANNOTATION
    )

    assert (outcome.status, outcome.attempts) == ("annotated", 2)


def test_an_unknown_finding_is_reported_not_retried_and_the_known_ones_annotated(event, client):
    unknown = {
        **identifier(event),
        "FindingInfoUid": "arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/x",
    }

    outcome = FindingAnnotator(client=client, sleep=lambda _: None).annotate_v2(
        [identifier(event), unknown], ANNOTATION
    )

    assert (outcome.status, outcome.annotated, outcome.attempts) == ("partial", 1, 1)
    assert [(i["id"], i["code"]) for i in outcome.unprocessed] == [
        (unknown["FindingInfoUid"], "ResourceNotFoundException")
    ]


def test_more_than_100_findings_go_in_calls_of_100(event, client):
    many = [{**identifier(event), "FindingInfoUid": f"arn:aws:guardduty:us-east-1:1:detector/d/finding/{n}"}
            for n in range(230)]  # fmt: skip

    FindingAnnotator(client=client, sleep=lambda _: None).annotate_v2(many, ANNOTATION)

    sizes = [len(call["request"]["FindingIdentifiers"]) for call in emulated.finding_updates().calls]
    assert sizes == [100, 100, 30]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(Comment="x" * 513), "Comment must be 1 to 512"),
        (lambda r: r.update(Comment="   "), "Comment must be 1 to 512"),
        (lambda r: r.update(StatusId=7), "StatusId must be one of"),
        (lambda r: r.update(MetadataUids=["u"]), "exactly one of MetadataUids and FindingIdentifiers"),
        (lambda r: r.update(FindingIdentifiers=r["FindingIdentifiers"] * 101), "1 to 100"),
        (lambda r: r.pop("Comment") and r.pop("StatusId"), "updates nothing"),
    ],
)
def test_the_emulator_refuses_what_the_new_security_hub_refuses(event, client, change, message):
    request = v2_request(ANNOTATION, [identifier(event)])
    change(request)

    with pytest.raises(ClientError, match=message) as raised:
        client.batch_update_findings_v2(**request)
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_a_refused_call_is_reported_not_raised_and_not_retried(event, client):
    too_long = blocked_annotation(
        [KindReport(TargetKind.ADDRESS, ["198.51.100.0/32"], 1, "x" * 40)], 1609852200, WorkflowStatus.NONE
    )
    outcome = FindingAnnotator(client=client, sleep=lambda _: None).annotate_v2(
        [{**identifier(event), "CloudAccountUid": " "}], too_long
    )

    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.unprocessed[0]["code"] == "ValidationException"


def test_the_record_annotate_echo_loop_ends_after_one_echo(group, event):
    """The update re-emits "Findings Imported V2" (as the emulator assumes AWS does): the record step takes
    the echo for the tool's own update, whatever its status and comment now say."""
    service = stack.service(group)
    recorded = service.record(event)
    blocked = service.block(recorded)
    payload = annotate_execution(
        {"record": recorded, "block": blocked}, stack.settings(group), FindingAnnotator(sleep=lambda _: None)
    )
    (echo,) = emulated.finding_updates().take_events()

    again = service.record(echo)

    assert recorded["security_hub"]["findings_v2"] == [identifier(event)]
    assert (payload["status"], payload["annotated"]) == ("annotated", 1)
    assert echo["detail-type"] == "Findings Imported V2"
    assert (again["has_hosts"], [s["reason"] for s in again["skipped"]]) == (False, ["own-update"])


def test_a_finding_the_tool_resolved_is_still_active_when_guardduty_sees_it_again(group, event):
    settings = stack.settings(group, finding_workflow_status=WorkflowStatus.RESOLVED)
    service = stack.service(group, finding_workflow_status=WorkflowStatus.RESOLVED)
    recorded = service.record(event)
    annotate_execution({"record": recorded, "block": service.block(recorded)}, settings, FindingAnnotator())
    (echo,) = emulated.finding_updates().take_events()
    resighted = json.loads(json.dumps(echo))
    resighted["detail"]["findings"][0]["finding_info"]["modified_time_dt"] = "2021-01-05T05:00:00.000Z"

    again = service.record(resighted)

    assert echo["detail"]["findings"][0]["status_id"] == 4
    assert again["refreshed"] == ["198.51.100.0/32"]
