"""BatchUpdateFindings grafted onto moto's Security Hub (test and sandbox code, never deployed).

moto 5.2's Security Hub imports and returns findings (BatchImportFindings, GetFindings) but has no
BatchUpdateFindings. This module adds it the way ``api`` adds the rule-group operations: a URL path
(``PATCH /findings/batchupdate``) and a method on ``SecurityHubResponse``, so it works in-process under
``mock_aws()`` and in moto's standalone server. It refuses what Security Hub refuses (its API reference,
"BatchUpdateFindings", "NoteUpdate", "WorkflowUpdate", "AwsSecurityFinding"):

- ``FindingIdentifiers``: 1-100, each with a non-empty ``Id`` and ``ProductArn`` -> InvalidInputException;
- ``Note``: both ``Text`` and ``UpdatedBy``, each 1-512 characters -> InvalidInputException;
- ``UserDefinedFields``: at most 50 pairs, keys 1-128 and values up to 1,024 characters (the request ->
  InvalidInputException); at most 50 on the finding once merged with its own, an empty value removing its
  key (that finding -> ``UnprocessedFindings`` ``InvalidInput``: unverified, docs/LIMITS.md);
- ``Workflow.Status``: NEW, NOTIFIED, RESOLVED or SUPPRESSED;
- a finding it does not hold -> ``UnprocessedFindings`` with ``FindingNotFound``; the same identifier twice
  -> ``DuplicatedFindingIdentifier``;
- a hub that is not enabled -> InvalidAccessException (``import_findings`` enables it: a provider's import
  implies an enabled hub).

It leaves ``UpdatedAt`` alone (only the provider moves it), sets ``ProcessedAt``, and, as Security Hub
does, emits a "Security Hub Findings - Imported" event carrying the updated finding: the events wait in
``pending_events`` until the sandbox puts them on its bus. Faults: ``concurrent_update_next`` findings
come back ``ConcurrentUpdateError``, ``throttle_next`` calls get ``LimitExceededException`` (HTTP 429).
An ``authorizer`` (the sandbox's strict IAM) may refuse a caller with ``AccessDeniedException``. Every
call is recorded in ``calls``. ``import_findings`` is BatchImportFindings' upsert, keeping what only
BatchUpdateFindings may change (``Note``, ``UserDefinedFields``, ``Workflow``, ``VerificationState``).
"""

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.securityhub import urls as securityhub_urls
from moto.securityhub.models import SecurityHubBackend, securityhub_backends
from moto.securityhub.responses import SecurityHubResponse

MAX_FINDINGS: Final = 100
NOTE_MAX: Final = 512
FIELDS_MAX_PAIRS: Final = 50
FIELD_KEY_MAX: Final = 128
FIELD_VALUE_MAX: Final = 1024
WORKFLOW_STATUSES: Final = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
CUSTOMER_FIELDS: Final[tuple[str, ...]] = (
    "Note",
    "UserDefinedFields",
    "Workflow",
    "WorkflowState",
    "VerificationState",
)
"""What BatchImportFindings cannot change once a finding exists (Security Hub keeps the customer's)."""
ACTION: Final = "securityhub:BatchUpdateFindings"
IMPORTED: Final = "Security Hub Findings - Imported"

_STORE_ATTRIBUTE = "_nfw_blocklist_finding_updates"
_lock = threading.Lock()
_UNPROCESSED_MESSAGES: Final = {
    "ConcurrentUpdateError": "Concurrent finding updates detected",
    "DuplicatedFindingIdentifier": "Finding Identifier is duplicated",
    "FindingNotFound": "Finding Not Found",
    "InvalidInput": "Invalid Input",
}

Authorizer = Callable[[str, str], str | None]
"""(action, resource) -> None if allowed, else the refusal's message."""


class SecurityHubError(ServiceException):
    """A Security Hub error; moto takes the HTTP status from the service model by ``code``."""


