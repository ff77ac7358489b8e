"""Domain names: canonical form, what each enforcement point can hold, and the never-block list.

Every domain that reaches the ledger or an enforcement point goes through ``canonical_domain`` first,
so one domain has exactly one spelling and the ledger key, the rule group, the DNS Firewall list and the
notification always agree. The canonical form is the name a resolver looks up:

- **ASCII labels are kept as DNS carries them**, lower-cased: letters, digits, hyphens anywhere (a
  leading or trailing one, ``--`` in the 3rd and 4th places) and underscores (``_dmarc``), and any
  ``xn--`` label whether or not its punycode decodes. DNS resolves all of these, so a finding naming one
  is a name someone looked up, and whoever controls a zone can pick one.
- **Unicode labels become A-labels by IDNA2008 with UTS 46 mapping, non-transitional** (the ``idna``
  package), as resolvers and browsers do: ``straße.de`` is ``xn--strae-oqa.de``, never the standard
  library's IDNA2003 ``strasse.de`` (another domain); final sigma and ZWNJ in context are kept;
  full-width letters fold to ASCII, so a protected name cannot hide behind them.
- **Refused:** what is not a DNS name (empty labels, a label over 63 or a name over 253 characters,
  control characters, spaces, other punctuation, a Unicode label IDNA2008 refuses), a wildcard, a bare
  TLD and an IP literal.

A name DNS resolves is not always one every enforcement point can hold: ``POINT_NAME_RULES`` says what
each accepts (DNS Firewall documents letters, digits and hyphens; Network Firewall documents nothing,
and is held to host names), and the policy skips such a name as ``unenforceable-domain`` naming the
point, rather than let one name break a whole list's update.

A domain is blocked exactly as named: never with a leading ``.`` (Network Firewall's "and every
subdomain") nor a ``*.`` (DNS Firewall's wildcard). So blocking ``evil.example`` never touches
``good.evil.example``'s parent or siblings, and no block can cover a protected name by reaching up.

The ledger keeps domains beside IP hosts, under the same key attribute: an IP host is always a CIDR
(``198.51.100.7/32``) and a domain never holds a ``/``, so ``host_kind`` tells them apart without a
second key or index.
"""

import functools
import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import idna

from handlers.addresses import describe_host
from handlers.errors import ConfigurationError, InvalidInput
from handlers.model import TargetKind

DNS_REQUEST_ACTION: Final = "dnsRequestAction"
"""The GuardDuty action whose ``domain`` names what a DNS finding's instance looked up."""
MAX_DOMAIN_CHARS: Final = 253
"""The longest name DNS can carry (RFC 1035: 255 octets on the wire, 253 characters written)."""
MAX_LABEL_CHARS: Final = 63
_MAX_RAW_CHARS: Final = 1024
"""Longer input is refused before any decoding: punycode expansion of 253 characters stays far below."""
_LABEL_CHARS: Final = frozenset(string.ascii_lowercase + string.digits + "-_")
"""Letters, digits, hyphens and underscores: what query names carry (``_dmarc``, ``_sip._tcp``, and any
name a zone's owner chose). Other ASCII punctuation names no host a finding could have looked up."""
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Zs", "Zl", "Zp"})
"""Control characters and separators: never part of a name, refused before any mapping."""

BUILT_IN_PROTECTED_DOMAINS: Final = (
    "amazonaws.com",  # every service endpoint (not the customers' names under it: CUSTOMER_NAMES)
    "amazonaws.com.cn",
    "amazon.com",  # includes aws.amazon.com (console, sign-in) and the Amazon root domains
    "aws.amazon.com",
    "api.aws",  # the newer dual-stack service endpoints
    "aws",  # the .aws top-level domain AWS itself uses
    "amazontrust.com",  # certificate revocation for Amazon's certificates
    "internal",  # the VPC resolver's names: ec2.internal, <region>.compute.internal
    "ec2.internal",
    "compute.internal",
    "local",  # mDNS
    "localhost",
    "localdomain",
    "arpa",  # reverse lookups (in-addr.arpa, ip6.arpa) and home.arpa
)
"""Never blocked, whatever the findings or the configuration say: blocking one of these would cut the
VPC off from AWS's own APIs or its resolver. Each entry protects itself and every subdomain, except the
names customers control under AWS's suffixes (``CUSTOMER_NAMES``)."""

