"""The record step parks a finding's host lists in batch items that DynamoDB accepts whatever the hosts'
length: split by size (400 KB an item), not only by count, and read back whole in as few items."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

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


class RecordsPuts:
    """A DynamoDB client that keeps every item it puts (to size them without reading them back)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.items: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def put_item(self, **request: Any) -> Any:
        self.items.append(request["Item"])
        return self.client.put_item(**request)


def test_a_thousand_of_the_longest_domains_park_in_items_dynamodb_accepts_and_read_back_whole(aws):
    stack.create_table()
    client = RecordsPuts(boto3.client("dynamodb", region_name=REGION))
    ledger = Ledger(stack.TABLE, client=client, region=REGION)
    domains = [_longest_domain(index) for index in range(1000)]

    items = ledger.put_batch("b1", domains, domains, [], stack.START)

    parked = ledger.read_batch("b1", items)
    assert (parked.new, parked.unconfirmed, parked.refreshed) == (domains, domains, [])
    assert all(item[schema.HASH_KEY]["S"].startswith(BATCH_PREFIX) for item in client.items)
    sizes = [item_size(item) for item in client.items]
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


class AtomicItemSize:
    """moto's DynamoDB client, refusing an UpdateItem of a finding's held hosts whose item would pass
    400 KB *before* applying it, as DynamoDB does: moto applies the update, then refuses it, and leaves
    the item changed (so every later update of it is refused too)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def update_item(self, **request: Any) -> Any:
        added = request.get("ExpressionAttributeValues", {}).get(":hosts")
        if added is not None:
            item = self.client.get_item(TableName=request["TableName"], Key=request["Key"]).get("Item", {})
            held = set(item.get("Hosts", {}).get("SS", [])) | set(added["SS"])
            if item_size({**item, "Hosts": {"SS": sorted(held)}}) > 409_600:
                raise ClientError(
                    {"Error": {"Code": "ValidationException", "Message": ITEM_TOO_LARGE}}, "UpdateItem"
                )
        return self.client.update_item(**request)


ITEM_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"


def test_a_finding_whose_held_domains_would_pass_400_kb_keeps_those_it_lists_and_is_marked_incomplete(aws):
    # Each event names at most ~1,000 long domains (~254 KB); a finding re-sighted with 1,000 others would
    # make its holds item ~508 KB, which DynamoDB refuses: like a finding past HOLD_HOSTS_MAX hosts, it
    # keeps what it lists and the rest expire instead of being released with it.
    stack.create_table()
    client = AtomicItemSize(boto3.client("dynamodb", region_name=REGION))
    ledger = Ledger(stack.TABLE, client=client, region=REGION)
    first, second = ([_longest_domain(index) for index in range(start, start + 1000)] for start in (0, 1000))
    ledger.hold("finding-1", first, stack.START, stack.START + 86400)

    holds = ledger.hold("finding-1", second, stack.START, stack.START + 86400)

    assert (holds.hosts, holds.complete) == (frozenset(first), False)
