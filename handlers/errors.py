"""The domain's exceptions.

Lambda reports a raised exception's class name as the error type, and the state machines
retry and catch on those names: renaming a class here changes the workflow's contract.
"""


class BlocklistError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidInput(BlocklistError):
    """A request (event, CLI argument, configuration) that cannot be processed as given."""


class ConfigurationError(BlocklistError):
    """The function's environment is missing or malformed; retrying cannot help."""


class RuleGroupContention(BlocklistError):
    """UpdateRuleGroup kept losing the UpdateToken race; the state machine retries the step."""


class FirewallUnavailable(BlocklistError):
    """Network Firewall throttled or failed past the in-function retries; retried by the state machine."""


class FirewallRejected(BlocklistError):
    """Network Firewall refused the update (InvalidRequestException): a bug or a foreign edit, not retried."""


class RuleGroupNotFound(BlocklistError):
    """The configured rule group does not exist."""


class CapacityExceeded(BlocklistError):
    """The hosts do not fit in the rule group and the policy is to refuse rather than evict."""


class HostNotBlocked(BlocklistError):
    """A manual block did not reach the group: its ledger item was unblocked or refused meanwhile."""


class LedgerUnavailable(BlocklistError):
    """DynamoDB throttled or failed past boto3's retries."""


RETRIED_ERRORS = (RuleGroupContention, FirewallUnavailable, LedgerUnavailable)
"""The errors the state machines retry (components/definitions.py): a step raises them, never reports them."""