_REGION: Final = r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}"
_AWS_COM: Final = r"\.amazonaws\.com(?:\.cn)?"
CUSTOMER_NAMES: Final = (
    (
        "an S3 bucket",
        re.compile(
            rf".+\.s3(?:\.{_REGION}|\.dualstack\.{_REGION}|-{_REGION}|-website[.-]{_REGION}|-external-1)?{_AWS_COM}"
        ),
    ),
    ("an S3 access point", re.compile(rf"[^.]+\.s3-accesspoint(?:\.dualstack)?\.{_REGION}{_AWS_COM}")),
    ("an API Gateway API", re.compile(rf"[^.]+\.execute-api\.{_REGION}{_AWS_COM}")),
    ("an AppSync API", re.compile(rf"[^.]+\.appsync-api\.{_REGION}{_AWS_COM}")),
    ("a Lambda function URL", re.compile(rf"[^.]+\.lambda-url\.{_REGION}\.on\.aws")),
    ("a load balancer", re.compile(rf"[^.]+\.(?:{_REGION}\.elb|elb\.{_REGION}){_AWS_COM}")),
    (
        "an EC2 instance's public name",
        re.compile(rf"ec2-[0-9-]+\.(?:compute-1|{_REGION}\.compute){_AWS_COM}"),
    ),
)
"""Names under AWS's suffixes that a customer, any customer, chooses and serves content from: a bucket,
an API, a function URL, a load balancer, an instance. C2 on cloud hosting is common, and a block is an
exact name, so blocking one cuts nothing else: these stay blockable. Everything else under the built-in
AWS suffixes (the service endpoints, ``*.vpce.amazonaws.com``, account endpoints such as
``<account>.dkr.ecr.<region>.amazonaws.com``, names this list does not know) stays protected."""


def customer_name(domain: str) -> str | None:
    """What customer-controlled resource canonical ``domain`` names under an AWS suffix, or None."""
    return next((kind for kind, shape in CUSTOMER_NAMES if shape.fullmatch(domain)), None)


class DomainSkip(StrEnum):
    """Why a domain string was refused (machine-readable, stable)."""

    NOT_TEXT = "not-text"
    EMPTY = "empty"
    TOO_LONG = "too-long"
    BAD_CHARACTER = "bad-character"
    EMPTY_LABEL = "empty-label"
    LABEL_TOO_LONG = "label-too-long"
    BAD_IDN = "bad-idn"
    """A Unicode label IDNA2008 (UTS 46, non-transitional) refuses."""
    WILDCARD = "wildcard"
    BARE_TLD = "bare-tld"
    IP_LITERAL = "ip-literal"


class InvalidDomain(InvalidInput):
    """A value that is not exactly one blockable domain name."""

    def __init__(self, why: DomainSkip, value: object, detail: str) -> None:
        super().__init__(f"not a domain name ({detail}): '{describe_host(value)}'")
        self.why = why


def host_kind(host: str) -> TargetKind:
    """What a canonical ledger host is (``TargetKind.of``)."""
    return TargetKind.of(host)


def is_domain(host: str) -> bool:
    return TargetKind.of(host) is TargetKind.DOMAIN


def looks_like_domain(value: object) -> bool:
    """Does an operator's argument name a domain rather than an address (a letter outside hex, no ':')?

    ``beef.cafe`` is a domain and ``198.51.100.7`` is not; a value that is neither still goes to the
    parser this picks, whose error says what was wrong.
    """
    if not isinstance(value, str) or ":" in value or "/" in value:
        return False
    return any(ch.isalpha() for ch in value) or "_" in value or "*" in value


def canonical_domain(value: object) -> str:
    """The one spelling of the domain ``value`` names; ``InvalidDomain`` (saying why) otherwise."""
    if not isinstance(value, str):
        raise InvalidDomain(DomainSkip.NOT_TEXT, value, f"{type(value).__name__}, not text")
    return _canonical(value)


@functools.lru_cache(maxsize=1 << 16)
def _canonical(value: str) -> str:
    labels = _labels(value)
    if len(labels) < 2:
        raise InvalidDomain(
            DomainSkip.BARE_TLD, value, "a single label (a top-level domain) is never blocked"
        )
    if labels[-1].isdigit():
        # 198.51.100.7 written as a name: its "TLD" is numeric, which no delegated TLD is.
        raise InvalidDomain(DomainSkip.IP_LITERAL, value, "an IP address, not a name")
    return ".".join(labels)


def _labels(value: str) -> list[str]:
    """The canonical labels of ``value`` (one or more), or ``InvalidDomain``."""
    if len(value) > _MAX_RAW_CHARS:
        raise InvalidDomain(DomainSkip.TOO_LONG, value, f"longer than {MAX_DOMAIN_CHARS} characters")
    text = value[:-1] if value.endswith(".") else value  # the root's dot: "example.com." is example.com
    if not text:
        raise InvalidDomain(DomainSkip.EMPTY, value, "empty")
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES or ch.isspace() for ch in text):
        raise InvalidDomain(DomainSkip.BAD_CHARACTER, value, "control character or space")
    if "*" in text:
        raise InvalidDomain(DomainSkip.WILDCARD, value, "a wildcard is never blocked")
    labels = [_canonical_label(label, value) for label in text.split(".")]
    if len(".".join(labels)) > MAX_DOMAIN_CHARS:
        raise InvalidDomain(DomainSkip.TOO_LONG, value, f"longer than {MAX_DOMAIN_CHARS} characters")
    return labels


