"""The record step parks a finding's host lists in batch items that DynamoDB accepts whatever the hosts'
length: split by size (400 KB an item), not only by count, and read back whole in as few items."""

import boto3
import pytest

from handlers import schema
from handlers.ledger import BATCH_PREFIX, Ledger, item_size
from tests.integration import stack

REGION = "us-east-1"
ITEM_LIMIT = 400_000
"""DynamoDB's 400 KB, read the conservative way (409,600 if KB is 1,024 bytes)."""


def _longest_domain(index: int) -> str:
    """A 253-character name (four labels of 63, 63, 63 and 57, and .com): DNS's longest."""
    first = f"h{index:04d}".ljust(63, "a")
    name = f"{first}.{'b' * 63}.{'c' * 63}.{'d' * 57}.com"
    assert len(name) == 253
    return name


def _parked_items() -> list[dict]:
    table = boto3.client("dynamodb", region_name=REGION)
    items = table.scan(TableName=stack.TABLE)["Items"]
    return [item for item in items if item[schema.HASH_KEY]["S"].startswith(BATCH_PREFIX)]


def test_a_thousand_of_the_longest_domains_park_in_items_dynamodb_accepts_and_read_back_whole(aws):
    stack.create_table()
    ledger = Ledger(stack.TABLE, region=REGION)
    domains = [_longest_domain(index) for index in range(1000)]

    items = ledger.put_batch("b1", domains, domains, [], stack.START)

    parked = ledger.read_batch("b1", items)
    assert (parked.new, parked.unconfirmed, parked.refreshed) == (domains, domains, [])
    sizes = [item_size(item) for item in _parked_items()]
    assert len(sizes) == items == 2, sizes  # ~508 KB of lists: two items, not one per host
    assert max(sizes) <= ITEM_LIMIT


@pytest.mark.parametrize(
    ("item", "size"),
    [
        # DynamoDB's sizing: attribute names and string values in UTF-8 bytes; a list 3 bytes and 1 per
        # element; a number 1 byte per two significant digits plus 1; a boolean 1 byte.
        ({"HostIp": {"S": "198.51.100.7"}}, 6 + 12),
        ({"k": {"S": "\u00e9"}}, 1 + 2),
        ({"New": {"L": [{"S": "ab"}, {"S": "c"}]}}, 3 + 3 + (1 + 2) + (1 + 1)),
        ({"PurgeAt": {"N": "1609812901"}}, 7 + 5 + 1),
        ({"Done": {"BOOL": True}}, 4 + 1),
    ],
)
def test_item_size_counts_as_dynamodb_counts(item, size):
    assert item_size(item) == size
