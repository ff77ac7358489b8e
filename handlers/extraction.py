"""EventBridge event -> the remote hosts (IP addresses, and the domain of a DNS finding) its findings name.

Three shapes arrive: Security Hub CSPM's "Findings - Imported" (ASFF, GuardDuty's JSON flattened into
``ProductFields``), the new Security Hub's "Findings Imported V2" (OCSF Detection Findings, docs/OCSF.md)
and GuardDuty's own "GuardDuty Finding". All become the same ``Candidate``s, each ``FindingRef`` carrying
GuardDuty's own finding id and the way it came.

The event is untrusted input: a malformed event must end as a ``Skip`` the operator can read,
never as an exception that the state machine would retry and then report as a failure. So every
field is read with a type check, and nothing here judges the hosts — that is the policy's job.
What leaves extraction is bounded, so nothing downstream can overflow on it: a severity outside
GuardDuty's scale and a time outside ``[EARLIEST_TIME, LATEST_TIME)`` count as unknown, exactly
like a missing one (the next source is tried; an unknown severity is 0, an unknown time "now").
Duplicate hosts are kept (one candidate per mention): only after normalisation can the policy
tell that ``::ffff:198.51.100.7`` and ``198.51.100.7`` are the same host.
"""

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final

from handlers import clock
from handlers.addresses import describe_host
from handlers.domains import DNS_REQUEST_ACTION
from handlers.model import Candidate, Extraction, FindingRef, FindingState, Skip, SkipReason, TargetKind
from handlers.securityhub import OWN_FIELD_KEYS, RESOLVED_MARKER_KEY, V2_RESOLVED_MARK
from handlers.sequences import sequence_candidates, sequence_of, sequence_uid
from handlers.settings import ALWAYS_ENABLED_ACTIONS, OPT_IN_ACTIONS

SECURITY_HUB_SOURCE: Final = "aws.securityhub"
SECURITY_HUB_DETAIL_TYPES: Final = (
    "Security Hub Findings - Imported",
    # An analyst sending a finding to a custom action carries the same ASFF payload.
    "Security Hub Findings - Custom Action",
)
SECURITY_HUB_V2_DETAIL_TYPE: Final = "Findings Imported V2"
"""The new Security Hub: one OCSF finding per event in ``detail.findings``."""
GUARDDUTY_SOURCE: Final = "aws.guardduty"
GUARDDUTY_DETAIL_TYPE: Final = "GuardDuty Finding"

SOURCE_NATIVE: Final = "guardduty"
SOURCE_CSPM: Final = "securityhub"
SOURCE_V2: Final = "securityhubv2"
"""How a finding arrived (``FindingRef.source``), named as ``findingSource`` names them."""

KNOWN_ACTIONS: Final = ALWAYS_ENABLED_ACTIONS + OPT_IN_ACTIONS
"""Order of extraction: network connection first, so the finding's main host leads."""
_SINGLE_HOST_ACTIONS: Final = tuple(action for action in KNOWN_ACTIONS if action != "portProbeAction")
_IP_FIELDS: Final = ("ipAddressV4", "ipAddressV6")

_GUARDDUTY_PREFIX: Final = "aws/guardduty/service/"
_DNS_DOMAIN_KEY: Final = "aws/guardduty/service/action/dnsRequestAction/domain"
_SINGLE_HOST_KEY: Final = re.compile(
    r"aws/guardduty/service/action/(?P<action>\w+)/remoteIpDetails/(?P<field>ipAddressV[46])"
)
_PORT_PROBE_KEY: Final = re.compile(
    r"aws/guardduty/service/action/portProbeAction/portProbeDetails\.(?P<index>\d{1,6})_"
    r"/remoteIpDetails/(?P<field>ipAddressV[46])"
)

GUARDDUTY_PRODUCT_ARN: Final = re.compile(
    r"arn:aws(?:-[a-z]+)*:securityhub:[a-z]{2}(?:-[a-z]+)+-\d{1,2}::product/aws/guardduty"
)
"""GuardDuty's own product in Security Hub. Custom integrations (``product/<account>/default``)
may set any ``ProductName``, so only this ARN proves a finding came from GuardDuty."""

