"""The stack's CloudWatch dashboard: a pure builder of its body, and the checks CloudWatch applies to one.

The body follows "Dashboard Body Structure and Syntax" (CloudWatch API Reference): a JSON object with a
``widgets`` array of 0-500 widgets, each with ``type``, ``x`` (0-23), ``y``, ``width`` (1-24),
``height`` (1-1000) and ``properties``; a metric widget's ``properties.metrics`` is an array of metric
arrays ``[Namespace, MetricName, DimensionName, DimensionValue, ..., {rendering options}]`` or of
expression objects (``{"expression": ..., "id": ...}``), and it needs a ``region``. The sandbox runs
``body_problems`` at deploy (PutDashboard refuses such a body with ``InvalidParameterInput``), and the
mocks tests check that every metric a body names is one the functions emit or one AWS publishes for a
resource of the render.

Network Firewall publishes a stateless custom action's metric in ``AWS/NetworkFirewall`` as
``Packets`` with the dimension ``CustomAction`` (our value ``BlocklistDrop``) beside the firewall's own
dimensions (``FirewallName``, ``AvailabilityZone``, ``Engine``): the rule group does not know which
firewalls reference it, so the drop widget is a ``SEARCH`` over every firewall.
"""

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from handlers import metrics
from handlers.rules import METRIC_DIMENSION_VALUE, MONITOR_DIMENSION_VALUE

MAX_WIDGETS: Final = 500
GRID_COLUMNS: Final = 24
MAX_HEIGHT: Final = 1000
WIDGET_TYPES: Final = frozenset({"metric", "text", "log", "alarm", "explorer", "custom"})
PERIODS: Final = frozenset({1, 5, 10, 30}) | frozenset(range(60, 86400 * 7, 60))
"""A metric widget's period: 1, 5, 10, 30 or a multiple of 60 seconds."""
FIREWALL_NAMESPACE: Final = "AWS/NetworkFirewall"
FIREWALL_DROP_METRIC: Final = "Packets"
FIREWALL_DROP_SEARCH: Final = (
    f'SEARCH(\'Namespace="{FIREWALL_NAMESPACE}" MetricName="{FIREWALL_DROP_METRIC}" '
    f"CustomAction=\"{METRIC_DIMENSION_VALUE}\"', 'Sum', 300)"
)
FIREWALL_WOULD_DROP_SEARCH: Final = (
    f'SEARCH(\'Namespace="{FIREWALL_NAMESPACE}" MetricName="{FIREWALL_DROP_METRIC}" '
    f"CustomAction=\"{MONITOR_DIMENSION_VALUE}\"', 'Sum', 300)"
)
"""Monitor mode's count: the packets the owned rules matched and forwarded instead of dropping."""
FIREWALL_SEARCHES: Final = (FIREWALL_DROP_SEARCH, FIREWALL_WOULD_DROP_SEARCH)
PERIOD: Final = 300


Ref = Any
"""A name or ARN: a ``str`` when the body is built, a ``pulumi.Input[str]`` when alarms are declared."""


@dataclass(frozen=True)
class DashboardTargets:
    """The resource names and ARNs a dashboard body (and the alarms) refer to."""

    region: Ref
    rule_group_name: Ref
    response_state_machine_arn: Ref
    pruning_state_machine_arn: Ref
    dead_letter_queue_name: Ref
    function_names: Mapping[str, Ref]
    """Function key (record, block, prune) -> function name."""


def _graph(
    title: str, region: str, series: list[list[Any]], x: int, y: int, width: int, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "period": PERIOD,
            "metrics": series,
            **extra,
        },
    }


