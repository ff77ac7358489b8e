"""The domains' writer: the IP writer's lease, plan, pending and eviction machinery, over enforcement points.

``DomainTarget`` is the ``HostTarget`` a ``RuleGroupWriter`` writes when its hosts are domains. It reads
every configured point (``handlers.enforcement``), plans one set of domains for all of them, and applies
to each point the difference between what it holds and that set. So with ``domainBlocking: both`` a
domain is confirmed in the ledger only once both points hold it, and a point that missed a write (a
crash between the two, a hand edit) is brought back in line by the next write or prune.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from handlers import schema
from handlers.domains import is_domain
from handlers.enforcement import DomainEnforcementPoint
from handlers.writer import Rendering, TargetView

POINT_PLACES = {"network-firewall": "domain rule group", "dns-firewall": "DNS Firewall domain list"}
"""What each enforcement point is, as the logs name it."""
UNLIMITED_DOMAINS = 1 << 31
"""Room a point without a limit of its own reports (``max_domains`` None)."""


@dataclass
class DomainTarget:
    points: Sequence[DomainEnforcementPoint]
    lease_key: str = schema.DOMAIN_LEASE_KEY

    @property
    def place(self) -> str:
        return " and ".join(POINT_PLACES.get(point.name, point.name) for point in self.points)

    def owns(self, host: str) -> bool:
        return is_domain(host)

    def read(self, known: object) -> TargetView:
        """Every point, read afresh (a point has no token the lease could vouch for)."""
        held = {point.name: point.current() for point in self.points}
        limits = [limit for limit in (point.max_domains() for point in self.points) if limit is not None]
        current = set().union(*held.values()) if held else set()
        return TargetView(None, current, min(limits, default=UNLIMITED_DOMAINS), held)

    def render(self, view: TargetView, desired: set[str], full: bool) -> Rendering:
        held: dict[str, set[str]] = view.detail
        needs_write = any(domains != desired for domains in held.values())
        # Points that disagree with each other were changed behind the writer's back (or a write to one
        # of them failed): a full sync reports that as repaired drift.
        repaired = full and needs_write and len({frozenset(domains) for domains in held.values()}) > 1
        return Rendering(needs_write, repaired, desired)

    def write(self, view: TargetView, rendering: Rendering) -> None:
        held: dict[str, set[str]] = view.detail
        desired: set[str] = rendering.payload
        for point in self.points:
            current = held[point.name]
            if current != desired:
                point.apply(sorted(desired - current), sorted(current - desired))