GUARDDUTY_PRODUCT_V2_UID: Final = re.compile(
    r"arn:aws(?:-[a-z]+)*:securityhub:[a-z]{2}(?:-[a-z]+)+-\d{1,2}::productv2/aws/guardduty"
)
"""GuardDuty's own ``metadata.product.uid`` in the new Security Hub: as with CSPM's ProductArn, the name
"GuardDuty" alone proves nothing."""

MAX_SEVERITY: Final = 10.0
"""Top of GuardDuty's severity scale (1.0-10.0); ASFF ``Severity.Normalized`` is the same times 10."""
EARLIEST_TIME: Final = 0.0
"""1970-01-01T00:00:00Z: a finding time before it is a forgery or garbage, not a sighting."""
LATEST_TIME: Final = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
"""Far beyond any real finding, yet far enough below year 9999 that a time plus any retention or
TTL still renders as a date."""

MAX_CLOCK_AHEAD: Final = 86400.0
"""An ``UpdatedAt`` more than a day ahead of the clock is not when the provider updated the finding: the
loop guard cannot order by it (remembered, it would hide every genuine update until that date)."""
PROVIDER_FIELDS: Final = (
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Region",
    "CreatedAt",
    "UpdatedAt",
    "FirstObservedAt",
    "LastObservedAt",
    "RecordState",
    "ProductFields",
    "FindingProviderFields",
    "Resources",
    "Network",
    "Action",
    "Title",
    "Description",
    "Detection",
)
"""What the provider writes about a sighting (BatchImportFindings) and nobody's BatchUpdateFindings can
change (that one sets Note, UserDefinedFields, Workflow, Severity, Types, Confidence, Criticality,
RelatedFindings, VerificationState; Security Hub itself ProcessedAt). A new sighting changes some of it
(LastObservedAt, the count and eventLastSeen in ProductFields); an echo of an annotation changes none."""

_SEVERITY_BY_LABEL: Final = {"INFORMATIONAL": 0.0, "LOW": 1.0, "MEDIUM": 4.0, "HIGH": 7.0, "CRITICAL": 9.0}
"""Bottom of GuardDuty's band for each label: a label alone only proves that much."""


def way_of(event: object) -> str:
    """Which way an event brings GuardDuty findings (``FindingRef.source``), or ``unknown``."""
    if not isinstance(event, Mapping):
        return "unknown"
    source, detail_type = event.get("source"), event.get("detail-type")
    if source == SECURITY_HUB_SOURCE and detail_type in SECURITY_HUB_DETAIL_TYPES:
        return SOURCE_CSPM
    if source == SECURITY_HUB_SOURCE and detail_type == SECURITY_HUB_V2_DETAIL_TYPE:
        return SOURCE_V2
    if source == GUARDDUTY_SOURCE and detail_type == GUARDDUTY_DETAIL_TYPE:
        return SOURCE_NATIVE
    return "unknown"


def extract(event: Mapping[str, Any]) -> Extraction:
    """Every remote host named by the GuardDuty findings in ``event``; never raises."""
    if not isinstance(event, Mapping):
        return _unsupported(f"event is {type(event).__name__}, not an object")
    source, detail_type = event.get("source"), event.get("detail-type")
    if source == SECURITY_HUB_SOURCE and detail_type in SECURITY_HUB_DETAIL_TYPES:
        return _from_security_hub(event, _security_hub_finding)
    if source == SECURITY_HUB_SOURCE and detail_type == SECURITY_HUB_V2_DETAIL_TYPE:
        return _from_security_hub(event, _ocsf_finding)
    if source == GUARDDUTY_SOURCE and detail_type == GUARDDUTY_DETAIL_TYPE:
        return _from_guardduty(event)
    return _unsupported(f"source {_text(source)[:60]!r} detail-type {_text(detail_type)[:60]!r}")


# --- Security Hub: its findings, ASFF (CSPM) or OCSF (the new Security Hub) ------------------------


FindingReader = Callable[[Mapping[str, Any], Mapping[str, Any]], Extraction]
"""Reads one Security Hub finding (ASFF or OCSF), given the event that carried it."""


