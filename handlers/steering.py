"""People steer the blocking: an analyst's decision on a finding, or a Security Hub custom action.

``decision_of(event)`` tells, from one EventBridge event, whether a person decided about a GuardDuty
finding, and what: a workflow set to SUPPRESSED or RESOLVED by a person (not the tool's own annotation),
a finding archived (GuardDuty's own event, or Security Hub's ``RecordState`` ARCHIVED), its status set to
Suppressed, Resolved or Archived in the new Security Hub, or one of the stack's custom actions ("Block
now", "Unblock (false positive)", "Extend block"). ``Steer`` is the bounded
payload that carries the decision from the record step to the steer step; ``SteerOutcome`` what the steer
step did, with its notification. Pure: no AWS call.
"""

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Final

from handlers.extraction import (
    GUARDDUTY_DETAIL_TYPE,
    GUARDDUTY_PRODUCT_ARN,
    GUARDDUTY_PRODUCT_V2_UID,
    GUARDDUTY_SOURCE,
    SECURITY_HUB_V2_DETAIL_TYPE,
    asff_place,
    native_place,
    ocsf_place,
    ocsf_state,
    resolved_by_tool,
)
from handlers.model import FindingState
from handlers.payloads import SAMPLE_SIZE, sample, truncate
from handlers.securityhub import STATUS_KEY, STEERED_STATUS, TOOL

CUSTOM_ACTION_DETAIL_TYPE: Final = "Security Hub Findings - Custom Action"
IMPORTED_DETAIL_TYPE: Final = "Security Hub Findings - Imported"
SECURITY_HUB_SOURCE: Final = "aws.securityhub"
MAX_FINDINGS: Final = 20
"""Findings one decision names (Security Hub sends one per event; more is refused, not cut)."""
RELEASED_STATUS: Final = STEERED_STATUS["release"]
"""``nfw-blocklist:status`` once the tool has acted on a person's decision: the echo of that note (which
still carries the person's workflow status) is not a new decision."""
UNKNOWN_PERSON: Final = "a person (the event does not say who)"


class Intent(StrEnum):
    RELEASE = "release"
    """End the finding's holds; it blocks nothing again for the retention period."""
    EXTEND = "extend"
    """Push the expiry of the hosts the finding holds."""
    BLOCK_NOW = "block-now"
    """Block the finding's hosts whatever its severity (never a protected host)."""


@dataclass(frozen=True)
class CustomAction:
    """One of the stack's Security Hub custom actions (``aws.securityhub.ActionTarget``)."""

    prefix: str
    """The start of its ``Id`` (the rest is a digest of the stack: ids are unique per account)."""
    name: str
    """What the console shows: fewer than 20 characters, as the user guide says (the API reference says
    "up to 20"; the stricter reading is kept and the sandbox enforces it)."""
    description: str
    intent: Intent


CUSTOM_ACTIONS: Final = (
    CustomAction(
        "NfwBlockNow", "Block now", "nfw-blocklist: block the finding's hosts now", Intent.BLOCK_NOW
    ),
    CustomAction(
        "NfwUnblock",
        "Unblock (false pos)",
        "nfw-blocklist: unblock the finding's hosts (false positive); it blocks nothing for the retention",
        Intent.RELEASE,
    ),
    CustomAction(
        "NfwExtend", "Extend block", "nfw-blocklist: keep the finding's hosts blocked longer", Intent.EXTEND
    ),
)
ACTION_ID_MAX: Final = 20
_ACTION_ARN = re.compile(r"arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:action/custom/([A-Za-z0-9]{1,20})")


def action_id(action: CustomAction, stack_digest: str) -> str:
    """The action's ``Id``: its prefix and as much of the stack's digest as 20 alphanumerics leave."""
    return (action.prefix + stack_digest)[:ACTION_ID_MAX]


