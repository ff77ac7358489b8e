"""Mutation fuzz of the attack-sequence samples (issue 20), as test_extraction_fuzz.py fuzzes the others.

Each example takes the native or the ASFF attack sequence and changes a few values under its sequence (or
anywhere, one time in four) to hostile ones, or adds an indicator of a drawn key with drawn values (every
spelling of an internal host among them). Whatever comes in, extraction and the policy must not raise;
every target must be canonical, outside the never-block lists and carriable; every sequence target must
come from an indicator's values under a key the policy counts, never from an endpoint.

The budget is 150 events in ``make test`` (a second or two); ``make soak`` runs the ``soak`` Hypothesis
profile (``tests/conftest.py``), 30,000 events.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import clock
from handlers.extraction import extract
from handlers.model import Skip, Target
from handlers.policy import TargetPolicy
from handlers.sequences import BLOCKABLE_INDICATORS, UNBLOCKABLE_INDICATORS
from handlers.settings import DomainBlocking, Settings
from tests.unit.test_extraction_fuzz import (
    FROZEN_NOW,
    INTERNAL_HOSTS,
    INTERNAL_SPELLINGS,
    MutatedEvent,
    _assert_carriable,
    _assert_readable,
    _walk,
    hostile_values,
)

SEQUENCE_SAMPLES = ("guardduty-native-attack-sequence.json", "securityhub-guardduty-attack-sequence.json")
SEQUENCE_KEYS = frozenset({
    "detection", "Detection", "sequence", "Sequence", "sequenceIndicators", "SequenceIndicators",
    "key", "Key", "values", "Values", "endpoints", "Endpoints", "ip", "Ip", "domain", "Domain",
    "title", "Title", "description", "uid", "Uid", "ProductArn", "RecordState", "Severity", "severity",
    "type", "Types",
})  # fmt: skip
INDICATOR_KEYS = [*BLOCKABLE_INDICATORS, *UNBLOCKABLE_INDICATORS, "ATTACK_TACTIC", "malicious_ip", ""]
indicator_values = st.one_of(
    st.sampled_from([*INTERNAL_SPELLINGS, "198.51.100.7", "2001:db8::7", "evil.example", "s3.amazonaws.com"]),
    hostile_values,
)

POLICIES = (
    TargetPolicy.from_settings(Settings("ledger", "arn", domain_blocking=DomainBlocking.BOTH)),
    TargetPolicy.from_settings(
        Settings(
            "ledger",
            "arn",
            protected_cidrs=("203.0.113.0/24",),
            protected_domains=("malicious.example",),
            domain_blocking=DomainBlocking.NETWORK_FIREWALL,
            sequence_indicators=("TOR_IP", "CRYPTOMINING_DOMAIN"),
        )
    ),
    TargetPolicy.from_settings(Settings("ledger", "arn", sequence_indicators=())),
)


@pytest.fixture(autouse=True, scope="module")
def _frozen_clock() -> Iterator[None]:
    clock.set_clock(lambda: FROZEN_NOW)
    yield
    clock.set_clock(None)


def _under_sequence(path: tuple[Any, ...]) -> bool:
    return any(step in SEQUENCE_KEYS for step in path)


def _indicator_lists(event: object) -> list[object]:
    """Every list that stands as an indicator's values (native or ASFF spelling) anywhere in ``event``."""
    return [value for path, value in _walk(event) if path and path[-1] in ("values", "Values")]


@st.composite
def mutated_sequences(draw: st.DrawFn) -> MutatedEvent:
    mutated = MutatedEvent(draw(st.sampled_from(SEQUENCE_SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        places = [place for place in _walk(mutated.event) if place[0]]
        aimed = [place for place in places if _under_sequence(place[0])]
        among = aimed if aimed and draw(st.integers(0, 3)) > 0 else places
        path, target = among[draw(st.integers(0, len(among) - 1))]
        if isinstance(target, list) and path[-1] in ("sequenceIndicators", "SequenceIndicators"):
            native = path[-1] == "sequenceIndicators"
            indicator = {
                "key" if native else "Key": draw(st.sampled_from(INDICATOR_KEYS)),
                "values" if native else "Values": draw(st.lists(indicator_values, max_size=5)),
            }
            mutated.mutate(path, None, [*target, indicator], None)
        elif isinstance(target, dict) and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(SEQUENCE_KEYS)))
            mutated.mutate(path, target, draw(hostile_values), key)
        else:
            mutated.mutate(path, target, draw(hostile_values), None)
    return mutated


@settings(
    max_examples=max(150, settings.default.max_examples),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(mutated_sequences())
def test_mutated_attack_sequences_never_raise_and_block_only_counted_indicator_values(
    mutated: MutatedEvent,
) -> None:
    extraction = extract(mutated.event)  # type: ignore[arg-type]
    for skip in extraction.skipped:
        _assert_readable(skip)
    values = _indicator_lists(mutated.event)
    for candidate in extraction.candidates:
        if candidate.indicator:
            # From an indicator's values, never from an endpoint or anywhere else.
            assert any(isinstance(v, list) and any(x is candidate.raw_host for x in v) for v in values)
    for policy in POLICIES:
        for candidate in extraction.candidates:
            outcome = policy.evaluate(candidate)
            if isinstance(outcome, Skip):
                _assert_readable(outcome)
                continue
            assert isinstance(outcome, Target)
            assert outcome.host not in INTERNAL_HOSTS
            if candidate.indicator:
                assert candidate.indicator in policy.sequence_indicators
            if outcome.kind.value == "address":
                assert policy.may_rule(outcome.host), outcome.host
            else:
                assert policy.may_block_domain(outcome.host), outcome.host
            _assert_carriable(outcome)