@dataclass
class FindingUpdateStore:
    """Per account and region: the calls, the follow-up events, the faults and the authorizer."""

    account: str
    region: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    pending_events: list[dict[str, Any]] = field(default_factory=list)
    concurrent_update_next: int = 0
    throttle_next: int = 0
    authorizer: Authorizer | None = None
    clock: Callable[[], float] = time.time
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    """The id of each "Findings - Imported" event sent (AWS draws one at random; a sandbox may not)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    ocsf_findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The new Security Hub's findings (OCSF) by ``metadata.uid`` (``emulator.securityhub_v2``)."""

    def take_events(self) -> list[dict[str, Any]]:
        with self.lock:
            events, self.pending_events = self.pending_events, []
        return events


def store_for(backend: Any) -> FindingUpdateStore:
    store: FindingUpdateStore | None = backend.__dict__.get(_STORE_ATTRIBUTE)
    if store is None:
        with _lock:
            store = backend.__dict__.get(_STORE_ATTRIBUTE)
            if store is None:
                store = FindingUpdateStore(backend.account_id, backend.region_name)
                backend.__dict__[_STORE_ATTRIBUTE] = store
    return store


def finding_updates(region: str = "us-east-1", account: str = DEFAULT_ACCOUNT_ID) -> FindingUpdateStore:
    """The store of one account and region (faults: ``.concurrent_update_next``, ``.throttle_next``)."""
    return store_for(securityhub_backends[account][region])


def hub_arn(region: str, account: str) -> str:
    return f"arn:aws:securityhub:{region}:{account}:hub/default"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def import_findings(backend: SecurityHubBackend, findings: list[Any]) -> list[dict[str, Any]]:
    """BatchImportFindings' upsert of the findings that have an ``Id`` and a ``ProductArn``; returns the
    stored findings (copies), as Security Hub would put them in its event."""
    stored = []
    # A provider imports findings only into an enabled hub.
    backend.enable_security_hub(enable_default_standards=False)
    with store_for(backend).lock:
        for finding in findings:
            if not (
                isinstance(finding, Mapping)
                and isinstance(finding.get("Id"), str)
                and isinstance(finding.get("ProductArn"), str)
            ):
                continue
            existing = _find(backend, finding["Id"], finding["ProductArn"])
            if existing is None:
                backend.findings.append(_new_finding(finding["Id"], copy.deepcopy(dict(finding))))
                existing = backend.findings[-1].data
            else:
                kept = {name: existing[name] for name in CUSTOMER_FIELDS if name in existing}
                existing.update(copy.deepcopy(dict(finding)))
                existing.update(kept)
            stored.append(copy.deepcopy(existing))
    return stored


def _new_finding(finding_id: str, data: dict[str, Any]) -> Any:
    from moto.securityhub.models import Finding

    return Finding(finding_id, data)


def _find(backend: SecurityHubBackend, finding_id: str, product_arn: str) -> dict[str, Any] | None:
    for finding in backend.findings:
        if finding.id == finding_id and finding.data.get("ProductArn") == product_arn:
            data: dict[str, Any] = finding.data
            return data
    return None


def _invalid(message: str) -> SecurityHubError:
    return SecurityHubError("InvalidInputException", message)


def admit(
    backend: SecurityHubBackend,
    *,
    not_enabled: SecurityHubError,
    throttled_call: Callable[[FindingUpdateStore], dict[str, Any]],
) -> FindingUpdateStore:
    """The store of a hub that takes an update: ``not_enabled`` if the hub is off, AccessDeniedException
    if the authorizer refuses the caller; a ``throttle_next`` fault records ``throttled_call(store)`` in
    ``calls`` and raises its ``error``."""
    store = store_for(backend)
    if not backend.enabled:
        raise not_enabled
    if store.authorizer is not None:
        refusal = store.authorizer(ACTION, hub_arn(backend.region_name, backend.account_id))
        if refusal is not None:
            raise SecurityHubError("AccessDeniedException", refusal)
    with store.lock:
        if store.throttle_next > 0:
            store.throttle_next -= 1
            call = throttled_call(store)
            store.calls.append(call)
            raise SecurityHubError(call["error"], "Rate exceeded")
    return store


