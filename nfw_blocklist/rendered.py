"""What a render recorded: the resources a stack declares, with their inputs, and its outputs.

Plain values with no Pulumi in them: the sandbox and the CLI read them (also from the CLI's render
cache, ``nfw_blocklist.stacks``) without importing the Pulumi runtime; ``nfw_blocklist.render``
produces them.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

PROJECT_DIR: Final = Path(__file__).resolve().parent.parent
"""The repository: the Pulumi project rendered by default."""
SECRET_MARK: Final = "[secret]"


@dataclass(frozen=True)
class RenderedResource:
    """One registered resource (custom or component; the stack itself is not listed)."""

    type: str
    """Type token, e.g. ``aws:lambda/function:Function`` or ``nfw-blocklist:index:ResponseStateMachine``."""
    name: str
    """Logical name."""
    urn: str
    parent: str | None
    """The parent's URN; None for the stack's direct children."""
    id: str
    """Physical id the mocks assigned ('' for components)."""
    inputs: dict[str, Any]
    """As the engine received them: camelCase keys, Outputs resolved, secrets unwrapped (see
    ``secret_paths``), assets as ``{"path": ...}`` / ``{"text": ...}`` and archives as
    ``{"assets": {name: asset}}`` or ``{"path": ...}``."""
    state: dict[str, Any]
    """inputs plus the computed properties the mocks return (arn, name, id, url, ...)."""
    secret_paths: frozenset[tuple[str | int, ...]] = field(default=frozenset(), compare=False)
    """Paths into ``inputs`` whose values were secret; ``to_json`` redacts them."""
    ignore_changes: tuple[str, ...] = ()
    """The ``ignore_changes`` option as the engine received it (property paths)."""
    outputs: dict[str, Any] = field(default_factory=dict, compare=False)
    """What a component passed to ``register_outputs`` (empty for custom resources)."""
    dependencies: tuple[str, ...] = field(default=(), compare=False)
    """The URNs the engine was told this resource depends on (``depends_on`` and the resources whose
    outputs its inputs use): what it waits for before creating or updating this one."""


@dataclass(frozen=True)
class Rendered:
    stack: str
    project: str
    config: dict[str, str]
    resources: list[RenderedResource]
    outputs: dict[str, Any]
    secret_outputs: frozenset[str] = field(default=frozenset(), compare=False)

    def of_type(self, type_: str) -> list[RenderedResource]:
        """Resources of one type token, in registration order."""
        return [resource for resource in self.resources if resource.type == type_]

    def by_name(self, name: str) -> RenderedResource:
        """The resource with this logical name (unique in this program)."""
        matches = [resource for resource in self.resources if resource.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def to_json(self) -> dict[str, Any]:
        """``{"resources": [{"type", "name", "parent", "inputs"}], "outputs": {...}}``, secrets redacted.

        ``parent`` is the parent's logical name (None for the stack's children).
        """
        names = {resource.urn: resource.name for resource in self.resources}
        return {
            "resources": [
                {
                    "type": resource.type,
                    "name": resource.name,
                    "parent": names.get(resource.parent) if resource.parent else None,
                    "inputs": _redact(resource.inputs, resource.secret_paths),
                }
                for resource in self.resources
            ],
            "outputs": {
                key: SECRET_MARK if key in self.secret_outputs else value
                for key, value in self.outputs.items()
            },
        }


def _redact(
    value: Any, secret_paths: frozenset[tuple[str | int, ...]], path: tuple[str | int, ...] = ()
) -> Any:
    if path in secret_paths:
        return SECRET_MARK
    if isinstance(value, dict):
        return {key: _redact(item, secret_paths, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, secret_paths, (*path, index)) for index, item in enumerate(value)]
    return value


def runs_entry_point(handler: str, entry_point: str) -> bool:
    """Whether a function whose handler is ``handler`` runs ``entry_point`` (``handlers.entry.block``,
    or just ``block``): how the sandbox and the CLI find the function whose settings they share."""
    return handler == entry_point or handler.endswith(f".{entry_point}")
