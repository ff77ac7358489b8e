"""The deterministic scheduler on its own: one operation at a time, in the order the test chooses."""

from typing import Any

import pytest

from tests.model.scheduler import HarnessError, Killed, ScheduledClient, Scheduler, VirtualClock

pytestmark = pytest.mark.model


class Recorder:
    """A stand-in AWS client that logs each call it receives."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.region = "us-east-1"

    def get_item(self, **request: Any) -> dict[str, Any]:
        self.log.append(f"get {request['Key']['HostIp']['S']}")
        return {}


def key(host: str) -> dict[str, Any]:
    return {"HostIp": {"S": host}}


@pytest.fixture
def scheduler() -> Scheduler:
    return Scheduler(VirtualClock(1000.0))


def test_operations_make_their_calls_only_when_granted_in_the_chosen_order(scheduler: Scheduler) -> None:
    log: list[str] = []
    client = ScheduledClient(Recorder(log), "dynamodb", scheduler)

    def body(name: str) -> str:
        client.get_item(Key=key(f"{name}-1"))
        client.get_item(Key=key(f"{name}-2"))
        return name

    a = scheduler.start("a", "a", lambda: body("a"))
    b = scheduler.start("b", "b", lambda: body("b"))
    assert log == []
    for op in (b, a, a, b):
        scheduler.step(op)  # each step runs up to the op's next call, then makes it on the next grant

    assert log == ["get a-1", "get b-1"]
    assert a.next_call == "dynamodb.get_item(a-2)" and not a.done
    scheduler.step(b)
    assert b.done and b.result == "b" and log == ["get a-1", "get b-1", "get b-2"]


def test_a_killed_operation_makes_no_call_from_then_on(scheduler: Scheduler) -> None:
    log: list[str] = []
    client = ScheduledClient(Recorder(log), "dynamodb", scheduler)

    def body() -> None:
        try:
            client.get_item(Key=key("write"))
        finally:
            client.get_item(Key=key("release"))  # a lease release in a finally: a timeout skips it too

    op = scheduler.start("a", "a", body)
    scheduler.step(op)
    scheduler.kill(op)

    assert op.done and isinstance(op.error, Killed)
    assert log == []


def test_a_sleep_advances_the_virtual_clock_when_the_sleeper_resumes(scheduler: Scheduler) -> None:
    op = scheduler.start("a", "a", lambda: scheduler.sleep(2.5))
    scheduler.step(op)
    assert scheduler.clock() == 1000.0 and op.next_call.startswith("sleep")

    scheduler.step(op)

    assert op.done and scheduler.clock() == 1002.5


def test_the_controlling_thread_calls_straight_through_and_may_not_sleep(scheduler: Scheduler) -> None:
    log: list[str] = []
    client = ScheduledClient(Recorder(log), "dynamodb", scheduler)

    client.get_item(Key=key("judge"))

    assert log == ["get judge"]
    assert client.region == "us-east-1"
    with pytest.raises(HarnessError, match="outside any operation"):
        scheduler.sleep(1.0)
