"""The render's event loop waits only on work it will run itself (issue 18, item 14).

Pulumi's mock monitor answers each registration on an executor thread, and that thread has an event loop
of its own that runs only while the monitor serializes an answer. A resource reference arriving at the
monitor made it rebuild the resource there: its Outputs and its RPC became tasks of that thread's loop,
tracked in the render's sets, so the render loop waited on tasks nobody ran (asleep in select(), every
executor thread idle) or, when a later registration happened to run that loop, was handed their completion
with a non-thread-safe call_soon that did not wake it. Each test would hang on that code; the render's own
watchdog (shortened here) turns a hang into a failure.
"""

import asyncio
import contextvars
import threading

import pulumi
import pulumi_aws as aws
import pytest

from nfw_blocklist import render
from nfw_blocklist.render import RenderError, render_function

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _short_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    """A render takes about a second; a hung one fails after this rather than the default minutes."""
    monkeypatch.setattr(render, "RENDER_TIMEOUT_SECONDS", 30.0)


class _Holder(pulumi.ComponentResource):
    """A component that keeps a role and names it among its registered outputs, as a resource."""

    def __init__(self, name: str) -> None:
        super().__init__("test:index:Holder", name, None, None)
        self.role = aws.iam.Role(
            f"{name}-role", assume_role_policy="{}", opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"role": self.role})


def test_a_resource_passed_as_an_input_and_an_output_renders_as_its_id():
    def program() -> None:
        holder = _Holder("holder")
        aws.iam.RolePolicy("policy", role=holder.role, policy="{}")

    rendered = render_function(program)

    role = rendered.by_name("holder-role")
    assert rendered.by_name("policy").inputs["role"] == role.id, rendered.by_name("policy").inputs
    assert rendered.by_name("holder").outputs == {"role": role.id}


# The stray Output's coroutine never runs: nothing runs the loop it was made on.
@pytest.mark.filterwarnings("ignore:coroutine 'Output.apply.<locals>.run' was never awaited:RuntimeWarning")
def test_an_output_made_on_another_thread_fails_the_render_naming_it():
    def elsewhere() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        pulumi.Output.from_input("made elsewhere").apply(str.upper)

    def program() -> None:
        thread = threading.Thread(target=contextvars.copy_context().run, args=(elsewhere,))
        thread.start()
        thread.join()

    with pytest.raises(RenderError, match=r"an Output was created on thread 'Thread-.*', not the render's"):
        render_function(program)
