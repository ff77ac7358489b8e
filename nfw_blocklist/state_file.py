"""``--state FILE``: the sandbox's ledger, rule groups and clock, saved after a command and restored
before the next one, so that a sequence of sandbox commands means something without AWS. Classic and
Next Generation stacks alike: the file names its stack's policy type, and a stack of the other type
refuses it."""

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
CLASSIC: Final = "classic"
"""The policy type of a state file that names none (saved before Next Generation stacks had one)."""
POLICY_TYPES: Final = (CLASSIC, "next-generation")


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
    if not isinstance(state.get("rule_variables", {}), dict):
        raise UsageError(f"{path}: rule_variables is not a RuleVariables object")
    if state.get("firewall_policy_type", CLASSIC) not in POLICY_TYPES:
        raise UsageError(f"{path}: firewall_policy_type is not one of {', '.join(POLICY_TYPES)}")
    return state


def _is_dynamodb_item(item: object) -> bool:
    return isinstance(item, dict) and all(
        isinstance(name, str) and isinstance(value, dict) and len(value) == 1 for name, value in item.items()
    )


def restore_state(sandbox: Any, state: Mapping[str, Any], path: str) -> None:
    """Put back the ledger items verbatim and the rule groups' content (through the API, with its token):
    the IP group's rules (and, Next Generation, its rule variables: the blocked hosts), the domain group's.

    What the services refuse, or what the use cases cannot read back, is a bad state file (exit 2):
    the sandbox is thrown away and the file left as it was. So is a file saved from a stack of the other
    policy type: its rules do not fit this stack's groups.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from handlers.errors import BlocklistError
    from handlers.service import record_view

    policy_type = _policy_type(sandbox)
    saved_type = state.get("firewall_policy_type", CLASSIC)
    if saved_type != policy_type:
        raise UsageError(
            f"{path}: saved from a {saved_type} stack; this stack's firewallPolicyType is {policy_type}"
        )
    dynamodb = sandbox.client("dynamodb")
    for index, item in enumerate(state["ledger"]):
        try:
            dynamodb.put_item(TableName=sandbox.table_name, Item=item)
        except (ClientError, BotoCoreError) as e:
            raise UsageError(f"{path}: ledger item {index} refused: {aws_error(e)}") from None
    saved = {"RulesSource": state["rules_source"]}
    if "rule_variables" in state:
        saved["RuleVariables"] = state["rule_variables"]
    try:
        _replace_content(sandbox, sandbox.rule_group_arn, saved)
    except (ClientError, BotoCoreError) as e:
        raise UsageError(f"{path}: rules_source refused by the rule group: {aws_error(e)}") from None
    domain_group = domain_group_arn(sandbox)
    if state.get("domain_rules_source") and domain_group:
        try:
            _replace_content(sandbox, domain_group, {"RulesSource": state["domain_rules_source"]})
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
    """The sandbox's domain-list group (stateful, or a FIREWALL group on a Next Generation stack), or ""
    for a stack without one."""
    try:
        arn: str = sandbox.domain_rule_group_arn
    except LookupError:
        return ""
    return arn


def _policy_type(sandbox: Any) -> str:
    from handlers.settings import Settings

    return str(Settings.from_env(sandbox.function_environment("block")).firewall_policy_type)


def _group_type(arn: str) -> str:
    """A rule group's Type, from its ARN (``...:stateless-rulegroup/``, ``stateful-``, ``firewall-``)."""
    return arn.rsplit(":", 1)[-1].split("-rulegroup/", 1)[0].upper()


def _content(sandbox: Any, arn: str) -> tuple[dict[str, Any], str]:
    """A group's content (``RuleGroup``, or ``FirewallRuleGroup`` for a FIREWALL group) and its token."""
    from handlers.firewall import CONTENT_MEMBER

    kind = _group_type(arn)
    answer = sandbox.client("network-firewall").describe_rule_group(RuleGroupArn=arn, Type=kind)
    return dict(answer[CONTENT_MEMBER[kind]]), str(answer["UpdateToken"])


def _replace_content(sandbox: Any, arn: str, saved: Mapping[str, Any]) -> None:
    """UpdateRuleGroup with ``saved``'s members over the group's current content."""
    from handlers.firewall import CONTENT_MEMBER

    kind = _group_type(arn)
    content, token = _content(sandbox, arn)
    sandbox.client("network-firewall").update_rule_group(
        RuleGroupArn=arn, Type=kind, UpdateToken=token, **{CONTENT_MEMBER[kind]: {**content, **saved}}
    )


def write_state(path: str, sandbox: Any) -> None:
    """The ledger's items, the clock, the stack's policy type and what the functions write in the groups:
    the IP group's RulesSource (and, Next Generation, its RuleVariables: the hosts live in a variable)
    and the domain group's RulesSource. A policy holds nothing they write (the deployment makes it)."""
    items = []
    for page in sandbox.client("dynamodb").get_paginator("scan").paginate(TableName=sandbox.table_name):
        items.extend(page["Items"])
    ip_group, _ = _content(sandbox, sandbox.rule_group_arn)
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "clock": sandbox.clock.now(),
        "firewall_policy_type": _policy_type(sandbox),
        "ledger": items,
        "rules_source": ip_group["RulesSource"],
    }
    if "RuleVariables" in ip_group:
        state["rule_variables"] = ip_group["RuleVariables"]
    if domain_group_arn(sandbox):
        state["domain_rules_source"] = _content(sandbox, domain_group_arn(sandbox))[0]["RulesSource"]
    Path(path).write_text(json.dumps(state, indent=1), encoding="utf-8")
