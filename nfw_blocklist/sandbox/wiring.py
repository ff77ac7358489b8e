"""Checks that what the program wires together exists in the sandbox, before anything runs.

The sandbox exists to catch wiring mistakes in the components: a definition naming a function
that was never declared, an environment pointing at another table, a role that cannot start the
workflow. Each check here raises ``WiringError`` with the resource's URN, so the failing test (or
``nfw-blocklist demo``) says which declaration is wrong instead of failing later with a
puzzling ResourceNotFound inside an execution.
"""

import fnmatch
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class WiringError(Exception):
    """The rendered program references something it does not create, or grants too little to use it."""


def iter_states(definition: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every state of a definition, including those inside Parallel branches and Map iterators."""
    for name, state in definition.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from iter_states(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from iter_states(state[key])


def state_names(definition: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(name for name, _ in iter_states(definition))


@dataclass(frozen=True)
class TaskReference:
    """One resource a Task state reaches: ``kind`` is ``lambda``, ``sns`` or ``dynamodb``."""

    state: str
    kind: str
    target: str
    action: str


def task_references(definition: Mapping[str, Any]) -> list[TaskReference]:
    """What each Task state calls, from its Resource and Parameters (optimized integrations and ARNs)."""
    references = []
    for name, state in iter_states(definition):
        if state.get("Type") != "Task":
            continue
        resource = str(state.get("Resource", ""))
        parameters = state.get("Parameters") or state.get("Arguments") or {}
        if resource.startswith("arn:aws:states:::lambda:invoke"):
            references.append(
                TaskReference(
                    name, "lambda", str(parameters.get("FunctionName", "")), "lambda:InvokeFunction"
                )
            )
        elif resource.startswith("arn:aws:lambda:"):
            references.append(TaskReference(name, "lambda", resource, "lambda:InvokeFunction"))
        elif resource.startswith("arn:aws:states:::sns:publish"):
            references.append(TaskReference(name, "sns", str(parameters.get("TopicArn", "")), "sns:Publish"))
        elif resource.startswith("arn:aws:states:::dynamodb:"):
            action = "dynamodb:" + resource.rsplit(":", 1)[1][0].upper() + resource.rsplit(":", 1)[1][1:]
            references.append(TaskReference(name, "dynamodb", str(parameters.get("TableName", "")), action))
        else:
            references.append(TaskReference(name, "unknown", resource, ""))
    return references


@dataclass
class PolicyBook:
    """The inline and customer-managed policies attached to each role, to answer "may X do Y on Z"."""

    statements: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    """Role name -> Allow/Deny statements of every policy attached to it."""
    unresolved: dict[str, list[str]] = field(default_factory=dict)
    """Role name -> attached policy ARNs the sandbox cannot read (AWS-managed ones)."""

    def add_policy(self, role: str, document: str | Mapping[str, Any]) -> None:
        parsed = json.loads(document) if isinstance(document, str) else document
        statements = parsed.get("Statement", [])
        if isinstance(statements, Mapping):
            statements = [statements]
        self.statements.setdefault(role, []).extend(statements)

    def allows(self, role: str, action: str, resource: str) -> bool:
        """IAM's evaluation, reduced to what matters here: an explicit Deny wins, else any Allow."""
        allowed = False
        for statement in self.statements.get(role, []):
            if not (
                _matches_any(action, statement.get("Action"), ignore_case=True)
                and _resource_matches(statement, resource)
            ):
                continue
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
        return allowed


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _matches_any(value: str, patterns: Any, *, ignore_case: bool = False) -> bool:
    candidates = _as_list(patterns)
    if ignore_case:
        return any(fnmatch.fnmatchcase(value.lower(), pattern.lower()) for pattern in candidates)
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in candidates)


def _resource_matches(statement: Mapping[str, Any], resource: str) -> bool:
    # Lambda grants are often written for "arn:...:function:name:*" (versions) or the bare ARN.
    return _matches_any(resource, statement.get("Resource")) or _matches_any(
        resource + ":*", statement.get("Resource")
    )


def missing(names: Iterable[str], known: Iterable[str]) -> list[str]:
    known_set = set(known)
    return sorted({name for name in names if name not in known_set})
