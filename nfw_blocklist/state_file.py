"""``--state FILE``: the sandbox's ledger, rule groups and clock, saved after a command and restored
before the next one, so that a sequence of sandbox commands means something without AWS."""

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from handlers.extraction import EARLIEST_TIME, LATEST_TIME

from .arguments import load_json
from .console import UsageError, aws_error
from .reports import group_view, sandbox_service

STATE_VERSION: Final = 1


def read_state(path: str | None) -> dict[str, Any] | None:
    """A missing file is a fresh start; a file that is not ours is refused before anything runs.

    So is a file that could not be saved afterwards: the command would have done its work (and
    printed it) first.
    """
    if not path:
        return None
    folder = Path(path).absolute().parent
    if not folder.is_dir():
        raise UsageError(f"{path}: no such directory {folder}")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{path}: not writable")
    if not Path(path).exists():
        return None
    state = load_json(path)
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise UsageError(f"{path}: not a sandbox state file (version {STATE_VERSION})")
    clock = state.get("clock")
    if isinstance(clock, bool) or not isinstance(clock, int | float) or not math.isfinite(clock):
        raise UsageError(f"{path}: clock is not a number of epoch seconds")
    if not EARLIEST_TIME <= clock < LATEST_TIME:
        raise UsageError(f"{path}: clock {clock} is not between 1970 and 2100")
    ledger = state.get("ledger")
    if not isinstance(ledger, list) or not all(_is_dynamodb_item(item) for item in ledger):
        raise UsageError(f"{path}: ledger is not a list of DynamoDB items")
    if not isinstance(state.get("rules_source"), dict):
        raise UsageError(f"{path}: rules_source is not a RulesSource object")
    if not isinstance(state.get("domain_rules_source", {}), dict):
        raise UsageError(f"{path}: domain_rules_source is not a RulesSource object")
    return state


def _is_dynamodb_item(item: object) -> bool:
    return isinstance(item, dict) and all(
        isinstance(name, str) and isinstance(value, dict) and len(value) == 1 for name, value in item.items()
    )


def restore_state(sandbox: Any, state: Mapping[str, Any], path: str) -> None:
    """Put back the ledger items verbatim and the rule group's rules (through the API, with its token).

    What the services refuse, or what the use cases cannot read back, is a bad state file (exit 2):
    the sandbox is thrown away and the file left as it was.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from handlers.errors import BlocklistError
    from handlers.service import record_view

    _classic_only(sandbox)
    dynamodb = sandbox.client("dynamodb")
    for index, item in enumerate(state["ledger"]):
        try:
            dynamodb.put_item(TableName=sandbox.table_name, Item=item)
        except (ClientError, BotoCoreError) as e:
            raise UsageError(f"{path}: ledger item {index} refused: {aws_error(e)}") from None
    firewall = sandbox.client("network-firewall")
    current = firewall.describe_rule_group(RuleGroupArn=sandbox.rule_group_arn)
    rule_group = dict(current["RuleGroup"])
    rule_group["RulesSource"] = state["rules_source"]
    try:
        firewall.update_rule_group(
            RuleGroupArn=sandbox.rule_group_arn, UpdateToken=current["UpdateToken"], RuleGroup=rule_group
        )
    except (ClientError, BotoCoreError) as e:
        raise UsageError(f"{path}: rules_source refused by the rule group: {aws_error(e)}") from None
    if state.get("domain_rules_source") and domain_group_arn(sandbox):
        current = firewall.describe_rule_group(RuleGroupArn=domain_group_arn(sandbox), Type="STATEFUL")
        domain_group = {**current["RuleGroup"], "RulesSource": state["domain_rules_source"]}
        try:
            firewall.update_rule_group(
                RuleGroupArn=domain_group_arn(sandbox),
                Type="STATEFUL",
                UpdateToken=current["UpdateToken"],
                RuleGroup=domain_group,
            )
        except (ClientError, BotoCoreError) as e:
            raise UsageError(
                f"{path}: domain_rules_source refused by the domain group: {aws_error(e)}"
            ) from None
    service = sandbox_service(sandbox)
    try:
        for record in service.list_hosts():
            record_view(record)
    except (BlocklistError, ArithmeticError, LookupError, TypeError, ValueError) as e:
        raise UsageError(f"{path}: ledger holds an item that cannot be read back: {e}") from None
    try:
        group_view(service)
    except (BlocklistError, ArithmeticError, LookupError, TypeError, ValueError) as e:
        raise UsageError(f"{path}: rules_source cannot be read back: {e}") from None


def domain_group_arn(sandbox: Any) -> str:
    """The sandbox's stateful domain-list group, or "" for a stack without one."""
    return next((arn for arn in sandbox.inventory.rule_groups if ":stateful-rulegroup/" in arn), "")


def _classic_only(sandbox: Any) -> None:
    """A state file holds a Classic stack's rules; a Next Generation stack's hosts live in a FIREWALL
    group's variable, which this format does not carry yet: refused plainly, never half-restored."""
    if ":firewall-rulegroup/" in sandbox.rule_group_arn:
        raise UsageError(
            "--state supports Classic stacks only (firewallPolicyType classic), not next-generation"
        )


def write_state(path: str, sandbox: Any) -> None:
    _classic_only(sandbox)
    items = []
    for page in sandbox.client("dynamodb").get_paginator("scan").paginate(TableName=sandbox.table_name):
        items.extend(page["Items"])
    state = {
        "version": STATE_VERSION,
        "clock": sandbox.clock.now(),
        "ledger": items,
        "rules_source": sandbox.describe_rule_group()["RuleGroup"]["RulesSource"],
    }
    if domain_group_arn(sandbox):
        domain_group = sandbox.client("network-firewall").describe_rule_group(
            RuleGroupArn=domain_group_arn(sandbox), Type="STATEFUL"
        )
        state["domain_rules_source"] = domain_group["RuleGroup"]["RulesSource"]
    Path(path).write_text(json.dumps(state, indent=1), encoding="utf-8")
