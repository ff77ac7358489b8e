"""An attack sequence at GuardDuty's bounds (400 endpoints, 400 addresses, 400 domains: 800 targets of one
finding, in an event of ~130 KB) within every limit (issue 20), proven where each payload is computed.

The event is the sample builder's; the record and block steps' results come from their payload builders
(``RecordOutcome``, ``BlockOutcome``) fed with what the real extraction and target policy make of the event,
every target new and unconfirmed (the most either list can hold); each workflow state after the record step
is composed as the response definition's ``ResultSelector``/``ResultPath`` compose it; the rules, the domain
list, the parked batch and the Security Hub note are written to moto and the emulators. Through the sandbox
the same run took 80-100 s, nearly all of it moto's DynamoDB recording and confirming 800 ledger items one
by one, which no limit depends on (tests/e2e/test_bounded_payloads.py drives a 600-host finding through the
deployed workflows; tests/e2e/test_attack_sequences.py the shipped samples).
"""

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest

from components.aws_limits import EVENT_ENTRY_BYTES, SNS_MESSAGE_BYTES, STATE_PAYLOAD_BYTES, event_entry_size
from components.definitions import response_definition
from handlers.domain_writer import DomainTarget
from handlers.enforcement import Clients, domain_points
from handlers.extraction import extract
from handlers.firewall import RuleGroupClient
from handlers.ledger import Ledger
from handlers.model import Target, TargetKind
from handlers.payloads import SAMPLE_SIZE, BlockOutcome, GroupUsage, KindOutcome, RecordOutcome
from handlers.policy import TargetPolicy
from handlers.securityhub import NOTE_TEXT_MAX, FindingAnnotator, annotate_execution
from handlers.service import MAX_BATCH_ITEMS, BlocklistService, iso
from handlers.settings import DomainBlocking, Settings
from handlers.writer import HostTarget, StatelessRules
from nfw_blocklist.emulator import securityhub as emulated
from nfw_blocklist.findings import attack_sequence_findings, documentation_domains, documentation_hosts
from tests.integration import stack

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP_ARN = f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:stateless-rulegroup/{stack.GROUP}"
DOMAIN_GROUP_ARN = f"arn:aws:network-firewall:{REGION}:{ACCOUNT}:stateful-rulegroup/{stack.DOMAIN_GROUP}"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nfw-blocklist-"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:nfw-blocklist-notifications"
NOW = stack.START
STATE_BUDGET = 20_000
"""Bytes any state after the record step may hold: a fixed budget, far under Step Functions' 256 KiB and far
under the event, so a state that carried the event or grew with the targets is caught at 800 of them."""
MESSAGE_BUDGET = 10_000
"""Bytes of the success publish's message (SNS takes 256 KB): a sample of 20 per list, not 800 targets."""


@dataclass(frozen=True)
class Recorded:
    """One shape of the sequence at GuardDuty's bounds, and the targets the record step makes of it."""

    event: dict[str, Any]
    targets: list[Target]
    record: dict[str, Any]
    """RecordHosts' result: every target new and unconfirmed, its lists parked under a batch key."""

    def of(self, kind: TargetKind) -> list[str]:
        return sorted(target.host for target in self.targets if target.kind is kind)


def settings(**overrides: Any) -> Settings:
    """The stack's handler settings, blocking domains in a stateful domain list."""
    blocking = stack.settings(
        GROUP_ARN, domain_blocking=DomainBlocking.NETWORK_FIREWALL, domain_rule_group_arn=DOMAIN_GROUP_ARN
    )
    return replace(blocking, **overrides)


def recorded(event: dict[str, Any]) -> Recorded:
    """What the record step makes of ``event`` (``BlocklistService.record`` without the ledger's answers:
    every target new and unconfirmed)."""
    configured = settings()
    extraction = extract(event)
    targets, skipped = TargetPolicy.from_settings(configured).evaluate_all(extraction.candidates)
    hosts = sorted(target.host for target in targets)
    service = BlocklistService.create(configured, region=REGION)
    outcome = RecordOutcome(
        event_id=event["id"],
        finding=targets[0].finding,
        new=hosts,
        unconfirmed=hosts,
        skipped=[*extraction.skipped, *skipped],
        batch=uuid.uuid4().hex,
        batch_items=MAX_BATCH_ITEMS,
        security_hub=list(dict.fromkeys(target.finding for target in targets if target.finding.product_arn)),
        expires_at=NOW + configured.retention_seconds,
        places={str(kind): service.where(kind) for kind in {target.kind for target in targets}},
    )
    return Recorded(event, targets, outcome.to_payload())


