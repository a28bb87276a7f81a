"""Corpora for the PII benchmark (benchmarks/pii.py): an independent labeled set, and real documentation.

Labeled set: documents assembled from several generators, each value recorded where it lands:
- Faker in 14 locales with each provider's own formats (phones as Faker writes them, e-mails, IBANs,
  every card type, SSNs, IPv4/IPv6, passwords), kept only when the reference validator of that kind
  accepts the value (libphonenumber for phones in the locale's region, Luhn for cards, mod-97 for IBANs);
- libphonenumber's example numbers of 26 regions, perturbed and re-validated, in NATIONAL, INTERNATIONAL
  and E.164 layouts;
- tokens built to each vendor's documented alphabet and length (AWS, GitHub, GitLab, Slack, JWT, PEM);
- hand-written realistic carriers in several languages: support tickets, e-mail signatures, web-server
  logs, .env/YAML/JSON/INI configs, CSV, Markdown and HTML tables, HTML attributes;
- hard negatives that must survive (versions in UA strings, KEY= lines and table columns; section
  numbers; CVE/GHSA ids; epoch seconds and ms; ISBN-13; order/invoice numbers; UUIDs; git SHAs;
  non-Luhn 16-digit runs; SQL ``::`` casts; Python slices; C++/Rust paths; prose "password:" lines).

Real text: HTML pages of Debian documentation packages built by different generators (DocBook, Sphinx,
Doxygen, texinfo, asciidoc), turned into silver text by lakeprep's normalizer; pure negatives for the
types that should never appear in documentation. ``postgresql-doc-*`` and ``python3*-doc`` are held out
and never read here.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import string
import subprocess
from collections.abc import Callable
from pathlib import Path

from _common import HELD_OUT  # package name prefixes never read (independent evaluation)

Gold = list[tuple[int, int, str]]

FAKER_LOCALES = {
    "en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "it_IT": "IT", "es_ES": "ES", "nl_NL": "NL",
    "pt_PT": "PT", "sv_SE": "SE", "pl_PL": "PL", "ja_JP": "JP", "pt_BR": "BR", "en_AU": "AU", "de_AT": "AT",
    "de_CH": "CH", "da_DK": "DK", "fi_FI": "FI", "cs_CZ": "CZ", "en_CA": "CA", "en_NZ": "NZ", "en_IN": "IN",
    "nl_BE": "BE",
}  # fmt: skip
REGIONS = (
    "US", "CA", "GB", "IE", "FR", "DE", "AT", "CH", "IT", "ES", "PT", "NL", "BE", "LU", "SE", "NO", "DK", "FI",
    "PL", "CZ", "AU", "NZ", "IN", "BR", "MX", "JP",
)  # fmt: skip
CARD_TYPES = ("amex", "diners", "discover", "jcb15", "jcb16", "mastercard", "visa13", "visa16", "visa19")
DOC_PACKAGES = {
    "DocBook (debian-reference, maint-guide)": ("debian-reference-en", "maint-guide"),
    "Sphinx (sphinx-doc, python-requests-doc)": ("sphinx-doc", "python-requests-doc"),
    "Doxygen (libsdl2-doc, libjson-c-doc)": ("libsdl2-doc", "libjson-c-doc"),
    "texinfo (bash-doc, autoconf-doc)": ("bash-doc", "autoconf-doc"),
    "asciidoc (git-doc)": ("git-doc",),
}


class _Doc:
    """Builds a document piece by piece, recording where each planted value and negative lands."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.gold: Gold = []
        self.negatives: Gold = []
        self.size = 0

    def text(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)

    def pii(self, value: str, kind: str) -> None:
        self.gold.append((self.size, self.size + len(value), kind))
        self.text(value)

    def neg(self, value: str, kind: str) -> None:
        self.negatives.append((self.size, self.size + len(value), kind))
        self.text(value)

    def fill(self, template: str, values: dict[str, tuple[str, str]]) -> None:
        """``template`` with ``{slot}`` markers; a slot's (value, kind) kind is a PII type, ``NEG:...`` or ``-``."""
        import re

        pos = 0
        for m in re.finditer(r"\{(\w+)\}", template):
            self.text(template[pos : m.start()])
            value, kind = values[m.group(1)]
            if kind == "-":
                self.text(value)
            elif kind.startswith("NEG:"):
                self.neg(value, kind[4:])
            else:
                self.pii(value, kind)
            pos = m.end()
        self.text(template[pos:])


