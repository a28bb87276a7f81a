"""PII detectors and masking (pure Python, no Spark).

One scan finds every anchor (:mod:`lakeprep.pii._scan`: hyperscan, or ``re`` where it is missing); each
detector matches its precise pattern at its anchors and confirms candidates with validators (Luhn and
issuer ranges for cards, mod-97 for IBANs, the numbering plans of the configured regions for phones, octet
ranges and reserved blocks for IPs, SSA rules for SSNs) and with context rules for technical text
(:mod:`lakeprep.pii._context`: identifier glue, version words, table headers, nearby keywords).
Overlaps are resolved deterministically: the longest span wins, then the more specific type
(:data:`PRIORITY`), then the earlier start.

Masking replaces each kept span with a typed placeholder (``<EMAIL>``) or a keyed pseudonym
(``<EMAIL_3f9a1c2b>``: HMAC-SHA256 of the value under a secret key, so the same value gets the same token
within a corpus and nothing can be recovered without the key), or keeps it, per type.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from lakeprep.pii import _context as ctx
from lakeprep.pii._phones import DEFAULT_REGIONS, PhoneValidator
from lakeprep.pii._scan import LITERALS, WORD_CHARS, Anchors, scanner

__all__ = [
    "DEFAULT_IP_KEEP",
    "DEFAULT_REGIONS",
    "IP_KEEP_CLASSES",
    "PII_TYPES",
    "PRIORITY",
    "Detector",
    "Span",
    "detect",
    "detector",
    "iban_valid",
    "luhn_valid",
    "mask_text",
    "resolve_overlaps",
]


@dataclass(frozen=True, order=True)
class Span:
    """``text[start:end]`` is PII of ``type``."""

    start: int
    end: int
    type: str
    confidence: float = 1.0


PII_TYPES: tuple[str, ...] = (
    "EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IP_ADDRESS", "IBAN", "PRIVATE_KEY", "AWS_ACCESS_KEY",
    "GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_TOKEN", "JWT", "URL_CREDENTIALS", "SECRET",
)  # fmt: skip
PRIORITY: Mapping[str, int] = {
    "PRIVATE_KEY": 100, "JWT": 95, "URL_CREDENTIALS": 94, "GITHUB_TOKEN": 93, "GITLAB_TOKEN": 92,
    "SLACK_TOKEN": 91, "AWS_ACCESS_KEY": 90, "SECRET": 80, "EMAIL": 70, "IBAN": 65, "CREDIT_CARD": 60,
    "US_SSN": 55, "IP_ADDRESS": 50, "PHONE": 40, "PERSON": 30, "LOCATION": 20,
}  # fmt: skip
"""More specific types win ties: a validated card beats a phone-shaped digit run of the same length."""

IP_KEEP_CLASSES: tuple[str, ...] = ("loopback", "unspecified", "documentation", "link_local", "reserved", "multicast", "private")
DEFAULT_IP_KEEP: tuple[str, ...] = ("loopback", "unspecified", "documentation", "link_local", "reserved")
"""Address blocks that are not personal data and stay in the text by default (``silver.pii.ip_keep``)."""

# -- validators -------------------------------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a digit string (payment cards)."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_valid(iban: str) -> bool:
    """ISO 13616 IBAN: known country, its length, and the mod-97 check."""
    s = iban.replace(" ", "").replace("-", "").upper()
    if len(s) < 15 or _IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit() or not s.isalnum() or not s.isascii():
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


# Issuer identification numbers in use (prefix, lengths): Visa, Mastercard (51-55, 2221-2720), Amex, Diners,
# Discover, JCB (3528-3589), UnionPay (62, 81), Maestro (50, 56-69), Mir (2200-2204), RuPay (60, 65, 81, 82, 508),
# Troy (9792), JCB's older 15-digit ranges (2131, 1800), Verve and InterPayment (covered by 50/6x).
_ISSUERS = re.compile(
    r"4|5[0-9]|6[0-9]|2(?:20[0-4]|22[1-9]|2[3-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720)|3[47]|3(?:0[0-59]|[689])|"
    r"35(?:2[89]|[3-8][0-9])|2131|1800|8[12]|9792"
)


def card_issuer_known(digits: str) -> bool:
    """The number starts with the identification range of a card scheme in use."""
    return _ISSUERS.match(digits) is not None


def _card_length_ok(digits: str) -> bool:
    """Amex and old JCB numbers have 15 digits, Diners 14-19, the other schemes 13 (old Visa) or 16-19."""
    if digits[:2] in ("34", "37") or digits[:4] in ("2131", "1800"):
        return len(digits) == 15
    if digits[:2] in ("30", "36", "38", "39"):
        return len(digits) >= 14
    return len(digits) >= 16 or (len(digits) == 13 and digits[0] == "4")


def _ssn_ok(area: str, group: str, serial: str) -> bool:
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


def _ip_class(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if addr.is_loopback:
        return "loopback"
    if addr.is_unspecified:
        return "unspecified"
    if addr.is_link_local:
        return "link_local"
    if addr.is_multicast:
        return "multicast"
    if isinstance(addr, ipaddress.IPv4Address) and addr.is_reserved:
        return "reserved"  # 240.0.0.0/4 and broadcast: netmasks like 255.255.255.0 (IPv6 has no such use)
    if isinstance(addr, ipaddress.IPv4Address):
        if any(addr in n for n in _DOC_V4):
            return "documentation"
    elif addr in _DOC_V6:
        return "documentation"
    if addr.is_private:
        return "private"
    return None


_DOC_V4 = tuple(ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))  # RFC 5737
_DOC_V6 = ipaddress.ip_network("2001:db8::/32")  # RFC 3849

# -- candidate patterns (matched at anchors only) ---------------------------------------------------------

# digit groups with one separator between them: "+44 (0)20 7946 0958", "(038) 3688209", "4111-1111-1111-1111"
_CHAIN = re.compile(r"(?:\(\+|\+ ?|\()?[0-9]+(?:(?:\)[ -]?| ?- ?|[./] ?| \(?|\()[0-9]+)*\)?")
_DOTS = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_GROUP = re.compile(r"[0-9]+")
_DATE_LIKE = re.compile(r"(?:^| )(?:[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4})(?![0-9])")
_SSN_SHAPE = re.compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}$")
_ZIP4 = re.compile(r"[0-9]{5}-[0-9]{4}$")
_ID_BEFORE = re.compile(r"(?<![A-Za-z])[A-Z]{2,6}[ #-]$")  # "CVE 2015-2296", "RFC 7231", "KB 4012212"
_HEX_GROUP = re.compile(r"[0-9A-Fa-f]{2,8}")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9_-])")
_LOCAL = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._%+-")
_HEX = frozenset("0123456789abcdefABCDEF")
_IPV6_CHARS = _HEX | {":", "."}
_IBAN_CAND = re.compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){10,30}")
_TOKENS: Mapping[str, re.Pattern[str]] = {
    "PRIVATE_KEY": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "AWS_ACCESS_KEY": re.compile(r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}(?![A-Za-z0-9])"),
    "GITHUB_TOKEN": re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])"),
    "GITLAB_TOKEN": re.compile(r"glpat-[A-Za-z0-9_-]{20,50}(?![A-Za-z0-9_-])"),
    "SLACK_TOKEN": re.compile(r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "URL_CREDENTIALS": re.compile(r"://([^\s:/@\"'<>]+):([^\s/@\"'<>]+)@([^\s/?#\"'<>]+)"),
}
_SECRET_KEY = re.compile(
    r"(?:^|[_.-])(?:password|passwd|pass|pwd|secret|secret[_-]?key|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"auth[_-]?token|access[_-]?token|refresh[_-]?token|token|client[_-]?secret|secret[_-]?access[_-]?key)$"
)
_CONFIG_PREFIX = re.compile(r"\s*(?:(?:export|set|setenv|env|arg|local|var|let|const|readonly|declare)\s+|[-*#]\s*|//\s*)?$", re.I)
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*")
# ${VAR}, {{ var }}, %(name)s, <%= x %>, <password>, a whole-value $ENV_VAR
_TEMPLATE = re.compile(r"\$\{|\{\{|%\([A-Za-z_]\w*\)[sdr]|<%|^<[^<>]*>$|^\$[A-Z_][A-Z0-9_]*$")
_PASSWORD_WORD = re.compile(r"[a-z_-]*(?:pass|pwd|pw|secret)[a-z_-]*")
_PLACEHOLDERS = frozenset(
    "none null nil true false undefined password passwd secret changeme example required optional string str "
    "your_password yourpassword mypassword my_password pass xxx redacted hidden masked empty token value".split()
)


def _placeholder(value: str) -> bool:
    """A string literal that is a template or a placeholder, not a secret: ``${X}``, ``<password>``, ``****``."""
    return _TEMPLATE.search(value) is not None or len(set(value)) <= 2 or value.lower() in _PLACEHOLDERS


def _template_or_reference(value: str) -> bool:
    """``${X}``, ``{{x}}``, ``%(x)s``, ``<password>``, ``$VAR``, calls, subscripts, ``****``."""
    if any(t in value for t in ("${", "{{", "%(", "<%", "(", "[", "...")) or value[0] in "$<%@&*":
        return True
    return _placeholder(value)


# -- detector -----------------------------------------------------------------------------------------


class Detector:
    """Finds PII spans in texts. Build once per process (see :func:`detector`); ``detect`` is the hot path."""

    def __init__(
        self,
        *,
        types: Iterable[str] = PII_TYPES,
        phone_regions: tuple[str, ...] = DEFAULT_REGIONS,
        ip_keep: tuple[str, ...] = DEFAULT_IP_KEEP,
        engine: str = "auto",
    ) -> None:
        self.types = frozenset(types)
        self.ip_keep = frozenset(ip_keep)
        self.phones = PhoneValidator(phone_regions)
        self._scan = scanner(engine)
        self._numeric = bool(self.types & {"PHONE", "CREDIT_CARD", "US_SSN", "IP_ADDRESS"})

    def detect(self, text: str) -> list[Span]:
        """Every PII span in ``text``, overlaps resolved."""
        anchors = self._scan(text)
        if not (anchors.digits or anchors.ats or anchors.colons or anchors.ibans or anchors.keywords or anchors.literals):
            return []
        spans: list[Span] = []
        if self._numeric and anchors.digits:
            self._numbers(text, anchors.digits, spans)
        if "EMAIL" in self.types:
            self._emails(text, anchors.ats, spans)
        if "IP_ADDRESS" in self.types and anchors.colons:
            self._ipv6(text, anchors.colons, spans)
        if "IBAN" in self.types:
            self._ibans(text, anchors.ibans, spans)
        if "SECRET" in self.types:
            self._secrets(text, anchors.keywords, spans)
        if anchors.literals:
            self._tokens(text, anchors, spans)
        spans = resolve_overlaps(spans)
        return _repeat_confirmed(text, spans) if spans else spans

    # numbers: phones, cards, SSNs, IPv4 -------------------------------------------------------------

    def _numbers(self, text: str, digits: list[int], spans: list[Span]) -> None:
        chain_end = dots_end = -1
        types = self.types
        for p in digits:
            if "IP_ADDRESS" in types and p >= dots_end and text.find(".", p + 1, p + 4) > 0:
                dots = _DOTS.match(text, p)
                dots_end = dots.end() if dots else p + 1
                if dots and dots.group().count(".") == 3:
                    span = self._ipv4(text, p, dots_end)
                    if span is not None:
                        spans.append(span)
            if p < chain_end:
                continue  # inside a digit chain that started earlier: never re-read from the middle
            start = p - 1 if p and text[p - 1] in "+(" else p
            if start >= 1 and text[start - 1 : start + 1] == "(+":
                start -= 1  # "(+358) 970308073"
            if start and text[start] == "(" and text[start - 1] in WORD_CHARS:
                start = p  # f(2147483647): an argument, judged by the glue rule below
            m = _CHAIN.match(text, start)
            if m is None:  # a "(" or "+" that does not open a chain: read the digits alone
                start = p
                m = _CHAIN.match(text, p)
            if m is None:
                continue
            chain_end = m.end()
            if chain_end - start < 7:
                continue  # fewer than 7 characters: no phone, card or SSN
            raw = m.group()
            if raw.endswith(")") and raw.count("(") != raw.count(")"):
                raw = raw[:-1]
            if raw.count("(") != raw.count(")"):
                continue  # unmatched bracket
            end = start + len(raw)
            if end < len(text) and text[end] in WORD_CHARS:
                continue  # a letter or digit glued to the end: an identifier, not a number
            key = ctx.glue_key(text, start)
            if key is not None and not ctx.glue_allows(key):
                continue  # CVE-2025-12345, PO-2016-227912, Chrome/1.2.3.4, to_hex(2147483647)
            found = None
            if "CREDIT_CARD" in types:
                found = self._card(text, raw, start)
            if found is None and "US_SSN" in types:
                found = self._ssn(text, raw, start)
            if found is None and "PHONE" in types:
                found = self._phone(text, raw, start)
            if found is not None:
                spans.append(found)

    def _ipv4(self, text: str, start: int, end: int) -> Span | None:
        raw = text[start:end]
        parts = raw.split(".")
        if any(len(x) > 3 or int(x) > 255 or (len(x) > 1 and x[0] == "0") for x in parts):
            return None
        if end < len(text) and (text[end] in WORD_CHARS or (text[end] == "-" and end + 1 < len(text) and text[end + 1].isdigit())):
            return None  # 1.2.3.4a, binutils 2.10.0.27-1
        key = ctx.glue_key(text, start)
        if key is not None and not ctx.glue_allows(key):
            return None  # Chrome/14.19.14.229, APP_VERSION=17.18.21.132
        if key is None and (ctx.version_context(text, start) or ctx.section_number(text, start, end)):
            return None  # version 1.2.3.4, Section 9.4.1.1, a "Version" table column, "3.2.5.1 Looping Constructs"
        if all(len(x) == 1 for x in parts) and not ctx.near(ctx.NETWORK_WORDS, text, start, end, before=48, after=24):
            return None  # 1.2.3.4 needs a network word nearby
        if _ip_class(ipaddress.IPv4Address(raw)) in self.ip_keep:
            return None
        return Span(start, end, "IP_ADDRESS", 0.95)

    def _card(self, text: str, raw: str, start: int) -> Span | None:
        groups = _GROUP.findall(raw)
        if raw[0] in "+(" or sum(map(len, groups)) < 12 or (len(groups) > 1 and len(groups[0]) != 4):
            return None  # separated card numbers start with a group of 4 (4-4-4-4, 4-6-5, 4-4-5)
        seps = _GROUP.split(raw)[1:-1]
        total, digits = 0, ""
        best = None
        for i, g in enumerate(groups):
            if i and (seps[i - 1] not in (" ", "-") or seps[i - 1] != seps[0] or len(g) < 3):
                break  # one separator throughout, groups of 3+ digits (4-4-4-4, 4-6-5, 4-4-4-4-3)
            digits += g
            total += len(g)
            if total > 19:
                break
            if total >= 12 and luhn_valid(digits):
                best = (i, digits)
        if best is None:
            return None
        i, digits = best
        length = sum(len(g) for g in groups[: i + 1]) + sum(len(s) for s in seps[:i])
        if not (card_issuer_known(digits) and _card_length_ok(digits)):
            # a Luhn-valid run outside the issuer ranges (or a 12-digit Maestro) counts with a card word only
            if not (ctx.near(ctx.CARD_WORDS, text, start, start + length, before=48) or ctx.header_says(ctx.CARD_WORDS, text, start)):
                return None
        return Span(start, start + length, "CREDIT_CARD", 0.99)

    def _ssn(self, text: str, raw: str, start: int) -> Span | None:
        groups = _GROUP.findall(raw)
        if len(groups) >= 3 and [len(g) for g in groups[:3]] == [3, 2, 4]:
            seps = _GROUP.split(raw)[1:3]
            if seps[0] == seps[1] and seps[0] in ("-", " ") and _ssn_ok(*groups[:3]):
                if len(groups) == 3 or _GROUP.split(raw)[3] == " ":
                    return Span(start, start + 11, "US_SSN", 0.9)
        if len(groups) == 1 and len(raw) == 9 and ctx.near(ctx.SSN_WORDS, text, start, start + 9, before=32):
            if _ssn_ok(raw[:3], raw[3:5], raw[5:]):
                return Span(start, start + 9, "US_SSN", 0.8)
        return None

    def _phone(self, text: str, raw: str, start: int) -> Span | None:
        groups = _GROUP.findall(raw)
        n_digits = sum(map(len, groups))
        if not 7 <= n_digits <= 17:
            return None
        end = start + len(raw)
        in_phone_column = ctx.header_says(ctx.PHONE_WORDS, text, start)
        worded = in_phone_column or ctx.near(ctx.PHONE_WORDS, text, start, end, before=40)
        if len(groups) == 1 and raw[0] != "+" and not (in_phone_column or ctx.labelled(ctx.PHONE_WORDS, text, start)):
            return None  # a bare digit run (epoch seconds, ids) is a phone only right after a phone word
        if len(groups) > 1 and not self._phone_shape(text, raw, groups, end):
            return None
        if not worded and ("/" in raw or _in_hex_run(text, start, end) or _ID_BEFORE.search(text, max(0, start - 8), start)):
            return None  # "(6020/6020)", a GPG fingerprint's digit-only groups, "CVE 2015-2296"
        candidates = [raw]
        seps = _GROUP.split(raw)
        for k in (1, 2):  # a trailing group or two after a space may be something else ("555-0132 2024")
            kept = seps[1 : len(groups) - k]
            if len(groups) - k >= 2 and seps[len(groups) - k] == " " and any(x.strip() for x in kept):
                candidates.append("".join(x for pair in zip(seps[: len(groups) - k], groups[: len(groups) - k]) for x in pair))
        for cand in candidates:
            cand = cand.strip()
            # without a phone word the digits must also be grouped as the region writes them
            if sum(c.isdigit() for c in cand) >= 7 and self.phones.valid(cand, strict=not worded):
                return Span(start, start + len(cand), "PHONE", 0.9 if worded else 0.7)
        return None

    @staticmethod
    def _phone_shape(text: str, raw: str, groups: list[str], end: int) -> bool:
        if _DATE_LIKE.search(raw) or _SSN_SHAPE.match(raw) or _ZIP4.match(raw):
            return False  # dates, US ZIP+4, and the SSN layout (an invalid SSN is not a phone number either)
        if end + 1 < len(text) and text[end] == ":" and text[end + 1].isdigit():
            return False  # followed by a time: "2 2022 23:26:06"
        if raw[0] != "+" and "." in raw and len(groups) == 4 and all(len(g) <= 3 for g in groups):
            return False  # dotted quad: an address or a version, never a phone
        if raw.count(".") >= 4 or raw.count("/") > 1:
            return False
        # a one-digit group is a country or trunk code at the front (or right after "+CC"), or "(0)":
        # never in the middle (ISBNs)
        first = 2 if raw.startswith(("+", "(+", "00")) else 1
        return not any(len(g) == 1 for g in groups[first:]) or "(0)" in raw

    # other types -------------------------------------------------------------------------------------

    def _emails(self, text: str, ats: list[int], spans: list[Span]) -> None:
        last = -1
        for at in ats:
            if at < last:
                continue
            i = at
            while i > 0 and text[i - 1] in _LOCAL and at - i < 64:
                i -= 1
            while i < at and not text[i].isalnum():
                i += 1
            if i == at or (i > 0 and (text[i - 1] in WORD_CHARS or text[i - 1] in "+-.")):
                continue
            m = _DOMAIN.match(text, at + 1)
            if m is None:
                continue
            last = m.end()
            spans.append(Span(i, m.end(), "EMAIL", 0.99))

    def _ipv6(self, text: str, colons: list[int], spans: list[Span]) -> None:
        run_end = -1
        n = len(text)
        for c in colons:
            if c < run_end:
                continue
            s = c
            while s > 0 and text[s - 1] in _IPV6_CHARS:
                s -= 1
            e = c
            while e < n and text[e] in _IPV6_CHARS:
                e += 1
            run_end = e
            while e > s and (text[e - 1] == "." or (text[e - 1] == ":" and text[e - 2 : e] != "::")):
                e -= 1  # sentence punctuation after the address
            raw = text[s:e]
            if raw.count(":") < 2 or not any(ch.isdigit() for ch in raw) or sum(1 for g in raw.split(":") if g) < 2:
                continue  # "::", "a::b", "10::", "std::vector": identifiers and operators, not addresses
            if (s and text[s - 1] in WORD_CHARS) or (e < n and text[e] in WORD_CHARS):
                continue  # glued to an identifier: u8::MAX, Foo::bar
            if s >= 2 and text[s - 1] == "[" and (text[s - 2] in WORD_CHARS or text[s - 2] in ")]"):
                continue  # a slice: x[1::2]
            try:
                addr = ipaddress.IPv6Address(raw)
            except ValueError:
                continue
            if _ip_class(addr) in self.ip_keep:
                continue
            spans.append(Span(s, e, "IP_ADDRESS", 0.95))

    def _ibans(self, text: str, starts: list[int], spans: list[Span]) -> None:
        last = -1
        for p in starts:
            if p < last:
                continue
            want = _IBAN_LENGTHS.get(text[p : p + 2])
            if want is None:
                continue
            m = _IBAN_CAND.match(text, p)
            if m is None:
                continue
            raw, count, end = m.group(), 0, p
            for j, ch in enumerate(raw):
                if ch != " ":
                    count += 1
                if count == want:
                    end = p + j + 1
                    break
            if count != want or (end < len(text) and text[end] in WORD_CHARS):
                continue
            if iban_valid(text[p:end]):
                spans.append(Span(p, end, "IBAN", 0.99))
                last = end

    def _secrets(self, text: str, ends: list[int], spans: list[Span]) -> None:
        n = len(text)
        for e in ends:
            k = e - 1  # the ":" or "="
            while k > 0 and text[k - 1] in " \t":
                k -= 1
            quoted_key = k > 0 and text[k - 1] in "\"'"
            key_end = k - 1 if quoted_key else k
            ks = key_end
            while ks > 0 and (text[ks - 1] in WORD_CHARS or text[ks - 1] in ".-") and key_end - ks < 64:
                ks -= 1
            key = text[ks:key_end].lower().lstrip("-.")
            if not _SECRET_KEY.search(key):
                continue
            v = e
            if v < n and text[v] in "=>":
                v += 1  # := and =>
            spaced = v < n and text[v] in " \t"
            while v < n and text[v] in " \t":
                v += 1
            if v >= n:
                continue
            line_start = text.rfind("\n", 0, ks) + 1
            prefix = text[line_start:ks]
            config = (
                quoted_key
                or _CONFIG_PREFIX.match(prefix) is not None
                or prefix.rstrip().endswith(("{", ",", ";", "(", "&", "?", "["))
                or text[ks - 2 : ks] == "--"
            )
            if text[v] in "\"'`":
                close = text.find(text[v], v + 1, min(n, v + 201))
                newline = text.find("\n", v + 1, close) if close > 0 else -1
                if close > v + 1 and newline < 0:
                    value = text[v + 1 : close]
                    if len(value) >= 6 and " " not in value and not _placeholder(value) and not (value.isalpha() and value.islower()):
                        spans.append(Span(v + 1, close, "SECRET", 0.95))
                continue
            if not config:
                continue  # prose: "give it a password: CREATE ROLE ..." — only quoted values count there
            j = v
            while j < n and text[j] not in " \t\r\n\"',;" and j - v < 200:
                j += 1
            while j > v and text[j - 1] in ".:)]}>":
                j -= 1
            value = text[v:j]
            if len(value) < 6 or value.isalpha() or _template_or_reference(value):
                continue
            if _IDENTIFIER.fullmatch(value) and (spaced or text[e - 1] == ":" and "." in value):
                continue  # code: password = user_password, secret: self.secret
            spans.append(Span(v, j, "SECRET", 0.9))

    def _tokens(self, text: str, anchors: Anchors, spans: list[Span]) -> None:
        last_end: dict[str, int] = {}
        for pos, index in anchors.literals:
            kind = LITERALS[index][1]
            if kind not in self.types or pos < last_end.get(kind, -1):
                continue
            if kind == "URL_CREDENTIALS":
                m = _TOKENS[kind].match(text, pos)
                if m is None or pos < 2 or not text[pos - 1].isalnum():
                    continue
                user, password = m.group(1), m.group(2)
                if _placeholder(password) or _PASSWORD_WORD.fullmatch(password.strip("\\[]").lower()) or _TEMPLATE.search(user):
                    continue  # user:password@, login:passwd-on-proxy@: documentation placeholders
                spans.append(Span(m.start(1), m.end(3), kind, 0.95))
                last_end[kind] = m.end()
                continue
            if pos and text[pos - 1] in WORD_CHARS and kind != "PRIVATE_KEY":
                continue  # glued to a longer identifier
            m = _TOKENS[kind].match(text, pos)
            if m is None:
                continue
            if kind == "AWS_ACCESS_KEY" and m.group().endswith("EXAMPLE"):
                continue  # AWS's documented example key
            spans.append(Span(m.start(), m.end(), kind, 0.95))
            last_end[kind] = m.end()


def _in_hex_run(text: str, start: int, end: int) -> bool:
    """The digits sit between space-separated hex groups with letters (key fingerprints, hex dumps)."""
    for m in (_HEX_GROUP.match(text, end + 1) if text[end : end + 1] == " " else None, _hex_before(text, start)):
        if m is not None and not m.group().isdigit():
            return True
    return False


def _hex_before(text: str, start: int) -> re.Match[str] | None:
    if start < 3 or text[start - 1] != " ":
        return None
    i = start - 1
    while i > 0 and text[i - 1] in _HEX and start - 1 - i < 8:
        i -= 1
    return _HEX_GROUP.fullmatch(text, i, start - 1)


_CONTEXTUAL = ("PHONE", "CREDIT_CARD")


def _repeat_confirmed(text: str, spans: list[Span]) -> list[Span]:
    """Other occurrences of a phone or card number confirmed elsewhere in the same text are the same PII
    (``<td data-tel="0325307304">0325307304</td>``: the attribute has the label, the cell repeats it)."""
    values = {text[s.start : s.end]: s for s in spans if s.type in _CONTEXTUAL}
    if not values:
        return spans
    extra = []
    for value, span in values.items():
        if text.count(value) < 2:
            extra.append(span)
            continue
        i = text.find(value)
        while i >= 0:
            j = i + len(value)
            glued = ctx.glue_key(text, i)
            if (i == 0 or text[i - 1] not in WORD_CHARS) and (j == len(text) or text[j] not in WORD_CHARS) and glued is None:
                extra.append(Span(i, j, span.type, span.confidence))
            i = text.find(value, j)
    return resolve_overlaps([*spans, *extra]) if len(extra) > len(values) else spans


@lru_cache(maxsize=16)
def detector(
    types: tuple[str, ...] = PII_TYPES,
    phone_regions: tuple[str, ...] = DEFAULT_REGIONS,
    ip_keep: tuple[str, ...] = DEFAULT_IP_KEEP,
    engine: str = "auto",
) -> Detector:
    """A :class:`Detector` for these options, built once per process (patterns and caches are reused)."""
    return Detector(types=types, phone_regions=phone_regions, ip_keep=ip_keep, engine=engine)


def detect(
    text: str,
    *,
    types: Iterable[str] = PII_TYPES,
    phone_regions: tuple[str, ...] = DEFAULT_REGIONS,
    ip_keep: tuple[str, ...] = DEFAULT_IP_KEEP,
    engine: str = "auto",
) -> list[Span]:
    """Every PII span in ``text`` of the given types, overlaps resolved."""
    return detector(tuple(types), tuple(phone_regions), tuple(ip_keep), engine).detect(text)


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans: longest first, then the more specific type, then the earliest start."""
    ordered = sorted(spans)
    if all(a.end <= b.start for a, b in zip(ordered, ordered[1:])):
        return [s for s in ordered if s.end > s.start]  # the usual case: nothing overlaps
    chosen: list[Span] = []
    taken: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), -PRIORITY.get(s.type, 0), s.start)):
        if span.end <= span.start:
            continue
        if any(span.start < e and s < span.end for s, e in taken):
            continue
        chosen.append(span)
        taken.append((span.start, span.end))
    return sorted(chosen)


def mask_text(
    text: str,
    spans: Iterable[Span],
    *,
    actions: Mapping[str, str],
    key: bytes | None = None,
) -> tuple[str, Counter[str]]:
    """Apply ``actions[type]`` (``mask`` | ``pseudonymize`` | ``keep``; default mask) to each span.

    Returns the new text and the number of spans found per type (kept spans are counted too).
    """
    out: list[str] = []
    counts: Counter[str] = Counter()
    pos = 0
    pseudo: Callable[[str, str], str] = _pseudonymizer(key)
    for span in sorted(spans):
        counts[span.type] += 1
        action = actions.get(span.type, "mask")
        if action == "keep":
            continue
        out.append(text[pos : span.start])
        value = text[span.start : span.end]
        out.append(pseudo(span.type, value) if action == "pseudonymize" else f"<{span.type}>")
        pos = span.end
    out.append(text[pos:])
    return "".join(out), counts


def _pseudonymizer(key: bytes | None) -> Callable[[str, str], str]:
    def token(kind: str, value: str) -> str:
        if key is None:
            raise ValueError("pseudonymize needs a key (silver.pii.pseudonym_key_env)")
        digest = hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:12]
        return f"<{kind}_{digest}>"

    return token
