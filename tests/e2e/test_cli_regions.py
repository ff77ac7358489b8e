"""Every client the CLI builds acts in the stack's region, whatever the shell's default is (issue 18,
item 7): DNS Firewall in the sandbox and on the live path needed ``AWS_DEFAULT_REGION``."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from nfw_blocklist.reports import sandbox_service, stack_state
from nfw_blocklist.sandbox import Sandbox
from tests.e2e.test_dns_firewall import DNS_STACK, DOMAIN, sample

REGION = "eu-west-1"


@pytest.fixture
def no_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope="module")
def dns_render_elsewhere() -> Any:
    from nfw_blocklist.render import render_stack

    return render_stack("dev", {**DNS_STACK, "aws:region": REGION})


@pytest.fixture
def dns_sandbox(dns_render_elsewhere: Any) -> Iterator[Sandbox]:
    with Sandbox(dns_render_elsewhere) as sandbox:
        yield sandbox


def test_a_replay_report_reads_the_dns_firewall_list_without_a_default_region(no_default_region, dns_sandbox):
    dns_sandbox.put_event(sample("securityhub-guardduty-dns-c2-finding.json"))

    report = stack_state(dns_sandbox)

    assert [DOMAIN] in report["rule_group"]["domains"].values()


def test_status_and_a_manual_domain_block_work_without_a_default_region(no_default_region, dns_sandbox):
    service = sandbox_service(dns_sandbox)

    service.manual_block("evil.example", "by hand")

    points = service.status()["domains"]["points"]
    assert [point["blocked"] for point in points.values()] == [1]


def test_the_live_path_builds_its_dns_firewall_client_in_the_stacks_region(
    run_cli, no_default_region, dns_render_elsewhere, tmp_path
):
    # "Live" AWS here is moto, serving a sandbox deployed in this process: the CLI only sees boto3.
    with Sandbox(dns_render_elsewhere) as sandbox:
        sandbox.put_event(sample("securityhub-guardduty-dns-c2-finding.json"))
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps(dns_render_elsewhere.outputs))

        status = run_cli("status", "--live", "--stack-outputs", str(outputs), "--json")

    assert status.status == 0, status.err
    assert [point["blocked"] for point in status.json["domains"]["points"].values()] == [1]
