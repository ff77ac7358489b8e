"""Runs the sandbox's Lambda functions in-process, as the real Lambda runtime would run them.

moto cannot run function code without Docker; its "simple" Lambda backend (``lambda.use_docker``
false) just echoes the payload. The Step Functions engine invokes functions through a boto3
client, which lands in ``LambdaSimpleBackend.invoke``: we replace that method while a sandbox is
running, and for a function the sandbox created we import its recorded ``handler`` string
(``handlers.entry.record``) and call it. Everything else about the invocation stays moto's.

A handler that raises is reported the way Lambda reports an unhandled error: the
``x-amz-function-error`` header and a ``{"errorType", "errorMessage"}`` body. So is a response
over Lambda's 6 MB synchronous limit (``Function.ResponseSizeTooLarge``). The Step Functions
engine turns that into a task failure named after ``errorType`` (the exception's class name),
which is what the state machines' Retry and Catch match on.

Environment: a function's recorded ``environment.variables`` (plus what the Lambda runtime sets) are
what the handlers read as their environment during the call. ``os.environ`` is process-wide and
concurrent executions run in moto's worker threads, so each call sees its function's environment
through a thread-local view (``handlers.entry.use_environment``): calls run concurrently, as in Lambda.
"""

import importlib
import inspect
import json
import logging
import os
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from components.aws_limits import LAMBDA_SYNC_RESPONSE_BYTES
from handlers import entry

LOG = logging.getLogger(__name__)

_thread = threading.local()

RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"


def current_environment() -> Mapping[str, str]:
    """The environment of the function running on this thread, else the process's."""
    environment: Mapping[str, str] | None = getattr(_thread, "environment", None)
    return environment if environment is not None else os.environ


class HandlerImportError(Exception):
    """A function's recorded handler string does not name an importable callable."""


@dataclass(frozen=True)
class FunctionSpec:
    """What the sandbox needs to run one deployed function in-process."""

    name: str
    arn: str
    handler: str
    environment: Mapping[str, str]
    region: str
    account: str
    timeout_seconds: int = 3
    role: str = ""
    """The execution role's ARN (the sandbox's strict IAM checks the calls the function makes)."""
    credentials: Mapping[str, str] = field(default_factory=dict)
    """The execution role's credentials, as the Lambda runtime sets them (``AWS_ACCESS_KEY_ID``...)."""


@dataclass(frozen=True)
class Invocation:
    """One call of a sandbox function, kept for assertions and for the CLI's explanations."""

    function: str
    handler: str
    error_type: str | None
    error_message: str | None = None


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers commonly read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 128
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    timeout_seconds: int = 3

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


def resolve_handler(handler: str) -> Callable[..., Any]:
    """Import ``package.module.function`` the way the Lambda Python runtime does."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name or not attribute:
        raise HandlerImportError(f"handler {handler!r} is not of the form module.function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise HandlerImportError(f"handler {handler!r}: cannot import {module_name}: {e}") from e
    target = getattr(module, attribute, None)
    if not callable(target):
        raise HandlerImportError(f"handler {handler!r}: {module_name} has no callable {attribute!r}")
    return target


@contextmanager
def _logging_preserved() -> Iterator[None]:
    """Undo what a handler does to the root logger (in Lambda it owns the process; here the CLI does)."""
    root = logging.getLogger()
    level, formatters = root.level, [(handler, handler.formatter) for handler in root.handlers]
    try:
        yield
    finally:
        root.setLevel(level)
        for handler, formatter in formatters:
            handler.setFormatter(formatter)


@contextmanager
def function_environment(
    variables: Mapping[str, str], region: str, function_name: str = ""
) -> Iterator[None]:
    """Apply a function's environment (plus what the Lambda runtime sets) for the duration of a call."""
    runtime = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    if function_name:
        runtime["AWS_LAMBDA_FUNCTION_NAME"] = function_name
    previous = getattr(_thread, "environment", None)
    _thread.environment = {**os.environ, **runtime, **dict(variables)}
    try:
        yield
    finally:
        _thread.environment = previous


