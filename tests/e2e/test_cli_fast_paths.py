"""Sandbox commands check their arguments before deploying anything, and a repeated command on an
unchanged stack reuses its render (issue 17, item 10)."""

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import nfw_blocklist.render
from nfw_blocklist import cli, stacks
from nfw_blocklist.sandbox import Sandbox


@pytest.fixture
def no_sandbox(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every sandbox deployment instead of making it: a refused command must make none."""
    deployed: list[str] = []

    def refuse_to_start(self: Sandbox) -> Sandbox:
        deployed.append("sandbox")
        raise AssertionError("the command deployed a sandbox before refusing its arguments")

    monkeypatch.setattr(Sandbox, "start", refuse_to_start)
    return deployed


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Count the program's renders, with a render cache of the test's own."""
    monkeypatch.setenv(stacks.CACHE_ENV, str(tmp_path / "cache"))
    counted: list[str] = []
    real = nfw_blocklist.render.render_stack

    def counting(stack: str = "dev", *args: object, **kwargs: object) -> object:
        counted.append(stack)
        return real(stack, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(nfw_blocklist.render, "render_stack", counting)
    return counted


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["block", "10.1.2.3", "--reason", "x"], "inside protected network 10.0.0.0/8"),
        (["block", "not-an-ip!!", "--reason", "x"], "not a domain name"),
        (["block", "169.254.169.254", "--reason", "x"], "169.254.169.254"),
        (["block", "198.51.100.7", "--reason", "  "], "needs a reason"),
        (["block", "evil.example", "--reason", "x", "-c", "domainBlocking=off"], "domain blocking is off"),
        (["unblock", "not-an-ip!!"], "not a domain name"),
        (["block", "198.51.100.7", "--reason", "x", "--ttl", "3x"], "invalid duration"),
    ],
)
def test_a_refused_argument_is_refused_before_any_sandbox_is_deployed(run_cli, no_sandbox, arguments, reason):
    refused = run_cli(*arguments)

    assert (refused.status, refused.out) == (2, "")
    assert reason in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    assert no_sandbox == []


def test_a_repeated_command_on_an_unchanged_stack_renders_once(run_cli, renders):
    assert run_cli("list").status == 0
    assert run_cli("list").status == 0
    assert run_cli("status").status == 0

    assert renders == ["dev"]


def test_a_changed_override_renders_again(run_cli, renders):
    assert run_cli("list").status == 0
    assert run_cli("list", "-c", "retentionMinutes=60").status == 0
    assert run_cli("list", "-c", "retentionMinutes=60").status == 0

    assert renders == ["dev", "dev"]


def everything_in(rendered: Any) -> tuple[str, ...]:
    """Every field of a render; resources by URN (components register their children concurrently)."""
    shell = replace(rendered, resources=[])
    return (repr(shell), *sorted(repr(resource) for resource in rendered.resources))


def test_a_cached_render_is_the_render(renders, dev_render):
    first = stacks.render_with("dev", {})
    again = stacks.render_with("dev", {})

    assert renders == ["dev"]
    assert everything_in(again) == everything_in(first) == everything_in(dev_render)


def test_a_change_to_the_program_changes_the_render_key(tmp_path):
    project = tmp_path / "project"
    (project / "components").mkdir(parents=True)
    (project / "handlers").mkdir()
    (project / "Pulumi.yaml").write_text("name: p\n")
    (project / "components" / "thing.py").write_text("A = 1\n")
    before = stacks.render_key("dev", {}, project)

    (project / "components" / "thing.py").write_text("A = 2\n")

    assert stacks.render_key("dev", {}, project) != before
    assert stacks.render_key("dev", {}, project) == stacks.render_key("dev", {}, project)


def test_every_argument_of_every_command_has_a_help_text():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.dest}"
        for name, command in subparsers.choices.items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]

    assert missing == []
