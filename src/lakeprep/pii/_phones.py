"""Phone number validation for candidates found by the scan (no ``PhoneNumberMatcher`` over whole texts).

A candidate is a run of digit groups. International numbers (``+CC``, ``00CC`` or ``(CC)``) are checked
against the numbering plans of every region sharing the country code; a national number only against the
configured regions whose plan fits its digits. Validity is libphonenumber's: the national significant
number has a possible length and matches one of the region's number-type patterns (fixed line, mobile,
toll free, ...), read from ``phonenumbers``' metadata and compiled once per process, so the common case
costs a few regex matches instead of a ``parse`` + ``is_valid_number`` round.

libphonenumber's VALID-leniency rules on top: the national prefix must be written where the region's
format writes it (``01 72 08 43 85`` is French, ``1 72 08 43 85`` is not a phone number), and, a little
stricter than libphonenumber, a region with a national prefix needs it unless a format says it is
optional. ``strict`` adds STRICT_GROUPING: the digit groups must be the region's own (``650 253 0000`` and
``6502530000`` pass, ``65 02 53 00 00`` does not). Brackets and glued letters are checked by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberFormat

__all__ = ["DEFAULT_REGIONS", "PhoneValidator"]

DEFAULT_REGIONS: tuple[str, ...] = (
    "US", "CA", "GB", "IE", "FR", "DE", "AT", "CH", "IT", "ES", "PT", "NL", "BE", "LU", "SE", "NO", "DK", "FI",
    "PL", "CZ", "AU", "NZ", "IN", "BR", "MX", "JP",
)  # fmt: skip

_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail", "fixed_line", "mobile")


@dataclass(frozen=True)
class _Format:
    leading: re.Pattern[str] | None
    pattern: re.Pattern[str]
    prefix_optional: bool  # the number may be written without the national prefix


@dataclass(frozen=True)
class _Plan:
    region: str
    country_code: str
    national_prefix: str
    general: re.Pattern[str]
    general_lengths: frozenset[int]
    types: tuple[tuple[frozenset[int], re.Pattern[str]], ...]
    formats: tuple[_Format, ...]

    def valid(self, nsn: str) -> bool:
        """libphonenumber's ``is_valid_number`` for a national significant number of this region."""
        if self.general_lengths and len(nsn) not in self.general_lengths or not self.general.fullmatch(nsn):
            return False
        return any((not lengths or len(nsn) in lengths) and pattern.fullmatch(nsn) for lengths, pattern in self.types)

    def prefix_optional(self, nsn: str) -> bool:
        """Whether this national number may be written without the national prefix.

        libphonenumber requires the prefix where the number's format rule writes it and lets a number
        pass where no format matches; here that case needs the prefix too (a German or French number is
        never written without its leading 0, and digit runs that fit no format are mostly not phones).
        """
        for fmt in self.formats:
            if (fmt.leading is None or fmt.leading.match(nsn)) and fmt.pattern.fullmatch(nsn):
                return fmt.prefix_optional
        return False


@lru_cache(maxsize=None)
def _plan(region: str) -> _Plan | None:
    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None or not meta.general_desc.national_number_pattern:
        return None
    types = []
    for name in _TYPES:
        desc = getattr(meta, name)
        if desc is None or not desc.national_number_pattern or tuple(desc.possible_length or ()) == (-1,):
            continue
        types.append((frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)))
    formats = []
    for fmt in meta.number_format:
        rule = fmt.national_prefix_formatting_rule
        optional = not rule or bool(fmt.national_prefix_optional_when_formatting) or not any(c.isdigit() for c in rule.split("\\1", 1)[0])
        leading = re.compile(fmt.leading_digits_pattern[-1]) if fmt.leading_digits_pattern else None
        formats.append(_Format(leading, re.compile(fmt.pattern), optional))
    return _Plan(
        region,
        str(meta.country_code),
        meta.national_prefix or "",
        re.compile(meta.general_desc.national_number_pattern),
        frozenset(meta.general_desc.possible_length or ()),
        tuple(types),
        tuple(formats),
    )