@dataclass(frozen=True)
class Steer:
    """A person's decision, as the record step hands it to the steer step (bounded)."""

    intent: Intent
    findings: tuple[str, ...]
    """The findings' ids as the event gives them (a Security Hub ``Id`` or a GuardDuty ``detail.id``)."""
    who: str
    how: str
    """How the person decided ("suppressed in Security Hub", "custom action Extend block", ...)."""
    security_hub: tuple[Mapping[str, str], ...] = ()
    """``{"Id", "ProductArn"}`` of the Security Hub findings, to note the outcome on them."""
    repeats: bool = field(default=False, compare=False)
    """The event says the same of the finding until its status changes (nothing the tool notes stops it):
    a release of findings all released already is no new decision. Read by the record step only."""
    asked: bool = field(default=False, compare=False)
    """A person asked through a custom action: the e-mail answers them even when nothing changed. A status
    change (suppressed, resolved, archived) about findings that hold nothing is noted without one."""
    places: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """Each finding's own (account, region), as ``findings`` lists them: the record step keeps only the
    findings the stack acts on (``TargetPolicy.out_of_scope``). Not carried to the steer step."""

    def within(self, keep: Callable[[str, str], bool]) -> "Steer | None":
        """This decision about the findings whose place ``keep`` accepts; None if it accepts none. One
        without places (read back from a payload) is kept whole."""
        if not self.places:
            return self
        kept = [(f, place) for f, place in zip(self.findings, self.places, strict=True) if keep(*place)]
        if not kept:
            return None
        findings = tuple(f for f, _ in kept)
        return replace(
            self,
            findings=findings,
            security_hub=tuple(i for i in self.security_hub if i["Id"] in findings),
            places=tuple(place for _, place in kept),
        )

    def to_payload(self) -> dict[str, Any]:
        return {
            "intent": str(self.intent),
            "findings": list(self.findings),
            "who": self.who,
            "how": self.how,
            "security_hub": [dict(identifier) for identifier in self.security_hub],
        }


class UnreadableAction(ValueError):
    """A custom action event that carries no decision this stack can apply: it must be refused, never
    taken for a sighting (an "Unblock" on too many findings once blocked their hosts)."""


def decision_of(event: Mapping[str, Any]) -> Steer | None:
    """The person's decision ``event`` carries, if it carries one; never raises for odd input, except
    ``UnreadableAction`` for a custom action event it cannot apply (naming why)."""
    source, detail_type = event.get("source"), event.get("detail-type")
    detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else {}
    assert isinstance(detail, Mapping)
    if source == GUARDDUTY_SOURCE and detail_type == GUARDDUTY_DETAIL_TYPE:
        service = detail.get("service") if isinstance(detail.get("service"), Mapping) else {}
        assert isinstance(service, Mapping)
        if service.get("archived") is True and isinstance(detail.get("id"), str) and detail["id"]:
            return Steer(
                Intent.RELEASE,
                (detail["id"],),
                UNKNOWN_PERSON,
                "archived in GuardDuty",
                places=(native_place(detail, event),),
            )
        return None
    if source != SECURITY_HUB_SOURCE:
        return None
    if detail_type == SECURITY_HUB_V2_DETAIL_TYPE:
        return _new_security_hub_decision(detail.get("findings"), event)
    findings = (
        [f for f in detail.get("findings", []) or [] if isinstance(f, Mapping)]
        if isinstance(detail.get("findings"), list)
        else []
    )
    findings = [f for f in findings if _guardduty_finding(f)]
    if detail_type == CUSTOM_ACTION_DETAIL_TYPE:
        action = _custom_action(event.get("resources"))
        if action is None:
            raise UnreadableAction("the custom action is not one of the stack's custom actions")
        if not 0 < len(findings) <= MAX_FINDINGS:
            raise UnreadableAction(
                f"custom action {action.name} names {len(findings)} GuardDuty findings: at most "
                f"{MAX_FINDINGS} at a time; nothing was done, send them again in smaller selections"
            )
        return Steer(
            action.intent,
            tuple(f["Id"] for f in findings),
            UNKNOWN_PERSON,  # the action writes no note: the last one's author is not who pressed it
            f"custom action {action.name}",
            tuple({"Id": f["Id"], "ProductArn": f["ProductArn"]} for f in findings),
            places=tuple(asff_place(f, event) for f in findings),
            asked=True,
        )
    if detail_type != IMPORTED_DETAIL_TYPE or len(findings) != 1:
        return None
    finding = findings[0]
    how = _decided(finding)
    if how is None:
        return None
    return Steer(
        Intent.RELEASE,
        (finding["Id"],),
        _who(findings),
        how,
        ({"Id": finding["Id"], "ProductArn": finding["ProductArn"]},),
        places=(asff_place(finding, event),),
    )


