"""Model-test fixtures: one moto world per test function, shared by every Hypothesis example in it."""

import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import HealthCheck, Phase, settings
from moto import mock_aws

import handlers.ledger
from handlers import clock
from handlers.service import BlocklistService
from handlers.settings import Settings
from nfw_blocklist import emulator
from tests.integration.stack import MOTO_CONFIG
from tests.model.scheduler import Interceptor, ScheduledClient, Scheduler, VirtualClock

REGION = "us-east-1"


PROFILE = os.environ.get("NFW_MODEL_PROFILE", "ci")
"""The model tests' budget: ``ci`` (``make test``) or ``soak`` (``make soak``)."""


def model_profiles(
    examples_variable: str, *, ci: tuple[int, int], soak: tuple[int, int]
) -> dict[str, settings]:
    """A model test's Hypothesis budget per profile, (examples, steps per example) for each;
    ``examples_variable`` names the environment variable that overrides the examples.

    ci: the same examples every run, and no shrinking: on a broken writer shrinking takes minutes, too
    long for `make test`. The failing example and its trace replay exactly; `make soak` shrinks.
    (A derandomised state machine's examples follow the source of its factory: a lambda's line.)"""
    budgets = {
        name: settings(
            max_examples=int(os.environ.get(examples_variable, str(examples))),
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        for name, (examples, steps) in (("ci", ci), ("soak", soak))
    }
    budgets["ci"] = settings(
        budgets["ci"], derandomize=True, database=None, phases=[Phase.explicit, Phase.generate]
    )
    return budgets


@dataclass
class Scheduled:
    """A model example's virtual clock (the handlers' clock too), its scheduler, and the AWS clients that
    pause before every call until the scheduler lets them through."""

    clock: VirtualClock
    scheduler: Scheduler
    dynamodb: ScheduledClient
    network_firewall: ScheduledClient

    @classmethod
    def start(cls, world: "World", start: float, interceptor: Interceptor | None = None) -> "Scheduled":
        virtual = VirtualClock(start)
        clock.set_clock(virtual)
        scheduler = Scheduler(virtual, interceptor)
        world.scheduler = scheduler
        return cls(
            clock=virtual,
            scheduler=scheduler,
            dynamodb=ScheduledClient(world.dynamodb, "dynamodb", scheduler),
            network_firewall=ScheduledClient(world.network_firewall, "nfw", scheduler),
        )

    def service(self, settings: Settings, seed: int | None = None) -> BlocklistService:
        """A warm execution environment whose calls, sleeps and wall clock go through the scheduler;
        ``seed`` fixes the writer's jitter, so the clock replays too."""
        service = BlocklistService.create(
            settings,
            dynamodb=self.dynamodb,
            network_firewall=self.network_firewall,
            sleep=self.scheduler.sleep,
            region=REGION,
        )
        service.writer.sleep = self.scheduler.sleep
        service.writer.wall_clock = self.clock
        if seed is not None:
            service.writer.rng = random.Random(seed)
        service.ledger.sleep = self.scheduler.sleep
        return service


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
    with mock_aws(config=MOTO_CONFIG):
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
