"""Annotate the Security Hub findings the workflow acted on (BatchUpdateFindings), bounded and retried.

After the hosts of a Security Hub finding are blocked or refreshed, the finding gets a ``Note`` (which
hosts, until when, in which rule group), ``UserDefinedFields`` (the same, machine-readable) and, per
``findingWorkflowStatus``, a ``Workflow.Status``; a failed block gets a Note saying why. Security Hub's
limits (its API reference, "BatchUpdateFindings" and "AwsSecurityFinding"): at most 100 findings per
call, ``Note.Text`` 1-512 characters, ``UserDefinedFields`` at most 50 pairs with keys of at most 128
and values of at most 1,024 characters, 50 in all on a finding: the tool's fields take only the room the
finding's other fields leave (``Annotation.within``), and a finding refused for its fields anyway is
annotated with the Note alone. Findings it cannot update come back in ``UnprocessedFindings``
(``ConcurrentUpdateError`` when the provider imports the finding at the same moment): those are retried
with full-jitter backoff, a bounded number of times. An annotation never raises for what Security Hub
answers: the block is done, and the outcome (reported in the execution's output and the logs) says
what was and was not annotated.
"""

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from handlers.errors import InvalidInput
from handlers.model import TargetKind
from handlers.payloads import SAMPLE_SIZE, count_of, sample, truncate
from handlers.settings import Settings, WorkflowStatus

TOOL: Final = "nfw-blocklist"
"""``Note.UpdatedBy``: who wrote the note."""
MAX_FINDINGS_PER_CALL: Final = 100
NOTE_TEXT_MAX: Final = 512
FIELDS_MAX_PAIRS: Final = 50
FIELD_KEY_MAX: Final = 128
FIELD_VALUE_MAX: Final = 1024

STATUS_KEY: Final = "nfw-blocklist:status"
HOSTS_KEY: Final = "nfw-blocklist:hosts"
"""The IP addresses blocked (their place: ``RULE_GROUP_KEY``)."""
HOST_COUNT_KEY: Final = "nfw-blocklist:host-count"
EXPIRES_KEY: Final = "nfw-blocklist:blocked-until"
RULE_GROUP_KEY: Final = "nfw-blocklist:rule-group"
DOMAINS_KEY: Final = "nfw-blocklist:domains"
"""The domains blocked (their place: ``DOMAINS_PLACE_KEY``), never under the hosts' keys."""
DOMAIN_COUNT_KEY: Final = "nfw-blocklist:domain-count"
DOMAINS_PLACE_KEY: Final = "nfw-blocklist:domains-blocked-in"
NOT_BLOCKED_KEY: Final = "nfw-blocklist:not-blocked"
"""What of the finding could not be blocked, kind by kind, and where."""
ERROR_KEY: Final = "nfw-blocklist:error"
RESOLVED_MARKER_KEY: Final = "nfw-blocklist:workflow"
"""Written beside ``Workflow.Status`` RESOLVED: the record step then knows the tool resolved the finding
itself, and still treats a new sighting of it as active (an analyst's RESOLVED stays "suppressed")."""
OWN_FIELD_KEYS: Final = frozenset(
    {
        STATUS_KEY,
        HOSTS_KEY,
        HOST_COUNT_KEY,
        EXPIRES_KEY,
        RULE_GROUP_KEY,
        DOMAINS_KEY,
        DOMAIN_COUNT_KEY,
        DOMAINS_PLACE_KEY,
        NOT_BLOCKED_KEY,
        ERROR_KEY,
        RESOLVED_MARKER_KEY,
    }
)
"""Every ``UserDefinedFields`` key the tool writes: rewriting one of them takes no new pair."""
FIELD_PRIORITY: Final = (
    RESOLVED_MARKER_KEY,
    STATUS_KEY,
    HOSTS_KEY,
    DOMAINS_KEY,
    NOT_BLOCKED_KEY,
    EXPIRES_KEY,
    ERROR_KEY,
    HOST_COUNT_KEY,
    DOMAIN_COUNT_KEY,
    RULE_GROUP_KEY,
    DOMAINS_PLACE_KEY,
)
"""Which of the tool's fields go first when a finding's other fields leave no room for all of them: the
marker that makes a RESOLVED the tool's own, then what an analyst filters on (the status, the hosts, the
expiry or error, and what was not blocked); the counts and the places are in the Note already."""
REFUSED_FIELDS: Final = frozenset({"InvalidInput", "InvalidInputException"})
"""How Security Hub refuses an update that would leave a finding more than 50 fields (per finding in
``UnprocessedFindings``, or the whole call): retried once with the Note alone."""

