"""BatchUpdateFindingsV2 grafted onto moto's Security Hub: the new Security Hub's OCSF findings (test and
sandbox code, never deployed).

moto 5.2 has no OCSF findings and no BatchUpdateFindingsV2. This module keeps OCSF findings beside the
ASFF ones (``FindingUpdateStore.ocsf_findings``, by ``metadata.uid``) and serves ``PATCH
/findingsv2/batchupdatev2`` as botocore 1.44's model describes it, refusing what it refuses:

- ``MetadataUids`` or ``FindingIdentifiers`` (each ``CloudAccountUid``, ``FindingInfoUid``,
  ``MetadataProductUid``, non-blank), not both, 1-100 -> ValidationException;
- ``Comment`` 1-512 characters, not blank; ``StatusId`` one of 0-5, 99; ``SeverityId`` one of 0-6, 99; at
  least one of the three -> ValidationException;
- a finding it does not hold -> ``UnprocessedFindings`` ``ResourceNotFoundException``; the same finding
  twice -> ``ValidationException`` (unverified); ``concurrent_update_next`` -> ``ConflictException``;
- ``throttle_next`` -> ThrottlingException; an ``authorizer`` refusal or a hub that is not enabled ->
  AccessDeniedException. The IAM action is ``securityhub:BatchUpdateFindings`` (the operation's
  documentation), on the hub.

It leaves ``finding_info.modified_time*`` and ``time*`` alone (documented) and, on the conservative
reading of what AWS does not document, emits a "Findings Imported V2" event with each updated finding
(docs/OCSF.md). ``import_ocsf_findings`` is the provider's upsert, keeping what only the update sets.
"""

import copy
import json
from collections.abc import Mapping
from typing import Any, Final

from moto.securityhub import urls as securityhub_urls
from moto.securityhub.models import SecurityHubBackend
from moto.securityhub.responses import SecurityHubResponse

from nfw_blocklist.emulator.securityhub import (
    MAX_FINDINGS,
    NOTE_MAX,
    SecurityHubError,
    admit,
    imported_event,
    request_body,
    store_for,
)

IMPORTED_V2: Final = "Findings Imported V2"
STATUS_IDS: Final = {
    0: "Unknown",
    1: "New",
    2: "In Progress",
    3: "Suppressed",
    4: "Resolved",
    5: "Archived",
    99: "Other",
}
SEVERITY_IDS: Final = {
    0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal", 99: "Other"
}  # fmt: skip
CUSTOMER_FIELDS: Final[tuple[str, ...]] = ("comment", "status", "status_id", "severity", "severity_id")
"""What BatchUpdateFindingsV2 sets and the provider's later imports keep."""
IDENTIFIER_KEYS: Final = ("CloudAccountUid", "FindingInfoUid", "MetadataProductUid")
_MESSAGES: Final = {
    "ResourceNotFoundException": "Finding not found",
    "ValidationException": "Finding identifier is duplicated",
    "ConflictException": "Concurrent finding updates detected",
}


def _invalid(message: str) -> SecurityHubError:
    return SecurityHubError("ValidationException", message)


def import_ocsf_findings(backend: SecurityHubBackend, findings: list[Any]) -> list[dict[str, Any]]:
    """The provider's upsert of OCSF findings that have a ``metadata.uid``; returns stored copies."""
    backend.enable_security_hub(enable_default_standards=False)
    store = store_for(backend)
    stored = []
    with store.lock:
        for finding in findings:
            uid = finding.get("metadata", {}).get("uid") if isinstance(finding, Mapping) else None
            if not isinstance(uid, str) or not uid:
                continue
            existing = store.ocsf_findings.get(uid)
            kept = {name: existing[name] for name in CUSTOMER_FIELDS if existing and name in existing}
            store.ocsf_findings[uid] = {**copy.deepcopy(dict(finding)), **kept}
            stored.append(copy.deepcopy(store.ocsf_findings[uid]))
    return stored


def identifier_of(finding: Mapping[str, Any]) -> dict[str, str]:
    return {
        "CloudAccountUid": str(finding.get("cloud", {}).get("account", {}).get("uid", "")),
        "FindingInfoUid": str(finding.get("finding_info", {}).get("uid", "")),
        "MetadataProductUid": str(finding.get("metadata", {}).get("product", {}).get("uid", "")),
    }


