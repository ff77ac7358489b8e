"""The ``dns-firewall`` enforcement point: a Route 53 Resolver DNS Firewall domain list.

The list is the solution's own (the components create it and ignore its ``domains``); a BLOCK rule
in a rule group associated with the configured VPCs uses it. The domain writer
(``handlers.domain_writer``) plans the set; this point reads the list and applies the difference:

- **Deltas only.** UpdateFirewallDomains REMOVE, then ADD, at most 1,000 domains a call; never
  REPLACE (which would rewrite the list from a possibly stale read, and which DNS Firewall throttles by
  the size of the whole list). ADD of a present domain and REMOVE of an absent one change nothing, so a
  retried or repeated delta is harmless and two writers' deltas never undo each other's other domains.
- **One update at a time.** After every update the list is UPDATING until DNS Firewall has applied it
  (AWS answers ConflictException to another update meanwhile). The point waits for COMPLETE (polling
  GetFirewallDomainList with growing, jittered pauses) before its first call, between its chunks and
  after its last one, so a domain is confirmed in the ledger only once the list has settled. A
  ConflictException despite that means someone else is writing the list: ``StaleToken``, and the
  writer reads and plans again.
- **Not atomic across chunks.** A failure after some chunks leaves them applied; the writer's retry
  reads the list again and applies what is still missing, and a removed domain's ledger item is gone
  already, so every path converges on the ledger.
- **The quota.** DNS Firewall holds at most 100,000 domains across every list of the account and
  region. Reading the others' counts would need ListFirewallDomainLists and Get on every list; instead
  the point reports ``dnsFirewallMaxDomains`` (default 10,000) as its room, and the writer evicts or
  refuses before that. A LimitExceededException (other lists filled the account) is ``CapacityExceeded``.
"""

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.domains import InvalidDomain, canonical_domain
from handlers.errors import CapacityExceeded, ConfigurationError, FirewallRejected, FirewallUnavailable
from handlers.firewall import StaleToken, Transient
from handlers.settings import Settings

logger = logging.getLogger(__name__)

DNS_FIREWALL: Final = "dns-firewall"
MAX_DOMAINS_PER_UPDATE: Final = 1_000
"""UpdateFirewallDomains' documented limit per request."""
LIST_PAGE_SIZE: Final = 5_000
"""ListFirewallDomains' largest MaxResults."""
ACCOUNT_DOMAIN_QUOTA: Final = 100_000
"""DNS Firewall's default quota: domains across every domain list of an account and region."""
DEFAULT_MAX_DOMAINS: Final = 10_000
"""``dnsFirewallMaxDomains`` unless configured: a tenth of the account's quota, which other lists share."""
SETTLE_BUDGET_SECONDS: Final = 60.0
"""How long the point waits for the list to leave UPDATING before giving up (``Transient``)."""
SETTLE_FIRST_PAUSE: Final = 0.1
SETTLE_MAX_PAUSE: Final = 2.0
TRANSIENT_CODES: Final = frozenset(
    {"ThrottlingException", "InternalServiceErrorException", "ServiceUnavailable", "RequestLimitExceeded"}
)


def chunks(domains: Sequence[str], size: int = MAX_DOMAINS_PER_UPDATE) -> list[list[str]]:
    """``domains`` in consecutive slices of at most ``size``."""
    return [list(domains[start : start + size]) for start in range(0, len(domains), size)]


def canonical_entry(entry: str) -> str:
    """The canonical form of a list entry (case and the root's dot ignored); junk is kept as spelled.

    Entries this solution did not write (a hand-added wildcard, say) are drift: the writer removes what
    it does not want, and ``apply`` removes them by their exact spelling.
    """
    try:
        return canonical_domain(entry)
    except InvalidDomain:
        return entry.lower().rstrip(".") or entry