def _new_security_hub_decision(findings: object, event: Mapping[str, Any]) -> Steer | None:
    """A person's Suppressed, Resolved (not the tool's: its comment says so) or Archived in the new Security
    Hub. It has no custom actions and no note author, and the tool notes nothing on its findings when it
    releases one, so every later event of the finding says the same: the record step takes a decision
    about a finding released already for a repeat (``Steer.repeats``)."""
    if not isinstance(findings, list) or len(findings) != 1 or not isinstance(findings[0], Mapping):
        return None
    finding = findings[0]
    identifier = _member(finding, "finding_info").get("uid")
    product_uid = _member(_member(finding, "metadata"), "product").get("uid")
    if not (isinstance(identifier, str) and 0 < len(identifier) <= 512 and isinstance(product_uid, str)):
        return None
    if GUARDDUTY_PRODUCT_V2_UID.fullmatch(product_uid) is None:
        return None
    how = {
        FindingState.ARCHIVED: "archived in the new Security Hub",
        FindingState.SUPPRESSED: "suppressed or resolved in the new Security Hub",
    }.get(ocsf_state(finding))
    if how is None:
        return None
    return Steer(
        Intent.RELEASE,
        (identifier,),
        UNKNOWN_PERSON,
        how,
        repeats=True,
        places=(ocsf_place(finding, event),),
    )


