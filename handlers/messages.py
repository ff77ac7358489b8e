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
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from handlers.model import TargetKind

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
        return f"{shown} and {rest} more" if shown else f"{rest} more"
    return shown


def _hosts_phrase(sample: Sequence[str], count: int, kind: TargetKind | None = None) -> str:
    """One target as itself (a domain says it is one), several as ``3 hosts: a, b, c``. Without ``kind`` the
    list may hold both kinds, and its noun follows what the sample holds."""
    kinds = {TargetKind.of(item) for item in sample} if kind is None else {kind}
    one_kind = next(iter(kinds)) if len(kinds) == 1 else None
    if count == 1 and sample:
        return f"domain {sample[0]}" if one_kind is TargetKind.DOMAIN else sample[0]
    noun = one_kind.plural if one_kind is not None else "hosts and domains"
    return f"{count} {noun}: {host_list(sample, count)}"


SUBJECT_TARGETS_MAX: Final = 36
"""Characters of targets a failure subject names (the stack, region and wording take the rest of 100)."""
_REGION: Final = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_GUARDDUTY_FINDING_ID: Final = re.compile(r"[0-9a-f]{32}")


def subject_targets(targets_by_kind: Mapping[TargetKind, Sequence[str]]) -> str:
    """``198.51.100.7/32 and domain evil.example``, or counts (``3 hosts and 1 domain``) when that does
    not fit ``SUBJECT_TARGETS_MAX``; printable ASCII, as a subject must be."""
    named = " and ".join(
        (targets[0] if kind is TargetKind.ADDRESS else f"domain {targets[0]}")
        if len(targets) == 1
        else kind.counted(len(targets))
        for kind, targets in targets_by_kind.items()
        if targets
    )
    counted = " and ".join(kind.counted(len(targets)) for kind, targets in targets_by_kind.items() if targets)
    text = named if len(named) <= SUBJECT_TARGETS_MAX else counted
    return subject(text or "no targets")


def targets_text(targets_by_kind: Mapping[TargetKind, Sequence[str]], places: Mapping[str, str]) -> str:
    """``1 host: 198.51.100.7/32 (rule group x); 1 domain: evil.example (domain rule group y)``, bounded."""
    parts = []
    for kind, targets in targets_by_kind.items():
        if targets:
            where = places.get(kind.value, "")
            listed = host_list(list(targets)[:5], len(targets))
            parts.append(f"{kind.counted(len(targets))}: {listed}" + (f" ({where})" if where else ""))
    return "; ".join(parts)[:600] or "none"


def sequence_line(name: object) -> str:
    """``From an attack sequence: <name>``, the name on one line (``payloads.finding_payload`` has cut it to
    its text limit): what the success and the failure e-mails say of an attack sequence."""
    return f"From an attack sequence: {' '.join(str(name).split())}"


def finding_link(finding_id: str, region: str) -> str:
    """The finding's page in the GuardDuty console, or ``-`` when its id or region is not GuardDuty's.

    A Security Hub id is GuardDuty's finding ARN; the console wants the id at its end."""
    plain = finding_id.rsplit("/", 1)[-1]
    if not _REGION.fullmatch(region) or not _GUARDDUTY_FINDING_ID.fullmatch(plain):
        return "-"
    return f"https://{region}.console.aws.amazon.com/guardduty/home?region={region}#/findings?fId={plain}"


def _count(notification: Mapping[str, Any], key: str) -> int:
    value = notification.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _sample(notification: Mapping[str, Any], key: str) -> list[str]:
    value = notification.get(key)
    return [str(item) for item in value] if isinstance(value, list) else []


_BLOCKED_KEYS: Final = (
    (TargetKind.ADDRESS, "Hosts", "HostCount", "Evicted", "EvictedCount"),
    (TargetKind.DOMAIN, "Domains", "DomainCount", "EvictedDomains", "EvictedDomainCount"),
)
"""Where a block notification holds each kind's blocked and evicted samples and counts."""

