"""One sandbox under measurement (deployed, instrumented, with latency) and how a burst drives it.

A session deploys the real render into the sandbox (moto running the real state machines, the
rule-group emulator with realistic latency) and drives it the way EventBridge would: each event is
matched by the sandbox's rule engine and each matching target starts a Standard execution. Bursts
start executions through boto3 without waiting for each one, keeping a window of them in flight.
"""

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nfw_blocklist.bench import readings
from nfw_blocklist.bench.measure import Instrument, Tally

LATENCY: dict[str, tuple[float, float]] = {
    "DescribeRuleGroup": (0.1, 0.3),
    "UpdateRuleGroup": (0.1, 0.3),
}
"""Emulator latency (seconds, uniform) for the two calls the writer makes, as Network Firewall answers."""
STACK_OVERRIDES = {"findingSource": "both", "ruleGroupCapacity": "30000"}
WINDOW = 50
"""Executions kept in flight during a burst."""
STALL_SECONDS = 150.0
"""A burst gives up when no execution has finished for this long (longer than the retry schedules)."""
SEED = 20260526

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


def span_seconds(executions: Sequence[Execution]) -> float | None:
    """From the first execution's start to the last one's stop (the burst's duration), if all stopped."""
    stops = [e.stopped_at for e in executions]
    if not executions or None in stops:
        return None
    return max(s for s in stops if s is not None) - min(e.started_at for e in executions)


