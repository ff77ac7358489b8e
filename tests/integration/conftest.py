"""Integration fixtures: moto with the Network Firewall rule-group emulator installed."""

from collections.abc import Iterator

import pytest
from moto import mock_aws

from handlers import clock
from nfw_blocklist import emulator
from tests.integration import stack
from tests.integration.stack import FakeTime


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """An active `mock_aws()` in us-east-1 with fake credentials and the rule-group emulator installed.

    Fake credentials keep boto3 from reading the developer's real ones; moto's reset at exit discards every
    resource, fault plan and counter, so tests cannot leak into each other (boto3's session is kept:
    ``stack.MOTO_CONFIG``).
    """
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    emulator.install()
    with mock_aws(config=stack.MOTO_CONFIG) as mock:
        yield mock


@pytest.fixture
def fake_time() -> Iterator[FakeTime]:
    """``handlers.clock`` on a fake time starting at ``stack.START``."""
    fake = FakeTime()
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


@pytest.fixture
def group(aws: object, fake_time: FakeTime) -> str:
    """The ledger table and an empty rule group, on fake time; the group's ARN."""
    stack.create_table()
    return stack.create_rule_group()
