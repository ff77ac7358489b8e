"""A PNG mock-up of the stack's CloudWatch dashboard, drawn from sandbox data (``make dashboard-png``).

It renders the dev stack (small group, short retention, native findings), runs six hours of sandbox
time in 15-minute steps (bursts of findings, port probes that evict, the scheduled prunes, one execution
started by hand that fails) while instances of the protected VPC keep a beaconing session open to every
host a finding is about to name (and one to a host none names) through the sandbox's emulated firewall,
then draws every widget of the rendered dashboard body where the body places it: the functions'
metrics from the EMF lines they wrote, Step Functions' execution counts from the sandbox's executions,
the firewall's ``AWS/NetworkFirewall`` drops as read back from the sandbox's CloudWatch, the
dead-letter queue's depth from SQS, and Lambda's errors and throttles from the sandbox's invocations.
Needs matplotlib (the ``bench`` extra).
"""

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.dashboard import (
    FIREWALL_DROP_METRIC,
    FIREWALL_DROP_SEARCH,
    GRID_COLUMNS,
    PERIOD,
)
from handlers import metrics

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "dashboard.png"
STEP_SECONDS = 15 * 60
HOURS = 6
SCENARIO: dict[int, tuple[str, int]] = {
    # step (15 minutes each) -> (kind, hosts)
    1: ("findings", 6),
    3: ("probe", 12),
    6: ("findings", 4),
    9: ("probe", 14),
    10: ("fail", 0),
    14: ("findings", 3),
    17: ("probe", 10),
    20: ("findings", 5),
}
"""Bursts of findings (one event per host) and port probes (one event, many hosts) through the run."""
BEACON_PACKETS = 4
"""Packets each open session exchanges per step (a C2 beacon keeps trying after it is cut)."""


@dataclass
class Collected:
    """What the sandbox run produced, by 5-minute period (CloudWatch's view of it)."""

    start: float
    documents: list[dict[str, Any]] = field(default_factory=list)
    executions: list[tuple[float, str, str]] = field(default_factory=list)
    """(time, state machine ARN, status) of every execution."""
    firewall_drops: list[tuple[float, float]] = field(default_factory=list)
    """(time, packets) of the firewall's Packets under CustomAction=BlocklistDrop, from CloudWatch."""
    queue_depths: list[tuple[float, str, float]] = field(default_factory=list)
    """(time, queue name, messages visible) after every step."""
    invocations: list[tuple[float, str, str | None]] = field(default_factory=list)
    """(time, function name, error type or None) of every function invocation."""