def validate_request(body: Mapping[str, Any]) -> list[dict[str, str]]:
    """The request's identifiers, or InvalidInputException naming what Security Hub would refuse."""
    identifiers = body.get("FindingIdentifiers")
    if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= MAX_FINDINGS:
        raise _invalid(f"FindingIdentifiers must list 1 to {MAX_FINDINGS} findings")
    for identifier in identifiers:
        if not isinstance(identifier, Mapping) or not all(
            isinstance(identifier.get(key), str) and identifier[key].strip() for key in ("Id", "ProductArn")
        ):
            raise _invalid("each FindingIdentifier needs a non-empty Id and ProductArn")
    note = body.get("Note")
    if note is not None:
        for key in ("Text", "UpdatedBy"):
            value = note.get(key) if isinstance(note, Mapping) else None
            if not isinstance(value, str) or not 1 <= len(value) <= NOTE_MAX:
                raise _invalid(f"Note.{key} is required and must be 1 to {NOTE_MAX} characters")
    fields = body.get("UserDefinedFields")
    if fields is not None:
        if not isinstance(fields, Mapping) or len(fields) > FIELDS_MAX_PAIRS:
            raise _invalid(f"UserDefinedFields must be a map of at most {FIELDS_MAX_PAIRS} pairs")
        for key, value in fields.items():
            if (
                not 1 <= len(key) <= FIELD_KEY_MAX
                or not isinstance(value, str)
                or len(value) > FIELD_VALUE_MAX
            ):
                raise _invalid(
                    f"UserDefinedFields keys must be 1 to {FIELD_KEY_MAX} characters and values at most "
                    f"{FIELD_VALUE_MAX}"
                )
    workflow = body.get("Workflow")
    if workflow is not None:
        status = workflow.get("Status") if isinstance(workflow, Mapping) else None
        if status not in WORKFLOW_STATUSES:
            raise _invalid(f"Workflow.Status must be one of {', '.join(WORKFLOW_STATUSES)}")
    if note is None and fields is None and workflow is None and not _other_updates(body):
        raise _invalid("the request updates nothing")
    return [{"Id": i["Id"], "ProductArn": i["ProductArn"]} for i in identifiers]


def _other_updates(body: Mapping[str, Any]) -> bool:
    return any(
        body.get(key) is not None
        for key in ("Confidence", "Criticality", "RelatedFindings", "Severity", "Types", "VerificationState")
    )


def batch_update_findings(backend: SecurityHubBackend, body: Mapping[str, Any]) -> dict[str, Any]:
    """Apply one BatchUpdateFindings request to the backend's findings (see the module docstring)."""
    store = admit(
        backend,
        not_enabled=SecurityHubError(
            "InvalidAccessException", f"Account {backend.account_id} is not subscribed to AWS Security Hub"
        ),
        throttled_call=lambda store: {
            "request": copy.deepcopy(dict(body)),
            "error": "LimitExceededException",
            "at": _iso(store.clock()),
        },
    )
    identifiers = validate_request(body)
    now = store.clock()
    processed: list[dict[str, str]] = []
    unprocessed: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    with store.lock:
        for identifier in identifiers:
            key = (identifier["Id"], identifier["ProductArn"])
            finding = _find(backend, *key)
            if key in seen:
                code = "DuplicatedFindingIdentifier"
            elif finding is None:
                code = "FindingNotFound"
            elif store.concurrent_update_next > 0:
                store.concurrent_update_next -= 1
                code = "ConcurrentUpdateError"
            elif len(_merged_fields(finding, body)) > FIELDS_MAX_PAIRS:
                # The finding's own fields count: 47 there leave room for 3 more (an empty value frees one).
                code = "InvalidInput"
            else:
                code = ""
            seen.add(key)
            if code:
                unprocessed.append(
                    {
                        "FindingIdentifier": identifier,
                        "ErrorCode": code,
                        "ErrorMessage": _UNPROCESSED_MESSAGES[code],
                    }
                )
                continue
            assert finding is not None
            _apply(finding, body, now)
            processed.append(identifier)
            updated.append(copy.deepcopy(finding))
        store.calls.append(
            {
                "request": copy.deepcopy(dict(body)),
                "processed": copy.deepcopy(processed),
                "unprocessed": copy.deepcopy(unprocessed),
                "at": _iso(now),
            }
        )
        store.pending_events.extend(
            imported_event(
                backend,
                finding,
                now,
                store.new_id(),
                detail_type=IMPORTED,
                resource=str(finding.get("ProductArn", "")) + "/" + str(finding.get("Id", "")),
            )
            for finding in updated
        )
    return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}