def _member(holder: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = holder.get(name)
    return value if isinstance(value, Mapping) else {}


def _guardduty_finding(finding: Mapping[str, Any]) -> bool:
    identifier, product = finding.get("Id"), finding.get("ProductArn")
    return (
        isinstance(identifier, str)
        and 0 < len(identifier) <= 512
        and isinstance(product, str)
        and GUARDDUTY_PRODUCT_ARN.fullmatch(product) is not None
    )


def _decided(finding: Mapping[str, Any]) -> str | None:
    """How a person ended this Security Hub finding, or None (active, or the tool's own status)."""
    fields = finding.get("UserDefinedFields") if isinstance(finding.get("UserDefinedFields"), Mapping) else {}
    assert isinstance(fields, Mapping)
    if fields.get(STATUS_KEY) == RELEASED_STATUS:
        return None  # acted on already: this is the echo of the tool's note about it
    if finding.get("RecordState") == "ARCHIVED":
        return "archived (GuardDuty archived the finding, or its record was archived in Security Hub)"
    workflow = finding.get("Workflow") if isinstance(finding.get("Workflow"), Mapping) else {}
    assert isinstance(workflow, Mapping)
    status = workflow.get("Status")
    if status == "SUPPRESSED":
        return "suppressed in Security Hub"  # the tool never suppresses
    if status == "RESOLVED" and not resolved_by_tool(finding):
        return "resolved in Security Hub"
    return None


def _custom_action(resources: object) -> CustomAction | None:
    if not isinstance(resources, list):
        return None
    for resource in resources:
        match = _ACTION_ARN.fullmatch(resource) if isinstance(resource, str) else None
        if match:
            for action in CUSTOM_ACTIONS:
                if match.group(1).startswith(action.prefix):
                    return action
    return None


def _who(findings: Sequence[Mapping[str, Any]]) -> str:
    """Who acted, where the event says: the finding's note, when a person (not the tool) wrote it."""
    for finding in findings:
        note = finding.get("Note") if isinstance(finding.get("Note"), Mapping) else {}
        assert isinstance(note, Mapping)
        by = note.get("UpdatedBy")
        if isinstance(by, str) and by != TOOL:
            return person(by)
    return UNKNOWN_PERSON


def person(text: str) -> str:
    """Who decided, as the release records it and the e-mail shows it: one printable line of at most 128
    characters. ``UpdatedBy`` is free text anyone who may update the finding writes; a tab or a line break
    in it once made the release refuse the whole decision (``check_release``) and could forge lines of
    the e-mail."""
    shown = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return truncate(shown, 128) if shown else UNKNOWN_PERSON


def read_steer(payload: object) -> Steer:
    """The record step's ``steer`` payload back as a ``Steer``; ``ValueError`` naming what is wrong."""
    if not isinstance(payload, Mapping):
        raise ValueError("'steer' must be an object")
    intent, findings = payload.get("intent"), payload.get("findings")
    if intent not in {str(i) for i in Intent}:
        raise ValueError(f"'steer.intent' must be one of {', '.join(Intent)}")
    if not isinstance(findings, list) or not 0 < len(findings) <= MAX_FINDINGS:
        raise ValueError(f"'steer.findings' must list 1 to {MAX_FINDINGS} finding ids")
    identifiers = payload.get("security_hub", [])
    if not isinstance(identifiers, list) or not all(
        isinstance(i, Mapping) and isinstance(i.get("Id"), str) and isinstance(i.get("ProductArn"), str)
        for i in identifiers
    ):
        raise ValueError("'steer.security_hub' must list {Id, ProductArn} objects")
    return Steer(
        Intent(intent),
        tuple(str(f) for f in findings),
        person(str(payload.get("who", UNKNOWN_PERSON))),
        truncate(str(payload.get("how", "")), 160),
        tuple({"Id": i["Id"], "ProductArn": i["ProductArn"]} for i in identifiers),
    )


@dataclass
class SteerOutcome:
    """What the steer step did for one decision; ``to_payload`` is bounded (samples and counts)."""

    steer: Steer
    released: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)
    until: str = ""
    refused: list[str] = field(default_factory=list)
    """Findings the decision could not apply to, with why (an extension of a released finding)."""

    def subject(self) -> str:
        verb = {Intent.RELEASE: "unblocked", Intent.EXTEND: "extended", Intent.BLOCK_NOW: "blocked"}
        count = len(self.released) if self.steer.intent is Intent.RELEASE else len(self.extended)
        text = f"nfw-blocklist: {count} host(s) {verb[self.steer.intent]}, {self.steer.how}"
        return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)[:100]

    def email(self) -> str:
        steer = self.steer
        lines = [
            f"{steer.who} decided about {len(steer.findings)} finding(s): {steer.how}.",
            "Findings: " + ", ".join(truncate(f, 160) for f in steer.findings[:5]),
        ]
        if steer.intent is Intent.RELEASE:
            lines.append(f"Unblocked ({len(self.released)}): {', '.join(sample(self.released)) or '-'}")
            lines.append(
                f"Still blocked, held by another finding or a manual block ({len(self.kept)}): "
                f"{', '.join(sample(self.kept)) or '-'}"
            )
            lines.append(f"These findings block nothing again until {self.until}.")
        else:
            lines.append(
                f"Blocked until {self.until} ({len(self.extended)}): "
                f"{', '.join(sample(self.extended)) or '-'}"
            )
        lines.extend(f"Not applied: {why}" for why in self.refused[:SAMPLE_SIZE])
        return "\n".join(lines)

    def notification(self) -> dict[str, Any]:
        return {
            "Steered": str(self.steer.intent),
            "By": self.steer.who,
            "How": self.steer.how,
            "Findings": [truncate(f, 256) for f in self.steer.findings],
            "Released": sample(self.released),
            "ReleasedCount": len(self.released),
            "Kept": sample(self.kept),
            "KeptCount": len(self.kept),
            "Extended": sample(self.extended),
            "ExtendedCount": len(self.extended),
            "Until": self.until,
            "NotApplied": [truncate(why, 256) for why in self.refused[:SAMPLE_SIZE]],
        }

    def to_payload(self) -> dict[str, Any]:
        notification = self.notification()
        return {
            "steer": self.steer.to_payload(),
            "notification": notification,
            "subject": self.subject(),
            "message": {
                "default": json.dumps(notification, separators=(",", ":")),
                "email": self.email(),
            },
            "counts": {
                "released": len(self.released),
                "kept": len(self.kept),
                "extended": len(self.extended),
            },
        }
