"""Security Hub in the sandbox: the findings a replayed event names, the caller's IAM, the follow-up events.

Security Hub holds a finding before it sends the "Findings - Imported" event about it, so a Security Hub
event delivered to the sandbox first imports its findings (``emulator.securityhub.import_findings``) and
is delivered with them as Security Hub holds them (a Note or Workflow an earlier BatchUpdateFindings set
stays, as it does in AWS). BatchUpdateFindings of a finding the sandbox never saw is refused as AWS
refuses it (``FindingNotFound``).

Strict IAM: a function calling BatchUpdateFindings must hold ``securityhub:BatchUpdateFindings`` on the
account's hub in its role's policies, as the render declared them; otherwise ``AccessDeniedException``.

Each BatchUpdateFindings makes the emulator queue the follow-up "Findings - Imported" event; the sandbox
puts those on its bus once the delivery that caused them is done (``SecurityHubLoop.follow_ups``), and
their own follow-ups after them. A loop that does not settle within ``MAX_ROUNDS`` is an error: it would
run forever in AWS.
"""

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from handlers import entry
from nfw_blocklist.emulator import securityhub as emulated
from nfw_blocklist.emulator import securityhub_v2 as emulated_v2

from .wiring import PolicyBook

MAX_ROUNDS: Final = 10
SOURCE: Final = "aws.securityhub"


class FindingUpdateLoop(Exception):
    """BatchUpdateFindings kept causing more BatchUpdateFindings: the tool would loop in AWS."""


