"""Mutation fuzz of extraction and the target policy (issue 9, item 6).

Each example takes a shipped sample event and replaces a few of its values (or adds keys) with
hostile ones: integers past float range, NaN and infinity spelled as strings, times past
datetime's range, deep nesting, wrong types, long strings, control characters and unicode, and
every spelling of an internal host we know. Whatever comes in, extraction and the policy must not
raise, and every host they accept must be canonical and blockable, with a severity and a time
that the ledger, the notification and the CLI can carry.

The budget is 300 events in ``make test`` (a few seconds); ``make soak`` runs the ``soak``
Hypothesis profile (``tests/conftest.py``), 30,000 events.

Every choice is drawn through Hypothesis, and every drawn value is a fresh object: a failing example
replays exactly (a mutation into a shared atom changed what later examples drew: FlakyStrategyDefinition).
What Hypothesis prints stays printable: an integer past ``str()``'s 4,300-digit limit is never in a
strategy's repr, and an event prints as its bounded list of mutations.
"""

import copy
import json
import math
import reprlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from handlers import clock
from handlers.addresses import normalize_host
from handlers.extraction import EARLIEST_TIME, LATEST_TIME, MAX_SEVERITY, extract
from handlers.model import Skip, Target
from handlers.policy import TargetPolicy
from handlers.settings import OPT_IN_ACTIONS, Settings

SAMPLES = Path(__file__).resolve().parents[2] / "nfw_blocklist" / "samples"
EVENTS = {path.name: json.loads(path.read_text()) for path in sorted(SAMPLES.glob("*.json"))}
FROZEN_NOW = 1_800_000_000.0

INTERNAL_SPELLINGS = [
    "10.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:0:a00:1",
    "64:ff9b::a00:1",
    "64:ff9b:1::a00:1",
    "2002:a00:1::1",
    "::10.0.0.1",
    "2001:0:a00:1::1",
    "2001:db8::5efe:a00:1",
    "169.254.169.254",
    "169.254.169.254/32",
    "::ffff:a9fe:a9fe/128",
    "fd00:ec2::254",
    "fec0::1",
    "fe80::1%eth0",
    "127.0.0.1",
    "::1",
    "::",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.251",
    "100.64.0.1",
    "192.168.0.1",
    "172.16.0.1",
]
"""Never to be accepted, however they arrive."""
INTERNAL_HOSTS = {normalize_host(host) for host in INTERNAL_SPELLINGS if "%" not in host}
HOSTILE_ATOMS: list[object] = [
    10**309,
    -(10**309),
    10**400,
    2**1024,
    10**4000,
    10**5000,  # past int-to-str conversion limit
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1e999",
    "1e308",
    "1e127",
    "-0",
    "0x10",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+01:00",
    "2100-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "2021-02-30T25:61:00Z",
    "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
    "arn:aws:securityhub:us-east-1::product/aws/guardduty",
    "x/aws/guardduty",
    "GuardDuty",
    "ARCHIVED",
    "ACTIVE",
    "true",
    "\x1b[2J\x1b]0;owned\x07",
    "line\nbreak",
    "\u202eevil",
    "\ud800",
    "",
    None,
    True,
    False,
    [],
    {},
    *INTERNAL_SPELLINGS,
    "198.51.100.7",
    "2001:db8::7",
]


def _walk(node: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], object]]:
    """Every (path, value) in a JSON document, the root included, to a bounded depth."""
    stack = [(path, node)]
    while stack:
        here, value = stack.pop()
        yield here, value
        if len(here) >= 12:
            continue
        if isinstance(value, dict):
            stack.extend(((*here, key), child) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend(((*here, index), child) for index, child in enumerate(value))


def _keys_of(events: dict[str, Any]) -> list[str]:
    return sorted(
        {p[-1] for event in events.values() for p, _ in _walk(event) if p and isinstance(p[-1], str)}
    )


KNOWN_KEYS = _keys_of(EVENTS)


def _nested(depth: int, as_dict: bool) -> object:
    value: object = "198.51.100.9"
    for _ in range(depth):
        value = {"x": value} if as_dict else [value]
    return value


# By index, copied: the strategy's repr names no atom (str() of 10**5000 raises), and a mutation into a
# drawn list or dict never changes the atom the next example draws.
atoms = st.integers(0, len(HOSTILE_ATOMS) - 1).map(lambda index: copy.deepcopy(HOSTILE_ATOMS[index]))
hostile_values = st.one_of(
    *[atoms] * 4,  # what broke things before: draw them about half the time
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.integers(1_000, 100_000).map(lambda n: "9" * n),
    st.builds(_nested, st.integers(50, 2_000), st.booleans()),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    ),
)


