"""The scenarios ``make bench`` runs, in one table.

A scenario is a function ``run(quick) -> Report`` in a module of its own; to add one, write the
module and add a line to ``SCENARIOS`` (``--scenario NAME`` and the full run pick it up from here).
"""

from collections.abc import Callable
from dataclasses import dataclass

from nfw_blocklist.bench.report import Report
from nfw_blocklist.bench.scenarios import (
    burst,
    domains,
    duplicates,
    faults,
    flood,
    next_generation,
    scale,
    storm,
)


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[bool], Report]
    """Runs the scenario (small sizes when given ``quick``) and returns its rows and targets."""
    alone: bool = False
    """Measured with no other scenario's process on the machine (its figures are CPU per finding:
    on a shared core a thread's CPU time inflates by ~25%)."""


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario("burst", burst.run),
        Scenario("scale", scale.run, alone=True),
        Scenario("faults", faults.run),
        Scenario("duplicates", duplicates.run),
        Scenario("storm", storm.run),
        Scenario("domains", domains.run),
        Scenario("flood", flood.run),
        Scenario("next-generation", next_generation.run, alone=True),
    )
}
