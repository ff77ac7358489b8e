"""EventBridge event patterns that start the response workflow, built as plain dicts.

Pure so that tests can run them through a real EventBridge pattern engine. Security Hub flattens
the GuardDuty finding into ``ProductFields`` keys with slashes; a finding is only worth an execution
when one of the remote-IP keys exists, so the pattern asks for any of them with ``$or``.
"""

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from components.aws_limits import EVENT_PATTERN_CHARS
from handlers.sequences import ADDRESS_INDICATORS, BLOCKABLE_INDICATORS
from handlers.settings import ALWAYS_ENABLED_ACTIONS, OPT_IN_ACTIONS

SECURITY_HUB_SOURCE: Final = "aws.securityhub"
SECURITY_HUB_DETAIL_TYPE: Final = "Security Hub Findings - Imported"
SECURITY_HUB_V2_DETAIL_TYPE: Final = "Findings Imported V2"
"""The new Security Hub's event: one OCSF finding in ``detail.findings`` (docs/OCSF.md)."""
GUARDDUTY_SOURCE: Final = "aws.guardduty"
GUARDDUTY_DETAIL_TYPE: Final = "GuardDuty Finding"

GUARDDUTY_PRODUCT_ARN_WILDCARD: Final = "arn:*:securityhub:*::product/aws/guardduty"
"""GuardDuty's own ProductArn in any partition and region. ``ProductName`` alone proves nothing: a
custom integration (``product/<account>/default``) may import a finding that calls itself
GuardDuty. Extraction checks the exact form again (``handlers.extraction.GUARDDUTY_PRODUCT_ARN``)."""

GUARDDUTY_PRODUCT_V2_UID_WILDCARD: Final = "arn:*:securityhub:*::productv2/aws/guardduty"
"""GuardDuty's own ``metadata.product.uid`` in the new Security Hub, any partition and region; as with
CSPM, the name proves nothing (``handlers.extraction.GUARDDUTY_PRODUCT_V2_UID`` checks the exact form)."""
OCSF_CLOSE_ACTIVITY: Final = 3
"""OCSF Detection Finding ``activity_id`` 3, Close: Security Hub's closed (GuardDuty's archived) finding.
``activity_id`` is required by OCSF, so ``anything-but`` never drops a finding for lacking it."""
_OCSF_ADDRESS_FIELDS: Final = (("dst_endpoint", "ip"), ("src_endpoint", "ip"))
_OCSF_DOMAIN_FIELDS: Final = (
    ("query", "hostname"),
    ("dst_endpoint", "domain"),
    ("dst_endpoint", "hostname"),
    ("src_endpoint", "domain"),
    ("src_endpoint", "hostname"),
)
"""Where an OCSF evidence may name an address or a domain (``handlers.extraction`` reads each)."""

_PRODUCT_FIELD_PREFIX: Final = "aws/guardduty/service/action"
# Where each action keeps its remote host, relative to the action, as Security Hub flattens it.
_REMOTE_IP_PARENTS: Final = {
    "networkConnectionAction": "networkConnectionAction/remoteIpDetails",
    "portProbeAction": "portProbeAction/portProbeDetails.0_/remoteIpDetails",
    "awsApiCallAction": "awsApiCallAction/remoteIpDetails",
    "kubernetesApiCallAction": "kubernetesApiCallAction/remoteIpDetails",
    "rdsLoginAttemptAction": "rdsLoginAttemptAction/remoteIpDetails",
}
# GuardDuty's detail.service.action.actionType for each action.
ACTION_TYPES: Final = {
    "networkConnectionAction": "NETWORK_CONNECTION",
    "portProbeAction": "PORT_PROBE",
    "awsApiCallAction": "AWS_API_CALL",
    "kubernetesApiCallAction": "KUBERNETES_API_CALL",
    "rdsLoginAttemptAction": "RDS_LOGIN_ATTEMPT",
}