def blocked(sequence: Recorded) -> dict[str, Any]:
    """BlockHosts' result with every target of ``sequence`` blocked (``BlocklistService.block``)."""
    service = BlocklistService.create(settings(), region=REGION)
    addresses = sequence.of(TargetKind.ADDRESS)
    kinds = [
        KindOutcome(
            TargetKind.ADDRESS,
            service.where(TargetKind.ADDRESS),
            blocked=addresses,
            usage=GroupUsage(used=2 * len(addresses) + 1, total=2000, hosts=len(addresses)),
        ),
        KindOutcome(
            TargetKind.DOMAIN, service.where(TargetKind.DOMAIN), blocked=sequence.of(TargetKind.DOMAIN)
        ),
    ]
    record = sequence.record
    return BlockOutcome(
        record["finding"], iso(NOW), kinds=kinds, expires_at=record["expires_at"]
    ).to_payload()


def after(state: Mapping[str, Any], task: Mapping[str, Any], result: Any) -> dict[str, Any]:
    """The state once ``task`` returned ``result``, placed as Step Functions places it: its ``ResultSelector``
    (only ``{"key.$": "$"}`` forms) then its ``ResultPath`` (``$`` or ``$.key``)."""
    selector = task.get("ResultSelector")
    if selector is not None:
        assert set(selector.values()) == {"$"} and all(key.endswith(".$") for key in selector), selector
        result = {key.removesuffix(".$"): result for key in selector}
    path = task["ResultPath"]
    if path == "$":
        return dict(result)
    assert path.startswith("$.") and "." not in path[2:], path
    return {**state, path[2:]: result}


def size(value: Any) -> int:
    """Bytes of ``value`` as Step Functions and ``States.JsonToString`` write it (compact JSON, UTF-8)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


@pytest.fixture(scope="module")
def events() -> tuple[dict[str, Any], dict[str, Any]]:
    """The shipped sequence at GuardDuty's bounds: native (400 endpoints) and as CSPM imports it (10)."""
    return attack_sequence_findings(documentation_hosts(400), documentation_domains(400), endpoints=400)


@pytest.fixture(scope="module")
def native(events: tuple[dict[str, Any], dict[str, Any]]) -> Recorded:
    return recorded(events[0])


@pytest.fixture(scope="module")
def imported(events: tuple[dict[str, Any], dict[str, Any]]) -> Recorded:
    return recorded(events[1])


DEFINITION = response_definition(
    f"{FUNCTION}record", f"{FUNCTION}block", TOPIC, annotate_arn=f"{FUNCTION}annotate", stack="dev"
)
STATES: dict[str, Any] = DEFINITION["States"]