class Generators:
    """Seeded value generators (one Faker per locale)."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.fakers = {}
        for i, loc in enumerate(FAKER_LOCALES):
            f = Faker(loc)
            f.seed_instance(seed + i)
            self.fakers[loc] = f

    def faker(self) -> tuple[str, object]:
        loc = self.rng.choice(list(self.fakers))
        return loc, self.fakers[loc]

    # -- positives ---------------------------------------------------------------------------------
    def faker_phone(self, loc: str) -> str:
        import phonenumbers

        f = self.fakers[loc]
        for _ in range(200):
            raw = f.phone_number()
            if any(c.isalpha() for c in raw):
                continue  # extensions ("x123") are not part of the number
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(raw, FAKER_LOCALES[loc])):
                    return raw
            except phonenumbers.NumberParseException:
                continue
        return self.plan_phone(FAKER_LOCALES[loc])

    def plan_phone(self, region: str) -> str:
        """A valid number of ``region`` from libphonenumber's examples, digits perturbed, in one of 3 layouts."""
        import phonenumbers
        from phonenumbers import PhoneNumberFormat, PhoneNumberType

        kind = self.rng.choice([PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE])
        example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
        nsn = str(example.national_number)
        for _ in range(100):
            tail = "".join(self.rng.choice(string.digits) for _ in range(3))
            candidate = phonenumbers.parse(f"+{example.country_code}{nsn[:-3]}{tail}", None)
            if phonenumbers.is_valid_number(candidate):
                break
        else:
            candidate = example
        layout = self.rng.choice([PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164])
        return phonenumbers.format_number(candidate, layout)

    def card(self) -> str:
        f = self.fakers["en_US"]
        kind = self.rng.choice(CARD_TYPES)
        digits = f.credit_card_number(card_type=kind)
        style = self.rng.random()
        if style < 0.3:
            return digits
        sep = " " if style < 0.7 else "-"
        if len(digits) == 15:
            return sep.join([digits[:4], digits[4:10], digits[10:]])
        if len(digits) == 14:
            return sep.join([digits[:4], digits[4:10], digits[10:]])
        if len(digits) == 13:
            return sep.join([digits[:4], digits[4:8], digits[8:]])
        return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))

    def iban(self) -> str:
        from lakeprep.pii._kernels import iban_valid

        while True:  # ISO 13616 decides (some Faker locales write IBANs of the wrong length)
            loc, f = self.faker()
            raw = f.iban()  # type: ignore[attr-defined]
            if iban_valid(raw):
                break
        return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4)) if self.rng.random() < 0.5 else raw

    def ssn(self) -> str:
        raw = self.fakers["en_US"].ssn()
        return raw.replace("-", " ") if self.rng.random() < 0.15 else raw

    def ip(self) -> str:
        f = self.fakers["en_US"]
        r = self.rng.random()
        if r < 0.25:
            while True:  # Faker draws from the whole space; real hosts sit in global unicast (2000::/3)
                v6 = f.ipv6()
                if ipaddress.ip_address(v6).is_global:
                    return v6
        if r < 0.4:
            return f.ipv4_private()
        return f.ipv4_public()

    def aws_key(self) -> str:
        return self.rng.choice(["AKIA", "ASIA"]) + "".join(self.rng.choice(string.ascii_uppercase + "234567") for _ in range(16))

    def github_token(self) -> str:
        alnum = string.ascii_letters + string.digits
        if self.rng.random() < 0.8:
            return self.rng.choice(["ghp_", "gho_", "ghs_"]) + "".join(self.rng.choice(alnum) for _ in range(36))
        return "github_pat_" + "".join(self.rng.choice(alnum) for _ in range(22)) + "_" + "".join(self.rng.choice(alnum) for _ in range(59))

    def gitlab_token(self) -> str:
        return "glpat-" + "".join(self.rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(20))

    def slack_token(self) -> str:
        return f"xox{self.rng.choice('bp')}-{self.rng.randint(10**11, 10**12 - 1)}-{self.rng.randint(10**11, 10**12 - 1)}-" + "".join(
            self.rng.choice(string.ascii_letters + string.digits) for _ in range(24)
        )

    def jwt(self) -> str:
        def part(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        sig = base64.urlsafe_b64encode(self.rng.randbytes(32)).rstrip(b"=").decode()
        return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': str(self.rng.randint(1, 10**9)), 'iat': self.rng.randint(1.6e9, 1.8e9)})}.{sig}"

    def pem(self) -> str:
        body = base64.b64encode(self.rng.randbytes(180)).decode()
        lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        kind = self.rng.choice(["RSA ", "EC ", "OPENSSH ", ""])
        return f"-----BEGIN {kind}PRIVATE KEY-----\n{lines}\n-----END {kind}PRIVATE KEY-----"

    def password(self) -> str:
        return self.fakers["en_US"].password(length=self.rng.randint(10, 18), special_chars=self.rng.random() < 0.5)

    # -- negatives ---------------------------------------------------------------------------------
    def negatives(self) -> list[Callable[[], tuple[str, str]]]:
        r = self.rng

        def ver4() -> str:
            return f"{r.randint(1, 130)}.{r.randint(0, 30)}.{r.randint(0, 9999) if r.random() < 0.5 else r.randint(0, 255)}.{r.randint(0, 255)}"

        def non_luhn() -> str:
            from lakeprep.pii._kernels import luhn_valid

            while True:
                n = "".join(r.choice(string.digits) for _ in range(16))
                if not luhn_valid(n):
                    return n if r.random() < 0.5 else " ".join(n[i : i + 4] for i in range(0, 16, 4))

        def isbn13() -> str:
            body = "978" + "".join(r.choice(string.digits) for _ in range(9))
            check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(body)) % 10) % 10
            return body + str(check) if r.random() < 0.5 else f"978-{body[3]}-{body[4:7]}-{body[7:12]}-{check}"

        f = self.fakers["en_US"]
        return [
            lambda: (f"Chrome/{ver4()}", "ua_version"),
            lambda: (f"APP_VERSION={ver4()}", "key_version"),
            lambda: (f"Section {r.randint(1, 12)}.{r.randint(1, 9)}.{r.randint(1, 9)}.{r.randint(1, 9)}", "section"),
            lambda: (f"CVE-{r.randint(2015, 2026)}-{r.randint(1000, 99999)}", "cve"),
            lambda: (f"GHSA-{''.join(r.choice('23456789cfghjmpqrvwx') for _ in range(4))}-{''.join(r.choice('23456789cfghjmpqrvwx') for _ in range(4))}-{''.join(r.choice('23456789cfghjmpqrvwx') for _ in range(4))}", "ghsa"),
            lambda: (str(r.randint(1_400_000_000, 1_900_000_000)), "epoch_s"),
            lambda: (str(r.randint(1_400_000_000_000, 1_900_000_000_000)), "epoch_ms"),
            lambda: (isbn13(), "isbn13"),
            lambda: (f"{r.choice(['PO', 'INV', 'ORD', 'SO'])}-{r.randint(2015, 2026)}-{r.randint(100000, 999999)}", "order_no"),
            lambda: (f.uuid4(), "uuid"),
            lambda: (f.sha1(), "git_sha"),
            lambda: (non_luhn(), "non_luhn16"),
            lambda: (f"SELECT id::text, created_at::date FROM {f.word()}s WHERE x::int > {r.randint(1, 99)}", "sql_cast"),
            lambda: (f"xs[{r.randint(0, 9)}::{r.randint(2, 9)}] + ys[::-1] + zs[1::]", "py_slice"),
            lambda: (r.choice(["std::vector<int>::iterator", "std::chrono::milliseconds(250)", "crate::io::Result<()>", "u8::MAX", "Vec::<u64>::with_capacity(16)"]), "cpp_rust_path"),
            lambda: ("give it a password:  CREATE ROLE admin WITH LOGIN", "prose_password"),
            lambda: (f"binutils ({r.randint(2, 2)}.{r.randint(10, 40)}.{r.randint(0, 9)}.{r.randint(1, 99)}-{r.randint(1, 9)})", "pkg_version"),
            lambda: (f"to_hex({r.randint(10**9, 2**31 - 1)})", "func_arg"),
        ]


