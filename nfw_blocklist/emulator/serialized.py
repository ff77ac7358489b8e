"""Make moto's in-memory services safe to call from many threads at once.

Concurrent Step Functions executions and the concurrency tests call moto from dozens of threads.
moto's DynamoDB, SNS and SQS backends mutate plain dicts and lists without locks, so two threads can
see "dictionary changed size during iteration" or a half-written index entry. Real AWS applies each
request atomically; one lock per service around moto's request handling gives the same semantics.
(The rule-group emulator has its own finer locks, so that its injected latency overlaps like AWS.)
"""

import functools
import threading
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.sns.responses import SNSResponse
from moto.sqs.responses import SQSResponse

_SERVICES: tuple[type[Any], ...] = (DynamoHandler, SNSResponse, SQSResponse)
_MARK = "_nfw_serialized"


def serialize_moto_services() -> None:
    """Wrap each service's ``call_action`` in a lock of its own. Idempotent."""
    for response_class in _SERVICES:
        original = response_class.__dict__.get("call_action") or response_class.call_action
        if getattr(original, _MARK, False):
            continue
        lock = threading.RLock()

        @functools.wraps(original)
        def call_action(self: Any, *, _original: Any = original, _lock: threading.RLock = lock) -> Any:
            with _lock:
                return _original(self)

        setattr(call_action, _MARK, True)
        response_class.call_action = call_action
