"""Pulumi's own rules for project config, so every stack the render runs is one the Pulumi CLI would run.

The CLI checks a stack against the ``config:`` block of ``Pulumi.yaml`` before the program starts, and
``pulumi config set`` decides what a command stores (a string, a number, a list). This module repeats
both, so the render, the sandbox's ``-c`` and the tests that replay the README's commands refuse what the
CLI refuses, with its message. What it follows, in github.com/pulumi/pulumi (read at commit 1b59498):

- ``pkg/workspace/config.go``: ``mergeConfig`` (a declared key of the project's namespace with neither a
  default nor a value, and no stack value, is missing: "Stack 'dev' is missing configuration value 'k'";
  several are listed sorted, "values 'a' and 'b'"); then ``validateStackConfigValues``, key by key in
  sorted order: "Stack 'dev' with configuration key 'k' must be of type 'array<string>'".
- ``sdk/go/common/workspace/project.go``: ``ValidateConfigValue`` (string: a string; integer: an integer,
  a whole float, or a string ``strconv.Atoi`` takes; boolean: ``true``/``false`` or the strings; object: a
  map; array: a list whose every item has the item type) and ``Project.Validate`` (defaults are checked
  against the type; an array needs ``items``).
- ``sdk/go/common/resource/config/object.go`` and ``value.go``: a stack file's scalar is stored as text
  (``720``, ``true``), a list or map as a JSON object; ``pulumi config set --path`` coerces the element:
  ``true``/``false`` become booleans and base-10 digits not starting with 0 become numbers, so
  ``--path 'ids[0]' 111122223333`` stores a number. ``--type string`` (Pulumi 3.148 and later) keeps it a
  string. A new list built for ``--path 'k[2]'`` has nulls before index 2.
- ``pkg/cmd/pulumi/config/config.go`` (``newConfigSetCmd``: ``--path``, ``--type`` string|int|bool|float)
  and ``pkg/cmd/pulumi/project/newcmd/config.go`` (``pulumi up -c KEY=VALUE``: a plain string value, set
  by path with ``--config-path``; the command line's keys replace the stack's).

Not modelled: the type of a secret (a secure value is passed on unchecked: the render cannot decrypt
it; a ``secret: true`` key must be secure, as in the CLI) and ESC environments. A stack file is read as
the CLI's YAML 1.2 parser reads it: ``yes`` is a string, not a boolean.
"""

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml  # type: ignore[import-untyped]

TYPES: Final = ("string", "int", "bool", "float")
"""The types ``pulumi config set --type`` accepts."""

INT64_MAX: Final = 2**63 - 1


class ProjectConfigError(ValueError):
    """The stack's config is one the Pulumi CLI refuses; the message is the CLI's."""


@dataclass(frozen=True)
class StoredValue:
    """One config value as a stack file holds it (the CLI's ``config.Value``): text, or a JSON object."""

    text: str
    """The text the program reads: a scalar as written, a list or map as JSON."""
    is_object: bool = False
    """A list or map (or null), stored as JSON."""
    secure: bool = False
    """Ciphertext (``secure:``); the render passes it on as is and marks the key secret."""

    @classmethod
    def of(cls, value: Any) -> "StoredValue":
        """A value as ``yaml`` reads it from a stack file or a project default."""
        if isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str):
            return cls(value["secure"], secure=True)
        if isinstance(value, bool):
            return cls("true" if value else "false")
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, int | float):
            return cls(json.dumps(value))
        if isinstance(value, list | dict) or value is None:
            return cls(json.dumps(value), is_object=True)
        return cls(str(value))  # a YAML timestamp: Go stores its text

    @property
    def content(self) -> Any:
        """What the CLI's type check looks at: the text, or the decoded list or map."""
        return json.loads(self.text) if self.is_object else self.text


def conforms(type_name: str, items: Mapping[str, Any] | None, value: Any) -> bool:
    """``ValidateConfigValue``: does the value have the declared type?"""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        return isinstance(value, str) and _atoi(value) is not None
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(conforms(str(items.get("type")), items.get("items"), item) for item in value)


def type_name(spec: Mapping[str, Any]) -> str:
    """``InferFullTypeName``: ``array<string>`` for a list of strings."""
    items = spec.get("items")
    if items is not None:
        return f"array<{type_name(items)}>"
    return str(spec.get("type"))