def _canonical_label(label: str, value: object) -> str:
    """One label as a resolver looks it up (lower-case ASCII; an A-label for Unicode), or InvalidDomain."""
    if not label:
        raise InvalidDomain(DomainSkip.EMPTY_LABEL, value, "empty label")
    if not label.isascii():
        try:
            label = idna.encode(label, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise InvalidDomain(DomainSkip.BAD_IDN, value, "a label IDNA2008 refuses") from None
        if "." in label:
            # UTS 46 maps some characters (U+3002, U+FF0E) to a dot: a label that grows one would move
            # the name's boundaries, so the name is refused rather than guessed at.
            raise InvalidDomain(DomainSkip.BAD_CHARACTER, value, "a character that folds to a dot")
    label = label.lower()
    if len(label) > MAX_LABEL_CHARS:
        raise InvalidDomain(DomainSkip.LABEL_TOO_LONG, value, f"a label longer than {MAX_LABEL_CHARS}")
    if not _LABEL_CHARS.issuperset(label):
        raise InvalidDomain(DomainSkip.BAD_CHARACTER, value, "only letters, digits, hyphens and underscores")
    return label


_HOST_NAME_LABEL: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
"""An RFC 1123 host-name label: letters, digits, inner hyphens."""
_LDH_LABEL: Final = re.compile(r"[a-z0-9-]{1,63}")
"""Letters, digits and hyphens, anywhere."""
POINT_NAME_RULES: Final = {
    "dns-firewall": (
        _LDH_LABEL,
        "DNS Firewall domain lists take only letters, digits and hyphens (UpdateFirewallDomains)",
    ),
    "network-firewall": (
        _HOST_NAME_LABEL,
        "Network Firewall domain lists are held to host names: letters, digits, inner hyphens "
        "(undocumented: docs/LIMITS.md)",
    ),
}
"""Per enforcement point (``domainBlocking``'s names): the labels it holds, and why no other. A name
outside them would make the point refuse the whole update it is in, every other domain's included."""


def unenforceable_at(domain: str, points: Iterable[str]) -> str | None:
    """Why one of ``points`` cannot hold canonical ``domain``; None when every one can."""
    for point in points:
        pattern, why = POINT_NAME_RULES.get(point, (None, ""))
        if pattern is not None and not all(pattern.fullmatch(label) for label in domain.split(".")):
            return why
    return None


@dataclass(frozen=True)
class ProtectedDomains:
    """The never-block list for domains: built-in entries plus the stack's ``protectedDomains``."""

    entries: tuple[str, ...] = BUILT_IN_PROTECTED_DOMAINS
    extra: tuple[str, ...] = ()
    """The operator's own entries: each protects its whole subtree, customer names on AWS included."""

    @classmethod
    def with_extra(cls, extra: Iterable[str]) -> "ProtectedDomains":
        """The built-in list plus ``extra``; ``ConfigurationError`` names a malformed entry.

        Entries are read as the domains they name: "Corp.Example.", "corp.example" and ".corp.example"
        all protect corp.example and its subdomains. A single label ("corp") is allowed here, unlike for a
        block: protecting a whole private TLD is exactly what an operator may need.
        """
        entries = list(BUILT_IN_PROTECTED_DOMAINS)
        own = []
        for raw in extra:
            text = raw.strip()
            text = text[1:] if text.startswith(".") else text
            text = text[2:] if text.startswith("*.") else text
            try:
                entry = ".".join(_labels(text))
            except InvalidDomain as error:
                raise ConfigurationError(f"protectedDomains entry {describe_host(raw)!r}: {error}") from None
            own.append(entry)
        return cls(tuple(dict.fromkeys(entries + own)), tuple(dict.fromkeys(own)))

    def protects(self, domain: str) -> str | None:
        """The entry that protects canonical ``domain`` (itself or a parent), or None.

        A built-in entry does not cover a name a customer controls (``customer_name``); the operator's own
        entries cover everything under them.
        """
        labels = domain.split(".")
        suffixes = {".".join(labels[index:]) for index in range(len(labels))}
        own = next((entry for entry in self.extra if entry in suffixes), None)
        if own is not None:
            return own
        built_in = next((entry for entry in self.entries if entry in suffixes), None)
        if built_in is not None and customer_name(domain) is None:
            return built_in
        return None
