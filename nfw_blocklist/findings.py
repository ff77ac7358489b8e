"""Synthetic GuardDuty findings built from the shipped samples (tests, benchmarks, demos)."""

import copy
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent / "samples"


@cache
def _sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


def sample(name: str) -> dict[str, Any]:
    """A fresh copy of ``nfw_blocklist/samples/<name>``."""
    return copy.deepcopy(_sample(name))


def native_finding(host: str, finding_id: str | None = None, seen_at: float | None = None) -> dict[str, Any]:
    """A native GuardDuty C&C finding event naming ``host`` (IPv4 or IPv6) as the remote host."""
    event = sample("guardduty-native-ipv4.json")
    finding_id = finding_id or uuid.uuid4().hex
    event["id"] = str(uuid.uuid4())
    detail = event["detail"]
    detail["id"] = finding_id
    detail["arn"] = detail["arn"].rsplit("/", 1)[0] + "/" + finding_id
    remote = detail["service"]["action"]["networkConnectionAction"]["remoteIpDetails"]
    remote.pop("ipAddressV4", None)
    remote.pop("ipAddressV6", None)
    remote["ipAddressV6" if ":" in host else "ipAddressV4"] = host
    if seen_at is not None:
        stamp = datetime.fromtimestamp(seen_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        detail["service"]["eventLastSeen"] = stamp
        detail["updatedAt"] = stamp
    return event


def port_probe_finding(hosts: Sequence[str], finding_id: str | None = None) -> dict[str, Any]:
    """A native GuardDuty port-probe finding event with one probe from each of ``hosts`` (IPv4 or IPv6).

    It keeps the shipped sample's shape: every probe is the sample's first one with its remote address
    replaced, as GuardDuty lists one ``portProbeDetails`` entry per probing host.
    """
    event = sample("guardduty-native-portprobe.json")
    finding_id = finding_id or uuid.uuid4().hex
    event["id"] = str(uuid.uuid4())
    detail = event["detail"]
    detail["id"] = finding_id
    detail["arn"] = detail["arn"].rsplit("/", 1)[0] + "/" + finding_id
    action = detail["service"]["action"]["portProbeAction"]
    template = action["portProbeDetails"][0]
    probes = []
    for host in hosts:
        probe = copy.deepcopy(template)
        remote = probe["remoteIpDetails"]
        remote.pop("ipAddressV4", None)
        remote.pop("ipAddressV6", None)
        remote["ipAddressV6" if ":" in host else "ipAddressV4"] = host
        probes.append(probe)
    action["portProbeDetails"] = probes
    detail["service"]["count"] = len(probes)
    return event


def documentation_hosts(count: int) -> list[str]:
    """``count`` distinct blockable IPv4 hosts from 198.18.0.0/15 (benchmarking range)."""
    if count > 131072:
        raise ValueError("at most 131072 hosts fit in 198.18.0.0/15")
    return [f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}" for n in range(1, count + 1)]


def provider_update(event: dict[str, Any], updated_at: str) -> dict[str, Any]:
    """``event`` (Security Hub) as GuardDuty's later update of the same finding would come: another
    event, delivered at ``updated_at``, whose finding's ``UpdatedAt`` is ``updated_at``."""
    updated = copy.deepcopy(event)
    updated["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event.get('id')}/{updated_at}"))
    updated["time"] = updated_at
    for finding in updated["detail"]["findings"]:
        finding["UpdatedAt"] = updated_at
    return updated