def _from_security_hub(event: Mapping[str, Any], read: FindingReader) -> Extraction:
    """Every finding in a Security Hub event's ``detail.findings``, each read by ``read``: both Security
    Hubs put their findings there. They send one finding per event today, but the field is an array:
    the reference read only findings[0] and silently dropped the rest."""
    findings = _mapping(event.get("detail")).get("findings")
    if not isinstance(findings, list):
        return _unsupported("detail.findings is not a list")
    extraction = Extraction()
    for finding in findings:
        if isinstance(finding, Mapping):
            _extend(extraction, read(finding, event))
        else:
            _extend(extraction, _unsupported(f"finding is {type(finding).__name__}, not an object"))
    if not findings:
        extraction.skipped.append(Skip("", SkipReason.UNSUPPORTED_EVENT, detail="detail.findings is empty"))
    return extraction


# --- Security Hub CSPM (ASFF) ----------------------------------------------------------------------


def _security_hub_finding(finding: Mapping[str, Any], event: Mapping[str, Any]) -> Extraction:
    fields = _mapping(finding.get("ProductFields"))
    finding_id = _text(finding.get("Id"))
    if not _claims_guardduty(finding, fields):
        return _unsupported("not a GuardDuty finding", finding_id)
    product_arn = finding.get("ProductArn")
    if not isinstance(product_arn, str) or not GUARDDUTY_PRODUCT_ARN.fullmatch(product_arn):
        return _untrusted_product("ProductArn", product_arn, finding_id)
    account, region = asff_place(finding, event)
    ref = FindingRef(
        id=finding_id,
        type=_asff_type(finding.get("Types")),
        severity=_asff_severity(_mapping(finding.get("Severity"))),
        account=account,
        region=region,
        last_seen=_first_time(
            fields.get(_GUARDDUTY_PREFIX + "eventLastSeen"),
            finding.get("LastObservedAt"),
            finding.get("UpdatedAt"),
            event.get("time"),
        ),
        state=_asff_state(finding, fields),
        product_arn=product_arn,
        updated_at=_provider_update_time(finding.get("UpdatedAt")),
        provider_state=provider_state(finding),
        other_fields=len(set(_mapping(finding.get("UserDefinedFields"))) - OWN_FIELD_KEYS),
        sequence=_sequence_name(sequence_of(finding), finding.get("Title"), finding.get("Description")),
        guardduty_id=guardduty_id(finding_id),
        source=SOURCE_CSPM,
        sighted_at=_provider_update_time(finding.get("UpdatedAt")),
    )
    candidates = _candidates(ref, _asff_hosts(fields), [fields.get(_DNS_DOMAIN_KEY)])
    action_type = _text(fields.get(_GUARDDUTY_PREFIX + "action/actionType"))
    return _with_sequence(ref, candidates, sequence_of(finding), action_type)


