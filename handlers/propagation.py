"""IAM is eventually consistent: a role's inline policy put a moment ago may not be in force yet.

The repopulation is invoked during ``pulumi up`` right after the prune function's role policy may have
changed (a new rule group's ARN, a new table), so its first calls can be refused with AccessDenied that
seconds later would succeed. Only that invocation retries, and only what propagation explains (an
AccessDenied anywhere in the error's causes), for a bounded time well inside the function's timeout;
anything else, or a denial that outlasts the delays, fails the deployment as before.
"""

import logging
import time
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")
LOG = logging.getLogger(__name__)

DEPLOYMENT_SOURCE: Final = "nfw-blocklist.deploy"
"""The ``source`` of the event the deployment's repopulation invokes the prune function with."""
PROPAGATION_DELAYS: Final = (1.0, 2.0, 4.0, 8.0, 16.0)
"""Pauses between attempts: 31 s in all, inside the prune function's 300 s timeout. AWS documents IAM
changes as eventually consistent ("a few seconds" is typical) without a bound."""
ACCESS_DENIED_CODES: Final = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def explained_by_propagation(error: BaseException) -> bool:
    """Whether an AccessDenied from AWS is among the causes of ``error`` (the adapters wrap ClientErrors in
    the domain's exceptions with ``raise ... from``)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if (
            isinstance(current, ClientError)
            and current.response.get("Error", {}).get("Code") in ACCESS_DENIED_CODES
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def retrying_propagation(
    run: Callable[[], T],
    delays: Sequence[float] = PROPAGATION_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``run()``, again after each of ``delays`` while it fails with what IAM propagation explains."""
    for delay in delays:
        try:
            return run()
        except Exception as error:
            if not explained_by_propagation(error):
                raise
            LOG.warning(
                "access denied right after a deployment; retrying while IAM propagates",
                extra={"error": str(error), "retry_in_seconds": delay},
            )
            sleep(delay)
    return run()
