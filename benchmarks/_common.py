"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import re


def cores_of(master: str) -> int:
    """Cores a local master uses: ``local[N]`` -> N, ``local[*]`` or anything else -> all of this machine's."""
    m = re.fullmatch(r"local\[(\d+|\*)\]", master)
    if not m or m.group(1) == "*":
        return os.cpu_count() or 1
    return int(m.group(1))


def synthetic_documents(n_docs: int, *, seed: int) -> list[str]:
    """A seeded mix of document shapes (faker's word list), as a crawl or a document store holds them:

    - 50% Markdown: headings, short paragraphs, bullet lists;
    - 25% prose with long paragraphs (20-60 sentences, often longer than a chunk);
    - 25% hard-wrapped plain text (lines of ~80 characters, rare blank lines), like text exports and logs.
    """
    import random
    import textwrap

    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        kind = rng.random()
        if kind < 0.5:
            parts = [f"# {fake.sentence(nb_words=5).rstrip('.')}"]
            for _ in range(rng.randint(2, 8)):
                parts.append(f"## {fake.sentence(nb_words=4).rstrip('.')}")
                for _ in range(rng.randint(1, 4)):
                    if rng.random() < 0.2:
                        parts.append("\n".join(f"- {fake.sentence(nb_words=rng.randint(4, 12))}" for _ in range(rng.randint(2, 6))))
                    else:
                        parts.append(fake.paragraph(nb_sentences=rng.randint(3, 12)))
            docs.append("\n\n".join(parts))
        elif kind < 0.75:
            docs.append("\n\n".join(fake.paragraph(nb_sentences=rng.randint(20, 60)) for _ in range(rng.randint(1, 5))))
        else:
            body = " ".join(fake.paragraph(nb_sentences=rng.randint(10, 30)) for _ in range(rng.randint(2, 8)))
            docs.append("\n".join(textwrap.wrap(body, width=80)))
    return docs


HELD_OUT = ("postgresql-doc", "python3")  # Debian packages never read here (kept for independent evaluation)
REAL_PACKAGES = (
    "debian-reference-en", "maint-guide", "sphinx-doc", "python-requests-doc", "libsdl2-doc", "libjson-c-doc",
    "bash-doc", "autoconf-doc", "git-doc",
)  # fmt: skip
LANG_PACKAGES = (
    "debian-reference-de", "debian-reference-es", "debian-reference-fr", "debian-reference-it", "debian-reference-ja",
    "debian-reference-pt", "debian-reference-zh-cn", "maint-guide-es", "maint-guide-ja", "maint-guide-ru",
)  # fmt: skip  # the same two manuals translated (partly: untranslated passages stay English), for language id


def html_pages(packages: tuple[str, ...]) -> list[str]:
    """Sorted paths of the HTML files the installed Debian ``packages`` ship (``dpkg -L``); held-out ones refused."""
    import subprocess
    from pathlib import Path

    paths: set[str] = set()
    for pkg in packages:
        if pkg.startswith(HELD_OUT):
            raise ValueError(f"{pkg} is held out")
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
        paths.update(p for p in out.stdout.split() if p.endswith((".html", ".htm")) and Path(p).is_file())
    return sorted(paths)


def real_documents(*, min_words: int = 300, max_words: int = 3000, packages: tuple[str, ...] = REAL_PACKAGES) -> list[str]:
    """Documentation nobody here wrote: every HTML page of the installed Debian packages (DocBook, Sphinx,
    Doxygen, texinfo, asciidoc generators), converted to text with lakeprep's HTML extractor, kept when it
    has ``min_words``-``max_words`` words; sorted by path, so a run is repeatable. Packages that are not
    installed are skipped (``apt-get install`` them for the figures in the README); cached per package list."""
    import hashlib
    import json
    from pathlib import Path

    from lakeprep.text.html_md import html_to_markdown

    key = hashlib.sha1(json.dumps([packages, min_words, max_words]).encode()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lakeprep" / f"real-docs-{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text(encoding="utf-8"))
    docs = []
    for p in html_pages(packages):
        text = html_to_markdown(Path(p).read_text(encoding="utf-8", errors="replace"))
        if min_words <= len(text.split()) <= max_words:
            docs.append(text)
    if not docs:  # not cached: installing the packages later must change the figures
        return docs
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(docs), encoding="utf-8")
    return docs
