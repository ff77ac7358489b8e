"""The local sandbox: deploys what the Pulumi program declares into moto and runs it.

from nfw_blocklist.sandbox import Sandbox
with Sandbox.for_stack("dev", {"findingSource": "both"}) as sandbox:
    results = sandbox.put_event(event)          # executions started by matching rules, finished
    sandbox.advance(13 * 3600)                   # due schedules (pruning) run
    sandbox.ledger_items(); sandbox.describe_rule_group(); sandbox.notifications()
"""

from .clock import DEFAULT_START, SandboxClock
from .core import ACCOUNT, Delivery, ExecutionResult, ExecutionTimeout, Sandbox, observers
from .deploy import Inventory, StateMachineInfo
from .invoker import FunctionSpec, HandlerImportError, Invocation
from .resources import RenderedLike, RenderedResourceLike
from .wiring import WiringError, iter_states, state_names

__all__ = [
    "ACCOUNT",
    "DEFAULT_START",
    "Delivery",
    "ExecutionResult",
    "ExecutionTimeout",
    "FunctionSpec",
    "HandlerImportError",
    "Inventory",
    "Invocation",
    "RenderedLike",
    "RenderedResourceLike",
    "Sandbox",
    "SandboxClock",
    "StateMachineInfo",
    "WiringError",
    "iter_states",
    "observers",
    "state_names",
]