def enabled_actions(opt_in: Iterable[str] = ()) -> tuple[str, ...]:
    """The always-on actions followed by the opted-in ones, in a stable order."""
    chosen = set(opt_in)
    unknown = chosen - set(OPT_IN_ACTIONS)
    if unknown:
        raise ValueError(f"unknown GuardDuty action types: {', '.join(sorted(unknown))}")
    return ALWAYS_ENABLED_ACTIONS + tuple(action for action in OPT_IN_ACTIONS if action in chosen)


def remote_ip_product_fields(opt_in: Iterable[str] = ()) -> tuple[str, ...]:
    """Every ProductFields key that carries a remote host for the enabled actions (IPv4 and IPv6)."""
    return tuple(
        f"{_PRODUCT_FIELD_PREFIX}/{_REMOTE_IP_PARENTS[action]}/{address}"
        for action in enabled_actions(opt_in)
        for address in ("ipAddressV4", "ipAddressV6")
    )


DNS_DOMAIN_PRODUCT_FIELD: Final = f"{_PRODUCT_FIELD_PREFIX}/dnsRequestAction/domain"
"""Where Security Hub keeps a DNS finding's domain."""
DNS_REQUEST_ACTION_TYPE: Final = "DNS_REQUEST"


def sequence_indicator_keys(domains: bool = False) -> list[str]:
    """The attack-sequence indicator keys that make a finding worth an execution: those naming addresses
    (and, with ``domains``, domains). Every blockable key, whichever the stack counts: a sequence naming
    only keys it does not count is reported by the policy (``indicator-not-included``), never lost."""
    return list(BLOCKABLE_INDICATORS if domains else ADDRESS_INDICATORS)


def security_hub_pattern(opt_in: Iterable[str] = (), domains: bool = False) -> dict[str, Any]:
    """Active findings of GuardDuty's own product, imported by Security Hub, naming a remote host (or,
    with ``domains``, the domain a DNS finding looked up), or attack sequences whose indicators name one
    (ASFF ``Detection.Sequence``: a sequence has no remote-IP ProductFields key)."""
    keys = (*remote_ip_product_fields(opt_in), *((DNS_DOMAIN_PRODUCT_FIELD,) if domains else ()))
    return _guardduty_findings_in_security_hub(
        "ACTIVE",
        ProductFields={"aws/securityhub/ProductName": ["GuardDuty"]},
        **{
            "$or": [
                *({"ProductFields": {key: [{"exists": True}]}} for key in keys),
                {
                    "Detection": {
                        "Sequence": {"SequenceIndicators": {"Key": sequence_indicator_keys(domains)}}
                    }
                },
            ]
        },
    )


def _guardduty_findings_in_security_hub(record_state: str, **conditions: Any) -> dict[str, Any]:
    """The pattern of a "Findings - Imported" event of GuardDuty's own findings in the given record state,
    with ``conditions`` on the finding besides (the finding and the archived rules differ only there)."""
    return {
        "source": [SECURITY_HUB_SOURCE],
        "detail-type": [SECURITY_HUB_DETAIL_TYPE],
        "detail": {
            "findings": {
                "ProductArn": [{"wildcard": GUARDDUTY_PRODUCT_ARN_WILDCARD}],
                "RecordState": [record_state],
                **conditions,
            }
        },
    }


CUSTOM_ACTION_DETAIL_TYPE: Final = "Security Hub Findings - Custom Action"
CUSTOM_ACTIONS_SOURCE: Final = "actions"
"""The short name of the rule that routes the stack's Security Hub custom actions to the workflow. Short
because its events' IAM role is auto-named '<component>-actions-target-role-xxxxxxx' and must fit IAM's 64
characters with a 32-character component name (``components.limits.MAX_COMPONENT_NAME_LENGTH``)."""


