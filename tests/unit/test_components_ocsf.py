"""findingSource with the new Security Hub: the rules a stack and a forwarder create on every bus, run through
LocalStack's EventBridge engine against the OCSF samples and a forged one."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from components import iam
from components.config import InvalidConfig
from nfw_blocklist.render import Rendered, render_stack

FORWARDER = Path(__file__).resolve().parents[2] / "forwarder"
RULE = "aws:cloudwatch/eventRule:EventRule"
OCSF = "securityhub-v2-guardduty-c2-finding.json"
ACCOUNTS = ["111122223333"]
ALL = {
    "findingSource": "all",
    "acceptFindingsFrom": json.dumps(ACCOUNTS),
    "findingRegions": '["us-east-1"]',
    "findingAccounts": '["123456789012"]',
}


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    compiled = EventPatternCompiler().compile_event_pattern(pattern)
    return EventRuleEngine().evaluate_pattern_on_event(compiled, event)


def rules_matching(rendered: Rendered, event: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(bus, rule name) of every rule whose pattern matches ``event``."""
    return sorted(
        ((rule.inputs.get("eventBusName"), rule.name) for rule in rendered.of_type(RULE)
         if matches(json.loads(rule.inputs["eventPattern"]), event)),
        key=str,
    )  # fmt: skip


@pytest.fixture(scope="module")
def every_source(render_dev) -> Rendered:
    return render_dev(**ALL)


def test_all_sources_make_one_rule_per_way_on_the_default_and_the_finding_bus(every_source):
    names = {rule.name.rsplit("-", 1)[-1] for rule in every_source.of_type(RULE)}
    buses = {rule.inputs.get("eventBusName") for rule in every_source.of_type(RULE)}

    # the finding ways, and (with Security Hub) the analyst's archive and custom actions (docs/DESIGN.md
    # "Steering"): one rule per way and bus, the custom actions on the default bus only
    assert names == {"securityhub", "guardduty", "ocsf", "archived", "actions"}
    assert len(buses) == 2
    assert len(every_source.of_type(RULE)) == 2 * len(names) - 1


def test_an_ocsf_finding_starts_exactly_the_v2_rule_on_each_bus(every_source, load_sample):
    matched = rules_matching(every_source, load_sample(OCSF))

    assert [name.rsplit("-", 1)[-1] for _, name in matched] == ["ocsf", "ocsf"]


def test_a_forged_ocsf_finding_naming_guardduty_starts_no_rule(every_source, load_sample):
    event = load_sample(OCSF)
    event["detail"]["findings"][0]["metadata"]["product"]["uid"] = (
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    )

    assert rules_matching(every_source, event) == []


def test_an_ocsf_finding_of_an_account_not_configured_starts_no_rule(every_source, load_sample):
    event = copy.deepcopy(load_sample(OCSF))
    event["detail"]["findings"][0]["cloud"]["account"]["uid"] = "999988887777"

    assert rules_matching(every_source, event) == []


def test_the_new_security_hub_alone_is_annotated_by_default(render_dev):
    rendered = render_dev(findingSource="securityhubv2")

    assert {rule.name.rsplit("-", 1)[-1] for rule in rendered.of_type(RULE)} == {"ocsf"}
    assert rendered.by_name("nfw-blocklist-annotate") is not None


def test_the_forwarder_forwards_the_new_security_hubs_findings(load_sample):
    rendered = render_stack("example", {"findingSource": "guardduty+securityhubv2"}, project_dir=FORWARDER)

    assert {name.rsplit("-", 2)[-2] for _, name in rules_matching(rendered, load_sample(OCSF))} == {"ocsf"}


def test_an_unknown_finding_source_is_refused_naming_the_choices(render_dev):
    with pytest.raises(InvalidConfig, match=r"findingSource.*securityhubv2"):
        render_dev(findingSource="securityhub+v2")


def test_the_new_security_hubs_annotation_runs_under_its_own_least_privilege_role(render_dev):
    """BatchUpdateFindingsV2 is authorized by securityhub:BatchUpdateFindings (its documentation): the
    annotate role alone holds it, on the account's hub, beside its own logs; the rule's role only starts
    the workflow."""
    rendered = render_dev(findingSource="securityhubv2")
    logical = {role.id: role.name for role in rendered.of_type("aws:iam/role:Role")}
    policies = {
        logical[policy.inputs["role"]]: json.loads(policy.inputs["policy"])
        for policy in rendered.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    granted = {
        role: entry["Resource"]
        for role, document in policies.items()
        for entry in document["Statement"]
        if any(action.startswith("securityhub:") for action in entry["Action"])
    }

    assert granted == {
        "nfw-blocklist-annotate-role": ["arn:aws:securityhub:us-east-1:123456789012:hub/default"]
    }
    assert {a for s in policies["nfw-blocklist-annotate-role"]["Statement"] for a in s["Action"]} == (
        iam.ANNOTATE_FUNCTION_ACTIONS
    )
    assert {a for s in policies["nfw-blocklist-ocsf-target-role"]["Statement"] for a in s["Action"]} == (
        iam.START_EXECUTION_ACTIONS
    )
