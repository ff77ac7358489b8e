"""Each function's role grants every AWS action its code actually calls, observed in the sandbox."""

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from handlers import entry
from nfw_blocklist.findings import native_finding


@pytest.fixture
def calls_by_function() -> Iterator[dict[str, set[str]]]:
    """IAM actions of every AWS call, keyed by the Lambda function whose handler made it."""
    calls: dict[str, set[str]] = defaultdict(set)

    def observe(model: Any, **_: Any) -> None:
        function = entry.environment().get("AWS_LAMBDA_FUNCTION_NAME")
        if function:
            prefix = model.service_model.signing_name
            calls[function].add(f"{prefix}:{model.name}")

    events = boto3._get_default_session().events
    events.register("before-call", observe, unique_id="nfw-iam-calls")
    # A client copies the session's hooks when it is made: services the deployment's repopulation
    # invocation already built would go unobserved, so every function builds its clients afresh.
    entry.reset()
    yield calls
    events.unregister("before-call", unique_id="nfw-iam-calls")


def granted_actions(rendered: Any, role_name: str) -> set[str]:
    actions: set[str] = set()
    for policy in rendered.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy.inputs["role"] == role_name:
            for statement in json.loads(policy.inputs["policy"])["Statement"]:
                listed = statement["Action"]
                actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def test_every_call_the_functions_make_is_granted_to_their_role(
    dev_render: Any, dev_sandbox: Any, calls_by_function: dict[str, set[str]], reference_event: dict[str, Any]
) -> None:
    dev_sandbox.put_event(reference_event)
    dev_sandbox.put_event(reference_event)  # a repeat: the refresh path
    dev_sandbox.put_event(native_finding("203.0.113.77"))
    (finding,) = dev_sandbox.client("securityhub").get_findings()["Findings"]
    dev_sandbox.custom_action("extend", finding)  # the steer function's paths: an extension, a release
    dev_sandbox.person_updates(finding, by="analyst@example.com", workflow="SUPPRESSED")
    dev_sandbox.advance(13 * 3600)  # past the retention: the pruning workflow runs

    functions = {f.state["name"]: f for f in dev_render.of_type("aws:lambda/function:Function")}
    assert set(calls_by_function) == set(functions), "every function ran"
    for name, called in calls_by_function.items():
        role = functions[name].inputs["role"].rsplit("/", 1)[1]
        missing = called - granted_actions(dev_render, role)
        assert not missing, f"{functions[name].urn} calls {sorted(missing)} but its role does not grant them"
