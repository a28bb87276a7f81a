"""PII v2 rules: every string quoted in issue 13 as a case, locales, technical text, engines, properties."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from lakeprep.config import NerConfig, PiiConfig
from lakeprep.errors import ConfigError
from lakeprep.pii._kernels import DEFAULT_REGIONS, detect, luhn_valid
from lakeprep.pii._scan import available_engines, scanner

ENGINES = available_engines()


def _found(text: str, **kw: object) -> list[tuple[str, str]]:
    return [(s.type, text[s.start : s.end]) for s in detect(text, **kw)]  # type: ignore[arg-type]


def _luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


# -- leaks of issue 13: national numbers of IT/FR/DE/ES/NL, cards outside the issuer table --------------

@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tel. 0321 481026 (ufficio)", "0321 481026"),
        ("Téléphone : 01 72 08 43 85", "01 72 08 43 85"),
        ("bel ons op (038) 3688209 of mail", "(038) 3688209"),
        ("call 071 786 5685 after nine", "071 786 5685"),
        ("Telefon: 030 1234567", "030 1234567"),
        ("Tel: +33 1 72 08 43 85", "+33 1 72 08 43 85"),
        ("teléfono 912 345 678", "912 345 678"),
        ("ring 0046 8 123 456 78", "0046 8 123 456 78"),
        ("Kontakt (+358) 9 123 4567", "(+358) 9 123 4567"),
        ("phone: 0290361962", "0290361962"),
        ("<td data-tel=\"0325307304\">0325307304</td>", "0325307304"),
    ],
)
def test_national_numbers_of_many_regions_are_masked(text: str, expected: str, engine: str) -> None:
    assert ("PHONE", expected) in _found(text, engine=engine)


def test_card_outside_the_issuer_table_needs_a_card_word() -> None:
    number = _luhn_complete("351234567890123")  # 35xx outside JCB's 3528-3589
    spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    assert _found(f"card {spaced} exp 12/29") == [("CREDIT_CARD", spaced)]
    assert _found(f"ref {spaced} shipped") == []
    for prefix in ("3530", "6200", "2200", "2720", "2131"):  # JCB, UnionPay, Mir, Mastercard 2-series, old JCB
        length = 15 if prefix == "2131" else 16
        n = _luhn_complete(prefix + "1" * (length - 5))
        assert _found(f"ref {n} shipped") == [("CREDIT_CARD", n)]


# -- over-masking of issue 13: technical text must survive -----------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "text",
    [
        "Mozilla/5.0 (X11) AppleWebKit/537.36 Chrome/14.19.14.229 Safari/537.36",
        "APP_VERSION=17.18.21.132",
        "| package | version |\n|---|---|\n| libfoo | 2.10.0.27 |\n| libbar | 10.1.2.3 |",
        "Depends: binutils (2.10.0.27-1)",
        "as described in Section 9.4.1.1 of the manual",
        "SELECT id::text, created::date FROM t WHERE x::int > 3",
        "std::vector<int>::iterator it; crate::io::Result<()>; u8::MAX; xs[1::2] + ys[::-1]",
        "fixed in CVE-2025-12345 and GHSA-2c8h-9wqm-q3p4",
        "created at 1700000000 (1700000000123 ms)",
        "order PO-2016-227912 and invoice INV-2023-000042",
        "SELECT to_hex(2147483647);",
        "give it a password:  CREATE ROLE admin WITH LOGIN",
        "ISBN 978-3-16-148410-0 and 9780306406157",
        "netmask 255.255.255.0, loopback 127.0.0.1, docs 192.0.2.10 and 2001:db8::1, link fe80::1",
        "Generated on Sun Oct 2 2022 23:26:06 for json-c by 1.9.4",
        "Checking out files: 100% (21549/21549), done.",
        "fingerprint EDD5 6765 A9D8 4653 CBC8 A134 51B0 6736 1740 F5FC",
        "Boston, MA 02110-1301 USA",
        "AWS documents AKIAIOSFODNN7EXAMPLE as its example key",
        "password = get_password(); password = self.password; secret: {{ vault_secret }}",
    ],
)
def test_technical_text_survives(text: str, engine: str) -> None:
    assert _found(text, engine=engine) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ip=10.1.2.3", [("IP_ADDRESS", "10.1.2.3")]),  # glued, but the key says it is an address
        ("tel:+14155550132", [("PHONE", "+14155550132")]),
        ("ping host 1.2.3.4", [("IP_ADDRESS", "1.2.3.4")]),  # single-digit quad with a network word
        ("see 1.2.3.4 above", []),  # ... and without one
        ('smtp:\n  password: "s3cr3t-Pa55"\n', [("SECRET", "s3cr3t-Pa55")]),
        ("DB_PASSWORD=hunter2hunter2", [("SECRET", "hunter2hunter2")]),
        ("the password: 'Tr0ub4dor&3' for now", [("SECRET", "Tr0ub4dor&3")]),  # prose: quoted only
        ("the password: hunter2hunter2 for now", []),
        ("postgres://bob:s3cr3t@db.example.com:5432/x", [("URL_CREDENTIALS", "bob:s3cr3t@db.example.com:5432")]),
        ("postgres://user:password@host/db", []),  # a documentation placeholder
    ],
)
def test_key_and_context_rules(text: str, expected: list[tuple[str, str]]) -> None:
    assert _found(text) == expected


def test_reserved_blocks_are_configurable() -> None:
    text = "from 192.0.2.10 and 10.0.0.7"
    assert _found(text) == [("IP_ADDRESS", "10.0.0.7")]
    assert _found(text, ip_keep=()) == [("IP_ADDRESS", "192.0.2.10"), ("IP_ADDRESS", "10.0.0.7")]
    assert _found(text, ip_keep=("documentation", "private")) == []


def test_regions_are_configurable() -> None:
    assert _found("Tel. 0321 481026", phone_regions=("US", "GB")) == []
    assert _found("Tel. 0321 481026", phone_regions=("IT",)) == [("PHONE", "0321 481026")]


# -- properties ------------------------------------------------------------------------------------------

_LAYOUTS = (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.sampled_from(DEFAULT_REGIONS),
    st.sampled_from([PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE]),
    st.text(alphabet="0123456789", min_size=3, max_size=3),
    st.sampled_from(_LAYOUTS),
    st.sampled_from(["Tel: ", "Phone ", "call ", "Mobile: ", "Fax "]),
)
def test_any_valid_number_of_a_default_region_is_masked(region: str, kind: int, tail: str, layout: int, label: str) -> None:
    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None)
    nsn = str(example.national_number)
    number = phonenumbers.parse(f"+{example.country_code}{nsn[:-3]}{tail}", None)
    assume(phonenumbers.is_valid_number(number))
    written = phonenumbers.format_number(number, layout)
    text = f"{label}{written}, thanks."
    assert ("PHONE", written) in _found(text), (region, written)


@given(
    st.sampled_from(["Chrome/", "Firefox/", "version ", "Version: ", "release ", "build "]),
    st.lists(st.integers(0, 255), min_size=4, max_size=4),
)
def test_any_dotted_version_after_a_product_or_version_word_survives(prefix: str, parts: list[int]) -> None:
    text = f"running {prefix}{'.'.join(map(str, parts))} today"
    assert _found(text) == []


_FRAGMENTS = [
    "+44 20 7946 0958", "0321 481026", "10.0.0.1", "fe80::1", "2a00:1450::200e", "a@b.co", "::", "std::x",
    "DE89 3704 0044 0532 0130 00", "AKIAQWERTYUIOPASDFGH", "password=", "'key': ", "eyJ", "://u:p@h", "ü", "€",
    "İ", "K", "\n", " ", "(", ")", "-", ".", "7", "12345", "Tel ", "4111 1111 1111 1111", "-----BEGIN ",
]  # fmt: skip


@pytest.mark.skipif(len(ENGINES) < 2, reason="hyperscan is not importable here")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30))
def test_engines_find_the_same_anchors_and_spans(parts: list[str]) -> None:
    text = "".join(parts)
    assert scanner("hyperscan")(text) == scanner("re")(text)
    assert detect(text, engine="hyperscan") == detect(text, engine="re")


# -- configuration ---------------------------------------------------------------------------------------

def test_pii_config_validates_regions_blocks_engine_and_ner() -> None:
    assert "FR" in PiiConfig().phone_regions and "JP" in PiiConfig().phone_regions
    with pytest.raises(ConfigError, match="silver.pii.phone_regions"):
        PiiConfig(phone_regions=("XX",))
    with pytest.raises(ConfigError, match="silver.pii.ip_keep"):
        PiiConfig(ip_keep=("intranet",))
    with pytest.raises(ConfigError, match="silver.pii.engine"):
        PiiConfig(engine="pcre")
    with pytest.raises(ConfigError, match="silver.pii.ner.types"):
        NerConfig(types=("ORG",))


def test_ner_without_its_model_is_a_clear_error() -> None:
    from lakeprep.pii.ner import check_ner

    with pytest.raises(ConfigError, match=r"silver\.pii\.ner\.(enabled|model)"):
        check_ner("no_such_spacy_model_package")


def test_numbered_headings_and_contents_lines_are_not_addresses() -> None:
    from lakeprep.pii._kernels import detect

    text = (
        "3.2.5.1 Looping Constructs . . . . . 11\n#### 12.6.2.1 Compile and install\n"
        "6.2.4.3 The mail address configuration\nGrouping the 3.2.5.1 hosts\n"
    )
    assert [text[s.start:s.end] for s in detect(text, types=("IP_ADDRESS",))] == ["3.2.5.1"]  # the last: a host
    still = "Gateway=192.168.0.1\n10.20.30.40 Server room\n"  # an octet over 30: not a section number
    assert [still[s.start:s.end] for s in detect(still, types=("IP_ADDRESS",))] == ["192.168.0.1", "10.20.30.40"]
