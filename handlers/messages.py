"""Notifications people can read: one SNS message per protocol, built from the JSON notification.

Every publish uses ``MessageStructure: "json"``: ``default`` is the reference's JSON notification (what
machine consumers, chat integrations and every protocol without its own key receive, unchanged), ``email``
the same facts as a few lines of plain text. Both are built here from the one bounded notification dict,
so they cannot disagree: the text lists the same host samples (at most ``SAMPLE_SIZE``) and the same
counts. The subject is short and specific within SNS's rules for it (``subject``).

The failure path has no Lambda to call (the caught error may be the Lambda's own): its e-mail text is
built by the state machine with ``States.Format`` (components/definitions.py).
"""

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

MAX_SUBJECT: Final = 100
"""SNS: a subject is at most 100 characters of printable ASCII, with no line break (the handlers cannot
import components.aws_limits, which holds the same number for the sandbox)."""
SUBJECT_PREFIX: Final = "nfw-blocklist: "


def subject(text: str) -> str:
    """``text`` as SNS accepts a subject: printable ASCII (anything else becomes ``?``), <= 100 chars."""
    cleaned = "".join(char if " " <= char <= "~" else "?" for char in text)
    return cleaned if len(cleaned) <= MAX_SUBJECT else cleaned[: MAX_SUBJECT - 3] + "..."


def json_form(notification: Mapping[str, Any]) -> str:
    """The ``default`` message: the notification as compact JSON, as ``States.JsonToString`` writes it."""
    return json.dumps(notification, separators=(",", ":"), ensure_ascii=False)


def per_protocol(notification: Mapping[str, Any], email: str) -> dict[str, str]:
    """The object a ``MessageStructure: json`` publish sends (the state machine serialises it)."""
    return {"default": json_form(notification), "email": email}


def minute(epoch: float) -> str:
    """``2021-01-05 13:25 UTC``: what an operator reads in an e-mail."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def host_list(sample: Sequence[str], count: int) -> str:
    """``a, b and 3 more``: the sample the payload carries, and how many it leaves out."""
    shown = ", ".join(sample)
    rest = count - len(sample)
    if rest > 0:
        return f"{shown} and {rest} more" if shown else f"{rest} hosts"
    return shown


def _hosts_phrase(sample: Sequence[str], count: int) -> str:
    if count == 1 and sample:
        return sample[0]
    return f"{count} hosts: {host_list(sample, count)}"


def _count(notification: Mapping[str, Any], key: str) -> int:
    value = notification.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sample(notification: Mapping[str, Any], key: str) -> list[str]:
    value = notification.get(key)
    return [str(item) for item in value] if isinstance(value, list) else []


def block_subject(notification: Mapping[str, Any]) -> str:
    hosts, count = _sample(notification, "Hosts"), _count(notification, "HostCount")
    what = hosts[0] if count == 1 and hosts else f"{count} hosts"
    evicted = _count(notification, "EvictedCount")
    tail = f", evicted {evicted}" if evicted else ""
    return subject(f"{SUBJECT_PREFIX}blocked {what}{tail}")


def block_email(
    notification: Mapping[str, Any],
    finding: Mapping[str, Any],
    expires_at: float,
    rule_group: str,
    capacity: tuple[int, int] | None,
) -> str:
    """``Blocked 198.51.100.0/32 (Backdoor:EC2/C&CActivity.B, severity 8.0, account ..., us-east-1) until
    2021-01-05 13:25 UTC``, then what was evicted for room, the finding and the rule group."""
    hosts = _hosts_phrase(_sample(notification, "Hosts"), _count(notification, "HostCount"))
    details = ", ".join(
        part
        for part in (
            str(finding.get("type") or "unknown finding type"),
            f"severity {float(finding['severity']):.1f}" if _is_number(finding.get("severity")) else "",
            f"account {finding['account']}" if finding.get("account") else "",
            str(finding.get("region") or ""),
        )
        if part
    )
    lines = [f"Blocked {hosts} ({details}) until {minute(expires_at)}."]
    evicted = _count(notification, "EvictedCount")
    if evicted:
        lines.append(
            "Evicted to make room (least recently seen first): "
            f"{_hosts_phrase(_sample(notification, 'Evicted'), evicted)}."
        )
    lines.append("")
    if finding.get("id"):
        lines.append(f"Finding: {finding['id']}")
    usage = f" ({capacity[0]} of {capacity[1]} capacity units used)" if capacity else ""
    lines.append(f"Rule group: {rule_group}{usage}")
    sample = _sample(notification, "Hosts")
    host = sample[0] if _count(notification, "HostCount") == 1 and sample else "HOST"
    # The command must act on this deployed stack, not on a local sandbox: --live, with the stack's
    # outputs, which name its region and resources.
    lines.append("A new sighting of a host extends its block. To lift it, in this stack's Pulumi project:")
    lines.append("  pulumi stack output --json > outputs.json")
    lines.append(f"  nfw-blocklist unblock {host} --live --stack-outputs outputs.json")
    return "\n".join(lines)


def prune_subject(notification: Mapping[str, Any]) -> str:
    pruned = _count(notification, "PrunedCount")
    hosts = _sample(notification, "Pruned")
    parts = []
    if pruned:
        parts.append(f"unblocked {hosts[0] if pruned == 1 and hosts else f'{pruned} expired hosts'}")
    if _count(notification, "EvictedCount"):
        parts.append(f"evicted {_count(notification, 'EvictedCount')}")
    if _count(notification, "ProtectedCount"):
        parts.append(f"unblocked {_count(notification, 'ProtectedCount')} protected")
    if _drift_count(notification) or _drift(notification).get("repaired") is True:
        parts.append("repaired drift")
    return subject(SUBJECT_PREFIX + (", ".join(parts) or "pruning changed nothing"))


def _drift(notification: Mapping[str, Any]) -> Mapping[str, Any]:
    drift = notification.get("DriftRepaired")
    return drift if isinstance(drift, Mapping) else {}


def _drift_count(notification: Mapping[str, Any]) -> int:
    drift = _drift(notification)
    return _count(drift, "added_count") + _count(drift, "removed_count")


def prune_email(
    notification: Mapping[str, Any], at: float, rule_group: str, capacity: tuple[int, int] | None
) -> str:
    """What one pruning run changed, one line per kind of change, then when and where."""
    lines = []
    for key, count_key, sentence in (
        ("Pruned", "PrunedCount", "Unblocked {} (retention expired)."),
        ("Evicted", "EvictedCount", "Evicted {} to make room (least recently seen first)."),
        ("Protected", "ProtectedCount", "Unblocked {}: the never-block list now covers them."),
    ):
        count = _count(notification, count_key)
        if count:
            lines.append(sentence.format(_hosts_phrase(_sample(notification, key), count)))
    drift = _drift(notification)
    for key, count_key, sentence in (
        ("added", "added_count", "Restored {} missing from the rule group (drift)."),
        ("removed", "removed_count", "Removed {} the ledger does not hold (drift)."),
    ):
        count = _count(drift, count_key)
        if count:
            lines.append(sentence.format(_hosts_phrase(_sample(drift, key), count)))
    if drift.get("repaired") is True:
        lines.append("Undid a hand edit of the blocking rules.")
    if not lines:
        lines.append("Nothing changed.")
    lines.append("")
    usage = f" ({capacity[0]} of {capacity[1]} capacity units used)" if capacity else ""
    lines.append(f"Rule group: {rule_group}{usage}")
    lines.append(f"Pruning run at {minute(at)}")
    return "\n".join(lines)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
