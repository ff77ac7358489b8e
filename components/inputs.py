"""Reading a component's Args: the same checks as the stack config, plain values now, Outputs when known.

A component's Args is a TypedDict of ``pulumi.Input`` fields. From a Python program most values are
plain; through the component provider (a YAML or TypeScript program) a value that depends on another
resource, or is secret, arrives as an Output. ``ArgsReader.settle`` checks plain values at once, so a bad
one stops the program before any resource exists, and checks an Output's value when it resolves, failing
the deployment. Either way the message names the input as YAML and TypeScript write it and as Python
does: ``ResponseStateMachine 'edge': retentionMinutes (retention_minutes) must be ...``.

A few inputs decide which resources exist (a finding source, a finding bus, the alarms): resources are
never created inside ``apply``, so those must be plain, and ``ArgsReader.plain`` refuses an Output.
"""

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pulumi
from pulumi.provider.experimental.util import camel_case

from components.config import InvalidConfig, labelled

T = TypeVar("T")


def snake_case(key: str) -> str:
    """The Python name of a schema (camelCase) name: the inverse of the analyzer's ``camel_case``."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def is_known(value: Any) -> bool:
    """True if ``value`` holds no Output or awaitable, at any depth of its lists and maps."""
    if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
        return False
    if isinstance(value, Mapping):
        return all(is_known(item) for item in value.values())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return all(is_known(item) for item in value)
    return True


class ArgsReader:
    """The Args of one component instance, with messages that name the component, instance and input."""

    def __init__(self, component: str, name: str, args: Mapping[str, Any]) -> None:
        self.component = component
        self.name = name
        self.args = args

    def label(self, key: str) -> str:
        """``<Component> '<name>': <camelCase> (<snake_case>)``; one name when both are the same."""
        field = snake_case(key)
        named = key if field == key else f"{key} ({field})"
        return f"{self.component} {self.name!r}: {named}"

    def get(self, field: str) -> Any:
        """The value given for ``field``, None when it was left out."""
        return self.args.get(field)

    def required(self, field: str) -> Any:
        """The value of a required input (a Python caller can leave one out; the provider cannot)."""
        value = self.args.get(field)
        if value is None:
            raise InvalidConfig(f"{self.label(camel_case(field))} is required")
        return value

    def plain(self, field: str) -> Any:
        """The value of an input that decides which resources exist: it must be known now."""
        value = self.args.get(field)
        if not is_known(value):
            raise InvalidConfig(
                f"{self.label(camel_case(field))} must be a plain value, not an output of another resource "
                "or a secret: it decides which resources the component creates"
            )
        return value

    def check(self, fields: Sequence[str], read: Callable[[Mapping[str, Any]], T]) -> T:
        """``read`` over plain ``fields`` (by camelCase name; see ``plain``), with this reader's labels."""
        values = {camel_case(field): self.plain(field) for field in fields if self.get(field) is not None}
        with labelled(self.label):
            return read(values)

    def settle(self, fields: Sequence[str], read: Callable[[Mapping[str, Any]], T]) -> pulumi.Input[T]:
        """``read`` over ``fields`` (by camelCase name, a missing one left out): at once, giving a plain
        value, if every value is plain; else an Output, checked when the values resolve. ``read`` raises
        ``InvalidConfig`` for a bad value."""
        values = {camel_case(field): self.args[field] for field in fields if self.get(field) is not None}

        def checked(resolved: Mapping[str, Any]) -> T:
            with labelled(self.label):
                return read(resolved)

        if is_known(values):
            return checked(values)
        return pulumi.Output.from_input(values).apply(checked)