def test_a_sequence_at_guardduty_s_bounds_is_one_eventbridge_entry_and_one_execution_input(
    events: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    native_event, _ = events

    assert 100_000 < event_entry_size(native_event) <= EVENT_ENTRY_BYTES
    assert size(native_event) <= STATE_PAYLOAD_BYTES  # RecordHosts' input: the execution's


@pytest.mark.parametrize("shape", ["native", "imported"])
def test_no_state_after_the_record_step_carries_the_event_or_grows_with_800_targets(
    shape: str, request: pytest.FixtureRequest
) -> None:
    sequence: Recorded = request.getfixturevalue(shape)
    assert (len(sequence.of(TargetKind.ADDRESS)), len(sequence.of(TargetKind.DOMAIN))) == (400, 400)

    recorded_state = after(sequence.event, STATES["RecordHosts"], sequence.record)
    blocked_state = after(recorded_state, STATES["BlockHosts"], blocked(sequence))

    record = recorded_state["record"]
    assert record["has_hosts"] is True  # AnythingToBlock goes on to BlockHosts
    assert record["counts"]["new"] == 800 and len(record["new"]) == SAMPLE_SIZE
    assert blocked_state["block"]["notify"] is True  # AnyNewlyBlocked goes on to NotifySuccess
    # Every state from AnythingToBlock on holds one of these two (BlockHosts' input is the record alone).
    sizes = [size(recorded_state), size(blocked_state)]
    assert max(sizes) < STATE_BUDGET < STATE_PAYLOAD_BYTES, sizes


def test_the_success_message_of_800_targets_names_a_sample_and_the_counts_within_sns_s_limit(
    native: Recorded,
) -> None:
    block = blocked(native)

    notification = block["notification"]
    assert (notification["HostCount"], notification["DomainCount"]) == (400, 400)
    assert len(notification["Hosts"]) == len(notification["Domains"]) == SAMPLE_SIZE
    # NotifySuccess publishes States.JsonToString of the step's message (``default`` and ``email``).
    assert STATES["NotifySuccess"]["Parameters"]["Message.$"] == "States.JsonToString($.block.message)"
    assert size(block["message"]) < MESSAGE_BUDGET < SNS_MESSAGE_BYTES
    assert len(block["message"]["email"].encode()) < 4_000


def write(target: HostTarget, hosts: list[str]) -> None:
    """What a writer's sync does to ``target`` once it holds the lease: read, render ``hosts``, write."""
    view = target.read(None)
    assert view.fits >= len(hosts), f"{target.place} fits {view.fits} hosts"
    target.write(view, target.render(view, set(hosts), full=False))


def test_the_400_addresses_go_into_one_source_and_one_destination_rule_of_the_default_group(
    aws: object, native: Recorded
) -> None:
    group = stack.create_rule_group()  # the default capacity, 2,000, beside a foreign rule
    addresses = native.of(TargetKind.ADDRESS)

    write(StatelessRules(RuleGroupClient(group, region=REGION), settings(rule_group_arn=group)), addresses)

    source, destination = (rule["RuleDefinition"]["MatchAttributes"] for rule in stack.rules_of(group)[1:])
    assert sorted(entry["AddressDefinition"] for entry in source["Sources"]) == addresses
    assert sorted(entry["AddressDefinition"] for entry in destination["Destinations"]) == addresses


def test_the_400_domains_go_into_the_default_domain_list(aws: object, native: Recorded) -> None:
    domain_group = stack.create_domain_group()
    domains = native.of(TargetKind.DOMAIN)
    configured = settings(domain_rule_group_arn=domain_group)

    write(DomainTarget(domain_points(configured, Clients(region=REGION))), domains)

    assert stack.domains_in_group(domain_group) == set(domains)


def test_the_800_targets_park_in_few_enough_ledger_items_for_the_block_step_to_read_back(
    aws: object, native: Recorded
) -> None:
    stack.create_table()
    ledger = Ledger(stack.TABLE, region=REGION)
    hosts = sorted(target.host for target in native.targets)

    items = ledger.put_batch(native.record["batch"], hosts, hosts, [], NOW)

    assert 1 <= items <= MAX_BATCH_ITEMS
    parked = ledger.read_batch(native.record["batch"], items)
    assert (parked.new, parked.unconfirmed, parked.refreshed) == (hosts, hosts, [])


def test_the_security_hub_note_of_800_targets_fits_512_characters_and_its_state_the_budget(
    aws: object, imported: Recorded
) -> None:
    [finding] = imported.event["detail"]["findings"]
    emulated.import_findings(emulated.securityhub_backends[ACCOUNT][REGION], [finding])
    block = blocked(imported)
    state = after(after(imported.event, STATES["RecordHosts"], imported.record), STATES["BlockHosts"], block)
    assert state["record"]["annotate"] is True  # ShouldAnnotate goes on to AnnotateFinding

    annotation = annotate_execution(state, settings(), FindingAnnotator(region=REGION))

    assert annotation["status"] == "annotated", annotation
    [stored] = boto3.client("securityhub", region_name=REGION).get_findings()["Findings"]
    assert stored["Note"]["Text"] == annotation["note"]
    assert len(annotation["note"]) <= NOTE_TEXT_MAX
    assert "400 hosts" in annotation["note"] and "400 domains" in annotation["note"]
    assert size(after(state, STATES["AnnotateFinding"], annotation)) < STATE_BUDGET