def _claims_guardduty(finding: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Says it is GuardDuty's: whether it is, only its ProductArn can tell."""
    return (
        fields.get("aws/securityhub/ProductName") == "GuardDuty"
        or finding.get("ProductName") == "GuardDuty"
        or _text(finding.get("ProductArn")).endswith("/aws/guardduty")
    )


def _asff_hosts(fields: Mapping[str, Any]) -> list[tuple[str, object]]:
    """(action, raw host) from the flattened keys, in a stable order whatever the dict order."""
    found: list[tuple[tuple[int, int, int], str, object]] = []
    for key, value in fields.items():
        if not isinstance(key, str) or not key.startswith(_GUARDDUTY_PREFIX) or _absent(value):
            continue
        probe = _PORT_PROBE_KEY.fullmatch(key)
        if probe:
            order = (
                KNOWN_ACTIONS.index("portProbeAction"),
                int(probe["index"]),
                _IP_FIELDS.index(probe["field"]),
            )
            found.append((order, "portProbeAction", value))
            continue
        single = _SINGLE_HOST_KEY.fullmatch(key)
        if single and single["action"] in _SINGLE_HOST_ACTIONS:
            order = (KNOWN_ACTIONS.index(single["action"]), 0, _IP_FIELDS.index(single["field"]))
            found.append((order, single["action"], value))
    found.sort(key=lambda item: item[0])
    return [(action, value) for _, action, value in found]


def _asff_type(types: object) -> str:
    """``Types[0]`` without its ASFF namespace: "TTPs/Command and Control/Backdoor:EC2.C&CActivity.B"
    -> "Backdoor:EC2.C&CActivity.B" (Security Hub writes GuardDuty's own "/" as ".")."""
    if not isinstance(types, list) or not types:
        return ""
    return _text(types[0]).rsplit("/", 1)[-1]


def _asff_severity(severity: Mapping[str, Any]) -> float:
    product = _severity(severity.get("Product"))
    if product is not None:
        return product
    normalized = _number(severity.get("Normalized"))
    if normalized is not None and 0 <= normalized <= MAX_SEVERITY * 10:
        return normalized / 10
    return _SEVERITY_BY_LABEL.get(_text(severity.get("Label")).upper(), 0.0)


def _asff_state(finding: Mapping[str, Any], fields: Mapping[str, Any]) -> FindingState:
    if finding.get("RecordState") == "ARCHIVED" or _is_true(fields.get(_GUARDDUTY_PREFIX + "archived")):
        return FindingState.ARCHIVED
    workflow_status = _mapping(finding.get("Workflow")).get("Status") or finding.get("WorkflowState")
    if workflow_status == "RESOLVED" and resolved_by_tool(finding):
        # findingWorkflowStatus=RESOLVED: the tool's own resolution must not hide a new sighting.
        return FindingState.ACTIVE
    if workflow_status in ("SUPPRESSED", "RESOLVED"):
        return FindingState.SUPPRESSED
    return FindingState.ACTIVE


def resolved_by_tool(finding: Mapping[str, Any]) -> bool:
    """The finding carries the marker the tool writes when it sets ``Workflow.Status`` RESOLVED."""
    fields = _mapping(finding.get("UserDefinedFields"))
    return fields.get(RESOLVED_MARKER_KEY) == "RESOLVED"


def _provider_update_time(value: object) -> float | None:
    """``UpdatedAt`` as the loop guard may order by it: readable and not ahead of the clock."""
    seconds = event_time(value)
    return seconds if seconds is not None and seconds <= clock.now() + MAX_CLOCK_AHEAD else None


def provider_state(finding: Mapping[str, Any]) -> str:
    """A digest of ``PROVIDER_FIELDS`` as the finding holds them: equal for a finding and the echo of any
    BatchUpdateFindings of it, different once the provider reports anything new."""
    return _digest({name: finding[name] for name in PROVIDER_FIELDS if name in finding})


def _digest(content: Mapping[str, Any]) -> str:
    try:
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=repr)
    except (RecursionError, TypeError, ValueError):
        # Not JSON a Lambda could have received: one fixed state, so the guard errs towards "echo".
        text = "unreadable"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- The new Security Hub (OCSF) -------------------------------------------------------------------

OCSF_PROVIDER_FIELDS: Final = (
    "class_uid",
    "cloud",
    "count",
    "evidences",
    "finding_info",
    "resources",
    "time",
    "time_dt",
)
"""What GuardDuty writes about a sighting and ``BatchUpdateFindingsV2`` cannot change (it sets ``comment``,
``status``/``status_id`` and ``severity``/``severity_id``, and leaves ``finding_info.modified_time*`` and
``time*`` alone, per its documentation); ``activity_*`` is left out too, in case an update moves it: the
guard errs towards "echo" (docs/OCSF.md)."""
ATTACK_SEQUENCE_TYPE: Final = "AttackSequence:"
"""GuardDuty's finding type prefix of an attack sequence (docs/ATTACK_SEQUENCES.md)."""
OCSF_SEVERITY: Final = {1: 0.0, 2: 1.0, 3: 4.0, 4: 7.0, 5: 9.0, 6: 9.0}
"""OCSF ``severity_id`` (1 Informational .. 5 Critical, 6 Fatal) as the bottom of GuardDuty's band."""
OCSF_ARCHIVED_STATUS: Final = 5
OCSF_CLOSED_STATUSES: Final = {3: "Suppressed", 4: "Resolved"}
OCSF_RESOLVED: Final = 4
_INBOUND, _OUTBOUND = 1, 2
_DIRECTIONS: Final = {"inbound": _INBOUND, "outbound": _OUTBOUND}
_ENDPOINT_DOMAIN_FIELDS: Final = ("hostname", "domain")
_ACTION_BY_RESOURCE: Final = {
    "IAMUser": "awsApiCallAction",
    "S3": "awsApiCallAction",
    "Kubernetes": "kubernetesApiCallAction",
    "RDS": "rdsLoginAttemptAction",
}
"""GuardDuty's action for a finding type's resource part (``Recon:IAMUser/...``): OCSF names no action,
and the opt-in actions must stay off unless opted in."""