def _replace(document: object, path: tuple[Any, ...], value: object) -> object:
    if not path:
        return value
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


READ_KEYS = frozenset({
    "source", "detail-type", "detail", "findings", "Id", "ProductArn", "ProductName", "ProductFields",
    "Types", "Severity", "Product", "Normalized", "Label", "AwsAccountId", "Region", "LastObservedAt",
    "UpdatedAt", "RecordState", "Workflow", "Status", "WorkflowState", "account", "region", "time", "id",
    "type", "severity", "accountId", "updatedAt", "service", "action", "actionType", "archived",
    "eventLastSeen", "remoteIpDetails", "ipAddressV4", "ipAddressV6", "portProbeDetails",
    "networkConnectionAction", "portProbeAction", "awsApiCallAction", "kubernetesApiCallAction",
    "rdsLoginAttemptAction",
    # The new Security Hub's OCSF findings (docs/OCSF.md)
    "finding_info", "uid", "uid_alt", "types", "modified_time_dt", "last_seen_time_dt", "time_dt", "metadata",
    "product", "name", "cloud", "severity_id", "status_id", "status", "activity_name", "comment", "evidences",
    "src_endpoint", "dst_endpoint", "ip", "hostname", "domain", "query", "connection_info", "direction",
    "direction_id", "api",
})  # fmt: skip
"""The keys extraction reads: most mutations aim at them, so a small budget still finds things."""


def _read_by_extraction(path: tuple[Any, ...]) -> bool:
    last = path[-1] if path else None
    parent = path[-2] if len(path) > 1 else None
    return (
        last in READ_KEYS
        or (isinstance(last, str) and last.startswith("aws/"))
        or (isinstance(last, int) and parent in READ_KEYS)
    )


class _Bounded(reprlib.Repr):
    """``reprlib`` that never converts a huge integer to text (``repr(10**5000)`` raises ValueError)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<{'-' if x < 0 else ''}int of {x.bit_length()} bits>"
        return super().repr_int(x, level)


BOUNDED = _Bounded()
BOUNDED.maxstring = BOUNDED.maxother = 60


class MutatedEvent:
    """A sample event and the mutations made to it, printed (in a failing example) as the mutations."""

    def __init__(self, sample: str) -> None:
        self.sample = sample
        self.event: object = copy.deepcopy(EVENTS[sample])
        self.mutations: list[str] = []

    def mutate(self, path: tuple[Any, ...], target: object, value: object, key: str | None) -> None:
        if key is not None:
            assert isinstance(target, dict)
            target[key] = value
            path = (*path, key)
        else:
            self.event = _replace(self.event, path, value)
        self.mutations.append(f"{'/'.join(map(str, path))} = {BOUNDED.repr(value)}")

    def __repr__(self) -> str:
        return f"MutatedEvent({self.sample!r}, mutations={self.mutations!r})"


OCSF_SAMPLES = sorted(name for name in EVENTS if name.startswith("securityhub-v2-"))
"""The new Security Hub's samples: fuzzed on their own too, so the small budget reaches their shape."""


@st.composite
def mutated_events(draw: st.DrawFn, samples: list[str] | None = None) -> MutatedEvent:
    mutated = MutatedEvent(draw(st.sampled_from(samples or sorted(EVENTS))))
    # Replacing the whole event is test_extraction.py's table of malformed events. A place is drawn by
    # its index: over a few hundred places Hypothesis draws bounded integers about uniformly.
    for _ in range(draw(st.integers(1, 4))):
        places = [place for place in _walk(mutated.event) if place[0]]
        read = [place for place in places if _read_by_extraction(place[0])]
        among = read if read and draw(st.integers(0, 3)) > 0 else places  # read keys 3 times in 4
        path, target = among[draw(st.integers(0, len(among) - 1))]
        if isinstance(target, dict) and draw(st.booleans()):
            # Add (or overwrite) a key: a field the sample lacks, or a flattened key it never had.
            key = draw(
                st.sampled_from(KNOWN_KEYS)
                | st.from_regex(
                    r"aws/guardduty/service/action/portProbeAction/portProbeDetails\.[0-9]{1,7}_"
                    r"/remoteIpDetails/ipAddressV[46]",
                    fullmatch=True,
                )
            )
            mutated.mutate(path, target, draw(hostile_values), key)
        else:
            mutated.mutate(path, target, draw(hostile_values), None)
    return mutated