def dashboard_body(targets: DashboardTargets) -> dict[str, Any]:
    """The widgets, top to bottom: what the blocklist holds, what it did, the workflows, the firewall."""
    rule_group = targets.rule_group_name

    def our(name: str, stat: str, label: str, **options: Any) -> list[Any]:
        return [
            metrics.NAMESPACE,
            name,
            metrics.DIMENSION,
            rule_group,
            {"stat": stat, "label": label, **options},
        ]

    def executions(arn: str) -> list[list[Any]]:
        return [
            ["AWS/States", metric, "StateMachineArn", arn, {"stat": "Sum", "label": label}]
            for metric, label in (("ExecutionsSucceeded", "succeeded"), ("ExecutionsFailed", "failed"))
        ]

    functions = sorted(targets.function_names.items())
    region = targets.region
    return {
        "start": "-PT24H",
        "widgets": [
            {
                "type": "text",
                "x": 0,
                "y": 0,
                "width": GRID_COLUMNS,
                "height": 2,
                "properties": {
                    "markdown": (
                        f"## nfw-blocklist: rule group `{rule_group}`\n"
                        "Hosts GuardDuty flagged, blocked in the stateless rule group; the alarms notify "
                        "the same topic as the block notifications."
                    )
                },
            },
            _graph(
                "Hosts blocked and capacity used",
                region,
                [
                    our(metrics.HOSTS_IN_GROUP, "Maximum", "hosts in the rule group"),
                    our(metrics.CAPACITY_USED_PERCENT, "Maximum", "capacity used (%)", yAxis="right"),
                ],
                0,
                2,
                12,
                yAxis={"right": {"min": 0, "max": 100}},
            ),
            _graph(
                "Blocks, evictions and prunes",
                region,
                [
                    our(metrics.HOSTS_BLOCKED, "Sum", "blocked"),
                    our(metrics.HOSTS_EVICTED, "Sum", "evicted"),
                    our(metrics.HOSTS_PRUNED, "Sum", "pruned (expired)"),
                ],
                12,
                2,
                12,
                stacked=False,
            ),
            _graph(
                "Response workflow executions",
                region,
                executions(targets.response_state_machine_arn),
                0,
                8,
                8,
            ),
            _graph(
                "Pruning workflow executions", region, executions(targets.pruning_state_machine_arn), 8, 8, 8
            ),
            _graph(
                "Dead-letter queue: events that never started a workflow",
                region,
                [
                    [
                        "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible",
                        "QueueName",
                        targets.dead_letter_queue_name,
                        {"stat": "Maximum", "label": "messages waiting"},
                    ]
                ],
                16,
                8,
                8,
            ),
            _graph(
                "Packets dropped, or in monitor mode would have dropped, by the blocklist (every firewall)",
                region,
                [
                    [{"expression": FIREWALL_DROP_SEARCH, "id": "drops", "label": "dropped packets"}],
                    [
                        {
                            "expression": FIREWALL_WOULD_DROP_SEARCH,
                            "id": "wouldDrop",
                            "label": "would have dropped (monitor mode)",
                        }
                    ],
                ],
                0,
                14,
                12,
            ),
            _graph(
                "Function errors and throttles",
                region,
                [
                    ["AWS/Lambda", metric, "FunctionName", name, {"stat": "Sum", "label": f"{key} {label}"}]
                    for key, name in functions
                    for metric, label in (("Errors", "errors"), ("Throttles", "throttles"))
                ],
                12,
                14,
                12,
            ),
        ],
    }


@dataclass(frozen=True)
class MetricReference:
    """A metric a dashboard widget (or an alarm) reads."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]


def referenced_metrics(body: Mapping[str, Any]) -> tuple[list[MetricReference], list[str]]:
    """Every plain metric the body's widgets name, and every metric math/search expression."""
    found: list[MetricReference] = []
    expressions: list[str] = []
    for widget in body.get("widgets", []):
        if widget.get("type") != "metric":
            continue
        for series in widget.get("properties", {}).get("metrics", []):
            plain = [item for item in series if not isinstance(item, Mapping)]
            if not plain:
                expressions.extend(
                    str(item.get("expression")) for item in series if isinstance(item, Mapping)
                )
                continue
            pairs = tuple(zip(plain[2::2], plain[3::2], strict=True))
            found.append(
                MetricReference(str(plain[0]), str(plain[1]), tuple((str(k), str(v)) for k, v in pairs))
            )
    return found, expressions