def _templates(g: Generators, loc: str) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    f = g.fakers[loc]
    r = g.rng
    name = f.name()  # type: ignore[attr-defined]
    email = f.email()  # type: ignore[attr-defined]
    phone = g.faker_phone(loc) if r.random() < 0.6 else g.plan_phone(r.choice(REGIONS))
    v = {
        "name": (name, "-"),
        "email": (email, "EMAIL"),
        "phone": (phone, "PHONE"),
        "card": (g.card(), "CREDIT_CARD"),
        "iban": (g.iban(), "IBAN"),
        "ssn": (g.ssn(), "US_SSN"),
        "ip": (g.ip(), "IP_ADDRESS"),
        "ip2": (g.ip(), "IP_ADDRESS"),
        "aws": (g.aws_key(), "AWS_ACCESS_KEY"),
        "gh": (g.github_token(), "GITHUB_TOKEN"),
        "gl": (g.gitlab_token(), "GITLAB_TOKEN"),
        "slack": (g.slack_token(), "SLACK_TOKEN"),
        "jwt": (g.jwt(), "JWT"),
        "pem": (g.pem(), "PRIVATE_KEY"),
        "pw": (g.password(), "SECRET"),
        "urlcred": (f"{f.user_name()}:{g.password().replace('@', 'x').replace('/', 'y').replace(':', 'z')}@db{r.randint(1, 9)}.{f.domain_name()}", "URL_CREDENTIALS"),  # type: ignore[attr-defined]
        "ver": (f"{r.randint(90, 140)}.0.{r.randint(1000, 7000)}.{r.randint(10, 200)}", "NEG:ua_version"),
        "ver2": (f"{r.randint(1, 30)}.{r.randint(0, 30)}.{r.randint(0, 99)}.{r.randint(0, 255)}", "NEG:table_version"),
        "po": (f"PO-{r.randint(2015, 2026)}-{r.randint(100000, 999999)}", "NEG:order_no"),
        "epoch": (str(r.randint(1_600_000_000, 1_800_000_000)), "NEG:epoch_s"),
        "n": (str(r.randint(1, 9999)), "-"),
        "city": (f.city(), "-"),  # type: ignore[attr-defined]
        "company": (f.company(), "-"),  # type: ignore[attr-defined]
    }
    return [
        ("Hi team,\n\nCustomer {name} ({email}) called from {phone} about order {po}. The card on file is {card}; "
         "please refund it and confirm by mail.\n\nThanks,\nSupport", v),
        ("Mit freundlichen Grüßen\n{name}\n{company}\nTel.: {phone}\nE-Mail: {email}\nIBAN: {iban}\n", v),
        ("Cordialement,\n\n{name}\nTél : {phone}\nCourriel : {email}\n{city}\n", v),
        ("Un saludo,\n{name}\nTeléfono: {phone} · {email}\n", v),
        ("Distinti saluti\n{name} — cell. {phone}\n", v),
        ('{ip} - - [10/Oct/2025:13:55:36 +0000] "GET /api/v1/items/{n} HTTP/1.1" 200 2326 "-" '
         '"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{ver} Safari/537.36"\n'
         '{ip2} - - [10/Oct/2025:13:55:39 +0000] "POST /login HTTP/1.1" 302 0 "-" "curl/8.5.0" ts={epoch}\n', v),
        ("# production settings\nDATABASE_URL=postgres://{urlcred}:5432/app\nAWS_ACCESS_KEY_ID={aws}\n"
         "GITHUB_TOKEN={gh}\nAPP_VERSION={ver2}\nSLACK_BOT_TOKEN={slack}\n", v),
        ('smtp:\n  host: mail.internal\n  user: {email}\n  password: "{pw}"\n  port: 587\n', v),
        ('{"customer": {"name": "{name}", "email": "{email}", "phone": "{phone}", "iban": "{iban}"}, '
         '"client_ip": "{ip}", "created": {epoch}}', v),
        ("id,name,email,phone,card_number\n{n},{name},{email},{phone},{card}\n", v),
        ("| host | address | version |\n|---|---|---|\n| web-{n} | {ip} | {ver2} |\n", v),
        ('<tr><td>{name}</td><td><a href="mailto:{email}">{email}</a></td><td data-tel="{phone}">{phone}</td></tr>', v),
        ("Employee record: {name}, SSN {ssn}, badge {n}, payroll IBAN {iban}.", v),
        ("Authorization: Bearer {jwt}\nX-Forwarded-For: {ip}\n", v),
        ("deploy:\n  script:\n    - export GITLAB_TOKEN={gl}\n    - ./release.sh\n", v),
        ("Here is the key you asked for, do not share it:\n\n{pem}\n", v),
        ("[database]\nhost = db.internal\nuser = app\npassword = '{pw}'\n", v),
        ("Payment received from {name}. Visa {card}, billing phone {phone}.", v),
        ("If you need anything, reach me at {email} or on {phone}. I am in {city} until Friday.", v),
    ]


