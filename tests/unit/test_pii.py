from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakeprep.config import _PII_TYPES, PiiConfig
from lakeprep.errors import ConfigError
from lakeprep.pii._kernels import PII_TYPES, Span, detect, iban_valid, luhn_valid, mask_text, resolve_overlaps


def _found(text: str) -> list[tuple[str, str]]:
    return [(s.type, text[s.start : s.end]) for s in detect(text)]


def _check_digit(payload: str) -> str:
    for d in "0123456789":
        if luhn_valid(payload + d):
            return d
    raise AssertionError("no check digit")


@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_luhn_accepts_its_check_digit_and_rejects_any_single_change(payload: str) -> None:
    number = payload + _check_digit(payload)
    assert luhn_valid(number)
    i = len(number) // 2
    changed = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
    assert not luhn_valid(changed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+news@mail.example.co.uk now", [("EMAIL", "jane.doe+news@mail.example.co.uk")]),
        ("mailto:ann@x.org", [("EMAIL", "ann@x.org")]),
        ("call +1 (415) 555-0132 today", [("PHONE", "+1 (415) 555-0132")]),
        ("call 415-555-0198 or 020 7946 0958", [("PHONE", "415-555-0198"), ("PHONE", "020 7946 0958")]),
        ("ring +44 20 7946 0958", [("PHONE", "+44 20 7946 0958")]),
        ("card 4111 1111 1111 1111 ok", [("CREDIT_CARD", "4111 1111 1111 1111")]),
        ("amex 3782-822463-10005", [("CREDIT_CARD", "3782-822463-10005")]),
        ("ssn 123-45-6789.", [("US_SSN", "123-45-6789")]),
        ("SSN: 123456789", [("US_SSN", "123456789")]),
        ("host 10.0.0.255 up", [("IP_ADDRESS", "10.0.0.255")]),
        ("v6 2a00:1450:4007:80e::200e up", [("IP_ADDRESS", "2a00:1450:4007:80e::200e")]),
        ("pay GB82 WEST 1234 5698 7654 32 now", [("IBAN", "GB82 WEST 1234 5698 7654 32")]),
        ("iban DE89370400440532013000", [("IBAN", "DE89370400440532013000")]),
        ("AKIAQWERTYUIOPASDFGH", [("AWS_ACCESS_KEY", "AKIAQWERTYUIOPASDFGH")]),
        ("t ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", [("GITHUB_TOKEN", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789")]),
        ("glpat-abcdefghij0123456789", [("GITLAB_TOKEN", "glpat-abcdefghij0123456789")]),
        ("xoxb-123456789012-abcdefABCDEF", [("SLACK_TOKEN", "xoxb-123456789012-abcdefABCDEF")]),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            [("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")],
        ),
        ("DB_PASSWORD=hunter2hunter2", [("SECRET", "hunter2hunter2")]),
        ('{"api_key": "sk_live_abcdef123456"}', [("SECRET", "sk_live_abcdef123456")]),
        ("postgres://bob:s3cr3t@db.example.com:5432/x", [("URL_CREDENTIALS", "bob:s3cr3t@db.example.com:5432")]),
    ],
)
def test_detectors_find_positives(text: str, expected: list[tuple[str, str]]) -> None:
    assert _found(text) == expected


def test_private_key_block_is_one_span() -> None:
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc123==\n-----END RSA PRIVATE KEY-----"
    assert _found(f"config:\n{key}\nend") == [("PRIVATE_KEY", key)]


@pytest.mark.parametrize(
    "text",
    [
        "order number 4111 1111 1111 1112 was shipped",  # fails Luhn
        "tracking 1234 5678 9012 3456",  # random 16 digits, no valid issuer + Luhn
        "ISBN 978-3-16-148410-0 and ISBN-13 9780306406157",
        "released in version v1.2.3.4 and build 10.0.19041.1",
        "on 2024-01-15 12:30:45 and 01/02/2024, at 12:30",
        "ssn 000-12-3456 and 666-12-3456 and 900-12-3456 are invalid",
        "IBAN DE89 3704 0044 0532 0130 01 has a bad check digit",
        "the ratio was 3.14159 and 2.71828 overall",
        "timestamp 1700000000123 and id 98765432101234",
        "user@localhost has no domain and a@b is too short",
        "password: short",
    ],
)
def test_hard_negatives_are_left_alone(text: str) -> None:
    assert _found(text) == []


def test_iban_validator() -> None:
    assert iban_valid("FR14 2004 1010 0505 0001 3M02 606")
    assert not iban_valid("FR14 2004 1010 0505 0001 3M02 607")
    assert not iban_valid("XX14 2004 1010 0505 0001 3M02 606")


def test_overlaps_longest_then_most_specific_wins() -> None:
    spans = [Span(0, 10, "PHONE"), Span(0, 10, "CREDIT_CARD"), Span(5, 20, "EMAIL"), Span(25, 30, "PHONE")]
    assert resolve_overlaps(spans) == [Span(5, 20, "EMAIL"), Span(25, 30, "PHONE")]
    assert resolve_overlaps([Span(0, 10, "PHONE"), Span(0, 10, "CREDIT_CARD")]) == [Span(0, 10, "CREDIT_CARD")]


def test_mask_placeholders_pseudonyms_and_keep() -> None:
    text = "a@x.com wrote to b@y.org and a@x.com; host 10.1.2.3"
    spans = detect(text)
    masked, counts = mask_text(text, spans, actions={})
    assert masked == "<EMAIL> wrote to <EMAIL> and <EMAIL>; host <IP_ADDRESS>"
    assert counts == {"EMAIL": 3, "IP_ADDRESS": 1}
    key = b"0123456789abcdef"
    pseudo, _ = mask_text(text, spans, actions={"EMAIL": "pseudonymize", "IP_ADDRESS": "keep"}, key=key)
    tokens = pseudo.replace(";", "").split()
    assert tokens[0] == tokens[5] != tokens[3] and tokens[0].startswith("<EMAIL_") and pseudo.endswith("10.1.2.3")
    other, _ = mask_text(text, spans, actions={"EMAIL": "pseudonymize"}, key=b"another-key-0123")
    assert other.split()[0] != tokens[0]  # the key matters
    with pytest.raises(ValueError, match="needs a key"):
        mask_text(text, spans, actions={"EMAIL": "pseudonymize"}, key=None)


def test_config_lists_every_type_and_validates() -> None:
    assert tuple(_PII_TYPES) == PII_TYPES
    with pytest.raises(ConfigError, match="silver.pii.actions.EMAIL"):
        PiiConfig(actions={"EMAIL": "shred"})
    with pytest.raises(ConfigError, match="silver.pii.types"):
        PiiConfig(types=("NAME",))
