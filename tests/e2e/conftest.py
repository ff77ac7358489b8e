"""End-to-end fixtures: the CLI and the sandbox, plus the session's state-machine state coverage.

Every execution any sandbox finishes is reported to ``nfw_blocklist.sandbox.observers``; the
collector below keeps which states each state machine entered (from the execution history) and
which states its definition declares, so ``test_state_coverage.py`` can check, at the end of the
session, that the e2e tests together walk every state of both workflows.
"""

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nfw_blocklist import cli
from nfw_blocklist.sandbox import ExecutionResult, observers
from tests.coverage_evidence import write_coverage_evidence

SAMPLES = Path(cli.__file__).resolve().parent / "samples"
COVERAGE_TEST = "test_every_state_of_both_workflows_is_entered"


@dataclass
class StateCoverage:
    """Per state machine (physical name): states declared, and states entered with the tests that did."""

    declared: dict[str, frozenset[str]] = field(default_factory=dict)
    entered: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    current_test: str = ""
    all_e2e_selected: bool = False

    def observe(self, result: ExecutionResult) -> None:
        self.declared[result.state_machine] = result.defined_states
        states = self.entered.setdefault(result.state_machine, {})
        for state in result.entered_states:
            states.setdefault(state, set()).add(self.current_test)


COVERAGE = StateCoverage()


# At import, not in pytest_sessionstart: a plain `pytest` run loads this conftest during collection,
# after session start, so that hook would never run and no execution would be observed.
if COVERAGE.observe not in observers:
    observers.append(COVERAGE.observe)


LONG_TESTS = frozenset(
    {
        "test_a_600_host_port_probe_is_blocked_with_every_state_under_the_limit",
        "test_brake_status_shows_the_refused_hosts_and_release_turns_it_off",
        "test_quick_burst_reports_every_figure_and_loses_no_host",
        "test_both_shapes_of_one_sequence_block_its_indicators_once_and_the_email_names_the_sequence",
        "test_quick_storm_reports_lost_hosts_failures_and_ledger_contention",
        "test_a_crash_between_ledger_and_group_is_healed_by_the_next_pruning_run",
        "test_every_readme_transcript_is_what_its_commands_print",
        "test_one_finding_from_the_security_account_blocks_in_both_network_regions",
        "test_a_concurrent_burst_of_domains_loses_none_in_the_list",
        "test_the_topology_replay_prints_a_summary_per_deployment_without_json",
    }
)
"""The e2e tests that took longest (CPU one file at a time, and ``--durations`` under ``-n 2``, Dec 2026:
25-85 s each on a loaded machine). pytest-xdist hands
tests out in collection order: these start first, so none of them is left running on one core at the
end of ``make test`` while the other core idles."""


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Run the longest e2e tests first and the coverage check last, and only judge coverage when the
    whole e2e suite was selected."""
    e2e_dir = Path(__file__).parent
    e2e_files = {p.name for p in e2e_dir.glob("test_*.py")}
    selected_files = {
        Path(str(item.fspath)).name for item in items if Path(str(item.fspath)).parent == e2e_dir
    }
    COVERAGE.all_e2e_selected = e2e_files <= selected_files and not config.getoption("keyword")
    items.sort(key=lambda item: (item.name.startswith(COVERAGE_TEST), item.name not in LONG_TESTS))


@pytest.fixture(autouse=True)
def _name_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    COVERAGE.current_test = request.node.name
    yield
    COVERAGE.current_test = ""


@pytest.fixture
def state_coverage() -> StateCoverage:
    return COVERAGE


@pytest.fixture
def sample() -> Callable[[str], str]:
    """Path (as a string, the way a user types it) of a shipped event sample."""

    def path(name: str) -> str:
        found = SAMPLES / name
        assert found.exists(), f"missing sample {found}"
        return str(found)

    return path


@dataclass
class CliRun:
    status: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """Run ``nfw-blocklist ARGS`` in-process and capture what it printed."""

    def run(*args: str) -> CliRun:
        capsys.readouterr()
        status = cli.main(list(args))
        captured = capsys.readouterr()
        return CliRun(status, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def dev_render() -> Any:
    """The dev stack rendered once per session (rendering is pure; each test deploys its own sandbox)."""
    from nfw_blocklist.render import render_stack

    return render_stack("dev")


@pytest.fixture
def dev_sandbox(dev_render: Any) -> Iterator[Any]:
    from nfw_blocklist.sandbox import Sandbox

    with Sandbox(dev_render) as sandbox:
        yield sandbox


@pytest.fixture
def reference_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((SAMPLES / "securityhub-guardduty-c2-finding.json").read_text())
    return event


@pytest.fixture
def write_event(tmp_path: Path) -> Callable[[str, Any], str]:
    """Write an event (or array of events) to a file and return its path."""

    def write(name: str, content: Any) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(content))
        return str(path)

    return write


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, each worker leaves the states its executions entered (coverage_evidence.py)."""
    if hasattr(session.config, "workerinput"):
        write_coverage_evidence(None, COVERAGE.entered)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """With -v, list which tests entered each state (the evidence behind the coverage check)."""
    if not COVERAGE.entered or terminalreporter.config.getoption("verbose") < 1:
        return
    terminalreporter.section("workflow states entered by e2e tests")
    for machine in sorted(COVERAGE.entered):
        if machine.startswith("toy-"):
            continue
        for state in sorted(COVERAGE.declared.get(machine, frozenset())):
            tests = sorted(COVERAGE.entered[machine].get(state, set()))
            shown = ", ".join(tests[:3]) + (f" (+{len(tests) - 3} more)" if len(tests) > 3 else "")
            terminalreporter.write_line(f"{machine} {state}: {shown or 'NEVER ENTERED'}")


def break_function(sandbox: Any, entry_point: str) -> None:
    """Give one deployed function an environment it refuses (``onCapacityFull`` no value allows), as a
    hand edit in the Lambda console would: its every invocation then fails with ConfigurationError,
    which no state retries, so the workflow takes its failure path at once."""
    spec = sandbox.function(entry_point)
    broken = dataclasses.replace(spec, environment={**spec.environment, "NFW_ON_CAPACITY_FULL": "sometimes"})
    sandbox.lambdas.register(broken)
