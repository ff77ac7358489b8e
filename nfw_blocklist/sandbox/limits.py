"""The AWS limits moto lets through, put back while a sandbox runs; and the physical-name registry.

moto already refuses some of what AWS refuses (a state output over 256 KiB, an SNS message over
262,144 characters); what it misses is patched in here, each patch named after the limit:

- Step Functions: ``States.DataLimitExceeded`` is terminal, ``States.ALL`` neither retries nor
  catches it (moto's ``States.ALL`` matches every error); the limit is 256 KiB inclusive (moto
  refuses exactly 262,144 bytes); a task's effective input after ``Parameters`` and an execution's
  input are limited too (moto checks neither).
- SNS Publish: 262,144 *bytes* of UTF-8 (moto counts characters).
- Lambda: moto's response check (``sys.getsizeof`` over 6,000,000) is replaced by the invoker's,
  at the size Lambda reports in its own error.

Lambda's response and environment limits and EventBridge's event limit are enforced where the
sandbox itself plays those services (``invoker``, ``deploy``, ``core``), with the sizes from
``components.aws_limits``.
"""

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest import mock

from components.aws_limits import (
    MAX_SUBJECT_CHARS,
    NAME_RULES,
    SNS_MESSAGE_BYTES,
    STATE_PAYLOAD_BYTES,
    utf8_size,
)

from .wiring import WiringError


class NameTaken(WiringError):
    """A physical name another resource already holds in the same account (IAM) or account and region."""


class NameRefused(WiringError):
    """A physical name AWS refuses for its length or characters."""


class LimitExceeded(WiringError):
    """A declared resource crosses a size limit AWS enforces at create time (Lambda's 4 KB environment)."""


@dataclass
class NameRegistry:
    """Which URN holds each physical name, per scope, across every render deployed into one sandbox."""

    holders: dict[tuple[str, ...], str] = field(default_factory=dict)

    def claim(
        self, type_: str, name: str, urn: str, *, account: str, region: str, within: str = ""
    ) -> tuple[str, ...] | None:
        """Check ``name`` as AWS would at create time and record it; raise if refused or taken.

        ``within`` names the parent resource for names scoped to one (an IAM role's inline policies).
        Returns the claim's key (None for a type without a name rule), for ``release``.
        """
        rule = NAME_RULES.get(type_)
        if rule is None:
            return None
        problem = rule.problem(name)
        if problem is not None:
            raise NameRefused(f"{urn}: {problem}")
        scope = {
            "account": (account,),
            "region": (account, region),
            "role": (account, within),
        }[rule.scope]
        where = {
            "account": f"account {account}",
            "region": f"account {account} region {region}",
            "role": f"role {within!r}",
        }[rule.scope]
        key = (type_, *scope, name)
        holder = self.holders.get(key)
        if holder is not None:
            raise NameTaken(
                f"{urn}: {rule.what} name {name!r} is already taken in {where} by {holder} "
                f"(AWS: {rule.conflict})"
            )
        self.holders[key] = urn
        return key

    def release(self, keys: list[tuple[str, ...]]) -> None:
        """Forget claims (those of a render whose deployment was refused before it created anything)."""
        for key in keys:
            self.holders.pop(key, None)


def publish_problem(message: str, subject: str | None, message_structure: str | None) -> str | None:
    """What SNS Publish refuses (``InvalidParameter``) in ``subject`` and a per-protocol ``message``.

    SNS: a Subject is 1-100 characters of printable ASCII with no line break; with
    ``MessageStructure: json`` the Message must be a JSON object with a ``default`` key, each value a
    plain JSON string (PublishRequest in the SNS API Reference). The 256 KB limit counts the whole
    Message, the JSON wrapping included.
    """
    if subject is not None and not (
        1 <= len(subject) <= MAX_SUBJECT_CHARS and all(" " <= char <= "~" for char in subject)
    ):
        return "Invalid parameter: Subject"
    if message_structure is None:
        return None
    if message_structure != "json":
        return "Invalid parameter: MessageStructure"
    try:
        parsed = json.loads(message)
    except ValueError:
        return "Invalid parameter: Message Structure - JSON message body failed to parse"
    if not isinstance(parsed, dict) or not isinstance(parsed.get("default"), str):
        return "Invalid parameter: Message Structure - No default entry in JSON message body"
    for key, value in parsed.items():
        if not isinstance(value, str):
            return f"Invalid parameter: Message Structure - the value of {key!r} is not a string"
    return None