@dataclass
class DnsFirewallDomains:
    """The functions' DNS Firewall domain list, as a ``handlers.enforcement.DomainEnforcementPoint``."""

    list_id: str
    limit: int = DEFAULT_MAX_DOMAINS
    client_factory: Callable[[], Any] = field(repr=False, default=lambda: None)
    sleep: Callable[[float], None] = field(repr=False, default=time.sleep)
    monotonic: Callable[[], float] = field(repr=False, default=time.monotonic)
    rng: random.Random = field(repr=False, default_factory=random.Random)
    name: str = DNS_FIREWALL
    _client: Any = field(default=None, repr=False)
    _spellings: dict[str, set[str]] = field(default_factory=dict, repr=False)
    """Canonical domain -> every spelling the last read found (REMOVE must name the stored form)."""

    @classmethod
    def from_settings(cls, settings: Settings, clients: Any) -> "DnsFirewallDomains":
        """``clients``: a ``handlers.enforcement.Clients``."""
        if not settings.dns_firewall_domain_list_id:
            raise ConfigurationError(
                "domain blocking through dns-firewall needs the domain list's id "
                "(environment variable NFW_DNS_FIREWALL_DOMAIN_LIST_ID)"
            )
        if not 1 <= settings.dns_firewall_max_domains <= ACCOUNT_DOMAIN_QUOTA:
            raise ConfigurationError(
                "environment variable NFW_DNS_FIREWALL_MAX_DOMAINS must be from 1 to "
                f"{ACCOUNT_DOMAIN_QUOTA}, got {settings.dns_firewall_max_domains}"
            )
        return cls(
            list_id=settings.dns_firewall_domain_list_id,
            limit=settings.dns_firewall_max_domains,
            _client=clients.route53resolver,
            client_factory=_resolver_client(clients.region),
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def max_domains(self) -> int | None:
        return self.limit

    def current(self) -> set[str]:
        """Every domain in the list, canonical, read page by page (5,000 a page)."""
        spellings: dict[str, set[str]] = {}
        token: str | None = None
        while True:
            request: dict[str, Any] = {"FirewallDomainListId": self.list_id, "MaxResults": LIST_PAGE_SIZE}
            if token:
                request["NextToken"] = token
            answer = self._call("list_firewall_domains", **request)
            for entry in answer.get("Domains", []):
                spellings.setdefault(canonical_entry(entry), set()).add(entry)
            token = answer.get("NextToken")
            if not token:
                break
        self._spellings = spellings
        return set(spellings)

    def apply(self, add: Sequence[str], remove: Sequence[str]) -> None:
        """REMOVE ``remove`` (freeing quota first), then ADD ``add``; chunks of 1,000, one at a time."""
        removals = sorted({spelled for domain in remove for spelled in self._spellings.get(domain, {domain})})
        batches = [("REMOVE", chunk) for chunk in chunks(removals)] + [
            ("ADD", chunk) for chunk in chunks(sorted(set(add)))
        ]
        if not batches:
            return
        self._settle()
        for operation, chunk in batches:
            self._call(
                "update_firewall_domains",
                FirewallDomainListId=self.list_id,
                Operation=operation,
                Domains=chunk,
            )
            self._settle()
        logger.info(
            "dns firewall list updated",
            extra={"list": self.list_id, "added": len(add), "removed": len(removals), "calls": len(batches)},
        )

    def _settle(self) -> None:
        """Wait until the list is no longer UPDATING (Transient past the budget)."""
        deadline = self.monotonic() + SETTLE_BUDGET_SECONDS
        pause = SETTLE_FIRST_PAUSE
        while True:
            status = self._call("get_firewall_domain_list", FirewallDomainListId=self.list_id)[
                "FirewallDomainList"
            ].get("Status")
            if status != "UPDATING" and status != "IMPORTING":
                if status == "DELETING":
                    raise ConfigurationError(f"DNS Firewall domain list {self.list_id} is being deleted")
                return
            if self.monotonic() >= deadline:
                raise Transient("UPDATING")
            self.sleep(self.rng.uniform(pause / 2, pause))
            pause = min(SETTLE_MAX_PAUSE, pause * 1.5)

    def _call(self, method: str, **request: Any) -> Any:
        try:
            return getattr(self.client, method)(**request)
        except ClientError as e:
            raise self._translate(e) from e
        except BotoCoreError as e:
            raise Transient(type(e).__name__) from e

    def _translate(self, error: ClientError) -> Exception:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ConflictException":
            return StaleToken(message)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in TRANSIENT_CODES or status >= 500:
            return Transient(code or str(status))
        if code == "ResourceNotFoundException":
            return ConfigurationError(f"DNS Firewall domain list {self.list_id} does not exist")
        if code == "LimitExceededException":
            return CapacityExceeded(f"DNS Firewall refused the domains: {message}")
        if code == "AccessDeniedException":
            return ConfigurationError(
                f"not allowed to write DNS Firewall domain list {self.list_id}: {message}"
            )
        if code == "ValidationException":
            return FirewallRejected(f"DNS Firewall refused the update: {message}")
        return FirewallUnavailable(f"DNS Firewall error {code}: {message}")


def _resolver_client(region: str | None) -> Callable[[], Any]:
    def create() -> Any:
        # The writer owns retries: botocore's own would hide conflicts and stretch the lease.
        return boto3.client(
            "route53resolver", region_name=region, config=Config(retries={"total_max_attempts": 1})
        )

    return create
