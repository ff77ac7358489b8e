"""Attack sequences (issue 20): GuardDuty Extended Threat Detection's ``AttackSequence:*`` findings, native
(``detail.service.detection.sequence``) and through Security Hub CSPM (ASFF ``Detection.Sequence``)."""

import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

SAMPLES = Path(__file__).resolve().parents[2] / "nfw_blocklist" / "samples"
NATIVE_SAMPLE = "guardduty-native-attack-sequence.json"
ASFF_SAMPLE = "securityhub-guardduty-attack-sequence.json"


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


def _api_spelling(node: object) -> object:
    """A native event's camelCase keys as the GuardDuty API model spells its members (``ip`` -> ``Ip``)."""
    if isinstance(node, dict):
        return {key[:1].upper() + key[1:]: _api_spelling(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_api_spelling(item) for item in node]
    return node


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    session = botocore.session.get_session()
    return {name: session.get_service_model(name) for name in ("guardduty", "securityhub")}


# --- The samples are the documented shapes ---------------------------------------------------------


def test_the_native_sample_is_a_guardduty_detection_as_the_shipped_api_model_defines_it(models) -> None:
    detection = load(NATIVE_SAMPLE)["detail"]["service"]["detection"]

    report = ParamValidator().validate(_api_spelling(detection), models["guardduty"].shape_for("Detection"))

    assert not report.has_errors(), report.generate_report()


def test_the_asff_sample_is_a_finding_security_hub_cspm_accepts(models) -> None:
    finding = load(ASFF_SAMPLE)["detail"]["findings"][0]

    report = ParamValidator().validate(finding, models["securityhub"].shape_for("AwsSecurityFinding"))

    assert not report.has_errors(), report.generate_report()


def test_the_asff_sample_is_the_native_sequence_cut_to_cspms_ten_endpoints(models) -> None:
    native = load(NATIVE_SAMPLE)["detail"]["service"]["detection"]["sequence"]
    asff = load(ASFF_SAMPLE)["detail"]["findings"][0]["Detection"]["Sequence"]
    endpoints_max = models["securityhub"].shape_for("Sequence").members["Endpoints"].metadata["max"]

    assert endpoints_max == 10 and len(native["endpoints"]) > endpoints_max
    assert [e["Ip"] for e in asff["Endpoints"]] == [e["ip"] for e in native["endpoints"]][:endpoints_max]
    assert asff["Uid"] == native["uid"]
    assert {i["Key"]: i["Values"] for i in asff["SequenceIndicators"]} == {
        i["key"]: i["values"] for i in native["sequenceIndicators"]
    }