def collect() -> tuple[dict[str, Any], Collected]:
    """Run the scenario in a sandbox; return the rendered dashboard body and the data."""
    from nfw_blocklist.findings import documentation_hosts, native_finding, port_probe_finding
    from nfw_blocklist.render import render_stack
    from nfw_blocklist.sandbox import Sandbox
    from nfw_blocklist.sandbox.traffic import NEVER_BLOCKED

    rendered = render_stack(
        "dev",
        {"ruleGroupCapacity": "31", "retentionMinutes": "90", "findingSource": "guardduty"},
    )
    hosts = iter(documentation_hosts(200))
    with Sandbox(rendered) as sandbox:
        [body] = sandbox.inventory.dashboards.values()
        data = Collected(start=sandbox.clock.now())
        response = sandbox.response_state_machine.arn
        traffic = sandbox.traffic()
        sessions = [traffic.connect(NEVER_BLOCKED)]
        seen_invocations = 0
        for step in range(HOURS * 3600 // STEP_SECONDS):
            kind, count = SCENARIO.get(step, ("", 0))
            named = [next(hosts) for _ in range(count)]
            sessions += [traffic.connect(host) for host in named]  # open before the finding lands
            if kind == "findings":
                for host in named:
                    for run in sandbox.put_event(native_finding(host)):
                        data.executions.append((sandbox.clock.now(), response, run.status))
            elif kind == "probe":
                for run in sandbox.put_event(port_probe_finding(named)):
                    data.executions.append((sandbox.clock.now(), response, run.status))
            elif kind == "fail":
                run = sandbox.start_execution(response, {})
                data.executions.append((sandbox.clock.now(), response, run.status))
            for session in sessions:
                session.exchange(BEACON_PACKETS)
            traffic.publish_metrics()
            for run in sandbox.advance(STEP_SECONDS):
                arn = next(
                    a
                    for a, info in sandbox.inventory.state_machines.items()
                    if info.name == run.state_machine
                )
                data.executions.append((sandbox.clock.now(), arn, run.status))
            now = sandbox.clock.now()
            invocations = sandbox.lambdas.invocations[seen_invocations:]
            seen_invocations += len(invocations)
            data.invocations += [(now, i.function, i.error_type) for i in invocations]
            sqs = sandbox.client("sqs")
            for url in sandbox.inventory.queues:
                depth = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                visible = float(depth["Attributes"]["ApproximateNumberOfMessages"])
                data.queue_depths.append((now, url.rsplit("/", 1)[1], visible))
        data.documents = sandbox.metric_documents()
        data.firewall_drops = _firewall_drops(sandbox.client("cloudwatch"), data.start, sandbox.clock.now())
    return body, data


def _firewall_drops(cloudwatch: Any, start: float, end: float) -> list[tuple[float, float]]:
    """What the dashboard's SEARCH finds: Packets with CustomAction=BlocklistDrop, every firewall."""
    from handlers.rules import METRIC_DIMENSION_VALUE
    from nfw_blocklist.sandbox.traffic import firewall_metrics

    return sorted(
        point
        for (name, dimensions), points in firewall_metrics(cloudwatch, start, end, PERIOD).items()
        if name == FIREWALL_DROP_METRIC and ("CustomAction", METRIC_DIMENSION_VALUE) in dimensions
        for point in points
    )


def series_points(series: Sequence[Any], data: Collected) -> tuple[list[float], list[float]] | None:
    """(minutes since the start, values) of one metric array, per 5-minute period; None: no data here."""
    plain = [item for item in series if not isinstance(item, Mapping)]
    options = next((item for item in series if isinstance(item, Mapping)), {})
    buckets: dict[int, list[float]] = defaultdict(list)
    if not plain and options.get("expression") == FIREWALL_DROP_SEARCH:
        if not data.firewall_drops:
            return None
        for at, value in data.firewall_drops:
            buckets[int((at - data.start) // PERIOD)].append(value)
        return _reduced(buckets, "Sum")
    if len(plain) < 2:
        return None
    namespace, name = plain[0], plain[1]
    dimensions = dict(zip(plain[2::2], plain[3::2], strict=True))
    if namespace == metrics.NAMESPACE:
        for doc in data.documents:
            if name in doc and doc.get(metrics.DIMENSION) == dimensions.get(metrics.DIMENSION):
                buckets[int((doc["_aws"]["Timestamp"] / 1000 - data.start) // PERIOD)].append(
                    float(doc[name])
                )
    elif namespace == "AWS/States":
        wanted = {"ExecutionsSucceeded": "SUCCEEDED", "ExecutionsFailed": "FAILED"}.get(name)
        for at, arn, status in data.executions:
            if arn == dimensions.get("StateMachineArn") and status == wanted:
                buckets[int((at - data.start) // PERIOD)].append(1.0)
    elif namespace == "AWS/SQS" and name == "ApproximateNumberOfMessagesVisible":
        for at, queue, visible in data.queue_depths:
            if queue == dimensions.get("QueueName"):
                buckets[int((at - data.start) // PERIOD)].append(visible)
        if not buckets:
            return None
    elif namespace == "AWS/Lambda" and name in ("Errors", "Throttles"):
        for at, function, error in data.invocations:
            if function == dimensions.get("FunctionName"):
                counted = error is not None if name == "Errors" else error == "TooManyRequestsException"
                buckets[int((at - data.start) // PERIOD)].append(float(counted))
        if not buckets:
            return None
    else:
        return None
    return _reduced(buckets, str(options.get("stat", "Average")))


def _reduced(buckets: Mapping[int, list[float]], stat: str) -> tuple[list[float], list[float]]:
    """One value per 5-minute period with ``stat``; a Sum is 0 in a period without data."""
    reducers: dict[str, Callable[[list[float]], float]] = {"Sum": sum, "Maximum": max, "Minimum": min}
    reduce = reducers.get(stat, lambda values: sum(values) / len(values))
    periods = range(HOURS * 3600 // PERIOD)
    if stat == "Sum":
        values = [float(reduce(buckets[p])) if buckets.get(p) else 0.0 for p in periods]
        return [p * PERIOD / 60 for p in periods], values
    points = [(p * PERIOD / 60, float(reduce(buckets[p]))) for p in periods if buckets.get(p)]
    return [x for x, _ in points], [y for _, y in points]


def plot(body: Mapping[str, Any], data: Collected, output: Path) -> None:
    """Draw every widget of ``body`` at its grid position and save the figure as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    widgets = list(body["widgets"])
    rows = max(int(w["y"]) + int(w["height"]) for w in widgets)
    figure = plt.figure(figsize=(16, rows * 0.6))
    grid = GridSpec(rows, GRID_COLUMNS, figure=figure, hspace=9, wspace=3)
    for widget in widgets:
        x, y, width, height = (int(widget[k]) for k in ("x", "y", "width", "height"))
        axes = figure.add_subplot(grid[y : y + height, x : x + width])
        properties = widget["properties"]
        if widget["type"] == "text":
            axes.axis("off")
            axes.text(
                0, 0.5, properties["markdown"].replace("## ", "").replace("`", ""), fontsize=11, va="center"
            )
            continue
        axes.set_title(properties.get("title", ""), fontsize=9, loc="left")
        axes.tick_params(labelsize=7)
        axes.set_xlim(0, HOURS * 60)
        right = None
        drawn = 0
        for series in properties["metrics"]:
            options = next((item for item in series if isinstance(item, Mapping)), {})
            points = series_points(series, data)
            if points is None:
                continue
            label = options.get("label", series[1] if len(series) > 1 else "")
            target = axes
            if options.get("yAxis") == "right":
                right = right or axes.twinx()
                right.tick_params(labelsize=7)
                right.set_ylim(0, 105)
                target = right
            target.plot(
                *points,
                label=label,
                color=f"C{drawn}",
                linestyle="--" if target is right else "-",
                marker="." if len(points[0]) < 40 else None,
            )
            drawn += 1
        # Every series counts something: start the axis at 0 (a flat zero sits on it, not mid-panel).
        axes.set_ylim(0, max(axes.get_ylim()[1], 1))
        if drawn:
            handles, labels = axes.get_legend_handles_labels()
            if right is not None:
                extra = right.get_legend_handles_labels()
                handles, labels = handles + extra[0], labels + extra[1]
            axes.legend(handles, labels, fontsize=7, loc="upper left")
        else:
            axes.text(
                0.5,
                0.5,
                "no data in the sandbox\n(AWS publishes this metric)",
                ha="center",
                va="center",
                transform=axes.transAxes,
                fontsize=8,
                color="grey",
            )
    figure.suptitle(
        "nfw-blocklist dashboard: a mock-up from six hours of sandbox data (x axis: minutes of sandbox time)",
        fontsize=12,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=80, bbox_inches="tight")
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    body, data = collect()
    plot(body, data, args.output)
    summary = {
        "output": str(args.output),
        "emf_lines": len(data.documents),
        "executions": len(data.executions),
        "firewall_drops": sum(value for _, value in data.firewall_drops),
        "invocations": len(data.invocations),
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