OcsfReader = Callable[[Mapping[str, Any], str], tuple[list[tuple[str, object, object]], list[object]]]
"""Reads (action, address, counterpart) and domains from one OCSF finding, given GuardDuty's finding type
(``Candidate.counterpart``: None unless the address's evidence gives no direction)."""


def _ocsf_finding(finding: Mapping[str, Any], event: Mapping[str, Any]) -> Extraction:
    info = _mapping(finding.get("finding_info"))
    metadata = _mapping(finding.get("metadata"))
    product = _mapping(metadata.get("product"))
    finding_uid = _text(info.get("uid"))
    product_uid = product.get("uid")
    if product.get("name") != "GuardDuty" and not _text(product_uid).endswith("/aws/guardduty"):
        return _unsupported("not a GuardDuty finding", finding_uid)
    if not isinstance(product_uid, str) or not GUARDDUTY_PRODUCT_V2_UID.fullmatch(product_uid):
        return _untrusted_product("metadata.product.uid", product_uid, finding_uid)
    account, region = ocsf_place(finding, event)
    finding_type = _ocsf_type(info.get("types"))
    ref = FindingRef(
        id=finding_uid,
        type=finding_type,
        severity=_ocsf_severity(finding),
        account=account,
        region=region,
        last_seen=_first_time(
            info.get("last_seen_time_dt"),
            info.get("modified_time_dt"),
            finding.get("time_dt"),
            event.get("time"),
        ),
        state=ocsf_state(finding),
        product_arn=product_uid,
        updated_at=_provider_update_time(info.get("modified_time_dt")),
        provider_state=_digest({name: finding[name] for name in OCSF_PROVIDER_FIELDS if name in finding}),
        guardduty_id=_ocsf_guardduty_id(finding_uid, info.get("uid_alt")),
        source=SOURCE_V2,
        metadata_uid=_text(metadata.get("uid")),
        sighted_at=_provider_update_time(info.get("modified_time_dt")),
    )
    types = info.get("types")
    if any(ATTACK_SEQUENCE_TYPE in _text(kind) for kind in (types if isinstance(types, list) else ())):
        # Its evidences' endpoints are only "associated with the resource" (its own addresses, the services
        # it uses): they block nothing alone; the indicators would, and their OCSF shape is not documented.
        detail = "attack sequence in the new Security Hub: its endpoints alone block nothing"
        return Extraction(skipped=[Skip("", SkipReason.NO_REMOTE_IP, finding_id=ref.id, detail=detail)])
    mentions: list[tuple[str, object, object]] = []
    domains: list[object] = []
    for reader in OCSF_READERS:
        more_addresses, more_domains = reader(finding, finding_type)
        mentions.extend(more_addresses)
        domains.extend(more_domains)
    # An address some evidence names as the remote side is the remote side: its undirected mentions go.
    directed = [(action, address) for action, address, counterpart in mentions if counterpart is None]
    addresses = _distinct(
        [
            (action, address, counterpart)
            for action, address, counterpart in mentions
            if counterpart is None or not any(_same(address, known) for _, known in directed)
        ]
    )
    candidates = [
        replace(candidate, counterpart=counterpart)
        for candidate, (_, _, counterpart) in zip(
            _candidates(ref, [(action, address) for action, address, _ in addresses], []),
            addresses,
            strict=True,
        )
    ]
    candidates += _candidates(ref, [], _distinct(domains))
    if not candidates:
        return _no_remote_ip(ref, finding_type)
    return Extraction(candidates=candidates)


