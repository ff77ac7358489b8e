"""Hostile findings through the deployed workflow: nothing a finding says may fail an execution
or block what must not be blocked (issue 9, items 6 and 8)."""

import copy
from typing import Any

import pytest

REFERENCE = "securityhub-guardduty-c2-finding.json"
REFERENCE_HOST = "198.51.100.0/32"
IP_FIELD = "aws/guardduty/service/action/networkConnectionAction/remoteIpDetails/ipAddressV4"
LAST_SEEN_FIELD = "aws/guardduty/service/eventLastSeen"


def _severity_product(value: object) -> Any:
    def mutate(finding: dict[str, Any]) -> None:
        finding["Severity"]["Product"] = value

    return mutate


def _event_last_seen(value: str) -> Any:
    def mutate(finding: dict[str, Any]) -> None:
        finding["ProductFields"][LAST_SEEN_FIELD] = value

    return mutate


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_severity_product(10**400), id="severity-integer-beyond-float"),
        pytest.param(_severity_product(1e127), id="severity-beyond-dynamodb-numbers"),
        pytest.param(_event_last_seen("9999-12-31T23:59:59-05:00"), id="last-seen-beyond-datetime"),
    ],
)
def test_a_finding_with_out_of_range_values_is_blocked_like_any_other(
    run_cli, write_event, reference_event, mutate
):
    event = copy.deepcopy(reference_event)
    mutate(event["detail"]["findings"][0])

    result = run_cli("replay", "--json", write_event("hostile.json", event))

    assert result.status == 0, result.err
    [execution] = result.json["events"][0]["executions"]
    assert (execution["status"], execution["blocked"]) == ("SUCCEEDED", [REFERENCE_HOST])
    assert [n["Blocked"] for n in result.json["notifications"]] == ["true"]


def test_a_finding_forged_through_a_custom_integration_blocks_nothing(run_cli, write_event, reference_event):
    # securityhub:BatchImportFindings lets any account principal import a finding that names itself
    # GuardDuty; only GuardDuty's own ProductArn proves where it came from.
    event = copy.deepcopy(reference_event)
    finding = event["detail"]["findings"][0]
    finding["ProductArn"] = "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    finding["ProductFields"][IP_FIELD] = "8.8.8.8"

    result = run_cli("replay", "--json", write_event("forged.json", event))

    assert result.status == 0, result.err
    assert result.json["events"][0]["matched"] is False
    assert result.json["rule_group"]["cidrs"] == []
    assert result.json["ledger"] == []
