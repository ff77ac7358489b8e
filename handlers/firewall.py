"""The rule-group adapter: DescribeRuleGroup and UpdateRuleGroup, with errors mapped to the domain."""

from dataclasses import dataclass, field
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.errors import FirewallRejected, FirewallUnavailable, RuleGroupNotFound
from handlers.rules import Rule

TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "InternalServerError", "ServiceUnavailable", "RequestLimitExceeded"}
)


class StaleToken(Exception):
    """UpdateRuleGroup lost the race: someone updated the group since our DescribeRuleGroup."""


class Transient(Exception):
    """Throttling or a 5xx: worth another attempt after a pause."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RuleGroupSnapshot:
    """One DescribeRuleGroup answer: what the group holds and the token that may replace it."""

    arn: str
    token: str
    capacity: int
    rule_group: dict[str, Any]

    def replaced(
        self, token: str, rules: list[Rule], custom_actions: list[dict[str, Any]]
    ) -> "RuleGroupSnapshot":
        """The group as it is after our update that returned ``token``."""
        return RuleGroupSnapshot(
            self.arn, token, self.capacity, _with_rules(self.rule_group, rules, custom_actions)
        )

    @property
    def stateless(self) -> dict[str, Any]:
        source: dict[str, Any] = self.rule_group.get("RulesSource", {})
        rules_and_actions: dict[str, Any] = source.get("StatelessRulesAndCustomActions", {})
        return rules_and_actions

    @property
    def rules(self) -> list[Rule]:
        return list(self.stateless.get("StatelessRules", []))

    @property
    def custom_actions(self) -> list[dict[str, Any]]:
        return list(self.stateless.get("CustomActions", []))


@dataclass
class CallCounts:
    describes: int = 0
    updates: int = 0
    conflicts: int = 0
    transient: int = 0
    by_code: dict[str, int] = field(default_factory=dict)


STATELESS: Final = "STATELESS"
FIREWALL: Final = "FIREWALL"
"""A Next Generation policy's firewall-engine rule group (``handlers.engine_rules``)."""
CONTENT_MEMBER: Final = {STATELESS: "RuleGroup", "STATEFUL": "RuleGroup", FIREWALL: "FirewallRuleGroup"}
"""Where DescribeRuleGroup answers, and UpdateRuleGroup takes, a group's content, by its type."""


class RuleGroupClient:
    """Reads and replaces one rule group (stateless, or a Next Generation FIREWALL group); never retries by
    itself (the writer decides)."""

    def __init__(
        self, arn: str, client: Any = None, region: str | None = None, rule_group_type: str = STATELESS
    ) -> None:
        self.arn = arn
        self.rule_group_type = rule_group_type
        self._client = client
        self._region = region
        self.counts = CallCounts()

    @property
    def client(self) -> Any:
        if self._client is None:
            # The writer owns retries and backoff; botocore's own retries would hide conflicts.
            self._client = boto3.client(
                "network-firewall",
                region_name=self._region,
                # Client-side validation walks every one of up to 30,000 addresses on each update; the
                # payload is rendered by our own code and the service validates it anyway.
                config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
            )
        return self._client

    def describe(self) -> RuleGroupSnapshot:
        self.counts.describes += 1
        try:
            answer = self.client.describe_rule_group(RuleGroupArn=self.arn, Type=self.rule_group_type)
        except ClientError as e:
            raise self._translate(e) from e
        except BotoCoreError as e:
            raise Transient(type(e).__name__) from e
        response = answer["RuleGroupResponse"]
        return RuleGroupSnapshot(
            arn=response["RuleGroupArn"],
            token=answer["UpdateToken"],
            capacity=int(response["Capacity"]),
            rule_group=answer.get(CONTENT_MEMBER[self.rule_group_type]) or {},
        )

    def replace(
        self, snapshot: RuleGroupSnapshot, rules: list[Rule], custom_actions: list[dict[str, Any]]
    ) -> str:
        """Write ``rules`` and ``custom_actions`` over the snapshot's group; returns the new token."""
        return self.write(snapshot, _with_rules(snapshot.rule_group, rules, custom_actions))

    def write(self, snapshot: RuleGroupSnapshot, rule_group: dict[str, Any]) -> str:
        """Write ``rule_group`` (the whole content) over the snapshot's group; returns the new token."""
        self.counts.updates += 1
        content = {CONTENT_MEMBER[self.rule_group_type]: rule_group}
        try:
            answer = self.client.update_rule_group(
                UpdateToken=snapshot.token, RuleGroupArn=self.arn, Type=self.rule_group_type, **content
            )
        except ClientError as e:
            raise self._translate(e) from e
        except BotoCoreError as e:
            raise Transient(type(e).__name__) from e
        token: str = answer["UpdateToken"]
        return token

    def _translate(self, error: ClientError) -> Exception:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        self.counts.by_code[code] = self.counts.by_code.get(code, 0) + 1
        if code == "InvalidTokenException":
            self.counts.conflicts += 1
            return StaleToken(message)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in TRANSIENT_CODES or status >= 500:
            self.counts.transient += 1
            return Transient(code or str(status))
        if code == "ResourceNotFoundException":
            return RuleGroupNotFound(f"rule group {self.arn} does not exist")
        if code in {"InvalidRequestException", "InvalidOperationException"}:
            return FirewallRejected(f"Network Firewall refused the update: {message}")
        return FirewallUnavailable(f"Network Firewall error {code}: {message}")


def _with_rules(
    rule_group: dict[str, Any], rules: list[Rule], custom_actions: list[dict[str, Any]]
) -> dict[str, Any]:
    # A new top-level dict: a snapshot is never mutated, so no deep copy of up to 30,000 addresses.
    return {
        **rule_group,
        "RulesSource": {
            "StatelessRulesAndCustomActions": {"StatelessRules": rules, "CustomActions": custom_actions}
        },
    }
