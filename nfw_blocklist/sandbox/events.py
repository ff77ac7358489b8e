"""EventBridge rules and Scheduler schedules, kept by the sandbox itself.

moto's EventBridge matcher cannot match a pattern against an array of objects, and the Security
Hub pattern does exactly that (``detail.findings[].ProductFields``), so the rules are matched with
LocalStack's EventBridge pattern engine instead; a pattern it rejects fails the deployment, as
PutRule would. Targets are delivered by the sandbox (a state machine execution per matching
target), so what reaches the workflow is what the program's rules and targets say.
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from components.aws_limits import TARGETS_PER_RULE

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


class UnsupportedTarget(Exception):
    """A target feature the sandbox does not emulate; failing loudly beats delivering the wrong input."""


class TooManyTargets(ValueError):
    """PutTargets past EventBridge's 5 targets per rule (LimitExceededException)."""


@dataclass(frozen=True)
class Target:
    """One EventBridge or Scheduler target: where to deliver and how to shape the input."""

    target_id: str
    arn: str
    role_arn: str | None = None
    input: str | None = None
    input_path: str | None = None
    dead_letter_arn: str | None = None
    """The SQS queue that receives what could not be delivered (``deadLetterConfig.arn``)."""

    @property
    def is_bus(self) -> bool:
        """A target that is an event bus (in any account and region): EventBridge calls PutEvents on it."""
        return ":event-bus/" in self.arn

    def shape(self, event: dict[str, Any], context: Mapping[str, str] | None = None) -> Any:
        """What the target receives: ``Input`` verbatim, else ``InputPath`` of the event, else the event.

        ``context`` fills Scheduler's context attributes (``<aws.scheduler.scheduled-time>``...) in
        ``Input``, as Scheduler does before delivering.
        """
        if self.input is not None:
            text = self.input
            for placeholder, value in (context or {}).items():
                text = text.replace(f"<{placeholder}>", value)
            return json.loads(text)
        if self.input_path:
            return select_path(event, self.input_path)
        return event


@dataclass
class Rule:
    name: str
    bus: str
    pattern: dict[str, Any]
    enabled: bool
    targets: list[Target] = field(default_factory=list)
    compiled: dict[str, Any] = field(default_factory=dict, repr=False)
    account: str = ""
    region: str = ""

    @property
    def arn(self) -> str:
        """``rule/NAME`` on the default bus, ``rule/BUS/NAME`` on another, as EventBridge names them."""
        path = self.name if self.bus == "default" else f"{self.bus}/{self.name}"
        return f"arn:aws:events:{self.region}:{self.account}:rule/{path}"


def select_path(document: Any, path: str) -> Any:
    """The subset of JSONPath EventBridge's InputPath allows in practice: ``$`` and ``$.a.b``."""
    if path == "$":
        return document
    if not path.startswith("$."):
        raise UnsupportedTarget(f"InputPath {path!r} is not a simple $.a.b path")
    current = document
    for key in path[2:].split("."):
        if not isinstance(current, dict) or key not in current:
            return None
        current = current[key]
    return current


class EventRouter:
    """Every bus's rules, in every account and region, matched with a real EventBridge pattern engine.

    A rule belongs to one bus of one account and region (its key); ``account``/``region`` left
    empty mean "any", for callers that deploy into one account and region only.
    """

    def __init__(self) -> None:
        self.rules: dict[tuple[str, str, str, str], Rule] = {}
        self._compiler = EventPatternCompiler()
        self._engine = EventRuleEngine()

    def add_rule(
        self,
        name: str,
        pattern: str | dict[str, Any],
        *,
        bus: str = "default",
        enabled: bool = True,
        account: str = "",
        region: str = "",
    ) -> Rule:
        parsed = json.loads(pattern) if isinstance(pattern, str) else pattern
        rule = Rule(name=name, bus=bus, pattern=parsed, enabled=enabled, account=account, region=region)
        rule.compiled = self._compiler.compile_event_pattern(parsed)
        self.rules[(account, region, bus, name)] = rule
        return rule

    def add_target(
        self, rule_name: str, target: Target, *, bus: str = "default", account: str = "", region: str = ""
    ) -> None:
        rule = self.rules.get((account, region, bus, rule_name))
        if rule is None:
            raise KeyError(
                f"event target {target.target_id!r} names rule {rule_name!r} on bus {bus!r}, "
                "which was not created"
            )
        if len(rule.targets) >= TARGETS_PER_RULE:
            raise TooManyTargets(
                f"LimitExceededException: rule {rule_name!r} already has {len(rule.targets)} targets; "
                f"EventBridge allows {TARGETS_PER_RULE} per rule (target {target.target_id!r})"
            )
        rule.targets.append(target)

    def matching(
        self,
        event: dict[str, Any],
        *,
        bus: str = "default",
        account: str | None = None,
        region: str | None = None,
    ) -> list[Rule]:
        """Enabled rules on ``bus`` (of ``account``/``region``, if given) matching ``event``, in order."""
        return [
            rule
            for rule in self.rules.values()
            if rule.enabled
            and rule.bus == bus
            and (account is None or rule.account == account)
            and (region is None or rule.region == region)
            and self._engine.evaluate_pattern_on_event(rule.compiled, event)
        ]


def parse_rate(expression: str) -> int:
    """Seconds between runs of a ``rate(N unit)`` schedule (the only form the program uses)."""
    match = _RATE.match(expression.strip())
    if not match:
        raise UnsupportedTarget(f"schedule expression {expression!r} is not rate(N minutes|hours|days)")
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    if count < 1 or (count == 1) != (match.group(2) == unit):
        raise UnsupportedTarget(f"schedule expression {expression!r}: use '1 minute' or 'N minutes'")
    return count * _UNIT_SECONDS[unit]


@dataclass
class Schedule:
    name: str
    arn: str
    interval_seconds: int
    target: Target
    next_run: float
    enabled: bool = True


class Scheduler:
    """EventBridge Scheduler's rate schedules, driven by the sandbox clock.

    When the clock jumps over several runs, they are coalesced into one run at the new time: the
    only scheduled workflow is pruning, which acts on "everything expired by now", so running it
    once after the jump leaves the same state as running it at every missed tick, in a fraction
    of the time (a 13-hour jump would otherwise be 52 executions).
    """

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.schedules: dict[str, Schedule] = {}

    def add(self, name: str, arn: str, expression: str, target: Target, *, enabled: bool = True) -> Schedule:
        interval = parse_rate(expression)
        schedule = Schedule(name, arn, interval, target, next_run=self._now() + interval, enabled=enabled)
        # Keyed by ARN: one stack deployed into two regions or accounts has two schedules of one name.
        self.schedules[arn or name] = schedule
        return schedule

    def due(self) -> list[Schedule]:
        """Schedules whose next run has passed; their next run moves past now (missed runs coalesce)."""
        now = self._now()
        fired = []
        for schedule in self.schedules.values():
            if not schedule.enabled or schedule.next_run > now:
                continue
            missed = int((now - schedule.next_run) // schedule.interval_seconds) + 1
            schedule.next_run += missed * schedule.interval_seconds
            fired.append(schedule)
        return fired
