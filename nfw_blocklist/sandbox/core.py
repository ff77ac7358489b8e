"""The sandbox: the rendered program deployed into moto, in this process, with a clock you can move.

A ``Sandbox`` is a context manager. Entering it starts moto (Step Functions executing for real,
Lambda without Docker), grafts the rule-group emulator on, puts back the AWS payload limits moto
misses (``limits``), routes Lambda invocations to the real handlers in-process and installs the
sandbox clock as ``handlers.clock``; then it creates everything the render recorded. Leaving it
undoes all of that, so sandboxes can run one after another in one process (the tests do), but not
two at once: moto's mock is process-wide.

More renders (other stacks, other programs) can be deployed into a running sandbox with
``deploy``: they share its account, its physical-name registry (a name taken by one stack fails
the other's deployment, as in AWS), its event bus, its scheduler and its clock; ``deploy`` returns
a view whose accessors (``table_name``, ``ledger_items``, ``response_state_machine``...) answer
for that render's resources.
"""

import copy
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from components.aws_limits import EVENT_ENTRY_BYTES, utf8_size
from handlers import clock as handler_clock
from handlers import schema

from .clock import SandboxClock
from .deploy import (
    TABLE,
    Deployer,
    Inventory,
    RenderedLike,
    StateMachineInfo,
)
from .events import EventRouter, Schedule, Scheduler, Target
from .invoker import FunctionSpec, InProcessLambdas, function_environment
from .limits import NameRegistry, PayloadLimits
from .wiring import WiringError

LOG = logging.getLogger(__name__)

ACCOUNT = "123456789012"
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
"""moto 5.2's keys: real ASL execution, and Lambda's Docker-less backend (which we route in-process)."""

ExecutionObserver = Callable[["ExecutionResult"], None]
observers: list[ExecutionObserver] = []
"""Called with every finished execution of any sandbox (the e2e tests collect state coverage here)."""


class ExecutionTimeout(Exception):
    """An execution was still running when the sandbox stopped waiting for it."""


class EventTooLarge(ValueError):
    """An event EventBridge's PutEvents would refuse (an entry over 256 KB): no source can deliver it."""


def event_entry_size(event: Mapping[str, Any]) -> int:
    """PutEvents' entry size as EventBridge computes it: Time (14 bytes if set), Source, DetailType,
    Detail (the JSON text) and each Resources ARN, in UTF-8 bytes."""
    detail = event.get("detail")
    detail_text = detail if isinstance(detail, str) else json.dumps(detail or {}, separators=(",", ":"))
    size = 14 if event.get("time") else 0
    size += utf8_size(str(event.get("source") or ""))
    size += utf8_size(str(event.get("detail-type") or ""))
    size += utf8_size(detail_text)
    size += sum(utf8_size(str(resource)) for resource in event.get("resources") or [])
    return size


