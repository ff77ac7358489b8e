"""Attack sequences: the network indicators a GuardDuty Extended Threat Detection finding names.

An ``AttackSequence:*`` finding keeps no ``service.action``; what it says about the network is in its
sequence (native ``detail.service.detection.sequence``, ASFF ``Detection.Sequence``): ``endpoints[]`` and
``sequenceIndicators[]``. Only indicators are read, and only the keys whose values are addresses or
domains (``ADDRESS_INDICATORS``, ``DOMAIN_INDICATORS``): GuardDuty's verdict that a value is malicious,
a Tor exit or a mining pool is the indicator; an endpoint is only "used in the attack sequence", and
AWS says it may be one "associated with the resource" (the instance's own addresses, the services it
talks to), so an endpoint alone blocks nothing, inbound or outbound. ``SUSPICIOUS_NETWORK``'s values are
network names, not addresses: nothing to block (docs/ATTACK_SEQUENCES.md says why in full).

Which keys count is the policy's (``TargetPolicy.sequence_indicators``): every value read here becomes
a candidate that names its key, so a key the stack does not count is reported, not silently dropped.
The reader takes either spelling of each field (the native camelCase, ASFF's PascalCase), so both
finding shapes whose sequence is documented (native, ASFF) read it with ``sequence_candidates``. The new
Security Hub's OCSF shape of a sequence is not documented: an OCSF attack sequence blocks nothing (its
evidences' endpoints are only endpoints), see ``extraction._ocsf_finding``.
"""

from collections.abc import Mapping
from typing import Any, Final

from handlers.model import Candidate, FindingRef, Skip, SkipReason, TargetKind

SEQUENCE_ACTION: Final = "attackSequence"
"""The ``Candidate.action`` of a target an attack sequence names (there is no GuardDuty action)."""
ADDRESS_INDICATORS: Final = ("MALICIOUS_IP", "TOR_IP", "CRYPTOMINING_IP")
"""Indicator keys whose values are IP addresses."""
DOMAIN_INDICATORS: Final = ("MALICIOUS_DOMAIN", "CRYPTOMINING_DOMAIN")
"""Indicator keys whose values are domain names."""
BLOCKABLE_INDICATORS: Final = ADDRESS_INDICATORS + DOMAIN_INDICATORS
DEFAULT_SEQUENCE_INDICATORS: Final = BLOCKABLE_INDICATORS
"""``attackSequenceIndicators`` unless configured: every key that names a host GuardDuty judged
malicious, a Tor exit or a cryptomining host."""
UNBLOCKABLE_INDICATORS: Final = {
    "SUSPICIOUS_NETWORK": "its values are network names, not addresses",
    "UNUSUAL_ASN_FOR_ACCOUNT": "its values are autonomous systems, not addresses",
    "UNUSUAL_ASN_FOR_USER": "its values are autonomous systems, not addresses",
}
"""Network-sounding keys a stack cannot count, and why (the configuration error says it)."""

MAX_INDICATORS: Final = 400
"""GuardDuty's most ``sequenceIndicators`` (the model's ``max``); a forged event's excess is reported."""
MAX_VALUES: Final = 400
"""GuardDuty's most ``values`` per indicator."""


def sequence_of(holder: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The sequence under ``holder``'s detection (a native ``service`` or an ASFF finding), if any."""
    detection = _field(holder, "detection")
    sequence = _field(detection, "sequence") if isinstance(detection, Mapping) else None
    return sequence if isinstance(sequence, Mapping) else None


def sequence_uid(sequence: Mapping[str, Any]) -> str:
    """The sequence's own id (``uid``), as text; empty when missing or not a string."""
    uid = _field(sequence, "uid")
    return uid if isinstance(uid, str) else ""


def sequence_candidates(ref: FindingRef, sequence: Mapping[str, Any]) -> tuple[list[Candidate], list[Skip]]:
    """One candidate per value of every address or domain indicator of ``sequence`` (each naming its key),
    in the order GuardDuty lists them; skips for what is past GuardDuty's own bounds. Never raises."""
    indicators = _field(sequence, "sequenceIndicators")
    if not isinstance(indicators, list):
        return [], []
    candidates: list[Candidate] = []
    skipped: list[Skip] = []
    if len(indicators) > MAX_INDICATORS:
        detail = f"{len(indicators)} sequence indicators, read the first {MAX_INDICATORS}"
        skipped.append(_excess(ref, detail))
    for indicator in indicators[:MAX_INDICATORS]:
        if not isinstance(indicator, Mapping):
            continue
        key = _field(indicator, "key")
        if key not in BLOCKABLE_INDICATORS:
            continue
        kind = TargetKind.ADDRESS if key in ADDRESS_INDICATORS else TargetKind.DOMAIN
        values = _field(indicator, "values")
        if not isinstance(values, list):
            continue
        if len(values) > MAX_VALUES:
            skipped.append(_excess(ref, f"{len(values)} {key} values, read the first {MAX_VALUES}"))
        candidates.extend(
            Candidate(raw_host=value, finding=ref, action=SEQUENCE_ACTION, kind=kind, indicator=key)
            for value in values[:MAX_VALUES]
            if value is not None and value != ""
        )
    return candidates, skipped


def _excess(ref: FindingRef, detail: str) -> Skip:
    return Skip("", SkipReason.UNSUPPORTED_EVENT, finding_id=ref.id, detail=detail)


def _field(holder: object, name: str) -> Any:
    """``holder[name]`` in the native spelling, else in ASFF's (``values``, then ``Values``)."""
    if not isinstance(holder, Mapping):
        return None
    if name in holder:
        return holder[name]
    return holder.get(name[:1].upper() + name[1:])