def custom_action_pattern(action_target_arns: Iterable[str]) -> dict[str, Any]:
    """The stack's own custom actions (``resources`` is the action's ARN; Security Hub user guide,
    "Defining a rule in EventBridge"), on GuardDuty's findings only."""
    return {
        "source": [SECURITY_HUB_SOURCE],
        "detail-type": [CUSTOM_ACTION_DETAIL_TYPE],
        "resources": sorted(action_target_arns),
        "detail": {"findings": {"ProductArn": [{"wildcard": GUARDDUTY_PRODUCT_ARN_WILDCARD}]}},
    }


ARCHIVED_SOURCE: Final = "archived"
"""The short name of the rule that routes GuardDuty findings archived in Security Hub (an analyst's
decision: GuardDuty's own archive, or the record archived there) to the workflow, which releases them."""


def security_hub_archived_pattern() -> dict[str, Any]:
    """GuardDuty's findings that Security Hub now holds ARCHIVED (the finding pattern admits only ACTIVE
    ones); whatever hosts they name, since the ledger knows which hosts each finding holds."""
    return _guardduty_findings_in_security_hub("ARCHIVED")


def guardduty_pattern(opt_in: Iterable[str] = (), domains: bool = False) -> dict[str, Any]:
    """Native GuardDuty findings of the action types whose remote host (or, with ``domains``, whose
    looked-up domain) can be blocked, and attack sequences (no action) whose indicators name one."""
    action_types = [ACTION_TYPES[a] for a in enabled_actions(opt_in)]
    if domains:
        action_types.append(DNS_REQUEST_ACTION_TYPE)
    return {
        "source": [GUARDDUTY_SOURCE],
        "detail-type": [GUARDDUTY_DETAIL_TYPE],
        "detail": {
            "$or": [
                {"service": {"action": {"actionType": action_types}}},
                {
                    "service": {
                        "detection": {
                            "sequence": {"sequenceIndicators": {"key": sequence_indicator_keys(domains)}}
                        }
                    }
                },
            ]
        },
    }


def security_hub_v2_pattern(opt_in: Iterable[str] = (), domains: bool = False) -> dict[str, Any]:
    """Open findings of GuardDuty's own product in the new Security Hub with an endpoint address (or, with
    ``domains``, a looked-up name) in an evidence. OCSF names no GuardDuty action, so ``opt_in`` changes
    nothing here: the target policy drops the hosts of actions not enabled."""
    enabled_actions(opt_in)  # the same refusal of an unknown action as the other patterns
    fields = (*_OCSF_ADDRESS_FIELDS, *(_OCSF_DOMAIN_FIELDS if domains else ()))
    return {
        "source": [SECURITY_HUB_SOURCE],
        "detail-type": [SECURITY_HUB_V2_DETAIL_TYPE],
        "detail": {
            "findings": {
                "metadata": {
                    "product": {
                        "uid": [{"wildcard": GUARDDUTY_PRODUCT_V2_UID_WILDCARD}],
                        "name": ["GuardDuty"],
                    }
                },
                "activity_id": [{"anything-but": [OCSF_CLOSE_ACTIVITY]}],
                "$or": [{"evidences": {holder: {name: [{"exists": True}]}}} for holder, name in fields],
            }
        },
    }


SOURCE_PATTERNS: Final = {
    "securityhub": security_hub_pattern,
    "guardduty": guardduty_pattern,
    "ocsf": security_hub_v2_pattern,
}
"""Each way a GuardDuty finding arrives (short name: the rules' and their roles' names, so kept short: a
longer one would lower the longest component name every existing stack may use) and its pattern."""
FINDING_SOURCES: Final = {
    "securityhub": ("securityhub",),
    "guardduty": ("guardduty",),
    "both": ("securityhub", "guardduty"),
    "securityhubv2": ("ocsf",),
    "guardduty+securityhubv2": ("guardduty", "ocsf"),
    "securityhub+securityhubv2": ("securityhub", "ocsf"),
    "all": ("securityhub", "guardduty", "ocsf"),
}
"""``findingSource`` -> the ways it reads: Security Hub CSPM (ASFF), native GuardDuty, the new Security
Hub (OCSF), alone or together; one GuardDuty finding arriving several ways gets one response."""