def _atoi(text: str) -> int | None:
    """Go's ``strconv.Atoi``: an optional sign and ASCII digits, within int64."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    number = int(text)
    return number if -INT64_MAX - 1 <= number <= INT64_MAX else None


def full_key(project: str | None, key: str) -> str:
    """``namespace:key``; a key without one is in the project's (None: left as written)."""
    return key if ":" in key or project is None else f"{project}:{key}"


def declared_config(project_doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The project's ``config:`` block checked as ``Project.Validate`` checks it; short forms expanded."""
    project = str(project_doc["name"])
    declared: dict[str, dict[str, Any]] = {}
    for key, raw in (project_doc.get("config") or {}).items():
        spec: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {"value": raw}
        if "default" in spec and "value" in spec:
            raise ProjectConfigError(
                f"project config '{key}' cannot have both a 'default' and 'value' attribute"
            )
        if ":" not in key or key.startswith(f"{project}:"):
            if spec.get("type") == "array" and spec.get("items") is None:
                raise ProjectConfigError(
                    f"The configuration key '{key}' declares an array "
                    "but does not specify the underlying type via the 'items' attribute"
                )
            default = spec.get("default")
            if (
                "type" in spec
                and default is not None
                and not conforms(str(spec["type"]), spec.get("items"), default)
            ):
                raise ProjectConfigError(
                    f"The default value specified for configuration key '{key}' "
                    f"is not of the expected type '{type_name(spec)}'"
                )
        declared[key] = spec
    return declared


def apply_project_config(
    stack: str, project_doc: Mapping[str, Any], values: Mapping[str, StoredValue]
) -> dict[str, StoredValue]:
    """The stack's values with the project's defaults added, refused as ``pulumi up`` refuses them.

    ``values`` are keyed ``namespace:key``; so is the result.
    """
    project = str(project_doc["name"])
    declared = declared_config(project_doc)
    merged = dict(values)
    missing: list[str] = []
    for key in sorted(declared):
        spec = declared[key]
        full = full_key(project, key)
        if full in merged:
            continue
        fallback = spec.get("default", spec.get("value"))
        if fallback is None:
            if full.split(":")[0] == project:
                missing.append(key)
            continue
        merged[full] = StoredValue.of(fallback)
    if missing:
        raise ProjectConfigError(_missing_message(stack, missing))
    for key in sorted(declared):
        spec = declared[key]
        stored = merged.get(full_key(project, key))
        if "type" not in spec or stored is None:
            continue
        if spec.get("secret") and not stored.secure:
            raise ProjectConfigError(
                f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )
        if stored.secure:
            continue  # ciphertext: the CLI checks the decrypted value, which the render cannot see
        if not conforms(str(spec["type"]), spec.get("items"), stored.content):
            raise ProjectConfigError(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{type_name(spec)}'"
            )
    return merged


def _missing_message(stack: str, keys: list[str]) -> str:
    if len(keys) == 1:
        return f"Stack '{stack}' is missing configuration value '{keys[0]}'"
    quoted = [f"'{key}'" for key in sorted(keys)]
    return f"Stack '{stack}' is missing configuration values {', '.join(quoted[:-1])} and {quoted[-1]}"


# --- What a command stores -------------------------------------------------------------------------

_SEGMENT = re.compile(r'\[(?:(\d+)|"((?:[^"\\]|\\.)*)")\]|\.([^.\[\]]+)')


def parse_path(name: str) -> list[str | int]:
    """A ``--path`` key's name: ``ids[0]``, ``parent.child``, ``m["a.b"]`` (first segment a name)."""
    head = re.match(r"[^.\[\]]+", name)
    if head is None:
        raise ProjectConfigError(f"invalid config key path {name!r}: it must start with a key name")
    path: list[str | int] = [head.group(0)]
    position = head.end()
    while position < len(name):
        segment = _SEGMENT.match(name, position)
        if segment is None:
            raise ProjectConfigError(f"invalid config key path {name!r} at character {position + 1}")
        index, quoted, field = segment.groups()
        path.append(int(index) if index is not None else quoted if quoted is not None else field)
        position = segment.end()
    return path


def _coerce(text: str) -> Any:
    """An untyped ``--path`` element: ``true``/``false`` and base-10 digits not led by 0 are not strings."""
    if text in ("true", "false"):
        return text == "true"
    if len(text) > 1 and text[0] == "0":
        return text
    if re.fullmatch(r"[+-]?[0-9]+", text) and -(2**63) <= int(text) < 2**64:
        return int(text)
    return text


def _typed(text: str, type_: str | None) -> Any:
    """The element ``--type`` makes of the text (none: ``_coerce``)."""
    if type_ is None:
        return _coerce(text)
    if type_ == "string":
        return text
    if type_ == "int":
        number = _atoi(text)
        if number is None:
            raise ProjectConfigError(f'strconv.Atoi: parsing "{text}": invalid syntax')
        return number
    if type_ == "bool":
        # Go's strconv.ParseBool; the CLI stores false (with a warning) for anything else.
        return text in ("1", "t", "T", "TRUE", "true", "True")
    try:
        return float(text)
    except ValueError:
        raise ProjectConfigError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None


def config_set(
    values: dict[str, StoredValue],
    project: str | None,
    key: str,
    text: str,
    *,
    path: bool = False,
    type_: str | None = None,
) -> None:
    """``pulumi config set [--path] [--type T] KEY VALUE`` on ``values``, keyed ``namespace:key`` (with
    ``project`` None, a key without a namespace stays without one)."""
    if type_ is not None and type_ not in TYPES:
        raise ProjectConfigError(f"invalid type {type_!r}; must be one of string, int, bool, or float")
    namespace, colon, name = full_key(project, key).rpartition(":")
    segments: list[str | int] = parse_path(name) if path else [name]
    root_key = f"{namespace}{colon}{segments[0]}"
    if len(segments) == 1:
        values[root_key] = (
            StoredValue(text) if type_ in (None, "string") else StoredValue.of(_typed(text, type_))
        )
        return
    element = _typed(text, type_)
    existing = values.get(root_key)
    root: Any = existing.content if existing is not None and existing.is_object else None
    if not isinstance(root, list | dict):
        # A new key, or (as the CLI allows) a scalar replaced by a container.
        root = _container(segments[1])
    values[root_key] = StoredValue.of(_set_in(root, segments[:1], segments[1:], element))


def _container(accessor: str | int) -> Any:
    return [None] * (accessor + 1) if isinstance(accessor, int) else {}


def _set_in(node: Any, prefix: list[str | int], path: list[str | int], element: Any) -> Any:
    if not path:
        return element
    if node is None:
        node = _container(path[0])
    elif not isinstance(node, list | dict):
        kind = "an array" if isinstance(path[0], int) else "a map"
        raise ProjectConfigError(f"could not set config: {_show(prefix)}: expected {kind}")
    accessor, here = path[0], [*prefix, path[0]]
    if isinstance(node, list):
        if not isinstance(accessor, int):
            raise ProjectConfigError(f"could not set config: {_show(here)}: key for an array must be an int")
        if accessor > len(node):
            raise ProjectConfigError(f"could not set config: {_show(here)}: array index out of range")
        if accessor == len(node):
            node.append(None)
        node[accessor] = _set_in(node[accessor], here, path[1:], element)
        return node
    if not isinstance(accessor, str):
        raise ProjectConfigError(f"could not set config: {_show(here)}: key for a map must be a string")
    node[accessor] = _set_in(node.get(accessor), here, path[1:], element)
    return node


def _show(path: list[str | int]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")


def command_line_config(pairs: Iterable[tuple[str, str]]) -> dict[str, StoredValue]:
    """``pulumi up -c KEY=VALUE ...``: each value a string; a key written as a path (``ids[0]``, as with
    ``--config-path``) sets an element, coerced as ``pulumi config set --path`` coerces it. Keys stay as
    written (the render puts them in the project's namespace); each replaces the stack's value."""
    values: dict[str, StoredValue] = {}
    for key, text in pairs:
        config_set(values, None, key, text, path=bool(re.search(r"[.\[]", key.split(":")[-1])))
    return values


def load_stack_file(text: str) -> dict[str, StoredValue]:
    """A ``Pulumi.<stack>.yaml``'s ``config:``, each value as the CLI stores it."""
    document = yaml.load(text, Loader=_PulumiYamlLoader) or {}
    return {str(key): StoredValue.of(value) for key, value in (document.get("config") or {}).items()}


class _PulumiYamlLoader(yaml.SafeLoader):
    """YAML as the CLI's Go parser reads it: ``yes``, ``no``, ``on`` and ``off`` are strings, not booleans."""


_PulumiYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PulumiYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
