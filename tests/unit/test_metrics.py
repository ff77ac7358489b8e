"""The functions' EMF documents, checked against the Embedded Metric Format specification."""

import copy

import pytest

from handlers import metrics

RULE_GROUP = "nfw-blocklist-rules-3098a1b"
BLOCK_PAYLOAD = {
    "counts": {"blocked": 5, "evicted": 1},
    "kinds": {
        "address": {"counts": {"blocked": 3, "evicted": 1, "not_blocked": 0}},
        "domain": {"counts": {"blocked": 0, "evicted": 0, "not_blocked": 2}},
    },
    "capacity": {"used": 1201, "total": 2000, "hosts": 600},
}


def block_document() -> dict:
    return metrics.document(metrics.block_values(BLOCK_PAYLOAD), RULE_GROUP, 1_609_809_300_000)


def test_a_block_document_is_valid_emf_with_the_rule_group_as_its_only_dimension():
    doc = block_document()

    assert metrics.problems(doc) == []
    [directive] = doc["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("NfwBlocklist", [["RuleGroup"]])
    assert doc["RuleGroup"] == RULE_GROUP
    assert (doc["HostsBlocked"], doc["HostsEvicted"], doc["CapacityUsed"], doc["HostsInGroup"]) == (
        3,
        1,
        1201,
        600,
    )
    assert doc["CapacityUsedPercent"] == 60.05


def test_each_kind_of_target_is_counted_apart():
    values = metrics.block_values(BLOCK_PAYLOAD)

    assert (values["HostsBlocked"], values["HostsNotBlocked"]) == (3, 0)
    assert (values["DomainsBlocked"], values["DomainsEvicted"], values["DomainsNotBlocked"]) == (0, 0, 2)


def test_a_run_that_did_not_read_the_group_emits_counts_but_no_capacity():
    values = metrics.prune_values({"counts": {"pruned": 2, "evicted": 0}, "capacity": None})

    assert values == {"HostsPruned": 2, "HostsEvicted": 0}


def test_every_emitted_metric_has_a_cloudwatch_unit_and_every_function_emits_only_known_metrics():
    assert set(metrics.UNITS.values()) <= metrics.VALID_UNITS
    for names in metrics.EMITTED_BY.values():
        assert set(names) <= set(metrics.UNITS)
    assert set(metrics.block_values(BLOCK_PAYLOAD)) == set(metrics.EMITTED_BY["block"])


def _break(path: str, value: object):
    def mutate(doc: dict) -> None:
        target = doc
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "complaint"),
    [
        (_break("_aws.Timestamp", "now"), "Timestamp"),
        (_break("_aws.CloudWatchMetrics", []), "non-empty array"),
        (_break("_aws.CloudWatchMetrics.0.Namespace", ":bad"), "Namespace"),
        (_break("_aws.CloudWatchMetrics.0.Namespace", "x" * 256), "Namespace"),
        (_break("_aws.CloudWatchMetrics.0.Dimensions", [[f"D{i}" for i in range(31)]]), "at most 30"),
        (_break("_aws.CloudWatchMetrics.0.Dimensions", [["Missing"]]), "'Missing'"),
        (_break("RuleGroup", "caf\u00e9"), "printable ASCII"),
        (_break("RuleGroup", 7), "string value"),
        (_break("_aws.CloudWatchMetrics.0.Metrics.0.Unit", "Hosts"), "not a CloudWatch unit"),
        (_break("_aws.CloudWatchMetrics.0.Metrics.0.Name", ""), "1-255"),
        (_break("HostsBlocked", "3"), "holding a number"),
        (_break("HostsBlocked", float("nan")), "holding a number"),
        (
            _break("_aws.CloudWatchMetrics.0.Metrics", [{"Name": f"M{i}"} for i in range(101)]),
            "1-100 metric definitions",
        ),
    ],
)
def test_a_document_cloudwatch_would_not_extract_is_refused_with_the_reason(mutate, complaint):
    doc = copy.deepcopy(block_document())
    mutate(doc)

    assert any(complaint in problem for problem in metrics.problems(doc)), metrics.problems(doc)


def test_emit_writes_one_compact_json_line_to_the_sink():
    lines: list[str] = []
    metrics.use_sink(lines.append)
    try:
        doc = metrics.emit(
            {"HostsPruned": 1}, f"arn:aws:network-firewall:us-east-1:1:stateless-rulegroup/{RULE_GROUP}"
        )
    finally:
        metrics.use_sink(None)

    assert len(lines) == 1 and "\n" not in lines[0]
    assert doc["RuleGroup"] == RULE_GROUP and metrics.problems(doc) == []
