"""The sandbox: the rendered program deployed into moto, in this process, with a clock you can move.

A ``Sandbox`` is a context manager. Entering it starts moto (Step Functions executing for real,
Lambda without Docker), grafts the rule-group emulator on, puts back the AWS payload limits moto
misses (``limits``), routes Lambda invocations to the real handlers in-process and installs the
sandbox clock as ``handlers.clock``; then it creates everything the render recorded. Leaving it
undoes all of that, so sandboxes can run one after another in one process (the tests do), but not
two at once: moto's mock is process-wide.

More renders (other stacks, other programs) can be deployed into a running sandbox with
``deploy``, into its account or another (``account=``) and the render's ``aws:region``: they share
its physical-name registry (a name taken by one stack fails the other's deployment, as in AWS), its
event buses, its scheduler and its clock; ``deploy`` returns a view whose accessors
(``table_name``, ``ledger_items``, ``response_state_machine``...) answer for that render's
resources, with clients of its account and region. Each account and region has its own default
bus; a rule's target may be a bus of another account or region (``buses``), and what a bus
refuses is kept in ``rejected``.
"""

import copy
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from components.aws_limits import EVENT_ENTRY_BYTES, event_entry_size
from handlers import clock as handler_clock
from handlers import metrics as handler_metrics
from handlers import schema
from handlers.settings import ENV_DOMAIN_RULE_GROUP_ARN, ENV_RULE_GROUP_ARN
from nfw_blocklist.rendered import runs_entry_point

from .accounts import DEFAULT_ACCOUNT, Accounts, account_of
from .buses import BusBook, EventBus, Rejection, bus_arn, trusts_events
from .clock import SandboxClock, SandboxIds
from .deploy import Deployer, Inventory, StateMachineInfo
from .events import EventRouter, Schedule, Scheduler, Target
from .invoker import FunctionSpec, InProcessLambdas, function_environment
from .limits import NameRegistry, PayloadLimits
from .resources import TABLE, RenderedLike
from .securityhub import MAX_ROUNDS, FindingUpdateLoop, SecurityHubLoop
from .shortcuts import EngineShortcuts
from .wiring import WiringError

if TYPE_CHECKING:
    from .traffic import SandboxTraffic
    from .update import UpdateReport

LOG = logging.getLogger(__name__)

ACCOUNT = DEFAULT_ACCOUNT
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
"""moto 5.2's keys: real ASL execution, and Lambda's Docker-less backend (which we route in-process)."""

WAIT_FALLBACK_SECONDS = 1.0
"""How often a waiter looks at a running execution when no end woke it (``shortcuts.ExecutionEnds``):
a safety net only; each look serialises the execution's description, its input (up to 256 KiB) included,
so looking every 0.1 s took as much CPU as a long execution itself."""

ExecutionObserver = Callable[["ExecutionResult"], None]
observers: list[ExecutionObserver] = []
"""Called with every finished execution of any sandbox (the e2e tests collect state coverage here)."""


class ExecutionTimeout(Exception):
    """An execution was still running when the sandbox stopped waiting for it."""


