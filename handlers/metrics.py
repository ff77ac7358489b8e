"""CloudWatch metrics in the Embedded Metric Format (EMF): one JSON log line per invocation, no API call.

CloudWatch Logs extracts a metric from every log event that is one JSON object whose ``_aws`` member
holds ``Timestamp`` (epoch milliseconds) and ``CloudWatchMetrics``: directives naming a ``Namespace``,
``Dimensions`` (arrays of dimension sets, each naming root members with string values) and ``Metrics``
(``Name`` referencing a root member with a number, optional ``Unit``). Limits the spec and the
CloudWatch API set: at most 100 metrics per directive, 30 dimensions per set, names 1-255 characters,
dimension values ASCII without control characters, 1-1024 characters ("Specification: Embedded metric
format", Amazon CloudWatch User Guide; ``Dimension`` and ``Metric`` in the CloudWatch API Reference).

The lines go to stdout as they are, as Powertools does: in Lambda "anything logged to STDOUT is sent to
CloudWatch Logs" (CloudWatch User Guide, "Creating logs in embedded metric format using the client
libraries"), also with the functions' JSON log format, which wraps only the ``logging`` module's
records. The one dimension is the rule group's name, so a stack has one series per metric (low
cardinality) and two stacks never mix.
"""

import json
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, Final

from handlers import clock

NAMESPACE: Final = "NfwBlocklist"
DIMENSION: Final = "RuleGroup"
"""The only dimension: the rule group's name."""

CAPACITY_USED: Final = "CapacityUsed"
CAPACITY_USED_PERCENT: Final = "CapacityUsedPercent"
HOSTS_BLOCKED: Final = "HostsBlocked"
HOSTS_EVICTED: Final = "HostsEvicted"
HOSTS_PRUNED: Final = "HostsPruned"
HOSTS_IN_GROUP: Final = "HostsInGroup"
DOMAINS_BLOCKED: Final = "DomainsBlocked"
DOMAINS_EVICTED: Final = "DomainsEvicted"
HOSTS_NOT_BLOCKED: Final = "HostsNotBlocked"
"""IP addresses a block step could not write (their place full, missing...): reported, not retried."""
DOMAINS_NOT_BLOCKED: Final = "DomainsNotBlocked"
BRAKE_REFUSED: Final = "BrakeRefused"
"""New targets the brake refused, reported by the block step of the execution that turned it on."""

UNITS: Final = {
    CAPACITY_USED: "Count",
    CAPACITY_USED_PERCENT: "Percent",
    HOSTS_BLOCKED: "Count",
    HOSTS_EVICTED: "Count",
    HOSTS_PRUNED: "Count",
    HOSTS_IN_GROUP: "Count",
    DOMAINS_BLOCKED: "Count",
    DOMAINS_EVICTED: "Count",
    HOSTS_NOT_BLOCKED: "Count",
    DOMAINS_NOT_BLOCKED: "Count",
    BRAKE_REFUSED: "Count",
}
"""Every metric the functions emit, with its unit: the alarms and the dashboard read these names."""
EMITTED_BY: Final = {
    "block": (
        HOSTS_BLOCKED,
        HOSTS_EVICTED,
        HOSTS_NOT_BLOCKED,
        DOMAINS_BLOCKED,
        DOMAINS_EVICTED,
        DOMAINS_NOT_BLOCKED,
        BRAKE_REFUSED,
        CAPACITY_USED,
        CAPACITY_USED_PERCENT,
        HOSTS_IN_GROUP,
    ),
    "prune": (HOSTS_PRUNED, HOSTS_EVICTED, CAPACITY_USED, CAPACITY_USED_PERCENT, HOSTS_IN_GROUP),
}
"""Which function emits which metric (the capacity ones whenever its run read the group)."""

VALID_UNITS: Final = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
        "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
        "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
        "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
        "Count/Second", "None",
    }
)  # fmt: skip
"""CloudWatch's StandardUnit values."""
MAX_METRICS: Final = 100
MAX_DIMENSIONS: Final = 30
MAX_NAME: Final = 255
MAX_DIMENSION_VALUE: Final = 1024
MAX_EVENT_BYTES: Final = 256 * 1024
"""A CloudWatch Logs event (and so an EMF document) is at most 256 KB."""

Sink = Callable[[str], None]


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


_sink: Sink = _stdout


def use_sink(sink: Sink | None) -> None:
    """Send EMF lines to ``sink`` instead of stdout (``None`` restores stdout): the sandbox records them."""
    global _sink
    _sink = sink if sink is not None else _stdout


def rule_group_name(rule_group_arn: str) -> str:
    """``arn:aws:network-firewall:<region>:<account>:stateless-rulegroup/<name>`` -> ``<name>``."""
    return rule_group_arn.rsplit("/", 1)[-1]


def document(values: Mapping[str, float], rule_group: str, timestamp_ms: int) -> dict[str, Any]:
    """One EMF document: ``values`` (names from ``UNITS``) under ``NAMESPACE``, dimension ``RuleGroup``."""
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in values],
                }
            ],
        },
        DIMENSION: rule_group,
        **values,
    }