class Session:
    """One sandbox with the instrument installed and the emulator's latency set."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        from nfw_blocklist.sandbox import Sandbox

        self.sandbox = Sandbox.for_stack(
            "dev", {**STACK_OVERRIDES, **(overrides or {})}, execution_timeout=600
        )
        self.instrument = Instrument()
        self.executions: list[Execution] = []

    def __enter__(self) -> "Session":
        self.sandbox.start()
        try:
            self.instrument.install()
            self.set_faults()
        except BaseException:
            self.sandbox.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.instrument.uninstall()
        self.sandbox.stop()

    @property
    def region(self) -> str:
        return self.sandbox.region

    def set_faults(self, **kwargs: Any) -> None:
        from nfw_blocklist import emulator

        emulator.faults(self.region).set(latency=LATENCY, seed=SEED, **kwargs)

    def tally(self) -> Tally:
        return Tally.read(self.region)

    def settings(self) -> Any:
        from handlers.settings import Settings

        return Settings.from_env(self.sandbox.function_environment("block"))

    def group_hosts(self) -> set[str]:
        """Hosts the owned rules block, read straight from the emulator's store (no latency, uncounted)."""
        from moto.networkfirewall.models import networkfirewall_backends

        from handlers.rules import blocked_hosts, split_owned
        from nfw_blocklist import emulator

        settings = self.settings()
        store = emulator.store_for(networkfirewall_backends[self.sandbox.account][self.region])
        group = store.get(arn=self.sandbox.rule_group_arn)
        described = _plain_group(group)
        rules = described.get("RulesSource", {}).get("StatelessRulesAndCustomActions", {})
        priorities = (settings.rule_priority, settings.destination_priority)
        owned, _ = split_owned(rules.get("StatelessRules", []), priorities)
        return blocked_hosts(owned, *priorities)

    def owned_rule_count(self) -> int:
        rules = self.sandbox.describe_rule_group()["RuleGroup"]["RulesSource"]
        settings = self.settings()
        priorities = {settings.rule_priority, settings.destination_priority}
        return sum(
            1
            for rule in rules["StatelessRulesAndCustomActions"]["StatelessRules"]
            if rule["Priority"] in priorities
        )

    def ledger_hosts(self) -> set[str]:
        return {readings.ledger_host(item) for item in self.sandbox.ledger_items()}

    def notifications(self) -> list[Any]:
        return self.sandbox.notifications()

    # -- driving --------------------------------------------------------------------------------
    def burst(self, events: Events, window: int = WINDOW) -> tuple[list[Execution], int, float]:
        """Start an execution per matching target of each event, ``window`` in flight; wait for all.

        Returns the executions, the most seen in flight at once, and when the burst started.
        """
        sfn = self.sandbox.client("stepfunctions")
        machine = self.sandbox.response_state_machine.arn
        pending = list(events)
        inflight: dict[str, Execution] = {}
        finished: list[Execution] = []
        most = 0
        began = progress = time.time()
        stuck: list[Execution] = []
        while pending or inflight:
            while pending and len(inflight) < window:
                host, event = pending.pop(0)
                for rule in self.sandbox.router.matching(event):
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
            running = self._running(sfn, machine)
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
            self._complete(sfn, execution)
        for execution in stuck:
            execution.status = "STUCK"
        self.executions.extend(finished + stuck)
        return finished + stuck, most, began

    @staticmethod
    def _running(sfn: Any, machine: str) -> set[str]:
        running: set[str] = set()
        kwargs: dict[str, Any] = {"stateMachineArn": machine, "statusFilter": "RUNNING", "maxResults": 1000}
        while True:
            page = sfn.list_executions(**kwargs)
            running.update(item["executionArn"] for item in page["executions"])
            if not page.get("nextToken"):
                return running
            kwargs["nextToken"] = page["nextToken"]

    @staticmethod
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

    # -- seeding (not measured) -----------------------------------------------------------------
    def seed(self, hosts: Sequence[str], *, expires_at: float | None = None) -> None:
        """Write ``hosts`` as confirmed ledger items and into the owned rules, directly with boto3.

        Seeding is not what is measured: items are the shape the ledger writes, and the rules are
        rendered by ``handlers.rules``, in one UpdateRuleGroup with latency off.
        """
        from boto3.dynamodb.types import TypeSerializer

        from handlers.firewall import RuleGroupClient
        from handlers.rules import compose, render_owned_rules, split_owned, with_metric_action
        from nfw_blocklist import emulator

        now = self.sandbox.clock.now()
        settings = self.settings()
        expiry = now + settings.retention_seconds if expires_at is None else expires_at
        serializer = TypeSerializer()
        dynamodb = self.sandbox.client("dynamodb")
        table = self.sandbox.table_name
        for start in range(0, len(hosts), 25):
            requests = []
            for host in hosts[start : start + 25]:
                item = readings.confirmed_item(
                    _cidr(host),
                    seen_at=now - 60,
                    expires_at=expiry,
                    account=self.sandbox.account,
                    region=self.region,
                )
                serialized = {key: serializer.serialize(value) for key, value in item.items()}
                requests.append({"PutRequest": {"Item": serialized}})
            request: dict[str, Any] = {table: requests}
            while request:
                request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
        emulator.faults(self.region).clear()
        try:
            firewall = RuleGroupClient(
                self.sandbox.rule_group_arn, client=self.sandbox.client("network-firewall")
            )
            snapshot = firewall.describe()
            priorities = (settings.rule_priority, settings.destination_priority)
            owned, foreign = split_owned(snapshot.rules, priorities)
            current = {entry["AddressDefinition"] for rule in owned for entry in _sources(rule)}
            wanted = current | {_cidr(host) for host in hosts}
            firewall.replace(
                snapshot,
                compose(foreign, render_owned_rules(wanted, *priorities)),
                with_metric_action(snapshot.custom_actions),
            )
        finally:
            self.set_faults()


def _cidr(host: str) -> str:
    return f"{host}/32" if "/" not in host else host


def _sources(rule: Mapping[str, Any]) -> list[dict[str, str]]:
    sources: list[dict[str, str]] = (
        rule.get("RuleDefinition", {}).get("MatchAttributes", {}).get("Sources", [])
    )
    return sources


def _plain_group(group: Any) -> dict[str, Any]:
    """The stored group's current RuleGroup body, as plain JSON data."""
    body: dict[str, Any] = json.loads(json.dumps(group.version.rule_group, default=dict))
    return body