class EventTooLarge(ValueError):
    """An event EventBridge's PutEvents would refuse (an entry over 256 KB): no source can deliver it."""


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
    """An event put on a bus: the rules it matched, the executions it started, where it was forwarded."""

    event: dict[str, Any]
    matched_rules: list[str]
    executions: list[ExecutionResult] = field(default_factory=list)
    follow_ups: list["Delivery"] = field(default_factory=list)
    """The "Security Hub Findings - Imported" events this delivery's BatchUpdateFindings caused."""
    bus: str = ""
    """The ARN of the bus the event was put on."""
    matched_rule_arns: list[str] = field(default_factory=list)
    forwarded: list["Delivery"] = field(default_factory=list)
    """What happened on each bus a matching rule sent the event to (that accepted it)."""
    rejected: list[Rejection] = field(default_factory=list)
    """Every refusal on the way: by this bus, or by a bus a rule forwarded the event to."""

    def all_executions(self) -> list[ExecutionResult]:
        """This bus's executions, then those of every bus it was forwarded to."""
        return [*self.executions, *(run for hop in self.forwarded for run in hop.all_executions())]

    def hops(self) -> list["Delivery"]:
        """This delivery and every one it led to, in order."""
        return [self, *(hop for forwarded in self.forwarded for hop in forwarded.hops())]

    def all_rejected(self) -> list[Rejection]:
        return [*self.rejected, *(refusal for hop in self.forwarded for refusal in hop.all_rejected())]


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
        self.ids = SandboxIds(self.clock.now())
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
        self.shortcuts = EngineShortcuts()
        self.executions: list[ExecutionResult] = []
        self.iam_gaps: list[str] = []
        self.metric_lines: list[str] = []
        """Every EMF line the functions wrote (stdout in Lambda), oldest first: ``metric_documents``."""
        self.security_hub = SecurityHubLoop(ACCOUNT, strict_iam=strict_iam)
        self.accounts = Accounts()
        self.buses = BusBook()
        """Every custom bus (and its policy) of every account and region; ``buses.organization`` too."""
        self.inventories: list[Inventory] = []
        """Every render's inventory (shared by every view), for what EventBridge checks when it runs."""
        self.rejected: list[Rejection] = []
        """Every event a bus or a bus target refused, oldest first (shared by every view)."""
        self._mock: Any = None
        self._traffic: SandboxTraffic | None = None
        self._clients: dict[str, Any] = {}
        self._account_clients: dict[tuple[str, str, str], Any] = {}

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
        self.shortcuts.start()
        try:
            self._mock = mock_aws(config=MOTO_CONFIG)
            self._mock.start()
            _forget_cached_services()
            self.accounts.start()
            self.limits.start()
            self.lambdas.start()
            handler_clock.set_clock(self.clock.now)
            handler_metrics.use_sink(self.metric_lines.append)
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

    def _deployer(self, clients: Callable[[str], Any], region: str, **existing: Any) -> Deployer:
        """A deployer into this view's account and ``region``, sharing the sandbox's moto, functions, event
        routing, names, buses and accounts; ``existing`` (inventory, policies) for an update."""
        return Deployer(
            clients=clients,
            region=region,
            account=self.account,
            lambdas=self.lambdas,
            router=self.router,
            scheduler=self.scheduler,
            strict_iam=self.strict_iam,
            names=self.names,
            buses=self.buses,
            accounts=self.accounts,
            **existing,
        )

    def _deploy(
        self, rendered: RenderedLike, region: str, clients: Callable[[str], Any]
    ) -> tuple[Inventory, list[str]]:
        deployer = self._deployer(clients, region)  # the view's account: ``deploy`` sets it first
        inventory = deployer.deploy(rendered)
        self.machines.update(inventory.state_machines)
        self.security_hub.attach(
            region,
            self.clock.now,
            inventory.functions,
            inventory.roles,
            deployer.policies,
            new_id=lambda: str(self.ids.uuid()),
        )
        self.inventories.append(inventory)
        return inventory, deployer.iam_gaps

    def deploy(self, rendered: RenderedLike, *, account: str | None = None) -> "Sandbox":
        """Deploy another render into this running sandbox: into ``account`` (default this view's)
        and the render's own ``aws:region``.

        Returns a view of this sandbox for that render: same moto, buses, scheduler, clock and
        execution log, its own inventory, account and region. Leave the sandbox through the
        original, not through a view. A physical name the render shares with a deployed one in the
        same scope fails with ``NameTaken``, naming both URNs. A render for another account must
        have been rendered for it (``render_stack(..., account=)``): its ARNs name the account.
        """
        if self._mock is None:
            raise RuntimeError("start the sandbox before deploying another render into it")
        view = copy.copy(self)
        view.rendered = rendered
        view.region = str(rendered.config.get("aws:region") or "us-east-1")
        view.account = account or self.account
        view._clients = {}
        view._traffic = None
        view.inventory, view.iam_gaps = view._deploy(rendered, view.region, view.client)
        return view

    def update(self, rendered: RenderedLike, *, denied_calls: int = 2) -> "UpdateReport":
        """Deploy a new render of this view's stack over it, as a second ``pulumi up`` would (see
        ``update.py``: what is emulated, in which order, and what each step leaves the firewall
        enforcing); a role whose policy changes is refused its next ``denied_calls`` Network Firewall
        calls (IAM propagation)."""
        from .update import Updater

        deployer = self._deployer(
            self.client, self.region, inventory=self.inventory, policies=self.inventory.policies
        )
        for arn, name in self.inventory.roles.items():
            deployer._role_ids[arn] = deployer._role_ids[name] = name
        updater = Updater(
            deployer,
            self.rendered,
            lambda: {str(item["HostIp"]) for item in self.ledger_items() if "/" in str(item["HostIp"])},
            denied_calls,
        )
        report = updater.apply(rendered)
        self.rendered = rendered
        return report

    def stop(self) -> None:
        """Undo everything ``start`` did, in reverse (safe to call twice, and after a failed start)."""
        if self._traffic is not None:
            self._traffic.close()  # its firewall stops following StartFlowFlush
        handler_clock.set_clock(None)
        handler_metrics.use_sink(None)
        _forget_cached_services()
        self.lambdas.stop()
        self.limits.stop()
        self.accounts.stop()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self.shortcuts.stop()
        self._clients.clear()

    def client(self, service: str) -> Any:
        """A boto3 client for the view's account and region (moto answers it while the sandbox runs)."""
        if service not in self._clients:
            self._clients[service] = self.client_in(service, account=self.account, region=self.region)
        return self._clients[service]

    def client_in(self, service: str, *, account: str, region: str) -> Any:
        """A client acting in ``account`` and ``region``: the default credentials in the sandbox's
        first account, an operator role's in any other (moto tells accounts apart by credentials)."""
        key = (service, account, region)
        if key not in self._account_clients:
            if account == ACCOUNT:
                self._account_clients[key] = boto3.client(service, region_name=region)  # type: ignore[call-overload]
            else:
                self._account_clients[key] = self.accounts.client(service, account=account, region=region)
        return self._account_clients[key]

    # --- what was deployed -----------------------------------------------------------------------

    @property
    def table_name(self) -> str:
        return self._only(list(self.inventory.tables), TABLE)

    @property
    def topic_arn(self) -> str:
        return self._only(list(self.inventory.topics), "topic")

    @property
    def rule_group_arn(self) -> str:
        """The rule group of IP hosts: the stateless one, or on a Next Generation stack the FIREWALL group
        the functions write (its domain group is a FIREWALL group too)."""
        return self._only(
            [arn for arn in self.inventory.rule_groups if ":stateless-rulegroup/" in arn]
            or self._firewall_groups(ENV_RULE_GROUP_ARN),
            "rule group",
        )

    @property
    def domain_rule_group_arn(self) -> str:
        """The domain-list rule group (a stack whose domainBlocking includes network-firewall)."""
        return self._only(
            [arn for arn in self.inventory.rule_groups if ":stateful-rulegroup/" in arn]
            or self._firewall_groups(ENV_DOMAIN_RULE_GROUP_ARN),
            "domain rule group",
        )

    def _firewall_groups(self, variable: str) -> list[str]:
        """The deployed FIREWALL groups the block function names in ``variable`` (none, or the one)."""
        firewall = [arn for arn in self.inventory.rule_groups if ":firewall-rulegroup/" in arn]
        if not firewall:
            return []
        named = self.function_environment("block").get(variable, "")
        return [arn for arn in firewall if arn == named]

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
        found = [spec for spec in specs if runs_entry_point(spec.handler, entry_point)]
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

    def deliver(self, event: dict[str, Any], *, bus: str = "default", _round: int = 0) -> Delivery:
        """Put ``event`` on ``bus`` (a name, or an ARN) of this view's account and region, as that
        account: every matching rule of every render deployed there runs its targets, as the bus would.

        A Security Hub event's findings are imported into the sandbox's Security Hub first, and the
        event carries them as it holds them; the "Findings - Imported" events that the executions'
        BatchUpdateFindings caused are delivered afterwards, as ``follow_ups``.

        A target that is another bus receives the event (same ``id``, ``account``, ``region``,
        ``source``, ``detail-type``, ``detail``) if its role and that bus's policy allow it;
        otherwise the refusal is recorded (``Delivery.rejected``, ``Sandbox.rejected``) and the
        event goes to the target's dead-letter queue, as EventBridge does with errors it does not retry.
        """
        size = event_entry_size(event)
        if size > EVENT_ENTRY_BYTES:
            raise EventTooLarge(
                f"event {event.get('id')!r} is {size} bytes as a PutEvents entry; "
                f"EventBridge refuses entries over {EVENT_ENTRY_BYTES}"
            )
        event = self.security_hub.imported(event, self.region)
        arn = bus if bus.startswith("arn:") else bus_arn(self.account, self.region, bus)
        delivery = self.put_on_bus(event, arn, sender=self.account)
        follow_ups = self.security_hub.follow_ups()
        if follow_ups and _round >= MAX_ROUNDS:
            raise FindingUpdateLoop(
                f"BatchUpdateFindings still causing more after {MAX_ROUNDS} rounds of follow-up events"
            )
        delivery.follow_ups = [
            self.deliver(follow_up, bus=bus, _round=_round + 1) for follow_up in follow_ups
        ]
        return delivery

    def custom_action(self, intent: str, finding: Mapping[str, Any]) -> Delivery:
        """A person selects ``finding`` in the Security Hub console and picks the program's custom action
        for ``intent`` ("block-now", "release", "extend"): Security Hub sends the "Findings - Custom
        Action" event (one per finding), whose ``resources`` is the action's ARN."""
        targets = self.inventory.action_targets
        wanted = [arn for arn, action in targets.items() if _action_intent(action["Id"]) == intent]
        if not wanted:
            raise LookupError(f"the program has no custom action for {intent!r}")
        action = targets[wanted[0]]
        event = {
            "version": "0",
            "id": str(self.ids.uuid()),
            "detail-type": "Security Hub Findings - Custom Action",
            "source": "aws.securityhub",
            "account": self.account,
            "time": self.clock.isoformat(),
            "region": self.region,
            "resources": [wanted[0]],
            "detail": {
                "actionName": action["Name"],
                "actionDescription": action["Description"],
                "findings": [dict(finding)],
            },
        }
        return self.deliver(event)

    def person_updates(
        self,
        finding: Mapping[str, Any],
        *,
        by: str,
        workflow: str | None = None,
        note: str = "",
    ) -> list[Delivery]:
        """A person (not the tool: the call is the CLI's, and its Note is signed ``by``) updates a
        finding in Security Hub (BatchUpdateFindings of its workflow status, with a note), as an analyst
        does in the console; the "Findings - Imported" events that follow are delivered."""
        request: dict[str, Any] = {
            "FindingIdentifiers": [{"Id": finding["Id"], "ProductArn": finding["ProductArn"]}],
            "Note": {"Text": note or f"{workflow or 'updated'} by {by}", "UpdatedBy": by},
        }
        if workflow is not None:
            request["Workflow"] = {"Status": workflow}
        self.client("securityhub").batch_update_findings(**request)
        return [self.deliver(event) for event in self.security_hub.follow_ups()]

    def put_on_bus(self, event: dict[str, Any], arn: str, *, sender: str, hops: int = 0) -> Delivery:
        """PutEvents of ``event`` on the bus at ``arn`` by account ``sender`` (``hops``: buses it crossed)."""
        size = event_entry_size(event)
        if size > EVENT_ENTRY_BYTES:
            raise EventTooLarge(
                f"event {event.get('id')!r} is {size} bytes as a PutEvents entry; "
                f"EventBridge refuses entries over {EVENT_ENTRY_BYTES}"
            )
        bus = self.buses.get(arn)
        if bus is None:
            raise LookupError(f"ResourceNotFoundException: event bus {arn} does not exist")
        rules = self.router.matching(event, bus=bus.name, account=bus.account, region=bus.region)
        delivery = Delivery(
            event=event,
            matched_rules=[rule.name for rule in rules],
            bus=bus.arn,
            matched_rule_arns=[rule.arn for rule in rules],
        )
        for rule in rules:
            for target in rule.targets:
                if target.is_bus:
                    self._forward(delivery, rule, target, bus, hops)
                else:
                    delivery.executions.append(
                        self._run_target(target, event, prefix=str(event.get("id") or "event"))
                    )
        LOG.info(
            "event delivered",
            extra={
                "event_id": event.get("id"),
                "bus": bus.arn,
                "rules": delivery.matched_rules,
                "executions": len(delivery.executions),
            },
        )
        return delivery

    def _forward(self, delivery: Delivery, rule: Any, target: Target, source: EventBus, hops: int) -> None:
        """A bus target: EventBridge assumes the target's role and calls PutEvents on the target bus."""
        refusal = self._bus_target_refusal(target, source, hops)
        if refusal is None:
            destination = self.buses.get(target.arn)
            assert destination is not None  # _bus_target_refusal checked it exists
            delivery.forwarded.append(
                self.put_on_bus(delivery.event, target.arn, sender=source.account, hops=hops + 1)
            )
            return
        code, message = refusal
        rejection = Rejection(
            event_id=delivery.event.get("id") if isinstance(delivery.event.get("id"), str) else None,
            bus=target.arn,
            code=code,
            message=message,
            rule=rule.arn,
            dead_letter=target.dead_letter_arn,
        )
        delivery.rejected.append(rejection)
        self.rejected.append(rejection)
        LOG.info(
            "event refused",
            extra={"event_id": rejection.event_id, "bus": target.arn, "reason": rejection.reason},
        )
        if target.dead_letter_arn is not None:
            self._send_to_dead_letter(delivery.event, rule.arn, target, code, message)

    def _bus_target_refusal(self, target: Target, source: EventBus, hops: int) -> tuple[str, str] | None:
        """Why EventBridge could not put the event on the target bus (an error it does not retry), or None."""
        owner = self._inventory_with_role(str(target.role_arn))
        if owner is None or not trusts_events(owner.trust.get(str(target.role_arn))):
            return "FAILED_TO_ASSUME_ROLE", f"EventBridge cannot assume role {target.role_arn}"
        role_name = owner.roles[str(target.role_arn)]
        if not owner.policies.allows(role_name, "events:PutEvents", target.arn):
            return "NO_PERMISSIONS", f"role {role_name!r} is not allowed events:PutEvents on {target.arn}"
        destination = self.buses.get(target.arn)
        if destination is None:
            return "NO_RESOURCE", f"event bus {target.arn} does not exist"
        if hops >= 1 and destination.account != source.account:
            return "THIRD_ACCOUNT_HOP_DETECTED", (
                f"an event received from another bus is not sent on to account {destination.account}"
            )
        if hops >= 1 and destination.region != source.region:
            return "THIRD_REGION_HOP_DETECTED", (
                f"an event received from another bus is not sent on to region {destination.region}"
            )
        refused = self.buses.refusal(destination, source.account)
        if refused is not None:
            return "CROSS_ACCOUNT_INGESTION_FAILED", f"AccessDeniedException: {refused}"
        return None

    def _inventory_with_role(self, role_arn: str) -> Inventory | None:
        for inventory in self.inventories:
            if role_arn in inventory.roles:
                return inventory
        return None

    def _send_to_dead_letter(
        self, event: Mapping[str, Any], rule_arn: str, target: Target, code: str, message: str
    ) -> None:
        """What EventBridge sends its dead-letter queue: the event, with why it was not delivered."""
        queue = str(target.dead_letter_arn)
        account, region = account_of(queue), queue.split(":")[3]
        sqs = self.client_in("sqs", account=account, region=region)
        url = sqs.get_queue_url(QueueName=queue.rsplit(":", 1)[1])["QueueUrl"]
        attributes = {
            "RULE_ARN": rule_arn,
            "TARGET_ARN": target.arn,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": message[:256],
        }
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(event, separators=(",", ":")),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        """What this view's queues hold (read without deleting): ``{"queue", "event", "attributes"}``."""
        sqs = self.client("sqs")
        letters = []
        for url in self.inventory.queues:
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )
            if int(attributes["Attributes"]["ApproximateNumberOfMessages"]) == 0:
                continue
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
            )
            for message in received.get("Messages", []):
                letters.append(
                    {
                        "queue": url.rsplit("/", 1)[1],
                        "event": json.loads(message["Body"]),
                        "attributes": {
                            key: value["StringValue"]
                            for key, value in (message.get("MessageAttributes") or {}).items()
                        },
                    }
                )
        return letters

    def advance(self, seconds: float) -> list[ExecutionResult]:
        """Move the clock forward and run every schedule that came due (missed runs coalesce into one)."""
        self.clock.advance(seconds)
        results = []
        for schedule in self.scheduler.due():
            results.append(self._run_schedule(schedule))
        return results

    def prune_after(self, seconds: float) -> list[ExecutionResult]:
        """``--prune-after``: move the clock forward and run what came due; if nothing did (the prune's rate
        is longer than ``seconds``), run the prune once now, as ``replay`` and ``traffic`` promise."""
        return self.advance(seconds) or [self.run_pruning()]

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
        execution_id = self.ids.uuid().hex
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
        sfn = self._machine_client(state_machine_arn)
        name = _execution_name(prefix, self.ids.uuid().hex[:12])
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

    def _machine_client(self, arn: str) -> Any:
        """Step Functions in the account and region of a state machine or execution ARN."""
        return self.client_in("stepfunctions", account=account_of(arn), region=arn.split(":")[3])

    def _wait(self, execution_arn: str) -> dict[str, Any]:
        sfn = self._machine_client(execution_arn)
        deadline = time.monotonic() + self.execution_timeout
        while True:
            seen = self.shortcuts.ends.seen()
            description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            if time.monotonic() > deadline:
                raise ExecutionTimeout(f"{execution_arn} still running after {self.execution_timeout}s")
            self.shortcuts.ends.wait_past(seen, timeout=WAIT_FALLBACK_SECONDS)

    def _history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self._machine_client(execution_arn)
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def traffic(self) -> "SandboxTraffic":
        """The firewall in front of this view's protected VPC, and its resolver (``traffic.py``)."""
        if self._traffic is None:
            from .traffic import SandboxTraffic, declared_firewall

            self._traffic = SandboxTraffic(self, firewall_arn=declared_firewall(self))
        return self._traffic

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

    def describe_firewall_policy(self) -> dict[str, Any]:
        """DescribeFirewallPolicy of the program's own policy (createFirewallPolicy), as AWS returns it."""
        arn = self._only(list(self.inventory.firewall_policies), "firewall policy")
        response: dict[str, Any] = self.client("network-firewall").describe_firewall_policy(
            FirewallPolicyArn=arn
        )
        return response

    def published(self) -> list[tuple[str, str | None]]:
        """Every (Message, Subject) published to the program's topics, oldest first, as sent."""
        from moto.sns.models import sns_backends

        backend = sns_backends[self.account][self.region]
        sent: list[tuple[str, str | None]] = []
        for arn in self.inventory.topics:
            sent.extend(
                (message, subject) for _, message, subject, *_ in backend.topics[arn].sent_notifications
            )
        return sent

    def sns_messages(self) -> list[str]:
        """What every protocol without a key of its own receives (the ``default`` of a per-protocol
        message, else the message itself), oldest first: the JSON form."""
        return [_for_protocol(message, "default") for message, _ in self.published()]

    def notifications(self) -> list[Any]:
        """The published messages parsed as JSON (a message that is not JSON is kept as text)."""
        parsed = []
        for message in self.sns_messages():
            try:
                parsed.append(json.loads(message))
            except json.JSONDecodeError:
                parsed.append(message)
        return parsed

    def metric_documents(self) -> list[dict[str, Any]]:
        """The functions' EMF documents (CloudWatch Logs would extract metrics from these), oldest first."""
        return [json.loads(line) for line in self.metric_lines]

    def email_notifications(self) -> list[dict[str, str | None]]:
        """What an e-mail subscriber receives of each message, oldest first: ``subject`` and ``text``."""
        return [
            {"subject": subject, "text": _for_protocol(message, "email")}
            for message, subject in self.published()
        ]

    def function_environment(self, entry_point: str = "record") -> dict[str, str]:
        """The recorded environment of a function: the settings the operator commands must share."""
        return dict(self.function(entry_point).environment)

    @contextmanager
    def as_function(self, entry_point: str = "record") -> Iterator[None]:
        """Run code (the CLI's operator use cases) with a function's environment, as if inside it."""
        spec = self.function(entry_point)
        with function_environment(spec.environment, spec.region, spec.name):
            yield


def _action_intent(identifier: str) -> str:
    from handlers.steering import CUSTOM_ACTIONS

    return next((str(a.intent) for a in CUSTOM_ACTIONS if identifier.startswith(a.prefix)), "")


def _for_protocol(message: str, protocol: str) -> str:
    """What a ``protocol`` subscriber receives of ``message``: its own key of a per-protocol message (the
    sandbox's SNS accepted only valid ones), else ``default``; a plain message as it is."""
    try:
        parsed = json.loads(message)
    except json.JSONDecodeError:
        return message
    if isinstance(parsed, dict) and isinstance(parsed.get("default"), str):
        return str(parsed.get(protocol, parsed["default"]))
    return message


def _forget_cached_services() -> None:
    """The entry points cache a service (and its AWS clients) per configuration: one sandbox's
    clients must not serve the next sandbox, whose moto backends are fresh."""
    try:
        from handlers import entry
    except ImportError:  # the entry points are not importable: the deployment will say so
        return
    entry.reset()


def _execution_name(prefix: str, unique: str) -> str:
    """Execution names are 1-80 chars of [A-Za-z0-9-_]; keep the prefix readable, ``unique`` makes it so."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)[:40].strip("-") or "run"
    return f"{cleaned}-{unique}"


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
