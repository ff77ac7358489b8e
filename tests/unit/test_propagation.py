"""The deployment's repopulation outlasts IAM propagation, and nothing else (issue 17, item 4)."""

from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from handlers import entry
from handlers.errors import FirewallUnavailable, LedgerUnavailable
from handlers.propagation import DEPLOYMENT_SOURCE, PROPAGATION_DELAYS, retrying_propagation


def denied(code: str = "AccessDeniedException") -> Exception:
    """What an adapter raises for a refused call: the domain's error, caused by the ClientError."""
    cause = ClientError({"Error": {"Code": code, "Message": "not authorized"}}, "DescribeRuleGroup")
    try:
        raise cause
    except ClientError as error:
        wrapped = FirewallUnavailable(f"Network Firewall error {code}")
        wrapped.__cause__ = error
        return wrapped


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "repopulated"


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied"])
def test_an_access_denied_right_after_the_deployment_is_retried_until_the_policy_is_in_force(
    code: str,
) -> None:
    run, pauses = Flaky([denied(code), denied(code)]), []

    assert retrying_propagation(run, sleep=pauses.append) == "repopulated"
    assert (run.calls, pauses) == (3, list(PROPAGATION_DELAYS[:2]))


def test_a_denial_that_outlasts_propagation_fails_after_a_bounded_wait() -> None:
    run, pauses = Flaky([denied() for _ in range(10)]), []

    with pytest.raises(FirewallUnavailable):
        retrying_propagation(run, sleep=pauses.append)
    assert (run.calls, sum(pauses)) == (len(PROPAGATION_DELAYS) + 1, sum(PROPAGATION_DELAYS))
    assert sum(PROPAGATION_DELAYS) < 300 / 2, "well inside the prune function's timeout"


def test_an_error_propagation_does_not_explain_is_not_retried() -> None:
    run, pauses = Flaky([LedgerUnavailable("DynamoDB Scan failed: ValidationException")]), []

    with pytest.raises(LedgerUnavailable):
        retrying_propagation(run, sleep=pauses.append)
    assert (run.calls, pauses) == (1, [])


@pytest.mark.parametrize(("source", "retried"), [(DEPLOYMENT_SOURCE, True), ("aws.scheduler", False)])
def test_only_the_deployments_repopulation_retries(
    monkeypatch: pytest.MonkeyPatch, source: str, retried: bool
) -> None:
    failures = [denied()]

    class Service:
        settings = type(
            "S", (), {"rule_group_arn": "arn:aws:network-firewall:us-east-1:1:stateless-rulegroup/g"}
        )

        def prune(self) -> dict[str, Any]:
            if failures:
                raise failures.pop(0)
            return {"pruned": []}

    @contextmanager
    def service() -> Any:
        yield Service()

    monkeypatch.setattr(entry, "_environment_service", service)
    monkeypatch.setattr(entry, "_sleep", lambda seconds: None)
    monkeypatch.setattr(entry.metrics, "emit", lambda *args: None)
    monkeypatch.setattr(entry.metrics, "prune_values", lambda payload: {})

    if retried:
        assert entry.prune({"source": source}) == {"pruned": []}
    else:
        with pytest.raises(FirewallUnavailable):
            entry.prune({"source": source})