def dns_finding(domain: str, finding_id: str | None = None, seen_at: float | None = None) -> dict[str, Any]:
    """A native GuardDuty ``Backdoor:EC2/C&CActivity.B!DNS`` finding event naming ``domain``."""
    event = sample("guardduty-native-dns-c2.json")
    finding_id = finding_id or uuid.uuid4().hex
    event["id"] = str(uuid.uuid4())
    detail = event["detail"]
    detail["id"] = finding_id
    detail["arn"] = detail["arn"].rsplit("/", 1)[0] + "/" + finding_id
    request = detail["service"]["action"]["dnsRequestAction"]
    request["domain"] = request["domainWithSuffix"] = domain
    if seen_at is not None:
        stamp = datetime.fromtimestamp(seen_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        detail["service"]["eventLastSeen"] = stamp
        detail["updatedAt"] = stamp
    return event


def ip_and_domain_finding(
    host: str, domain: str, finding_id: str | None = None, seen_at: float | None = None
) -> dict[str, Any]:
    """A native GuardDuty finding event naming both a remote ``host`` and a looked-up ``domain``."""
    event = native_finding(host, finding_id, seen_at)
    request = sample("guardduty-native-dns-c2.json")["detail"]["service"]["action"]["dnsRequestAction"]
    request["domain"] = request["domainWithSuffix"] = domain
    event["detail"]["service"]["action"]["dnsRequestAction"] = request
    return event


def security_hub_finding(host: str, finding_id: str | None = None) -> dict[str, Any]:
    """The Security Hub reference finding event naming ``host`` as its remote host; ``finding_id`` replaces
    the GuardDuty finding id at the end of its ``Id`` (an ARN)."""
    event = sample("securityhub-guardduty-c2-finding.json")
    event["id"] = str(uuid.uuid4())
    finding = event["detail"]["findings"][0]
    if finding_id is not None:
        finding["Id"] = finding["Id"].rsplit("/", 1)[0] + "/" + finding_id
    finding["ProductFields"][
        "aws/guardduty/service/action/networkConnectionAction/remoteIpDetails/ipAddressV4"
    ] = host
    return event


def security_hub_ip_and_domain_finding(host: str, domain: str) -> dict[str, Any]:
    """The Security Hub reference finding event, naming ``domain`` beside its remote ``host``."""
    event = sample("securityhub-guardduty-c2-finding.json")
    fields = event["detail"]["findings"][0]["ProductFields"]
    fields["aws/guardduty/service/action/networkConnectionAction/remoteIpDetails/ipAddressV4"] = host
    fields["aws/guardduty/service/action/dnsRequestAction/domain"] = domain
    return event


def documentation_domains(count: int) -> list[str]:
    """``count`` distinct blockable domains under ``example`` (reserved for documentation, RFC 2606)."""
    return [f"c2-{index:05d}.blocklist.example" for index in range(count)]


def attack_sequence_findings(
    addresses: Sequence[str], domains: Sequence[str], endpoints: int = 400
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shipped attack sequence, native and as Security Hub CSPM imports it, naming ``addresses`` as
    ``MALICIOUS_IP`` and ``domains`` as ``MALICIOUS_DOMAIN`` values, with ``endpoints`` endpoints (the
    first template's, one per address and then made-up ones; the ASFF form keeps CSPM's first 10)."""
    native = sample("guardduty-native-attack-sequence.json")
    imported = sample("securityhub-guardduty-attack-sequence.json")
    sequence = native["detail"]["service"]["detection"]["sequence"]
    template = sequence["endpoints"][0]
    hosts = [*addresses, *documentation_hosts(max(0, endpoints - len(addresses)))][:endpoints]
    sequence["endpoints"] = [
        {**copy.deepcopy(template), "id": f"ep-{n}", "ip": host} for n, host in enumerate(hosts, 1)
    ]
    sequence["sequenceIndicators"] = [
        {"key": "MALICIOUS_IP", "values": list(addresses), "title": "Malicious IP address"},
        {"key": "MALICIOUS_DOMAIN", "values": list(domains), "title": "Malicious domain"},
    ]
    asff = imported["detail"]["findings"][0]["Detection"]["Sequence"]
    asff_template = asff["Endpoints"][0]
    asff["Endpoints"] = [
        {**copy.deepcopy(asff_template), "Id": e["id"], "Ip": e["ip"]} for e in sequence["endpoints"][:10]
    ]
    asff["SequenceIndicators"] = [
        {"Key": item["key"], "Values": item["values"], "Title": item["title"]}
        for item in sequence["sequenceIndicators"]
    ]
    return native, imported