ADVICE: Final = {
    "CapacityExceeded": (
        "the place is full and onCapacityFull is refuse (or nothing in it may be evicted). Unblock what is "
        "no longer needed, raise its capacity or set onCapacityFull to evict; the next sighting blocks it."
    ),
    "RuleGroupNotFound": "the place does not exist: was it deleted? Deploy the stack again (pulumi up).",
    "ConfigurationError": "fix the stack's configuration named above and deploy again (pulumi up).",
    "FirewallRejected": "Network Firewall refused the update (a hand edit?); a prune repairs the group.",
    "InvalidInput": "the stack no longer blocks this kind (domainBlocking off?): nothing to do if intended.",
}
"""What an on-call engineer does about each error a kind of target can fail with."""
DEFAULT_ADVICE: Final = "read the execution's history and the block function's logs."


def _failures(notification: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = notification.get("NotBlocked")
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _kind(value: object) -> TargetKind:
    return TargetKind.DOMAIN if value == TargetKind.DOMAIN.value else TargetKind.ADDRESS


MONITOR_NOTE: Final = (
    "Monitor mode (enforcement: monitor): nothing is dropped; the rules count the traffic they would "
    "have dropped (the dashboard's 'would have dropped' figures). Set enforcement to enforce to block."
)


def _verb(notification: Mapping[str, Any]) -> str:
    return "would block" if notification.get("Monitor") else "blocked"


def block_subject(notification: Mapping[str, Any]) -> str:
    blocked = []
    for kind, key, count_key, _, _ in _BLOCKED_KEYS:
        hosts, count = _sample(notification, key), _count(notification, count_key)
        if count:
            one = hosts[0] if kind is TargetKind.ADDRESS else f"domain {hosts[0]}" if hosts else ""
            blocked.append(one if count == 1 and hosts else kind.counted(count))
    parts = [f"{_verb(notification)} {' and '.join(blocked)}"] if blocked else []
    evicted = sum(_count(notification, key) for *_, key in _BLOCKED_KEYS)
    if evicted:
        parts[-1:] = [f"{parts[-1]}, evicted {evicted}" if parts else f"evicted {evicted}"]
    for failure in _failures(notification):
        kind, targets, count = (
            _kind(failure.get("Kind")),
            _sample(failure, "Targets"),
            _count(failure, "Count"),
        )
        what = (
            (targets[0] if kind is TargetKind.ADDRESS else f"domain {targets[0]}")
            if count == 1 and targets
            else kind.counted(count)
        )
        parts.append(f"NOT blocked {what} ({failure.get('Error')})")
    brake = notification.get("Brake")
    if isinstance(brake, Mapping) and brake.get("EngagedNow"):
        parts.insert(0, "BRAKE ON, new blocks refused")
    return subject(f"{SUBJECT_PREFIX}{'; '.join(parts) or 'nothing blocked'}")


BRAKE_RELEASE: Final = (
    "  pulumi stack output --json > outputs.json",
    "  nfw-blocklist brake status --live --stack-outputs outputs.json",
    "  nfw-blocklist brake release --live --stack-outputs outputs.json",
)


def brake_lines(notification: Mapping[str, Any]) -> list[str]:
    """The one "brake on" notice: what was refused, that nothing else changes, and how to release it."""
    brake = notification.get("Brake")
    if not isinstance(brake, Mapping) or not brake.get("EngagedNow"):
        return []
    refused = _hosts_phrase(_sample(brake, "Refused"), _count(brake, "RefusedCount"))
    return [
        f"THE BRAKE IS ON: too many new blocks this period (brakeMaxNewBlocks). Refused: {refused}.",
        "Until it is released every new block is refused and recorded (this is the only e-mail about it); "
        "blocks already in place stay, re-sightings extend them, manual block and unblock still work.",
        "Check the findings (a flood, a misconfigured product, a forged finding?), then release it:",
        *BRAKE_RELEASE,
    ]


def block_email(
    notification: Mapping[str, Any],
    finding: Mapping[str, Any],
    expires_at: float,
    places: Mapping[str, str],
    capacity: tuple[int, int] | None,
) -> str:
    """``Blocked 198.51.100.0/32 (Backdoor:EC2/C&CActivity.B, severity 8.0, account ..., us-east-1) until
    2021-01-05 13:25 UTC``, then per kind what was not blocked where and what to do, what was evicted
    for room, the finding and where each kind is blocked."""
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
    blocked = [
        _hosts_phrase(_sample(notification, key), _count(notification, count_key), kind)
        for kind, key, count_key, _, _ in _BLOCKED_KEYS
        if _count(notification, count_key)
    ]
    if blocked:
        verb = _verb(notification).capitalize()
        lines = [f"{verb} {' and '.join(blocked)} ({details}) until {minute(expires_at)}."]
    else:
        lines = [f"Nothing new of this finding was blocked ({details})."]
    if finding.get("sequence"):
        # A sequence names many hosts for one story: say which story, on a line of its own.
        lines.append(sequence_line(finding["sequence"]))
    if notification.get("Monitor"):
        lines.append(MONITOR_NOTE)
    lines.extend(brake_lines(notification))
    for failure in _failures(notification):
        kind, count = _kind(failure.get("Kind")), _count(failure, "Count")
        error = str(failure.get("Error") or "")
        targets = _hosts_phrase(_sample(failure, "Targets"), count, kind)
        lines.append(f"NOT blocked: {targets} in {failure.get('Where')}: {failure.get('Reason')} ({error}).")
        lines.append(f"What to do: {ADVICE.get(error, DEFAULT_ADVICE)}")
    for kind, _, _, key, count_key in _BLOCKED_KEYS:
        evicted = _count(notification, count_key)
        if evicted:
            lines.append(
                "Evicted to make room (least recently seen first): "
                f"{_hosts_phrase(_sample(notification, key), evicted, kind)}."
            )
    lines.append("")
    if finding.get("id"):
        lines.append(f"Finding: {finding['id']}")
        link = finding_link(str(finding["id"]), str(finding.get("region") or ""))
        if link != "-":
            lines.append(f"In the GuardDuty console: {link}")
    lines.extend(_places(places, capacity))
    named = [*_sample(notification, "Hosts"), *_sample(notification, "Domains")]
    one = _count(notification, "HostCount") + _count(notification, "DomainCount") == 1 and len(named) == 1
    target = named[0] if one else "HOST"
    # The command must act on this deployed stack, not on a local sandbox: --live, with the stack's
    # outputs, which name its region and resources.
    lines.append("A new sighting extends a block. To lift it, in this stack's Pulumi project:")
    lines.append("  pulumi stack output --json > outputs.json")
    lines.append(f"  nfw-blocklist unblock {target} --live --stack-outputs outputs.json")
    return "\n".join(lines)


def _places(places: Mapping[str, str], capacity: tuple[int, int] | None) -> list[str]:
    """``Hosts blocked in: rule group ... (3 of 2000 capacity units used)``, then the domains' places."""
    lines = []
    for kind in TargetKind:
        where = places.get(kind.value)
        if where:
            usage = capacity if kind is TargetKind.ADDRESS else None
            used = f" ({usage[0]} of {usage[1]} capacity units used)" if usage else ""
            lines.append(f"{kind.plural.capitalize()} blocked in: {where}{used}")
    return lines


def prune_subject(notification: Mapping[str, Any]) -> str:
    pruned = _count(notification, "PrunedCount")
    hosts = _sample(notification, "Pruned")
    parts = []
    if pruned:
        # "198.51.100.0/32", "domain evil.example", "3 expired hosts and domains": the phrase's own nouns.
        phrase = _hosts_phrase(hosts, pruned)
        noun = phrase.split(":", 1)[0].split(" ", 1)[-1]
        parts.append(f"unblocked {phrase if pruned == 1 else f'{pruned} expired {noun}'}")
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
    notification: Mapping[str, Any], at: float, places: Mapping[str, str], capacity: tuple[int, int] | None
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
        ("added", "added_count", "Restored {} missing from where it is blocked (drift)."),
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
    lines.extend(_places(places, capacity))
    lines.append(f"Pruning run at {minute(at)}")
    return "\n".join(lines)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
