"""Work moto repeats for every sandbox that no AWS behaviour depends on, done once per process.

- Step Functions definitions: moto's engine parses a definition (ANTLR, in pure Python: about 0.15 s
  of CPU for the response workflow) when the state machine is created and again for every
  execution. The parse tree of a definition text never changes, so it is kept (per process, across
  sandboxes) and only the evaluation components are built afresh from it each time: an execution
  gets components of its own, exactly as before; a definition that does not parse is refused as
  before (its errors are not kept).
- EC2's default AMIs: moto loads about 2,700 machine images into every EC2 backend it creates or
  resets (Route 53 Resolver's backend creates one, for the DNS Firewall's VPC checks), at every
  sandbox's start and stop. The sandbox's VPCs need none, so it asks moto not to load them while
  it runs (``MOTO_EC2_LOAD_DEFAULT_AMIS``, moto's own setting), unless the caller chose a value.
- Waiting for an execution: Standard executions run on moto's threads; the sandbox used to poll
  DescribeExecution with growing pauses (up to 0.1 s past the end, and a serialised description per
  poll). moto's engine now says when an execution ends (``ExecutionEnds``), and the waiter looks
  again at once; it still looks every second (``core.WAIT_FALLBACK_SECONDS``), so an end it is not
  told of is still seen.
"""

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from unittest import mock

AMIS_SETTING = "MOTO_EC2_LOAD_DEFAULT_AMIS"
PARSE_TREES_KEPT = 64
"""Distinct definitions whose parse tree is kept (a test run deploys a few dozen)."""

Parse = Callable[[str], tuple[Any, Any]]
"""moto's ``AmazonStateLanguageParser.parse``: a definition's text -> (its program, its parse tree)."""

_trees: "OrderedDict[str, Any]" = OrderedDict()
_trees_lock = threading.Lock()


def keeping_parse_trees(parse: Parse) -> Parse:
    """``parse``, from a kept parse tree when the definition was parsed before."""
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    def parse_definition(definition: str) -> tuple[Any, Any]:
        with _trees_lock:
            tree = _trees.get(definition)
            if tree is not None:
                _trees.move_to_end(definition)
        if tree is None:
            # A definition with syntax errors raises here (ASLParserException) and is not kept.
            _, tree = parse(definition)
            with _trees_lock:
                _trees[definition] = tree
                while len(_trees) > PARSE_TREES_KEPT:
                    _trees.popitem(last=False)
        return Preprocessor().visit(tree), tree

    return parse_definition


class ExecutionEnds:
    """How many executions have ended so far; a waiter sleeps until the count moves past what it saw."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def seen(self) -> int:
        with self._changed:
            return self._count

    def ended(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait_past(self, seen: int, timeout: float) -> None:
        """Return when an execution ended after ``seen`` was read, or after ``timeout`` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._count != seen, timeout)


class EngineShortcuts:
    """Installs the shortcuts above; ``start`` before moto's mock starts, ``stop`` after it stops."""

    def __init__(self) -> None:
        self._patchers: list[Any] = []
        self._set_amis = False
        self.ends = ExecutionEnds()

    def start(self) -> None:
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        parse = keeping_parse_trees(AmazonStateLanguageParser.parse)
        original_terminated = BaseExecutionWorkerCommunication.terminated

        def terminated(communication: Any) -> None:
            original_terminated(communication)  # the execution's status is final from here on
            self.ends.ended()

        for target, attribute, replacement in (
            (AmazonStateLanguageParser, "parse", staticmethod(parse)),
            (BaseExecutionWorkerCommunication, "terminated", terminated),
        ):
            patcher = mock.patch.object(target, attribute, replacement)
            patcher.start()
            self._patchers.append(patcher)
        if AMIS_SETTING not in os.environ:
            os.environ[AMIS_SETTING] = "false"
            self._set_amis = True

    def stop(self) -> None:
        while self._patchers:
            self._patchers.pop().stop()
        if self._set_amis:
            os.environ.pop(AMIS_SETTING, None)
            self._set_amis = False