def _function_name_from(identifier: str) -> str:
    """Accept a name, a full or partial ARN, with or without a qualifier, as Lambda's Invoke does."""
    if identifier.startswith("arn:"):
        parts = identifier.split(":")
        # arn:aws:lambda:region:account:function:name[:qualifier]
        return parts[6] if len(parts) > 6 else identifier
    if ":function:" in identifier:  # partial ARN account:function:name
        return identifier.split(":function:", 1)[1].split(":", 1)[0]
    return identifier.split(":", 1)[0]


class InProcessLambdas:
    """The registry of sandbox functions and the patch that routes their invocations in-process."""

    def __init__(self) -> None:
        self._functions: dict[tuple[str, str, str], FunctionSpec] = {}
        self.invocations: list[Invocation] = []
        self._patcher: Any = None

    def register(self, spec: FunctionSpec) -> None:
        """Check the handler imports now, so a wrong handler string fails the deployment, not a run."""
        resolve_handler(spec.handler)
        self._functions[(spec.account, spec.region, spec.name)] = spec

    def get(self, name: str, *, account: str, region: str) -> FunctionSpec | None:
        return self._functions.get((account, region, _function_name_from(name)))

    @property
    def functions(self) -> list[FunctionSpec]:
        return list(self._functions.values())

    def start(self) -> None:
        from moto.awslambda_simple.models import LambdaSimpleBackend

        registry = self
        original = LambdaSimpleBackend.invoke

        def invoke(
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: Any,
        ) -> str | bytes | None:
            spec = registry.get(function_name, account=backend.account_id, region=backend.region_name)
            if spec is None:
                return original(backend, function_name, qualifier, body, headers, response_headers)
            return registry.invoke(spec, body, response_headers)

        self._patcher = mock.patch.object(LambdaSimpleBackend, "invoke", invoke)
        self._patcher.start()
        entry.use_environment(current_environment)

    def stop(self) -> None:
        entry.use_environment(None)
        if self._patcher is not None:
            self._patcher.stop()
            self._patcher = None

    def invoke(self, spec: FunctionSpec, body: Any, response_headers: dict[str, str]) -> bytes:
        """Run the handler; on an exception answer as Lambda does for an unhandled error."""
        raw = body.decode() if isinstance(body, bytes) else (body or "")
        event = json.loads(raw) if raw else {}
        handler = resolve_handler(spec.handler)
        context = LambdaContext(
            function_name=spec.name, invoked_function_arn=spec.arn, timeout_seconds=spec.timeout_seconds
        )
        try:
            variables = {**spec.credentials, **spec.environment}
            with function_environment(variables, spec.region, spec.name), _logging_preserved():
                result = _call(handler, event, context)
            payload = json.dumps(result).encode()
        except Exception as e:
            error_type = type(e).__name__
            LOG.info(
                "sandbox function raised",
                extra={
                    "function": spec.name,
                    "handler": spec.handler,
                    "error_type": error_type,
                    "error": str(e),
                },
            )
            self.invocations.append(Invocation(spec.name, spec.handler, error_type, str(e)))
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": error_type,
                    "errorMessage": str(e),
                    "stackTrace": traceback.format_exception(e)[-3:],
                }
            ).encode()
        if len(payload) > LAMBDA_SYNC_RESPONSE_BYTES:
            message = (
                f"Response payload size ({len(payload)} bytes) exceeded maximum allowed payload size "
                f"({LAMBDA_SYNC_RESPONSE_BYTES} bytes)."
            )
            self.invocations.append(Invocation(spec.name, spec.handler, RESPONSE_TOO_LARGE, message))
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": RESPONSE_TOO_LARGE, "errorMessage": message}).encode()
        self.invocations.append(Invocation(spec.name, spec.handler, None))
        return payload


def _call(handler: Callable[..., Any], event: Any, context: LambdaContext) -> Any:
    """Pass the context only to handlers that take it (the entry points may declare ``(event)`` only)."""
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return handler(event, context)
    positional = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in positional):
        return handler(event, context)
    return handler(event)