def labeled_set(n_docs: int, seed: int) -> list[tuple[str, Gold, Gold]]:
    """``n_docs`` documents: (text, gold PII spans, hard-negative spans)."""
    g = Generators(seed)
    negs = g.negatives()
    docs = []
    for _ in range(n_docs):
        loc, f = g.faker()
        d = _Doc()
        d.text(f.paragraph(nb_sentences=2) + "\n\n")  # type: ignore[attr-defined]
        templates = _templates(g, loc)
        for template, values in g.rng.sample(templates, k=g.rng.randint(1, 3)):
            d.fill(template, values)
            d.text("\n\n")
            value, kind = g.rng.choice(negs)()
            d.text(g.rng.choice(["See ", "Note: ", "ref ", "", "(", "Also "]))
            d.neg(value, kind)
            d.text(g.rng.choice([". ", ".\n", ") ", "\n"]))
        d.text(f.paragraph(nb_sentences=2))  # type: ignore[attr-defined]
        docs.append(("".join(d.parts), d.gold, d.negatives))
    return docs


def phone_grid(seed: int) -> list[tuple[str, Gold, Gold]]:
    """Every default region x 3 layouts x 10 numbers, one per line after a label (recall across locales)."""
    g = Generators(seed)
    docs = []
    for region in REGIONS:
        d = _Doc()
        for _ in range(30):
            d.text(g.rng.choice(["Phone: ", "Tel. ", "call ", "Mobile ", "Fax: ", "Kontakt: ", "Téléphone : "]))
            d.pii(g.plan_phone(region), "PHONE")
            d.text("\n")
        docs.append(("".join(d.parts), d.gold, d.negatives))
    return docs


def docs_corpus(max_mb_per_group: float = 6.0) -> dict[str, list[tuple[str, str]]]:
    """Real documentation text per generator family: {family: [(path, silver text)]} (installed packages only)."""
    from lakeprep.text.normalize import normalize_document

    out: dict[str, list[tuple[str, str]]] = {}
    for family, packages in DOC_PACKAGES.items():
        pages: list[tuple[str, str]] = []
        budget = max_mb_per_group * 1e6
        for pkg in packages:
            if pkg.startswith(HELD_OUT):
                raise ValueError(f"{pkg} is held out for independent evaluation")
            listing = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
            if listing.returncode != 0:
                continue
            for path in sorted(listing.stdout.split()):
                if not path.endswith((".html", ".htm")) or not Path(path).is_file() or budget <= 0:
                    continue
                html = Path(path).read_text(encoding="utf-8", errors="replace")
                text = normalize_document(html, "html")
                if text.strip():
                    pages.append((path, text))
                    budget -= len(text.encode())
        if pages:
            out[family] = pages
    return out