def capacity_values(capacity: Mapping[str, Any] | None) -> dict[str, float]:
    """The gauges of a payload's ``capacity`` (``{"used", "total", "hosts"}``); none if it was not read."""
    if not isinstance(capacity, Mapping):
        return {}
    used, total, hosts = capacity.get("used"), capacity.get("total"), capacity.get("hosts")
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (used, total, hosts)):
        return {}
    assert isinstance(used, int) and isinstance(total, int) and isinstance(hosts, int)
    return {
        CAPACITY_USED: used,
        CAPACITY_USED_PERCENT: round(100.0 * used / total, 2) if total else 0.0,
        HOSTS_IN_GROUP: hosts,
    }


def _counted(payload: Mapping[str, Any], key: str) -> int:
    counts = payload.get("counts")
    value = counts.get(key) if isinstance(counts, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def block_values(payload: Mapping[str, Any]) -> dict[str, float]:
    """The block step's metrics, from its own bounded result: each kind of target counted apart (the
    ``Hosts`` metrics count IP addresses, the ``Domains`` ones domains)."""
    kinds = payload.get("kinds")
    kinds = kinds if isinstance(kinds, Mapping) else {}
    address, domain = kinds.get("address"), kinds.get("domain")
    address = address if isinstance(address, Mapping) else {}
    domain = domain if isinstance(domain, Mapping) else {}
    return {
        HOSTS_BLOCKED: _counted(address, "blocked"),
        HOSTS_EVICTED: _counted(address, "evicted"),
        HOSTS_NOT_BLOCKED: _counted(address, "not_blocked"),
        DOMAINS_BLOCKED: _counted(domain, "blocked"),
        DOMAINS_EVICTED: _counted(domain, "evicted"),
        DOMAINS_NOT_BLOCKED: _counted(domain, "not_blocked"),
        BRAKE_REFUSED: _counted(payload, "brake_refused"),
        **capacity_values(payload.get("capacity")),
    }


def prune_values(payload: Mapping[str, Any]) -> dict[str, float]:
    """The prune step's metrics, from its own bounded result."""
    return {
        HOSTS_PRUNED: _counted(payload, "pruned"),
        HOSTS_EVICTED: _counted(payload, "evicted"),
        **capacity_values(payload.get("capacity")),
    }


def emit(values: Mapping[str, float], rule_group_arn: str) -> dict[str, Any]:
    """Write one EMF line for ``values`` and return its document."""
    doc = document(values, rule_group_name(rule_group_arn), int(clock.now() * 1000))
    _sink(json.dumps(doc, separators=(",", ":")))
    return doc


def problems(doc: object) -> list[str]:
    """Why CloudWatch would not extract metrics from ``doc`` (empty: it would), per the EMF spec."""
    if not isinstance(doc, Mapping):
        return ["an EMF document must be a JSON object"]
    if len(json.dumps(doc, separators=(",", ":")).encode()) > MAX_EVENT_BYTES:
        return [f"the document exceeds a log event's {MAX_EVENT_BYTES} bytes"]
    meta = doc.get("_aws")
    if not isinstance(meta, Mapping):
        return ["_aws must be an object"]
    found: list[str] = []
    timestamp = meta.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        found.append("_aws.Timestamp must be epoch milliseconds (a non-negative integer)")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*found, "_aws.CloudWatchMetrics must be a non-empty array"]
    for index, directive in enumerate(directives):
        found.extend(f"directive {index}: {problem}" for problem in _directive_problems(doc, directive))
    return found


def _name_problem(name: object, what: str) -> str | None:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        return f"{what} {name!r} must be a string of 1-{MAX_NAME} characters"
    return None


def _directive_problems(doc: Mapping[str, Any], directive: object) -> list[str]:
    if not isinstance(directive, Mapping):
        return ["must be an object"]
    found: list[str] = []
    namespace = directive.get("Namespace")
    problem = _name_problem(namespace, "Namespace")
    if problem or str(namespace).startswith(":"):
        found.append(problem or "Namespace must not start with ':'")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list):
        found.append("Dimensions must be an array of dimension sets")
        dimension_sets = []
    for dimension_set in dimension_sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > MAX_DIMENSIONS:
            found.append(f"a dimension set must be an array of at most {MAX_DIMENSIONS} names")
            continue
        for key in dimension_set:
            value = doc.get(key) if isinstance(key, str) else None
            if not isinstance(value, str):
                found.append(f"dimension {key!r} must name a root member with a string value")
            elif not (
                1 <= len(value) <= MAX_DIMENSION_VALUE
                and value.isascii()
                and value.strip()
                and all(" " <= char != "\x7f" for char in value)
            ):
                found.append(f"dimension {key!r} value {value!r} is not 1-1024 printable ASCII characters")
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or not metrics or len(metrics) > MAX_METRICS:
        return [*found, f"Metrics must be an array of 1-{MAX_METRICS} metric definitions"]
    for metric in metrics:
        name = metric.get("Name") if isinstance(metric, Mapping) else None
        problem = _name_problem(name, "metric name")
        if problem:
            found.append(problem)
            continue
        unit = metric.get("Unit", "None")
        if unit not in VALID_UNITS:
            found.append(f"metric {name!r} has unit {unit!r}, not a CloudWatch unit")
        value = doc.get(str(name))
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > MAX_METRICS or not all(_finite_number(item) for item in values):
            found.append(f"metric {name!r} must name a root member holding a number (or up to 100)")
    return found


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