def _merged_fields(finding: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, str]:
    """The finding's UserDefinedFields after the request's: a key sent with an empty value is removed."""
    merged = {**finding.get("UserDefinedFields", {}), **(body.get("UserDefinedFields") or {})}
    return {key: value for key, value in merged.items() if value != ""}


def _apply(finding: dict[str, Any], body: Mapping[str, Any], now: float) -> None:
    if body.get("Note") is not None:
        finding["Note"] = {**body["Note"], "UpdatedAt": _iso(now)}
    if body.get("UserDefinedFields") is not None:
        finding["UserDefinedFields"] = _merged_fields(finding, body)
    if body.get("Workflow") is not None:
        finding["Workflow"] = {"Status": body["Workflow"]["Status"]}
        finding["WorkflowState"] = body["Workflow"]["Status"]
    for key in ("Confidence", "Criticality", "RelatedFindings", "Severity", "Types", "VerificationState"):
        if body.get(key) is not None:
            finding[key] = copy.deepcopy(body[key])
    finding["ProcessedAt"] = _iso(now)  # UpdatedAt stays: only the provider moves it


def imported_event(
    backend: SecurityHubBackend,
    finding: Mapping[str, Any],
    now: float,
    event_id: str,
    *,
    detail_type: str,
    resource: str,
) -> dict[str, Any]:
    """The event Security Hub sends with a finding it imported or updated."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "aws.securityhub",
        "account": backend.account_id,
        "time": datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": backend.region_name,
        "resources": [resource],
        "detail": {"findings": [copy.deepcopy(dict(finding))]},
    }


def request_body(body: Any) -> Any:
    """A request's JSON body, as moto hands it to a response method (bytes or text, maybe empty)."""
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    return json.loads(raw or "{}")


class _ResponseMethods:
    securityhub_backend: SecurityHubBackend
    body: Any

    def batch_update_findings(self) -> str:
        return json.dumps(batch_update_findings(self.securityhub_backend, request_body(self.body)))


_original_batch_import = SecurityHubBackend.batch_import_findings


def _batch_import_keeping_customer_fields(
    backend: SecurityHubBackend, findings: list[dict[str, Any]]
) -> tuple[int, int, list[dict[str, Any]]]:
    """moto's BatchImportFindings, except that an update keeps what only BatchUpdateFindings may change."""
    kept = {
        finding.id: {name: finding.data[name] for name in CUSTOMER_FIELDS if name in finding.data}
        for finding in backend.findings
    }
    answer = _original_batch_import(backend, findings)
    for finding in backend.findings:
        if finding.id in kept:
            for name in CUSTOMER_FIELDS:
                finding.data.pop(name, None)
            finding.data.update(kept[finding.id])
    return answer


def install() -> None:
    """Teach moto's Security Hub BatchUpdateFindings. Idempotent; call before the first request."""
    with _lock:
        securityhub_urls.url_paths.setdefault("{0}/findings/batchupdate$", SecurityHubResponse.dispatch)
        SecurityHubResponse.batch_update_findings = _ResponseMethods.batch_update_findings
        SecurityHubBackend.batch_import_findings = _batch_import_keeping_customer_fields
