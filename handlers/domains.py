"""Domain names: canonical form and the never-block list.

Every domain that reaches the ledger or an enforcement point goes through ``canonical_domain`` first,
so one domain has exactly one spelling (lower case, ASCII/punycode, no trailing dot) and the ledger key,
the rule group, the DNS Firewall list and the notification always agree.

A domain is blocked exactly as named: never with a leading ``.`` (Network Firewall's "and every
subdomain") nor a ``*.`` (DNS Firewall's wildcard). So blocking ``evil.example`` never touches
``good.evil.example``'s parent or siblings, and no block can cover a protected name by reaching up.

The ledger keeps domains beside IP hosts, under the same key attribute: an IP host is always a CIDR
(``198.51.100.7/32``) and a domain never holds a ``/``, so ``host_kind`` tells them apart without a
second key or index.
"""

import functools
import string
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

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
_LABEL_CHARS: Final = frozenset(string.ascii_lowercase + string.digits + "-")
"""Letters, digits and hyphens (RFC 1123 host names). No underscore: GuardDuty's DNS findings name hosts,
and Network Firewall's domain lists document no other characters."""

BUILT_IN_PROTECTED_DOMAINS: Final = (
    "amazonaws.com",  # every service endpoint, S3, and the public EC2 names (*.compute.amazonaws.com)
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
VPC off from AWS's own APIs or its resolver. Each entry protects itself and every subdomain."""


class DomainSkip(StrEnum):
    """Why a domain string was refused (machine-readable, stable)."""

    NOT_TEXT = "not-text"
    EMPTY = "empty"
    TOO_LONG = "too-long"
    BAD_CHARACTER = "bad-character"
    EMPTY_LABEL = "empty-label"
    LABEL_TOO_LONG = "label-too-long"
    BAD_HYPHEN = "bad-hyphen"
    BAD_PUNYCODE = "bad-punycode"
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
    if any(not ch.isprintable() or ch.isspace() for ch in text):
        raise InvalidDomain(DomainSkip.BAD_CHARACTER, value, "control character or space")
    if "*" in text:
        raise InvalidDomain(DomainSkip.WILDCARD, value, "a wildcard is never blocked")
    labels = [_ascii_label(label, value) for label in text.split(".")]
    if len(".".join(labels)) > MAX_DOMAIN_CHARS:
        raise InvalidDomain(DomainSkip.TOO_LONG, value, f"longer than {MAX_DOMAIN_CHARS} characters")
    return labels


def _ascii_label(label: str, value: object) -> str:
    """One label in lower-case ASCII (punycode for non-ASCII), or ``InvalidDomain``."""
    if not label:
        raise InvalidDomain(DomainSkip.EMPTY_LABEL, value, "empty label")
    if not label.isascii():
        try:
            # IDNA 2003 (the standard library's codec): nameprep folds case and compatibility forms, so
            # "amazon" in full-width letters is amazon: the protected check sees the name DNS would look up.
            label = label.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidDomain(
                DomainSkip.BAD_PUNYCODE, value, "not a valid internationalised label"
            ) from None
        if "." in label:
            # nameprep maps some characters (e.g. U+FF0E, U+3002) to a dot: a label that grows a dot
            # would change where the name's boundaries are.
            raise InvalidDomain(DomainSkip.BAD_CHARACTER, value, "a character that folds to a dot")
    label = label.lower()
    if len(label) > MAX_LABEL_CHARS:
        raise InvalidDomain(DomainSkip.LABEL_TOO_LONG, value, f"a label longer than {MAX_LABEL_CHARS}")
    if not _LABEL_CHARS.issuperset(label):
        raise InvalidDomain(DomainSkip.BAD_CHARACTER, value, "only letters, digits and hyphens")
    if label.startswith("-") or label.endswith("-"):
        raise InvalidDomain(DomainSkip.BAD_HYPHEN, value, "a label starts or ends with a hyphen")
    if label[2:4] == "--" and not label.startswith("xn--"):
        raise InvalidDomain(DomainSkip.BAD_HYPHEN, value, "hyphens in the 3rd and 4th places (reserved)")
    if label.startswith("xn--"):
        try:
            decoded = label.encode("ascii").decode("idna")
            again = decoded.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidDomain(DomainSkip.BAD_PUNYCODE, value, "invalid punycode") from None
        if again != label:
            raise InvalidDomain(DomainSkip.BAD_PUNYCODE, value, "punycode that is not canonical")
    return label


@dataclass(frozen=True)
class ProtectedDomains:
    """The never-block list for domains: built-in entries plus the stack's ``protectedDomains``."""

    entries: tuple[str, ...] = BUILT_IN_PROTECTED_DOMAINS

    @classmethod
    def with_extra(cls, extra: Iterable[str]) -> "ProtectedDomains":
        """The built-in list plus ``extra``; ``ConfigurationError`` names a malformed entry.

        Entries are read as the domains they name: "Corp.Example.", "corp.example" and ".corp.example"
        all protect corp.example and its subdomains. A single label ("corp") is allowed here, unlike for a
        block: protecting a whole private TLD is exactly what an operator may need.
        """
        entries = list(BUILT_IN_PROTECTED_DOMAINS)
        for raw in extra:
            text = raw.strip()
            text = text[1:] if text.startswith(".") else text
            text = text[2:] if text.startswith("*.") else text
            try:
                entry = ".".join(_labels(text))
            except InvalidDomain as error:
                raise ConfigurationError(f"protectedDomains entry {describe_host(raw)!r}: {error}") from None
            entries.append(entry)
        return cls(tuple(dict.fromkeys(entries)))

    def protects(self, domain: str) -> str | None:
        """The entry that protects canonical ``domain`` (itself or a parent), or None."""
        labels = domain.split(".")
        suffixes = {".".join(labels[index:]) for index in range(len(labels))}
        return next((entry for entry in self.entries if entry in suffixes), None)