ATTEMPTS: Final = 5
BACKOFF_BASE: Final = 0.2
BACKOFF_CAP: Final = 2.0
RETRYABLE_UNPROCESSED: Final = frozenset({"ConcurrentUpdateError", "InternalFailure"})
RETRYABLE_ERRORS: Final = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException", "InternalException"}
)
"""Security Hub throttles with LimitExceededException (HTTP 429); botocore retries it too, first."""

RETRYABLE_UNPROCESSED_V2: Final = frozenset({"ConflictException", "InternalServerException"})
RETRYABLE_ERRORS_V2: Final = frozenset({"ThrottlingException", "InternalServerException"})
"""BatchUpdateFindingsV2's retryable answers (botocore 1.44's model: its errors and ``ErrorCode`` enum)."""
V2_STATUS_IDS: Final = {"NOTIFIED": 2, "RESOLVED": 4}
"""``findingWorkflowStatus`` in OCSF ``status_id``: NOTIFIED (someone is on it) as 2 In Progress, RESOLVED
as 4 Resolved (the Comment, which starts with ``V2_RESOLVED_MARK``, makes it the tool's own: the record step
still treats a new sighting as active)."""
V2_RESOLVED_MARK: Final = f"{TOOL} resolved this finding. "
"""Starts the Comment of the tool's own Resolved (OCSF has no user-defined field for a marker). Not the tool's
name alone: every Comment the tool writes starts with it, and a person who sets Resolved without a comment
of their own leaves the tool's In Progress one in place; that Resolved is theirs."""
V2_IDENTIFIER_KEYS: Final = ("CloudAccountUid", "FindingInfoUid", "MetadataProductUid")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Annotation:
    """What one BatchUpdateFindings sets on every finding it names."""

    note: str
    fields: Mapping[str, str]
    workflow_status: str | None = None

    def within(self, room: int) -> "Annotation":
        """This annotation with at most ``room`` of its fields, the most useful first (``FIELD_PRIORITY``);
        the Note always. A RESOLVED status needs its marker: without room for it, the status is left alone
        (an unmarked RESOLVED would read as an analyst's and hide every later sighting)."""
        kept = [key for key in FIELD_PRIORITY if key in self.fields][: max(room, 0)]
        workflow = self.workflow_status
        if RESOLVED_MARKER_KEY in self.fields and RESOLVED_MARKER_KEY not in kept:
            workflow = None
        return Annotation(self.note, {key: self.fields[key] for key in kept}, workflow)

    def request(self, identifiers: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "FindingIdentifiers": [dict(identifier) for identifier in identifiers],
            "Note": {"Text": self.note, "UpdatedBy": TOOL},
        }
        if self.fields:
            request["UserDefinedFields"] = dict(self.fields)
        if self.workflow_status is not None:
            request["Workflow"] = {"Status": self.workflow_status}
        return request