POLICY = TargetPolicy.from_settings(Settings("ledger", "arn", action_types=OPT_IN_ACTIONS))
FILTERING_POLICY = TargetPolicy.from_settings(
    Settings(
        "ledger",
        "arn",
        protected_cidrs=("203.0.113.0/24",),
        min_severity=7.0,
        finding_type_include=("Backdoor:", "Recon:"),
        finding_type_exclude=("Recon:EC2/PortProbeEMRUnprotectedPort",),
    )
)


@pytest.fixture(autouse=True, scope="module")
def _frozen_clock() -> Iterator[None]:
    clock.set_clock(lambda: FROZEN_NOW)
    yield
    clock.set_clock(None)


def _assert_carriable(target: Target) -> None:
    finding = target.finding
    assert math.isfinite(finding.severity) and 0 <= finding.severity <= MAX_SEVERITY, finding
    assert EARLIEST_TIME <= finding.last_seen < LATEST_TIME, finding
    # What the ledger and the notification do with them must work too.
    TypeSerializer().serialize(Decimal(str(round(finding.severity, 3))))
    datetime.fromtimestamp(finding.last_seen, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(isinstance(text, str) for text in (finding.id, finding.type, finding.account, finding.region))


def _assert_readable(skip: Skip) -> None:
    assert isinstance(skip.host, str) and len(skip.host) <= 64 and skip.host.isprintable(), skip.host
    assert isinstance(skip.detail, str) and isinstance(skip.finding_id, str)


@settings(
    # An example costs milliseconds: 300 of them are about three seconds of `make test`, where the
    # default profile would stop at 100; the soak profile's budget is larger still.
    max_examples=max(300, settings.default.max_examples),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(mutated_events())
def test_mutated_samples_never_raise_and_yield_only_canonical_blockable_bounded_hosts(
    mutated: MutatedEvent,
) -> None:
    _check_extraction_and_policy(mutated)


@settings(
    # 100 OCSF events in `make test` (well under a second); the soak profile's 30,000 under `make soak`.
    max_examples=max(100, settings.default.max_examples),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(mutated_events(OCSF_SAMPLES))
def test_mutated_ocsf_samples_never_raise_and_yield_only_canonical_blockable_bounded_hosts(
    mutated: MutatedEvent,
) -> None:
    _check_extraction_and_policy(mutated)


def test_the_ocsf_fuzz_starts_from_the_three_new_samples() -> None:
    assert OCSF_SAMPLES == [
        "securityhub-v2-guardduty-c2-finding.json",
        "securityhub-v2-guardduty-dns-c2.json",
        "securityhub-v2-guardduty-portprobe.json",
    ]


def _check_extraction_and_policy(mutated: MutatedEvent) -> None:
    extraction = extract(mutated.event)  # type: ignore[arg-type]
    for skip in extraction.skipped:
        _assert_readable(skip)
    for policy in (POLICY, FILTERING_POLICY):
        targets, skipped = policy.evaluate_all(extraction.candidates)

        for target in targets:
            assert target.host not in INTERNAL_HOSTS
            assert policy.may_rule(target.host), target.host
            assert policy.protected.protects(target.host) is None, target.host
            _assert_carriable(target)
        for skip in skipped:
            _assert_readable(skip)


def test_a_drawn_hostile_value_is_never_a_shared_atom_a_mutation_could_change() -> None:
    def shared(value: object) -> bool:
        return any(value is atom for atom in HOSTILE_ATOMS if isinstance(atom, list | dict))

    with pytest.raises(NoSuchExample):
        find(hostile_values, shared, settings=settings(max_examples=3000, derandomize=True, database=None))


def test_the_strategies_and_a_mutated_event_print_without_converting_a_huge_integer() -> None:
    mutated = MutatedEvent("guardduty-native-ipv4.json")
    mutated.mutate(("detail", "severity"), None, 10**5000, None)

    assert len(repr(hostile_values)) < 5_000  # 10**4000 alone would print as 4,001 digits
    assert repr(mutated) == (
        "MutatedEvent('guardduty-native-ipv4.json', mutations=['detail/severity = <int of 16610 bits>'])"
    )
