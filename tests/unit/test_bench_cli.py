"""The bench's command line writes files only where it is told to (issue 18, item 13)."""

import json
from pathlib import Path

import pytest

from nfw_blocklist.bench import cli
from nfw_blocklist.bench.report import Report, Row

pytestmark = pytest.mark.unit

BURST_AND_STORM = ["--scenario", "burst", "--scenario", "storm", "--no-package", "--json"]


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bench run from (and believing it lives in) an empty folder, its scenarios replaced by a
    report with a burst curve: what a full run hands the command line."""
    monkeypatch.setattr(cli, "REPO", tmp_path)
    monkeypatch.chdir(tmp_path)

    def run(scenarios: list[str], quick: bool, isolate: bool = False, jobs: int = 1) -> Report:
        rows = [Row(name, "3 findings", hosts_requested=3) for name in scenarios]
        return Report(rows=rows, curve=[(0.0, 0), (1.5, 2), (2.0, 3)])

    monkeypatch.setattr(cli, "run", run)
    return tmp_path


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_a_run_of_several_scenarios_writes_no_plot_unless_asked(repository, capsys):
    assert cli.main(BURST_AND_STORM) == 0

    assert json.loads(capsys.readouterr().out)["curve"]
    assert _files(repository) == []


def test_the_plot_is_written_to_the_path_given_and_nowhere_else(repository, capsys):
    (repository / "results").mkdir()

    assert cli.main([*BURST_AND_STORM, "--plot", "results/burst.png"]) == 0

    assert _files(repository) == ["results/burst.png"]
    assert (repository / "results" / "burst.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--scenario", "storm", "--plot", "burst.png"], "--plot draws the burst scenario's curve"),
        (["--scenario", "burst", "--plot", "missing/burst.png"], "--plot: no such directory: missing"),
    ],
    ids=["no-burst-to-plot", "missing-directory"],
)
def test_a_plot_that_cannot_be_drawn_is_refused_before_anything_runs(repository, capsys, arguments, message):
    with pytest.raises(SystemExit, match="2"):
        cli.main([*arguments, "--no-package"])

    assert message in capsys.readouterr().err
    assert _files(repository) == []