def v2_request(annotation: Annotation, identifiers: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The same annotation for the new Security Hub: the Note as ``Comment`` (1-512 characters, as V1's Note)
    and the workflow status as ``StatusId``; OCSF has no user-defined fields, so the Note says it all."""
    request: dict[str, Any] = {
        "FindingIdentifiers": [
            {key: identifier[key] for key in V2_IDENTIFIER_KEYS} for identifier in identifiers
        ],
        "Comment": annotation.note,
    }
    if annotation.workflow_status in V2_STATUS_IDS:
        request["StatusId"] = V2_STATUS_IDS[annotation.workflow_status]
    if request.get("StatusId") == V2_STATUS_IDS["RESOLVED"]:
        request["Comment"] = truncate(V2_RESOLVED_MARK + annotation.note, NOTE_TEXT_MAX)
    return request


def when(epoch: float) -> str:
    """``2021-01-05 13:25 UTC``: how a person reads the expiry in a Note."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def host_list(hosts: Sequence[str], count: int, limit: int) -> str:
    """As many whole hosts as fit in ``limit`` characters, then how many more there are."""
    for shown in range(min(len(hosts), count), -1, -1):
        rest = count - shown
        text = ", ".join(hosts[:shown])
        if rest > 0:
            text = f"{text} (+{rest} more)" if text else f"{rest} host{'s' if rest != 1 else ''}"
        if len(text) <= limit:
            return text
    return truncate(f"{count} hosts", limit)


@dataclass(frozen=True)
class KindReport:
    """One kind's part of an annotation: its targets (a sample and their count), where that kind is
    blocked, and, when it could not be blocked, the error and why."""

    kind: TargetKind
    targets: Sequence[str]
    count: int
    where: str
    error: str = ""
    reason: str = ""

    def phrase(self, limit: int) -> str:
        """``1 host: 198.51.100.7/32 in rule group x``, its list cut to fit ``limit`` characters."""
        tail = f" in {truncate(self.where, 128)}"
        head = f"{self.kind.counted(self.count)}: "
        return head + host_list(self.targets, self.count, max(0, limit - len(head) - len(tail))) + tail


_KIND_FIELDS: Final = {
    TargetKind.ADDRESS: (HOSTS_KEY, HOST_COUNT_KEY, RULE_GROUP_KEY),
    TargetKind.DOMAIN: (DOMAINS_KEY, DOMAIN_COUNT_KEY, DOMAINS_PLACE_KEY),
}
"""Each kind's own fields: its targets, their count and where they are blocked."""


def _kind_fields(report: KindReport) -> dict[str, str]:
    targets_key, count_key, place_key = _KIND_FIELDS[report.kind]
    return {
        targets_key: host_list(report.targets, report.count, FIELD_VALUE_MAX),
        count_key: str(report.count),
        place_key: truncate(report.where, FIELD_VALUE_MAX),
    }


def _sentences(parts: Sequence[KindReport], head: str, tail: str, budget: int) -> str:
    """``head`` + each part's phrase + ``tail``, the lists sharing what ``budget`` leaves them."""
    if not parts:
        return ""
    fixed = len(head) + len(tail) + 2 * (len(parts) - 1)
    each = (budget - fixed) // len(parts)
    return head + "; ".join(part.phrase(each) for part in parts) + tail


def blocked_annotation(
    reports: Sequence[KindReport], expires_at: float, status: WorkflowStatus, monitor: bool = False
) -> Annotation:
    """The Note, fields and workflow status of a finding whose targets were written, kind by kind: what
    is blocked where until when, and what of another kind was not, where and why. The workflow status
    is set only when nothing failed: a finding with a target left unblocked stays the analyst's. In
    monitor mode nothing is dropped: the Note says what the tool *would block*, the status field
    ``would-block``."""
    blocked = [report for report in reports if not report.error and report.count]
    failed = [report for report in reports if report.error]
    until = f" until {when(expires_at)}" + (" (monitor mode: counted, not dropped)." if monitor else ".")
    reasons = "; ".join(f"{report.kind.plural}: {report.error}: {report.reason}" for report in failed)
    budget = NOTE_TEXT_MAX if not failed else NOTE_TEXT_MAX // 2
    note = _sentences(blocked, f"{TOOL} {'would block' if monitor else 'blocked'} ", until, budget)
    if failed:
        note += _sentences(
            failed,
            f"{' ' if note else ''}{TOOL} could NOT block ",
            f" ({reasons})",
            NOTE_TEXT_MAX - len(note),
        )
    fields: dict[str, str] = {
        STATUS_KEY: ("would-block" if monitor else "blocked")
        if not failed
        else "partially-blocked"
        if blocked
        else "block-failed"
    }
    for report in blocked:
        fields.update(_kind_fields(report))
    if blocked:
        fields[EXPIRES_KEY] = datetime.fromtimestamp(expires_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if failed:
        fields[NOT_BLOCKED_KEY] = truncate(
            "; ".join(report.phrase(FIELD_VALUE_MAX // len(failed) - 2) for report in failed), FIELD_VALUE_MAX
        )
        fields[ERROR_KEY] = truncate(reasons, FIELD_VALUE_MAX)
    workflow = None if status is WorkflowStatus.NONE or failed else str(status)
    if workflow == str(WorkflowStatus.RESOLVED):
        fields[RESOLVED_MARKER_KEY] = "RESOLVED"
    return Annotation(note=truncate(note, NOTE_TEXT_MAX), fields=fields, workflow_status=workflow)


def failure_annotation(reports: Sequence[KindReport], error: str, cause: str) -> Annotation:
    """A Note saying the block step failed, for which targets of each kind where, and why; the workflow
    status is left to the analyst."""
    reason = f"{truncate(error, 64)}: {cause_message(cause)}" if error else cause_message(cause)
    parts = [report for report in reports if report.count]
    note = (
        _sentences(parts, f"{TOOL} could not block ", " of this finding: ", 240)
        or f"{TOOL} could not block this finding's targets: "
    )
    note = truncate(note + reason, NOTE_TEXT_MAX)
    fields = {STATUS_KEY: "block-failed"}
    for report in parts:
        fields.update(_kind_fields(report))
    fields[ERROR_KEY] = truncate(reason, FIELD_VALUE_MAX)
    return Annotation(note=note, fields=fields)


def cause_message(cause: object) -> str:
    """A Lambda error's Cause is JSON with ``errorMessage``; anything else is kept as text, bounded."""
    text = cause if isinstance(cause, str) else ""
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, Mapping) and isinstance(parsed.get("errorMessage"), str):
        text = parsed["errorMessage"]
    return truncate(" ".join(text.split()) or "no cause given", 300)


def check_annotation(annotation: Annotation) -> None:
    """What Security Hub would refuse, refused before the call (a bug here must not reach AWS)."""
    if not 1 <= len(annotation.note) <= NOTE_TEXT_MAX:
        raise ValueError(f"Note.Text must be 1-{NOTE_TEXT_MAX} characters, got {len(annotation.note)}")
    if len(annotation.fields) > FIELDS_MAX_PAIRS:
        raise ValueError(f"UserDefinedFields holds at most {FIELDS_MAX_PAIRS} pairs")
    for key, value in annotation.fields.items():
        if not 1 <= len(key) <= FIELD_KEY_MAX or not 1 <= len(value) <= FIELD_VALUE_MAX:
            raise ValueError(f"UserDefinedFields {key[:40]!r}: key or value outside Security Hub's lengths")


@dataclass
class AnnotationOutcome:
    """What the annotation step did: reported in the execution's output, never raised."""

    status: str
    """``annotated``, ``partial``, ``failed`` or ``skipped``."""
    findings: int = 0
    annotated: int = 0
    attempts: int = 0
    unprocessed: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    note: str = ""
    workflow_status: str | None = None
    fields_left_out: int = 0
    """How many of the tool's fields did not fit beside the finding's own (the Note always does)."""

    def to_payload(self) -> dict[str, Any]:
        return {
            "fields_left_out": self.fields_left_out,
            "status": self.status,
            "findings": self.findings,
            "annotated": self.annotated,
            "attempts": self.attempts,
            "unprocessed": self.unprocessed[:SAMPLE_SIZE],
            "error": truncate(self.error, 512) if self.error else None,
            "note": self.note,
            "workflow_status": self.workflow_status,
        }


class FindingAnnotator:
    """BatchUpdateFindings in chunks of 100, retrying what Security Hub could not process yet."""

    def __init__(
        self,
        client: Any = None,
        region: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._region = region
        self.sleep = sleep
        self.rng = rng or random.Random()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = boto3.client("securityhub", region_name=self._region)
        return self._client

    def annotate(
        self, identifiers: Sequence[Mapping[str, str]], annotation: Annotation, left_out: int = 0
    ) -> AnnotationOutcome:
        """Annotate ``identifiers``; ``left_out`` says how many fields the caller already dropped to fit."""
        outcome = _begun(identifiers, annotation, annotation.workflow_status, left_out)
        self._annotate_chunks(identifiers, annotation, outcome)
        refused = {item["id"] for item in outcome.unprocessed if item["code"] in REFUSED_FIELDS}
        if refused and annotation.fields:
            # Fields added since the event (or a limit read differently) left no room: the Note still goes.
            outcome.unprocessed = [item for item in outcome.unprocessed if item["id"] not in refused]
            note_only = annotation.within(0)
            outcome.fields_left_out += len(annotation.fields)
            outcome.workflow_status = note_only.workflow_status
            retry = [identifier for identifier in identifiers if truncate(identifier["Id"]) in refused]
            self._annotate_chunks(retry, note_only, outcome)
        return _concluded(outcome)

    def annotate_v2(
        self, identifiers: Sequence[Mapping[str, str]], annotation: Annotation
    ) -> AnnotationOutcome:
        """Annotate findings of the new Security Hub (``V2_IDENTIFIER_KEYS``) with BatchUpdateFindingsV2."""
        status = annotation.workflow_status if annotation.workflow_status in V2_STATUS_IDS else None
        outcome = _begun(identifiers, annotation, status)
        self._annotate_chunks(identifiers, annotation, outcome, _V2_CALL)
        return _concluded(outcome)

    def _annotate_chunks(
        self,
        identifiers: Sequence[Mapping[str, str]],
        annotation: Annotation,
        outcome: AnnotationOutcome,
        api: "_Api | None" = None,
    ) -> None:
        """Annotate ``identifiers`` in calls of at most ``MAX_FINDINGS_PER_CALL`` findings each."""
        for start in range(0, len(identifiers), MAX_FINDINGS_PER_CALL):
            self._annotate_chunk(
                list(identifiers[start : start + MAX_FINDINGS_PER_CALL]), annotation, outcome, api
            )

    def _annotate_chunk(
        self,
        remaining: list[Mapping[str, str]],
        annotation: Annotation,
        outcome: AnnotationOutcome,
        api: "_Api | None" = None,
    ) -> None:
        """Up to ``ATTEMPTS`` calls; each retries only what Security Hub said it could not update yet."""
        api = api or _V1_CALL
        retrying: list[dict[str, str]] = []
        for attempt in range(ATTEMPTS):
            if attempt:
                self.sleep(self.rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))
            outcome.attempts += 1
            try:
                answer = getattr(self.client, api.method)(**api.request(annotation, remaining))
            except (ClientError, BotoCoreError) as e:
                code, message = _error_of(e)
                retrying = [_unprocessed(api.shown(identifier), code, message) for identifier in remaining]
                if code in api.retryable_errors or isinstance(e, BotoCoreError):
                    continue
                break
            outcome.annotated += len(answer.get("ProcessedFindings", []))
            retry_ids: set[tuple[str, ...]] = set()
            retrying = []
            for item in answer.get("UnprocessedFindings", []):
                identifier = item.get("FindingIdentifier", {})
                failure = _unprocessed(
                    api.shown(identifier), item.get("ErrorCode", ""), item.get("ErrorMessage", "")
                )
                if failure["code"] in api.retryable_unprocessed:
                    retry_ids.add(api.key(identifier))
                    retrying.append(failure)
                else:
                    outcome.unprocessed.append(failure)
            remaining = [i for i in remaining if api.key(i) in retry_ids]
            if not remaining:
                break
        outcome.unprocessed.extend(retrying)


def _begun(
    identifiers: Sequence[Mapping[str, str]],
    annotation: Annotation,
    workflow_status: str | None,
    left_out: int = 0,
) -> AnnotationOutcome:
    """The outcome of annotating ``identifiers`` with ``annotation`` (checked first), before any call;
    ``workflow_status``: the status the API it goes to can set."""
    check_annotation(annotation)
    return AnnotationOutcome(
        status="annotated",
        findings=len(identifiers),
        note=annotation.note,
        workflow_status=workflow_status,
        fields_left_out=left_out,
    )


def _concluded(outcome: AnnotationOutcome) -> AnnotationOutcome:
    """The outcome's error and status from what was and was not annotated."""
    if outcome.unprocessed:
        first = outcome.unprocessed[0]
        outcome.error = (
            f"{len(outcome.unprocessed)} finding(s) not annotated: {first['code']}: {first['message']}"
        )
    if outcome.annotated == 0:
        outcome.status = "failed"
    elif outcome.annotated < outcome.findings:
        outcome.status = "partial"
    return outcome


@dataclass(frozen=True)
class _Api:
    """What differs between BatchUpdateFindings and BatchUpdateFindingsV2 for the annotator."""

    method: str
    request: Callable[[Annotation, Sequence[Mapping[str, str]]], dict[str, Any]]
    key: Callable[[Mapping[str, Any]], tuple[str, ...]]
    shown: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    """The identifier as the outcome reports it (``{"Id": ...}``)."""
    retryable_unprocessed: frozenset[str]
    retryable_errors: frozenset[str]


_V1_CALL: Final = _Api(
    "batch_update_findings",
    lambda annotation, identifiers: annotation.request(identifiers),
    lambda identifier: (str(identifier.get("Id")), str(identifier.get("ProductArn"))),
    lambda identifier: identifier,
    RETRYABLE_UNPROCESSED,
    RETRYABLE_ERRORS,
)
_V2_CALL: Final = _Api(
    "batch_update_findings_v2",
    lambda annotation, identifiers: v2_request(annotation, identifiers),
    lambda identifier: tuple(str(identifier.get(key)) for key in V2_IDENTIFIER_KEYS),
    lambda identifier: {"Id": str(identifier.get("FindingInfoUid", ""))},
    RETRYABLE_UNPROCESSED_V2,
    RETRYABLE_ERRORS_V2,
)


def _error_of(error: Exception) -> tuple[str, str]:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return str(details.get("Code", "")), str(details.get("Message", ""))
    return type(error).__name__, str(error)


def _unprocessed(identifier: Mapping[str, Any], code: object, message: object) -> dict[str, str]:
    return {
        "id": truncate(identifier.get("Id", "")),
        "code": truncate(code, 64),
        "message": truncate(message, 256),
    }


# --- the workflow step ------------------------------------------------------------------------------


def identifiers_of(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The record step's ``security_hub.findings`` (CSPM), checked: exact ``{"Id", "ProductArn"}`` strings;
    it may be empty when ``findings_v2`` is not (``identifiers_v2_of``)."""
    security_hub = record.get("security_hub")
    findings = security_hub.get("findings") if isinstance(security_hub, Mapping) else None
    others = security_hub.get("findings_v2") if isinstance(security_hub, Mapping) else None
    if not isinstance(findings, list) or not (findings or others):
        raise InvalidInput("'record.security_hub.findings' must be a non-empty list of finding identifiers")
    return [_checked(finding, ("Id", "ProductArn")) for finding in findings]


def identifiers_v2_of(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """The record step's ``security_hub.findings_v2`` (the new Security Hub), checked like CSPM's."""
    findings = record["security_hub"].get("findings_v2") or []
    if not isinstance(findings, list):
        raise InvalidInput("'record.security_hub.findings_v2' must be a list of finding identifiers")
    return [_checked(finding, V2_IDENTIFIER_KEYS) for finding in findings]


def _checked(finding: object, keys: Sequence[str]) -> dict[str, str]:
    if not (
        isinstance(finding, Mapping) and all(isinstance(finding.get(k), str) and finding[k] for k in keys)
    ):
        raise InvalidInput(f"each finding identifier must have a non-empty {', '.join(map(repr, keys))}")
    return {key: finding[key] for key in keys}


STEERED_STATUS: Final = {"release": "released", "extend": "extended"}
"""``nfw-blocklist:status`` after a person's decision was applied. A finding noted "released" keeps the
person's SUPPRESSED or RESOLVED status: the echo of this note is then told from a new decision by it."""


def steered_annotation(steered: Mapping[str, Any]) -> tuple[list[dict[str, str]], Annotation]:
    """The note on the findings a person decided about (the steer step's ``SteerOutcome`` payload)."""
    steer = steered.get("steer") if isinstance(steered.get("steer"), Mapping) else None
    notification = steered.get("notification") if isinstance(steered.get("notification"), Mapping) else None
    if steer is None or notification is None or steer.get("intent") not in STEERED_STATUS:
        raise InvalidInput("expected the steer step's output at 'steer'")
    identifiers = [
        {"Id": i["Id"], "ProductArn": i["ProductArn"]}
        for i in steer.get("security_hub", [])
        if isinstance(i, Mapping) and isinstance(i.get("Id"), str) and isinstance(i.get("ProductArn"), str)
    ]
    who, how, until = str(steer.get("who", "")), str(steer.get("how", "")), str(notification.get("Until", ""))
    if steer["intent"] == "release":
        note = (
            f"Unblocked on {who}'s decision ({how}): {notification.get('ReleasedCount', 0)} host(s); "
            f"{notification.get('KeptCount', 0)} stay blocked, held by another finding or a manual block. "
            f"This finding blocks nothing again until {until}."
        )
    else:
        extended = notification.get("ExtendedCount", 0)
        note = f"Block extended on {who}'s decision ({how}): {extended} host(s) until {until}."
    annotation = Annotation(note[:NOTE_TEXT_MAX], {STATUS_KEY: STEERED_STATUS[steer["intent"]]})
    return identifiers, annotation


def annotate_execution(
    state: Mapping[str, Any], settings: Settings, annotator: FindingAnnotator
) -> dict[str, Any]:
    """The AnnotateFinding step: the state holds ``record`` and either ``block`` (done) or ``error``, or
    a person's decision applied (``steer``). CSPM's findings get BatchUpdateFindings, the new Security
    Hub's BatchUpdateFindingsV2, with the same Note; the result is CSPM's outcome, the new Security Hub's
    under ``new_security_hub`` (alone: the outcome)."""
    if not isinstance(state, Mapping) or not isinstance(state.get("record"), Mapping):
        raise InvalidInput("expected the workflow state with the record step's output at 'record'")
    record = state["record"]
    if isinstance(state.get("steer"), Mapping) and not isinstance(
        state.get("block") or state.get("error"), Mapping
    ):
        identifiers, annotation = steered_annotation(state["steer"])
        if not identifiers:
            return AnnotationOutcome(status="skipped", findings=0).to_payload()
        outcome = annotator.annotate(identifiers, annotation, left_out=0)
        logger.info("annotated a decision", extra={"status": outcome.status, "findings": outcome.findings})
        return outcome.to_payload()
    identifiers = identifiers_of(record)
    identifiers_v2 = identifiers_v2_of(record)
    if isinstance(state.get("block"), Mapping):
        reports = _block_reports(state["block"], settings)
        if not any(report.count for report in reports):
            return AnnotationOutcome(
                status="skipped", findings=len(identifiers) + len(identifiers_v2)
            ).to_payload()
        expires_at = record["security_hub"].get("expires_at")
        if isinstance(expires_at, bool) or not isinstance(expires_at, int | float) or expires_at <= 0:
            raise InvalidInput("'record.security_hub.expires_at' must be epoch seconds")
        annotation = blocked_annotation(
            reports, expires_at, settings.finding_workflow_status, settings.monitor
        )
    elif isinstance(state.get("error"), Mapping):
        error = state["error"]
        annotation = failure_annotation(
            _record_reports(record, settings), str(error.get("Error") or ""), str(error.get("Cause") or "")
        )
    else:
        raise InvalidInput("expected the block step's output at 'block' or its error at 'error'")
    outcomes: list[tuple[str, AnnotationOutcome, Sequence[Mapping[str, str]]]] = []
    if identifiers:
        fitted = annotation.within(FIELDS_MAX_PAIRS - _other_fields(record))
        outcome = annotator.annotate(
            identifiers, fitted, left_out=len(annotation.fields) - len(fitted.fields)
        )
        outcomes.append(("BatchUpdateFindings", outcome, [{"Id": i["Id"]} for i in identifiers]))
    if identifiers_v2:
        outcome = annotator.annotate_v2(identifiers_v2, annotation)
        outcomes.append(
            ("BatchUpdateFindingsV2", outcome, [{"Id": i["FindingInfoUid"]} for i in identifiers_v2])
        )
    for operation, outcome, shown in outcomes:
        log = logger.info if outcome.status == "annotated" else logger.warning
        log(
            "annotated findings",
            extra={
                "operation": operation,
                "status": outcome.status,
                "findings": outcome.findings,
                "annotated": outcome.annotated,
                "attempts": outcome.attempts,
                "error": outcome.error,
                "unprocessed": outcome.unprocessed[:SAMPLE_SIZE],
                "finding_ids": [truncate(i["Id"]) for i in shown[:SAMPLE_SIZE]],
            },
        )
    payload = outcomes[0][1].to_payload()
    if len(outcomes) > 1:
        payload["new_security_hub"] = outcomes[1][1].to_payload()
    return payload


def _other_fields(record: Mapping[str, Any]) -> int:
    """How many fields the findings hold besides the tool's (the most of any of them), as recorded."""
    value = record["security_hub"].get("other_fields")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _block_reports(block: Mapping[str, Any], settings: Settings) -> list[KindReport]:
    """Each kind's outcome in the block step's result: blocked (new and refreshed) or not, and where."""
    kinds = block.get("kinds")
    if not isinstance(kinds, Mapping):
        # A result from before kinds (an execution in flight across a deployment): all addresses.
        blocked = sample([*_hosts(block, "blocked"), *_hosts(block, "refreshed")])
        count = count_of(block, "blocked") + count_of(block, "refreshed")
        return [KindReport(TargetKind.ADDRESS, blocked, count, f"rule group {_group_name(settings)}")]
    reports = []
    for kind in TargetKind:
        outcome = kinds.get(kind.value)
        if not isinstance(outcome, Mapping):
            continue
        where = str(outcome.get("where") or "")
        if outcome.get("status") == "failed":
            reports.append(
                KindReport(
                    kind,
                    _hosts(outcome, "not_blocked"),
                    count_of(outcome, "not_blocked"),
                    where,
                    error=str(outcome.get("error") or "error"),
                    reason=str(outcome.get("reason") or ""),
                )
            )
        else:
            targets = sample([*_hosts(outcome, "blocked"), *_hosts(outcome, "refreshed")])
            reports.append(
                KindReport(
                    kind, targets, count_of(outcome, "blocked") + count_of(outcome, "refreshed"), where
                )
            )
    return reports


def _record_reports(record: Mapping[str, Any], settings: Settings) -> list[KindReport]:
    """The record step's targets, kind by kind, with where each kind would have been blocked."""
    kinds = record.get("kinds")
    if not isinstance(kinds, Mapping):
        hosts = sample([*_hosts(record, "new"), *_hosts(record, "refreshed")])
        return [
            KindReport(
                TargetKind.ADDRESS, hosts, count_of(record, "hosts"), f"rule group {_group_name(settings)}"
            )
        ]
    reports = []
    for kind in TargetKind:
        part = kinds.get(kind.value)
        if isinstance(part, Mapping):
            count = part.get("count")
            count = count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 0
            reports.append(KindReport(kind, _hosts(part, "sample"), count, str(part.get("where") or "")))
    return reports


def _group_name(settings: Settings) -> str:
    return settings.rule_group_arn.rsplit("/", 1)[-1]


def _hosts(payload: Mapping[str, Any], key: str) -> list[str]:
    value = payload.get(key)
    return [host for host in value if isinstance(host, str)] if isinstance(value, list) else []