@dataclass
class SecurityHubLoop:
    """The sandbox's side of Security Hub: IAM for its callers, imports, and follow-up events."""

    account: str
    strict_iam: bool = True
    roles: dict[str, tuple[str, PolicyBook]] = field(default_factory=dict)
    """Function name -> (role name, the policies of the render that created it)."""
    regions: set[str] = field(default_factory=set)
    refusals: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(
        self,
        region: str,
        clock: Any,
        functions: Mapping[str, Any],
        role_names: Mapping[str, str],
        policies: PolicyBook,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        """Serve one deployed render: its functions' roles, its region's Security Hub, the sandbox clock
        (and ``new_id``, the sandbox's ids for the events Security Hub sends)."""
        for spec in functions.values():
            self.roles[spec.name] = (role_names.get(spec.role, spec.role), policies)
        self.regions.add(region)
        store = emulated.finding_updates(region, self.account)
        store.clock = clock
        store.authorizer = self.authorize
        if new_id is not None:
            store.new_id = new_id

    def authorize(self, action: str, resource: str) -> str | None:
        """None if the calling function's role allows ``action`` on ``resource``; else AWS's refusal."""
        function = entry.environment().get("AWS_LAMBDA_FUNCTION_NAME")
        if not function or function not in self.roles:
            return None  # a test or the CLI calling as itself
        role, policies = self.roles[function]
        if policies.allows(role, action, resource):
            return None
        message = (
            f"User: arn:aws:sts::{self.account}:assumed-role/{role}/{function} is not authorized to "
            f"perform: {action} on resource: {resource}"
        )
        with self._lock:
            self.refusals.append(message)
        return message if self.strict_iam else None

    def imported(self, event: dict[str, Any], region: str) -> dict[str, Any]:
        """``event`` with its findings as the sandbox's Security Hub holds them, once imported there."""
        detail = event.get("detail")
        if event.get("source") != SOURCE or not isinstance(detail, Mapping):
            return event
        findings = detail.get("findings")
        if not isinstance(findings, list):
            return event
        backend = emulated.securityhub_backends[self.account][region]
        if event.get("detail-type") == emulated_v2.IMPORTED_V2:
            held = {f["metadata"]["uid"]: f for f in emulated_v2.import_ocsf_findings(backend, findings)}
            as_held_v2 = [
                held.get(_metadata_uid(finding), finding) if isinstance(finding, Mapping) else finding
                for finding in findings
            ]
            return {**event, "detail": {**detail, "findings": as_held_v2}}
        stored = {(f["Id"], f["ProductArn"]): f for f in emulated.import_findings(backend, findings)}
        as_held = [
            stored.get((finding.get("Id"), finding.get("ProductArn")), finding)
            if isinstance(finding, Mapping)
            else finding
            for finding in findings
        ]
        return {**event, "detail": {**detail, "findings": as_held}}

    def follow_ups(self) -> list[dict[str, Any]]:
        """The "Findings - Imported" events BatchUpdateFindings caused since the last call."""
        events: list[dict[str, Any]] = []
        for region in sorted(self.regions):
            events.extend(emulated.finding_updates(region, self.account).take_events())
        return events

    def calls(self) -> list[dict[str, Any]]:
        """Every BatchUpdateFindings the sandbox's Security Hub answered, oldest first."""
        calls: list[dict[str, Any]] = []
        for region in sorted(self.regions):
            calls.extend(emulated.finding_updates(region, self.account).calls)
        return calls


def finding_update_views(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per finding per BatchUpdateFindings call, oldest first: replay's ``finding_updates``.

    ``status`` is ``processed``, or why Security Hub did not update it (an ``UnprocessedFindings``
    ErrorCode, or the error the whole call got, such as ``LimitExceededException``).
    """
    views = []
    for call in calls:
        request = call["request"]
        if call.get("operation") == "BatchUpdateFindingsV2":
            views.extend(_v2_views(call))
            continue
        outcome: dict[tuple[str, str], str] = {}
        for identifier in call.get("processed", []):
            outcome[(identifier["Id"], identifier["ProductArn"])] = "processed"
        for item in call.get("unprocessed", []):
            identifier = item["FindingIdentifier"]
            outcome[(identifier["Id"], identifier["ProductArn"])] = item["ErrorCode"]
        note = request.get("Note") or {}
        workflow = request.get("Workflow") or {}
        for identifier in request.get("FindingIdentifiers", []):
            key = (identifier.get("Id"), identifier.get("ProductArn"))
            views.append(
                {
                    "finding_id": key[0],
                    "product_arn": key[1],
                    "status": call.get("error") or outcome.get(key, "unknown"),
                    "note": note.get("Text"),
                    "updated_by": note.get("UpdatedBy"),
                    "user_defined_fields": request.get("UserDefinedFields"),
                    "workflow_status": workflow.get("Status"),
                    "at": call.get("at"),
                }
            )
    return views


def _metadata_uid(finding: Mapping[str, Any]) -> object:
    metadata = finding.get("metadata")
    return metadata.get("uid") if isinstance(metadata, Mapping) else None


def _v2_views(call: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A BatchUpdateFindingsV2 call's entries, in the same form (its ``Comment`` as the note, its
    ``StatusId`` as the workflow status)."""
    request = call["request"]
    keys = emulated_v2.IDENTIFIER_KEYS
    outcome: dict[tuple[str, ...], str] = {}
    for item in call.get("processed", []):
        outcome[tuple(item["FindingIdentifier"][k] for k in keys)] = "processed"
    for item in call.get("unprocessed", []):
        outcome[tuple(item["FindingIdentifier"][k] for k in keys)] = item["ErrorCode"]
    views = []
    for identifier in request.get("FindingIdentifiers") or []:
        key = tuple(identifier.get(k) for k in keys)
        views.append(
            {
                "finding_id": identifier.get("FindingInfoUid"),
                "product_arn": identifier.get("MetadataProductUid"),
                "status": call.get("error") or outcome.get(key, "unknown"),
                "note": request.get("Comment"),
                "updated_by": None,
                "user_defined_fields": None,
                "workflow_status": emulated_v2.STATUS_IDS.get(request.get("StatusId", -1)),
                "at": call.get("at"),
            }
        )
    return views