def _non_blank(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def validate_request(body: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """("uid", metadata uid) or ("identifier", identifier) per finding named, or ValidationException."""
    uids, identifiers = body.get("MetadataUids"), body.get("FindingIdentifiers")
    if (uids is None) == (identifiers is None):
        raise _invalid("exactly one of MetadataUids and FindingIdentifiers is required")
    named = uids if uids is not None else identifiers
    if not isinstance(named, list) or not 1 <= len(named) <= MAX_FINDINGS:
        raise _invalid(f"MetadataUids or FindingIdentifiers must list 1 to {MAX_FINDINGS} findings")
    if uids is not None:
        if not all(_non_blank(uid) for uid in uids):
            raise _invalid("each MetadataUid must be a non-empty string")
        chosen: list[tuple[str, Any]] = [("uid", uid) for uid in uids]
    else:
        if not all(
            isinstance(i, Mapping) and all(_non_blank(i.get(k)) for k in IDENTIFIER_KEYS) for i in named
        ):
            raise _invalid(f"each FindingIdentifier needs a non-empty {', '.join(IDENTIFIER_KEYS)}")
        chosen = [("identifier", {k: i[k] for k in IDENTIFIER_KEYS}) for i in named]
    comment = body.get("Comment")
    if comment is not None and (not _non_blank(comment) or not 1 <= len(comment) <= NOTE_MAX):
        raise _invalid(f"Comment must be 1 to {NOTE_MAX} characters")
    status, severity = body.get("StatusId"), body.get("SeverityId")
    if status is not None and (isinstance(status, bool) or status not in STATUS_IDS):
        raise _invalid(f"StatusId must be one of {', '.join(map(str, STATUS_IDS))}")
    if severity is not None and (isinstance(severity, bool) or severity not in SEVERITY_IDS):
        raise _invalid(f"SeverityId must be one of {', '.join(map(str, SEVERITY_IDS))}")
    if comment is None and status is None and severity is None:
        raise _invalid("the request updates nothing: give Comment, StatusId or SeverityId")
    return chosen


def batch_update_findings_v2(backend: SecurityHubBackend, body: Mapping[str, Any]) -> dict[str, Any]:
    """Apply one BatchUpdateFindingsV2 request (see the module docstring)."""
    store = admit(
        backend,
        not_enabled=SecurityHubError(
            "AccessDeniedException", f"Account {backend.account_id} has no Security Hub"
        ),
        throttled_call=lambda _: {
            "operation": "BatchUpdateFindingsV2",
            "request": copy.deepcopy(dict(body)),
            "error": "ThrottlingException",
        },
    )
    named = validate_request(body)
    now = store.clock()
    processed: list[dict[str, Any]] = []
    unprocessed: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    seen: set[str] = set()
    with store.lock:
        for kind, value in named:
            uid, finding = _lookup(store.ocsf_findings, kind, value)
            if uid is not None and uid in seen:
                code = "ValidationException"
            elif finding is None:
                code = "ResourceNotFoundException"
            elif store.concurrent_update_next > 0:
                store.concurrent_update_next -= 1
                code = "ConflictException"
            else:
                code = ""
            if uid is not None:
                seen.add(uid)
            answer = {"FindingIdentifier": identifier_of(finding) if finding else _as_identifier(kind, value)}
            if kind == "uid":
                answer["MetadataUid"] = value
            if code:
                unprocessed.append({**answer, "ErrorCode": code, "ErrorMessage": _MESSAGES[code]})
                continue
            assert finding is not None
            _apply(finding, body)
            processed.append(answer)
            updated.append(copy.deepcopy(finding))
        store.calls.append(
            {
                "operation": "BatchUpdateFindingsV2",
                "request": copy.deepcopy(dict(body)),
                "processed": copy.deepcopy(processed),
                "unprocessed": copy.deepcopy(unprocessed),
            }
        )
        store.pending_events.extend(
            imported_event(
                backend,
                finding,
                now,
                store.new_id(),
                detail_type=IMPORTED_V2,
                resource=str(finding.get("metadata", {}).get("uid", "")),
            )
            for finding in updated
        )
    return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}


def _lookup(
    findings: Mapping[str, dict[str, Any]], kind: str, value: Any
) -> tuple[str | None, dict[str, Any] | None]:
    if kind == "uid":
        return value, findings.get(value)
    for uid, finding in findings.items():
        if identifier_of(finding) == value:
            return uid, finding
    return None, None


def _as_identifier(kind: str, value: Any) -> dict[str, str]:
    return dict(value) if kind == "identifier" else {k: "-" for k in IDENTIFIER_KEYS}


def _apply(finding: dict[str, Any], body: Mapping[str, Any]) -> None:
    """The customer's fields only: ``finding_info.modified_time*`` and ``time*`` stay (documented)."""
    if body.get("Comment") is not None:
        finding["comment"] = body["Comment"]
    if body.get("StatusId") is not None:
        finding["status_id"], finding["status"] = body["StatusId"], STATUS_IDS[body["StatusId"]]
    if body.get("SeverityId") is not None:
        finding["severity_id"], finding["severity"] = body["SeverityId"], SEVERITY_IDS[body["SeverityId"]]


class _ResponseMethods:
    securityhub_backend: SecurityHubBackend
    body: Any

    def batch_update_findings_v2(self) -> str:
        return json.dumps(batch_update_findings_v2(self.securityhub_backend, request_body(self.body)))


def install() -> None:
    """Teach moto's Security Hub BatchUpdateFindingsV2. Idempotent; call before the first request."""
    securityhub_urls.url_paths.setdefault("{0}/findingsv2/batchupdatev2$", SecurityHubResponse.dispatch)
    SecurityHubResponse.batch_update_findings_v2 = _ResponseMethods.batch_update_findings_v2