def body_problems(text: str) -> list[str]:
    """Why PutDashboard would refuse ``text`` as a DashboardBody (empty: it would accept it)."""
    try:
        body = json.loads(text)
    except ValueError as e:
        return [f"the body is not JSON: {e}"]
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    widgets = body.get("widgets")
    if not isinstance(widgets, list):
        return ["the body must have a widgets array"]
    if len(widgets) > MAX_WIDGETS:
        return [f"the body has {len(widgets)} widgets; CloudWatch accepts at most {MAX_WIDGETS}"]
    found: list[str] = []
    for index, widget in enumerate(widgets):
        found.extend(f"widgets[{index}]: {problem}" for problem in _widget_problems(widget))
    return found


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _widget_problems(widget: object) -> list[str]:
    if not isinstance(widget, dict):
        return ["a widget must be an object"]
    found: list[str] = []
    if widget.get("type") not in WIDGET_TYPES:
        found.append(f"type {widget.get('type')!r} is not one of {sorted(WIDGET_TYPES)}")
    x, width = widget.get("x", 0), widget.get("width", 6)
    if not _int_in(x, 0, GRID_COLUMNS - 1):
        found.append(f"x {x!r} must be an integer from 0 to {GRID_COLUMNS - 1}")
    if not _int_in(widget.get("y", 0), 0, 10**6):
        found.append(f"y {widget.get('y')!r} must be a non-negative integer")
    if not _int_in(width, 1, GRID_COLUMNS):
        found.append(f"width {width!r} must be an integer from 1 to {GRID_COLUMNS}")
    elif _int_in(x, 0, GRID_COLUMNS - 1) and x + width > GRID_COLUMNS:
        found.append(f"x + width = {x + width} passes the grid's {GRID_COLUMNS} columns")
    if not _int_in(widget.get("height", 6), 1, MAX_HEIGHT):
        found.append(f"height {widget.get('height')!r} must be an integer from 1 to {MAX_HEIGHT}")
    properties = widget.get("properties")
    if not isinstance(properties, dict):
        return [*found, "properties must be an object"]
    if widget.get("type") == "text" and not isinstance(properties.get("markdown"), str):
        found.append("a text widget needs properties.markdown")
    if widget.get("type") == "metric":
        found.extend(_metric_widget_problems(properties))
    return found


def _metric_widget_problems(properties: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    if not isinstance(properties.get("region"), str) or not properties["region"]:
        found.append("a metric widget needs properties.region")
    period = properties.get("period", PERIOD)
    if period not in PERIODS:
        found.append(f"period {period!r} must be 1, 5, 10, 30 or a multiple of 60")
    series_list = properties.get("metrics")
    if not isinstance(series_list, list) or not series_list:
        return [*found, "a metric widget needs a non-empty properties.metrics array"]
    for series in series_list:
        found.extend(_series_problems(series))
    return found


def _series_problems(series: object) -> list[str]:
    if not isinstance(series, list) or not series:
        return [f"metric {series!r} must be a non-empty array"]
    options = [item for item in series if isinstance(item, Mapping)]
    plain = [item for item in series if not isinstance(item, Mapping)]
    if len(options) > 1 or (options and series[-1] is not options[0]):
        return [f"metric {series!r}: only the last element may be an options object"]
    if not plain:
        expression = options[0].get("expression")
        if not isinstance(expression, str) or not expression:
            return [f"metric {series!r}: an options-only entry must hold an expression"]
        if not isinstance(options[0].get("id"), str) or not re.fullmatch(
            r"[a-z][A-Za-z0-9_]*", options[0]["id"]
        ):
            return [f"expression {expression!r} needs an id starting with a lowercase letter"]
        return []
    if len(plain) < 2 or len(plain) % 2 or not all(isinstance(item, str) and item for item in plain):
        return [f"metric {series!r} must be [Namespace, MetricName, (DimensionName, DimensionValue)...]"]
    if len(plain) // 2 - 1 > metrics.MAX_DIMENSIONS:
        return [f"metric {series!r} has more than {metrics.MAX_DIMENSIONS} dimensions"]
    stat = options[0].get("stat") if options else None
    if stat is not None and not re.fullmatch(
        r"SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d+)?", stat
    ):
        return [f"metric {series!r}: stat {stat!r} is not a CloudWatch statistic"]
    return []


def dashboard_name(project: str, stack: str, component: str) -> str:
    """``<project>-<stack>`` (plus ``-<component>`` unless the component is named after the project, so
    two instances in one program differ), in CloudWatch's dashboard name characters (``[A-Za-z0-9_-]``,
    at most 255). Dashboards are global to the account, so the region is no help.

    A project or stack name may hold characters a dashboard name may not (``.``); those become ``-``,
    and then a short digest of the original names keeps ``a.b`` and ``a-b`` apart.
    """
    raw = f"{project}-{stack}" if component == project else f"{project}-{stack}-{component}"
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", raw)
    if cleaned != raw:
        digest = hashlib.sha256(f"{project}/{stack}/{component}".encode()).hexdigest()[:7]
        cleaned = f"{cleaned[:247]}-{digest}"
    return cleaned[:255]