def _cuts(written: str) -> frozenset[int]:
    """Positions in the digit string where a written number breaks into groups."""
    cuts, count, previous_digit = set(), 0, False
    for ch in written:
        if ch.isdigit():
            if not previous_digit and count:
                cuts.add(count)
            count += 1
            previous_digit = True
        else:
            previous_digit = False
    return frozenset(cuts)


def _grouped_as_written(raw: str, region: str | None) -> bool:
    """STRICT_GROUPING: every break in ``raw`` is a break of the region's own layout (national or international)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return False
    layout = PhoneNumberFormat.INTERNATIONAL if region is None else PhoneNumberFormat.NATIONAL
    formatted = phonenumbers.format_number(number, layout)
    if "".join(c for c in formatted if c.isdigit()) != "".join(c for c in raw if c.isdigit()):
        return False
    return _cuts(raw) <= _cuts(formatted)


_BRACKETED_CODE = re.compile(r"\((\d{1,3})\)")


class PhoneValidator:
    """Validates digit strings as phone numbers of a set of regions; results cached per string."""

    def __init__(self, regions: tuple[str, ...]) -> None:
        self.regions = regions
        self._plans = tuple(p for p in (_plan(r) for r in regions) if p is not None)
        self._valid = lru_cache(maxsize=65536)(self._check)

    def valid(self, raw: str, *, strict: bool = False) -> bool:
        """``raw`` is a candidate as written (``+44 20 7946 0958``, ``(038) 3688209``, ``0321 481026``).

        ``strict``: the digits must also be grouped the way the number's region writes them (used when no
        phone word is near, where digit groups in tables, logs and listings would otherwise pass).
        """
        return self._valid(raw, strict)

    def _check(self, raw: str, strict: bool) -> bool:
        if raw.startswith("(+"):
            raw = "+" + raw[2:].replace(")", "", 1)  # "(+358) 970308073"
        digits = "".join(c for c in raw if c.isdigit())
        if raw.startswith("+"):
            return self._international(raw, digits, strict)
        if digits.startswith("00"):
            return self._international("+" + raw.lstrip("0 "), digits[2:], strict)
        bracketed = _BRACKETED_CODE.match(raw)
        if bracketed and int(bracketed.group(1)) in COUNTRY_CODE_TO_REGION_CODE and self._international(
            "+" + raw, digits, strict
        ):
            return True  # "(351) 961 152 449": a country code in brackets
        if not 6 <= len(digits) <= 14:
            return False
        for plan in self._plans:
            for nsn, written_prefix in self._national_readings(plan, digits):
                if not written_prefix and plan.national_prefix and not plan.prefix_optional(nsn):
                    continue
                if plan.valid(nsn) and (not strict or _grouped_as_written(raw, plan.region)):
                    return True
        return False

    @staticmethod
    def _national_readings(plan: _Plan, digits: str) -> list[tuple[str, bool]]:
        """(national significant number, national prefix written) readings of a national-format digit string."""
        readings = [(digits, False)]
        if plan.national_prefix and digits.startswith(plan.national_prefix):
            readings.insert(0, (digits[len(plan.national_prefix) :], True))
        return readings

    def _international(self, raw: str, digits: str, strict: bool) -> bool:
        if "(0)" in raw:  # "+44 (0)20 7946 0958": the trunk 0 in brackets is not part of the number
            raw = raw.replace("(0)", "", 1)
            digits = "".join(c for c in raw if c.isdigit())
        if not 8 <= len(digits) <= 15:
            return False
        for size in (1, 2, 3):
            regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
            if not regions:
                continue
            for region in regions:
                plan = _plan(region)
                if plan is None:
                    continue
                # libphonenumber also drops a national prefix written after the country code ("+358 050...")
                for nsn, _ in self._national_readings(plan, digits[size:]):
                    if plan.valid(nsn):
                        return not strict or _grouped_as_written(raw, None)
            return False  # country codes are prefix-free: no longer code can match
        return False