def patterns_for(
    finding_source: str, opt_in: Iterable[str] = (), domains: bool = False
) -> dict[str, dict[str, Any]]:
    """The patterns one stack needs, keyed by a short name used in the rules' logical names."""
    opt_in = tuple(opt_in)
    if finding_source not in FINDING_SOURCES:
        raise ValueError(
            f"finding source must be one of {', '.join(FINDING_SOURCES)}, got {str(finding_source)[:60]!r}"
        )
    return {source: SOURCE_PATTERNS[source](opt_in, domains) for source in FINDING_SOURCES[finding_source]}


# --- Which accounts' and regions' findings a pattern admits (organization scale) ---

FINDING_SCOPE_FIELDS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    # source short name: (where the finding sits in the event, its account field, its region field)
    "securityhub": (("detail", "findings"), ("AwsAccountId",), ("Region",)),
    ARCHIVED_SOURCE: (("detail", "findings"), ("AwsAccountId",), ("Region",)),
    "guardduty": (("detail",), ("accountId",), ("region",)),
    "ocsf": (("detail", "findings"), ("cloud", "account", "uid"), ("cloud", "region")),
}
"""Where each event shape names the finding's own account and region. A forwarded event keeps its original
top-level ``account`` and ``region``, and with Security Hub cross-region aggregation the event's ``region``
is the aggregation region while the finding's ``Region`` is where it was found: so the patterns filter on
the finding's fields, as ``handlers.policy`` does. The analyst's archive (``ARCHIVED_SOURCE``) is scoped
the same way: a finding the stack never serves is not its to release. (EventBridge matches a field inside
``detail.findings`` if any finding of the array has it; the record step re-checks each finding.)"""


def scope_pattern(
    source: str, pattern: dict[str, Any], regions: Iterable[str] = (), accounts: Iterable[str] = ()
) -> dict[str, Any]:
    """``pattern`` narrowed to findings of ``accounts`` in ``regions`` (each empty: any); a new dict."""
    regions, accounts = list(dict.fromkeys(regions)), list(dict.fromkeys(accounts))
    path, account_field, region_field = FINDING_SCOPE_FIELDS[source]
    scoped = copy.deepcopy(pattern)
    for field, values in ((account_field, accounts), (region_field, regions)):
        if not values:
            continue
        holder = scoped
        for key in (*path, *field[:-1]):
            holder = holder.setdefault(key, {})
        holder[field[-1]] = values
    return scoped


def scoped_patterns_for(
    finding_source: str,
    opt_in: Iterable[str] = (),
    regions: Iterable[str] = (),
    accounts: Iterable[str] = (),
    domains: bool = False,
) -> dict[str, dict[str, Any]]:
    """``patterns_for`` narrowed to the findings of ``accounts`` in ``regions``: what every rule of a
    blocklist stack (on any bus) and of a forwarder matches, from this one function."""
    regions, accounts = tuple(regions), tuple(accounts)
    return {
        source: scope_pattern(source, pattern, regions, accounts)
        for source, pattern in patterns_for(finding_source, opt_in, domains).items()
    }


def event_pattern_json(pattern: Mapping[str, Any]) -> str:
    """The exact string a rule's ``event_pattern`` receives (and EventBridge's size quota counts)."""
    return json.dumps(pattern)


def pattern_size_problem(patterns: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why EventBridge would refuse one of ``patterns`` (by short name) for its length, or None."""
    for source, pattern in patterns.items():
        length = len(event_pattern_json(pattern))
        if length > EVENT_PATTERN_CHARS:
            return (
                f"makes the {source} event pattern {length} characters and EventBridge accepts "
                f"{EVENT_PATTERN_CHARS} (its default quota)"
            )
    return None