def _ocsf_evidence_hosts(
    finding: Mapping[str, Any], finding_type: str
) -> tuple[list[tuple[str, object, object]], list[object]]:
    """Every remote endpoint of every evidence: by ``connection_info.direction`` the source (Inbound), the
    destination (Outbound) or, for any other or no direction, both; their ``ip`` as addresses, their
    ``hostname`` and ``domain`` and the evidence's DNS ``query.hostname`` as domains. Where GuardDuty puts a
    port probe's or a DNS finding's host is not documented (docs/OCSF.md): nothing given is left unread."""
    evidences = finding.get("evidences")
    addresses: list[tuple[str, object, object]] = []
    domains: list[object] = []
    for evidence in evidences if isinstance(evidences, list) else ():
        evidence = _mapping(evidence)
        action = _ocsf_action(evidence, finding_type)
        endpoints = _remote_endpoints(evidence)
        ips = [endpoint.get("ip") for endpoint in endpoints]
        for index, endpoint in enumerate(endpoints):
            if not _absent(ips[index]):
                # Both sides read (no direction): each is the other's counterpart.
                others = [ip for other, ip in enumerate(ips) if other != index and not _absent(ip)]
                addresses.append((action, ips[index], others[0] if others else None))
            domains.extend(endpoint.get(name) for name in _ENDPOINT_DOMAIN_FIELDS)
        domains.append(_mapping(evidence.get("query")).get("hostname"))
    return addresses, [domain for domain in domains if not _absent(domain)]


OCSF_READERS: tuple[OcsfReader, ...] = (_ocsf_evidence_hosts,)
"""What reads an OCSF finding's targets, in order; a reader of another part (an attack sequence's
indicators) is added here."""


