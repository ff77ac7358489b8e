"""The offline render the sandbox and ``nfw-blocklist render`` consume."""

import json
import re
import shutil
from pathlib import Path

import pytest

from nfw_blocklist import render
from nfw_blocklist.render import SECRET_MARK, RenderError, auto_name, main_render, render_stack

REPO = Path(__file__).resolve().parents[2]
REUSE = REPO / "tests" / "reuse"


@pytest.fixture(scope="module")
def reuse():
    return render_stack("test", project_dir=REUSE)


AUTO_NAME = r"-[0-9a-f]{7}"


def test_an_explicit_name_is_kept(render_dev):
    logs = render_dev().by_name("nfw-blocklist-record-logs")
    name = "/aws/lambda/nfw-blocklist/dev/nfw-blocklist-record"
    assert (logs.id, logs.state["name"]) == (name, name), logs.urn


def test_a_resource_without_a_name_gets_pulumis_auto_name(render_dev):
    table = render_dev().by_name("nfw-blocklist-ledger")
    assert re.fullmatch("nfw-blocklist-ledger" + AUTO_NAME, table.state["name"]), table.urn
    assert table.state["arn"] == f"arn:aws:dynamodb:us-east-1:123456789012:table/{table.state['name']}"


def test_auto_names_repeat_for_one_urn_and_differ_between_stacks_and_parents():
    urn = "urn:pulumi:dev::nfw-blocklist::nfw-blocklist:index:BlocklistRuleGroup$aws:dynamodb/table:Table::x"
    table = "aws:dynamodb/table:Table"
    names = {
        auto_name(table, "x", urn),
        auto_name(table, "x", urn.replace(":dev::", ":prod::")),
        auto_name(table, "x", urn.replace("BlocklistRuleGroup$", "Other$")),
    }
    assert auto_name(table, "x", urn) == auto_name(table, "x", urn)
    assert len(names) == 3


def test_types_without_a_name_rule_keep_the_logical_name():
    assert auto_name("aws:kms/key:Key", "k", "urn:pulumi:dev::p::aws:kms/key:Key::k") == "k"


@pytest.mark.parametrize(
    ("type_", "limit"),
    [("aws:iam/role:Role", 64), ("aws:sfn/stateMachine:StateMachine", 80), ("aws:dynamodb/table:Table", 255)],
)
def test_an_auto_name_must_fit_the_types_maximum_length(type_, limit):
    fits, overflows = "r" * (limit - 8), "r" * (limit - 7)

    assert len(auto_name(type_, fits, "urn:x")) == limit
    with pytest.raises(RenderError, match=rf"urn:y: auto-name of 'r+' would exceed .* {limit} characters"):
        auto_name(type_, overflows, "urn:y")


def test_arns_follow_the_stacks_region(reuse):
    assert re.fullmatch(
        "arn:aws:states:eu-west-1:123456789012:stateMachine:edge-response" + AUTO_NAME,
        reuse.outputs["stateMachineArn"],
    )


def test_queue_id_and_url_are_the_moto_queue_url(render_dev):
    (queue,) = render_dev().of_type("aws:sqs/queue:Queue")
    expected = f"https://sqs.us-east-1.amazonaws.com/123456789012/{queue.state['name']}"
    assert queue.id == queue.state["url"] == expected


def test_renders_repeat_in_one_process_with_different_overrides():
    first = render_stack("dev", {"ruleGroupCapacity": "100"})
    second = render_stack("dev", {"nfw-blocklist:ruleGroupCapacity": "200"})

    capacities = [r.by_name("nfw-blocklist-rules").inputs["capacity"] for r in (first, second)]
    assert capacities == [100, 200]
    assert len(first.resources) == len(second.resources)


def test_an_unknown_override_is_refused_by_name():
    with pytest.raises(RenderError, match="unknown config key 'retentionHours'"):
        render_stack("dev", {"retentionHours": "1"})


def test_a_missing_stack_file_is_refused():
    with pytest.raises(RenderError, match=r"no stack file Pulumi\.prod\.yaml"):
        render_stack("prod")


def test_json_lists_type_name_parent_and_inputs_of_every_resource(render_dev):
    document = render_dev().to_json()

    assert set(document) == {"resources", "outputs"}
    assert all(set(r) == {"type", "name", "parent", "inputs"} for r in document["resources"])
    function = next(r for r in document["resources"] if r["name"] == "nfw-blocklist-record")
    assert function["parent"] == "nfw-blocklist"
    assert function["inputs"]["code"]["assets"]["handlers/settings.py"] == {
        "path": str(REPO / "handlers" / "settings.py")
    }
    json.dumps(document)


def test_json_redacts_secret_inputs_and_outputs(reuse):
    document = reuse.to_json()
    (subscription,) = [
        r
        for r in document["resources"]
        if r["type"] == "aws:sns/topicSubscription:TopicSubscription" and r["name"] == "edge-admin-email"
    ]

    assert subscription["inputs"]["endpoint"] == SECRET_MARK
    assert document["outputs"]["adminEmail"] == SECRET_MARK
    assert "netops@example.org" not in json.dumps(document)
    assert reuse.by_name("edge-admin-email").inputs["endpoint"] == "netops@example.org"


def test_main_render_prints_the_json_document(capsys):
    assert main_render("dev", as_json=True) == 0

    document = json.loads(capsys.readouterr().out)
    assert re.fullmatch("nfw-blocklist-ledger" + AUTO_NAME, document["outputs"]["tableName"])


def test_main_render_prints_a_table_by_default(capsys):
    assert main_render("dev", as_json=False) == 0

    out = capsys.readouterr().out
    assert "aws:lambda/function:Function" in out
    # main's 57, and steering's function, role, policy and log group, its archived and actions rules
    # (rule, target, role, policy each), three custom actions, and the brake's alarm
    assert "75 resources in stack dev" in out


def test_main_render_reports_bad_config_on_one_line_and_exits_2(tmp_path, monkeypatch, capsys):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  nfw-blocklist:adminEmail: nobody\n")
    monkeypatch.setattr(render, "PROJECT_DIR", tmp_path)

    assert main_render("bad", as_json=True) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().count("\n") == 0
    assert "nfw-blocklist:adminEmail must be an e-mail address" in captured.err


def test_a_render_closes_every_event_loop_it_made():
    # An unclosed loop is closed by the garbage collector, in a cycle with its self-pipe sockets: when a
    # socket goes first, the loop's close() raises "Invalid file descriptor: -1" in __del__, in
    # whichever test happens to be running.
    import gc
    import warnings

    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        render_stack("dev", {"retentionMinutes": "721"})
        gc.collect()

    assert [str(w.message) for w in caught if "unclosed event loop" in str(w.message)] == []
