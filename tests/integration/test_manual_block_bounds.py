"""A manual block's TTL is bounded before anything is written: the service, not only the CLI,
refuses one past ``MAX_TTL_SECONDS`` (issue 9, item 12)."""

import math

import pytest

from handlers.errors import InvalidInput
from handlers.policy import MAX_TTL_SECONDS
from tests.integration import stack


@pytest.fixture
def group(aws: object) -> str:
    stack.create_table()
    return stack.create_rule_group()


@pytest.mark.parametrize(
    "ttl", [MAX_TTL_SECONDS + 1, 3_000_000 * 86400, math.inf, math.nan, 0, -60], ids=repr
)
def test_a_manual_block_with_a_ttl_outside_one_second_to_a_year_is_refused_and_changes_nothing(
    group: str, ttl: float
) -> None:
    service = stack.service(group)

    with pytest.raises(InvalidInput, match="ttl"):
        service.manual_block("203.0.113.50", reason="incident 42", ttl_seconds=ttl)

    assert service.list_hosts() == []
    assert stack.rules_of(group) == [stack.FOREIGN_RULE]


def test_a_manual_block_of_exactly_a_year_is_accepted(group: str) -> None:
    service = stack.service(group)

    outcome = service.manual_block("203.0.113.50", reason="incident 42", ttl_seconds=MAX_TTL_SECONDS)

    assert outcome["host"] == "203.0.113.50/32"
    assert stack.blocked_in_group(group) == {"203.0.113.50/32"}