def _remote_endpoints(evidence: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    connection = _mapping(evidence.get("connection_info"))
    direction = _DIRECTIONS.get(_text(connection.get("direction")).lower())
    direction_id = connection.get("direction_id")
    if direction is None and not isinstance(direction_id, bool) and direction_id in (_INBOUND, _OUTBOUND):
        direction = direction_id
    if _mapping(evidence.get("api")) and direction is None:
        direction = _INBOUND  # an API call's remote party is its caller
    sides = {_INBOUND: ("src_endpoint",), _OUTBOUND: ("dst_endpoint",)}.get(
        direction or 0, ("src_endpoint", "dst_endpoint")
    )
    return [_mapping(evidence.get(side)) for side in sides]


def _ocsf_action(evidence: Mapping[str, Any], finding_type: str) -> str:
    """The GuardDuty action an evidence stands for, so the opt-in actions stay off unless opted in."""
    resource = finding_type.partition(":")[2].partition("/")[0]
    if resource in _ACTION_BY_RESOURCE:
        return _ACTION_BY_RESOURCE[resource]
    if _mapping(evidence.get("api")):
        return "awsApiCallAction"
    if "/PortProbe" in finding_type:
        return "portProbeAction"
    return "networkConnectionAction"


def _ocsf_guardduty_id(finding_uid: str, uid_alt: object) -> str:
    """The id in the finding ARN (as for ASFF), else ``uid_alt`` (GuardDuty's id, by AWS's mapping)."""
    from_arn = guardduty_id(finding_uid)
    return from_arn if from_arn != finding_uid else _text(uid_alt) or finding_uid


def _ocsf_type(types: object) -> str:
    return _text(types[0]) if isinstance(types, list) and types else ""


def _ocsf_severity(finding: Mapping[str, Any]) -> float:
    severity_id = finding.get("severity_id")
    if isinstance(severity_id, int) and not isinstance(severity_id, bool) and severity_id in OCSF_SEVERITY:
        return OCSF_SEVERITY[severity_id]
    return _SEVERITY_BY_LABEL.get(_text(finding.get("severity")).upper(), 0.0)


def ocsf_state(finding: Mapping[str, Any]) -> FindingState:
    """An OCSF finding's state: archived (Close, or status Archived), suppressed (Suppressed or Resolved,
    unless the tool resolved it), else active. The sighting's policy and a person's decision both read it."""
    raw_status = finding.get("status_id")
    # Only an integer is a status id (a list in it once raised: unhashable in the lookups below).
    status_id = raw_status if isinstance(raw_status, int) and not isinstance(raw_status, bool) else None
    status = _text(finding.get("status")).lower()
    if (
        _text(finding.get("activity_name")) == "Close"
        or status_id == OCSF_ARCHIVED_STATUS
        or status == "archived"
    ):
        return FindingState.ARCHIVED
    if status_id == OCSF_RESOLVED and _text(finding.get("comment")).startswith(V2_RESOLVED_MARK):
        # The tool's own resolution (its comment says so) must not hide a new sighting.
        return FindingState.ACTIVE
    if status_id in OCSF_CLOSED_STATUSES or status in ("suppressed", "resolved"):
        return FindingState.SUPPRESSED
    return FindingState.ACTIVE


def _distinct(values: Sequence[Any]) -> list[Any]:
    """Exact repeats once (one evidence may name its domain in two fields); kept in order. Spellings of one
    host that differ are still all kept, for the policy to fold."""
    seen: list[Any] = []
    for value in values:
        if not any(_same(value, other) for other in seen):
            seen.append(value)
    return seen


def _same(value: object, other: object) -> bool:
    return value == other and type(value) is type(other)


# --- Native GuardDuty ------------------------------------------------------------------------------


def _from_guardduty(event: Mapping[str, Any]) -> Extraction:
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return _unsupported("detail is not an object")
    service = _mapping(detail.get("service"))
    action = _mapping(service.get("action"))
    account, region = native_place(detail, event)
    ref = FindingRef(
        id=_text(detail.get("id")),
        type=_text(detail.get("type")),
        severity=_severity(detail.get("severity")) or 0.0,
        account=account,
        region=region,
        last_seen=_first_time(service.get("eventLastSeen"), detail.get("updatedAt"), event.get("time")),
        state=FindingState.ARCHIVED if _is_true(service.get("archived")) else FindingState.ACTIVE,
        sequence=_sequence_name(sequence_of(service), detail.get("title"), detail.get("description")),
        guardduty_id=_text(detail.get("id")),
        source=SOURCE_NATIVE,
        sighted_at=_provider_update_time(detail.get("updatedAt")),
    )
    hosts: list[tuple[str, object]] = []
    for action_name in KNOWN_ACTIONS:
        action_detail = _mapping(action.get(action_name))
        if action_name == "portProbeAction":
            probes = action_detail.get("portProbeDetails")
            for probe in probes if isinstance(probes, list) else ():
                hosts.extend(_remote_ips(action_name, _mapping(probe)))
        else:
            hosts.extend(_remote_ips(action_name, action_detail))
    candidates = _candidates(ref, hosts, [_mapping(action.get(DNS_REQUEST_ACTION)).get("domain")])
    return _with_sequence(ref, candidates, sequence_of(service), _text(action.get("actionType")))


def _remote_ips(action_name: str, holder: Mapping[str, Any]) -> list[tuple[str, object]]:
    details = _mapping(holder.get("remoteIpDetails"))
    return [(action_name, details[field]) for field in _IP_FIELDS if not _absent(details.get(field))]


# --- Shared helpers --------------------------------------------------------------------------------


def _candidates(
    ref: FindingRef, addresses: Sequence[tuple[str, object]], domains: Sequence[object]
) -> list[Candidate]:
    """The finding's targets, each with its kind: the remote IPs are addresses, the looked-up names
    domains (the addresses first, so the finding's main host leads)."""
    candidates = [
        Candidate(raw_host=value, finding=ref, action=action, kind=TargetKind.ADDRESS)
        for action, value in addresses
    ]
    candidates.extend(
        Candidate(raw_host=domain, finding=ref, action=DNS_REQUEST_ACTION, kind=TargetKind.DOMAIN)
        for domain in domains
        if not _absent(domain)
    )
    return candidates


def _with_sequence(
    ref: FindingRef, candidates: list[Candidate], sequence: Mapping[str, Any] | None, action_type: str
) -> Extraction:
    """``candidates`` and, for an attack sequence, the hosts its indicators name after them; a finding that
    names none says why."""
    skipped: list[Skip] = []
    if sequence is not None:
        named, skipped = sequence_candidates(ref, sequence)
        candidates = [*candidates, *named]
        if not candidates:
            detail = "no address or domain indicator in attack sequence"
            skipped.append(Skip("", SkipReason.NO_REMOTE_IP, finding_id=ref.id, detail=detail))
            return Extraction(skipped=skipped)
    if not candidates:
        return _no_remote_ip(ref, action_type)
    return Extraction(candidates=candidates, skipped=skipped)


def _sequence_name(sequence: Mapping[str, Any] | None, title: object, description: object) -> str:
    """What a person calls the attack sequence: the finding's title, else a description, else its uid."""
    if sequence is None:
        return ""
    for name in (title, description, sequence.get("description"), sequence_uid(sequence)):
        if isinstance(name, str) and name.strip():
            return name.strip()
    return "unnamed attack sequence"


def asff_place(finding: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[str, str]:
    """A Security Hub CSPM finding's own (account, region), else the event's (a forwarded or aggregated
    event keeps the sender's)."""
    return (
        _text(finding.get("AwsAccountId")) or _text(event.get("account")),
        _text(finding.get("Region")) or _text(event.get("region")),
    )


def ocsf_place(finding: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[str, str]:
    """The new Security Hub's finding's own (account, region), else the event's."""
    cloud = _mapping(finding.get("cloud"))
    return (
        _text(_mapping(cloud.get("account")).get("uid")) or _text(event.get("account")),
        _text(cloud.get("region")) or _text(event.get("region")),
    )


def native_place(detail: Mapping[str, Any], event: Mapping[str, Any]) -> tuple[str, str]:
    """A native GuardDuty finding's own (account, region), else the event's."""
    return (
        _text(detail.get("accountId")) or _text(event.get("account")),
        _text(detail.get("region")) or _text(event.get("region")),
    )


def guardduty_id(finding_arn: str) -> str:
    """GuardDuty's own id from its finding ARN (``.../detector/<d>/finding/<id>``); the text itself when it
    is no such ARN (a hand-made or forged finding keys on what it says)."""
    head, marker, tail = finding_arn.rpartition("/finding/")
    return tail if marker and head.startswith("arn:") and tail else finding_arn


def _extend(into: Extraction, part: Extraction) -> None:
    into.candidates.extend(part.candidates)
    into.skipped.extend(part.skipped)


def _unsupported(detail: str, finding_id: str = "") -> Extraction:
    return Extraction(skipped=[Skip("", SkipReason.UNSUPPORTED_EVENT, finding_id=finding_id, detail=detail)])


def _untrusted_product(field: str, value: object, finding_id: str) -> Extraction:
    """A finding that claims to be GuardDuty's while its product id (``field``) is not GuardDuty's."""
    detail = f"{field} '{describe_host(value)}' is not GuardDuty's"
    return Extraction(skipped=[Skip("", SkipReason.UNTRUSTED_PRODUCT, finding_id, detail)])


def _no_remote_ip(ref: FindingRef, action_type: str) -> Extraction:
    detail = f"no remote IP in {action_type[:60]} finding" if action_type else "no remote IP in finding"
    return Extraction(skipped=[Skip("", SkipReason.NO_REMOTE_IP, finding_id=ref.id, detail=detail)])


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _absent(value: object) -> bool:
    """A missing address, as opposed to a malformed one (which the policy reports)."""
    return value is None or value == ""


def _is_true(value: object) -> bool:
    # Native events carry a JSON boolean, ASFF ProductFields the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _number(value: object) -> float | None:
    """A finite number, from a JSON number or a numeric string; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            # A JSON integer has no size limit: float() of one past 1.8e308 raises OverflowError.
            number = float(value)
        elif isinstance(value, str) and len(value) <= 32:
            number = float(value)
        else:
            return None
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _severity(value: object) -> float | None:
    """A severity on GuardDuty's own scale; ``None`` (unknown) for anything off it."""
    number = _number(value)
    return number if number is not None and 0 <= number <= MAX_SEVERITY else None


def event_time(value: object) -> float | None:
    """Epoch seconds of an ISO-8601 time in ``[EARLIEST_TIME, LATEST_TIME)``; ``None`` otherwise.

    A time without an offset is UTC. The CLI reads event times with this too, so it cannot start
    a replay at a time the functions would have refused.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp()
    except (OverflowError, ValueError):
        return None
    return seconds if EARLIEST_TIME <= seconds < LATEST_TIME else None


def _first_time(*values: object) -> float:
    """The first valid ISO-8601 time; "now" if none is, so a host is never recorded as long expired."""
    for value in values:
        seconds = event_time(value)
        if seconds is not None:
            return seconds
    return clock.now()
