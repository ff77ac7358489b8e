"""Toy Lambda handlers for the sandbox's own tests (see toy_stack.py)."""

from typing import Any

from handlers import clock, entry


class ToyFailure(Exception):
    """Raised on request, to check that the error name reaches the state machine."""


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Echo the input with what the handler saw of its environment and clock."""
    if event.get("detail", {}).get("fail"):
        raise ToyFailure("asked to fail")
    return {
        "greeting": entry.environment().get("TOY_GREETING"),
        "table": entry.environment().get("NFW_TABLE_NAME"),
        "now": clock.now(),
        "function": context.function_name,
        "tick": event.get("tick", False),
    }


def sized(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Return ``{"blob": "x" * size}`` for the event's ``size`` (or ``detail.size``): payload limits."""
    size = int(event.get("size") or event.get("detail", {}).get("size") or 0)
    return {"blob": "x" * size}


def count(event: Any, context: Any) -> dict[str, Any]:
    """Return how many items the payload has: for payloads that are not an event."""
    return {"items": len(event)}
