"""How a burst drives a session, as EventBridge would, and what each execution did.

Each event is matched by the sandbox's rule engine and each matching target starts a Standard
execution through boto3, without waiting for it, keeping a window of executions in flight. Once all
have finished, each execution's description and history say how it ended and when its hosts were
blocked.
"""

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nfw_blocklist.bench import readings
from nfw_blocklist.bench.session import Session

WINDOW = 50
"""Executions kept in flight during a burst."""
STALL_SECONDS = 150.0
"""A burst gives up when no execution has finished for this long (longer than the retry schedules)."""

Events = Sequence[tuple[str, dict[str, Any]]]
"""A burst's events, each with the host it is about (a label: the crash fault picks executions by it)."""


@dataclass
class Execution:
    arn: str
    host: str
    launched: float
    status: str = "RUNNING"
    error: str | None = None
    started_at: float = 0.0
    stopped_at: float | None = None
    blocked_at: float | None = None
    """When its BlockHosts task succeeded (history timestamp, epoch seconds)."""
    last_event: str = ""
    lambda_states_entered: int = 0
    """How many times it entered a Lambda task state (each entry is one invocation before retries)."""


def burst(session: Session, events: Events, window: int = WINDOW) -> tuple[list[Execution], int, float]:
    """Start an execution per matching target of each event, ``window`` in flight; wait for all.

    Returns the executions, the most seen in flight at once, and when the burst started.
    """
    sandbox = session.sandbox
    sfn = sandbox.client("stepfunctions")
    machine = sandbox.response_state_machine.arn
    pending = list(events)
    inflight: dict[str, Execution] = {}
    finished: list[Execution] = []
    most = 0
    began = progress = time.time()
    stuck: list[Execution] = []
    while pending or inflight:
        while pending and len(inflight) < window:
            host, event = pending.pop(0)
            for rule in sandbox.router.matching(event):
                for target in rule.targets:
                    started = sfn.start_execution(
                        stateMachineArn=target.arn,
                        name=f"bench-{uuid.uuid4().hex[:16]}",
                        input=json.dumps(target.shape(event)),
                    )
                    arn = started["executionArn"]
                    inflight[arn] = Execution(arn, host, time.time())
        most = max(most, len(inflight))
        time.sleep(0.2)
        running = _running(sfn, machine)
        done = [arn for arn in inflight if arn not in running]
        for arn in done:
            finished.append(inflight.pop(arn))
        if done:
            progress = time.time()
        elif inflight and time.time() - progress > STALL_SECONDS:
            # Nothing finished for longer than any retry schedule: record what is stuck where.
            stuck = list(inflight.values())
            inflight.clear()
            pending.clear()
    for execution in finished + stuck:
        _complete(sfn, execution)
    for execution in stuck:
        execution.status = "STUCK"
    return finished + stuck, most, began


def span_seconds(executions: Sequence[Execution]) -> float | None:
    """From the first execution's start to the last one's stop (the burst's duration), if all stopped."""
    stops = [e.stopped_at for e in executions]
    if not executions or None in stops:
        return None
    return max(s for s in stops if s is not None) - min(e.started_at for e in executions)


def _running(sfn: Any, machine: str) -> set[str]:
    running: set[str] = set()
    kwargs: dict[str, Any] = {"stateMachineArn": machine, "statusFilter": "RUNNING", "maxResults": 1000}
    while True:
        page = sfn.list_executions(**kwargs)
        running.update(item["executionArn"] for item in page["executions"])
        if not page.get("nextToken"):
            return running
        kwargs["nextToken"] = page["nextToken"]


def _complete(sfn: Any, execution: Execution) -> None:
    described = sfn.describe_execution(executionArn=execution.arn)
    execution.status, execution.error = described["status"], described.get("error")
    execution.started_at = described["startDate"].timestamp()
    if described.get("stopDate") is not None:
        execution.stopped_at = described["stopDate"].timestamp()
    kwargs: dict[str, Any] = {"executionArn": execution.arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        if page["events"]:
            last = page["events"][-1]
            details = last.get("stateEnteredEventDetails") or {}
            execution.last_event = f"{last['type']} {details.get('name', '')}".strip()
        for event in page["events"]:
            entered = event.get("stateEnteredEventDetails")
            if entered and entered.get("name") in readings.LAMBDA_STATES:
                execution.lambda_states_entered += 1
            exited = event.get("stateExitedEventDetails")
            if exited and exited.get("name") == readings.BLOCK_STATE and execution.blocked_at is None:
                execution.blocked_at = event["timestamp"].timestamp()
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]