def state_payload_within(value: Any) -> bool:
    """Step Functions' quota: at most 256 KiB of UTF-8, inclusive, of the JSON as Step Functions holds
    it: compact and unescaped (moto measures ``json.dumps`` with spaces and ``\\u`` escapes, and stops
    one byte short)."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    )
    return utf8_size(text) <= STATE_PAYLOAD_BYTES


class PayloadLimits:
    """Patches moto with the payload limits it misses; ``start`` and ``stop`` bracket a sandbox."""

    def __init__(self) -> None:
        self._patchers: list[Any] = []

    def start(self) -> None:
        from moto.awslambda import responses as lambda_responses
        from moto.sns.exceptions import InvalidParameterValue
        from moto.sns.models import SNSBackend
        from moto.stepfunctions.exceptions import InvalidExecutionInput
        from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
            StatesErrorName,
        )
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
            StatesErrorNameType,
        )
        from moto.stepfunctions.parser.asl.component.state import state as common_state
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
            state_task,
            state_task_lambda,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service,
        )
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        data_limit = StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded)
        states_all = StatesErrorName(typ=StatesErrorNameType.StatesALL)
        original_equals = error_equals_decl.ErrorEqualsDecl._eval_body

        def error_equals(decl: Any, env: Any) -> None:
            # "States.ALL ... can't catch the States.DataLimitExceeded terminal error" (and can't retry it).
            if env.stack and env.stack[-1] == data_limit and states_all in decl.error_names:
                env.stack.pop()
                env.stack.append(data_limit in decl.error_names)
                return
            original_equals(decl, env)

        original_lambda_parameters = state_task_lambda.StateTaskLambda._eval_parameters
        original_task_parameters = state_task.StateTask._eval_parameters

        # A task's effective input (after Parameters) counts against the quota too: the request of
        # an integration (arn:aws:states:::lambda:invoke...), the payload of a Lambda ARN resource.
        def lambda_parameters(task: Any, env: Any) -> dict[str, Any]:
            parameters: dict[str, Any] = original_lambda_parameters(task, env)
            task._verify_size_quota(env=env, value=parameters["Payload"])
            return parameters

        def task_parameters(task: Any, env: Any) -> dict[str, Any]:
            parameters: dict[str, Any] = original_task_parameters(task, env)
            task._verify_size_quota(env=env, value=parameters)
            return parameters

        original_start = StepFunctionsParserBackend.start_execution

        def start_execution(backend: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
            text = kwargs.get("execution_input", args[1] if len(args) > 1 else None) or ""
            if utf8_size(text) > STATE_PAYLOAD_BYTES:
                raise InvalidExecutionInput(
                    f"Invalid State Machine Execution Input: {utf8_size(text)} bytes of UTF-8 "
                    f"exceed the {STATE_PAYLOAD_BYTES}-byte limit"
                )
            return original_start(backend, state_machine_arn, *args, **kwargs)

        original_publish = SNSBackend.publish

        def publish(backend: Any, message: str, *args: Any, **kwargs: Any) -> str:
            if utf8_size(message) > SNS_MESSAGE_BYTES:
                raise InvalidParameterValue(
                    "An error occurred (InvalidParameter) when calling the Publish operation: "
                    "Invalid parameter: Message too long"
                )
            problem = publish_problem(message, kwargs.get("subject"), kwargs.get("message_structure"))
            if problem is not None:
                raise InvalidParameterValue(
                    f"An error occurred (InvalidParameter) when calling the Publish operation: {problem}"
                )
            result: str = original_publish(backend, message, *args, **kwargs)
            return result

        patches: list[tuple[Any, str, Any]] = [
            (error_equals_decl.ErrorEqualsDecl, "_eval_body", error_equals),
            (state_task_lambda.StateTaskLambda, "_eval_parameters", lambda_parameters),
            (state_task.StateTask, "_eval_parameters", task_parameters),
            (StepFunctionsParserBackend, "start_execution", start_execution),
            # moto refuses any response whose sys.getsizeof passes 6,000,000 (object overhead
            # included); the sandbox's invoker applies Lambda's own limit before moto sees it.
            (lambda_responses, "sys", SimpleNamespace(getsizeof=lambda _payload: 0)),
            (SNSBackend, "publish", publish),
            (common_state, "is_within_size_quota", state_payload_within),
            (state_task_lambda, "is_within_size_quota", state_payload_within),
            (state_task_service, "is_within_size_quota", state_payload_within),
        ]
        for target, attribute, replacement in patches:
            patcher = mock.patch.object(target, attribute, replacement)
            patcher.start()
            self._patchers.append(patcher)

    def stop(self) -> None:
        while self._patchers:
            self._patchers.pop().stop()
