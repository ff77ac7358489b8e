"""Checks the inputs a program passes to pulumi-aws resources against that SDK's own types.

Pulumi's mocks accept any key in a nested dict input; the provider does not (an unknown key is an
error at preview, a misspelt optional key is silently dropped by some SDK paths, a missing required
key fails the create). ``recording_aws_inputs`` captures, while a program runs, the Python-side
arguments of every pulumi-aws resource (the ``*Args`` object the SDK builds, before serialization);
``input_problems`` checks each argument against the SDK's annotations, following every nested
dict into its ``*ArgsDict`` TypedDict: unknown keys, missing required keys and wrong kinds.
"""

import enum
import inspect
import sys
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints
from unittest import mock

import pulumi


@dataclass(frozen=True)
class RecordedInputs:
    type: str
    name: str
    args: Any
    """The SDK's ``*Args`` instance: Python field names -> what the program passed."""


@contextmanager
def recording_aws_inputs() -> Iterator[list[RecordedInputs]]:
    """Record the arguments of every ``aws:`` custom resource constructed meanwhile (any thread)."""
    recorded: list[RecordedInputs] = []
    original = pulumi.CustomResource.__init__

    def init(resource: Any, t: str, name: str, props: Any = None, *args: Any, **kwargs: Any) -> None:
        if t.startswith("aws:") and props is not None and not isinstance(props, dict):
            recorded.append(RecordedInputs(t, name, props))
        original(resource, t, name, props, *args, **kwargs)

    with mock.patch.object(pulumi.CustomResource, "__init__", init):
        yield recorded


def _hints(target: Any) -> dict[str, Any]:
    module = sys.modules[target.__module__]
    # pulumi.Input[T] is Union[T, Awaitable[T], "Output[T]"]: its forward reference needs Output.
    return get_type_hints(
        target, globalns=vars(module), localns={"Output": pulumi.Output, "T": pulumi.output.T}
    )


def argument_problems(recorded: RecordedInputs) -> list[str]:
    """Every argument of one resource against its ``*Args`` annotations."""
    args_class = type(recorded.args)
    hints = _hints(args_class.__init__)
    problems = []
    for field, value in vars(recorded.args).items():
        if value is None or field not in hints:  # unset, or computed by the provider (tags_all...)
            continue
        problems += input_problems(value, hints[field], f"{recorded.type}::{recorded.name}.{field}")
    return problems


def _kind(value: Any) -> str:
    return type(value).__name__


def _args_dict_of(cls: type) -> Any:
    """The TypedDict the SDK declares beside an input class (``FooArgs`` -> ``FooArgsDict``)."""
    return getattr(sys.modules[cls.__module__], f"{cls.__name__}Dict", None)


def input_problems(value: Any, annotation: Any, path: str) -> list[str]:
    """Why ``value`` does not fit ``annotation`` (a pulumi-aws input annotation), as ``path: why``."""
    if isinstance(value, pulumi.Output | pulumi.Resource) or inspect.isawaitable(value):
        return []  # known only at deployment; the SDK's own types say what it resolves to
    if annotation is Any or isinstance(annotation, typing.TypeVar):
        return []
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return _union_problems(value, get_args(annotation), path)
    if value is None:
        return [f"{path}: None where {annotation!r} is expected"]
    if typing.is_typeddict(annotation):
        return _typed_dict_problems(value, annotation, path)
    if origin in (list, Sequence, typing.Sequence):
        if not isinstance(value, list | tuple):
            return [f"{path}: expected a list, got {_kind(value)}"]
        (item,) = get_args(annotation) or (Any,)
        return [
            p
            for index, element in enumerate(value)
            for p in input_problems(element, item, f"{path}[{index}]")
        ]
    if origin in (dict, Mapping, typing.Mapping):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping, got {_kind(value)}"]
        _, item = get_args(annotation) or (str, Any)
        return [p for key, element in value.items() for p in input_problems(element, item, f"{path}.{key}")]
    if origin is not None:  # Awaitable[T], Output[T]: the value is neither (checked above)
        return [f"{path}: expected {origin.__name__}, got {_kind(value)}"]
    if inspect.isclass(annotation):
        return _class_problems(value, annotation, path)
    return []


def _union_problems(value: Any, alternatives: tuple[Any, ...], path: str) -> list[str]:
    if value is None:
        return [] if type(None) in alternatives else [f"{path}: None is not allowed"]
    outcomes = [
        input_problems(value, alternative, path)
        for alternative in alternatives
        if alternative is not type(None)
    ]
    if any(not outcome for outcome in outcomes):
        return []
    # Report the alternative that went deepest (a TypedDict's unknown key, not "expected Output").
    return max(
        outcomes, key=lambda outcome: max(problem.count(".") + problem.count("[") for problem in outcome)
    )


def _typed_dict_problems(value: Any, typed_dict: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected a dict ({typed_dict.__name__}), got {_kind(value)}"]
    hints = _hints(typed_dict)
    problems = [
        f"{path}: unknown key {key!r} (not in {typed_dict.__name__})" for key in value if key not in hints
    ]
    problems += [
        f"{path}: missing required key {key!r} of {typed_dict.__name__}"
        for key in sorted(typed_dict.__required_keys__)
        if value.get(key) is None
    ]
    for key, element in value.items():
        if key in hints and element is not None:
            problems += input_problems(element, hints[key], f"{path}.{key}")
    return problems


def _class_problems(value: Any, cls: type, path: str) -> list[str]:
    if cls in (int, float) and isinstance(value, bool):
        return [f"{path}: expected {cls.__name__}, got bool {value!r}"]
    if isinstance(value, cls):
        return []
    if isinstance(value, dict) and (typed_dict := _args_dict_of(cls)) is not None:
        return _typed_dict_problems(value, typed_dict, path)
    if issubclass(cls, enum.Enum) and value in {member.value for member in cls}:
        return []
    if cls is float and isinstance(value, int) and not isinstance(value, bool):
        return []
    return [f"{path}: expected {cls.__name__}, got {_kind(value)} {value!r:.60}"]
