"""PII detectors and masking (pure Python, no Spark).

Each detector finds candidate spans with a cheap regular expression and confirms them with a validator
where one exists (Luhn for cards, mod-97 for IBANs, the numbering plan for phone numbers via
``phonenumbers``, octet ranges for IPv4, ``ipaddress`` for IPv6, SSA rules for SSNs). Overlaps are
resolved deterministically: the longest span wins, then the more specific type (:data:`PRIORITY`),
then the earlier start.

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

import phonenumbers

__all__ = [
    "PII_TYPES",
    "PRIORITY",
    "Span",
    "detect",
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
    s = re.sub(r"[\s-]", "", iban).upper()
    if len(s) < 15 or _IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit() or not s.isalnum():
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _card_ok(raw: str) -> bool:
    if "  " in raw or "--" in raw or " -" in raw or "- " in raw:
        return False
    digits = raw.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        return False
    # a known issuer prefix (IIN) keeps random Luhn-valid numbers out
    return bool(re.match(r"4|5[1-5]|2(?:2[2-9][1-9]|[3-6]\d\d|7[01]\d|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5|4[4-9])|35(?:2[89]|[3-8])", digits))


def _ssn_ok(area: str, group: str, serial: str) -> bool:
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


def _ipv4_ok(raw: str) -> bool:
    parts = raw.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 and (p == "0" or not p.startswith("0")) for p in parts)


def _ipv6_ok(raw: str) -> bool:
    try:
        ipaddress.IPv6Address(raw)
    except ValueError:
        return False
    return raw.count(":") >= 2


# -- detectors --------------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")
_CARD = re.compile(r"(?<![\d-])\d[\d -]{11,34}\d(?![\d-])")  # digit count (13-19) is checked after
_SSN = re.compile(r"(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])")
_SSN_CONTEXT = re.compile(r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*(?:#|no\.?|number)?\s*[:=]?\s*(\d{3})(\d{2})(\d{4})\b")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]|\.\d)")
_VERSION_BEFORE = re.compile(r"(?i)(?:\bv|version|release|build)\s*$")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
# international (+CC, any grouping) or national (groups of 2-4 digits, optional area code in parentheses)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?)(?:[\s.-]?\d{1,8}){1,6}"
    r"|(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4})(?![\w])"
)
# (type, pattern, group, cheap substrings one of which must occur in the text for the pattern to be tried)
_SECRETS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("PRIVATE_KEY", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )?PRIVATE KEY-----"), 0),
    ("AWS_ACCESS_KEY", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), 0),
    ("GITHUB_TOKEN", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"), 0),
    ("GITLAB_TOKEN", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), 0),
    ("SLACK_TOKEN", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), 0),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), 0),
    # the whole authority (user:password@host) so an e-mail-shaped "password@host" never wins over it
    ("URL_CREDENTIALS", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://([^\s:/@]+:[^\s/@]+@[^\s/?#]+)"), 1),
    (
        "SECRET",
        re.compile(
            r"(?i)(?<![a-z0-9])(?:password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|"
            r"client[_-]?secret|aws_secret_access_key)(?![a-z0-9])[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{6,})"
        ),
        1,
    ),
)

PII_TYPES: tuple[str, ...] = (
    "EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IP_ADDRESS", "IBAN", "PRIVATE_KEY", "AWS_ACCESS_KEY",
    "GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_TOKEN", "JWT", "URL_CREDENTIALS", "SECRET",
)  # fmt: skip
PRIORITY: Mapping[str, int] = {
    "PRIVATE_KEY": 100, "JWT": 95, "URL_CREDENTIALS": 94, "GITHUB_TOKEN": 93, "GITLAB_TOKEN": 92,
    "SLACK_TOKEN": 91, "AWS_ACCESS_KEY": 90, "SECRET": 80, "EMAIL": 70, "IBAN": 65, "CREDIT_CARD": 60,
    "US_SSN": 55, "IP_ADDRESS": 50, "PHONE": 40,
}  # fmt: skip
"""More specific types win ties: a validated card beats a phone-shaped digit run of the same length."""


def _emails(text: str) -> Iterable[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), "EMAIL", 0.99)


def _cards(text: str) -> Iterable[Span]:
    for m in _CARD.finditer(text):
        if _card_ok(m.group()):
            yield Span(m.start(), m.end(), "CREDIT_CARD", 0.99)


def _ssns(text: str, lowered: str) -> Iterable[Span]:
    for m in _SSN.finditer(text):
        if _ssn_ok(m.group(1), m.group(3), m.group(4)):
            yield Span(m.start(), m.end(), "US_SSN", 0.9)
    if "ssn" in lowered or "social security" in lowered:
        for m in _SSN_CONTEXT.finditer(text):
            if _ssn_ok(m.group(1), m.group(2), m.group(3)):
                yield Span(m.start(1), m.end(3), "US_SSN", 0.8)


def _ips(text: str) -> Iterable[Span]:
    for m in _IPV4.finditer(text):
        if _ipv4_ok(m.group()) and not _VERSION_BEFORE.search(text[max(0, m.start() - 12) : m.start()]):
            yield Span(m.start(), m.end(), "IP_ADDRESS", 0.95)
    if ":" in text:
        for m in _IPV6.finditer(text):
            if _ipv6_ok(m.group()):
                yield Span(m.start(), m.end(), "IP_ADDRESS", 0.95)


def _ibans(text: str) -> Iterable[Span]:
    for m in _IBAN.finditer(text):
        raw = m.group().rstrip()
        if iban_valid(raw):
            yield Span(m.start(), m.start() + len(raw), "IBAN", 0.99)


_NON_DIGITS = re.compile(r"\D")
_DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def _phones(text: str, regions: tuple[str, ...]) -> Iterable[Span]:
    for m in _PHONE.finditer(text):
        raw = m.group()
        digits = len(_NON_DIGITS.sub("", raw))
        if not 7 <= digits <= 15:
            continue
        international = raw.startswith("+")
        if not international:
            if digits not in (10, 11):  # national numbers of the default regions (US, GB) have 10 or 11 digits
                if not (set(regions) - {"US", "GB"}):
                    continue
            groups = re.findall(r"\d+", raw)
            # dates, times and version-like runs are not phone numbers
            if _DATE_LIKE.match(raw) or text[m.end() : m.end() + 1] in (":", ".") and len(groups[-1]) < 3:
                continue
            if len(groups) > 1 and len(groups[-1]) < 3:
                continue
        for region in (None,) if international else regions:
            try:
                number = phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                yield Span(m.start(), m.end(), "PHONE", 0.9 if international or "(" in raw or "-" in raw or " " in raw else 0.6)
                break


_SECRET_HINTS: Mapping[str, tuple[str, ...]] = {
    "PRIVATE_KEY": ("PRIVATE KEY-----",),
    "AWS_ACCESS_KEY": ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
    "GITHUB_TOKEN": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "GITLAB_TOKEN": ("glpat-",),
    "SLACK_TOKEN": ("xox",),
    "JWT": ("eyJ",),
    "URL_CREDENTIALS": ("://",),
}
_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "api", "key", "token")


def _secrets(text: str, lowered: str, kinds: set[str]) -> Iterable[Span]:
    for kind, pattern, group in _SECRETS:
        if kind not in kinds:
            continue
        hints = _SECRET_HINTS.get(kind)
        if hints is not None:
            if not any(h in text for h in hints):
                continue
        else:  # keyword assignments: look for a keyword before running the case-insensitive pattern
            if not any(w in lowered for w in _SECRET_WORDS):
                continue
        for m in pattern.finditer(text):
            yield Span(m.start(group), m.end(group), kind, 0.95)


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans: longest first, then the more specific type, then the earliest start."""
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


def detect(text: str, *, types: Iterable[str] = PII_TYPES, phone_regions: tuple[str, ...] = ("US", "GB")) -> list[Span]:
    """Every PII span in ``text`` of the given types, overlaps resolved."""
    wanted = set(types)
    lowered = text.lower()  # shared by the keyword gates of SSNs and secrets
    spans: list[Span] = []
    if "EMAIL" in wanted and "@" in text:
        spans += _emails(text)
    if wanted & {"CREDIT_CARD", "US_SSN", "PHONE", "IBAN", "IP_ADDRESS"} and any(c.isdigit() for c in text):
        if "CREDIT_CARD" in wanted:
            spans += _cards(text)
        if "US_SSN" in wanted:
            spans += _ssns(text, lowered)
        if "IP_ADDRESS" in wanted:
            spans += _ips(text)
        if "IBAN" in wanted:
            spans += _ibans(text)
        if "PHONE" in wanted:
            spans += _phones(text, phone_regions)
    secret_types = wanted & {k for k, _, _ in _SECRETS}
    if secret_types:
        spans += _secrets(text, lowered, secret_types)
    return resolve_overlaps(spans)


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
