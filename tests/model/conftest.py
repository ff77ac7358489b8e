"""Model-test fixtures: one moto world per test function, shared by every Hypothesis example in it."""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

import handlers.ledger
from nfw_blocklist import emulator
from tests.model.scheduler import Scheduler

REGION = "us-east-1"


@dataclass
class World:
    """Raw (unscheduled) clients for setting up and judging, and the scheduler of the running example."""

    dynamodb: Any
    network_firewall: Any
    scheduler: Scheduler | None = None
    examples: int = field(default=0)


class _ScheduledTime:
    """``handlers.ledger``'s view of the time module: its throttling backoff sleeps through the scheduler."""

    def __init__(self, world: World) -> None:
        self._world = world

    def sleep(self, seconds: float) -> None:
        if self._world.scheduler is None:
            raise RuntimeError("the ledger slept outside a model example")
        self._world.scheduler.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    emulator.install()
    with mock_aws():
        world = World(
            dynamodb=boto3.client("dynamodb", region_name=REGION),
            # As the handlers configure theirs: the writer, not botocore, decides about retries.
            network_firewall=boto3.client(
                "network-firewall", region_name=REGION, config=Config(retries={"total_max_attempts": 1})
            ),
        )
        if hasattr(handlers.ledger, "time"):
            monkeypatch.setattr(handlers.ledger, "time", _ScheduledTime(world))
        yield world