@dataclass(frozen=True)
class ExecutionResult:
    """A finished execution: what it returned and which states it went through."""

    name: str
    arn: str
    state_machine: str
    """The state machine's physical name."""
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]
    defined_states: frozenset[str]

    @property
    def entered_states(self) -> list[str]:
        """State names in the order they were entered (from the execution history)."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if "stateEnteredEventDetails" in event
        ]

    def task_output(self, key: str) -> Any:
        """The part of the final state's input at ``key`` (``record``, ``block``, ``prune``), if any.

        Failed executions have no output, so this falls back to the last state input seen in the
        history that carried the key.
        """
        if isinstance(self.output, dict) and key in self.output:
            return self.output[key]
        for event in reversed(self.history):
            details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
            payload = (details or {}).get("input") or (details or {}).get("output")
            if not payload:
                continue
            try:
                parsed = json.loads(payload)
            except json.JSONDecodeError:
                continue
            if isinstance(parsed, dict) and key in parsed:
                return parsed[key]
        return None


@dataclass
class Delivery:
    """An event put on the bus: the rules it matched and the executions it started."""

    event: dict[str, Any]
    matched_rules: list[str]
    executions: list[ExecutionResult] = field(default_factory=list)


class Sandbox:
    """The rendered stack running in moto. See the module docstring for the lifecycle."""

    def __init__(
        self,
        rendered: RenderedLike,
        *,
        start: float | None = None,
        execution_timeout: float = 60.0,
        strict_iam: bool = True,
    ) -> None:
        self.rendered = rendered
        self.region = str(rendered.config.get("aws:region") or "us-east-1")
        self.account = ACCOUNT
        self.clock = SandboxClock() if start is None else SandboxClock(start)
        self.execution_timeout = execution_timeout
        self.strict_iam = strict_iam
        self.lambdas = InProcessLambdas()
        self.router = EventRouter()
        self.scheduler = Scheduler(self.clock.now)
        self.inventory = Inventory()
        self.names = NameRegistry()
        self.machines: dict[str, StateMachineInfo] = {}
        """Every deployed render's state machines, by ARN (events and schedules may start any of them)."""
        self.limits = PayloadLimits()
        self.executions: list[ExecutionResult] = []
        self.iam_gaps: list[str] = []
        self._mock: Any = None
        self._clients: dict[str, Any] = {}

    @classmethod
    def for_stack(
        cls,
        stack: str = "dev",
        overrides: Mapping[str, str] | None = None,
        project_dir: Path | None = None,
        **kwargs: Any,
    ) -> "Sandbox":
        """Render the Pulumi program for ``stack`` (with ``-c`` style overrides) and wrap it."""
        from nfw_blocklist.render import render_stack

        return cls(render_stack(stack, overrides, project_dir), **kwargs)

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        from moto import mock_aws

        from nfw_blocklist import emulator
        from nfw_blocklist.emulator import dns_firewall

        emulator.install()
        dns_firewall.install()
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        _forget_cached_services()
        try:
            self.limits.start()
            self.lambdas.start()
            handler_clock.set_clock(self.clock.now)
            self.inventory, self.iam_gaps = self._deploy(self.rendered, self.region, self.client)
        except BaseException:
            self.stop()
            raise
        LOG.info(
            "sandbox deployed",
            extra={
                "stack": self.rendered.stack,
                "functions": len(self.inventory.functions),
                "state_machines": len(self.inventory.state_machines),
                "skipped": len(self.inventory.skipped),
            },
        )

    def _deploy(
        self, rendered: RenderedLike, region: str, clients: Callable[[str], Any]
    ) -> tuple[Inventory, list[str]]:
        deployer = Deployer(
            clients=clients,
            region=region,
            account=self.account,
            lambdas=self.lambdas,
            router=self.router,
            scheduler=self.scheduler,
            strict_iam=self.strict_iam,
            names=self.names,
        )
        inventory = deployer.deploy(rendered)
        self.machines.update(inventory.state_machines)
        return inventory, deployer.iam_gaps

    def deploy(self, rendered: RenderedLike) -> "Sandbox":
        """Deploy another render into this running sandbox (same account; its own ``aws:region``).

        Returns a view of this sandbox for that render: same moto, bus, scheduler, clock and
        execution log, its own inventory and region. Leave the sandbox through the original, not
        through a view. A physical name the render shares with a deployed one fails with
        ``NameTaken``, naming both URNs.
        """
        if self._mock is None:
            raise RuntimeError("start the sandbox before deploying another render into it")
        view = copy.copy(self)
        view.rendered = rendered
        view.region = str(rendered.config.get("aws:region") or "us-east-1")
        view._clients = {}
        view.inventory, view.iam_gaps = self._deploy(rendered, view.region, view.client)
        return view

    def stop(self) -> None:
        """Undo everything ``start`` did, in reverse (safe to call twice, and after a failed start)."""
        handler_clock.set_clock(None)
        _forget_cached_services()
        self.lambdas.stop()
        self.limits.stop()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._clients.clear()

    def client(self, service: str) -> Any:
        """A boto3 client for the sandbox's region (moto answers it while the sandbox runs)."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)  # type: ignore[call-overload]
        return self._clients[service]

    # --- what was deployed -----------------------------------------------------------------------

    @property
    def table_name(self) -> str:
        return self._only(list(self.inventory.tables), TABLE)

    @property
    def topic_arn(self) -> str:
        return self._only(list(self.inventory.topics), "topic")

    @property
    def rule_group_arn(self) -> str:
        """The stateless rule group of IP hosts."""
        return self._only(
            [arn for arn in self.inventory.rule_groups if ":stateless-rulegroup/" in arn], "rule group"
        )

    @property
    def domain_rule_group_arn(self) -> str:
        """The stateful domain-list rule group (a stack whose domainBlocking includes network-firewall)."""
        return self._only(
            [arn for arn in self.inventory.rule_groups if ":stateful-rulegroup/" in arn], "domain rule group"
        )

    def state_machine(self, contains: str) -> StateMachineInfo:
        """The state machine whose logical or physical name contains ``contains`` (``response``, ``prun``)."""
        found = [
            info
            for info in self.inventory.state_machines.values()
            if contains.lower() in info.logical_name.lower() or contains.lower() in info.name.lower()
        ]
        if len(found) != 1:
            names = sorted(info.name for info in self.inventory.state_machines.values())
            raise LookupError(
                f"expected one state machine matching {contains!r}, found {len(found)} among {names}"
            )
        return found[0]

    @property
    def response_state_machine(self) -> StateMachineInfo:
        """The one an event target starts."""
        arns = {target.arn for rule in self.router.rules.values() for target in rule.targets}
        return self._machine_among(arns, "event target")

    @property
    def pruning_state_machine(self) -> StateMachineInfo:
        """The one a schedule starts."""
        arns = {schedule.target.arn for schedule in self.scheduler.schedules.values()}
        return self._machine_among(arns, "schedule")

    def _machine_among(self, arns: set[str], what: str) -> StateMachineInfo:
        arns &= set(self.inventory.state_machines)  # other renders' machines are not this view's
        if len(arns) != 1:
            raise LookupError(f"expected one state machine started by an {what}, found {len(arns)}")
        return self.inventory.state_machines[arns.pop()]

    def function(self, entry_point: str) -> FunctionSpec:
        """The function whose handler is ``entry_point`` (``handlers.entry.block``) or ends in ``.block``."""
        specs = self.inventory.functions.values()
        found = [s for s in specs if s.handler == entry_point or s.handler.endswith(f".{entry_point}")]
        if len(found) != 1:
            handlers = sorted(spec.handler for spec in specs)
            raise LookupError(
                f"expected one function running {entry_point!r}, found {len(found)} among {handlers}"
            )
        return found[0]

    @staticmethod
    def _only(items: list[str], what: str) -> str:
        if len(items) != 1:
            raise LookupError(f"expected exactly one {what} in the sandbox, found {len(items)}")
        return items[0]

    # --- driving it ------------------------------------------------------------------------------

    def put_event(self, event: dict[str, Any]) -> list[ExecutionResult]:
        """Deliver ``event`` on the default bus; wait for and return the executions it started."""
        return self.deliver(event).executions

    def deliver(self, event: dict[str, Any], *, bus: str = "default") -> Delivery:
        """Deliver ``event`` to every matching rule of every render deployed here, as the bus would."""
        size = event_entry_size(event)
        if size > EVENT_ENTRY_BYTES:
            raise EventTooLarge(
                f"event {event.get('id')!r} is {size} bytes as a PutEvents entry; "
                f"EventBridge refuses entries over {EVENT_ENTRY_BYTES}"
            )
        rules = self.router.matching(event, bus=bus)
        delivery = Delivery(event=event, matched_rules=[rule.name for rule in rules])
        for rule in rules:
            for target in rule.targets:
                delivery.executions.append(
                    self._run_target(target, event, prefix=str(event.get("id") or "event"))
                )
        LOG.info(
            "event delivered",
            extra={
                "event_id": event.get("id"),
                "rules": delivery.matched_rules,
                "executions": len(delivery.executions),
            },
        )
        return delivery

    def advance(self, seconds: float) -> list[ExecutionResult]:
        """Move the clock forward and run every schedule that came due (missed runs coalesce into one)."""
        self.clock.advance(seconds)
        results = []
        for schedule in self.scheduler.due():
            results.append(self._run_schedule(schedule))
        return results

    def run_pruning(self) -> ExecutionResult:
        """Run the (only) schedule's target now, as the schedule would (for ``replay`` and tests)."""
        schedule = next(
            (s for s in self.scheduler.schedules.values() if s.target.arn in self.inventory.state_machines),
            None,
        )
        if schedule is None:
            raise LookupError("the program declares no schedule")
        return self._run_schedule(schedule)

    def _run_schedule(self, schedule: Schedule) -> ExecutionResult:
        execution_id = uuid.uuid4().hex
        context = {
            "aws.scheduler.execution-id": execution_id,
            "aws.scheduler.scheduled-time": self.clock.isoformat(),
            "aws.scheduler.schedule-arn": schedule.arn,
            "aws.scheduler.attempt-number": "1",
        }
        payload = schedule.target.shape({"schedule": schedule.name, "time": self.clock.isoformat()}, context)
        return self.start_execution(schedule.target.arn, payload, prefix=schedule.name)

    def start_execution(
        self, state_machine_arn: str, payload: Any, *, prefix: str = "run"
    ) -> ExecutionResult:
        """Start an execution and wait for it to finish (Standard workflows are asynchronous)."""
        if state_machine_arn not in self.machines:
            raise WiringError(f"{state_machine_arn!r} is not a state machine of this sandbox")
        sfn = self.client("stepfunctions")
        name = _execution_name(prefix)
        # Compact, as EventBridge and Scheduler deliver it: the 256 KiB input limit counts these bytes.
        text = json.dumps(payload, separators=(",", ":"))
        started = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=text)
        description = self._wait(started["executionArn"])
        history = self._history(started["executionArn"])
        info = self.machines[state_machine_arn]
        result = ExecutionResult(
            name=name,
            arn=started["executionArn"],
            state_machine=info.name,
            status=description["status"],
            input=payload,
            output=json.loads(description["output"]) if description.get("output") else None,
            error=description.get("error"),
            cause=description.get("cause"),
            history=history,
            defined_states=info.states,
        )
        self.executions.append(result)
        for observer in list(observers):
            observer(result)
        LOG.info(
            "execution finished",
            extra={
                "execution": name,
                "state_machine": info.name,
                "status": result.status,
                "error": result.error,
            },
        )
        return result

    def _run_target(self, target: Target, event: dict[str, Any], *, prefix: str) -> ExecutionResult:
        return self.start_execution(target.arn, target.shape(event), prefix=prefix)

    def _wait(self, execution_arn: str) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + self.execution_timeout
        delay = 0.005
        while True:
            description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            if time.monotonic() > deadline:
                raise ExecutionTimeout(f"{execution_arn} still running after {self.execution_timeout}s")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    # --- looking inside --------------------------------------------------------------------------

    def ledger_items(self) -> list[dict[str, Any]]:
        """Every ledger item as plain Python (numbers as int/float), sorted by host."""
        deserializer = TypeDeserializer()
        items = []
        for page in self.client("dynamodb").get_paginator("scan").paginate(TableName=self.table_name):
            for raw in page["Items"]:
                items.append({key: _plain(deserializer.deserialize(value)) for key, value in raw.items()})
        return sorted(items, key=lambda item: str(item.get(schema.HASH_KEY)))

    def describe_rule_group(self) -> dict[str, Any]:
        """DescribeRuleGroup of the program's rule group, as the API returns it."""
        response: dict[str, Any] = self.client("network-firewall").describe_rule_group(
            RuleGroupArn=self.rule_group_arn
        )
        return response

    def sns_messages(self) -> list[str]:
        """Every message published to the program's topics, oldest first (moto keeps them per topic)."""
        from moto.sns.models import sns_backends

        backend = sns_backends[self.account][self.region]
        messages: list[str] = []
        for arn in self.inventory.topics:
            messages.extend(message for _, message, *_ in backend.topics[arn].sent_notifications)
        return messages

    def notifications(self) -> list[Any]:
        """The published messages parsed as JSON (a message that is not JSON is kept as text)."""
        parsed = []
        for message in self.sns_messages():
            try:
                parsed.append(json.loads(message))
            except json.JSONDecodeError:
                parsed.append(message)
        return parsed

    def function_environment(self, entry_point: str = "record") -> dict[str, str]:
        """The recorded environment of a function: the settings the operator commands must share."""
        return dict(self.function(entry_point).environment)

    @contextmanager
    def as_function(self, entry_point: str = "record") -> Iterator[None]:
        """Run code (the CLI's operator use cases) with a function's environment, as if inside it."""
        spec = self.function(entry_point)
        with function_environment(spec.environment, spec.region, spec.name):
            yield


def _forget_cached_services() -> None:
    """The entry points cache a service (and its AWS clients) per configuration: one sandbox's
    clients must not serve the next sandbox, whose moto backends are fresh."""
    try:
        from handlers import entry
    except ImportError:  # the entry points are not importable: the deployment will say so
        return
    entry.reset()


def _execution_name(prefix: str) -> str:
    """Execution names are 1-80 chars of [A-Za-z0-9-_]; keep the prefix readable, make it unique."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)[:40].strip("-") or "run"
    return f"{cleaned}-{uuid.uuid4().hex[:12]}"


def _plain(value: Any) -> Any:
    """DynamoDB Decimals -> int or float, recursively, so items print and compare naturally."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, set):
        return sorted(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
