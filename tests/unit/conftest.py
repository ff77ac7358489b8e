"""Unit tests are pure: no sockets."""

from collections.abc import Iterator

import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture(scope="session")
def render_dev():
    """Render this repository's program for a stack, once per set of overrides (~1 s each)."""
    from nfw_blocklist.render import Rendered, render_stack

    cache: dict[tuple[str, tuple[tuple[str, str], ...]], Rendered] = {}

    def render(stack: str = "dev", **overrides: str) -> "Rendered":
        key = (stack, tuple(sorted(overrides.items())))
        if key not in cache:
            cache[key] = render_stack(stack, overrides)
        return cache[key]

    return render


@pytest.fixture(scope="session")
def construct():
    """Construct one component under the render's mocks, as a program would: ``construct(Type, args)``
    returns the Rendered resources and raises what the constructor (or an apply) raises."""
    from nfw_blocklist.render import Rendered, render_function

    def run(component: type, args: dict, name: str = "x") -> "Rendered":
        return render_function(lambda: component(name, args))

    return run
